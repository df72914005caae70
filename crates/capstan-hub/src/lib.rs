//! Capstan's hub: the part that decides across clusters. Agents report their clusters to it and
//! take work from it; users apply `ClusterUpgrade`s to it and it rolls them out in canary steps.
//!
//! This crate so far brings the hub's persistent [`store`]: the fleet inventory, agent tokens
//! (hashed), upgrades with optimistic concurrency, per-cluster rollout state, events and the
//! work queue for agents. The store reads no clock: every write takes the `now` to record, so
//! that a scaled clock (the demo, the twin) is honoured everywhere.

pub mod api;
pub mod metrics;
pub mod rollout;
pub mod store;

mod error;
pub use error::{Error, Result};
