//! A sequence of industrial motions as one trajectory: consecutive PTP steps are joined by
//! blends (each intermediate goal passed within its blend deviation, joint space, the blends
//! collision-checked), LIN and CIRC steps follow their Cartesian paths and start and end at
//! rest. Every step is checked before anything is timed; a failure names the step.

use crate::bounds::joint_culprit;
use crate::cartesian::{CartesianOptions, CartesianPath, plan_cartesian};
use crate::checker::ValidityChecker;
use crate::error::{PlanningError, Result};
use crate::plan::{PlanOptions, first_collision, free_start, scaled_limits};
use crate::space::JointSpace;
use crate::timing::{Sampling, Segments, time_and_validate_sized};
use cella_kinematics::Robot;
use cella_trajectory::{Limits, MAX_DURATION, MAX_SAMPLES, SampledTrajectory};
use std::time::{Duration, Instant};

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SequenceStep {
    /// Point-to-point to a joint goal; `blend` (rad, joint space, ≥ 0) is how far the motion
    /// may pass from this goal when the next step is also PTP (0 = stop there).
    Ptp {
        /// Joint goal.
        goal: Vec<f64>,
        /// Blend deviation at this goal, rad.
        blend: f64,
    },
    /// A LIN or CIRC motion (starts and ends at rest).
    Cartesian {
        /// The path.
        path: CartesianPath,
        /// Cartesian limits and tracking options (`period`, scales are taken from the
        /// sequence's [`PlanOptions`]).
        options: CartesianOptions,
    },
}

/// A planned sequence.
#[derive(Debug, Clone)]
pub struct SequenceMotion {
    /// The whole trajectory, validated piece by piece (pieces join at rest).
    pub samples: SampledTrajectory,
    /// Time (s) at which each step's goal is reached (for blended PTP goals: the moment the
    /// motion passes nearest to it is inside the blend around this time).
    pub step_ends: Vec<f64>,
    /// Wall time from the call to the validated trajectory.
    pub planning_time: Duration,
}

/// Plans `steps` from `start`: runs of consecutive PTP steps become one blended motion
/// through their goals, Cartesian steps are planned as [`plan_cartesian`] does.
///
/// Sizes: the whole sequence takes at most `options.max_samples` samples and lasts at most
/// [`MAX_DURATION`]; each step gets what the steps before it left, so a step that would
/// exceed them is refused ([`PlanningError::TooLarge`], [`PlanningError::TooLong`], naming the
/// step) before its samples are allocated. A step to where the robot already is holds it for
/// one period. A PTP step whose motion collides is
/// [`PlanningError::MotionInCollision`] naming the step.
///
/// There is no search, so `options.time_budget` is not used: [`plan_sequence_within`] bounds
/// the wall time.
pub fn plan_sequence<C: ValidityChecker>(
    checker: &C,
    robot: &Robot,
    space: &JointSpace,
    limits: &Limits,
    start: &[f64],
    steps: &[SequenceStep],
    options: &PlanOptions,
) -> Result<SequenceMotion> {
    plan_sequence_within(checker, robot, space, limits, start, steps, options, None)
}

/// [`plan_sequence`] within `time_budget` of wall time (none: no bound), checked before each run of
/// PTP steps and each Cartesian step (each is bounded by its samples and IK steps): a step
/// not begun when the budget is spent is refused ([`PlanningError::NoPath`] naming it). A
/// service gives it at most half of the client's deadline, as it does a search.
#[allow(clippy::too_many_arguments)]
pub fn plan_sequence_within<C: ValidityChecker>(
    checker: &C,
    robot: &Robot,
    space: &JointSpace,
    limits: &Limits,
    start: &[f64],
    steps: &[SequenceStep],
    options: &PlanOptions,
    time_budget: Option<Duration>,
) -> Result<SequenceMotion> {
    let began = Instant::now();
    if steps.is_empty() {
        return Err(PlanningError::invalid("steps", "no step given"));
    }
    space.check("start", start, 1e-9)?;
    let scaled = scaled_limits(limits, options.velocity_scale, options.acceleration_scale)?;
    let mut scratch = checker.scratch();
    free_start(checker, &mut scratch, start)?;
    let mut pieces: Vec<SampledTrajectory> = Vec::new();
    let mut step_ends = Vec::with_capacity(steps.len());
    let mut current = start.to_vec();
    let budget = options.max_samples.min(MAX_SAMPLES);
    // samples taken so far, the joining samples (dropped by `concatenate`) not counted
    let mut used = 0;
    let mut i = 0;
    while i < steps.len() {
        if let Some(time_budget) = time_budget
            && began.elapsed() >= time_budget
        {
            return Err(PlanningError::NoPath {
                reason: format!(
                    "steps[{i}] not planned: the time budget of {:.1} ms was spent{}",
                    time_budget.as_secs_f64() * 1e3,
                    if i == 0 {
                        String::new()
                    } else {
                        format!(" on the steps before it ({i} of {})", steps.len())
                    }
                ),
            });
        }
        // what is left for the next piece: its first sample replaces the last one's
        let left = budget.saturating_sub(used) + usize::from(!pieces.is_empty());
        match &steps[i] {
            SequenceStep::Ptp { .. } => {
                // the run of PTP steps from here
                let mut path = vec![current.clone()];
                let mut blend = f64::INFINITY;
                let first = i;
                while let Some(SequenceStep::Ptp { goal, blend: b }) = steps.get(i) {
                    let field = format!("steps[{i}].goal");
                    space.check(&field, goal, 1e-9)?;
                    if !(b.is_finite() && *b >= 0.0) {
                        return Err(PlanningError::invalid(
                            format!("steps[{i}].blend"),
                            format!("{b} rad is not a finite non-negative deviation"),
                        ));
                    }
                    let from = path.last().cloned().unwrap_or_default();
                    if !checker.motion_valid(&mut scratch, &from, goal) {
                        return Err(segment_collision(checker, &mut scratch, &from, goal, i));
                    }
                    if i + 1 < steps.len() && matches!(steps[i + 1], SequenceStep::Ptp { .. }) {
                        blend = blend.min(*b);
                    }
                    path.push(goal.clone());
                    i += 1;
                }
                let blend = if blend.is_finite() { blend } else { 0.0 };
                let motion = format!("steps[{first}]");
                options
                    .check_duration(&path, &scaled, &motion)
                    .map_err(|e| prefix(e, first))?;
                let sampling = Sampling {
                    period: options.period,
                    max_samples: left,
                };
                // (each segment was checked above)
                let (timing, samples) = time_and_validate_sized(
                    checker,
                    &mut scratch,
                    &path,
                    &scaled,
                    &sampling,
                    blend,
                    Segments::Checked,
                )
                .map_err(|f| {
                    let culprit = joint_culprit(
                        options.velocity_scale,
                        options.acceleration_scale,
                        options.period,
                        f.too_many_samples(),
                        &motion,
                    );
                    prefix(f.naming(&culprit), first)
                })
                .map_err(|e| whole_sequence(e, budget, used))?;
                // waypoint times: each goal is passed inside the blend around its segment end
                let offset = pieces.iter().map(SampledTrajectory::duration).sum::<f64>();
                let total = timing.duration();
                let lengths: Vec<f64> = path
                    .windows(2)
                    .map(|w| crate::space::distance(&w[0], &w[1]))
                    .collect();
                let sum: f64 = lengths.iter().sum::<f64>().max(1e-12);
                let mut acc = 0.0;
                for l in &lengths {
                    acc += l;
                    step_ends.push(offset + total * acc / sum);
                }
                current = path.last().cloned().unwrap_or_default();
                used += samples.len() - usize::from(!pieces.is_empty());
                pieces.push(samples);
            }
            SequenceStep::Cartesian { path, options: c } => {
                let c = CartesianOptions {
                    velocity_scale: options.velocity_scale,
                    acceleration_scale: options.acceleration_scale,
                    period: options.period,
                    max_samples: left.min(c.max_samples),
                    ..c.clone()
                };
                let m = plan_cartesian(checker, robot, limits, &current, path, &c)
                    .map_err(|e| prefix(e, i))
                    .map_err(|e| whole_sequence(e, budget, used))?;
                let offset = pieces.iter().map(SampledTrajectory::duration).sum::<f64>();
                step_ends.push(offset + m.samples.duration());
                current = m.samples.q_at(m.samples.len() - 1).to_vec();
                used += m.samples.len() - usize::from(!pieces.is_empty());
                pieces.push(m.samples);
                i += 1;
            }
        }
        let duration = pieces.iter().map(SampledTrajectory::duration).sum::<f64>();
        if duration > MAX_DURATION {
            return Err(PlanningError::TooLong {
                field: "steps".into(),
                reason: format!(
                    "the steps up to steps[{}] last {duration:.3} s, longer than the {MAX_DURATION} s allowed; split the sequence",
                    i - 1
                ),
            });
        }
    }
    Ok(SequenceMotion {
        samples: concatenate(&pieces),
        step_ends,
        planning_time: began.elapsed(),
    })
}

/// The refusal of step `step`, a PTP motion `from → to` that collides.
fn segment_collision<C: ValidityChecker>(
    checker: &C,
    scratch: &mut C::Scratch,
    from: &[f64],
    to: &[f64],
    step: usize,
) -> PlanningError {
    let (fraction, pairs) = first_collision(checker, scratch, from, to);
    PlanningError::MotionInCollision {
        fraction,
        pairs,
        step: Some(step),
    }
}

/// A size refusal of a step after others: says what the steps before it already took.
fn whole_sequence(e: PlanningError, budget: usize, used: usize) -> PlanningError {
    match e {
        PlanningError::TooLarge { field, reason } if used > 0 => PlanningError::TooLarge {
            field,
            reason: format!(
                "{reason} (the whole sequence may take {budget} samples; the steps before it take {used})"
            ),
        },
        other => other,
    }
}

/// Names the step in a planning error. Size refusals keep their field when it is one of the
/// sequence's own (a scale, a Cartesian limit, the period) and say which step they stopped.
fn prefix(e: PlanningError, step: usize) -> PlanningError {
    match e {
        PlanningError::TooLong { field, reason } => PlanningError::TooLong {
            field: step_field(field, step),
            reason: format!("{reason} (steps[{step}])"),
        },
        PlanningError::TooLarge { field, reason } => PlanningError::TooLarge {
            field: step_field(field, step),
            reason: format!("{reason} (steps[{step}])"),
        },
        PlanningError::InvalidInput { field, reason } => PlanningError::InvalidInput {
            field: format!("steps[{step}].{field}"),
            reason,
        },
        PlanningError::CartesianPathFailed {
            motion,
            fraction,
            position,
            reason,
        } => PlanningError::CartesianPathFailed {
            motion: format!("steps[{step}] {motion}"),
            fraction,
            position,
            reason,
        },
        PlanningError::InvalidLimits { field, source } => PlanningError::InvalidLimits {
            field: format!("steps[{step}].{field}"),
            source,
        },
        PlanningError::Trajectory { source, .. } => PlanningError::Trajectory {
            step: Some(step),
            source,
        },
        PlanningError::MotionInCollision {
            fraction, pairs, ..
        } => PlanningError::MotionInCollision {
            fraction,
            pairs,
            step: Some(step),
        },
        other => other,
    }
}

/// The field of a size refusal in a sequence: a Cartesian step's `goal` is `steps[i].goal`;
/// the sequence's own fields (scales, Cartesian limits, period, `steps[i]`) stay.
fn step_field(field: String, step: usize) -> String {
    if field == "goal" {
        format!("steps[{step}].goal")
    } else {
        field
    }
}

/// Joins trajectories that end and start at rest at the same state: times shifted, the
/// repeated joining sample dropped.
fn concatenate(pieces: &[SampledTrajectory]) -> SampledTrajectory {
    let dof = pieces.first().map_or(0, |p| p.dof);
    let mut out = SampledTrajectory {
        dof,
        ..Default::default()
    };
    let mut offset = 0.0;
    for (n, p) in pieces.iter().enumerate() {
        let skip = usize::from(n > 0);
        for k in skip..p.len() {
            out.times.push(offset + p.times[k]);
            out.q.extend_from_slice(p.q_at(k));
            out.qd.extend_from_slice(p.qd_at(k));
            out.qdd.extend_from_slice(p.qdd_at(k));
        }
        offset += p.duration();
    }
    out
}
