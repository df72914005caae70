//! Per-cluster target resolution and preflight, decided by the hub before it hands a cluster
//! its upgrade (issue 4: "per-cluster preflight before its upgrade (version skew, drain
//! blockers, health)").
//!
//! Pure: the hub gathers what the cluster's agent last reported ([`ClusterFacts`]) and asks
//! [`resolve_cluster_target`] which version the cluster goes to, then [`preflight`] whether it
//! may start. Version rules are [`crate::upgrade::target`]'s, reused rather than restated.

use crate::health::{HealthReport, Severity};
use crate::summary::DrainBlocker;
use crate::upgrade::target::{control_plane_path, oldest_kubelet, resolve_target};
use crate::version::KubeVersion;

/// What the hub knows about a cluster from its last report.
#[derive(Debug, Clone, Copy)]
pub struct ClusterFacts<'a> {
    /// The cluster's health as the hub shows it now (`Healthy`, `Degraded`, `Unhealthy`,
    /// `Unknown` once the report is older than the lease).
    pub health: &'a str,
    /// The API server's version, when the agent could read it.
    pub control_plane: Option<&'a str>,
    /// Nodes per kubelet version (`v1.32.4-eks-...`: build suffixes are ignored).
    pub kubelets: &'a [(String, u64)],
    /// Versions the cluster's provider offers; empty when the agent reported none.
    pub offered: &'a [String],
    /// PodDisruptionBudgets that allow no disruption now (the summary's capped list).
    pub drain_blockers: &'a [DrainBlocker],
    /// The cluster's latest health evaluation, if its agent sent one.
    pub health_report: Option<&'a HealthReport>,
    /// Severities whose firing alerts refuse the cluster (the upgrade's `healthGate.haltOn`).
    pub halt_on: &'a [Severity],
}

/// How strict preflight is beyond health and versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreflightPolicy {
    /// Refuse a cluster with a [`is_permanent_blocker`] budget. Right while agents halt a
    /// drain at its deadline (they do: the upgrade would fail there, after its control plane
    /// and part of its nodes had moved); turn off for agents that force at the deadline.
    pub refuse_permanent_blockers: bool,
}

impl Default for PreflightPolicy {
    fn default() -> Self {
        Self {
            refuse_permanent_blockers: true,
        }
    }
}

/// The version a cluster goes to, fixed when its first work item is created.
///
/// `requested` is the upgrade's `spec.version`: `1.31` is the newest 1.31 patch offered,
/// `1.31.4` must be offered exactly, `None` is the newest offered patch of the control plane's
/// next minor. `base` is the control-plane version the resolution starts from (the cluster's
/// version before the upgrade). With nothing offered the hub cannot resolve: `Ok(None)`, and
/// the agent resolves against its provider as it always did.
pub fn resolve_cluster_target(
    requested: Option<&str>,
    base: Option<&str>,
    offered: &[String],
) -> Result<Option<KubeVersion>, String> {
    let offered = parse_offered(offered);
    if offered.is_empty() {
        return Ok(None);
    }
    let wanted = match requested {
        Some(v) => v.to_string(),
        None => {
            let base = base.ok_or("the cluster reported no control-plane version")?;
            let current = KubeVersion::parse(base).map_err(|e| e.to_string())?;
            current.next_minor().to_string()
        }
    };
    resolve_target(&wanted, &offered)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Whether `cluster` may start upgrading to `target` (`None`: left for the agent to resolve);
/// `Err` says why not, in one line.
pub fn preflight(
    facts: &ClusterFacts<'_>,
    target: Option<&str>,
    policy: PreflightPolicy,
) -> Result<(), String> {
    if facts.health != "Healthy" {
        return Err(format!("the cluster is {}, not Healthy", facts.health));
    }
    if let Some(report) = facts.health_report
        && let Some((reason, alert)) = super::halt_reason(report, facts.halt_on)
    {
        // Without the alert (left out of the capped list) the reason already counts them.
        let message = match alert {
            None => reason,
            Some(alert) => {
                let more = super::halting_count(report, facts.halt_on).saturating_sub(1);
                let mut message = format!("{reason} is firing ({})", alert.severity.as_str());
                if more > 0 {
                    message.push_str(&format!(", with {more} more alert(s)"));
                }
                message
            }
        };
        return Err(format!("the cluster is unhealthy: {message}"));
    }
    if let Some(target) = target {
        check_versions(facts, target)?;
    }
    if policy.refuse_permanent_blockers {
        let permanent: Vec<String> = facts
            .drain_blockers
            .iter()
            .filter(|b| is_permanent_blocker(b))
            .map(|b| format!("{}/{} ({})", b.namespace, b.name, b.message))
            .collect();
        if !permanent.is_empty() {
            const NAMED: usize = 3;
            let mut named = permanent[..permanent.len().min(NAMED)].join(", ");
            if permanent.len() > NAMED {
                named.push_str(&format!(" and {} more", permanent.len() - NAMED));
            }
            return Err(format!(
                "{} PodDisruptionBudget(s) can never allow an eviction, so a drain would halt: {named}",
                permanent.len()
            ));
        }
    }
    Ok(())
}

/// A budget that allows no disruption and never will by itself: it wants at least as many
/// healthy pods as its workload runs (`minAvailable` equal to the replicas, `maxUnavailable:
/// 0`, `minAvailable: 1` on one replica). The disruption controller allows `currentHealthy -
/// desiredHealthy` evictions (`pkg/controller/disruption`), and a workload does not surge for
/// an eviction, so with `desiredHealthy >= expectedPods` that stays 0 however healthy the pods
/// get. Any other blocker (pods still starting, a rollout in progress) clears by itself and
/// the drain retries past it.
pub fn is_permanent_blocker(blocker: &DrainBlocker) -> bool {
    blocker.pods.total > 0
        && blocker.expected_pods > 0
        && blocker.desired_healthy >= blocker.expected_pods
}

fn parse_offered(offered: &[String]) -> Vec<KubeVersion> {
    let mut versions: Vec<KubeVersion> = offered
        .iter()
        .filter_map(|v| KubeVersion::parse(v).ok())
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

/// No downgrade, offered (when the provider's list is known), a path through every minor in
/// between, and no kubelet left further behind than the skew policy allows.
fn check_versions(facts: &ClusterFacts<'_>, target: &str) -> Result<(), String> {
    let target_version = KubeVersion::parse(target).map_err(|e| e.to_string())?;
    let offered = parse_offered(facts.offered);
    if !offered.is_empty() {
        // An exact version must be offered; the error names the offered patches.
        resolve_target(target, &offered).map_err(|e| e.to_string())?;
    }
    let Some(current) = facts.control_plane else {
        return Err("the cluster reported no control-plane version".to_string());
    };
    let current = KubeVersion::parse(current).map_err(|e| e.to_string())?;
    // A target without a patch (`1.33`, left for the agent to resolve) means the newest
    // patch of its minor, so only its minor can be behind.
    let downgrade = match target_version.patch {
        None => current.minor_version() > target_version.minor_version(),
        Some(patch) => {
            (current.major, current.minor, current.patch.unwrap_or(0))
                > (target_version.major, target_version.minor, patch)
        }
    };
    if downgrade {
        return Err(format!(
            "target {target_version} is older than the control plane ({current}): Capstan never downgrades a cluster"
        ));
    }
    if !offered.is_empty() {
        control_plane_path(&current, &target_version, &offered).map_err(|e| e.to_string())?;
    }
    // The control plane moves before any node, and the policy's floor rises with each step,
    // so the last step (the target) is the binding one.
    let floor = oldest_kubelet(&target_version);
    let mut behind: Vec<(KubeVersion, u64)> = facts
        .kubelets
        .iter()
        .filter_map(|(v, n)| Some((KubeVersion::parse(v).ok()?, *n)))
        .filter(|(v, _)| v.minor_version() < floor.minor_version())
        .collect();
    if !behind.is_empty() {
        behind.sort();
        let nodes: u64 = behind.iter().map(|(_, n)| n).sum();
        let versions: Vec<String> = behind.iter().map(|(v, n)| format!("{n} at {v}")).collect();
        return Err(format!(
            "version skew: {nodes} node(s) run a kubelet older than {floor}, the oldest a \
             {target_version} control plane supports ({}); upgrade them first",
            versions.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Capped;

    fn offered() -> Vec<String> {
        ["1.31.0", "1.31.4", "1.32.2", "1.33.0", "1.33.3", "1.34.1"]
            .map(String::from)
            .to_vec()
    }

    fn blocker(desired: i64, current: i64, expected: i64) -> DrainBlocker {
        DrainBlocker {
            namespace: "shop".into(),
            name: format!("pdb-{desired}-{current}-{expected}"),
            message: format!("needs {desired} healthy, has {current}"),
            desired_healthy: desired,
            current_healthy: current,
            expected_pods: expected,
            pods: Capped {
                total: expected as u64,
                items: Vec::new(),
            },
            nodes: 1,
        }
    }

    struct Case {
        health: &'static str,
        control_plane: Option<&'static str>,
        kubelets: Vec<(String, u64)>,
        blockers: Vec<DrainBlocker>,
        report: Option<HealthReport>,
        halt_on: Vec<Severity>,
    }

    impl Case {
        fn healthy(cp: &'static str) -> Self {
            Self {
                health: "Healthy",
                control_plane: Some(cp),
                kubelets: vec![(format!("v{cp}-eks-1"), 3)],
                blockers: Vec::new(),
                report: None,
                halt_on: vec![Severity::Critical],
            }
        }

        fn check(&self, target: Option<&str>) -> Result<(), String> {
            let offered = offered();
            let facts = ClusterFacts {
                health: self.health,
                control_plane: self.control_plane,
                kubelets: &self.kubelets,
                offered: &offered,
                drain_blockers: &self.blockers,
                health_report: self.report.as_ref(),
                halt_on: &self.halt_on,
            };
            preflight(&facts, target, PreflightPolicy::default())
        }
    }

    #[test]
    fn targets_resolve_per_cluster() {
        let offered = offered();
        let resolve = |requested, base| {
            resolve_cluster_target(requested, base, &offered).map(|v| v.map(|v| v.to_string()))
        };
        assert_eq!(
            resolve(Some("1.33"), Some("v1.32.2")),
            Ok(Some("1.33.3".into()))
        );
        assert_eq!(
            resolve(Some("1.33.0"), Some("v1.32.2")),
            Ok(Some("1.33.0".into()))
        );
        // Omitted: the newest patch of the control plane's next minor, per cluster.
        assert_eq!(resolve(None, Some("v1.32.2")), Ok(Some("1.33.3".into())));
        assert_eq!(resolve(None, Some("1.31.0")), Ok(Some("1.32.2".into())));
        let err = resolve(Some("1.33.1"), Some("v1.32.2")).unwrap_err();
        assert!(err.contains("1.33.1 is not offered"), "{err}");
        let err = resolve(None, Some("v1.34.1")).unwrap_err();
        assert!(err.contains("1.35 is not offered"), "{err}");
        assert!(resolve(None, None).is_err());
        // Nothing offered: left to the agent.
        assert_eq!(resolve_cluster_target(Some("1.33"), None, &[]), Ok(None));
    }

    #[test]
    fn healthy_cluster_with_a_reachable_target_passes() {
        assert_eq!(Case::healthy("1.32.2").check(Some("1.33.3")), Ok(()));
        // A multi-minor target is chained by the agent.
        assert_eq!(Case::healthy("1.31.4").check(Some("1.33.3")), Ok(()));
        // Unresolved (nothing offered): only health and blockers are checked.
        assert_eq!(Case::healthy("1.32.2").check(None), Ok(()));
        // `1.33` as written (nothing offered) is not older than 1.33.2: the agent resolves it.
        let facts = ClusterFacts {
            health: "Healthy",
            control_plane: Some("v1.33.2"),
            kubelets: &[],
            offered: &[],
            drain_blockers: &[],
            health_report: None,
            halt_on: &[Severity::Critical],
        };
        assert_eq!(
            preflight(&facts, Some("1.33"), PreflightPolicy::default()),
            Ok(())
        );
        let err = preflight(&facts, Some("1.32"), PreflightPolicy::default()).unwrap_err();
        assert!(err.contains("never downgrades"), "{err}");
    }

    #[test]
    fn refusals_say_why() {
        let expect = |case: &Case, target, part: &str| {
            let err = case.check(target).unwrap_err();
            assert!(err.contains(part), "{err:?} lacks {part:?}");
        };
        for health in ["Degraded", "Unhealthy", "Unknown"] {
            let case = Case {
                health,
                ..Case::healthy("1.32.2")
            };
            expect(&case, Some("1.33.3"), &format!("is {health}, not Healthy"));
        }
        expect(&Case::healthy("1.33.3"), Some("1.32.2"), "never downgrades");
        expect(
            &Case::healthy("1.33.3"),
            Some("1.33.0"),
            "older than the control plane (1.33.3)",
        );
        expect(
            &Case::healthy("1.32.2"),
            Some("1.33.1"),
            "1.33.1 is not offered",
        );
        // Kubelets at 1.30 cannot stay under a 1.34 control plane (oldest 1.31).
        let lagging = Case {
            kubelets: vec![("v1.30.2".into(), 2), ("v1.32.2".into(), 5)],
            ..Case::healthy("1.32.2")
        };
        expect(
            &lagging,
            Some("1.34.1"),
            "2 node(s) run a kubelet older than 1.31",
        );
        assert_eq!(
            lagging.check(Some("1.33.3")),
            Ok(()),
            "1.33 still allows 1.30"
        );
        let silent = Case {
            control_plane: None,
            ..Case::healthy("1.32.2")
        };
        expect(&silent, Some("1.33.3"), "no control-plane version");
    }

    fn report(alerts: Vec<crate::health::Alert>) -> HealthReport {
        let mut firing = std::collections::BTreeMap::new();
        for a in alerts
            .iter()
            .filter(|a| a.state == crate::health::AlertPhase::Firing)
        {
            *firing.entry(a.severity).or_default() += 1;
        }
        HealthReport {
            source: "scrape".into(),
            evaluation: 3,
            evaluated_at: jiff::Timestamp::UNIX_EPOCH,
            alerts,
            firing,
            pending: 0,
            healthy_streak: Default::default(),
            errors: Default::default(),
        }
    }

    fn alert(
        rule: &str,
        severity: Severity,
        phase: crate::health::AlertPhase,
    ) -> crate::health::Alert {
        crate::health::Alert {
            rule: rule.into(),
            severity,
            value: 7.0,
            threshold: 5.0,
            comparison: crate::health::Comparison::Above,
            labels: [("pod".to_string(), "web-1".to_string())].into(),
            since: jiff::Timestamp::UNIX_EPOCH,
            state: phase,
        }
    }

    #[test]
    fn a_firing_alert_of_a_halt_on_severity_refuses() {
        use crate::health::AlertPhase::{Firing, Pending};
        let with = |alerts, halt_on: Vec<Severity>| Case {
            report: Some(report(alerts)),
            halt_on,
            ..Case::healthy("1.32.2")
        };
        let critical = with(
            vec![
                alert("ContainerRestartsHigh", Severity::Critical, Firing),
                alert("NodeCPUHigh", Severity::Critical, Firing),
                alert("NodeMemoryHigh", Severity::Warning, Firing),
            ],
            vec![Severity::Critical],
        );
        assert_eq!(
            critical.check(Some("1.33.3")).unwrap_err(),
            "the cluster is unhealthy: ContainerRestartsHigh on pod=web-1: 7 > 5 is firing \
             (critical), with 1 more alert(s)"
        );
        // A warning refuses only when haltOn names warnings; pending alerts never do.
        let warning = vec![
            alert("NodeMemoryHigh", Severity::Warning, Firing),
            alert("ContainerRestartsHigh", Severity::Critical, Pending),
        ];
        assert_eq!(
            with(warning.clone(), vec![Severity::Critical]).check(Some("1.33.3")),
            Ok(())
        );
        let err = with(warning.clone(), vec![Severity::Warning, Severity::Critical])
            .check(Some("1.33.3"))
            .unwrap_err();
        assert!(
            err.contains("NodeMemoryHigh on pod=web-1: 7 > 5 is firing (warning)"),
            "{err}"
        );
        assert_eq!(
            with(warning, vec![]).check(Some("1.33.3")),
            Ok(()),
            "haltOn: []"
        );
        // Alerts counted but left out of the capped list still refuse.
        let mut capped = report(vec![]);
        capped.firing.insert(Severity::Critical, 60);
        let case = Case {
            report: Some(capped),
            ..Case::healthy("1.32.2")
        };
        assert_eq!(
            case.check(None).unwrap_err(),
            "the cluster is unhealthy: 60 critical alert(s) firing"
        );
        // The existing checks still come first.
        let degraded = Case {
            health: "Degraded",
            ..with(vec![], vec![Severity::Critical])
        };
        assert!(degraded.check(None).unwrap_err().contains("is Degraded"));
    }

    #[test]
    fn only_permanent_blockers_refuse() {
        // minAvailable == replicas (or maxUnavailable 0): never an eviction.
        assert!(is_permanent_blocker(&blocker(4, 4, 4)));
        assert!(
            is_permanent_blocker(&blocker(1, 0, 1)),
            "even while unhealthy"
        );
        // Pods not yet healthy under a budget that has room once they are: transient.
        assert!(!is_permanent_blocker(&blocker(2, 2, 3)));
        assert!(!is_permanent_blocker(&blocker(3, 1, 4)));
        assert!(!is_permanent_blocker(&blocker(0, 0, 0)), "selects no pods");

        let transient = Case {
            blockers: vec![blocker(2, 2, 3)],
            ..Case::healthy("1.32.2")
        };
        assert_eq!(transient.check(Some("1.33.3")), Ok(()));
        let permanent = Case {
            blockers: vec![blocker(2, 2, 3), blocker(4, 4, 4), blocker(1, 1, 1)],
            ..Case::healthy("1.32.2")
        };
        let err = permanent.check(Some("1.33.3")).unwrap_err();
        assert!(err.starts_with("2 PodDisruptionBudget(s)"), "{err}");
        assert!(
            err.contains("shop/pdb-4-4-4 (needs 4 healthy, has 4)"),
            "{err}"
        );
        // Off for agents that force at the drain deadline.
        let offered = offered();
        let facts = ClusterFacts {
            health: "Healthy",
            control_plane: Some("1.32.2"),
            kubelets: &permanent.kubelets,
            offered: &offered,
            drain_blockers: &permanent.blockers,
            health_report: None,
            halt_on: &[Severity::Critical],
        };
        let lenient = PreflightPolicy {
            refuse_permanent_blockers: false,
        };
        assert_eq!(preflight(&facts, Some("1.33.3"), lenient), Ok(()));
    }
}
