//! Agents' registrations in SQLite: their token hashes, checked through [`TokenCache`] so that
//! authenticating a request reads no row.
//!
//! [`TokenCache`]: super::reports::TokenCache

use jiff::Timestamp;
use subtle::ConstantTimeEq;

use super::SqliteStore;
use super::rows::{micros, token_hash};
use crate::Result;

impl SqliteStore {
    pub(super) async fn register_agent(
        &self,
        cluster: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<()> {
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

    pub(super) async fn verify_agent(&self, cluster: &str, token: &str) -> Result<bool> {
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
}
