//! `kubectl drain` and `capstan drain` side by side on two identical twin clusters (two twins
//! serving the same fleet with the same seed): they must evict the same pods and be held by the
//! same PodDisruptionBudget in the same way.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use capstan_lab::LabTwin;
use capstan_lab::fixtures::guarded_deployment;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;
use serde_json::json;

const FLEET: &str = r#"
clusters:
- name: alpha
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 40
  seed: 11
  nodePools:
  - {name: general, instanceType: m6i.2xlarge, capacityType: on-demand, nodes: 5, cpu: "8", memory: 32Gi, zones: [eu-west-1a]}
"#;

async fn node_names(client: &kube::Client) -> Vec<String> {
    let mut names: Vec<String> = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    names
}

/// Names in lines `<prefix>NAME<suffix>`.
fn names(text: &str, prefix: &str, suffix: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|rest| rest.split_once(suffix).map(|(name, _)| name.to_string()))
        .collect()
}

#[tokio::test]
async fn capstan_drain_and_kubectl_drain_agree() {
    // 60x: a pod's 30 s grace period is half a second, so drains finish quickly.
    let twin = || LabTwin::start(FLEET, 60.0, capstan_sim::TwinConfig::default());
    let (left_lab, right_lab) = (twin().await.unwrap(), twin().await.unwrap());
    let left = left_lab.client("alpha").await.unwrap();
    let right = right_lab.client("alpha").await.unwrap();
    let nodes = node_names(&left).await;
    assert_eq!(nodes, node_names(&right).await, "identical clusters");
    let node = nodes[0].clone();
    // The same pinned Deployment, fully guarded, in both.
    for client in [&left, &right] {
        guarded_deployment(client, &node, json!({"maxUnavailable": 0}))
            .await
            .unwrap();
    }

    let flags = [
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=20s",
    ];
    let (left_config, right_config) = (
        left_lab.kubeconfig.to_str().unwrap().to_string(),
        right_lab.kubeconfig.to_str().unwrap().to_string(),
    );
    let mut kubectl = tokio::process::Command::new("kubectl");
    kubectl
        .args([
            "--kubeconfig",
            &left_config,
            "--context",
            "alpha",
            "drain",
            &node,
        ])
        .args(flags);
    let mut capstan = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstan"));
    capstan
        .args([
            "drain",
            &node,
            "--kubeconfig",
            &right_config,
            "--context",
            "alpha",
        ])
        .args(flags)
        .env("RUST_BACKTRACE", "0");
    let (k, c) = tokio::join!(kubectl.output(), capstan.output());
    let (k, c) = (k.unwrap(), c.unwrap());
    let (k_out, k_err) = (
        String::from_utf8_lossy(&k.stdout),
        String::from_utf8_lossy(&k.stderr),
    );
    let (c_out, c_err) = (
        String::from_utf8_lossy(&c.stdout),
        String::from_utf8_lossy(&c.stderr),
    );
    let context = format!("kubectl:\n{k_out}\n{k_err}\ncapstan:\n{c_out}\n{c_err}");

    // Both cordon, both fail at the deadline because of the budget.
    assert!(
        k_out.contains(&format!("node/{node} cordoned")),
        "{context}"
    );
    assert!(
        c_out.contains(&format!("node/{node} cordoned")),
        "{context}"
    );
    assert!(!k.status.success() && !c.status.success(), "{context}");

    // The same pods were evicted.
    let k_evicted = names(&k_out, "pod/", " evicted");
    let c_evicted = names(&c_out, "pod/", " evicted");
    assert!(!k_evicted.is_empty(), "{context}");
    assert_eq!(k_evicted, c_evicted, "{context}");

    // The same pods were held, with the same refusal from the server.
    let held_prefix = "error when evicting pods/\"";
    let k_held = names(&k_err, held_prefix, "\" -n \"default\"");
    let c_held = names(&c_err, held_prefix, "\" -n \"default\"");
    assert_eq!(k_held.len(), 2, "{context}");
    assert!(
        k_held.iter().all(|p| p.starts_with("guarded-")),
        "{context}"
    );
    assert_eq!(k_held, c_held, "{context}");
    let refusal = "Cannot evict pod as it would violate the pod's disruption budget.";
    assert!(
        k_err.contains(refusal) && c_err.contains(refusal),
        "{context}"
    );

    // What kubectl cannot say: which budget holds them, and by how much.
    for pod in &c_held {
        assert!(
            c_err.lines().any(|l| l.contains(pod.as_str())
                && l.contains("default/guarded")
                && l.contains("needs 2 healthy, has 2")),
            "{context}"
        );
    }
}
