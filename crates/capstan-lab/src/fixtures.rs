//! Objects the tests put into twin clusters.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_core::annotations::PREFIX;
use capstan_core::version::KubeVersion;
use capstan_sim::fleet::{CapacityType, ClusterSpec, DisruptionBudgets, NodePoolSpec};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

use crate::{LabError, eventually};

/// Create `default/guarded`: a Deployment of two pods pinned to `node`, and a PDB over them
/// with `budget` (e.g. `{"minAvailable": 2}` or `{"maxUnavailable": 0}`); return once both
/// pods are Ready and the PDB's status counts them.
pub async fn guarded_deployment(
    client: &kube::Client,
    node: &str,
    budget: serde_json::Value,
) -> Result<(), LabError> {
    let invalid = |e: serde_json::Error| LabError(format!("fixture: {e}"));
    let api_error = |e: kube::Error| LabError(format!("creating the guarded workload: {e}"));
    let deploy: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "guarded", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "guarded"}},
                 "template": {"metadata": {"labels": {"app": "guarded"}},
                              "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                                       "containers": [{"name": "c", "image": "nginx"}]}}}
    }))
    .map_err(invalid)?;
    Api::<Deployment>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &deploy)
        .await
        .map_err(api_error)?;
    let mut spec = json!({"selector": {"matchLabels": {"app": "guarded"}}});
    if let (Some(spec), Some(budget)) = (spec.as_object_mut(), budget.as_object()) {
        spec.extend(budget.clone());
    }
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "guarded", "namespace": "default"},
        "spec": spec
    }))
    .map_err(invalid)?;
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    pdbs.create(&PostParams::default(), &pdb)
        .await
        .map_err(api_error)?;
    eventually(
        "the guarded pods Ready and the PDB counting them",
        Duration::from_secs(30),
        || {
            let pdbs = pdbs.clone();
            async move {
                let s = pdbs.get("guarded").await.ok()?.status?;
                (s.current_healthy == 2 && s.observed_generation == Some(1)).then_some(())
            }
        },
    )
    .await;
    Ok(())
}

/// A small production-shaped cluster for rollout tests: one `general` pool of `nodes` in
/// eu-west-1 with `pods` pods, labelled `environment`, every node drainable (the hub's
/// preflight refuses the default mixture's blocking budgets).
pub fn small_cluster(
    name: &str,
    environment: &str,
    version: &str,
    nodes: u32,
    pods: u64,
    seed: u64,
) -> ClusterSpec {
    ClusterSpec {
        name: name.to_string(),
        labels: BTreeMap::from([("environment".to_string(), environment.to_string())]),
        version: version.to_string(),
        provider: "aws".to_string(),
        region: "eu-west-1".to_string(),
        node_pools: vec![NodePoolSpec {
            name: "general".to_string(),
            instance_type: "m6i.2xlarge".to_string(),
            capacity_type: CapacityType::OnDemand,
            nodes,
            cpu: "8".to_string(),
            memory: "32Gi".to_string(),
            max_pods: 110,
            version: None,
            zones: vec!["eu-west-1a".to_string(), "eu-west-1b".to_string()],
        }],
        pods,
        seed,
        disruption_budgets: DisruptionBudgets::DrainSafe,
    }
}

/// What a cluster shows through its own API after an upgrade: the control plane's version,
/// each node's kubelet version, and the nodes left cordoned or carrying an upgrade mark
/// (an `upgrade.toolkit.io/` annotation, label or taint).
#[derive(Debug)]
pub struct NodesView {
    pub control_plane: KubeVersion,
    pub kubelets: BTreeMap<String, KubeVersion>,
    pub cordoned_or_marked: Vec<String>,
}

pub async fn nodes_view(client: &kube::Client) -> Result<NodesView, LabError> {
    let lab = |e: &dyn std::fmt::Display| LabError(e.to_string());
    let version = |text: &str| {
        KubeVersion::parse(text).map_err(|e| LabError(format!("version {text:?}: {e}")))
    };
    let info = client.apiserver_version().await.map_err(|e| lab(&e))?;
    let control_plane = version(&info.git_version)?;
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| lab(&e))?;
    let mut kubelets = BTreeMap::new();
    let mut cordoned_or_marked = Vec::new();
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let kubelet = node
            .status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .ok_or_else(|| LabError(format!("node {name} has no nodeInfo")))?;
        kubelets.insert(name.clone(), version(&kubelet.kubelet_version)?);
        let cordoned = node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
        let marked = node
            .metadata
            .annotations
            .iter()
            .chain(node.metadata.labels.iter())
            .flatten()
            .any(|(k, _)| k.starts_with(PREFIX))
            || node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .into_iter()
                .flatten()
                .any(|t| t.key.starts_with(PREFIX));
        if cordoned || marked {
            cordoned_or_marked.push(name);
        }
    }
    Ok(NodesView {
        control_plane,
        kubelets,
        cordoned_or_marked,
    })
}

/// Same major.minor.patch (kubelets carry the provider's suffix, `v1.33.8-eks-...`).
pub fn same_release(a: &KubeVersion, b: &KubeVersion) -> bool {
    (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
}
