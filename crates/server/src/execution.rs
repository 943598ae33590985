//! The execution side of the service: Execute, Pause, Resume, Stop, SetSpeedOverride, Jog,
//! Reset, StreamState and GetLoopHealth over the cell's executors ([`cella_control`]).

use crate::convert::{self, invalid};
use crate::service::CellServer;
use cella_control::{
    CellControl, ControlError, JogCommand, JogTarget, JointVector, LoopStats, Outcome, RobotState,
    Status as RobotStatus, StopKind,
};
use cella_proto::v1 as pb;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::Stream;
use tonic::Status;

/// The server-streaming response of StreamState.
pub type StateStream = Pin<Box<dyn Stream<Item = Result<pb::RobotState, Status>> + Send>>;

/// Longest deadman a jog may ask for, s.
const MAX_DEADMAN: f64 = 1.0;
/// Highest state streaming rate, Hz.
const MAX_RATE_HZ: f64 = 1000.0;
/// States buffered per subscriber; a subscriber that does not read loses the oldest ticks
/// (the stream skips), never the executor's time.
const STREAM_BUFFER: usize = 16;

/// Converts the trajectory message of an Execute request.
fn samples(
    traj: Option<&pb::Trajectory>,
    dof: usize,
) -> Result<cella_trajectory::SampledTrajectory, Status> {
    let traj = traj.ok_or_else(|| invalid("trajectory", "missing"))?;
    if traj.points.len() > convert::MAX_LIST {
        return Err(invalid("trajectory.points", "too many points"));
    }
    let mut out = cella_trajectory::SampledTrajectory {
        dof,
        ..Default::default()
    };
    for (k, p) in traj.points.iter().enumerate() {
        let field = format!("trajectory.points[{k}]");
        for (name, values) in [("q", &p.q), ("qd", &p.qd), ("qdd", &p.qdd)] {
            let v = convert::values(&format!("{field}.{name}"), values)?;
            if v.len() != dof {
                return Err(invalid(
                    &format!("{field}.{name}"),
                    format!("{} values for {dof} joints", v.len()),
                ));
            }
        }
        if !p.t.is_finite() {
            return Err(invalid(&format!("{field}.t"), "not finite"));
        }
        out.times.push(p.t);
        out.q.extend_from_slice(&p.q);
        out.qd.extend_from_slice(&p.qd);
        out.qdd.extend_from_slice(&p.qdd);
    }
    Ok(out)
}

fn status_msg(s: RobotStatus) -> pb::RobotStatus {
    match s {
        RobotStatus::Idle => pb::RobotStatus::Idle,
        RobotStatus::Moving => pb::RobotStatus::Moving,
        RobotStatus::Pausing => pb::RobotStatus::Pausing,
        RobotStatus::Paused => pb::RobotStatus::Paused,
        RobotStatus::Stopping => pb::RobotStatus::Stopping,
        RobotStatus::Jogging => pb::RobotStatus::Jogging,
        RobotStatus::Fault => pb::RobotStatus::Fault,
    }
}

fn outcome_msg(o: Outcome) -> pb::ExecutionOutcome {
    match o {
        Outcome::Running => pb::ExecutionOutcome::Running,
        Outcome::Completed => pb::ExecutionOutcome::Completed,
        Outcome::Stopped => pb::ExecutionOutcome::Stopped,
        Outcome::Faulted => pb::ExecutionOutcome::Faulted,
    }
}

/// The state message of robot `id` (its TCP pose computed here, off the control loop).
pub fn state_msg(cell: &cella_cell::CellSnapshot, id: &str, s: &RobotState) -> pb::RobotState {
    let tcp_pose = cell.robot(id).ok().and_then(|r| {
        r.geometry
            .robot()
            .fk(s.q.as_slice())
            .ok()
            .map(|p| convert::pose_msg(&(r.base * p)))
    });
    pb::RobotState {
        robot_id: id.to_owned(),
        cycle: s.cycle,
        time: s.time,
        positions: s.q.as_slice().to_vec(),
        velocities: s.qd.as_slice().to_vec(),
        tcp_pose,
        status: status_msg(s.status) as i32,
        execution_id: s.execution_id,
        outcome: outcome_msg(s.outcome) as i32,
        progress: s.progress(),
        trajectory_time: s.trajectory_time,
        trajectory_duration: s.trajectory_duration,
        speed_override: s.speed_override,
        jog_blocked: s.jog_blocked,
        measured_positions: s.measured_q.as_slice().to_vec(),
    }
}

fn health_msg(id: &str, s: &LoopStats) -> pb::LoopHealth {
    pb::LoopHealth {
        robot_id: id.to_owned(),
        period_us: s.period_us,
        cycles: s.cycles,
        jitter_p50_us: s.jitter_p50_us,
        jitter_p99_us: s.jitter_p99_us,
        jitter_max_us: s.jitter_max_us,
        work_p50_us: s.work_p50_us,
        work_p99_us: s.work_p99_us,
        work_max_us: s.work_max_us,
        overruns: s.overruns,
        realtime: s.realtime,
    }
}

fn robot_ids(control: &CellControl, requested: &[String]) -> Result<Vec<String>, Status> {
    if requested.is_empty() {
        return Ok(control.robot_ids().map(str::to_owned).collect());
    }
    for id in requested {
        control.executor(id).map_err(convert::control_status)?;
    }
    Ok(requested.to_vec())
}

impl CellServer {
    /// Execute: checks and starts a trajectory.
    pub(crate) async fn execute_rpc(
        &self,
        req: pb::ExecuteRequest,
    ) -> Result<pb::ExecuteResponse, Status> {
        let cell = self.live_snapshot();
        let control = self.control.clone();
        self.blocking(move || {
            let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
            let dof = r.geometry.robot().chain().dof();
            let s = samples(req.trajectory.as_ref(), dof)?;
            let duration = s.times.last().copied().unwrap_or(0.0);
            let planned = (req.world_version != 0).then_some(req.world_version);
            let execution_id = control
                .execute(&cell, &req.robot_id, s, planned)
                .map_err(convert::control_status)?;
            tracing::info!(robot = %req.robot_id, execution_id, duration, "executing");
            Ok(pb::ExecuteResponse {
                execution_id,
                duration,
            })
        })
        .await
    }

    /// Pause, Resume, Reset, SetSpeedOverride, Stop of one robot (blocking until the loop
    /// takes the command: a few periods at most).
    pub(crate) async fn robot_command(
        &self,
        robot_id: String,
        command: impl FnOnce(&cella_control::Executor) -> Result<(), ControlError> + Send + 'static,
    ) -> Result<pb::CommandResponse, Status> {
        let control = self.control.clone();
        tokio::task::spawn_blocking(move || {
            control
                .with_executor(&robot_id, command)
                .map_err(convert::control_status)
        })
        .await
        .map_err(|e| Status::internal(format!("worker failed: {e}")))??;
        Ok(pb::CommandResponse {})
    }

    /// Stop: one robot, or every robot when the id is empty.
    pub(crate) async fn stop_rpc(
        &self,
        req: pb::StopRequest,
    ) -> Result<pb::CommandResponse, Status> {
        let kind = if req.immediate {
            StopKind::Immediate
        } else {
            StopKind::Smooth
        };
        if req.robot_id.is_empty() {
            let control = self.control.clone();
            tokio::task::spawn_blocking(move || {
                control.stop_all(kind).map_err(convert::control_status)
            })
            .await
            .map_err(|e| Status::internal(format!("worker failed: {e}")))??;
            tracing::warn!(?kind, "stop: every robot");
            return Ok(pb::CommandResponse {});
        }
        tracing::warn!(robot = %req.robot_id, ?kind, "stop");
        self.robot_command(req.robot_id, move |e| e.stop(kind))
            .await
    }

    /// Jog: a joint or TCP velocity command valid for its deadman time.
    pub(crate) async fn jog_rpc(&self, req: pb::JogRequest) -> Result<pb::CommandResponse, Status> {
        let cell = self.live_snapshot();
        let r = cell
            .robot(&req.robot_id)
            .map_err(convert::cell_status)?
            .clone();
        let dof = r.geometry.robot().chain().dof();
        let deadman = if req.deadman == 0.0 { 0.2 } else { req.deadman };
        if !(deadman.is_finite() && deadman > 0.0 && deadman <= MAX_DEADMAN) {
            return Err(invalid(
                "deadman",
                format!("{deadman} s is not in (0, {MAX_DEADMAN}]"),
            ));
        }
        let target = match (req.joint_velocities.is_empty(), req.twist.is_empty()) {
            (false, true) => {
                let v = convert::values("joint_velocities", &req.joint_velocities)?;
                if v.len() != dof {
                    return Err(invalid(
                        "joint_velocities",
                        format!("{} values for {dof} joints", v.len()),
                    ));
                }
                JogTarget::Joints(JointVector::from_slice(&v))
            }
            (true, false) => {
                let t = convert::values("twist", &req.twist)?;
                if t.len() != 6 {
                    return Err(invalid("twist", "6 values: vx, vy, vz, wx, wy, wz"));
                }
                // world frame to the robot base frame
                let rot = r.base.rotation.inverse();
                let lin = rot * nalgebra::Vector3::new(t[0], t[1], t[2]);
                let ang = rot * nalgebra::Vector3::new(t[3], t[4], t[5]);
                JogTarget::Twist([lin.x, lin.y, lin.z, ang.x, ang.y, ang.z])
            }
            _ => {
                return Err(invalid(
                    "joint_velocities",
                    "give either joint_velocities or twist",
                ));
            }
        };
        let control = self.control.clone();
        self.blocking(move || {
            control
                .jog(
                    &cell,
                    &req.robot_id,
                    JogCommand {
                        target,
                        deadman: Duration::from_secs_f64(deadman),
                    },
                )
                .map_err(convert::control_status)
        })
        .await?;
        Ok(pb::CommandResponse {})
    }

    /// StreamState: a task per subscriber samples the executors' states at the asked rate and
    /// sends them through a small buffer; a full buffer drops ticks for that subscriber only.
    pub(crate) fn stream_state_rpc(
        &self,
        req: pb::StreamStateRequest,
    ) -> Result<StateStream, Status> {
        let rate = if req.rate_hz == 0.0 {
            50.0
        } else {
            req.rate_hz
        };
        if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE_HZ) {
            return Err(invalid(
                "rate_hz",
                format!("{rate} Hz is not in (0, {MAX_RATE_HZ}]"),
            ));
        }
        let ids = robot_ids(&self.control, &req.robot_ids)?;
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        let control = self.control.clone();
        let server = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let cell = server.snapshot();
                for id in &ids {
                    let Ok(ex) = control.executor(id) else {
                        continue;
                    };
                    let msg = state_msg(&cell, id, &ex.state());
                    match tx.try_send(Ok(msg)) {
                        Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {}
                        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    /// GetLoopHealth.
    pub(crate) fn loop_health_rpc(
        &self,
        req: pb::LoopHealthRequest,
    ) -> Result<pb::LoopHealthResponse, Status> {
        let requested: Vec<String> = if req.robot_id.is_empty() {
            Vec::new()
        } else {
            vec![req.robot_id.clone()]
        };
        let ids = robot_ids(&self.control, &requested)?;
        let mut robots = Vec::with_capacity(ids.len());
        for id in ids {
            let ex = self
                .control
                .executor(&id)
                .map_err(convert::control_status)?;
            robots.push(health_msg(&id, &ex.stats()));
            if req.reset {
                ex.reset_stats();
            }
        }
        Ok(pb::LoopHealthResponse { robots })
    }

    /// The cell's executors.
    pub fn control(&self) -> &Arc<CellControl> {
        &self.control
    }
}
