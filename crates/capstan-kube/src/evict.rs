//! The eviction client: policy/v1 evictions (and plain deletions) with UID preconditions, their
//! answers classified by `capstan_core::drain::classify_eviction`.
//!
//! The client handed in must have kube's automatic retry off
//! ([`crate::connect::Target::eviction_client`]): a 429 from a PodDisruptionBudget is an answer
//! the drain engine acts on, not a transport hiccup to hide.

use std::time::Duration;

use capstan_core::drain::{EvictionAnswer, StatusAnswer, classify_eviction};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, EvictParams, PostParams, Preconditions};

use crate::{Error, Result};

/// Evicts and deletes pods, returning classified answers instead of errors for API refusals.
#[derive(Clone)]
pub struct EvictionClient {
    client: kube::Client,
    retry_delay: Duration,
}

/// One pod to evict or delete, pinned to the UID that was listed.
#[derive(Debug, Clone, Copy)]
pub struct PodTarget<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    /// `deleteOptions.gracePeriodSeconds`; `None` leaves the pod's own.
    pub grace_period_seconds: Option<i64>,
    pub dry_run: bool,
}

impl PodTarget<'_> {
    fn delete_params(&self) -> DeleteParams {
        DeleteParams {
            dry_run: self.dry_run,
            grace_period_seconds: self.grace_period_seconds.map(|g| g.max(0) as u32),
            // The UID precondition makes a same-name replacement (a StatefulSet pod) safe:
            // the server answers 409 instead of evicting the new pod.
            preconditions: Some(Preconditions {
                uid: Some(self.uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        }
    }
}

impl EvictionClient {
    /// `retry_delay` is used for refusals that carry no Retry-After.
    pub fn new(client: kube::Client, retry_delay: Duration) -> Self {
        Self {
            client,
            retry_delay,
        }
    }

    /// POST the pod's `eviction` subresource.
    pub async fn evict(&self, pod: PodTarget<'_>) -> Result<EvictionAnswer> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), pod.namespace);
        let params = EvictParams {
            delete_options: Some(pod.delete_params()),
            post_options: PostParams {
                dry_run: pod.dry_run,
                ..PostParams::default()
            },
        };
        self.classify(api.evict(pod.name, &params).await.map(|_| ()))
    }

    /// DELETE the pod, bypassing PodDisruptionBudgets (`--disable-eviction`, or escalation).
    pub async fn delete(&self, pod: PodTarget<'_>) -> Result<EvictionAnswer> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), pod.namespace);
        self.classify(api.delete(pod.name, &pod.delete_params()).await.map(|_| ()))
    }

    fn classify(&self, result: std::result::Result<(), kube::Error>) -> Result<EvictionAnswer> {
        match result {
            Ok(()) => Ok(EvictionAnswer::Evicted),
            Err(kube::Error::Api(status)) => {
                let details = status.details.as_ref();
                let answer = StatusAnswer {
                    code: status.code,
                    message: &status.message,
                    cause_types: details
                        .map(|d| d.causes.iter().map(|c| c.reason.as_str()).collect())
                        .unwrap_or_default(),
                    retry_after_seconds: details.map(|d| d.retry_after_seconds).unwrap_or(0),
                };
                Ok(classify_eviction(&answer, self.retry_delay))
            }
            Err(e) => Err(Error::Kube(e)),
        }
    }
}
