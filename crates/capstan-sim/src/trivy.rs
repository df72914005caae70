//! The twin's Trivy Operator (aquasecurity/trivy-operator), in the clusters generated with it:
//! - the TTL report controller (`pkg/operator/ttl_report.go`) deletes a VulnerabilityReport
//!   once `creationTimestamp` + its `report-ttl` annotation has passed; a report without the
//!   annotation is never deleted;
//! - the workload controller (`pkg/vulnerabilityreport/controller/workload.go`) reconciles a
//!   ReplicaSet, StatefulSet or DaemonSet when it changes or one of its reports does: with
//!   running pods (ReplicaSets and StatefulSets), of the Deployment's current revision
//!   (`scanOnlyCurrentRevisions`; an old revision's reports get TTL `0s` instead), without a
//!   report carrying the current `resource-spec-hash` for every container and without a
//!   scan job already, it starts one scan job for the workload, if fewer than
//!   `OPERATOR_CONCURRENT_SCAN_JOBS_LIMIT` run (else it retries later);
//! - a scan job runs a minute or two and writes one report per container (create, or update
//!   of labels and `report` keeping metadata, as upstream's `createOrUpdate`), for the digest
//!   the tag points at now; a job whose image cannot be pulled fails and writes nothing.
//!
//! Cost: nothing here visits every report or workload. Reports are indexed by expiry when
//! written, workloads queued by the writes that concern them, and each pass takes a bounded
//! batch of each, so a cluster of a million pods is served as cheaply as a small one.

mod coverage;
mod report;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::LazyLock;

use capstan_core::posture::images::{
    LABEL_RESOURCE_KIND, LABEL_RESOURCE_NAME, LABEL_RESOURCE_NAMESPACE,
};
use capstan_core::rng::SimRng;
use capstan_core::selector::Labels as _;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::cluster::{ClusterData, keys};
use crate::fleet::ClusterSpec;
use crate::objects as o;
use crate::resources::ResKey;
use crate::rest::{self, DeleteOptions};
use crate::store::{Obj, ObjKey};

pub(crate) use coverage::{Leftover, ScanCoverage};
pub(crate) use report::{
    REPORT_TTL_ANNOTATION, ReportSubject, Scanned, report_name, vulnerability_report,
};

/// The operator's `OPERATOR_SCANNER_REPORT_TTL` (Helm `scannerReportTTL: "24h"`).
pub const SCANNER_REPORT_TTL: SignedDuration = SignedDuration::from_hours(24);
/// [`SCANNER_REPORT_TTL`] as the annotation holds it (Go's `time.Duration.String()`).
pub(crate) const SCANNER_REPORT_TTL_ANNOTATION: &str = "24h0m0s";
/// What marks an old revision's report for immediate deletion (`time.Duration(0).String()`).
const IMMEDIATE_TTL_ANNOTATION: &str = "0s";

/// Reports deleted and workloads reconciled per pass, at most.
const EXPIRY_BATCH: usize = 256;
const WORKLOAD_BATCH: usize = 256;
/// A scan job's run time in seconds: the job's pod starts, Trivy pulls the image and its
/// database and scans; a job whose image cannot be pulled fails sooner.
const SCAN_SECONDS: (u64, u64) = (45, 150);
const FAILED_SCAN_SECONDS: (u64, u64) = (15, 40);

static REPORTS: LazyLock<ResKey> =
    LazyLock::new(|| ResKey::new("aquasecurity.github.io", "vulnerabilityreports"));

/// A workload the operator scans: its resource and key.
type WorkloadRef = (ResKey, ObjKey);

/// One scan job in flight.
#[derive(Debug, Clone)]
struct ScanJob {
    workload: WorkloadRef,
    kind: &'static str,
    uid: String,
    spec_hash: String,
    /// (name, image) of each container.
    containers: Vec<(String, String)>,
    fails: bool,
}

/// What the operator has done, for tests and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrivyStats {
    pub workloads_reconciled: u64,
    pub reports_expired: u64,
    pub scans_started: u64,
    pub scans_failed: u64,
    pub reports_written: u64,
    /// The most scan jobs ever in flight at once.
    pub max_in_flight: usize,
}

/// The operator's state in one cluster, kept current by every write (see
/// [`Trivy::before_put`] and [`Trivy::after_remove`]).
#[derive(Debug)]
pub struct Trivy {
    coverage: ScanCoverage,
    /// Set by [`start`] when the cluster serves VulnerabilityReports: the generator installs
    /// the operator there.
    running: bool,
    /// (expiry, report) for every report written with a TTL. Entries are not removed with
    /// their report: a due entry is checked against the report as it is then.
    expiries: BTreeSet<(Timestamp, ObjKey)>,
    /// The workload controller's queue, first come first served, without duplicates.
    queue: VecDeque<WorkloadRef>,
    queued: HashSet<WorkloadRef>,
    /// Scan jobs by finish time (and submission order).
    jobs: BTreeMap<(Timestamp, u64), ScanJob>,
    /// Workloads with a job in flight.
    scanning: HashMap<WorkloadRef, String>,
    seq: u64,
    rng: SimRng,
    pub stats: TrivyStats,
}

impl Trivy {
    pub fn new(spec: &ClusterSpec) -> Self {
        Self {
            coverage: ScanCoverage::for_cluster(spec),
            running: false,
            expiries: BTreeSet::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            jobs: BTreeMap::new(),
            scanning: HashMap::new(),
            seq: 0,
            rng: SimRng::new(spec.seed)
                .fork(&spec.name)
                .fork("trivy-operator"),
            stats: TrivyStats::default(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Scan jobs in flight.
    pub fn in_flight(&self) -> usize {
        self.jobs.len()
    }

    /// `OPERATOR_CONCURRENT_SCAN_JOBS_LIMIT` in this cluster.
    pub fn concurrent_scan_jobs(&self) -> usize {
        self.coverage.concurrent_scan_jobs
    }

    /// Whether scans of `image` in `namespace` fail in this cluster.
    pub fn scan_fails(&self, namespace: &str, image: &str) -> bool {
        self.coverage.failing(namespace, image).is_some()
    }

    /// When the operator next has timed work: a report's expiry or a job's end.
    pub fn next_due(&self) -> Option<Timestamp> {
        if !self.running {
            return None;
        }
        let expiry = self.expiries.first().map(|(at, _)| *at);
        let job = self.jobs.first_key_value().map(|((at, _), _)| *at);
        expiry.into_iter().chain(job).min()
    }

    /// Sees a write before it is stored: a report's expiry is indexed; once the operator
    /// runs, the workload written, or the one owning the report, is queued (upstream's
    /// `For` workload and `Owns` report watches).
    pub fn before_put(&mut self, res: &ResKey, key: &ObjKey, value: &Value) {
        if *res == *REPORTS {
            if let Some(at) = expiry_of(value) {
                self.expiries.insert((at, key.clone()));
            }
            if self.running {
                let labels = value.pointer("/metadata/labels");
                let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
                self.enqueue_owner(
                    label(LABEL_RESOURCE_KIND),
                    label(LABEL_RESOURCE_NAME),
                    label(LABEL_RESOURCE_NAMESPACE).unwrap_or(&key.namespace),
                );
            }
        } else if self.running && workload_kind(res).is_some() {
            self.enqueue((res.clone(), key.clone()));
        }
    }

    /// Sees a removal: a deleted report's workload is queued (to be rescanned).
    pub fn after_remove(&mut self, res: &ResKey, gone: &Obj) {
        if self.running && *res == *REPORTS {
            let namespace = gone
                .labels
                .get_label(LABEL_RESOURCE_NAMESPACE)
                .unwrap_or(&gone.key.namespace)
                .to_string();
            self.enqueue_owner(
                gone.labels.get_label(LABEL_RESOURCE_KIND),
                gone.labels.get_label(LABEL_RESOURCE_NAME),
                &namespace,
            );
        }
    }

    fn enqueue_owner(&mut self, kind: Option<&str>, name: Option<&str>, namespace: &str) {
        if let (Some(res), Some(name)) = (kind.and_then(workload_res), name) {
            self.enqueue((res.clone(), ObjKey::new(namespace, name)));
        }
    }

    fn enqueue(&mut self, w: WorkloadRef) {
        if self.queued.insert(w.clone()) {
            self.queue.push_back(w);
        }
    }
}

/// The workload kinds the operator scans, by resource.
fn workload_kind(res: &ResKey) -> Option<&'static str> {
    if *res == *keys::REPLICASETS {
        Some("ReplicaSet")
    } else if *res == *keys::STATEFULSETS {
        Some("StatefulSet")
    } else if *res == *keys::DAEMONSETS {
        Some("DaemonSet")
    } else {
        None
    }
}

fn workload_res(kind: &str) -> Option<&'static ResKey> {
    match kind {
        "ReplicaSet" => Some(&keys::REPLICASETS),
        "StatefulSet" => Some(&keys::STATEFULSETS),
        "DaemonSet" => Some(&keys::DAEMONSETS),
        _ => None,
    }
}

/// When a report's TTL runs out, if it has one that parses (upstream leaves a report with
/// an unparsable annotation alone, logging the error).
fn expiry_of(report: &Value) -> Option<Timestamp> {
    let meta = report.get("metadata")?;
    let ttl = meta
        .pointer("/annotations")?
        .get(REPORT_TTL_ANNOTATION)?
        .as_str()?;
    let ttl = capstan_core::duration::parse_duration(ttl).ok()?;
    let created: Timestamp = meta.get("creationTimestamp")?.as_str()?.parse().ok()?;
    created
        .checked_add(SignedDuration::try_from(ttl).ok()?)
        .ok()
}

/// The operator starts with the cluster when the cluster serves its reports. Its initial
/// sync is long past: the reports generated are what it left.
pub fn start(data: &mut ClusterData) {
    data.trivy.running = data
        .find_type("aquasecurity.github.io", "v1alpha1", "vulnerabilityreports")
        .is_some();
}

/// One pass of the operator: finished scan jobs write their reports, expired reports are
/// deleted, queued workloads are reconciled. True when something was done.
pub fn reconcile(data: &mut ClusterData, now: Timestamp) -> bool {
    if !data.trivy.running {
        return false;
    }
    let mut progressed = finish_jobs(data, now);
    progressed |= expire_reports(data, now);
    progressed |= reconcile_workloads(data, now);
    progressed
}

fn finish_jobs(data: &mut ClusterData, now: Timestamp) -> bool {
    let mut progressed = false;
    while let Some(entry) = data.trivy.jobs.first_entry() {
        if entry.key().0 > now {
            break;
        }
        let ((finished, _), job) = entry.remove_entry();
        data.trivy.scanning.remove(&job.workload);
        progressed = true;
        if job.fails {
            data.trivy.stats.scans_failed += 1;
            tracing::debug!(cluster = %data.spec.name, workload = %job.workload.1, "trivy: scan job failed (image pull), no report");
            continue;
        }
        // Upstream resolves the job's owner again; a workload gone meanwhile gets no report.
        let owner = data.get(&job.workload.0, &job.workload.1);
        if owner.is_none_or(|w| *w.uid != *job.uid) {
            continue;
        }
        for (container, image) in &job.containers {
            write_report(data, &job, container, image, finished);
        }
    }
    progressed
}

/// Create the container's report, or update an existing one's labels and `report`, keeping
/// its metadata (so its creation time and TTL), as upstream's `createOrUpdate` does.
fn write_report(
    data: &mut ClusterData,
    job: &ScanJob,
    container: &str,
    image: &str,
    finished: Timestamp,
) {
    let key = &job.workload.1;
    let subject = ReportSubject {
        namespace: &key.namespace,
        kind: job.kind,
        name: &key.name,
        uid: &job.uid,
        spec_hash: &job.spec_hash,
        container,
        image,
    };
    let fresh = vulnerability_report(
        &subject,
        Scanned::Current,
        finished,
        Some(SCANNER_REPORT_TTL_ANNOTATION),
        &mut data.trivy.rng,
    );
    let report_key = ObjKey::new(&key.namespace, &report_name(job.kind, &key.name, container));
    let value = match data.get(&REPORTS, &report_key) {
        Some(existing) => {
            let mut v = existing.value();
            v["metadata"]["labels"] = fresh["metadata"]["labels"].clone();
            v["report"] = fresh["report"].clone();
            // A custom resource without a status subresource: any change but metadata is a
            // new generation.
            let generation = v["metadata"]["generation"].as_i64().unwrap_or(1);
            v["metadata"]["generation"] = json!(generation + 1);
            v
        }
        None => fresh,
    };
    data.put(&REPORTS, report_key, value);
    data.trivy.stats.reports_written += 1;
}

fn expire_reports(data: &mut ClusterData, now: Timestamp) -> bool {
    let Some(rt) = data.type_of(&REPORTS) else {
        return false;
    };
    let mut done = 0;
    while done < EXPIRY_BATCH {
        match data.trivy.expiries.first() {
            Some((at, _)) if *at <= now => {}
            _ => break,
        }
        let Some((_, key)) = data.trivy.expiries.pop_first() else {
            break;
        };
        done += 1;
        let Some(report) = data.get(&REPORTS, &key) else {
            continue;
        };
        // The entry may predate a rewrite of the report: go by the report as it is.
        if report.deleting || expiry_of(&report.value()).is_none_or(|at| at > now) {
            continue;
        }
        if rest::delete(data, &rt, &key, &DeleteOptions::default(), now).is_ok() {
            data.trivy.stats.reports_expired += 1;
        }
    }
    done > 0
}

/// Whether a queued workload was dealt with, or waits for a free scan job slot.
enum Outcome {
    Done,
    Blocked,
}

fn reconcile_workloads(data: &mut ClusterData, now: Timestamp) -> bool {
    let mut done = 0;
    while done < WORKLOAD_BATCH {
        let Some(w) = data.trivy.queue.front().cloned() else {
            break;
        };
        if let Outcome::Blocked = reconcile_workload(data, &w, now) {
            break;
        }
        data.trivy.queue.pop_front();
        data.trivy.queued.remove(&w);
        data.trivy.stats.workloads_reconciled += 1;
        done += 1;
    }
    done > 0
}

fn reconcile_workload(data: &mut ClusterData, w: &WorkloadRef, now: Timestamp) -> Outcome {
    let (res, key) = w;
    let Some(kind) = workload_kind(res) else {
        return Outcome::Done;
    };
    if !data.trivy.coverage.scans_namespace(&key.namespace) {
        return Outcome::Done;
    }
    let Some(obj) = data.get(res, key) else {
        return Outcome::Done;
    };
    // Upstream's `SkipProcessing`: ReplicaSets and StatefulSets without active pods.
    if obj.deleting || (kind != "DaemonSet" && !has_active_pods(data, &obj)) {
        return Outcome::Done;
    }
    let v = obj.value();
    let template = v.pointer("/spec/template").unwrap_or(&Value::Null);
    let containers: Vec<(String, String)> = template
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    (s("name"), s("image"))
                })
                .collect()
        })
        .unwrap_or_default();
    if kind == "ReplicaSet" && !current_revision(data, &v) {
        mark_for_immediate_deletion(data, key, kind, &containers);
        return Outcome::Done;
    }
    if containers.is_empty() {
        return Outcome::Done;
    }
    let hash = o::pod_template_hash(template);
    let reported = containers.iter().all(|(c, _)| {
        data.get(
            &REPORTS,
            &ObjKey::new(&key.namespace, &report_name(kind, &key.name, c)),
        )
        .is_some_and(|r| r.labels.get_label("resource-spec-hash") == Some(hash.as_str()))
    });
    // One job per workload at a time (upstream names it after the workload, so a second
    // one already exists).
    if reported || data.trivy.scanning.contains_key(w) {
        return Outcome::Done;
    }
    let trivy = &mut data.trivy;
    if trivy.jobs.len() >= trivy.coverage.concurrent_scan_jobs {
        return Outcome::Blocked;
    }
    let fails = containers
        .iter()
        .any(|(_, image)| trivy.coverage.failing(&key.namespace, image).is_some());
    let (lo, hi) = if fails {
        FAILED_SCAN_SECONDS
    } else {
        SCAN_SECONDS
    };
    let finish = now + SignedDuration::from_secs(trivy.rng.range_inclusive(lo, hi) as i64);
    trivy.seq += 1;
    trivy.scanning.insert(w.clone(), hash.clone());
    trivy.jobs.insert(
        (finish, trivy.seq),
        ScanJob {
            workload: w.clone(),
            kind,
            uid: obj.uid.to_string(),
            spec_hash: hash,
            containers,
            fails,
        },
    );
    trivy.stats.scans_started += 1;
    trivy.stats.max_in_flight = trivy.stats.max_in_flight.max(trivy.jobs.len());
    Outcome::Done
}

/// A pod of the workload that is neither finished nor being deleted.
fn has_active_pods(data: &ClusterData, workload: &Obj) -> bool {
    data.index
        .dependents
        .get(&workload.uid)
        .is_some_and(|deps| {
            deps.iter().any(|(r, k)| {
                *r == *keys::PODS
                    && data.get(r, k).is_some_and(|p| {
                        !p.deleting && p.pod().is_some_and(|f| !f.phase.is_terminal())
                    })
            })
        })
}

/// Upstream's `IsActiveReplicaSet`: a ReplicaSet of a Deployment is current when its
/// `deployment.kubernetes.io/revision` is the Deployment's.
fn current_revision(data: &ClusterData, rs: &Value) -> bool {
    const REVISION: &str = "/metadata/annotations/deployment.kubernetes.io~1revision";
    let Some(deployment) = rs
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("kind").and_then(Value::as_str) == Some("Deployment"))
        })
        .and_then(|r| r.get("name").and_then(Value::as_str))
    else {
        return true;
    };
    let namespace = rs
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(dep) = data.get(&keys::DEPLOYMENTS, &ObjKey::new(namespace, deployment)) else {
        // Upstream fails the check and skips the ReplicaSet.
        return false;
    };
    dep.value().pointer(REVISION) == rs.pointer(REVISION)
}

/// Upstream's `MarkOldReportForImmediateDeletion`: an old revision's reports get TTL `0s`
/// (replacing their annotations), and the TTL controller deletes them.
fn mark_for_immediate_deletion(
    data: &mut ClusterData,
    key: &ObjKey,
    kind: &str,
    containers: &[(String, String)],
) {
    for (container, _) in containers {
        let report_key = ObjKey::new(&key.namespace, &report_name(kind, &key.name, container));
        let Some(report) = data.get(&REPORTS, &report_key) else {
            continue;
        };
        let mut v = report.value();
        let marked = v
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(REPORT_TTL_ANNOTATION))
            .and_then(Value::as_str)
            == Some(IMMEDIATE_TTL_ANNOTATION);
        if !marked {
            v["metadata"]["annotations"] =
                json!({ REPORT_TTL_ANNOTATION: IMMEDIATE_TTL_ANNOTATION });
            data.put(&REPORTS, report_key, v);
        }
    }
}
