//! PATCH application: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge
//! patch and server-side apply bodies, as pure functions over `serde_json::Value`.
//!
//! Strategic merge follows apimachinery's `strategicpatch.StrategicMergeMapPatch` with
//! `MergeParallelList` and `IgnoreUnmatchedNulls` (what the apiserver's patch handler uses):
//! the `$patch`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…` and `$retainKeys`
//! directives, and list merging driven by the `patchStrategy`/`patchMergeKey` struct tags of
//! the built-in types, tabled in [`FIELDS`]. Lists without a merge strategy, and anything the
//! table does not know, are replaced wholesale (upstream's default).
//!
//! Where upstream relies on decoding the merged map back into a typed struct (which drops
//! unknown fields and nulls), values copied verbatim from the patch are cleaned here instead:
//! leftover directive keys and null map entries are removed.
//!
//! Server-side apply is simplified to a merge of the applied configuration into the live
//! object (no managedFields ownership: fields the applier stops sending are not removed),
//! using the same list keys; nulls in the applied configuration are ignored.

use serde_json::{Map, Value};

/// The PATCH body's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

impl PatchType {
    /// Maps a `Content-Type` header to a patch type, ignoring parameters such as
    /// `; charset=utf-8`. `application/apply-patch+cbor` and anything else give `None` (415).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Why a patch could not be applied; each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The body is not valid JSON/YAML or not a well-formed patch: 400 Bad Request.
    #[error("{0}")]
    Malformed(String),
    /// The patch does not apply to this object (failed `test`, bad path, missing merge key):
    /// 422 Unprocessable Entity.
    #[error("{0}")]
    Invalid(String),
    /// Strategic merge patch on a custom resource: 415 Unsupported Media Type.
    #[error("{0}")]
    Unsupported(String),
}

/// Upstream's 415 message for a patch type a resource does not accept (custom resources do
/// not accept strategic merge patches).
const UNSUPPORTED_FOR_CUSTOM_RESOURCES: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// Applies a patch to `target`. `kind` is the object's kind (e.g. "Pod", "Deployment");
/// `builtin` is false for custom resources.
pub fn apply_patch(
    target: &Value,
    patch_type: PatchType,
    body: &[u8],
    kind: &str,
    builtin: bool,
) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => {
            let patch: json_patch::Patch =
                serde_json::from_slice(body).map_err(|e| PatchError::Malformed(e.to_string()))?;
            let mut doc = target.clone();
            json_patch::patch(&mut doc, &patch).map_err(|e| PatchError::Invalid(e.to_string()))?;
            Ok(doc)
        }
        PatchType::Merge => {
            let patch: Value =
                serde_json::from_slice(body).map_err(|e| PatchError::Malformed(e.to_string()))?;
            // evanphx/json-patch MergePatch: a patch that is not an object is ErrBadJSONPatch.
            let Value::Object(patch) = patch else {
                return Err(PatchError::Malformed("Invalid JSON Patch".into()));
            };
            let doc = match target {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            Ok(Value::Object(merge_docs(doc, patch)))
        }
        PatchType::StrategicMerge => {
            if !builtin {
                return Err(PatchError::Unsupported(
                    UNSUPPORTED_FOR_CUSTOM_RESOURCES.into(),
                ));
            }
            let patch: Map<String, Value> =
                serde_json::from_slice(body).map_err(|e| PatchError::Malformed(e.to_string()))?;
            let original = match target {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            merge_map(original, patch, Schema::Kind(kind)).map(Value::Object)
        }
        PatchType::Apply => {
            let applied = parse_apply_body(body)?;
            Ok(apply_merge(target.clone(), applied, Schema::Kind(kind)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386 as evanphx/json-patch implements it)
// ---------------------------------------------------------------------------------------------

fn merge_docs(mut doc: Map<String, Value>, patch: Map<String, Value>) -> Map<String, Value> {
    for (key, value) in patch {
        if value.is_null() {
            remove_key(&mut doc, &key);
            continue;
        }
        let merged = match doc.get(&key) {
            Some(Value::Object(cur)) => match value {
                Value::Object(p) => Value::Object(merge_docs(cur.clone(), p)),
                // An object replaced by a non-object is taken verbatim.
                other => other,
            },
            // New or non-object values: nulls inside are pruned (pruneNulls).
            _ => prune_nulls(value),
        };
        doc.insert(key, merged);
    }
    doc
}

/// Removes null entries from objects, recursively (also inside arrays; array elements that
/// are null themselves stay, as evanphx's pruneAryNulls keeps them).
fn prune_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, prune_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(prune_nulls).collect()),
        other => other,
    }
}

/// Order-preserving removal (also under serde_json's `preserve_order`).
fn remove_key(map: &mut Map<String, Value>, key: &str) {
    map.retain(|k, _| k != key);
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch metadata
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    /// No `patchStrategy` tag: maps merge, lists are replaced.
    Default,
    /// `patchStrategy:"merge"`: lists merge (by `patchMergeKey` for lists of objects).
    Merge,
    /// `patchStrategy:"replace"`: the field is replaced wholesale.
    Replace,
}

/// Where in the type tree a map sits: the object's kind at the root, a named type below it.
#[derive(Debug, Clone, Copy)]
enum Schema<'a> {
    Kind(&'a str),
    Type(&'static str),
    Unknown,
}

struct Field {
    /// The Go type (or, for top-level objects, the kind) holding the field.
    owner: &'static str,
    /// The field's JSON name.
    name: &'static str,
    /// The type of the field's value (of its elements, for lists), if it matters below.
    child: &'static str,
    strategy: Strategy,
    merge_key: &'static str,
}

const fn field(
    owner: &'static str,
    name: &'static str,
    child: &'static str,
    strategy: Strategy,
    merge_key: &'static str,
) -> Field {
    Field {
        owner,
        name,
        child,
        strategy,
        merge_key,
    }
}

use Strategy::{Default as Plain, Merge, Replace};

/// The `patchStrategy`/`patchMergeKey` struct tags of the built-in types (k8s.io/api
/// core/v1, apps/v1, batch/v1, policy/v1, admissionregistration/v1, storage/v1 and
/// apimachinery's ObjectMeta), plus the plain fields that lead to them. Every root kind's
/// `metadata` is an ObjectMeta. "WorkloadSpec"/"WorkloadStatus" stand for the several spec
/// and status types that share the relevant fields (`template`; `conditions` by `type`).
/// Note: NodeSpec.taints and PodSpec.tolerations carry no strategy, so they are atomic.
static FIELDS: &[Field] = &[
    // metav1.ObjectMeta
    field("ObjectMeta", "ownerReferences", "", Merge, "uid"),
    field("ObjectMeta", "finalizers", "", Merge, ""),
    // Pod templates and specs
    field("PodTemplateSpec", "metadata", "ObjectMeta", Plain, ""),
    field("PodTemplateSpec", "spec", "PodSpec", Plain, ""),
    field("PodSpec", "volumes", "", Merge, "name"),
    field("PodSpec", "initContainers", "Container", Merge, "name"),
    field("PodSpec", "containers", "Container", Merge, "name"),
    field("PodSpec", "ephemeralContainers", "Container", Merge, "name"),
    field("PodSpec", "imagePullSecrets", "", Merge, "name"),
    field("PodSpec", "hostAliases", "", Merge, "ip"),
    field(
        "PodSpec",
        "topologySpreadConstraints",
        "",
        Merge,
        "topologyKey",
    ),
    field("PodSpec", "schedulingGates", "", Merge, "name"),
    field("PodSpec", "resourceClaims", "", Merge, "name"),
    field("Container", "ports", "", Merge, "containerPort"),
    field("Container", "env", "", Merge, "name"),
    field("Container", "volumeMounts", "", Merge, "mountPath"),
    field("Container", "volumeDevices", "", Merge, "devicePath"),
    field("PodStatus", "conditions", "", Merge, "type"),
    field("PodStatus", "hostIPs", "", Merge, "ip"),
    field("PodStatus", "podIPs", "", Merge, "ip"),
    field("PodStatus", "resourceClaimStatuses", "", Merge, "name"),
    field(
        "PodStatus",
        "initContainerStatuses",
        "ContainerStatus",
        Plain,
        "",
    ),
    field(
        "PodStatus",
        "containerStatuses",
        "ContainerStatus",
        Plain,
        "",
    ),
    field(
        "PodStatus",
        "ephemeralContainerStatuses",
        "ContainerStatus",
        Plain,
        "",
    ),
    field("ContainerStatus", "volumeMounts", "", Merge, "mountPath"),
    field(
        "ContainerStatus",
        "allocatedResourcesStatus",
        "",
        Merge,
        "name",
    ),
    field("WorkloadSpec", "template", "PodTemplateSpec", Plain, ""),
    field("WorkloadStatus", "conditions", "", Merge, "type"),
    // core/v1 kinds
    field("Pod", "spec", "PodSpec", Plain, ""),
    field("Pod", "status", "PodStatus", Plain, ""),
    field("PodTemplate", "template", "PodTemplateSpec", Plain, ""),
    field("ReplicationController", "spec", "WorkloadSpec", Plain, ""),
    field(
        "ReplicationController",
        "status",
        "WorkloadStatus",
        Plain,
        "",
    ),
    field("Service", "spec", "ServiceSpec", Plain, ""),
    field("Service", "status", "WorkloadStatus", Plain, ""),
    field("ServiceSpec", "ports", "", Merge, "port"),
    field("ServiceAccount", "secrets", "", Merge, "name"),
    field("Node", "spec", "NodeSpec", Plain, ""),
    field("Node", "status", "NodeStatus", Plain, ""),
    field("NodeSpec", "podCIDRs", "", Merge, ""),
    field("NodeStatus", "conditions", "", Merge, "type"),
    field("NodeStatus", "addresses", "", Merge, "type"),
    field("Namespace", "status", "WorkloadStatus", Plain, ""),
    field(
        "PersistentVolumeClaim",
        "status",
        "WorkloadStatus",
        Plain,
        "",
    ),
    field("ComponentStatus", "conditions", "", Merge, "type"),
    // apps/v1 (DeploymentSpec.strategy is "retainKeys" only: maps merge by default anyway)
    field("Deployment", "spec", "WorkloadSpec", Plain, ""),
    field("Deployment", "status", "WorkloadStatus", Plain, ""),
    field("ReplicaSet", "spec", "WorkloadSpec", Plain, ""),
    field("ReplicaSet", "status", "WorkloadStatus", Plain, ""),
    field("DaemonSet", "spec", "WorkloadSpec", Plain, ""),
    field("DaemonSet", "status", "WorkloadStatus", Plain, ""),
    field("StatefulSet", "spec", "WorkloadSpec", Plain, ""),
    field("StatefulSet", "status", "WorkloadStatus", Plain, ""),
    // batch/v1
    field("Job", "spec", "WorkloadSpec", Plain, ""),
    field("Job", "status", "WorkloadStatus", Plain, ""),
    field("CronJob", "spec", "CronJobSpec", Plain, ""),
    field("CronJobSpec", "jobTemplate", "JobTemplateSpec", Plain, ""),
    field("JobTemplateSpec", "metadata", "ObjectMeta", Plain, ""),
    field("JobTemplateSpec", "spec", "WorkloadSpec", Plain, ""),
    // policy/v1
    field(
        "PodDisruptionBudget",
        "spec",
        "PodDisruptionBudgetSpec",
        Plain,
        "",
    ),
    field("PodDisruptionBudget", "status", "WorkloadStatus", Plain, ""),
    field("PodDisruptionBudgetSpec", "selector", "", Replace, ""),
    // admissionregistration.k8s.io/v1
    field(
        "MutatingWebhookConfiguration",
        "webhooks",
        "Webhook",
        Merge,
        "name",
    ),
    field(
        "ValidatingWebhookConfiguration",
        "webhooks",
        "Webhook",
        Merge,
        "name",
    ),
    field("Webhook", "matchConditions", "", Merge, "name"),
    // storage.k8s.io/v1
    field("CSINode", "spec", "CSINodeSpec", Plain, ""),
    field("CSINodeSpec", "drivers", "", Merge, "name"),
];

#[derive(Debug, Clone, Copy)]
struct FieldMeta<'a> {
    schema: Schema<'a>,
    strategy: Strategy,
    merge_key: &'static str,
}

fn lookup<'a>(schema: Schema<'a>, name: &str) -> FieldMeta<'a> {
    let owner = match schema {
        Schema::Kind(_) if name == "metadata" => {
            return FieldMeta {
                schema: Schema::Type("ObjectMeta"),
                strategy: Plain,
                merge_key: "",
            };
        }
        Schema::Kind(kind) => kind,
        Schema::Type(ty) => ty,
        Schema::Unknown => "",
    };
    FIELDS
        .iter()
        .find(|f| f.owner == owner && f.name == name)
        .map_or(
            FieldMeta {
                schema: Schema::Unknown,
                strategy: Plain,
                merge_key: "",
            },
            |f| FieldMeta {
                schema: if f.child.is_empty() {
                    Schema::Unknown
                } else {
                    Schema::Type(f.child)
                },
                strategy: f.strategy,
                merge_key: f.merge_key,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch
// ---------------------------------------------------------------------------------------------

const DIRECTIVE_MARKER: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

// mergepatch's error texts.
const ERR_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const ERR_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const ERR_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";
const ERR_LIST_OF_LISTS: &str = "lists of lists are not supported";

fn malformed(msg: impl Into<String>) -> PatchError {
    PatchError::Malformed(msg.into())
}

fn invalid(msg: impl Into<String>) -> PatchError {
    PatchError::Invalid(msg.into())
}

fn no_merge_key(item: &Value, key: &str) -> PatchError {
    invalid(format!(
        "map: {item} does not contain declared merge key: {key}"
    ))
}

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE_MARKER
        || key == RETAIN_KEYS
        || key.starts_with("$setElementOrder/")
        || key.starts_with("$deleteFromPrimitiveList/")
}

/// `extractKey`: "$prefix/field" → "field".
fn extract_key<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Some(rest),
        _ => None,
    }
}

/// `removeDirectives`: maps carrying `$patch` disappear, everything else is kept (here
/// additionally without leftover directive keys).
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            Some(Value::Object(
                m.into_iter()
                    .filter(|(k, _)| !is_directive_key(k))
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// A value copied verbatim from the patch, cleaned the way decoding into the typed object
/// would clean it: no directive keys, no null map entries.
fn sanitize(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(sanitize_map(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(sanitize).collect()),
        other => other,
    }
}

fn sanitize_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, v)| !is_directive_key(k) && !v.is_null())
        .map(|(k, v)| (k, sanitize(v)))
        .collect()
}

/// The dynamic Go type a decoded JSON value would have (ints and floats differ, as
/// `UnmarshalCaseSensitivePreserveInts` keeps them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoType {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
}

fn go_type(v: &Value) -> GoType {
    match v {
        Value::Null => GoType::Nil,
        Value::Bool(_) => GoType::Bool,
        Value::Number(n) if n.is_f64() => GoType::Float,
        Value::Number(_) => GoType::Int,
        Value::String(_) => GoType::String,
        Value::Array(_) => GoType::Slice,
        Value::Object(_) => GoType::Map,
    }
}

/// `sliceElementType`: all elements of all lists share one type, which is not a list.
fn slice_element_type(lists: &[&[Value]]) -> Result<GoType, PatchError> {
    let mut prev: Option<GoType> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = go_type(v);
        match prev {
            None if t == GoType::Slice => return Err(invalid(ERR_LIST_OF_LISTS)),
            // Upstream panics on a nil element; refuse it instead.
            None if t == GoType::Nil => {
                return Err(invalid("list elements must not be null"));
            }
            None => prev = Some(t),
            Some(p) if p != t => {
                return Err(invalid("list element types are not identical"));
            }
            Some(_) => {}
        }
    }
    prev.ok_or_else(|| invalid("no elements in any of the given slices"))
}

/// `mergeMap`.
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema<'_>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER).cloned() {
        return match directive.as_str() {
            // "$patch: replace" takes the patch map as it is (minus the directive).
            Some("replace") => Ok(sanitize_map(patch)),
            // "$patch: delete" empties the map.
            Some("delete") => Ok(Map::new()),
            _ => Err(invalid(format!(
                "unknown patch type: {directive} in map: {}",
                Value::Object(patch)
            ))),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, schema)?;

    for (key, patch_value) in patch {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            let Some(list_key) = extract_key(&key, DELETE_FROM_PRIMITIVE_LIST) else {
                return Err(malformed(ERR_PRIMITIVE_LIST));
            };
            (list_key.to_string(), true)
        } else {
            (key, false)
        };

        // A null deletes the key (and, with IgnoreUnmatchedNulls, is otherwise dropped).
        if patch_value.is_null() {
            remove_key(&mut original, &key);
            continue;
        }

        let Some(original_value) = original.get(&key) else {
            if !is_delete_list {
                // Not in the original: take the patch value.
                let mut v = patch_value;
                discard_null_values(&mut v);
                match remove_directives(v) {
                    Some(v) => {
                        original.insert(key, v);
                    }
                    None => remove_key(&mut original, &key),
                }
            }
            continue;
        };

        let meta = lookup(schema, &key);
        let merged = match (original_value, patch_value) {
            (o, p) if go_type(o) != go_type(&p) => {
                if is_delete_list {
                    continue;
                }
                let mut p = p;
                discard_null_values(&mut p);
                remove_directives(p)
            }
            (Value::Object(o), Value::Object(p)) => Some(if meta.strategy == Replace {
                Value::Object(sanitize_map(p))
            } else {
                Value::Object(merge_map(o.clone(), p, meta.schema)?)
            }),
            (Value::Array(o), Value::Array(p)) => Some(Value::Array(merge_slice_handler(
                o.clone(),
                p,
                meta,
                is_delete_list,
            )?)),
            (_, p) => remove_directives(p),
        };
        match merged {
            Some(v) => {
                original.insert(key, v);
            }
            None => remove_key(&mut original, &key),
        }
    }
    Ok(original)
}

/// `discardNullValuesFromPatch`.
fn discard_null_values(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_null_values);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_null_values),
        _ => {}
    }
}

/// `applyRetainKeysDirective`: keep only the listed keys of the original; every non-null
/// key of the patch must be listed.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.get(RETAIN_KEYS).cloned() else {
        return Ok(());
    };
    remove_key(patch, RETAIN_KEYS);
    let Value::Array(retain) = retain else {
        return Err(malformed(ERR_RETAIN_KEYS));
    };
    let listed = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(malformed(ERR_RETAIN_KEYS));
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `mergePatchIntoOriginal`: for every `$setElementOrder/<field>`, merge the field's list (if
/// the patch has one) and order the result: `$setElementOrder` first, then the live order.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema<'_>,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let order = patch.get(&key).cloned().unwrap_or(Value::Null);
        remove_key(patch, &key);
        let Value::Array(order) = order else {
            return Err(invalid(format!(
                "expected a []interface {{}}, but received {order} for {key}"
            )));
        };
        let Some(list_key) = extract_key(&key, SET_ELEMENT_ORDER) else {
            return Err(malformed(ERR_SET_ELEMENT_ORDER));
        };
        let as_list = |v: Option<&Value>| -> Result<Option<Vec<Value>>, PatchError> {
            match v {
                None => Ok(None),
                Some(Value::Array(a)) => Ok(Some(a.clone())),
                Some(other) => Err(invalid(format!(
                    "expected a list for {list_key}, got {other}"
                ))),
            }
        };
        let original_list = as_list(original.get(list_key))?;
        let patch_list = as_list(patch.get(list_key))?;
        let meta = lookup(schema, list_key);

        validate_patch_with_set_order_list(
            patch_list.as_deref().unwrap_or(&[]),
            &order,
            meta.merge_key,
        )?;

        let merged = match (&original_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => p.iter().cloned().filter_map(remove_directives).collect(),
            (Some(o), Some(p)) => merge_slice_handler(o.clone(), p.clone(), meta, false)?,
            (None, None) => continue,
        };

        let (patch_items, server_only) = partition(merged, &order, meta.merge_key)?;
        let original_list = original_list.unwrap_or_default();
        let kind = slice_element_type(&[&original_list, patch_list.as_deref().unwrap_or(&[])])?;
        let ordered = normalize_element_order(
            patch_items,
            server_only,
            &order,
            &original_list,
            meta.merge_key,
            kind,
        )?;
        original.insert(list_key.to_string(), Value::Array(ordered));
        remove_key(patch, list_key);
    }
    Ok(())
}

/// `validatePatchWithSetOrderList`: the patch list's items appear in `$setElementOrder` in the
/// same relative order.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if merge_key.is_empty() {
        patch_list.iter().collect()
    } else {
        let mut kept = Vec::new();
        for v in patch_list {
            let Value::Object(m) = v else {
                return Err(invalid(format!("expected a map in the list, got {v}")));
            };
            if m.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some("delete") {
                kept.push(v);
            }
        }
        kept
    };
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < order.len() {
        if non_delete[pi].get(DIRECTIVE_MARKER).is_some() {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[pi], &order[si], merge_key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= order.len() {
        return Err(invalid(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            Value::Array(patch_list.to_vec()),
            Value::Array(order.to_vec())
        )));
    }
    Ok(())
}

fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let l = left
        .get(merge_key)
        .ok_or_else(|| no_merge_key(left, merge_key))?;
    let r = right
        .get(merge_key)
        .ok_or_else(|| no_merge_key(right, merge_key))?;
    Ok(l == r)
}

/// `mergeSliceHandler`: merge lists with the merge strategy (and deletion lists), replace the
/// others.
fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta<'_>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if meta.strategy == Merge || is_delete_list {
        merge_slice(original, patch, meta, is_delete_list)
    } else {
        Ok(patch.into_iter().map(sanitize).collect())
    }
}

/// `mergeSlice`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta<'_>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = slice_element_type(&[&original, &patch])?;

    if kind != GoType::Map {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        let (patch_items, server_only) = partition(merged, &patch, "")?;
        return normalize_element_order(patch_items, server_only, &patch, &original, "", kind);
    }

    let key = meta.merge_key;
    if key.is_empty() {
        return Err(invalid(format!(
            "cannot merge lists without merge key for {:?}",
            meta.schema
        )));
    }
    let (original, patch) = merge_slice_with_special_elements(original, patch, key)?;
    let merged = merge_slice_without_special_elements(original.clone(), &patch, key, meta.schema)?;
    let (patch_items, server_only) = partition(merged, &patch, key)?;
    normalize_element_order(patch_items, server_only, &patch, &original, key, kind)
}

/// `mergeSliceWithSpecialElements`: apply `{"$patch": "delete", key: …}` elements to the
/// original, and `{"$patch": "replace"}` by taking the rest of the patch as the whole list.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::new();
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.get(DIRECTIVE_MARKER) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(value) = v.get(key) else {
                    return Err(no_merge_key(&v, key));
                };
                for o in &original {
                    if !o.is_object() {
                        return Err(invalid(format!("value {o} is not a map")));
                    }
                }
                original.retain(|o| o.get(key) != Some(value));
            }
            // Keep scanning to drop any other special elements.
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(invalid(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => {
                return Err(invalid(format!(
                    "unknown patch type: {directive} in map: {v}"
                )));
            }
        }
    }
    if replace {
        Ok((plain.into_iter().map(sanitize).collect(), Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// `mergeSliceWithoutSpecialElements`: merge each patch element into the original element
/// with the same merge key value, or append it.
fn merge_slice_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    schema: Schema<'_>,
) -> Result<Vec<Value>, PatchError> {
    for v in patch {
        let Value::Object(p) = v else {
            return Err(invalid(format!("expected a map in the list, got {v}")));
        };
        let Some(value) = p.get(key) else {
            return Err(no_merge_key(v, key));
        };
        match find_by_key(&original, key, value)? {
            Some(i) => {
                let Value::Object(o) = std::mem::take(&mut original[i]) else {
                    return Err(invalid("list element is not a map"));
                };
                original[i] = Value::Object(merge_map(o, p.clone(), schema)?);
            }
            None => original.push(sanitize(v.clone())),
        }
    }
    Ok(original)
}

/// `findMapInSliceBasedOnKeyValue`.
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(invalid(format!("value for key {i} is not a map")));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `partitionPrimitivesByPresentInList`/`partitionMapsByPresentInList`: the merged items the
/// patch (or `$setElementOrder`) names, and the server-only rest.
fn partition(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut in_patch = Vec::new();
    let mut server_only = Vec::new();
    for v in merged {
        let found = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let Some(value) = v.get(merge_key) else {
                return Err(no_merge_key(&v, merge_key));
            };
            find_by_key(by, merge_key, value)?.is_some()
        };
        if found {
            in_patch.push(v);
        } else {
            server_only.push(v);
        }
    }
    Ok((in_patch, server_only))
}

/// `normalizeElementOrder`: sort the patch items by the patch order and the server-only items
/// by the live order, then interleave them (`mergeSortedSlice`).
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;

    // Take the server item first only when both are in the live list and it comes first;
    // so new patch items go before the remaining server-only ones, as upstream.
    let mut out = Vec::with_capacity(patch_items.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch_items.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index_in(server_order, l, merge_key, kind),
                    index_in(server_order, r, merge_key, kind),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}

/// `normalizeSliceOrder`: stable sort by position in `order`; deletion directives go last.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>, PatchError> {
    let (mut keep, deletes) = if kind == GoType::Map {
        for v in to_sort.iter().chain(order.iter()) {
            if !v.is_object() {
                return Err(invalid(format!("expected a map in the list, got {v}")));
            }
            if v.get(merge_key).is_none() {
                return Err(no_merge_key(v, merge_key));
            }
        }
        to_sort
            .into_iter()
            .partition(|v| v.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some("delete"))
    } else {
        (to_sort, Vec::new())
    };
    // Items not found in `order` sort last (upstream's comparator is not a strict order there).
    keep.sort_by_key(|v| index_in(order, v, merge_key, kind).unwrap_or(usize::MAX));
    keep.extend(deletes);
    Ok(keep)
}

/// `index`: position of the item in `list`, compared by merge key value for maps.
fn index_in(list: &[Value], item: &Value, merge_key: &str, kind: GoType) -> Option<usize> {
    if kind == GoType::Map {
        let wanted = item.get(merge_key);
        list.iter().position(|v| v.get(merge_key) == wanted)
    } else {
        list.iter().position(|v| v == item)
    }
}

// ---------------------------------------------------------------------------------------------
// Server-side apply (simplified)
// ---------------------------------------------------------------------------------------------

fn parse_apply_body(body: &[u8]) -> Result<Value, PatchError> {
    let applied: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => serde_saphyr::from_slice(body)
            .map_err(|e| malformed(format!("error decoding YAML: {e}")))?,
    };
    if !applied.is_object() {
        return Err(malformed(
            "error decoding YAML: the apply configuration must be an object",
        ));
    }
    // fieldmanager: an apply configuration may not set managedFields.
    if applied
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(Value::is_array)
    {
        return Err(malformed("metadata.managedFields must be nil"));
    }
    Ok(applied)
}

/// Merges an apply configuration into the live object: maps merge, lists with a merge key
/// merge by it, merge lists of primitives are unioned, other lists are replaced.
fn apply_merge(target: Value, applied: Value, schema: Schema<'_>) -> Value {
    match (target, applied) {
        (Value::Object(mut live), Value::Object(config)) => {
            for (key, value) in config {
                if value.is_null() {
                    continue;
                }
                let meta = lookup(schema, &key);
                let merged = match live.get(&key) {
                    Some(existing) => apply_merge_field(existing.clone(), value, meta),
                    None => prune_nulls(value),
                };
                live.insert(key, merged);
            }
            Value::Object(live)
        }
        (_, applied) => prune_nulls(applied),
    }
}

fn apply_merge_field(existing: Value, value: Value, meta: FieldMeta<'_>) -> Value {
    match (existing, value) {
        (existing @ Value::Object(_), value @ Value::Object(_)) if meta.strategy != Replace => {
            apply_merge(existing, value, meta.schema)
        }
        (Value::Array(mut live), Value::Array(config)) if meta.strategy == Merge => {
            for item in config {
                let position = if meta.merge_key.is_empty() {
                    live.iter().position(|v| *v == item)
                } else {
                    item.get(meta.merge_key)
                        .and_then(|k| live.iter().position(|v| v.get(meta.merge_key) == Some(k)))
                };
                match position {
                    Some(i) if !meta.merge_key.is_empty() => {
                        let current = std::mem::take(&mut live[i]);
                        live[i] = apply_merge(current, item, meta.schema);
                    }
                    Some(_) => {}
                    None => live.push(prune_nulls(item)),
                }
            }
            Value::Array(live)
        }
        (_, value) => prune_nulls(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug)]
    enum Want {
        Ok(Value),
        Malformed,
        Invalid,
        Unsupported,
    }

    /// Applies `body` to `target` and compares the outcome.
    fn check(
        kind: &str,
        builtin: bool,
        target: Value,
        patch_type: PatchType,
        body: &str,
        want: Want,
    ) {
        let got = apply_patch(&target, patch_type, body.as_bytes(), kind, builtin);
        match (&got, &want) {
            (Ok(v), Want::Ok(w)) => assert_eq!(v, w, "{patch_type:?} {body}"),
            (Err(PatchError::Malformed(_)), Want::Malformed)
            | (Err(PatchError::Invalid(_)), Want::Invalid)
            | (Err(PatchError::Unsupported(_)), Want::Unsupported) => {}
            _ => panic!("{patch_type:?} {body}: got {got:?}, want {want:?}"),
        }
    }

    fn smp(kind: &str, target: Value, patch: Value, want: Want) {
        check(
            kind,
            true,
            target,
            PatchType::StrategicMerge,
            &patch.to_string(),
            want,
        );
    }

    #[test]
    fn content_types() {
        let cases = [
            ("application/json-patch+json", Some(PatchType::Json)),
            ("application/merge-patch+json", Some(PatchType::Merge)),
            (
                "application/strategic-merge-patch+json; charset=utf-8",
                Some(PatchType::StrategicMerge),
            ),
            ("application/apply-patch+yaml", Some(PatchType::Apply)),
            (
                "Application/Apply-Patch+YAML ;charset=utf-8",
                Some(PatchType::Apply),
            ),
            ("application/apply-patch+cbor", None),
            ("application/json", None),
            ("", None),
        ];
        for (ct, want) in cases {
            assert_eq!(PatchType::from_content_type(ct), want, "{ct}");
        }
    }

    #[test]
    fn json_merge_patch() {
        let target = json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"list": [1, 2], "obj": {"k": "v"}}});
        let cases = [
            (
                r#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#,
                Want::Ok(
                    json!({"metadata": {"name": "x", "labels": {"b": "2", "c": "3"}}, "spec": {"list": [1, 2], "obj": {"k": "v"}}}),
                ),
            ),
            (
                r#"{"spec":{"list":[3],"obj":"flat"}}"#,
                Want::Ok(
                    json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"list": [3], "obj": "flat"}}),
                ),
            ),
            // New values lose their nulls, also inside objects within lists.
            (
                r#"{"spec":{"new":{"a":null,"b":1},"list":[{"x":null,"y":2},null]}}"#,
                Want::Ok(
                    json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
                             "spec": {"list": [{"y": 2}, null], "obj": {"k": "v"}, "new": {"b": 1}}}),
                ),
            ),
            (
                r#"{"spec":null}"#,
                Want::Ok(json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}})),
            ),
            ("[1]", Want::Malformed),
            ("null", Want::Malformed),
            ("{not json", Want::Malformed),
        ];
        for (body, want) in cases {
            check(
                "ConfigMap",
                true,
                target.clone(),
                PatchType::Merge,
                body,
                want,
            );
        }
    }

    #[test]
    fn json_patch() {
        let target =
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"replicas": 1}});
        let cases = [
            (
                r#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/labels/b","value":"2"}]"#,
                Want::Ok(
                    json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 3}}),
                ),
            ),
            (
                r#"[{"op":"test","path":"/spec/replicas","value":1},{"op":"remove","path":"/metadata/labels/a"}]"#,
                Want::Ok(json!({"metadata": {"name": "x", "labels": {}}, "spec": {"replicas": 1}})),
            ),
            (
                r#"[{"op":"test","path":"/spec/replicas","value":2}]"#,
                Want::Invalid,
            ),
            (r#"[{"op":"remove","path":"/spec/missing"}]"#, Want::Invalid),
            (
                r#"[{"op":"add","path":"/no/such/parent","value":1}]"#,
                Want::Invalid,
            ),
            (r#"{"op":"add"}"#, Want::Malformed),
            (r#"[{"op":"frobnicate","path":"/x"}]"#, Want::Malformed),
        ];
        for (body, want) in cases {
            check(
                "Deployment",
                true,
                target.clone(),
                PatchType::Json,
                body,
                want,
            );
        }
        // The target is untouched when a later operation fails.
        let err = apply_patch(&target, PatchType::Json,
            br#"[{"op":"replace","path":"/spec/replicas","value":9},{"op":"test","path":"/x","value":1}]"#, "Deployment", true);
        assert!(
            matches!(err, Err(PatchError::Invalid(ref m)) if m.contains("/x")),
            "{err:?}"
        );
    }

    #[test]
    fn strategic_merge_is_unsupported_for_custom_resources() {
        check(
            "Widget",
            false,
            json!({}),
            PatchType::StrategicMerge,
            "{}",
            Want::Unsupported,
        );
        // Even a body that is not JSON: upstream rejects the media type before reading it.
        check(
            "Widget",
            false,
            json!({}),
            PatchType::StrategicMerge,
            "{",
            Want::Unsupported,
        );
        let got = apply_patch(
            &json!({}),
            PatchType::StrategicMerge,
            b"{}",
            "Widget",
            false,
        );
        match got {
            Err(PatchError::Unsupported(m)) => assert_eq!(
                m,
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            ),
            other => panic!("{other:?}"),
        }
        // Merge patches still work on custom resources.
        check(
            "Widget",
            false,
            json!({"spec": {"a": 1}}),
            PatchType::Merge,
            r#"{"spec":{"b":2}}"#,
            Want::Ok(json!({"spec": {"a": 1, "b": 2}})),
        );
    }

    fn deployment(containers: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}}})
    }

    fn web() -> Value {
        json!({"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80, "protocol": "TCP"}],
               "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]})
    }

    fn log() -> Value {
        json!({"name": "log", "image": "busybox"})
    }

    #[test]
    fn strategic_merge_containers() {
        let patched_web = |extra: Value| {
            let mut c = web();
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        let cases = [
            // kubectl set image: merged by name, other containers and fields kept.
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}),
                Want::Ok(deployment(json!([
                    patched_web(json!({"image": "nginx:2"})),
                    log()
                ]))),
            ),
            // A new container goes before the remaining live ones (mergeSortedSlice).
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "envoy", "args": null}]}}}}),
                Want::Ok(deployment(
                    json!([{"name": "side", "image": "envoy"}, web(), log()]),
                )),
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "log", "$patch": "delete"}]}}}}),
                Want::Ok(deployment(json!([web()]))),
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}}}}),
                Want::Ok(deployment(json!([{"name": "only", "image": "x"}]))),
            ),
            // env by name, ports by containerPort.
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web",
                "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}, {"name": "A", "$patch": "delete"}],
                "ports": [{"containerPort": 80, "name": "http"}]}]}}}}),
                Want::Ok(deployment(json!([
                    patched_web(json!({
                 "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]})),
                    log()
                ]))),
            ),
            // kubectl apply reordering with $setElementOrder.
            (
                json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "log"}, {"name": "web"}],
                                                     "containers": [{"name": "log", "image": "busybox:2"}]}}}}),
                Want::Ok(deployment(
                    json!([{"name": "log", "image": "busybox:2"}, web()]),
                )),
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}}),
                Want::Invalid,
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "merge"}]}}}}),
                Want::Invalid,
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "explode"}]}}}}),
                Want::Invalid,
            ),
            (
                json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "web"}],
                                                     "containers": [{"name": "log", "image": "x"}, {"name": "web", "image": "y"}]}}}}),
                Want::Invalid,
            ),
        ];
        for (patch, want) in cases {
            smp("Deployment", deployment(json!([web(), log()])), patch, want);
        }
        // The same lists inside a CronJob's job template and a Pod.
        let cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [web(), log()]}}}}}});
        smp(
            "CronJob",
            cron,
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "log", "image": "b2"}]}}}}}}),
            Want::Ok(
                json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [web(), {"name": "log", "image": "b2"}]}}}}}}),
            ),
        );
        smp(
            "Pod",
            json!({"spec": {"containers": [web()], "tolerations": [{"key": "a"}, {"key": "b"}]}}),
            json!({"spec": {"tolerations": [{"key": "c"}], "volumes": [{"name": "v", "emptyDir": {}}]}}),
            Want::Ok(
                json!({"spec": {"containers": [web()], "tolerations": [{"key": "c"}], "volumes": [{"name": "v", "emptyDir": {}}]}}),
            ),
        );
    }

    /// Upstream's own strategic merge test cases (patch_test.go, the three-way patch applied to
    /// the current object), with `mergingList` as a Pod's containers and `mergingIntList` as
    /// finalizers.
    #[test]
    fn strategic_merge_upstream_ordering_cases() {
        let c = |names: &[&str]| -> Value { names.iter().map(|n| json!({"name": n})).collect() };
        let pod = |containers: Value| json!({"spec": {"containers": containers}});
        let cases = [
            // "merge lists of maps"
            (
                pod(
                    json!([{"name": "1", "other": "a"}, {"name": "2", "value": "2", "other": "b"}]),
                ),
                json!({"spec": {"$setElementOrder/containers": c(&["4", "1", "2", "3"]),
                             "containers": [{"name": "4", "value": "4"}, {"name": "3", "value": "3"}]}}),
                pod(
                    json!([{"name": "4", "value": "4"}, {"name": "1", "other": "a"}, {"name": "2", "value": "2", "other": "b"},
                        {"name": "3", "value": "3"}]),
                ),
            ),
            // "set elements order in a list with server-only items"
            (
                pod(
                    json!([{"name": "1", "other": "a"}, {"name": "3", "value": "3"}, {"name": "4", "value": "4"},
                        {"name": "2", "value": "2"}, {"name": "9"}]),
                ),
                json!({"spec": {"$setElementOrder/containers": c(&["4", "2", "3", "1"])}}),
                pod(
                    json!([{"name": "4", "value": "4"}, {"name": "2", "value": "2"}, {"name": "3", "value": "3"},
                        {"name": "1", "other": "a"}, {"name": "9"}]),
                ),
            ),
            // "add map to merging list by pointer"
            (
                pod(json!([{"name": "1", "other": "a"}, {"name": "3"}])),
                json!({"spec": {"$setElementOrder/containers": c(&["1", "2"]), "containers": [{"name": "2"}]}}),
                pod(json!([{"name": "1", "other": "a"}, {"name": "2"}, {"name": "3"}])),
            ),
            // "delete map from merging list" (with a server-only item)
            (
                pod(json!([{"name": "1"}, {"name": "2"}, {"name": "3"}])),
                json!({"spec": {"$setElementOrder/containers": c(&["2"]), "containers": [{"name": "1", "$patch": "delete"}]}}),
                pod(json!([{"name": "2"}, {"name": "3"}])),
            ),
        ];
        for (current, patch, result) in cases {
            smp("Pod", current, patch, Want::Ok(result));
        }
    }

    #[test]
    fn strategic_merge_primitive_lists_and_metadata() {
        let cases = [
            // "merge lists of scalars": $setElementOrder [1,2,3] + [3] onto [1,2,4].
            (
                json!({"metadata": {"finalizers": ["1", "2", "4"]}}),
                json!({"metadata": {"$setElementOrder/finalizers": ["1", "2", "3"], "finalizers": ["3"]}}),
                Want::Ok(json!({"metadata": {"finalizers": ["1", "2", "3", "4"]}})),
            ),
            // Without an order directive new items go first.
            (
                json!({"metadata": {"finalizers": ["a", "b"]}}),
                json!({"metadata": {"finalizers": ["c", "a"]}}),
                Want::Ok(json!({"metadata": {"finalizers": ["c", "a", "b"]}})),
            ),
            (
                json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "x"]}}),
                Want::Ok(json!({"metadata": {"finalizers": ["a", "c"]}})),
            ),
            // Deleting from an absent list does not create it.
            (
                json!({"metadata": {}}),
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
                Want::Ok(json!({"metadata": {}})),
            ),
            (
                json!({"metadata": {"finalizers": ["a"]}}),
                json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
                Want::Malformed,
            ),
            // ownerReferences merge by uid.
            (
                json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}}),
                json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "b", "controller": true}]}}),
                Want::Ok(
                    json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b", "controller": true}]}}),
                ),
            ),
            // kubectl label / annotate: map merge, null deletes.
            (
                json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
                json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
                Want::Ok(json!({"metadata": {"labels": {"b": "2", "c": "3"}}})),
            ),
            // "$patch: replace" and "$patch: delete" on maps.
            (
                json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
                json!({"metadata": {"labels": {"$patch": "replace", "x": "y"}}}),
                Want::Ok(json!({"metadata": {"labels": {"x": "y"}}})),
            ),
            (
                json!({"metadata": {"labels": {"a": "1"}}}),
                json!({"metadata": {"labels": {"$patch": "delete"}}}),
                Want::Ok(json!({"metadata": {"labels": {}}})),
            ),
            (
                json!({"metadata": {"labels": {"a": "1"}}}),
                json!({"metadata": {"annotations": {"$patch": "delete"}}}),
                Want::Ok(json!({"metadata": {"labels": {"a": "1"}}})),
            ),
            (
                json!({"metadata": {"labels": {"a": "1"}}}),
                json!({"metadata": {"labels": {"$patch": "frob"}}}),
                Want::Invalid,
            ),
            // New keys lose nested nulls.
            (
                json!({"metadata": {}}),
                json!({"metadata": {"annotations": {"a": "1", "b": null}}}),
                Want::Ok(json!({"metadata": {"annotations": {"a": "1"}}})),
            ),
        ];
        for (target, patch, want) in cases {
            smp("ConfigMap", target, patch, want);
        }
    }

    #[test]
    fn strategic_merge_nodes_services_and_strategies() {
        let node = json!({
            "metadata": {"name": "n1"},
            "spec": {"podCIDRs": ["10.0.0.0/24"], "taints": [{"key": "a", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "False", "reason": "Old"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}]}});
        let with = |path: &[&str], v: Value| {
            let mut n = node.clone();
            let mut cur = &mut n;
            for p in path {
                cur = &mut cur[*p];
            }
            *cur = v;
            n
        };
        let cases = [
            // kubectl cordon.
            (
                json!({"spec": {"unschedulable": true}}),
                with(&["spec", "unschedulable"], json!(true)),
            ),
            // Kubelet status update: conditions by type, live order kept.
            (
                json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}),
                with(
                    &["status", "conditions"],
                    json!([{"type": "MemoryPressure", "status": "False"},
                                                    {"type": "Ready", "status": "True", "reason": "KubeletReady"}]),
                ),
            ),
            (
                json!({"status": {"addresses": [{"type": "Hostname", "address": "n1.example"}]}}),
                with(
                    &["status", "addresses"],
                    json!([{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1.example"}]),
                ),
            ),
            // Taints have no patch strategy: replaced.
            (
                json!({"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}}),
                with(
                    &["spec", "taints"],
                    json!([{"key": "b", "effect": "NoExecute"}]),
                ),
            ),
            (
                json!({"spec": {"podCIDRs": ["fd00::/64"]}}),
                with(&["spec", "podCIDRs"], json!(["fd00::/64", "10.0.0.0/24"])),
            ),
        ];
        for (patch, want) in cases {
            smp("Node", node.clone(), patch, Want::Ok(want));
        }

        smp(
            "Service",
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
            json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}),
            Want::Ok(
                json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}}),
            ),
        );
        // The same field name without a strategy elsewhere is replaced.
        smp(
            "ConfigMap",
            json!({"spec": {"ports": [{"port": 80}]}}),
            json!({"spec": {"ports": [{"port": 443}]}}),
            Want::Ok(json!({"spec": {"ports": [{"port": 443}]}})),
        );
        // PDB selector: patchStrategy "replace".
        smp(
            "PodDisruptionBudget",
            json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "minAvailable": 1}}),
            json!({"spec": {"selector": {"matchLabels": {"b": "2"}}}}),
            Want::Ok(json!({"spec": {"selector": {"matchLabels": {"b": "2"}}, "minAvailable": 1}})),
        );
        // Deployment strategy switch with $retainKeys (kubectl apply).
        let dep = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        smp(
            "Deployment",
            dep.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            Want::Ok(json!({"spec": {"strategy": {"type": "Recreate"}}})),
        );
        smp(
            "Deployment",
            dep.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}}),
            Want::Malformed,
        );
        smp(
            "Deployment",
            dep,
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
            Want::Malformed,
        );
        // A top-level "$patch: replace" replaces the object.
        smp(
            "ConfigMap",
            json!({"data": {"a": "1"}, "metadata": {"name": "x"}}),
            json!({"$patch": "replace", "data": {"b": "2"}}),
            Want::Ok(json!({"data": {"b": "2"}})),
        );
        check(
            "ConfigMap",
            true,
            json!({}),
            PatchType::StrategicMerge,
            "[]",
            Want::Malformed,
        );
        check(
            "ConfigMap",
            true,
            json!({}),
            PatchType::StrategicMerge,
            "{",
            Want::Malformed,
        );
    }

    /// What `kubectl apply` (client side) sends when a manifest changes an image and an env var,
    /// drops a container and keeps the last-applied annotation.
    #[test]
    fn strategic_merge_kubectl_apply() {
        let live = json!({
            "metadata": {"name": "web", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{old}", "other": "x"}},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [web(), log()]}}}});
        let patch = json!({
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}"}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [
                    {"$setElementOrder/env": [{"name": "A"}, {"name": "B"}], "name": "web", "image": "nginx:2",
                     "env": [{"name": "B", "value": "22"}]},
                    {"$patch": "delete", "name": "log"}]}}}});
        let mut want_web = web();
        want_web["image"] = json!("nginx:2");
        want_web["env"] = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "22"}]);
        let want = json!({
            "metadata": {"name": "web", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}", "other": "x"}},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [want_web]}}}});
        smp("Deployment", live, patch, Want::Ok(want));
    }

    /// Bodies captured from kubectl 1.32 (`apply` of a changed manifest, `set image`, `cordon`),
    /// applied to a live Deployment that carries server-side defaults.
    #[test]
    fn strategic_merge_real_kubectl_bodies() {
        let live = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{v1}", "other": "x"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"rollingUpdate": {"maxSurge": 1}, "type": "RollingUpdate"},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"restartPolicy": "Always", "containers": [
                         {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "image": "nginx:1", "name": "web",
                          "ports": [{"containerPort": 80, "protocol": "TCP"}], "terminationMessagePath": "/dev/termination-log"},
                         {"image": "busybox", "name": "log"}]}}}});
        let apply = r#"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{v2}\n"}},"spec":{"replicas":3,"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},"template":{"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"web"}],"containers":[{"image":"envoy","name":"side"},{"$setElementOrder/env":[{"name":"B"},{"name":"C"}],"$setElementOrder/ports":[{"containerPort":80},{"containerPort":443}],"env":[{"name":"B","value":"22"},{"name":"C","value":"3"},{"$patch":"delete","name":"A"}],"image":"nginx:2","name":"web","ports":[{"containerPort":443}]},{"$patch":"delete","name":"log"}]}}}}"#;
        let mut applied = live.clone();
        applied["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
            json!("{v2}\n");
        applied["spec"]["replicas"] = json!(3);
        applied["spec"]["strategy"] = json!({"type": "Recreate"});
        applied["spec"]["template"]["spec"]["containers"] = json!([
            {"image": "envoy", "name": "side"},
            {"env": [{"name": "B", "value": "22"}, {"name": "C", "value": "3"}], "image": "nginx:2", "name": "web",
             "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}], "terminationMessagePath": "/dev/termination-log"}]);
        let set_image = r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"log"}],"containers":[{"image":"nginx:3","name":"web"}]}}}}"#;
        let mut image_set = live.clone();
        image_set["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:3");
        let cases = [
            ("Deployment", apply, applied),
            ("Deployment", set_image, image_set),
        ];
        for (kind, body, want) in cases {
            check(
                kind,
                true,
                live.clone(),
                PatchType::StrategicMerge,
                body,
                Want::Ok(want),
            );
        }
        check(
            "Node",
            true,
            json!({"metadata": {"name": "n1"}, "spec": {}}),
            PatchType::StrategicMerge,
            r#"{"spec":{"unschedulable":true}}"#,
            Want::Ok(json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}})),
        );
    }

    #[test]
    fn server_side_apply() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"a": "1"}, "finalizers": ["f1"]},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [web(), log()]}}}});
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  creationTimestamp: null\n  labels:\n    b: \"2\"\n  finalizers: [f2, f1]\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:3\n        env:\n        - name: C\n          value: \"3\"\n";
        let mut want = live.clone();
        want["metadata"]["labels"]["b"] = json!("2");
        want["metadata"]["finalizers"] = json!(["f1", "f2"]);
        want["spec"]["replicas"] = json!(3);
        let mut want_web = web();
        want_web["image"] = json!("nginx:3");
        want_web["env"] = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]);
        want["spec"]["template"]["spec"]["containers"] = json!([want_web, log()]);
        let cases = [
            (yaml.to_string(), Want::Ok(want)),
            // JSON is YAML too (kubectl --server-side and kube-rs send JSON).
            (r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"tolerations":[{"key":"t"}]}}}}"#.to_string(),
             Want::Ok({
                 let mut w = live.clone();
                 w["spec"]["template"]["spec"]["tolerations"] = json!([{"key": "t"}]);
                 w
             })),
            ("metadata:\n  name: web\n  managedFields: []\n".to_string(), Want::Malformed),
            ("metadata: [unclosed\n".to_string(), Want::Malformed),
            ("- just\n- a list\n".to_string(), Want::Malformed),
        ];
        for (body, want) in cases {
            check(
                "Deployment",
                true,
                live.clone(),
                PatchType::Apply,
                &body,
                want,
            );
        }
        // Custom resources accept apply.
        check(
            "Widget",
            false,
            json!({"spec": {"a": 1, "list": [1, 2]}}),
            PatchType::Apply,
            "spec:\n  list: [3]\n  b: x\n",
            Want::Ok(json!({"spec": {"a": 1, "b": "x", "list": [3]}})),
        );
    }
}
