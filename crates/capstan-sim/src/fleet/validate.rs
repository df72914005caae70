//! Value checks for the exact-fleet YAML: versions, DNS labels, Kubernetes labels and node
//! pools.

use capstan_core::version::KubeVersion;

use super::NodePoolSpec;

/// A fleet file's version, "1.31.4" or "v1.31.4": [`KubeVersion`] narrowed to exactly
/// `1.<minor>.<patch>`. `KubeVersion::parse` alone would also take "1.31" and provider
/// builds such as "v1.31.4-eks-2d5f260" (dropping the suffix); a fleet file names exact
/// upstream releases, so those stay errors here.
pub(super) fn fleet_version(text: &str) -> Result<KubeVersion, String> {
    let s = text.trim();
    let bare = s.strip_prefix('v').unwrap_or(s);
    let plain =
        bare.split('.').count() == 3 && bare.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    KubeVersion::parse(bare)
        .ok()
        .filter(|v| plain && v.major == 1 && v.patch.is_some())
        .ok_or_else(|| format!("{text:?} is not a Kubernetes version like \"1.31.4\""))
}

/// The values of one node pool (its name is checked by the caller, against its siblings),
/// given the control plane's version as parsed and as written. A pool's kubelet version is
/// normalised to `1.<minor>.<patch>`. An error names the offending field (`.cpu`) and why.
pub(super) fn check_node_pool(
    pool: &mut NodePoolSpec,
    control_plane: &KubeVersion,
    control_plane_text: &str,
) -> Result<(), (&'static str, String)> {
    if pool.instance_type.trim().is_empty() {
        return Err((".instanceType", "must not be empty".into()));
    }
    if !matches!(crate::objects::cpu_millis(&pool.cpu), Some(m) if m > 0) {
        return Err((
            ".cpu",
            format!("{:?} is not a positive CPU quantity", pool.cpu),
        ));
    }
    if !matches!(crate::objects::memory_bytes(&pool.memory), Some(b) if b > 0) {
        return Err((
            ".memory",
            format!("{:?} is not a positive memory quantity", pool.memory),
        ));
    }
    if pool.max_pods == 0 {
        return Err((".maxPods", "must be at least 1".into()));
    }
    if pool.zones.is_empty() || pool.zones.iter().any(|z| z.trim().is_empty()) {
        return Err((".zones", "needs at least one non-empty zone".into()));
    }
    if let Some(v) = pool.version.take() {
        let kv = fleet_version(&v).map_err(|r| (".version", r))?;
        // Version skew policy: kubelets may not be newer than the API server and may lag it
        // by at most three minor versions.
        let skew = control_plane.minor_distance(&kv);
        if skew > 0 {
            return Err((
                ".version",
                format!("kubelet {v} is newer than the control plane {control_plane_text}"),
            ));
        }
        if skew < -3 {
            return Err((
                ".version",
                format!(
                    "kubelet {v} is more than three minor versions behind the control plane {control_plane_text}"
                ),
            ));
        }
        pool.version = Some(kv.to_string());
    }
    Ok(())
}

/// DNS-1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric, at
/// most 63 characters.
pub fn check_dns_label(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok_inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    let ok_edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || b.len() > 63 {
        return Err(format!("{s:?} must be 1-63 characters"));
    }
    if !b.iter().all(ok_inner) || !ok_edge(&b[0]) || !ok_edge(&b[b.len() - 1]) {
        return Err(format!(
            "{s:?} is not a DNS-1123 label (lower-case alphanumerics and '-', starting and ending alphanumeric)"
        ));
    }
    Ok(())
}

/// A Kubernetes label key and value, as the API server would accept them (selectors over
/// cluster labels rely on the same syntax).
pub(super) fn check_label(key: &str, value: &str) -> Result<(), String> {
    let name_ok = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    };
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        let valid = !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| check_dns_label(part).is_ok());
        if !valid {
            return Err(format!("label key prefix {p:?} is not a DNS subdomain"));
        }
    }
    if !name_ok(name) {
        return Err(format!("label key {key:?} is not a valid label name"));
    }
    if !value.is_empty() && !name_ok(value) {
        return Err(format!("label value {value:?} is not a valid label value"));
    }
    Ok(())
}
