//! Nodes and their leases, named and addressed as each provider does.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::json;

use super::placement::{Placer, Slot};
use super::{DAY, Emitter, at};
use crate::fleet::{CapacityType, ClusterSpec, NodePoolSpec};
use crate::objects as o;

/// Every node of every pool with its lease, spread round-robin over the pool's zones; returns
/// the placement record of the nodes.
pub(super) fn emit_nodes(
    spec: &ClusterSpec,
    now: Timestamp,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
) -> Placer {
    let mut placer = Placer::new();
    let mut zones: Vec<&str> = Vec::new();
    let mut zone_counter: Vec<u32> = Vec::new();
    let now_s = now.as_second();
    for pool in &spec.node_pools {
        let cpu = o::cpu_millis(&pool.cpu).unwrap_or(0);
        let mem = o::memory_bytes(&pool.memory).unwrap_or(0);
        let version = pool.kubelet_version(spec).to_string();
        let pool_age = rng.range_inclusive(5 * DAY as u64, 60 * DAY as u64) as i64;
        // Only AKS taints spot nodes; other clouds leave scheduling to the workloads.
        let tainted = spec.provider == "azure" && pool.capacity_type == CapacityType::Spot;
        for i in 0..pool.nodes {
            let zone = &pool.zones[i as usize % pool.zones.len()];
            let zi = match zones.iter().position(|z| z == zone) {
                Some(p) => p,
                None => {
                    zones.push(zone);
                    zone_counter.push(0);
                    zones.len() - 1
                }
            };
            let k = zone_counter[zi];
            zone_counter[zi] += 1;
            let ip = [10, (16 + zi as u32) % 256, (k / 250) % 256, k % 250 + 4];
            let ip_s = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
            let name = node_name(spec, pool, zone, ip, i);
            // Replacements and scale-ups make some nodes younger than their pool.
            let node_age =
                (pool_age - rng.range_inclusive(0, (pool_age * 4 / 5) as u64) as i64).max(DAY);
            let created = at(now_s - node_age - rng.range_inclusive(0, 3_600) as i64, now);
            let params = o::NodeParams {
                name: name.clone(),
                pool: pool.name.clone(),
                instance_type: pool.instance_type.clone(),
                capacity_type: pool.capacity_type,
                provider: spec.provider.clone(),
                region: spec.region.clone(),
                zone: zone.clone(),
                kubelet_version: version.clone(),
                cpu_millis: cpu,
                memory_bytes: mem,
                max_pods: pool.max_pods,
                internal_ip: ip_s.clone(),
                created,
                ready: true,
            };
            let mut node = o::node(&params, rng);
            // The kubelet has been posting status all along.
            o::set_node_ready(
                &mut node,
                true,
                at(now_s - rng.range_inclusive(0, 240) as i64, now),
            );
            let uid = node["metadata"]["uid"].as_str().unwrap_or("").to_string();
            let mut lease = o::node_lease(
                &name,
                &uid,
                at(now_s - rng.range_inclusive(0, 9) as i64, now),
                rng,
            );
            lease["metadata"]["creationTimestamp"] = json!(o::rfc3339(created));
            e.emit("", "nodes", node);
            e.emit("coordination.k8s.io", "leases", lease);
            let slot = Slot::new(
                name,
                ip_s,
                zone.clone(),
                created.as_second(),
                cpu,
                mem,
                pool.max_pods,
            );
            placer.push(slot, tainted);
        }
    }
    placer
}

/// A node's name as its provider spells it: EC2 private DNS names, GKE instance names, AKS
/// scale-set instances, `<pool>-node-NNNN` on premises. `k` is the node's index in its pool.
fn node_name(spec: &ClusterSpec, pool: &NodePoolSpec, zone: &str, ip: [u32; 4], k: u32) -> String {
    let trunc = |s: &str, n: usize| -> String {
        let t: String = s.chars().take(n).collect();
        t.trim_end_matches('-').to_string()
    };
    match spec.provider.as_str() {
        "aws" => {
            let domain = if spec.region == "us-east-1" {
                "ec2.internal".to_string()
            } else {
                format!("{}.compute.internal", spec.region)
            };
            format!("ip-{}-{}-{}-{}.{domain}", ip[0], ip[1], ip[2], ip[3])
        }
        "gcp" => {
            // gke-<cluster>-<pool>-<instance group hash>-<4 chars>; the suffix is a bijection
            // of the counter so names never collide.
            let group =
                capstan_core::rng::fnv1a(format!("{}/{}/{zone}", spec.name, pool.name).as_bytes());
            let suffix = base36::<4>((u64::from(k) * 1_000_003 + 7_919) % 1_679_616);
            format!(
                "gke-{}-{}-{:08x}-{suffix}",
                trunc(&spec.name, 20),
                trunc(&pool.name, 14),
                group as u32,
            )
        }
        "azure" => {
            let id = capstan_core::rng::fnv1a(format!("{}/{}", spec.name, pool.name).as_bytes())
                % 100_000_000;
            format!(
                "aks-{}-{id:08}-vmss{}",
                pool.name,
                base36::<6>(u64::from(k))
            )
        }
        _ => format!("{}-node-{k:04}", trunc(&pool.name, 40)),
    }
}

/// The last `N` base-36 digits (0-9, a-z) of `v`, zero-padded.
fn base36<const N: usize>(mut v: u64) -> String {
    let mut digits = [b'0'; N];
    for c in digits.iter_mut().rev() {
        *c = b"0123456789abcdefghijklmnopqrstuvwxyz"[(v % 36) as usize];
        v /= 36;
    }
    String::from_utf8_lossy(&digits).into_owned()
}
