//! Strategic merge patch metadata: the `patchStrategy`/`patchMergeKey` struct tags of the
//! built-in types, and the lookup of a field's strategy, merge key and type.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strategy {
    /// No `patchStrategy` tag: maps merge, lists are replaced.
    Default,
    /// `patchStrategy:"merge"`: lists merge (by `patchMergeKey` for lists of objects).
    Merge,
    /// `patchStrategy:"replace"`: the field is replaced wholesale.
    Replace,
}

/// Where in the type tree a map sits: the object's kind at the root, a named type below it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Schema<'a> {
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
pub(super) struct FieldMeta<'a> {
    pub(super) schema: Schema<'a>,
    pub(super) strategy: Strategy,
    pub(super) merge_key: &'static str,
}

pub(super) fn lookup<'a>(schema: Schema<'a>, name: &str) -> FieldMeta<'a> {
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
