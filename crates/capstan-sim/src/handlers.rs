//! Resource requests: get, list, watch, create, update, patch, delete, deletecollection and the
//! pod eviction subresource.

use std::sync::Arc;

use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use bytes::{BufMut, BytesMut};
use serde_json::{Value, json};

use crate::api::{Req, json_response, value_response};
use crate::cluster::Cluster;
use crate::error::{ApiError, ApiResult};
use crate::patch::PatchType;
use crate::query::{Filter, Output, decode_continue, encode_continue, flag, negotiate};
use crate::resources::ResourceType;
use crate::rest::{self, DeleteOptions, Deleted};
use crate::store::{Obj, ObjKey, ObjMap};
use crate::table::{self, IncludeObject};
use crate::twin::Twin;

/// A parsed resource path.
#[derive(Debug)]
struct Target<'a> {
    namespace: Option<&'a str>,
    plural: &'a str,
    name: Option<&'a str>,
    sub: Option<&'a str>,
}

/// Split a path as upstream's RequestInfoFactory does: `namespaces/{ns}/{resource}/...`, except
/// that `namespaces/{name}/status|finalize` are subresources of the namespace itself.
fn parse_target<'a>(parts: &[&'a str]) -> Option<Target<'a>> {
    let (namespace, rest) = match parts {
        ["namespaces", ns, third, ..]
            if !matches!(*third, "status" | "finalize") || parts.len() > 3 =>
        {
            (Some(*ns), &parts[2..])
        }
        _ => (None, parts),
    };
    match rest {
        [plural] => Some(Target {
            namespace,
            plural,
            name: None,
            sub: None,
        }),
        [plural, name] => Some(Target {
            namespace,
            plural,
            name: Some(*name),
            sub: None,
        }),
        [plural, name, sub] => Some(Target {
            namespace,
            plural,
            name: Some(*name),
            sub: Some(*sub),
        }),
        _ => None,
    }
}

fn body_json(req: &Req) -> ApiResult<Value> {
    let ct = req
        .header(header::CONTENT_TYPE)
        .unwrap_or("application/json");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" | "" => serde_json::from_slice(&req.body).map_err(|e| {
            ApiError::bad_request(format!(
                "the object provided is unrecognized: invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        }),
        "application/yaml" => serde_saphyr::from_slice::<Value>(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}"))),
        _ => Err(ApiError::unsupported_media_type(ct)),
    }
}

pub(crate) async fn resource(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    group: &str,
    version: &str,
    parts: &[&str],
    req: Req,
) -> ApiResult<Response> {
    let target = parse_target(parts).ok_or_else(ApiError::path_not_found)?;
    let rt = {
        let data = twin.lock(cluster);
        data.find_type(group, version, target.plural)
    }
    .ok_or_else(ApiError::path_not_found)?;
    if target.namespace.is_some() && !rt.namespaced {
        return Err(ApiError::path_not_found());
    }
    let include = IncludeObject::parse(req.query.get("includeObject").map(String::as_str))
        .map_err(ApiError::bad_request)?;
    let output = negotiate(req.header(header::ACCEPT), include)?;
    let dry_run = req.query.get("dryRun").is_some_and(|d| d == "All");
    let ns = target.namespace.unwrap_or("");
    match (&req.method, target.name, target.sub) {
        (&Method::GET, None, None) => {
            if flag(&req.query, "watch") {
                crate::watch::serve(
                    twin.clone(),
                    cluster.clone(),
                    rt,
                    target.namespace,
                    &req,
                    output,
                )
            } else {
                list(twin, cluster, &rt, target.namespace, &req, output)
            }
        }
        (&Method::GET, Some(name), None | Some("status")) => {
            let key = ObjKey::new(ns, name);
            let obj = twin
                .lock(cluster)
                .get(&rt.key(), &key)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
            Ok(render_one(&rt, &obj, output, twin.now()))
        }
        (&Method::POST, None, None) => {
            if target.namespace.is_none() && rt.namespaced {
                return Err(ApiError::method_not_allowed("POST"));
            }
            let body = body_json(&req)?;
            let obj = twin.write(cluster, |data| {
                rest::create(data, &rt, ns, body, twin.now(), dry_run)
            })?;
            Ok(render_one(&rt, &obj, output, twin.now()).with_status(StatusCode::CREATED))
        }
        (&Method::POST, Some(name), Some("eviction"))
            if rt.group.is_empty() && rt.plural == "pods" =>
        {
            let body = body_json(&req)?;
            let status = twin.write(cluster, |data| {
                crate::disruption::evict(data, ns, name, &body, twin.now(), dry_run)
            })?;
            Ok(value_response(StatusCode::CREATED, &status))
        }
        (&Method::PUT, Some(name), sub @ (None | Some("status"))) => {
            let body = body_json(&req)?;
            let key = ObjKey::new(ns, name);
            let obj = twin.write(cluster, |data| {
                rest::update(data, &rt, &key, body, sub.is_some(), dry_run)
            })?;
            Ok(render_one(&rt, &obj, output, twin.now()))
        }
        (&Method::PATCH, Some(name), sub @ (None | Some("status"))) => {
            let ct = req.header(header::CONTENT_TYPE).unwrap_or("");
            let patch_type = PatchType::from_content_type(ct)
                .ok_or_else(|| ApiError::unsupported_media_type(ct))?;
            let key = ObjKey::new(ns, name);
            let obj = twin.write(cluster, |data| {
                rest::patch(
                    data,
                    &rt,
                    &key,
                    patch_type,
                    &req.body,
                    sub.is_some(),
                    twin.now(),
                    dry_run,
                )
            })?;
            Ok(render_one(&rt, &obj, output, twin.now()))
        }
        (&Method::DELETE, Some(name), None) => {
            let opts = delete_options(&req)?;
            let key = ObjKey::new(ns, name);
            let outcome = twin.write(cluster, |data| {
                rest::delete(data, &rt, &key, &opts, twin.now())
            })?;
            let obj = match outcome {
                Deleted::Gone(o) | Deleted::Pending(o) => o,
            };
            Ok(render_one(&rt, &obj, output, twin.now()))
        }
        (&Method::DELETE, None, None) => {
            let opts = delete_options(&req)?;
            let filter = Filter::parse(&rt, target.namespace, &req.query)?;
            let (deleted, rv) = twin.write(cluster, |data| {
                let keys: Vec<ObjKey> = data
                    .store
                    .range(&rt.key(), ns)
                    .filter(|o| filter.matches(o))
                    .map(|o| o.key.clone())
                    .collect();
                let mut deleted = Vec::new();
                for key in keys {
                    if let Ok(Deleted::Gone(o) | Deleted::Pending(o)) =
                        rest::delete(data, &rt, &key, &opts, twin.now())
                    {
                        deleted.push(o);
                    }
                }
                (deleted, data.store.current_rv())
            });
            Ok(json_response(
                StatusCode::OK,
                list_body(&rt, rv, None, deleted.iter()),
            ))
        }
        (method, _, _) => Err(ApiError::method_not_allowed(method.as_str())),
    }
}

fn delete_options(req: &Req) -> ApiResult<DeleteOptions> {
    let mut opts = DeleteOptions {
        grace_period_seconds: req
            .query
            .get("gracePeriodSeconds")
            .map(|g| {
                g.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid gracePeriodSeconds: {g:?}"))
                })
            })
            .transpose()?,
        propagation: req.query.get("propagationPolicy").cloned(),
        dry_run: req.query.get("dryRun").is_some_and(|d| d == "All"),
        ..Default::default()
    };
    if !req.body.is_empty() {
        let body = body_json(req)?;
        opts.merge_body(&body);
    }
    Ok(opts)
}

trait WithStatus {
    fn with_status(self, code: StatusCode) -> Self;
}

impl WithStatus for Response {
    fn with_status(mut self, code: StatusCode) -> Self {
        *self.status_mut() = code;
        self
    }
}

/// One object in the requested form.
fn render_one(rt: &ResourceType, obj: &Obj, output: Output, now: jiff::Timestamp) -> Response {
    match output {
        Output::Json => json_response(StatusCode::OK, obj.json()),
        Output::Metadata => value_response(
            StatusCode::OK,
            &table::partial_object_metadata(&obj.value()),
        ),
        Output::Table(include) => {
            let t = table_body(rt, obj.rv, None, std::iter::once(obj), include, now);
            json_response(StatusCode::OK, t)
        }
    }
}

pub(crate) fn columns(rt: &ResourceType) -> Vec<Value> {
    if rt.builtin {
        table::column_definitions(&rt.group, &rt.plural)
    } else {
        table::custom_column_definitions(&rt.printer_columns)
    }
}

pub(crate) fn row(
    rt: &ResourceType,
    obj: &Obj,
    include: IncludeObject,
    now: jiff::Timestamp,
) -> Value {
    let v = obj.value();
    if rt.builtin {
        table::row(&rt.group, &rt.plural, &v, include, now)
    } else {
        table::custom_row(&rt.printer_columns, &v, include, now)
    }
}

fn table_body<'a>(
    rt: &ResourceType,
    rv: u64,
    cont: Option<String>,
    objs: impl Iterator<Item = &'a Obj>,
    include: IncludeObject,
    now: jiff::Timestamp,
) -> String {
    let rows: Vec<Value> = objs.map(|o| row(rt, o, include, now)).collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns(rt),
        "rows": rows,
    })
    .to_string()
}

/// A list body assembled from the stored JSON bytes, without re-serialising the items.
fn list_body<'a>(
    rt: &ResourceType,
    rv: u64,
    cont: Option<String>,
    objs: impl Iterator<Item = &'a Arc<Obj>> + Clone,
) -> bytes::Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    // Sized up front: a page of 500 pods is about 2 MB, and growing by doubling copies it twice.
    let items: usize = objs.clone().map(|o| o.json_sizes().0 + 1).sum();
    let mut buf = BytesMut::with_capacity(items + 512);
    buf.put_slice(
        format!(
            "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
            rt.list_kind(),
            rt.api_version(),
            meta
        )
        .as_bytes(),
    );
    for (i, o) in objs.enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        o.write_json(&mut buf);
    }
    buf.put_slice(b"]}");
    buf.freeze()
}

fn metadata_list_body<'a>(
    rv: u64,
    cont: Option<String>,
    objs: impl Iterator<Item = &'a Arc<Obj>>,
) -> String {
    let items: Vec<Value> = objs
        .map(|o| table::partial_object_metadata(&o.value()))
        .collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": items})
        .to_string()
}

/// The snapshot a list reads and its resourceVersion, per the resourceVersion /
/// resourceVersionMatch / continue semantics of the API.
fn list_snapshot(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    req: &Req,
) -> ApiResult<(u64, ObjMap, Option<ObjKey>)> {
    let mut data = twin.lock(cluster);
    if let Some(token) = req.query.get("continue").filter(|c| !c.is_empty()) {
        if req
            .query
            .get("resourceVersion")
            .is_some_and(|r| !r.is_empty())
        {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let (rv, after) = decode_continue(token)?;
        let snap = data.store.table(&rt.key()).and_then(|t| t.snapshot_at(rv));
        return match snap {
            Some(s) => Ok((rv, s, Some(after))),
            None => Err(ApiError::gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
            )),
        };
    }
    let current = data.store.current_rv();
    let requested = req.query.get("resourceVersion").filter(|r| !r.is_empty());
    let rv_match = req.query.get("resourceVersionMatch").map(String::as_str);
    if let Some(r) = requested {
        let n: u64 = r
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))?;
        if rv_match == Some("Exact") && n != current {
            let snap = data.store.table(&rt.key()).and_then(|t| t.snapshot_at(n));
            return match snap {
                Some(s) => Ok((n, s, None)),
                None if n > current => Err(too_large(n, current)),
                None => Err(ApiError::gone(format!(
                    "too old resource version: {n} ({current})"
                ))),
            };
        }
        if n > current {
            return Err(too_large(n, current));
        }
    } else if rv_match.is_some() {
        return Err(ApiError::invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            &[(
                "resourceVersionMatch".into(),
                "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
                    .into(),
            )],
        ));
    }
    let snap = data.store.table_mut(&rt.key()).pin_snapshot(current);
    Ok((current, snap, None))
}

/// Upstream's answer to a resourceVersion the server has not reached.
fn too_large(requested: u64, current: u64) -> ApiError {
    ApiError::new(
        504,
        "Timeout",
        format!("Too large resource version: {requested}, current: {current}"),
    )
    .with_details(json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]}))
    .with_retry_after(1)
}

fn list(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    namespace: Option<&str>,
    req: &Req,
    output: Output,
) -> ApiResult<Response> {
    let filter = Filter::parse(rt, namespace, &req.query)?;
    let limit: Option<usize> = match req.query.get("limit") {
        Some(l) if !l.is_empty() => Some(
            l.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?
                .max(0) as usize,
        )
        .filter(|l| *l > 0),
        _ => None,
    };
    let (rv, snap, after) = list_snapshot(twin, cluster, rt, req)?;
    let ns = namespace.unwrap_or("");
    let iter: Box<dyn Iterator<Item = (&ObjKey, &Arc<Obj>)>> = match (&after, ns.is_empty()) {
        (Some(a), _) => Box::new(snap.range(a.clone()..).filter(move |(k, _)| *k != a)),
        (None, true) => Box::new(snap.iter()),
        (None, false) => Box::new(snap.range(ObjKey::new(ns, "")..)),
    };
    let mut items: Vec<&Arc<Obj>> = Vec::new();
    let mut cont = None;
    for (_, obj) in iter {
        if !ns.is_empty() && *obj.key.namespace != *ns {
            if *obj.key.namespace > *ns {
                break;
            }
            continue;
        }
        if !filter.matches(obj) {
            continue;
        }
        if let Some(l) = limit
            && items.len() == l
        {
            // There is at least one more: hand out a token after the last item sent.
            if let Some(last) = items.last() {
                cont = Some(encode_continue(rv, &last.key));
            }
            break;
        }
        items.push(obj);
    }
    let now = twin.now();
    Ok(match output {
        Output::Json => json_response(StatusCode::OK, list_body(rt, rv, cont, items.into_iter())),
        Output::Metadata => json_response(
            StatusCode::OK,
            metadata_list_body(rv, cont, items.into_iter()),
        ),
        Output::Table(include) => json_response(
            StatusCode::OK,
            table_body(rt, rv, cont, items.into_iter().map(|o| &**o), include, now),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_like_upstream() {
        let t = parse_target(&["namespaces", "default", "pods", "p", "eviction"]).unwrap();
        assert_eq!(
            (t.namespace, t.plural, t.name, t.sub),
            (Some("default"), "pods", Some("p"), Some("eviction"))
        );
        let t = parse_target(&["namespaces", "default", "status"]).unwrap();
        assert_eq!(
            (t.namespace, t.plural, t.name, t.sub),
            (None, "namespaces", Some("default"), Some("status"))
        );
        let t = parse_target(&["namespaces", "default"]).unwrap();
        assert_eq!(
            (t.namespace, t.plural, t.name),
            (None, "namespaces", Some("default"))
        );
        let t = parse_target(&["nodes"]).unwrap();
        assert_eq!((t.plural, t.name), ("nodes", None));
        assert!(parse_target(&["a", "b", "c", "d"]).is_none());
    }
}
