//! Capstan's kube-rs glue: everything that talks to a Kubernetes API server.
//!
//! - [`connect`]: clients from kubeconfig contexts, like kubectl's `--kubeconfig`/`--context`.
//! - [`slim`] and [`view`]: slim watched types and the [`view::ClusterView`] that watchers keep
//!   current, holding only what Capstan uses.
//! - [`evict`], [`cordon`], [`events`] and [`drain`]: the drain engine with `kubectl drain`
//!   semantics, a report of what blocks it, and an escalation policy at a deadline.
//! - [`provider`] and [`upgrade`]: how machines and control planes are replaced, and the
//!   cluster upgrade that drives them.
//!
//! Decisions live in `capstan-core` as pure functions; this crate gathers state, applies those
//! decisions and records what happened.

pub mod connect;
pub mod cordon;
pub mod drain;
pub mod events;
pub mod evict;
pub mod provider;
pub mod slim;
pub mod summary;
pub mod upgrade;
pub mod view;

mod error;
pub use error::{Error, Result};
