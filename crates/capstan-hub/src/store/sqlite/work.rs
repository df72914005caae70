//! Work items in SQLite: idempotent on their id, final states sticking, statuses and results
//! read by id prefix (an upgrade's items).

use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row;

use super::SqliteStore;
use super::rows::{from_json, micros, to_json, work_from_row};
use crate::store::{NewWorkItem, WorkItem, WorkStatus, WorkStatusRow};
use crate::{Error, Result};

const WORK_COLUMNS: &str =
    "id, cluster, generation, kind, payload, status, message, result, created_at, updated_at";
pub(super) const ENQUEUE_WORK: &str =
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

impl SqliteStore {
    pub(super) async fn enqueue_work(&self, item: &NewWorkItem, now: Timestamp) -> Result<bool> {
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

    pub(super) async fn get_work(&self, id: &str) -> Result<Option<WorkItem>> {
        let sql = format!("SELECT {WORK_COLUMNS} FROM work_items WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(work_from_row).transpose()
    }

    pub(super) async fn list_open_work(&self, cluster: &str) -> Result<Vec<WorkItem>> {
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

    pub(super) async fn set_work_status(
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
    pub(super) async fn set_work_result(
        &self,
        id: &str,
        generation: i64,
        result: &Value,
    ) -> Result<bool> {
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

    pub(super) async fn list_work_statuses(&self, id_prefix: &str) -> Result<Vec<WorkStatusRow>> {
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

    pub(super) async fn list_work_results(&self, id_prefix: &str) -> Result<Vec<(String, Value)>> {
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
