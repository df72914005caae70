//! The roll's record, kept in the cluster itself (ConfigMap `kube-system/capstan-upgrade`):
//! the target and each pool's size when its roll started. A restarted agent reads it back and
//! plans the same roll; it is deleted when the upgrade completes.

use std::collections::BTreeMap;

use capstan_core::upgrade::IntOrPercent;
use capstan_core::version::KubeVersion;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "capstan-upgrade";
const KEY: &str = "record";

/// What a restarted agent needs to continue the same upgrade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRecord {
    pub target: KubeVersion,
    pub started: Timestamp,
    pub max_surge: IntOrPercent,
    pub max_unavailable: IntOrPercent,
    /// Pools whose roll started, with their size then.
    #[serde(default)]
    pub pools: BTreeMap<String, PoolRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolRecord {
    pub size: u32,
    pub started: Timestamp,
}

fn api(client: &kube::Client) -> Api<ConfigMap> {
    Api::namespaced(client.clone(), NAMESPACE)
}

fn decode(cm: &ConfigMap) -> Result<UpgradeRecord> {
    let text = cm.data.as_ref().and_then(|d| d.get(KEY)).ok_or_else(|| {
        Error::Upgrade(format!("ConfigMap {NAMESPACE}/{NAME} has no {KEY:?} key"))
    })?;
    serde_json::from_str(text).map_err(|source| Error::Decode {
        what: format!("ConfigMap {NAMESPACE}/{NAME}"),
        source,
    })
}

fn encode(record: &UpgradeRecord) -> Result<BTreeMap<String, String>> {
    let text = serde_json::to_string_pretty(record).map_err(|source| Error::Decode {
        what: "upgrade record".into(),
        source,
    })?;
    Ok(BTreeMap::from([(KEY.to_string(), text)]))
}

/// The record of an upgrade in progress, if any.
pub async fn load(client: &kube::Client) -> Result<Option<UpgradeRecord>> {
    match api(client).get_opt(NAME).await? {
        Some(cm) => decode(&cm).map(Some),
        None => Ok(None),
    }
}

/// Create the record; fails if another upgrade created one first.
pub async fn create(client: &kube::Client, record: &UpgradeRecord) -> Result<()> {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(NAMESPACE.into()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_string(),
                "capstan".to_string(),
            )])),
            ..Default::default()
        },
        data: Some(encode(record)?),
        ..Default::default()
    };
    match api(client).create(&PostParams::default(), &cm).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(Error::Upgrade(format!(
            "another upgrade started at the same time (ConfigMap {NAMESPACE}/{NAME} exists)"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Write the record back (a pool's roll started).
pub async fn save(client: &kube::Client, record: &UpgradeRecord) -> Result<()> {
    let body = serde_json::json!({"data": encode(record)?});
    api(client)
        .patch(NAME, &PatchParams::default(), &Patch::Merge(&body))
        .await?;
    Ok(())
}

/// The upgrade completed.
pub async fn delete(client: &kube::Client) -> Result<()> {
    match api(client).delete(NAME, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
