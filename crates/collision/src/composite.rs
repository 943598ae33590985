//! Validity for a group of robots planned together (a composite configuration: the joint
//! vectors of the members back to back).
//!
//! Each member keeps its own [`Checker`] (the world, its own links, robots outside the group
//! as static obstacles, with that checker's exact layer). Between members, every capsule of
//! one against every capsule of the other, both moving: segment-to-segment distances at least
//! the padding, far pairs pruned by bounding spheres. Inter-member checks are conservative
//! (capsules only; a "colliding" verdict is never overturned).
//!
//! Motions: each member's own part with [`Checker::motion_valid`] (its guarantee against the
//! world and itself); between members, states spaced so that no point of one robot moves more
//! than the resolution relative to any point of another (the sum of the members' sweep
//! bounds per step is at most the resolution).

use crate::checker::{CheckScratch, Checker};
use crate::error::{CollisionError, Result};
use crate::shape::segment_segment_distance;
use nalgebra::Point3;

/// A group of robots checked as one composite state.
#[derive(Debug, Clone)]
pub struct CompositeChecker {
    members: Vec<Member>,
    dof: usize,
    padding: f64,
    resolution: f64,
}

#[derive(Debug, Clone)]
struct Member {
    name: String,
    checker: Checker,
    /// Index of the member's first joint in the composite state.
    offset: usize,
}

/// Per-thread scratch memory of a [`CompositeChecker`].
#[derive(Debug, Clone)]
pub struct CompositeScratch {
    members: Vec<CheckScratch>,
    /// World capsules per member: segment ends, radius, bounding-sphere centre and radius.
    placed: Vec<Vec<PlacedCapsule>>,
    q: Vec<f64>,
}

#[derive(Debug, Clone, Copy)]
struct PlacedCapsule {
    a: Point3<f64>,
    b: Point3<f64>,
    radius: f64,
    center: Point3<f64>,
    bound: f64,
}

impl CompositeChecker {
    /// A composite of `members` (name, checker), in the order of the composite state. Each
    /// checker should hold the world and the robots *outside* the group as obstacles (not the
    /// other members). Errors: no member, a repeated name.
    pub fn new(members: Vec<(String, Checker)>) -> Result<Self> {
        if members.is_empty() {
            return Err(CollisionError::BadGeometry {
                what: "composite".into(),
                reason: "no robot in the group".into(),
            });
        }
        let mut offset = 0;
        let mut out: Vec<Member> = Vec::with_capacity(members.len());
        for (name, checker) in members {
            if out.iter().any(|m| m.name == name) {
                return Err(CollisionError::BadGeometry {
                    what: format!("composite member '{name}'"),
                    reason: "named twice".into(),
                });
            }
            let dof = checker.dof();
            out.push(Member {
                name,
                checker,
                offset,
            });
            offset += dof;
        }
        let padding = out.iter().map(|m| m.checker.padding()).fold(0.0, f64::max);
        let resolution = out
            .iter()
            .map(|m| m.checker.resolution())
            .fold(f64::INFINITY, f64::min);
        Ok(Self {
            members: out,
            dof: offset,
            padding,
            resolution,
        })
    }

    /// Joints of the composite state (sum over members).
    pub fn dof(&self) -> usize {
        self.dof
    }

    /// Member names, in state order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.name.as_str())
    }

    /// The joint range of member `i` within the composite state.
    pub fn member_joints(&self, i: usize) -> Option<std::ops::Range<usize>> {
        self.members
            .get(i)
            .map(|m| m.offset..m.offset + m.checker.dof())
    }

    /// Scratch memory for one thread.
    pub fn scratch(&self) -> CompositeScratch {
        CompositeScratch {
            members: self.members.iter().map(|m| m.checker.scratch()).collect(),
            placed: self
                .members
                .iter()
                .map(|m| {
                    vec![
                        PlacedCapsule {
                            a: Point3::origin(),
                            b: Point3::origin(),
                            radius: 0.0,
                            center: Point3::origin(),
                            bound: 0.0,
                        };
                        m.checker.geometry().capsules().len()
                    ]
                })
                .collect(),
            q: vec![0.0; self.dof],
        }
    }

    fn part<'q>(&self, i: usize, q: &'q [f64]) -> &'q [f64] {
        let m = &self.members[i];
        &q[m.offset..m.offset + m.checker.dof()]
    }

    /// Places every member's capsules for composite state `q`; with `members_valid`, also
    /// requires each member valid in its own checker (same placement). False on bad input or
    /// an invalid member.
    fn place(&self, s: &mut CompositeScratch, q: &[f64], members_valid: bool) -> bool {
        if q.len() != self.dof {
            return false;
        }
        for (i, m) in self.members.iter().enumerate() {
            let part = self.part(i, q);
            let ends = if members_valid {
                match m.checker.is_valid_placed(&mut s.members[i], part) {
                    Some((true, ends)) => ends,
                    _ => return false,
                }
            } else {
                match m.checker.placed_capsules(&mut s.members[i], part) {
                    Some(ends) => ends,
                    None => return false,
                }
            };
            let caps = m.checker.geometry().capsules();
            for ((p, (a, b)), c) in s.placed[i].iter_mut().zip(ends).zip(caps) {
                *p = PlacedCapsule {
                    a: *a,
                    b: *b,
                    radius: c.radius,
                    center: nalgebra::center(a, b),
                    bound: 0.5 * (b - a).norm() + c.radius,
                };
            }
        }
        true
    }

    /// Visits the member capsule pairs closer than the padding (placed state) until `on_pair`
    /// returns false; returns false if it stopped.
    fn inter_scan(
        &self,
        s: &CompositeScratch,
        mut on_pair: impl FnMut(usize, usize, usize, usize) -> bool,
    ) -> bool {
        for i in 0..self.members.len() {
            for j in i + 1..self.members.len() {
                for (ci, x) in s.placed[i].iter().enumerate() {
                    for (cj, y) in s.placed[j].iter().enumerate() {
                        let reach = x.bound + y.bound + self.padding;
                        if (x.center - y.center).norm_squared() >= reach * reach {
                            continue;
                        }
                        let d =
                            segment_segment_distance(&x.a, &x.b, &y.a, &y.b) - x.radius - y.radius;
                        if d < self.padding && !on_pair(i, ci, j, cj) {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    /// Members placed at `q` (and, with `members_valid`, each valid on its own) and no two
    /// of them closer than the padding.
    fn free(&self, s: &mut CompositeScratch, q: &[f64], members_valid: bool) -> bool {
        self.place(s, q, members_valid) && self.inter_scan(s, |_, _, _, _| false)
    }

    /// True when composite state `q` is free: every member valid in its checker, and no two
    /// members' capsules closer than the padding. Bad input answers `false`.
    pub fn is_valid(&self, s: &mut CompositeScratch, q: &[f64]) -> bool {
        self.free(s, q, true)
    }

    /// True when the straight composite motion `a → b` is free (see the module notes for the
    /// guarantee).
    pub fn motion_valid(&self, s: &mut CompositeScratch, a: &[f64], b: &[f64]) -> bool {
        if a.len() != self.dof || b.len() != self.dof {
            return false;
        }
        for i in 0..self.members.len() {
            let m = &self.members[i].checker;
            if !m.motion_valid(&mut s.members[i], self.part(i, a), self.part(i, b)) {
                return false;
            }
        }
        if self.members.len() < 2 {
            return true;
        }
        let sweep: f64 = (0..self.members.len())
            .map(|i| {
                self.members[i]
                    .checker
                    .sweep(self.part(i, a), self.part(i, b))
            })
            .sum();
        if !sweep.is_finite() {
            return false;
        }
        let steps = ((sweep / self.resolution).ceil() as usize).max(1);
        let mut q = std::mem::take(&mut s.q);
        let mut ok = true;
        for k in 0..=steps {
            let t = k as f64 / steps as f64;
            for ((o, x), y) in q.iter_mut().zip(a).zip(b) {
                *o = x + t * (y - x);
            }
            if !self.free(s, &q, false) {
                ok = false;
                break;
            }
        }
        s.q = q;
        ok
    }

    /// The colliding pairs of composite state `q` by name (`<robot>/<link>`; objects by their
    /// name), empty when valid or on bad input.
    pub fn contacts(&self, s: &mut CompositeScratch, q: &[f64]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if q.len() != self.dof {
            return out;
        }
        for (i, m) in self.members.iter().enumerate() {
            for (x, y) in m.checker.contacts(&mut s.members[i], self.part(i, q)) {
                // objects and robots outside the group keep their names
                out.push((format!("{}/{x}", m.name), y));
            }
        }
        if self.place(s, q, false) {
            let mut inter = Vec::new();
            self.inter_scan(s, |i, ci, j, cj| {
                let (mi, mj) = (&self.members[i], &self.members[j]);
                let pair = (
                    format!("{}/{}", mi.name, mi.checker.capsule_name(ci)),
                    format!("{}/{}", mj.name, mj.checker.capsule_name(cj)),
                );
                if !inter.contains(&pair) {
                    inter.push(pair);
                }
                true
            });
            out.extend(inter);
        }
        out
    }
}
