//! A `capstan sim` child process for benchmarks that must not share a process (memory, CPU,
//! the async runtime) with the twin they measure against.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_kube::connect::Target;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Longest wait for the child twin to serve and for its cluster to be generated (a
/// 1,000,000-pod cluster takes minutes).
pub const TWIN_READY: Duration = Duration::from_secs(30 * 60);

/// A `capstan sim` child serving one cluster; killed when dropped.
pub struct ChildTwin {
    child: tokio::process::Child,
    dir: tempfile::TempDir,
}

impl ChildTwin {
    /// One enterprise-tier cluster of `nodes` nodes and `pods` pods from `seed`: the big
    /// cluster the agent benchmarks measure against.
    pub async fn single_cluster(nodes: u32, pods: u64, seed: u64) -> Result<Self> {
        Self::start(&[
            "--tier".into(),
            "enterprise".into(),
            "--clusters".into(),
            "1".into(),
            "--nodes".into(),
            nodes.to_string(),
            "--pods".into(),
            pods.to_string(),
            "--seed".into(),
            seed.to_string(),
        ])
        .await
    }

    /// Start `capstan sim ARGS --listen 127.0.0.1:0 --kubeconfig-dir TMP` and wait until it
    /// serves.
    pub async fn start(args: &[String]) -> Result<Self> {
        let exe = std::env::current_exe().context("locating the capstan binary")?;
        let dir = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(exe)
            .arg("sim")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--kubeconfig-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting `capstan sim`")?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // `capstan sim` prints its kubeconfig's path once it is written.
        let banner = async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("kubeconfig (a context per cluster)") {
                    return anyhow::Ok(());
                }
            }
            bail!("`capstan sim` exited before serving")
        };
        tokio::time::timeout(Duration::from_secs(60), banner)
            .await
            .context("waiting for `capstan sim` to serve")??;
        // Keep reading so that the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, dir })
    }

    /// The merged kubeconfig (its current context is the first cluster).
    pub fn target(&self) -> Target {
        self.target_of(None)
    }

    /// The kubeconfig target of one context.
    pub fn target_of(&self, context: Option<&str>) -> Target {
        Target::new(Some(&self.dir.path().join("kubeconfig")), context)
    }

    /// The directory holding the kubeconfigs and the twin's `ca.crt`.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The child's resident memory in MiB, from /proc.
    pub fn rss_mib(&self) -> Option<f64> {
        let pid = self.child.id()?;
        crate::bench::proc_memory_mib(&pid.to_string()).map(|(rss, _)| rss)
    }
}
