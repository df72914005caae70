//! Server-side apply bodies.

use serde_json::json;

use super::{Want, check, log, web};
use crate::patch::PatchType;

#[test]
fn server_side_apply() {
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"a": "1"}, "finalizers": ["f1"]},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [web(), log()]}}}});
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  creationTimestamp: null\n  labels:\n    b: \"2\"\n  finalizers: [f2, f1]\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:3\n        env:\n        - name: C\n          value: \"3\"\n";
    let mut want = live.clone();
    want["metadata"]["labels"]["b"] = json!("2");
    want["metadata"]["finalizers"] = json!(["f1", "f2"]);
    want["spec"]["replicas"] = json!(3);
    let mut want_web = web();
    want_web["image"] = json!("nginx:3");
    want_web["env"] = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]);
    want["spec"]["template"]["spec"]["containers"] = json!([want_web, log()]);
    let cases = [
        (yaml.to_string(), Want::Ok(want)),
        // JSON is YAML too (kubectl --server-side and kube-rs send JSON).
        (r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"tolerations":[{"key":"t"}]}}}}"#.to_string(),
         Want::Ok({
             let mut w = live.clone();
             w["spec"]["template"]["spec"]["tolerations"] = json!([{"key": "t"}]);
             w
         })),
        ("metadata:\n  name: web\n  managedFields: []\n".to_string(), Want::Malformed),
        ("metadata: [unclosed\n".to_string(), Want::Malformed),
        ("- just\n- a list\n".to_string(), Want::Malformed),
    ];
    for (body, want) in cases {
        check(
            "Deployment",
            true,
            live.clone(),
            PatchType::Apply,
            &body,
            want,
        );
    }
    // Custom resources accept apply.
    check(
        "Widget",
        false,
        json!({"spec": {"a": 1, "list": [1, 2]}}),
        PatchType::Apply,
        "spec:\n  list: [3]\n  b: x\n",
        Want::Ok(json!({"spec": {"a": 1, "b": "x", "list": [3]}})),
    );
}
