//! A sequence of industrial motions as one trajectory: consecutive PTP steps are joined by
//! blends (each intermediate goal passed within its blend deviation, joint space, the blends
//! collision-checked), LIN and CIRC steps follow their Cartesian paths and start and end at
//! rest. Every step is checked before anything is timed; a failure names the step.

use crate::cartesian::{CartesianOptions, CartesianPath, plan_cartesian};
use crate::checker::ValidityChecker;
use crate::error::{PlanningError, Result};
use crate::plan::{PlanOptions, first_collision, free_start, scaled_limits};
use crate::space::JointSpace;
use crate::timing::{Segments, time_and_validate};
use cella_kinematics::Robot;
use cella_trajectory::{Limits, SampledTrajectory};
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
pub fn plan_sequence<C: ValidityChecker>(
    checker: &C,
    robot: &Robot,
    space: &JointSpace,
    limits: &Limits,
    start: &[f64],
    steps: &[SequenceStep],
    options: &PlanOptions,
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
    let mut i = 0;
    while i < steps.len() {
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
                let (timing, samples) =
                    // (each segment was checked above)
                    time_and_validate(
                        checker,
                        &mut scratch,
                        &path,
                        &scaled,
                        options.period,
                        blend,
                        Segments::Checked,
                    )
                        .map_err(|e| prefix(e, first))?;
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
                pieces.push(samples);
            }
            SequenceStep::Cartesian { path, options: c } => {
                let c = CartesianOptions {
                    velocity_scale: options.velocity_scale,
                    acceleration_scale: options.acceleration_scale,
                    period: options.period,
                    ..c.clone()
                };
                let m = plan_cartesian(checker, robot, limits, &current, path, &c)
                    .map_err(|e| prefix(e, i))?;
                let offset = pieces.iter().map(SampledTrajectory::duration).sum::<f64>();
                step_ends.push(offset + m.samples.duration());
                current = m.samples.q_at(m.samples.len() - 1).to_vec();
                pieces.push(m.samples);
                i += 1;
            }
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
    PlanningError::invalid(
        format!("steps[{step}]"),
        format!(
            "the PTP motion collides at {fraction:.3} of its path: {}",
            crate::error::pairs_text(&pairs)
        ),
    )
}

/// Names the step in a planning error.
fn prefix(e: PlanningError, step: usize) -> PlanningError {
    match e {
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
        PlanningError::Trajectory(m) => PlanningError::Trajectory(format!("steps[{step}]: {m}")),
        other => other,
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
