//! Loop health: how late each cycle woke up (jitter) and how long its work took, as lock-free
//! histograms the loop updates with a few atomic adds per cycle.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Histogram resolution: one bucket per microsecond up to this many; later values go to the
/// last bucket (and into `max`).
const BUCKETS: usize = 4000;

#[derive(Debug)]
struct Histogram {
    counts: Vec<AtomicU64>,
    max_ns: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            counts: (0..=BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_ns: AtomicU64::new(0),
        }
    }

    fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let bucket = ((ns / 1000) as usize).min(BUCKETS);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.max_ns.store(0, Ordering::Relaxed);
    }

    /// (p50, p99, max) in microseconds; a percentile is its bucket's upper edge.
    fn summary(&self) -> (u64, f64, f64, f64) {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let percentile = |p: f64| {
            if total == 0 {
                return 0.0;
            }
            let rank = ((p * total as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return (i + 1) as f64;
                }
            }
            BUCKETS as f64
        };
        let max = self.max_ns.load(Ordering::Relaxed) as f64 / 1000.0;
        (
            total,
            percentile(0.5).min(max),
            percentile(0.99).min(max),
            max,
        )
    }
}

/// Counters of one executor's loop, written by the loop, read by anyone.
#[derive(Debug)]
pub struct LoopHealth {
    period: Duration,
    wake_latency: Histogram,
    work: Histogram,
    overruns: AtomicU64,
    realtime: AtomicBool,
}

/// A summary of [`LoopHealth`]. Times in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopStats {
    /// Loop period, µs.
    pub period_us: f64,
    /// Cycles counted.
    pub cycles: u64,
    /// Median lateness of the wake-up after its absolute deadline (jitter), µs.
    pub jitter_p50_us: f64,
    /// 99th percentile of the wake-up lateness, µs.
    pub jitter_p99_us: f64,
    /// Largest wake-up lateness, µs.
    pub jitter_max_us: f64,
    /// Median time from wake-up to the command sent, µs.
    pub work_p50_us: f64,
    /// 99th percentile of the work time, µs.
    pub work_p99_us: f64,
    /// Largest work time, µs.
    pub work_max_us: f64,
    /// Deadlines missed: a cycle finished after the next one was due (the missed cycles are
    /// skipped; the schedule keeps its absolute times).
    pub overruns: u64,
    /// The loop thread runs with real-time scheduling (SCHED_FIFO).
    pub realtime: bool,
}

impl LoopHealth {
    /// Empty counters for a loop of `period`.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            wake_latency: Histogram::new(),
            work: Histogram::new(),
            overruns: AtomicU64::new(0),
            realtime: AtomicBool::new(false),
        }
    }

    /// Records one cycle: how late it woke and how long its work took.
    pub fn record(&self, wake_latency: Duration, work: Duration) {
        self.wake_latency.record(wake_latency);
        self.work.record(work);
    }

    /// Records whether the loop thread got real-time scheduling.
    pub fn set_realtime(&self, realtime: bool) {
        self.realtime.store(realtime, Ordering::Relaxed);
    }

    /// Records `n` missed deadlines.
    pub fn record_overruns(&self, n: u64) {
        self.overruns.fetch_add(n, Ordering::Relaxed);
    }

    /// Clears the counters (e.g. after a warm-up).
    pub fn reset(&self) {
        self.wake_latency.reset();
        self.work.reset();
        self.overruns.store(0, Ordering::Relaxed);
    }

    /// The current statistics.
    pub fn stats(&self) -> LoopStats {
        let (cycles, jitter_p50_us, jitter_p99_us, jitter_max_us) = self.wake_latency.summary();
        let (_, work_p50_us, work_p99_us, work_max_us) = self.work.summary();
        LoopStats {
            period_us: self.period.as_secs_f64() * 1e6,
            cycles,
            jitter_p50_us,
            jitter_p99_us,
            jitter_max_us,
            work_p50_us,
            work_p99_us,
            work_max_us,
            overruns: self.overruns.load(Ordering::Relaxed),
            realtime: self.realtime.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let h = LoopHealth::new(Duration::from_millis(1));
        // 98 cycles 10 µs late, one 50 µs, one 3 ms
        for _ in 0..98 {
            h.record(Duration::from_micros(10), Duration::from_micros(5));
        }
        h.record(Duration::from_micros(50), Duration::from_micros(5));
        h.record(Duration::from_micros(3000), Duration::from_micros(5));
        h.record_overruns(2);
        let s = h.stats();
        assert_eq!(s.cycles, 100);
        assert_eq!(s.jitter_p50_us, 11.0);
        assert_eq!(s.jitter_p99_us, 51.0);
        assert_eq!(s.jitter_max_us, 3000.0);
        assert_eq!(s.overruns, 2);
        assert_eq!(s.period_us, 1000.0);
        h.reset();
        assert_eq!(h.stats().cycles, 0);
    }
}
