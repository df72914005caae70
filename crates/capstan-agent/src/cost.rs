//! The agent's cost collection: every interval it samples each running container's usage
//! ([`UsageSource`]), prices the tick with the cluster's nodes ([`HourAccumulator`], the
//! OpenCost model in capstan-core), and feeds the right-sizing states; each finished hour
//! goes to the hub (`POST /api/v1/agents/{cluster}/cost`) with the latest recommendations.
//!
//! Time: ticks and hours follow the agent's clock (the twin's, scaled, in a lab), like every
//! other time the agent reports; the interval between samples is real time. A tick covers
//! the time since the previous one, at most [`MAX_TICK`] or three sampling intervals on the
//! agent's clock, whichever is longer (a stalled agent does not bill the stall at the last
//! sample's usage), split at hour boundaries.
//!
//! Architecture invariant: the hub never sees a pod. Hours carry rows per namespace and the
//! top workloads; recommendations are bounded lists.

pub mod checkpoint;
mod recommend;
mod tick;
mod usage;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use capstan_clock::{SharedClock, Stopwatch};
use capstan_core::cost::{ClusterCostContext, CostHour, HourAccumulator, PriceSheet, ReportLimits};
use capstan_core::rightsizing::Strategy;
use capstan_kube::view::ClusterView;
use jiff::{SignedDuration, Timestamp};

use crate::HubClient;
use crate::client::CostUpload;
use crate::health::PrometheusSource;

pub use recommend::{Recommender, RecommenderSettings};
pub use tick::{TickCounts, add_tick, cluster_location};
pub use usage::{ContainerUsage, PodUsage, UsageSnapshot, UsageSource};

/// The longest stretch one tick may cover, unless three sampling intervals are longer.
pub const MAX_TICK: SignedDuration = SignedDuration::from_mins(15);
/// Finished hours kept for the hub while it cannot be reached (a week); older ones are
/// dropped, oldest first, and said so in the log.
const MAX_PENDING_HOURS: usize = 168;
/// Hours per upload request (the hub accepts up to 200).
const HOURS_PER_UPLOAD: usize = 48;

/// Where usage is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostSource {
    /// The Metrics API (`metrics.k8s.io`), served by metrics-server.
    MetricsApi,
    /// The cluster's Prometheus (cAdvisor series, with egress).
    Prometheus { url: String },
}

/// How the agent collects cost.
#[derive(Debug, Clone)]
pub struct CostConfig {
    pub prices: Arc<PriceSheet>,
    /// Real time between usage samples.
    pub interval: Duration,
    pub source: CostSource,
    pub limits: ReportLimits,
    pub recommender: RecommenderSettings,
    /// Time between right-sizing checkpoints on the agent's clock; `None` keeps the states
    /// in memory only.
    pub checkpoint_interval: Option<Duration>,
    /// Where checkpoints are kept (the agent's namespace).
    pub checkpoint_namespace: String,
}

impl CostConfig {
    pub fn new(source: CostSource) -> Self {
        Self {
            prices: Arc::new(PriceSheet::default()),
            interval: Duration::from_secs(60),
            source,
            limits: ReportLimits::default(),
            recommender: RecommenderSettings::default(),
            checkpoint_interval: Some(checkpoint::DEFAULT_CHECKPOINT_INTERVAL),
            checkpoint_namespace: checkpoint::NAMESPACE.to_string(),
        }
    }

    pub fn with_strategy(mut self, strategy: Strategy) -> Self {
        self.recommender.strategy = strategy;
        self
    }
}

/// What the cost loop shares with the rest of the agent (and tests).
#[derive(Debug, Default)]
pub struct CostState {
    /// Finished hours the hub has not acknowledged, oldest first.
    pending: Mutex<VecDeque<CostHour>>,
    /// The latest recommendations bundle, until the hub has it.
    recommendations: Mutex<Option<serde_json::Value>>,
    /// Every hour finished so far (kept for tests and `capstan agent` output: the last few).
    finished: Mutex<VecDeque<CostHour>>,
}

impl CostState {
    /// The last finished hours (at most a day), oldest first.
    pub fn finished_hours(&self) -> Vec<CostHour> {
        lock(&self.finished).iter().cloned().collect()
    }

    fn push_hour(&self, hour: CostHour) {
        let mut finished = lock(&self.finished);
        if finished.len() == 24 {
            finished.pop_front();
        }
        finished.push_back(hour.clone());
        drop(finished);
        let mut pending = lock(&self.pending);
        pending.push_back(hour);
        while pending.len() > MAX_PENDING_HOURS {
            if let Some(dropped) = pending.pop_front() {
                tracing::warn!(hour = %dropped.start, "the hub has been unreachable for a week; dropping the oldest cost hour");
            }
        }
    }

    fn set_recommendations(&self, bundle: serde_json::Value) {
        *lock(&self.recommendations) = Some(bundle);
    }

    /// Sends what the hub does not have yet; keeps it on failure for the next try.
    async fn upload(&self, hub: &HubClient) -> crate::Result<()> {
        loop {
            let hours: Vec<CostHour> = lock(&self.pending)
                .iter()
                .take(HOURS_PER_UPLOAD)
                .cloned()
                .collect();
            let recommendations = lock(&self.recommendations).clone();
            if hours.is_empty() && recommendations.is_none() {
                return Ok(());
            }
            let sent = hours.len();
            hub.upload_cost(&CostUpload {
                hours,
                recommendations: recommendations.clone(),
            })
            .await?;
            let mut pending = lock(&self.pending);
            for _ in 0..sent.min(pending.len()) {
                pending.pop_front();
            }
            drop(pending);
            let mut latest = lock(&self.recommendations);
            if *latest == recommendations {
                *latest = None;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The start of the hour `t` falls in.
pub fn hour_of(t: Timestamp) -> Timestamp {
    let s = t.as_second();
    Timestamp::from_second(s - s.rem_euclid(3600)).unwrap_or(t)
}

/// The cost loop's hour bookkeeping, apart from I/O so that it can be tested with any times.
pub struct CostCollector {
    pub prices: Arc<PriceSheet>,
    pub limits: ReportLimits,
    current: Option<HourAccumulator>,
    last_tick: Option<Timestamp>,
    /// The longest stretch a tick covers.
    pub max_tick: SignedDuration,
    pub recommender: Recommender,
}

impl CostCollector {
    pub fn new(config: &CostConfig) -> Self {
        Self {
            prices: config.prices.clone(),
            limits: config.limits,
            current: None,
            last_tick: None,
            max_tick: MAX_TICK,
            recommender: Recommender::new(config.recommender.clone()),
        }
    }

    /// One tick at `now` with `usage`: prices the time since the previous tick (none for the
    /// first) and returns the hours that finished.
    pub fn tick(
        &mut self,
        view: &ClusterView,
        usage: &UsageSnapshot,
        now: Timestamp,
    ) -> (Vec<CostHour>, TickCounts) {
        let from = match self.last_tick {
            Some(last) if now > last => last.max(now - self.max_tick),
            Some(_) => {
                // The clock did not move (or went back): nothing to bill.
                return (Vec::new(), TickCounts::default());
            }
            None => now,
        };
        self.last_tick = Some(now);
        // Read once per tick: the location here, the prices in `add_tick`.
        let nodes = view.nodes();
        let (provider, region) = cluster_location(&nodes);
        let context = ClusterCostContext {
            management_per_hour: self
                .prices
                .management_per_cluster_hour_in(&provider, &region),
            provider,
            region,
        };
        let mut finished = Vec::new();
        // The segments of [from, now) in each hour.
        let mut segments: Vec<(Timestamp, f64)> = Vec::new();
        let mut start = from;
        while start < now {
            let hour = hour_of(start);
            let end = (hour + SignedDuration::from_hours(1)).min(now);
            segments.push((hour, end.duration_since(start).as_secs_f64() / 3600.0));
            start = end;
        }
        // Roll over to the hours the segments fall in, finishing the previous one.
        let mut accumulators: Vec<HourAccumulator> = Vec::new();
        let mut current = self.current.take();
        for (hour, _) in &segments {
            match current.take() {
                Some(acc) if acc.hour_start() == *hour => accumulators.push(acc),
                Some(acc) => {
                    if acc.hours_sampled() > 0.0 {
                        finished.push(acc.finish(&self.limits));
                    }
                    accumulators.push(HourAccumulator::new(context.clone(), *hour));
                }
                None => accumulators.push(HourAccumulator::new(context.clone(), *hour)),
            }
        }
        let tick_seconds = now.duration_since(from).as_secs_f64();
        let mut targets: Vec<(&mut HourAccumulator, f64)> = accumulators
            .iter_mut()
            .zip(segments.iter().map(|s| s.1))
            .collect();
        let recommender = &mut self.recommender;
        recommender.begin_tick();
        let counts = add_tick(
            view,
            &nodes,
            &self.prices,
            usage,
            &mut targets,
            tick_seconds,
            |keys, sample| {
                recommender.observe(keys, &sample, now);
            },
        );
        self.recommender.end_tick(now);
        // All but the last accumulator are finished hours.
        let last = accumulators.pop();
        for acc in accumulators {
            finished.push(acc.finish(&self.limits));
        }
        // No segment (the first tick) leaves the open hour as it was, or opens one.
        self.current = last
            .or(current)
            .or_else(|| Some(HourAccumulator::new(context.clone(), hour_of(now))));
        // A tick that ends exactly on the hour finishes it now rather than at the next tick.
        if let Some(acc) = self.current.take_if(|a| a.hour_start() < hour_of(now)) {
            finished.push(acc.finish(&self.limits));
            self.current = Some(HourAccumulator::new(context, hour_of(now)));
        }
        (finished, counts)
    }
}

/// Collects cost every `config.interval` until dropped.
pub async fn run(
    hub: &HubClient,
    config: &CostConfig,
    client: &kube::Client,
    view: &ClusterView,
    clock: &SharedClock,
    state: &CostState,
) {
    let cluster = hub.cluster();
    let source = match &config.source {
        CostSource::MetricsApi => UsageSource::MetricsApi(client.clone()),
        CostSource::Prometheus { url } => match PrometheusSource::new(url, cluster) {
            Ok(p) => UsageSource::Prometheus(p),
            Err(e) => {
                tracing::error!(cluster, error = %e, "cannot query prometheus; cost is not collected");
                return;
            }
        },
    };
    let mut collector = CostCollector::new(config);
    // On a scaled clock (a lab, the demo) an interval is longer in the agent's time: a tick
    // may cover up to three of them.
    let intervals =
        SignedDuration::try_from(config.interval.mul_f64(3.0 * clock.scale())).unwrap_or(MAX_TICK);
    collector.max_tick = MAX_TICK.max(intervals);
    view.wait_synced().await;
    // Checkpoints are loaded before the first tick, as the VPA recommender loads its own.
    let mut checkpointer = config.checkpoint_interval.map(|interval| {
        let store = checkpoint::CheckpointStore::new(client.clone(), &config.checkpoint_namespace);
        checkpoint::Checkpointer::new(cluster, store, interval)
    });
    if let Some(c) = checkpointer.as_mut() {
        c.load_into(&mut collector.recommender, clock.now()).await;
    }
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_bundle = Stopwatch::start();
    let mut first = true;
    loop {
        ticks.tick().await;
        let took = Stopwatch::start();
        let usage = match source.sample().await {
            Ok(u) => u,
            Err(e) => {
                // Requests are still charged; usage counts as unknown this tick.
                tracing::warn!(cluster, source = source.name(), error = %e, "usage sample failed");
                UsageSnapshot::default()
            }
        };
        let now = clock.now();
        let (hours, counts) = collector.tick(view, &usage, now);
        tracing::debug!(
            cluster,
            pods = counts.pods,
            containers = counts.containers,
            without_usage = counts.containers_without_usage,
            took_ms = took.elapsed().as_millis() as u64,
            "cost tick"
        );
        if let Some(c) = checkpointer.as_mut() {
            c.tick(&collector.recommender, view, now).await;
        }
        let new_hour = !hours.is_empty();
        for hour in hours {
            state.push_hour(hour);
        }
        // Recommendations are refreshed with each finished hour, and once soon after start.
        if new_hour || (first && last_bundle.elapsed() >= config.interval) {
            first = false;
            last_bundle = Stopwatch::start();
            let bundle = collector.recommender.bundle(view, &collector.prices, now);
            match serde_json::to_value(&bundle) {
                Ok(v) => state.set_recommendations(v),
                Err(e) => tracing::warn!(cluster, error = %e, "recommendations did not encode"),
            }
        }
        if let Err(e) = state.upload(hub).await {
            tracing::warn!(cluster, error = %e, "cost upload failed; kept for the next try");
        }
    }
}
