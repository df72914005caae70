//! `capstan bench posture`: one posture evaluation by the agent on a big twin cluster —
//! every RBAC object, policy, Secret's metadata, VulnerabilityReport and constraint listed,
//! then every pod streamed through the checks a page at a time — with the report's size and
//! the agent's memory. Beside it, in the same run, `kubectl get pods -A` listing the same pods
//! (every pod read, as the table the server prints), so the figures compare on one machine.
//!
//! The twin runs in a child process, as in `bench agent` and `bench cost`.

use std::sync::Arc;

use anyhow::{Context, Result};
use capstan_agent::posture::{PostureConfig, evaluate};
use capstan_clock::{SharedClock, Stopwatch, SystemClock};
use capstan_core::posture::report::Control;
use serde_json::json;

use crate::bench::{median, rss_mib};
use crate::child_twin::{ChildTwin, TWIN_READY};

#[derive(clap::Args, Debug)]
pub struct PostureBench {
    /// Nodes of the cluster.
    #[arg(long, default_value_t = 10_000)]
    pub nodes: u32,
    /// Pods of the cluster.
    #[arg(long, default_value_t = 1_000_000)]
    pub pods: u64,
    /// Seed of the generated cluster.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Evaluations to run (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Also time `kubectl get pods -A --no-headers` against the same cluster, this many times.
    #[arg(long, default_value_t = 0)]
    pub kubectl: u32,
}

pub async fn run(b: PostureBench) -> Result<serde_json::Value> {
    let twin = ChildTwin::single_cluster(b.nodes, b.pods, b.seed).await?;
    let target = twin.target();
    let mut config = target.config().await?;
    config.read_timeout = Some(TWIN_READY);
    let client = kube::Client::try_from(config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    // The twin builds a cluster on its first request: have it built before the clock runs,
    // or the first evaluation times the generation.
    let warm = Stopwatch::start();
    capstan_agent::posture::list_all::<serde_json::Value>(&client, "/api/v1/namespaces")
        .await
        .context("first request to the twin")?;
    let twin_build_s = warm.elapsed().as_secs_f64();
    let (rss_before, _) = rss_mib();
    let posture = PostureConfig::default();
    let (mut total_s, mut objects_s, mut pods_s) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..b.runs.max(1) {
        let sw = Stopwatch::start();
        let (report, counts) = evaluate(&client, "bench", &posture, clock.now())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        total_s.push(sw.elapsed().as_secs_f64());
        objects_s.push(counts.objects_ms as f64 / 1000.0);
        pods_s.push(counts.pods_ms as f64 / 1000.0);
        last = Some((report, counts));
    }
    let (rss_after, peak) = rss_mib();
    let (report, counts) = last.context("no evaluation ran")?;
    let report_bytes = serde_json::to_vec(&report)?.len();

    // The figures so far, in case the comparison below does not finish.
    eprintln!(
        "posture evaluation: {total_s:?} s, pods {pods_s:?} s, {} pods, RSS peak {peak:.0} MiB",
        counts.pods
    );
    // kubectl's table (the server prints the rows, 500 a page): every pod read, less on the
    // wire than our whole objects. `-o json` or `-o name` would hold every decoded pod before
    // printing (19 GiB for a million pods here, more than this machine can spare).
    let kubectl_s = crate::bench::time_kubectl_runs(
        &twin.dir().join("kubeconfig"),
        &["get", "pods", "-A", "--no-headers", "--request-timeout=0"],
        b.kubectl,
    )
    .await?;
    let total_median = median(total_s.clone());
    let coverage: serde_json::Map<String, serde_json::Value> = Control::ALL
        .into_iter()
        .filter_map(|c| report.control(c))
        .map(|c| {
            (
                c.control.as_str().to_string(),
                json!({"eligible": c.eligible, "covered": c.covered, "excepted": c.excepted, "findings": c.findings}),
            )
        })
        .collect();
    Ok(json!({
        "bench": "posture",
        "twin_first_request_seconds": twin_build_s,
        "cluster": {"nodes": b.nodes, "pods": b.pods, "seed": b.seed},
        "pods_evaluated": counts.pods,
        "pages": counts.pages,
        "evaluation_seconds": {"median": total_median, "all": total_s},
        "objects_seconds": {"median": median(objects_s.clone()), "all": objects_s},
        "pods_seconds": {"median": median(pods_s.clone()), "all": pods_s},
        "pods_per_second": counts.pods as f64 / median(pods_s),
        "report_json_bytes": report_bytes,
        "findings_sent": report.findings.len(),
        "coverage": coverage,
        "agent_rss_mib": {"before": rss_before, "after": rss_after, "peak": peak},
        "kubectl_get_pods_table_seconds": kubectl_s,
        "kubectl_over_our_evaluation": if kubectl_s.is_empty() { serde_json::Value::Null } else { json!(median(kubectl_s.clone()) / total_median) },
        "twin_process_rss_mib": twin.rss_mib(),
    }))
}
