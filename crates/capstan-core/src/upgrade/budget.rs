//! `maxSurge` and `maxUnavailable` for a node pool, scaled like a Deployment's.
//!
//! Upstream: `k8s.io/kubernetes/pkg/controller/deployment/util.ResolveFenceposts` (surge
//! rounds up, unavailable rounds down, and when both come out zero unavailable becomes 1) and
//! `pkg/apis/apps/validation` (both literally zero is invalid; unavailable at most 100%).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::intstr::{Round, scaled_value};

use super::{Result, UpgradeError};

/// A count (`"3"`) or a percentage of the pool (`"10%"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(u32),
    Percent(u32),
}

impl IntOrPercent {
    /// Parses `"3"` or `"10%"`; `field` names the setting in errors.
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        let err = |reason: &str| UpgradeError::Budget {
            field: field.to_string(),
            reason: format!("{s:?}: {reason}"),
        };
        let s = s.trim();
        match s.strip_suffix('%') {
            Some(pct) => pct
                .parse()
                .map(Self::Percent)
                .map_err(|_| err("expected a non-negative whole percentage such as \"10%\"")),
            None => s.parse().map(Self::Int).map_err(|_| {
                err("expected a non-negative count such as \"3\" or a percentage such as \"10%\"")
            }),
        }
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Self::Int(0) | Self::Percent(0))
    }

    /// The count this stands for out of `total`.
    pub fn scaled(&self, total: u32, round: Round) -> u32 {
        let value = match self {
            Self::Int(n) => Value::from(*n),
            Self::Percent(p) => Value::from(format!("{p}%")),
        };
        scaled_value(&value, i64::from(total), round)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(u32::MAX)
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for IntOrPercent {
    type Err = UpgradeError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("value", s)
    }
}

impl Serialize for IntOrPercent {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How far a pool of `size` nodes may go above its size and below full availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollBudget {
    /// Nodes above the pool's size at once.
    pub surge: u32,
    /// Nodes below the pool's size that may be unavailable at once.
    pub unavailable: u32,
}

impl RollBudget {
    /// Scale `max_surge` (up) and `max_unavailable` (down) against `size`.
    pub fn resolve(
        size: u32,
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    ) -> Result<Self> {
        Self::validate(max_surge, max_unavailable)?;
        let surge = max_surge.scaled(size, Round::Up);
        let mut unavailable = max_unavailable.scaled(size, Round::Down).min(size);
        // ResolveFenceposts: a roll that could neither add nor remove a node would never move.
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        Ok(Self { surge, unavailable })
    }

    /// The settings' own rules, independent of the pool size.
    pub fn validate(max_surge: IntOrPercent, max_unavailable: IntOrPercent) -> Result<()> {
        if max_surge.is_zero() && max_unavailable.is_zero() {
            return Err(UpgradeError::Budget {
                field: "maxUnavailable".into(),
                reason: "may not be 0 when maxSurge is 0: the roll could never replace a node"
                    .into(),
            });
        }
        if let IntOrPercent::Percent(p) = max_unavailable
            && p > 100
        {
            return Err(UpgradeError::Budget {
                field: "maxUnavailable".into(),
                reason: format!("{p}% is more than 100%"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(surge, unavailable)` or a part of the error.
    fn check(
        size: u32,
        surge: &str,
        unavailable: &str,
        want: std::result::Result<(u32, u32), &str>,
    ) {
        let got = IntOrPercent::parse("maxSurge", surge).and_then(|s| {
            IntOrPercent::parse("maxUnavailable", unavailable)
                .and_then(|u| RollBudget::resolve(size, s, u))
        });
        match (got, want) {
            (Ok(b), Ok((s, u))) => assert_eq!(
                (b.surge, b.unavailable),
                (s, u),
                "{surge}/{unavailable} of {size}"
            ),
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(msg.contains(part), "{msg:?} lacks {part:?}");
            }
            (got, want) => panic!("{surge}/{unavailable} of {size}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn surge_rounds_up_unavailable_rounds_down() {
        check(1000, "10%", "0", Ok((100, 0)));
        check(5, "10%", "0", Ok((1, 0)));
        check(5, "0", "10%", Ok((0, 1))); // 0.5 rounds down to 0: the fencepost makes it 1
        check(5, "25%", "25%", Ok((2, 1)));
        check(7, "3", "2", Ok((3, 2)));
        check(4, "0", "100%", Ok((0, 4)));
        check(4, "1", "10", Ok((1, 4))); // never more unavailable than the pool
        check(0, "10%", "0", Ok((0, 1)));
    }

    #[test]
    fn invalid_settings_name_the_field() {
        check(
            5,
            "0",
            "0",
            Err("invalid maxUnavailable: may not be 0 when maxSurge is 0"),
        );
        check(5, "0%", "0%", Err("maxUnavailable"));
        check(5, "ten", "0", Err("invalid maxSurge: \"ten\""));
        check(5, "-1", "0", Err("invalid maxSurge"));
        check(5, "1", "x%", Err("invalid maxUnavailable"));
        check(5, "1", "150%", Err("150% is more than 100%"));
    }

    #[test]
    fn round_trips_as_a_string() {
        for s in ["10%", "3", "0"] {
            let v: IntOrPercent = s.parse().unwrap();
            assert_eq!(v.to_string(), s);
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<IntOrPercent>(&json).unwrap(), v);
        }
    }
}
