//! `GET /api/v1/posture/history`: the fleet's (or some clusters') coverage per control over
//! time, per bucket of an hour or a day.
//!
//! Days are read from the daily history (migration 0006: each cluster's latest evaluation of
//! each UTC day, written at upload time, kept [`POSTURE_DAILY_HISTORY_DAYS`]), so a 30-day
//! trend of 5,000 clusters sums 750,000 rows. Hours are read from the hourly points (kept
//! [`POSTURE_HISTORY_DAYS`]) and the window is bounded: `step=1h` reads the last 24 hours by
//! default and at most [`MAX_HOURLY_WINDOW_HOURS`] (a 400 names `since` beyond it), since a
//! week of hours is already 168 buckets and 4 million points at that scale.
//!
//! The figures are the fleet report's ([`FleetAccumulator`]): per control, the clusters'
//! units summed (RBAC: clusters, one covered when all its namespaces are, excepted when
//! exceptions complete it), coverage `(covered + excepted) / eligible` against the same
//! targets. Where the history must differ from `GET /api/v1/posture`:
//! - The report counts every cluster's latest report however old; a bucket counts only the
//!   clusters that reported in it, each at its latest evaluation in the bucket. A cluster
//!   that stopped reporting leaves the later buckets instead of being held at its last
//!   figures, so `clustersReporting` moves with the fleet.
//! - The history keeps no labels and no rule counts or details: `labelSelector` selects over
//!   the inventory's labels now, and a bucket has no rules and no `clustersMeetingTarget`.
//! - A cluster deleted from the inventory takes its history with it (migration 0006's
//!   trigger), so past buckets show the clusters still in the inventory.
//!
//! [`FleetAccumulator`]: capstan_core::posture::fleet::FleetAccumulator

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use capstan_core::duration::parse_duration;
use capstan_core::posture::report::{Control, Target, Unit, percent};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::findings::parse_control;
use crate::api::cost::selected_clusters;
use crate::api::{ApiError, ApiState};
use crate::store::{
    ControlSums, HistoryQuery, HistoryStep, POSTURE_DAILY_HISTORY_DAYS, POSTURE_HISTORY_DAYS,
    PostureHistoryBucket,
};

/// The window read when no `since` is given, by day.
pub const DEFAULT_HISTORY_SINCE: &str = "7d";
/// The window read when no `since` is given, by hour.
pub const DEFAULT_HOURLY_HISTORY_SINCE: &str = "24h";
/// How far back `step=1h` may start, in hours before the hub's time.
pub const MAX_HOURLY_WINDOW_HOURS: i64 = 7 * 24;
/// The bucket when no `step` is given.
pub const DEFAULT_HISTORY_STEP: HistoryStep = HistoryStep::Day;

/// The answer of `GET /api/v1/posture/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureHistory {
    pub step: HistoryStep,
    /// The first bucket's start: `since` rounded down to the step, and no earlier than the
    /// history kept of the step before `until` (400 days by day, 30 by hour; by hour `since`
    /// may not be more than 7 days back anyway), rounded down too.
    pub since: Timestamp,
    /// The hub's time; the last bucket is the one it falls in.
    pub until: Timestamp,
    /// The controls shown (one when `control` is given), in [`Control::ALL`] order.
    pub controls: Vec<HistoryControl>,
    /// Every bucket from `since` to `until`, oldest first; a bucket no selected cluster
    /// reported in has `clustersReporting` 0.
    pub buckets: Vec<HistoryBucket>,
}

/// A column of the history: a control, what its fleet figure counts and its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryControl {
    pub control: Control,
    /// [`Control::fleet_unit`].
    pub unit: Unit,
    pub target: Target,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryBucket {
    pub start: Timestamp,
    /// Selected clusters with an evaluation in the bucket.
    pub clusters_reporting: u64,
    /// One per control shown, in the order of [`PostureHistory::controls`].
    pub controls: Vec<BucketControl>,
}

/// One control in one bucket, over the clusters that reported it there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketControl {
    pub control: Control,
    pub clusters_reporting: u64,
    pub eligible: u64,
    pub covered: u64,
    pub excepted: u64,
    /// `(covered + excepted) / eligible` in percent; `None` when nothing is eligible.
    pub percent: Option<f64>,
    /// Against [`Control::target`]; nothing eligible meets it, as in the fleet report.
    pub meets_target: bool,
    /// Findings in all, excepted ones included.
    pub findings: u64,
}

impl BucketControl {
    fn of(sums: &ControlSums) -> Self {
        let counted = sums.covered + sums.excepted;
        BucketControl {
            control: sums.control,
            clusters_reporting: sums.clusters,
            eligible: sums.eligible,
            covered: sums.covered,
            excepted: sums.excepted,
            percent: percent(counted, sums.eligible),
            meets_target: sums.control.target().met(counted, sums.eligible),
            findings: sums.findings,
        }
    }

    fn empty(control: Control) -> Self {
        BucketControl::of(&ControlSums {
            control,
            clusters: 0,
            eligible: 0,
            covered: 0,
            excepted: 0,
            findings: 0,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryParams {
    control: Option<String>,
    cluster: Option<String>,
    label_selector: Option<String>,
    since: Option<String>,
    step: Option<String>,
}

/// `step=1h` or `step=1d`.
pub(crate) fn parse_step(text: Option<&str>) -> Result<HistoryStep, ApiError> {
    match text {
        None | Some("") => Ok(DEFAULT_HISTORY_STEP),
        Some(s) => HistoryStep::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("step {s:?} is not one of 1h, 1d")).with_field("step")
        }),
    }
}

/// `since`: an RFC 3339 time, or a duration before `now` (`7d`, `36h`); not after `now`,
/// and for hours not more than [`MAX_HOURLY_WINDOW_HOURS`] before it. The default depends on
/// the step.
pub(crate) fn parse_since(
    text: Option<&str>,
    now: Timestamp,
    step: HistoryStep,
) -> Result<Timestamp, ApiError> {
    let text = text.filter(|t| !t.is_empty()).unwrap_or(match step {
        HistoryStep::Day => DEFAULT_HISTORY_SINCE,
        HistoryStep::Hour => DEFAULT_HOURLY_HISTORY_SINCE,
    });
    let since = match text.parse::<Timestamp>() {
        Ok(t) => t,
        Err(_) => {
            let ago = parse_duration(text).map_err(|_| {
                ApiError::bad_request(format!(
                    "since {text:?} is neither an RFC 3339 time nor a duration such as 7d or 12h"
                ))
                .with_field("since")
            })?;
            SignedDuration::try_from(ago)
                .ok()
                .and_then(|ago| now.checked_sub(ago).ok())
                .unwrap_or(Timestamp::MIN)
        }
    };
    if since > now {
        return Err(
            ApiError::bad_request(format!("since {since} is after the hub's time {now}"))
                .with_field("since"),
        );
    }
    let earliest_hour = now
        .checked_sub(SignedDuration::from_hours(MAX_HOURLY_WINDOW_HOURS))
        .unwrap_or(Timestamp::MIN);
    if step == HistoryStep::Hour && since < earliest_hour {
        return Err(ApiError::bad_request(format!(
            "since {since} is more than {MAX_HOURLY_WINDOW_HOURS}h before the hub's time {now}: \
             step=1h reads at most {MAX_HOURLY_WINDOW_HOURS} hours; use step=1d for longer"
        ))
        .with_field("since"));
    }
    Ok(since)
}

/// The first bucket's start: `since`, no earlier than the history kept of the step, rounded
/// down.
pub fn first_bucket(since: Timestamp, now: Timestamp, step: HistoryStep) -> Timestamp {
    let days = match step {
        HistoryStep::Hour => POSTURE_HISTORY_DAYS,
        HistoryStep::Day => POSTURE_DAILY_HISTORY_DAYS,
    };
    let kept = now
        .checked_sub(SignedDuration::from_hours(24 * days))
        .unwrap_or(Timestamp::MIN);
    step.floor(since.max(kept))
}

/// The answer over the store's buckets: every bucket from `first` to the one `now` is in
/// (and any later one stored: an agent's clock may run up to an hour ahead), each with every
/// control of `controls`.
pub fn history_of(
    stored: Vec<PostureHistoryBucket>,
    controls: &[Control],
    first: Timestamp,
    now: Timestamp,
    step: HistoryStep,
) -> PostureHistory {
    let last = stored
        .last()
        .map_or(step.floor(now), |b| b.start.max(step.floor(now)));
    let mut stored = stored.into_iter().peekable();
    let mut buckets = Vec::new();
    let mut start = first;
    while start <= last {
        let found = stored.next_if(|b| b.start == start);
        let bucket_controls = controls
            .iter()
            .map(|&control| {
                found
                    .as_ref()
                    .and_then(|b| b.controls.iter().find(|c| c.control == control))
                    .map_or_else(|| BucketControl::empty(control), BucketControl::of)
            })
            .collect();
        buckets.push(HistoryBucket {
            start,
            clusters_reporting: found.as_ref().map_or(0, |b| b.clusters),
            controls: bucket_controls,
        });
        let Ok(next) = start.checked_add(step.duration()) else {
            break;
        };
        start = next;
    }
    PostureHistory {
        step,
        since: first,
        until: now,
        controls: controls
            .iter()
            .map(|&control| HistoryControl {
                control,
                unit: control.fleet_unit(),
                target: control.target(),
            })
            .collect(),
        buckets,
    }
}

/// `GET /api/v1/posture/history`.
pub(crate) async fn history(
    State(state): State<ApiState>,
    params: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Json<PostureHistory>, ApiError> {
    let Query(params) = params?;
    let control = parse_control(params.control.as_deref())?;
    let step = parse_step(params.step.as_deref())?;
    let now = state.clock.now();
    let since = parse_since(params.since.as_deref(), now, step)?;
    let (clusters, _) = selected_clusters(
        &state,
        params.label_selector.as_deref(),
        params.cluster.as_deref(),
    )
    .await?;
    let first = first_bucket(since, now, step);
    let stored = state
        .store
        .posture_history_buckets(&HistoryQuery {
            clusters,
            control,
            since: first,
            step,
        })
        .await?;
    let controls: Vec<Control> = match control {
        Some(c) => vec![c],
        None => Control::ALL.to_vec(),
    };
    Ok(Json(history_of(stored, &controls, first, now, step)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn since_parses_times_and_durations_or_names_itself() {
        let now = ts("2026-03-10T12:30:00Z");
        let check_step = |text: Option<&str>, step, want: Result<&str, &str>| {
            let got = parse_since(text, now, step).map_err(|e| (e.field, e.message));
            match want {
                Ok(t) => assert_eq!(got.ok(), Some(ts(t)), "{text:?}"),
                Err(message) => {
                    assert_eq!(got.err(), Some((Some("since".into()), message.into())))
                }
            }
        };
        let check = |text, want| check_step(text, HistoryStep::Day, want);
        check(None, Ok("2026-03-03T12:30:00Z"));
        check(Some(""), Ok("2026-03-03T12:30:00Z"));
        check(Some("36h"), Ok("2026-03-09T00:30:00Z"));
        check(
            Some("2026-03-01T08:00:00+02:00"),
            Ok("2026-03-01T06:00:00Z"),
        );
        check(Some("0"), Ok("2026-03-10T12:30:00Z"));
        check(
            Some("last week"),
            Err("since \"last week\" is neither an RFC 3339 time nor a duration such as 7d or 12h"),
        );
        check(
            Some("2026-03-11T00:00:00Z"),
            Err("since 2026-03-11T00:00:00Z is after the hub's time 2026-03-10T12:30:00Z"),
        );
        // By hour: 24 hours by default, at most 7 days back.
        check_step(None, HistoryStep::Hour, Ok("2026-03-09T12:30:00Z"));
        check_step(Some("7d"), HistoryStep::Hour, Ok("2026-03-03T12:30:00Z"));
        check_step(
            Some("169h"),
            HistoryStep::Hour,
            Err(
                "since 2026-03-03T11:30:00Z is more than 168h before the hub's time \
                 2026-03-10T12:30:00Z: step=1h reads at most 168 hours; use step=1d for longer",
            ),
        );
        check_step(Some("169h"), HistoryStep::Day, Ok("2026-03-03T11:30:00Z"));
        assert_eq!(parse_step(None).ok(), Some(HistoryStep::Day));
        assert_eq!(parse_step(Some("1h")).ok(), Some(HistoryStep::Hour));
        let err = parse_step(Some("1w")).err().map(|e| (e.field, e.message));
        assert_eq!(
            err,
            Some((
                Some("step".into()),
                "step \"1w\" is not one of 1h, 1d".into()
            ))
        );
    }

    #[test]
    fn the_first_bucket_is_rounded_down_and_kept_within_the_retention() {
        let now = ts("2026-03-10T12:30:00Z");
        let check = |since: &str, step, want: &str| {
            assert_eq!(first_bucket(ts(since), now, step), ts(want), "{since}");
        };
        check(
            "2026-03-09T07:59:00Z",
            HistoryStep::Hour,
            "2026-03-09T07:00:00Z",
        );
        check(
            "2026-03-09T07:59:00Z",
            HistoryStep::Day,
            "2026-03-09T00:00:00Z",
        );
        // Hours: 30 days before now, rounded down; days: 400.
        check(
            "2025-01-01T00:00:00Z",
            HistoryStep::Hour,
            "2026-02-08T12:00:00Z",
        );
        check(
            "2025-01-01T00:00:00Z",
            HistoryStep::Day,
            "2025-02-03T00:00:00Z",
        );
    }

    #[test]
    fn buckets_run_from_the_first_to_now_and_missing_ones_are_empty() {
        let now = ts("2026-03-10T12:30:00Z");
        let stored = vec![PostureHistoryBucket {
            start: ts("2026-03-09T00:00:00Z"),
            clusters: 2,
            controls: vec![ControlSums {
                control: Control::NetworkPolicy,
                clusters: 2,
                eligible: 20,
                covered: 19,
                excepted: 0,
                findings: 1,
            }],
        }];
        let history = history_of(
            stored,
            &[Control::Rbac, Control::NetworkPolicy],
            ts("2026-03-08T00:00:00Z"),
            now,
            HistoryStep::Day,
        );
        let starts: Vec<String> = history
            .buckets
            .iter()
            .map(|b| b.start.to_string())
            .collect();
        assert_eq!(
            starts,
            [
                "2026-03-08T00:00:00Z",
                "2026-03-09T00:00:00Z",
                "2026-03-10T00:00:00Z"
            ]
        );
        let reporting: Vec<u64> = history
            .buckets
            .iter()
            .map(|b| b.clusters_reporting)
            .collect();
        assert_eq!(reporting, [0, 2, 0]);
        let np = &history.buckets[1].controls[1];
        // 19 of 20 is 95%, not above it.
        assert_eq!((np.percent, np.meets_target), (Some(95.0), false));
        let rbac = &history.buckets[1].controls[0];
        assert_eq!(
            (rbac.eligible, rbac.percent, rbac.meets_target),
            (0, None, true)
        );
        assert_eq!(history.controls[0].unit, Unit::Clusters);
        assert_eq!(history.controls[1].target, Target::above(95.0));
    }
}
