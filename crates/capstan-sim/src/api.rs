//! The HTTP surface: `/clusters/{name}/...` routed to discovery, resources, the fake cloud and
//! the fault endpoints of that cluster.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::error::{ApiError, ApiResult};
use crate::twin::Twin;

/// The twin's router. It is a `tower::Service`, so tests can hand it straight to
/// `kube::Client::new` without a socket.
pub fn router(twin: Arc<Twin>) -> Router {
    Router::new()
        .route("/sim/v1/clusters", get(list_clusters))
        .route("/clusters/{cluster}/{*rest}", any(dispatch))
        .fallback(dispatch_by_token)
        // kube-apiserver accepts request bodies up to 3 MiB.
        .layer(DefaultBodyLimit::max(3 * 1024 * 1024))
        .with_state(twin)
}

pub(crate) fn json_response(code: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = (code, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn value_response(code: StatusCode, v: &Value) -> Response {
    json_response(code, v.to_string())
}

async fn list_clusters(State(twin): State<Arc<Twin>>) -> Response {
    let items: Vec<Value> = twin
        .clusters()
        .map(|c| {
            json!({
                "name": c.name,
                "labels": c.spec.labels,
                "version": c.spec.version,
                "provider": c.spec.provider,
                "region": c.spec.region,
                "materialized": c.is_materialized(),
            })
        })
        .collect();
    value_response(StatusCode::OK, &json!({"clusters": items}))
}

/// Everything a handler needs about one request.
pub(crate) struct Req {
    pub method: Method,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn dispatch(
    State(twin): State<Arc<Twin>>,
    Path((cluster_name, rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(cluster) = twin.cluster(&cluster_name).cloned() else {
        return ApiError::path_not_found().into_response();
    };
    serve(twin, cluster, &rest, method, uri, headers, body).await
}

/// A path outside `/clusters/{name}`: `kubectl get --raw /metrics` requests the absolute
/// path on the server's host, dropping the kubeconfig server URL's path, so the cluster is
/// the one whose bearer token the request carries.
async fn dispatch_by_token(
    State(twin): State<Arc<Twin>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cluster = bearer_token(&headers)
        .and_then(|token| twin.clusters().find(|c| c.token_matches(token)))
        .cloned();
    let Some(cluster) = cluster else {
        return ApiError::path_not_found().into_response();
    };
    let rest = uri.path().to_string();
    serve(twin, cluster, &rest, method, uri, headers, body).await
}

async fn serve(
    twin: Arc<Twin>,
    cluster: Arc<Cluster>,
    rest: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parts: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let req = Req {
        method,
        query: crate::query::parse_query(uri.query()),
        headers,
        body,
    };
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    // As upstream's system:public-info-viewer: version and health need no credentials.
    match parts.as_slice() {
        ["healthz" | "readyz" | "livez", ..] => {
            let mut r = (StatusCode::OK, "ok").into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return r;
        }
        ["version"] => return version(&twin, &cluster),
        _ => {}
    }
    if !authorized(&cluster, &req.headers) {
        return ApiError::unauthorized().into_response();
    }
    // Counted as kube-apiserver counts resource requests (`apiserver_request_total`).
    let info = crate::metrics::apiserver::request_info(&req.method, &parts, &req.query);
    let took = capstan_clock::Stopwatch::start();
    let response = match route(&twin, &cluster, &parts, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if let Some(info) = info {
        let seconds = took.elapsed().as_secs_f64();
        cluster
            .metrics
            .lock()
            .api
            .record(info, response.status().as_u16(), seconds);
    }
    response
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn authorized(cluster: &Cluster, headers: &HeaderMap) -> bool {
    bearer_token(headers).is_some_and(|token| cluster.token_matches(token))
}

async fn route(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    parts: &[&str],
    req: Req,
) -> ApiResult<Response> {
    if let Some(metrics) = crate::metrics::route(twin, cluster, parts, &req) {
        return metrics;
    }
    match parts {
        ["api"] => Ok(value_response(
            StatusCode::OK,
            &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]
            }),
        )),
        ["api", "v1"] => Ok(crate::discovery::resource_list(twin, cluster, "", "v1")),
        ["apis"] => Ok(crate::discovery::group_list(twin, cluster)),
        ["apis", group] => crate::discovery::group(twin, cluster, group),
        ["apis", group, version] => {
            crate::discovery::check_group_version(twin, cluster, group, version)?;
            Ok(crate::discovery::resource_list(
                twin, cluster, group, version,
            ))
        }
        ["api", "v1", rest @ ..] => {
            faults_gate(twin, cluster).await?;
            crate::handlers::resource(twin, cluster, "", "v1", rest, req).await
        }
        ["apis", group, version, rest @ ..] => {
            faults_gate(twin, cluster).await?;
            crate::handlers::resource(twin, cluster, group, version, rest, req).await
        }
        ["openapi", "v3"] => Ok(crate::openapi::root(twin, cluster)),
        ["openapi", "v3", "api", version] => {
            crate::openapi::group_version(twin, cluster, "", version)
        }
        ["openapi", "v3", "apis", group, version] => {
            crate::openapi::group_version(twin, cluster, group, version)
        }
        ["cloud", "v1", rest @ ..] => crate::cloud::http(twin, cluster, rest, req),
        ["sim", "v1", rest @ ..] => crate::faults::http(twin, cluster, rest, req),
        _ => Err(ApiError::path_not_found()),
    }
}

/// Injected API latency and server errors (the fault endpoints set them).
async fn faults_gate(twin: &Arc<Twin>, cluster: &Arc<Cluster>) -> ApiResult<()> {
    let (latency, fail) = {
        let mut data = twin.lock(cluster);
        let f = data.faults.api.clone();
        let fail = f.error_rate > 0.0 && data.rng.chance(f.error_rate);
        (f.latency, fail)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fail {
        return Err(ApiError::internal(
            "injected fault: the API server failed this request",
        ));
    }
    Ok(())
}

fn version(twin: &Arc<Twin>, cluster: &Arc<Cluster>) -> Response {
    let version = {
        let data = twin.lock(cluster);
        data.cloud.control_plane_version.clone()
    };
    let v = capstan_core::version::KubeVersion::parse(&version).ok();
    let (major, minor) = v
        .map(|v| (v.major.to_string(), v.minor.to_string()))
        .unwrap_or_default();
    let git = v.map(|v| v.git_version()).unwrap_or(version);
    value_response(
        StatusCode::OK,
        &json!({
            "major": major,
            "minor": minor,
            "emulationMajor": major,
            "emulationMinor": minor,
            "minCompatibilityMajor": major,
            "minCompatibilityMinor": minor,
            "gitVersion": git,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.24.0",
            "compiler": "gc",
            "platform": "linux/amd64"
        }),
    )
}
