//! The price sheet: OpenCost's default prices, the managed control plane's fee by provider,
//! and the user's overrides by provider, region, instance type and storage class.
//!
//! Units are in every name: `_per_vcpu_hour`, `_per_gib_hour`, `_per_gib_month` (a month is
//! [`HOURS_PER_MONTH`] hours, as OpenCost's `timeutil.HoursPerMonth`), `_per_gib` (egress).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::price_file::PriceError;

/// OpenCost's month (core/pkg/util/timeutil `HoursPerMonth = 730.0`).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// USD per GiB of egress, by how far the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EgressPrices {
    pub zone: f64,
    pub region: f64,
    pub internet: f64,
}

/// Where egress goes; the agent says `Internet` unless it knows better (OpenCost's
/// `networkInternetCost` is the default bucket for unclassified traffic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EgressKind {
    Zone,
    Region,
    Internet,
}

/// One complete set of prices, all in USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
// Serialized with the price file's key names (`ramPerGiBHour`, not camelCase's
// `ramPerGibHour`), so that an effective sheet printed by `capstan cost prices` reads as a file.
pub struct Prices {
    pub cpu_per_vcpu_hour: f64,
    #[serde(rename = "ramPerGiBHour")]
    pub ram_per_gib_hour: f64,
    pub spot_cpu_per_vcpu_hour: f64,
    #[serde(rename = "spotRamPerGiBHour")]
    pub spot_ram_per_gib_hour: f64,
    pub gpu_per_gpu_hour: f64,
    pub spot_gpu_per_gpu_hour: f64,
    #[serde(rename = "storagePerGiBMonth")]
    pub storage_per_gib_month: f64,
    #[serde(rename = "egressPerGiB")]
    pub egress_per_gib: EgressPrices,
    pub management_per_cluster_hour: f64,
}

impl Prices {
    /// OpenCost's `configs/default.json` ("Default prices based on GCP us-central1", all
    /// hourly); the file has no spot GPU price, so that one is `DefaultPricing()`'s 0.308
    /// (pkg/cloud/provider/providerconfig.go). Storage there is 0.00005479452 $/GiB-hour,
    /// i.e. $0.04/GiB-month ÷ 730. No management fee: it depends on the provider.
    pub const OPENCOST_DEFAULTS: Prices = Prices {
        cpu_per_vcpu_hour: 0.031611,
        ram_per_gib_hour: 0.004237,
        spot_cpu_per_vcpu_hour: 0.006655,
        spot_ram_per_gib_hour: 0.000892,
        gpu_per_gpu_hour: 0.95,
        spot_gpu_per_gpu_hour: 0.308,
        storage_per_gib_month: 0.04,
        egress_per_gib: EgressPrices {
            zone: 0.01,
            region: 0.01,
            internet: 0.12,
        },
        management_per_cluster_hour: 0.0,
    };
}

impl Default for Prices {
    fn default() -> Self {
        Prices::OPENCOST_DEFAULTS
    }
}

/// Some prices: a provider's entry or an override. `None` keeps the less specific price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceLayer {
    pub cpu_per_vcpu_hour: Option<f64>,
    pub ram_per_gib_hour: Option<f64>,
    pub spot_cpu_per_vcpu_hour: Option<f64>,
    pub spot_ram_per_gib_hour: Option<f64>,
    pub gpu_per_gpu_hour: Option<f64>,
    pub spot_gpu_per_gpu_hour: Option<f64>,
    pub storage_per_gib_month: Option<f64>,
    pub egress_zone_per_gib: Option<f64>,
    pub egress_region_per_gib: Option<f64>,
    pub egress_internet_per_gib: Option<f64>,
    pub management_per_cluster_hour: Option<f64>,
}

impl PriceLayer {
    pub(super) fn apply_to(&self, p: &mut Prices) {
        let set = |slot: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut p.cpu_per_vcpu_hour, self.cpu_per_vcpu_hour);
        set(&mut p.ram_per_gib_hour, self.ram_per_gib_hour);
        set(&mut p.spot_cpu_per_vcpu_hour, self.spot_cpu_per_vcpu_hour);
        set(&mut p.spot_ram_per_gib_hour, self.spot_ram_per_gib_hour);
        set(&mut p.gpu_per_gpu_hour, self.gpu_per_gpu_hour);
        set(&mut p.spot_gpu_per_gpu_hour, self.spot_gpu_per_gpu_hour);
        set(&mut p.storage_per_gib_month, self.storage_per_gib_month);
        set(&mut p.egress_per_gib.zone, self.egress_zone_per_gib);
        set(&mut p.egress_per_gib.region, self.egress_region_per_gib);
        set(&mut p.egress_per_gib.internet, self.egress_internet_per_gib);
        set(
            &mut p.management_per_cluster_hour,
            self.management_per_cluster_hour,
        );
    }

    fn sets_node_price(&self, spot: bool) -> bool {
        if spot {
            self.spot_cpu_per_vcpu_hour.is_some()
                || self.spot_ram_per_gib_hour.is_some()
                || self.spot_gpu_per_gpu_hour.is_some()
        } else {
            self.cpu_per_vcpu_hour.is_some()
                || self.ram_per_gib_hour.is_some()
                || self.gpu_per_gpu_hour.is_some()
        }
    }
}

/// What an override applies to. `provider` is required; each other field, when set, must
/// equal the priced thing's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceMatch {
    pub provider: String,
    pub region: Option<String>,
    pub instance_type: Option<String>,
    pub storage_class: Option<String>,
}

impl PriceMatch {
    /// provider+region+instanceType (3) > provider+instanceType (2) > provider+region (1) >
    /// provider (0); a storage class ranks like an instance type.
    fn specificity(&self) -> u8 {
        u8::from(self.region.is_some())
            + 2 * u8::from(self.instance_type.is_some() || self.storage_class.is_some())
    }

    fn source(&self) -> RateSource {
        if self.instance_type.is_some() || self.storage_class.is_some() {
            RateSource::InstanceType
        } else if self.region.is_some() {
            RateSource::Region
        } else {
            RateSource::Provider
        }
    }

    fn matches(&self, scope: &Scope<'_>) -> bool {
        fn field(want: &Option<String>, have: Option<&str>) -> bool {
            match want {
                None => true,
                Some(want) => have == Some(want.as_str()),
            }
        }
        self.provider == scope.provider
            && field(&self.region, Some(scope.region))
            && field(&self.instance_type, scope.instance_type)
            && field(&self.storage_class, scope.storage_class)
    }
}

/// An override: prices for what `matcher` selects, and optionally a whole instance's price
/// (split into CPU, RAM and GPU by the ratio of the base prices, OpenCost spec Appendix A).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceOverride {
    #[serde(rename = "match")]
    pub matcher: PriceMatch,
    pub prices: PriceLayer,
    pub node_per_hour: Option<f64>,
    pub spot_node_per_hour: Option<f64>,
}

/// Which level of the sheet decided a node's prices, for explaining a number.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum RateSource {
    #[default]
    Default,
    Provider,
    Region,
    InstanceType,
}

/// The node being priced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodePriceKey<'a> {
    pub provider: &'a str,
    pub region: &'a str,
    pub instance_type: &'a str,
    pub spot: bool,
    pub cpu_cores: f64,
    pub memory_gib: f64,
    pub gpus: f64,
}

/// A node's hourly unit prices (USD), spot or on-demand as the key said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRates {
    pub cpu_per_core_hour: f64,
    pub ram_per_gib_hour: f64,
    pub gpu_per_hour: f64,
    pub source: RateSource,
}

impl NodeRates {
    /// The node's whole hourly price for the given capacity.
    pub fn node_per_hour(&self, cpu_cores: f64, memory_gib: f64, gpus: f64) -> f64 {
        self.cpu_per_core_hour * cpu_cores
            + self.ram_per_gib_hour * memory_gib
            + self.gpu_per_hour * gpus
    }
}

/// The price sheet: OpenCost defaults, per-provider entries, overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceSheet {
    pub defaults: Prices,
    pub providers: BTreeMap<String, PriceLayer>,
    /// In file order; among equally specific matches the later one wins.
    pub overrides: Vec<PriceOverride>,
}

impl Default for PriceSheet {
    /// OpenCost's defaults, and the managed control plane's fee: $0.10 per cluster-hour on
    /// EKS and GKE, 0 on AKS (free tier) and elsewhere. OpenCost sets the same fee when nodes
    /// carry `eks.amazonaws.com/nodegroup` / `cloud.google.com/gke-nodepool`
    /// (pkg/cloud/aws/provider.go, pkg/cloud/gcp/provider.go; Azure returns 0).
    fn default() -> Self {
        let fee = |usd: f64| PriceLayer {
            management_per_cluster_hour: Some(usd),
            ..PriceLayer::default()
        };
        PriceSheet {
            defaults: Prices::OPENCOST_DEFAULTS,
            providers: BTreeMap::from([
                ("aws".to_string(), fee(0.10)),
                ("azure".to_string(), fee(0.0)),
                ("gcp".to_string(), fee(0.10)),
            ]),
            overrides: Vec::new(),
        }
    }
}

/// What is being priced, for override matching.
struct Scope<'a> {
    provider: &'a str,
    region: &'a str,
    instance_type: Option<&'a str>,
    storage_class: Option<&'a str>,
}

/// Prices after layering, with what decided the node prices and any instance price.
struct Resolved {
    prices: Prices,
    /// On-demand, spot.
    node_source: [RateSource; 2],
    node_per_hour: Option<f64>,
    spot_node_per_hour: Option<f64>,
}

impl PriceSheet {
    /// Parses a YAML price sheet (see [`DEFAULT_PRICE_SHEET_YAML`]) over the defaults.
    pub fn parse_yaml(text: &str) -> Result<PriceSheet, PriceError> {
        super::price_file::parse(text)
    }

    /// The defaults as a price sheet file, for `capstan cost prices`.
    pub fn default_yaml() -> &'static str {
        DEFAULT_PRICE_SHEET_YAML
    }

    fn resolve(&self, scope: &Scope<'_>) -> Resolved {
        let mut resolved = Resolved {
            prices: self.defaults,
            node_source: [RateSource::Default; 2],
            node_per_hour: None,
            spot_node_per_hour: None,
        };
        if let Some(layer) = self.providers.get(scope.provider) {
            layer.apply_to(&mut resolved.prices);
            for spot in [false, true] {
                if layer.sets_node_price(spot) {
                    resolved.node_source[usize::from(spot)] = RateSource::Provider;
                }
            }
        }
        // Least specific first so the most specific is applied last; within one level, file
        // order (the later entry wins). Four passes over a short list: no allocation, as
        // this runs for every node at every tick.
        for level in 0..=3 {
            for o in self
                .overrides
                .iter()
                .filter(|o| o.matcher.specificity() == level && o.matcher.matches(scope))
            {
                o.prices.apply_to(&mut resolved.prices);
                if o.prices.sets_node_price(false) || o.node_per_hour.is_some() {
                    resolved.node_source[0] = o.matcher.source();
                }
                if o.prices.sets_node_price(true) || o.spot_node_per_hour.is_some() {
                    resolved.node_source[1] = o.matcher.source();
                }
                if o.node_per_hour.is_some() {
                    resolved.node_per_hour = o.node_per_hour;
                }
                if o.spot_node_per_hour.is_some() {
                    resolved.spot_node_per_hour = o.spot_node_per_hour;
                }
            }
        }
        resolved
    }

    /// A node's hourly unit prices. With an instance price for the node (`nodePerHour`, or
    /// `spotNodePerHour` for a spot node), the price is split into CPU, RAM and GPU keeping
    /// the ratio of the base unit prices (OpenCost spec Appendix A: a $35 node with base GPU
    /// $30, CPU $30, RAM $10 becomes $15/$15/$5). A spot node without a spot instance price
    /// uses the spot unit prices.
    pub fn node_rates(&self, key: &NodePriceKey<'_>) -> NodeRates {
        let r = self.resolve(&Scope {
            provider: key.provider,
            region: key.region,
            instance_type: Some(key.instance_type),
            storage_class: None,
        });
        let p = r.prices;
        let (cpu, ram, gpu, instance) = if key.spot {
            (
                p.spot_cpu_per_vcpu_hour,
                p.spot_ram_per_gib_hour,
                p.spot_gpu_per_gpu_hour,
                r.spot_node_per_hour,
            )
        } else {
            (
                p.cpu_per_vcpu_hour,
                p.ram_per_gib_hour,
                p.gpu_per_gpu_hour,
                r.node_per_hour,
            )
        };
        let mut rates = NodeRates {
            cpu_per_core_hour: cpu,
            ram_per_gib_hour: ram,
            gpu_per_hour: gpu,
            source: r.node_source[usize::from(key.spot)],
        };
        if let Some(node_price) = instance {
            let base = rates.node_per_hour(key.cpu_cores, key.memory_gib, key.gpus);
            if base > 0.0 {
                let scale = node_price / base;
                rates.cpu_per_core_hour *= scale;
                rates.ram_per_gib_hour *= scale;
                rates.gpu_per_hour *= scale;
            }
        }
        rates
    }

    /// USD per GiB-hour of a volume: the GiB-month price ÷ [`HOURS_PER_MONTH`].
    pub fn storage_per_gib_hour(
        &self,
        provider: &str,
        region: &str,
        storage_class: Option<&str>,
    ) -> f64 {
        let r = self.resolve(&Scope {
            provider,
            region,
            instance_type: None,
            storage_class,
        });
        r.prices.storage_per_gib_month / HOURS_PER_MONTH
    }

    /// USD per GiB leaving the cluster.
    pub fn egress_per_gib(&self, provider: &str, region: &str, kind: EgressKind) -> f64 {
        let e = self
            .resolve(&self.plain_scope(provider, region))
            .prices
            .egress_per_gib;
        match kind {
            EgressKind::Zone => e.zone,
            EgressKind::Region => e.region,
            EgressKind::Internet => e.internet,
        }
    }

    /// The managed control plane's fee, USD per cluster-hour.
    pub fn management_per_cluster_hour(&self, provider: &str) -> f64 {
        // Regional overrides apply too; the region is unknown here, so only provider-wide
        // entries count.
        self.resolve(&self.plain_scope(provider, ""))
            .prices
            .management_per_cluster_hour
    }

    /// The fee in a given region (an override may match the region).
    pub fn management_per_cluster_hour_in(&self, provider: &str, region: &str) -> f64 {
        self.resolve(&self.plain_scope(provider, region))
            .prices
            .management_per_cluster_hour
    }

    fn plain_scope<'a>(&self, provider: &'a str, region: &'a str) -> Scope<'a> {
        Scope {
            provider,
            region,
            instance_type: None,
            storage_class: None,
        }
    }
}

/// The default sheet as a file: what `PriceSheet::default()` holds, every key shown.
pub const DEFAULT_PRICE_SHEET_YAML: &str = r#"# Capstan price sheet. All prices in USD; units are in the key names.
# Defaults are OpenCost's default price sheet (configs/default.json, GCP us-central1);
# spotGpuPerGpuHour is OpenCost's DefaultPricing(). A month is 730 hours.
apiVersion: cost.toolkit.io/v1alpha1
kind: PriceSheet
defaults:
  cpuPerVcpuHour: 0.031611       # USD per vCPU-hour (on-demand)
  ramPerGiBHour: 0.004237        # USD per GiB-hour (on-demand)
  spotCpuPerVcpuHour: 0.006655   # USD per vCPU-hour (spot)
  spotRamPerGiBHour: 0.000892    # USD per GiB-hour (spot)
  gpuPerGpuHour: 0.95            # USD per GPU-hour (on-demand)
  spotGpuPerGpuHour: 0.308       # USD per GPU-hour (spot)
  storagePerGiBMonth: 0.04       # USD per GiB-month of volume capacity (730 h)
  egressPerGiB: {zone: 0.01, region: 0.01, internet: 0.12}   # USD per GiB
  managementPerClusterHour: 0    # USD per cluster-hour (managed control plane)
providers:                       # same keys as defaults; most specific wins
  aws: {managementPerClusterHour: 0.10}     # EKS
  gcp: {managementPerClusterHour: 0.10}     # GKE
  azure: {managementPerClusterHour: 0}      # AKS free tier
overrides: []
# overrides:                     # provider+region+instanceType > provider+instanceType > provider+region > provider
# - match: {provider: aws, region: us-east-1, instanceType: m5.xlarge}
#   nodePerHour: 0.192           # whole instance, USD/hour; split by the base cpu:ram:gpu price ratio
#   spotNodePerHour: 0.07
# - match: {provider: gcp, storageClass: premium-rwo}
#   storagePerGiBMonth: 0.17
"#;
