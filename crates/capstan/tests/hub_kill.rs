//! kill -9 of `capstan hub` mid-rollout: a hub process hosting one agent per twin cluster
//! (`--agents-kubeconfig`) runs a three-step canary over 20 production clusters and is killed
//! with SIGKILL while step 1's clusters roll their nodes, while step 2's do, and while step 2
//! soaks; each time it is restarted on the same data directory and port. Its hosted agents
//! die with it and, on restart, pick their work up again from the cluster (their tokens are
//! under `<data-dir>/agents`, the roll's record in each cluster).
//!
//! The rollout must end Succeeded with every cluster upgraded exactly once: one attempt, one
//! result replacing each node once, exactly as many machines ordered from the cloud as the
//! cluster has nodes (a roll run twice or restarted from scratch orders more), every node
//! and the control plane at the target, none cordoned or marked, nothing skipped.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capstan_agent::work::UpgradeResult;
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_core::version::KubeVersion;
use capstan_hub::api::{ClusterResult, ClusterView, UpgradeDetail};
use capstan_lab::fixtures::{NodesView, nodes_view, same_release, small_cluster};
use capstan_lab::{LabTwin, eventually};
use capstan_sim::TwinConfig;
use capstan_sim::fleet::{ClusterSpec, FleetSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

const CAPSTAN: &str = env!("CARGO_BIN_EXE_capstan");

const CLUSTERS: usize = 20;
const NODES: u32 = 3;
const PODS: u64 = 30;
/// The twin's time: a machine provisions in about half a real second.
const SCALE: f64 = 1000.0;
const UPGRADE_NAME: &str = "kill-canary";

/// The canonical three steps with real-time pauses (the hub process runs on real time).
/// Every node of a pool surges at once, and a drain's limit is far beyond any slowness of a
/// loaded machine (simulated time runs a thousand times faster).
const UPGRADE: &str = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata: {name: kill-canary}
spec:
  clusterSelector: {matchLabels: {environment: production}}
  nodeRolling: {maxSurge: 3, drainTimeout: 240h}
  strategy:
    type: Canary
    canary:
      steps:
      - {pause: 3s, percentage: 10}
      - {pause: 5s, percentage: 50}
      - {pause: 3s, percentage: 100}
";

const START_DEADLINE: Duration = Duration::from_secs(60);
const STAGE_DEADLINE: Duration = Duration::from_secs(180);

fn cluster(i: usize) -> ClusterSpec {
    small_cluster(
        &format!("prod-{i:02}"),
        "production",
        "1.32.4",
        NODES,
        PODS,
        100 + i as u64,
    )
}

/// `capstan hub` as a child process, SIGKILLed when dropped (a failing test leaves none).
struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Hub {
    /// SIGKILL (what `Child::kill` sends on unix): no graceful shutdown, no last write.
    fn kill_9(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

struct HubCommand {
    port: u16,
    data_dir: PathBuf,
    kubeconfig: PathBuf,
    labels: PathBuf,
    log: PathBuf,
}

impl HubCommand {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the hub and waits until it answers.
    async fn start(&self, http: &reqwest::Client) -> Hub {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(CAPSTAN)
            .arg("hub")
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--agents-kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--agent-labels")
            .arg(&self.labels)
            .args(["--agent-report-every", "1s"])
            .args(["--reconcile-every", "200ms"])
            .args(["--lease", "30s"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let hub = Hub(child);
        let url = format!("{}/api/v1/clusters", self.url());
        eventually("the hub to answer", START_DEADLINE, || {
            let request = http.get(&url).send();
            async move { request.await.ok()?.status().is_success().then_some(()) }
        })
        .await;
        hub
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The rollout's state, or `None` while the hub does not answer.
async fn rollout(http: &reqwest::Client, hub: &str) -> Option<RolloutState> {
    let response = http
        .get(format!("{hub}/api/v1/upgrades/{UPGRADE_NAME}"))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let detail: UpgradeDetail = response.json().await.ok()?;
    serde_json::from_value(detail.upgrade.status).ok()
}

/// The machines each cluster's cloud has ordered since the test began (a machine of the
/// generated fleet has no version; one the cloud created names the version it runs), sampled
/// in process often enough that none can come and go unseen: a machine provisions for at
/// least five simulated minutes, then waits for the agent's roll.
type Ordered = Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>;

fn sample_ordered_machines(lab: &LabTwin, ordered: &Ordered) {
    for cluster in lab.twin.clusters() {
        let data = lab.twin.lock(cluster);
        let created: Vec<String> = data
            .cloud
            .machines
            .values()
            .filter(|m| !m.version.is_empty())
            .map(|m| m.name.clone())
            .collect();
        drop(data);
        ordered
            .lock()
            .unwrap()
            .entry(cluster.name.clone())
            .or_default()
            .extend(created);
    }
}

fn ordered_in(ordered: &Ordered, cluster: &str) -> usize {
    ordered
        .lock()
        .unwrap()
        .get(cluster)
        .map_or(0, BTreeSet::len)
}

/// Clusters of the plan's step `step` (0-based).
fn step_clusters(state: &RolloutState, step: usize) -> Vec<String> {
    let from = if step == 0 {
        0
    } else {
        state.plan.step_targets[step - 1]
    };
    state.plan.clusters[from..state.plan.step_targets[step]].to_vec()
}

/// Waits until a cluster of step `step` is mid-roll (Upgrading, with machines ordered but
/// fewer than a full surge): the moment to kill the hub. Returns that cluster.
async fn mid_roll(http: &reqwest::Client, hub: &str, ordered: &Ordered, step: usize) -> String {
    eventually(
        &format!("a cluster of step {} mid-roll", step + 1),
        STAGE_DEADLINE,
        || async move {
            let state = rollout(http, hub).await?;
            assert!(
                !matches!(
                    state.phase,
                    RolloutPhase::Failed | RolloutPhase::Halted | RolloutPhase::Aborted
                ),
                "{:?}: {}",
                state.phase,
                state.message
            );
            step_clusters(&state, step).into_iter().find(|c| {
                state.clusters[c].state == ClusterState::Upgrading && ordered_in(ordered, c) > 0
            })
        },
    )
    .await
}

/// What a cluster shows through its own API.
struct Observed {
    control_plane: KubeVersion,
    kubelets: BTreeMap<String, KubeVersion>,
    cordoned_or_marked: Vec<String>,
    upgrade_record: bool,
}

fn version(text: &str) -> KubeVersion {
    KubeVersion::parse(text).unwrap_or_else(|e| panic!("version {text:?}: {e}"))
}

async fn observe(lab: &LabTwin, name: &str) -> Observed {
    let client = lab.client(name).await.unwrap();
    let NodesView {
        control_plane,
        kubelets,
        cordoned_or_marked,
    } = nodes_view(&client).await.unwrap();
    let upgrade_record = Api::<ConfigMap>::namespaced(client, "kube-system")
        .get_opt("capstan-upgrade")
        .await
        .unwrap()
        .is_some();
    Observed {
        control_plane,
        kubelets,
        cordoned_or_marked,
        upgrade_record,
    }
}

fn write_agent_labels(path: &Path, fleet: &FleetSpec) {
    let mut text = String::new();
    for c in &fleet.clusters {
        let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        text.push_str(&format!("{}: {{{}}}\n", c.name, labels.join(", ")));
    }
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_mid_rollout_resumes_and_upgrades_every_cluster_exactly_once() {
    let fleet = FleetSpec {
        clusters: (1..=CLUSTERS).map(cluster).collect(),
    };
    let temp = tempfile::tempdir().unwrap();
    let labels = temp.path().join("agent-labels.yaml");
    write_agent_labels(&labels, &fleet);
    let lab = Arc::new(
        LabTwin::start_fleet(fleet.clone(), SCALE, TwinConfig::default())
            .await
            .unwrap(),
    );
    let mut before = BTreeMap::new();
    for c in &fleet.clusters {
        before.insert(c.name.clone(), observe(&lab, &c.name).await);
    }

    let ordered: Ordered = Arc::default();
    let sampler = {
        let (lab, ordered) = (lab.clone(), ordered.clone());
        tokio::spawn(async move {
            loop {
                sample_ordered_machines(&lab, &ordered);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let command = HubCommand {
        port: free_port(),
        data_dir: temp.path().join("data"),
        kubeconfig: lab.kubeconfig.clone(),
        labels,
        log: temp.path().join("hub.log"),
    };
    let url = command.url();
    let http = reqwest::Client::new();
    let mut hub = command.start(&http).await;
    eventually("every hosted agent to report", STAGE_DEADLINE, || {
        let request = http.get(format!("{url}/api/v1/clusters")).send();
        async move {
            let clusters: Vec<ClusterView> = request.await.ok()?.json().await.ok()?;
            (clusters.iter().filter(|c| c.node_count > 0).count() == CLUSTERS).then_some(())
        }
    })
    .await;
    let response = http
        .post(format!("{url}/api/v1/upgrades"))
        .header(reqwest::header::CONTENT_TYPE, "application/yaml")
        .body(UPGRADE)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}: {}",
        response.status(),
        response.text().await.unwrap()
    );

    // Kill 1: a canary cluster is rolling its nodes.
    let mut interrupted = BTreeSet::new();
    interrupted.insert(mid_roll(&http, &url, &ordered, 0).await);
    hub.kill_9();
    hub = command.start(&http).await;

    // Kill 2: a cluster of the second step is rolling its nodes.
    interrupted.insert(mid_roll(&http, &url, &ordered, 1).await);
    hub.kill_9();
    hub = command.start(&http).await;

    // Kill 3: the second step soaks (its end is persisted as a time, not a timer).
    eventually("the second step to soak", STAGE_DEADLINE, || async {
        let state = rollout(&http, &url).await?;
        (state.step == 1 && state.phase == RolloutPhase::Soaking).then_some(())
    })
    .await;
    hub.kill_9();
    let _hub = command.start(&http).await;

    let state = eventually("the rollout to end", STAGE_DEADLINE, || async {
        let state = rollout(&http, &url).await?;
        matches!(
            state.phase,
            RolloutPhase::Succeeded
                | RolloutPhase::Failed
                | RolloutPhase::Halted
                | RolloutPhase::Aborted
        )
        .then_some(state)
    })
    .await;
    sampler.abort();
    sample_ordered_machines(&lab, &ordered);
    assert_eq!(
        state.phase,
        RolloutPhase::Succeeded,
        "{}: {:#?}",
        state.message,
        state.clusters
    );
    assert_eq!(state.plan.clusters.len(), CLUSTERS);
    assert_eq!(state.plan.step_targets, [2, 10, 20]);

    let results: Vec<ClusterResult> = http
        .get(format!("{url}/api/v1/upgrades/{UPGRADE_NAME}/results"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(results.len(), CLUSTERS, "{results:#?}");
    for spec in &fleet.clusters {
        let name = &spec.name;
        let nodes = spec.node_count() as usize;
        let r = &state.clusters[name];
        // Nothing skipped, removed or failed; one attempt.
        assert_eq!(r.state, ClusterState::Succeeded, "{name}: {r:?}");
        assert_eq!(r.attempts, 1, "{name}: {r:?}");
        let result = results.iter().find(|x| &x.cluster == name).unwrap();
        assert_eq!(result.attempt, 1, "{name}");
        let result: UpgradeResult = serde_json::from_value(result.result.clone()).unwrap();
        assert_eq!(result.nodes_replaced, nodes, "{name}: {result:?}");
        // The version before the upgrade, not the control plane a resumed agent found.
        let from = version(result.from.as_deref().unwrap());
        assert!(
            same_release(&from, &before[name].control_plane),
            "{name}: from {from}"
        );
        if interrupted.contains(name) {
            assert!(result.resumed, "{name} was killed mid-roll: {result:?}");
        }

        // The cluster itself: one machine ordered per node, all of them the nodes now.
        let to = version(&result.to);
        let observed = observe(&lab, name).await;
        let machines = ordered.lock().unwrap()[name].clone();
        assert_eq!(machines.len(), nodes, "{name} ordered {machines:?}");
        let now: BTreeSet<String> = observed.kubelets.keys().cloned().collect();
        assert_eq!(machines, now, "{name}");
        assert!(
            same_release(&observed.control_plane, &to),
            "{name}: control plane {} after an upgrade to {to}",
            observed.control_plane
        );
        assert_eq!(to.minor, before[name].control_plane.minor + 1, "{name}");
        for (node, kubelet) in &observed.kubelets {
            assert!(
                same_release(kubelet, &to),
                "{name}/{node}: kubelet {kubelet}, target {to}"
            );
        }
        assert!(
            observed.cordoned_or_marked.is_empty(),
            "{name}: {:?}",
            observed.cordoned_or_marked
        );
        assert!(
            !observed.upgrade_record,
            "{name}: the roll's record is left"
        );
    }
}
