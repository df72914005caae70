/// Errors from talking to a cluster or its provider.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    // Not a `#[source]`: the message already says it all, and `{:#}` would repeat kube's
    // debug dump of the Status after it.
    #[error("{}", describe_kube(.0))]
    Kube(kube::Error),
    #[error("decoding {what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("provider {provider}: {message}")]
    Provider { provider: String, message: String },
    #[error("{0}")]
    Drain(String),
    #[error("{0}")]
    Upgrade(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The HTTP status code of an API error, if this is one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Kube(kube::Error::Api(s)) => Some(s.code),
            _ => None,
        }
    }
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Self::Kube(e)
    }
}

/// An API error as kubectl prints it ("Error from server (NotFound): nodes "x" not found"),
/// without kube's debug dump of the whole Status; other errors as kube words them.
fn describe_kube(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!(
            "Error from server ({}): {}",
            if status.reason.is_empty() {
                status.code.to_string()
            } else {
                status.reason.clone()
            },
            status.message
        ),
        other => other.to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
