//! The cost report as a table or CSV: pure functions of the hub's answer.
//!
//! Cents come from the hub (`partsCents`, `totalCents`), chosen so that in each column the
//! printed rows add up to the printed TOTAL line; nothing is rounded again here.

use capstan_core::cost::{GroupBy, IDLE, OTHER, Resolution, ShareLine, format_usd};
use capstan_hub::api::{CategoryCents, CostReport, ReportRow};

/// Which key columns a grouping shows.
fn key_headers(by: GroupBy) -> &'static [&'static str] {
    match by {
        GroupBy::Cluster => &["CLUSTER"],
        GroupBy::Namespace => &["CLUSTER", "NAMESPACE"],
        GroupBy::Workload => &["CLUSTER", "NAMESPACE", "WORKLOAD"],
    }
}

/// The row's key cells; the `__other__` row of a truncated report has no cluster.
fn key_cells(by: GroupBy, row: &ReportRow) -> Vec<String> {
    let line = &row.line;
    let cluster = line.cluster.clone().unwrap_or_else(|| OTHER.to_string());
    let namespace = line.namespace.clone().unwrap_or_default();
    let workload = if line.kind.is_empty() {
        line.name.clone()
    } else {
        format!("{}/{}", line.kind, line.name)
    };
    match by {
        GroupBy::Cluster => vec![cluster],
        GroupBy::Namespace => vec![cluster, namespace],
        GroupBy::Workload => vec![cluster, namespace, workload],
    }
}

fn is_idle(row: &ReportRow) -> bool {
    row.line.name == IDLE || row.line.namespace.as_deref() == Some(IDLE)
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

fn money_cells(cents: &CategoryCents, total: i64) -> [String; 5] {
    [
        format_usd(cents.compute),
        format_usd(cents.storage),
        format_usd(cents.network),
        format_usd(cents.management),
        format_usd(total),
    ]
}

/// Columns padded to their widest cell, three spaces apart; the columns in `right` are
/// right-aligned (amounts).
pub(crate) fn aligned(rows: &[Vec<String>], right: std::ops::Range<usize>) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("   ");
            }
            if right.contains(&i) {
                line.push_str(&format!("{cell:>width$}", width = widths[i]));
            } else {
                line.push_str(&format!("{cell:<width$}", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn share_line(share: &ShareLine) -> Vec<String> {
    let verdict = if share.within {
        "ok"
    } else if share.share < share.typical_low {
        "below"
    } else {
        "above"
    };
    vec![
        share.category.as_str().to_string(),
        percent(share.share),
        format!(
            "typical {:.0}-{:.0}%",
            share.typical_low * 100.0,
            share.typical_high * 100.0
        ),
        verdict.to_string(),
    ]
}

/// The table, the TOTAL line, the fleet's shares beside the typical ranges, the window and
/// the clusters without data. `window_text` is the `--window` as the user wrote it.
pub fn table(report: &CostReport, window_text: &str) -> String {
    let keys = key_headers(report.by);
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(report.rows.len() + 2);
    let mut header: Vec<String> = keys.iter().map(|k| (*k).to_string()).collect();
    header.extend(
        [
            "COMPUTE",
            "STORAGE",
            "NETWORK",
            "MANAGEMENT",
            "TOTAL",
            "CPU-EFF",
            "RAM-EFF",
        ]
        .map(str::to_string),
    );
    rows.push(header);
    for row in &report.rows {
        let mut cells = key_cells(report.by, row);
        cells.extend(money_cells(&row.parts_cents, row.total_cents));
        // Idle capacity has no requests or usage of its own.
        let (cpu, ram) = if is_idle(row) || row.line.name == OTHER && row.line.cluster.is_none() {
            ("-".to_string(), "-".to_string())
        } else {
            (
                percent(row.line.cpu_efficiency),
                percent(row.line.ram_efficiency),
            )
        };
        cells.extend([cpu, ram]);
        rows.push(cells);
    }
    let mut total = vec!["TOTAL".to_string()];
    total.extend(std::iter::repeat_n(String::new(), keys.len() - 1));
    total.extend(money_cells(
        &report.total.parts_cents,
        report.total.total_cents,
    ));
    total.extend([
        percent(report.total.cpu_efficiency),
        percent(report.total.ram_efficiency),
    ]);
    rows.push(total);
    let mut out = if report.rows.is_empty() {
        "No cost data in this window.\n".to_string()
    } else {
        aligned(&rows, keys.len()..keys.len() + 7)
    };
    if report.truncated > 0 {
        out.push_str(&format!(
            "{OTHER}: {} more rows (--top {} shows the first)\n",
            report.truncated,
            report.rows.len().saturating_sub(1)
        ));
    }
    out.push('\n');
    let shares: Vec<Vec<String>> = report.shares.iter().map(share_line).collect();
    out.push_str(&aligned(&shares, 1..2));
    out.push('\n');
    let resolution = match report.window.resolution {
        Resolution::Hourly => "hourly",
        Resolution::Daily => "daily",
    };
    out.push_str(&format!(
        "window {window_text}: {} to {} ({resolution}",
        report.window.start, report.window.end
    ));
    if let Some(requested) = &report.window.requested {
        out.push_str(&format!(
            "; widened from {} to {} to whole UTC days",
            requested.start, requested.end
        ));
    }
    out.push_str(&format!(
        "), {}, {} cluster{}\n",
        report.currency,
        report.clusters,
        if report.clusters == 1 { "" } else { "s" }
    ));
    if report.network_unmeasured > 0 {
        out.push_str(&format!(
            "network: not measured for {} of {} cluster{} (no egress source: the Metrics API carries no traffic; give the agents --prometheus-url)\n",
            report.network_unmeasured,
            report.clusters,
            if report.clusters == 1 { "" } else { "s" }
        ));
    }
    if report.missing_count > 0 {
        let more = report.missing_count.saturating_sub(report.missing.len());
        let mut names = report.missing.join(", ");
        if more > 0 {
            names.push_str(&format!(" and {more} more"));
        }
        out.push_str(&format!(
            "no cost data from {} cluster{} (not in the total): {names}\n",
            report.missing_count,
            if report.missing_count == 1 { "" } else { "s" }
        ));
    }
    out
}

/// Dollars with two decimals and no `$`: `1234.56`, `-0.05`.
fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

/// RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One header row, then one row per report row (no TOTAL row: it is data); CRLF line ends.
pub fn csv(report: &CostReport) -> String {
    let mut out = String::from(
        "cluster,namespace,kind,name,compute,storage,network,management,total,\
         cpu_efficiency,ram_efficiency\r\n",
    );
    for row in &report.rows {
        let line = &row.line;
        let cells = [
            csv_field(line.cluster.as_deref().unwrap_or("")),
            csv_field(line.namespace.as_deref().unwrap_or("")),
            csv_field(&line.kind),
            csv_field(&line.name),
            dollars(row.parts_cents.compute),
            dollars(row.parts_cents.storage),
            dollars(row.parts_cents.network),
            dollars(row.parts_cents.management),
            dollars(row.total_cents),
            format!("{:.4}", line.cpu_efficiency),
            format!("{:.4}", line.ram_efficiency),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests;
