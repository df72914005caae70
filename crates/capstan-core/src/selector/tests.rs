//! Tests of label and field selectors, by topic.

use std::collections::BTreeMap;

mod field;
mod label_json;
mod label_match;
mod label_parse;
mod requirement;

/// Expected outcome of a table case: the value, or a part of the error message.
type Expect<T> = std::result::Result<T, &'static str>;

fn labels(spec: &str) -> BTreeMap<String, String> {
    spec.split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}
