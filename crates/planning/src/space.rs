//! The joint space a planner searches: per-joint bounds, distance and interpolation.

use crate::error::{PlanningError, Result};

/// Joint-space bounds of a planning group (radians or metres per joint, base order of the
/// group; several robots planned jointly simply concatenate their joints).
#[derive(Debug, Clone, PartialEq)]
pub struct JointSpace {
    names: Vec<String>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl JointSpace {
    /// Builds a space from joint names and finite bounds `lower[i] < upper[i]`.
    pub fn new(names: Vec<String>, lower: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        if names.is_empty() || names.len() != lower.len() || names.len() != upper.len() {
            return Err(PlanningError::invalid(
                "joint_space",
                format!(
                    "{} names, {} lower and {} upper bounds (need the same non-zero count)",
                    names.len(),
                    lower.len(),
                    upper.len()
                ),
            ));
        }
        for i in 0..names.len() {
            if !(lower[i].is_finite() && upper[i].is_finite() && lower[i] < upper[i]) {
                return Err(PlanningError::invalid(
                    "joint_space",
                    format!(
                        "joint '{}' bounds [{}, {}] are not a finite non-empty range",
                        names[i], lower[i], upper[i]
                    ),
                ));
            }
        }
        Ok(Self {
            names,
            lower,
            upper,
        })
    }

    /// The space of a robot's planning group (infinite limits of continuous joints become
    /// [-π, π] for sampling).
    pub fn of_chain(chain: &cella_kinematics::Chain) -> Result<Self> {
        let mut names = Vec::with_capacity(chain.dof());
        let mut lower = Vec::with_capacity(chain.dof());
        let mut upper = Vec::with_capacity(chain.dof());
        for v in chain.variables() {
            let (lo, hi) = cella_kinematics::chain::finite_range(&v.limits);
            names.push(v.name.clone());
            lower.push(lo);
            upper.push(hi);
        }
        Self::new(names, lower, upper)
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.names.len()
    }

    /// Joint names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// A uniform sample of the box `center ± half_width` (rad or m per joint) clipped to the
    /// bounds, into `out`.
    pub fn sample_near(
        &self,
        rng: &mut cella_kinematics::Rng,
        center: &[f64],
        half_width: f64,
        out: &mut [f64],
    ) {
        for (i, v) in out.iter_mut().enumerate() {
            let lo = (center[i] - half_width).max(self.lower[i]);
            let hi = (center[i] + half_width).min(self.upper[i]);
            *v = if lo < hi { rng.uniform(lo, hi) } else { lo };
        }
    }

    /// Lower bounds.
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }

    /// Upper bounds.
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }

    /// Checks that `q` has the right length, is finite and lies within bounds (with `tol`),
    /// naming `field` and the joint otherwise.
    pub fn check(&self, field: &str, q: &[f64], tol: f64) -> Result<()> {
        if q.len() != self.dof() {
            return Err(PlanningError::invalid(
                field,
                format!("{} values for {} joints", q.len(), self.dof()),
            ));
        }
        for (i, &v) in q.iter().enumerate() {
            if !v.is_finite() {
                return Err(PlanningError::invalid(
                    field,
                    format!("joint '{}' value {v} is not finite", self.names[i]),
                ));
            }
            if v < self.lower[i] - tol || v > self.upper[i] + tol {
                return Err(PlanningError::OutOfLimits {
                    field: field.to_owned(),
                    joint: self.names[i].clone(),
                    value: v,
                    lower: self.lower[i],
                    upper: self.upper[i],
                });
            }
        }
        Ok(())
    }

    /// Uniform random configuration within bounds.
    pub fn sample(&self, rng: &mut cella_kinematics::Rng, out: &mut [f64]) {
        for (i, slot) in out.iter_mut().enumerate().take(self.dof()) {
            *slot = rng.uniform(self.lower[i], self.upper[i]);
        }
    }
}

/// Euclidean joint-space distance.
#[inline]
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    squared_distance(a, b).sqrt()
}

/// Squared Euclidean joint-space distance.
#[inline]
pub fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `out = a + t (b - a)`.
#[inline]
pub fn interpolate(a: &[f64], b: &[f64], t: f64, out: &mut [f64]) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x + t * (y - x);
    }
}

/// Length of a piecewise-linear joint path (sum of Euclidean segment lengths).
pub fn path_length(path: &[Vec<f64>]) -> f64 {
    path.windows(2).map(|w| distance(&w[0], &w[1])).sum()
}
