//! Cost in SQLite (migration 0004): the agents' hours, the day rollups kept on every upload,
//! the recommendation bundles, and the reads behind `GET /api/v1/cost`.
//!
//! A day's rollup is kept incrementally: hours new to the day are merged into the stored
//! rollup (decoding one day, not 24 hours); an upload that replaces a stored hour (a retry)
//! recomputes the day from its hours. Once an hour's rows have been dropped (past
//! [`HOURLY_RETENTION_HOURS`]) its day can no longer be recomputed, so in such a day stored
//! hours are not replaced (a retried upload carries the same numbers) and new hours are
//! merged in.

use std::collections::BTreeMap;

use capstan_core::cost::{
    CostHour, CostParts, CostPeriod, CostRow, CostWindow, HOURLY_RETENTION_HOURS, Nanodollars,
    NodeCostSummary, ReportLimits, Resolution, merge,
};
use futures::TryStreamExt;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::SqliteStore;
use super::rows::{corrupt, from_json, micros, timestamp, to_json};
use crate::Result;
use crate::store::{ClusterCostTotals, CostDetail, CostRecommendationsRecord, CostWriteOutcome};

const SECONDS_PER_HOUR: i64 = 3600;
const SECONDS_PER_DAY: i64 = 86_400;

/// The columns both tables share, after the key.
const VALUE_COLUMNS: &str = "hour_end, hours_sampled, ticks, cpu, ram, gpu, storage, network,
     management, idle_cpu, idle_ram, idle_gpu, total, network_measured, cpu_request_core_hours,
     cpu_usage_core_hours, ram_request_gib_hours, ram_usage_gib_hours, pod_hours, summary,
     namespaces, workloads";

/// A period's fields that have no column of their own.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeriodSummary {
    nodes: NodeCostSummary,
    truncated_workloads: u64,
    truncated_namespaces: u64,
    containers_without_usage: u64,
}

/// Which table a read or write is about.
#[derive(Clone, Copy)]
enum Table {
    Hours,
    Days,
}

impl Table {
    fn of(resolution: Resolution) -> Table {
        match resolution {
            Resolution::Hourly => Table::Hours,
            Resolution::Daily => Table::Days,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::Hours => "cost_hours",
            Table::Days => "cost_days",
        }
    }

    fn start(self) -> &'static str {
        match self {
            Table::Hours => "hour_start",
            Table::Days => "day_start",
        }
    }
}

fn day_of(hour_start: i64) -> i64 {
    hour_start.div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY
}

/// Upserts one period into `table` at key `(cluster, start)`.
async fn write_period(
    tx: &mut Transaction<'_, Sqlite>,
    table: Table,
    cluster: &str,
    start: i64,
    period: &CostPeriod,
) -> Result<()> {
    let mut hours = CostRow::default();
    for row in &period.namespaces {
        hours.absorb(row);
    }
    let summary = PeriodSummary {
        nodes: period.nodes,
        truncated_workloads: period.truncated_workloads,
        truncated_namespaces: period.truncated_namespaces,
        containers_without_usage: period.containers_without_usage,
    };
    let sql = format!(
        "INSERT OR REPLACE INTO {} (cluster, {}, {VALUE_COLUMNS})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        table.name(),
        table.start()
    );
    let t = &period.total;
    sqlx::query(&sql)
        .bind(cluster)
        .bind(start)
        .bind(period.end.as_second())
        .bind(period.hours_sampled)
        .bind(i64::from(period.ticks))
        .bind(t.cpu.0)
        .bind(t.ram.0)
        .bind(t.gpu.0)
        .bind(t.storage.0)
        .bind(t.network.0)
        .bind(t.management.0)
        .bind(period.idle.cpu.0)
        .bind(period.idle.ram.0)
        .bind(period.idle.gpu.0)
        .bind(t.total().0)
        .bind(i64::from(period.network_measured))
        .bind(hours.cpu_request_core_hours)
        .bind(hours.cpu_usage_core_hours)
        .bind(hours.ram_request_gib_hours)
        .bind(hours.ram_usage_gib_hours)
        .bind(hours.pod_hours)
        .bind(to_json("cost summary", &summary)?)
        .bind(to_json("cost namespace rows", &period.namespaces)?)
        .bind(to_json("cost workload rows", &period.workloads)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn parts_from_row(row: &SqliteRow, prefix: &str) -> Result<CostParts> {
    let get = |name: &str| -> Result<Nanodollars> {
        Ok(Nanodollars(
            row.try_get::<i64, _>(format!("{prefix}{name}").as_str())?,
        ))
    };
    Ok(CostParts {
        cpu: get("cpu")?,
        ram: get("ram")?,
        gpu: get("gpu")?,
        storage: if prefix.is_empty() {
            get("storage")?
        } else {
            Nanodollars::ZERO
        },
        network: if prefix.is_empty() {
            get("network")?
        } else {
            Nanodollars::ZERO
        },
        management: if prefix.is_empty() {
            get("management")?
        } else {
            Nanodollars::ZERO
        },
    })
}

/// A stored hour or day as a period, with the rows `detail` asks for (a NULL rows column,
/// past the hourly retention, reads as no rows).
fn period_from_row(row: &SqliteRow, start: i64, detail: CostDetail) -> Result<CostPeriod> {
    let rows = |column: &'static str, what: &'static str| -> Result<Vec<CostRow>> {
        match row.try_get::<Option<String>, _>(column)? {
            Some(text) => from_json(what, text),
            None => Ok(Vec::new()),
        }
    };
    let summary: PeriodSummary = from_json("cost summary", row.try_get("summary")?)?;
    let ticks: i64 = row.try_get("ticks")?;
    let second = |s: i64| Timestamp::from_second(s).map_err(|e| corrupt("cost period time", e));
    Ok(CostPeriod {
        start: second(start)?,
        end: second(row.try_get("hour_end")?)?,
        hours_sampled: row.try_get("hours_sampled")?,
        ticks: u32::try_from(ticks).map_err(|e| corrupt("cost ticks", e))?,
        network_measured: row.try_get::<i64, _>("network_measured")? != 0,
        total: parts_from_row(row, "")?,
        idle: parts_from_row(row, "idle_")?,
        nodes: summary.nodes,
        namespaces: match detail {
            CostDetail::Namespaces => rows("namespaces", "cost namespace rows")?,
            _ => Vec::new(),
        },
        workloads: match detail {
            CostDetail::Workloads => rows("workloads", "cost workload rows")?,
            _ => Vec::new(),
        },
        truncated_workloads: summary.truncated_workloads,
        truncated_namespaces: summary.truncated_namespaces,
        containers_without_usage: summary.containers_without_usage,
    })
}

/// Both row sets, for rollups.
fn full_period_from_row(row: &SqliteRow, start: i64) -> Result<CostPeriod> {
    let mut period = period_from_row(row, start, CostDetail::Namespaces)?;
    period.workloads = period_from_row(row, start, CostDetail::Workloads)?.workloads;
    Ok(period)
}

/// `AND cluster IN (..)` over a JSON array parameter (any number of names, one parameter).
fn cluster_filter(clusters: Option<&[String]>) -> &'static str {
    if clusters.is_some() {
        " AND cluster IN (SELECT value FROM json_each(?))"
    } else {
        ""
    }
}

impl SqliteStore {
    pub(super) async fn put_cost(
        &self,
        cluster: &str,
        hours: &[CostHour],
        recommendations: Option<&Value>,
        now: Timestamp,
    ) -> Result<CostWriteOutcome> {
        // The last of an hour given twice wins, as a later upload would.
        let mut by_day: BTreeMap<i64, BTreeMap<i64, &CostHour>> = BTreeMap::new();
        for hour in hours {
            let start = hour.start.as_second();
            by_day.entry(day_of(start)).or_default().insert(start, hour);
        }
        let mut outcome = CostWriteOutcome::default();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (day, uploaded) in &by_day {
            let stored: BTreeMap<i64, bool> = sqlx::query(
                "SELECT hour_start, namespaces IS NULL AS dropped FROM cost_hours
                 WHERE cluster = ? AND hour_start >= ? AND hour_start < ?",
            )
            .bind(cluster)
            .bind(day)
            .bind(day + SECONDS_PER_DAY)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("hour_start")?, row.try_get("dropped")?)))
            .collect::<Result<_>>()?;
            let any_dropped = stored.values().any(|&dropped| dropped);
            let mut new_hours = Vec::new();
            let mut replaced = false;
            for (&start, &hour) in uploaded {
                if stored.contains_key(&start) {
                    if any_dropped {
                        outcome.kept += 1;
                        tracing::warn!(
                            cluster,
                            hour = %hour.start,
                            "cost hour already stored and its day's rows are past the hourly \
                             retention: kept the stored hour"
                        );
                        continue;
                    }
                    replaced = true;
                } else {
                    new_hours.push(hour);
                }
                write_period(&mut tx, Table::Hours, cluster, start, hour).await?;
                outcome.stored += 1;
            }
            let rollup = if replaced {
                // Only without dropped rows (see above): every hour can be decoded.
                self.day_from_hours(&mut tx, cluster, *day).await?
            } else if new_hours.is_empty() {
                None
            } else {
                match self.stored_day(&mut tx, cluster, *day).await? {
                    Some(old) => {
                        let mut all: Vec<&CostPeriod> = vec![&old];
                        all.extend(new_hours.iter().copied());
                        merge(&all, &ReportLimits::default())
                    }
                    None if !any_dropped => self.day_from_hours(&mut tx, cluster, *day).await?,
                    None => merge(&new_hours, &ReportLimits::default()),
                }
            };
            if let Some(rollup) = rollup {
                write_period(&mut tx, Table::Days, cluster, *day, &rollup).await?;
                outcome.days += 1;
            }
        }
        if let Some(body) = recommendations {
            let generated_at = body
                .get("generatedAt")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Timestamp>().ok())
                .unwrap_or(now);
            sqlx::query(
                "INSERT INTO cost_recommendations (cluster, generated_at, body) VALUES (?, ?, ?)
                 ON CONFLICT (cluster) DO UPDATE SET
                     generated_at = excluded.generated_at, body = excluded.body",
            )
            .bind(cluster)
            .bind(micros(generated_at))
            .bind(to_json("cost recommendations", body)?)
            .execute(&mut *tx)
            .await?;
        }
        // Every stored hour is in its day's rollup, so its rows can go once hourly reads no
        // longer reach it (the hub answers older windows from days).
        let cutoff = now.as_second() - HOURLY_RETENTION_HOURS * SECONDS_PER_HOUR;
        sqlx::query(
            "UPDATE cost_hours SET namespaces = NULL, workloads = NULL
             WHERE cluster = ? AND hour_start < ? AND namespaces IS NOT NULL",
        )
        .bind(cluster)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The day's rollup recomputed from its stored hours (all with rows); `None` for none.
    async fn day_from_hours(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        cluster: &str,
        day: i64,
    ) -> Result<Option<CostPeriod>> {
        let sql = format!(
            "SELECT hour_start, {VALUE_COLUMNS} FROM cost_hours
             WHERE cluster = ? AND hour_start >= ? AND hour_start < ? ORDER BY hour_start"
        );
        let rows = sqlx::query(&sql)
            .bind(cluster)
            .bind(day)
            .bind(day + SECONDS_PER_DAY)
            .fetch_all(&mut **tx)
            .await?;
        let hours = rows
            .iter()
            .map(|row| full_period_from_row(row, row.try_get("hour_start")?))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&CostPeriod> = hours.iter().collect();
        Ok(merge(&refs, &ReportLimits::default()))
    }

    async fn stored_day(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        cluster: &str,
        day: i64,
    ) -> Result<Option<CostPeriod>> {
        let sql = format!(
            "SELECT day_start, {VALUE_COLUMNS} FROM cost_days WHERE cluster = ? AND day_start = ?"
        );
        let row = sqlx::query(&sql)
            .bind(cluster)
            .bind(day)
            .fetch_optional(&mut **tx)
            .await?;
        row.map(|row| full_period_from_row(&row, day)).transpose()
    }

    pub(super) async fn cost_totals(
        &self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&[String]>,
    ) -> Result<Vec<ClusterCostTotals>> {
        let table = Table::of(resolution);
        let sql = format!(
            "SELECT cluster, COUNT(*) AS periods, SUM(cpu) AS cpu, SUM(ram) AS ram,
                    SUM(gpu) AS gpu, SUM(storage) AS storage, SUM(network) AS network,
                    SUM(management) AS management, SUM(idle_cpu) AS idle_cpu,
                    SUM(idle_ram) AS idle_ram, SUM(idle_gpu) AS idle_gpu,
                    SUM(hours_sampled) AS hours_sampled,
                    MAX(network_measured) AS network_measured,
                    SUM(cpu_request_core_hours) AS cpu_request_core_hours,
                    SUM(cpu_usage_core_hours) AS cpu_usage_core_hours,
                    SUM(ram_request_gib_hours) AS ram_request_gib_hours,
                    SUM(ram_usage_gib_hours) AS ram_usage_gib_hours,
                    SUM(pod_hours) AS pod_hours
             FROM {} WHERE {start} >= ? AND {start} < ?{}
             GROUP BY cluster ORDER BY cluster",
            table.name(),
            cluster_filter(clusters),
            start = table.start(),
        );
        let mut query = sqlx::query(&sql)
            .bind(window.start.as_second())
            .bind(window.end.as_second());
        if let Some(names) = clusters {
            query = query.bind(to_json("cluster names", &names)?);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let periods: i64 = row.try_get("periods")?;
                Ok(ClusterCostTotals {
                    cluster: row.try_get("cluster")?,
                    total: parts_from_row(row, "")?,
                    idle: parts_from_row(row, "idle_")?,
                    periods: u64::try_from(periods).unwrap_or(0),
                    hours_sampled: row.try_get("hours_sampled")?,
                    network_measured: row.try_get::<i64, _>("network_measured")? != 0,
                    cpu_request_core_hours: row.try_get("cpu_request_core_hours")?,
                    cpu_usage_core_hours: row.try_get("cpu_usage_core_hours")?,
                    ram_request_gib_hours: row.try_get("ram_request_gib_hours")?,
                    ram_usage_gib_hours: row.try_get("ram_usage_gib_hours")?,
                    pod_hours: row.try_get("pod_hours")?,
                })
            })
            .collect()
    }

    /// Streams the rows ordered by cluster and merges each cluster's as soon as the next
    /// cluster starts, so that at most one cluster's decoded periods are held at once.
    pub(super) async fn cost_periods(
        &self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&[String]>,
        detail: CostDetail,
    ) -> Result<Vec<(String, CostPeriod)>> {
        let table = Table::of(resolution);
        // Only the rows column asked for is read at all.
        let columns = VALUE_COLUMNS
            .replace(
                "namespaces",
                if detail == CostDetail::Namespaces {
                    "namespaces"
                } else {
                    "NULL AS namespaces"
                },
            )
            .replace(
                "workloads",
                if detail == CostDetail::Workloads {
                    "workloads"
                } else {
                    "NULL AS workloads"
                },
            );
        let sql = format!(
            "SELECT cluster, {start} AS start, {columns} FROM {}
             WHERE {start} >= ? AND {start} < ?{} ORDER BY cluster, {start}",
            table.name(),
            cluster_filter(clusters),
            start = table.start(),
        );
        let names_json = clusters.map(|n| to_json("cluster names", &n)).transpose()?;
        let mut query = sqlx::query(&sql)
            .bind(window.start.as_second())
            .bind(window.end.as_second());
        if let Some(names) = &names_json {
            query = query.bind(names.as_str());
        }
        let mut rows = query.fetch(&self.pool);
        let limits = ReportLimits::default();
        let mut out: Vec<(String, CostPeriod)> = Vec::new();
        let mut current: Option<(String, Vec<CostPeriod>)> = None;
        let flush = |current: Option<(String, Vec<CostPeriod>)>,
                     out: &mut Vec<(String, CostPeriod)>| {
            if let Some((name, periods)) = current {
                let refs: Vec<&CostPeriod> = periods.iter().collect();
                if let Some(merged) = merge(&refs, &limits) {
                    out.push((name, merged));
                }
            }
        };
        while let Some(row) = rows.try_next().await? {
            let cluster: String = row.try_get("cluster")?;
            let period = period_from_row(&row, row.try_get("start")?, detail)?;
            match &mut current {
                Some((name, periods)) if *name == cluster => periods.push(period),
                _ => {
                    flush(current.take(), &mut out);
                    current = Some((cluster, vec![period]));
                }
            }
        }
        flush(current, &mut out);
        Ok(out)
    }

    pub(super) async fn cost_recommendations(
        &self,
        clusters: Option<&[String]>,
    ) -> Result<Vec<CostRecommendationsRecord>> {
        let sql = format!(
            "SELECT cluster, generated_at, body FROM cost_recommendations WHERE 1 = 1{}
             ORDER BY cluster",
            cluster_filter(clusters)
        );
        let mut query = sqlx::query(&sql);
        if let Some(names) = clusters {
            query = query.bind(to_json("cluster names", &names)?);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(CostRecommendationsRecord {
                    cluster: row.try_get("cluster")?,
                    generated_at: timestamp(row.try_get("generated_at")?)?,
                    body: from_json("cost recommendations", row.try_get("body")?)?,
                })
            })
            .collect()
    }
}
