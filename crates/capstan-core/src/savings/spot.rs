//! Kubecost's spot checklist (kubecost/docs v1.x `savings/spot-checklist.md`): which
//! workloads now on on-demand nodes could run on spot capacity.

use serde::{Deserialize, Serialize};

use super::HOURS_PER_MONTH;

/// The manual override, on the controller or its namespace.
pub const SPOT_READY_ANNOTATION: &str = "spot.kubecost.com/spot-ready";

/// Kubecost: `minAvailable / replicas > 0.5` is not spot ready.
const PDB_MAX_MIN_AVAILABLE_FRACTION: f64 = 0.5;
/// Kubecost: a rolling update whose `min available / replicas` exceeds 0.9 is not ready.
const ROLLING_MAX_MIN_AVAILABLE_FRACTION: f64 = 0.9;
/// Deployment default `maxUnavailable: 25%`.
const DEFAULT_MAX_UNAVAILABLE: f64 = 0.25;

/// What the agent observed about one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadFacts {
    pub namespace: String,
    /// Controller kind: `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`,
    /// `CronJob`, or `Pod` for a bare pod.
    pub kind: String,
    pub name: String,
    pub replicas: i64,
    /// An `emptyDir` volume or a local PersistentVolume.
    pub has_local_storage: bool,
    /// The strictest matching PDB's `minAvailable / replicas` (for a `maxUnavailable` PDB:
    /// `(replicas − maxUnavailable) / replicas`); `None` without a PDB.
    pub pdb_min_available_fraction: Option<f64>,
    /// Deployments: `maxUnavailable` resolved to a pod count (percentages rounded down, as
    /// the Deployment controller does) divided by replicas; `None` = the default 25%.
    pub max_unavailable_fraction: Option<f64>,
    /// `spot.kubecost.com/spot-ready=true` on the controller or its namespace.
    pub spot_ready_annotation: bool,
    /// Its compute cost on on-demand nodes, $/hour (0 when it already runs on spot).
    pub on_demand_compute_cost_per_hour: f64,
    /// The same requests at spot prices, $/hour.
    pub spot_compute_cost_per_hour_if_moved: f64,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotCandidate {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub replicas: i64,
    /// Every check passed, or the annotation overrides.
    pub ready: bool,
    /// Ready by the annotation although some check failed.
    pub overridden: bool,
    pub checks: Vec<Check>,
    /// (on-demand − spot) × 730 h: what moving would save, ready or not.
    pub monthly_saving_dollars: f64,
}

fn check(name: &str, passed: bool, detail: String) -> Check {
    Check {
        name: name.to_string(),
        passed,
        detail,
    }
}

/// The checklist for one workload; `None` when it has no on-demand compute cost (already on
/// spot, or unpriced), since only those are candidates.
pub fn spot_candidate(facts: &WorkloadFacts) -> Option<SpotCandidate> {
    if facts.on_demand_compute_cost_per_hour.is_nan()
        || facts.on_demand_compute_cost_per_hour <= 0.0
    {
        return None;
    }
    let replicas = facts.replicas;
    let kind = facts.kind.as_str();
    let controller = match kind {
        "Deployment" | "ReplicaSet" => check(
            "controllerKind",
            true,
            format!("{kind}: replicas are interchangeable and rescheduled when a node goes"),
        ),
        "StatefulSet" => check(
            "controllerKind",
            false,
            "StatefulSet: should generally be considered not spot ready (stable identity and storage)"
                .to_string(),
        ),
        "DaemonSet" => check(
            "controllerKind",
            false,
            "DaemonSet: runs on every node; it follows the nodes, it does not move".to_string(),
        ),
        "Job" | "CronJob" => check(
            "controllerKind",
            false,
            format!("{kind}: an interrupted run starts over"),
        ),
        "Pod" | "" => check(
            "controllerKind",
            false,
            "bare pod: nothing recreates it after a spot interruption".to_string(),
        ),
        other => check(
            "controllerKind",
            false,
            format!("{other}: not a controller known to be spot ready"),
        ),
    };
    let replica_check = check(
        "replicas",
        replicas >= 2,
        format!("{replicas} replica(s); at least 2 keep serving while one is interrupted"),
    );
    let storage = check(
        "localStorage",
        !facts.has_local_storage,
        if facts.has_local_storage {
            "uses emptyDir or a local volume, lost with the node".to_string()
        } else {
            "no emptyDir or local volume".to_string()
        },
    );
    let pdb = match facts.pdb_min_available_fraction {
        None => check(
            "podDisruptionBudget",
            true,
            "no PodDisruptionBudget".to_string(),
        ),
        Some(f) => check(
            "podDisruptionBudget",
            f <= PDB_MAX_MIN_AVAILABLE_FRACTION,
            format!(
                "minAvailable/replicas = {f:.2} (at most {PDB_MAX_MIN_AVAILABLE_FRACTION} leaves room to drain)"
            ),
        ),
    };
    let rolling = if kind == "Deployment" {
        let (fraction, source) = match facts.max_unavailable_fraction {
            Some(f) => (f, "maxUnavailable"),
            None => {
                // maxUnavailable 25% rounds down to whole pods.
                let pods = (DEFAULT_MAX_UNAVAILABLE * replicas.max(0) as f64).floor();
                (pods / replicas.max(1) as f64, "default maxUnavailable 25%")
            }
        };
        let min_available = 1.0 - fraction;
        check(
            "rollingUpdate",
            min_available <= ROLLING_MAX_MIN_AVAILABLE_FRACTION,
            format!(
                "{source}: min available/replicas = {min_available:.2} (at most {ROLLING_MAX_MIN_AVAILABLE_FRACTION})"
            ),
        )
    } else {
        check(
            "rollingUpdate",
            true,
            format!("not a Deployment ({kind}): no rolling update strategy to check"),
        )
    };
    let checks = vec![controller, replica_check, storage, pdb, rolling];
    let all_passed = checks.iter().all(|c| c.passed);
    let ready = all_passed || facts.spot_ready_annotation;
    Some(SpotCandidate {
        namespace: facts.namespace.clone(),
        kind: facts.kind.clone(),
        name: facts.name.clone(),
        replicas,
        ready,
        overridden: ready && !all_passed,
        checks,
        monthly_saving_dollars: (facts.on_demand_compute_cost_per_hour
            - facts.spot_compute_cost_per_hour_if_moved)
            * HOURS_PER_MONTH,
    })
}

/// Every candidate: ready ones first, then by saving (largest first), then by
/// (namespace, kind, name), so the order is deterministic.
pub fn spot_candidates(workloads: &[WorkloadFacts]) -> Vec<SpotCandidate> {
    let mut out: Vec<SpotCandidate> = workloads.iter().filter_map(spot_candidate).collect();
    out.sort_by(|a, b| {
        b.ready
            .cmp(&a.ready)
            .then_with(|| {
                b.monthly_saving_dollars
                    .total_cmp(&a.monthly_saving_dollars)
            })
            .then_with(|| (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name)))
    });
    out
}
