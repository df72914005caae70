//! `capstan posture report|findings|history|exceptions`: the fleet's security posture from the
//! hub.

use anyhow::Result;
use capstan_core::posture::report::Control;
use capstan_hub::api::{ExceptionList, FindingList, PostureHistory, PostureView};

use crate::apply_cmd::{HubArg, client, send, url};

pub(crate) mod exceptions;
pub(crate) mod findings;
pub(crate) mod history;
pub(crate) mod report;

#[derive(clap::Subcommand, Debug)]
pub enum PostureCommand {
    /// The fleet's coverage per control against its targets, each cluster's, and the rules
    /// with the most findings.
    Report(ReportArgs),
    /// The findings behind the coverage: rule, object, field path and exception, most severe
    /// first.
    Findings(FindingsArgs),
    /// Coverage per control over time: one row per day (kept 400 days) or per hour (the last
    /// 7 days at most), each over the clusters that reported in it.
    History(HistoryArgs),
    /// The exceptions the clusters' latest reports applied: findings excepted, where they
    /// matched, and which are expired (to renew or remove) or matched nothing (stale).
    Exceptions(ExceptionsArgs),
}

#[derive(clap::Args, Debug)]
pub struct ExceptionsArgs {
    /// One cluster only.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Label selector over the clusters' labels.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
    #[command(flatten)]
    pub hub: HubArg,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Label selector over the clusters' labels: `environment=production,tier!=gold`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// One cluster only.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
    #[command(flatten)]
    pub hub: HubArg,
}

#[derive(clap::Args, Debug)]
pub struct FindingsArgs {
    /// One control: rbac, network-policy, pod-security, secrets or image-scanning (default:
    /// every control).
    #[arg(long, value_parser = parse_control)]
    pub control: Option<Control>,
    /// One cluster only.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Label selector over the clusters' labels.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// One rule only, e.g. `pss.privileged`.
    #[arg(long)]
    pub rule: Option<String>,
    /// Severities, comma-separated: info, low, medium, high, critical.
    #[arg(long)]
    pub severity: Option<String>,
    /// Excepted findings: `true` (shown, marked), `false` (left out) or `only`.
    #[arg(long, default_value = "true", value_parser = ["true", "false", "only"])]
    pub excepted: String,
    /// Findings to show (the total is counted whatever the limit).
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
    #[command(flatten)]
    pub hub: HubArg,
}

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// One control (default: every control).
    #[arg(long, value_parser = parse_control)]
    pub control: Option<Control>,
    /// One cluster only.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Label selector over the clusters' labels (as they are now).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// From when: a duration before now (`30d`, `36h`) or an RFC 3339 time (default: 7d by
    /// day, 24h by hour; by hour at most 7 days back).
    #[arg(long)]
    pub since: Option<String>,
    /// One row per hour or per day.
    #[arg(long, default_value = "1d", value_parser = ["1h", "1d"])]
    pub step: String,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
    #[command(flatten)]
    pub hub: HubArg,
}

/// A control's name, or an error listing the valid ones (checked before the hub is asked).
pub fn parse_control(text: &str) -> Result<Control, String> {
    Control::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Control::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "unknown control {text:?}; the controls are {}",
            names.join(", ")
        )
    })
}

pub async fn run(command: PostureCommand) -> Result<()> {
    match command {
        PostureCommand::Report(args) => report_cmd(args).await,
        PostureCommand::Findings(args) => findings_cmd(args).await,
        PostureCommand::History(args) => history_cmd(args).await,
        PostureCommand::Exceptions(args) => exceptions_cmd(args).await,
    }
}

async fn read_exceptions(
    hub: &HubArg,
    cluster: Option<&String>,
    selector: Option<&String>,
) -> Result<ExceptionList> {
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(cluster) = cluster {
        query.push(("cluster", cluster.clone()));
    }
    if let Some(selector) = selector {
        query.push(("labelSelector", selector.clone()));
    }
    let request = client()?
        .get(url(hub, "/api/v1/posture/exceptions"))
        .query(&query);
    send("reading the posture exceptions", request).await
}

async fn exceptions_cmd(args: ExceptionsArgs) -> Result<()> {
    let list = read_exceptions(&args.hub, args.cluster.as_ref(), args.selector.as_ref()).await?;
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&list)?),
        _ => print!("{}", exceptions::table(&list)),
    }
    Ok(())
}

async fn report_cmd(args: ReportArgs) -> Result<()> {
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(selector) = &args.selector {
        query.push(("labelSelector", selector.clone()));
    }
    if let Some(cluster) = &args.cluster {
        query.push(("cluster", cluster.clone()));
    }
    let request = client()?
        .get(url(&args.hub, "/api/v1/posture"))
        .query(&query);
    let view: PostureView = send("reading the posture report", request).await?;
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&view)?),
        _ => {
            print!("{}", report::table(&view));
            // One cluster: its exceptions under its controls.
            if let Some(cluster) = &args.cluster {
                let list = read_exceptions(&args.hub, Some(cluster), None).await?;
                print!("{}", exceptions::cluster_block(&list));
            }
        }
    }
    Ok(())
}

async fn findings_cmd(args: FindingsArgs) -> Result<()> {
    let mut query: Vec<(&str, String)> = vec![
        ("limit", args.limit.to_string()),
        ("excepted", args.excepted.clone()),
    ];
    if let Some(control) = args.control {
        query.push(("control", control.as_str().to_string()));
    }
    if let Some(cluster) = &args.cluster {
        query.push(("cluster", cluster.clone()));
    }
    if let Some(selector) = &args.selector {
        query.push(("labelSelector", selector.clone()));
    }
    if let Some(rule) = &args.rule {
        query.push(("rule", rule.clone()));
    }
    if let Some(severity) = &args.severity {
        query.push(("severity", severity.clone()));
    }
    let request = client()?
        .get(url(&args.hub, "/api/v1/posture/findings"))
        .query(&query);
    let list: FindingList = send("reading the posture findings", request).await?;
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&list)?),
        // One cluster asked for: its name is on every row, so the column goes.
        _ => print!("{}", findings::table(&list, args.cluster.is_none())),
    }
    Ok(())
}

async fn history_cmd(args: HistoryArgs) -> Result<()> {
    let mut query: Vec<(&str, String)> = vec![("step", args.step.clone())];
    if let Some(since) = &args.since {
        query.push(("since", since.clone()));
    }
    if let Some(control) = args.control {
        query.push(("control", control.as_str().to_string()));
    }
    if let Some(cluster) = &args.cluster {
        query.push(("cluster", cluster.clone()));
    }
    if let Some(selector) = &args.selector {
        query.push(("labelSelector", selector.clone()));
    }
    let request = client()?
        .get(url(&args.hub, "/api/v1/posture/history"))
        .query(&query);
    let history: PostureHistory = send("reading the posture history", request).await?;
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&history)?),
        _ => print!("{}", history::table(&history)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_control;
    use capstan_core::posture::report::Control;

    #[test]
    fn an_unknown_control_names_the_valid_ones() {
        assert_eq!(parse_control("secrets"), Ok(Control::Secrets));
        assert_eq!(
            parse_control("netpol"),
            Err(
                "unknown control \"netpol\"; the controls are rbac, network-policy, \
                 pod-security, secrets, image-scanning"
                    .to_string()
            )
        );
    }
}
