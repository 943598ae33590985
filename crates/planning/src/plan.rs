//! Joint-space planning end to end: validate the request, try the direct motion, search with
//! RRT-Connect, simplify, time-parameterize, and validate the result (limits and collision
//! along the whole motion) before returning it.

use crate::bounds::{check_min_duration, joint_culprit, min_duration};
use crate::checker::ValidityChecker;
use crate::error::{PlanningError, Result};
use crate::rrt_connect::{RrtConnect, RrtOptions, SearchFailure};
use crate::simplify::{SimplifyOptions, simplify};
use crate::space::JointSpace;
use crate::timing::{Sampling, Segments, Timing, time_and_validate_sized};
use cella_trajectory::{Limits, MAX_SAMPLES, SampledTrajectory};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Options of a joint-space planning request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// Wall-clock budget for the search.
    pub time_budget: Duration,
    /// Seed: the same request and seed give the same trajectory.
    pub seed: u64,
    /// Velocity scaling in (0, 1].
    pub velocity_scale: f64,
    /// Acceleration scaling in (0, 1].
    pub acceleration_scale: f64,
    /// Sampling period of the returned trajectory, s.
    pub period: f64,
    /// Longest RRT extension (rad, Euclidean in joint space).
    pub range: f64,
    /// Most random shortcut attempts after the search (fewer after a short search: one per
    /// four search iterations, at least 4).
    pub shortcut_attempts: usize,
    /// How far the motion may pass from an intermediate waypoint when blending through it
    /// (rad, Euclidean in joint space); 0 stops at every waypoint. Blends are checked for
    /// collision and tightened or dropped where they collide.
    pub blend_deviation: f64,
    /// Most samples of the returned trajectory (of a whole sequence), at most
    /// [`MAX_SAMPLES`]: a motion that would need more is refused
    /// ([`PlanningError::TooLarge`]) before they are allocated. A service lowers it to what
    /// its largest response message holds.
    pub max_samples: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            time_budget: Duration::from_secs(1),
            seed: 1,
            velocity_scale: 1.0,
            acceleration_scale: 1.0,
            period: cella_trajectory::DEFAULT_PERIOD,
            range: 0.5,
            shortcut_attempts: 24,
            blend_deviation: 0.05,
            max_samples: MAX_SAMPLES,
        }
    }
}

impl PlanOptions {
    /// How the planned motion is sampled.
    pub(crate) fn sampling(&self) -> Sampling {
        Sampling {
            period: self.period,
            max_samples: self.max_samples.min(MAX_SAMPLES),
        }
    }

    /// Refuses a motion through `path` (at least the travel of the direct motion of any
    /// path between its ends) that would last longer than
    /// [`MAX_DURATION`](cella_trajectory::MAX_DURATION) under the `scaled` limits, naming the
    /// scale that slows it (or `motion` at full speed), before anything is searched.
    pub(crate) fn check_duration(
        &self,
        path: &[Vec<f64>],
        scaled: &Limits,
        motion: &str,
    ) -> Result<()> {
        check_min_duration(
            min_duration(path, scaled),
            &joint_culprit(
                self.velocity_scale,
                self.acceleration_scale,
                self.period,
                false,
                motion,
            ),
        )
    }
}

/// Shortcut attempts allowed however short the search was.
const MIN_SHORTCUT_ATTEMPTS: usize = 4;

/// A planned motion: the geometric path, its timed and sampled trajectory, and how it went.
#[derive(Debug, Clone)]
pub struct PlannedMotion {
    /// Waypoints (rad), start first, joined by straight joint-space motions.
    pub path: Vec<Vec<f64>>,
    /// The time parameterization of the path.
    pub trajectory: Timing,
    /// The trajectory sampled at the requested period, validated.
    pub samples: SampledTrajectory,
    /// Index of the goal reached.
    pub goal_index: usize,
    /// True when the direct motion was free and no search was needed.
    pub direct: bool,
    /// Search iterations.
    pub iterations: usize,
    /// Wall time from the call to the validated trajectory.
    pub planning_time: Duration,
    /// Of which: the search (direct motion and RRT-Connect).
    pub search_time: Duration,
    /// Of which: path simplification.
    pub simplify_time: Duration,
}

/// Plans from `start` to any of `goals` in joint space.
///
/// Failures: [`PlanningError::InvalidInput`]/[`PlanningError::OutOfLimits`] for bad states,
/// [`PlanningError::StartInCollision`] / [`PlanningError::GoalInCollision`] naming the pairs,
/// [`PlanningError::Timeout`], [`PlanningError::Cancelled`],
/// [`PlanningError::TooLong`] / [`PlanningError::TooLarge`] for a motion longer than
/// [`MAX_DURATION`](cella_trajectory::MAX_DURATION) (checked before the search) or needing
/// more than `options.max_samples` samples, naming the scale or the period to change, and a
/// trajectory error if the result fails validation (never returned unvalidated). A goal equal
/// to the start gives the start held for one period (two samples at rest).
pub fn plan_joint<C: ValidityChecker>(
    checker: &C,
    space: &JointSpace,
    limits: &Limits,
    start: &[f64],
    goals: &[Vec<f64>],
    options: &PlanOptions,
    cancel: Option<&AtomicBool>,
) -> Result<PlannedMotion> {
    let began = Instant::now();
    if checker.dof() != space.dof() || limits.dof() != space.dof() {
        return Err(PlanningError::invalid(
            "robot",
            format!(
                "checker has {} joints, space {}, limits {}",
                checker.dof(),
                space.dof(),
                limits.dof()
            ),
        ));
    }
    space.check("start", start, 1e-9)?;
    if goals.is_empty() {
        return Err(PlanningError::invalid("goals", "no goal given"));
    }
    for (i, g) in goals.iter().enumerate() {
        space.check(&format!("goals[{i}]"), g, 1e-9)?;
    }
    let scaled = scaled_limits(limits, options.velocity_scale, options.acceleration_scale)?;
    if !(options.range.is_finite() && options.range > 0.0) {
        return Err(PlanningError::invalid("range", "must be positive"));
    }
    let mut scratch = checker.scratch();
    free_start(checker, &mut scratch, start)?;
    let valid_goals: Vec<(usize, Vec<f64>)> = goals
        .iter()
        .enumerate()
        .filter(|(_, g)| checker.state_valid(&mut scratch, g))
        .map(|(i, g)| (i, g.clone()))
        .collect();
    if valid_goals.is_empty() {
        return Err(PlanningError::GoalInCollision {
            pairs: checker.colliding_pairs(&mut scratch, &goals[0]),
        });
    }
    // too slow to ever finish: refused before the search (any path to a goal moves each
    // joint at least as far as the direct motion does)
    if let Some(nearest) = valid_goals.iter().min_by(|a, b| {
        min_duration(&[start.to_vec(), a.1.clone()], &scaled)
            .total_cmp(&min_duration(&[start.to_vec(), b.1.clone()], &scaled))
    }) {
        options.check_duration(&[start.to_vec(), nearest.1.clone()], &scaled, "goals")?;
    }

    // direct motion first, nearest goal first
    let mut order: Vec<usize> = (0..valid_goals.len()).collect();
    order.sort_by(|&a, &b| {
        crate::space::squared_distance(start, &valid_goals[a].1)
            .total_cmp(&crate::space::squared_distance(start, &valid_goals[b].1))
    });
    let mut direct = None;
    for &k in &order {
        if checker.motion_valid(&mut scratch, start, &valid_goals[k].1) {
            direct = Some(k);
            break;
        }
    }
    let mut search_time = began.elapsed();
    let mut simplify_time = Duration::ZERO;
    let (path, goal_index, iterations, is_direct) = match direct {
        Some(k) => (
            vec![start.to_vec(), valid_goals[k].1.clone()],
            valid_goals[k].0,
            0,
            true,
        ),
        None => {
            let goal_states: Vec<Vec<f64>> = valid_goals.iter().map(|(_, g)| g.clone()).collect();
            let remaining = options.time_budget.saturating_sub(began.elapsed());
            let rrt = RrtConnect::new(
                space,
                checker,
                RrtOptions {
                    range: options.range,
                    time_budget: remaining,
                    seed: options.seed,
                    ..RrtOptions::default()
                },
            );
            let (result, stats) = rrt.solve(&mut scratch, start, &goal_states, cancel);
            search_time = began.elapsed();
            let raw = match result {
                Ok(p) => p,
                Err(SearchFailure::Timeout) => {
                    return Err(PlanningError::Timeout {
                        budget_ms: options.time_budget.as_secs_f64() * 1e3,
                        closest: stats.closest,
                        nodes: stats.nodes,
                    });
                }
                Err(SearchFailure::Cancelled) => return Err(PlanningError::Cancelled),
                Err(SearchFailure::IterationLimit) => {
                    return Err(PlanningError::NoPath {
                        reason: format!(
                            "iteration limit after {} iterations (best effort: within {:.3} rad of a goal)",
                            stats.iterations, stats.closest
                        ),
                    });
                }
            };
            let last = raw.last().cloned().unwrap_or_default();
            let goal_index = valid_goals
                .iter()
                .find(|(_, g)| *g == last)
                .map_or(0, |(i, _)| *i);
            let simplify_began = Instant::now();
            let short = simplify(
                checker,
                &mut scratch,
                &raw,
                &SimplifyOptions {
                    // simplification should not cost more than the search that needed it:
                    // at most one shortcut attempt per search iteration (a work count, not a
                    // clock, so the same seed gives the same path on any machine)
                    shortcut_attempts: options
                        .shortcut_attempts
                        .min((stats.iterations / 4).max(MIN_SHORTCUT_ATTEMPTS)),
                    seed: options.seed,
                    // the clock only as a last resort: the rest of the request's budget
                    time_budget: options.time_budget.saturating_sub(began.elapsed()),
                },
            );
            simplify_time = simplify_began.elapsed();
            (short, goal_index, stats.iterations, false)
        }
    };
    let search = Search {
        goal_field: "goals",
        goal_index,
        direct: is_direct,
        iterations,
        search_time,
        simplify_time,
    };
    timed_motion(checker, &mut scratch, path, &scaled, options, began, search)
}

/// How the path of a motion was found, for [`PlannedMotion`].
struct Search {
    /// The request field of the goal, for refusals naming the motion.
    goal_field: &'static str,
    goal_index: usize,
    direct: bool,
    iterations: usize,
    search_time: Duration,
    simplify_time: Duration,
}

/// Times and validates `path` ([`time_and_validate`]) and assembles the planned motion.
/// Every straight segment of `path` lies on a motion `checker.motion_valid` found free (the
/// direct motion, the search's edges, shortcuts and the pieces of the segments they cut,
/// vertex reduction's motions), so only the blends are checked again.
fn timed_motion<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    path: Vec<Vec<f64>>,
    scaled: &Limits,
    options: &PlanOptions,
    began: Instant,
    search: Search,
) -> Result<PlannedMotion> {
    let (trajectory, samples) = time_and_validate_sized(
        checker,
        scratch,
        &path,
        scaled,
        &options.sampling(),
        options.blend_deviation,
        Segments::Checked,
    )
    .map_err(|f| {
        let culprit = joint_culprit(
            options.velocity_scale,
            options.acceleration_scale,
            options.period,
            f.too_many_samples(),
            search.goal_field,
        );
        f.naming(&culprit)
    })?;
    Ok(PlannedMotion {
        path,
        trajectory,
        samples,
        goal_index: search.goal_index,
        direct: search.direct,
        iterations: search.iterations,
        planning_time: began.elapsed(),
        search_time: search.search_time,
        simplify_time: search.simplify_time,
    })
}

/// Industrial point-to-point motion (PTP, as on KUKA/ABB pendants and in the Pilz planner):
/// the straight joint-space motion from `start` to `goal`, all joints starting and stopping
/// together, time-optimal under the (scaled) limits, jerk-limited when the limits have jerk
/// limits. No search: if the motion collides, the answer is
/// [`PlanningError::MotionInCollision`] with the fraction of the motion where it first
/// collides and the colliding pairs there.
pub fn plan_ptp<C: ValidityChecker>(
    checker: &C,
    space: &JointSpace,
    limits: &Limits,
    start: &[f64],
    goal: &[f64],
    options: &PlanOptions,
) -> Result<PlannedMotion> {
    let began = Instant::now();
    if checker.dof() != space.dof() || limits.dof() != space.dof() {
        return Err(PlanningError::invalid(
            "robot",
            "checker, space and limits disagree on the joint count",
        ));
    }
    space.check("start", start, 1e-9)?;
    space.check("goal", goal, 1e-9)?;
    let scaled = scaled_limits(limits, options.velocity_scale, options.acceleration_scale)?;
    options.check_duration(&[start.to_vec(), goal.to_vec()], &scaled, "goal")?;
    let mut scratch = checker.scratch();
    free_start(checker, &mut scratch, start)?;
    if !checker.state_valid(&mut scratch, goal) {
        return Err(PlanningError::GoalInCollision {
            pairs: checker.colliding_pairs(&mut scratch, goal),
        });
    }
    if !checker.motion_valid(&mut scratch, start, goal) {
        let (fraction, pairs) = first_collision(checker, &mut scratch, start, goal);
        return Err(PlanningError::MotionInCollision {
            fraction,
            pairs,
            step: None,
        });
    }
    let path = vec![start.to_vec(), goal.to_vec()];
    let search = Search {
        goal_field: "goal",
        goal_index: 0,
        direct: true,
        iterations: 0,
        search_time: Duration::ZERO,
        simplify_time: Duration::ZERO,
    };
    timed_motion(checker, &mut scratch, path, &scaled, options, began, search)
}

/// `limits` with velocities scaled by `velocity_scale` and accelerations by
/// `acceleration_scale`, both in (0, 1].
pub(crate) fn scaled_limits(
    limits: &Limits,
    velocity_scale: f64,
    acceleration_scale: f64,
) -> Result<Limits> {
    limits
        .scaled(velocity_scale, acceleration_scale)
        .map_err(|source| PlanningError::InvalidLimits {
            field: "scaling".into(),
            source,
        })
}

/// `Ok` when `start` is free, else [`PlanningError::StartInCollision`] with the pairs.
pub(crate) fn free_start<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    start: &[f64],
) -> Result<()> {
    if checker.state_valid(scratch, start) {
        Ok(())
    } else {
        Err(PlanningError::StartInCollision {
            pairs: checker.colliding_pairs(scratch, start),
        })
    }
}

/// Where the straight motion `from → to` first collides: the fraction of the motion
/// (bisection: motions from `from` are valid up to it) and the colliding pairs there.
pub(crate) fn first_collision<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    from: &[f64],
    to: &[f64],
) -> (f64, Vec<crate::checker::NamedPair>) {
    let (mut lo, mut hi) = (0.0, 1.0);
    let mut q = vec![0.0; from.len()];
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        crate::space::interpolate(from, to, mid, &mut q);
        if checker.motion_valid(scratch, from, &q) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    crate::space::interpolate(from, to, hi, &mut q);
    (hi, checker.colliding_pairs(scratch, &q))
}
