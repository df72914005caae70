//! Posture end to end, in one process: twin clusters, one hosted agent per cluster
//! evaluating and uploading over HTTP with an exceptions file, the hub storing the reports;
//! the fleet figures read back equal the clusters' own evaluations summed, and the findings
//! API lists each cluster's findings with the exceptions marked.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use capstan_agent::hosted::{HostedCluster, HostedConfig};
use capstan_agent::posture::{PostureConfig, evaluate};
use capstan_clock::Clock;
use capstan_core::posture::exceptions::Exceptions;
use capstan_core::posture::report::{Control, ControlCoverage};
use capstan_hub::api::{FindingList, PostureView};
use capstan_lab::fixtures::small_cluster;
use capstan_lab::{LabTwin, eventually};
use capstan_sim::TwinConfig;
use capstan_sim::fleet::FleetSpec;

const CLUSTERS: usize = 3;

const EXCEPTIONS: &str = r#"
apiVersion: posture.toolkit.io/v1alpha1
kind: PostureExceptions
exceptions:
  - name: monitoring-reads-the-host
    reason: node agents read the host
    control: pod-security
    namespaces: [monitoring]
  - name: shop-2-edge
    reason: shop-2 is behind the edge firewall
    control: network-policy
    clusters: [shop-2]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_report_posture_and_the_fleet_adds_up() {
    let clusters: Vec<_> = (1..=CLUSTERS)
        .map(|i| {
            small_cluster(
                &format!("shop-{i}"),
                if i == 3 { "staging" } else { "production" },
                "1.32.4",
                4,
                150,
                i as u64 + 40,
            )
        })
        .collect();
    let hosted: Vec<HostedCluster> = clusters
        .iter()
        .map(|c| HostedCluster {
            context: c.name.clone(),
            name: c.name.clone(),
            labels: c.labels.clone(),
        })
        .collect();
    let lab = LabTwin::start_fleet(FleetSpec { clusters }, 1.0, TwinConfig::default())
        .await
        .unwrap();
    let posture = PostureConfig {
        interval: Duration::from_secs(3600),
        exceptions: Arc::new(Exceptions::parse(EXCEPTIONS).unwrap()),
        ..PostureConfig::default()
    };
    let mut running = common::Hub::start(&lab, Duration::from_secs(60), false).await;
    let config = HostedConfig {
        posture: Some(posture.clone()),
        ..running.hosted_config(&lab)
    };
    running.spawn_agents(&config, hosted.clone());
    let hub = running.url.clone();
    let http = reqwest::Client::new();

    let view: PostureView = eventually(
        "every cluster to upload a posture report",
        Duration::from_secs(120),
        || async {
            let view: PostureView = common::get(&http, &format!("{hub}/api/v1/posture")).await;
            (view.clusters.len() == CLUSTERS && view.clusters_without_report.is_empty())
                .then_some(view)
        },
    )
    .await;

    // Each cluster's figures equal its own evaluation here, with the same settings (the
    // twin's clusters do not change while nothing is rolled).
    let mut own: BTreeMap<String, Vec<ControlCoverage>> = BTreeMap::new();
    for c in &hosted {
        let client = lab.client(&c.name).await.unwrap();
        let (report, _) = evaluate(&client, &c.name, &posture, lab.clock.now())
            .await
            .unwrap();
        own.insert(c.name.clone(), report.controls);
    }
    for cluster in &view.clusters {
        let mine = &own[&cluster.cluster];
        for (theirs, mine) in cluster.controls.iter().zip(mine) {
            assert_eq!(theirs.control, mine.control);
            assert_eq!(
                (
                    theirs.eligible,
                    theirs.covered,
                    theirs.excepted,
                    theirs.findings
                ),
                (mine.eligible, mine.covered, mine.excepted, mine.findings),
                "{} {}",
                cluster.cluster,
                mine.control
            );
        }
    }
    // The fleet's figures are the clusters' summed (RBAC counts whole clusters).
    for fleet in &view.fleet.controls {
        let per: Vec<&ControlCoverage> = own
            .values()
            .flat_map(|cs| cs.iter().filter(|c| c.control == fleet.control))
            .collect();
        if fleet.control == Control::Rbac {
            assert_eq!(fleet.eligible, CLUSTERS as u64);
            let clean = per.iter().filter(|c| c.covered >= c.eligible).count() as u64;
            assert_eq!(fleet.covered, clean);
        } else {
            assert_eq!(fleet.eligible, per.iter().map(|c| c.eligible).sum::<u64>());
            assert_eq!(fleet.covered, per.iter().map(|c| c.covered).sum::<u64>());
            assert_eq!(fleet.excepted, per.iter().map(|c| c.excepted).sum::<u64>());
        }
        assert_eq!(fleet.findings, per.iter().map(|c| c.findings).sum::<u64>());
        assert_eq!(
            fleet.meets_target,
            fleet
                .target
                .met(fleet.covered + fleet.excepted, fleet.eligible)
        );
    }

    // The label selector narrows the fleet.
    let production: PostureView = common::get(
        &http,
        &format!("{hub}/api/v1/posture?labelSelector=environment%3Dproduction"),
    )
    .await;
    assert_eq!(production.clusters.len(), 2);

    // shop-2's network-policy findings are all excepted, with the reason; shop-1's are not.
    let findings = |cluster: &str| {
        format!("{hub}/api/v1/posture/findings?control=network-policy&cluster={cluster}&limit=1000")
    };
    let shop2: FindingList = common::get(&http, &findings("shop-2")).await;
    let shop1: FindingList = common::get(&http, &findings("shop-1")).await;
    let expected2 = own["shop-2"][1].findings;
    assert_eq!(shop2.total, expected2);
    assert!(
        shop2
            .findings
            .iter()
            .all(|f| f.finding.excepted.as_deref() == Some("shop-2 is behind the edge firewall")),
        "{:?}",
        shop2.findings.first()
    );
    assert!(shop1.findings.iter().all(|f| f.finding.excepted.is_none()));
    assert!(
        shop1
            .findings
            .iter()
            .all(|f| f.cluster == "shop-1" && f.finding.control == Control::NetworkPolicy)
    );
    // An unknown control is refused with the valid names.
    let bad = http
        .get(format!("{hub}/api/v1/posture/findings?control=netpol"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("network-policy"));

    running.agents.abort_all();
    running.services.abort_all();
}
