//! The registry semantics of kube-apiserver's generic store, applied to the twin: what create,
//! update, patch and delete do to an object, independent of HTTP.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::cluster::{Action, ClusterData, keys};
use crate::error::{ApiError, ApiResult, qualified};
use crate::objects::rfc3339;
use crate::patch::{PatchType, apply_patch};
use crate::resources::ResourceType;
use crate::store::{Obj, ObjKey};

fn meta_str<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get("metadata")?.get(field)?.as_str()
}

/// Options of a DELETE (query string or `DeleteOptions` body).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub propagation: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Merge a `DeleteOptions` JSON body (as kubectl sends) over query parameters.
    pub fn merge_body(&mut self, body: &Value) {
        if let Some(g) = body.get("gracePeriodSeconds").and_then(Value::as_i64) {
            self.grace_period_seconds = Some(g);
        }
        if let Some(p) = body.get("propagationPolicy").and_then(Value::as_str) {
            self.propagation = Some(p.to_string());
        }
        if let Some(uid) = body.pointer("/preconditions/uid").and_then(Value::as_str) {
            self.precondition_uid = Some(uid.to_string());
        }
        if let Some(rv) = body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
        {
            self.precondition_rv = Some(rv.to_string());
        }
        if body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            self.dry_run = true;
        }
    }
}

/// Result of a DELETE: removed at once, or marked for (graceful or finalizer-held) deletion.
#[derive(Debug)]
pub enum Deleted {
    Gone(Arc<Obj>),
    Pending(Arc<Obj>),
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn is_dns_label(name: &str) -> bool {
    name.len() <= 63 && !name.contains('.') && is_dns_subdomain(name)
}

/// Names must be DNS-1123 subdomains, and labels for namespaces, services and a few others.
fn validate_name(rt: &ResourceType, name: &str) -> Result<(), String> {
    let label_only = rt.builtin
        && rt.group.is_empty()
        && matches!(rt.plural.as_str(), "namespaces" | "services");
    if label_only {
        if !is_dns_label(name) {
            return Err(format!(
                "Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ));
        }
    } else if rt.group != "rbac.authorization.k8s.io" && !is_dns_subdomain(name) {
        // RBAC objects are named by path segments (e.g. `system:controller:x`), not DNS names.
        return Err(format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ));
    }
    Ok(())
}

/// Check the body's apiVersion and kind against the endpoint, as the decoder does.
pub fn check_type_meta(rt: &ResourceType, body: &Value, allow_missing: bool) -> ApiResult<()> {
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() || api_version.is_empty() {
        if allow_missing {
            return Ok(());
        }
        let shown: String = body.to_string().chars().take(200).collect();
        let which = if kind.is_empty() {
            "Kind"
        } else {
            "apiVersion"
        };
        return Err(ApiError::bad_request(format!(
            "Object '{which}' is missing in '{shown}'"
        )));
    }
    if api_version != rt.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    Ok(())
}

/// Per-type validation and defaulting on create (the parts of upstream's strategies that
/// clients can observe).
fn prepare_new(
    data: &mut ClusterData,
    rt: &ResourceType,
    obj: &mut Value,
    now: Timestamp,
) -> ApiResult<()> {
    let name = meta_str(obj, "name").unwrap_or("").to_string();
    let kind = rt.kind.as_str();
    let invalid = |field: &str, msg: String| {
        ApiError::invalid(kind, &rt.group, &name, &[(field.to_string(), msg)])
    };
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => {
            let containers = obj.pointer("/spec/containers").and_then(Value::as_array);
            match containers {
                None => return Err(invalid("spec.containers", "Required value".into())),
                Some(cs) if cs.is_empty() => {
                    return Err(invalid("spec.containers", "Required value".into()));
                }
                Some(cs) => {
                    for (i, c) in cs.iter().enumerate() {
                        if c.get("name")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                        {
                            return Err(invalid(
                                &format!("spec.containers[{i}].name"),
                                "Required value".into(),
                            ));
                        }
                        if c.get("image")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                        {
                            return Err(invalid(
                                &format!("spec.containers[{i}].image"),
                                "Required value".into(),
                            ));
                        }
                    }
                }
            }
            crate::defaults::pod(obj);
        }
        ("", "namespaces") => {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
            let labels = obj["metadata"]
                .as_object_mut()
                .map(|m| m.entry("labels").or_insert_with(|| json!({})));
            if let Some(Value::Object(labels)) = labels {
                labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
        ("", "services") => {
            let spec = obj
                .as_object_mut()
                .map(|o| o.entry("spec").or_insert_with(|| json!({})));
            if let Some(Value::Object(spec)) = spec {
                if !spec.contains_key("clusterIP") {
                    let n = data.rng.next_u64();
                    spec.insert(
                        "clusterIP".into(),
                        json!(format!("10.96.{}.{}", (n >> 8) % 256, n % 254 + 1)),
                    );
                }
                let ip = spec.get("clusterIP").cloned().unwrap_or(Value::Null);
                spec.entry("clusterIPs").or_insert_with(|| json!([ip]));
                spec.entry("type").or_insert_with(|| json!("ClusterIP"));
                spec.entry("sessionAffinity")
                    .or_insert_with(|| json!("None"));
            }
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            crate::resources::types_from_crd(obj).map_err(|e| {
                let (field, msg) = e.split_once(": ").unwrap_or(("spec", e.as_str()));
                invalid(field, msg.to_string())
            })?;
            let names = obj.pointer("/spec/names").cloned().unwrap_or(Value::Null);
            let stored: Vec<Value> = obj
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                        .filter_map(|v| v.get("name").cloned())
                        .collect()
                })
                .unwrap_or_default();
            let t = rfc3339(now);
            obj["status"] = json!({
                "acceptedNames": names,
                "storedVersions": stored,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": t},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": t}
                ]
            });
        }
        ("policy", "poddisruptionbudgets") => {
            let spec = obj.get("spec");
            let min = spec
                .and_then(|s| s.get("minAvailable"))
                .is_some_and(|v| !v.is_null());
            let max = spec
                .and_then(|s| s.get("maxUnavailable"))
                .is_some_and(|v| !v.is_null());
            if min && max {
                return Err(invalid(
                    "spec",
                    "Invalid value: minAvailable and maxUnavailable cannot be both set".into(),
                ));
            }
            if let Some(policy) = spec
                .and_then(|s| s.get("unhealthyPodEvictionPolicy"))
                .and_then(Value::as_str)
                && !matches!(policy, "IfHealthyBudget" | "AlwaysAllow")
            {
                return Err(invalid(
                    "spec.unhealthyPodEvictionPolicy",
                    format!(
                        "Unsupported value: \"{policy}\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\""
                    ),
                ));
            }
        }
        ("apps", "deployments" | "replicasets" | "daemonsets" | "statefulsets") => {
            let selector = obj.pointer("/spec/selector");
            if selector.is_none() {
                return Err(invalid("spec.selector", "Required value".into()));
            }
            let sel = capstan_core::selector::LabelSelector::from_label_selector_json(
                selector.unwrap_or(&Value::Null),
            )
            .map_err(|e| invalid("spec.selector", e.to_string()))?;
            let labels =
                crate::store::LabelSet::from_value(obj.pointer("/spec/template/metadata/labels"));
            if sel.is_everything() || !sel.matches(&labels) {
                return Err(invalid(
                    "spec.template.metadata.labels",
                    "Invalid value: `selector` does not match template `labels`".into(),
                ));
            }
            crate::defaults::workload(rt.plural.as_str(), obj);
        }
        _ => {}
    }
    Ok(())
}

/// Create an object (POST to a collection).
pub fn create(
    data: &mut ClusterData,
    rt: &ResourceType,
    namespace: &str,
    mut body: Value,
    now: Timestamp,
    dry_run: bool,
) -> ApiResult<Arc<Obj>> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    check_type_meta(rt, &body, false)?;
    let meta = body
        .as_object_mut()
        .map(|o| o.entry("metadata").or_insert_with(|| json!({})));
    let Some(Value::Object(meta)) = meta else {
        return Err(ApiError::bad_request("metadata must be an object"));
    };
    if meta
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if rt.namespaced {
        let body_ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
        if !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta.insert("namespace".into(), json!(namespace));
    } else {
        meta.remove("namespace");
    }
    let mut name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        if let Some(prefix) = meta.get("generateName").and_then(Value::as_str) {
            name = format!("{prefix}{}", data.rng.name_suffix(5));
            meta.insert("name".into(), json!(name));
        } else {
            return Err(ApiError::invalid(
                &rt.kind,
                &rt.group,
                "",
                &[(
                    "metadata.name".into(),
                    "Required value: name or generateName is required".into(),
                )],
            ));
        }
    }
    if let Err(msg) = validate_name(rt, &name) {
        return Err(ApiError::invalid(
            &rt.kind,
            &rt.group,
            &name,
            &[("metadata.name".into(), msg)],
        ));
    }
    if rt.namespaced {
        match data.get(&keys::NAMESPACES, &ObjKey::cluster(namespace)) {
            None => return Err(ApiError::not_found("", "namespaces", namespace)),
            Some(ns) if ns.deleting => {
                return Err(ApiError::forbidden(format!(
                    "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    qualified(&rt.group, &rt.plural)
                ))
                .with_details(json!({"name": name, "group": rt.group, "kind": rt.plural,
                    "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {namespace} is being terminated"), "field": "metadata.namespace"}]})));
            }
            Some(_) => {}
        }
    }
    let key = ObjKey::new(if rt.namespaced { namespace } else { "" }, &name);
    if data.get(&rt.key(), &key).is_some() {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    let uid = data.rng.uuid();
    meta.insert("uid".into(), json!(uid));
    meta.insert("creationTimestamp".into(), json!(rfc3339(now)));
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.remove("managedFields");
    if rt.uses_generation {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    body["apiVersion"] = json!(rt.api_version());
    prepare_new(data, rt, &mut body, now)?;
    if dry_run {
        let mut probe = body;
        return Ok(Obj::build(
            &rt.key(),
            key,
            data.store.current_rv(),
            &mut probe,
            None,
        ));
    }
    let obj = data.put(&rt.key(), key, body);
    Ok(obj)
}

/// Everything but metadata and status: a change here bumps `metadata.generation`.
fn spec_part(v: &Value) -> Map<String, Value> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Replace an object (PUT), or its status when `status_only`.
pub fn update(
    data: &mut ClusterData,
    rt: &ResourceType,
    key: &ObjKey,
    mut body: Value,
    status_only: bool,
    dry_run: bool,
) -> ApiResult<Arc<Obj>> {
    let Some(current) = data.get(&rt.key(), key) else {
        return Err(ApiError::not_found(&rt.group, &rt.plural, &key.name));
    };
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    check_type_meta(rt, &body, false)?;
    let old = current.value();
    let body_name = meta_str(&body, "name").unwrap_or("");
    if body_name != &*key.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            key.name
        )));
    }
    if let Some(rv) = meta_str(&body, "resourceVersion").filter(|s| !s.is_empty())
        && rv != current.rv.to_string()
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &key.name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    if status_only {
        // /status takes only the status (and, as upstream, nothing else from the body).
        let status = body.get("status").cloned();
        body = old.clone();
        match status {
            Some(s) => body["status"] = s,
            None => {
                if let Some(o) = body.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    } else if rt.status_subresource {
        match old.get("status") {
            Some(s) => body["status"] = s.clone(),
            None => {
                if let Some(o) = body.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    }
    // System-owned metadata is kept from the stored object.
    {
        let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
        let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) else {
            return Err(ApiError::bad_request("metadata must be an object"));
        };
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "generation",
        ] {
            match old_meta.get(field) {
                Some(v) => {
                    meta.insert(field.into(), v.clone());
                }
                None => {
                    meta.remove(field);
                }
            }
        }
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    if rt.uses_generation && !status_only && spec_part(&old) != spec_part(&body) {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        body["metadata"]["generation"] = json!(generation);
    }
    if rt.plural == "customresourcedefinitions" && !status_only {
        crate::resources::types_from_crd(&body).map_err(|e| {
            let (field, msg) = e.split_once(": ").unwrap_or(("spec", e.as_str()));
            ApiError::invalid(
                &rt.kind,
                &rt.group,
                &key.name,
                &[(field.into(), msg.into())],
            )
        })?;
    }
    let mut compare_old = old.clone();
    if let Some(m) = compare_old
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        m.remove("resourceVersion");
    }
    if compare_old == body {
        return Ok(current); // a no-op update writes nothing and keeps the resourceVersion
    }
    if dry_run {
        return Ok(Obj::build(
            &rt.key(),
            key.clone(),
            current.rv,
            &mut body,
            None,
        ));
    }
    let finalizers_empty = body
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_none_or(|f| f.is_empty());
    let pod_waiting_for_kubelet = rt.plural == "pods"
        && rt.group.is_empty()
        && current
            .pod()
            .is_some_and(|p| p.node_name.is_some() && !p.phase.is_terminal());
    if current.deleting && finalizers_empty && !pod_waiting_for_kubelet && rt.plural != "namespaces"
    {
        // The last finalizer is gone: the object can finally be removed.
        let obj = data.put(&rt.key(), key.clone(), body);
        data.remove(&rt.key(), key);
        return Ok(obj);
    }
    Ok(data.put(&rt.key(), key.clone(), body))
}

/// PATCH: apply the patch to the stored object, then update as PUT would.
#[allow(clippy::too_many_arguments)]
pub fn patch(
    data: &mut ClusterData,
    rt: &ResourceType,
    key: &ObjKey,
    patch_type: PatchType,
    body: &[u8],
    status_only: bool,
    now: Timestamp,
    dry_run: bool,
) -> ApiResult<Arc<Obj>> {
    let Some(current) = data.get(&rt.key(), key) else {
        if patch_type == PatchType::Apply && !status_only {
            // Server-side apply creates what does not exist yet.
            let applied = apply_patch(&json!({}), patch_type, body, &rt.kind, rt.builtin)
                .map_err(patch_error)?;
            return create(data, rt, &key.namespace, applied, now, dry_run);
        }
        return Err(ApiError::not_found(&rt.group, &rt.plural, &key.name));
    };
    let old = current.value();
    let mut patched =
        apply_patch(&old, patch_type, body, &rt.kind, rt.builtin).map_err(patch_error)?;
    if patched.get("apiVersion").is_none() {
        patched["apiVersion"] = json!(rt.api_version());
    }
    if patched.get("kind").is_none() {
        patched["kind"] = json!(rt.kind);
    }
    // Applying a patch to the current object: a resourceVersion in the patch is a precondition.
    update(data, rt, key, patched, status_only, dry_run)
}

fn patch_error(e: crate::patch::PatchError) -> ApiError {
    use crate::patch::PatchError;
    match e {
        PatchError::Malformed(m) => ApiError::bad_request(m),
        PatchError::Invalid(m) => ApiError::new(422, "Invalid", m),
        PatchError::Unsupported(m) => ApiError::new(415, "UnsupportedMediaType", m),
    }
}

/// DELETE one object.
pub fn delete(
    data: &mut ClusterData,
    rt: &ResourceType,
    key: &ObjKey,
    opts: &DeleteOptions,
    now: Timestamp,
) -> ApiResult<Deleted> {
    let Some(current) = data.get(&rt.key(), key) else {
        return Err(ApiError::not_found(&rt.group, &rt.plural, &key.name));
    };
    if let Some(uid) = &opts.precondition_uid
        && **uid != *current.uid
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &key.name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                current.uid
            ),
        ));
    }
    if let Some(rv) = &opts.precondition_rv
        && *rv != current.rv.to_string()
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &key.name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                current.rv
            ),
        ));
    }
    if opts.dry_run {
        return Ok(Deleted::Pending(current));
    }
    let mut value = current.value();
    if opts.propagation.as_deref() == Some("Orphan") {
        orphan_dependents(data, &current.uid);
    }
    // Pods bound to a node terminate gracefully: the kubelet gets the grace period.
    if let Some(pod) = current.pod()
        && pod.node_name.is_some()
        && !pod.phase.is_terminal()
    {
        let spec_grace = value
            .pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30);
        let grace = opts.grace_period_seconds.unwrap_or(spec_grace).max(0);
        if grace > 0 {
            let existing = value
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64);
            if current.deleting && existing.is_some_and(|e| e <= grace) {
                return Ok(Deleted::Pending(current)); // already terminating at least as fast
            }
            let deadline = now + jiff::SignedDuration::from_secs(grace);
            value["metadata"]["deletionTimestamp"] = json!(rfc3339(deadline));
            value["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            let obj = data.put(&rt.key(), key.clone(), value);
            // Most processes exit on SIGTERM well before the grace period ends.
            let exit_after = data.rng.range_inclusive(1, 5).min(grace as u64);
            data.schedule(
                now + jiff::SignedDuration::from_secs(exit_after as i64),
                Action::PodTerminated {
                    key: key.clone(),
                    uid: obj.uid.to_string(),
                },
            );
            return Ok(Deleted::Pending(obj));
        }
    }
    let has_finalizers = value
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
    if has_finalizers || is_namespace {
        if current.deleting {
            return Ok(Deleted::Pending(current));
        }
        value["metadata"]["deletionTimestamp"] = json!(rfc3339(now));
        value["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if is_namespace {
            value["status"]["phase"] = json!("Terminating");
        }
        return Ok(Deleted::Pending(data.put(&rt.key(), key.clone(), value)));
    }
    match data.remove(&rt.key(), key) {
        Some(gone) => Ok(Deleted::Gone(gone)),
        None => Err(ApiError::not_found(&rt.group, &rt.plural, &key.name)),
    }
}

/// `propagationPolicy: Orphan`: dependents lose their owner reference instead of being
/// collected.
fn orphan_dependents(data: &mut ClusterData, owner_uid: &str) {
    let Some(deps) = data.index.dependents.get(owner_uid).cloned() else {
        return;
    };
    for (res, key) in deps {
        if let Some(obj) = data.get(&res, &key) {
            let mut v = obj.value();
            if let Some(refs) = v
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
            }
            data.put(&res, key, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns_subdomain("a.b-c.d"));
        assert!(!is_dns_subdomain("A"));
        assert!(!is_dns_subdomain("-a"));
        assert!(is_dns_label("abc-1"));
        assert!(!is_dns_label("a.b"));
    }
}
