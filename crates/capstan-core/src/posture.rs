//! Security posture (issue 7): pure checks over a cluster's objects, coverage per control
//! against the fleet's targets, and the bounded report an agent sends and the hub aggregates.
//!
//! Controls: RBAC ([`rbac`], [`gatekeeper`]), network policy ([`netpol`]), Pod Security
//! Standards ([`pss`]), secrets ([`secrets`]) and image scanning ([`images`]). Pods are
//! checked one at a time as they stream past ([`evaluate`]), so a million-pod cluster never
//! has to be held in memory; every finding names its rule, its object and a field path.

pub mod evaluate;
pub mod exceptions;
pub mod fleet;
pub mod gatekeeper;
pub mod images;
pub mod netpol;
pub mod pod;
pub mod pss;
pub mod rbac;
pub mod report;
pub mod secrets;
