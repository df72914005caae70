//! Network policy coverage over the three engines the issue names: Kubernetes
//! `networking.k8s.io/v1` NetworkPolicy, Cilium `cilium.io/v2` CiliumNetworkPolicy and
//! CiliumClusterwideNetworkPolicy, and Calico `crd.projectcalico.org/v1` NetworkPolicy and
//! GlobalNetworkPolicy.
//!
//! A namespace is covered (reference D.3, proposed definition) when a default-deny selects
//! all its pods, or every running workload in it is selected by at least one policy
//! (Kubescape C-0260: selection alone, whatever the rules). Default-deny means "selects
//! every pod of the namespace, enforces ingress and allows no ingress", per engine:
//! - NetworkPolicy: `podSelector: {}`, `policyTypes` ⊇ Ingress (defaulted as the API server
//!   does: Ingress, plus Egress when egress rules exist), no `ingress` rules (a rule `{}`
//!   allows everything, so any rule allows something).
//! - Cilium: an `endpointSelector` selecting every endpoint of the namespace (a CNP's `{}`,
//!   or a CCNP whose requirements are all on the namespace's labels and hold), an `ingress`
//!   or `ingressDeny` section (that is what puts endpoints in default deny in Cilium) with
//!   every `ingress` rule empty (`- {}` allows nothing: Cilium's documented deny-all), and
//!   `enableDefaultDeny.ingress` not `false`. Specs with a `nodeSelector` select nodes and
//!   are skipped.
//! - Calico: a selector that selects every pod of the namespace (`all()`, or terms on
//!   `projectcalico.org/namespace` only, evaluated three-valued), `types` ⊇ Ingress
//!   (defaulted as Calico does), and no `Allow` ingress rule; for a GlobalNetworkPolicy its
//!   `namespaceSelector` must select the namespace too.
//!
//! A namespace with no running workload and no default-deny is not covered: nothing would
//! protect the pods it will run. The weaker figure, a namespace with any policy that can
//! select its pods (Kubescape C-0054), is reported beside it.

pub mod calico_selector;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use self::calico_selector::CalicoSelector;
use super::pod::ObjectMeta;
use super::rbac::nullable;
use crate::selector::{LabelSelector, Labels};

/// A Kubernetes NetworkPolicy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NetworkPolicyInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: NetworkPolicySpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// A `metav1.LabelSelector`; absent or `{}` selects every pod of the namespace.
    pub pod_selector: Option<serde_json::Value>,
    pub policy_types: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    pub ingress: Vec<serde::de::IgnoredAny>,
    #[serde(deserialize_with = "nullable")]
    pub egress: Vec<serde::de::IgnoredAny>,
}

/// A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy: one rule in `spec`, more in
/// `specs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CiliumPolicyInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    pub spec: Option<CiliumRule>,
    #[serde(deserialize_with = "nullable")]
    pub specs: Vec<CiliumRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CiliumRule {
    pub endpoint_selector: Option<serde_json::Value>,
    pub node_selector: Option<serde_json::Value>,
    pub ingress: Option<Vec<serde_json::Value>>,
    pub ingress_deny: Option<Vec<serde::de::IgnoredAny>>,
    pub egress: Option<Vec<serde::de::IgnoredAny>>,
    pub egress_deny: Option<Vec<serde::de::IgnoredAny>>,
    pub enable_default_deny: Option<CiliumDefaultDeny>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CiliumDefaultDeny {
    pub ingress: Option<bool>,
    pub egress: Option<bool>,
}

/// A Calico NetworkPolicy or GlobalNetworkPolicy (`crd.projectcalico.org/v1`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CalicoPolicyInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: CalicoPolicySpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalicoPolicySpec {
    #[serde(deserialize_with = "nullable")]
    pub selector: String,
    /// GlobalNetworkPolicy only.
    #[serde(deserialize_with = "nullable")]
    pub namespace_selector: String,
    pub types: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    pub ingress: Vec<CalicoRule>,
    #[serde(deserialize_with = "nullable")]
    pub egress: Vec<CalicoRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CalicoRule {
    #[serde(deserialize_with = "nullable")]
    pub action: String,
}

/// The cluster's policies of every engine.
#[derive(Debug, Clone, Copy)]
pub struct NetpolObjects<'a> {
    pub network_policies: &'a [NetworkPolicyInput],
    pub cilium_policies: &'a [CiliumPolicyInput],
    pub cilium_clusterwide_policies: &'a [CiliumPolicyInput],
    pub calico_policies: &'a [CalicoPolicyInput],
    pub calico_global_policies: &'a [CalicoPolicyInput],
}

/// A namespace's name and labels.
#[derive(Debug, Clone, Copy)]
pub struct NamespaceLabels<'a> {
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

/// A pod selector of one engine, compiled.
#[derive(Debug, Clone)]
enum PodSelector {
    /// NetworkPolicy or Cilium: a label selector over the pod's (or endpoint's) labels.
    Label {
        selector: LabelSelector,
        cilium: bool,
    },
    Calico(CalicoSelector),
}

/// A cluster-wide policy's selection.
#[derive(Debug, Clone)]
enum GlobalSelector {
    Cilium(LabelSelector),
    Calico {
        namespaces: CalicoSelector,
        pods: CalicoSelector,
    },
}

/// What each namespace's policies select, compiled once per evaluation.
#[derive(Debug, Clone, Default)]
pub struct NetpolIndex {
    by_namespace: BTreeMap<String, Vec<PodSelector>>,
    global: Vec<GlobalSelector>,
    /// Per namespace: the policy that denies ingress to all its pods, if one does.
    default_deny: BTreeMap<String, String>,
    /// Namespaces with any policy that can select their pods.
    any_policy: BTreeMap<String, bool>,
    /// Policies ignored because a selector did not parse (`Kind ns/name: reason`).
    pub errors: Vec<String>,
}

/// Cilium endpoint labels carry a source prefix (`k8s:app`); a selector key without one
/// matches any source. Keys of other sources (`reserved:`, `cidr:`) never match a pod.
fn cilium_key(key: &str) -> Option<&str> {
    match key.split_once(':') {
        None => Some(key),
        Some(("k8s" | "any", rest)) => Some(rest),
        Some(_) => None,
    }
}

const CILIUM_NAMESPACE: &str = "io.kubernetes.pod.namespace";
const CILIUM_NAMESPACE_LABELS: &str = "io.cilium.k8s.namespace.labels.";
const CALICO_NAMESPACE: &str = "projectcalico.org/namespace";
const CALICO_NAMESPACE_NAME: &str = "projectcalico.org/name";
const CALICO_ORCHESTRATOR: &str = "projectcalico.org/orchestrator";
const CALICO_NAMESPACE_LABELS: &str = "pcns.";

/// Rewrites a Cilium selector's keys without their source prefix so that the Kubernetes
/// selector parser accepts them; `None` if a key names a source that is not a pod label's.
fn cilium_selector(v: &serde_json::Value) -> Result<Option<LabelSelector>, String> {
    let mut v = v.clone();
    if let Some(labels) = v.get_mut("matchLabels").and_then(|m| m.as_object_mut()) {
        let mut out = serde_json::Map::new();
        for (k, val) in std::mem::take(labels) {
            let Some(k) = cilium_key(&k) else {
                return Ok(None);
            };
            out.insert(k.to_string(), val);
        }
        *labels = out;
    }
    if let Some(exprs) = v.get_mut("matchExpressions").and_then(|m| m.as_array_mut()) {
        for e in exprs {
            if let Some(key) = e.get_mut("key") {
                let Some(k) = key.as_str().map(|k| cilium_key(k).map(str::to_string)) else {
                    continue;
                };
                let Some(k) = k else { return Ok(None) };
                *key = serde_json::Value::String(k);
            }
        }
    }
    LabelSelector::from_label_selector_json(&v)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// An endpoint's labels as Cilium sees them: the pod's, its namespace and the namespace's
/// labels.
struct CiliumLabels<'a> {
    pod: &'a BTreeMap<String, String>,
    namespace: NamespaceLabels<'a>,
}

impl Labels for CiliumLabels<'_> {
    fn get_label(&self, key: &str) -> Option<&str> {
        if key == CILIUM_NAMESPACE {
            return Some(self.namespace.name);
        }
        if let Some(k) = key.strip_prefix(CILIUM_NAMESPACE_LABELS) {
            return self.namespace.labels.get(k).map(String::as_str);
        }
        self.pod.get(key).map(String::as_str)
    }
}

/// A workload endpoint's labels as Calico sees them (pod labels, its namespace, `pcns.`
/// namespace labels, the orchestrator).
fn calico_pod_label<'a>(
    key: &str,
    pod: Option<&'a BTreeMap<String, String>>,
    namespace: NamespaceLabels<'a>,
) -> Option<Option<&'a str>> {
    if key == CALICO_NAMESPACE {
        return Some(Some(namespace.name));
    }
    if key == CALICO_ORCHESTRATOR {
        return Some(Some("k8s"));
    }
    if let Some(k) = key.strip_prefix(CALICO_NAMESPACE_LABELS) {
        return Some(namespace.labels.get(k).map(String::as_str));
    }
    pod.map(|p| p.get(key).map(String::as_str))
}

fn calico_namespace_label<'a>(key: &str, namespace: NamespaceLabels<'a>) -> Option<&'a str> {
    if key == CALICO_NAMESPACE_NAME {
        return Some(namespace.name);
    }
    namespace.labels.get(key).map(String::as_str)
}

/// Whether a Cilium selector selects every endpoint of `namespace`: each requirement on a
/// namespace-derived key holds, and no requirement reads the pod's own labels.
fn cilium_selects_all(selector: &LabelSelector, namespace: NamespaceLabels<'_>) -> bool {
    let empty = BTreeMap::new();
    let labels = CiliumLabels {
        pod: &empty,
        namespace,
    };
    selector.requirements.iter().all(|r| {
        (r.key == CILIUM_NAMESPACE || r.key.starts_with(CILIUM_NAMESPACE_LABELS))
            && r.matches(&labels)
    })
}

fn calico_types_include_ingress(spec: &CalicoPolicySpec) -> bool {
    match &spec.types {
        Some(types) => types.iter().any(|t| t == "Ingress"),
        // Calico: Ingress unless there are egress rules and no ingress rules.
        None => spec.egress.is_empty() || !spec.ingress.is_empty(),
    }
}

fn calico_denies_ingress(spec: &CalicoPolicySpec) -> bool {
    calico_types_include_ingress(spec) && !spec.ingress.iter().any(|r| r.action == "Allow")
}

fn cilium_denies_ingress(rule: &CiliumRule) -> bool {
    let enabled = rule.enable_default_deny.and_then(|d| d.ingress) != Some(false);
    let ingress = rule.ingress.as_deref().unwrap_or_default();
    let deny = rule.ingress_deny.as_deref().unwrap_or_default();
    let allows_nothing = ingress
        .iter()
        .all(|r| r.as_object().is_some_and(serde_json::Map::is_empty));
    enabled && (!ingress.is_empty() || !deny.is_empty()) && allows_nothing
}

fn cilium_rules(p: &CiliumPolicyInput) -> impl Iterator<Item = &CiliumRule> {
    p.spec
        .iter()
        .chain(p.specs.iter())
        .filter(|r| r.node_selector.is_none())
}

impl NetpolIndex {
    /// Compiles every policy's selectors and finds each namespace's default-deny.
    pub fn new(objects: NetpolObjects<'_>, namespaces: &[NamespaceLabels<'_>]) -> NetpolIndex {
        let by_name: FxHashMap<&str, NamespaceLabels<'_>> =
            namespaces.iter().map(|n| (n.name, *n)).collect();
        let mut index = NetpolIndex::default();
        let deny = |index: &mut NetpolIndex, ns: &str, policy: String| {
            index.default_deny.entry(ns.to_string()).or_insert(policy);
        };
        for p in objects.network_policies {
            let ns = &p.metadata.namespace;
            let everything = serde_json::Value::Object(serde_json::Map::new());
            let sel_json = p.spec.pod_selector.as_ref().unwrap_or(&everything);
            match LabelSelector::from_label_selector_json(sel_json) {
                Ok(selector) => {
                    let ingress_type = match &p.spec.policy_types {
                        Some(types) => types.iter().any(|t| t == "Ingress"),
                        None => true,
                    };
                    if selector.is_everything() && ingress_type && p.spec.ingress.is_empty() {
                        deny(&mut index, ns, format!("NetworkPolicy/{}", p.metadata.name));
                    }
                    index.add(
                        ns,
                        PodSelector::Label {
                            selector,
                            cilium: false,
                        },
                    );
                }
                Err(e) => index.error("NetworkPolicy", &p.metadata, &e.to_string()),
            }
        }
        for p in objects.cilium_policies {
            let ns = &p.metadata.namespace;
            for rule in cilium_rules(p) {
                let everything = serde_json::Value::Object(serde_json::Map::new());
                let json = rule.endpoint_selector.as_ref().unwrap_or(&everything);
                match cilium_selector(json) {
                    Ok(Some(selector)) => {
                        let all = by_name
                            .get(ns.as_str())
                            .is_some_and(|n| cilium_selects_all(&selector, *n));
                        if all && cilium_denies_ingress(rule) {
                            deny(
                                &mut index,
                                ns,
                                format!("CiliumNetworkPolicy/{}", p.metadata.name),
                            );
                        }
                        index.add(
                            ns,
                            PodSelector::Label {
                                selector,
                                cilium: true,
                            },
                        );
                    }
                    Ok(None) => {}
                    Err(e) => index.error("CiliumNetworkPolicy", &p.metadata, &e),
                }
            }
        }
        for p in objects.calico_policies {
            let ns = &p.metadata.namespace;
            match CalicoSelector::parse(&p.spec.selector) {
                Ok(selector) => {
                    let all = by_name.get(ns.as_str()).is_some_and(|n| {
                        selector.eval_partial(&|k| calico_pod_label(k, None, *n)) == Some(true)
                    });
                    if all && calico_denies_ingress(&p.spec) {
                        deny(
                            &mut index,
                            ns,
                            format!("Calico NetworkPolicy/{}", p.metadata.name),
                        );
                    }
                    index.add(ns, PodSelector::Calico(selector));
                }
                Err(e) => index.error("Calico NetworkPolicy", &p.metadata, &e.to_string()),
            }
        }
        for p in objects.cilium_clusterwide_policies {
            for rule in cilium_rules(p) {
                let everything = serde_json::Value::Object(serde_json::Map::new());
                let json = rule.endpoint_selector.as_ref().unwrap_or(&everything);
                match cilium_selector(json) {
                    Ok(Some(selector)) => {
                        for n in namespaces {
                            if cilium_selects_all(&selector, *n) {
                                index.any_policy.insert(n.name.to_string(), true);
                                if cilium_denies_ingress(rule) {
                                    deny(
                                        &mut index,
                                        n.name,
                                        format!(
                                            "CiliumClusterwideNetworkPolicy/{}",
                                            p.metadata.name
                                        ),
                                    );
                                }
                            }
                        }
                        index.global.push(GlobalSelector::Cilium(selector));
                    }
                    Ok(None) => {}
                    Err(e) => index.error("CiliumClusterwideNetworkPolicy", &p.metadata, &e),
                }
            }
        }
        for p in objects.calico_global_policies {
            let parsed = CalicoSelector::parse(&p.spec.namespace_selector)
                .and_then(|ns| Ok((ns, CalicoSelector::parse(&p.spec.selector)?)));
            match parsed {
                Ok((ns_sel, pod_sel)) => {
                    for n in namespaces {
                        let in_ns = ns_sel.matches(&|k| calico_namespace_label(k, *n));
                        let all = in_ns
                            && pod_sel.eval_partial(&|k| calico_pod_label(k, None, *n))
                                == Some(true);
                        if all {
                            index.any_policy.insert(n.name.to_string(), true);
                            if calico_denies_ingress(&p.spec) {
                                deny(
                                    &mut index,
                                    n.name,
                                    format!("Calico GlobalNetworkPolicy/{}", p.metadata.name),
                                );
                            }
                        }
                    }
                    index.global.push(GlobalSelector::Calico {
                        namespaces: ns_sel,
                        pods: pod_sel,
                    });
                }
                Err(e) => index.error("Calico GlobalNetworkPolicy", &p.metadata, &e.to_string()),
            }
        }
        index
    }

    fn add(&mut self, namespace: &str, selector: PodSelector) {
        self.any_policy.insert(namespace.to_string(), true);
        self.by_namespace
            .entry(namespace.to_string())
            .or_default()
            .push(selector);
    }

    fn error(&mut self, kind: &str, meta: &ObjectMeta, reason: &str) {
        self.errors
            .push(format!("{kind} {}/{}: {reason}", meta.namespace, meta.name));
    }

    /// The policy that denies ingress to every pod of `namespace`, if one does.
    pub fn default_deny(&self, namespace: &str) -> Option<&str> {
        self.default_deny.get(namespace).map(String::as_str)
    }

    /// Whether any policy can select pods of `namespace` (Kubescape C-0054).
    pub fn has_any_policy(&self, namespace: &str) -> bool {
        self.any_policy.get(namespace).copied().unwrap_or(false)
    }

    /// Whether some policy selects pods with `labels` in `namespace` (Kubescape C-0260).
    pub fn selects(
        &self,
        namespace: NamespaceLabels<'_>,
        labels: &BTreeMap<String, String>,
    ) -> bool {
        let cilium = CiliumLabels {
            pod: labels,
            namespace,
        };
        let local = self
            .by_namespace
            .get(namespace.name)
            .into_iter()
            .flatten()
            .any(|s| match s {
                PodSelector::Label {
                    selector,
                    cilium: false,
                } => selector.matches(labels),
                PodSelector::Label {
                    selector,
                    cilium: true,
                } => selector.matches(&cilium),
                PodSelector::Calico(sel) => {
                    sel.eval_partial(&|k| calico_pod_label(k, Some(labels), namespace))
                        == Some(true)
                }
            });
        local
            || self.global.iter().any(|g| match g {
                GlobalSelector::Cilium(selector) => selector.matches(&cilium),
                GlobalSelector::Calico { namespaces, pods } => {
                    namespaces.matches(&|k| calico_namespace_label(k, namespace))
                        && pods.eval_partial(&|k| calico_pod_label(k, Some(labels), namespace))
                            == Some(true)
                }
            })
    }
}

#[cfg(test)]
mod tests;
