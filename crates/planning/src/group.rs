//! Planning a group of robots jointly: one search in the composite joint space (the members'
//! joint vectors back to back), collision-checked by a [`CompositeChecker`] (each member
//! against the world and itself, and the members against each other, all moving), timed as
//! one motion so that every robot starts and stops together.

use crate::error::{PlanningError, Result};
use crate::plan::{PlanOptions, PlannedMotion, plan_joint};
use crate::space::JointSpace;
use cella_collision::CompositeChecker;
use cella_trajectory::Limits;
use std::sync::atomic::AtomicBool;

/// One robot of a group: its name, joint space and limits (in the checker's member order).
#[derive(Debug, Clone, Copy)]
pub struct GroupMember<'a> {
    /// Robot name (joint names become `<name>/<joint>`).
    pub name: &'a str,
    /// The robot's joint space.
    pub space: &'a JointSpace,
    /// The robot's limits.
    pub limits: &'a Limits,
}

/// The composite joint space and limits of `members`. Jerk limits are kept when every member
/// has them; a group mixing robots with and without jerk limits is refused (the motion would
/// otherwise leave one robot's jerk unlimited).
pub fn group_space(members: &[GroupMember<'_>]) -> Result<(JointSpace, Limits)> {
    if members.is_empty() {
        return Err(PlanningError::invalid("group", "no robot in the group"));
    }
    let (mut names, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
    for m in members {
        if m.space.dof() != m.limits.dof() {
            return Err(PlanningError::invalid(
                "group",
                format!(
                    "robot '{}': joint space has {} joints, limits {}",
                    m.name,
                    m.space.dof(),
                    m.limits.dof()
                ),
            ));
        }
        names.extend(m.space.names().iter().map(|n| format!("{}/{n}", m.name)));
        lower.extend_from_slice(m.space.lower());
        upper.extend_from_slice(m.space.upper());
    }
    let parts: Vec<(&str, &Limits)> = members.iter().map(|m| (m.name, m.limits)).collect();
    let limits = Limits::concatenate(&parts).map_err(|source| PlanningError::InvalidLimits {
        field: "group".into(),
        source,
    })?;
    Ok((JointSpace::new(names, lower, upper)?, limits))
}

/// Plans the group from the composite `start` to any of the composite `goals` (each the
/// members' joint vectors back to back, in the checker's member order), as
/// [`plan_joint`] does for one robot: direct motion first, RRT-Connect, shortcuts, timing,
/// validation. Every robot moves along the returned composite trajectory at once; split it
/// with [`CompositeChecker::member_joints`].
pub fn plan_group(
    checker: &CompositeChecker,
    members: &[GroupMember<'_>],
    start: &[f64],
    goals: &[Vec<f64>],
    options: &PlanOptions,
    cancel: Option<&AtomicBool>,
) -> Result<PlannedMotion> {
    let (space, limits) = group_space(members)?;
    if space.dof() != checker.dof() {
        return Err(PlanningError::invalid(
            "group",
            format!(
                "the members have {} joints, the checker's group {}",
                space.dof(),
                checker.dof()
            ),
        ));
    }
    plan_joint(checker, &space, &limits, start, goals, options, cancel)
}
