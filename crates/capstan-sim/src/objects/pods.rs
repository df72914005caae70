//! Pods as the API server stores them: PodSpec defaulting, the standard admission plugins,
//! effective requests and QoS class, and cheap copies of an already defaulted pod.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::images::image_tag;
use super::quantity::{cpu_millis, memory_bytes, parse_quantity};
use super::time::rfc3339;
use super::{OwnerRef, meta, str_at, with};

/// Defaults the API server fills in any PodSpec (pods and pod templates alike).
pub fn default_pod_spec(spec: &mut Map<String, Value>) {
    let defaults: [(&str, Value); 5] = [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
    ];
    for (k, v) in defaults {
        spec.entry(k).or_insert(v);
    }
    for list in ["initContainers", "containers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                default_container(c);
            }
        }
    }
    if let Some(Value::Array(vols)) = spec.get_mut("volumes") {
        for v in vols.iter_mut() {
            for kind in ["configMap", "secret", "projected"] {
                if let Some(o) = v.get_mut(kind).and_then(Value::as_object_mut) {
                    o.entry("defaultMode").or_insert(json!(420));
                }
            }
        }
    }
}

fn default_container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let pull = if image_tag(image).is_none_or(|t| t == "latest") {
        "Always"
    } else {
        "IfNotPresent"
    };
    c.entry("imagePullPolicy").or_insert(json!(pull));
    c.entry("terminationMessagePath")
        .or_insert(json!("/dev/termination-log"));
    c.entry("terminationMessagePolicy").or_insert(json!("File"));
    let resources = c.entry("resources").or_insert(json!({}));
    // A limit without a request defaults the request to the limit (upstream's
    // SetDefaults_Pod), which is what makes a limits-only pod Guaranteed.
    if let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned()
        && let Some(res) = resources.as_object_mut()
    {
        let requests = res.entry("requests").or_insert(json!({}));
        if let Some(requests) = requests.as_object_mut() {
            for (name, q) in limits {
                requests.entry(name).or_insert(q);
            }
        }
    }
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.entry("protocol").or_insert(json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            p.entry("timeoutSeconds").or_insert(json!(1));
            p.entry("periodSeconds").or_insert(json!(10));
            p.entry("successThreshold").or_insert(json!(1));
            p.entry("failureThreshold").or_insert(json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                h.entry("scheme").or_insert(json!("HTTP"));
            }
        }
    }
}

fn priority_of(class: &str) -> i64 {
    match class {
        "system-node-critical" => 2_000_001_000,
        "system-cluster-critical" => 2_000_000_000,
        _ => 0,
    }
}

/// Effective (cpu millis, memory bytes) requests of a PodSpec as the scheduler counts them:
/// the larger of the sum over containers and the largest init container.
pub fn pod_requests(spec: &Value) -> (i64, i64) {
    let sum = |list: &str, take_max: bool| {
        let mut acc = (0i64, 0i64);
        if let Some(cs) = spec.get(list).and_then(Value::as_array) {
            for c in cs {
                let (cpu, mem) = container_requests(c);
                if take_max {
                    acc = (acc.0.max(cpu), acc.1.max(mem));
                } else {
                    acc = (acc.0 + cpu, acc.1 + mem);
                }
            }
        }
        acc
    };
    let (c, m) = sum("containers", false);
    let (ic, im) = sum("initContainers", true);
    (c.max(ic), m.max(im))
}

/// A container's requests, falling back to limits as API-server defaulting does.
fn container_requests(c: &Value) -> (i64, i64) {
    let get = |res: &str, field: &str| {
        c.pointer(&format!("/resources/{field}/{res}"))
            .and_then(Value::as_str)
    };
    let cpu = get("cpu", "requests")
        .or_else(|| get("cpu", "limits"))
        .and_then(cpu_millis)
        .unwrap_or(0);
    let mem = get("memory", "requests")
        .or_else(|| get("memory", "limits"))
        .and_then(memory_bytes)
        .unwrap_or(0);
    (cpu, mem)
}

/// QoS class per upstream rules (cpu and memory only): BestEffort without any request or
/// limit; Guaranteed when every container limits both and requests equal limits; else
/// Burstable. Expects requests already defaulted from limits.
pub fn qos_class(spec: &Value) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    for list in ["initContainers", "containers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for res in ["cpu", "memory"] {
                let parse = |field: &str| {
                    c.pointer(&format!("/resources/{field}/{res}"))
                        .and_then(Value::as_str)
                        .and_then(parse_quantity)
                        .map(|q| q.millis())
                        .filter(|v| *v != 0)
                };
                let (req, lim) = (parse("requests"), parse("limits"));
                any |= req.is_some() || lim.is_some();
                if lim.is_none() || req != lim {
                    guaranteed = false;
                }
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A new, unscheduled Pod from a PodTemplateSpec, after the API server's defaulting and the
/// standard admission plugins (ServiceAccount token volume, DefaultTolerationSeconds,
/// Priority). Pods owned by a ReplicaSet or DaemonSet also get `generateName` (`<owner>-`).
#[allow(clippy::too_many_arguments)]
pub fn pod_from_template(
    template: &Value,
    namespace: &str,
    name: &str,
    owner: Option<OwnerRef>,
    extra_labels: &[(&str, &str)],
    now: Timestamp,
    rng: &mut SimRng,
) -> Value {
    let mut metadata = meta(name, Some(namespace), now, rng);
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert((*k).to_string(), json!(v));
    }
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(labels));
    }
    if let Some(a) = template.pointer("/metadata/annotations") {
        metadata.insert("annotations".into(), a.clone());
    }
    if let Some(o) = &owner {
        if matches!(o.kind.as_str(), "ReplicaSet" | "DaemonSet" | "Job") {
            metadata.insert("generateName".into(), json!(format!("{}-", o.name)));
        }
        metadata.insert("ownerReferences".into(), json!([o.to_value()]));
    }

    let mut spec = template
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    default_pod_spec(&mut spec);
    // Pod-only defaulting: requests default to limits.
    for list in ["initContainers", "containers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut() {
                let Some(limits) = c
                    .pointer("/resources/limits")
                    .and_then(Value::as_object)
                    .cloned()
                else {
                    continue;
                };
                let res = &mut c["resources"];
                if !res["requests"].is_object() {
                    res["requests"] = json!({});
                }
                let req = res["requests"]
                    .as_object_mut()
                    .expect("made an object above");
                for (k, v) in limits {
                    req.entry(k).or_insert(v);
                }
            }
        }
    }
    // ServiceAccount admission.
    let sa = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    spec.insert("serviceAccountName".into(), json!(sa));
    spec.insert("serviceAccount".into(), json!(sa));
    let automount = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        != Some(false);
    if automount {
        let vol = format!("kube-api-access-{}", rng.name_suffix(5));
        let mount = json!({
            "name": vol,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": true,
        });
        for list in ["initContainers", "containers"] {
            if let Some(Value::Array(cs)) = spec.get_mut(list) {
                for c in cs.iter_mut() {
                    if !c["volumeMounts"].is_array() {
                        c["volumeMounts"] = json!([]);
                    }
                    if let Some(m) = c["volumeMounts"].as_array_mut() {
                        m.push(mount.clone());
                    }
                }
            }
        }
        let volume = json!({
            "name": vol,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ],
            },
        });
        match spec.get_mut("volumes") {
            Some(Value::Array(v)) => v.push(volume),
            _ => {
                spec.insert("volumes".into(), json!([volume]));
            }
        }
    }
    // DefaultTolerationSeconds admission.
    let mut tolerations = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let covered = tolerations.iter().any(|t| {
            let k = str_at(t, "/key");
            (k == key || (k.is_empty() && str_at(t, "/operator") == "Exists"))
                && matches!(str_at(t, "/effect"), "" | "NoExecute")
        });
        if !covered {
            tolerations.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300,
            }));
        }
    }
    spec.insert("tolerations".into(), Value::Array(tolerations));
    // Priority admission and defaulting.
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let priority = priority_of(class);
    spec.insert("priority".into(), json!(priority));
    spec.entry("preemptionPolicy")
        .or_insert(json!("PreemptLowerPriority"));
    spec.entry("enableServiceLinks").or_insert(json!(true));

    let spec = Value::Object(spec);
    let qos = qos_class(&spec);
    with(
        json!({"apiVersion": "v1", "kind": "Pod", "status": { "phase": "Pending", "qosClass": qos }}),
        vec![(&["metadata"], Value::Object(metadata)), (&["spec"], spec)],
    )
}

/// Another pod like `proto` (a Pending pod from [`pod_from_template`] or
/// [`replica_set_pod`](super::replica_set_pod)): same labels, owner and defaulted spec, with
/// its own `name`, uid, creationTimestamp and service-account token volume; unbound and
/// Pending. Much cheaper than defaulting the template again, for controllers that create
/// many identical pods.
pub fn pod_like(proto: &Value, name: &str, now: Timestamp, rng: &mut SimRng) -> Value {
    let mut pod = proto.clone();
    renew_pod_identity(&mut pod, name, now, rng);
    if let Some(s) = pod["spec"].as_object_mut() {
        s.remove("nodeName");
    }
    let qos = proto["status"]["qosClass"].clone();
    pod["status"] = json!({"phase": "Pending"});
    pod["status"]["qosClass"] = qos;
    pod
}

/// New name, uid, creationTimestamp and token volume name for a copied pod; everything else
/// (node, status) is left as it was.
pub(crate) fn renew_pod_identity(pod: &mut Value, name: &str, now: Timestamp, rng: &mut SimRng) {
    if let Some(m) = pod["metadata"].as_object_mut() {
        m.insert("name".into(), json!(name));
        m.insert("uid".into(), json!(rng.uuid()));
        m.insert("creationTimestamp".into(), json!(rfc3339(now)));
    }
    let spec = &mut pod["spec"];
    // The ServiceAccount admission plugin names the token volume per pod.
    let old = spec["volumes"].as_array().and_then(|vols| {
        vols.iter()
            .map(|v| str_at(v, "/name"))
            .find(|n| n.starts_with("kube-api-access-"))
            .map(str::to_string)
    });
    if let Some(old) = old {
        let new = format!("kube-api-access-{}", rng.name_suffix(5));
        if let Some(vols) = spec["volumes"].as_array_mut() {
            for v in vols.iter_mut().filter(|v| str_at(v, "/name") == old) {
                v["name"] = json!(new);
            }
        }
        for list in ["initContainers", "containers"] {
            // `get_mut`, not indexing: indexing a missing key would insert a null.
            if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in cs.iter_mut() {
                    if let Some(mounts) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                        for m in mounts.iter_mut().filter(|m| str_at(m, "/name") == old) {
                            m["name"] = json!(new);
                        }
                    }
                }
            }
        }
    }
}
