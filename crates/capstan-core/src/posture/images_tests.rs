#![allow(clippy::unwrap_used)]
//! Trivy VulnerabilityReport matching, freshness and image reference normalisation.

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-03-02T12:00:00Z";

/// A report of `nginx` as Trivy Operator writes it (trimmed).
fn report_json(
    name: &str,
    kind: &str,
    resource: &str,
    container: &str,
    tag: &str,
    digest: &str,
    updated: &str,
) -> String {
    format!(
        r#"{{
  "apiVersion": "aquasecurity.github.io/v1alpha1",
  "kind": "VulnerabilityReport",
  "metadata": {{
    "name": "{name}", "namespace": "shop",
    "labels": {{
      "trivy-operator.resource.kind": "{kind}",
      "trivy-operator.resource.name": "{resource}",
      "trivy-operator.resource.namespace": "shop",
      "trivy-operator.container.name": "{container}",
      "resource-spec-hash": "7d9c"
    }},
    "ownerReferences": [{{"apiVersion": "apps/v1", "kind": "{kind}", "name": "{resource}", "controller": true}}]
  }},
  "report": {{
    "artifact": {{"repository": "library/nginx", "tag": "{tag}", "digest": "{digest}"}},
    "os": {{"family": "debian", "name": "12.5"}},
    "registry": {{"server": "index.docker.io"}},
    "scanner": {{"name": "Trivy", "vendor": "Aqua Security", "version": "0.50.0"}},
    "summary": {{"criticalCount": 2, "highCount": 7, "mediumCount": 11, "lowCount": 30, "unknownCount": 1, "noneCount": 0}},
    "updateTimestamp": "{updated}",
    "vulnerabilities": [{{"vulnerabilityID": "CVE-2024-0001", "resource": "openssl", "installedVersion": "3.0.1",
      "fixedVersion": "3.0.2", "severity": "CRITICAL", "title": "t", "primaryLink": "l", "score": 9.8}}]
  }}
}}"#
    )
}

fn report(
    name: &str,
    kind: &str,
    resource: &str,
    container: &str,
    tag: &str,
    digest: &str,
    updated: &str,
) -> VulnerabilityReportInput {
    serde_json::from_str(&report_json(
        name, kind, resource, container, tag, digest, updated,
    ))
    .unwrap()
}

fn pod(json: &str) -> PodInput {
    serde_json::from_str(json).unwrap()
}

const DEPLOYMENT_POD: &str = r#"{"metadata": {"name": "web-5d8f-x1", "namespace": "shop",
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f", "controller": true}]},
  "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}"#;

#[test]
fn report_json_deserializes() {
    let r = report(
        "replicaset-web-5d8f-app",
        "ReplicaSet",
        "web-5d8f",
        "app",
        "1.25",
        "sha256:aaa",
        "2026-03-02T10:00:00Z",
    );
    assert_eq!(r.metadata.name, "replicaset-web-5d8f-app");
    assert_eq!(r.metadata.labels[LABEL_CONTAINER_NAME], "app");
    assert_eq!(r.report.artifact.repository, "library/nginx");
    assert_eq!(r.report.artifact.digest, "sha256:aaa");
    assert_eq!(r.report.registry.server, "index.docker.io");
    assert_eq!(
        r.report.summary,
        Summary {
            critical_count: 2,
            high_count: 7,
            medium_count: 11,
            low_count: 30,
            unknown_count: 1
        }
    );
    assert_eq!(r.report.update_timestamp, ts("2026-03-02T10:00:00Z"));
}

#[test]
fn scan_status_fresh_stale_mismatch_missing() {
    let index = ScanIndex::with_default_ttl(vec![
        report(
            "replicaset-web-5d8f-app",
            "ReplicaSet",
            "web-5d8f",
            "app",
            "1.25",
            "sha256:aaa",
            "2026-03-02T10:00:00Z",
        ),
        report(
            "replicaset-old-1-app",
            "ReplicaSet",
            "old-1",
            "app",
            "1.25",
            "",
            "2026-03-01T11:59:59Z",
        ),
        report(
            "pod-bare-app",
            "Pod",
            "bare",
            "app",
            "1.24",
            "",
            "2026-03-02T12:00:00Z",
        ),
        // The Deployment itself is not what Trivy labels; a report like this matches nothing.
        report(
            "deployment-web-app",
            "Deployment",
            "web",
            "sidecar",
            "1.25",
            "",
            "2026-03-02T12:00:00Z",
        ),
    ]);
    assert_eq!(index.len(), 4);
    assert_eq!(index.ttl(), SignedDuration::from_hours(24));
    let now = ts(NOW);
    let web = pod(DEPLOYMENT_POD);

    // The running digest matches: fresh, with the counts.
    assert_eq!(
        index.scan_status(
            &web,
            "app",
            "nginx:1.25",
            "docker.io/library/nginx@sha256:aaa",
            now
        ),
        ScanStatus::Fresh {
            report: "replicaset-web-5d8f-app",
            critical: 2,
            high: 7,
            medium: 11,
            low: 30
        }
    );
    // Same tag, another digest: the tag moved since the scan.
    assert_eq!(
        index.scan_status(
            &web,
            "app",
            "nginx:1.25",
            "docker.io/library/nginx@sha256:bbb",
            now
        ),
        ScanStatus::ImageMismatch {
            report: "replicaset-web-5d8f-app",
            scanned: "docker.io/library/nginx:1.25@sha256:aaa".to_string()
        }
    );
    // No imageID yet (container not started): falls back to repository and tag.
    assert!(
        index
            .scan_status(&web, "app", "docker.io/library/nginx:1.25", "", now)
            .is_fresh()
    );
    assert!(matches!(
        index.scan_status(&web, "app", "nginx:1.26", "", now),
        ScanStatus::ImageMismatch { .. }
    ));
    // Other container, other kind: missing.
    assert_eq!(
        index.scan_status(&web, "sidecar", "nginx:1.25", "", now),
        ScanStatus::Missing
    );

    // One second past the TTL: stale.
    let old = pod(r#"{"metadata": {"name": "old-1-x", "namespace": "shop",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "old-1", "controller": true}]}}"#);
    assert_eq!(
        index.scan_status(&old, "app", "nginx:1.25", "", now),
        ScanStatus::Stale {
            report: "replicaset-old-1-app",
            age: SignedDuration::from_secs(24 * 3600 + 1)
        }
    );
    // Exactly at the TTL is still fresh.
    assert!(
        index
            .scan_status(&old, "app", "nginx:1.25", "", ts("2026-03-02T11:59:59Z"))
            .is_fresh()
    );
    // A shorter TTL makes it stale sooner.
    let short = ScanIndex::new(
        vec![report(
            "r",
            "ReplicaSet",
            "old-1",
            "app",
            "1.25",
            "",
            "2026-03-02T11:00:00Z",
        )],
        SignedDuration::from_mins(30),
    );
    assert!(matches!(
        short.scan_status(&old, "app", "nginx:1.25", "", now),
        ScanStatus::Stale { .. }
    ));

    // A pod without a controller is looked up as itself.
    let bare = pod(r#"{"metadata": {"name": "bare", "namespace": "shop"}}"#);
    assert!(
        index
            .scan_status(&bare, "app", "nginx:1.24", "", now)
            .is_fresh()
    );
    // Same names in another namespace: missing.
    let elsewhere = pod(r#"{"metadata": {"name": "bare", "namespace": "other"}}"#);
    assert_eq!(
        index.scan_status(&elsewhere, "app", "nginx:1.24", "", now),
        ScanStatus::Missing
    );
}

#[test]
fn newer_duplicate_wins_and_unlabelled_reports_are_ignored() {
    let mut unlabelled = report("u", "Pod", "p", "app", "1", "", "2026-03-02T12:00:00Z");
    unlabelled.metadata.labels.remove(LABEL_CONTAINER_NAME);
    // Without the namespace label the report's own namespace is used.
    let mut own_namespace = report("n", "Pod", "q", "app", "1", "", "2026-03-02T12:00:00Z");
    own_namespace
        .metadata
        .labels
        .remove(LABEL_RESOURCE_NAMESPACE);
    let index = ScanIndex::with_default_ttl(vec![
        report("new", "Pod", "p", "app", "1", "", "2026-03-02T11:00:00Z"),
        report("old", "Pod", "p", "app", "1", "", "2026-03-01T11:00:00Z"),
        report(
            "newest-first",
            "Pod",
            "z",
            "app",
            "1",
            "",
            "2026-03-02T11:00:00Z",
        ),
        report(
            "older-second",
            "Pod",
            "z",
            "app",
            "1",
            "",
            "2026-03-01T11:00:00Z",
        ),
        unlabelled,
        own_namespace,
    ]);
    assert_eq!(index.len(), 3);
    let now = ts(NOW);
    let status = |name: &str| {
        let p = pod(&format!(
            r#"{{"metadata": {{"name": "{name}", "namespace": "shop"}}}}"#
        ));
        match index.scan_status(&p, "app", "nginx:1", "", now) {
            ScanStatus::Fresh { report, .. } => report.to_string(),
            other => format!("{other:?}"),
        }
    };
    assert_eq!(status("p"), "new");
    assert_eq!(status("z"), "newest-first");
    assert_eq!(status("q"), "n");
    assert!(ScanIndex::with_default_ttl(Vec::new()).is_empty());
}

#[test]
fn image_references_normalise_like_the_runtimes() {
    // image -> (repository, tag, digest)
    let table = [
        ("nginx", "docker.io/library/nginx", None, None),
        ("nginx:1.25", "docker.io/library/nginx", Some("1.25"), None),
        (
            "docker.io/library/nginx:1.25",
            "docker.io/library/nginx",
            Some("1.25"),
            None,
        ),
        (
            "index.docker.io/nginx",
            "docker.io/library/nginx",
            None,
            None,
        ),
        ("library/nginx", "docker.io/library/nginx", None, None),
        (
            "bitnami/redis:7.2",
            "docker.io/bitnami/redis",
            Some("7.2"),
            None,
        ),
        (
            "ghcr.io/org/team/app:v1",
            "ghcr.io/org/team/app",
            Some("v1"),
            None,
        ),
        (
            "localhost:5000/app:dev",
            "localhost:5000/app",
            Some("dev"),
            None,
        ),
        ("localhost/app", "localhost/app", None, None),
        ("registry:5000/app", "registry:5000/app", None, None),
        (
            "my.registry/library/nginx",
            "my.registry/library/nginx",
            None,
            None,
        ),
        (
            "nginx@sha256:abc",
            "docker.io/library/nginx",
            None,
            Some("sha256:abc"),
        ),
        (
            "quay.io/org/app:1.0@sha256:abc",
            "quay.io/org/app",
            Some("1.0"),
            Some("sha256:abc"),
        ),
    ];
    for (image, repository, tag, digest) in table {
        let r = ImageRef::parse(image);
        assert_eq!(
            (r.to_string().as_str(), r.tag, r.digest),
            (repository, tag, digest),
            "{image}"
        );
    }
    // Trivy's side: server and repository.
    for (server, repository, want) in [
        (
            "index.docker.io",
            "library/nginx",
            "docker.io/library/nginx",
        ),
        (
            "registry-1.docker.io",
            "bitnami/redis",
            "docker.io/bitnami/redis",
        ),
        ("", "nginx", "docker.io/library/nginx"),
        ("ghcr.io", "org/app", "ghcr.io/org/app"),
    ] {
        assert_eq!(ImageRef::from_report(server, repository).to_string(), want);
    }
}

#[test]
fn tag_matching_with_docker_hub_normalisation() {
    let now = ts(NOW);
    // (report tag, running image, matches)
    let table = [
        ("1.25", "nginx:1.25", true),
        ("1.25", "docker.io/library/nginx:1.25", true),
        ("1.25", "index.docker.io/library/nginx:1.25", true),
        ("1.25", "library/nginx:1.25", true),
        ("1.25", "nginx:1.26", false),
        ("1.25", "bitnami/nginx:1.25", false),
        ("1.25", "ghcr.io/library/nginx:1.25", false),
        // A missing tag is latest, on either side.
        ("latest", "nginx", true),
        ("", "nginx:latest", true),
        ("1.25", "nginx", false),
    ];
    for (tag, image, matches) in table {
        let index =
            ScanIndex::with_default_ttl(vec![report("r", "Pod", "bare", "app", tag, "", NOW)]);
        let bare = pod(r#"{"metadata": {"name": "bare", "namespace": "shop"}}"#);
        let status = index.scan_status(&bare, "app", image, "", now);
        assert_eq!(status.is_fresh(), matches, "{tag} vs {image}: {status:?}");
    }
    // Digests decide when both are known, whatever the tags say; a digest-pinned image
    // supplies the running digest when there is no imageID.
    let index = ScanIndex::with_default_ttl(vec![report(
        "r",
        "Pod",
        "bare",
        "app",
        "1.24",
        "sha256:aaa",
        NOW,
    )]);
    let bare = pod(r#"{"metadata": {"name": "bare", "namespace": "shop"}}"#);
    for (image, image_id, matches) in [
        ("nginx:1.25", "docker-pullable://nginx@sha256:aaa", true),
        ("nginx:1.24", "docker.io/library/nginx@sha256:bbb", false),
        ("nginx@sha256:aaa", "", true),
        ("nginx@sha256:bbb", "", false),
        // No running digest: the tags decide.
        ("nginx:1.24", "", true),
        ("nginx:1.24", "sha256:0123", true),
    ] {
        let status = index.scan_status(&bare, "app", image, image_id, now);
        assert_eq!(status.is_fresh(), matches, "{image} {image_id}: {status:?}");
    }
}
