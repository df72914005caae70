//! `capstan cluster upgrade`: the control plane to `--to`, one minor at a time, then every
//! node pool rolled with `--max-surge`/`--max-unavailable`, with progress bars and a final
//! phase-timing table. Run it again after an interruption: it continues where the cluster is.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_clock::{SharedClock, SystemClock};
use capstan_core::duration::{format_duration, parse_duration};
use capstan_core::lifecycle::{LifecycleSlos, PhaseSlo, PhaseStats};
use capstan_core::upgrade::IntOrPercent;
use capstan_kube::drain::{DrainOptions, DrainProgress, Drainer, Escalation};
use capstan_kube::events::EventRecorder;
use capstan_kube::provider::Provider;
use capstan_kube::provider::exec::{ExecConfig, ExecProvider};
use capstan_kube::provider::sim::SimProvider;
use capstan_kube::upgrade::{
    ClusterUpgrader, UpgradeObserver, UpgradeOptions, UpgradeProgress, UpgradeReport,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::sync::{Mutex, MutexGuard};

use crate::target_args::TargetArgs;

#[derive(clap::Args, Debug)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The version to reach: `1.31` (the provider's newest 1.31 patch) or `1.31.4`.
    #[arg(long)]
    pub to: String,
    /// Nodes above a pool's size at once: a count or a percentage of the pool (rounded up).
    #[arg(long, default_value = "10%")]
    pub max_surge: String,
    /// Nodes of a pool unavailable at once: a count or a percentage (rounded down).
    #[arg(long, default_value = "0")]
    pub max_unavailable: String,
    /// How long one node's drain may take (e.g. 30m); zero waits forever.
    #[arg(long, default_value = "30m")]
    pub drain_timeout: String,
    /// At the drain timeout: halt (leave the node cordoned, report what blocks, stop the
    /// upgrade) or force (delete the held pods bypassing their PodDisruptionBudgets).
    #[arg(long, default_value = "halt", value_parser = ["halt", "force"])]
    pub on_drain_timeout: String,
    /// Also drain pods that declare no controller (they are lost with the node anyway).
    #[arg(long)]
    pub force: bool,
    /// Only roll this pool (repeatable); default every pool.
    #[arg(long = "pool")]
    pub pools: Vec<String>,
    /// How machines and the control plane are replaced: `sim` (the twin's fake cloud) or
    /// `exec` (a command per action).
    #[arg(long, default_value = "sim", value_parser = ["sim", "exec"])]
    pub provider: String,
    /// The `exec` provider's command, split on whitespace (no shell).
    #[arg(long)]
    pub exec_command: Option<String>,
    /// Real time between looks at the cluster while waiting (e.g. 2s, 200ms).
    #[arg(long, default_value = "2s")]
    pub poll_interval: String,
    /// Check the request (versions, path, skew policy, settings) and print the plan only.
    #[arg(long)]
    pub plan: bool,
    /// Output of the final report: text (phase-timing table) or json.
    #[arg(short = 'o', long, default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
}

impl UpgradeArgs {
    fn options(&self) -> Result<(UpgradeOptions, DrainOptions)> {
        let max_surge = IntOrPercent::parse("--max-surge", &self.max_surge)?;
        let max_unavailable = IntOrPercent::parse("--max-unavailable", &self.max_unavailable)?;
        let drain_timeout = parse_duration(&self.drain_timeout).context("--drain-timeout")?;
        let poll_interval = parse_duration(&self.poll_interval).context("--poll-interval")?;
        let upgrade = UpgradeOptions {
            max_surge,
            max_unavailable,
            pools: (!self.pools.is_empty()).then(|| self.pools.clone()),
            poll_interval: poll_interval.max(Duration::from_millis(10)),
            ..UpgradeOptions::new(&self.to)
        };
        // Nodes are replaced, not rebooted: their emptyDir data goes with them either way,
        // and DaemonSet pods go with the node (kubectl's flags for a node being removed).
        let drain = DrainOptions {
            ignore_daemonsets: true,
            delete_emptydir_data: true,
            force: self.force,
            timeout: (!drain_timeout.is_zero()).then_some(drain_timeout),
            on_deadline: if self.on_drain_timeout == "force" {
                Escalation::Force
            } else {
                Escalation::Halt
            },
            ..DrainOptions::default()
        };
        Ok((upgrade, drain))
    }
}

pub async fn run(args: UpgradeArgs) -> Result<()> {
    let (options, drain_options) = args.options()?;
    let target = args.target.target();
    let client = target.client().await?;
    let system: SharedClock = Arc::new(SystemClock);
    let recorder = EventRecorder::new(client.clone(), system.clone(), "capstan-upgrade");
    let provider: Arc<dyn Provider> = match args.provider.as_str() {
        "exec" => {
            let Some(command) = &args.exec_command else {
                bail!("--provider exec needs --exec-command");
            };
            let command: Vec<String> = command.split_whitespace().map(str::to_string).collect();
            if command.is_empty() {
                bail!("--exec-command is empty");
            }
            let cluster = args
                .target
                .context
                .clone()
                .unwrap_or_else(|| target.describe());
            Arc::new(ExecProvider::new(
                ExecConfig::new(command, &cluster),
                client.clone(),
                Some(recorder.clone()),
            ))
        }
        _ => Arc::new(
            SimProvider::connect(client.clone())
                .await
                .context("the sim provider (is this a `capstan sim` cluster?)")?,
        ),
    };
    let clock = provider.clock().unwrap_or(system);
    let drainer = Drainer::new(
        client.clone(),
        target.eviction_client().await?,
        clock.clone(),
        drain_options,
    );
    let recorder = EventRecorder::new(client.clone(), clock.clone(), "capstan-upgrade");
    let upgrader = ClusterUpgrader::new(client, provider, drainer, recorder, clock, options);

    if args.plan {
        let plan = upgrader.plan().await?;
        let steps: Vec<String> = plan
            .control_plane_steps
            .iter()
            .map(|v| v.to_string())
            .collect();
        println!("target: {}", plan.target);
        println!(
            "control plane: {}",
            if steps.is_empty() {
                "already there".to_string()
            } else {
                steps.join(" -> ")
            }
        );
        return Ok(());
    }

    let bars = Bars::new();
    let result = upgrader.run(&bars).await;
    bars.finish();
    let report = result.with_context(|| format!("upgrading {}", target.describe()))?;
    if args.output == "json" {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(())
}

/// Progress bars: one for the control plane, one per pool (nodes updated of its size), with
/// drains and terminations printed above them.
struct Bars {
    multi: MultiProgress,
    control_plane: Mutex<Option<ProgressBar>>,
    pools: Mutex<Vec<(String, ProgressBar)>>,
}

/// A poisoned lock only means an observer call panicked; the bars are still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Bars {
    fn new() -> Self {
        Self {
            multi: MultiProgress::new(),
            control_plane: Mutex::new(None),
            pools: Mutex::new(Vec::new()),
        }
    }

    fn line(&self, text: String) {
        // Without a terminal the bars are hidden, and so would be lines printed above them.
        if self.multi.is_hidden() {
            println!("{text}");
        } else {
            let _ = self.multi.println(text);
        }
    }

    fn pool(&self, pool: &str) -> Option<ProgressBar> {
        lock(&self.pools)
            .iter()
            .find(|(p, _)| p == pool)
            .map(|(_, b)| b.clone())
    }

    fn finish(&self) {
        if let Some(b) = lock(&self.control_plane).take() {
            b.finish_and_clear();
        }
        for (_, b) in lock(&self.pools).drain(..) {
            b.finish();
        }
    }
}

impl UpgradeObserver for Bars {
    fn observe(&self, progress: &UpgradeProgress) {
        match progress {
            UpgradeProgress::Planned { target, control_plane_steps, pools, resumed } => {
                let verb = if *resumed { "Resuming the upgrade" } else { "Upgrading" };
                let steps: Vec<String> =
                    control_plane_steps.iter().map(|v| v.to_string()).collect();
                self.line(format!(
                    "{verb} to {target}: control plane {}; pools {}",
                    if steps.is_empty() { "already there".into() } else { steps.join(" -> ") },
                    pools
                        .iter()
                        .map(|(p, n)| format!("{p} ({n} nodes)"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            UpgradeProgress::ControlPlaneUpgrading { from, to } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} control plane {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(format!("{from} -> {to}"));
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Some(old) = lock(&self.control_plane).replace(bar) {
                    old.finish_and_clear();
                }
            }
            UpgradeProgress::ControlPlaneUpgraded { version } => {
                if let Some(b) = lock(&self.control_plane).take() {
                    b.finish_and_clear();
                }
                self.line(format!("control plane at {version}"));
            }
            UpgradeProgress::PoolStarted { pool, size, budget } => {
                let bar = self.multi.add(ProgressBar::new(u64::from(*size)));
                bar.set_style(
                    ProgressStyle::with_template(
                        "pool {prefix} [{bar:30}] {pos}/{len} updated {msg} [{elapsed}]",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(pool.clone());
                self.line(format!(
                    "pool {pool}: {size} nodes, surge {}, unavailable {}",
                    budget.surge, budget.unavailable
                ));
                lock(&self.pools).push((pool.clone(), bar));
            }
            UpgradeProgress::PoolStatus { pool, status } => {
                if let Some(bar) = self.pool(pool) {
                    bar.set_position(u64::from(status.updated.min(status.size)));
                    bar.set_message(format!(
                        "({} provisioning, {} draining, {} terminating)",
                        status.provisioning, status.draining, status.terminating
                    ));
                }
            }
            UpgradeProgress::Provisioning { pool, count } => {
                self.line(format!("pool {pool}: ordering {count} node(s)"));
            }
            UpgradeProgress::DrainStarted { node, resume, .. } => {
                let verb = if *resume { "resuming the drain of" } else { "draining" };
                self.line(format!("{verb} node/{node}"));
            }
            UpgradeProgress::Drain { node, progress } => match progress {
                DrainProgress::Forced { pod } => self.line(format!(
                    "node/{node}: pod {pod} deleted at the deadline, bypassing its PodDisruptionBudget"
                )),
                DrainProgress::Warning { message } => {
                    self.line(format!("node/{node}: Warning: {message}"))
                }
                _ => tracing::debug!(node, ?progress, "drain"),
            },
            UpgradeProgress::Drained { node, evicted, .. } => {
                self.line(format!("node/{node} drained ({evicted} pod(s) evicted)"));
            }
            UpgradeProgress::Terminating { node, .. } => {
                self.line(format!("node/{node} terminating"));
            }
            UpgradeProgress::PoolDone { pool } => {
                if let Some(bar) = self.pool(pool) {
                    bar.set_position(bar.length().unwrap_or(0));
                    bar.set_message("done");
                }
            }
        }
    }
}

/// Whole seconds: sub-second digits are noise in a table of minutes.
fn seconds(d: Duration) -> String {
    format_duration(Duration::from_secs(d.as_secs()))
}

fn cell(d: Option<Duration>) -> String {
    d.map(seconds).unwrap_or_else(|| "-".to_string())
}

/// The phase-timing table, one row per phase: phases completed (COUNT) and under way (NOW),
/// percentiles of the completed ones, the lifecycle table's expectation, and how many were
/// slow or stuck against it.
pub fn phase_table(stats: &[PhaseStats]) -> String {
    let slos = LifecycleSlos::default();
    let mut out = format!(
        "{:<14} {:>6} {:>4} {:>10} {:>10} {:>10} {:>10} {:>5} {:>6}\n",
        "PHASE", "COUNT", "NOW", "P50", "P95", "MAX", "EXPECTED", "SLOW", "STUCK"
    );
    for s in stats {
        let expected = match slos.slo(s.phase) {
            Some(PhaseSlo {
                min,
                max: Some(max),
            }) => {
                format!("{}-{}", format_duration(min), format_duration(max))
            }
            _ => "-".to_string(),
        };
        out.push_str(&format!(
            "{:<14} {:>6} {:>4} {:>10} {:>10} {:>10} {:>10} {:>5} {:>6}\n",
            s.phase.as_str(),
            s.completed,
            s.in_progress,
            cell(s.p50),
            cell(s.p95),
            cell(s.max),
            expected,
            s.slow,
            s.stuck
        ));
    }
    out
}

fn print_summary(report: &UpgradeReport) {
    let took = report
        .finished
        .duration_since(report.started)
        .try_into()
        .unwrap_or(Duration::ZERO);
    println!("Upgraded to {} in {}", report.target, seconds(took));
    for p in &report.pools {
        println!(
            "pool {}: {} node(s) ordered, {} terminated, {} drained",
            p.pool,
            p.created.len(),
            p.terminated.len(),
            p.drains.len()
        );
    }
    if !report.unpooled.is_empty() {
        println!("not rolled (no pool label): {}", report.unpooled.join(", "));
    }
    println!();
    print!("{}", phase_table(&report.phase_stats));
}
