//! Namespace ResourceQuota suggestions: the sum of the recommended requests plus headroom,
//! compared with the quota the namespace has.

use serde::{Deserialize, Serialize};

use crate::rightsizing::{MIB, QuantityPair, format_cpu, format_memory};

/// Default headroom over the recommended sum: room for a rollout's surge and growth.
pub const DEFAULT_HEADROOM: f64 = 0.2;
/// A cap more than this many times the suggestion does not stop sprawl.
const LOOSE_FACTOR: f64 = 2.0;

/// The `requests.*`/`limits.*` hard values of an existing ResourceQuota (cores, bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExistingQuota {
    pub name: String,
    pub requests_cpu: Option<f64>,
    pub requests_memory: Option<f64>,
    pub limits_cpu: Option<f64>,
    pub limits_memory: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaInput {
    pub namespace: String,
    /// Σ target × replicas over the namespace's containers, cores.
    pub recommended_cpu_cores: f64,
    /// Σ target × replicas, bytes.
    pub recommended_memory_bytes: f64,
    /// Σ current requests of its running pods (the quota's `used`).
    pub current_requests_cpu: f64,
    pub current_requests_memory: f64,
    pub existing: Option<ExistingQuota>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum QuotaVerdict {
    /// No quota caps the namespace's requests: nothing stops sprawl.
    Missing,
    /// A cap below what is already requested: new pods are being rejected.
    TooTight,
    /// A cap above twice the suggestion (or a resource left uncapped): it does not stop sprawl.
    Loose,
    Fits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaSuggestion {
    pub namespace: String,
    /// Cores: recommended × (1 + headroom), rounded up to a nice quantity.
    pub suggested_requests_cpu: f64,
    /// Bytes, likewise.
    pub suggested_requests_memory: f64,
    /// The same as quantities for a ResourceQuota's `spec.hard`.
    pub suggested_quantities: QuantityPair,
    pub existing: Option<ExistingQuota>,
    pub verdict: QuotaVerdict,
    pub detail: String,
}

/// Up to 10 cores in steps of 100m, above in whole cores.
fn nice_cpu(cores: f64) -> f64 {
    let step = if cores <= 10.0 { 0.1 } else { 1.0 };
    ((cores / step - 1e-9).ceil().max(1.0)) * step
}

/// Up to 4 GiB in steps of 128 MiB, above in whole GiB.
fn nice_memory(bytes: f64) -> f64 {
    let step = if bytes <= 4096.0 * MIB {
        128.0 * MIB
    } else {
        1024.0 * MIB
    };
    ((bytes / step - 1e-9).ceil().max(1.0)) * step
}

/// One resource's reading of an existing cap.
enum CapReading {
    Uncapped,
    Tight(String),
    Loose(String),
    Fits,
}

fn read_cap(
    resource: &str,
    cap: Option<f64>,
    used: f64,
    suggested: f64,
    show: fn(f64) -> String,
) -> CapReading {
    match cap {
        None => CapReading::Uncapped,
        Some(cap) if cap < used => CapReading::Tight(format!(
            "requests.{resource} {} is below the {} already requested",
            show(cap),
            show(used)
        )),
        Some(cap) if cap > LOOSE_FACTOR * suggested => CapReading::Loose(format!(
            "requests.{resource} {} is over {LOOSE_FACTOR}x the suggested {}",
            show(cap),
            show(suggested)
        )),
        Some(_) => CapReading::Fits,
    }
}

/// The suggestion for one namespace. `headroom` is a fraction (0.2 = 20%).
pub fn suggest_quota(input: &QuotaInput, headroom: f64) -> QuotaSuggestion {
    let cpu = nice_cpu(input.recommended_cpu_cores.max(0.0) * (1.0 + headroom));
    let memory = nice_memory(input.recommended_memory_bytes.max(0.0) * (1.0 + headroom));
    let (verdict, detail) = match &input.existing {
        None => (
            QuotaVerdict::Missing,
            "no ResourceQuota caps requests in this namespace".to_string(),
        ),
        Some(quota) => {
            let readings = [
                read_cap(
                    "cpu",
                    quota.requests_cpu,
                    input.current_requests_cpu,
                    cpu,
                    format_cpu,
                ),
                read_cap(
                    "memory",
                    quota.requests_memory,
                    input.current_requests_memory,
                    memory,
                    format_memory,
                ),
            ];
            verdict_of(&quota.name, &readings)
        }
    };
    QuotaSuggestion {
        namespace: input.namespace.clone(),
        suggested_requests_cpu: cpu,
        suggested_requests_memory: memory,
        suggested_quantities: QuantityPair {
            cpu: format_cpu(cpu),
            memory: format_memory(memory),
        },
        existing: input.existing.clone(),
        verdict,
        detail,
    }
}

/// TooTight wins over Loose (pods failing is worse than sprawl), Loose over Fits; a quota
/// that caps neither requests resource is Missing.
fn verdict_of(name: &str, readings: &[CapReading; 2]) -> (QuotaVerdict, String) {
    if readings.iter().all(|r| matches!(r, CapReading::Uncapped)) {
        return (
            QuotaVerdict::Missing,
            format!("ResourceQuota {name} sets neither requests.cpu nor requests.memory"),
        );
    }
    let tight: Vec<&str> = readings
        .iter()
        .filter_map(|r| match r {
            CapReading::Tight(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    if !tight.is_empty() {
        return (
            QuotaVerdict::TooTight,
            format!("ResourceQuota {name}: {}", tight.join("; ")),
        );
    }
    let mut loose: Vec<String> = Vec::new();
    for (resource, reading) in ["cpu", "memory"].iter().zip(readings) {
        match reading {
            CapReading::Loose(d) => loose.push(d.clone()),
            CapReading::Uncapped => loose.push(format!("requests.{resource} is not capped")),
            CapReading::Tight(_) | CapReading::Fits => {}
        }
    }
    if !loose.is_empty() {
        return (
            QuotaVerdict::Loose,
            format!("ResourceQuota {name}: {}", loose.join("; ")),
        );
    }
    (
        QuotaVerdict::Fits,
        format!("ResourceQuota {name} is within 2x of the suggestion and above current requests"),
    )
}

/// Suggestions for every namespace, ordered by verdict (Missing, TooTight, Loose, Fits)
/// then namespace.
pub fn suggest_quotas(inputs: &[QuotaInput], headroom: f64) -> Vec<QuotaSuggestion> {
    let mut out: Vec<QuotaSuggestion> = inputs.iter().map(|i| suggest_quota(i, headroom)).collect();
    out.sort_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then_with(|| a.namespace.cmp(&b.namespace))
    });
    out
}
