//! Cost (issue 6): prices, the agent's hourly allocation, the wire types the hub stores and
//! merges, report windows and the fleet breakdown. OpenCost's allocation model and default
//! prices, with every amount in integer [`Nanodollars`] so that the parts of a cost add up
//! to its total exactly, and printed cents add up too.
//!
//! Start at [`HourAccumulator`] (agent) and [`breakdown`] (hub / CLI).

pub mod allocation;
pub mod breakdown;
pub mod money;
mod price_file;
pub mod prices;
pub mod report;
pub mod window;

pub use allocation::{
    ClaimTick, ClusterCostContext, ContainerTick, HourAccumulator, NodeTick, PodTick, WorkloadKey,
};
pub use breakdown::{
    Breakdown, BreakdownRow, CostCategory, GroupBy, ShareLine, TypicalShares, breakdown, shares,
};
pub use money::{Nanodollars, apportion, cents_summing_to_total, cents_to_target, format_usd};
pub use price_file::{API_VERSION, KIND};
pub use prices::{
    DEFAULT_PRICE_SHEET_YAML, EgressKind, EgressPrices, HOURS_PER_MONTH, NodePriceKey, NodeRates,
    PriceError, PriceLayer, PriceMatch, PriceOverride, PriceSheet, Prices, RateSource,
};
pub use report::{
    CostHour, CostParts, CostPeriod, CostRow, IDLE, NodeCostSummary, OTHER, ReportLimits,
    UNMOUNTED, efficiency, merge,
};
pub use window::{
    CostWindow, HOURLY_RETENTION_HOURS, Resolution, ResolvedWindow, WindowError, parse_window,
    resolution, resolve,
};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_allocation;
#[cfg(test)]
mod tests_window;
