//! Health with a real Prometheus (Debian's `prometheus`, installed by `.ci/run`): the
//! agent's two evaluation paths agree, and a critical alert on the canary halts the
//! canonical canary upgrade during its first soak.
//!
//! Prometheus scrapes the twin's exporters through the clusters' API servers with the same
//! targets and labels as the agent's own scrape (`file_sd` from
//! `capstan_agent::health::targets`). Without `prometheus` on PATH the tests say so and
//! pass, unless `CI` is set, where they fail: CI must run them.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use capstan_agent::health::{HealthConfig, HealthSource, PrometheusSource, SelfScrape, wall_ms};
use capstan_agent::hosted::{HostedCluster, HostedConfig};
use capstan_agent::work::UpgradeSettings;
use capstan_core::health::{Labels, RuleSet, RuleValues};
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_hub::api::{ClusterView, UpgradeDetail};
use capstan_lab::fixtures::{nodes_view, same_release, small_cluster};
use capstan_lab::prometheus::{self, LabPrometheus};
use capstan_lab::{LabTwin, eventually};
use capstan_sim::TwinConfig;
use capstan_sim::fleet::{ClusterSpec, FleetSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use tokio::task::JoinSet;

const CANARY_UPGRADE: &str = include_str!("../../../examples/canary-upgrade.yaml");
const VERSION: &str = "1.32.4";
const SCRAPE_EVERY: Duration = Duration::from_secs(1);

/// Whether Prometheus is here; without it the test is skipped, except in CI.
fn prometheus_available(test: &str) -> bool {
    if prometheus::binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: prometheus is not installed (apt-get install prometheus); CI must run this test"
    );
    eprintln!("{test}: SKIPPED: prometheus is not on PATH (apt-get install prometheus)");
    false
}

fn cluster(name: &str, environment: &str, seed: u64) -> ClusterSpec {
    small_cluster(name, environment, VERSION, 3, 30, seed)
}

async fn fault(lab: &LabTwin, cluster: &str, kind: &str, body: serde_json::Value) {
    let client = lab.client(cluster).await.unwrap();
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("/sim/v1/faults/{kind}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string().into_bytes())
        .unwrap();
    client
        .request_text(request)
        .await
        .unwrap_or_else(|e| panic!("fault {kind} on {cluster}: {e}"));
}

async fn node_names(lab: &LabTwin, cluster: &str) -> Vec<String> {
    let client = lab.client(cluster).await.unwrap();
    Api::<Node>::all(client)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect()
}

/// An app label of a workload in `cluster`, with its namespace.
async fn some_app(lab: &LabTwin, cluster: &str) -> (String, String) {
    let client = lab.client(cluster).await.unwrap();
    let pods = Api::<Pod>::all(client)
        .list(&ListParams::default())
        .await
        .unwrap();
    pods.items
        .iter()
        .filter_map(|p| {
            let ns = p.metadata.namespace.clone()?;
            let app = p.metadata.labels.as_ref()?.get("app")?.clone();
            (!ns.starts_with("kube-")).then_some((ns, app))
        })
        .min()
        .unwrap()
}

/// The default rules with their 5-minute windows cut to one minute (and the OOM rule's
/// 10 minutes to two). `rate()` divides by the whole window (Prometheus extrapolates only
/// half an interval past the first sample), so until a window has filled, a value reads low
/// by the unfilled share; the two paths start scraping at different moments, and near a
/// threshold that would make them disagree for minutes. Short windows fill within the test.
fn short_windows(mut rules: RuleSet) -> RuleSet {
    for rule in &mut rules.rules {
        rule.expr = rule
            .expr
            .replace("[5m]", "[1m]")
            .replace("[10m]", "[2m]")
            .replace("offset 10m", "offset 2m");
    }
    rules
}

/// The verdicts of one evaluation: the (rule, series) pairs over their threshold.
type Verdicts = BTreeSet<(String, Labels)>;

fn verdicts(rules: &RuleSet, values: &BTreeMap<String, RuleValues>) -> Verdicts {
    let mut out = Verdicts::new();
    for rule in &rules.rules {
        let series = match values.get(&rule.name) {
            Some(Ok(series)) => series,
            Some(Err(e)) => panic!("{}: {e}", rule.name),
            None => panic!("{}: not evaluated", rule.name),
        };
        for (labels, value) in series {
            if rule.holds(*value) {
                out.insert((rule.name.clone(), labels.clone()));
            }
        }
    }
    out
}

fn rules_of(v: &Verdicts) -> BTreeSet<&str> {
    v.iter().map(|(rule, _)| rule.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_scrape_and_prometheus_give_the_same_verdicts() {
    if !prometheus_available("self_scrape_and_prometheus_give_the_same_verdicts") {
        return;
    }
    let names = ["sick-api", "sick-infra", "well"];
    let fleet = FleetSpec {
        clusters: names
            .iter()
            .enumerate()
            .map(|(i, n)| cluster(n, "production", 100 + i as u64))
            .collect(),
    };
    let lab = LabTwin::start_fleet(fleet, 60.0, TwinConfig::default())
        .await
        .unwrap();
    // Nodes stay put here; listed before the API server starts failing requests.
    let mut nodes = BTreeMap::new();
    for name in names {
        nodes.insert(name, node_names(&lab, name).await);
    }
    // Faults first, so that every sample either path sees is from the faulty world.
    let (ns, app) = some_app(&lab, "sick-api").await;
    fault(
        &lab,
        "sick-api",
        "crashloop",
        serde_json::json!({"namespace": ns, "labelSelector": format!("app={app}")}),
    )
    .await;
    fault(
        &lab,
        "sick-api",
        "api",
        serde_json::json!({"errorRate": 0.3}),
    )
    .await;
    let sick_api_nodes = nodes["sick-api"].clone();
    fault(
        &lab,
        "sick-api",
        "node-pressure",
        serde_json::json!({"node": sick_api_nodes[0], "cpu": 0.97}),
    )
    .await;
    let infra_nodes = nodes["sick-infra"].clone();
    fault(
        &lab,
        "sick-infra",
        "etcd",
        serde_json::json!({"fsyncMs": 40}),
    )
    .await;
    fault(
        &lab,
        "sick-infra",
        "network",
        serde_json::json!({"node": infra_nodes[0], "packetLoss": 0.02}),
    )
    .await;
    fault(
        &lab,
        "sick-infra",
        "network",
        serde_json::json!({"node": infra_nodes[1], "latencyMs": 30}),
    )
    .await;
    fault(
        &lab,
        "sick-infra",
        "node-pressure",
        serde_json::json!({"node": infra_nodes[2], "memory": 0.95, "disk": 0.9, "diskIoBusy": 0.9}),
    )
    .await;

    let rules = short_windows(RuleSet::default());
    let mut scrapers = BTreeMap::new();
    for name in names {
        let client = lab.client(name).await.unwrap();
        scrapers.insert(name, SelfScrape::new(name, client, &rules.rules));
    }
    let jobs = scrapers["well"].jobs().clone();
    let clusters: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut server = LabPrometheus::start_on_lab(&lab, &clusters, jobs, SCRAPE_EVERY)
        .await
        .unwrap();
    let sources: BTreeMap<&str, PrometheusSource> = names
        .iter()
        .map(|n| (*n, PrometheusSource::new(&server.url, *n).unwrap()))
        .collect();
    let expected: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::from([
        (
            "sick-api",
            BTreeSet::from([
                "ContainerRestartsHigh",
                "APIServerErrorsHigh",
                "NodeCPUHigh",
            ]),
        ),
        (
            "sick-infra",
            BTreeSet::from([
                "EtcdWALFsyncSlow",
                "NodePacketLoss",
                "ProbeRTTHigh",
                "NodeMemoryHigh",
                "NodeFilesystemHigh",
                "NodeDiskIOBusy",
            ]),
        ),
        ("well", BTreeSet::new()),
    ]);

    // Scrape alongside Prometheus until both paths see every fault and agree on every
    // cluster in the same round.
    let mut scrapers = scrapers;
    let deadline = capstan_clock::Stopwatch::start();
    let mut last = String::new();
    let agreed = loop {
        assert!(
            deadline.elapsed() < Duration::from_secs(240),
            "the two paths never agreed on every fault; last: {last}\n{}",
            server.log()
        );
        let mut all = BTreeMap::new();
        for name in names {
            let scraper = scrapers.get_mut(name).unwrap();
            scraper.scrape(&nodes[name], wall_ms()).await;
            let our_values = scraper.evaluate(wall_ms());
            let their_values = sources[name].evaluate(&rules.rules).await;
            let ours = verdicts(&rules, &our_values);
            let theirs = verdicts(&rules, &their_values);
            if ours != theirs || rules_of(&ours) != expected[name] {
                let differing: BTreeSet<&str> = rules_of(&ours)
                    .symmetric_difference(&rules_of(&theirs))
                    .copied()
                    .collect();
                let values: Vec<String> = differing
                    .iter()
                    .map(|r| {
                        format!(
                            "{r}: scrape {:?} prometheus {:?}",
                            our_values[*r], their_values[*r]
                        )
                    })
                    .collect();
                last = format!(
                    "{name}: scrape {:?} vs prometheus {:?} (expected {:?}); {values:?}",
                    rules_of(&ours),
                    rules_of(&theirs),
                    expected[name]
                );
                break;
            }
            all.insert(name, ours);
        }
        if all.len() == names.len() {
            break all;
        }
        tokio::time::sleep(SCRAPE_EVERY).await;
    };
    assert!(server.running(), "prometheus died: {}", server.log());
    // Each verdict names the series: the pressured node, the crash-looping pods.
    let cpu: Vec<&Labels> = agreed["sick-api"]
        .iter()
        .filter(|(r, _)| r == "NodeCPUHigh")
        .map(|(_, l)| l)
        .collect();
    assert_eq!(cpu.len(), 1, "{cpu:?}");
    assert_eq!(cpu[0]["instance"], sick_api_nodes[0]);
    assert_eq!(cpu[0]["cluster"], "sick-api");
    let restarts: Vec<&Labels> = agreed["sick-api"]
        .iter()
        .filter(|(r, _)| r == "ContainerRestartsHigh")
        .map(|(_, l)| l)
        .collect();
    assert!(!restarts.is_empty());
    assert!(
        restarts.iter().all(|l| l["namespace"] == ns),
        "{restarts:?} {last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_canary_halts_the_canonical_upgrade_in_its_first_soak() {
    if !prometheus_available("a_crash_looping_canary_halts_the_canonical_upgrade_in_its_first_soak")
    {
        return;
    }
    const PRODUCTION: usize = 20;
    // The example's first soak (1 h) is 30 real seconds: long enough for the crash loop's
    // restarts (backoff 10 s doubling, simulated) to pass 5 and for the alert to reach the
    // hub; the PromQL windows are real time.
    const SCALE: f64 = 120.0;
    let clusters: Vec<ClusterSpec> = (1..=PRODUCTION)
        .map(|i| cluster(&format!("prod-{i:02}"), "production", 7 * i as u64))
        .collect();
    let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
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
    let rules = RuleSet::default();
    let jobs = SelfScrape::new("any", lab.client(&names[0]).await.unwrap(), &rules.rules)
        .jobs()
        .clone();
    let server = Arc::new(
        LabPrometheus::start_on_lab(&lab, &names, jobs, SCRAPE_EVERY)
            .await
            .unwrap(),
    );
    let lab = Arc::new(lab);
    let mut services = JoinSet::new();
    {
        // Surge nodes come and old ones go: keep Prometheus' targets current.
        let (server, lab) = (server.clone(), lab.clone());
        services.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if let Err(e) = server.refresh_from_lab(&lab).await {
                    eprintln!("refreshing prometheus targets: {e}");
                }
            }
        });
    }

    let mut lab_hub = common::Hub::start(&lab, Duration::from_secs(60), true).await;
    let hub = lab_hub.url.clone();
    let config = HostedConfig {
        upgrade: UpgradeSettings {
            poll_interval: Duration::from_millis(50),
            default_drain_timeout: Some(Duration::from_secs(7 * 24 * 3600)),
        },
        health: Some(HealthConfig {
            interval: Duration::from_secs(2),
            ..HealthConfig::new(HealthSource::Prometheus {
                url: server.url.clone(),
            })
        }),
        ..lab_hub.hosted_config(&lab)
    };
    lab_hub.spawn_agents(&config, hosted);

    let http = reqwest::Client::new();
    eventually(
        "every agent to report an evaluation",
        Duration::from_secs(180),
        || {
            let (http, hub) = (http.clone(), hub.clone());
            async move {
                let clusters: Vec<ClusterView> = http
                    .get(format!("{hub}/api/v1/clusters"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                let evaluated = clusters
                    .iter()
                    .filter(|c| c.node_count > 0 && c.health_evaluated_at.is_some())
                    .count();
                (evaluated == PRODUCTION).then_some(())
            }
        },
    )
    .await;

    let response = http
        .post(format!("{hub}/api/v1/upgrades"))
        .header(reqwest::header::CONTENT_TYPE, "application/yaml")
        .body(CANARY_UPGRADE)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    let created: UpgradeDetail = response.json().await.unwrap();
    let name = created.upgrade.name.clone();
    let status = |http: reqwest::Client, hub: String, name: String| async move {
        let detail: UpgradeDetail = http
            .get(format!("{hub}/api/v1/upgrades/{name}"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        serde_json::from_value::<RolloutState>(detail.upgrade.status).ok()
    };

    // Step 1 done and soaking: break a workload on the first cluster.
    let soaking: RolloutState = eventually("step 1's soak", Duration::from_secs(300), || {
        let (http, hub, name) = (http.clone(), hub.clone(), name.clone());
        async move {
            let s = status(http, hub, name).await?;
            assert!(
                !matches!(
                    s.phase,
                    RolloutPhase::Halted | RolloutPhase::Failed | RolloutPhase::Succeeded
                ),
                "the rollout ended before the fault: {:?} {}",
                s.phase,
                s.message
            );
            (s.phase == RolloutPhase::Soaking && s.step == 0).then_some(s)
        }
    })
    .await;
    let canary = soaking.plan.clusters[0].clone();
    let step_one: Vec<String> = soaking.plan.clusters[..soaking.plan.step_targets[0]].to_vec();
    assert_eq!(step_one.len(), 2);
    let (ns, app) = some_app(&lab, &canary).await;
    fault(
        &lab,
        &canary,
        "crashloop",
        serde_json::json!({"namespace": ns, "labelSelector": format!("app={app}")}),
    )
    .await;

    let halted: RolloutState = eventually("the rollout to halt", Duration::from_secs(120), || {
        let (http, hub, name) = (http.clone(), hub.clone(), name.clone());
        async move {
            let s = status(http, hub, name).await?;
            (s.phase != RolloutPhase::Soaking || s.step != 0).then_some(s)
        }
    })
    .await;
    assert_eq!(halted.phase, RolloutPhase::Halted, "{}", halted.message);
    assert_eq!(halted.step, 0, "halted in the first step's soak");
    for part in [
        canary.as_str(),
        "ContainerRestartsHigh",
        "> 5",
        &format!("namespace={ns}"),
    ] {
        assert!(
            halted.message.contains(part),
            "{part:?} not in {:?}",
            halted.message
        );
    }
    // The step's clusters were upgraded; no other cluster was touched.
    for (i, cluster) in halted.plan.clusters.iter().enumerate() {
        let record = &halted.clusters[cluster];
        let observed = nodes_view(&lab.client(cluster).await.unwrap())
            .await
            .unwrap();
        if i < step_one.len() {
            assert_eq!(
                record.state,
                ClusterState::Succeeded,
                "{cluster}: {record:?}"
            );
        } else {
            assert_eq!(record.state, ClusterState::Pending, "{cluster}: {record:?}");
            assert!(record.started.is_none(), "{cluster} started: {record:?}");
            let before = capstan_core::version::KubeVersion::parse(VERSION).unwrap();
            assert!(
                same_release(&observed.control_plane, &before),
                "{cluster}: control plane {} although its step never started",
                observed.control_plane
            );
        }
    }
    lab_hub.agents.abort_all();
    lab_hub.services.abort_all();
    services.abort_all();
}
