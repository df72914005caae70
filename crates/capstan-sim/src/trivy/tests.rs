//! The twin's Trivy Operator over simulated days: expired reports are deleted and replaced by
//! rescans, failing scans leave no report, the image-scanning coverage the agent computes
//! (`capstan_core::posture::images`) stays where it was at generation, scan jobs stay
//! within the limit, and the same seed gives the same reports.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use capstan_core::posture::images::{ScanIndex, VulnerabilityReportInput};
use capstan_core::posture::pod::{ContainerKind, PodInput};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::controllers;
use crate::fleet::{self, FleetOptions, Tier};
use crate::store::RvCounter;

const HOUR: SignedDuration = SignedDuration::from_hours(1);

fn t0() -> Timestamp {
    "2026-11-29T12:00:00Z".parse().unwrap()
}

fn fleet(clusters: u32) -> Vec<ClusterSpec> {
    fleet::plan_fleet(&FleetOptions {
        tier: Tier::Small,
        clusters: Some(clusters),
        nodes: Some(20),
        pods: Some(900),
        seed: 2026,
    })
    .clusters
}

/// A generated cluster as the twin serves it (what `Twin::materialize` does), with a clock
/// as fast as the demo's so that lease renewals are spaced out.
fn generate(spec: &ClusterSpec) -> ClusterData {
    let mut data = ClusterData::new(
        spec.clone(),
        Arc::new(RvCounter::starting_above(0, 0)),
        10_000,
    );
    data.time_scale = 360.0;
    crate::generator::materialize(spec, t0(), &mut |group, plural, value| {
        let s = |p: &str| {
            value
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let key = ObjKey::new(&s("/metadata/namespace"), &s("/metadata/name"));
        data.put(&ResKey::new(group, plural), key, value);
    });
    data.store.compact_all();
    controllers::start(&mut data, t0());
    while controllers::pass(&mut data, t0()) {}
    data
}

/// Run the controllers from `from` to `to` as the controller loop does (every due piece of
/// work at its time), checking the scan job limit after every pass and calling `hourly` on
/// each whole hour after `from`.
fn run(
    data: &mut ClusterData,
    from: Timestamp,
    to: Timestamp,
    mut hourly: impl FnMut(&ClusterData, Timestamp),
) {
    let mut now = from;
    let mut next_hour = from + HOUR;
    loop {
        while controllers::pass(data, now) {
            assert!(data.trivy.in_flight() <= data.trivy.concurrent_scan_jobs());
        }
        assert!(data.trivy.in_flight() <= data.trivy.concurrent_scan_jobs());
        if now >= next_hour {
            hourly(data, now);
            next_hour += HOUR;
        }
        if now >= to {
            break;
        }
        let wake = controllers::next_wake(data).unwrap_or(to);
        now = wake.max(now).min(next_hour).min(to);
    }
}

/// Running containers with a fresh report of their running digest, and all running
/// containers, as the agent counts them.
fn coverage(data: &ClusterData, now: Timestamp) -> (usize, usize) {
    let reports: Vec<VulnerabilityReportInput> = data
        .store
        .range(&REPORTS, "")
        .map(|r| serde_json::from_value(r.value()).unwrap())
        .collect();
    let index = ScanIndex::with_default_ttl(reports);
    let (mut fresh, mut all) = (0, 0);
    for pod in data.store.range(&keys::PODS, "") {
        let pod: PodInput = serde_json::from_value(pod.value()).unwrap();
        if pod.status.phase != "Running" {
            continue;
        }
        for c in &pod.spec.containers {
            let image_id = pod
                .container_status(ContainerKind::Containers, &c.name)
                .map_or("", |s| s.image_id.as_str());
            all += 1;
            fresh += usize::from(
                index
                    .scan_status(&pod, &c.name, &c.image, image_id, now)
                    .is_fresh(),
            );
        }
    }
    (fresh, all)
}

fn share((n, d): (usize, usize)) -> f64 {
    n as f64 / d.max(1) as f64
}

/// Each report: name -> (creationTimestamp, updateTimestamp, digest, TTL annotation).
type ReportRow = (Timestamp, Timestamp, String, Option<String>);

fn reports(data: &ClusterData) -> BTreeMap<String, ReportRow> {
    data.store
        .range(&REPORTS, "")
        .map(|r| {
            let v = r.value();
            let s = |p: &str| {
                v.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let ttl = v
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(REPORT_TTL_ANNOTATION))
                .and_then(Value::as_str)
                .map(str::to_string);
            (
                r.key.to_string(),
                (
                    s("/metadata/creationTimestamp").parse().unwrap(),
                    s("/report/updateTimestamp").parse().unwrap(),
                    s("/report/artifact/digest"),
                    ttl,
                ),
            )
        })
        .collect()
}

/// (report key, whether its workload's scan job fails) of every running workload container
/// the operator scans.
fn scanned_pairs(data: &ClusterData) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for res in [
        &*keys::REPLICASETS,
        &*keys::STATEFULSETS,
        &*keys::DAEMONSETS,
    ] {
        let kind = workload_kind(res).unwrap();
        for w in data.store.range(res, "") {
            if !data.trivy.coverage.scans_namespace(&w.key.namespace) || !has_active_pods(data, w) {
                continue;
            }
            let v = w.value();
            let containers: Vec<(String, String)> = v["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap().to_string();
                    (s("name"), s("image"))
                })
                .collect();
            let fails = containers
                .iter()
                .any(|(_, image)| data.trivy.scan_fails(&w.key.namespace, image));
            for (c, _) in &containers {
                let name = report_name(kind, &w.key.name, c);
                out.push((format!("{}/{name}", w.key.namespace), fails));
            }
        }
    }
    out
}

/// Running containers of the largest workload.
fn largest_workload(data: &ClusterData) -> usize {
    let mut containers: BTreeMap<String, usize> = BTreeMap::new();
    for p in data.store.range(&keys::PODS, "") {
        if let Some(owner) = p.pod().and_then(|f| f.controller_name.as_deref()) {
            let n = p.value()["spec"]["containers"]
                .as_array()
                .map_or(0, Vec::len);
            *containers
                .entry(format!("{}/{owner}", p.key.namespace))
                .or_default() += n;
        }
    }
    containers.into_values().max().unwrap_or(0)
}

/// The cluster of the test fleet with the most containers whose scans fail and whose
/// reports will expire (then the operator tries again and fails), then with the most
/// containers whose scans fail.
fn cluster_with_failing_scans() -> ClusterData {
    fleet(6)
        .iter()
        .map(generate)
        .max_by_key(|d| {
            let reports = reports(d);
            let failing: Vec<String> = scanned_pairs(d)
                .into_iter()
                .filter_map(|(key, fails)| fails.then_some(key))
                .collect();
            let expiring = failing
                .iter()
                .filter(|k| reports.get(*k).is_some_and(|r| r.3.is_some()))
                .count();
            (expiring, failing.len())
        })
        .unwrap()
}

#[test]
fn rescans_keep_the_coverage_of_generation_for_three_days() {
    let mut data = cluster_with_failing_scans();
    let start = t0();
    let end = start + SignedDuration::from_hours(72);
    let pairs = scanned_pairs(&data);
    let failing = pairs.iter().filter(|(_, f)| *f).count();
    assert!(failing >= 2, "{failing} failing pairs of {}", pairs.len());
    let at_generation = coverage(&data, start);
    let before = reports(&data);
    // Generation leaves no fresh report for a failing pair, and a fresh one for every
    // other.
    for (key, fails) in &pairs {
        let fresh = before
            .get(key)
            .is_some_and(|r| r.3.is_some() && start.duration_since(r.1) < SCANNER_REPORT_TTL);
        assert!(fresh || *fails, "{key} has no fresh report at generation");
    }

    let mut hourly = Vec::new();
    run(&mut data, start, end, |d, now| {
        hourly.push((now, share(coverage(d, now))))
    });
    let g = share(at_generation);
    eprintln!(
        "coverage at generation {g:.4} ({} of {}), hourly min {:.4} max {:.4}, {:?}",
        at_generation.0,
        at_generation.1,
        hourly.iter().map(|h| h.1).fold(1.0, f64::min),
        hourly.iter().map(|h| h.1).fold(0.0, f64::max),
        data.trivy.stats,
    );
    assert_eq!(hourly.len(), 72);
    // A workload is uncovered from its report's expiry to the end of its rescan, a minute or
    // two: an hourly look may catch one (the largest at most) in between.
    let tolerance = 0.002 + share((largest_workload(&data), at_generation.1));
    for (now, c) in &hourly {
        assert!(
            (c - g).abs() <= tolerance,
            "coverage {c:.4} at {now}, {g:.4} at generation (tolerance {tolerance:.4})"
        );
    }
    let mean = hourly.iter().map(|h| h.1).sum::<f64>() / hourly.len() as f64;
    assert!(
        (mean - g).abs() <= 0.003,
        "mean coverage {mean:.4}, {g:.4} at generation"
    );

    // Every report with a TTL is younger than it; every one generated with one was deleted
    // and, unless its scans fail, replaced by a fresh one of the running digest.
    let after = reports(&data);
    for (key, (created, _, _, ttl)) in &after {
        if ttl.is_some() {
            assert!(
                end.duration_since(*created) <= SCANNER_REPORT_TTL,
                "{key} outlived its TTL"
            );
        }
    }
    for (key, fails) in &pairs {
        let was = before.get(key);
        let now = after.get(key);
        if *fails {
            let fresh = now.is_some_and(|r| end.duration_since(r.1) <= SCANNER_REPORT_TTL);
            assert!(!fresh, "{key}: a failing scan produced a report");
            if let Some(was) = was.filter(|w| w.3.is_some()) {
                assert!(now.is_none(), "{key} ({was:?}) was not deleted");
            }
        } else {
            let (created, _, digest, ttl) = now.unwrap_or_else(|| panic!("{key} has no report"));
            assert!(
                *created > start + SCANNER_REPORT_TTL - HOUR,
                "{key} was not rescanned"
            );
            assert_eq!(ttl.as_deref(), Some(SCANNER_REPORT_TTL_ANNOTATION));
            assert_eq!(digest, &was.unwrap().2, "{key}: same image, same digest");
        }
    }
    let stats = data.trivy.stats;
    assert!(stats.reports_expired as usize >= before.values().filter(|r| r.3.is_some()).count());
    // Only a failing pair's expiring report makes the operator try (and fail) again.
    let retried = pairs
        .iter()
        .any(|(key, fails)| *fails && before.get(key).is_some_and(|r| r.3.is_some()));
    assert!(retried && stats.scans_failed > 0, "{stats:?}");
    assert!(stats.reports_written > 0, "{stats:?}");
    assert!(
        stats.max_in_flight <= DEFAULT_CONCURRENT_SCAN_JOBS,
        "{stats:?}"
    );
}

#[test]
fn the_same_seed_gives_the_same_rescans() {
    let spec = &fleet(1)[0];
    let day = |spec: &ClusterSpec| {
        let mut data = generate(spec);
        run(
            &mut data,
            t0(),
            t0() + SignedDuration::from_hours(30),
            |_, _| {},
        );
        let json: Vec<(String, Value)> = data
            .store
            .range(&REPORTS, "")
            .map(|r| (r.key.to_string(), r.value()))
            .collect();
        (json, data.trivy.stats)
    };
    let (a, stats) = day(spec);
    assert!(stats.reports_written > 0, "{stats:?}");
    assert!(a == day(spec).0);
}

use coverage::DEFAULT_CONCURRENT_SCAN_JOBS;

/// A Deployment of the cluster whose scans succeed, with one container.
fn scannable_deployment(data: &ClusterData) -> ObjKey {
    data.store
        .range(&keys::DEPLOYMENTS, "")
        .find(|d| {
            let v = d.value();
            let cs = v["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .clone();
            let image = cs[0]["image"].as_str().unwrap();
            cs.len() == 1
                && v["spec"]["replicas"].as_i64().unwrap_or(0) >= 2
                && data.trivy.coverage.scans_namespace(&d.key.namespace)
                && !data.trivy.scan_fails(&d.key.namespace, image)
        })
        .map(|d| d.key.clone())
        .unwrap()
}

fn replica_sets_of(data: &ClusterData, deployment: &ObjKey) -> Vec<Arc<Obj>> {
    let uid = data
        .get(&keys::DEPLOYMENTS, deployment)
        .unwrap()
        .uid
        .clone();
    data.index.dependents[&uid]
        .iter()
        .filter_map(|(r, k)| data.get(r, k))
        .collect()
}

#[test]
fn a_new_revision_is_scanned_and_the_old_ones_reports_go() {
    let mut data = generate(&fleet(1)[0]);
    let dep = scannable_deployment(&data);
    let old_rs: Vec<String> = replica_sets_of(&data, &dep)
        .iter()
        .map(|r| r.key.name.to_string())
        .collect();
    // `kubectl set image`: a new tag, a new template, a new ReplicaSet.
    let mut v = data.get(&keys::DEPLOYMENTS, &dep).unwrap().value();
    let image = v["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    let new_image = format!("{}-hotfix", image);
    v["spec"]["template"]["spec"]["containers"][0]["image"] = json!(new_image);
    v["metadata"]["generation"] = json!(v["metadata"]["generation"].as_i64().unwrap() + 1);
    data.put(&keys::DEPLOYMENTS, dep.clone(), v);
    let start = t0() + SignedDuration::from_secs(1);
    run(
        &mut data,
        start,
        start + SignedDuration::from_mins(30),
        |_, _| {},
    );

    let container = {
        let v = data.get(&keys::DEPLOYMENTS, &dep).unwrap().value();
        v["spec"]["template"]["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let rss = replica_sets_of(&data, &dep);
    let new_rs = rss
        .iter()
        .find(|r| !old_rs.contains(&r.key.name.to_string()))
        .unwrap();
    let report_of = |rs: &str| {
        data.get(
            &REPORTS,
            &ObjKey::new(&dep.namespace, &report_name("ReplicaSet", rs, &container)),
        )
    };
    let report = report_of(&new_rs.key.name)
        .expect("the new revision has a report")
        .value();
    let digest = o::image_id(&new_image);
    assert_eq!(
        report["report"]["artifact"]["digest"].as_str(),
        digest.rsplit_once('@').map(|d| d.1)
    );
    let updated: Timestamp = report["report"]["updateTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(updated > start && updated < start + SignedDuration::from_mins(30));
    for rs in &old_rs {
        assert!(
            report_of(rs).is_none(),
            "{rs}'s report outlived its revision"
        );
    }
}

#[test]
fn the_report_ttl_annotation_is_honoured() {
    let mut data = generate(&fleet(1)[0]);
    let dep = scannable_deployment(&data);
    let rs = replica_sets_of(&data, &dep)
        .into_iter()
        .find(|r| has_active_pods(&data, r))
        .unwrap();
    let v = rs.value();
    let container = v["spec"]["template"]["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let key = ObjKey::new(
        &dep.namespace,
        &report_name("ReplicaSet", &rs.key.name, &container),
    );
    // An hour's TTL on this report; none on a report the operator does not own.
    let mut report = data.get(&REPORTS, &key).unwrap().value();
    report["metadata"]["annotations"] = json!({ REPORT_TTL_ANNOTATION: "1h0m0s" });
    report["metadata"]["creationTimestamp"] = json!(o::rfc3339(t0()));
    data.put(&REPORTS, key.clone(), report.clone());
    let other = ObjKey::new(&dep.namespace, "replicaset-elsewhere-app");
    let mut unowned = report;
    unowned["metadata"]["name"] = json!(other.name.to_string());
    unowned["metadata"]["annotations"] = json!({});
    unowned["metadata"]["labels"][LABEL_RESOURCE_NAME] = json!("elsewhere");
    data.put(&REPORTS, other.clone(), unowned);
    let before = data.get(&REPORTS, &key).unwrap().uid.clone();

    let at_ttl = t0() + HOUR;
    run(
        &mut data,
        t0(),
        at_ttl - SignedDuration::from_secs(1),
        |_, _| {},
    );
    assert_eq!(
        data.get(&REPORTS, &key).unwrap().uid,
        before,
        "deleted before its TTL"
    );
    run(
        &mut data,
        at_ttl - SignedDuration::from_secs(1),
        at_ttl,
        |_, _| {},
    );
    assert!(data.get(&REPORTS, &key).is_none(), "not deleted at its TTL");
    // Rescanned minutes later: a new object with the operator's own TTL.
    run(
        &mut data,
        at_ttl,
        at_ttl + SignedDuration::from_mins(30),
        |_, _| {},
    );
    let after = data.get(&REPORTS, &key).unwrap();
    assert_ne!(after.uid, before);
    let v = after.value();
    let created: Timestamp = v["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(created > at_ttl && created < at_ttl + SignedDuration::from_mins(5));
    assert_eq!(
        v["metadata"]["annotations"][REPORT_TTL_ANNOTATION],
        json!(SCANNER_REPORT_TTL_ANNOTATION)
    );
    assert!(
        data.get(&REPORTS, &other).is_some(),
        "a report without TTL was deleted"
    );
}
