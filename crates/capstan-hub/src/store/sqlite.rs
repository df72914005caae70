//! [`Store`] on SQLite through sqlx: one file (WAL) for the hub, or memory for tests.
//!
//! Every write but one is a single statement (`INSERT .. ON CONFLICT`, `UPDATE .. WHERE
//! generation = ? RETURNING`), so compare-and-set and idempotence hold without explicit
//! transactions; [`SqliteStore::write_rollout`] groups several in one transaction. Either way a
//! kill -9 leaves a write done or not done, never half done. Queries are checked at run time (`query`, not
//! `query!`), so building needs no database.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use capstan_core::cost::{CostHour, CostPeriod, CostWindow, Resolution};
use capstan_core::health::HealthReport;
use capstan_core::posture::report::PostureReport;
use capstan_core::selector::LabelSelector;
use futures::FutureExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, error::ErrorKind};
use subtle::ConstantTimeEq;

use super::{
    ClusterCostTotals, ClusterFinding, ClusterRecord, ClusterReport, CostDetail,
    CostRecommendationsRecord, CostWriteOutcome, EventRecord, FindingsQuery, NewEvent, NewWorkItem,
    PostureRead, PostureSummary, PostureWriteOutcome, RolloutClusterRecord, RolloutWrite, Store,
    Subject, UpgradeRecord, WorkItem, WorkStatus, WorkStatusRow,
};
use crate::{Error, Result};

mod clusters;
mod cost;
mod posture;
mod reports;
mod rows;
use reports::{ReportWriter, TokenCache};
use rows::{
    corrupt, from_json, micros, timestamp, to_json, token_hash, upgrade_from_row, work_from_row,
};

static MIGRATOR: Migrator = sqlx::migrate!();

/// How long a writer waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections to a file-backed store: WAL lets readers run beside the one writer.
const FILE_CONNECTIONS: u32 = 4;

const CLUSTER_COLUMNS: &str = "name, labels, versions, node_count, pod_count, health, summary,
     last_seen, registered_at, health_source, health_evaluated_at, alerts_critical,
     alerts_warning, alerts_pending";
const UPGRADE_COLUMNS: &str = "name, spec, status, generation, created_at, updated_at";
const WORK_COLUMNS: &str =
    "id, cluster, generation, kind, payload, status, message, result, created_at, updated_at";

// Statements shared by the single writes and [`SqliteStore::write_rollout`]'s transaction.
const UPSERT_ROLLOUT_CLUSTER: &str =
    "INSERT INTO rollout_clusters (upgrade, cluster, state, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (upgrade, cluster) DO UPDATE SET
         state = excluded.state, updated_at = excluded.updated_at";
const APPEND_EVENT: &str = "INSERT INTO events (subject_kind, subject_name, reason, message, at)
     VALUES (?, ?, ?, ?, ?)";
const ENQUEUE_WORK: &str =
    "INSERT INTO work_items (id, cluster, generation, kind, payload, status, message,
                             created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'Pending', NULL, ?, ?)
     ON CONFLICT (id) DO NOTHING";

/// The exclusive upper bound of the ids that start with `prefix`, so that `id >= prefix AND
/// id < prefix_end(prefix)` is a range on the primary key: SQLite compares text bytewise, and
/// no UTF-8 character sorts after U+10FFFF.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The hub's store in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Reports, batched into one statement per write (see `reports`).
    reports: ReportWriter,
    /// Agent token hashes, so that authenticating an agent reads no row.
    tokens: Arc<TokenCache>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` and applies pending migrations.
    ///
    /// WAL journal with `synchronous = NORMAL`: a committed write survives the hub being
    /// killed (only a power loss can lose the last few), at a fraction of FULL's fsyncs.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_CONNECTIONS)
            .connect_with(options)
            .await?;
        Self::migrated(pool).await
    }

    /// A private in-memory database, for tests. One connection that is never recycled: each
    /// SQLite memory connection is its own database, gone when the connection closes.
    pub async fn memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<Self> {
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            reports: ReportWriter::start(pool.clone()),
            tokens: Arc::default(),
            pool,
        })
    }

    /// The connection pool, for tests and diagnostics that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for connections to close, so that the file can be reopened or copied.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn register_agent(&self, cluster: &str, token: &str, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO agents (cluster, token_hash, created_at) VALUES (?, ?, ?)
             ON CONFLICT (cluster) DO UPDATE SET
                 token_hash = excluded.token_hash, created_at = excluded.created_at",
        )
        .bind(cluster)
        .bind(token_hash(token))
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        self.tokens.set(cluster, token_hash(token));
        tracing::debug!(cluster, "agent token registered");
        Ok(())
    }

    async fn verify_agent(&self, cluster: &str, token: &str) -> Result<bool> {
        let stored = match self.tokens.get(cluster) {
            (Some(hash), _) => Some(hash),
            (None, epoch) => {
                let stored: Option<String> =
                    sqlx::query_scalar("SELECT token_hash FROM agents WHERE cluster = ?")
                        .bind(cluster)
                        .fetch_optional(&self.pool)
                        .await?;
                if let Some(hash) = &stored {
                    self.tokens.fill(cluster, hash.clone(), epoch);
                }
                stored
            }
        };
        let offered = token_hash(token);
        Ok(stored.is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(offered.as_bytes()))))
    }

    async fn create_upgrade(
        &self,
        name: &str,
        spec: &Value,
        status: &Value,
        now: Timestamp,
    ) -> Result<UpgradeRecord> {
        let sql = format!(
            "INSERT INTO upgrades (name, spec, status, generation, created_at, updated_at)
             VALUES (?, ?, ?, 1, ?, ?)
             ON CONFLICT (name) DO NOTHING
             RETURNING {UPGRADE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(to_json("upgrade spec", spec)?)
            .bind(to_json("upgrade status", status)?)
            .bind(micros(now))
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => upgrade_from_row(&row),
            None => Err(Error::AlreadyExists {
                kind: "upgrade",
                name: name.to_owned(),
            }),
        }
    }

    async fn get_upgrade(&self, name: &str) -> Result<Option<UpgradeRecord>> {
        let sql = format!("SELECT {UPGRADE_COLUMNS} FROM upgrades WHERE name = ?");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(upgrade_from_row).transpose()
    }

    async fn list_upgrades(&self) -> Result<Vec<UpgradeRecord>> {
        let sql = format!("SELECT {UPGRADE_COLUMNS} FROM upgrades ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(upgrade_from_row).collect()
    }

    async fn list_upgrade_generations(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT name, generation FROM upgrades ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("name")?, row.try_get("generation")?)))
            .collect()
    }

    /// Compare-and-set of one document column (`spec` or `status`, never user input).
    async fn update_upgrade_document(
        &self,
        column: &'static str,
        name: &str,
        expected_generation: i64,
        document: &Value,
        now: Timestamp,
    ) -> Result<UpgradeRecord> {
        let sql = format!(
            "UPDATE upgrades SET {column} = ?, generation = generation + 1, updated_at = ?
             WHERE name = ? AND generation = ?
             RETURNING {UPGRADE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(to_json("upgrade document", document)?)
            .bind(micros(now))
            .bind(name)
            .bind(expected_generation)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => upgrade_from_row(&row),
            None => Err(self.lost_upgrade_write(name, expected_generation).await),
        }
    }

    /// Why a compare-and-set on an upgrade matched no row: someone else wrote it, or it is gone.
    async fn lost_upgrade_write(&self, name: &str, expected_generation: i64) -> Error {
        let actual: Option<i64> =
            match sqlx::query_scalar("SELECT generation FROM upgrades WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
            {
                Ok(actual) => actual,
                Err(e) => return e.into(),
            };
        match actual {
            Some(actual) => Error::Conflict {
                kind: "upgrade",
                name: name.to_owned(),
                expected: expected_generation,
                actual,
            },
            None => Error::NotFound {
                kind: "upgrade",
                name: name.to_owned(),
            },
        }
    }

    /// One rollout decision in one transaction: the status compare-and-set first, so that a
    /// lost race writes nothing else; `BEGIN IMMEDIATE` takes the write lock up front, so the
    /// busy timeout applies instead of a deferred transaction failing at its first write.
    async fn write_rollout(&self, write: &RolloutWrite, now: Timestamp) -> Result<UpgradeRecord> {
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

    async fn delete_upgrade(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM upgrades WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn upsert_rollout_cluster(
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

    async fn list_rollout_clusters(&self, upgrade: &str) -> Result<Vec<RolloutClusterRecord>> {
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

    async fn append_event(&self, event: &NewEvent) -> Result<i64> {
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

    async fn list_events(&self, subject: &Subject, limit: u32) -> Result<Vec<EventRecord>> {
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

    async fn enqueue_work(&self, item: &NewWorkItem, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(ENQUEUE_WORK)
            .bind(&item.id)
            .bind(&item.cluster)
            .bind(item.generation)
            .bind(&item.kind)
            .bind(to_json("work payload", &item.payload)?)
            .bind(micros(now))
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_work(&self, id: &str) -> Result<Option<WorkItem>> {
        let sql = format!("SELECT {WORK_COLUMNS} FROM work_items WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(work_from_row).transpose()
    }

    async fn list_open_work(&self, cluster: &str) -> Result<Vec<WorkItem>> {
        let sql = format!(
            "SELECT {WORK_COLUMNS} FROM work_items
             WHERE cluster = ? AND status IN ('Pending', 'Running')
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(cluster)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(work_from_row).collect()
    }

    async fn set_work_status(
        &self,
        id: &str,
        generation: i64,
        status: WorkStatus,
        message: Option<&str>,
        now: Timestamp,
    ) -> Result<WorkItem> {
        let sql = format!(
            "UPDATE work_items SET status = ?, message = ?, updated_at = ?
             WHERE id = ? AND generation = ? AND status NOT IN ('Succeeded', 'Failed')
             RETURNING {WORK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(message)
            .bind(micros(now))
            .bind(id)
            .bind(generation)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = row {
            return work_from_row(&row);
        }
        // Not updated: unknown id, another generation, or already final.
        match self.get_work(id).await? {
            None => Err(Error::NotFound {
                kind: "work item",
                name: id.to_owned(),
            }),
            Some(item) if item.generation != generation => Err(Error::Conflict {
                kind: "work item",
                name: id.to_owned(),
                expected: generation,
                actual: item.generation,
            }),
            Some(item) => Ok(item),
        }
    }
    async fn set_work_result(&self, id: &str, generation: i64, result: &Value) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE work_items SET result = ?
             WHERE id = ? AND generation = ? AND status NOT IN ('Succeeded', 'Failed')",
        )
        .bind(to_json("work result", result)?)
        .bind(id)
        .bind(generation)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_work_statuses(&self, id_prefix: &str) -> Result<Vec<WorkStatusRow>> {
        let rows = sqlx::query(
            "SELECT id, status, message FROM work_items WHERE id >= ? AND id < ? ORDER BY id",
        )
        .bind(id_prefix)
        .bind(prefix_end(id_prefix))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok((
                    row.try_get("id")?,
                    status.parse::<WorkStatus>().map_err(|e| Error::Corrupt {
                        what: "work status",
                        reason: e.to_string(),
                    })?,
                    row.try_get("message")?,
                ))
            })
            .collect()
    }

    async fn list_work_results(&self, id_prefix: &str) -> Result<Vec<(String, Value)>> {
        let rows = sqlx::query(
            "SELECT id, result FROM work_items
             WHERE id >= ? AND id < ? AND result IS NOT NULL ORDER BY id",
        )
        .bind(id_prefix)
        .bind(prefix_end(id_prefix))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let text: String = row.try_get("result")?;
                Ok((id, from_json("work result", text)?))
            })
            .collect()
    }
}

impl Store for SqliteStore {
    fn upsert_cluster<'a>(
        &'a self,
        report: &'a ClusterReport,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>> {
        self.upsert_cluster(report, now).boxed()
    }

    fn get_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ClusterRecord>>> {
        self.get_cluster(name).boxed()
    }

    fn list_clusters<'a>(
        &'a self,
        selector: &'a LabelSelector,
    ) -> BoxFuture<'a, Result<Vec<ClusterRecord>>> {
        self.list_clusters(selector).boxed()
    }

    fn delete_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.delete_cluster(name).boxed()
    }

    fn deregister_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.deregister_cluster(name).boxed()
    }

    fn cluster_names(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        self.cluster_names().boxed()
    }

    fn health_reports<'a>(
        &'a self,
        clusters: &'a [String],
    ) -> BoxFuture<'a, Result<BTreeMap<String, HealthReport>>> {
        self.health_reports(clusters).boxed()
    }

    fn register_agent<'a>(
        &'a self,
        cluster: &'a str,
        token: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>> {
        self.register_agent(cluster, token, now).boxed()
    }

    fn verify_agent<'a>(&'a self, cluster: &'a str, token: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.verify_agent(cluster, token).boxed()
    }

    fn create_upgrade<'a>(
        &'a self,
        name: &'a str,
        spec: &'a Value,
        status: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.create_upgrade(name, spec, status, now).boxed()
    }

    fn get_upgrade<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<UpgradeRecord>>> {
        self.get_upgrade(name).boxed()
    }

    fn list_upgrades(&self) -> BoxFuture<'_, Result<Vec<UpgradeRecord>>> {
        self.list_upgrades().boxed()
    }

    fn list_upgrade_generations(&self) -> BoxFuture<'_, Result<Vec<(String, i64)>>> {
        self.list_upgrade_generations().boxed()
    }

    fn update_upgrade_status<'a>(
        &'a self,
        name: &'a str,
        expected_generation: i64,
        status: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.update_upgrade_document("status", name, expected_generation, status, now)
            .boxed()
    }

    fn update_upgrade_spec<'a>(
        &'a self,
        name: &'a str,
        expected_generation: i64,
        spec: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.update_upgrade_document("spec", name, expected_generation, spec, now)
            .boxed()
    }

    fn delete_upgrade<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.delete_upgrade(name).boxed()
    }

    fn upsert_rollout_cluster<'a>(
        &'a self,
        upgrade: &'a str,
        cluster: &'a str,
        state: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>> {
        self.upsert_rollout_cluster(upgrade, cluster, state, now)
            .boxed()
    }

    fn list_rollout_clusters<'a>(
        &'a self,
        upgrade: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RolloutClusterRecord>>> {
        self.list_rollout_clusters(upgrade).boxed()
    }

    fn write_rollout<'a>(
        &'a self,
        write: &'a RolloutWrite,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.write_rollout(write, now).boxed()
    }

    fn append_event<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<i64>> {
        self.append_event(event).boxed()
    }

    fn list_events<'a>(
        &'a self,
        subject: &'a Subject,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<EventRecord>>> {
        self.list_events(subject, limit).boxed()
    }

    fn enqueue_work<'a>(
        &'a self,
        item: &'a NewWorkItem,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<bool>> {
        self.enqueue_work(item, now).boxed()
    }

    fn get_work<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<WorkItem>>> {
        self.get_work(id).boxed()
    }

    fn list_open_work<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<WorkItem>>> {
        self.list_open_work(cluster).boxed()
    }

    fn set_work_status<'a>(
        &'a self,
        id: &'a str,
        generation: i64,
        status: WorkStatus,
        message: Option<&'a str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<WorkItem>> {
        self.set_work_status(id, generation, status, message, now)
            .boxed()
    }

    fn set_work_result<'a>(
        &'a self,
        id: &'a str,
        generation: i64,
        result: &'a Value,
    ) -> BoxFuture<'a, Result<bool>> {
        self.set_work_result(id, generation, result).boxed()
    }

    fn list_work_statuses<'a>(
        &'a self,
        id_prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<WorkStatusRow>>> {
        self.list_work_statuses(id_prefix).boxed()
    }

    fn list_work_results<'a>(
        &'a self,
        id_prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, Value)>>> {
        self.list_work_results(id_prefix).boxed()
    }

    fn put_cost<'a>(
        &'a self,
        cluster: &'a str,
        hours: &'a [CostHour],
        recommendations: Option<&'a Value>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<CostWriteOutcome>> {
        self.put_cost(cluster, hours, recommendations, now).boxed()
    }

    fn cost_totals<'a>(
        &'a self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<ClusterCostTotals>>> {
        self.cost_totals(resolution, window, clusters).boxed()
    }

    fn cost_periods<'a>(
        &'a self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&'a [String]>,
        detail: CostDetail,
    ) -> BoxFuture<'a, Result<Vec<(String, CostPeriod)>>> {
        self.cost_periods(resolution, window, clusters, detail)
            .boxed()
    }

    fn cost_recommendations<'a>(
        &'a self,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<CostRecommendationsRecord>>> {
        self.cost_recommendations(clusters).boxed()
    }

    fn put_posture<'a>(
        &'a self,
        report: &'a PostureReport,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<PostureWriteOutcome>> {
        self.put_posture(report, now).boxed()
    }

    fn posture_summaries<'a>(
        &'a self,
        read: PostureRead<'a>,
    ) -> BoxFuture<'a, Result<Vec<PostureSummary>>> {
        self.posture_summaries(read).boxed()
    }

    fn posture_findings<'a>(
        &'a self,
        query: &'a FindingsQuery,
    ) -> BoxFuture<'a, Result<Vec<ClusterFinding>>> {
        self.posture_findings(query).boxed()
    }
}
