//! [`Store`](super::Store) on SQLite through sqlx: one file (WAL) for the hub, or memory for tests.
//!
//! Every write but one is a single statement (`INSERT .. ON CONFLICT`, `UPDATE .. WHERE
//! generation = ? RETURNING`), so compare-and-set and idempotence hold without explicit
//! transactions; [`SqliteStore::write_rollout`] groups several in one transaction. Either way a
//! kill -9 leaves a write done or not done, never half done. Queries are checked at run time (`query`, not
//! `query!`), so building needs no database.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::Result;

mod agents;
mod clusters;
mod cost;
mod posture;
mod posture_history;
mod reports;
mod rollouts;
mod rows;
mod store_impl;
mod upgrades;
mod work;
use reports::{ReportWriter, TokenCache};

static MIGRATOR: Migrator = sqlx::migrate!();

/// How long a writer waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections to a file-backed store: WAL lets readers run beside the one writer.
const FILE_CONNECTIONS: u32 = 4;

const CLUSTER_COLUMNS: &str = "name, labels, versions, node_count, pod_count, health, summary,
     last_seen, registered_at, health_source, health_evaluated_at, alerts_critical,
     alerts_warning, alerts_pending";

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
}
