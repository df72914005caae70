//! RBAC: cluster roles and bindings, and each team namespace's roles, bindings and CI
//! service account.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Emitter;
use super::namespaces::NsPlan;
use crate::objects as o;

/// The bootstrap cluster roles and the bindings a managed cluster ships with, plus the
/// platform team's own (one of them a person holding cluster-admin).
pub(super) fn emit_cluster_rbac(e: &mut Emitter<'_>, rng: &mut SimRng, t: Timestamp) {
    let rule = o::policy_rule;
    let all = vec![
        rule(&["*"], &["*"], &["*"]),
        json!({"nonResourceURLs": ["*"], "verbs": ["*"]}),
    ];
    let read = ["get", "list", "watch"];
    let write = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let core = [
        "pods",
        "services",
        "configmaps",
        "persistentvolumeclaims",
        "serviceaccounts",
        "endpoints",
    ];
    let apps = ["deployments", "replicasets", "statefulsets", "daemonsets"];
    let roles: Vec<(&str, Vec<Value>)> = vec![
        ("cluster-admin", all),
        (
            "admin",
            vec![
                rule(&[""], &core, &write),
                rule(&["apps"], &apps, &write),
                rule(
                    &["rbac.authorization.k8s.io"],
                    &["roles", "rolebindings"],
                    &write,
                ),
            ],
        ),
        (
            "edit",
            vec![
                rule(&[""], &core, &write),
                rule(&["apps"], &apps, &write),
                rule(&["policy"], &["poddisruptionbudgets"], &write),
            ],
        ),
        (
            "view",
            vec![rule(&[""], &core, &read), rule(&["apps"], &apps, &read)],
        ),
        (
            "system:coredns",
            vec![
                rule(
                    &[""],
                    &["endpoints", "services", "pods", "namespaces"],
                    &["list", "watch"],
                ),
                rule(
                    &["discovery.k8s.io"],
                    &["endpointslices"],
                    &["list", "watch"],
                ),
            ],
        ),
        (
            "system:metrics-server",
            vec![
                rule(&[""], &["nodes/metrics"], &["get"]),
                rule(&[""], &["pods", "nodes"], &read),
            ],
        ),
        (
            "system:node-proxier",
            vec![
                rule(&[""], &["endpoints", "services", "nodes"], &read),
                rule(&["discovery.k8s.io"], &["endpointslices"], &read),
            ],
        ),
    ];
    for (name, rules) in roles {
        let mut r = o::cluster_role(name, rules, rng, t);
        if !name.contains(':') || name == "system:node-proxier" {
            r["metadata"]["labels"] = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
            r["metadata"]["annotations"] =
                json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
        }
        e.emit("rbac.authorization.k8s.io", "clusterroles", r);
    }
    let sa = |name: &str| o::subject("ServiceAccount", name, Some("kube-system"));
    let bindings: Vec<(&str, &str, Vec<Value>)> = vec![
        (
            "cluster-admin",
            "cluster-admin",
            vec![o::subject("Group", "system:masters", None)],
        ),
        ("system:coredns", "system:coredns", vec![sa("coredns")]),
        (
            "system:metrics-server",
            "system:metrics-server",
            vec![sa("metrics-server")],
        ),
        (
            "system:node-proxier",
            "system:node-proxier",
            vec![sa("kube-proxy")],
        ),
        (
            "platform-team-view",
            "view",
            vec![o::subject("Group", "platform-team", None)],
        ),
        (
            "sre-oncall-edit",
            "edit",
            vec![o::subject("Group", "sre-oncall", None)],
        ),
        // The posture finding every audit hopes not to find: a person holding cluster-admin.
        (
            "debug-cluster-admin",
            "cluster-admin",
            vec![o::subject("User", "jane.doe@example.com", None)],
        ),
    ];
    for (name, role, subjects) in bindings {
        e.emit(
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            o::cluster_role_binding(name, role, subjects, rng, t),
        );
    }
}

/// A team namespace's access: a developer role bound to the team's group, and a CI service
/// account bound to `edit`.
pub(super) fn emit_team_rbac(ns: &NsPlan, e: &mut Emitter<'_>, rng: &mut SimRng, t: Timestamp) {
    let rules = vec![
        o::policy_rule(
            &[""],
            &["pods", "pods/log", "services", "configmaps", "events"],
            &["get", "list", "watch"],
        ),
        o::policy_rule(
            &["apps"],
            &["deployments", "replicasets", "statefulsets"],
            &["get", "list", "watch", "patch"],
        ),
        o::policy_rule(&[""], &["pods/portforward", "pods/exec"], &["create"]),
    ];
    let role_name = format!("{}-developer", ns.team);
    e.emit(
        "rbac.authorization.k8s.io",
        "roles",
        o::role(&ns.name, &role_name, rules, rng, t),
    );
    let group = format!("{}-developers", ns.team);
    let devs = vec![o::subject("Group", &group, None)];
    e.emit(
        "rbac.authorization.k8s.io",
        "rolebindings",
        o::role_binding(&ns.name, &group, "Role", &role_name, devs, rng, t),
    );
    e.emit(
        "",
        "serviceaccounts",
        o::service_account(&ns.name, "ci-deployer", rng, t),
    );
    let ci = vec![o::subject("ServiceAccount", "ci-deployer", Some(&ns.name))];
    e.emit(
        "rbac.authorization.k8s.io",
        "rolebindings",
        o::role_binding(
            &ns.name,
            "ci-deployer-edit",
            "ClusterRole",
            "edit",
            ci,
            rng,
            t,
        ),
    );
}
