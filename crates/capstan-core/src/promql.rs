//! A small PromQL engine for the agent's self-scrape path (issue 5 item 3b): the Prometheus
//! text exposition parser, an in-memory series store with Prometheus' staleness handling,
//! and an instant-query evaluator that follows prometheus/prometheus `promql/engine.go` and
//! `promql/functions.go` (3.x semantics: left-open range and lookback windows).
//!
//! Parsing uses the `promql-parser` crate; [`Query::parse`] then compiles its syntax tree into
//! the subset evaluated here and refuses everything else with an error naming the construct,
//! so that a rule either evaluates with Prometheus' semantics or is rejected up front.
//!
//! Pure: no I/O and no clock; every time is passed in as Unix milliseconds.

mod eval;
mod exposition;
mod functions;
mod query;
mod store;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_eval;
#[cfg(test)]
mod tests_rules;

use crate::health::Labels;

pub use eval::evaluate;
pub use exposition::parse_exposition;
pub use query::Query;
pub use store::SeriesStore;

/// The label that holds a series' metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// One sample of a scrape: the metric name is the `__name__` label.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
    /// The sample's own timestamp from the exposition, if it had one.
    pub timestamp_ms: Option<i64>,
}

/// A malformed line in a text exposition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exposition line {line}: {reason}")]
pub struct ExpositionError {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// Errors from parsing or evaluating a PromQL expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromqlError {
    #[error("invalid PromQL expression {expr:?}: {reason}")]
    Parse { expr: String, reason: String },
    #[error("{construct} is not supported by Capstan's PromQL evaluator (in {expr:?})")]
    Unsupported { construct: String, expr: String },
    /// A runtime error with Prometheus' own wording (e.g. "vector cannot contain metrics
    /// with the same labelset").
    #[error("evaluating {expr:?}: {reason}")]
    Evaluation { expr: String, reason: String },
}
