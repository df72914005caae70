//! Kubernetes resource quantities (`k8s.io/apimachinery/pkg/api/resource.Quantity`).
//!
//! A quantity is held exactly as a whole number of nano-units in an `i128`. Upstream also
//! rounds every parsed quantity up to nano precision, so nothing it can represent is lost
//! except magnitude: values beyond about 1.7e29 units are rejected here, where upstream's
//! big decimals would accept them (no real resource is that large).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

const NANOS_PER_UNIT: i128 = 1_000_000_000;
const NANOS_PER_MILLI: i128 = 1_000_000;
/// Upstream clamps binary-suffixed quantities to `math.MaxInt64` units (`maxAllowed`).
const MAX_BINARY_NANOS: u128 = (i64::MAX as u128) * (NANOS_PER_UNIT as u128);
/// Upstream's own statement of the syntax (`splitREString`), quoted in format errors.
const SYNTAX: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// An exact resource quantity such as `100m` CPU or `1Gi` memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    nanos: i128,
}

impl Quantity {
    /// Parses the quantity syntax of upstream `resource.ParseQuantity`.
    ///
    /// Follows upstream's scanner, so `.` and `1.` are accepted (as 0 and 1) and no
    /// whitespace is allowed. Input with no numeric part at all (`Ki`, `-`) is rejected
    /// although upstream's scanner lets it through as zero: it does not match upstream's
    /// own documented pattern, and it is almost certainly a typo.
    pub fn parse(s: &str) -> Result<Self> {
        let err = |reason: String| Error::Quantity {
            input: s.to_string(),
            reason,
        };
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(err(format!(
                "must not be empty; quantities must match the regular expression '{SYNTAX}'"
            )));
        }
        let mut pos = 0;
        let negative = match b.first() {
            Some(b'-') => {
                pos = 1;
                true
            }
            Some(b'+') => {
                pos = 1;
                false
            }
            _ => false,
        };
        let number_start = pos;
        let int_digits = take_digits(s, &mut pos);
        let mut frac_digits = "";
        let mut has_point = false;
        if b.get(pos) == Some(&b'.') {
            has_point = true;
            pos += 1;
            frac_digits = take_digits(s, &mut pos);
        }
        if int_digits.is_empty() && !has_point {
            return Err(err(format!(
                "expected a number at {:?}; quantities must match the regular expression '{SYNTAX}'",
                &s[number_start..]
            )));
        }

        let suffix_start = pos;
        while b.get(pos).is_some_and(|c| b"eEinumkKMGTP".contains(c)) {
            pos += 1;
        }
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        take_digits(s, &mut pos);
        if pos != b.len() {
            // Every byte before `pos` is ASCII, so this is a char boundary.
            let bad = s[pos..].chars().next().unwrap_or_default();
            return Err(err(format!(
                "unexpected {bad:?} at byte {pos}; quantities must match the regular expression '{SYNTAX}'"
            )));
        }
        let suffix = &s[suffix_start..];
        let Some((exp10, exp2)) = interpret_suffix(suffix) else {
            return Err(err(format!(
                "unknown suffix {suffix:?} (expected one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent such as e3)"
            )));
        };

        let Some(mut magnitude) = magnitude_in_nanos(int_digits, frac_digits, exp10, exp2) else {
            return Err(err("value is too large to represent".to_string()));
        };
        if exp2 > 0 && magnitude > MAX_BINARY_NANOS {
            magnitude = MAX_BINARY_NANOS;
        }
        let Ok(magnitude) = i128::try_from(magnitude) else {
            return Err(err("value is too large to represent".to_string()));
        };
        Ok(Self {
            nanos: if negative { -magnitude } else { magnitude },
        })
    }

    pub fn from_millis(m: i64) -> Self {
        Self {
            nanos: i128::from(m) * NANOS_PER_MILLI,
        }
    }

    pub fn from_units(v: i64) -> Self {
        Self {
            nanos: i128::from(v) * NANOS_PER_UNIT,
        }
    }

    /// Thousandths of a unit, rounded away from zero (upstream `MilliValue`), saturating
    /// at the `i64` range where upstream would silently overflow.
    pub fn millis(&self) -> i64 {
        scaled_up(self.nanos, NANOS_PER_MILLI)
    }

    /// Whole units, rounded away from zero (upstream `Value`), saturating like `millis`.
    ///
    /// Upstream's two internal representations disagree for negative fractions (its int64
    /// path gives -2 for -1.5, its big-decimal path -1); this follows the int64 path, which
    /// is the one ordinary input takes.
    pub fn value(&self) -> i64 {
        scaled_up(self.nanos, NANOS_PER_UNIT)
    }

    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }

    /// The exact value in nano-units.
    pub fn as_nanos(&self) -> i128 {
        self.nanos
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }
}

fn take_digits<'a>(s: &'a str, pos: &mut usize) -> &'a str {
    let start = *pos;
    while s.as_bytes().get(*pos).is_some_and(u8::is_ascii_digit) {
        *pos += 1;
    }
    &s[start..*pos]
}

/// Maps a suffix to (decimal exponent, binary exponent), as upstream's suffixer.
fn interpret_suffix(suffix: &str) -> Option<(i64, u32)> {
    Some(match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            // `E` alone is exa, but `E` or `e` followed by a signed integer is an exponent.
            let rest = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?;
            (rest.parse::<i64>().ok()?, 0)
        }
    })
}

/// |digits × 10^(exp10 − len(frac)) × 2^exp2| in nano-units, rounded up to a whole
/// nano-unit (upstream rounds the absolute value with `inf.RoundUp`). `None` on overflow.
///
/// Works on decimal digits so that any number of fractional digits and any exponent are
/// exact, with no big-number dependency.
fn magnitude_in_nanos(int_digits: &str, frac_digits: &str, exp10: i64, exp2: u32) -> Option<u128> {
    let mut digits: Vec<u8> = int_digits
        .bytes()
        .chain(frac_digits.bytes())
        .map(|c| c - b'0')
        .collect();
    let frac_len = i128::try_from(frac_digits.len()).ok()?;
    // Power of ten that turns `digits` into nano-units.
    let mut k = i128::from(exp10) + 9 - frac_len;

    let first_nonzero = digits.iter().position(|&d| d != 0);
    let Some(first_nonzero) = first_nonzero else {
        return Some(0);
    };
    digits.drain(..first_nonzero);
    if exp2 > 0 {
        digits = multiply_by_pow2(&digits, exp2);
    }
    // After the multiply, so that the rounding below sees only significant digits.
    while digits.last() == Some(&0) {
        digits.pop();
        k += 1;
    }

    let to_u128 = |ds: &[u8]| -> Option<u128> {
        ds.iter().try_fold(0u128, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u128::from(d))
        })
    };
    if k >= 0 {
        // u128::MAX has 39 digits; anything longer cannot fit.
        let len = i128::try_from(digits.len()).ok()?;
        if len + k > 39 {
            return None;
        }
        let mut v = to_u128(&digits)?;
        for _ in 0..k {
            v = v.checked_mul(10)?;
        }
        Some(v)
    } else {
        // Digits past the nano place round the magnitude up; trailing zeros are gone, so
        // any such digit is non-zero.
        let below_nano = usize::try_from(-k).unwrap_or(usize::MAX);
        if below_nano >= digits.len() {
            return Some(1);
        }
        let whole = &digits[..digits.len() - below_nano];
        to_u128(whole)?.checked_add(1)
    }
}

/// `digits × 2^exp` in decimal digits (most significant first); `exp` is at most 60.
fn multiply_by_pow2(digits: &[u8], exp: u32) -> Vec<u8> {
    let factor = 1u128 << exp;
    let mut out = Vec::with_capacity(digits.len() + 19);
    let mut carry = 0u128;
    for &d in digits.iter().rev() {
        let x = u128::from(d) * factor + carry;
        out.push((x % 10) as u8);
        carry = x / 10;
    }
    while carry > 0 {
        out.push((carry % 10) as u8);
        carry /= 10;
    }
    out.reverse();
    out
}

fn scaled_up(nanos: i128, per: i128) -> i64 {
    let q = nanos / per;
    let q = match (nanos % per).signum() {
        1 => q + 1,
        -1 => q - 1,
        _ => q,
    };
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

/// Whole units plainly (`2`, `1073741824`), otherwise the largest of `m`, `u`, `n` that
/// is exact (`500m`, `1500n`). Always re-parses to the same value, but unlike upstream's
/// canonical form it never uses `k`, `Mi` and the like.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nanos;
        if n % NANOS_PER_UNIT == 0 {
            write!(f, "{}", n / NANOS_PER_UNIT)
        } else if n % NANOS_PER_MILLI == 0 {
            write!(f, "{}m", n / NANOS_PER_MILLI)
        } else if n % 1_000 == 0 {
            write!(f, "{}u", n / 1_000)
        } else {
            write!(f, "{n}n")
        }
    }
}

impl FromStr for Quantity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Arithmetic saturates rather than panicking: a sum of resource requests that large is
/// nonsense anyway, and core code must not crash on hostile input.
impl Add for Quantity {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_add(rhs.nanos),
        }
    }
}

impl Sub for Quantity {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_sub(rhs.nanos),
        }
    }
}

impl Neg for Quantity {
    type Output = Self;
    fn neg(self) -> Self {
        Self {
            nanos: self.nanos.saturating_neg(),
        }
    }
}

impl AddAssign for Quantity {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl SubAssign for Quantity {
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}

impl Sum for Quantity {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), Add::add)
    }
}

impl<'a> Sum<&'a Quantity> for Quantity {
    fn sum<I: Iterator<Item = &'a Quantity>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Accepts a string, or a JSON number as upstream's `UnmarshalJSON` does.
impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct QuantityVisitor;
        impl Visitor<'_> for QuantityVisitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as \"100m\" or \"1Gi\", or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Quantity, E> {
                Ok(Quantity::from_units(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Quantity, E> {
                Ok(Quantity {
                    nanos: i128::from(v) * NANOS_PER_UNIT,
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Quantity, E> {
                // Rust prints finite floats as plain decimals, which the parser reads exactly.
                if !v.is_finite() {
                    return Err(E::custom(format!(
                        "invalid quantity {v}: not a finite number"
                    )));
                }
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// A byte count in upstream's BinarySI style: the largest of `Ki`…`Ei` that divides it
/// exactly, otherwise plain bytes (`16Gi`, `1536`).
pub fn format_bytes_binary(bytes: i64) -> String {
    if bytes == 0 {
        return "0".to_string();
    }
    for (shift, suffix) in [
        (60, "Ei"),
        (50, "Pi"),
        (40, "Ti"),
        (30, "Gi"),
        (20, "Mi"),
        (10, "Ki"),
    ] {
        let unit = 1i64 << shift;
        if bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected outcome of a table case: the value, or a part of the error message.
    type Expect<T> = std::result::Result<T, &'static str>;

    /// `Ok(display)` expects success with that Display form (which must re-parse to the
    /// same value); `Err(part)` expects an error mentioning `part`.
    fn check(input: &str, expected: Expect<&str>) {
        match (Quantity::parse(input), expected) {
            (Ok(q), Ok(want)) => {
                assert_eq!(q.to_string(), want, "display of {input:?}");
                assert_eq!(
                    Quantity::parse(&q.to_string()).unwrap(),
                    q,
                    "round trip {input:?}"
                );
            }
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(part),
                    "error for {input:?} was {msg:?}, wanted {part:?}"
                );
                assert!(matches!(e, Error::Quantity { .. }));
            }
            (got, want) => panic!("{input:?}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn parse_cases() {
        let cases: &[(&str, Expect<&str>)] = &[
            ("0", Ok("0")),
            ("1", Ok("1")),
            ("-1", Ok("-1")),
            ("+1", Ok("1")),
            ("000123", Ok("123")),
            ("100m", Ok("100m")),
            ("1000m", Ok("1")),
            ("1500m", Ok("1500m")),
            ("0.5", Ok("500m")),
            ("-0.5", Ok("-500m")),
            ("1n", Ok("1n")),
            ("1u", Ok("1u")),
            ("1.5u", Ok("1500n")),
            ("2k", Ok("2000")),
            ("1M", Ok("1000000")),
            ("1G", Ok("1000000000")),
            ("1T", Ok("1000000000000")),
            ("1P", Ok("1000000000000000")),
            ("1E", Ok("1000000000000000000")),
            ("12E", Ok("12000000000000000000")),
            ("1Ki", Ok("1024")),
            ("512Mi", Ok("536870912")),
            ("1Gi", Ok("1073741824")),
            ("16Gi", Ok("17179869184")),
            ("1Ti", Ok("1099511627776")),
            ("1Pi", Ok("1125899906842624")),
            ("1Ei", Ok("1152921504606846976")),
            ("1.5Gi", Ok("1610612736")),
            ("100.035Ki", Ok("102435840m")),
            ("0.5Mi", Ok("524288")),
            ("0.05Gi", Ok("53687091200m")),
            ("0.025Ti", Ok("27487790694400m")),
            // Upstream rounds up to nano precision and then prefers a decimal format.
            ("0.000000000001Ki", Ok("2n")),
            ("0.0000000005Ki", Ok("512n")),
            ("0.0000000001Ki", Ok("103n")),
            ("0.0000000001", Ok("1n")),
            ("-0.0000000001", Ok("-1n")),
            (
                "1.000000000000000000000000000000000000000000001",
                Ok("1000000001n"),
            ),
            ("1.000000000000000000000000000000000000000000000", Ok("1")),
            ("1e-100", Ok("1n")),
            ("0e100", Ok("0")),
            ("0.0", Ok("0")),
            ("1e3", Ok("1000")),
            ("1E3", Ok("1000")),
            ("1e+3", Ok("1000")),
            ("1e-3", Ok("1m")),
            ("1E-3", Ok("1m")),
            ("2.5e2", Ok("250")),
            ("1e20", Ok("100000000000000000000")),
            // Binary quantities are clamped at MaxInt64 units like upstream's maxAllowed.
            ("8Ei", Ok("9223372036854775807")),
            ("-8Ei", Ok("-9223372036854775807")),
            ("100000Ei", Ok("9223372036854775807")),
            // Upstream's scanner accepts these oddities.
            (".001", Ok("1m")),
            (".0001k", Ok("100m")),
            ("1.", Ok("1")),
            ("1.G", Ok("1000000000")),
            (".", Ok("0")),
            ("-.", Ok("0")),
            // Errors.
            ("", Err("must not be empty")),
            ("aoeu", Err("expected a number at \"aoeu\"")),
            ("Ki", Err("expected a number at \"Ki\"")),
            ("-", Err("expected a number")),
            (" 1", Err("expected a number at \" 1\"")),
            ("1 ", Err("unexpected ' ' at byte 1")),
            ("1.1.M", Err("unexpected '.' at byte 3")),
            ("1+1.0M", Err("unexpected '.' at byte 3")),
            ("0.1am", Err("unexpected 'a' at byte 3")),
            ("1Gié", Err("unexpected 'é' at byte 3")),
            ("0.1mi", Err("unknown suffix \"mi\"")),
            (".5i", Err("unknown suffix \"i\"")),
            ("1i", Err("unknown suffix \"i\"")),
            ("1K", Err("unknown suffix \"K\"")),
            ("1e", Err("unknown suffix \"e\"")),
            ("1m3", Err("unknown suffix \"m3\"")),
            ("1Ee3", Err("unknown suffix \"Ee3\"")),
            ("-3.01e-", Err("unknown suffix \"e-\"")),
            ("1e99999999999999999999", Err("unknown suffix")),
            ("1e30", Err("too large")),
            ("1e400", Err("too large")),
            ("999999999999999999999999999999999", Err("too large")),
        ];
        for (input, expected) in cases {
            check(input, *expected);
        }
    }

    #[test]
    fn scaled_values() {
        // input, millis(), value()
        let cases: &[(&str, i64, i64)] = &[
            ("0", 0, 0),
            ("100m", 100, 1),
            ("1", 1000, 1),
            ("1.5", 1500, 2),
            ("1n", 1, 1),
            ("1001u", 2, 1),
            ("-1n", -1, -1),
            ("-1.5", -1500, -2),
            ("2Gi", 2_147_483_648_000, 2_147_483_648),
            ("9223372036854775807", i64::MAX, i64::MAX),
            ("1E", i64::MAX, 1_000_000_000_000_000_000),
            ("-1e20", i64::MIN, i64::MIN),
        ];
        for (input, millis, value) in cases {
            let q = Quantity::parse(input).unwrap();
            assert_eq!(q.millis(), *millis, "millis of {input:?}");
            assert_eq!(q.value(), *value, "value of {input:?}");
        }
    }

    #[test]
    fn constructors_and_arithmetic() {
        assert_eq!(Quantity::from_millis(250), Quantity::parse("250m").unwrap());
        assert_eq!(Quantity::from_units(3), Quantity::parse("3").unwrap());
        assert_eq!(Quantity::from_units(-2).to_string(), "-2");
        assert_eq!(Quantity::from_millis(1500).as_f64(), 1.5);
        assert_eq!(Quantity::parse("1n").unwrap().as_nanos(), 1);
        assert!(Quantity::default().is_zero());
        let total: Quantity = ["100m", "1", "900m"]
            .iter()
            .map(|s| Quantity::parse(s).unwrap())
            .sum();
        assert_eq!(total.to_string(), "2");
        let mut q = Quantity::from_units(1);
        q -= Quantity::from_millis(1);
        assert_eq!(q.to_string(), "999m");
        q += Quantity::from_millis(1);
        assert_eq!(-q, Quantity::from_units(-1));
        let huge = Quantity { nanos: i128::MAX };
        assert_eq!((huge + huge).as_nanos(), i128::MAX);
        assert!(Quantity::parse("1Gi").unwrap() > Quantity::parse("1G").unwrap());
        assert!(Quantity::parse("999m").unwrap() < Quantity::parse("1").unwrap());
        assert!(Quantity::parse("-1").unwrap() < Quantity::default());
    }

    #[test]
    fn serde_round_trip() {
        let q = Quantity::parse("1500m").unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"1500m\"");
        // JSON input, expected Display or error part.
        let cases: &[(&str, Expect<&str>)] = &[
            ("\"1Gi\"", Ok("1073741824")),
            ("\"100m\"", Ok("100m")),
            ("2", Ok("2")),
            ("-3", Ok("-3")),
            ("18446744073709551615", Ok("18446744073709551615")),
            ("0.5", Ok("500m")),
            ("1.5e3", Ok("1500")),
            ("\"1x\"", Err("invalid quantity \"1x\"")),
            ("true", Err("a Kubernetes quantity")),
            ("null", Err("a Kubernetes quantity")),
        ];
        for (json, expected) in cases {
            match (serde_json::from_str::<Quantity>(json), expected) {
                (Ok(q), Ok(want)) => assert_eq!(q.to_string(), *want, "{json}"),
                (Err(e), Err(part)) => {
                    assert!(e.to_string().contains(part), "{json}: {e}");
                }
                (got, want) => panic!("{json}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn bytes_binary() {
        let cases: &[(i64, &str)] = &[
            (0, "0"),
            (1, "1"),
            (1023, "1023"),
            (1024, "1Ki"),
            (1536, "1536"),
            (123 * 1024, "123Ki"),
            (1025 * 1024, "1025Ki"),
            (512 << 20, "512Mi"),
            (16 << 30, "16Gi"),
            (3 << 40, "3Ti"),
            (5 << 50, "5Pi"),
            (1 << 60, "1Ei"),
            (-2048, "-2Ki"),
            (i64::MIN, "-8Ei"),
            (i64::MAX, "9223372036854775807"),
        ];
        for (bytes, want) in cases {
            let got = format_bytes_binary(*bytes);
            assert_eq!(got, *want, "{bytes}");
            // Upstream clamps binary quantities at MaxInt64, so -8Ei comes back one short.
            let back = if *bytes == i64::MIN {
                i64::MIN + 1
            } else {
                *bytes
            };
            assert_eq!(
                Quantity::parse(&got).unwrap().value(),
                back,
                "{got} re-parses"
            );
        }
    }
}
