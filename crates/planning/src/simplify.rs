//! Path simplification: drop redundant waypoints, then random shortcuts. Every replacement
//! motion is checked by the [`ValidityChecker`], so a simplified path is as valid as the input.

use crate::checker::ValidityChecker;
use crate::space::{distance, interpolate};
use cella_kinematics::Rng;
use std::time::{Duration, Instant};

/// Consecutive failed shortcuts after which the path is taken as short enough.
const MAX_MISSES: usize = 8;

/// Tuning of [`simplify`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimplifyOptions {
    /// Random shortcut attempts.
    pub shortcut_attempts: usize,
    /// Wall-clock budget for the whole simplification.
    pub time_budget: Duration,
    /// Seed for the shortcut sampler.
    pub seed: u64,
}

impl Default for SimplifyOptions {
    fn default() -> Self {
        Self {
            shortcut_attempts: 24,
            time_budget: Duration::from_millis(20),
            seed: 7,
        }
    }
}

/// Removes waypoints greedily: from each kept waypoint, keep the farthest later waypoint the
/// straight motion reaches validly, trying from the path's end backwards (the next waypoint is
/// kept unchecked: it is the path's own edge). A blocked long motion usually fails in its first
/// batch of checked states, so the misses cost little; stopping at the first blocked waypoint
/// instead (growing the motion one waypoint at a time) gave longer paths and more full checks.
pub fn reduce_vertices<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    path: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    if path.len() <= 2 {
        return path.to_vec();
    }
    let mut out = vec![path[0].clone()];
    let mut i = 0;
    while i < path.len() - 1 {
        let mut j = path.len() - 1;
        while j > i + 1 && !checker.motion_valid(scratch, &path[i], &path[j]) {
            j -= 1;
        }
        out.push(path[j].clone());
        i = j;
    }
    out
}

/// Shortens `path` in place of a copy: vertex reduction, then random shortcuts between points
/// on two different segments, then a final vertex reduction. Endpoints are kept exactly.
pub fn simplify<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    path: &[Vec<f64>],
    options: &SimplifyOptions,
) -> Vec<Vec<f64>> {
    let began = Instant::now();
    let mut path = reduce_vertices(checker, scratch, path);
    let mut rng = Rng::new(options.seed);
    let dof = path.first().map_or(0, Vec::len);
    let mut a = vec![0.0; dof];
    let mut b = vec![0.0; dof];
    let mut misses = 0;
    for _ in 0..options.shortcut_attempts {
        if path.len() < 3 || began.elapsed() > options.time_budget || misses >= MAX_MISSES {
            break;
        }
        let segments = path.len() - 1;
        let mut s1 = (rng.next_u64() % segments as u64) as usize;
        let mut s2 = (rng.next_u64() % segments as u64) as usize;
        if s1 == s2 {
            continue;
        }
        if s1 > s2 {
            std::mem::swap(&mut s1, &mut s2);
        }
        let t1 = rng.next_f64();
        let t2 = rng.next_f64();
        interpolate(&path[s1], &path[s1 + 1], t1, &mut a);
        interpolate(&path[s2], &path[s2 + 1], t2, &mut b);
        let old: f64 = distance(&a, &path[s1 + 1])
            + (s1 + 1..s2)
                .map(|k| distance(&path[k], &path[k + 1]))
                .sum::<f64>()
            + distance(&path[s2], &b);
        // the pieces kept of the two cut segments are not checked again: every state of a
        // motion found free is covered by that check's proof (an interval proven clear, or
        // within half the resolution of a checked free state), and so is every state of a
        // piece of it
        if distance(&a, &b) >= old - 1e-9 || !checker.motion_valid(scratch, &a, &b) {
            misses += 1;
            continue;
        }
        misses = 0;
        let mut next = Vec::with_capacity(path.len());
        next.extend(path[..=s1].iter().cloned());
        next.push(a.clone());
        next.push(b.clone());
        next.extend(path[s2 + 1..].iter().cloned());
        // the original corners next to a/b may now coincide with them
        next.dedup_by(|x, y| distance(x, y) < 1e-12);
        path = next;
    }
    reduce_vertices(checker, scratch, &path)
}
