//! The view's stores, one per watched kind, and how each watcher event changes them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::sync::Arc;

use capstan_clock::SharedClock;
use capstan_core::lifecycle::NodeTimeline;
use parking_lot::{Mutex, RwLock};
use serde::de::DeserializeOwned;

use super::intern::{Interner, Uid};
use super::records::{
    NamespaceRecord, NodeRecord, PdbRecord, PodRecord, PvcRecord, QuotaRecord, WorkloadRecord,
};
use super::table::Table;
use crate::slim::{
    SlimDaemonSet, SlimDeployment, SlimMeta, SlimNamespace, SlimNode, SlimPdb, SlimPod, SlimPvc,
    SlimReplicaSet, SlimResourceQuota, SlimStatefulSet,
};

/// Timelines of deleted nodes kept for the lifecycle statistics (their Draining and
/// Terminating phases are complete only once they are gone).
pub(crate) const FINISHED_TIMELINES: usize = 1024;

/// The kinds the view watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Nodes,
    Pods,
    PodDisruptionBudgets,
    Namespaces,
    Deployments,
    ReplicaSets,
    StatefulSets,
    DaemonSets,
    PersistentVolumeClaims,
    ResourceQuotas,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Self::Nodes,
        Self::Pods,
        Self::PodDisruptionBudgets,
        Self::Namespaces,
        Self::Deployments,
        Self::ReplicaSets,
        Self::StatefulSets,
        Self::DaemonSets,
        Self::PersistentVolumeClaims,
        Self::ResourceQuotas,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nodes => "nodes",
            Self::Pods => "pods",
            Self::PodDisruptionBudgets => "poddisruptionbudgets",
            Self::Namespaces => "namespaces",
            Self::Deployments => "deployments",
            Self::ReplicaSets => "replicasets",
            Self::StatefulSets => "statefulsets",
            Self::DaemonSets => "daemonsets",
            Self::PersistentVolumeClaims => "persistentvolumeclaims",
            Self::ResourceQuotas => "resourcequotas",
        }
    }

    pub(crate) fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Bit of [`ViewState::synced`] set once the control plane's version was asked for.
pub(crate) const VERSION_BIT: u16 = 1 << Kind::ALL.len();
/// Every bit: each kind listed once, and the version asked for.
pub(crate) const ALL_SYNCED: u16 = (1 << (Kind::ALL.len() + 1)) - 1;

#[derive(Default)]
pub(crate) struct NodeStore {
    pub table: Table<NodeRecord>,
    pub interner: Interner,
    /// Timelines of nodes that went away, most recent last.
    pub finished: VecDeque<NodeTimeline>,
}

/// (namespace, name).
pub(crate) type PodKey = (Arc<str>, Arc<str>);

#[derive(Default)]
pub(crate) struct PodStore {
    pub table: Table<PodRecord>,
    /// (namespace, name) of the pods bound to each node.
    pub by_node: HashMap<Arc<str>, HashSet<PodKey>>,
    pub interner: Interner,
}

impl PodStore {
    fn index(&mut self, pod: &PodRecord) {
        if let Some(node) = &pod.node {
            self.by_node
                .entry(node.clone())
                .or_default()
                .insert((pod.namespace.clone(), pod.name.clone()));
        }
    }

    fn unindex(&mut self, pod: &PodRecord) {
        if let Some(node) = &pod.node
            && let Some(pods) = self.by_node.get_mut(node)
        {
            pods.remove(&(pod.namespace.clone(), pod.name.clone()));
            if pods.is_empty() {
                self.by_node.remove(node);
            }
        }
    }

    fn apply(&mut self, pod: &SlimPod) {
        let record = PodRecord::from_slim(pod, &mut self.interner);
        let (namespace, name, node) = (
            record.namespace.clone(),
            record.name.clone(),
            record.node.clone(),
        );
        match self.table.upsert(namespace, name, record.clone()) {
            Some(old) if old.node == node => {}
            Some(old) => {
                self.unindex(&old);
                self.index(&record);
            }
            None => self.index(&record),
        }
    }

    fn remove(&mut self, namespace: &str, name: &str) {
        if let Some(old) = self.table.remove(namespace, name) {
            self.unindex(&old);
            self.interner.removed(1);
        }
    }

    fn sweep(&mut self) {
        let gone = self.table.sweep();
        for old in &gone {
            self.unindex(old);
        }
        drop(gone);
        self.interner.collect();
    }
}

pub(crate) struct SimpleStore<R> {
    pub table: Table<R>,
    pub interner: Interner,
}

impl<R> Default for SimpleStore<R> {
    fn default() -> Self {
        Self {
            table: Table::default(),
            interner: Interner::default(),
        }
    }
}

/// Everything the watchers keep current; shared by the view and its tasks.
pub(crate) struct ViewState {
    pub clock: SharedClock,
    pub nodes: RwLock<NodeStore>,
    pub pods: RwLock<PodStore>,
    pub pdbs: RwLock<SimpleStore<PdbRecord>>,
    pub namespaces: RwLock<SimpleStore<NamespaceRecord>>,
    /// Indexed by [`super::records::WorkloadKind`] order.
    pub workloads: [RwLock<SimpleStore<WorkloadRecord>>; 4],
    pub pvcs: RwLock<SimpleStore<PvcRecord>>,
    pub quotas: RwLock<SimpleStore<QuotaRecord>>,
    pub control_plane_version: RwLock<Option<String>>,
    /// Bits of [`Kind::bit`] and [`VERSION_BIT`].
    pub synced: tokio::sync::watch::Sender<u16>,
    /// The last error of each watcher since it last listed successfully.
    pub errors: Mutex<HashMap<Kind, String>>,
}

impl ViewState {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            nodes: RwLock::default(),
            pods: RwLock::default(),
            pdbs: RwLock::default(),
            namespaces: RwLock::default(),
            workloads: Default::default(),
            pvcs: RwLock::default(),
            quotas: RwLock::default(),
            control_plane_version: RwLock::new(None),
            synced: tokio::sync::watch::Sender::new(0),
            errors: Mutex::new(HashMap::new()),
        }
    }

    pub fn mark_synced(&self, bit: u16) {
        self.synced.send_if_modified(|b| {
            let before = *b;
            *b |= bit;
            *b != before
        });
    }
}

/// A slim type the view watches, and how its events change the view.
pub(crate) trait Watched:
    kube::Resource<DynamicType = ()>
    + SlimMeta
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    const KIND: Kind;
    /// A (re)list starts.
    fn init(state: &ViewState);
    /// Added or modified (listed or watched).
    fn apply(state: &ViewState, obj: Self);
    fn delete(state: &ViewState, obj: Self);
    /// The (re)list is complete: drop what it did not see.
    fn init_done(state: &ViewState);
}

impl Watched for SlimNode {
    const KIND: Kind = Kind::Nodes;
    fn init(state: &ViewState) {
        state.nodes.write().table.begin_generation();
    }
    fn apply(state: &ViewState, obj: Self) {
        let mut guard = state.nodes.write();
        let store = &mut *guard;
        let name = store.interner.str(obj.name());
        let mut previous = store.table.remove("", &name);
        // A node deleted and recreated under the same name (seen only through a relist) is
        // a new node: the old one's timeline ends.
        if let Some(old) = previous.take_if(|p| p.uid != Uid::parse(obj.uid())) {
            finish(store, old, state.clock.now());
        }
        let record = NodeRecord::from_slim(&obj, &mut store.interner, previous);
        store.table.upsert("".into(), name, record);
    }
    fn delete(state: &ViewState, obj: Self) {
        let now = state.clock.now();
        let mut store = state.nodes.write();
        if let Some(gone) = store.table.remove("", obj.name()) {
            finish(&mut store, gone, now);
            store.interner.removed(1);
        }
    }
    fn init_done(state: &ViewState) {
        let now = state.clock.now();
        let mut store = state.nodes.write();
        for gone in store.table.sweep() {
            finish(&mut store, gone, now);
        }
        store.interner.collect();
    }
}

fn finish(store: &mut NodeStore, gone: NodeRecord, at: jiff::Timestamp) {
    let mut timeline = gone.timeline;
    timeline.finish(at);
    if store.finished.len() == FINISHED_TIMELINES {
        store.finished.pop_front();
    }
    store.finished.push_back(timeline);
}

impl Watched for SlimPod {
    const KIND: Kind = Kind::Pods;
    fn init(state: &ViewState) {
        state.pods.write().table.begin_generation();
    }
    fn apply(state: &ViewState, obj: Self) {
        state.pods.write().apply(&obj);
    }
    fn delete(state: &ViewState, obj: Self) {
        state.pods.write().remove(obj.namespace(), obj.name());
    }
    fn init_done(state: &ViewState) {
        state.pods.write().sweep();
    }
}

/// Implements [`Watched`] for a kind kept in a [`SimpleStore`].
macro_rules! simple_watched {
    ($ty:ty, $kind:ident, |$state:ident| $store:expr, |$obj:ident, $interner:ident| $record:expr) => {
        impl Watched for $ty {
            const KIND: Kind = Kind::$kind;
            fn init($state: &ViewState) {
                $store.write().table.begin_generation();
            }
            fn apply($state: &ViewState, $obj: Self) {
                let mut guard = $store.write();
                let store = &mut *guard;
                let $interner = &mut store.interner;
                let namespace = $interner.str($obj.namespace());
                let name = $interner.str($obj.name());
                let record = $record;
                store.table.upsert(namespace, name, record);
            }
            fn delete($state: &ViewState, obj: Self) {
                let mut store = $store.write();
                if store.table.remove(obj.namespace(), obj.name()).is_some() {
                    store.interner.removed(1);
                }
            }
            fn init_done($state: &ViewState) {
                let mut store = $store.write();
                store.table.sweep();
                store.interner.collect();
            }
        }
    };
}

simple_watched!(SlimPdb, PodDisruptionBudgets, |s| s.pdbs, |obj, i| {
    PdbRecord::from_slim(obj, i)
});
simple_watched!(SlimNamespace, Namespaces, |s| s.namespaces, |obj, i| {
    NamespaceRecord::from_slim(&obj, i)
});
simple_watched!(SlimDeployment, Deployments, |s| s.workloads[0], |obj, i| {
    WorkloadRecord::from_slim(&obj, i)
});
simple_watched!(SlimReplicaSet, ReplicaSets, |s| s.workloads[1], |obj, i| {
    WorkloadRecord::from_slim(&obj, i)
});
simple_watched!(
    SlimStatefulSet,
    StatefulSets,
    |s| s.workloads[2],
    |obj, i| WorkloadRecord::from_slim(&obj, i)
);
simple_watched!(SlimDaemonSet, DaemonSets, |s| s.workloads[3], |obj, i| {
    WorkloadRecord::from_slim(&obj, i)
});
simple_watched!(SlimPvc, PersistentVolumeClaims, |s| s.pvcs, |obj, i| {
    PvcRecord::from_slim(&obj, i)
});
simple_watched!(SlimResourceQuota, ResourceQuotas, |s| s.quotas, |obj, i| {
    QuotaRecord::from_slim(&obj, i)
});
