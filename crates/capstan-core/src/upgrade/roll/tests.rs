use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::upgrade::replay::{NewNodeDurations, OldNodeDurations, ReplayInput, simulate};

fn v(s: &str) -> KubeVersion {
    KubeVersion::parse(s).unwrap()
}

const OLD: &str = "1.31.2";
const NEW: &str = "1.32.1";

/// A node from a compact description: `name:version:flags`, flags among `R` (Ready),
/// `C` (cordoned), `S` (drain started), `D` (drained), `T` (terminate requested),
/// `X` (terminating at the provider). `old-a:o:R` is a Ready old node, `n1:n:` a NotReady
/// new one.
fn node(desc: &str) -> PoolNode {
    let mut parts = desc.split(':');
    let name = parts.next().unwrap();
    let version = match parts.next().unwrap() {
        "o" => v(OLD),
        "n" => v(NEW),
        other => v(other),
    };
    let flags = parts.next().unwrap_or("");
    PoolNode {
        name: name.to_string(),
        version,
        ready: flags.contains('R'),
        unschedulable: flags.contains('C'),
        drain_started: flags.contains('S'),
        drained: flags.contains('D'),
        terminate_requested: flags.contains('T'),
        terminating: flags.contains('X'),
    }
}

fn state(size: u32, surge: u32, unavailable: u32, nodes: &[&str], provisioning: u32) -> PoolState {
    PoolState {
        target: v(NEW),
        size,
        budget: RollBudget { surge, unavailable },
        nodes: nodes.iter().map(|d| node(d)).collect(),
        provisioning: (0..provisioning)
            .map(|i| PendingMachine {
                name: format!("m{i}"),
                version: v(NEW),
            })
            .collect(),
    }
}

/// Actions written `+N` (provision), `drain:X`, `resume:X`, `term:X`; `done` alone for a
/// finished roll; empty for "wait".
fn check(
    what: &str,
    (size, surge, unavailable): (u32, u32, u32),
    nodes: &[&str],
    provisioning: u32,
    want: &[&str],
) {
    let plan = plan_roll(&state(size, surge, unavailable, nodes, provisioning));
    let mut got: Vec<String> = plan
        .actions
        .iter()
        .map(|a| match a {
            RollAction::Provision { count } => format!("+{count}"),
            RollAction::Drain {
                node,
                resume: false,
            } => format!("drain:{node}"),
            RollAction::Drain { node, resume: true } => format!("resume:{node}"),
            RollAction::Terminate { node } => format!("term:{node}"),
        })
        .collect();
    if plan.done {
        got.push("done".into());
    }
    assert_eq!(got, want, "{what}: {}", plan.status);
}

#[test]
fn fresh_rolls() {
    let four = &["a:o:R", "b:o:R", "c:o:R", "d:o:R"];
    check("surge first", (4, 1, 0), four, 0, &["+1"]);
    check("surge 2", (4, 2, 0), four, 0, &["+2"]);
    // Unavailable only: drain within the budget, in name order; nothing to order yet.
    check(
        "unavailable only",
        (4, 0, 2),
        four,
        0,
        &["drain:a", "drain:b"],
    );
    check("both", (4, 1, 1), four, 0, &["+1", "drain:a"]);
    // Cordoned or NotReady old nodes cost no availability: they go first, all of them.
    check(
        "unavailable nodes first",
        (4, 1, 0),
        &["a:o:R", "b:o:RC", "c:o:", "d:o:R"],
        0,
        &["+1", "drain:b", "drain:c"],
    );
    check("empty pool", (0, 1, 0), &[], 0, &["done"]);
    check(
        "already at target",
        (2, 1, 0),
        &["a:n:R", "b:n:R"],
        0,
        &["done"],
    );
    // A node newer than the target is not replaced by an older one.
    check("newer", (1, 1, 0), &["a:1.33.0:R"], 0, &["done"]);
}

#[test]
fn mid_roll_states() {
    // The surge node is provisioning: wait, do not order more.
    check(
        "provisioning",
        (4, 1, 0),
        &["a:o:R", "b:o:R", "c:o:R", "d:o:R"],
        1,
        &[],
    );
    // It joined but is not Ready: still no spare availability.
    check(
        "joining",
        (4, 1, 0),
        &["a:o:R", "b:o:R", "c:o:R", "d:o:R", "n1:n:"],
        0,
        &[],
    );
    // Ready: drain one old node.
    check(
        "joined",
        (4, 1, 0),
        &["a:o:R", "b:o:R", "c:o:R", "d:o:R", "n1:n:R"],
        0,
        &["drain:a"],
    );
    // Draining: keep draining (the executor runs each drain once), nothing else.
    check(
        "draining",
        (4, 1, 0),
        &["a:o:RCS", "b:o:R", "c:o:R", "d:o:R", "n1:n:R"],
        0,
        &["resume:a"],
    );
    // Drained: terminate (never drain again) and order the next replacement at once.
    check(
        "drained",
        (4, 1, 0),
        &["a:o:RCSD", "b:o:R", "c:o:R", "d:o:R", "n1:n:R"],
        0,
        &["term:a", "+1"],
    );
    // Terminate requested but the provider shows nothing: ask again.
    check(
        "terminate lost",
        (4, 1, 0),
        &["a:o:RCSDT", "b:o:R", "c:o:R", "d:o:R", "n1:n:R"],
        1,
        &["term:a"],
    );
    // Terminating at the provider: it no longer counts; nothing to ask.
    check(
        "terminating",
        (4, 1, 0),
        &["a:o:RCSDTX", "b:o:R", "c:o:R", "d:o:R", "n1:n:R"],
        1,
        &[],
    );
    // Marks on a node someone uncordoned are stale: it is available, and drained anew
    // (never terminated on the strength of an old mark).
    check(
        "stale drained mark",
        (2, 0, 1),
        &["a:o:RSD", "b:o:R"],
        0,
        &["drain:a"],
    );
    check(
        "stale marks cost availability",
        (2, 0, 1),
        &["a:o:RSD", "b:o:RS"],
        0,
        &["drain:a"],
    );
    // The last old node is going: wait for it to be gone before declaring the pool done.
    check(
        "last one going",
        (2, 1, 0),
        &["a:o:CSDTX", "n1:n:R", "n2:n:R"],
        0,
        &[],
    );
    check("finished", (2, 1, 0), &["n1:n:R", "n2:n:R"], 0, &["done"]);
    // A new node still joining keeps the roll open.
    check("new not ready", (2, 1, 0), &["n1:n:R", "n2:n:"], 0, &[]);
    // A node lost out of band (the pool shrank): order a replacement within the surge.
    check("lost node", (3, 1, 0), &["a:o:R", "n1:n:R"], 0, &["+2"]);
}

#[test]
fn resumption_never_repeats_work() {
    // Every node already drained (an agent killed after the drains finished): terminate them
    // all, in one step, and order within the surge only.
    check(
        "all drained",
        (3, 1, 3),
        &["a:o:CSD", "b:o:CSD", "c:o:CSD"],
        0,
        &["term:a", "term:b", "term:c", "+3"],
    );
    // Several draining and one drained, with a replacement provisioning: no new drain starts
    // beyond the availability budget, the drained one is terminated.
    check(
        "mixed",
        (4, 1, 1),
        &["a:o:RCS", "b:o:RCSD", "c:o:R", "d:o:R", "n1:n:R"],
        1,
        &["term:b", "resume:a"],
    );
}

/// Invariants every plan keeps, checked on every step of simulated rolls.
fn check_invariants(state: &PoolState, plan: &RollPlan, drained_ever: &mut BTreeMap<String, u32>) {
    let surge_cap = state.size + state.budget.surge;
    let floor = state.size.saturating_sub(state.budget.unavailable);
    let by_name: BTreeMap<&str, &PoolNode> =
        state.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut total = plan.status.total;
    let mut available = plan.status.available;
    for action in &plan.actions {
        match action {
            RollAction::Provision { count } => total += count,
            RollAction::Terminate { node } => {
                let n = by_name[node.as_str()];
                assert!(
                    n.drained || n.terminate_requested,
                    "terminates undrained {node}"
                );
                if !n.terminate_requested && !n.terminating {
                    total -= 1;
                }
            }
            RollAction::Drain { node, resume } => {
                let n = by_name[node.as_str()];
                assert!(
                    !(n.drained && n.unschedulable),
                    "drains drained {node} again"
                );
                assert_eq!(*resume, n.drain_started && n.unschedulable, "{node}");
                if !resume {
                    *drained_ever.entry(node.clone()).or_default() += 1;
                }
                if n.available() {
                    available -= 1;
                }
            }
        }
    }
    assert!(
        total <= surge_cap,
        "total {total} over {surge_cap}: {}",
        plan.status
    );
    assert!(
        available >= floor.min(plan.status.available),
        "available {available} under {floor}: {}",
        plan.status
    );
}

#[test]
fn whole_rolls_keep_the_invariants_and_finish() {
    let cases = [
        (10, 1, 0),
        (10, 3, 0),
        (10, 0, 1),
        (10, 0, 4),
        (10, 2, 2),
        (7, 100, 0),
        (1, 1, 0),
        (1, 0, 1),
        (30, 3, 1),
    ];
    for (size, surge, unavailable) in cases {
        // Durations vary per node so that events interleave.
        let nodes: Vec<PoolNode> = (0..size)
            .map(|i| {
                let mut n = PoolNode::running(&format!("old-{i:02}"), v(OLD));
                // One node cordoned by an operator, one NotReady.
                n.unschedulable = i == 3;
                n.ready = i != 5;
                n
            })
            .collect();
        let input = ReplayInput {
            target: v(NEW),
            size,
            budget: RollBudget { surge, unavailable },
            old: nodes
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        n.name.clone(),
                        OldNodeDurations {
                            drain: Duration::from_secs(60 * (1 + (i as u64 * 7) % 11)),
                            terminate: Duration::from_secs(60 + (i as u64 * 13) % 60),
                        },
                    )
                })
                .collect(),
            nodes,
            new: (0..7)
                .map(|i| NewNodeDurations {
                    provision: Duration::from_secs(300 + i * 97),
                    join: Duration::from_secs(120 + i * 31),
                })
                .collect(),
        };
        let mut drained_ever = BTreeMap::new();
        let mut last = None;
        simulate(&input, |state, plan| {
            check_invariants(state, plan, &mut drained_ever);
            last = Some(plan.status.clone());
        })
        .unwrap_or_else(|e| panic!("{size}/{surge}/{unavailable}: {e}"));
        let last = last.unwrap();
        assert_eq!(last.updated, size, "{size}/{surge}/{unavailable}: {last}");
        assert_eq!(last.old, 0);
        assert_eq!(drained_ever.len(), size as usize, "every old node drained");
        assert!(drained_ever.values().all(|&n| n == 1), "{drained_ever:?}");
    }
}
