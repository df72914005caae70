//! The cluster view against the twin: it syncs to what a plain list and kubectl report,
//! follows changes (cordon, deletion, a blocking PodDisruptionBudget), keeps its summary
//! bounded on a larger cluster, and converges again after the API server restarts its watches.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_core::summary::{
    BLOCKER_POD_NAMES, ClusterSummary, MAX_DRAIN_BLOCKERS, MAX_POOLS, TOP_RESTARTING,
};
use capstan_kube::view::ClusterView;
use capstan_lab::{LabTwin, eventually};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;

/// One cluster with two node pools.
const FLEET: &str = r#"
clusters:
- name: alpha
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 60
  seed: 11
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 4
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a]
  - name: batch
    instanceType: c6i.xlarge
    capacityType: spot
    nodes: 2
    cpu: "4"
    memory: 8Gi
    zones: [eu-west-1b]
"#;

/// Simulated seconds per real second: a 30 s grace period passes in 50 ms.
const SCALE: f64 = 600.0;
const DEADLINE: Duration = Duration::from_secs(60);

async fn lab(fleet: &str) -> LabTwin {
    LabTwin::start(fleet, SCALE, capstan_sim::TwinConfig::default())
        .await
        .unwrap()
}

async fn synced_view(lab: &LabTwin) -> (ClusterView, kube::Client) {
    let client = lab.client("alpha").await.unwrap();
    let clock: SharedClock = lab.clock.clone();
    let view = ClusterView::start(client.clone(), clock);
    tokio::time::timeout(DEADLINE, view.wait_synced())
        .await
        .unwrap_or_else(|_| panic!("the view did not sync: {:?}", view.errors()));
    (view, client)
}

async fn list<K>(client: &kube::Client) -> Vec<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

fn summary(view: &ClusterView, lab: &LabTwin) -> ClusterSummary {
    use capstan_clock::Clock;
    view.summary(lab.clock.now())
}

/// Every count of the view equals a plain list's, for every kind it watches.
async fn counts_match(view: &ClusterView, client: &kube::Client, lab: &LabTwin) -> bool {
    let s = summary(view, lab);
    let pods: Vec<Pod> = list(client).await;
    s.nodes.total == list::<Node>(client).await.len() as u64
        && s.pods.total == pods.len() as u64
        && view.pod_count() == pods.len()
        && s.objects.pod_disruption_budgets
            == list::<PodDisruptionBudget>(client).await.len() as u64
        && s.objects.namespaces == list::<Namespace>(client).await.len() as u64
        && s.objects.deployments == list::<Deployment>(client).await.len() as u64
        && s.objects.replica_sets == list::<ReplicaSet>(client).await.len() as u64
        && s.objects.stateful_sets == list::<StatefulSet>(client).await.len() as u64
        && s.objects.daemon_sets == list::<DaemonSet>(client).await.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_syncs_to_what_a_list_and_kubectl_report() {
    let lab = lab(FLEET).await;
    let (view, client) = synced_view(&lab).await;
    // The twin's controllers may still be settling: compare once both agree.
    eventually(
        "the view's counts to equal a plain list's",
        DEADLINE,
        || {
            let (view, client, lab) = (&view, &client, &lab);
            async move { counts_match(view, client, lab).await.then_some(()) }
        },
    )
    .await;

    let s = summary(&view, &lab);
    let (ok, out, err) = lab
        .kubectl("alpha", &["get", "pods", "-A", "--no-headers"])
        .await;
    assert!(ok, "{err}");
    assert_eq!(s.pods.total, out.lines().count() as u64);

    let nodes: Vec<Node> = list(&client).await;
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    for n in &nodes {
        let v = n.status.as_ref().unwrap().node_info.as_ref().unwrap();
        *versions.entry(v.kubelet_version.clone()).or_default() += 1;
    }
    for (v, n) in &versions {
        assert_eq!(s.nodes.by_version.get(v), Some(*n), "{v}");
    }
    let pools: BTreeMap<_, _> = s
        .pools
        .items
        .iter()
        .map(|p| (p.pool.clone().unwrap_or_default(), p.nodes))
        .collect();
    assert_eq!(
        pools,
        BTreeMap::from([("batch".to_string(), 2), ("general".to_string(), 4)])
    );
    assert_eq!(s.nodes.by_phase.operating, 6);
    let cpu: u64 = nodes
        .iter()
        .map(|n| {
            let q = &n.status.as_ref().unwrap().allocatable.as_ref().unwrap()["cpu"].0;
            capstan_core::quantity::Quantity::parse(q).unwrap().millis() as u64
        })
        .sum();
    assert_eq!(s.resources.cpu_allocatable_millis, cpu);
    assert!(s.resources.cpu_requested_millis > 0);
    assert_eq!(
        s.control_plane_version,
        Some(client.apiserver_version().await.unwrap().git_version)
    );

    // The pods of a node are those a field-selected list returns.
    let node = nodes[0].metadata.name.clone().unwrap();
    let pods: Api<Pod> = Api::all(client.clone());
    let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let mut listed: Vec<String> = pods
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| {
            format!(
                "{}/{}",
                p.metadata.namespace.unwrap(),
                p.metadata.name.unwrap()
            )
        })
        .collect();
    listed.sort();
    let on_node: Vec<String> = view.pods_on_node(&node).iter().map(|p| p.key()).collect();
    assert!(!on_node.is_empty());
    assert_eq!(on_node, listed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_follows_cordons_deletions_and_a_blocking_budget() {
    let lab = lab(FLEET).await;
    let (view, client) = synced_view(&lab).await;

    let node = view.nodes()[0].name.to_string();
    let (ok, _, err) = lab.kubectl("alpha", &["cordon", &node]).await;
    assert!(ok, "{err}");
    eventually("the cordon to show", DEADLINE, || {
        let (view, lab, node) = (&view, &lab, &node);
        async move {
            (view.node(node)?.unschedulable && summary(view, lab).nodes.cordoned == 1).then_some(())
        }
    })
    .await;

    let victim = view
        .pods_on_node(&node)
        .into_iter()
        .find(|p| p.controller.is_some())
        .unwrap();
    Api::<Pod>::namespaced(client.clone(), &victim.namespace)
        .delete(&victim.name, &DeleteParams::default())
        .await
        .unwrap();
    eventually("the deleted pod to leave the view", DEADLINE, || {
        let (view, victim, node) = (&view, &victim, &node);
        async move {
            let gone = view
                .pod(&victim.namespace, &victim.name)
                .is_none_or(|p| p.uid != victim.uid);
            let off_node = !view.pods_on_node(node).iter().any(|p| p.uid == victim.uid);
            (gone && off_node).then_some(())
        }
    })
    .await;

    // Three replicas behind a budget that needs all three: no eviction may proceed.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "pinned"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "pinned"}},
            "template": {
                "metadata": {"labels": {"app": "pinned"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
            }
        }
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "pinned"},
        "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "pinned"}}}
    }))
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    let blocker = eventually("the budget to block drains", DEADLINE, || {
        let (view, lab) = (&view, &lab);
        async move {
            summary(view, lab)
                .drain_blockers
                .items
                .into_iter()
                .find(|b| b.namespace == "default" && b.name == "pinned" && b.current_healthy == 3)
        }
    })
    .await;
    assert_eq!(blocker.message, "needs 3 healthy, has 3");
    assert_eq!((blocker.desired_healthy, blocker.expected_pods), (3, 3));
    assert_eq!(blocker.pods.total, 3);
    assert!(blocker.pods.items.iter().all(|n| n.starts_with("pinned-")));
    assert!(blocker.nodes >= 1);
    let selected = view
        .pods_in("default")
        .into_iter()
        .filter(|p| p.labels.get("app") == Some("pinned"));
    for pod in selected {
        let names: Vec<String> = view
            .pdbs_for(&pod)
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(names, ["pinned"]);
    }
}

/// Forty nodes in forty pools, and many restarting pods and blocking budgets: the lists of the
/// summary stay capped while their totals count everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_stays_bounded_on_a_larger_cluster() {
    let mut fleet = String::from(
        "clusters:\n- name: alpha\n  version: \"1.32.4\"\n  provider: aws\n  region: eu-west-1\n  pods: 3000\n  seed: 5\n  nodePools:\n",
    );
    for i in 0..40 {
        fleet.push_str(&format!(
            "  - name: pool-{i}\n    instanceType: m6i.2xlarge\n    capacityType: on-demand\n    nodes: 2\n    cpu: \"16\"\n    memory: 64Gi\n    zones: [eu-west-1a]\n"
        ));
    }
    let lab = lab(&fleet).await;
    let (view, client) = synced_view(&lab).await;

    // Budgets that allow no disruption, more than the summary lists.
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    for i in 0..(MAX_DRAIN_BLOCKERS + 5) {
        let pdb: PodDisruptionBudget = serde_json::from_value(json!({
            "metadata": {"name": format!("none-{i}")},
            "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"absent": format!("x{i}")}}}
        }))
        .unwrap();
        pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    }
    let s = eventually("every budget to be seen blocking", DEADLINE, || {
        let (view, lab) = (&view, &lab);
        async move {
            let s = summary(view, lab);
            (s.drain_blockers.total >= (MAX_DRAIN_BLOCKERS + 5) as u64).then_some(s)
        }
    })
    .await;
    assert_eq!(s.drain_blockers.items.len(), MAX_DRAIN_BLOCKERS);
    assert!(
        s.drain_blockers
            .items
            .iter()
            .all(|b| b.pods.items.len() <= BLOCKER_POD_NAMES)
    );
    assert_eq!((s.pools.total, s.pools.items.len()), (40, MAX_POOLS));
    assert!(s.pods.restarts.top.items.len() <= TOP_RESTARTING);
    assert_eq!(s.nodes.total, 80);
    let pods: Vec<Pod> = list(&client).await;
    assert!(pods.len() >= 3000, "{}", pods.len());
    let bytes = serde_json::to_vec(&s).unwrap().len();
    assert!(bytes < 32 * 1024, "a summary of {bytes} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_converges_after_the_api_server_restarts_its_watches() {
    let lab = lab(FLEET).await;
    let (view, client) = synced_view(&lab).await;

    // Ends every watch and forgets the history: watchers resuming at their resourceVersion get
    // 410 Gone and relist.
    let restart = http::Request::post("/sim/v1/restart")
        .header("content-type", "application/json")
        .body(b"{}".to_vec())
        .unwrap();
    client.request_text(restart).await.unwrap();
    // Changes while the watchers reconnect: one deletion, one creation.
    let victim = view
        .pods_in("default")
        .into_iter()
        .chain(view.pods_on_node(&view.nodes()[0].name))
        .next()
        .unwrap();
    Api::<Pod>::namespaced(client.clone(), &victim.namespace)
        .delete(&victim.name, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "after-restart"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();

    eventually("the view to converge after the restart", DEADLINE, || {
        let (view, client, lab, victim) = (&view, &client, &lab, &victim);
        async move {
            let seen_ns = view
                .namespaces()
                .iter()
                .any(|n| &*n.name == "after-restart");
            let victim_gone = view
                .pod(&victim.namespace, &victim.name)
                .is_none_or(|p| p.uid != victim.uid);
            (seen_ns && victim_gone && counts_match(view, client, lab).await).then_some(())
        }
    })
    .await;
}
