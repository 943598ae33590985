//! Analytic IK for Universal Robots style arms (shoulder offset, three parallel axes 2-3-4),
//! following Hawkins, "Analytic Inverse Kinematics for the Universal Robots UR-5/UR-10 Arms"
//! (2013). Standard DH, `alpha = [π/2, 0, 0, π/2, -π/2, 0]`; up to 8 solutions.

use super::{ArmConfiguration, IkOptions, IkSolutions, push_verified_bases};
use crate::Chain;
use crate::error::{KinematicsError, Result};
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
use serde::Deserialize;
use std::f64::consts::FRAC_PI_2;

/// UR standard-DH parameters (metres), as published by Universal Robots.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UrParameters {
    /// Base to shoulder height.
    pub d1: f64,
    /// Upper arm length (negative in UR's convention).
    pub a2: f64,
    /// Forearm length (negative in UR's convention).
    pub a3: f64,
    /// Shoulder offset.
    pub d4: f64,
    /// Wrist 1 to wrist 2.
    pub d5: f64,
    /// Wrist 2 to flange.
    pub d6: f64,
}

const ALPHA: [f64; 6] = [FRAC_PI_2, 0.0, 0.0, FRAC_PI_2, -FRAC_PI_2, 0.0];

impl UrParameters {
    fn a(&self) -> [f64; 6] {
        [0.0, self.a2, self.a3, 0.0, 0.0, 0.0]
    }
    fn d(&self) -> [f64; 6] {
        [self.d1, 0.0, 0.0, self.d4, self.d5, self.d6]
    }

    /// Standard DH transform of link `i` (0-based) at angle `theta`.
    fn link(&self, i: usize, theta: f64) -> Isometry3<f64> {
        let rz = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), theta);
        let rx = UnitQuaternion::from_axis_angle(&Vector3::x_axis(), ALPHA[i]);
        let (a, d) = (self.a()[i], self.d()[i]);
        // Rz(θ) · Tz(d) · Tx(a) · Rx(α)
        Isometry3::from_parts(Translation3::new(0.0, 0.0, d), rz)
            * Isometry3::from_parts(Translation3::new(a, 0.0, 0.0), rx)
    }

    /// Forward kinematics of the DH model: frame 6 in frame 0.
    pub fn forward(&self, q: &[f64; 6]) -> Isometry3<f64> {
        (0..6).fold(Isometry3::identity(), |t, i| t * self.link(i, q[i]))
    }

    /// Checks finiteness and non-degenerate lengths.
    pub fn validate(&self) -> Result<()> {
        let v = [self.d1, self.a2, self.a3, self.d4, self.d5, self.d6];
        if v.iter().any(|x| !x.is_finite()) || self.a2 == 0.0 || self.a3 == 0.0 || self.d6 == 0.0 {
            return Err(KinematicsError::InvalidConfig {
                file: None,
                what: "ik.ur: parameters must be finite and a2, a3, d6 non-zero".into(),
            });
        }
        Ok(())
    }

    /// Up to 8 solutions for frame 6 at `pose` (in DH frame 0). `q6_hint` is used for the
    /// wrist angle at a wrist singularity (sin θ5 = 0), where θ6 is free.
    pub fn inverse_raw(
        &self,
        pose: &Isometry3<f64>,
        q6_hint: f64,
        out: &mut [([f64; 6], ArmConfiguration); 8],
    ) -> usize {
        let r = pose.rotation.to_rotation_matrix().into_inner();
        let p = pose.translation.vector;
        let z6 = Vector3::new(r[(0, 2)], r[(1, 2)], r[(2, 2)]);
        let p05 = p - self.d6 * z6;
        let rho = p05.x.hypot(p05.y);
        if rho < self.d4.abs() || rho == 0.0 {
            return 0;
        }
        let psi = p05.y.atan2(p05.x);
        let phi = (self.d4 / rho).clamp(-1.0, 1.0).acos();
        let mut n = 0;
        for (shoulder_back, t1) in [
            (false, psi + phi + FRAC_PI_2),
            (true, psi - phi + FRAC_PI_2),
        ] {
            let (s1, c1) = t1.sin_cos();
            let c5 = (p.x * s1 - p.y * c1 - self.d4) / self.d6;
            if c5.abs() > 1.0 + 1e-12 {
                continue;
            }
            let t5_base = c5.clamp(-1.0, 1.0).acos();
            for (wrist_flip, t5) in [(false, t5_base), (true, -t5_base)] {
                let s5 = t5.sin();
                let t6 = if s5.abs() < 1e-12 {
                    q6_hint
                } else {
                    ((-r[(0, 1)] * s1 + r[(1, 1)] * c1) / s5)
                        .atan2((r[(0, 0)] * s1 - r[(1, 0)] * c1) / s5)
                };
                // Frame 4 in frame 1: T14 = A1⁻¹ · T06 · A6⁻¹ · A5⁻¹.
                let t14 = self.link(0, t1).inverse()
                    * pose
                    * self.link(5, t6).inverse()
                    * self.link(4, t5).inverse();
                // Joints 2 and 3 move frame 4's origin in frame 1's x-y plane (planar 2R).
                let px = t14.translation.vector.x;
                let py = t14.translation.vector.y;
                let len_sq = px * px + py * py;
                let c3 =
                    (len_sq - self.a2 * self.a2 - self.a3 * self.a3) / (2.0 * self.a2 * self.a3);
                if c3.abs() > 1.0 + 1e-12 {
                    continue;
                }
                let t3_base = c3.clamp(-1.0, 1.0).acos();
                for (elbow_down, t3) in [(false, t3_base), (true, -t3_base)] {
                    let t2 =
                        py.atan2(px) - (self.a3 * t3.sin()).atan2(self.a2 + self.a3 * t3.cos());
                    let t13 = self.link(1, t2) * self.link(2, t3);
                    let t34 = t13.inverse() * t14;
                    let x = t34.rotation * Vector3::x();
                    let t4 = x.y.atan2(x.x);
                    out[n] = (
                        [t1, t2, t3, t4, t5, t6],
                        ArmConfiguration {
                            shoulder_back,
                            elbow_down,
                            wrist_flip,
                        },
                    );
                    n += 1;
                }
            }
        }
        n
    }
}

/// UR solver bound to a chain.
#[derive(Debug, Clone)]
pub struct UrSolver {
    params: UrParameters,
    /// Pose of DH frame 0 in the chain base link frame.
    base_to_dh_base: Isometry3<f64>,
    /// Pose of DH frame 6 in the chain tip link frame.
    tip_to_dh_end: Isometry3<f64>,
}

impl UrSolver {
    /// Binds UR parameters to a 6-joint chain.
    pub fn new(
        params: UrParameters,
        chain: &Chain,
        base_to_dh_base: Isometry3<f64>,
        tip_to_dh_end: Isometry3<f64>,
    ) -> Result<Self> {
        params.validate()?;
        if chain.dof() != 6 {
            return Err(KinematicsError::SolverMismatch {
                solver: "ur".into(),
                reason: format!(
                    "the chain has {} joints, the UR solver needs 6",
                    chain.dof()
                ),
            });
        }
        Ok(Self {
            params,
            base_to_dh_base,
            tip_to_dh_end,
        })
    }

    /// The parameters.
    pub fn parameters(&self) -> &UrParameters {
        &self.params
    }

    /// All solutions within limits for a TCP pose in the chain's reference frame, verified by FK.
    pub fn solve(
        &self,
        chain: &Chain,
        target: &Isometry3<f64>,
        seed: Option<&[f64]>,
        options: &IkOptions,
        out: &mut IkSolutions,
    ) -> Result<()> {
        out.clear();
        let tip = chain.mount().inverse() * target * chain.tool().inverse();
        let end = self.base_to_dh_base.inverse() * tip * self.tip_to_dh_end;
        let hint = seed.and_then(|s| s.get(5)).copied().unwrap_or(0.0);
        let mut raw = [(
            [0.0; 6],
            ArmConfiguration {
                shoulder_back: false,
                elbow_down: false,
                wrist_flip: false,
            },
        ); 8];
        let n = self.params.inverse_raw(&end, hint, &mut raw);
        push_verified_bases(chain, target, options, &raw[..n], |_, v| v, out);
        Ok(())
    }
}
