//! Capstan's core: the decisions and data types that every other crate shares.
//!
//! Architecture invariant: this crate does no I/O and reads no clock. Every decision is a
//! function of the state and a `now` passed in, which is what makes rollouts and the twin
//! testable and reproducible at fleet scale.

pub mod annotations;
pub mod cloud;
pub mod cost;
pub mod drain;
pub mod duration;
pub mod health;
pub mod intstr;
pub mod lifecycle;
pub mod posture;
pub mod promql;
pub mod quantity;
pub mod recommendations;
pub mod rightsizing;
pub mod rng;
pub mod rollout;
pub mod savings;
pub mod selector;
pub mod summary;
pub mod upgrade;
pub mod version;
pub mod yaml_file;

mod error;
pub use error::{Error, Result};
