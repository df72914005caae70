use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;

use super::pods::{RunFacts, restamp_running};
use super::*;
use crate::fleet::CapacityType;
use crate::objects::AppTemplateParams;

fn small_cluster(provider: &str) -> ClusterSpec {
    let f = fleet::plan_fleet(&fleet::FleetOptions {
        tier: fleet::Tier::Small,
        clusters: Some(1),
        nodes: Some(60),
        pods: Some(3_000),
        seed: 5,
    });
    let mut c = f.clusters[0].clone();
    if c.provider != provider {
        // Re-plan the pools for the provider under test by swapping names; what matters
        // here is the provider-specific code paths.
        c.provider = provider.to_string();
        c.region = "eastus".into();
        for p in &mut c.node_pools {
            p.zones = vec!["eastus-1".into(), "eastus-2".into()];
        }
    }
    c
}

fn collect(spec: &ClusterSpec) -> (Materialized, Vec<(&'static str, &'static str, Value)>) {
    let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
    let mut objs = Vec::new();
    let m = materialize(spec, now, &mut |g, p, v| objs.push((g, p, v)));
    (m, objs)
}

fn check_cluster(spec: &ClusterSpec) {
    let (m, objs) = collect(spec);
    let pods: Vec<&Value> = objs
        .iter()
        .filter(|o| o.1 == "pods")
        .map(|o| &o.2)
        .collect();
    assert_eq!(pods.len() as u64, m.pods);
    assert_eq!(objs.len() as u64, m.objects);
    assert_eq!(m.nodes, spec.node_count());
    // Near the target: the generator only leaves pods out when they fit nowhere.
    assert_eq!(m.pods + m.unplaced_pods, spec.pods.max(m.pods), "{m:?}");
    assert!(
        m.unplaced_pods * 100 <= spec.pods,
        "too many unplaced: {m:?}"
    );

    let mut alloc: HashMap<&str, (i64, i64, u64)> = HashMap::new();
    for (_, p, v) in &objs {
        if *p == "nodes" {
            let a = &v["status"]["allocatable"];
            alloc.insert(
                v["metadata"]["name"].as_str().unwrap(),
                (
                    o::cpu_millis(a["cpu"].as_str().unwrap()).unwrap(),
                    o::memory_bytes(a["memory"].as_str().unwrap()).unwrap(),
                    a["pods"].as_str().unwrap().parse().unwrap(),
                ),
            );
        }
    }
    assert_eq!(alloc.len() as u64, m.nodes, "node names are unique");
    let owners: HashSet<&str> = objs
        .iter()
        .filter(|o| matches!(o.1, "replicasets" | "daemonsets" | "statefulsets"))
        .map(|o| o.2["metadata"]["uid"].as_str().unwrap())
        .collect();
    let mut used: HashMap<&str, (i64, i64, u64)> = HashMap::new();
    let mut names = HashSet::new();
    for pod in &pods {
        let node = pod["spec"]["nodeName"]
            .as_str()
            .expect("every pod is bound");
        assert!(alloc.contains_key(node), "pod on unknown node {node}");
        let (c, m) = o::pod_requests(&pod["spec"]);
        let u = used.entry(node).or_default();
        *u = (u.0 + c, u.1 + m, u.2 + 1);
        let owner = pod["metadata"]["ownerReferences"][0]["uid"]
            .as_str()
            .unwrap();
        assert!(owners.contains(owner), "pod owner {owner} was not emitted");
        assert_eq!(pod["status"]["phase"], "Running");
        let ns = pod["metadata"]["namespace"].as_str().unwrap();
        assert!(
            names.insert((ns, pod["metadata"]["name"].as_str().unwrap())),
            "duplicate pod name"
        );
    }
    for (node, (c, m, n)) in &used {
        let (ac, am, an) = alloc[node];
        assert!(
            *c <= ac && *m <= am && *n <= an,
            "{node} over-committed: {c}/{ac} {m}/{am} {n}/{an}"
        );
    }
    // Every DaemonSet pod count equals the node count; pods are spread, not piled up.
    let kube_proxy = pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["k8s-app"] == "kube-proxy")
        .count();
    assert_eq!(kube_proxy as u64, m.nodes);
    fn no_stray_nulls(v: &Value, key: &str, kind: &str) {
        match v {
            // Upstream serialises these as null; anything else null is a builder bug.
            Value::Null => assert!(
                matches!(key, "lastProbeTime" | "creationTimestamp" | "eventTime"),
                "{kind}: null at {key}"
            ),
            Value::Object(m) => m.iter().for_each(|(k, x)| no_stray_nulls(x, k, kind)),
            Value::Array(a) => a.iter().for_each(|x| no_stray_nulls(x, key, kind)),
            _ => {}
        }
    }
    for (_, _, v) in &objs {
        no_stray_nulls(v, "", v["kind"].as_str().unwrap());
        assert!(v["metadata"].get("resourceVersion").is_none());
        assert!(v["metadata"]["uid"].is_string(), "{}", v["kind"]);
        let created = v["metadata"]["creationTimestamp"].as_str().unwrap();
        assert!(created.len() == 20 && created.ends_with('Z'), "{created}");
        assert!(
            created < "2026-11-29T12:00:01Z",
            "{created} is in the future"
        );
    }
    // Bound PV/PVC pairs.
    let pvs: HashMap<&str, &Value> = objs
        .iter()
        .filter(|o| o.1 == "persistentvolumes")
        .map(|o| (o.2["metadata"]["name"].as_str().unwrap(), &o.2))
        .collect();
    for (_, _, pvc) in objs.iter().filter(|o| o.1 == "persistentvolumeclaims") {
        let pv = pvs[pvc["spec"]["volumeName"].as_str().unwrap()];
        assert_eq!(pv["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"]);
    }
    let kinds: BTreeMap<&str, usize> = objs.iter().fold(BTreeMap::new(), |mut m, o| {
        *m.entry(o.1).or_default() += 1;
        m
    });
    for k in [
        "namespaces",
        "leases",
        "deployments",
        "replicasets",
        "services",
        "poddisruptionbudgets",
        "networkpolicies",
        "clusterrolebindings",
        "configmaps",
        "serviceaccounts",
        "roles",
    ] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 0, "no {k}: {kinds:?}");
    }
    // Namespaces come before anything namespaced in them.
    let first_pod = objs.iter().position(|o| o.1 == "pods").unwrap();
    let last_ns = objs.iter().rposition(|o| o.1 == "namespaces").unwrap();
    assert!(last_ns < first_pod);
}

#[test]
fn restamped_siblings_match_the_full_path() {
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let mut rng = SimRng::new(3);
    let mut tpl = o::app_pod_template(
        &AppTemplateParams {
            app: "cart",
            team: "checkout",
            cpu_millis: 200,
            memory_bytes: 256 << 20,
            tolerate_spot: false,
            hardened: None,
        },
        &mut rng,
    );
    tpl["spec"]["initContainers"] = json!([{"name": "migrate", "image": "busybox:1.36"}]);
    tpl["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "aaa-sidecar", "image": "envoyproxy/envoy:v1.32.3"}));
    let now = t("2026-11-29T12:00:00Z");
    let d = o::deployment("shop", "cart", 3, &tpl, &mut rng, now);
    let rs = o::replica_set_for(
        &d,
        &o::pod_template_hash(&d["spec"]["template"]),
        3,
        &mut rng,
        now,
    );
    let proto = o::replica_set_pod(&rs, now, &mut rng);
    let mut first = o::pod_like(&proto, "cart-x-aaaaa", t("2026-11-29T10:00:00Z"), &mut rng);
    o::bind_pod(&mut first, "node-1", t("2026-11-29T10:00:01Z"));
    o::set_pod_running(
        &mut first,
        "10.0.0.1",
        "10.128.0.2",
        t("2026-11-29T10:00:09Z"),
    );

    let (mut r1, mut r2) = (rng.clone(), rng.clone());
    let created = t("2026-11-29T11:00:00Z");
    let facts = RunFacts {
        node: "node-2".into(),
        host_ip: "10.0.0.2".into(),
        pod_ip: "10.128.1.7".into(),
        bind_at: t("2026-11-29T11:00:01Z"),
        run_at: t("2026-11-29T11:00:17Z"),
    };
    let mut slow = o::pod_like(&proto, "cart-x-bbbbb", created, &mut r1);
    o::bind_pod(&mut slow, &facts.node, facts.bind_at);
    o::set_pod_running(&mut slow, &facts.host_ip, &facts.pod_ip, facts.run_at);
    let mut fast = first.clone();
    o::renew_pod_identity(&mut fast, "cart-x-bbbbb", created, &mut r2);
    restamp_running(&mut fast, &facts);
    assert_eq!(slow, fast);
    assert_ne!(fast["metadata"]["uid"], first["metadata"]["uid"]);
}

#[test]
fn small_cluster_is_consistent() {
    check_cluster(&small_cluster("aws"));
}

#[test]
fn azure_spot_taints_are_respected() {
    let mut c = small_cluster("azure");
    for p in &mut c.node_pools[1..] {
        p.capacity_type = CapacityType::Spot;
    }
    c.node_pools[1].name = "generalspot".into();
    check_cluster(&c);
    let (_, objs) = collect(&c);
    let tainted: HashSet<&str> = objs
        .iter()
        .filter(|o| o.1 == "nodes" && o.2["spec"]["taints"].is_array())
        .map(|o| o.2["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(!tainted.is_empty());
    let mut on_spot = 0;
    for (_, _, pod) in objs.iter().filter(|o| o.1 == "pods") {
        if tainted.contains(pod["spec"]["nodeName"].as_str().unwrap()) {
            on_spot += 1;
            let tolerates = pod["spec"]["tolerations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| {
                    t["key"] == "kubernetes.azure.com/scalesetpriority"
                        || (t["operator"] == "Exists" && t.get("key").is_none())
                });
            assert!(
                tolerates,
                "{} on a spot node without toleration",
                pod["metadata"]["name"]
            );
        }
    }
    assert!(on_spot > 0);
}

#[test]
fn same_seed_same_output_and_seed_matters() {
    let c = small_cluster("aws");
    let (m1, a) = collect(&c);
    let (m2, b) = collect(&c);
    assert_eq!(m1, m2);
    assert!(a == b);
    let mut c2 = c.clone();
    c2.seed += 1;
    let (_, d) = collect(&c2);
    assert!(a != d);
}

#[test]
fn overfull_cluster_reports_unplaced() {
    let mut c = small_cluster("gcp");
    c.node_pools.truncate(1);
    c.node_pools[0].nodes = 2;
    c.node_pools[0].cpu = "1".into();
    c.pods = 400;
    let (m, objs) = collect(&c);
    assert!(m.unplaced_pods > 0);
    assert_eq!(objs.iter().filter(|o| o.1 == "pods").count() as u64, m.pods);
    assert!(m.pods <= 220);
}

/// Per PodDisruptionBudget: the pods it selects, and how many of them may be evicted while
/// all are healthy (upstream's arithmetic: percentages round up).
fn budget_room(objs: &[(&'static str, &'static str, Value)]) -> Vec<(String, u64, u64)> {
    objs.iter()
        .filter(|o| o.1 == "poddisruptionbudgets")
        .map(|(_, _, pdb)| {
            let ns = pdb["metadata"]["namespace"].as_str().unwrap();
            let labels = pdb["spec"]["selector"]["matchLabels"].as_object().unwrap();
            let selected = objs
                .iter()
                .filter(|o| o.1 == "pods" && o.2["metadata"]["namespace"] == ns)
                .filter(|o| {
                    labels
                        .iter()
                        .all(|(k, v)| o.2["metadata"]["labels"][k.as_str()] == *v)
                })
                .count() as u64;
            let count = |v: &Value| match v {
                Value::String(p) => {
                    let pct: u64 = p.trim_end_matches('%').parse().unwrap();
                    (pct * selected).div_ceil(100)
                }
                other => other.as_u64().unwrap(),
            };
            let room = match (&pdb["spec"]["minAvailable"], &pdb["spec"]["maxUnavailable"]) {
                (Value::Null, max) => count(max),
                (min, _) => selected.saturating_sub(count(min)),
            };
            (
                format!("{ns}/{}", pdb["metadata"]["name"].as_str().unwrap()),
                selected,
                room,
            )
        })
        .collect()
}

#[test]
fn drain_safe_budgets_always_let_one_pod_go_and_realistic_ones_sometimes_do_not() {
    let mut spec = small_cluster("aws");
    let (_, realistic) = collect(&spec);
    let blocking = budget_room(&realistic)
        .into_iter()
        .filter(|(_, selected, room)| *selected > 0 && *room == 0)
        .count();
    assert!(
        blocking > 0,
        "the realistic mixture has budgets that block drains"
    );

    spec.disruption_budgets = fleet::DisruptionBudgets::DrainSafe;
    let (_, safe) = collect(&spec);
    let budgets = budget_room(&safe);
    assert!(!budgets.is_empty());
    for (name, selected, room) in budgets {
        assert!(selected >= 2, "{name} selects {selected} pod(s)");
        assert!(
            room >= 1,
            "{name} allows no eviction of its {selected} pods"
        );
    }
}

#[test]
fn resource_quotas_sum_their_namespaces_pods_in_a_plausible_mixture() {
    let spec = small_cluster("aws");
    let (_, objs) = collect(&spec);
    // Hand-summed requests of the non-terminal pods per namespace.
    let mut used: HashMap<&str, (i64, i64, i64)> = HashMap::new();
    for (_, p, v) in &objs {
        if *p != "pods" || matches!(v["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
            continue;
        }
        let u = used
            .entry(v["metadata"]["namespace"].as_str().unwrap())
            .or_default();
        fn req<'a>(c: &'a Value, r: &str) -> Option<&'a str> {
            c["resources"]["requests"][r].as_str()
        }
        let (mut cpu, mut mem) = (0, 0);
        for c in v["spec"]["containers"].as_array().unwrap() {
            cpu += req(c, "cpu").and_then(o::cpu_millis).unwrap_or(0);
            mem += req(c, "memory").and_then(o::memory_bytes).unwrap_or(0);
        }
        for c in v["spec"]["initContainers"].as_array().into_iter().flatten() {
            cpu = cpu.max(req(c, "cpu").and_then(o::cpu_millis).unwrap_or(0));
            mem = mem.max(req(c, "memory").and_then(o::memory_bytes).unwrap_or(0));
        }
        u.0 += cpu;
        u.1 += mem;
        u.2 += 1;
    }
    let quotas: Vec<&Value> = objs
        .iter()
        .filter(|o| o.1 == "resourcequotas")
        .map(|o| &o.2)
        .collect();
    let app_namespaces = objs
        .iter()
        .filter(|o| o.1 == "namespaces" && o.2["metadata"]["labels"]["team"].is_string())
        .count();
    assert!(
        !quotas.is_empty() && quotas.len() < app_namespaces,
        "{}",
        quotas.len()
    );
    let (mut loose, mut tight) = (0, 0);
    for q in &quotas {
        let ns = q["metadata"]["namespace"].as_str().unwrap();
        let (cpu, mem, pods) = used.get(ns).copied().unwrap_or_default();
        let st = &q["status"];
        assert_eq!(st["hard"], q["spec"]["hard"]);
        assert_eq!(
            o::cpu_millis(st["used"]["requests.cpu"].as_str().unwrap()),
            Some(cpu),
            "{ns}"
        );
        assert_eq!(
            o::memory_bytes(st["used"]["requests.memory"].as_str().unwrap()),
            Some(mem)
        );
        assert_eq!(st["used"]["pods"], json!(pods.to_string()));
        let hard_cpu = o::cpu_millis(st["hard"]["requests.cpu"].as_str().unwrap()).unwrap();
        let hard_pods: i64 = st["hard"]["pods"].as_str().unwrap().parse().unwrap();
        assert!(hard_cpu >= cpu && hard_pods >= pods, "{ns}: hard below use");
        // limits.* only where every pod sets limits.
        assert_eq!(
            st["hard"].get("limits.cpu").is_some(),
            st["used"].get("limits.cpu").is_some()
        );
        match q["metadata"]["name"].as_str().unwrap() {
            "compute-resources" => {
                loose += 1;
                // 3-5x, rounded up to half cores.
                assert!(hard_cpu as f64 >= 3.0 * cpu as f64, "{ns}");
                assert!(hard_cpu as f64 <= 5.0 * cpu as f64 + 500.0, "{ns}");
            }
            "compute-quota" => {
                tight += 1;
                assert!(hard_cpu as f64 <= 1.25 * cpu as f64 + 500.0, "{ns}");
            }
            other => panic!("unexpected quota {other}"),
        }
    }
    assert!(loose + tight == quotas.len());
    // Deterministic per seed.
    let (_, again) = collect(&spec);
    let again: Vec<&Value> = again
        .iter()
        .filter(|o| o.1 == "resourcequotas")
        .map(|o| &o.2)
        .collect();
    assert_eq!(quotas, again);
}

/// Generation time of one big cluster (1,000 nodes, 100,000 pods), for the record:
/// `cargo test -p capstan-sim generation_time_of_a_big_cluster -- --ignored --nocapture`.
#[test]
#[ignore]
fn generation_time_of_a_big_cluster() {
    let f = fleet::plan_fleet(&fleet::FleetOptions {
        tier: fleet::Tier::Small,
        clusters: Some(1),
        nodes: Some(1_000),
        pods: Some(100_000),
        seed: 11,
    });
    let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
    let watch = capstan_clock::Stopwatch::start();
    // Every 100th pod's JSON size: what the template's fields add to each pod.
    let (mut pods, mut sampled, mut bytes) = (0u64, 0u64, 0usize);
    let m = materialize(&f.clusters[0], now, &mut |_, plural, v| {
        if plural == "pods" {
            pods += 1;
            if pods % 100 == 0 {
                sampled += 1;
                bytes += serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
            }
        }
    });
    eprintln!(
        "materialize: {m:?} seconds={:.2} mean_pod_json_bytes={}",
        watch.elapsed().as_secs_f64(),
        bytes as u64 / sampled.max(1)
    );
}
