//! Builders for Kubernetes objects as `serde_json::Value`, shaped as kube-apiserver returns
//! them after defaulting and admission: what kubectl and kube-rs see.
//!
//! Shared by the fleet generator and the twin's simulated controllers, so the contract is:
//! - every builder sets `apiVersion`, `kind`, `metadata.uid`, `metadata.creationTimestamp`
//!   (RFC 3339, whole seconds, `Z`) and `metadata.generation` where upstream sets it;
//! - no builder sets `metadata.resourceVersion` (the store assigns it) or `managedFields`;
//! - time always comes from a `now: jiff::Timestamp` argument and randomness from a
//!   `&mut SimRng`, so the same inputs give the same object;
//! - the `set_*` functions mutate an object in place the way the owning controller or kubelet
//!   would, touching only the fields that component owns.
//!
//! Quantities are parsed and printed by small local helpers ([`cpu_millis`],
//! [`memory_bytes`], [`format_cpu`], [`format_memory`]) until `capstan_core::quantity` lands.

use capstan_core::rng::{SimRng, fnv1a};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::fleet::CapacityType;

// ---------------------------------------------------------------------------------------------
// Time and quantities
// ---------------------------------------------------------------------------------------------

/// RFC 3339 with whole seconds and `Z`, as `metadata.creationTimestamp` is written.
/// Hand-rolled because the generator formats millions of these.
pub fn rfc3339(ts: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = civil(ts.as_second());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// RFC 3339 with microseconds (`MicroTime`), as Lease `renewTime` is written.
pub fn rfc3339_micros(ts: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = civil(ts.as_second());
    let us = ts.subsec_microsecond().max(0);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z")
}

/// Civil date and time of a Unix second (Howard Hinnant's days-to-civil).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3_600) as u32,
        (rem % 3_600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `ts` moved back by `secs` (saturating at the earliest representable time).
pub fn seconds_before(ts: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(ts.as_second().saturating_sub(secs)).unwrap_or(ts)
}

/// A quantity in thousandths ("250m" → 250, "2" → 2000, "1Ki" → 1024000), rounded up as
/// the API server rounds sub-milli values.
fn quantity_millis(s: &str) -> Option<i128> {
    let s = s.trim();
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    let (neg, num) = match num.as_bytes().first() {
        Some(b'-') => (true, &num[1..]),
        Some(b'+') => (false, &num[1..]),
        _ => (false, num),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 18 || int.len() > 20 {
        return None;
    }
    let digits = format!("{int}{frac}");
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    let den = 10i128.pow(frac.len() as u32);
    // value = mantissa / den * mult; millis = value * 1000.
    let (mul, div): (i128, i128) = match suffix {
        "" => (1000, 1),
        "m" => (1, 1),
        "k" => (1_000_000, 1),
        "M" => (1_000_000_000, 1),
        "G" => (1_000_000_000_000, 1),
        "T" => (1_000_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1000 << 10, 1),
        "Mi" => (1000 << 20, 1),
        "Gi" => (1000 << 30, 1),
        "Ti" => (1000 << 40, 1),
        "Pi" => (1000 << 50, 1),
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().ok()?;
            if !(-18..=18).contains(&exp) {
                return None;
            }
            if exp >= 0 {
                (1000 * 10i128.pow(exp as u32), 1)
            } else {
                (1000, 10i128.pow((-exp) as u32))
            }
        }
        _ => return None,
    };
    let num = mantissa.checked_mul(mul)?;
    let den = den * div;
    let v = (num + den - 1) / den;
    Some(if neg { -v } else { v })
}

/// CPU quantity in millicores ("250m" → 250, "2" → 2000).
pub fn cpu_millis(q: &str) -> Option<i64> {
    quantity_millis(q).and_then(|m| i64::try_from(m).ok())
}

/// Memory quantity in bytes ("64Mi" → 67108864), rounded up to a whole byte.
pub fn memory_bytes(q: &str) -> Option<i64> {
    quantity_millis(q).and_then(|m| i64::try_from((m + 999).div_euclid(1000)).ok())
}

/// "250m", or whole cores as "2".
pub fn format_cpu(millis: i64) -> String {
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

/// The largest binary suffix that divides exactly: "2Gi", "64Mi", "1536Ki", or plain bytes.
pub fn format_memory(bytes: i64) -> String {
    for (shift, suffix) in [(30, "Gi"), (20, "Mi"), (10, "Ki")] {
        if bytes != 0 && bytes % (1 << shift) == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    format!("{bytes}")
}

// ---------------------------------------------------------------------------------------------
// Small shared pieces
// ---------------------------------------------------------------------------------------------

/// A reference to the controlling (or owning) object, as in `metadata.ownerReferences`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: bool,
}

impl OwnerRef {
    /// A controller reference to `obj` (read from its apiVersion, kind, name and uid).
    pub fn controller_of(obj: &Value) -> Option<OwnerRef> {
        Some(OwnerRef {
            api_version: obj.get("apiVersion")?.as_str()?.to_string(),
            kind: obj.get("kind")?.as_str()?.to_string(),
            name: obj.pointer("/metadata/name")?.as_str()?.to_string(),
            uid: obj.pointer("/metadata/uid")?.as_str()?.to_string(),
            controller: true,
        })
    }

    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
        });
        if self.controller {
            // Controllers always also set blockOwnerDeletion on what they create.
            v["controller"] = json!(true);
            v["blockOwnerDeletion"] = json!(true);
        }
        v
    }
}

fn meta(
    name: &str,
    namespace: Option<&str>,
    now: Timestamp,
    rng: &mut SimRng,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        m.insert("namespace".into(), json!(ns));
    }
    m.insert("uid".into(), json!(rng.uuid()));
    m.insert("creationTimestamp".into(), json!(rfc3339(now)));
    m
}

fn labels_value(labels: &[(&str, &str)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect(),
    )
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    at_path(v, pointer).and_then(Value::as_str).unwrap_or("")
}

/// `Value::pointer` without its per-segment allocations (escapes `~0`/`~1` still honoured
/// through the slow path); the generator walks paths millions of times.
fn at_path<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.contains('~') {
        return v.pointer(pointer);
    }
    let mut cur = v;
    for seg in pointer.split('/').skip(1) {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Move `parts` into `v` under the given paths. `json!` re-serialises (deep-copies) any
/// `Value` interpolated into it; big pieces such as templates and specs go in through here.
fn with(mut v: Value, parts: Vec<(&[&str], Value)>) -> Value {
    for (path, part) in parts {
        let mut cur = &mut v;
        for seg in path {
            cur = &mut cur[*seg];
        }
        *cur = part;
    }
    v
}

/// Lower-case hex of `n` 64-bit draws: container and instance ids.
fn hex_from(mut seed: u64, chars: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(chars);
    while out.len() < chars {
        // SplitMix64 step: ids derived from a hash must still look uniformly random.
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        for i in (0..16).rev() {
            if out.len() == chars {
                break;
            }
            out.push(HEX[((z >> (i * 4)) & 15) as usize] as char);
        }
    }
    out
}

fn rng_hex(rng: &mut SimRng, chars: usize) -> String {
    hex_from(rng.next_u64(), chars)
}

/// Upsert a condition by `type`; `lastTransitionTime` moves only when the status changes.
fn set_condition(
    conditions: &mut Vec<Value>,
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
    now: &str,
) {
    let existing = conditions
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_));
    let c = match existing {
        Some(c) => c,
        None => {
            conditions.push(json!({"type": type_, "status": "", "lastProbeTime": null}));
            conditions.last_mut().expect("just pushed")
        }
    };
    if c.get("status").and_then(Value::as_str) != Some(status) {
        c["status"] = json!(status);
        c["lastTransitionTime"] = json!(now);
    }
    match reason {
        Some(r) => c["reason"] = json!(r),
        None => {
            if let Some(o) = c.as_object_mut() {
                o.remove("reason");
            }
        }
    }
    match message {
        Some(m) => c["message"] = json!(m),
        None => {
            if let Some(o) = c.as_object_mut() {
                o.remove("message");
            }
        }
    }
}

fn conditions_mut<'a>(obj: &'a mut Value, status_field: &str) -> &'a mut Vec<Value> {
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if !obj["status"][status_field].is_array() {
        obj["status"][status_field] = json!([]);
    }
    obj["status"][status_field]
        .as_array_mut()
        .expect("just made an array")
}

// ---------------------------------------------------------------------------------------------
// Nodes and leases
// ---------------------------------------------------------------------------------------------

/// What the simulated cloud knows about a machine when its kubelet registers.
#[derive(Debug, Clone)]
pub struct NodeParams {
    pub name: String,
    pub pool: String,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    /// aws | gcp | azure | onprem
    pub provider: String,
    pub region: String,
    pub zone: String,
    /// "1.31.4" or "v1.31.4"; managed providers append their build suffix in nodeInfo.
    pub kubelet_version: String,
    /// Allocatable CPU; capacity is derived from it.
    pub cpu_millis: i64,
    /// Allocatable memory; capacity is derived from it.
    pub memory_bytes: i64,
    pub max_pods: u32,
    pub internal_ip: String,
    pub created: Timestamp,
    pub ready: bool,
}

struct OsFacts {
    os_image: &'static str,
    kernel: &'static str,
    runtime: &'static str,
}

fn os_facts(provider: &str) -> OsFacts {
    match provider {
        "aws" => OsFacts {
            os_image: "Amazon Linux 2023.6.20250115",
            kernel: "6.1.124-134.200.amzn2023.x86_64",
            runtime: "containerd://1.7.25",
        },
        "gcp" => OsFacts {
            os_image: "Container-Optimized OS from Google",
            kernel: "6.6.56+",
            runtime: "containerd://1.7.24",
        },
        "azure" => OsFacts {
            os_image: "Ubuntu 22.04.5 LTS",
            kernel: "5.15.0-1079-azure",
            runtime: "containerd://1.7.25-1",
        },
        _ => OsFacts {
            os_image: "Ubuntu 24.04.1 LTS",
            kernel: "6.8.0-51-generic",
            runtime: "containerd://1.7.24",
        },
    }
}

/// The kubelet's reported version: managed providers ship builds with a suffix
/// (EKS `v1.31.4-eks-2d5f260`, GKE `v1.31.4-gke.1256000`), so version parsers must accept it.
pub fn provider_kubelet_version(provider: &str, version: &str) -> String {
    let v = version.trim().trim_start_matches('v');
    // Already a provider build ("1.31.4-eks-2d5f260"): keep it, so calling this twice is harmless.
    if v.contains('-') {
        return format!("v{v}");
    }
    let h = fnv1a(v.as_bytes());
    match provider {
        "aws" => format!("v{v}-eks-{:07x}", h & 0x0FFF_FFFF),
        "gcp" => format!("v{v}-gke.{}000", 1000 + h % 1000),
        _ => format!("v{v}"),
    }
}

/// Stable per-cloud account identifiers derived from the region, so every node of a cluster
/// points at the same project or subscription.
fn cloud_account(provider: &str, region: &str) -> String {
    let h = fnv1a(format!("{provider}/{region}").as_bytes());
    match provider {
        "gcp" => format!(
            "acme-{}-{}",
            region.split('-').next().unwrap_or("prod"),
            h % 1_000_000
        ),
        _ => {
            let mut r = SimRng::new(h);
            r.uuid()
        }
    }
}

/// A registered, fully initialised Node (kubelet plus cloud controller manager).
pub fn node(p: &NodeParams, rng: &mut SimRng) -> Value {
    let spot = p.capacity_type == CapacityType::Spot;
    let mut labels = Map::new();
    let mut put = |k: &str, v: &str| {
        labels.insert(k.to_string(), json!(v));
    };
    put("beta.kubernetes.io/arch", "amd64");
    put("beta.kubernetes.io/os", "linux");
    put("beta.kubernetes.io/instance-type", &p.instance_type);
    put("failure-domain.beta.kubernetes.io/region", &p.region);
    put("failure-domain.beta.kubernetes.io/zone", &p.zone);
    put("kubernetes.io/arch", "amd64");
    put("kubernetes.io/hostname", &p.name);
    put("kubernetes.io/os", "linux");
    put("node.kubernetes.io/instance-type", &p.instance_type);
    put("topology.kubernetes.io/region", &p.region);
    put("topology.kubernetes.io/zone", &p.zone);
    put("capstan.io/node-pool", &p.pool);
    let mut taints: Vec<Value> = Vec::new();
    let instance_id;
    let provider_id = match p.provider.as_str() {
        "aws" => {
            put(
                "eks.amazonaws.com/capacityType",
                if spot { "SPOT" } else { "ON_DEMAND" },
            );
            put("eks.amazonaws.com/nodegroup", &p.pool);
            put("karpenter.sh/capacity-type", p.capacity_type.as_str());
            put(
                "k8s.io/cloud-provider-aws",
                &hex_from(fnv1a(p.region.as_bytes()), 32),
            );
            instance_id = format!("i-0{}", rng_hex(rng, 16));
            format!("aws:///{}/{instance_id}", p.zone)
        }
        "gcp" => {
            put("cloud.google.com/gke-nodepool", &p.pool);
            put("cloud.google.com/gke-os-distribution", "cos");
            put("cloud.google.com/gke-container-runtime", "containerd");
            put("cloud.google.com/gke-boot-disk", "pd-balanced");
            put(
                "cloud.google.com/machine-family",
                p.instance_type.split('-').next().unwrap_or("n2"),
            );
            if spot {
                put("cloud.google.com/gke-spot", "true");
                put("cloud.google.com/gke-provisioning", "spot");
            }
            instance_id = rng
                .range_inclusive(1_000_000_000_000_000_000, 9_000_000_000_000_000_000)
                .to_string();
            format!(
                "gce://{}/{}/{}",
                cloud_account("gcp", &p.region),
                p.zone,
                p.name
            )
        }
        "azure" => {
            put("agentpool", &p.pool);
            put("kubernetes.azure.com/agentpool", &p.pool);
            put("kubernetes.azure.com/role", "agent");
            put("kubernetes.azure.com/os-sku", "Ubuntu");
            put(
                "kubernetes.azure.com/mode",
                if p.pool.starts_with("system") {
                    "system"
                } else {
                    "user"
                },
            );
            put(
                "kubernetes.azure.com/node-image-version",
                "AKSUbuntu-2204gen2containerd-202501.12.0",
            );
            if spot {
                put("kubernetes.azure.com/scalesetpriority", "spot");
                taints.push(json!({
                    "key": "kubernetes.azure.com/scalesetpriority",
                    "value": "spot",
                    "effect": "NoSchedule",
                }));
            }
            // AKS node names end in "vmss" + base-36 instance number.
            let (vmss, instance) = match p.name.rfind("vmss") {
                Some(i) if p.name.len() == i + 10 => (
                    &p.name[..i + 4],
                    u64::from_str_radix(&p.name[i + 4..], 36).unwrap_or(0),
                ),
                _ => (p.name.as_str(), 0),
            };
            instance_id = instance.to_string();
            format!(
                "azure:///subscriptions/{}/resourceGroups/mc_capstan_{}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{instance}",
                cloud_account("azure", &p.region),
                p.region
            )
        }
        _ => {
            put("node-role.kubernetes.io/worker", "");
            instance_id = rng.uuid();
            format!("vsphere://{instance_id}")
        }
    };
    let _ = instance_id;

    let facts = os_facts(&p.provider);
    let kubelet = provider_kubelet_version(&p.provider, &p.kubelet_version);
    let created = rfc3339(p.created);
    // Capacity is what the machine has: allocatable plus the kubelet's reservations.
    let cpu_capacity = (p.cpu_millis + 999) / 1000 * 1000;
    let mem_capacity_ki =
        (p.memory_bytes + crate::fleet::reserved_memory_bytes(p.memory_bytes)) / 1024;
    let disk_capacity_ki: i64 = 104_845_292;
    let disk_alloc = disk_capacity_ki * 1024 / 100 * 90;
    let machine_id = rng_hex(rng, 32);
    let system_uuid = if p.provider == "aws" {
        format!("ec2{}", &rng.uuid()[3..])
    } else {
        rng.uuid()
    };
    let boot_id = rng.uuid();

    let mut addresses = vec![json!({"type": "InternalIP", "address": p.internal_ip})];
    if p.provider == "aws" {
        addresses.push(json!({"type": "InternalDNS", "address": p.name}));
    }
    addresses.push(json!({"type": "Hostname", "address": p.name}));

    let mut conditions = Vec::with_capacity(5);
    // NetworkUnavailable is written by the route controller or the CNI, not the kubelet;
    // the AWS VPC CNI does not write it at all.
    let network = match p.provider.as_str() {
        "gcp" => Some(("RouteCreated", "NodeController create implicit route")),
        "azure" => Some(("RouteCreated", "RouteController created a route")),
        "onprem" => Some(("CiliumIsUp", "Cilium is running on this node")),
        _ => None,
    };
    if let Some((reason, message)) = network {
        conditions.push(json!({
            "type": "NetworkUnavailable", "status": "False", "reason": reason, "message": message,
            "lastHeartbeatTime": created, "lastTransitionTime": created,
        }));
    }
    for (t, reason, message) in [
        (
            "MemoryPressure",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
    ] {
        conditions.push(json!({
            "type": t, "status": "False", "reason": reason, "message": message,
            "lastHeartbeatTime": created, "lastTransitionTime": created,
        }));
    }
    conditions.push(json!({
        "type": "Ready", "status": "True", "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": created, "lastTransitionTime": created,
    }));

    let mut metadata = meta(&p.name, None, p.created, rng);
    metadata.insert("labels".into(), Value::Object(labels));
    metadata.insert(
        "annotations".into(),
        json!({
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }),
    );
    let mut spec = json!({ "providerID": provider_id });
    if !taints.is_empty() {
        spec["taints"] = Value::Array(taints);
    }
    let mut n = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata,
        "spec": spec,
        "status": {
            "addresses": addresses,
            "allocatable": {
                "cpu": format_cpu(p.cpu_millis),
                "ephemeral-storage": disk_alloc.to_string(),
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": format!("{}Ki", p.memory_bytes / 1024),
                "pods": p.max_pods.to_string(),
            },
            "capacity": {
                "cpu": format_cpu(cpu_capacity),
                "ephemeral-storage": format!("{disk_capacity_ki}Ki"),
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": format!("{mem_capacity_ki}Ki"),
                "pods": p.max_pods.to_string(),
            },
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": boot_id,
                "containerRuntimeVersion": facts.runtime,
                "kernelVersion": facts.kernel,
                "kubeProxyVersion": kubelet,
                "kubeletVersion": kubelet,
                "machineID": machine_id,
                "operatingSystem": "linux",
                "osImage": facts.os_image,
                "systemUUID": system_uuid,
            },
        },
    });
    if !p.ready {
        set_node_ready(&mut n, false, p.created);
    }
    n
}

const KUBELET_CONDITIONS: [&str; 4] = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"];

/// The kubelet's status update: Ready True (`KubeletReady`) or False (`KubeletNotReady`),
/// `lastTransitionTime` only on a change, `lastHeartbeatTime` on every kubelet-owned
/// condition. Also applies what the node lifecycle controller does next: the
/// `node.kubernetes.io/not-ready` NoSchedule and NoExecute taints while not ready (which
/// start the 300 s taint-based eviction clock), removed again when ready.
pub fn set_node_ready(node: &mut Value, ready: bool, now: Timestamp) {
    let now_s = rfc3339(now);
    let (status, reason, message) = if ready {
        ("True", "KubeletReady", "kubelet is posting ready status")
    } else {
        (
            "False",
            "KubeletNotReady",
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        )
    };
    let conditions = conditions_mut(node, "conditions");
    for c in conditions.iter_mut() {
        let t = str_at(c, "/type").to_string();
        let t = t.as_str();
        if t == "Ready" {
            if c.get("status").and_then(Value::as_str) != Some(status) {
                c["lastTransitionTime"] = json!(now_s);
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
        }
        if KUBELET_CONDITIONS.contains(&t) {
            c["lastHeartbeatTime"] = json!(now_s);
        }
    }
    set_lifecycle_taints(
        node,
        if ready {
            None
        } else {
            Some("node.kubernetes.io/not-ready")
        },
        &now_s,
    );
}

/// What the node lifecycle controller does when a kubelet stops posting status for the grace
/// period: every kubelet condition becomes Unknown (`NodeStatusUnknown`) and the node gets the
/// `node.kubernetes.io/unreachable` NoSchedule and NoExecute taints. Heartbeats are left alone
/// because no kubelet sent one.
pub fn set_node_unreachable(node: &mut Value, now: Timestamp) {
    let now_s = rfc3339(now);
    let conditions = conditions_mut(node, "conditions");
    for c in conditions.iter_mut() {
        let t = str_at(c, "/type").to_string();
        if KUBELET_CONDITIONS.contains(&t.as_str()) {
            if c.get("status").and_then(Value::as_str) != Some("Unknown") {
                c["lastTransitionTime"] = json!(now_s);
            }
            c["status"] = json!("Unknown");
            c["reason"] = json!("NodeStatusUnknown");
            c["message"] = json!("Kubelet stopped posting node status.");
        }
    }
    set_lifecycle_taints(node, Some("node.kubernetes.io/unreachable"), &now_s);
}

fn set_lifecycle_taints(node: &mut Value, key: Option<&str>, now: &str) {
    const KEYS: [&str; 2] = [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ];
    if !node["spec"].is_object() {
        node["spec"] = json!({});
    }
    let mut taints: Vec<Value> = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let has = |taints: &[Value], k: &str, effect: &str| {
        taints
            .iter()
            .any(|t| str_at(t, "/key") == k && str_at(t, "/effect") == effect)
    };
    taints.retain(|t| {
        let k = str_at(t, "/key");
        !KEYS.contains(&k) || Some(k) == key
    });
    if let Some(k) = key {
        if !has(&taints, k, "NoSchedule") {
            taints.push(json!({"key": k, "effect": "NoSchedule"}));
        }
        if !has(&taints, k, "NoExecute") {
            taints.push(json!({"key": k, "effect": "NoExecute", "timeAdded": now}));
        }
    }
    let spec = node["spec"].as_object_mut().expect("made an object above");
    if taints.is_empty() {
        spec.remove("taints");
    } else {
        spec.insert("taints".into(), Value::Array(taints));
    }
}

/// The node's heartbeat Lease in `kube-node-lease`, owned by the Node.
pub fn node_lease(node_name: &str, node_uid: &str, now: Timestamp, rng: &mut SimRng) -> Value {
    let mut metadata = meta(node_name, Some("kube-node-lease"), now, rng);
    metadata.insert(
        "ownerReferences".into(),
        json!([{ "apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid }]),
    );
    with(
        json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "spec": {
            "holderIdentity": node_name,
            "leaseDurationSeconds": 40,
            "renewTime": rfc3339_micros(now),
        },
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// The kubelet's 10-second lease renewal.
pub fn renew_lease(lease: &mut Value, now: Timestamp) {
    lease["spec"]["renewTime"] = json!(rfc3339_micros(now));
}

// ---------------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------------

/// Defaults the API server fills in any PodSpec (pods and pod templates alike).
fn default_pod_spec(spec: &mut Map<String, Value>) {
    let defaults: [(&str, Value); 5] = [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
    ];
    for (k, v) in defaults {
        spec.entry(k).or_insert(v);
    }
    for list in ["initContainers", "containers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                default_container(c);
            }
        }
    }
    if let Some(Value::Array(vols)) = spec.get_mut("volumes") {
        for v in vols.iter_mut() {
            for kind in ["configMap", "secret", "projected"] {
                if let Some(o) = v.get_mut(kind).and_then(Value::as_object_mut) {
                    o.entry("defaultMode").or_insert(json!(420));
                }
            }
        }
    }
}

fn default_container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let pull = if image_tag(image).is_none_or(|t| t == "latest") {
        "Always"
    } else {
        "IfNotPresent"
    };
    c.entry("imagePullPolicy").or_insert(json!(pull));
    c.entry("terminationMessagePath")
        .or_insert(json!("/dev/termination-log"));
    c.entry("terminationMessagePolicy").or_insert(json!("File"));
    c.entry("resources").or_insert(json!({}));
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.entry("protocol").or_insert(json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            p.entry("timeoutSeconds").or_insert(json!(1));
            p.entry("periodSeconds").or_insert(json!(10));
            p.entry("successThreshold").or_insert(json!(1));
            p.entry("failureThreshold").or_insert(json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                h.entry("scheme").or_insert(json!("HTTP"));
            }
        }
    }
}

/// The tag of an image reference, if it has one (digests count as pinned).
fn image_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return Some("digest");
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, t)| t)
}

/// The fully qualified reference containerd reports (`nginx:1.27` →
/// `docker.io/library/nginx:1.27`).
fn normalize_image(image: &str) -> String {
    let with_tag = if image_tag(image).is_none() {
        format!("{image}:latest")
    } else {
        image.to_string()
    };
    let first = with_tag.split('/').next().unwrap_or("");
    if !with_tag.contains('/') {
        format!("docker.io/library/{with_tag}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        with_tag
    } else {
        format!("docker.io/{with_tag}")
    }
}

fn priority_of(class: &str) -> i64 {
    match class {
        "system-node-critical" => 2_000_001_000,
        "system-cluster-critical" => 2_000_000_000,
        _ => 0,
    }
}

/// Effective (cpu millis, memory bytes) requests of a PodSpec as the scheduler counts them:
/// the larger of the sum over containers and the largest init container.
pub fn pod_requests(spec: &Value) -> (i64, i64) {
    let sum = |list: &str, take_max: bool| {
        let mut acc = (0i64, 0i64);
        if let Some(cs) = spec.get(list).and_then(Value::as_array) {
            for c in cs {
                let (cpu, mem) = container_requests(c);
                if take_max {
                    acc = (acc.0.max(cpu), acc.1.max(mem));
                } else {
                    acc = (acc.0 + cpu, acc.1 + mem);
                }
            }
        }
        acc
    };
    let (c, m) = sum("containers", false);
    let (ic, im) = sum("initContainers", true);
    (c.max(ic), m.max(im))
}

/// A container's requests, falling back to limits as API-server defaulting does.
fn container_requests(c: &Value) -> (i64, i64) {
    let get = |res: &str, field: &str| {
        c.pointer(&format!("/resources/{field}/{res}"))
            .and_then(Value::as_str)
    };
    let cpu = get("cpu", "requests")
        .or_else(|| get("cpu", "limits"))
        .and_then(cpu_millis)
        .unwrap_or(0);
    let mem = get("memory", "requests")
        .or_else(|| get("memory", "limits"))
        .and_then(memory_bytes)
        .unwrap_or(0);
    (cpu, mem)
}

/// QoS class per upstream rules (cpu and memory only): BestEffort without any request or
/// limit; Guaranteed when every container limits both and requests equal limits; else
/// Burstable. Expects requests already defaulted from limits.
pub fn qos_class(spec: &Value) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    for list in ["initContainers", "containers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for res in ["cpu", "memory"] {
                let parse = |field: &str| {
                    c.pointer(&format!("/resources/{field}/{res}"))
                        .and_then(Value::as_str)
                        .and_then(quantity_millis)
                        .filter(|v| *v != 0)
                };
                let (req, lim) = (parse("requests"), parse("limits"));
                any |= req.is_some() || lim.is_some();
                if lim.is_none() || req != lim {
                    guaranteed = false;
                }
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A new, unscheduled Pod from a PodTemplateSpec, after the API server's defaulting and the
/// standard admission plugins (ServiceAccount token volume, DefaultTolerationSeconds,
/// Priority). Pods owned by a ReplicaSet or DaemonSet also get `generateName` (`<owner>-`).
#[allow(clippy::too_many_arguments)]
pub fn pod_from_template(
    template: &Value,
    namespace: &str,
    name: &str,
    owner: Option<OwnerRef>,
    extra_labels: &[(&str, &str)],
    now: Timestamp,
    rng: &mut SimRng,
) -> Value {
    let mut metadata = meta(name, Some(namespace), now, rng);
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert((*k).to_string(), json!(v));
    }
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(labels));
    }
    if let Some(a) = template.pointer("/metadata/annotations") {
        metadata.insert("annotations".into(), a.clone());
    }
    if let Some(o) = &owner {
        if matches!(o.kind.as_str(), "ReplicaSet" | "DaemonSet" | "Job") {
            metadata.insert("generateName".into(), json!(format!("{}-", o.name)));
        }
        metadata.insert("ownerReferences".into(), json!([o.to_value()]));
    }

    let mut spec = template
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    default_pod_spec(&mut spec);
    // Pod-only defaulting: requests default to limits.
    for list in ["initContainers", "containers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut() {
                let Some(limits) = c
                    .pointer("/resources/limits")
                    .and_then(Value::as_object)
                    .cloned()
                else {
                    continue;
                };
                let res = &mut c["resources"];
                if !res["requests"].is_object() {
                    res["requests"] = json!({});
                }
                let req = res["requests"]
                    .as_object_mut()
                    .expect("made an object above");
                for (k, v) in limits {
                    req.entry(k).or_insert(v);
                }
            }
        }
    }
    // ServiceAccount admission.
    let sa = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    spec.insert("serviceAccountName".into(), json!(sa));
    spec.insert("serviceAccount".into(), json!(sa));
    let automount = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        != Some(false);
    if automount {
        let vol = format!("kube-api-access-{}", rng.name_suffix(5));
        let mount = json!({
            "name": vol,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": true,
        });
        for list in ["initContainers", "containers"] {
            if let Some(Value::Array(cs)) = spec.get_mut(list) {
                for c in cs.iter_mut() {
                    if !c["volumeMounts"].is_array() {
                        c["volumeMounts"] = json!([]);
                    }
                    if let Some(m) = c["volumeMounts"].as_array_mut() {
                        m.push(mount.clone());
                    }
                }
            }
        }
        let volume = json!({
            "name": vol,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ],
            },
        });
        match spec.get_mut("volumes") {
            Some(Value::Array(v)) => v.push(volume),
            _ => {
                spec.insert("volumes".into(), json!([volume]));
            }
        }
    }
    // DefaultTolerationSeconds admission.
    let mut tolerations = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let covered = tolerations.iter().any(|t| {
            let k = str_at(t, "/key");
            (k == key || (k.is_empty() && str_at(t, "/operator") == "Exists"))
                && matches!(str_at(t, "/effect"), "" | "NoExecute")
        });
        if !covered {
            tolerations.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300,
            }));
        }
    }
    spec.insert("tolerations".into(), Value::Array(tolerations));
    // Priority admission and defaulting.
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let priority = priority_of(class);
    spec.insert("priority".into(), json!(priority));
    spec.entry("preemptionPolicy")
        .or_insert(json!("PreemptLowerPriority"));
    spec.entry("enableServiceLinks").or_insert(json!(true));

    let spec = Value::Object(spec);
    let qos = qos_class(&spec);
    with(
        json!({"apiVersion": "v1", "kind": "Pod", "status": { "phase": "Pending", "qosClass": qos }}),
        vec![(&["metadata"], Value::Object(metadata)), (&["spec"], spec)],
    )
}

/// The scheduler's binding: `spec.nodeName` and condition PodScheduled=True.
pub fn bind_pod(pod: &mut Value, node_name: &str, now: Timestamp) {
    pod["spec"]["nodeName"] = json!(node_name);
    let now = rfc3339(now);
    set_condition(
        conditions_mut(pod, "conditions"),
        "PodScheduled",
        "True",
        None,
        None,
        &now,
    );
}

fn container_names(pod: &Value, list: &str) -> Vec<(String, String)> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        str_at(c, "/name").to_string(),
                        str_at(c, "/image").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn container_id(pod: &Value, container: &str, salt: &str) -> String {
    let uid = str_at(pod, "/metadata/uid");
    let mut key = String::with_capacity(uid.len() + container.len() + salt.len() + 2);
    for part in [uid, "/", container, "/", salt] {
        key.push_str(part);
    }
    let mut id = String::with_capacity(77);
    id.push_str("containerd://");
    id.push_str(&hex_from(fnv1a(key.as_bytes()), 64));
    id
}

fn image_id(image: &str) -> String {
    image_id_of_full(&normalize_image(image))
}

fn image_id_of_full(full: &str) -> String {
    let repo = match full.rfind(':') {
        Some(i) if !full[i..].contains('/') => &full[..i],
        _ => full,
    };
    format!("{repo}@sha256:{}", hex_from(fnv1a(full.as_bytes()), 64))
}

/// Container statuses sorted by name, as the kubelet reports them.
fn running_statuses(pod: &Value, started_at: &str, ready: bool) -> Vec<Value> {
    let mut names = container_names(pod, "containers");
    names.sort();
    names
        .iter()
        .map(|(name, image)| {
            let full = normalize_image(image);
            json!({
                "containerID": container_id(pod, name, started_at),
                "imageID": image_id_of_full(&full),
                "image": full,
                "lastState": {},
                "name": name,
                "ready": ready,
                "restartCount": 0,
                "started": true,
                "state": {"running": {"startedAt": started_at}},
            })
        })
        .collect()
}

/// The kubelet started every container and they passed readiness: phase Running, IPs,
/// startTime, all five conditions True, container statuses running.
pub fn set_pod_running(pod: &mut Value, host_ip: &str, pod_ip: &str, now: Timestamp) {
    let now_s = rfc3339(now);
    let statuses = running_statuses(pod, &now_s, true);
    let inits: Vec<Value> = container_names(pod, "initContainers")
        .iter()
        .map(|(name, image)| {
            json!({
                "containerID": container_id(pod, name, "init"),
                "image": normalize_image(image),
                "imageID": image_id(image),
                "lastState": {},
                "name": name,
                "ready": true,
                "restartCount": 0,
                "started": false,
                "state": {"terminated": {
                    "containerID": container_id(pod, name, "init"),
                    "exitCode": 0, "reason": "Completed", "startedAt": now_s, "finishedAt": now_s,
                }},
            })
        })
        .collect();
    {
        let st = &mut pod["status"];
        st["phase"] = json!("Running");
        st["hostIP"] = json!(host_ip);
        st["hostIPs"] = json!([{"ip": host_ip}]);
        st["podIP"] = json!(pod_ip);
        st["podIPs"] = json!([{"ip": pod_ip}]);
        st["startTime"] = json!(now_s);
        st["containerStatuses"] = Value::Array(statuses);
        if !inits.is_empty() {
            st["initContainerStatuses"] = Value::Array(inits);
        }
    }
    let conds = conditions_mut(pod, "conditions");
    for t in [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ] {
        set_condition(conds, t, "True", None, None, &now_s);
    }
    // The kubelet's order, which kubectl describe prints.
    let order = |c: &Value| match str_at(c, "/type") {
        "PodReadyToStartContainers" => 0,
        "Initialized" => 1,
        "Ready" => 2,
        "ContainersReady" => 3,
        "PodScheduled" => 4,
        _ => 5,
    };
    conds.sort_by_key(order);
}

fn set_unready_conditions(pod: &mut Value, unready: &[String], now: &str) {
    let msg = format!("containers with unready status: [{}]", unready.join(" "));
    let conds = conditions_mut(pod, "conditions");
    set_condition(
        conds,
        "Ready",
        "False",
        Some("ContainersNotReady"),
        Some(&msg),
        now,
    );
    set_condition(
        conds,
        "ContainersReady",
        "False",
        Some("ContainersNotReady"),
        Some(&msg),
        now,
    );
}

/// Go's duration format for whole seconds ("40s", "1m20s", "5m0s").
fn go_duration(secs: u64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// The first container keeps failing: waiting in CrashLoopBackOff with the last run
/// terminated in Error, `restartCount = restarts`, and the pod not Ready. Phase stays Running.
pub fn set_pod_crashlooping(pod: &mut Value, restarts: u32, now: Timestamp) {
    let now_s = rfc3339(now);
    let Some(first) = pod
        .pointer("/spec/containers/0/name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    if !pod["status"]["containerStatuses"].is_array() {
        let statuses = running_statuses(pod, &now_s, false);
        pod["status"]["containerStatuses"] = Value::Array(statuses);
        pod["status"]["phase"] = json!("Running");
        pod["status"]["startTime"] = json!(now_s);
    }
    let backoff = 10u64
        .saturating_mul(1u64 << restarts.saturating_sub(1).min(10))
        .min(300);
    let message = format!(
        "back-off {} restarting failed container={first} pod={}_{}({})",
        go_duration(backoff),
        str_at(pod, "/metadata/name"),
        str_at(pod, "/metadata/namespace"),
        str_at(pod, "/metadata/uid"),
    );
    let last_id = container_id(pod, &first, &format!("run-{restarts}"));
    let started = rfc3339(seconds_before(now, 12));
    let finished = rfc3339(seconds_before(now, 2));
    if let Some(statuses) = pod["status"]["containerStatuses"].as_array_mut() {
        for cs in statuses.iter_mut().filter(|c| str_at(c, "/name") == first) {
            cs["ready"] = json!(false);
            cs["started"] = json!(false);
            cs["restartCount"] = json!(restarts);
            cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": message}});
            cs["lastState"] = json!({"terminated": {
                "containerID": last_id, "exitCode": 1, "reason": "Error",
                "startedAt": started, "finishedAt": finished,
            }});
            cs["containerID"] = json!(last_id);
        }
    }
    let unready: Vec<String> = unready_names(pod);
    set_unready_conditions(pod, &unready, &now_s);
}

fn unready_names(pod: &Value) -> Vec<String> {
    let mut names: Vec<String> = pod["status"]["containerStatuses"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) != Some(true))
                .map(|c| str_at(c, "/name").to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Readiness probes failing: containers stay running and started but not ready; Ready and
/// ContainersReady become False (`ContainersNotReady`).
pub fn set_pod_not_ready(pod: &mut Value, now: Timestamp) {
    let now_s = rfc3339(now);
    // `get_mut`, not indexing: indexing a missing key would insert a null.
    if let Some(statuses) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for cs in statuses.iter_mut() {
            cs["ready"] = json!(false);
        }
    }
    let unready = unready_names(pod);
    set_unready_conditions(pod, &unready, &now_s);
}

// ---------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------

/// The selector a builder uses for a workload: `k8s-app` when the template carries it (the
/// kube-system convention), otherwise `app=<name>`.
fn selector_for(template: &Value, name: &str) -> (String, String) {
    match template
        .pointer("/metadata/labels/k8s-app")
        .and_then(Value::as_str)
    {
        Some(v) => ("k8s-app".into(), v.into()),
        None => ("app".into(), name.into()),
    }
}

/// A template as stored inside a workload: selector label ensured, `creationTimestamp: null`
/// (how the API returns templates) and PodSpec defaults applied.
fn stored_template(template: &Value, key: &str, value: &str) -> Value {
    let mut t = template.clone();
    if !t.is_object() {
        t = json!({});
    }
    if !t["metadata"].is_object() {
        t["metadata"] = json!({});
    }
    t["metadata"]["creationTimestamp"] = Value::Null;
    if !t["metadata"]["labels"].is_object() {
        t["metadata"]["labels"] = json!({});
    }
    t["metadata"]["labels"][key] = json!(value);
    if !t["spec"].is_object() {
        t["spec"] = json!({});
    }
    if let Some(spec) = t["spec"].as_object_mut() {
        default_pod_spec(spec);
    }
    t
}

fn workload_labels(template: &Value) -> Value {
    let mut out = Map::new();
    if let Some(l) = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    {
        for k in ["app", "app.kubernetes.io/name", "k8s-app", "team"] {
            if let Some(v) = l.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// apps/v1 Deployment: RollingUpdate 25%/25%, revisionHistoryLimit 10,
/// progressDeadlineSeconds 600, selector `app=<name>` (or the template's `k8s-app`).
pub fn deployment(
    namespace: &str,
    name: &str,
    replicas: u32,
    template: &Value,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let (sk, sv) = selector_for(template, name);
    let template = stored_template(template, &sk, &sv);
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    metadata.insert("labels".into(), workload_labels(&template));
    metadata.insert(
        "annotations".into(),
        json!({"deployment.kubernetes.io/revision": "1"}),
    );
    let v = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {sk: sv}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        },
        "status": {},
    });
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "template"], template),
        ],
    )
}

/// The `pod-template-hash` of a PodTemplateSpec in upstream's format: a 32-bit FNV-1a of the
/// template (here over its canonical JSON rather than Go's object dump), printed in decimal
/// and mapped character by character onto the safe alphabet. Deterministic across builds.
pub fn pod_template_hash(template: &Value) -> String {
    const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // Hash the serialisation as it streams out rather than building the string.
    struct Fnv32(u32);
    impl std::io::Write for Fnv32 {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for b in buf {
                self.0 ^= u32::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0193);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Fnv32(0x811c_9dc5);
    // Writing a Value into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut h, template);
    h.0.to_string()
        .bytes()
        .map(|b| SAFE[usize::from(b) % SAFE.len()] as char)
        .collect()
}

/// The ReplicaSet a Deployment controller creates for the current template:
/// `<deployment>-<hash>`, label `pod-template-hash`, revision annotations, controller
/// ownerReference.
pub fn replica_set_for(
    deployment: &Value,
    pod_template_hash: &str,
    replicas: u32,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let dname = str_at(deployment, "/metadata/name");
    let ns = str_at(deployment, "/metadata/namespace");
    let name = format!("{dname}-{pod_template_hash}");
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"]["pod-template-hash"] = json!(pod_template_hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(pod_template_hash);
    let labels = template["metadata"]["labels"].clone();
    let revision = deployment
        .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .unwrap_or("1");
    let surge = replicas.div_ceil(4);
    let mut metadata = meta(&name, Some(ns), now, rng);
    metadata.insert("generation".into(), json!(1));
    metadata.insert("labels".into(), labels);
    metadata.insert(
        "annotations".into(),
        json!({
            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
            "deployment.kubernetes.io/max-replicas": (replicas + surge).to_string(),
            "deployment.kubernetes.io/revision": revision,
        }),
    );
    if let Some(o) = OwnerRef::controller_of(deployment) {
        metadata.insert("ownerReferences".into(), json!([o.to_value()]));
    }
    let v = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": {"replicas": replicas}, "status": {"replicas": 0}});
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "selector"], selector),
            (&["spec", "template"], template),
        ],
    )
}

/// A new pod of a ReplicaSet: `<rs>-<5 chars>`, controller reference, template labels.
pub fn replica_set_pod(rs: &Value, now: Timestamp, rng: &mut SimRng) -> Value {
    let name = format!("{}-{}", str_at(rs, "/metadata/name"), rng.name_suffix(5));
    pod_from_template(
        &rs["spec"]["template"],
        str_at(rs, "/metadata/namespace"),
        &name,
        OwnerRef::controller_of(rs),
        &[],
        now,
        rng,
    )
}

/// Another pod like `proto` (a Pending pod from [`pod_from_template`] or
/// [`replica_set_pod`]): same labels, owner and defaulted spec, with its own `name`, uid,
/// creationTimestamp and service-account token volume; unbound and Pending. Much cheaper
/// than defaulting the template again, for controllers that create many identical pods.
pub fn pod_like(proto: &Value, name: &str, now: Timestamp, rng: &mut SimRng) -> Value {
    let mut pod = proto.clone();
    renew_pod_identity(&mut pod, name, now, rng);
    if let Some(s) = pod["spec"].as_object_mut() {
        s.remove("nodeName");
    }
    let qos = proto["status"]["qosClass"].clone();
    pod["status"] = json!({"phase": "Pending"});
    pod["status"]["qosClass"] = qos;
    pod
}

/// New name, uid, creationTimestamp and token volume name for a copied pod; everything else
/// (node, status) is left as it was.
pub(crate) fn renew_pod_identity(pod: &mut Value, name: &str, now: Timestamp, rng: &mut SimRng) {
    if let Some(m) = pod["metadata"].as_object_mut() {
        m.insert("name".into(), json!(name));
        m.insert("uid".into(), json!(rng.uuid()));
        m.insert("creationTimestamp".into(), json!(rfc3339(now)));
    }
    let spec = &mut pod["spec"];
    // The ServiceAccount admission plugin names the token volume per pod.
    let old = spec["volumes"].as_array().and_then(|vols| {
        vols.iter()
            .map(|v| str_at(v, "/name"))
            .find(|n| n.starts_with("kube-api-access-"))
            .map(str::to_string)
    });
    if let Some(old) = old {
        let new = format!("kube-api-access-{}", rng.name_suffix(5));
        if let Some(vols) = spec["volumes"].as_array_mut() {
            for v in vols.iter_mut().filter(|v| str_at(v, "/name") == old) {
                v["name"] = json!(new);
            }
        }
        for list in ["initContainers", "containers"] {
            // `get_mut`, not indexing: indexing a missing key would insert a null.
            if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in cs.iter_mut() {
                    if let Some(mounts) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                        for m in mounts.iter_mut().filter(|m| str_at(m, "/name") == old) {
                            m["name"] = json!(new);
                        }
                    }
                }
            }
        }
    }
}

/// apps/v1 DaemonSet with RollingUpdate (maxSurge 0, maxUnavailable 1).
pub fn daemon_set(
    namespace: &str,
    name: &str,
    template: &Value,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let (sk, sv) = selector_for(template, name);
    let template = stored_template(template, &sk, &sv);
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    metadata.insert("labels".into(), workload_labels(&template));
    metadata.insert(
        "annotations".into(),
        json!({"deprecated.daemonset.template.generation": "1"}),
    );
    let v = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "spec": {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {sk: sv}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
        },
        "status": {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0},
    });
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "template"], template),
        ],
    )
}

/// The DaemonSet controller's pod for one node: node affinity on `metadata.name`, the
/// tolerations DaemonSet pods always get, `controller-revision-hash` and
/// `pod-template-generation` labels.
pub fn daemon_set_pod(ds: &Value, node_name: &str, now: Timestamp, rng: &mut SimRng) -> Value {
    let template = &ds["spec"]["template"];
    let hash = pod_template_hash(template);
    let generation = ds
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .to_string();
    let name = format!("{}-{}", str_at(ds, "/metadata/name"), rng.name_suffix(5));
    let mut pod = pod_from_template(
        template,
        str_at(ds, "/metadata/namespace"),
        &name,
        OwnerRef::controller_of(ds),
        &[
            ("controller-revision-hash", &hash),
            ("pod-template-generation", &generation),
        ],
        now,
        rng,
    );
    let spec = &mut pod["spec"];
    spec["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}],
    }}});
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    let mut extra = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        extra.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let mut tolerations: Vec<Value> = spec["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        // DaemonSet pods tolerate not-ready/unreachable forever, not for 300 s.
        .filter(|t| t.get("tolerationSeconds").is_none())
        .collect();
    for (key, effect) in extra {
        tolerations.push(json!({"key": key, "operator": "Exists", "effect": effect}));
    }
    spec["tolerations"] = Value::Array(tolerations);
    pod
}

/// A `volumeClaimTemplates` entry.
pub fn volume_claim_template(name: &str, storage_class: &str, size: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "creationTimestamp": null},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": storage_class,
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    })
}

/// apps/v1 StatefulSet: OrderedReady, RollingUpdate partition 0, governing headless service
/// named like the set, PVC retention Retain/Retain.
pub fn stateful_set(
    namespace: &str,
    name: &str,
    replicas: u32,
    template: &Value,
    volume_claim_templates: &[Value],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let (sk, sv) = selector_for(template, name);
    let template = stored_template(template, &sk, &sv);
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    metadata.insert("labels".into(), workload_labels(&template));
    let v = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "spec": {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady",
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {sk: sv}},
            "serviceName": name,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "volumeClaimTemplates": volume_claim_templates,
        },
        "status": {"availableReplicas": 0, "replicas": 0},
    });
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["spec", "template"], template),
        ],
    )
}

/// The pod a StatefulSet controller creates for `ordinal`: stable name, hostname/subdomain,
/// one PVC volume per claim template (`<claim>-<set>-<ordinal>`).
pub fn stateful_set_pod(sts: &Value, ordinal: u32, now: Timestamp, rng: &mut SimRng) -> Value {
    let sname = str_at(sts, "/metadata/name");
    let name = format!("{sname}-{ordinal}");
    let revision = format!("{sname}-{}", pod_template_hash(&sts["spec"]["template"]));
    let index = ordinal.to_string();
    let mut template = sts["spec"]["template"].clone();
    let claims: Vec<Value> = sts["spec"]["volumeClaimTemplates"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let claim = str_at(c, "/metadata/name");
                    json!({"name": claim, "persistentVolumeClaim": {"claimName": format!("{claim}-{name}")}})
                })
                .collect()
        })
        .unwrap_or_default();
    if !claims.is_empty() {
        let mut vols = claims;
        if let Some(existing) = template["spec"]["volumes"].as_array() {
            vols.extend(existing.iter().cloned());
        }
        template["spec"]["volumes"] = Value::Array(vols);
    }
    template["spec"]["hostname"] = json!(name);
    template["spec"]["subdomain"] = json!(str_at(sts, "/spec/serviceName"));
    pod_from_template(
        &template,
        str_at(sts, "/metadata/namespace"),
        &name,
        OwnerRef::controller_of(sts),
        &[
            ("apps.kubernetes.io/pod-index", &index),
            ("controller-revision-hash", &revision),
            ("statefulset.kubernetes.io/pod-name", &name),
        ],
        now,
        rng,
    )
}

/// apps/v1 ControllerRevision that DaemonSets and StatefulSets keep for rollbacks:
/// `<owner>-<hash>` holding the template.
pub fn controller_revision(
    owner: &Value,
    revision: i64,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let template = &owner["spec"]["template"];
    let hash = pod_template_hash(template);
    let name = format!("{}-{hash}", str_at(owner, "/metadata/name"));
    let mut labels = owner["spec"]["selector"]["matchLabels"].clone();
    let key = if str_at(owner, "/kind") == "StatefulSet" {
        "controller.kubernetes.io/hash"
    } else {
        "controller-revision-hash"
    };
    labels[key] = json!(hash);
    let mut metadata = meta(&name, Some(str_at(owner, "/metadata/namespace")), now, rng);
    metadata.insert("labels".into(), labels);
    if let Some(o) = OwnerRef::controller_of(owner) {
        metadata.insert("ownerReferences".into(), json!([o.to_value()]));
    }
    let v = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "data": {"spec": {"$patch": "replace"}}, "revision": revision});
    with(
        v,
        vec![
            (&["metadata"], Value::Object(metadata)),
            (&["data", "spec", "template"], template.clone()),
        ],
    )
}

/// Pod counts a workload controller reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadCounts {
    /// Desired pods: `spec.replicas`, or the number of eligible nodes for a DaemonSet.
    pub desired: u32,
    /// Pods that exist.
    pub current: u32,
    /// Pods that are Ready (and, here, available).
    pub ready: u32,
}

/// The steady-state `status` a Deployment, ReplicaSet, StatefulSet or DaemonSet controller
/// writes once it has observed the current generation. A Deployment with fewer available
/// than desired reports `Available=False` (MinimumReplicasUnavailable) when below
/// `desired - maxUnavailable`.
pub fn set_workload_status(obj: &mut Value, counts: WorkloadCounts, now: Timestamp) {
    let generation = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let WorkloadCounts {
        desired,
        current,
        ready,
    } = counts;
    let now_s = rfc3339(now);
    match str_at(obj, "/kind") {
        "Deployment" => {
            let name = str_at(obj, "/metadata/name").to_string();
            let hash = pod_template_hash(&obj["spec"]["template"]);
            let max_unavailable = desired / 4;
            let available = ready + max_unavailable >= desired;
            obj["status"] = json!({
                "availableReplicas": ready,
                "observedGeneration": generation,
                "readyReplicas": ready,
                "replicas": current,
                "updatedReplicas": current,
            });
            if current > ready {
                obj["status"]["unavailableReplicas"] = json!(current - ready);
            }
            let conds = conditions_mut(obj, "conditions");
            let (st, reason, msg) = if available {
                (
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.".to_string(),
                )
            } else {
                (
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.".to_string(),
                )
            };
            set_condition(conds, "Available", st, Some(reason), Some(&msg), &now_s);
            let progressed = format!("ReplicaSet \"{name}-{hash}\" has successfully progressed.");
            set_condition(
                conds,
                "Progressing",
                "True",
                Some("NewReplicaSetAvailable"),
                Some(&progressed),
                &now_s,
            );
            for c in conds.iter_mut() {
                c["lastUpdateTime"] = json!(now_s);
                if let Some(o) = c.as_object_mut() {
                    o.remove("lastProbeTime");
                }
            }
        }
        "ReplicaSet" => {
            obj["status"] = json!({
                "availableReplicas": ready,
                "fullyLabeledReplicas": current,
                "observedGeneration": generation,
                "readyReplicas": ready,
                "replicas": current,
            });
        }
        "StatefulSet" => {
            let hash = format!(
                "{}-{}",
                str_at(obj, "/metadata/name"),
                pod_template_hash(&obj["spec"]["template"])
            );
            obj["status"] = json!({
                "availableReplicas": ready,
                "collisionCount": 0,
                "currentReplicas": current,
                "currentRevision": hash,
                "observedGeneration": generation,
                "readyReplicas": ready,
                "replicas": current,
                "updateRevision": hash,
                "updatedReplicas": current,
            });
        }
        "DaemonSet" => {
            obj["status"] = json!({
                "currentNumberScheduled": current,
                "desiredNumberScheduled": desired,
                "numberAvailable": ready,
                "numberMisscheduled": 0,
                "numberReady": ready,
                "observedGeneration": generation,
                "updatedNumberScheduled": current,
            });
            if desired > ready {
                obj["status"]["numberUnavailable"] = json!(desired - ready);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------

/// CSI driver and default StorageClass name per provider.
pub fn storage_driver(provider: &str) -> (&'static str, &'static str) {
    match provider {
        "aws" => ("ebs.csi.aws.com", "gp3"),
        "gcp" => ("pd.csi.storage.gke.io", "standard-rwo"),
        "azure" => ("disk.csi.azure.com", "managed-csi"),
        _ => ("csi.vsphere.vmware.com", "vsphere-csi"),
    }
}

/// The provider's default StorageClass (WaitForFirstConsumer, Delete, expandable).
pub fn storage_class(provider: &str, rng: &mut SimRng, now: Timestamp) -> Value {
    let (driver, name) = storage_driver(provider);
    let params = match provider {
        "aws" => json!({"type": "gp3", "fsType": "ext4"}),
        "gcp" => json!({"type": "pd-balanced"}),
        "azure" => json!({"skuname": "StandardSSD_LRS"}),
        _ => json!({"storagepolicyname": "vSAN Default Storage Policy"}),
    };
    let mut metadata = meta(name, None, now, rng);
    metadata.insert(
        "annotations".into(),
        json!({"storageclass.kubernetes.io/is-default-class": "true"}),
    );
    with(
        json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "provisioner": driver,
        "parameters": params,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": true,
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// The PVC a StatefulSet controller creates from claim template `claim` for `ordinal`
/// (`<claim>-<set>-<ordinal>`, the set's selector labels, pvc-protection finalizer), still
/// Pending; `selected_node` is the scheduler's WaitForFirstConsumer choice.
pub fn pvc_for_statefulset(
    sts: &Value,
    claim: &str,
    ordinal: u32,
    selected_node: Option<&str>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let sname = str_at(sts, "/metadata/name");
    let template = sts["spec"]["volumeClaimTemplates"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| str_at(c, "/metadata/name") == claim))
        .cloned()
        .unwrap_or_else(|| volume_claim_template(claim, "", "1Gi"));
    let name = format!("{claim}-{sname}-{ordinal}");
    let mut metadata = meta(&name, Some(str_at(sts, "/metadata/namespace")), now, rng);
    metadata.insert(
        "labels".into(),
        sts["spec"]["selector"]["matchLabels"].clone(),
    );
    metadata.insert("finalizers".into(), json!(["kubernetes.io/pvc-protection"]));
    if let Some(node) = selected_node {
        metadata.insert(
            "annotations".into(),
            json!({"volume.kubernetes.io/selected-node": node}),
        );
    }
    let mut spec = template["spec"].clone();
    spec["volumeMode"] = spec
        .get("volumeMode")
        .cloned()
        .unwrap_or(json!("Filesystem"));
    with(
        json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "spec": spec,
        "status": {"phase": "Pending"},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// The dynamically provisioned PV for `pvc`, bound both ways: the PV's claimRef points at
/// the claim and the claim gets `spec.volumeName`, the bind annotations and status Bound.
pub fn persistent_volume(
    pvc: &mut Value,
    provider: &str,
    zone: &str,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let (driver, _) = storage_driver(provider);
    let pvc_uid = str_at(pvc, "/metadata/uid").to_string();
    let name = format!("pvc-{pvc_uid}");
    let size = pvc
        .pointer("/spec/resources/requests/storage")
        .and_then(Value::as_str)
        .unwrap_or("1Gi")
        .to_string();
    let class = str_at(pvc, "/spec/storageClassName").to_string();
    let access = pvc["spec"]["accessModes"].clone();
    let handle = match provider {
        "aws" => format!("vol-0{}", rng_hex(rng, 16)),
        "gcp" => format!(
            "projects/{}/zones/{zone}/disks/{name}",
            cloud_account("gcp", zone)
        ),
        "azure" => format!(
            "/subscriptions/{}/resourceGroups/mc_capstan/providers/Microsoft.Compute/disks/{name}",
            cloud_account("azure", zone)
        ),
        _ => format!("file://{}", rng.uuid()),
    };
    let mut metadata = meta(&name, None, now, rng);
    metadata.insert(
        "annotations".into(),
        json!({"pv.kubernetes.io/provisioned-by": driver, "volume.kubernetes.io/provisioner-deletion-secret-name": "", "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""}),
    );
    metadata.insert(
        "finalizers".into(),
        json!([
            "external-provisioner.volume.kubernetes.io/finalizer",
            "kubernetes.io/pv-protection"
        ]),
    );
    let now_s = rfc3339(now);
    let pv = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": metadata,
        "spec": {
            "accessModes": access,
            "capacity": {"storage": size},
            "claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "name": str_at(pvc, "/metadata/name"), "namespace": str_at(pvc, "/metadata/namespace"),
                "uid": pvc_uid,
            },
            "csi": {
                "driver": driver, "fsType": "ext4", "volumeHandle": handle,
                "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": format!("{}-8081-{driver}", now.as_second() * 1000)},
            },
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]},
            ]}]}},
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": class,
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Bound", "lastPhaseTransitionTime": now_s},
    });
    pvc["spec"]["volumeName"] = json!(name);
    if !pvc["metadata"]["annotations"].is_object() {
        pvc["metadata"]["annotations"] = json!({});
    }
    let ann = &mut pvc["metadata"]["annotations"];
    ann["pv.kubernetes.io/bind-completed"] = json!("yes");
    ann["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    ann["volume.beta.kubernetes.io/storage-provisioner"] = json!(driver);
    ann["volume.kubernetes.io/storage-provisioner"] = json!(driver);
    pvc["status"] = json!({"phase": "Bound", "accessModes": access, "capacity": {"storage": size}});
    pv
}

// ---------------------------------------------------------------------------------------------
// Policy, networking, namespaces, RBAC, config, events
// ---------------------------------------------------------------------------------------------

/// A PDB's limit; the value is an IntOrString (`json!(1)` or `json!("50%")`).
#[derive(Debug, Clone, PartialEq)]
pub enum PdbLimit {
    MinAvailable(Value),
    MaxUnavailable(Value),
}

/// policy/v1 PodDisruptionBudget over `matchLabels` selector labels.
pub fn pod_disruption_budget(
    namespace: &str,
    name: &str,
    selector_labels: &[(&str, &str)],
    limit: PdbLimit,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    let mut spec = json!({"selector": {"matchLabels": labels_value(selector_labels)}});
    match limit {
        PdbLimit::MinAvailable(v) => spec["minAvailable"] = v,
        PdbLimit::MaxUnavailable(v) => spec["maxUnavailable"] = v,
    }
    with(
        json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "spec": spec,
        "status": {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// An IntOrString scaled against `total` the way the disruption controller does (percentages
/// round up).
pub fn scaled_int_or_percent(v: &Value, total: u32) -> u32 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0).min(u64::from(u32::MAX)) as u32,
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<u64>().ok()) {
            Some(p) => (p * u64::from(total)).div_ceil(100) as u32,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// The disruption controller's status for `expected` matching pods of which `healthy` are
/// ready: desiredHealthy, disruptionsAllowed and the DisruptionAllowed condition.
pub fn set_pdb_status(pdb: &mut Value, expected: u32, healthy: u32, now: Timestamp) {
    let desired = if let Some(min) = pdb.pointer("/spec/minAvailable") {
        scaled_int_or_percent(min, expected)
    } else if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
        expected.saturating_sub(scaled_int_or_percent(max, expected))
    } else {
        expected
    };
    let allowed = healthy.saturating_sub(desired);
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let prev = pdb["status"]["conditions"].clone();
    pdb["status"] = json!({
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "disruptionsAllowed": allowed,
        "expectedPods": expected,
        "observedGeneration": generation,
        "conditions": if prev.is_array() { prev } else { json!([]) },
    });
    let (st, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let now_s = rfc3339(now);
    let conds = conditions_mut(pdb, "conditions");
    set_condition(
        conds,
        "DisruptionAllowed",
        st,
        Some(reason),
        Some(""),
        &now_s,
    );
    for c in conds.iter_mut() {
        c["observedGeneration"] = json!(generation);
        if let Some(o) = c.as_object_mut() {
            o.remove("lastProbeTime");
        }
    }
}

/// core/v1 Namespace with the `kubernetes.io/metadata.name` label, Pod Security Admission
/// labels for `pss_level` (enforce, audit and warn at `latest`), finalizer and phase Active.
pub fn namespace(
    name: &str,
    pss_level: Option<&str>,
    labels: &[(&str, &str)],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let mut l = Map::new();
    l.insert("kubernetes.io/metadata.name".into(), json!(name));
    if let Some(level) = pss_level {
        for mode in ["enforce", "audit", "warn"] {
            l.insert(format!("pod-security.kubernetes.io/{mode}"), json!(level));
            l.insert(
                format!("pod-security.kubernetes.io/{mode}-version"),
                json!("latest"),
            );
        }
    }
    for (k, v) in labels {
        l.insert((*k).to_string(), json!(v));
    }
    let mut metadata = meta(name, None, now, rng);
    metadata.insert("labels".into(), Value::Object(l));
    with(
        json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// ClusterIP Service (single-stack IPv4) exposing `port` as "http" to `selector`;
/// `cluster_ip` "None" makes it headless.
pub fn service(
    namespace: &str,
    name: &str,
    selector: &[(&str, &str)],
    port: u16,
    cluster_ip: &str,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("labels".into(), labels_value(selector));
    let mut spec = json!({
        "clusterIP": cluster_ip,
        "clusterIPs": [cluster_ip],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": port}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
    });
    if !selector.is_empty() {
        spec["selector"] = labels_value(selector);
    }
    with(
        json!({
        "apiVersion": "v1",
        "kind": "Service",
        "spec": spec,
        "status": {"loadBalancer": {}},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkPolicyKind {
    /// `default-deny-ingress`: selects every pod, allows no ingress.
    DefaultDeny,
    /// `allow-same-namespace`: every pod accepts traffic from pods of its namespace.
    AllowSameNamespace,
}

pub fn network_policy(
    namespace: &str,
    kind: NetworkPolicyKind,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let (name, spec) = match kind {
        NetworkPolicyKind::DefaultDeny => (
            "default-deny-ingress",
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
        ),
        NetworkPolicyKind::AllowSameNamespace => (
            "allow-same-namespace",
            json!({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}], "policyTypes": ["Ingress"]}),
        ),
    };
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec})
}

pub fn service_account(namespace: &str, name: &str, rng: &mut SimRng, now: Timestamp) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, Some(namespace), now, rng)})
}

pub fn config_map(
    namespace: &str,
    name: &str,
    data: &[(&str, &str)],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(name, Some(namespace), now, rng),
        "data": labels_value(data),
    })
}

/// An RBAC PolicyRule.
pub fn policy_rule(api_groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": api_groups, "resources": resources, "verbs": verbs})
}

/// An RBAC subject: kind "User", "Group" or "ServiceAccount" (which needs a namespace).
pub fn subject(kind: &str, name: &str, namespace: Option<&str>) -> Value {
    match (kind, namespace) {
        ("ServiceAccount", ns) => {
            json!({"kind": kind, "name": name, "namespace": ns.unwrap_or("default")})
        }
        _ => json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}),
    }
}

pub fn role(
    namespace: &str,
    name: &str,
    rules: Vec<Value>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(name, Some(namespace), now, rng),
        "rules": rules,
    })
}

/// `role_kind` is "Role" or "ClusterRole".
#[allow(clippy::too_many_arguments)]
pub fn role_binding(
    namespace: &str,
    name: &str,
    role_kind: &str,
    role_name: &str,
    subjects: Vec<Value>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(name, Some(namespace), now, rng),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": subjects,
    })
}

pub fn cluster_role(name: &str, rules: Vec<Value>, rng: &mut SimRng, now: Timestamp) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(name, None, now, rng),
        "rules": rules,
    })
}

pub fn cluster_role_binding(
    name: &str,
    role_name: &str,
    subjects: Vec<Value>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(name, None, now, rng),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
        "subjects": subjects,
    })
}

/// scheduling.k8s.io/v1 PriorityClass.
pub fn priority_class(
    name: &str,
    value: i64,
    description: &str,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": meta(name, None, now, rng),
        "value": value,
        "description": description,
        "preemptionPolicy": "PreemptLowerPriority",
    })
}

/// core/v1 Event about `involved`, named `<object>.<hex unix nanos>` as client-go's recorder
/// names them, in the object's namespace ("default" for cluster-scoped objects).
pub fn event(
    involved: &Value,
    reason: &str,
    message: &str,
    type_: &str,
    component: &str,
    now: Timestamp,
    rng: &mut SimRng,
) -> Value {
    let obj_name = str_at(involved, "/metadata/name");
    let obj_ns = involved
        .pointer("/metadata/namespace")
        .and_then(Value::as_str);
    let ns = obj_ns.unwrap_or("default");
    // Nanoseconds with random low digits: two events in the same simulated instant differ.
    let nanos = now.as_nanosecond().max(0) as u128 + u128::from(rng.range_inclusive(0, 999_999));
    let name = format!("{obj_name}.{nanos:x}");
    let mut involved_ref = json!({
        "apiVersion": str_at(involved, "/apiVersion"),
        "kind": str_at(involved, "/kind"),
        "name": obj_name,
        "uid": str_at(involved, "/metadata/uid"),
    });
    if let Some(n) = obj_ns {
        involved_ref["namespace"] = json!(n);
    }
    if let Some(rv) = involved.pointer("/metadata/resourceVersion") {
        involved_ref["resourceVersion"] = rv.clone();
    }
    let now_s = rfc3339(now);
    let mut source = json!({"component": component});
    if component == "kubelet"
        && let Some(host) = involved.pointer("/spec/nodeName").and_then(Value::as_str)
    {
        source["host"] = json!(host);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta(&name, Some(ns), now, rng),
        "involvedObject": involved_ref,
        "reason": reason,
        "message": message,
        "type": type_,
        "source": source,
        "firstTimestamp": now_s,
        "lastTimestamp": now_s,
        "count": 1,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": "",
    })
}

// ---------------------------------------------------------------------------------------------
// Application pod templates
// ---------------------------------------------------------------------------------------------

/// What to build an application's PodTemplateSpec from.
#[derive(Debug, Clone)]
pub struct AppTemplateParams<'a> {
    pub app: &'a str,
    pub team: &'a str,
    /// Target total CPU request across containers; actual requests are rounded down to
    /// common values (never above the target). 0 or less gives a BestEffort pod.
    pub cpu_millis: i64,
    /// Target total memory request in bytes, rounded down the same way.
    pub memory_bytes: i64,
    /// Add a toleration for the AKS spot taint (batch-style workloads).
    pub tolerate_spot: bool,
    /// Whether every container meets the `restricted` Pod Security Standard; `None` decides
    /// at random (60% yes). Namespaces enforcing `restricted` need `Some(true)`, or their
    /// pods would be rejected at admission.
    pub hardened: Option<bool>,
}

const CPU_STEPS: [i64; 19] = [
    5, 10, 20, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000,
];
const MEM_STEPS_MI: [i64; 18] = [
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
];

/// The largest step not above `target` (the smallest step if all are above).
fn snap_down(steps: &[i64], target: i64) -> i64 {
    steps
        .iter()
        .copied()
        .filter(|s| *s <= target)
        .max()
        .unwrap_or(steps[0])
}

fn resources(cpu: i64, mem_mi: i64, shape: u8) -> Value {
    let req = json!({"cpu": format_cpu(cpu), "memory": format!("{mem_mi}Mi")});
    match shape {
        // Guaranteed: limits equal requests.
        0 => json!({"requests": req, "limits": req.clone()}),
        // Burstable with a CPU limit.
        1 => {
            json!({"requests": req, "limits": {"cpu": format_cpu(cpu * 2), "memory": format!("{}Mi", mem_mi * 2)}})
        }
        // Burstable, memory limit only (the common "no CPU limits" practice).
        _ => json!({"requests": req, "limits": {"memory": format!("{}Mi", mem_mi * 3 / 2)}}),
    }
}

/// A realistic PodTemplateSpec for an application: one or two containers from a plausible
/// image list, requests and limits (Guaranteed, Burstable or BestEffort), a named port,
/// readiness (and often liveness) probes, sometimes emptyDir volumes and a hardened
/// securityContext; labels `app`, `app.kubernetes.io/name`, `team`.
pub fn app_pod_template(p: &AppTemplateParams<'_>, rng: &mut SimRng) -> Value {
    let minor = rng.range_inclusive(0, 14);
    let patch = rng.range_inclusive(0, 9);
    let own = format!(
        "registry.example.com/{}/{}:v1.{minor}.{patch}",
        p.team, p.app
    );
    let common = [
        "nginx:1.27.3",
        "redis:7.4.1",
        "envoyproxy/envoy:v1.32.3",
        "ghcr.io/example/api-gateway:2.8.0",
        "python:3.12-slim",
        "node:22-alpine",
        "registry.example.com/shared/worker:latest",
    ];
    let image = if rng.chance(0.65) {
        own
    } else {
        (*rng.pick(&common).expect("image list is not empty")).to_string()
    };
    let best_effort = p.cpu_millis <= 0 || p.memory_bytes <= 0;
    let sidecar = rng.chance(0.3);
    let shape = match rng.range_inclusive(0, 99) {
        0..=14 => 0,
        15..=49 => 1,
        _ => 2,
    };
    let main_share = if sidecar { 80 } else { 100 };
    let cpu = snap_down(&CPU_STEPS, p.cpu_millis * main_share / 100);
    let mem_mi = snap_down(&MEM_STEPS_MI, (p.memory_bytes >> 20) * main_share / 100);
    let hardened = match p.hardened {
        Some(h) => h,
        None => rng.chance(0.6),
    };
    let restricted_ctx = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "runAsUser": 10001,
    });
    let port = *rng
        .pick(&[8080u16, 8080, 8000, 9090, 3000])
        .expect("port list is not empty");

    let mut main = json!({
        "name": p.app,
        "image": image,
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5},
        "env": [
            {"name": "APP_NAME", "value": p.app},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        ],
    });
    if !best_effort {
        main["resources"] = resources(cpu, mem_mi, shape);
    }
    if rng.chance(0.6) {
        main["livenessProbe"] = json!({"httpGet": {"path": "/livez", "port": "http"}, "initialDelaySeconds": 15, "periodSeconds": 20});
    }
    if hardened {
        main["securityContext"] = restricted_ctx.clone();
    }
    let mut volumes = Vec::new();
    if rng.chance(0.3) {
        volumes.push(json!({"name": "tmp", "emptyDir": {}}));
        main["volumeMounts"] = json!([{"name": "tmp", "mountPath": "/tmp"}]);
    }
    if rng.chance(0.1) {
        volumes.push(json!({"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}));
        if !main["volumeMounts"].is_array() {
            main["volumeMounts"] = json!([]);
        }
        if let Some(m) = main["volumeMounts"].as_array_mut() {
            m.push(json!({"name": "cache", "mountPath": "/var/cache/app"}));
        }
    }
    let mut containers = vec![main];
    if sidecar {
        let (name, image) = *rng
            .pick(&[
                ("envoy", "envoyproxy/envoy:v1.32.3"),
                ("fluent-bit", "fluent/fluent-bit:3.2.4"),
            ])
            .expect("sidecar list is not empty");
        let mut c = json!({"name": name, "image": image});
        if !best_effort {
            let scpu = snap_down(&CPU_STEPS, p.cpu_millis / 5);
            let smem = snap_down(&MEM_STEPS_MI, (p.memory_bytes >> 20) / 5);
            c["resources"] = resources(scpu, smem, shape);
        }
        if name == "envoy" {
            c["ports"] = json!([{"name": "envoy-admin", "containerPort": 9901}]);
        }
        if hardened {
            c["securityContext"] = restricted_ctx;
        }
        containers.push(c);
    }
    let mut spec = json!({"containers": containers});
    if !volumes.is_empty() {
        spec["volumes"] = Value::Array(volumes);
    }
    if hardened {
        spec["securityContext"] =
            json!({"seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 10001});
    }
    if p.tolerate_spot {
        spec["tolerations"] = json!([{
            "key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule",
        }]);
    }
    if rng.chance(0.4) {
        spec["serviceAccountName"] = json!(p.app);
    }
    json!({
        "metadata": {"labels": {"app": p.app, "app.kubernetes.io/name": p.app, "team": p.team}},
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn timestamps_match_jiff() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-11-29T12:00:00Z",
            "2100-03-01T00:00:01Z",
        ] {
            assert_eq!(rfc3339(ts(s)), s);
        }
        assert_eq!(
            rfc3339(ts("2026-11-29T12:00:00.999Z")),
            "2026-11-29T12:00:00Z"
        );
        assert_eq!(
            rfc3339_micros(ts("2026-11-29T12:00:00.0012345Z")),
            "2026-11-29T12:00:00.001234Z"
        );
        let t = ts("2031-07-04T05:06:07Z");
        assert_eq!(rfc3339(t), t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    }

    #[test]
    fn quantities() {
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("1.5"), Some(1500));
        assert_eq!(cpu_millis("0.0001"), Some(1));
        assert_eq!(memory_bytes("64Mi"), Some(64 << 20));
        assert_eq!(memory_bytes("1G"), Some(1_000_000_000));
        assert_eq!(memory_bytes("1e3"), Some(1000));
        assert_eq!(memory_bytes("12Gi"), Some(12 << 30));
        assert_eq!(cpu_millis("lots"), None);
        assert_eq!(cpu_millis("1Zi"), None);
        assert_eq!(format_cpu(7910), "7910m");
        assert_eq!(format_cpu(4000), "4");
        assert_eq!(format_memory(64 << 20), "64Mi");
        assert_eq!(format_memory(3 << 30), "3Gi");
        assert_eq!(format_memory(1000), "1000");
    }

    fn params(provider: &str, spot: bool) -> NodeParams {
        NodeParams {
            name: "aks-general-12345678-vmss00000a".into(),
            pool: "general".into(),
            instance_type: "Standard_D8s_v5".into(),
            capacity_type: if spot {
                CapacityType::Spot
            } else {
                CapacityType::OnDemand
            },
            provider: provider.into(),
            region: "eastus".into(),
            zone: "eastus-1".into(),
            kubelet_version: "1.31.4".into(),
            cpu_millis: 7910,
            memory_bytes: 29_021 << 20,
            max_pods: 110,
            internal_ip: "10.16.0.4".into(),
            created: ts("2026-11-01T00:00:00Z"),
            ready: true,
        }
    }

    #[test]
    fn node_labels_and_status_per_provider() {
        let mut rng = SimRng::new(1);
        let n = node(&params("azure", true), &mut rng);
        let l = &n["metadata"]["labels"];
        assert_eq!(l["kubernetes.azure.com/scalesetpriority"], "spot");
        assert_eq!(l["kubernetes.azure.com/agentpool"], "general");
        assert_eq!(l["capstan.io/node-pool"], "general");
        assert_eq!(
            n["spec"]["taints"][0]["key"],
            "kubernetes.azure.com/scalesetpriority"
        );
        assert!(
            n["spec"]["providerID"]
                .as_str()
                .unwrap()
                .ends_with("virtualMachineScaleSets/aks-general-12345678-vmss/virtualMachines/10")
        );
        assert_eq!(n["status"]["allocatable"]["cpu"], "7910m");
        assert_eq!(n["status"]["capacity"]["cpu"], "8");
        assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], "v1.31.4");
        assert!(n["metadata"].get("resourceVersion").is_none());

        let n = node(&params("aws", true), &mut rng);
        let l = &n["metadata"]["labels"];
        assert_eq!(l["eks.amazonaws.com/capacityType"], "SPOT");
        assert_eq!(l["karpenter.sh/capacity-type"], "spot");
        assert_eq!(l["eks.amazonaws.com/nodegroup"], "general");
        assert!(n["spec"].get("taints").is_none());
        assert!(
            n["spec"]["providerID"]
                .as_str()
                .unwrap()
                .starts_with("aws:///eastus-1/i-0")
        );
        assert!(
            n["status"]["nodeInfo"]["kubeletVersion"]
                .as_str()
                .unwrap()
                .starts_with("v1.31.4-eks-")
        );

        let n = node(&params("gcp", false), &mut rng);
        assert!(
            n["metadata"]["labels"]
                .get("cloud.google.com/gke-spot")
                .is_none()
        );
        assert_eq!(
            n["metadata"]["labels"]["cloud.google.com/gke-nodepool"],
            "general"
        );
        let n = node(&params("gcp", true), &mut rng);
        assert_eq!(n["metadata"]["labels"]["cloud.google.com/gke-spot"], "true");
    }

    fn condition<'a>(obj: &'a Value, t: &str) -> &'a Value {
        obj["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .unwrap()
    }

    #[test]
    fn node_ready_flips_transition_only_on_change() {
        let mut rng = SimRng::new(2);
        let mut n = node(&params("onprem", false), &mut rng);
        let t1 = ts("2026-11-02T00:00:00Z");
        set_node_ready(&mut n, true, t1);
        let r = condition(&n, "Ready");
        assert_eq!(r["lastTransitionTime"], "2026-11-01T00:00:00Z");
        assert_eq!(r["lastHeartbeatTime"], "2026-11-02T00:00:00Z");
        let t2 = ts("2026-11-02T00:05:00Z");
        set_node_ready(&mut n, false, t2);
        let r = condition(&n, "Ready");
        assert_eq!(r["status"], "False");
        assert_eq!(r["reason"], "KubeletNotReady");
        assert_eq!(r["lastTransitionTime"], "2026-11-02T00:05:00Z");
        let taints = n["spec"]["taints"].as_array().unwrap();
        assert_eq!(taints.len(), 2);
        assert!(
            taints
                .iter()
                .any(|t| t["effect"] == "NoExecute" && t["timeAdded"] == "2026-11-02T00:05:00Z")
        );
        // The NetworkUnavailable condition belongs to the CNI: no kubelet heartbeat on it.
        assert_eq!(
            condition(&n, "NetworkUnavailable")["lastHeartbeatTime"],
            "2026-11-01T00:00:00Z"
        );
        set_node_ready(&mut n, true, ts("2026-11-02T00:06:00Z"));
        assert!(n["spec"].get("taints").is_none());
        assert_eq!(condition(&n, "Ready")["reason"], "KubeletReady");
        set_node_unreachable(&mut n, ts("2026-11-02T00:07:00Z"));
        assert_eq!(condition(&n, "Ready")["status"], "Unknown");
        assert_eq!(
            n["spec"]["taints"][0]["key"],
            "node.kubernetes.io/unreachable"
        );
    }

    #[test]
    fn lease_shape() {
        let mut rng = SimRng::new(3);
        let l = node_lease("n1", "uid-1", ts("2026-11-29T12:00:00Z"), &mut rng);
        assert_eq!(l["spec"]["renewTime"], "2026-11-29T12:00:00.000000Z");
        assert_eq!(l["spec"]["leaseDurationSeconds"], 40);
        assert_eq!(l["metadata"]["namespace"], "kube-node-lease");
        assert_eq!(l["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    }

    fn template(resources: Value) -> Value {
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
            {"name": "web", "image": "nginx:latest", "resources": resources, "readinessProbe": {"httpGet": {"path": "/", "port": 80}}},
        ]}})
    }

    #[test]
    fn pod_defaults_and_qos() {
        let mut rng = SimRng::new(4);
        let now = ts("2026-11-29T12:00:00Z");
        let t = template(json!({"limits": {"cpu": "500m", "memory": "128Mi"}}));
        let owner = OwnerRef {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web-abc".into(),
            uid: "u".into(),
            controller: true,
        };
        let p = pod_from_template(
            &t,
            "ns",
            "web-abc-xyz12",
            Some(owner),
            &[("x", "y")],
            now,
            &mut rng,
        );
        assert_eq!(p["status"]["qosClass"], "Guaranteed");
        assert_eq!(p["status"]["phase"], "Pending");
        assert_eq!(p["metadata"]["generateName"], "web-abc-");
        assert_eq!(p["metadata"]["labels"]["x"], "y");
        assert_eq!(
            p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
            true
        );
        let s = &p["spec"];
        assert_eq!(s["restartPolicy"], "Always");
        assert_eq!(s["schedulerName"], "default-scheduler");
        assert_eq!(s["serviceAccountName"], "default");
        assert_eq!(s["enableServiceLinks"], true);
        assert_eq!(s["priority"], 0);
        assert_eq!(s["tolerations"].as_array().unwrap().len(), 2);
        let c = &s["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["resources"]["requests"]["cpu"], "500m");
        assert_eq!(c["readinessProbe"]["periodSeconds"], 10);
        assert_eq!(
            c["volumeMounts"][0]["mountPath"],
            "/var/run/secrets/kubernetes.io/serviceaccount"
        );
        assert!(
            s["volumes"][0]["name"]
                .as_str()
                .unwrap()
                .starts_with("kube-api-access-")
        );
        assert!(p["spec"].get("nodeName").is_none());

        let burst = pod_from_template(
            &template(json!({"requests": {"cpu": "100m"}})),
            "ns",
            "a",
            None,
            &[],
            now,
            &mut rng,
        );
        assert_eq!(burst["status"]["qosClass"], "Burstable");
        let be = pod_from_template(&template(json!({})), "ns", "b", None, &[], now, &mut rng);
        assert_eq!(be["status"]["qosClass"], "BestEffort");
        let mut t2 = template(
            json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}}),
        );
        t2["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        let g = pod_from_template(&t2, "ns", "c", None, &[], now, &mut rng);
        assert_eq!(g["status"]["qosClass"], "Guaranteed");
        assert_eq!(
            g["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(pod_requests(&g["spec"]), (1000, 1 << 30));
    }

    #[test]
    fn pod_lifecycle() {
        let mut rng = SimRng::new(5);
        let now = ts("2026-11-29T12:00:00Z");
        let mut p = pod_from_template(
            &template(json!({})),
            "ns",
            "web-1",
            None,
            &[],
            now,
            &mut rng,
        );
        bind_pod(&mut p, "node-a", now);
        assert_eq!(p["spec"]["nodeName"], "node-a");
        assert_eq!(condition(&p, "PodScheduled")["status"], "True");
        let later = ts("2026-11-29T12:00:05Z");
        set_pod_running(&mut p, "10.0.0.1", "10.1.0.5", later);
        assert_eq!(p["status"]["phase"], "Running");
        let types: Vec<&str> = p["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled"
            ]
        );
        assert_eq!(
            condition(&p, "PodScheduled")["lastTransitionTime"],
            "2026-11-29T12:00:00Z"
        );
        let cs = &p["status"]["containerStatuses"][0];
        assert_eq!(cs["image"], "docker.io/library/nginx:latest");
        assert!(
            cs["imageID"]
                .as_str()
                .unwrap()
                .starts_with("docker.io/library/nginx@sha256:")
        );
        assert_eq!(
            cs["containerID"].as_str().unwrap().len(),
            "containerd://".len() + 64
        );
        assert_eq!(cs["state"]["running"]["startedAt"], "2026-11-29T12:00:05Z");

        set_pod_crashlooping(&mut p, 4, ts("2026-11-29T12:10:00Z"));
        let cs = &p["status"]["containerStatuses"][0];
        assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert!(
            cs["state"]["waiting"]["message"]
                .as_str()
                .unwrap()
                .starts_with("back-off 1m20s restarting failed container=web pod=web-1_ns(")
        );
        assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(cs["restartCount"], 4);
        assert_eq!(condition(&p, "Ready")["status"], "False");
        assert_eq!(
            condition(&p, "Ready")["message"],
            "containers with unready status: [web]"
        );
        assert_eq!(p["status"]["phase"], "Running");

        let mut q = pod_from_template(
            &template(json!({})),
            "ns",
            "web-2",
            None,
            &[],
            now,
            &mut rng,
        );
        set_pod_running(&mut q, "10.0.0.1", "10.1.0.6", now);
        set_pod_not_ready(&mut q, later);
        assert_eq!(
            condition(&q, "ContainersReady")["reason"],
            "ContainersNotReady"
        );
        assert_eq!(q["status"]["containerStatuses"][0]["started"], true);
    }

    #[test]
    fn deployment_replicaset_and_hash() {
        let mut rng = SimRng::new(6);
        let now = ts("2026-11-29T12:00:00Z");
        let t = app_pod_template(
            &AppTemplateParams {
                app: "cart",
                team: "checkout",
                cpu_millis: 300,
                memory_bytes: 512 << 20,
                tolerate_spot: false,
                hardened: None,
            },
            &mut rng,
        );
        let d = deployment("shop", "cart", 3, &t, &mut rng, now);
        assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "cart");
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert!(d["spec"]["template"]["metadata"]["creationTimestamp"].is_null());
        let h = pod_template_hash(&d["spec"]["template"]);
        assert!(
            (9..=10).contains(&h.len())
                && h.bytes()
                    .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)),
            "{h}"
        );
        assert_eq!(h, pod_template_hash(&d["spec"]["template"].clone()));
        let rs = replica_set_for(&d, &h, 3, &mut rng, now);
        assert_eq!(rs["metadata"]["name"], format!("cart-{h}"));
        assert_eq!(
            rs["metadata"]["ownerReferences"][0]["uid"],
            d["metadata"]["uid"]
        );
        assert_eq!(
            rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
            h.as_str()
        );
        assert_eq!(
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1"
        );
        let p = replica_set_pod(&rs, now, &mut rng);
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], h.as_str());
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        let (cpu, mem) = pod_requests(&p["spec"]);
        assert!(cpu <= 300 && cpu > 0 && mem <= 512 << 20, "{cpu} {mem}");
        let mut d2 = d.clone();
        set_workload_status(
            &mut d2,
            WorkloadCounts {
                desired: 3,
                current: 3,
                ready: 3,
            },
            now,
        );
        assert_eq!(d2["status"]["availableReplicas"], 3);
        assert_eq!(condition(&d2, "Available")["status"], "True");
    }

    #[test]
    fn daemonset_and_statefulset_pods() {
        let mut rng = SimRng::new(7);
        let now = ts("2026-11-29T12:00:00Z");
        let t = json!({"metadata": {"labels": {"k8s-app": "kube-proxy"}}, "spec": {"hostNetwork": true, "tolerations": [{"operator": "Exists"}], "priorityClassName": "system-node-critical", "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.4"}]}});
        let ds = daemon_set("kube-system", "kube-proxy", &t, &mut rng, now);
        assert_eq!(
            ds["spec"]["selector"]["matchLabels"]["k8s-app"],
            "kube-proxy"
        );
        let p = daemon_set_pod(&ds, "node-1", now, &mut rng);
        assert_eq!(p["spec"]["priority"], 2_000_001_000);
        assert_eq!(
            p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                ["nodeSelectorTerms"][0]["matchFields"][0]["values"][0],
            "node-1"
        );
        let tol = p["spec"]["tolerations"].as_array().unwrap();
        assert!(
            tol.iter()
                .any(|t| t["key"] == "node.kubernetes.io/network-unavailable")
        );
        assert!(tol.iter().all(|t| t.get("tolerationSeconds").is_none()));

        let claims = [volume_claim_template("data", "gp3", "20Gi")];
        let tpl = json!({"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16.4"}]}});
        let sts = stateful_set("data", "db", 3, &tpl, &claims, &mut rng, now);
        let p = stateful_set_pod(&sts, 1, now, &mut rng);
        assert_eq!(p["metadata"]["name"], "db-1");
        assert_eq!(p["spec"]["hostname"], "db-1");
        assert_eq!(
            p["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "data-db-1"
        );
        let mut pvc = pvc_for_statefulset(&sts, "data", 1, Some("node-1"), &mut rng, now);
        assert_eq!(pvc["metadata"]["name"], "data-db-1");
        let pv = persistent_volume(&mut pvc, "aws", "us-east-1a", &mut rng, now);
        assert_eq!(pvc["spec"]["volumeName"], pv["metadata"]["name"]);
        assert_eq!(pv["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"]);
        assert_eq!(pvc["status"]["phase"], "Bound");
        assert_eq!(pv["spec"]["capacity"]["storage"], "20Gi");
    }

    #[test]
    fn pdb_status_math() {
        let mut rng = SimRng::new(8);
        let now = ts("2026-11-29T12:00:00Z");
        let mut p = pod_disruption_budget(
            "ns",
            "web",
            &[("app", "web")],
            PdbLimit::MinAvailable(json!("50%")),
            &mut rng,
            now,
        );
        set_pdb_status(&mut p, 5, 5, now);
        assert_eq!(p["status"]["desiredHealthy"], 3);
        assert_eq!(p["status"]["disruptionsAllowed"], 2);
        assert_eq!(condition(&p, "DisruptionAllowed")["status"], "True");
        let mut p = pod_disruption_budget(
            "ns",
            "web",
            &[("app", "web")],
            PdbLimit::MaxUnavailable(json!("25%")),
            &mut rng,
            now,
        );
        set_pdb_status(&mut p, 2, 2, now);
        assert_eq!(p["status"]["desiredHealthy"], 1);
        let mut p = pod_disruption_budget(
            "ns",
            "one",
            &[("app", "one")],
            PdbLimit::MinAvailable(json!(1)),
            &mut rng,
            now,
        );
        set_pdb_status(&mut p, 1, 1, now);
        assert_eq!(p["status"]["disruptionsAllowed"], 0);
        assert_eq!(
            condition(&p, "DisruptionAllowed")["reason"],
            "InsufficientPods"
        );
    }

    #[test]
    fn namespace_event_and_misc() {
        let mut rng = SimRng::new(9);
        let now = ts("2026-11-29T12:00:00Z");
        let ns = namespace(
            "shop",
            Some("restricted"),
            &[("team", "checkout")],
            &mut rng,
            now,
        );
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "shop"
        );
        assert_eq!(
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        assert_eq!(ns["spec"]["finalizers"][0], "kubernetes");
        let plain = namespace("x", None, &[], &mut rng, now);
        assert!(
            plain["metadata"]["labels"]
                .get("pod-security.kubernetes.io/enforce")
                .is_none()
        );
        let e = event(&ns, "Created", "made", "Normal", "capstan", now, &mut rng);
        let name = e["metadata"]["name"].as_str().unwrap();
        let (obj, hex) = name.split_once('.').unwrap();
        assert_eq!(obj, "shop");
        assert!(hex.len() >= 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(e["metadata"]["namespace"], "default");
        assert_eq!(e["involvedObject"]["uid"], ns["metadata"]["uid"]);
        let svc = service(
            "shop",
            "web",
            &[("app", "web")],
            8080,
            "10.96.0.20",
            &mut rng,
            now,
        );
        assert_eq!(svc["spec"]["clusterIPs"][0], "10.96.0.20");
        assert_eq!(svc["spec"]["selector"]["app"], "web");
    }

    #[test]
    fn same_seed_same_objects() {
        let now = ts("2026-11-29T12:00:00Z");
        let build = || {
            let mut rng = SimRng::new(11);
            let t = app_pod_template(
                &AppTemplateParams {
                    app: "a",
                    team: "t",
                    cpu_millis: 100,
                    memory_bytes: 128 << 20,
                    tolerate_spot: true,
                    hardened: Some(true),
                },
                &mut rng,
            );
            let d = deployment("n", "a", 2, &t, &mut rng, now);
            let rs = replica_set_for(
                &d,
                &pod_template_hash(&d["spec"]["template"]),
                2,
                &mut rng,
                now,
            );
            replica_set_pod(&rs, now, &mut rng)
        };
        assert_eq!(build(), build());
    }
}
