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
    /// The scalar path's form of a revolute rotation about a coordinate axis of its joint
    /// frame (see [`Turn`]); `None`: `A + cos·B + sin·C`.
    turn: Option<Turn>,
}

/// A revolute frame whose joint axis is `sign·e_axis` in the joint frame: its world rotation
/// is `R_parent·K·Rot(e_axis, sign·θ)` with `K` the joint origin's rotation, so it takes the
/// columns of `R_parent·K` (a signed column permutation of `R_parent` when `K` is one, as in
/// most industrial URDFs, else one matrix product) and turns two of them: 12 products in place
/// of the 54 of `R_parent·(A + cos·B + sin·C)`.
#[derive(Debug, Clone, Copy)]
struct Turn {
    /// `K` as a signed column permutation: column `j` of `R_parent·K` is
    /// `sign · column(from)` of `R_parent`; `None`: a general `K`.
    permutation: Option<[(usize, f64); 3]>,
    /// The joint origin's rotation `K`.
    origin: Matrix3<f64>,
    /// Coordinate axis of the joint axis, and the two columns it turns (`u × v = axis`).
    u: usize,
    v: usize,
    /// +1 or -1: the joint axis is `sign · e_axis`.
    sign: f64,
}

/// Entries closer than this to 0 or ±1 count as exactly that when recognising coordinate
/// axes and signed permutations (URDF rpy of ±π/2 leaves 6e-17 residues).
const SNAP: f64 = 1e-12;

/// `Some((axis, sign))` when `v` is `sign · e_axis` within [`SNAP`].
fn coordinate_axis(v: &Vector3<f64>) -> Option<(usize, f64)> {
    let axis = (0..3).find(|&k| (v[k].abs() - 1.0).abs() <= SNAP)?;
    let others_zero = (0..3).all(|k| k == axis || v[k].abs() <= SNAP);
    others_zero.then(|| (axis, v[axis].signum()))
}

/// `m` as a signed column permutation (column `j` = `sign · e_from` for `(from, sign)`), if
/// it is one within [`SNAP`].
fn signed_permutation(m: &Matrix3<f64>) -> Option<[(usize, f64); 3]> {
    let mut out = [(0, 0.0); 3];
    for (j, slot) in out.iter_mut().enumerate() {
        *slot = coordinate_axis(&m.column(j).into_owned())?;
    }
    Some(out)
}

impl Turn {
    fn of(origin: &Matrix3<f64>, axis: &Vector3<f64>) -> Option<Self> {
        let (k, sign) = coordinate_axis(axis)?;
        Some(Self {
            permutation: signed_permutation(origin),
            origin: *origin,
            u: (k + 1) % 3,
            v: (k + 2) % 3,
            sign,
        })
    }

    /// `R_parent · K · Rot(sign·e_axis, angle)` from `sin`, `cos` of the angle.
    #[inline]
    fn rotation(&self, parent: &Matrix3<f64>, sin: f64, cos: f64) -> Matrix3<f64> {
        let m = match self.permutation {
            Some(p) => [
                parent.column(p[0].0) * p[0].1,
                parent.column(p[1].0) * p[1].1,
                parent.column(p[2].0) * p[2].1,
            ],
            None => {
                let m = parent * self.origin;
                [
                    m.column(0).into_owned(),
                    m.column(1).into_owned(),
                    m.column(2).into_owned(),
                ]
            }
        };
        let sin = sin * self.sign;
        let (cu, cv) = (&m[self.u], &m[self.v]);
        let (tu, tv) = (cu * cos + cv * sin, cv * cos - cu * sin);
        // built whole, column by column (no partial writes into a stored matrix)
        match self.u {
            0 => Matrix3::from_columns(&[tu, tv, m[2]]),
            1 => Matrix3::from_columns(&[m[0], tu, tv]),
            _ => Matrix3::from_columns(&[tv, m[1], tu]),
        }
    }
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
        order.sort_by_cached_key(|&l| model.ancestors(l).len());
        let mut link_place: Vec<Option<(usize, Isometry3<f64>)>> = vec![None; n_links];
        let mut frames = vec![Frame {
            parent: 0,
            motion: Motion::Root,
            t: base.translation.vector,
            a: base.rotation.to_rotation_matrix().into_inner(),
            b: Matrix3::zeros(),
            c: Matrix3::zeros(),
            turn: None,
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
                    let (motion, a, b, c, turn) = if j.kind == JointKind::Prismatic {
                        let motion = Motion::Prismatic {
                            variable,
                            multiplier,
                            offset,
                            axis: rk * axis,
                        };
                        (motion, rk, Matrix3::zeros(), Matrix3::zeros(), None)
                    } else {
                        let aat = axis * axis.transpose();
                        let motion = Motion::Revolute {
                            variable,
                            multiplier,
                            offset,
                        };
                        let b = rk * (Matrix3::identity() - aat);
                        let turn = Turn::of(&rk, &axis);
                        (motion, rk * aat, b, rk * axis.cross_matrix(), turn)
                    };
                    frames.push(Frame {
                        parent: parent_frame,
                        motion,
                        t: k.translation.vector,
                        a,
                        b,
                        c,
                        turn,
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
        // the previous frame's pose, kept in registers: in a chain it is the parent
        let (mut last_rot, mut last_pos) = (Matrix3::identity(), Vector3::zeros());
        for (fi, f) in self.frames.iter().enumerate() {
            let (pr, pp) = if fi > 0 && f.parent == fi - 1 {
                (last_rot, last_pos)
            } else {
                (rot[f.parent], pos[f.parent])
            };
            let (r, p) = match f.motion {
                Motion::Root => (f.a, f.t),
                Motion::Revolute {
                    variable,
                    multiplier,
                    offset,
                } => {
                    let (sin, cos) = sin_cos(multiplier * q[variable] + offset);
                    let r = match &f.turn {
                        Some(turn) => turn.rotation(&pr, sin, cos),
                        None => pr * (f.a + f.b * cos + f.c * sin),
                    };
                    (r, pp + pr * f.t)
                }
                Motion::Prismatic {
                    variable,
                    multiplier,
                    offset,
                    axis,
                } => {
                    let travel = multiplier * q[variable] + offset;
                    (pr * f.a, pp + pr * (f.t + axis * travel))
                }
            };
            rot[fi] = r;
            pos[fi] = p;
            (last_rot, last_pos) = (r, p);
        }
    }
}

/// Taylor coefficients of `(sin r − r) / r³` in powers of `r²`: −1/3!, 1/5!, … 1/17!.
const SIN_TAYLOR: [f64; 8] = [
    -1.0 / 6.0,
    1.0 / 120.0,
    -1.0 / 5_040.0,
    1.0 / 362_880.0,
    -1.0 / 39_916_800.0,
    1.0 / 6_227_020_800.0,
    -1.0 / 1_307_674_368_000.0,
    1.0 / 355_687_428_096_000.0,
];

/// Taylor coefficients of `(cos r − 1) / r²` in powers of `r²`: −1/2!, 1/4!, … −1/18!.
const COS_TAYLOR: [f64; 9] = [
    -0.5,
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40_320.0,
    -1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    -1.0 / 87_178_291_200.0,
    1.0 / 20_922_789_888_000.0,
    -1.0 / 6_402_373_705_728_000.0,
];

/// `c[0] + x·(c[1] + x·(c[2] + …))`.
#[inline(always)]
fn horner(x: f64, c: &[f64]) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// `(sin x, cos x)` for a finite `x` (rad), to a few units in the last place for
/// `|x| < 10⁵` (test `sin_cos_matches_the_standard_library`): reduction by π/2 with π/2 in
/// three parts (Cody and Waite), Taylor polynomials to the 17th and 18th power on
/// [−π/4, π/4] (truncation below 5·10⁻¹⁷ there). Inlined, without the library call, so the
/// independent angles of a chain overlap with its matrix products.
#[inline(always)]
fn sin_cos(x: f64) -> (f64, f64) {
    // π/2 = P1 + P2 + P3, P1 and P2 with trailing zero bits so k·P1 and k·P2 are exact
    const P1: f64 = 1.570_796_326_734_125_6;
    const P2: f64 = 6.077_100_506_303_966e-11;
    const P3: f64 = 2.022_266_248_795_950_6e-21;
    // adding and subtracting 1.5·2⁵² rounds to the nearest integer (|y| < 2⁵¹)
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let k = (x * std::f64::consts::FRAC_2_PI + ROUND) - ROUND;
    let r = ((x - k * P1) - k * P2) - k * P3;
    let r2 = r * r;
    let s = r + r * r2 * horner(r2, &SIN_TAYLOR);
    let c = 1.0 + r2 * horner(r2, &COS_TAYLOR);
    match (k as i64) & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
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

    /// The turned-columns form equals `R_parent · K · Rot(axis, θ)` for every coordinate
    /// axis of either sign, with `K` a signed permutation (the permuted columns) or a general
    /// rotation (the product), and recognises neither a tilted axis nor a tilted `K`.
    #[test]
    fn turned_columns_equal_the_rotation_product() {
        let mut rng = Rng::new(5);
        let mut angle = || rng.uniform(-3.2, 3.2);
        let general = Rotation3::from_euler_angles(0.3, -1.1, 2.0).into_inner();
        let permuted =
            Rotation3::from_euler_angles(std::f64::consts::FRAC_PI_2, 0.0, std::f64::consts::PI)
                .into_inner();
        for origin in [general, permuted, Matrix3::identity()] {
            for k in 0..3 {
                for sign in [1.0, -1.0] {
                    let mut axis = Vector3::zeros();
                    axis[k] = sign;
                    let turn = Turn::of(&origin, &axis).expect("a coordinate axis");
                    assert_eq!(turn.permutation.is_some(), origin != general);
                    for _ in 0..20 {
                        let parent = Rotation3::from_euler_angles(angle(), angle(), angle());
                        let theta = angle();
                        let truth = parent.into_inner()
                            * origin
                            * Rotation3::from_axis_angle(
                                &nalgebra::Unit::new_normalize(axis),
                                theta,
                            )
                            .into_inner();
                        let ours = turn.rotation(&parent.into_inner(), theta.sin(), theta.cos());
                        assert!((ours - truth).abs().max() < 1e-14, "axis {k} sign {sign}");
                    }
                }
            }
        }
        assert!(Turn::of(&general, &Vector3::new(0.0, 0.6, 0.8)).is_none());
        assert!(signed_permutation(&general).is_none());
    }

    /// The inlined sine and cosine agree with the standard library's to 4·10⁻¹⁶ over joint
    /// angles and far beyond (continuous joints), including the quadrant edges.
    #[test]
    fn sin_cos_matches_the_standard_library() {
        let mut worst: f64 = 0.0;
        let mut check = |x: f64| {
            let (s, c) = sin_cos(x);
            worst = worst.max((s - x.sin()).abs()).max((c - x.cos()).abs());
        };
        for i in -400_000..400_000 {
            check(f64::from(i) * 1e-4 + 0.3e-7);
        }
        for k in -2_000..2_000 {
            let edge = f64::from(k) * std::f64::consts::FRAC_PI_4;
            for d in [-1e-12, 0.0, 1e-12] {
                check(edge + d);
            }
        }
        for i in 0..10_000 {
            check(f64::from(i) * 9.7 - 5e4);
        }
        assert!(worst < 4e-16, "worst error {worst}");
    }
}
