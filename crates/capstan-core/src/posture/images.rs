//! Image scanning: whether each running container has a fresh Trivy Operator
//! VulnerabilityReport for the image it actually runs, and its vulnerability counts.
//!
//! Trivy Operator (aquasecurity/trivy-operator) writes one `VulnerabilityReport` per workload
//! container, labelled with the workload's kind, name and namespace and the container name.
//! A Deployment's reports name its ReplicaSet, so a pod is matched through its controller
//! owner as-is; a bare pod through itself. Reports expire after `scannerReportTTL` (24h by
//! default), after which Trivy rescans.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::pod::PodInput;

pub const LABEL_RESOURCE_KIND: &str = "trivy-operator.resource.kind";
pub const LABEL_RESOURCE_NAME: &str = "trivy-operator.resource.name";
pub const LABEL_RESOURCE_NAMESPACE: &str = "trivy-operator.resource.namespace";
pub const LABEL_CONTAINER_NAME: &str = "trivy-operator.container.name";

/// Trivy Operator's default `scannerReportTTL`.
pub const DEFAULT_REPORT_TTL: SignedDuration = SignedDuration::from_hours(24);

/// A `aquasecurity.github.io/v1alpha1` VulnerabilityReport, keeping what coverage needs (the
/// vulnerability list itself is skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct VulnerabilityReportInput {
    pub metadata: ReportMeta,
    pub report: Report,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ReportMeta {
    pub name: String,
    pub namespace: String,
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Report {
    pub artifact: Artifact,
    pub registry: Registry,
    pub summary: Summary,
    /// Required by the CRD; a report without one reads as the epoch, i.e. stale.
    pub update_timestamp: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Artifact {
    /// E.g. `library/nginx` (Docker Hub) or `team/api`.
    pub repository: String,
    pub tag: String,
    /// `sha256:…`, the repo digest Trivy scanned; may be empty.
    pub digest: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Registry {
    /// E.g. `index.docker.io`, `ghcr.io`.
    pub server: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Summary {
    pub critical_count: u64,
    pub high_count: u64,
    pub medium_count: u64,
    pub low_count: u64,
    pub unknown_count: u64,
}

/// A container's scan status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum ScanStatus<'a> {
    /// A report within the TTL, for the running image.
    Fresh {
        report: &'a str,
        critical: u64,
        high: u64,
        medium: u64,
        low: u64,
    },
    /// The report is for the running image but older than the TTL.
    Stale {
        report: &'a str,
        age: SignedDuration,
    },
    /// The report is for another image (the pod was updated, or the tag moved).
    ImageMismatch { report: &'a str, scanned: String },
    /// No report for this workload container.
    Missing,
}

impl ScanStatus<'_> {
    pub fn is_fresh(&self) -> bool {
        matches!(self, ScanStatus::Fresh { .. })
    }
}

/// One indexed report.
#[derive(Debug, Clone)]
struct Entry {
    kind: String,
    container: String,
    report: VulnerabilityReportInput,
}

/// Reports indexed by (namespace, resource kind, resource name, container) for lookups per
/// running container that allocate nothing.
#[derive(Debug, Clone)]
pub struct ScanIndex {
    ttl: SignedDuration,
    /// namespace -> resource name -> the reports of that resource (a few: one per container,
    /// rarely several kinds of the same name).
    by_resource: FxHashMap<String, FxHashMap<String, Vec<Entry>>>,
    len: usize,
}

impl ScanIndex {
    /// Indexes `reports` by their `trivy-operator.*` labels (the namespace label falling back
    /// to the report's own namespace); reports without resource labels are ignored. When two
    /// reports claim the same container, the newer one wins.
    pub fn new(reports: Vec<VulnerabilityReportInput>, ttl: SignedDuration) -> ScanIndex {
        let mut index = ScanIndex {
            ttl,
            by_resource: FxHashMap::default(),
            len: 0,
        };
        for report in reports {
            let labels = &report.metadata.labels;
            let (Some(kind), Some(name), Some(container)) = (
                labels.get(LABEL_RESOURCE_KIND),
                labels.get(LABEL_RESOURCE_NAME),
                labels.get(LABEL_CONTAINER_NAME),
            ) else {
                continue;
            };
            let namespace = labels
                .get(LABEL_RESOURCE_NAMESPACE)
                .unwrap_or(&report.metadata.namespace)
                .clone();
            let (kind, name, container) = (kind.clone(), name.clone(), container.clone());
            let entries = index
                .by_resource
                .entry(namespace)
                .or_default()
                .entry(name)
                .or_default();
            match entries
                .iter_mut()
                .find(|e| e.kind == kind && e.container == container)
            {
                Some(existing) => {
                    if report.report.update_timestamp > existing.report.report.update_timestamp {
                        existing.report = report;
                    }
                }
                None => {
                    entries.push(Entry {
                        kind,
                        container,
                        report,
                    });
                    index.len += 1;
                }
            }
        }
        index
    }

    /// [`ScanIndex::new`] with Trivy's default TTL.
    pub fn with_default_ttl(reports: Vec<VulnerabilityReportInput>) -> ScanIndex {
        ScanIndex::new(reports, DEFAULT_REPORT_TTL)
    }

    /// The number of indexed (resource, container) reports.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn ttl(&self) -> SignedDuration {
        self.ttl
    }

    /// The scan status of one running container of `pod`: `image` is the spec's image
    /// reference and `image_id` the container status's `imageID` (empty when unknown).
    pub fn scan_status(
        &self,
        pod: &PodInput,
        container_name: &str,
        image: &str,
        image_id: &str,
        now: Timestamp,
    ) -> ScanStatus<'_> {
        let (kind, name) = pod
            .controller()
            .unwrap_or(("Pod", pod.metadata.name.as_str()));
        let Some(entry) = self
            .by_resource
            .get(pod.metadata.namespace.as_str())
            .and_then(|by_name| by_name.get(name))
            .and_then(|entries| {
                entries
                    .iter()
                    .find(|e| e.kind == kind && e.container == container_name)
            })
        else {
            return ScanStatus::Missing;
        };
        let report = &entry.report;
        let name = report.metadata.name.as_str();
        if !report_matches_image(report, image, image_id) {
            return ScanStatus::ImageMismatch {
                report: name,
                scanned: scanned_image(report),
            };
        }
        let age = now.duration_since(report.report.update_timestamp);
        if age > self.ttl {
            return ScanStatus::Stale { report: name, age };
        }
        let s = &report.report.summary;
        ScanStatus::Fresh {
            report: name,
            critical: s.critical_count,
            high: s.high_count,
            medium: s.medium_count,
            low: s.low_count,
        }
    }
}

/// What the report scanned, for display: `docker.io/library/nginx:1.25@sha256:…`.
fn scanned_image(report: &VulnerabilityReportInput) -> String {
    let artifact = &report.report.artifact;
    let mut s =
        ImageRef::from_report(&report.report.registry.server, &artifact.repository).to_string();
    if !artifact.tag.is_empty() {
        s.push(':');
        s.push_str(&artifact.tag);
    }
    if !artifact.digest.is_empty() {
        s.push('@');
        s.push_str(&artifact.digest);
    }
    s
}

/// Whether the report is about the running image: by digest when both the running digest
/// (from `imageID`, else from a digest-pinned `image`) and the report's digest are known,
/// else by normalised repository and tag.
fn report_matches_image(report: &VulnerabilityReportInput, image: &str, image_id: &str) -> bool {
    let artifact = &report.report.artifact;
    let running = ImageRef::parse(image);
    let running_digest = digest_of(image_id).or(running.digest);
    if let Some(digest) = running_digest
        && !artifact.digest.is_empty()
    {
        return digest == artifact.digest;
    }
    let scanned = ImageRef::from_report(&report.report.registry.server, &artifact.repository);
    scanned.domain == running.domain
        && scanned.path_eq(&running)
        && tag_or_latest(&artifact.tag) == tag_or_latest(running.tag.unwrap_or(""))
}

/// A missing tag means `latest`.
fn tag_or_latest(tag: &str) -> &str {
    if tag.is_empty() { "latest" } else { tag }
}

/// The `sha256:…` part of an `imageID` such as `docker.io/library/nginx@sha256:…` or
/// `docker-pullable://nginx@sha256:…`.
fn digest_of(image_id: &str) -> Option<&str> {
    let (_, digest) = image_id.rsplit_once('@')?;
    (!digest.is_empty()).then_some(digest)
}

/// An image reference split as the container runtimes normalise it (distribution/reference
/// `ParseNormalizedNamed`): a first component without `.` or `:` that is not `localhost` is
/// not a registry, so the image is on Docker Hub, where one-component names live under
/// `library/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// `docker.io` for Docker Hub, whichever host alias named it.
    pub domain: &'a str,
    /// The repository path, without Docker Hub's implicit `library/`.
    path: &'a str,
    /// Docker Hub official image (the path gets `library/` in front).
    library: bool,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

const DOCKER_HUB: &str = "docker.io";

fn normalise_domain(domain: &str) -> &str {
    match domain {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        other => other,
    }
}

impl<'a> ImageRef<'a> {
    /// Parses `[domain/]path[:tag][@digest]`.
    pub fn parse(image: &'a str) -> ImageRef<'a> {
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (image, None),
        };
        // A tag is a `:` after the last `/` (a `:` before it is a registry port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        let (domain, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first, rest)
            }
            _ => ("", name),
        };
        ImageRef::new(domain, path, tag, digest)
    }

    /// A report's registry server and repository (`index.docker.io`, `library/nginx`).
    pub fn from_report(server: &'a str, repository: &'a str) -> ImageRef<'a> {
        ImageRef::new(server, repository, None, None)
    }

    fn new(domain: &'a str, path: &'a str, tag: Option<&'a str>, digest: Option<&'a str>) -> Self {
        let domain = normalise_domain(domain);
        let (path, library) = if domain == DOCKER_HUB {
            match path.strip_prefix("library/") {
                Some(rest) if !rest.contains('/') => (rest, true),
                _ => (path, !path.contains('/')),
            }
        } else {
            (path, false)
        };
        ImageRef {
            domain,
            path,
            library,
            tag,
            digest,
        }
    }

    /// Same repository (domain compared separately).
    fn path_eq(&self, other: &ImageRef<'_>) -> bool {
        self.library == other.library && self.path == other.path
    }
}

impl fmt::Display for ImageRef<'_> {
    /// The fully qualified repository, e.g. `docker.io/library/nginx` (no tag or digest).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let library = if self.library { "library/" } else { "" };
        write!(f, "{}/{library}{}", self.domain, self.path)
    }
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
