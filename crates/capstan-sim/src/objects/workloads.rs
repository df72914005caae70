//! Workload controllers' objects: Deployments and their ReplicaSets, DaemonSets,
//! StatefulSets, ControllerRevisions, the pods they create and the status they report.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::pods::{default_pod_spec, pod_from_template};
use super::time::rfc3339;
use super::{OwnerRef, conditions_mut, meta, set_condition, str_at, with};

/// The selector a builder uses for a workload: `k8s-app` when the template carries it (the
/// kube-system convention), otherwise `app=<name>`.
fn selector_for(template: &Value, name: &str) -> (String, String) {
    match template
        .pointer("/metadata/labels/k8s-app")
        .and_then(Value::as_str)
    {
        Some(v) => ("k8s-app".into(), v.into()),
        None => ("app".into(), name.into()),
    }
}

/// A template as stored inside a workload: selector label ensured, `creationTimestamp: null`
/// (how the API returns templates) and PodSpec defaults applied.
fn stored_template(template: &Value, key: &str, value: &str) -> Value {
    let mut t = template.clone();
    if !t.is_object() {
        t = json!({});
    }
    if !t["metadata"].is_object() {
        t["metadata"] = json!({});
    }
    t["metadata"]["creationTimestamp"] = Value::Null;
    if !t["metadata"]["labels"].is_object() {
        t["metadata"]["labels"] = json!({});
    }
    t["metadata"]["labels"][key] = json!(value);
    if !t["spec"].is_object() {
        t["spec"] = json!({});
    }
    if let Some(spec) = t["spec"].as_object_mut() {
        default_pod_spec(spec);
    }
    t
}

fn workload_labels(template: &Value) -> Value {
    let mut out = Map::new();
    if let Some(l) = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    {
        for k in ["app", "app.kubernetes.io/name", "k8s-app", "team"] {
            if let Some(v) = l.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// apps/v1 Deployment: RollingUpdate 25%/25%, revisionHistoryLimit 10,
/// progressDeadlineSeconds 600, selector `app=<name>` (or the template's `k8s-app`).
/// What every workload builder starts with: the selector (key, value), the stored template
/// carrying it, and metadata at generation 1 labelled like the template.
struct WorkloadHead {
    sk: String,
    sv: String,
    template: Value,
    metadata: Map<String, Value>,
}

fn workload_head(
    namespace: &str,
    name: &str,
    template: &Value,
    rng: &mut SimRng,
    now: Timestamp,
) -> WorkloadHead {
    let (sk, sv) = selector_for(template, name);
    let template = stored_template(template, &sk, &sv);
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    metadata.insert("labels".into(), workload_labels(&template));
    WorkloadHead {
        sk,
        sv,
        template,
        metadata,
    }
}

pub fn deployment(
    namespace: &str,
    name: &str,
    replicas: u32,
    template: &Value,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let WorkloadHead {
        sk,
        sv,
        template,
        mut metadata,
    } = workload_head(namespace, name, template, rng, now);
    metadata.insert(
        "annotations".into(),
        json!({"deployment.kubernetes.io/revision": "1"}),
    );
    let v = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {sk: sv}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        },
        "status": {},
    });
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "template"], template),
        ],
    )
}

/// The `pod-template-hash` of a PodTemplateSpec in upstream's format: a 32-bit FNV-1a of the
/// template (here over its canonical JSON rather than Go's object dump), printed in decimal
/// and mapped character by character onto the safe alphabet. Deterministic across builds.
pub fn pod_template_hash(template: &Value) -> String {
    const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // Hash the serialisation as it streams out rather than building the string.
    struct Fnv32(u32);
    impl std::io::Write for Fnv32 {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for b in buf {
                self.0 ^= u32::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0193);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Fnv32(0x811c_9dc5);
    // Writing a Value into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut h, template);
    h.0.to_string()
        .bytes()
        .map(|b| SAFE[usize::from(b) % SAFE.len()] as char)
        .collect()
}

/// The ReplicaSet a Deployment controller creates for the current template:
/// `<deployment>-<hash>`, label `pod-template-hash`, revision annotations, controller
/// ownerReference.
pub fn replica_set_for(
    deployment: &Value,
    pod_template_hash: &str,
    replicas: u32,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let dname = str_at(deployment, "/metadata/name");
    let ns = str_at(deployment, "/metadata/namespace");
    let name = format!("{dname}-{pod_template_hash}");
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"]["pod-template-hash"] = json!(pod_template_hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(pod_template_hash);
    let labels = template["metadata"]["labels"].clone();
    let revision = deployment
        .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .unwrap_or("1");
    let surge = replicas.div_ceil(4);
    let mut metadata = meta(&name, Some(ns), now, rng);
    metadata.insert("generation".into(), json!(1));
    metadata.insert("labels".into(), labels);
    metadata.insert(
        "annotations".into(),
        json!({
            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
            "deployment.kubernetes.io/max-replicas": (replicas + surge).to_string(),
            "deployment.kubernetes.io/revision": revision,
        }),
    );
    if let Some(o) = OwnerRef::controller_of(deployment) {
        metadata.insert("ownerReferences".into(), json!([o.to_value()]));
    }
    let v = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": {"replicas": replicas}, "status": {"replicas": 0}});
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "selector"], selector),
            (&["spec", "template"], template),
        ],
    )
}

/// A new pod of a ReplicaSet: `<rs>-<5 chars>`, controller reference, template labels.
pub fn replica_set_pod(rs: &Value, now: Timestamp, rng: &mut SimRng) -> Value {
    let name = format!("{}-{}", str_at(rs, "/metadata/name"), rng.name_suffix(5));
    pod_from_template(
        &rs["spec"]["template"],
        str_at(rs, "/metadata/namespace"),
        &name,
        OwnerRef::controller_of(rs),
        &[],
        now,
        rng,
    )
}

/// apps/v1 DaemonSet with RollingUpdate (maxSurge 0, maxUnavailable 1).
pub fn daemon_set(
    namespace: &str,
    name: &str,
    template: &Value,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let WorkloadHead {
        sk,
        sv,
        template,
        mut metadata,
    } = workload_head(namespace, name, template, rng, now);
    metadata.insert(
        "annotations".into(),
        json!({"deprecated.daemonset.template.generation": "1"}),
    );
    let v = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "spec": {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {sk: sv}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
        },
        "status": {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0},
    });
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "template"], template),
        ],
    )
}

/// The DaemonSet controller's pod for one node: node affinity on `metadata.name`, the
/// tolerations DaemonSet pods always get, `controller-revision-hash` and
/// `pod-template-generation` labels.
pub fn daemon_set_pod(ds: &Value, node_name: &str, now: Timestamp, rng: &mut SimRng) -> Value {
    let template = &ds["spec"]["template"];
    let hash = pod_template_hash(template);
    let generation = ds
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .to_string();
    let name = format!("{}-{}", str_at(ds, "/metadata/name"), rng.name_suffix(5));
    let mut pod = pod_from_template(
        template,
        str_at(ds, "/metadata/namespace"),
        &name,
        OwnerRef::controller_of(ds),
        &[
            ("controller-revision-hash", &hash),
            ("pod-template-generation", &generation),
        ],
        now,
        rng,
    );
    let spec = &mut pod["spec"];
    spec["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}],
    }}});
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    let mut extra = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        extra.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let mut tolerations: Vec<Value> = spec["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        // DaemonSet pods tolerate not-ready/unreachable forever, not for 300 s.
        .filter(|t| t.get("tolerationSeconds").is_none())
        .collect();
    for (key, effect) in extra {
        tolerations.push(json!({"key": key, "operator": "Exists", "effect": effect}));
    }
    spec["tolerations"] = Value::Array(tolerations);
    pod
}

/// apps/v1 StatefulSet: OrderedReady, RollingUpdate partition 0, governing headless service
/// named like the set, PVC retention Retain/Retain.
pub fn stateful_set(
    namespace: &str,
    name: &str,
    replicas: u32,
    template: &Value,
    volume_claim_templates: &[Value],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let WorkloadHead {
        sk,
        sv,
        template,
        metadata,
    } = workload_head(namespace, name, template, rng, now);
    let v = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "spec": {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady",
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {sk: sv}},
            "serviceName": name,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "volumeClaimTemplates": volume_claim_templates,
        },
        "status": {"availableReplicas": 0, "replicas": 0},
    });
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "template"], template),
        ],
    )
}

/// The pod a StatefulSet controller creates for `ordinal`: stable name, hostname/subdomain,
/// one PVC volume per claim template (`<claim>-<set>-<ordinal>`).
pub fn stateful_set_pod(sts: &Value, ordinal: u32, now: Timestamp, rng: &mut SimRng) -> Value {
    let sname = str_at(sts, "/metadata/name");
    let name = format!("{sname}-{ordinal}");
    let revision = format!("{sname}-{}", pod_template_hash(&sts["spec"]["template"]));
    let index = ordinal.to_string();
    let mut template = sts["spec"]["template"].clone();
    let claims: Vec<Value> = sts["spec"]["volumeClaimTemplates"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let claim = str_at(c, "/metadata/name");
                    json!({"name": claim, "persistentVolumeClaim": {"claimName": format!("{claim}-{name}")}})
                })
                .collect()
        })
        .unwrap_or_default();
    if !claims.is_empty() {
        let mut vols = claims;
        if let Some(existing) = template["spec"]["volumes"].as_array() {
            vols.extend(existing.iter().cloned());
        }
        template["spec"]["volumes"] = Value::Array(vols);
    }
    template["spec"]["hostname"] = json!(name);
    template["spec"]["subdomain"] = json!(str_at(sts, "/spec/serviceName"));
    pod_from_template(
        &template,
        str_at(sts, "/metadata/namespace"),
        &name,
        OwnerRef::controller_of(sts),
        &[
            ("apps.kubernetes.io/pod-index", &index),
            ("controller-revision-hash", &revision),
            ("statefulset.kubernetes.io/pod-name", &name),
        ],
        now,
        rng,
    )
}

/// apps/v1 ControllerRevision that DaemonSets and StatefulSets keep for rollbacks:
/// `<owner>-<hash>` holding the template.
pub fn controller_revision(
    owner: &Value,
    revision: i64,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let template = &owner["spec"]["template"];
    let hash = pod_template_hash(template);
    let name = format!("{}-{hash}", str_at(owner, "/metadata/name"));
    let mut labels = owner["spec"]["selector"]["matchLabels"].clone();
    let key = if str_at(owner, "/kind") == "StatefulSet" {
        "controller.kubernetes.io/hash"
    } else {
        "controller-revision-hash"
    };
    labels[key] = json!(hash);
    let mut metadata = meta(&name, Some(str_at(owner, "/metadata/namespace")), now, rng);
    metadata.insert("labels".into(), labels);
    if let Some(o) = OwnerRef::controller_of(owner) {
        metadata.insert("ownerReferences".into(), json!([o.to_value()]));
    }
    let v = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "data": {"spec": {"$patch": "replace"}}, "revision": revision});
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["data", "spec", "template"], template.clone()),
        ],
    )
}

/// Pod counts a workload controller reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadCounts {
    /// Desired pods: `spec.replicas`, or the number of eligible nodes for a DaemonSet.
    pub desired: u32,
    /// Pods that exist.
    pub current: u32,
    /// Pods that are Ready (and, here, available).
    pub ready: u32,
}

/// The steady-state `status` a Deployment, ReplicaSet, StatefulSet or DaemonSet controller
/// writes once it has observed the current generation. A Deployment with fewer available
/// than desired reports `Available=False` (MinimumReplicasUnavailable) when below
/// `desired - maxUnavailable`.
pub fn set_workload_status(obj: &mut Value, counts: WorkloadCounts, now: Timestamp) {
    let generation = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let WorkloadCounts {
        desired,
        current,
        ready,
    } = counts;
    let now_s = rfc3339(now);
    match str_at(obj, "/kind") {
        "Deployment" => {
            let name = str_at(obj, "/metadata/name").to_string();
            let hash = pod_template_hash(&obj["spec"]["template"]);
            let max_unavailable = desired / 4;
            let available = ready + max_unavailable >= desired;
            obj["status"] = json!({
                "availableReplicas": ready,
                "observedGeneration": generation,
                "readyReplicas": ready,
                "replicas": current,
                "updatedReplicas": current,
            });
            if current > ready {
                obj["status"]["unavailableReplicas"] = json!(current - ready);
            }
            let conds = conditions_mut(obj, "conditions");
            let (st, reason, msg) = if available {
                (
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.".to_string(),
                )
            } else {
                (
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.".to_string(),
                )
            };
            set_condition(conds, "Available", st, Some(reason), Some(&msg), &now_s);
            let progressed = format!("ReplicaSet \"{name}-{hash}\" has successfully progressed.");
            set_condition(
                conds,
                "Progressing",
                "True",
                Some("NewReplicaSetAvailable"),
                Some(&progressed),
                &now_s,
            );
            for c in conds.iter_mut() {
                c["lastUpdateTime"] = json!(now_s);
                if let Some(o) = c.as_object_mut() {
                    o.remove("lastProbeTime");
                }
            }
        }
        "ReplicaSet" => {
            obj["status"] = json!({
                "availableReplicas": ready,
                "fullyLabeledReplicas": current,
                "observedGeneration": generation,
                "readyReplicas": ready,
                "replicas": current,
            });
        }
        "StatefulSet" => {
            let hash = format!(
                "{}-{}",
                str_at(obj, "/metadata/name"),
                pod_template_hash(&obj["spec"]["template"])
            );
            obj["status"] = json!({
                "availableReplicas": ready,
                "collisionCount": 0,
                "currentReplicas": current,
                "currentRevision": hash,
                "observedGeneration": generation,
                "readyReplicas": ready,
                "replicas": current,
                "updateRevision": hash,
                "updatedReplicas": current,
            });
        }
        "DaemonSet" => {
            obj["status"] = json!({
                "currentNumberScheduled": current,
                "desiredNumberScheduled": desired,
                "numberAvailable": ready,
                "numberMisscheduled": 0,
                "numberReady": ready,
                "observedGeneration": generation,
                "updatedNumberScheduled": current,
            });
            if desired > ready {
                obj["status"]["numberUnavailable"] = json!(desired - ready);
            }
        }
        _ => {}
    }
}
