//! The checks of pod-security-admission's policy/check_*.go, one function each, run in PSA's
//! order (baseline IDs sorted, then restricted IDs sorted: policy/registry.go).

use super::{Level, Sink};
use crate::posture::pod::{
    Container, ContainerPath, PodInput, Probe, SeLinuxOptions, SecurityContext,
};

type Check<S> = fn(&PodInput, u32, &mut S);

/// Runs every check of `level` at policy version `v1.<minor>`.
pub(super) fn run<S: Sink>(pod: &PodInput, level: Level, minor: u32, sink: &mut S) {
    if level == Level::Privileged {
        return;
    }
    let restricted = level == Level::Restricted;
    // Restricted checks that replace a baseline check from the version they appear in
    // (`OverrideCheckIDs` in PSA): the baseline one is then not run at restricted.
    let baseline: [(Check<S>, bool); 12] = [
        (app_armor_profile, true),
        (capabilities_baseline, !(restricted && minor >= 22)),
        (host_namespaces, true),
        (host_path_volumes, !restricted),
        (host_ports, true),
        (host_probes_and_host_lifecycle, minor >= 34),
        (privileged, true),
        (proc_mount_baseline, !(restricted && minor >= 35)),
        (se_linux_options, true),
        (seccomp_profile_baseline, !(restricted && minor >= 19)),
        (sysctls, true),
        (windows_host_process, true),
    ];
    let restricted_checks: [(Check<S>, bool); 7] = [
        (allow_privilege_escalation, minor >= 8),
        (capabilities_restricted, minor >= 22),
        (proc_mount_restricted, minor >= 35),
        (restricted_volumes, true),
        (run_as_non_root, true),
        (run_as_user, minor >= 23),
        (seccomp_profile_restricted, minor >= 19),
    ];
    let restricted_checks: &[(Check<S>, bool)] = if restricted { &restricted_checks } else { &[] };
    for (check, applies) in baseline.iter().chain(restricted_checks) {
        if *applies {
            check(pod, minor, sink);
            if sink.done() {
                return;
            }
        }
    }
}

fn security_context(container: &Container) -> Option<&SecurityContext> {
    container.security_context.as_ref()
}

/// `hostUsers: false`: the pod runs in a user namespace, which relaxes `procMount`,
/// `runAsNonRoot` and `runAsUser` from v1.35 (policy/helpers.go
/// relaxPolicyForUserNamespacePod).
fn in_user_namespace(pod: &PodInput) -> bool {
    pod.spec.host_users == Some(false)
}

// ---- baseline ----

fn app_armor_profile<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    const ID: &str = "appArmorProfile";
    // A profile object with any other type, including an empty one, is forbidden.
    let allowed = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    if let Some(profile) = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.app_armor_profile.as_ref())
        && !allowed(&profile.r#type)
    {
        sink.found(
            ID,
            Level::Baseline,
            || "spec.securityContext.appArmorProfile.type".to_string(),
            || {
                format!(
                    "pod must not set securityContext.appArmorProfile.type to {:?}",
                    profile.r#type
                )
            },
        );
    }
    for (path, c) in pod.all_containers() {
        if let Some(profile) = security_context(c).and_then(|sc| sc.app_armor_profile.as_ref())
            && !allowed(&profile.r#type)
        {
            sink.found(
                ID,
                Level::Baseline,
                || path.field("securityContext.appArmorProfile.type"),
                || {
                    format!(
                        "container {:?} must not set securityContext.appArmorProfile.type to {:?}",
                        c.name, profile.r#type
                    )
                },
            );
        }
    }
    // The deprecated beta annotations: `runtime/default`, `localhost/<profile>` or empty.
    const PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
    for (key, value) in &pod.metadata.annotations {
        if key.starts_with(PREFIX)
            && !(value.is_empty() || value == "runtime/default" || value.starts_with("localhost/"))
        {
            sink.found(
                ID,
                Level::Baseline,
                || format!("metadata.annotations[{key}]"),
                || format!("annotation {key}={value:?} is a forbidden AppArmor profile"),
            );
        }
    }
}

const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    for (path, c) in pod.all_containers() {
        let Some(caps) = security_context(c).and_then(|sc| sc.capabilities.as_ref()) else {
            continue;
        };
        for (i, cap) in caps.add.iter().enumerate() {
            if !BASELINE_CAPABILITIES.contains(&cap.as_str()) {
                sink.found(
                    "capabilities_baseline",
                    Level::Baseline,
                    || path.field(&format!("securityContext.capabilities.add[{i}]")),
                    || {
                        format!(
                            "container {:?} must not include {cap:?} in securityContext.capabilities.add",
                            c.name
                        )
                    },
                );
            }
        }
    }
}

fn host_namespaces<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    for (set, field) in [
        (pod.spec.host_network, "hostNetwork"),
        (pod.spec.host_pid, "hostPID"),
        (pod.spec.host_ipc, "hostIPC"),
    ] {
        if set {
            sink.found(
                "hostNamespaces",
                Level::Baseline,
                || format!("spec.{field}"),
                || format!("pod must not set {field}=true"),
            );
        }
    }
}

fn host_path_volumes<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    for (i, volume) in pod.spec.volumes.iter().enumerate() {
        if volume.host_path.is_some() {
            sink.found(
                "hostPathVolumes",
                Level::Baseline,
                || format!("spec.volumes[{i}].hostPath"),
                || format!("volume {:?} must not use hostPath", volume.name),
            );
        }
    }
}

fn host_ports<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    for (path, c) in pod.all_containers() {
        for (i, port) in c.ports.iter().enumerate() {
            if port.host_port != 0 {
                sink.found(
                    "hostPorts",
                    Level::Baseline,
                    || path.field(&format!("ports[{i}].hostPort")),
                    || {
                        format!(
                            "container {:?} must not use hostPort {}",
                            c.name, port.host_port
                        )
                    },
                );
            }
        }
    }
}

/// v1.34+: probes and lifecycle handlers may not name a host (the kubelet would connect to
/// it, not to the pod).
fn host_probes_and_host_lifecycle<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    fn handler<S: Sink>(
        sink: &mut S,
        path: ContainerPath,
        c: &Container,
        name: &str,
        handler: Option<&Probe>,
    ) {
        let Some(handler) = handler else { return };
        for (kind, h) in [
            ("httpGet", handler.http_get.as_ref()),
            ("tcpSocket", handler.tcp_socket.as_ref()),
        ] {
            if let Some(h) = h
                && !h.host.is_empty()
            {
                sink.found(
                    "hostProbesAndHostLifecycle",
                    Level::Baseline,
                    || path.field(&format!("{name}.{kind}.host")),
                    || {
                        format!(
                            "container {:?} must not set {name}.{kind}.host={:?}",
                            c.name, h.host
                        )
                    },
                );
            }
        }
    }
    for (path, c) in pod.all_containers() {
        handler(sink, path, c, "livenessProbe", c.liveness_probe.as_ref());
        handler(sink, path, c, "readinessProbe", c.readiness_probe.as_ref());
        handler(sink, path, c, "startupProbe", c.startup_probe.as_ref());
        if let Some(lifecycle) = &c.lifecycle {
            handler(
                sink,
                path,
                c,
                "lifecycle.postStart",
                lifecycle.post_start.as_ref(),
            );
            handler(
                sink,
                path,
                c,
                "lifecycle.preStop",
                lifecycle.pre_stop.as_ref(),
            );
        }
    }
}

fn privileged<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    for (path, c) in pod.all_containers() {
        if security_context(c).and_then(|sc| sc.privileged) == Some(true) {
            sink.found(
                "privileged",
                Level::Baseline,
                || path.field("securityContext.privileged"),
                || {
                    format!(
                        "container {:?} must not set securityContext.privileged=true",
                        c.name
                    )
                },
            );
        }
    }
}

/// PSA's procMount_1_0: only unset or `Default`.
fn proc_mount_unmasked<S: Sink>(pod: &PodInput, id: &'static str, level: Level, sink: &mut S) {
    for (path, c) in pod.all_containers() {
        if let Some(proc_mount) = security_context(c).and_then(|sc| sc.proc_mount.as_ref())
            && proc_mount != "Default"
        {
            sink.found(
                id,
                level,
                || path.field("securityContext.procMount"),
                || {
                    format!(
                        "container {:?} must not set securityContext.procMount to {proc_mount:?}",
                        c.name
                    )
                },
            );
        }
    }
}

fn proc_mount_baseline<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    if minor >= 35 && in_user_namespace(pod) {
        return;
    }
    proc_mount_unmasked(pod, "procMount", Level::Baseline, sink);
}

fn se_linux_options<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    const ID: &str = "seLinuxOptions";
    let type_allowed = |t: &str| {
        matches!(
            t,
            "" | "container_t" | "container_init_t" | "container_kvm_t"
        ) || (minor >= 31 && t == "container_engine_t")
    };
    let visit = |sink: &mut S,
                 setter: &dyn Fn() -> String,
                 prefix: &dyn Fn(&str) -> String,
                 options: &SeLinuxOptions| {
        if !type_allowed(&options.r#type) {
            sink.found(
                ID,
                Level::Baseline,
                || prefix("type"),
                || {
                    format!(
                        "{} must not set securityContext.seLinuxOptions.type to {:?}",
                        setter(),
                        options.r#type
                    )
                },
            );
        }
        for (field, value) in [("user", &options.user), ("role", &options.role)] {
            if !value.is_empty() {
                sink.found(
                    ID,
                    Level::Baseline,
                    || prefix(field),
                    || {
                        format!(
                            "{} must not set securityContext.seLinuxOptions.{field}",
                            setter()
                        )
                    },
                );
            }
        }
    };
    if let Some(options) = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.se_linux_options.as_ref())
    {
        visit(
            sink,
            &|| "pod".to_string(),
            &|field| format!("spec.securityContext.seLinuxOptions.{field}"),
            options,
        );
    }
    for (path, c) in pod.all_containers() {
        if let Some(options) = security_context(c).and_then(|sc| sc.se_linux_options.as_ref()) {
            visit(
                sink,
                &|| format!("container {:?}", c.name),
                &|field| path.field(&format!("securityContext.seLinuxOptions.{field}")),
                options,
            );
        }
    }
}

fn valid_seccomp(t: &str) -> bool {
    t == "RuntimeDefault" || t == "Localhost"
}

fn seccomp_profile_baseline<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    const ID: &str = "seccompProfile_baseline";
    if minor < 19 {
        return seccomp_annotations(pod, sink);
    }
    if let Some(profile) = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref())
        && !valid_seccomp(&profile.r#type)
    {
        sink.found(
            ID,
            Level::Baseline,
            || "spec.securityContext.seccompProfile.type".to_string(),
            || {
                format!(
                    "pod must not set securityContext.seccompProfile.type to {:?}",
                    profile.r#type
                )
            },
        );
    }
    for (path, c) in pod.all_containers() {
        if let Some(profile) = security_context(c).and_then(|sc| sc.seccomp_profile.as_ref())
            && !valid_seccomp(&profile.r#type)
        {
            sink.found(
                ID,
                Level::Baseline,
                || path.field("securityContext.seccompProfile.type"),
                || {
                    format!(
                        "container {:?} must not set securityContext.seccompProfile.type to {:?}",
                        c.name, profile.r#type
                    )
                },
            );
        }
    }
}

/// Policy versions before v1.19 read the alpha seccomp annotations instead of the fields.
fn seccomp_annotations<S: Sink>(pod: &PodInput, sink: &mut S) {
    const POD_KEY: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let annotation = |sink: &mut S, key: &str| {
        if let Some(value) = pod.metadata.annotations.get(key)
            && !valid(value)
        {
            sink.found(
                "seccompProfile_baseline",
                Level::Baseline,
                || format!("metadata.annotations[{key}]"),
                || format!("annotation {key}={value:?} is a forbidden seccomp profile"),
            );
        }
    };
    annotation(sink, POD_KEY);
    for (_, c) in pod.all_containers() {
        // Building the key allocates, but only for pre-1.19 policies.
        let key = format!("{CONTAINER_PREFIX}{}", c.name);
        annotation(sink, &key);
    }
}

/// The sysctls PSA allows, with the policy version that first allows each.
fn sysctl_allowed(name: &str, minor: u32) -> bool {
    let since = match name {
        "kernel.shm_rmid_forced"
        | "net.ipv4.ip_local_port_range"
        | "net.ipv4.tcp_syncookies"
        | "net.ipv4.ping_group_range"
        | "net.ipv4.ip_unprivileged_port_start" => 0,
        "net.ipv4.ip_local_reserved_ports" => 27,
        "net.ipv4.tcp_keepalive_time"
        | "net.ipv4.tcp_fin_timeout"
        | "net.ipv4.tcp_keepalive_intvl"
        | "net.ipv4.tcp_keepalive_probes" => 29,
        "net.ipv4.tcp_rmem" | "net.ipv4.tcp_wmem" => 32,
        "net.ipv4.tcp_slow_start_after_idle" | "net.ipv4.tcp_notsent_lowat" => 37,
        _ => return false,
    };
    minor >= since
}

fn sysctls<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    let Some(sc) = &pod.spec.security_context else {
        return;
    };
    for (i, sysctl) in sc.sysctls.iter().enumerate() {
        if !sysctl_allowed(&sysctl.name, minor) {
            sink.found(
                "sysctls",
                Level::Baseline,
                || format!("spec.securityContext.sysctls[{i}].name"),
                || format!("pod must not set sysctl {:?}", sysctl.name),
            );
        }
    }
}

fn windows_host_process<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    const ID: &str = "windowsHostProcess";
    if pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true)
    {
        sink.found(
            ID,
            Level::Baseline,
            || "spec.securityContext.windowsOptions.hostProcess".to_string(),
            || "pod must not set securityContext.windowsOptions.hostProcess=true".to_string(),
        );
    }
    for (path, c) in pod.all_containers() {
        if security_context(c)
            .and_then(|sc| sc.windows_options.as_ref())
            .and_then(|w| w.host_process)
            == Some(true)
        {
            sink.found(
                ID,
                Level::Baseline,
                || path.field("securityContext.windowsOptions.hostProcess"),
                || {
                    format!(
                        "container {:?} must not set securityContext.windowsOptions.hostProcess=true",
                        c.name
                    )
                },
            );
        }
    }
}

// ---- restricted ----

fn allow_privilege_escalation<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    // From v1.25 Windows pods are exempt: API validation forbids the field for them.
    if minor >= 25 && pod.is_windows() {
        return;
    }
    for (path, c) in pod.all_containers() {
        if security_context(c).and_then(|sc| sc.allow_privilege_escalation) != Some(false) {
            sink.found(
                "allowPrivilegeEscalation",
                Level::Restricted,
                || path.field("securityContext.allowPrivilegeEscalation"),
                || {
                    format!(
                        "container {:?} must set securityContext.allowPrivilegeEscalation=false",
                        c.name
                    )
                },
            );
        }
    }
}

fn capabilities_restricted<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    const ID: &str = "capabilities_restricted";
    if minor >= 25 && pod.is_windows() {
        return;
    }
    for (path, c) in pod.all_containers() {
        let caps = security_context(c).and_then(|sc| sc.capabilities.as_ref());
        if !caps.is_some_and(|caps| caps.drop.iter().any(|d| d == "ALL")) {
            sink.found(
                ID,
                Level::Restricted,
                || path.field("securityContext.capabilities.drop"),
                || {
                    format!(
                        "container {:?} must set securityContext.capabilities.drop=[\"ALL\"]",
                        c.name
                    )
                },
            );
        }
        for (i, cap) in caps.iter().flat_map(|caps| caps.add.iter()).enumerate() {
            if cap != "NET_BIND_SERVICE" {
                sink.found(
                    ID,
                    Level::Restricted,
                    || path.field(&format!("securityContext.capabilities.add[{i}]")),
                    || {
                        format!(
                            "container {:?} must not include {cap:?} in securityContext.capabilities.add",
                            c.name
                        )
                    },
                );
            }
        }
    }
}

/// v1.35+: the unconditional procMount check, where baseline relaxed it for user namespaces.
fn proc_mount_restricted<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    proc_mount_unmasked(pod, "procMount_restricted", Level::Restricted, sink);
}

/// The inline volume sources restricted allows; `hostPath` is reported here too, in place of
/// the baseline `hostPathVolumes`.
const RESTRICTED_VOLUME_SOURCES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn restricted_volumes<S: Sink>(pod: &PodInput, _: u32, sink: &mut S) {
    for (i, volume) in pod.spec.volumes.iter().enumerate() {
        let source: &str = &volume.source;
        // A volume without a source is an emptyDir: the API server defaults it so
        // (SetDefaults_Volume) before admission, and PSA's fixtures pass it as "implicit
        // empty dir".
        if source.is_empty() || RESTRICTED_VOLUME_SOURCES.contains(&source) {
            continue;
        }
        sink.found(
            "restrictedVolumes",
            Level::Restricted,
            || format!("spec.volumes[{i}].{source}"),
            || {
                format!(
                    "volume {:?} uses restricted volume type {source:?}",
                    volume.name
                )
            },
        );
    }
}

fn run_as_non_root<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    const ID: &str = "runAsNonRoot";
    if minor >= 35 && in_user_namespace(pod) {
        return;
    }
    let pod_value = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_non_root);
    if pod_value == Some(false) {
        sink.found(
            ID,
            Level::Restricted,
            || "spec.securityContext.runAsNonRoot".to_string(),
            || "pod must not set securityContext.runAsNonRoot=false".to_string(),
        );
    }
    for (path, c) in pod.all_containers() {
        match security_context(c).and_then(|sc| sc.run_as_non_root) {
            Some(true) => {}
            Some(false) => sink.found(
                ID,
                Level::Restricted,
                || path.field("securityContext.runAsNonRoot"),
                || {
                    format!(
                        "container {:?} must not set securityContext.runAsNonRoot=false",
                        c.name
                    )
                },
            ),
            // Unset is allowed only under a pod-level `true`.
            None if pod_value != Some(true) => sink.found(
                ID,
                Level::Restricted,
                || path.field("securityContext.runAsNonRoot"),
                || {
                    format!(
                        "pod or container {:?} must set securityContext.runAsNonRoot=true",
                        c.name
                    )
                },
            ),
            None => {}
        }
    }
}

fn run_as_user<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    const ID: &str = "runAsUser";
    if minor >= 35 && in_user_namespace(pod) {
        return;
    }
    if pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_user)
        == Some(0)
    {
        sink.found(
            ID,
            Level::Restricted,
            || "spec.securityContext.runAsUser".to_string(),
            || "pod must not set runAsUser=0".to_string(),
        );
    }
    for (path, c) in pod.all_containers() {
        if security_context(c).and_then(|sc| sc.run_as_user) == Some(0) {
            sink.found(
                ID,
                Level::Restricted,
                || path.field("securityContext.runAsUser"),
                || format!("container {:?} must not set runAsUser=0", c.name),
            );
        }
    }
}

fn seccomp_profile_restricted<S: Sink>(pod: &PodInput, minor: u32, sink: &mut S) {
    const ID: &str = "seccompProfile_restricted";
    if minor >= 25 && pod.is_windows() {
        return;
    }
    let mut pod_set = false;
    if let Some(profile) = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref())
    {
        if valid_seccomp(&profile.r#type) {
            pod_set = true;
        } else {
            sink.found(
                ID,
                Level::Restricted,
                || "spec.securityContext.seccompProfile.type".to_string(),
                || {
                    format!(
                        "pod must not set securityContext.seccompProfile.type to {:?}",
                        profile.r#type
                    )
                },
            );
        }
    }
    for (path, c) in pod.all_containers() {
        match security_context(c).and_then(|sc| sc.seccomp_profile.as_ref()) {
            Some(profile) if !valid_seccomp(&profile.r#type) => sink.found(
                ID,
                Level::Restricted,
                || path.field("securityContext.seccompProfile.type"),
                || {
                    format!(
                        "container {:?} must not set securityContext.seccompProfile.type to {:?}",
                        c.name, profile.r#type
                    )
                },
            ),
            Some(_) => {}
            // Unset is allowed only under a valid pod-level profile.
            None if !pod_set => sink.found(
                ID,
                Level::Restricted,
                || path.field("securityContext.seccompProfile.type"),
                || {
                    format!(
                        "pod or container {:?} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                        c.name
                    )
                },
            ),
            None => {}
        }
    }
}
