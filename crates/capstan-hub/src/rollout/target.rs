//! Which version a cluster goes to, and the work item that tells its agent.
//!
//! The hub resolves `spec.version` per cluster against the versions the cluster's agent
//! reported its provider offers (`offeredVersions`, kept in [`ClusterVersions::offered`]):
//! `1.31` is the newest 1.31 patch that cluster can get, `1.31.4` exactly that, omitted the
//! newest patch of its control plane's next minor. The result is fixed in the cluster's
//! [`ClusterRollout`] (`from`, `to`) when its first work item is created, so that a retry, a
//! restarted hub or a provider publishing a newer patch meanwhile never moves the target.
//! A cluster that reported nothing offered gets `spec.version` as written and its agent
//! resolves it, as before the hub resolved.
//!
//! [`ClusterVersions::offered`]: crate::store::ClusterVersions::offered

use capstan_core::rollout::{ClusterRollout, ClusterUpgrade, resolve_cluster_target};
use capstan_core::version::KubeVersion;
use serde_json::json;

use super::{WORK_KIND, work_id};
use crate::store::{ClusterRecord, NewWorkItem};

/// A cluster's upgrade as fixed for its work items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FixedTarget {
    /// The control plane's version before the upgrade (`1.32.4`).
    pub from: Option<String>,
    /// The resolved version, or `spec.version` as written when the hub could not resolve.
    pub to: Option<String>,
}

/// The target of `rollout`'s cluster: the one fixed by an earlier attempt, else resolved now
/// from the cluster's last report. `Err` when `spec.version` cannot be satisfied there.
pub(crate) fn fix_target(
    spec: &ClusterUpgrade,
    rollout: &ClusterRollout,
    cluster: &ClusterRecord,
) -> Result<FixedTarget, String> {
    let from = rollout
        .from
        .clone()
        .or_else(|| plain_version(cluster.versions.control_plane.as_deref()));
    if rollout.to.is_some() {
        return Ok(FixedTarget {
            from,
            to: rollout.to.clone(),
        });
    }
    // From the version before the upgrade: a retry after a partial upgrade still aims where
    // the first attempt did.
    let resolved = resolve_cluster_target(
        spec.spec.version.as_deref(),
        from.as_deref(),
        &cluster.versions.offered,
    )?;
    Ok(FixedTarget {
        from,
        to: resolved
            .map(|v| v.to_string())
            .or_else(|| spec.spec.version.clone()),
    })
}

/// `v1.32.4-eks-1` as `1.32.4`; what does not parse is kept as reported.
fn plain_version(reported: Option<&str>) -> Option<String> {
    let reported = reported?;
    Some(
        KubeVersion::parse(reported)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| reported.to_string()),
    )
}

/// The work item that carries out attempt `rollout.attempts` of `cluster`: the version fixed
/// in `rollout` (`spec.version` when none was), the version before, and the node rolling
/// parameters.
pub fn work_item(
    upgrade: &str,
    spec: &ClusterUpgrade,
    cluster: &str,
    rollout: &ClusterRollout,
) -> NewWorkItem {
    let version = rollout.to.clone().or_else(|| spec.spec.version.clone());
    NewWorkItem {
        id: work_id(upgrade, cluster, rollout.attempts),
        cluster: cluster.to_string(),
        generation: 1,
        kind: WORK_KIND.to_string(),
        payload: json!({
            "upgrade": upgrade,
            "version": version,
            "from": rollout.from,
            "nodeRolling": spec.spec.node_rolling,
        }),
    }
}
