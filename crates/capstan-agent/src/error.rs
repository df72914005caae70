//! The agent's errors.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The hub answered with an error status; `message` is the hub's own (its `Status` body).
    #[error("hub answered {status} to {what}: {message}")]
    Hub {
        what: String,
        status: u16,
        message: String,
    },
    /// The hub could not be reached, or its answer could not be read.
    #[error("hub request ({what}) failed: {source}")]
    Transport {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("hub URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("token file {}: {source}", path.display())]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {}: {reason}", path.display())]
    TokenFileContent { path: PathBuf, reason: String },
    #[error("kubeconfig {}: {reason}", path.display())]
    Kubeconfig { path: PathBuf, reason: String },
    /// A work item's payload the agent cannot act on.
    #[error("invalid work payload: {0}")]
    Payload(String),
    #[error(transparent)]
    Kube(#[from] capstan_kube::Error),
}

impl Error {
    /// The HTTP status the hub answered with, if it answered with an error.
    pub fn hub_status(&self) -> Option<u16> {
        match self {
            Self::Hub { status, .. } => Some(*status),
            _ => None,
        }
    }
}
