//! The summary as text, laid out like kubectl: `describe`-style fields, then tables with
//! upper-case headers and columns three spaces apart.

use std::fmt::Write;

use capstan_core::duration::human_age;
use capstan_core::summary::{ClusterSummary, Histogram, Resources};

/// Columns padded to their widest cell, three spaces apart (kubectl's tabwriter padding).
fn table(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 3;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn row(cells: &[&dyn std::fmt::Display]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// `v1.32.4 (4), v1.31.9 (2)`, with what the cap left out.
fn histogram(h: &Histogram) -> String {
    if h.buckets.is_empty() {
        return "<none>".to_string();
    }
    let mut parts: Vec<String> = h
        .buckets
        .iter()
        .map(|b| format!("{} ({})", b.key, b.count))
        .collect();
    if h.other > 0 {
        parts.push(format!(
            "{} more ({})",
            h.distinct - h.buckets.len() as u64,
            h.other
        ));
    }
    parts.join(", ")
}

/// `Running 58, Pending 2`: counts of a fixed, small set of keys.
fn counts(h: &Histogram) -> String {
    if h.buckets.is_empty() {
        return "none".to_string();
    }
    let parts: Vec<String> = h
        .buckets
        .iter()
        .map(|b| format!("{} {}", b.key, b.count))
        .collect();
    parts.join(", ")
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    format!("{}%", (part as f64 * 100.0 / whole as f64).round() as u64)
}

fn gib(bytes: u64) -> String {
    format!("{:.1}Gi", bytes as f64 / f64::from(1u32 << 30))
}

fn cores(millis: u64) -> String {
    format!("{:.1}", millis as f64 / 1000.0)
}

fn cpu(r: &Resources) -> String {
    format!(
        "{}/{} ({})",
        cores(r.cpu_requested_millis),
        cores(r.cpu_allocatable_millis),
        percent(r.cpu_requested_millis, r.cpu_allocatable_millis)
    )
}

fn memory(r: &Resources) -> String {
    format!(
        "{}/{} ({})",
        gib(r.memory_requested_bytes),
        gib(r.memory_allocatable_bytes),
        percent(r.memory_requested_bytes, r.memory_allocatable_bytes)
    )
}

fn more(out: &mut String, shown: usize, total: u64, what: &str) {
    if total > shown as u64 {
        let _ = writeln!(out, "... and {} more {what}", total - shown as u64);
    }
}

pub fn render(context: &str, s: &ClusterSummary) -> String {
    let mut out = String::new();
    let n = &s.nodes;
    let p = &n.by_phase;
    let pods = &s.pods;
    let r = &pods.restarts;
    let fields = [
        ("Context:", context.to_string()),
        (
            "Control plane:",
            s.control_plane_version
                .clone()
                .unwrap_or_else(|| "<unknown>".to_string()),
        ),
        ("Observed at:", s.observed_at.to_string()),
        (
            "Nodes:",
            format!("{} ({} ready, {} cordoned)", n.total, n.ready, n.cordoned),
        ),
        ("  Kubelet versions:", histogram(&n.by_version)),
        (
            "  Phases:",
            format!(
                "Provisioning {}, Joining {}, Operating {}, Draining {}, Terminating {}",
                p.provisioning, p.joining, p.operating, p.draining, p.terminating
            ),
        ),
        ("  Conditions:", histogram(&n.by_condition)),
        (
            "Pods:",
            format!("{} ({})", pods.total, counts(&pods.by_phase)),
        ),
        (
            "  Pending:",
            format!(
                "{} ({} unscheduled)",
                pods.pending, pods.pending_unscheduled
            ),
        ),
        ("  Running, not ready:", pods.not_ready.to_string()),
        ("  Terminating:", pods.terminating.to_string()),
        (
            "  Restarts:",
            format!(
                "{} ({} crash-looping, {} OOMKilled)",
                r.total, r.crash_looping, r.oom_killed
            ),
        ),
        ("CPU requested:", cpu(&s.resources)),
        ("Memory requested:", memory(&s.resources)),
        (
            "Pods scheduled:",
            format!(
                "{}/{}",
                s.resources.pods_scheduled, s.resources.pods_allocatable
            ),
        ),
    ];
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    for (k, v) in fields {
        let _ = writeln!(out, "{k:width$}{v}");
    }

    out.push('\n');
    let mut rows = vec![row(&[
        &"NODE POOL",
        &"NODES",
        &"READY",
        &"VERSIONS",
        &"CPU",
        &"MEMORY",
    ])];
    for pool in &s.pools.items {
        rows.push(row(&[
            &pool.pool.as_deref().unwrap_or("<none>"),
            &pool.nodes,
            &pool.ready,
            &histogram(&pool.by_version),
            &cpu(&pool.resources),
            &memory(&pool.resources),
        ]));
    }
    out.push_str(&table(&rows));
    more(&mut out, s.pools.items.len(), s.pools.total, "node pools");

    if !r.top.items.is_empty() {
        out.push('\n');
        let mut rows = vec![row(&[
            &"NAMESPACE",
            &"POD",
            &"NODE",
            &"RESTARTS",
            &"STATUS",
        ])];
        for pod in &r.top.items {
            let status = match (pod.crash_looping, pod.oom_killed) {
                (true, true) => "CrashLoopBackOff, OOMKilled",
                (true, false) => "CrashLoopBackOff",
                (false, true) => "OOMKilled",
                (false, false) => "",
            };
            rows.push(row(&[
                &pod.namespace,
                &pod.name,
                &pod.node.as_deref().unwrap_or("<none>"),
                &pod.restarts,
                &status,
            ]));
        }
        out.push_str(&table(&rows));
        more(&mut out, r.top.items.len(), r.top.total, "restarting pods");
    }

    out.push('\n');
    if s.drain_blockers.items.is_empty() {
        out.push_str("Drain blockers: <none> (every PodDisruptionBudget allows a disruption)\n");
    } else {
        let mut rows = vec![row(&[
            &"NAMESPACE",
            &"PDB",
            &"PODS",
            &"NODES",
            &"WHY",
            &"FIRST PODS",
        ])];
        for b in &s.drain_blockers.items {
            rows.push(row(&[
                &b.namespace,
                &b.name,
                &b.pods.total,
                &b.nodes,
                &b.message,
                &b.pods.items.join(","),
            ]));
        }
        out.push_str("Drain blockers (PodDisruptionBudgets allowing no disruption):\n");
        out.push_str(&table(&rows));
        more(
            &mut out,
            s.drain_blockers.items.len(),
            s.drain_blockers.total,
            "blocking budgets",
        );
    }

    let phases: Vec<_> = s
        .lifecycle
        .iter()
        .filter(|l| l.completed > 0 || l.in_progress > 0)
        .collect();
    if !phases.is_empty() {
        out.push('\n');
        let mut rows = vec![row(&[
            &"PHASE",
            &"COMPLETED",
            &"IN PROGRESS",
            &"P50",
            &"P95",
            &"SLOW",
            &"STUCK",
        ])];
        let age = |d: Option<std::time::Duration>| d.map_or("-".to_string(), human_age);
        for l in phases {
            rows.push(row(&[
                &l.phase,
                &l.completed,
                &l.in_progress,
                &age(l.p50),
                &age(l.p95),
                &l.slow,
                &l.stuck,
            ]));
        }
        out.push_str(&table(&rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use capstan_core::summary::{Capped, DrainBlocker, MAX_BUCKETS};

    use super::*;

    #[test]
    fn tables_align_columns_three_spaces_apart() {
        let t = table(&[row(&[&"NAME", &"PODS"]), row(&[&"a-long-name", &3])]);
        assert_eq!(t, "NAME          PODS\na-long-name   3\n");
    }

    #[test]
    fn the_text_names_blockers_and_what_was_left_out() {
        let mut s = ClusterSummary::default();
        s.nodes.by_version =
            Histogram::from_counts([("v1.32.4", 4u64), ("v1.31.9", 2)], MAX_BUCKETS);
        s.drain_blockers = Capped {
            total: 3,
            items: vec![DrainBlocker {
                namespace: "shop".into(),
                name: "web".into(),
                message: "needs 3 healthy, has 3".into(),
                desired_healthy: 3,
                current_healthy: 3,
                expected_pods: 3,
                pods: Capped {
                    total: 3,
                    items: vec!["web-1".into(), "web-2".into(), "web-3".into()],
                },
                nodes: 2,
            }],
        };
        let text = render("alpha", &s);
        assert!(text.contains("v1.32.4 (4), v1.31.9 (2)"), "{text}");
        assert!(
            text.contains("needs 3 healthy, has 3   web-1,web-2,web-3"),
            "{text}"
        );
        assert!(text.contains("... and 2 more blocking budgets"), "{text}");
    }
}
