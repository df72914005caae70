//! Right-sizing state survives an agent restart: the cost collection samples a twin cluster
//! for six simulated hours, checkpointing every hour into ConfigMaps in `kube-system`;
//! a new recommender on the same cluster loads them and its first bundle recommends what
//! the old one did at its last checkpoint, instead of "not enough data". A corrupted shard
//! is skipped and the others load; a deleted workload's entries are dropped at the next
//! write.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use capstan_agent::cost::checkpoint::{
    self, CheckpointStore, Checkpointer, DATA_KEY, NAMESPACE, checkpoint_entries,
};
use capstan_agent::cost::{CostCollector, CostConfig, CostSource, UsageSource};
use capstan_clock::{Clock, ScaledClock};
use capstan_core::cost::PriceSheet;
use capstan_core::recommendations::Recommendations;
use capstan_kube::view::ClusterView;
use capstan_lab::{LabTwin, eventually};
use capstan_sim::TwinConfig;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};

const FLEET: &str = r#"
clusters:
- name: shop
  labels: {environment: production}
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 120
  seed: 5
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 4
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a]
"#;

/// Simulated time between samples, and between checkpoints.
const STEP: Duration = Duration::from_secs(300);
const CHECKPOINT_EVERY: Duration = Duration::from_secs(3600);
const SHARDS: u32 = 4;

fn config() -> CostConfig {
    let mut config = CostConfig::new(CostSource::MetricsApi);
    // Every container in the bundle, so that lists compare whole.
    config.recommender.max_rightsizing = 100_000;
    config
}

/// (namespace, kind, workload, container) of each right-sizing recommendation.
fn keys(r: &Recommendations) -> BTreeSet<(String, String, String, String)> {
    r.rightsizing
        .iter()
        .map(|x| {
            (
                x.namespace.clone(),
                x.kind.clone(),
                x.workload.clone(),
                x.container.clone(),
            )
        })
        .collect()
}

/// A new recommender on the cluster: its checkpoints loaded, nothing sampled yet.
async fn restarted(client: &kube::Client, clock: &ScaledClock) -> (CostCollector, Checkpointer) {
    let mut collector = CostCollector::new(&config());
    let mut checkpointer = Checkpointer::new(
        "shop",
        CheckpointStore::new(client.clone(), NAMESPACE),
        CHECKPOINT_EVERY,
    );
    checkpointer
        .load_into(&mut collector.recommender, clock.now())
        .await;
    (collector, checkpointer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommendations_survive_a_restart() {
    // A frozen clock at an hour boundary that moves only when stepped.
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
    let source = UsageSource::MetricsApi(client.clone());

    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    // Four shards from the first write, so that one can be corrupted below.
    let mut collector = CostCollector::new(&config());
    let mut checkpointer = Checkpointer::new(
        "shop",
        CheckpointStore::new(client.clone(), NAMESPACE).with_shards(SHARDS),
        CHECKPOINT_EVERY,
    );
    checkpointer
        .load_into(&mut collector.recommender, clock.now())
        .await;
    assert_eq!(
        collector.recommender.tracked_containers(),
        0,
        "no checkpoint yet"
    );

    // Six hours, a sample every five minutes; the bundle as of each checkpoint written.
    let mut at_checkpoint: Option<Recommendations> = None;
    let mut written = 0;
    for i in 0..=6 * 12 {
        if i > 0 {
            clock.advance(STEP);
        }
        let usage = source.sample().await.unwrap();
        collector.tick(&view, &usage, clock.now());
        checkpointer
            .tick(&collector.recommender, &view, clock.now())
            .await;
        if let Some(result) = checkpointer.wait_written().await {
            let saved = result.unwrap();
            assert_eq!(saved.shards, SHARDS);
            assert!(saved.entries > 0);
            written += 1;
            at_checkpoint = Some(collector.recommender.bundle(&view, &prices, clock.now()));
        }
    }
    assert_eq!(written, 6, "one checkpoint an hour");
    let before = at_checkpoint.unwrap();
    assert!(
        before.rightsizing.len() > 20,
        "{} recommendations",
        before.rightsizing.len()
    );
    assert_eq!(before.counts.containers_without_enough_data, 0);
    // Samples after the last checkpoint are what a crash loses.
    clock.advance(STEP);
    let usage = source.sample().await.unwrap();
    collector.tick(&view, &usage, clock.now());
    drop(collector);
    drop(checkpointer);

    let shards = configmaps
        .list(&ListParams::default().labels("app.kubernetes.io/component=rightsizing-checkpoint"))
        .await
        .unwrap();
    let names: BTreeSet<String> = shards
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    let want: BTreeSet<String> = (0..SHARDS)
        .map(|i| checkpoint::shard_name(SHARDS, i))
        .collect();
    assert_eq!(names, want);

    // A new recommender: its first bundle, before any tick, is the old one's.
    let (restored, _) = restarted(&client, &clock).await;
    let after = restored.recommender.bundle(&view, &prices, clock.now());
    assert_eq!(after.counts.containers_without_enough_data, 0);
    assert_eq!(
        after.counts.containers_recommended,
        before.counts.containers_recommended
    );
    assert_eq!(
        serde_json::to_value(&after.rightsizing).unwrap(),
        serde_json::to_value(&before.rightsizing).unwrap(),
        "the same right-sizing, to the millicore, MiB and cent"
    );

    // A corrupted shard: skipped, the other three load.
    let corrupted = checkpoint::shard_name(SHARDS, 1);
    let in_corrupted: BTreeSet<(String, String, String, String)> = {
        let cm = configmaps.get(&corrupted).await.unwrap();
        let text = &cm.data.unwrap()[DATA_KEY];
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        value["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (s("namespace"), s("kind"), s("workload"), s("container"))
            })
            .collect()
    };
    assert!(!in_corrupted.is_empty());
    let patch = serde_json::json!({"data": {DATA_KEY: "{\"version\":\"v1\",\"entries\":[tru"}});
    configmaps
        .patch(&corrupted, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let mut store = CheckpointStore::new(client.clone(), NAMESPACE);
    let loaded = store.load().await.unwrap();
    assert_eq!((loaded.shards, loaded.skipped_shards), (SHARDS as usize, 1));
    let (partial, _) = restarted(&client, &clock).await;
    let partial = partial.recommender.bundle(&view, &prices, clock.now());
    let want: BTreeSet<_> = keys(&before).difference(&in_corrupted).cloned().collect();
    assert_eq!(keys(&partial), want, "all but the corrupted shard's");
    for r in &partial.rightsizing {
        let old = before
            .rightsizing
            .iter()
            .find(|o| {
                (&o.namespace, &o.workload, &o.container)
                    == (&r.namespace, &r.workload, &r.container)
            })
            .unwrap();
        assert_eq!(r, old);
    }

    // A deleted Deployment: its entries are dropped at the next write (GC); the next write
    // also rewrites the corrupted shard.
    let (mut survivor, mut checkpointer) = restarted(&client, &clock).await;
    let gone = before
        .rightsizing
        .iter()
        .find(|r| r.kind == "Deployment")
        .unwrap()
        .clone();
    Api::<Deployment>::namespaced(client.clone(), &gone.namespace)
        .delete(&gone.workload, &DeleteParams::foreground())
        .await
        .unwrap();
    eventually(
        "the Deployment and its pods to leave the view",
        Duration::from_secs(60),
        || {
            clock.advance(Duration::from_secs(60));
            let present = checkpoint::existing_workloads(&view).iter().any(|k| {
                *k.namespace == *gone.namespace
                    && &*k.kind == "Deployment"
                    && *k.name == *gone.workload
            });
            async move { (!present).then_some(()) }
        },
    )
    .await;
    clock.advance(CHECKPOINT_EVERY);
    checkpointer
        .tick(&survivor.recommender, &view, clock.now())
        .await;
    let entries = checkpoint_entries(&survivor.recommender, &view);
    assert!(
        !entries
            .iter()
            .any(|e| e.workload == gone.workload && e.namespace == gone.namespace)
    );
    assert!(checkpointer.wait_written().await.unwrap().is_ok());
    let loaded = store.load().await.unwrap();
    assert_eq!(
        loaded.skipped_shards, 0,
        "the corrupted shard was rewritten"
    );
    let names: BTreeSet<(String, String)> = loaded
        .containers
        .iter()
        .map(|r| {
            (
                r.checkpoint.namespace.clone(),
                r.checkpoint.workload.clone(),
            )
        })
        .collect();
    assert!(!names.contains(&(gone.namespace.clone(), gone.workload.clone())));
    assert_eq!(loaded.containers.len(), entries.len());
    // The survivor still recommends for the rest after a tick.
    let usage = source.sample().await.unwrap();
    survivor.tick(&view, &usage, clock.now());
    let bundle = survivor.recommender.bundle(&view, &prices, clock.now());
    assert_eq!(bundle.counts.containers_without_enough_data, 0);
}
