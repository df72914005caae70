//! The posture history as a table: one row per bucket, one column per control with its
//! coverage (the header names the target it is compared against). A pure function of the
//! hub's answer.

use capstan_hub::api::{BucketControl, PostureHistory};
use capstan_hub::store::HistoryStep;

use super::report::{grouped, percent};
use crate::cost_cmd::report::aligned;

/// A bucket's start as the step reads: `2026-03-10` for days, `2026-03-10 14:00` for hours
/// (UTC, as the buckets are).
fn bucket_label(history: &PostureHistory, start: jiff::Timestamp) -> String {
    let format = match history.step {
        HistoryStep::Day => "%Y-%m-%d",
        HistoryStep::Hour => "%Y-%m-%d %H:%M",
    };
    start.strftime(format).to_string()
}

/// A control's cell: the coverage cut to a tenth, `*` when below the target (a space
/// otherwise, so that the digits line up); `-` when nothing was eligible.
fn cell(c: Option<&BucketControl>) -> (String, bool) {
    match c {
        Some(c) if c.eligible > 0 => {
            let below = !c.meets_target;
            let mark = if below { '*' } else { ' ' };
            (
                format!("{}{mark}", percent(c.covered + c.excepted, c.eligible)),
                below,
            )
        }
        _ => ("- ".to_string(), false),
    }
}

/// One row per bucket, oldest first: its start, the clusters that reported in it, then each
/// control's coverage.
pub fn table(history: &PostureHistory) -> String {
    let mut out = String::new();
    let per = match history.step {
        HistoryStep::Day => "day",
        HistoryStep::Hour => "hour",
    };
    if history.buckets.iter().all(|b| b.clusters_reporting == 0) {
        out.push_str(&format!(
            "No posture reports since {}.\n",
            bucket_label(history, history.since)
        ));
        return out;
    }
    out.push_str(&format!(
        "Coverage per {per} (UTC); each {per} counts the clusters that reported in it, at \
         their latest evaluation\n"
    ));
    let mut header = vec![
        if per == "day" { "DAY" } else { "HOUR" }.to_string(),
        "CLUSTERS".to_string(),
    ];
    header.extend(
        history
            .controls
            .iter()
            .map(|c| format!("{} {}", c.control.as_str().to_uppercase(), c.target)),
    );
    let mut rows = vec![header];
    let mut marked = false;
    for bucket in &history.buckets {
        let mut cells = vec![
            bucket_label(history, bucket.start),
            grouped(bucket.clusters_reporting),
        ];
        for column in &history.controls {
            let (text, below) = cell(bucket.controls.iter().find(|c| c.control == column.control));
            marked |= below;
            cells.push(text);
        }
        rows.push(cells);
    }
    out.push_str(&aligned(&rows, 1..history.controls.len() + 2));
    if marked {
        out.push_str("* below the control's target\n");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use capstan_core::posture::report::Control;
    use capstan_hub::api::history_of;
    use capstan_hub::store::{ControlSums, HistoryStep, PostureHistoryBucket};

    use super::table;

    fn sums(control: Control, eligible: u64, covered: u64, excepted: u64) -> ControlSums {
        ControlSums {
            control,
            clusters: 2,
            eligible,
            covered,
            excepted,
            findings: eligible - covered - excepted,
        }
    }

    fn bucket(start: &str, clusters: u64, controls: Vec<ControlSums>) -> PostureHistoryBucket {
        PostureHistoryBucket {
            start: start.parse().unwrap(),
            clusters,
            controls,
        }
    }

    #[test]
    fn one_row_per_bucket_one_column_per_control_with_its_target() {
        let stored = vec![
            bucket(
                "2026-03-08T00:00:00Z",
                2,
                vec![
                    sums(Control::Rbac, 2, 1, 1),
                    // 19 of 20: 95%, not above 95%.
                    sums(Control::NetworkPolicy, 20, 19, 0),
                    sums(Control::PodSecurity, 30, 27, 0),
                    sums(Control::Secrets, 0, 0, 0),
                    // 2 short of 300: 99.3%, cut, above 98%.
                    sums(Control::ImageScanning, 300, 298, 0),
                ],
            ),
            bucket(
                "2026-03-10T00:00:00Z",
                1,
                vec![sums(Control::NetworkPolicy, 1000, 999, 0)],
            ),
        ];
        let history = history_of(
            stored,
            &Control::ALL,
            "2026-03-08T00:00:00Z".parse().unwrap(),
            "2026-03-10T13:00:00Z".parse().unwrap(),
            HistoryStep::Day,
        );
        assert_eq!(
            table(&history),
            "\
Coverage per day (UTC); each day counts the clusters that reported in it, at their latest evaluation
DAY          CLUSTERS   RBAC 100%   NETWORK-POLICY >95%   POD-SECURITY 100%   SECRETS 100%   IMAGE-SCANNING >98%
2026-03-08          2     100.0%                 95.0%*              90.0%*             -                 99.3%
2026-03-09          0          -                     -                   -              -                     -
2026-03-10          1          -                 99.9%                   -              -                     -
* below the control's target
"
        );
    }

    #[test]
    fn hours_and_one_control_and_nothing_reported() {
        let stored = vec![bucket(
            "2026-03-10T13:00:00Z",
            1,
            vec![sums(Control::Rbac, 1, 1, 0)],
        )];
        let history = history_of(
            stored,
            &[Control::Rbac],
            "2026-03-10T12:00:00Z".parse().unwrap(),
            "2026-03-10T13:10:00Z".parse().unwrap(),
            HistoryStep::Hour,
        );
        assert_eq!(
            table(&history),
            "\
Coverage per hour (UTC); each hour counts the clusters that reported in it, at their latest evaluation
HOUR               CLUSTERS   RBAC 100%
2026-03-10 12:00          0          -
2026-03-10 13:00          1     100.0%
"
        );
        let empty = history_of(
            Vec::new(),
            &Control::ALL,
            "2026-03-03T00:00:00Z".parse().unwrap(),
            "2026-03-10T13:10:00Z".parse().unwrap(),
            HistoryStep::Day,
        );
        assert_eq!(table(&empty), "No posture reports since 2026-03-03.\n");
    }
}
