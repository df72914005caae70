//! Clients from kubeconfig files and contexts, resolved the way kubectl resolves them.

use std::path::Path;

use crate::{Error, Result};

/// Where to find a cluster: a kubeconfig file (or `$KUBECONFIG`, or `~/.kube/config`) and a
/// context in it (or its current context).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
}

impl Target {
    pub fn new(kubeconfig: Option<&Path>, context: Option<&str>) -> Self {
        Self {
            kubeconfig: kubeconfig.map(Path::to_path_buf),
            context: context.map(str::to_string),
        }
    }

    /// The client configuration for this target.
    pub async fn config(&self) -> Result<kube::Config> {
        let opts = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| Error::Kubeconfig(format!("{}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(kc, &opts).await
            }
            None => kube::Config::from_kubeconfig(&opts).await,
        };
        config.map_err(|e| Error::Kubeconfig(e.to_string()))
    }

    /// A client for ordinary requests (kube's automatic retry of 429/503 left on).
    pub async fn client(&self) -> Result<kube::Client> {
        Ok(kube::Client::try_from(self.config().await?)?)
    }

    /// A client whose 429s reach the caller: the eviction client must see them to honour
    /// PodDisruptionBudgets and Retry-After itself (kube's default retry would swallow them).
    pub async fn eviction_client(&self) -> Result<kube::Client> {
        let mut config = self.config().await?;
        config.default_retry = false;
        Ok(kube::Client::try_from(config)?)
    }

    /// The context's name: the one asked for, else the kubeconfig's current context (read
    /// without contacting the cluster), for messages, events and the exec provider.
    pub fn describe(&self) -> String {
        if let Some(context) = &self.context {
            return context.clone();
        }
        let kubeconfig = match &self.kubeconfig {
            Some(path) => kube::config::Kubeconfig::read_from(path).ok(),
            None => kube::config::Kubeconfig::read().ok(),
        };
        kubeconfig
            .and_then(|kc| kc.current_context)
            .unwrap_or_else(|| "(current context)".to_string())
    }
}
