//! A node's life as Capstan tracks it: Provisioning → Joining → Operating → Draining →
//! Terminating, each transition timestamped, each phase held to an expected duration (an SLO).
//!
//! A phase that lasts longer than its upper bound is *slow*; longer than a configurable
//! multiple of it, *stuck*. The defaults follow the ranges of issue 3 and the reference
//! timeouts of node-lifecycle.md §6 (Karpenter's 5 min launch and 15 min registration
//! timeouts, CAPI's 10 min node startup timeout); Operating has no upper bound.
//!
//! Everything here is pure: timelines are fed observed transitions and a `now`.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where a node is in its life, in the order phases happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodePhase {
    /// The machine is ordered and booting; there is no Node yet, or it has just registered.
    Provisioning,
    /// The Node exists but is not yet Ready (kubelet registering, CNI, startup taints).
    Joining,
    /// Ready and schedulable: doing its job.
    Operating,
    /// Cordoned and being emptied.
    Draining,
    /// Drained; the machine is being deleted.
    Terminating,
}

impl NodePhase {
    /// Every phase, in order.
    pub const ALL: [NodePhase; 5] = [
        Self::Provisioning,
        Self::Joining,
        Self::Operating,
        Self::Draining,
        Self::Terminating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "Provisioning",
            Self::Joining => "Joining",
            Self::Operating => "Operating",
            Self::Draining => "Draining",
            Self::Terminating => "Terminating",
        }
    }
}

impl std::fmt::Display for NodePhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The expected duration of a phase: at least `min` is normal, beyond `max` is slow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseSlo {
    pub min: Duration,
    /// `None`: the phase may last forever (Operating).
    pub max: Option<Duration>,
}

impl PhaseSlo {
    const fn minutes(min: u64, max: u64) -> Self {
        Self {
            min: Duration::from_secs(min * 60),
            max: Some(Duration::from_secs(max * 60)),
        }
    }
}

/// The SLO of every bounded phase, and when slow becomes stuck.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleSlos {
    pub provisioning: PhaseSlo,
    pub joining: PhaseSlo,
    pub draining: PhaseSlo,
    pub terminating: PhaseSlo,
    /// A phase is stuck once it lasts longer than `max × stuck_multiple`; at least 1.
    pub stuck_multiple: f64,
}

impl Default for LifecycleSlos {
    /// Provisioning 5–15 min, Joining 2–5 min, Draining 10–30 min, Terminating 1–2 min, stuck
    /// at three times the upper bound.
    fn default() -> Self {
        Self {
            provisioning: PhaseSlo::minutes(5, 15),
            joining: PhaseSlo::minutes(2, 5),
            draining: PhaseSlo::minutes(10, 30),
            terminating: PhaseSlo::minutes(1, 2),
            stuck_multiple: 3.0,
        }
    }
}

/// How a phase's duration compares with its SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhaseHealth {
    /// Within the upper bound (exactly at it included), or the phase has none.
    OnTime,
    /// Past the upper bound.
    Slow,
    /// Past the upper bound times `stuck_multiple`.
    Stuck,
}

impl LifecycleSlos {
    /// The SLO of `phase`; `None` for Operating, which has no expected duration.
    pub fn slo(&self, phase: NodePhase) -> Option<PhaseSlo> {
        match phase {
            NodePhase::Provisioning => Some(self.provisioning),
            NodePhase::Joining => Some(self.joining),
            NodePhase::Operating => None,
            NodePhase::Draining => Some(self.draining),
            NodePhase::Terminating => Some(self.terminating),
        }
    }

    /// Every bound has `min <= max`, and `stuck_multiple` is a finite number of at least 1.
    pub fn validate(&self) -> Result<()> {
        for phase in NodePhase::ALL {
            if let Some(PhaseSlo {
                min,
                max: Some(max),
            }) = self.slo(phase)
                && min > max
            {
                return Err(Error::Lifecycle {
                    field: format!("{} SLO", phase.as_str()),
                    reason: format!(
                        "the minimum {} is above the maximum {}",
                        crate::duration::format_duration(min),
                        crate::duration::format_duration(max)
                    ),
                });
            }
        }
        if !(self.stuck_multiple.is_finite() && self.stuck_multiple >= 1.0) {
            return Err(Error::Lifecycle {
                field: "stuck multiple".to_string(),
                reason: format!(
                    "must be a number of at least 1, got {}",
                    self.stuck_multiple
                ),
            });
        }
        Ok(())
    }

    /// How a phase that has lasted `elapsed` stands against its SLO. Being exactly at a
    /// bound is not past it.
    pub fn classify(&self, phase: NodePhase, elapsed: Duration) -> PhaseHealth {
        let Some(max) = self.slo(phase).and_then(|slo| slo.max) else {
            return PhaseHealth::OnTime;
        };
        if elapsed > self.stuck_after(max) {
            PhaseHealth::Stuck
        } else if elapsed > max {
            PhaseHealth::Slow
        } else {
            PhaseHealth::OnTime
        }
    }

    /// `max × stuck_multiple`, defined for unvalidated values too: a multiple below 1 (or
    /// NaN) counts as 1, an overflowing product as forever.
    fn stuck_after(&self, max: Duration) -> Duration {
        if self.stuck_multiple.is_nan() || self.stuck_multiple < 1.0 {
            return max;
        }
        Duration::try_from_secs_f64(max.as_secs_f64() * self.stuck_multiple)
            .unwrap_or(Duration::MAX)
    }
}

/// One node's phase transitions, oldest first, and optionally when it was gone.
///
/// Transitions only move forward: in time, and in phase order. Observers see a node late or
/// twice (a watcher's relist, an agent restart), so recording is idempotent and tolerant of
/// stale observations rather than an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "TimelineData")]
pub struct NodeTimeline {
    pub node: String,
    pub pool: Option<String>,
    transitions: Vec<(NodePhase, Timestamp)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finished: Option<Timestamp>,
}

/// The serialized form, replayed through [`NodeTimeline::record`] on the way in so that a
/// hand-edited or corrupted document cannot break the ordering invariants.
#[derive(Deserialize)]
struct TimelineData {
    node: String,
    pool: Option<String>,
    #[serde(default)]
    transitions: Vec<(NodePhase, Timestamp)>,
    #[serde(default)]
    finished: Option<Timestamp>,
}

impl From<TimelineData> for NodeTimeline {
    fn from(data: TimelineData) -> Self {
        let mut timeline = NodeTimeline::new(&data.node, data.pool.as_deref());
        for (phase, at) in data.transitions {
            timeline.record(phase, at);
        }
        if let Some(at) = data.finished {
            timeline.finish(at);
        }
        timeline
    }
}

impl NodeTimeline {
    pub fn new(node: &str, pool: Option<&str>) -> Self {
        Self {
            node: node.to_string(),
            pool: pool.map(str::to_string),
            transitions: Vec::new(),
            finished: None,
        }
    }

    /// Idempotent: recording the current phase again (any time) changes nothing; a transition
    /// earlier than the last one recorded is ignored (returns false); phases may be skipped
    /// (a node seen first when already Operating) but never go backwards in the enum order,
    /// and nothing follows Terminating or the end of the timeline. Returns whether the
    /// timeline changed.
    pub fn record(&mut self, phase: NodePhase, at: Timestamp) -> bool {
        if self.finished.is_some() {
            return false;
        }
        if let Some((current, since)) = self.current()
            && (phase <= current || at < since)
        {
            return false;
        }
        self.transitions.push((phase, at));
        true
    }

    /// Every phase entered, with when, oldest first.
    pub fn transitions(&self) -> &[(NodePhase, Timestamp)] {
        &self.transitions
    }

    /// The last phase entered and when, also after the timeline finished.
    pub fn current(&self) -> Option<(NodePhase, Timestamp)> {
        self.transitions.last().copied()
    }

    /// When the node entered `phase`, if it did.
    pub fn entered(&self, phase: NodePhase) -> Option<Timestamp> {
        self.transitions
            .iter()
            .find(|(p, _)| *p == phase)
            .map(|(_, at)| *at)
    }

    /// Durations of the phases that have ended (phase i ends when phase i+1 starts; the last
    /// one ends when the timeline [finished](Self::finish)).
    pub fn completed(&self) -> Vec<(NodePhase, Duration)> {
        let ends = self
            .transitions
            .iter()
            .skip(1)
            .map(|(_, at)| *at)
            .chain(self.finished);
        self.transitions
            .iter()
            .zip(ends)
            .map(|((phase, start), end)| (*phase, elapsed(*start, end)))
            .collect()
    }

    /// Marks the node gone at `at`, ending its current phase (normally Terminating; a node
    /// deleted out of band ends in whatever phase it was). Ignored, returning false, when the
    /// timeline is empty, already finished, or `at` is before the last transition.
    pub fn finish(&mut self, at: Timestamp) -> bool {
        match self.current() {
            Some((_, since)) if self.finished.is_none() && at >= since => {
                self.finished = Some(at);
                true
            }
            _ => false,
        }
    }

    /// When the node was gone, if it is.
    pub fn finished(&self) -> Option<Timestamp> {
        self.finished
    }

    /// The current phase, how long it has lasted at `now`, and its health against the SLOs;
    /// `None` when nothing was recorded or the timeline finished. A `now` before the phase
    /// began counts as no time at all.
    pub fn health(
        &self,
        now: Timestamp,
        slos: &LifecycleSlos,
    ) -> Option<(NodePhase, Duration, PhaseHealth)> {
        if self.finished.is_some() {
            return None;
        }
        let (phase, since) = self.current()?;
        let lasted = elapsed(since, now);
        Some((phase, lasted, slos.classify(phase, lasted)))
    }
}

/// The time from `start` to `end`, zero when `end` is earlier.
fn elapsed(start: Timestamp, end: Timestamp) -> Duration {
    Duration::try_from(end.duration_since(start)).unwrap_or(Duration::ZERO)
}

/// How long one phase takes across many nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseStats {
    pub phase: NodePhase,
    /// Phases that ended.
    pub completed: u32,
    /// Nodes in this phase now.
    pub in_progress: u32,
    /// Percentiles and maximum of the completed durations only: an in-progress phase's
    /// duration is not known yet.
    #[serde(with = "crate::duration::serde_duration::option")]
    pub p50: Option<Duration>,
    #[serde(with = "crate::duration::serde_duration::option")]
    pub p95: Option<Duration>,
    #[serde(with = "crate::duration::serde_duration::option")]
    pub max: Option<Duration>,
    /// Completed and in-progress phases whose health is [`PhaseHealth::Slow`] (past the upper
    /// bound but not stuck: the two counts do not overlap).
    pub slow: u32,
    /// Completed and in-progress phases whose health is [`PhaseHealth::Stuck`].
    pub stuck: u32,
}

/// One entry per phase of [`NodePhase::ALL`], in order. Operating, having no upper bound, is
/// never slow or stuck.
pub fn phase_stats<'a>(
    timelines: impl IntoIterator<Item = &'a NodeTimeline>,
    now: Timestamp,
    slos: &LifecycleSlos,
) -> Vec<PhaseStats> {
    let mut durations: [Vec<Duration>; 5] = Default::default();
    let mut in_progress = [0u32; 5];
    let mut slow = [0u32; 5];
    let mut stuck = [0u32; 5];
    let mut tally = |phase: NodePhase, health: PhaseHealth| match health {
        PhaseHealth::OnTime => {}
        PhaseHealth::Slow => slow[phase_index(phase)] += 1,
        PhaseHealth::Stuck => stuck[phase_index(phase)] += 1,
    };
    for timeline in timelines {
        for (phase, d) in timeline.completed() {
            durations[phase_index(phase)].push(d);
            tally(phase, slos.classify(phase, d));
        }
        if let Some((phase, _, health)) = timeline.health(now, slos) {
            in_progress[phase_index(phase)] += 1;
            tally(phase, health);
        }
    }
    NodePhase::ALL
        .iter()
        .zip(durations.iter_mut())
        .enumerate()
        .map(|(i, (phase, durations))| {
            durations.sort_unstable();
            PhaseStats {
                phase: *phase,
                completed: u32::try_from(durations.len()).unwrap_or(u32::MAX),
                in_progress: in_progress[i],
                p50: percentile(durations, 50.0),
                p95: percentile(durations, 95.0),
                max: durations.last().copied(),
                slow: slow[i],
                stuck: stuck[i],
            }
        })
        .collect()
}

fn phase_index(phase: NodePhase) -> usize {
    phase as usize
}

/// The `p`th percentile (`p` in percent, 0–100) of ascending `sorted` by the nearest-rank
/// method: the smallest value with at least `p`% of the values at or below it, that is the
/// element of rank `⌈p/100 × n⌉` (ranks from 1; rank 0 is taken as 1, so p0 is the minimum).
/// Always one of the values, never interpolated. `None` when `sorted` is empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // `as usize` saturates (and maps NaN to 0); the clamp keeps the rank in 1..=n.
    let rank = (p * n as f64 / 100.0).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

#[cfg(test)]
mod tests;
