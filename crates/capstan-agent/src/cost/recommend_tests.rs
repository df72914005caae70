//! The recommender's OOM bookkeeping across ticks and a checkpoint restore.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use capstan_core::cost::{NodeRates, WorkloadKey};
use capstan_kube::view::{Labels, Uid};
use jiff::{SignedDuration, Timestamp};

use super::{OOM_FORGET_TICKS, Recommender, RecommenderSettings};
use crate::cost::checkpoint::RestoredContainer;
use crate::cost::tick::{ContainerSample, WorkloadKeys};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

struct Pod {
    uid: Uid,
    container: Arc<str>,
    labels: Labels,
}

impl Pod {
    fn new(uid: &str) -> Pod {
        Pod {
            uid: Uid::parse(uid),
            container: Arc::from("main"),
            labels: Labels::default(),
        }
    }

    fn sample(&self, oom_restarts: Option<u32>) -> ContainerSample<'_> {
        ContainerSample {
            workload: 0,
            pod_uid: &self.uid,
            container: &self.container,
            containers_in_pod: 1,
            cpu_request_cores: 0.5,
            memory_request_bytes: GIB,
            cpu_usage_cores: Some(0.2),
            memory_usage_bytes: Some(0.6 * GIB),
            oom_restarts,
            spot_node: false,
            rates: NodeRates::default(),
            spot_rates: NodeRates::default(),
            has_empty_dir: false,
            labels: &self.labels,
        }
    }
}

fn keys() -> WorkloadKeys {
    let mut keys = WorkloadKeys::default();
    keys.keys
        .push(WorkloadKey::new("shop", "Deployment", "web"));
    keys
}

/// Ticks `samples` (one per pod) once a minute from `start`; the container's OOM events after.
fn tick(
    r: &mut Recommender,
    keys: &WorkloadKeys,
    at: Timestamp,
    samples: &[ContainerSample<'_>],
) -> u32 {
    r.begin_tick();
    for s in samples {
        r.observe(keys, s, at);
    }
    r.end_tick(at);
    oom_events(r)
}

fn oom_events(r: &Recommender) -> u32 {
    r.slots[0].containers[0].1.state.oom_events()
}

fn restored(r: &Recommender) -> Vec<RestoredContainer> {
    r.checkpoints(|_| true)
        .into_iter()
        .map(|c| RestoredContainer {
            state: capstan_core::rightsizing::ContainerUsageState::from_checkpoint(&c.usage)
                .unwrap(),
            checkpoint: c,
        })
        .collect()
}

#[test]
fn an_oom_still_shown_after_a_restart_is_not_counted_again() {
    let start: Timestamp = "2026-11-02T06:00:00Z".parse().unwrap();
    let minute = |m: i64| start + SignedDuration::from_mins(m);
    let keys = keys();
    let (a, b) = (
        Pod::new("0a3c1e52-8d4f-4b6e-9f10-2c3d4e5f6a7b"),
        Pod::new("b-uid"),
    );
    let mut first = Recommender::new(RecommenderSettings::default());
    assert_eq!(
        tick(
            &mut first,
            &keys,
            minute(0),
            &[a.sample(Some(1)), b.sample(None)]
        ),
        1
    );
    // The same kill shown again is not a new one.
    assert_eq!(
        tick(
            &mut first,
            &keys,
            minute(1),
            &[a.sample(Some(1)), b.sample(None)]
        ),
        1
    );
    let saved = first.checkpoints(|_| true);
    assert_eq!(
        saved[0].oom_restarts_seen,
        [("0a3c1e52-8d4f-4b6e-9f10-2c3d4e5f6a7b".to_string(), 1)]
    );

    let mut second = Recommender::new(RecommenderSettings::default());
    assert_eq!(second.restore(restored(&first)), 1);
    assert_eq!(oom_events(&second), 1, "restored with the state");
    // The restarted agent sees the same last state: still one kill; then b is killed, and a
    // again (its restart count grew): three.
    assert_eq!(
        tick(
            &mut second,
            &keys,
            minute(2),
            &[a.sample(Some(1)), b.sample(None)]
        ),
        1
    );
    assert_eq!(
        tick(
            &mut second,
            &keys,
            minute(3),
            &[a.sample(Some(2)), b.sample(Some(4))]
        ),
        3
    );
}

#[test]
fn oom_records_of_pods_no_longer_seen_are_forgotten() {
    let start: Timestamp = "2026-11-02T06:00:00Z".parse().unwrap();
    let keys = keys();
    let (a, b) = (Pod::new("a-uid"), Pod::new("b-uid"));
    let mut r = Recommender::new(RecommenderSettings::default());
    tick(&mut r, &keys, start, &[a.sample(Some(1)), b.sample(None)]);
    assert_eq!(r.ooms.len(), 1);
    // `a` is gone; `b` keeps running.
    for m in 1..OOM_FORGET_TICKS as i64 {
        tick(
            &mut r,
            &keys,
            start + SignedDuration::from_mins(m),
            &[b.sample(None)],
        );
        assert_eq!(r.ooms.len(), 1, "kept at tick {m}");
    }
    tick(
        &mut r,
        &keys,
        start + SignedDuration::from_mins(OOM_FORGET_TICKS as i64),
        &[b.sample(None)],
    );
    assert!(
        r.ooms.is_empty(),
        "forgotten after {OOM_FORGET_TICKS} ticks unseen"
    );
    assert!(r.checkpoints(|_| true)[0].oom_restarts_seen.is_empty());
}
