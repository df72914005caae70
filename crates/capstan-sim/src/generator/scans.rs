//! Trivy Operator's VulnerabilityReports: one per (workload, container) as the operator
//! writes them (aquasecurity/trivy-operator: name `<kind>-<name>-<container>`, the four
//! `trivy-operator.*` labels, owned by the workload, the ReplicaSet for Deployments).
//! Vulnerability counts are a property of the image, so the same image reports the same
//! counts in every cluster. Coverage follows the cluster's [`ScanCoverage`]: a few pairs
//! have no report, some reports are past the 24 h TTL, some describe a previous digest.

use capstan_core::rng::{SimRng, fnv1a};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Emitter;
use super::posture::{ScanCoverage, WorkloadRecord};
use crate::objects::{self as o, CrdDef};

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

/// Registry server, repository and tag of a normalized image reference, as Trivy splits
/// them (Docker Hub is `index.docker.io`).
fn split_image(full: &str) -> (String, String, String) {
    let (name, tag) = match full.rfind(':') {
        Some(i) if !full[i..].contains('/') => (&full[..i], &full[i + 1..]),
        _ => (full, "latest"),
    };
    let (server, repo) = name.split_once('/').unwrap_or(("docker.io", name));
    let server = if server == "docker.io" {
        "index.docker.io"
    } else {
        server
    };
    (server.to_string(), repo.to_string(), tag.to_string())
}

/// The OS Trivy detects in an image.
fn os_of(image: &str) -> (&'static str, &'static str) {
    if image.contains("alpine") {
        ("alpine", "3.20.3")
    } else if image.contains("envoy") {
        ("ubuntu", "22.04")
    } else if image.contains("registry.k8s.io") || image.contains("registry.example.com") {
        ("debian", "12.8")
    } else if image.contains("elasticsearch") {
        ("ubuntu", "24.04")
    } else {
        ("debian", "12.8")
    }
}

/// Severity counts of an image: most images carry no critical, a few carry several.
fn summary_of(image: &str) -> [u64; 6] {
    let mut r = SimRng::new(fnv1a(image.as_bytes()));
    let critical = match r.range_inclusive(0, 99) {
        0..=79 => 0,
        80..=94 => r.range_inclusive(1, 2),
        _ => r.range_inclusive(3, 8),
    };
    let high = if r.chance(0.3) {
        0
    } else {
        r.range_inclusive(1, 6) * r.range_inclusive(1, 5)
    };
    let medium = r.range_inclusive(0, 40) + high;
    let low = r.range_inclusive(0, 80);
    let unknown = if r.chance(0.8) {
        0
    } else {
        r.range_inclusive(1, 4)
    };
    [critical, high, medium, low, unknown, 0]
}

/// At most three entries, the worst first; IDs are fake (`CVE-2099-…`), never real ones.
fn vulnerabilities(image: &str, summary: &[u64; 6]) -> Value {
    let mut r = SimRng::new(fnv1a(image.as_bytes()) ^ 0x5eed);
    let pkgs = ["libssl3", "zlib1g", "libc6", "curl", "libexpat1", "busybox"];
    let mut out = Vec::new();
    for (sev, count) in ["CRITICAL", "HIGH", "MEDIUM"].iter().zip(summary.iter()) {
        if *count == 0 || out.len() == 3 {
            continue;
        }
        let pkg = *r.pick(&pkgs).unwrap_or(&"libc6");
        let id = format!("CVE-2099-{:05}", r.range_inclusive(10_000, 99_999));
        out.push(json!({
            "vulnerabilityID": id,
            "resource": pkg,
            "installedVersion": "1.2.3-1",
            "fixedVersion": "1.2.4-1",
            "severity": sev,
            "title": format!("{pkg}: simulated {} issue (capstan twin, not a real CVE)", sev.to_ascii_lowercase()),
            "primaryLink": format!("https://avd.aquasec.com/nvd/{}", id.to_ascii_lowercase()),
            "score": match *sev { "CRITICAL" => 9.8, "HIGH" => 7.5, _ => 5.3 },
            "target": "",
            "publishedDate": "2099-01-01T00:00:00Z",
            "lastModifiedDate": "2099-01-02T00:00:00Z",
        }));
    }
    Value::Array(out)
}

/// The report name Trivy gives a (workload, container): `<kind>-<name>-<container>` when it
/// is a valid label value, else `<kind>-<hash>` (trivy-operator's `GetReportName`).
fn report_name(kind: &str, name: &str, container: &str) -> String {
    let full = format!("{}-{name}-{container}", kind.to_ascii_lowercase());
    if full.len() <= 63 {
        full
    } else {
        format!(
            "{}-{}",
            kind.to_ascii_lowercase(),
            o::pod_template_hash(&json!(format!("{name}-{container}")))
        )
    }
}

/// Emit the reports of `workloads` (one namespace or many).
pub(crate) fn emit_reports(
    workloads: &[WorkloadRecord],
    cov: &ScanCoverage,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    now: Timestamp,
) {
    let now_s = now.as_second();
    for w in workloads {
        if w.pods == 0 || (cov.exclude_kube_system && w.namespace == "kube-system") {
            continue;
        }
        for c in &w.containers {
            if rng.chance(cov.missing) {
                continue;
            }
            let stale = rng.chance(cov.stale);
            let old_digest = rng.chance(cov.old_digest);
            let age = if stale {
                rng.range_inclusive(26 * 3_600, 10 * 86_400)
            } else {
                rng.range_inclusive(60, 22 * 3_600)
            } as i64;
            let updated = Timestamp::from_second(now_s - age).unwrap_or(now);
            let full = o::normalize_image(&c.image);
            let id = if old_digest {
                o::image_id(&format!("{full}-previous-build"))
            } else {
                o::image_id(&c.image)
            };
            let digest = id.rsplit_once('@').map_or("", |(_, d)| d).to_string();
            let (server, repository, tag) = split_image(&full);
            let (family, os_name) = os_of(&full);
            let s = summary_of(&full);
            let name = report_name(w.kind, &w.name, &c.name);
            let labels = [
                ("app.kubernetes.io/managed-by", "trivy-operator"),
                ("resource-spec-hash", w.spec_hash.as_str()),
                ("trivy-operator.container.name", c.name.as_str()),
                ("trivy-operator.resource.kind", w.kind),
                ("trivy-operator.resource.name", w.name.as_str()),
                ("trivy-operator.resource.namespace", w.namespace.as_str()),
            ];
            let mut r = o::custom_object(
                "aquasecurity.github.io/v1alpha1",
                "VulnerabilityReport",
                Some(&w.namespace),
                &name,
                &labels,
                rng,
                updated,
            );
            r["metadata"]["ownerReferences"] = json!([{
                "apiVersion": "apps/v1", "kind": w.kind, "name": w.name, "uid": w.uid,
                "controller": true, "blockOwnerDeletion": false,
            }]);
            r["report"] = json!({
                "updateTimestamp": o::rfc3339(updated),
                "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.57.1"},
                "registry": {"server": server},
                "artifact": {"repository": repository, "tag": tag, "digest": digest,
                    "mimeType": "application/vnd.oci.image.index.v1+json"},
                "os": {"family": family, "name": os_name},
                "summary": {"criticalCount": s[0], "highCount": s[1], "mediumCount": s[2],
                    "lowCount": s[3], "unknownCount": s[4], "noneCount": s[5]},
                "vulnerabilities": vulnerabilities(&full, &s),
            });
            e.emit("aquasecurity.github.io", "vulnerabilityreports", r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_as_trivy_reports_them() {
        let check = |full: &str, want: (&str, &str, &str)| {
            let (s, r, t) = split_image(full);
            assert_eq!((s.as_str(), r.as_str(), t.as_str()), want, "{full}");
        };
        check(
            "docker.io/library/nginx:1.27.3",
            ("index.docker.io", "library/nginx", "1.27.3"),
        );
        check(
            "registry.example.com/payments/api:v1.2.3",
            ("registry.example.com", "payments/api", "v1.2.3"),
        );
        check(
            "registry.k8s.io/coredns/coredns:v1.11.3",
            ("registry.k8s.io", "coredns/coredns", "v1.11.3"),
        );
    }

    #[test]
    fn long_names_are_hashed_like_trivy() {
        assert_eq!(
            report_name("ReplicaSet", "checkout-7d9f8b", "app"),
            "replicaset-checkout-7d9f8b-app"
        );
        let long = report_name("ReplicaSet", &"x".repeat(60), "app");
        assert!(
            long.starts_with("replicaset-") && long.len() <= 63,
            "{long}"
        );
    }
}
