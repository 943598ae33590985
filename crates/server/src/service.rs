//! The `cella.v1.CellService` implementation: requests are validated (`convert`), CPU work runs
//! on the blocking pool behind a semaphore sized to the cores, and every answer is computed
//! against one immutable cell snapshot (its version is returned with it).

use crate::convert::{self, invalid};
use cella_cell::CellSnapshot;
use cella_control::{CellControl, ControlOptions, EditKind};
use cella_kinematics::{IkOptions, IkSolutions};
use cella_planning::{Goal, JointSpace, PlanOptions, plan_joint, plan_ptp};
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
    /// see [`CellControl::edit`]); the new snapshot replaces the old one only when the whole
    /// edit succeeded. The response names the motions it stopped.
    async fn edit(
        &self,
        kind: EditKind,
        f: impl FnOnce(&CellSnapshot) -> Result<Arc<CellSnapshot>, cella_cell::CellError>
        + Send
        + 'static,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let control = self.control.clone();
        let outcome = tokio::task::spawn_blocking(move || control.edit(kind, f))
            .await
            .map_err(|e| Status::internal(format!("worker failed: {e}")))?
            .map_err(convert::control_status)?;
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

/// The client's deadline (`grpc-timeout` header), if any.
pub(crate) fn deadline<T>(request: &Request<T>) -> Option<Duration> {
    let v = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (num, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
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

/// Resolves the goals of a plan request into joint states (see
/// [`cella_planning::resolve_goals`]); statuses name the goal.
fn goal_states(
    cell: &CellSnapshot,
    robot_id: &str,
    goals: &[pb::Goal],
    seed: &[f64],
) -> Result<Vec<Vec<f64>>, Status> {
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
    cella_planning::resolve_goals(r.geometry.robot(), &r.base, &given, seed)
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
    let plan = |checker: &cella_collision::Checker| {
        plan_with(
            cell, req, checker, &space, &limits, &start, &goals, &options,
        )
    };
    let refused = match plan(&checker) {
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
    let Ok(mut answer) = plan(&leaving) else {
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
    goals: &[Vec<f64>],
    options: &PlanOptions,
) -> Result<pb::PlanResponse, Status> {
    let robot = cell
        .robot(&req.robot_id)
        .map_err(convert::cell_status)?
        .geometry
        .robot();
    let motion = match pb::MotionType::try_from(req.motion) {
        Ok(pb::MotionType::Free) => plan_joint(checker, space, limits, start, goals, options, None),
        Ok(pb::MotionType::Lin | pb::MotionType::Circ) => {
            return crate::cartesian::plan_cartesian_request(
                cell, req, start, checker, limits, options,
            );
        }
        Ok(pb::MotionType::Ptp) => {
            // the goal state nearest the start (a TCP goal has one per IK solution)
            let goal = cella_planning::nearest_goal(start, goals)
                .ok_or_else(|| invalid("goals", "no goal given"))?;
            plan_ptp(checker, space, limits, start, goal, options)
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
    ))
}

/// The answer to a plan request: the sampled trajectory with the world version it was planned
/// against.
pub(crate) fn plan_response(
    robot: &cella_kinematics::Robot,
    s: &cella_trajectory::SampledTrajectory,
    world_version: u64,
    planning_time: Duration,
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
        goal_index: 0,
        assumptions: Vec::new(),
    }
}

#[tonic::async_trait]
impl CellService for CellServer {
    type StreamStateStream = crate::execution::StateStream;

    async fn get_cell_info(
        &self,
        _request: Request<pb::GetCellInfoRequest>,
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
        self.edit(EditKind::Objects, move |c| {
            c.with_object_allowing(object, &allowed)
        })
        .await
    }

    async fn move_object(
        &self,
        request: Request<pb::MoveObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let req = request.into_inner();
        let pose = convert::pose("pose", req.pose.as_ref())?;
        self.edit(EditKind::Objects, move |c| {
            c.with_moved_object(&req.name, pose)
        })
        .await
    }

    async fn remove_object(
        &self,
        request: Request<pb::RemoveObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let name = request.into_inner().name;
        self.edit(EditKind::Objects, move |c| c.without_object(&name))
            .await
    }

    async fn attach_object(
        &self,
        request: Request<pb::AttachObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let req = request.into_inner();
        if req.robot_id.is_empty() {
            return Err(invalid(
                "robot_id",
                "name the robot that carries the object",
            ));
        }
        self.edit(EditKind::Attachment, move |c| {
            c.with_attached(&req.name, &req.robot_id, &req.link, req.touch_links)
        })
        .await
    }

    async fn detach_object(
        &self,
        request: Request<pb::DetachObjectRequest>,
    ) -> Result<Response<pb::WorldEditResponse>, Status> {
        let name = request.into_inner().name;
        self.edit(EditKind::Attachment, move |c| c.with_detached(&name))
            .await
    }

    async fn plan(
        &self,
        request: Request<pb::PlanRequest>,
    ) -> Result<Response<pb::PlanResponse>, Status> {
        let deadline = deadline(&request);
        let req = request.into_inner();
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let answer = self
            .blocking(move || plan_once(&cell, &control, &req, deadline, None))
            .await?;
        Ok(Response::new(answer))
    }

    async fn plan_batch(
        &self,
        request: Request<pb::PlanBatchRequest>,
    ) -> Result<Response<pb::PlanBatchResponse>, Status> {
        let deadline = deadline(&request);
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
                    let answer = if budget < 2 {
                        Err(convert::too_large(
                            "requests",
                            format!(
                                "requests[{i}]: the plans before it fill the response; send it \
                                 in another batch"
                            ),
                        ))
                    } else {
                        plan_once(&cell, &control, r, deadline, Some(budget))
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
        let deadline = deadline(&request).map(|d| std::time::Instant::now() + d);
        Ok(Response::new(
            self.execute_rpc(request.into_inner(), deadline).await?,
        ))
    }

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
            self.stream_events_rpc(request.into_inner().after_seq),
        ))
    }

    async fn pause(
        &self,
        request: Request<pb::RobotRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let id = request.into_inner().robot_id;
        Ok(Response::new(self.robot_command(id, |e| e.pause()).await?))
    }

    async fn resume(
        &self,
        request: Request<pb::RobotRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let id = request.into_inner().robot_id;
        Ok(Response::new(self.robot_command(id, |e| e.resume()).await?))
    }

    async fn stop(
        &self,
        request: Request<pb::StopRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        Ok(Response::new(self.stop_rpc(request.into_inner()).await?))
    }

    async fn set_speed_override(
        &self,
        request: Request<pb::SpeedOverrideRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let req = request.into_inner();
        let value = req.speed_override;
        Ok(Response::new(
            self.robot_command(req.robot_id, move |e| e.set_override(value))
                .await?,
        ))
    }

    async fn jog(
        &self,
        request: Request<pb::JogRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        Ok(Response::new(self.jog_rpc(request.into_inner()).await?))
    }

    async fn reset(
        &self,
        request: Request<pb::RobotRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let id = request.into_inner().robot_id;
        Ok(Response::new(self.robot_command(id, |e| e.reset()).await?))
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
        let req = request.into_inner();
        let cell = self.live_snapshot();
        let control = self.control.clone();
        let answer = self
            .blocking(move || crate::sequence::plan_sequence_request(&cell, &control, &req))
            .await?;
        Ok(Response::new(answer))
    }
}
