//! `capstan`: operate fleets of Kubernetes clusters.

mod bench;
mod drain_cmd;
mod sim;
mod target_args;

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
    /// Serve a simulated fleet through a faithful subset of the Kubernetes API.
    Sim(sim::SimArgs),
    /// Drain a node like `kubectl drain`, reporting what blocks it.
    Drain(drain_cmd::DrainArgs),
    /// Make a node schedulable again and clear Capstan's drain marks.
    Uncordon(drain_cmd::UncordonArgs),
    /// Scale benchmarks that print JSON.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Sim(args) => sim::run(args).await,
            Command::Bench(cmd) => bench::run(cmd).await,
            Command::Drain(args) => drain_cmd::run(args).await,
            Command::Uncordon(args) => drain_cmd::uncordon(args).await,
        }
    })
}
