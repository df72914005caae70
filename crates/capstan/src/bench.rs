//! `capstan bench ...`: scale measurements that print JSON (figures for BENCHMARKS.md).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use capstan_clock::{ScaledClock, Stopwatch};
use capstan_sim::fleet::{FleetOptions, Tier, plan_fleet};
use capstan_sim::server::{Pki, serve_tls, write_kubeconfigs};
use capstan_sim::{Twin, TwinConfig};
use futures::StreamExt;
use serde_json::json;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// The twin at scale: generation, memory, paginated list throughput, watch fan-out,
    /// thousands of clusters, and kubectl beside kube-rs.
    Sim(SimBench),
    /// The cluster view on a big cluster served by a child `capstan sim`: initial sync time,
    /// steady RSS of the agent alone, summary time.
    Agent(crate::bench_agent::AgentBench),
    /// `capstan drain` beside `kubectl drain` on the same node of two identical twins.
    Drain(crate::bench_drain::DrainBench),
    /// A node pool rolled with maxSurge: simulated makespan over the critical path of the
    /// same roll's durations.
    Roll(crate::bench_roll::RollBench),
    /// The hub under synthetic agents: report latency, the hub's CPU and RSS alone, and the
    /// time to plan and start a ClusterUpgrade over every cluster.
    Hub(crate::bench_hub::HubBench),
    /// The agent's own scrape and rule evaluation on a big cluster, beside a real Prometheus
    /// scraping the same targets and evaluating the same rules.
    Health(crate::bench_health::HealthBench),
    /// The agent's cost collection on a big cluster: an hour of Metrics API samples priced
    /// and fed to the right-sizing states, the hour's report and the recommendations.
    Cost(crate::bench_cost::CostBench),
    /// The hub's fleet cost report over thousands of clusters: ingest of their hours, and
    /// the report by cluster, namespace and workload over hourly and daily windows.
    CostFleet(crate::bench_cost_fleet::CostFleetBench),
    /// The hub's posture over thousands of clusters: ingest of one report each over HTTP,
    /// the fleet aggregate and one control's findings.
    PostureFleet(crate::bench_posture_fleet::PostureFleetBench),
    /// The agent's security posture evaluation on a big cluster (every pod streamed through
    /// the checks), beside `kubectl get pods -A` listing the same pods.
    Posture(crate::bench_posture::PostureBench),
}

#[derive(clap::Args, Debug)]
pub struct SimBench {
    /// Nodes of the big cluster.
    #[arg(long, default_value_t = 10_000)]
    pub nodes: u32,
    /// Pods of the big cluster.
    #[arg(long, default_value_t = 1_000_000)]
    pub pods: u64,
    /// Concurrent watchers for the fan-out measurement.
    #[arg(long, default_value_t = 100)]
    pub watchers: usize,
    /// Small clusters for the startup measurement.
    #[arg(long, default_value_t = 5_000)]
    pub small_clusters: u32,
    /// Pods of the cluster that kubectl and kube-rs list side by side.
    #[arg(long, default_value_t = 100_000)]
    pub compare_pods: u64,
}

/// The middle value (the upper one of an even count); 0 for none.
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Resident and peak resident memory of this process, in MiB (Linux /proc).
pub(crate) fn rss_mib() -> (f64, f64) {
    proc_memory_mib("self").unwrap_or((0.0, 0.0))
}

/// VmRSS and VmHWM of process `pid` ("self" for this one) in MiB, from /proc; `None` when
/// the process is gone.
pub(crate) fn proc_memory_mib(pid: &str) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    Some((field("VmRSS:"), field("VmHWM:")))
}

struct Served {
    twin: Arc<Twin>,
    dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

async fn serve(fleet: capstan_sim::fleet::FleetSpec) -> Result<Served> {
    let clock = Arc::new(ScaledClock::starting_now(1.0));
    let twin = Twin::new(fleet, clock, TwinConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let pki = Pki::generate()?;
    let dir = tempfile::tempdir()?;
    let configs = write_kubeconfigs(&twin, dir.path(), addr, &pki.ca_pem)?;
    let served = twin.clone();
    tokio::spawn(async move { serve_tls(served, listener, &pki).await });
    Ok(Served {
        twin,
        dir,
        kubeconfig: configs.merged,
    })
}

async fn client(s: &Served, context: &str) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(&s.kubeconfig)?;
    let opts = kube::config::KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &opts).await?;
    Ok(kube::Client::try_from(config)?)
}

/// Page through every pod with `limit=500`, counting items without building typed objects.
/// How a benchmark client treats each page of a list.
#[derive(Clone, Copy)]
enum Decode {
    /// Decode every item (as any client that uses the objects does).
    Items,
    /// Read only the list's metadata (the continue token), to measure the server and transport.
    MetadataOnly,
}

/// Page through every pod with `limit=500`: (items, pages). Items are never built into typed
/// objects.
async fn list_all_pods(client: &kube::Client, decode: Decode) -> Result<(u64, u64)> {
    const LIMIT: u64 = 500;
    #[derive(serde::Deserialize)]
    struct Page {
        metadata: Meta,
        #[serde(default)]
        items: Vec<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "continue", default)]
        cont: Option<String>,
    }
    let (mut items, mut pages, mut cont) = (0u64, 0u64, None::<String>);
    loop {
        let mut uri = format!("/api/v1/pods?limit={LIMIT}");
        if let Some(c) = &cont {
            uri.push_str(&format!("&continue={c}"));
        }
        let req = http::Request::get(uri).body(Vec::new())?;
        let text = client.request_text(req).await?;
        // The twin writes a list's metadata before its items, so the prefix holds the token.
        let prefix = match (decode, text.find(",\"items\":[")) {
            (Decode::MetadataOnly, Some(at)) => Some(format!("{}}}", &text[..at])),
            _ => None,
        };
        let page: Page = serde_json::from_str(prefix.as_deref().unwrap_or(&text))?;
        pages += 1;
        let next = page.metadata.cont.filter(|c| !c.is_empty());
        items += match (&prefix, &next) {
            // A page with a continue token is full.
            (Some(_), Some(_)) => LIMIT,
            (Some(_), None) => serde_json::from_str::<Page>(&text)?.items.len() as u64,
            (None, _) => page.items.len() as u64,
        };
        match next {
            Some(c) => cont = Some(c),
            None => return Ok((items, pages)),
        }
    }
}

fn one_cluster(name: &str, nodes: u32, pods: u64, seed: u64) -> capstan_sim::fleet::FleetSpec {
    let mut fleet = plan_fleet(&FleetOptions {
        tier: Tier::Enterprise,
        clusters: Some(1),
        nodes: Some(nodes),
        pods: Some(pods),
        seed,
    });
    if let Some(c) = fleet.clusters.first_mut() {
        c.name = name.to_string();
    }
    fleet
}

async fn big_cluster(b: &SimBench) -> Result<serde_json::Value> {
    let served = serve(one_cluster("big", b.nodes, b.pods, 1)).await?;
    let cluster = served.twin.cluster("big").context("cluster")?.clone();
    let (rss0, _) = rss_mib();
    let sw = Stopwatch::start();
    let (generation_s, pods_made, json_bytes, stored_bytes) = {
        let data = served.twin.lock(&cluster);
        let generation_s = sw.elapsed().as_secs_f64();
        let (n, json, stored) = data
            .store
            .range(&capstan_sim::cluster::keys::PODS, "")
            .fold((0usize, 0usize, 0usize), |(n, j, s), p| {
                let (json, stored) = p.json_sizes();
                (n + 1, j + json, s + stored)
            });
        (generation_s, n, json, stored)
    };
    let (rss1, peak1) = rss_mib();
    let client = client(&served, "big").await?;
    let sw = Stopwatch::start();
    let (listed, pages) = list_all_pods(&client, Decode::Items).await?;
    let list_s = sw.elapsed().as_secs_f64();
    let sw = Stopwatch::start();
    let (listed_meta, _) = list_all_pods(&client, Decode::MetadataOnly).await?;
    let list_meta_s = sw.elapsed().as_secs_f64();

    // Watch fan-out: N watchers on pods in one namespace, then a burst of updates.
    let ns = {
        let data = served.twin.lock(&cluster);
        data.store
            .range(&capstan_sim::cluster::keys::PODS, "")
            .next()
            .map(|p| p.key.namespace.to_string())
            .unwrap_or_default()
    };
    let rv = served.twin.lock(&cluster).store.current_rv();
    let updates = 1_000u64;
    let mut tasks = Vec::new();
    for _ in 0..b.watchers {
        let c = client.clone();
        let ns = ns.clone();
        tasks.push(tokio::spawn(async move {
            let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                kube::Api::namespaced(c, &ns);
            let wp = kube::api::WatchParams::default().timeout(120);
            let mut stream = api.watch(&wp, &rv.to_string()).await?.boxed();
            let mut seen = 0u64;
            while let Some(ev) = stream.next().await {
                if matches!(ev?, kube::api::WatchEvent::Added(_)) {
                    seen += 1;
                    if seen == updates {
                        break;
                    }
                }
            }
            anyhow::Ok(seen)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sw = Stopwatch::start();
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), &ns);
    for i in 0..updates {
        let cm: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("bench-{i}")}, "data": {"i": i.to_string()}}),
        )?;
        cms.create(&Default::default(), &cm).await?;
    }
    let mut delivered = 0u64;
    for t in tasks {
        delivered += t.await??;
    }
    let fanout_s = sw.elapsed().as_secs_f64();
    let (_, peak2) = rss_mib();
    Ok(json!({
        "nodes": b.nodes, "pods": pods_made,
        "generation_seconds": generation_s,
        "rss_mib_before": rss0, "rss_mib_after_generation": rss1, "peak_rss_mib_after_generation": peak1,
        "pod_json_bytes_per_pod": json_bytes / pods_made.max(1), "pod_stored_bytes_per_pod": stored_bytes / pods_made.max(1),
        "list": {"items": listed, "pages": pages, "seconds": list_s, "pods_per_second": listed as f64 / list_s},
        "list_client_reads_metadata_only": {"items": listed_meta, "seconds": list_meta_s, "pods_per_second": listed_meta as f64 / list_meta_s},
        "watch_fanout": {"watchers": b.watchers, "events_each": updates, "events_delivered": delivered, "seconds": fanout_s, "events_per_second": delivered as f64 / fanout_s},
        "peak_rss_mib": peak2,
        "served_from": served.dir.path().display().to_string(),
    }))
}

async fn many_small(b: &SimBench) -> Result<serde_json::Value> {
    let (rss0, _) = rss_mib();
    let sw = Stopwatch::start();
    let fleet = plan_fleet(&FleetOptions {
        tier: Tier::Small,
        clusters: Some(b.small_clusters),
        nodes: None,
        pods: None,
        seed: 3,
    });
    let served = serve(fleet).await?;
    let startup_s = sw.elapsed().as_secs_f64();
    let (rss1, _) = rss_mib();
    // Touch ten clusters, as a client would, to show what one generated cluster costs.
    let sw = Stopwatch::start();
    let mut pods = 0usize;
    let touched: Vec<_> = served.twin.clusters().take(10).cloned().collect();
    for c in &touched {
        pods += served
            .twin
            .lock(c)
            .store
            .range(&capstan_sim::cluster::keys::PODS, "")
            .count();
    }
    let touch_s = sw.elapsed().as_secs_f64();
    let (rss2, _) = rss_mib();
    Ok(json!({
        "clusters": b.small_clusters, "startup_seconds": startup_s, "rss_mib_before": rss0, "rss_mib_after_startup": rss1,
        "ten_clusters_materialized": {"pods": pods, "seconds": touch_s, "rss_mib": rss2},
    }))
}

async fn kubectl_vs_kube(b: &SimBench) -> Result<serde_json::Value> {
    let served = serve(one_cluster(
        "compare",
        (b.compare_pods / 60).max(10) as u32,
        b.compare_pods,
        2,
    ))
    .await?;
    let cluster = served.twin.cluster("compare").context("cluster")?.clone();
    drop(served.twin.lock(&cluster));
    let client = client(&served, "compare").await?;
    let sw = Stopwatch::start();
    let (kube_items, _) = list_all_pods(&client, Decode::Items).await?;
    let kube_s = sw.elapsed().as_secs_f64();
    let sw = Stopwatch::start();
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::all(client.clone());
    let mut typed = 0usize;
    let mut lp = kube::api::ListParams::default().limit(500);
    loop {
        let page = api.list(&lp).await?;
        typed += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    let typed_s = sw.elapsed().as_secs_f64();
    // kubectl pages 500 at a time through its client-side rate limiter; with
    // `--chunk-size=0` it asks once, which shows what the limiter costs.
    let (kubectl_rows, kubectl_s) = time_kubectl(&served, &[]).await?;
    let (one_rows, one_s) = time_kubectl(&served, &["--chunk-size=0"]).await?;
    Ok(json!({
        "pods": b.compare_pods,
        "kubectl_get_pods_all_namespaces": {"rows": kubectl_rows, "seconds": kubectl_s},
        "kubectl_get_pods_all_namespaces_one_request": {"rows": one_rows, "seconds": one_s},
        "kube_rs_typed_list": {"items": typed, "seconds": typed_s},
        "kube_rs_raw_list": {"items": kube_items, "seconds": kube_s},
        "ratio_kubectl_over_kube_rs_typed": kubectl_s / typed_s,
    }))
}

/// `kubectl get pods -A --no-headers` against the served cluster: (rows, seconds).
async fn time_kubectl(served: &Served, extra: &[&str]) -> Result<(usize, f64)> {
    let sw = Stopwatch::start();
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&served.kubeconfig)
        .args(["--context", "compare", "get", "pods", "-A", "--no-headers"])
        .args(extra)
        .output()
        .await
        .context("running kubectl")?;
    let seconds = sw.elapsed().as_secs_f64();
    Ok((
        String::from_utf8_lossy(&out.stdout).lines().count(),
        seconds,
    ))
}

/// `kubectl <args>` against `kubeconfig`, `runs` times, output discarded: the seconds of each
/// run. Benches time it beside our own reading of the same cluster.
pub(crate) async fn time_kubectl_runs(
    kubeconfig: &std::path::Path,
    args: &[&str],
    runs: u32,
) -> Result<Vec<f64>> {
    let mut seconds = Vec::new();
    for _ in 0..runs {
        let sw = Stopwatch::start();
        let status = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .await
            .with_context(|| format!("running kubectl {}", args.join(" ")))?;
        anyhow::ensure!(
            status.success(),
            "kubectl {} failed: {status}",
            args.join(" ")
        );
        seconds.push(sw.elapsed().as_secs_f64());
    }
    Ok(seconds)
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::CostFleet(b) => {
            let report = crate::bench_cost_fleet::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::PostureFleet(b) => {
            let report = crate::bench_posture_fleet::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Posture(b) => {
            let report = crate::bench_posture::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Cost(b) => {
            let report = crate::bench_cost::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Agent(b) => {
            let report = crate::bench_agent::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Sim(b) => {
            let compare = kubectl_vs_kube(&b).await?;
            let small = many_small(&b).await?;
            let big = big_cluster(&b).await?;
            let report = json!({"bench": "sim", "big_cluster": big, "small_clusters": small, "kubectl_vs_kube_rs": compare});
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Drain(b) => {
            let report = crate::bench_drain::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Hub(b) => {
            let report = crate::bench_hub::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Health(b) => {
            let report = crate::bench_health::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Roll(b) => {
            let report = crate::bench_roll::run(b).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}
