//! The pure parts of a canary plan: the order clusters are upgraded in, how many are done
//! after each step, and how counts-or-percentages resolve against the frozen cluster set.

use crate::intstr::Round;
use crate::rng::{SimRng, fnv1a};
use crate::selector::Labels;
use crate::upgrade::IntOrPercent;

use super::CanaryStep;

/// Clusters with this label set to `true` go first, before `sortBy` and the hash order.
pub const CANARY_LABEL: &str = "upgrade.toolkit.io/canary";

/// The upgrade order of `clusters` (name and labels): those labelled
/// `upgrade.toolkit.io/canary=true` first; then by the `sort_by` label's value, numerically
/// when both values are integers (as KubeFleet's `sortingLabelKey`), with clusters lacking
/// the label after those that have it; then by a stable hash of the name ([`name_hash`]),
/// and the name itself as the last tie-break. The result does not depend on the input order.
pub fn order_clusters<N, L>(clusters: &[(N, L)], sort_by: Option<&str>) -> Vec<String>
where
    N: AsRef<str>,
    L: Labels,
{
    let mut keyed: Vec<_> = clusters
        .iter()
        .map(|(name, labels)| {
            let name = name.as_ref();
            let canary = labels.get_label(CANARY_LABEL) == Some("true");
            let sort_value = sort_by.and_then(|key| labels.get_label(key));
            (!canary, SortValue::of(sort_value), name_hash(name), name)
        })
        .collect();
    keyed.sort();
    keyed
        .into_iter()
        .map(|(.., name)| name.to_string())
        .collect()
}

/// The hash that orders clusters: FNV-1a finished by one SplitMix64 step, both owned by
/// this crate so the order never changes between builds. FNV-1a alone keeps names that
/// differ only in their last character (`prod-1`, `prod-2`) nearly in alphabetical order,
/// which would upgrade one region or ring first rather than a spread of the fleet.
pub fn name_hash(name: &str) -> u64 {
    SimRng::new(fnv1a(name.as_bytes())).next_u64()
}

/// A `sortBy` label value: integers before text, compared as numbers; absent last.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue<'a> {
    Int(i64),
    Text(&'a str),
    Absent,
}

impl<'a> SortValue<'a> {
    fn of(value: Option<&'a str>) -> Self {
        match value {
            None => Self::Absent,
            Some(v) => v.parse().map_or(Self::Text(v), Self::Int),
        }
    }
}

/// The cumulative number of clusters upgraded once each step is done, out of `n`:
/// ceil(percentage × n / 100), at least 1 (a step never upgrades nothing when there is
/// something to upgrade), at most `n`, and never below the previous step's total.
pub fn step_targets(steps: &[CanaryStep], n: usize) -> Vec<usize> {
    let mut previous = 0;
    steps
        .iter()
        .map(|step| {
            let percentage = step.percentage as usize;
            let target = (percentage * n).div_ceil(100).clamp(1.min(n), n);
            previous = target.max(previous);
            previous
        })
        .collect()
}

/// `value` out of `n`, rounded as `round` says, never above `n`.
pub fn resolve_count(value: IntOrPercent, n: usize, round: Round) -> usize {
    let total = u32::try_from(n).unwrap_or(u32::MAX);
    (value.scaled(total, round) as usize).min(n)
}

/// Clusters upgrading at once out of `n`: a percentage rounds down but is at least 1 (as
/// KubeFleet's and Azure Fleet's `maxConcurrency`); unset means no limit beyond the step.
pub fn max_concurrency(value: Option<IntOrPercent>, n: usize) -> usize {
    match value {
        None => n,
        Some(v) => resolve_count(v, n, Round::Down).max(1.min(n)),
    }
}

/// Failed clusters tolerated out of `n`; the rollout halts when failures exceed it. A
/// percentage rounds down, so `10%` of 5 clusters tolerates none: a budget errs towards
/// stopping (Azure Fleet's preview `maxAllowedFailures` rounds up instead). Unset means zero
/// tolerance, as KubeFleet and Azure Fleet default to.
pub fn failure_budget(value: Option<IntOrPercent>, n: usize) -> usize {
    value.map_or(0, |v| resolve_count(v, n, Round::Down))
}
