//! Savings beyond right-sizing: workloads that could move to spot capacity (Kubecost's spot
//! checklist), namespace ResourceQuota suggestions, and KEDA scale-to-zero hints for
//! workloads idle for long stretches. Money is f64 US dollars; monthly figures are
//! estimates over OpenCost's 730-hour month.

mod keda;
mod quota;
mod spot;

pub use keda::{IdleTracker, KedaConfig, KedaHint, KedaWorkload};
pub use quota::{
    DEFAULT_HEADROOM, ExistingQuota, QuotaInput, QuotaSuggestion, QuotaVerdict, suggest_quota,
    suggest_quotas,
};
pub use spot::{
    Check, SPOT_READY_ANNOTATION, SpotCandidate, WorkloadFacts, spot_candidate, spot_candidates,
};

pub use crate::rightsizing::HOURS_PER_MONTH;

#[cfg(test)]
mod tests;
