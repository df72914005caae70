#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Real kubectl (the one on this machine) against the twin over TLS with the written kubeconfig.

mod common;

use std::time::Duration;

use capstan_sim::TwinConfig;
use common::{FLEET, TestTwin, eventually};

const CTX: &str = "alpha";

const MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources:
          requests: {cpu: 100m, memory: 64Mi}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: shop
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: web}
"#;

fn node_names(t: &TestTwin) -> Vec<String> {
    let (ok, out, err) = t.kubectl(CTX, &["get", "nodes", "-o", "name"]);
    assert!(ok, "get nodes failed: {err}");
    out.lines()
        .map(|l| l.trim_start_matches("node/").to_string())
        .collect()
}

/// (pod name, node) of the web pods that are Running.
fn web_pods(t: &TestTwin) -> Vec<(String, String)> {
    let (ok, out, _) = t.kubectl(
        CTX,
        &[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app=web",
            "--field-selector",
            "status.phase=Running",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{\"\\n\"}{end}",
        ],
    );
    if !ok {
        return vec![];
    }
    out.lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_the_fleet() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let (ok, out, err) = t.kubectl(CTX, &["get", "nodes"]);
    assert!(ok, "{err}");
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(
        out.lines().filter(|l| l.contains(" Ready ")).count(),
        common::FLEET_NODES,
        "{out}"
    );

    let (ok, out, err) = t.kubectl(CTX, &["get", "pods", "-A"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("NAMESPACE"), "{out}");
    assert!(out.contains("Running"), "{out}");

    let node = &node_names(&t)[0];
    let (ok, out, err) = t.kubectl(CTX, &["describe", "node", node]);
    assert!(ok, "{err}");
    for section in [
        "Conditions:",
        "Capacity:",
        "Allocatable:",
        "Non-terminated Pods:",
        "Allocated resources:",
    ] {
        assert!(
            out.contains(section),
            "describe node lacks {section}:\n{out}"
        );
    }

    let (ok, out, err) = t.kubectl(CTX, &["version", "-o", "json"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"gitVersion\": \"v1.32.4\""), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_drain_held_by_pdb_uncordon_delete() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let nodes = node_names(&t);
    let target = nodes[0].clone();
    // Put both web replicas on the target: only it is schedulable while they are created.
    for other in &nodes[1..] {
        let (ok, _, err) = t.kubectl(CTX, &["cordon", other]);
        assert!(ok, "{err}");
    }
    let manifest = t.dir.path().join("web.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let path = manifest.to_str().unwrap();
    let (ok, out, err) = t.kubectl(CTX, &["apply", "-f", path]);
    assert!(ok, "apply failed: {err}");
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let (ok, _, err) = t
        .kubectl_async(
            CTX,
            &[
                "wait",
                "--for=condition=Available",
                "deployment/web",
                "-n",
                "shop",
                "--timeout=60s",
            ],
        )
        .await;
    assert!(ok, "wait failed: {err}");
    let pods = web_pods(&t);
    assert_eq!(pods.len(), 2, "{pods:?}");
    assert!(pods.iter().all(|(_, n)| *n == target), "{pods:?}");
    // Re-applying the same manifest changes nothing.
    let (ok, out, err) = t.kubectl(CTX, &["apply", "-f", path]);
    assert!(ok, "{err}");
    assert!(out.contains("deployment.apps/web unchanged"), "{out}");
    for other in &nodes[1..] {
        let (ok, _, err) = t.kubectl(CTX, &["uncordon", other]);
        assert!(ok, "{err}");
    }

    // Both evictions start at once; the budget lets one through, the other gets 429 until the
    // replacement is Ready on another node, then the drain completes.
    let (ok, out, err) = t
        .kubectl_async(
            CTX,
            &[
                "drain",
                &target,
                "--ignore-daemonsets",
                "--delete-emptydir-data",
                "--timeout=120s",
            ],
        )
        .await;
    assert!(ok, "drain failed:\n{out}\n{err}");
    assert!(
        err.contains("Cannot evict pod as it would violate the pod's disruption budget"),
        "the PDB never held the drain:\n{err}"
    );
    assert!(out.contains(&format!("node/{target} drained")), "{out}");
    let after = eventually(
        "two web pods Running off the drained node",
        Duration::from_secs(60),
        || async {
            let pods = web_pods(&t);
            (pods.len() == 2 && pods.iter().all(|(_, n)| *n != target)).then_some(pods)
        },
    )
    .await;
    assert!(
        after
            .iter()
            .all(|(name, _)| !pods.iter().any(|(old, _)| old == name))
    );
    let (_, out, _) = t.kubectl(CTX, &["get", "node", &target]);
    assert!(out.contains("SchedulingDisabled"), "{out}");

    let (ok, _, err) = t.kubectl(CTX, &["uncordon", &target]);
    assert!(ok, "{err}");
    let (_, out, _) = t.kubectl(
        CTX,
        &[
            "get",
            "node",
            &target,
            "-o",
            "jsonpath={.spec.unschedulable}",
        ],
    );
    assert_ne!(out.trim(), "true");

    let (ok, _, err) = t
        .kubectl_async(
            CTX,
            &["delete", "-f", path, "--ignore-not-found", "--timeout=60s"],
        )
        .await;
    assert!(ok, "delete failed: {err}");
    eventually("namespace shop gone", Duration::from_secs(60), || async {
        let (ok, _, err) = t.kubectl(CTX, &["get", "namespace", "shop"]);
        (!ok && err.contains("NotFound")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_bad_input_changes_nothing() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let (_, before, _) = t.kubectl(CTX, &["get", "namespaces", "-o", "name"]);
    let bad = t.dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Not_A_Valid_Name\n",
    )
    .unwrap();
    let (ok, _, err) = t.kubectl(CTX, &["apply", "-f", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("Invalid value") && err.contains("metadata.name"),
        "{err}"
    );
    let (ok, _, err) = t.kubectl(CTX, &["get", "pods", "-l", "app in (", "-A"]);
    assert!(!ok);
    assert!(
        err.contains("unable to parse requirement") || err.contains("found"),
        "{err}"
    );
    let (ok, after, _) = t.kubectl(CTX, &["get", "namespaces", "-o", "name"]);
    assert!(ok);
    assert_eq!(before, after);
}
