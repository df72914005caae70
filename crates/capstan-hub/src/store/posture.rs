//! What the store keeps of security posture (issue 7): each cluster's latest
//! [`PostureReport`], its findings one row each, and a 30-day history of per-control coverage.
//!
//! The coverage and rule counts are kept apart from the findings: the fleet aggregate reads
//! [`PostureSummary`]s (a few hundred bytes per cluster) and never decodes a finding, and the
//! findings are filtered, ordered and cut by the database.

use std::collections::BTreeMap;

use capstan_core::posture::report::{
    AppliedException, Control, ControlCoverage, Finding, ObjectRef, RuleCount, Severity,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long the per-control history is kept, in days of the hub's clock.
pub const POSTURE_HISTORY_DAYS: i64 = 30;
/// How long the daily history (each cluster's latest evaluation of each UTC day) is kept, in
/// days of the hub's clock: a year's trend and the same month of the year before. At 5,000
/// clusters and five controls that is 10 million rows, about half the hourly history's.
pub const POSTURE_DAILY_HISTORY_DAYS: i64 = 400;

/// What one upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostureWriteOutcome {
    /// The report is now the cluster's latest (a first one, a newer one, or the same
    /// evaluation again).
    Stored,
    /// The cluster already has a report evaluated later: the upload changed nothing.
    Older {
        /// The stored report's evaluation time.
        stored: Timestamp,
    },
}

/// A cluster's latest report without its findings: what the fleet aggregate reads.
#[derive(Debug, Clone, PartialEq)]
pub struct PostureSummary {
    pub cluster: String,
    /// The inventory's labels (empty when the cluster is not in the inventory).
    pub labels: BTreeMap<String, String>,
    pub evaluated_at: Timestamp,
    /// When the hub stored it (the hub's clock).
    pub received_at: Timestamp,
    pub duration_ms: u64,
    pub kubernetes_minor: u32,
    pub controls: Vec<ControlCoverage>,
    /// Empty unless asked for ([`PostureRead::with_rules`]).
    pub rules: Vec<RuleCount>,
}

/// Which summaries to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostureRead<'a> {
    /// `None`: every cluster with a report.
    pub clusters: Option<&'a [String]>,
    /// Decode the rule counts too (the fleet's top rules need them, `/metrics` does not).
    pub with_rules: bool,
}

/// The exceptions a cluster's latest report applied (its `exceptions`, as the agent sent
/// them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterExceptions {
    pub cluster: String,
    /// The latest report's evaluation time.
    pub evaluated_at: Timestamp,
    pub exceptions: Vec<AppliedException>,
}

/// Which excepted findings a findings read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExceptedFilter {
    /// Excepted and not (they are reported, never hidden).
    #[default]
    Include,
    /// Only findings no exception covers.
    Exclude,
    /// Only excepted findings.
    Only,
}

/// A findings read: every filter given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingsQuery {
    /// `None`: every cluster.
    pub clusters: Option<Vec<String>>,
    pub control: Option<Control>,
    pub rule: Option<String>,
    /// Empty: every severity.
    pub severities: Vec<Severity>,
    pub excepted: ExceptedFilter,
    /// At most this many, the first in core's `finding_order`, then by cluster.
    pub limit: usize,
}

/// A finding and the cluster it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFinding {
    pub cluster: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// One control's coverage in one cluster at one evaluation (the latest of its hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostureHistoryPoint {
    pub control: Control,
    pub evaluated_at: Timestamp,
    pub eligible: u64,
    pub covered: u64,
    pub excepted: u64,
    pub findings: u64,
}

/// How long one bucket of the posture history spans: a UTC hour or a UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryStep {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
}

impl HistoryStep {
    pub const ALL: [HistoryStep; 2] = [HistoryStep::Hour, HistoryStep::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            HistoryStep::Hour => "1h",
            HistoryStep::Day => "1d",
        }
    }

    /// Parses the names [`HistoryStep::as_str`] prints.
    pub fn parse(text: &str) -> Option<HistoryStep> {
        HistoryStep::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn duration(self) -> SignedDuration {
        match self {
            HistoryStep::Hour => SignedDuration::from_hours(1),
            HistoryStep::Day => SignedDuration::from_hours(24),
        }
    }

    /// The start of the bucket `t` is in (unix time is UTC, so whole multiples of the step
    /// are UTC hours and days).
    pub fn floor(self, t: Timestamp) -> Timestamp {
        let step = self.duration().as_secs();
        Timestamp::from_second(t.as_second().div_euclid(step) * step).unwrap_or(t)
    }
}

/// A read of the posture history: every filter given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// `None`: every cluster.
    pub clusters: Option<Vec<String>>,
    /// `None`: every control.
    pub control: Option<Control>,
    /// The first bucket's start: points of this hour and later are read. Rounded down to
    /// the step by the store.
    pub since: Timestamp,
    pub step: HistoryStep,
}

/// One bucket of the history: the clusters that reported in it, each at its latest
/// evaluation in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostureHistoryBucket {
    pub start: Timestamp,
    /// Clusters with an evaluation in the bucket, whatever the controls it reported.
    pub clusters: u64,
    /// The controls asked for that some cluster reported in the bucket, in [`Control::ALL`]
    /// order.
    pub controls: Vec<ControlSums>,
}

/// One control summed over a bucket's clusters in its fleet unit ([`Control::fleet_unit`]:
/// RBAC counts clusters, as the fleet report does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSums {
    pub control: Control,
    /// Clusters whose latest evaluation in the bucket reported this control.
    pub clusters: u64,
    pub eligible: u64,
    pub covered: u64,
    pub excepted: u64,
    /// Findings in all (excepted ones included) in those evaluations.
    pub findings: u64,
}

/// The rank a severity is stored as: most severe is largest.
pub(crate) fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

pub(crate) fn severity_of_rank(rank: i64) -> Option<Severity> {
    Some(match rank {
        0 => Severity::Info,
        1 => Severity::Low,
        2 => Severity::Medium,
        3 => Severity::High,
        4 => Severity::Critical,
        _ => return None,
    })
}

/// A stored finding's object.
pub(crate) fn object(kind: String, namespace: String, name: String) -> ObjectRef {
    ObjectRef {
        kind,
        namespace,
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_ranks_order_like_severities_and_round_trip() {
        let all = [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        for pair in all.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(severity_rank(pair[0]) < severity_rank(pair[1]));
        }
        for s in all {
            assert_eq!(severity_of_rank(severity_rank(s)), Some(s));
        }
        assert_eq!(severity_of_rank(5), None);
    }
}
