//! `capstan bench posture-fleet`: the hub's posture ingest and fleet reads over thousands of
//! clusters.
//!
//! An in-process hub (SQLite in a temporary directory) on loopback receives one synthetic
//! `PostureReport` per cluster over HTTP, as agents send them (token check, validation,
//! one transaction each), from `--concurrency` uploaders; then `GET /api/v1/posture` (the
//! fleet aggregate: coverage and rule counts of every cluster, no finding decoded) and
//! `GET /api/v1/posture/findings?control=network-policy` (the fleet's findings of one
//! control, ordered and cut by the database) are timed.

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
use capstan_hub::store::{SqliteStore, Store};
use futures::StreamExt;
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
        "database_mib": db_bytes as f64 / (1024.0 * 1024.0),
        "process_rss_mib": {"now": rss, "peak": peak},
    }))
}
