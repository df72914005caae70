//! [`SlimPvc`]: what Capstan reads of a PersistentVolumeClaim (for storage cost).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{LenientQuantity, MetaWire, slim_resource};

/// A PersistentVolumeClaim: its requested size, class and phase.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "PvcWire")]
pub struct SlimPvc {
    pub metadata: ObjectMeta,
    /// `spec.resources.requests.storage`: OpenCost prices a claim's requested capacity.
    pub requested_bytes: u64,
    /// `status.capacity.storage` once bound (can exceed the request).
    pub capacity_bytes: u64,
    /// `spec.storageClassName` (the admission plugin fills in the default class).
    pub storage_class: Option<String>,
    /// `status.phase`: `Pending`, `Bound` or `Lost`.
    pub phase: String,
}

slim_resource!(
    SlimPvc,
    "PersistentVolumeClaim",
    "",
    "v1",
    "persistentvolumeclaims",
    k8s_openapi::NamespaceResourceScope
);

#[derive(Deserialize, Default)]
#[serde(default)]
struct PvcWire {
    metadata: MetaWire,
    spec: SpecWire,
    status: StatusWire,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SpecWire {
    resources: ResourcesWire,
    storage_class_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResourcesWire {
    requests: StorageWire,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StorageWire {
    storage: LenientQuantity,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusWire {
    phase: Option<String>,
    capacity: StorageWire,
}

impl From<PvcWire> for SlimPvc {
    fn from(w: PvcWire) -> Self {
        Self {
            metadata: w.metadata.into(),
            requested_bytes: w.spec.resources.requests.storage.units(),
            capacity_bytes: w.status.capacity.storage.units(),
            storage_class: w.spec.storage_class_name.filter(|c| !c.is_empty()),
            phase: w.status.phase.unwrap_or_else(|| "Pending".to_string()),
        }
    }
}
