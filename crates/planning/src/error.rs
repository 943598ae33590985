//! Planning failures: every one is an answer with a reason a cell programmer can act on.

use crate::checker::NamedPair;
use cella_trajectory::{TrajectoryError, ValidationError};

/// Result of planning operations.
pub type Result<T> = std::result::Result<T, PlanningError>;

/// Why a motion could not be planned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanningError {
    /// A request field is malformed (wrong length, not finite, empty, out of range).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Limits, or their scaling, that the trajectory crate refuses (non-positive, a scale
    /// outside (0, 1], members that do not fit together).
    #[error("invalid {field}: {source}")]
    InvalidLimits {
        /// The offending field (`scaling`, `cartesian limits`, `group`).
        field: String,
        /// The trajectory crate's refusal, naming its own field.
        #[source]
        source: TrajectoryError,
    },
    /// A joint value lies outside the joint's position limits.
    #[error("{field}: joint '{joint}' = {value} is outside its limits [{lower}, {upper}]")]
    OutOfLimits {
        /// The offending field (`start`, `goal`, ...).
        field: String,
        /// Joint name.
        joint: String,
        /// The value given (rad or m).
        value: f64,
        /// Lower limit.
        lower: f64,
        /// Upper limit.
        upper: f64,
    },
    /// The start state collides.
    #[error("start state is in collision: {}", pairs_text(.pairs))]
    StartInCollision {
        /// Colliding pairs (link/link or link/object).
        pairs: Vec<NamedPair>,
    },
    /// Every goal state collides.
    #[error("goal is in collision: {}", pairs_text(.pairs))]
    GoalInCollision {
        /// Colliding pairs of the first goal.
        pairs: Vec<NamedPair>,
    },
    /// No joint solution reaches the goal pose.
    #[error("goal unreachable: {reason}")]
    GoalUnreachable {
        /// Why (no IK solution, all solutions out of limits or in collision, ...).
        reason: String,
    },
    /// A Cartesian motion cannot be followed.
    #[error("{motion} motion fails at {fraction:.3} of the path (TCP at [{:.4}, {:.4}, {:.4}] m in the robot base frame): {reason}", .position[0], .position[1], .position[2])]
    CartesianPathFailed {
        /// LIN or CIRC.
        motion: String,
        /// Fraction of the path (0-1) where it fails.
        fraction: f64,
        /// TCP position there (reference frame, metres).
        position: [f64; 3],
        /// Singularity, configuration flip, joint limit, collision, unreachable.
        reason: String,
    },
    /// A straight or interpolated motion collides.
    #[error("{}motion collides at {fraction:.3} of the path: {}", step_prefix(*.step), pairs_text(.pairs))]
    MotionInCollision {
        /// Fraction of the motion (0-1) where the first collision is.
        fraction: f64,
        /// Colliding pairs there.
        pairs: Vec<NamedPair>,
        /// The step of a sequence whose motion it is (none for a single motion).
        step: Option<usize>,
    },
    /// The search ran out of time. The best effort so far: how close the tree grown from the
    /// start came to a goal.
    #[error(
        "no path found within the time budget of {budget_ms} ms (best effort: the search from the start came within {closest:.3} rad of a goal, {nodes} states explored)"
    )]
    Timeout {
        /// The budget, milliseconds.
        budget_ms: f64,
        /// Smallest joint-space distance (rad, Euclidean) from a state reached from the start
        /// to a goal state.
        closest: f64,
        /// States in both search trees.
        nodes: usize,
    },
    /// The caller cancelled the request.
    #[error("planning cancelled")]
    Cancelled,
    /// The search gave up (iteration limit).
    #[error("no path found: {reason}")]
    NoPath {
        /// Details.
        reason: String,
    },
    /// A request value would make the motion last longer than
    /// [`MAX_DURATION`](cella_trajectory::MAX_DURATION) (a speed, a scale or a limit out of
    /// proportion): refused before the motion is planned or sampled.
    #[error("{field}: {reason}")]
    TooLong {
        /// The field to change (`velocity_scale`, `cartesian_limits.linear_velocity`, ...).
        field: String,
        /// Its value, the duration it would make and the bound.
        reason: String,
    },
    /// The result would be larger than allowed: more samples than
    /// [`MAX_SAMPLES`](cella_trajectory::MAX_SAMPLES) (or the caller's bound), more IK steps
    /// than [`MAX_PATH_STEPS`](crate::cartesian::MAX_PATH_STEPS). Refused before the memory
    /// is allocated.
    #[error("{field}: {reason}")]
    TooLarge {
        /// The field to change (`period`, `velocity_scale`, ...).
        field: String,
        /// How large the result would be and the bound.
        reason: String,
    },
    /// The time parameterization or its validation failed.
    #[error("trajectory: {}{source}", step_prefix(*.step))]
    Trajectory {
        /// The step of a sequence it failed in (none for a single motion).
        step: Option<usize>,
        /// What failed.
        #[source]
        source: TimingError,
    },
    /// A kinematics error (IK/FK input).
    #[error(transparent)]
    Kinematics(#[from] cella_kinematics::KinematicsError),
}

/// Why a path could not be timed ([`PlanningError::Trajectory`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TimingError {
    /// Trajectory generation refused the path or the limits.
    #[error(transparent)]
    Generation(#[from] TrajectoryError),
    /// The timed trajectory breaks a limit.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A Cartesian motion slowed down to meet the joint limits still breaks them.
    #[error(
        "{motion} motion: joint limits still exceeded at {speed_percent:.1} % of the Cartesian speed"
    )]
    SpeedLimited {
        /// LIN or CIRC.
        motion: String,
        /// The slowest speed tried, percent of the Cartesian limits'.
        speed_percent: f64,
    },
}

fn step_prefix(step: Option<usize>) -> String {
    step.map(|s| format!("steps[{s}]: ")).unwrap_or_default()
}

impl PlanningError {
    /// Shorthand for [`PlanningError::InvalidInput`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The error with the request field it names (of [`PlanningError::InvalidInput`],
    /// [`PlanningError::InvalidLimits`], [`PlanningError::OutOfLimits`],
    /// [`PlanningError::TooLong`] and [`PlanningError::TooLarge`]) renamed by `rename`: how a
    /// front end names a planner's field as its request does (`goals[k]` of a goal state as
    /// the goal it comes from, `via` as `circ_via`).
    #[must_use]
    pub fn map_field(self, rename: impl FnOnce(String) -> String) -> Self {
        match self {
            Self::InvalidInput { field, reason } => Self::InvalidInput {
                field: rename(field),
                reason,
            },
            Self::InvalidLimits { field, source } => Self::InvalidLimits {
                field: rename(field),
                source,
            },
            Self::OutOfLimits {
                field,
                joint,
                value,
                lower,
                upper,
            } => Self::OutOfLimits {
                field: rename(field),
                joint,
                value,
                lower,
                upper,
            },
            Self::TooLong { field, reason } => Self::TooLong {
                field: rename(field),
                reason,
            },
            Self::TooLarge { field, reason } => Self::TooLarge {
                field: rename(field),
                reason,
            },
            other => other,
        }
    }

    /// A [`PlanningError::Trajectory`] of a single motion.
    pub fn timing(source: impl Into<TimingError>) -> Self {
        Self::Trajectory {
            step: None,
            source: source.into(),
        }
    }
}

pub(crate) fn pairs_text(pairs: &[NamedPair]) -> String {
    if pairs.is_empty() {
        return "(no pair named)".into();
    }
    pairs
        .iter()
        .map(|(a, b)| format!("{a} - {b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn trajectory_errors_are_kept_as_sources_with_the_same_message() {
        let refusal = TrajectoryError::invalid("velocity_scale", "2 is not in (0, 1]");
        let e = PlanningError::InvalidLimits {
            field: "scaling".into(),
            source: refusal.clone(),
        };
        assert_eq!(
            e.to_string(),
            "invalid scaling: invalid velocity_scale: 2 is not in (0, 1]"
        );
        assert!(
            e.source()
                .and_then(|s| s.downcast_ref::<TrajectoryError>())
                .is_some_and(|s| *s == refusal)
        );

        let e = PlanningError::timing(refusal.clone());
        assert_eq!(
            e.to_string(),
            "trajectory: invalid velocity_scale: 2 is not in (0, 1]"
        );
        assert!(matches!(
            e.source().and_then(|s| s.downcast_ref::<TimingError>()),
            Some(TimingError::Generation(_))
        ));
        let PlanningError::Trajectory { source, .. } = e else {
            unreachable!()
        };
        let in_step = PlanningError::Trajectory {
            step: Some(3),
            source,
        };
        assert_eq!(
            in_step.to_string(),
            "trajectory: steps[3]: invalid velocity_scale: 2 is not in (0, 1]"
        );
        let slow = PlanningError::timing(TimingError::SpeedLimited {
            motion: "LIN".into(),
            speed_percent: 12.345,
        });
        assert_eq!(
            slow.to_string(),
            "trajectory: LIN motion: joint limits still exceeded at 12.3 % of the Cartesian speed"
        );
    }
}
