//! Instant-query evaluation after prometheus/prometheus `promql/engine.go` (3.x, without the
//! delayed name removal feature flag).

use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::functions::{Window, bucket_quantile, go_max, go_min, kahan_sum_inc, range_function};
use super::query::{
    AggOp, BinOp, Card, Grouping, LOOKBACK_MS, Matching, Node, Query, RangeFunc, Selector,
    VectorFunc,
};
use super::store::{SeriesStore, is_stale_marker};
use super::{METRIC_NAME_LABEL, PromqlError};
use crate::health::Labels;

/// One element of an instant vector; the labels are shared with the store until changed.
#[derive(Debug, Clone)]
pub(crate) struct Elem {
    pub(crate) labels: Arc<Labels>,
    pub(crate) value: f64,
}

pub(crate) enum Value {
    Scalar(f64),
    Vector(Vec<Elem>),
}

/// Evaluates `query` as an instant query at `at_ms`. A scalar result comes back as one
/// series with empty labels; vector results are sorted by labels.
pub fn evaluate(
    query: &Query,
    store: &SeriesStore,
    at_ms: i64,
) -> Result<Vec<(Labels, f64)>, PromqlError> {
    let ctx = Ctx {
        store,
        at_ms,
        source: &query.source,
    };
    let mut result: Vec<(Labels, f64)> = match ctx.eval(&query.root)? {
        Value::Scalar(value) => vec![(Labels::new(), value)],
        Value::Vector(elems) => elems
            .into_iter()
            .map(|e| (Arc::unwrap_or_clone(e.labels), e.value))
            .collect(),
    };
    result.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(result)
}

struct Ctx<'a> {
    store: &'a SeriesStore,
    at_ms: i64,
    source: &'a str,
}

/// A match signature: the label pairs two elements must share, borrowed from the element.
type Signature<'a> = Vec<(&'a str, &'a str)>;

fn drop_name(labels: &mut Arc<Labels>) {
    if labels.contains_key(METRIC_NAME_LABEL) {
        Arc::make_mut(labels).remove(METRIC_NAME_LABEL);
    }
}

fn format_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

impl Ctx<'_> {
    fn error(&self, reason: impl Into<String>) -> PromqlError {
        PromqlError::Evaluation {
            expr: self.source.to_string(),
            reason: reason.into(),
        }
    }

    fn eval(&self, node: &Node) -> Result<Value, PromqlError> {
        let value = match node {
            Node::Number(n) => Value::Scalar(*n),
            Node::Time => Value::Scalar(self.at_ms as f64 / 1000.0),
            Node::ToVector(inner) => Value::Vector(vec![Elem {
                labels: Arc::new(Labels::new()),
                value: self.scalar(inner)?,
            }]),
            Node::ToScalar(inner) => {
                let elems = self.vector(inner)?;
                Value::Scalar(match elems.as_slice() {
                    [only] => only.value,
                    _ => f64::NAN,
                })
            }
            Node::Selector(selector) => Value::Vector(self.select(selector)),
            Node::Range {
                func,
                selector,
                range_ms,
            } => Value::Vector(self.unique(self.range(*func, selector, *range_ms))?),
            Node::Vector { func, arg, scalar } => {
                let bound = match scalar {
                    Some(s) => self.scalar(s)?,
                    None => 0.0,
                };
                let mut elems = self.vector(arg)?;
                for e in &mut elems {
                    e.value = match func {
                        VectorFunc::Abs => e.value.abs(),
                        VectorFunc::ClampMin => go_max(bound, e.value),
                        VectorFunc::ClampMax => go_min(bound, e.value),
                    };
                    drop_name(&mut e.labels);
                }
                Value::Vector(self.unique(elems)?)
            }
            Node::HistogramQuantile { q, buckets } => {
                let q = self.scalar(q)?;
                Value::Vector(self.unique(histogram_quantile(q, self.vector(buckets)?))?)
            }
            Node::Aggregate { op, grouping, arg } => {
                Value::Vector(aggregate(*op, grouping, &self.vector(arg)?))
            }
            Node::Neg(inner) => match self.eval(inner)? {
                Value::Scalar(s) => Value::Scalar(-s),
                Value::Vector(mut elems) => {
                    for e in &mut elems {
                        e.value = -e.value;
                        drop_name(&mut e.labels);
                    }
                    Value::Vector(self.unique(elems)?)
                }
            },
            Node::Binary {
                op,
                lhs,
                rhs,
                matching,
                return_bool,
            } => self.binary(*op, lhs, rhs, matching, *return_bool)?,
        };
        Ok(value)
    }

    fn scalar(&self, node: &Node) -> Result<f64, PromqlError> {
        match self.eval(node)? {
            Value::Scalar(s) => Ok(s),
            Value::Vector(_) => Err(self.error("expected a scalar, got an instant vector")),
        }
    }

    fn vector(&self, node: &Node) -> Result<Vec<Elem>, PromqlError> {
        match self.eval(node)? {
            Value::Vector(v) => Ok(v),
            Value::Scalar(_) => Err(self.error("expected an instant vector, got a scalar")),
        }
    }

    /// Prometheus' check after each step: "vector cannot contain metrics with the same
    /// labelset" (typically two series that differed only by their dropped metric name).
    fn unique(&self, elems: Vec<Elem>) -> Result<Vec<Elem>, PromqlError> {
        let mut seen: HashSet<&Labels> =
            HashSet::with_capacity_and_hasher(elems.len(), Default::default());
        for e in &elems {
            if !seen.insert(&e.labels) {
                return Err(self.error(format!(
                    "vector cannot contain metrics with the same labelset {}",
                    format_labels(&e.labels)
                )));
            }
        }
        Ok(elems)
    }

    /// The series a selector matches, each with its latest sample in the 5m lookback window
    /// `(t - 5m, t]` (t = evaluation time - offset) unless that sample is a staleness marker.
    fn select(&self, selector: &Selector) -> Vec<Elem> {
        let t = self.at_ms - selector.offset_ms;
        let mut out = Vec::new();
        for series in self.store.series_named(Some(&selector.name)) {
            if !matches(selector, &series.labels) {
                continue;
            }
            let end = series.samples.partition_point(|(ts, _)| *ts <= t);
            let Some(&(ts, value)) = end.checked_sub(1).and_then(|i| series.samples.get(i)) else {
                continue;
            };
            if ts > t - LOOKBACK_MS && !is_stale_marker(value) {
                out.push(Elem {
                    labels: series.labels.clone(),
                    value,
                });
            }
        }
        out
    }

    /// A range function over each matching series' samples in `(t - range, t]`.
    fn range(&self, func: RangeFunc, selector: &Selector, range_ms: i64) -> Vec<Elem> {
        let end_ms = self.at_ms - selector.offset_ms;
        let start_ms = end_ms - range_ms;
        let mut points: Vec<(i64, f64)> = Vec::new();
        let mut out = Vec::new();
        for series in self.store.series_named(Some(&selector.name)) {
            if !matches(selector, &series.labels) {
                continue;
            }
            let from = series.samples.partition_point(|(ts, _)| *ts <= start_ms);
            let to = series.samples.partition_point(|(ts, _)| *ts <= end_ms);
            points.clear();
            points.extend(
                series
                    .samples
                    .range(from..to.max(from))
                    .filter(|(_, v)| !is_stale_marker(*v)),
            );
            let window = Window {
                start_ms,
                end_ms,
                range_ms,
                points: &points,
            };
            if let Some(value) = range_function(func, &window) {
                let mut labels = series.labels.clone();
                if func != RangeFunc::LastOverTime {
                    drop_name(&mut labels);
                }
                out.push(Elem { labels, value });
            }
        }
        out
    }

    fn binary(
        &self,
        op: BinOp,
        lhs: &Node,
        rhs: &Node,
        matching: &Matching,
        return_bool: bool,
    ) -> Result<Value, PromqlError> {
        let value = match (self.eval(lhs)?, self.eval(rhs)?) {
            (Value::Scalar(l), Value::Scalar(r)) => {
                let (value, keep) = scalar_op(op, l, r);
                Value::Scalar(if op.is_comparison() {
                    bool_value(keep)
                } else {
                    value
                })
            }
            (Value::Vector(v), Value::Scalar(s)) => {
                Value::Vector(self.unique(vector_scalar(op, v, s, false, return_bool))?)
            }
            (Value::Scalar(s), Value::Vector(v)) => {
                Value::Vector(self.unique(vector_scalar(op, v, s, true, return_bool))?)
            }
            (Value::Vector(l), Value::Vector(r)) => Value::Vector(match op {
                BinOp::And | BinOp::Or | BinOp::Unless => set_op(op, l, &r, matching),
                _ => self.unique(self.vector_binop(op, &l, &r, matching, return_bool)?)?,
            }),
        };
        Ok(value)
    }

    /// `VectorBinop`: the "one" side (the right, or the left for `group_right`) must have
    /// unique match signatures; each element of the other side meets at most one partner.
    fn vector_binop(
        &self,
        op: BinOp,
        lhs: &[Elem],
        rhs: &[Elem],
        matching: &Matching,
        return_bool: bool,
    ) -> Result<Vec<Elem>, PromqlError> {
        let (many, one, one_side, include) = match &matching.card {
            Card::OneToOne => (lhs, rhs, "right", None),
            Card::ManyToOne(include) => (lhs, rhs, "right", Some(include)),
            Card::OneToMany(include) => (rhs, lhs, "left", Some(include)),
        };
        let swapped = matches!(matching.card, Card::OneToMany(_));
        let mut ones: HashMap<Signature<'_>, &Elem> =
            HashMap::with_capacity_and_hasher(one.len(), Default::default());
        for r in one {
            let sig = signature(&r.labels, matching);
            if let Some(dupl) = ones.get(&sig) {
                return Err(self.error(format!(
                    "found duplicate series for the match group {} on the {one_side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    format_signature(&sig),
                    format_labels(&r.labels),
                    format_labels(&dupl.labels)
                )));
            }
            ones.insert(sig, r);
        }
        // One-to-one: the signatures matched; many-to-one: per signature, the result label
        // sets, which the group_x labels must keep unique.
        let mut matched: HashMap<Signature<'_>, HashSet<Arc<Labels>>> = HashMap::default();
        let mut out = Vec::new();
        for l in many {
            let sig = signature(&l.labels, matching);
            let Some(r) = ones.get(&sig) else {
                continue;
            };
            let (lv, rv) = if swapped {
                (r.value, l.value)
            } else {
                (l.value, r.value)
            };
            let (mut value, keep) = scalar_op(op, lv, rv);
            if return_bool {
                value = bool_value(keep);
            } else if !keep {
                continue;
            }
            let labels = result_labels(&l.labels, &r.labels, op, matching, include, return_bool);
            match include {
                None => {
                    if matched.insert(sig, HashSet::default()).is_some() {
                        return Err(self.error(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                        ));
                    }
                }
                Some(_) => {
                    if !matched.entry(sig).or_default().insert(labels.clone()) {
                        return Err(self.error(
                            "multiple matches for labels: grouping labels must ensure unique matches",
                        ));
                    }
                }
            }
            out.push(Elem { labels, value });
        }
        Ok(out)
    }
}

/// `resultMetric`: the "many" side's labels, without the name for arithmetic and `bool`;
/// for one-to-one only the `on` labels or without the `ignoring` ones; for group_x the
/// listed labels copied from the "one" side (removed where it lacks them).
fn result_labels(
    many: &Arc<Labels>,
    one: &Labels,
    op: BinOp,
    matching: &Matching,
    include: Option<&Vec<String>>,
    return_bool: bool,
) -> Arc<Labels> {
    let mut labels = many.clone();
    if !op.is_comparison() || return_bool {
        drop_name(&mut labels);
    }
    match include {
        None if matching.on => {
            if labels.keys().any(|k| !matching.labels.contains(k)) {
                Arc::make_mut(&mut labels).retain(|k, _| matching.labels.contains(k));
            }
        }
        None => {
            if matching.labels.iter().any(|k| labels.contains_key(k)) {
                let labels = Arc::make_mut(&mut labels);
                for k in &matching.labels {
                    labels.remove(k);
                }
            }
        }
        Some(include) => {
            for k in include {
                match one.get(k) {
                    Some(v) if labels.get(k) != Some(v) => {
                        Arc::make_mut(&mut labels).insert(k.clone(), v.clone());
                    }
                    None if labels.contains_key(k) => {
                        Arc::make_mut(&mut labels).remove(k);
                    }
                    _ => {}
                }
            }
        }
    }
    labels
}

fn matches(selector: &Selector, labels: &Labels) -> bool {
    selector
        .matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.label).map_or("", String::as_str)))
}

fn bool_value(keep: bool) -> f64 {
    if keep { 1.0 } else { 0.0 }
}

/// `vectorElemBinop`/`scalarBinop` for floats: the arithmetic result, or for comparisons the
/// left value and whether the comparison holds.
fn scalar_op(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        // Go's math.Mod and Rust's `%` are both the C fmod (sign of the dividend).
        BinOp::Mod => (l % r, true),
        BinOp::Pow => (l.powf(r), true),
        BinOp::Eq => (l, l == r),
        BinOp::Ne => (l, l != r),
        BinOp::Gt => (l, l > r),
        BinOp::Lt => (l, l < r),
        BinOp::Ge => (l, l >= r),
        BinOp::Le => (l, l <= r),
        BinOp::And | BinOp::Or | BinOp::Unless => (f64::NAN, false),
    }
}

/// `VectorscalarBinop`: a comparison keeps the vector's value (and its metric name unless
/// `bool`); arithmetic drops the name.
fn vector_scalar(
    op: BinOp,
    mut elems: Vec<Elem>,
    scalar: f64,
    scalar_on_left: bool,
    return_bool: bool,
) -> Vec<Elem> {
    elems.retain_mut(|e| {
        let (l, r) = if scalar_on_left {
            (scalar, e.value)
        } else {
            (e.value, scalar)
        };
        let (mut value, mut keep) = scalar_op(op, l, r);
        if op.is_comparison() && scalar_on_left {
            value = r;
        }
        if return_bool {
            value = bool_value(keep);
            keep = true;
        }
        if keep {
            e.value = value;
            if !op.is_comparison() || return_bool {
                drop_name(&mut e.labels);
            }
        }
        keep
    });
    elems
}

/// The labels two elements must share: `on (...)` the listed ones, else all but the
/// `ignoring (...)` ones and the metric name.
fn signature<'a>(labels: &'a Labels, matching: &Matching) -> Signature<'a> {
    labels
        .iter()
        .filter(|(k, _)| {
            if matching.on {
                matching.labels.contains(k)
            } else {
                k.as_str() != METRIC_NAME_LABEL && !matching.labels.contains(k)
            }
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn format_signature(sig: &Signature<'_>) -> String {
    let pairs: Vec<String> = sig.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// `and`, `or`, `unless`: many-to-many, labels untouched.
fn set_op(op: BinOp, lhs: Vec<Elem>, rhs: &[Elem], matching: &Matching) -> Vec<Elem> {
    match op {
        BinOp::Or => {
            let left: HashSet<Signature<'_>> =
                lhs.iter().map(|e| signature(&e.labels, matching)).collect();
            let extra: Vec<Elem> = rhs
                .iter()
                .filter(|e| !left.contains(&signature(&e.labels, matching)))
                .cloned()
                .collect();
            drop(left);
            let mut out = lhs;
            out.extend(extra);
            out
        }
        _ => {
            let right: HashSet<Signature<'_>> =
                rhs.iter().map(|e| signature(&e.labels, matching)).collect();
            let keep_matched = op == BinOp::And;
            lhs.into_iter()
                .filter(|e| right.contains(&signature(&e.labels, matching)) == keep_matched)
                .collect()
        }
    }
}

/// Per-group state of an aggregation.
struct Group {
    labels: Labels,
    value: f64,
    kahan_c: f64,
    count: f64,
    mean: f64,
    incremental_mean: bool,
}

/// `sum`, `avg`, `min`, `max`, `count`, `group` with `by`/`without` (which also drops the
/// metric name); no grouping gives one series with empty labels.
fn aggregate(op: AggOp, grouping: &Grouping, elems: &[Elem]) -> Vec<Elem> {
    let mut index: HashMap<Signature<'_>, usize> = HashMap::default();
    let mut groups: Vec<Group> = Vec::new();
    for e in elems {
        let key: Signature<'_> = e
            .labels
            .iter()
            .filter(|(k, _)| {
                if grouping.without {
                    k.as_str() != METRIC_NAME_LABEL && !grouping.labels.contains(k)
                } else {
                    grouping.labels.contains(k)
                }
            })
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let v = e.value;
        let Some(&i) = index.get(&key) else {
            index.insert(key.clone(), groups.len());
            groups.push(Group {
                labels: key
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                value: match op {
                    AggOp::Count | AggOp::Group => 1.0,
                    _ => v,
                },
                kahan_c: 0.0,
                count: 1.0,
                mean: 0.0,
                incremental_mean: false,
            });
            continue;
        };
        let g = &mut groups[i];
        g.count += 1.0;
        match op {
            AggOp::Sum => (g.value, g.kahan_c) = kahan_sum_inc(v, g.value, g.kahan_c),
            AggOp::Avg => average_step(g, v),
            AggOp::Min => {
                if g.value > v || g.value.is_nan() {
                    g.value = v;
                }
            }
            AggOp::Max => {
                if g.value < v || g.value.is_nan() {
                    g.value = v;
                }
            }
            AggOp::Count => g.value += 1.0,
            AggOp::Group => {}
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let value = match op {
                AggOp::Sum => g.value + g.kahan_c,
                AggOp::Avg if g.incremental_mean => g.mean + g.kahan_c,
                AggOp::Avg => (g.value + g.kahan_c) / g.count,
                _ => g.value,
            };
            Elem {
                labels: Arc::new(g.labels),
                value,
            }
        })
        .collect()
}

/// One `avg` step (engine.go `aggregation`): a compensated sum while it stays finite, then
/// an incremental mean.
fn average_step(g: &mut Group, v: f64) {
    if !g.incremental_mean {
        let (sum, c) = kahan_sum_inc(v, g.value, g.kahan_c);
        if !sum.is_infinite() {
            g.value = sum;
            g.kahan_c = c;
            return;
        }
        g.incremental_mean = true;
        g.mean = g.value / (g.count - 1.0);
        g.kahan_c /= g.count - 1.0;
    }
    if g.mean.is_infinite() {
        if v.is_infinite() && (g.mean > 0.0) == (v > 0.0) {
            return;
        }
        if !v.is_infinite() && !v.is_nan() {
            return;
        }
    }
    let current = g.mean + g.kahan_c;
    (g.mean, g.kahan_c) = kahan_sum_inc(v / g.count - current / g.count, g.mean, g.kahan_c);
}

/// `histogram_quantile` over classic buckets: series grouped by their labels without `le`
/// and the metric name; series without a parsable `le` are ignored.
fn histogram_quantile(q: f64, elems: Vec<Elem>) -> Vec<Elem> {
    let mut index: HashMap<Signature<'_>, usize> = HashMap::default();
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    for e in &elems {
        let Some(upper) = e.labels.get("le").and_then(|le| le.parse::<f64>().ok()) else {
            continue;
        };
        let key: Signature<'_> = e
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "le" && k.as_str() != METRIC_NAME_LABEL)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let i = *index.entry(key).or_insert_with_key(|key| {
            let labels = key
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            groups.push((labels, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push((upper, e.value));
    }
    groups
        .into_iter()
        .map(|(labels, mut buckets)| Elem {
            labels: Arc::new(labels),
            value: bucket_quantile(q, &mut buckets),
        })
        .collect()
}
