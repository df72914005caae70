//! Size tiers: how many clusters, nodes and pods a simulated fleet of each size has.

use serde::{Deserialize, Serialize};

use super::FleetError;

/// Size class of a simulated fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Small,
    Medium,
    Large,
    Enterprise,
}

impl Tier {
    pub fn parse(s: &str) -> Result<Self, FleetError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "small" => Ok(Tier::Small),
            "medium" => Ok(Tier::Medium),
            "large" => Ok(Tier::Large),
            "enterprise" => Ok(Tier::Enterprise),
            _ => Err(FleetError::UnknownTier(s.to_string())),
        }
    }

    /// Number of clusters in the fleet (inclusive).
    pub fn cluster_range(&self) -> (u32, u32) {
        match self {
            Tier::Small => (5, 20),
            Tier::Medium => (20, 100),
            Tier::Large => (100, 500),
            Tier::Enterprise => (500, 5_000),
        }
    }

    /// Nodes per cluster (inclusive).
    pub fn node_range(&self) -> (u32, u32) {
        match self {
            Tier::Small => (50, 200),
            Tier::Medium => (200, 1_000),
            Tier::Large => (500, 5_000),
            Tier::Enterprise => (1_000, 10_000),
        }
    }

    /// Pods per cluster (inclusive).
    pub fn pod_range(&self) -> (u64, u64) {
        match self {
            Tier::Small => (5_000, 20_000),
            Tier::Medium => (20_000, 100_000),
            Tier::Large => (50_000, 500_000),
            Tier::Enterprise => (100_000, 1_000_000),
        }
    }
}
