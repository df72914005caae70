//! The simple core/v1 objects: Namespaces, Services, ServiceAccounts, ConfigMaps, Events.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::time::rfc3339;
use super::{labels_value, meta, str_at, with};

/// core/v1 Namespace with the `kubernetes.io/metadata.name` label, Pod Security Admission
/// labels for `pss_level` (enforce, audit and warn at `latest`), finalizer and phase Active.
pub fn namespace(
    name: &str,
    pss_level: Option<&str>,
    labels: &[(&str, &str)],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let mut l = Map::new();
    l.insert("kubernetes.io/metadata.name".into(), json!(name));
    if let Some(level) = pss_level {
        for mode in ["enforce", "audit", "warn"] {
            l.insert(format!("pod-security.kubernetes.io/{mode}"), json!(level));
            l.insert(
                format!("pod-security.kubernetes.io/{mode}-version"),
                json!("latest"),
            );
        }
    }
    for (k, v) in labels {
        l.insert((*k).to_string(), json!(v));
    }
    let mut metadata = meta(name, None, now, rng);
    metadata.insert("labels".into(), Value::Object(l));
    with(
        json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// ClusterIP Service (single-stack IPv4) exposing `port` as "http" to `selector`;
/// `cluster_ip` "None" makes it headless.
pub fn service(
    namespace: &str,
    name: &str,
    selector: &[(&str, &str)],
    port: u16,
    cluster_ip: &str,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("labels".into(), labels_value(selector));
    let mut spec = json!({
        "clusterIP": cluster_ip,
        "clusterIPs": [cluster_ip],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": port}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
    });
    if !selector.is_empty() {
        spec["selector"] = labels_value(selector);
    }
    with(
        json!({
        "apiVersion": "v1",
        "kind": "Service",
        "spec": spec,
        "status": {"loadBalancer": {}},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

pub fn service_account(namespace: &str, name: &str, rng: &mut SimRng, now: Timestamp) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, Some(namespace), now, rng)})
}

pub fn config_map(
    namespace: &str,
    name: &str,
    data: &[(&str, &str)],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(name, Some(namespace), now, rng),
        "data": labels_value(data),
    })
}

/// core/v1 Event about `involved`, named `<object>.<hex unix nanos>` as client-go's recorder
/// names them, in the object's namespace ("default" for cluster-scoped objects).
pub fn event(
    involved: &Value,
    reason: &str,
    message: &str,
    type_: &str,
    component: &str,
    now: Timestamp,
    rng: &mut SimRng,
) -> Value {
    let obj_name = str_at(involved, "/metadata/name");
    let obj_ns = involved
        .pointer("/metadata/namespace")
        .and_then(Value::as_str);
    let ns = obj_ns.unwrap_or("default");
    // Nanoseconds with random low digits: two events in the same simulated instant differ.
    let nanos = now.as_nanosecond().max(0) as u128 + u128::from(rng.range_inclusive(0, 999_999));
    let name = format!("{obj_name}.{nanos:x}");
    let mut involved_ref = json!({
        "apiVersion": str_at(involved, "/apiVersion"),
        "kind": str_at(involved, "/kind"),
        "name": obj_name,
        "uid": str_at(involved, "/metadata/uid"),
    });
    if let Some(n) = obj_ns {
        involved_ref["namespace"] = json!(n);
    }
    if let Some(rv) = involved.pointer("/metadata/resourceVersion") {
        involved_ref["resourceVersion"] = rv.clone();
    }
    let now_s = rfc3339(now);
    let mut source = json!({"component": component});
    if component == "kubelet"
        && let Some(host) = involved.pointer("/spec/nodeName").and_then(Value::as_str)
    {
        source["host"] = json!(host);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta(&name, Some(ns), now, rng),
        "involvedObject": involved_ref,
        "reason": reason,
        "message": message,
        "type": type_,
        "source": source,
        "firstTimestamp": now_s,
        "lastTimestamp": now_s,
        "count": 1,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": "",
    })
}
