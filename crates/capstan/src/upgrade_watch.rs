//! `capstan upgrade watch NAME`: follows a ClusterUpgrade on the hub until it ends.
//!
//! On a terminal it draws progress bars (upgraded clusters overall, one bar per canary step,
//! one line per cluster upgrading); elsewhere (pipes, CI, tests) it prints one line per
//! change, as `kubectl get -w` does. Soak and elapsed times are measured against the hub's
//! clock, which the demo scales, never this process's. [`follow`] is the loop, for the demo
//! to call too.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use capstan_clock::Stopwatch;
use capstan_core::duration::{format_duration, parse_duration};
use capstan_core::rollout::RolloutPhase;
use capstan_hub::api::{Status, UpgradeDetail};

use crate::apply_cmd::{HubArg, client};
use crate::upgrade_ctl::{NameArgs, upgrade_url};

mod bars;
mod render;

use bars::Bars;
use render::{Snapshot, bars, is_done, lines};

/// How long one poll of the hub may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest wait between two tries while the hub does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    #[command(flatten)]
    pub upgrade: NameArgs,
    /// How often to ask the hub (real time).
    #[arg(long, default_value = "1s", value_parser = duration_arg)]
    pub interval: Duration,
    /// Also stop (exit 1) when the rollout halts, rather than wait for a retry or resume.
    #[arg(long)]
    pub until_halted: bool,
    /// Give up when the hub has not answered for this long (real time); none: keep trying.
    #[arg(long, value_parser = duration_arg)]
    pub timeout: Option<Duration>,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// How [`follow`] watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FollowOptions {
    /// Between two polls of the hub (real time).
    pub interval: Duration,
    /// Return on Halted too; otherwise a halted rollout is watched until it goes on or ends.
    pub until_halted: bool,
    /// How long the hub may fail to answer (real time) before giving up; `None`: never.
    pub timeout: Option<Duration>,
    /// Draw bars (`true`) or print change lines (`false`); `None`: bars when standard
    /// output is a terminal.
    pub terminal: Option<bool>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            until_halted: false,
            timeout: None,
            terminal: None,
        }
    }
}

pub async fn run(args: WatchArgs) -> Result<()> {
    let options = FollowOptions {
        interval: args.interval,
        until_halted: args.until_halted,
        timeout: args.timeout,
        terminal: None,
    };
    let name = &args.upgrade.name;
    let detail = follow(&client()?, &args.upgrade.hub.hub, name, &options).await?;
    let state = Snapshot::new(detail)?.state;
    if state.phase == RolloutPhase::Succeeded {
        return Ok(());
    }
    if state.message.is_empty() {
        bail!("clusterupgrade/{name} {:?}", state.phase);
    }
    bail!("clusterupgrade/{name} {:?}: {}", state.phase, state.message)
}

/// Where the watch shows what it sees.
enum View {
    Lines,
    /// The bars, drawn from the first answer on.
    Bars(Option<Bars>),
}

impl View {
    fn show(&mut self, previous: Option<&Snapshot>, next: &Snapshot) {
        let changes = lines(previous, next);
        match self {
            Self::Lines => {
                for line in changes {
                    println!("{line}");
                }
            }
            Self::Bars(slot) => {
                let view = bars(next);
                let drawn = slot.get_or_insert_with(|| Bars::new(&view));
                for line in &changes {
                    drawn.println(line);
                }
                drawn.update(&view);
            }
        }
    }

    fn finish(self) {
        if let Self::Bars(Some(drawn)) = self {
            drawn.finish();
        }
    }
}

/// Polls `GET {base_url}/api/v1/upgrades/{name}` every `options.interval`, showing each
/// change (bars on a terminal, lines elsewhere), until the rollout is Succeeded, Failed or
/// Aborted (or Halted with `until_halted`), and returns that last answer. While the hub does
/// not answer (or answers 5xx) it retries with a doubling backoff up to 30 s, and fails once
/// `options.timeout` has passed without an answer; a 4xx (an unknown name) fails at once.
/// Prints nothing after it returns.
pub(crate) async fn follow(
    http: &reqwest::Client,
    base_url: &str,
    name: &str,
    options: &FollowOptions,
) -> Result<UpgradeDetail> {
    let terminal = options
        .terminal
        .unwrap_or_else(|| std::io::stdout().is_terminal());
    let mut view = if terminal {
        View::Bars(None)
    } else {
        View::Lines
    };
    let result = follow_in(http, base_url, name, options, &mut view).await;
    view.finish();
    result
}

async fn follow_in(
    http: &reqwest::Client,
    base_url: &str,
    name: &str,
    options: &FollowOptions,
    view: &mut View,
) -> Result<UpgradeDetail> {
    let hub = HubArg {
        hub: base_url.to_string(),
    };
    let url = upgrade_url(&hub, name, None)?;
    let mut previous: Option<Snapshot> = None;
    // Since when the hub has not answered, and how long to wait before the next try.
    let mut outage: Option<Stopwatch> = None;
    let mut backoff = options.interval;
    loop {
        match poll(http, &url, name).await? {
            Poll::Answer(detail) => {
                if outage.take().is_some() {
                    tracing::info!(hub = %base_url, "the hub answers again");
                }
                backoff = options.interval;
                let next = Snapshot::new(detail)?;
                view.show(previous.as_ref(), &next);
                if is_done(next.state.phase, options.until_halted) {
                    return Ok(next.detail);
                }
                previous = Some(next);
                tokio::time::sleep(options.interval).await;
            }
            Poll::Unreachable(error) => {
                let since = outage.get_or_insert_with(|| {
                    tracing::warn!(hub = %base_url, error = %format!("{error:#}"), "the hub does not answer; retrying");
                    Stopwatch::start()
                });
                let mut wait = backoff;
                if let Some(timeout) = options.timeout {
                    let waited = since.elapsed();
                    if waited >= timeout {
                        return Err(error.context(format!(
                            "watching upgrade {name:?}: the hub at {base_url} has not answered for {} (--timeout {})",
                            format_duration(Duration::from_secs(waited.as_secs())),
                            format_duration(timeout)
                        )));
                    }
                    // Try once more right at the deadline rather than sleep past it.
                    wait = wait.min(timeout - waited);
                }
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).clamp(options.interval, MAX_BACKOFF.max(options.interval));
            }
        }
    }
}

/// One poll's outcome; errors that retrying cannot fix are the `Err` of [`poll`].
enum Poll {
    Answer(UpgradeDetail),
    /// No answer, or a server error: worth another try.
    Unreachable(anyhow::Error),
}

async fn poll(http: &reqwest::Client, url: &reqwest::Url, name: &str) -> Result<Poll> {
    let response = match http.get(url.clone()).timeout(REQUEST_TIMEOUT).send().await {
        Ok(response) => response,
        Err(error) => return Ok(Poll::Unreachable(error.into())),
    };
    let status = response.status();
    let body = match response.text().await {
        Ok(body) => body,
        Err(error) => return Ok(Poll::Unreachable(error.into())),
    };
    // The hub's `Status` message, or the body as text if it is not one.
    let message = || {
        serde_json::from_str::<Status>(&body)
            .map(|s| s.message)
            .unwrap_or_else(|_| body.trim().to_string())
    };
    if status.is_server_error() {
        return Ok(Poll::Unreachable(anyhow!("{status}: {}", message())));
    }
    if !status.is_success() {
        bail!("watching upgrade {name:?}: {status}: {}", message());
    }
    let detail = serde_json::from_str(&body)
        .map_err(|e| anyhow!("watching upgrade {name:?}: decoding the answer: {e}"))?;
    Ok(Poll::Answer(detail))
}
