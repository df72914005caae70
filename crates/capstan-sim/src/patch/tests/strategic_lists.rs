//! Strategic merge of lists of maps: containers by name, list directives and ordering.

use serde_json::{Value, json};

use super::{Want, deployment, log, smp, web};

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
            pod(json!([{"name": "1", "other": "a"}, {"name": "2", "value": "2", "other": "b"}])),
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
