//! Workloads and how their pods land: Deployments with ReplicaSets, DaemonSets,
//! StatefulSets with their volumes, and PodDisruptionBudgets.

use std::collections::HashSet;

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::placement::{Placer, tolerates_spot_taint};
use super::{Emitter, age, at};
use crate::fleet::{ClusterSpec, DisruptionBudgets};
use crate::objects::{self as o, PdbLimit, WorkloadCounts};

/// Emits workloads, placing their pods as it goes.
pub(super) struct Ctx<'a, 'b> {
    pub(super) spec: &'a ClusterSpec,
    pub(super) now: Timestamp,
    pub(super) e: &'a mut Emitter<'b>,
    pub(super) placer: Placer,
    pub(super) rng: SimRng,
    /// Service IPs handed out so far (after the well-known ones).
    pub(super) next_service_ip: u32,
    /// Pods that fit on no node and were left out.
    pub(super) unplaced: u64,
    /// The security posture application templates are decorated with (taken when the
    /// applications are done).
    pub(super) posture: Option<super::addons::TemplatePosture>,
}

impl Ctx<'_, '_> {
    /// The next free ClusterIP.
    pub(super) fn service_ip(&mut self) -> String {
        // 10.96.0.0/12, after the addresses kubernetes (.1) and kube-dns (.10) hold.
        let ip = 0x0A60_0000u32 + 11 + self.next_service_ip;
        self.next_service_ip += 1;
        format!(
            "{}.{}.{}.{}",
            ip >> 24,
            (ip >> 16) & 255,
            (ip >> 8) & 255,
            ip & 255
        )
    }

    /// Deployment, its ReplicaSet and its pods (as many as fit). Returns the pods placed.
    pub(super) fn deployment(
        &mut self,
        ns: &str,
        name: &str,
        replicas: u32,
        template: &Value,
        created: i64,
    ) -> u32 {
        let now_s = self.now.as_second();
        let rs_created = now_s - age(&mut self.rng, 3_600, (now_s - created).max(3_601));
        let rs_created = rs_created.max(created);
        let mut dep = o::deployment(
            ns,
            name,
            replicas,
            template,
            &mut self.rng,
            at(created, self.now),
        );
        let hash = o::pod_template_hash(&dep["spec"]["template"]);
        let mut rs = o::replica_set_for(
            &dep,
            &hash,
            replicas,
            &mut self.rng,
            at(rs_created, self.now),
        );
        let (cpu, mem) = o::pod_requests(&rs["spec"]["template"]["spec"]);
        let tolerates = tolerates_spot_taint(template);
        let mut spots = Vec::with_capacity(replicas as usize);
        for _ in 0..replicas {
            match self.placer.place(cpu, mem, tolerates) {
                Some(i) => spots.push(i),
                None => self.unplaced += 1,
            }
        }
        let placed = spots.len() as u32;
        let counts = all_ready(replicas, placed);
        o::set_workload_status(&mut dep, counts, at(rs_created + 60, self.now));
        o::set_workload_status(&mut rs, counts, at(rs_created + 60, self.now));
        self.e.emit("apps", "deployments", dep);
        // At most 50 names: a Vec beats hashing (and allocating a table) per deployment.
        let mut names: Vec<String> = Vec::with_capacity(spots.len());
        let mut pods = Vec::with_capacity(spots.len());
        // Default the template once; every pod of the ReplicaSet is a copy with its own identity.
        let proto = o::replica_set_pod(&rs, at(rs_created, self.now), &mut self.rng);
        let mut running = None;
        let rs_name = rs["metadata"]["name"].as_str().unwrap_or(name).to_string();
        for idx in spots {
            let created = self.pod_created(rs_created, idx);
            let pod_name = self.generated_name(&rs_name, |n| !names.contains(n));
            names.push(pod_name.clone());
            let pod = self.sibling_pod(&proto, &mut running, &pod_name, idx, created, false);
            pods.push(pod);
        }
        self.e.emit("apps", "replicasets", rs);
        for pod in pods {
            self.e.emit("", "pods", pod);
        }
        placed
    }

    /// A PodDisruptionBudget for a workload of `replicas` pods, with one of the limits teams
    /// commonly pick.
    pub(super) fn pdb_for(
        &mut self,
        ns: &str,
        name: &str,
        selector: (&str, &str),
        replicas: u32,
        created: i64,
    ) {
        if self.spec.disruption_budgets == DisruptionBudgets::DrainSafe {
            // A budget that lets one pod go while all are healthy; none on a single replica,
            // where any budget would block the drain.
            let limit = match (replicas, self.rng.range_inclusive(0, 2)) {
                (0 | 1, _) => return,
                (_, 0) => PdbLimit::MinAvailable(json!(replicas / 2)),
                (_, 1) => PdbLimit::MaxUnavailable(json!(1)),
                _ => PdbLimit::MaxUnavailable(json!("25%")),
            };
            self.emit_pdb(ns, name, selector, limit, at(created, self.now));
            return;
        }
        let limit = if replicas <= 1 {
            // minAvailable 1 on a single replica: the classic budget that blocks every drain.
            PdbLimit::MinAvailable(json!(1))
        } else {
            match self.rng.range_inclusive(0, 3) {
                0 => PdbLimit::MinAvailable(json!((replicas / 2).max(1))),
                1 => {
                    PdbLimit::MinAvailable(json!(if self.rng.chance(0.5) { "50%" } else { "80%" }))
                }
                2 => PdbLimit::MaxUnavailable(json!(1)),
                _ => PdbLimit::MaxUnavailable(json!("25%")),
            }
        };
        self.emit_pdb(ns, name, selector, limit, at(created, self.now));
    }

    /// A PodDisruptionBudget over the pods matching `selector`.
    pub(super) fn emit_pdb(
        &mut self,
        ns: &str,
        name: &str,
        selector: (&str, &str),
        limit: PdbLimit,
        t: Timestamp,
    ) {
        let pdb = o::pod_disruption_budget(ns, name, &[selector], limit, &mut self.rng, t);
        self.e.emit("policy", "poddisruptionbudgets", pdb);
    }

    /// A DaemonSet with one pod on every node it fits on.
    pub(super) fn daemon_set(&mut self, name: &str, template: &Value, created: i64) {
        let mut ds = o::daemon_set(
            "kube-system",
            name,
            template,
            &mut self.rng,
            at(created, self.now),
        );
        let (cpu, mem) = o::pod_requests(&ds["spec"]["template"]["spec"]);
        let nodes = self.placer.slots.len();
        let mut on = Vec::with_capacity(nodes);
        for (i, s) in self.placer.slots.iter_mut().enumerate() {
            if s.fits(cpu, mem) {
                s.take(cpu, mem);
                on.push(i);
            } else {
                self.unplaced += 1;
            }
        }
        let n = on.len() as u32;
        o::set_workload_status(
            &mut ds,
            all_ready(nodes as u32, n),
            at(self.now.as_second() - 120, self.now),
        );
        let rev = o::controller_revision(&ds, 1, &mut self.rng, at(created, self.now));
        self.e.emit("apps", "daemonsets", ds.clone());
        self.e.emit("apps", "controllerrevisions", rev);
        let mut proto: Option<Value> = None;
        // 10,000 random five-character suffixes collide a few times; retry like the API server.
        let mut names: HashSet<String> = HashSet::with_capacity(on.len());
        for idx in on {
            let created =
                self.placer.slots[idx].created + 20 + self.rng.range_inclusive(0, 40) as i64;
            let node = self.placer.slots[idx].name.clone();
            // The first pod is built in full; the rest copy it and retarget the node affinity.
            let mut pod = match &proto {
                None => {
                    let p = o::daemon_set_pod(&ds, &node, at(created, self.now), &mut self.rng);
                    names.insert(p["metadata"]["name"].as_str().unwrap_or("").to_string());
                    proto = Some(p.clone());
                    p
                }
                Some(proto) => {
                    let pod_name = self.generated_name(name, |n| names.insert(n.clone()));
                    let mut p = o::pod_like(proto, &pod_name, at(created, self.now), &mut self.rng);
                    p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                        ["nodeSelectorTerms"][0]["matchFields"][0]["values"] = json!([node]);
                    p
                }
            };
            self.finish_pod(&mut pod, idx, created, true);
            self.e.emit("", "pods", pod);
        }
    }

    /// A 3-replica (or `replicas`) StatefulSet with its headless Service, PVCs and PVs.
    pub(super) fn stateful_set(
        &mut self,
        ns: &str,
        name: &str,
        replicas: u32,
        template: &Value,
        created: i64,
    ) -> u32 {
        let (driver_class, size) = (
            o::storage_driver(&self.spec.provider).1,
            format!(
                "{}Gi",
                [10, 20, 50, 100, 200][self.rng.range_inclusive(0, 4) as usize]
            ),
        );
        let claims = [o::volume_claim_template("data", driver_class, &size)];
        let mut sts = o::stateful_set(
            ns,
            name,
            replicas,
            template,
            &claims,
            &mut self.rng,
            at(created, self.now),
        );
        let (cpu, mem) = o::pod_requests(&sts["spec"]["template"]["spec"]);
        let mut spots = Vec::new();
        for _ in 0..replicas {
            match self.placer.place(cpu, mem, false) {
                Some(i) => spots.push(i),
                // OrderedReady: a missing ordinal stops the ones after it.
                None => break,
            }
        }
        self.unplaced += u64::from(replicas) - spots.len() as u64;
        let placed = spots.len() as u32;
        o::set_workload_status(
            &mut sts,
            all_ready(replicas, placed),
            at(self.now.as_second() - 60, self.now),
        );
        let svc = o::service(
            ns,
            name,
            &[("app", name)],
            5432,
            "None",
            &mut self.rng,
            at(created, self.now),
        );
        self.e.emit("", "services", svc);
        let rev = o::controller_revision(&sts, 1, &mut self.rng, at(created, self.now));
        self.e.emit("apps", "statefulsets", sts.clone());
        self.e.emit("apps", "controllerrevisions", rev);
        for (ordinal, idx) in spots.into_iter().enumerate() {
            let pod_created = self.pod_created(created, idx);
            let node = self.placer.slots[idx].name.clone();
            let zone = self.placer.slots[idx].zone.clone();
            let claim_at = at(created + 5 * ordinal as i64, self.now);
            let mut pvc = o::pvc_for_statefulset(
                &sts,
                "data",
                ordinal as u32,
                Some(&node),
                &mut self.rng,
                claim_at,
            );
            let pv = o::persistent_volume(
                &mut pvc,
                &self.spec.provider,
                &zone,
                &mut self.rng,
                at(created + 5 * ordinal as i64 + 3, self.now),
            );
            self.e.emit("", "persistentvolumes", pv);
            self.e.emit("", "persistentvolumeclaims", pvc);
            let mut pod = o::stateful_set_pod(
                &sts,
                ordinal as u32,
                at(pod_created, self.now),
                &mut self.rng,
            );
            self.finish_pod(&mut pod, idx, pod_created, false);
            self.e.emit("", "pods", pod);
        }
        placed
    }
}

/// Status counts of a workload whose placed pods are all running and ready.
fn all_ready(desired: u32, placed: u32) -> WorkloadCounts {
    WorkloadCounts {
        desired,
        current: placed,
        ready: placed,
    }
}
