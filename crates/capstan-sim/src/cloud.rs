//! The fake cloud behind each simulated cluster: the provider API that upgrades the control
//! plane, adds machines to node pools and terminates them, with the node lifecycle durations
//! of the reference table (provisioning 5-15 min, joining 2-5 min, termination 1-2 min).
//!
//! HTTP, under `/clusters/{name}/cloud/v1` (same bearer token as the cluster):
//! - `GET    /`                              control plane, pools, machines, the twin's
//!   simulated time (`now`) and its `timeScale`
//! - `GET    /versions`                      versions this provider offers
//! - `POST   /control-plane/upgrade`         `{"version": "1.32"}` (one minor at a time)
//! - `POST   /node-pools/{pool}/nodes`       `{"count": 1, "version": "1.32.3"}` -> machine names
//! - `DELETE /nodes/{name}`                  terminate a machine (its Node goes away)

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use capstan_core::version::KubeVersion;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::api::{Req, value_response};
use crate::cluster::{Action, Cluster, ClusterData, keys};
use crate::error::{ApiError, ApiResult};
use crate::fleet::ClusterSpec;
use crate::objects::rfc3339;
use crate::store::ObjKey;
use crate::twin::Twin;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachinePhase {
    Provisioning,
    Joining,
    Running,
    Terminating,
}

impl MachinePhase {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Provisioning => "Provisioning",
            Self::Joining => "Joining",
            Self::Running => "Running",
            Self::Terminating => "Terminating",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Machine {
    pub name: String,
    pub pool: String,
    pub version: String,
    pub phase: MachinePhase,
    /// Each phase and when it began.
    pub history: Vec<(MachinePhase, Timestamp)>,
}

#[derive(Debug, Clone)]
pub struct ControlPlaneUpgrade {
    pub from: String,
    pub to: String,
    pub started: Timestamp,
    pub done_at: Timestamp,
    pub will_fail: bool,
}

#[derive(Debug, Clone)]
pub struct CloudState {
    pub control_plane_version: String,
    pub upgrade: Option<ControlPlaneUpgrade>,
    pub last_upgrade: Option<Value>,
    /// Machines the cloud created or terminated in this run (generated nodes are Running and
    /// appear here once touched).
    pub machines: BTreeMap<String, Machine>,
}

impl CloudState {
    pub fn from_spec(spec: &ClusterSpec) -> Self {
        Self {
            control_plane_version: spec.version.clone(),
            upgrade: None,
            last_upgrade: None,
            machines: BTreeMap::new(),
        }
    }
}

/// The newest patch the provider offers for each minor (a stable, fictional catalogue).
pub fn offered_versions() -> Vec<String> {
    (27..=35)
        .flat_map(|minor| (0..=((minor * 7) % 9 + 2)).map(move |p| format!("1.{minor}.{p}")))
        .collect()
}

/// Resolve `1.32` to the newest offered 1.32.x, or check that `1.32.4` is offered.
pub fn resolve_version(requested: &str) -> Result<String, String> {
    let v = KubeVersion::parse(requested).map_err(|e| e.to_string())?;
    let offered = offered_versions();
    let matching: Vec<KubeVersion> = offered
        .iter()
        .filter_map(|o| KubeVersion::parse(o).ok())
        .filter(|o| {
            o.major == v.major && o.minor == v.minor && (v.patch.is_none() || o.patch == v.patch)
        })
        .collect();
    matching
        .into_iter()
        .max()
        .map(|v| v.to_string())
        .ok_or_else(|| format!("version {requested} is not offered by this provider"))
}

fn minutes(data: &mut ClusterData, lo: u64, hi: u64) -> SignedDuration {
    SignedDuration::from_secs(data.rng.range_inclusive(lo * 60, hi * 60) as i64)
}

fn set_phase(m: &mut Machine, phase: MachinePhase, now: Timestamp) {
    m.phase = phase;
    m.history.push((phase, now));
}

/// Start a control-plane upgrade (one minor at a time; never a downgrade).
pub fn upgrade_control_plane(
    data: &mut ClusterData,
    version: &str,
    now: Timestamp,
) -> ApiResult<Value> {
    let invalid = |msg: String| {
        ApiError::invalid(
            "ControlPlaneUpgrade",
            "cloud",
            &data.spec.name,
            &[("version".into(), msg)],
        )
    };
    if data.upgrade_in_progress() {
        return Err(ApiError::conflict(
            "cloud",
            "controlplanes",
            &data.spec.name,
            "an upgrade is already in progress",
        ));
    }
    let target = resolve_version(version).map_err(invalid)?;
    let current = KubeVersion::parse(&data.cloud.control_plane_version)
        .map_err(|e| invalid(e.to_string()))?;
    let to = KubeVersion::parse(&target).map_err(|e| invalid(e.to_string()))?;
    if to < current {
        return Err(invalid(format!(
            "Invalid value: \"{target}\": downgrades are not supported (current {current})"
        )));
    }
    if current.minor_distance(&to) > 1 {
        return Err(invalid(format!(
            "Invalid value: \"{target}\": the control plane upgrades one minor version at a time (current {current})"
        )));
    }
    let duration = minutes(data, 8, 15);
    let will_fail = std::mem::take(&mut data.faults.fail_next_upgrade);
    data.cloud.upgrade = Some(ControlPlaneUpgrade {
        from: current.to_string(),
        to: target.clone(),
        started: now,
        done_at: now + duration,
        will_fail,
    });
    data.schedule(now + duration, Action::ControlPlaneUpgraded);
    Ok(describe(data))
}

impl ClusterData {
    pub fn upgrade_in_progress(&self) -> bool {
        self.cloud.upgrade.is_some()
    }
}

/// Order machines into a pool at a kubelet version (defaults to the control plane's).
pub fn add_nodes(
    data: &mut ClusterData,
    pool: &str,
    count: u32,
    version: Option<&str>,
    now: Timestamp,
) -> ApiResult<Vec<String>> {
    let Some(pool_spec) = data
        .spec
        .node_pools
        .iter()
        .find(|p| p.name == pool)
        .cloned()
    else {
        return Err(ApiError::not_found("cloud", "nodepools", pool));
    };
    let cp = KubeVersion::parse(&data.cloud.control_plane_version)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let version = match version {
        Some(v) => resolve_version(v)
            .map_err(|m| ApiError::invalid("Machine", "cloud", pool, &[("version".into(), m)]))?,
        None => cp.to_string(),
    };
    let kv = KubeVersion::parse(&version).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if kv.minor_version() > cp.minor_version() {
        return Err(ApiError::invalid(
            "Machine",
            "cloud",
            pool,
            &[(
                "version".into(),
                format!(
                    "Invalid value: \"{version}\": a kubelet must not be newer than the control plane ({cp})"
                ),
            )],
        ));
    }
    if !(1..=500).contains(&count) {
        return Err(ApiError::invalid(
            "Machine",
            "cloud",
            pool,
            &[(
                "count".into(),
                format!("Invalid value: {count}: must be between 1 and 500"),
            )],
        ));
    }
    let mut names = Vec::new();
    for _ in 0..count {
        let name = format!(
            "{}-{}-{}",
            data.spec
                .name
                .chars()
                .take(20)
                .collect::<String>()
                .trim_end_matches('-'),
            pool_spec.name,
            data.rng.name_suffix(5)
        );
        let delay = minutes(data, 5, 15);
        data.cloud.machines.insert(
            name.clone(),
            Machine {
                name: name.clone(),
                pool: pool.to_string(),
                version: version.clone(),
                phase: MachinePhase::Provisioning,
                history: vec![(MachinePhase::Provisioning, now)],
            },
        );
        data.schedule(
            now + delay,
            Action::MachineJoined {
                machine: name.clone(),
            },
        );
        names.push(name);
    }
    Ok(names)
}

/// Terminate the machine behind a node.
pub fn terminate(data: &mut ClusterData, node: &str, now: Timestamp) -> ApiResult<Value> {
    let exists = data.get(&keys::NODES, &ObjKey::cluster(node)).is_some()
        || data.cloud.machines.contains_key(node);
    if !exists {
        return Err(ApiError::not_found("", "nodes", node));
    }
    let pool = data
        .get(&keys::NODES, &ObjKey::cluster(node))
        .and_then(|n| {
            n.labels
                .iter()
                .find(|(k, _)| *k == "capstan.io/node-pool")
                .map(|(_, v)| v.to_string())
        })
        .unwrap_or_default();
    let delay = minutes(data, 1, 2);
    let m = data
        .cloud
        .machines
        .entry(node.to_string())
        .or_insert_with(|| Machine {
            name: node.to_string(),
            pool,
            version: String::new(),
            phase: MachinePhase::Running,
            history: vec![],
        });
    if m.phase == MachinePhase::Terminating {
        return Ok(machine_json(m));
    }
    set_phase(m, MachinePhase::Terminating, now);
    let out = machine_json(m);
    data.schedule(
        now + delay,
        Action::MachineTerminated {
            machine: node.to_string(),
        },
    );
    Ok(out)
}

/// Carry out a cloud timer.
pub fn perform(data: &mut ClusterData, action: Action, now: Timestamp) {
    match action {
        Action::MachineJoined { machine } => {
            let Some(m) = data.cloud.machines.get(&machine).cloned() else {
                return;
            };
            if m.phase != MachinePhase::Provisioning {
                return;
            }
            let Some(pool) = data
                .spec
                .node_pools
                .iter()
                .find(|p| p.name == m.pool)
                .cloned()
            else {
                return;
            };
            let zone = pool
                .zones
                .first()
                .cloned()
                .unwrap_or_else(|| format!("{}a", data.spec.region));
            let ip_seed = data.rng.next_u64();
            let params = crate::objects::NodeParams {
                name: machine.clone(),
                pool: pool.name.clone(),
                instance_type: pool.instance_type.clone(),
                capacity_type: pool.capacity_type,
                provider: data.spec.provider.clone(),
                region: data.spec.region.clone(),
                zone,
                kubelet_version: crate::objects::provider_kubelet_version(
                    &data.spec.provider,
                    &m.version,
                ),
                cpu_millis: crate::objects::cpu_millis(&pool.cpu).unwrap_or(4000),
                memory_bytes: crate::objects::memory_bytes(&pool.memory).unwrap_or(16 << 30),
                max_pods: pool.max_pods,
                internal_ip: format!(
                    "10.{}.{}.{}",
                    ip_seed % 64,
                    (ip_seed >> 8) % 256,
                    (ip_seed >> 16) % 254 + 1
                ),
                created: now,
                ready: false,
            };
            let node = crate::objects::node(&params, &mut data.rng);
            let uid = node
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            data.put(&keys::NODES, ObjKey::cluster(&machine), node);
            let lease = crate::objects::node_lease(&machine, &uid, now, &mut data.rng);
            data.put(
                &keys::LEASES,
                ObjKey::new("kube-node-lease", &machine),
                lease,
            );
            if let Some(m) = data.cloud.machines.get_mut(&machine) {
                set_phase(m, MachinePhase::Joining, now);
            }
            let delay = minutes(data, 2, 5);
            data.schedule(now + delay, Action::NodeReady { node: machine });
        }
        Action::NodeReady { node } => {
            let key = ObjKey::cluster(&node);
            if let Some(obj) = data.get(&keys::NODES, &key) {
                let mut v = obj.value();
                crate::objects::set_node_ready(&mut v, true, now);
                data.put(&keys::NODES, key, v);
            }
            if let Some(m) = data.cloud.machines.get_mut(&node) {
                set_phase(m, MachinePhase::Running, now);
            }
        }
        Action::MachineTerminated { machine } => {
            data.remove(&keys::NODES, &ObjKey::cluster(&machine));
            data.remove(&keys::LEASES, &ObjKey::new("kube-node-lease", &machine));
            data.cloud.machines.remove(&machine);
        }
        Action::ControlPlaneUpgraded => {
            let Some(up) = data.cloud.upgrade.take() else {
                return;
            };
            let outcome = if up.will_fail {
                json!({"from": up.from, "to": up.to, "startedAt": rfc3339(up.started), "finishedAt": rfc3339(now), "result": "Failed",
                       "message": format!("control plane upgrade to {} failed: injected fault (the control plane stays at {})", up.to, up.from)})
            } else {
                data.cloud.control_plane_version = up.to.clone();
                json!({"from": up.from, "to": up.to, "startedAt": rfc3339(up.started), "finishedAt": rfc3339(now), "result": "Succeeded"})
            };
            data.cloud.last_upgrade = Some(outcome);
        }
        _ => {}
    }
}

fn machine_json(m: &Machine) -> Value {
    json!({
        "name": m.name,
        "pool": m.pool,
        "version": m.version,
        "phase": m.phase.as_str(),
        "phases": m.history.iter().map(|(p, t)| json!({"phase": p.as_str(), "since": rfc3339(*t)})).collect::<Vec<_>>(),
    })
}

fn describe(data: &ClusterData) -> Value {
    json!({
        "cluster": data.spec.name,
        "provider": data.spec.provider,
        "region": data.spec.region,
        "controlPlane": {
            "version": data.cloud.control_plane_version,
            "upgrading": data.cloud.upgrade.as_ref().map(|u| json!({"from": u.from, "to": u.to, "startedAt": rfc3339(u.started), "expectedDoneAt": rfc3339(u.done_at)})),
            "lastUpgrade": data.cloud.last_upgrade,
        },
        "nodePools": data.spec.node_pools.iter().map(|p| json!({"name": p.name, "instanceType": p.instance_type, "capacityType": p.capacity_type, "nodes": data.store.range(&keys::NODES, "").filter(|n| n.labels.iter().any(|(k, v)| k == "capstan.io/node-pool" && v == p.name)).count()})).collect::<Vec<_>>(),
        "machines": data.cloud.machines.values().map(machine_json).collect::<Vec<_>>(),
    })
}

pub(crate) fn http(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    parts: &[&str],
    req: Req,
) -> ApiResult<Response> {
    let now = twin.now();
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    twin.write(cluster, |data| match (&req.method, parts) {
        (&Method::GET, []) => {
            // The twin's simulated time, so that a provider can keep a clock in step with it.
            let mut v = describe(data);
            v["now"] = json!(now.to_string());
            v["timeScale"] = json!(twin.clock.scale());
            Ok((StatusCode::OK, v))
        }
        (&Method::GET, ["versions"]) => {
            Ok((StatusCode::OK, json!({"versions": offered_versions()})))
        }
        (&Method::POST, ["control-plane", "upgrade"]) => {
            let version = body.get("version").and_then(Value::as_str).ok_or_else(|| {
                ApiError::invalid(
                    "ControlPlaneUpgrade",
                    "cloud",
                    &cluster.name,
                    &[("version".into(), "Required value".into())],
                )
            })?;
            upgrade_control_plane(data, version, now).map(|v| (StatusCode::ACCEPTED, v))
        }
        (&Method::POST, ["node-pools", pool, "nodes"]) => {
            let count = body.get("count").and_then(Value::as_u64).unwrap_or(1) as u32;
            let version = body.get("version").and_then(Value::as_str);
            add_nodes(data, pool, count, version, now)
                .map(|names| (StatusCode::ACCEPTED, json!({"machines": names})))
        }
        (&Method::DELETE, ["nodes", node]) => {
            terminate(data, node, now).map(|v| (StatusCode::ACCEPTED, v))
        }
        _ => Err(ApiError::path_not_found()),
    })
    .map(|(code, v)| value_response(code, &v))
}
