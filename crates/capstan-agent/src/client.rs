//! [`HubClient`]: the agent protocol over HTTP/JSON (DESIGN.md, "Protocols"; the routes are
//! served by `capstan_hub::api`). The wire types are the agent's own, so that the agent does
//! not link the hub; they serialize to exactly what the hub's `deny_unknown_fields` bodies
//! accept.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use capstan_core::duration::format_duration;
use jiff::Timestamp;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::report::Health;
use crate::{Error, Result, TokenFile};

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
    /// Versions the cluster's provider offers (`1.33.3`), oldest first; omitted when no
    /// provider answered. The hub resolves an upgrade's version per cluster against them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered_versions: Vec<String>,
    /// The latest evaluation of the health rules (`healthReport`), when there is one to send;
    /// the hub keeps the previous one for a report without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_report: Option<capstan_core::health::HealthReport>,
}

/// What `POST /api/v1/agents/{cluster}/cost` carries.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostUpload {
    /// Finished hours, oldest first.
    pub hours: Vec<capstan_core::cost::CostHour>,
    /// The latest recommendations, when they changed since the last upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendations: Option<Value>,
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
    /// Structured outcome of a final status ([`crate::work::UpgradeResult`] for upgrades).
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a serde_json::Value>,
}

/// The hub's error body (`capstan_hub::api::Status`): only its message is used.
#[derive(Deserialize)]
struct HubStatus {
    message: String,
}

/// One cluster's agent talking to the hub with its cluster token.
///
/// Clones share the token: when the hub refuses it (401: the hub lost its database, or the
/// cluster was deleted and added again) a client made with [`HubClient::with_reregistration`]
/// registers again with the bootstrap token, saves the new token, and repeats the request,
/// for every clone at once.
#[derive(Clone)]
pub struct HubClient {
    base_url: Url,
    cluster: String,
    token: Arc<RwLock<String>>,
    reregistration: Option<Arc<Reregistration>>,
    http: reqwest::Client,
}

/// What registering again takes.
struct Reregistration {
    bootstrap_token: String,
    labels: BTreeMap<String, String>,
    token_file: Option<TokenFile>,
    /// One registration at a time: concurrent 401s register once.
    registering: tokio::sync::Mutex<()>,
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("base_url", &self.base_url.as_str())
            .field("cluster", &self.cluster)
            .field("token", &"<redacted>")
            .field("reregisters", &self.reregistration.is_some())
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
            token: Arc::new(RwLock::new(token.to_string())),
            reregistration: None,
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
            token: Arc::new(RwLock::new(answer.token)),
            reregistration: None,
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
    pub fn token(&self) -> String {
        self.token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// This client, registering again with `bootstrap_token` (and `labels`) when the hub
    /// answers 401 to its token, and saving the new token to `token_file` if given.
    #[must_use]
    pub fn with_reregistration(
        mut self,
        bootstrap_token: &str,
        labels: &BTreeMap<String, String>,
        token_file: Option<TokenFile>,
    ) -> Self {
        self.reregistration = Some(Arc::new(Reregistration {
            bootstrap_token: bootstrap_token.to_string(),
            labels: labels.clone(),
            token_file,
            registering: tokio::sync::Mutex::new(()),
        }));
        self
    }

    /// [`send`] with the cluster token; on a 401, registers again (when it can) and repeats
    /// the request once with the new token.
    async fn send_agent<T: DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<T>> {
        let Some(reregistration) = &self.reregistration else {
            return send(what, request).await;
        };
        let rejected = self.token();
        let again = request.try_clone();
        match send(what, request).await {
            Err(e) if e.hub_status() == Some(401) => {
                let Some(again) = again else { return Err(e) };
                self.register_again(reregistration, &rejected).await?;
                let (http, built) = again.build_split();
                let mut built = built.map_err(|source| Error::Transport {
                    what: what.to_string(),
                    source,
                })?;
                let mut bearer = HeaderValue::from_str(&format!("Bearer {}", self.token()))
                    .map_err(|_| Error::Hub {
                        what: what.to_string(),
                        status: 401,
                        message: "the new token is not a valid header value".into(),
                    })?;
                bearer.set_sensitive(true);
                built.headers_mut().insert(AUTHORIZATION, bearer);
                send(what, reqwest::RequestBuilder::from_parts(http, built)).await
            }
            other => other,
        }
    }

    /// Registers again unless another request already replaced `rejected`.
    async fn register_again(&self, reregistration: &Reregistration, rejected: &str) -> Result<()> {
        let _one_at_a_time = reregistration.registering.lock().await;
        if self.token() != rejected {
            return Ok(());
        }
        tracing::warn!(cluster = %self.cluster, "the hub refused this agent's token (401); registering again");
        let fresh = Self::register(
            self.base_url.as_str(),
            &reregistration.bootstrap_token,
            &self.cluster,
            &reregistration.labels,
        )
        .await?;
        if let Some(file) = &reregistration.token_file {
            file.save(&fresh)?;
        }
        *self.token.write().unwrap_or_else(PoisonError::into_inner) = fresh.token();
        Ok(())
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
            .bearer_auth(self.token())
            .timeout(timeout)
    }

    /// `POST /api/v1/agents/{cluster}/report`.
    pub async fn report(&self, body: &ReportBody) -> Result<()> {
        let request = self
            .agent_request(Method::POST, &["report"], REQUEST_TIMEOUT)
            .json(body);
        self.send_agent::<Value>("report", request).await?;
        Ok(())
    }

    /// `POST /api/v1/agents/{cluster}/cost`: finished cost hours (the hub replaces an hour
    /// it already has, so a retry never counts twice) and the latest recommendations.
    pub async fn upload_cost(&self, body: &CostUpload) -> Result<()> {
        let request = self
            .agent_request(Method::POST, &["cost"], REQUEST_TIMEOUT)
            .json(body);
        self.send_agent::<Value>("cost upload", request).await?;
        Ok(())
    }

    /// `POST /api/v1/agents/{cluster}/posture`: the cluster's latest posture evaluation (the
    /// hub keeps the newest per cluster, so a retry is harmless).
    pub async fn upload_posture(
        &self,
        report: &capstan_core::posture::report::PostureReport,
    ) -> Result<()> {
        let request = self
            .agent_request(Method::POST, &["posture"], REQUEST_TIMEOUT)
            .json(report);
        self.send_agent::<Value>("posture upload", request).await?;
        Ok(())
    }

    /// `GET /api/v1/agents/{cluster}/work?wait=..`: the open work (Pending or Running, oldest
    /// first), waiting up to `wait` for some to be queued (the hub caps it at 60 s).
    pub async fn poll_work(&self, wait: Duration) -> Result<Vec<WorkItem>> {
        let request = self
            .agent_request(Method::GET, &["work"], REQUEST_TIMEOUT + wait)
            .query(&[("wait", format_duration(wait))]);
        Ok(self
            .send_agent("poll work", request)
            .await?
            .unwrap_or_default())
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
        result: Option<&serde_json::Value>,
    ) -> Result<WorkItem> {
        let request = self
            .agent_request(Method::POST, &["work", id, "status"], REQUEST_TIMEOUT)
            .json(&StatusBody {
                generation,
                status,
                message,
                result,
            });
        let what = "work status";
        self.send_agent(what, request)
            .await?
            .ok_or_else(|| missing_body(what))
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
