//! The twin: a fleet of simulated clusters in one process, each with its own controller loop
//! on the shared simulated clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use capstan_clock::{SharedClock, Stopwatch};
use capstan_core::rng::SimRng;
use parking_lot::MutexGuard;

use crate::cluster::{Cluster, ClusterData};
use crate::fleet::{ClusterSpec, FleetSpec};
use crate::resources::ResKey;
use crate::store::{ObjKey, RvCounter};

/// Knobs of the twin (the defaults mirror upstream where upstream has a number).
#[derive(Debug, Clone)]
pub struct TwinConfig {
    /// Events kept per resource for watches to resume from (upstream's watch cache keeps a
    /// bounded window too; older resourceVersions get 410 Expired).
    pub history_limit: usize,
    /// Interval of periodic watch bookmarks (upstream: one minute).
    pub bookmark_interval: Duration,
    /// RVs start above this (a previous run's high-water mark).
    pub rv_floor: u64,
    /// Seed for cluster tokens; `None` draws them from the clock.
    pub token_seed: Option<u64>,
}

impl Default for TwinConfig {
    fn default() -> Self {
        Self {
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(60),
            rv_floor: 0,
            token_seed: None,
        }
    }
}

/// Many simulated clusters behind one API.
#[derive(Debug)]
pub struct Twin {
    clusters: BTreeMap<String, Arc<Cluster>>,
    pub rv: Arc<RvCounter>,
    pub clock: SharedClock,
    pub config: TwinConfig,
    runtime: tokio::runtime::Handle,
}

/// How long materialising a cluster took and what it made (for logs and benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct MaterializeStats {
    pub objects: u64,
    pub pods: u64,
    pub nodes: u64,
    pub seconds: f64,
}

impl Twin {
    /// Build the twin for a fleet. Must be called inside a Tokio runtime (controller loops are
    /// spawned on it when a cluster is first used).
    pub fn new(fleet: FleetSpec, clock: SharedClock, config: TwinConfig) -> Arc<Self> {
        let now = clock.now();
        let wall_micros = (now.as_microsecond().max(0)) as u64;
        let rv = Arc::new(RvCounter::starting_above(config.rv_floor, wall_micros));
        let mut tokens = SimRng::new(config.token_seed.unwrap_or(wall_micros ^ 0x5eed));
        let clusters = fleet
            .clusters
            .into_iter()
            .map(|spec| {
                let token = format!("{}.{}", tokens.name_suffix(6), tokens.name_suffix(16));
                (spec.name.clone(), Arc::new(Cluster::new(spec, token)))
            })
            .collect();
        Arc::new(Self {
            clusters,
            rv,
            clock,
            config,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn cluster(&self, name: &str) -> Option<&Arc<Cluster>> {
        self.clusters.get(name)
    }

    pub fn clusters(&self) -> impl Iterator<Item = &Arc<Cluster>> {
        self.clusters.values()
    }

    pub fn cluster_specs(&self) -> impl Iterator<Item = &ClusterSpec> {
        self.clusters.values().map(|c| &c.spec)
    }

    /// Lock a cluster's data, generating the cluster first if nobody has used it yet.
    pub fn lock<'a>(self: &Arc<Self>, cluster: &'a Arc<Cluster>) -> MutexGuard<'a, ClusterData> {
        let mut fresh = false;
        let mutex = cluster.data_or_init(|| {
            fresh = true;
            self.materialize(&cluster.spec).0
        });
        if fresh {
            let twin = self.clone();
            let c = cluster.clone();
            self.runtime
                .spawn(async move { crate::controllers::run_loop(twin, c).await });
        }
        mutex.lock()
    }

    /// Run a write against a cluster, then tell its watchers and its controller loop.
    pub fn write<T>(
        self: &Arc<Self>,
        cluster: &Arc<Cluster>,
        f: impl FnOnce(&mut ClusterData) -> T,
    ) -> T {
        let out = {
            let mut data = self.lock(cluster);
            let out = f(&mut data);
            cluster.publish(&data);
            out
        };
        cluster.wake.notify_one();
        out
    }

    /// Generate a cluster's objects (without registering it); used by `lock` and by benchmarks.
    pub fn materialize(&self, spec: &ClusterSpec) -> (ClusterData, MaterializeStats) {
        let watch = Stopwatch::start();
        let mut data = ClusterData::new(spec.clone(), self.rv.clone(), self.config.history_limit);
        let now = self.clock.now();
        let made = crate::generator::materialize(spec, now, &mut |group, plural, value| {
            let res = ResKey::new(group, plural);
            let ns = value
                .pointer("/metadata/namespace")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let name = value
                .pointer("/metadata/name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let key = ObjKey::new(ns, name);
            data.put(&res, key, value);
        });
        // Nobody watched the generation; start every history empty.
        data.store.compact_all();
        crate::controllers::start(&mut data, now);
        // Let the controllers check what was generated before anyone sees the cluster, so that
        // clients meet a settled cluster and generation time includes that verification.
        while crate::controllers::pass(&mut data, now) {}
        let stats = MaterializeStats {
            objects: made.objects,
            pods: made.pods,
            nodes: made.nodes,
            seconds: watch.elapsed().as_secs_f64(),
        };
        tracing::info!(cluster = %spec.name, objects = stats.objects, pods = stats.pods, nodes = stats.nodes, seconds = stats.seconds, "cluster materialised");
        (data, stats)
    }
}
