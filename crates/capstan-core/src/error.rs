/// Errors from parsing and validating user input in core types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid label selector {input:?}: {reason}")]
    LabelSelector { input: String, reason: String },
    #[error("invalid field selector {input:?}: {reason}")]
    FieldSelector { input: String, reason: String },
    #[error("invalid quantity {input:?}: {reason}")]
    Quantity { input: String, reason: String },
    #[error("invalid duration {input:?}: {reason}")]
    Duration { input: String, reason: String },
    #[error("invalid int-or-string {input}: {reason}")]
    IntOrString { input: String, reason: String },
    #[error("invalid version {input:?}: {reason}")]
    Version { input: String, reason: String },
    #[error("invalid lifecycle {field}: {reason}")]
    Lifecycle { field: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
