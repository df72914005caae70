//! The agents' hot path in SQLite: every agent authenticates and reports every few seconds, so
//! with thousands of clusters these two calls are most of the hub's work.
//!
//! - [`ReportWriter`]: reports go through one writer task that upserts everything queued
//!   since its last write in **one multi-row statement**. sqlx runs each SQLite connection on
//!   its own thread and every statement is a round trip to it, so one statement (and one
//!   commit) per batch instead of one per report is what cuts the cost; under light load a
//!   batch is a single report and nothing waits. A caller is answered after its batch is
//!   committed, as before. The price is the tail: the write that crosses the WAL's
//!   auto-checkpoint threshold copies the WAL into the database inside its commit, and the
//!   reports queued behind it wait for that copy. (Checkpointing from another task instead,
//!   PASSIVE, never caught up with a writer that never pauses: the WAL grew without bound.)
//! - [`TokenCache`]: agent token hashes by cluster, so that authenticating a request does not
//!   query the database. It assumes that this store is the only writer of the `agents` table
//!   (one hub per SQLite file); every write through the store updates it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, PoisonError};

use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::{Error, Result};

/// Most reports in one statement: 15 parameters each stays far below SQLite's bound-parameter
/// limit (32,766 since 3.32).
const MAX_BATCH: usize = 64;
/// Reports queued for the writer before callers wait for room.
const QUEUE: usize = 4096;

const COLUMNS: &str = "name, labels, versions, node_count, pod_count, health, summary, last_seen,
     registered_at, health_report, health_source, health_evaluated_at, alerts_critical,
     alerts_warning, alerts_pending";
const PLACEHOLDERS: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/// A report without a health report keeps the latest one and its counts (see
/// `Store::upsert_cluster`).
const ON_CONFLICT: &str = " ON CONFLICT (name) DO UPDATE SET
     labels = excluded.labels, versions = excluded.versions,
     node_count = excluded.node_count, pod_count = excluded.pod_count,
     health = excluded.health, summary = excluded.summary,
     last_seen = excluded.last_seen,
     health_report = COALESCE(excluded.health_report, clusters.health_report),
     health_source = COALESCE(excluded.health_source, clusters.health_source),
     health_evaluated_at = COALESCE(excluded.health_evaluated_at, clusters.health_evaluated_at),
     alerts_critical = CASE WHEN excluded.health_report IS NULL
         THEN clusters.alerts_critical ELSE excluded.alerts_critical END,
     alerts_warning = CASE WHEN excluded.health_report IS NULL
         THEN clusters.alerts_warning ELSE excluded.alerts_warning END,
     alerts_pending = CASE WHEN excluded.health_report IS NULL
         THEN clusters.alerts_pending ELSE excluded.alerts_pending END";

/// One cluster row, encoded by the caller (so that an encoding error is the caller's).
#[derive(Debug, Clone)]
pub(super) struct ClusterRow {
    pub name: String,
    pub labels: String,
    pub versions: String,
    pub node_count: i64,
    pub pod_count: i64,
    pub health: &'static str,
    pub summary: String,
    /// `last_seen`, and `registered_at` when the row is new (Unix microseconds).
    pub now: i64,
    /// The health report, JSON, with its counts; `None` when the report carried none.
    pub health_report: Option<HealthRow>,
}

/// A health report's columns, encoded by the caller.
#[derive(Debug, Clone)]
pub(super) struct HealthRow {
    pub json: String,
    pub source: String,
    pub evaluated_at: i64,
    pub critical: i64,
    pub warning: i64,
    pub pending: i64,
}

struct Pending {
    row: ClusterRow,
    done: oneshot::Sender<Result<()>>,
}

/// The handle to the writer task; the task ends when every handle is dropped.
#[derive(Clone)]
pub(super) struct ReportWriter {
    queue: mpsc::Sender<Pending>,
}

impl fmt::Debug for ReportWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportWriter").finish_non_exhaustive()
    }
}

fn closed() -> Error {
    Error::Database(sqlx::Error::PoolClosed)
}

impl ReportWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(pool: SqlitePool) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(pool, rx));
        Self { queue }
    }

    /// Upserts `row`; returns once it is committed.
    pub async fn write(&self, row: ClusterRow) -> Result<()> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Pending { row, done })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn write_batches(pool: SqlitePool, mut queue: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Several reports of one cluster in a batch: the last queued is the one to keep
        // (as if they had been written in order); all are answered.
        let mut seen = HashSet::new();
        let mut rows: Vec<&ClusterRow> = batch
            .iter()
            .rev()
            .filter(|p| seen.insert(p.row.name.as_str()))
            .map(|p| &p.row)
            .collect();
        rows.reverse();
        match upsert(&pool, &rows).await {
            Ok(()) => {
                for p in batch.drain(..) {
                    // A caller that went away (its request was dropped) needs no answer.
                    let _ = p.done.send(Ok(()));
                }
            }
            // One bad row must not fail the others: write them one by one, each caller
            // getting its own outcome.
            Err(error) if rows.len() == 1 => {
                let mut error = Some(error);
                for p in batch.drain(..) {
                    let outcome = match error.take() {
                        Some(e) => Err(e),
                        None => upsert(&pool, &[&p.row]).await,
                    };
                    let _ = p.done.send(outcome);
                }
            }
            Err(_) => {
                for p in batch.drain(..) {
                    let outcome = upsert(&pool, &[&p.row]).await;
                    let _ = p.done.send(outcome);
                }
            }
        }
    }
}

/// One `INSERT .. VALUES (..), (..) .. ON CONFLICT DO UPDATE` for all `rows` (distinct names).
async fn upsert(pool: &SqlitePool, rows: &[&ClusterRow]) -> Result<()> {
    let values = vec![PLACEHOLDERS; rows.len()].join(", ");
    let sql = format!("INSERT INTO clusters ({COLUMNS}) VALUES {values}{ON_CONFLICT}");
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = query
            .bind(&row.name)
            .bind(&row.labels)
            .bind(&row.versions)
            .bind(row.node_count)
            .bind(row.pod_count)
            .bind(row.health)
            .bind(&row.summary)
            .bind(row.now)
            .bind(row.now);
        let health = row.health_report.as_ref();
        query = query
            .bind(health.map(|h| h.json.as_str()))
            .bind(health.map(|h| h.source.as_str()))
            .bind(health.map(|h| h.evaluated_at))
            .bind(health.map_or(0, |h| h.critical))
            .bind(health.map_or(0, |h| h.warning))
            .bind(health.map_or(0, |h| h.pending));
    }
    query.execute(pool).await?;
    Ok(())
}

/// Agent token hashes by cluster; see the module documentation.
#[derive(Default)]
pub(super) struct TokenCache {
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    /// Bumped by every change of the `agents` table, so that a hash read from the database
    /// before a change is not cached after it.
    epoch: u64,
    hashes: HashMap<String, String>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the hashes.
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

impl TokenCache {
    fn locked(&self) -> std::sync::MutexGuard<'_, TokenState> {
        // The map is valid whatever a panicking holder was doing: every change is one call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached hash of `cluster`'s token, and the epoch to pass to [`Self::fill`].
    pub fn get(&self, cluster: &str) -> (Option<String>, u64) {
        let state = self.locked();
        (state.hashes.get(cluster).cloned(), state.epoch)
    }

    /// Caches a hash read from the database, unless the table changed since `epoch`.
    pub fn fill(&self, cluster: &str, hash: String, epoch: u64) {
        let mut state = self.locked();
        if state.epoch == epoch {
            state.hashes.insert(cluster.to_string(), hash);
        }
    }

    /// After `cluster`'s token was (re)registered.
    pub fn set(&self, cluster: &str, hash: String) {
        let mut state = self.locked();
        state.epoch += 1;
        state.hashes.insert(cluster.to_string(), hash);
    }

    /// After `cluster`'s token was removed.
    pub fn remove(&self, cluster: &str) {
        let mut state = self.locked();
        state.epoch += 1;
        state.hashes.remove(cluster);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use jiff::Timestamp;

    use crate::store::{ClusterHealth, ClusterReport, SqliteStore};

    fn report(name: &str, nodes: u64) -> ClusterReport {
        ClusterReport {
            name: name.to_string(),
            labels: Default::default(),
            versions: Default::default(),
            node_count: nodes,
            pod_count: 0,
            health: ClusterHealth::Healthy,
            summary: serde_json::json!({"nodes": nodes}),
            health_report: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reports_are_all_stored_and_answered() {
        let store = Arc::new(SqliteStore::memory().await.unwrap());
        let now = Timestamp::UNIX_EPOCH;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..300u64 {
            let store = store.clone();
            tasks.spawn(async move {
                store
                    .upsert_cluster(&report(&format!("c{i}"), i), now)
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        for i in [0u64, 150, 299] {
            let c = store.get_cluster(&format!("c{i}")).await.unwrap().unwrap();
            assert_eq!(c.node_count, i);
            assert_eq!(c.summary["nodes"], i);
        }
    }

    #[tokio::test]
    async fn a_later_report_of_the_same_cluster_wins() {
        let store = SqliteStore::memory().await.unwrap();
        let now = Timestamp::UNIX_EPOCH;
        let (a, b) = (report("c", 1), report("c", 2));
        let (first, second) =
            tokio::join!(store.upsert_cluster(&a, now), store.upsert_cluster(&b, now));
        first.unwrap();
        second.unwrap();
        assert_eq!(store.get_cluster("c").await.unwrap().unwrap().node_count, 2);
    }

    #[tokio::test]
    async fn a_rotated_or_removed_token_is_refused_although_the_old_one_was_cached() {
        let store = SqliteStore::memory().await.unwrap();
        let now = Timestamp::UNIX_EPOCH;
        store.register_agent("c", "old", now).await.unwrap();
        assert!(store.verify_agent("c", "old").await.unwrap());
        store.register_agent("c", "new", now).await.unwrap();
        assert!(!store.verify_agent("c", "old").await.unwrap());
        assert!(store.verify_agent("c", "new").await.unwrap());
        store.deregister_cluster("c").await.unwrap();
        assert!(!store.verify_agent("c", "new").await.unwrap());
    }
}
