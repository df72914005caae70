//! Resource quantities as the builders read and write them. Parsing is
//! `capstan_core::quantity::Quantity` (upstream `resource.ParseQuantity` semantics); the only
//! formatters kept here are the ones whose strings differ from core's on purpose.

use capstan_core::quantity::{Quantity, format_bytes_binary};

/// A quantity as upstream parses it, surrounding blanks ignored (hand-written fleet files
/// and specs carry them).
pub(super) fn parse_quantity(q: &str) -> Option<Quantity> {
    Quantity::parse(q.trim()).ok()
}

/// CPU quantity in millicores ("250m" → 250, "2" → 2000), rounded up as the API server
/// rounds sub-milli values.
pub fn cpu_millis(q: &str) -> Option<i64> {
    parse_quantity(q).map(|q| q.millis())
}

/// Memory quantity in bytes ("64Mi" → 67108864), rounded up to a whole byte.
pub fn memory_bytes(q: &str) -> Option<i64> {
    parse_quantity(q).map(|q| q.value())
}

/// "250m", or whole cores as "2": a [`Quantity`]'s own form.
pub fn format_cpu(millis: i64) -> String {
    Quantity::from_millis(millis).to_string()
}

/// The largest binary suffix that divides exactly: "2Gi", "64Mi", "1536Ki", or plain bytes.
pub fn format_memory(bytes: i64) -> String {
    format_bytes_binary(bytes)
}

/// Whole kibibytes, truncated ("16493670Ki"). The kubelet reports node memory and
/// ephemeral-storage capacity and allocatable this way, converting cAdvisor's byte counts
/// to Ki instead of the canonical form [`format_bytes_binary`] prints ("16Gi" or plain
/// bytes); `kubectl get node -o yaml` and describe show these strings verbatim.
pub(super) fn format_kibibytes(bytes: i64) -> String {
    format!("{}Ki", bytes / 1024)
}

/// Whole mebibytes, truncated ("29021Mi", "1024Mi"): how people write memory requests,
/// limits and node-pool sizes, where [`format_bytes_binary`] would print "1Gi".
pub fn format_mebibytes(bytes: i64) -> String {
    format!("{}Mi", bytes >> 20)
}
