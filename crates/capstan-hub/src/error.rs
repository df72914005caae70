/// Errors from the hub.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
    #[error("store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error("{kind} {name:?} not found")]
    NotFound { kind: &'static str, name: String },
    /// An optimistic-concurrency write lost: someone else wrote `name` since the caller read it.
    /// Re-read, re-decide, retry.
    #[error(
        "{kind} {name:?} was changed by another writer: expected generation {expected}, found {actual}"
    )]
    Conflict {
        kind: &'static str,
        name: String,
        expected: i64,
        actual: i64,
    },
    #[error("encoding {what} as JSON: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A stored row that this version cannot read (hand-edited, or written by a newer hub).
    #[error("stored {what} is invalid: {reason}")]
    Corrupt { what: &'static str, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
