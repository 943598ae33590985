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

    /// Where the robot comes to rest from `q` braking from `velocity` joint-synchronized at
    /// the acceleration limits: `q + v·T/2` with `T = max |v_j| / a_j`.
    pub fn stop_state(q: &[f64], velocity: &JointVector, limits: &Limits, out: &mut [f64]) {
        let t = velocity
            .as_slice()
            .iter()
            .zip(&limits.acceleration)
            .map(|(v, a)| v.abs() / a)
            .fold(0.0, f64::max);
        for ((o, q), v) in out.iter_mut().zip(q).zip(velocity.as_slice()) {
            *o = q + 0.5 * v * t;
        }
    }
}
