//! Capstan's agent runtime: the part that lives next to one cluster and talks to the hub
//! (DESIGN.md, "Protocols").
//!
//! - [`HubClient`]: the agent protocol over HTTP/JSON (register, report, long-polled work,
//!   work status), with its cluster token; [`TokenFile`] keeps that token across restarts
//!   (mode 0600) so that an agent registers once.
//! - [`report`]: a [`ClusterSummary`](capstan_core::summary::ClusterSummary) as the hub's
//!   report body, with the cluster's health judged from it.
//! - [`Agent`]: keeps a [`ClusterView`](capstan_kube::view::ClusterView), reports every
//!   interval, and runs the work the hub hands it (`cluster-upgrade` through
//!   [`ClusterUpgrader`](capstan_kube::upgrade::ClusterUpgrader)).
//!
//! - [`cost`]: usage sampled every interval, priced per hour (OpenCost's model in
//!   capstan-core), right-sizing states and savings advice, sent to the hub hourly.
//!
//! Tokens are never logged: the types holding one redact it in their `Debug` output.

mod agent;
mod client;
pub mod cost;
mod error;
pub mod health;
pub mod hosted;
pub mod posture;
pub mod report;
mod token;
pub mod work;

pub use agent::{Agent, AgentConfig};
pub use client::{CostUpload, HubClient, ReportBody, VersionsBody, WorkItem, WorkStatus};
pub use error::{Error, Result};
pub use report::Health;
pub use token::TokenFile;
