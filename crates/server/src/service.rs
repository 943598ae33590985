//! The `cella.v1.CellService` implementation: requests are validated (`convert`), CPU work runs
//! on the blocking pool behind a semaphore sized to the cores, and every answer is computed
//! against one immutable cell snapshot (its version is returned with it).

use crate::convert::{self, invalid};
use cella_cell::{CellSnapshot, WorldEdit};
use cella_control::{CellControl, ControlOptions, EditKind};
use cella_kinematics::{IkOptions, IkSolutions};
use cella_planning::{Goal, JointSpace, PlanOptions, ResolvedGoals, plan_joint, plan_ptp};
use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_server::CellService;
use cella_trajectory::Limits;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

/// Longest planning budget a request may ask for.
/// Most requests in one batch.
const MAX_BATCH: usize = 256;

/// Shared state of the service.
#[derive(Debug, Clone)]
pub struct CellServer {
    workers: Arc<Semaphore>,
    pub(crate) control: Arc<CellControl>,
    pub(crate) executions: Arc<crate::execution::RecentExecutions>,
    /// The audit trail ([`CellServer::with_audit`]).
    pub(crate) audit: Option<Arc<crate::audit::AuditLog>>,
    /// The world edit journal ([`CellServer::with_journal`]).
    pub(crate) journal: Option<Arc<std::sync::Mutex<cella_cell::Journal>>>,
    /// The limits on clients and what they hold ([`CellServer::with_limits`]).
    pub(crate) limiter: Arc<crate::limits::Limiter>,
}

impl CellServer {
    /// A service over an initial cell snapshot, with `workers` concurrent CPU-heavy requests
    /// and a simulated controller per robot (each looping at its `control_period_ms`).
    pub fn new(
        cell: Arc<CellSnapshot>,
        workers: usize,
        control: ControlOptions,
    ) -> Result<Self, cella_control::ControlError> {
        Ok(Self::over(CellControl::simulated(&cell, control)?, workers))
    }

    /// A service over an initial cell snapshot whose robots are driven by `drivers`
    /// (`drivers[i]` drives `cell.robots[i]`: a real controller's driver or a
    /// [`cella_control::SimDriver`]), with `workers` concurrent CPU-heavy requests. Each
    /// executor loops at its robot's `control_period_ms`.
    pub fn with_drivers(
        cell: Arc<CellSnapshot>,
        workers: usize,
        drivers: Vec<Box<dyn cella_control::Driver>>,
        control: ControlOptions,
    ) -> Result<Self, cella_control::ControlError> {
        Ok(Self::over(
            CellControl::with_drivers(&cell, drivers, control)?,
            workers,
        ))
    }

    /// The service over robots already under control.
    fn over(control: CellControl, workers: usize) -> Self {
        Self {
            workers: Arc::new(Semaphore::new(workers.max(1))),
            control: Arc::new(control),
            executions: Arc::default(),
            audit: None,
            journal: None,
            limiter: Arc::new(crate::limits::Limiter::new(crate::Limits::default())),
        }
    }

    /// The current snapshot with every robot at its live joint values (from its executor).
    pub fn live_snapshot(&self) -> Arc<CellSnapshot> {
        self.control.live_snapshot()
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<CellSnapshot> {
        self.control.snapshot()
    }

    /// Runs CPU work on the blocking pool behind the worker semaphore.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, Status> + Send + 'static,
    ) -> Result<T, Status> {
        let _permit = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("shutting down"))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Status::internal(format!("worker failed: {e}")))?
    }

    /// Applies an edit atomically with every admission (the cell's safety authority decides:
    /// see [`CellControl::edit`]), `resolve` making it from the live cell; the new snapshot
    /// replaces the old one only when the whole edit succeeded (and is journaled, with a
    /// journal: [`CellServer::commit_edit`]). The response names the motions it stopped.
    async fn edit(
        &self,
        kind: EditKind,
        resolve: impl FnOnce(&CellSnapshot) -> Result<WorldEdit, cella_cell::CellError> + Send + 'static,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let server = self.clone();
        let outcome = tokio::task::spawn_blocking(move || server.commit_edit(kind, resolve))
            .await
            .map_err(|e| Status::internal(format!("worker failed: {e}")))??;
        let version = outcome.cell.version;
        tracing::info!(version, "world edited");
        for e in &outcome.stopped {
            tracing::warn!(robot = %e.robot, reason = %e.reason, version, "stopped: the world edit blocks its motion");
        }
        Ok(Response::new(pb::WorldEditResponse {
            world_version: version,
            stopped: outcome
                .stopped
                .iter()
                .map(crate::execution::stop_event_msg)
                .collect(),
        }))
    }
}

/// The client's deadline (the `grpc-timeout` header), if it sent one.
///
/// The gRPC over HTTP/2 spec defines the header as `TimeoutValue TimeoutUnit`: a positive
/// integer of at most 8 ASCII digits, then one of `H` (hours), `M` (minutes), `S` (seconds),
/// `m` (milliseconds), `u` (microseconds) or `n` (nanoseconds); `0` is read as a deadline
/// already passed. Anything else (a sign, a space, a ninth digit, another unit) is no
/// `grpc-timeout` at all, and the RPCs that honour a deadline (Plan, PlanBatch, PlanSequence,
/// Execute) refuse it as INVALID_ARGUMENT naming the header rather than run without the
/// deadline the client meant to set; the spec leaves the reaction open and input validation is
/// this service's rule. The RPCs that take no deadline ignore the header, as tonic's transport does.
pub(crate) fn deadline<T>(request: &Request<T>) -> Result<Option<Duration>, Status> {
    let Some(value) = request.metadata().get("grpc-timeout") else {
        return Ok(None);
    };
    let malformed = |why: &str| {
        invalid(
            "grpc-timeout",
            format!("{value:?} is not a gRPC timeout ({why})"),
        )
    };
    let text = value.to_str().map_err(|_| malformed("not ASCII"))?;
    parse_grpc_timeout(text)
        .map(Some)
        .map_err(|e| malformed(e.reason()))
}

/// Why a `grpc-timeout` value is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeoutError {
    /// No digits before the unit (or nothing at all).
    Empty,
    /// More than the 8 digits the spec allows.
    TooLong,
    /// A character that is not an ASCII digit before the unit.
    NotDigits,
    /// The unit is not one of `H M S m u n`.
    Unit,
    /// The value does not fit a duration (cannot happen within 8 digits; checked anyway).
    Overflow,
}

impl TimeoutError {
    fn reason(self) -> &'static str {
        match self {
            Self::Empty => "no digits",
            Self::TooLong => "more than 8 digits",
            Self::NotDigits => "a character that is not an ASCII digit",
            Self::Unit => "the unit is not one of H, M, S, m, u, n",
            Self::Overflow => "too large",
        }
    }
}

/// Most digits of a `grpc-timeout` value.
const TIMEOUT_DIGITS: usize = 8;

/// Parses a `grpc-timeout` value (`TimeoutValue TimeoutUnit`, see [`deadline`]) with checked
/// arithmetic: never panics, never wraps.
pub(crate) fn parse_grpc_timeout(text: &str) -> Result<Duration, TimeoutError> {
    let bytes = text.as_bytes();
    let Some((&unit, digits)) = bytes.split_last() else {
        return Err(TimeoutError::Empty);
    };
    if digits.is_empty() {
        return Err(TimeoutError::Empty);
    }
    if digits.len() > TIMEOUT_DIGITS {
        return Err(TimeoutError::TooLong);
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(TimeoutError::NotDigits);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(TimeoutError::Overflow)?;
    }
    let secs = |per: u64| {
        n.checked_mul(per)
            .map(Duration::from_secs)
            .ok_or(TimeoutError::Overflow)
    };
    match unit {
        b'H' => secs(3600),
        b'M' => secs(60),
        b'S' => secs(1),
        b'm' => Ok(Duration::from_millis(n)),
        b'u' => Ok(Duration::from_micros(n)),
        b'n' => Ok(Duration::from_nanos(n)),
        _ => Err(TimeoutError::Unit),
    }
}

fn robot_info(r: &cella_cell::CellRobot) -> pb::RobotInfo {
    let robot = r.geometry.robot();
    let dynamic = robot.dynamic_limits();
    pb::RobotInfo {
        id: r.id.clone(),
        model: r.model.clone(),
        joints: robot
            .chain()
            .variables()
            .iter()
            .enumerate()
            .map(|(i, v)| pb::JointInfo {
                name: v.name.clone(),
                lower: v.limits.lower,
                upper: v.limits.upper,
                max_velocity: v.limits.velocity,
                max_acceleration: dynamic
                    .get(i)
                    .and_then(|d| d.acceleration)
                    .unwrap_or(2.0 * v.limits.velocity),
                max_jerk: dynamic.get(i).and_then(|d| d.jerk).unwrap_or(0.0),
            })
            .collect(),
        base_pose: Some(convert::pose_msg(&r.base)),
        tcp_frame: robot.tool_frame().unwrap_or(robot.chain().tip()).to_owned(),
        named_poses: robot
            .named_poses()
            .iter()
            .map(|(k, v)| (k.clone(), pb::JointValues { values: v.clone() }))
            .collect(),
        current: Some(pb::JointValues {
            values: r.joints.clone(),
        }),
        links: robot
            .model()
            .links()
            .iter()
            .map(|l| l.name.clone())
            .collect(),
    }
}

/// Resolves the goals of a plan request into joint states, each with the index of the
/// request's goal it comes from (see [`cella_planning::resolve_goals_indexed`]); statuses
/// name the goal.
fn goal_states(
    cell: &CellSnapshot,
    robot_id: &str,
    goals: &[pb::Goal],
    seed: &[f64],
) -> Result<ResolvedGoals, Status> {
    let r = cell.robot(robot_id).map_err(convert::cell_status)?;
    let mut given = Vec::with_capacity(goals.len().min(cella_planning::goals::MAX_GOALS + 1));
    for (i, g) in goals
        .iter()
        .take(cella_planning::goals::MAX_GOALS + 1)
        .enumerate()
    {
        let field = format!("goals[{i}]");
        given.push(match g.kind.as_ref() {
            None => return Err(invalid(&field, "empty goal")),
            Some(pb::goal::Kind::Joints(j)) => Goal::Joints(convert::values(&field, &j.values)?),
            Some(pb::goal::Kind::NamedPose(name)) => {
                // a named pose the robot does not define: not found
                r.geometry
                    .robot()
                    .named_pose(name)
                    .map_err(|e| Status::not_found(format!("{field}: {e}")))?;
                Goal::Named(name.clone())
            }
            Some(pb::goal::Kind::Pose(p)) => {
                Goal::Pose(convert::pose(&format!("{field}.pose"), Some(p))?)
            }
        });
    }
    if goals.len() > given.len() {
        return Err(invalid(
            "goals",
            format!(
                "{} goals is too many ({})",
                goals.len(),
                cella_planning::goals::MAX_GOALS
            ),
        ));
    }
    cella_planning::resolve_goals_indexed(r.geometry.robot(), &r.base, &given, seed)
        .map_err(convert::planning_status)
}

/// What planning for robot `id` needs: its checker (the current world, the other robots where
/// they are and along their remaining paths), its joint space and its limits.
pub(crate) fn planning_inputs(
    cell: &CellSnapshot,
    control: &CellControl,
    id: &str,
) -> Result<(cella_collision::Checker, JointSpace, Limits), Status> {
    let robot = cell
        .robot(id)
        .map_err(convert::cell_status)?
        .geometry
        .robot();
    let checker = control.checker(cell, id).map_err(convert::control_status)?;
    let space = JointSpace::of_chain(robot.chain()).map_err(convert::planning_status)?;
    let limits = Limits::of_robot(robot).map_err(|e| Status::internal(e.to_string()))?;
    Ok((checker, space, limits))
}

/// Plans one request; its trajectory has at most `max_samples` samples (default: what fits a
/// response message for the robot's joints).
fn plan_once(
    cell: &CellSnapshot,
    control: &CellControl,
    req: &pb::PlanRequest,
    deadline: Option<Duration>,
    max_samples: Option<usize>,
) -> Result<pb::PlanResponse, Status> {
    let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
    let robot = r.geometry.robot();
    let start = convert::start_state(r, &req.start)?;
    let goals = goal_states(cell, &req.robot_id, &req.goals, &start)?;
    let budget =
        cella_planning::time_budget(req.time_budget, deadline).map_err(convert::planning_status)?;
    let period = convert::sampling_period(req.period)?;
    let options = PlanOptions {
        time_budget: budget,
        seed: req.seed,
        velocity_scale: convert::unit_scale("velocity_scale", req.velocity_scale)?,
        acceleration_scale: convert::unit_scale("acceleration_scale", req.acceleration_scale)?,
        period,
        blend_deviation: match req.blend_deviation {
            None => PlanOptions::default().blend_deviation,
            Some(d) if d.is_finite() && (0.0..=1.0).contains(&d) => d,
            Some(d) => {
                return Err(invalid(
                    "blend_deviation",
                    format!("{d} rad is not in [0, 1]"),
                ));
            }
        },
        max_samples: max_samples.unwrap_or_else(|| convert::max_samples(robot.chain().dof())),
        ..PlanOptions::default()
    };
    let (checker, space, limits) = planning_inputs(cell, control, &req.robot_id)?;
    let started = std::time::Instant::now();
    let plan = |checker: &cella_collision::Checker, options: &PlanOptions| {
        plan_with(cell, req, checker, &space, &limits, &start, &goals, options)
    };
    let refused = match plan(&checker, &options) {
        Ok(answer) => return Ok(answer),
        // a motion in (or a goal, or no path, past) another robot's reservation
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::FailedPrecondition | tonic::Code::DeadlineExceeded
            ) =>
        {
            s
        }
        Err(s) => return Err(s),
    };
    // through space the other robots are leaving: planned around where they end, kept when
    // every meeting with their reservations has a safe and timely gate
    let Some(leaving) = control
        .leaving_checker(cell, &req.robot_id)
        .map_err(convert::control_status)?
    else {
        return Err(refused);
    };
    // the second attempt has what the first left of the one budget (and of the deadline)
    let left = budget.saturating_sub(started.elapsed());
    if left.is_zero() {
        return Err(refused);
    }
    let second = PlanOptions {
        time_budget: left,
        ..options.clone()
    };
    let Ok(mut answer) = plan(&leaving, &second) else {
        return Err(refused);
    };
    let samples = crate::execution::samples(answer.trajectory.as_ref(), robot.chain().dof())?;
    match control
        .assumptions(cell, &req.robot_id, &samples)
        .map_err(convert::control_status)?
    {
        Ok(assumptions) => {
            answer.assumptions = assumptions
                .into_iter()
                .map(convert::assumption_msg)
                .collect();
            Ok(answer)
        }
        Err(why) => Err(Status::new(
            refused.code(),
            format!(
                "{}; not through space another robot is leaving either: {why}",
                refused.message()
            ),
        )),
    }
}

/// Plans one request against `checker`.
#[allow(clippy::too_many_arguments)]
fn plan_with(
    cell: &CellSnapshot,
    req: &pb::PlanRequest,
    checker: &cella_collision::Checker,
    space: &JointSpace,
    limits: &Limits,
    start: &[f64],
    goals: &ResolvedGoals,
    options: &PlanOptions,
) -> Result<pb::PlanResponse, Status> {
    let robot = cell
        .robot(&req.robot_id)
        .map_err(convert::cell_status)?
        .geometry
        .robot();
    // errors and the goal reached name the request's goal, not the goal state (a TCP goal
    // has one state per IK solution)
    let (motion, goal_index) = match pb::MotionType::try_from(req.motion) {
        Ok(pb::MotionType::Free) => {
            plan_joint(checker, space, limits, start, &goals.states, options, None)
                .map(|m| {
                    let k = m.goal_index;
                    (m, goals.goal_index(k))
                })
                .map_err(|e| goals.request_fields(e))
        }
        Ok(pb::MotionType::Lin | pb::MotionType::Circ) => {
            return crate::cartesian::plan_cartesian_request(
                cell, req, start, checker, limits, options,
            );
        }
        Ok(pb::MotionType::Ptp) => {
            // the goal state nearest the start
            let k = cella_planning::nearest_goal_index(start, &goals.states)
                .ok_or_else(|| invalid("goals", "no goal given"))?;
            plan_ptp(checker, space, limits, start, &goals.states[k], options)
                .map(|m| (m, goals.goal_index(k)))
                .map_err(|e| goals.request_fields(ptp_goal_field(e, k)))
        }
        Err(_) => {
            return Err(invalid(
                "motion",
                format!("unknown motion type {}", req.motion),
            ));
        }
    }
    .map_err(convert::planning_status)?;
    Ok(plan_response(
        robot,
        &motion.samples,
        cell.version,
        motion.planning_time,
        goal_index,
    ))
}

/// A PTP planning error naming its `goal` as goal state `k` (`goals[k]`).
fn ptp_goal_field(e: cella_planning::PlanningError, k: usize) -> cella_planning::PlanningError {
    e.map_field(|field| match field.strip_prefix("goal") {
        Some(rest) if !rest.starts_with('s') => format!("goals[{k}]{rest}"),
        _ => field,
    })
}

/// The answer to a plan request: the sampled trajectory with the world version it was planned
/// against and the index of the request's goal it reaches.
pub(crate) fn plan_response(
    robot: &cella_kinematics::Robot,
    s: &cella_trajectory::SampledTrajectory,
    world_version: u64,
    planning_time: Duration,
    goal_index: usize,
) -> pb::PlanResponse {
    pb::PlanResponse {
        trajectory: Some(pb::Trajectory {
            joint_names: robot.chain().joint_names().map(str::to_owned).collect(),
            points: (0..s.len())
                .map(|k| pb::TrajectoryPoint {
                    t: s.times[k],
                    q: s.q_at(k).to_vec(),
                    qd: s.qd_at(k).to_vec(),
                    qdd: s.qdd_at(k).to_vec(),
                })
                .collect(),
        }),
        world_version,
        planning_time: planning_time.as_secs_f64(),
        // at most MAX_GOALS
        goal_index: u32::try_from(goal_index).unwrap_or(u32::MAX),
        assumptions: Vec::new(),
    }
}

#[tonic::async_trait]
impl CellService for CellServer {
    type StreamStateStream = crate::execution::StateStream;

    async fn get_cell_info(
        &self,
        request: Request<pb::GetCellInfoRequest>,
    ) -> Result<Response<pb::CellInfo>, Status> {
        let cell = self.live_snapshot();
        let mut objects: Vec<pb::WorldObject> = cell
            .world
            .objects()
            .iter()
            .map(|o| pb::WorldObject {
                name: o.name.clone(),
                shape: Some(convert::shape_msg(&o.shape)),
                pose: Some(convert::pose_msg(&o.pose)),
                attached_to_robot: String::new(),
                attached_to_link: String::new(),
                allowed_contacts: Vec::new(),
                padding: o.padding,
            })
            .collect();
        for a in cell.world.attached() {
            let owner = cell.owner(a).map(|r| r.id.clone()).unwrap_or_default();
            objects.push(pb::WorldObject {
                name: a.name.clone(),
                shape: Some(convert::shape_msg(&a.shape)),
                pose: Some(convert::pose_msg(&a.pose_in_link)),
                attached_to_robot: owner,
                attached_to_link: a.link.clone(),
                allowed_contacts: Vec::new(),
                padding: 0.0,
            });
        }
        for o in &mut objects {
            o.allowed_contacts = cell
                .world
                .allowed_contacts()
                .iter()
                .filter(|c| c.object == o.name)
                .map(|c| pb::AllowedContact {
                    robot_id: c.robot.clone(),
                    link: c.link.clone(),
                })
                .collect();
        }
        Ok(Response::new(pb::CellInfo {
            world_version: cell.version,
            robots: cell.robots.iter().map(robot_info).collect(),
            objects,
            padding: cell.world.padding(),
            warnings: crate::auth::warnings_of(&request),
        }))
    }

    async fn compute_fk(
        &self,
        request: Request<pb::FkRequest>,
    ) -> Result<Response<pb::FkResponse>, Status> {
        let req = request.into_inner();
        let cell = self.snapshot();
        let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
        let q = convert::values("joints", &req.joints)?;
        let robot = r.geometry.robot();
        let pose = if req.frame.is_empty() {
            robot.fk(&q).map_err(|e| invalid("joints", e.to_string()))?
        } else {
            let model = robot.model();
            let index = model
                .link_index(&req.frame)
                .map_err(|_| Status::not_found(format!("unknown frame '{}'", req.frame)))?;
            let mut full = vec![0.0; model.variables().len()];
            let mut poses = vec![nalgebra::Isometry3::identity(); model.links().len()];
            robot
                .model_state(&q, &mut full)
                .and_then(|()| model.link_poses(&full, &mut poses))
                .map_err(|e| invalid("joints", e.to_string()))?;
            poses[index]
        };
        Ok(Response::new(pb::FkResponse {
            pose: Some(convert::pose_msg(&(r.base * pose))),
        }))
    }

    async fn compute_ik(
        &self,
        request: Request<pb::IkRequest>,
    ) -> Result<Response<pb::IkResponse>, Status> {
        let req = request.into_inner();
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let r = cell
            .robot(&req.robot_id)
            .map_err(convert::cell_status)?
            .clone();
        let world_pose = convert::pose("pose", req.pose.as_ref())?;
        let seed = convert::values("seed", &req.seed)?;
        let id = req.robot_id.clone();
        let solutions = self
            .blocking(move || {
                let robot = r.geometry.robot();
                if !seed.is_empty() {
                    robot
                        .chain()
                        .check_joints("seed", &seed)
                        .map_err(|e| invalid("seed", e.to_string()))?;
                }
                let mut sols = IkSolutions::new();
                let options = IkOptions {
                    max_solutions: if req.all_solutions { 16 } else { 1 },
                    ..IkOptions::default()
                };
                let target = r.base.inverse() * world_pose;
                robot
                    .ik(
                        &target,
                        (!seed.is_empty()).then_some(&seed[..]),
                        &options,
                        &mut sols,
                    )
                    .map_err(|e| match e {
                        cella_kinematics::KinematicsError::Unreachable { .. } => {
                            Status::failed_precondition(format!("pose unreachable: {e}"))
                        }
                        other => invalid("pose", other.to_string()),
                    })?;
                let mut out: Vec<Vec<f64>> = sols
                    .as_slice()
                    .iter()
                    .map(|s| s.joints().to_vec())
                    .collect();
                if req.collision_free {
                    let checker = control
                        .checker(&cell, &id)
                        .map_err(convert::control_status)?;
                    let mut s = checker.scratch();
                    out.retain(|q| checker.is_valid(&mut s, q));
                }
                if !req.all_solutions {
                    out.truncate(1);
                }
                Ok(out)
            })
            .await?;
        Ok(Response::new(pb::IkResponse {
            solutions: solutions
                .into_iter()
                .map(|values| pb::JointValues { values })
                .collect(),
        }))
    }

    async fn check_state(
        &self,
        request: Request<pb::CheckStateRequest>,
    ) -> Result<Response<pb::CheckStateResponse>, Status> {
        let req = request.into_inner();
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let q = convert::values("joints", &req.joints)?;
        let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
        r.geometry
            .robot()
            .chain()
            .check_joints("joints", &q)
            .map_err(|e| invalid("joints", e.to_string()))?;
        let answer = self
            .blocking(move || {
                let checker = control
                    .checker(&cell, &req.robot_id)
                    .map_err(convert::control_status)?;
                let mut s = checker.scratch();
                let valid = checker.is_valid(&mut s, &q);
                let collisions = checker.contacts(&mut s, &q);
                let closest = checker.distance(&mut s, &q);
                Ok(pb::CheckStateResponse {
                    valid,
                    collisions: collisions
                        .into_iter()
                        .map(|(a, b)| pb::CollisionPair { a, b })
                        .collect(),
                    min_distance: closest.as_ref().map_or(f64::INFINITY, |c| c.distance),
                    closest_a: closest.as_ref().map(|c| c.a.clone()).unwrap_or_default(),
                    closest_b: closest.map(|c| c.b).unwrap_or_default(),
                    world_version: cell.version,
                })
            })
            .await?;
        Ok(Response::new(answer))
    }

    async fn add_object(
        &self,
        request: Request<pb::AddObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let audit = self.audit(&request, "AddObject").await?;
        let edit = async {
            let msg = request.into_inner().object;
            let object = convert::world_object(msg.as_ref())?;
            let allowed: Vec<(String, String)> = msg
                .map(|o| {
                    o.allowed_contacts
                        .into_iter()
                        .map(|c| (c.robot_id, c.link))
                        .collect()
                })
                .unwrap_or_default();
            if allowed.len() > 1024 {
                return Err(invalid("object.allowed_contacts", "more than 1024 entries"));
            }
            self.edit(EditKind::Objects, move |_| {
                Ok(WorldEdit::AddObject { object, allowed })
            })
            .await
        };
        audit.end(edit.await)
    }

    async fn move_object(
        &self,
        request: Request<pb::MoveObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let audit = self.audit(&request, "MoveObject").await?;
        let edit = async {
            let req = request.into_inner();
            let pose = convert::pose("pose", req.pose.as_ref())?;
            let name = req.name;
            self.edit(EditKind::Objects, move |_| {
                Ok(WorldEdit::MoveObject { name, pose })
            })
            .await
        };
        audit.end(edit.await)
    }

    async fn remove_object(
        &self,
        request: Request<pb::RemoveObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let audit = self.audit(&request, "RemoveObject").await?;
        let name = request.into_inner().name;
        audit.end(
            self.edit(EditKind::Objects, move |_| {
                Ok(WorldEdit::RemoveObject { name })
            })
            .await,
        )
    }

    async fn attach_object(
        &self,
        request: Request<pb::AttachObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let audit = self.audit(&request, "AttachObject").await?;
        let edit = async {
            let req = request.into_inner();
            if req.robot_id.is_empty() {
                return Err(invalid(
                    "robot_id",
                    "name the robot that carries the object",
                ));
            }
            self.edit(EditKind::Attachment, move |c| {
                c.attach_edit(&req.name, &req.robot_id, &req.link, req.touch_links)
            })
            .await
        };
        audit.end(edit.await)
    }

    async fn detach_object(
        &self,
        request: Request<pb::DetachObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let audit = self.audit(&request, "DetachObject").await?;
        let name = request.into_inner().name;
        audit.end(
            self.edit(EditKind::Attachment, move |c| c.detach_edit(&name))
                .await,
        )
    }

    async fn plan(
        &self,
        request: Request<pb::PlanRequest>,
    ) -> Result<Response<pb::PlanResponse>, Status> {
        // the deadline counts from the request, not from when a worker takes it up
        let end = deadline(&request)?.and_then(|d| std::time::Instant::now().checked_add(d));
        let req = request.into_inner();
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let answer = self
            .blocking(move || {
                let left = end.map(|e| e.saturating_duration_since(std::time::Instant::now()));
                plan_once(&cell, &control, &req, left, None)
            })
            .await?;
        Ok(Response::new(answer))
    }

    async fn plan_batch(
        &self,
        request: Request<pb::PlanBatchRequest>,
    ) -> Result<Response<pb::PlanBatchResponse>, Status> {
        // the items share the client's deadline (one past what the clock can count is none)
        let end = deadline(&request)?.and_then(|d| std::time::Instant::now().checked_add(d));
        let reqs = request.into_inner().requests;
        if reqs.len() > MAX_BATCH {
            return Err(invalid(
                "requests",
                format!("{} requests is too many ({MAX_BATCH})", reqs.len()),
            ));
        }
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let items = self
            .blocking(move || {
                // the items share one response message: each may use what the ones before
                // left of it
                let mut left = convert::BATCH_BYTES;
                let mut items = Vec::with_capacity(reqs.len());
                for (i, r) in reqs.iter().enumerate() {
                    let dof = cell
                        .robot(&r.robot_id)
                        .map_or(0, |x| x.geometry.robot().chain().dof());
                    let budget = convert::batch_item_samples(left, dof);
                    // and the time: each item searches for at most half of what the ones
                    // before it left of the deadline
                    let time_left =
                        end.map(|e| e.saturating_duration_since(std::time::Instant::now()));
                    let answer = if budget < 2 {
                        Err(convert::too_large(
                            "requests",
                            format!(
                                "requests[{i}]: the plans before it fill the response; send it \
                                 in another batch"
                            ),
                        ))
                    } else if time_left == Some(Duration::ZERO) {
                        Err(Status::deadline_exceeded(format!(
                            "requests[{i}]: the client's deadline passed before it was planned"
                        )))
                    } else {
                        plan_once(&cell, &control, r, time_left, Some(budget))
                    };
                    let points = answer
                        .as_ref()
                        .ok()
                        .and_then(|p| p.trajectory.as_ref())
                        .map_or(0, |t| t.points.len());
                    left = left.saturating_sub(convert::batch_item_bytes(points, dof));
                    items.push(match answer {
                        Ok(resp) => pb::PlanBatchItem {
                            response: Some(resp),
                            code: 0,
                            message: String::new(),
                        },
                        Err(s) => pb::PlanBatchItem {
                            response: None,
                            code: s.code() as i32,
                            message: s.message().to_owned(),
                        },
                    });
                }
                Ok(items)
            })
            .await?;
        Ok(Response::new(pb::PlanBatchResponse { items }))
    }

    async fn validate_trajectory(
        &self,
        request: Request<pb::ValidateTrajectoryRequest>,
    ) -> Result<Response<pb::ValidateTrajectoryResponse>, Status> {
        let req = request.into_inner();
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let answer = self
            .blocking(move || {
                let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
                let robot = r.geometry.robot();
                let traj = req
                    .trajectory
                    .ok_or_else(|| invalid("trajectory", "missing"))?;
                let n = robot.chain().dof();
                if traj.points.len() > crate::convert::MAX_LIST {
                    return Err(invalid("trajectory.points", "too many points"));
                }
                let mut sampled = cella_trajectory::SampledTrajectory {
                    dof: n,
                    ..Default::default()
                };
                for (k, p) in traj.points.iter().enumerate() {
                    let field = format!("trajectory.points[{k}]");
                    let q = convert::values(&format!("{field}.q"), &p.q)?;
                    if q.len() != n {
                        return Err(invalid(
                            &format!("{field}.q"),
                            format!("{} values for {n} joints", q.len()),
                        ));
                    }
                    let qd = if p.qd.is_empty() {
                        vec![0.0; n]
                    } else {
                        convert::values(&format!("{field}.qd"), &p.qd)?
                    };
                    let qdd = if p.qdd.is_empty() {
                        vec![0.0; n]
                    } else {
                        convert::values(&format!("{field}.qdd"), &p.qdd)?
                    };
                    if qd.len() != n || qdd.len() != n {
                        return Err(invalid(&field, "qd/qdd length does not match the joints"));
                    }
                    sampled.times.push(p.t);
                    sampled.q.extend(q);
                    sampled.qd.extend(qd);
                    sampled.qdd.extend(qdd);
                }
                let limits =
                    Limits::of_robot(robot).map_err(|e| Status::internal(e.to_string()))?;
                let mut reason = cella_trajectory::validate(&sampled, &limits, 1e-6)
                    .err()
                    .map(|e| e.to_string());
                if reason.is_none() {
                    let checker = control
                        .checker(&cell, &req.robot_id)
                        .map_err(convert::control_status)?;
                    let mut s = checker.scratch();
                    if let Some(k) = checker.path_first_collision(&mut s, &sampled.q) {
                        let pairs = checker.contacts(&mut s, sampled.q_at(k));
                        reason = Some(format!(
                            "collision between samples {} and {k} (t = {:.4} s): {pairs:?}",
                            k.saturating_sub(1),
                            sampled.times[k]
                        ));
                    }
                }
                Ok(pb::ValidateTrajectoryResponse {
                    valid: reason.is_none(),
                    reason: reason.unwrap_or_default(),
                    world_version: cell.version,
                })
            })
            .await?;
        Ok(Response::new(answer))
    }

    async fn execute(
        &self,
        request: Request<pb::ExecuteRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        // a deadline past what the clock can count is no deadline
        let deadline = deadline(&request)?.and_then(|d| std::time::Instant::now().checked_add(d));
        let audit = self.audit(&request, "Execute").await?;
        audit.end(
            self.execute_rpc(request.into_inner(), deadline)
                .await
                .map(Response::new),
        )
    }

    /// Not audited: a client renews its lease many times a second, and a renewal changes
    /// nothing a person decided (the Execute that took the lease is audited).
    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let req = request.into_inner();
        let lease = self
            .control
            .heartbeat(&req.robot_id, req.execution_id)
            .map_err(convert::control_status)?;
        Ok(Response::new(pb::HeartbeatResponse {
            lease: lease.as_secs_f64(),
        }))
    }

    type StreamEventsStream = crate::execution::EventStream;

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        Ok(Response::new(
            self.stream_events_rpc(request.into_inner().after_seq)?,
        ))
    }

    async fn pause(
        &self,
        request: Request<pb::RobotRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let audit = self.audit(&request, "Pause").await?;
        let id = request.into_inner().robot_id;
        audit.end(
            self.robot_command(id, |e| e.pause())
                .await
                .map(Response::new),
        )
    }

    async fn resume(
        &self,
        request: Request<pb::RobotRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let audit = self.audit(&request, "Resume").await?;
        let id = request.into_inner().robot_id;
        audit.end(
            self.robot_command(id, |e| e.resume())
                .await
                .map(Response::new),
        )
    }

    async fn stop(
        &self,
        request: Request<pb::StopRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        // a stop is never held back by the audit trail (a failure to write it is logged)
        let audit = self.audit(&request, "Stop").await.unwrap_or_default();
        audit.end(self.stop_rpc(request.into_inner()).await.map(Response::new))
    }

    async fn set_speed_override(
        &self,
        request: Request<pb::SpeedOverrideRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let audit = self.audit(&request, "SetSpeedOverride").await?;
        let req = request.into_inner();
        let value = req.speed_override;
        audit.end(
            self.robot_command(req.robot_id, move |e| e.set_override(value))
                .await
                .map(Response::new),
        )
    }

    async fn jog(
        &self,
        request: Request<pb::JogRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let audit = self.audit_jog(&request).await?;
        audit.end(self.jog_rpc(request.into_inner()).await.map(Response::new))
    }

    async fn reset(
        &self,
        request: Request<pb::RobotRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let audit = self.audit(&request, "Reset").await?;
        let id = request.into_inner().robot_id;
        audit.end(
            self.robot_command(id, |e| e.reset())
                .await
                .map(Response::new),
        )
    }

    async fn stream_state(
        &self,
        request: Request<pb::StreamStateRequest>,
    ) -> Result<Response<Self::StreamStateStream>, Status> {
        Ok(Response::new(self.stream_state_rpc(request.into_inner())?))
    }

    async fn get_loop_health(
        &self,
        request: Request<pb::LoopHealthRequest>,
    ) -> Result<Response<pb::LoopHealthResponse>, Status> {
        Ok(Response::new(self.loop_health_rpc(request.into_inner())?))
    }

    async fn plan_sequence(
        &self,
        request: Request<pb::PlanSequenceRequest>,
    ) -> Result<Response<pb::PlanResponse>, Status> {
        let end = deadline(&request)?.and_then(|d| std::time::Instant::now().checked_add(d));
        let req = request.into_inner();
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let answer = self
            .blocking(move || {
                let left = end.map(|e| e.saturating_duration_since(std::time::Instant::now()));
                crate::sequence::plan_sequence_request(&cell, &control, &req, left)
            })
            .await?;
        Ok(Response::new(answer))
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    fn with_timeout(value: &str) -> Request<()> {
        let mut r = Request::new(());
        r.metadata_mut().insert(
            "grpc-timeout",
            value.parse().expect("an ASCII header value"),
        );
        r
    }

    #[test]
    fn every_unit_of_the_spec_is_read() {
        let cases = [
            ("1H", Duration::from_secs(3600)),
            ("2M", Duration::from_secs(120)),
            ("3S", Duration::from_secs(3)),
            ("250m", Duration::from_millis(250)),
            ("7u", Duration::from_micros(7)),
            ("9n", Duration::from_nanos(9)),
            ("0S", Duration::ZERO),
            ("00000001m", Duration::from_millis(1)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_grpc_timeout(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn the_largest_values_of_eight_digits_do_not_overflow() {
        // the input that overflowed `n * 3600` before: 18446744073709551615H (u64::MAX hours)
        // is no longer read at all, and 8 digits of hours fit a Duration exactly
        assert_eq!(
            parse_grpc_timeout("99999999H"),
            Ok(Duration::from_secs(99_999_999 * 3600))
        );
        assert_eq!(
            parse_grpc_timeout("99999999M"),
            Ok(Duration::from_secs(99_999_999 * 60))
        );
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Ok(Duration::from_nanos(99_999_999))
        );
        assert_eq!(
            parse_grpc_timeout("18446744073709551615H"),
            Err(TimeoutError::TooLong)
        );
        assert_eq!(
            parse_grpc_timeout("5124095576030431H"),
            Err(TimeoutError::TooLong),
            "u64::MAX / 3600 + 1 hours: overflowed the multiplication before"
        );
        assert_eq!(parse_grpc_timeout("100000000S"), Err(TimeoutError::TooLong));
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        let cases = [
            ("", TimeoutError::Empty),
            ("S", TimeoutError::Empty),
            ("H", TimeoutError::Empty),
            ("5", TimeoutError::Empty),
            ("5s", TimeoutError::Unit),
            ("5h", TimeoutError::Unit),
            ("5ms", TimeoutError::NotDigits),
            ("+5S", TimeoutError::NotDigits),
            ("-5S", TimeoutError::NotDigits),
            (" 5S", TimeoutError::NotDigits),
            ("5 S", TimeoutError::NotDigits),
            ("1.5S", TimeoutError::NotDigits),
            ("0x10S", TimeoutError::NotDigits),
            ("5é", TimeoutError::NotDigits),
            ("é5S", TimeoutError::NotDigits),
        ];
        for (text, want) in cases {
            assert_eq!(parse_grpc_timeout(text), Err(want), "{text:?}");
        }
    }

    #[test]
    fn a_request_without_the_header_has_no_deadline() {
        assert_eq!(deadline(&Request::new(())).ok(), Some(None));
    }

    #[test]
    fn a_malformed_header_is_invalid_argument_naming_it() {
        for text in ["5s", "999999999H", "18446744073709551615H", "-1S", "S"] {
            let e = deadline(&with_timeout(text)).expect_err(text);
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{text}");
            assert!(e.message().starts_with("grpc-timeout"), "{e:?}");
        }
        assert_eq!(
            deadline(&with_timeout("99999999H")).ok(),
            Some(Some(Duration::from_secs(99_999_999 * 3600)))
        );
    }

    #[test]
    fn a_header_value_that_is_not_ascii_is_invalid_argument() {
        let mut r = Request::new(());
        r.metadata_mut().insert(
            "grpc-timeout",
            tonic::metadata::MetadataValue::try_from(&b"5\xffS"[..]).expect("opaque bytes"),
        );
        let e = deadline(&r).expect_err("not ASCII");
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
    }
}
