//! Cordon and uncordon, with the marks that let a restarted agent pick a drain up again.
//!
//! Cordoning is a merge patch of `spec.unschedulable` (kubectl sends a strategic-merge patch of
//! the same field and nothing when it is already set). Capstan also writes when it started
//! draining and whether an operator had cordoned the node first, so it never uncordons a node
//! that someone else cordoned.

use capstan_core::annotations::{DRAIN_STARTED, DRAINED, WAS_UNSCHEDULABLE};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::{Error, Result};

/// The node's state when a drain took it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cordoned {
    /// When Capstan first cordoned it for a drain (kept across restarts).
    pub drain_started: Timestamp,
    /// It was unschedulable before Capstan touched it.
    pub was_unschedulable: bool,
    /// A previous drain already completed.
    pub already_drained: bool,
}

fn annotation<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// Cordon `node` for a drain and mark it; idempotent (a second call keeps the first marks).
pub async fn cordon_for_drain(
    client: &kube::Client,
    node: &str,
    now: Timestamp,
) -> Result<Cordoned> {
    let api: Api<Node> = Api::all(client.clone());
    let current = api.get(node).await?;
    let unschedulable = current
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    // Marks on a cordoned node are a drain to resume (the agent stopped mid-drain). Marks on
    // a schedulable node are stale: someone uncordoned it since (e.g. `kubectl uncordon`,
    // which leaves annotations alone), so this is a new drain.
    if unschedulable && let Some(started) = annotation(&current, DRAIN_STARTED) {
        let drain_started = started.parse().map_err(|e| {
            Error::invalid(
                format!("node {node} annotation {DRAIN_STARTED}"),
                format!("{e}"),
            )
        })?;
        return Ok(Cordoned {
            drain_started,
            was_unschedulable: annotation(&current, WAS_UNSCHEDULABLE) == Some("true"),
            already_drained: annotation(&current, DRAINED).is_some(),
        });
    }
    let mut annotations = serde_json::Map::new();
    annotations.insert(DRAIN_STARTED.into(), json!(now.to_string()));
    annotations.insert(DRAINED.into(), serde_json::Value::Null);
    annotations.insert(
        WAS_UNSCHEDULABLE.into(),
        if unschedulable {
            json!("true")
        } else {
            serde_json::Value::Null
        },
    );
    patch(
        &api,
        node,
        json!({"metadata": {"annotations": annotations}, "spec": {"unschedulable": true}}),
    )
    .await?;
    Ok(Cordoned {
        drain_started: now,
        was_unschedulable: unschedulable,
        already_drained: false,
    })
}

/// Record that the drain of `node` completed.
pub async fn mark_drained(client: &kube::Client, node: &str, now: Timestamp) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    patch(
        &api,
        node,
        json!({"metadata": {"annotations": {DRAINED: now.to_string()}}}),
    )
    .await
}

/// Make `node` schedulable again and remove Capstan's drain marks, unless an operator had
/// cordoned it before Capstan did (then only the marks go). Returns whether it is now
/// schedulable.
pub async fn uncordon(client: &kube::Client, node: &str) -> Result<bool> {
    let api: Api<Node> = Api::all(client.clone());
    let current = api.get(node).await?;
    let keep_cordoned = annotation(&current, WAS_UNSCHEDULABLE) == Some("true");
    let mut body = json!({"metadata": {"annotations": {
        DRAIN_STARTED: null, DRAINED: null, WAS_UNSCHEDULABLE: null,
    }}});
    if !keep_cordoned {
        body["spec"] = json!({"unschedulable": null});
    }
    patch(&api, node, body).await?;
    Ok(!keep_cordoned)
}

async fn patch(api: &Api<Node>, node: &str, body: serde_json::Value) -> Result<()> {
    api.patch(node, &PatchParams::default(), &Patch::Merge(&body))
        .await?;
    Ok(())
}
