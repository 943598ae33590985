//! Jogging: joint or Cartesian TCP velocity commands that expire without a fresh command
//! within a deadman time. Velocity changes are acceleration-limited and joint-synchronized (all
//! joints change velocity along one direction, so a Cartesian jog keeps its direction while it
//! speeds up or brakes); joints brake before their position limits; every cycle the state the
//! robot would stop at (braking from the new velocity) is collision-checked, and when it is
//! not free the robot brakes instead (from the previous velocity, whose stop state was checked
//! free the cycle before).

use crate::driver::JointVector;
use cella_kinematics::{Chain, MAX_DOF};
use cella_trajectory::Limits;
use nalgebra::{Matrix6, Vector6};

/// What a jog command asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JogTarget {
    /// Joint velocities (rad/s or m/s), robot joint order.
    Joints(JointVector),
    /// TCP velocity in the robot base frame: linear (m/s) then angular (rad/s).
    Twist([f64; 6]),
}

/// Damping of the least-squares inverse near singularities, (m or rad)².
const DAMPING: f64 = 1e-4;
/// Joints stop this far from a position limit, rad or m.
const LIMIT_MARGIN: f64 = 1e-3;

/// Per-cycle jog state.
#[derive(Debug, Clone)]
pub struct Jog {
    /// Current joint velocities.
    pub velocity: JointVector,
    jacobian: [[f64; 6]; MAX_DOF],
}

impl Jog {
    /// At rest, for `dof` joints.
    pub fn new(dof: usize) -> Self {
        Self {
            velocity: JointVector::zeros(dof),
            jacobian: [[0.0; 6]; MAX_DOF],
        }
    }

    /// Joint velocities for `target` at `q`, scaled (direction kept) so no joint exceeds
    /// `speed_fraction` of its velocity limit, and capped near position limits so each joint
    /// can brake before its limit.
    pub fn target_velocity(
        &mut self,
        target: &JogTarget,
        chain: &Chain,
        q: &[f64],
        limits: &Limits,
        speed_fraction: f64,
        out: &mut JointVector,
    ) {
        let dof = out.dof();
        match target {
            JogTarget::Joints(v) => out.as_mut_slice().copy_from_slice(v.as_slice()),
            JogTarget::Twist(xi) => {
                if chain.jacobian(q, &mut self.jacobian[..dof]).is_err() {
                    out.as_mut_slice().fill(0.0);
                    return;
                }
                // q̇ = Jᵀ (J Jᵀ + λ² I)⁻¹ ξ
                let mut jjt = Matrix6::<f64>::identity() * DAMPING;
                for col in &self.jacobian[..dof] {
                    for r in 0..6 {
                        for c in 0..6 {
                            jjt[(r, c)] += col[r] * col[c];
                        }
                    }
                }
                let y = jjt
                    .cholesky()
                    .map(|ch| ch.solve(&Vector6::from_column_slice(xi)))
                    .unwrap_or_else(Vector6::zeros);
                for (o, col) in out.as_mut_slice().iter_mut().zip(&self.jacobian[..dof]) {
                    *o = (0..6).map(|r| col[r] * y[r]).sum();
                }
            }
        }
        let mut scale: f64 = 1.0;
        for (j, v) in out.as_slice().iter().enumerate() {
            let cap = speed_fraction * limits.velocity[j];
            if v.abs() > cap {
                scale = scale.min(cap / v.abs());
            }
        }
        for (j, v) in out.as_mut_slice().iter_mut().enumerate() {
            *v *= scale;
            // brake before the position limits
            let room = if *v > 0.0 {
                limits.upper[j] - LIMIT_MARGIN - q[j]
            } else {
                q[j] - (limits.lower[j] + LIMIT_MARGIN)
            };
            let cap = (2.0 * limits.acceleration[j] * room.max(0.0)).sqrt();
            if v.abs() > cap {
                *v = v.signum() * cap;
            }
        }
    }

    /// The velocity after one period moving from the current velocity towards `target` with
    /// the joint accelerations within limits, all joints changing in proportion.
    pub fn next_velocity(&self, target: &JointVector, limits: &Limits, dt: f64) -> JointVector {
        let mut f: f64 = 1.0;
        for (j, (t, v)) in target
            .as_slice()
            .iter()
            .zip(self.velocity.as_slice())
            .enumerate()
        {
            let change = (t - v).abs();
            let allowed = limits.acceleration[j] * dt;
            if change > allowed {
                f = f.min(allowed / change);
            }
        }
        let mut out = self.velocity;
        for (o, t) in out.as_mut_slice().iter_mut().zip(target.as_slice()) {
            *o += f * (t - *o);
        }
        out
    }

    /// Where the robot comes to rest from `q` braking from `velocity` as the control loop
    /// brakes it: every period of `dt` seconds [`Jog::next_velocity`] towards zero (all joints
    /// in proportion, the first to reach its acceleration limit setting the pace), positions
    /// integrated by the trapezoid rule. The velocity scale falls by `c = dt · min_j a_j / |v_j|`
    /// per period to zero, so the robot travels `v · dt · (1/2 + (N − 1) − c·N·(N − 1)/2)`
    /// with `N = ⌈1/c⌉` periods: up to `a·dt²/8` per joint more than the continuous
    /// `v·T/2` (`T = max |v_j| / a_j`), which a guard must not leave out. `dt = 0`: the
    /// continuous stop.
    pub fn stop_state(
        q: &[f64],
        velocity: &JointVector,
        limits: &Limits,
        dt: f64,
        out: &mut [f64],
    ) {
        // the time to stop at the limits, s
        let t = velocity
            .as_slice()
            .iter()
            .zip(&limits.acceleration)
            .map(|(v, a)| v.abs() / a)
            .fold(0.0, f64::max);
        let travel = if t == 0.0 {
            0.0
        } else if dt > 0.0 {
            let c = dt / t;
            let n = (1.0 / c).ceil();
            dt * (0.5 + (n - 1.0) - 0.5 * c * n * (n - 1.0))
        } else {
            0.5 * t
        };
        for ((o, q), v) in out.iter_mut().zip(q).zip(velocity.as_slice()) {
            *o = q + v * travel;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cella_kinematics::Rng;

    fn limits(acceleration: Vec<f64>) -> Limits {
        let n = acceleration.len();
        Limits {
            names: (0..n).map(|i| format!("j{i}")).collect(),
            lower: vec![-100.0; n],
            upper: vec![100.0; n],
            velocity: vec![10.0; n],
            acceleration,
            jerk: None,
        }
    }

    /// The stop state is where the control loop's own braking ends (velocity stepped towards
    /// zero with [`Jog::next_velocity`] every period, positions by the trapezoid rule), to
    /// 1e-12 rad, over random velocities (from a crawl to several times `a·dt`, so braking
    /// takes one period or hundreds) and limits; the continuous stop falls short by up to
    /// `a·dt²/8`, so a guard checking it could let the robot come to rest beyond a free state.
    #[test]
    fn the_stop_state_is_where_the_loop_brakes_to() {
        let mut rng = Rng::new(3);
        let dt = 0.004;
        let mut worst_short: f64 = 0.0;
        for _ in 0..2000 {
            let n = 6;
            let l = limits((0..n).map(|_| rng.uniform(0.5, 20.0)).collect());
            let scale = [1e-3, 0.03, 0.3, 3.0][rng.next_u64() as usize % 4];
            let mut v = JointVector::zeros(n);
            for x in v.as_mut_slice() {
                *x = rng.uniform(-1.0, 1.0) * scale;
            }
            let q0: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let mut predicted = vec![0.0; n];
            Jog::stop_state(&q0, &v, &l, dt, &mut predicted);
            let mut continuous = vec![0.0; n];
            Jog::stop_state(&q0, &v, &l, 0.0, &mut continuous);
            // the loop's braking
            let mut jog = Jog::new(n);
            jog.velocity = v;
            let mut q = q0.clone();
            let zero = JointVector::zeros(n);
            let mut periods = 0;
            while jog.velocity.as_slice().iter().any(|x| *x != 0.0) {
                let next = jog.next_velocity(&zero, &l, dt);
                for (i, qi) in q.iter_mut().enumerate() {
                    *qi += 0.5 * (jog.velocity.as_slice()[i] + next.as_slice()[i]) * dt;
                }
                jog.velocity = next;
                periods += 1;
                assert!(periods < 100_000, "braking never ended");
            }
            for i in 0..n {
                assert!(
                    (q[i] - predicted[i]).abs() < 1e-12,
                    "joint {i}: braked to {}, predicted {} ({periods} periods)",
                    q[i],
                    predicted[i]
                );
                let short = (q[i] - continuous[i]).abs();
                assert!(short <= l.acceleration[i] * dt * dt / 8.0 + 1e-15);
                worst_short = worst_short.max(short / (l.acceleration[i] * dt * dt));
            }
        }
        // the continuous stop is really short of it (by up to a·dt²/8)
        assert!(worst_short > 0.1, "{worst_short}");
    }
}
