//! Legacy discovery documents (`/api`, `/api/v1`, `/apis`, `/apis/{group}/{version}`).
//! kubectl asks for aggregated discovery first and falls back to these when the answer is a
//! plain `application/json` document, as with kube-apiservers before 1.26.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::value_response;
use crate::cluster::Cluster;
use crate::error::{ApiError, ApiResult};
use crate::twin::Twin;

/// group -> versions (in preference order), for the types the cluster serves now, in the
/// API server's order: built-in groups first, then the aggregated metrics API, then CRD
/// groups alphabetically (equal group priority). kubectl's RESTMapper prefers the first
/// group serving a resource name, so `kubectl get networkpolicies` means
/// `networking.k8s.io` even where Calico's `crd.projectcalico.org` serves the same plural.
fn groups(twin: &Arc<Twin>, cluster: &Arc<Cluster>) -> Vec<(String, Vec<String>)> {
    let data = twin.lock(cluster);
    let mut builtin: Vec<(String, Vec<String>)> = Vec::new();
    let mut custom: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in data.types() {
        if t.group.is_empty() {
            continue;
        }
        let versions = if t.builtin {
            match builtin.iter().position(|(g, _)| *g == t.group) {
                Some(i) => &mut builtin[i].1,
                None => {
                    builtin.push((t.group.clone(), Vec::new()));
                    let last = builtin.len() - 1;
                    &mut builtin[last].1
                }
            }
        } else {
            custom.entry(t.group.clone()).or_default()
        };
        if !versions.contains(&t.version) {
            versions.push(t.version.clone());
        }
    }
    // metrics-server's APIService, served by the twin itself (crate::metrics::resource_api).
    builtin.push((
        crate::metrics::resource_api::GROUP.to_string(),
        vec![crate::metrics::resource_api::VERSION.to_string()],
    ));
    builtin.extend(
        custom
            .into_iter()
            .filter(|(g, _)| g != crate::metrics::resource_api::GROUP),
    );
    builtin
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({
        "name": name,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

pub fn group_list(twin: &Arc<Twin>, cluster: &Arc<Cluster>) -> Response {
    let groups: Vec<Value> = groups(twin, cluster)
        .iter()
        .map(|(name, versions)| group_json(name, versions))
        .collect();
    value_response(
        StatusCode::OK,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

pub fn group(twin: &Arc<Twin>, cluster: &Arc<Cluster>, name: &str) -> ApiResult<Response> {
    let groups = groups(twin, cluster);
    let versions = groups
        .iter()
        .find(|(g, _)| g == name)
        .map(|(_, v)| v)
        .ok_or_else(ApiError::path_not_found)?;
    let mut g = group_json(name, versions);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Ok(value_response(StatusCode::OK, &g))
}

pub fn check_group_version(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    group: &str,
    version: &str,
) -> ApiResult<()> {
    let known = groups(twin, cluster)
        .iter()
        .any(|(g, vs)| g == group && vs.iter().any(|v| v == version));
    if known {
        Ok(())
    } else {
        Err(ApiError::path_not_found())
    }
}

pub fn resource_list(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    group: &str,
    version: &str,
) -> Response {
    let data = twin.lock(cluster);
    let mut resources = Vec::new();
    if group == crate::metrics::resource_api::GROUP
        && version == crate::metrics::resource_api::VERSION
    {
        resources = crate::metrics::resource_api::discovery_resources();
    }
    for t in data
        .types()
        .filter(|t| t.group == group && t.version == version)
    {
        resources.push(t.discovery_entry());
        if t.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if t.builtin && t.group.is_empty() && t.plural == "pods" {
            // kubectl drain looks for exactly this entry to decide it may use eviction.
            resources.push(json!({
                "name": "pods/eviction",
                "singularName": "",
                "namespaced": true,
                "group": "policy",
                "version": "v1",
                "kind": "Eviction",
                "verbs": ["create"],
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    value_response(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}
