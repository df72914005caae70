//! Network policies per application namespace, in the engine the cluster's CNI offers:
//! Kubernetes NetworkPolicies everywhere, CiliumNetworkPolicies (and a clusterwide one) on
//! Cilium clusters, Calico NetworkPolicies (and a GlobalNetworkPolicy) on Calico clusters.
//! A namespace is covered by a default-deny, by one allow policy per workload, partly
//! (some workloads selected by nothing), or not at all.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Emitter;
use super::posture::{Cni, NetpolStyle, NsPosture, WorkloadRecord};
use crate::objects::{self as o, CrdDef};

/// The CRDs the CNI installs (none for plain NetworkPolicy engines).
pub(crate) fn crds(cni: Cni) -> Vec<CrdDef> {
    const CILIUM_COLUMNS: &[(&str, &str, &str, i64)] = &[
        ("Age", "date", ".metadata.creationTimestamp", 0),
        (
            "Valid",
            "string",
            ".status.conditions[?(@.type==\"Valid\")].status",
            0,
        ),
    ];
    let def = |group,
               version,
               kind: &str,
               plural: &str,
               namespaced,
               short,
               categories,
               status,
               columns| CrdDef {
        group,
        version,
        kind: kind.into(),
        plural: plural.into(),
        namespaced,
        short_names: short,
        categories,
        status_subresource: status,
        columns,
    };
    match cni {
        Cni::Native => vec![],
        Cni::Cilium => vec![
            def(
                "cilium.io",
                "v2",
                "CiliumNetworkPolicy",
                "ciliumnetworkpolicies",
                true,
                &["cnp", "ciliumnp"][..],
                &["cilium", "ciliumpolicy"][..],
                true,
                CILIUM_COLUMNS,
            ),
            def(
                "cilium.io",
                "v2",
                "CiliumClusterwideNetworkPolicy",
                "ciliumclusterwidenetworkpolicies",
                false,
                &["ccnp"][..],
                &["cilium", "ciliumpolicy"][..],
                true,
                CILIUM_COLUMNS,
            ),
        ],
        Cni::Calico => vec![
            def(
                "crd.projectcalico.org",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
                true,
                &[][..],
                &[][..],
                false,
                &[][..],
            ),
            def(
                "crd.projectcalico.org",
                "v1",
                "GlobalNetworkPolicy",
                "globalnetworkpolicies",
                false,
                &[][..],
                &[][..],
                false,
                &[][..],
            ),
        ],
    }
}

/// Which API a namespace's policies are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Kubernetes,
    Cilium,
    Calico,
}

struct Out<'a, 'b> {
    ns: &'a str,
    e: &'a mut Emitter<'b>,
    rng: &'a mut SimRng,
    t: Timestamp,
}

impl Out<'_, '_> {
    fn kubernetes(&mut self, name: &str, spec: Value) {
        let mut p = o::custom_object(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            Some(self.ns),
            name,
            &[],
            self.rng,
            self.t,
        );
        p["spec"] = spec;
        self.e.emit("networking.k8s.io", "networkpolicies", p);
    }

    fn cilium(&mut self, name: &str, spec: Value) {
        let mut p = o::custom_object(
            "cilium.io/v2",
            "CiliumNetworkPolicy",
            Some(self.ns),
            name,
            &[],
            self.rng,
            self.t,
        );
        p["spec"] = spec;
        p["status"] = cilium_status(self.t);
        self.e.emit("cilium.io", "ciliumnetworkpolicies", p);
    }

    fn calico(&mut self, name: &str, spec: Value) {
        let mut p = o::custom_object(
            "crd.projectcalico.org/v1",
            "NetworkPolicy",
            Some(self.ns),
            name,
            &[],
            self.rng,
            self.t,
        );
        p["spec"] = spec;
        self.e.emit("crd.projectcalico.org", "networkpolicies", p);
    }
}

fn cilium_status(t: Timestamp) -> Value {
    json!({"conditions": [{"type": "Valid", "status": "True", "message": "Policy validation succeeded",
        "lastTransitionTime": o::rfc3339(t)}]})
}

const DNS_EGRESS: fn() -> Value = || {
    json!([{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}])
};

/// Default-deny for the namespace plus the allow rules that keep it working.
fn default_deny(out: &mut Out<'_, '_>, flavour: Flavour) {
    let egress_too = out.rng.chance(0.4);
    match flavour {
        Flavour::Kubernetes => {
            if egress_too {
                out.kubernetes(
                    "default-deny-all",
                    json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
                );
                out.kubernetes(
                    "allow-dns-egress",
                    json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": DNS_EGRESS()}),
                );
            } else {
                out.kubernetes(
                    "default-deny-ingress",
                    json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
                );
            }
            out.kubernetes(
                "allow-same-namespace",
                json!({"podSelector": {}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}]}]}),
            );
        }
        // Cilium's documented "deny all ingress": an empty rule puts every endpoint the
        // selector matches into default deny.
        Flavour::Cilium => {
            let mut spec = json!({"endpointSelector": {}, "ingress": [{}]});
            if egress_too {
                spec["egress"] = json!([{}]);
            }
            out.cilium("default-deny", spec);
            out.cilium("allow-same-namespace", json!({"endpointSelector": {},
                "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": out.ns}}]}]}));
        }
        Flavour::Calico => {
            out.calico(
                "default-deny",
                json!({"selector": "all()", "types": ["Ingress", "Egress"]}),
            );
            out.calico("allow-same-namespace", json!({"selector": "all()", "order": 100, "types": ["Ingress", "Egress"],
                "ingress": [{"action": "Allow", "source": {"namespaceSelector": format!("projectcalico.org/name == '{}'", out.ns)}}],
                "egress": [{"action": "Allow"}]}));
        }
    }
}

/// One allow policy selecting `w`'s pods: ingress from a sibling app or the ingress
/// controller, and (sometimes) DNS egress.
fn allow_app(out: &mut Out<'_, '_>, flavour: Flavour, w: &WorkloadRecord, peer: &str) {
    let name = format!("allow-{}", w.app);
    let key = w.app_label_key;
    let from_ingress = out.rng.chance(0.5);
    match flavour {
        Flavour::Kubernetes => {
            let from = if from_ingress {
                json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}])
            } else {
                json!([{"podSelector": {"matchLabels": {key: peer}}}])
            };
            let mut spec = json!({"podSelector": {"matchLabels": {key: w.app}},
                "policyTypes": ["Ingress"], "ingress": [{"from": from, "ports": [{"protocol": "TCP", "port": 8080}]}]});
            if out.rng.chance(0.5) {
                spec["policyTypes"] = json!(["Ingress", "Egress"]);
                spec["egress"] = DNS_EGRESS();
            }
            out.kubernetes(&name, spec);
        }
        Flavour::Cilium => {
            let from = if from_ingress {
                json!([{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ingress-nginx"}}])
            } else {
                json!([{"matchLabels": {key: peer}}])
            };
            out.cilium(&name, json!({"endpointSelector": {"matchLabels": {key: w.app}},
                "ingress": [{"fromEndpoints": from, "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}));
        }
        Flavour::Calico => {
            let source = if from_ingress {
                json!({"namespaceSelector": "projectcalico.org/name == 'ingress-nginx'"})
            } else {
                json!({"selector": format!("{key} == '{peer}'")})
            };
            out.calico(&name, json!({"selector": format!("{key} == '{}'", w.app), "order": 500,
                "types": ["Ingress", "Egress"],
                "ingress": [{"action": "Allow", "protocol": "TCP", "source": source, "destination": {"ports": [8080]}}],
                "egress": [{"action": "Allow", "protocol": "UDP", "destination": {"selector": "k8s-app == 'kube-dns'", "ports": [53]}}]}));
        }
    }
}

/// Emit the policies of one application namespace holding `workloads`.
pub(crate) fn emit_namespace(
    ns: &NsPosture,
    workloads: &[&WorkloadRecord],
    cni: Cni,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    t: Timestamp,
) {
    let flavour = match cni {
        Cni::Cilium if rng.chance(0.6) => Flavour::Cilium,
        Cni::Calico if rng.chance(0.6) => Flavour::Calico,
        _ => Flavour::Kubernetes,
    };
    let mut out = Out {
        ns: &ns.name,
        e,
        rng,
        t,
    };
    let mut apps: Vec<&WorkloadRecord> = Vec::with_capacity(workloads.len());
    for w in workloads {
        if !apps.iter().any(|a| a.app == w.app) {
            apps.push(w);
        }
    }
    let peer = |i: usize| {
        apps.get((i + 1) % apps.len().max(1))
            .map_or("frontend", |a| a.app.as_str())
    };
    match ns.netpol {
        NetpolStyle::None => {}
        NetpolStyle::DefaultDeny => {
            default_deny(&mut out, flavour);
            // Teams with a default-deny still write allow rules for some apps.
            for (i, w) in apps.iter().enumerate() {
                if out.rng.chance(0.3) {
                    allow_app(&mut out, flavour, w, peer(i));
                }
            }
        }
        NetpolStyle::PerAppFull | NetpolStyle::PerAppPartial => {
            let partial = ns.netpol == NetpolStyle::PerAppPartial;
            let mut skipped = false;
            for (i, w) in apps.iter().enumerate() {
                let last = i + 1 == apps.len();
                // A partial namespace leaves at least one workload unselected.
                if partial && (out.rng.chance(0.35) || (last && !skipped)) {
                    skipped = true;
                    continue;
                }
                allow_app(&mut out, flavour, w, peer(i));
            }
        }
    }
}

/// The CNI's cluster-wide policy: Cilium's for kube-system's health checks, Calico's
/// blocking the cloud metadata endpoint (then passing to namespaced policies).
pub(crate) fn emit_cluster_wide(cni: Cni, e: &mut Emitter<'_>, rng: &mut SimRng, t: Timestamp) {
    match cni {
        Cni::Native => {}
        Cni::Cilium => {
            let mut p = o::custom_object(
                "cilium.io/v2",
                "CiliumClusterwideNetworkPolicy",
                None,
                "kube-system-allow-cluster",
                &[],
                rng,
                t,
            );
            p["spec"] = json!({
                "endpointSelector": {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system"}},
                "ingress": [{"fromEntities": ["cluster", "host", "remote-node"]}],
            });
            p["status"] = cilium_status(t);
            e.emit("cilium.io", "ciliumclusterwidenetworkpolicies", p);
        }
        Cni::Calico => {
            let mut p = o::custom_object(
                "crd.projectcalico.org/v1",
                "GlobalNetworkPolicy",
                None,
                "deny-cloud-metadata",
                &[],
                rng,
                t,
            );
            p["spec"] = json!({
                "selector": "all()",
                "order": 10,
                "types": ["Egress"],
                "egress": [
                    {"action": "Deny", "protocol": "TCP", "destination": {"nets": ["169.254.169.254/32"]}},
                    {"action": "Pass"},
                ],
            });
            e.emit("crd.projectcalico.org", "globalnetworkpolicies", p);
        }
    }
}
