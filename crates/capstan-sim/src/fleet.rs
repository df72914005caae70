//! Fleet description for the twin: size tiers, command-line options, the exact-fleet YAML
//! format, and the planner that turns a tier and a seed into a concrete, realistic fleet.
//!
//! A [`FleetSpec`] is the only input the generator needs: every cluster carries its own seed,
//! so one cluster can be regenerated without replanning the fleet.
//!
//! Exact-fleet YAML (unknown fields are rejected; `defaults:` is optional and fills any field a
//! cluster leaves out, with `labels` merged key by key):
//! ```yaml
//! defaults:
//!   provider: aws
//!   region: us-east-1
//!   version: "1.31.4"
//!   labels: {team: platform}
//! clusters:
//! - name: prod-aws-us-east-1-01
//!   labels: {environment: production}
//!   pods: 4000
//!   nodePools:
//!   - {name: general, instanceType: m6i.2xlarge, capacityType: on-demand, nodes: 50,
//!      cpu: 7910m, memory: 29021Mi, zones: [us-east-1a, us-east-1b]}
//! ```
//!
//! The parts: `tier` (size classes), `spec` (the fleet itself), `plan` with `node_pools`,
//! `regions` and `allocatable` (the planner), `yaml` with `validate` and `yaml_path` (the
//! exact-fleet format and where its errors are).

mod allocatable;
mod node_pools;
mod plan;
mod regions;
mod spec;
mod tier;
mod validate;
mod yaml;
mod yaml_path;

#[cfg(test)]
mod tests;

pub use allocatable::{allocatable_cpu_millis, reserved_memory_bytes};
pub use plan::{DAEMON_PODS_PER_NODE, FleetOptions, plan_fleet};
pub use regions::zones_of;
pub use spec::{CapacityType, ClusterSpec, DisruptionBudgets, FleetSpec, NodePoolSpec, PROVIDERS};
pub use tier::Tier;
pub use validate::check_dns_label;
pub use yaml::parse_fleet_yaml;

/// Why a tier name, a fleet file or a fleet could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("unknown tier {0:?} (expected small, medium, large or enterprise)")]
    UnknownTier(String),
    /// The YAML did not match the format; `path` is reconstructed from the text around the
    /// reported position.
    #[error("{path} (line {line}, column {column}): {message}")]
    Syntax {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// The YAML is well formed but a value is not acceptable.
    #[error("{path} (line {line}): {reason}")]
    Invalid {
        path: String,
        line: u64,
        reason: String,
    },
    #[error("cannot write fleet YAML: {0}")]
    Serialize(String),
}
