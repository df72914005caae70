//! Hosted agents: one [`Agent`] per kubeconfig context, run inside another process (the hub,
//! the demo) instead of inside each cluster.
//!
//! A hosted agent is the same agent as `capstan agent --hub`: it registers with the
//! bootstrap token once (its token kept in `<token_dir>/<cluster>.token`, mode 0600), then
//! reports and long-polls over HTTP like any other. Speaking the protocol over loopback
//! rather than calling the store keeps one code path for agents, wherever they run, and lets
//! the hub treat hosted and in-cluster agents alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_kube::connect::Target;
use tokio::task::JoinSet;

use crate::{Agent, AgentConfig, Error, Result, TokenFile};

/// Wait before trying again when a hosted agent could not register or start.
const RESTART_DELAY: Duration = Duration::from_secs(2);

/// One cluster to host an agent for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedCluster {
    /// The kubeconfig context that reaches the cluster.
    pub context: String,
    /// The cluster's name at the hub (usually the context's).
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// What every hosted agent shares.
#[derive(Clone)]
pub struct HostedConfig {
    /// The hub's base URL (its own loopback address when hosted by the hub).
    pub hub_url: String,
    pub bootstrap_token: String,
    pub kubeconfig: PathBuf,
    /// Where each agent's token file lives.
    pub token_dir: PathBuf,
    /// The template for each agent's settings; target and labels are filled per cluster.
    pub report_interval: Duration,
    pub poll_wait: Duration,
    pub upgrade: crate::work::UpgradeSettings,
    /// Health evaluation for every hosted agent (each filters its own cluster's series).
    pub health: Option<crate::health::HealthConfig>,
    /// Cost collection for every hosted agent.
    pub cost: Option<crate::cost::CostConfig>,
    /// Posture evaluation for every hosted agent.
    pub posture: Option<crate::posture::PostureConfig>,
}

impl std::fmt::Debug for HostedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bootstrap token stays out of logs.
        f.debug_struct("HostedConfig")
            .field("hub_url", &self.hub_url)
            .field("kubeconfig", &self.kubeconfig)
            .field("token_dir", &self.token_dir)
            .field("report_interval", &self.report_interval)
            .field("poll_wait", &self.poll_wait)
            .field("health", &self.health)
            .field("cost", &self.cost.as_ref().map(|c| &c.source))
            .field("posture", &self.posture.as_ref().map(|p| p.interval))
            .finish_non_exhaustive()
    }
}

/// Every context of `kubeconfig`, in file order, as clusters named after their context with
/// the labels `labels` gives for that name (none otherwise).
pub fn clusters_of_kubeconfig(
    kubeconfig: &Path,
    labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<Vec<HostedCluster>> {
    let config =
        kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| Error::Kubeconfig {
            path: kubeconfig.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(config
        .contexts
        .into_iter()
        .map(|c| HostedCluster {
            labels: labels.get(&c.name).cloned().unwrap_or_default(),
            name: c.name.clone(),
            context: c.name,
        })
        .collect())
}

/// Starts one agent per cluster on `tasks`. Each registers (or loads its token) and runs
/// until the set is dropped or aborted; an agent that fails to register or start (the hub not
/// listening yet, a cluster unreachable) logs why and tries again.
pub fn spawn_hosted(
    tasks: &mut JoinSet<()>,
    config: &HostedConfig,
    clusters: Vec<HostedCluster>,
    clock: SharedClock,
) -> Result<()> {
    std::fs::create_dir_all(&config.token_dir).map_err(|source| Error::TokenFile {
        path: config.token_dir.clone(),
        source,
    })?;
    for cluster in clusters {
        let config = config.clone();
        let clock = clock.clone();
        tasks.spawn(async move {
            loop {
                match run_one(&config, &cluster, clock.clone()).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(cluster = %cluster.name, error = %e, "hosted agent stopped; restarting");
                        tokio::time::sleep(RESTART_DELAY).await;
                    }
                }
            }
        });
    }
    Ok(())
}

async fn run_one(config: &HostedConfig, cluster: &HostedCluster, clock: SharedClock) -> Result<()> {
    let token_file = TokenFile::new(config.token_dir.join(format!("{}.token", cluster.name)));
    let hub = token_file
        .load_or_register(
            &config.hub_url,
            &config.bootstrap_token,
            &cluster.name,
            &cluster.labels,
        )
        .await?;
    let agent_config = AgentConfig {
        labels: cluster.labels.clone(),
        report_interval: config.report_interval,
        poll_wait: config.poll_wait,
        upgrade: config.upgrade.clone(),
        health: config.health.clone(),
        cost: config.cost.clone(),
        posture: config.posture.clone(),
        ..AgentConfig::new(Target::new(
            Some(&config.kubeconfig),
            Some(&cluster.context),
        ))
    };
    tracing::debug!(cluster = %cluster.name, context = %cluster.context, "hosted agent starting");
    Agent::new(hub, agent_config, clock).run().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_context_becomes_a_cluster_with_its_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(
            &path,
            r#"apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: prod-1
  context: {cluster: a, user: u}
- name: dev-1
  context: {cluster: a, user: u}
"#,
        )
        .unwrap();
        let labels = BTreeMap::from([(
            "prod-1".to_string(),
            BTreeMap::from([("environment".to_string(), "production".to_string())]),
        )]);
        let clusters = clusters_of_kubeconfig(&path, &labels).unwrap();
        let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["prod-1", "dev-1"]);
        assert_eq!(clusters[0].labels["environment"], "production");
        assert!(clusters[1].labels.is_empty());

        let err = clusters_of_kubeconfig(&dir.path().join("missing"), &labels).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
