//! The validator every trajectory passes before it leaves the service: finite values, strictly
//! increasing time, positions within limits, velocities and accelerations within limits (the
//! stored values and the finite differences between samples), jerk within limits where set
//! (finite differences of acceleration), and continuity (positions consistent with the stored
//! velocities).

use crate::limits::Limits;
use crate::sampled::SampledTrajectory;

/// Why a trajectory is rejected: the sample, the joint, the quantity and the values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "sample {sample} (t = {time:.4} s), joint '{joint}': {what} = {value:.6} exceeds {limit:.6}"
)]
pub struct ValidationError {
    /// Sample index.
    pub sample: usize,
    /// Sample time, s.
    pub time: f64,
    /// Joint name ("time" for time errors).
    pub joint: String,
    /// Quantity: position, velocity, acceleration, jerk, time, finite, continuity.
    pub what: String,
    /// The offending value.
    pub value: f64,
    /// The limit it breaks.
    pub limit: f64,
}

/// Checks `traj` against `limits` with relative tolerance `tolerance` (e.g. 1e-6) on
/// velocity, acceleration and jerk and an absolute 1e-9 on positions. Finite differences are
/// allowed the limit plus the error of the difference scheme for the limits of the next
/// derivative (a trajectory within its jerk limit has acceleration differences within it).
pub fn validate(
    traj: &SampledTrajectory,
    limits: &Limits,
    tolerance: f64,
) -> Result<(), ValidationError> {
    let n = limits.dof();
    let err = |k: usize, i: usize, what: &str, value: f64, limit: f64| ValidationError {
        sample: k,
        time: traj.times.get(k).copied().unwrap_or(f64::NAN),
        joint: if i < n {
            limits.names[i].clone()
        } else {
            "time".into()
        },
        what: what.into(),
        value,
        limit,
    };
    if traj.dof != n
        || traj.q.len() != traj.times.len() * n
        || traj.qd.len() != traj.q.len()
        || traj.qdd.len() != traj.q.len()
    {
        return Err(err(0, n, "dimensions", traj.dof as f64, n as f64));
    }
    if traj.is_empty() {
        return Err(err(0, n, "samples", 0.0, 1.0));
    }
    let relax = 1.0 + tolerance;
    for k in 0..traj.len() {
        let t = traj.times[k];
        if !t.is_finite() {
            return Err(err(k, n, "finite", t, 0.0));
        }
        if k > 0 && t <= traj.times[k - 1] {
            return Err(err(k, n, "time", t, traj.times[k - 1]));
        }
        let (q, qd, qdd) = (traj.q_at(k), traj.qd_at(k), traj.qdd_at(k));
        for i in 0..n {
            for (what, v) in [("finite", q[i]), ("finite", qd[i]), ("finite", qdd[i])] {
                if !v.is_finite() {
                    return Err(err(k, i, what, v, 0.0));
                }
            }
            if q[i] < limits.lower[i] - 1e-9 {
                return Err(err(k, i, "position", q[i], limits.lower[i]));
            }
            if q[i] > limits.upper[i] + 1e-9 {
                return Err(err(k, i, "position", q[i], limits.upper[i]));
            }
            if qd[i].abs() > limits.velocity[i] * relax {
                return Err(err(k, i, "velocity", qd[i], limits.velocity[i]));
            }
            if qdd[i].abs() > limits.acceleration[i] * relax {
                return Err(err(k, i, "acceleration", qdd[i], limits.acceleration[i]));
            }
        }
        if k == 0 {
            continue;
        }
        let dt = t - traj.times[k - 1];
        // one division per interval, not three per joint
        let per_dt = 1.0 / dt;
        let (q0, qd0, qdd0) = (traj.q_at(k - 1), traj.qd_at(k - 1), traj.qdd_at(k - 1));
        for i in 0..n {
            // mean velocity over the interval: within the velocity limit
            let v = (q[i] - q0[i]) * per_dt;
            if v.abs() > limits.velocity[i] * relax + 1e-9 {
                return Err(err(
                    k,
                    i,
                    "velocity (finite difference)",
                    v,
                    limits.velocity[i],
                ));
            }
            // continuity: the position change matches the stored velocities and accelerations
            // (trapezoidal rule, error ≤ amax·dt²/2 + jerk term)
            let predicted = 0.5 * (qd[i] + qd0[i]) * dt;
            let slack = limits.acceleration[i] * dt * dt + 1e-9;
            if (q[i] - q0[i] - predicted).abs() > slack {
                return Err(err(k, i, "continuity", q[i] - q0[i], predicted));
            }
            let a = (qd[i] - qd0[i]) * per_dt;
            if a.abs() > limits.acceleration[i] * relax + 1e-9 {
                return Err(err(
                    k,
                    i,
                    "acceleration (finite difference)",
                    a,
                    limits.acceleration[i],
                ));
            }
            if let Some(j) = &limits.jerk {
                let jerk = (qdd[i] - qdd0[i]) * per_dt;
                if jerk.abs() > j[i] * relax + 1e-9 {
                    return Err(err(k, i, "jerk (finite difference)", jerk, j[i]));
                }
            }
        }
    }
    Ok(())
}
