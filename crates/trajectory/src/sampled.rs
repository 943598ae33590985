//! A trajectory sampled at a control period: times and, per sample, positions, velocities and
//! accelerations (flat row-major storage).

use crate::error::{Result, TrajectoryError};

/// Samples of a trajectory: `times[k]` (s) with `q`, `qd`, `qdd` rows of `dof` values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SampledTrajectory {
    /// Number of joints.
    pub dof: usize,
    /// Sample times, s, strictly increasing from 0.
    pub times: Vec<f64>,
    /// Positions, row-major (`times.len() × dof`).
    pub q: Vec<f64>,
    /// Velocities, row-major.
    pub qd: Vec<f64>,
    /// Accelerations, row-major.
    pub qdd: Vec<f64>,
}

impl SampledTrajectory {
    /// Samples `f(t, q, qd, qdd)` at `0, period, 2·period, ...` and exactly at `duration`
    /// (a last tick closer than 1e-9 s to the end is replaced by the end).
    pub fn from_fn(
        dof: usize,
        duration: f64,
        period: f64,
        mut f: impl FnMut(f64, &mut [f64], &mut [f64], &mut [f64]),
    ) -> Result<Self> {
        if !(period.is_finite() && period > 0.0) {
            return Err(TrajectoryError::invalid(
                "period",
                format!("{period} s is not a positive period"),
            ));
        }
        if !(duration.is_finite() && duration >= 0.0) {
            return Err(TrajectoryError::invalid(
                "duration",
                format!("{duration} s is not a finite duration"),
            ));
        }
        let ticks = (duration / period).floor() as usize;
        if ticks > 50_000_000 / dof.max(1) {
            return Err(TrajectoryError::invalid(
                "period",
                format!("{ticks} samples of {duration} s at {period} s is too many"),
            ));
        }
        let mut out = Self {
            dof,
            times: Vec::with_capacity(ticks + 2),
            q: Vec::with_capacity((ticks + 2) * dof),
            qd: Vec::with_capacity((ticks + 2) * dof),
            qdd: Vec::with_capacity((ticks + 2) * dof),
        };
        let (mut q, mut qd, mut qdd) = (vec![0.0; dof], vec![0.0; dof], vec![0.0; dof]);
        for k in 0..=ticks + 1 {
            let mut t = k as f64 * period;
            if t > duration - 1e-9 {
                t = duration;
            }
            if out.times.last().is_some_and(|&last| t <= last) {
                break;
            }
            f(t, &mut q, &mut qd, &mut qdd);
            out.times.push(t);
            out.q.extend_from_slice(&q);
            out.qd.extend_from_slice(&qd);
            out.qdd.extend_from_slice(&qdd);
            if t >= duration {
                break;
            }
        }
        Ok(out)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Positions of sample `k`.
    pub fn q_at(&self, k: usize) -> &[f64] {
        &self.q[k * self.dof..(k + 1) * self.dof]
    }

    /// Velocities of sample `k`.
    pub fn qd_at(&self, k: usize) -> &[f64] {
        &self.qd[k * self.dof..(k + 1) * self.dof]
    }

    /// Accelerations of sample `k`.
    pub fn qdd_at(&self, k: usize) -> &[f64] {
        &self.qdd[k * self.dof..(k + 1) * self.dof]
    }

    /// Duration, s.
    pub fn duration(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }
}
