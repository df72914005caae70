//! Reading the cluster for the planner: nodes by pool, with Capstan's marks.

use std::collections::BTreeMap;

use capstan_core::annotations::{DRAIN_STARTED, DRAINED, TERMINATE_REQUESTED, node_pool};
use capstan_core::upgrade::PoolNode;
use capstan_core::version::KubeVersion;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;

use crate::Result;

/// A node as the upgrade sees it.
#[derive(Debug, Clone)]
pub(crate) struct ObservedNode {
    pub pool: Option<String>,
    /// `None` when the kubelet version does not parse.
    pub version: Option<KubeVersion>,
    pub ready: bool,
    pub unschedulable: bool,
    pub drain_started: Option<String>,
    pub drained: Option<String>,
    pub terminate_requested: Option<String>,
}

impl ObservedNode {
    pub fn pool_node(&self, name: &str, version: KubeVersion, terminating: bool) -> PoolNode {
        PoolNode {
            name: name.to_string(),
            version,
            ready: self.ready,
            unschedulable: self.unschedulable,
            drain_started: self.drain_started.is_some(),
            drained: self.drained.is_some(),
            terminate_requested: self.terminate_requested.is_some(),
            terminating,
        }
    }
}

fn observe(node: &Node) -> ObservedNode {
    let labels = node.metadata.labels.as_ref();
    let annotations = node.metadata.annotations.as_ref();
    let annotation = |k: &str| annotations.and_then(|a| a.get(k)).cloned();
    let status = node.status.as_ref();
    let raw_version = status
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.clone())
        .unwrap_or_default();
    ObservedNode {
        pool: node_pool(|k| labels.and_then(|l| l.get(k)).map(String::as_str)).map(str::to_string),
        version: KubeVersion::parse(&raw_version).ok(),
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .is_some_and(|c| c.status == "True"),
        unschedulable: node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false),
        drain_started: annotation(DRAIN_STARTED),
        drained: annotation(DRAINED),
        terminate_requested: annotation(TERMINATE_REQUESTED),
    }
}

/// Every node of the cluster by name. A plain paginated list: the upgrade reads the cluster
/// once per reconcile and needs no watch cache.
pub(crate) async fn list_nodes(client: &kube::Client) -> Result<BTreeMap<String, ObservedNode>> {
    let api: Api<Node> = Api::all(client.clone());
    let mut out = BTreeMap::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await?;
        for node in &page.items {
            if let Some(name) = &node.metadata.name {
                out.insert(name.clone(), observe(node));
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}
