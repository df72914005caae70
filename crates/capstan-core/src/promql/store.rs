//! The in-memory series store the agent scrapes into: one deque of samples per series, an
//! index from metric name to series, and Prometheus' staleness markers
//! (prometheus/prometheus scrape/scrape.go: a series missing from a scrape, or a target that
//! is gone, gets a staleness marker; series with explicit timestamps are not tracked).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{METRIC_NAME_LABEL, Sample};
use crate::health::Labels;

/// Prometheus' staleness marker: a NaN with this exact bit pattern
/// (prometheus/prometheus model/value/value.go `StaleNaN`), distinct from an exposed `NaN`.
pub(crate) const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub(crate) fn is_stale_marker(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

type SeriesId = u64;

/// One series: its labels (shared with the evaluator's results) and its samples in time
/// order, `(timestamp_ms, value)`, staleness markers included.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) labels: Arc<Labels>,
    pub(crate) samples: VecDeque<(i64, f64)>,
}

/// Scraped series, kept for `retention`.
#[derive(Debug)]
pub struct SeriesStore {
    retention_ms: i64,
    series: FxHashMap<SeriesId, Series>,
    by_labels: FxHashMap<Arc<Labels>, SeriesId>,
    by_name: FxHashMap<String, BTreeSet<SeriesId>>,
    /// Per target, the series of its last scrape that take part in staleness.
    targets: FxHashMap<String, Vec<SeriesId>>,
    next_id: SeriesId,
    sample_count: usize,
}

impl SeriesStore {
    pub fn new(retention: Duration) -> Self {
        SeriesStore {
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
            series: FxHashMap::default(),
            by_labels: FxHashMap::default(),
            by_name: FxHashMap::default(),
            targets: FxHashMap::default(),
            next_id: 0,
            sample_count: 0,
        }
    }

    /// One scrape of one target at `at_ms` (a sample's own timestamp wins when present).
    ///
    /// `target_labels` are added to every sample; a clashing exposed label is kept as
    /// `exported_<name>` (honor_labels=false, prometheus/prometheus scrape/target.go
    /// `resolveConflictingExposedLabels`). Empty label values mean "no label". Series this
    /// target exposed in its previous scrape but not in this one get a staleness marker at
    /// `at_ms`. A sample not newer than its series' last sample is dropped (out of order).
    pub fn ingest_scrape(
        &mut self,
        target_key: &str,
        target_labels: &Labels,
        samples: Vec<Sample>,
        at_ms: i64,
    ) {
        let previous = self.targets.remove(target_key).unwrap_or_default();
        let mut seen: FxHashSet<SeriesId> =
            FxHashSet::with_capacity_and_hasher(samples.len(), Default::default());
        let mut tracked = Vec::with_capacity(samples.len());
        for sample in samples {
            let mut labels = sample.labels;
            apply_target_labels(&mut labels, target_labels);
            let id = self.series_id(labels);
            self.append(id, sample.timestamp_ms.unwrap_or(at_ms), sample.value);
            // Upstream bypasses staleness tracking for samples with explicit timestamps.
            if sample.timestamp_ms.is_none() && seen.insert(id) {
                tracked.push(id);
            }
        }
        for id in previous {
            if !seen.contains(&id) {
                self.mark_stale(id, at_ms);
            }
        }
        self.targets.insert(target_key.to_string(), tracked);
    }

    /// The target is gone: all the series of its last scrape go stale at `at_ms`.
    pub fn target_gone(&mut self, target_key: &str, at_ms: i64) {
        for id in self.targets.remove(target_key).unwrap_or_default() {
            self.mark_stale(id, at_ms);
        }
    }

    /// Drops samples older than the retention before `now_ms` (a sample at exactly
    /// `now_ms - retention` is kept), and the series left empty.
    pub fn prune(&mut self, now_ms: i64) {
        let oldest_kept = now_ms.saturating_sub(self.retention_ms);
        let mut emptied = Vec::new();
        for (id, series) in &mut self.series {
            while series
                .samples
                .front()
                .is_some_and(|(t, _)| *t < oldest_kept)
            {
                series.samples.pop_front();
                self.sample_count -= 1;
            }
            if series.samples.is_empty() {
                emptied.push(*id);
            }
        }
        for id in emptied {
            let Some(series) = self.series.remove(&id) else {
                continue;
            };
            self.by_labels.remove(&series.labels);
            if let Some(name) = series.labels.get(METRIC_NAME_LABEL)
                && let Some(ids) = self.by_name.get_mut(name)
            {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_name.remove(name);
                }
            }
        }
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Samples held, staleness markers included.
    pub fn sample_count(&self) -> usize {
        self.sample_count
    }

    /// The series named `name` (all series when `None`), in a stable order.
    pub(crate) fn series_named<'a>(
        &'a self,
        name: Option<&str>,
    ) -> Box<dyn Iterator<Item = &'a Series> + 'a> {
        match name {
            Some(name) => match self.by_name.get(name) {
                Some(ids) => Box::new(ids.iter().filter_map(|id| self.series.get(id))),
                None => Box::new(std::iter::empty()),
            },
            None => Box::new(self.series.values()),
        }
    }

    fn series_id(&mut self, labels: Labels) -> SeriesId {
        if let Some(id) = self.by_labels.get(&labels) {
            return *id;
        }
        let id = self.next_id;
        self.next_id += 1;
        let labels = Arc::new(labels);
        if let Some(name) = labels.get(METRIC_NAME_LABEL) {
            self.by_name.entry(name.clone()).or_default().insert(id);
        }
        self.by_labels.insert(labels.clone(), id);
        self.series.insert(
            id,
            Series {
                labels,
                samples: VecDeque::new(),
            },
        );
        id
    }

    fn append(&mut self, id: SeriesId, t: i64, value: f64) {
        let Some(series) = self.series.get_mut(&id) else {
            return;
        };
        if series.samples.back().is_some_and(|(last, _)| *last >= t) {
            return;
        }
        series.samples.push_back((t, value));
        self.sample_count += 1;
    }

    fn mark_stale(&mut self, id: SeriesId, at_ms: i64) {
        let already_stale = self
            .series
            .get(&id)
            .and_then(|s| s.samples.back())
            .is_some_and(|(_, v)| is_stale_marker(*v));
        if !already_stale {
            self.append(id, at_ms, f64::from_bits(STALE_NAN_BITS));
        }
    }
}

/// Adds the target's labels to an exposed label set, keeping a clashing exposed label as
/// `exported_<name>` (shorter names first, `exported_` repeated until free), and drops
/// empty values.
fn apply_target_labels(labels: &mut Labels, target_labels: &Labels) {
    let mut conflicts = Vec::new();
    for (name, value) in target_labels {
        let existing = if value.is_empty() {
            labels.remove(name)
        } else {
            labels.insert(name.clone(), value.clone())
        };
        if let Some(existing) = existing.filter(|v| !v.is_empty()) {
            conflicts.push((name, existing));
        }
    }
    conflicts.sort_by_key(|(name, _)| name.len());
    for (name, value) in conflicts {
        let mut exported = name.clone();
        loop {
            exported = format!("exported_{exported}");
            if labels.get(&exported).is_none_or(|v| v.is_empty()) {
                labels.insert(exported, value);
                break;
            }
        }
    }
    labels.retain(|_, value| !value.is_empty());
}
