//! Goals as users give them (joint values, a named pose, a TCP pose) resolved into joint
//! states to plan to, the goal nearest a start, and the planning time budget: what every
//! front end (gRPC service, CLI) shares.

use crate::error::{PlanningError, Result};
use cella_kinematics::{IkOptions, IkSolutions, Robot};
use nalgebra::Isometry3;
use std::time::Duration;

/// Most goals one request may give.
pub const MAX_GOALS: usize = 64;
/// IK solutions kept per TCP pose goal.
pub const MAX_SOLUTIONS_PER_POSE: usize = 16;
/// Planning time budget when none is asked for, s.
pub const DEFAULT_TIME_BUDGET: f64 = 1.0;
/// Largest planning time budget, s.
pub const MAX_TIME_BUDGET: f64 = 60.0;

/// A goal as a user gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Goal {
    /// Joint values (rad, or m for prismatic joints), in the robot's joint order.
    Joints(Vec<f64>),
    /// A named pose of the robot's configuration ("home", ...).
    Named(String),
    /// A TCP pose in the cell (world) frame; the robot stands at its base pose.
    Pose(Isometry3<f64>),
}

/// Goal states resolved from a request's goals ([`resolve_goals_indexed`]): a TCP pose goal
/// gives one state per IK solution, so the states' indices are not the request's.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedGoals {
    /// The joint states, in the order of the goals they come from.
    pub states: Vec<Vec<f64>>,
    /// `goal_of[k]`: the index, in the request's goals, of the goal `states[k]` comes from.
    pub goal_of: Vec<usize>,
}

impl ResolvedGoals {
    /// The index in the request's goals of the goal state `k` comes from (`k` itself past the
    /// states).
    pub fn goal_index(&self, k: usize) -> usize {
        self.goal_of.get(k).copied().unwrap_or(k)
    }

    /// `e` with a field that names goal state `k` (`goals[k]`, as [`plan_joint`] names the
    /// states it is given, possibly followed by more: `goals[k][j]`) naming the request's goal
    /// that state comes from instead.
    ///
    /// [`plan_joint`]: crate::plan_joint
    pub fn request_fields(&self, e: PlanningError) -> PlanningError {
        e.map_field(|field| {
            match field
                .strip_prefix("goals[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(k, rest)| Some((k.parse::<usize>().ok()?, rest)))
            {
                Some((k, rest)) => format!("goals[{}]{rest}", self.goal_index(k)),
                None => field,
            }
        })
    }
}

/// Resolves `goals` for `robot` standing at `base` (its base pose in the cell frame) into
/// joint states: joint goals as given, named poses from the robot's configuration, TCP poses
/// through every IK solution within the joint limits (at most
/// [`MAX_SOLUTIONS_PER_POSE`] each, the first nearest `seed`). Errors name the goal
/// (`goals[i]`): none given or too many (invalid input), a named pose the robot does not
/// define ([`PlanningError::Kinematics`]), a pose no IK solution reaches
/// ([`PlanningError::GoalUnreachable`]). [`resolve_goals_indexed`] also says which goal each
/// state comes from.
pub fn resolve_goals(
    robot: &Robot,
    base: &Isometry3<f64>,
    goals: &[Goal],
    seed: &[f64],
) -> Result<Vec<Vec<f64>>> {
    resolve_goals_indexed(robot, base, goals, seed).map(|r| r.states)
}

/// [`resolve_goals`], with the index of the goal each state comes from: what maps a state the
/// planner reached ([`PlannedMotion::goal_index`](crate::PlannedMotion::goal_index)), or a
/// state it refused, back to the request's goal.
pub fn resolve_goals_indexed(
    robot: &Robot,
    base: &Isometry3<f64>,
    goals: &[Goal],
    seed: &[f64],
) -> Result<ResolvedGoals> {
    if goals.is_empty() {
        return Err(PlanningError::invalid("goals", "no goal given"));
    }
    if goals.len() > MAX_GOALS {
        return Err(PlanningError::invalid(
            "goals",
            format!("{} goals is too many ({MAX_GOALS})", goals.len()),
        ));
    }
    let to_base = base.inverse();
    let mut out = ResolvedGoals {
        states: Vec::new(),
        goal_of: Vec::new(),
    };
    for (i, g) in goals.iter().enumerate() {
        match g {
            Goal::Joints(q) => out.states.push(q.clone()),
            Goal::Named(name) => out.states.push(robot.named_pose(name)?.to_vec()),
            Goal::Pose(world) => {
                let target = to_base * world;
                let mut sols = IkSolutions::new();
                let options = IkOptions {
                    max_solutions: MAX_SOLUTIONS_PER_POSE,
                    ..IkOptions::default()
                };
                robot
                    .ik(&target, Some(seed), &options, &mut sols)
                    .map_err(|e| PlanningError::GoalUnreachable {
                        reason: format!("goals[{i}]: {e}"),
                    })?;
                if sols.as_slice().is_empty() {
                    return Err(PlanningError::GoalUnreachable {
                        reason: format!("goals[{i}]: no IK solution within the joint limits"),
                    });
                }
                out.states
                    .extend(sols.as_slice().iter().map(|s| s.joints().to_vec()));
            }
        }
        out.goal_of.resize(out.states.len(), i);
    }
    Ok(out)
}

/// The goal state nearest `start` (squared joint distance), if any: what a PTP motion to a
/// TCP goal with several IK solutions goes to.
pub fn nearest_goal<'a>(start: &[f64], goals: &'a [Vec<f64>]) -> Option<&'a [f64]> {
    nearest_goal_index(start, goals).map(|k| goals[k].as_slice())
}

/// The index of [`nearest_goal`] in `goals`.
pub fn nearest_goal_index(start: &[f64], goals: &[Vec<f64>]) -> Option<usize> {
    (0..goals.len()).min_by(|&a, &b| {
        crate::space::squared_distance(start, &goals[a])
            .total_cmp(&crate::space::squared_distance(start, &goals[b]))
    })
}

/// The planning time budget for a request asking for `requested` s (0: the default) with
/// `deadline` left for its answer: at most half the deadline, so that sampling, validation
/// and the response fit in it. Refused (invalid `time_budget`) outside (0,
/// [`MAX_TIME_BUDGET`]].
pub fn time_budget(requested: f64, deadline: Option<Duration>) -> Result<Duration> {
    let budget = if requested == 0.0 {
        DEFAULT_TIME_BUDGET
    } else {
        requested
    };
    if !(budget.is_finite() && budget > 0.0 && budget <= MAX_TIME_BUDGET) {
        return Err(PlanningError::invalid(
            "time_budget",
            format!("{budget} s is not in (0, {MAX_TIME_BUDGET}]"),
        ));
    }
    let budget = match deadline {
        Some(d) => budget.min(0.5 * d.as_secs_f64()),
        None => budget,
    };
    Ok(Duration::from_secs_f64(budget))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cella_kinematics::library;

    fn ur5e() -> Robot {
        library::load("ur5e").unwrap()
    }

    #[test]
    fn a_pose_goal_resolves_to_ik_solutions_that_reach_it_from_a_moved_base() {
        let robot = ur5e();
        let home = robot.named_pose("home").unwrap().to_vec();
        let mut q = home.clone();
        q[1] -= 0.3;
        q[2] += 0.5;
        let base = Isometry3::translation(0.4, -0.2, 0.75);
        let tcp_world = base * robot.fk(&q).unwrap();
        let goals = resolve_goals(&robot, &base, &[Goal::Pose(tcp_world)], &home).unwrap();
        assert!(!goals.is_empty());
        for g in &goals {
            let reached = base * robot.fk(g).unwrap();
            assert!((reached.translation.vector - tcp_world.translation.vector).norm() < 1e-6);
            assert!(reached.rotation.angle_to(&tcp_world.rotation) < 1e-6);
        }
        let nearest = nearest_goal(&q, &goals).unwrap();
        assert!(
            crate::space::squared_distance(&q, nearest) < 1e-8,
            "{nearest:?} vs {q:?}"
        );
    }

    #[test]
    fn joint_and_named_goals_pass_through_and_bad_ones_name_the_goal() {
        let robot = ur5e();
        let home = robot.named_pose("home").unwrap().to_vec();
        let id = Isometry3::identity();
        let goals = [Goal::Joints(vec![0.1; 6]), Goal::Named("home".into())];
        assert_eq!(
            resolve_goals(&robot, &id, &goals, &home).unwrap(),
            vec![vec![0.1; 6], home.clone()]
        );
        assert!(matches!(
            resolve_goals(&robot, &id, &[], &home),
            Err(PlanningError::InvalidInput { field, .. }) if field == "goals"
        ));
        assert!(matches!(
            resolve_goals(&robot, &id, &[Goal::Named("nowhere".into())], &home),
            Err(PlanningError::Kinematics(_))
        ));
        let far = Isometry3::translation(9.0, 0.0, 0.0);
        match resolve_goals(
            &robot,
            &id,
            &[Goal::Joints(home.clone()), Goal::Pose(far)],
            &home,
        ) {
            Err(PlanningError::GoalUnreachable { reason }) => {
                assert!(reason.starts_with("goals[1]"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let many = vec![Goal::Joints(home.clone()); MAX_GOALS + 1];
        assert!(resolve_goals(&robot, &id, &many, &home).is_err());
    }

    #[test]
    fn states_map_back_to_the_goal_they_come_from_and_errors_name_it() {
        let robot = ur5e();
        let home = robot.named_pose("home").unwrap().to_vec();
        let id = Isometry3::identity();
        let mut q = home.clone();
        q[0] += 0.1;
        let tcp = robot.fk(&q).unwrap();
        let goals = [
            Goal::Joints(vec![0.1; 6]),
            Goal::Pose(tcp),
            Goal::Named("home".into()),
        ];
        let r = resolve_goals_indexed(&robot, &id, &goals, &home).unwrap();
        let n = r.states.len();
        assert!(n > 3, "the UR5e reaches a TCP pose in several ways: {n}");
        assert_eq!(r.goal_of.len(), n);
        assert_eq!(r.goal_of[0], 0);
        assert!(
            r.goal_of[1..n - 1].iter().all(|&i| i == 1),
            "{:?}",
            r.goal_of
        );
        assert_eq!(r.goal_of[n - 1], 2);
        assert_eq!(r.states, resolve_goals(&robot, &id, &goals, &home).unwrap());
        // the planner names the state (after the pose's solutions); the request's goal is 2
        let e = r.request_fields(PlanningError::invalid(
            format!("goals[{}]", n - 1),
            "5 values for 6 joints",
        ));
        assert!(
            matches!(e, PlanningError::InvalidInput { ref field, .. } if field == "goals[2]"),
            "{e}"
        );
        let e = r.request_fields(PlanningError::OutOfLimits {
            field: format!("goals[{}][3]", n - 2),
            joint: "wrist_1_joint".into(),
            value: 9.0,
            lower: -6.5,
            upper: 6.5,
        });
        assert!(e.to_string().starts_with("goals[1][3]: "), "{e}");
        let e = r.request_fields(PlanningError::invalid("goals", "no goal given"));
        assert!(matches!(e, PlanningError::InvalidInput { ref field, .. } if field == "goals"));
        // the pose's solution that is `q` is nearer `q` than home is
        assert_eq!(
            nearest_goal_index(&q, &r.states).map(|k| r.goal_of[k]),
            Some(1)
        );
    }

    #[test]
    fn the_budget_defaults_is_bounded_and_leaves_half_the_deadline() {
        assert_eq!(time_budget(0.0, None).unwrap(), Duration::from_secs(1));
        assert_eq!(
            time_budget(4.0, Some(Duration::from_secs(2))).unwrap(),
            Duration::from_secs(1)
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY, MAX_TIME_BUDGET + 1.0] {
            assert!(time_budget(bad, None).is_err(), "{bad}");
        }
    }
}
