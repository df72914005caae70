#![allow(clippy::unwrap_used)]
//! Version gates, highest_level, details and Level, beyond the per-check table.

use serde_json::json;

use super::tests::{LATEST, pod};
use super::*;

#[test]
fn the_compliant_pod_is_restricted_at_every_version() {
    let p = pod(&json!({}));
    for minor in 0..=40 {
        assert_eq!(highest_level(&p, minor), Level::Restricted, "v1.{minor}");
    }
}

#[test]
fn sysctl_allow_list_grows_with_the_policy_version() {
    // (sysctl, first policy minor that allows it)
    let table = [
        ("kernel.shm_rmid_forced", 0),
        ("net.ipv4.ip_unprivileged_port_start", 0),
        ("net.ipv4.ip_local_reserved_ports", 27),
        ("net.ipv4.tcp_keepalive_time", 29),
        ("net.ipv4.tcp_fin_timeout", 29),
        ("net.ipv4.tcp_keepalive_intvl", 29),
        ("net.ipv4.tcp_keepalive_probes", 29),
        ("net.ipv4.tcp_rmem", 32),
        ("net.ipv4.tcp_wmem", 32),
        ("net.ipv4.tcp_slow_start_after_idle", 37),
        ("net.ipv4.tcp_notsent_lowat", 37),
    ];
    for (name, since) in table {
        let p =
            pod(&json!({"spec": {"securityContext": {"sysctls": [{"name": name, "value": "1"}]}}}));
        for minor in [since.max(1) - 1, since, since + 1, 40] {
            let allowed = check_pod(&p, Level::Baseline, minor).is_empty();
            assert_eq!(allowed, minor >= since, "{name} at v1.{minor}");
        }
    }
    // The example from the issue: allowed at 1.29, not at 1.27.
    let p = pod(
        &json!({"spec": {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_fin_timeout"}]}}}),
    );
    assert_eq!(highest_level(&p, 29), Level::Restricted);
    assert_eq!(highest_level(&p, 27), Level::Privileged);
}

#[test]
fn highest_level_of_typical_pods() {
    // A pod with no security context at all is baseline (restricted needs explicit settings).
    let bare: PodInput =
        serde_json::from_str(r#"{"spec": {"containers": [{"name": "app", "image": "nginx"}]}}"#)
            .unwrap();
    assert_eq!(highest_level(&bare, LATEST), Level::Baseline);
    let checks: Vec<&str> = check_pod(&bare, Level::Restricted, LATEST)
        .iter()
        .map(|v| v.check)
        .collect();
    // PSA's order: baseline IDs sorted, then restricted IDs sorted.
    assert_eq!(
        checks,
        [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "runAsNonRoot",
            "seccompProfile_restricted"
        ]
    );
    let privileged = pod(&json!({"spec": {"hostNetwork": true}}));
    assert_eq!(highest_level(&privileged, LATEST), Level::Privileged);
    // An empty pod has nothing to violate.
    assert_eq!(
        highest_level(&PodInput::default(), LATEST),
        Level::Restricted
    );
}

#[test]
fn details_read_like_psa() {
    let p = pod(&json!({"spec": {"containers": [{}, {"securityContext": {"privileged": true}}]}}));
    let v = check_pod(&p, Level::Baseline, LATEST);
    assert_eq!(
        v,
        [Violation {
            check: "privileged",
            level: Level::Baseline,
            field_path: "spec.containers[1].securityContext.privileged".to_string(),
            detail: r#"container "sidecar" must not set securityContext.privileged=true"#
                .to_string(),
        }]
    );
    assert_eq!(
        serde_json::to_value(&v[0]).unwrap(),
        json!({"check": "privileged", "level": "baseline",
            "fieldPath": "spec.containers[1].securityContext.privileged",
            "detail": "container \"sidecar\" must not set securityContext.privileged=true"})
    );
}

#[test]
fn level_parse_order_and_serde() {
    for level in Level::ALL {
        assert_eq!(Level::parse(level.as_str()), Ok(level));
        assert_eq!(serde_json::to_value(level).unwrap(), json!(level.as_str()));
        assert_eq!(
            serde_json::from_value::<Level>(json!(level.as_str())).unwrap(),
            level
        );
    }
    assert!(Level::Privileged < Level::Baseline && Level::Baseline < Level::Restricted);
    for bad in ["Restricted", " baseline", "", "strict"] {
        assert!(Level::parse(bad).is_err(), "{bad:?}");
    }
}
