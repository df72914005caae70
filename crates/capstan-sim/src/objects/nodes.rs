//! Nodes as their kubelet and the cloud controller manager register them, the kubelet's
//! and node lifecycle controller's status updates, and node heartbeat Leases.

use capstan_core::rng::{SimRng, fnv1a};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::quantity::{format_cpu, format_kibibytes};
use super::time::{rfc3339, rfc3339_micros};
use super::{cloud_account, conditions_mut, hex_from, meta, rng_hex, str_at, with};
use crate::fleet::CapacityType;

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
    let mem_capacity = p.memory_bytes + crate::fleet::reserved_memory_bytes(p.memory_bytes);
    let disk_capacity: i64 = 104_845_292 * 1024;
    let disk_alloc = disk_capacity / 100 * 90;
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
                "memory": format_kibibytes(p.memory_bytes),
                "pods": p.max_pods.to_string(),
            },
            "capacity": {
                "cpu": format_cpu(cpu_capacity),
                "ephemeral-storage": format_kibibytes(disk_capacity),
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": format_kibibytes(mem_capacity),
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
