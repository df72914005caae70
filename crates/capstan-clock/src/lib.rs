//! Time for Capstan.
//!
//! Architecture invariant: nothing else in the workspace calls `Instant::now()` or
//! `SystemTime::now()` (clippy's `disallowed-methods` enforces it). Components receive a
//! [`Clock`] so that the twin, the demo and tests can run days of simulated time in minutes,
//! and so that core decisions stay pure functions of a `now` handed to them.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;

/// A source of wall-clock time (real or simulated).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time on this clock.
    fn now(&self) -> Timestamp;

    /// Simulated seconds per real second (1.0 for the real clock). Used to turn a simulated
    /// delay into a real sleep.
    fn scale(&self) -> f64 {
        1.0
    }

    /// How long to sleep in real time until `simulated` elapses on this clock.
    fn real_delay(&self, simulated: Duration) -> Duration {
        let scale = self.scale();
        if scale <= 0.0 {
            return simulated;
        }
        simulated.div_f64(scale)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the system clock
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Real time since an arbitrary origin, for measuring elapsed durations (benchmarks, logs).
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)] // monotonic measurement, not a time-of-day decision
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Simulated time: starts at `origin`, runs `scale` times faster than real time, and can be
/// jumped forward (never backwards) by [`ScaledClock::advance`].
#[derive(Debug)]
pub struct ScaledClock {
    origin: Timestamp,
    started: Stopwatch,
    scale: f64,
    skipped: Mutex<Duration>,
}

impl ScaledClock {
    /// A clock that starts now (on the system clock) and runs `scale` times faster.
    pub fn starting_now(scale: f64) -> Self {
        Self::starting_at(SystemClock.now(), scale)
    }

    pub fn starting_at(origin: Timestamp, scale: f64) -> Self {
        Self {
            origin,
            started: Stopwatch::start(),
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
            skipped: Mutex::new(Duration::ZERO),
        }
    }

    /// Jump simulated time forward.
    pub fn advance(&self, by: Duration) {
        *self.skipped.lock() += by;
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed().mul_f64(self.scale) + *self.skipped.lock();
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.origin.checked_add(elapsed).unwrap_or(Timestamp::MAX)
    }

    fn scale(&self) -> f64 {
        self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_faster_and_advances() {
        let origin: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = ScaledClock::starting_at(origin, 1000.0);
        let t0 = clock.now();
        assert!(t0 >= origin);
        clock.advance(Duration::from_secs(3600));
        let t1 = clock.now();
        assert!(t1.duration_since(origin) >= SignedDuration::from_secs(3600));
        assert_eq!(
            clock.real_delay(Duration::from_secs(10)),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn non_positive_scale_falls_back_to_real_time() {
        let clock = ScaledClock::starting_now(0.0);
        assert_eq!(clock.scale(), 1.0);
    }
}
