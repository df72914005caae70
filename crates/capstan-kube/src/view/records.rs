//! The compact records the view keeps, built from the slim types through an [`Interner`].

use std::sync::Arc;

use capstan_core::annotations::{self, DRAIN_STARTED, TERMINATE_REQUESTED};
use capstan_core::drain::{ControllerRef, DrainPod};
use capstan_core::lifecycle::{NodePhase, NodeTimeline};
use capstan_core::selector::LabelSelector;
use jiff::Timestamp;

use super::intern::{ContainerRequests, Interner, Labels, Owner, Uid};
use crate::slim::{
    PodPhase, SlimDaemonSet, SlimDeployment, SlimMeta, SlimNamespace, SlimNode, SlimPdb, SlimPod,
    SlimPvc, SlimReplicaSet, SlimResourceQuota, SlimStatefulSet,
};

/// The status of a node's Ready condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Readiness {
    True,
    False,
    Unknown,
    /// The node reports no Ready condition (yet).
    Missing,
}

impl Readiness {
    fn parse(status: Option<&str>) -> Self {
        match status {
            Some("True") => Self::True,
            Some("False") => Self::False,
            Some(_) => Self::Unknown,
            None => Self::Missing,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
            Self::Missing => "Missing",
        }
    }
}

/// A node as the view keeps it.
#[derive(Debug, Clone)]
pub struct NodeRecord {
    pub name: Arc<str>,
    pub uid: Uid,
    pub labels: Labels,
    /// From [`annotations::node_pool`].
    pub pool: Option<Arc<str>>,
    pub kubelet_version: Arc<str>,
    pub unschedulable: bool,
    pub taints: u32,
    pub ready: Readiness,
    /// `lastTransitionTime` of the Ready condition.
    pub ready_since: Option<Timestamp>,
    /// Pressure-style conditions (every condition but Ready) whose status is True.
    pub pressure: Vec<Arc<str>>,
    pub allocatable_cpu_millis: u64,
    pub allocatable_memory_bytes: u64,
    pub allocatable_pods: u64,
    pub capacity_cpu_millis: u64,
    pub capacity_memory_bytes: u64,
    pub capacity_gpus: u64,
    /// `spec.providerID`, which names the cloud.
    pub provider_id: Option<Arc<str>>,
    pub created: Option<Timestamp>,
    pub deleted: Option<Timestamp>,
    /// The `upgrade.toolkit.io/` annotations, sorted by key.
    pub marks: Vec<(Arc<str>, Arc<str>)>,
    /// The node's lifecycle as observed, kept across updates (transitions only move forward).
    pub timeline: NodeTimeline,
}

impl NodeRecord {
    pub fn mark(&self, key: &str) -> Option<&str> {
        self.marks
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }

    fn mark_time(&self, key: &str) -> Option<Timestamp> {
        self.mark(key).and_then(|v| v.parse().ok())
    }

    /// When termination began: Capstan's request to the provider, else the deletion.
    fn terminating_since(&self) -> Option<Timestamp> {
        self.mark_time(TERMINATE_REQUESTED).or(self.deleted)
    }

    /// The node's phase now: Terminating (deletion or Capstan's termination request),
    /// Draining (Capstan started a drain), Operating (Ready now or before, as observed),
    /// else Joining. Provisioning precedes the node object and is never seen here.
    pub fn phase(&self) -> NodePhase {
        if self.terminating_since().is_some() || self.mark(TERMINATE_REQUESTED).is_some() {
            NodePhase::Terminating
        } else if self.mark(DRAIN_STARTED).is_some() {
            NodePhase::Draining
        } else if self.ready == Readiness::True
            || self.timeline.entered(NodePhase::Operating).is_some()
        {
            NodePhase::Operating
        } else {
            NodePhase::Joining
        }
    }

    pub(crate) fn from_slim(
        node: &SlimNode,
        i: &mut Interner,
        previous: Option<NodeRecord>,
    ) -> Self {
        let labels = i.labels(node.metadata.labels.iter().flatten());
        let pool = annotations::node_pool(|k| labels.get(k)).map(|p| i.str(p));
        let ready = node.condition("Ready");
        let mut marks: Vec<(Arc<str>, Arc<str>)> = node
            .metadata
            .annotations
            .iter()
            .flatten()
            .filter(|(k, _)| k.starts_with(annotations::PREFIX))
            .map(|(k, v)| (i.str(k), i.str(v)))
            .collect();
        marks.sort();
        let name: Arc<str> = i.str(node.name());
        let mut record = Self {
            uid: Uid::parse(node.uid()),
            labels: labels.clone(),
            kubelet_version: i.str(&node.kubelet_version),
            unschedulable: node.unschedulable,
            taints: node.taints,
            ready: Readiness::parse(ready.map(|c| c.status.as_str())),
            ready_since: ready.and_then(|c| c.last_transition_time),
            pressure: node
                .conditions
                .iter()
                .filter(|c| c.type_ != "Ready" && c.status == "True")
                .map(|c| i.str(&c.type_))
                .collect(),
            allocatable_cpu_millis: node.allocatable_cpu_millis,
            allocatable_memory_bytes: node.allocatable_memory_bytes,
            allocatable_pods: node.allocatable_pods,
            capacity_cpu_millis: node.capacity_cpu_millis,
            capacity_memory_bytes: node.capacity_memory_bytes,
            capacity_gpus: node.capacity_gpus,
            provider_id: node.provider_id.as_deref().map(Arc::from),
            created: node.created(),
            deleted: node.deleted(),
            marks,
            timeline: previous
                .map(|p| p.timeline)
                .unwrap_or_else(|| NodeTimeline::new(&name, pool.as_deref())),
            pool,
            name,
        };
        record.observe_timeline();
        record
    }

    /// Record the transitions the node object shows: created (Joining), Ready (Operating, at
    /// the Ready condition's last transition), Capstan's drain mark (Draining), its
    /// termination request or the deletion (Terminating). A node that went back (a drain
    /// abandoned and its mark removed) starts a fresh timeline.
    fn observe_timeline(&mut self) {
        let now_phase = self.phase();
        if self.timeline.current().is_some_and(|(p, _)| p > now_phase) {
            self.timeline = NodeTimeline::new(&self.name, self.pool.as_deref());
        }
        let drain_started = self.mark_time(DRAIN_STARTED);
        let terminating = self.terminating_since();
        let tl = &mut self.timeline;
        // Joining is known when the view sees the node not Ready yet, or when the object itself
        // shows a join: Ready after creation, within the hour. A node first seen Ready with no
        // such transition (Ready since creation, or a kubelet restart long after it) has no
        // Joining to report, rather than a made-up zero or a days-long one.
        if let Some(created) = self.created {
            let shows_join = match (self.ready, self.ready_since) {
                (Readiness::True, Some(ready)) => {
                    ready > created && ready.duration_since(created) <= JOIN_EVIDENCE
                }
                (Readiness::True, None) => false,
                _ => true,
            };
            if shows_join || tl.current().is_some() {
                tl.record(NodePhase::Joining, created);
            }
        }
        if self.ready == Readiness::True
            && let Some(at) = self.ready_since.or(self.created)
        {
            tl.record(NodePhase::Operating, at);
        }
        if let Some(at) = drain_started {
            tl.record(NodePhase::Draining, at);
        }
        if let Some(at) = terminating {
            tl.record(NodePhase::Terminating, at);
        }
    }
}

/// How long after its creation a node's first Ready still tells when it joined.
const JOIN_EVIDENCE: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// A pod as the view keeps it.
#[derive(Debug, Clone)]
pub struct PodRecord {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub uid: Uid,
    pub node: Option<Arc<str>>,
    pub labels: Labels,
    pub controller: Option<Arc<Owner>>,
    pub phase: PodPhase,
    pub ready: bool,
    pub crash_looping: bool,
    pub oom_killed: bool,
    pub has_empty_dir: bool,
    pub mirror: bool,
    pub restarts: u32,
    pub cpu_request_millis: u64,
    pub memory_request_bytes: u64,
    pub deleted: Option<Timestamp>,
    pub grace_period_seconds: Option<i64>,
    pub priority: Option<i32>,
    /// The containers' requests, shared between the pods of one template.
    pub containers: ContainerRequests,
    /// The PersistentVolumeClaims the pod mounts.
    pub claims: Box<[Arc<str>]>,
    /// (container index, restartCount) of the containers whose last termination was
    /// `OOMKilled`: a grown count is a new OOM kill.
    pub oom_restarts: Box<[(u16, u32)]>,
}

impl PodRecord {
    pub(crate) fn from_slim(pod: &SlimPod, i: &mut Interner) -> Self {
        Self {
            namespace: i.str(pod.namespace()),
            // Pod names are unique: interning them would only add a lookup.
            name: Arc::from(pod.name()),
            uid: Uid::parse(pod.uid()),
            node: pod.node_name.as_deref().map(|n| i.str(n)),
            labels: i.labels(pod.metadata.labels.iter().flatten()),
            controller: pod
                .controller()
                .map(|o| i.owner(&o.api_version, &o.kind, &o.name)),
            phase: pod.phase,
            ready: pod.ready,
            crash_looping: pod.crash_looping,
            oom_killed: pod.oom_killed,
            has_empty_dir: pod.has_empty_dir,
            mirror: pod.mirror,
            restarts: pod.restarts,
            cpu_request_millis: pod.cpu_request_millis,
            memory_request_bytes: pod.memory_request_bytes,
            deleted: pod.deleted(),
            grace_period_seconds: pod.termination_grace_period_seconds,
            priority: pod.priority,
            containers: i.containers(&pod.containers),
            claims: pod.claims.iter().map(|c| i.str(c)).collect(),
            oom_restarts: pod
                .containers
                .iter()
                .enumerate()
                .filter(|(_, c)| c.oom_killed)
                .map(|(n, c)| (u16::try_from(n).unwrap_or(u16::MAX), c.restarts))
                .collect(),
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// What the drain planner needs to know about the pod.
    pub fn to_drain_pod(&self) -> DrainPod {
        DrainPod {
            namespace: self.namespace.to_string(),
            name: self.name.to_string(),
            uid: self.uid.to_string(),
            phase: self.phase.as_str().to_string(),
            ready: self.ready,
            controller: self.controller.as_ref().map(|o| ControllerRef {
                api_version: o.api_version.to_string(),
                kind: o.kind.to_string(),
                name: o.name.to_string(),
            }),
            mirror: self.mirror,
            has_emptydir: self.has_empty_dir,
            deletion_timestamp: self.deleted,
            labels: self.labels.to_btree(),
            grace_period_seconds: self.grace_period_seconds,
        }
    }
}

/// A PodDisruptionBudget as the view keeps it.
#[derive(Debug, Clone)]
pub struct PdbRecord {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub uid: Uid,
    /// `None` selects no pod (see [`SlimPdb::selector`]).
    pub selector: Option<LabelSelector>,
    pub min_available: Option<serde_json::Value>,
    pub max_unavailable: Option<serde_json::Value>,
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub disruptions_allowed: i64,
    pub expected_pods: i64,
}

impl PdbRecord {
    pub(crate) fn from_slim(pdb: SlimPdb, i: &mut Interner) -> Self {
        Self {
            namespace: i.str(pdb.namespace()),
            name: i.str(pdb.name()),
            uid: Uid::parse(pdb.uid()),
            generation: pdb.metadata.generation,
            selector: pdb.selector,
            min_available: pdb.min_available,
            max_unavailable: pdb.max_unavailable,
            observed_generation: pdb.observed_generation,
            current_healthy: pdb.current_healthy,
            desired_healthy: pdb.desired_healthy,
            disruptions_allowed: pdb.disruptions_allowed,
            expected_pods: pdb.expected_pods,
        }
    }

    /// Whether the budget selects a pod with these labels.
    pub fn selects(&self, labels: &Labels) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }
}

/// A namespace as the view keeps it.
#[derive(Debug, Clone)]
pub struct NamespaceRecord {
    pub name: Arc<str>,
    pub labels: Labels,
    /// `Active` or `Terminating`.
    pub phase: Arc<str>,
}

impl NamespaceRecord {
    pub(crate) fn from_slim(ns: &SlimNamespace, i: &mut Interner) -> Self {
        Self {
            name: i.str(ns.name()),
            labels: i.labels(ns.metadata.labels.iter().flatten()),
            phase: i.str(&ns.phase),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 4] = [
        Self::Deployment,
        Self::ReplicaSet,
        Self::StatefulSet,
        Self::DaemonSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::ReplicaSet => "ReplicaSet",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
        }
    }
}

/// A workload owner of pods as the view keeps it.
#[derive(Debug, Clone)]
pub struct WorkloadRecord {
    pub kind: WorkloadKind,
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    /// Desired replicas (for a DaemonSet, the nodes it should run on).
    pub replicas: i64,
    pub ready_replicas: i64,
    /// Its controller: a ReplicaSet's Deployment.
    pub owner: Option<Arc<Owner>>,
    /// The rolling update's `maxUnavailable` as given.
    pub max_unavailable: Option<serde_json::Value>,
    /// Annotated `spot.kubecost.com/spot-ready=true` (Kubecost's manual spot override).
    pub spot_ready: bool,
}

/// The slim workload types, read alike.
pub(crate) trait SlimWorkload: SlimMeta {
    const KIND: WorkloadKind;
    fn replicas(&self) -> (i64, i64);
    fn max_unavailable(&self) -> Option<serde_json::Value>;
}

macro_rules! slim_workload {
    ($ty:ty, $kind:ident) => {
        impl SlimWorkload for $ty {
            const KIND: WorkloadKind = WorkloadKind::$kind;
            fn replicas(&self) -> (i64, i64) {
                (self.replicas, self.ready_replicas)
            }
            fn max_unavailable(&self) -> Option<serde_json::Value> {
                self.max_unavailable.clone()
            }
        }
    };
}
slim_workload!(SlimDeployment, Deployment);
slim_workload!(SlimReplicaSet, ReplicaSet);
slim_workload!(SlimStatefulSet, StatefulSet);
slim_workload!(SlimDaemonSet, DaemonSet);

impl WorkloadRecord {
    pub(crate) fn from_slim<W: SlimWorkload>(w: &W, i: &mut Interner) -> Self {
        let (replicas, ready_replicas) = w.replicas();
        Self {
            kind: W::KIND,
            namespace: i.str(w.namespace()),
            name: i.str(w.name()),
            replicas,
            ready_replicas,
            owner: w
                .controller()
                .map(|o| i.owner(&o.api_version, &o.kind, &o.name)),
            max_unavailable: w.max_unavailable(),
            spot_ready: w
                .object_meta()
                .annotations
                .as_ref()
                .and_then(|a| a.get(SPOT_READY))
                .is_some_and(|v| v == "true"),
        }
    }
}

/// Kubecost's manual override marking a workload ready for spot capacity.
pub const SPOT_READY: &str = "spot.kubecost.com/spot-ready";

/// A PersistentVolumeClaim as the view keeps it.
#[derive(Debug, Clone)]
pub struct PvcRecord {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub requested_bytes: u64,
    pub capacity_bytes: u64,
    pub storage_class: Option<Arc<str>>,
    pub phase: Arc<str>,
}

impl PvcRecord {
    pub(crate) fn from_slim(pvc: &SlimPvc, i: &mut Interner) -> Self {
        Self {
            namespace: i.str(pvc.namespace()),
            name: i.str(pvc.name()),
            requested_bytes: pvc.requested_bytes,
            capacity_bytes: pvc.capacity_bytes,
            storage_class: pvc.storage_class.as_deref().map(|c| i.str(c)),
            phase: i.str(&pvc.phase),
        }
    }
}

/// A ResourceQuota as the view keeps it: hard and used per resource, in thousandths
/// (millicores, milli-bytes).
#[derive(Debug, Clone)]
pub struct QuotaRecord {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub hard: Box<[(Arc<str>, u64)]>,
    pub used: Box<[(Arc<str>, u64)]>,
}

impl QuotaRecord {
    pub(crate) fn from_slim(q: &SlimResourceQuota, i: &mut Interner) -> Self {
        let namespace = i.str(q.namespace());
        let name = i.str(q.name());
        let mut pairs = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter().map(|(k, v)| (i.str(k), *v)).collect::<Box<[_]>>()
        };
        Self {
            namespace,
            name,
            hard: pairs(&q.hard),
            used: pairs(&q.used),
        }
    }

    /// `resource`'s hard limit in thousandths.
    pub fn hard(&self, resource: &str) -> Option<u64> {
        self.hard
            .iter()
            .find(|(k, _)| &**k == resource)
            .map(|(_, v)| *v)
    }

    /// `resource`'s use as the quota controller counted it, in thousandths.
    pub fn used(&self, resource: &str) -> Option<u64> {
        self.used
            .iter()
            .find(|(k, _)| &**k == resource)
            .map(|(_, v)| *v)
    }
}
