//! `capstan demo --fault canary`: a bad release on the canary. Once the first step's
//! clusters are upgraded and the rollout soaks, one workload of the first cluster starts
//! crash-looping (through the twin's fault API, as a broken version would make it); the
//! agent's `ContainerRestartsHigh` (critical) fires and the hub halts the rollout, naming the
//! rule, the cluster, the value and the threshold.

use std::time::Duration;

use anyhow::{Context, Result};
use capstan_core::rollout::{RolloutPhase, RolloutState};
use capstan_hub::api::UpgradeDetail;
use capstan_lab::LabTwin;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::apply_cmd;

/// Waits for step 1's soak, then crash-loops a workload on the first cluster of the plan.
/// Returns what it broke, for the summary.
pub async fn crash_canary(
    lab: &LabTwin,
    http: &reqwest::Client,
    hub_url: &str,
    upgrade: &str,
) -> Result<String> {
    let cluster = loop {
        let detail: UpgradeDetail = apply_cmd::send(
            "reading the upgrade",
            http.get(format!("{hub_url}/api/v1/upgrades/{upgrade}")),
        )
        .await?;
        if let Ok(state) = serde_json::from_value::<RolloutState>(detail.upgrade.status) {
            match state.phase {
                RolloutPhase::Soaking if state.step == 0 => {
                    if let Some(first) = state.plan.clusters.first() {
                        break first.clone();
                    }
                }
                RolloutPhase::Succeeded
                | RolloutPhase::Failed
                | RolloutPhase::Halted
                | RolloutPhase::Aborted => {
                    anyhow::bail!("the rollout ended ({:?}) before step 1's soak", state.phase)
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let client = lab
        .client(&cluster)
        .await
        .map_err(|e| anyhow::anyhow!("{cluster}: {e}"))?;
    // A replicated workload outside the system namespaces, by its `app` label.
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
        .with_context(|| format!("listing {cluster}'s pods"))?;
    let (namespace, app) = pods
        .items
        .iter()
        .filter_map(|p| {
            let ns = p.metadata.namespace.as_deref()?;
            let app = p.metadata.labels.as_ref()?.get("app")?;
            (!ns.starts_with("kube-")).then(|| (ns.to_string(), app.clone()))
        })
        .min()
        .with_context(|| format!("{cluster} has no labelled workload to break"))?;
    let body = serde_json::json!({"namespace": namespace, "labelSelector": format!("app={app}")});
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri("/sim/v1/faults/crashloop")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string().into_bytes())
        .context("building the fault request")?;
    client
        .request_text(request)
        .await
        .with_context(|| format!("injecting the crash loop into {cluster}"))?;
    Ok(format!(
        "{cluster}: app={app} in namespace {namespace} crash-looping from step 1's soak"
    ))
}
