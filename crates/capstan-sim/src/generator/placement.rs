//! Where pods go: a record per node of what is still free, and round-robin placement with
//! per-node quotas proportional to allocatable CPU (capped by maxPods).

use serde_json::Value;

/// One node as placement sees it: what it still has free and how many pods it should get.
pub(super) struct Slot {
    pub(super) name: String,
    pub(super) ip: String,
    pub(super) zone: String,
    /// Creation time of the node, in seconds.
    pub(super) created: i64,
    cpu_free: i64,
    mem_free: i64,
    pods_free: u32,
    /// Target app pods for this node (see [`Placer::set_quotas`]).
    quota: u32,
    placed: u32,
    /// Pods given a pod IP on this node so far.
    ip_seq: u32,
}

impl Slot {
    /// A node with all of `cpu`, `mem` (allocatable) and `max_pods` free.
    pub(super) fn new(
        name: String,
        ip: String,
        zone: String,
        created: i64,
        cpu: i64,
        mem: i64,
        max_pods: u32,
    ) -> Self {
        Slot {
            name,
            ip,
            zone,
            created,
            cpu_free: cpu,
            mem_free: mem,
            pods_free: max_pods,
            quota: max_pods,
            placed: 0,
            ip_seq: 0,
        }
    }

    pub(super) fn fits(&self, cpu: i64, mem: i64) -> bool {
        self.pods_free > 0 && self.cpu_free >= cpu && self.mem_free >= mem
    }

    pub(super) fn take(&mut self, cpu: i64, mem: i64) {
        self.cpu_free -= cpu;
        self.mem_free -= mem;
        self.pods_free -= 1;
        self.placed += 1;
    }

    /// The next pod IP on this node, the `index`th slot.
    pub(super) fn pod_ip(&mut self, index: usize) -> String {
        // A /24 per node out of 10.128.0.0/9, as node-IPAM CNIs hand them out.
        let n = index as u32;
        self.ip_seq += 1;
        format!(
            "10.{}.{}.{}",
            128 + (n / 256) % 128,
            n % 256,
            (self.ip_seq % 250) + 2
        )
    }
}

/// Round-robin placement over nodes with room; class 0 is untainted nodes, class 1 nodes
/// with the AKS spot taint (only pods that tolerate it go there).
pub(super) struct Placer {
    pub(super) slots: Vec<Slot>,
    tainted: Vec<bool>,
    open: [Vec<u32>; 2],
    overflow: [Vec<u32>; 2],
    cursor: [usize; 2],
    ocursor: [usize; 2],
}

/// Nodes tried per pod before giving up on a class: keeps placement O(1) per pod.
const TRIES: usize = 24;

impl Placer {
    pub(super) fn new() -> Self {
        Placer {
            slots: Vec::new(),
            tainted: Vec::new(),
            open: [Vec::new(), Vec::new()],
            overflow: [Vec::new(), Vec::new()],
            cursor: [0, 0],
            ocursor: [0, 0],
        }
    }

    pub(super) fn push(&mut self, slot: Slot, tainted: bool) {
        let idx = self.slots.len() as u32;
        self.open[usize::from(tainted)].push(idx);
        self.slots.push(slot);
        self.tainted.push(tainted);
    }

    /// Split `target` app pods over the nodes in proportion to free CPU, each capped at its
    /// free pod slots (water-filling); returns the per-pod (cpu, memory) request that keeps
    /// every node at `fill` of what it has free, and the share of quota on tainted nodes.
    pub(super) fn set_quotas(&mut self, target: u64, fill: f64) -> (i64, i64, f64) {
        let count = |l: f64, slots: &[Slot]| -> u64 {
            slots
                .iter()
                .map(|s| {
                    (u64::from(s.pods_free))
                        .min((l * s.cpu_free.max(0) as f64 / 1000.0).ceil() as u64)
                })
                .sum()
        };
        let mut hi = 1.0f64;
        while count(hi, &self.slots) < target && hi < 1e7 {
            hi *= 2.0;
        }
        let mut lo = 0.0f64;
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if count(mid, &self.slots) >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let mut min_cpu = f64::MAX;
        let mut min_mem = f64::MAX;
        let mut quota_sum = [0u64; 2];
        for (i, s) in self.slots.iter_mut().enumerate() {
            s.placed = 0;
            s.quota = s
                .pods_free
                .min((hi * s.cpu_free.max(0) as f64 / 1000.0).ceil() as u32);
            if s.quota > 0 {
                min_cpu = min_cpu.min(s.cpu_free as f64 / f64::from(s.quota));
                min_mem = min_mem.min(s.mem_free as f64 / f64::from(s.quota));
            }
            quota_sum[usize::from(self.tainted[i])] += u64::from(s.quota);
        }
        // Refill the open lists: system pods may have moved nodes to overflow.
        for c in 0..2 {
            let mut all: Vec<u32> = self.open[c]
                .drain(..)
                .chain(self.overflow[c].drain(..))
                .collect();
            all.sort_unstable();
            self.open[c] = all;
            self.cursor[c] = 0;
            self.ocursor[c] = 0;
        }
        if min_cpu == f64::MAX {
            return (0, 0, 0.0);
        }
        let total = (quota_sum[0] + quota_sum[1]).max(1) as f64;
        (
            (min_cpu * fill) as i64,
            (min_mem * fill) as i64,
            quota_sum[1] as f64 / total,
        )
    }

    /// A node for a pod requesting (cpu, mem), or None when nothing close has room.
    pub(super) fn place(&mut self, cpu: i64, mem: i64, tolerates_taint: bool) -> Option<usize> {
        let classes: &[usize] = if tolerates_taint { &[1, 0] } else { &[0] };
        for &c in classes {
            let mut tries = 0;
            while !self.open[c].is_empty() && tries < TRIES {
                let pos = self.cursor[c] % self.open[c].len();
                let idx = self.open[c][pos] as usize;
                let s = &self.slots[idx];
                if s.pods_free == 0 || s.placed >= s.quota {
                    self.open[c].swap_remove(pos);
                    if s.pods_free > 0 {
                        self.overflow[c].push(idx as u32);
                    }
                    continue;
                }
                tries += 1;
                self.cursor[c] = pos + 1;
                if s.fits(cpu, mem) {
                    self.slots[idx].take(cpu, mem);
                    return Some(idx);
                }
            }
            // Past quota: any node that still fits.
            let mut tries = 0;
            while !self.overflow[c].is_empty() && tries < TRIES {
                let pos = self.ocursor[c] % self.overflow[c].len();
                let idx = self.overflow[c][pos] as usize;
                if self.slots[idx].pods_free == 0 {
                    self.overflow[c].swap_remove(pos);
                    continue;
                }
                tries += 1;
                self.ocursor[c] = pos + 1;
                if self.slots[idx].fits(cpu, mem) {
                    self.slots[idx].take(cpu, mem);
                    return Some(idx);
                }
            }
        }
        None
    }
}

/// Whether a pod template tolerates the AKS spot taint (`kubernetes.azure.com/scalesetpriority`).
pub(super) fn tolerates_spot_taint(template: &Value) -> bool {
    template
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .is_some_and(|ts| {
            ts.iter().any(|t| {
                let key = t.get("key").and_then(Value::as_str).unwrap_or("");
                let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
                let exists = t.get("operator").and_then(Value::as_str) == Some("Exists");
                // An empty key with Exists tolerates every taint.
                let key_ok = if key.is_empty() {
                    exists
                } else {
                    key == "kubernetes.azure.com/scalesetpriority"
                };
                key_ok && matches!(effect, "" | "NoSchedule")
            })
        })
}
