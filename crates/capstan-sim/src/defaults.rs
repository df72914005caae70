//! API defaulting for objects created through the API, as upstream's `SetDefaults_*` do for the
//! fields clients read back.

use serde_json::{Value, json};

fn entry<'a>(obj: &'a mut Value, key: &str, default: Value) -> &'a mut Value {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().expect("just made an object");
    map.entry(key.to_string()).or_insert(default)
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

/// Defaults of a PodSpec (also used inside workload templates).
pub fn pod_spec(spec: &mut Value) {
    entry(spec, "restartPolicy", json!("Always"));
    entry(spec, "terminationGracePeriodSeconds", json!(30));
    entry(spec, "dnsPolicy", json!("ClusterFirst"));
    entry(spec, "schedulerName", json!("default-scheduler"));
    entry(spec, "securityContext", json!({}));
    if spec.get("serviceAccountName").is_none() {
        entry(spec, "serviceAccountName", json!("default"));
    }
    if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        for c in containers {
            let latest = c.get("image").and_then(Value::as_str).is_some_and(|i| {
                !i.rsplit('/').next().unwrap_or(i).contains(':') || i.ends_with(":latest")
            });
            entry(
                c,
                "imagePullPolicy",
                json!(if latest { "Always" } else { "IfNotPresent" }),
            );
            entry(c, "terminationMessagePath", json!("/dev/termination-log"));
            entry(c, "terminationMessagePolicy", json!("File"));
            entry(c, "resources", json!({}));
        }
    }
}

/// Upstream's QoS rules: Guaranteed when every container has equal cpu and memory requests and
/// limits; BestEffort when none has any; Burstable otherwise.
pub fn qos_class(spec: &Value) -> &'static str {
    let Some(containers) = spec.get("containers").and_then(Value::as_array) else {
        return "BestEffort";
    };
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let req = c.pointer("/resources/requests");
        let lim = c.pointer("/resources/limits");
        for r in ["cpu", "memory"] {
            let rq = req.and_then(|x| x.get(r));
            let lm = lim.and_then(|x| x.get(r));
            if rq.is_some() || lm.is_some() {
                any = true;
            }
            // A limit without a request defaults the request to the limit.
            match (rq.or(lm), lm) {
                (Some(a), Some(b)) if a == b => {}
                _ => guaranteed = false,
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
        let check = |spec: Value, want: &str| assert_eq!(qos_class(&spec), want, "{spec}");
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
