//! `capstan`: operate fleets of Kubernetes clusters.

mod agent;
mod apply_cmd;
mod bench;
mod bench_agent;
mod bench_cost;
mod bench_cost_fleet;
mod bench_drain;
mod bench_health;
mod bench_hub;
mod bench_posture;
mod bench_posture_fleet;
mod bench_roll;
mod child_twin;
mod cost_args;
mod cost_cmd;
mod delete_cmd;
mod demo;
mod drain_cmd;
mod export_cmd;
mod health_args;
mod hub_cmd;
mod posture_args;
mod posture_cmd;
mod sim;
mod target_args;
mod upgrade_cmd;
mod upgrade_ctl;
mod upgrade_watch;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "capstan",
    version,
    about = "Operate fleets of Kubernetes clusters: upgrades, node lifecycle, health, cost and security posture"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole system on a simulated fleet: twin, hosted agents and hub, rolling the
    /// canonical canary ClusterUpgrade, with live progress and a summary.
    Demo(demo::DemoArgs),
    /// Serve a simulated fleet through a faithful subset of the Kubernetes API.
    Sim(sim::SimArgs),
    /// Drain a node like `kubectl drain`, reporting what blocks it.
    Drain(drain_cmd::DrainArgs),
    /// Make a node schedulable again and clear Capstan's drain marks.
    Uncordon(drain_cmd::UncordonArgs),
    /// Commands on one cluster.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// The long-lived agent: keeps a view of the cluster and reports its summary.
    Agent(agent::AgentArgs),
    /// Serve the hub: the fleet inventory, the agents' API and ClusterUpgrade rollouts.
    Hub(hub_cmd::HubArgs),
    /// Create a ClusterUpgrade on the hub from a file.
    Apply(apply_cmd::ApplyArgs),
    /// List the hub's clusters, upgrades or alerts.
    Get(apply_cmd::GetArgs),
    /// Show one ClusterUpgrade in detail: phase, step, each cluster, recent events.
    Describe(upgrade_ctl::DescribeArgs),
    /// Deregister a cluster at the hub (its inventory entry and agent token).
    Delete(delete_cmd::DeleteArgs),
    /// Operate a ClusterUpgrade on the hub: pause, resume, abort, approve, retry, skip.
    #[command(subcommand)]
    Upgrade(upgrade_ctl::UpgradeCommand),
    /// The fleet's cost, savings recommendations and the price sheet.
    #[command(subcommand)]
    Cost(cost_cmd::CostCommand),
    /// The fleet's security posture: coverage of RBAC, network policy, pod security, secrets
    /// and image scanning against their targets, and the findings behind it.
    #[command(subcommand)]
    Posture(posture_cmd::PostureCommand),
    /// The health rules for Prometheus (PrometheusRule) and a Grafana dashboard.
    #[command(subcommand)]
    Export(export_cmd::ExportCommand),
    /// Scale benchmarks that print JSON.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// List and summarize the cluster: versions, nodes by pool, phase and condition, pods,
    /// requested resources, and what would block a drain.
    Summary(agent::SummaryArgs),
    /// Upgrade the control plane (one minor at a time) and roll every node pool to the new
    /// version with maxSurge/maxUnavailable; run again to resume an interrupted upgrade.
    Upgrade(upgrade_cmd::UpgradeArgs),
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes, without a backtrace: these are the user's errors to read.
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    use std::io::IsTerminal;
    let cli = Cli::parse();
    // The demo's output is its progress and summary; its components log warnings only.
    let default_level = match cli.command {
        Command::Demo(_) => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Sim(args) => sim::run(args).await,
            Command::Bench(cmd) => bench::run(cmd).await,
            Command::Export(cmd) => export_cmd::run(cmd),
            Command::Cost(cmd) => cost_cmd::run(cmd).await,
            Command::Posture(cmd) => posture_cmd::run(cmd).await,
            Command::Cluster(ClusterCommand::Summary(args)) => agent::summary(args).await,
            Command::Cluster(ClusterCommand::Upgrade(args)) => upgrade_cmd::run(args).await,
            Command::Agent(args) => agent::run(args).await,
            Command::Hub(args) => hub_cmd::run(args).await,
            Command::Apply(args) => apply_cmd::apply(args).await,
            Command::Get(args) => apply_cmd::get(args).await,
            Command::Describe(args) => upgrade_ctl::describe(args).await,
            Command::Delete(args) => delete_cmd::run(args).await,
            Command::Upgrade(cmd) => upgrade_ctl::run(cmd).await,
            Command::Drain(args) => drain_cmd::run(args).await,
            Command::Uncordon(args) => drain_cmd::uncordon(args).await,
        }
    })
}
