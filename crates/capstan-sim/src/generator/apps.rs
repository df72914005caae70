//! Application namespaces' contents: settings config maps, datastores (StatefulSets) and
//! Deployments with their Services and PodDisruptionBudgets, sized to the pod target.

use std::collections::HashSet;

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::namespaces::NsPlan;
use super::workloads::Ctx;
use super::{DAY, Emitter, age, at};
use crate::fleet::ClusterSpec;
use crate::objects::{self as o, AppTemplateParams, PdbLimit};

/// App names are `<word>` or `<word>-<role>`.
const APP_WORDS: [&str; 24] = [
    "api",
    "web",
    "frontend",
    "gateway",
    "auth",
    "billing",
    "cart",
    "catalog",
    "checkout",
    "search",
    "indexer",
    "notifier",
    "scheduler",
    "reporting",
    "ingest",
    "exporter",
    "recommender",
    "pricing",
    "inventory",
    "orders",
    "profile",
    "session",
    "thumbnailer",
    "webhook",
];
const APP_ROLES: [&str; 6] = ["", "worker", "consumer", "sync", "cron", "backend"];
/// Datastores run as StatefulSets: name, image and port.
const STS_KINDS: [(&str, &str, u16); 5] = [
    ("redis", "redis:7.4.1", 6379),
    ("postgres", "postgres:16.6", 5432),
    ("kafka", "bitnami/kafka:3.9.0", 9092),
    ("rabbitmq", "rabbitmq:4.0.5-management", 5672),
    (
        "elasticsearch",
        "docker.elastic.co/elasticsearch/elasticsearch:8.17.0",
        9200,
    ),
];

/// One to three config maps of settings in a team namespace.
pub(super) fn emit_app_config_maps(
    spec: &ClusterSpec,
    ns: &NsPlan,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    t: Timestamp,
) {
    let n_cm = rng.range_inclusive(1, 3) as usize;
    for cm in ["app-settings", "feature-flags", "logging-config"]
        .iter()
        .take(n_cm)
    {
        let data = [
            ("LOG_LEVEL", "info"),
            ("REGION", spec.region.as_str()),
            ("TEAM", ns.team),
        ];
        e.emit("", "configmaps", o::config_map(&ns.name, cm, &data, rng, t));
    }
}

/// Split `app_pods` over the namespaces by weight; the last takes what rounding left over.
fn namespace_quotas(app_pods: u64, plan: &[NsPlan]) -> Vec<u64> {
    let weight_sum: f64 = plan.iter().map(|n| n.weight).sum::<f64>().max(1e-9);
    let mut assigned = 0u64;
    plan.iter()
        .enumerate()
        .map(|(i, n)| {
            if i + 1 == plan.len() {
                app_pods - assigned
            } else {
                let q = ((app_pods as f64) * n.weight / weight_sum) as u64;
                let q = q.min(app_pods - assigned);
                assigned += q;
                q
            }
        })
        .collect()
}

/// What every app workload of the cluster is sized from.
struct AppSizing {
    /// Per-pod requests that fill the nodes to the chosen level.
    avg_cpu: i64,
    avg_mem: i64,
    /// Share of the app pod quota on tainted (AKS spot) nodes.
    tainted_share: f64,
    min_replicas: u64,
    max_replicas: u64,
}

impl Ctx<'_, '_> {
    /// Application workloads in every planned namespace, sized so the cluster's total pod
    /// count (system pods included) lands near `spec.pods`.
    pub(super) fn applications(&mut self, plan: &[NsPlan]) {
        let emitted_system = self.e.out.pods;
        let app_pods = self.spec.pods.saturating_sub(emitted_system);
        let fill = 0.55 + self.rng.next_f64() * 0.15;
        let (avg_cpu, avg_mem, tainted_share) = self.placer.set_quotas(app_pods, fill);
        let max_replicas: u64 = match app_pods {
            0..=9_999 => 20,
            10_000..=99_999 => 30,
            _ => 50,
        };
        let min_replicas: u64 = if app_pods >= 500_000 { 3 } else { 1 };
        let sizing = AppSizing {
            avg_cpu,
            avg_mem,
            tainted_share,
            min_replicas,
            max_replicas,
        };
        for (ns, quota) in plan.iter().zip(namespace_quotas(app_pods, plan)) {
            // Names used in the namespace, by datastores and deployments alike.
            let mut used: HashSet<String> = HashSet::new();
            let mut remaining = self.datastores(ns, quota, &mut used, &sizing);
            while remaining > 0 {
                remaining -= self.app_deployment(ns, remaining, &mut used, &sizing);
            }
        }
    }

    /// Stateful services come first: some namespaces run a datastore or two, three replicas
    /// each. Returns what is left of the namespace's `quota`.
    fn datastores(
        &mut self,
        ns: &NsPlan,
        quota: u64,
        used: &mut HashSet<String>,
        sizing: &AppSizing,
    ) -> u64 {
        let now_s = self.now.as_second();
        let mut remaining = quota;
        let ns_created = ns.created + 60;
        let stateful = if quota >= 20 && self.rng.chance(if ns.team == "data" { 0.8 } else { 0.3 })
        {
            self.rng.range_inclusive(1, 2)
        } else {
            0
        };
        for _ in 0..stateful {
            let (kind, image, port) = *self
                .rng
                .pick(&STS_KINDS)
                .expect("statefulset kinds are not empty");
            if !used.insert(kind.to_string()) || remaining < 3 {
                continue;
            }
            let mut t = o::app_pod_template(
                &AppTemplateParams {
                    app: kind,
                    team: ns.team,
                    cpu_millis: sizing.avg_cpu * 2,
                    memory_bytes: sizing.avg_mem * 2,
                    tolerate_spot: false,
                    hardened: Some(ns.pss == Some("restricted")),
                },
                &mut self.rng,
            );
            t["spec"]["containers"][0]["image"] = json!(image);
            t["spec"]["containers"][0]["ports"] = json!([{"name": "http", "containerPort": port}]);
            if let Some(spec) = t["spec"].as_object_mut() {
                spec.remove("serviceAccountName");
            }
            self.decorate_template(&mut t, ns, kind, 3, true);
            let created = ns_created
                + self
                    .rng
                    .range_inclusive(0, ((now_s - ns_created) / 2).max(1) as u64)
                    as i64;
            self.stateful_set(&ns.name, kind, 3, &t, created);
            if self.rng.chance(0.7) {
                self.emit_pdb(
                    &ns.name,
                    kind,
                    ("app", kind),
                    PdbLimit::MaxUnavailable(json!(1)),
                    at(created, self.now),
                );
            }
            remaining -= 3;
        }
        remaining
    }

    /// One Deployment of at most `remaining` replicas with its service account, maybe a
    /// Service and maybe a PodDisruptionBudget. Returns the replicas it asked for.
    fn app_deployment(
        &mut self,
        ns: &NsPlan,
        remaining: u64,
        used: &mut HashSet<String>,
        sizing: &AppSizing,
    ) -> u64 {
        let now_s = self.now.as_second();
        let ns_created = ns.created + 60;
        let draw = (age(
            &mut self.rng,
            sizing.min_replicas as i64,
            sizing.max_replicas as i64,
        ) as u64)
            .clamp(sizing.min_replicas, sizing.max_replicas);
        let replicas = draw.min(remaining) as u32;
        let word = *self.rng.pick(&APP_WORDS).expect("app words are not empty");
        let role = *self.rng.pick(&APP_ROLES).expect("app roles are not empty");
        let base = if role.is_empty() {
            word.to_string()
        } else {
            format!("{word}-{role}")
        };
        let mut name = base.clone();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}-{k}");
            k += 1;
        }
        // Requests scatter around the budget; a few pods are BestEffort.
        let factor = 0.35 + self.rng.next_f64() * 1.3;
        let best_effort = self.rng.chance(0.04);
        let (cpu, mem) = if best_effort {
            (0, 0)
        } else {
            (
                (sizing.avg_cpu as f64 * factor) as i64,
                (sizing.avg_mem as f64 * factor) as i64,
            )
        };
        let tolerate_spot =
            sizing.tainted_share > 0.0 && self.rng.chance((sizing.tainted_share * 1.2).min(1.0));
        let mut template = o::app_pod_template(
            &AppTemplateParams {
                app: &name,
                team: ns.team,
                cpu_millis: cpu,
                memory_bytes: mem,
                tolerate_spot,
                hardened: if ns.pss == Some("restricted") {
                    Some(true)
                } else {
                    None
                },
            },
            &mut self.rng,
        );
        self.decorate_template(&mut template, ns, &name, replicas, false);
        if let Some(sa) = template
            .pointer("/spec/serviceAccountName")
            .and_then(Value::as_str)
        {
            let sa_obj = o::service_account(&ns.name, sa, &mut self.rng, at(ns_created, self.now));
            self.e.emit("", "serviceaccounts", sa_obj);
        }
        let dep_created = now_s - age(&mut self.rng, DAY, (now_s - ns_created).max(DAY + 1));
        let dep_created = dep_created.max(ns_created);
        self.deployment(&ns.name, &name, replicas, &template, dep_created);
        if self.rng.chance(0.8) {
            let port = template
                .pointer("/spec/containers/0/ports/0/containerPort")
                .and_then(Value::as_u64)
                .unwrap_or(8080) as u16;
            let ip = self.service_ip();
            let svc = o::service(
                &ns.name,
                &name,
                &[("app", &name)],
                port,
                &ip,
                &mut self.rng,
                at(dep_created, self.now),
            );
            self.e.emit("", "services", svc);
        }
        let want_pdb = if replicas >= 2 {
            self.rng.chance(0.7)
        } else {
            self.rng.chance(0.15)
        };
        if want_pdb {
            self.pdb_for(&ns.name, &name, ("app", &name), replicas, dep_created);
        }
        u64::from(replicas)
    }
}
