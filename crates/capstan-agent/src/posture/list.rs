//! Paginated LISTs decoded straight into the posture checks' input types.
//!
//! The checks' inputs are plain serde types (capstan-core has no kube dependency), so the
//! agent requests the collection paths itself and pages with `limit`/`continue` like every
//! Kubernetes client does (client-go's pager: 500 items a page). A page is decoded, handed
//! over and dropped before the next is asked for: a million pods never sit in memory at once.

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Items per page, client-go's `pager.defaultPageSize`.
pub const PAGE_SIZE: u32 = 500;

#[derive(Deserialize)]
struct ListPage<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
    #[serde(default)]
    metadata: ListMeta,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// Why a list did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("listing {path}: {source}")]
    Kube {
        path: String,
        #[source]
        source: kube::Error,
    },
    #[error("building the request for {path}: {message}")]
    Request { path: String, message: String },
}

/// Lists `path` page by page, calling `each` with every page's items. `Ok(false)` when the
/// resource is not served (404: the CRD is not installed), which is not an error.
pub async fn for_each_page<T: DeserializeOwned>(
    client: &kube::Client,
    path: &str,
    page_size: u32,
    mut each: impl FnMut(Vec<T>),
) -> Result<bool, ListError> {
    let mut token: Option<String> = None;
    loop {
        let mut uri = format!("{path}?limit={page_size}");
        if let Some(t) = &token {
            uri.push_str("&continue=");
            uri.push_str(&encode_query_value(t));
        }
        let request = http::Request::get(uri)
            .body(Vec::new())
            .map_err(|e| ListError::Request {
                path: path.to_string(),
                message: e.to_string(),
            })?;
        let page: ListPage<T> = match client.request(request).await {
            Ok(p) => p,
            Err(kube::Error::Api(status)) if status.code == 404 && token.is_none() => {
                return Ok(false);
            }
            Err(source) => {
                return Err(ListError::Kube {
                    path: path.to_string(),
                    source,
                });
            }
        };
        each(page.items);
        match page.metadata.continue_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(true),
        }
    }
}

/// Lists all of `path` into one vector (for the kinds that are small next to pods).
pub async fn list_all<T: DeserializeOwned>(
    client: &kube::Client,
    path: &str,
) -> Result<(Vec<T>, bool), ListError> {
    let mut all = Vec::new();
    let found = for_each_page(client, path, PAGE_SIZE, |page| all.extend(page)).await?;
    Ok((all, found))
}

/// Percent-encodes a query value (continue tokens are base64, with `=`, `+` and `/`).
fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_are_percent_encoded() {
        assert_eq!(encode_query_value("eyJ2Ijo+/=="), "eyJ2Ijo%2B%2F%3D%3D");
        assert_eq!(encode_query_value("plain-1.2_3~"), "plain-1.2_3~");
    }
}
