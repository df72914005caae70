//! The agent's health flags, shared by `capstan agent`, the hub's hosted agents and the demo.

use std::path::PathBuf;

use anyhow::{Result, bail};
use capstan_agent::health::{HealthConfig, HealthSource};
use capstan_core::duration::parse_duration;

use crate::export_cmd::load_rules;

#[derive(clap::Args, Debug, Clone)]
pub struct HealthArgs {
    /// Evaluate the health rules with this Prometheus' query API (e.g.
    /// http://prometheus.monitoring:9090) instead of scraping the cluster's exporters.
    #[arg(long)]
    pub prometheus_url: Option<String>,
    /// A rule file overriding, adding or disabling default health rules; a bad file stops
    /// the start with an error naming the rule and field.
    #[arg(long)]
    pub health_rules: Option<PathBuf>,
    /// Real time between health evaluations (and scrapes).
    #[arg(long, default_value = "30s")]
    pub health_interval: String,
    /// Do not evaluate health rules (reports carry no alerts).
    #[arg(long, conflicts_with_all = ["prometheus_url", "health_rules"])]
    pub no_health: bool,
}

impl HealthArgs {
    /// The agents' health settings, or `None` with `--no-health`.
    pub fn config(&self) -> Result<Option<HealthConfig>> {
        if self.no_health {
            return Ok(None);
        }
        let interval = parse_duration(&self.health_interval)
            .map_err(|e| anyhow::anyhow!("--health-interval: {e}"))?;
        if interval.is_zero() {
            bail!("--health-interval must be positive");
        }
        let source = match &self.prometheus_url {
            Some(url) => HealthSource::Prometheus { url: url.clone() },
            None => HealthSource::Scrape,
        };
        Ok(Some(HealthConfig {
            rules: load_rules(self.health_rules.as_ref())?,
            interval,
            source,
        }))
    }
}
