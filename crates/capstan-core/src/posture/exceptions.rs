//! The exceptions file: findings the operators accept, each with its reason. An excepted
//! finding is reported with the reason, never hidden, and a unit whose findings are all
//! excepted counts as `excepted` beside `covered`.
//!
//! ```yaml
//! apiVersion: posture.toolkit.io/v1alpha1
//! kind: PostureExceptions
//! exceptions:
//!   - name: legacy-batch               # required, unique
//!     reason: Runs privileged until Q3 # required
//!     control: pod-security            # required: rbac, network-policy, pod-security, secrets, image-scanning
//!     rules: [pss.privileged]          # optional: default every rule of the control
//!     clusters: ["prod-*"]             # optional globs (* and ?)
//!     namespaces: [batch]              # optional globs
//!     objects: ["Deployment/legacy-*"] # optional "Kind/name" globs
//!     expires: 2027-01-01T00:00:00Z    # optional RFC 3339; an expired exception applies to nothing
//! ```
//!
//! Read as every user YAML file is ([`crate::yaml_file`]): unknown keys refused, every error
//! naming the field's path and line; all or nothing.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

use super::report::{Control, Finding};
use crate::yaml_file::{self, ApiVersion, Kind, YamlFile, YamlFileError};

pub const API_VERSION: &str = "posture.toolkit.io/v1alpha1";
pub const KIND: &str = "PostureExceptions";

/// Why an exceptions file was refused.
pub type ExceptionsError = YamlFileError;

/// One accepted deviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub name: String,
    pub reason: String,
    pub control: Control,
    /// Rule IDs; empty means every rule of the control.
    pub rules: Vec<String>,
    pub clusters: Vec<String>,
    pub namespaces: Vec<String>,
    /// `Kind/name` globs.
    pub objects: Vec<String>,
    pub expires: Option<Timestamp>,
}

impl Exception {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    /// Whether this exception covers `finding` in `cluster` (expiry aside). A Namespace
    /// finding's namespace is the namespace itself.
    pub fn covers(&self, cluster: &str, finding: &Finding) -> bool {
        let object = &finding.object;
        let namespace = if object.kind == "Namespace" && object.namespace.is_empty() {
            object.name.as_str()
        } else {
            object.namespace.as_str()
        };
        self.control == finding.control
            && (self.rules.is_empty() || self.rules.contains(&finding.rule))
            && any_glob(&self.clusters, cluster)
            && any_glob(&self.namespaces, namespace)
            && (self.objects.is_empty()
                || self.objects.iter().any(|o| match o.split_once('/') {
                    Some((kind, name)) => glob(kind, &object.kind) && glob(name, &object.name),
                    None => false,
                }))
    }
}

/// An empty list matches everything.
fn any_glob(patterns: &[String], s: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| glob(p, s))
}

/// Shell-style glob: `*` any run of characters, `?` one character, anything else itself.
pub fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was and which text position it is currently absorbing up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The exceptions of a file, in file order (the first that covers a finding is credited).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exceptions {
    pub exceptions: Vec<Exception>,
}

impl Exceptions {
    pub fn none() -> Exceptions {
        Exceptions::default()
    }

    /// Parses an exceptions file. An empty file is refused: a file says what it is.
    pub fn parse(text: &str) -> Result<Exceptions, ExceptionsError> {
        parse(text)
    }

    /// The first unexpired exception covering `finding` in `cluster`.
    pub fn matching(&self, cluster: &str, finding: &Finding, now: Timestamp) -> Option<&Exception> {
        self.matching_index(cluster, finding, now)
            .map(|i| &self.exceptions[i])
    }

    /// Like [`Exceptions::matching`], as an index into `exceptions`.
    pub fn matching_index(
        &self,
        cluster: &str,
        finding: &Finding,
        now: Timestamp,
    ) -> Option<usize> {
        self.exceptions
            .iter()
            .position(|e| !e.is_expired(now) && e.covers(cluster, finding))
    }

    /// Exceptions past their `expires` (they apply to nothing; report them so they are renewed
    /// or removed).
    pub fn expired(&self, now: Timestamp) -> impl Iterator<Item = &Exception> {
        self.exceptions.iter().filter(move |e| e.is_expired(now))
    }
}

/// A control name, refused with the valid names listed.
struct ControlName(Control);

impl<'de> Deserialize<'de> for ControlName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Control::parse(&s).map(ControlName).ok_or_else(|| {
            let valid: Vec<&str> = Control::ALL.iter().map(|c| c.as_str()).collect();
            serde::de::Error::custom(format!(
                "unknown control {s:?}: valid controls are {}",
                valid.join(", ")
            ))
        })
    }
}

/// An RFC 3339 timestamp, refused with the expected form.
struct Rfc3339(Timestamp);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Timestamp>().map(Rfc3339).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?} is not an RFC 3339 time such as 2027-01-31T00:00:00Z: {e}"
            ))
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionsFile {
    #[serde(rename = "apiVersion")]
    _api_version: ApiVersion<ExceptionsFile>,
    #[serde(rename = "kind")]
    _kind: Kind<ExceptionsFile>,
    #[serde(default)]
    exceptions: Vec<ExceptionEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionEntry {
    name: String,
    reason: String,
    control: ControlName,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    clusters: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    objects: Vec<String>,
    #[serde(default)]
    expires: Option<Rfc3339>,
}

impl YamlFile for ExceptionsFile {
    const NAME: &'static str = "exceptions file";
    const HEADER: Option<(&'static str, &'static str)> = Some((API_VERSION, KIND));
}

/// The rule ID prefixes of each control's rules.
fn rule_prefixes(control: Control) -> &'static [&'static str] {
    match control {
        Control::Rbac => &["rbac.", "gatekeeper."],
        Control::NetworkPolicy => &["netpol."],
        Control::PodSecurity => &["pss."],
        Control::Secrets => &["secrets."],
        Control::ImageScanning => &["images."],
    }
}

fn parse(text: &str) -> Result<Exceptions, ExceptionsError> {
    let file: ExceptionsFile = yaml_file::parse_yaml(text)?;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, e) in file.exceptions.into_iter().enumerate() {
        let invalid = |key: &str, message: String| {
            ExceptionsFile::invalid_in(text, format!("exceptions[{i}].{key}"), message)
        };
        if e.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".into()));
        }
        if e.reason.trim().is_empty() {
            return Err(invalid(
                "reason",
                "must say why the exception is accepted".into(),
            ));
        }
        if let Some(first) = seen.insert(e.name.clone(), i) {
            return Err(invalid(
                "name",
                format!("{:?} is already the name of exceptions[{first}]", e.name),
            ));
        }
        let control = e.control.0;
        let prefixes = rule_prefixes(control);
        if let Some(bad) = e
            .rules
            .iter()
            .find(|r| !prefixes.iter().any(|p| r.starts_with(p)))
        {
            return Err(invalid(
                "rules",
                format!(
                    "rule {bad:?} is not a rule of control {control}: its rules start with {}",
                    prefixes.join(" or ")
                ),
            ));
        }
        if let Some(bad) = e.objects.iter().find(|o| {
            o.split_once('/')
                .is_none_or(|(k, n)| k.is_empty() || n.is_empty())
        }) {
            return Err(invalid(
                "objects",
                format!("{bad:?} is not Kind/name (globs allowed, e.g. Deployment/web-*)"),
            ));
        }
        out.push(Exception {
            name: e.name,
            reason: e.reason,
            control,
            rules: e.rules,
            clusters: e.clusters,
            namespaces: e.namespaces,
            objects: e.objects,
            expires: e.expires.map(|t| t.0),
        });
    }
    Ok(Exceptions { exceptions: out })
}

#[cfg(test)]
#[path = "exceptions_tests.rs"]
mod tests;
