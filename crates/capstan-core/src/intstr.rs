//! `IntOrString` values such as a PDB's `minAvailable: "50%"` or a Deployment's
//! `maxSurge: 2`, scaled against a total as apimachinery's `GetScaledValueFromIntOrPercent` does.

use serde_json::Value;

use crate::{Error, Result};

/// Rounding of a percentage: PDBs and `maxSurge` round up, `maxUnavailable` rounds down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    Up,
    Down,
}

/// The integer an `IntOrString` stands for out of `total`. A string must be a percentage
/// (`"25%"`); upstream rejects a bare numeric string, and so does this.
pub fn scaled_value(value: &Value, total: i64, round: Round) -> Result<i64> {
    let invalid = |reason: &str| Error::IntOrString {
        input: value.to_string(),
        reason: reason.to_string(),
    };
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| invalid("not an integer")),
        Value::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .ok_or_else(|| invalid("a string must be a percentage such as \"25%\""))?
                .parse()
                .map_err(|_| invalid("the percentage is not an integer"))?;
            let scaled = pct * total;
            Ok(match round {
                Round::Up => scaled.div_euclid(100) + i64::from(scaled.rem_euclid(100) != 0),
                Round::Down => scaled.div_euclid(100),
            })
        }
        _ => Err(invalid("must be an integer or a percentage string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, total: i64, round: Round, want: Option<i64>) {
        assert_eq!(
            scaled_value(&value, total, round).ok(),
            want,
            "{value} of {total} {round:?}"
        );
    }

    #[test]
    fn scaling_cases() {
        check(json!(3), 10, Round::Up, Some(3));
        check(json!("50%"), 7, Round::Up, Some(4)); // the PDB docs' example
        check(json!("50%"), 7, Round::Down, Some(3));
        check(json!("25%"), 4, Round::Down, Some(1));
        check(json!("1%"), 1, Round::Up, Some(1)); // any non-zero percentage allows one
        check(json!("0%"), 10, Round::Up, Some(0));
        check(json!("5"), 10, Round::Up, None);
        check(json!("x%"), 10, Round::Up, None);
        check(json!(null), 10, Round::Up, None);
    }
}
