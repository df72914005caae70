//! `capstan apply -f FILE` and `capstan get clusters|upgrades|alerts`: the hub's user API
//! from the command line, printed the way kubectl prints.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_clock::{Clock, SystemClock};
use capstan_core::health::Alert;
use capstan_core::rollout::{ClusterState, RolloutState};
use capstan_hub::api::{
    AlertCounts, AlertList, ClusterView, InvalidUpgrade, Status, UpgradeDetail, UpgradeView,
};
use jiff::Timestamp;
use serde::de::DeserializeOwned;

/// How long one request to the hub may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug, Clone)]
pub struct HubArg {
    /// The hub's base URL.
    #[arg(long, env = "CAPSTAN_HUB", default_value = "http://127.0.0.1:8443")]
    pub hub: String,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// The `ClusterUpgrade` to create (YAML or JSON); `-` reads standard input.
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    #[command(flatten)]
    pub hub: HubArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Resource {
    #[value(alias = "cluster")]
    Clusters,
    #[value(alias = "upgrade", alias = "clusterupgrades", alias = "clusterupgrade")]
    Upgrades,
    /// The fleet's pending and firing alerts.
    #[value(alias = "alert")]
    Alerts,
}

#[derive(clap::Args, Debug)]
pub struct GetArgs {
    pub resource: Resource,
    #[command(flatten)]
    pub hub: HubArg,
    /// Label selector over the clusters' labels (clusters and alerts), as kubectl's:
    /// `environment=production,tier!=gold`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Alerts of this severity only.
    #[arg(long, value_parser = ["critical", "warning"])]
    pub severity: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "json", "yaml"])]
    pub output: String,
}

pub(crate) fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("capstan/", env!("CARGO_PKG_VERSION")))
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")
}

pub(crate) fn url(hub: &HubArg, path: &str) -> String {
    format!("{}{path}", hub.hub.trim_end_matches('/'))
}

/// The hub's message for an error answer, or the body as text if it is not a `Status`.
fn hub_message(body: &str) -> String {
    serde_json::from_str::<Status>(body)
        .map(|s| s.message)
        .unwrap_or_else(|_| body.trim().to_string())
}

/// Sends `request`, returns the decoded answer or an error naming the status and the message.
pub(crate) async fn send<T: DeserializeOwned>(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<T> {
    let response = request
        .send()
        .await
        .with_context(|| format!("{what}: the hub did not answer"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("{what}: reading the answer"))?;
    if !status.is_success() {
        bail!("{what}: {status}: {}", hub_message(&body));
    }
    serde_json::from_str(&body).with_context(|| format!("{what}: decoding the answer"))
}

pub async fn apply(args: ApplyArgs) -> Result<()> {
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let response = client()?
        .post(url(&args.hub, "/api/v1/upgrades"))
        .header(reqwest::header::CONTENT_TYPE, "application/yaml")
        .body(text)
        .send()
        .await
        .context("applying: the hub did not answer")?;
    let status = response.status();
    let body = response.text().await.context("reading the answer")?;
    if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY
        && let Ok(invalid) = serde_json::from_str::<InvalidUpgrade>(&body)
    {
        for error in &invalid.errors {
            eprintln!("{}: {}", error.path, error.reason);
        }
        bail!(
            "{}: the ClusterUpgrade is invalid ({} error{}); nothing was created",
            args.file.display(),
            invalid.errors.len(),
            if invalid.errors.len() == 1 { "" } else { "s" }
        );
    }
    if !status.is_success() {
        bail!(
            "applying {}: {status}: {}",
            args.file.display(),
            hub_message(&body)
        );
    }
    let created: UpgradeDetail = serde_json::from_str(&body).context("decoding the answer")?;
    println!("clusterupgrade/{} created", created.upgrade.name);
    Ok(())
}

pub async fn get(args: GetArgs) -> Result<()> {
    let http = client()?;
    let now = SystemClock.now();
    if args.severity.is_some() && !matches!(args.resource, Resource::Alerts) {
        bail!("--severity selects alerts");
    }
    match args.resource {
        Resource::Clusters => {
            let mut request = http.get(url(&args.hub, "/api/v1/clusters"));
            if let Some(selector) = &args.selector {
                request = request.query(&[("labelSelector", selector)]);
            }
            let clusters: Vec<ClusterView> = send("listing clusters", request).await?;
            match args.output.as_str() {
                "table" => print!("{}", clusters_table(&clusters, now)),
                format => print_structured(format, &clusters)?,
            }
        }
        Resource::Upgrades => {
            if args.selector.is_some() {
                bail!("-l selects clusters; upgrades have no labels to select by");
            }
            let request = http.get(url(&args.hub, "/api/v1/upgrades"));
            let upgrades: Vec<UpgradeView> = send("listing upgrades", request).await?;
            match args.output.as_str() {
                "table" => print!("{}", upgrades_table(&upgrades, now)),
                format => print_structured(format, &upgrades)?,
            }
        }
        Resource::Alerts => {
            let mut request = http.get(url(&args.hub, "/api/v1/alerts"));
            if let Some(selector) = &args.selector {
                request = request.query(&[("labelSelector", selector)]);
            }
            if let Some(severity) = &args.severity {
                request = request.query(&[("severity", severity)]);
            }
            let alerts: AlertList = send("listing alerts", request).await?;
            match args.output.as_str() {
                "table" => print!("{}", alerts_table(&alerts, now)),
                format => print_structured(format, &alerts)?,
            }
        }
    }
    Ok(())
}

pub(crate) fn print_structured<T: serde::Serialize>(format: &str, value: &T) -> Result<()> {
    match format {
        "yaml" => print!("{}", serde_saphyr::to_string(value)?),
        _ => println!("{}", serde_json::to_string_pretty(value)?),
    }
    Ok(())
}

fn clusters_table(clusters: &[ClusterView], now: Timestamp) -> String {
    if clusters.is_empty() {
        return "No clusters found.\n".to_string();
    }
    let mut rows = vec![
        [
            "NAME",
            "LABELS",
            "HEALTH",
            "ALERTS",
            "VERSION",
            "NODES",
            "PODS",
            "LAST SEEN",
        ]
        .map(String::from),
    ];
    for cluster in clusters {
        let labels: Vec<String> = cluster
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push([
            cluster.name.clone(),
            if labels.is_empty() {
                "<none>".to_string()
            } else {
                labels.join(",")
            },
            cluster.health.to_string(),
            alert_counts(&cluster.alerts),
            cluster
                .versions
                .control_plane
                .clone()
                .unwrap_or_else(|| "<unknown>".to_string()),
            cluster.node_count.to_string(),
            cluster.pod_count.to_string(),
            format!("{} ago", age(cluster.last_seen, now)),
        ]);
    }
    table(&rows)
}

/// `1 critical, 2 warning`, with pending ones last; `-` when there is none.
fn alert_counts(counts: &AlertCounts) -> String {
    let parts: Vec<String> = [
        (counts.critical, "critical"),
        (counts.warning, "warning"),
        (counts.pending, "pending"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

fn alerts_table(alerts: &AlertList, now: Timestamp) -> String {
    if alerts.items.is_empty() {
        return "No alerts found.\n".to_string();
    }
    let mut rows = vec![
        [
            "CLUSTER",
            "RULE",
            "SEVERITY",
            "STATE",
            "VALUE",
            "THRESHOLD",
            "SINCE",
            "LABELS",
        ]
        .map(String::from),
    ];
    for item in &alerts.items {
        let alert: &Alert = &item.alert;
        let labels: Vec<String> = alert
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push([
            item.cluster.clone(),
            alert.rule.clone(),
            alert.severity.as_str().to_string(),
            serde_json::to_value(alert.state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            significant(alert.value),
            format!(
                "{} {}",
                alert.comparison.as_str(),
                significant(alert.threshold)
            ),
            age(alert.since, now),
            if labels.is_empty() {
                "<none>".to_string()
            } else {
                labels.join(",")
            },
        ]);
    }
    table(&rows)
}

/// At most four decimals, no trailing zeros: `0.9312`, `12.5`, `500`.
fn significant(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" || text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn upgrades_table(upgrades: &[UpgradeView], now: Timestamp) -> String {
    if upgrades.is_empty() {
        return "No upgrades found.\n".to_string();
    }
    let mut rows = vec![["NAME", "PHASE", "STEP", "UPGRADED", "AGE"].map(String::from)];
    for upgrade in upgrades {
        let (phase, step, upgraded) =
            match serde_json::from_value::<RolloutState>(upgrade.status.clone()) {
                Ok(state) => {
                    let succeeded = state
                        .clusters
                        .values()
                        .filter(|c| c.state == ClusterState::Succeeded)
                        .count();
                    let steps = state.plan.steps.len();
                    (
                        format!("{:?}", state.phase),
                        format!("{}/{steps}", (state.step + 1).min(steps)),
                        format!("{succeeded}/{}", state.plan.clusters.len()),
                    )
                }
                // A status this CLI cannot read (a newer hub): still list the upgrade.
                Err(_) => ("<unknown>".into(), "-".into(), "-".into()),
            };
        rows.push([
            upgrade.name.clone(),
            phase,
            step,
            upgraded,
            age(upgrade.created_at, now),
        ]);
    }
    table(&rows)
}

/// Columns padded to their widest cell, three spaces apart, as kubectl prints them.
pub(crate) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// kubectl's short age: `45s`, `12m`, `5h`, `3d`.
pub(crate) fn age(since: Timestamp, now: Timestamp) -> String {
    let seconds = now.duration_since(since).as_secs().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_and_ages_read_like_kubectl() {
        let rows = vec![
            ["NAME", "PHASE"].map(String::from),
            ["a-long-name", "Progressing"].map(String::from),
        ];
        assert_eq!(
            table(&rows),
            "NAME          PHASE\na-long-name   Progressing\n"
        );
        let now: Timestamp = "2026-01-02T00:00:00Z".parse().unwrap_or_default();
        let at = |secs: i64| now - jiff::SignedDuration::from_secs(secs);
        assert_eq!(age(at(45), now), "45s");
        assert_eq!(age(at(600), now), "10m");
        assert_eq!(age(at(5 * 3600), now), "5h");
        assert_eq!(age(at(3 * 86400), now), "3d");
    }

    #[test]
    fn alert_tables_show_value_threshold_age_and_labels() {
        use capstan_core::health::{AlertPhase, Comparison, Severity};
        use capstan_hub::api::ClusterAlert;
        let now: Timestamp = "2026-01-02T00:00:00Z".parse().unwrap_or_default();
        let alert = |cluster: &str, rule: &str, severity, state, value| ClusterAlert {
            cluster: cluster.to_string(),
            alert: Alert {
                rule: rule.to_string(),
                severity,
                value,
                threshold: 0.8,
                comparison: Comparison::Above,
                labels: [("node".to_string(), "n1".to_string())].into(),
                since: now - jiff::SignedDuration::from_secs(300),
                state,
            },
        };
        let list = AlertList {
            items: vec![
                alert(
                    "eu-1",
                    "NodeCPUHigh",
                    Severity::Critical,
                    AlertPhase::Firing,
                    0.93121,
                ),
                alert(
                    "us-1",
                    "NodeDiskFull",
                    Severity::Warning,
                    AlertPhase::Pending,
                    0.9,
                ),
            ],
            clusters: 2,
        };
        assert_eq!(
            alerts_table(&list, now),
            "CLUSTER   RULE           SEVERITY   STATE     VALUE    THRESHOLD   SINCE   LABELS\n\
             eu-1      NodeCPUHigh    critical   firing    0.9312   > 0.8       5m      node=n1\n\
             us-1      NodeDiskFull   warning    pending   0.9      > 0.8       5m      node=n1\n"
        );
        let empty = AlertList {
            items: Vec::new(),
            clusters: 0,
        };
        assert_eq!(alerts_table(&empty, now), "No alerts found.\n");
        let counts = |critical, warning, pending| AlertCounts {
            critical,
            warning,
            pending,
        };
        assert_eq!(alert_counts(&counts(1, 2, 0)), "1 critical, 2 warning");
        assert_eq!(alert_counts(&counts(0, 0, 3)), "3 pending");
        assert_eq!(alert_counts(&counts(0, 0, 0)), "-");
    }
}
