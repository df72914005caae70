//! [`HubClient`]: the agent protocol over HTTP/JSON (DESIGN.md, "Protocols"; the routes are
//! served by `capstan_hub::api`). The wire types are the agent's own, so that the agent does
//! not link the hub; they serialize to exactly what the hub's `deny_unknown_fields` bodies
//! accept.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use capstan_core::duration::format_duration;
use jiff::Timestamp;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::report::Health;
use crate::{Error, Result};

/// Longest wait for an ordinary request (a long-poll adds its `wait` to it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most of an unparseable error body quoted in an [`Error::Hub`].
const MAX_QUOTED_BODY: usize = 512;

/// `POST /api/v1/agents/{cluster}/report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportBody {
    pub labels: BTreeMap<String, String>,
    pub versions: VersionsBody,
    pub node_count: u64,
    pub pod_count: u64,
    pub health: Health,
    /// The bounded cluster summary, opaque to the hub.
    pub summary: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionsBody {
    /// The API server's `gitVersion` (`v1.32.4`).
    pub control_plane: Option<String>,
    /// Nodes per kubelet version.
    pub kubelet: BTreeMap<String, u64>,
}

/// Where a work item is in its life (the hub's `WorkStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WorkStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl WorkStatus {
    /// Succeeded and Failed: the hub keeps them whatever is posted later.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// A work item as the hub hands it out. Unknown fields are ignored (a tolerant reader: the
/// hub may add some).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItem {
    pub id: String,
    pub cluster: String,
    pub generation: i64,
    pub kind: String,
    #[serde(default)]
    pub payload: Value,
    pub status: WorkStatus,
    #[serde(default)]
    pub message: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Serialize)]
struct RegisterBody<'a> {
    cluster: &'a str,
    labels: &'a BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RegisterAnswer {
    cluster: String,
    token: String,
}

#[derive(Serialize)]
struct StatusBody<'a> {
    generation: i64,
    status: WorkStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

/// The hub's error body (`capstan_hub::api::Status`): only its message is used.
#[derive(Deserialize)]
struct HubStatus {
    message: String,
}

/// One cluster's agent talking to the hub with its cluster token.
#[derive(Clone)]
pub struct HubClient {
    base_url: Url,
    cluster: String,
    token: String,
    http: reqwest::Client,
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("base_url", &self.base_url.as_str())
            .field("cluster", &self.cluster)
            .field("token", &"<redacted>")
            .finish()
    }
}

fn parse_base(base_url: &str) -> Result<Url> {
    let url = Url::parse(base_url).map_err(|e| Error::Url {
        url: base_url.to_string(),
        reason: e.to_string(),
    })?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Url {
            url: base_url.to_string(),
            reason: "not an http(s) base URL".into(),
        });
    }
    Ok(url)
}

/// `base` with `segments` appended, each percent-encoded (work ids may contain '/').
fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("capstan-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| Error::Transport {
            what: "building the HTTP client".into(),
            source,
        })
}

/// Sends `request` and decodes its JSON answer (`None` for 204), or names the status and the
/// hub's message.
async fn send<T: DeserializeOwned>(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<Option<T>> {
    let transport = |source| Error::Transport {
        what: what.to_string(),
        source,
    };
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        return response.json::<T>().await.map(Some).map_err(transport);
    }
    let body = response.text().await.unwrap_or_default();
    let message = match serde_json::from_str::<HubStatus>(&body) {
        Ok(s) => s.message,
        Err(_) => body.chars().take(MAX_QUOTED_BODY).collect(),
    };
    Err(Error::Hub {
        what: what.to_string(),
        status: status.as_u16(),
        message,
    })
}

fn missing_body(what: &str) -> Error {
    Error::Hub {
        what: what.to_string(),
        status: StatusCode::NO_CONTENT.as_u16(),
        message: "the hub sent no body where one was expected".into(),
    }
}

impl HubClient {
    /// A client for `cluster` with a token it already holds.
    pub fn new(base_url: &str, cluster: &str, token: &str) -> Result<Self> {
        Ok(Self {
            base_url: parse_base(base_url)?,
            cluster: cluster.to_string(),
            token: token.to_string(),
            http: http_client()?,
        })
    }

    /// `POST /api/v1/agents/register` with the fleet's bootstrap token: the hub answers with
    /// this cluster's own token (registering again rotates it).
    pub async fn register(
        base_url: &str,
        bootstrap_token: &str,
        cluster: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let base = parse_base(base_url)?;
        let http = http_client()?;
        let request = http
            .post(join(&base, &["api", "v1", "agents", "register"]))
            .bearer_auth(bootstrap_token)
            .timeout(REQUEST_TIMEOUT)
            .json(&RegisterBody { cluster, labels });
        let what = "register";
        let answer: RegisterAnswer = send(what, request)
            .await?
            .ok_or_else(|| missing_body(what))?;
        tracing::info!(cluster = %answer.cluster, hub = %base, "registered with the hub");
        Ok(Self {
            base_url: base,
            cluster: answer.cluster,
            token: answer.token,
            http,
        })
    }

    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The cluster token, to persist it ([`crate::TokenFile`]); never log it.
    pub fn token(&self) -> &str {
        &self.token
    }

    fn agent_request(
        &self,
        method: Method,
        tail: &[&str],
        timeout: Duration,
    ) -> reqwest::RequestBuilder {
        let mut segments = vec!["api", "v1", "agents", self.cluster.as_str()];
        segments.extend_from_slice(tail);
        self.http
            .request(method, join(&self.base_url, &segments))
            .bearer_auth(&self.token)
            .timeout(timeout)
    }

    /// `POST /api/v1/agents/{cluster}/report`.
    pub async fn report(&self, body: &ReportBody) -> Result<()> {
        let request = self
            .agent_request(Method::POST, &["report"], REQUEST_TIMEOUT)
            .json(body);
        send::<Value>("report", request).await?;
        Ok(())
    }

    /// `GET /api/v1/agents/{cluster}/work?wait=..`: the open work (Pending or Running, oldest
    /// first), waiting up to `wait` for some to be queued (the hub caps it at 60 s).
    pub async fn poll_work(&self, wait: Duration) -> Result<Vec<WorkItem>> {
        let request = self
            .agent_request(Method::GET, &["work"], REQUEST_TIMEOUT + wait)
            .query(&[("wait", format_duration(wait))]);
        Ok(send("poll work", request).await?.unwrap_or_default())
    }

    /// `POST /api/v1/agents/{cluster}/work/{id}/status`: the hub's updated item. A stale
    /// `generation` is a 409 ([`Error::hub_status`]); a final status is kept by the hub
    /// whatever is posted after it.
    pub async fn set_status(
        &self,
        id: &str,
        generation: i64,
        status: WorkStatus,
        message: Option<&str>,
    ) -> Result<WorkItem> {
        let request = self
            .agent_request(Method::POST, &["work", id, "status"], REQUEST_TIMEOUT)
            .json(&StatusBody {
                generation,
                status,
                message,
            });
        let what = "work status";
        send(what, request).await?.ok_or_else(|| missing_body(what))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let client = HubClient::new("http://127.0.0.1:1", "alpha", "capstan.alpha.secret").unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn work_ids_are_one_path_segment() {
        let base = parse_base("http://hub:8080/prefix/").unwrap();
        let url = join(&base, &["work", "up/alpha/1.33", "status"]);
        assert_eq!(url.path(), "/prefix/work/up%2Falpha%2F1.33/status");
    }

    #[test]
    fn bad_base_urls_are_rejected() {
        assert!(HubClient::new("mailto:x@y", "a", "t").is_err());
        assert!(HubClient::new("not a url", "a", "t").is_err());
    }
}
