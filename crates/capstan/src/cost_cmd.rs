//! `capstan cost report|recommendations|prices`: the fleet's cost from the hub, and the price
//! sheet.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use capstan_core::cost::PriceSheet;
use capstan_hub::api::{CostReport, RecommendationList};

use crate::apply_cmd::{HubArg, client, send, url};

pub(crate) mod recommendations;
pub(crate) mod report;

#[derive(clap::Subcommand, Debug)]
pub enum CostCommand {
    /// The fleet's cost by cluster, namespace or workload over a window, with its split
    /// beside the typical ranges.
    Report(ReportArgs),
    /// Savings: right-sizing, spot candidates, namespace quotas and KEDA hints, biggest
    /// monthly saving first.
    Recommendations(RecommendationsArgs),
    /// Print the effective price sheet (the defaults, or FILE checked and resolved).
    Prices(PricesArgs),
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// How to group the cost.
    #[arg(long, default_value = "cluster", value_parser = ["cluster", "namespace", "workload"])]
    pub by: String,
    /// OpenCost's window: today, yesterday, week, lastweek, month, lastmonth, 12h, 7d, 2w, or
    /// start,end (RFC 3339 or unix seconds).
    #[arg(long, default_value = "7d")]
    pub window: String,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "csv", "json"])]
    pub output: String,
    /// Label selector over the clusters' labels: `environment=production,tier!=gold`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// One cluster only.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Rows to show; the rest fold into one __other__ row.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    #[command(flatten)]
    pub hub: HubArg,
}

#[derive(clap::Args, Debug)]
pub struct RecommendationsArgs {
    /// One kind only (default: every kind, a table each).
    #[arg(long, value_parser = ["rightsizing", "spot", "quota", "keda"])]
    pub kind: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
    /// Label selector over the clusters' labels.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// One cluster only.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Recommendations to show.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[command(flatten)]
    pub hub: HubArg,
}

#[derive(clap::Args, Debug)]
pub struct PricesArgs {
    /// A price sheet (YAML) to check; its errors name the field and line.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

pub async fn run(command: CostCommand) -> Result<()> {
    match command {
        CostCommand::Report(args) => report_cmd(args).await,
        CostCommand::Recommendations(args) => recommendations_cmd(args).await,
        CostCommand::Prices(args) => prices(args),
    }
}

async fn report_cmd(args: ReportArgs) -> Result<()> {
    let mut query: Vec<(&str, String)> = vec![
        ("window", args.window.clone()),
        ("by", args.by.clone()),
        ("top", args.top.to_string()),
    ];
    if let Some(selector) = &args.selector {
        query.push(("labelSelector", selector.clone()));
    }
    if let Some(cluster) = &args.cluster {
        query.push(("cluster", cluster.clone()));
    }
    let request = client()?.get(url(&args.hub, "/api/v1/cost")).query(&query);
    let report: CostReport = send("reading the cost report", request).await?;
    match args.output.as_str() {
        "csv" => print!("{}", report::csv(&report)),
        "json" => println!("{}", serde_json::to_string_pretty(&report)?),
        _ => print!("{}", report::table(&report, &args.window)),
    }
    Ok(())
}

async fn recommendations_cmd(args: RecommendationsArgs) -> Result<()> {
    let mut query: Vec<(&str, String)> = vec![("limit", args.limit.to_string())];
    if let Some(kind) = &args.kind {
        query.push(("kind", kind.clone()));
    }
    if let Some(selector) = &args.selector {
        query.push(("labelSelector", selector.clone()));
    }
    if let Some(cluster) = &args.cluster {
        query.push(("cluster", cluster.clone()));
    }
    let request = client()?
        .get(url(&args.hub, "/api/v1/cost/recommendations"))
        .query(&query);
    let list: RecommendationList = send("reading the recommendations", request).await?;
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&list)?),
        _ => print!("{}", recommendations::tables(&list)),
    }
    Ok(())
}

fn prices(args: PricesArgs) -> Result<()> {
    let Some(path) = args.file else {
        print!("{}", PriceSheet::default_yaml());
        return Ok(());
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    match PriceSheet::parse_yaml(&text) {
        Ok(sheet) => {
            // The resolved sheet (defaults with the file applied). Its keys are the
            // resolved type's, not the file's: to start a file, use the defaults above.
            println!(
                "# {}: valid. The effective prices (the defaults with the file applied):",
                path.display()
            );
            print!("{}", serde_saphyr::to_string(&sheet)?);
            Ok(())
        }
        Err(e) => bail!("{}: {e}", path.display()),
    }
}
