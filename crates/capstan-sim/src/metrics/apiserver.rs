//! kube-apiserver's request metrics (`GET /metrics`): `apiserver_request_total` and the
//! `apiserver_request_sli_duration_seconds` histogram, with upstream's label sets and buckets
//! (k8s.io/apiserver/pkg/endpoints/metrics/metrics.go).
//!
//! They count the real requests the twin serves for the cluster, plus a steady background
//! load proportional to the cluster's size (kubelets reading their Node, renewing leases,
//! patching status; controllers listing pods; events), about half a request per node per
//! second, so that rates are meaningful on an idle cluster. The `faults/api` fault shows on
//! the background load: `errorRate` of it is counted with code 500, and `latencyMs` shifts
//! its latency distribution.

use std::collections::BTreeMap;

use axum::http::Method;

use super::expo::{Expo, Kind};
use super::{Histogram, Latency, MetricsState};
use crate::cluster::{ClusterData, keys};

/// Upstream's buckets of `apiserver_request_sli_duration_seconds`.
pub const SLI_BUCKETS: [f64; 21] = [
    0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0,
    30.0, 45.0, 60.0,
];

/// Simulated seconds of history a fresh API server shows (so the first scrape is not empty).
const WARMUP_SECS: f64 = 3600.0;

/// What upstream's RequestInfo says about a resource request, as the metrics label it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestInfo {
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub scope: &'static str,
}

/// The labels of a resource request (`/api/v1/...` or `/apis/{group}/{version}/...`), as
/// upstream's request-info resolver and `CleanVerb`/`CleanScope` set them; `None` for
/// non-resource paths (discovery, health, `/metrics`).
pub fn request_info(
    method: &Method,
    parts: &[&str],
    query: &std::collections::HashMap<String, String>,
) -> Option<RequestInfo> {
    let (group, version, rest) = match parts {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return None,
    };
    let mut rest: &[&str] = rest;
    let mut namespace = "";
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        namespace = rest[1];
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    let resource = rest.first().copied().unwrap_or("");
    let name = rest.get(1).copied().unwrap_or("");
    let subresource = rest.get(2).copied().unwrap_or("");
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = if matches!(subresource, "proxy" | "exec" | "attach" | "portforward") {
        "CONNECT"
    } else {
        match (method.as_str(), name.is_empty()) {
            ("GET", _) if watch => "WATCH",
            ("GET", true) => "LIST",
            ("GET", false) => "GET",
            ("DELETE", true) => "DELETECOLLECTION",
            (m, _) => m,
        }
    };
    let scope = if !name.is_empty() || verb == "POST" {
        "resource"
    } else if !namespace.is_empty() {
        "namespace"
    } else {
        "cluster"
    };
    Some(RequestInfo {
        verb: verb.to_string(),
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        subresource: subresource.to_string(),
        scope,
    })
}

/// The background load's parameters at the last update.
#[derive(Debug, Clone, Copy)]
struct Background {
    requests_per_sec: f64,
    error_rate: f64,
    added_latency: f64,
}

/// One kind of background request: labels, share of the load, median latency.
struct Mix {
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    subresource: &'static str,
    scope: &'static str,
    share: f64,
    median: f64,
}

const MIX: [Mix; 6] = [
    Mix {
        verb: "GET",
        group: "",
        resource: "nodes",
        subresource: "",
        scope: "resource",
        share: 0.30,
        median: 0.004,
    },
    Mix {
        verb: "PATCH",
        group: "",
        resource: "nodes",
        subresource: "status",
        scope: "resource",
        share: 0.10,
        median: 0.008,
    },
    Mix {
        verb: "PUT",
        group: "coordination.k8s.io",
        resource: "leases",
        subresource: "",
        scope: "resource",
        share: 0.35,
        median: 0.006,
    },
    Mix {
        verb: "LIST",
        group: "",
        resource: "pods",
        subresource: "",
        scope: "cluster",
        share: 0.05,
        median: 0.045,
    },
    Mix {
        verb: "GET",
        group: "",
        resource: "pods",
        subresource: "",
        scope: "resource",
        share: 0.12,
        median: 0.004,
    },
    Mix {
        verb: "POST",
        group: "",
        resource: "events",
        subresource: "",
        scope: "resource",
        share: 0.08,
        median: 0.007,
    },
];

/// Counters of the API server.
#[derive(Debug, Default)]
pub struct ApiState {
    last: Option<f64>,
    background: Option<Background>,
    /// (verb, group, version, resource, subresource, scope, code) -> requests.
    requests: BTreeMap<(RequestInfo, String), f64>,
    latency: BTreeMap<RequestInfo, Histogram>,
}

impl ApiState {
    /// Count one real request.
    pub fn record(&mut self, info: RequestInfo, code: u16, seconds: f64) {
        self.latency
            .entry(info.clone())
            .or_default()
            .observe(&SLI_BUCKETS, seconds);
        *self.requests.entry((info, code.to_string())).or_default() += 1.0;
    }
}

/// Advance the background load to now at its last parameters, then take the cluster's.
pub fn advance(m: &mut MetricsState, data: &ClusterData) {
    let now = m.real_secs();
    let api = &mut m.api;
    let dt = match api.last {
        Some(last) => (now - last).max(0.0),
        None => WARMUP_SECS,
    };
    let current = Background {
        requests_per_sec: (data.store.range(&keys::NODES, "").count() as f64 * 0.5).max(2.0),
        error_rate: data.faults.api.error_rate,
        added_latency: data.faults.api.latency.as_secs_f64(),
    };
    // The first update has no earlier parameters: warm up at the current ones.
    let bg = api.background.unwrap_or(current);
    for mix in &MIX {
        let n = bg.requests_per_sec * mix.share * dt;
        let info = RequestInfo {
            verb: mix.verb.to_string(),
            group: mix.group.to_string(),
            version: "v1".to_string(),
            resource: mix.resource.to_string(),
            subresource: mix.subresource.to_string(),
            scope: mix.scope,
        };
        let ok = if mix.verb == "POST" { "201" } else { "200" };
        *api.requests
            .entry((info.clone(), ok.to_string()))
            .or_default() += n * (1.0 - bg.error_rate);
        if bg.error_rate > 0.0 {
            *api.requests
                .entry((info.clone(), "500".to_string()))
                .or_default() += n * bg.error_rate;
        }
        let latency = Latency {
            median: mix.median,
            sigma: 0.6,
            shift: bg.added_latency,
        };
        api.latency
            .entry(info)
            .or_default()
            .observe_many(&SLI_BUCKETS, n, &latency);
    }
    api.last = Some(now);
    api.background = Some(current);
}

/// The `/metrics` body.
pub fn scrape(m: &mut MetricsState, data: &ClusterData) -> String {
    advance(m, data);
    let api = &m.api;
    let mut out = Expo::with_capacity(64 * 1024);
    out.family(
        "apiserver_request_total",
        "[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
        Kind::Counter,
    );
    for ((info, code), n) in &api.requests {
        out.sample(
            "apiserver_request_total",
            &[
                ("code", code),
                ("component", "apiserver"),
                ("group", &info.group),
                ("resource", &info.resource),
                ("scope", info.scope),
                ("subresource", &info.subresource),
                ("verb", &info.verb),
                ("version", &info.version),
            ],
            n.floor(),
        );
    }
    out.family(
        "apiserver_request_sli_duration_seconds",
        "[BETA] Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in seconds for each verb, group, version, resource, subresource, scope and component.",
        Kind::Histogram,
    );
    for (info, h) in &api.latency {
        h.write(
            &mut out,
            "apiserver_request_sli_duration_seconds",
            &[
                ("component", "apiserver"),
                ("group", &info.group),
                ("resource", &info.resource),
                ("scope", info.scope),
                ("subresource", &info.subresource),
                ("verb", &info.verb),
                ("version", &info.version),
            ],
            &SLI_BUCKETS,
        );
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: Method, path: &str, query: &[(&str, &str)]) -> Option<RequestInfo> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let q = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        request_info(&method, &parts, &q)
    }

    #[test]
    fn verbs_and_scopes_follow_upstream() {
        let i = info(Method::GET, "/api/v1/pods", &[]).unwrap();
        assert_eq!((i.verb.as_str(), i.scope), ("LIST", "cluster"));
        let i = info(
            Method::GET,
            "/api/v1/namespaces/a/pods",
            &[("watch", "true")],
        )
        .unwrap();
        assert_eq!((i.verb.as_str(), i.scope), ("WATCH", "namespace"));
        let i = info(Method::PATCH, "/api/v1/nodes/n1/status", &[]).unwrap();
        assert_eq!(
            (
                i.verb.as_str(),
                i.resource.as_str(),
                i.subresource.as_str(),
                i.scope
            ),
            ("PATCH", "nodes", "status", "resource")
        );
        let i = info(Method::POST, "/apis/apps/v1/namespaces/a/deployments", &[]).unwrap();
        assert_eq!(
            (i.verb.as_str(), i.group.as_str(), i.scope),
            ("POST", "apps", "resource")
        );
        let i = info(Method::GET, "/api/v1/namespaces/a", &[]).unwrap();
        assert_eq!(
            (i.verb.as_str(), i.resource.as_str()),
            ("GET", "namespaces")
        );
        let i = info(Method::GET, "/api/v1/nodes/n1:9100/proxy/metrics", &[]).unwrap();
        assert_eq!(
            (i.verb.as_str(), i.subresource.as_str()),
            ("CONNECT", "proxy")
        );
        assert!(info(Method::GET, "/api", &[]).is_none());
    }
}
