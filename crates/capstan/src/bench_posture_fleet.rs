//! `capstan bench posture-fleet`: the hub's posture ingest and fleet reads over thousands of
//! clusters.
//!
//! An in-process hub (SQLite in a temporary directory) on loopback receives one synthetic
//! `PostureReport` per cluster over HTTP, as agents send them (token check, validation,
//! one transaction each), from `--concurrency` uploaders; then `GET /api/v1/posture` (the
//! fleet aggregate: coverage and rule counts of every cluster, no finding decoded) and
//! `GET /api/v1/posture/findings?control=network-policy` (the fleet's findings of one
//! control, ordered and cut by the database) are timed.
//!
//! Then the history: filling 30 days of hourly evaluations through the upload path would be
//! 3.6 million uploads (hours at the measured upload rate), so the points are written
//! through `SqliteStore::put_posture_history_points` instead: hourly for `--hourly-days`,
//! daily for `--history-days` (each day's row the figures of its last hour, as an upload
//! would leave it). The upload path's rate with explicit evaluation times is measured apart
//! on a sample, in a store of its own. `GET /api/v1/posture/history` is timed by day over 30
//! days, by hour over 24 hours and 7 days, and with a label selector; and the daily read is
//! compared with the hourly-only read it replaces (`posture_history_buckets_from_hourly`,
//! the pre-0006 SQL) over the days the hourly points cover: same figures, both timed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use capstan_clock::{SharedClock, Stopwatch, SystemClock};
use capstan_core::posture::report::{
    Control, ControlCoverage, Finding, ObjectRef, PostureReport, PostureSources, RuleCount,
    Severity,
};
use capstan_core::rng::SimRng;
use capstan_hub::api::{ApiState, hash_token, router};
use capstan_hub::store::{
    ClusterHealth, ClusterReport, HistoryQuery, HistoryStep, PostureHistoryPoint, SqliteStore,
    Store,
};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::bench::{median, rss_mib};

#[derive(clap::Args, Debug)]
pub struct PostureFleetBench {
    /// Clusters in the fleet.
    #[arg(long, default_value_t = 5_000)]
    pub clusters: usize,
    /// Findings listed per report (spread over the five controls).
    #[arg(long, default_value_t = 200)]
    pub findings: usize,
    /// Namespaces per cluster.
    #[arg(long, default_value_t = 40)]
    pub namespaces: u64,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Requests per timed query (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub queries: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Days of daily history per cluster (before today).
    #[arg(long, default_value_t = 30)]
    pub history_days: i64,
    /// Days of hourly history per cluster (before the current hour).
    #[arg(long, default_value_t = 7)]
    pub hourly_days: i64,
    /// Requests per timed history query (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub history_queries: usize,
    /// Uploads through the upload path (`put_posture`, explicit evaluation times) whose rate
    /// is measured, in a store of their own.
    #[arg(long, default_value_t = 2_000)]
    pub upload_sample: usize,
}

const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// A few rules per control, named as core's checks name them.
fn rules_of(control: Control) -> &'static [&'static str] {
    match control {
        Control::Rbac => &[
            "rbac.cluster-admin-binding",
            "rbac.wildcard",
            "rbac.secrets-read",
            "rbac.pods-exec",
        ],
        Control::NetworkPolicy => &["netpol.namespace-uncovered", "netpol.workload-unselected"],
        Control::PodSecurity => &[
            "pss.privileged",
            "pss.host-namespaces",
            "pss.run-as-non-root",
            "pss.allow-privilege-escalation",
            "pss.capabilities",
            "pss.seccomp-profile",
        ],
        Control::Secrets => &["secrets.secret-in-env", "secrets.unmanaged-secret"],
        Control::ImageScanning => &["images.not-scanned", "images.stale-report"],
    }
}

/// One cluster's report: coverage with some gaps, complete rule counts, `--findings` findings.
fn synthetic_report(
    b: &PostureFleetBench,
    rng: &mut SimRng,
    cluster: &str,
    now: jiff::Timestamp,
) -> PostureReport {
    let per_control = b.findings / Control::ALL.len();
    let mut controls = Vec::new();
    let mut rules: Vec<RuleCount> = Vec::new();
    let mut findings = Vec::new();
    for control in Control::ALL {
        let eligible = match control.unit() {
            capstan_core::posture::report::Unit::Containers => b.namespaces * 25,
            capstan_core::posture::report::Unit::Workloads => b.namespaces * 8,
            _ => b.namespaces,
        };
        let gaps = rng.range_inclusive(0, eligible / 10);
        let excepted = gaps.min(rng.range_inclusive(0, 2));
        let mut c = ControlCoverage::new(control);
        c.eligible = eligible;
        c.covered = eligible - gaps;
        c.excepted = excepted;
        // More findings than listed: the report carries the top ones.
        c.findings = (per_control as u64) * 2 + gaps;
        c.excepted_findings = excepted;
        c.details
            .insert("namespacesWithAnyPolicy".into(), eligible - gaps / 2);
        let names = rules_of(control);
        let mut left = c.findings;
        for (i, rule) in names.iter().enumerate() {
            let n = if i + 1 == names.len() { left } else { left / 2 };
            left -= n;
            rules.push(RuleCount {
                control,
                rule: (*rule).to_string(),
                severity: SEVERITIES[i % SEVERITIES.len()],
                findings: n,
                excepted: if i == 0 { excepted.min(n) } else { 0 },
            });
        }
        for i in 0..per_control {
            let rule = names[i % names.len()];
            findings.push(Finding {
                control,
                rule: rule.to_string(),
                severity: SEVERITIES[(i + rng.range_inclusive(0, 3) as usize) % SEVERITIES.len()],
                object: ObjectRef::new(
                    "Deployment",
                    &format!("team-{}", i as u64 % b.namespaces.max(1)),
                    &format!("app-{i}-{}", rng.name_suffix(5)),
                ),
                field_path: format!("spec.containers[0].securityContext.{rule}"),
                message: format!(
                    "container app of Deployment app-{i} in {cluster} breaks {rule} \
                     (see the Pod Security Standards)"
                ),
                count: rng.range_inclusive(1, 12),
                excepted: (i < excepted as usize).then(|| "accepted risk, ticket SEC-1234".into()),
            });
        }
        controls.push(c);
    }
    PostureReport {
        cluster: cluster.to_string(),
        evaluated_at: now,
        duration_ms: 1_500,
        kubernetes_minor: 32,
        controls,
        rules,
        findings,
        exceptions: Vec::new(),
        sources: PostureSources::default(),
    }
}

async fn timed_get(http: &reqwest::Client, url: &str, n: usize) -> Result<serde_json::Value> {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..n.max(1) {
        let sw = Stopwatch::start();
        let response = http.get(url).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {url}: {}",
            response.status()
        );
        bytes = response.bytes().await?.len();
        times.push(sw.elapsed().as_secs_f64());
    }
    Ok(json!({"median_seconds": median(times.clone()), "all": times, "response_bytes": bytes}))
}

pub async fn run(b: PostureFleetBench) -> Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("hub.db")).await?);
    let clock: SharedClock = Arc::new(SystemClock);
    let now = clock.now();
    let mut rng = SimRng::new(b.seed);

    // Each cluster's agent token, registered straight in the store (registration is not
    // what is measured), and its report, made before the clock starts.
    let mut uploads = Vec::with_capacity(b.clusters);
    let mut body_bytes = 0usize;
    for c in 0..b.clusters {
        let name = format!("cluster-{c:05}");
        let token = format!("capstan.{name}.{:064x}", c);
        store.register_agent(&name, &token, now).await?;
        // Half the fleet in production: the label selector the history is timed with.
        store
            .upsert_cluster(&inventory_entry(&name, c), now)
            .await?;
        let report = synthetic_report(&b, &mut rng, &name, now);
        let body = serde_json::to_vec(&report)?;
        body_bytes += body.len();
        uploads.push((name, token, body));
    }

    let state = ApiState::new(
        store.clone(),
        clock,
        hash_token("bench"),
        Duration::from_secs(600),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();

    let sw = Stopwatch::start();
    let results: Vec<Result<f64>> = futures::stream::iter(uploads)
        .map(|(name, token, body)| {
            let http = http.clone();
            let url = format!("{base}/api/v1/agents/{name}/posture");
            async move {
                let one = Stopwatch::start();
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .with_context(|| format!("uploading {name}'s posture"))?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "POST {url}: {} {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                );
                Ok(one.elapsed().as_secs_f64())
            }
        })
        .buffer_unordered(b.concurrency.max(1))
        .collect()
        .await;
    let ingest_s = sw.elapsed().as_secs_f64();
    let latencies = results.into_iter().collect::<Result<Vec<f64>>>()?;

    let report = timed_get(&http, &format!("{base}/api/v1/posture"), b.queries).await?;
    let findings = timed_get(
        &http,
        &format!("{base}/api/v1/posture/findings?control=network-policy"),
        b.queries,
    )
    .await?;
    let findings_all = timed_get(
        &http,
        &format!("{base}/api/v1/posture/findings?severity=critical&limit=1000"),
        b.queries,
    )
    .await?;
    let history = history_bench(&b, &store, &http, &base, now).await?;
    server.abort();
    let (rss, peak) = rss_mib();
    let db_bytes = std::fs::metadata(dir.path().join("hub.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    let findings_stored = b.clusters * (b.findings / Control::ALL.len()) * Control::ALL.len();
    Ok(json!({
        "bench": "posture-fleet",
        "clusters": b.clusters,
        "findings_per_report": b.findings / Control::ALL.len() * Control::ALL.len(),
        "namespaces_per_cluster": b.namespaces,
        "report_json_bytes_mean": body_bytes / b.clusters.max(1),
        "ingest": {
            "reports": b.clusters,
            "concurrency": b.concurrency,
            "seconds": ingest_s,
            "reports_per_second": b.clusters as f64 / ingest_s,
            "findings_per_second": findings_stored as f64 / ingest_s,
            "median_request_seconds": median(latencies),
        },
        "queries": {
            "posture": report,
            "findings_network_policy": findings,
            "findings_critical_limit_1000": findings_all,
        },
        "history": history,
        "database_mib": db_bytes as f64 / (1024.0 * 1024.0),
        "process_rss_mib": {"now": rss, "peak": peak},
    }))
}

fn inventory_entry(name: &str, c: usize) -> ClusterReport {
    let environment = if c.is_multiple_of(2) {
        "production"
    } else {
        "staging"
    };
    ClusterReport {
        name: name.to_string(),
        labels: [("environment".to_string(), environment.to_string())].into(),
        versions: Default::default(),
        node_count: 3,
        pod_count: 40,
        health: ClusterHealth::Healthy,
        summary: serde_json::Value::Null,
        health_report: None,
    }
}

const HOUR_SECONDS: i64 = 3600;

/// Cluster `c`'s figures of `control` at the hour `hour` (hours since the epoch): coverage
/// that drifts with the hour, deterministic so that a day's row can be its last hour's.
fn history_point(
    b: &PostureFleetBench,
    c: usize,
    control: Control,
    hour: i64,
    evaluated_at: Timestamp,
) -> PostureHistoryPoint {
    let eligible = match control.unit() {
        capstan_core::posture::report::Unit::Containers => b.namespaces * 25,
        capstan_core::posture::report::Unit::Workloads => b.namespaces * 8,
        _ => b.namespaces,
    };
    let drift = (c as u64)
        .wrapping_mul(31)
        .wrapping_add(hour.unsigned_abs());
    let gaps = drift % (eligible / 10 + 1);
    PostureHistoryPoint {
        control,
        evaluated_at,
        eligible,
        covered: eligible - gaps,
        excepted: gaps.min(drift % 3),
        findings: gaps * 2,
    }
}

/// The start of the hour `t` is in, in hours since the epoch.
fn hour_of(t: Timestamp) -> i64 {
    t.as_second().div_euclid(HOUR_SECONDS)
}

fn at_second(second: i64) -> Result<Timestamp> {
    Timestamp::from_second(second).context("a history time out of range")
}

/// Fills every cluster's hourly and daily history before `now` (batches of 250 clusters).
async fn fill_history(
    b: &PostureFleetBench,
    store: &SqliteStore,
    now: Timestamp,
) -> Result<(usize, usize)> {
    let this_hour = hour_of(now);
    let today = this_hour.div_euclid(24) * 24;
    let (mut hourly_rows, mut daily_rows) = (0, 0);
    for first in (0..b.clusters).step_by(250) {
        let mut hourly = Vec::new();
        let mut daily = Vec::new();
        for c in first..(first + 250).min(b.clusters) {
            let name = format!("cluster-{c:05}");
            // Evaluated a few minutes into the hour, differently per cluster.
            let offset = (c as i64 * 7) % 3000;
            for h in 1..=b.hourly_days * 24 {
                let hour = this_hour - h;
                let at = at_second(hour * HOUR_SECONDS + offset)?;
                for control in Control::ALL {
                    hourly.push((name.clone(), history_point(b, c, control, hour, at)));
                }
            }
            // A day's row: its last hour's evaluation, as the uploads would leave it.
            for d in 1..=b.history_days {
                let hour = today - 24 * d + 23;
                let at = at_second(hour * HOUR_SECONDS + offset)?;
                for control in Control::ALL {
                    daily.push((name.clone(), history_point(b, c, control, hour, at)));
                }
            }
        }
        hourly_rows += hourly.len();
        daily_rows += daily.len();
        store
            .put_posture_history_points(HistoryStep::Hour, &hourly)
            .await?;
        store
            .put_posture_history_points(HistoryStep::Day, &daily)
            .await?;
    }
    Ok((hourly_rows, daily_rows))
}

/// Uploads of controls-only reports through `put_posture` at explicit evaluation times
/// (`--upload-sample` of them: 100 clusters, one an hour), in a store of their own: what
/// filling the history through the upload path would cost.
async fn upload_path_rate(
    b: &PostureFleetBench,
    dir: &std::path::Path,
    now: Timestamp,
) -> Result<f64> {
    let store = SqliteStore::open(dir.join("upload-sample.db")).await?;
    let clusters = 100;
    let hours = (b.upload_sample / clusters).max(1) as i64;
    let mut reports = Vec::new();
    for h in (1..=hours).rev() {
        for c in 0..clusters {
            let hour = hour_of(now) - h;
            let at = at_second(hour * HOUR_SECONDS + c as i64)?;
            let controls = Control::ALL
                .into_iter()
                .map(|control| {
                    let p = history_point(b, c, control, hour, at);
                    let mut coverage = ControlCoverage::new(control);
                    coverage.eligible = p.eligible;
                    coverage.covered = p.covered;
                    coverage.excepted = p.excepted;
                    coverage.findings = p.findings;
                    coverage
                })
                .collect();
            reports.push(PostureReport {
                cluster: format!("sample-{c:03}"),
                evaluated_at: at,
                duration_ms: 1_500,
                kubernetes_minor: 32,
                controls,
                rules: Vec::new(),
                findings: Vec::new(),
                exceptions: Vec::new(),
                sources: PostureSources::default(),
            });
        }
    }
    let sw = Stopwatch::start();
    for report in &reports {
        store.put_posture(report, now).await?;
    }
    let rate = reports.len() as f64 / sw.elapsed().as_secs_f64();
    store.close().await;
    Ok(rate)
}

/// Times `f` `n` times; the median and every time, in seconds.
async fn timed<T, F, Fut>(n: usize, mut f: F) -> Result<(serde_json::Value, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..n.max(1) {
        let sw = Stopwatch::start();
        last = Some(f().await?);
        times.push(sw.elapsed().as_secs_f64());
    }
    let last = last.context("no run")?;
    Ok((
        json!({"median_seconds": median(times.clone()), "all": times}),
        last,
    ))
}

async fn history_bench(
    b: &PostureFleetBench,
    store: &SqliteStore,
    http: &reqwest::Client,
    base: &str,
    now: Timestamp,
) -> Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let upload_rate = upload_path_rate(b, dir.path(), now).await?;
    let sw = Stopwatch::start();
    let (hourly_rows, daily_rows) = fill_history(b, store, now).await?;
    let fill_s = sw.elapsed().as_secs_f64();
    let evaluations_30d_hourly = b.clusters as f64 * 30.0 * 24.0;
    let n = b.history_queries;
    let mut api = serde_json::Map::new();
    for (name, query) in [
        ("step_1d_since_30d", "step=1d&since=30d"),
        ("step_1h_since_24h", "step=1h&since=24h"),
        ("step_1h_since_7d", "step=1h&since=7d"),
        (
            "step_1d_since_30d_production",
            "step=1d&since=30d&labelSelector=environment%3Dproduction",
        ),
        (
            "step_1h_since_24h_production",
            "step=1h&since=24h&labelSelector=environment%3Dproduction",
        ),
        (
            "step_1d_since_30d_one_cluster",
            "step=1d&since=30d&cluster=cluster-00042",
        ),
    ] {
        let url = format!("{base}/api/v1/posture/history?{query}");
        api.insert(name.to_string(), timed_get(http, &url, n).await?);
    }
    // The daily read against the hourly-only one it replaces, over the days the hourly
    // points cover entirely (from the first whole day), through the store.
    let first_whole_day = HistoryStep::Day.floor(
        now.checked_sub(SignedDuration::from_hours(24 * b.hourly_days))?
            .checked_add(SignedDuration::from_hours(24))?,
    );
    let query = HistoryQuery {
        clusters: None,
        control: None,
        since: first_whole_day,
        step: HistoryStep::Day,
    };
    let (rollup, from_daily) = timed(n, || async {
        Ok(store.posture_history_buckets(&query).await?)
    })
    .await?;
    let (hourly_only, from_hourly) = timed(n, || async {
        Ok(store.posture_history_buckets_from_hourly(&query).await?)
    })
    .await?;
    anyhow::ensure!(
        from_daily == from_hourly,
        "the daily rollup and the hourly read disagree over {} days",
        from_daily.len()
    );
    Ok(json!({
        "fill": {
            "method": format!(
                "SqliteStore::put_posture_history_points (not the upload path): hourly points \
                 for {} days, daily rows for {} days, per cluster and control",
                b.hourly_days, b.history_days
            ),
            "hourly_rows": hourly_rows,
            "daily_rows": daily_rows,
            "seconds": fill_s,
            "upload_path_reports_per_second": upload_rate,
            "upload_path_estimate_seconds_for_30_days_hourly": evaluations_30d_hourly / upload_rate,
        },
        "api": api,
        "daily_read_vs_hourly_only": {
            "days": from_daily.len(),
            "same_figures": true,
            "rollup": rollup,
            "hourly_only_before_0006": hourly_only,
        },
    }))
}
