//! `ClusterUpgrade`s in SQLite: documents the store does not interpret, written by
//! compare-and-set on their generation.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row;

use super::SqliteStore;
use super::rows::{micros, to_json, upgrade_from_row};
use crate::store::UpgradeRecord;
use crate::{Error, Result};

pub(super) const UPGRADE_COLUMNS: &str = "name, spec, status, generation, created_at, updated_at";

impl SqliteStore {
    pub(super) async fn create_upgrade(
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

    pub(super) async fn get_upgrade(&self, name: &str) -> Result<Option<UpgradeRecord>> {
        let sql = format!("SELECT {UPGRADE_COLUMNS} FROM upgrades WHERE name = ?");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(upgrade_from_row).transpose()
    }

    pub(super) async fn list_upgrades(&self) -> Result<Vec<UpgradeRecord>> {
        let sql = format!("SELECT {UPGRADE_COLUMNS} FROM upgrades ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(upgrade_from_row).collect()
    }

    pub(super) async fn list_upgrade_generations(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT name, generation FROM upgrades ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("name")?, row.try_get("generation")?)))
            .collect()
    }

    /// Compare-and-set of one document column (`spec` or `status`, never user input).
    pub(super) async fn update_upgrade_document(
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
    pub(super) async fn lost_upgrade_write(&self, name: &str, expected_generation: i64) -> Error {
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

    pub(super) async fn delete_upgrade(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM upgrades WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
