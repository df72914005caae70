//! `capstan describe upgrade NAME` and the operator commands `capstan upgrade
//! pause|resume|abort|approve|retry|skip NAME`, over the hub's upgrades API.

use anyhow::{Context, Result, bail};
use capstan_clock::{Clock, SystemClock};
use capstan_core::duration::format_duration;
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_hub::api::UpgradeDetail;
use jiff::Timestamp;

use crate::apply_cmd::{HubArg, age, client, print_structured, send, table};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DescribeResource {
    #[value(
        alias = "upgrades",
        alias = "clusterupgrade",
        alias = "clusterupgrades"
    )]
    Upgrade,
}

#[derive(clap::Args, Debug)]
pub struct DescribeArgs {
    pub resource: DescribeResource,
    pub name: String,
    #[command(flatten)]
    pub hub: HubArg,
    /// Output format: text as kubectl describe, or the hub's detail as JSON or YAML.
    #[arg(short = 'o', long, default_value = "text", value_parser = ["text", "json", "yaml"])]
    pub output: String,
}

#[derive(clap::Args, Debug)]
pub struct NameArgs {
    /// The ClusterUpgrade's name.
    pub name: String,
    #[command(flatten)]
    pub hub: HubArg,
}

#[derive(clap::Args, Debug)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub upgrade: NameArgs,
    /// The step to approve, from 0; the step the rollout is at when omitted.
    #[arg(long)]
    pub step: Option<usize>,
}

#[derive(clap::Args, Debug)]
pub struct SkipArgs {
    #[command(flatten)]
    pub upgrade: NameArgs,
    /// The cluster to leave out of the rollout.
    #[arg(long)]
    pub cluster: String,
}

#[derive(clap::Subcommand, Debug)]
pub enum UpgradeCommand {
    /// Start no new clusters; those upgrading finish and are recorded.
    Pause(NameArgs),
    /// Continue a paused rollout, or a halted one whose failures are back within budget.
    Resume(NameArgs),
    /// Stop the rollout for good.
    Abort(NameArgs),
    /// Approve a step that waits for approval.
    Approve(ApproveArgs),
    /// Upgrade the failed clusters again, with the same frozen plan.
    Retry(NameArgs),
    /// Leave one cluster out of the rollout.
    Skip(SkipArgs),
    /// Follow the rollout live until it ends: progress bars on a terminal, one line per
    /// change otherwise; exit 0 when it succeeds, 1 when it fails or is aborted.
    Watch(crate::upgrade_watch::WatchArgs),
}

/// `https://hub/api/v1/upgrades/{name}[/{command}]`, the name as one escaped path segment.
pub(crate) fn upgrade_url(hub: &HubArg, name: &str, command: Option<&str>) -> Result<reqwest::Url> {
    let base = hub.hub.trim_end_matches('/');
    let mut url =
        reqwest::Url::parse(base).with_context(|| format!("--hub {base:?} is not a URL"))?;
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|()| anyhow::anyhow!("--hub {base:?} cannot have a path"))?;
        segments
            .pop_if_empty()
            .extend(["api", "v1", "upgrades", name]);
        if let Some(command) = command {
            segments.push(command);
        }
    }
    Ok(url)
}

pub async fn describe(args: DescribeArgs) -> Result<()> {
    let DescribeResource::Upgrade = args.resource;
    let request = client()?.get(upgrade_url(&args.hub, &args.name, None)?);
    let detail: UpgradeDetail =
        send(&format!("describing upgrade {:?}", args.name), request).await?;
    match args.output.as_str() {
        "text" => print!("{}", describe_text(&detail, SystemClock.now())),
        format => print_structured(format, &detail)?,
    }
    Ok(())
}

pub async fn run(command: UpgradeCommand) -> Result<()> {
    let mut step = None;
    let mut cluster = None;
    let (upgrade, verb, past) = match command {
        UpgradeCommand::Pause(a) => (a, "pause", "paused"),
        UpgradeCommand::Resume(a) => (a, "resume", "resumed"),
        UpgradeCommand::Abort(a) => (a, "abort", "aborted"),
        UpgradeCommand::Retry(a) => (a, "retry", "retried"),
        UpgradeCommand::Approve(a) => {
            step = a.step;
            (a.upgrade, "approve", "approved")
        }
        UpgradeCommand::Skip(a) => {
            cluster = Some(a.cluster);
            (a.upgrade, "skip", "skipped")
        }
        UpgradeCommand::Watch(a) => return crate::upgrade_watch::run(a).await,
    };
    let mut query = Vec::new();
    if let Some(step) = step {
        query.push(("step", step.to_string()));
    }
    if let Some(cluster) = &cluster {
        query.push(("cluster", cluster.clone()));
    }
    let request = client()?
        .post(upgrade_url(&upgrade.hub, &upgrade.name, Some(verb))?)
        .query(&query);
    let detail: UpgradeDetail =
        send(&format!("{verb} upgrade {:?}", upgrade.name), request).await?;
    let state = decode(&detail);
    let (phase, message) = state
        .as_ref()
        .map(|s| (format!("{:?}", s.phase), s.message.clone()))
        .unwrap_or_else(|| ("<unknown>".to_string(), String::new()));
    // The hub answers 200 to a command the rollout's phase does not take (it leaves the
    // state as it was), so say so rather than claim the command took effect.
    if let Some(state) = &state {
        let took = match verb {
            "pause" => Some(state.phase == RolloutPhase::Paused),
            "resume" => Some(!matches!(
                state.phase,
                RolloutPhase::Paused | RolloutPhase::Halted
            )),
            "abort" => Some(state.phase == RolloutPhase::Aborted),
            "approve" => step.map(|s| state.approved_steps.contains(&s)),
            "skip" => Some(detail.clusters.iter().any(|c| {
                Some(&c.cluster) == cluster.as_ref() && c.rollout.state == ClusterState::Skipped
            })),
            _ => None,
        };
        if took == Some(false) {
            // The machine records why it ignored a skip or an approval (not a pause, resume
            // or abort, which the phase explains).
            let why = match detail.events.last() {
                Some(e) if e.reason == "InputIgnored" && matches!(verb, "skip" | "approve") => {
                    e.message.clone()
                }
                _ => format!("its phase is {phase}{}", with_message(&message)),
            };
            bail!("clusterupgrade/{} was not {past}: {why}", upgrade.name);
        }
    }
    println!("clusterupgrade/{} {past}", upgrade.name);
    println!("phase: {phase}{}", with_message(&message));
    Ok(())
}

fn with_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    }
}

fn decode(detail: &UpgradeDetail) -> Option<RolloutState> {
    serde_json::from_value(detail.upgrade.status.clone()).ok()
}

fn ago(at: Option<Timestamp>, now: Timestamp) -> String {
    at.map_or_else(|| "-".to_string(), |at| format!("{} ago", age(at, now)))
}

/// Indents every line of `text` by two spaces, as kubectl describe nests its tables.
fn indented(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

fn describe_text(detail: &UpgradeDetail, now: Timestamp) -> String {
    let upgrade = &detail.upgrade;
    let mut fields: Vec<(&str, String)> = vec![
        ("Name", upgrade.name.clone()),
        (
            "Created",
            format!(
                "{} ({} ago)",
                upgrade.created_at,
                age(upgrade.created_at, now)
            ),
        ),
    ];
    match decode(detail) {
        Some(state) => {
            fields.push(("Phase", format!("{:?}", state.phase)));
            if !state.message.is_empty() {
                fields.push(("Message", state.message.clone()));
            }
            let steps = state.plan.steps.len();
            if let Some(step) = state.plan.steps.get(state.step) {
                fields.push((
                    "Step",
                    format!(
                        "{}/{steps} ({}%, pause {}{})",
                        state.step + 1,
                        step.percentage,
                        format_duration(step.pause),
                        if step.approval {
                            ", needs approval"
                        } else {
                            ""
                        }
                    ),
                ));
            } else {
                fields.push(("Step", format!("-/{steps}")));
            }
            if let Some(until) = state.soak_until {
                fields.push(("Soak Until", until.to_string()));
            }
            let total = state.plan.clusters.len();
            fields.push((
                "Upgraded",
                format!(
                    "{}/{total} ({} upgrading, {} pending, {} failed, {} skipped, {} removed)",
                    state.count(ClusterState::Succeeded),
                    state.count(ClusterState::Upgrading),
                    state.count(ClusterState::Pending),
                    state.count(ClusterState::Failed),
                    state.count(ClusterState::Skipped),
                    state.count(ClusterState::Removed),
                ),
            ));
            fields.push(("Max Concurrency", state.plan.max_concurrency.to_string()));
            fields.push(("Failure Budget", state.plan.failure_budget.to_string()));
        }
        // A status this CLI cannot read (a newer hub): still show what it can.
        None => fields.push(("Phase", "<unknown>".to_string())),
    }
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (key, value) in &fields {
        out.push_str(&format!("{:<width$} {value}\n", format!("{key}:")));
    }

    // From and to as the hub fixed them at the first work item (`to` unresolved: the agent
    // picks it).
    let versions = |from: Option<&str>, to: Option<&str>| match (from, to) {
        (None, None) => "-".to_string(),
        (from, to) => format!("{} -> {}", from.unwrap_or("?"), to.unwrap_or("next minor")),
    };
    out.push_str("Clusters:\n");
    if detail.clusters.is_empty() {
        out.push_str("  <none>\n");
    } else {
        let mut rows = vec![
            [
                "CLUSTER", "STATE", "ATTEMPTS", "VERSION", "STARTED", "FINISHED", "MESSAGE",
            ]
            .map(String::from),
        ];
        for c in &detail.clusters {
            rows.push([
                c.cluster.clone(),
                format!("{:?}", c.rollout.state),
                c.rollout.attempts.to_string(),
                versions(c.rollout.from.as_deref(), c.rollout.to.as_deref()),
                ago(c.rollout.started, now),
                ago(c.rollout.finished, now),
                c.rollout.message.clone(),
            ]);
        }
        out.push_str(&indented(&table(&rows)));
    }

    out.push_str("Events:\n");
    if detail.events.is_empty() {
        out.push_str("  <none>\n");
    } else {
        let mut rows = vec![["REASON", "AGE", "MESSAGE"].map(String::from)];
        for e in &detail.events {
            rows.push([e.reason.clone(), age(e.at, now), e.message.clone()]);
        }
        out.push_str(&indented(&table(&rows)));
    }
    out
}
