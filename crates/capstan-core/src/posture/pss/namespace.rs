//! A namespace's Pod Security policy from its labels, as PSA's `api.PolicyToEvaluate`
//! (api/helpers.go) resolves it against the cluster's `PodSecurityConfiguration` defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Level;

pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
pub const AUDIT_LABEL: &str = "pod-security.kubernetes.io/audit";
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
pub const WARN_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

/// The cluster-wide defaults and exemptions (`PodSecurityConfiguration`'s `defaults` and
/// `exemptions.namespaces`). A version of `None` is `latest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PssDefaults {
    pub enforce: Level,
    pub enforce_version: Option<u32>,
    pub audit: Level,
    pub audit_version: Option<u32>,
    pub warn: Level,
    pub warn_version: Option<u32>,
    pub exempt_namespaces: Vec<String>,
}

impl PssDefaults {
    /// PSA skips exempt namespaces entirely (admission.go exemptNamespace).
    pub fn is_exempt(&self, namespace: &str) -> bool {
        self.exempt_namespaces.iter().any(|n| n == namespace)
    }
}

/// One mode (enforce, audit or warn) of a namespace's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mode {
    pub level: Level,
    /// The policy version `v1.<minor>`; `None` is `latest`.
    pub version: Option<u32>,
    /// The level came from a namespace label (for warn, possibly the enforce label, which PSA
    /// copies to an unset warn) rather than from the cluster defaults.
    pub from_label: bool,
}

impl Mode {
    /// The policy minor to evaluate on a cluster at `1.<cluster_minor>`: `latest` is the
    /// cluster's own, and a newer version than the cluster knows is evaluated as its newest
    /// (PSA's registry clamps to the newest version it has).
    pub fn minor(&self, cluster_minor: u32) -> u32 {
        self.version.map_or(cluster_minor, |v| v.min(cluster_minor))
    }
}

/// A namespace's effective Pod Security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespacePolicy {
    pub enforce: Mode,
    pub audit: Mode,
    pub warn: Mode,
    /// Invalid label values, worded like the API server's field errors. PSA still applies a
    /// policy: an invalid enforce level is `restricted`, an invalid audit or warn level is
    /// `privileged`, and an invalid version is `latest`.
    pub errors: Vec<String>,
}

/// Parses a policy version label value: `latest` is `None`, `v1.<N>` is `Some(N)`
/// (no leading zeros, as PSA's `^v1\.([0-9]|[1-9][0-9]*)$`).
pub fn parse_version(s: &str) -> Result<Option<u32>, String> {
    if s == "latest" {
        return Ok(None);
    }
    let invalid = || r#"must be "latest" or "v1.x""#.to_string();
    let digits = s.strip_prefix("v1.").ok_or_else(invalid)?;
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !well_formed {
        return Err(invalid());
    }
    // Go's Atoi takes any int64; versions beyond u32 behave as "newer than the cluster",
    // which is the cluster's own version either way (see [`Mode::minor`]).
    let minor: i64 = digits.parse().map_err(|_| invalid())?;
    Ok(Some(u32::try_from(minor).unwrap_or(u32::MAX)))
}

/// `v1.<N>` or `latest`.
pub fn format_version(version: Option<u32>) -> String {
    match version {
        Some(minor) => format!("v1.{minor}"),
        None => "latest".to_string(),
    }
}

/// A namespace's policy from its labels, falling back to `defaults` per mode.
pub fn namespace_policy(
    labels: &BTreeMap<String, String>,
    defaults: &PssDefaults,
) -> NamespacePolicy {
    let default = |level, version| Mode {
        level,
        version,
        from_label: false,
    };
    let mut policy = NamespacePolicy {
        enforce: default(defaults.enforce, defaults.enforce_version),
        audit: default(defaults.audit, defaults.audit_version),
        warn: default(defaults.warn, defaults.warn_version),
        errors: Vec::new(),
    };
    let errors = &mut policy.errors;
    let mut invalid = |label: &str, value: &str, reason: &str| {
        errors.push(format!(
            "metadata.labels[{label}]: Invalid value: {value:?}: {reason}"
        ));
    };
    const LEVELS: &str = "must be one of privileged, baseline, restricted";

    // An invalid level fails closed for enforce and open for audit and warn.
    let mut level = |mode: &mut Mode, label: &str, on_error: Level| -> Option<bool> {
        let value = labels.get(label)?;
        mode.from_label = true;
        Some(match Level::parse(value) {
            Ok(level) => {
                mode.level = level;
                true
            }
            Err(_) => {
                mode.level = on_error;
                invalid(label, value, LEVELS);
                false
            }
        })
    };
    let enforce_level_valid = level(&mut policy.enforce, ENFORCE_LABEL, Level::Restricted);
    level(&mut policy.audit, AUDIT_LABEL, Level::Privileged);
    let has_warn_level = level(&mut policy.warn, WARN_LABEL, Level::Privileged).is_some();

    let mut version = |mode: &mut Mode, label: &str| -> bool {
        let Some(value) = labels.get(label) else {
            return false;
        };
        mode.version = parse_version(value).unwrap_or_else(|reason| {
            invalid(label, value, &reason);
            None
        });
        true
    };
    version(&mut policy.enforce, ENFORCE_VERSION_LABEL);
    version(&mut policy.audit, AUDIT_VERSION_LABEL);
    let has_warn_version = version(&mut policy.warn, WARN_VERSION_LABEL);

    // PSA defaults warn to an explicitly (and validly) set enforce level when that is more
    // restrictive and warn has no label of its own, so users see what enforce would reject.
    if !has_warn_level
        && enforce_level_valid == Some(true)
        && policy.enforce.level > policy.warn.level
    {
        policy.warn.level = policy.enforce.level;
        policy.warn.from_label = true;
        if !has_warn_version {
            policy.warn.version = policy.enforce.version;
        }
    }
    policy
}
