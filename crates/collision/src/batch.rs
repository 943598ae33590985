//! The batched fast path: [`LANES`] states at once, VAMP-style, over a sphere cover of the
//! robot capsules, in `f32` structure-of-arrays lanes (`[f32; LANES]` arithmetic that LLVM
//! vectorises; stable Rust, no `unsafe`, no allocation per query).
//!
//! Layout. Forward kinematics runs only for the moving frames of [`crate::frames`] (the same
//! frames as the scalar checker, in `f32` lanes), and each link's geometry is stored in its
//! frame. Each capsule is covered by spheres centred on its
//! segment, spaced at most 0.75 radius apart: a sphere of radius `sqrt(r² + (s/2)²)`
//! (≤ 1.07·r) around each centre contains every point of the capsule (a point at distance ≤ r
//! from the segment point p is within `sqrt(r² + |p − c|²)` of the nearest centre c). The
//! centres are evenly spaced, so against a box or cylinder they are placed by interpolating
//! the segment's two ends in the obstacle's frame (two transforms, not one per sphere).
//!
//! Hierarchy: per link group a bounding sphere (and the box around it in all lanes against
//! each obstacle's box), per capsule a bounding sphere, then spheres; a level is skipped when
//! *no* lane is near. The scan always completes: the exact layer then needs only the pairs it
//! lists.
//!
//! Precision: everything here is `f32`. Every clearance test is padded by
//! [`BatchModel::f32_pad`] (5·10⁻⁵ m per metre of the scene's extent, at least 5·10⁻⁵ m): far
//! more than the accumulated `f32` rounding of a kinematic chain of a few metres (about
//! 10⁻⁶ m), so a lane declared free is free for the `f64` capsule model as well. A lane that may
//! collide is handed to the scalar checker (capsules in `f64`, then the exact layer), so the
//! batch verdict is the scalar verdict, only faster.

// Lane loops index several arrays by the same lane on purpose: that is the form LLVM
// vectorises. The self-pair lists are plain tuples of indices.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use crate::robot_geometry::RobotGeometry;
use crate::shape::Shape;
use nalgebra::{Isometry3, Matrix3, Point3, Vector3};

/// Number of states checked together.
pub const LANES: usize = 8;

type L = [f32; LANES];

#[inline(always)]
fn splat(v: f32) -> L {
    [v; LANES]
}

/// The smaller of `a` and `b`, as one `minss` (the lanes hold no NaN: every batch input is
/// checked finite; `f32::min`'s NaN rule makes a reduction a chain of compares and blends).
/// Used for the reductions across lanes only: in the lane loops themselves `f32::min`
/// measured faster (LLVM vectorises those loops either way).
#[inline(always)]
fn fmin(a: f32, b: f32) -> f32 {
    if a < b { a } else { b }
}

/// The larger of `a` and `b`, as one `maxps` (see [`fmin`]).
#[inline(always)]
fn fmax(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// The smallest lane, by a tree of pairwise minima (a chain of eight would wait on each).
#[inline(always)]
fn lane_min(x: &L) -> f32 {
    let h: [f32; 4] = std::array::from_fn(|i| fmin(x[i], x[i + 4]));
    fmin(fmin(h[0], h[2]), fmin(h[1], h[3]))
}

/// The largest lane (see [`lane_min`]).
#[inline(always)]
fn lane_max(x: &L) -> f32 {
    let h: [f32; 4] = std::array::from_fn(|i| fmax(x[i], x[i + 4]));
    fmax(fmax(h[0], h[2]), fmax(h[1], h[3]))
}

use crate::frames::Motion;

/// One moving frame of the batch forward kinematics.
#[derive(Debug, Clone)]
struct Frame {
    parent: usize,
    motion: Motion,
    /// Prismatic axis in the parent frame (zero for other motions).
    axis: [f32; 3],
    /// Translation of the joint frame in the parent frame.
    t: [f32; 3],
    /// Rotation = A + cos·B + sin·C (revolute) or A (root, prismatic); row-major.
    a: [f32; 9],
    b: [f32; 9],
    c: [f32; 9],
}

/// A capsule of the cover: its spheres and a bounding sphere (frame coordinates).
#[derive(Debug, Clone)]
struct CoverCapsule {
    /// Index of the capsule in the robot geometry.
    capsule: usize,
    frame: usize,
    center: [f32; 3],
    radius: f32,
    /// The cover: `sphere_count` spheres of radius `sphere_radius`, sphere `i` centred at
    /// `a + (b − a) · i · spacing` (`spacing` = 1 / (count − 1), 0 for a single sphere; its
    /// `f32` rounding moves a centre by ~10⁻⁸ m, far inside the `f32` pad).
    sphere_count: usize,
    sphere_radius: f32,
    spacing: f32,
    /// Segment ends (frame coordinates) and the capsule radius.
    a: [f32; 3],
    b: [f32; 3],
    r: f32,
}

/// A link group (the capsules of one link): bounding sphere and capsules.
#[derive(Debug, Clone)]
struct CoverGroup {
    frame: usize,
    center: [f32; 3],
    radius: f32,
    capsules: std::ops::Range<usize>,
}

/// An obstacle in `f32`: world→local transform, bounding sphere, shape parameters.
#[derive(Debug, Clone, Copy)]
struct BatchObstacle {
    /// World→local rotation (row-major) and translation.
    r: [f32; 9],
    t: [f32; 3],
    /// Bounding sphere (world centre, radius).
    center: [f32; 3],
    bound: f32,
    /// World axis-aligned bounding box.
    lo: [f32; 3],
    hi: [f32; 3],
    kind: Kind,
    /// World segment of a capsule obstacle (both ends at the centre for a sphere).
    p0: [f32; 3],
    p1: [f32; 3],
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sphere { radius: f32 },
    Box { h: [f32; 3] },
    Cylinder { radius: f32, half: f32 },
    Capsule { radius: f32, half: f32 },
}

/// The rate [`BatchModel::free_steps`] gives a link (pair) that does not move (m per unit of
/// the motion parameter): small enough that such a link, clear by more than a nanometre,
/// never limits a step (steps are at most 1).
pub(crate) const STATIC_RATE: f32 = 1e-9;

/// How fast the robot moves along a motion (a straight motion or a polyline), per unit of the
/// motion parameter, for [`BatchModel::free_steps`].
pub(crate) struct MotionRates<'a> {
    /// Per link group: bound (m) on the motion of any of its points.
    pub group: &'a [f32],
    /// Per self pair: bound (m) on the motion of one group relative to the other.
    pub pair: &'a [f32],
    /// Largest step reported (motion parameter units).
    pub cap: f32,
}

/// Input to [`BatchModel::new`]: the checker's link groups, obstacles and ACM.
pub(crate) struct BatchInput<'a> {
    pub geometry: &'a RobotGeometry,
    pub base: &'a Isometry3<f64>,
    /// The checker's frames of the robot at `base`.
    pub frames: &'a crate::frames::Frames,
    /// Per link group: its link and capsule indices.
    pub groups: Vec<(usize, Vec<u16>)>,
    /// Obstacles: shape and world→local transform.
    pub obstacles: Vec<(Shape, Isometry3<f64>)>,
    /// `allowed[o * n_capsules + c]`.
    pub allowed: &'a [bool],
    /// Self-collision group pairs with their capsule pairs.
    pub self_pairs: Vec<(usize, usize, Vec<(u16, u16)>)>,
    pub padding: f64,
}

/// The immutable batch model of a checker.
#[derive(Debug, Clone)]
pub(crate) struct BatchModel {
    dof: usize,
    frames: Vec<Frame>,
    sphere_count: usize,
    capsules: Vec<CoverCapsule>,
    groups: Vec<CoverGroup>,
    obstacles: Vec<BatchObstacle>,
    /// `allowed[o * n_capsules + c]` (capsule index of the geometry).
    allowed: Vec<bool>,
    n_capsules: usize,
    /// Self pairs: (group a, group b, capsule pairs as cover-capsule indices).
    self_pairs: Vec<(usize, usize, Vec<(usize, usize)>)>,
    padding: f32,
    pad: f32,
}

/// A capsule that may be within the padding of an obstacle in some lanes of a
/// [`BatchModel::free_steps`] batch (every pair not listed is proven clear in every lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObstacleContact {
    /// Lanes (bit `l` for lane `l`) where the pair may touch.
    pub lanes: u8,
    /// Link group of the capsule.
    pub group: u32,
    /// Capsule index of the robot geometry.
    pub capsule: u32,
    /// Obstacle index.
    pub obstacle: u32,
}

/// Two capsules of the robot that may touch in some lanes of a [`BatchModel::free_steps`]
/// batch (every pair not listed is proven clear in every lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SelfContact {
    /// Lanes (bit `l` for lane `l`) where the pair may touch.
    pub lanes: u8,
    /// Self pair (link groups) in the checker's order.
    pub pair: u32,
    /// Capsule indices of the robot geometry, in the pair's order.
    pub capsules: (u32, u32),
}

/// Per-thread lanes of the batch path.
#[derive(Debug, Clone)]
pub(crate) struct BatchScratch {
    rot: Vec<[L; 9]>,
    pos: Vec<[L; 3]>,
    /// World segment ends of capsules, valid when `cap_placed[capsule]`.
    cap_world: Vec<([L; 3], [L; 3])>,
    cap_placed: Vec<bool>,
    /// World centres of the link groups' bounding spheres (set by the robot-world pass).
    group_world: Vec<[L; 3]>,
    /// The pairs of the last [`BatchModel::free_steps`] or [`BatchModel::filter`] batch that
    /// may touch, in the order of its scan: capsule/obstacle pairs grouped by link group and
    /// obstacle, capsule pairs by self pair.
    pub(crate) obstacle_contacts: Vec<ObstacleContact>,
    pub(crate) self_contacts: Vec<SelfContact>,
    /// Per lane of the last [`BatchModel::free_steps`] batch: the step the pairs that do not
    /// touch allow (capped like the steps); for a touching lane, what remains once the exact
    /// layer has cleared its listed pairs.
    pub(crate) rest_steps: [f32; LANES],
}

fn m9(m: &Matrix3<f64>) -> [f32; 9] {
    let mut o = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            o[3 * r + c] = m[(r, c)] as f32;
        }
    }
    o
}

fn v3(v: &Vector3<f64>) -> [f32; 3] {
    [v.x as f32, v.y as f32, v.z as f32]
}

impl BatchModel {
    /// Builds the frames, the sphere cover and the `f32` obstacles.
    pub(crate) fn new(input: BatchInput<'_>) -> Self {
        let geometry = input.geometry;
        let robot = geometry.robot();
        let chain = robot.chain();
        let caps = geometry.capsules();
        let base = input.base;
        let shared = input.frames;
        let frames: Vec<Frame> = shared
            .frames()
            .iter()
            .map(|f| Frame {
                parent: f.parent,
                motion: f.motion,
                axis: match f.motion {
                    Motion::Prismatic { axis, .. } => v3(&axis),
                    _ => [0.0; 3],
                },
                t: v3(&f.t),
                a: m9(&f.a),
                b: m9(&f.b),
                c: m9(&f.c),
            })
            .collect();
        // sphere cover of each capsule, grouped like the checker's link groups
        let mut sphere_count = 0;
        let mut capsules = Vec::new();
        let mut groups = Vec::new();
        let mut cover_of = vec![usize::MAX; caps.len()];
        let mut extent: f64 = base.translation.vector.norm();
        for (link, members) in &input.groups {
            let (frame, off) = shared.link_place(*link);
            let first_capsule = capsules.len();
            let mut pts: Vec<(Point3<f64>, f64)> = Vec::new();
            for &ci in members {
                let c = &caps[ci as usize];
                let (a, b) = (off * c.a, off * c.b);
                let len = (b - a).norm();
                let spacing = 0.75 * c.radius;
                let n = if len > 0.0 {
                    (len / spacing).ceil().max(1.0) as usize + 1
                } else {
                    1
                };
                let step = if n > 1 { len / (n - 1) as f64 } else { 0.0 };
                let r = (c.radius * c.radius + 0.25 * step * step).sqrt();
                sphere_count += n;
                let mid = nalgebra::center(&a, &b);
                let bound = 0.5 * len + r;
                extent = extent.max(mid.coords.norm() + bound);
                pts.push((mid, bound));
                cover_of[ci as usize] = capsules.len();
                capsules.push(CoverCapsule {
                    capsule: ci as usize,
                    frame,
                    center: v3(&mid.coords),
                    radius: bound as f32,
                    sphere_count: n,
                    sphere_radius: r as f32,
                    spacing: if n > 1 {
                        (1.0 / (n - 1) as f64) as f32
                    } else {
                        0.0
                    },
                    a: v3(&a.coords),
                    b: v3(&b.coords),
                    r: c.radius as f32,
                });
            }
            let (mut lo, mut hi) = (
                Vector3::repeat(f64::INFINITY),
                Vector3::repeat(-f64::INFINITY),
            );
            for (p, r) in &pts {
                lo = lo.inf(&(p.coords - Vector3::repeat(*r)));
                hi = hi.sup(&(p.coords + Vector3::repeat(*r)));
            }
            let center = (lo + hi) / 2.0;
            let radius = pts
                .iter()
                .map(|(p, r)| (p.coords - center).norm() + r)
                .fold(0.0, f64::max);
            groups.push(CoverGroup {
                frame,
                center: v3(&center),
                radius: radius as f32,
                capsules: first_capsule..capsules.len(),
            });
        }
        // reach of the robot around its base: bounded by the sum of frame offsets + extents
        let reach: f64 = frames
            .iter()
            .skip(1)
            .map(|f| {
                let t = f.t;
                ((t[0] * t[0] + t[1] * t[1] + t[2] * t[2]) as f64).sqrt()
            })
            .sum::<f64>()
            + extent;
        let mut scene = base.translation.vector.norm() + reach;
        let obstacles: Vec<BatchObstacle> = input
            .obstacles
            .iter()
            .map(|(shape, inv)| {
                let pose = inv.inverse();
                scene = scene.max(pose.translation.vector.norm() + shape.bounding_radius());
                let (p0, p1) = match *shape {
                    Shape::Capsule { half_length, .. } => (
                        pose * Point3::new(0.0, 0.0, -half_length),
                        pose * Point3::new(0.0, 0.0, half_length),
                    ),
                    _ => (pose * Point3::origin(), pose * Point3::origin()),
                };
                BatchObstacle {
                    p0: v3(&p0.coords),
                    p1: v3(&p1.coords),
                    center: v3(&pose.translation.vector),
                    bound: shape.bounding_radius() as f32,
                    lo: v3(&(pose.translation.vector - half_box(shape, &pose))),
                    hi: v3(&(pose.translation.vector + half_box(shape, &pose))),
                    r: m9(&inv.rotation.to_rotation_matrix().into_inner()),
                    t: v3(&inv.translation.vector),
                    kind: match *shape {
                        Shape::Sphere { radius } => Kind::Sphere {
                            radius: radius as f32,
                        },
                        Shape::Box { half_extents: h } => Kind::Box {
                            h: [h[0] as f32, h[1] as f32, h[2] as f32],
                        },
                        Shape::Cylinder {
                            radius,
                            half_length,
                        } => Kind::Cylinder {
                            radius: radius as f32,
                            half: half_length as f32,
                        },
                        Shape::Capsule {
                            radius,
                            half_length,
                        } => Kind::Capsule {
                            radius: radius as f32,
                            half: half_length as f32,
                        },
                    },
                }
            })
            .collect();
        let self_pairs = input
            .self_pairs
            .iter()
            .map(|(a, b, pairs)| {
                (
                    *a,
                    *b,
                    pairs
                        .iter()
                        .map(|&(i, j)| (cover_of[i as usize], cover_of[j as usize]))
                        .filter(|(i, j)| *i != usize::MAX && *j != usize::MAX)
                        .collect(),
                )
            })
            .collect();
        Self {
            dof: chain.dof(),
            frames,
            sphere_count,
            capsules,
            groups,
            obstacles,
            allowed: input.allowed.to_vec(),
            n_capsules: caps.len(),
            self_pairs,
            padding: input.padding as f32,
            pad: (5e-5 * scene.max(1.0)) as f32,
        }
    }

    /// The `f32` safety pad (m) added to every batch clearance test.
    pub(crate) fn f32_pad(&self) -> f32 {
        self.pad
    }

    /// Number of spheres of the cover.
    pub(crate) fn sphere_count(&self) -> usize {
        self.sphere_count
    }

    pub(crate) fn scratch(&self) -> BatchScratch {
        BatchScratch {
            rot: vec![[splat(0.0); 9]; self.frames.len()],
            pos: vec![[splat(0.0); 3]; self.frames.len()],
            cap_world: vec![([splat(0.0); 3], [splat(0.0); 3]); self.capsules.len()],
            cap_placed: vec![false; self.capsules.len()],
            group_world: vec![[splat(0.0); 3]; self.groups.len()],
            obstacle_contacts: Vec::with_capacity(64),
            self_contacts: Vec::with_capacity(64),
            rest_steps: [0.0; LANES],
        }
    }

    /// Starts a batch: forward kinematics of `count` states (`q[lane * dof + k]`), no capsule
    /// placed yet.
    #[inline(always)]
    fn start_batch(&self, s: &mut BatchScratch, q: &[f64], count: usize) {
        self.fk(s, q, count);
        s.cap_placed.iter_mut().for_each(|p| *p = false);
    }

    /// Forward kinematics of the frames for `LANES` states (`q[lane * dof + k]`; lanes past
    /// `count` repeat the last state).
    #[inline(always)]
    fn fk(&self, s: &mut BatchScratch, q: &[f64], count: usize) {
        let dof = self.dof;
        for (fi, f) in self.frames.iter().enumerate() {
            match f.motion {
                Motion::Root => {
                    s.rot[fi] = f.a.map(splat);
                    s.pos[fi] = f.t.map(splat);
                }
                Motion::Revolute {
                    variable,
                    multiplier,
                    offset,
                } => {
                    let mut angle = [0.0f64; LANES];
                    for (l, a) in angle.iter_mut().enumerate() {
                        let lane = l.min(count - 1);
                        *a = multiplier * q[lane * dof + variable] + offset;
                    }
                    let (sin, cos) = sin_cos_lanes(&angle);
                    let mut local = [splat(0.0); 9];
                    for e in 0..9 {
                        for l in 0..LANES {
                            local[e][l] = f.a[e] + cos[l] * f.b[e] + sin[l] * f.c[e];
                        }
                    }
                    let (pr, pp) = (s.rot[f.parent], s.pos[f.parent]);
                    s.rot[fi] = mat_mul(&pr, &local);
                    s.pos[fi] = add3(&pp, &mat_vec_const(&pr, &f.t));
                }
                Motion::Prismatic {
                    variable,
                    multiplier,
                    offset,
                    ..
                } => {
                    let mut t = [splat(0.0); 3];
                    for l in 0..LANES {
                        let lane = l.min(count - 1);
                        let v = (multiplier * q[lane * dof + variable] + offset) as f32;
                        for k in 0..3 {
                            t[k][l] = f.t[k] + f.axis[k] * v;
                        }
                    }
                    let (pr, pp) = (s.rot[f.parent], s.pos[f.parent]);
                    let local = f.a.map(splat);
                    s.rot[fi] = mat_mul(&pr, &local);
                    s.pos[fi] = add3(&pp, &mat_vec(&pr, &t));
                }
            }
        }
    }

    /// World centre of a point fixed in frame `f`.
    #[inline(always)]
    fn world_point(s: &BatchScratch, f: usize, p: &[f32; 3]) -> [L; 3] {
        add3(&s.pos[f], &mat_vec_const(&s.rot[f], p))
    }

    #[inline(always)]
    fn segment_world(&self, s: &mut BatchScratch, i: usize) -> ([L; 3], [L; 3]) {
        if !s.cap_placed[i] {
            let c = &self.capsules[i];
            s.cap_world[i] = (
                Self::world_point(s, c.frame, &c.a),
                Self::world_point(s, c.frame, &c.b),
            );
            s.cap_placed[i] = true;
        }
        s.cap_world[i]
    }

    /// Marks in `hit` the lanes (of `count` states, `q` flat row-major) whose capsules may be
    /// within the padding of an obstacle or in self-collision. Lanes left `false` are free.
    ///
    /// Per (link, obstacle): the link's bounding sphere against the exact obstacle shape; per
    /// capsule: its bounding sphere against the shape, then the capsule itself (segment
    /// distance for sphere and capsule obstacles, the sphere cover for boxes and cylinders).
    /// Self pairs: bounding spheres, then segment/segment distances.
    ///
    /// The pairs that may touch are listed in `s.obstacle_contacts` and `s.self_contacts` with
    /// their lanes, as [`BatchModel::free_steps`] lists them. The scan goes on when every lane
    /// is already marked, so that the lists are complete: the exact layer then looks at the
    /// listed pairs alone (stopping early and checking marked states in full measured 8 %
    /// slower along motions, 2 % on random states).
    pub(crate) fn filter(
        &self,
        s: &mut BatchScratch,
        q: &[f64],
        count: usize,
        hit: &mut [bool; LANES],
    ) {
        crate::isa::run(BatchJob {
            model: self,
            s,
            q,
            count,
            kind: JobKind::Filter(hit),
        });
    }

    /// [`BatchModel::filter`] as built (inlined into the AVX2 build by [`crate::isa::run`];
    /// called directly, the baseline build).
    #[inline(always)]
    pub(crate) fn filter_lanes(
        &self,
        s: &mut BatchScratch,
        q: &[f64],
        count: usize,
        hit: &mut [bool; LANES],
    ) {
        *hit = [false; LANES];
        for h in hit.iter_mut().skip(count) {
            *h = true; // padding lanes: never reported
        }
        self.start_batch(s, q, count);
        s.obstacle_contacts.clear();
        s.self_contacts.clear();
        let pad = self.pad;
        let margin = self.padding + pad;
        for (gi, g) in self.groups.iter().enumerate() {
            let gc = Self::world_point(s, g.frame, &g.center);
            s.group_world[gi] = gc;
            let lanes_box = LaneBox::around(&gc, g.radius + margin);
            for (oi, o) in self.obstacles.iter().enumerate() {
                if lanes_box.apart(o) {
                    continue;
                }
                // bounding spheres first (cheap), then the link sphere against the shape
                if !any_within(&gc, &o.center, g.radius + o.bound + margin)
                    || !any_lane(&obstacle_near(o, &gc, g.radius + margin))
                {
                    continue;
                }
                for (k, cc) in self.capsules[g.capsules.clone()].iter().enumerate() {
                    if self.allowed[oi * self.n_capsules + cc.capsule] {
                        continue;
                    }
                    // (a lone capsule's bounding sphere is its group's, tested above)
                    if g.capsules.len() > 1 {
                        let cw = Self::world_point(s, cc.frame, &cc.center);
                        if !any_lane(&obstacle_near(o, &cw, cc.radius + margin)) {
                            continue;
                        }
                    }
                    let mut touch = [false; LANES];
                    match o.kind {
                        Kind::Sphere { radius } | Kind::Capsule { radius, .. } => {
                            let (a, b) = self.segment_world(s, g.capsules.start + k);
                            let d2 = segment_segment_d2(&a, &b, &o.p0.map(splat), &o.p1.map(splat));
                            let reach = cc.r + radius + margin;
                            for l in 0..LANES {
                                touch[l] = d2[l] < reach * reach;
                            }
                        }
                        Kind::Box { .. } | Kind::Cylinder { .. } => {
                            let (a, b) = self.segment_world(s, g.capsules.start + k);
                            let nearest = nearest_sphere_d2(o, cc, &a, &b);
                            let reach = cc.sphere_radius + margin;
                            for l in 0..LANES {
                                touch[l] = nearest[l] < reach * reach;
                            }
                        }
                    }
                    if any_lane(&touch) {
                        record_obstacle_contact(s, &touch, gi, cc.capsule, oi);
                        for l in 0..LANES {
                            hit[l] |= touch[l];
                        }
                    }
                }
            }
        }
        self.self_filter(s, hit);
    }

    /// Conservative advancement for [`LANES`] states of one motion at once
    /// (`q[lane * dof + k]`, lanes past `count` repeat the last state): `steps[lane]` receives
    /// how far, in the motion parameter and in both directions, the motion provably stays free
    /// from that state, capped at `cap`; negative when the capsules may touch there (then the
    /// scalar checker decides). The pairs that may touch in some lane are listed in
    /// `s.obstacle_contacts` and `s.self_contacts` with their lanes: every pair not listed for
    /// a lane is at least the padding apart there (`f32` lower bound), so the scalar checker
    /// need look at the listed ones only; `s.rest_steps[lane]` is the step those unlisted
    /// pairs allow (the lane's step once its listed pairs are cleared with theirs).
    ///
    /// `rates.group[g]` bounds how far (m) any point of link group `g` moves per unit of the
    /// motion parameter, `rates.pair[p]` how far the two groups of self pair `p` move relative
    /// to each other; a link (pair) that does not move in this motion (zero rate) is checked
    /// all the same: it can make a lane touch, never shorten a step. Every clearance is a
    /// lower bound: sphere cover or segment distance to the obstacle's exact shape, minus the
    /// padding (obstacles only) and the `f32` pad. ([`BatchModel::filter`] asks the boolean
    /// question with the same hierarchy and no rates or steps.)
    pub(crate) fn free_steps(
        &self,
        s: &mut BatchScratch,
        q: &[f64],
        count: usize,
        rates: &MotionRates<'_>,
        steps: &mut [f32; LANES],
    ) {
        crate::isa::run(BatchJob {
            model: self,
            s,
            q,
            count,
            kind: JobKind::FreeSteps(rates, steps),
        });
    }

    /// [`BatchModel::free_steps`] as built (inlined into the AVX2 build by
    /// [`crate::isa::run`]; called directly, the baseline build).
    #[inline(always)]
    pub(crate) fn free_steps_lanes(
        &self,
        s: &mut BatchScratch,
        q: &[f64],
        count: usize,
        rates: &MotionRates<'_>,
        steps: &mut [f32; LANES],
    ) {
        let (group_rate, pair_rate) = (rates.group, rates.pair);
        *steps = splat(rates.cap);
        self.start_batch(s, q, count);
        let pad = self.pad;
        let margin = self.padding + pad;
        // the step a clearance `d` allows at `rate`, folded into `steps`; a touching pair
        // (negative clearance) goes into `deepest` instead, so `steps` keeps the step of the
        // pairs that do not touch
        let mut deepest = splat(0.0);
        let fold = |steps: &mut [f32; LANES], deepest: &mut [f32; LANES], d: &L, rate: f32| {
            let inv = 1.0 / rate;
            for l in 0..LANES {
                let step = d[l] * inv;
                let touches = d[l] < 0.0;
                steps[l] = if touches {
                    steps[l]
                } else {
                    steps[l].min(step)
                };
                deepest[l] = if touches {
                    deepest[l].min(step)
                } else {
                    deepest[l]
                };
            }
        };
        // lanes where a pair whose bounding spheres have squared centre distance `d2` and
        // radii (with pads) summing to `reach` is not settled at `rate`: its clearance could
        // shorten the step, or it may touch (every touching pair is recorded, also in lanes
        // already touching elsewhere); compared without the square root (both sides of the
        // comparison are non-negative)
        let open_squared = |steps: &[f32; LANES], d2: &L, reach: f32, rate: f32| {
            (0..LANES).fold(false, |m, l| {
                let within = steps[l].max(0.0) * rate + reach;
                m | (d2[l] < within * within)
            })
        };
        // the lanes where a clearance is negative
        let touching = |d: &L| (0..LANES).fold(0u8, |m, l| m | (u8::from(d[l] < 0.0) << l));
        s.obstacle_contacts.clear();
        s.self_contacts.clear();
        for (gi, g) in self.groups.iter().enumerate() {
            let gc = Self::world_point(s, g.frame, &g.center);
            s.group_world[gi] = gc;
            let rate = group_rate[gi].max(STATIC_RATE);
            let reach = fmax(lane_max(steps), 0.0) * rate;
            let lanes_box = LaneBox::around(&gc, g.radius + margin + reach);
            for (oi, o) in self.obstacles.iter().enumerate() {
                if lanes_box.apart(o) {
                    continue;
                }
                let (d2, extra) = obstacle_core_d2(o, &gc);
                if !open_squared(steps, &d2, g.radius + margin + extra, rate) {
                    continue;
                }
                for (k, cc) in self.capsules[g.capsules.clone()].iter().enumerate() {
                    if self.allowed[oi * self.n_capsules + cc.capsule] {
                        continue;
                    }
                    if g.capsules.len() > 1 {
                        let cw = Self::world_point(s, cc.frame, &cc.center);
                        let (d2, extra) = obstacle_core_d2(o, &cw);
                        if !open_squared(steps, &d2, cc.radius + margin + extra, rate) {
                            continue;
                        }
                    }
                    let mut d = splat(0.0);
                    match o.kind {
                        Kind::Sphere { radius } | Kind::Capsule { radius, .. } => {
                            let (a, b) = self.segment_world(s, g.capsules.start + k);
                            let d2 = segment_segment_d2(&a, &b, &o.p0.map(splat), &o.p1.map(splat));
                            for l in 0..LANES {
                                d[l] = d2[l].sqrt() - cc.r - radius - margin;
                            }
                        }
                        Kind::Box { .. } | Kind::Cylinder { .. } => {
                            let (a, b) = self.segment_world(s, g.capsules.start + k);
                            let nearest = nearest_sphere_d2(o, cc, &a, &b);
                            let reach = cc.sphere_radius + margin;
                            for l in 0..LANES {
                                d[l] = nearest[l].sqrt() - reach;
                            }
                        }
                    }
                    let lanes = touching(&d);
                    if lanes != 0 {
                        s.obstacle_contacts.push(ObstacleContact {
                            lanes,
                            group: gi as u32,
                            capsule: cc.capsule as u32,
                            obstacle: oi as u32,
                        });
                    }
                    fold(steps, &mut deepest, &d, rate);
                }
            }
        }
        for (pi, (ga, gb, pairs)) in self.self_pairs.iter().enumerate() {
            let rate = pair_rate[pi].max(STATIC_RATE);
            let (a, b) = (&self.groups[*ga], &self.groups[*gb]);
            let d2 = dist2(&s.group_world[*ga], &s.group_world[*gb]);
            if !open_squared(steps, &d2, a.radius + b.radius + pad, rate) {
                continue;
            }
            for &(i, j) in pairs {
                let (x, y) = (&self.capsules[i], &self.capsules[j]);
                let cx = Self::world_point(s, x.frame, &x.center);
                let cy = Self::world_point(s, y.frame, &y.center);
                if !open_squared(steps, &dist2(&cx, &cy), x.radius + y.radius + pad, rate) {
                    continue;
                }
                let mut d = splat(0.0);
                let (a0, a1) = self.segment_world(s, i);
                let (b0, b1) = self.segment_world(s, j);
                let d2 = segment_segment_d2(&a0, &a1, &b0, &b1);
                for l in 0..LANES {
                    d[l] = d2[l].sqrt() - x.r - y.r - pad;
                }
                let lanes = touching(&d);
                if lanes != 0 {
                    s.self_contacts.push(SelfContact {
                        lanes,
                        pair: pi as u32,
                        capsules: (x.capsule as u32, y.capsule as u32),
                    });
                }
                fold(steps, &mut deepest, &d, rate);
            }
        }
        // a touching lane reports its deepest touch (negative), keeps its rest step aside
        s.rest_steps = *steps;
        for l in 0..LANES {
            steps[l] = if deepest[l] < 0.0 {
                deepest[l]
            } else {
                steps[l]
            };
        }
    }

    /// The self-collision part of [`BatchModel::filter`].
    #[inline(always)]
    fn self_filter(&self, s: &mut BatchScratch, hit: &mut [bool; LANES]) {
        let pad = self.pad;
        for (pi, (ga, gb, pairs)) in self.self_pairs.iter().enumerate() {
            let (a, b) = (&self.groups[*ga], &self.groups[*gb]);
            let (ca, cb) = (&s.group_world[*ga], &s.group_world[*gb]);
            if !any_within_lanes(ca, cb, a.radius + b.radius + pad) {
                continue;
            }
            for &(i, j) in pairs {
                let (x, y) = (&self.capsules[i], &self.capsules[j]);
                let cx = Self::world_point(s, x.frame, &x.center);
                let cy = Self::world_point(s, y.frame, &y.center);
                if !any_within_lanes(&cx, &cy, x.radius + y.radius + pad) {
                    continue;
                }
                let (a0, a1) = self.segment_world(s, i);
                let (b0, b1) = self.segment_world(s, j);
                let d2 = segment_segment_d2(&a0, &a1, &b0, &b1);
                let reach = x.r + y.r + pad;
                let mut touch = [false; LANES];
                for l in 0..LANES {
                    touch[l] = d2[l] < reach * reach;
                }
                if any_lane(&touch) {
                    record_self_contact(s, &touch, pi, (x.capsule, y.capsule));
                    for l in 0..LANES {
                        hit[l] |= touch[l];
                    }
                }
            }
        }
    }
}

/// A batch query for [`crate::isa::run`]: the shared state and what to compute.
struct BatchJob<'a> {
    model: &'a BatchModel,
    s: &'a mut BatchScratch,
    q: &'a [f64],
    count: usize,
    kind: JobKind<'a>,
}

enum JobKind<'a> {
    /// [`BatchModel::filter`].
    Filter(&'a mut [bool; LANES]),
    /// [`BatchModel::free_steps`].
    FreeSteps(&'a MotionRates<'a>, &'a mut [f32; LANES]),
}

impl crate::isa::Kernel for BatchJob<'_> {
    type Output = ();
    #[inline(always)]
    fn run_lanes(self) {
        let Self {
            model,
            s,
            q,
            count,
            kind,
        } = self;
        match kind {
            JobKind::Filter(hit) => model.filter_lanes(s, q, count, hit),
            JobKind::FreeSteps(rates, steps) => model.free_steps_lanes(s, q, count, rates, steps),
        }
    }
}

/// The world box around a sphere of radius `inflate` at `center` in every lane: one scalar
/// test per obstacle prunes all lanes at once.
struct LaneBox {
    lo: [f32; 3],
    hi: [f32; 3],
}

impl LaneBox {
    #[inline(always)]
    fn around(center: &[L; 3], inflate: f32) -> Self {
        Self {
            lo: std::array::from_fn(|k| lane_min(&center[k]) - inflate),
            hi: std::array::from_fn(|k| lane_max(&center[k]) + inflate),
        }
    }

    /// True when the box and the obstacle's world box do not overlap.
    #[inline(always)]
    fn apart(&self, o: &BatchObstacle) -> bool {
        (0..3).fold(false, |m, k| {
            m | (self.lo[k] > o.hi[k]) | (self.hi[k] < o.lo[k])
        })
    }
}

#[inline(always)]
fn any_lane(m: &[bool; LANES]) -> bool {
    m.iter().fold(false, |a, &x| a | x)
}

/// The lanes set in `m` as bits (bit `l` for lane `l`).
#[inline(always)]
fn lane_bits(m: &[bool; LANES]) -> u8 {
    (0..LANES).fold(0u8, |b, l| b | (u8::from(m[l]) << l))
}

/// Lists capsule/obstacle pair (`group`, `capsule`, `obstacle`) as possibly touching in the
/// lanes of `touch` (out of line: rare, and kept out of the filter's loop body).
#[cold]
#[inline(never)]
fn record_obstacle_contact(
    s: &mut BatchScratch,
    touch: &[bool; LANES],
    group: usize,
    capsule: usize,
    obstacle: usize,
) {
    s.obstacle_contacts.push(ObstacleContact {
        lanes: lane_bits(touch),
        group: group as u32,
        capsule: capsule as u32,
        obstacle: obstacle as u32,
    });
}

/// Lists self pair `pair` (capsules `capsules`) as possibly touching in the lanes of `touch`.
#[cold]
#[inline(never)]
fn record_self_contact(
    s: &mut BatchScratch,
    touch: &[bool; LANES],
    pair: usize,
    capsules: (usize, usize),
) {
    s.self_contacts.push(SelfContact {
        lanes: lane_bits(touch),
        pair: pair as u32,
        capsules: (capsules.0 as u32, capsules.1 as u32),
    });
}

/// Lanes where a sphere of radius `r` at `p` (world) comes closer than 0 to the obstacle's
/// exact shape (sphere, box, cylinder or capsule).
#[inline(always)]
fn obstacle_near(o: &BatchObstacle, p: &[L; 3], r: f32) -> [bool; LANES] {
    let (d2, extra) = obstacle_core_d2(o, p);
    let reach = r + extra;
    let mut out = [false; LANES];
    for l in 0..LANES {
        out[l] = d2[l] < reach * reach;
    }
    out
}

/// The smallest squared distance, lane by lane, from the centres of capsule `cc`'s cover
/// spheres to the core of a box or cylinder obstacle (see [`obstacle_core_d2`]), given the
/// capsule's world segment `a → b`. The spheres are evenly spaced on the segment, so they
/// are placed by interpolating its ends in the obstacle's frame: one transform per end,
/// not one per sphere.
#[inline(always)]
fn nearest_sphere_d2(o: &BatchObstacle, cc: &CoverCapsule, a: &[L; 3], b: &[L; 3]) -> L {
    let (la, lb) = (to_local(o, a), to_local(o, b));
    let mut along = [splat(0.0); 3];
    for k in 0..3 {
        for l in 0..LANES {
            along[k][l] = lb[k][l] - la[k][l];
        }
    }
    let mut nearest = splat(f32::INFINITY);
    for i in 0..cc.sphere_count {
        let t = i as f32 * cc.spacing;
        let mut x = [splat(0.0); 3];
        for k in 0..3 {
            for l in 0..LANES {
                x[k][l] = la[k][l] + along[k][l] * t;
            }
        }
        let (d2, _) = core_d2_local(o, &x);
        for l in 0..LANES {
            nearest[l] = nearest[l].min(d2[l]);
        }
    }
    nearest
}

/// `p` (world) in the obstacle's frame.
#[inline(always)]
fn to_local(o: &BatchObstacle, p: &[L; 3]) -> [L; 3] {
    let mut x = [splat(0.0); 3];
    for k in 0..3 {
        for l in 0..LANES {
            x[k][l] =
                o.r[3 * k] * p[0][l] + o.r[3 * k + 1] * p[1][l] + o.r[3 * k + 2] * p[2][l] + o.t[k];
        }
    }
    x
}

/// Squared distance from `p` (world) to the obstacle's core (its centre for a sphere, its
/// axis segment for a capsule, the solid for a box or cylinder; zero inside) and the radius
/// around that core (sphere and capsule radius, zero for the solids).
#[inline(always)]
fn obstacle_core_d2(o: &BatchObstacle, p: &[L; 3]) -> (L, f32) {
    core_d2_local(o, &to_local(o, p))
}

/// [`obstacle_core_d2`] of a point `x` given in the obstacle's frame.
#[inline(always)]
fn core_d2_local(o: &BatchObstacle, x: &[L; 3]) -> (L, f32) {
    let mut d2 = splat(0.0);
    let extra = match o.kind {
        Kind::Sphere { radius } => {
            for l in 0..LANES {
                d2[l] = x[0][l] * x[0][l] + x[1][l] * x[1][l] + x[2][l] * x[2][l];
            }
            radius
        }
        Kind::Box { h } => {
            for l in 0..LANES {
                let dx = (x[0][l].abs() - h[0]).max(0.0);
                let dy = (x[1][l].abs() - h[1]).max(0.0);
                let dz = (x[2][l].abs() - h[2]).max(0.0);
                d2[l] = dx * dx + dy * dy + dz * dz;
            }
            0.0
        }
        Kind::Cylinder { radius, half } => {
            for l in 0..LANES {
                let radial = (x[0][l] * x[0][l] + x[1][l] * x[1][l]).sqrt();
                let dr = (radial - radius).max(0.0);
                let dz = (x[2][l].abs() - half).max(0.0);
                d2[l] = dr * dr + dz * dz;
            }
            0.0
        }
        Kind::Capsule { radius, half } => {
            for l in 0..LANES {
                let dz = (x[2][l].abs() - half).max(0.0);
                d2[l] = x[0][l] * x[0][l] + x[1][l] * x[1][l] + dz * dz;
            }
            radius
        }
    };
    (d2, extra)
}

/// Squared distance between segments `p1 → q1` and `p2 → q2`, lane by lane (Ericson, Real-Time
/// Collision Detection 5.1.9, branch-free; zero-length segments handled).
#[inline(always)]
fn segment_segment_d2(p1: &[L; 3], q1: &[L; 3], p2: &[L; 3], q2: &[L; 3]) -> L {
    const EPS: f32 = 1e-12;
    let mut out = splat(0.0);
    for l in 0..LANES {
        let d1 = [
            q1[0][l] - p1[0][l],
            q1[1][l] - p1[1][l],
            q1[2][l] - p1[2][l],
        ];
        let d2 = [
            q2[0][l] - p2[0][l],
            q2[1][l] - p2[1][l],
            q2[2][l] - p2[2][l],
        ];
        let r = [
            p1[0][l] - p2[0][l],
            p1[1][l] - p2[1][l],
            p1[2][l] - p2[2][l],
        ];
        let a = d1[0] * d1[0] + d1[1] * d1[1] + d1[2] * d1[2];
        let e = d2[0] * d2[0] + d2[1] * d2[1] + d2[2] * d2[2];
        let f = d2[0] * r[0] + d2[1] * r[1] + d2[2] * r[2];
        let c = d1[0] * r[0] + d1[1] * r[1] + d1[2] * r[2];
        let b = d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2];
        let denom = a * e - b * b;
        let a_ok = a > EPS;
        let e_ok = e > EPS;
        let inv_a = if a_ok { 1.0 / a } else { 0.0 };
        let inv_e = if e_ok { 1.0 / e } else { 0.0 };
        let mut s = if denom > EPS {
            ((b * f - c * e) / denom).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut t = (b * s + f) * inv_e;
        if !e_ok {
            // the second segment is a point: closest point of the first to it
            t = 0.0;
            s = (-c * inv_a).clamp(0.0, 1.0);
        } else if t < 0.0 {
            t = 0.0;
            s = (-c * inv_a).clamp(0.0, 1.0);
        } else if t > 1.0 {
            t = 1.0;
            s = ((b - c) * inv_a).clamp(0.0, 1.0);
        }
        let x = r[0] + d1[0] * s - d2[0] * t;
        let y = r[1] + d1[1] * s - d2[1] * t;
        let z = r[2] + d1[2] * s - d2[2] * t;
        out[l] = x * x + y * y + z * z;
    }
    out
}

#[inline(always)]
fn dist2(a: &[L; 3], b: &[L; 3]) -> L {
    let mut d = splat(0.0);
    for l in 0..LANES {
        let (x, y, z) = (a[0][l] - b[0][l], a[1][l] - b[1][l], a[2][l] - b[2][l]);
        d[l] = x * x + y * y + z * z;
    }
    d
}

/// Half extents of the world axis-aligned box around a placed shape.
fn half_box(shape: &Shape, pose: &Isometry3<f64>) -> Vector3<f64> {
    let r = pose.rotation.to_rotation_matrix().into_inner();
    let sphere = Vector3::repeat(shape.bounding_radius());
    match *shape {
        Shape::Box { half_extents: h } => {
            let hb = r.abs() * Vector3::from(h);
            hb.inf(&sphere)
        }
        Shape::Capsule {
            radius,
            half_length,
        } => (r.column(2).abs() * half_length + Vector3::repeat(radius)).inf(&sphere),
        Shape::Cylinder {
            radius,
            half_length,
        } => (r.column(2).abs() * half_length + Vector3::repeat(radius)).inf(&sphere),
        Shape::Sphere { .. } => sphere,
    }
}

/// True when some lane of `p` is within `reach` of the fixed point `c`.
#[inline(always)]
fn any_within(p: &[L; 3], c: &[f32; 3], reach: f32) -> bool {
    let mut d = splat(0.0);
    for l in 0..LANES {
        let (x, y, z) = (p[0][l] - c[0], p[1][l] - c[1], p[2][l] - c[2]);
        d[l] = x * x + y * y + z * z;
    }
    d.iter().fold(false, |m, &v| m | (v < reach * reach))
}

#[inline(always)]
fn any_within_lanes(a: &[L; 3], b: &[L; 3], reach: f32) -> bool {
    let d = dist2(a, b);
    d.iter().fold(false, |m, &v| m | (v < reach * reach))
}

#[inline(always)]
fn mat_mul(a: &[L; 9], b: &[L; 9]) -> [L; 9] {
    let mut o = [splat(0.0); 9];
    for r in 0..3 {
        for c in 0..3 {
            for l in 0..LANES {
                o[3 * r + c][l] = a[3 * r][l] * b[c][l]
                    + a[3 * r + 1][l] * b[3 + c][l]
                    + a[3 * r + 2][l] * b[6 + c][l];
            }
        }
    }
    o
}

#[inline(always)]
fn mat_vec_const(a: &[L; 9], v: &[f32; 3]) -> [L; 3] {
    let mut o = [splat(0.0); 3];
    for r in 0..3 {
        for l in 0..LANES {
            o[r][l] = a[3 * r][l] * v[0] + a[3 * r + 1][l] * v[1] + a[3 * r + 2][l] * v[2];
        }
    }
    o
}

#[inline(always)]
fn mat_vec(a: &[L; 9], v: &[L; 3]) -> [L; 3] {
    let mut o = [splat(0.0); 3];
    for r in 0..3 {
        for l in 0..LANES {
            o[r][l] = a[3 * r][l] * v[0][l] + a[3 * r + 1][l] * v[1][l] + a[3 * r + 2][l] * v[2][l];
        }
    }
    o
}

#[inline(always)]
fn add3(a: &[L; 3], b: &[L; 3]) -> [L; 3] {
    let mut o = [splat(0.0); 3];
    for k in 0..3 {
        for l in 0..LANES {
            o[k][l] = a[k][l] + b[k][l];
        }
    }
    o
}

/// `(sin x, cos x)` in `f32` (absolute error below 4·10⁻⁷ for |x| < 10⁶): reduction by π/2
/// in `f64`, Taylor polynomials on [−π/4, π/4] in `f32`. The scalar reference of
/// [`sin_cos_lanes`], which the forward kinematics use (tests only).
#[cfg(test)]
fn sin_cos(x: f64) -> (f32, f32) {
    let y = x * std::f64::consts::FRAC_2_PI;
    let k = (y + if y >= 0.0 { 0.5 } else { -0.5 }) as i64;
    let r = (x - k as f64 * std::f64::consts::FRAC_PI_2) as f32;
    let r2 = r * r;
    let s =
        r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 / 362_880.0))));
    let c = 1.0
        + r2 * (-0.5
            + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40_320.0 - r2 / 3_628_800.0))));
    match k & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// `(sin x, cos x)` in `f32` of [`LANES`] angles (rad) at once: reduction by π/2 in `f64`,
/// Taylor polynomials on [−π/4, π/4] in `f32` (absolute error below 4·10⁻⁷ for |x| < 10⁶),
/// the quadrant applied by selects rather than a branch so that LLVM vectorises it.
#[inline(always)]
fn sin_cos_lanes(x: &[f64; LANES]) -> (L, L) {
    let mut r = splat(0.0);
    let mut quadrant = splat(0.0);
    for l in 0..LANES {
        // the nearest multiple k of π/2 and k mod 4, in f64 arithmetic that vectorises (an
        // f64 → i64 conversion has no AVX2 instruction: it took eight scalar ones per frame)
        let y = x[l] * std::f64::consts::FRAC_2_PI;
        let k = (y + if y >= 0.0 { 0.5 } else { -0.5 }).trunc();
        r[l] = (x[l] - k * std::f64::consts::FRAC_PI_2) as f32;
        quadrant[l] = (k - 4.0 * (0.25 * k).floor()) as f32;
    }
    let (mut sin, mut cos) = (splat(0.0), splat(0.0));
    for l in 0..LANES {
        let r = r[l];
        let r2 = r * r;
        let s = r
            * (1.0
                + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 / 362_880.0))));
        let c = 1.0
            + r2 * (-0.5
                + r2 * (1.0 / 24.0
                    + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40_320.0 - r2 / 3_628_800.0))));
        let q = quadrant[l];
        let (a, b) = if q == 1.0 || q == 3.0 { (c, s) } else { (s, c) };
        sin[l] = if q >= 2.0 { -a } else { a };
        cos[l] = if q == 1.0 || q == 2.0 { -b } else { b };
    }
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_sin_cos_equal_the_scalar_one() {
        for i in -2_000..2_000 {
            let base = i as f64 * 0.0137 + 0.3e-5;
            let x: [f64; LANES] = std::array::from_fn(|l| base + l as f64 * 0.785);
            let (s, c) = sin_cos_lanes(&x);
            for l in 0..LANES {
                assert_eq!((s[l], c[l]), sin_cos(x[l]), "x = {}", x[l]);
            }
        }
    }

    #[test]
    fn sin_cos_matches_std() {
        let mut worst: f64 = 0.0;
        for i in -200_000..200_000 {
            let x = i as f64 * 1e-4 + 0.3e-5;
            let (s, c) = sin_cos(x);
            worst = worst
                .max((f64::from(s) - x.sin()).abs())
                .max((f64::from(c) - x.cos()).abs());
        }
        assert!(worst < 4e-7, "worst error {worst}");
    }
}

#[cfg(test)]
mod fk_tests {
    use super::*;
    use crate::{Checker, RobotGeometry, World};
    use std::sync::Arc;

    /// The start of every capsule segment (where its first cover sphere sits), placed by the
    /// scalar f64 kinematics.
    #[test]
    fn batch_kinematics_match_the_model() {
        for name in cella_kinematics::library::names() {
            let g = Arc::new(RobotGeometry::library(name).unwrap());
            let base = Isometry3::translation(0.3, -0.1, 0.2)
                * Isometry3::rotation(Vector3::new(0.1, 0.2, 0.7));
            let checker = Checker::new(g.clone(), base, &World::new(), &[]).unwrap();
            let b = &checker.batch;
            let mut s = b.scratch();
            let robot = g.robot();
            let mut rng = cella_kinematics::Rng::new(3);
            let dof = robot.chain().dof();
            let mut q = vec![0.0; dof * LANES];
            for lane in q.chunks_mut(dof) {
                robot.chain().random_configuration(&mut rng, lane);
            }
            b.fk(&mut s, &q, LANES);
            let mut full = vec![0.0; robot.model().variables().len()];
            let mut poses = vec![Isometry3::identity(); robot.model().links().len()];
            for l in 0..LANES {
                robot
                    .model_state(&q[l * dof..(l + 1) * dof], &mut full)
                    .unwrap();
                robot.model().link_poses(&full, &mut poses).unwrap();
                for cc in &b.capsules {
                    let c = &g.capsules()[cc.capsule];
                    let want = base * poses[c.link] * c.a;
                    let got = BatchModel::world_point(&s, cc.frame, &cc.a);
                    let err = (0..3)
                        .map(|k| (f64::from(got[k][l]) - want[k]).abs())
                        .fold(0.0, f64::max);
                    assert!(
                        err < 1e-5,
                        "{name} capsule {} lane {l}: error {err}",
                        cc.capsule
                    );
                }
            }
        }
    }
}
