//! PodDisruptionBudgets: the disruption controller's status maths and the eviction
//! subresource's decision, following kube-controller-manager's `disruption.go` and
//! kube-apiserver's `pod/storage/eviction.go`.

use std::collections::{BTreeMap, HashSet};

use capstan_core::intstr::{Round, scaled_value};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::cluster::{Action, ClusterData, keys};
use crate::error::{ApiError, ApiResult};
use crate::objects::rfc3339;
use crate::rest::{self, DeleteOptions};
use crate::store::{Obj, ObjKey, PodPhase};

/// Entries in `status.disruptedPods` older than this are dropped (upstream DeletionTimeout).
const DELETION_TIMEOUT: SignedDuration = SignedDuration::from_secs(120);

fn pdbs_matching(data: &ClusterData, pod: &Obj) -> Vec<Value> {
    data.index
        .pdbs
        .matching(pod)
        .iter()
        .filter_map(|k| data.get(&keys::PDBS, k))
        .map(|o| o.value())
        .collect()
}

/// Sum of `spec.replicas` of the distinct controllers of the selected pods, as
/// `getExpectedScale` does; `None` when a pod has no controller with a known scale.
fn expected_scale(data: &ClusterData, pods: &[std::sync::Arc<Obj>]) -> Option<i64> {
    // Scale per distinct scalable owner (a ReplicaSet of a Deployment counts as the Deployment);
    // each controller is read once however many pods it has.
    let mut looked_up: HashSet<&str> = HashSet::new();
    let mut scales: BTreeMap<String, i64> = BTreeMap::new();
    let replicas = |o: &Obj| {
        o.value()
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
    };
    for pod in pods {
        let facts = pod.pod()?;
        let (kind, uid) = facts.controller.as_ref()?;
        if !looked_up.insert(uid) {
            continue;
        }
        let name = facts.controller_name.as_deref()?;
        let res = match &**kind {
            "ReplicaSet" => &*keys::REPLICASETS,
            "StatefulSet" => &*keys::STATEFULSETS,
            "Deployment" => &*keys::DEPLOYMENTS,
            _ => return None,
        };
        let owner = data.get(res, &ObjKey::new(&pod.key.namespace, name))?;
        // A ReplicaSet owned by a Deployment takes the Deployment's scale.
        let deployment = (&**kind == "ReplicaSet")
            .then(|| crate::cluster::owner_named(&owner, "Deployment"))
            .flatten()
            .and_then(|dep| data.get(&keys::DEPLOYMENTS, &ObjKey::new(&pod.key.namespace, &dep)));
        let scaled = deployment.unwrap_or(owner);
        if !scales.contains_key(&*scaled.uid) {
            scales.insert(scaled.uid.to_string(), replicas(&scaled));
        }
    }
    Some(scales.values().sum())
}

/// Recompute the status of the budgets a change touched.
pub fn reconcile(data: &mut ClusterData, now: Timestamp) -> bool {
    if data.index.pdbs.dirty.is_empty() {
        return false;
    }
    data.index.pdbs.refresh(&data.store);
    let dirty = std::mem::take(&mut data.index.pdbs.dirty);
    let mut progressed = false;
    for key in dirty {
        let Some(pdb) = data.get(&keys::PDBS, &key) else {
            continue;
        };
        let v = pdb.value();
        let (status, recheck) = compute_status(data, &key, &v, now);
        if let Some(at) = recheck {
            data.schedule(at, Action::PdbRecheck { key: key.clone() });
        }
        if v.get("status") != Some(&status) {
            let mut v = v;
            v["status"] = status;
            data.put(&keys::PDBS, key, v);
            progressed = true;
        }
    }
    // Writing a status marks the budget again; with an unchanged status there is nothing to do.
    progressed
}

/// The budget's status, and when its oldest kept `disruptedPods` entry expires: a pod
/// recreated under the same name (a StatefulSet's) counts as disrupted until then, and
/// nothing else may touch the budget meanwhile.
fn compute_status(
    data: &ClusterData,
    key: &ObjKey,
    pdb: &Value,
    now: Timestamp,
) -> (Value, Option<Timestamp>) {
    let pods: Vec<std::sync::Arc<Obj>> = data
        .index
        .pdbs
        .members(key)
        .filter_map(|k| data.get(&keys::PODS, k))
        .collect();
    // Recent evictions still count against the budget until the pod is gone.
    let mut disrupted: serde_json::Map<String, Value> = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    disrupted.retain(|name, at| {
        let fresh = at
            .as_str()
            .and_then(|s| s.parse::<Timestamp>().ok())
            .is_some_and(|t| t + DELETION_TIMEOUT > now);
        fresh && pods.iter().any(|p| &*p.key.name == name && !p.deleting)
    });
    let recheck = disrupted
        .values()
        .filter_map(|at| at.as_str()?.parse::<Timestamp>().ok())
        .map(|t| t + DELETION_TIMEOUT)
        .min();
    let healthy = pods
        .iter()
        .filter(|p| !p.deleting && !disrupted.contains_key(&*p.key.name))
        .filter(|p| {
            p.pod()
                .is_some_and(|f| f.ready && f.phase == PodPhase::Running)
        })
        .count() as i64;
    let counts = Counts {
        selected: pods.len() as i64,
        scale: expected_scale(data, &pods),
        healthy,
    };
    (pdb_status(pdb, counts, disrupted, now), recheck)
}

/// What the disruption controller counted for one PDB.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Pods the selector matches.
    pub selected: i64,
    /// Sum of their controllers' replicas (`None` when some pod has no scalable controller).
    pub scale: Option<i64>,
    /// Selected pods that are Ready and neither terminating nor recently disrupted.
    pub healthy: i64,
}

/// The PDB status the disruption controller writes for `counts` (`disruption.go`):
/// an integer minAvailable counts the selected pods, percentages and maxUnavailable scale
/// against the controllers' replicas, percentages round up, and a budget that cannot be
/// computed fails closed.
pub fn pdb_status(
    pdb: &Value,
    counts: Counts,
    disrupted: serde_json::Map<String, Value>,
    now: Timestamp,
) -> Value {
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let spec = pdb.get("spec").cloned().unwrap_or(Value::Null);
    let min = spec.get("minAvailable").filter(|v| !v.is_null());
    let max = spec.get("maxUnavailable").filter(|v| !v.is_null());
    let scale = counts.scale.unwrap_or(0);
    let budget = match (min, max) {
        (Some(m), _) if m.is_number() => {
            scaled_value(m, 0, Round::Up).map(|n| (counts.selected, n))
        }
        (Some(m), _) => scaled_value(m, scale, Round::Up).map(|n| (scale, n)),
        (None, Some(m)) => scaled_value(m, scale, Round::Up)
            .map(|unavailable| (scale, (scale - unavailable).max(0))),
        (None, None) => Ok((counts.selected, counts.selected)),
    };
    let sync_failed = budget.is_err();
    let (expected, desired) = budget.unwrap_or((0, 0));
    let allowed = if expected <= 0 || sync_failed {
        0
    } else {
        (counts.healthy - desired).max(0)
    };
    let status_word = if allowed > 0 { "True" } else { "False" };
    let old_cond_time = pdb
        .pointer("/status/conditions/0/lastTransitionTime")
        .cloned()
        .filter(|_| {
            pdb.pointer("/status/conditions/0/status")
                .and_then(Value::as_str)
                == Some(status_word)
        })
        .unwrap_or_else(|| json!(rfc3339(now)));
    let reason = if sync_failed {
        "SyncFailed"
    } else if allowed > 0 {
        "SufficientPods"
    } else {
        "InsufficientPods"
    };
    let mut status = json!({
        "observedGeneration": generation,
        "currentHealthy": counts.healthy,
        "desiredHealthy": desired,
        "disruptionsAllowed": allowed,
        "expectedPods": expected,
        "conditions": [{
            "type": "DisruptionAllowed",
            "status": status_word,
            "reason": reason,
            "message": "",
            "observedGeneration": generation,
            "lastTransitionTime": old_cond_time,
        }],
    });
    if !disrupted.is_empty() {
        status["disruptedPods"] = Value::Object(disrupted);
    }
    status
}

fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

/// POST pods/{name}/eviction. Returns the Status body on success.
pub fn evict(
    data: &mut ClusterData,
    ns: &str,
    name: &str,
    body: &Value,
    now: Timestamp,
    dry_run: bool,
) -> ApiResult<Value> {
    let body_name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if body_name != name {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    // kubectl sends `deleteOptions`; kube-rs sends `delete_options` (see the reference notes).
    let mut opts = DeleteOptions {
        dry_run,
        ..Default::default()
    };
    if let Some(d) = body
        .get("deleteOptions")
        .or_else(|| body.get("delete_options"))
    {
        opts.merge_body(d);
    }
    let key = ObjKey::new(ns, name);
    let Some(pod) = data.get(&keys::PODS, &key) else {
        return Err(ApiError::not_found("", "pods", name));
    };
    let Some(pod_rt) = data.type_of(&keys::PODS) else {
        return Err(ApiError::internal("pods are not served"));
    };
    let facts = pod.pod().cloned();
    let phase = facts.as_ref().map(|f| f.phase).unwrap_or(PodPhase::Pending);
    // Terminal, Pending and already-terminating pods bypass the budget (canIgnorePDB).
    if pod.deleting
        || matches!(
            phase,
            PodPhase::Succeeded | PodPhase::Failed | PodPhase::Pending
        )
    {
        rest::delete(data, &pod_rt, &key, &opts, now)?;
        return Ok(success());
    }
    let pdbs = pdbs_matching(data, &pod);
    if pdbs.len() > 1 {
        return Err(ApiError::internal(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    let Some(pdb) = pdbs.into_iter().next() else {
        rest::delete(data, &pod_rt, &key, &opts, now)?;
        return Ok(success());
    };
    let pdb_name = pdb
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let status = pdb.get("status").cloned().unwrap_or(Value::Null);
    let int = |f: &str| status.get(f).and_then(Value::as_i64).unwrap_or(0);
    let healthy = facts.as_ref().is_some_and(|f| f.ready);
    if !healthy {
        let policy = pdb
            .pointer("/spec/unhealthyPodEvictionPolicy")
            .and_then(Value::as_str);
        let always = policy == Some("AlwaysAllow");
        if always || (int("currentHealthy") >= int("desiredHealthy") && int("desiredHealthy") > 0) {
            // Deleted with a resourceVersion precondition, so a pod that just turned Ready is
            // not killed without using budget.
            let mut guarded = opts.clone();
            guarded.precondition_rv = Some(pod.rv.to_string());
            rest::delete(data, &pod_rt, &key, &guarded, now)?;
            return Ok(success());
        }
    }
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let violate = "Cannot evict pod as it would violate the pod's disruption budget.";
    if status
        .get("observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        < generation
    {
        return Err(ApiError::too_many_requests(violate)
            .with_details(json!({"causes": [{"reason": "DisruptionBudget", "message": format!("The disruption budget {pdb_name} is still being processed by the server.")}]}))
            .with_retry_after(10));
    }
    let allowed = int("disruptionsAllowed");
    if allowed < 0 {
        return Err(ApiError::forbidden("pdb disruptions allowed is negative"));
    }
    let disrupted = status
        .get("disruptedPods")
        .and_then(Value::as_object)
        .map(|m| m.len())
        .unwrap_or(0);
    if disrupted > 2000 {
        return Err(ApiError::forbidden(
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(ApiError::too_many_requests(violate).with_details(json!({"causes": [{
            "reason": "DisruptionBudget",
            "message": format!("The disruption budget {pdb_name} needs {} healthy pods and has {} currently", int("desiredHealthy"), int("currentHealthy")),
        }]})));
    }
    if dry_run {
        return Ok(success());
    }
    // Use up one disruption and remember the pod until it is gone, then delete it.
    let mut pdb = pdb;
    pdb["status"]["disruptionsAllowed"] = json!(allowed - 1);
    pdb["status"]["disruptedPods"][name] = json!(rfc3339(now));
    let pdb_key = ObjKey::new(ns, &pdb_name);
    data.put(&keys::PDBS, pdb_key, pdb);
    let mut pod_value = pod.value();
    add_disruption_target(&mut pod_value, now);
    data.put(&keys::PODS, key.clone(), pod_value);
    rest::delete(data, &pod_rt, &key, &opts, now)?;
    Ok(success())
}

/// The `DisruptionTarget` condition the API server adds before an eviction deletes a pod.
fn add_disruption_target(pod: &mut Value, now: Timestamp) {
    let cond = json!({"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
        "message": "Eviction API: evicting", "lastProbeTime": null, "lastTransitionTime": rfc3339(now)});
    match pod
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        Some(conds) => {
            conds.retain(|c| c.get("type").and_then(Value::as_str) != Some("DisruptionTarget"));
            conds.push(cond);
        }
        None => pod["status"]["conditions"] = json!([cond]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: Value, counts: Counts, desired: i64, allowed: i64, reason: &str) {
        let pdb = json!({"metadata": {"generation": 1}, "spec": spec});
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let status = pdb_status(&pdb, counts, Default::default(), now);
        assert_eq!(status["desiredHealthy"], desired, "{spec}: {status}");
        assert_eq!(status["disruptionsAllowed"], allowed, "{spec}: {status}");
        assert_eq!(
            status["conditions"][0]["reason"], reason,
            "{spec}: {status}"
        );
    }

    fn counts(n: i64) -> Counts {
        Counts {
            selected: n,
            scale: Some(n),
            healthy: n,
        }
    }

    #[test]
    fn budgets() {
        check(
            json!({"minAvailable": "50%"}),
            counts(5),
            3,
            2,
            "SufficientPods",
        );
        check(
            json!({"maxUnavailable": "25%"}),
            counts(2),
            1,
            1,
            "SufficientPods",
        );
        check(
            json!({"minAvailable": 1}),
            counts(1),
            1,
            0,
            "InsufficientPods",
        );
        check(
            json!({"minAvailable": "50%"}),
            counts(7),
            4,
            3,
            "SufficientPods",
        );
        // A bare numeric string is not an IntOrString percentage: the controller fails closed.
        check(json!({"minAvailable": "2"}), counts(3), 0, 0, "SyncFailed");
        // Percentages need a controller with a scale; without one nothing may be disrupted.
        let unmanaged = Counts {
            selected: 3,
            scale: None,
            healthy: 3,
        };
        check(
            json!({"maxUnavailable": 1}),
            unmanaged,
            0,
            0,
            "InsufficientPods",
        );
    }
}
