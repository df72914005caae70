//! Time fields and their printing: ages, durations and RFC 3339 timestamps.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::fields::at;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// A `metav1.Time`/`MicroTime` field; `None` for absent, null, unparseable or Go-zero times.
pub(super) fn time_at(v: &Value, path: &[&str]) -> Option<Timestamp> {
    parse_time(at(v, path)?.as_str()?)
}

fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().and_then(non_zero)
}

/// `None` for Go's zero `time.Time`, which upstream prints like an unset time.
pub(super) fn non_zero(t: Timestamp) -> Option<Timestamp> {
    Some(t).filter(|t| t.as_second() != GO_ZERO_TIME_SECONDS)
}

pub(super) fn creation_timestamp(obj: &Value) -> Option<Timestamp> {
    time_at(obj, &["metadata", "creationTimestamp"])
}

/// `translateTimestampSince`: "<unknown>" for a zero time, else `HumanDuration(now - t)`.
pub(super) fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        None => "<unknown>".to_string(),
        Some(t) => human_duration_signed(now.duration_since(t)),
    }
}

pub(super) fn age(obj: &Value, now: Timestamp) -> String {
    since(creation_timestamp(obj), now)
}

/// `time.Time.UTC().Format(time.RFC3339)`, as the default table convertor prints "Created At".
pub(super) fn rfc3339(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// `duration.HumanDuration` for a signed duration: up to 2s in the future reads as "0s"
/// (clock skew tolerance), further in the future is "<invalid>".
pub(super) fn human_duration_signed(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs < -1 {
        return "<invalid>".to_string();
    }
    if secs < 0 || d.is_negative() {
        return "0s".to_string();
    }
    let std = std::time::Duration::new(secs.unsigned_abs(), d.subsec_nanos().unsigned_abs());
    capstan_core::duration::human_age(std)
}
