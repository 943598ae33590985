//! A trajectory ready to execute: its samples joined by quintic Hermite pieces (position,
//! velocity and acceleration of every sample matched, so the executed motion is C² and passes
//! exactly through the planned samples), evaluated at any path time with its first three
//! derivatives without allocating.

use crate::driver::JointVector;
use crate::error::{ControlError, Result};
use cella_kinematics::MAX_DOF;
use cella_trajectory::SampledTrajectory;

/// Position and its first three derivatives with respect to path time, per joint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathPoint {
    /// q(τ).
    pub q: JointVector,
    /// dq/dτ.
    pub d1: JointVector,
    /// d²q/dτ².
    pub d2: JointVector,
    /// d³q/dτ³.
    pub d3: JointVector,
}

impl PathPoint {
    /// Zeros for `dof` joints.
    pub fn zeros(dof: usize) -> Self {
        let z = JointVector::zeros(dof);
        Self {
            q: z,
            d1: z,
            d2: z,
            d3: z,
        }
    }
}

/// An executable trajectory (path time τ from 0 to [`ExecTrajectory::duration`], s).
#[derive(Debug, Clone)]
pub struct ExecTrajectory {
    dof: usize,
    times: Vec<f64>,
    /// `coefficients[k * dof + j]`: the quintic of joint `j` on piece `k`, in local time.
    coefficients: Vec<[f64; 6]>,
    samples: SampledTrajectory,
}

impl ExecTrajectory {
    /// Builds the pieces of `samples` (at least two samples, strictly increasing times from 0,
    /// finite values, at most [`MAX_DOF`] joints).
    pub fn new(samples: SampledTrajectory) -> Result<Self> {
        let dof = samples.dof;
        let n = samples.times.len();
        if dof == 0 || dof > MAX_DOF {
            return Err(ControlError::invalid(
                "trajectory",
                format!("{dof} joints (1..={MAX_DOF} supported)"),
            ));
        }
        if n < 2 {
            return Err(ControlError::invalid(
                "trajectory.points",
                format!("{n} points: at least two are needed"),
            ));
        }
        if samples.q.len() != n * dof || samples.qd.len() != n * dof || samples.qdd.len() != n * dof
        {
            return Err(ControlError::invalid(
                "trajectory.points",
                "q, qd, qdd sizes do not match the points",
            ));
        }
        if samples.times[0] != 0.0 {
            return Err(ControlError::invalid(
                "trajectory.points[0].t",
                format!("{} s: a trajectory starts at t = 0", samples.times[0]),
            ));
        }
        for k in 1..n {
            let h = samples.times[k] - samples.times[k - 1];
            if !(h.is_finite() && h > 1e-9) {
                return Err(ControlError::invalid(
                    format!("trajectory.points[{k}].t"),
                    "times must increase strictly",
                ));
            }
        }
        if let Some(i) = samples
            .q
            .iter()
            .chain(&samples.qd)
            .chain(&samples.qdd)
            .position(|v| !v.is_finite())
        {
            return Err(ControlError::invalid(
                format!("trajectory.points[{}]", (i % (n * dof)) / dof),
                "values must be finite",
            ));
        }
        let mut coefficients = Vec::with_capacity((n - 1) * dof);
        for k in 0..n - 1 {
            let h = samples.times[k + 1] - samples.times[k];
            for j in 0..dof {
                let (a, b) = (k * dof + j, (k + 1) * dof + j);
                coefficients.push(quintic(
                    [samples.q[a], samples.qd[a], samples.qdd[a]],
                    [samples.q[b], samples.qd[b], samples.qdd[b]],
                    h,
                ));
            }
        }
        Ok(Self {
            dof,
            times: samples.times.clone(),
            coefficients,
            samples,
        })
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.dof
    }

    /// Duration at full speed, s.
    pub fn duration(&self) -> f64 {
        self.times[self.times.len() - 1]
    }

    /// The samples it was built from.
    pub fn samples(&self) -> &SampledTrajectory {
        &self.samples
    }

    /// First positions.
    pub fn start(&self) -> &[f64] {
        self.samples.q_at(0)
    }

    /// First velocities.
    pub fn start_velocity(&self) -> &[f64] {
        self.samples.qd_at(0)
    }

    /// Last positions.
    pub fn end(&self) -> &[f64] {
        self.samples.q_at(self.times.len() - 1)
    }

    /// Index of the sample at or before `tau`, starting the search at `hint` (the executor's
    /// cursor: path time only moves forward, so this is O(1) per cycle).
    pub fn piece(&self, tau: f64, hint: usize) -> usize {
        let last = self.times.len() - 2;
        let mut k = hint.min(last);
        if self.times[k] > tau {
            k = self.times.partition_point(|&t| t <= tau).saturating_sub(1);
        }
        while k < last && self.times[k + 1] <= tau {
            k += 1;
        }
        k
    }

    /// Evaluates the path at `tau` (clamped to [0, duration]) into `out`; returns the piece
    /// index to use as the next `hint`.
    pub fn evaluate(&self, tau: f64, hint: usize, out: &mut PathPoint) -> usize {
        let tau = tau.clamp(0.0, self.duration());
        let k = self.piece(tau, hint);
        let t = tau - self.times[k];
        let row = &self.coefficients[k * self.dof..(k + 1) * self.dof];
        for (j, c) in row.iter().enumerate() {
            out.q.as_mut_slice()[j] =
                c[0] + t * (c[1] + t * (c[2] + t * (c[3] + t * (c[4] + t * c[5]))));
            out.d1.as_mut_slice()[j] =
                c[1] + t * (2.0 * c[2] + t * (3.0 * c[3] + t * (4.0 * c[4] + t * 5.0 * c[5])));
            out.d2.as_mut_slice()[j] =
                2.0 * c[2] + t * (6.0 * c[3] + t * (12.0 * c[4] + t * 20.0 * c[5]));
            out.d3.as_mut_slice()[j] = 6.0 * c[3] + t * (24.0 * c[4] + t * 60.0 * c[5]);
        }
        k
    }
}

/// Coefficients (ascending powers of local time) of the quintic through `(p, v, a)` at 0 and
/// at `h`.
fn quintic(start: [f64; 3], end: [f64; 3], h: f64) -> [f64; 6] {
    let [p0, v0, a0] = start;
    let [p1, v1, a1] = end;
    // remaining position, velocity and acceleration the cubic-to-quintic terms must supply
    let p = p1 - p0 - v0 * h - 0.5 * a0 * h * h;
    let v = (v1 - v0 - a0 * h) * h;
    let a = (a1 - a0) * h * h;
    let h3 = h * h * h;
    [
        p0,
        v0,
        0.5 * a0,
        (10.0 * p - 4.0 * v + 0.5 * a) / h3,
        (-15.0 * p + 7.0 * v - a) / (h3 * h),
        (6.0 * p - 3.0 * v + 0.5 * a) / (h3 * h * h),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(f: impl Fn(f64) -> [f64; 3], duration: f64, period: f64) -> SampledTrajectory {
        SampledTrajectory::from_fn(1, duration, period, |t, q, qd, qdd| {
            let [p, v, a] = f(t);
            q[0] = p;
            qd[0] = v;
            qdd[0] = a;
        })
        .expect("samples")
    }

    #[test]
    fn reproduces_a_quintic_exactly_and_matches_every_sample() {
        // a quintic in t is reproduced exactly by quintic Hermite pieces
        let f = |t: f64| {
            [
                0.3 + 0.2 * t - 0.5 * t.powi(3) + 0.1 * t.powi(5),
                0.2 - 1.5 * t * t + 0.5 * t.powi(4),
                -3.0 * t + 2.0 * t.powi(3),
            ]
        };
        let traj = ExecTrajectory::new(sampled(f, 1.3, 0.1)).expect("trajectory");
        let mut p = PathPoint::zeros(1);
        let mut hint = 0;
        for i in 0..=1300 {
            let t = i as f64 * 1e-3;
            hint = traj.evaluate(t, hint, &mut p);
            let [q, v, a] = f(t);
            assert!((p.q.as_slice()[0] - q).abs() < 1e-12, "q at {t}");
            assert!((p.d1.as_slice()[0] - v).abs() < 1e-10, "v at {t}");
            assert!((p.d2.as_slice()[0] - a).abs() < 1e-8, "a at {t}");
            assert!(
                (p.d3.as_slice()[0] - (-3.0 + 6.0 * t * t)).abs() < 1e-6,
                "j at {t}"
            );
        }
    }

    #[test]
    fn hint_from_anywhere_finds_the_piece() {
        let traj = ExecTrajectory::new(sampled(|t| [t.sin(), t.cos(), -t.sin()], 2.0, 0.004))
            .expect("trajectory");
        let mut p = PathPoint::zeros(1);
        for (tau, hint) in [(1.0, 0), (0.5, 400), (1.999, 3), (2.5, 0), (-1.0, 100)] {
            traj.evaluate(tau, hint, &mut p);
            let t = f64::clamp(tau, 0.0, 2.0);
            assert!((p.q.as_slice()[0] - t.sin()).abs() < 1e-9, "tau {tau}");
        }
    }

    #[test]
    fn rejects_malformed_samples() {
        let mut s = sampled(|t| [t, 1.0, 0.0], 1.0, 0.1);
        s.times[3] = s.times[2];
        assert!(matches!(
            ExecTrajectory::new(s),
            Err(ControlError::Invalid { field, .. }) if field == "trajectory.points[3].t"
        ));
        let mut s = sampled(|t| [t, 1.0, 0.0], 1.0, 0.1);
        s.qd[4] = f64::NAN;
        assert!(matches!(
            ExecTrajectory::new(s),
            Err(ControlError::Invalid { field, .. }) if field == "trajectory.points[4]"
        ));
        let s = sampled(|t| [t, 1.0, 0.0], 0.0, 0.1);
        assert!(ExecTrajectory::new(s).is_err());
    }
}
