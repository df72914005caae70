//! A cluster's node pools: a small system pool and user pools by role (general, compute,
//! memory, batch), their instance types, sizes, spot share and the odd lagging kubelet.

use std::collections::BTreeSet;

use capstan_core::rng::SimRng;
use capstan_core::version::KubeVersion;

use super::allocatable::{allocatable_cpu_millis, reserved_memory_bytes};
use super::plan::MINORS;
use super::regions::zones_of;
use super::{CapacityType, NodePoolSpec};

#[derive(Clone, Copy, PartialEq)]
enum Role {
    System,
    General,
    Compute,
    Memory,
    Batch,
}

impl Role {
    fn pool_name(self, provider: &str, spot: bool) -> String {
        let base = match self {
            Role::System if provider == "gcp" => "default-pool",
            Role::System => "system",
            Role::General => "general",
            Role::Compute => "compute",
            Role::Memory => "memory",
            Role::Batch => "batch",
        };
        // AKS pool names are at most 12 lower-case alphanumerics: no dashes.
        match (spot, provider) {
            (true, "azure") => format!("{base}spot"),
            (true, _) => format!("{base}-spot"),
            (false, _) => base.to_string(),
        }
    }
}

/// Instance type name and memory (GiB) for a provider, pool role and vCPU count.
fn instance_type(provider: &str, role: Role, vcpu: u32) -> (String, u32) {
    let per_cpu = match role {
        Role::Compute => 2,
        Role::Memory => 8,
        _ => 4,
    };
    let aws_size = |v: u32| match v {
        4 => "xlarge".to_string(),
        8 => "2xlarge".to_string(),
        n => format!("{}xlarge", n / 4),
    };
    let name = match provider {
        "aws" => {
            let family = match role {
                Role::Compute => "c6i",
                Role::Memory => "r6i",
                Role::Batch => "m6a",
                _ => "m6i",
            };
            format!("{family}.{}", aws_size(vcpu))
        }
        "gcp" => {
            let family = match role {
                Role::Compute => "n2-highcpu",
                Role::Memory => "n2-highmem",
                Role::System => "e2-standard",
                _ => "n2-standard",
            };
            // n2-highcpu has 1 GiB per vCPU, not 2.
            if role == Role::Compute {
                return (format!("{family}-{vcpu}"), vcpu);
            }
            format!("{family}-{vcpu}")
        }
        "azure" => match role {
            Role::Compute => format!("Standard_F{vcpu}s_v2"),
            Role::Memory => format!("Standard_E{vcpu}s_v5"),
            _ => format!("Standard_D{vcpu}s_v5"),
        },
        _ => format!("vsphere-{vcpu}x{}", vcpu * per_cpu),
    };
    (name, vcpu * per_cpu)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn plan_pools(
    r: &mut SimRng,
    provider: &str,
    region: &str,
    env: &str,
    nodes: u32,
    vcpu: u32,
    max_pods: u32,
    version: KubeVersion,
) -> Vec<NodePoolSpec> {
    let wanted = match nodes {
        0..=19 => r.range_inclusive(2, 3),
        20..=199 => r.range_inclusive(2, 4),
        _ => r.range_inclusive(3, 6),
    } as u32;
    let pool_count = wanted.min(nodes).max(1);
    let all_zones = zones_of(provider, region);
    let spot_share = match env {
        "production" => 0.2,
        "staging" => 0.4,
        _ => 0.5,
    };
    let mut roles = vec![Role::System];
    let extra = [
        Role::General,
        Role::Compute,
        Role::Memory,
        Role::Batch,
        Role::General,
    ];
    roles.extend(extra.iter().take(pool_count as usize - 1));

    // The system pool stays small; the rest share the nodes by random weights.
    let system_nodes = if pool_count == 1 {
        nodes
    } else {
        (nodes / 10).clamp(1, 6)
    };
    let weights: Vec<u64> = (1..pool_count).map(|_| r.range_inclusive(2, 10)).collect();
    let wsum: u64 = weights.iter().sum::<u64>().max(1);
    let rest = nodes - system_nodes;
    let mut counts = vec![system_nodes];
    for w in &weights {
        counts.push(((u64::from(rest) * w / wsum) as u32).max(1));
    }
    // Rounding: give the difference to (or take it from) the largest user pool.
    let assigned: u32 = counts.iter().sum();
    if pool_count > 1 {
        let largest = (1..counts.len())
            .max_by_key(|i| counts[*i])
            .expect("more than one pool");
        if assigned < nodes {
            counts[largest] += nodes - assigned;
        } else {
            let excess = assigned - nodes;
            counts[largest] = counts[largest].saturating_sub(excess).max(1);
        }
    }

    let mut names = BTreeSet::new();
    let mut pools = Vec::with_capacity(roles.len());
    for (idx, role) in roles.iter().enumerate() {
        let spot = *role != Role::System && (*role == Role::Batch || r.chance(spot_share));
        let mut name = role.pool_name(provider, spot);
        let mut k = 2;
        while !names.insert(name.clone()) {
            name = if provider == "azure" {
                format!("{}{k}", role.pool_name(provider, spot))
            } else {
                format!("{}-{k}", role.pool_name(provider, spot))
            };
            k += 1;
        }
        let pool_vcpu = if *role == Role::System {
            vcpu.min(8)
        } else {
            vcpu
        };
        let (itype, mem_gib) = instance_type(provider, *role, pool_vcpu);
        let mem_total = i64::from(mem_gib) << 30;
        let mem_alloc = mem_total - reserved_memory_bytes(mem_total);
        let zones = if counts[idx] >= 3 || r.chance(0.5) {
            all_zones.clone()
        } else {
            all_zones[..1].to_vec()
        };
        pools.push(NodePoolSpec {
            name,
            instance_type: itype,
            capacity_type: if spot {
                CapacityType::Spot
            } else {
                CapacityType::OnDemand
            },
            nodes: counts[idx],
            cpu: crate::objects::format_cpu(allocatable_cpu_millis(pool_vcpu)),
            memory: crate::objects::format_mebibytes(mem_alloc),
            max_pods,
            version: None,
            zones,
        });
    }
    // Stragglers: in some clusters a couple of nodes still run a kubelet one minor behind
    // (a pool someone forgot to roll), carved out of the largest user pool.
    if pools.len() > 1 && r.chance(0.25) {
        let prev = MINORS
            .iter()
            .find(|(m, _)| *m + 1 == version.minor)
            .map(|(_, p)| *p)
            .unwrap_or(10);
        let patch = prev.saturating_sub(r.range_inclusive(0, 3) as u32);
        let old = Some(KubeVersion::new(1, version.minor - 1, patch).to_string());
        let largest = (1..pools.len())
            .max_by_key(|i| pools[*i].nodes)
            .expect("more than one pool");
        if pools.len() < 6 && pools[largest].nodes >= 4 {
            let k = r.range_inclusive(1, 3) as u32;
            pools[largest].nodes -= k;
            let mut legacy = pools[largest].clone();
            // "legacy" suits every provider's pool-name rules (AKS: 12 alphanumerics).
            legacy.name = "legacy".to_string();
            legacy.nodes = k;
            legacy.version = old;
            pools.push(legacy);
        } else {
            let smallest = (1..pools.len())
                .min_by_key(|i| pools[*i].nodes)
                .expect("more than one pool");
            pools[smallest].version = old;
        }
    }
    pools
}
