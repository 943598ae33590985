//! Timing a collision-checked path and proving the result before it leaves the planner:
//! blended where the limits allow (jerk-limited overlap blending for robots with jerk limits,
//! time-optimal circular blends otherwise), validated against every limit, and the sampled
//! motion itself checked for collision. Blends that collide are tightened, then dropped (stop
//! at each waypoint).

use crate::checker::ValidityChecker;
use crate::error::{PlanningError, Result};
use crate::space::{distance, path_length};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{
    Limits, SampledTrajectory, SegmentedTrajectory, TimeOptimalOptions, TimeOptimalTrajectory,
    validate,
};

/// A timed path: synchronized segments (stopping at, or overlap-blending through, each
/// waypoint; jerk-limited when the robot has jerk limits), or the time-optimal blended
/// parameterization (robots without jerk limits).
#[derive(Debug, Clone, PartialEq)]
pub enum Timing {
    /// Joint-synchronized segments, see [`SegmentedTrajectory`].
    Segmented(SegmentedTrajectory),
    /// Time-optimal along a path with circular blends, see [`TimeOptimalTrajectory`].
    TimeOptimal(TimeOptimalTrajectory),
}

impl Timing {
    /// Total duration, s.
    pub fn duration(&self) -> f64 {
        match self {
            Self::Segmented(t) => t.duration(),
            Self::TimeOptimal(t) => t.duration(),
        }
    }

    /// Position, velocity, acceleration at time `t` (s) into buffers of `dof` values.
    pub fn evaluate(&self, t: f64, q: &mut [f64], qd: &mut [f64], qdd: &mut [f64]) {
        match self {
            Self::Segmented(tr) => tr.evaluate(t, q, qd, qdd),
            Self::TimeOptimal(tr) => tr.evaluate(t, q, qd, qdd),
        }
    }

    fn sample(&self, period: f64) -> cella_trajectory::Result<SampledTrajectory> {
        match self {
            Self::Segmented(t) => t.sample(period),
            Self::TimeOptimal(t) => t.sample(period),
        }
    }
}

/// Blends tighter than this are not worth a retry: the path stops at those waypoints.
const SMALLEST_BLEND: f64 = 0.005;

/// Times `path` (waypoints whose straight segments the caller has checked) under `limits`,
/// samples it every `period` s, validates limits, and checks collision along the whole
/// motion. `blend_deviation` (rad, ≥ 0) bounds how far a blend passes from its waypoint; 0
/// stops at every waypoint.
///
/// Collision: a blended motion is checked as what leaves the planner, the sampled trajectory
/// itself, in one polyline check ([`ValidityChecker::path_valid`]: consecutive samples joined
/// by straight motions at the checker's resolution; the true motion between two samples `dt`
/// apart leaves that chord by at most `max|q̈|·dt²/8` per joint, 3·10⁻⁵ rad at 15 rad/s² and
/// 4 ms; on the straight stretches it is the chord). When it collides the blends are
/// tightened, then dropped; a motion that stops at every waypoint is its straight segments,
/// each checked with [`ValidityChecker::motion_valid`]
/// ([`PlanningError::MotionInCollision`] when one collides).
pub fn time_and_validate<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    path: &[Vec<f64>],
    limits: &Limits,
    period: f64,
    blend_deviation: f64,
) -> Result<(Timing, SampledTrajectory)> {
    if !(blend_deviation.is_finite() && blend_deviation >= 0.0) {
        return Err(PlanningError::invalid(
            "blend_deviation",
            format!("{blend_deviation} rad is not a finite non-negative deviation"),
        ));
    }
    let mut distinct: Vec<Vec<f64>> = Vec::with_capacity(path.len());
    for w in path {
        if distinct.last().is_none_or(|last| distance(last, w) > 1e-12) {
            distinct.push(w.clone());
        }
    }
    let mut deviation = if distinct.len() > 2 {
        blend_deviation
    } else {
        0.0
    };
    loop {
        let timing = time_path(&distinct, limits, deviation)
            .map_err(|e| PlanningError::Trajectory(e.to_string()))?;
        let samples = timing
            .sample(period)
            .map_err(|e| PlanningError::Trajectory(e.to_string()))?;
        if let Err(e) = validate(&samples, limits, 1e-6) {
            if deviation > 0.0 {
                deviation = 0.0;
                continue;
            }
            return Err(PlanningError::Trajectory(e.to_string()));
        }
        if deviation > 0.0 {
            // blended: the sampled motion itself, blends and straight stretches in one pass
            if checker.path_valid(scratch, &samples.q) {
                return Ok((timing, samples));
            }
            deviation = if deviation / 4.0 >= SMALLEST_BLEND {
                deviation / 4.0
            } else {
                0.0
            };
            continue;
        }
        // stopping at every waypoint: the motion is the straight segments
        segments_free(checker, scratch, &distinct)?;
        return Ok((timing, samples));
    }
}

/// `Ok` when every straight segment of `path` is free (at the checker's guaranteed
/// resolution), else [`PlanningError::MotionInCollision`] with the fraction of the path length
/// where the first colliding segment starts.
fn segments_free<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    path: &[Vec<f64>],
) -> Result<()> {
    let total = path_length(path).max(f64::MIN_POSITIVE);
    let mut travelled = 0.0;
    for w in path.windows(2) {
        if !checker.motion_valid(scratch, &w[0], &w[1]) {
            return Err(PlanningError::MotionInCollision {
                fraction: travelled / total,
                pairs: Vec::new(),
            });
        }
        travelled += distance(&w[0], &w[1]);
    }
    Ok(())
}

fn time_path(
    path: &[Vec<f64>],
    limits: &Limits,
    deviation: f64,
) -> cella_trajectory::Result<Timing> {
    if limits.jerk.is_some() || path.len() < 2 {
        let options = SegmentOptions {
            jerk_limited: limits.jerk.is_some(),
            max_deviation: deviation,
        };
        return SegmentedTrajectory::new(path, limits, &options).map(Timing::Segmented);
    }
    let options = TimeOptimalOptions {
        max_deviation: deviation,
        ..TimeOptimalOptions::default()
    };
    TimeOptimalTrajectory::new(path, limits, &options).map(Timing::TimeOptimal)
}
