//! The exact-fleet YAML format as written (`defaults:` and partial clusters, with source
//! locations) and its parsing into a validated [`FleetSpec`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::validate::{check_dns_label, check_label, check_node_pool, fleet_version};
use super::yaml_path::syntax_error;
use super::{ClusterSpec, DisruptionBudgets, FleetError, FleetSpec, NodePoolSpec, PROVIDERS};

/// The file as written: everything optional that `defaults:` may supply, with locations kept
/// so that validation errors can point at a line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    #[serde(default)]
    defaults: Option<ClusterFields>,
    clusters: Vec<Spanned<RawCluster>>,
}

/// A cluster entry; the same fields as [`ClusterFields`] plus its name. Written out rather
/// than `#[serde(flatten)]`ed because flattening loses spans and unknown-field checks.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCluster {
    name: Spanned<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    node_pools: Option<Vec<Spanned<NodePoolSpec>>>,
    #[serde(default)]
    pods: Option<u64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    disruption_budgets: Option<DisruptionBudgets>,
}

impl RawCluster {
    fn into_parts(self) -> (Spanned<String>, ClusterFields) {
        let fields = ClusterFields {
            labels: self.labels,
            version: self.version,
            provider: self.provider,
            region: self.region,
            node_pools: self.node_pools,
            pods: self.pods,
            seed: self.seed,
            disruption_budgets: self.disruption_budgets,
        };
        (self.name, fields)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClusterFields {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    node_pools: Option<Vec<Spanned<NodePoolSpec>>>,
    #[serde(default)]
    pods: Option<u64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    disruption_budgets: Option<DisruptionBudgets>,
}

/// The parser's default budget (250,000 YAML nodes) is sized for configuration files; a fleet
/// file for 5,000 clusters has about a million nodes. Depth and alias limits stay as they are.
fn parser_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Parse and validate an exact-fleet YAML document.
pub fn parse_fleet_yaml(text: &str) -> Result<FleetSpec, FleetError> {
    let file: FleetFile = serde_saphyr::from_str_with_options(text, parser_options())
        .map_err(|e| syntax_error(text, &e))?;
    let defaults = file.defaults.unwrap_or_default();
    let mut clusters = Vec::with_capacity(file.clusters.len());
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for (i, raw) in file.clusters.into_iter().enumerate() {
        let line = raw.referenced.line();
        let raw = raw.value;
        let at = |field: &str| format!("clusters[{i}]{field}");
        let invalid = |field: &str, reason: String| FleetError::Invalid {
            path: at(field),
            line,
            reason,
        };
        let (name, f) = raw.into_parts();
        let name_line = name.referenced.line();
        let name = name.value;
        let name_invalid = |reason: String| FleetError::Invalid {
            path: at(".name"),
            line: name_line,
            reason,
        };
        check_dns_label(&name).map_err(name_invalid)?;
        if let Some(first) = first_line.insert(name.clone(), name_line) {
            return Err(name_invalid(format!(
                "duplicate cluster name {name:?} (first used at line {first})"
            )));
        }
        let mut labels = defaults.labels.clone().unwrap_or_default();
        labels.extend(f.labels.unwrap_or_default());
        for (k, v) in &labels {
            check_label(k, v).map_err(|r| invalid(&format!(".labels[{k:?}]"), r))?;
        }
        let missing = |field: &str| {
            invalid(
                &format!(".{field}"),
                format!("missing field `{field}` (and no `defaults.{field}`)"),
            )
        };
        let version = f
            .version
            .or_else(|| defaults.version.clone())
            .ok_or_else(|| missing("version"))?;
        let cp = fleet_version(&version).map_err(|r| invalid(".version", r))?;
        let provider = f
            .provider
            .or_else(|| defaults.provider.clone())
            .ok_or_else(|| missing("provider"))?;
        if !PROVIDERS.contains(&provider.as_str()) {
            return Err(invalid(
                ".provider",
                format!("{provider:?} is not one of {}", PROVIDERS.join(", ")),
            ));
        }
        let region = f
            .region
            .or_else(|| defaults.region.clone())
            .ok_or_else(|| missing("region"))?;
        if region.trim().is_empty() {
            return Err(invalid(".region", "must not be empty".into()));
        }
        let pools = match f.node_pools {
            Some(p) => p,
            None => defaults
                .node_pools
                .as_ref()
                .map(|p| p.iter().map(clone_spanned).collect())
                .ok_or_else(|| missing("nodePools"))?,
        };
        if pools.is_empty() {
            return Err(invalid(".nodePools", "needs at least one node pool".into()));
        }
        let mut pool_names = BTreeSet::new();
        let mut node_pools = Vec::with_capacity(pools.len());
        for (j, pool) in pools.into_iter().enumerate() {
            let pline = pool.referenced.line();
            let mut pool = pool.value;
            let pinvalid = |field: &str, reason: String| FleetError::Invalid {
                path: at(&format!(".nodePools[{j}]{field}")),
                line: pline,
                reason,
            };
            check_dns_label(&pool.name).map_err(|r| pinvalid(".name", r))?;
            if !pool_names.insert(pool.name.clone()) {
                return Err(pinvalid(
                    ".name",
                    format!("duplicate node pool name {:?}", pool.name),
                ));
            }
            check_node_pool(&mut pool, &cp, &version).map_err(|(field, r)| pinvalid(field, r))?;
            node_pools.push(pool);
        }
        let pods = f.pods.or(defaults.pods).ok_or_else(|| missing("pods"))?;
        let spec = ClusterSpec {
            name,
            labels,
            version: cp.to_string(),
            provider,
            region,
            node_pools,
            pods,
            seed: f.seed.or(defaults.seed).unwrap_or(0),
            disruption_budgets: f
                .disruption_budgets
                .or(defaults.disruption_budgets)
                .unwrap_or_default(),
        };
        let capacity = spec.pod_capacity();
        if spec.pods > capacity {
            return Err(invalid(
                ".pods",
                format!(
                    "{} pods do not fit: the node pools admit at most {capacity} (nodes x maxPods)",
                    spec.pods
                ),
            ));
        }
        clusters.push(spec);
    }
    Ok(FleetSpec { clusters })
}

fn clone_spanned<T: Clone>(s: &Spanned<T>) -> Spanned<T> {
    Spanned {
        value: s.value.clone(),
        referenced: s.referenced,
        defined: s.defined,
    }
}
