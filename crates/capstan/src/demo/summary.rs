//! The demo's closing summary, a pure function of what the hub serves: the upgrade's detail,
//! the inventory, and each cluster's posted upgrade result.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_agent::work::UpgradeResult;
use capstan_core::duration::format_duration;
use capstan_core::lifecycle::{LifecycleSlos, PhaseStats, phase_stats};
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_hub::api::{ClusterResult, UpgradeDetail};
use jiff::Timestamp;

use crate::apply_cmd::table;
use crate::upgrade_cmd::phase_table;

/// The rollout's phase, if its status decodes.
pub fn phase(detail: &UpgradeDetail) -> Option<RolloutPhase> {
    state(detail).map(|s| s.phase)
}

/// Why the health gate halted the rollout, if it did.
pub fn health_halt(detail: &UpgradeDetail) -> Option<capstan_core::rollout::HealthHalt> {
    state(detail).and_then(|s| s.health.halt)
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

/// Phase statistics over every node of every cluster, from the timelines: percentiles do not
/// add up across clusters, durations do. In-progress phases are measured up to the last
/// cluster's finish (`fallback` when there is none).
fn node_phases(results: &[&UpgradeResult], fallback: Timestamp) -> Vec<PhaseStats> {
    let timelines = results.iter().flat_map(|r| &r.timelines);
    let now = results.iter().map(|r| r.finished).max().unwrap_or(fallback);
    phase_stats(timelines, now, &LifecycleSlos::default())
}

/// The rollout's figures as one JSON object: what `capstan demo -o json` prints for
/// BENCHMARKS.md.
pub fn figures(
    detail: &UpgradeDetail,
    results: &[ClusterResult],
    real: Duration,
    time_scale: f64,
) -> serde_json::Value {
    let state = state(detail);
    let path = critical_path(detail);
    let decoded: Vec<UpgradeResult> = results
        .iter()
        .filter_map(|r| serde_json::from_value(r.result.clone()).ok())
        .collect();
    let phases: Vec<serde_json::Value> = node_phases(
        &decoded.iter().collect::<Vec<_>>(),
        detail.upgrade.updated_at,
    )
    .iter()
    .map(|s| {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs());
        serde_json::json!({
            "phase": s.phase.as_str(), "completed": s.completed,
            "p50Seconds": secs(s.p50), "p95Seconds": secs(s.p95), "maxSeconds": secs(s.max),
            "slow": s.slow, "stuck": s.stuck,
        })
    })
    .collect();
    let count = |wanted: ClusterState| state.as_ref().map_or(0, |s| s.count(wanted));
    serde_json::json!({
        "upgrade": detail.upgrade.name,
        "phase": state.as_ref().map(|s| format!("{:?}", s.phase)),
        "clusters": state.as_ref().map_or(0, |s| s.plan.clusters.len()),
        "succeeded": count(ClusterState::Succeeded),
        "failed": count(ClusterState::Failed),
        "nodesReplaced": decoded.iter().map(|r| r.nodes_replaced).sum::<usize>(),
        "timeScale": time_scale,
        "realSeconds": real.as_secs_f64(),
        "simulatedSeconds": path.as_ref().map(|p| p.wall.as_secs()),
        "criticalPathSeconds": path.as_ref().map(|p| p.total().as_secs()),
        "longestUpgradesSeconds": path.as_ref().map(|p| p.upgrades.as_secs()),
        "soaksSeconds": path.as_ref().map(|p| p.soaks.as_secs()),
        "ratio": path.as_ref().map(CriticalPath::ratio),
        "nodePhases": phases,
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
    if let Some(halt) = &state.health.halt {
        out.push_str(&format!(
            "  halted by the health gate at {}: cluster {} in step {}\n",
            halt.at,
            halt.cluster,
            halt.step + 1
        ));
        if let Some(alert) = &halt.alert {
            let labels: Vec<String> = alert
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            out.push_str(&format!(
                "  alert {} ({}): value {} {} threshold {}, pending since {}\n  series {{{}}}\n",
                alert.rule,
                alert.severity.as_str(),
                alert.value,
                alert.comparison.as_str(),
                alert.threshold,
                alert.since,
                labels.join(", ")
            ));
        }
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

    let timelines: usize = results.values().map(|r| r.timelines.len()).sum();
    let truncated: usize = results
        .values()
        .map(|r| r.timelines_total.saturating_sub(r.timelines.len()))
        .sum();
    if timelines > 0 {
        let stats = node_phases(&results.values().collect::<Vec<_>>(), state.updated);
        let replaced: usize = results.values().map(|r| r.nodes_replaced).sum();
        out.push_str(&format!(
            "\nnode phases: {replaced} nodes replaced, {} timelines, new and old (simulated time; EXPECTED is the lifecycle table){}\n",
            timelines,
            if truncated > 0 {
                format!(", {truncated} timelines beyond the per-cluster cap not shown")
            } else {
                String::new()
            }
        ));
        out.push_str(&phase_table(&stats));
    }
    // A rollout that stopped early has no critical path to compare with.
    if let Some(path) = path
        .as_ref()
        .filter(|_| state.phase == RolloutPhase::Succeeded)
    {
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
    if trouble.is_empty() && state.phase == RolloutPhase::Succeeded {
        out.push_str("nothing skipped, failed or halted\n");
    } else if trouble.is_empty() {
        out.push_str(&format!(
            "\nended {:?}; no cluster skipped, failed or removed\n",
            state.phase
        ));
    } else {
        out.push_str("skipped, failed or removed:\n");
        out.push_str(&trouble.join("\n"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::{BTreeMap, BTreeSet};

    use capstan_core::lifecycle::NodeTimeline;
    use capstan_core::rollout::{ClusterRollout, FrozenPlan, FrozenStep};
    use capstan_hub::api::UpgradeView;
    use serde_json::json;

    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    fn done(started: i64, finished: i64) -> ClusterRollout {
        ClusterRollout {
            state: ClusterState::Succeeded,
            started: Some(at(started)),
            finished: Some(at(finished)),
            attempts: 1,
            message: String::new(),
            from: None,
            to: None,
        }
    }

    /// Three clusters in steps of 1 and 2, soaks of 60 and 30 minutes, the rollout created
    /// at minute 0 and finished at `end`.
    fn detail(clusters: [ClusterRollout; 3], end: i64) -> UpgradeDetail {
        let step = |percentage, minutes: u64| FrozenStep {
            percentage,
            pause: Duration::from_secs(minutes * 60),
            approval: false,
        };
        let state = RolloutState {
            phase: RolloutPhase::Succeeded,
            plan: FrozenPlan {
                clusters: vec!["a".into(), "b".into(), "c".into()],
                step_targets: vec![1, 3],
                steps: vec![step(34, 60), step(100, 30)],
                max_concurrency: 3,
                failure_budget: 0,
            },
            step: 1,
            clusters: BTreeMap::from_iter(
                ["a", "b", "c"].map(String::from).into_iter().zip(clusters),
            ),
            soak_until: None,
            approved_steps: BTreeSet::new(),
            paused_from: None,
            message: String::new(),
            updated: at(end),
            health: Default::default(),
        };
        UpgradeDetail {
            upgrade: UpgradeView {
                name: "prod-canary".into(),
                generation: 7,
                created_at: at(0),
                updated_at: at(end),
                spec: json!({}),
                status: serde_json::to_value(&state).unwrap(),
            },
            clusters: Vec::new(),
            events: Vec::new(),
            now: Some(at(end)),
        }
    }

    #[test]
    fn the_critical_path_is_each_steps_longest_upgrade_plus_the_soaks() {
        // a: 0-20; soak to 80; b: 81-121 and c: 81-101; soak to 151; done at 152.
        let d = detail([done(0, 20), done(81, 121), done(81, 101)], 152);
        let path = critical_path(&d).unwrap();
        assert_eq!(path.upgrades, Duration::from_secs((20 + 40) * 60));
        assert_eq!(path.soaks, Duration::from_secs(90 * 60));
        assert_eq!(path.wall, Duration::from_secs(152 * 60));
        assert!((path.ratio() - 152.0 / 150.0).abs() < 1e-9);

        let text = render(&d, &[], Duration::from_secs(30));
        assert!(
            text.starts_with("clusterupgrade/prod-canary Succeeded: 3 of 3"),
            "{text}"
        );
        assert!(text.contains("ratio 1.013"), "{text}");
        assert!(text.contains("nothing skipped, failed or halted"), "{text}");

        let json = figures(&d, &[], Duration::from_secs(30), 360.0);
        assert_eq!(json["criticalPathSeconds"], 150 * 60);
        assert_eq!(json["simulatedSeconds"], 152 * 60);
        assert_eq!(json["succeeded"], 3);
        assert_eq!(json["phase"], "Succeeded");
    }

    #[test]
    fn failed_clusters_are_listed_and_left_out_of_the_path() {
        let mut failed = done(81, 90);
        failed.state = ClusterState::Failed;
        failed.message = "preflight: not Healthy".into();
        let d = detail([done(0, 20), done(81, 121), failed], 152);
        assert_eq!(
            critical_path(&d).unwrap().upgrades,
            Duration::from_secs(60 * 60)
        );
        let text = render(&d, &[], Duration::from_secs(30));
        assert!(text.contains("c: Failed preflight: not Healthy"), "{text}");
        assert!(text.contains("1 failed"), "{text}");
    }

    #[test]
    fn a_health_halt_names_the_cluster_rule_value_and_threshold() {
        let mut d = detail([done(0, 20), done(81, 121), done(81, 101)], 152);
        let mut state: RolloutState = serde_json::from_value(d.upgrade.status.clone()).unwrap();
        state.phase = RolloutPhase::Halted;
        state.health.halt = Some(capstan_core::rollout::HealthHalt {
            cluster: "a".into(),
            step: 0,
            reason: "ContainerRestartsHigh on pod=web-1: 7 > 5".into(),
            at: at(40),
            alert: Some(capstan_core::rollout::FiringAlert {
                rule: "ContainerRestartsHigh".into(),
                severity: capstan_core::health::Severity::Critical,
                value: 7.0,
                threshold: 5.0,
                comparison: capstan_core::health::Comparison::Above,
                labels: BTreeMap::from([("pod".to_string(), "web-1".to_string())]),
                since: at(35),
            }),
        });
        d.upgrade.status = serde_json::to_value(&state).unwrap();
        assert!(health_halt(&d).is_some());
        let text = render(&d, &[], Duration::from_secs(30));
        assert!(text.contains("halted by the health gate"), "{text}");
        assert!(text.contains("cluster a in step 1"), "{text}");
        assert!(
            text.contains("alert ContainerRestartsHigh (critical): value 7 > threshold 5"),
            "{text}"
        );
        assert!(text.contains("pod=web-1"), "{text}");
        assert!(
            !text.contains("critical path"),
            "no path for a halted rollout: {text}"
        );
        assert!(text.contains("ended Halted"), "{text}");
    }

    #[test]
    fn node_phases_merge_every_clusters_timelines() {
        let d = detail([done(0, 20), done(81, 121), done(81, 101)], 152);
        let mut timeline = NodeTimeline::new("n1", Some("general"));
        timeline.record(capstan_core::lifecycle::NodePhase::Provisioning, at(0));
        timeline.record(capstan_core::lifecycle::NodePhase::Joining, at(10));
        timeline.record(capstan_core::lifecycle::NodePhase::Operating, at(13));
        let result = |node: &str| ClusterResult {
            cluster: node.to_string(),
            attempt: 1,
            result: serde_json::to_value(UpgradeResult {
                from: Some("1.31.4".into()),
                to: "1.32.9".into(),
                control_plane_steps: vec!["1.32.9".into()],
                nodes_replaced: 1,
                resumed: false,
                started: at(0),
                finished: at(20),
                phase_stats: Vec::new(),
                timelines: vec![timeline.clone()],
                timelines_total: 1,
            })
            .unwrap(),
        };
        let text = render(&d, &[result("a"), result("b")], Duration::from_secs(30));
        assert!(text.contains("2 nodes replaced"), "{text}");
        let provisioning = text
            .lines()
            .find(|l| l.starts_with("Provisioning"))
            .unwrap();
        assert!(provisioning.contains(" 2 "), "{provisioning}");
        assert!(provisioning.contains("10m"), "{provisioning}");
        assert!(text.contains("1.31.4"), "{text}");
    }
}
