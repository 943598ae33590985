//! Timing a collision-checked path and proving the result before it leaves the planner:
//! blended where the limits allow (jerk-limited overlap blending for robots with jerk limits,
//! time-optimal circular blends otherwise), validated against every limit, and the sampled
//! motion itself checked for collision. Blends that collide are tightened, then dropped (stop
//! at each waypoint).

use crate::bounds::{Culprit, joint_culprit, size_error};
use crate::checker::ValidityChecker;
use crate::error::{PlanningError, Result};
use crate::space::{distance, path_length};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{
    Limits, MAX_SAMPLES, SampledTrajectory, SegmentedTrajectory, TimeOptimalOptions,
    TimeOptimalTrajectory, TrajectoryError, validate,
};

/// How a timed path is sampled: every `period` s, into at most `max_samples` samples (refused
/// before they are allocated when the motion would need more).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Sampling period, s.
    pub period: f64,
    /// Most samples, at most [`MAX_SAMPLES`].
    pub max_samples: usize,
}

impl Sampling {
    /// Every `period` s, at most [`MAX_SAMPLES`] samples.
    pub fn every(period: f64) -> Self {
        Self {
            period,
            max_samples: MAX_SAMPLES,
        }
    }
}

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

    fn sample(&self, sampling: &Sampling) -> cella_trajectory::Result<SampledTrajectory> {
        match self {
            Self::Segmented(t) => t.sample_at_most(sampling.period, sampling.max_samples),
            Self::TimeOptimal(t) => t.sample_at_most(sampling.period, sampling.max_samples),
        }
    }

    /// Time windows (s) where the motion leaves the straight segments between its waypoints
    /// (the blends); outside them it is on the segments.
    pub fn blend_windows(&self) -> Vec<(f64, f64)> {
        match self {
            Self::Segmented(t) => t.blend_windows(),
            Self::TimeOptimal(t) => t.blend_windows(),
        }
    }
}

/// What [`time_and_validate`] may assume about the straight segments between the waypoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segments {
    /// Nothing: the whole sampled motion is checked for collision.
    Unchecked,
    /// Every straight segment lies on a motion the same checker's
    /// [`ValidityChecker::motion_valid`] found free (the planners' paths: every edge they keep
    /// was checked as a motion, or is a piece of one; a check's proof covers every state of
    /// the motion, so every state of a piece). The motion is on those segments outside its
    /// blends, so only the blends are checked: a second check of a proven stretch adds no
    /// safety, and near contact it may place its states elsewhere and disagree within the
    /// resolution.
    Checked,
}

/// Blends tighter than this are not worth a retry: the path stops at those waypoints.
const SMALLEST_BLEND: f64 = 0.005;

/// Times `path` under `limits`, samples it as `sampling` says, validates limits, and checks
/// collision along the whole motion. `blend_deviation` (rad, ≥ 0) bounds how far a blend
/// passes from its waypoint; 0 stops at every waypoint. `segments` says whether the straight
/// segments between the waypoints are already proven free.
///
/// Collision: the motion is what leaves the planner, the sampled trajectory itself, checked
/// as a polyline ([`ValidityChecker::path_valid`]: consecutive samples joined by straight
/// motions at the checker's resolution; the true motion between two samples `dt` apart
/// leaves that chord by at most `max|q̈|·dt²/8` per joint, 3·10⁻⁵ rad at 15 rad/s² and 4 ms;
/// on the straight stretches it is the chord): all of it for [`Segments::Unchecked`], each
/// blend window (with the samples just outside it) for [`Segments::Checked`]. When a blend
/// collides the blends are tightened, then dropped; a motion that stops at every waypoint is
/// its straight segments, each checked with [`ValidityChecker::motion_valid`] unless already
/// proven ([`PlanningError::MotionInCollision`] when one collides).
///
/// Sizes: a motion longer than [`MAX_DURATION`](cella_trajectory::MAX_DURATION) is
/// [`PlanningError::TooLong`] (field `path`), one that needs more than
/// `sampling.max_samples` samples [`PlanningError::TooLarge`] (field `period`), both before
/// any sample is allocated. A path that does not move is held for one period (two samples at
/// rest).
pub fn time_and_validate<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    path: &[Vec<f64>],
    limits: &Limits,
    sampling: &Sampling,
    blend_deviation: f64,
    segments: Segments,
) -> Result<(Timing, SampledTrajectory)> {
    time_and_validate_sized(
        checker,
        scratch,
        path,
        limits,
        sampling,
        blend_deviation,
        segments,
    )
    .map_err(|f| {
        let culprit = joint_culprit(1.0, 1.0, sampling.period, f.too_many_samples(), "path");
        f.naming(&culprit)
    })
}

/// A failure of [`time_and_validate_sized`]: a planning error, or a size refusal whose culprit
/// the caller knows (the scale or the period of its request).
#[derive(Debug)]
pub(crate) enum TimingFailure {
    /// Any refusal but a size one.
    Planning(PlanningError),
    /// The motion would be too long or take too many samples.
    Size(TrajectoryError),
}

impl From<PlanningError> for TimingFailure {
    fn from(e: PlanningError) -> Self {
        Self::Planning(e)
    }
}

impl TimingFailure {
    /// The planning error: a size refusal names `culprit`.
    pub(crate) fn naming(self, culprit: &Culprit) -> PlanningError {
        match self {
            Self::Planning(e) => e,
            Self::Size(e) => size_error(e, culprit),
        }
    }

    /// True for too many samples (false for too long, or not a size refusal).
    pub(crate) fn too_many_samples(&self) -> bool {
        matches!(self, Self::Size(TrajectoryError::TooManySamples { .. }))
    }
}

/// [`time_and_validate`] with its size refusals left for the caller to attribute.
pub(crate) fn time_and_validate_sized<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    path: &[Vec<f64>],
    limits: &Limits,
    sampling: &Sampling,
    blend_deviation: f64,
    segments: Segments,
) -> std::result::Result<(Timing, SampledTrajectory), TimingFailure> {
    if !(blend_deviation.is_finite() && blend_deviation >= 0.0) {
        return Err(PlanningError::invalid(
            "blend_deviation",
            format!("{blend_deviation} rad is not a finite non-negative deviation"),
        )
        .into());
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
        let timing = time_path(&distinct, limits, deviation).map_err(PlanningError::timing)?;
        let samples = timing.sample(sampling).map_err(|e| match e {
            TrajectoryError::Invalid { .. } => PlanningError::timing(e).into(),
            size => TimingFailure::Size(size),
        })?;
        if let Err(e) = validate(&samples, limits, 1e-6) {
            if deviation > 0.0 {
                deviation = 0.0;
                continue;
            }
            return Err(PlanningError::timing(e).into());
        }
        if deviation > 0.0 {
            // blended: the sampled motion itself (the blends alone when the segments are
            // proven)
            let free = match segments {
                Segments::Unchecked => checker.path_valid(scratch, &samples.q),
                Segments::Checked => blends_free(checker, scratch, &timing, &samples),
            };
            if free {
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
        if segments == Segments::Unchecked {
            segments_free(checker, scratch, &distinct)?;
        }
        return Ok((timing, samples));
    }
}

/// True when the sampled motion is free in every blend window of `timing`: the samples of
/// each window and the one on either side of it (so the chords into and out of the blend are
/// checked too), one polyline check per run of overlapping windows.
fn blends_free<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    timing: &Timing,
    samples: &SampledTrajectory,
) -> bool {
    let n = samples.len();
    let dof = samples.dof;
    if n == 0 {
        return true;
    }
    // sample index ranges [first, last] around the windows, merged where they overlap
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (t0, t1) in timing.blend_windows() {
        let first = samples
            .times
            .partition_point(|&t| t <= t0)
            .saturating_sub(1);
        let last = samples.times.partition_point(|&t| t < t1).min(n - 1);
        match runs.last_mut() {
            Some(run) if first <= run.1 => run.1 = run.1.max(last),
            _ => runs.push((first, last)),
        }
    }
    runs.iter().all(|&(first, last)| {
        checker.path_valid(scratch, &samples.q[first * dof..(last + 1) * dof])
    })
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
                step: None,
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
