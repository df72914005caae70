//! `capstan sim`: the Kubernetes API twin for a generated or described fleet.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_clock::ScaledClock;
use capstan_sim::fleet::{FleetOptions, Tier, parse_fleet_yaml, plan_fleet};
use capstan_sim::server::{Pki, read_rv_floor, serve_tls, write_kubeconfigs, write_rv_floor};
use capstan_sim::{Twin, TwinConfig};

#[derive(clap::Args, Debug)]
pub struct SimArgs {
    /// Organisation size to generate: small, medium, large or enterprise.
    #[arg(long, default_value = "small", conflicts_with = "fleet")]
    pub tier: String,
    /// A fleet YAML file describing the exact clusters to serve.
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// Number of clusters (overrides the tier's range).
    #[arg(long)]
    pub clusters: Option<u32>,
    /// Nodes per cluster (overrides the tier's range).
    #[arg(long)]
    pub nodes: Option<u32>,
    /// Pods per cluster (overrides the tier's range).
    #[arg(long)]
    pub pods: Option<u64>,
    /// Seed: the same seed gives the same fleet.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Where to write the kubeconfigs (one per cluster plus a merged `kubeconfig`).
    #[arg(long, default_value = "capstan-sim")]
    pub kubeconfig_dir: PathBuf,
}

pub fn fleet_from(args: &SimArgs) -> Result<capstan_sim::fleet::FleetSpec> {
    if let Some(path) = &args.fleet {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return parse_fleet_yaml(&text).with_context(|| format!("in {}", path.display()));
    }
    let tier = Tier::parse(&args.tier).map_err(|e| anyhow::anyhow!("--tier: {e}"))?;
    Ok(plan_fleet(&FleetOptions {
        tier,
        clusters: args.clusters,
        nodes: args.nodes,
        pods: args.pods,
        seed: args.seed,
    }))
}

pub async fn run(args: SimArgs) -> Result<()> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        bail!(
            "--time-scale must be a positive number, got {}",
            args.time_scale
        );
    }
    let fleet = fleet_from(&args)?;
    let clock = Arc::new(ScaledClock::starting_now(args.time_scale));
    let config = TwinConfig {
        rv_floor: read_rv_floor(&args.kubeconfig_dir),
        ..TwinConfig::default()
    };
    let twin = Twin::new(fleet, clock, config);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let pki = Pki::generate()?;
    let configs = write_kubeconfigs(&twin, &args.kubeconfig_dir, addr, &pki.ca_pem)?;
    let names: Vec<&str> = twin.clusters().map(|c| c.name.as_str()).collect();
    println!(
        "capstan sim: serving {} clusters on https://{addr}/clusters/<name>",
        names.len()
    );
    println!(
        "  kubeconfig (a context per cluster): {}",
        configs.merged.display()
    );
    println!(
        "  try:  kubectl --kubeconfig {} get nodes",
        configs.merged.display()
    );
    println!(
        "        kubectl --kubeconfig {} --context {} get pods -A",
        configs.merged.display(),
        names.last().unwrap_or(&"")
    );
    println!(
        "  clusters: {}",
        names
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if names.len() > 10 {
        println!(
            "            ... and {} more (GET /sim/v1/clusters)",
            names.len() - 10
        );
    }
    let dir = args.kubeconfig_dir.clone();
    let saver = twin.clone();
    tokio::spawn(async move {
        loop {
            write_rv_floor(&dir, saver.rv.current());
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let server = serve_tls(twin.clone(), listener, &pki);
    tokio::select! {
        r = server => r.context("serving")?,
        _ = tokio::signal::ctrl_c() => {}
    }
    write_rv_floor(&args.kubeconfig_dir, twin.rv.current());
    Ok(())
}
