//! Trivy Operator's VulnerabilityReports at generation: one per (workload, container),
//! built as the twin's operator ([`crate::trivy`]) writes them. Coverage follows the
//! cluster's [`ScanCoverage`].

use capstan_core::rng::SimRng;
use jiff::Timestamp;

use super::Emitter;
use super::posture::WorkloadRecord;
use crate::objects::CrdDef;
use crate::trivy::{self, Leftover, ReportSubject, ScanCoverage, Scanned, vulnerability_report};

pub(crate) fn crd() -> CrdDef {
    CrdDef {
        group: "aquasecurity.github.io",
        version: "v1alpha1",
        kind: "VulnerabilityReport".into(),
        plural: "vulnerabilityreports".into(),
        namespaced: true,
        short_names: &["vuln", "vulns"],
        categories: &[],
        status_subresource: false,
        columns: &[
            ("Repository", "string", ".report.artifact.repository", 0),
            ("Tag", "string", ".report.artifact.tag", 0),
            ("Scanner", "string", ".report.scanner.name", 0),
            ("Age", "date", ".metadata.creationTimestamp", 0),
            ("Critical", "integer", ".report.summary.criticalCount", 1),
            ("High", "integer", ".report.summary.highCount", 1),
            ("Medium", "integer", ".report.summary.mediumCount", 1),
            ("Low", "integer", ".report.summary.lowCount", 1),
            ("Unknown", "integer", ".report.summary.unknownCount", 1),
        ],
    }
}

/// Emit the reports of `workloads` (one namespace or many) as the running operator leaves
/// them: every workload it can scan has a report per container within the TTL (its ages
/// spread over the TTL, as daily rescans spread them), so that the coverage at generation is
/// the one the twin's operator keeps. Only workloads whose scan jobs fail
/// ([`ScanCoverage::failing`]) lack a fresh report: none, a stale one, or one of a previous
/// digest (a job fails when any of its containers' images cannot be pulled, so each of its
/// containers lacks one).
pub(crate) fn emit_reports(
    workloads: &[WorkloadRecord],
    cov: &ScanCoverage,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    now: Timestamp,
) {
    let now_s = now.as_second();
    let ttl_s = trivy::SCANNER_REPORT_TTL.as_secs();
    for w in workloads {
        if w.pods == 0 || !cov.scans_namespace(&w.namespace) {
            continue;
        }
        let failing: Vec<Option<Leftover>> = w
            .containers
            .iter()
            .map(|c| cov.failing(&w.namespace, &c.image))
            .collect();
        let job_fails = failing.iter().any(Option::is_some);
        // One scan job wrote the workload's reports.
        let scanned_age = rng.range_inclusive(60, (ttl_s - 60) as u64) as i64;
        for (c, fail) in w.containers.iter().zip(failing) {
            let leftover = if job_fails {
                fail.unwrap_or(Leftover::Nothing)
            } else {
                Leftover::Nothing
            };
            let (age, scanned, ttl) = match (job_fails, leftover) {
                (true, Leftover::Nothing) => continue,
                (true, Leftover::Stale) => (
                    rng.range_inclusive(26 * 3_600, 10 * 86_400) as i64,
                    Scanned::Current,
                    None,
                ),
                (true, Leftover::OldDigest) => (
                    rng.range_inclusive(60, (ttl_s - 60) as u64) as i64,
                    Scanned::PreviousDigest,
                    Some(trivy::SCANNER_REPORT_TTL_ANNOTATION),
                ),
                (false, _) => (
                    scanned_age,
                    Scanned::Current,
                    Some(trivy::SCANNER_REPORT_TTL_ANNOTATION),
                ),
            };
            let updated = Timestamp::from_second(now_s - age).unwrap_or(now);
            let subject = ReportSubject {
                namespace: &w.namespace,
                kind: w.kind,
                name: &w.name,
                uid: &w.uid,
                spec_hash: &w.spec_hash,
                container: &c.name,
                image: &c.image,
            };
            let r = vulnerability_report(&subject, scanned, updated, ttl, rng);
            e.emit("aquasecurity.github.io", "vulnerabilityreports", r);
        }
    }
}
