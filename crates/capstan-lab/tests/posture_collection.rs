//! The agent's posture evaluation against a twin cluster: the report's counts agree with
//! the cluster as kube-rs lists it independently (pods, containers, namespaces and their
//! Pod Security labels, network policies), every finding names a real object, the same
//! cluster evaluates the same twice, and an exceptions file turns findings into excepted
//! ones without hiding any.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use capstan_agent::posture::{PostureConfig, evaluate};
use capstan_clock::Clock;
use capstan_core::posture::exceptions::Exceptions;
use capstan_core::posture::report::{Control, PostureReport};
use capstan_lab::LabTwin;
use capstan_sim::TwinConfig;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;
use kube::api::ListParams;

const FLEET: &str = r#"
clusters:
- name: shop
  labels: {environment: production}
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 600
  seed: 21
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 12
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a, eu-west-1b]
"#;

async fn lab() -> LabTwin {
    LabTwin::start(FLEET, 1.0, TwinConfig::default())
        .await
        .unwrap()
}

async fn evaluate_with(lab: &LabTwin, config: &PostureConfig) -> PostureReport {
    let client = lab.client("shop").await.unwrap();
    let (report, counts) = evaluate(&client, "shop", config, lab.clock.now())
        .await
        .unwrap();
    assert!(counts.pods > 0 && counts.pages > 0, "{counts:?}");
    report
}

fn detail(report: &PostureReport, control: Control, key: &str) -> u64 {
    report
        .control(control)
        .unwrap()
        .details
        .get(key)
        .copied()
        .unwrap_or_else(|| panic!("{control} has no detail {key}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_counts_what_the_cluster_holds() {
    let lab = lab().await;
    let report = evaluate_with(&lab, &PostureConfig::default()).await;
    let client = lab.client("shop").await.unwrap();

    // Pods and containers, listed independently.
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let phase = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default()
    };
    let live: Vec<&Pod> = pods
        .items
        .iter()
        .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        .collect();
    let running_containers: u64 = live
        .iter()
        .filter(|p| phase(p) == "Running")
        .map(|p| p.spec.as_ref().unwrap().containers.len() as u64)
        .sum();
    let pss_pods = detail(&report, Control::PodSecurity, "podsRestricted")
        + detail(&report, Control::PodSecurity, "podsBaseline")
        + detail(&report, Control::PodSecurity, "podsPrivileged");
    assert_eq!(pss_pods, live.len() as u64, "every live pod has a level");
    let images = report.control(Control::ImageScanning).unwrap();
    assert_eq!(images.eligible, running_containers);
    assert!(
        images.covered > 0 && images.covered <= images.eligible,
        "{images:?}"
    );

    // Namespaces and their enforce labels (PSA's defaults: unlabelled is privileged).
    let namespaces = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let enforced = namespaces
        .items
        .iter()
        .filter(|n| {
            let level = n
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-security.kubernetes.io/enforce"));
            matches!(level.map(String::as_str), Some("baseline" | "restricted"))
        })
        .count() as u64;
    let pss = report.control(Control::PodSecurity).unwrap();
    assert_eq!(pss.eligible, namespaces.items.len() as u64);
    assert_eq!(pss.covered + pss.excepted, enforced);

    // Network policy: the system namespaces are exempt; a namespace with a Kubernetes
    // NetworkPolicy has "any policy".
    let exempt = ["kube-system", "kube-public", "kube-node-lease"];
    let eligible: BTreeSet<String> = namespaces
        .items
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .filter(|n| !exempt.contains(&n.as_str()))
        .collect();
    let netpol = report.control(Control::NetworkPolicy).unwrap();
    assert_eq!(netpol.eligible, eligible.len() as u64);
    let with_policy: BTreeSet<String> = Api::<NetworkPolicy>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.namespace)
        .filter(|n| eligible.contains(n))
        .collect();
    assert!(
        detail(&report, Control::NetworkPolicy, "namespacesWithAnyPolicy")
            >= with_policy.len() as u64
    );
    assert!(netpol.counted() <= netpol.eligible);

    // Every control reported once, findings bounded, each naming its rule and object.
    let controls: Vec<Control> = report.controls.iter().map(|c| c.control).collect();
    assert_eq!(controls, Control::ALL);
    for f in &report.findings {
        assert!(
            f.rule.starts_with(match f.control {
                Control::Rbac => "",
                Control::NetworkPolicy => "netpol.",
                Control::PodSecurity => "pss.",
                Control::Secrets => "secrets.",
                Control::ImageScanning => "images.",
            }),
            "{f:?}"
        );
        assert!(
            !f.object.name.is_empty() && !f.object.kind.is_empty(),
            "{f:?}"
        );
        assert!(f.count >= 1);
    }
    // A pod finding names the workload, which exists: ask kubectl for it.
    let pod_finding = report
        .findings
        .iter()
        .find(|f| f.control == Control::PodSecurity && f.object.kind == "Deployment");
    if let Some(f) = pod_finding {
        let (ok, _, err) = lab
            .kubectl(
                "shop",
                &[
                    "get",
                    "deployment",
                    "-n",
                    &f.object.namespace,
                    &f.object.name,
                ],
            )
            .await;
        assert!(ok, "{f:?}: {err}");
        assert!(f.field_path.starts_with("spec."), "{f:?}");
    }
    for c in &report.controls {
        let listed = report.findings_for(c.control).count() as u64;
        assert!(listed <= c.findings, "{c:?}");
    }

    // The same cluster, the same clock: the same report.
    let again = evaluate_with(&lab, &PostureConfig::default()).await;
    assert_eq!(again.controls, report.controls);
    assert_eq!(again.findings, report.findings);
    assert_eq!(again.rules, report.rules);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_are_reported_not_hidden() {
    let lab = lab().await;
    let plain = evaluate_with(&lab, &PostureConfig::default()).await;
    let netpol = plain.control(Control::NetworkPolicy).unwrap().clone();
    assert!(
        netpol.findings > 0 && netpol.covered < netpol.eligible,
        "the twin leaves some namespaces without policies: {netpol:?}"
    );
    let exceptions = Exceptions::parse(
        r#"
apiVersion: posture.toolkit.io/v1alpha1
kind: PostureExceptions
exceptions:
  - name: all-namespaces-accepted
    reason: the cluster sits behind a firewall until the policy rollout
    control: network-policy
"#,
    )
    .unwrap();
    let config = PostureConfig {
        exceptions: Arc::new(exceptions),
        ..PostureConfig::default()
    };
    let excepted = evaluate_with(&lab, &config).await;
    let after = excepted.control(Control::NetworkPolicy).unwrap();
    assert_eq!(after.covered, netpol.covered, "covered is unchanged");
    assert_eq!(after.excepted, netpol.eligible - netpol.covered);
    assert!(after.complete());
    assert_eq!(after.findings, netpol.findings, "no finding is hidden");
    assert_eq!(after.excepted_findings, netpol.findings);
    let listed: Vec<_> = excepted.findings_for(Control::NetworkPolicy).collect();
    assert_eq!(
        listed.len(),
        plain.findings_for(Control::NetworkPolicy).count()
    );
    assert!(listed.iter().all(|f| f.excepted.as_deref()
        == Some("the cluster sits behind a firewall until the policy rollout")));
    let applied = excepted
        .exceptions
        .iter()
        .find(|e| e.name == "all-namespaces-accepted")
        .unwrap();
    assert_eq!(applied.matched, netpol.findings);
    // The other controls did not move.
    for c in Control::ALL
        .into_iter()
        .filter(|c| *c != Control::NetworkPolicy)
    {
        assert_eq!(excepted.control(c), plain.control(c), "{c}");
    }
}
