//! The VulnerabilityReport object as Trivy Operator writes it (aquasecurity/trivy-operator:
//! name `<kind>-<name>-<container>`, the `trivy-operator.*` labels and `resource-spec-hash`,
//! owned by the workload, the ReplicaSet for Deployments). Vulnerability counts are a
//! property of the image, so the same image reports the same counts in every cluster and
//! on every rescan.

use capstan_core::rng::{SimRng, fnv1a};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::objects as o;

/// Annotation carrying a report's TTL as a Go duration (upstream `TTLReportAnnotation`); the
/// TTL report controller deletes the report once `creationTimestamp` + TTL has passed.
pub(crate) const REPORT_TTL_ANNOTATION: &str = "trivy-operator.aquasecurity.github.io/report-ttl";

/// What one report is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportSubject<'a> {
    pub(crate) namespace: &'a str,
    /// `ReplicaSet`, `StatefulSet` or `DaemonSet`.
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
    pub(crate) uid: &'a str,
    /// The workload's pod template hash, as `resource-spec-hash`.
    pub(crate) spec_hash: &'a str,
    pub(crate) container: &'a str,
    /// The container's image as the pod spec names it.
    pub(crate) image: &'a str,
}

/// Which digest the scan saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// The digest the tag points at now (what the kubelet pulls).
    Current,
    /// The tag's previous digest (the tag was pushed again since).
    PreviousDigest,
}

/// Registry server, repository and tag of a normalized image reference, as Trivy splits
/// them (Docker Hub is `index.docker.io`).
pub(crate) fn split_image(full: &str) -> (String, String, String) {
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
pub(crate) fn report_name(kind: &str, name: &str, container: &str) -> String {
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

/// The report of one scan finished at `updated` (its creation and update time); `ttl` is
/// the `report-ttl` annotation's value, when the operator sets one.
pub(crate) fn vulnerability_report(
    s: &ReportSubject<'_>,
    scanned: Scanned,
    updated: Timestamp,
    ttl: Option<&str>,
    rng: &mut SimRng,
) -> Value {
    let full = o::normalize_image(s.image);
    let id = match scanned {
        Scanned::Current => o::image_id(s.image),
        Scanned::PreviousDigest => o::image_id(&format!("{full}-previous-build")),
    };
    let digest = id.rsplit_once('@').map_or("", |(_, d)| d).to_string();
    let (server, repository, tag) = split_image(&full);
    let (family, os_name) = os_of(&full);
    let summary = summary_of(&full);
    let labels = [
        ("app.kubernetes.io/managed-by", "trivy-operator"),
        ("resource-spec-hash", s.spec_hash),
        ("trivy-operator.container.name", s.container),
        ("trivy-operator.resource.kind", s.kind),
        ("trivy-operator.resource.name", s.name),
        ("trivy-operator.resource.namespace", s.namespace),
    ];
    let mut r = o::custom_object(
        "aquasecurity.github.io/v1alpha1",
        "VulnerabilityReport",
        Some(s.namespace),
        &report_name(s.kind, s.name, s.container),
        &labels,
        rng,
        updated,
    );
    if let Some(ttl) = ttl {
        r["metadata"]["annotations"] = json!({ REPORT_TTL_ANNOTATION: ttl });
    }
    r["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "apps/v1", "kind": s.kind, "name": s.name, "uid": s.uid,
        "controller": true, "blockOwnerDeletion": false,
    }]);
    r["report"] = json!({
        "updateTimestamp": o::rfc3339(updated),
        "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.57.1"},
        "registry": {"server": server},
        "artifact": {"repository": repository, "tag": tag, "digest": digest,
            "mimeType": "application/vnd.oci.image.index.v1+json"},
        "os": {"family": family, "name": os_name},
        "summary": {"criticalCount": summary[0], "highCount": summary[1],
            "mediumCount": summary[2], "lowCount": summary[3], "unknownCount": summary[4],
            "noneCount": summary[5]},
        "vulnerabilities": vulnerabilities(&full, &summary),
    });
    r
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
