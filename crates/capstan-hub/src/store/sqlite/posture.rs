//! Posture in SQLite (migration 0005): each cluster's latest report, its findings one row
//! each, the per-control history, and the reads behind `GET /api/v1/posture[/findings]`.
//!
//! A report is written in one transaction: the report row, its findings (one `INSERT ..
//! SELECT` over `json_each`, so a thousand findings are one statement), the history points of
//! its hour and of its day, and the history's retention. The findings are serialized once by Rust with the
//! severity already ranked, so the mapping lives in one place.

use capstan_core::posture::report::{Control, Finding};
use futures::TryStreamExt;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::SqliteStore;
use super::rows::{corrupt, from_json, micros, saturating_i64, timestamp, to_json};
use crate::Result;
use crate::store::posture::{object, severity_of_rank, severity_rank};
use crate::store::{
    ClusterExceptions, ClusterFinding, ExceptedFilter, FindingsQuery, POSTURE_DAILY_HISTORY_DAYS,
    POSTURE_HISTORY_DAYS, PostureHistoryPoint, PostureRead, PostureSummary, PostureWriteOutcome,
};
use capstan_core::posture::report::PostureReport;

pub(super) const MICROS_PER_HOUR: i64 = 3_600_000_000;
pub(super) const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Unmarks a cluster's points of an hour left by an earlier evaluation. Through the
/// cluster's index: the primary key (hour first) would read the whole fleet's hour.
pub(super) const MARK_EARLIER_POINTS: &str =
    "UPDATE posture_history INDEXED BY posture_history_by_cluster SET latest = 0
     WHERE cluster = ? AND hour = ? AND evaluated_at < ? AND latest = 1";
/// A cluster's rows of a day, replaced by each upload.
pub(super) const DELETE_CLUSTER_DAY: &str =
    "DELETE FROM posture_history_daily WHERE day = ? AND cluster = ?";
/// One control's point of an hour (the hour's latest evaluation so far) or of a day; both
/// bind (cluster, bucket, control, evaluated_at, eligible, covered, excepted, findings).
const INSERT_HOURLY_POINT: &str = "INSERT OR REPLACE INTO posture_history (cluster, hour,
     control, evaluated_at, eligible, covered, excepted, findings, latest)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)";
const INSERT_DAILY_POINT: &str = "INSERT OR REPLACE INTO posture_history_daily (cluster, day,
     control, evaluated_at, eligible, covered, excepted, findings)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/// Writes each control of `report` as a point of `bucket` with `insert`.
async fn insert_history_points(
    tx: &mut Transaction<'_, Sqlite>,
    insert: &str,
    cluster: &str,
    bucket: i64,
    evaluated: i64,
    report: &PostureReport,
) -> Result<()> {
    for c in &report.controls {
        sqlx::query(insert)
            .bind(cluster)
            .bind(bucket)
            .bind(c.control.as_str())
            .bind(evaluated)
            .bind(saturating_i64(c.eligible))
            .bind(saturating_i64(c.covered))
            .bind(saturating_i64(c.excepted))
            .bind(saturating_i64(c.findings))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// One finding as `json_each` reads it into `posture_findings`.
#[derive(Serialize)]
struct FindingRow<'a> {
    control: &'static str,
    rule: &'a str,
    severity: i64,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    field_path: &'a str,
    message: &'a str,
    count: i64,
    excepted: Option<&'a str>,
}

impl<'a> FindingRow<'a> {
    fn of(f: &'a Finding) -> Self {
        FindingRow {
            control: f.control.as_str(),
            rule: &f.rule,
            severity: severity_rank(f.severity),
            kind: &f.object.kind,
            namespace: &f.object.namespace,
            name: &f.object.name,
            field_path: &f.field_path,
            message: &f.message,
            count: saturating_i64(f.count),
            excepted: f.excepted.as_deref(),
        }
    }
}

const INSERT_FINDINGS: &str = "INSERT INTO posture_findings
         (cluster, control, rule, severity, kind, namespace, name, field_path, message, count,
          excepted)
     SELECT ?, json_extract(value, '$.control'), json_extract(value, '$.rule'),
            json_extract(value, '$.severity'), json_extract(value, '$.kind'),
            json_extract(value, '$.namespace'), json_extract(value, '$.name'),
            json_extract(value, '$.field_path'), json_extract(value, '$.message'),
            json_extract(value, '$.count'), json_extract(value, '$.excepted')
     FROM json_each(?)";

pub(super) fn control_of(text: &str) -> Result<Control> {
    Control::parse(text).ok_or_else(|| corrupt("posture control", format!("{text:?}")))
}

pub(super) fn count(what: &'static str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|e| corrupt(what, e))
}

fn finding_from_row(row: &SqliteRow) -> Result<ClusterFinding> {
    let rank: i64 = row.try_get("severity")?;
    Ok(ClusterFinding {
        cluster: row.try_get("cluster")?,
        finding: Finding {
            control: control_of(&row.try_get::<String, _>("control")?)?,
            rule: row.try_get("rule")?,
            severity: severity_of_rank(rank)
                .ok_or_else(|| corrupt("posture finding severity", rank))?,
            object: object(
                row.try_get("kind")?,
                row.try_get("namespace")?,
                row.try_get("name")?,
            ),
            field_path: row.try_get("field_path")?,
            message: row.try_get("message")?,
            count: count("posture finding count", row.try_get("count")?)?,
            excepted: row.try_get("excepted")?,
        },
    })
}

impl SqliteStore {
    pub(super) async fn put_posture(
        &self,
        report: &PostureReport,
        now: Timestamp,
    ) -> Result<PostureWriteOutcome> {
        let cluster = report.cluster.as_str();
        let evaluated = micros(report.evaluated_at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let stored: Option<i64> =
            sqlx::query_scalar("SELECT evaluated_at FROM posture_reports WHERE cluster = ?")
                .bind(cluster)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(stored) = stored.filter(|&s| s > evaluated) {
            // An agent retrying an old upload after a newer one got through.
            return Ok(PostureWriteOutcome::Older {
                stored: timestamp(stored)?,
            });
        }
        sqlx::query(
            "INSERT OR REPLACE INTO posture_reports (cluster, evaluated_at, received_at,
                 duration_ms, kubernetes_minor, controls, rules, exceptions, sources)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(cluster)
        .bind(evaluated)
        .bind(micros(now))
        .bind(saturating_i64(report.duration_ms))
        .bind(i64::from(report.kubernetes_minor))
        .bind(to_json("posture controls", &report.controls)?)
        .bind(to_json("posture rules", &report.rules)?)
        .bind(to_json("posture exceptions", &report.exceptions)?)
        .bind(to_json("posture sources", &report.sources)?)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM posture_findings WHERE cluster = ?")
            .bind(cluster)
            .execute(&mut *tx)
            .await?;
        if !report.findings.is_empty() {
            let rows: Vec<FindingRow<'_>> = report.findings.iter().map(FindingRow::of).collect();
            sqlx::query(INSERT_FINDINGS)
                .bind(cluster)
                .bind(to_json("posture findings", &rows)?)
                .execute(&mut *tx)
                .await?;
        }
        let hour = evaluated.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR;
        // The hour's points of an earlier evaluation that this one does not replace (a
        // control it lacks) stay, no longer the hour's latest.
        sqlx::query(MARK_EARLIER_POINTS)
            .bind(cluster)
            .bind(hour)
            .bind(evaluated)
            .execute(&mut *tx)
            .await?;
        insert_history_points(
            &mut tx,
            INSERT_HOURLY_POINT,
            cluster,
            hour,
            evaluated,
            report,
        )
        .await?;
        // The day's rows are the day's latest evaluation: this one replaces them all, so a
        // control an earlier evaluation of the day had and this one lacks is gone.
        let day = evaluated.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
        sqlx::query(DELETE_CLUSTER_DAY)
            .bind(day)
            .bind(cluster)
            .execute(&mut *tx)
            .await?;
        insert_history_points(&mut tx, INSERT_DAILY_POINT, cluster, day, evaluated, report).await?;
        for (table, column, days) in [
            ("posture_history", "hour", POSTURE_HISTORY_DAYS),
            ("posture_history_daily", "day", POSTURE_DAILY_HISTORY_DAYS),
        ] {
            let cutoff = now
                .checked_sub(SignedDuration::from_hours(24 * days))
                .unwrap_or(Timestamp::MIN);
            // Both tables are keyed by their time first: this is a seek, not a scan.
            sqlx::query(&format!("DELETE FROM {table} WHERE {column} < ?"))
                .bind(micros(cutoff))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(PostureWriteOutcome::Stored)
    }

    /// Streams the reports by cluster name; only the columns asked for are read.
    pub(super) async fn posture_summaries(
        &self,
        read: PostureRead<'_>,
    ) -> Result<Vec<PostureSummary>> {
        let sql = format!(
            "SELECT p.cluster, c.labels, p.evaluated_at, p.received_at, p.duration_ms,
                    p.kubernetes_minor, p.controls, {}
             FROM posture_reports p LEFT JOIN clusters c ON c.name = p.cluster
             WHERE 1 = 1{} ORDER BY p.cluster",
            if read.with_rules {
                "p.rules"
            } else {
                "NULL AS rules"
            },
            if read.clusters.is_some() {
                " AND p.cluster IN (SELECT value FROM json_each(?))"
            } else {
                ""
            }
        );
        let names = read
            .clusters
            .map(|n| to_json("cluster names", &n))
            .transpose()?;
        let mut query = sqlx::query(&sql);
        if let Some(names) = &names {
            query = query.bind(names.as_str());
        }
        let mut rows = query.fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            let minor: i64 = row.try_get("kubernetes_minor")?;
            out.push(PostureSummary {
                cluster: row.try_get("cluster")?,
                labels: match row.try_get::<Option<String>, _>("labels")? {
                    Some(text) => from_json("cluster labels", text)?,
                    None => Default::default(),
                },
                evaluated_at: timestamp(row.try_get("evaluated_at")?)?,
                received_at: timestamp(row.try_get("received_at")?)?,
                duration_ms: count("posture duration", row.try_get("duration_ms")?)?,
                kubernetes_minor: u32::try_from(minor)
                    .map_err(|e| corrupt("posture kubernetes minor", e))?,
                controls: from_json("posture controls", row.try_get("controls")?)?,
                rules: match row.try_get::<Option<String>, _>("rules")? {
                    Some(text) => from_json("posture rules", text)?,
                    None => Vec::new(),
                },
            });
        }
        Ok(out)
    }

    pub(super) async fn posture_exceptions(
        &self,
        clusters: Option<&[String]>,
    ) -> Result<Vec<ClusterExceptions>> {
        let sql = format!(
            "SELECT cluster, evaluated_at, exceptions FROM posture_reports
             WHERE 1 = 1{} ORDER BY cluster",
            if clusters.is_some() {
                " AND cluster IN (SELECT value FROM json_each(?))"
            } else {
                ""
            }
        );
        let names = clusters.map(|n| to_json("cluster names", &n)).transpose()?;
        let mut query = sqlx::query(&sql);
        if let Some(names) = &names {
            query = query.bind(names.as_str());
        }
        let mut rows = query.fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            out.push(ClusterExceptions {
                cluster: row.try_get("cluster")?,
                evaluated_at: timestamp(row.try_get("evaluated_at")?)?,
                exceptions: from_json("posture exceptions", row.try_get("exceptions")?)?,
            });
        }
        Ok(out)
    }

    pub(super) async fn posture_findings(
        &self,
        query: &FindingsQuery,
    ) -> Result<Vec<ClusterFinding>> {
        let mut sql = String::from(
            "SELECT cluster, control, rule, severity, kind, namespace, name, field_path,
                    message, count, excepted
             FROM posture_findings WHERE 1 = 1",
        );
        if query.clusters.is_some() {
            sql.push_str(" AND cluster IN (SELECT value FROM json_each(?))");
        }
        if query.control.is_some() {
            sql.push_str(" AND control = ?");
        }
        if query.rule.is_some() {
            sql.push_str(" AND rule = ?");
        }
        if !query.severities.is_empty() {
            sql.push_str(" AND severity IN (SELECT value FROM json_each(?))");
        }
        sql.push_str(match query.excepted {
            ExceptedFilter::Include => "",
            ExceptedFilter::Exclude => " AND excepted IS NULL",
            ExceptedFilter::Only => " AND excepted IS NOT NULL",
        });
        // capstan_core::posture::report::finding_order (most severe, most objects, then
        // object, rule and field; SQLite compares text bytewise as Rust does), then cluster.
        sql.push_str(
            " ORDER BY severity DESC, count DESC, kind, namespace, name, rule, field_path,
                       cluster, control
              LIMIT ?",
        );
        let names = query
            .clusters
            .as_ref()
            .map(|n| to_json("cluster names", n))
            .transpose()?;
        let ranks: Vec<i64> = query.severities.iter().map(|&s| severity_rank(s)).collect();
        let ranks = to_json("severities", &ranks)?;
        let mut q = sqlx::query(&sql);
        if let Some(names) = &names {
            q = q.bind(names.as_str());
        }
        if let Some(control) = query.control {
            q = q.bind(control.as_str());
        }
        if let Some(rule) = &query.rule {
            q = q.bind(rule.as_str());
        }
        if !query.severities.is_empty() {
            q = q.bind(ranks.as_str());
        }
        let rows = q
            .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(finding_from_row).collect()
    }

    /// A cluster's per-control history since `since`, oldest first (trends; tests).
    pub async fn posture_history(
        &self,
        cluster: &str,
        since: Timestamp,
    ) -> Result<Vec<PostureHistoryPoint>> {
        let rows = sqlx::query(
            "SELECT control, evaluated_at, eligible, covered, excepted, findings
             FROM posture_history WHERE cluster = ? AND evaluated_at >= ?
             ORDER BY evaluated_at, control",
        )
        .bind(cluster)
        .bind(micros(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PostureHistoryPoint {
                    control: control_of(&row.try_get::<String, _>("control")?)?,
                    evaluated_at: timestamp(row.try_get("evaluated_at")?)?,
                    eligible: count("posture eligible", row.try_get("eligible")?)?,
                    covered: count("posture covered", row.try_get("covered")?)?,
                    excepted: count("posture excepted", row.try_get("excepted")?)?,
                    findings: count("posture findings", row.try_get("findings")?)?,
                })
            })
            .collect()
    }
}
