//! Inverse kinematics: fixed-capacity solution lists and the three solvers.
//!
//! Every solver writes into a caller-owned [`IkSolutions`] and verifies each candidate by
//! forward kinematics of the chain before keeping it.

pub mod numerical;
pub mod opw;
pub mod ur;

use crate::MAX_DOF;
use nalgebra::Isometry3;
use std::time::Duration;

/// Most solutions an [`IkSolutions`] list holds: 8 arm configurations × the ±2π variants of up
/// to five multi-turn joints (a UR arm has 256). Create the list once and reuse it: solvers
/// clear it, they never reallocate it.
pub const MAX_SOLUTIONS: usize = 256;

/// Arm configuration of an analytic solution (the branch a programmer keeps on a pendant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ArmConfiguration {
    /// Shoulder: true when the wrist centre is behind axis 1 ("back"), false for "front".
    pub shoulder_back: bool,
    /// Elbow: true for "down", false for "up".
    pub elbow_down: bool,
    /// Wrist: true when the wrist is flipped (negative axis-5 angle in the solver convention).
    pub wrist_flip: bool,
}

impl ArmConfiguration {
    /// Short label, e.g. `front/up/noflip`.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            if self.shoulder_back { "back" } else { "front" },
            if self.elbow_down { "down" } else { "up" },
            if self.wrist_flip { "flip" } else { "noflip" }
        )
    }
}

/// One IK solution: joint values in chain order (radians or metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IkSolution {
    q: [f64; MAX_DOF],
    dof: usize,
    /// Arm configuration, for analytic solvers.
    pub configuration: Option<ArmConfiguration>,
}

impl IkSolution {
    /// Builds a solution from joint values (at most [`MAX_DOF`] are kept).
    pub fn new(values: &[f64], configuration: Option<ArmConfiguration>) -> Self {
        let mut q = [0.0; MAX_DOF];
        let dof = values.len().min(MAX_DOF);
        q[..dof].copy_from_slice(&values[..dof]);
        Self {
            q,
            dof,
            configuration,
        }
    }

    /// Joint values in chain order.
    pub fn joints(&self) -> &[f64] {
        &self.q[..self.dof]
    }

    /// Largest absolute joint difference to `other` (same units as the joints).
    pub fn max_distance(&self, other: &[f64]) -> f64 {
        self.joints()
            .iter()
            .zip(other)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// Sum of squared joint differences to `other`.
    pub fn squared_distance(&self, other: &[f64]) -> f64 {
        self.joints()
            .iter()
            .zip(other)
            .map(|(a, b)| (a - b) * (a - b))
            .sum()
    }
}

/// A fixed-capacity list of IK solutions (no allocation).
#[derive(Debug, Clone)]
pub struct IkSolutions {
    items: [IkSolution; MAX_SOLUTIONS],
    len: usize,
}

impl Default for IkSolutions {
    fn default() -> Self {
        Self {
            items: [IkSolution::new(&[], None); MAX_SOLUTIONS],
            len: 0,
        }
    }
}

impl IkSolutions {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every solution.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Adds a solution; returns false (and drops it) when the list is full.
    pub fn push(&mut self, s: IkSolution) -> bool {
        if self.len == MAX_SOLUTIONS {
            return false;
        }
        self.items[self.len] = s;
        self.len += 1;
        true
    }

    /// Number of solutions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no solution.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The solutions.
    pub fn as_slice(&self) -> &[IkSolution] {
        &self.items[..self.len]
    }

    /// Keeps the first `n` solutions.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// Keeps, among the solutions at index `from` and after, those for which `keep` is true.
    pub fn retain_from(&mut self, from: usize, mut keep: impl FnMut(&IkSolution) -> bool) {
        let mut w = from;
        for r in from..self.len {
            if keep(&self.items[r]) {
                self.items[w] = self.items[r];
                w += 1;
            }
        }
        self.len = w;
    }

    /// Orders solutions by Euclidean joint distance to `seed`, nearest first (stable).
    pub fn sort_by_distance(&mut self, seed: &[f64]) {
        self.items[..self.len].sort_by(|a, b| {
            a.squared_distance(seed)
                .total_cmp(&b.squared_distance(seed))
        });
    }

    /// True when a solution within `tolerance` (max-norm) of `q` is already present.
    pub fn contains(&self, q: &[f64], tolerance: f64) -> bool {
        self.as_slice()
            .iter()
            .any(|s| s.max_distance(q) <= tolerance)
    }
}

/// Parameters shared by the IK solvers.
#[derive(Debug, Clone)]
pub struct IkOptions {
    /// Position tolerance of the verification / convergence test (metres).
    pub position_tolerance: f64,
    /// Orientation tolerance (radians, rotation angle of the error).
    pub orientation_tolerance: f64,
    /// Analytic solvers: also return the ±2π variants of joints whose range allows them.
    pub all_turns: bool,
    /// Numerical solver: iterations per attempt.
    pub max_iterations: usize,
    /// Numerical solver: random restarts after the seeded attempt.
    pub max_restarts: usize,
    /// Numerical solver: how many distinct solutions to collect before stopping.
    pub max_solutions: usize,
    /// Wall-clock budget; `None` for no limit (results are then fully deterministic).
    pub time_budget: Option<Duration>,
    /// Seed of the random restarts.
    pub rng_seed: u64,
}

impl Default for IkOptions {
    fn default() -> Self {
        Self {
            position_tolerance: 1e-9,
            orientation_tolerance: 1e-9,
            all_turns: true,
            max_iterations: 60,
            max_restarts: 200,
            max_solutions: 1,
            time_budget: Some(Duration::from_millis(50)),
            rng_seed: 0x5eed,
        }
    }
}

/// Position (m) and rotation-angle (rad) differences between two poses.
pub fn pose_error(a: &Isometry3<f64>, b: &Isometry3<f64>) -> (f64, f64) {
    let dp = (a.translation.vector - b.translation.vector).norm();
    let dr = a.rotation.angle_to(&b.rotation);
    (dp, dr)
}

/// Adds `q` (already within (-π, π] for revolute joints) to `out` together with every ±2π
/// variant of each joint that stays within limits (when `all_turns`), or else only the variant
/// closest to zero within limits. Keeps only combinations inside all limits.
/// True when `bases` already holds `q` (joints compared modulo 2π, within 1e-9 rad):
/// closed-form solvers return the same solution twice at singularities.
pub(crate) fn same_base_listed(bases: &[([f64; 6], ArmConfiguration)], q: &[f64; 6]) -> bool {
    bases
        .iter()
        .any(|(b, _)| b.iter().zip(q).all(|(a, b)| wrap_angle(a - b).abs() < 1e-9))
}

/// Per joint, the values `q[j] + k·2π` (k ∈ {0, -1, 1}) within limits, the first one preferred.
/// `None` when some joint has no value within limits.
fn turn_candidates(
    chain: &crate::Chain,
    q: &[f64; 6],
    all_turns: bool,
) -> Option<([[f64; 3]; 6], [usize; 6])> {
    use std::f64::consts::TAU;
    let mut options = [[0.0f64; 3]; 6];
    let mut counts = [0usize; 6];
    for (j, v) in chain.variables().iter().enumerate().take(6) {
        let periodic = matches!(
            v.kind,
            crate::JointKind::Revolute | crate::JointKind::Continuous
        );
        let candidates: &[f64] = if periodic { &[0.0, -TAU, TAU] } else { &[0.0] };
        for &k in candidates {
            let x = q[j] + k;
            if v.limits.contains(x) && counts[j] < 3 {
                options[j][counts[j]] = x;
                counts[j] += 1;
                if !all_turns {
                    break;
                }
            }
        }
        if counts[j] == 0 {
            return None;
        }
    }
    Some((options, counts))
}

/// From the raw solutions of a closed-form solver (its own joint convention), keeps the
/// distinct ones whose FK (after `to_urdf`, wrapped into (-π, π]) reaches `target`, and writes
/// them with their ±2π variants ([`push_solutions`]). One FK check per base solution: its
/// variants have the same FK.
pub(crate) fn push_verified_bases(
    chain: &crate::Chain,
    target: &nalgebra::Isometry3<f64>,
    options: &IkOptions,
    raw: &[([f64; 6], ArmConfiguration)],
    to_urdf: impl Fn(usize, f64) -> f64,
    out: &mut IkSolutions,
) {
    let mut bases = [([0.0; 6], ArmConfiguration::default()); 8];
    let mut n_bases = 0;
    for (q_raw, cfg) in raw.iter().take(bases.len()) {
        let mut q = [0.0; 6];
        for (i, v) in q.iter_mut().enumerate() {
            *v = wrap_angle(to_urdf(i, q_raw[i]));
        }
        if q.iter().any(|v| !v.is_finite())
            || same_base_listed(&bases[..n_bases], &q)
            || !opw::verified(chain, target, options, &q)
        {
            continue;
        }
        bases[n_bases] = (q, *cfg);
        n_bases += 1;
    }
    push_solutions(chain, &bases[..n_bases], options.all_turns, out);
}

/// Writes the solutions of distinct, FK-verified base solutions (joint values in (-π, π]):
/// first one within-limits variant of every base (so every arm configuration is listed even
/// when the list fills up), then, with `all_turns`, their other ±2π variants. Bases with no
/// variant within limits are dropped. No search over `out`: distinct bases have distinct
/// variants.
pub(crate) fn push_solutions(
    chain: &crate::Chain,
    bases: &[([f64; 6], ArmConfiguration)],
    all_turns: bool,
    out: &mut IkSolutions,
) {
    for pass in 0..2 {
        if pass == 1 && !all_turns {
            return;
        }
        for (q, cfg) in bases {
            let Some((options, counts)) = turn_candidates(chain, q, all_turns) else {
                continue;
            };
            let mut idx = [0usize; 6];
            loop {
                if (pass == 0) == idx.iter().all(|&i| i == 0) {
                    let mut cand = [0.0; 6];
                    for j in 0..6 {
                        cand[j] = options[j][idx[j]];
                    }
                    if !out.push(IkSolution::new(&cand, Some(*cfg))) {
                        return;
                    }
                }
                if pass == 0 {
                    break;
                }
                // odometer increment
                let mut j = 0;
                while j < 6 {
                    idx[j] += 1;
                    if idx[j] < counts[j] {
                        break;
                    }
                    idx[j] = 0;
                    j += 1;
                }
                if j == 6 {
                    break;
                }
            }
        }
    }
}

/// Wraps an angle into (-π, π].
pub fn wrap_angle(a: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    let mut x = a % TAU;
    if x > PI {
        x -= TAU;
    } else if x <= -PI {
        x += TAU;
    }
    x
}
