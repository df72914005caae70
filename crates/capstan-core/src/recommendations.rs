//! [`Recommendations`]: one cluster's bounded bundle of savings advice, as the agent sends
//! it and the hub serves it (`capstan cost recommendations`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::rightsizing::{RightsizingRecommendation, Strategy};
use crate::savings::{KedaHint, QuotaSuggestion, SpotCandidate};

/// The kinds of advice, as `--kind` names them.
pub const KINDS: [&str; 4] = ["rightsizing", "spot", "quota", "keda"];

/// Everything one cluster's agent recommends, each list bounded and sorted by what it saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendations {
    pub generated_at: Timestamp,
    pub strategy: Strategy,
    pub rightsizing: Vec<RightsizingRecommendation>,
    pub spot: Vec<SpotCandidate>,
    pub quota: Vec<QuotaSuggestion>,
    pub keda: Vec<KedaHint>,
    pub counts: RecommendationCounts,
}

/// What the lists leave out, so that a bounded bundle still tells the whole picture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationCounts {
    /// Containers with a recommendation, and those still without enough data.
    pub containers_recommended: u64,
    pub containers_without_enough_data: u64,
    /// Σ monthly saving of every recommendation (positive ones), listed or not.
    pub rightsizing_monthly_saving_dollars: f64,
    /// Σ (negative) shortfall of under-provisioned containers.
    pub rightsizing_monthly_shortfall_dollars: f64,
    pub spot_ready: u64,
    pub spot_ready_monthly_saving_dollars: f64,
    pub keda_monthly_saving_dollars: f64,
    pub truncated_rightsizing: u64,
    pub truncated_spot: u64,
    pub truncated_quota: u64,
    pub truncated_keda: u64,
}
