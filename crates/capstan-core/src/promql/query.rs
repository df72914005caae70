//! Compiling `promql-parser`'s syntax tree into the subset the evaluator runs, refusing the
//! rest with an error that names the construct.

use std::collections::BTreeSet;
use std::time::Duration;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{
    self, AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, Offset, VectorMatchCardinality,
    VectorSelector, token,
};

use regex::Regex;

use super::{METRIC_NAME_LABEL, PromqlError};

/// Prometheus' default `--query.lookback-delta`.
pub(crate) const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// A parsed, supported PromQL expression.
#[derive(Debug, Clone)]
pub struct Query {
    pub(crate) source: String,
    pub(crate) root: Node,
}

/// A vector selector: the metric name (always known, for the name index) and all the
/// matchers (the name's own `__name__=` matcher included or not, either is fine).
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    pub(crate) name: String,
    pub(crate) matchers: Vec<LabelMatcher>,
    pub(crate) offset_ms: i64,
}

/// One label matcher; an absent label matches as the empty string.
#[derive(Debug, Clone)]
pub(crate) struct LabelMatcher {
    pub(crate) label: String,
    pub(crate) op: MatcherOp,
}

#[derive(Debug, Clone)]
pub(crate) enum MatcherOp {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

impl LabelMatcher {
    pub(crate) fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatcherOp::Equal(want) => value == want,
            MatcherOp::NotEqual(want) => value != want,
            MatcherOp::Regex(re) => re.is_match(value),
            MatcherOp::NotRegex(re) => !re.is_match(value),
        }
    }

    /// Prometheus anchors regexes and lets `.` match a newline (`^(?s:...)$`, model/labels
    /// regexp.go); the parser's own regex (no `s` flag, but Go's literal `{` tolerated) is
    /// the fallback.
    fn from_parsed(m: &Matcher) -> LabelMatcher {
        let regex = |parsed: &Regex| {
            Regex::new(&format!("^(?s:{})$", m.value)).unwrap_or_else(|_| parsed.clone())
        };
        let op = match &m.op {
            MatchOp::Equal => MatcherOp::Equal(m.value.clone()),
            MatchOp::NotEqual => MatcherOp::NotEqual(m.value.clone()),
            MatchOp::Re(parsed) => MatcherOp::Regex(regex(parsed)),
            MatchOp::NotRe(parsed) => MatcherOp::NotRegex(regex(parsed)),
        };
        LabelMatcher {
            label: m.name.clone(),
            op,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeFunc {
    Rate,
    Irate,
    Increase,
    Delta,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    LastOverTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VectorFunc {
    Abs,
    ClampMin,
    ClampMax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub(crate) fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le
        )
    }
}

/// `on (...)` (`on == true`) or `ignoring (...)` labels of a vector-vector operation, and
/// its cardinality.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matching {
    pub(crate) on: bool,
    pub(crate) labels: Vec<String>,
    pub(crate) card: Card,
}

/// The matching cardinality of an arithmetic or comparison between vectors (set operators
/// are many-to-many and ignore it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Card {
    #[default]
    OneToOne,
    /// `group_left (labels copied from the right, "one" side)`
    ManyToOne(Vec<String>),
    /// `group_right (labels copied from the left, "one" side)`
    OneToMany(Vec<String>),
}

/// `by (...)` (`without == false`) or `without (...)` labels of an aggregation.
#[derive(Debug, Clone)]
pub(crate) struct Grouping {
    pub(crate) without: bool,
    pub(crate) labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Number(f64),
    Time,
    /// `vector(scalar)`
    ToVector(Box<Node>),
    /// `scalar(vector)`
    ToScalar(Box<Node>),
    Selector(Selector),
    Range {
        func: RangeFunc,
        selector: Selector,
        range_ms: i64,
    },
    Vector {
        func: VectorFunc,
        arg: Box<Node>,
        scalar: Option<Box<Node>>,
    },
    HistogramQuantile {
        q: Box<Node>,
        buckets: Box<Node>,
    },
    Aggregate {
        op: AggOp,
        grouping: Grouping,
        arg: Box<Node>,
    },
    Neg(Box<Node>),
    Binary {
        op: BinOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        matching: Matching,
        return_bool: bool,
    },
}

impl Node {
    fn visit_selectors<'a>(&'a self, f: &mut impl FnMut(&'a Selector, i64)) {
        match self {
            Node::Number(_) | Node::Time => {}
            Node::Selector(selector) => f(selector, 0),
            Node::Range {
                selector, range_ms, ..
            } => f(selector, *range_ms),
            Node::ToVector(inner)
            | Node::ToScalar(inner)
            | Node::Neg(inner)
            | Node::Aggregate { arg: inner, .. } => inner.visit_selectors(f),
            Node::Vector { arg, scalar, .. } => {
                arg.visit_selectors(f);
                if let Some(scalar) = scalar {
                    scalar.visit_selectors(f);
                }
            }
            Node::HistogramQuantile { q, buckets } => {
                q.visit_selectors(f);
                buckets.visit_selectors(f);
            }
            Node::Binary { lhs, rhs, .. } => {
                lhs.visit_selectors(f);
                rhs.visit_selectors(f);
            }
        }
    }
}

impl Query {
    /// Parses `expr`, refusing (with an error naming the construct) what the evaluator does
    /// not support: subqueries, `@`, string literals, range vectors outside the range
    /// functions, selectors without a metric name, fill values in vector matching, and functions and
    /// aggregations outside the supported list.
    pub fn parse(expr: &str) -> Result<Query, PromqlError> {
        let ast = parser::parse(expr).map_err(|reason| PromqlError::Parse {
            expr: expr.to_string(),
            reason,
        })?;
        let compiler = Compiler { source: expr };
        let root = compiler.node(&ast)?;
        Ok(Query {
            source: expr.to_string(),
            root,
        })
    }

    /// The metric names the selectors read.
    pub fn metric_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        self.root.visit_selectors(&mut |selector, _| {
            names.insert(selector.name.clone());
        });
        names
    }

    /// How far back the query reads: the longest range plus offset, plus the 5m lookback
    /// delta (generous for range selectors, which do not use it), for retention.
    pub fn lookback(&self) -> Duration {
        let mut longest: i64 = 0;
        self.root.visit_selectors(&mut |selector, range_ms| {
            longest = longest.max(range_ms.saturating_add(selector.offset_ms.max(0)));
        });
        Duration::from_millis(u64::try_from(longest.saturating_add(LOOKBACK_MS)).unwrap_or(0))
    }

    /// The expression as given.
    pub fn source(&self) -> &str {
        &self.source
    }
}

struct Compiler<'a> {
    source: &'a str,
}

impl Compiler<'_> {
    fn unsupported(&self, construct: impl Into<String>) -> PromqlError {
        PromqlError::Unsupported {
            construct: construct.into(),
            expr: self.source.to_string(),
        }
    }

    fn node(&self, expr: &Expr) -> Result<Node, PromqlError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Node::Number(n.val)),
            Expr::Paren(p) => self.node(&p.expr),
            Expr::Unary(u) => Ok(Node::Neg(Box::new(self.node(&u.expr)?))),
            Expr::VectorSelector(vs) => Ok(Node::Selector(self.selector(vs)?)),
            Expr::MatrixSelector(ms) => Err(self.unsupported(format!(
                "the range vector {ms} outside a range function (rate, increase, *_over_time...)"
            ))),
            Expr::StringLiteral(s) => {
                Err(self.unsupported(format!("the string literal {:?}", s.val)))
            }
            Expr::Subquery(sq) => Err(self.unsupported(format!("the subquery {sq}"))),
            Expr::Extension(_) => Err(self.unsupported("an extension expression")),
            Expr::Call(call) => self.call(call),
            Expr::Aggregate(agg) => self.aggregate(agg),
            Expr::Binary(bin) => self.binary(bin),
        }
    }

    fn selector(&self, vs: &VectorSelector) -> Result<Selector, PromqlError> {
        if vs.at.is_some() {
            return Err(self.unsupported(format!("the @ modifier (in {vs})")));
        }
        if !vs.matchers.or_matchers.is_empty() {
            return Err(self.unsupported(format!("`or` inside a label matcher list (in {vs})")));
        }
        let offset_ms = match &vs.offset {
            None => 0,
            Some(Offset::Pos(d)) => duration_ms(*d),
            Some(Offset::Neg(d)) => -duration_ms(*d),
        };
        let name_matcher = vs.matchers.matchers.iter().find_map(|m| {
            (m.name == METRIC_NAME_LABEL && matches!(m.op, MatchOp::Equal)).then(|| m.value.clone())
        });
        let Some(name) = vs.name.clone().or(name_matcher) else {
            return Err(self.unsupported(format!(
                "the selector {vs} without a metric name (the agent stores only the metrics its rules name)"
            )));
        };
        Ok(Selector {
            name,
            matchers: vs
                .matchers
                .matchers
                .iter()
                .map(LabelMatcher::from_parsed)
                .collect(),
            offset_ms,
        })
    }

    fn call(&self, call: &Call) -> Result<Node, PromqlError> {
        let name = call.func.name;
        let args = &call.args.args;
        let range_func = match name {
            "rate" => Some(RangeFunc::Rate),
            "irate" => Some(RangeFunc::Irate),
            "increase" => Some(RangeFunc::Increase),
            "delta" => Some(RangeFunc::Delta),
            "avg_over_time" => Some(RangeFunc::AvgOverTime),
            "min_over_time" => Some(RangeFunc::MinOverTime),
            "max_over_time" => Some(RangeFunc::MaxOverTime),
            "sum_over_time" => Some(RangeFunc::SumOverTime),
            "count_over_time" => Some(RangeFunc::CountOverTime),
            "last_over_time" => Some(RangeFunc::LastOverTime),
            _ => None,
        };
        if let Some(func) = range_func {
            let [arg] = args.as_slice() else {
                return Err(self.unsupported(format!("{name} with {} arguments", args.len())));
            };
            let Expr::MatrixSelector(ms) = arg.as_ref() else {
                return Err(self.unsupported(format!(
                    "{name} over {arg} (only a range vector selector is supported, no subquery)"
                )));
            };
            return Ok(Node::Range {
                func,
                selector: self.selector(&ms.vs)?,
                range_ms: duration_ms(ms.range),
            });
        }
        let arg = |i: usize| -> Result<Box<Node>, PromqlError> {
            match args.get(i) {
                Some(arg) => Ok(Box::new(self.node(arg)?)),
                None => Err(self.unsupported(format!("{name} without argument {}", i + 1))),
            }
        };
        let vector_func = |func: VectorFunc, scalar: bool| -> Result<Node, PromqlError> {
            Ok(Node::Vector {
                func,
                arg: arg(0)?,
                scalar: if scalar { Some(arg(1)?) } else { None },
            })
        };
        match name {
            "time" => Ok(Node::Time),
            "vector" => Ok(Node::ToVector(arg(0)?)),
            "scalar" => Ok(Node::ToScalar(arg(0)?)),
            "abs" => vector_func(VectorFunc::Abs, false),
            "clamp_min" => vector_func(VectorFunc::ClampMin, true),
            "clamp_max" => vector_func(VectorFunc::ClampMax, true),
            "histogram_quantile" => Ok(Node::HistogramQuantile {
                q: arg(0)?,
                buckets: arg(1)?,
            }),
            other => Err(self.unsupported(format!("the function {other}()"))),
        }
    }

    fn aggregate(&self, agg: &AggregateExpr) -> Result<Node, PromqlError> {
        let op = match agg.op.id() {
            token::T_SUM => AggOp::Sum,
            token::T_AVG => AggOp::Avg,
            token::T_MIN => AggOp::Min,
            token::T_MAX => AggOp::Max,
            token::T_COUNT => AggOp::Count,
            token::T_GROUP => AggOp::Group,
            _ => return Err(self.unsupported(format!("the aggregation {}", agg.op))),
        };
        let grouping = match &agg.modifier {
            None => Grouping {
                without: false,
                labels: Vec::new(),
            },
            Some(LabelModifier::Include(l)) => Grouping {
                without: false,
                labels: l.labels.clone(),
            },
            Some(LabelModifier::Exclude(l)) => Grouping {
                without: true,
                labels: l.labels.clone(),
            },
        };
        Ok(Node::Aggregate {
            op,
            grouping,
            arg: Box::new(self.node(&agg.expr)?),
        })
    }

    fn binary(&self, bin: &BinaryExpr) -> Result<Node, PromqlError> {
        let op = match bin.op.id() {
            token::T_ADD => BinOp::Add,
            token::T_SUB => BinOp::Sub,
            token::T_MUL => BinOp::Mul,
            token::T_DIV => BinOp::Div,
            token::T_MOD => BinOp::Mod,
            token::T_POW => BinOp::Pow,
            token::T_EQLC => BinOp::Eq,
            token::T_NEQ => BinOp::Ne,
            token::T_GTR => BinOp::Gt,
            token::T_LSS => BinOp::Lt,
            token::T_GTE => BinOp::Ge,
            token::T_LTE => BinOp::Le,
            token::T_LAND => BinOp::And,
            token::T_LOR => BinOp::Or,
            token::T_LUNLESS => BinOp::Unless,
            _ => return Err(self.unsupported(format!("the operator {}", bin.op))),
        };
        let mut matching = Matching::default();
        let mut return_bool = false;
        if let Some(modifier) = &bin.modifier {
            return_bool = modifier.return_bool;
            matching.card = match &modifier.card {
                VectorMatchCardinality::ManyToOne(l) => Card::ManyToOne(l.labels.clone()),
                VectorMatchCardinality::OneToMany(l) => Card::OneToMany(l.labels.clone()),
                VectorMatchCardinality::OneToOne | VectorMatchCardinality::ManyToMany => {
                    Card::OneToOne
                }
            };
            if modifier.fill_values.lhs.is_some() || modifier.fill_values.rhs.is_some() {
                return Err(self.unsupported("fill values in vector matching"));
            }
            match &modifier.matching {
                None => {}
                Some(LabelModifier::Include(l)) => {
                    matching.on = true;
                    matching.labels = l.labels.clone();
                }
                Some(LabelModifier::Exclude(l)) => {
                    matching.on = false;
                    matching.labels = l.labels.clone();
                }
            }
        }
        Ok(Node::Binary {
            op,
            lhs: Box::new(self.node(&bin.lhs)?),
            rhs: Box::new(self.node(&bin.rhs)?),
            matching,
            return_bool,
        })
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
