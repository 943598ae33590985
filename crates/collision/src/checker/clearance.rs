//! The clearance of a state as users read it ([`Checker::distance`], `cella check`, gRPC
//! `CheckState`): measured on the geometry the verdict is decided on (the convex hulls of
//! the real meshes where a link has them, capsules for attached objects and links without
//! hulls), over the pairs the checker checks, minus what each pair must keep. So it is
//! negative exactly when [`Checker::is_valid`] is false, and its pair is a colliding one.

use super::exact_check::capsule_min_point;
use super::{CheckScratch, Checker, OtherLink, Proximity, Target, spheres_beyond};
use crate::exact::{
    EXACT_MARGIN, Hull, Placement, hull_distance, hull_support_point, parry_capsule, parry_shape,
    pose_of,
};
use crate::shape::segment_segment_distance;
use nalgebra::{Point3, Vector3};

/// Most states a recovering motion ([`Checker::recovers`]) is checked at.
const MAX_RECOVERY_STEPS: usize = 64;
/// How much deeper (m) a contact may read along a recovery motion: numerical noise of the
/// distance computation, not motion.
const DEEPER_TOLERANCE: f64 = 1e-9;

/// Accuracy (m) of a measured hull distance.
const DISTANCE_TOLERANCE: f64 = 1e-6;

/// One checked pair at the placed state: who, and its clearance beyond what it must keep.
struct PairClearance {
    /// Capsule index of the first element (a link's first capsule, or an attached object).
    a: usize,
    b: Target,
    value: f64,
}

impl Checker {
    /// The smallest clearance of a state over the pairs the checker checks (robot to objects,
    /// other robots and itself), minus what the pair must keep (the world's padding for
    /// objects and other robots, and 0.1 mm, [`EXACT_MARGIN`], where the exact layer decides
    /// on hulls), and the pair that has it (the link or attached object first). Measured on
    /// the convex hulls of the real meshes where the links have them (within a micrometre;
    /// penetration depths from parry), on capsules otherwise. Negative exactly when
    /// [`Checker::is_valid`] is false (within the certification tolerance the sign follows
    /// the verdict). `None` for bad input (length, NaN) or when nothing is checked.
    pub fn distance(&self, s: &mut CheckScratch, q: &[f64]) -> Option<Proximity> {
        let (pair, value) = self.closest(s, q)?;
        Some(Proximity {
            distance: value,
            a: self.names[pair.a].clone(),
            b: self.target_name(pair.b),
        })
    }

    /// [`Checker::distance`] without naming the pair (allocates no names): the smallest
    /// clearance of the state beyond what each pair must keep, m; negative exactly when the
    /// state collides. `None` for bad input or when nothing is checked.
    pub fn clearance(&self, s: &mut CheckScratch, q: &[f64]) -> Option<f64> {
        self.closest(s, q).map(|(_, value)| value)
    }

    /// Whether `target` is another robot or a part it carries.
    fn is_robot(&self, target: Target) -> bool {
        matches!(target, Target::Obstacle(o) if o >= self.first_robot_obstacle)
    }

    /// The checked pair with the smallest clearance at `q`, and that clearance with its sign
    /// following the certified verdict.
    fn closest(&self, s: &mut CheckScratch, q: &[f64]) -> Option<(PairClearance, f64)> {
        if !self.place(s, q) {
            return None;
        }
        let valid = self.scan(s, |_, _, _| false, false, &mut 0.0) || self.exact_valid(s);
        let mut best: Option<PairClearance> = None;
        self.visit_clearances(s, f64::INFINITY, |pair| {
            if best.as_ref().is_none_or(|b| pair.value < b.value) {
                best = Some(pair);
            }
            best.as_ref().map_or(f64::INFINITY, |b| b.value)
        });
        let best = best?;
        // the verdict is the certified one: a measurement within the certification tolerance
        // of zero does not overrule it
        let value = match (valid, best.value < 0.0) {
            (true, true) => 0.0,
            (false, false) => -f64::EPSILON,
            _ => best.value,
        };
        Some((best, value))
    }

    /// Whether the straight motion from `from`, a state in collision, to `to` gets out of it:
    /// along the motion no pair (a part of the robot and an object, another robot or another
    /// of its own links) that is not in contact at `from` comes into contact (another part
    /// of the robot entering an object one part touches is a new contact), no contact with
    /// another robot gets deeper, and at `to` the smallest clearance has grown (a robot an object was dropped on
    /// may back out of it, never into anything else). The motion is checked at states no
    /// robot point is more than the resolution apart, each new pair keeping half of it; a
    /// motion needing more than 64 such states is refused (recover more
    /// slowly). Remembers the pairs in collision at `from` (allocates for them). When `from`
    /// is free, this is [`Checker::is_valid`] of `to` and [`Checker::motion_valid`].
    pub fn recovers(&self, s: &mut CheckScratch, from: &[f64], to: &[f64]) -> bool {
        if !self.place(s, from) || to.len() != from.len() {
            return false;
        }
        // the pairs in contact, and how deep each is: only these may stay in contact (a robot
        // must not bring another of its parts into something one part touches), and those
        // with another robot may not get deeper
        let mut contacts: Vec<(usize, Target, f64)> = Vec::new();
        self.visit_clearances(s, 0.0, |pair| {
            if pair.value < 0.0 {
                contacts.push((pair.a, pair.b, pair.value));
            }
            0.0
        });
        if contacts.is_empty() {
            return self.is_valid(s, to) && self.motion_valid(s, from, to);
        }
        let n = self.motion_steps(from, to);
        if n > MAX_RECOVERY_STEPS {
            return false;
        }
        let keep = 0.5 * self.sweep(from, to) / n as f64;
        let mut x = from.to_vec();
        for k in 1..=n {
            let t = k as f64 / n as f64;
            for ((xi, a), b) in x.iter_mut().zip(from).zip(to) {
                *xi = a + t * (b - a);
            }
            if !self.place(s, &x) {
                return false;
            }
            let mut fine = true;
            self.visit_clearances(s, keep, |pair| {
                let was = contacts
                    .iter()
                    .find(|(a, b, _)| *a == pair.a && *b == pair.b)
                    .map(|c| c.2);
                match was {
                    // a new contact, or one closer than half the resolution between checks
                    None if pair.value < keep => fine = false,
                    // a contact with another robot getting deeper
                    Some(v) if self.is_robot(pair.b) && pair.value < v - DEEPER_TOLERANCE => {
                        fine = false
                    }
                    _ => {}
                }
                keep
            });
            if !fine {
                return false;
            }
        }
        // the clearance users read ([`Checker::distance`]) decides "grown"
        match (self.clearance(s, from), self.clearance(s, to)) {
            (Some(a), Some(b)) => b > a,
            _ => false,
        }
    }

    /// The colliding pairs of a state, by name (link or attached object, then link, object or
    /// `<robot>/<link>`), each pair once: the pairs whose clearance ([`Checker::distance`]) is
    /// negative. Empty for a valid state or bad input.
    pub fn contacts(&self, s: &mut CheckScratch, q: &[f64]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        if !self.place(s, q)
            || self.scan(s, |_, _, _| false, false, &mut 0.0)
            || self.exact_valid(s)
        {
            return out;
        }
        let mut found = Vec::new();
        self.visit_clearances(s, 0.0, |pair| {
            if pair.value < 0.0 {
                found.push(pair);
            }
            0.0
        });
        for pair in found {
            let names = (self.names[pair.a].clone(), self.target_name(pair.b));
            if !out.contains(&names) {
                out.push(names);
            }
        }
        if out.is_empty() {
            // in collision by the certified verdict only (within the certification tolerance):
            // name the closest pair
            if let Some(p) = self.distance(s, q) {
                out.push((p.a, p.b));
            }
        }
        out
    }

    /// Visits every checked pair of the placed state whose clearance beyond what it must keep
    /// may be below `bound` (the capsules bound it from below: they contain the hulls), with
    /// that clearance measured; `visit` returns the bound for the pairs after it.
    fn visit_clearances(
        &self,
        s: &mut CheckScratch,
        mut bound: f64,
        mut visit: impl FnMut(PairClearance) -> f64,
    ) {
        let caps = self.geometry.capsules();
        let n = caps.len();
        let own = self.geometry.robot_capsules();
        let exact = self.geometry.exact().cloned();
        let hulls_of = |link: usize| exact.as_ref().map_or(&[][..], |e| e.of(link));
        for (gi, g) in self.groups.iter().enumerate() {
            let hulls = hulls_of(g.link);
            let center = s.centers[gi];
            for (oi, o) in self.obstacles.iter().enumerate() {
                if o.ball_gap(&center, g.radius) - self.padding - EXACT_MARGIN >= bound {
                    continue;
                }
                self.place_ends(s, gi);
                let mut hull_pair_checked = false;
                for &ci in &g.capsules {
                    let ci = ci as usize;
                    if self.allowed[oi * n + ci] {
                        continue;
                    }
                    let (a, b) = &s.ends[ci];
                    let capsule = o.capsule_clearance(a, b, caps[ci].radius) - self.padding;
                    // (a hull pair keeps the margin on top: prune with it)
                    if capsule - EXACT_MARGIN >= bound {
                        continue;
                    }
                    if hulls.is_empty() || ci >= own {
                        let value = match &o.other_link {
                            // a capsule near another robot's link: measured to its hulls, as
                            // the exact layer decides it
                            Some(other) if exact.is_some() => {
                                capsule_distance_to_link(a, b, caps[ci].radius, other)
                                    - self.padding
                                    - EXACT_MARGIN
                                    - other.margin
                            }
                            _ => capsule,
                        };
                        bound = visit(PairClearance {
                            a: ci,
                            b: Target::Obstacle(oi),
                            value,
                        });
                    } else if !hull_pair_checked {
                        hull_pair_checked = true;
                        let world = self.link_world(s, g);
                        let required = self.padding + EXACT_MARGIN;
                        if let Some(other) = &o.other_link {
                            let value = hulls
                                .iter()
                                .map(|h| hull_distance_to_link(h, &world, other))
                                .fold(f64::INFINITY, f64::min)
                                - required
                                - other.margin;
                            bound = visit(PairClearance {
                                a: g.capsules[0] as usize,
                                b: Target::Obstacle(oi),
                                value,
                            });
                            continue;
                        }
                        let (shape, offset) = parry_shape(&o.shape);
                        let other_pose = pose_of(&(o.placement.isometry() * offset));
                        let value = hulls
                            .iter()
                            .map(|h| {
                                let start =
                                    nalgebra::Unit::try_new(o.placement.pos - world.pos, 1e-12)
                                        .map_or(Vector3::z(), |u| u.into_inner());
                                let other_min = |d: &Vector3<f64>| {
                                    crate::exact::shape_min_point(&o.shape, &o.placement, d)
                                };
                                hull_distance(h, &world, start, other_min, DISTANCE_TOLERANCE)
                                    .unwrap_or_else(|| {
                                        depth(
                                            &pose_of(&world.isometry()),
                                            h.shape(),
                                            &other_pose,
                                            &shape,
                                        )
                                    })
                            })
                            .fold(f64::INFINITY, f64::min)
                            - required;
                        bound = visit(PairClearance {
                            a: g.capsules[0] as usize,
                            b: Target::Obstacle(oi),
                            value,
                        });
                    }
                }
            }
        }
        for pair in &self.self_groups {
            let (ga, gb) = (&self.groups[pair.a], &self.groups[pair.b]);
            if spheres_beyond(
                &s.centers[pair.a],
                &s.centers[pair.b],
                ga.radius + gb.radius + EXACT_MARGIN + bound.max(0.0),
            ) {
                continue;
            }
            self.place_ends(s, pair.a);
            self.place_ends(s, pair.b);
            let (ha, hb) = (hulls_of(ga.link), hulls_of(gb.link));
            let hulls_cover = !ha.is_empty() && !hb.is_empty();
            let mut hull_pair_checked = false;
            for &(i, j) in &pair.pairs {
                let (i, j) = (i as usize, j as usize);
                let capsule = segment_segment_distance(
                    &s.ends[i].0,
                    &s.ends[i].1,
                    &s.ends[j].0,
                    &s.ends[j].1,
                ) - caps[i].radius
                    - caps[j].radius;
                // (a hull pair keeps the margin on top: prune with it)
                if capsule - EXACT_MARGIN >= bound {
                    continue;
                }
                if !hulls_cover || i >= own || j >= own {
                    bound = visit(PairClearance {
                        a: i,
                        b: Target::Capsule(j),
                        value: capsule,
                    });
                } else if !hull_pair_checked {
                    hull_pair_checked = true;
                    let (wa, wb) = (self.link_world(s, ga), self.link_world(s, gb));
                    let value = ha
                        .iter()
                        .flat_map(|x| hb.iter().map(move |y| (x, y)))
                        .map(|(x, y)| hull_to_hull(x, &wa, y, &wb))
                        .fold(f64::INFINITY, f64::min)
                        - EXACT_MARGIN;
                    bound = visit(PairClearance {
                        a: ga.capsules[0] as usize,
                        b: Target::Capsule(gb.capsules[0] as usize),
                        value,
                    });
                }
            }
        }
    }
}

/// The distance (m) between hull `x` placed at `wx` and hull `y` placed at `wy` (world
/// frame); minus the penetration depth when they overlap.
fn hull_to_hull(x: &Hull, wx: &Placement, y: &Hull, wy: &Placement) -> f64 {
    let start =
        nalgebra::Unit::try_new(wy.pos - wx.pos, 1e-12).map_or(Vector3::z(), |u| u.into_inner());
    let other_min = |d: &Vector3<f64>| hull_support_point(y, wy, &(-d));
    hull_distance(x, wx, start, other_min, DISTANCE_TOLERANCE).unwrap_or_else(|| {
        depth(
            &pose_of(&wx.isometry()),
            x.shape(),
            &pose_of(&wy.isometry()),
            y.shape(),
        )
    })
}

/// The distance (m) between hull `h` placed at `world` and the nearest hull of another
/// robot's link (its margin not taken off); minus the penetration depth when they overlap.
fn hull_distance_to_link(h: &Hull, world: &Placement, other: &OtherLink) -> f64 {
    other
        .hulls()
        .iter()
        .map(|y| hull_to_hull(h, world, y, &other.placement))
        .fold(f64::INFINITY, f64::min)
}

/// The distance (m) between the capsule `a → b` of radius `r` (world frame) and the nearest
/// hull of another robot's link (its margin not taken off); minus the penetration depth when
/// they overlap.
fn capsule_distance_to_link(a: &Point3<f64>, b: &Point3<f64>, r: f64, other: &OtherLink) -> f64 {
    let at = &other.placement;
    let centre = nalgebra::center(a, b);
    let start = nalgebra::Unit::try_new(centre.coords - at.pos, 1e-12)
        .map_or(Vector3::z(), |u| u.into_inner());
    let capsule_min = |d: &Vector3<f64>| capsule_min_point(a, b, r, d);
    other
        .hulls()
        .iter()
        .map(|y| {
            hull_distance(y, at, start, capsule_min, DISTANCE_TOLERANCE).unwrap_or_else(|| {
                depth(
                    &pose_of(&at.isometry()),
                    y.shape(),
                    &parry3d::math::Pose::identity(),
                    &parry_capsule(a, b, r),
                )
            })
        })
        .fold(f64::INFINITY, f64::min)
}

/// The signed distance (m) of two overlapping or touching shapes: minus parry's penetration
/// depth, and never above zero.
fn depth(
    p1: &parry3d::math::Pose,
    s1: &parry3d::shape::SharedShape,
    p2: &parry3d::math::Pose,
    s2: &parry3d::shape::SharedShape,
) -> f64 {
    parry3d::query::contact(p1, s1.as_ref(), p2, s2.as_ref(), 0.0)
        .ok()
        .flatten()
        .map_or(0.0, |c| f64::from(c.dist).min(0.0))
}
