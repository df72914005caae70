//! The per-cluster evaluator the agent runs: the cluster's non-pod objects up front
//! ([`ClusterObjects`]), then every pod streamed through [`PostureEvaluator::observe_pod`],
//! then [`PostureEvaluator::finish`] for the bounded [`PostureReport`].
//!
//! Pods are never held: the evaluator keeps state per workload. Pods of one ReplicaSet (and
//! of one DaemonSet, StatefulSet or Job) share their template and differ only in name and
//! status, so the first pod of each controller is checked in full (Pod Security, secrets,
//! network policy selection) and the next ones only add to its counts and look up their
//! containers' scan reports (a container's running image can differ between pods). Findings
//! name the top-level workload: a ReplicaSet's Deployment, a Job's CronJob.
//!
//! Which pods count: Succeeded and Failed pods run nothing and are skipped everywhere.
//! Pending pods will run with their spec, so they count for Pod Security, secrets and network
//! policy; only Running pods have running containers, so only they count for image scanning
//! (a Pending pod's containers have no `imageID` yet to compare with a report).

mod finish;

pub use finish::{
    RULE_CRITICAL, RULE_IMAGE_MISMATCH, RULE_NAMESPACE_UNCOVERED, RULE_NOT_SCANNED,
    RULE_PSS_NOT_ENFORCED, RULE_STALE_REPORT, RULE_WORKLOAD_UNSELECTED,
};

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;

use super::exceptions::Exceptions;
use super::gatekeeper::ConstraintInput;
use super::images::{ScanIndex, ScanStatus, VulnerabilityReportInput};
use super::netpol::{
    CalicoPolicyInput, CiliumPolicyInput, NamespaceLabels, NetpolIndex, NetpolObjects,
    NetworkPolicyInput,
};
use super::pod::{ContainerKind, ObjectMeta, PodInput};
use super::pss::{self, Level, NamespacePolicy, PssDefaults};
use super::rbac::{BindingInput, RoleInput, nullable};
use super::report::{ObjectRef, PostureLimits, PostureSources, Severity};
use super::secrets;

/// A Namespace (its name and labels).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NamespaceInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
}

/// A Secret's metadata (never its data): namespace, name and owners.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SecretMetaInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
}

impl SecretMetaInput {
    /// External Secrets Operator owns the Secrets it creates (`creationPolicy: Owner`, the
    /// default).
    pub fn is_externally_managed(&self) -> bool {
        self.metadata
            .owner_references
            .iter()
            .any(|o| o.kind == "ExternalSecret")
    }
}

/// A ReplicaSet's or Job's controller, read from its JSON (metadata only), so that pod
/// findings name the Deployment or CronJob.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "OwnedObject")]
pub struct OwnerLink {
    pub namespace: String,
    pub name: String,
    /// Empty when the object has no controller.
    pub owner_kind: String,
    pub owner_name: String,
}

#[derive(Deserialize)]
struct OwnedObject {
    #[serde(default, deserialize_with = "nullable")]
    metadata: ObjectMeta,
}

impl From<OwnedObject> for OwnerLink {
    fn from(o: OwnedObject) -> OwnerLink {
        let m = o.metadata;
        let owner = m
            .owner_references
            .into_iter()
            .find(|r| r.controller == Some(true));
        let (owner_kind, owner_name) = owner.map(|r| (r.kind, r.name)).unwrap_or_default();
        OwnerLink {
            namespace: m.namespace,
            name: m.name,
            owner_kind,
            owner_name,
        }
    }
}

/// Everything but the pods.
#[derive(Debug, Clone, Default)]
pub struct ClusterObjects {
    pub namespaces: Vec<NamespaceInput>,
    pub roles: Vec<RoleInput>,
    pub cluster_roles: Vec<RoleInput>,
    pub role_bindings: Vec<BindingInput>,
    pub cluster_role_bindings: Vec<BindingInput>,
    pub network_policies: Vec<NetworkPolicyInput>,
    pub cilium_policies: Vec<CiliumPolicyInput>,
    pub cilium_clusterwide_policies: Vec<CiliumPolicyInput>,
    pub calico_policies: Vec<CalicoPolicyInput>,
    pub calico_global_policies: Vec<CalicoPolicyInput>,
    pub secrets: Vec<SecretMetaInput>,
    pub vulnerability_reports: Vec<VulnerabilityReportInput>,
    pub constraints: Vec<ConstraintInput>,
    /// ReplicaSets (metadata suffices): ReplicaSet → Deployment.
    pub replica_set_owners: Vec<OwnerLink>,
    /// Jobs: Job → CronJob.
    pub job_owners: Vec<OwnerLink>,
    pub sources: PostureSources,
}

/// How to evaluate.
#[derive(Debug, Clone)]
pub struct EvaluationSettings {
    pub cluster: String,
    /// The cluster's minor version: what PSS `latest` means.
    pub kubernetes_minor: u32,
    pub pss_defaults: PssDefaults,
    /// Namespaces the network policy control does not count.
    pub netpol_exempt_namespaces: Vec<String>,
    pub scan_ttl: SignedDuration,
    pub limits: PostureLimits,
    pub exceptions: Exceptions,
    pub now: Timestamp,
}

/// The namespaces the network policy control leaves out by default.
pub const DEFAULT_NETPOL_EXEMPT: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

impl EvaluationSettings {
    /// Defaults: PSA's cluster defaults (privileged, nothing exempt), the system namespaces
    /// exempt from network policy, Trivy's 24 h report TTL, no exceptions.
    pub fn new(cluster: &str, kubernetes_minor: u32, now: Timestamp) -> EvaluationSettings {
        EvaluationSettings {
            cluster: cluster.to_string(),
            kubernetes_minor,
            pss_defaults: PssDefaults::default(),
            netpol_exempt_namespaces: DEFAULT_NETPOL_EXEMPT.map(String::from).to_vec(),
            scan_ttl: super::images::DEFAULT_REPORT_TTL,
            limits: PostureLimits::default(),
            exceptions: Exceptions::none(),
            now,
        }
    }
}

/// One namespace's settled facts.
#[derive(Debug)]
struct NamespaceState {
    name: String,
    labels: BTreeMap<String, String>,
    policy: NamespacePolicy,
    pss_exempt: bool,
    netpol_exempt: bool,
    /// Top-level workloads seen running in it.
    workloads: Vec<u32>,
}

/// A finding of a pod check, before it knows how many pods share it.
#[derive(Debug, Clone)]
struct PodFinding {
    rule: String,
    severity: Severity,
    field_path: String,
    message: String,
}

/// Scan outcomes of one container of one controller's pods.
#[derive(Debug, Clone, Default)]
struct ContainerScan {
    name: String,
    image: String,
    index: usize,
    fresh_pods: u64,
    stale_pods: u64,
    mismatch_pods: u64,
    missing_pods: u64,
    /// Fresh pods whose report has critical vulnerabilities.
    critical_pods: u64,
    critical_max: u64,
    /// For the messages, from the first pod with that status: the stale report and its
    /// age, the image a mismatched report scanned.
    stale: Option<(String, SignedDuration)>,
    mismatch_scanned: Option<String>,
}

/// The state of one controller (a ReplicaSet, a DaemonSet, ...; or a bare pod).
#[derive(Debug)]
struct ControllerEntry {
    workload: u32,
    pods: u64,
    running_pods: u64,
    highest: Level,
    violates_enforce: bool,
    pss: Vec<PodFinding>,
    secrets: Vec<PodFinding>,
    containers: Vec<ContainerScan>,
}

/// A top-level workload (the Deployment of several ReplicaSets counts once).
#[derive(Debug)]
struct Workload {
    object: ObjectRef,
    namespace: u32,
    selected: bool,
    references_secrets: bool,
    secrets_compliant: bool,
    /// Some pod of it takes a secret through an environment variable.
    secret_env: bool,
}

/// Evaluates one cluster. See the module docs.
pub struct PostureEvaluator {
    objects: ClusterObjects,
    settings: EvaluationSettings,
    namespaces: Vec<NamespaceState>,
    namespace_index: FxHashMap<String, u32>,
    netpol: NetpolIndex,
    scans: ScanIndex,
    /// namespace → ReplicaSet or Job name → (owner kind, owner name).
    owners: FxHashMap<String, FxHashMap<String, (String, String)>>,
    /// Secrets owned by an ExternalSecret: namespace → names.
    externally_managed: FxHashMap<String, FxHashSet<String>>,
    externally_managed_count: u64,
    /// `namespace \0 kind \0 name` of each controller → its entry.
    controllers: FxHashMap<Box<str>, u32>,
    entries: Vec<ControllerEntry>,
    workload_index: FxHashMap<(String, String, String), u32>,
    workloads: Vec<Workload>,
    key: String,
    /// Distinct fresh reports (namespace → report names) and their vulnerability sums.
    reports_seen: FxHashMap<String, FxHashSet<String>>,
    critical_vulnerabilities: u64,
    high_vulnerabilities: u64,
    images_scanned: FxHashSet<String>,
    /// Distinct plain Secrets workloads reference.
    unmanaged_secrets: FxHashSet<(String, String)>,
    /// Tests check every pod in full to compare with the cache.
    #[cfg(test)]
    no_cache: bool,
}

fn controller_key(buf: &mut String, namespace: &str, kind: &str, name: &str) {
    buf.clear();
    buf.push_str(namespace);
    buf.push('\0');
    buf.push_str(kind);
    buf.push('\0');
    buf.push_str(name);
}

impl PostureEvaluator {
    pub fn new(mut objects: ClusterObjects, settings: EvaluationSettings) -> PostureEvaluator {
        let reports = std::mem::take(&mut objects.vulnerability_reports);
        let scans = ScanIndex::new(reports, settings.scan_ttl);
        let mut owners: FxHashMap<String, FxHashMap<String, (String, String)>> =
            FxHashMap::default();
        for link in objects
            .replica_set_owners
            .iter()
            .chain(objects.job_owners.iter())
        {
            if !link.owner_kind.is_empty() {
                owners.entry(link.namespace.clone()).or_default().insert(
                    link.name.clone(),
                    (link.owner_kind.clone(), link.owner_name.clone()),
                );
            }
        }
        let mut externally_managed: FxHashMap<String, FxHashSet<String>> = FxHashMap::default();
        let mut externally_managed_count = 0;
        for s in objects.secrets.iter().filter(|s| s.is_externally_managed()) {
            let added = externally_managed
                .entry(s.metadata.namespace.clone())
                .or_default()
                .insert(s.metadata.name.clone());
            externally_managed_count += u64::from(added);
        }
        let mut evaluator = PostureEvaluator {
            objects: ClusterObjects::default(),
            settings,
            namespaces: Vec::new(),
            namespace_index: FxHashMap::default(),
            netpol: NetpolIndex::default(),
            scans,
            owners,
            externally_managed,
            externally_managed_count,
            controllers: FxHashMap::default(),
            entries: Vec::new(),
            workload_index: FxHashMap::default(),
            workloads: Vec::new(),
            key: String::new(),
            reports_seen: FxHashMap::default(),
            critical_vulnerabilities: 0,
            high_vulnerabilities: 0,
            images_scanned: FxHashSet::default(),
            unmanaged_secrets: FxHashSet::default(),
            #[cfg(test)]
            no_cache: false,
        };
        for ns in &objects.namespaces {
            evaluator.add_namespace(&ns.metadata.name, ns.metadata.labels.clone());
        }
        let labels: Vec<NamespaceLabels<'_>> = evaluator
            .namespaces
            .iter()
            .map(|n| NamespaceLabels {
                name: &n.name,
                labels: &n.labels,
            })
            .collect();
        evaluator.netpol = NetpolIndex::new(
            NetpolObjects {
                network_policies: &objects.network_policies,
                cilium_policies: &objects.cilium_policies,
                cilium_clusterwide_policies: &objects.cilium_clusterwide_policies,
                calico_policies: &objects.calico_policies,
                calico_global_policies: &objects.calico_global_policies,
            },
            &labels,
        );
        // The policies are compiled; the rest is read again at finish.
        objects.network_policies = Vec::new();
        objects.cilium_policies = Vec::new();
        objects.cilium_clusterwide_policies = Vec::new();
        objects.calico_policies = Vec::new();
        objects.calico_global_policies = Vec::new();
        objects.replica_set_owners = Vec::new();
        objects.job_owners = Vec::new();
        objects.secrets = Vec::new();
        evaluator.objects = objects;
        evaluator
    }

    /// Selectors of policies that did not parse (the policies are ignored), for the log.
    pub fn policy_errors(&self) -> &[String] {
        &self.netpol.errors
    }

    fn add_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) -> u32 {
        if let Some(&i) = self.namespace_index.get(name) {
            return i;
        }
        let policy = pss::namespace_policy(&labels, &self.settings.pss_defaults);
        let i = self.namespaces.len() as u32;
        self.namespaces.push(NamespaceState {
            name: name.to_string(),
            labels,
            policy,
            pss_exempt: self.settings.pss_defaults.is_exempt(name),
            netpol_exempt: self
                .settings
                .netpol_exempt_namespaces
                .iter()
                .any(|n| n == name),
            workloads: Vec::new(),
        });
        self.namespace_index.insert(name.to_string(), i);
        i
    }

    /// Takes one pod into account. Allocation-free for a pod whose controller was seen
    /// before, apart from what the scan lookup of a new image needs.
    pub fn observe_pod(&mut self, pod: &PodInput) {
        let phase = pod.status.phase.as_str();
        if phase == "Succeeded" || phase == "Failed" {
            return;
        }
        let namespace = pod.metadata.namespace.as_str();
        let (kind, name) = pod
            .controller()
            .unwrap_or(("Pod", pod.metadata.name.as_str()));
        controller_key(&mut self.key, namespace, kind, name);
        let cached = self.controllers.get(self.key.as_str()).copied();
        #[cfg(test)]
        let cached = cached.filter(|_| !self.no_cache);
        let entry = match cached {
            Some(e) => e,
            None => {
                let e = self.first_pod(pod, kind, name);
                self.controllers
                    .insert(self.key.clone().into_boxed_str(), e);
                e
            }
        };
        let entry = &mut self.entries[entry as usize];
        entry.pods += 1;
        if phase != "Running" {
            return;
        }
        entry.running_pods += 1;
        let now = self.settings.now;
        for scan in &mut entry.containers {
            let image_id = pod
                .container_status(ContainerKind::Containers, &scan.name)
                .map_or("", |s| s.image_id.as_str());
            match self
                .scans
                .scan_status(pod, &scan.name, &scan.image, image_id, now)
            {
                ScanStatus::Fresh {
                    report,
                    critical,
                    high,
                    ..
                } => {
                    scan.fresh_pods += 1;
                    if critical > 0 {
                        scan.critical_pods += 1;
                        scan.critical_max = scan.critical_max.max(critical);
                    }
                    let seen = self.reports_seen.get(namespace);
                    if !seen.is_some_and(|s| s.contains(report)) {
                        self.reports_seen
                            .entry(namespace.to_string())
                            .or_default()
                            .insert(report.to_string());
                        self.critical_vulnerabilities += critical;
                        self.high_vulnerabilities += high;
                    }
                    let image = if image_id.is_empty() {
                        scan.image.as_str()
                    } else {
                        image_id
                    };
                    if !self.images_scanned.contains(image) {
                        self.images_scanned.insert(image.to_string());
                    }
                }
                ScanStatus::Stale { report, age } => {
                    scan.stale_pods += 1;
                    if scan.stale.is_none() {
                        scan.stale = Some((report.to_string(), age));
                    }
                }
                ScanStatus::ImageMismatch { scanned, .. } => {
                    scan.mismatch_pods += 1;
                    if scan.mismatch_scanned.is_none() {
                        scan.mismatch_scanned = Some(scanned);
                    }
                }
                ScanStatus::Missing => scan.missing_pods += 1,
            }
        }
    }

    /// The top-level workload of a pod's controller.
    fn top_level(&self, namespace: &str, kind: &str, name: &str, pod: &PodInput) -> ObjectRef {
        if kind == "Pod" {
            return ObjectRef::new("Pod", namespace, &pod.metadata.name);
        }
        if kind == "ReplicaSet" || kind == "Job" {
            let owner = self.owners.get(namespace).and_then(|m| m.get(name));
            if let Some((k, n)) = owner {
                return ObjectRef::new(k, namespace, n);
            }
        }
        ObjectRef::new(kind, namespace, name)
    }

    /// Checks the first pod of a controller in full and returns its new entry.
    fn first_pod(&mut self, pod: &PodInput, kind: &str, name: &str) -> u32 {
        let namespace = pod.metadata.namespace.as_str();
        let ns = match self.namespace_index.get(namespace) {
            Some(&i) => i,
            // A pod in a namespace the list did not have (created since): no labels known.
            None => self.add_namespace(namespace, BTreeMap::new()),
        };
        let object = self.top_level(namespace, kind, name, pod);
        let workload = self.workload_for(object, ns);
        let minor = self.settings.kubernetes_minor;
        let ns_state = &self.namespaces[ns as usize];

        // Pod Security: what the namespace enforces, and baseline everywhere.
        let (pss_findings, highest, violates_enforce) = if ns_state.pss_exempt {
            (Vec::new(), pss::highest_level(pod, minor), false)
        } else {
            pss_findings(pod, &ns_state.policy, minor)
        };

        // Secrets.
        let use_ = secrets::secret_use(pod);
        let managed = &self.externally_managed;
        let verdict = secrets::secrets_verdict(&use_, &|ns, name| {
            managed.get(ns).is_some_and(|names| names.contains(name))
        });
        let secret_findings: Vec<PodFinding> = verdict
            .problems
            .iter()
            .map(|p| PodFinding {
                rule: format!("secrets.{}", p.rule),
                severity: if p.rule == secrets::SECRET_IN_ENV {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                field_path: p.field_path.clone(),
                message: p.detail.clone(),
            })
            .collect();
        for p in &verdict.problems {
            if p.rule == secrets::UNMANAGED_SECRET && !p.secret.is_empty() {
                self.unmanaged_secrets
                    .insert((namespace.to_string(), p.secret.clone()));
            }
        }

        // Network policy selection.
        let ns_state = &self.namespaces[ns as usize];
        let selected = self.netpol.selects(
            NamespaceLabels {
                name: &ns_state.name,
                labels: &ns_state.labels,
            },
            &pod.metadata.labels,
        );

        let w = &mut self.workloads[workload as usize];
        w.selected &= selected;
        if verdict.references_secrets {
            w.references_secrets = true;
            w.secrets_compliant &= verdict.compliant;
        }
        w.secret_env |= verdict
            .problems
            .iter()
            .any(|p| p.rule == secrets::SECRET_IN_ENV);

        let containers = pod
            .spec
            .containers
            .iter()
            .enumerate()
            .map(|(index, c)| ContainerScan {
                name: c.name.clone(),
                image: c.image.clone(),
                index,
                ..ContainerScan::default()
            })
            .collect();
        let e = self.entries.len() as u32;
        self.entries.push(ControllerEntry {
            workload,
            pods: 0,
            running_pods: 0,
            highest,
            violates_enforce,
            pss: pss_findings,
            secrets: secret_findings,
            containers,
        });
        e
    }

    fn workload_for(&mut self, object: ObjectRef, namespace: u32) -> u32 {
        let key = (
            object.namespace.clone(),
            object.kind.clone(),
            object.name.clone(),
        );
        if let Some(&w) = self.workload_index.get(&key) {
            return w;
        }
        let w = self.workloads.len() as u32;
        self.workloads.push(Workload {
            object,
            namespace,
            selected: true,
            references_secrets: false,
            secrets_compliant: true,
            secret_env: false,
        });
        self.workload_index.insert(key, w);
        self.namespaces[namespace as usize].workloads.push(w);
        w
    }
}

/// A pod's Pod Security findings against its namespace's policy: violations of the enforced
/// level (pods admitted before enforcement, or through an exemption) are high; where
/// privileged is enforced, baseline violations are high too; where baseline is enforced,
/// restricted-only violations are low. Returns the findings, the pod's highest passing level
/// and whether it violates the enforced level.
fn pss_findings(
    pod: &PodInput,
    policy: &NamespacePolicy,
    minor: u32,
) -> (Vec<PodFinding>, Level, bool) {
    let enforce = policy.enforce.level;
    let enforce_minor = policy.enforce.minor(minor);
    let highest = pss::highest_level(pod, minor);
    let mut out = Vec::new();
    // The namespace may pin an older version than the cluster's, under which a pod passing
    // restricted today can fail (a Windows pod before 1.25, `hostUsers: false` before 1.35).
    if highest == Level::Restricted
        && (enforce_minor == minor || pss::highest_level(pod, enforce_minor) == Level::Restricted)
    {
        return (out, highest, false);
    }
    let finding = |v: pss::Violation, severity: Severity, what: &str| PodFinding {
        rule: format!("pss.{}", v.check),
        severity,
        field_path: v.field_path,
        message: format!("{what}: {}", v.detail),
    };
    let mut violates_enforce = false;
    match enforce {
        Level::Restricted => {
            for v in pss::check_pod(pod, Level::Restricted, enforce_minor) {
                violates_enforce = true;
                out.push(finding(
                    v,
                    Severity::High,
                    "violates the enforced restricted level (admitted before enforcement)",
                ));
            }
        }
        Level::Baseline => {
            let baseline = pss::check_pod(pod, Level::Baseline, enforce_minor);
            violates_enforce = !baseline.is_empty();
            // Restricted replaces some baseline checks (restrictedVolumes for
            // hostPathVolumes): a field already reported against baseline is not repeated.
            let restricted: Vec<pss::Violation> =
                pss::check_pod(pod, Level::Restricted, enforce_minor)
                    .into_iter()
                    .filter(|v| {
                        v.level == Level::Restricted
                            && !baseline.iter().any(|b| b.field_path == v.field_path)
                    })
                    .collect();
            for v in baseline {
                out.push(finding(
                    v,
                    Severity::High,
                    "violates the enforced baseline level (admitted before enforcement)",
                ));
            }
            for v in restricted {
                out.push(finding(
                    v,
                    Severity::Low,
                    "violates restricted (the namespace enforces baseline)",
                ));
            }
        }
        Level::Privileged => {
            for v in pss::check_pod(pod, Level::Baseline, enforce_minor) {
                out.push(finding(
                    v,
                    Severity::High,
                    "violates baseline (the namespace enforces privileged)",
                ));
            }
        }
    }
    (out, highest, violates_enforce)
}

#[cfg(test)]
mod tests;
