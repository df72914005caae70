//! What a node keeps back for the kubelet and system daemons, as the clouds compute it.

/// Allocatable CPU as GKE and EKS reserve it for system daemons: 6% of the first core, 1% of
/// the second, 0.5% of the next two and 0.25% of the rest.
pub fn allocatable_cpu_millis(vcpu: u32) -> i64 {
    let v = i64::from(vcpu) * 1000;
    let tiers = [(1000, 60), (1000, 10), (2000, 10)];
    let mut left = v;
    let mut reserved = 0;
    for (size, cost) in tiers {
        let take = left.min(size);
        reserved += cost * take / size;
        left -= take;
    }
    reserved += left / 400;
    v - reserved
}

/// Memory reserved for the kubelet and system daemons (GKE's tiers: 25% of the first 4 GiB,
/// 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above) plus the 100 MiB hard
/// eviction threshold.
pub fn reserved_memory_bytes(total: i64) -> i64 {
    const GI: i64 = 1 << 30;
    let tiers = [(4 * GI, 25), (4 * GI, 20), (8 * GI, 10), (112 * GI, 6)];
    let mut left = total;
    let mut reserved = 0;
    for (size, pct) in tiers {
        let take = left.min(size);
        reserved += take / 100 * pct;
        left -= take;
    }
    reserved += left / 100 * 2;
    reserved + 100 * (1 << 20)
}
