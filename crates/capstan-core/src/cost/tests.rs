#![allow(clippy::unwrap_used)]
//! Money and the price sheet.

use super::*;
use crate::rng::SimRng;
use crate::yaml_file::FieldError;

// ---- money ----

#[test]
fn from_dollars_cents_and_format() {
    fn check(dollars: f64, nanos: i64, cents: i64, printed: &str) {
        let n = Nanodollars::from_dollars(dollars);
        assert_eq!(n, Nanodollars(nanos), "{dollars}");
        assert_eq!(n.cents(), cents, "{dollars}");
        assert_eq!(format_usd(n.cents()), printed, "{dollars}");
    }
    check(0.0, 0, 0, "$0.00");
    check(1234.56, 1_234_560_000_000, 123_456, "$1,234.56");
    check(-0.05, -50_000_000, -5, "-$0.05");
    // Half a cent rounds away from zero, both signs.
    check(0.005, 5_000_000, 1, "$0.01");
    check(-0.005, -5_000_000, -1, "-$0.01");
    check(0.004999999, 4_999_999, 0, "$0.00");
    check(
        1_000_000.0,
        1_000_000_000_000_000,
        100_000_000,
        "$1,000,000.00",
    );
    check(999.999, 999_999_000_000, 100_000, "$1,000.00");
    check(f64::NAN, 0, 0, "$0.00");
    assert_eq!(format_usd(100), "$1.00");
    assert_eq!(format_usd(-123_456_789), "-$1,234,567.89");
    assert!((Nanodollars(1_500_000_000).as_dollars() - 1.5).abs() < 1e-12);
}

#[test]
fn arithmetic_and_sum() {
    let a = Nanodollars(7);
    let mut b = Nanodollars(5);
    b += a;
    assert_eq!(b, Nanodollars(12));
    b -= Nanodollars(2);
    assert_eq!(b, Nanodollars(10));
    assert_eq!(-a, Nanodollars(-7));
    assert_eq!(a - b, Nanodollars(-3));
    let total: Nanodollars = [a, b, Nanodollars(1)].into_iter().sum();
    assert_eq!(total, Nanodollars(18));
    assert_eq!(serde_json::to_string(&a).unwrap(), "7");
}

#[test]
fn apportion_hand_cases() {
    fn check(total: i64, weights: &[f64], want: &[i64]) {
        let got: Vec<i64> = apportion(Nanodollars(total), weights)
            .into_iter()
            .map(|n| n.0)
            .collect();
        assert_eq!(got, want, "apportion({total}, {weights:?})");
    }
    check(10, &[1.0, 1.0, 1.0], &[4, 3, 3]);
    check(-10, &[1.0, 1.0, 1.0], &[-4, -3, -3]);
    check(100, &[1.0, 3.0], &[25, 75]);
    check(7, &[0.0, 0.0], &[4, 3]); // all-zero weights: even
    check(7, &[f64::NAN, -1.0, 2.0], &[0, 0, 7]); // bad weights count as zero
    check(0, &[1.0, 2.0], &[0, 0]);
    check(5, &[], &[]);
    // The management example of the allocation test: 0.1 $ by compute cost.
    check(
        100_000_000,
        &[40_085_000.0, 64_364_500.0],
        &[38_377_398, 61_622_602],
    );
}

#[test]
fn apportion_preserves_the_total_and_stays_within_one_of_the_ideal() {
    let mut rng = SimRng::new(6);
    let weight_choices = [0.0, 0.5, 1.0, 2.0, 3.0, 7.0, 1e-9, 1e9];
    for total in -40..=40_i64 {
        for n in 1..=5 {
            for _ in 0..8 {
                let weights: Vec<f64> = (0..n)
                    .map(|_| *rng.pick(&weight_choices).unwrap())
                    .collect();
                let parts = apportion(Nanodollars(total), &weights);
                assert_eq!(parts.len(), weights.len());
                assert_eq!(parts.iter().sum::<Nanodollars>(), Nanodollars(total));
                let sum: f64 = weights.iter().sum();
                for (p, w) in parts.iter().zip(&weights) {
                    let ideal = if sum > 0.0 {
                        total as f64 * w / sum
                    } else {
                        total as f64 / n as f64
                    };
                    assert!(
                        (p.0 as f64 - ideal).abs() < 1.0 + 1e-6,
                        "{total} {weights:?} -> {parts:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn cents_sum_to_the_rounded_total() {
    fn check(parts: &[i64], want: &[i64]) {
        let parts: Vec<Nanodollars> = parts.iter().map(|&p| Nanodollars(p)).collect();
        assert_eq!(cents_summing_to_total(&parts), want, "{parts:?}");
    }
    // Three thirds of a dollar: 33.33.. each; the total prints $1.00, so one part rounds up.
    check(&[333_333_333, 333_333_333, 333_333_334], &[33, 33, 34]);
    // Each rounds to 1 cent on its own (3 cents) but the total is 1.8 cents -> 2.
    check(&[6_000_000, 6_000_000, 6_000_000], &[1, 1, 0]);
    check(&[-6_000_000, 6_000_000], &[-1, 1]);
    check(&[], &[]);

    let mut rng = SimRng::new(60);
    for _ in 0..2000 {
        let n = rng.range_inclusive(1, 12) as usize;
        let parts: Vec<Nanodollars> = (0..n)
            .map(|_| Nanodollars(rng.range_inclusive(0, 2_000_000_000) as i64 - 1_000_000_000))
            .collect();
        let cents = cents_summing_to_total(&parts);
        let total: Nanodollars = parts.iter().sum();
        assert_eq!(cents.iter().sum::<i64>(), total.cents(), "{parts:?}");
        for (c, p) in cents.iter().zip(&parts) {
            // Rounded down or up, never further.
            assert!((c * 10_000_000 - p.0).abs() < 10_000_000, "{p:?} -> {c}");
        }
    }
}

// ---- prices ----

#[test]
fn defaults_are_opencosts() {
    let sheet = PriceSheet::default();
    let d = sheet.defaults;
    assert_eq!(d.cpu_per_vcpu_hour, 0.031611);
    assert_eq!(d.spot_cpu_per_vcpu_hour, 0.006655);
    assert_eq!(d.ram_per_gib_hour, 0.004237);
    assert_eq!(d.spot_ram_per_gib_hour, 0.000892);
    assert_eq!(d.gpu_per_gpu_hour, 0.95);
    assert_eq!(d.spot_gpu_per_gpu_hour, 0.308);
    assert_eq!(d.storage_per_gib_month, 0.04);
    // OpenCost's hourly storage price: 0.00005479452 $/GiB-hour.
    let hourly = sheet.storage_per_gib_hour("gcp", "us-central1", None);
    assert!((hourly - 0.000_054_794_52).abs() < 1e-12, "{hourly}");
    assert_eq!(sheet.egress_per_gib("aws", "x", EgressKind::Zone), 0.01);
    assert_eq!(sheet.egress_per_gib("aws", "x", EgressKind::Region), 0.01);
    assert_eq!(sheet.egress_per_gib("aws", "x", EgressKind::Internet), 0.12);
    for (provider, fee) in [("aws", 0.10), ("gcp", 0.10), ("azure", 0.0), ("kind", 0.0)] {
        assert_eq!(
            sheet.management_per_cluster_hour(provider),
            fee,
            "{provider}"
        );
    }
    assert_eq!(HOURS_PER_MONTH, 730.0);
}

#[test]
fn the_printed_default_file_is_the_default_sheet() {
    assert_eq!(
        PriceSheet::parse_yaml(DEFAULT_PRICE_SHEET_YAML).unwrap(),
        PriceSheet::default()
    );
}

fn key<'a>(
    provider: &'a str,
    region: &'a str,
    instance_type: &'a str,
    spot: bool,
) -> NodePriceKey<'a> {
    NodePriceKey {
        provider,
        region,
        instance_type,
        spot,
        cpu_cores: 4.0,
        memory_gib: 16.0,
        gpus: 0.0,
    }
}

const LAYERED: &str = "
apiVersion: cost.toolkit.io/v1alpha1
kind: PriceSheet
defaults:
  cpuPerVcpuHour: 0.02
  egressPerGiB: {internet: 0.09}
providers:
  aws: {cpuPerVcpuHour: 0.03}
  azure: {managementPerClusterHour: 0.10}
overrides:
- match: {provider: aws, region: us-east-1, instanceType: m5.xlarge}
  cpuPerVcpuHour: 0.06
- match: {provider: aws, instanceType: m5.xlarge}
  cpuPerVcpuHour: 0.05
- match: {provider: aws, region: us-east-1}
  cpuPerVcpuHour: 0.04
  egressPerGiB: {internet: 0.15}
- match: {provider: gcp, storageClass: premium-rwo}
  storagePerGiBMonth: 0.17
- match: {provider: gcp}
  spotCpuPerVcpuHour: 0.001
";

#[test]
fn most_specific_override_wins() {
    let sheet = PriceSheet::parse_yaml(LAYERED).unwrap();
    fn check(sheet: &PriceSheet, k: NodePriceKey<'_>, cpu: f64, ram: f64, source: RateSource) {
        let r = sheet.node_rates(&k);
        assert_eq!(
            (r.cpu_per_core_hour, r.ram_per_gib_hour, r.source),
            (cpu, ram, source),
            "{k:?}"
        );
    }
    let ram = 0.004237;
    check(
        &sheet,
        key("aws", "us-east-1", "m5.xlarge", false),
        0.06,
        ram,
        RateSource::InstanceType,
    );
    // Declared order does not matter: provider+instanceType beats provider+region.
    check(
        &sheet,
        key("aws", "eu-west-1", "m5.xlarge", false),
        0.05,
        ram,
        RateSource::InstanceType,
    );
    check(
        &sheet,
        key("aws", "us-east-1", "c5.large", false),
        0.04,
        ram,
        RateSource::Region,
    );
    check(
        &sheet,
        key("aws", "eu-west-1", "c5.large", false),
        0.03,
        ram,
        RateSource::Provider,
    );
    check(
        &sheet,
        key("onprem", "dc1", "bare", false),
        0.02,
        ram,
        RateSource::Default,
    );
    check(
        &sheet,
        key("gcp", "us-central1", "e2", true),
        0.001,
        0.000892,
        RateSource::Provider,
    );
    // On-demand prices are not touched by a spot override.
    check(
        &sheet,
        key("gcp", "us-central1", "e2", false),
        0.02,
        ram,
        RateSource::Default,
    );

    assert_eq!(
        sheet.egress_per_gib("aws", "us-east-1", EgressKind::Internet),
        0.15
    );
    assert_eq!(
        sheet.egress_per_gib("aws", "eu-west-1", EgressKind::Internet),
        0.09
    );
    assert_eq!(
        sheet.egress_per_gib("aws", "eu-west-1", EgressKind::Zone),
        0.01
    );
    let premium = sheet.storage_per_gib_hour("gcp", "r", Some("premium-rwo"));
    assert!((premium - 0.17 / 730.0).abs() < 1e-15);
    let standard = sheet.storage_per_gib_hour("gcp", "r", Some("standard"));
    assert!((standard - 0.04 / 730.0).abs() < 1e-15);
    // File entries merge into the built-in provider fees key by key.
    assert_eq!(sheet.management_per_cluster_hour("azure"), 0.10);
    assert_eq!(sheet.management_per_cluster_hour("aws"), 0.10);
}

#[test]
fn instance_price_is_split_by_the_base_price_ratio() {
    // OpenCost spec Appendix A: a $35 node with base GPU $30, CPU $30, RAM $10 -> $15/$15/$5.
    let yaml = "
apiVersion: cost.toolkit.io/v1alpha1
kind: PriceSheet
providers:
  aws: {cpuPerVcpuHour: 30, ramPerGiBHour: 10, gpuPerGpuHour: 30}
overrides:
- match: {provider: aws, instanceType: p3.2xlarge}
  nodePerHour: 35
  spotNodePerHour: 7
";
    let sheet = PriceSheet::parse_yaml(yaml).unwrap();
    let mut k = key("aws", "us-east-1", "p3.2xlarge", false);
    k.cpu_cores = 1.0;
    k.memory_gib = 1.0;
    k.gpus = 1.0;
    let r = sheet.node_rates(&k);
    assert_eq!(
        (
            r.cpu_per_core_hour,
            r.ram_per_gib_hour,
            r.gpu_per_hour,
            r.source
        ),
        (15.0, 5.0, 15.0, RateSource::InstanceType)
    );
    assert_eq!(r.node_per_hour(1.0, 1.0, 1.0), 35.0);

    // A bigger node keeps the ratio and sums to its price: 4 vCPU, 16 GiB, no GPU at
    // base 30*4 + 10*16 = 280 -> scale 35/280.
    k.cpu_cores = 4.0;
    k.memory_gib = 16.0;
    k.gpus = 0.0;
    let r = sheet.node_rates(&k);
    assert!((r.cpu_per_core_hour - 3.75).abs() < 1e-12);
    assert!((r.ram_per_gib_hour - 1.25).abs() < 1e-12);
    assert!((r.node_per_hour(4.0, 16.0, 0.0) - 35.0).abs() < 1e-12);

    // Spot: the spot instance price over the spot base prices (0.006655, 0.000892).
    k.spot = true;
    let r = sheet.node_rates(&k);
    assert!((r.node_per_hour(4.0, 16.0, 0.0) - 7.0).abs() < 1e-12);
    let ratio = r.cpu_per_core_hour / r.ram_per_gib_hour;
    assert!((ratio - 0.006655 / 0.000892).abs() < 1e-9);
}

#[test]
fn bad_sheets_name_the_field_and_line() {
    #[track_caller]
    fn check(body: &str, field: &str, line: u64, message: &str) {
        let yaml = format!("apiVersion: cost.toolkit.io/v1alpha1\nkind: PriceSheet\n{body}");
        let err = PriceSheet::parse_yaml(&yaml).unwrap_err();
        let PriceError::Invalid(FieldError {
            field: got_field,
            line: got_line,
            message: got_message,
            ..
        }) = &err
        else {
            panic!("{body}: {err:?}");
        };
        assert_eq!(got_field, field, "{err}");
        assert_eq!(*got_line, Some(line), "{err}");
        assert!(got_message.contains(message), "{err}");
        let shown = err.to_string();
        assert!(
            shown.contains(field) && shown.contains(&format!("line {line}")),
            "{shown}"
        );
    }
    check(
        "defaults:\n  cpuPerVcpuHour: -1\n",
        "defaults.cpuPerVcpuHour",
        4,
        "not -1",
    );
    check(
        "defaults:\n  ramPerGiBHour: .nan\n",
        "defaults.ramPerGiBHour",
        4,
        "finite",
    );
    check(
        "defaults:\n  gpuPerGpuHour: .inf\n",
        "defaults.gpuPerGpuHour",
        4,
        "finite",
    );
    check(
        "defaults:\n  cpuPerCoreHour: 1\n",
        "defaults.cpuPerCoreHour",
        4,
        "unknown field",
    );
    check(
        "providers:\n  aws:\n    egressPerGiB: {zone: 0.01, moon: 3}\n",
        "providers.aws.egressPerGiB.moon",
        5,
        "unknown field",
    );
    check(
        "overrides:\n- match: {provider: aws}\n  nodePerHour: -0.5\n",
        "overrides[0].nodePerHour",
        5,
        "not -0.5",
    );
    check(
        "overrides:\n- match: {provider: aws, zone: a}\n  nodePerHour: 1\n",
        "overrides[0].match.zone",
        4,
        "unknown field",
    );
    check(
        "defaults:\n  cpuPerVcpuHour: cheap\n",
        "defaults.cpuPerVcpuHour",
        4,
        "",
    );
    check(
        "overrides:\n- match: {provider: aws}\n  nodePerHour: 1\n- match: {provider: gcp, instanceType: a, storageClass: b}\n  storagePerGiBMonth: 1\n",
        "overrides[1].match",
        6,
        "give one of them",
    );
    check(
        "overrides:\n- match: {provider: gcp, region: r}\n",
        "overrides[0]",
        4,
        "sets no price",
    );
}

#[test]
fn header_is_checked() {
    #[track_caller]
    fn check(yaml: &str, field: &str, message: &str) {
        let err = PriceSheet::parse_yaml(yaml).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains(field) && shown.contains(message), "{shown}");
    }
    check(
        "apiVersion: v1\nkind: PriceSheet\n",
        "apiVersion (line 1)",
        "must be \"cost.toolkit.io/v1alpha1\"",
    );
    check(
        "apiVersion: cost.toolkit.io/v1alpha1\nkind: Prices\n",
        "kind (line 2)",
        "must be \"PriceSheet\"",
    );
    check("kind: PriceSheet\n", "price sheet", "apiVersion");
    check(" \n", "price sheet", "the file is empty");
    assert!(matches!(
        PriceSheet::parse_yaml("a: [1,"),
        Err(PriceError::Syntax(_))
    ));
}

#[test]
fn equally_specific_overrides_the_later_wins() {
    let yaml = "
apiVersion: cost.toolkit.io/v1alpha1
kind: PriceSheet
overrides:
- match: {provider: aws, region: eu-west-1}
  cpuPerVcpuHour: 0.5
  ramPerGiBHour: 0.25
- match: {provider: aws, region: eu-west-1}
  cpuPerVcpuHour: 0.7
";
    let sheet = PriceSheet::parse_yaml(yaml).unwrap();
    let r = sheet.node_rates(&key("aws", "eu-west-1", "m5.large", false));
    // Field by field: the later entry's CPU, the earlier entry's RAM.
    assert_eq!((r.cpu_per_core_hour, r.ram_per_gib_hour), (0.7, 0.25));
    assert_eq!(r.source, RateSource::Region);
}
