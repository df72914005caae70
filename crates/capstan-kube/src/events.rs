//! Kubernetes Events that record what Capstan did (forced deletions above all).
