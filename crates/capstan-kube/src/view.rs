//! [`ClusterView`]: the cluster as kube-rs watchers keep it current, in compact records.
//!
//! One watcher per kind (nodes, pods, PodDisruptionBudgets, namespaces, Deployments,
//! ReplicaSets, StatefulSets, DaemonSets, PersistentVolumeClaims, ResourceQuotas) decodes [slim types](crate::slim) and applies each
//! event as it arrives. What is kept is proportional to what Capstan uses, not to the JSON:
//! namespaces, node names, label keys and values, whole label sets and controller references
//! are interned (the pods of one ReplicaSet share one label set), numbers are numbers, and UIDs
//! are 16 bytes.
//!
//! Reads clone records out (their strings are shared, so a clone is a few reference counts);
//! no lock is held across an `.await`.

mod intern;
mod records;
pub(crate) mod stores;
mod table;
mod watch;

use std::sync::Arc;

use capstan_clock::SharedClock;
use capstan_core::summary::ClusterSummary;
use jiff::Timestamp;
use tokio::task::JoinHandle;

pub use intern::{ContainerRequest, ContainerRequests, Labels, Owner, Uid};
pub use records::{
    NamespaceRecord, NodeRecord, PdbRecord, PodRecord, PvcRecord, QuotaRecord, Readiness,
    SPOT_READY, WorkloadKind, WorkloadRecord,
};
pub use stores::Kind;
pub(crate) use stores::ViewState;

use crate::slim::{
    SlimDaemonSet, SlimDeployment, SlimNamespace, SlimNode, SlimPdb, SlimPod, SlimPvc,
    SlimReplicaSet, SlimResourceQuota, SlimStatefulSet,
};

/// A cluster kept current by watchers. Dropping it stops them.
pub struct ClusterView {
    state: Arc<ViewState>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ClusterView {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl ClusterView {
    /// Start the watchers (on the current tokio runtime). `clock` dates the disappearance of
    /// nodes, which ends their lifecycle timelines.
    pub fn start(client: kube::Client, clock: SharedClock) -> Self {
        let state = Arc::new(ViewState::new(clock));
        let spawn =
            |f: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| tokio::spawn(f);
        let tasks = vec![
            spawn(Box::pin(watch::watch::<SlimNode>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimPod>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimPdb>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimNamespace>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimDeployment>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimReplicaSet>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimStatefulSet>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimDaemonSet>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimPvc>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::watch::<SlimResourceQuota>(
                client.clone(),
                state.clone(),
            ))),
            spawn(Box::pin(watch::control_plane_version(
                client,
                state.clone(),
            ))),
        ];
        Self { state, tasks }
    }

    /// Wait until every kind has been listed completely at least once (and the control
    /// plane's version asked for). Waits forever if the API server never answers: callers
    /// that must give up wrap it in a timeout and report [`ClusterView::errors`].
    pub async fn wait_synced(&self) {
        let mut rx = self.state.synced.subscribe();
        // The sender lives in `self.state`, so this cannot fail while `self` exists.
        let _ = rx.wait_for(|bits| *bits == stores::ALL_SYNCED).await;
    }

    /// Every kind has been listed completely at least once.
    pub fn is_synced(&self) -> bool {
        *self.state.synced.borrow() == stores::ALL_SYNCED
    }

    /// The kinds not listed completely yet.
    pub fn unsynced(&self) -> Vec<Kind> {
        let bits = *self.state.synced.borrow();
        Kind::ALL
            .into_iter()
            .filter(|k| bits & k.bit() == 0)
            .collect()
    }

    /// The last error of each watcher that has failed since it last listed successfully.
    pub fn errors(&self) -> Vec<(Kind, String)> {
        let mut errors: Vec<_> = self
            .state
            .errors
            .lock()
            .iter()
            .map(|(k, e)| (*k, e.clone()))
            .collect();
        errors.sort_by_key(|(k, _)| *k as u8);
        errors
    }

    /// The bounded summary of the cluster at `now`.
    pub fn summary(&self, now: Timestamp) -> ClusterSummary {
        crate::summary::summarize(&self.state, now)
    }

    /// The API server's `gitVersion`, as last read.
    pub fn control_plane_version(&self) -> Option<String> {
        self.state.control_plane_version.read().clone()
    }

    pub fn nodes(&self) -> Vec<NodeRecord> {
        let mut nodes: Vec<NodeRecord> = self.state.nodes.read().table.iter().cloned().collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes
    }

    pub fn node(&self, name: &str) -> Option<NodeRecord> {
        self.state.nodes.read().table.get("", name).cloned()
    }

    pub fn node_count(&self) -> usize {
        self.state.nodes.read().table.len()
    }

    pub fn pod_count(&self) -> usize {
        self.state.pods.read().table.len()
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<PodRecord> {
        self.state.pods.read().table.get(namespace, name).cloned()
    }

    /// The pods bound to `node`, by namespace and name.
    pub fn pods_on_node(&self, node: &str) -> Vec<PodRecord> {
        let store = self.state.pods.read();
        let mut pods: Vec<PodRecord> = store
            .by_node
            .get(node)
            .into_iter()
            .flatten()
            .filter_map(|(ns, name)| store.table.get(ns, name).cloned())
            .collect();
        pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        pods
    }

    /// The pods of `namespace`, by name.
    pub fn pods_in(&self, namespace: &str) -> Vec<PodRecord> {
        let mut pods: Vec<PodRecord> = self
            .state
            .pods
            .read()
            .table
            .in_namespace(namespace)
            .cloned()
            .collect();
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        pods
    }

    /// The PodDisruptionBudgets of `namespace`, by name.
    pub fn pdbs_in(&self, namespace: &str) -> Vec<PdbRecord> {
        let mut pdbs: Vec<PdbRecord> = self
            .state
            .pdbs
            .read()
            .table
            .in_namespace(namespace)
            .cloned()
            .collect();
        pdbs.sort_by(|a, b| a.name.cmp(&b.name));
        pdbs
    }

    /// The PodDisruptionBudgets that select `pod` (an eviction consults each of them).
    pub fn pdbs_for(&self, pod: &PodRecord) -> Vec<PdbRecord> {
        let mut pdbs = self.pdbs_in(&pod.namespace);
        pdbs.retain(|p| p.selects(&pod.labels));
        pdbs
    }

    pub fn namespaces(&self) -> Vec<NamespaceRecord> {
        let mut all: Vec<NamespaceRecord> =
            self.state.namespaces.read().table.iter().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Every PersistentVolumeClaim, by namespace and name.
    pub fn pvcs(&self) -> Vec<PvcRecord> {
        let mut all: Vec<PvcRecord> = self.state.pvcs.read().table.iter().cloned().collect();
        all.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        all
    }

    /// Every ResourceQuota, by namespace and name.
    pub fn quotas(&self) -> Vec<QuotaRecord> {
        let mut all: Vec<QuotaRecord> = self.state.quotas.read().table.iter().cloned().collect();
        all.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        all
    }

    /// Run `f` over every pod under one read lock (a million pods are not cloned out). Keep
    /// `f` short: the pod watcher waits while it runs.
    pub fn with_pods<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &PodRecord>) -> R) -> R {
        let store = self.state.pods.read();
        f(&mut store.table.iter())
    }

    /// The workloads of `kind`, by namespace and name.
    pub fn workloads(&self, kind: WorkloadKind) -> Vec<WorkloadRecord> {
        let mut all: Vec<WorkloadRecord> = self.state.workloads[kind as usize]
            .read()
            .table
            .iter()
            .cloned()
            .collect();
        all.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        all
    }
}
