//! The exact layer's verdict on a placed state: links with hulls of the real meshes are tested
//! with their hulls, everything else (attached objects, links without hulls) with its capsules.
//! A hull pair counts as free only with a certificate (a separating plane, in `f64`, see
//! [`crate::exact::certified_apart`]).
//!
//! Two entries: [`Checker::exact_valid`] looks at every pair (broad phase by bounding
//! spheres), [`Checker::exact_valid_contacts`] only at the pairs the batch lanes listed as
//! possibly touching in one lane (all others are proven clear there).

use super::{CheckScratch, Checker, OtherLink, spheres_beyond};
use crate::batch::STATIC_RATE;
use crate::exact::{
    EXACT_MARGIN, Placement, certified_apart, hull_support_point, parry_capsule, pose_of,
    shape_min_point,
};
use crate::shape::segment_segment_distance;
use nalgebra::{Point3, Vector3};
use parry3d::math::Pose;

/// The separating-direction caches of a scratch (see [`CheckScratch`]), taken out of it while
/// the placed state is read.
struct Witnesses {
    obstacle: Vec<Vector3<f64>>,
    robot: Vec<Vector3<f64>>,
}

impl Witnesses {
    fn take(s: &mut CheckScratch) -> Self {
        Self {
            obstacle: std::mem::take(&mut s.obstacle_witness),
            robot: std::mem::take(&mut s.self_witness),
        }
    }

    fn put_back(self, s: &mut CheckScratch) {
        s.obstacle_witness = self.obstacle;
        s.self_witness = self.robot;
    }
}

/// The remembered direction of pair `key`, if any: the first direction tried. A cached
/// direction is only a first candidate: it counts when it certifies the pair at this state,
/// as every other candidate must.
fn witness(cache: &[Vector3<f64>], key: usize) -> Option<Vector3<f64>> {
    cache.get(key).copied().filter(|n| n.norm_squared() > 0.0)
}

fn remember(cache: &mut [Vector3<f64>], key: usize, n: Vector3<f64>) {
    if let Some(slot) = cache.get_mut(key) {
        *slot = n;
    }
}

impl Checker {
    /// The exact layer's verdict on the placed state, every pair looked at. `false` when there
    /// is no exact geometry.
    pub(super) fn exact_valid(&self, s: &mut CheckScratch) -> bool {
        if self.geometry.exact().is_none() {
            return false;
        }
        let mut w = Witnesses::take(s);
        let valid = self.every_pair_exact(s, &mut w);
        w.put_back(s);
        valid
    }

    /// The exact layer's verdict on the placed state, looking only at the pairs of
    /// `s.batch.obstacle_contacts` and `s.batch.self_contacts` (the last [`crate::batch::BatchModel::free_steps`] batch) listed for
    /// `lane`: the batch proved every other pair at least the padding apart in that lane, for
    /// the same state. `false` when there is no exact geometry.
    #[cfg(test)]
    pub(super) fn exact_valid_contacts(&self, s: &mut CheckScratch, lane: usize) -> bool {
        self.exact_contacts_step(s, lane).is_some()
    }

    /// [`Checker::exact_valid_contacts`] with, for a free state, the step (in the motion
    /// parameter of the last [`crate::batch::BatchModel::free_steps`] batch, both directions)
    /// over which the listed pairs provably stay free: each pair's clearance beyond what it
    /// must keep (as much as the proof of its verdict showed: a lower bound), divided by how
    /// fast the pair can approach (the rates in `s`, set by the motion check).
    /// `None` when a listed pair is in contact (or there is no exact geometry).
    pub(super) fn exact_contacts_step(&self, s: &mut CheckScratch, lane: usize) -> Option<f64> {
        self.geometry.exact()?;
        let mut w = Witnesses::take(s);
        let bit = 1u8 << lane;
        let obstacles = self.listed_obstacle_pairs_exact(s, bit, &mut w);
        let step = obstacles.and_then(|o| {
            self.listed_self_pairs_exact(s, bit, &mut w)
                .map(|p| o.min(p))
        });
        w.put_back(s);
        step
    }

    fn every_pair_exact(&self, s: &mut CheckScratch, w: &mut Witnesses) -> bool {
        for (gi, g) in self.groups.iter().enumerate() {
            let center = s.centers[gi];
            for oi in self.bounds.near(&center, g.radius, self.padding) {
                if self.obstacles[oi].ball_gap(&center, g.radius) >= self.padding {
                    continue;
                }
                self.place_ends(s, gi);
                let candidates = g.capsules.iter().map(|&c| c as usize);
                let verdict = self.group_obstacle_exact(s, gi, oi, candidates, true, w);
                if verdict.is_none() {
                    return false;
                }
            }
        }
        for (pi, pair) in self.self_groups.iter().enumerate() {
            let (ga, gb) = (&self.groups[pair.a], &self.groups[pair.b]);
            if spheres_beyond(
                &s.centers[pair.a],
                &s.centers[pair.b],
                ga.radius + gb.radius,
            ) {
                continue;
            }
            self.place_ends(s, pair.a);
            self.place_ends(s, pair.b);
            let candidates = pair.pairs.iter().map(|&(i, j)| (i as usize, j as usize));
            if self.self_pair_exact(s, pi, candidates, w).is_none() {
                return false;
            }
        }
        true
    }

    /// The listed capsule/obstacle pairs of lane `bit` (in `s.batch.obstacle_contacts`), one
    /// (link group, obstacle) at a time (the list holds each such run contiguously): `None`
    /// when one is in contact, else the step they allow (see
    /// [`Checker::exact_contacts_step`]).
    fn listed_obstacle_pairs_exact(
        &self,
        s: &CheckScratch,
        bit: u8,
        w: &mut Witnesses,
    ) -> Option<f64> {
        let mut step = f64::INFINITY;
        for run in s
            .batch
            .obstacle_contacts
            .chunk_by(|x, y| x.group == y.group && x.obstacle == y.obstacle)
        {
            let mut listed = run.iter().filter(|c| c.lanes & bit != 0).peekable();
            let Some(first) = listed.peek().copied() else {
                continue;
            };
            let candidates = listed.map(|c| c.capsule as usize);
            let (gi, oi) = (first.group as usize, first.obstacle as usize);
            let gap = self.group_obstacle_exact(s, gi, oi, candidates, false, w)?;
            step = step.min(gap / f64::from(s.group_rate32[gi].max(STATIC_RATE)));
        }
        Some(step)
    }

    /// The listed capsule pairs of lane `bit` (in `s.batch.self_contacts`), one self pair at
    /// a time (the list holds each such run contiguously), as
    /// [`Checker::listed_obstacle_pairs_exact`].
    fn listed_self_pairs_exact(&self, s: &CheckScratch, bit: u8, w: &mut Witnesses) -> Option<f64> {
        let mut step = f64::INFINITY;
        for run in s.batch.self_contacts.chunk_by(|x, y| x.pair == y.pair) {
            let mut listed = run.iter().filter(|c| c.lanes & bit != 0).peekable();
            let Some(first) = listed.peek().copied() else {
                continue;
            };
            let candidates = listed.map(|c| (c.capsules.0 as usize, c.capsules.1 as usize));
            let pi = first.pair as usize;
            let gap = self.self_pair_exact(s, pi, candidates, w)?;
            step = step.min(gap / f64::from(s.pair_rate32[pi].max(STATIC_RATE)));
        }
        Some(step)
    }

    /// Link group `gi` against obstacle `oi` at the placed state, given the capsules of the
    /// group that may be within the padding (the others are known clear). With
    /// `capsules_first`, the capsules are tested in `f64` before the hulls (they contain the
    /// hulls: when they clear the obstacle the costly hull queries are saved); without, the
    /// caller already knows a capsule may touch (a batch lane listed it: its capsule then
    /// cleared in one case of six, not worth the test).
    #[allow(clippy::too_many_arguments)]
    fn group_obstacle_exact(
        &self,
        s: &CheckScratch,
        gi: usize,
        oi: usize,
        candidates: impl Iterator<Item = usize> + Clone,
        capsules_first: bool,
        w: &mut Witnesses,
    ) -> Option<f64> {
        let exact = self.geometry.exact()?;
        let (g, o) = (&self.groups[gi], &self.obstacles[oi]);
        let caps = self.geometry.capsules();
        let n = caps.len();
        let own = self.geometry.robot_capsules();
        let hulls = exact.of(g.link);
        let link_allowed = g
            .capsules
            .iter()
            .all(|&c| self.allowed[oi * n + c as usize]);
        let capsules_clear = || {
            capsules_first
                && candidates.clone().all(|ci| {
                    ci >= own
                        || self.allowed[oi * n + ci]
                        || o.capsule_clearance(&s.ends[ci].0, &s.ends[ci].1, caps[ci].radius)
                            >= self.padding
                })
        };
        // how far beyond what it must keep each pair is (the smallest)
        let mut gap = f64::INFINITY;
        // the capsules contain the hulls: when every checked capsule of the link clears the
        // obstacle, so do its hulls
        if !hulls.is_empty() && !link_allowed && !capsules_clear() {
            // free only with a certificate: a plane with the hull's vertices on one side and
            // the primitive, by its analytic support, at least padding + margin beyond, all in
            // f64 (parry's own distances were seen millimetres off near contact); parry only
            // proposes directions
            let world = self.link_world(s, g);
            let required = self.padding + EXACT_MARGIN;
            let other_min = |d: &Vector3<f64>| shape_min_point(&o.shape, &o.placement, d);
            let nobs = self.obstacles.len();
            for (hi, h) in hulls.iter().enumerate() {
                let key = (g.first_hull + hi) * nobs + oi;
                let start = witness(&w.obstacle, key);
                let (direction, found) = match &o.other_link {
                    // another robot's link: hull to hull, as its own checker measures it
                    Some(other) => hull_apart_from_link(h, &world, other, required, start)?,
                    None => {
                        let parry_other = || {
                            let (shape, pose) = o.parry();
                            (*pose, shape.clone())
                        };
                        let (direction, found) = certified_apart(
                            h,
                            &world,
                            parry_other,
                            &o.placement,
                            other_min,
                            required,
                            start,
                        )?;
                        (direction, found - required)
                    }
                };
                remember(&mut w.obstacle, key, direction);
                gap = gap.min(found);
            }
        }
        // capsules the hulls do not stand for: attached objects, links without hulls
        for ci in candidates {
            if (!hulls.is_empty() && ci < own) || self.allowed[oi * n + ci] {
                continue;
            }
            let (a, b, r) = (&s.ends[ci].0, &s.ends[ci].1, caps[ci].radius);
            let mut beyond = o.capsule_clearance(a, b, r) - self.padding;
            if beyond < 0.0
                && let Some(other) = &o.other_link
            {
                // the capsule that contains another robot's link touches: its hulls decide
                beyond = capsule_apart_from_link(a, b, r, other, self.padding + EXACT_MARGIN)?;
            }
            if beyond < 0.0 {
                return None;
            }
            gap = gap.min(beyond);
        }
        Some(gap.max(0.0))
    }

    /// Self pair `pi` (two link groups) at the placed state, given its capsule pairs that may
    /// touch (the others are known clear).
    fn self_pair_exact(
        &self,
        s: &CheckScratch,
        pi: usize,
        candidates: impl Iterator<Item = (usize, usize)> + Clone,
        w: &mut Witnesses,
    ) -> Option<f64> {
        let exact = self.geometry.exact()?;
        let pair = &self.self_groups[pi];
        let (ga, gb) = (&self.groups[pair.a], &self.groups[pair.b]);
        let caps = self.geometry.capsules();
        let own = self.geometry.robot_capsules();
        let (ha, hb) = (exact.of(ga.link), exact.of(gb.link));
        let hulls_cover = !ha.is_empty() && !hb.is_empty();
        // a capsule pair's clearance (m, negative when they overlap)
        let capsule_gap = |i: usize, j: usize| {
            segment_segment_distance(&s.ends[i].0, &s.ends[i].1, &s.ends[j].0, &s.ends[j].1)
                - caps[i].radius
                - caps[j].radius
        };
        let capsules_clear = || {
            candidates
                .clone()
                .all(|(i, j)| i >= own || j >= own || capsule_gap(i, j) >= 0.0)
        };
        let mut gap = f64::INFINITY;
        if hulls_cover && !capsules_clear() {
            let (wa, wb) = (self.link_world(s, ga), self.link_world(s, gb));
            for (xi, x) in ha.iter().enumerate() {
                for (yi, y) in hb.iter().enumerate() {
                    // certified as for obstacles: the two hulls' vertex supports
                    let key = (ga.first_hull + xi) * self.hull_count + gb.first_hull + yi;
                    let other_min = |d: &Vector3<f64>| hull_support_point(y, &wb, &(-d));
                    let start = witness(&w.robot, key);
                    let (direction, found) = certified_apart(
                        x,
                        &wa,
                        || (pose_of(&wb.isometry()), y.shape().clone()),
                        &wb,
                        other_min,
                        EXACT_MARGIN,
                        start,
                    )?;
                    remember(&mut w.robot, key, direction);
                    gap = gap.min(found - EXACT_MARGIN);
                }
            }
        }
        // capsule pairs the hulls do not stand for: attached objects, links without hulls
        for (i, j) in candidates {
            if hulls_cover && i < own && j < own {
                continue;
            }
            let beyond = capsule_gap(i, j);
            if beyond < 0.0 {
                return None;
            }
            gap = gap.min(beyond);
        }
        Some(gap.max(0.0))
    }
}

/// Whether hull `h` (placed at `world`) is at least `required` plus the other robot's margin
/// from every hull of another robot's link, certified as [`certified_apart`] does: the
/// direction that certified the closest of them and how far beyond that each is (the
/// smallest, m), or `None`.
pub(super) fn hull_apart_from_link(
    h: &crate::exact::Hull,
    world: &Placement,
    other: &OtherLink,
    required: f64,
    start: Option<Vector3<f64>>,
) -> Option<(Vector3<f64>, f64)> {
    let required = required + other.margin;
    let at = &other.placement;
    let mut best: Option<(Vector3<f64>, f64)> = None;
    for y in other.hulls() {
        let other_min = |d: &Vector3<f64>| hull_support_point(y, at, &(-d));
        let parry_other = || (pose_of(&at.isometry()), y.shape().clone());
        let (direction, found) =
            certified_apart(h, world, parry_other, at, other_min, required, start)?;
        if best.is_none_or(|(_, g)| found - required < g) {
            best = Some((direction, found - required));
        }
    }
    best
}

/// The capsule `a → b` of radius `r` (world frame, m) against the hulls of another robot's
/// link: how far beyond `required` plus the other robot's margin it certainly is from each
/// (the smallest, m; the same certificate that robot's checker asks of its hull against this
/// capsule), or `None` when one is not certified that far.
pub(super) fn capsule_apart_from_link(
    a: &Point3<f64>,
    b: &Point3<f64>,
    r: f64,
    other: &OtherLink,
    required: f64,
) -> Option<f64> {
    let required = required + other.margin;
    let centre = Placement {
        rot: nalgebra::Matrix3::identity(),
        pos: nalgebra::center(a, b).coords,
    };
    let capsule_min = |d: &Vector3<f64>| capsule_min_point(a, b, r, d);
    let mut gap = f64::INFINITY;
    for y in other.hulls() {
        let parry_capsule = || (Pose::identity(), parry_capsule(a, b, r));
        let (_, found) = certified_apart(
            y,
            &other.placement,
            parry_capsule,
            &centre,
            capsule_min,
            required,
            None,
        )?;
        gap = gap.min(found - required);
    }
    Some(gap)
}

/// The point of the capsule `a → b` of radius `r` (world frame) with the smallest `n · x`
/// (`n` unit).
pub(super) fn capsule_min_point(
    a: &Point3<f64>,
    b: &Point3<f64>,
    r: f64,
    n: &Vector3<f64>,
) -> Point3<f64> {
    let end = if n.dot(&(b - a)) < 0.0 { b } else { a };
    end - n * r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shape;
    use crate::batch::{LANES, MotionRates};
    use crate::robot_geometry::RobotGeometry;
    use crate::world::{World, WorldObject};
    use cella_kinematics::Rng;
    use nalgebra::{Isometry3, Translation3, UnitQuaternion};
    use std::sync::Arc;

    /// Objects of every primitive kind within `reach` (m) of the base, and a box attached
    /// to the tool `offset` (m, tool frame) out (so attached capsules, which the hulls do
    /// not stand for, take part).
    fn scene(reach: f64, tip: &str, offset: [f64; 3], seed: u64) -> World {
        let mut rng = Rng::new(seed);
        let mut w = World::new();
        for i in 0..24 {
            let (r, a) = (rng.uniform(0.3, 0.9) * reach, rng.uniform(-3.1, 3.1));
            let pose = Isometry3::from_parts(
                Translation3::new(r * a.cos(), r * a.sin(), rng.uniform(0.0, 1.0) * reach),
                UnitQuaternion::from_euler_angles(
                    rng.uniform(-3.0, 3.0),
                    rng.uniform(-3.0, 3.0),
                    rng.uniform(-3.0, 3.0),
                ),
            );
            let s = 0.08 * reach;
            let shape = match i % 4 {
                0 => Shape::Box {
                    half_extents: [0.5 * s, 0.3 * s, 0.8 * s],
                },
                1 => Shape::Cylinder {
                    radius: 0.3 * s,
                    half_length: 0.7 * s,
                },
                2 => Shape::Sphere { radius: 0.5 * s },
                _ => Shape::Capsule {
                    radius: 0.25 * s,
                    half_length: 0.6 * s,
                },
            };
            w.add(WorldObject {
                name: format!("obstacle{i}"),
                shape,
                pose,
                padding: 0.0,
            })
            .unwrap();
        }
        w.add(WorldObject {
            name: "part".into(),
            shape: Shape::Box {
                half_extents: [0.03, 0.03, 0.06],
            },
            pose: Isometry3::translation(offset[0], offset[1], offset[2]),
            padding: 0.0,
        })
        .unwrap();
        w.attach("part", tip, &Isometry3::identity(), Vec::new())
            .unwrap();
        w.set_padding(0.002).unwrap();
        w
    }

    /// The exact verdict on the pairs a batch lists for a touching lane is the verdict on
    /// every pair, for every bundled robot on random states in clutter (self pairs, world
    /// objects and an attached part): the list leaves out no pair that matters.
    #[test]
    fn listed_pairs_decide_as_every_pair() {
        for (k, name) in cella_kinematics::library::names().enumerate() {
            let g = Arc::new(RobotGeometry::library(name).unwrap());
            let chain = g.robot().chain();
            let reach = g.lever_arms().iter().copied().fold(0.0, f64::max);
            let dof = chain.dof();
            // the part sticks out of the tool along the first tool axis where it clears the
            // arm (at any state: the links it would touch are rigid to the tool)
            let mut q0 = vec![0.0; dof];
            chain.random_configuration(&mut Rng::new(3), &mut q0);
            let (checker, mut s) = [0.12, 0.25]
                .iter()
                .flat_map(|&d| [0, 1, 2].map(|axis| [(axis, d), (axis, -d)]))
                .flatten()
                .find_map(|(axis, d)| {
                    let mut offset = [0.0; 3];
                    offset[axis] = d;
                    let world = scene(reach, chain.tip(), offset, 40 + k as u64);
                    let c = Checker::new(g.clone(), Isometry3::identity(), &world, &[]).ok()?;
                    let mut s = c.scratch();
                    let clear = c.contacts(&mut s, &q0).iter().all(|(a, b)| {
                        let with_part = a == "part" || b == "part";
                        !with_part || a.starts_with("obstacle") || b.starts_with("obstacle")
                    });
                    clear.then_some((c, s))
                })
                .unwrap();
            let mut rng = Rng::new(9 + k as u64);
            let group = vec![1.0f32; checker.groups.len()];
            let pair = vec![1.0f32; checker.self_groups.len()];
            let rates = MotionRates {
                group: &group,
                pair: &pair,
                cap: 1.0,
            };
            let mut q = vec![0.0; LANES * dof];
            let mut steps = [0.0f32; LANES];
            let (mut free, mut colliding) = (0, 0);
            for _ in 0..300 {
                for lane in q.chunks_mut(dof) {
                    chain.random_configuration(&mut rng, lane);
                }
                checker
                    .batch
                    .free_steps(&mut s.batch, &q, LANES, &rates, &mut steps);
                for lane in 0..LANES {
                    if steps[lane] > 0.0 {
                        continue;
                    }
                    let state = &q[lane * dof..(lane + 1) * dof];
                    assert!(checker.place(&mut s, state));
                    let listed = checker.exact_valid_contacts(&mut s, lane);
                    let every = checker.exact_valid(&mut s);
                    assert_eq!(listed, every, "{name}: lane {lane} state {state:?}");
                    if every {
                        free += 1;
                    } else {
                        colliding += 1;
                    }
                }
            }
            assert!(
                free > 20 && colliding > 20,
                "{name}: {free} free, {colliding} colliding touching lanes: exercise both"
            );
        }
    }

    /// The AVX2 build of the batch lanes (taken when the CPU has AVX2) computes bit for bit
    /// what the baseline build computes: the same filter verdicts, steps and contact lists on
    /// random batches of every bundled robot in clutter, with uneven rates.
    #[test]
    fn wide_lanes_compute_what_the_baseline_computes() {
        if !crate::isa::wide_lanes() {
            eprintln!("this CPU has no AVX2: both builds are the baseline, nothing to compare");
        }
        for (k, name) in cella_kinematics::library::names().enumerate() {
            let g = Arc::new(RobotGeometry::library(name).unwrap());
            let chain = g.robot().chain();
            let reach = g.lever_arms().iter().copied().fold(0.0, f64::max);
            let world = scene(reach, chain.tip(), [0.0, 0.0, 0.2], 70 + k as u64);
            let checker = Checker::new(g.clone(), Isometry3::identity(), &world, &[]).unwrap();
            let (mut wide, mut base) = (checker.scratch(), checker.scratch());
            let mut rng = Rng::new(5 + k as u64);
            let group: Vec<f32> = (0..checker.groups.len())
                .map(|_| rng.uniform(0.05, 3.0) as f32)
                .collect();
            let pair: Vec<f32> = (0..checker.self_groups.len())
                .map(|_| rng.uniform(0.05, 3.0) as f32)
                .collect();
            let rates = MotionRates {
                group: &group,
                pair: &pair,
                cap: 1.0,
            };
            let dof = chain.dof();
            let mut q = vec![0.0; LANES * dof];
            let (mut hit_wide, mut hit_base) = ([false; LANES], [false; LANES]);
            let (mut steps_wide, mut steps_base) = ([0.0f32; LANES], [0.0f32; LANES]);
            let mut touching = 0;
            for batch in 0..200 {
                for lane in q.chunks_mut(dof) {
                    chain.random_configuration(&mut rng, lane);
                }
                let count = 1 + batch % LANES;
                let b = &checker.batch;
                b.filter(&mut wide.batch, &q, count, &mut hit_wide);
                b.filter_lanes(&mut base.batch, &q, count, &mut hit_base);
                assert_eq!(hit_wide, hit_base, "{name}: filter, batch {batch}");
                b.free_steps(&mut wide.batch, &q, count, &rates, &mut steps_wide);
                b.free_steps_lanes(&mut base.batch, &q, count, &rates, &mut steps_base);
                assert_eq!(
                    steps_wide.map(f32::to_bits),
                    steps_base.map(f32::to_bits),
                    "{name}: steps, batch {batch}"
                );
                assert_eq!(wide.batch.obstacle_contacts, base.batch.obstacle_contacts);
                assert_eq!(wide.batch.self_contacts, base.batch.self_contacts);
                touching += steps_base.iter().filter(|&&v| v < 0.0).count();
            }
            assert!(touching > 20, "{name}: only {touching} touching lanes");
        }
    }
}
