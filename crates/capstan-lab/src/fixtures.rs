//! Objects the tests put into twin clusters.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::PostParams;
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
