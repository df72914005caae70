//! The cluster's security posture: which add-ons it runs (CNI policy engine, Gatekeeper,
//! secret managers, Trivy) and how far each control is rolled out, drawn once per cluster
//! from its own stream (`posture`) so that adding it changed no other object of a seed.
//!
//! Posture is per workload and per namespace, never per pod: templates carry the security
//! fields (pods copy them), and the add-ons' objects are emitted after the applications from
//! the [`WorkloadRecord`]s the emitter keeps (one per ReplicaSet, StatefulSet and DaemonSet).

use capstan_core::rng::SimRng;
use serde_json::{Map, Value, json};

use super::namespaces::{NsPlan, SYSTEM_NAMESPACES};
use crate::fleet::ClusterSpec;
pub(crate) use crate::trivy::ScanCoverage;

/// The network policy engine, the one the kube-system CNI DaemonSet already runs
/// (`generator::system`): `calico-node` on GKE, `cilium` on premises; the AWS VPC CNI and
/// Azure CNI enforce plain NetworkPolicies only. Only Calico and Cilium add CRDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cni {
    Native,
    Calico,
    Cilium,
}

impl Cni {
    pub(crate) fn of_provider(provider: &str) -> Self {
        match provider {
            "gcp" => Cni::Calico,
            "aws" | "azure" => Cni::Native,
            _ => Cni::Cilium,
        }
    }
}

/// The risky RBAC a cluster carries; all false on a clean cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RbacRisks {
    /// A person bound to cluster-admin (`debug-cluster-admin`).
    pub(crate) cluster_admin_user: bool,
    /// A ClusterRole and a namespace Role with `*` verbs, resources and groups.
    pub(crate) wildcard_roles: bool,
    /// The CI service account may get/list Secrets in some namespaces.
    pub(crate) ci_reads_secrets: bool,
    /// A ClusterRole with bind/escalate and one with impersonate.
    pub(crate) escalate_bind_impersonate: bool,
    /// Developer roles with `pods/exec` and `pods/portforward` create.
    pub(crate) developer_exec: bool,
}

impl RbacRisks {
    pub(crate) fn clean(&self) -> bool {
        *self == RbacRisks::default()
    }
}

/// Which secret managers a cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SecretManagers {
    pub(crate) vault: bool,
    pub(crate) csi: bool,
    pub(crate) eso: bool,
    /// Every workload that uses a secret gets it from a manager, file-mounted.
    pub(crate) all_managed: bool,
}

/// One cluster's posture.
#[derive(Debug, Clone)]
pub(crate) struct ClusterPosture {
    pub(crate) cni: Cni,
    pub(crate) gatekeeper: bool,
    pub(crate) rbac: RbacRisks,
    /// Every namespace but kube-system enforces baseline or restricted.
    pub(crate) pss_all_enforced: bool,
    /// Every application namespace is covered by network policies.
    pub(crate) netpol_all_covered: bool,
    pub(crate) secrets: SecretManagers,
    pub(crate) scans: ScanCoverage,
    /// "v1.N" of the control plane, for `enforce-version` labels.
    pub(crate) minor_version: String,
}

/// How a namespace is covered by network policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetpolStyle {
    /// Default-deny (ingress, sometimes egress too) plus allow rules.
    DefaultDeny,
    /// One allow policy per workload, every workload selected.
    PerAppFull,
    /// Per-workload policies for some workloads only.
    PerAppPartial,
    None,
}

/// One namespace's posture.
#[derive(Debug, Clone)]
pub(crate) struct NsPosture {
    pub(crate) name: String,
    /// `pod-security.kubernetes.io/enforce`, `audit`, `warn` (None: label absent).
    pub(crate) enforce: Option<&'static str>,
    pub(crate) audit: Option<&'static str>,
    pub(crate) warn: Option<&'static str>,
    /// `*-version` value written beside each level label.
    pub(crate) version: String,
    pub(crate) netpol: NetpolStyle,
    /// Workloads here may violate baseline (enforce is privileged or absent).
    pub(crate) violations_allowed: bool,
    /// Share of workloads that do, where allowed.
    pub(crate) violation_rate: f64,
    /// The enforce label was raised after a pod was admitted: one workload violates it.
    pub(crate) grandfathered: bool,
}

/// The cluster's posture and each application namespace's, in the plan's order.
#[derive(Debug, Clone)]
pub(crate) struct PosturePlan {
    pub(crate) cluster: ClusterPosture,
    pub(crate) namespaces: Vec<NsPosture>,
    /// Labels of the system namespaces (default, kube-public, kube-node-lease) when the
    /// cluster enforces everywhere.
    pub(crate) system_enforce: Option<&'static str>,
}

impl PosturePlan {
    pub(crate) fn namespace(&self, name: &str) -> Option<&NsPosture> {
        self.namespaces.iter().find(|n| n.name == name)
    }
}

/// Draw the cluster's posture. Production clusters are more often hardened; each control is
/// rolled out independently so that a cluster can meet one target and miss another.
pub(crate) fn plan_posture(spec: &ClusterSpec, plan: &[NsPlan], rng: &mut SimRng) -> PosturePlan {
    let production = spec
        .labels
        .get("environment")
        .is_some_and(|e| e == "production");
    let mature = if production { 0.5 } else { 0.3 };
    let rbac_clean = rng.chance(mature);
    let mut rbac = RbacRisks::default();
    if !rbac_clean {
        rbac = RbacRisks {
            cluster_admin_user: rng.chance(0.5),
            wildcard_roles: rng.chance(0.35),
            ci_reads_secrets: rng.chance(0.5),
            escalate_bind_impersonate: rng.chance(0.3),
            developer_exec: rng.chance(0.6),
        };
        if rbac.clean() {
            rbac.developer_exec = true;
        }
    }
    let secrets_manager = rng.range_inclusive(0, 5);
    let secrets = SecretManagers {
        vault: matches!(secrets_manager, 0 | 3 | 5),
        csi: matches!(secrets_manager, 1 | 3 | 4),
        eso: matches!(secrets_manager, 2 | 4 | 5),
        all_managed: rng.chance(mature),
    };
    // Trivy's coverage has its own stream: the twin's operator derives it from the spec at
    // run time. Its former draws stay so that the controls drawn after them keep their values.
    let former_draws = if rng.chance(mature + 0.2) { 3 } else { 4 };
    for _ in 0..former_draws {
        rng.next_u64();
    }
    let scans = ScanCoverage::for_cluster(spec);
    let minor = spec
        .version
        .trim_start_matches('v')
        .split('.')
        .nth(1)
        .unwrap_or("32");
    let cluster = ClusterPosture {
        cni: Cni::of_provider(&spec.provider),
        gatekeeper: rng.chance(if production { 0.6 } else { 0.4 }),
        rbac,
        pss_all_enforced: rng.chance(mature),
        netpol_all_covered: rng.chance(mature + 0.1),
        secrets,
        scans,
        minor_version: format!("v1.{minor}"),
    };
    let grandfather = rng.chance(0.3);
    let mut namespaces: Vec<NsPosture> = plan
        .iter()
        .map(|ns| ns_posture(&cluster, ns, rng))
        .collect();
    if grandfather {
        let candidates: Vec<usize> = namespaces
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.enforce.is_some_and(|l| l != "privileged") && n.name != "cert-manager"
            })
            .map(|(i, _)| i)
            .collect();
        if let Some(i) = rng.pick(&candidates) {
            namespaces[*i].grandfathered = true;
        }
    }
    PosturePlan {
        system_enforce: cluster.pss_all_enforced.then_some("restricted"),
        cluster,
        namespaces,
    }
}

fn ns_posture(cluster: &ClusterPosture, ns: &NsPlan, rng: &mut SimRng) -> NsPosture {
    let monitoring = ns.name == "monitoring";
    let (enforce, audit, warn) = match (ns.pss, cluster.pss_all_enforced) {
        // Hardened clusters lift everything to at least baseline and warn on restricted.
        (Some("restricted"), _) => (Some("restricted"), Some("restricted"), Some("restricted")),
        (Some(level), false) => (Some(level), Some(level), Some(level)),
        (_, true) => (Some("baseline"), Some("restricted"), Some("restricted")),
        // Unlabelled, or only warned and audited: the usual first step of a PSS rollout.
        (None, false) if rng.chance(0.5) => (None, Some("restricted"), Some("restricted")),
        (None, false) => (None, None, None),
    };
    let version = if rng.chance(0.7) {
        "latest".to_string()
    } else {
        cluster.minor_version.clone()
    };
    let netpol = if cluster.netpol_all_covered || ns.network_policies {
        if rng.chance(0.65) {
            NetpolStyle::DefaultDeny
        } else {
            NetpolStyle::PerAppFull
        }
    } else {
        match rng.range_inclusive(0, 9) {
            0..=3 => NetpolStyle::PerAppFull,
            4..=6 => NetpolStyle::PerAppPartial,
            _ => NetpolStyle::None,
        }
    };
    let violations_allowed = matches!(enforce, None | Some("privileged"));
    NsPosture {
        name: ns.name.clone(),
        enforce,
        audit,
        warn,
        version,
        netpol,
        violations_allowed,
        violation_rate: if monitoring { 0.25 } else { 0.04 },
        grandfathered: false,
    }
}

/// Rewrite a namespace's Pod Security labels to its posture (the generic builder labels
/// enforce, audit and warn alike).
pub(crate) fn label_namespace(ns: &mut Value, posture: Option<&NsPosture>, system: Option<&str>) {
    let Some(labels) = ns
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    labels.retain(|k, _| !k.starts_with("pod-security.kubernetes.io/"));
    let name = labels
        .get("kubernetes.io/metadata.name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let put = |labels: &mut Map<String, Value>, mode: &str, level: Option<&str>, v: &str| {
        if let Some(level) = level {
            labels.insert(format!("pod-security.kubernetes.io/{mode}"), json!(level));
            labels.insert(
                format!("pod-security.kubernetes.io/{mode}-version"),
                json!(v),
            );
        }
    };
    match posture {
        Some(p) => {
            put(labels, "enforce", p.enforce, &p.version);
            put(labels, "audit", p.audit, &p.version);
            put(labels, "warn", p.warn, &p.version);
        }
        // kube-system stays unlabelled: its add-ons need privileged, and PSA's
        // configuration exempts it.
        None if SYSTEM_NAMESPACES.contains(&name.as_str()) && name != "kube-system" => {
            put(labels, "enforce", system, "latest");
        }
        None => {}
    }
}

/// A container of a recorded workload.
#[derive(Debug, Clone)]
pub(crate) struct RecordedContainer {
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) privileged: bool,
    pub(crate) cpu_limit: bool,
    pub(crate) memory_limit: bool,
}

/// What the posture emitters need of one pod owner (ReplicaSet, StatefulSet, DaemonSet):
/// kept for every owner, a few hundred bytes each.
#[derive(Debug, Clone)]
pub(crate) struct WorkloadRecord {
    pub(crate) namespace: String,
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) uid: String,
    /// The pod template's `app` (or `k8s-app`) label.
    pub(crate) app: String,
    pub(crate) app_label_key: &'static str,
    pub(crate) containers: Vec<RecordedContainer>,
    /// A hash of the pod template, as Trivy's `resource-spec-hash` label.
    pub(crate) spec_hash: String,
    /// Pods emitted for it, and the names of the first few.
    pub(crate) pods: u32,
    pub(crate) sample_pods: Vec<String>,
}

/// Pod names kept per workload, for Gatekeeper's violation lists.
const SAMPLE_PODS: usize = 3;

impl WorkloadRecord {
    /// The record of a ReplicaSet, StatefulSet or DaemonSet object.
    pub(crate) fn of(kind: &'static str, obj: &Value) -> Option<Self> {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        let labels = obj.pointer("/spec/template/metadata/labels")?;
        let (app_label_key, app) = match labels.get("app").and_then(Value::as_str) {
            Some(a) => ("app", a),
            None => ("k8s-app", labels.get("k8s-app").and_then(Value::as_str)?),
        };
        let containers = obj
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| RecordedContainer {
                        name: c["name"].as_str().unwrap_or("").to_string(),
                        image: c["image"].as_str().unwrap_or("").to_string(),
                        privileged: c
                            .pointer("/securityContext/privileged")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        cpu_limit: c.pointer("/resources/limits/cpu").is_some(),
                        memory_limit: c.pointer("/resources/limits/memory").is_some(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let template = obj.pointer("/spec/template").unwrap_or(&Value::Null);
        Some(WorkloadRecord {
            namespace: s("/metadata/namespace").to_string(),
            kind,
            name: s("/metadata/name").to_string(),
            uid: s("/metadata/uid").to_string(),
            app: app.to_string(),
            app_label_key,
            containers,
            spec_hash: crate::objects::pod_template_hash(template),
            pods: 0,
            sample_pods: Vec::new(),
        })
    }

    /// Count a pod of this owner.
    pub(crate) fn add_pod(&mut self, name: &str) {
        self.pods += 1;
        if self.sample_pods.len() < SAMPLE_PODS {
            self.sample_pods.push(name.to_string());
        }
    }
}
