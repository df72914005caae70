//! [`SlimPdb`]: what Capstan reads of a PodDisruptionBudget (policy/v1).

use capstan_core::selector::LabelSelector;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{MetaWire, slim_resource};

/// A PodDisruptionBudget: its selector and bounds, and the disruption controller's status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "PdbWire")]
pub struct SlimPdb {
    pub metadata: ObjectMeta,
    /// `None` selects no pod: a null selector (upstream's `labels.Nothing()`) or one that does
    /// not parse. An empty selector selects every pod of the namespace (policy/v1).
    pub selector: Option<LabelSelector>,
    /// `spec.minAvailable` / `spec.maxUnavailable` as given (an integer or a percentage).
    pub min_available: Option<serde_json::Value>,
    pub max_unavailable: Option<serde_json::Value>,
    pub observed_generation: Option<i64>,
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub disruptions_allowed: i64,
    pub expected_pods: i64,
}

slim_resource!(
    SlimPdb,
    "PodDisruptionBudget",
    "policy",
    "v1",
    "poddisruptionbudgets",
    k8s_openapi::NamespaceResourceScope
);

impl SlimPdb {
    /// The status describes the current spec (the disruption controller has seen it).
    pub fn status_is_current(&self) -> bool {
        self.observed_generation.is_some() && self.observed_generation >= self.metadata.generation
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PdbWire {
    metadata: MetaWire,
    spec: SpecWire,
    status: StatusWire,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SpecWire {
    selector: Option<serde_json::Value>,
    min_available: Option<serde_json::Value>,
    max_unavailable: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StatusWire {
    observed_generation: Option<i64>,
    current_healthy: i64,
    desired_healthy: i64,
    disruptions_allowed: i64,
    expected_pods: i64,
}

impl From<PdbWire> for SlimPdb {
    fn from(w: PdbWire) -> Self {
        let selector = w
            .spec
            .selector
            .as_ref()
            .filter(|s| !s.is_null())
            .and_then(|s| LabelSelector::from_label_selector_json(s).ok());
        Self {
            metadata: w.metadata.into(),
            selector,
            min_available: w.spec.min_available,
            max_unavailable: w.spec.max_unavailable,
            observed_generation: w.status.observed_generation,
            current_healthy: w.status.current_healthy,
            desired_healthy: w.status.desired_healthy,
            disruptions_allowed: w.status.disruptions_allowed,
            expected_pods: w.status.expected_pods,
        }
    }
}
