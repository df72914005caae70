//! Durations as users and Kubernetes write them: Go's `time.ParseDuration` syntax (plus
//! days), a compact canonical form, and kubectl's AGE column.

use std::fmt::Write as _;
use std::time::Duration;

use crate::{Error, Result};

const NANOS_PER_SEC: u128 = 1_000_000_000;
const NANOS_PER_MIN: u128 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u128 = 60 * NANOS_PER_MIN;
/// Go's `time.Duration` is an int64 of nanoseconds (about 292 years); staying inside it
/// keeps every duration we accept expressible to Go tooling and the API server.
const MAX_NANOS: u128 = i64::MAX as u128;
/// Fraction digits beyond this many change the result by under a nanosecond for every
/// unit, and keep `fraction × unit` inside u128.
const MAX_FRACTION_DIGITS: usize = 20;

/// Parses a non-negative Go duration such as `90s`, `1h30m`, `1.5h` or `500ms`, and also
/// `d` for days (`7d`), which Go lacks but users write for time windows.
///
/// Like Go: a bare `0` is allowed without a unit, a leading `+` is allowed, no whitespace
/// is trimmed, and fractions of a unit are truncated to whole nanoseconds (Go goes through
/// a float; this is exact).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let err = |reason: String| Error::Duration {
        input: s.to_string(),
        reason,
    };
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(err(
            "expected a number followed by a unit, such as \"90s\"".to_string()
        ));
    }

    let mut total: u128 = 0;
    while !rest.is_empty() {
        let b = rest.as_bytes();
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut end = int_len;
        let mut frac = "";
        if b.get(end) == Some(&b'.') {
            let frac_len = b[end + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            frac = &rest[end + 1..end + 1 + frac_len];
            end += 1 + frac_len;
        }
        if int_len == 0 && frac.is_empty() {
            return Err(err(format!("expected a number at {rest:?}")));
        }
        let number = &rest[..end];
        let int_digits = &rest[..int_len];
        rest = &rest[end..];

        // The unit runs to the next number, as in Go.
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(err(format!("missing unit after {number:?}")));
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            // Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC).
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => NANOS_PER_MIN,
            "h" => NANOS_PER_HOUR,
            "d" => 24 * NANOS_PER_HOUR,
            _ => {
                return Err(err(format!(
                    "unknown unit {unit:?} (valid units are ns, us, µs, ms, s, m, h, d)"
                )));
            }
        };

        let out_of_range = || err("out of range (the maximum is about 292 years)".to_string());
        let mut whole: u128 = 0;
        for d in int_digits.bytes() {
            whole = whole * 10 + u128::from(d - b'0');
            if whole > MAX_NANOS {
                return Err(out_of_range());
            }
        }
        let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(out_of_range)?;
        let frac = &frac[..frac.len().min(MAX_FRACTION_DIGITS)];
        if !frac.is_empty() {
            let f: u128 = frac
                .bytes()
                .fold(0, |acc, d| acc * 10 + u128::from(d - b'0'));
            let scale = 10u128.pow(frac.len() as u32);
            nanos += f * unit_nanos / scale;
        }
        total = total.checked_add(nanos).ok_or_else(out_of_range)?;
        if total > MAX_NANOS {
            return Err(out_of_range());
        }
    }
    if negative && total != 0 {
        return Err(err("negative durations are not supported".to_string()));
    }
    // total <= i64::MAX, so it fits.
    Ok(Duration::from_nanos(
        u64::try_from(total).unwrap_or(u64::MAX),
    ))
}

/// Go's duration string without the zero components: `1h30m` rather than `1h30m0s`,
/// `1m30s`, `0s`, `500ms`, `1.5µs`. Hours are the largest unit, as in Go. The output
/// always parses back to the same duration.
pub fn format_duration(d: Duration) -> String {
    let total = d.as_nanos();
    if total == 0 {
        return "0s".to_string();
    }
    if total < NANOS_PER_SEC {
        // Go picks the unit that keeps at least one whole digit.
        let (per, unit) = if total < 1_000 {
            (1, "ns")
        } else if total < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        return format!("{}{unit}", decimal(total, per));
    }
    let hours = total / NANOS_PER_HOUR;
    let minutes = total % NANOS_PER_HOUR / NANOS_PER_MIN;
    let rest = total % NANOS_PER_MIN;
    let mut out = String::new();
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    if rest > 0 {
        let _ = write!(out, "{}s", decimal(rest, NANOS_PER_SEC));
    }
    out
}

/// `n / per` as a decimal with trailing zeros dropped; `per` is a power of ten.
fn decimal(n: u128, per: u128) -> String {
    let whole = n / per;
    let frac = n % per;
    if frac == 0 {
        return whole.to_string();
    }
    let width = per.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// kubectl's AGE column: upstream `k8s.io/apimachinery/pkg/util/duration.HumanDuration`,
/// about two significant figures. (Upstream also prints `<invalid>` for negative ages,
/// which `Duration` cannot be.)
pub fn human_age(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{h}h", hours / 24)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = hours / 24 % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{dy}d", hours / 24 / 365)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// `#[serde(with = "capstan_core::duration::serde_duration")]` for a `Duration` written
/// as a string (`"1h30m"`); [`serde_duration::option`] does the same for
/// `Option<Duration>`.
pub mod serde_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        super::parse_duration(&s).map_err(serde::de::Error::custom)
    }

    /// For `Option<Duration>`; `None` is `null`.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            d: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => serializer.serialize_some(&super::super::format_duration(*d)),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            let s = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            s.map(|s| super::super::parse_duration(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected outcome of a table case: the value, or a part of the error message.
    type Expect<T> = std::result::Result<T, &'static str>;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;

    /// `Ok(nanos)` expects that duration, `Err(part)` an error mentioning `part`.
    fn check(input: &str, expected: Expect<u64>) {
        match (parse_duration(input), expected) {
            (Ok(d), Ok(want)) => assert_eq!(d, Duration::from_nanos(want), "{input:?}"),
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(part),
                    "error for {input:?} was {msg:?}, wanted {part:?}"
                );
                assert!(matches!(e, Error::Duration { .. }));
            }
            (got, want) => panic!("{input:?}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn parse_cases() {
        let cases: &[(&str, Expect<u64>)] = &[
            ("0", Ok(0)),
            ("+0", Ok(0)),
            ("-0", Ok(0)),
            ("0s", Ok(0)),
            ("-0s", Ok(0)),
            ("90s", Ok(90 * S)),
            ("+5s", Ok(5 * S)),
            ("30m", Ok(30 * M)),
            ("1h", Ok(H)),
            ("1h30m", Ok(H + 30 * M)),
            ("1.5h", Ok(H + 30 * M)),
            ("500ms", Ok(500 * MS)),
            ("2h45m30s", Ok(2 * H + 45 * M + 30 * S)),
            ("1d", Ok(D)),
            ("7d", Ok(7 * D)),
            ("1d12h", Ok(D + 12 * H)),
            ("0.5d", Ok(12 * H)),
            ("1ns", Ok(1)),
            ("1us", Ok(1_000)),
            ("1µs", Ok(1_000)),
            ("1μs", Ok(1_000)),
            ("1.5µs", Ok(1_500)),
            (".5s", Ok(500 * MS)),
            ("1.s", Ok(S)),
            ("1.0000000001s", Ok(S)),
            ("0.1s", Ok(100 * MS)),
            ("0.3333333333333333333333333333h", Ok(1_199_999_999_999)),
            ("1h1h", Ok(2 * H)),
            ("1m30s500ms", Ok(90 * S + 500 * MS)),
            ("9223372036854775807ns", Ok(i64::MAX as u64)),
            ("2562047h", Ok(2_562_047 * H)),
            // Errors.
            ("", Err("expected a number followed by a unit")),
            ("-", Err("expected a number followed by a unit")),
            ("1", Err("missing unit after \"1\"")),
            ("1.5", Err("missing unit after \"1.5\"")),
            ("1h30", Err("missing unit after \"30\"")),
            ("s", Err("expected a number at \"s\"")),
            (".s", Err("expected a number at \".s\"")),
            ("1h.", Err("expected a number at \".\"")),
            ("1x", Err("unknown unit \"x\"")),
            ("1H", Err("unknown unit \"H\"")),
            ("1w", Err("unknown unit \"w\"")),
            ("1 h", Err("unknown unit \" h\"")),
            ("1h ", Err("unknown unit \"h \"")),
            ("1sec", Err("unknown unit \"sec\"")),
            ("-1s", Err("negative durations are not supported")),
            ("9223372036854775808ns", Err("out of range")),
            ("2562048h", Err("out of range")),
            (
                "99999999999999999999999999999999999999999s",
                Err("out of range"),
            ),
            ("2562047h48m", Err("out of range")),
        ];
        for (input, expected) in cases {
            check(input, *expected);
        }
    }

    #[test]
    fn format_cases() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_500, "1.5µs"),
            (500 * MS, "500ms"),
            (999_999_999, "999.999999ms"),
            (S, "1s"),
            (1_500 * MS, "1.5s"),
            (90 * S, "1m30s"),
            (60 * S, "1m"),
            (H + 30 * M, "1h30m"),
            (H + S, "1h1s"),
            (H + 500 * MS, "1h0.5s"),
            (61 * S + MS, "1m1.001s"),
            (S + 1, "1.000000001s"),
            (7 * D, "168h"),
            (i64::MAX as u64, "2562047h47m16.854775807s"),
        ];
        for (nanos, want) in cases {
            let d = Duration::from_nanos(*nanos);
            let got = format_duration(d);
            assert_eq!(got, *want, "{nanos}ns");
            assert_eq!(parse_duration(&got).unwrap(), d, "{got} parses back");
        }
    }

    #[test]
    fn human_age_cases() {
        // Upstream's TestHumanDuration and TestHumanDurationBoundaries.
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (S, "1s"),
            (S - MS, "0s"),
            (70 * S, "70s"),
            (2 * M - MS, "119s"),
            (2 * M, "2m"),
            (2 * M + S, "2m1s"),
            (190 * S, "3m10s"),
            (10 * M - MS, "9m59s"),
            (10 * M, "10m"),
            (10 * M + S, "10m"),
            (70 * M, "70m"),
            (3 * H - MS, "179m"),
            (3 * H, "3h"),
            (3 * H + M, "3h1m"),
            (8 * H - MS, "7h59m"),
            (8 * H, "8h"),
            (8 * H + 59 * M, "8h"),
            (47 * H, "47h"),
            (2 * D - MS, "47h"),
            (2 * D, "2d"),
            (49 * H, "2d1h"),
            (8 * D - MS, "7d23h"),
            (8 * D, "8d"),
            ((8 * 24 + 2) * H, "8d"),
            (8 * D + 23 * H, "8d"),
            (367 * D, "367d"),
            (2 * 365 * D - MS, "729d"),
            (2 * 365 * D, "2y"),
            (2 * 365 * D + 23 * H + 59 * M, "2y"),
            (2 * 365 * D + D - MS, "2y"),
            (2 * 365 * D + D, "2y1d"),
            (2 * 365 * D + 25 * H, "2y1d"),
            (3 * 365 * D, "3y"),
            (7 * 365 * D, "7y"),
            (8 * 365 * D - MS, "7y364d"),
            (8 * 365 * D, "8y"),
            (8 * 365 * D + 2 * H, "8y"),
            (8 * 365 * D + 364 * D, "8y"),
            (9 * 365 * D, "9y"),
        ];
        for (nanos, want) in cases {
            assert_eq!(human_age(Duration::from_nanos(*nanos)), *want, "{nanos}ns");
        }
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Config {
        #[serde(with = "serde_duration")]
        window: Duration,
        #[serde(with = "serde_duration::option", default)]
        timeout: Option<Duration>,
    }

    #[test]
    fn serde_cases() {
        let c = Config {
            window: Duration::from_secs(7 * 24 * 3600),
            timeout: Some(Duration::from_millis(1500)),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"window":"168h","timeout":"1.5s"}"#);
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), c);

        let parsed: Config = serde_json::from_str(r#"{"window":"7d"}"#).unwrap();
        assert_eq!(parsed.window, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(parsed.timeout, None);
        let parsed: Config = serde_json::from_str(r#"{"window":"1m","timeout":null}"#).unwrap();
        assert_eq!(parsed.timeout, None);
        assert_eq!(
            serde_json::to_string(&Config {
                window: Duration::ZERO,
                timeout: None
            })
            .unwrap(),
            r#"{"window":"0s","timeout":null}"#
        );

        let bad = serde_json::from_str::<Config>(r#"{"window":"7x"}"#).unwrap_err();
        assert!(bad.to_string().contains("unknown unit \"x\""), "{bad}");
        let bad = serde_json::from_str::<Config>(r#"{"window":60}"#).unwrap_err();
        assert!(bad.to_string().contains("invalid type"), "{bad}");
    }
}
