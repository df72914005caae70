//! The planned fleet: clusters, their node pools and capacity types, as the generator and
//! the exact-fleet YAML format see them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FleetError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    Spot,
    OnDemand,
}

impl CapacityType {
    pub fn as_str(&self) -> &'static str {
        match self {
            CapacityType::Spot => "spot",
            CapacityType::OnDemand => "on-demand",
        }
    }
}

/// How the generator writes PodDisruptionBudgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
#[serde(rename_all = "camelCase")]
pub enum DisruptionBudgets {
    /// The mixture teams write, including budgets that can never allow an eviction
    /// (`minAvailable: 1` on one replica, `80%` of four): drains of their nodes halt.
    #[default]
    Realistic,
    /// Every budget allows at least one eviction while its pods are healthy: a fleet whose
    /// nodes can all be drained (the demo's).
    DrainSafe,
}

impl DisruptionBudgets {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// One simulated cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// DNS-1123 label, unique in the fleet.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Control-plane version without the `v`, e.g. "1.31.4".
    pub version: String,
    /// One of [`PROVIDERS`].
    pub provider: String,
    pub region: String,
    pub node_pools: Vec<NodePoolSpec>,
    /// Target pod count for the whole cluster, system pods included.
    pub pods: u64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default, skip_serializing_if = "DisruptionBudgets::is_default")]
    pub disruption_budgets: DisruptionBudgets,
}

/// A group of identical nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePoolSpec {
    pub name: String,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    pub nodes: u32,
    /// Allocatable CPU per node, a Kubernetes quantity ("7910m", "8").
    pub cpu: String,
    /// Allocatable memory per node, a Kubernetes quantity ("29021Mi", "32Gi").
    pub memory: String,
    #[serde(default = "default_max_pods")]
    pub max_pods: u32,
    /// Kubelet version ("1.30.8"); `None` means the control plane's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Zones the pool's nodes are spread over, round-robin.
    pub zones: Vec<String>,
}

pub(super) fn default_max_pods() -> u32 {
    110
}

impl NodePoolSpec {
    /// The kubelet version of this pool's nodes.
    pub fn kubelet_version<'a>(&'a self, cluster: &'a ClusterSpec) -> &'a str {
        self.version.as_deref().unwrap_or(&cluster.version)
    }
}

impl ClusterSpec {
    pub fn node_count(&self) -> u64 {
        self.node_pools.iter().map(|p| u64::from(p.nodes)).sum()
    }

    /// Pods the kubelets would admit in total (`sum(nodes * maxPods)`).
    pub fn pod_capacity(&self) -> u64 {
        self.node_pools
            .iter()
            .map(|p| u64::from(p.nodes) * u64::from(p.max_pods))
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    pub clusters: Vec<ClusterSpec>,
}

impl FleetSpec {
    /// The fleet in the exact-fleet YAML format, so a planned fleet can be saved, edited and
    /// fed back to [`parse_fleet_yaml`](super::parse_fleet_yaml).
    pub fn to_yaml(&self) -> Result<String, FleetError> {
        serde_saphyr::to_string(self).map_err(|e| FleetError::Serialize(e.to_string()))
    }
}

pub const PROVIDERS: [&str; 4] = ["aws", "gcp", "azure", "onprem"];
