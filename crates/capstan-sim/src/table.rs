//! Server-side Table printing: what kube-apiserver returns for
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! Column definitions and cell logic follow upstream's
//! `pkg/printers/internalversion/printers.go` (built-in resources),
//! `apiserver/pkg/registry/rest/table.go` (the default convertor: Name + "Created At") and
//! `apiextensions-apiserver/.../tableconvertor` (custom resources). The server always prints
//! with `Wide: true`, so every row carries the priority-1 cells too; kubectl drops them unless
//! `-o wide`. Pure functions over `serde_json::Value`; `now` is the simulated wall time.
//!
//! Deliberate simplifications: quantities are printed as stored (upstream prints the
//! canonical form, which equals the stored form when the writer canonicalised it); fields
//! that upstream's defaulting always sets (`spec.replicas`, service port protocol, service
//! type) are read with the same defaults when absent.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// The `includeObject` query parameter of a Table request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    /// Parses the query parameter; absent or empty means `Metadata`, as upstream.
    pub fn parse(s: Option<&str>) -> Result<Self, String> {
        match s.unwrap_or("") {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            // Upstream (handlers/response.go asTable): BadRequest with this message.
            other => Err(format!("unrecognized includeObject value: {other:?}")),
        }
    }
}

/// Column definitions for a resource (group "" for core). Unknown resources get the default
/// table convertor's columns: Name and "Created At".
pub fn column_definitions(group: &str, plural: &str) -> Vec<Value> {
    builtin_columns(group, plural)
        .unwrap_or(DEFAULT_COLUMNS)
        .iter()
        .map(Col::to_json)
        .collect()
}

/// One row: `{"cells":[...], "object": ...}` (plus `conditions` for finished pods, as upstream).
pub fn row(
    group: &str,
    plural: &str,
    obj: &Value,
    include: IncludeObject,
    now: Timestamp,
) -> Value {
    let (cells, conditions) = builtin_cells(group, plural, obj, now);
    assemble_row(cells, conditions, obj, include)
}

/// Metadata-only form of an object, as `meta.AsPartialObjectMetadata` gives it.
pub fn partial_object_metadata(obj: &Value) -> Value {
    let mut metadata = obj
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // metav1.Time is a struct, so `omitempty` never drops it: a zero time encodes as null.
    metadata.entry("creationTimestamp").or_insert(Value::Null);
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
    })
}

/// Columns for a custom resource from the CRD version's `additionalPrinterColumns`.
/// Without any, the CRD gets upstream's default `Age` column (`.metadata.creationTimestamp`).
pub fn custom_column_definitions(printer_columns: &[Value]) -> Vec<Value> {
    let mut defs = vec![Col::to_json(&NAME_COLUMN)];
    for c in effective_printer_columns(printer_columns) {
        defs.push(json!({
            "name": c.name,
            "type": c.ty,
            "format": c.format,
            "description": c.description,
            "priority": c.priority,
        }));
    }
    defs
}

/// One custom resource row: the name, then one cell per printer column.
pub fn custom_row(
    printer_columns: &[Value],
    obj: &Value,
    include: IncludeObject,
    now: Timestamp,
) -> Value {
    let mut cells = vec![json!(name_of(obj))];
    for c in effective_printer_columns(printer_columns) {
        cells.push(custom_cell(&c, obj, now));
    }
    assemble_row(cells, None, obj, include)
}

fn assemble_row(
    cells: Vec<Value>,
    conditions: Option<Value>,
    obj: &Value,
    include: IncludeObject,
) -> Value {
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(cells));
    if let Some(conditions) = conditions {
        row.insert("conditions".into(), conditions);
    }
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row.insert("object".into(), partial_object_metadata(obj));
        }
        IncludeObject::Object => {
            row.insert("object".into(), obj.clone());
        }
    }
    Value::Object(row)
}

// ---------------------------------------------------------------------------------------------
// Column tables
// ---------------------------------------------------------------------------------------------

struct Col {
    name: &'static str,
    ty: &'static str,
    format: &'static str,
    priority: u8,
    description: &'static str,
}

const fn col(
    name: &'static str,
    ty: &'static str,
    format: &'static str,
    priority: u8,
    description: &'static str,
) -> Col {
    Col {
        name,
        ty,
        format,
        priority,
        description,
    }
}

impl Col {
    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

const NAME_COLUMN: Col = col("Name", "string", "name", 0, DESC_NAME);

/// `rest.NewDefaultTableConvertor`: used by every built-in resource without a printer
/// (roles, clusterroles, customresourcedefinitions, limitranges, ...).
static DEFAULT_COLUMNS: &[Col] = &[
    NAME_COLUMN,
    col("Created At", "date", "", 0, DESC_CREATION_TIMESTAMP),
];

fn builtin_columns(group: &str, plural: &str) -> Option<&'static [Col]> {
    Some(match (group, plural) {
        ("", "pods") => PODS,
        ("", "podtemplates") => POD_TEMPLATES,
        ("", "replicationcontrollers") => REPLICATION_CONTROLLERS,
        ("", "services") => SERVICES,
        ("", "endpoints") => ENDPOINTS,
        ("", "nodes") => NODES,
        ("", "events") | ("events.k8s.io", "events") => EVENTS,
        ("", "namespaces") => NAMESPACES,
        ("", "secrets") => SECRETS,
        ("", "serviceaccounts") => SERVICE_ACCOUNTS,
        ("", "persistentvolumes") => PERSISTENT_VOLUMES,
        ("", "persistentvolumeclaims") => PERSISTENT_VOLUME_CLAIMS,
        ("", "componentstatuses") => COMPONENT_STATUSES,
        ("", "configmaps") => CONFIG_MAPS,
        ("", "resourcequotas") => RESOURCE_QUOTAS,
        ("apps", "deployments") => DEPLOYMENTS,
        ("apps", "replicasets") => REPLICA_SETS,
        ("apps", "daemonsets") => DAEMON_SETS,
        ("apps", "statefulsets") => STATEFUL_SETS,
        ("apps", "controllerrevisions") => CONTROLLER_REVISIONS,
        ("batch", "jobs") => JOBS,
        ("batch", "cronjobs") => CRON_JOBS,
        ("policy", "poddisruptionbudgets") => PDBS,
        ("networking.k8s.io", "networkpolicies") => NETWORK_POLICIES,
        ("networking.k8s.io", "ingresses") => INGRESSES,
        ("networking.k8s.io", "ingressclasses") => INGRESS_CLASSES,
        ("coordination.k8s.io", "leases") => LEASES,
        ("rbac.authorization.k8s.io", "rolebindings") => ROLE_BINDINGS,
        ("rbac.authorization.k8s.io", "clusterrolebindings") => CLUSTER_ROLE_BINDINGS,
        ("storage.k8s.io", "storageclasses") => STORAGE_CLASSES,
        ("scheduling.k8s.io", "priorityclasses") => PRIORITY_CLASSES,
        ("discovery.k8s.io", "endpointslices") => ENDPOINT_SLICES,
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations")
        | ("admissionregistration.k8s.io", "validatingwebhookconfigurations") => {
            WEBHOOK_CONFIGURATIONS
        }
        _ => return None,
    })
}

type Cells = (Vec<Value>, Option<Value>);

fn builtin_cells(group: &str, plural: &str, obj: &Value, now: Timestamp) -> Cells {
    let plain = |cells: Vec<Value>| (cells, None);
    match (group, plural) {
        ("", "pods") => pod_cells(obj, now),
        ("", "podtemplates") => plain(pod_template_cells(obj)),
        ("", "replicationcontrollers") => plain(replication_controller_cells(obj, now)),
        ("", "services") => plain(service_cells(obj, now)),
        ("", "endpoints") => plain(endpoints_cells(obj, now)),
        ("", "nodes") => plain(node_cells(obj, now)),
        ("", "events") => plain(event_cells(obj, now)),
        ("events.k8s.io", "events") => plain(event_cells(&core_event_view(obj), now)),
        ("", "namespaces") => plain(vec![
            json!(name_of(obj)),
            json!(str_at(obj, &["status", "phase"])),
            json!(age(obj, now)),
        ]),
        ("", "secrets") => plain(vec![
            json!(name_of(obj)),
            json!(str_at(obj, &["type"])),
            json!(len_at(obj, &["data"])),
            json!(age(obj, now)),
        ]),
        ("", "serviceaccounts") => plain(vec![
            json!(name_of(obj)),
            json!(len_at(obj, &["secrets"])),
            json!(age(obj, now)),
        ]),
        ("", "persistentvolumes") => plain(persistent_volume_cells(obj, now)),
        ("", "persistentvolumeclaims") => plain(persistent_volume_claim_cells(obj, now)),
        ("", "componentstatuses") => plain(component_status_cells(obj)),
        ("", "configmaps") => plain(vec![
            json!(name_of(obj)),
            json!(len_at(obj, &["data"]) + len_at(obj, &["binaryData"])),
            json!(age(obj, now)),
        ]),
        ("", "resourcequotas") => plain(resource_quota_cells(obj, now)),
        ("apps", "deployments") => plain(deployment_cells(obj, now)),
        ("apps", "replicasets") => plain(replica_set_cells(obj, now)),
        ("apps", "daemonsets") => plain(daemon_set_cells(obj, now)),
        ("apps", "statefulsets") => plain(stateful_set_cells(obj, now)),
        ("apps", "controllerrevisions") => plain(controller_revision_cells(obj, now)),
        ("batch", "jobs") => plain(job_cells(obj, now)),
        ("batch", "cronjobs") => plain(cron_job_cells(obj, now)),
        ("policy", "poddisruptionbudgets") => plain(pdb_cells(obj, now)),
        ("networking.k8s.io", "networkpolicies") => plain(vec![
            json!(name_of(obj)),
            json!(format_label_selector(
                at(obj, &["spec", "podSelector"]).unwrap_or(&EMPTY)
            )),
            json!(age(obj, now)),
        ]),
        ("networking.k8s.io", "ingresses") => plain(ingress_cells(obj, now)),
        ("networking.k8s.io", "ingressclasses") => plain(ingress_class_cells(obj, now)),
        ("coordination.k8s.io", "leases") => plain(vec![
            json!(name_of(obj)),
            json!(str_at(obj, &["spec", "holderIdentity"])),
            json!(age(obj, now)),
        ]),
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            plain(role_binding_cells(obj, now))
        }
        ("storage.k8s.io", "storageclasses") => plain(storage_class_cells(obj, now)),
        ("scheduling.k8s.io", "priorityclasses") => plain(vec![
            json!(name_of(obj)),
            json!(int_at(obj, &["value"])),
            json!(bool_at(obj, &["globalDefault"])),
            json!(age(obj, now)),
            json!(str_at(obj, &["preemptionPolicy"])),
        ]),
        ("discovery.k8s.io", "endpointslices") => plain(endpoint_slice_cells(obj, now)),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations" | "validatingwebhookconfigurations",
        ) => plain(vec![
            json!(name_of(obj)),
            json!(len_at(obj, &["webhooks"])),
            json!(age(obj, now)),
        ]),
        _ => plain(vec![
            json!(name_of(obj)),
            json!(rfc3339(creation_timestamp(obj))),
        ]),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON access helpers (absent or mistyped fields read as Go zero values)
// ---------------------------------------------------------------------------------------------

static EMPTY: Value = Value::Null;

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    if cur.is_null() { None } else { Some(cur) }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

fn int_at(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

fn bool_at(v: &Value, path: &[&str]) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn len_at(v: &Value, path: &[&str]) -> i64 {
    let n = match at(v, path) {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn name_of(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"])
}

/// A `*int32` field that upstream's defaulting sets to 1 when unset (`spec.replicas`).
fn replicas(obj: &Value) -> i64 {
    at(obj, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// `intstr.IntOrString.String()`.
fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `resource.Quantity.String()` of a possibly absent quantity: the zero quantity prints "0".
fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// A `metav1.Time`/`MicroTime` field; `None` for absent, null, unparseable or Go-zero times.
fn time_at(v: &Value, path: &[&str]) -> Option<Timestamp> {
    parse_time(at(v, path)?.as_str()?)
}

fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>()
        .ok()
        .filter(|t| t.as_second() != GO_ZERO_TIME_SECONDS)
}

fn creation_timestamp(obj: &Value) -> Option<Timestamp> {
    time_at(obj, &["metadata", "creationTimestamp"])
}

/// `translateTimestampSince`: "<unknown>" for a zero time, else `HumanDuration(now - t)`.
fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        None => "<unknown>".to_string(),
        Some(t) => human_duration_signed(now.duration_since(t)),
    }
}

fn age(obj: &Value, now: Timestamp) -> String {
    since(creation_timestamp(obj), now)
}

/// `time.Time.UTC().Format(time.RFC3339)`, as the default table convertor prints "Created At".
fn rfc3339(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// `duration.HumanDuration` for a signed duration: up to 2s in the future reads as "0s"
/// (clock skew tolerance), further in the future is "<invalid>".
fn human_duration_signed(d: jiff::SignedDuration) -> String {
    let secs = d.as_secs();
    if secs < -1 {
        return "<invalid>".to_string();
    }
    if secs < 0 || d.is_negative() {
        return "0s".to_string();
    }
    let std = std::time::Duration::new(secs.unsigned_abs(), d.subsec_nanos().unsigned_abs());
    capstan_core::duration::human_age(std)
}

// ---------------------------------------------------------------------------------------------
// Shared formatting
// ---------------------------------------------------------------------------------------------

/// `labels.FormatLabels`: sorted `k=v` pairs joined by ",", or "<none>".
fn format_labels(v: Option<&Value>) -> String {
    let mut pairs: Vec<String> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".to_string()
    } else {
        pairs.join(",")
    }
}

/// `metav1.LabelSelectorAsSelector(sel).String()`; `Err` where upstream fails to convert.
/// A nil selector is `labels.Nothing()` and an empty one `labels.Everything()`; both print "".
fn label_selector_string(sel: &Value) -> Result<String, ()> {
    let Some(sel) = sel.as_object() else {
        return Ok(String::new());
    };
    // (key, rendered requirement); sorted by key like internalSelector.Add.
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let key = str_at(expr, &["key"]);
        let mut values: Vec<&str> = arr_at(expr, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let rendered = match str_at(expr, &["operator"]) {
            "In" | "NotIn" if values.is_empty() => return Err(()),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => return Err(()),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key.to_string(), rendered));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: "<none>" when empty, "<error>" when unconvertible.
fn format_label_selector(sel: &Value) -> String {
    match label_selector_string(sel) {
        Err(()) => "<error>".to_string(),
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
    }
}

/// `layoutContainerCells`: container names and images, comma separated.
fn container_cells(pod_spec: Option<&Value>) -> (String, String) {
    let containers = pod_spec.map(|s| arr_at(s, &["containers"])).unwrap_or(&[]);
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// `net.JoinHostPort`.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `listWithMoreString`.
fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count - max);
    }
    if ret.is_empty() {
        "<unset>".to_string()
    } else {
        ret
    }
}

// ---------------------------------------------------------------------------------------------
// Built-in printers
// ---------------------------------------------------------------------------------------------

fn is_restartable_init_container(c: &Value) -> bool {
    str_at(c, &["restartPolicy"]) == "Always"
}

fn has_condition(status: &Value, ty: &str) -> bool {
    arr_at(status, &["conditions"])
        .iter()
        .any(|c| str_at(c, &["type"]) == ty && str_at(c, &["status"]) == "True")
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `printPod`: READY, STATUS (upstream's reason logic), RESTARTS, AGE; wide IP, NODE,
/// NOMINATED NODE, READINESS GATES. Finished pods carry the `Completed` row condition.
fn pod_cells(pod: &Value, now: Timestamp) -> Cells {
    let spec = at(pod, &["spec"]).unwrap_or(&EMPTY);
    let status = at(pod, &["status"]).unwrap_or(&EMPTY);
    let init_specs = arr_at(spec, &["initContainers"]);

    let mut restarts: i64 = 0;
    let mut restartable_restarts: i64 = 0;
    let total = arr_at(spec, &["containers"]).len()
        + init_specs
            .iter()
            .filter(|c| is_restartable_init_container(c))
            .count();
    let mut ready = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_restart: Option<Timestamp> = None;

    let phase = str_at(status, &["phase"]);
    let mut reason = phase.to_string();
    if !str_at(status, &["reason"]).is_empty() {
        reason = str_at(status, &["reason"]).to_string();
    }
    for c in arr_at(status, &["conditions"]) {
        if str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    let conditions = match phase {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    };

    let restartable_by_name = |name: &str| {
        init_specs
            .iter()
            .any(|c| str_at(c, &["name"]) == name && is_restartable_init_container(c))
    };

    let mut initializing = false;
    for (i, c) in arr_at(status, &["initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += int_at(c, &["restartCount"]);
        let finished = time_at(c, &["lastState", "terminated", "finishedAt"]);
        last_restart = later(last_restart, finished);
        let restartable = restartable_by_name(str_at(c, &["name"]));
        if restartable {
            restartable_restarts += int_at(c, &["restartCount"]);
            last_restartable_restart = later(last_restartable_restart, finished);
        }
        let terminated = at(c, &["state", "terminated"]);
        let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
        match terminated {
            Some(t) if int_at(t, &["exitCode"]) == 0 => continue,
            _ if restartable && bool_at(c, &["started"]) => {
                if bool_at(c, &["ready"]) {
                    ready += 1;
                }
                continue;
            }
            Some(t) => {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    format!("Init:{r}")
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Init:Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("Init:ExitCode:{}", int_at(t, &["exitCode"]))
                };
            }
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                reason = format!("Init:{waiting_reason}");
            }
            None => reason = format!("Init:{i}/{}", init_specs.len()),
        }
        initializing = true;
        break;
    }

    if !initializing || has_condition(status, "Initialized") {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for c in arr_at(status, &["containerStatuses"]).iter().rev() {
            restarts += int_at(c, &["restartCount"]);
            last_restart = later(
                last_restart,
                time_at(c, &["lastState", "terminated", "finishedAt"]),
            );
            let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
            let terminated = at(c, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    r.to_string()
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", int_at(t, &["exitCode"]))
                };
            } else if bool_at(c, &["ready"]) && at(c, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // Back to "Running" if at least one container still runs.
        if reason == "Completed" && has_running {
            reason = if has_condition(status, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    if at(pod, &["metadata", "deletionTimestamp"]).is_some() {
        if str_at(status, &["reason"]) == "NodeLost" {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    // The v1 → internal conversion makes a set status.podIP authoritative over podIPs[0].
    let pod_ip = match str_at(status, &["podIP"]) {
        "" => arr_at(status, &["podIPs"])
            .first()
            .map(|ip| str_at(ip, &["ip"]))
            .unwrap_or(""),
        ip => ip,
    };
    let gates = arr_at(spec, &["readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_conditions = gates
            .iter()
            .filter(|g| {
                let ty = str_at(g, &["conditionType"]);
                arr_at(status, &["conditions"])
                    .iter()
                    .find(|c| str_at(c, &["type"]) == ty)
                    .is_some_and(|c| str_at(c, &["status"]) == "True")
            })
            .count();
        format!("{true_conditions}/{}", gates.len())
    };

    let cells = vec![
        json!(name_of(pod)),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        json!(age(pod, now)),
        json!(or_none(pod_ip)),
        json!(or_none(str_at(spec, &["nodeName"]))),
        json!(or_none(str_at(status, &["nominatedNodeName"]))),
        json!(readiness_gates),
    ];
    (cells, conditions)
}

fn pod_template_cells(obj: &Value) -> Vec<Value> {
    let (names, images) = container_cells(at(obj, &["template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(names),
        json!(images),
        json!(format_labels(at(obj, &["template", "metadata", "labels"]))),
    ]
}

fn replication_controller_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(at(obj, &["spec", "template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(replicas(obj)),
        json!(int_at(obj, &["status", "replicas"])),
        json!(int_at(obj, &["status", "readyReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_labels(at(obj, &["spec", "selector"]))),
    ]
}

fn replica_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(at(obj, &["spec", "template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(replicas(obj)),
        json!(int_at(obj, &["status", "replicas"])),
        json!(int_at(obj, &["status", "readyReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(
            at(obj, &["spec", "selector"]).unwrap_or(&EMPTY)
        )),
    ]
}

fn deployment_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(at(obj, &["spec", "template", "spec"]));
    // printDeployment uses LabelSelectorAsSelector directly: "" for none, "<invalid>" on error.
    let selector = label_selector_string(at(obj, &["spec", "selector"]).unwrap_or(&EMPTY))
        .unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        json!(name_of(obj)),
        json!(format!(
            "{}/{}",
            int_at(obj, &["status", "readyReplicas"]),
            replicas(obj)
        )),
        json!(int_at(obj, &["status", "updatedReplicas"])),
        json!(int_at(obj, &["status", "availableReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector),
    ]
}

fn daemon_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(at(obj, &["spec", "template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(int_at(obj, &["status", "desiredNumberScheduled"])),
        json!(int_at(obj, &["status", "currentNumberScheduled"])),
        json!(int_at(obj, &["status", "numberReady"])),
        json!(int_at(obj, &["status", "updatedNumberScheduled"])),
        json!(int_at(obj, &["status", "numberAvailable"])),
        json!(format_labels(at(
            obj,
            &["spec", "template", "spec", "nodeSelector"]
        ))),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(
            at(obj, &["spec", "selector"]).unwrap_or(&EMPTY)
        )),
    ]
}

fn stateful_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(at(obj, &["spec", "template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(format!(
            "{}/{}",
            int_at(obj, &["status", "readyReplicas"]),
            replicas(obj)
        )),
        json!(age(obj, now)),
        json!(names),
        json!(images),
    ]
}

fn controller_revision_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let controller = arr_at(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| bool_at(r, &["controller"]))
        .map(|r| {
            // formatResourceName(GroupKind, name, withKind=true): "kind.group/name".
            let api_version = str_at(r, &["apiVersion"]);
            let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
            let kind = str_at(r, &["kind"]);
            let gk = if group.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}.{group}")
            };
            let name = str_at(r, &["name"]);
            if gk.is_empty() {
                name.to_string()
            } else {
                format!("{}/{name}", gk.to_lowercase())
            }
        })
        .unwrap_or_else(|| "<none>".to_string());
    vec![
        json!(name_of(obj)),
        json!(controller),
        json!(int_at(obj, &["revision"])),
        json!(age(obj, now)),
    ]
}

fn job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int_at(obj, &["status", "succeeded"]);
    let completions = match at(obj, &["spec", "completions"]).and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int_at(obj, &["spec", "parallelism"]);
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let duration = match (
        time_at(obj, &["status", "startTime"]),
        time_at(obj, &["status", "completionTime"]),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration_signed(now.duration_since(start)),
        (Some(start), Some(done)) => human_duration_signed(done.duration_since(start)),
    };
    let status = at(obj, &["status"]).unwrap_or(&EMPTY);
    // hasJobCondition looks at the first condition of the type only.
    let job_condition = |ty: &str| {
        arr_at(status, &["conditions"])
            .iter()
            .find(|c| str_at(c, &["type"]) == ty)
            .is_some_and(|c| str_at(c, &["status"]) == "True")
    };
    let state = if job_condition("Complete") {
        "Complete"
    } else if job_condition("Failed") {
        "Failed"
    } else if at(obj, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else if job_condition("Suspended") {
        "Suspended"
    } else if job_condition("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = container_cells(at(obj, &["spec", "template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(state),
        json!(completions),
        json!(duration),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(
            at(obj, &["spec", "selector"]).unwrap_or(&EMPTY)
        )),
    ]
}

fn cron_job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let last_schedule = match at(obj, &["status", "lastScheduleTime"]) {
        Some(_) => since(time_at(obj, &["status", "lastScheduleTime"]), now),
        None => "<none>".to_string(),
    };
    let time_zone = at(obj, &["spec", "timeZone"])
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    // printBoolPtr.
    let suspend = match at(obj, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let job_spec = at(obj, &["spec", "jobTemplate", "spec"]).unwrap_or(&EMPTY);
    let (names, images) = container_cells(at(job_spec, &["template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["spec", "schedule"])),
        json!(time_zone),
        json!(suspend),
        json!(len_at(obj, &["status", "active"])),
        json!(last_schedule),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(
            at(job_spec, &["selector"]).unwrap_or(&EMPTY)
        )),
    ]
}

/// `loadBalancerStatusStringer` with wide output (the server always prints wide, so no
/// 16-character clipping): sorted, de-duplicated IPs or hostnames.
fn load_balancer_ingress(status: Option<&Value>) -> String {
    let set: BTreeSet<&str> = status
        .map(|s| arr_at(s, &["ingress"]))
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, &["ip"]);
            let host = str_at(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn service_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = at(obj, &["spec"]).unwrap_or(&EMPTY);
    let svc_type = at(spec, &["type"])
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    // As for pod IPs, the v1 → internal conversion prefers a set spec.clusterIP.
    let cluster_ip = at(spec, &["clusterIP"])
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            arr_at(spec, &["clusterIPs"])
                .first()
                .and_then(Value::as_str)
        })
        .filter(|s| !s.is_empty())
        .unwrap_or("<none>");
    let external_ips: Vec<&str> = arr_at(spec, &["externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // getServiceExternalIP.
    let external_ip = match svc_type {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_string()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(at(obj, &["status", "loadBalancer"]));
            if !external_ips.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').collect()
                };
                all.extend(external_ips.iter().copied());
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(spec, &["externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    };
    // makePortString.
    let ports: Vec<String> = arr_at(spec, &["ports"])
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let protocol = at(p, &["protocol"])
                .and_then(Value::as_str)
                .unwrap_or("TCP");
            let node_port = int_at(p, &["nodePort"]);
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        json!(name_of(obj)),
        json!(svc_type),
        json!(cluster_ip),
        json!(external_ip),
        json!(ports),
        json!(age(obj, now)),
        json!(format_labels(at(spec, &["selector"]))),
    ]
}

/// `formatEndpoints(endpoints, nil)`: up to three addresses, then "+ N more...".
fn endpoints_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let subsets = arr_at(obj, &["subsets"]);
    let formatted = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        const MAX: usize = 3;
        let mut list: Vec<String> = Vec::new();
        let mut more = false;
        let mut count = 0usize;
        for ss in subsets {
            let addresses = arr_at(ss, &["addresses"]);
            let ports = arr_at(ss, &["ports"]);
            if ports.is_empty() {
                // Headless services with no ports.
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    list.push(str_at(a, &["ip"]).to_string());
                }
                continue;
            }
            for p in ports {
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    list.push(join_host_port(str_at(a, &["ip"]), int_at(p, &["port"])));
                }
            }
        }
        let ret = list.join(",");
        if more {
            format!("{ret} + {} more...", count - MAX)
        } else {
            ret
        }
    };
    vec![json!(name_of(obj)), json!(formatted), json!(age(obj, now))]
}

fn endpoint_slice_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    const MAX: usize = 3;
    let mut ports: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for p in arr_at(obj, &["ports"]) {
        if ports.len() < MAX {
            let label = match (at(p, &["port"]).and_then(Value::as_i64), at(p, &["name"])) {
                (Some(n), _) => n.to_string(),
                (None, Some(Value::String(name))) => name.clone(),
                _ => "*".to_string(),
            };
            ports.push(label);
        } else if ports.len() == MAX {
            more = true;
        }
        count += 1;
    }
    let ports = list_with_more(&ports, more, count, MAX);

    let mut addrs: Vec<String> = Vec::new();
    let (mut more, mut count) = (false, 0usize);
    for e in arr_at(obj, &["endpoints"]) {
        for a in arr_at(e, &["addresses"]) {
            if addrs.len() < MAX {
                addrs.push(a.as_str().unwrap_or("").to_string());
            } else if addrs.len() == MAX {
                more = true;
            }
            count += 1;
        }
    }
    let endpoints = list_with_more(&addrs, more, count, MAX);
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["addressType"])),
        json!(ports),
        json!(endpoints),
        json!(age(obj, now)),
    ]
}

/// `printNode`: STATUS from the Ready condition (+ SchedulingDisabled), ROLES from labels.
fn node_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    // conditionMap keeps the last condition of each type.
    let ready = arr_at(obj, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready");
    let mut status: Vec<&str> = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(obj, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }

    let mut roles: BTreeSet<&str> = BTreeSet::new();
    if let Some(labels) = at(obj, &["metadata", "labels"]).and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role);
                }
            } else if k == "kubernetes.io/role" {
                let v = v.as_str().unwrap_or("");
                if !v.is_empty() {
                    roles.insert(v);
                }
            }
        }
    }
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };

    let address = |ty: &str| {
        arr_at(obj, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == ty)
            .map(|a| str_at(a, &["address"]).to_string())
            .unwrap_or_else(|| "<none>".to_string())
    };
    let info = |field: &str| {
        let v = str_at(obj, &["status", "nodeInfo", field]);
        if v.is_empty() { "<unknown>" } else { v }
    };
    vec![
        json!(name_of(obj)),
        json!(status.join(",")),
        json!(roles),
        json!(age(obj, now)),
        json!(str_at(obj, &["status", "nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

/// An events.k8s.io/v1 Event in core/v1 shape (the internal type both versions convert to).
fn core_event_view(obj: &Value) -> Value {
    let pick = |k: &str| obj.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "metadata": pick("metadata"),
        "type": pick("type"),
        "reason": pick("reason"),
        "message": pick("note"),
        "involvedObject": pick("regarding"),
        "source": pick("deprecatedSource"),
        "firstTimestamp": pick("deprecatedFirstTimestamp"),
        "lastTimestamp": pick("deprecatedLastTimestamp"),
        "count": pick("deprecatedCount"),
        "series": pick("series"),
        "eventTime": pick("eventTime"),
        "reportingComponent": pick("reportingController"),
        "reportingInstance": pick("reportingInstance"),
    })
}

/// `printEvent` (wide): LAST SEEN, TYPE, REASON, OBJECT, SUBOBJECT, SOURCE, MESSAGE,
/// FIRST SEEN, COUNT, NAME.
fn event_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let first = match time_at(obj, &["firstTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => since(time_at(obj, &["eventTime"]), now),
    };
    let mut last = match time_at(obj, &["lastTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_at(obj, &["count"]);
    if let Some(series) = at(obj, &["series"]) {
        last = since(time_at(series, &["lastObservedTime"]), now);
        count = int_at(series, &["count"]);
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }
    let kind = str_at(obj, &["involvedObject", "kind"]).to_lowercase();
    let involved_name = str_at(obj, &["involvedObject", "name"]);
    let target = if involved_name.is_empty() {
        kind
    } else {
        format!("{kind}/{involved_name}")
    };
    // formatEventSource: component (or reportingController), then ", host" (or instance).
    let first_non_empty = |a: &str, b: &str| if a.is_empty() { b } else { a }.to_string();
    let component = first_non_empty(
        str_at(obj, &["source", "component"]),
        str_at(obj, &["reportingComponent"]),
    );
    let instance = first_non_empty(
        str_at(obj, &["source", "host"]),
        str_at(obj, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(str_at(obj, &["type"])),
        json!(str_at(obj, &["reason"])),
        json!(target),
        json!(str_at(obj, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(str_at(obj, &["message"]).trim()),
        json!(first),
        json!(count),
        json!(name_of(obj)),
    ]
}

/// `helper.GetAccessModesAsString`.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// `GetPersistentVolume(Claim)Class`: the beta annotation wins over spec.storageClassName.
fn storage_class_of(obj: &Value) -> &str {
    at(
        obj,
        &[
            "metadata",
            "annotations",
            "volume.beta.kubernetes.io/storage-class",
        ],
    )
    .and_then(Value::as_str)
    .unwrap_or_else(|| str_at(obj, &["spec", "storageClassName"]))
}

fn terminating_phase(obj: &Value) -> &str {
    if at(obj, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else {
        str_at(obj, &["status", "phase"])
    }
}

fn unset_or<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or("<unset>")
}

fn persistent_volume_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let claim = match at(obj, &["spec", "claimRef"]) {
        Some(r) => format!("{}/{}", str_at(r, &["namespace"]), str_at(r, &["name"])),
        None => String::new(),
    };
    vec![
        json!(name_of(obj)),
        json!(quantity(at(obj, &["spec", "capacity", "storage"]))),
        json!(access_modes(arr_at(obj, &["spec", "accessModes"]))),
        json!(str_at(obj, &["spec", "persistentVolumeReclaimPolicy"])),
        json!(terminating_phase(obj)),
        json!(claim),
        json!(storage_class_of(obj)),
        json!(unset_or(obj, &["spec", "volumeAttributesClassName"])),
        json!(str_at(obj, &["status", "reason"])),
        json!(age(obj, now)),
        json!(unset_or(obj, &["spec", "volumeMode"])),
    ]
}

fn persistent_volume_claim_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let volume_name = str_at(obj, &["spec", "volumeName"]);
    let (capacity, modes) = if volume_name.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(at(obj, &["status", "capacity", "storage"])),
            access_modes(arr_at(obj, &["status", "accessModes"])),
        )
    };
    vec![
        json!(name_of(obj)),
        json!(terminating_phase(obj)),
        json!(volume_name),
        json!(capacity),
        json!(modes),
        json!(storage_class_of(obj)),
        json!(unset_or(obj, &["spec", "volumeAttributesClassName"])),
        json!(age(obj, now)),
        json!(unset_or(obj, &["spec", "volumeMode"])),
    ]
}

fn component_status_cells(obj: &Value) -> Vec<Value> {
    let healthy = arr_at(obj, &["conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if str_at(c, &["status"]) == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            },
            str_at(c, &["message"]),
            str_at(c, &["error"]),
        ),
        None => ("Unknown", "", ""),
    };
    vec![
        json!(name_of(obj)),
        json!(status),
        json!(message),
        json!(error),
    ]
}

fn resource_quota_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let mut request = Vec::new();
    let mut limit = Vec::new();
    if let Some(hard) = at(obj, &["status", "hard"]).and_then(Value::as_object) {
        // SortableResourceNames: by name.
        let mut hard: Vec<(&String, &Value)> = hard.iter().collect();
        hard.sort_by(|a, b| a.0.cmp(b.0));
        for (resource, hard_qty) in hard {
            let used = quantity(at(obj, &["status", "used", resource]));
            let entry = format!("{resource}: {used}/{}", quantity(Some(hard_qty)));
            let pieces: Vec<&str> = resource.split('.').collect();
            if pieces.len() > 1 && pieces[0] == "limits" {
                limit.push(entry);
            } else {
                request.push(entry);
            }
        }
    }
    vec![
        json!(name_of(obj)),
        json!(request.join(", ")),
        json!(limit.join(", ")),
        json!(age(obj, now)),
    ]
}

fn pdb_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let or_na = |v: Option<&Value>| v.map(int_or_string).unwrap_or_else(|| "N/A".to_string());
    vec![
        json!(name_of(obj)),
        json!(or_na(at(obj, &["spec", "minAvailable"]))),
        json!(or_na(at(obj, &["spec", "maxUnavailable"]))),
        json!(int_at(obj, &["status", "disruptionsAllowed"])),
        json!(age(obj, now)),
    ]
}

fn ingress_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    // formatHosts.
    let rules = arr_at(obj, &["spec", "rules"]);
    const MAX: usize = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
        }
        let host = str_at(rule, &["host"]);
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - MAX)
    } else {
        hosts.join(",")
    };
    let ports = if arr_at(obj, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        json!(name_of(obj)),
        json!(
            at(obj, &["spec", "ingressClassName"])
                .and_then(Value::as_str)
                .unwrap_or("<none>")
        ),
        json!(hosts),
        json!(load_balancer_ingress(at(obj, &["status", "loadBalancer"]))),
        json!(ports),
        json!(age(obj, now)),
    ]
}

fn ingress_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let parameters = match at(obj, &["spec", "parameters"]) {
        Some(p) => {
            let mut s = str_at(p, &["kind"]).to_string();
            if let Some(group) = at(p, &["apiGroup"]).and_then(Value::as_str) {
                s = format!("{s}.{group}");
            }
            format!("{s}/{}", str_at(p, &["name"]))
        }
        None => "<none>".to_string(),
    };
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["spec", "controller"])),
        json!(parameters),
        json!(age(obj, now)),
    ]
}

/// `printRoleBinding`/`printClusterRoleBinding` with `rbac.SubjectsStrings`.
fn role_binding_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for s in arr_at(obj, &["subjects"]) {
        let name = str_at(s, &["name"]);
        match str_at(s, &["kind"]) {
            "ServiceAccount" => {
                service_accounts.push(format!("{}/{name}", str_at(s, &["namespace"])));
            }
            "User" => users.push(name.to_string()),
            "Group" => groups.push(name.to_string()),
            _ => {}
        }
    }
    vec![
        json!(name_of(obj)),
        json!(format!(
            "{}/{}",
            str_at(obj, &["roleRef", "kind"]),
            str_at(obj, &["roleRef", "name"])
        )),
        json!(age(obj, now)),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(service_accounts.join(", ")),
    ]
}

fn storage_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let annotation = |k: &str| str_at(obj, &["metadata", "annotations", k]) == "true";
    let mut name = name_of(obj).to_string();
    if annotation("storageclass.kubernetes.io/is-default-class")
        || annotation("storageclass.beta.kubernetes.io/is-default-class")
    {
        name.push_str(" (default)");
    }
    vec![
        json!(name),
        json!(str_at(obj, &["provisioner"])),
        json!(
            at(obj, &["reclaimPolicy"])
                .and_then(Value::as_str)
                .unwrap_or("Delete")
        ),
        json!(
            at(obj, &["volumeBindingMode"])
                .and_then(Value::as_str)
                .unwrap_or("Immediate")
        ),
        json!(bool_at(obj, &["allowVolumeExpansion"])),
        json!(age(obj, now)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Custom resources (apiextensions-apiserver's tableconvertor)
// ---------------------------------------------------------------------------------------------

struct PrinterColumn {
    name: String,
    ty: String,
    format: String,
    description: String,
    priority: i64,
    json_path: String,
}

/// The CRD version's printer columns; upstream serves a single `Age` column when there are
/// none (`serveDefaultColumnsIfEmpty`), described by the convertor's generic text.
fn effective_printer_columns(printer_columns: &[Value]) -> Vec<PrinterColumn> {
    let describe =
        |path: &str| format!("Custom resource definition column (in JSONPath format): {path}");
    if printer_columns.is_empty() {
        let path = ".metadata.creationTimestamp";
        return vec![PrinterColumn {
            name: "Age".into(),
            ty: "date".into(),
            format: String::new(),
            description: describe(path),
            priority: 0,
            json_path: path.into(),
        }];
    }
    printer_columns
        .iter()
        .map(|c| {
            let json_path = str_at(c, &["jsonPath"]).to_string();
            let description = match str_at(c, &["description"]) {
                "" => describe(&json_path),
                d => d.to_string(),
            };
            PrinterColumn {
                name: str_at(c, &["name"]).to_string(),
                ty: str_at(c, &["type"]).to_string(),
                format: str_at(c, &["format"]).to_string(),
                description,
                priority: int_at(c, &["priority"]),
                json_path,
            }
        })
        .collect()
}

/// One cell: the first JSONPath result, printed as text for "string" columns and converted by
/// type otherwise (`cellForJSONValue`); missing values and evaluation errors give null.
fn custom_cell(column: &PrinterColumn, obj: &Value, now: Timestamp) -> Value {
    let Some(value) = jsonpath_first(obj, &column.json_path) else {
        return Value::Null;
    };
    if value.is_null() {
        return Value::Null;
    }
    match column.ty.as_str() {
        "string" => Value::String(go_print(value)),
        "integer" => match value {
            Value::Number(n) => n
                .as_i64()
                // float64 → int64 truncates toward zero, as the Go conversion does.
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map_or(Value::Null, |i| json!(i)),
            _ => Value::Null,
        },
        "number" => match value {
            Value::Number(n) => n.as_f64().map_or(Value::Null, go_json_float),
            _ => Value::Null,
        },
        "boolean" => match value {
            Value::Bool(b) => json!(b),
            _ => Value::Null,
        },
        "date" => match value {
            // metav1.Time.UnmarshalQueryParameter: "" and "null" are the zero time.
            Value::String(s) if s.is_empty() || s == "null" => json!("<unknown>"),
            Value::String(s) => match s.parse::<Timestamp>() {
                Ok(t) => json!(since(
                    Some(t).filter(|t| t.as_second() != GO_ZERO_TIME_SECONDS),
                    now
                )),
                Err(_) => json!("<invalid>"),
            },
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// A float64 as Go's encoding/json writes it: integral values without a fraction.
fn go_json_float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// How client-go's jsonpath prints one value: maps and lists as compact JSON (Go's
/// json.Marshal: sorted keys, HTML-escaped), everything else with `fmt.Fprint`.
fn go_print(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => go_format_float(f),
            _ => n.to_string(),
        },
        Value::Null => "<nil>".to_string(),
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v)
            .unwrap_or_default()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
    }
}

/// Go's `%v` for a float64 (`strconv` 'g' with the shortest precision): shortest digits, in
/// exponent form when the decimal exponent is < -4 or >= 6.
fn go_format_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".to_string()
        } else if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    let sci = format!("{f:e}"); // e.g. "-1.2345e6"
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return f.to_string();
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        f.to_string()
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

// A small JSONPath evaluator for the paths CRDs use: `.a.b`, `['a.b']`, `[0]`, `[*]` and
// filters such as `[?(@.type=="Ready")]` (with ==, !=, <, <=, >, >=).

enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Filter {
        path: Vec<String>,
        op: String,
        literal: Value,
    },
}

fn parse_jsonpath(path: &str) -> Option<Vec<Segment>> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path)
        .trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let chars: Vec<char> = path.chars().collect();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !name.is_empty() {
                    segments.push(Segment::Field(name));
                }
            }
            '[' => {
                let close = find_closing_bracket(&chars, i)?;
                let inner: String = chars[i + 1..close].iter().collect();
                segments.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(segments)
}

fn find_closing_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open + 1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == ']' => return Some(j),
            None => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Option<Segment> {
    if inner == "*" {
        return Some(Segment::Wildcard);
    }
    if let Some(quoted) = unquote(inner) {
        return Some(Segment::Field(quoted));
    }
    if let Ok(n) = inner.parse::<i64>() {
        return Some(Segment::Index(n));
    }
    let filter = inner.strip_prefix("?(")?.strip_suffix(')')?.trim();
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((left, right)) = filter.split_once(op) {
            let left = left.trim().strip_prefix('@')?;
            let path = left
                .split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let right = right.trim();
            let literal = match unquote(right) {
                Some(s) => Value::String(s),
                None => serde_json::from_str(right).ok()?,
            };
            return Some(Segment::Filter {
                path,
                op: op.to_string(),
                literal,
            });
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return Some(s[1..s.len() - 1].to_string());
        }
    }
    None
}

fn filter_matches(item: &Value, path: &[String], op: &str, literal: &Value) -> bool {
    let mut cur = item;
    for key in path {
        match cur.get(key.as_str()) {
            Some(v) => cur = v,
            None => return false,
        }
    }
    let ordering = match (cur, literal) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if a == b => Some(std::cmp::Ordering::Equal),
        _ => None,
    };
    match (op, ordering) {
        ("==", Some(o)) => o.is_eq(),
        ("!=", o) => !o.is_some_and(std::cmp::Ordering::is_eq),
        ("<", Some(o)) => o.is_lt(),
        ("<=", Some(o)) => o.is_le(),
        (">", Some(o)) => o.is_gt(),
        (">=", Some(o)) => o.is_ge(),
        _ => false,
    }
}

/// The first value the path selects (missing keys select nothing, as `AllowMissingKeys`).
fn jsonpath_first<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let segments = parse_jsonpath(path)?;
    let mut current: Vec<&Value> = vec![obj];
    for segment in &segments {
        let mut next = Vec::new();
        for v in current {
            match (segment, v) {
                (Segment::Field(name), Value::Object(m)) => next.extend(m.get(name.as_str())),
                (Segment::Index(i), Value::Array(a)) => {
                    let len = i64::try_from(a.len()).ok()?;
                    let idx = if *i < 0 { len + i } else { *i };
                    // Out of range is an evaluation error upstream: the cell is null.
                    next.push(a.get(usize::try_from(idx).ok()?)?);
                }
                (Segment::Wildcard, Value::Array(a)) => next.extend(a.iter()),
                (Segment::Wildcard, Value::Object(m)) => next.extend(m.values()),
                (Segment::Filter { path, op, literal }, Value::Array(a)) => {
                    next.extend(
                        a.iter()
                            .filter(|item| filter_matches(item, path, op, literal)),
                    );
                }
                _ => {}
            }
        }
        current = next;
    }
    current.into_iter().next()
}

// ---------------------------------------------------------------------------------------------
// Column definitions (names, types and priorities from printers.go; descriptions are the
// SwaggerDoc strings those definitions reference)
// ---------------------------------------------------------------------------------------------

const DESC_NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const DESC_CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const DESC_CONTAINERS: &str = "Names of each container in the template.";
const DESC_IMAGES: &str = "Images referenced by each container in the template.";

static PODS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Ready",
        "string",
        "",
        0,
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    col(
        "Status",
        "string",
        "",
        0,
        "The aggregate status of the containers in this pod.",
    ),
    col(
        "Restarts",
        "string",
        "",
        0,
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col(
        "IP",
        "string",
        "",
        1,
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    ),
    col(
        "Node",
        "string",
        "",
        1,
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
    ),
    col(
        "Nominated Node",
        "string",
        "",
        1,
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    ),
    col(
        "Readiness Gates",
        "string",
        "",
        1,
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
    ),
];

static POD_TEMPLATES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col("Containers", "string", "", 0, DESC_CONTAINERS),
    col("Images", "string", "", 0, DESC_IMAGES),
    col(
        "Pod Labels",
        "string",
        "",
        0,
        "The labels for the pod template.",
    ),
];

static PDBS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Min Available",
        "string",
        "",
        0,
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "string",
        "",
        0,
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "",
        0,
        "Calculated number of pods that may be disrupted at this time.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static REPLICATION_CONTROLLERS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Desired",
        "integer",
        "",
        0,
        "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    col(
        "Current",
        "integer",
        "",
        0,
        "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    col(
        "Ready",
        "integer",
        "",
        0,
        "The number of ready replicas for this replication controller.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Containers", "string", "", 1, DESC_CONTAINERS),
    col("Images", "string", "", 1, DESC_IMAGES),
    col(
        "Selector",
        "string",
        "",
        1,
        "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

static REPLICA_SETS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Desired",
        "integer",
        "",
        0,
        "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    col(
        "Current",
        "integer",
        "",
        0,
        "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    col(
        "Ready",
        "integer",
        "",
        0,
        "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Containers", "string", "", 1, DESC_CONTAINERS),
    col("Images", "string", "", 1, DESC_IMAGES),
    col(
        "Selector",
        "string",
        "",
        1,
        "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

static DAEMON_SETS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Desired",
        "integer",
        "",
        0,
        "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    col(
        "Current",
        "integer",
        "",
        0,
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    col(
        "Ready",
        "integer",
        "",
        0,
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
    ),
    col(
        "Up-to-date",
        "integer",
        "",
        0,
        "The total number of nodes that are running updated daemon pod",
    ),
    col(
        "Available",
        "integer",
        "",
        0,
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    col(
        "Node Selector",
        "string",
        "",
        0,
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Containers", "string", "", 1, DESC_CONTAINERS),
    col("Images", "string", "", 1, DESC_IMAGES),
    col(
        "Selector",
        "string",
        "",
        1,
        "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

static JOBS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col("Status", "string", "", 0, "Status of the job."),
    col(
        "Completions",
        "string",
        "",
        0,
        "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
    ),
    col(
        "Duration",
        "string",
        "",
        0,
        "Time required to complete the job.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Containers", "string", "", 1, DESC_CONTAINERS),
    col("Images", "string", "", 1, DESC_IMAGES),
    col(
        "Selector",
        "string",
        "",
        1,
        "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

static CRON_JOBS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Schedule",
        "string",
        "",
        0,
        "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    ),
    col(
        "Timezone",
        "string",
        "",
        0,
        "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
    ),
    col(
        "Suspend",
        "boolean",
        "",
        0,
        "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
    ),
    col(
        "Active",
        "integer",
        "",
        0,
        "A list of pointers to currently running jobs.",
    ),
    col(
        "Last Schedule",
        "string",
        "",
        0,
        "Information when was the last time the job was successfully scheduled.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Containers", "string", "", 1, DESC_CONTAINERS),
    col("Images", "string", "", 1, DESC_IMAGES),
    col(
        "Selector",
        "string",
        "",
        1,
        "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

static SERVICES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Type",
        "string",
        "",
        0,
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
    ),
    col(
        "Cluster-IP",
        "string",
        "",
        0,
        "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    ),
    col(
        "External-IP",
        "string",
        "",
        0,
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
    ),
    col(
        "Port(s)",
        "string",
        "",
        0,
        "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col(
        "Selector",
        "string",
        "",
        1,
        "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
    ),
];

static INGRESSES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Class",
        "string",
        "",
        0,
        "The name of the IngressClass resource that should be used for additional configuration",
    ),
    col(
        "Hosts",
        "string",
        "",
        0,
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    col(
        "Address",
        "string",
        "",
        0,
        "Address is a list containing ingress points for the load-balancer",
    ),
    col(
        "Ports",
        "string",
        "",
        0,
        "Ports of TLS configurations that open",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static INGRESS_CLASSES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Controller",
        "string",
        "",
        0,
        "Controller that is responsible for handling this class",
    ),
    col(
        "Parameters",
        "string",
        "",
        0,
        "A reference to a resource with additional parameters",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static STATEFUL_SETS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Ready",
        "string",
        "",
        0,
        "Number of the pod with ready state",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Containers", "string", "", 1, DESC_CONTAINERS),
    col("Images", "string", "", 1, DESC_IMAGES),
];

static ENDPOINTS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Endpoints",
        "string",
        "",
        0,
        "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static NODES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col("Status", "string", "", 0, "The status of the node"),
    col("Roles", "string", "", 0, "The roles of the node"),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col(
        "Version",
        "string",
        "",
        0,
        "Kubelet Version reported by the node.",
    ),
    col(
        "Internal-IP",
        "string",
        "",
        1,
        "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
    ),
    col(
        "External-IP",
        "string",
        "",
        1,
        "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
    ),
    col(
        "OS-Image",
        "string",
        "",
        1,
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    ),
    col(
        "Kernel-Version",
        "string",
        "",
        1,
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    ),
    col(
        "Container-Runtime",
        "string",
        "",
        1,
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    ),
];

static EVENTS: &[Col] = &[
    col(
        "Last Seen",
        "string",
        "",
        0,
        "The time at which the most recent occurrence of this event was recorded.",
    ),
    col(
        "Type",
        "string",
        "",
        0,
        "Type of this event (Normal, Warning), new types could be added in the future",
    ),
    col(
        "Reason",
        "string",
        "",
        0,
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col(
        "Object",
        "string",
        "",
        0,
        "The object that this event is about.",
    ),
    col(
        "Subobject",
        "string",
        "",
        1,
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
    ),
    col(
        "Source",
        "string",
        "",
        1,
        "The component reporting this event. Should be a short machine understandable string.",
    ),
    col(
        "Message",
        "string",
        "",
        0,
        "A human-readable description of the status of this operation.",
    ),
    col(
        "First Seen",
        "string",
        "",
        1,
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    ),
    col(
        "Count",
        "string",
        "",
        1,
        "The number of times this event has occurred.",
    ),
    col("Name", "string", "name", 1, DESC_NAME),
];

static NAMESPACES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col("Status", "string", "", 0, "The status of the namespace"),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static SECRETS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Type",
        "string",
        "",
        0,
        "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
    ),
    col(
        "Data",
        "string",
        "",
        0,
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static SERVICE_ACCOUNTS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Secrets",
        "string",
        "",
        0,
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static PERSISTENT_VOLUMES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Capacity",
        "string",
        "",
        0,
        "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
    ),
    col(
        "Access Modes",
        "string",
        "",
        0,
        "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes",
    ),
    col(
        "Reclaim Policy",
        "string",
        "",
        0,
        "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming",
    ),
    col(
        "Status",
        "string",
        "",
        0,
        "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase",
    ),
    col(
        "Claim",
        "string",
        "",
        0,
        "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding",
    ),
    col("StorageClass", "string", "", 0, "StorageClass of the pv"),
    col(
        "VolumeAttributesClass",
        "string",
        "",
        0,
        "VolumeAttributesClass of the pv",
    ),
    col(
        "Reason",
        "string",
        "",
        0,
        "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col(
        "VolumeMode",
        "string",
        "",
        1,
        "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.",
    ),
];

static PERSISTENT_VOLUME_CLAIMS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Status",
        "string",
        "",
        0,
        "phase represents the current phase of PersistentVolumeClaim.",
    ),
    col(
        "Volume",
        "string",
        "",
        0,
        "volumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    col(
        "Capacity",
        "string",
        "",
        0,
        "capacity represents the actual resources of the underlying volume.",
    ),
    col(
        "Access Modes",
        "string",
        "",
        0,
        "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1",
    ),
    col("StorageClass", "string", "", 0, "StorageClass of the pvc"),
    col(
        "VolumeAttributesClass",
        "string",
        "",
        0,
        "VolumeAttributesClass of the pvc",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col(
        "VolumeMode",
        "string",
        "",
        1,
        "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.",
    ),
];

static COMPONENT_STATUSES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Status",
        "string",
        "",
        0,
        "Status of the component conditions",
    ),
    col(
        "Message",
        "string",
        "",
        0,
        "Message of the component conditions",
    ),
    col(
        "Error",
        "string",
        "",
        0,
        "Error of the component conditions",
    ),
];

static DEPLOYMENTS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Ready",
        "string",
        "",
        0,
        "Number of the pod with ready state",
    ),
    col(
        "Up-to-date",
        "string",
        "",
        0,
        "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
    ),
    col(
        "Available",
        "string",
        "",
        0,
        "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Containers", "string", "", 1, DESC_CONTAINERS),
    col("Images", "string", "", 1, DESC_IMAGES),
    col(
        "Selector",
        "string",
        "",
        1,
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    ),
];

static CONFIG_MAPS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Data",
        "string",
        "",
        0,
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static NETWORK_POLICIES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Pod-Selector",
        "string",
        "",
        0,
        "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static ROLE_BINDINGS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Role",
        "string",
        "",
        0,
        "roleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Users", "string", "", 1, "Users in the roleBinding"),
    col("Groups", "string", "", 1, "Groups in the roleBinding"),
    col(
        "ServiceAccounts",
        "string",
        "",
        1,
        "ServiceAccounts in the roleBinding",
    ),
];

static CLUSTER_ROLE_BINDINGS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Role",
        "string",
        "",
        0,
        "roleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col("Users", "string", "", 1, "Users in the clusterRoleBinding"),
    col(
        "Groups",
        "string",
        "",
        1,
        "Groups in the clusterRoleBinding",
    ),
    col(
        "ServiceAccounts",
        "string",
        "",
        1,
        "ServiceAccounts in the clusterRoleBinding",
    ),
];

static LEASES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Holder",
        "string",
        "",
        0,
        "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static STORAGE_CLASSES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Provisioner",
        "string",
        "",
        0,
        "provisioner indicates the type of the provisioner.",
    ),
    col(
        "ReclaimPolicy",
        "string",
        "",
        0,
        "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
    ),
    col(
        "VolumeBindingMode",
        "string",
        "",
        0,
        "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.",
    ),
    col(
        "AllowVolumeExpansion",
        "string",
        "",
        0,
        "allowVolumeExpansion shows whether the storage class allow volume expand.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static CONTROLLER_REVISIONS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col("Controller", "string", "", 0, "Controller of the object"),
    col(
        "Revision",
        "string",
        "",
        0,
        "revision indicates the revision of the state represented by Data.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static RESOURCE_QUOTAS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Request",
        "string",
        "",
        0,
        "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
        "Limit",
        "string",
        "",
        0,
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static PRIORITY_CLASSES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Value",
        "integer",
        "",
        0,
        "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
    ),
    col(
        "Global-Default",
        "boolean",
        "",
        0,
        "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
    col(
        "PreemptionPolicy",
        "string",
        "",
        0,
        "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
    ),
];

static ENDPOINT_SLICES: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "AddressType",
        "string",
        "",
        0,
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
    ),
    col(
        "Ports",
        "string",
        "",
        0,
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
    ),
    col(
        "Endpoints",
        "string",
        "",
        0,
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

static WEBHOOK_CONFIGURATIONS: &[Col] = &[
    col("Name", "string", "name", 0, DESC_NAME),
    col(
        "Webhooks",
        "integer",
        "",
        0,
        "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    /// Ten days before `now()`.
    const CREATED: &str = "2024-05-22T12:00:00Z";

    /// Which printer a case goes through.
    enum Printer<'a> {
        Builtin(&'a str, &'a str),
        Custom(&'a [Value]),
    }

    /// The row's cells for `obj`, and one column definition per cell (kubectl requires it).
    fn check(printer: Printer<'_>, obj: &Value, expected: &Value) {
        let (defs, r) = match printer {
            Printer::Builtin(group, plural) => (
                column_definitions(group, plural),
                row(group, plural, obj, IncludeObject::None, now()),
            ),
            Printer::Custom(columns) => (
                custom_column_definitions(columns),
                custom_row(columns, obj, IncludeObject::None, now()),
            ),
        };
        assert_eq!(&r["cells"], expected, "{obj}");
        assert_eq!(
            defs.len(),
            expected.as_array().unwrap().len(),
            "one cell per column: {obj}"
        );
    }

    fn meta(name: &str) -> Value {
        json!({"name": name, "namespace": "default", "creationTimestamp": CREATED})
    }

    #[test]
    fn nodes() {
        let cases = [
            (
                json!({
                    "metadata": {"name": "n1", "creationTimestamp": CREATED, "labels": {
                        "node-role.kubernetes.io/control-plane": "",
                        "node-role.kubernetes.io/": "ignored-empty-role",
                        "kubernetes.io/role": "worker"}},
                    "spec": {"unschedulable": true},
                    "status": {
                        "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                        "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
                        "nodeInfo": {"kubeletVersion": "v1.30.1", "osImage": "Ubuntu 22.04", "containerRuntimeVersion": "containerd://1.7.0"}}
                }),
                json!([
                    "n1",
                    "Ready,SchedulingDisabled",
                    "control-plane,worker",
                    "10d",
                    "v1.30.1",
                    "10.0.0.1",
                    "<none>",
                    "Ubuntu 22.04",
                    "<unknown>",
                    "containerd://1.7.0"
                ]),
            ),
            (
                json!({"metadata": {"name": "n2", "creationTimestamp": CREATED},
                       "status": {"conditions": [{"type": "Ready", "status": "Unknown"}],
                                  "addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}]}}),
                json!([
                    "n2",
                    "NotReady",
                    "<none>",
                    "10d",
                    "",
                    "<none>",
                    "1.2.3.4",
                    "<unknown>",
                    "<unknown>",
                    "<unknown>"
                ]),
            ),
            (
                json!({"metadata": {"name": "n3"}}),
                json!([
                    "n3",
                    "Unknown",
                    "<none>",
                    "<unknown>",
                    "",
                    "<none>",
                    "<none>",
                    "<unknown>",
                    "<unknown>",
                    "<unknown>"
                ]),
            ),
        ];
        for (obj, expected) in cases {
            check(Printer::Builtin("", "nodes"), &obj, &expected);
        }
    }

    fn pod(spec: Value, status: Value) -> Value {
        json!({"metadata": meta("p"), "spec": spec, "status": status})
    }

    #[test]
    fn pods() {
        let two = json!({"containers": [{"name": "a"}, {"name": "b"}]});
        let running = |name: &str, ready: bool, restarts: i64| json!({"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}});
        let cases = [
            // Running, with the last restart five minutes ago.
            (
                pod(
                    two.clone(),
                    json!({"phase": "Running", "podIPs": [{"ip": "10.1.0.5"}], "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [
                        {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                         "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-06-01T11:55:00Z"}}},
                        running("b", true, 1)]}),
                ),
                json!([
                    "p",
                    "2/2",
                    "Running",
                    "3 (5m ago)",
                    "10d",
                    "10.1.0.5",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                pod(
                    two.clone(),
                    json!({"phase": "Running", "containerStatuses": [
                    running("a", true, 0),
                    {"name": "b", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
                ),
                json!([
                    "p",
                    "1/2",
                    "CrashLoopBackOff",
                    "4",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}]}),
                    json!({"phase": "Running", "podIP": "10.1.0.9", "podIPs": [{"ip": "fd00::9"}]}),
                ),
                json!([
                    "p", "0/1", "Running", "0", "10d", "10.1.0.9", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}], "nodeName": "n1"}),
                    json!({"phase": "Pending", "nominatedNodeName": "n2",
                    "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "ContainerCreating",
                    "0",
                    "10d",
                    "<none>",
                    "n1",
                    "n2",
                    "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}]}),
                    json!({"phase": "Succeeded",
                    "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "Completed",
                    "0",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}]}),
                    json!({"phase": "Failed",
                    "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
                ),
                json!([
                    "p", "0/1", "Signal:9", "0", "10d", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}]}),
                    json!({"phase": "Failed",
                    "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 3}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "ExitCode:3",
                    "0",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            // A container completed while another still runs: back to Running / NotReady.
            (
                pod(
                    two.clone(),
                    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [running("a", true, 0),
                        {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
                ),
                json!([
                    "p", "1/2", "NotReady", "0", "10d", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            // Init containers: the first done, the second not started yet.
            (
                pod(
                    json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]}),
                    json!({"phase": "Pending", "initContainerStatuses": [
                        {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                        {"name": "i2", "state": {"waiting": {"reason": "PodInitializing"}}}],
                        "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
                ),
                json!([
                    "p", "0/1", "Init:1/2", "0", "10d", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                pod(
                    json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                    json!({"phase": "Pending", "initContainerStatuses": [
                        {"name": "i1", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "Init:CrashLoopBackOff",
                    "3",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                pod(
                    json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                    json!({"phase": "Pending", "initContainerStatuses": [
                        {"name": "i1", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "Init:Error",
                    "0",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                pod(
                    json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                    json!({"phase": "Pending", "initContainerStatuses": [
                        {"name": "i1", "state": {"terminated": {"exitCode": 2}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "Init:ExitCode:2",
                    "0",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            // A native sidecar (restartable init container) counts as a container.
            (
                pod(
                    json!({"initContainers": [{"name": "side", "restartPolicy": "Always"}], "containers": [{"name": "a"}]}),
                    json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                        "initContainerStatuses": [{"name": "side", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
                        "containerStatuses": [running("a", true, 0)]}),
                ),
                json!([
                    "p", "2/2", "Running", "1", "10d", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                json!({"metadata": {"name": "p", "creationTimestamp": CREATED, "deletionTimestamp": "2024-06-01T11:59:00Z"},
                       "spec": {"containers": [{"name": "a"}]},
                       "status": {"phase": "Running", "containerStatuses": [running("a", true, 0)]}}),
                json!([
                    "p",
                    "1/1",
                    "Terminating",
                    "0",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                json!({"metadata": {"name": "p", "creationTimestamp": CREATED, "deletionTimestamp": "2024-06-01T11:59:00Z"},
                       "spec": {"containers": [{"name": "a"}]},
                       "status": {"phase": "Running", "reason": "NodeLost", "containerStatuses": [running("a", true, 0)]}}),
                json!([
                    "p", "1/1", "Unknown", "0", "10d", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}], "readinessGates": [{"conditionType": "x/one"}, {"conditionType": "x/two"}]}),
                    json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
                                                             {"type": "x/one", "status": "True"}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "SchedulingGated",
                    "0",
                    "10d",
                    "<none>",
                    "<none>",
                    "<none>",
                    "1/2"
                ]),
            ),
        ];
        for (obj, expected) in cases {
            check(Printer::Builtin("", "pods"), &obj, &expected);
        }
    }

    #[test]
    fn finished_pods_carry_the_completed_row_condition() {
        let cases = [
            ("Succeeded", Some("The pod has completed successfully.")),
            ("Failed", Some("The pod failed.")),
            ("Running", None),
        ];
        for (phase, message) in cases {
            let r = row(
                "",
                "pods",
                &pod(json!({}), json!({"phase": phase})),
                IncludeObject::None,
                now(),
            );
            match message {
                Some(m) => assert_eq!(
                    r["conditions"],
                    json!([{"type": "Completed", "status": "True", "reason": phase, "message": m}])
                ),
                None => assert!(r.get("conditions").is_none(), "{phase}"),
            }
        }
    }

    #[test]
    fn workloads() {
        let template = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]}});
        let cases = [
            (
                "apps",
                "deployments",
                json!({"metadata": meta("d"), "spec": {"replicas": 3, "template": template,
                    "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}},
                    "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}),
                json!([
                    "d",
                    "2/3",
                    3,
                    2,
                    "10d",
                    "web,log",
                    "nginx:1,busybox",
                    "app=web,tier in (a,b)"
                ]),
            ),
            (
                "apps",
                "deployments",
                json!({"metadata": meta("d"), "spec": {}}),
                json!(["d", "0/1", 0, 0, "10d", "", "", ""]),
            ),
            (
                "apps",
                "replicasets",
                json!({"metadata": meta("rs"), "spec": {"replicas": 2, "template": template, "selector": {"matchLabels": {"app": "web"}}},
                    "status": {"replicas": 2, "readyReplicas": 1}}),
                json!([
                    "rs",
                    2,
                    2,
                    1,
                    "10d",
                    "web,log",
                    "nginx:1,busybox",
                    "app=web"
                ]),
            ),
            (
                "apps",
                "daemonsets",
                json!({"metadata": meta("ds"), "spec": {"template": {"spec": {"nodeSelector": {"os": "linux", "a": "b"}, "containers": []}},
                    "selector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}},
                    "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 1, "numberAvailable": 2}}),
                json!(["ds", 3, 3, 2, 1, 2, "a=b,os=linux", "10d", "", "", "!x"]),
            ),
            (
                "apps",
                "statefulsets",
                json!({"metadata": meta("ss"), "spec": {"replicas": 3, "template": template}, "status": {"readyReplicas": 3}}),
                json!(["ss", "3/3", "10d", "web,log", "nginx:1,busybox"]),
            ),
            (
                "batch",
                "jobs",
                json!({"metadata": meta("j"), "spec": {"completions": 3, "template": template, "selector": {}},
                    "status": {"succeeded": 3, "startTime": "2024-06-01T11:00:00Z", "completionTime": "2024-06-01T11:02:30Z",
                               "conditions": [{"type": "Complete", "status": "True"}]}}),
                json!([
                    "j",
                    "Complete",
                    "3/3",
                    "2m30s",
                    "10d",
                    "web,log",
                    "nginx:1,busybox",
                    "<none>"
                ]),
            ),
            (
                "batch",
                "jobs",
                json!({"metadata": meta("j"), "spec": {"parallelism": 2}, "status": {"startTime": "2024-06-01T11:00:00Z"}}),
                json!(["j", "Running", "0/1 of 2", "60m", "10d", "", "", "<none>"]),
            ),
            (
                "batch",
                "cronjobs",
                json!({"metadata": meta("cj"), "spec": {"schedule": "*/5 * * * *", "suspend": false,
                    "jobTemplate": {"spec": {"template": template}}},
                    "status": {"active": [{"name": "x"}], "lastScheduleTime": "2024-06-01T11:58:00Z"}}),
                json!([
                    "cj",
                    "*/5 * * * *",
                    "<none>",
                    "False",
                    1,
                    "2m",
                    "10d",
                    "web,log",
                    "nginx:1,busybox",
                    "<none>"
                ]),
            ),
            (
                "policy",
                "poddisruptionbudgets",
                json!({"metadata": meta("pdb"), "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}}),
                json!(["pdb", "2", "N/A", 1, "10d"]),
            ),
            (
                "policy",
                "poddisruptionbudgets",
                json!({"metadata": meta("pdb"), "spec": {"maxUnavailable": "25%"}}),
                json!(["pdb", "N/A", "25%", 0, "10d"]),
            ),
            (
                "apps",
                "controllerrevisions",
                json!({"metadata": {"name": "cr", "creationTimestamp": CREATED, "ownerReferences": [
                 {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "controller": true}]}, "revision": 4}),
                json!(["cr", "daemonset.apps/ds", 4, "10d"]),
            ),
        ];
        for (group, plural, obj, expected) in cases {
            check(Printer::Builtin(group, plural), &obj, &expected);
        }
    }

    #[test]
    fn networking_and_config() {
        let cases = [
            (
                "",
                "services",
                json!({"metadata": meta("s"), "spec": {"type": "ClusterIP", "clusterIPs": ["10.96.0.10"],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"}],
                    "selector": {"k8s-app": "dns"}}}),
                json!([
                    "s",
                    "ClusterIP",
                    "10.96.0.10",
                    "<none>",
                    "53/UDP,443:30443/TCP",
                    "10d",
                    "k8s-app=dns"
                ]),
            ),
            (
                "",
                "services",
                json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"], "ports": []}}),
                json!([
                    "lb",
                    "LoadBalancer",
                    "10.96.0.11",
                    "<pending>",
                    "<none>",
                    "10d",
                    "<none>"
                ]),
            ),
            (
                "",
                "services",
                json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.11", "externalIPs": ["5.6.7.8"]},
                    "status": {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example.com"}]}}}),
                json!([
                    "lb",
                    "LoadBalancer",
                    "10.96.0.11",
                    "9.9.9.9,lb.example.com,5.6.7.8",
                    "<none>",
                    "10d",
                    "<none>"
                ]),
            ),
            (
                "",
                "services",
                json!({"metadata": meta("ext"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
                json!([
                    "ext",
                    "ExternalName",
                    "<none>",
                    "db.example.com",
                    "<none>",
                    "10d",
                    "<none>"
                ]),
            ),
            (
                "",
                "endpoints",
                json!({"metadata": meta("e"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                                         "ports": [{"port": 80}, {"port": 443}]}]}),
                json!([
                    "e",
                    "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
                    "10d"
                ]),
            ),
            (
                "",
                "endpoints",
                json!({"metadata": meta("e"), "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]}),
                json!(["e", "[fd00::1]:80", "10d"]),
            ),
            (
                "",
                "endpoints",
                json!({"metadata": meta("e")}),
                json!(["e", "<none>", "10d"]),
            ),
            (
                "",
                "namespaces",
                json!({"metadata": meta("ns"), "status": {"phase": "Active"}}),
                json!(["ns", "Active", "10d"]),
            ),
            (
                "",
                "configmaps",
                json!({"metadata": meta("cm"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
                json!(["cm", 3, "10d"]),
            ),
            (
                "",
                "secrets",
                json!({"metadata": meta("s"), "type": "Opaque", "data": {"a": "MQ=="}}),
                json!(["s", "Opaque", 1, "10d"]),
            ),
            (
                "",
                "serviceaccounts",
                json!({"metadata": meta("sa")}),
                json!(["sa", 0, "10d"]),
            ),
            (
                "networking.k8s.io",
                "networkpolicies",
                json!({"metadata": meta("np"), "spec": {"podSelector": {}}}),
                json!(["np", "<none>", "10d"]),
            ),
            (
                "networking.k8s.io",
                "networkpolicies",
                json!({"metadata": meta("np"), "spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists"},
                                                                                       {"key": "b", "operator": "NotIn", "values": ["x"]}]}}}),
                json!(["np", "a,b notin (x)", "10d"]),
            ),
            (
                "networking.k8s.io",
                "networkpolicies",
                json!({"metadata": meta("np"), "spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}}}),
                json!(["np", "<error>", "10d"]),
            ),
            (
                "networking.k8s.io",
                "ingresses",
                json!({"metadata": meta("ing"), "spec": {"ingressClassName": "nginx", "tls": [{}],
                    "rules": [{"host": "a.com"}, {"host": "b.com"}, {}, {"host": "c.com"}, {"host": "d.com"}]}}),
                json!([
                    "ing",
                    "nginx",
                    "a.com,b.com,c.com + 2 more...",
                    "",
                    "80, 443",
                    "10d"
                ]),
            ),
            (
                "coordination.k8s.io",
                "leases",
                json!({"metadata": meta("l"), "spec": {"holderIdentity": "n1"}}),
                json!(["l", "n1", "10d"]),
            ),
            (
                "rbac.authorization.k8s.io",
                "rolebindings",
                json!({"metadata": meta("rb"), "roleRef": {"kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                                 {"kind": "ServiceAccount", "namespace": "ci", "name": "bot"}, {"kind": "User", "name": "bob"}]}),
                json!([
                    "rb",
                    "ClusterRole/view",
                    "10d",
                    "alice, bob",
                    "devs",
                    "ci/bot"
                ]),
            ),
            (
                "rbac.authorization.k8s.io",
                "clusterroles",
                json!({"metadata": {"name": "admin", "creationTimestamp": "2024-01-01T00:00:00Z"}}),
                json!(["admin", "2024-01-01T00:00:00Z"]),
            ),
            (
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-01-01T10:20:30.5Z"}}),
                json!(["widgets.example.com", "2024-01-01T10:20:30Z"]),
            ),
            (
                "",
                "limitranges",
                json!({"metadata": {"name": "lr"}}),
                json!(["lr", "0001-01-01T00:00:00Z"]),
            ),
            (
                "storage.k8s.io",
                "storageclasses",
                json!({"metadata": {"name": "std", "creationTimestamp": CREATED, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                    "provisioner": "rancher.io/local-path"}),
                json!([
                    "std (default)",
                    "rancher.io/local-path",
                    "Delete",
                    "Immediate",
                    false,
                    "10d"
                ]),
            ),
            (
                "",
                "resourcequotas",
                json!({"metadata": meta("q"), "status": {"hard": {"requests.cpu": "2", "limits.memory": "2Gi", "pods": "10"},
                                                      "used": {"requests.cpu": "500m", "pods": "3"}}}),
                json!([
                    "q",
                    "pods: 3/10, requests.cpu: 500m/2",
                    "limits.memory: 0/2Gi",
                    "10d"
                ]),
            ),
        ];
        for (group, plural, obj, expected) in cases {
            check(Printer::Builtin(group, plural), &obj, &expected);
        }
    }

    #[test]
    fn storage_and_events() {
        let cases = [
            (
                "",
                "persistentvolumes",
                json!({"metadata": meta("pv"), "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "data"}, "storageClassName": "std"},
                    "status": {"phase": "Bound"}}),
                json!([
                    "pv",
                    "10Gi",
                    "RWO,RWX",
                    "Retain",
                    "Bound",
                    "default/data",
                    "std",
                    "<unset>",
                    "",
                    "10d",
                    "<unset>"
                ]),
            ),
            (
                "",
                "persistentvolumeclaims",
                json!({"metadata": meta("data"), "spec": {"volumeName": "pv", "storageClassName": "std", "volumeMode": "Filesystem"},
                    "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}}),
                json!([
                    "data",
                    "Bound",
                    "pv",
                    "10Gi",
                    "RWO",
                    "std",
                    "<unset>",
                    "10d",
                    "Filesystem"
                ]),
            ),
            (
                "",
                "persistentvolumeclaims",
                json!({"metadata": {"name": "data", "creationTimestamp": CREATED, "deletionTimestamp": CREATED,
                                 "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
                    "spec": {"storageClassName": "std"}, "status": {"phase": "Pending"}}),
                json!([
                    "data",
                    "Terminating",
                    "",
                    "",
                    "",
                    "old",
                    "<unset>",
                    "10d",
                    "<unset>"
                ]),
            ),
            (
                "",
                "events",
                json!({"metadata": meta("p.17a"), "type": "Warning", "reason": "BackOff", "message": " Back-off restarting \n",
                    "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{a}"},
                    "source": {"component": "kubelet", "host": "n1"}, "count": 5,
                    "firstTimestamp": "2024-06-01T11:00:00Z", "lastTimestamp": "2024-06-01T11:59:30Z"}),
                json!([
                    "30s",
                    "Warning",
                    "BackOff",
                    "pod/p",
                    "spec.containers{a}",
                    "kubelet, n1",
                    "Back-off restarting",
                    "60m",
                    5,
                    "p.17a"
                ]),
            ),
            (
                "",
                "events",
                json!({"metadata": meta("e2"), "type": "Normal", "reason": "Scheduled", "involvedObject": {"kind": "Node"},
                    "reportingComponent": "default-scheduler", "eventTime": "2024-06-01T11:58:00.000000Z"}),
                json!([
                    "2m",
                    "Normal",
                    "Scheduled",
                    "node",
                    "",
                    "default-scheduler",
                    "",
                    "2m",
                    1,
                    "e2"
                ]),
            ),
            (
                "events.k8s.io",
                "events",
                json!({"metadata": meta("e3"), "type": "Normal", "reason": "Pulled", "note": "pulled",
                    "regarding": {"kind": "Pod", "name": "p"}, "reportingController": "kubelet", "reportingInstance": "n1",
                    "eventTime": "2024-06-01T11:00:00.000000Z", "series": {"count": 7, "lastObservedTime": "2024-06-01T11:59:00.000000Z"}}),
                json!([
                    "60s",
                    "Normal",
                    "Pulled",
                    "pod/p",
                    "",
                    "kubelet, n1",
                    "pulled",
                    "60m",
                    7,
                    "e3"
                ]),
            ),
        ];
        for (group, plural, obj, expected) in cases {
            check(Printer::Builtin(group, plural), &obj, &expected);
        }
    }

    #[test]
    fn column_definitions_follow_upstream() {
        type Expected<'a> = &'a [(&'a str, i64)];
        let cases: &[(&str, &str, Expected<'_>)] = &[
            (
                "",
                "nodes",
                &[
                    ("Name", 0),
                    ("Status", 0),
                    ("Roles", 0),
                    ("Age", 0),
                    ("Version", 0),
                    ("Internal-IP", 1),
                    ("External-IP", 1),
                    ("OS-Image", 1),
                    ("Kernel-Version", 1),
                    ("Container-Runtime", 1),
                ],
            ),
            (
                "",
                "pods",
                &[
                    ("Name", 0),
                    ("Ready", 0),
                    ("Status", 0),
                    ("Restarts", 0),
                    ("Age", 0),
                    ("IP", 1),
                    ("Node", 1),
                    ("Nominated Node", 1),
                    ("Readiness Gates", 1),
                ],
            ),
            (
                "",
                "events",
                &[
                    ("Last Seen", 0),
                    ("Type", 0),
                    ("Reason", 0),
                    ("Object", 0),
                    ("Subobject", 1),
                    ("Source", 1),
                    ("Message", 0),
                    ("First Seen", 1),
                    ("Count", 1),
                    ("Name", 1),
                ],
            ),
            (
                "rbac.authorization.k8s.io",
                "roles",
                &[("Name", 0), ("Created At", 0)],
            ),
            ("example.com", "widgets", &[("Name", 0), ("Created At", 0)]),
        ];
        for (group, plural, expected) in cases {
            let got: Vec<(String, i64)> = column_definitions(group, plural)
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap().to_string(),
                        c["priority"].as_i64().unwrap(),
                    )
                })
                .collect();
            let want: Vec<(String, i64)> = expected
                .iter()
                .map(|(n, p)| ((*n).to_string(), *p))
                .collect();
            assert_eq!(got, want, "{group}/{plural}");
        }
        let pod_name = &column_definitions("", "pods")[0];
        assert_eq!(pod_name["format"], "name");
        assert!(
            pod_name["description"]
                .as_str()
                .unwrap()
                .starts_with("Name must be unique within a namespace.")
        );
        assert_eq!(column_definitions("", "roles").len(), 2);
        assert_eq!(
            column_definitions("rbac.authorization.k8s.io", "roles")[1]["type"],
            "date"
        );
    }

    #[test]
    fn human_durations() {
        let cases: &[(i64, &str)] = &[
            (-3, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (599, "9m59s"),
            (600, "10m"),
            (10_799, "179m"),
            (10_800, "3h"),
            (12_600, "3h30m"),
            (28_800, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (49 * 3600, "2d1h"),
            (8 * 86_400, "8d"),
            (729 * 86_400, "729d"),
            (730 * 86_400, "2y"),
            (731 * 86_400, "2y1d"),
            (8 * 365 * 86_400, "8y"),
        ];
        for (secs, want) in cases {
            let created = now()
                .checked_sub(jiff::SignedDuration::from_secs(*secs))
                .unwrap();
            let obj = json!({"metadata": {"name": "x", "creationTimestamp": created.to_string()}});
            check(
                Printer::Builtin("", "namespaces"),
                &obj,
                &json!(["x", "", want]),
            );
        }
    }

    #[test]
    fn include_object() {
        let parse_cases = [
            (None, Ok(IncludeObject::Metadata)),
            (Some(""), Ok(IncludeObject::Metadata)),
            (Some("Metadata"), Ok(IncludeObject::Metadata)),
            (Some("None"), Ok(IncludeObject::None)),
            (Some("Object"), Ok(IncludeObject::Object)),
            (
                Some("object"),
                Err("unrecognized includeObject value: \"object\"".to_string()),
            ),
        ];
        for (input, want) in parse_cases {
            assert_eq!(IncludeObject::parse(input), want, "{input:?}");
        }
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "v"}});
        let metadata = row("", "configmaps", &obj, IncludeObject::Metadata, now());
        assert_eq!(
            metadata["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": "cm", "labels": {"a": "b"}, "creationTimestamp": null}})
        );
        assert_eq!(
            row("", "configmaps", &obj, IncludeObject::Object, now())["object"],
            obj
        );
        assert!(
            row("", "configmaps", &obj, IncludeObject::None, now())
                .get("object")
                .is_none()
        );
        assert_eq!(
            partial_object_metadata(&json!({}))["metadata"],
            json!({"creationTimestamp": null})
        );
    }

    #[test]
    fn custom_resources() {
        let widget = json!({"metadata": {"name": "w", "creationTimestamp": CREATED},
            "spec": {"replicas": 3, "ratio": 1.5, "big": 2_500_000.0, "enabled": true, "tags": ["a", "b"], "labels": {"z": "<1>", "a": 2},
                     "dotted": {"a.b": "dot"}},
            "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}],
                       "lastSync": "2024-06-01T11:00:00Z", "bad": "yesterday"}});
        let cases = [
            (json!([]), vec!["Name", "Age"], json!(["w", "10d"])),
            (
                json!([{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
                    {"name": "On", "type": "boolean", "jsonPath": ".spec.enabled"},
                    {"name": "Synced", "type": "date", "jsonPath": ".status.lastSync"},
                    {"name": "Missing", "type": "string", "jsonPath": ".status.nothing"}]),
                vec![
                    "Name", "Ready", "Replicas", "Ratio", "On", "Synced", "Missing",
                ],
                json!(["w", "True", 3, 1.5, true, "60m", null]),
            ),
            (
                json!([{"name": "Tags", "type": "string", "jsonPath": ".spec.tags"},
                    {"name": "Labels", "type": "string", "jsonPath": ".spec.labels"},
                    {"name": "First", "type": "string", "jsonPath": ".spec.tags[0]"},
                    {"name": "Last", "type": "string", "jsonPath": ".spec.tags[-1]"},
                    {"name": "OutOfRange", "type": "string", "jsonPath": ".spec.tags[5]"},
                    {"name": "Dotted", "type": "string", "jsonPath": ".spec.dotted['a.b']"},
                    {"name": "Big", "type": "string", "jsonPath": ".spec.big"},
                    {"name": "Ratio", "type": "integer", "jsonPath": ".spec.ratio"},
                    {"name": "Bad", "type": "date", "jsonPath": ".status.bad"},
                    {"name": "Mistyped", "type": "integer", "jsonPath": ".status.lastSync"}]),
                vec![
                    "Name",
                    "Tags",
                    "Labels",
                    "First",
                    "Last",
                    "OutOfRange",
                    "Dotted",
                    "Big",
                    "Ratio",
                    "Bad",
                    "Mistyped",
                ],
                json!([
                    "w",
                    "[\"a\",\"b\"]",
                    "{\"a\":2,\"z\":\"\\u003c1\\u003e\"}",
                    "a",
                    "b",
                    null,
                    "dot",
                    "2.5e+06",
                    1,
                    "<invalid>",
                    null
                ]),
            ),
        ];
        for (columns, names, cells) in cases {
            let columns = columns.as_array().unwrap().clone();
            let got: Vec<String> = custom_column_definitions(&columns)
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, names);
            check(Printer::Custom(&columns), &widget, &cells);
        }
        let defs = custom_column_definitions(&[
            json!({"name": "Ready", "type": "string", "jsonPath": ".status.ready", "priority": 1}),
            json!({"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "The phase"}),
        ]);
        assert_eq!(
            defs[1],
            json!({"name": "Ready", "type": "string", "format": "", "priority": 1,
            "description": "Custom resource definition column (in JSONPath format): .status.ready"})
        );
        assert_eq!(defs[2]["description"], "The phase");
        assert_eq!(
            custom_column_definitions(&[])[1]["description"],
            "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp"
        );
    }
}
