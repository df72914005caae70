#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The security add-ons' custom resources served like real ones: discovery, short names,
//! categories, printer columns, `-o json`, and paginated lists, with the oldest and the
//! newest kubectl on the machine and with kube-rs.

mod common;

use capstan_sim::TwinConfig;
use common::TestTwin;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;

/// An on-premises cluster (Cilium) whose seed gives it Gatekeeper and External Secrets
/// Operator, and a GKE cluster (Calico).
const FLEET: &str = r#"
clusters:
- name: edge
  labels: {environment: production, provider: onprem}
  version: "1.32.4"
  provider: onprem
  region: dc-ams1
  pods: 60
  seed: 1
  nodePools:
  - name: general
    instanceType: metal-16c-64g
    capacityType: on-demand
    nodes: 3
    cpu: "16"
    memory: 64Gi
    zones: [dc-ams1-a, dc-ams1-b]
- name: gke
  labels: {environment: staging, provider: gcp}
  version: "1.31.6"
  provider: gcp
  region: us-central1
  pods: 60
  seed: 3
  nodePools:
  - name: default-pool
    instanceType: e2-standard-8
    capacityType: on-demand
    nodes: 3
    cpu: "8"
    memory: 32Gi
    zones: [us-central1-a, us-central1-b]
"#;

const KUBECTLS: [&str; 2] = [
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
];

fn kubectl(t: &TestTwin, bin: &str, ctx: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(bin)
        .arg("--kubeconfig")
        .arg(&t.kubeconfig)
        .arg("--context")
        .arg(ctx)
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{bin} {args:?} failed: {stderr}");
    stdout
}

fn header(table: &str) -> Vec<&str> {
    table
        .lines()
        .next()
        .unwrap_or("")
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_the_security_custom_resources() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    for bin in KUBECTLS {
        // Trivy Operator's reports, by short name, with the CRD's printer columns.
        let table = kubectl(&t, bin, "edge", &["get", "vulns", "-A"]);
        assert_eq!(
            header(&table),
            ["NAMESPACE", "NAME", "REPOSITORY", "TAG", "SCANNER", "AGE"],
            "{table}"
        );
        assert!(table.lines().count() > 5, "{table}");
        assert!(table.contains("replicaset-"), "{table}");
        let wide = kubectl(&t, bin, "edge", &["get", "vuln", "-A", "-o", "wide"]);
        assert!(header(&wide).contains(&"CRITICAL"), "{wide}");
        let list = json(&kubectl(
            &t,
            bin,
            "edge",
            &["get", "vulnerabilityreports", "-A", "-o", "json"],
        ));
        let first = &list["items"][0];
        assert_eq!(first["apiVersion"], "aquasecurity.github.io/v1alpha1");
        assert_eq!(first["report"]["scanner"]["name"], "Trivy");
        assert!(first["report"]["summary"]["criticalCount"].is_u64());

        // Cilium's policies on the Cilium cluster only.
        let cnp = kubectl(&t, bin, "edge", &["get", "ciliumnetworkpolicies", "-A"]);
        assert_eq!(header(&cnp), ["NAMESPACE", "NAME", "AGE", "VALID"], "{cnp}");
        assert!(cnp.contains("True"), "{cnp}");
        let ccnp = kubectl(&t, bin, "edge", &["get", "ccnp"]);
        assert!(ccnp.contains("kube-system-allow-cluster"), "{ccnp}");
        let crds = kubectl(&t, bin, "gke", &["get", "crds", "-o", "name"]);
        assert!(!crds.contains("cilium.io"), "{crds}");
        assert!(
            crds.contains("networkpolicies.crd.projectcalico.org"),
            "{crds}"
        );

        // Gatekeeper: every constraint kind through the `constraints` category.
        let constraints = kubectl(&t, bin, "edge", &["get", "constraints"]);
        for kind in [
            "k8srequiredlabels",
            "k8spspprivilegedcontainer",
            "k8sallowedrepos",
            "k8scontainerlimits",
        ] {
            assert!(constraints.contains(kind), "{kind} missing:\n{constraints}");
        }
        assert!(constraints.contains("ENFORCEMENT-ACTION"), "{constraints}");
        let repos = json(&kubectl(
            &t,
            bin,
            "edge",
            &["get", "k8sallowedrepos", "-o", "json"],
        ));
        let status = &repos["items"][0]["status"];
        assert!(
            status["totalViolations"].as_u64().unwrap()
                >= status["violations"].as_array().unwrap().len() as u64
        );

        // External Secrets Operator: ExternalSecrets and the Secrets they own.
        let es = kubectl(&t, bin, "edge", &["get", "externalsecrets", "-A"]);
        assert_eq!(
            header(&es),
            [
                "NAMESPACE",
                "NAME",
                "STORE",
                "REFRESH INTERVAL",
                "STATUS",
                "READY"
            ],
            "{es}"
        );
        assert!(es.contains("SecretSynced"), "{es}");

        // Calico: `networkpolicies` still means networking.k8s.io; Calico's by full name.
        let np = json(&kubectl(
            &t,
            bin,
            "gke",
            &["get", "networkpolicies", "-A", "-o", "json"],
        ));
        for item in np["items"].as_array().unwrap() {
            assert_eq!(item["apiVersion"], "networking.k8s.io/v1");
        }
        kubectl(
            &t,
            bin,
            "gke",
            &["get", "networkpolicies.crd.projectcalico.org", "-A"],
        );
        kubectl(&t, bin, "gke", &["get", "globalnetworkpolicies"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_pages_through_vulnerability_reports() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let client = t.client("edge", true).await;
    let gvk = GroupVersionKind::gvk("aquasecurity.github.io", "v1alpha1", "VulnerabilityReport");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "vulnerabilityreports");
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let all = api.list(&ListParams::default()).await.unwrap();
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(7);
        if let Some(c) = &token {
            lp = lp.continue_token(c);
        }
        let page = api.list(&lp).await.unwrap();
        assert!(page.items.len() <= 7);
        paged.extend(page.items.into_iter().map(|o| o.metadata.name.unwrap()));
        token = page.metadata.continue_.filter(|c| !c.is_empty());
        if token.is_none() {
            break;
        }
    }
    let names: Vec<String> = all
        .items
        .into_iter()
        .map(|o| o.metadata.name.unwrap())
        .collect();
    assert!(names.len() > 7);
    assert_eq!(paged, names);
}
