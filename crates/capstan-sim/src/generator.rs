//! Materialises one planned cluster into the objects a real cluster of that shape would hold,
//! streamed through a sink so that a million-pod cluster never sits in memory here.
//!
//! The only state kept while streaming is one small record per node (free CPU, memory and
//! pod slots) and, per namespace, the names already used. Placement is a round-robin over
//! nodes that still have room, with per-node pod quotas proportional to allocatable CPU
//! (capped by maxPods), and app requests sized from what is left after system pods so that
//! the requested pod count fits. Pods that still fit nowhere are not emitted and are
//! counted in [`Materialized::unplaced_pods`].

mod addons;
mod apps;
mod gatekeeper;
mod namespaces;
mod netpol;
mod nodes;
mod placement;
mod pods;
mod posture;
mod pss;
mod quotas;
mod rbac;
mod scans;
mod secrets;
mod system;
mod workloads;

#[cfg(test)]
mod posture_tests;
#[cfg(test)]
mod tests;

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::Value;

use crate::fleet::{self, ClusterSpec};
use crate::objects as o;
use system::SystemTemplates;
use workloads::Ctx;

/// What [`materialize`] emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Materialized {
    /// Every object passed to the sink, pods and nodes included.
    pub objects: u64,
    pub pods: u64,
    pub nodes: u64,
    /// Pods the spec asked for that fit on no node and were left out.
    pub unplaced_pods: u64,
}

/// Where [`materialize`] sends each object: (API group, resource plural, object).
type Sink<'a> = &'a mut dyn FnMut(&'static str, &'static str, Value);

/// The sink, counting what passes through it, summing each namespace's pod requests for its
/// ResourceQuota's status, and keeping a small record of every pod owner for the security
/// add-ons' objects (emitted after the applications).
struct Emitter<'a> {
    sink: Sink<'a>,
    out: Materialized,
    quota_usage: quotas::UsageByNamespace,
    workloads: Vec<posture::WorkloadRecord>,
    /// (namespace, uid) of each `ci-deployer` service account.
    ci_accounts: Vec<(String, String)>,
}

impl Emitter<'_> {
    fn emit(&mut self, group: &'static str, plural: &'static str, v: Value) {
        self.out.objects += 1;
        match plural {
            "replicasets" | "statefulsets" | "daemonsets" if group == "apps" => {
                let kind = match plural {
                    "replicasets" => "ReplicaSet",
                    "statefulsets" => "StatefulSet",
                    _ => "DaemonSet",
                };
                if let Some(r) = posture::WorkloadRecord::of(kind, &v) {
                    self.workloads.push(r);
                }
            }
            "serviceaccounts"
                if v.pointer("/metadata/name").and_then(Value::as_str) == Some("ci-deployer") =>
            {
                let s = |p: &str| {
                    v.pointer(p)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                self.ci_accounts
                    .push((s("/metadata/namespace"), s("/metadata/uid")));
            }
            "pods" => {
                self.out.pods += 1;
                // Pods follow their owner: the last workload recorded.
                if let Some(last) = self.workloads.last_mut()
                    && v.pointer("/metadata/ownerReferences/0/uid")
                        .and_then(Value::as_str)
                        == Some(last.uid.as_str())
                {
                    last.add_pod(
                        v.pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                    );
                }
                if let Some(ns) = v.pointer("/metadata/namespace").and_then(Value::as_str) {
                    if !self.quota_usage.contains_key(ns) {
                        self.quota_usage.insert(ns.to_string(), Default::default());
                    }
                    if let Some(u) = self.quota_usage.get_mut(ns) {
                        u.add_pod(&v);
                    }
                }
            }
            "nodes" => self.out.nodes += 1,
            _ => {}
        }
        (self.sink)(group, plural, v);
    }
}

/// Seconds in a day.
const DAY: i64 = 86_400;

/// `secs` as a timestamp (`fallback` if out of range).
fn at(secs: i64, fallback: Timestamp) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(fallback)
}

/// Log-uniform seconds in `[lo, hi]`: ages cluster towards the recent end, as real churn does.
fn age(rng: &mut SimRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo.max(0);
    }
    let (l, h) = ((lo.max(1)) as f64, hi as f64);
    (l.ln() + rng.next_f64() * (h.ln() - l.ln())).exp() as i64
}

/// Stream every object of `spec` through `sink`, in the order controllers would create them:
/// cluster-scoped basics, namespaces, nodes and their leases, RBAC, service accounts and
/// config maps, system add-ons, then per application namespace its workloads (Deployment,
/// ReplicaSet, pods, Service, PDB; StatefulSets with PVs and PVCs), network policies last.
///
/// `group` is "" for core or e.g. "apps", "policy", "networking.k8s.io",
/// "rbac.authorization.k8s.io", "coordination.k8s.io", "scheduling.k8s.io",
/// "storage.k8s.io"; `plural` is the resource ("pods", "controllerrevisions", ...).
/// Deterministic for (spec, spec.seed, now). Creation timestamps lie in the past: nodes days
/// to weeks old, pods minutes to days.
pub fn materialize(
    spec: &ClusterSpec,
    now: jiff::Timestamp,
    sink: &mut dyn FnMut(&'static str, &'static str, Value),
) -> Materialized {
    let root = SimRng::new(spec.seed).fork(&spec.name);
    let mut e = Emitter {
        sink,
        out: Materialized::default(),
        quota_usage: Default::default(),
        workloads: Vec::new(),
        ci_accounts: Vec::new(),
    };
    let now_s = now.as_second();
    let mut rng = root.fork("cluster");
    let born = now_s - rng.range_inclusive(60 * DAY as u64, 540 * DAY as u64) as i64;
    let t0 = at(born, now);

    // Cluster-scoped basics the control plane and the cloud install first.
    for (name, value, desc) in [
        (
            "system-cluster-critical",
            2_000_000_000,
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
        ),
        (
            "system-node-critical",
            2_000_001_000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
    ] {
        e.emit(
            "scheduling.k8s.io",
            "priorityclasses",
            o::priority_class(name, value, desc, &mut rng, t0),
        );
    }
    e.emit(
        "storage.k8s.io",
        "storageclasses",
        o::storage_class(&spec.provider, &mut rng, t0),
    );

    // Namespaces.
    let system_pods_estimate = spec.node_count() * u64::from(fleet::DAEMON_PODS_PER_NODE) + 3;
    let app_target = spec.pods.saturating_sub(system_pods_estimate);
    let mut ns_rng = root.fork("namespaces");
    let plan = namespaces::plan_namespaces(app_target, born + DAY, now_s, &mut ns_rng);
    let posture_root = root.fork("posture");
    let posture = posture::plan_posture(spec, &plan, &mut posture_root.fork("plan"));
    namespaces::emit_namespaces(&plan, &posture, born, now, &mut e, &mut ns_rng);

    // Nodes and leases.
    let mut node_rng = root.fork("nodes");
    let placer = nodes::emit_nodes(spec, now, &mut e, &mut node_rng);

    // RBAC, service accounts and config maps.
    let mut rbac_rng = root.fork("rbac");
    let risks = posture.cluster.rbac;
    rbac::emit_cluster_rbac(&mut e, &mut rbac_rng, t0, &risks);
    let mut posture_rbac_rng = posture_root.fork("rbac");
    namespaces::emit_namespace_defaults(spec, &plan, born, now, &mut e, &mut rbac_rng);
    let system = SystemTemplates::for_cluster(spec);
    system.emit_accounts_and_config(&mut e, &mut rbac_rng, t0);
    for ns in &plan {
        let t = at(ns.created + 2, now);
        let exec = risks.developer_exec && posture_rbac_rng.chance(0.6);
        rbac::emit_team_rbac(ns, &mut e, &mut rbac_rng, t, exec);
        apps::emit_app_config_maps(spec, ns, &mut e, &mut rbac_rng, t);
    }
    rbac::emit_posture_rbac(&plan, &risks, &mut e, &mut posture_rbac_rng, t0);

    let mut ctx = Ctx {
        spec,
        now,
        e: &mut e,
        placer,
        rng: root.fork("workloads"),
        next_service_ip: 0,
        unplaced: 0,
        posture: Some(addons::TemplatePosture::new(
            posture,
            posture_root.fork("templates"),
        )),
    };
    ctx.system_add_ons(&system, born);
    ctx.applications(&plan);
    // The security add-ons' objects, from the records of the workloads just emitted.
    if let Some(p) = ctx.posture.take() {
        addons::emit_addons(spec, &plan, &p, born, now, ctx.e, &posture_root);
    }
    // Quotas last: their status sums the pods emitted above (their own stream, so that adding
    // them changed no other object of a seed).
    let mut quota_rng = root.fork("quotas");
    let usage = std::mem::take(&mut ctx.e.quota_usage);
    quotas::emit_resource_quotas(&plan, &usage, now, ctx.e, &mut quota_rng);

    let unplaced = ctx.unplaced;
    let mut out = e.out;
    out.unplaced_pods = unplaced;
    out
}
