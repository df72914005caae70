#![allow(clippy::unwrap_used)]
//! Every Pod Security Standards check with passing and failing pods, through one table.
//!
//! Each case is a JSON merge patch over [`COMPLIANT`] (a pod that satisfies restricted at
//! every version, with an init container, two containers and an ephemeral container); arrays
//! are patched element by element so `{"containers": [{}, {…}]}` touches the second container
//! only, and `null` removes a field. Expected violations are `check@field_path`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;

const COMPLIANT: &str = r#"{
  "metadata": {"name": "p", "namespace": "ns"},
  "spec": {
    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
    "initContainers": [{"name": "init", "image": "busybox", "securityContext": {
      "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
    "containers": [
      {"name": "app", "image": "nginx", "securityContext": {
        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}},
      {"name": "sidecar", "image": "envoy", "securityContext": {
        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
    "ephemeralContainers": [{"name": "debug", "image": "busybox", "securityContext": {
      "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
  }
}"#;

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (Value::Array(target), Value::Array(patch)) => {
            for (i, value) in patch.iter().enumerate() {
                match target.get_mut(i) {
                    Some(existing) => merge(existing, value),
                    None => target.push(value.clone()),
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

pub(super) fn pod(patch: &Value) -> PodInput {
    let mut value: Value = serde_json::from_str(COMPLIANT).unwrap();
    merge(&mut value, patch);
    serde_json::from_value(value).unwrap()
}

struct Case {
    /// The check the case is about: a case passes it when neither level reports it.
    about: &'static str,
    minor: u32,
    patch: Value,
    baseline: &'static [&'static str],
    restricted: &'static [&'static str],
}

/// Runs one case and returns the check IDs it saw fail.
fn check(case: &Case) -> BTreeSet<&'static str> {
    let p = pod(&case.patch);
    let what = format!("{} v1.{} {}", case.about, case.minor, case.patch);
    let mut failed = BTreeSet::new();
    for (level, want) in [
        (Level::Baseline, case.baseline),
        (Level::Restricted, case.restricted),
    ] {
        let violations = check_pod(&p, level, case.minor);
        let mut got: Vec<String> = violations
            .iter()
            .map(|v| format!("{}@{}", v.check, v.field_path))
            .collect();
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{level}: {what}");
        for v in &violations {
            failed.insert(v.check);
            let (_, check_level) = CHECKS.iter().find(|(id, _)| *id == v.check).unwrap();
            assert_eq!(v.level, *check_level, "{what}: {v:?}");
            assert!(v.level <= level, "{what}: {v:?}");
            // A container's finding names the container.
            if let Some((path, c)) = p
                .all_containers()
                .find(|(path, _)| v.field_path.starts_with(&format!("{path}.")))
            {
                assert!(
                    v.detail.contains(&format!("{:?}", c.name)),
                    "{what}: {path}: {}",
                    v.detail
                );
            }
        }
        assert_eq!(allows(&p, level, case.minor), want.is_empty(), "{what}");
    }
    let highest = if case.restricted.is_empty() {
        Level::Restricted
    } else if case.baseline.is_empty() {
        Level::Baseline
    } else {
        Level::Privileged
    };
    assert_eq!(highest_level(&p, case.minor), highest, "{what}");
    assert!(check_pod(&p, Level::Privileged, case.minor).is_empty());
    failed
}

fn case(
    about: &'static str,
    minor: u32,
    patch: Value,
    baseline: &'static [&'static str],
    restricted: &'static [&'static str],
) -> Case {
    Case {
        about,
        minor,
        patch,
        baseline,
        restricted,
    }
}

/// Cases at the newest policy version, unless they say otherwise.
pub(super) const LATEST: u32 = 37;

fn cases() -> Vec<Case> {
    vec![
        // ---- windowsHostProcess ----
        case(
            "windowsHostProcess",
            LATEST,
            json!({"spec": {"securityContext": {"windowsOptions": {"hostProcess": false}},
                "containers": [{"securityContext": {"windowsOptions": {"hostProcess": false}}}]}}),
            &[],
            &[],
        ),
        case(
            "windowsHostProcess",
            LATEST,
            json!({"spec": {"securityContext": {"windowsOptions": {"hostProcess": true}},
                "ephemeralContainers": [{"securityContext": {"windowsOptions": {"hostProcess": true}}}]}}),
            &[
                "windowsHostProcess@spec.securityContext.windowsOptions.hostProcess",
                "windowsHostProcess@spec.ephemeralContainers[0].securityContext.windowsOptions.hostProcess",
            ],
            &[
                "windowsHostProcess@spec.securityContext.windowsOptions.hostProcess",
                "windowsHostProcess@spec.ephemeralContainers[0].securityContext.windowsOptions.hostProcess",
            ],
        ),
        // ---- hostNamespaces ----
        case(
            "hostNamespaces",
            LATEST,
            json!({"spec": {"hostNetwork": false, "hostPID": false, "hostIPC": false}}),
            &[],
            &[],
        ),
        case(
            "hostNamespaces",
            LATEST,
            json!({"spec": {"hostNetwork": true, "hostPID": true, "hostIPC": true}}),
            &[
                "hostNamespaces@spec.hostNetwork",
                "hostNamespaces@spec.hostPID",
                "hostNamespaces@spec.hostIPC",
            ],
            &[
                "hostNamespaces@spec.hostNetwork",
                "hostNamespaces@spec.hostPID",
                "hostNamespaces@spec.hostIPC",
            ],
        ),
        // ---- privileged ----
        case(
            "privileged",
            LATEST,
            json!({"spec": {"containers": [{"securityContext": {"privileged": false}}]}}),
            &[],
            &[],
        ),
        case(
            "privileged",
            LATEST,
            json!({"spec": {"containers": [{}, {"securityContext": {"privileged": true}}],
                "initContainers": [{"securityContext": {"privileged": true}}]}}),
            &[
                "privileged@spec.containers[1].securityContext.privileged",
                "privileged@spec.initContainers[0].securityContext.privileged",
            ],
            &[
                "privileged@spec.containers[1].securityContext.privileged",
                "privileged@spec.initContainers[0].securityContext.privileged",
            ],
        ),
        // ---- capabilities_baseline / capabilities_restricted ----
        // Adding a default capability passes baseline; restricted allows NET_BIND_SERVICE only.
        case(
            "capabilities_baseline",
            LATEST,
            json!({"spec": {"containers": [{"securityContext": {"capabilities": {"add": ["CHOWN", "NET_BIND_SERVICE"]}}}]}}),
            &[],
            &["capabilities_restricted@spec.containers[0].securityContext.capabilities.add[0]"],
        ),
        case(
            "capabilities_baseline",
            LATEST,
            json!({"spec": {"ephemeralContainers": [{"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN", "NET_RAW"]}}}]}}),
            &[
                "capabilities_baseline@spec.ephemeralContainers[0].securityContext.capabilities.add[1]",
                "capabilities_baseline@spec.ephemeralContainers[0].securityContext.capabilities.add[2]",
            ],
            // capabilities_restricted replaces capabilities_baseline from v1.22.
            &[
                "capabilities_restricted@spec.ephemeralContainers[0].securityContext.capabilities.add[1]",
                "capabilities_restricted@spec.ephemeralContainers[0].securityContext.capabilities.add[2]",
            ],
        ),
        // Before v1.22 restricted runs the baseline capability check, and drop is not required.
        case(
            "capabilities_baseline",
            21,
            json!({"spec": {"containers": [{"securityContext": {"capabilities": {"drop": null, "add": ["SYS_ADMIN"]}}}]}}),
            &["capabilities_baseline@spec.containers[0].securityContext.capabilities.add[0]"],
            &["capabilities_baseline@spec.containers[0].securityContext.capabilities.add[0]"],
        ),
        case(
            "capabilities_restricted",
            LATEST,
            json!({"spec": {"containers": [{"securityContext": {"capabilities": null}}, {"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]}}),
            &[],
            &[
                "capabilities_restricted@spec.containers[0].securityContext.capabilities.drop",
                "capabilities_restricted@spec.containers[1].securityContext.capabilities.drop",
            ],
        ),
        case(
            "capabilities_restricted",
            21,
            json!({"spec": {"containers": [{"securityContext": {"capabilities": null}}]}}),
            &[],
            &[],
        ),
        // Windows pods are exempt from v1.25 (API validation forbids capabilities for them).
        case(
            "capabilities_restricted",
            25,
            json!({"spec": {"os": {"name": "windows"}, "containers": [{"securityContext": {"capabilities": null}}]}}),
            &[],
            &[],
        ),
        case(
            "capabilities_restricted",
            24,
            json!({"spec": {"os": {"name": "windows"}, "containers": [{"securityContext": {"capabilities": null}}]}}),
            &[],
            &["capabilities_restricted@spec.containers[0].securityContext.capabilities.drop"],
        ),
        // ---- hostPathVolumes / restrictedVolumes ----
        case(
            "hostPathVolumes",
            LATEST,
            json!({"spec": {"volumes": [{"name": "c", "configMap": {"name": "c"}}]}}),
            &[],
            &[],
        ),
        case(
            "hostPathVolumes",
            LATEST,
            json!({"spec": {"volumes": [{"name": "c", "configMap": {"name": "c"}}, {"name": "h", "hostPath": {"path": "/var/run"}}]}}),
            &["hostPathVolumes@spec.volumes[1].hostPath"],
            // restrictedVolumes replaces hostPathVolumes at restricted.
            &["restrictedVolumes@spec.volumes[1].hostPath"],
        ),
        case(
            "restrictedVolumes",
            LATEST,
            json!({"spec": {"volumes": [
                {"name": "a", "configMap": {"name": "c"}},
                {"name": "b", "secret": {"secretName": "s"}},
                {"name": "c", "emptyDir": {}},
                {"name": "d", "projected": {"sources": []}},
                {"name": "e", "csi": {"driver": "x"}},
                {"name": "f", "persistentVolumeClaim": {"claimName": "x"}},
                {"name": "g", "ephemeral": {}},
                {"name": "h", "image": {"reference": "x"}},
                {"name": "i", "downwardAPI": {}},
                // No source: the API server defaults it to emptyDir.
                {"name": "j"}]}}),
            &[],
            &[],
        ),
        case(
            "restrictedVolumes",
            LATEST,
            json!({"spec": {"volumes": [
                {"name": "a", "nfs": {"server": "s", "path": "/"}},
                {"name": "b", "emptyDir": {}},
                {"name": "c", "gitRepo": {"repository": "r"}},
                {"name": "d", "someFutureSource": {}}]}}),
            &[],
            &[
                "restrictedVolumes@spec.volumes[0].nfs",
                "restrictedVolumes@spec.volumes[2].gitRepo",
                "restrictedVolumes@spec.volumes[3].someFutureSource",
            ],
        ),
        // ---- hostPorts ----
        case(
            "hostPorts",
            LATEST,
            json!({"spec": {"containers": [{"ports": [{"containerPort": 80, "hostPort": 0}]}]}}),
            &[],
            &[],
        ),
        case(
            "hostPorts",
            LATEST,
            json!({"spec": {"containers": [{"ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 8081}]}],
                "initContainers": [{"ports": [{"containerPort": 1, "hostPort": 1}]}]}}),
            &[
                "hostPorts@spec.containers[0].ports[1].hostPort",
                "hostPorts@spec.initContainers[0].ports[0].hostPort",
            ],
            &[
                "hostPorts@spec.containers[0].ports[1].hostPort",
                "hostPorts@spec.initContainers[0].ports[0].hostPort",
            ],
        ),
        // ---- hostProbesAndHostLifecycle (v1.34+) ----
        case(
            "hostProbesAndHostLifecycle",
            LATEST,
            json!({"spec": {"containers": [{"livenessProbe": {"httpGet": {"host": "", "port": 80}},
                "lifecycle": {"preStop": {"tcpSocket": {"port": 80}}}}]}}),
            &[],
            &[],
        ),
        case(
            "hostProbesAndHostLifecycle",
            34,
            json!({"spec": {
                "containers": [{"livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}},
                    {"readinessProbe": {"tcpSocket": {"host": "db", "port": 5432}},
                     "startupProbe": {"httpGet": {"host": "a"}, "tcpSocket": {"host": "b"}}}],
                "initContainers": [{"lifecycle": {"postStart": {"httpGet": {"host": "x"}},
                    "preStop": {"tcpSocket": {"host": "y"}}}}]}}),
            &[
                "hostProbesAndHostLifecycle@spec.containers[0].livenessProbe.httpGet.host",
                "hostProbesAndHostLifecycle@spec.containers[1].readinessProbe.tcpSocket.host",
                "hostProbesAndHostLifecycle@spec.containers[1].startupProbe.httpGet.host",
                "hostProbesAndHostLifecycle@spec.containers[1].startupProbe.tcpSocket.host",
                "hostProbesAndHostLifecycle@spec.initContainers[0].lifecycle.postStart.httpGet.host",
                "hostProbesAndHostLifecycle@spec.initContainers[0].lifecycle.preStop.tcpSocket.host",
            ],
            &[
                "hostProbesAndHostLifecycle@spec.containers[0].livenessProbe.httpGet.host",
                "hostProbesAndHostLifecycle@spec.containers[1].readinessProbe.tcpSocket.host",
                "hostProbesAndHostLifecycle@spec.containers[1].startupProbe.httpGet.host",
                "hostProbesAndHostLifecycle@spec.containers[1].startupProbe.tcpSocket.host",
                "hostProbesAndHostLifecycle@spec.initContainers[0].lifecycle.postStart.httpGet.host",
                "hostProbesAndHostLifecycle@spec.initContainers[0].lifecycle.preStop.tcpSocket.host",
            ],
        ),
        // The check does not exist before v1.34.
        case(
            "hostProbesAndHostLifecycle",
            33,
            json!({"spec": {"containers": [{"livenessProbe": {"httpGet": {"host": "10.0.0.1"}}}]}}),
            &[],
            &[],
        ),
        // ---- appArmorProfile ----
        case(
            "appArmorProfile",
            LATEST,
            json!({"metadata": {"annotations": {
                    "container.apparmor.security.beta.kubernetes.io/app": "runtime/default",
                    "container.apparmor.security.beta.kubernetes.io/sidecar": "localhost/custom",
                    "container.apparmor.security.beta.kubernetes.io/init": ""}},
                "spec": {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}},
                "containers": [{"securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}}]}}),
            &[],
            &[],
        ),
        case(
            "appArmorProfile",
            LATEST,
            json!({"metadata": {"annotations": {
                    "container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
                "spec": {"securityContext": {"appArmorProfile": {"type": "Unconfined"}},
                "initContainers": [{"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]}}),
            &[
                "appArmorProfile@spec.securityContext.appArmorProfile.type",
                "appArmorProfile@spec.initContainers[0].securityContext.appArmorProfile.type",
                "appArmorProfile@metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
            ],
            &[
                "appArmorProfile@spec.securityContext.appArmorProfile.type",
                "appArmorProfile@spec.initContainers[0].securityContext.appArmorProfile.type",
                "appArmorProfile@metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
            ],
        ),
        // ---- seLinuxOptions ----
        case(
            "seLinuxOptions",
            LATEST,
            json!({"spec": {"securityContext": {"seLinuxOptions": {"type": "container_t", "level": "s0:c1"}},
                "containers": [{"securityContext": {"seLinuxOptions": {"type": "container_init_t"}}},
                    {"securityContext": {"seLinuxOptions": {"type": "container_kvm_t"}}}]}}),
            &[],
            &[],
        ),
        case(
            "seLinuxOptions",
            LATEST,
            json!({"spec": {"securityContext": {"seLinuxOptions": {"type": "spc_t"}},
                "ephemeralContainers": [{"securityContext": {"seLinuxOptions": {"user": "system_u", "role": "system_r"}}}]}}),
            &[
                "seLinuxOptions@spec.securityContext.seLinuxOptions.type",
                "seLinuxOptions@spec.ephemeralContainers[0].securityContext.seLinuxOptions.user",
                "seLinuxOptions@spec.ephemeralContainers[0].securityContext.seLinuxOptions.role",
            ],
            &[
                "seLinuxOptions@spec.securityContext.seLinuxOptions.type",
                "seLinuxOptions@spec.ephemeralContainers[0].securityContext.seLinuxOptions.user",
                "seLinuxOptions@spec.ephemeralContainers[0].securityContext.seLinuxOptions.role",
            ],
        ),
        // container_engine_t is allowed from v1.31.
        case(
            "seLinuxOptions",
            31,
            json!({"spec": {"containers": [{"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}]}}),
            &[],
            &[],
        ),
        case(
            "seLinuxOptions",
            30,
            json!({"spec": {"containers": [{"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}]}}),
            &["seLinuxOptions@spec.containers[0].securityContext.seLinuxOptions.type"],
            &["seLinuxOptions@spec.containers[0].securityContext.seLinuxOptions.type"],
        ),
        // ---- procMount / procMount_restricted ----
        case(
            "procMount",
            LATEST,
            json!({"spec": {"containers": [{"securityContext": {"procMount": "Default"}}]}}),
            &[],
            &[],
        ),
        case(
            "procMount",
            34,
            json!({"spec": {"containers": [{"securityContext": {"procMount": "Unmasked"}}]}}),
            &["procMount@spec.containers[0].securityContext.procMount"],
            &["procMount@spec.containers[0].securityContext.procMount"],
        ),
        // From v1.35 restricted runs procMount_restricted in place of procMount ...
        case(
            "procMount_restricted",
            35,
            json!({"spec": {"initContainers": [{"securityContext": {"procMount": "Unmasked"}}]}}),
            &["procMount@spec.initContainers[0].securityContext.procMount"],
            &["procMount_restricted@spec.initContainers[0].securityContext.procMount"],
        ),
        // ... and baseline allows any procMount in a user namespace, restricted still not.
        case(
            "procMount",
            35,
            json!({"spec": {"hostUsers": false, "containers": [{"securityContext": {"procMount": "Unmasked"}}]}}),
            &[],
            &["procMount_restricted@spec.containers[0].securityContext.procMount"],
        ),
        case(
            "procMount",
            34,
            json!({"spec": {"hostUsers": false, "containers": [{"securityContext": {"procMount": "Unmasked"}}]}}),
            &["procMount@spec.containers[0].securityContext.procMount"],
            &["procMount@spec.containers[0].securityContext.procMount"],
        ),
        case(
            "procMount_restricted",
            35,
            json!({"spec": {"hostUsers": false, "containers": [{"securityContext": {"procMount": "Default"}}]}}),
            &[],
            &[],
        ),
        // ---- seccompProfile_baseline / seccompProfile_restricted ----
        case(
            "seccompProfile_baseline",
            LATEST,
            json!({"spec": {"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}},
                "containers": [{"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}}),
            &[],
            &[],
        ),
        case(
            "seccompProfile_baseline",
            LATEST,
            json!({"spec": {"containers": [{}, {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}}),
            &["seccompProfile_baseline@spec.containers[1].securityContext.seccompProfile.type"],
            &["seccompProfile_restricted@spec.containers[1].securityContext.seccompProfile.type"],
        ),
        // A bad pod-level profile covers no container: every unset one fails restricted too.
        case(
            "seccompProfile_baseline",
            LATEST,
            json!({"spec": {"securityContext": {"seccompProfile": {"type": "Unconfined"}},
                "containers": [{"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}}),
            &["seccompProfile_baseline@spec.securityContext.seccompProfile.type"],
            &[
                "seccompProfile_restricted@spec.securityContext.seccompProfile.type",
                "seccompProfile_restricted@spec.initContainers[0].securityContext.seccompProfile.type",
                "seccompProfile_restricted@spec.containers[1].securityContext.seccompProfile.type",
                "seccompProfile_restricted@spec.ephemeralContainers[0].securityContext.seccompProfile.type",
            ],
        ),
        // Before v1.19 the alpha annotations are checked, not the fields.
        case(
            "seccompProfile_baseline",
            18,
            json!({"metadata": {"annotations": {
                    "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                    "container.seccomp.security.alpha.kubernetes.io/sidecar": "unconfined",
                    "container.seccomp.security.alpha.kubernetes.io/app": "docker/default"}},
                "spec": {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}}),
            &[
                "seccompProfile_baseline@metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
                "seccompProfile_baseline@metadata.annotations[container.seccomp.security.alpha.kubernetes.io/sidecar]",
            ],
            &[
                "seccompProfile_baseline@metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
                "seccompProfile_baseline@metadata.annotations[container.seccomp.security.alpha.kubernetes.io/sidecar]",
            ],
        ),
        case(
            "seccompProfile_restricted",
            LATEST,
            json!({"spec": {"securityContext": {"seccompProfile": null},
                "containers": [{"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}}),
            &[],
            &[
                "seccompProfile_restricted@spec.initContainers[0].securityContext.seccompProfile.type",
                "seccompProfile_restricted@spec.containers[1].securityContext.seccompProfile.type",
                "seccompProfile_restricted@spec.ephemeralContainers[0].securityContext.seccompProfile.type",
            ],
        ),
        case(
            "seccompProfile_restricted",
            25,
            json!({"spec": {"os": {"name": "windows"}, "securityContext": {"seccompProfile": null}}}),
            &[],
            &[],
        ),
        case(
            "seccompProfile_restricted",
            18,
            json!({"spec": {"securityContext": {"seccompProfile": null}}}),
            &[],
            &[],
        ),
        // ---- sysctls ----
        case(
            "sysctls",
            LATEST,
            json!({"spec": {"securityContext": {"sysctls": [
                {"name": "kernel.shm_rmid_forced", "value": "1"},
                {"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"},
                {"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"}]}}}),
            &[],
            &[],
        ),
        case(
            "sysctls",
            LATEST,
            json!({"spec": {"securityContext": {"sysctls": [
                {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                {"name": "kernel.msgmax", "value": "65536"}]}}}),
            &["sysctls@spec.securityContext.sysctls[1].name"],
            &["sysctls@spec.securityContext.sysctls[1].name"],
        ),
        // ---- allowPrivilegeEscalation ----
        case(
            "allowPrivilegeEscalation",
            LATEST,
            json!({"spec": {"containers": [{"securityContext": {"allowPrivilegeEscalation": false}}]}}),
            &[],
            &[],
        ),
        case(
            "allowPrivilegeEscalation",
            LATEST,
            json!({"spec": {"containers": [{}, {"securityContext": {"allowPrivilegeEscalation": true}}],
                "initContainers": [{"securityContext": {"allowPrivilegeEscalation": null}}],
                "ephemeralContainers": [{"securityContext": null}]}}),
            &[],
            &[
                "allowPrivilegeEscalation@spec.containers[1].securityContext.allowPrivilegeEscalation",
                "allowPrivilegeEscalation@spec.initContainers[0].securityContext.allowPrivilegeEscalation",
                "allowPrivilegeEscalation@spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation",
                "capabilities_restricted@spec.ephemeralContainers[0].securityContext.capabilities.drop",
            ],
        ),
        case(
            "allowPrivilegeEscalation",
            25,
            json!({"spec": {"os": {"name": "windows"}, "containers": [{"securityContext": {"allowPrivilegeEscalation": null}}]}}),
            &[],
            &[],
        ),
        case(
            "allowPrivilegeEscalation",
            24,
            json!({"spec": {"os": {"name": "windows"}, "containers": [{"securityContext": {"allowPrivilegeEscalation": null}}]}}),
            &[],
            &[
                "allowPrivilegeEscalation@spec.containers[0].securityContext.allowPrivilegeEscalation",
            ],
        ),
        // The field appeared in v1.8.
        case(
            "allowPrivilegeEscalation",
            7,
            json!({"spec": {"containers": [{"securityContext": {"allowPrivilegeEscalation": true}}]}}),
            &[],
            &[],
        ),
        // ---- runAsNonRoot ----
        // Containers may leave it unset under a pod-level true, or set it themselves.
        case(
            "runAsNonRoot",
            LATEST,
            json!({"spec": {"securityContext": {"runAsNonRoot": null},
                "initContainers": [{"securityContext": {"runAsNonRoot": true}}],
                "containers": [{"securityContext": {"runAsNonRoot": true}}, {"securityContext": {"runAsNonRoot": true}}],
                "ephemeralContainers": [{"securityContext": {"runAsNonRoot": true}}]}}),
            &[],
            &[],
        ),
        case(
            "runAsNonRoot",
            LATEST,
            json!({"spec": {"containers": [{}, {"securityContext": {"runAsNonRoot": false}}]}}),
            &[],
            &["runAsNonRoot@spec.containers[1].securityContext.runAsNonRoot"],
        ),
        case(
            "runAsNonRoot",
            LATEST,
            json!({"spec": {"securityContext": {"runAsNonRoot": false},
                "containers": [{"securityContext": {"runAsNonRoot": true}}]}}),
            &[],
            &[
                "runAsNonRoot@spec.securityContext.runAsNonRoot",
                "runAsNonRoot@spec.initContainers[0].securityContext.runAsNonRoot",
                "runAsNonRoot@spec.containers[1].securityContext.runAsNonRoot",
                "runAsNonRoot@spec.ephemeralContainers[0].securityContext.runAsNonRoot",
            ],
        ),
        // A user-namespaced pod may run as root from v1.35.
        case(
            "runAsNonRoot",
            35,
            json!({"spec": {"hostUsers": false, "securityContext": {"runAsNonRoot": false}}}),
            &[],
            &[],
        ),
        case(
            "runAsNonRoot",
            34,
            json!({"spec": {"hostUsers": false, "securityContext": {"runAsNonRoot": null},
                "containers": [{"securityContext": {"runAsNonRoot": true}}, {"securityContext": {"runAsNonRoot": true}}],
                "ephemeralContainers": [{"securityContext": {"runAsNonRoot": true}}]}}),
            &[],
            &["runAsNonRoot@spec.initContainers[0].securityContext.runAsNonRoot"],
        ),
        // ---- runAsUser (v1.23+) ----
        case(
            "runAsUser",
            LATEST,
            json!({"spec": {"securityContext": {"runAsUser": 1000},
                "containers": [{"securityContext": {"runAsUser": 65534}}]}}),
            &[],
            &[],
        ),
        case(
            "runAsUser",
            23,
            json!({"spec": {"securityContext": {"runAsUser": 0},
                "ephemeralContainers": [{"securityContext": {"runAsUser": 0}}]}}),
            &[],
            &[
                "runAsUser@spec.securityContext.runAsUser",
                "runAsUser@spec.ephemeralContainers[0].securityContext.runAsUser",
            ],
        ),
        case(
            "runAsUser",
            22,
            json!({"spec": {"securityContext": {"runAsUser": 0}}}),
            &[],
            &[],
        ),
        case(
            "runAsUser",
            35,
            json!({"spec": {"hostUsers": false, "securityContext": {"runAsUser": 0}}}),
            &[],
            &[],
        ),
        case(
            "runAsUser",
            34,
            json!({"spec": {"hostUsers": false, "securityContext": {"runAsUser": 0}}}),
            &[],
            &["runAsUser@spec.securityContext.runAsUser"],
        ),
    ]
}

#[test]
fn every_check_passes_and_fails_as_psa() {
    let mut failed = BTreeSet::new();
    let mut passed = BTreeSet::new();
    for case in cases() {
        let fails = check(&case);
        if !fails.contains(case.about) {
            passed.insert(case.about);
        }
        failed.extend(fails);
    }
    let all: BTreeSet<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
    assert_eq!(failed, all, "checks without a failing case");
    assert_eq!(passed, all, "checks without a passing case");
}
