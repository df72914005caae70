//! API defaulting for objects created through the API, as upstream's `SetDefaults_*` do for the
//! fields clients read back. PodSpec defaulting is shared with the generator
//! ([`crate::objects::default_pod_spec`]).

use serde_json::{Value, json};

use crate::objects::{default_pod_spec, qos_class};

fn entry<'a>(obj: &'a mut Value, key: &str, default: Value) -> &'a mut Value {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().expect("just made an object");
    map.entry(key.to_string()).or_insert(default)
}

fn pod_spec(spec: &mut Value) {
    if let Some(map) = spec.as_object_mut() {
        default_pod_spec(map);
        map.entry("serviceAccountName").or_insert(json!("default"));
    }
}

/// PodSpec defaults and the initial Pending status.
pub fn pod(obj: &mut Value) {
    let spec = entry(obj, "spec", json!({}));
    pod_spec(spec);
    let qos = qos_class(spec);
    let status = entry(obj, "status", json!({}));
    entry(status, "phase", json!("Pending"));
    entry(status, "qosClass", json!(qos));
}

/// Workload defaults (apps/v1).
pub fn workload(plural: &str, obj: &mut Value) {
    let spec = entry(obj, "spec", json!({}));
    if let Some(template_spec) = spec.pointer_mut("/template/spec") {
        pod_spec(template_spec);
    }
    match plural {
        "deployments" => {
            entry(spec, "replicas", json!(1));
            entry(spec, "revisionHistoryLimit", json!(10));
            entry(spec, "progressDeadlineSeconds", json!(600));
            entry(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
        }
        "replicasets" => {
            entry(spec, "replicas", json!(1));
        }
        "statefulsets" => {
            entry(spec, "replicas", json!(1));
            entry(spec, "podManagementPolicy", json!("OrderedReady"));
            entry(spec, "revisionHistoryLimit", json!(10));
            entry(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
        }
        "daemonsets" => {
            entry(spec, "revisionHistoryLimit", json!(10));
            entry(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_classes() {
        let check = |spec: Value, want: &str| {
            let mut p = json!({ "spec": spec });
            pod(&mut p);
            assert_eq!(p["status"]["qosClass"], want, "{p}");
        };
        check(json!({"containers": [{"name": "a"}]}), "BestEffort");
        check(
            json!({"containers": [{"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]}),
            "Guaranteed",
        );
        check(
            json!({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}),
            "Guaranteed",
        );
        check(
            json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]}),
            "Burstable",
        );
    }

    #[test]
    fn pod_gets_pending_status_and_defaults() {
        let mut p = json!({"spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        pod(&mut p);
        assert_eq!(p["status"]["phase"], "Pending");
        assert_eq!(p["spec"]["restartPolicy"], "Always");
        assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Always");
    }
}
