//! How a cluster's control plane and machines are actually replaced.
//!
//! A [`Provider`] hides the cloud: the twin's fake cloud ([`sim::SimProvider`]) or a user
//! command per action ([`exec::ExecProvider`]) for EKS/GKE/AKS CLIs or Terraform. The cluster
//! upgrade ([`crate::upgrade`]) only speaks this trait.

pub mod exec;
pub mod sim;

use capstan_clock::SharedClock;
use capstan_core::version::KubeVersion;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Result;

/// The control plane as the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPlaneStatus {
    pub version: KubeVersion,
    /// The version an upgrade in progress is moving to.
    pub upgrading_to: Option<KubeVersion>,
    /// The message of the last upgrade, when it failed.
    pub last_error: Option<String>,
}

/// A machine's phase at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MachinePhase {
    Provisioning,
    Joining,
    Running,
    Terminating,
}

/// A machine the provider is creating, running or terminating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The machine's name, which is also its Node's name.
    pub name: String,
    pub pool: String,
    pub version: String,
    pub phase: MachinePhase,
    /// Every phase the machine entered, with when.
    pub phases: Vec<(MachinePhase, Timestamp)>,
}

/// The actions a cluster upgrade needs from the infrastructure.
pub trait Provider: Send + Sync {
    /// `sim`, `exec`, ...
    fn name(&self) -> &str;

    /// The control plane's version and any upgrade in progress.
    fn control_plane(&self) -> BoxFuture<'_, Result<ControlPlaneStatus>>;

    /// Versions the provider can install, oldest first.
    fn versions(&self) -> BoxFuture<'_, Result<Vec<KubeVersion>>>;

    /// Start (or, for synchronous providers, perform) a control-plane upgrade to `to`, which
    /// is at most one minor above the current version. Asking again for the upgrade already in
    /// progress is harmless.
    fn upgrade_control_plane<'a>(&'a self, to: &'a KubeVersion) -> BoxFuture<'a, Result<()>>;

    /// Machines the provider knows about that are not yet plain Running nodes (provisioning,
    /// joining, terminating). Providers that cannot tell return what they can (possibly none).
    fn machines(&self) -> BoxFuture<'_, Result<Vec<Machine>>>;

    /// Order `count` machines into `pool` with kubelet `version`; returns their names when the
    /// provider knows them.
    fn create_nodes<'a>(
        &'a self,
        pool: &'a str,
        count: u32,
        version: &'a KubeVersion,
    ) -> BoxFuture<'a, Result<Vec<String>>>;

    /// Terminate the machine behind `node`. Terminating one that is already going is harmless.
    fn delete_node<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Result<()>>;

    /// The provider's own clock, when it runs on simulated time (the twin); timestamps and
    /// deadlines of an upgrade then follow it.
    fn clock(&self) -> Option<SharedClock> {
        None
    }
}
