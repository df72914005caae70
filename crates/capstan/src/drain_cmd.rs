//! `capstan drain NODE`: `kubectl drain` with the same flags and output, plus a report of what
//! blocks a drain and an escalation policy at the deadline.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_clock::{SharedClock, SystemClock};
use capstan_core::duration::parse_duration;
use capstan_core::selector::LabelSelector;
use capstan_kube::drain::{
    DrainObserver, DrainOptions, DrainOutcome, DrainProgress, DrainReport, Drainer, Escalation,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::target_args::TargetArgs;

#[derive(clap::Args, Debug)]
pub struct DrainArgs {
    /// The node to drain.
    pub node: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Continue even if there are pods that do not declare a controller.
    #[arg(long)]
    pub force: bool,
    /// Ignore DaemonSet-managed pods.
    #[arg(long)]
    pub ignore_daemonsets: bool,
    /// Continue even if there are pods using emptyDir (local data is deleted).
    #[arg(long)]
    pub delete_emptydir_data: bool,
    /// Seconds each pod gets to terminate; negative uses the pod's own grace period.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// How long to wait before giving up (e.g. 30m); zero means forever.
    #[arg(long, default_value = "0s")]
    pub timeout: String,
    /// What to do with pods still held at the timeout: halt (leave the node cordoned and
    /// report the blockers, like kubectl) or force (delete them bypassing their
    /// PodDisruptionBudgets, recording an event for each).
    #[arg(long, default_value = "halt", value_parser = ["halt", "force"])]
    pub on_timeout: String,
    /// Label selector to filter pods on the node.
    #[arg(long, default_value = "")]
    pub pod_selector: String,
    /// Delete pods instead of evicting them, bypassing PodDisruptionBudgets.
    #[arg(long)]
    pub disable_eviction: bool,
    /// Stop waiting for pods deleted more than this many seconds ago; zero waits for all.
    #[arg(long, default_value_t = 0)]
    pub skip_wait_for_delete_timeout: u64,
    /// Seconds between retries of a refused eviction when the server gives no Retry-After.
    #[arg(long, default_value_t = 5)]
    pub eviction_retry_delay: u64,
    /// `none` or `server` (send dryRun=All: nothing changes).
    #[arg(long, default_value = "none", value_parser = ["none", "server"])]
    pub dry_run: String,
    /// Output format of the final report: text or json.
    #[arg(short = 'o', long, default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
}

impl DrainArgs {
    /// The drain options, or an error naming the flag.
    pub fn options(&self) -> Result<DrainOptions> {
        let timeout = parse_duration(&self.timeout).with_context(|| "--timeout")?;
        let pod_selector = if self.pod_selector.is_empty() {
            None
        } else {
            Some(LabelSelector::parse(&self.pod_selector).with_context(|| "--pod-selector")?)
        };
        Ok(DrainOptions {
            force: self.force,
            ignore_daemonsets: self.ignore_daemonsets,
            delete_emptydir_data: self.delete_emptydir_data,
            grace_period_seconds: (self.grace_period >= 0).then_some(self.grace_period),
            timeout: (!timeout.is_zero()).then_some(timeout),
            pod_selector,
            disable_eviction: self.disable_eviction,
            skip_wait_for_delete_timeout: (self.skip_wait_for_delete_timeout > 0)
                .then(|| Duration::from_secs(self.skip_wait_for_delete_timeout)),
            eviction_retry_delay: Duration::from_secs(self.eviction_retry_delay.max(1)),
            on_deadline: if self.on_timeout == "force" {
                Escalation::Force
            } else {
                Escalation::Halt
            },
            dry_run: self.dry_run == "server",
        })
    }
}

/// Prints kubectl's lines above a progress bar of pods gone.
struct ProgressPrinter {
    bar: ProgressBar,
    dry_run: bool,
}

impl ProgressPrinter {
    fn line(&self, text: String) {
        self.bar.suspend(|| println!("{text}"));
    }
}

impl DrainObserver for ProgressPrinter {
    fn observe(&self, progress: &DrainProgress) {
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        match progress {
            DrainProgress::Cordoned { node } => self.line(format!("node/{node} cordoned")),
            DrainProgress::Planned { pods, .. } => {
                self.bar.set_length(*pods as u64);
                self.bar.set_message("pods gone");
            }
            DrainProgress::Evicted { pod } => self.line(format!("evicting pod {pod}{dry}")),
            DrainProgress::Retrying { message, .. } => {
                self.bar.suspend(|| eprintln!("{message}"));
            }
            DrainProgress::Gone { pod } => {
                self.bar.inc(1);
                let name = pod.rsplit('/').next().unwrap_or(pod);
                self.line(format!("pod/{name} evicted"));
            }
            DrainProgress::Forced { pod } => {
                self.bar.inc(1);
                self.line(format!(
                    "pod {pod} deleted at the deadline, bypassing its PodDisruptionBudget"
                ));
            }
            DrainProgress::Warning { message } => {
                self.bar.suspend(|| eprintln!("Warning: {message}"));
            }
        }
    }
}

pub async fn run(args: DrainArgs) -> Result<()> {
    let options = args.options()?;
    let target = args.target.target();
    let client = target.client().await?;
    let eviction_client = target.eviction_client().await?;
    // Deadlines and event times on this machine's clock, as kubectl's.
    let clock: SharedClock = Arc::new(SystemClock);
    let drainer = Drainer::new(client, eviction_client, clock, options);
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed}]")
            .context("progress template")?,
    );
    let printer = ProgressPrinter {
        bar: bar.clone(),
        dry_run: drainer.options().dry_run,
    };
    let report = drainer.drain(&args.node, &printer).await;
    bar.finish_and_clear();
    let report = report.with_context(|| format!("draining node {}", args.node))?;
    if args.output == "json" {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    match &report.outcome {
        DrainOutcome::Drained => Ok(()),
        DrainOutcome::Refused { errors } => bail!(
            "unable to drain node {:?} due to error: [{}]; the node stays cordoned",
            report.node,
            errors.join(", ")
        ),
        DrainOutcome::Halted { message } => bail!("{message}; the node stays cordoned"),
        DrainOutcome::Failed { message } => bail!("{message}; the node stays cordoned"),
    }
}

fn print_text(report: &DrainReport) {
    if report.succeeded() {
        println!("node/{} drained", report.node);
    }
    if !report.blockers.is_empty() {
        let w_pod = report
            .blockers
            .iter()
            .map(|b| b.pod.len())
            .max()
            .unwrap_or(3)
            .max(3);
        let w_pdb = report
            .blockers
            .iter()
            .map(|b| b.pdb.len())
            .max()
            .unwrap_or(3)
            .max(3);
        eprintln!("{:w_pod$}   {:w_pdb$}   REASON", "POD", "PDB");
        for b in &report.blockers {
            let pdb = if b.pdb.is_empty() { "-" } else { &b.pdb };
            eprintln!("{:w_pod$}   {pdb:w_pdb$}   {}", b.pod, b.reason);
        }
    }
    if !report.forced.is_empty() {
        eprintln!(
            "{} pod(s) deleted at the deadline bypassing their PodDisruptionBudgets (events DrainForcedDeletion record each): {}",
            report.forced.len(),
            report.forced.join(", ")
        );
    }
}

#[derive(clap::Args, Debug)]
pub struct UncordonArgs {
    /// The node to make schedulable again.
    pub node: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `capstan uncordon NODE`: like `kubectl uncordon`, and also clears Capstan's drain marks;
/// a node an operator had cordoned before Capstan's drain stays cordoned.
pub async fn uncordon(args: UncordonArgs) -> Result<()> {
    let client = args.target.target().client().await?;
    if capstan_kube::cordon::uncordon(&client, &args.node).await? {
        println!("node/{} uncordoned", args.node);
    } else {
        println!(
            "node/{} left cordoned: it was cordoned before Capstan drained it (drain marks cleared)",
            args.node
        );
    }
    Ok(())
}
