//! The allowed-collision matrix: link pairs the checker skips, each with its reason and the
//! evidence for it, decided on the real collision geometry (the convex hulls of the meshes,
//! [`crate::link_contacts`]) the way the MoveIt setup assistant does: adjacent links, pairs in
//! contact at the default pose, pairs in contact in almost every random state. Pairs that
//! never or only sometimes touch stay checked: sampling cannot prove "never", and a pair that
//! touches only sometimes is exactly what the checker is for.

use crate::link_contacts::{ContactSurvey, survey};
use crate::robot_geometry::RobotGeometry;
use std::collections::BTreeMap;

/// Why a link pair is allowed to touch: `adjacent`, `default`, `always`, `attached object`,
/// or an integrator's note.
pub type Reason = String;

/// Share of random states in contact from which a pair counts as `always` in contact.
pub const ALWAYS_FRACTION: f64 = 0.95;

/// The measurements behind an allowance ([`crate::link_contacts::PairContact`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// Signed distance (m) of the pair's exact geometry at the default pose (negative: depth).
    pub default_distance: f64,
    /// Fraction of sampled random states in which the pair was in contact.
    pub contact_fraction: f64,
}

/// One allowed pair: why, and (when computed) the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowance {
    /// Why the pair may touch.
    pub reason: Reason,
    /// What the geometry showed when the allowance was decided; `None` for hand-written ones.
    pub evidence: Option<Evidence>,
}

/// Link pairs (by name, unordered) that are not checked against each other.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedCollisions {
    pairs: BTreeMap<(String, String), Allowance>,
}

fn key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl AllowedCollisions {
    /// Allows `a` and `b` to touch, with a reason and no evidence.
    pub fn allow(&mut self, a: &str, b: &str, reason: &str) {
        self.allow_with(a, b, reason, None);
    }

    /// Allows `a` and `b` to touch, with a reason and the evidence for it.
    pub fn allow_with(&mut self, a: &str, b: &str, reason: &str, evidence: Option<Evidence>) {
        self.pairs.insert(
            key(a, b),
            Allowance {
                reason: reason.to_owned(),
                evidence,
            },
        );
    }

    /// Removes an allowance.
    pub fn disallow(&mut self, a: &str, b: &str) {
        self.pairs.remove(&key(a, b));
    }

    /// True when the pair is allowed to touch.
    pub fn allowed(&self, a: &str, b: &str) -> bool {
        a == b || self.pairs.contains_key(&key(a, b))
    }

    /// The allowance of a pair, if any.
    pub fn allowance(&self, a: &str, b: &str) -> Option<&Allowance> {
        self.pairs.get(&key(a, b))
    }

    /// Every allowed pair with its reason.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.pairs
            .iter()
            .map(|((a, b), r)| (a.as_str(), b.as_str(), r.reason.as_str()))
    }

    /// Every allowed pair with its allowance.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &Allowance)> {
        self.pairs
            .iter()
            .map(|((a, b), r)| (a.as_str(), b.as_str(), r))
    }

    /// Number of allowed pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when no pair is allowed.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Computes the matrix for a robot's geometry from a survey of its real collision
    /// geometry over `samples` random states ([`survey`], deterministic for a seed).
    pub fn compute(geometry: &RobotGeometry, samples: usize, seed: u64) -> Self {
        Self::from_survey(geometry, &survey(geometry, samples, seed))
    }

    /// The matrix a survey implies: links separated by at most one movable joint
    /// (`adjacent`), pairs in contact at the default pose (`default`), and pairs in contact in
    /// at least [`ALWAYS_FRACTION`] of the sampled states (`always`), each with its evidence.
    pub fn from_survey(geometry: &RobotGeometry, survey: &ContactSurvey) -> Self {
        let links = geometry.robot().model().links();
        let mut acm = Self::default();
        for p in &survey.pairs {
            let fraction = p.contact_fraction(survey.samples);
            let reason = if p.movable_joints <= 1 {
                "adjacent"
            } else if p.touches_at_default() {
                "default"
            } else if survey.samples > 0 && fraction >= ALWAYS_FRACTION {
                "always"
            } else {
                continue;
            };
            let evidence = Evidence {
                default_distance: p.default_distance,
                contact_fraction: fraction,
            };
            acm.allow_with(&links[p.a].name, &links[p.b].name, reason, Some(evidence));
        }
        acm
    }
}
