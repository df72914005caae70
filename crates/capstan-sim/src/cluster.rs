//! One simulated cluster: its storage, its resource types, and the bookkeeping its controllers
//! use, all behind one lock so that every change and its side effects are atomic.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::{Arc, OnceLock};

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use parking_lot::{Mutex, MutexGuard};
use serde_json::Value;

use crate::cloud::CloudState;
use crate::faults::Faults;
use crate::fleet::ClusterSpec;
use crate::resources::{ResKey, ResourceType, builtin_types, types_from_crd};
use crate::store::{Obj, ObjKey, RvCounter, Tables};

/// Resource keys the controllers use often.
pub mod keys {
    use crate::resources::ResKey;
    use std::sync::LazyLock;

    macro_rules! key {
        ($name:ident, $group:expr, $plural:expr) => {
            pub static $name: LazyLock<ResKey> = LazyLock::new(|| ResKey::new($group, $plural));
        };
    }
    key!(PODS, "", "pods");
    key!(NODES, "", "nodes");
    key!(NAMESPACES, "", "namespaces");
    key!(EVENTS, "", "events");
    key!(PVCS, "", "persistentvolumeclaims");
    key!(PVS, "", "persistentvolumes");
    key!(LEASES, "coordination.k8s.io", "leases");
    key!(DEPLOYMENTS, "apps", "deployments");
    key!(REPLICASETS, "apps", "replicasets");
    key!(DAEMONSETS, "apps", "daemonsets");
    key!(STATEFULSETS, "apps", "statefulsets");
    key!(PDBS, "policy", "poddisruptionbudgets");
    key!(CRDS, "apiextensions.k8s.io", "customresourcedefinitions");
}

/// Requested resources bound to a node (non-terminal pods).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub pods: i64,
}

/// Work scheduled on the simulated clock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// The kubelet has started the pod's containers.
    PodStarted { key: ObjKey, uid: String },
    /// A terminating pod's containers have exited: remove the object.
    PodTerminated { key: ObjKey, uid: String },
    /// A machine finished provisioning: its kubelet registers the Node.
    MachineJoined { machine: String },
    /// A joined node became Ready.
    NodeReady { node: String },
    /// A machine finished terminating: the Node object goes away.
    MachineTerminated { machine: String },
    /// The control-plane upgrade in progress finished.
    ControlPlaneUpgraded,
    /// Renew node leases and heartbeats.
    Heartbeat,
    /// A `status.disruptedPods` entry of this budget expires: recompute its status
    /// (upstream's disruption controller re-queues the budget for that moment).
    PdbRecheck { key: ObjKey },
    /// Re-run a crash-looping pod's restart.
    CrashLoopRestart { key: ObjKey, uid: String },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    pub at: Timestamp,
    pub seq: u64,
    pub action: Action,
}

/// Controller bookkeeping kept current by every write.
#[derive(Debug, Default)]
pub struct Indexes {
    pub unscheduled: BTreeSet<ObjKey>,
    pub node_usage: HashMap<Arc<str>, Usage>,
    pub pods_by_node: HashMap<Arc<str>, BTreeSet<ObjKey>>,
    /// owner uid -> dependents
    pub dependents: HashMap<Box<str>, BTreeSet<(ResKey, ObjKey)>>,
    /// Workload objects to reconcile.
    pub dirty_workloads: BTreeSet<(ResKey, ObjKey)>,
    /// Budgets and the pods they select.
    pub pdbs: crate::pdb_index::PdbIndex,
    /// Every DaemonSet needs a look (nodes came or went).
    pub daemonsets_dirty: bool,
    /// Owner uids deleted whose dependents must be garbage-collected.
    pub orphaned_owners: BTreeSet<Box<str>>,
    /// Namespaces being deleted.
    pub terminating_namespaces: BTreeSet<Arc<str>>,
    /// Nodes whose unschedulable taint may need syncing.
    pub nodes_to_taint: BTreeSet<Arc<str>>,
    /// Pods bound to a node whose kubelet has not been told to start them yet.
    pub to_start: BTreeSet<ObjKey>,
    /// Capacity was freed or added since the scheduler last gave up on a pod.
    pub capacity_changed: bool,
    /// When the scheduler retries unschedulable pods if nothing else changes.
    pub schedule_retry_at: Option<Timestamp>,
}

/// Everything about one materialised cluster.
#[derive(Debug)]
pub struct ClusterData {
    pub store: Tables,
    pub crd_types: Vec<Arc<ResourceType>>,
    pub index: Indexes,
    pub timers: BinaryHeap<Reverse<Timer>>,
    timer_seq: u64,
    pub rng: SimRng,
    pub faults: Faults,
    pub cloud: CloudState,
    pub spec: ClusterSpec,
    /// The next time [`Action::Heartbeat`] is due (so it is only scheduled once).
    pub heartbeat_at: Option<Timestamp>,
    /// Simulated seconds per real second (heartbeats are spaced so that a fast clock does not
    /// turn lease renewal into a write storm).
    pub time_scale: f64,
    /// Trivy Operator, where the cluster runs it.
    pub trivy: crate::trivy::Trivy,
}

impl ClusterData {
    pub fn new(spec: ClusterSpec, rv: Arc<RvCounter>, history_limit: usize) -> Self {
        let rng = SimRng::new(spec.seed).fork("runtime");
        Self {
            store: Tables::new(rv, history_limit),
            crd_types: Vec::new(),
            index: Indexes::default(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            rng,
            faults: Faults::default(),
            cloud: CloudState::from_spec(&spec),
            trivy: crate::trivy::Trivy::new(&spec),
            spec,
            heartbeat_at: None,
            time_scale: 1.0,
        }
    }

    pub fn schedule(&mut self, at: Timestamp, action: Action) {
        self.timer_seq += 1;
        self.timers.push(Reverse(Timer {
            at,
            seq: self.timer_seq,
            action,
        }));
    }

    pub fn next_timer(&self) -> Option<Timestamp> {
        self.timers.peek().map(|t| t.0.at)
    }

    pub fn pop_due(&mut self, now: Timestamp) -> Option<Action> {
        if self.timers.peek().is_some_and(|t| t.0.at <= now) {
            self.timers.pop().map(|t| t.0.action)
        } else {
            None
        }
    }

    pub fn get(&self, res: &ResKey, key: &ObjKey) -> Option<Arc<Obj>> {
        self.store.get(res, key)
    }

    /// Write an object and keep every index current.
    pub fn put(&mut self, res: &ResKey, key: ObjKey, value: Value) -> Arc<Obj> {
        let is_crd = *res == *keys::CRDS;
        let crd_value = is_crd.then(|| value.clone());
        self.trivy.before_put(res, &key, &value);
        let (obj, prev) = self.store.put(res, key, value);
        self.observe(res, prev.as_deref(), Some(&obj));
        if let Some(crd) = crd_value {
            self.refresh_crd_types(&crd, false);
        }
        obj
    }

    /// Remove an object and keep every index current.
    pub fn remove(&mut self, res: &ResKey, key: &ObjKey) -> Option<Arc<Obj>> {
        let gone = self.store.remove(res, key)?;
        self.observe(res, Some(&gone), None);
        self.trivy.after_remove(res, &gone);
        if *res == *keys::CRDS {
            let crd = gone.value();
            self.refresh_crd_types(&crd, true);
        }
        Some(gone)
    }

    fn refresh_crd_types(&mut self, crd: &Value, removed: bool) {
        let name = crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.crd_types
            .retain(|t| format!("{}.{}", t.plural, t.group) != name);
        if removed {
            return;
        }
        if let Ok(types) = types_from_crd(crd) {
            self.crd_types.extend(types.into_iter().map(Arc::new));
        }
    }

    /// All resource types this cluster serves right now.
    pub fn types(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        builtins().iter().chain(self.crd_types.iter())
    }

    /// The (first served version of the) type stored under `res`.
    pub fn type_of(&self, res: &ResKey) -> Option<Arc<ResourceType>> {
        self.types().find(|t| t.key() == *res).cloned()
    }

    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Keep the controller indexes in step with one change.
    fn observe(&mut self, res: &ResKey, prev: Option<&Obj>, new: Option<&Obj>) {
        let idx = &mut self.index;
        // Owner -> dependents.
        if let Some(p) = prev {
            for owner in p.owners.iter() {
                if let Some(set) = idx.dependents.get_mut(owner) {
                    set.remove(&(res.clone(), p.key.clone()));
                    if set.is_empty() {
                        idx.dependents.remove(owner);
                    }
                }
            }
        }
        if let Some(n) = new {
            for owner in n.owners.iter() {
                idx.dependents
                    .entry(owner.clone())
                    .or_default()
                    .insert((res.clone(), n.key.clone()));
            }
        } else if let Some(p) = prev
            && !p.uid.is_empty()
            && idx.dependents.contains_key(&p.uid)
        {
            idx.orphaned_owners.insert(p.uid.clone());
        }

        if *res == *keys::PODS {
            observe_pod(idx, prev, new);
        } else if *res == *keys::NODES {
            let changed_shape = match (prev.and_then(Obj::node), new.and_then(Obj::node)) {
                (Some(a), Some(b)) => a.ready != b.ready || a.unschedulable != b.unschedulable,
                _ => true,
            };
            if changed_shape {
                idx.daemonsets_dirty = true;
                idx.capacity_changed = true;
            }
            if let Some(n) = new.or(prev) {
                idx.nodes_to_taint.insert(n.key.name.clone());
            }
        } else if *res == *keys::REPLICASETS
            || *res == *keys::DAEMONSETS
            || *res == *keys::STATEFULSETS
            || *res == *keys::DEPLOYMENTS
        {
            if let Some(obj) = new.or(prev) {
                idx.dirty_workloads.insert((res.clone(), obj.key.clone()));
                // A ReplicaSet's change is news to its Deployment.
                if *res == *keys::REPLICASETS
                    && let Some(dep) = owner_named(obj, "Deployment")
                {
                    idx.dirty_workloads.insert((
                        keys::DEPLOYMENTS.clone(),
                        ObjKey::new(&obj.key.namespace, &dep),
                    ));
                }
            }
        } else if *res == *keys::PDBS {
            if let Some(obj) = new.or(prev) {
                idx.pdbs.observe_pdb(&obj.key, new);
            }
        } else if *res == *keys::NAMESPACES
            && let Some(n) = new
            && n.deleting
        {
            idx.terminating_namespaces.insert(n.key.name.clone());
        }
    }
}

/// The name of the controlling owner of `kind`, read from the object's JSON.
pub fn owner_named(obj: &Obj, kind: &str) -> Option<String> {
    let v = obj.value();
    v.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("kind").and_then(Value::as_str) == Some(kind))
        .and_then(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
}

fn workload_key_for(kind: &str) -> Option<&'static ResKey> {
    match kind {
        "ReplicaSet" => Some(&keys::REPLICASETS),
        "DaemonSet" => Some(&keys::DAEMONSETS),
        "StatefulSet" => Some(&keys::STATEFULSETS),
        _ => None,
    }
}

fn observe_pod(idx: &mut Indexes, prev: Option<&Obj>, new: Option<&Obj>) {
    idx.pdbs.observe_pod(prev, new);
    let counted = |o: &Obj| -> Option<(Arc<str>, Usage)> {
        let p = o.pod()?;
        let node = p.node_name.as_deref()?;
        if p.phase.is_terminal() {
            return None;
        }
        Some((
            node.into(),
            Usage {
                cpu_millis: p.cpu_millis,
                memory_bytes: p.memory_bytes,
                pods: 1,
            },
        ))
    };
    if let Some(p) = prev {
        idx.unscheduled.remove(&p.key);
        if let Some((node, u)) = counted(p) {
            let e = idx.node_usage.entry(node.clone()).or_default();
            e.cpu_millis -= u.cpu_millis;
            e.memory_bytes -= u.memory_bytes;
            e.pods -= 1;
        }
        if let Some(node) = p.pod().and_then(|f| f.node_name.as_deref())
            && let Some(set) = idx.pods_by_node.get_mut(node)
        {
            set.remove(&p.key);
        }
        mark_controller_dirty(idx, p);
        if new.is_none() {
            idx.capacity_changed = true;
            idx.to_start.remove(&p.key);
        }
    }
    if let Some(n) = new {
        if let Some(f) = n.pod() {
            if f.node_name.is_none() && !n.deleting && f.phase == crate::store::PodPhase::Pending {
                idx.unscheduled.insert(n.key.clone());
            }
            let was_waiting = prev.and_then(Obj::pod).is_some_and(|p| {
                p.node_name.is_some() && p.phase == crate::store::PodPhase::Pending
            });
            if f.node_name.is_some()
                && f.phase == crate::store::PodPhase::Pending
                && !n.deleting
                && !was_waiting
            {
                idx.to_start.insert(n.key.clone());
            }
            if let Some(node) = f.node_name.as_deref() {
                idx.pods_by_node
                    .entry(node.into())
                    .or_default()
                    .insert(n.key.clone());
            }
        }
        if let Some((node, u)) = counted(n) {
            let e = idx.node_usage.entry(node).or_default();
            e.cpu_millis += u.cpu_millis;
            e.memory_bytes += u.memory_bytes;
            e.pods += 1;
        }
        mark_controller_dirty(idx, n);
    }
}

fn mark_controller_dirty(idx: &mut Indexes, pod: &Obj) {
    if let Some(facts) = pod.pod()
        && let Some((kind, _)) = facts.controller.as_ref()
        && let Some(res) = workload_key_for(kind)
        && let Some(name) = facts.controller_name.as_deref()
    {
        idx.dirty_workloads
            .insert((res.clone(), ObjKey::new(&pod.key.namespace, name)));
    }
}

/// The built-in types, shared by every cluster.
pub fn builtins() -> &'static [Arc<ResourceType>] {
    static TYPES: OnceLock<Vec<Arc<ResourceType>>> = OnceLock::new();
    TYPES.get_or_init(builtin_types)
}

/// A cluster of the fleet. Its objects are generated on first use, so that a process can serve
/// thousands of clusters while only the ones clients touch take memory.
#[derive(Debug)]
pub struct Cluster {
    pub name: String,
    token: String,
    pub spec: ClusterSpec,
    data: OnceLock<Mutex<ClusterData>>,
    /// The newest RV written, for watchers to wait on.
    pub changed: tokio::sync::watch::Sender<u64>,
    /// Wakes the cluster's controller loop after an API write.
    pub wake: tokio::sync::Notify,
    /// Bumped when the simulated API server restarts: open watches end.
    pub restarts: tokio::sync::watch::Sender<u64>,
    /// Metric counters (own lock, taken after the data lock when both are held).
    pub metrics: Mutex<crate::metrics::MetricsState>,
}

impl Cluster {
    pub fn new(spec: ClusterSpec, token: String) -> Self {
        let (changed, _) = tokio::sync::watch::channel(0);
        let (restarts, _) = tokio::sync::watch::channel(0);
        let seed = spec.seed;
        Self {
            name: spec.name.clone(),
            token,
            spec,
            data: OnceLock::new(),
            changed,
            wake: tokio::sync::Notify::new(),
            restarts,
            metrics: Mutex::new(crate::metrics::MetricsState::new(seed)),
        }
    }

    /// Constant-time comparison of a presented bearer token with this cluster's.
    pub fn token_matches(&self, presented: &str) -> bool {
        let a = self.token.as_bytes();
        let b = presented.as_bytes();
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn is_materialized(&self) -> bool {
        self.data.get().is_some()
    }

    /// The cluster's data, generating it on first use with `init`.
    pub fn data_or_init(&self, init: impl FnOnce() -> ClusterData) -> &Mutex<ClusterData> {
        self.data.get_or_init(|| Mutex::new(init()))
    }

    pub fn data(&self) -> Option<&Mutex<ClusterData>> {
        self.data.get()
    }

    /// Tell watchers and the controller loop that something was written.
    pub fn publish(&self, guard: &MutexGuard<'_, ClusterData>) {
        let rv = guard.store.current_rv();
        self.changed.send_if_modified(|cur| {
            if *cur < rv {
                *cur = rv;
                true
            } else {
                false
            }
        });
    }
}
