//! The whole robot as described by a URDF: links, joints and joint variables, validated once and
//! then immutable (`Send + Sync`, shareable behind an `Arc`).

use crate::error::{KinematicsError, Result};
use nalgebra::{Isometry3, Translation3, Unit, UnitQuaternion, Vector3};

/// Kind of a URDF joint that cella supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointKind {
    /// Rigid connection.
    Fixed,
    /// Rotation about `axis` within position limits (radians).
    Revolute,
    /// Rotation about `axis` without position limits (radians).
    Continuous,
    /// Translation along `axis` within position limits (metres).
    Prismatic,
}

impl JointKind {
    /// True for joints that move (everything but `Fixed`).
    pub fn is_movable(self) -> bool {
        !matches!(self, JointKind::Fixed)
    }
}

/// Position, velocity and effort limits of one joint, as the URDF gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointLimits {
    /// Lower position limit (rad or m); `-inf` for continuous joints.
    pub lower: f64,
    /// Upper position limit (rad or m); `+inf` for continuous joints.
    pub upper: f64,
    /// Maximum speed (rad/s or m/s); 0 when the URDF gives none.
    pub velocity: f64,
    /// Maximum effort (N·m or N); 0 when the URDF gives none.
    pub effort: f64,
}

impl JointLimits {
    /// True when `value` lies within `[lower, upper]`.
    pub fn contains(&self, value: f64) -> bool {
        value >= self.lower && value <= self.upper
    }
}

/// A joint that copies another joint's value: `value = multiplier * source + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mimic {
    /// Index (into [`RobotModel::joints`]) of the joint this one follows.
    pub source: usize,
    /// Multiplier applied to the source value.
    pub multiplier: f64,
    /// Offset added after multiplication (rad or m).
    pub offset: f64,
}

/// One joint of the model.
#[derive(Debug, Clone)]
pub struct Joint {
    /// URDF joint name.
    pub name: String,
    /// Joint type.
    pub kind: JointKind,
    /// Index of the parent link.
    pub parent: usize,
    /// Index of the child link.
    pub child: usize,
    /// Pose of the joint frame in the parent link frame (metres, radians).
    pub origin: Isometry3<f64>,
    /// Unit motion axis in the joint frame.
    pub axis: Unit<Vector3<f64>>,
    /// Limits (continuous joints: infinite position limits).
    pub limits: JointLimits,
    /// Set when this joint mimics another (then it is not a variable).
    pub mimic: Option<Mimic>,
    /// Index into the model's variable vector, for movable joints that are not mimics.
    pub variable: Option<usize>,
}

impl Joint {
    /// Pose of the child link frame in the parent link frame for joint value `value`.
    pub fn transform(&self, value: f64) -> Isometry3<f64> {
        self.origin * self.motion(value)
    }

    /// The joint's own motion (rotation about or translation along the axis).
    pub fn motion(&self, value: f64) -> Isometry3<f64> {
        match self.kind {
            JointKind::Fixed => Isometry3::identity(),
            JointKind::Revolute | JointKind::Continuous => Isometry3::from_parts(
                Translation3::identity(),
                UnitQuaternion::from_axis_angle(&self.axis, value),
            ),
            JointKind::Prismatic => Isometry3::from_parts(
                Translation3::from(self.axis.into_inner() * value),
                UnitQuaternion::identity(),
            ),
        }
    }
}

/// One link of the model (geometry lives in the collision crate).
#[derive(Debug, Clone)]
pub struct Link {
    /// URDF link name.
    pub name: String,
    /// The joint whose child this link is; `None` for the root.
    pub parent_joint: Option<usize>,
}

/// A validated, immutable robot model built from a URDF.
#[derive(Debug, Clone)]
pub struct RobotModel {
    name: String,
    links: Vec<Link>,
    joints: Vec<Joint>,
    root: usize,
    /// Joint indices of the variables (movable, non-mimic joints) in URDF order.
    variables: Vec<usize>,
    /// Joint indices in an order where every parent link is placed before its child.
    joint_order: Vec<usize>,
}

impl RobotModel {
    /// Parses and validates URDF text.
    pub fn from_urdf_str(text: &str) -> Result<Self> {
        let urdf = urdf_rs::read_from_string(text)
            .map_err(|e| KinematicsError::MalformedUrdf(e.into()))?;
        Self::from_urdf(&urdf)
    }

    /// Reads, parses and validates a URDF file.
    pub fn from_urdf_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| KinematicsError::Io {
            path: path.display().to_string(),
            source: e.into(),
        })?;
        Self::from_urdf_str(&text)
    }

    /// Builds and validates the model from a parsed URDF.
    pub fn from_urdf(urdf: &urdf_rs::Robot) -> Result<Self> {
        let invalid = |what: String| KinematicsError::InvalidUrdf { what };
        if urdf.links.is_empty() {
            return Err(invalid("the robot has no links".into()));
        }
        let mut links: Vec<Link> = Vec::with_capacity(urdf.links.len());
        let mut link_index = std::collections::HashMap::new();
        for l in &urdf.links {
            if l.name.is_empty() {
                return Err(invalid("a link has an empty name".into()));
            }
            if link_index.insert(l.name.clone(), links.len()).is_some() {
                return Err(invalid(format!("link '{}' is defined twice", l.name)));
            }
            links.push(Link {
                name: l.name.clone(),
                parent_joint: None,
            });
        }
        let mut joint_index = std::collections::HashMap::new();
        for (i, j) in urdf.joints.iter().enumerate() {
            if joint_index.insert(j.name.clone(), i).is_some() {
                return Err(invalid(format!("joint '{}' is defined twice", j.name)));
            }
        }

        let mut joints = Vec::with_capacity(urdf.joints.len());
        for (i, j) in urdf.joints.iter().enumerate() {
            let name = &j.name;
            let find = |link: &str, role: &str| {
                link_index.get(link).copied().ok_or_else(|| {
                    invalid(format!("joint '{name}' names unknown {role} link '{link}'"))
                })
            };
            let parent = find(&j.parent.link, "parent")?;
            let child = find(&j.child.link, "child")?;
            if parent == child {
                return Err(invalid(format!(
                    "joint '{name}' connects link '{}' to itself",
                    j.parent.link
                )));
            }
            if let Some(other) = links[child].parent_joint {
                return Err(invalid(format!(
                    "link '{}' is the child of two joints ('{}' and '{name}')",
                    j.child.link, urdf.joints[other].name
                )));
            }
            links[child].parent_joint = Some(i);

            let kind = match j.joint_type {
                urdf_rs::JointType::Fixed => JointKind::Fixed,
                urdf_rs::JointType::Revolute => JointKind::Revolute,
                urdf_rs::JointType::Continuous => JointKind::Continuous,
                urdf_rs::JointType::Prismatic => JointKind::Prismatic,
                ref other => {
                    return Err(invalid(format!(
                        "joint '{name}' has type {other:?}, which cella does not support (use fixed, revolute, continuous or prismatic)"
                    )));
                }
            };
            let xyz = &j.origin.xyz.0;
            let rpy = &j.origin.rpy.0;
            if xyz.iter().chain(rpy.iter()).any(|v| !v.is_finite()) {
                return Err(invalid(format!("joint '{name}' has a non-finite origin")));
            }
            let origin = Isometry3::from_parts(
                Translation3::new(xyz[0], xyz[1], xyz[2]),
                UnitQuaternion::from_euler_angles(rpy[0], rpy[1], rpy[2]),
            );
            let raw_axis = Vector3::new(j.axis.xyz.0[0], j.axis.xyz.0[1], j.axis.xyz.0[2]);
            let axis = if kind.is_movable() {
                if !raw_axis.iter().all(|v| v.is_finite()) || raw_axis.norm() < 1e-9 {
                    return Err(invalid(format!(
                        "joint '{name}' has a zero or non-finite axis"
                    )));
                }
                Unit::new_normalize(raw_axis)
            } else {
                Vector3::x_axis()
            };
            let lim = &j.limit;
            let limits = match kind {
                JointKind::Continuous | JointKind::Fixed => JointLimits {
                    lower: f64::NEG_INFINITY,
                    upper: f64::INFINITY,
                    velocity: lim.velocity,
                    effort: lim.effort,
                },
                _ => JointLimits {
                    lower: lim.lower,
                    upper: lim.upper,
                    velocity: lim.velocity,
                    effort: lim.effort,
                },
            };
            if kind == JointKind::Revolute || kind == JointKind::Prismatic {
                if !limits.lower.is_finite() || !limits.upper.is_finite() {
                    return Err(invalid(format!(
                        "joint '{name}' has non-finite position limits"
                    )));
                }
                if limits.lower > limits.upper {
                    return Err(invalid(format!(
                        "joint '{name}' has lower limit {} above upper limit {}",
                        limits.lower, limits.upper
                    )));
                }
            }
            if !limits.velocity.is_finite() || limits.velocity < 0.0 {
                return Err(invalid(format!(
                    "joint '{name}' has an invalid velocity limit {}",
                    limits.velocity
                )));
            }
            joints.push(Joint {
                name: name.clone(),
                kind,
                parent,
                child,
                origin,
                axis,
                limits,
                mimic: None,
                variable: None,
            });
        }

        // Mimic joints: resolve to the ultimate non-mimic source.
        for (i, j) in urdf.joints.iter().enumerate() {
            let Some(m) = &j.mimic else { continue };
            if !joints[i].kind.is_movable() {
                continue;
            }
            let mut source = *joint_index.get(&m.joint).ok_or_else(|| {
                invalid(format!(
                    "joint '{}' mimics unknown joint '{}'",
                    j.name, m.joint
                ))
            })?;
            let mut multiplier = m.multiplier.unwrap_or(1.0);
            let mut offset = m.offset.unwrap_or(0.0);
            let mut hops = 0;
            while let Some(next) = &urdf.joints[source].mimic {
                hops += 1;
                if hops > urdf.joints.len() {
                    return Err(invalid(format!(
                        "joint '{}' is part of a mimic cycle",
                        j.name
                    )));
                }
                let src2 = *joint_index.get(&next.joint).ok_or_else(|| {
                    invalid(format!(
                        "joint '{}' mimics unknown joint '{}'",
                        urdf.joints[source].name, next.joint
                    ))
                })?;
                let m2 = next.multiplier.unwrap_or(1.0);
                offset += multiplier * next.offset.unwrap_or(0.0);
                multiplier *= m2;
                source = src2;
            }
            if source == i || !joints[source].kind.is_movable() {
                return Err(invalid(format!(
                    "joint '{}' mimics '{}', which does not move",
                    j.name, m.joint
                )));
            }
            if !multiplier.is_finite() || !offset.is_finite() {
                return Err(invalid(format!(
                    "joint '{}' has a non-finite mimic multiplier or offset",
                    j.name
                )));
            }
            joints[i].mimic = Some(Mimic {
                source,
                multiplier,
                offset,
            });
        }

        let mut variables = Vec::new();
        for (i, j) in joints.iter_mut().enumerate() {
            if j.kind.is_movable() && j.mimic.is_none() {
                j.variable = Some(variables.len());
                variables.push(i);
            }
        }

        let roots: Vec<usize> = (0..links.len())
            .filter(|&l| links[l].parent_joint.is_none())
            .collect();
        let root = match roots.as_slice() {
            [r] => *r,
            [] => return Err(invalid("the links form a cycle: no root link".into())),
            many => {
                let names: Vec<&str> = many.iter().map(|&l| links[l].name.as_str()).collect();
                return Err(invalid(format!(
                    "the robot has several root links: {}",
                    names.join(", ")
                )));
            }
        };

        // Breadth-first order from the root; links not reached are in a cycle.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); links.len()];
        for (i, j) in joints.iter().enumerate() {
            children[j.parent].push(i);
        }
        let mut joint_order = Vec::with_capacity(joints.len());
        let mut frontier = vec![root];
        while let Some(link) = frontier.pop() {
            for &ji in &children[link] {
                joint_order.push(ji);
                frontier.push(joints[ji].child);
            }
        }
        if joint_order.len() != joints.len() {
            let reached: std::collections::HashSet<usize> = joint_order.iter().copied().collect();
            let stray = (0..joints.len())
                .find(|i| !reached.contains(i))
                .map(|i| joints[i].name.clone())
                .unwrap_or_default();
            return Err(invalid(format!(
                "joint '{stray}' is part of a cycle, not connected to root '{}'",
                links[root].name
            )));
        }

        Ok(Self {
            name: urdf.name.clone(),
            links,
            joints,
            root,
            variables,
            joint_order,
        })
    }

    /// Robot name from the URDF.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All links, in URDF order.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// All joints, in URDF order.
    pub fn joints(&self) -> &[Joint] {
        &self.joints
    }

    /// Index of the root link.
    pub fn root(&self) -> usize {
        self.root
    }

    /// Joint indices of the model's variables (movable, non-mimic joints), in URDF order.
    pub fn variables(&self) -> &[usize] {
        &self.variables
    }

    /// Index of the link called `name`.
    pub fn link_index(&self, name: &str) -> Result<usize> {
        self.links
            .iter()
            .position(|l| l.name == name)
            .ok_or_else(|| KinematicsError::UnknownLink(name.to_owned()))
    }

    /// Index of the joint called `name`.
    pub fn joint_index(&self, name: &str) -> Result<usize> {
        self.joints
            .iter()
            .position(|j| j.name == name)
            .ok_or_else(|| KinematicsError::UnknownJoint(name.to_owned()))
    }

    /// Value of joint `joint` given the model variables `q` (0 for fixed joints).
    pub fn joint_value(&self, joint: usize, q: &[f64]) -> f64 {
        let j = &self.joints[joint];
        if let Some(v) = j.variable {
            q.get(v).copied().unwrap_or(0.0)
        } else if let Some(m) = j.mimic {
            let src = self.joints[m.source]
                .variable
                .and_then(|v| q.get(v))
                .copied()
                .unwrap_or(0.0);
            m.multiplier * src + m.offset
        } else {
            0.0
        }
    }

    /// Poses of every link in the root link frame, written to `out[link index]`.
    ///
    /// `q` holds one value per model variable (radians or metres). No allocation.
    pub fn link_poses(&self, q: &[f64], out: &mut [Isometry3<f64>]) -> Result<()> {
        if q.len() != self.variables.len() {
            return Err(KinematicsError::JointCountMismatch {
                what: "joints".into(),
                expected: self.variables.len(),
                got: q.len(),
            });
        }
        crate::error::check_finite("joints", q)?;
        if out.len() < self.links.len() {
            return Err(KinematicsError::JointCountMismatch {
                what: "link pose buffer".into(),
                expected: self.links.len(),
                got: out.len(),
            });
        }
        out[self.root] = Isometry3::identity();
        for &ji in &self.joint_order {
            let j = &self.joints[ji];
            out[j.child] = out[j.parent] * j.transform(self.joint_value(ji, q));
        }
        Ok(())
    }

    /// Pose of link `to` in the frame of link `from` when only fixed joints lie between them
    /// (through their common ancestor); `None` when a movable joint does.
    pub fn fixed_transform(&self, from: usize, to: usize) -> Option<Isometry3<f64>> {
        let ancestors_of_from = self.ancestors(from);
        let mut ancestor = to;
        while !ancestors_of_from.contains(&ancestor) {
            ancestor = self.joints[self.links[ancestor].parent_joint?].parent;
        }
        let pose_in_ancestor = |mut link: usize| -> Option<Isometry3<f64>> {
            let mut pose = Isometry3::identity();
            while link != ancestor {
                let j = &self.joints[self.links[link].parent_joint?];
                if j.kind.is_movable() {
                    return None;
                }
                pose = j.origin * pose;
                link = j.parent;
            }
            Some(pose)
        };
        Some(pose_in_ancestor(from)?.inverse() * pose_in_ancestor(to)?)
    }

    /// `link` and every link above it, up to the root.
    pub fn ancestors(&self, mut link: usize) -> Vec<usize> {
        let mut out = vec![link];
        while let Some(ji) = self.links[link].parent_joint {
            link = self.joints[ji].parent;
            out.push(link);
        }
        out
    }
}
