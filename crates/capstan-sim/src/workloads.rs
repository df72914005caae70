//! Workload controllers: Deployment (rolling update with maxSurge/maxUnavailable),
//! ReplicaSet, DaemonSet and StatefulSet, each keeping its pods and status as upstream's
//! controllers do for the fields clients read.

use std::sync::Arc;

use capstan_core::intstr::{Round, scaled_value};
use capstan_core::selector::LabelSelector;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::cluster::{ClusterData, keys};
use crate::objects::{self, OwnerRef, rfc3339};
use crate::resources::ResKey;
use crate::rest::{self, DeleteOptions};
use crate::store::{Obj, ObjKey, PodPhase};

/// Workloads reconciled per pass (a pass holds the cluster lock).
const BATCH: usize = 128;

pub fn reconcile(data: &mut ClusterData, now: Timestamp) -> bool {
    if data.index.daemonsets_dirty {
        data.index.daemonsets_dirty = false;
        let all: Vec<ObjKey> = data
            .store
            .range(&keys::DAEMONSETS, "")
            .map(|o| o.key.clone())
            .collect();
        for key in all {
            data.index
                .dirty_workloads
                .insert((keys::DAEMONSETS.clone(), key));
        }
    }
    if data.index.dirty_workloads.is_empty() {
        return false;
    }
    let batch: Vec<(ResKey, ObjKey)> = data
        .index
        .dirty_workloads
        .iter()
        .take(BATCH)
        .cloned()
        .collect();
    for item in &batch {
        data.index.dirty_workloads.remove(item);
    }
    for (res, key) in batch {
        let Some(obj) = data.get(&res, &key) else {
            continue;
        };
        if obj.deleting {
            continue;
        }
        if res == *keys::REPLICASETS {
            replica_set(data, &obj, now);
        } else if res == *keys::DEPLOYMENTS {
            deployment(data, &obj, now);
        } else if res == *keys::DAEMONSETS {
            daemon_set(data, &obj, now);
        } else if res == *keys::STATEFULSETS {
            stateful_set(data, &obj, now);
        }
    }
    true
}

fn owner_ref(obj: &Obj, _v: &Value, kind: &str) -> OwnerRef {
    OwnerRef {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        name: obj.key.name.to_string(),
        uid: obj.uid.to_string(),
        controller: true,
    }
}

/// Pods controlled by `owner` that are not on their way out.
fn owned_pods(data: &ClusterData, owner: &Obj) -> Vec<Arc<Obj>> {
    data.index
        .dependents
        .get(&owner.uid)
        .map(|deps| {
            deps.iter()
                .filter(|(r, _)| *r == *keys::PODS)
                .filter_map(|(_, k)| data.get(&keys::PODS, k))
                .filter(|p| !p.deleting && !p.pod().is_some_and(|f| f.phase.is_terminal()))
                .collect()
        })
        .unwrap_or_default()
}

fn spec_replicas(v: &Value) -> i64 {
    v.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0)
}

fn generation(v: &Value) -> i64 {
    v.pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// Write `status` only when it differs (status writes are events watchers pay for).
fn set_status(data: &mut ClusterData, res: &ResKey, obj: &Obj, mut v: Value, status: Value) {
    if v.get("status") == Some(&status) {
        return;
    }
    v["status"] = status;
    data.put(res, obj.key.clone(), v);
}

/// Write `v` only when it differs from what `obj` holds.
fn write_if_changed(data: &mut ClusterData, res: &ResKey, obj: &Obj, old: &Value, v: Value) {
    if *old != v {
        data.put(res, obj.key.clone(), v);
    }
}

fn ready(p: &Obj) -> bool {
    p.pod()
        .is_some_and(|f| f.ready && f.phase == PodPhase::Running)
}

/// Delete pods, least valuable first (unscheduled, then not ready, then newest), as upstream's
/// ReplicaSet controller ranks them.
fn delete_pods(data: &mut ClusterData, mut pods: Vec<Arc<Obj>>, count: usize, now: Timestamp) {
    pods.sort_by_key(|p| {
        let f = p.pod();
        (
            f.is_some_and(|f| f.node_name.is_some()),
            ready(p),
            std::cmp::Reverse(p.rv),
        )
    });
    let Some(rt) = data.type_of(&keys::PODS) else {
        return;
    };
    for p in pods.into_iter().take(count) {
        let _ = rest::delete(data, &rt, &p.key, &DeleteOptions::default(), now);
    }
}

#[allow(clippy::too_many_arguments)]
fn create_pod(
    data: &mut ClusterData,
    template: &Value,
    ns: &str,
    name: &str,
    owner: OwnerRef,
    extra: &[(&str, &str)],
    node: Option<&str>,
    now: Timestamp,
) {
    let mut pod =
        objects::pod_from_template(template, ns, name, Some(owner), extra, now, &mut data.rng);
    if let Some(node) = node {
        objects::bind_pod(&mut pod, node, now);
    }
    data.put(&keys::PODS, ObjKey::new(ns, name), pod);
}

fn replica_set(data: &mut ClusterData, rs: &Obj, now: Timestamp) {
    let v = rs.value();
    let want = spec_replicas(&v);
    let pods = owned_pods(data, rs);
    let have = pods.len() as i64;
    if have < want {
        let template = v.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        let owner = owner_ref(rs, &v, "ReplicaSet");
        for _ in have..want {
            let name = format!("{}-{}", rs.key.name, data.rng.name_suffix(5));
            create_pod(
                data,
                &template,
                &rs.key.namespace,
                &name,
                owner.clone(),
                &[],
                None,
                now,
            );
        }
    } else if have > want {
        delete_pods(data, pods.clone(), (have - want) as usize, now);
    }
    let pods = owned_pods(data, rs);
    let ready_count = pods.iter().filter(|p| ready(p)).count() as i64;
    let status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "readyReplicas": ready_count,
        "availableReplicas": ready_count,
        "observedGeneration": generation(&v),
    });
    set_status(data, &keys::REPLICASETS, rs, v, status);
}

/// maxSurge (rounded up) or maxUnavailable (rounded down) of a rolling update.
fn rolling_param(v: Option<&Value>, total: i64, round: Round) -> i64 {
    scaled_value(v.unwrap_or(&json!("25%")), total, round).unwrap_or(0)
}

fn deployment(data: &mut ClusterData, dep: &Obj, now: Timestamp) {
    let v = dep.value();
    let replicas = spec_replicas(&v);
    let template = v.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    let hash = objects::pod_template_hash(&template);
    let owned: Vec<Arc<Obj>> = data
        .index
        .dependents
        .get(&dep.uid)
        .map(|d| {
            d.iter()
                .filter(|(r, _)| *r == *keys::REPLICASETS)
                .filter_map(|(_, k)| data.get(&keys::REPLICASETS, k))
                .collect()
        })
        .unwrap_or_default();
    let (new_rs, old_rs): (Vec<RsView>, Vec<RsView>) =
        owned.into_iter().map(RsView::of).partition(|rs| {
            rs.obj
                .labels
                .iter()
                .any(|(k, val)| k == "pod-template-hash" && val == hash)
        });
    let revision = new_rs
        .iter()
        .chain(&old_rs)
        .map(|rs| rs.revision)
        .max()
        .unwrap_or(0)
        + i64::from(new_rs.is_empty());
    let new_rs = match new_rs.into_iter().next() {
        Some(rs) => rs,
        None => {
            let initial = if old_rs.is_empty() { replicas } else { 0 };
            let mut rs = objects::replica_set_for(&v, &hash, initial as u32, &mut data.rng, now);
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                json!(revision.to_string());
            let name = rs
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            data.put(
                &keys::REPLICASETS,
                ObjKey::new(&dep.key.namespace, &name),
                rs,
            );
            match data.get(&keys::REPLICASETS, &ObjKey::new(&dep.key.namespace, &name)) {
                Some(rs) => RsView::of(rs),
                None => return,
            }
        }
    };
    let recreate = v.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("Recreate");
    let surge = rolling_param(
        v.pointer("/spec/strategy/rollingUpdate/maxSurge"),
        replicas,
        Round::Up,
    );
    let mut unavailable = rolling_param(
        v.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
        replicas,
        Round::Down,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    let old_total: i64 = old_rs.iter().map(|o| o.spec).sum();
    let new_spec = new_rs.spec;
    let scale = |data: &mut ClusterData, rs: &RsView, to: i64| {
        if rs.spec != to {
            let mut v = rs.value.clone();
            v["spec"]["replicas"] = json!(to);
            v["metadata"]["generation"] = json!(generation(&v) + 1);
            data.put(&keys::REPLICASETS, rs.obj.key.clone(), v);
        }
    };
    if recreate {
        if old_total > 0 {
            for o in &old_rs {
                scale(data, o, 0);
            }
        } else if old_rs.iter().all(|o| owned_pods(data, &o.obj).is_empty()) {
            scale(data, &new_rs, replicas);
        }
    } else if old_total == 0 {
        scale(data, &new_rs, replicas);
    } else {
        // Scale up the new ReplicaSet within the surge budget.
        let total = old_total + new_spec;
        let room = replicas + surge - total;
        if room > 0 && new_spec < replicas {
            scale(data, &new_rs, (new_spec + room).min(replicas));
        }
        // Scale down old ReplicaSets as far as availability allows.
        let available: i64 = old_rs.iter().map(|o| o.ready).sum::<i64>() + new_rs.ready;
        let min_available = replicas - unavailable;
        let mut can_remove = (available - min_available).max(0);
        // Old replicas that are not ready can always go.
        for o in &old_rs {
            let unready = (o.spec - o.ready).max(0);
            let remove = (unready + can_remove).min(o.spec);
            can_remove -= (remove - unready).max(0);
            if remove > 0 {
                scale(data, o, o.spec - remove);
            }
        }
    }
    // Status from the ReplicaSets' statuses (scaling above does not change them this pass).
    let total: i64 = old_rs.iter().map(|o| o.replicas).sum::<i64>() + new_rs.replicas;
    let ready_total: i64 = old_rs.iter().map(|o| o.ready).sum::<i64>() + new_rs.ready;
    let updated = new_rs.replicas;
    let t = rfc3339(now);
    let available_ok = ready_total >= replicas - unavailable;
    let old_status = v.get("status").cloned().unwrap_or(Value::Null);
    let keep_time = |ty: &str, status: &str| -> String {
        old_status
            .get("conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter().find(|c| {
                    c.get("type").and_then(Value::as_str) == Some(ty)
                        && c.get("status").and_then(Value::as_str) == Some(status)
                })
            })
            .and_then(|c| {
                c.get("lastTransitionTime")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| t.clone())
    };
    let avail = if available_ok { "True" } else { "False" };
    let complete = updated == replicas && total == replicas && ready_total == replicas;
    let rs_name = new_rs.obj.key.name.to_string();
    let status = json!({
        "observedGeneration": generation(&v),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready_total,
        "availableReplicas": ready_total,
        "unavailableReplicas": (replicas - ready_total).max(0),
        "conditions": [
            {"type": "Available", "status": avail,
             "reason": if available_ok { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
             "message": if available_ok { "Deployment has minimum availability.".to_string() } else { "Deployment does not have minimum availability.".to_string() },
             "lastUpdateTime": keep_time("Available", avail), "lastTransitionTime": keep_time("Available", avail)},
            {"type": "Progressing", "status": "True",
             "reason": if complete { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
             "message": if complete { format!("ReplicaSet \"{rs_name}\" has successfully progressed.") } else { format!("ReplicaSet \"{rs_name}\" is progressing.") },
             "lastUpdateTime": keep_time("Progressing", "True"), "lastTransitionTime": keep_time("Progressing", "True")}
        ]
    });
    let mut updated_dep = v.clone();
    updated_dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
        json!(revision.max(1).to_string());
    updated_dep["status"] = status;
    write_if_changed(data, &keys::DEPLOYMENTS, dep, &v, updated_dep);
}

/// A ReplicaSet parsed once for the deployment controller.
struct RsView {
    obj: Arc<Obj>,
    value: Value,
    spec: i64,
    replicas: i64,
    ready: i64,
    revision: i64,
}

impl RsView {
    fn of(obj: Arc<Obj>) -> Self {
        let value = obj.value();
        let status = |f: &str| {
            value
                .pointer(&format!("/status/{f}"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        let (replicas, ready) = (status("replicas"), status("readyReplicas"));
        let revision = value
            .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Self {
            spec: spec_replicas(&value),
            obj,
            value,
            replicas,
            ready,
            revision,
        }
    }
}

fn daemon_set(data: &mut ClusterData, ds: &Obj, now: Timestamp) {
    let v = ds.value();
    let template = v.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    let selector: Vec<(String, String)> = template
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, x)| Some((k.clone(), x.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let tolerates_all = template
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .is_some_and(|ts| {
            ts.iter().any(|t| {
                t.get("operator").and_then(Value::as_str) == Some("Exists")
                    && t.get("key").is_none()
            })
        });
    let tolerated: Vec<String> = template
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t.get("key").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let nodes: Vec<String> = data
        .store
        .range(&keys::NODES, "")
        .filter(|n| {
            selector
                .iter()
                .all(|(k, x)| n.labels.iter().any(|(lk, lv)| lk == k && lv == x))
        })
        .filter(|n| {
            tolerates_all
                || n.node().is_none_or(|f| {
                    f.hard_taints
                        .iter()
                        .all(|t| tolerated.iter().any(|x| x == &**t))
                })
        })
        .map(|n| n.key.name.to_string())
        .collect();
    let pods = owned_pods(data, ds);
    let covered: std::collections::HashSet<&str> = pods
        .iter()
        .filter_map(|p| p.pod().and_then(|f| f.node_name.as_deref()))
        .collect();
    let missing: Vec<String> = nodes
        .iter()
        .filter(|n| !covered.contains(n.as_str()))
        .cloned()
        .collect();
    let owner = owner_ref(ds, &v, "DaemonSet");
    for node in &missing {
        let name = format!("{}-{}", ds.key.name, data.rng.name_suffix(5));
        create_pod(
            data,
            &template,
            &ds.key.namespace,
            &name,
            owner.clone(),
            &[],
            Some(node),
            now,
        );
    }
    let pods = owned_pods(data, ds);
    let ready_count = pods.iter().filter(|p| ready(p)).count();
    let status = json!({
        "currentNumberScheduled": pods.len(),
        "desiredNumberScheduled": nodes.len(),
        "numberMisscheduled": 0,
        "numberReady": ready_count,
        "numberAvailable": ready_count,
        "numberUnavailable": nodes.len().saturating_sub(ready_count),
        "updatedNumberScheduled": pods.len(),
        "observedGeneration": generation(&v),
    });
    set_status(data, &keys::DAEMONSETS, ds, v, status);
}

fn stateful_set(data: &mut ClusterData, sts: &Obj, now: Timestamp) {
    let v = sts.value();
    let replicas = spec_replicas(&v);
    let ns = sts.key.namespace.to_string();
    let parallel = v
        .pointer("/spec/podManagementPolicy")
        .and_then(Value::as_str)
        == Some("Parallel");
    let template = v.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    let claims = v
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let owner = owner_ref(sts, &v, "StatefulSet");
    for ordinal in 0..replicas {
        let name = format!("{}-{ordinal}", sts.key.name);
        let key = ObjKey::new(&ns, &name);
        match data.get(&keys::PODS, &key) {
            Some(p) if ready(&p) => continue,
            Some(_) => {
                if parallel {
                    continue;
                }
                break; // OrderedReady: wait for this one before the next
            }
            None => {
                for claim in &claims {
                    let claim_name = claim
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("data");
                    let pvc_name = format!("{claim_name}-{name}");
                    if data
                        .get(&keys::PVCS, &ObjKey::new(&ns, &pvc_name))
                        .is_none()
                    {
                        let mut pvc = objects::pvc_for_statefulset(
                            &v,
                            claim_name,
                            ordinal as u32,
                            None,
                            &mut data.rng,
                            now,
                        );
                        let provider = data.spec.provider.clone();
                        let zone = data.spec.region.clone();
                        let pv = objects::persistent_volume(
                            &mut pvc,
                            &provider,
                            &zone,
                            &mut data.rng,
                            now,
                        );
                        let pv_name = pv
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        data.put(&keys::PVS, ObjKey::cluster(&pv_name), pv);
                        data.put(&keys::PVCS, ObjKey::new(&ns, &pvc_name), pvc);
                    }
                }
                let ordinal_label = ordinal.to_string();
                create_pod(
                    data,
                    &template,
                    &ns,
                    &name,
                    owner.clone(),
                    &[
                        ("statefulset.kubernetes.io/pod-name", name.as_str()),
                        ("apps.kubernetes.io/pod-index", ordinal_label.as_str()),
                    ],
                    None,
                    now,
                );
                if !parallel {
                    break;
                }
            }
        }
    }
    // Scale down from the highest ordinal.
    let pods = owned_pods(data, sts);
    let extra: Vec<Arc<Obj>> = pods
        .iter()
        .filter(|p| {
            p.key
                .name
                .rsplit('-')
                .next()
                .and_then(|o| o.parse::<i64>().ok())
                .is_some_and(|o| o >= replicas)
        })
        .cloned()
        .collect();
    if !extra.is_empty()
        && let Some(rt) = data.type_of(&keys::PODS)
    {
        let mut extra = extra;
        extra.sort_by_key(|p| std::cmp::Reverse(p.key.name.clone()));
        let n = if parallel { extra.len() } else { 1 };
        for p in extra.into_iter().take(n) {
            let _ = rest::delete(data, &rt, &p.key, &DeleteOptions::default(), now);
        }
    }
    let pods = owned_pods(data, sts);
    let ready_count = pods.iter().filter(|p| ready(p)).count();
    let revision = format!("{}-{}", sts.key.name, objects::pod_template_hash(&template));
    let status = json!({
        "replicas": pods.len(),
        "readyReplicas": ready_count,
        "currentReplicas": pods.len(),
        "updatedReplicas": pods.len(),
        "availableReplicas": ready_count,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
        "observedGeneration": generation(&v),
    });
    set_status(data, &keys::STATEFULSETS, sts, v, status);
}

/// The selector of a workload (used by the disruption controller to find scale).
pub fn workload_selector(v: &Value) -> Option<LabelSelector> {
    LabelSelector::from_label_selector_json(v.pointer("/spec/selector")?).ok()
}
