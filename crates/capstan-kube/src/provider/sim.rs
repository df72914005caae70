//! The twin's fake cloud as a [`Provider`]: `/cloud/v1/...` next to the cluster's API, with
//! the cluster's own credentials (crates/capstan-sim/src/cloud.rs).

use std::sync::Arc;

use capstan_clock::{ScaledClock, SharedClock};
use capstan_core::version::KubeVersion;
use futures::FutureExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{ControlPlaneStatus, Machine, MachinePhase, Provider};
use crate::{Error, Result};

const NAME: &str = "sim";

/// Drives the fake cloud of the twin cluster that `client` talks to.
#[derive(Clone)]
pub struct SimProvider {
    client: kube::Client,
    clock: Option<SharedClock>,
}

impl SimProvider {
    /// With an explicit clock (in process, the twin's own), or none.
    pub fn new(client: kube::Client, clock: Option<SharedClock>) -> Self {
        Self { client, clock }
    }

    /// Reads the twin's simulated time and scale and keeps a clock in step with them, so that
    /// the upgrade's deadlines and timings are in the twin's time.
    pub async fn connect(client: kube::Client) -> Result<Self> {
        let mut provider = Self::new(client, None);
        let cloud = provider.call("GET", "", None).await?;
        let now = cloud
            .get("now")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Timestamp>().ok());
        let scale = cloud.get("timeScale").and_then(Value::as_f64);
        if let (Some(now), Some(scale)) = (now, scale) {
            provider.clock = Some(Arc::new(ScaledClock::starting_at(now, scale)));
        }
        Ok(provider)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let uri = if path.is_empty() {
            "/cloud/v1".to_string()
        } else {
            format!("/cloud/v1/{path}")
        };
        let body = match body {
            Some(b) => serde_json::to_vec(&b).map_err(|source| Error::Decode {
                what: "cloud request".into(),
                source,
            })?,
            None => Vec::new(),
        };
        let request = http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| provider_error(format!("{method} {uri}: {e}")))?;
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(|e| match e {
                kube::Error::Api(status) => provider_error(format!(
                    "{method} {uri}: {} ({})",
                    status.message, status.code
                )),
                other => Error::Kube(other),
            })?;
        serde_json::from_str(&text).map_err(|source| Error::Decode {
            what: format!("{method} {uri}"),
            source,
        })
    }

    async fn status(&self) -> Result<ControlPlaneStatus> {
        let cloud = self.call("GET", "", None).await?;
        let cp = &cloud["controlPlane"];
        let version = parse_version(cp["version"].as_str().unwrap_or_default())?;
        let upgrading_to = match cp["upgrading"]["to"].as_str() {
            Some(v) => Some(parse_version(v)?),
            None => None,
        };
        let last = &cp["lastUpgrade"];
        let last_error = (last["result"] == "Failed").then(|| {
            last["message"]
                .as_str()
                .unwrap_or("the control-plane upgrade failed")
                .to_string()
        });
        Ok(ControlPlaneStatus {
            version,
            upgrading_to,
            last_error,
        })
    }
}

fn provider_error(message: String) -> Error {
    Error::Provider {
        provider: NAME.to_string(),
        message,
    }
}

fn parse_version(s: &str) -> Result<KubeVersion> {
    KubeVersion::parse(s).map_err(|e| provider_error(e.to_string()))
}

fn parse_phase(s: &str) -> Option<MachinePhase> {
    Some(match s {
        "Provisioning" => MachinePhase::Provisioning,
        "Joining" => MachinePhase::Joining,
        "Running" => MachinePhase::Running,
        "Terminating" => MachinePhase::Terminating,
        _ => return None,
    })
}

fn parse_machine(m: &Value) -> Option<Machine> {
    Some(Machine {
        name: m["name"].as_str()?.to_string(),
        pool: m["pool"].as_str().unwrap_or_default().to_string(),
        version: m["version"].as_str().unwrap_or_default().to_string(),
        phase: parse_phase(m["phase"].as_str()?)?,
        phases: m["phases"]
            .as_array()
            .map(|phases| {
                phases
                    .iter()
                    .filter_map(|p| {
                        Some((
                            parse_phase(p["phase"].as_str()?)?,
                            p["since"].as_str()?.parse().ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl Provider for SimProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn control_plane(&self) -> BoxFuture<'_, Result<ControlPlaneStatus>> {
        self.status().boxed()
    }

    fn versions(&self) -> BoxFuture<'_, Result<Vec<KubeVersion>>> {
        async move {
            let body = self.call("GET", "versions", None).await?;
            let mut versions = body["versions"]
                .as_array()
                .map(|vs| {
                    vs.iter()
                        .filter_map(|v| KubeVersion::parse(v.as_str()?).ok())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            versions.sort();
            Ok(versions)
        }
        .boxed()
    }

    fn upgrade_control_plane<'a>(&'a self, to: &'a KubeVersion) -> BoxFuture<'a, Result<()>> {
        async move {
            let body = json!({"version": to.to_string()});
            match self.call("POST", "control-plane/upgrade", Some(body)).await {
                Ok(_) => Ok(()),
                // The cloud refuses a second upgrade while one runs (409); asking again for
                // the one in progress is harmless by the trait's contract.
                Err(e) => match self.status().await {
                    Ok(status) if status.upgrading_to.as_ref() == Some(to) => Ok(()),
                    _ => Err(e),
                },
            }
        }
        .boxed()
    }

    /// Every machine the cloud created or touched in this run, Running ones included (their
    /// phase history gives exact provisioning and joining times).
    fn machines(&self) -> BoxFuture<'_, Result<Vec<Machine>>> {
        async move {
            let cloud = self.call("GET", "", None).await?;
            Ok(cloud["machines"]
                .as_array()
                .map(|ms| ms.iter().filter_map(parse_machine).collect())
                .unwrap_or_default())
        }
        .boxed()
    }

    fn create_nodes<'a>(
        &'a self,
        pool: &'a str,
        count: u32,
        version: &'a KubeVersion,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        async move {
            let body = json!({"count": count, "version": version.to_string()});
            let created = self
                .call("POST", &format!("node-pools/{pool}/nodes"), Some(body))
                .await?;
            Ok(created["machines"]
                .as_array()
                .map(|ms| {
                    ms.iter()
                        .filter_map(|m| m.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default())
        }
        .boxed()
    }

    fn delete_node<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Result<()>> {
        async move {
            match self.call("DELETE", &format!("nodes/{node}"), None).await {
                Ok(_) => Ok(()),
                // Already gone: terminating it again is harmless.
                Err(Error::Provider { message, .. }) if message.ends_with("(404)") => Ok(()),
                Err(e) => Err(e),
            }
        }
        .boxed()
    }

    fn clock(&self) -> Option<SharedClock> {
        self.clock.clone()
    }
}
