//! Cost end to end, in one process: twin clusters on loopback TLS, one hosted agent per
//! cluster sampling the Metrics API and uploading finished hours and recommendations over
//! HTTP, the hub storing them; the fleet report read back by cluster, namespace and workload
//! adds up to the same total, to the cent, and every cluster has advice.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use capstan_agent::cost::{CostConfig, CostSource};
use capstan_agent::hosted::{HostedCluster, HostedConfig};
use capstan_hub::api::{CostReport, RecommendationList};
use capstan_lab::fixtures::small_cluster;
use capstan_lab::{LabTwin, eventually};
use capstan_sim::TwinConfig;
use capstan_sim::fleet::FleetSpec;

const CLUSTERS: usize = 3;
/// A simulated hour per real second: hours finish while the test watches.
const SCALE: f64 = 3600.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_upload_hours_and_the_fleet_report_adds_up() {
    let clusters: Vec<_> = (1..=CLUSTERS)
        .map(|i| {
            small_cluster(
                &format!("shop-{i}"),
                "production",
                "1.32.4",
                4,
                120,
                i as u64,
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
    let lab = LabTwin::start_fleet(FleetSpec { clusters }, SCALE, TwinConfig::default())
        .await
        .unwrap();

    let mut running = common::Hub::start(&lab, Duration::from_secs(60), false).await;
    let config = HostedConfig {
        // Five simulated minutes between samples.
        cost: Some(CostConfig {
            interval: Duration::from_millis(83),
            ..CostConfig::new(CostSource::MetricsApi)
        }),
        report_interval: Duration::from_millis(500),
        ..running.hosted_config(&lab)
    };
    running.spawn_agents(&config, hosted);
    let hub = running.url.clone();

    let http = reqwest::Client::new();
    let by = |group: &str| format!("{hub}/api/v1/cost?window=24h&by={group}&top=1000");
    // Two finished hours from every cluster.
    let report: CostReport = eventually(
        "every cluster to upload cost hours",
        Duration::from_secs(120),
        || async {
            let report: CostReport = common::get(&http, &by("cluster")).await;
            let enough = report.clusters == CLUSTERS
                && report.missing.is_empty()
                && report.total.total.0 > 0;
            enough.then_some(report)
        },
    )
    .await;
    assert_eq!(report.rows.len(), CLUSTERS);
    assert_eq!(
        report.network_unmeasured, CLUSTERS,
        "the Metrics API carries no traffic: network is reported as not measured"
    );
    assert!(report.rows.iter().all(|r| r.total_cents > 0));
    assert_eq!(
        report.rows.iter().map(|r| r.total_cents).sum::<i64>(),
        report.total.total_cents,
        "printed rows sum to the printed total"
    );
    let compute_share = report
        .shares
        .iter()
        .find(|s| s.category.as_str() == "compute")
        .unwrap();
    assert!(
        compute_share.share > 0.5,
        "compute dominates: {compute_share:?}"
    );

    // The same window read by namespace and by workload: the same total, to the
    // nanodollar, as long as no new hour arrived in between (retry until two reads agree).
    eventually(
        "the three views to agree on one snapshot",
        Duration::from_secs(60),
        || async {
            let clusters: CostReport = common::get(&http, &by("cluster")).await;
            let namespaces: CostReport = common::get(&http, &by("namespace")).await;
            let workloads: CostReport = common::get(&http, &by("workload")).await;
            let again: CostReport = common::get(&http, &by("cluster")).await;
            (clusters.total.total == again.total.total).then(|| {
                assert_eq!(namespaces.total.total, clusters.total.total);
                assert_eq!(workloads.total.total, clusters.total.total);
                assert!(namespaces.rows.iter().any(|r| r.line.name == "__idle__"));
            })
        },
    )
    .await;

    let advice: RecommendationList = eventually(
        "every cluster to send recommendations",
        Duration::from_secs(60),
        || async {
            let list: RecommendationList = common::get(
                &http,
                &format!("{hub}/api/v1/cost/recommendations?kind=rightsizing&limit=500"),
            )
            .await;
            (list.clusters == CLUSTERS && !list.items.is_empty()).then_some(list)
        },
    )
    .await;
    assert!(advice.items.iter().all(|i| i.kind == "rightsizing"));
    let savings: Vec<f64> = advice
        .items
        .iter()
        .filter_map(|i| i.monthly_saving_dollars)
        .collect();
    assert!(
        savings.windows(2).all(|w| w[0] >= w[1]),
        "sorted by saving: {savings:?}"
    );
    running.agents.abort_all();
    running.services.abort_all();
}
