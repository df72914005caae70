//! The recommendations as one table per kind, and the total monthly saving: pure functions
//! of the hub's answer. Items are the agents' JSON; a field an item lacks prints as `-`.

use capstan_core::cost::{Nanodollars, format_usd};
use capstan_core::rightsizing::{format_cpu, format_memory};
use capstan_hub::api::{RecommendationItem, RecommendationList};
use serde_json::Value;

const KINDS: [(&str, &str); 4] = [
    ("rightsizing", "Right-sizing"),
    ("spot", "Spot candidates"),
    ("quota", "Namespace quotas"),
    ("keda", "KEDA (scale to zero when idle)"),
];

fn text(item: &Value, key: &str) -> String {
    match item.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => "-".to_string(),
    }
}

fn number(item: &Value, path: &[&str]) -> Option<f64> {
    let mut at = item;
    for key in path {
        at = at.get(key)?;
    }
    at.as_f64()
}

fn usd(dollars: Option<f64>) -> String {
    dollars.map_or_else(
        || "-".to_string(),
        |d| format_usd(Nanodollars::from_dollars(d).cents()),
    )
}

/// `250m/512Mi` from a `Resources` object (`cpuCores`, `memoryBytes`).
fn resources(item: &Value, key: &str) -> String {
    match (
        number(item, &[key, "cpuCores"]),
        number(item, &[key, "memoryBytes"]),
    ) {
        (Some(cpu), Some(memory)) => format!("{}/{}", format_cpu(cpu), format_memory(memory)),
        _ => "-".to_string(),
    }
}

fn workload(item: &Value) -> String {
    let name = item
        .get("workload")
        .or_else(|| item.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("-");
    match item.get("kind").and_then(Value::as_str) {
        Some(kind) if !kind.is_empty() => format!("{kind}/{name}"),
        _ => name.to_string(),
    }
}

fn header_and_cells(kind: &str, r: &RecommendationItem) -> (Vec<&'static str>, Vec<String>) {
    let item = &r.item;
    let saving = usd(r.monthly_saving_dollars);
    match kind {
        "rightsizing" => (
            vec![
                "CLUSTER",
                "NAMESPACE",
                "WORKLOAD",
                "CONTAINER",
                "CURRENT(cpu/mem)",
                "TARGET",
                "LOWER",
                "UPPER",
                "SAVING/MONTH",
                "SEVERITY",
            ],
            vec![
                r.cluster.clone(),
                text(item, "namespace"),
                workload(item),
                text(item, "container"),
                resources(item, "current"),
                resources(item, "target"),
                resources(item, "lower"),
                resources(item, "upper"),
                saving,
                text(item, "severity"),
            ],
        ),
        "spot" => {
            let failed: Vec<String> = item
                .get("checks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.get("passed").and_then(Value::as_bool) == Some(false))
                .map(|c| text(c, "name"))
                .collect();
            (
                vec![
                    "CLUSTER",
                    "NAMESPACE",
                    "WORKLOAD",
                    "REPLICAS",
                    "READY",
                    "FAILED-CHECKS",
                    "SAVING/MONTH",
                ],
                vec![
                    r.cluster.clone(),
                    text(item, "namespace"),
                    workload(item),
                    text(item, "replicas"),
                    text(item, "ready"),
                    if failed.is_empty() {
                        "-".to_string()
                    } else {
                        failed.join(",")
                    },
                    saving,
                ],
            )
        }
        "quota" => {
            let suggested = match (
                item.pointer("/suggestedQuantities/cpu")
                    .and_then(Value::as_str),
                item.pointer("/suggestedQuantities/memory")
                    .and_then(Value::as_str),
            ) {
                (Some(cpu), Some(memory)) => format!("{cpu}/{memory}"),
                _ => "-".to_string(),
            };
            let existing = match item.get("existing") {
                Some(Value::Object(q)) => q
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_string(),
                _ => "none".to_string(),
            };
            (
                vec![
                    "CLUSTER",
                    "NAMESPACE",
                    "SUGGESTED(cpu/mem)",
                    "EXISTING",
                    "VERDICT",
                    "DETAIL",
                ],
                vec![
                    r.cluster.clone(),
                    text(item, "namespace"),
                    suggested,
                    existing,
                    text(item, "verdict"),
                    text(item, "detail"),
                ],
            )
        }
        _ => (
            vec![
                "CLUSTER",
                "NAMESPACE",
                "WORKLOAD",
                "IDLE",
                "LONGEST-IDLE",
                "SAVING/MONTH",
                "SUGGESTION",
            ],
            vec![
                r.cluster.clone(),
                text(item, "namespace"),
                workload(item),
                number(item, &["idleFraction"])
                    .map_or_else(|| "-".to_string(), |f| format!("{:.0}%", f * 100.0)),
                number(item, &["longestIdleHours"])
                    .map_or_else(|| "-".to_string(), |h| format!("{h:.1}h")),
                saving,
                text(item, "suggestion"),
            ],
        ),
    }
}

fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<width$}", width = widths[i]))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// A titled table per kind that has items (in the hub's order: biggest saving first), then
/// the total monthly saving of every matching item.
pub fn tables(list: &RecommendationList) -> String {
    if list.items.is_empty() {
        return "No recommendations found.\n".to_string();
    }
    let mut out = String::new();
    for (kind, title) in KINDS {
        let items: Vec<&RecommendationItem> =
            list.items.iter().filter(|i| i.kind == kind).collect();
        let Some(first) = items.first() else {
            continue;
        };
        let (header, _) = header_and_cells(kind, first);
        let mut rows = vec![header.iter().map(|h| (*h).to_string()).collect()];
        rows.extend(items.iter().map(|i| header_and_cells(kind, i).1));
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("{title}\n"));
        out.push_str(&aligned(&rows));
    }
    let shown = list.items.len();
    out.push_str(&format!(
        "\ntotal monthly savings: {} ({} recommendation{} from {} cluster{}{})\n",
        usd(Some(list.monthly_saving_dollars)),
        list.total,
        if list.total == 1 { "" } else { "s" },
        list.clusters,
        if list.clusters == 1 { "" } else { "s" },
        if shown < list.total {
            format!("; {shown} shown, --limit for more")
        } else {
            String::new()
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::Timestamp;
    use serde_json::json;

    use super::*;

    fn item(cluster: &str, kind: &str, saving: Option<f64>, item: Value) -> RecommendationItem {
        RecommendationItem {
            cluster: cluster.to_string(),
            kind: kind.to_string(),
            generated_at: Timestamp::UNIX_EPOCH,
            monthly_saving_dollars: saving,
            item,
        }
    }

    #[test]
    fn one_table_per_kind_and_the_total_saving() {
        let resources =
            |cpu: f64, mib: f64| json!({"cpuCores": cpu, "memoryBytes": mib * 1048576.0});
        let list = RecommendationList {
            items: vec![
                item(
                    "eu-1",
                    "spot",
                    Some(1234.5),
                    json!({
                        "namespace": "shop", "kind": "Deployment", "name": "web", "replicas": 3,
                        "ready": false, "checks": [
                            {"name": "replicas", "passed": true, "detail": ""},
                            {"name": "pdb", "passed": false, "detail": "no room"}
                        ]
                    }),
                ),
                item(
                    "eu-1",
                    "rightsizing",
                    Some(10.0),
                    json!({
                        "namespace": "shop", "kind": "Deployment", "workload": "web", "container": "app",
                        "current": resources(1.0, 1024.0), "target": resources(0.25, 300.0),
                        "lower": resources(0.1, 256.0), "upper": resources(0.5, 512.0),
                        "severity": "critical"
                    }),
                ),
                item(
                    "dev-1",
                    "quota",
                    None,
                    json!({
                        "namespace": "team-a", "suggestedQuantities": {"cpu": "2", "memory": "4Gi"},
                        "existing": null, "verdict": "missing", "detail": "no ResourceQuota"
                    }),
                ),
            ],
            total: 5,
            monthly_saving_dollars: 1244.5,
            clusters: 2,
        };
        let printed = tables(&list);
        let expected = "\
Right-sizing
CLUSTER   NAMESPACE   WORKLOAD         CONTAINER   CURRENT(cpu/mem)   TARGET       LOWER        UPPER        SAVING/MONTH   SEVERITY
eu-1      shop        Deployment/web   app         1/1Gi              250m/300Mi   100m/256Mi   500m/512Mi   $10.00         critical

Spot candidates
CLUSTER   NAMESPACE   WORKLOAD         REPLICAS   READY   FAILED-CHECKS   SAVING/MONTH
eu-1      shop        Deployment/web   3          false   pdb             $1,234.50

Namespace quotas
CLUSTER   NAMESPACE   SUGGESTED(cpu/mem)   EXISTING   VERDICT   DETAIL
dev-1     team-a      2/4Gi                none       missing   no ResourceQuota

total monthly savings: $1,244.50 (5 recommendations from 2 clusters; 3 shown, --limit for more)
";
        assert_eq!(printed, expected);
        let empty = RecommendationList {
            items: vec![],
            total: 0,
            monthly_saving_dollars: 0.0,
            clusters: 0,
        };
        assert_eq!(tables(&empty), "No recommendations found.\n");
    }
}
