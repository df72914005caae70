//! How far Trivy Operator's scanning reaches in one cluster: which namespaces it scans, which
//! images its scan jobs cannot pull, how many scan jobs it runs at once.
//!
//! Drawn from the cluster's own stream (`posture/trivy`) so that the generator and the
//! twin's operator, which runs long after generation, derive the same coverage from the spec.

use capstan_core::rng::{SimRng, fnv1a};

use crate::fleet::ClusterSpec;

/// Upstream's `OPERATOR_CONCURRENT_SCAN_JOBS_LIMIT` default (Helm `scanJobsConcurrentLimit`).
pub(crate) const DEFAULT_CONCURRENT_SCAN_JOBS: usize = 10;

/// Pods per extra concurrent scan job on large clusters: ten jobs keep up with a day's
/// rescans of a few thousand workloads; a platform team running a million pods raises the
/// limit so that the daily rescans still fit in the TTL.
const PODS_PER_SCAN_JOB: u64 = 5_000;

/// What the cluster holds for a (workload, container) whose scans fail, as generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leftover {
    /// No report (its scan job has always failed).
    Nothing,
    /// A report past the TTL that Trivy never deletes: written without the `report-ttl`
    /// annotation (by an operator from before `scannerReportTTL` was set).
    Stale,
    /// A report within the TTL for the previous digest of a re-pushed tag, which expires
    /// and is not replaced.
    OldDigest,
}

/// Trivy Operator's coverage in a cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScanCoverage {
    /// `excludeNamespaces: kube-system` in the operator's Helm values.
    pub(crate) exclude_kube_system: bool,
    /// Shares of (namespace, image repository) whose scans fail (a private registry whose
    /// credentials the scan job lacks), by what the cluster holds for them: nothing, a
    /// stale report, a report of a previous digest.
    pub(crate) missing: f64,
    pub(crate) stale: f64,
    pub(crate) old_digest: f64,
    /// `OPERATOR_CONCURRENT_SCAN_JOBS_LIMIT`.
    pub(crate) concurrent_scan_jobs: usize,
    /// Keys the failing-image draw to this cluster.
    salt: u64,
}

impl ScanCoverage {
    /// The cluster's coverage. Production clusters are more often in order, as for the
    /// other controls.
    pub(crate) fn for_cluster(spec: &ClusterSpec) -> Self {
        let production = spec
            .labels
            .get("environment")
            .is_some_and(|e| e == "production");
        let mature = if production { 0.5 } else { 0.3 };
        let mut rng = SimRng::new(spec.seed)
            .fork(&spec.name)
            .fork("posture")
            .fork("trivy");
        let salt = rng.next_u64();
        let (exclude_kube_system, missing, stale, old_digest) = if rng.chance(mature + 0.2) {
            (
                false,
                0.002 + rng.next_f64() * 0.006,
                rng.next_f64() * 0.002,
                rng.next_f64() * 0.002,
            )
        } else {
            (
                rng.chance(0.4),
                0.005 + rng.next_f64() * 0.015,
                rng.next_f64() * 0.012,
                rng.next_f64() * 0.006,
            )
        };
        ScanCoverage {
            exclude_kube_system,
            missing,
            stale,
            old_digest,
            concurrent_scan_jobs: DEFAULT_CONCURRENT_SCAN_JOBS
                .max(spec.pods.div_ceil(PODS_PER_SCAN_JOB) as usize),
            salt,
        }
    }

    /// Whether the operator scans workloads of `namespace`.
    pub(crate) fn scans_namespace(&self, namespace: &str) -> bool {
        !(self.exclude_kube_system && namespace == "kube-system")
    }

    /// `Some` when scans of `image` in `namespace` fail, with what the generated cluster
    /// holds for it. A property of the repository, so a new tag of it fails too.
    pub(crate) fn failing(&self, namespace: &str, image: &str) -> Option<Leftover> {
        let repository = repository_of(image);
        let mut key = Vec::with_capacity(namespace.len() + repository.len() + 9);
        key.extend_from_slice(&self.salt.to_le_bytes());
        key.extend_from_slice(namespace.as_bytes());
        key.push(b'/');
        key.extend_from_slice(repository.as_bytes());
        let u = SimRng::new(fnv1a(&key)).next_f64();
        if u < self.missing {
            Some(Leftover::Nothing)
        } else if u < self.missing + self.stale {
            Some(Leftover::Stale)
        } else if u < self.missing + self.stale + self.old_digest {
            Some(Leftover::OldDigest)
        } else {
            None
        }
    }
}

/// The image reference without tag or digest.
fn repository_of(image: &str) -> &str {
    let name = image.split_once('@').map_or(image, |(n, _)| n);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_drop_tag_and_digest_but_keep_the_registry_port() {
        let check = |image: &str, want: &str| assert_eq!(repository_of(image), want, "{image}");
        check("nginx:1.27", "nginx");
        check("nginx", "nginx");
        check(
            "registry.example.com/payments/api:v1.2.3",
            "registry.example.com/payments/api",
        );
        check("localhost:5000/app:dev", "localhost:5000/app");
        check("localhost:5000/app", "localhost:5000/app");
        check("ghcr.io/a/b@sha256:abc", "ghcr.io/a/b");
    }

    #[test]
    fn failing_images_follow_the_shares() {
        let cov = ScanCoverage {
            exclude_kube_system: false,
            missing: 0.1,
            stale: 0.05,
            old_digest: 0.05,
            concurrent_scan_jobs: 10,
            salt: 7,
        };
        let n = 20_000;
        let mut counts = [0usize; 3];
        for i in 0..n {
            match cov.failing(&format!("ns-{}", i % 50), &format!("repo/app-{i}:v1")) {
                Some(Leftover::Nothing) => counts[0] += 1,
                Some(Leftover::Stale) => counts[1] += 1,
                Some(Leftover::OldDigest) => counts[2] += 1,
                None => {}
            }
        }
        let share = |c: usize| c as f64 / n as f64;
        assert!((0.09..0.11).contains(&share(counts[0])), "{counts:?}");
        assert!((0.04..0.06).contains(&share(counts[1])), "{counts:?}");
        assert!((0.04..0.06).contains(&share(counts[2])), "{counts:?}");
        // A new tag of a failing repository fails the same way.
        let failing = (0..n)
            .map(|i| format!("repo/app-{i}"))
            .find(|r| cov.failing("ns-1", &format!("{r}:v1")).is_some())
            .unwrap_or_default();
        assert_eq!(
            cov.failing("ns-1", &format!("{failing}:v1")),
            cov.failing("ns-1", &format!("{failing}:v2"))
        );
    }
}
