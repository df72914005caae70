//! The price sheet file, read as every user YAML file is ([`crate::yaml_file`]): unknown
//! keys refused, every error naming the field's path and its line; all or nothing.
//!
//! Prices are checked while deserializing (a [`Price`] refuses a negative or non-finite
//! number), so the error carries the path and line of the offending value.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::prices::{PriceLayer, PriceMatch, PriceOverride, PriceSheet};
use crate::yaml_file::{self, ApiVersion, Kind, YamlFile, YamlFileError};

pub const API_VERSION: &str = "cost.toolkit.io/v1alpha1";
pub const KIND: &str = "PriceSheet";

/// Why a price sheet was refused.
pub type PriceError = YamlFileError;

/// A price in USD: finite and not negative.
#[derive(Debug, Clone, Copy)]
struct Price(f64);

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() || v < 0.0 {
            return Err(serde::de::Error::custom(format!(
                "a price must be a finite number of USD, zero or more, not {v}"
            )));
        }
        Ok(Price(v))
    }
}

fn price(p: Option<Price>) -> Option<f64> {
    p.map(|p| p.0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SheetFile {
    #[serde(rename = "apiVersion")]
    _api_version: ApiVersion<SheetFile>,
    #[serde(rename = "kind")]
    _kind: Kind<SheetFile>,
    #[serde(default)]
    defaults: LayerFile,
    #[serde(default)]
    providers: BTreeMap<String, LayerFile>,
    #[serde(default)]
    overrides: Vec<OverrideFile>,
}

impl YamlFile for SheetFile {
    const NAME: &'static str = "price sheet";
    const HEADER: Option<(&'static str, &'static str)> = Some((API_VERSION, KIND));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EgressFile {
    zone: Option<Price>,
    region: Option<Price>,
    internet: Option<Price>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerFile {
    #[serde(rename = "cpuPerVcpuHour")]
    cpu: Option<Price>,
    #[serde(rename = "ramPerGiBHour")]
    ram: Option<Price>,
    #[serde(rename = "spotCpuPerVcpuHour")]
    spot_cpu: Option<Price>,
    #[serde(rename = "spotRamPerGiBHour")]
    spot_ram: Option<Price>,
    #[serde(rename = "gpuPerGpuHour")]
    gpu: Option<Price>,
    #[serde(rename = "spotGpuPerGpuHour")]
    spot_gpu: Option<Price>,
    #[serde(rename = "storagePerGiBMonth")]
    storage: Option<Price>,
    #[serde(rename = "egressPerGiB")]
    egress: Option<EgressFile>,
    #[serde(rename = "managementPerClusterHour")]
    management: Option<Price>,
}

impl LayerFile {
    fn layer(&self) -> PriceLayer {
        let egress = |f: fn(&EgressFile) -> Option<Price>| price(self.egress.as_ref().and_then(f));
        PriceLayer {
            cpu_per_vcpu_hour: price(self.cpu),
            ram_per_gib_hour: price(self.ram),
            spot_cpu_per_vcpu_hour: price(self.spot_cpu),
            spot_ram_per_gib_hour: price(self.spot_ram),
            gpu_per_gpu_hour: price(self.gpu),
            spot_gpu_per_gpu_hour: price(self.spot_gpu),
            storage_per_gib_month: price(self.storage),
            egress_zone_per_gib: egress(|e| e.zone),
            egress_region_per_gib: egress(|e| e.region),
            egress_internet_per_gib: egress(|e| e.internet),
            management_per_cluster_hour: price(self.management),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MatchFile {
    provider: String,
    region: Option<String>,
    instance_type: Option<String>,
    storage_class: Option<String>,
}

/// An override entry: `match`, the layer's keys (spelled out: serde's `flatten` cannot be
/// combined with `deny_unknown_fields`), and the instance prices.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    #[serde(rename = "match")]
    matcher: MatchFile,
    #[serde(rename = "nodePerHour")]
    node: Option<Price>,
    #[serde(rename = "spotNodePerHour")]
    spot_node: Option<Price>,
    #[serde(rename = "cpuPerVcpuHour")]
    cpu: Option<Price>,
    #[serde(rename = "ramPerGiBHour")]
    ram: Option<Price>,
    #[serde(rename = "spotCpuPerVcpuHour")]
    spot_cpu: Option<Price>,
    #[serde(rename = "spotRamPerGiBHour")]
    spot_ram: Option<Price>,
    #[serde(rename = "gpuPerGpuHour")]
    gpu: Option<Price>,
    #[serde(rename = "spotGpuPerGpuHour")]
    spot_gpu: Option<Price>,
    #[serde(rename = "storagePerGiBMonth")]
    storage: Option<Price>,
    #[serde(rename = "egressPerGiB")]
    egress: Option<EgressFile>,
    #[serde(rename = "managementPerClusterHour")]
    management: Option<Price>,
}

impl OverrideFile {
    fn into_override(self) -> PriceOverride {
        let layer = LayerFile {
            cpu: self.cpu,
            ram: self.ram,
            spot_cpu: self.spot_cpu,
            spot_ram: self.spot_ram,
            gpu: self.gpu,
            spot_gpu: self.spot_gpu,
            storage: self.storage,
            egress: self.egress,
            management: self.management,
        }
        .layer();
        PriceOverride {
            matcher: PriceMatch {
                provider: self.matcher.provider,
                region: self.matcher.region,
                instance_type: self.matcher.instance_type,
                storage_class: self.matcher.storage_class,
            },
            prices: layer,
            node_per_hour: price(self.node),
            spot_node_per_hour: price(self.spot_node),
        }
    }
}

pub(super) fn parse(text: &str) -> Result<PriceSheet, PriceError> {
    let file: SheetFile = yaml_file::parse_yaml(text)?;

    let mut sheet = PriceSheet::default();
    sheet.defaults = {
        let mut d = sheet.defaults;
        file.defaults.layer().apply_to(&mut d);
        d
    };
    for (provider, layer) in &file.providers {
        let entry = sheet.providers.entry(provider.clone()).or_default();
        merge_layer(entry, &layer.layer());
    }
    for (i, entry) in file.overrides.into_iter().enumerate() {
        let o = entry.into_override();
        let invalid = |field: &str, message: &str| {
            SheetFile::invalid_in(text, format!("overrides[{i}]{field}"), message)
        };
        let m = &o.matcher;
        if m.instance_type.is_some() && m.storage_class.is_some() {
            return Err(invalid(
                ".match",
                "instanceType prices nodes and storageClass prices volumes: give one of them",
            ));
        }
        let node_price = o.node_per_hour.is_some() || o.spot_node_per_hour.is_some();
        if node_price && m.storage_class.is_some() {
            return Err(invalid(
                ".match",
                "nodePerHour/spotNodePerHour price instances, not a storage class",
            ));
        }
        if !node_price && o.prices == PriceLayer::default() {
            return Err(invalid("", "sets no price"));
        }
        sheet.overrides.push(o);
    }
    Ok(sheet)
}

fn merge_layer(into: &mut PriceLayer, from: &PriceLayer) {
    let pick = |a: &mut Option<f64>, b: Option<f64>| {
        if b.is_some() {
            *a = b;
        }
    };
    pick(&mut into.cpu_per_vcpu_hour, from.cpu_per_vcpu_hour);
    pick(&mut into.ram_per_gib_hour, from.ram_per_gib_hour);
    pick(
        &mut into.spot_cpu_per_vcpu_hour,
        from.spot_cpu_per_vcpu_hour,
    );
    pick(&mut into.spot_ram_per_gib_hour, from.spot_ram_per_gib_hour);
    pick(&mut into.gpu_per_gpu_hour, from.gpu_per_gpu_hour);
    pick(&mut into.spot_gpu_per_gpu_hour, from.spot_gpu_per_gpu_hour);
    pick(&mut into.storage_per_gib_month, from.storage_per_gib_month);
    pick(&mut into.egress_zone_per_gib, from.egress_zone_per_gib);
    pick(&mut into.egress_region_per_gib, from.egress_region_per_gib);
    pick(
        &mut into.egress_internet_per_gib,
        from.egress_internet_per_gib,
    );
    pick(
        &mut into.management_per_cluster_hour,
        from.management_per_cluster_hour,
    );
}
