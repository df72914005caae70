//! [`SlimPod`]: what Capstan reads of a Pod.

use capstan_core::annotations::MIRROR_POD;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{LenientQuantity, MetaWire, slim_resource};

/// `status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    pub const ALL: [PodPhase; 5] = [
        Self::Pending,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Unknown,
    ];

    /// A missing phase is Pending (the API server defaults it so); an unrecognised one Unknown.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            None | Some("Pending") => Self::Pending,
            Some("Running") => Self::Running,
            Some("Succeeded") => Self::Succeeded,
            Some("Failed") => Self::Failed,
            Some(_) => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Unknown => "Unknown",
        }
    }

    /// Succeeded or Failed: the pod's containers will not run again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// A Pod: where it runs, how it is doing, what it requests, and what drain filters look at.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "PodWire")]
pub struct SlimPod {
    pub metadata: ObjectMeta,
    pub node_name: Option<String>,
    pub phase: PodPhase,
    /// Condition Ready is True.
    pub ready: bool,
    /// Restarts summed over the containers (kubectl's RESTARTS column).
    pub restarts: u32,
    /// A container last terminated with reason `OOMKilled`.
    pub oom_killed: bool,
    /// A container is waiting with reason `CrashLoopBackOff`.
    pub crash_looping: bool,
    /// The pod's effective requests, as the scheduler counts them: the larger of the
    /// containers' sum and the largest init container.
    pub cpu_request_millis: u64,
    pub memory_request_bytes: u64,
    /// Has an emptyDir volume (local data a drain would lose).
    pub has_empty_dir: bool,
    /// A static pod's mirror (`kubernetes.io/config.mirror`).
    pub mirror: bool,
    /// `spec.terminationGracePeriodSeconds`.
    pub termination_grace_period_seconds: Option<i64>,
    /// `spec.priority`.
    pub priority: Option<i32>,
    /// The (non-init) containers' requests, in spec order: what cost allocation and
    /// right-sizing price per container.
    pub containers: Vec<SlimContainer>,
    /// `persistentVolumeClaim.claimName` of each volume (the claims whose storage this pod
    /// is charged for).
    pub claims: Vec<String>,
}

/// One container of a pod: its requests and whether it was last killed for memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlimContainer {
    pub name: String,
    pub cpu_request_millis: u64,
    pub memory_request_bytes: u64,
    /// `nvidia.com/gpu` requested (extended resources are whole units).
    pub gpu_request: u64,
    /// `restartCount` from the container's status.
    pub restarts: u32,
    /// The last termination's reason was `OOMKilled`.
    pub oom_killed: bool,
}

slim_resource!(
    SlimPod,
    "Pod",
    "",
    "v1",
    "pods",
    k8s_openapi::NamespaceResourceScope
);

#[derive(Deserialize, Default)]
#[serde(default)]
struct PodWire {
    metadata: MetaWire,
    spec: SpecWire,
    status: StatusWire,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SpecWire {
    node_name: Option<String>,
    containers: Vec<ContainerWire>,
    init_containers: Option<Vec<ContainerWire>>,
    volumes: Option<Vec<VolumeWire>>,
    termination_grace_period_seconds: Option<i64>,
    priority: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContainerWire {
    name: String,
    resources: ResourcesWire,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResourcesWire {
    requests: RequestsWire,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RequestsWire {
    cpu: LenientQuantity,
    memory: LenientQuantity,
    #[serde(rename = "nvidia.com/gpu")]
    gpu: LenientQuantity,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct VolumeWire {
    empty_dir: Option<IgnoredAny>,
    persistent_volume_claim: Option<ClaimSourceWire>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ClaimSourceWire {
    claim_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StatusWire {
    phase: Option<String>,
    conditions: Option<Vec<ConditionWire>>,
    container_statuses: Option<Vec<ContainerStatusWire>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConditionWire {
    #[serde(rename = "type")]
    type_: String,
    status: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ContainerStatusWire {
    name: String,
    restart_count: i64,
    state: StateWire,
    last_state: StateWire,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StateWire {
    waiting: Option<ReasonWire>,
    terminated: Option<ReasonWire>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReasonWire {
    reason: Option<String>,
}

fn reason_is(r: &Option<ReasonWire>, reason: &str) -> bool {
    r.as_ref().and_then(|r| r.reason.as_deref()) == Some(reason)
}

impl From<PodWire> for SlimPod {
    fn from(w: PodWire) -> Self {
        let metadata: ObjectMeta = w.metadata.into();
        let mirror = metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(MIRROR_POD));
        let (mut cpu, mut memory) = w.spec.containers.iter().fold((0u64, 0u64), |(c, m), x| {
            (
                c.saturating_add(x.resources.requests.cpu.millis()),
                m.saturating_add(x.resources.requests.memory.units()),
            )
        });
        for init in w.spec.init_containers.iter().flatten() {
            cpu = cpu.max(init.resources.requests.cpu.millis());
            memory = memory.max(init.resources.requests.memory.units());
        }
        let statuses = w.status.container_statuses.unwrap_or_default();
        let containers = w
            .spec
            .containers
            .iter()
            .map(|c| {
                // Statuses are matched by name: the API server keeps them sorted by name,
                // not in spec order.
                let status = statuses.iter().find(|s| s.name == c.name);
                SlimContainer {
                    name: c.name.clone(),
                    cpu_request_millis: c.resources.requests.cpu.millis(),
                    memory_request_bytes: c.resources.requests.memory.units(),
                    gpu_request: c.resources.requests.gpu.units(),
                    restarts: status.map_or(0, |s| u32::try_from(s.restart_count).unwrap_or(0)),
                    oom_killed: status.is_some_and(|s| {
                        reason_is(&s.last_state.terminated, "OOMKilled")
                            || reason_is(&s.state.terminated, "OOMKilled")
                    }),
                }
            })
            .collect();
        let claims = w
            .spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.clone())
            .filter(|c| !c.is_empty())
            .collect();
        Self {
            metadata,
            node_name: w.spec.node_name.filter(|n| !n.is_empty()),
            phase: PodPhase::parse(w.status.phase.as_deref()),
            ready: w
                .status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True"),
            restarts: statuses
                .iter()
                .map(|s| u32::try_from(s.restart_count).unwrap_or(0))
                .fold(0u32, u32::saturating_add),
            oom_killed: statuses.iter().any(|s| {
                reason_is(&s.last_state.terminated, "OOMKilled")
                    || reason_is(&s.state.terminated, "OOMKilled")
            }),
            crash_looping: statuses
                .iter()
                .any(|s| reason_is(&s.state.waiting, "CrashLoopBackOff")),
            cpu_request_millis: cpu,
            memory_request_bytes: memory,
            has_empty_dir: w
                .spec
                .volumes
                .iter()
                .flatten()
                .any(|v| v.empty_dir.is_some()),
            mirror,
            termination_grace_period_seconds: w.spec.termination_grace_period_seconds,
            priority: w.spec.priority,
            containers,
            claims,
        }
    }
}
