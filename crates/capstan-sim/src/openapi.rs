//! A minimal OpenAPI v3 surface. kubectl (1.27+) reads `/openapi/v3` to learn whether the server
//! validates fields itself (a `fieldValidation` query parameter on the resource's operations);
//! when it does, kubectl sends `fieldValidation=Strict` instead of downloading schemas to
//! validate client side. The documents describe operations only, no schemas: clients that need
//! patch metadata fall back to their compiled-in types, as they do for older servers.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::api::value_response;
use crate::cluster::Cluster;
use crate::error::{ApiError, ApiResult};
use crate::twin::Twin;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: one entry per group/version.
pub fn root(twin: &Arc<Twin>, cluster: &Arc<Cluster>) -> Response {
    let data = twin.lock(cluster);
    let mut paths = Map::new();
    for t in data.types() {
        let gv = gv_path(&t.group, &t.version);
        let url = format!(
            "/clusters/{}/openapi/v3/{gv}?hash={:016X}",
            cluster.name,
            capstan_core::rng::fnv1a(gv.as_bytes())
        );
        paths.insert(gv, json!({"serverRelativeURL": url}));
    }
    value_response(StatusCode::OK, &json!({"paths": paths}))
}

fn params() -> Value {
    json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
    ])
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`.
pub fn group_version(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    group: &str,
    version: &str,
) -> ApiResult<Response> {
    let data = twin.lock(cluster);
    let mut paths = Map::new();
    let mut any = false;
    for t in data
        .types()
        .filter(|t| t.group == group && t.version == version)
    {
        any = true;
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let base = format!("/{}", gv_path(group, version));
        let collection = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", t.plural)
        } else {
            format!("{base}/{}", t.plural)
        };
        let op = |action: &str| json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, "parameters": params(), "responses": {"200": {"description": "OK"}}});
        paths.insert(
            collection.clone(),
            json!({"post": op("post"), "get": op("list")}),
        );
        paths.insert(format!("{collection}/{{name}}"), json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}));
    }
    if !any {
        return Err(ApiError::path_not_found());
    }
    Ok(value_response(
        StatusCode::OK,
        &json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"}, "paths": paths, "components": {"schemas": {}}}),
    ))
}
