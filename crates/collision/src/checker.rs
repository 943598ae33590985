//! The fast validity checker of one planning group against the world, other robots and itself.
//!
//! Immutable and `Send + Sync`: build it once per world snapshot, share it between planner
//! threads, and give each thread a [`CheckScratch`] (all per-query memory; no allocation per
//! query). Robot geometry is capsules (conservative covers of the real links); obstacles are
//! exact primitives. Every query first rejects far pairs by bounding spheres.

use crate::error::{CollisionError, Result};
use crate::robot_geometry::{LinkCapsule, RobotGeometry, bounding_capsule};
use crate::shape::{Shape, segment_segment_distance};
use crate::world::World;
use nalgebra::{Isometry3, Matrix3, Point3, Translation3, UnitQuaternion, Vector3};
use std::sync::Arc;

mod broad_phase;
mod clearance;
mod exact_check;
mod motion;

/// Accuracy (m) of the segment/box and segment/cylinder distance search; distances are lower
/// bounds, so this only costs conservatism, never safety.
const DISTANCE_TOLERANCE: f64 = 1e-4;

/// Default motion resolution: no point of the robot moves more than this (m) between two
/// checked states of a motion.
pub const DEFAULT_RESOLUTION: f64 = 0.01;

#[derive(Clone)]
struct Obstacle {
    name: String,
    shape: Shape,
    inverse_pose: Isometry3<f64>,
    center: Point3<f64>,
    bound: f64,
    /// The same object as a parry shape and world pose, built on first use: parry only
    /// proposes separating directions when the exact layer's own search is undecided, which
    /// is rare, and building a cylinder's prism costs tens of microseconds per obstacle.
    exact: std::sync::OnceLock<(parry3d::shape::SharedShape, parry3d::math::Pose)>,
    /// Pose in the world frame.
    placement: crate::exact::Placement,
    /// For a capsule of another robot's link with exact geometry: that link, whose hulls the
    /// exact layer decides on (the capsule, which contains them, only prunes).
    other_link: Option<OtherLink>,
}

/// A link of another robot judged on the convex hulls of its real meshes, as that robot's own
/// exact layer judges it: so the clearance between two robots' links is the same quantity
/// (hull to hull, or hull to capsule where one side has no hulls) whichever robot's checker
/// measures it, and a motion one robot is admitted to never leaves the other in collision by
/// its own checker.
#[derive(Clone)]
struct OtherLink {
    exact: Arc<crate::exact::ExactLinks>,
    link: usize,
    /// The link's pose, world frame.
    placement: crate::exact::Placement,
    /// How much the other robot is grown, m ([`StaticRobot::margin`]): kept on top of the
    /// padding.
    margin: f64,
}

impl OtherLink {
    /// The link's hulls (link frame).
    fn hulls(&self) -> &[crate::exact::Hull] {
        self.exact.of(self.link)
    }
}

impl Obstacle {
    /// The parry shape and world pose of the object ([`crate::exact::exact_core`]).
    fn parry(&self) -> &(parry3d::shape::SharedShape, parry3d::math::Pose) {
        self.exact
            .get_or_init(|| crate::exact::exact_core(&self.shape, &self.placement.isometry()))
    }
}

impl std::fmt::Debug for Obstacle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Obstacle({}, {:?})", self.name, self.shape)
    }
}

impl Obstacle {
    /// Lower bound on the clearance between this obstacle and the capsule `a → b` of radius
    /// `r` (world frame) from bounding spheres alone: cheap, for pruning.
    fn capsule_gap(&self, a: &Point3<f64>, b: &Point3<f64>, r: f64) -> f64 {
        (nalgebra::center(a, b) - self.center).norm() - self.bound - 0.5 * (b - a).norm() - r
    }

    /// Lower bound on the clearance between this obstacle and a ball (world centre `center`,
    /// radius `radius`): the exact distance from the centre to the shape minus the radius.
    /// Tighter than [`Obstacle::capsule_gap`]'s bounding spheres for long thin objects (boards,
    /// table tops), at the cost of one transform.
    fn ball_gap(&self, center: &Point3<f64>, radius: f64) -> f64 {
        self.shape.point_distance(&(self.inverse_pose * center)) - radius
    }

    /// Clearance (m, a certified lower bound) between this obstacle and the capsule `a → b`
    /// of radius `r`, both in the world frame; negative inside.
    fn capsule_clearance(&self, a: &Point3<f64>, b: &Point3<f64>, r: f64) -> f64 {
        self.shape.segment_distance(
            &(self.inverse_pose * a),
            &(self.inverse_pose * b),
            DISTANCE_TOLERANCE,
        ) - r
    }
}

fn obstacle(name: String, shape: Shape, pose: &Isometry3<f64>) -> Obstacle {
    Obstacle {
        name,
        shape,
        inverse_pose: pose.inverse(),
        center: Point3::from(pose.translation.vector),
        bound: shape.bounding_radius(),
        exact: std::sync::OnceLock::new(),
        placement: pose.into(),
        other_link: None,
    }
}

/// Another robot held at fixed joint values: its capsules become static obstacles.
#[derive(Debug, Clone)]
pub struct StaticRobot {
    /// Name prefix for its links in reports (`<name>/<link>`).
    pub name: String,
    /// Its geometry.
    pub geometry: Arc<RobotGeometry>,
    /// Its base pose in the world frame.
    pub base: Isometry3<f64>,
    /// Its group joint values.
    pub joints: Vec<f64>,
    /// Grown by this much in every direction, m (a robot that may move a little from
    /// `joints`: what it reaches, as a bound on how far any point of it can get).
    pub margin: f64,
    /// The objects it carries (their `link` is one of its links).
    pub attached: Vec<crate::world::AttachedObject>,
}

impl StaticRobot {
    /// `geometry` at `base` (world frame) and `joints`, nothing carried, no margin.
    pub fn at(
        name: impl Into<String>,
        geometry: Arc<RobotGeometry>,
        base: Isometry3<f64>,
        joints: Vec<f64>,
    ) -> Self {
        Self {
            name: name.into(),
            geometry,
            base,
            joints,
            margin: 0.0,
            attached: Vec::new(),
        }
    }
}

/// The closest pair of a state and its clearance.
#[derive(Debug, Clone, PartialEq)]
pub struct Proximity {
    /// Clearance, m (negative: penetration depth bound; capsule models are conservative).
    pub distance: f64,
    /// First element (a robot link or attached object).
    pub a: String,
    /// Second element (a link, an object, or `<robot>/<link>`).
    pub b: String,
}

/// A capsule's axis in the world frame: its two end points (m).
pub type Segment = (Point3<f64>, Point3<f64>);

/// Per-thread scratch memory for [`Checker`] queries.
#[derive(Debug, Clone)]
pub struct CheckScratch {
    /// World rotation and translation of every moving frame ([`crate::frames`]).
    rot: Vec<Matrix3<f64>>,
    pos: Vec<Vector3<f64>>,
    /// World capsule ends, valid for the link groups marked in `ends_placed`.
    ends: Vec<(Point3<f64>, Point3<f64>)>,
    ends_placed: Vec<bool>,
    /// World bounding-sphere centre of every link group.
    centers: Vec<Point3<f64>>,
    dof: usize,
    batch: crate::batch::BatchScratch,
    /// Last certified separating direction (unit, world frame, hull toward obstacle) per
    /// `hull * obstacles + obstacle`; zero when none. Tried first at the next state: along a
    /// motion the previous state's certificate usually still holds (temporal coherence).
    obstacle_witness: Vec<Vector3<f64>>,
    /// The same per pair of hulls of two links of the robot, `hull_a * hulls + hull_b`.
    self_witness: Vec<Vector3<f64>>,
    /// Batched advancement along a motion: rates in `f32`, the stretches of the motion
    /// parameter not yet proven free, and the states of one batch.
    group_rate32: Vec<f32>,
    pair_rate32: Vec<f32>,
    /// Rates of link groups or self pairs in `f64`, while they are summed.
    rate_sums: Vec<f64>,
    gaps: Vec<(f64, f64)>,
    next_gaps: Vec<(f64, f64)>,
    lane_q: Vec<f64>,
    /// The states of a straight motion back to back, and where each state of a polyline lies
    /// along it (see [`Checker::path_valid`]).
    polyline: Vec<f64>,
    knots: Vec<f64>,
    /// Per joint: how far it moves per unit of the motion parameter.
    joint_rate: Vec<f64>,
}

/// Fast validity checks of one robot (its planning group) in a world.
#[derive(Debug, Clone)]
pub struct Checker {
    geometry: Arc<RobotGeometry>,
    names: Vec<String>,
    obstacles: Vec<Obstacle>,
    /// Obstacles from this index on are other robots and the parts they carry.
    first_robot_obstacle: usize,
    /// The obstacles' bounding spheres in rows for the broad phase (an [`Obstacle`] spans
    /// four cache lines).
    bounds: broad_phase::BoundRows,
    /// `allowed[o * n_capsules + c]`: obstacle `o` may touch capsule `c`.
    allowed: Vec<bool>,
    padding: f64,
    resolution: f64,
    /// Capsules grouped by link, with a bounding sphere per link (broad phase).
    groups: Vec<LinkGroup>,
    /// Link-group pairs checked for self-collision, with their capsule pairs.
    self_groups: Vec<SelfGroupPair>,
    /// The same model as `f32` sphere lanes for [`Checker::is_valid_batch`].
    pub(crate) batch: crate::batch::BatchModel,
    /// Number of convex hulls of the exact layer over all link groups.
    hull_count: usize,
    /// Forward kinematics of the moving frames.
    frames: crate::frames::Frames,
    /// Capsule segment ends in the frame of their link group.
    frame_ends: Vec<(Point3<f64>, Point3<f64>)>,
    /// Per group joint: its largest lever over the link groups (m/rad).
    largest_levers: Vec<f64>,
    /// Per group joint (rows of one entry per link group): the joint's lever (m/rad) on the
    /// group's points, for [`Checker::motion_valid`]'s rates.
    group_levers: Vec<f64>,
    /// Per group joint (rows of one entry per self pair): the joint's lever (m/rad) on how
    /// far the pair's links move relative to each other: the larger of their levers for a
    /// joint above exactly one of them, zero otherwise.
    pair_levers: Vec<f64>,
}

/// The capsules of one link and a sphere (link frame) containing them all.
#[derive(Debug, Clone)]
struct LinkGroup {
    link: usize,
    /// Group joints between the robot root and this link (they move it).
    upstream: Vec<bool>,
    capsules: Vec<u16>,
    center: Point3<f64>,
    radius: f64,
    /// Index of the link's first hull among all hulls of the exact layer (their order: link
    /// groups in order, each link's hulls in order).
    first_hull: usize,
    /// Per group joint: bound on how far a point of this link moves per unit of that joint
    /// (m/rad, 1 for prismatic joints; 0 for joints not above the link): the distance from the
    /// joint's axis to the link's geometry, bounded through the joint origins in between.
    levers: Vec<f64>,
    /// The moving frame the link is fixed to, and the link's pose in it.
    frame: usize,
    offset: crate::exact::Placement,
    /// `center` in that frame.
    frame_center: Point3<f64>,
}

#[derive(Debug, Clone)]
struct SelfGroupPair {
    a: usize,
    b: usize,
    pairs: Vec<(u16, u16)>,
}

fn link_groups(geometry: &RobotGeometry) -> Vec<LinkGroup> {
    let mut groups: Vec<LinkGroup> = Vec::new();
    for (i, c) in geometry.capsules().iter().enumerate() {
        match groups.iter_mut().find(|g| g.link == c.link) {
            Some(g) => g.capsules.push(i as u16),
            None => groups.push(LinkGroup {
                link: c.link,
                upstream: Vec::new(),
                capsules: vec![i as u16],
                center: Point3::origin(),
                radius: 0.0,
                first_hull: 0,
                levers: Vec::new(),
                frame: 0,
                offset: (&Isometry3::identity()).into(),
                frame_center: Point3::origin(),
            }),
        }
    }
    let variable_of = group_joint_of_model_joint(geometry);
    for g in &mut groups {
        let caps: Vec<_> = g
            .capsules
            .iter()
            .map(|&i| geometry.capsules()[i as usize])
            .collect();
        let mut lo = Vector3::repeat(f64::INFINITY);
        let mut hi = Vector3::repeat(f64::NEG_INFINITY);
        for c in &caps {
            lo = lo.inf(&c.a.coords).inf(&c.b.coords);
            hi = hi.sup(&c.a.coords).sup(&c.b.coords);
        }
        g.center = Point3::from((lo + hi) / 2.0);
        g.radius = caps
            .iter()
            .map(|c| (c.a - g.center).norm().max((c.b - g.center).norm()) + c.radius)
            .fold(0.0, f64::max);
        let extent = caps
            .iter()
            .map(|c| c.a.coords.norm().max(c.b.coords.norm()) + c.radius)
            .fold(0.0, f64::max);
        (g.upstream, g.levers) = link_levers(geometry, &variable_of, g.link, extent);
    }
    groups
}

/// Per model joint: the group joint it is (`None` for joints outside the planning group).
fn group_joint_of_model_joint(geometry: &RobotGeometry) -> Vec<Option<usize>> {
    let robot = geometry.robot();
    let model = robot.model();
    let mut v = vec![None; model.joints().len()];
    for (k, var) in robot.chain().variables().iter().enumerate() {
        if let Ok(j) = model.joint_index(&var.name) {
            v[j] = Some(k);
        }
    }
    v
}

/// Per group joint: whether it lies between the model root and `link`, and a bound on the
/// displacement (m) of any point of `link`'s geometry (within `extent` of the link frame
/// origin) per unit of the joint (0 for joints not above the link): walking up from the link,
/// the distance from each joint's child frame origin (on its axis) grows by at most the joint
/// origin offsets (and prismatic travel) in between. Never more than the robot-wide
/// [`RobotGeometry::lever_arms`], much less for links near the base.
fn link_levers(
    geometry: &RobotGeometry,
    variable_of: &[Option<usize>],
    link: usize,
    extent: f64,
) -> (Vec<bool>, Vec<f64>) {
    let robot = geometry.robot();
    let model = robot.model();
    let joints = model.joints();
    let mut upstream = vec![false; robot.chain().dof()];
    let mut levers = vec![0.0; robot.chain().dof()];
    let mut reach = extent;
    let mut current = link;
    while let Some(ji) = model.links()[current].parent_joint {
        let j = &joints[ji];
        let prismatic = j.kind == cella_kinematics::JointKind::Prismatic;
        if let Some(k) = variable_of[ji] {
            upstream[k] = true;
            levers[k] = if prismatic { 1.0 } else { reach };
        }
        let travel = if prismatic {
            j.limits.lower.abs().max(j.limits.upper.abs())
        } else {
            0.0
        };
        reach += j.origin.translation.vector.norm() + travel;
        current = j.parent;
    }
    (upstream, levers)
}

fn self_group_pairs(geometry: &RobotGeometry, groups: &[LinkGroup]) -> Vec<SelfGroupPair> {
    let mut group_of = vec![0; geometry.capsules().len()];
    for (gi, g) in groups.iter().enumerate() {
        for &c in &g.capsules {
            group_of[c as usize] = gi;
        }
    }
    let mut out: Vec<SelfGroupPair> = Vec::new();
    // where each (group, group) pair sits in `out`, in order of first appearance
    let mut slot = vec![usize::MAX; groups.len() * groups.len()];
    for &(i, j) in geometry.self_pairs() {
        let (a, b) = (group_of[i as usize], group_of[j as usize]);
        let k = &mut slot[a * groups.len() + b];
        if *k == usize::MAX {
            *k = out.len();
            out.push(SelfGroupPair {
                a,
                b,
                pairs: Vec::new(),
            });
        }
        out[*k].pairs.push((i, j));
    }
    out
}

/// Removes the self pairs that can never collide because they never move relative to each
/// other: both capsules fixed to the same moving frame (joints outside the planning group, such
/// as gripper fingers, keep their values) and clear of each other there. The capsules contain
/// the links, so such a pair is free in every state and for the exact layer too. A rigid pair
/// that overlaps stays: every state then reports it.
fn drop_rigid_clear_pairs(
    pairs: Vec<SelfGroupPair>,
    groups: &[LinkGroup],
    frame_ends: &[(Point3<f64>, Point3<f64>)],
    caps: &[LinkCapsule],
) -> Vec<SelfGroupPair> {
    pairs
        .into_iter()
        .filter_map(|mut p| {
            if groups[p.a].frame == groups[p.b].frame {
                p.pairs.retain(|&(i, j)| {
                    let ((a0, a1), (b0, b1)) = (&frame_ends[i as usize], &frame_ends[j as usize]);
                    let reach = caps[i as usize].radius + caps[j as usize].radius;
                    segment_segment_distance(a0, a1, b0, b1) < reach
                });
            }
            (!p.pairs.is_empty()).then_some(p)
        })
        .collect()
}

fn capsule_shape(a: &Point3<f64>, b: &Point3<f64>, r: f64) -> (Shape, Isometry3<f64>) {
    let axis = b - a;
    let half = axis.norm() / 2.0;
    let rotation = if half > 0.0 {
        UnitQuaternion::rotation_between(&Vector3::z(), &axis).unwrap_or_else(|| {
            // antiparallel to z
            UnitQuaternion::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI)
        })
    } else {
        UnitQuaternion::identity()
    };
    let center = nalgebra::center(a, b);
    (
        Shape::Capsule {
            radius: r,
            half_length: half,
        },
        Isometry3::from_parts(Translation3::from(center.coords), rotation),
    )
}

impl Checker {
    /// A checker for `geometry` placed at `base` (world frame) in `world`, with `others` as
    /// static obstacles. Attached objects of the world whose link belongs to this robot move
    /// with it (as a capsule containing their shape).
    pub fn new(
        geometry: Arc<RobotGeometry>,
        base: Isometry3<f64>,
        world: &World,
        others: &[StaticRobot],
    ) -> Result<Self> {
        let mut geometry = geometry;
        let mut names: Vec<String> = (0..geometry.capsules().len())
            .map(|i| geometry.capsule_link_name(i).to_owned())
            .collect();
        for att in world.attached() {
            let model = geometry.robot().model();
            if model.link_index(&att.link).is_err() {
                continue; // attached to another robot
            }
            let points = shape_corner_points(&att.shape);
            let points: Vec<Point3<f64>> = points.iter().map(|p| att.pose_in_link * p).collect();
            let (a, b, mut r) =
                bounding_capsule(&points).ok_or_else(|| CollisionError::BadGeometry {
                    what: format!("attached object '{}'", att.name),
                    reason: "degenerate shape".into(),
                })?;
            r += round_extra(&att.shape);
            let mut touch = att.touch_links.clone();
            touch.push(att.link.clone());
            let (g, _) = geometry.with_attached(&att.link, (a, b, r), &touch)?;
            geometry = Arc::new(g);
            names.push(att.name.clone());
        }
        let first_robot_obstacle = world.objects().len();
        let mut obstacles: Vec<Obstacle> = world
            .objects()
            .iter()
            // an object that asks for more clearance than the world's padding is checked grown
            // by the difference
            .map(|o| {
                let extra = (o.padding - world.padding()).max(0.0);
                obstacle(o.name.clone(), o.shape.inflated(extra), &o.pose)
            })
            .collect();
        let mut scratch_poses = Vec::new();
        for other in others {
            let robot = other.geometry.robot();
            let model = robot.model();
            let mut full = vec![0.0; model.variables().len()];
            robot.model_state(&other.joints, &mut full)?;
            scratch_poses.resize(model.links().len(), Isometry3::identity());
            model.link_poses(&full, &mut scratch_poses)?;
            if !(other.margin.is_finite() && other.margin >= 0.0) {
                return Err(CollisionError::BadGeometry {
                    what: format!("robot '{}'", other.name),
                    reason: format!("margin {} is not a finite distance >= 0", other.margin),
                });
            }
            let exact = other.geometry.exact();
            let robot_capsules = other.geometry.robot_capsules();
            for (i, c) in other.geometry.capsules().iter().enumerate() {
                let t = other.base * scratch_poses[c.link];
                let (shape, pose) = capsule_shape(&(t * c.a), &(t * c.b), c.radius + other.margin);
                let mut o = obstacle(
                    format!("{}/{}", other.name, other.geometry.capsule_link_name(i)),
                    shape,
                    &pose,
                );
                o.other_link = exact
                    .filter(|e| i < robot_capsules && e.has(c.link))
                    .map(|e| OtherLink {
                        exact: e.clone(),
                        link: c.link,
                        placement: (&t).into(),
                        margin: other.margin,
                    });
                obstacles.push(o);
            }
            for att in &other.attached {
                let link = model.link_index(&att.link)?;
                let t = other.base * scratch_poses[link] * att.pose_in_link;
                let points: Vec<Point3<f64>> = shape_corner_points(&att.shape)
                    .iter()
                    .map(|p| t * p)
                    .collect();
                let (a, b, r) =
                    bounding_capsule(&points).ok_or_else(|| CollisionError::BadGeometry {
                        what: format!("attached object '{}'", att.name),
                        reason: "degenerate shape".into(),
                    })?;
                let r = r + round_extra(&att.shape) + other.margin;
                let (shape, pose) = capsule_shape(&a, &b, r);
                obstacles.push(obstacle(
                    format!("{}/{}", other.name, att.name),
                    shape,
                    &pose,
                ));
            }
        }
        let n = geometry.capsules().len();
        let mut allowed = vec![false; obstacles.len() * n];
        for (o, obstacle) in obstacles.iter().enumerate() {
            for contact in world.allowed_contacts() {
                if contact.object == obstacle.name {
                    for (c, name) in names.iter().enumerate() {
                        if *name == contact.link {
                            allowed[o * n + c] = true;
                        }
                    }
                }
            }
        }
        let mut groups = link_groups(&geometry);
        let frames = crate::frames::Frames::new(geometry.robot(), &base);
        let mut frame_ends = vec![(Point3::origin(), Point3::origin()); geometry.capsules().len()];
        let mut hull_count = 0;
        for g in &mut groups {
            g.first_hull = hull_count;
            hull_count += geometry.exact().map_or(0, |e| e.of(g.link).len());
            let (frame, offset) = frames.link_place(g.link);
            (g.frame, g.offset) = (frame, (&offset).into());
            g.frame_center = offset * g.center;
            for &ci in &g.capsules {
                let c = &geometry.capsules()[ci as usize];
                frame_ends[ci as usize] = (offset * c.a, offset * c.b);
            }
        }
        let self_groups = drop_rigid_clear_pairs(
            self_group_pairs(&geometry, &groups),
            &groups,
            &frame_ends,
            geometry.capsules(),
        );
        let batch = crate::batch::BatchModel::new(crate::batch::BatchInput {
            geometry: &geometry,
            base: &base,
            frames: &frames,
            groups: groups
                .iter()
                .map(|g| (g.link, g.capsules.clone()))
                .collect(),
            obstacles: obstacles
                .iter()
                .map(|o| (o.shape, o.inverse_pose))
                .collect(),
            allowed: &allowed,
            self_pairs: self_groups
                .iter()
                .map(|p| (p.a, p.b, p.pairs.clone()))
                .collect(),
            padding: world.padding(),
        });
        let dof = geometry.robot().chain().dof();
        let (groups_ref, pairs_ref) = (&groups, &self_groups);
        let group_levers = (0..dof)
            .flat_map(|j| groups_ref.iter().map(move |g| g.levers[j]))
            .collect();
        let pair_levers = (0..dof)
            .flat_map(|j| {
                pairs_ref.iter().map(move |p| {
                    let (ga, gb) = (&groups_ref[p.a], &groups_ref[p.b]);
                    if ga.upstream[j] != gb.upstream[j] {
                        ga.levers[j].max(gb.levers[j])
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let largest_levers = (0..dof)
            .map(|k| groups.iter().map(|g| g.levers[k]).fold(0.0, f64::max))
            .collect();
        Ok(Self {
            first_robot_obstacle,
            batch,
            largest_levers,
            group_levers,
            pair_levers,
            groups,
            self_groups,
            geometry,
            names,
            bounds: broad_phase::BoundRows::new(obstacles.iter().map(|o| (o.center, o.bound))),
            obstacles,
            allowed,
            padding: world.padding(),
            resolution: DEFAULT_RESOLUTION,
            hull_count,
            frames,
            frame_ends,
        })
    }

    /// Sets the motion resolution (m): the largest displacement of any robot point between two
    /// checked states of a motion.
    pub fn set_resolution(&mut self, metres: f64) -> Result<()> {
        if !(metres.is_finite() && metres > 0.0) {
            return Err(CollisionError::BadGeometry {
                what: "resolution".into(),
                reason: format!("{metres} is not a positive distance"),
            });
        }
        self.resolution = metres;
        Ok(())
    }

    /// The motion resolution (m).
    pub fn resolution(&self) -> f64 {
        self.resolution
    }

    /// The robot geometry (with attached objects).
    pub fn geometry(&self) -> &Arc<RobotGeometry> {
        &self.geometry
    }

    /// Number of group joints.
    pub fn dof(&self) -> usize {
        self.geometry.robot().chain().dof()
    }

    /// Scratch memory for one thread.
    pub fn scratch(&self) -> CheckScratch {
        let robot = self.geometry.robot();
        CheckScratch {
            rot: vec![Matrix3::zeros(); self.frames.frames().len()],
            pos: vec![Vector3::zeros(); self.frames.frames().len()],
            ends: vec![(Point3::origin(), Point3::origin()); self.geometry.capsules().len()],
            ends_placed: vec![false; self.groups.len()],
            centers: vec![Point3::origin(); self.groups.len()],
            dof: robot.chain().dof(),
            batch: self.batch.scratch(),
            obstacle_witness: vec![Vector3::zeros(); self.hull_count * self.obstacles.len()],
            self_witness: vec![Vector3::zeros(); self.hull_count * self.hull_count],
            group_rate32: vec![0.0; self.groups.len()],
            pair_rate32: vec![0.0; self.self_groups.len()],
            rate_sums: vec![0.0; self.groups.len().max(self.self_groups.len())],
            gaps: Vec::with_capacity(64),
            next_gaps: Vec::with_capacity(64),
            lane_q: vec![0.0; crate::batch::LANES * robot.chain().dof()],
            polyline: Vec::with_capacity(2 * robot.chain().dof()),
            knots: Vec::with_capacity(64),
            joint_rate: vec![0.0; robot.chain().dof()],
        }
    }

    /// Validity of many states at once: `states` holds `out.len()` group joint vectors back to
    /// back (`states[i * dof .. (i + 1) * dof]`, rad or m), `out[i]` receives the verdict of
    /// state `i`, identical to [`Checker::is_valid`]'s.
    ///
    /// States go through the `f32` sphere-lane filter 8 at a time (the batch path, spheres
    /// covering the capsules); only the states it cannot clear are checked one by one (capsules in
    /// `f64`, then the exact layer). No allocation. A length mismatch is an error.
    pub fn is_valid_batch(
        &self,
        s: &mut CheckScratch,
        states: &[f64],
        out: &mut [bool],
    ) -> Result<()> {
        use crate::batch::LANES;
        let dof = s.dof;
        if states.len() != out.len() * dof {
            return Err(CollisionError::Kinematics(
                cella_kinematics::KinematicsError::JointCountMismatch {
                    what: "batch states (states x joints)".into(),
                    expected: out.len() * dof,
                    got: states.len(),
                },
            ));
        }
        let mut hit = [false; LANES];
        for (chunk, verdicts) in states.chunks(LANES * dof).zip(out.chunks_mut(LANES)) {
            let count = verdicts.len();
            if chunk.iter().all(|v| v.is_finite()) {
                self.batch.filter(&mut s.batch, chunk, count, &mut hit);
            } else {
                hit = [true; LANES];
            }
            for (i, v) in verdicts.iter_mut().enumerate() {
                *v = !hit[i] || self.is_valid_near_contact(s, &chunk[i * dof..(i + 1) * dof], i);
            }
        }
        Ok(())
    }

    /// The batch filter alone (no scalar fallback): `out[i]` is true when the `f32` sphere
    /// cover clears state `i` (then [`Checker::is_valid`] is true as well); false means "maybe
    /// colliding". For tests and statistics of the batch path.
    pub fn batch_prefilter(
        &self,
        s: &mut CheckScratch,
        states: &[f64],
        out: &mut [bool],
    ) -> Result<()> {
        use crate::batch::LANES;
        let dof = s.dof;
        if states.len() != out.len() * dof || states.iter().any(|v| !v.is_finite()) {
            return Err(CollisionError::Kinematics(
                cella_kinematics::KinematicsError::JointCountMismatch {
                    what: "batch states (states x joints), all finite".into(),
                    expected: out.len() * dof,
                    got: states.len(),
                },
            ));
        }
        let mut hit = [false; LANES];
        for (chunk, verdicts) in states.chunks(LANES * dof).zip(out.chunks_mut(LANES)) {
            self.batch
                .filter(&mut s.batch, chunk, verdicts.len(), &mut hit);
            for (v, h) in verdicts.iter_mut().zip(hit) {
                *v = !h;
            }
        }
        Ok(())
    }

    /// The `f32` pad (m) of the batch path and the number of spheres covering the robot.
    pub fn batch_stats(&self) -> (f64, usize) {
        (f64::from(self.batch.f32_pad()), self.batch.sphere_count())
    }

    /// Places every capsule for joint values `q`; false on bad input (length, NaN).
    fn place(&self, s: &mut CheckScratch, q: &[f64]) -> bool {
        if !self.place_frames(s, q) {
            return false;
        }
        for gi in 0..self.groups.len() {
            self.place_ends(s, gi);
        }
        true
    }

    /// The frames of `q` and every link group's bounding-sphere centre (world frame) into
    /// `s`; capsule ends are placed per group on demand ([`Checker::place_ends`]): a group
    /// clear of everything by its bounding sphere never needs them. `false` on a non-finite
    /// `q` or a scratch made by another checker (refused, not indexed out of bounds).
    fn place_frames(&self, s: &mut CheckScratch, q: &[f64]) -> bool {
        if !self.place_frames_only(s, q) {
            return false;
        }
        for (g, center) in self.groups.iter().zip(s.centers.iter_mut()) {
            let (r, t) = (&s.rot[g.frame], &s.pos[g.frame]);
            *center = Point3::from(r * g.frame_center.coords + t);
        }
        true
    }

    /// [`Checker::place_frames`] without the link groups' centres (the near-contact check
    /// reads only the frames and the listed groups' capsule ends).
    fn place_frames_only(&self, s: &mut CheckScratch, q: &[f64]) -> bool {
        let frames = self.frames.frames().len();
        if q.len() != s.dof
            || q.iter().any(|v| !v.is_finite())
            || s.rot.len() != frames
            || s.pos.len() != frames
            || s.centers.len() != self.groups.len()
            || s.ends_placed.len() != self.groups.len()
            || s.ends.len() != self.frame_ends.len()
        {
            return false;
        }
        self.frames.place(q, &mut s.rot, &mut s.pos);
        s.ends_placed.fill(false);
        true
    }

    /// The capsule ends (world frame) of link group `gi`, from the frames
    /// [`Checker::place_frames`] put into `s`, unless already placed for this state.
    #[inline]
    fn place_ends(&self, s: &mut CheckScratch, gi: usize) {
        if s.ends_placed[gi] {
            return;
        }
        s.ends_placed[gi] = true;
        let g = &self.groups[gi];
        let (r, t) = (&s.rot[g.frame], &s.pos[g.frame]);
        for &i in &g.capsules {
            let (a, b) = &self.frame_ends[i as usize];
            s.ends[i as usize] = (
                Point3::from(r * a.coords + t),
                Point3::from(r * b.coords + t),
            );
        }
    }

    /// World pose of the link of group `g` at the placed state.
    fn link_world(&self, s: &CheckScratch, g: &LinkGroup) -> crate::exact::Placement {
        let (r, t, o) = (&s.rot[g.frame], &s.pos[g.frame], &g.offset);
        crate::exact::Placement {
            rot: r * o.rot,
            pos: r * o.pos + t,
        }
    }

    /// Visits colliding pairs (or, with `collect_distance`, every pair that may be closer than
    /// `*best`, updating it) until `on_pair` returns false. Returns false if a visit stopped it.
    /// Link bounding spheres prune whole links before any capsule is looked at.
    fn scan(
        &self,
        s: &mut CheckScratch,
        mut on_pair: impl FnMut(usize, Target, f64) -> bool,
        collect_distance: bool,
        best: &mut f64,
    ) -> bool {
        let caps = self.geometry.capsules();
        let n = caps.len();
        let threshold = |best: f64, padding: f64| if collect_distance { best } else { padding };
        for (gi, g) in self.groups.iter().enumerate() {
            let center = s.centers[gi];
            // (while collecting distances `best` shrinks inside the loop: the bound taken at
            // the start keeps more obstacles than needed, never fewer)
            for oi in self
                .bounds
                .near(&center, g.radius, threshold(*best, self.padding))
            {
                let o = &self.obstacles[oi];
                if o.ball_gap(&center, g.radius) >= threshold(*best, self.padding) {
                    continue;
                }
                self.place_ends(s, gi);
                for &ci in &g.capsules {
                    let ci = ci as usize;
                    if self.allowed[oi * n + ci] {
                        continue;
                    }
                    let (a, b) = &s.ends[ci];
                    let r = caps[ci].radius;
                    if o.capsule_gap(a, b, r) >= threshold(*best, self.padding) {
                        continue;
                    }
                    let d = o.capsule_clearance(a, b, r);
                    if collect_distance {
                        if d < *best {
                            *best = d;
                            if !on_pair(ci, Target::Obstacle(oi), d) {
                                return false;
                            }
                        }
                    } else if d < self.padding && !on_pair(ci, Target::Obstacle(oi), d) {
                        return false;
                    }
                }
            }
        }
        for pair in &self.self_groups {
            let (ga, gb) = (&self.groups[pair.a], &self.groups[pair.b]);
            let reach = ga.radius + gb.radius + threshold(*best, 0.0);
            if spheres_beyond(&s.centers[pair.a], &s.centers[pair.b], reach) {
                continue;
            }
            self.place_ends(s, pair.a);
            self.place_ends(s, pair.b);
            for &(i, j) in &pair.pairs {
                let (i, j) = (i as usize, j as usize);
                let (a0, a1) = &s.ends[i];
                let (b0, b1) = &s.ends[j];
                let reach = caps[i].radius + caps[j].radius;
                let cap_gap = (nalgebra::center(a0, a1) - nalgebra::center(b0, b1)).norm()
                    - 0.5 * ((a1 - a0).norm() + (b1 - b0).norm())
                    - reach;
                if cap_gap >= threshold(*best, 0.0) {
                    continue;
                }
                let d = segment_segment_distance(a0, a1, b0, b1) - reach;
                if collect_distance {
                    if d < *best {
                        *best = d;
                        if !on_pair(i, Target::Capsule(j), d) {
                            return false;
                        }
                    }
                } else if d < 0.0 && !on_pair(i, Target::Capsule(j), d) {
                    return false;
                }
            }
        }
        true
    }

    /// True when the state is free: no capsule within the padding of an object or another
    /// robot, no self-collision between pairs the ACM does not allow. Conservative: the
    /// capsules contain the real links, so `true` is never wrong. Bad input (length, NaN)
    /// answers `false`.
    pub fn is_valid(&self, s: &mut CheckScratch, q: &[f64]) -> bool {
        // capsule ends placed only for the link groups the broad phase keeps
        self.place_frames(s, q)
            && (self.scan(s, |_, _, _| false, false, &mut 0.0) || self.exact_valid(s))
    }

    /// The smallest clearance (m, not reduced by the padding) of a state measured on the
    /// capsules of the fast path (robot to objects, other robots and itself) and the pair that
    /// has it: a conservative bound, negative in some free states (the capsules contain
    /// the real links). [`Checker::distance`] measures what the verdict is decided on. `None`
    /// for bad input or when there is nothing to compare.
    pub fn capsule_distance(&self, s: &mut CheckScratch, q: &[f64]) -> Option<Proximity> {
        if !self.place(s, q) {
            return None;
        }
        let mut best: Option<(f64, usize, Target)> = None;
        let mut bound = f64::INFINITY;
        self.scan(
            s,
            |c, t, d| {
                best = Some((d, c, t));
                true
            },
            true,
            &mut bound,
        );
        best.map(|(d, c, t)| Proximity {
            distance: d,
            a: self.names[c].clone(),
            b: self.target_name(t),
        })
    }

    fn target_name(&self, t: Target) -> String {
        match t {
            Target::Obstacle(o) => self.obstacles[o].name.clone(),
            Target::Capsule(c) => self.names[c].clone(),
        }
    }

    /// Safety padding (m): the clearance every state keeps from objects and other robots.
    pub fn padding(&self) -> f64 {
        self.padding
    }

    /// Name of capsule `i` (its link, or the attached object it stands for).
    pub fn capsule_name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }

    /// The robot's capsules at joint values `q`, in the world frame: segment ends per capsule
    /// (radii in [`Checker::geometry`]'s capsules, attached objects included). For checks
    /// against another moving robot. `None` on bad input (length, NaN).
    pub fn placed_capsules<'s>(&self, s: &'s mut CheckScratch, q: &[f64]) -> Option<&'s [Segment]> {
        if self.place(s, q) {
            Some(&s.ends)
        } else {
            None
        }
    }

    /// [`Checker::is_valid`] of `q`, and the capsules it placed (as
    /// [`Checker::placed_capsules`] gives them, without placing them twice). `None` on bad
    /// input.
    pub fn is_valid_placed<'s>(
        &self,
        s: &'s mut CheckScratch,
        q: &[f64],
    ) -> Option<(bool, &'s [Segment])> {
        if !self.place(s, q) {
            return None;
        }
        let valid = self.scan(s, |_, _, _| false, false, &mut 0.0) || self.exact_valid(s);
        Some((valid, &s.ends))
    }

    /// Bound (m) on how far any point of the robot moves along the straight joint-space
    /// motion `a → b` (per-joint lever arms times the joint travel).
    pub fn sweep(&self, a: &[f64], b: &[f64]) -> f64 {
        link_sweep(self.geometry.lever_arms(), a, b)
    }

    /// Number of resolution steps of the motion `a → b`: how many states a fixed-step check
    /// would need (excluding `a`) so that no robot point moves more than the resolution
    /// between two of them (bounded by the per-joint lever arms). [`Checker::motion_valid`]
    /// needs far fewer where the robot is clear of everything.
    pub fn motion_steps(&self, a: &[f64], b: &[f64]) -> usize {
        ((self.sweep(a, b) / self.resolution).ceil() as usize).max(1)
    }

    /// Where the polyline through `states` (group joint vectors back to back) first collides:
    /// the smallest `k` such that state `k`, or the motion from state `k − 1` to it, is not
    /// free; `None` when the whole path is free, with the guarantee of
    /// [`Checker::motion_valid`] (no robot point moves more than the resolution between two
    /// checked states). Made for densely sampled trajectories: every state is checked once,
    /// 8 at a time through the batch path, and only segments whose bound
    /// sweep exceeds the resolution are checked as motions. Bad input (length, NaN) answers
    /// `Some(0)`.
    pub fn path_first_collision(&self, s: &mut CheckScratch, states: &[f64]) -> Option<usize> {
        use crate::batch::LANES;
        let dof = s.dof;
        if dof == 0 || !states.len().is_multiple_of(dof) || states.iter().any(|v| !v.is_finite()) {
            return Some(0);
        }
        let n = states.len() / dof;
        let state = |k: usize| &states[k * dof..(k + 1) * dof];
        // the first state that collides (n: none)
        let mut first_state = n;
        let mut hit = [false; LANES];
        'chunks: for (c, chunk) in states.chunks(LANES * dof).enumerate() {
            let count = chunk.len() / dof;
            self.batch.filter(&mut s.batch, chunk, count, &mut hit);
            for i in 0..count {
                if hit[i] && !self.is_valid_near_contact(s, &chunk[i * dof..(i + 1) * dof], i) {
                    first_state = c * LANES + i;
                    break 'chunks;
                }
            }
        }
        // a longer segment before it that collides comes first
        (1..n.min(first_state + 1))
            .find(|&k| {
                self.motion_steps(state(k - 1), state(k)) > 1
                    && !self.motion_valid(s, state(k - 1), state(k))
            })
            .or((first_state < n).then_some(first_state))
    }

    /// [`Checker::is_valid`] for state `q`, lane `lane` of the last
    /// [`crate::batch::BatchModel::free_steps`] or
    /// [`crate::batch::BatchModel::filter`] batch, whose capsules that batch found
    /// possibly touching: the exact layer alone, on the pairs the batch listed for the lane
    /// (every other pair it proved clear).
    fn is_valid_near_contact(&self, s: &mut CheckScratch, q: &[f64], lane: usize) -> bool {
        self.near_contact_step(s, q, lane).is_some()
    }

    /// [`Checker::is_valid_near_contact`] with, for a free state, the step its listed pairs
    /// allow ([`Checker::exact_contacts_step`]; 0 without exact geometry).
    fn near_contact_step(&self, s: &mut CheckScratch, q: &[f64], lane: usize) -> Option<f64> {
        if self.geometry.exact().is_none() {
            return self.is_valid(s, q).then_some(0.0);
        }
        // only the link groups the lane lists are looked at: place those alone
        if !self.place_frames_only(s, q) {
            return None;
        }
        let bit = 1u8 << lane;
        for k in 0..s.batch.obstacle_contacts.len() {
            let c = s.batch.obstacle_contacts[k];
            if c.lanes & bit != 0 {
                self.place_ends(s, c.group as usize);
            }
        }
        for k in 0..s.batch.self_contacts.len() {
            let c = s.batch.self_contacts[k];
            if c.lanes & bit != 0 {
                let pair = &self.self_groups[c.pair as usize];
                self.place_ends(s, pair.a);
                self.place_ends(s, pair.b);
            }
        }
        self.exact_contacts_step(s, lane)
    }
}

/// Bound (m) on how far any point of a link with these per-joint `levers` (m/rad) moves along
/// the straight motion `x → y`.
fn link_sweep(levers: &[f64], x: &[f64], y: &[f64]) -> f64 {
    levers
        .iter()
        .zip(x.iter().zip(y))
        .map(|(l, (a, b))| l * (b - a).abs())
        .sum()
}

/// True when points `a` and `b` are at least `reach` (m) apart: the broad phase between two
/// bounding spheres (`reach` = both radii plus the clearance asked for), without a square
/// root (written out per component: nalgebra's `norm_squared` measured 8 % slower here).
#[inline]
fn spheres_beyond(a: &Point3<f64>, b: &Point3<f64>, reach: f64) -> bool {
    let (x, y, z) = (a.x - b.x, a.y - b.y, a.z - b.z);
    reach <= 0.0 || x * x + y * y + z * z >= reach * reach
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Obstacle(usize),
    Capsule(usize),
}

/// Points whose convex hull contains the shape's "core" (the rest is added by
/// [`round_extra`]): box corners, cylinder and capsule axis end caps.
fn shape_corner_points(shape: &Shape) -> Vec<Point3<f64>> {
    match *shape {
        Shape::Sphere { .. } => vec![Point3::origin()],
        Shape::Box { half_extents: h } => {
            let mut v = Vec::with_capacity(8);
            for sx in [-1.0, 1.0] {
                for sy in [-1.0, 1.0] {
                    for sz in [-1.0, 1.0] {
                        v.push(Point3::new(sx * h[0], sy * h[1], sz * h[2]));
                    }
                }
            }
            v
        }
        Shape::Cylinder {
            radius,
            half_length,
        } => {
            // a square around each cap circle contains the circle
            let mut v = Vec::with_capacity(8);
            for z in [-half_length, half_length] {
                for (x, y) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                    v.push(Point3::new(x * radius, y * radius, z));
                }
            }
            v
        }
        Shape::Capsule { half_length, .. } => vec![
            Point3::new(0.0, 0.0, -half_length),
            Point3::new(0.0, 0.0, half_length),
        ],
    }
}

/// Radius to add to the capsule around [`shape_corner_points`].
fn round_extra(shape: &Shape) -> f64 {
    match *shape {
        Shape::Sphere { radius } | Shape::Capsule { radius, .. } => radius,
        Shape::Box { .. } | Shape::Cylinder { .. } => 0.0,
    }
}
