//! The agent's cost flags, shared by `capstan agent`, the hub's hosted agents and the demo.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use capstan_agent::cost::{CostConfig, CostSource};
use capstan_core::cost::PriceSheet;
use capstan_core::duration::parse_duration;
use capstan_core::rightsizing::Strategy;

#[derive(clap::Args, Debug, Clone)]
pub struct CostArgs {
    /// A price sheet (YAML, `capstan cost prices` prints the defaults) overriding OpenCost's
    /// default prices by provider, region and instance type; a bad file stops the start
    /// with an error naming the field and line.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Real time between usage samples (the VPA recommender samples every minute).
    #[arg(long, default_value = "1m")]
    pub cost_interval: String,
    /// Right-sizing strategy: `vpa` (the VPA recommender's algorithm) or `simple` (KRR's).
    #[arg(long, default_value = "vpa")]
    pub strategy: Strategy,
    /// Read usage from this Prometheus (cAdvisor series, with egress) instead of the
    /// Metrics API; defaults to --prometheus-url when that is given.
    #[arg(long)]
    pub cost_prometheus_url: Option<String>,
    /// Agent-clock time between right-sizing checkpoints (ConfigMaps in kube-system that
    /// keep the usage histograms across agent restarts, as the VPA's checkpoints); `0` keeps
    /// them in memory only.
    #[arg(long, default_value = "10m")]
    pub rightsizing_checkpoint_interval: String,
    /// Do not collect cost or recommend.
    #[arg(long, conflicts_with_all = ["prices", "cost_prometheus_url"])]
    pub no_cost: bool,
}

impl CostArgs {
    /// The agents' cost settings, or `None` with `--no-cost`. `prometheus_url` is the health
    /// flag's, used when no cost-specific one is given.
    pub fn config(&self, prometheus_url: Option<&str>) -> Result<Option<CostConfig>> {
        if self.no_cost {
            return Ok(None);
        }
        let interval = parse_duration(&self.cost_interval)
            .map_err(|e| anyhow::anyhow!("--cost-interval: {e}"))?;
        if interval.is_zero() {
            bail!("--cost-interval must be positive");
        }
        let source = match self.cost_prometheus_url.as_deref().or(prometheus_url) {
            Some(url) => CostSource::Prometheus {
                url: url.to_string(),
            },
            None => CostSource::MetricsApi,
        };
        let mut config = CostConfig::new(source).with_strategy(self.strategy);
        config.interval = interval;
        let checkpoints = parse_duration(&self.rightsizing_checkpoint_interval)
            .map_err(|e| anyhow::anyhow!("--rightsizing-checkpoint-interval: {e}"))?;
        config.checkpoint_interval = (!checkpoints.is_zero()).then_some(checkpoints);
        config.prices = Arc::new(load_prices(self.prices.as_ref())?);
        Ok(Some(config))
    }
}

/// The price sheet in `path`, or OpenCost's defaults.
pub fn load_prices(path: Option<&PathBuf>) -> Result<PriceSheet> {
    let Some(path) = path else {
        return Ok(PriceSheet::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the price sheet {}", path.display()))?;
    PriceSheet::parse_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
