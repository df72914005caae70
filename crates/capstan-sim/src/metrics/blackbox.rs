//! blackbox_exporter's ICMP probe of a node
//! (`GET .../services/blackbox-exporter:9115/proxy/probe?module=icmp&target={node}`):
//! `probe_success`, `probe_duration_seconds` and `probe_icmp_duration_seconds{phase}` as
//! prober/icmp.go sets them. A lost probe reads `probe_success 0` with rtt 0, as upstream
//! leaves the phase it never reached; an unknown target fails at resolve.
//!
//! Baseline rtt is 0.3-1.5 ms per node (seeded) plus a little jitter; `faults/network` adds
//! `latencyMs` and loses `packetLoss` of the probes (each probe draws its outcome from the
//! cluster seed and the probe's sequence number).

use std::collections::HashMap;

use super::expo::{Expo, Kind};
use super::{MetricsState, unit};
use crate::cluster::{ClusterData, keys};
use crate::error::{ApiError, ApiResult};
use crate::store::ObjKey;

/// The probe body for `?module=icmp&target=...`.
pub fn probe(
    m: &mut MetricsState,
    data: &ClusterData,
    query: &HashMap<String, String>,
) -> ApiResult<String> {
    let target = query
        .get("target")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("Target parameter is missing"))?;
    let module = query.get("module").map(String::as_str).unwrap_or("");
    if module != "icmp" {
        return Err(ApiError::bad_request(format!(
            "Unknown module \"{module}\""
        )));
    }
    let seq = {
        let n = m.probes.entry(target.as_str().into()).or_default();
        *n += 1;
        *n
    };
    let seq_s = seq.to_string();
    let known = data.get(&keys::NODES, &ObjKey::cluster(target)).is_some();
    let net = data.faults.network_on(target);
    let resolve = 0.00002 + 0.00003 * unit(m.seed, &[target, "resolve", &seq_s]);
    let setup = 0.00005 + 0.00005 * unit(m.seed, &[target, "setup", &seq_s]);
    let lost = unit(m.seed, &[target, "loss", &seq_s]) < net.packet_loss;
    let (success, rtt, duration) = if !known {
        (false, 0.0, resolve)
    } else if lost {
        // The prober waits out its timeout (the module's default, capped by the scrape's).
        (false, 0.0, resolve + setup + 1.0)
    } else {
        let base = 0.0003 + 0.0012 * unit(m.seed, &[target, "rtt"]);
        let jitter = 0.0002 * unit(m.seed, &[target, "jitter", &seq_s]);
        let rtt = base + jitter + net.latency_ms / 1000.0;
        (true, rtt, resolve + setup + rtt + 0.0001)
    };
    let mut out = Expo::with_capacity(1024);
    out.family(
        "probe_duration_seconds",
        "Returns how long the probe took to complete in seconds",
        Kind::Gauge,
    );
    out.sample("probe_duration_seconds", &[], duration);
    out.family(
        "probe_icmp_duration_seconds",
        "Duration of icmp request by phase",
        Kind::Gauge,
    );
    let (resolve, setup) = if known {
        (resolve, setup)
    } else {
        (resolve, 0.0)
    };
    out.sample(
        "probe_icmp_duration_seconds",
        &[("phase", "resolve")],
        resolve,
    );
    out.sample("probe_icmp_duration_seconds", &[("phase", "rtt")], rtt);
    out.sample("probe_icmp_duration_seconds", &[("phase", "setup")], setup);
    out.family(
        "probe_success",
        "Displays whether or not the probe was a success",
        Kind::Gauge,
    );
    out.sample("probe_success", &[], if success { 1.0 } else { 0.0 });
    Ok(out.finish())
}
