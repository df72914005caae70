//! Housekeeping controllers: the garbage collector (background cascading deletion), the
//! namespace controller, pod GC for pods on vanished nodes, and the node lifecycle
//! controller's `node.kubernetes.io/unschedulable` taint.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::cluster::{ClusterData, keys};
use crate::objects::rfc3339;
use crate::rest::{self, DeleteOptions};
use crate::store::ObjKey;

const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

pub fn reconcile(data: &mut ClusterData, now: Timestamp) -> bool {
    let mut progressed = false;
    progressed |= collect_orphans(data, now);
    progressed |= terminate_namespaces(data, now);
    progressed |= sync_taints(data, now);
    progressed
}

/// Dependents of deleted owners are deleted (propagationPolicy Background).
fn collect_orphans(data: &mut ClusterData, now: Timestamp) -> bool {
    if data.index.orphaned_owners.is_empty() {
        return false;
    }
    let owners = std::mem::take(&mut data.index.orphaned_owners);
    for owner in owners {
        let Some(deps) = data.index.dependents.get(&owner).cloned() else {
            continue;
        };
        for (res, key) in deps {
            let Some(obj) = data.get(&res, &key) else {
                continue;
            };
            // An object with another live owner stays (upstream deletes only when every owner
            // is gone); the twin checks the common single-owner case.
            if obj.owners.len() > 1 || obj.deleting {
                continue;
            }
            if let Some(rt) = data.type_of(&res) {
                let _ = rest::delete(data, &rt, &key, &DeleteOptions::default(), now);
            }
        }
    }
    true
}

/// Empty a terminating namespace, then drop its `kubernetes` finalizer and the namespace.
fn terminate_namespaces(data: &mut ClusterData, now: Timestamp) -> bool {
    if data.index.terminating_namespaces.is_empty() {
        return false;
    }
    let namespaces: Vec<_> = data.index.terminating_namespaces.iter().cloned().collect();
    let mut progressed = false;
    for ns in namespaces {
        let types: Vec<_> = data.types().filter(|t| t.namespaced).cloned().collect();
        let mut remaining = 0usize;
        for rt in types {
            let keys: Vec<ObjKey> = data
                .store
                .range(&rt.key(), &ns)
                .map(|o| o.key.clone())
                .collect();
            for key in keys {
                remaining += 1;
                if data.get(&rt.key(), &key).is_some_and(|o| !o.deleting) {
                    let _ = rest::delete(data, &rt, &key, &DeleteOptions::default(), now);
                    progressed = true;
                }
            }
        }
        if remaining == 0 {
            data.index.terminating_namespaces.remove(&ns);
            data.remove(&keys::NAMESPACES, &ObjKey::cluster(&ns));
            progressed = true;
        }
    }
    progressed
}

/// Cordoned nodes carry the unschedulable NoSchedule taint; uncordoned ones lose it.
/// Pods bound to a node that no longer exists are deleted (pod GC).
fn sync_taints(data: &mut ClusterData, now: Timestamp) -> bool {
    if data.index.nodes_to_taint.is_empty() {
        return false;
    }
    let nodes = std::mem::take(&mut data.index.nodes_to_taint);
    let mut progressed = false;
    for name in nodes {
        let key = ObjKey::cluster(&name);
        let Some(node) = data.get(&keys::NODES, &key) else {
            // The node is gone: its pods go with it.
            let pods: Vec<ObjKey> = data
                .index
                .pods_by_node
                .get(&*name)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            for pod in pods {
                data.remove(&keys::PODS, &pod);
                progressed = true;
            }
            data.index.pods_by_node.remove(&*name);
            continue;
        };
        let Some(facts) = node.node() else { continue };
        let mut v = node.value();
        let taints = v
            .pointer("/spec/taints")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let has = taints
            .iter()
            .any(|t| t.get("key").and_then(Value::as_str) == Some(UNSCHEDULABLE_TAINT));
        if facts.unschedulable == has {
            continue;
        }
        let mut taints: Vec<Value> = taints
            .into_iter()
            .filter(|t| t.get("key").and_then(Value::as_str) != Some(UNSCHEDULABLE_TAINT))
            .collect();
        if facts.unschedulable {
            taints.push(json!({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": rfc3339(now)}));
        }
        if taints.is_empty() {
            if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("taints");
            }
        } else {
            v["spec"]["taints"] = json!(taints);
        }
        data.put(&keys::NODES, key, v);
        progressed = true;
    }
    progressed
}
