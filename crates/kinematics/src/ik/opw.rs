//! Analytic IK for 6-axis arms with an ortho-parallel basis and a spherical wrist (OPW:
//! Brandstötter, Angerer, Hofbaur, "An analytical solution of the inverse kinematics problem of
//! industrial serial manipulators with an ortho-parallel basis and a spherical wrist", 2014).
//!
//! Up to 8 solutions; joint offsets and sign corrections map the OPW convention to URDF joints:
//! `q_opw = q_urdf * sign_corrections - offsets`.

use super::{ArmConfiguration, IkOptions, IkSolutions, pose_error, push_verified_bases};
use crate::Chain;
use crate::error::{KinematicsError, Result};
use nalgebra::{Isometry3, Matrix3, Vector3};
use serde::Deserialize;

/// OPW geometric parameters (metres) and the URDF convention mapping.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpwParameters {
    /// Offset of axis 2 from axis 1 along x (m).
    pub a1: f64,
    /// Offset of the wrist from axis 3 along x (m).
    pub a2: f64,
    /// Lateral offset along y (m).
    pub b: f64,
    /// Height of axis 2 above the base (m).
    pub c1: f64,
    /// Length of link 2 (axis 2 to axis 3, m).
    pub c2: f64,
    /// Length from axis 3 to the wrist centre (m).
    pub c3: f64,
    /// Wrist centre to end frame (m).
    pub c4: f64,
    /// Joint offsets (rad).
    pub offsets: [f64; 6],
    /// Joint sign corrections (each +1 or -1).
    pub sign_corrections: [f64; 6],
}

impl OpwParameters {
    /// Checks that every value is finite and the signs are ±1.
    pub fn validate(&self) -> Result<()> {
        let vals = [self.a1, self.a2, self.b, self.c1, self.c2, self.c3, self.c4];
        let bad = |what: String| KinematicsError::InvalidConfig { file: None, what };
        if vals
            .iter()
            .chain(self.offsets.iter())
            .any(|v| !v.is_finite())
        {
            return Err(bad("ik.opw: parameters must be finite".into()));
        }
        if self
            .sign_corrections
            .iter()
            .any(|s| *s != 1.0 && *s != -1.0)
        {
            return Err(bad("ik.opw.sign_corrections: each must be 1 or -1".into()));
        }
        if self.c2 <= 0.0 || (self.a2 * self.a2 + self.c3 * self.c3) <= 0.0 {
            return Err(bad(
                "ik.opw: c2 and the forearm length must be positive".into()
            ));
        }
        Ok(())
    }

    /// Solves for the end frame pose `pose` (in the OPW base frame); writes up to 8 solutions in
    /// the OPW joint convention with their configuration. Returns how many were written.
    pub fn inverse_raw(
        &self,
        pose: &Isometry3<f64>,
        out: &mut [([f64; 6], ArmConfiguration); 8],
    ) -> usize {
        let p = self;
        let r: Matrix3<f64> = pose.rotation.to_rotation_matrix().into_inner();
        let z = Vector3::new(r[(0, 2)], r[(1, 2)], r[(2, 2)]);
        let c = pose.translation.vector - p.c4 * z;
        let (cx, cy, cz) = (c.x, c.y, c.z);

        let nx1_sq = cx * cx + cy * cy - p.b * p.b;
        if nx1_sq < 0.0 {
            return 0;
        }
        let nx1 = nx1_sq.sqrt() - p.a1;
        let tmp1 = cy.atan2(cx);
        let tmp2 = p.b.atan2(nx1 + p.a1);
        let theta1_i = tmp1 - tmp2;
        let theta1_ii = tmp1 + tmp2 - std::f64::consts::PI;

        let tmp3 = cz - p.c1;
        let s1_2 = nx1 * nx1 + tmp3 * tmp3;
        let tmp4 = nx1 + 2.0 * p.a1;
        let s2_2 = tmp4 * tmp4 + tmp3 * tmp3;
        let kappa_2 = p.a2 * p.a2 + p.c3 * p.c3;
        let c2_2 = p.c2 * p.c2;
        let s1 = s1_2.sqrt();
        let s2 = s2_2.sqrt();

        let tmp13 = acos_checked((s1_2 + c2_2 - kappa_2) / (2.0 * s1 * p.c2));
        let tmp14 = nx1.atan2(tmp3);
        let tmp15 = acos_checked((s2_2 + c2_2 - kappa_2) / (2.0 * s2 * p.c2));
        let tmp16 = tmp4.atan2(tmp3);
        let tmp9 = 2.0 * p.c2 * kappa_2.sqrt();
        let tmp10 = p.a2.atan2(p.c3);
        let tmp11 = acos_checked((s1_2 - c2_2 - kappa_2) / tmp9);
        let tmp12 = acos_checked((s2_2 - c2_2 - kappa_2) / tmp9);

        // (theta1, theta2, theta3, shoulder_back, elbow_down)
        let arms = [
            (
                theta1_i,
                tmp13.map(|t| -t + tmp14),
                tmp11.map(|t| t - tmp10),
                false,
                false,
            ),
            (
                theta1_i,
                tmp13.map(|t| t + tmp14),
                tmp11.map(|t| -t - tmp10),
                false,
                true,
            ),
            (
                theta1_ii,
                tmp15.map(|t| -t - tmp16),
                tmp12.map(|t| t - tmp10),
                true,
                false,
            ),
            (
                theta1_ii,
                tmp15.map(|t| t - tmp16),
                tmp12.map(|t| -t - tmp10),
                true,
                true,
            ),
        ];
        let mut n = 0;
        for (t1, t2, t3, back, down) in arms {
            let (Some(t2), Some(t3)) = (t2, t3) else {
                continue;
            };
            let (s1, c1) = t1.sin_cos();
            let (s23, c23) = (t2 + t3).sin_cos();
            let m = r[(0, 2)] * s23 * c1 + r[(1, 2)] * s23 * s1 + r[(2, 2)] * c23;
            let t5 = (1.0 - m * m).max(0.0).sqrt().atan2(m);
            let t4 = (r[(1, 2)] * c1 - r[(0, 2)] * s1)
                .atan2(r[(0, 2)] * c23 * c1 + r[(1, 2)] * c23 * s1 - r[(2, 2)] * s23);
            let t6 = (r[(0, 1)] * s23 * c1 + r[(1, 1)] * s23 * s1 + r[(2, 1)] * c23)
                .atan2(-r[(0, 0)] * s23 * c1 - r[(1, 0)] * s23 * s1 - r[(2, 0)] * c23);
            let cfg = |flip| ArmConfiguration {
                shoulder_back: back,
                elbow_down: down,
                wrist_flip: flip,
            };
            out[n] = ([t1, t2, t3, t4, t5, t6], cfg(false));
            n += 1;
            out[n] = (
                [
                    t1,
                    t2,
                    t3,
                    t4 + std::f64::consts::PI,
                    -t5,
                    t6 - std::f64::consts::PI,
                ],
                cfg(true),
            );
            n += 1;
        }
        n
    }
}

/// `acos` that tolerates rounding just outside [-1, 1] and rejects the rest.
fn acos_checked(x: f64) -> Option<f64> {
    if !x.is_finite() || x.abs() > 1.0 + 1e-12 {
        None
    } else {
        Some(x.clamp(-1.0, 1.0).acos())
    }
}

/// OPW solver bound to a chain: knows where the OPW base and end frames sit on the chain.
#[derive(Debug, Clone)]
pub struct OpwSolver {
    params: OpwParameters,
    /// Pose of the OPW base frame in the chain base link frame.
    base_to_opw_base: Isometry3<f64>,
    /// Pose of the OPW end frame in the chain tip link frame.
    tip_to_opw_end: Isometry3<f64>,
}

impl OpwSolver {
    /// Binds OPW parameters to a 6-joint chain; the frames are given relative to the chain's
    /// base link and tip link.
    pub fn new(
        params: OpwParameters,
        chain: &Chain,
        base_to_opw_base: Isometry3<f64>,
        tip_to_opw_end: Isometry3<f64>,
    ) -> Result<Self> {
        params.validate()?;
        if chain.dof() != 6 {
            return Err(KinematicsError::SolverMismatch {
                solver: "opw".into(),
                reason: format!("the chain has {} joints, OPW needs 6", chain.dof()),
            });
        }
        Ok(Self {
            params,
            base_to_opw_base,
            tip_to_opw_end,
        })
    }

    /// The parameters.
    pub fn parameters(&self) -> &OpwParameters {
        &self.params
    }

    /// All solutions within limits for a TCP pose given in the chain's reference frame,
    /// each verified by the chain's FK. Writes into `out` (cleared first).
    pub fn solve(
        &self,
        chain: &Chain,
        target: &Isometry3<f64>,
        options: &IkOptions,
        out: &mut IkSolutions,
    ) -> Result<()> {
        out.clear();
        let tip = chain.mount().inverse() * target * chain.tool().inverse();
        let end = self.base_to_opw_base.inverse() * tip * self.tip_to_opw_end;
        let mut raw = [(
            [0.0; 6],
            ArmConfiguration {
                shoulder_back: false,
                elbow_down: false,
                wrist_flip: false,
            },
        ); 8];
        let n = self.params.inverse_raw(&end, &mut raw);
        let (offsets, signs) = (self.params.offsets, self.params.sign_corrections);
        push_verified_bases(
            chain,
            target,
            options,
            &raw[..n],
            |i, v| (v + offsets[i]) * signs[i],
            out,
        );
        Ok(())
    }
}

/// True when the FK of `q` (any values, limits not checked) reaches `target` within the
/// options' tolerances.
pub(crate) fn verified(
    chain: &Chain,
    target: &Isometry3<f64>,
    options: &IkOptions,
    q: &[f64],
) -> bool {
    match chain.fk(q) {
        Ok(pose) => {
            let (dp, dr) = pose_error(&pose, target);
            dp <= options.position_tolerance && dr <= options.orientation_tolerance
        }
        Err(_) => false,
    }
}
