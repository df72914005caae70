//! `capstan bench drain`: `capstan drain` against `kubectl drain` on the same node of the same
//! cluster (two twins serving the same fleet and seed), as subprocesses, rounds alternating.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_clock::Stopwatch;
use capstan_lab::{LabTwin, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

use crate::bench::median;

#[derive(clap::Args, Debug)]
pub struct DrainBench {
    /// Pods on the drained node (topped up with a pinned Deployment).
    #[arg(long, default_value_t = 110)]
    pub pods: u32,
    /// Rounds; each round drains with both tools, alternating which goes first.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Simulated seconds per real second in the twins (pods' grace periods run on it).
    #[arg(long, default_value_t = 60.0)]
    pub time_scale: f64,
}

fn fleet(pods: u32) -> String {
    format!(
        r#"
clusters:
- name: bench
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 400
  seed: 3
  nodePools:
  - {{name: general, instanceType: m6i.4xlarge, capacityType: on-demand, nodes: 12, cpu: "16", memory: 64Gi, maxPods: {max_pods}, zones: [eu-west-1a]}}
"#,
        max_pods = pods + 20
    )
}

/// A twin whose first node carries exactly `pods` pods, all Running; returns the node.
async fn prepared(b: &DrainBench) -> Result<(LabTwin, String)> {
    let lab = LabTwin::start(
        &fleet(b.pods),
        b.time_scale,
        capstan_sim::TwinConfig::default(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = lab
        .client("bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut nodes: Vec<String> = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    nodes.sort();
    let node = nodes.first().context("the fleet has nodes")?.clone();
    let pods: Api<Pod> = Api::all(client.clone());
    let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let present = pods.list(&on_node).await?.items.len() as u32;
    if present > b.pods {
        bail!(
            "node {node} already has {present} pods, more than --pods {}",
            b.pods
        );
    }
    let fill: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bench-fill", "namespace": "default"},
        "spec": {"replicas": b.pods - present, "selector": {"matchLabels": {"app": "bench-fill"}},
                 "template": {"metadata": {"labels": {"app": "bench-fill"}},
                              "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                                       "containers": [{"name": "c", "image": "nginx",
                                                       "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}
    }))?;
    Api::<Deployment>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &fill)
        .await?;
    let want = b.pods as usize;
    eventually(
        "the drained node full and Running",
        Duration::from_secs(120),
        || {
            let (pods, on_node) = (pods.clone(), on_node.clone());
            async move {
                let items = pods.list(&on_node).await.ok()?.items;
                let running = items
                    .iter()
                    .filter(|p| {
                        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                    })
                    .count();
                (running == want).then_some(())
            }
        },
    )
    .await;
    // The generated workloads include budgets that allow no disruption (a single replica with
    // minAvailable 1, say): kubectl would wait on them forever. This benchmark times an
    // unblocked drain, so those go; blocked drains are what the tests cover.
    let pdbs: Api<PodDisruptionBudget> = Api::all(client.clone());
    for pdb in pdbs.list(&ListParams::default()).await?.items {
        if pdb
            .status
            .as_ref()
            .is_some_and(|s| s.disruptions_allowed == 0)
        {
            let ns = pdb.metadata.namespace.clone().unwrap_or_default();
            let name = pdb.metadata.name.clone().unwrap_or_default();
            Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns)
                .delete(&name, &Default::default())
                .await?;
        }
    }
    Ok((lab, node))
}

const FLAGS: [&str; 3] = ["--ignore-daemonsets", "--delete-emptydir-data", "--force"];

async fn time_drain(program: &std::path::Path, lab: &LabTwin, node: &str) -> Result<f64> {
    let mut cmd = tokio::process::Command::new(program);
    if program.ends_with("kubectl") {
        cmd.args(["drain", node]);
    } else {
        cmd.args(["drain", node]).env("RUST_LOG", "warn");
    }
    cmd.arg("--kubeconfig")
        .arg(&lab.kubeconfig)
        .args(["--context", "bench"])
        .args(FLAGS);
    let sw = Stopwatch::start();
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running {}", program.display()))?;
    let seconds = sw.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "{} drain failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(seconds)
}

pub async fn run(b: DrainBench) -> Result<serde_json::Value> {
    let capstan = std::env::current_exe().context("locating the capstan binary")?;
    let kubectl = std::path::PathBuf::from("kubectl");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..b.rounds {
        let (lab_k, node_k) = prepared(&b).await?;
        let (lab_c, node_c) = prepared(&b).await?;
        if node_k != node_c {
            bail!("the two twins differ: {node_k} vs {node_c}");
        }
        if round % 2 == 0 {
            theirs.push(time_drain(&kubectl, &lab_k, &node_k).await?);
            ours.push(time_drain(&capstan, &lab_c, &node_c).await?);
        } else {
            ours.push(time_drain(&capstan, &lab_c, &node_c).await?);
            theirs.push(time_drain(&kubectl, &lab_k, &node_k).await?);
        }
    }
    let (m_ours, m_theirs) = (median(ours.clone()), median(theirs.clone()));
    Ok(json!({
        "bench": "drain",
        "pods_on_node": b.pods,
        "time_scale": b.time_scale,
        "flags": FLAGS,
        "capstan_drain_seconds": ours,
        "kubectl_drain_seconds": theirs,
        "median_capstan_seconds": m_ours,
        "median_kubectl_seconds": m_theirs,
        "ratio_kubectl_over_capstan": m_theirs / m_ours,
    }))
}
