//! Namespaces: the system ones, the planned application namespaces with their teams and
//! Pod Security levels, what every namespace gets by default, and network policies.

use std::collections::HashSet;

use capstan_core::rng::SimRng;
use jiff::Timestamp;

use super::posture::{PosturePlan, label_namespace};
use super::{DAY, Emitter, at};
use crate::fleet::ClusterSpec;
use crate::objects as o;

/// An application namespace to be: its owning team, Pod Security level, share of the app
/// pods and whether the team adopted network policies.
pub(super) struct NsPlan {
    pub(super) name: String,
    pub(super) team: &'static str,
    /// The `pod-security.kubernetes.io/enforce` level, if any.
    pub(super) pss: Option<&'static str>,
    /// Relative share of the cluster's app pods.
    pub(super) weight: f64,
    pub(super) network_policies: bool,
    /// Creation time, in seconds.
    pub(super) created: i64,
}

const TEAMS: [&str; 8] = [
    "payments", "checkout", "search", "data", "ml", "identity", "growth", "catalog",
];
const NS_SUFFIX: [&str; 8] = [
    "api", "web", "workers", "batch", "services", "stream", "jobs", "internal",
];
pub(super) const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The application namespaces, more of them in bigger clusters: the platform team's
/// monitoring, ingress and cert-manager first, then team namespaces whose weights fall off
/// Zipf-like. Created between `created_lo` and a day before `now_s`.
pub(super) fn plan_namespaces(
    app_pods: u64,
    created_lo: i64,
    now_s: i64,
    rng: &mut SimRng,
) -> Vec<NsPlan> {
    let count = (5.0 + (app_pods as f64).sqrt() / 20.0) as u64 + rng.range_inclusive(0, 3);
    let count = count.clamp(5, 50) as usize;
    let mut out = Vec::with_capacity(count);
    let platform = [
        ("monitoring", Some("privileged")),
        ("ingress-nginx", Some("baseline")),
        ("cert-manager", Some("restricted")),
    ];
    let mut used: HashSet<String> = HashSet::new();
    let mut rank = 0usize;
    while out.len() < count {
        let (name, team, pss, weight) = if out.len() < platform.len().min(count - 2) {
            let (n, pss) = platform[out.len()];
            (n.to_string(), "platform", pss, 0.15)
        } else {
            let team = *rng.pick(&TEAMS).expect("team list is not empty");
            let name = if used.iter().any(|u| u == team) || rng.chance(0.5) {
                format!(
                    "{team}-{}",
                    rng.pick(&NS_SUFFIX).expect("suffix list is not empty")
                )
            } else {
                team.to_string()
            };
            let pss = match rng.range_inclusive(0, 9) {
                0..=2 => Some("restricted"),
                3..=5 => Some("baseline"),
                6 => Some("privileged"),
                _ => None,
            };
            rank += 1;
            // Zipf-like: a few namespaces hold most of the pods.
            (name, team, pss, 1.0 / (rank as f64).powf(0.7))
        };
        if !used.insert(name.clone()) {
            continue;
        }
        let span = (now_s - DAY - created_lo).max(1);
        out.push(NsPlan {
            name,
            team,
            pss,
            weight,
            network_policies: rng.chance(0.6),
            created: created_lo + rng.range_inclusive(0, span as u64) as i64,
        });
    }
    out
}

/// The system namespaces, created with the cluster at `born`, then the planned ones.
pub(super) fn emit_namespaces(
    plan: &[NsPlan],
    posture: &PosturePlan,
    born: i64,
    now: Timestamp,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
) {
    let t0 = at(born, now);
    for name in SYSTEM_NAMESPACES {
        let mut ns = o::namespace(name, None, &[], rng, t0);
        label_namespace(&mut ns, None, posture.system_enforce);
        e.emit("", "namespaces", ns);
    }
    for ns in plan {
        let mut ns_obj = o::namespace(
            &ns.name,
            ns.pss,
            &[("team", ns.team)],
            rng,
            at(ns.created, now),
        );
        label_namespace(&mut ns_obj, posture.namespace(&ns.name), None);
        e.emit("", "namespaces", ns_obj);
    }
}

/// What kube-controller-manager puts in every namespace a second after it appears: the
/// `default` service account and the `kube-root-ca.crt` config map.
pub(super) fn emit_namespace_defaults(
    spec: &ClusterSpec,
    plan: &[NsPlan],
    born: i64,
    now: Timestamp,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
) {
    let ca = fake_ca(&spec.name);
    let all_ns = SYSTEM_NAMESPACES
        .iter()
        .map(|n| ((*n).to_string(), born))
        .chain(plan.iter().map(|p| (p.name.clone(), p.created)));
    for (ns, created) in all_ns {
        let t = at(created + 1, now);
        e.emit(
            "",
            "serviceaccounts",
            o::service_account(&ns, "default", rng, t),
        );
        e.emit(
            "",
            "configmaps",
            o::config_map(&ns, "kube-root-ca.crt", &[("ca.crt", &ca)], rng, t),
        );
    }
}

/// A PEM-shaped, deterministic stand-in for the cluster's CA certificate.
fn fake_ca(cluster: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut r = SimRng::new(capstan_core::rng::fnv1a(cluster.as_bytes()));
    let mut body = String::from("-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgII");
    for line in 0..16 {
        let n = if line == 0 { 44 } else { 64 };
        for _ in 0..n {
            body.push(B64[(r.next_u64() % 64) as usize] as char);
        }
        body.push('\n');
    }
    body.push_str("-----END CERTIFICATE-----\n");
    body
}
