//! Strategic merge patches as kubectl sends them.

use serde_json::json;

use super::{Want, check, log, smp, web};
use crate::patch::PatchType;

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
