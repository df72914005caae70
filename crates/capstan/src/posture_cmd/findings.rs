//! The findings as a table: pure functions of the hub's answer.

use capstan_hub::api::FindingList;

use super::report::grouped;
use crate::cost_cmd::report::aligned;

/// One row per finding, then `showing N of M findings`: the hub lists the top findings of
/// each cluster's report, and counts every one.
pub fn table(list: &FindingList, with_cluster: bool) -> String {
    let mut out = String::new();
    if list.findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        let mut header: Vec<String> = Vec::new();
        if with_cluster {
            header.push("CLUSTER".to_string());
        }
        header.extend(
            [
                "SEVERITY", "RULE", "OBJECT", "FIELD", "COUNT", "EXCEPTED", "MESSAGE",
            ]
            .map(str::to_string),
        );
        let count_column = header.len() - 3;
        let mut rows = vec![header];
        for f in &list.findings {
            let mut cells = Vec::with_capacity(8);
            if with_cluster {
                cells.push(f.cluster.clone());
            }
            let finding = &f.finding;
            cells.extend([
                finding.severity.as_str().to_string(),
                finding.rule.clone(),
                finding.object.to_string(),
                if finding.field_path.is_empty() {
                    "-".to_string()
                } else {
                    finding.field_path.clone()
                },
                grouped(finding.count),
                finding.excepted.clone().unwrap_or_else(|| "-".to_string()),
                finding.message.clone(),
            ]);
            rows.push(cells);
        }
        out.push_str(&aligned(&rows, count_column..count_column + 1));
    }
    let shown = list.shown as u64;
    out.push_str(&format!(
        "showing {} of {} finding{}",
        grouped(shown),
        grouped(list.total),
        if list.total == 1 { "" } else { "s" }
    ));
    if shown < list.total {
        out.push_str(" (use --limit for more; reports carry each control's top findings)");
    }
    out.push('\n');
    out
}
