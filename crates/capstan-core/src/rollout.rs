//! `ClusterUpgrade` (`upgrade.toolkit.io/v1alpha1`): the declarative object that rolls a
//! Kubernetes version across the fleet in canary steps, its parsing and validation, and the
//! pure parts of the canary plan (cluster order, step targets, budgets).
//!
//! Parsing rejects unknown fields and wrong types with the field's path
//! (`spec.strategy.canary.steps[1].pauze: unknown field ...`); [`validate`] then checks the
//! rules serde cannot express (percentages, durations, versions, selectors, budgets), again
//! naming each field. Values the user wrote as text (`pause: 1h`, `version: "1.31"`) are kept
//! as written so that a stored object reads back as applied; typed accessors parse them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::duration::parse_duration;
use crate::health::Severity;
use crate::rng::fnv1a;
use crate::selector::LabelSelector;
use crate::upgrade::IntOrPercent;
use crate::version::KubeVersion;

mod gate;
mod machine;
mod plan;
pub mod preflight;
mod validate;

#[cfg(test)]
mod tests;

pub use gate::{
    FiringAlert, GateProgress, HealthHalt, HealthStatus, clusters_to_watch, gate_healthy_streak,
    halt_reason, halting_alert, halting_count, health_inputs,
};
pub use machine::{
    Action, ClusterRollout, ClusterState, FrozenPlan, FrozenStep, Input, RolloutPhase,
    RolloutState, start, step,
};
pub use plan::{
    CANARY_LABEL, failure_budget, max_concurrency, name_hash, order_clusters, resolve_count,
    step_targets,
};
pub use preflight::{ClusterFacts, PreflightPolicy, preflight, resolve_cluster_target};
pub use validate::{FieldError, validate};

pub const API_VERSION: &str = "upgrade.toolkit.io/v1alpha1";
pub const KIND: &str = "ClusterUpgrade";

/// A `ClusterUpgrade` object as written by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterUpgrade {
    pub api_version: String,
    pub kind: String,
    /// Optional, as in the example: see [`ClusterUpgrade::effective_name`].
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: ClusterUpgradeSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterUpgradeSpec {
    /// Required: an empty selector (`{}`) selects every cluster, which must be said outright.
    pub cluster_selector: ClusterSelector,
    /// `1.31` (newest patch of that minor the provider offers) or `1.31.4`; omitted means
    /// each selected cluster goes to its next minor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    pub strategy: Strategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_rolling: Option<NodeRolling>,
}

/// A `metav1.LabelSelector` over cluster labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<SelectorExpression>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectorExpression {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Strategy {
    #[serde(rename = "type")]
    pub strategy_type: StrategyType,
    pub canary: CanaryStrategy,
}

/// The known strategy types; anything else is rejected at `spec.strategy.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StrategyType {
    Canary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryStrategy {
    pub steps: Vec<CanaryStep>,
    /// A label key ordering clusters after the canaries (numbers numerically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// Clusters upgrading at once (count or % of the selected set).
    #[serde(
        default,
        deserialize_with = "int_or_percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_concurrency: Option<IntOrPercent>,
    /// Failed clusters tolerated before the rollout halts (count or % of the selected set).
    #[serde(
        default,
        deserialize_with = "int_or_percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_failures: Option<IntOrPercent>,
    /// How cluster health gates the rollout; omitted means the defaults of [`HealthGate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_gate: Option<HealthGate>,
}

/// `spec.strategy.canary.healthGate`: which firing alerts halt a soak, and how many healthy
/// evaluations each upgraded cluster must show before its step's soak may end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthGate {
    /// Consecutive healthy evaluations (no firing alert of a `haltOn` severity) each cluster
    /// of a step must have after its upgrade before the step's soak ends; 0 (the default)
    /// ends soaks on time alone. At most [`MAX_HEALTHY_EVALUATIONS`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consecutive_healthy_evaluations: u32,
    /// Severities (`critical`, `warning`) whose firing alerts on an upgraded cluster halt a
    /// soak and refuse a cluster in preflight; omitted means `[critical]`, `[]` never halts.
    /// Kept as written; [`HealthGate::halt_on_severities`] reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt_on: Option<Vec<String>>,
}

/// The most healthy evaluations a gate may ask for.
pub const MAX_HEALTHY_EVALUATIONS: u32 = 1000;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl HealthGate {
    /// The `haltOn` severities; `[critical]` when omitted. Unknown values (which
    /// [`validate`] refuses) are left out.
    pub fn halt_on_severities(&self) -> Vec<Severity> {
        match &self.halt_on {
            None => vec![Severity::Critical],
            Some(values) => {
                let mut severities: Vec<Severity> =
                    values.iter().filter_map(|v| parse_severity(v)).collect();
                severities.sort();
                severities.dedup();
                severities
            }
        }
    }
}

/// A `haltOn` value: `critical` or `warning`, as the rules' severities are written.
pub(crate) fn parse_severity(value: &str) -> Option<Severity> {
    match value {
        "critical" => Some(Severity::Critical),
        "warning" => Some(Severity::Warning),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryStep {
    /// Share of the selected clusters upgraded once this step is done (cumulative).
    pub percentage: u32,
    /// Soak after the step's clusters are done, as a duration (`90s`, `1h30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
    /// Wait for `capstan upgrade approve` before the step starts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approval: bool,
}

/// Node rolling parameters passed to each cluster's agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeRolling {
    #[serde(
        default,
        deserialize_with = "int_or_percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_surge: Option<IntOrPercent>,
    #[serde(
        default,
        deserialize_with = "int_or_percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_unavailable: Option<IntOrPercent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_timeout: Option<String>,
}

/// Why a `ClusterUpgrade` document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Not YAML, or not a single YAML document.
    #[error("invalid YAML: {0}")]
    Syntax(String),
    /// Well-formed YAML that does not have the object's shape (unknown field, wrong type,
    /// missing field); `path` is empty for the document itself.
    #[error("{}{message}", path_prefix(path))]
    Shape { path: String, message: String },
    /// The right shape, but values break the rules.
    #[error("{}", join_errors(.0))]
    Invalid(Vec<FieldError>),
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("{path}: ")
    }
}

fn join_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Parses and validates a `ClusterUpgrade` YAML (or JSON) document.
pub fn parse_cluster_upgrade(yaml: &str) -> Result<ClusterUpgrade, ValidationError> {
    // The parser must see a failed document end (to report the first error, not trailing
    // events), so the path leaves the closure on the side.
    let mut failed_at: Option<String> = None;
    let upgrade = serde_saphyr::with_deserializer_from_str(yaml, |de| {
        serde_path_to_error::deserialize::<_, ClusterUpgrade>(de).map_err(|e| {
            failed_at = Some(e.path().to_string());
            e.into_inner()
        })
    })
    .map_err(|e| match failed_at {
        Some(path) => ValidationError::Shape {
            path,
            message: shape_message(&e),
        },
        None => ValidationError::Syntax(e.without_snippet().to_string()),
    })?;
    validate(&upgrade).map_err(ValidationError::Invalid)?;
    Ok(upgrade)
}

/// serde-saphyr's message without its source snippet: the path says where already.
fn shape_message(e: &serde_saphyr::Error) -> String {
    let plain = e.without_snippet().to_string();
    match plain.rfind(" at line ") {
        Some(i) => plain[..i].to_string(),
        None => plain,
    }
}

impl ClusterUpgrade {
    /// `metadata.name`, or when omitted a name derived from the spec (`upgrade-` and 8 hex
    /// digits of its FNV-1a hash). Derived rather than random so that applying the same
    /// nameless file twice names the same object instead of starting a second rollout.
    pub fn effective_name(&self) -> String {
        if let Some(name) = &self.metadata.name {
            return name.clone();
        }
        let spec = serde_json::to_string(&self.spec).unwrap_or_default();
        format!("upgrade-{:08x}", fnv1a(spec.as_bytes()) as u32)
    }

    /// The cluster selector as a [`LabelSelector`].
    pub fn selector(&self) -> crate::Result<LabelSelector> {
        self.spec.cluster_selector.to_label_selector()
    }

    /// The target version, `None` when each cluster goes to its next minor.
    pub fn target_version(&self) -> crate::Result<Option<KubeVersion>> {
        self.spec
            .version
            .as_deref()
            .map(KubeVersion::parse)
            .transpose()
    }
}

impl ClusterSelector {
    pub fn to_label_selector(&self) -> crate::Result<LabelSelector> {
        let json = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        LabelSelector::from_label_selector_json(&json)
    }
}

impl CanaryStep {
    /// The soak after this step; zero when omitted.
    pub fn pause_duration(&self) -> crate::Result<Duration> {
        self.pause
            .as_deref()
            .map_or(Ok(Duration::ZERO), parse_duration)
    }
}

impl NodeRolling {
    pub fn drain_timeout_duration(&self) -> crate::Result<Option<Duration>> {
        self.drain_timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
    }
}

/// Kubernetes `IntOrString` as written in YAML: `2`, `"2"` or `"10%"`. The shared
/// [`IntOrPercent`] reads only strings.
fn int_or_percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IntOrPercent>, D::Error> {
    struct IntOrPercentVisitor;
    impl serde::de::Visitor<'_> for IntOrPercentVisitor {
        type Value = Option<IntOrPercent>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a non-negative count such as 3 or a percentage such as \"10%\"")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Self::Value, E> {
            u32::try_from(n)
                .map(|n| Some(IntOrPercent::Int(n)))
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Self::Value, E> {
            u64::try_from(n)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
                .and_then(|n| self.visit_u64(n))
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            s.parse().map(Some).map_err(E::custom)
        }
    }
    d.deserialize_any(IntOrPercentVisitor)
}
