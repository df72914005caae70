//! The posture history's reads: per bucket and control, summed in SQL in the fleet report's
//! units.
//!
//! Both tables (migration 0006) hold, for each cluster and bucket, the figures of its latest
//! evaluation in the bucket, so a bucket's sums are plain sums over one range of the primary
//! key, which is ordered as they are grouped (time, control, cluster): no sort and nothing
//! chosen at read time. A 30-day trend of 5,000 clusters reads 750,000 daily rows, a day of
//! hours 600,000 hourly points.
//! - Days, `posture_history_daily`: an upload replaces its cluster's rows of the day, so a
//!   control the day's later evaluation lacks is gone.
//! - Hours, `posture_history`: an upload replaces its controls' points of the hour; a control
//!   an earlier evaluation of the hour had and the later one lacks keeps its point, marked
//!   `latest = 0` by the upload, and the read skips it (the fleet report would not count a
//!   control missing from a cluster's latest report either).
//!
//! An upload evaluated before the stored report is refused before it writes any, so the
//! latest evaluation always wins. [`SqliteStore::posture_history_buckets_from_hourly`] is the
//! read from before 0006, which chose each cluster's latest evaluation per bucket from the
//! hourly points at read time: the benchmark compares the two, the tests check they agree.

use capstan_core::posture::report::{Control, Unit};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::posture::{MICROS_PER_DAY, MICROS_PER_HOUR, control_of, count};
use super::rows::{corrupt, micros, saturating_i64, timestamp, to_json};
use crate::Result;
use crate::store::{
    ControlSums, HistoryQuery, HistoryStep, PostureHistoryBucket, PostureHistoryPoint,
};

fn step_micros(step: HistoryStep) -> i64 {
    match step {
        HistoryStep::Hour => MICROS_PER_HOUR,
        HistoryStep::Day => MICROS_PER_DAY,
    }
}

/// The controls whose fleet unit is the cluster, as an SQL list of literals (the names are
/// core's fixed identifiers).
fn whole_controls() -> String {
    Control::ALL
        .into_iter()
        .filter(|c| c.fleet_unit() == Unit::Clusters)
        .map(|c| format!("'{}'", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sums of one control over rows `c` (see [`hourly_sql`] for what `whole` means).
fn sums_sql() -> String {
    format!(
        "COUNT(*) AS clusters,
         SUM(CASE WHEN c.control IN ({whole}) THEN 1 ELSE c.eligible END) AS eligible,
         SUM(CASE WHEN c.control IN ({whole}) THEN c.covered >= c.eligible ELSE c.covered END)
             AS covered,
         SUM(CASE WHEN c.control IN ({whole})
                  THEN c.covered < c.eligible AND c.covered + c.excepted >= c.eligible
                  ELSE c.excepted END) AS excepted,
         SUM(c.findings) AS findings",
        whole = whole_controls()
    )
}

/// Up to this many clusters asked for, their rows are sought through the table's cluster
/// index (a range of days per cluster); more, and the window is read through the primary key
/// and the clusters filtered row by row, as without a filter. Each row found through the
/// index costs a lookup in the table, several times a row read in place, so a selection of
/// most of the fleet (`environment=production`) would read slower than no selection.
const CLUSTERS_SOUGHT_MAX: usize = 256;

/// The filter on `query.clusters` of rows `alias`: `+` keeps SQLite from using the cluster
/// index for it (see [`CLUSTERS_SOUGHT_MAX`]).
fn clusters_filter(query: &HistoryQuery, alias: &str) -> String {
    match &query.clusters {
        None => String::new(),
        Some(names) if names.len() <= CLUSTERS_SOUGHT_MAX => {
            format!(" AND {alias}cluster IN (SELECT value FROM json_each(?))")
        }
        Some(_) => format!(" AND +{alias}cluster IN (SELECT value FROM json_each(?))"),
    }
}

/// The table holding the buckets of `step`, its time column, and the filter keeping each
/// cluster's latest evaluation of the bucket.
fn table_of(step: HistoryStep) -> (&'static str, &'static str, &'static str) {
    match step {
        HistoryStep::Day => ("posture_history_daily", "day", ""),
        HistoryStep::Hour => ("posture_history", "hour", " AND c.latest = 1"),
    }
}

/// The clusters of each bucket, and each bucket's sums per control: two reads of one range
/// of the table's primary key (or of its cluster index for a few clusters).
fn window_sql(query: &HistoryQuery) -> (String, String) {
    let (table, time, latest) = table_of(query.step);
    let clusters = clusters_filter(query, "c.");
    let buckets = format!(
        "SELECT c.{time} AS bucket, COUNT(DISTINCT c.cluster) AS bucket_clusters
         FROM {table} c
         WHERE c.{time} >= ?{latest}{clusters}
         GROUP BY c.{time} ORDER BY c.{time}"
    );
    let sums = format!(
        "SELECT c.{time} AS bucket, c.control, {sums}
         FROM {table} c
         WHERE c.{time} >= ?{latest}{clusters}{control}
         GROUP BY c.{time}, c.control ORDER BY c.{time}, c.control",
        sums = sums_sql(),
        control = if query.control.is_some() {
            " AND c.control = ?"
        } else {
            ""
        },
    );
    (buckets, sums)
}

/// `whole` marks the controls whose fleet unit is the cluster (RBAC): there a cluster counts
/// 1 eligible, covered when every unit is covered without exceptions, else excepted when
/// exceptions complete it, exactly as `FleetAccumulator::add`. The others sum their units.
fn hourly_sql(query: &HistoryQuery) -> String {
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
        clusters = clusters_filter(query, ""),
        control = if query.control.is_some() {
            " AND c.control = ?"
        } else {
            ""
        },
    )
}

fn sums_of(row: &SqliteRow) -> Result<Option<ControlSums>> {
    // A bucket none of whose clusters reported the control asked for (the hourly read's
    // LEFT JOIN).
    let Some(control) = row.try_get::<Option<String>, _>("control")? else {
        return Ok(None);
    };
    Ok(Some(ControlSums {
        control: control_of(&control)?,
        clusters: count("posture history clusters", row.try_get("clusters")?)?,
        eligible: count("posture history eligible", row.try_get("eligible")?)?,
        covered: count("posture history covered", row.try_get("covered")?)?,
        excepted: count("posture history excepted", row.try_get("excepted")?)?,
        findings: count("posture history findings", row.try_get("findings")?)?,
    }))
}

impl SqliteStore {
    pub(super) async fn posture_history_buckets(
        &self,
        query: &HistoryQuery,
    ) -> Result<Vec<PostureHistoryBucket>> {
        let (buckets_sql, sums_sql) = window_sql(query);
        let names = query
            .clusters
            .as_ref()
            .map(|n| to_json("cluster names", n))
            .transpose()?;
        let since = micros(query.step.floor(query.since));
        let mut q = sqlx::query(&buckets_sql).bind(since);
        if let Some(names) = &names {
            q = q.bind(names.as_str());
        }
        let mut buckets = Vec::new();
        for row in q.fetch_all(&self.pool).await? {
            buckets.push(PostureHistoryBucket {
                start: timestamp(row.try_get("bucket")?)?,
                clusters: count("posture history clusters", row.try_get("bucket_clusters")?)?,
                controls: Vec::new(),
            });
        }
        let mut q = sqlx::query(&sums_sql).bind(since);
        if let Some(names) = &names {
            q = q.bind(names.as_str());
        }
        if let Some(control) = query.control {
            q = q.bind(control.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        // Both reads are ordered by bucket, and every bucket of the sums has clusters.
        let mut at = 0;
        for row in &rows {
            let start = timestamp(row.try_get("bucket")?)?;
            while buckets.get(at).is_some_and(|b| b.start < start) {
                at += 1;
            }
            let bucket = buckets
                .get_mut(at)
                .filter(|b| b.start == start)
                .ok_or_else(|| corrupt("posture history", format!("bucket {start}")))?;
            if let Some(sums) = sums_of(row)? {
                bucket.controls.push(sums);
            }
        }
        for bucket in &mut buckets {
            bucket.controls.sort_by_key(|c| c.control);
        }
        Ok(buckets)
    }

    /// The buckets of `query` read from the hourly points, whatever the step, choosing each
    /// cluster's latest evaluation per bucket at read time: how every step was read before
    /// migration 0006. For comparison only (the benchmark, the tests).
    pub async fn posture_history_buckets_from_hourly(
        &self,
        query: &HistoryQuery,
    ) -> Result<Vec<PostureHistoryBucket>> {
        let sql = hourly_sql(query);
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
            if let (Some(sums), Some(bucket)) = (sums_of(row)?, buckets.last_mut()) {
                bucket.controls.push(sums);
            }
        }
        for bucket in &mut buckets {
            bucket.controls.sort_by_key(|c| c.control);
        }
        Ok(buckets)
    }
}

/// One history row as `json_each` reads it: (bucket start, cluster, control, evaluated_at,
/// eligible, covered, excepted, findings).
type ImportRow<'a> = (i64, &'a str, &'static str, i64, i64, i64, i64, i64);

impl SqliteStore {
    /// Writes history points straight into the table of `step` (the hourly points or the
    /// daily rows), each in the bucket of its evaluation, replacing the same cluster, bucket
    /// and control; in one transaction, a statement per 10,000 points. For filling a hub with
    /// history (the `posture-fleet` benchmark): it bypasses what an upload keeps true, that a
    /// cluster's day holds one evaluation and older points are dropped.
    pub async fn put_posture_history_points(
        &self,
        step: HistoryStep,
        points: &[(String, PostureHistoryPoint)],
    ) -> Result<()> {
        let (table, column) = match step {
            HistoryStep::Hour => ("posture_history", "hour"),
            HistoryStep::Day => ("posture_history_daily", "day"),
        };
        let sql = format!(
            "INSERT OR REPLACE INTO {table} ({column}, cluster, control, evaluated_at, eligible,
                 covered, excepted, findings)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                    json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                    json_extract(value, '$[4]'), json_extract(value, '$[5]'),
                    json_extract(value, '$[6]'), json_extract(value, '$[7]')
             FROM json_each(?)"
        );
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in points.chunks(10_000) {
            let rows: Vec<ImportRow<'_>> = chunk
                .iter()
                .map(|(cluster, p)| {
                    let at = micros(p.evaluated_at);
                    (
                        at.div_euclid(step_micros(step)) * step_micros(step),
                        cluster.as_str(),
                        p.control.as_str(),
                        at,
                        saturating_i64(p.eligible),
                        saturating_i64(p.covered),
                        saturating_i64(p.excepted),
                        saturating_i64(p.findings),
                    )
                })
                .collect();
            sqlx::query(&sql)
                .bind(to_json("posture history points", &rows)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    /// The plan's detail lines of `sql` (parameters unbound: SQLite plans them as unknown).
    async fn plan(store: &SqliteStore, sql: &str) -> Vec<String> {
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
            .fetch_all(store.pool())
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect()
    }

    fn query(clusters: usize, control: bool, step: HistoryStep) -> HistoryQuery {
        HistoryQuery {
            clusters: (clusters > 0).then(|| (0..clusters).map(|c| format!("c{c}")).collect()),
            control: control.then_some(Control::Rbac),
            since: Timestamp::UNIX_EPOCH,
            step,
        }
    }

    /// A window of days or hours is one range of the table's primary key (time first), with
    /// or without a control filter or a large selection of clusters; a few clusters are
    /// ranges of days or hours through the cluster index. Never a scan of the table; and the
    /// sums of a window come in the key's order (time, control), so they are not sorted.
    #[tokio::test]
    async fn windows_are_read_through_time_keyed_indexes() {
        let store = SqliteStore::memory().await.unwrap();
        for clusters in [0, 1, CLUSTERS_SOUGHT_MAX + 1] {
            for control in [false, true] {
                let (buckets, sums) = window_sql(&query(clusters, control, HistoryStep::Day));
                let (hour_buckets, hour_sums) =
                    window_sql(&query(clusters, control, HistoryStep::Hour));
                let before_0006 = hourly_sql(&query(clusters, control, HistoryStep::Day));
                // How each plan names the table it reads (the window reads alias it `c`).
                for (name, sql, table, time) in [
                    ("daily buckets", buckets, "c", "day"),
                    ("daily sums", sums.clone(), "c", "day"),
                    ("hourly buckets", hour_buckets, "c", "hour"),
                    ("hourly sums", hour_sums.clone(), "c", "hour"),
                    ("from hourly", before_0006, "posture_history", "hour"),
                ] {
                    let plan = plan(&store, &sql).await;
                    let want = if (1..=CLUSTERS_SOUGHT_MAX).contains(&clusters) {
                        format!("(cluster=? AND {time}>?)")
                    } else {
                        format!("USING PRIMARY KEY ({time}>?)")
                    };
                    let reads: Vec<&String> = plan
                        .iter()
                        .filter(|d| {
                            d.starts_with(&format!("SCAN {table} "))
                                || d.starts_with(&format!("SEARCH {table} "))
                                || **d == format!("SCAN {table}")
                        })
                        .collect();
                    let context = format!("{name}, {clusters} clusters, control {control}");
                    assert!(!reads.is_empty(), "{context}: {plan:?}");
                    for read in reads {
                        assert!(
                            read.starts_with("SEARCH") && read.contains(&want),
                            "{context}: {plan:?}"
                        );
                    }
                    if name.ends_with("sums") && !(1..=CLUSTERS_SOUGHT_MAX).contains(&clusters) {
                        assert!(
                            !plan.iter().any(|d| d.contains("TEMP B-TREE")),
                            "{context}: {plan:?}"
                        );
                    }
                }
            }
        }
    }

    /// An upload's writes to the history find the cluster's rows of its hour and day
    /// through the cluster index, not by reading the fleet's hour or day.
    #[tokio::test]
    async fn an_upload_finds_its_clusters_rows_through_the_cluster_index() {
        use super::super::posture::{DELETE_CLUSTER_DAY, MARK_EARLIER_POINTS};
        let store = SqliteStore::memory().await.unwrap();
        for (sql, want) in [
            (
                MARK_EARLIER_POINTS,
                "SEARCH posture_history USING INDEX posture_history_by_cluster (cluster=? AND hour=?)",
            ),
            (
                DELETE_CLUSTER_DAY,
                "SEARCH posture_history_daily USING COVERING INDEX \
                 posture_history_daily_by_cluster (cluster=? AND day=?)",
            ),
        ] {
            assert_eq!(plan(&store, sql).await, [want], "{sql}");
        }
    }
}
