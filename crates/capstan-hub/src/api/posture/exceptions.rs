//! `GET /api/v1/posture/exceptions`: the posture exceptions in force across the fleet (or
//! some clusters), from each cluster's latest report, so that platform engineers see which
//! are used, which matched nothing (stale: the exception can go) and which expired (to renew
//! or remove).
//!
//! Per exception name: the findings it excepted summed over the clusters, the clusters where
//! it matched something and where it matched nothing, and whether it was expired at the
//! latest evaluation of any of them. An expired exception excepts nothing (core's
//! `AppliedException::expired`), so its findings count against coverage again. Clusters may
//! run different exceptions files: the reason shown is the one of the most recently
//! evaluated cluster, and `expires` the earliest, the first the fleet will see lapse.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::api::cost::selected_clusters;
use crate::api::{ApiError, ApiState};
use crate::store::ClusterExceptions;

/// What an exception is doing across the selected clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExceptionState {
    /// Expired at the latest evaluation of some cluster: renew or remove it.
    Expired,
    /// Matched no finding in any cluster: stale, it can go.
    Unused,
    /// Excepted findings somewhere and expired nowhere.
    Active,
}

impl ExceptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionState::Expired => "expired",
            ExceptionState::Unused => "unused",
            ExceptionState::Active => "active",
        }
    }
}

/// One exception across the selected clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetException {
    pub name: String,
    /// The reason of the most recently evaluated cluster applying it.
    pub reason: String,
    /// The earliest expiry among the clusters applying it; `None` when none says.
    pub expires: Option<Timestamp>,
    /// Expired at the latest evaluation of some selected cluster.
    pub expired: bool,
    pub state: ExceptionState,
    /// Findings it excepted, summed over the clusters.
    pub matched: u64,
    /// Clusters whose latest report applies it.
    pub clusters: u64,
    /// Clusters where it excepted at least one finding, by name.
    pub clusters_matched: Vec<String>,
    /// Clusters where it excepted nothing (expired there or not), by name.
    pub clusters_unmatched: Vec<String>,
    /// Clusters where it was expired at the latest evaluation, by name.
    pub clusters_expired: Vec<String>,
}

/// The answer of `GET /api/v1/posture/exceptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionList {
    /// Selected clusters with a posture report.
    pub clusters_reporting: u64,
    /// By name.
    pub exceptions: Vec<FleetException>,
    /// How many are expired (the CLI's hint).
    pub expired: u64,
    /// How many matched nothing anywhere and are not expired.
    pub unused: u64,
}

/// The exceptions of the clusters' latest reports, by name.
pub fn exceptions_of(clusters: &[ClusterExceptions]) -> ExceptionList {
    // (exception, evaluation time of the cluster its reason comes from)
    let mut by_name: BTreeMap<&str, (FleetException, Timestamp)> = BTreeMap::new();
    let mut sorted: Vec<&ClusterExceptions> = clusters.iter().collect();
    sorted.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    for cluster in sorted {
        for applied in &cluster.exceptions {
            let (entry, reason_at) = by_name.entry(&applied.name).or_insert_with(|| {
                (
                    FleetException {
                        name: applied.name.clone(),
                        reason: applied.reason.clone(),
                        expires: applied.expires,
                        expired: false,
                        state: ExceptionState::Active,
                        matched: 0,
                        clusters: 0,
                        clusters_matched: Vec::new(),
                        clusters_unmatched: Vec::new(),
                        clusters_expired: Vec::new(),
                    },
                    cluster.evaluated_at,
                )
            });
            // Later evaluations win the reason; on a tie the first cluster by name keeps it.
            if cluster.evaluated_at > *reason_at {
                entry.reason = applied.reason.clone();
                *reason_at = cluster.evaluated_at;
            }
            entry.expires = match (entry.expires, applied.expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            entry.clusters += 1;
            entry.matched += applied.matched;
            if applied.matched > 0 {
                entry.clusters_matched.push(cluster.cluster.clone());
            } else {
                entry.clusters_unmatched.push(cluster.cluster.clone());
            }
            if applied.expired {
                entry.expired = true;
                entry.clusters_expired.push(cluster.cluster.clone());
            }
        }
    }
    let exceptions: Vec<FleetException> = by_name
        .into_values()
        .map(|(mut e, _)| {
            e.state = if e.expired {
                ExceptionState::Expired
            } else if e.matched == 0 {
                ExceptionState::Unused
            } else {
                ExceptionState::Active
            };
            e
        })
        .collect();
    let count = |state| exceptions.iter().filter(|e| e.state == state).count() as u64;
    ExceptionList {
        clusters_reporting: clusters.len() as u64,
        expired: count(ExceptionState::Expired),
        unused: count(ExceptionState::Unused),
        exceptions,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExceptionParams {
    cluster: Option<String>,
    label_selector: Option<String>,
}

/// `GET /api/v1/posture/exceptions`.
pub(crate) async fn list_exceptions(
    State(state): State<ApiState>,
    params: Result<Query<ExceptionParams>, QueryRejection>,
) -> Result<Json<ExceptionList>, ApiError> {
    let Query(params) = params?;
    let (clusters, _) = selected_clusters(
        &state,
        params.label_selector.as_deref(),
        params.cluster.as_deref(),
    )
    .await?;
    let stored = state.store.posture_exceptions(clusters.as_deref()).await?;
    Ok(Json(exceptions_of(&stored)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use capstan_core::posture::report::AppliedException;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn applied(name: &str, reason: &str, matched: u64, expires: Option<&str>) -> AppliedException {
        AppliedException {
            name: name.to_string(),
            reason: reason.to_string(),
            matched,
            expires: expires.map(ts),
            expired: false,
        }
    }

    fn cluster(name: &str, at: &str, exceptions: Vec<AppliedException>) -> ClusterExceptions {
        ClusterExceptions {
            cluster: name.to_string(),
            evaluated_at: ts(at),
            exceptions,
        }
    }

    #[test]
    fn exceptions_are_summed_by_name_and_judged_across_the_clusters() {
        let mut lapsed = applied(
            "legacy-privileged",
            "vendor agent",
            0,
            Some("2026-03-01T00:00:00Z"),
        );
        lapsed.expired = true;
        let list = exceptions_of(&[
            // Given out of name order: the lists are by name all the same.
            cluster(
                "b",
                "2026-03-10T02:00:00Z",
                vec![
                    applied(
                        "ingress-hostnetwork",
                        "ingress needs the host network (new)",
                        3,
                        Some("2026-06-01T00:00:00Z"),
                    ),
                    applied("old-batch", "batch jobs, retired", 0, None),
                    lapsed,
                ],
            ),
            cluster(
                "a",
                "2026-03-10T01:00:00Z",
                vec![
                    applied(
                        "ingress-hostnetwork",
                        "ingress needs the host network",
                        2,
                        Some("2026-04-01T00:00:00Z"),
                    ),
                    applied(
                        "legacy-privileged",
                        "vendor agent",
                        4,
                        Some("2026-09-01T00:00:00Z"),
                    ),
                ],
            ),
            cluster(
                "c",
                "2026-03-10T03:00:00Z",
                vec![applied(
                    "ingress-hostnetwork",
                    "ingress needs the host network (new)",
                    0,
                    None,
                )],
            ),
            cluster("d", "2026-03-10T03:00:00Z", Vec::new()),
        ]);
        assert_eq!(
            (list.clusters_reporting, list.expired, list.unused),
            (4, 1, 1)
        );
        let got: Vec<_> = list
            .exceptions
            .iter()
            .map(|e| {
                (
                    e.name.as_str(),
                    e.reason.as_str(),
                    e.expires.map(|t| t.to_string()),
                    e.state,
                    e.matched,
                    e.clusters,
                    e.clusters_matched.join(","),
                    e.clusters_unmatched.join(","),
                    e.clusters_expired.join(","),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "ingress-hostnetwork",
                    // c is evaluated last.
                    "ingress needs the host network (new)",
                    Some("2026-04-01T00:00:00Z".to_string()),
                    ExceptionState::Active,
                    5,
                    3,
                    "a,b".to_string(),
                    "c".to_string(),
                    String::new(),
                ),
                (
                    "legacy-privileged",
                    "vendor agent",
                    Some("2026-03-01T00:00:00Z".to_string()),
                    // Still matching in a, but expired in b: it needs attention.
                    ExceptionState::Expired,
                    4,
                    2,
                    "a".to_string(),
                    "b".to_string(),
                    "b".to_string(),
                ),
                (
                    "old-batch",
                    "batch jobs, retired",
                    None,
                    ExceptionState::Unused,
                    0,
                    1,
                    String::new(),
                    "b".to_string(),
                    String::new(),
                ),
            ]
        );
        assert!(list.exceptions[1].expired && !list.exceptions[0].expired);
    }

    #[test]
    fn no_reports_no_exceptions() {
        assert_eq!(
            exceptions_of(&[]),
            ExceptionList {
                clusters_reporting: 0,
                exceptions: Vec::new(),
                expired: 0,
                unused: 0
            }
        );
    }
}
