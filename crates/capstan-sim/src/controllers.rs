//! The cluster's control loop: timers on the simulated clock plus the reconcilers that
//! kube-controller-manager, kube-scheduler and the kubelets would run.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::cluster::{Action, Cluster, ClusterData};
use crate::twin::Twin;

/// Node leases are renewed this often (upstream kubelet: every 10 s of a 40 s lease).
pub const LEASE_RENEW: SignedDuration = SignedDuration::from_secs(10);

/// Set up a freshly generated cluster: first heartbeat, and let the reconcilers check
/// everything once.
pub fn start(data: &mut ClusterData, now: Timestamp) {
    data.heartbeat_at = Some(now + LEASE_RENEW);
    data.schedule(now + LEASE_RENEW, Action::Heartbeat);
    data.index.daemonsets_dirty = true;
    crate::trivy::start(data);
    // PDBs are generated without status: compute it before anyone can evict.
    crate::disruption::reconcile(data, now);
}

/// One pass of every controller over the work due at `now`; true when something was done
/// (so another pass may find more). Each reconciler bounds its own batch, so a pass holds
/// the cluster lock briefly even after a cluster of a million pods is generated.
pub fn pass(data: &mut ClusterData, now: Timestamp) -> bool {
    let mut timers = 0;
    while let Some(action) = data.pop_due(now) {
        crate::kubelet::perform(data, action, now);
        timers += 1;
    }
    let gc = crate::gc::reconcile(data, now);
    let dirty_workloads = data.index.dirty_workloads.len();
    let workloads = crate::workloads::reconcile(data, now);
    let unscheduled = data.index.unscheduled.len();
    let scheduled = crate::kubelet::schedule_pending(data, now);
    let dirty_pdbs = data.index.pdbs.dirty.len();
    let pdbs = crate::disruption::reconcile(data, now);
    let trivy = crate::trivy::reconcile(data, now);
    tracing::trace!(cluster = %data.spec.name, timers, gc, dirty_workloads, unscheduled, scheduled, dirty_pdbs, pdbs, trivy, "controller pass");
    timers > 0 || gc || workloads || scheduled || pdbs || trivy
}

/// When the controllers next have timed work: the earliest timer or Trivy's next due work.
pub fn next_wake(data: &ClusterData) -> Option<Timestamp> {
    data.next_timer()
        .into_iter()
        .chain(data.trivy.next_due())
        .min()
}

/// A cluster's controller loop: run due work, then sleep until the next timer or an API write.
pub async fn run_loop(twin: Arc<Twin>, cluster: Arc<Cluster>) {
    loop {
        let (progressed, next) = {
            let mut data = twin.lock(&cluster);
            let progressed = pass(&mut data, twin.now());
            cluster.publish(&data);
            (progressed, next_wake(&data))
        };
        if progressed {
            // More may be due; let API requests take the lock between passes.
            tokio::task::yield_now().await;
            continue;
        }
        let now = twin.now();
        let wait = match next {
            Some(at) if at > now => {
                let sim = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
                twin.clock.real_delay(sim)
            }
            Some(_) => Duration::ZERO,
            None => Duration::from_secs(1),
        };
        // A short floor keeps a busy cluster from spinning; a ceiling picks up clock jumps.
        let wait = wait.clamp(Duration::from_millis(5), Duration::from_millis(500));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cluster.wake.notified() => {}
        }
    }
}
