//! Right-sizing checkpoints in the cluster, as the VPA recommender keeps its
//! `VerticalPodAutoscalerCheckpoint`s: written every checkpoint interval, read back when the
//! recommender starts, so that an agent restart (or a move to another node) keeps the
//! histograms it built over days.
//!
//! Where: ConfigMaps `capstan-rightsizing-<shards>-<index>` in the agent's namespace
//! ([`NAMESPACE`]), labelled [`COMPONENT_LABEL`], each holding one JSON document
//! (key [`DATA_KEY`]): `{version, shards, index, writtenAt, entries: [..]}`, compact.
//!
//! Sharding: a container's entry lives in shard `key_hash(key) mod shards`, so a given
//! container is always in the same shard of a generation. The shard count is a power of two
//! sized from the encoded entries (about [`TARGET_SHARD_BYTES`] per shard, never more than
//! [`MAX_SHARD_BYTES`], under the 1 MiB object limit) and kept while it fits, so it changes
//! only when the cluster grows or shrinks several-fold. A compact entry measures 0.7-1.5 KB
//! (a few non-empty buckets per histogram), so 100,000 containers make ~256 shards.
//!
//! Crash safety: each shard is one server-side apply (create or replace, idempotent), which
//! the API server applies atomically, so a crash leaves each shard old or new, both loadable.
//! A new generation (another shard count) is written under new names before the old one is
//! deleted; loading merges every shard found and keeps, for each container, the entry of
//! the most recently written shard. Nothing is lost at any point; at worst an entry the last
//! write dropped comes back from an old shard and is dropped again at the next write.
//!
//! Garbage collection: a write holds only the containers of workloads that exist in the view
//! (as VPA deletes checkpoints whose VPA is gone); shards no longer written are deleted.
//!
//! A shard or entry that does not parse, or holds another version, is logged (naming the
//! shard) and skipped; loading never fails because of one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use capstan_core::cost::WorkloadKey;
use capstan_core::rightsizing::{CheckpointError, ContainerUsageState, UsageCheckpoint};
use capstan_kube::view::{ClusterView, WorkloadKind};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

/// Where the agent keeps its state in the cluster: kube-system, beside the upgrade record
/// (`capstan_kube::upgrade::record::NAMESPACE`), a namespace every cluster has.
pub const NAMESPACE: &str = "kube-system";
/// Shards are `capstan-rightsizing-<shards>-<index>`.
pub const NAME_PREFIX: &str = "capstan-rightsizing";
/// The one data key of a shard.
pub const DATA_KEY: &str = "checkpoints.json";
/// Label (key, value) every shard carries; loading lists by it.
pub const COMPONENT_LABEL: (&str, &str) = ("app.kubernetes.io/component", "rightsizing-checkpoint");
/// Version of the shard document (the entries carry the core checkpoint's own version).
pub const SHARD_VERSION: &str = "v1";
/// What a shard is sized for.
pub const TARGET_SHARD_BYTES: usize = 512 * 1024;
/// No shard is written above this (the API server refuses objects over 1 MiB).
pub const MAX_SHARD_BYTES: usize = 900 * 1024;
/// Default time between checkpoints, on the agent's clock (VPA: `--checkpoints-gc-interval`
/// 10m, and checkpoints every recommender loop).
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(600);
const FIELD_MANAGER: &str = "capstan-agent";
/// Shards listed per page when loading (each may be ~0.5 MB).
const LIST_PAGE: u32 = 16;

/// One container's checkpoint: its usage state and what the bundle needs besides (the
/// recommender's averages, as sums, exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerCheckpoint {
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub container: String,
    pub usage: UsageCheckpoint,
    pub containers_in_pod: usize,
    pub cpu_request_cores: f64,
    pub memory_request_bytes: f64,
    /// Ticks the container was seen in, and Σ replicas over them.
    pub ticks: u32,
    pub replica_ticks: f64,
    /// Σ over replica-ticks of the node rates, in 1e-12 $ (the recommender's fixed point).
    pub cpu_rate_sum_pico: i128,
    pub ram_rate_sum_pico: i128,
    /// (pod uid, restart count) of this container's OOM kills still shown in its pods' last
    /// state, so that a restarted agent does not count them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oom_restarts_seen: Vec<(String, u32)>,
}

impl ContainerCheckpoint {
    fn key(&self) -> (&str, &str, &str, &str) {
        (&self.namespace, &self.kind, &self.workload, &self.container)
    }
}

/// A checkpoint read back, its usage state restored.
#[derive(Debug, Clone)]
pub struct RestoredContainer {
    pub checkpoint: ContainerCheckpoint,
    pub state: ContainerUsageState,
}

/// What [`CheckpointStore::load`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub containers: Vec<RestoredContainer>,
    /// Shards read, and shards or entries skipped (each logged).
    pub shards: usize,
    pub skipped_shards: usize,
    pub skipped_entries: usize,
}

/// What one write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saved {
    pub shards: u32,
    pub entries: usize,
    pub bytes: usize,
    /// Shards of an earlier layout deleted.
    pub deleted: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointStoreError {
    #[error("rightsizing checkpoint {what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("rightsizing checkpoints do not encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(
        "rightsizing checkpoints: one entry is {bytes} bytes, over a shard's {MAX_SHARD_BYTES}"
    )]
    TooBig { bytes: usize },
}

/// A shard as stored; entries are decoded one by one so that one bad entry skips only itself.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShardDocument {
    version: String,
    written_at: Timestamp,
    entries: Vec<serde_json::Value>,
}

/// The shard names and documents of a write of `entries` at `now`, in `shards` shards or
/// more: the count is the smallest power of two that puts about [`TARGET_SHARD_BYTES`] in a
/// shard, or `current` if that still fits and is at most 4× that, doubled until every shard
/// is under [`MAX_SHARD_BYTES`].
pub fn encode_shards(
    entries: &[ContainerCheckpoint],
    current: Option<u32>,
    now: Timestamp,
) -> Result<(u32, Vec<(String, String)>), CheckpointStoreError> {
    let encoded: Vec<(u64, String)> = entries
        .iter()
        .map(|e| {
            let (ns, kind, workload, container) = e.key();
            let hash = key_hash([ns, kind, workload, container]);
            serde_json::to_string(e).map(|text| (hash, text))
        })
        .collect::<Result<_, _>>()?;
    if let Some(bytes) = encoded
        .iter()
        .map(|(_, t)| t.len())
        .find(|&n| n + 200 > MAX_SHARD_BYTES)
    {
        return Err(CheckpointStoreError::TooBig { bytes });
    }
    let total: usize = encoded.iter().map(|(_, t)| t.len() + 1).sum();
    let ideal = total
        .div_ceil(TARGET_SHARD_BYTES)
        .max(1)
        .next_power_of_two()
        .min(1 << 20) as u32;
    let mut shards = match current {
        Some(c) if c.is_power_of_two() && c >= ideal && c <= ideal.saturating_mul(4) => c,
        _ => ideal,
    };
    let written_at = serde_json::to_string(&now)?;
    loop {
        let mut parts: Vec<Vec<&str>> = vec![Vec::new(); shards as usize];
        for (hash, text) in &encoded {
            parts[(hash % u64::from(shards)) as usize].push(text);
        }
        let documents: Vec<(String, String)> = parts
            .iter()
            .enumerate()
            .map(|(index, texts)| {
                let document = format!(
                    r#"{{"version":"{SHARD_VERSION}","shards":{shards},"index":{index},"writtenAt":{written_at},"entries":[{}]}}"#,
                    texts.join(",")
                );
                (shard_name(shards, index as u32), document)
            })
            .collect();
        if documents.iter().all(|(_, d)| d.len() <= MAX_SHARD_BYTES) || shards >= 1 << 20 {
            return Ok((shards, documents));
        }
        shards *= 2;
    }
}

pub fn shard_name(shards: u32, index: u32) -> String {
    format!("{NAME_PREFIX}-{shards}-{index}")
}

/// FNV-1a over the key's parts, each followed by 0xff (a byte no UTF-8 name holds), then
/// MurmurHash3's 64-bit finaliser: FNV's low bits are only the parity of the bytes, and the
/// shard is the hash modulo a power of two. Stable across builds and platforms, unlike the
/// std hashers.
pub fn key_hash(parts: [&str; 4]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.as_bytes().iter().chain(&[0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// Why one entry of a shard was skipped.
#[derive(Debug, thiserror::Error)]
enum EntryError {
    #[error("does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// The shards' entries, each container's from the most recently written shard holding it.
/// Bad shards and entries are logged and counted, never fatal.
pub fn decode_shards<'a>(shards: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Loaded {
    let mut loaded = Loaded::default();
    let mut newest: HashMap<(String, String, String, String), (Timestamp, RestoredContainer)> =
        HashMap::new();
    for (name, text) in shards {
        loaded.shards += 1;
        let Some(text) = text else {
            tracing::warn!(
                shard = name,
                key = DATA_KEY,
                "rightsizing checkpoint shard has no data; skipped"
            );
            loaded.skipped_shards += 1;
            continue;
        };
        let document: ShardDocument = match serde_json::from_str(text) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(shard = name, error = %e, "rightsizing checkpoint shard does not parse; skipped");
                loaded.skipped_shards += 1;
                continue;
            }
        };
        if document.version != SHARD_VERSION {
            tracing::warn!(shard = name, version = %document.version, supported = SHARD_VERSION, "rightsizing checkpoint shard of another version; skipped");
            loaded.skipped_shards += 1;
            continue;
        }
        for (i, value) in document.entries.into_iter().enumerate() {
            let restored = serde_json::from_value::<ContainerCheckpoint>(value)
                .map_err(EntryError::from)
                .and_then(|checkpoint| {
                    let state = ContainerUsageState::from_checkpoint(&checkpoint.usage)?;
                    Ok(RestoredContainer { checkpoint, state })
                });
            let restored = match restored {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(shard = name, entry = i, error = %e, "rightsizing checkpoint entry skipped");
                    loaded.skipped_entries += 1;
                    continue;
                }
            };
            let c = &restored.checkpoint;
            let key = (
                c.namespace.clone(),
                c.kind.clone(),
                c.workload.clone(),
                c.container.clone(),
            );
            match newest.get(&key) {
                Some((at, _)) if *at >= document.written_at => {}
                _ => {
                    newest.insert(key, (document.written_at, restored));
                }
            }
        }
    }
    let mut containers: Vec<(_, RestoredContainer)> = newest
        .into_iter()
        .map(|(key, (_, restored))| (key, restored))
        .collect();
    containers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    loaded.containers = containers.into_iter().map(|(_, r)| r).collect();
    loaded
}

/// Reads and writes the shards of one cluster.
#[derive(Clone)]
pub struct CheckpointStore {
    api: Api<ConfigMap>,
    namespace: String,
    /// The shard count of the last write or of the newest shards loaded.
    shards: Option<u32>,
    /// Shard names known to exist (loaded or written): deleted when a write no longer uses
    /// them.
    known: BTreeSet<String>,
}

impl CheckpointStore {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            shards: None,
            known: BTreeSet::new(),
        }
    }

    /// Writes with `shards` shards (a power of two) until the entries need more or are far
    /// fewer: to spread a known-large cluster from the first write, or to test several shards.
    pub fn with_shards(mut self, shards: u32) -> Self {
        self.shards = Some(shards.max(1).next_power_of_two());
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn kube_error(
        &self,
        what: impl std::fmt::Display,
        source: kube::Error,
    ) -> CheckpointStoreError {
        CheckpointStoreError::Kube {
            what: format!("{what} in namespace {}", self.namespace),
            source,
        }
    }

    /// Every shard's entries (see [`decode_shards`]).
    pub async fn load(&mut self) -> Result<Loaded, CheckpointStoreError> {
        let selector = format!("{}={}", COMPONENT_LABEL.0, COMPONENT_LABEL.1);
        let mut params = ListParams::default().labels(&selector).limit(LIST_PAGE);
        let mut maps: Vec<ConfigMap> = Vec::new();
        loop {
            let page = self
                .api
                .list(&params)
                .await
                .map_err(|e| self.kube_error("list", e))?;
            let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
            maps.extend(page.items);
            match next {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        let named: Vec<(String, Option<&str>)> = maps
            .iter()
            .map(|cm| {
                let name = cm.metadata.name.clone().unwrap_or_default();
                let text = cm
                    .data
                    .as_ref()
                    .and_then(|d| d.get(DATA_KEY))
                    .map(String::as_str);
                (name, text)
            })
            .collect();
        self.known = named.iter().map(|(n, _)| n.clone()).collect();
        // The layout of the newest names: the count with the most shards present.
        let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
        for (name, _) in &named {
            if let Some(count) = parse_shard_count(name) {
                *counts.entry(count).or_default() += 1;
            }
        }
        if let Some((count, _)) = counts
            .into_iter()
            .max_by_key(|&(count, present)| (present, count))
        {
            self.shards = Some(count);
        }
        Ok(decode_shards(
            named.iter().map(|(name, text)| (name.as_str(), *text)),
        ))
    }

    /// Writes `entries` as the checkpoint at `now`: every shard of the layout (empty ones too,
    /// so that a layout is always whole), then deletes the shards of other layouts. Stops at
    /// the first failed write, deleting nothing: the shards already written and the old ones
    /// are all loadable.
    pub async fn save(
        &mut self,
        entries: &[ContainerCheckpoint],
        now: Timestamp,
    ) -> Result<Saved, CheckpointStoreError> {
        let (shards, documents) = encode_shards(entries, self.shards, now)?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut bytes = 0;
        for (name, document) in documents {
            bytes += document.len();
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(self.namespace.clone()),
                    labels: Some(BTreeMap::from([
                        (COMPONENT_LABEL.0.to_string(), COMPONENT_LABEL.1.to_string()),
                        (
                            "app.kubernetes.io/managed-by".to_string(),
                            "capstan".to_string(),
                        ),
                    ])),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(DATA_KEY.to_string(), document)])),
                ..Default::default()
            };
            self.api
                .patch(&name, &params, &Patch::Apply(&cm))
                .await
                .map_err(|e| self.kube_error(format_args!("write of {name}"), e))?;
            self.known.insert(name);
        }
        self.shards = Some(shards);
        let current: BTreeSet<String> = (0..shards).map(|i| shard_name(shards, i)).collect();
        let stale: Vec<String> = self.known.difference(&current).cloned().collect();
        let mut deleted = 0;
        for name in stale {
            match self.api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => deleted += 1,
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(self.kube_error(format_args!("delete of {name}"), e)),
            }
            self.known.remove(&name);
        }
        Ok(Saved {
            shards,
            entries: entries.len(),
            bytes,
            deleted,
        })
    }
}

/// Workloads the view holds: the declared ones and whatever owns a pod, keyed as a tick keys
/// them (a ReplicaSet's pods under its Deployment, a bare pod as kind `Pod`).
pub fn existing_workloads(view: &ClusterView) -> FxHashSet<WorkloadKey> {
    let mut keys = super::tick::WorkloadKeys::new(view);
    view.with_pods(|pods| {
        for pod in pods {
            keys.of(pod);
        }
    });
    let mut all: FxHashSet<WorkloadKey> = keys.keys.into_iter().collect();
    for kind in WorkloadKind::ALL {
        for w in view.workloads(kind) {
            all.insert(WorkloadKey {
                namespace: w.namespace.clone(),
                kind: kind.as_str().into(),
                name: w.name.clone(),
            });
        }
    }
    all
}

/// What a write holds: every container's checkpoint, without those of workloads gone from
/// the view. Until the view has synced nothing is taken for gone.
pub fn checkpoint_entries(
    recommender: &super::Recommender,
    view: &ClusterView,
) -> Vec<ContainerCheckpoint> {
    if !view.is_synced() {
        return recommender.checkpoints(|_| true);
    }
    let existing = existing_workloads(view);
    recommender.checkpoints(|key| existing.contains(key))
}

type SaveTask = tokio::task::JoinHandle<(CheckpointStore, Result<Saved, CheckpointStoreError>)>;

/// The cost loop's checkpointing: a load when it starts, then a write every interval of the
/// agent's clock, in the background (the loop goes on ticking; a write still running when
/// the next is due makes that one wait for the interval after).
pub struct Checkpointer {
    cluster: String,
    interval: SignedDuration,
    store: Option<CheckpointStore>,
    /// A copy to go on with if a write task is lost (it owns the store while it runs).
    spare: CheckpointStore,
    running: Option<SaveTask>,
    last: Option<Timestamp>,
    failing: bool,
}

impl Checkpointer {
    pub fn new(cluster: &str, store: CheckpointStore, interval: Duration) -> Self {
        Self {
            cluster: cluster.to_string(),
            interval: SignedDuration::try_from(interval).unwrap_or(SignedDuration::MAX),
            spare: store.clone(),
            store: Some(store),
            running: None,
            last: None,
            failing: false,
        }
    }

    /// Loads the checkpoints into `recommender`; a failure is logged and the recommender
    /// starts empty.
    pub async fn load_into(&mut self, recommender: &mut super::Recommender, now: Timestamp) {
        self.last = Some(now);
        let Some(store) = self.store.as_mut() else {
            return;
        };
        let cluster = &self.cluster;
        match store.load().await {
            Ok(loaded) => {
                let shards = loaded.shards;
                let (skipped_shards, skipped_entries) =
                    (loaded.skipped_shards, loaded.skipped_entries);
                let restored = recommender.restore(loaded.containers);
                tracing::info!(
                    cluster,
                    namespace = store.namespace(),
                    shards,
                    restored,
                    skipped_shards,
                    skipped_entries,
                    "rightsizing checkpoints loaded"
                );
            }
            Err(e) => {
                tracing::warn!(cluster, error = %e, "rightsizing checkpoints not loaded; the histograms start afresh");
            }
        }
    }

    /// Starts a write when the interval has passed since the last one and none is running.
    pub async fn tick(
        &mut self,
        recommender: &super::Recommender,
        view: &ClusterView,
        now: Timestamp,
    ) {
        if let Some(task) = self.running.take_if(|t| t.is_finished()) {
            match task.await {
                Ok((store, result)) => {
                    self.store = Some(store);
                    self.report(result);
                }
                Err(e) => {
                    tracing::warn!(cluster = %self.cluster, error = %e, "rightsizing checkpoint write task failed");
                    self.store = Some(self.spare.clone());
                }
            }
        }
        let due = self
            .last
            .is_none_or(|last| now.duration_since(last) >= self.interval);
        if !due {
            return;
        }
        let Some(mut store) = self.store.take() else {
            // A write is still running: this one waits for the next interval.
            self.last = Some(now);
            return;
        };
        self.last = Some(now);
        let entries = checkpoint_entries(recommender, view);
        self.running = Some(tokio::spawn(async move {
            let result = store.save(&entries, now).await;
            (store, result)
        }));
    }

    /// Waits for the write in progress, if any, and returns what it did (also logged). For a
    /// graceful stop, and for tests that need a write finished before they go on.
    pub async fn wait_written(&mut self) -> Option<Result<Saved, String>> {
        let task = self.running.take()?;
        match task.await {
            Ok((store, result)) => {
                self.store = Some(store);
                let outcome = result.as_ref().map(|s| *s).map_err(|e| e.to_string());
                self.report(result);
                Some(outcome)
            }
            Err(e) => {
                self.store = Some(self.spare.clone());
                Some(Err(format!("the write task failed: {e}")))
            }
        }
    }

    fn report(&mut self, result: Result<Saved, CheckpointStoreError>) {
        let cluster = &self.cluster;
        match result {
            Ok(saved) => {
                if self.failing {
                    tracing::info!(cluster, "rightsizing checkpoints are written again");
                }
                self.failing = false;
                tracing::debug!(
                    cluster,
                    shards = saved.shards,
                    entries = saved.entries,
                    bytes = saved.bytes,
                    deleted = saved.deleted,
                    "rightsizing checkpoints written"
                );
            }
            // Said once, not every interval (a missing namespace stays missing).
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(cluster, error = %e, "rightsizing checkpoints not written; retried every interval");
            }
            Err(e) => tracing::debug!(cluster, error = %e, "rightsizing checkpoints not written"),
        }
    }
}

/// `capstan-rightsizing-<shards>-<index>` → shards.
fn parse_shard_count(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(NAME_PREFIX)?.strip_prefix('-')?;
    let (count, index) = rest.split_once('-')?;
    index.parse::<u32>().ok()?;
    count.parse().ok()
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
