//! `capstan bench roll`: a large node pool rolled with maxSurge on the twin, its simulated
//! makespan beside the critical path of the same roll's observed durations (the planner replayed
//! with zero reaction latency). The ratio is what the agent's polling and API round trips cost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use capstan_clock::{SharedClock, Stopwatch};
use capstan_core::duration::parse_duration;
use capstan_core::lifecycle::NodePhase;
use capstan_core::upgrade::{
    IntOrPercent, NewNodeDurations, OldNodeDurations, PoolNode, ReplayInput, replay_roll,
};
use capstan_core::version::KubeVersion;
use capstan_kube::drain::{DrainOptions, Drainer};
use capstan_kube::events::EventRecorder;
use capstan_kube::provider::Provider;
use capstan_kube::provider::sim::SimProvider;
use capstan_kube::upgrade::{ClusterUpgrader, LogUpgradeObserver, UpgradeOptions};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use serde_json::json;

use crate::child_twin::ChildTwin;

#[derive(clap::Args, Debug)]
pub struct RollBench {
    /// Nodes of the pool.
    #[arg(long, default_value_t = 1_000)]
    pub nodes: u32,
    /// Pods of the cluster (to evict during the drains).
    #[arg(long, default_value_t = 20_000)]
    pub pods: u64,
    #[arg(long, default_value = "10%")]
    pub max_surge: String,
    #[arg(long, default_value = "0")]
    pub max_unavailable: String,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 60.0)]
    pub time_scale: f64,
    /// Real time between the upgrade's looks at the cluster.
    #[arg(long, default_value = "200ms")]
    pub poll_interval: String,
}

fn span(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

pub async fn run(b: RollBench) -> Result<serde_json::Value> {
    let fleet = format!(
        r#"
clusters:
- name: roll
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: {pods}
  seed: 5
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: {nodes}
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a, eu-west-1b, eu-west-1c]
"#,
        pods = b.pods,
        nodes = b.nodes
    );
    // The twin runs in its own process: sharing this one's runtime and two cores, its work
    // on a 1,000-node cluster would delay the agent's in simulated time.
    let fleet_file = tempfile::NamedTempFile::new()?;
    std::fs::write(fleet_file.path(), &fleet)?;
    let twin = ChildTwin::start(&[
        "--fleet".into(),
        fleet_file.path().display().to_string(),
        "--time-scale".into(),
        b.time_scale.to_string(),
    ])
    .await?;
    let target = twin.target_of(Some("roll"));
    let client = target.client().await?;
    let sim = SimProvider::connect(client.clone()).await?;
    let clock: SharedClock = sim
        .clock()
        .context("the twin's cloud reports its simulated time")?;

    // Budgets hold drains (the drain benchmark's subject; a halted drain stops the roll);
    // this one measures the roll's scheduling, so they go.
    let mut removed_pdbs = 0;
    for p in Api::<PodDisruptionBudget>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items
    {
        if let (Some(ns), Some(name)) = (&p.metadata.namespace, &p.metadata.name) {
            Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
                .delete(name, &DeleteParams::default())
                .await?;
            removed_pdbs += 1;
        }
    }
    let old_nodes: Vec<String> = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();

    let drainer = Drainer::new(
        client.clone(),
        target.eviction_client().await?,
        clock.clone(),
        DrainOptions {
            ignore_daemonsets: true,
            delete_emptydir_data: true,
            force: true,
            timeout: Some(Duration::from_secs(30 * 60)),
            on_deadline: capstan_kube::drain::Escalation::Force,
            ..DrainOptions::default()
        },
    );
    let provider: Arc<dyn Provider> = Arc::new(sim);
    let recorder = EventRecorder::new(client.clone(), clock.clone(), "capstan-upgrade");
    let options = UpgradeOptions {
        max_surge: IntOrPercent::parse("--max-surge", &b.max_surge)?,
        max_unavailable: IntOrPercent::parse("--max-unavailable", &b.max_unavailable)?,
        poll_interval: parse_duration(&b.poll_interval).context("--poll-interval")?,
        ..UpgradeOptions::new("1.32")
    };
    let upgrader = ClusterUpgrader::new(client, provider, drainer, recorder, clock, options);
    let wall = Stopwatch::start();
    let report = upgrader.run(&LogUpgradeObserver).await?;
    let wall = wall.elapsed();
    let pool = report.pools.first().context("the upgrade rolled no pool")?;
    let actual = span(pool.started, pool.finished);

    // The durations the roll observed: machines from the twin's exact phase times, drains from
    // the drain reports, terminations from the request to the node seen gone.
    let mut new: Vec<(Timestamp, NewNodeDurations)> = report
        .timelines
        .iter()
        .filter_map(|t| {
            let p = t.entered(NodePhase::Provisioning)?;
            let j = t.entered(NodePhase::Joining)?;
            let o = t.entered(NodePhase::Operating)?;
            Some((
                p,
                NewNodeDurations {
                    provision: span(p, j),
                    join: span(j, o),
                },
            ))
        })
        .collect();
    new.sort_by_key(|(at, _)| *at);
    let mut old: BTreeMap<String, OldNodeDurations> = BTreeMap::new();
    for d in &pool.drains {
        old.entry(d.node.clone()).or_default().drain = span(d.started, d.finished);
    }
    for t in &report.timelines {
        if let (Some(from), Some(gone)) = (t.entered(NodePhase::Terminating), t.finished()) {
            old.entry(t.node.clone()).or_default().terminate = span(from, gone);
        }
    }
    let replay = replay_roll(&ReplayInput {
        target: report.target,
        size: pool.size,
        budget: pool.budget,
        nodes: old_nodes
            .iter()
            .map(|n| PoolNode::running(n, KubeVersion::new(1, 32, 4)))
            .collect(),
        old,
        new: new.into_iter().map(|(_, d)| d).collect(),
    })?;
    let ratio = actual.as_secs_f64() / replay.as_secs_f64().max(1.0);
    Ok(json!({
        "nodes": b.nodes,
        "pods": b.pods,
        "maxSurge": b.max_surge,
        "maxUnavailable": b.max_unavailable,
        "budget": pool.budget,
        "timeScale": b.time_scale,
        "pollInterval": b.poll_interval,
        "removedPdbs": removed_pdbs,
        "simulatedRollSeconds": actual.as_secs_f64(),
        "criticalPathSeconds": replay.as_secs_f64(),
        "ratio": ratio,
        "wallSeconds": wall.as_secs_f64(),
        "phaseStats": report.phase_stats,
    }))
}
