//! `capstan bench hub`: the hub under synthetic agents — report latency, the hub's CPU and
//! memory alone, and the time to plan and start a `ClusterUpgrade` over the whole fleet.
//!
//! The hub runs as a child process (`capstan hub`) on a temporary data directory, so that its
//! CPU time and resident memory are read from `/proc/<pid>` apart from the load generator's.
//! This process registers N clusters through the real API, then each synthetic agent posts a
//! Small-tier-shaped report every `--report-every` (starts spread evenly over one period) and,
//! as agents in production do, holds a work long-poll open, re-issuing it when it returns.
//! Every report body is serialised once, up front: what is measured is the hub, and the load
//! generator shares the machine's cores with it.
//!
//! With `--alerts-share S` the same run shape is run twice, each on a fresh hub: first without
//! health reports, then with them (a share S of the agents alerting, the rest healthy; see
//! [`alerts`]), and the reads that aggregate alerts are timed in both.

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use capstan_clock::{SharedClock, Stopwatch, SystemClock};
use capstan_core::duration::parse_duration;
use capstan_core::rng::SimRng;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::bench::rss_mib;

mod alerts;
mod synthetic;
use alerts::HealthTemplate;
use synthetic::{cluster_labels, cluster_name, synthetic_summary};

/// Linux reports `/proc/<pid>/stat` CPU times in USER_HZ ticks, 100 per second on every
/// architecture Rust targets (`sysconf(_SC_CLK_TCK)`).
const TICKS_PER_SECOND: f64 = 100.0;
/// How long the hub may take to serve after it is started.
const HUB_READY: Duration = Duration::from_secs(60);
/// An agent's long-poll, as `capstan agent` asks for it.
const LONG_POLL_WAIT: &str = "60s";
/// Longest wait for step 1 of the upgrade to be started and its work queued.
const UPGRADE_DEADLINE: Duration = Duration::from_secs(300);
/// The canonical example of DESIGN.md, verbatim.
const CANONICAL_UPGRADE: &str = include_str!("../../../examples/canary-upgrade.yaml");
const UPGRADE_NAME: &str = "prod-canary";

#[derive(clap::Args, Debug)]
pub struct HubBench {
    /// Synthetic clusters (one agent each).
    #[arg(long, default_value_t = 5_000)]
    pub clusters: usize,
    /// How often each agent reports.
    #[arg(long, default_value = "10s")]
    pub report_every: String,
    /// Length of the measured steady window.
    #[arg(long, default_value = "60s")]
    pub duration: String,
    /// Reporting before the steady window starts (connections warm, the database settled).
    #[arg(long, default_value = "20s")]
    pub warmup: String,
    /// Each agent holds a work long-poll open (`GET .../work?wait=60s`), as in production.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub long_polls: bool,
    /// After the steady window, apply the canonical ClusterUpgrade over every cluster and
    /// time how long planning and starting its first step take.
    #[arg(long)]
    pub upgrade: bool,
    /// With --upgrade: a second measured window while the rollout is live.
    #[arg(long, default_value = "20s")]
    pub after_upgrade: String,
    /// Registrations in flight at once.
    #[arg(long, default_value_t = 64)]
    pub register_concurrency: usize,
    /// HTTP clients (each a keep-alive connection pool) the agents' reports share.
    #[arg(long, default_value_t = 16)]
    pub report_clients: usize,
    /// Seed of the synthetic summaries.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run twice, without and then with health reports: this share of the agents reports
    /// 1-50 pending or firing alerts, the others a healthy evaluation.
    #[arg(long)]
    pub alerts_share: Option<f64>,
    /// After each steady window, time this many sequential GETs of `/api/v1/alerts` (all, and
    /// one region's critical ones), `/api/v1/clusters` and `/metrics`.
    #[arg(long, default_value_t = 50)]
    pub read_requests: usize,
}

/// One report as the load generator saw it.
#[derive(Clone, Copy)]
struct Sample {
    /// When it was sent, seconds since reporting began.
    at_s: f64,
    latency_ms: f64,
    ok: bool,
}

/// What the agents' tasks record, shared with the measuring side.
#[derive(Default)]
struct Recorder {
    samples: Mutex<Vec<Sample>>,
    /// Report and long-poll failures: a short description and how often it happened.
    errors: Mutex<BTreeMap<String, u64>>,
    /// Long-polls that returned with no work (their wait ran out) and were re-issued.
    polls_returned_empty: Mutex<u64>,
    /// Cluster index -> seconds since reporting began when its long-poll handed it work.
    got_work: Mutex<HashMap<usize, f64>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking agent task cannot leave these counters inconsistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    fn error(&self, what: String) {
        *locked(&self.errors).entry(what).or_default() += 1;
    }
}

/// A `capstan hub` child on a temporary data directory; killed when dropped.
struct ChildHub {
    child: tokio::process::Child,
    pid: u32,
    dir: tempfile::TempDir,
    base: String,
    bootstrap_token: String,
}

impl ChildHub {
    async fn start(http: &reqwest::Client) -> Result<Self> {
        let exe = std::env::current_exe().context("locating the capstan binary")?;
        let dir = tempfile::tempdir()?;
        let bootstrap_token = "bench-bootstrap-token".to_string();
        let token_file = dir.path().join("bootstrap-token");
        std::fs::write(&token_file, format!("{bootstrap_token}\n"))?;
        // `capstan hub` logs its address but does not print it on stdout: take a free port
        // first (another process could grab it in between; the readiness wait would say so).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(dir.path().join("hub.log"))?;
        let child = tokio::process::Command::new(exe)
            .arg("hub")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--bootstrap-token-file")
            .arg(&token_file)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .context("starting `capstan hub`")?;
        let pid = child.id().context("the hub's pid")?;
        let mut hub = Self {
            child,
            pid,
            dir,
            base: format!("http://127.0.0.1:{port}"),
            bootstrap_token,
        };
        let sw = Stopwatch::start();
        loop {
            if let Some(status) = hub.child.try_wait()? {
                bail!("`capstan hub` exited ({status}):\n{}", hub.log_tail());
            }
            let probe = http.get(hub.url("/api/v1/clusters")).send().await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                return Ok(hub);
            }
            if sw.elapsed() > HUB_READY {
                bail!("`capstan hub` did not serve in time:\n{}", hub.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("hub.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The hub's database files (the main file and its WAL), in MiB.
    fn db_mib(&self) -> f64 {
        let data = self.dir.path().join("data");
        ["hub.db", "hub.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(data.join(f)).ok())
            .map(|m| m.len() as f64 / (1024.0 * 1024.0))
            .sum()
    }
}

/// User plus system CPU ticks of process `pid` (`self` for this one), from `/proc/<pid>/stat`.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its ')' start at field 3,
    // so utime (field 14) and stime (field 15) are the 12th and 13th of them.
    let mut rest = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some(utime + stime)
}

/// One synthetic agent: its cluster, token and serialised report.
struct SyntheticAgent {
    index: usize,
    name: String,
    token: String,
    /// Serialised once; every send shares it (a `Bytes` clone copies nothing).
    report: Bytes,
    /// The health report each send adds, when the phase sends them.
    health: Option<HealthTemplate>,
}

impl SyntheticAgent {
    /// The body of the agent's `sent`-th report (0 for the first).
    fn body(&self, sent: u64, clock: &SharedClock) -> Bytes {
        match &self.health {
            None => self.report.clone(),
            Some(h) => h.body(&self.report, sent, clock.now()),
        }
    }
}

async fn register_all(
    hub: &ChildHub,
    http: &reqwest::Client,
    b: &HubBench,
    alerts_share: Option<f64>,
    clock: &SharedClock,
) -> Result<Vec<SyntheticAgent>> {
    let now = clock.now();
    let mut rng = SimRng::new(b.seed);
    // Apart from the summaries' generator, so both phases report the same summaries.
    let mut health_rng = SimRng::new(b.seed).fork("health");
    let mut prepared = Vec::with_capacity(b.clusters);
    for index in 0..b.clusters {
        let summary = synthetic_summary(&mut rng, index, now);
        let body = capstan_agent::report::report_body(&summary, &cluster_labels(index));
        let health = match alerts_share {
            None => None,
            Some(share) if health_rng.chance(share) => {
                Some(HealthTemplate::alerting(&mut health_rng, index, now)?)
            }
            Some(_) => Some(HealthTemplate::healthy(&mut health_rng)),
        };
        prepared.push((index, Bytes::from(serde_json::to_vec(&body)?), health));
    }
    let url = hub.url("/api/v1/agents/register");
    let agents: Vec<Result<SyntheticAgent>> = futures::stream::iter(prepared)
        .map(|(index, report, health)| {
            let (http, url) = (http.clone(), url.clone());
            let token = hub.bootstrap_token.clone();
            async move {
                let name = cluster_name(index);
                let response = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"cluster": name, "labels": cluster_labels(index)}))
                    .send()
                    .await?;
                let status = response.status();
                if !status.is_success() {
                    bail!("registering {name}: {status}: {}", response.text().await?);
                }
                let answer: Value = response.json().await?;
                let token = answer["token"]
                    .as_str()
                    .context("the registration's token")?
                    .to_string();
                Ok(SyntheticAgent {
                    index,
                    name,
                    token,
                    report,
                    health,
                })
            }
        })
        .buffer_unordered(b.register_concurrency.max(1))
        .collect()
        .await;
    agents.into_iter().collect()
}

/// Posts the agent's report every `period`, the first after `offset`, recording each.
#[allow(clippy::too_many_arguments)]
async fn report_loop(
    http: reqwest::Client,
    url: String,
    agent: Arc<SyntheticAgent>,
    offset: Duration,
    period: Duration,
    began: Arc<Stopwatch>,
    rec: Arc<Recorder>,
    clock: SharedClock,
) {
    tokio::time::sleep(offset).await;
    let mut ticks = tokio::time::interval(period);
    // A late report is sent once, not in a burst: an agent reports its current state.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for sent in 0.. {
        ticks.tick().await;
        let body = agent.body(sent, &clock);
        let at_s = began.elapsed().as_secs_f64();
        let sw = Stopwatch::start();
        let sent = http
            .post(&url)
            .bearer_auth(&agent.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let ok = match sent {
            Ok(r) if r.status() == StatusCode::NO_CONTENT => true,
            Ok(r) => {
                rec.error(format!("report: HTTP {}", r.status().as_u16()));
                false
            }
            Err(e) => {
                rec.error(format!("report: {}", error_kind(&e)));
                false
            }
        };
        let latency_ms = sw.elapsed().as_secs_f64() * 1000.0;
        locked(&rec.samples).push(Sample {
            at_s,
            latency_ms,
            ok,
        });
    }
}

fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

/// Holds the agent's work long-poll open, re-issuing it when it returns empty; stops when it
/// hands out work (a real agent would be busy upgrading).
async fn long_poll_loop(
    http: reqwest::Client,
    url: String,
    agent: Arc<SyntheticAgent>,
    offset: Duration,
    began: Arc<Stopwatch>,
    rec: Arc<Recorder>,
) {
    tokio::time::sleep(offset).await;
    loop {
        let answer = http
            .get(&url)
            .bearer_auth(&agent.token)
            .query(&[("wait", LONG_POLL_WAIT)])
            .send()
            .await;
        let items = match answer {
            Ok(r) if r.status().is_success() => r.json::<Vec<Value>>().await.ok(),
            Ok(r) => {
                rec.error(format!("long-poll: HTTP {}", r.status().as_u16()));
                None
            }
            Err(e) => {
                rec.error(format!("long-poll: {}", error_kind(&e)));
                None
            }
        };
        match items {
            Some(items) if !items.is_empty() => {
                let at = began.elapsed().as_secs_f64();
                locked(&rec.got_work).insert(agent.index, at);
                return;
            }
            Some(_) => *locked(&rec.polls_returned_empty) += 1,
            // Back off after an error rather than spin against a struggling hub.
            None => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A measured stretch of time: the hub's and this process's CPU over it, and the reports sent
/// within it.
async fn measure_window(
    hub: &ChildHub,
    began: &Stopwatch,
    rec: &Recorder,
    length: Duration,
    expected_per_second: f64,
) -> Value {
    let pid = hub.pid.to_string();
    let start_s = began.elapsed().as_secs_f64();
    let (hub0, own0) = (cpu_ticks(&pid), cpu_ticks("self"));
    tokio::time::sleep(length).await;
    let (hub1, own1) = (cpu_ticks(&pid), cpu_ticks("self"));
    let end_s = began.elapsed().as_secs_f64();
    let wall = end_s - start_s;
    let share = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => json!(b.saturating_sub(a) as f64 / TICKS_PER_SECOND / wall),
        _ => Value::Null,
    };
    let (sent, errors, mut latencies) = {
        let samples = locked(&rec.samples);
        let window: Vec<Sample> = samples
            .iter()
            .filter(|s| s.at_s >= start_s && s.at_s < end_s)
            .copied()
            .collect();
        let errors = window.iter().filter(|s| !s.ok).count();
        let ok: Vec<f64> = window
            .iter()
            .filter(|s| s.ok)
            .map(|s| s.latency_ms)
            .collect();
        (window.len(), errors, ok)
    };
    latencies.sort_by(f64::total_cmp);
    let (rss, hwm) = crate::bench::proc_memory_mib(&hub.pid.to_string()).unwrap_or((0.0, 0.0));
    json!({
        "seconds": wall,
        "reports_sent": sent,
        "errors": errors,
        "reports_per_second": sent as f64 / wall,
        "expected_reports_per_second": expected_per_second,
        "latency_ms": {
            "p50": percentile(&latencies, 0.50),
            "p90": percentile(&latencies, 0.90),
            "p99": percentile(&latencies, 0.99),
            "max": latencies.last().copied().unwrap_or(0.0),
        },
        "hub_cpu_share_of_one_core": share(hub0, hub1),
        "hub_rss_mib": rss,
        "hub_peak_rss_mib": hwm,
        "load_generator_cpu_share_of_one_core": share(own0, own1),
    })
}

/// Applies the canonical upgrade and waits until step 1's clusters are Upgrading and their
/// work is queued (handed to their long-polls, or listed by the work endpoint).
async fn upgrade(
    hub: &ChildHub,
    http: &reqwest::Client,
    agents: &[Arc<SyntheticAgent>],
    long_polls: bool,
    began: &Stopwatch,
    rec: &Recorder,
) -> Result<Value> {
    let posted_at = began.elapsed().as_secs_f64();
    let sw = Stopwatch::start();
    let response = http
        .post(hub.url("/api/v1/upgrades"))
        .header(reqwest::header::CONTENT_TYPE, "application/yaml")
        .body(CANONICAL_UPGRADE)
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    let post_ms = sw.elapsed().as_secs_f64() * 1000.0;
    if status != StatusCode::CREATED {
        bail!(
            "applying the upgrade: {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let created: Value = serde_json::from_slice(&body)?;
    let step_one = created["status"]["plan"]["stepTargets"][0]
        .as_u64()
        .context("the plan's first step target")? as usize;
    let frozen = created["status"]["plan"]["clusters"]
        .as_array()
        .map_or(0, Vec::len);

    let by_name: HashMap<&str, &SyntheticAgent> = agents
        .iter()
        .map(|a| (a.name.as_str(), a.as_ref()))
        .collect();
    let mut get_ms = Vec::new();
    loop {
        if sw.elapsed() > UPGRADE_DEADLINE {
            bail!("step 1 of the upgrade was not started within {UPGRADE_DEADLINE:?}");
        }
        let get = Stopwatch::start();
        let detail: Value = http
            .get(hub.url(&format!("/api/v1/upgrades/{UPGRADE_NAME}")))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        get_ms.push(get.elapsed().as_secs_f64() * 1000.0);
        let upgrading: Vec<&str> = detail["clusters"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter(|c| c["state"] == "Upgrading")
                    .filter_map(|c| c["cluster"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let queued = upgrading.len() >= step_one
            && work_queued(hub, http, &by_name, &upgrading, long_polls, rec).await?;
        if queued {
            break;
        }
        if get_ms.len() % 40 == 1 {
            let handed = locked(&rec.got_work).len();
            tracing::info!(
                upgrading = upgrading.len(),
                step_one,
                handed,
                "waiting for step 1"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started_ms = sw.elapsed().as_secs_f64() * 1000.0;
    let handed_out: Vec<f64> = locked(&rec.got_work)
        .values()
        .map(|at| (at - posted_at) * 1000.0)
        .collect();
    Ok(json!({
        "clusters_frozen": frozen,
        "step_one_clusters": step_one,
        "post_ms": post_ms,
        "post_response_bytes": body.len(),
        "step_one_started_and_queued_ms": started_ms,
        "get_upgrade_ms": get_ms,
        "long_polls_handed_work": handed_out.len(),
        "last_long_poll_handed_work_ms": handed_out.iter().copied().fold(0.0, f64::max),
    }))
}

/// Whether every cluster in `upgrading` has its work: handed to its long-poll, or (without
/// long-polls) listed by its work endpoint.
async fn work_queued(
    hub: &ChildHub,
    http: &reqwest::Client,
    by_name: &HashMap<&str, &SyntheticAgent>,
    upgrading: &[&str],
    long_polls: bool,
    rec: &Recorder,
) -> Result<bool> {
    if long_polls {
        let got = locked(&rec.got_work);
        return Ok(upgrading
            .iter()
            .all(|c| by_name.get(c).is_some_and(|a| got.contains_key(&a.index))));
    }
    let checks: Vec<Result<bool>> = futures::stream::iter(upgrading)
        .map(|cluster| async move {
            let agent = by_name.get(cluster).context("an unknown cluster")?;
            let items: Vec<Value> = http
                .get(hub.url(&format!("/api/v1/agents/{cluster}/work")))
                .bearer_auth(&agent.token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok(!items.is_empty())
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for check in checks {
        if !check? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn seconds(flag: &str, text: &str) -> Result<Duration> {
    parse_duration(text).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
}

fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .tcp_nodelay(true)
        .build()?)
}

pub async fn run(b: HubBench) -> Result<Value> {
    let Some(share) = b.alerts_share else {
        let mut report = run_phase(&b, None).await?;
        report["bench"] = json!("hub");
        return Ok(report);
    };
    if !(0.0..=1.0).contains(&share) {
        bail!("--alerts-share must be between 0 and 1");
    }
    tracing::info!("phase 1 of 2: no health reports");
    let without = run_phase(&b, None).await?;
    tracing::info!(share, "phase 2 of 2: health reports");
    let with = run_phase(&b, Some(share)).await?;
    Ok(json!({
        "bench": "hub",
        "clusters": b.clusters,
        "alerts_share": share,
        "ratios_with_over_without": alerts::ratios(&without, &with),
        "without_health": without,
        "with_health": with,
    }))
}

/// One run on a fresh hub: register, warm up, the steady window, the reads, and the upgrade
/// when asked. `alerts_share`: whether reports carry health reports, and how many alert.
async fn run_phase(b: &HubBench, alerts_share: Option<f64>) -> Result<Value> {
    let period = seconds("report-every", &b.report_every)?;
    let steady = seconds("duration", &b.duration)?;
    let warmup = seconds("warmup", &b.warmup)?;
    let after_upgrade = seconds("after-upgrade", &b.after_upgrade)?;
    if b.clusters == 0 || period.is_zero() || steady.is_zero() {
        bail!("--clusters, --report-every and --duration must be positive");
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let control = http_client(Duration::from_secs(120))?;
    let hub = ChildHub::start(&control).await?;
    tracing::info!(pid = hub.pid, url = %hub.base, "hub serving; registering clusters");

    let sw = Stopwatch::start();
    let agents = register_all(&hub, &control, b, alerts_share, &clock).await?;
    let register_s = sw.elapsed().as_secs_f64();
    let body_bytes = agents
        .iter()
        .map(|a| a.body(0, &clock).len())
        .sum::<usize>()
        / agents.len().max(1);
    let health_reports = alerts_share.map(|_| {
        let alerting: Vec<usize> = agents
            .iter()
            .filter_map(|a| a.health.as_ref().map(HealthTemplate::alert_count))
            .filter(|&n| n > 0)
            .collect();
        json!({
            "clusters_alerting": alerting.len(),
            "alerts_reported": alerting.iter().sum::<usize>(),
        })
    });
    let agents: Vec<Arc<SyntheticAgent>> = agents.into_iter().map(Arc::new).collect();

    let rec = Arc::new(Recorder::default());
    let began = Arc::new(Stopwatch::start());
    let report_clients: Vec<reqwest::Client> = (0..b.report_clients.max(1))
        .map(|_| http_client(Duration::from_secs(30)))
        .collect::<Result<_>>()?;
    let poll_client = http_client(Duration::from_secs(90))?;
    let mut tasks = JoinSet::new();
    let n = agents.len();
    for (i, agent) in agents.iter().enumerate() {
        // Evenly spread over one period, so that the hub sees a steady rate, not waves.
        let offset = period.mul_f64(i as f64 / n as f64);
        let http = report_clients[i % report_clients.len()].clone();
        let url = hub.url(&format!("/api/v1/agents/{}/report", agent.name));
        tasks.spawn(report_loop(
            http,
            url,
            agent.clone(),
            offset,
            period,
            began.clone(),
            rec.clone(),
            clock.clone(),
        ));
        if b.long_polls {
            let url = hub.url(&format!("/api/v1/agents/{}/work", agent.name));
            tasks.spawn(long_poll_loop(
                poll_client.clone(),
                url,
                agent.clone(),
                offset,
                began.clone(),
                rec.clone(),
            ));
        }
    }
    let expected = n as f64 / period.as_secs_f64();
    tracing::info!(
        clusters = n,
        register_s,
        "registered; agents reporting, warming up"
    );
    tokio::time::sleep(warmup).await;
    tracing::info!("steady window");
    let steady_window = measure_window(&hub, &began, &rec, steady, expected).await;
    let reads = if b.read_requests > 0 {
        tracing::info!(requests = b.read_requests, "timing the reads");
        alerts::measure_reads(&hub, &control, b.read_requests).await?
    } else {
        Value::Null
    };

    let (upgrade_result, after) = if b.upgrade {
        tracing::info!("applying the upgrade");
        let u = upgrade(&hub, &control, &agents, b.long_polls, &began, &rec).await?;
        let w = measure_window(&hub, &began, &rec, after_upgrade, expected).await;
        (u, w)
    } else {
        (Value::Null, Value::Null)
    };
    tasks.abort_all();
    let errors = locked(&rec.errors).clone();
    let polls_empty = *locked(&rec.polls_returned_empty);
    let (bench_rss, _) = rss_mib();
    Ok(json!({
        "clusters": n,
        "report_every_seconds": period.as_secs_f64(),
        "long_polls": b.long_polls,
        "report_body_bytes": body_bytes,
        "health_reports": health_reports,
        "registration": {"seconds": register_s, "per_second": n as f64 / register_s},
        "steady": steady_window,
        "reads": reads,
        "upgrade": upgrade_result,
        "after_upgrade": after,
        "long_polls_returned_empty_and_reissued": polls_empty,
        "errors_by_kind": errors,
        "hub_db_mib": hub.db_mib(),
        "load_generator_rss_mib": bench_rss,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn cpu_ticks_reads_this_process() {
        assert!(cpu_ticks("self").is_some());
    }

    #[test]
    fn the_canonical_upgrade_parses() {
        let u = capstan_core::rollout::parse_cluster_upgrade(CANONICAL_UPGRADE).unwrap();
        assert_eq!(u.effective_name(), UPGRADE_NAME);
    }
}
