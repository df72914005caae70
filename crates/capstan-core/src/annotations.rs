//! The labels and annotations Capstan writes on cluster objects.
//!
//! They are how a restarted agent knows what it was doing: an upgrade resumes from the cluster's
//! own state (versions, cordons and these marks), never from memory. Values that are times are
//! RFC 3339 timestamps.

/// Prefix of every mark Capstan writes.
pub const PREFIX: &str = "upgrade.toolkit.io/";

/// On a node: when Capstan cordoned it to drain it.
pub const DRAIN_STARTED: &str = "upgrade.toolkit.io/drain-started";
/// On a node: when its drain completed (no evictable pod left).
pub const DRAINED: &str = "upgrade.toolkit.io/drained";
/// On a node: `"true"` when it was already unschedulable before Capstan cordoned it, so that
/// Capstan never uncordons a node that an operator cordoned.
pub const WAS_UNSCHEDULABLE: &str = "upgrade.toolkit.io/was-unschedulable";
/// On a node: when Capstan asked the provider to terminate its machine.
pub const TERMINATE_REQUESTED: &str = "upgrade.toolkit.io/terminate-requested";

/// Node labels that name a node's pool, by provider, in the order they are consulted.
pub const NODE_POOL_LABELS: &[&str] = &[
    "capstan.io/node-pool",
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "karpenter.sh/nodepool",
    "cluster.x-k8s.io/deployment-name",
    "node.kubernetes.io/pool",
];

/// The node pool a node belongs to, from the first pool label it carries.
pub fn node_pool<'a>(mut label: impl FnMut(&str) -> Option<&'a str>) -> Option<&'a str> {
    NODE_POOL_LABELS.iter().find_map(|k| label(k))
}

/// Static (mirror) pods carry this annotation; the API server cannot delete them.
pub const MIRROR_POD: &str = "kubernetes.io/config.mirror";
