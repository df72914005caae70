//! Evaluation with the cluster's Prometheus: each rule's `expr` as an instant query over
//! Prometheus' HTTP API (`GET /api/v1/query`), at the server's own time.
//!
//! A Prometheus (or Thanos querier) that holds several clusters labels their series with
//! `cluster`; only this cluster's series are kept (series without the label are kept too:
//! a per-cluster Prometheus has none).

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_core::health::{HealthRule, Labels, RuleValues};
use serde::Deserialize;

/// How long one query may take before the rule counts as not evaluated this round.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

/// A Prometheus query API endpoint.
#[derive(Debug, Clone)]
pub struct PrometheusSource {
    base_url: String,
    cluster: String,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct QueryResponse {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<VectorSample>),
    Scalar((f64, String)),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
struct VectorSample {
    metric: Labels,
    value: (f64, String),
}

impl PrometheusSource {
    /// `base_url` is the server's root (`http://prometheus:9090`); `cluster` the value of
    /// the `cluster` label this agent's series carry.
    pub fn new(base_url: &str, cluster: impl Into<String>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(QUERY_TIMEOUT)
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            cluster: cluster.into(),
            http,
        })
    }

    /// Every rule's value vector, one query per rule (concurrently).
    pub async fn evaluate(&self, rules: &[HealthRule]) -> BTreeMap<String, RuleValues> {
        let queries = rules
            .iter()
            .map(|rule| async move { (rule.name.clone(), self.query(&rule.expr).await) });
        futures::future::join_all(queries)
            .await
            .into_iter()
            .collect()
    }

    /// One instant query's vector, this cluster's series only.
    pub async fn query(&self, expr: &str) -> RuleValues {
        let url = format!("{}/api/v1/query", self.base_url);
        let response = self
            .http
            .get(&url)
            .query(&[("query", expr)])
            .send()
            .await
            .map_err(|e| format!("querying {url}: {e}"))?;
        let status = response.status();
        let body: QueryResponse = response
            .json()
            .await
            .map_err(|e| format!("reading {url}'s answer ({status}): {e}"))?;
        if body.status != "success" {
            return Err(format!(
                "prometheus answered {status}: {}: {}",
                body.error_type.unwrap_or_default(),
                body.error.unwrap_or_default()
            ));
        }
        let parse = |v: &str| {
            parse_value(v)
                .ok_or_else(|| format!("prometheus sent a value that is no number: {v:?}"))
        };
        match body.data {
            Some(QueryData::Vector(samples)) => samples
                .into_iter()
                .filter(|s| s.metric.get("cluster").is_none_or(|c| *c == self.cluster))
                .map(|mut s| {
                    s.metric.remove("__name__");
                    Ok((s.metric, parse(&s.value.1)?))
                })
                .collect(),
            Some(QueryData::Scalar((_, v))) => Ok(vec![(Labels::new(), parse(&v)?)]),
            Some(QueryData::Matrix(_) | QueryData::String(_)) | None => {
                Err("prometheus did not answer with an instant vector".to_string())
            }
        }
    }
}

/// Prometheus' JSON number strings: Go's float formatting plus `NaN`, `+Inf`, `-Inf`.
fn parse_value(v: &str) -> Option<f64> {
    match v {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_parse_like_prometheus_writes_them() {
        assert_eq!(parse_value("0.25"), Some(0.25));
        assert_eq!(parse_value("1e-05"), Some(1e-5));
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("x"), None);
    }

    #[test]
    fn a_vector_answer_decodes() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","cluster":"a","instance":"n1"},"value":[1700000000.5,"1"]}]}}"#;
        let parsed: QueryResponse = serde_json::from_str(body).unwrap();
        let Some(QueryData::Vector(v)) = parsed.data else {
            panic!("not a vector")
        };
        assert_eq!(v[0].metric["instance"], "n1");
        assert_eq!(v[0].value.1, "1");
    }
}
