//! Pod Security Standards, as kubernetes/pod-security-admission (PSA) implements them:
//! every pod checked field by field against baseline and restricted ([`check_pod`],
//! [`highest_level`]), and each namespace's policy from its `pod-security.kubernetes.io/*`
//! labels ([`namespace_policy`]).
//!
//! The checks follow PSA's policy/check_*.go, including its version gating (a policy version
//! `v1.N` is passed as `minor = N`) and the restricted checks that replace a baseline one
//! (`restrictedVolumes` for `hostPathVolumes`, `capabilities_restricted`,
//! `seccompProfile_restricted`, `procMount_restricted`). Where PSA returns one message per
//! check, this module returns one [`Violation`] per offending field so a finding can point at
//! its exact path; a pod fails a check here exactly when it fails it in PSA.

mod checks;
mod namespace;

use std::fmt;

use serde::{Deserialize, Serialize};

use super::pod::PodInput;

pub use namespace::{
    AUDIT_LABEL, AUDIT_VERSION_LABEL, ENFORCE_LABEL, ENFORCE_VERSION_LABEL, Mode, NamespacePolicy,
    PssDefaults, WARN_LABEL, WARN_VERSION_LABEL, format_version, namespace_policy, parse_version,
};

/// A Pod Security Standards level, ordered from least to most restrictive.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Privileged,
    Baseline,
    Restricted,
}

/// A level label value that is not `privileged`, `baseline` or `restricted`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Pod Security level {0:?}: must be one of privileged, baseline, restricted")]
pub struct InvalidLevel(pub String);

impl Level {
    pub const ALL: [Level; 3] = [Level::Privileged, Level::Baseline, Level::Restricted];

    /// Parses a level exactly as PSA's `api.ParseLevel` accepts it (lowercase, no spaces).
    pub fn parse(s: &str) -> Result<Level, InvalidLevel> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            other => Err(InvalidLevel(other.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field of a pod that a Pod Security Standards check forbids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// PSA's check ID (`"privileged"`, `"runAsNonRoot"`, `"seccompProfile_restricted"`, …).
    pub check: &'static str,
    /// The level the check belongs to: baseline or restricted.
    pub level: Level,
    /// The offending field, e.g. `spec.containers[1].securityContext.privileged`.
    pub field_path: String,
    /// What is forbidden, worded like PSA's forbidden detail.
    pub detail: String,
}

/// Every check ID pod-security-admission has, with the level it belongs to, in PSA's order.
pub const CHECKS: [(&str, Level); 19] = [
    ("appArmorProfile", Level::Baseline),
    ("capabilities_baseline", Level::Baseline),
    ("hostNamespaces", Level::Baseline),
    ("hostPathVolumes", Level::Baseline),
    ("hostPorts", Level::Baseline),
    ("hostProbesAndHostLifecycle", Level::Baseline),
    ("privileged", Level::Baseline),
    ("procMount", Level::Baseline),
    ("seLinuxOptions", Level::Baseline),
    ("seccompProfile_baseline", Level::Baseline),
    ("sysctls", Level::Baseline),
    ("windowsHostProcess", Level::Baseline),
    ("allowPrivilegeEscalation", Level::Restricted),
    ("capabilities_restricted", Level::Restricted),
    ("procMount_restricted", Level::Restricted),
    ("restrictedVolumes", Level::Restricted),
    ("runAsNonRoot", Level::Restricted),
    ("runAsUser", Level::Restricted),
    ("seccompProfile_restricted", Level::Restricted),
];

/// Every violation of `level` by `pod` under policy version `v1.<minor>` (restricted includes
/// the baseline checks it does not replace). Privileged allows everything.
pub fn check_pod(pod: &PodInput, level: Level, minor: u32) -> Vec<Violation> {
    let mut found = Collect(Vec::new());
    checks::run(pod, level, minor, &mut found);
    found.0
}

/// The most restrictive level `pod` satisfies under policy version `v1.<minor>`. Allocates
/// nothing (from v1.19; older policies look up per-container seccomp annotations): it stops
/// at the first violation and never formats a path or detail.
pub fn highest_level(pod: &PodInput, minor: u32) -> Level {
    if allows(pod, Level::Restricted, minor) {
        Level::Restricted
    } else if allows(pod, Level::Baseline, minor) {
        Level::Baseline
    } else {
        Level::Privileged
    }
}

/// Whether `pod` satisfies `level` under policy version `v1.<minor>`, without allocating.
pub fn allows(pod: &PodInput, level: Level, minor: u32) -> bool {
    let mut any = AnyViolation(false);
    checks::run(pod, level, minor, &mut any);
    !any.0
}

/// Where the checks report what they find. The path and detail are closures so that a sink
/// that only needs a yes/no never builds a string.
trait Sink {
    fn found(
        &mut self,
        check: &'static str,
        level: Level,
        field_path: impl FnOnce() -> String,
        detail: impl FnOnce() -> String,
    );
    /// True once nothing further can change the outcome.
    fn done(&self) -> bool;
}

struct Collect(Vec<Violation>);

impl Sink for Collect {
    fn found(
        &mut self,
        check: &'static str,
        level: Level,
        field_path: impl FnOnce() -> String,
        detail: impl FnOnce() -> String,
    ) {
        self.0.push(Violation {
            check,
            level,
            field_path: field_path(),
            detail: detail(),
        });
    }
    fn done(&self) -> bool {
        false
    }
}

struct AnyViolation(bool);

impl Sink for AnyViolation {
    fn found(
        &mut self,
        _: &'static str,
        _: Level,
        _: impl FnOnce() -> String,
        _: impl FnOnce() -> String,
    ) {
        self.0 = true;
    }
    fn done(&self) -> bool {
        self.0
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_levels;
#[cfg(test)]
mod tests_namespace;
#[cfg(test)]
mod tests_psa_fixtures;
