//! The API's one error shape, shaped like a Kubernetes `Status`.

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Always `"Status"`.
    pub kind: String,
    /// The HTTP status code.
    pub code: u16,
    /// CamelCase, machine-readable: `Unauthorized`, `Forbidden`, `Invalid`, `NotFound`,
    /// `Conflict`, `BadRequest`, `RequestEntityTooLarge`, `InternalError`.
    pub reason: String,
    pub message: String,
    /// The path of the offending field (`cluster`, `summary.foo`, `wait`), when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer; see [`Status`].
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: StatusCode,
    pub reason: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(code: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// 422: the request parsed but a field's value is invalid.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message).with_field(field)
    }

    /// 400: a malformed request (query parameter, JSON syntax).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn status(&self) -> Status {
        Status {
            kind: "Status".to_string(),
            code: self.code.as_u16(),
            reason: self.reason.to_string(),
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code, Json(self.status())).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { .. } => Self::not_found(err.to_string()),
            Error::Conflict { .. } => Self::new(StatusCode::CONFLICT, "Conflict", err.to_string()),
            Error::AlreadyExists { .. } => {
                Self::new(StatusCode::CONFLICT, "AlreadyExists", err.to_string())
            }
            other => {
                // Store errors carry no request data (queries bind their values), so they are
                // safe to log; the client gets no internals.
                tracing::error!(error = %other, "hub store failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "the hub's store failed; see the hub's log",
                )
            }
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        let code = rejection.status();
        let reason = if code == StatusCode::PAYLOAD_TOO_LARGE {
            "RequestEntityTooLarge"
        } else {
            "BadRequest"
        };
        Self::new(code, reason, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

/// Decodes a JSON body into `T`, naming the offending field path on failure: 422 for a body
/// that is JSON but not a `T` (unknown field, wrong type), 400 for one that is not JSON.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let message = inner.to_string();
            ApiError::invalid(field_path(&path, &message), message)
        } else {
            ApiError::bad_request(format!("request body is not valid JSON: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// The path of the field to blame. serde reports a missing field as an error of the object
/// that lacks it (path `.` at the top), naming the field only in its message.
fn field_path(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, missing) {
        (".", Some(name)) => name.to_string(),
        (_, Some(name)) => format!("{path}.{name}"),
        _ => path.to_string(),
    }
}

pub(crate) async fn not_found_route() -> ApiError {
    ApiError::not_found("no such route")
}
