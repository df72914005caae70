//! `capstan bench ...`: scale measurements that print JSON (figures for BENCHMARKS.md).

use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// The twin at scale: generation, memory, list throughput, watch fan-out.
    Sim(SimBench),
}

#[derive(clap::Args, Debug)]
pub struct SimBench {
    #[arg(long, default_value_t = 10_000)]
    pub nodes: u32,
    #[arg(long, default_value_t = 1_000_000)]
    pub pods: u64,
    #[arg(long, default_value_t = 100)]
    pub watchers: usize,
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Sim(b) => {
            println!(
                "{}",
                serde_json::json!({"todo": "bench", "nodes": b.nodes, "pods": b.pods, "watchers": b.watchers})
            );
            Ok(())
        }
    }
}
