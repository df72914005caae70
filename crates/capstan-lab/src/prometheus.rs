//! A real Prometheus server (Debian's `prometheus` package) scraping twin clusters, for the
//! tests and benchmarks that hold the agent's own evaluation against Prometheus'.
//!
//! The scrape targets are the agent's ([`capstan_agent::health::targets`]) written as
//! `file_sd_configs` files, one scrape job per cluster with the cluster's CA and bearer
//! token, so Prometheus' series carry the same labels as the agent's. Nodes come and go
//! during an upgrade, so [`LabPrometheus::refresh_targets`] rewrites the files (atomically:
//! Prometheus watches them) from the clusters' node lists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use capstan_agent::health::targets::{Job, file_sd, scrape_targets};
use capstan_core::health::{RuleSet, export};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use crate::{LabError, LabTwin, eventually};

/// Where Prometheus is looked for: `$PROMETHEUS`, else `prometheus` on PATH.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMETHEUS") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|candidate| candidate.is_file())
    })
}

/// How Prometheus reaches the twin: its `host:port`, its CA, and each cluster's token.
#[derive(Clone)]
pub struct TwinAccess {
    pub address: String,
    pub ca_file: PathBuf,
    /// (cluster, bearer token)
    pub clusters: Vec<(String, String)>,
}

impl TwinAccess {
    /// The access to `clusters` of a lab twin.
    pub fn of_lab(lab: &LabTwin, clusters: &[String]) -> Result<Self, LabError> {
        let tokens = clusters
            .iter()
            .map(|c| {
                let token = lab
                    .twin
                    .cluster(c)
                    .ok_or_else(|| LabError(format!("no cluster {c} in the twin")))?
                    .token()
                    .to_string();
                Ok((c.clone(), token))
            })
            .collect::<Result<_, LabError>>()?;
        Ok(Self {
            address: lab
                .base_url
                .strip_prefix("https://")
                .unwrap_or(&lab.base_url)
                .to_string(),
            ca_file: lab.dir.path().join("ca.crt"),
            clusters: tokens,
        })
    }
}

/// A Prometheus child process on loopback; killed when dropped.
pub struct LabPrometheus {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    dir: tempfile::TempDir,
    access: TwinAccess,
    jobs: BTreeSet<Job>,
}

impl LabPrometheus {
    /// Starts Prometheus scraping the `jobs` of every cluster of `access` every `interval`
    /// (real time), evaluating `rules` as alerting rules when given, with each cluster's
    /// targets from `nodes`; waits until it is ready.
    pub async fn start(
        access: TwinAccess,
        jobs: BTreeSet<Job>,
        interval: Duration,
        rules: Option<&RuleSet>,
        nodes: &BTreeMap<String, Vec<String>>,
    ) -> Result<Self, LabError> {
        let binary = binary().ok_or_else(|| {
            LabError(
                "prometheus not found: install Debian's `prometheus` package or set $PROMETHEUS"
                    .into(),
            )
        })?;
        let err = |what: &str| {
            let what = what.to_string();
            move |e: std::io::Error| LabError(format!("{what}: {e}"))
        };
        let dir = tempfile::tempdir().map_err(err("temp dir"))?;
        let mut config = format!(
            "global:\n  scrape_interval: {ms}ms\n  scrape_timeout: {timeout}ms\n  evaluation_interval: {ms}ms\n",
            ms = interval.as_millis(),
            timeout = (interval.as_millis() * 9 / 10).max(100),
        );
        if let Some(rules) = rules {
            let path = dir.path().join("rules.json");
            // JSON is YAML: Prometheus reads the rule file either way.
            std::fs::write(&path, export::prometheus_rule_file(rules).to_string())
                .map_err(err("writing the rule file"))?;
            config.push_str(&format!("rule_files: [{}]\n", path.display()));
        }
        config.push_str("scrape_configs:\n");
        for (cluster, token) in &access.clusters {
            let token_file = dir.path().join(format!("{cluster}.token"));
            write_private(&token_file, token).map_err(err("writing a token file"))?;
            config.push_str(&format!(
                "- job_name: capstan-{cluster}\n  scheme: https\n  tls_config:\n    ca_file: {ca}\n  authorization:\n    credentials_file: {token}\n  file_sd_configs:\n  - files: [{sd}]\n",
                ca = access.ca_file.display(),
                token = token_file.display(),
                sd = sd_path(dir.path(), cluster).display(),
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), &config)
            .map_err(err("writing prometheus.yml"))?;
        let port = free_port().map_err(err("finding a free port"))?;
        let log =
            std::fs::File::create(dir.path().join("prometheus.log")).map_err(err("log file"))?;
        let child = tokio::process::Command::new(&binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(err("starting prometheus"))?;
        let me = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            access,
            jobs,
        };
        me.refresh_targets(nodes)?;
        let http = reqwest::Client::new();
        let ready = format!("{}/-/ready", me.url);
        eventually("prometheus to be ready", Duration::from_secs(60), || {
            let (http, ready) = (http.clone(), ready.clone());
            async move {
                let r = http.get(&ready).send().await.ok()?;
                r.status().is_success().then_some(())
            }
        })
        .await;
        Ok(me)
    }

    /// Starts Prometheus on `clusters` of a lab twin, targets from their current nodes.
    pub async fn start_on_lab(
        lab: &LabTwin,
        clusters: &[String],
        jobs: BTreeSet<Job>,
        interval: Duration,
    ) -> Result<Self, LabError> {
        let nodes = lab_nodes(lab, clusters).await?;
        Self::start(
            TwinAccess::of_lab(lab, clusters)?,
            jobs,
            interval,
            None,
            &nodes,
        )
        .await
    }

    /// Rewrites each cluster's targets for its `nodes`.
    pub fn refresh_targets(&self, nodes: &BTreeMap<String, Vec<String>>) -> Result<(), LabError> {
        for (cluster, _) in &self.access.clusters {
            let empty = Vec::new();
            let targets = scrape_targets(cluster, nodes.get(cluster).unwrap_or(&empty), &self.jobs);
            let sd = file_sd(
                &targets,
                &self.access.address,
                &format!("/clusters/{cluster}"),
            );
            let path = sd_path(self.dir.path(), cluster);
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, sd.to_string())
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| LabError(format!("writing {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// Rewrites the targets from a lab twin's current nodes.
    pub async fn refresh_from_lab(&self, lab: &LabTwin) -> Result<(), LabError> {
        let clusters: Vec<String> = self
            .access
            .clusters
            .iter()
            .map(|(c, _)| c.clone())
            .collect();
        self.refresh_targets(&lab_nodes(lab, &clusters).await?)
    }

    /// Prometheus' log so far, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// CPU seconds (user + system) the process has used, and its resident memory in MiB,
    /// from /proc.
    pub fn usage(&self) -> Option<(f64, f64)> {
        let pid = self.child.id()?;
        proc_usage(pid)
    }
}

/// CPU seconds (user + system) and resident MiB of process `pid`, from /proc (Linux).
pub fn proc_usage(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    let cpu = ticks / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<f64>()
        .ok()?;
    Some((cpu, rss_kib / 1024.0))
}

/// Each cluster's node names.
pub async fn lab_nodes(
    lab: &LabTwin,
    clusters: &[String],
) -> Result<BTreeMap<String, Vec<String>>, LabError> {
    let mut out = BTreeMap::new();
    for cluster in clusters {
        let client = lab.client(cluster).await?;
        let nodes: Vec<String> = Api::<Node>::all(client)
            .list(&ListParams::default())
            .await
            .map_err(|e| LabError(format!("listing {cluster}'s nodes: {e}")))?
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
        out.insert(cluster.clone(), nodes);
    }
    Ok(out)
}

fn sd_path(dir: &Path, cluster: &str) -> PathBuf {
    dir.join(format!("targets-{cluster}.json"))
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}
