//! Label and field selectors with the semantics of `k8s.io/apimachinery/pkg/labels` and
//! `k8s.io/apimachinery/pkg/fields`.
//!
//! The parsers follow upstream token by token, including its quirks (`a in ()` selects the
//! empty value, `key=` means "equals the empty string", requirements are sorted by key), so
//! that a selector typed for kubectl means the same thing here. Error texts reuse upstream's
//! wording so users can search for them.
//!
//! The label selector lives in [`LabelSelector`] (with its [`Requirement`]s, validated as
//! upstream `labels.NewRequirement` does, and parsed by a lexer and parser that follow
//! upstream's), the field selector in [`FieldSelector`], and what selectors read labels from in
//! [`Labels`].

use std::fmt;

mod field;
mod label;
mod labels;
mod lexer;
mod parser;
mod requirement;
mod validation;

pub use field::{FieldRequirement, FieldSelector};
pub use label::LabelSelector;
pub use labels::Labels;
pub use requirement::{Operator, Requirement};

/// Writes `items` separated by commas, the `String()` form of both kinds of selector.
fn write_comma_separated<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
