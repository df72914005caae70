//! The cluster inventory in SQLite: reports (through the batching [`ReportWriter`]), reads,
//! and the latest health reports.

use std::collections::BTreeMap;

use capstan_core::health::HealthReport;
use capstan_core::selector::LabelSelector;
use jiff::Timestamp;
use sqlx::Row;

use super::reports::{ClusterRow, HealthRow};
use super::rows::{cluster_from_row, from_json, micros, saturating_i64, to_json};
use super::{CLUSTER_COLUMNS, SqliteStore};
use crate::store::{AlertSummary, ClusterRecord, ClusterReport};
use crate::{Error, Result};

impl SqliteStore {
    pub(super) async fn upsert_cluster(
        &self,
        report: &ClusterReport,
        now: Timestamp,
    ) -> Result<()> {
        let row = ClusterRow {
            name: report.name.clone(),
            labels: to_json("cluster labels", &report.labels)?,
            versions: to_json("cluster versions", &report.versions)?,
            node_count: saturating_i64(report.node_count),
            pod_count: saturating_i64(report.pod_count),
            health: report.health.as_str(),
            summary: to_json("cluster summary", &report.summary)?,
            now: micros(now),
            health_report: report
                .health_report
                .as_ref()
                .map(|health| {
                    let counts = AlertSummary::of(health);
                    Ok::<_, Error>(HealthRow {
                        json: to_json("cluster health report", health)?,
                        source: counts.source,
                        evaluated_at: micros(counts.evaluated_at),
                        critical: saturating_i64(counts.firing_critical),
                        warning: saturating_i64(counts.firing_warning),
                        pending: saturating_i64(counts.pending),
                    })
                })
                .transpose()?,
        };
        self.reports.write(row).await
    }

    /// The names travel as one JSON array parameter (`json_each`), so that any number of
    /// them is one statement within SQLite's bound-parameter limit.
    pub(super) async fn health_reports(
        &self,
        clusters: &[String],
    ) -> Result<BTreeMap<String, HealthReport>> {
        if clusters.is_empty() {
            return Ok(BTreeMap::new());
        }
        let rows = sqlx::query(
            "SELECT name, health_report FROM clusters
             WHERE health_report IS NOT NULL AND name IN (SELECT value FROM json_each(?))",
        )
        .bind(to_json("cluster names", &clusters)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("name")?,
                    from_json("cluster health report", row.try_get("health_report")?)?,
                ))
            })
            .collect()
    }

    pub(super) async fn get_cluster(&self, name: &str) -> Result<Option<ClusterRecord>> {
        let sql = format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE name = ?");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cluster_from_row).transpose()
    }

    /// Label selectors are applied here rather than in SQL: their full grammar (set-based
    /// operators, `!key`) does not map to portable SQL over a JSON column, and the inventory of
    /// even 10,000 small rows filters in milliseconds.
    pub(super) async fn list_clusters(
        &self,
        selector: &LabelSelector,
    ) -> Result<Vec<ClusterRecord>> {
        let sql = format!("SELECT {CLUSTER_COLUMNS} FROM clusters ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut clusters = Vec::with_capacity(rows.len());
        for row in &rows {
            let cluster = cluster_from_row(row)?;
            if selector.matches(&cluster.labels) {
                clusters.push(cluster);
            }
        }
        Ok(clusters)
    }

    pub(super) async fn delete_cluster(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM clusters WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn deregister_cluster(&self, name: &str) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let clusters = sqlx::query("DELETE FROM clusters WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let agents = sqlx::query("DELETE FROM agents WHERE cluster = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.tokens.remove(name);
        Ok(clusters.rows_affected() + agents.rows_affected() > 0)
    }

    pub(super) async fn cluster_names(&self) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM clusters ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
