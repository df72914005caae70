//! The demo's closing summary, a pure function of what the hub serves: the upgrade's detail,
//! the inventory, and each cluster's posted upgrade result.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_agent::work::UpgradeResult;
use capstan_core::duration::format_duration;
use capstan_core::lifecycle::{LifecycleSlos, NodeTimeline, phase_stats};
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_hub::api::{ClusterResult, UpgradeDetail};
use jiff::Timestamp;

use crate::apply_cmd::table;
use crate::upgrade_cmd::phase_table;

/// The rollout's phase, if its status decodes.
pub fn phase(detail: &UpgradeDetail) -> Option<RolloutPhase> {
    state(detail).map(|s| s.phase)
}

fn state(detail: &UpgradeDetail) -> Option<RolloutState> {
    serde_json::from_value(detail.upgrade.status.clone()).ok()
}

/// Whole seconds, or whole minutes past an hour: the summary reads in simulated hours.
fn short(d: Duration) -> String {
    let secs = if d.as_secs() >= 3600 {
        d.as_secs() / 60 * 60
    } else {
        d.as_secs()
    };
    format_duration(Duration::from_secs(secs))
}

fn between(from: Timestamp, to: Timestamp) -> Duration {
    to.duration_since(from).try_into().unwrap_or(Duration::ZERO)
}

/// The critical path of a rollout whose steps ran each of their clusters at once: every
/// step's longest cluster upgrade plus every soak. The rollout cannot be faster; the ratio of
/// its wall time to this is the controller's overhead.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalPath {
    pub upgrades: Duration,
    pub soaks: Duration,
    /// From the upgrade's creation to its last transition (simulated time).
    pub wall: Duration,
}

impl CriticalPath {
    pub fn total(&self) -> Duration {
        self.upgrades + self.soaks
    }

    pub fn ratio(&self) -> f64 {
        let total = self.total().as_secs_f64();
        if total == 0.0 {
            return 1.0;
        }
        self.wall.as_secs_f64() / total
    }
}

/// Each step's clusters (by position in the frozen order) with their upgrade durations.
fn steps(state: &RolloutState) -> Vec<Vec<(String, Option<Duration>)>> {
    let mut out = Vec::new();
    let mut from = 0;
    for &to in &state.plan.step_targets {
        let clusters = state.plan.clusters[from.min(to)..to.min(state.plan.clusters.len())]
            .iter()
            .map(|name| {
                let took = state
                    .clusters
                    .get(name)
                    .and_then(|c| match (c.started, c.finished) {
                        (Some(s), Some(f)) if c.state == ClusterState::Succeeded => {
                            Some(between(s, f))
                        }
                        _ => None,
                    });
                (name.clone(), took)
            })
            .collect();
        out.push(clusters);
        from = to;
    }
    out
}

pub fn critical_path(detail: &UpgradeDetail) -> Option<CriticalPath> {
    let state = state(detail)?;
    let upgrades = steps(&state)
        .iter()
        .map(|clusters| {
            clusters
                .iter()
                .filter_map(|(_, d)| *d)
                .max()
                .unwrap_or_default()
        })
        .sum();
    let soaks = state.plan.steps.iter().map(|s| s.pause).sum();
    Some(CriticalPath {
        upgrades,
        soaks,
        wall: between(detail.upgrade.created_at, state.updated),
    })
}

/// The summary: outcome, steps, clusters, node phases against the lifecycle table, critical
/// path. `real` is the rollout's real wall time.
pub fn render(detail: &UpgradeDetail, results: &[ClusterResult], real: Duration) -> String {
    let Some(state) = state(detail) else {
        return format!(
            "clusterupgrade/{}: status unreadable\n",
            detail.upgrade.name
        );
    };
    let mut out = String::new();
    let count = |s: ClusterState| state.count(s);
    let path = critical_path(detail);
    out.push_str(&format!(
        "clusterupgrade/{} {:?}: {} of {} clusters upgraded; {} failed, {} skipped, {} removed\n",
        detail.upgrade.name,
        state.phase,
        count(ClusterState::Succeeded),
        state.plan.clusters.len(),
        count(ClusterState::Failed),
        count(ClusterState::Skipped),
        count(ClusterState::Removed),
    ));
    if let Some(path) = &path {
        out.push_str(&format!(
            "  took {} simulated, {} real\n",
            short(path.wall),
            short(real)
        ));
    }
    if !state.message.is_empty() && state.phase != RolloutPhase::Succeeded {
        out.push_str(&format!("  {}\n", state.message));
    }

    let results: BTreeMap<&str, UpgradeResult> = results
        .iter()
        .filter_map(|r| {
            serde_json::from_value(r.result.clone())
                .ok()
                .map(|u| (r.cluster.as_str(), u))
        })
        .collect();
    let mut step_rows = vec![[
        "STEP".to_string(),
        "TARGET".to_string(),
        "CLUSTERS".to_string(),
        "LONGEST UPGRADE".to_string(),
        "SOAK".to_string(),
    ]];
    let mut cluster_rows = vec![[
        "CLUSTER".to_string(),
        "STEP".to_string(),
        "STATE".to_string(),
        "FROM".to_string(),
        "TO".to_string(),
        "UPGRADE".to_string(),
        "NODES".to_string(),
    ]];
    for (k, clusters) in steps(&state).iter().enumerate() {
        let step = &state.plan.steps[k];
        let longest = clusters.iter().filter_map(|(_, d)| *d).max();
        step_rows.push([
            (k + 1).to_string(),
            format!("{}%", step.percentage),
            clusters.len().to_string(),
            longest.map_or_else(|| "-".to_string(), short),
            short(step.pause),
        ]);
        for (name, took) in clusters {
            let rollout = state.clusters.get(name);
            let result = results.get(name.as_str());
            cluster_rows.push([
                name.clone(),
                (k + 1).to_string(),
                rollout.map_or_else(|| "-".to_string(), |r| format!("{:?}", r.state)),
                result
                    .and_then(|r| r.from.clone())
                    .unwrap_or_else(|| "-".to_string()),
                result.map_or_else(|| "-".to_string(), |r| r.to.clone()),
                took.map_or_else(|| "-".to_string(), short),
                result.map_or_else(|| "-".to_string(), |r| r.nodes_replaced.to_string()),
            ]);
        }
    }
    out.push('\n');
    out.push_str(&table(&step_rows));
    out.push('\n');
    out.push_str(&table(&cluster_rows));

    // Phase percentiles over every node of every cluster, from the timelines: percentiles
    // do not add up across clusters, durations do.
    let timelines: Vec<&NodeTimeline> = results.values().flat_map(|r| &r.timelines).collect();
    let truncated: usize = results
        .values()
        .map(|r| r.timelines_total.saturating_sub(r.timelines.len()))
        .sum();
    if !timelines.is_empty() {
        let now = results
            .values()
            .map(|r| r.finished)
            .max()
            .unwrap_or(state.updated);
        let stats = phase_stats(timelines.iter().copied(), now, &LifecycleSlos::default());
        let replaced: usize = results.values().map(|r| r.nodes_replaced).sum();
        out.push_str(&format!(
            "\nnode phases: {replaced} nodes replaced, {} timelines, new and old (simulated time; EXPECTED is the lifecycle table){}\n",
            timelines.len(),
            if truncated > 0 {
                format!(", {truncated} timelines beyond the per-cluster cap not shown")
            } else {
                String::new()
            }
        ));
        out.push_str(&phase_table(&stats));
    }
    if let Some(path) = &path {
        out.push_str(&format!(
            "\ncritical path: longest upgrade per step {} + soaks {} = {}; rollout {}: ratio {:.3}\n",
            short(path.upgrades),
            short(path.soaks),
            short(path.total()),
            short(path.wall),
            path.ratio()
        ));
    }
    let trouble: Vec<String> = state
        .clusters
        .iter()
        .filter(|(_, c)| {
            matches!(
                c.state,
                ClusterState::Failed | ClusterState::Skipped | ClusterState::Removed
            )
        })
        .map(|(name, c)| format!("  {name}: {:?} {}", c.state, c.message))
        .collect();
    if trouble.is_empty() {
        out.push_str("nothing skipped, failed or halted\n");
    } else {
        out.push_str("skipped, failed or removed:\n");
        out.push_str(&trouble.join("\n"));
        out.push('\n');
    }
    out
}
