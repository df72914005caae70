//! The agent's cost collection against the twin's Metrics API: the hour's parts add up to
//! the cluster's cost (checked against the nodes priced independently), and recommendations
//! from two runs with the same seed are the same.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use capstan_agent::cost::{CostCollector, CostConfig, CostSource, UsageSource};
use capstan_clock::{Clock, ScaledClock};
use capstan_core::cost::{CostHour, Nanodollars, NodePriceKey, PriceSheet};
use capstan_core::recommendations::Recommendations;
use capstan_kube::view::ClusterView;
use capstan_lab::LabTwin;
use capstan_sim::TwinConfig;

const FLEET: &str = r#"
clusters:
- name: shop
  labels: {environment: production}
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 300
  seed: 11
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 8
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a, eu-west-1b]
  - name: batch
    instanceType: m6i.xlarge
    capacityType: spot
    nodes: 4
    cpu: "4"
    memory: 16Gi
    zones: [eu-west-1a]
"#;

/// Simulated time between samples.
const STEP: Duration = Duration::from_secs(300);

struct Run {
    hours: Vec<CostHour>,
    recommendations: Recommendations,
    /// Σ over ticks of the nodes' hourly price × the tick's hours, priced here from the
    /// view's nodes, independently of the allocation.
    node_cost_dollars: f64,
}

/// Samples the cluster every 5 simulated minutes for `hours` hours on a frozen clock.
async fn run(hours: u32) -> Run {
    // A fixed origin at an hour boundary, and time that moves only when stepped.
    let origin: jiff::Timestamp = "2026-11-02T06:00:00Z".parse().unwrap();
    let clock = Arc::new(ScaledClock::starting_at(origin, 1e-12));
    let lab = LabTwin::start_on(FLEET, clock.clone(), TwinConfig::default())
        .await
        .unwrap();
    let client = lab.client("shop").await.unwrap();
    let view = ClusterView::start(client.clone(), clock.clone());
    tokio::time::timeout(Duration::from_secs(60), view.wait_synced())
        .await
        .expect("the view syncs");
    let prices = PriceSheet::default();
    let config = CostConfig::new(CostSource::MetricsApi);
    let mut collector = CostCollector::new(&config);
    let source = UsageSource::MetricsApi(client);
    let mut finished = Vec::new();
    let mut node_cost = 0.0;
    let ticks = hours * 3600 / STEP.as_secs() as u32;
    for i in 0..=ticks {
        if i > 0 {
            clock.advance(STEP);
            node_cost += nodes_per_hour(&view, &prices) * STEP.as_secs_f64() / 3600.0;
        }
        let usage = source.sample().await.unwrap();
        assert!(usage.pod_count() > 0, "the Metrics API lists pods");
        let (done, counts) = collector.tick(&view, &usage, clock.now());
        assert_eq!(
            counts.containers_without_usage, 0,
            "every running container has usage"
        );
        finished.extend(done);
    }
    let recommendations = collector.recommender.bundle(&view, &prices, clock.now());
    Run {
        hours: finished,
        recommendations,
        node_cost_dollars: node_cost,
    }
}

fn nodes_per_hour(view: &ClusterView, prices: &PriceSheet) -> f64 {
    view.nodes()
        .iter()
        .map(|n| {
            let label = |k: &str| n.labels.get(k);
            let cpu = n.capacity_cpu_millis as f64 / 1000.0;
            let gib = n.capacity_memory_bytes as f64 / (1u64 << 30) as f64;
            let rates = prices.node_rates(&NodePriceKey {
                provider: "aws",
                region: "eu-west-1",
                instance_type: label("node.kubernetes.io/instance-type").unwrap(),
                spot: capstan_core::cloud::is_spot(label),
                cpu_cores: cpu,
                memory_gib: gib,
                gpus: 0.0,
            });
            rates.node_per_hour(cpu, gib, 0.0)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hours_add_up_and_recommendations_are_reproducible() {
    let first = run(8).await;

    // Eight whole hours finished (the ninth is still open).
    assert_eq!(
        first.hours.len(),
        8,
        "{:?}",
        first.hours.iter().map(|h| h.start).collect::<Vec<_>>()
    );
    let mut compute_and_idle = Nanodollars(0);
    for hour in &first.hours {
        assert!(
            (hour.hours_sampled - 1.0).abs() < 1e-9,
            "{}",
            hour.hours_sampled
        );
        let namespaces: Nanodollars = hour.namespaces.iter().map(|r| r.total()).sum();
        let workloads: Nanodollars = hour.workloads.iter().map(|r| r.total()).sum();
        assert_eq!(
            namespaces,
            hour.total.total(),
            "namespaces sum to the total exactly"
        );
        assert_eq!(
            workloads,
            hour.total.total(),
            "workloads sum to the total exactly"
        );
        assert!(
            hour.total.storage > Nanodollars(0),
            "the generated StatefulSets' claims cost"
        );
        // EKS: $0.10 per cluster-hour.
        assert_eq!(hour.total.management, Nanodollars::from_dollars(0.10));
        compute_and_idle += hour.total.compute();
    }
    // Compute (allocated + idle) is exactly what the nodes cost, priced independently here
    // (to a few nanodollars per tick of rounding).
    let nodes = Nanodollars::from_dollars(first.node_cost_dollars);
    assert!(
        (compute_and_idle - nodes).0.abs() < 1_000,
        "compute+idle {compute_and_idle:?} vs nodes {nodes:?}"
    );

    let r = &first.recommendations;
    assert!(
        !r.rightsizing.is_empty(),
        "over-provisioned workloads get advice"
    );
    assert!(
        r.rightsizing.iter().any(|x| x.monthly_saving_dollars > 0.0),
        "some advice saves money"
    );
    assert!(r.counts.containers_recommended > 0);
    assert!(
        !r.spot.is_empty(),
        "workloads on on-demand nodes are spot candidates"
    );
    assert!(!r.quota.is_empty(), "namespaces get quota suggestions");

    let second = run(8).await;
    let (a, b) = (
        serde_json::to_value(&first.recommendations).unwrap(),
        serde_json::to_value(&second.recommendations).unwrap(),
    );
    for kind in ["rightsizing", "spot", "quota", "keda", "counts"] {
        assert!(
            a[kind] == b[kind],
            "same seed, same samples: same {kind}; first difference: {}",
            first_difference(&a[kind], &b[kind], kind)
        );
    }
    let (a, b) = (
        serde_json::to_value(&first.hours).unwrap(),
        serde_json::to_value(&second.hours).unwrap(),
    );
    assert!(
        a == b,
        "and the same hours; first difference: {}",
        first_difference(&a, &b, "hours")
    );
}

/// The path and values where two JSON values first differ.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (p, q))| p != q)
            .map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]")))
            .unwrap_or_default(),
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .find(|(k, v)| y.get(*k) != Some(v))
            .map(|(k, v)| first_difference(v, &y[k], &format!("{path}.{k}")))
            .unwrap_or_default(),
        _ => format!("{path}: {a} vs {b}"),
    }
}
