//! The security add-ons of a cluster put together: application templates decorated with
//! their Pod Security fields and secret use while the applications are generated, then,
//! once every workload is recorded, the add-ons' CRDs and objects (network policies,
//! secrets and managers' objects, Trivy reports, Gatekeeper).
//!
//! Everything here draws from the `posture` streams only, so the rest of a seed's cluster
//! (pod counts, requests, names of workloads) is what it was before posture existed; pod
//! names of Deployments follow their template's hash, as upstream's do.

use std::collections::{HashMap, HashSet};

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::Value;

use super::namespaces::{NsPlan, SYSTEM_NAMESPACES};
use super::posture::{PosturePlan, WorkloadRecord};
use super::secrets::SecretNeed;
use super::workloads::Ctx;
use super::{DAY, Emitter, at, gatekeeper, netpol, pss, scans, secrets};
use crate::fleet::ClusterSpec;
use crate::objects as o;

/// The posture while templates are being decorated.
pub(crate) struct TemplatePosture {
    pub(crate) plan: PosturePlan,
    /// Forked per workload (`<namespace>/<app>`), so decorations do not depend on order.
    rng: SimRng,
    /// Objects the namespace's workloads need, by namespace.
    pub(crate) needs: HashMap<String, Vec<SecretNeed>>,
    grandfathered: HashSet<String>,
}

impl TemplatePosture {
    pub(crate) fn new(plan: PosturePlan, rng: SimRng) -> Self {
        Self {
            plan,
            rng,
            needs: HashMap::new(),
            grandfathered: HashSet::new(),
        }
    }
}

impl Ctx<'_, '_> {
    /// Give an application template its Pod Security fields and secret use.
    pub(super) fn decorate_template(
        &mut self,
        t: &mut Value,
        ns: &NsPlan,
        app: &str,
        replicas: u32,
        datastore: bool,
    ) {
        let Some(p) = self.posture.as_mut() else {
            return;
        };
        let mut rng = p.rng.fork(&format!("{}/{app}", ns.name));
        let nsp = p.plan.namespace(&ns.name);
        let grandfather = nsp.is_some_and(|n| n.grandfathered)
            && !datastore
            && p.grandfathered.insert(ns.name.clone());
        pss::decorate(t, nsp, replicas == 1, grandfather, &mut rng);
        let managers = p.plan.cluster.secrets;
        let (_, needs) = secrets::decorate(t, app, ns.team, &managers, datastore, &mut rng);
        if !needs.is_empty() {
            p.needs.entry(ns.name.clone()).or_default().extend(needs);
        }
    }
}

/// Emit the add-ons' CRDs and objects.
pub(crate) fn emit_addons(
    spec: &ClusterSpec,
    plan: &[NsPlan],
    tp: &TemplatePosture,
    born: i64,
    now: Timestamp,
    e: &mut Emitter<'_>,
    root: &SimRng,
) {
    let posture = &tp.plan;
    let c = &posture.cluster;
    let now_s = now.as_second();
    let mut rng = root.fork("addons");
    // Add-ons arrive in the cluster's first weeks.
    let installed_s =
        (born + rng.range_inclusive(DAY as u64, 30 * DAY as u64) as i64).min(now_s - DAY);
    let installed = at(installed_s, now);
    let mut crds = vec![scans::crd()];
    crds.extend(netpol::crds(c.cni));
    crds.extend(secrets::crds(&c.secrets));
    if c.gatekeeper {
        crds.extend(gatekeeper::crds());
    }
    for def in &crds {
        e.emit(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            o::crd(def, &mut rng, installed),
        );
    }
    let workloads = std::mem::take(&mut e.workloads);
    let ci_accounts = std::mem::take(&mut e.ci_accounts);

    // Network policies, namespace by namespace.
    let mut np_rng = root.fork("netpol");
    netpol::emit_cluster_wide(c.cni, e, &mut np_rng, installed);
    let mut by_ns: HashMap<&str, Vec<&WorkloadRecord>> = HashMap::new();
    for w in &workloads {
        by_ns.entry(w.namespace.as_str()).or_default().push(w);
    }
    for (ns, nsp) in plan.iter().zip(&posture.namespaces) {
        let t = at((ns.created + 120).max(installed_s).min(now_s), now);
        let ws = by_ns.get(ns.name.as_str()).map_or(&[][..], Vec::as_slice);
        netpol::emit_namespace(nsp, ws, c.cni, e, &mut np_rng, t);
    }

    // Secrets and the managers' objects.
    let mut s_rng = root.fork("secrets");
    if c.secrets.eso {
        secrets::emit_cluster_store(&spec.provider, e, &mut s_rng, installed);
    }
    let legacy_tokens = !c.rbac.clean();
    for ns in plan {
        let t = at((ns.created + 90).max(installed_s).min(now_s), now);
        let needs = tp.needs.get(&ns.name).map_or(&[][..], Vec::as_slice);
        let token_uid = ci_accounts
            .iter()
            .find(|(n, _)| *n == ns.name)
            .map(|(_, uid)| uid.as_str())
            .filter(|_| legacy_tokens && s_rng.chance(0.3));
        secrets::emit_namespace_secrets(
            ns.name.as_str(),
            needs,
            &spec.provider,
            token_uid,
            e,
            &mut s_rng,
            t,
        );
    }

    // Trivy Operator's reports.
    scans::emit_reports(&workloads, &c.scans, e, &mut root.fork("scans"), now);

    if c.gatekeeper {
        let namespaces: Vec<(String, bool)> = SYSTEM_NAMESPACES
            .iter()
            .map(|n| ((*n).to_string(), false))
            .chain(plan.iter().map(|n| (n.name.clone(), true)))
            .collect();
        gatekeeper::emit(
            &workloads,
            &namespaces,
            e,
            &mut root.fork("gatekeeper"),
            now,
            installed,
        );
    }
}
