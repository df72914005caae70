//! The agent's posture evaluation: every interval it lists the cluster's RBAC objects,
//! network policies (Kubernetes, Cilium, Calico), Secrets' metadata, Trivy's
//! VulnerabilityReports and Gatekeeper's constraints, then streams every pod through the
//! core evaluator a page at a time, and sends the hub the bounded report.
//!
//! Architecture invariant: the hub never sees a pod or a Secret. Reports carry counts per
//! control and the top findings; Secrets are listed for their metadata only (their data is
//! never decoded: the input type has no field for it) and never logged.

mod list;
mod objects;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use capstan_clock::{SharedClock, Stopwatch};
use capstan_core::posture::evaluate::{
    DEFAULT_NETPOL_EXEMPT, EvaluationSettings, PostureEvaluator,
};
use capstan_core::posture::exceptions::Exceptions;
use capstan_core::posture::images::DEFAULT_REPORT_TTL;
use capstan_core::posture::pod::PodInput;
use capstan_core::posture::pss::PssDefaults;
use capstan_core::posture::report::{PostureLimits, PostureReport, PostureSources};
use capstan_core::version::KubeVersion;
use jiff::{SignedDuration, Timestamp};

use crate::HubClient;

pub use list::{ListError, PAGE_SIZE, for_each_page, list_all};

/// How the agent evaluates posture.
#[derive(Debug, Clone)]
pub struct PostureConfig {
    /// Real time between evaluations.
    pub interval: Duration,
    pub exceptions: Arc<Exceptions>,
    /// The cluster's PodSecurityConfiguration defaults and exemptions (PSA's own defaults:
    /// privileged, latest, none exempt).
    pub pss_defaults: PssDefaults,
    /// Namespaces left out of network-policy coverage (reported as exempt).
    pub netpol_exempt_namespaces: Vec<String>,
    /// How old a VulnerabilityReport may be and still count (Trivy's `scannerReportTTL`).
    pub scan_ttl: SignedDuration,
    pub limits: PostureLimits,
    /// Items per LIST page.
    pub page_size: u32,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(600),
            exceptions: Arc::new(Exceptions::none()),
            pss_defaults: PssDefaults::default(),
            netpol_exempt_namespaces: DEFAULT_NETPOL_EXEMPT.map(String::from).to_vec(),
            scan_ttl: DEFAULT_REPORT_TTL,
            limits: PostureLimits::default(),
            page_size: PAGE_SIZE,
        }
    }
}

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum PostureError {
    #[error(transparent)]
    List(#[from] ListError),
    #[error("reading the API server's version: {0}")]
    Version(#[source] kube::Error),
    #[error("discovering API groups: {0}")]
    Discovery(#[source] kube::Error),
}

/// What the posture loop shares with the rest of the agent (and tests).
#[derive(Debug, Default)]
pub struct PostureState {
    latest: Mutex<Option<PostureReport>>,
    /// Whether the hub has `latest`.
    uploaded: Mutex<bool>,
}

impl PostureState {
    /// The latest evaluation, if one finished.
    pub fn latest(&self) -> Option<PostureReport> {
        lock(&self.latest).clone()
    }

    fn set(&self, report: PostureReport) {
        *lock(&self.latest) = Some(report);
        *lock(&self.uploaded) = false;
    }

    async fn upload(&self, hub: &HubClient) -> crate::Result<()> {
        if *lock(&self.uploaded) {
            return Ok(());
        }
        let Some(report) = self.latest() else {
            return Ok(());
        };
        hub.upload_posture(&report).await?;
        // A newer evaluation that arrived during the upload is still to be sent.
        if lock(&self.latest).as_ref() == Some(&report) {
            *lock(&self.uploaded) = true;
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one evaluation read, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvaluationCounts {
    pub pods: u64,
    pub pages: u64,
    /// Real time listing and evaluating everything but pods.
    pub objects_ms: u64,
    /// Real time streaming the pods through the evaluator.
    pub pods_ms: u64,
}

/// Evaluates the cluster's posture once. `now` is the agent's clock (report freshness and
/// exception expiry are judged against it).
pub async fn evaluate(
    client: &kube::Client,
    cluster: &str,
    config: &PostureConfig,
    now: Timestamp,
) -> Result<(PostureReport, EvaluationCounts), PostureError> {
    let took = Stopwatch::start();
    let minor = kubernetes_minor(client).await?;
    let objects = objects::list(client).await?;
    let objects_ms = took.elapsed().as_millis() as u64;
    let settings = EvaluationSettings {
        cluster: cluster.to_string(),
        kubernetes_minor: minor,
        pss_defaults: config.pss_defaults.clone(),
        netpol_exempt_namespaces: config.netpol_exempt_namespaces.clone(),
        scan_ttl: config.scan_ttl,
        limits: config.limits,
        exceptions: (*config.exceptions).clone(),
        now,
    };
    let mut evaluator = PostureEvaluator::new(objects, settings);
    let mut counts = EvaluationCounts {
        objects_ms,
        ..EvaluationCounts::default()
    };
    let pods_took = Stopwatch::start();
    for_each_page::<PodInput>(client, "/api/v1/pods", config.page_size, |page| {
        counts.pages += 1;
        counts.pods += page.len() as u64;
        for pod in &page {
            evaluator.observe_pod(pod);
        }
    })
    .await?;
    counts.pods_ms = pods_took.elapsed().as_millis() as u64;
    let report = evaluator.finish(took.elapsed().as_millis() as u64);
    Ok((report, counts))
}

/// The API server's minor version, which "latest" Pod Security Standards resolve to.
async fn kubernetes_minor(client: &kube::Client) -> Result<u32, PostureError> {
    let info = client
        .apiserver_version()
        .await
        .map_err(PostureError::Version)?;
    // `minor` may carry a `+` (managed offerings print "29+"); the git version is exact.
    Ok(KubeVersion::parse(&info.git_version)
        .map(|v| v.minor)
        .unwrap_or_else(|_| {
            info.minor
                .trim_end_matches('+')
                .parse()
                .unwrap_or(LATEST_KNOWN_MINOR)
        }))
}

/// The newest minor the Pod Security Standards table knows, for a server that does not say.
const LATEST_KNOWN_MINOR: u32 = 33;

/// Evaluates every `config.interval` and sends each report, until dropped.
pub async fn run(
    hub: &HubClient,
    config: &PostureConfig,
    client: &kube::Client,
    clock: &SharedClock,
    state: &PostureState,
) {
    let cluster = hub.cluster();
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match evaluate(client, cluster, config, clock.now()).await {
            Ok((report, counts)) => {
                tracing::info!(
                    cluster,
                    pods = counts.pods,
                    findings = report.findings.len(),
                    took_ms = report.duration_ms,
                    "posture evaluated"
                );
                state.set(report);
            }
            Err(e) => tracing::warn!(cluster, error = %e, "posture evaluation failed"),
        }
        if let Err(e) = state.upload(hub).await {
            tracing::warn!(cluster, error = %e, "posture upload failed; kept for the next try");
        }
    }
}

/// Which optional engines are installed, from the served API groups.
fn sources_from_groups<'a>(groups: impl Iterator<Item = &'a str>) -> PostureSources {
    let mut s = PostureSources::default();
    for g in groups {
        match g {
            "constraints.gatekeeper.sh" => s.gatekeeper = true,
            "cilium.io" => s.cilium = true,
            "crd.projectcalico.org" | "projectcalico.org" => s.calico = true,
            "aquasecurity.github.io" => s.trivy = true,
            "secrets-store.csi.x-k8s.io" => s.secrets_store_csi = true,
            "external-secrets.io" => s.external_secrets = true,
            _ => {}
        }
    }
    s
}
