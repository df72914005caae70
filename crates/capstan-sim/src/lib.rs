//! Capstan's Kubernetes API twin.
//!
//! One process serves many simulated clusters under `/clusters/{name}/...`, each a faithful
//! subset of kube-apiserver (discovery, CRUD, list/watch with the upstream wire contract,
//! patches, eviction with PodDisruptionBudgets, tables) with the controllers that make objects
//! move: scheduler, kubelets, workload controllers, disruption controller, garbage collector,
//! and a fake cloud per cluster. Real kubectl and kube-rs clients are its measure.

pub mod api;
pub mod cloud;
pub mod cluster;
pub mod controllers;
pub mod defaults;
pub mod discovery;
pub mod disruption;
pub mod error;
pub mod faults;
pub mod fleet;
pub mod gc;
pub mod generator;
pub mod handlers;
pub mod kubelet;
pub mod metrics;
pub mod objects;
pub mod openapi;
pub mod patch;
pub mod pdb_index;
pub mod query;
pub mod resources;
pub mod rest;
pub mod server;
pub mod store;
pub mod table;
pub mod trivy;
pub mod twin;
pub mod watch;
pub mod workloads;

pub use twin::{Twin, TwinConfig};
