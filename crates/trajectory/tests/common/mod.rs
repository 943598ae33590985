//! Geometry shared by the trajectory tests.

use cella_trajectory::{MAX_SAMPLES, SampledTrajectory};

/// `period`, or the shortest longer period that samples `duration` s within
/// [`MAX_SAMPLES`] (random paths of 50 waypoints at a fifth of the speed last minutes).
pub fn period_for(duration: f64, period: f64) -> f64 {
    period.max(duration / (MAX_SAMPLES - 2) as f64)
}

/// Euclidean distance (rad) from `p` to the segment `a`–`b` (a point when `a = b`).
pub fn point_segment_distance(p: &[f64], a: &[f64], b: &[f64]) -> f64 {
    let ab: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let ap: Vec<f64> = a.iter().zip(p).map(|(x, y)| y - x).collect();
    let len2: f64 = ab.iter().map(|v| v * v).sum();
    let t = if len2 > 0.0 {
        (ap.iter().zip(&ab).map(|(x, y)| x * y).sum::<f64>() / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ap.iter()
        .zip(&ab)
        .map(|(x, y)| (x - t * y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The samples of `s` outside every time window of `windows` (s), and the farthest any of
/// them lies from the straight segments between the waypoints of `path` (rad).
pub fn off_segments_outside(
    s: &SampledTrajectory,
    windows: &[(f64, f64)],
    path: &[Vec<f64>],
) -> (usize, f64) {
    let mut outside = 0;
    let mut worst: f64 = 0.0;
    for k in 0..s.len() {
        let t = s.times[k];
        if windows.iter().any(|&(t0, t1)| t0 <= t && t <= t1) {
            continue;
        }
        outside += 1;
        let off = path
            .windows(2)
            .map(|w| point_segment_distance(s.q_at(k), &w[0], &w[1]))
            .fold(f64::INFINITY, f64::min);
        worst = worst.max(off);
    }
    (outside, worst)
}
