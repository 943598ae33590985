//! Bidirectional RRT (RRT-Connect, Kuffner & LaValle 2000) in joint space, from one start to a
//! set of goals, with a time budget, a cancel flag and a deterministic seed.
//!
//! Trees are stored flat (one `Vec<f64>` of coordinates, one `Vec<u32>` of parents) and grown
//! in place: memory is reserved once per call, never per extension. Nearest neighbours are a
//! linear scan over the flat array while a tree is small (for the few hundred nodes a typical
//! cell query needs it is faster than any tree structure, and cache-friendly), then an exact
//! k-d tree index ([`crate::kd_index`]), which gives the same answers.

use crate::checker::ValidityChecker;
use crate::kd_index::{self, KdIndex};
use crate::space::{JointSpace, interpolate, squared_distance};
use cella_kinematics::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Tuning of [`RrtConnect`].
#[derive(Debug, Clone, PartialEq)]
pub struct RrtOptions {
    /// Longest single extension in joint space (Euclidean, radians).
    pub range: f64,
    /// Give up after this many iterations.
    pub max_iterations: usize,
    /// Wall-clock budget.
    pub time_budget: Duration,
    /// Seed of the sampler: the same seed, problem and checker give the same path.
    pub seed: u64,
}

impl Default for RrtOptions {
    fn default() -> Self {
        Self {
            range: 1.0,
            max_iterations: 1_000_000,
            time_budget: Duration::from_secs(1),
            seed: 1,
        }
    }
}

/// Why the search stopped without a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchFailure {
    /// The time budget ran out.
    Timeout,
    /// The iteration limit was reached.
    IterationLimit,
    /// The caller raised the cancel flag.
    Cancelled,
}

/// Outcome counters of one search.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SearchStats {
    /// Iterations (samples drawn).
    pub iterations: usize,
    /// Nodes in both trees at the end.
    pub nodes: usize,
    /// Smallest distance from a start-tree state to a goal (rad), filled when the search
    /// fails: the best effort.
    pub closest: f64,
}

struct Tree {
    dof: usize,
    coords: Vec<f64>,
    parents: Vec<u32>,
    /// Nearest-neighbour index, used from [`kd_index::SCAN_BELOW`] nodes on.
    index: KdIndex,
}

const ROOT: u32 = u32::MAX;

/// Smallest distance from a node of `tree` to any of `goals`.
fn closest_to(tree: &mut Tree, goals: &[Vec<f64>]) -> f64 {
    goals
        .iter()
        .map(|g| {
            let i = tree.nearest(g);
            squared_distance(tree.node(i), g).sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}

impl Tree {
    fn new(dof: usize, capacity: usize) -> Self {
        Self {
            dof,
            coords: Vec::with_capacity(capacity * dof),
            parents: Vec::with_capacity(capacity),
            index: KdIndex::new(dof),
        }
    }

    fn len(&self) -> usize {
        self.parents.len()
    }

    fn node(&self, i: usize) -> &[f64] {
        &self.coords[i * self.dof..(i + 1) * self.dof]
    }

    fn push(&mut self, q: &[f64], parent: u32) -> usize {
        self.coords.extend_from_slice(q);
        self.parents.push(parent);
        self.parents.len() - 1
    }

    fn nearest(&mut self, q: &[f64]) -> usize {
        if self.len() >= kd_index::SCAN_BELOW {
            self.index.update(&self.coords);
            return self.index.nearest(&self.coords, q);
        }
        // fixed-size rows for the common arms: the distance loop unrolls and vectorises
        match self.dof {
            6 => nearest_fixed::<6>(&self.coords, q),
            7 => nearest_fixed::<7>(&self.coords, q),
            _ => nearest_any(&self.coords, self.dof, q),
        }
    }

    /// Path from the root to node `i`, root first.
    fn path_to(&self, mut i: usize) -> Vec<Vec<f64>> {
        let mut out = vec![self.node(i).to_vec()];
        while self.parents[i] != ROOT {
            i = self.parents[i] as usize;
            out.push(self.node(i).to_vec());
        }
        out.reverse();
        out
    }
}

/// Index of the row of `coords` (rows of `N` values) nearest to `q` (Euclidean).
fn nearest_fixed<const N: usize>(coords: &[f64], q: &[f64]) -> usize {
    let Ok(q) = <&[f64; N]>::try_from(q) else {
        return nearest_any(coords, N, q);
    };
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (i, node) in coords.chunks_exact(N).enumerate() {
        let mut d = 0.0;
        for k in 0..N {
            let e = node[k] - q[k];
            d += e * e;
        }
        if d < best_d {
            best_d = d;
            best = i;
        }
    }
    best
}

/// Index of the row of `coords` (rows of `dof` values) nearest to `q` (Euclidean).
fn nearest_any(coords: &[f64], dof: usize, q: &[f64]) -> usize {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (i, node) in coords.chunks_exact(dof).enumerate() {
        let d = squared_distance(node, q);
        if d < best_d {
            best_d = d;
            best = i;
        }
    }
    best
}

/// Iterations before a tree can count as stuck ([`is_stuck`]).
const STUCK_AFTER: usize = 32;

/// A tree counts as stuck when it holds fewer than one node per this many iterations (it
/// extends on every other iteration; a growing tree gains a node on most of them). 32 and 8
/// were chosen on the MotionBenchMaker set over seeds 1-3 among 32-256 and 4-64: the tail
/// (mean, worst case) depends little on them, the median iteration count a little.
const STUCK_RATIO: usize = 8;

/// True when a tree of `nodes` nodes has stopped growing after `iteration` iterations: from
/// [`STUCK_AFTER`] iterations on, fewer than one node per [`STUCK_RATIO`] iterations.
fn is_stuck(nodes: usize, iteration: usize) -> bool {
    iteration >= STUCK_AFTER && nodes * STUCK_RATIO < iteration
}

/// Result of an extension attempt.
#[derive(PartialEq)]
enum Extend {
    Reached(usize),
    Advanced(usize),
    Trapped,
}

/// RRT-Connect over a [`ValidityChecker`].
pub struct RrtConnect<'a, C: ValidityChecker> {
    space: &'a JointSpace,
    checker: &'a C,
    options: RrtOptions,
}

impl<'a, C: ValidityChecker> RrtConnect<'a, C> {
    /// A planner for `space` using `checker`.
    pub fn new(space: &'a JointSpace, checker: &'a C, options: RrtOptions) -> Self {
        Self {
            space,
            checker,
            options,
        }
    }

    /// Searches a path from `start` to any of `goals` (all assumed valid and within bounds).
    /// The path starts at `start` and ends at one of the goals; consecutive waypoints are
    /// joined by straight joint-space motions that the checker accepted.
    pub fn solve(
        &self,
        scratch: &mut C::Scratch,
        start: &[f64],
        goals: &[Vec<f64>],
        cancel: Option<&AtomicBool>,
    ) -> (Result<Vec<Vec<f64>>, SearchFailure>, SearchStats) {
        let dof = self.space.dof();
        let began = Instant::now();
        let mut rng = Rng::new(self.options.seed);
        let mut stats = SearchStats::default();
        let mut start_tree = Tree::new(dof, 1024);
        let mut goal_tree = Tree::new(dof, 1024);
        start_tree.push(start, ROOT);
        for g in goals {
            goal_tree.push(g, ROOT);
        }
        let mut sample = vec![0.0; dof];
        let mut scratch_q = vec![0.0; dof];
        let mut meet = vec![0.0; dof];
        // true: the start tree extends toward the sample, the goal tree connects
        let mut forward = true;
        for iteration in 0..self.options.max_iterations {
            stats.iterations = iteration + 1;
            // the clock costs ~25 ns against ≥ µs per extension: check every iteration
            {
                if began.elapsed() >= self.options.time_budget {
                    stats.nodes = start_tree.len() + goal_tree.len();
                    stats.closest = closest_to(&mut start_tree, goals);
                    return (Err(SearchFailure::Timeout), stats);
                }
                if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                    stats.nodes = start_tree.len() + goal_tree.len();
                    return (Err(SearchFailure::Cancelled), stats);
                }
            }
            let (grow, other) = if forward {
                (&mut start_tree, &mut goal_tree)
            } else {
                (&mut goal_tree, &mut start_tree)
            };
            // a tree that stopped growing sits in a narrow pocket (a goal deep in a shelf):
            // uniform samples almost never lead out of it, so half of its samples are drawn
            // around its own nodes, where a short extension can find the way out (the same
            // seed still gives the same path; searches whose trees grow never draw them)
            if is_stuck(grow.len(), iteration) && rng.next_u64() & 1 == 0 {
                let node = (rng.next_u64() % grow.len() as u64) as usize;
                self.space
                    .sample_near(&mut rng, grow.node(node), self.options.range, &mut sample);
            } else {
                self.space.sample(&mut rng, &mut sample);
            }
            let new_node = match self.extend(scratch, grow, &sample, &mut scratch_q, !forward) {
                Extend::Trapped => None,
                Extend::Advanced(i) | Extend::Reached(i) => Some(i),
            };
            if let Some(i) = new_node {
                meet.copy_from_slice(grow.node(i));
                if let Extend::Reached(j) =
                    self.connect(scratch, other, &meet, &mut scratch_q, forward)
                {
                    let (si, gi) = if forward { (i, j) } else { (j, i) };
                    let mut path = start_tree.path_to(si);
                    let mut tail = goal_tree.path_to(gi);
                    tail.reverse();
                    // both trees hold the meeting state: keep it once
                    path.extend(tail.into_iter().skip(1));
                    stats.nodes = start_tree.len() + goal_tree.len();
                    return (Ok(path), stats);
                }
            }
            forward = !forward;
        }
        stats.nodes = start_tree.len() + goal_tree.len();
        stats.closest = closest_to(&mut start_tree, goals);
        (Err(SearchFailure::IterationLimit), stats)
    }

    /// One step from the nearest node toward `target`, at most `range` long. Edges of the goal
    /// tree (`toward_root`) are checked in the direction the final path travels them (new node
    /// to tree node), so the final validation re-checks exactly what the search checked.
    fn extend(
        &self,
        scratch: &mut C::Scratch,
        tree: &mut Tree,
        target: &[f64],
        buf: &mut [f64],
        toward_root: bool,
    ) -> Extend {
        let near = tree.nearest(target);
        let from = tree.node(near);
        let d = squared_distance(from, target).sqrt();
        let reached = d <= self.options.range;
        if reached {
            buf.copy_from_slice(target);
        } else {
            interpolate(from, target, self.options.range / d, buf);
        }
        let valid = if toward_root {
            self.checker.motion_valid(scratch, buf, from)
        } else {
            self.checker.motion_valid(scratch, from, buf)
        };
        if !valid {
            return Extend::Trapped;
        }
        let i = tree.push(buf, near as u32);
        if reached {
            Extend::Reached(i)
        } else {
            Extend::Advanced(i)
        }
    }

    /// Repeated extension toward `target` until it is reached or blocked.
    fn connect(
        &self,
        scratch: &mut C::Scratch,
        tree: &mut Tree,
        target: &[f64],
        buf: &mut [f64],
        toward_root: bool,
    ) -> Extend {
        loop {
            match self.extend(scratch, tree, target, buf, toward_root) {
                Extend::Advanced(_) => continue,
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed-size scans find the same nearest row as the general one (first of equals),
    /// for 6 and 7 joints and any other count.
    #[test]
    fn nearest_rows_agree_with_the_general_scan() {
        let mut rng = Rng::new(3);
        for dof in [2, 6, 7, 9] {
            let mut tree = Tree::new(dof, 8);
            let mut q = vec![0.0; dof];
            for _ in 0..300 {
                for v in q.iter_mut() {
                    // a coarse grid: many equal distances
                    *v = (rng.uniform(-3.0, 3.0) * 2.0).round() / 2.0;
                }
                tree.push(&q, ROOT);
            }
            for _ in 0..200 {
                for v in q.iter_mut() {
                    *v = (rng.uniform(-3.0, 3.0) * 2.0).round() / 2.0;
                }
                let brute = (0..tree.len())
                    .min_by(|&a, &b| {
                        squared_distance(tree.node(a), &q)
                            .total_cmp(&squared_distance(tree.node(b), &q))
                    })
                    .unwrap_or(0);
                assert_eq!(tree.nearest(&q), brute, "dof {dof}");
            }
        }
    }

    /// A tree is stuck only after `STUCK_AFTER` iterations and only while it holds fewer than
    /// one node per `STUCK_RATIO` of them: quick searches never sample locally.
    #[test]
    fn stuck_trees_are_the_ones_that_stopped_growing() {
        assert!(!is_stuck(1, STUCK_AFTER - 1));
        assert!(is_stuck(1, STUCK_AFTER));
        assert!(is_stuck(3, 140_776));
        assert!(!is_stuck(STUCK_AFTER / STUCK_RATIO, STUCK_AFTER));
        assert!(!is_stuck(35_084, 76_838));
    }

    /// Local samples lie in the box around the centre and within the bounds, also where the
    /// box crosses a bound, and spread over the whole clipped box.
    #[test]
    fn local_samples_stay_in_the_clipped_box() {
        let space = JointSpace::new(
            vec!["a".into(), "b".into()],
            vec![-1.0, 0.0],
            vec![1.0, 2.0],
        )
        .unwrap();
        let mut rng = Rng::new(9);
        let mut q = [0.0; 2];
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for _ in 0..2_000 {
            space.sample_near(&mut rng, &[0.9, 1.0], 0.5, &mut q);
            assert!((0.4..=1.0).contains(&q[0]), "{q:?}");
            assert!((0.5..=1.5).contains(&q[1]), "{q:?}");
            for k in 0..2 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
        }
        assert!(lo[0] < 0.42 && hi[0] > 0.98 && lo[1] < 0.52 && hi[1] > 1.48);
    }
}
