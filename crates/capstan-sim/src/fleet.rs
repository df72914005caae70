//! Fleet description for the twin: size tiers, command-line options, the exact-fleet YAML
//! format, and the planner that turns a tier and a seed into a concrete, realistic fleet.
//!
//! A [`FleetSpec`] is the only input the generator needs: every cluster carries its own seed,
//! so one cluster can be regenerated without replanning the fleet.
//!
//! Exact-fleet YAML (unknown fields are rejected; `defaults:` is optional and fills any field a
//! cluster leaves out, with `labels` merged key by key):
//! ```yaml
//! defaults:
//!   provider: aws
//!   region: us-east-1
//!   version: "1.31.4"
//!   labels: {team: platform}
//! clusters:
//! - name: prod-aws-us-east-1-01
//!   labels: {environment: production}
//!   pods: 4000
//!   nodePools:
//!   - {name: general, instanceType: m6i.2xlarge, capacityType: on-demand, nodes: 50,
//!      cpu: 7910m, memory: 29021Mi, zones: [us-east-1a, us-east-1b]}
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use capstan_core::rng::SimRng;
use capstan_core::version::KubeVersion;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// Size class of a simulated fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Small,
    Medium,
    Large,
    Enterprise,
}

impl Tier {
    pub fn parse(s: &str) -> Result<Self, FleetError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "small" => Ok(Tier::Small),
            "medium" => Ok(Tier::Medium),
            "large" => Ok(Tier::Large),
            "enterprise" => Ok(Tier::Enterprise),
            _ => Err(FleetError::UnknownTier(s.to_string())),
        }
    }

    /// Number of clusters in the fleet (inclusive).
    pub fn cluster_range(&self) -> (u32, u32) {
        match self {
            Tier::Small => (5, 20),
            Tier::Medium => (20, 100),
            Tier::Large => (100, 500),
            Tier::Enterprise => (500, 5_000),
        }
    }

    /// Nodes per cluster (inclusive).
    pub fn node_range(&self) -> (u32, u32) {
        match self {
            Tier::Small => (50, 200),
            Tier::Medium => (200, 1_000),
            Tier::Large => (500, 5_000),
            Tier::Enterprise => (1_000, 10_000),
        }
    }

    /// Pods per cluster (inclusive).
    pub fn pod_range(&self) -> (u64, u64) {
        match self {
            Tier::Small => (5_000, 20_000),
            Tier::Medium => (20_000, 100_000),
            Tier::Large => (50_000, 500_000),
            Tier::Enterprise => (100_000, 1_000_000),
        }
    }
}

/// What the user asked for on the command line (`--tier --clusters --nodes --pods --seed`).
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub tier: Tier,
    /// Exact number of clusters instead of a draw from the tier's range.
    pub clusters: Option<u32>,
    /// Exact node count for every cluster.
    pub nodes: Option<u32>,
    /// Exact pod count for every cluster (clamped to what the nodes can hold).
    pub pods: Option<u64>,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    Spot,
    OnDemand,
}

impl CapacityType {
    pub fn as_str(&self) -> &'static str {
        match self {
            CapacityType::Spot => "spot",
            CapacityType::OnDemand => "on-demand",
        }
    }
}

/// One simulated cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// DNS-1123 label, unique in the fleet.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Control-plane version without the `v`, e.g. "1.31.4".
    pub version: String,
    /// One of [`PROVIDERS`].
    pub provider: String,
    pub region: String,
    pub node_pools: Vec<NodePoolSpec>,
    /// Target pod count for the whole cluster, system pods included.
    pub pods: u64,
    #[serde(default)]
    pub seed: u64,
}

/// A group of identical nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePoolSpec {
    pub name: String,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    pub nodes: u32,
    /// Allocatable CPU per node, a Kubernetes quantity ("7910m", "8").
    pub cpu: String,
    /// Allocatable memory per node, a Kubernetes quantity ("29021Mi", "32Gi").
    pub memory: String,
    #[serde(default = "default_max_pods")]
    pub max_pods: u32,
    /// Kubelet version ("1.30.8"); `None` means the control plane's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Zones the pool's nodes are spread over, round-robin.
    pub zones: Vec<String>,
}

fn default_max_pods() -> u32 {
    110
}

impl NodePoolSpec {
    /// The kubelet version of this pool's nodes.
    pub fn kubelet_version<'a>(&'a self, cluster: &'a ClusterSpec) -> &'a str {
        self.version.as_deref().unwrap_or(&cluster.version)
    }
}

impl ClusterSpec {
    pub fn node_count(&self) -> u64 {
        self.node_pools.iter().map(|p| u64::from(p.nodes)).sum()
    }

    /// Pods the kubelets would admit in total (`sum(nodes * maxPods)`).
    pub fn pod_capacity(&self) -> u64 {
        self.node_pools
            .iter()
            .map(|p| u64::from(p.nodes) * u64::from(p.max_pods))
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    pub clusters: Vec<ClusterSpec>,
}

impl FleetSpec {
    /// The fleet in the exact-fleet YAML format, so a planned fleet can be saved, edited and
    /// fed back to [`parse_fleet_yaml`].
    pub fn to_yaml(&self) -> Result<String, FleetError> {
        serde_saphyr::to_string(self).map_err(|e| FleetError::Serialize(e.to_string()))
    }
}

pub const PROVIDERS: [&str; 4] = ["aws", "gcp", "azure", "onprem"];

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("unknown tier {0:?} (expected small, medium, large or enterprise)")]
    UnknownTier(String),
    /// The YAML did not match the format; `path` is reconstructed from the text around the
    /// reported position.
    #[error("{path} (line {line}, column {column}): {message}")]
    Syntax {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// The YAML is well formed but a value is not acceptable.
    #[error("{path} (line {line}): {reason}")]
    Invalid {
        path: String,
        line: u64,
        reason: String,
    },
    #[error("cannot write fleet YAML: {0}")]
    Serialize(String),
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

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
}

/// Parse and validate an exact-fleet YAML document.
pub fn parse_fleet_yaml(text: &str) -> Result<FleetSpec, FleetError> {
    let file: FleetFile = serde_saphyr::from_str(text).map_err(|e| syntax_error(text, &e))?;
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
        if let Err(reason) = check_dns_label(&name) {
            return Err(FleetError::Invalid {
                path: at(".name"),
                line: name_line,
                reason,
            });
        }
        if let Some(first) = first_line.insert(name.clone(), name_line) {
            return Err(FleetError::Invalid {
                path: at(".name"),
                line: name_line,
                reason: format!("duplicate cluster name {name:?} (first used at line {first})"),
            });
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
        let cp = fleet_version(&version).ok_or_else(|| {
            invalid(
                ".version",
                format!("{version:?} is not a Kubernetes version like \"1.31.4\""),
            )
        })?;
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
            if pool.instance_type.trim().is_empty() {
                return Err(pinvalid(".instanceType", "must not be empty".into()));
            }
            match crate::objects::cpu_millis(&pool.cpu) {
                Some(m) if m > 0 => {}
                _ => {
                    return Err(pinvalid(
                        ".cpu",
                        format!("{:?} is not a positive CPU quantity", pool.cpu),
                    ));
                }
            }
            match crate::objects::memory_bytes(&pool.memory) {
                Some(b) if b > 0 => {}
                _ => {
                    return Err(pinvalid(
                        ".memory",
                        format!("{:?} is not a positive memory quantity", pool.memory),
                    ));
                }
            }
            if pool.max_pods == 0 {
                return Err(pinvalid(".maxPods", "must be at least 1".into()));
            }
            if pool.zones.is_empty() || pool.zones.iter().any(|z| z.trim().is_empty()) {
                return Err(pinvalid(
                    ".zones",
                    "needs at least one non-empty zone".into(),
                ));
            }
            if let Some(v) = pool.version.take() {
                let kv = fleet_version(&v).ok_or_else(|| {
                    pinvalid(
                        ".version",
                        format!("{v:?} is not a Kubernetes version like \"1.31.4\""),
                    )
                })?;
                // Version skew policy: kubelets may not be newer than the API server and may
                // lag it by at most three minor versions.
                let skew = cp.minor_distance(&kv);
                if skew > 0 {
                    return Err(pinvalid(
                        ".version",
                        format!("kubelet {v} is newer than the control plane {version}"),
                    ));
                }
                if skew < -3 {
                    return Err(pinvalid(
                        ".version",
                        format!(
                            "kubelet {v} is more than three minor versions behind the control plane {version}"
                        ),
                    ));
                }
                pool.version = Some(kv.to_string());
            }
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

fn syntax_error(text: &str, e: &serde_saphyr::Error) -> FleetError {
    let plain = e.without_snippet().to_string();
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    // The message repeats the position at its end; the error's fields carry it already.
    let message = match plain.rfind(" at line ") {
        Some(i) if line > 0 => plain[..i].to_string(),
        _ => plain,
    };
    // A "missing field" error points at the start of the mapping, whose first key must not
    // be mistaken for the culprit.
    let include_at_column = !message.contains("missing field");
    let path = if line > 0 {
        yaml_path_at(text, line, column, include_at_column)
    } else {
        String::new()
    };
    FleetError::Syntax {
        path: if path.is_empty() {
            "(document)".into()
        } else {
            path
        },
        line,
        column,
        message,
    }
}

#[derive(Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// Best-effort path (`clusters[1].nodePools[0].maxPods`) of the block-style YAML node at a
/// 1-based line and column, rebuilt from indentation. serde-saphyr reports positions but not
/// paths; for flow-style collections the path stops at the enclosing block key.
fn yaml_path_at(text: &str, line: u64, column: u64, include_at_column: bool) -> String {
    let mut stack: Vec<(u64, PathStep)> = Vec::new();
    let mut block_scalar_indent: Option<u64> = None;
    for (n, raw) in text.lines().enumerate() {
        let lno = n as u64 + 1;
        if lno > line {
            break;
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let rest = &raw[indent..];
        if rest.is_empty() || rest.starts_with('#') || rest.starts_with("---") {
            continue;
        }
        let mut col = indent as u64 + 1;
        if let Some(bi) = block_scalar_indent {
            if col > bi {
                continue;
            }
            block_scalar_indent = None;
        }
        let mut rest = rest;
        loop {
            let is_target = lno == line;
            let take = |c: u64| !is_target || c < column || (include_at_column && c == column);
            if rest == "-" || rest.starts_with("- ") {
                if !take(col) {
                    break;
                }
                while stack.last().is_some_and(|(c, _)| *c > col) {
                    stack.pop();
                }
                match stack.last_mut() {
                    Some((c, PathStep::Index(i))) if *c == col => *i += 1,
                    _ => stack.push((col, PathStep::Index(0))),
                }
                let after = rest[1..].trim_start_matches(' ');
                col += (rest.len() - after.len()) as u64;
                rest = after;
                if rest.is_empty() {
                    break;
                }
                continue;
            }
            if let Some((key, value)) = split_key(rest) {
                if !take(col) {
                    break;
                }
                while stack.last().is_some_and(|(c, _)| *c >= col) {
                    stack.pop();
                }
                stack.push((col, PathStep::Key(key)));
                let v = value.trim_start();
                if v.starts_with('|') || v.starts_with('>') {
                    block_scalar_indent = Some(col);
                }
            }
            break;
        }
    }
    let mut out = String::new();
    for (_, step) in &stack {
        match step {
            PathStep::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// `key: value` → (key, value) for a plain or quoted block mapping key.
fn split_key(s: &str) -> Option<(String, &str)> {
    if s.starts_with('{') || s.starts_with('[') {
        return None;
    }
    let (key, after) = if let Some(q) = s.strip_prefix('"').or_else(|| s.strip_prefix('\'')) {
        let quote = s.as_bytes()[0] as char;
        let end = q.find(quote)?;
        (q[..end].to_string(), &q[end + 1..])
    } else {
        let bytes = s.as_bytes();
        let mut i = 0;
        loop {
            if i >= bytes.len() {
                return None;
            }
            if bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
                break;
            }
            if bytes[i] == b'#' && i > 0 && bytes[i - 1] == b' ' {
                return None;
            }
            i += 1;
        }
        (s[..i].trim_end().to_string(), &s[i..])
    };
    let after = after.trim_start_matches(' ');
    let value = after.strip_prefix(':')?;
    Some((key, value))
}

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

/// A fleet file's version, "1.31.4" or "v1.31.4": [`KubeVersion`] narrowed to exactly
/// `1.<minor>.<patch>`. `KubeVersion::parse` alone would also take "1.31" and provider
/// builds such as "v1.31.4-eks-2d5f260" (dropping the suffix); a fleet file names exact
/// upstream releases, so those stay errors here.
fn fleet_version(s: &str) -> Option<KubeVersion> {
    let s = s.trim();
    let bare = s.strip_prefix('v').unwrap_or(s);
    let plain =
        bare.split('.').count() == 3 && bare.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let v = KubeVersion::parse(bare).ok()?;
    (plain && v.major == 1 && v.patch.is_some()).then_some(v)
}

/// DNS-1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric, at
/// most 63 characters.
pub fn check_dns_label(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok_inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    let ok_edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || b.len() > 63 {
        return Err(format!("{s:?} must be 1-63 characters"));
    }
    if !b.iter().all(ok_inner) || !ok_edge(&b[0]) || !ok_edge(&b[b.len() - 1]) {
        return Err(format!(
            "{s:?} is not a DNS-1123 label (lower-case alphanumerics and '-', starting and ending alphanumeric)"
        ));
    }
    Ok(())
}

/// A Kubernetes label key and value, as the API server would accept them (selectors over
/// cluster labels rely on the same syntax).
fn check_label(key: &str, value: &str) -> Result<(), String> {
    let name_ok = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    };
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        let valid = !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| check_dns_label(part).is_ok());
        if !valid {
            return Err(format!("label key prefix {p:?} is not a DNS subdomain"));
        }
    }
    if !name_ok(name) {
        return Err(format!("label key {key:?} is not a valid label name"));
    }
    if !value.is_empty() && !name_ok(value) {
        return Err(format!("label value {value:?} is not a valid label value"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------------

/// Pods a node spends on the twin's DaemonSets (kube-proxy and the CNI agent), which the
/// planner keeps free when it sets a cluster's pod target.
pub const DAEMON_PODS_PER_NODE: u32 = 2;

const TEAMS: [&str; 8] = [
    "platform", "payments", "checkout", "search", "data", "ml", "identity", "growth",
];

fn regions(provider: &str) -> &'static [&'static str] {
    match provider {
        "aws" => &[
            "us-east-1",
            "us-west-2",
            "eu-west-1",
            "eu-central-1",
            "ap-southeast-1",
        ],
        "gcp" => &[
            "us-central1",
            "us-east1",
            "europe-west1",
            "europe-west4",
            "asia-southeast1",
        ],
        "azure" => &[
            "eastus",
            "eastus2",
            "westeurope",
            "northeurope",
            "southeastasia",
        ],
        _ => &["dc-ams1", "dc-fra2", "dc-nyc3"],
    }
}

/// Zones of a region as each provider spells them in `topology.kubernetes.io/zone`.
pub fn zones_of(provider: &str, region: &str) -> Vec<String> {
    match provider {
        "aws" => ["a", "b", "c"]
            .iter()
            .map(|z| format!("{region}{z}"))
            .collect(),
        "gcp" => ["a", "b", "c"]
            .iter()
            .map(|z| format!("{region}-{z}"))
            .collect(),
        "azure" => (1..=3).map(|z| format!("{region}-{z}")).collect(),
        _ => (1..=3).map(|z| format!("{region}-rack{z}")).collect(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    System,
    General,
    Compute,
    Memory,
    Batch,
}

impl Role {
    fn pool_name(self, provider: &str, spot: bool) -> String {
        let base = match self {
            Role::System if provider == "gcp" => "default-pool",
            Role::System => "system",
            Role::General => "general",
            Role::Compute => "compute",
            Role::Memory => "memory",
            Role::Batch => "batch",
        };
        // AKS pool names are at most 12 lower-case alphanumerics: no dashes.
        match (spot, provider) {
            (true, "azure") => format!("{base}spot"),
            (true, _) => format!("{base}-spot"),
            (false, _) => base.to_string(),
        }
    }
}

/// Instance type name and memory (GiB) for a provider, pool role and vCPU count.
fn instance_type(provider: &str, role: Role, vcpu: u32) -> (String, u32) {
    let per_cpu = match role {
        Role::Compute => 2,
        Role::Memory => 8,
        _ => 4,
    };
    let aws_size = |v: u32| match v {
        4 => "xlarge".to_string(),
        8 => "2xlarge".to_string(),
        n => format!("{}xlarge", n / 4),
    };
    let name = match provider {
        "aws" => {
            let family = match role {
                Role::Compute => "c6i",
                Role::Memory => "r6i",
                Role::Batch => "m6a",
                _ => "m6i",
            };
            format!("{family}.{}", aws_size(vcpu))
        }
        "gcp" => {
            let family = match role {
                Role::Compute => "n2-highcpu",
                Role::Memory => "n2-highmem",
                Role::System => "e2-standard",
                _ => "n2-standard",
            };
            // n2-highcpu has 1 GiB per vCPU, not 2.
            if role == Role::Compute {
                return (format!("{family}-{vcpu}"), vcpu);
            }
            format!("{family}-{vcpu}")
        }
        "azure" => match role {
            Role::Compute => format!("Standard_F{vcpu}s_v2"),
            Role::Memory => format!("Standard_E{vcpu}s_v5"),
            _ => format!("Standard_D{vcpu}s_v5"),
        },
        _ => format!("vsphere-{vcpu}x{}", vcpu * per_cpu),
    };
    (name, vcpu * per_cpu)
}

/// Allocatable CPU as GKE and EKS reserve it for system daemons: 6% of the first core, 1% of
/// the second, 0.5% of the next two and 0.25% of the rest.
pub fn allocatable_cpu_millis(vcpu: u32) -> i64 {
    let v = i64::from(vcpu) * 1000;
    let tiers = [(1000, 60), (1000, 10), (2000, 10)];
    let mut left = v;
    let mut reserved = 0;
    for (size, cost) in tiers {
        let take = left.min(size);
        reserved += cost * take / size;
        left -= take;
    }
    reserved += left / 400;
    v - reserved
}

/// Memory reserved for the kubelet and system daemons (GKE's tiers: 25% of the first 4 GiB,
/// 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above) plus the 100 MiB hard
/// eviction threshold.
pub fn reserved_memory_bytes(total: i64) -> i64 {
    const GI: i64 = 1 << 30;
    let tiers = [(4 * GI, 25), (4 * GI, 20), (8 * GI, 10), (112 * GI, 6)];
    let mut left = total;
    let mut reserved = 0;
    for (size, pct) in tiers {
        let take = left.min(size);
        reserved += take / 100 * pct;
        left -= take;
    }
    reserved += left / 100 * 2;
    reserved + 100 * (1 << 20)
}

fn weighted<'a, T>(rng: &mut SimRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut x = rng.range_inclusive(0, u64::from(total.max(1)) - 1) as u32;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// Log-uniform draw in `[lo, hi]`: fleets have many modest clusters and a few huge ones.
fn log_uniform(rng: &mut SimRng, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let (l, h) = ((lo.max(1)) as f64, hi as f64);
    let v = (l.ln() + rng.next_f64() * (h.ln() - l.ln())).exp();
    (v.round() as u64).clamp(lo, hi)
}

/// Newest patch of each minor the planner uses (roughly as of late 2025).
const MINORS: [(u32, u32); 5] = [(29, 15), (30, 14), (31, 13), (32, 9), (33, 5)];

/// Plan a fleet: deterministic for `opts` (the seed included).
pub fn plan_fleet(opts: &FleetOptions) -> FleetSpec {
    let mut rng = SimRng::new(opts.seed).fork("fleet");
    let (clo, chi) = opts.tier.cluster_range();
    let count = opts
        .clusters
        .unwrap_or_else(|| rng.range_inclusive(u64::from(clo), u64::from(chi)) as u32);
    let mut name_counters: HashMap<String, u32> = HashMap::new();
    let mut clusters = Vec::with_capacity(count as usize);
    for i in 0..count {
        // One stream per cluster index, so that planning cluster i never depends on how many
        // draws the clusters before it made.
        let mut r = rng.fork(&format!("cluster-{i}"));
        clusters.push(plan_cluster(opts, &mut r, &mut name_counters));
    }
    FleetSpec { clusters }
}

fn plan_cluster(
    opts: &FleetOptions,
    r: &mut SimRng,
    name_counters: &mut HashMap<String, u32>,
) -> ClusterSpec {
    let env = *weighted(
        r,
        &[("production", 50), ("staging", 30), ("development", 20)],
    );
    let provider = *weighted(
        r,
        &[("aws", 45), ("gcp", 25), ("azure", 20), ("onprem", 10)],
    );
    let region = *r
        .pick(regions(provider))
        .expect("region lists are not empty");
    let env_short = match env {
        "production" => "prod",
        "staging" => "staging",
        _ => "dev",
    };
    let prefix = format!("{env_short}-{provider}-{region}");
    let n = name_counters.entry(prefix.clone()).or_insert(0);
    *n += 1;
    let name = format!("{prefix}-{:02}", *n);

    // Production trails the newest minors a little; development runs ahead.
    let minor_weights: [u32; 5] = match env {
        "production" => [8, 15, 30, 32, 15],
        "staging" => [4, 10, 24, 34, 28],
        _ => [2, 6, 18, 34, 40],
    };
    let choices: Vec<((u32, u32), u32)> = MINORS
        .iter()
        .zip(minor_weights)
        .map(|(m, w)| (*m, w))
        .collect();
    let (minor, max_patch) = *weighted(r, &choices);
    let patch = max_patch.saturating_sub(r.range_inclusive(0, 4) as u32);
    let version = KubeVersion::new(1, minor, patch);

    let team = *r.pick(&TEAMS).expect("team list is not empty");
    let criticality = match env {
        "production" => *weighted(r, &[("tier-1", 60), ("tier-2", 40)]),
        "staging" => "tier-2",
        _ => "tier-3",
    };
    let mut labels = BTreeMap::new();
    labels.insert("environment".to_string(), env.to_string());
    labels.insert("provider".to_string(), provider.to_string());
    labels.insert("region".to_string(), region.to_string());
    labels.insert("team".to_string(), team.to_string());
    labels.insert("tier".to_string(), criticality.to_string());

    let (nlo, nhi) = opts.tier.node_range();
    let mut nodes = opts
        .nodes
        .unwrap_or_else(|| log_uniform(r, u64::from(nlo), u64::from(nhi)) as u32)
        .max(1);
    let mut max_pods = default_max_pods();
    let (plo, phi) = opts.tier.pod_range();
    let pods = match opts.pods {
        Some(p) => {
            if opts.nodes.is_none() {
                // An exact pod count wins over the tier's node range: add nodes until it fits.
                let per_node = u64::from(max_pods - DAEMON_PODS_PER_NODE) * 95 / 100;
                let needed = p.div_ceil(per_node.max(1)).min(u64::from(u32::MAX)) as u32;
                nodes = nodes.max(needed);
            } else {
                // Both exact: raise maxPods towards the 250 EKS and AKS allow before clamping.
                let per_node = p.div_ceil(u64::from(nodes)) + u64::from(DAEMON_PODS_PER_NODE);
                if per_node > u64::from(max_pods) {
                    max_pods = per_node.min(250) as u32;
                }
            }
            p
        }
        None => log_uniform(r, plo, phi),
    };
    let room = u64::from(nodes) * u64::from(max_pods - DAEMON_PODS_PER_NODE);
    let pods = pods.min(room * 98 / 100 + u64::from(nodes) * u64::from(DAEMON_PODS_PER_NODE));

    // Denser clusters get bigger machines so that requests stay realistic per pod.
    let density = pods as f64 / f64::from(nodes);
    let vcpu = [4u32, 8, 16, 32]
        .into_iter()
        .find(|v| f64::from(*v) >= density * 0.16)
        .unwrap_or(32);

    let node_pools = plan_pools(r, provider, region, env, nodes, vcpu, max_pods, version);

    ClusterSpec {
        name,
        labels,
        version: version.to_string(),
        provider: provider.to_string(),
        region: region.to_string(),
        node_pools,
        pods,
        seed: r.next_u64(),
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_pools(
    r: &mut SimRng,
    provider: &str,
    region: &str,
    env: &str,
    nodes: u32,
    vcpu: u32,
    max_pods: u32,
    version: KubeVersion,
) -> Vec<NodePoolSpec> {
    let wanted = match nodes {
        0..=19 => r.range_inclusive(2, 3),
        20..=199 => r.range_inclusive(2, 4),
        _ => r.range_inclusive(3, 6),
    } as u32;
    let pool_count = wanted.min(nodes).max(1);
    let all_zones = zones_of(provider, region);
    let spot_share = match env {
        "production" => 0.2,
        "staging" => 0.4,
        _ => 0.5,
    };
    let mut roles = vec![Role::System];
    let extra = [
        Role::General,
        Role::Compute,
        Role::Memory,
        Role::Batch,
        Role::General,
    ];
    roles.extend(extra.iter().take(pool_count as usize - 1));

    // The system pool stays small; the rest share the nodes by random weights.
    let system_nodes = if pool_count == 1 {
        nodes
    } else {
        (nodes / 10).clamp(1, 6)
    };
    let weights: Vec<u64> = (1..pool_count).map(|_| r.range_inclusive(2, 10)).collect();
    let wsum: u64 = weights.iter().sum::<u64>().max(1);
    let rest = nodes - system_nodes;
    let mut counts = vec![system_nodes];
    for w in &weights {
        counts.push(((u64::from(rest) * w / wsum) as u32).max(1));
    }
    // Rounding: give the difference to (or take it from) the largest user pool.
    let assigned: u32 = counts.iter().sum();
    if pool_count > 1 {
        let largest = (1..counts.len())
            .max_by_key(|i| counts[*i])
            .expect("more than one pool");
        if assigned < nodes {
            counts[largest] += nodes - assigned;
        } else {
            let excess = assigned - nodes;
            counts[largest] = counts[largest].saturating_sub(excess).max(1);
        }
    }

    let mut names = BTreeSet::new();
    let mut pools = Vec::with_capacity(roles.len());
    for (idx, role) in roles.iter().enumerate() {
        let spot = *role != Role::System && (*role == Role::Batch || r.chance(spot_share));
        let mut name = role.pool_name(provider, spot);
        let mut k = 2;
        while !names.insert(name.clone()) {
            name = if provider == "azure" {
                format!("{}{k}", role.pool_name(provider, spot))
            } else {
                format!("{}-{k}", role.pool_name(provider, spot))
            };
            k += 1;
        }
        let pool_vcpu = if *role == Role::System {
            vcpu.min(8)
        } else {
            vcpu
        };
        let (itype, mem_gib) = instance_type(provider, *role, pool_vcpu);
        let mem_total = i64::from(mem_gib) << 30;
        let mem_alloc = mem_total - reserved_memory_bytes(mem_total);
        let zones = if counts[idx] >= 3 || r.chance(0.5) {
            all_zones.clone()
        } else {
            all_zones[..1].to_vec()
        };
        pools.push(NodePoolSpec {
            name,
            instance_type: itype,
            capacity_type: if spot {
                CapacityType::Spot
            } else {
                CapacityType::OnDemand
            },
            nodes: counts[idx],
            cpu: crate::objects::format_cpu(allocatable_cpu_millis(pool_vcpu)),
            memory: crate::objects::format_mebibytes(mem_alloc),
            max_pods,
            version: None,
            zones,
        });
    }
    // Stragglers: in some clusters a couple of nodes still run a kubelet one minor behind
    // (a pool someone forgot to roll), carved out of the largest user pool.
    if pools.len() > 1 && r.chance(0.25) {
        let prev = MINORS
            .iter()
            .find(|(m, _)| *m + 1 == version.minor)
            .map(|(_, p)| *p)
            .unwrap_or(10);
        let patch = prev.saturating_sub(r.range_inclusive(0, 3) as u32);
        let old = Some(KubeVersion::new(1, version.minor - 1, patch).to_string());
        let largest = (1..pools.len())
            .max_by_key(|i| pools[*i].nodes)
            .expect("more than one pool");
        if pools.len() < 6 && pools[largest].nodes >= 4 {
            let k = r.range_inclusive(1, 3) as u32;
            pools[largest].nodes -= k;
            let mut legacy = pools[largest].clone();
            // "legacy" suits every provider's pool-name rules (AKS: 12 alphanumerics).
            legacy.name = "legacy".to_string();
            legacy.nodes = k;
            legacy.version = old;
            pools.push(legacy);
        } else {
            let smallest = (1..pools.len())
                .min_by_key(|i| pools[*i].nodes)
                .expect("more than one pool");
            pools[smallest].version = old;
        }
    }
    pools
}

#[cfg(test)]
mod tests {
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
}
