#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use super::*;

#[test]
fn cpu_prints_in_upstream_canonical_decimal_form() {
    fn check(nanos: i64, want: &str) {
        assert_eq!(format_nanocores(nanos), want, "{nanos}");
        // And it parses back to the same amount.
        let q = capstan_core::quantity::Quantity::parse(want).unwrap();
        assert_eq!(q.as_nanos(), i128::from(nanos), "{want}");
    }
    check(0, "0");
    check(123_456, "123456n");
    check(2_308_000, "2308u");
    // 23e5 nanos: exponent -4 rounds down to -6 (x100).
    check(2_300_000, "2300u");
    check(15_000_000, "15m");
    check(150_000_000, "150m");
    check(2_000_000_000, "2");
    check(1_500_000_000, "1500m");
}

#[test]
fn memory_prints_in_binary_form() {
    fn check(bytes: i64, want: &str) {
        assert_eq!(format_bytes(bytes), want, "{bytes}");
    }
    check(0, "0");
    check(4096, "4Ki");
    check(45_678 * 1024, "45678Ki");
    check(64 * 1024 * 1024, "64Mi");
    check(3 * 1024 * 1024 * 1024, "3Gi");
}
