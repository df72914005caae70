//! Money as whole nanodollars, and exact splitting and rounding.
//!
//! Every cost is accumulated as an integer so that parts add up to their total exactly; the
//! only rounding happens when a price (f64) times a quantity becomes a [`Nanodollars`], and
//! when amounts are printed as cents (where [`cents_summing_to_total`] keeps printed parts
//! adding up to the printed total).

use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

const NANOS_PER_DOLLAR: f64 = 1e9;
const NANOS_PER_CENT: i64 = 10_000_000;

/// US dollars × 10⁹. An `i64` holds ±$9.2 billion.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Nanodollars(pub i64);

impl Nanodollars {
    pub const ZERO: Nanodollars = Nanodollars(0);

    /// Rounded to the nearest nanodollar; non-finite input gives zero, and values beyond the
    /// range saturate (`as` casts saturate).
    pub fn from_dollars(dollars: f64) -> Self {
        if !dollars.is_finite() {
            return Nanodollars(0);
        }
        Nanodollars((dollars * NANOS_PER_DOLLAR).round() as i64)
    }

    pub fn as_dollars(self) -> f64 {
        self.0 as f64 / NANOS_PER_DOLLAR
    }

    /// Whole cents, rounding half away from zero (exact integer arithmetic).
    pub fn cents(self) -> i64 {
        let whole = self.0 / NANOS_PER_CENT;
        let rest = self.0 % NANOS_PER_CENT;
        if rest.abs() * 2 >= NANOS_PER_CENT {
            whole + rest.signum()
        } else {
            whole
        }
    }
}

impl Add for Nanodollars {
    type Output = Nanodollars;
    fn add(self, rhs: Nanodollars) -> Nanodollars {
        Nanodollars(self.0 + rhs.0)
    }
}

impl Sub for Nanodollars {
    type Output = Nanodollars;
    fn sub(self, rhs: Nanodollars) -> Nanodollars {
        Nanodollars(self.0 - rhs.0)
    }
}

impl AddAssign for Nanodollars {
    fn add_assign(&mut self, rhs: Nanodollars) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Nanodollars {
    fn sub_assign(&mut self, rhs: Nanodollars) {
        self.0 -= rhs.0;
    }
}

impl Neg for Nanodollars {
    type Output = Nanodollars;
    fn neg(self) -> Nanodollars {
        Nanodollars(-self.0)
    }
}

impl Sum for Nanodollars {
    fn sum<I: Iterator<Item = Nanodollars>>(iter: I) -> Nanodollars {
        iter.fold(Nanodollars::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Nanodollars> for Nanodollars {
    fn sum<I: Iterator<Item = &'a Nanodollars>>(iter: I) -> Nanodollars {
        iter.copied().sum()
    }
}

/// Weights become integers up to 2⁵² (relative to the largest) so that the split itself is
/// exact integer arithmetic in `i128`.
const WEIGHT_SCALE: f64 = 4_503_599_627_370_496.0; // 2^52

/// Splits `total` into parts proportional to `weights` that sum to `total` exactly, by the
/// largest-remainder method (ties to the earlier part). Negative, NaN or infinite weights
/// count as zero; if every weight is zero the split is even. A negative total is split like
/// its magnitude and negated. No weights, no parts.
pub fn apportion(total: Nanodollars, weights: &[f64]) -> Vec<Nanodollars> {
    if weights.is_empty() {
        return Vec::new();
    }
    let clean = |w: f64| if w.is_finite() && w > 0.0 { w } else { 0.0 };
    let max = weights.iter().copied().map(clean).fold(0.0_f64, f64::max);
    let ints: Vec<i128> = if max > 0.0 {
        weights
            .iter()
            .map(|&w| (clean(w) / max * WEIGHT_SCALE).round() as i128)
            .collect()
    } else {
        vec![1; weights.len()]
    };
    let sum: i128 = ints.iter().sum();
    let magnitude = i128::from(total.0).abs();
    let mut parts: Vec<i128> = Vec::with_capacity(ints.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(ints.len());
    for (i, &w) in ints.iter().enumerate() {
        let product = magnitude * w;
        parts.push(product / sum);
        remainders.push((product % sum, i));
    }
    let mut left = magnitude - parts.iter().sum::<i128>();
    // Largest remainder first; equal remainders in input order.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in &remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    let sign = if total.0 < 0 { -1 } else { 1 };
    parts
        .into_iter()
        .map(|p| Nanodollars((p * sign) as i64))
        .collect()
}

/// Each part in whole cents such that the cents add up to the total's cents
/// ([`Nanodollars::cents`] of the sum): see [`cents_to_target`]. This is what makes a printed
/// table's rows sum to its printed total.
pub fn cents_summing_to_total(parts: &[Nanodollars]) -> Vec<i64> {
    let total: Nanodollars = parts.iter().sum();
    cents_to_target(parts, total.cents())
}

/// Each part in whole cents, rounded down or up, summing to `target` (which should lie
/// between the sums of the parts rounded down and rounded up): the parts with the largest
/// remainders are rounded up, ties to the earlier part.
pub fn cents_to_target(parts: &[Nanodollars], target: i64) -> Vec<i64> {
    let mut cents: Vec<i64> = parts
        .iter()
        .map(|p| p.0.div_euclid(NANOS_PER_CENT))
        .collect();
    let mut left = target - cents.iter().sum::<i64>();
    let mut order: Vec<(i64, usize)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.0.rem_euclid(NANOS_PER_CENT), i))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    // In range `left` is 0..=parts.len() (floors sum to at most the exact total, a rounded
    // total is within half a cent of it); the loops also cope with anything else.
    while left > 0 && !order.is_empty() {
        for &(_, i) in &order {
            if left == 0 {
                break;
            }
            cents[i] += 1;
            left -= 1;
        }
    }
    while left < 0 && !order.is_empty() {
        for &(_, i) in order.iter().rev() {
            if left == 0 {
                break;
            }
            cents[i] -= 1;
            left += 1;
        }
    }
    cents
}

/// `$1,234.56`, `-$0.05`, `$0.00`.
pub fn format_usd(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    let dollars = (magnitude / 100).to_string();
    let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
    for (i, c) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", magnitude % 100)
}
