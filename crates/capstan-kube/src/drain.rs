//! The drain engine: `kubectl drain` semantics (cordon, filters, parallel evictions with UID
//! preconditions, wait for deletion), plus what kubectl lacks: which PDB blocks which pod, and an
//! escalation policy at the deadline.

use capstan_clock::SharedClock;
pub use capstan_core::drain::{DrainOptions, DrainReport, Escalation};

use crate::Result;

/// What a drain reports while it runs (for progress bars and logs).
#[derive(Debug, Clone)]
pub enum DrainProgress {
    Cordoned { node: String },
    Planned { node: String, pods: usize },
    Evicted { pod: String },
    Retrying { pod: String, message: String },
    Gone { pod: String },
    Forced { pod: String },
    Warning { message: String },
}

/// Receives [`DrainProgress`] as a drain runs.
pub trait DrainObserver: Send + Sync {
    fn observe(&self, progress: &DrainProgress);
}

/// An observer that only logs.
#[derive(Debug, Default)]
pub struct LogObserver;

impl DrainObserver for LogObserver {
    fn observe(&self, progress: &DrainProgress) {
        tracing::debug!(?progress, "drain");
    }
}

/// Drains nodes of one cluster.
#[derive(Clone)]
pub struct Drainer {
    pub(crate) client: kube::Client,
    pub(crate) eviction_client: kube::Client,
    pub(crate) clock: SharedClock,
    pub(crate) options: DrainOptions,
}

impl Drainer {
    /// `eviction_client` must have kube's automatic retry turned off
    /// ([`crate::connect::Target::eviction_client`]).
    pub fn new(
        client: kube::Client,
        eviction_client: kube::Client,
        clock: SharedClock,
        options: DrainOptions,
    ) -> Self {
        Self {
            client,
            eviction_client,
            clock,
            options,
        }
    }

    pub fn options(&self) -> &DrainOptions {
        &self.options
    }

    /// Cordon `node` and evict (or delete) its pods; see the module documentation.
    pub async fn drain(&self, node: &str, observer: &dyn DrainObserver) -> Result<DrainReport> {
        let _ = (node, observer, &self.client, &self.eviction_client, &self.clock);
        Err(crate::Error::Drain("drain engine under construction".into()))
    }
}
