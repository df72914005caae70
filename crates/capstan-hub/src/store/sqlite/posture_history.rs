//! The posture history's reads (migration 0005's `posture_history`): per bucket and control,
//! summed in SQL in the fleet report's units.
//!
//! The table holds one point per cluster, hour and control: an upload replaces its hour's
//! points, and an upload evaluated before the stored report is refused before it writes any,
//! so each hour keeps its latest evaluation. A bucket of a day holds up to 24 evaluations of a
//! cluster; only the latest counts (the cluster's state at the end of the bucket, as the fleet
//! report counts each cluster's latest report), so a cluster is never counted twice. The
//! latest is chosen across controls: a control missing from that evaluation is not counted
//! for the cluster, as the fleet report would not count it.

use capstan_core::posture::report::{Control, Unit};
use sqlx::Row;

use super::SqliteStore;
use super::posture::{MICROS_PER_HOUR, control_of, count};
use super::rows::{micros, timestamp, to_json};
use crate::Result;
use crate::store::{ControlSums, HistoryQuery, HistoryStep, PostureHistoryBucket};

fn step_micros(step: HistoryStep) -> i64 {
    match step {
        HistoryStep::Hour => MICROS_PER_HOUR,
        HistoryStep::Day => 24 * MICROS_PER_HOUR,
    }
}

/// `whole` marks the controls whose fleet unit is the cluster (RBAC): there a cluster counts
/// 1 eligible, covered when every unit is covered without exceptions, else excepted when
/// exceptions complete it, exactly as `FleetAccumulator::add`. The others sum their units.
fn bucket_sql(query: &HistoryQuery) -> String {
    format!(
        "WITH points AS (
             SELECT cluster, hour - (hour % ?) AS bucket, control, evaluated_at,
                    eligible, covered, excepted, findings
             FROM posture_history
             WHERE hour >= ?{clusters}
         ),
         latest AS (
             SELECT cluster, bucket, MAX(evaluated_at) AS evaluated_at
             FROM points GROUP BY cluster, bucket
         ),
         chosen AS (
             SELECT p.bucket, p.control, p.eligible, p.covered, p.excepted, p.findings,
                    p.control IN (SELECT value FROM json_each(?)) AS whole
             FROM points p JOIN latest l
               ON l.cluster = p.cluster AND l.bucket = p.bucket
              AND l.evaluated_at = p.evaluated_at
         ),
         buckets AS (SELECT bucket, COUNT(*) AS clusters FROM latest GROUP BY bucket)
         SELECT b.bucket, b.clusters AS bucket_clusters, c.control,
                COUNT(c.control) AS clusters,
                SUM(CASE WHEN c.whole THEN 1 ELSE c.eligible END) AS eligible,
                SUM(CASE WHEN c.whole THEN c.covered >= c.eligible ELSE c.covered END)
                    AS covered,
                SUM(CASE WHEN c.whole
                         THEN c.covered < c.eligible AND c.covered + c.excepted >= c.eligible
                         ELSE c.excepted END) AS excepted,
                SUM(c.findings) AS findings
         FROM buckets b LEFT JOIN chosen c ON c.bucket = b.bucket{control}
         GROUP BY b.bucket, c.control
         ORDER BY b.bucket, c.control",
        clusters = if query.clusters.is_some() {
            " AND cluster IN (SELECT value FROM json_each(?))"
        } else {
            ""
        },
        control = if query.control.is_some() {
            " AND c.control = ?"
        } else {
            ""
        },
    )
}

impl SqliteStore {
    pub(super) async fn posture_history_buckets(
        &self,
        query: &HistoryQuery,
    ) -> Result<Vec<PostureHistoryBucket>> {
        let sql = bucket_sql(query);
        let names = query
            .clusters
            .as_ref()
            .map(|n| to_json("cluster names", n))
            .transpose()?;
        let whole: Vec<&str> = Control::ALL
            .into_iter()
            .filter(|c| c.fleet_unit() == Unit::Clusters)
            .map(Control::as_str)
            .collect();
        let whole = to_json("controls counted in clusters", &whole)?;
        let mut q = sqlx::query(&sql)
            .bind(step_micros(query.step))
            .bind(micros(query.step.floor(query.since)));
        if let Some(names) = &names {
            q = q.bind(names.as_str());
        }
        q = q.bind(whole.as_str());
        if let Some(control) = query.control {
            q = q.bind(control.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut buckets: Vec<PostureHistoryBucket> = Vec::new();
        for row in &rows {
            let start = timestamp(row.try_get("bucket")?)?;
            if buckets.last().is_none_or(|b| b.start != start) {
                buckets.push(PostureHistoryBucket {
                    start,
                    clusters: count("posture history clusters", row.try_get("bucket_clusters")?)?,
                    controls: Vec::new(),
                });
            }
            // A bucket none of whose clusters reported the control asked for.
            let Some(control) = row.try_get::<Option<String>, _>("control")? else {
                continue;
            };
            let sums = ControlSums {
                control: control_of(&control)?,
                clusters: count("posture history clusters", row.try_get("clusters")?)?,
                eligible: count("posture history eligible", row.try_get("eligible")?)?,
                covered: count("posture history covered", row.try_get("covered")?)?,
                excepted: count("posture history excepted", row.try_get("excepted")?)?,
                findings: count("posture history findings", row.try_get("findings")?)?,
            };
            if let Some(bucket) = buckets.last_mut() {
                bucket.controls.push(sums);
            }
        }
        for bucket in &mut buckets {
            bucket.controls.sort_by_key(|c| c.control);
        }
        Ok(buckets)
    }
}
