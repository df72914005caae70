#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;

/// The policies of one test, by engine.
#[derive(Default)]
struct Policies {
    np: Vec<Value>,
    cnp: Vec<Value>,
    ccnp: Vec<Value>,
    calico: Vec<Value>,
    gnp: Vec<Value>,
}

fn parse<T: serde::de::DeserializeOwned>(v: &[Value]) -> Vec<T> {
    v.iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect()
}

fn labels(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Namespaces `shop` (team=shop) and `kube-system` (no labels). Checks the default-deny of
/// `shop`, whether a pod with `pod_labels` in `shop` is selected, and the any-policy figure.
fn check(what: &str, p: Policies, deny: Option<&str>, pod_labels: &str, selected: bool, any: bool) {
    let (np, cnp, ccnp, calico, gnp) = (
        parse::<NetworkPolicyInput>(&p.np),
        parse::<CiliumPolicyInput>(&p.cnp),
        parse::<CiliumPolicyInput>(&p.ccnp),
        parse::<CalicoPolicyInput>(&p.calico),
        parse::<CalicoPolicyInput>(&p.gnp),
    );
    let shop_labels = labels("team=shop,kubernetes.io/metadata.name=shop");
    let sys_labels = labels("kubernetes.io/metadata.name=kube-system");
    let shop = NamespaceLabels {
        name: "shop",
        labels: &shop_labels,
    };
    let namespaces = [
        shop,
        NamespaceLabels {
            name: "kube-system",
            labels: &sys_labels,
        },
    ];
    let index = NetpolIndex::new(
        NetpolObjects {
            network_policies: &np,
            cilium_policies: &cnp,
            cilium_clusterwide_policies: &ccnp,
            calico_policies: &calico,
            calico_global_policies: &gnp,
        },
        &namespaces,
    );
    assert!(index.errors.is_empty(), "{what}: {:?}", index.errors);
    assert_eq!(index.default_deny("shop"), deny, "{what}: default deny");
    assert_eq!(
        index.selects(shop, &labels(pod_labels)),
        selected,
        "{what}: selects {pod_labels}"
    );
    assert_eq!(index.has_any_policy("shop"), any, "{what}: any policy");
}

fn np(name: &str, spec: Value) -> Value {
    json!({"metadata": {"name": name, "namespace": "shop"}, "spec": spec})
}

fn global(name: &str, spec: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": spec})
}

#[test]
fn kubernetes_network_policies() {
    let one = |v| Policies {
        np: vec![v],
        ..Policies::default()
    };
    check(
        "no policy",
        Policies::default(),
        None,
        "app=web",
        false,
        false,
    );
    check(
        "default deny",
        one(np(
            "deny",
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
        )),
        Some("NetworkPolicy/deny"),
        "app=web",
        true,
        true,
    );
    check(
        "policyTypes defaulted to Ingress",
        one(np("deny", json!({"podSelector": {}}))),
        Some("NetworkPolicy/deny"),
        "",
        true,
        true,
    );
    check(
        "egress-only deny is not an ingress default deny",
        one(np(
            "deny",
            json!({"podSelector": {}, "policyTypes": ["Egress"]}),
        )),
        None,
        "app=web",
        true,
        true,
    );
    check(
        "allow-all ingress rule",
        one(np(
            "allow",
            json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}),
        )),
        None,
        "app=web",
        true,
        true,
    );
    check(
        "selects by label",
        one(np(
            "web",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"podSelector": {}}]}]}),
        )),
        None,
        "app=web,pod-template-hash=x",
        true,
        true,
    );
    check(
        "does not select other labels",
        one(np(
            "web",
            json!({"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}}),
        )),
        None,
        "app=db",
        false,
        true,
    );
    // A policy in another namespace is not this namespace's.
    let mut other = np("deny", json!({"podSelector": {}}));
    other["metadata"]["namespace"] = json!("kube-system");
    check("other namespace", one(other), None, "", false, false);
}

#[test]
fn cilium_policies() {
    let cnp = |v| Policies {
        cnp: vec![v],
        ..Policies::default()
    };
    let ccnp = |v| Policies {
        ccnp: vec![v],
        ..Policies::default()
    };
    check(
        "documented deny-all",
        cnp(np("deny", json!({"endpointSelector": {}, "ingress": [{}]}))),
        Some("CiliumNetworkPolicy/deny"),
        "app=web",
        true,
        true,
    );
    check(
        "ingressDeny section",
        cnp(np(
            "deny",
            json!({"endpointSelector": {}, "ingressDeny": [{"fromEntities": ["world"]}]}),
        )),
        Some("CiliumNetworkPolicy/deny"),
        "",
        true,
        true,
    );
    check(
        "default deny disabled",
        cnp(np(
            "d",
            json!({"endpointSelector": {}, "ingress": [{}], "enableDefaultDeny": {"ingress": false}}),
        )),
        None,
        "",
        true,
        true,
    );
    check(
        "allow rule",
        cnp(np(
            "a",
            json!({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}]}),
        )),
        None,
        "",
        true,
        true,
    );
    check(
        "egress only",
        cnp(np("e", json!({"endpointSelector": {}, "egress": [{}]}))),
        None,
        "",
        true,
        true,
    );
    check(
        "k8s: prefixed keys in specs",
        cnp(np(
            "s",
            json!({"specs": [
                {"endpointSelector": {"matchLabels": {"k8s:app": "web"}}, "ingress": [{}]},
                {"nodeSelector": {}, "ingress": [{}]}
            ]}),
        )),
        None,
        "app=web",
        true,
        true,
    );
    check(
        "reserved source selects no pod",
        cnp(np(
            "h",
            json!({"endpointSelector": {"matchLabels": {"reserved:host": ""}}, "ingress": [{}]}),
        )),
        None,
        "",
        false,
        false,
    );
    check(
        "clusterwide deny-all",
        ccnp(global(
            "deny",
            json!({"endpointSelector": {}, "ingress": [{}]}),
        )),
        Some("CiliumClusterwideNetworkPolicy/deny"),
        "app=x",
        true,
        true,
    );
    check(
        "clusterwide by namespace label",
        ccnp(global(
            "deny",
            json!({"endpointSelector": {"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "shop"}}, "ingress": [{}]}),
        )),
        Some("CiliumClusterwideNetworkPolicy/deny"),
        "",
        true,
        true,
    );
    check(
        "clusterwide for another namespace",
        ccnp(global(
            "deny",
            json!({"endpointSelector": {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system"}}, "ingress": [{}]}),
        )),
        None,
        "",
        false,
        false,
    );
    check(
        "clusterwide on pod labels selects some pods only",
        ccnp(global(
            "web",
            json!({"endpointSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}),
        )),
        None,
        "app=web",
        true,
        false,
    );
}

#[test]
fn calico_policies() {
    let calico = |v| Policies {
        calico: vec![v],
        ..Policies::default()
    };
    let gnp = |v| Policies {
        gnp: vec![v],
        ..Policies::default()
    };
    check(
        "all() ingress",
        calico(np(
            "deny",
            json!({"selector": "all()", "types": ["Ingress", "Egress"]}),
        )),
        Some("Calico NetworkPolicy/deny"),
        "",
        true,
        true,
    );
    check(
        "types defaulted to Ingress, empty selector",
        calico(np("deny", json!({}))),
        Some("Calico NetworkPolicy/deny"),
        "",
        true,
        true,
    );
    check(
        "types defaulted to Egress only",
        calico(np(
            "e",
            json!({"selector": "all()", "egress": [{"action": "Deny"}]}),
        )),
        None,
        "",
        true,
        true,
    );
    check(
        "allow rule",
        calico(np(
            "a",
            json!({"selector": "all()", "ingress": [{"action": "Allow"}]}),
        )),
        None,
        "",
        true,
        true,
    );
    check(
        "deny rules only",
        calico(np(
            "d",
            json!({"selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Deny"}]}),
        )),
        Some("Calico NetworkPolicy/d"),
        "",
        true,
        true,
    );
    check(
        "selector on labels",
        calico(np("w", json!({"selector": "app == 'web' && !has(debug)"}))),
        None,
        "app=web",
        true,
        true,
    );
    check(
        "selector not matching",
        calico(np("w", json!({"selector": "app in {'db'}"}))),
        None,
        "app=web",
        false,
        true,
    );
    check(
        "global default deny outside system namespaces",
        gnp(global(
            "deny",
            json!({"namespaceSelector": "kubernetes.io/metadata.name not in {'kube-system', 'calico-system'}", "types": ["Ingress", "Egress"]}),
        )),
        Some("Calico GlobalNetworkPolicy/deny"),
        "",
        true,
        true,
    );
    check(
        "global by projectcalico.org/namespace",
        gnp(global(
            "deny",
            json!({"selector": "projectcalico.org/namespace == 'shop'", "types": ["Ingress"]}),
        )),
        Some("Calico GlobalNetworkPolicy/deny"),
        "",
        true,
        true,
    );
    check(
        "global for system namespaces only",
        gnp(global(
            "sys",
            json!({"namespaceSelector": "projectcalico.org/name == 'kube-system'", "selector": "all()"}),
        )),
        None,
        "",
        false,
        false,
    );
    check(
        "global on pod labels",
        gnp(global(
            "web",
            json!({"selector": "app == 'web'", "ingress": [{"action": "Allow"}]}),
        )),
        None,
        "app=web",
        true,
        false,
    );
}

#[test]
fn bad_selectors_are_reported_and_ignored() {
    let calico: Vec<CalicoPolicyInput> = parse(&[np("bad", json!({"selector": "app = 'x'"}))]);
    let np_bad: Vec<NetworkPolicyInput> = parse(&[np(
        "bad",
        json!({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Sometimes"}]}}),
    )]);
    let l = BTreeMap::new();
    let index = NetpolIndex::new(
        NetpolObjects {
            network_policies: &np_bad,
            cilium_policies: &[],
            cilium_clusterwide_policies: &[],
            calico_policies: &calico,
            calico_global_policies: &[],
        },
        &[NamespaceLabels {
            name: "shop",
            labels: &l,
        }],
    );
    assert_eq!(index.errors.len(), 2, "{:?}", index.errors);
    assert!(index.errors[1].contains("position 4"), "{:?}", index.errors);
    assert_eq!(index.default_deny("shop"), None);
    assert!(!index.has_any_policy("shop"));
}
