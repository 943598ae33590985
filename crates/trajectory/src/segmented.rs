//! Trajectories through joint waypoints as a chain of straight joint-space segments, each a
//! phase-synchronized rest-to-rest profile: every joint starts and stops together, as an
//! industrial PTP motion does, and the arm follows the straight segment exactly (so a path
//! checked for collision segment by segment stays checked). Each segment is time-optimal for
//! its straight line under the joint limits.
//!
//! With [`SegmentOptions::max_deviation`] > 0 consecutive segments are *blended by overlap*,
//! the way industrial controllers approximate a point (KUKA's "approximate positioning", ABB's
//! zones): the next segment starts while the previous one is still decelerating, and the two
//! motions add. Both profiles are jerk-limited, so the sum is too, and the arm never stops at
//! the blended waypoint. The overlap is the longest (at most the deceleration ramp of one
//! segment and the acceleration ramp of the next) for which the summed motion stays within the
//! velocity, acceleration and jerk limits (checked exactly, piece by piece) and within
//! `max_deviation` of the two segments (checked at 64 instants). The blended corner leaves the straight segments, so a caller that
//! checked the segments for collision must check the blends too
//! ([`SegmentedTrajectory::blend_windows`]).

use crate::error::{Result, TrajectoryError};
use crate::limits::Limits;
use crate::profile::ScalarProfile;
use crate::sampled::SampledTrajectory;

/// Options for [`SegmentedTrajectory::new`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmentOptions {
    /// Use jerk-limited double-S profiles (needs jerk limits).
    pub jerk_limited: bool,
    /// Blend consecutive segments by overlapping them, passing at most this far from each
    /// waypoint (rad, Euclidean in joint space); 0 stops at every waypoint.
    pub max_deviation: f64,
}

/// Candidate overlaps tried per blend.
const OVERLAP_CANDIDATES: usize = 12;
/// Instants at which a candidate overlap's deviation is checked.
const OVERLAP_CHECKS: usize = 64;

/// A timed trajectory through waypoints, stopping at each.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentedTrajectory {
    dof: usize,
    waypoints: Vec<f64>,
    profiles: Vec<ScalarProfile>,
    starts: Vec<f64>,
    duration: f64,
}

impl SegmentedTrajectory {
    /// Times `waypoints` (each `limits.dof()` long, finite, within position limits).
    /// Consecutive duplicate waypoints are merged; at least one waypoint is needed (a single
    /// one gives a zero-length trajectory).
    pub fn new(waypoints: &[Vec<f64>], limits: &Limits, options: &SegmentOptions) -> Result<Self> {
        limits.validate()?;
        let n = limits.dof();
        if waypoints.is_empty() {
            return Err(TrajectoryError::invalid("path", "no waypoint"));
        }
        let jerk = if options.jerk_limited {
            Some(limits.jerk.as_ref().ok_or_else(|| {
                TrajectoryError::invalid("jerk_limited", "the limits have no jerk limits")
            })?)
        } else {
            None
        };
        check_waypoints(waypoints, limits)?;
        let mut points: Vec<&[f64]> = Vec::with_capacity(waypoints.len());
        for w in waypoints {
            if points
                .last()
                .is_some_and(|p| p.iter().zip(w).all(|(a, b)| (a - b).abs() < 1e-12))
            {
                continue;
            }
            points.push(w);
        }
        if !(options.max_deviation.is_finite() && options.max_deviation >= 0.0) {
            return Err(TrajectoryError::invalid(
                "max_deviation",
                format!(
                    "{} rad is not a finite non-negative deviation",
                    options.max_deviation
                ),
            ));
        }
        let mut profiles = Vec::with_capacity(points.len());
        let mut starts = Vec::with_capacity(points.len());
        let mut t = 0.0;
        for w in points.windows(2) {
            // scalar s in [0, 1]: joint i moves delta_i * s
            let (mut v, mut a, mut j) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
            for i in 0..n {
                let d = (w[1][i] - w[0][i]).abs();
                if d > 0.0 {
                    v = v.min(limits.velocity[i] / d);
                    a = a.min(limits.acceleration[i] / d);
                    if let Some(js) = jerk {
                        j = j.min(js[i] / d);
                    }
                }
            }
            let profile = match jerk {
                Some(_) => ScalarProfile::double_s(1.0, v, a, j)?,
                None => ScalarProfile::trapezoidal(1.0, v, a)?,
            };
            starts.push(t);
            t += profile.duration();
            profiles.push(profile);
        }
        let mut traj = Self {
            dof: n,
            waypoints: points.concat(),
            profiles,
            starts,
            duration: t,
        };
        if options.max_deviation > 0.0 {
            traj.blend(limits, options.max_deviation);
        }
        Ok(traj)
    }

    /// Overlaps every pair of consecutive segments as far as the limits and the deviation
    /// allow, left to right, shifting the later segments earlier.
    fn blend(&mut self, limits: &Limits, max_deviation: f64) {
        for k in 0..self.profiles.len().saturating_sub(1) {
            let longest = self.profiles[k]
                .ramp_duration()
                .min(self.profiles[k + 1].ramp_duration());
            // the longest overlap that fits, from the full ramp down in twelfths (halving
            // would soon overlap only the two final jerk phases, which add for a joint moving
            // the same way in both segments)
            let mut accepted = 0.0;
            for m in 0..OVERLAP_CANDIDATES {
                let overlap = longest * (1.0 - m as f64 / OVERLAP_CANDIDATES as f64);
                if overlap > 0.0 && self.overlap_fits(k, overlap, limits, max_deviation) {
                    accepted = overlap;
                    break;
                }
            }
            if accepted > 0.0 {
                for s in &mut self.starts[k + 1..] {
                    *s -= accepted;
                }
            }
        }
        self.duration = self
            .starts
            .last()
            .zip(self.profiles.last())
            .map_or(0.0, |(s, p)| s + p.duration());
    }

    /// Whether segments `k` and `k + 1` overlapping by `overlap` seconds keep every joint
    /// within its velocity, acceleration and jerk limits and the path within
    /// `max_deviation` of the two segments.
    ///
    /// The limits are checked exactly: between the phase ends of the two profiles the summed
    /// jerk is constant, so the acceleration is linear (extremes at the pieces' ends) and the
    /// velocity quadratic (extremes at the ends or where the acceleration crosses zero). The
    /// deviation is checked at `OVERLAP_CHECKS` instants (the blends are collision-checked
    /// separately, so this bound is about shape, not safety).
    fn overlap_fits(&self, k: usize, overlap: f64, limits: &Limits, max_deviation: f64) -> bool {
        let n = self.dof;
        let (first, second) = (&self.profiles[k], &self.profiles[k + 1]);
        let begin = first.duration() - overlap;
        let a = &self.waypoints[k * n..(k + 1) * n];
        let corner = &self.waypoints[(k + 1) * n..(k + 2) * n];
        let b = &self.waypoints[(k + 2) * n..(k + 3) * n];
        // breakpoints in overlap time τ ∈ [0, overlap]
        let mut cuts: Vec<f64> = first
            .phase_ends()
            .map(|t| t - begin)
            .chain(second.phase_ends())
            .filter(|&t| t > 0.0 && t < overlap)
            .chain([0.0, overlap])
            .collect();
        cuts.sort_by(f64::total_cmp);
        let state = |tau: f64, i: usize| {
            let (_, v1, a1) = first.evaluate(begin + tau);
            let (_, v2, a2) = second.evaluate(tau);
            let (d1, d2) = (corner[i] - a[i], b[i] - corner[i]);
            (d1 * v1 + d2 * v2, d1 * a1 + d2 * a2)
        };
        let within = |x: f64, limit: f64| x.abs() <= limit * (1.0 + 1e-9);
        for w in cuts.windows(2) {
            let (ta, tb) = (w[0], w[1]);
            if tb - ta < 1e-12 {
                continue;
            }
            for i in 0..n {
                let (va, aa) = state(ta, i);
                let (vb, ab) = state(tb, i);
                if !within(va, limits.velocity[i])
                    || !within(vb, limits.velocity[i])
                    || !within(aa, limits.acceleration[i])
                    || !within(ab, limits.acceleration[i])
                {
                    return false;
                }
                if let Some(jerk) = &limits.jerk
                    && !within((ab - aa) / (tb - ta), jerk[i])
                {
                    return false;
                }
                if aa * ab < 0.0 {
                    // velocity extreme inside the piece
                    let root = ta + (tb - ta) * aa / (aa - ab);
                    if !within(state(root, i).0, limits.velocity[i]) {
                        return false;
                    }
                }
            }
        }
        let mut position = vec![0.0; n];
        for m in 0..=OVERLAP_CHECKS {
            let tau = overlap * m as f64 / OVERLAP_CHECKS as f64;
            let (s1, _, _) = first.evaluate(begin + tau);
            let (s2, _, _) = second.evaluate(tau);
            for i in 0..n {
                position[i] = corner[i] + (corner[i] - a[i]) * (s1 - 1.0) + (b[i] - corner[i]) * s2;
            }
            let off = distance_to_segment(&position, a, corner)
                .min(distance_to_segment(&position, corner, b));
            if off > max_deviation {
                return false;
            }
        }
        true
    }

    /// Time windows `(start, end)` in seconds where the trajectory leaves the straight
    /// segments (the overlaps of blended waypoints); empty without blending.
    pub fn blend_windows(&self) -> Vec<(f64, f64)> {
        (1..self.starts.len())
            .filter_map(|k| {
                let end_of_previous = self.starts[k - 1] + self.profiles[k - 1].duration();
                (end_of_previous > self.starts[k] + 1e-12)
                    .then_some((self.starts[k], end_of_previous))
            })
            .collect()
    }

    /// Total duration, s.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.dof
    }

    /// Position, velocity and acceleration at time `t` (clamped to [0, duration]) into the
    /// caller's buffers (each at least `dof` long; shorter buffers are left untouched).
    /// No allocation.
    pub fn evaluate(&self, t: f64, q: &mut [f64], qd: &mut [f64], qdd: &mut [f64]) {
        let n = self.dof;
        if q.len() < n || qd.len() < n || qdd.len() < n {
            return;
        }
        if self.profiles.is_empty() || t >= self.duration {
            let last = self.waypoints.len() - n;
            q[..n].copy_from_slice(&self.waypoints[last..]);
            qd[..n].fill(0.0);
            qdd[..n].fill(0.0);
            return;
        }
        let k = match self.starts.binary_search_by(|s| s.total_cmp(&t)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let (s, sd, sdd) = self.profiles[k].evaluate(t - self.starts[k]);
        let a = &self.waypoints[k * n..(k + 1) * n];
        let b = &self.waypoints[(k + 1) * n..(k + 2) * n];
        for i in 0..n {
            let d = b[i] - a[i];
            q[i] = if s >= 1.0 { b[i] } else { a[i] + d * s };
            qd[i] = d * sd;
            qdd[i] = d * sdd;
        }
        // a blend: the previous segment is still finishing
        if k > 0 && t < self.starts[k - 1] + self.profiles[k - 1].duration() {
            let (s, sd, sdd) = self.profiles[k - 1].evaluate(t - self.starts[k - 1]);
            let before = &self.waypoints[(k - 1) * n..k * n];
            for i in 0..n {
                let d = a[i] - before[i];
                q[i] += d * (s - 1.0);
                qd[i] += d * sd;
                qdd[i] += d * sdd;
            }
        }
    }

    /// Samples every `period` seconds from 0, plus the exact final point, at most
    /// [`MAX_SAMPLES`](crate::MAX_SAMPLES) samples. A zero-length trajectory (one waypoint)
    /// is held for one period ([`SampledTrajectory::hold`]): two samples at rest, so that a
    /// motion to where the robot already is can be executed.
    pub fn sample(&self, period: f64) -> Result<SampledTrajectory> {
        self.sample_at_most(period, crate::MAX_SAMPLES)
    }

    /// [`SegmentedTrajectory::sample`] into at most `max_samples` samples (refused with
    /// [`TrajectoryError::TooManySamples`] before anything is allocated).
    pub fn sample_at_most(&self, period: f64, max_samples: usize) -> Result<SampledTrajectory> {
        if self.profiles.is_empty() {
            crate::check_size(period, period, max_samples)?;
            return SampledTrajectory::hold(&self.waypoints[..self.dof], period);
        }
        SampledTrajectory::from_fn_at_most(
            self.dof,
            self.duration,
            period,
            max_samples,
            |t, q, qd, qdd| self.evaluate(t, q, qd, qdd),
        )
    }
}

/// Euclidean distance from `p` to the segment `a`–`b`.
fn distance_to_segment(p: &[f64], a: &[f64], b: &[f64]) -> f64 {
    let (mut dot, mut len2) = (0.0, 0.0);
    for i in 0..p.len() {
        dot += (p[i] - a[i]) * (b[i] - a[i]);
        len2 += (b[i] - a[i]) * (b[i] - a[i]);
    }
    let t = if len2 > 0.0 {
        (dot / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (0..p.len())
        .map(|i| (p[i] - a[i] - t * (b[i] - a[i])).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Checks that every waypoint has `limits.dof()` finite values within the position limits,
/// naming the waypoint and the joint otherwise.
pub(crate) fn check_waypoints(waypoints: &[Vec<f64>], limits: &Limits) -> Result<()> {
    let n = limits.dof();
    for (k, w) in waypoints.iter().enumerate() {
        if w.len() != n {
            return Err(TrajectoryError::invalid(
                format!("path[{k}]"),
                format!("{} values for {n} joints", w.len()),
            ));
        }
        for (i, &v) in w.iter().enumerate() {
            if !v.is_finite() {
                return Err(TrajectoryError::invalid(
                    format!("path[{k}]"),
                    format!("joint '{}' = {v} is not finite", limits.names[i]),
                ));
            }
            if v < limits.lower[i] - 1e-9 || v > limits.upper[i] + 1e-9 {
                return Err(TrajectoryError::invalid(
                    format!("path[{k}]"),
                    format!(
                        "joint '{}' = {v} is outside [{}, {}]",
                        limits.names[i], limits.lower[i], limits.upper[i]
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(n: usize) -> Limits {
        Limits {
            names: (0..n).map(|i| format!("j{i}")).collect(),
            lower: vec![-3.0; n],
            upper: vec![3.0; n],
            velocity: vec![2.0; n],
            acceleration: vec![4.0; n],
            jerk: Some(vec![40.0; n]),
        }
    }

    #[test]
    fn a_single_waypoint_samples_to_an_executable_hold() {
        let l = limits(3);
        let at = vec![0.1, 0.2, 0.3];
        let options = SegmentOptions {
            jerk_limited: true,
            max_deviation: 0.0,
        };
        for path in [vec![at.clone()], vec![at.clone(), at.clone()]] {
            let t = SegmentedTrajectory::new(&path, &l, &options).unwrap();
            assert_eq!(t.duration(), 0.0);
            let s = t.sample(0.004).unwrap();
            assert_eq!(s.times, [0.0, 0.004]);
            assert_eq!(s.q_at(0), &at[..]);
            assert_eq!(s.q_at(1), &at[..]);
            crate::validate(&s, &l, 1e-6).unwrap();
        }
    }

    #[test]
    fn scaled_to_nearly_nothing_the_motion_is_refused_before_sampling() {
        // the velocity_scale = 1e-9 and 1e-5: 1.5 rad at 2e-9 rad/s
        let path = [vec![0.0; 6], vec![1.5; 6]];
        let options = SegmentOptions {
            jerk_limited: true,
            max_deviation: 0.0,
        };
        for scale in [1e-9, 1e-5] {
            let l = limits(6).scaled(scale, 1.0).unwrap();
            let t = SegmentedTrajectory::new(&path, &l, &options).unwrap();
            assert!(t.duration() > crate::MAX_DURATION);
            let e = t.sample(0.004).unwrap_err();
            assert!(matches!(e, TrajectoryError::TooLong { .. }), "{e}");
        }
        // 1e-3 lasts 750 s: within the hour, but 1.5 million samples at 0.5 ms
        let l = limits(6).scaled(1e-3, 1.0).unwrap();
        let t = SegmentedTrajectory::new(&path, &l, &options).unwrap();
        let e = t.sample(0.0005).unwrap_err();
        assert!(matches!(e, TrajectoryError::TooManySamples { .. }), "{e}");
        // and a caller's tighter bound is kept
        let l = limits(6);
        let t = SegmentedTrajectory::new(&path, &l, &options).unwrap();
        let n = t.sample(0.004).unwrap().len();
        assert!(t.sample_at_most(0.004, n).is_ok());
        assert!(matches!(
            t.sample_at_most(0.004, n - 1),
            Err(TrajectoryError::TooManySamples { .. })
        ));
    }
}
