//! Timestamps and durations written the way the API server and kubelet write them.

use jiff::Timestamp;

/// RFC 3339 with whole seconds and `Z`, as `metadata.creationTimestamp` is written.
/// Hand-rolled because the generator formats millions of these.
pub fn rfc3339(ts: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = civil(ts.as_second());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// RFC 3339 with microseconds (`MicroTime`), as Lease `renewTime` is written.
pub fn rfc3339_micros(ts: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = civil(ts.as_second());
    let us = ts.subsec_microsecond().max(0);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z")
}

/// Civil date and time of a Unix second (Howard Hinnant's days-to-civil).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3_600) as u32,
        (rem % 3_600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `ts` moved back by `secs` (saturating at the earliest representable time).
pub fn seconds_before(ts: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(ts.as_second().saturating_sub(secs)).unwrap_or(ts)
}

/// Go's `time.Duration` string for whole seconds ("40s", "1m20s", "5m0s"), as the kubelet
/// prints back-off delays. Not `capstan_core::duration::format_duration`, which drops zero
/// components ("5m") where Go, and so every real kubelet message, keeps them.
pub(super) fn go_duration(secs: u64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}
