#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The disruption controller's bookkeeping of evicted pods, as kube-controller-manager keeps
//! it: an evicted pod stays in `status.disruptedPods` (and out of `currentHealthy`) until it is
//! seen terminating or two minutes pass, and the budget is recomputed when that entry expires.

mod common;

use std::time::Duration;

use capstan_sim::TwinConfig;
use common::{FLEET, TestTwin, eventually};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, EvictParams, PostParams};
use serde_json::json;

/// One simulated minute per real second: the two-minute expiry passes in two seconds.
const SCALE: f64 = 60.0;
const DEADLINE: Duration = Duration::from_secs(30);

fn running_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `(currentHealthy, disruptionsAllowed)` once the budget's status is as wanted.
async fn wait_budget(budgets: &Api<PodDisruptionBudget>, healthy: i32, allowed: i32) {
    eventually("the budget's status", DEADLINE, || async {
        let status = budgets.get("db").await.ok()?.status?;
        (status.current_healthy == healthy && status.disruptions_allowed == allowed).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_recreated_under_its_name_counts_again_once_its_disruption_expires() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "pdb-expiry"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "pdb-expiry");
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "pdb-expiry");
    let sets: Api<StatefulSet> = Api::namespaced(client, "pdb-expiry");
    let set: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                // No grace period: an evicted pod goes at once, so the disruption
                // controller never sees it terminating (which would drop its entry).
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "db", "image": "postgres"}]
                }
            }
        }
    }))
    .unwrap();
    sets.create(&PostParams::default(), &set).await.unwrap();
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "db"}}}
    }))
    .unwrap();
    budgets.create(&PostParams::default(), &pdb).await.unwrap();
    wait_budget(&budgets, 3, 1).await;

    // Evicted: the StatefulSet controller recreates db-0 under its name in the same pass
    // that removes the old one, so the budget never sees a gap that would drop the entry.
    let old_uid = pods.get("db-0").await.unwrap().metadata.uid;
    let evicted = pods.evict("db-0", &EvictParams::default()).await.unwrap();
    assert_eq!(evicted.code, 201, "{evicted:?}");
    eventually("db-0 recreated, Running and Ready", DEADLINE, || async {
        let pod = pods.get("db-0").await.ok()?;
        (pod.metadata.uid != old_uid && running_ready(&pod)).then_some(())
    })
    .await;

    // Ready again: counted healthy once the disruptedPods entry has expired, with no other
    // change to the budget or its pods to prompt a recomputation.
    wait_budget(&budgets, 3, 1).await;
    let status = budgets.get("db").await.unwrap().status.unwrap();
    assert!(
        status.disrupted_pods.unwrap_or_default().is_empty(),
        "the expired entry is dropped"
    );
}
