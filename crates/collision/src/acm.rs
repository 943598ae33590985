//! The allowed-collision matrix: link pairs the checker skips, each with its reason, found
//! automatically the way the MoveIt setup assistant does (adjacent links, pairs in collision at
//! the default pose, pairs in collision in almost every random state). Pairs that never collide
//! in the samples stay checked: sampling cannot prove "never".

use crate::robot_geometry::RobotGeometry;
use cella_kinematics::Rng;
use nalgebra::Isometry3;
use std::collections::BTreeMap;

/// Why a link pair is allowed to touch.
pub type Reason = String;

/// Link pairs (by name, unordered) that are not checked against each other.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedCollisions {
    pairs: BTreeMap<(String, String), Reason>,
}

fn key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl AllowedCollisions {
    /// Allows `a` and `b` to touch, with a reason.
    pub fn allow(&mut self, a: &str, b: &str, reason: &str) {
        self.pairs.insert(key(a, b), reason.to_owned());
    }

    /// Removes an allowance.
    pub fn disallow(&mut self, a: &str, b: &str) {
        self.pairs.remove(&key(a, b));
    }

    /// True when the pair is allowed to touch.
    pub fn allowed(&self, a: &str, b: &str) -> bool {
        a == b || self.pairs.contains_key(&key(a, b))
    }

    /// Every allowed pair with its reason.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.pairs
            .iter()
            .map(|((a, b), r)| (a.as_str(), b.as_str(), r.as_str()))
    }

    /// Computes the matrix for a robot's geometry: links separated by at most one movable
    /// joint ("adjacent"), pairs in collision at the `home` named pose or at the mid-range
    /// pose ("default"), and pairs in collision in at least 95 % of `samples` random states
    /// ("always"). Deterministic for a seed.
    pub fn compute(geometry: &RobotGeometry, samples: usize, seed: u64) -> Self {
        let robot = geometry.robot();
        let model = robot.model();
        let chain = robot.chain();
        let caps = geometry.capsules();
        let mut acm = Self::default();
        let links: Vec<usize> = {
            let mut l: Vec<usize> = caps.iter().map(|c| c.link).collect();
            l.sort_unstable();
            l.dedup();
            l
        };
        let name = |l: usize| model.links()[l].name.clone();
        for (i, &a) in links.iter().enumerate() {
            for &b in &links[i + 1..] {
                if movable_joints_between(model, a, b) <= 1 {
                    acm.allow(&name(a), &name(b), "adjacent");
                }
            }
        }
        let mut poses = vec![Isometry3::identity(); model.links().len()];
        let mut full = vec![0.0; model.variables().len()];
        let mut colliding = |q: &[f64], counts: &mut BTreeMap<(usize, usize), usize>| {
            if robot.model_state(q, &mut full).is_err()
                || model.link_poses(&full, &mut poses).is_err()
            {
                return;
            }
            let world: Vec<_> = caps
                .iter()
                .map(|c| (c.link, poses[c.link] * c.a, poses[c.link] * c.b, c.radius))
                .collect();
            let mut seen = std::collections::BTreeSet::new();
            for i in 0..world.len() {
                for j in i + 1..world.len() {
                    let (la, a0, a1, ra) = world[i];
                    let (lb, b0, b1, rb) = world[j];
                    if la == lb {
                        continue;
                    }
                    let d = crate::shape::segment_segment_distance(&a0, &a1, &b0, &b1);
                    if d < ra + rb {
                        seen.insert((la.min(lb), la.max(lb)));
                    }
                }
            }
            for p in seen {
                *counts.entry(p).or_default() += 1;
            }
        };
        let mut defaults = Vec::new();
        if let Ok(home) = robot.named_pose("home") {
            defaults.push(home.to_vec());
        }
        defaults.push(
            chain
                .variables()
                .iter()
                .map(|v| {
                    let (lo, hi) = cella_kinematics::chain::finite_range(&v.limits);
                    0.0_f64.clamp(lo, hi)
                })
                .collect(),
        );
        let mut at_default = BTreeMap::new();
        for q in &defaults {
            colliding(q, &mut at_default);
        }
        for (a, b) in at_default.keys() {
            if !acm.allowed(&name(*a), &name(*b)) {
                acm.allow(&name(*a), &name(*b), "default");
            }
        }
        let mut rng = Rng::new(seed);
        let mut q = vec![0.0; chain.dof()];
        let mut counts = BTreeMap::new();
        for _ in 0..samples {
            chain.random_configuration(&mut rng, &mut q);
            colliding(&q, &mut counts);
        }
        for ((a, b), n) in counts {
            if samples > 0 && n * 100 >= samples * 95 && !acm.allowed(&name(a), &name(b)) {
                acm.allow(&name(a), &name(b), "always");
            }
        }
        acm
    }
}

/// Number of movable joints on the tree path between two links.
fn movable_joints_between(model: &cella_kinematics::RobotModel, a: usize, b: usize) -> usize {
    let chain_a = model.ancestors(a);
    let chain_b = model.ancestors(b);
    let common = chain_a
        .iter()
        .find(|l| chain_b.contains(l))
        .copied()
        .unwrap_or(model.root());
    let count = |chain: &[usize]| {
        chain
            .iter()
            .take_while(|&&l| l != common)
            .filter(|&&l| {
                model.links()[l]
                    .parent_joint
                    .is_some_and(|j| model.joints()[j].kind.is_movable())
            })
            .count()
    };
    count(&chain_a) + count(&chain_b)
}
