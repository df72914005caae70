//! Target resolution, the control plane's path and the kubelet skew check.
//!
//! Upstream rules (kubernetes/website `releases/version-skew-policy.md`): the API server never
//! skips a minor; kubelets are never newer than it and at most three minors older (two for
//! kubelets older than 1.25), so kubelets left too far behind must be upgraded before the
//! control plane moves.

use crate::version::KubeVersion;

use super::{Result, UpgradeError};

/// What an upgrade will do, decided before it touches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradePlan {
    /// The version the control plane and every kubelet end at.
    pub target: KubeVersion,
    /// Control-plane versions to go through, one minor each, ending at `target`; empty when
    /// the control plane is already there.
    pub control_plane_steps: Vec<KubeVersion>,
}

/// How many offending nodes an error names before it only counts them.
const NAMED_NODES: usize = 5;

/// `1.31` resolves to the newest offered 1.31.x; `1.31.4` must be offered exactly.
pub fn resolve_target(requested: &str, offered: &[KubeVersion]) -> Result<KubeVersion> {
    let wanted = KubeVersion::parse(requested)?;
    offered
        .iter()
        .filter(|o| {
            o.minor_version() == wanted.minor_version()
                && (wanted.patch.is_none() || o.patch == wanted.patch)
        })
        .max()
        .copied()
        .ok_or_else(|| UpgradeError::NotOffered {
            requested: requested.to_string(),
            offered: describe_offered(offered, wanted.minor_version()),
        })
}

/// The offered patches of the requested minor, or the offered minors when there are none.
fn describe_offered(offered: &[KubeVersion], minor: (u32, u32)) -> String {
    let same_minor: Vec<String> = offered
        .iter()
        .filter(|o| o.minor_version() == minor)
        .map(ToString::to_string)
        .collect();
    if !same_minor.is_empty() {
        return format!("offered: {}", same_minor.join(", "));
    }
    let mut minors: Vec<(u32, u32)> = offered.iter().map(KubeVersion::minor_version).collect();
    minors.dedup();
    match (minors.first(), minors.last()) {
        (Some((a, b)), Some((c, d))) => format!("offered minors: {a}.{b} to {c}.{d}"),
        _ => "it offers none".to_string(),
    }
}

/// The control-plane versions from `current` to `target`: the newest offered patch of every
/// minor in between, then `target` itself. Never a downgrade.
pub fn control_plane_path(
    current: &KubeVersion,
    target: &KubeVersion,
    offered: &[KubeVersion],
) -> Result<Vec<KubeVersion>> {
    if at_least(current, target) {
        if current.minor_version() == target.minor_version() {
            return Ok(Vec::new());
        }
        return Err(UpgradeError::Downgrade {
            target: *target,
            current: *current,
        });
    }
    let mut steps = Vec::new();
    let mut minor = current.next_minor();
    while minor.minor_version() < target.minor_version() {
        let step = offered
            .iter()
            .filter(|o| o.minor_version() == minor.minor_version())
            .max()
            .copied()
            .ok_or_else(|| UpgradeError::NoPath {
                minor: minor.to_string(),
            })?;
        steps.push(step);
        minor = minor.next_minor();
    }
    steps.push(*target);
    Ok(steps)
}

/// `a` is at or past `b`, where a missing patch counts as `.0`.
fn at_least(a: &KubeVersion, b: &KubeVersion) -> bool {
    (a.major, a.minor, a.patch.unwrap_or(0)) >= (b.major, b.minor, b.patch.unwrap_or(0))
}

/// The oldest kubelet a control plane at `control_plane` supports.
pub fn oldest_kubelet(control_plane: &KubeVersion) -> KubeVersion {
    // Three minors for kubelets at 1.25 or newer, two for older ones: the oldest allowed is
    // the older of (cp - 3) when that is >= 1.25, else cp - 2.
    let three_back = control_plane.minor.saturating_sub(3);
    let minor = if control_plane.major != 1 || three_back >= 25 {
        three_back
    } else {
        control_plane.minor.saturating_sub(2)
    };
    KubeVersion {
        major: control_plane.major,
        minor,
        patch: None,
    }
}

/// Refuses a control-plane step that would leave a kubelet further behind than the skew
/// policy allows, naming the nodes.
pub fn check_kubelet_skew(step: &KubeVersion, kubelets: &[(String, KubeVersion)]) -> Result<()> {
    let oldest = oldest_kubelet(step);
    let mut behind: Vec<&(String, KubeVersion)> = kubelets
        .iter()
        .filter(|(_, v)| v.minor_version() < oldest.minor_version())
        .collect();
    if behind.is_empty() {
        return Ok(());
    }
    behind.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut nodes: Vec<String> = behind
        .iter()
        .take(NAMED_NODES)
        .map(|(n, v)| format!("{n} ({v})"))
        .collect();
    if behind.len() > NAMED_NODES {
        nodes.push(format!("and {} more", behind.len() - NAMED_NODES));
    }
    Err(UpgradeError::Skew {
        step: *step,
        oldest_allowed: oldest,
        count: behind.len(),
        nodes: nodes.join(", "),
    })
}

/// Resolve `requested` against the provider's `offered` versions and plan the control plane's
/// path from `control_plane`, checking every step against the cluster's `kubelets`.
pub fn plan_upgrade(
    requested: &str,
    control_plane: &KubeVersion,
    offered: &[KubeVersion],
    kubelets: &[(String, KubeVersion)],
) -> Result<UpgradePlan> {
    let target = resolve_target(requested, offered)?;
    if !at_least(&target, control_plane) {
        return Err(UpgradeError::Downgrade {
            target,
            current: *control_plane,
        });
    }
    let control_plane_steps = control_plane_path(control_plane, &target, offered)?;
    for step in &control_plane_steps {
        check_kubelet_skew(step, kubelets)?;
    }
    Ok(UpgradePlan {
        target,
        control_plane_steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KubeVersion {
        KubeVersion::parse(s).unwrap()
    }

    fn catalogue() -> Vec<KubeVersion> {
        [
            "1.29.9", "1.30.1", "1.30.6", "1.31.0", "1.31.4", "1.32.2", "1.33.0", "1.33.3",
        ]
        .iter()
        .map(|s| v(s))
        .collect()
    }

    /// `Ok((target, steps))` or `Err(part of the message)`.
    type Expect = std::result::Result<(&'static str, &'static [&'static str]), &'static str>;

    fn check(requested: &str, cp: &str, kubelets: &[(&str, &str)], want: Expect) {
        let kubelets: Vec<(String, KubeVersion)> = kubelets
            .iter()
            .map(|(n, k)| (n.to_string(), v(k)))
            .collect();
        let got = plan_upgrade(requested, &v(cp), &catalogue(), &kubelets);
        match (got, want) {
            (Ok(plan), Ok((target, steps))) => {
                assert_eq!(plan.target, v(target), "{requested} from {cp}");
                let steps: Vec<KubeVersion> = steps.iter().map(|s| v(s)).collect();
                assert_eq!(plan.control_plane_steps, steps, "{requested} from {cp}");
            }
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(part),
                    "{requested} from {cp}: {msg:?} lacks {part:?}"
                );
            }
            (got, want) => panic!("{requested} from {cp}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn plans() {
        let nodes = &[("a", "1.30.1"), ("b", "1.30.1")];
        check("1.31", "1.30.1", nodes, Ok(("1.31.4", &["1.31.4"])));
        check("1.31.0", "1.30.1", nodes, Ok(("1.31.0", &["1.31.0"])));
        check("v1.31.4", "1.30.1", nodes, Ok(("1.31.4", &["1.31.4"])));
        // Several minors: the newest patch of each minor in between.
        check(
            "1.33",
            "1.30.1",
            nodes,
            Ok(("1.33.3", &["1.31.4", "1.32.2", "1.33.3"])),
        );
        check(
            "1.33.0",
            "1.31.0",
            nodes,
            Ok(("1.33.0", &["1.32.2", "1.33.0"])),
        );
        // A newer patch of the same minor.
        check("1.30", "1.30.1", nodes, Ok(("1.30.6", &["1.30.6"])));
        // Already there: only the nodes may need rolling.
        check("1.30.1", "1.30.1", nodes, Ok(("1.30.1", &[])));
        check("1.30", "1.30.6", nodes, Ok(("1.30.6", &[])));
        // Errors, each changing nothing.
        check("1.29", "1.30.1", nodes, Err("never downgrades"));
        check(
            "1.30.1",
            "1.30.6",
            nodes,
            Err("older than the control plane (1.30.6)"),
        );
        check(
            "1.31.2",
            "1.30.1",
            nodes,
            Err("1.31.2 is not offered by the provider (offered: 1.31.0, 1.31.4)"),
        );
        check("1.40", "1.30.1", nodes, Err("offered minors: 1.29 to 1.33"));
        check("latest", "1.30.1", nodes, Err("invalid version \"latest\""));
    }

    #[test]
    fn skew_policy_refuses_and_names_the_nodes() {
        // 1.33 supports kubelets down to 1.30: nodes at 1.29 must go first.
        let nodes = &[
            ("n1", "1.29.9"),
            ("n2", "1.30.1"),
            ("n3", "1.29.9"),
            ("n4", "1.29.0"),
            ("n5", "1.29.9"),
            ("n6", "1.29.9"),
            ("n7", "1.29.9"),
        ];
        check(
            "1.33",
            "1.30.1",
            nodes,
            Err("cannot move the control plane to 1.33.3: 6 node(s) run a kubelet older than 1.30"),
        );
        check("1.33", "1.30.1", nodes, Err("n4 (1.29.0), n1 (1.29.9)"));
        check("1.33", "1.30.1", nodes, Err("and 1 more"));
        // 1.32 still supports 1.29 kubelets.
        check(
            "1.32",
            "1.30.1",
            nodes,
            Ok(("1.32.2", &["1.31.4", "1.32.2"])),
        );
    }

    #[test]
    fn oldest_kubelet_follows_the_125_rule() {
        assert_eq!(oldest_kubelet(&v("1.33.1")), v("1.30"));
        assert_eq!(oldest_kubelet(&v("1.28")), v("1.25"));
        // A 1.27 control plane would allow 1.24 under the three-minor rule, but kubelets older
        // than 1.25 get two minors only.
        assert_eq!(oldest_kubelet(&v("1.27")), v("1.25"));
        assert_eq!(oldest_kubelet(&v("1.26")), v("1.24"));
    }
}
