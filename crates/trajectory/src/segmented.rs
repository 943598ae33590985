//! Trajectories through joint waypoints as a chain of straight joint-space segments, each a
//! phase-synchronized rest-to-rest profile: every joint starts and stops together, as an
//! industrial PTP motion does, and the arm follows the straight segment exactly (so a path
//! checked for collision segment by segment stays checked). Each segment is time-optimal for
//! its straight line under the joint limits.

use crate::error::{Result, TrajectoryError};
use crate::limits::Limits;
use crate::profile::ScalarProfile;
use crate::sampled::SampledTrajectory;

/// Options for [`SegmentedTrajectory::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentOptions {
    /// Use jerk-limited double-S profiles (needs jerk limits).
    pub jerk_limited: bool,
}

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
        Ok(Self {
            dof: n,
            waypoints: points.concat(),
            profiles,
            starts,
            duration: t,
        })
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
    }

    /// Samples every `period` seconds from 0, plus the exact final point.
    pub fn sample(&self, period: f64) -> Result<SampledTrajectory> {
        SampledTrajectory::from_fn(self.dof, self.duration, period, |t, q, qd, qdd| {
            self.evaluate(t, q, qd, qdd)
        })
    }
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
