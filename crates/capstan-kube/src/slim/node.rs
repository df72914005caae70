//! [`SlimNode`]: what Capstan reads of a Node.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{LenientQuantity, MetaWire, slim_resource};

/// A Node: metadata, cordon and taints, conditions, allocatable resources, kubelet version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "NodeWire")]
pub struct SlimNode {
    pub metadata: ObjectMeta,
    /// `spec.unschedulable`: cordoned.
    pub unschedulable: bool,
    /// How many taints `spec.taints` holds.
    pub taints: u32,
    pub conditions: Vec<NodeCondition>,
    pub allocatable_cpu_millis: u64,
    pub allocatable_memory_bytes: u64,
    pub allocatable_pods: u64,
    /// `status.capacity`: what the machine has, which is what a cloud bills (OpenCost
    /// prices node capacity, not allocatable).
    pub capacity_cpu_millis: u64,
    pub capacity_memory_bytes: u64,
    /// `nvidia.com/gpu` capacity.
    pub capacity_gpus: u64,
    /// `spec.providerID` (`aws:///us-east-1a/i-0…`, `gce://…`, `azure://…`).
    pub provider_id: Option<String>,
    /// `status.nodeInfo.kubeletVersion`.
    pub kubelet_version: String,
}

slim_resource!(
    SlimNode,
    "Node",
    "",
    "v1",
    "nodes",
    k8s_openapi::ClusterResourceScope
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCondition {
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub last_transition_time: Option<Timestamp>,
}

impl SlimNode {
    pub fn condition(&self, type_: &str) -> Option<&NodeCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NodeWire {
    metadata: MetaWire,
    spec: SpecWire,
    status: StatusWire,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SpecWire {
    #[serde(rename = "providerID")]
    provider_id: Option<String>,
    unschedulable: Option<bool>,
    taints: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StatusWire {
    conditions: Option<Vec<ConditionWire>>,
    allocatable: AllocatableWire,
    capacity: AllocatableWire,
    node_info: NodeInfoWire,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ConditionWire {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    last_transition_time: Option<Time>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AllocatableWire {
    cpu: LenientQuantity,
    memory: LenientQuantity,
    pods: LenientQuantity,
    #[serde(rename = "nvidia.com/gpu")]
    gpu: LenientQuantity,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NodeInfoWire {
    kubelet_version: String,
}

impl From<NodeWire> for SlimNode {
    fn from(w: NodeWire) -> Self {
        Self {
            metadata: w.metadata.into(),
            unschedulable: w.spec.unschedulable.unwrap_or(false),
            taints: w
                .spec
                .taints
                .map_or(0, |t| u32::try_from(t.len()).unwrap_or(u32::MAX)),
            conditions: w
                .status
                .conditions
                .unwrap_or_default()
                .into_iter()
                .map(|c| NodeCondition {
                    type_: c.type_,
                    status: c.status,
                    last_transition_time: c.last_transition_time.map(|t| t.0),
                })
                .collect(),
            allocatable_cpu_millis: w.status.allocatable.cpu.millis(),
            allocatable_memory_bytes: w.status.allocatable.memory.units(),
            allocatable_pods: w.status.allocatable.pods.units(),
            capacity_cpu_millis: w.status.capacity.cpu.millis(),
            capacity_memory_bytes: w.status.capacity.memory.units(),
            capacity_gpus: w.status.capacity.gpu.units(),
            provider_id: w.spec.provider_id.filter(|p| !p.is_empty()),
            kubelet_version: w.status.node_info.kubelet_version,
        }
    }
}
