//! Namespaces and the workload owners of pods: Deployments, ReplicaSets (with their owning
//! Deployment), StatefulSets and DaemonSets.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{MetaWire, slim_resource};

/// A Namespace: name, labels, and `status.phase` (`Active` or `Terminating`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "NamespaceWire")]
pub struct SlimNamespace {
    pub metadata: ObjectMeta,
    pub phase: String,
}

slim_resource!(
    SlimNamespace,
    "Namespace",
    "",
    "v1",
    "namespaces",
    k8s_openapi::ClusterResourceScope
);

#[derive(Deserialize, Default)]
#[serde(default)]
struct NamespaceWire {
    metadata: MetaWire,
    status: NamespaceStatusWire,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NamespaceStatusWire {
    phase: Option<String>,
}

impl From<NamespaceWire> for SlimNamespace {
    fn from(w: NamespaceWire) -> Self {
        Self {
            metadata: w.metadata.into(),
            phase: w.status.phase.unwrap_or_else(|| "Active".to_string()),
        }
    }
}

/// Desired and ready replicas as a workload's spec and status give them.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ReplicasSpecWire {
    replicas: Option<i64>,
    // Deployments name it `strategy`, StatefulSets and DaemonSets `updateStrategy`.
    strategy: StrategyWire,
    update_strategy: StrategyWire,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StrategyWire {
    rolling_update: Option<RollingUpdateWire>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RollingUpdateWire {
    max_unavailable: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ReplicasStatusWire {
    ready_replicas: Option<i64>,
    // DaemonSets count nodes instead of replicas.
    desired_number_scheduled: Option<i64>,
    number_ready: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WorkloadWire {
    metadata: MetaWire,
    spec: ReplicasSpecWire,
    status: ReplicasStatusWire,
}

/// Defines a slim workload type: metadata (its controller ownerReference names the owner, a
/// ReplicaSet's Deployment), desired and ready replicas.
macro_rules! slim_workload {
    ($(#[$doc:meta])* $ty:ident, $kind:literal, $plural:literal, $desired:expr, $ready:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(from = "WorkloadWire")]
        pub struct $ty {
            pub metadata: ObjectMeta,
            pub replicas: i64,
            pub ready_replicas: i64,
            /// The rolling update's `maxUnavailable` as given (an integer or a percentage).
            pub max_unavailable: Option<serde_json::Value>,
        }

        slim_resource!($ty, $kind, "apps", "v1", $plural, k8s_openapi::NamespaceResourceScope);

        impl From<WorkloadWire> for $ty {
            fn from(w: WorkloadWire) -> Self {
                let desired: fn(&WorkloadWire) -> i64 = $desired;
                let ready: fn(&WorkloadWire) -> i64 = $ready;
                Self {
                    replicas: desired(&w),
                    ready_replicas: ready(&w),
                    max_unavailable: w
                        .spec
                        .strategy
                        .rolling_update
                        .or(w.spec.update_strategy.rolling_update)
                        .and_then(|r| r.max_unavailable),
                    metadata: w.metadata.into(),
                }
            }
        }
    };
}

// `spec.replicas` defaults to 1 (the API server fills it in; a missing one means 1).
slim_workload!(
    /// A Deployment.
    SlimDeployment,
    "Deployment",
    "deployments",
    |w| w.spec.replicas.unwrap_or(1),
    |w| w.status.ready_replicas.unwrap_or(0)
);
slim_workload!(
    /// A ReplicaSet; its controller ownerReference names its Deployment.
    SlimReplicaSet,
    "ReplicaSet",
    "replicasets",
    |w| w.spec.replicas.unwrap_or(1),
    |w| w.status.ready_replicas.unwrap_or(0)
);
slim_workload!(
    /// A StatefulSet.
    SlimStatefulSet,
    "StatefulSet",
    "statefulsets",
    |w| w.spec.replicas.unwrap_or(1),
    |w| w.status.ready_replicas.unwrap_or(0)
);
slim_workload!(
    /// A DaemonSet: `replicas` is `status.desiredNumberScheduled`, `ready_replicas`
    /// `status.numberReady`.
    SlimDaemonSet,
    "DaemonSet",
    "daemonsets",
    |w| w.status.desired_number_scheduled.unwrap_or(0),
    |w| w.status.number_ready.unwrap_or(0)
);
