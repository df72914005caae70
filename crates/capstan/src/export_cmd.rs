//! `capstan export`: the health rules for the teams' own Prometheus and Grafana, from the
//! same rule set the agents evaluate (the defaults, with `--rules` applied).

use std::path::PathBuf;

use anyhow::{Context, Result};
use capstan_core::health::{RuleSet, export, parse_rules_yaml};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum ExportCommand {
    /// The health rules as a prometheus-operator PrometheusRule (or a plain rule file).
    PrometheusRules(PrometheusRulesArgs),
    /// A Grafana dashboard (JSON) of the key metrics with the rules' thresholds.
    GrafanaDashboard(RulesArg),
}

#[derive(Args)]
pub struct RulesArg {
    /// A rule file overriding, adding or disabling default rules (the agent's `--health-rules`).
    #[arg(long)]
    rules: Option<PathBuf>,
}

#[derive(Args)]
pub struct PrometheusRulesArgs {
    #[command(flatten)]
    rules: RulesArg,
    /// `prometheus-rule` for the prometheus-operator CRD, `rule-file` for Prometheus' own
    /// `rule_files:` format.
    #[arg(long, default_value = "prometheus-rule", value_parser = ["prometheus-rule", "rule-file"])]
    format: String,
    #[arg(long, default_value = "capstan-health")]
    name: String,
    #[arg(long, short = 'n', default_value = "monitoring")]
    namespace: String,
    #[arg(short = 'o', long, default_value = "yaml", value_parser = ["yaml", "json"])]
    output: String,
}

/// The rule set: the defaults, with `path`'s overrides when given.
pub fn load_rules(path: Option<&PathBuf>) -> Result<RuleSet> {
    let Some(path) = path else {
        return Ok(RuleSet::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the rule file {}", path.display()))?;
    parse_rules_yaml(&text).with_context(|| format!("rule file {}", path.display()))
}

pub fn run(cmd: ExportCommand) -> Result<()> {
    match cmd {
        ExportCommand::PrometheusRules(args) => {
            let rules = load_rules(args.rules.rules.as_ref())?;
            let doc = match args.format.as_str() {
                "rule-file" => export::prometheus_rule_file(&rules),
                _ => export::prometheus_rule(&rules, &args.name, &args.namespace),
            };
            match args.output.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&doc)?),
                _ => print!("{}", serde_saphyr::to_string(&doc)?),
            }
        }
        ExportCommand::GrafanaDashboard(args) => {
            let rules = load_rules(args.rules.as_ref())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&export::grafana_dashboard(&rules))?
            );
        }
    }
    Ok(())
}
