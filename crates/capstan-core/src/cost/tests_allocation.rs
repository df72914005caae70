#![allow(clippy::unwrap_used)]
//! The hour accumulator against hand-computed dollars, folding and merging.

use super::*;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn hour() -> jiff::Timestamp {
    "2026-11-29T10:00:00Z".parse().unwrap()
}

fn ctx(management_per_hour: f64) -> ClusterCostContext {
    ClusterCostContext {
        provider: "gcp".to_string(),
        region: "us-central1".to_string(),
        management_per_hour,
    }
}

fn node<'a>(name: &'a str, spot: bool, cores: f64, gib: f64) -> NodeTick<'a> {
    let sheet = PriceSheet::default();
    NodeTick {
        name,
        rates: sheet.node_rates(&NodePriceKey {
            provider: "gcp",
            region: "us-central1",
            instance_type: "e2-standard-4",
            spot,
            cpu_cores: cores,
            memory_gib: gib,
            gpus: 0.0,
        }),
        cpu_cores: cores,
        memory_bytes: gib * GIB,
        gpus: 0.0,
        spot,
    }
}

fn container(
    cpu_request: f64,
    cpu_usage: Option<f64>,
    ram_request_gib: f64,
    ram_usage_gib: Option<f64>,
) -> ContainerTick<'static> {
    ContainerTick {
        name: "app",
        cpu_request_cores: cpu_request,
        cpu_usage_cores: cpu_usage,
        memory_request_bytes: ram_request_gib * GIB,
        memory_usage_bytes: ram_usage_gib.map(|g| g * GIB),
        gpu_request: 0.0,
    }
}

fn row<'a>(rows: &'a [CostRow], namespace: &str, name: &str) -> &'a CostRow {
    rows.iter()
        .find(|r| r.namespace == namespace && r.name == name)
        .unwrap_or_else(|| panic!("no row {namespace}/{name} in {rows:#?}"))
}

fn sum(rows: &[CostRow]) -> CostParts {
    let mut total = CostParts::default();
    for r in rows {
        total += r.parts;
    }
    total
}

fn assert_invariant(h: &CostHour) {
    assert_eq!(sum(&h.namespaces), h.total, "namespaces");
    assert_eq!(sum(&h.workloads), h.total, "workloads");
}

/// One on-demand node (4 vCPU, 16 GiB) and two pods over one hour in 4 ticks.
/// - web: request 1 core / 2 GiB, usage 0.5 core / 1 GiB -> charged the requests;
/// - db: request 0.5 core / 1 GiB, usage 1.5 core / 4 GiB -> charged the usage.
fn one_node_two_pods(management: f64) -> CostHour {
    let web = WorkloadKey::new("shop", "Deployment", "web");
    let db = WorkloadKey::new("shop", "StatefulSet", "db");
    let web_c = [container(1.0, Some(0.5), 2.0, Some(1.0))];
    let db_c = [container(0.5, Some(1.5), 1.0, Some(4.0))];
    let mut acc = HourAccumulator::new(ctx(management), hour());
    let sheet = PriceSheet::default();
    for _ in 0..4 {
        acc.add_tick(
            &sheet,
            0.25,
            &[node("n1", false, 4.0, 16.0)],
            &[
                PodTick {
                    workload: &web,
                    node: Some(0),
                    containers: &web_c,
                    egress_bytes: None,
                },
                PodTick {
                    workload: &db,
                    node: Some(0),
                    containers: &db_c,
                    egress_bytes: None,
                },
            ],
            &[],
        );
    }
    acc.finish(&ReportLimits::default())
}

#[test]
fn max_of_request_and_usage_priced_at_the_nodes_rates() {
    let h = one_node_two_pods(0.0);
    // web: 1 core x 0.031611 = $0.031611; 2 GiB x 0.004237 = $0.008474 (per tick a quarter:
    // 7,902,750 and 2,118,500 nanodollars, exact).
    let web = row(&h.workloads, "shop", "web");
    assert_eq!(web.kind, "Deployment");
    assert_eq!(web.parts.cpu, Nanodollars(31_611_000));
    assert_eq!(web.parts.ram, Nanodollars(8_474_000));
    // db: 1.5 cores x 0.031611 = $0.0474165; 4 GiB x 0.004237 = $0.016948.
    let db = row(&h.workloads, "shop", "db");
    assert_eq!(db.parts.cpu, Nanodollars(47_416_500));
    assert_eq!(db.parts.ram, Nanodollars(16_948_000));
    // Node: 4 x 0.031611 = 0.126444; 16 x 0.004237 = 0.067792. Idle = node - allocated.
    assert_eq!(
        h.idle.cpu,
        Nanodollars(126_444_000 - 31_611_000 - 47_416_500)
    );
    assert_eq!(h.idle.ram, Nanodollars(67_792_000 - 8_474_000 - 16_948_000));
    let idle = row(&h.workloads, IDLE, IDLE);
    assert_eq!(idle.parts, h.idle);
    assert_eq!(h.total.compute(), Nanodollars(126_444_000 + 67_792_000));
    assert_eq!(
        h.nodes.on_demand_cost,
        Nanodollars(126_444_000 + 67_792_000)
    );
    assert_eq!(h.nodes.on_demand_node_hours, 1.0);
    assert_eq!(h.nodes.spot_node_hours, 0.0);
    assert_eq!(h.hours_sampled, 1.0);
    assert_eq!(h.ticks, 4);
    assert_eq!(
        h.end,
        "2026-11-29T11:00:00Z".parse::<jiff::Timestamp>().unwrap()
    );
    // Resource-hours and OpenCost efficiency.
    assert_eq!(web.cpu_request_core_hours, 1.0);
    assert_eq!(web.cpu_usage_core_hours, 0.5);
    assert_eq!(web.cpu_efficiency(), 0.5);
    assert_eq!(web.ram_efficiency(), 0.5);
    assert_eq!(db.cpu_efficiency(), 3.0);
    assert_eq!(db.ram_efficiency(), 4.0);
    assert_eq!(web.pod_hours, 1.0);
    // Namespace rows: shop and __idle__.
    assert_eq!(h.namespaces.len(), 2);
    let shop = row(&h.namespaces, "shop", "");
    assert_eq!(shop.parts.cpu, Nanodollars(31_611_000 + 47_416_500));
    assert!(!h.network_measured);
    assert_invariant(&h);
}

#[test]
fn management_is_shared_by_compute_cost() {
    // $0.10 for the hour split 40,085,000 : 64,364,500 (web : db compute) by largest
    // remainder: 38,377,397.69 -> 38,377,398 and 61,622,602.31 -> 61,622,602.
    let h = one_node_two_pods(0.10);
    assert_eq!(
        row(&h.workloads, "shop", "web").parts.management,
        Nanodollars(38_377_398)
    );
    assert_eq!(
        row(&h.workloads, "shop", "db").parts.management,
        Nanodollars(61_622_602)
    );
    assert_eq!(
        row(&h.workloads, IDLE, IDLE).parts.management,
        Nanodollars(0)
    );
    assert_eq!(h.total.management, Nanodollars(100_000_000));
    assert_invariant(&h);
}

#[test]
fn spot_nodes_use_spot_rates_and_are_summarised_apart() {
    let batch = WorkloadKey::new("jobs", "Job", "nightly");
    let c = [container(2.0, None, 4.0, None)];
    let mut acc = HourAccumulator::new(ctx(0.0), hour());
    acc.add_tick(
        &PriceSheet::default(),
        0.5,
        &[node("spot", true, 8.0, 32.0), node("od", false, 2.0, 8.0)],
        &[PodTick {
            workload: &batch,
            node: Some(0),
            containers: &c,
            egress_bytes: None,
        }],
        &[],
    );
    let h = acc.finish(&ReportLimits::default());
    let w = row(&h.workloads, "jobs", "nightly");
    // No usage yet: charged the request. 2 x 0.006655 x 0.5 = 0.006655; 4 x 0.000892 x 0.5.
    assert_eq!(w.parts.cpu, Nanodollars(6_655_000));
    assert_eq!(w.parts.ram, Nanodollars(1_784_000));
    assert_eq!(w.cpu_usage_core_hours, 0.0);
    assert_eq!(w.cpu_efficiency(), 0.0);
    assert_eq!(h.containers_without_usage, 1);
    // Spot node: 8 x 0.006655 x 0.5 + 32 x 0.000892 x 0.5 = 0.02662 + 0.014272.
    assert_eq!(h.nodes.spot_cost, Nanodollars(26_620_000 + 14_272_000));
    // On-demand: 2 x 0.031611 x 0.5 + 8 x 0.004237 x 0.5 = 0.031611 + 0.016948.
    assert_eq!(h.nodes.on_demand_cost, Nanodollars(31_611_000 + 16_948_000));
    assert_eq!(
        (h.nodes.spot_node_hours, h.nodes.on_demand_node_hours),
        (0.5, 0.5)
    );
    assert_eq!(h.nodes.max_nodes, 2);
    assert_eq!(h.hours_sampled, 0.5);
    assert_invariant(&h);
}

#[test]
fn volumes_mounted_and_unmounted_and_egress() {
    let web = WorkloadKey::new("shop", "Deployment", "web");
    let c = [container(0.0, Some(0.0), 0.0, Some(0.0))];
    let sheet = PriceSheet::parse_yaml(
        "apiVersion: cost.toolkit.io/v1alpha1\nkind: PriceSheet\noverrides:\n- match: {provider: gcp, storageClass: premium-rwo}\n  storagePerGiBMonth: 0.146\n",
    )
    .unwrap();
    let mut acc = HourAccumulator::new(ctx(0.0), hour());
    for _ in 0..2 {
        acc.add_tick(
            &sheet,
            0.5,
            &[node("n1", false, 1.0, 1.0)],
            &[PodTick {
                workload: &web,
                node: Some(0),
                containers: &c,
                egress_bytes: Some(0.5 * GIB),
            }],
            &[
                ClaimTick {
                    namespace: "shop",
                    claim: "data-web",
                    bytes: 73.0 * GIB,
                    storage_class: None,
                    mounted_by: Some(&web),
                },
                ClaimTick {
                    namespace: "shop",
                    claim: "fast",
                    bytes: 10.0 * GIB,
                    storage_class: Some("premium-rwo"),
                    mounted_by: Some(&web),
                },
                ClaimTick {
                    namespace: "archive",
                    claim: "old",
                    bytes: 365.0 * GIB,
                    storage_class: None,
                    mounted_by: None,
                },
            ],
        );
    }
    let h = acc.finish(&ReportLimits::default());
    let w = row(&h.workloads, "shop", "web");
    // 73 GiB x $0.04/730 per GiB-hour = $0.004/h; 10 GiB x 0.146/730 = $0.002/h.
    assert_eq!(w.parts.storage, Nanodollars(4_000_000 + 2_000_000));
    // Egress: 1 GiB over the hour x $0.12 (internet).
    assert_eq!(w.parts.network, Nanodollars(120_000_000));
    assert!(h.network_measured);
    // 365 GiB x 0.04/730 = $0.02/h, to the namespace's __unmounted__ row.
    let unmounted = row(&h.workloads, "archive", UNMOUNTED);
    assert_eq!(unmounted.kind, "");
    assert_eq!(unmounted.parts.storage, Nanodollars(20_000_000));
    assert_eq!(
        row(&h.namespaces, "archive", "").parts.storage,
        Nanodollars(20_000_000)
    );
    assert_eq!(h.total.storage, Nanodollars(26_000_000));
    assert_invariant(&h);
}

#[test]
fn pending_pods_cost_nothing_and_overcommit_makes_idle_negative() {
    let a = WorkloadKey::new("a", "Deployment", "a");
    let pending = WorkloadKey::new("a", "Deployment", "pending");
    let big = [container(2.0, Some(3.0), 1.0, Some(1.0))];
    let mut acc = HourAccumulator::new(ctx(0.0), hour());
    acc.add_tick(
        &PriceSheet::default(),
        1.0,
        &[node("n1", false, 2.0, 4.0)],
        &[
            PodTick {
                workload: &a,
                node: Some(0),
                containers: &big,
                egress_bytes: None,
            },
            PodTick {
                workload: &pending,
                node: None,
                containers: &big,
                egress_bytes: None,
            },
            PodTick {
                workload: &pending,
                node: Some(7), // not in this tick's nodes: treated as not running
                containers: &big,
                egress_bytes: None,
            },
        ],
        &[],
    );
    let h = acc.finish(&ReportLimits::default());
    assert!(h.workloads.iter().all(|r| r.name != "pending"));
    // Usage 3 cores on a 2-core node: idle CPU = 2 x 0.031611 - 3 x 0.031611 < 0, kept.
    assert_eq!(h.idle.cpu, Nanodollars(-31_611_000));
    assert_invariant(&h);
}

#[test]
fn ticks_with_bad_lengths_are_ignored() {
    let mut acc = HourAccumulator::new(ctx(1.0), hour());
    for hours in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        acc.add_tick(
            &PriceSheet::default(),
            hours,
            &[node("n", false, 1.0, 1.0)],
            &[],
            &[],
        );
    }
    assert_eq!(acc.hours_sampled(), 0.0);
    let h = acc.finish(&ReportLimits::default());
    assert_eq!(h.ticks, 0);
    assert_eq!(h.total, CostParts::default());
}

/// `n` workloads in `namespaces` namespaces, workload i costing i+1 cores for the hour.
fn many_workloads(n: usize, namespaces: usize, limits: &ReportLimits) -> CostHour {
    let keys: Vec<WorkloadKey> = (0..n)
        .map(|i| {
            WorkloadKey::new(
                &format!("ns{}", i % namespaces),
                "Deployment",
                &format!("w{i}"),
            )
        })
        .collect();
    let containers: Vec<[ContainerTick<'static>; 1]> = (0..n)
        .map(|i| [container((i + 1) as f64, None, 0.0, None)])
        .collect();
    let pods: Vec<PodTick<'_>> = keys
        .iter()
        .zip(&containers)
        .map(|(k, c)| PodTick {
            workload: k,
            node: Some(0),
            containers: c,
            egress_bytes: None,
        })
        .collect();
    let mut acc = HourAccumulator::new(ctx(0.1), hour());
    acc.add_tick(
        &PriceSheet::default(),
        1.0,
        &[node("n", false, 10_000.0, 1.0)],
        &pods,
        &[],
    );
    acc.finish(limits)
}

#[test]
fn folding_keeps_the_sums() {
    #[track_caller]
    fn check(
        n: usize,
        namespaces: usize,
        limits: ReportLimits,
        workload_rows: usize,
        ns_rows: usize,
        folded_w: u64,
        folded_ns: u64,
    ) {
        let h = many_workloads(n, namespaces, &limits);
        assert_eq!(h.workloads.len(), workload_rows, "{:#?}", h.workloads);
        assert_eq!(h.namespaces.len(), ns_rows);
        assert_eq!(h.truncated_workloads, folded_w);
        assert_eq!(h.truncated_namespaces, folded_ns);
        assert_invariant(&h);
        // Sorted by total, descending.
        assert!(h.workloads.windows(2).all(|w| w[0].total() >= w[1].total()));
        // The named workloads kept are the most expensive: w(n-1), w(n-2), ...
        let mut kept: Vec<&str> = h
            .workloads
            .iter()
            .filter(|r| r.name.starts_with('w'))
            .map(|r| r.name.as_str())
            .collect();
        kept.sort_by_key(|name| std::cmp::Reverse(name[1..].parse::<usize>().unwrap()));
        let want: Vec<String> = (0..n)
            .rev()
            .take(limits.max_workloads.min(n))
            .map(|i| format!("w{i}"))
            .collect();
        assert_eq!(kept, want);
        for other in h.workloads.iter().filter(|r| r.name == OTHER) {
            assert!(other.kind.is_empty());
        }
    }
    let limits = |ns, w| ReportLimits {
        max_namespaces: ns,
        max_workloads: w,
    };
    // No folding: 10 workloads + idle.
    check(10, 3, limits(500, 200), 11, 4, 0, 0);
    // 4 workloads kept, 6 fold into one __other__ per namespace (3): 4 + 3 + idle.
    check(10, 3, limits(500, 4), 8, 4, 6, 0);
    // Namespaces: keep 1 of 3 (+ __other__ + idle); workload __other__ rows of folded
    // namespaces go to the __other__ namespace: 4 kept + __other__ in ns kept + in __other__.
    check(10, 3, limits(1, 4), 7, 3, 6, 2);
}

#[test]
fn merging_two_hours_sums_rows_by_key() {
    let first = one_node_two_pods(0.10);
    let mut second = one_node_two_pods(0.0);
    second.start = first.end;
    second.end = "2026-11-29T12:00:00Z".parse().unwrap();
    let merged = merge(&[&first, &second], &ReportLimits::default()).unwrap();
    assert_eq!(merged.start, first.start);
    assert_eq!(merged.end, second.end);
    assert_eq!(merged.hours_sampled, 2.0);
    assert_eq!(merged.ticks, 8);
    let web = row(&merged.workloads, "shop", "web");
    assert_eq!(web.parts.cpu, Nanodollars(2 * 31_611_000));
    assert_eq!(web.parts.management, Nanodollars(38_377_398));
    assert_eq!(web.cpu_request_core_hours, 2.0);
    assert_eq!(merged.total.management, Nanodollars(100_000_000));
    let mut expected = first.total;
    expected += second.total;
    assert_eq!(merged.total, expected);
    assert_eq!(merged.nodes.on_demand_node_hours, 2.0);
    assert_invariant(&merged);
    assert!(merge(&[], &ReportLimits::default()).is_none());

    // Merged then folded tighter: still exact.
    let tight = ReportLimits {
        max_namespaces: 1,
        max_workloads: 1,
    };
    let folded = merge(&[&first, &second], &tight).unwrap();
    assert_eq!(folded.total, expected);
    assert_invariant(&folded);
    assert_eq!(folded.truncated_workloads, 1);
}

#[test]
fn merging_hours_folded_differently_keeps_the_sums() {
    let limits = ReportLimits {
        max_namespaces: 2,
        max_workloads: 3,
    };
    let a = many_workloads(12, 4, &limits);
    let b = many_workloads(7, 5, &ReportLimits::default());
    let merged = merge(&[&a, &b], &limits).unwrap();
    let mut expected = a.total;
    expected += b.total;
    assert_eq!(merged.total, expected);
    assert_invariant(&merged);
    assert!(merged.namespaces.len() <= limits.max_namespaces + 2);
}

#[test]
fn cost_hour_round_trips_as_camel_case_json() {
    let h = one_node_two_pods(0.1);
    let json = serde_json::to_value(&h).unwrap();
    assert!(json["hoursSampled"].is_number());
    assert!(json["workloads"][0]["cpuRequestCoreHours"].is_number());
    assert!(json["total"]["management"].is_i64());
    let back: CostHour = serde_json::from_value(json).unwrap();
    assert_eq!(back, h);
    let key = WorkloadKey::new("a", "Deployment", "b");
    let text = serde_json::to_string(&key).unwrap();
    assert_eq!(text, r#"{"namespace":"a","kind":"Deployment","name":"b"}"#);
    assert_eq!(serde_json::from_str::<WorkloadKey>(&text).unwrap(), key);
}

#[test]
fn gpus_are_charged_by_request_and_pods_add_up_per_workload() {
    let trainer = WorkloadKey::new("ml", "Job", "train");
    let serve = WorkloadKey::new("ml", "Deployment", "serve");
    // The same workload again through another key value (as after a reconnect): one row.
    let trainer_again = WorkloadKey::new("ml", "Job", "train");
    let gpu = [ContainerTick {
        gpu_request: 1.0,
        ..container(0.0, Some(0.0), 0.0, Some(0.0))
    }];
    let none = [container(0.0, Some(0.0), 0.0, Some(0.0))];
    let mut gpu_node = node("g", false, 0.0, 0.0);
    gpu_node.gpus = 4.0;
    gpu_node.rates.gpu_per_hour = 0.95;
    let pod = |workload, containers| PodTick {
        workload,
        node: Some(0),
        containers,
        egress_bytes: None,
    };
    let mut acc = HourAccumulator::new(ctx(0.0), hour());
    acc.add_tick(
        &PriceSheet::default(),
        1.0,
        &[gpu_node],
        &[
            pod(&trainer, &gpu),
            pod(&serve, &none),
            pod(&trainer, &gpu),
            pod(&trainer_again, &gpu),
        ],
        &[],
    );
    let h = acc.finish(&ReportLimits::default());
    let t = row(&h.workloads, "ml", "train");
    assert_eq!(t.parts.gpu, Nanodollars(3 * 950_000_000));
    assert_eq!(t.pod_hours, 3.0);
    assert_eq!(row(&h.workloads, "ml", "serve").parts.gpu, Nanodollars(0));
    assert_eq!(h.idle.gpu, Nanodollars(950_000_000));
    assert_eq!(h.workloads.len(), 3);
    assert_invariant(&h);
}

#[test]
fn random_clusters_add_up_exactly_under_any_limits() {
    use crate::rng::SimRng;
    let mut rng = SimRng::new(2026);
    for case in 0..40 {
        let n_nodes = rng.range_inclusive(1, 6) as usize;
        let n_workloads = rng.range_inclusive(1, 30) as usize;
        let keys: Vec<WorkloadKey> = (0..n_workloads)
            .map(|i| {
                let ns = format!("ns{}", rng.range_inclusive(0, 5));
                WorkloadKey::new(&ns, "Deployment", &format!("w{i}"))
            })
            .collect();
        let nodes: Vec<NodeTick<'_>> = (0..n_nodes)
            .map(|_| {
                let spot = rng.chance(0.3);
                node(
                    "n",
                    spot,
                    rng.range_inclusive(1, 32) as f64,
                    rng.range_inclusive(1, 128) as f64,
                )
            })
            .collect();
        let containers: Vec<Vec<ContainerTick<'static>>> = (0..n_workloads * 3)
            .map(|_| {
                (0..rng.range_inclusive(1, 3))
                    .map(|_| {
                        let usage =
                            |rng: &mut SimRng| rng.chance(0.8).then(|| rng.next_f64() * 4.0);
                        container(
                            rng.next_f64() * 2.0,
                            usage(&mut rng),
                            rng.next_f64() * 8.0,
                            usage(&mut rng),
                        )
                    })
                    .collect()
            })
            .collect();
        let pods: Vec<PodTick<'_>> = containers
            .iter()
            .enumerate()
            .map(|(i, c)| PodTick {
                workload: &keys[i % n_workloads],
                node: if i % 7 == 3 { None } else { Some(i % n_nodes) },
                containers: c,
                egress_bytes: (i % 2 == 0).then_some(i as f64 * 1e6),
            })
            .collect();
        let claims: Vec<ClaimTick<'_>> = (0..n_workloads)
            .map(|i| ClaimTick {
                namespace: &keys[i].namespace,
                claim: "c",
                bytes: i as f64 * 1e9,
                storage_class: None,
                mounted_by: (i % 3 != 0).then_some(&keys[i]),
            })
            .collect();
        let limits = ReportLimits {
            max_namespaces: rng.range_inclusive(1, 8) as usize,
            max_workloads: rng.range_inclusive(1, 40) as usize,
        };
        let mut acc = HourAccumulator::new(ctx(rng.next_f64()), hour());
        for _ in 0..rng.range_inclusive(1, 4) {
            acc.add_tick(&PriceSheet::default(), 1.0 / 60.0, &nodes, &pods, &claims);
        }
        let h = acc.finish(&limits);
        let node_cost = (h.nodes.spot_cost + h.nodes.on_demand_cost).0;
        assert_invariant(&h);
        // Compute (allocated + idle) is exactly what the nodes cost.
        assert_eq!(h.total.compute().0, node_cost, "case {case}");
        assert!(
            h.namespaces.len() <= limits.max_namespaces + 2,
            "case {case}"
        );
        assert!(
            h.workloads.len() <= limits.max_workloads + limits.max_namespaces + 3,
            "case {case}: {} rows",
            h.workloads.len()
        );
        let merged = merge(&[&h, &h], &limits).unwrap();
        assert_invariant(&merged);
        assert_eq!(merged.total.total(), h.total.total() + h.total.total());
    }
}
