//! Pod Security fields of application templates, in the mixture real clusters show: the
//! templates the generic builder hardened pass `restricted`; of the rest, half are hardened
//! all but one field (each a restricted check failing alone, baseline still passing) and
//! half carry no securityContext at all; a few violate baseline, only where the namespace's
//! enforce level admits them (pod-security-admission rejects them elsewhere), except the
//! one "grandfathered" workload of a namespace whose enforce label was raised after its pods
//! were admitted (PSA checks pods at admission and never evicts running ones).

use capstan_core::rng::SimRng;
use serde_json::{Value, json};

use super::posture::NsPosture;

/// A baseline violation, as pod-security-admission names its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaselineViolation {
    Privileged,
    HostPid,
    HostPath,
    HostPort,
    CapNetAdmin,
    CapSysAdmin,
    UnsafeSysctl,
}

/// What decorating one template did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PssOutcome {
    pub(crate) violation: Option<BaselineViolation>,
    pub(crate) grandfathered: bool,
}

fn containers_mut(t: &mut Value) -> impl Iterator<Item = &mut Value> {
    t.pointer_mut("/spec/containers")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn is_hardened(t: &Value) -> bool {
    t.pointer("/spec/securityContext/seccompProfile").is_some()
}

/// Hardened except for one restricted requirement, chosen at random.
fn almost_restricted(t: &mut Value, rng: &mut SimRng) {
    let missing = rng.range_inclusive(0, 3);
    let mut ctx = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true,
        "runAsUser": 10001,
    });
    if let Some(c) = ctx.as_object_mut() {
        match missing {
            1 => {
                c.remove("allowPrivilegeEscalation");
            }
            2 => {
                c.remove("runAsNonRoot");
                c.remove("runAsUser");
            }
            3 => {
                c.remove("capabilities");
            }
            _ => {}
        }
    }
    for c in containers_mut(t) {
        c["securityContext"] = ctx.clone();
    }
    // Missing piece 0 is the seccomp profile (the pod-level one restricted requires).
    if missing != 0 {
        t["spec"]["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
    }
}

/// Strip every security field (a template from before the namespace was hardened).
fn strip_security(t: &mut Value) {
    if let Some(spec) = t.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("securityContext");
    }
    for c in containers_mut(t) {
        if let Some(c) = c.as_object_mut() {
            c.remove("securityContext");
        }
    }
}

fn main_container(t: &mut Value) -> Option<&mut Value> {
    t.pointer_mut("/spec/containers/0")
}

/// Make the template violate baseline in one way. `single_replica` allows a hostPort
/// (two replicas on one node would clash on it).
pub(crate) fn violate_baseline(
    t: &mut Value,
    single_replica: bool,
    rng: &mut SimRng,
) -> BaselineViolation {
    use BaselineViolation::*;
    let choices: &[BaselineViolation] = if single_replica {
        &[
            Privileged,
            HostPid,
            HostPath,
            HostPort,
            CapNetAdmin,
            CapSysAdmin,
            UnsafeSysctl,
        ]
    } else {
        &[
            Privileged,
            HostPid,
            HostPath,
            CapNetAdmin,
            CapSysAdmin,
            UnsafeSysctl,
        ]
    };
    let v = *rng.pick(choices).unwrap_or(&Privileged);
    // The API server refuses allowPrivilegeEscalation=false beside privileged or
    // CAP_SYS_ADMIN (validation.ValidateSecurityContext), so the field goes.
    let drop_ape = |c: &mut Value| {
        if let Some(sc) = c.get_mut("securityContext").and_then(Value::as_object_mut) {
            sc.remove("allowPrivilegeEscalation");
        }
    };
    match v {
        Privileged => {
            if let Some(c) = main_container(t) {
                drop_ape(c);
                c["securityContext"]["privileged"] = json!(true);
            }
        }
        HostPid => t["spec"]["hostPID"] = json!(true),
        HostPath => {
            let vol =
                json!({"name": "host-proc", "hostPath": {"path": "/proc", "type": "Directory"}});
            match t["spec"]["volumes"].as_array_mut() {
                Some(vs) => vs.push(vol),
                None => t["spec"]["volumes"] = json!([vol]),
            }
            if let Some(c) = main_container(t) {
                let m = json!({"name": "host-proc", "mountPath": "/host/proc", "readOnly": true});
                match c["volumeMounts"].as_array_mut() {
                    Some(ms) => ms.push(m),
                    None => c["volumeMounts"] = json!([m]),
                }
            }
        }
        HostPort => {
            if let Some(p) = t.pointer_mut("/spec/containers/0/ports/0") {
                let port = p["containerPort"].clone();
                p["hostPort"] = port;
            }
        }
        CapNetAdmin | CapSysAdmin => {
            let cap = if v == CapNetAdmin {
                "NET_ADMIN"
            } else {
                "SYS_ADMIN"
            };
            if let Some(c) = main_container(t) {
                drop_ape(c);
                c["securityContext"]["capabilities"]["add"] = json!([cap]);
            }
        }
        UnsafeSysctl => {
            t["spec"]["securityContext"]["sysctls"] =
                json!([{"name": "net.core.somaxconn", "value": "4096"}]);
        }
    }
    v
}

/// Decorate an application template with its Pod Security fields for namespace `ns`.
/// `grandfather` asks for the namespace's grandfathered violation in this template.
pub(crate) fn decorate(
    t: &mut Value,
    ns: Option<&NsPosture>,
    single_replica: bool,
    grandfather: bool,
    rng: &mut SimRng,
) -> PssOutcome {
    let mut out = PssOutcome::default();
    if !is_hardened(t) && rng.chance(0.5) {
        almost_restricted(t, rng);
    }
    let Some(ns) = ns else { return out };
    if grandfather {
        out.grandfathered = true;
        if ns.enforce == Some("restricted") {
            strip_security(t);
        } else {
            out.violation = Some(violate_baseline(t, single_replica, rng));
        }
        return out;
    }
    if ns.violations_allowed && rng.chance(ns.violation_rate) {
        out.violation = Some(violate_baseline(t, single_replica, rng));
    }
    out
}
