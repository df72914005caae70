//! Strategic merge of primitive lists, metadata, nodes, services and patch strategies.

use serde_json::{Value, json};

use super::{Want, check, smp};
use crate::patch::PatchType;

#[test]
fn strategic_merge_primitive_lists_and_metadata() {
    let cases = [
        // "merge lists of scalars": $setElementOrder [1,2,3] + [3] onto [1,2,4].
        (
            json!({"metadata": {"finalizers": ["1", "2", "4"]}}),
            json!({"metadata": {"$setElementOrder/finalizers": ["1", "2", "3"], "finalizers": ["3"]}}),
            Want::Ok(json!({"metadata": {"finalizers": ["1", "2", "3", "4"]}})),
        ),
        // Without an order directive new items go first.
        (
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["c", "a"]}}),
            Want::Ok(json!({"metadata": {"finalizers": ["c", "a", "b"]}})),
        ),
        (
            json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "x"]}}),
            Want::Ok(json!({"metadata": {"finalizers": ["a", "c"]}})),
        ),
        // Deleting from an absent list does not create it.
        (
            json!({"metadata": {}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
            Want::Ok(json!({"metadata": {}})),
        ),
        (
            json!({"metadata": {"finalizers": ["a"]}}),
            json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
            Want::Malformed,
        ),
        // ownerReferences merge by uid.
        (
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "b", "controller": true}]}}),
            Want::Ok(
                json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b", "controller": true}]}}),
            ),
        ),
        // kubectl label / annotate: map merge, null deletes.
        (
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
            Want::Ok(json!({"metadata": {"labels": {"b": "2", "c": "3"}}})),
        ),
        // "$patch: replace" and "$patch: delete" on maps.
        (
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            json!({"metadata": {"labels": {"$patch": "replace", "x": "y"}}}),
            Want::Ok(json!({"metadata": {"labels": {"x": "y"}}})),
        ),
        (
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
            Want::Ok(json!({"metadata": {"labels": {}}})),
        ),
        (
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"annotations": {"$patch": "delete"}}}),
            Want::Ok(json!({"metadata": {"labels": {"a": "1"}}})),
        ),
        (
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"labels": {"$patch": "frob"}}}),
            Want::Invalid,
        ),
        // New keys lose nested nulls.
        (
            json!({"metadata": {}}),
            json!({"metadata": {"annotations": {"a": "1", "b": null}}}),
            Want::Ok(json!({"metadata": {"annotations": {"a": "1"}}})),
        ),
    ];
    for (target, patch, want) in cases {
        smp("ConfigMap", target, patch, want);
    }
}

#[test]
fn strategic_merge_nodes_services_and_strategies() {
    let node = json!({
        "metadata": {"name": "n1"},
        "spec": {"podCIDRs": ["10.0.0.0/24"], "taints": [{"key": "a", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "False", "reason": "Old"}],
                   "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}]}});
    let with = |path: &[&str], v: Value| {
        let mut n = node.clone();
        let mut cur = &mut n;
        for p in path {
            cur = &mut cur[*p];
        }
        *cur = v;
        n
    };
    let cases = [
        // kubectl cordon.
        (
            json!({"spec": {"unschedulable": true}}),
            with(&["spec", "unschedulable"], json!(true)),
        ),
        // Kubelet status update: conditions by type, live order kept.
        (
            json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}),
            with(
                &["status", "conditions"],
                json!([{"type": "MemoryPressure", "status": "False"},
                                                {"type": "Ready", "status": "True", "reason": "KubeletReady"}]),
            ),
        ),
        (
            json!({"status": {"addresses": [{"type": "Hostname", "address": "n1.example"}]}}),
            with(
                &["status", "addresses"],
                json!([{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1.example"}]),
            ),
        ),
        // Taints have no patch strategy: replaced.
        (
            json!({"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}}),
            with(
                &["spec", "taints"],
                json!([{"key": "b", "effect": "NoExecute"}]),
            ),
        ),
        (
            json!({"spec": {"podCIDRs": ["fd00::/64"]}}),
            with(&["spec", "podCIDRs"], json!(["fd00::/64", "10.0.0.0/24"])),
        ),
    ];
    for (patch, want) in cases {
        smp("Node", node.clone(), patch, Want::Ok(want));
    }

    smp(
        "Service",
        json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
        json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}),
        Want::Ok(
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}}),
        ),
    );
    // The same field name without a strategy elsewhere is replaced.
    smp(
        "ConfigMap",
        json!({"spec": {"ports": [{"port": 80}]}}),
        json!({"spec": {"ports": [{"port": 443}]}}),
        Want::Ok(json!({"spec": {"ports": [{"port": 443}]}})),
    );
    // PDB selector: patchStrategy "replace".
    smp(
        "PodDisruptionBudget",
        json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "minAvailable": 1}}),
        json!({"spec": {"selector": {"matchLabels": {"b": "2"}}}}),
        Want::Ok(json!({"spec": {"selector": {"matchLabels": {"b": "2"}}, "minAvailable": 1}})),
    );
    // Deployment strategy switch with $retainKeys (kubectl apply).
    let dep =
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    smp(
        "Deployment",
        dep.clone(),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        Want::Ok(json!({"spec": {"strategy": {"type": "Recreate"}}})),
    );
    smp(
        "Deployment",
        dep.clone(),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}}),
        Want::Malformed,
    );
    smp(
        "Deployment",
        dep,
        json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        Want::Malformed,
    );
    // A top-level "$patch: replace" replaces the object.
    smp(
        "ConfigMap",
        json!({"data": {"a": "1"}, "metadata": {"name": "x"}}),
        json!({"$patch": "replace", "data": {"b": "2"}}),
        Want::Ok(json!({"data": {"b": "2"}})),
    );
    check(
        "ConfigMap",
        true,
        json!({}),
        PatchType::StrategicMerge,
        "[]",
        Want::Malformed,
    );
    check(
        "ConfigMap",
        true,
        json!({}),
        PatchType::StrategicMerge,
        "{",
        Want::Malformed,
    );
}
