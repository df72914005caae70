//! `capstan hub`: the hub's API and rollout controller over a SQLite file.
//!
//! The API is served over plain HTTP: listen on loopback (the default) or put it behind a
//! TLS-terminating proxy until the hub serves TLS and authenticates users itself.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use capstan_clock::{SharedClock, SystemClock};
use capstan_core::duration::parse_duration;
use capstan_hub::api::{ApiState, hash_token, router};
use capstan_hub::rollout::RolloutController;
use capstan_hub::store::SqliteStore;
use tracing::info;

#[derive(clap::Args, Debug)]
pub struct HubArgs {
    /// Address to serve the API on, over plain HTTP: keep it on loopback or behind a TLS proxy.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Directory for the hub's database (`hub.db`) and generated bootstrap token.
    #[arg(long, default_value = "capstan-hub")]
    pub data_dir: PathBuf,
    /// File holding the token agents register with (default: `<data-dir>/bootstrap-token`,
    /// generated with mode 0600 if missing).
    #[arg(long)]
    pub bootstrap_token_file: Option<PathBuf>,
    /// How long an agent may stay silent before its cluster shows as Unknown (e.g. 2m).
    #[arg(long, default_value = "2m")]
    pub lease: String,
    /// How often the rollout controller reconciles every live upgrade (e.g. 2s).
    #[arg(long, default_value = "2s")]
    pub reconcile_every: String,
}

pub async fn run(args: HubArgs) -> Result<()> {
    let lease = parse_duration(&args.lease).map_err(|e| anyhow::anyhow!("--lease: {e}"))?;
    let every = parse_duration(&args.reconcile_every)
        .map_err(|e| anyhow::anyhow!("--reconcile-every: {e}"))?;
    if lease.is_zero() || every.is_zero() {
        bail!("--lease and --reconcile-every must be positive");
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let bootstrap = match &args.bootstrap_token_file {
        Some(path) => read_token(path)?,
        None => generated_token(&args.data_dir.join("bootstrap-token"))?,
    };
    let db = args.data_dir.join("hub.db");
    let store = SqliteStore::open(&db)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = ApiState::new(Arc::new(store), clock, hash_token(&bootstrap), lease);
    let controller = tokio::spawn(RolloutController::from_api(&state).run(every));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    info!(%address, db = %db.display(), "hub serving (plain HTTP)");
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            // An error here means no signal handler could be installed; stopping is then
            // left to the process being killed.
            if tokio::signal::ctrl_c().await.is_ok() {
                info!("interrupted: stopping");
            } else {
                std::future::pending::<()>().await;
            }
        })
        .await;
    controller.abort();
    served.context("serving the hub API")
}

/// The token in `path`, trimmed; it must not be empty.
fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the bootstrap token from {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("{} holds no bootstrap token", path.display());
    }
    Ok(token.to_string())
}

/// The token in `path`, first generated there (mode 0600) if the file does not exist. Its
/// location is logged; the token itself never is.
fn generated_token(path: &Path) -> Result<String> {
    if path.exists() {
        info!(path = %path.display(), "using the bootstrap token in this file");
        return read_token(path);
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    info!(path = %path.display(), "generated a bootstrap token for agents (mode 0600)");
    Ok(token)
}
