//! [`SlimResourceQuota`]: what Capstan reads of a ResourceQuota (for quota suggestions).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{LenientQuantity, MetaWire, slim_resource};

/// The compute resources a quota can bound, as Capstan reads them.
pub const QUOTA_RESOURCES: [&str; 7] = [
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
    // `cpu` and `memory` are the older spellings of `requests.cpu` / `requests.memory`.
    "cpu",
    "memory",
    "pods",
];

/// A ResourceQuota: its hard limits and what the quota controller counts as used, in
/// thousandths (millicores for CPU; milli-bytes would overflow nothing: bytes × 1000 fits
/// u64 up to 18 PB).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "QuotaWire")]
pub struct SlimResourceQuota {
    pub metadata: ObjectMeta,
    /// `spec.hard`, restricted to [`QUOTA_RESOURCES`]: resource -> value in thousandths.
    pub hard: BTreeMap<String, u64>,
    /// `status.used`, restricted likewise.
    pub used: BTreeMap<String, u64>,
}

slim_resource!(
    SlimResourceQuota,
    "ResourceQuota",
    "",
    "v1",
    "resourcequotas",
    k8s_openapi::NamespaceResourceScope
);

#[derive(Deserialize, Default)]
#[serde(default)]
struct QuotaWire {
    metadata: MetaWire,
    spec: HardWire,
    status: StatusWire,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HardWire {
    hard: BTreeMap<String, LenientQuantity>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusWire {
    used: BTreeMap<String, LenientQuantity>,
}

fn known(map: BTreeMap<String, LenientQuantity>) -> BTreeMap<String, u64> {
    map.into_iter()
        .filter(|(k, q)| QUOTA_RESOURCES.contains(&k.as_str()) && q.0.is_some())
        .map(|(k, q)| (k, q.millis()))
        .collect()
}

impl From<QuotaWire> for SlimResourceQuota {
    fn from(w: QuotaWire) -> Self {
        Self {
            metadata: w.metadata.into(),
            hard: known(w.spec.hard),
            used: known(w.status.used),
        }
    }
}
