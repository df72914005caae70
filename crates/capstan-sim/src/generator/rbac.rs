//! RBAC: cluster roles and bindings, and each team namespace's roles, bindings and CI
//! service account.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Emitter;
use super::namespaces::NsPlan;
use super::posture::RbacRisks;
use crate::objects as o;

/// The bootstrap cluster roles and the bindings a managed cluster ships with, plus the
/// platform team's own (on a risky cluster, one of them a person holding cluster-admin).
pub(super) fn emit_cluster_rbac(
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    t: Timestamp,
    risks: &RbacRisks,
) {
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
        // Built on every cluster so that the stream's later draws (service accounts, config
        // maps) stay those of the seed; emitted only where the posture has it.
        let binding = o::cluster_role_binding(name, role, subjects, rng, t);
        if name != "debug-cluster-admin" || risks.cluster_admin_user {
            e.emit("rbac.authorization.k8s.io", "clusterrolebindings", binding);
        }
    }
}

/// A team namespace's access: a developer role bound to the team's group (with `pods/exec`
/// and `pods/portforward` when `developer_exec`), and a CI service account bound to `edit`.
pub(super) fn emit_team_rbac(
    ns: &NsPlan,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    t: Timestamp,
    developer_exec: bool,
) {
    let mut rules = vec![
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
    ];
    if developer_exec {
        rules.push(o::policy_rule(
            &[""],
            &["pods/portforward", "pods/exec"],
            &["create"],
        ));
    }
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

/// kube-controller-manager's per-controller roles as the bootstrap policy defines them
/// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): some hold wildcard resources, which
/// checks must recognise as `system:` roles bound to kube-system service accounts.
fn controller_roles() -> Vec<(&'static str, Vec<Value>)> {
    let rule = o::policy_rule;
    vec![
        (
            "namespace-controller",
            vec![
                rule(&[""], &["namespaces"], &["delete", "get", "list", "watch"]),
                rule(
                    &["*"],
                    &["*"],
                    &["delete", "deletecollection", "get", "list"],
                ),
            ],
        ),
        (
            "generic-garbage-collector",
            vec![rule(
                &["*"],
                &["*"],
                &["delete", "get", "list", "patch", "update", "watch"],
            )],
        ),
        (
            "replicaset-controller",
            vec![
                rule(
                    &["apps"],
                    &["replicasets"],
                    &["get", "list", "update", "watch"],
                ),
                rule(
                    &[""],
                    &["pods"],
                    &["create", "delete", "list", "patch", "watch"],
                ),
            ],
        ),
        (
            "deployment-controller",
            vec![
                rule(
                    &["apps"],
                    &["deployments"],
                    &["get", "list", "update", "watch"],
                ),
                rule(
                    &["apps"],
                    &["replicasets"],
                    &[
                        "create", "delete", "get", "list", "patch", "update", "watch",
                    ],
                ),
            ],
        ),
    ]
}

/// What the posture adds to RBAC, from its own stream: the controller roles every cluster
/// has, and on risky clusters the findings an audit looks for.
pub(super) fn emit_posture_rbac(
    plan: &[NsPlan],
    risks: &RbacRisks,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    t: Timestamp,
) {
    const RBAC: &str = "rbac.authorization.k8s.io";
    for (controller, rules) in controller_roles() {
        e.emit(
            "",
            "serviceaccounts",
            o::service_account("kube-system", controller, rng, t),
        );
        let name = format!("system:controller:{controller}");
        let mut r = o::cluster_role(&name, rules, rng, t);
        r["metadata"]["labels"] = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
        r["metadata"]["annotations"] =
            json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
        e.emit(RBAC, "clusterroles", r);
        let sa = vec![o::subject(
            "ServiceAccount",
            controller,
            Some("kube-system"),
        )];
        let mut b = o::cluster_role_binding(&name, &name, sa, rng, t);
        b["metadata"]["labels"] = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
        e.emit(RBAC, "clusterrolebindings", b);
    }
    let everything = || vec![o::policy_rule(&["*"], &["*"], &["*"])];
    if risks.wildcard_roles {
        // A vendor operator installed with a catch-all role, and a team's namespace admin.
        e.emit(
            RBAC,
            "clusterroles",
            o::cluster_role("legacy-operator", everything(), rng, t),
        );
        e.emit(
            "",
            "serviceaccounts",
            o::service_account("default", "legacy-operator", rng, t),
        );
        let sa = vec![o::subject(
            "ServiceAccount",
            "legacy-operator",
            Some("default"),
        )];
        e.emit(
            RBAC,
            "clusterrolebindings",
            o::cluster_role_binding("legacy-operator", "legacy-operator", sa, rng, t),
        );
        if let Some(ns) = plan.iter().find(|n| n.team != "platform") {
            let name = format!("{}-namespace-admin", ns.team);
            e.emit(
                RBAC,
                "roles",
                o::role(&ns.name, &name, everything(), rng, t),
            );
            let leads = vec![o::subject("Group", &format!("{}-leads", ns.team), None)];
            e.emit(
                RBAC,
                "rolebindings",
                o::role_binding(&ns.name, &name, "Role", &name, leads, rng, t),
            );
        }
    }
    if risks.ci_reads_secrets {
        for ns in plan.iter().filter(|n| n.team != "platform") {
            if !rng.chance(0.5) {
                continue;
            }
            let rules = vec![o::policy_rule(&[""], &["secrets"], &["get", "list"])];
            e.emit(
                RBAC,
                "roles",
                o::role(&ns.name, "ci-secrets-reader", rules, rng, t),
            );
            let ci = vec![o::subject("ServiceAccount", "ci-deployer", Some(&ns.name))];
            e.emit(
                RBAC,
                "rolebindings",
                o::role_binding(
                    &ns.name,
                    "ci-deployer-secrets",
                    "Role",
                    "ci-secrets-reader",
                    ci,
                    rng,
                    t,
                ),
            );
        }
    }
    if risks.escalate_bind_impersonate {
        let rbac_manager = vec![o::policy_rule(
            &[RBAC],
            &[
                "roles",
                "clusterroles",
                "rolebindings",
                "clusterrolebindings",
            ],
            &["bind", "escalate", "create", "update", "get", "list"],
        )];
        let impersonate = vec![o::policy_rule(
            &[""],
            &["users", "groups", "serviceaccounts"],
            &["impersonate"],
        )];
        for (name, rules, subject) in [
            (
                "rbac-manager",
                rbac_manager,
                o::subject("ServiceAccount", "rbac-manager", Some("kube-system")),
            ),
            (
                "support-impersonator",
                impersonate,
                o::subject("Group", "support-engineers", None),
            ),
        ] {
            if name == "rbac-manager" {
                e.emit(
                    "",
                    "serviceaccounts",
                    o::service_account("kube-system", name, rng, t),
                );
            }
            e.emit(RBAC, "clusterroles", o::cluster_role(name, rules, rng, t));
            e.emit(
                RBAC,
                "clusterrolebindings",
                o::cluster_role_binding(name, name, vec![subject], rng, t),
            );
        }
    }
}
