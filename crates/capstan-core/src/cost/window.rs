//! Report windows as OpenCost's `window` parameter writes them
//! (core/pkg/opencost/window.go `parseWindow`), in UTC, aligned to whole hours (costs are
//! kept per hour), and Kubecost's rule for when hourly data is used.

use jiff::{SignedDuration, Timestamp, civil, tz::TimeZone};
use serde::{Deserialize, Serialize};

/// How long hourly cost data is kept; older windows are answered from daily rollups
/// (Kubecost keeps hourly allocation sets for 49 hours by default).
pub const HOURLY_RETENTION_HOURS: i64 = 49;

/// A half-open span `[start, end)` of whole hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CostWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl CostWindow {
    pub fn hours(&self) -> i64 {
        self.end.duration_since(self.start).as_secs() / 3600
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

/// Why a `--window` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid window {input:?}: {reason}")]
pub struct WindowError {
    pub input: String,
    pub reason: String,
}

const ACCEPTED: &str = "expected today, yesterday, week, lastweek, month, lastmonth, a duration \
     like 30m, 12h, 7d or 2w, or a pair of RFC 3339 times or unix seconds \
     (2026-11-01T00:00:00Z,2026-11-08T00:00:00Z)";

/// Parses a window relative to `now`:
/// - `today` (midnight to now), `yesterday`, `week` (Sunday 00:00 to now), `lastweek` (the
///   previous Sunday-to-Sunday), `month` (the 1st to now), `lastmonth`;
/// - `Nm`, `Nh`, `Nd`, `Nw`: the last N minutes/hours/days/weeks up to now;
/// - `start,end` as RFC 3339 times or unix seconds.
///
/// The result is aligned to whole hours: start rounded down, end rounded up.
pub fn parse_window(text: &str, now: Timestamp) -> Result<CostWindow, WindowError> {
    let err = |reason: &str| WindowError {
        input: text.to_string(),
        reason: reason.to_string(),
    };
    let input = text.trim();
    let today = midnight(now).map_err(|e| err(&e))?;
    let day = SignedDuration::from_hours(24);
    let (start, end) = match input {
        "" => return Err(err(&format!("empty; {ACCEPTED}"))),
        // Upstream has had both `end = start + 24h` and `end = now`; a cost report wants the
        // hours that happened.
        "today" => (today, now),
        "yesterday" => (sub(today, day).map_err(|e| err(&e))?, today),
        "week" | "lastweek" => {
            let weekday = civil_date(today).weekday().to_sunday_zero_offset();
            let sunday = sub(today, day * i32::from(weekday)).map_err(|e| err(&e))?;
            if input == "week" {
                (sunday, now)
            } else {
                (sub(sunday, day * 7).map_err(|e| err(&e))?, sunday)
            }
        }
        "month" | "lastmonth" => {
            let date = civil_date(today);
            let first = date.first_of_month();
            if input == "month" {
                (at_midnight(first).map_err(|e| err(&e))?, now)
            } else {
                let previous = first
                    .checked_sub(jiff::Span::new().months(1))
                    .map_err(|e| err(&e.to_string()))?;
                (
                    at_midnight(previous).map_err(|e| err(&e))?,
                    at_midnight(first).map_err(|e| err(&e))?,
                )
            }
        }
        _ => {
            if let Some((a, b)) = input.split_once(',') {
                (
                    point(a.trim()).map_err(|e| err(&e))?,
                    point(b.trim()).map_err(|e| err(&e))?,
                )
            } else {
                let length = relative(input).map_err(|e| err(&e))?;
                (sub(now, length).map_err(|e| err(&e))?, now)
            }
        }
    };
    let window = CostWindow {
        start: floor_hour(start).map_err(|e| err(&e))?,
        end: ceil_hour(end).map_err(|e| err(&e))?,
    };
    if window.end <= window.start {
        return Err(err("the window's end must be after its start"));
    }
    Ok(window)
}

/// Which stored data answers a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Resolution {
    Hourly,
    Daily,
}

/// Hourly when the window starts within the last [`HOURLY_RETENTION_HOURS`], else daily.
pub fn resolution(window: &CostWindow, now: Timestamp) -> Resolution {
    let oldest_hourly = now
        .checked_sub(SignedDuration::from_hours(HOURLY_RETENTION_HOURS))
        .unwrap_or(Timestamp::MIN);
    if window.start >= oldest_hourly {
        Resolution::Hourly
    } else {
        Resolution::Daily
    }
}

/// A window as it will be answered: daily windows widened to whole UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedWindow {
    pub resolution: Resolution,
    pub window: CostWindow,
    /// The window asked for, when widening changed it (to tell the user).
    pub requested: Option<CostWindow>,
}

pub fn resolve(window: CostWindow, now: Timestamp) -> ResolvedWindow {
    match resolution(&window, now) {
        Resolution::Hourly => ResolvedWindow {
            resolution: Resolution::Hourly,
            window,
            requested: None,
        },
        Resolution::Daily => {
            let start = midnight(window.start).unwrap_or(window.start);
            let end_midnight = midnight(window.end).unwrap_or(window.end);
            let end = if end_midnight == window.end {
                window.end
            } else {
                end_midnight
                    .checked_add(SignedDuration::from_hours(24))
                    .unwrap_or(window.end)
            };
            let widened = CostWindow { start, end };
            ResolvedWindow {
                resolution: Resolution::Daily,
                window: widened,
                requested: (widened != window).then_some(window),
            }
        }
    }
}

fn civil_date(t: Timestamp) -> civil::Date {
    t.to_zoned(TimeZone::UTC).date()
}

fn at_midnight(date: civil::Date) -> Result<Timestamp, String> {
    date.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

fn midnight(t: Timestamp) -> Result<Timestamp, String> {
    at_midnight(civil_date(t))
}

fn sub(t: Timestamp, d: SignedDuration) -> Result<Timestamp, String> {
    t.checked_sub(d)
        .map_err(|_| "reaches before the earliest supported time".to_string())
}

fn floor_hour(t: Timestamp) -> Result<Timestamp, String> {
    Timestamp::from_second(t.as_second().div_euclid(3600) * 3600).map_err(|e| e.to_string())
}

fn ceil_hour(t: Timestamp) -> Result<Timestamp, String> {
    let floor = floor_hour(t)?;
    if floor == t {
        Ok(t)
    } else {
        floor
            .checked_add(SignedDuration::from_hours(1))
            .map_err(|e| e.to_string())
    }
}

/// `30m`, `12h`, `7d`, `2w` (OpenCost's `^(\d+)(m|h|d|w)$`).
fn relative(text: &str) -> Result<SignedDuration, String> {
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("a number needs a unit (m, h, d or w); {ACCEPTED}"))?;
    let (digits, unit) = text.split_at(unit_at);
    if digits.is_empty() {
        return Err(format!("unknown window; {ACCEPTED}"));
    }
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{digits} is too large"))?;
    let minutes_per_unit = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        "w" => 7 * 24 * 60,
        other => return Err(format!("unknown unit {other:?}; {ACCEPTED}")),
    };
    if n == 0 {
        return Err("a window must be longer than zero".to_string());
    }
    n.checked_mul(minutes_per_unit)
        .and_then(|m| m.checked_mul(60))
        .map(SignedDuration::from_secs)
        .ok_or_else(|| format!("{text} is too long"))
}

/// One end of a pair: RFC 3339 (`2026-11-01T00:00:00Z`) or unix seconds.
fn point(text: &str) -> Result<Timestamp, String> {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        let secs: i64 = text
            .parse()
            .map_err(|_| format!("{text} is out of range"))?;
        return Timestamp::from_second(secs).map_err(|e| format!("{text}: {e}"));
    }
    text.parse::<Timestamp>().map_err(|_| {
        format!("{text:?} is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor unix seconds")
    })
}
