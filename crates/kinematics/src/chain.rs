//! A serial kinematic chain from a base link down to a tip link, flattened for speed: forward
//! kinematics is a product of precomputed fixed transforms and joint motions, with no allocation,
//! no locking and no graph walk.

use crate::error::{KinematicsError, Result, check_finite};
use crate::model::{JointKind, JointLimits, RobotModel};
use nalgebra::{Isometry3, Matrix6, Translation3, UnitQuaternion, Vector3};

/// A movable joint of the chain, with everything fixed before it folded into `pre`.
#[derive(Debug, Clone)]
struct Segment {
    /// Fixed transform from the previous segment's frame (or the chain base) to this joint frame.
    pre: Isometry3<f64>,
    /// Unit axis in the joint frame.
    axis: Vector3<f64>,
    /// Revolute or prismatic.
    prismatic: bool,
    /// Index of the chain variable driving this joint.
    variable: usize,
    /// `value = multiplier * q[variable] + offset` (1 and 0 unless the joint is a mimic).
    multiplier: f64,
    /// See `multiplier`.
    offset: f64,
}

/// One degree of freedom of the chain.
#[derive(Debug, Clone)]
pub struct ChainVariable {
    /// URDF joint name.
    pub name: String,
    /// Index of the joint in the model.
    pub joint: usize,
    /// Index of the variable in the model's variable vector.
    pub model_variable: usize,
    /// Joint type (revolute, continuous or prismatic).
    pub kind: JointKind,
    /// Position/velocity/effort limits from the URDF.
    pub limits: JointLimits,
}

/// A serial chain `base → tip` with an optional tool (TCP) offset and a mount pose.
///
/// Frames: FK returns the TCP pose in the chain's *reference frame*, which is the base link frame
/// moved by the mount pose (`reference_T_base`). With the identity mount (default) the reference
/// frame is the base link frame. The TCP frame is the tip link frame moved by the tool offset.
#[derive(Debug, Clone)]
pub struct Chain {
    base: String,
    tip: String,
    variables: Vec<ChainVariable>,
    segments: Vec<Segment>,
    /// Fixed transforms from the base link to the first joint frame (before the mount).
    head: Isometry3<f64>,
    /// Fixed transform from the last joint frame to the tip link.
    tail: Isometry3<f64>,
    mount: Isometry3<f64>,
    tool: Isometry3<f64>,
    /// `mount * head`, cached.
    start: Isometry3<f64>,
    /// `tail * tool`, cached.
    end: Isometry3<f64>,
}

impl Chain {
    /// Builds the chain from `base` down to `tip`; `base` must be `tip` or one of its ancestors.
    pub fn new(model: &RobotModel, base: &str, tip: &str) -> Result<Self> {
        let base_idx = model.link_index(base)?;
        let tip_idx = model.link_index(tip)?;
        let no_chain = |reason: String| KinematicsError::NoChain {
            base: base.to_owned(),
            tip: tip.to_owned(),
            reason,
        };
        // Walk up from the tip to the base.
        let mut path = Vec::new();
        let mut link = tip_idx;
        while link != base_idx {
            let Some(ji) = model.links()[link].parent_joint else {
                return Err(no_chain(format!("'{base}' is not an ancestor of '{tip}'")));
            };
            path.push(ji);
            link = model.joints()[ji].parent;
        }
        path.reverse();

        let joints = model.joints();
        let mut variables: Vec<ChainVariable> = Vec::new();
        for &ji in &path {
            let j = &joints[ji];
            if let (Some(mv), true) = (j.variable, j.kind.is_movable()) {
                variables.push(ChainVariable {
                    name: j.name.clone(),
                    joint: ji,
                    model_variable: mv,
                    kind: j.kind,
                    limits: j.limits,
                });
            }
        }
        let mut segments = Vec::new();
        let mut pending = Isometry3::identity();
        let mut head = None;
        for &ji in &path {
            let j = &joints[ji];
            pending *= j.origin;
            if !j.kind.is_movable() {
                continue;
            }
            let (source_joint, multiplier, offset) = match j.mimic {
                Some(m) => (m.source, m.multiplier, m.offset),
                None => (ji, 1.0, 0.0),
            };
            let variable = variables
                .iter()
                .position(|v| v.joint == source_joint)
                .ok_or_else(|| {
                    no_chain(format!(
                        "joint '{}' mimics '{}', which is not on the chain",
                        j.name, joints[source_joint].name
                    ))
                })?;
            let pre = if head.is_none() {
                head = Some(pending);
                Isometry3::identity()
            } else {
                pending
            };
            segments.push(Segment {
                pre,
                axis: j.axis.into_inner(),
                prismatic: j.kind == JointKind::Prismatic,
                variable,
                multiplier,
                offset,
            });
            pending = Isometry3::identity();
        }
        let head = head.unwrap_or_else(Isometry3::identity);
        let mut chain = Self {
            base: base.to_owned(),
            tip: tip.to_owned(),
            variables,
            segments,
            head,
            tail: pending,
            mount: Isometry3::identity(),
            tool: Isometry3::identity(),
            start: head,
            end: pending,
        };
        chain.refresh();
        Ok(chain)
    }

    fn refresh(&mut self) {
        self.start = self.mount * self.head;
        self.end = self.tail * self.tool;
    }

    /// Sets the tool (TCP) offset: pose of the TCP in the tip link frame (metres).
    pub fn set_tool(&mut self, tool: Isometry3<f64>) {
        self.tool = tool;
        self.refresh();
    }

    /// Sets the mount: pose of the base link in the reference (e.g. cell world) frame (metres).
    pub fn set_mount(&mut self, mount: Isometry3<f64>) {
        self.mount = mount;
        self.refresh();
    }

    /// The tool offset (TCP in the tip link frame).
    pub fn tool(&self) -> &Isometry3<f64> {
        &self.tool
    }

    /// The mount pose (base link in the reference frame).
    pub fn mount(&self) -> &Isometry3<f64> {
        &self.mount
    }

    /// Base link name.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Tip link name.
    pub fn tip(&self) -> &str {
        &self.tip
    }

    /// Number of degrees of freedom (chain variables).
    pub fn dof(&self) -> usize {
        self.variables.len()
    }

    /// The chain's degrees of freedom in base-to-tip order.
    pub fn variables(&self) -> &[ChainVariable] {
        &self.variables
    }

    /// Joint names in base-to-tip order.
    pub fn joint_names(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|v| v.name.as_str())
    }

    /// Checks length and finiteness of a joint vector.
    pub fn check_joints(&self, what: &str, q: &[f64]) -> Result<()> {
        if q.len() != self.dof() {
            return Err(KinematicsError::JointCountMismatch {
                what: what.to_owned(),
                expected: self.dof(),
                got: q.len(),
            });
        }
        check_finite(what, q)
    }

    /// Checks a joint vector against the position limits (radians or metres).
    pub fn check_limits(&self, q: &[f64]) -> Result<()> {
        self.check_joints("joints", q)?;
        for (v, &value) in self.variables.iter().zip(q) {
            if !v.limits.contains(value) {
                return Err(KinematicsError::OutOfLimits {
                    joint: v.name.clone(),
                    value,
                    lower: v.limits.lower,
                    upper: v.limits.upper,
                });
            }
        }
        Ok(())
    }

    /// True when every value is within its position limits (no allocation).
    pub fn within_limits(&self, q: &[f64]) -> bool {
        q.len() == self.dof()
            && self
                .variables
                .iter()
                .zip(q)
                .all(|(v, &x)| v.limits.contains(x))
    }

    #[inline(always)]
    fn apply_joint(frame: &mut Isometry3<f64>, seg: &Segment, q: &[f64]) {
        let value = seg.multiplier * q[seg.variable] + seg.offset;
        *frame *= seg.pre;
        if seg.prismatic {
            frame.translation.vector += frame.rotation * (seg.axis * value);
        } else {
            let (s, c) = (0.5 * value).sin_cos();
            let v = seg.axis * s;
            let rot = UnitQuaternion::new_unchecked(nalgebra::Quaternion::new(c, v.x, v.y, v.z));
            frame.rotation *= rot;
        }
    }

    /// Forward kinematics: the TCP pose in the reference frame (metres, radians).
    ///
    /// Fails on a joint vector of the wrong length or with NaN/inf. No allocation.
    #[inline]
    pub fn fk(&self, q: &[f64]) -> Result<Isometry3<f64>> {
        self.check_joints("joints", q)?;
        let mut frame = self.start;
        for seg in &self.segments {
            Self::apply_joint(&mut frame, seg, q);
        }
        Ok(frame * self.end)
    }

    /// Poses of every joint frame (after the joint motion) and the TCP, in the reference frame.
    ///
    /// `out` must hold at least `segments + 1` poses: `out[i]` is the frame of the i-th movable
    /// joint on the chain (mimic joints included), the last written entry is the TCP. Returns
    /// the number of poses written. No allocation.
    pub fn fk_frames(&self, q: &[f64], out: &mut [Isometry3<f64>]) -> Result<usize> {
        self.check_joints("joints", q)?;
        let n = self.segments.len() + 1;
        if out.len() < n {
            return Err(KinematicsError::JointCountMismatch {
                what: "frame buffer".into(),
                expected: n,
                got: out.len(),
            });
        }
        let mut frame = self.start;
        for (seg, slot) in self.segments.iter().zip(out.iter_mut()) {
            Self::apply_joint(&mut frame, seg, q);
            *slot = frame;
        }
        out[n - 1] = frame * self.end;
        Ok(n)
    }

    /// Geometric Jacobian of the TCP in the reference frame, written column by column into
    /// `out` (`out[j] = [vx, vy, vz, wx, wy, wz]` for joint `j`: linear velocity of the TCP
    /// point in m/s and angular velocity in rad/s per unit joint speed). Returns the TCP pose.
    /// No allocation.
    pub fn jacobian(&self, q: &[f64], out: &mut [[f64; 6]]) -> Result<Isometry3<f64>> {
        self.check_joints("joints", q)?;
        if out.len() < self.dof() {
            return Err(KinematicsError::JointCountMismatch {
                what: "jacobian buffer".into(),
                expected: self.dof(),
                got: out.len(),
            });
        }
        // Pass 1: TCP pose. Pass 2 re-walks the chain (cheaper than storing frames).
        let tcp = self.fk(q)?;
        for col in out.iter_mut().take(self.dof()) {
            *col = [0.0; 6];
        }
        let p_tcp = tcp.translation.vector;
        let mut frame = self.start;
        for seg in &self.segments {
            Self::apply_joint(&mut frame, seg, q);
            let z = frame.rotation * seg.axis * seg.multiplier;
            let col = &mut out[seg.variable];
            if seg.prismatic {
                col[0] += z.x;
                col[1] += z.y;
                col[2] += z.z;
            } else {
                let v = z.cross(&(p_tcp - frame.translation.vector));
                col[0] += v.x;
                col[1] += v.y;
                col[2] += v.z;
                col[3] += z.x;
                col[4] += z.y;
                col[5] += z.z;
            }
        }
        Ok(tcp)
    }

    /// Yoshikawa manipulability `sqrt(det(J Jᵀ))` of the TCP (0 at a singularity).
    ///
    /// For chains with fewer than 6 joints, `sqrt(det(Jᵀ J))` is used instead.
    pub fn manipulability(&self, q: &[f64]) -> Result<f64> {
        let mut cols = [[0.0; 6]; crate::MAX_DOF];
        if self.dof() > crate::MAX_DOF {
            return Err(KinematicsError::SolverMismatch {
                solver: "manipulability".into(),
                reason: format!(
                    "chain has {} joints, at most {} supported",
                    self.dof(),
                    crate::MAX_DOF
                ),
            });
        }
        self.jacobian(q, &mut cols)?;
        let n = self.dof();
        if n >= 6 {
            let mut jjt = Matrix6::<f64>::zeros();
            for c in &cols[..n] {
                let v = nalgebra::Vector6::from_row_slice(c);
                jjt += v * v.transpose();
            }
            Ok(jjt.determinant().max(0.0).sqrt())
        } else {
            let mut jtj = nalgebra::DMatrix::<f64>::zeros(n, n);
            for i in 0..n {
                for k in 0..n {
                    jtj[(i, k)] = (0..6).map(|r| cols[i][r] * cols[k][r]).sum();
                }
            }
            Ok(jtj.determinant().max(0.0).sqrt())
        }
    }

    /// Fills `out` with a uniformly random configuration within limits (continuous joints in
    /// [-π, π]), using the caller's deterministic generator.
    pub fn random_configuration(&self, rng: &mut crate::rng::Rng, out: &mut [f64]) {
        for (v, slot) in self.variables.iter().zip(out.iter_mut()) {
            let (lo, hi) = finite_range(&v.limits);
            *slot = rng.uniform(lo, hi);
        }
    }
}

/// Position range used for sampling: infinite limits become [-π, π].
pub fn finite_range(limits: &JointLimits) -> (f64, f64) {
    let lo = if limits.lower.is_finite() {
        limits.lower
    } else {
        -std::f64::consts::PI
    };
    let hi = if limits.upper.is_finite() {
        limits.upper
    } else {
        std::f64::consts::PI
    };
    (lo, hi)
}

/// Builds a pose from a position (metres) and a unit quaternion `[x, y, z, w]`, validating both.
pub fn pose_from_xyz_quat(position: [f64; 3], quat_xyzw: [f64; 4]) -> Result<Isometry3<f64>> {
    check_finite("pose.position", &position)?;
    check_finite("pose.quaternion", &quat_xyzw)?;
    let q = nalgebra::Quaternion::new(quat_xyzw[3], quat_xyzw[0], quat_xyzw[1], quat_xyzw[2]);
    let norm = q.norm();
    if norm.is_nan() || norm <= 1e-9 {
        return Err(KinematicsError::InvalidPose(format!(
            "quaternion {quat_xyzw:?} has zero norm"
        )));
    }
    Ok(Isometry3::from_parts(
        Translation3::new(position[0], position[1], position[2]),
        UnitQuaternion::from_quaternion(q),
    ))
}
