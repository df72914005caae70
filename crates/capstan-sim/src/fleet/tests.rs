use std::collections::BTreeSet;

use capstan_core::version::KubeVersion;

use super::yaml_path::yaml_path_at;
use super::*;

fn opts(tier: Tier, seed: u64) -> FleetOptions {
    FleetOptions {
        tier,
        clusters: None,
        nodes: None,
        pods: None,
        seed,
    }
}

#[test]
fn tier_parse_and_ranges() {
    assert_eq!(Tier::parse("Enterprise").unwrap(), Tier::Enterprise);
    assert!(matches!(
        Tier::parse("huge"),
        Err(FleetError::UnknownTier(_))
    ));
    assert_eq!(Tier::Medium.node_range(), (200, 1_000));
    assert_eq!(Tier::Large.pod_range(), (50_000, 500_000));
}

#[test]
fn allocatable_matches_cloud_formulas() {
    // EKS and GKE report 7910m for 8 vCPU and 3920m for 4.
    assert_eq!(allocatable_cpu_millis(8), 7910);
    assert_eq!(allocatable_cpu_millis(4), 3920);
    assert_eq!(allocatable_cpu_millis(16), 15890);
    let gi = 1i64 << 30;
    // 32 GiB: 1 + 0.8 + 0.8 + 0.96 GiB reserved + 100 MiB eviction.
    let r = reserved_memory_bytes(32 * gi);
    assert!((r - (3_822_520_000 + 104_857_600)).abs() < 5_000_000, "{r}");
}

#[test]
fn plan_is_deterministic_and_within_ranges() {
    let a = plan_fleet(&opts(Tier::Small, 42));
    let b = plan_fleet(&opts(Tier::Small, 42));
    assert_eq!(a, b);
    let c = plan_fleet(&opts(Tier::Small, 43));
    assert_ne!(a, c);
    let (lo, hi) = Tier::Small.cluster_range();
    assert!((lo..=hi).contains(&(a.clusters.len() as u32)));
    let mut names = BTreeSet::new();
    for cl in &a.clusters {
        assert!(names.insert(cl.name.clone()), "duplicate {}", cl.name);
        check_dns_label(&cl.name).unwrap();
        let nodes = cl.node_count();
        assert!((50..=200).contains(&nodes), "{} has {nodes} nodes", cl.name);
        assert!(cl.pods <= cl.pod_capacity());
        assert!(cl.pods >= 5_000 && cl.pods <= 20_000, "{}", cl.pods);
        assert!((2..=6).contains(&cl.node_pools.len()));
        let cp = KubeVersion::parse(&cl.version).unwrap();
        assert!((29..=33).contains(&cp.minor));
        for p in &cl.node_pools {
            assert!(p.nodes >= 1);
            if let Some(v) = &p.version {
                assert_eq!(KubeVersion::parse(v).unwrap().minor + 1, cp.minor);
            }
        }
        assert!(cl.labels.contains_key("environment"));
    }
}

#[test]
fn fleet_has_variety() {
    let f = plan_fleet(&FleetOptions {
        clusters: Some(200),
        ..opts(Tier::Medium, 7)
    });
    assert_eq!(f.clusters.len(), 200);
    let envs: BTreeSet<_> = f
        .clusters
        .iter()
        .map(|c| c.labels["environment"].clone())
        .collect();
    assert_eq!(envs.len(), 3);
    let prod = f
        .clusters
        .iter()
        .filter(|c| c.labels["environment"] == "production")
        .count();
    assert!(
        (70..=130).contains(&prod),
        "{prod} production clusters of 200"
    );
    let minors: BTreeSet<_> = f
        .clusters
        .iter()
        .map(|c| KubeVersion::parse(&c.version).unwrap().minor)
        .collect();
    assert!(minors.len() >= 4);
    let spot = f
        .clusters
        .iter()
        .flat_map(|c| &c.node_pools)
        .filter(|p| p.capacity_type == CapacityType::Spot)
        .count();
    assert!(spot > 0);
    let lagging: Vec<&NodePoolSpec> = f
        .clusters
        .iter()
        .flat_map(|c| &c.node_pools)
        .filter(|p| p.version.is_some())
        .collect();
    assert!(!lagging.is_empty());
    // "A couple of nodes", not whole pools of hundreds.
    let legacy: Vec<_> = lagging.iter().filter(|p| p.name == "legacy").collect();
    assert!(!legacy.is_empty() && legacy.iter().all(|p| (1..=3).contains(&p.nodes)));
    let providers: BTreeSet<_> = f.clusters.iter().map(|c| c.provider.clone()).collect();
    assert_eq!(providers.len(), 4);
}

#[test]
fn overrides_are_exact() {
    let f = plan_fleet(&FleetOptions {
        tier: Tier::Enterprise,
        clusters: Some(2),
        nodes: Some(10_000),
        pods: Some(1_000_000),
        seed: 1,
    });
    assert_eq!(f.clusters.len(), 2);
    for c in &f.clusters {
        assert_eq!(c.node_count(), 10_000);
        assert_eq!(c.pods, 1_000_000);
        assert!(c.pods <= c.pod_capacity());
    }
    // An exact pod count with too few nodes raises maxPods, then clamps.
    let f = plan_fleet(&FleetOptions {
        tier: Tier::Small,
        clusters: Some(1),
        nodes: Some(10),
        pods: Some(100_000),
        seed: 1,
    });
    let c = &f.clusters[0];
    assert_eq!(c.node_count(), 10);
    assert!(c.pods <= c.pod_capacity() && c.pods > 2_000, "{}", c.pods);
    assert!(c.node_pools.iter().all(|p| p.max_pods == 250));
}

#[test]
fn planned_fleet_round_trips_through_yaml() {
    let f = plan_fleet(&opts(Tier::Small, 9));
    let text = f.to_yaml().unwrap();
    let back = parse_fleet_yaml(&text).unwrap();
    assert_eq!(f, back);
}

const GOOD: &str = "\
defaults:
  provider: aws
  region: us-east-1
  version: v1.31.4
  labels: {team: platform}
clusters:
- name: prod-a
  labels:
    environment: production
  pods: 300
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 3
    cpu: 7910m
    memory: 29021Mi
    version: 1.30.8
    zones: [us-east-1a, us-east-1b]
- name: dev-b
  provider: gcp
  region: us-central1
  pods: 10
  nodePools:
  - {name: pool, instanceType: e2-standard-4, capacityType: spot, nodes: 1, cpu: '3920m', memory: 12Gi, maxPods: 32, zones: [us-central1-a]}
";

#[test]
fn parses_with_defaults() {
    let f = parse_fleet_yaml(GOOD).unwrap();
    assert_eq!(f.clusters.len(), 2);
    let a = &f.clusters[0];
    assert_eq!(a.version, "1.31.4");
    assert_eq!(a.provider, "aws");
    assert_eq!(a.labels["team"], "platform");
    assert_eq!(a.labels["environment"], "production");
    assert_eq!(a.node_pools[0].max_pods, 110);
    assert_eq!(a.node_pools[0].kubelet_version(a), "1.30.8");
    let b = &f.clusters[1];
    assert_eq!(b.provider, "gcp");
    assert_eq!(b.node_pools[0].capacity_type, CapacityType::Spot);
    assert_eq!(b.node_pools[0].max_pods, 32);
    assert_eq!(b.node_pools[0].kubelet_version(b), "1.31.4");
}

fn err(text: &str) -> String {
    parse_fleet_yaml(text).unwrap_err().to_string()
}

#[test]
fn unknown_field_names_path_and_line() {
    let bad = GOOD.replace("    nodes: 3\n", "    nodes: 3\n    nodez: 4\n");
    let e = err(&bad);
    assert!(e.contains("clusters[0].nodePools[0].nodez"), "{e}");
    assert!(e.contains("line 16"), "{e}");
    assert!(e.contains("unknown field"), "{e}");
}

#[test]
fn type_errors_and_missing_fields_name_the_path() {
    let e = err(&GOOD.replace("  pods: 10\n", "  pods: many\n"));
    assert!(
        e.contains("clusters[1].pods") && e.contains("line 23"),
        "{e}"
    );
    let e = err(&GOOD.replace("    capacityType: on-demand\n", ""));
    assert!(
        e.contains("clusters[0].nodePools[0]") && e.contains("capacityType"),
        "{e}"
    );
    assert!(!e.contains("nodePools[0].name"), "{e}");
}

#[test]
fn validation_errors() {
    let e = err(&GOOD.replace("name: dev-b", "name: prod-a"));
    assert!(
        e.contains("clusters[1].name")
            && e.contains("duplicate")
            && e.contains("line 20")
            && e.contains("line 7"),
        "{e}"
    );
    let e = err(&GOOD.replace("name: dev-b", "name: Dev_B"));
    assert!(e.contains("DNS-1123"), "{e}");
    let e = err(&GOOD.replace("  pods: 300\n", "  pods: 331\n"));
    assert!(e.contains("clusters[0].pods") && e.contains("330"), "{e}");
    let e = err(&GOOD.replace("version: 1.30.8", "version: 1.27.3"));
    assert!(
        e.contains("clusters[0].nodePools[0].version") && e.contains("three"),
        "{e}"
    );
    let e = err(&GOOD.replace("version: 1.30.8", "version: 1.32.0"));
    assert!(e.contains("newer"), "{e}");
    let e = err(&GOOD.replace("  version: v1.31.4\n", "  version: latest\n"));
    assert!(
        e.contains("defaults.version") || e.contains("clusters[0].version"),
        "{e}"
    );
    let e = err(&GOOD.replace("  provider: gcp\n", "  provider: ibm\n"));
    assert!(
        e.contains("clusters[1].provider") && e.contains("line 20"),
        "{e}"
    );
    let e = err(&GOOD.replace("cpu: 7910m", "cpu: lots"));
    assert!(e.contains("clusters[0].nodePools[0].cpu"), "{e}");
    let e = err(
        "clusters:\n- name: x\n  version: 1.31.0\n  provider: aws\n  region: r\n  pods: 0\n  nodePools: []\n",
    );
    assert!(
        e.contains("clusters[0].nodePools") && e.contains("at least one"),
        "{e}"
    );
    let e = err(&GOOD.replace("    environment: production\n", "    environment: -prod\n"));
    assert!(e.contains("labels"), "{e}");
}

#[test]
fn yaml_path_reconstruction() {
    let t = "a:\n  b:\n  - x: 1\n    y: 2\n  - x: 3\n    z:\n      - q\n";
    assert_eq!(yaml_path_at(t, 4, 5, true), "a.b[0].y");
    assert_eq!(yaml_path_at(t, 5, 5, true), "a.b[1].x");
    assert_eq!(yaml_path_at(t, 7, 9, true), "a.b[1].z[0]");
    assert_eq!(yaml_path_at(t, 5, 5, false), "a.b[1]");
}

#[test]
fn a_five_thousand_cluster_fleet_file_parses() {
    // An Enterprise fleet this size is beyond the YAML parser's default node budget.
    let fleet = plan_fleet(&FleetOptions {
        clusters: Some(5_000),
        ..opts(Tier::Enterprise, 7)
    });
    let yaml = fleet.to_yaml().unwrap();
    let parsed = parse_fleet_yaml(&yaml).unwrap();
    assert_eq!(parsed.clusters.len(), 5_000);
    assert_eq!(parsed, fleet);
}
