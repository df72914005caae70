//! Kubernetes versions (`1.31`, `v1.31.4`, `v1.31.4-eks-1234`), for version-skew and
//! upgrade-order decisions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// A Kubernetes version. A missing patch (`1.31`) sorts before any patch of that minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
}

/// Distance reported between versions of different majors: farther than any distance
/// within one major (minors are u32), yet safe to do arithmetic on.
const OTHER_MAJOR_DISTANCE: i64 = 1 << 32;

impl KubeVersion {
    /// Parses like upstream `k8s.io/apimachinery/pkg/util/version.ParseGeneric`: leading
    /// whitespace and a `v` are skipped, at least major and minor are required, the major
    /// may not have a leading zero, and anything after the numbers (`-eks-1234`, `+k3s1`,
    /// `-gke.1256000`) is build detail and dropped. Unlike upstream, a fourth numeric
    /// component is an error, since this type cannot hold it.
    pub fn parse(s: &str) -> Result<Self> {
        let err = |reason: String| Error::Version {
            input: s.to_string(),
            reason,
        };
        // RE2's `\s`.
        let t = s.trim_start_matches([' ', '\t', '\n', '\x0c', '\r']);
        let t = t.strip_prefix('v').unwrap_or(t);

        let mut components = Vec::new();
        let mut rest = t;
        loop {
            let len = rest.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 {
                break;
            }
            components.push(&rest[..len]);
            rest = &rest[len..];
            // A dot continues the version only when a number follows it.
            match rest.strip_prefix('.') {
                Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => rest = after,
                _ => break,
            }
        }
        let numbers = match components.as_slice() {
            [] => {
                return Err(err(
                    "expected a version such as \"1.31\" or \"v1.31.4\"".to_string()
                ));
            }
            [_] => {
                return Err(err(
                    "needs at least a major and a minor version, as in \"1.31\"".to_string(),
                ));
            }
            [_, _] | [_, _, _] => components,
            _ => {
                return Err(err(format!(
                    "has {} numeric components; at most major.minor.patch is supported",
                    components.len()
                )));
            }
        };
        if let Some(major) = numbers.first()
            && major.len() > 1
            && major.starts_with('0')
        {
            return Err(err(format!(
                "illegal zero-prefixed version component {major:?}"
            )));
        }
        let mut parsed = Vec::with_capacity(numbers.len());
        for c in &numbers {
            let n = c
                .parse::<u32>()
                .map_err(|_| err(format!("version component {c:?} is out of range")))?;
            parsed.push(n);
        }
        Ok(match parsed.as_slice() {
            [major, minor] => Self {
                major: *major,
                minor: *minor,
                patch: None,
            },
            [major, minor, patch] => Self::new(*major, *minor, *patch),
            _ => return Err(err("internal error: unexpected component count".to_string())),
        })
    }

    pub fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch: Some(patch),
        }
    }

    pub fn minor_version(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// The server's `gitVersion` form, `v1.31.4`; a missing patch is written as 0.
    pub fn git_version(&self) -> String {
        format!("v{}.{}.{}", self.major, self.minor, self.patch.unwrap_or(0))
    }

    /// The following minor release with no patch: 1.31.4 → 1.32.
    pub fn next_minor(&self) -> Self {
        Self {
            major: self.major,
            minor: self.minor.saturating_add(1),
            patch: None,
        }
    }

    /// How many minors `other` is ahead of `self` (negative when behind). Across majors the
    /// result is ±2^32, farther than any same-major distance, so skew checks fail closed.
    pub fn minor_distance(&self, other: &Self) -> i64 {
        match other.major.cmp(&self.major) {
            std::cmp::Ordering::Equal => i64::from(other.minor) - i64::from(self.minor),
            std::cmp::Ordering::Greater => OTHER_MAJOR_DISTANCE,
            std::cmp::Ordering::Less => -OTHER_MAJOR_DISTANCE,
        }
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl FromStr for KubeVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for KubeVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KubeVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected outcome of a table case: the value, or a part of the error message.
    type Expect<T> = std::result::Result<T, &'static str>;

    /// `Ok((major, minor, patch))` expects that version, `Err(part)` an error naming `part`.
    /// (major, minor, patch)
    type Parts = (u32, u32, Option<u32>);

    fn check(input: &str, expected: Expect<Parts>) {
        match (KubeVersion::parse(input), expected) {
            (Ok(v), Ok((major, minor, patch))) => {
                assert_eq!(
                    v,
                    KubeVersion {
                        major,
                        minor,
                        patch
                    },
                    "{input:?}"
                );
                assert_eq!(
                    KubeVersion::parse(&v.to_string()).unwrap(),
                    v,
                    "round trip {input:?}"
                );
            }
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(part),
                    "error for {input:?} was {msg:?}, wanted {part:?}"
                );
                assert!(matches!(e, Error::Version { .. }));
            }
            (got, want) => panic!("{input:?}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn parse_cases() {
        let cases: &[(&str, Expect<Parts>)] = &[
            ("1.31", Ok((1, 31, None))),
            ("v1.31", Ok((1, 31, None))),
            ("1.31.4", Ok((1, 31, Some(4)))),
            ("v1.31.4", Ok((1, 31, Some(4)))),
            ("v1.31.0", Ok((1, 31, Some(0)))),
            ("v1.31.4-eks-1234", Ok((1, 31, Some(4)))),
            ("v1.31.4+k3s1", Ok((1, 31, Some(4)))),
            ("v1.30.5-gke.1256000", Ok((1, 30, Some(5)))),
            ("v1.29.8-eks-a737599", Ok((1, 29, Some(8)))),
            ("1.31+", Ok((1, 31, None))),
            ("1.31gke", Ok((1, 31, None))),
            ("1.31.", Ok((1, 31, None))),
            ("1.31.x", Ok((1, 31, None))),
            ("  v1.31.4 ", Ok((1, 31, Some(4)))),
            ("1.031", Ok((1, 31, None))),
            ("0.9", Ok((0, 9, None))),
            ("2.0.0", Ok((2, 0, Some(0)))),
            ("4294967295.0", Ok((u32::MAX, 0, None))),
            // Errors.
            ("", Err("expected a version")),
            ("v", Err("expected a version")),
            ("latest", Err("expected a version")),
            ("V1.31", Err("expected a version")),
            ("v 1.31", Err("expected a version")),
            ("1", Err("needs at least a major and a minor")),
            ("v1", Err("needs at least a major and a minor")),
            ("1.x", Err("needs at least a major and a minor")),
            ("1.31.4.5", Err("has 4 numeric components")),
            (
                "01.31",
                Err("illegal zero-prefixed version component \"01\""),
            ),
            (
                "1.99999999999",
                Err("version component \"99999999999\" is out of range"),
            ),
        ];
        for (input, expected) in cases {
            check(input, *expected);
        }
    }

    #[test]
    fn accessors() {
        let v = KubeVersion::parse("v1.31.4-eks-1234").unwrap();
        assert_eq!(v.to_string(), "1.31.4");
        assert_eq!(v.git_version(), "v1.31.4");
        assert_eq!(v.minor_version(), (1, 31));
        assert_eq!(
            v.next_minor(),
            KubeVersion {
                major: 1,
                minor: 32,
                patch: None
            }
        );
        assert_eq!(v.next_minor().to_string(), "1.32");
        let bare = KubeVersion::parse("1.30").unwrap();
        assert_eq!(bare.to_string(), "1.30");
        assert_eq!(bare.git_version(), "v1.30.0");
        assert_eq!(KubeVersion::new(1, 2, 3).patch, Some(3));
        let top = KubeVersion {
            major: 1,
            minor: u32::MAX,
            patch: None,
        };
        assert_eq!(top.next_minor().minor, u32::MAX);
        assert_eq!("1.31".parse::<KubeVersion>().unwrap(), bare.next_minor());
    }

    #[test]
    fn ordering_and_distance() {
        let v = |s: &str| KubeVersion::parse(s).unwrap();
        assert!(v("1.31") < v("1.31.0"));
        assert!(v("1.31.0") < v("1.31.4"));
        assert!(v("1.31.10") > v("1.31.9"));
        assert!(v("1.9") < v("1.10"));
        assert!(v("1.99") < v("2.0"));
        // (from, to, distance)
        let cases: &[(&str, &str, i64)] = &[
            ("1.31", "1.32", 1),
            ("1.32.1", "1.31.9", -1),
            ("1.28", "1.31", 3),
            ("1.31.0", "1.31.7", 0),
            ("1.0", "1.4294967295", 4_294_967_295),
            ("1.31", "2.0", 1 << 32),
            ("2.0", "1.31", -(1 << 32)),
        ];
        for (from, to, want) in cases {
            assert_eq!(v(from).minor_distance(&v(to)), *want, "{from} -> {to}");
        }
    }

    #[test]
    fn serde_cases() {
        let v = KubeVersion::new(1, 31, 4);
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"1.31.4\"");
        assert_eq!(
            serde_json::from_str::<KubeVersion>("\"v1.31.4+k3s1\"").unwrap(),
            v
        );
        let bare: KubeVersion = serde_json::from_str("\"1.31\"").unwrap();
        assert_eq!(serde_json::to_string(&bare).unwrap(), "\"1.31\"");
        let bad = serde_json::from_str::<KubeVersion>("\"1\"").unwrap_err();
        assert!(
            bad.to_string()
                .contains("needs at least a major and a minor"),
            "{bad}"
        );
        let bad = serde_json::from_str::<KubeVersion>("1.31").unwrap_err();
        assert!(bad.to_string().contains("invalid type"), "{bad}");
    }
}
