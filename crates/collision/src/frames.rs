//! Forward kinematics for the collision checks: only the *frames* that move are computed (the
//! robot base and every link whose parent joint is driven by a group joint, directly or as a
//! mimic); links behind constant joints (fixed joints, joints held at their default value) are
//! folded into the frame of their nearest moving ancestor with a constant offset.
//!
//! A revolute frame's rotation is `R_parent · (A + cos θ·B + sin θ·C)` with constant matrices
//! (the joint origin's rotation times the Rodrigues split of the axis rotation), its
//! translation `t_parent + R_parent·t`. No quaternions, no allocation per call: the scalar
//! checker uses it in `f64`, the batch path converts the same frames to `f32` lanes.

use cella_kinematics::{JointKind, Robot};
use nalgebra::{Isometry3, Matrix3, Rotation3, Translation3, UnitQuaternion, Vector3};

/// How a frame moves relative to its parent frame.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Motion {
    /// The robot base: constant pose in the world.
    Root,
    /// Rotation by `multiplier·q[variable] + offset` about a joint axis.
    Revolute {
        variable: usize,
        multiplier: f64,
        offset: f64,
    },
    /// Translation by `multiplier·q[variable] + offset` along `axis` (parent frame).
    Prismatic {
        variable: usize,
        multiplier: f64,
        offset: f64,
        axis: Vector3<f64>,
    },
}

/// One moving frame.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub parent: usize,
    pub motion: Motion,
    /// Translation of the joint frame in the parent frame (m).
    pub t: Vector3<f64>,
    /// Rotation = A + cos·B + sin·C (revolute) or A (root, prismatic).
    pub a: Matrix3<f64>,
    pub b: Matrix3<f64>,
    pub c: Matrix3<f64>,
}

/// The moving frames of a robot placed at a base pose, and where each link sits in them.
#[derive(Debug, Clone)]
pub(crate) struct Frames {
    frames: Vec<Frame>,
    /// Per model link: its frame and its constant pose in that frame (`None`: unreachable).
    link_place: Vec<Option<(usize, Isometry3<f64>)>>,
}

impl Frames {
    /// The frames of `robot` (group joints as variables, every other joint at its default
    /// value) with the base at `base` (world frame).
    pub fn new(robot: &Robot, base: &Isometry3<f64>) -> Self {
        let model = robot.model();
        let chain = robot.chain();
        // constant joint values: the model state of any group vector (group joints overwritten)
        let mut full = vec![0.0; model.variables().len()];
        let zeros = vec![0.0; chain.dof()];
        if robot.model_state(&zeros, &mut full).is_err() {
            full.iter_mut().for_each(|v| *v = 0.0);
        }
        // model variable -> group joint
        let mut group_of_var = vec![None; model.variables().len()];
        for (k, v) in chain.variables().iter().enumerate() {
            if let Some(slot) = group_of_var.get_mut(v.model_variable) {
                *slot = Some(k);
            }
        }
        let joints = model.joints();
        // the group joint driving a joint, with multiplier and offset
        let driver = |ji: usize| -> Option<(usize, f64, f64)> {
            let j = &joints[ji];
            if !j.kind.is_movable() {
                return None;
            }
            if let Some(v) = j.variable {
                return group_of_var
                    .get(v)
                    .copied()
                    .flatten()
                    .map(|k| (k, 1.0, 0.0));
            }
            let m = j.mimic?;
            let v = joints[m.source].variable?;
            group_of_var
                .get(v)
                .copied()
                .flatten()
                .map(|k| (k, m.multiplier, m.offset))
        };
        // links in depth order, so a parent is placed before its children
        let n_links = model.links().len();
        let mut order: Vec<usize> = (0..n_links).collect();
        order.sort_by_key(|&l| model.ancestors(l).len());
        let mut link_place: Vec<Option<(usize, Isometry3<f64>)>> = vec![None; n_links];
        let mut frames = vec![Frame {
            parent: 0,
            motion: Motion::Root,
            t: base.translation.vector,
            a: base.rotation.to_rotation_matrix().into_inner(),
            b: Matrix3::zeros(),
            c: Matrix3::zeros(),
        }];
        for &l in &order {
            let Some(ji) = model.links()[l].parent_joint else {
                link_place[l] = Some((0, Isometry3::identity()));
                continue;
            };
            let j = &joints[ji];
            let Some((parent_frame, parent_offset)) = link_place[j.parent] else {
                continue;
            };
            let k = parent_offset * j.origin;
            match driver(ji) {
                None => {
                    let value = model.joint_value(ji, &full);
                    link_place[l] = Some((parent_frame, k * j.motion(value)));
                }
                Some((variable, multiplier, offset)) => {
                    let rk = k.rotation.to_rotation_matrix().into_inner();
                    let axis = j.axis.into_inner();
                    let (motion, a, b, c) = if j.kind == JointKind::Prismatic {
                        let motion = Motion::Prismatic {
                            variable,
                            multiplier,
                            offset,
                            axis: rk * axis,
                        };
                        (motion, rk, Matrix3::zeros(), Matrix3::zeros())
                    } else {
                        let aat = axis * axis.transpose();
                        let motion = Motion::Revolute {
                            variable,
                            multiplier,
                            offset,
                        };
                        let b = rk * (Matrix3::identity() - aat);
                        (motion, rk * aat, b, rk * axis.cross_matrix())
                    };
                    frames.push(Frame {
                        parent: parent_frame,
                        motion,
                        t: k.translation.vector,
                        a,
                        b,
                        c,
                    });
                    link_place[l] = Some((frames.len() - 1, Isometry3::identity()));
                }
            }
        }
        Self { frames, link_place }
    }

    /// The frames, root first, each after its parent.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The frame of model link `link` and the link's constant pose in it (identity frame 0
    /// for a link no frame reaches).
    pub fn link_place(&self, link: usize) -> (usize, Isometry3<f64>) {
        self.link_place
            .get(link)
            .copied()
            .flatten()
            .unwrap_or((0, Isometry3::identity()))
    }

    /// World rotations and translations of every frame for group joint values `q` (rad or m;
    /// `q.len()` must be the group's joint count, checked by the caller).
    pub fn place(&self, q: &[f64], rot: &mut [Matrix3<f64>], pos: &mut [Vector3<f64>]) {
        for (fi, f) in self.frames.iter().enumerate() {
            match f.motion {
                Motion::Root => {
                    rot[fi] = f.a;
                    pos[fi] = f.t;
                }
                Motion::Revolute {
                    variable,
                    multiplier,
                    offset,
                } => {
                    let (sin, cos) = (multiplier * q[variable] + offset).sin_cos();
                    let local = f.a + f.b * cos + f.c * sin;
                    let (pr, pp) = (rot[f.parent], pos[f.parent]);
                    rot[fi] = pr * local;
                    pos[fi] = pp + pr * f.t;
                }
                Motion::Prismatic {
                    variable,
                    multiplier,
                    offset,
                    axis,
                } => {
                    let travel = multiplier * q[variable] + offset;
                    let (pr, pp) = (rot[f.parent], pos[f.parent]);
                    rot[fi] = pr * f.a;
                    pos[fi] = pp + pr * (f.t + axis * travel);
                }
            }
        }
    }
}

/// The rigid transform of a frame's world rotation and translation.
pub(crate) fn isometry(rot: &Matrix3<f64>, pos: &Vector3<f64>) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::from(*pos),
        UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(*rot)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cella_kinematics::Rng;

    #[test]
    fn frames_agree_with_the_model_forward_kinematics_for_every_bundled_robot() {
        for name in cella_kinematics::library::names() {
            let robot = cella_kinematics::library::load(name).expect("library robot");
            let base = Isometry3::from_parts(
                Translation3::new(0.3, -0.1, 0.2),
                UnitQuaternion::from_euler_angles(0.1, 0.2, 0.9),
            );
            let frames = Frames::new(&robot, &base);
            let n = frames.frames().len();
            let (mut rot, mut pos) = (vec![Matrix3::zeros(); n], vec![Vector3::zeros(); n]);
            let model = robot.model();
            let mut full = vec![0.0; model.variables().len()];
            let mut poses = vec![Isometry3::identity(); model.links().len()];
            let mut q = vec![0.0; robot.chain().dof()];
            let mut rng = Rng::new(3);
            for _ in 0..50 {
                robot.chain().random_configuration(&mut rng, &mut q);
                frames.place(&q, &mut rot, &mut pos);
                robot.model_state(&q, &mut full).expect("state");
                model.link_poses(&full, &mut poses).expect("poses");
                for (link, pose) in poses.iter().enumerate() {
                    let (f, offset) = frames.link_place(link);
                    let ours = isometry(&rot[f], &pos[f]) * offset;
                    let truth = base * pose;
                    let dt = (ours.translation.vector - truth.translation.vector).norm();
                    let dr = ours.rotation.angle_to(&truth.rotation);
                    assert!(
                        dt < 1e-12 && dr < 1e-9,
                        "{name} link {link}: {dt} m, {dr} rad"
                    );
                }
            }
        }
    }
}
