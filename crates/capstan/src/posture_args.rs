//! The agent's posture flags, shared by `capstan agent`, the hub's hosted agents and the demo.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use capstan_agent::posture::PostureConfig;
use capstan_core::duration::parse_duration;
use capstan_core::posture::exceptions::Exceptions;

#[derive(clap::Args, Debug, Clone)]
pub struct PostureArgs {
    /// Real time between security posture evaluations.
    #[arg(long, default_value = "10m")]
    pub posture_interval: String,
    /// A posture exceptions file (YAML, kind PostureExceptions): findings it matches are
    /// reported as excepted and count towards coverage. A bad file stops the start with an
    /// error naming the field and line.
    #[arg(long)]
    pub posture_exceptions: Option<PathBuf>,
    /// Do not evaluate security posture.
    #[arg(long, conflicts_with = "posture_exceptions")]
    pub no_posture: bool,
}

impl PostureArgs {
    /// The agents' posture settings, or `None` with `--no-posture`.
    pub fn config(&self) -> Result<Option<PostureConfig>> {
        if self.no_posture {
            return Ok(None);
        }
        let interval = parse_duration(&self.posture_interval)
            .map_err(|e| anyhow::anyhow!("--posture-interval: {e}"))?;
        if interval.is_zero() {
            bail!("--posture-interval must be positive");
        }
        Ok(Some(PostureConfig {
            interval,
            exceptions: Arc::new(load_exceptions(self.posture_exceptions.as_ref())?),
            ..PostureConfig::default()
        }))
    }
}

/// The exceptions in `path`, or none.
pub fn load_exceptions(path: Option<&PathBuf>) -> Result<Exceptions> {
    let Some(path) = path else {
        return Ok(Exceptions::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the posture exceptions {}", path.display()))?;
    Exceptions::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
