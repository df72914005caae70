//! Between rows and records: JSON columns, microsecond timestamps, counts, token hashes.

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::store::{AlertSummary, ClusterRecord, UpgradeRecord, WorkItem};
use crate::{Error, Result};

/// SHA-256 of an agent token, lowercase hex: what the `agents` table keeps. Tokens are random
/// and long, so a plain (unsalted, fast) hash is enough to make a leaked table useless.
pub(super) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

pub(super) fn cluster_from_row(row: &SqliteRow) -> Result<ClusterRecord> {
    let health: String = row.try_get("health")?;
    Ok(ClusterRecord {
        name: row.try_get("name")?,
        labels: from_json("cluster labels", row.try_get("labels")?)?,
        versions: from_json("cluster versions", row.try_get("versions")?)?,
        node_count: count("cluster node_count", row.try_get("node_count")?)?,
        pod_count: count("cluster pod_count", row.try_get("pod_count")?)?,
        reported_health: health.parse().map_err(|e| corrupt("cluster health", e))?,
        summary: from_json("cluster summary", row.try_get("summary")?)?,
        last_seen: timestamp(row.try_get("last_seen")?)?,
        registered_at: timestamp(row.try_get("registered_at")?)?,
        alerts: alert_summary(row)?,
    })
}

/// The health report's counts, `None` when the cluster has no health report.
fn alert_summary(row: &SqliteRow) -> Result<Option<AlertSummary>> {
    let (Some(source), Some(evaluated_at)) = (
        row.try_get::<Option<String>, _>("health_source")?,
        row.try_get::<Option<i64>, _>("health_evaluated_at")?,
    ) else {
        return Ok(None);
    };
    Ok(Some(AlertSummary {
        source,
        evaluated_at: timestamp(evaluated_at)?,
        firing_critical: count("cluster alerts_critical", row.try_get("alerts_critical")?)?,
        firing_warning: count("cluster alerts_warning", row.try_get("alerts_warning")?)?,
        pending: count("cluster alerts_pending", row.try_get("alerts_pending")?)?,
    }))
}

pub(super) fn upgrade_from_row(row: &SqliteRow) -> Result<UpgradeRecord> {
    Ok(UpgradeRecord {
        name: row.try_get("name")?,
        spec: from_json("upgrade spec", row.try_get("spec")?)?,
        status: from_json("upgrade status", row.try_get("status")?)?,
        generation: row.try_get("generation")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
    })
}

pub(super) fn work_from_row(row: &SqliteRow) -> Result<WorkItem> {
    let status: String = row.try_get("status")?;
    Ok(WorkItem {
        id: row.try_get("id")?,
        cluster: row.try_get("cluster")?,
        generation: row.try_get("generation")?,
        kind: row.try_get("kind")?,
        payload: from_json("work payload", row.try_get("payload")?)?,
        status: status.parse().map_err(|e| corrupt("work status", e))?,
        message: row.try_get("message")?,
        result: row
            .try_get::<Option<String>, _>("result")?
            .map(|text| from_json("work result", text))
            .transpose()?,
        created_at: timestamp(row.try_get("created_at")?)?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
    })
}

pub(super) fn to_json(what: &'static str, value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Encode { what, source })
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: String,
) -> Result<T> {
    serde_json::from_str(&text).map_err(|e| corrupt(what, e))
}

pub(super) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(super) fn timestamp(micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|e| corrupt("timestamp", e))
}

fn count(what: &'static str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|e| corrupt(what, e))
}

pub(super) fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn corrupt(what: &'static str, reason: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        what,
        reason: reason.to_string(),
    }
}
