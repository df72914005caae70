//! The user's YAML files (the posture exceptions file, the price sheet, the health rule file),
//! read one way: serde-saphyr with serde_path_to_error, every error naming the field's path in
//! the file and its line; all or nothing.
//!
//! A file is first read as any YAML (`IgnoredAny`), so that a failure there is the YAML
//! itself ([`SyntaxError`]); the typed pass then fails at a path ([`FieldError`]). `.nan` and
//! `.inf` are well-formed YAML: the syntax pass lets them through and the typed pass decides
//! (a float field takes them, a price or threshold check refuses them by name).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

/// What a file is, for its errors and its header. Implemented by the type a file
/// deserializes to.
pub trait YamlFile {
    /// What errors call the file: `price sheet`.
    const NAME: &'static str;
    /// The `apiVersion` and `kind` the file must start with (checked by [`ApiVersion`] and
    /// [`Kind`] fields), or `None`: then a blank file is read as an empty document (null).
    const HEADER: Option<(&'static str, &'static str)> = None;

    /// A problem found after deserializing, at `field` (a path in the file) and `line`.
    fn invalid(
        field: impl Into<String>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> YamlFileError {
        YamlFileError::Invalid(FieldError {
            file: Self::NAME,
            field: field.into(),
            line,
            message: message.into(),
        })
    }

    /// Like [`YamlFile::invalid`], on the line of `field` in `text` (read again: this is
    /// for errors only).
    fn invalid_in(text: &str, field: String, message: impl Into<String>) -> YamlFileError {
        let line = Lines::read(text).line(&field);
        Self::invalid(field, line, message)
    }
}

/// Why a YAML file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlFileError {
    #[error(transparent)]
    Syntax(SyntaxError),
    #[error(transparent)]
    Invalid(FieldError),
}

/// Not YAML, or not a single YAML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {file} YAML: {message}")]
pub struct SyntaxError {
    /// [`YamlFile::NAME`].
    pub file: &'static str,
    pub message: String,
}

/// The file's shape or a value is wrong: `field` is the path in the file
/// (`exceptions[1].control`; empty for the whole document), `line` 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    /// [`YamlFile::NAME`], shown in place of an empty `field`.
    pub file: &'static str,
    pub field: String,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() {
            self.file
        } else {
            &self.field
        };
        match self.line {
            Some(line) => write!(f, "{field} (line {line}): {}", self.message),
            None => write!(f, "{field}: {}", self.message),
        }
    }
}

/// Reads a whole file as `T`. Unknown keys are refused where `T` denies them.
pub fn parse_yaml<T: YamlFile + DeserializeOwned>(text: &str) -> Result<T, YamlFileError> {
    if let Some((api_version, kind)) = T::HEADER
        && text.trim().is_empty()
    {
        let article = if T::NAME.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Err(T::invalid(
            "",
            None,
            format!(
                "the file is empty; {article} {} starts with apiVersion: {api_version} and kind: {kind}",
                T::NAME
            ),
        ));
    }
    let syntax = |e: serde_saphyr::Error| {
        YamlFileError::Syntax(SyntaxError {
            file: T::NAME,
            message: e.without_snippet().to_string(),
        })
    };
    serde_saphyr::from_str_with_options::<IgnoredAny>(text, options()).map_err(syntax)?;
    let mut failed_at: Option<serde_path_to_error::Path> = None;
    serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
            failed_at = Some(e.path().clone());
            e.into_inner()
        })
    })
    .map_err(|e| match &failed_at {
        Some(path) => {
            // The line is a field of its own; the message is the rest.
            let plain = e.without_snippet().to_string();
            let message = match plain.rfind(" at line ") {
                Some(i) => plain[..i].to_string(),
                None => plain,
            };
            let field = path.to_string();
            T::invalid(
                if field == "." { String::new() } else { field },
                e.location().map(|l| l.line()),
                message,
            )
        }
        None => syntax(e),
    })
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        non_finite_float_policy: serde_saphyr::options::NonFiniteFloatPolicy::PassThrough,
    }
}

/// The file's `apiVersion`, refused unless it is `F`'s ([`YamlFile::HEADER`]).
#[derive(Debug)]
pub struct ApiVersion<F>(PhantomData<F>);

/// The file's `kind`, refused unless it is `F`'s ([`YamlFile::HEADER`]).
#[derive(Debug)]
pub struct Kind<F>(PhantomData<F>);

fn header_value<'de, D: Deserializer<'de>>(d: D, want: Option<&str>) -> Result<(), D::Error> {
    let got = String::deserialize(d)?;
    match want {
        Some(want) if got != want => Err(serde::de::Error::custom(format!(
            "must be {want:?}, not {got:?}"
        ))),
        _ => Ok(()),
    }
}

impl<'de, F: YamlFile> Deserialize<'de> for ApiVersion<F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        header_value(d, F::HEADER.map(|h| h.0)).map(|()| ApiVersion(PhantomData))
    }
}

impl<'de, F: YamlFile> Deserialize<'de> for Kind<F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        header_value(d, F::HEADER.map(|h| h.1)).map(|()| Kind(PhantomData))
    }
}

/// Where each value of a file is: the lines of problems found after deserializing. Read
/// leniently (any YAML), so a file of another shape still gives the lines it has.
#[derive(Debug, Default)]
pub struct Lines(Option<Spanned<Node>>);

#[derive(Debug)]
enum Node {
    Map(BTreeMap<String, Spanned<Node>>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

impl Lines {
    pub fn read(text: &str) -> Lines {
        Lines(serde_saphyr::from_str_with_options(text, options()).ok())
    }

    /// The line of the value at `path` (`exceptions[1].name`, as [`FieldError::field`]), or
    /// of its nearest parent in the file: an absent key is on its entry's line.
    pub fn line(&self, path: &str) -> Option<u64> {
        let mut node = self.0.as_ref()?;
        for segment in path.split(['.', '[']).filter(|s| !s.is_empty()) {
            let child = match (&node.value, segment.strip_suffix(']')) {
                (Node::Seq(items), Some(index)) => {
                    index.parse().ok().and_then(|i: usize| items.get(i))
                }
                (Node::Map(keys), None) => keys.get(segment),
                _ => None,
            };
            match child {
                Some(child) => node = child,
                None => break,
            }
        }
        Some(node.referenced.line())
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

macro_rules! scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<Node, E> {
            Ok(Node::Scalar)
        })*
    };
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut keys = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Spanned<Node>>()? {
            keys.insert(key, value);
        }
        Ok(Node::Map(keys))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    scalars!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: test.toolkit.io/v1\nkind: TestFile\n";

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TestFile {
        #[serde(rename = "apiVersion")]
        _api_version: ApiVersion<TestFile>,
        #[serde(rename = "kind")]
        _kind: Kind<TestFile>,
        #[serde(default)]
        items: Vec<Item>,
    }

    impl YamlFile for TestFile {
        const NAME: &'static str = "test file";
        const HEADER: Option<(&'static str, &'static str)> =
            Some(("test.toolkit.io/v1", "TestFile"));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[serde(rename = "name")]
        _name: String,
        #[serde(default, rename = "weight")]
        _weight: Option<f64>,
        #[serde(default, rename = "tags")]
        _tags: Vec<String>,
    }

    /// A headerless file, where a blank text is an empty document.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Loose {
        #[serde(default)]
        items: Vec<String>,
    }

    impl YamlFile for Option<Loose> {
        const NAME: &'static str = "loose file";
    }

    enum Want {
        /// The number of items read.
        Items(usize),
        /// A syntax error whose message names this line.
        Syntax(u64),
        /// (field, line, message fragment, the whole error as shown when given).
        Field(
            &'static str,
            Option<u64>,
            &'static str,
            Option<&'static str>,
        ),
    }

    #[track_caller]
    fn check(what: &str, text: &str, want: Want) {
        let got = parse_yaml::<TestFile>(text);
        match (got, want) {
            (Ok(file), Want::Items(n)) => assert_eq!(file.items.len(), n, "{what}"),
            (Err(YamlFileError::Syntax(e)), Want::Syntax(line)) => {
                assert_eq!(e.file, "test file", "{what}");
                let shown = e.to_string();
                assert!(
                    shown.starts_with("invalid test file YAML: "),
                    "{what}: {shown}"
                );
                assert!(shown.contains(&format!("line {line}")), "{what}: {shown}");
            }
            (Err(YamlFileError::Invalid(e)), Want::Field(field, line, fragment, shown)) => {
                assert_eq!(e.field, field, "{what}: {e}");
                assert_eq!(e.line, line, "{what}: {e}");
                assert!(e.message.contains(fragment), "{what}: {e}");
                if let Some(shown) = shown {
                    assert_eq!(e.to_string(), shown, "{what}");
                }
            }
            (got, _) => panic!("{what}: unexpected {got:?}"),
        }
    }

    #[test]
    fn parse_cases() {
        check(
            "a valid file",
            &format!("{HEAD}items:\n- name: a\n  weight: .inf\n- name: b\n"),
            Want::Items(2),
        );
        check(
            "syntax error on line 4",
            &format!("{HEAD}items:\n- name: [a,\n"),
            Want::Syntax(4),
        );
        check(
            "unknown field, with its path and line",
            &format!("{HEAD}items:\n- name: a\n- name: b\n  colour: red\n"),
            Want::Field(
                "items[1].colour",
                Some(6),
                "unknown field `colour`",
                Some(
                    "items[1].colour (line 6): unknown field `colour`, expected one of name, weight, tags",
                ),
            ),
        );
        check(
            "wrong type",
            &format!("{HEAD}items:\n- name: a\n  weight: heavy\n"),
            Want::Field(
                "items[0].weight",
                Some(5),
                "",
                Some("items[0].weight (line 5): invalid floating point"),
            ),
        );
        check(
            "nested list index in the path",
            &format!("{HEAD}items:\n- name: a\n- name: b\n- name: c\n  tags: [x, {{y: 1}}]\n"),
            Want::Field("items[2].tags[1]", Some(7), "expected string", None),
        );
        check(
            "wrong header value",
            "apiVersion: v1\nkind: TestFile\n",
            Want::Field(
                "apiVersion",
                Some(1),
                "",
                Some("apiVersion (line 1): must be \"test.toolkit.io/v1\", not \"v1\""),
            ),
        );
        check(
            "missing header: the whole document, named by the file",
            "kind: TestFile\n",
            Want::Field("", Some(1), "missing field `apiVersion`", None),
        );
        check(
            "empty document",
            " \n\n",
            Want::Field(
                "",
                None,
                "",
                Some(
                    "test file: the file is empty; a test file starts with apiVersion: test.toolkit.io/v1 and kind: TestFile",
                ),
            ),
        );
    }

    #[test]
    fn a_headerless_blank_file_is_an_empty_document() {
        assert!(parse_yaml::<Option<Loose>>("").unwrap().is_none());
        assert!(parse_yaml::<Option<Loose>>("~\n").unwrap().is_none());
        assert_eq!(
            parse_yaml::<Option<Loose>>("items: [a]\n")
                .unwrap()
                .unwrap()
                .items,
            ["a"]
        );
    }

    #[test]
    fn lines_by_path() {
        let text = "kind: .nan\nitems:\n- name: a\n  tags:\n  - t\n  - u\n- plain\n-\n  name: c\nother: [1]\n";
        let lines = Lines::read(text);
        for (path, want) in [
            ("kind", Some(1)),
            ("items", Some(3)),
            ("items[0]", Some(3)),
            ("items[0].tags", Some(5)),
            ("items[0].tags[1]", Some(6)),
            ("items[0].absent", Some(3)),
            ("items[1]", Some(7)),
            ("items[1].name", Some(7)),
            // A map below its dash starts at its first key.
            ("items[2]", Some(9)),
            ("items[3].name", Some(3)),
            ("other[0]", Some(10)),
            ("other.x", Some(10)),
        ] {
            assert_eq!(lines.line(path), want, "{path}");
        }
        assert_eq!(Lines::read("a: [").line("a"), None);
    }
}
