#![allow(clippy::unwrap_used)]
//! `GET /metrics` (checked line by line against the Prometheus text format) and the OpenAPI
//! document (every documented operation is routed, every route is documented), in process
//! over an in-memory store, as tests/api.rs does.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{StatusCode, header};
use common::Hub;
use serde_json::{Value, json};

/// Every route of `api::router`, as (method, path template). Keep in step with src/api.rs: the
/// tests check that this list is what `router()`'s source declares, that the OpenAPI document
/// lists exactly these, and that the router answers each.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/agents/register"),
    ("post", "/api/v1/agents/{cluster}/report"),
    ("get", "/api/v1/agents/{cluster}/work"),
    ("post", "/api/v1/agents/{cluster}/work/{id}/status"),
    ("post", "/api/v1/agents/{cluster}/cost"),
    ("post", "/api/v1/agents/{cluster}/posture"),
    ("get", "/api/v1/posture"),
    ("get", "/api/v1/posture/findings"),
    ("get", "/api/v1/posture/history"),
    ("get", "/api/v1/posture/exceptions"),
    ("get", "/api/v1/alerts"),
    ("get", "/api/v1/clusters"),
    ("get", "/api/v1/cost"),
    ("get", "/api/v1/cost/recommendations"),
    ("get", "/api/v1/clusters/{name}"),
    ("delete", "/api/v1/clusters/{name}"),
    ("post", "/api/v1/upgrades"),
    ("get", "/api/v1/upgrades"),
    ("get", "/api/v1/upgrades/{name}"),
    ("get", "/api/v1/upgrades/{name}/results"),
    ("post", "/api/v1/upgrades/{name}/{command}"),
    ("get", "/metrics"),
    ("get", "/openapi/v3"),
    ("get", "/api/v1/openapi.json"),
];

const UPGRADE: &str = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata: {name: to-1-33}
spec:
  version: \"1.33\"
  clusterSelector: {matchLabels: {environment: production}}
  strategy:
    type: Canary
    canary:
      steps: [{pause: 1h, percentage: 10}, {pause: 4h, percentage: 50}, {pause: 1h, percentage: 100}]
";

impl Hub {
    async fn agent_report(&self, cluster: &str, token: &str, health: &str) {
        let body = json!({
            "labels": {"environment": "production"},
            "versions": {"controlPlane": "v1.32.4", "kubelet": {"v1.32.4": 3}},
            "nodeCount": 3, "podCount": 40, "health": health
        });
        let answer = self
            .send(
                "POST",
                &format!("/api/v1/agents/{cluster}/report"),
                Some(token),
                Some(body.to_string()),
            )
            .await;
        assert_eq!(answer.code, StatusCode::NO_CONTENT, "{}", answer.text);
    }

    async fn metrics(&self) -> Exposition {
        let answer = self.send("GET", "/metrics", None, None).await;
        assert_eq!(answer.code, StatusCode::OK, "{}", answer.text);
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        check_exposition(&answer.text)
    }
}

// --- a small checker of the text exposition format ---

type Labels = BTreeMap<String, String>;

/// A parsed, checked exposition.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    samples: Vec<(String, Labels, f64)>,
}

impl Exposition {
    /// The value of the one sample `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: Labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| n == name && *l == want)
            .map(|(_, _, v)| *v)
            .collect();
        assert_eq!(found.len(), 1, "{name}{want:?} in {self:#?}");
        found[0]
    }

    /// Every sample of `name`.
    fn series(&self, name: &str) -> Vec<(Labels, f64)> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l.clone(), *v))
            .collect()
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        other => other
            .parse()
            .unwrap_or_else(|_| panic!("bad value {other:?}")),
    }
}

/// `{a="x",b="y"}` (after the name) -> labels and the rest of the line.
fn parse_labels(text: &str) -> (Labels, &str) {
    let mut labels = Labels::new();
    let Some(mut rest) = text.strip_prefix('{') else {
        return (labels, text);
    };
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return (labels, after);
        }
        let (name, after) = rest.split_once("=\"").expect("label=\"");
        assert!(
            is_metric_name(name) && !name.contains(':'),
            "label {name:?}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("unterminated label value");
            match c {
                '"' => break i,
                '\\' => match chars.next().expect("dangling escape").1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("bad escape \\{other}"),
                },
                '\n' => panic!("raw newline in a label value"),
                other => value.push(other),
            }
        };
        assert!(
            labels.insert(name.to_string(), value).is_none(),
            "duplicate label {name}"
        );
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own.
fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && types.get(base).map(String::as_str) == Some("histogram")
        {
            return base;
        }
    }
    name
}

/// Checks `text` line by line and returns what it says.
fn check_exposition(text: &str) -> Exposition {
    assert!(text.ends_with('\n'), "the last line ends with a newline");
    let mut out = Exposition::default();
    let mut helped = BTreeSet::new();
    let mut seen_samples = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP name text");
            assert!(is_metric_name(name), "{line}");
            assert!(helped.insert(name.to_string()), "second HELP: {line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name type");
            assert!(is_metric_name(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                !seen_samples.contains(name),
                "TYPE after its samples: {line}"
            );
            assert!(
                out.types
                    .insert(name.to_string(), kind.to_string())
                    .is_none(),
                "second TYPE: {line}"
            );
        } else if line.starts_with('#') || line.is_empty() {
            continue;
        } else {
            let name_end = line.find(['{', ' ']).expect("a sample has a value");
            let name = &line[..name_end];
            assert!(is_metric_name(name), "{line}");
            let (labels, rest) = parse_labels(&line[name_end..]);
            let value = rest.strip_prefix(' ').expect("space before the value");
            assert!(!value.contains(' '), "no timestamps expected: {line}");
            let family = family_of(name, &out.types);
            assert!(
                out.types.contains_key(family),
                "sample without TYPE: {line}"
            );
            seen_samples.insert(family.to_string());
            out.samples
                .push((name.to_string(), labels, parse_value(value)));
        }
    }
    for (family, kind) in &out.types {
        if kind == "histogram" {
            check_histogram(&out, family);
        }
    }
    out
}

/// Buckets with `le` sorted and counts monotone, ending in `+Inf` equal to `_count`.
fn check_histogram(exposition: &Exposition, family: &str) {
    let buckets = exposition.series(&format!("{family}_bucket"));
    assert!(!buckets.is_empty(), "{family} has buckets");
    let mut last_le = f64::NEG_INFINITY;
    let mut last_count = 0.0;
    for (labels, count) in &buckets {
        let le = parse_value(labels.get("le").expect("bucket has le"));
        assert!(le > last_le, "{family}: le sorted ascending");
        assert!(*count >= last_count, "{family}: buckets cumulative");
        last_le = le;
        last_count = *count;
    }
    assert_eq!(last_le, f64::INFINITY, "{family}: the last bucket is +Inf");
    assert_eq!(
        exposition.value(&format!("{family}_count"), &[]),
        last_count,
        "{family}: +Inf == _count"
    );
    let sum = exposition.value(&format!("{family}_sum"), &[]);
    assert!(sum >= 0.0, "{family}_sum");
}

// --- /metrics ---

const HEALTHS: [&str; 4] = ["Healthy", "Degraded", "Critical", "Unknown"];
const PHASES: [&str; 9] = [
    "Pending",
    "Progressing",
    "Soaking",
    "AwaitingApproval",
    "Paused",
    "Halted",
    "Succeeded",
    "Failed",
    "Aborted",
];
const CLUSTER_STATES: [&str; 6] = [
    "Pending",
    "Upgrading",
    "Succeeded",
    "Failed",
    "Skipped",
    "Removed",
];

#[tokio::test]
async fn an_empty_hub_exposes_every_state_at_zero() {
    let hub = Hub::memory().await;
    let m = hub.metrics().await;
    for health in HEALTHS {
        assert_eq!(m.value("capstan_hub_clusters", &[("health", health)]), 0.0);
    }
    for phase in PHASES {
        assert_eq!(m.value("capstan_hub_upgrades", &[("phase", phase)]), 0.0);
    }
    assert_eq!(m.types["capstan_hub_upgrade_step"], "gauge");
    assert!(m.series("capstan_hub_upgrade_step").is_empty());
    assert_eq!(m.types["capstan_hub_report_ingest_seconds"], "histogram");
    assert_eq!(m.value("capstan_hub_report_ingest_seconds_count", &[]), 0.0);
}

#[tokio::test]
async fn metrics_follow_registrations_reports_and_upgrades() {
    let hub = Hub::memory().await;
    let mut tokens = Vec::new();
    for i in 0..4 {
        tokens.push(hub.register_agent(&format!("prod-{i}"), "production").await);
    }
    hub.register_agent("staging-a", "staging").await;
    let m = hub.metrics().await;
    assert_eq!(
        m.value("capstan_hub_clusters", &[("health", "Unknown")]),
        5.0,
        "registered, not reported yet"
    );
    assert_eq!(m.value("capstan_hub_report_ingest_seconds_count", &[]), 0.0);

    hub.agent_report("prod-0", &tokens[0], "Healthy").await;
    hub.agent_report("prod-1", &tokens[1], "Healthy").await;
    hub.agent_report("prod-2", &tokens[2], "Degraded").await;
    hub.agent_report("prod-3", &tokens[3], "Unhealthy").await;
    hub.agent_report("prod-3", &tokens[3], "Healthy").await;
    // A refused report (wrong cluster's token) is not an ingest.
    let refused = hub
        .send(
            "POST",
            "/api/v1/agents/prod-1/report",
            Some(&tokens[0]),
            Some(json!({"nodeCount": 1, "podCount": 1, "health": "Healthy"}).to_string()),
        )
        .await;
    assert_eq!(refused.code, StatusCode::FORBIDDEN);

    let m = hub.metrics().await;
    let by_health: Vec<f64> = HEALTHS
        .iter()
        .map(|h| m.value("capstan_hub_clusters", &[("health", h)]))
        .collect();
    assert_eq!(by_health, vec![3.0, 1.0, 0.0, 1.0]);
    assert_eq!(m.value("capstan_hub_report_ingest_seconds_count", &[]), 5.0);
    assert_eq!(
        m.value(
            "capstan_hub_report_ingest_seconds_bucket",
            &[("le", "+Inf")]
        ),
        5.0
    );

    let applied = hub
        .send("POST", "/api/v1/upgrades", None, Some(UPGRADE.to_string()))
        .await;
    assert_eq!(applied.code, StatusCode::CREATED, "{}", applied.text);
    let phase = applied.body["status"]["phase"]
        .as_str()
        .unwrap()
        .to_string();

    let m = hub.metrics().await;
    for p in PHASES {
        let expected = if p == phase { 1.0 } else { 0.0 };
        assert_eq!(
            m.value("capstan_hub_upgrades", &[("phase", p)]),
            expected,
            "{p}"
        );
    }
    let upgrade = [("upgrade", "to-1-33")];
    assert_eq!(m.value("capstan_hub_upgrade_step", &upgrade), 1.0);
    assert_eq!(m.value("capstan_hub_upgrade_steps", &upgrade), 3.0);
    let by_state: BTreeMap<&str, f64> = CLUSTER_STATES
        .iter()
        .map(|s| {
            let labels = [("upgrade", "to-1-33"), ("state", s)];
            (*s, m.value("capstan_hub_upgrade_clusters", &labels))
        })
        .collect();
    // The four production clusters are frozen; the first step (10% of 4 -> 1) takes one
    // (Upgrading, or Failed if its preflight refused it), the others wait: as the API says.
    assert_eq!(by_state.values().sum::<f64>(), 4.0, "{by_state:?}");
    assert_eq!(by_state["Pending"], 3.0, "{by_state:?}");
    let detail = hub
        .send("GET", "/api/v1/upgrades/to-1-33", None, None)
        .await;
    let mut from_api: BTreeMap<&str, f64> = CLUSTER_STATES.iter().map(|s| (*s, 0.0)).collect();
    for cluster in detail.body["clusters"].as_array().unwrap() {
        let state = cluster["state"].as_str().unwrap().to_string();
        *from_api.get_mut(state.as_str()).unwrap() += 1.0;
    }
    assert_eq!(by_state, from_api);

    // An aborted upgrade is no longer live: it counts by phase only.
    let aborted = hub
        .send("POST", "/api/v1/upgrades/to-1-33/abort", None, None)
        .await;
    assert_eq!(aborted.code, StatusCode::OK, "{}", aborted.text);
    let m = hub.metrics().await;
    assert_eq!(
        m.value("capstan_hub_upgrades", &[("phase", "Aborted")]),
        1.0
    );
    assert!(m.series("capstan_hub_upgrade_step").is_empty());
    assert!(m.series("capstan_hub_upgrade_clusters").is_empty());
}

#[test]
fn the_checker_refuses_broken_expositions() {
    let bad = [
        "x 1\n",                            // no TYPE
        "# TYPE x gauge\nx{a=\"b} 1\n",     // unterminated value
        "# TYPE x gauge\nx{a=\"\\q\"} 1\n", // bad escape
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0\nh_count 3\n",
        "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",
        "# TYPE x gauge\nx 1\n# TYPE x gauge\n", // second TYPE
    ];
    for text in bad {
        assert!(
            std::panic::catch_unwind(|| check_exposition(text)).is_err(),
            "accepted {text:?}"
        );
    }
    let good = "# HELP x a \\\\ help\n# TYPE x gauge\nx{a=\"q\\\"\\n\\\\\"} 1.5\n";
    let parsed = check_exposition(good);
    assert_eq!(parsed.value("x", &[("a", "q\"\n\\")]), 1.5);
}

// --- the OpenAPI document ---

/// A concrete URI for a path template.
fn concrete(path: &str) -> String {
    path.replace("{cluster}", "prod-0")
        .replace("{name}", "nothing-here")
        .replace("{id}", "w-1")
        .replace("{command}", "pause")
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let methods = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if methods.contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_served_twice_and_is_openapi_3_0() {
    let hub = Hub::memory().await;
    let v3 = hub.send("GET", "/openapi/v3", None, None).await;
    assert_eq!(v3.code, StatusCode::OK);
    assert!(
        v3.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = serde_json::from_str(&v3.text).expect("valid JSON");
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.0."), "{version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let json = hub.send("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(json.code, StatusCode::OK);
    assert_eq!(json.body, doc);

    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").expect(&r);
        assert!(doc["components"]["schemas"][name].is_object(), "{r}");
    }
    // Security as the handlers check it.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bootstrapToken"]["scheme"], "bearer");
    assert_eq!(schemes["clusterToken"]["scheme"], "bearer");
    assert_eq!(
        doc["paths"]["/api/v1/agents/register"]["post"]["security"],
        json!([{"bootstrapToken": []}])
    );
    assert_eq!(
        doc["paths"]["/api/v1/agents/{cluster}/report"]["post"]["security"],
        json!([{"clusterToken": []}])
    );
    let invalid = &doc["paths"]["/api/v1/upgrades"]["post"]["responses"]["422"];
    assert_eq!(
        invalid["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/InvalidUpgrade"
    );
    let commands = doc["paths"]["/api/v1/upgrades/{name}/{command}"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "command")
        .unwrap()["schema"]["enum"]
        .clone();
    assert_eq!(
        commands,
        json!(["pause", "resume", "abort", "approve", "retry", "skip"])
    );
}

/// The (method, path) pairs `router()` in src/api.rs declares, read from its source: axum
/// cannot list a router's routes, and this catches a route added without updating [`ROUTES`].
fn routes_in_source() -> BTreeSet<(String, String)> {
    let source = include_str!("../src/api.rs");
    let body = &source[source
        .find("pub fn router(")
        .expect("router() in src/api.rs")..];
    let body = &body[..body
        .find(".fallback(")
        .expect("router() ends with a fallback")];
    let mut out = BTreeSet::new();
    for declaration in body.split(".route(").skip(1) {
        let path = declaration
            .split('"')
            .nth(1)
            .expect("a route's path literal");
        for method in ["get", "post", "put", "delete", "patch"] {
            let call = format!("{method}(");
            let mut from = 0;
            while let Some(at) = declaration[from..].find(&call) {
                let start = from + at;
                let before = declaration[..start].chars().next_back();
                if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.insert((method.to_string(), path.to_string()));
                }
                from = start + call.len();
            }
        }
    }
    out
}

#[test]
fn routes_lists_what_the_router_declares() {
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(routes_in_source(), listed);
}

#[tokio::test]
async fn the_document_and_the_router_list_the_same_routes() {
    let hub = Hub::memory().await;
    let doc = hub.send("GET", "/openapi/v3", None, None).await.body;
    let documented = documented_operations(&doc);
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, listed, "the document vs this test's ROUTES");

    // The fallback is recognisable...
    let missing = hub.send("GET", "/api/v1/no-such-thing", None, None).await;
    assert_eq!(missing.code, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["message"], "no such route");
    // ...and no documented operation falls into it, nor into 405 (a path routed for other
    // methods only).
    for (method, path) in &documented {
        let answer = hub
            .send(
                &method.to_uppercase(),
                &concrete(path),
                None,
                Some("{}".to_string()),
            )
            .await;
        assert_ne!(
            answer.code,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(
            !(answer.code == StatusCode::NOT_FOUND && answer.body["message"] == "no such route"),
            "{method} {path} is not routed"
        );
    }
}
