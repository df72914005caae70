#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The twin's Trivy Operator seen through the API: a day later, the reports whose TTL ran
//! out are deleted and rescanned ones appear, as a watch from before and a LIST after see.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use capstan_sim::TwinConfig;
use capstan_sim::cluster::keys;
use capstan_sim::store::ObjKey;
use common::{FLEET, TestTwin};
use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, WatchEvent, WatchParams,
};

const TTL_ANNOTATION: &str = "trivy-operator.aquasecurity.github.io/report-ttl";

fn key(o: &DynamicObject) -> String {
    format!(
        "{}/{}",
        o.metadata.namespace.as_deref().unwrap_or(""),
        o.metadata.name.as_deref().unwrap_or("")
    )
}

fn created(o: &DynamicObject) -> Timestamp {
    let t = o.metadata.creation_timestamp.as_ref().unwrap();
    t.0.to_string().parse().unwrap()
}

/// The reports among `with_ttl` whose workload's scan job succeeds (the twin's operator
/// says which images it cannot pull).
fn rescannable(t: &TestTwin, with_ttl: &BTreeMap<String, DynamicObject>) -> BTreeSet<String> {
    let cluster = t.twin.cluster("alpha").unwrap();
    let data = t.twin.lock(cluster);
    with_ttl
        .iter()
        .filter(|(_, r)| {
            let labels = r.metadata.labels.as_ref().unwrap();
            let namespace = &labels["trivy-operator.resource.namespace"];
            let res = match labels["trivy-operator.resource.kind"].as_str() {
                "ReplicaSet" => &*keys::REPLICASETS,
                "StatefulSet" => &*keys::STATEFULSETS,
                _ => &*keys::DAEMONSETS,
            };
            let workload = data
                .get(
                    res,
                    &ObjKey::new(namespace, &labels["trivy-operator.resource.name"]),
                )
                .unwrap()
                .value();
            let containers = workload["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap();
            !containers.iter().any(|c| {
                data.trivy
                    .scan_fails(namespace, c["image"].as_str().unwrap())
            })
        })
        .map(|(k, _)| k.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reports_are_rescanned_and_clients_see_it() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let client = t.client("alpha", true).await;
    let gvk = GroupVersionKind::gvk("aquasecurity.github.io", "v1alpha1", "VulnerabilityReport");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "vulnerabilityreports");
    let reports: Api<DynamicObject> = Api::all_with(client, &ar);
    let list = reports.list(&ListParams::default()).await.unwrap();
    let with_ttl: BTreeMap<String, DynamicObject> = list
        .items
        .into_iter()
        .filter(|r| {
            r.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(TTL_ANNOTATION))
        })
        .map(|r| (key(&r), r))
        .collect();
    assert!(with_ttl.len() >= 3, "{} reports with a TTL", with_ttl.len());
    let rescannable = rescannable(&t, &with_ttl);
    assert!(!rescannable.is_empty());
    let rv = list.metadata.resource_version.unwrap();
    let mut events = reports
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();

    // A day and an hour later every report with a TTL has run out.
    let jump = t.twin.now() + SignedDuration::from_hours(25);
    t.clock.advance(Duration::from_secs(25 * 3600));
    let mut deleted = BTreeSet::new();
    let mut added = BTreeMap::new();
    let seen = tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(event) = events.try_next().await.unwrap() {
            match event {
                WatchEvent::Deleted(r) => {
                    deleted.insert(key(&r));
                }
                WatchEvent::Added(r) => {
                    added.insert(key(&r), r);
                }
                WatchEvent::Modified(_) | WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(e) => panic!("watch error: {e:?}"),
            }
            let all_deleted = with_ttl.keys().all(|k| deleted.contains(k));
            if all_deleted && rescannable.iter().all(|k| added.contains_key(k)) {
                return;
            }
        }
    })
    .await;
    assert!(
        seen.is_ok(),
        "deleted {} of {}, rescanned {}",
        deleted.len(),
        with_ttl.len(),
        added.len()
    );
    for (k, r) in &added {
        assert!(deleted.contains(k), "{k} appeared without being deleted");
        assert!(
            rescannable.contains(k),
            "{k}: a failing scan wrote a report"
        );
        assert_ne!(r.metadata.uid, with_ttl[k].metadata.uid, "{k}");
        assert!(created(r) >= jump, "{k} was created before the rescan");
    }

    // A LIST now holds no report past its TTL: the rescanned ones and those still to come.
    let now = t.twin.now();
    let after = reports.list(&ListParams::default()).await.unwrap();
    for r in &after.items {
        let ttl = r
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(TTL_ANNOTATION));
        if ttl.is_some() {
            assert!(
                now.duration_since(created(r)) <= SignedDuration::from_hours(24),
                "{} outlived its TTL",
                key(r)
            );
        }
    }
    let listed: BTreeSet<String> = after.items.iter().map(key).collect();
    assert!(added.keys().all(|k| listed.contains(k)));
}
