//! The posture report as tables, kubectl style: pure functions of the hub's answer.
//!
//! Percentages are cut, never rounded up, to one decimal from the integer counts, so that
//! a control one unit short of 100% never prints as `100.0%` beside `MET: NO`.

use capstan_core::posture::fleet::FleetControl;
use capstan_core::posture::report::Control;
use capstan_hub::api::{ClusterControl, PostureView};

use crate::cost_cmd::report::aligned;

/// Rules listed under the tables.
pub const TOP_RULES: usize = 10;
/// Clusters without a report named in full (all are counted).
pub const MISSING_NAMED: usize = 20;

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `counted / eligible` in percent, cut to one decimal; `-` when nothing is eligible.
pub fn percent(counted: u64, eligible: u64) -> String {
    if eligible == 0 {
        return "-".to_string();
    }
    let tenths = u128::from(counted) * 1000 / u128::from(eligible);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn fleet_row(c: &FleetControl) -> Vec<String> {
    let counted = c.covered + c.excepted;
    vec![
        c.control.as_str().to_string(),
        c.unit.as_str().to_string(),
        format!("{}/{}", grouped(counted), grouped(c.eligible)),
        percent(counted, c.eligible),
        c.target.to_string(),
        if c.meets_target { "yes" } else { "NO" }.to_string(),
        format!("{}/{}", c.clusters_meeting_target, c.clusters_reporting),
        grouped(c.excepted),
        grouped(c.findings),
    ]
}

/// A cluster's cell for one control: the percentage, `*` when below the target (a space
/// otherwise, so that right-aligned digits line up).
fn cluster_cell(c: Option<&ClusterControl>) -> String {
    match c {
        None => "- ".to_string(),
        Some(c) => {
            let mark = if c.meets_target { ' ' } else { '*' };
            format!("{}{mark}", percent(c.covered + c.excepted, c.eligible))
        }
    }
}

fn targets_legend(view: &PostureView) -> String {
    let targets: Vec<String> = Control::ALL
        .iter()
        .map(|&control| {
            let target = view
                .fleet
                .controls
                .iter()
                .find(|c| c.control == control)
                .map_or_else(|| control.target(), |c| c.target);
            format!("{control} {target}")
        })
        .collect();
    format!("* below the control's target ({})\n", targets.join(", "))
}

/// The fleet per control, each cluster per control, the clusters without a report and the
/// rules with the most findings.
pub fn table(view: &PostureView) -> String {
    let fleet = &view.fleet;
    let mut out = String::new();
    if fleet.clusters_reporting == 0 {
        out.push_str("No posture reports.\n");
    } else {
        out.push_str(&format!(
            "Fleet: {} cluster{} reporting\n",
            grouped(fleet.clusters_reporting),
            if fleet.clusters_reporting == 1 {
                ""
            } else {
                "s"
            }
        ));
        let mut rows = vec![
            [
                "CONTROL",
                "UNIT",
                "COVERED",
                "COVERAGE",
                "TARGET",
                "MET",
                "CLUSTERS MEETING",
                "EXCEPTED",
                "FINDINGS",
            ]
            .map(str::to_string)
            .to_vec(),
        ];
        rows.extend(fleet.controls.iter().map(fleet_row));
        out.push_str(&aligned(&rows, 2..9));

        out.push('\n');
        let mut rows: Vec<Vec<String>> = Vec::with_capacity(view.clusters.len() + 1);
        let mut header = vec!["CLUSTER".to_string()];
        header.extend(Control::ALL.iter().map(|c| c.as_str().to_uppercase()));
        header.extend(["FINDINGS", "K8S", "EVALUATED"].map(str::to_string));
        rows.push(header);
        let mut marked = false;
        for cluster in &view.clusters {
            let mut cells = vec![cluster.cluster.clone()];
            for control in Control::ALL {
                let c = cluster.controls.iter().find(|c| c.control == control);
                marked |= c.is_some_and(|c| !c.meets_target);
                cells.push(cluster_cell(c));
            }
            let findings: u64 = cluster.controls.iter().map(|c| c.findings).sum();
            cells.push(grouped(findings));
            cells.push(format!("1.{}", cluster.kubernetes_minor));
            cells.push(
                cluster
                    .evaluated_at
                    .round(jiff::Unit::Second)
                    .map_or_else(|_| cluster.evaluated_at.to_string(), |t| t.to_string()),
            );
            rows.push(cells);
        }
        out.push_str(&aligned(&rows, 1..Control::ALL.len() + 2));
        if marked {
            out.push_str(&targets_legend(view));
        }
    }
    let missing = &view.clusters_without_report;
    if !missing.is_empty() {
        let mut names = missing
            .iter()
            .take(MISSING_NAMED)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if missing.len() > MISSING_NAMED {
            names.push_str(&format!(" and {} more", missing.len() - MISSING_NAMED));
        }
        out.push_str(&format!(
            "no posture report from {} cluster{} (not in the figures): {names}\n",
            grouped(missing.len() as u64),
            if missing.len() == 1 { "" } else { "s" }
        ));
    }
    if !fleet.rules.is_empty() {
        out.push('\n');
        out.push_str(&format!(
            "Top rules ({} of {}):\n",
            fleet.rules.len().min(TOP_RULES),
            fleet.rules.len()
        ));
        let mut rows = vec![
            ["RULE", "SEVERITY", "FINDINGS", "EXCEPTED", "CLUSTERS"]
                .map(str::to_string)
                .to_vec(),
        ];
        for r in fleet.rules.iter().take(TOP_RULES) {
            rows.push(vec![
                r.rule.clone(),
                r.severity.as_str().to_string(),
                grouped(r.findings),
                grouped(r.excepted),
                grouped(r.clusters),
            ]);
        }
        out.push_str(&aligned(&rows, 2..5));
    }
    out
}

#[cfg(test)]
mod tests;
