#![allow(clippy::unwrap_used)]

use super::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-01-01T12:00:00Z";

/// A pod described in one line: `ns/name phase [ready] [ds|rs|none|orphan-ds] [emptydir]
/// [mirror] [deleted=<secs ago>] [app=<label>]`.
fn pod(spec: &str) -> DrainPod {
    let mut words = spec.split_whitespace();
    let (ns, name) = words.next().unwrap().split_once('/').unwrap();
    let mut p = DrainPod {
        namespace: ns.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        phase: words.next().unwrap().into(),
        ready: false,
        controller: Some(ControllerRef {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web-1".into(),
        }),
        mirror: false,
        has_emptydir: false,
        deletion_timestamp: None,
        labels: Default::default(),
        grace_period_seconds: Some(30),
    };
    for w in words {
        match w {
            "ready" => p.ready = true,
            "ds" => {
                p.controller = Some(ControllerRef {
                    api_version: "apps/v1".into(),
                    kind: "DaemonSet".into(),
                    name: "agent".into(),
                })
            }
            "none" => p.controller = None,
            "emptydir" => p.has_emptydir = true,
            "mirror" => p.mirror = true,
            w if w.starts_with("deleted=") => {
                let secs: i64 = w["deleted=".len()..].parse().unwrap();
                p.deletion_timestamp = Some(t(NOW) - jiff::SignedDuration::from_secs(secs));
            }
            w if w.starts_with("app=") => {
                p.labels.insert("app".into(), w["app=".len()..].into());
            }
            other => panic!("unknown pod word {other}"),
        }
    }
    p
}

/// Options from kubectl-like flags.
fn options(flags: &str) -> DrainOptions {
    let mut o = DrainOptions::default();
    for f in flags.split_whitespace() {
        match f {
            "--force" => o.force = true,
            "--ignore-daemonsets" => o.ignore_daemonsets = true,
            "--delete-emptydir-data" => o.delete_emptydir_data = true,
            "--skip-wait-for-delete-timeout=60" => {
                o.skip_wait_for_delete_timeout = Some(Duration::from_secs(60))
            }
            f if f.starts_with("--pod-selector=") => {
                o.pod_selector = Some(LabelSelector::parse(&f["--pod-selector=".len()..]).unwrap())
            }
            other => panic!("unknown flag {other}"),
        }
    }
    o
}

/// Plan a drain of `pods` with `flags` (the DaemonSet exists unless `orphan` is in flags) and
/// compare the result, one line per group, with `expected`.
fn check(pods: &[&str], flags: &str, expected: &str) {
    let orphan = flags.contains("orphan");
    let flags = flags.replace("orphan", "");
    let plan = plan_drain(
        pods.iter().map(|s| pod(s)).collect(),
        &options(&flags),
        |p| {
            (p.controller.as_ref()?.kind == "DaemonSet").then_some(if orphan {
                DaemonSetLookup::NotFound
            } else {
                DaemonSetLookup::Exists
            })
        },
        t(NOW),
    );
    let mut got = Vec::new();
    let keys = |ps: &[DrainPod]| ps.iter().map(DrainPod::key).collect::<Vec<_>>().join(" ");
    if !plan.to_delete.is_empty() {
        got.push(format!("delete: {}", keys(&plan.to_delete)));
    }
    if !plan.skipped.is_empty() {
        got.push(format!("skip: {}", keys(&plan.skipped)));
    }
    got.extend(plan.warnings.iter().map(|w| format!("warning: {w}")));
    got.extend(plan.errors.iter().map(|e| format!("error: {e}")));
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(got, expected, "pods {pods:?} flags {flags:?}");
}

#[test]
fn replicated_pods_are_evicted_without_warnings() {
    check(
        &["a/web Running ready", "a/done Succeeded none"],
        "",
        "delete: a/web a/done",
    );
}

#[test]
fn daemonset_pods_refuse_without_the_flag_and_are_skipped_with_it() {
    check(
        &["a/web Running ready", "kube-system/agent Running ds"],
        "",
        // The plan still lists what would go; the errors forbid acting on any of it.
        "delete: a/web
         error: cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/agent",
    );
    check(
        &["a/web Running ready", "kube-system/agent Running ds"],
        "--ignore-daemonsets",
        "delete: a/web
         skip: kube-system/agent
         warning: ignoring DaemonSet-managed Pods: kube-system/agent",
    );
}

#[test]
fn orphaned_daemonset_pods_need_force() {
    check(
        &["kube-system/agent Running ds"],
        "orphan",
        r#"error: cannot delete daemonsets.apps "agent" not found: kube-system/agent"#,
    );
    check(
        &["kube-system/agent Running ds"],
        "--force orphan",
        r#"delete: kube-system/agent
           warning: daemonsets.apps "agent" not found: kube-system/agent"#,
    );
}

#[test]
fn terminal_daemonset_pods_are_deleted() {
    check(
        &["kube-system/old Failed ds"],
        "",
        "delete: kube-system/old",
    );
}

#[test]
fn mirror_pods_are_skipped_silently() {
    check(
        &["kube-system/etcd Running none mirror"],
        "",
        "skip: kube-system/etcd",
    );
}

#[test]
fn local_storage_and_unmanaged_pods() {
    check(
        &["a/cache Running emptydir", "a/bare Running none"],
        "",
        "error: cannot delete Pods that declare no controller (use --force to override): a/bare
         error: cannot delete Pods with local storage (use --delete-emptydir-data to override): a/cache",
    );
    check(
        &["a/cache Running emptydir", "a/bare Running none emptydir"],
        "--force --delete-emptydir-data",
        "delete: a/cache a/bare
         warning: deleting Pods with local storage: a/cache
         warning: deleting Pods with local storage, deleting Pods that declare no controller: a/bare",
    );
}

#[test]
fn pod_selector_limits_what_is_considered() {
    check(
        &["a/web Running app=web", "a/bare Running none app=db"],
        "--pod-selector=app=web",
        "delete: a/web",
    );
}

#[test]
fn long_deleted_pods_are_skipped_with_skip_wait() {
    check(
        &["a/stuck Running deleted=120", "a/recent Running deleted=10"],
        "--skip-wait-for-delete-timeout=60",
        "delete: a/recent
         skip: a/stuck",
    );
}

fn pdb(name: &str, app: &str, allowed: i32, desired: i32, current: i32) -> PdbState {
    PdbState {
        namespace: "a".into(),
        name: name.into(),
        selector: Some(LabelSelector::parse(&format!("app={app}")).unwrap()),
        disruptions_allowed: allowed,
        desired_healthy: desired,
        current_healthy: current,
        generation: 1,
        observed_generation: 1,
        always_allow_unhealthy: false,
    }
}

fn blockers(pods: &[&str], pdbs: &[PdbState]) -> Vec<String> {
    let pods: Vec<DrainPod> = pods.iter().map(|s| pod(s)).collect();
    predict_blockers(&pods, pdbs)
        .into_iter()
        .map(|b| format!("{} by {}: {}", b.pod, b.pdb, b.reason))
        .collect()
}

#[test]
fn a_budget_lets_through_only_what_it_allows() {
    let pdbs = [pdb("web", "web", 1, 3, 4)];
    assert_eq!(
        blockers(
            &[
                "a/w1 Running ready app=web",
                "a/w2 Running ready app=web",
                "a/w3 Running ready app=web"
            ],
            &pdbs
        ),
        vec![
            "a/w2 by a/web: needs 3 healthy, has 4",
            "a/w3 by a/web: needs 3 healthy, has 4"
        ]
    );
}

#[test]
fn unready_pods_pass_a_healthy_budget_and_policy_always_allow() {
    // currentHealthy >= desiredHealthy: an unready pod goes without using the budget.
    assert!(blockers(&["a/w1 Running app=web"], &[pdb("web", "web", 0, 2, 2)]).is_empty());
    // Budget not healthy: the unready pod needs a disruption too, and none is allowed.
    assert_eq!(
        blockers(&["a/w1 Running app=web"], &[pdb("web", "web", 0, 3, 2)]),
        vec!["a/w1 by a/web: needs 3 healthy, has 2"]
    );
    let mut always = pdb("web", "web", 0, 3, 2);
    always.always_allow_unhealthy = true;
    assert!(blockers(&["a/w1 Running app=web"], &[always]).is_empty());
}

#[test]
fn pending_terminal_and_deleting_pods_ignore_budgets() {
    let pdbs = [pdb("web", "web", 0, 3, 3)];
    assert!(
        blockers(
            &[
                "a/p Pending app=web",
                "a/s Succeeded app=web",
                "a/d Running ready deleted=5 app=web"
            ],
            &pdbs
        )
        .is_empty()
    );
}

#[test]
fn two_budgets_on_one_pod_and_stale_budgets_block() {
    let pdbs = [pdb("one", "web", 5, 1, 6), pdb("two", "web", 5, 1, 6)];
    assert_eq!(
        blockers(&["a/w1 Running ready app=web"], &pdbs),
        vec!["a/w1 by a/one, a/two: more than one PodDisruptionBudget selects this pod"]
    );
    let mut stale = pdb("web", "web", 5, 1, 6);
    stale.generation = 2;
    assert_eq!(
        blockers(&["a/w1 Running ready app=web"], &[stale]),
        vec!["a/w1 by a/web: the budget is still being processed by the server"]
    );
    // A PDB without a selector selects nothing in policy/v1.
    let mut none = pdb("web", "web", 0, 3, 3);
    none.selector = None;
    assert!(blockers(&["a/w1 Running ready app=web"], &[none]).is_empty());
}

#[test]
fn eviction_answers_are_classified() {
    let delay = Duration::from_secs(5);
    let answer = |code, message, causes: Vec<&'static str>, retry| {
        classify_eviction(
            &StatusAnswer {
                code,
                message,
                cause_types: causes,
                retry_after_seconds: retry,
            },
            delay,
        )
    };
    assert_eq!(answer(201, "", vec![], 0), EvictionAnswer::Evicted);
    assert_eq!(answer(404, "", vec![], 0), EvictionAnswer::Gone);
    assert_eq!(answer(409, "uid mismatch", vec![], 0), EvictionAnswer::Gone);
    let msg = "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget web needs 3 healthy pods and has 3 currently";
    assert_eq!(
        answer(429, msg, vec!["DisruptionBudget"], 0),
        EvictionAnswer::Retry {
            retry_after: delay,
            blocker: Some(("web".into(), "needs 3 healthy, has 3".into())),
            message: msg.into(),
        }
    );
    match answer(429, "still being processed", vec![], 10) {
        EvictionAnswer::Retry { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_secs(10))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        answer(403, "terminating", vec!["NamespaceTerminating"], 0),
        EvictionAnswer::NamespaceTerminating
    );
    assert!(matches!(
        answer(
            500,
            "This pod has more than one PodDisruptionBudget",
            vec![],
            0
        ),
        EvictionAnswer::Failed { .. }
    ));
    assert!(matches!(
        answer(403, "forbidden", vec![], 0),
        EvictionAnswer::Failed { .. }
    ));
}
