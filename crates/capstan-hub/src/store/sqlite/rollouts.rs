//! Rollouts in SQLite: per-cluster rollout states, events, and [`SqliteStore::write_rollout`],
//! which stores one rollout decision (status, cluster states, work items, events) in one
//! transaction.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::{Row, error::ErrorKind};

use super::SqliteStore;
use super::rows::{corrupt, from_json, micros, timestamp, to_json, upgrade_from_row};
use super::upgrades::UPGRADE_COLUMNS;
use super::work::ENQUEUE_WORK;
use crate::store::{
    EventRecord, NewEvent, RolloutClusterRecord, RolloutWrite, Subject, UpgradeRecord,
};
use crate::{Error, Result};

// Statements shared by the single writes and [`SqliteStore::write_rollout`]'s transaction.
const UPSERT_ROLLOUT_CLUSTER: &str =
    "INSERT INTO rollout_clusters (upgrade, cluster, state, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (upgrade, cluster) DO UPDATE SET
         state = excluded.state, updated_at = excluded.updated_at";
const APPEND_EVENT: &str = "INSERT INTO events (subject_kind, subject_name, reason, message, at)
     VALUES (?, ?, ?, ?, ?)";

impl SqliteStore {
    /// One rollout decision in one transaction: the status compare-and-set first, so that a
    /// lost race writes nothing else; `BEGIN IMMEDIATE` takes the write lock up front, so the
    /// busy timeout applies instead of a deferred transaction failing at its first write.
    pub(super) async fn write_rollout(
        &self,
        write: &RolloutWrite,
        now: Timestamp,
    ) -> Result<UpgradeRecord> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = format!(
            "UPDATE upgrades SET status = ?, generation = generation + 1, updated_at = ?
             WHERE name = ? AND generation = ?
             RETURNING {UPGRADE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(to_json("upgrade status", &write.status)?)
            .bind(micros(now))
            .bind(&write.upgrade)
            .bind(write.expected_generation)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(self
                .lost_upgrade_write(&write.upgrade, write.expected_generation)
                .await);
        };
        let upgrade = upgrade_from_row(&row)?;
        for (cluster, state) in &write.clusters {
            sqlx::query(UPSERT_ROLLOUT_CLUSTER)
                .bind(&write.upgrade)
                .bind(cluster)
                .bind(to_json("rollout cluster state", state)?)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
        }
        for item in &write.work {
            sqlx::query(ENQUEUE_WORK)
                .bind(&item.id)
                .bind(&item.cluster)
                .bind(item.generation)
                .bind(&item.kind)
                .bind(to_json("work payload", &item.payload)?)
                .bind(micros(now))
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
        }
        for event in &write.events {
            sqlx::query(APPEND_EVENT)
                .bind(event.subject.kind())
                .bind(event.subject.name())
                .bind(&event.reason)
                .bind(&event.message)
                .bind(micros(event.at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(upgrade)
    }

    pub(super) async fn upsert_rollout_cluster(
        &self,
        upgrade: &str,
        cluster: &str,
        state: &Value,
        now: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(UPSERT_ROLLOUT_CLUSTER)
            .bind(upgrade)
            .bind(cluster)
            .bind(to_json("rollout cluster state", state)?)
            .bind(micros(now))
            .execute(&self.pool)
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.kind() == ErrorKind::ForeignKeyViolation => {
                Err(Error::NotFound {
                    kind: "upgrade",
                    name: upgrade.to_owned(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn list_rollout_clusters(
        &self,
        upgrade: &str,
    ) -> Result<Vec<RolloutClusterRecord>> {
        let rows = sqlx::query(
            "SELECT upgrade, cluster, state, updated_at FROM rollout_clusters
             WHERE upgrade = ? ORDER BY cluster",
        )
        .bind(upgrade)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RolloutClusterRecord {
                    upgrade: row.try_get("upgrade")?,
                    cluster: row.try_get("cluster")?,
                    state: from_json("rollout cluster state", row.try_get("state")?)?,
                    updated_at: timestamp(row.try_get("updated_at")?)?,
                })
            })
            .collect()
    }

    pub(super) async fn append_event(&self, event: &NewEvent) -> Result<i64> {
        let done = sqlx::query(APPEND_EVENT)
            .bind(event.subject.kind())
            .bind(event.subject.name())
            .bind(&event.reason)
            .bind(&event.message)
            .bind(micros(event.at))
            .execute(&self.pool)
            .await?;
        Ok(done.last_insert_rowid())
    }

    pub(super) async fn list_events(
        &self,
        subject: &Subject,
        limit: u32,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT id, subject_kind, subject_name, reason, message, at FROM events
             WHERE subject_kind = ? AND subject_name = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(subject.kind())
        .bind(subject.name())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows
            .iter()
            .map(|row| {
                let kind: String = row.try_get("subject_kind")?;
                let subject = Subject::from_parts(&kind, row.try_get("subject_name")?)
                    .ok_or_else(|| corrupt("event subject", format!("unknown kind {kind:?}")))?;
                Ok(EventRecord {
                    id: row.try_get("id")?,
                    subject,
                    reason: row.try_get("reason")?,
                    message: row.try_get("message")?,
                    at: timestamp(row.try_get("at")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }
}
