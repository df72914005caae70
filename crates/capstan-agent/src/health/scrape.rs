//! Evaluation without Prometheus: the agent scrapes the cluster's exporters itself (through
//! the API server, like every target in [`super::targets`]), keeps the samples the rules
//! need in a [`SeriesStore`] and evaluates the rules' PromQL over it.
//!
//! Samples are stamped with real wall time, as a Prometheus server stamps them, so that the
//! two paths compute the same rates over the same windows (the twin's counters advance in
//! real time for that reason).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use capstan_core::health::{HealthRule, RuleValues};
use capstan_core::promql::{self, Query, SeriesStore};
use futures::StreamExt;

use super::targets::{Job, ScrapeTarget, scrape_targets};

/// Scrapes in flight at once: enough to cover a 1,000-node cluster in a few seconds
/// without flooding its API server.
const SCRAPE_CONCURRENCY: usize = 16;

/// What one round of scraping did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrapeStats {
    pub targets: usize,
    pub failed: usize,
    pub samples: usize,
    /// Samples of metrics the rules read, the ones stored.
    pub kept: usize,
    pub bytes: usize,
    /// The first failure, for the log.
    pub first_error: Option<String>,
}

/// The agent's own scraper and rule evaluator for one cluster.
pub struct SelfScrape {
    cluster: String,
    client: kube::Client,
    store: SeriesStore,
    /// Each rule's parsed expression, or why it does not parse.
    queries: Vec<(String, Result<Query, String>)>,
    jobs: BTreeSet<Job>,
    /// The metric names the rules read: only these are kept (an exporter serves many more,
    /// kube-state-metrics most of all).
    metrics: BTreeSet<String>,
    /// Targets scraped last round, to mark the ones that went away stale.
    last_targets: BTreeSet<String>,
}

impl SelfScrape {
    pub fn new(cluster: impl Into<String>, client: kube::Client, rules: &[HealthRule]) -> Self {
        let queries: Vec<(String, Result<Query, String>)> = rules
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    Query::parse(&r.expr).map_err(|e| e.to_string()),
                )
            })
            .collect();
        let parsed = || queries.iter().filter_map(|(_, q)| q.as_ref().ok());
        let metrics: BTreeSet<String> = parsed().flat_map(|q| q.metric_names()).collect();
        // Keep what the longest window needs, plus a scrape interval's slack.
        let retention = parsed()
            .map(Query::lookback)
            .max()
            .unwrap_or(Duration::from_secs(300))
            + Duration::from_secs(60);
        Self {
            cluster: cluster.into(),
            client,
            store: SeriesStore::new(retention),
            jobs: Job::for_metrics(&metrics),
            metrics,
            queries,
            last_targets: BTreeSet::new(),
        }
    }

    /// The jobs the rules read from.
    pub fn jobs(&self) -> &BTreeSet<Job> {
        &self.jobs
    }

    pub fn store(&self) -> &SeriesStore {
        &self.store
    }

    /// Scrapes every target of the cluster (whose nodes are `nodes`) at `now_ms`, real wall
    /// time in milliseconds.
    pub async fn scrape(&mut self, nodes: &[String], now_ms: i64) -> ScrapeStats {
        let targets = scrape_targets(&self.cluster, nodes, &self.jobs);
        let client = &self.client;
        let mut results = futures::stream::iter(targets.into_iter().map(|t| async move {
            let body = fetch(client, &t).await;
            (t, body)
        }))
        .buffer_unordered(SCRAPE_CONCURRENCY);
        let mut stats = ScrapeStats::default();
        let mut seen = BTreeSet::new();
        while let Some((target, body)) = results.next().await {
            stats.targets += 1;
            let key = target.key();
            let parsed = body.and_then(|text| {
                stats.bytes += text.len();
                promql::parse_exposition(&text).map_err(|e| e.to_string())
            });
            match parsed {
                Ok(mut samples) => {
                    stats.samples += samples.len();
                    samples.retain(|s| {
                        s.labels
                            .get(promql::METRIC_NAME_LABEL)
                            .is_some_and(|name| self.metrics.contains(name))
                    });
                    stats.kept += samples.len();
                    self.store
                        .ingest_scrape(&key, &target.labels, samples, now_ms);
                }
                Err(e) => {
                    // As Prometheus does for a failed scrape: its series go stale.
                    stats.failed += 1;
                    stats
                        .first_error
                        .get_or_insert_with(|| format!("{key}: {e}"));
                    self.store.target_gone(&key, now_ms);
                }
            }
            seen.insert(key);
        }
        for gone in self.last_targets.difference(&seen) {
            self.store.target_gone(gone, now_ms);
        }
        self.last_targets = seen;
        self.store.prune(now_ms);
        stats
    }

    /// Every rule's value vector at `now_ms`.
    pub fn evaluate(&self, now_ms: i64) -> BTreeMap<String, RuleValues> {
        self.queries
            .iter()
            .map(|(name, query)| {
                let values = match query {
                    Ok(q) => promql::evaluate(q, &self.store, now_ms).map_err(|e| e.to_string()),
                    Err(e) => Err(e.clone()),
                };
                (name.clone(), values)
            })
            .collect()
    }
}

async fn fetch(client: &kube::Client, target: &ScrapeTarget) -> Result<String, String> {
    let request = http::Request::builder()
        .method(http::Method::GET)
        .uri(target.path_and_query())
        .header(http::header::ACCEPT, "text/plain;version=0.0.4")
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    client
        .request_text(request)
        .await
        .map_err(|e| e.to_string())
}
