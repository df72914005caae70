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
//!
//! This file holds the public entry points, the row envelope and the built-in dispatch; each
//! family of built-in printers (column definitions and cells together) lives in a submodule,
//! the CRD convertor in `custom` with its JSONPath evaluator in `jsonpath`.

mod batch;
mod cluster;
mod custom;
mod events;
mod fields;
mod format;
mod jsonpath;
mod network;
mod pod_status;
mod policy;
mod simple;
mod storage;
mod time;
mod workloads;

#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use self::fields::name_of;
use self::time::{creation_timestamp, rfc3339};

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
    builtin_printer(group, plural)
        .columns
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
    let printer = builtin_printer(group, plural);
    let cells = (printer.cells)(obj, now);
    assemble_row(cells, (printer.conditions)(obj), obj, include)
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
    let mut defs = vec![NAME_COLUMN.to_json()];
    defs.extend(
        custom::effective_printer_columns(printer_columns)
            .iter()
            .map(custom::PrinterColumn::to_json),
    );
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
    for c in custom::effective_printer_columns(printer_columns) {
        cells.push(custom::custom_cell(&c, obj, now));
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
// Column definitions (names, types and priorities from printers.go; descriptions are the
// SwaggerDoc strings those definitions reference)
// ---------------------------------------------------------------------------------------------

/// One column definition of a built-in printer.
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
        column_json(
            self.name,
            self.ty,
            self.format,
            self.description,
            i64::from(self.priority),
        )
    }
}

/// A `metav1.TableColumnDefinition`.
fn column_json(name: &str, ty: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({
        "name": name,
        "type": ty,
        "format": format,
        "description": description,
        "priority": priority,
    })
}

const DESC_NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const DESC_CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const DESC_CONTAINERS: &str = "Names of each container in the template.";
const DESC_IMAGES: &str = "Images referenced by each container in the template.";

/// The first column of (almost) every printer.
const NAME_COLUMN: Col = col("Name", "string", "name", 0, DESC_NAME);
/// The AGE column (`metav1.ObjectMeta` creation timestamp, printed as a duration).
const AGE_COLUMN: Col = col("Age", "string", "", 0, DESC_CREATION_TIMESTAMP);
/// The wide CONTAINERS column of pod-template-bearing workloads.
const CONTAINERS_COLUMN: Col = col("Containers", "string", "", 1, DESC_CONTAINERS);
/// The wide IMAGES column of pod-template-bearing workloads.
const IMAGES_COLUMN: Col = col("Images", "string", "", 1, DESC_IMAGES);

// ---------------------------------------------------------------------------------------------
// Built-in dispatch
// ---------------------------------------------------------------------------------------------

/// The cells of one row of a built-in printer.
type CellsFn = fn(&Value, Timestamp) -> Vec<Value>;

/// A built-in resource's printer: its column definitions, the function that fills one row
/// (one cell per column) and the row's `conditions`, if any.
struct Printer {
    columns: &'static [Col],
    cells: CellsFn,
    conditions: fn(&Value) -> Option<Value>,
}

/// A printer whose rows carry no conditions (all but pods).
const fn printer(columns: &'static [Col], cells: CellsFn) -> Printer {
    Printer {
        columns,
        cells,
        conditions: |_| None,
    }
}

/// `rest.NewDefaultTableConvertor`: used by every built-in resource without a printer
/// (roles, clusterroles, customresourcedefinitions, limitranges, ...).
static DEFAULT_COLUMNS: &[Col] = &[
    NAME_COLUMN,
    col("Created At", "date", "", 0, DESC_CREATION_TIMESTAMP),
];

fn default_cells(obj: &Value, _now: Timestamp) -> Vec<Value> {
    vec![json!(name_of(obj)), json!(rfc3339(creation_timestamp(obj)))]
}

fn builtin_printer(group: &str, plural: &str) -> Printer {
    match (group, plural) {
        ("", "pods") => Printer {
            columns: pod_status::PODS,
            cells: pod_status::pod_cells,
            conditions: pod_status::completed_condition,
        },
        ("", "podtemplates") => printer(workloads::POD_TEMPLATES, workloads::pod_template_cells),
        ("", "replicationcontrollers") => printer(
            workloads::REPLICATION_CONTROLLERS,
            workloads::replication_controller_cells,
        ),
        ("", "services") => printer(network::SERVICES, network::service_cells),
        ("", "endpoints") => printer(network::ENDPOINTS, network::endpoints_cells),
        ("", "nodes") => printer(cluster::NODES, cluster::node_cells),
        ("", "events") => printer(events::EVENTS, events::event_cells),
        ("events.k8s.io", "events") => printer(events::EVENTS, events::events_v1_cells),
        ("", "namespaces") => printer(simple::NAMESPACES, simple::namespace_cells),
        ("", "secrets") => printer(simple::SECRETS, simple::secret_cells),
        ("", "serviceaccounts") => printer(simple::SERVICE_ACCOUNTS, simple::service_account_cells),
        ("", "persistentvolumes") => printer(
            storage::PERSISTENT_VOLUMES,
            storage::persistent_volume_cells,
        ),
        ("", "persistentvolumeclaims") => printer(
            storage::PERSISTENT_VOLUME_CLAIMS,
            storage::persistent_volume_claim_cells,
        ),
        ("", "componentstatuses") => {
            printer(cluster::COMPONENT_STATUSES, cluster::component_status_cells)
        }
        ("", "configmaps") => printer(simple::CONFIG_MAPS, simple::config_map_cells),
        ("", "resourcequotas") => printer(policy::RESOURCE_QUOTAS, policy::resource_quota_cells),
        ("apps", "deployments") => printer(workloads::DEPLOYMENTS, workloads::deployment_cells),
        ("apps", "replicasets") => printer(workloads::REPLICA_SETS, workloads::replica_set_cells),
        ("apps", "daemonsets") => printer(workloads::DAEMON_SETS, workloads::daemon_set_cells),
        ("apps", "statefulsets") => {
            printer(workloads::STATEFUL_SETS, workloads::stateful_set_cells)
        }
        ("apps", "controllerrevisions") => printer(
            workloads::CONTROLLER_REVISIONS,
            workloads::controller_revision_cells,
        ),
        ("batch", "jobs") => printer(batch::JOBS, batch::job_cells),
        ("batch", "cronjobs") => printer(batch::CRON_JOBS, batch::cron_job_cells),
        ("policy", "poddisruptionbudgets") => printer(policy::PDBS, policy::pdb_cells),
        ("networking.k8s.io", "networkpolicies") => {
            printer(network::NETWORK_POLICIES, network::network_policy_cells)
        }
        ("networking.k8s.io", "ingresses") => printer(network::INGRESSES, network::ingress_cells),
        ("networking.k8s.io", "ingressclasses") => {
            printer(network::INGRESS_CLASSES, network::ingress_class_cells)
        }
        ("coordination.k8s.io", "leases") => printer(simple::LEASES, simple::lease_cells),
        ("rbac.authorization.k8s.io", "rolebindings") => {
            printer(policy::ROLE_BINDINGS, policy::role_binding_cells)
        }
        ("rbac.authorization.k8s.io", "clusterrolebindings") => {
            printer(policy::CLUSTER_ROLE_BINDINGS, policy::role_binding_cells)
        }
        ("storage.k8s.io", "storageclasses") => {
            printer(storage::STORAGE_CLASSES, storage::storage_class_cells)
        }
        ("scheduling.k8s.io", "priorityclasses") => {
            printer(simple::PRIORITY_CLASSES, simple::priority_class_cells)
        }
        ("discovery.k8s.io", "endpointslices") => {
            printer(network::ENDPOINT_SLICES, network::endpoint_slice_cells)
        }
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations" | "validatingwebhookconfigurations",
        ) => printer(
            simple::WEBHOOK_CONFIGURATIONS,
            simple::webhook_configuration_cells,
        ),
        _ => printer(DEFAULT_COLUMNS, default_cells),
    }
}
