//! One variant evaluated: its cell built, every target checked for reach, the task's stages
//! planned motion by motion (each robot against the world and the other robots where they
//! stand when the stage starts), the robots of a stage that move together checked together
//! along their common timeline, and the metrics measured.
//!
//! The result depends on the study and the variant alone (every plan is seeded from the
//! variant's seed; free motions are searched within a generous time budget), never on the
//! thread or machine that evaluates it.

use crate::sample::{Variant, motion_seed};
use crate::spec::{Instance, Move, Study, Target, Value};
use crate::timeline::Timeline;
use cella_cell::{CellRobot, CellSnapshot};
use cella_collision::{Shape, WorldObject};
use cella_planning::{
    CartesianOptions, CartesianPath, Goal, JointSpace, PlanOptions, PlanningError, nearest_goal,
    plan_cartesian, plan_joint, plan_ptp, resolve_goals,
};
use cella_trajectory::{Limits, MAX_DURATION, MAX_SAMPLES, SampledTrajectory};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Motions of the robots moving together checked at once (a window of the stage's timeline).
const CHECK_WINDOW: usize = 4096;

/// What kind of failure stopped a variant's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The variant's cell, targets or task are malformed (a parameter value the cell file
    /// refuses, an unknown target).
    Input,
    /// A target no IK solution within the joint limits reaches.
    Unreachable,
    /// A state or motion in collision (with an object, another robot or itself).
    Collision,
    /// No collision-free path found within the time budget.
    NoPath,
    /// A LIN path that cannot be followed (singularity, configuration flip, reach, joint
    /// limits or collision along it).
    Path,
    /// A joint target outside the joint limits.
    Limits,
    /// A motion that could not be timed within the limits.
    Timing,
}

/// The first failure of a variant's task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Its kind.
    pub kind: FailureKind,
    /// The stage (index) it happened in, if any.
    pub stage: Option<usize>,
    /// The robot, if one.
    pub robot: Option<String>,
    /// The move of that robot in the stage, if one.
    pub step: Option<usize>,
    /// What happened, naming the pairs, the target or the field.
    pub reason: String,
}

/// One motion of the task as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotionSummary {
    /// Stage index.
    pub stage: usize,
    /// Robot id.
    pub robot: String,
    /// Index of the move in the robot's moves of the stage.
    pub step: usize,
    /// `ptp`, `lin`, `free` or `dwell`.
    pub kind: String,
    /// The target (none for a dwell).
    pub target: Option<String>,
    /// When it starts in the cycle, s.
    pub start: f64,
    /// How long it takes, s.
    pub duration: f64,
}

/// The result of one variant: its values, its metrics, and what stopped it if anything did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    /// The variant's index.
    pub index: usize,
    /// The variant's seed.
    pub seed: u64,
    /// Its parameter values.
    pub parameters: BTreeMap<String, Value>,
    /// Every target reachable, every motion planned and collision-free, every requirement
    /// met.
    pub feasible: bool,
    /// Every target of every robot has an IK solution within the joint limits from where the
    /// robot stands.
    pub reachable: bool,
    /// Every motion planned and collision-free, the robots moving together included; `None`
    /// when the task stopped before every motion was planned (see `failure`).
    pub collision_free: Option<bool>,
    /// Every motion of the task was planned.
    pub complete: bool,
    /// The cycle time: the stages one after the other, each as long as its longest robot, s.
    pub cycle_time: Option<f64>,
    /// The smallest clearance over the cycle: every robot against the objects and the other
    /// robots where they are at that time (not its own links: the robot's self-collision is
    /// part of `collision_free`, and its own closeness does not change with where it stands),
    /// beyond the cell's padding, measured every `task.clearance_period`, m.
    pub min_clearance: Option<f64>,
    /// The smallest distance of any joint to its position limits over every sample of every
    /// motion, rad (m for prismatic joints).
    pub joint_margin: Option<f64>,
    /// The targets out of reach, as `robot: target`.
    pub unreachable: Vec<String>,
    /// The requirements a complete variant misses.
    pub unmet: Vec<String>,
    /// What stopped the task, if anything.
    pub failure: Option<Failure>,
    /// The motions, in the order they were planned.
    pub motions: Vec<MotionSummary>,
}

/// A robot's part of a variant's cycle, for reports and viewers.
#[derive(Debug, Clone)]
pub struct RobotCycle {
    /// Robot id.
    pub id: String,
    /// Joint names, in the order of the trajectory's values.
    pub joint_names: Vec<String>,
    /// Base pose in the cell frame.
    pub base: Isometry3<f64>,
    /// The whole cycle sampled every `task.period` (standing still while it waits).
    pub trajectory: SampledTrajectory,
    /// TCP positions in the cell frame at the trajectory's samples.
    pub tcp: Vec<[f64; 3]>,
    /// Joint position limits (lower, upper).
    pub limits: Vec<(f64, f64)>,
}

/// A variant's cycle in full, for reports and viewers.
#[derive(Debug, Clone)]
pub struct Cycle {
    /// The variant's cell file text.
    pub cell_text: String,
    /// The variant's cell, robots at their start.
    pub cell: Arc<CellSnapshot>,
    /// The cell's objects.
    pub objects: Vec<WorldObject>,
    /// Each robot's cycle.
    pub robots: Vec<RobotCycle>,
    /// Stage names and end times, s.
    pub stages: Vec<(String, f64)>,
}

impl VariantResult {
    fn new(variant: &Variant) -> Self {
        Self {
            index: variant.index,
            seed: variant.seed,
            parameters: variant.values.clone(),
            feasible: false,
            reachable: false,
            collision_free: None,
            complete: false,
            cycle_time: None,
            min_clearance: None,
            joint_margin: None,
            unreachable: Vec::new(),
            unmet: Vec::new(),
            failure: None,
            motions: Vec::new(),
        }
    }
}

/// Evaluates one variant of `study` (never fails: a failure is part of the result).
pub fn evaluate(study: &Study, variant: &Variant) -> VariantResult {
    run(study, variant, false).0
}

/// Evaluates one variant and keeps its whole cycle (none when its cell cannot be built).
pub fn evaluate_cycle(study: &Study, variant: &Variant) -> (VariantResult, Option<Cycle>) {
    run(study, variant, true)
}

fn input_failure(reason: String) -> Failure {
    Failure {
        kind: FailureKind::Input,
        stage: None,
        robot: None,
        step: None,
        reason,
    }
}

/// A pose target as an isometry (cell frame).
fn pose_of(xyz: &[f64; 3], rpy: &[f64; 3]) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(xyz[0], xyz[1], xyz[2]),
        UnitQuaternion::from_euler_angles(rpy[0], rpy[1], rpy[2]),
    )
}

/// What a move's target name resolves to for one robot.
enum Resolved<'a> {
    Pose(Isometry3<f64>),
    Joints(&'a [f64]),
}

fn resolve<'a>(
    instance: &'a Instance,
    robot: &'a CellRobot,
    name: &str,
) -> Result<Resolved<'a>, Failure> {
    if let Some(Target { xyz, rpy, joints }) = instance.targets.get(name) {
        return Ok(match (xyz, joints) {
            (Some(xyz), _) => Resolved::Pose(pose_of(xyz, rpy)),
            (None, Some(q)) => Resolved::Joints(q),
            // parse() refuses targets with neither
            (None, None) => return Err(input_failure(format!("targets.{name}: empty"))),
        });
    }
    robot
        .geometry
        .robot()
        .named_pose(name)
        .map(Resolved::Joints)
        .map_err(|_| {
            input_failure(format!(
                "'{name}' is neither a target of the study nor a named pose of robot '{}'",
                robot.id
            ))
        })
}

/// The targets of `robot` out of its reach, as `robot: target`.
fn unreachable_targets(instance: &Instance, robot: &CellRobot) -> Result<Vec<String>, Failure> {
    let mut names: Vec<&str> = instance
        .task
        .stages
        .iter()
        .filter_map(|s| s.moves.get(&robot.id))
        .flatten()
        .filter_map(Move::target)
        .collect();
    names.sort_unstable();
    names.dedup();
    let r = robot.geometry.robot();
    let mut out = Vec::new();
    for name in names {
        let reachable = match resolve(instance, robot, name)? {
            Resolved::Pose(p) => resolve_goals(r, &robot.base, &[Goal::Pose(p)], &robot.joints)
                .is_ok_and(|g| !g.is_empty()),
            Resolved::Joints(q) => r.chain().check_limits(q).is_ok(),
        };
        if !reachable {
            out.push(format!("{}: {name}", robot.id));
        }
    }
    Ok(out)
}

/// The failure a planning error stands for.
fn failure_of(e: PlanningError, at: (usize, &str), robot: &str, step: usize, m: &Move) -> Failure {
    let (stage, stage_name) = at;
    use PlanningError as P;
    let kind = match &e {
        P::GoalUnreachable { .. } => FailureKind::Unreachable,
        P::StartInCollision { .. } | P::GoalInCollision { .. } | P::MotionInCollision { .. } => {
            FailureKind::Collision
        }
        P::Timeout { .. } | P::NoPath { .. } | P::Cancelled => FailureKind::NoPath,
        P::CartesianPathFailed { .. } => FailureKind::Path,
        P::OutOfLimits { .. } => FailureKind::Limits,
        P::Trajectory { .. } => FailureKind::Timing,
        P::InvalidInput { .. }
        | P::InvalidLimits { .. }
        | P::TooLong { .. }
        | P::TooLarge { .. }
        | P::Kinematics(_) => FailureKind::Input,
    };
    Failure {
        kind,
        stage: Some(stage),
        robot: Some(robot.to_owned()),
        step: Some(step),
        reason: format!(
            "stage {stage} '{stage_name}', {robot} move {step} ({} {}): {e}",
            m.kind(),
            m.target().unwrap_or_default()
        ),
    }
}

/// The cell with every robot at `states`.
fn cell_at(cell: &CellSnapshot, states: &[Vec<f64>]) -> CellSnapshot {
    let mut out = cell.clone();
    for (r, q) in out.robots.iter_mut().zip(states) {
        r.joints.clone_from(q);
    }
    out
}

/// `cell` with every robot's own link pairs left out of its checks: its checkers measure a
/// robot against the objects and the other robots only.
pub fn without_self_pairs(
    cell: &CellSnapshot,
) -> Result<CellSnapshot, cella_collision::CollisionError> {
    let mut out = cell.clone();
    for r in &mut out.robots {
        let mut geometry = (*r.geometry).clone();
        let model = geometry.robot().model().clone();
        let mut links: Vec<&str> = geometry
            .capsules()
            .iter()
            .map(|c| model.links()[c.link].name.as_str())
            .collect();
        links.sort_unstable();
        links.dedup();
        let mut acm = geometry.acm().clone();
        for (i, a) in links.iter().enumerate() {
            for b in &links[i + 1..] {
                acm.allow(a, b, "clearance to the cell only");
            }
        }
        geometry.set_acm(acm)?;
        r.geometry = Arc::new(geometry);
    }
    Ok(out)
}

/// Smallest distance of `q` to the finite position limits.
fn margin_of(limits: &Limits, q: &[f64]) -> f64 {
    q.iter()
        .enumerate()
        .map(|(j, &v)| {
            let lo = if limits.lower[j].is_finite() {
                v - limits.lower[j]
            } else {
                f64::INFINITY
            };
            let hi = if limits.upper[j].is_finite() {
                limits.upper[j] - v
            } else {
                f64::INFINITY
            };
            lo.min(hi)
        })
        .fold(f64::INFINITY, f64::min)
}

/// What planning one move needs.
struct MoveContext<'a> {
    instance: &'a Instance,
    robot: &'a CellRobot,
    checker: &'a cella_collision::Checker,
    space: &'a JointSpace,
    limits: &'a Limits,
    options: &'a PlanOptions,
}

/// Plans one move from `start`.
fn plan_move(
    c: &MoveContext<'_>,
    m: &Move,
    start: &[f64],
) -> Result<SampledTrajectory, PlanningError> {
    let robot = c.robot.geometry.robot();
    let base = &c.robot.base;
    let resolve_target = |name: &str| {
        resolve(c.instance, c.robot, name).map_err(|f| PlanningError::invalid("target", f.reason))
    };
    match m {
        Move::Dwell(t) => {
            let mut s =
                SampledTrajectory::hold(start, c.options.period).map_err(PlanningError::timing)?;
            if *t > 0.0 {
                // standing still: the end sample at the dwell time
                if let Some(last) = s.times.last_mut() {
                    *last = *t;
                }
            } else {
                s.times.truncate(1);
                s.q.truncate(start.len());
                s.qd.truncate(start.len());
                s.qdd.truncate(start.len());
            }
            Ok(s)
        }
        Move::Ptp(name) => {
            let goal = match resolve_target(name)? {
                Resolved::Joints(q) => q.to_vec(),
                Resolved::Pose(p) => {
                    let goals = resolve_goals(robot, base, &[Goal::Pose(p)], start)?;
                    nearest_goal(start, &goals)
                        .map(<[f64]>::to_vec)
                        .ok_or_else(|| PlanningError::GoalUnreachable {
                            reason: format!("{name}: no IK solution"),
                        })?
                }
            };
            plan_ptp(c.checker, c.space, c.limits, start, &goal, c.options).map(|m| m.samples)
        }
        Move::Free(name) => {
            let goals = match resolve_target(name)? {
                Resolved::Joints(q) => vec![q.to_vec()],
                Resolved::Pose(p) => resolve_goals(robot, base, &[Goal::Pose(p)], start)?,
            };
            plan_joint(c.checker, c.space, c.limits, start, &goals, c.options, None)
                .map(|m| m.samples)
        }
        Move::Lin(name) => {
            let to_base = base.inverse();
            let goal = match resolve_target(name)? {
                Resolved::Pose(p) => to_base * p,
                Resolved::Joints(q) => robot.fk(q)?,
            };
            let options = CartesianOptions {
                velocity_scale: c.options.velocity_scale,
                acceleration_scale: c.options.acceleration_scale,
                period: c.options.period,
                ..CartesianOptions::default()
            };
            plan_cartesian(
                c.checker,
                robot,
                c.limits,
                start,
                &CartesianPath::Line { goal },
                &options,
            )
            .map(|m| m.samples)
        }
    }
}

/// Evaluation state of one variant.
struct Run<'a> {
    variant: &'a Variant,
    instance: Instance,
    cell: Arc<CellSnapshot>,
    /// The cell whose checkers measure clearance ([`without_self_pairs`]).
    clearance_cell: CellSnapshot,
    limits: Vec<Limits>,
    spaces: Vec<JointSpace>,
    /// Each robot's whole cycle so far.
    timelines: Vec<Timeline>,
    clearance: f64,
    margin: f64,
    motions: usize,
}

fn run(study: &Study, variant: &Variant, keep: bool) -> (VariantResult, Option<Cycle>) {
    let mut result = VariantResult::new(variant);
    let instance = match study.instance(&variant.values) {
        Ok(i) => i,
        Err(e) => {
            result.failure = Some(input_failure(e.to_string()));
            return (result, None);
        }
    };
    let cell = match instance.cell.build(study.base_dir()) {
        Ok(c) => c,
        Err(e) => {
            result.failure = Some(input_failure(e.to_string()));
            return (result, None);
        }
    };
    let mut limits = Vec::with_capacity(cell.robots.len());
    let mut spaces = Vec::with_capacity(cell.robots.len());
    for r in &cell.robots {
        let robot = r.geometry.robot();
        match (Limits::of_robot(robot), JointSpace::of_chain(robot.chain())) {
            (Ok(l), Ok(s)) => {
                limits.push(l);
                spaces.push(s);
            }
            (Err(e), _) => {
                result.failure = Some(input_failure(format!("robot '{}': {e}", r.id)));
                return (result, None);
            }
            (_, Err(e)) => {
                result.failure = Some(input_failure(format!("robot '{}': {e}", r.id)));
                return (result, None);
            }
        }
    }
    for r in &cell.robots {
        match unreachable_targets(&instance, r) {
            Ok(mut u) => result.unreachable.append(&mut u),
            Err(f) => {
                result.failure = Some(f);
                return (result, None);
            }
        }
    }
    result.reachable = result.unreachable.is_empty();
    let timelines = cell
        .robots
        .iter()
        .map(|r| Timeline::at_rest(&r.joints, 0.0))
        .collect();
    let clearance_cell = match without_self_pairs(&cell) {
        Ok(c) => c,
        Err(e) => {
            result.failure = Some(input_failure(e.to_string()));
            return (result, None);
        }
    };
    let mut state = Run {
        variant,
        instance,
        cell,
        clearance_cell,
        limits,
        spaces,
        timelines,
        clearance: f64::INFINITY,
        margin: f64::INFINITY,
        motions: 0,
    };
    let mut stages = Vec::new();
    for si in 0..state.instance.task.stages.len() {
        if let Err(f) = state.stage(si, &mut result.motions) {
            result.failure = Some(f);
            break;
        }
        stages.push((
            state.instance.task.stages[si].name.clone(),
            state.timelines.first().map_or(0.0, Timeline::end),
        ));
    }
    result.complete = result.failure.is_none();
    if result.complete {
        result.collision_free = Some(true);
        result.cycle_time = Some(state.timelines.first().map_or(0.0, Timeline::end));
        result.min_clearance = Some(state.clearance).filter(|c| c.is_finite());
        result.joint_margin = Some(state.margin).filter(|m| m.is_finite());
        let req = &study.requirements;
        if let (Some(need), Some(have)) = (req.min_clearance, result.min_clearance)
            && have < need
        {
            result
                .unmet
                .push(format!("min_clearance {have:.4} m < {need} m"));
        }
        if let (Some(need), Some(have)) = (req.joint_margin, result.joint_margin)
            && have < need
        {
            result
                .unmet
                .push(format!("joint_margin {have:.4} rad < {need} rad"));
        }
        if let (Some(need), Some(have)) = (req.cycle_time, result.cycle_time)
            && have > need
        {
            result
                .unmet
                .push(format!("cycle_time {have:.3} s > {need} s"));
        }
    } else if result
        .failure
        .as_ref()
        .is_some_and(|f| f.kind == FailureKind::Collision)
    {
        result.collision_free = Some(false);
    }
    result.feasible = result.complete
        && result.reachable
        && result.collision_free == Some(true)
        && result.unmet.is_empty();
    let cycle = keep.then(|| state.cycle(stages));
    (result, cycle)
}

impl Run<'_> {
    fn task(&self) -> &crate::spec::Task {
        &self.instance.task
    }

    /// Plans stage `si`: each robot's moves from where it stands, against the others where
    /// they stand at the stage's start; then the robots that move are checked together
    /// along the stage's common timeline, and the clearance is measured.
    fn stage(&mut self, si: usize, motions: &mut Vec<MotionSummary>) -> Result<(), Failure> {
        let stage = self.instance.task.stages[si].clone();
        let start_time = self.timelines.first().map_or(0.0, Timeline::end);
        let states: Vec<Vec<f64>> = self.timelines.iter().map(|t| t.last_q().to_vec()).collect();
        let at_start = cell_at(&self.cell, &states);
        let acceleration_scale = self
            .task()
            .acceleration_scale
            .unwrap_or(self.task().velocity_scale);
        let mut moving = Vec::new();
        let mut lines: Vec<Timeline> = states.iter().map(|q| Timeline::at_rest(q, 0.0)).collect();
        for (ri, r) in self.cell.robots.iter().enumerate() {
            let Some(moves) = stage.moves.get(&r.id) else {
                continue;
            };
            moving.push(ri);
            let checker = at_start.checker(&r.id).map_err(|e| Failure {
                kind: FailureKind::Input,
                stage: Some(si),
                robot: Some(r.id.clone()),
                step: None,
                reason: e.to_string(),
            })?;
            for (k, m) in moves.iter().enumerate() {
                // each robot's whole cycle takes at most MAX_SAMPLES samples: a motion that
                // would need more than its robot has left is refused before it is sampled
                let used = self.timelines[ri].times.len() + lines[ri].times.len();
                let options = PlanOptions {
                    time_budget: Duration::from_secs_f64(self.task().time_budget),
                    seed: motion_seed(self.variant.seed, self.motions),
                    velocity_scale: self.task().velocity_scale,
                    acceleration_scale,
                    period: self.task().period,
                    max_samples: MAX_SAMPLES.saturating_sub(used).max(2),
                    ..PlanOptions::default()
                };
                self.motions += 1;
                let context = MoveContext {
                    instance: &self.instance,
                    robot: r,
                    checker: &checker,
                    space: &self.spaces[ri],
                    limits: &self.limits[ri],
                    options: &options,
                };
                let from = lines[ri].last_q().to_vec();
                let samples = plan_move(&context, m, &from)
                    .map_err(|e| failure_of(e, (si, &stage.name), &r.id, k, m))?;
                for i in 0..samples.len() {
                    self.margin = self
                        .margin
                        .min(margin_of(&self.limits[ri], samples.q_at(i)));
                }
                motions.push(MotionSummary {
                    stage: si,
                    robot: r.id.clone(),
                    step: k,
                    kind: m.kind().to_owned(),
                    target: m.target().map(str::to_owned),
                    start: start_time + lines[ri].end(),
                    duration: samples.duration(),
                });
                lines[ri].append(&samples);
            }
        }
        let duration = lines.iter().map(Timeline::end).fold(0.0, f64::max);
        if start_time + duration > MAX_DURATION {
            return Err(Failure {
                kind: FailureKind::Input,
                stage: Some(si),
                robot: None,
                step: None,
                reason: format!(
                    "stage {si} '{}': the cycle would last {:.1} s, longer than the {MAX_DURATION} s allowed",
                    stage.name,
                    start_time + duration
                ),
            });
        }
        for line in &mut lines {
            line.hold_until(duration);
        }
        if moving.len() > 1 {
            self.check_together(si, &stage.name, &lines, duration)?;
        }
        let measured_at_start = cell_at(&self.clearance_cell, &states);
        self.measure_clearance(&measured_at_start, &moving, &lines, duration);
        for (whole, line) in self.timelines.iter_mut().zip(&lines) {
            let mut shifted = line.clone();
            for t in &mut shifted.times {
                *t += start_time;
            }
            whole.extend(&shifted);
        }
        Ok(())
    }

    /// The robots' states at time `t` of the stage, back to back (cell order).
    fn states_at(lines: &[Timeline], t: f64, out: &mut Vec<f64>) {
        out.clear();
        for line in lines {
            let start = out.len();
            out.resize(start + line.dof, 0.0);
            line.position(t, &mut out[start..]);
        }
    }

    /// Checks the robots' stage timelines together (every robot against the world, the
    /// others and itself, all moving), every `task.period`.
    fn check_together(
        &self,
        si: usize,
        name: &str,
        lines: &[Timeline],
        duration: f64,
    ) -> Result<(), Failure> {
        let ids: Vec<&str> = self.cell.robots.iter().map(|r| r.id.as_str()).collect();
        let failure = |reason: String| Failure {
            kind: FailureKind::Collision,
            stage: Some(si),
            robot: None,
            step: None,
            reason,
        };
        let composite = self
            .cell
            .composite_checker(&ids)
            .map_err(|e| failure(e.to_string()))?;
        let period = self.task().period;
        let steps = (duration / period).ceil() as usize;
        let mut path = Vec::new();
        let mut state = Vec::new();
        let mut scratch = composite.scratch();
        // the timeline in windows of CHECK_WINDOW motions, each starting where the last one
        // ended: memory stays bounded however long the stage
        let mut first_collision = None;
        let mut from = 0;
        while from < steps && first_collision.is_none() {
            let to = (from + CHECK_WINDOW).min(steps);
            path.clear();
            for k in from..=to {
                Self::states_at(lines, (k as f64 * period).min(duration), &mut state);
                path.extend_from_slice(&state);
            }
            first_collision = cella_planning::ValidityChecker::path_first_collision(
                &composite,
                &mut scratch,
                &path,
            )
            .map(|j| from + j);
            from = to;
        }
        if let Some(k) = first_collision {
            let t = (k as f64 * period).min(duration);
            Self::states_at(lines, t, &mut state);
            let pairs = composite.contacts(&mut scratch, &state);
            let pairs: Vec<String> = pairs.iter().map(|(a, b)| format!("{a} - {b}")).collect();
            return Err(failure(format!(
                "stage '{name}': the robots moving together collide at {t:.3} s of the stage ({})",
                if pairs.is_empty() {
                    "between two samples".to_owned()
                } else {
                    pairs.join(", ")
                }
            )));
        }
        Ok(())
    }

    /// Clearance of every robot over the stage (`at_start`: the clearance cell with the
    /// robots where the stage starts), every `task.clearance_period` and at its end: a robot
    /// that stands still against what stands still is measured once.
    fn measure_clearance(
        &mut self,
        at_start: &CellSnapshot,
        moving: &[usize],
        lines: &[Timeline],
        duration: f64,
    ) {
        let period = self.task().clearance_period;
        let steps = (duration / period).ceil() as usize;
        let mut min = f64::INFINITY;
        for (ri, r) in self.cell.robots.iter().enumerate() {
            if moving.contains(&ri) {
                continue;
            }
            if let Ok(checker) = at_start.checker(&r.id) {
                let mut s = checker.scratch();
                if let Some(c) = checker.clearance(&mut s, &at_start.robots[ri].joints) {
                    min = min.min(c);
                }
            }
        }
        let mut q = Vec::new();
        if moving.len() == 1 {
            let ri = moving[0];
            if let Ok(checker) = at_start.checker(&self.cell.robots[ri].id) {
                let mut s = checker.scratch();
                q.resize(lines[ri].dof, 0.0);
                for k in 0..=steps {
                    lines[ri].position((k as f64 * period).min(duration), &mut q);
                    if let Some(c) = checker.clearance(&mut s, &q) {
                        min = min.min(c);
                    }
                }
            }
        } else if moving.len() > 1 {
            let mut states: Vec<Vec<f64>> = lines.iter().map(|l| vec![0.0; l.dof]).collect();
            for k in 0..=steps {
                let t = (k as f64 * period).min(duration);
                for (line, q) in lines.iter().zip(&mut states) {
                    line.position(t, q);
                }
                let now = cell_at(&self.clearance_cell, &states);
                for &ri in moving {
                    if let Ok(checker) = now.checker(&self.cell.robots[ri].id) {
                        let mut s = checker.scratch();
                        if let Some(c) = checker.clearance(&mut s, &states[ri]) {
                            min = min.min(c);
                        }
                    }
                }
            }
        }
        self.clearance = self.clearance.min(min);
    }

    /// The whole cycle, for reports.
    fn cycle(&self, stages: Vec<(String, f64)>) -> Cycle {
        let end = self.timelines.iter().map(Timeline::end).fold(0.0, f64::max);
        // at most MAX_SAMPLES samples a robot
        let period = self.task().period.max(end / (MAX_SAMPLES - 1) as f64);
        let robots = self
            .cell
            .robots
            .iter()
            .zip(&self.timelines)
            .map(|(r, line)| {
                let mut line = line.clone();
                line.hold_until(end);
                let trajectory = line.resampled(period);
                let robot = r.geometry.robot();
                let tcp = (0..trajectory.len())
                    .map(|k| {
                        let p = robot
                            .fk(trajectory.q_at(k))
                            .map(|p| (r.base * p).translation.vector)
                            .unwrap_or_default();
                        [p.x, p.y, p.z]
                    })
                    .collect();
                RobotCycle {
                    id: r.id.clone(),
                    joint_names: robot.chain().joint_names().map(str::to_owned).collect(),
                    base: r.base,
                    trajectory,
                    tcp,
                    limits: robot
                        .chain()
                        .variables()
                        .iter()
                        .map(|v| (v.limits.lower, v.limits.upper))
                        .collect(),
                }
            })
            .collect();
        Cycle {
            cell_text: self.instance.cell_text.clone(),
            cell: self.cell.clone(),
            objects: self.cell.world.objects().to_vec(),
            robots,
            stages,
        }
    }
}

/// The shape of an object in words, for reports.
pub fn shape_text(shape: &Shape) -> String {
    match shape {
        Shape::Box { half_extents: h } => format!(
            "box {:.3} x {:.3} x {:.3} m",
            2.0 * h[0],
            2.0 * h[1],
            2.0 * h[2]
        ),
        Shape::Sphere { radius } => format!("sphere r {radius:.3} m"),
        Shape::Cylinder {
            radius,
            half_length,
        } => format!("cylinder r {radius:.3} m, {:.3} m long", 2.0 * half_length),
        Shape::Capsule {
            radius,
            half_length,
        } => format!("capsule r {radius:.3} m, {:.3} m long", 2.0 * half_length),
    }
}
