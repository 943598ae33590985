//! The execution side of the service: Execute, Pause, Resume, Stop, SetSpeedOverride, Jog,
//! Reset, StreamState and GetLoopHealth over the cell's executors ([`cella_control`]).

use crate::convert::{self, invalid};
use crate::service::CellServer;
use cella_control::{
    CellControl, ControlError, ExecuteOptions, JogCommand, JogTarget, JointVector, LoopStats,
    Outcome, RobotState, Status as RobotStatus, StopCause, StopEvent, StopKind,
};
use cella_proto::v1 as pb;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_stream::Stream;
use tonic::Status;

/// The server-streaming response of StreamState.
pub type StateStream = Pin<Box<dyn Stream<Item = Result<pb::RobotState, Status>> + Send>>;
/// The server-streaming response of StreamEvents.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::StopEvent, Status>> + Send>>;

/// How long an Execute answer is kept for retries with the same `request_id`.
const RETRY_WINDOW: Duration = Duration::from_secs(600);
/// Most Execute answers kept for retries (the oldest are forgotten first).
const RETRY_KEPT: usize = 4096;
/// Longest `request_id`, bytes.
const MAX_REQUEST_ID: usize = 128;
/// Longest lease an execution may ask for, s.
const MAX_LEASE: f64 = 3600.0;
/// How often the stop log is read for StreamEvents subscribers.
const EVENT_POLL: Duration = Duration::from_millis(10);

/// An Execute answer and when it was given.
type Answer = (Instant, Result<pb::ExecuteResponse, Status>);

/// Execute answers by `request_id`, so that a retried request never starts a second motion.
#[derive(Debug, Default)]
pub struct RecentExecutions {
    answers: Mutex<HashMap<String, Answer>>,
}

impl RecentExecutions {
    /// Runs `start` unless `key` was answered within the retry window (then that answer).
    /// Requests with one key are decided one at a time.
    fn once(
        &self,
        key: &str,
        start: impl FnOnce() -> Result<pb::ExecuteResponse, Status>,
    ) -> Result<pb::ExecuteResponse, Status> {
        if key.is_empty() {
            return start();
        }
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        answers.retain(|_, (at, _)| now.duration_since(*at) < RETRY_WINDOW);
        if let Some((_, answer)) = answers.get(key) {
            return answer.clone();
        }
        let answer = start();
        // a refusal for an expired deadline is not an answer to keep: a retry may start
        let keep = !matches!(&answer, Err(s) if s.code() == tonic::Code::DeadlineExceeded);
        if keep {
            if answers.len() >= RETRY_KEPT
                && let Some(oldest) = answers
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone())
            {
                answers.remove(&oldest);
            }
            answers.insert(key.to_owned(), (now, answer.clone()));
        }
        answer
    }
}

/// The message of a stop.
pub fn stop_event_msg(e: &StopEvent) -> pb::StopEvent {
    pb::StopEvent {
        seq: e.seq,
        robot_id: e.robot.clone(),
        execution_id: e.execution_id,
        cause: match e.cause {
            StopCause::Client => pb::StopCause::Client,
            StopCause::WorldEdit => pb::StopCause::WorldEdit,
            StopCause::LeaseExpired => pb::StopCause::LeaseExpired,
            StopCause::ReservationLate => pb::StopCause::ReservationLate,
        } as i32,
        reason: e.reason.clone(),
    }
}

/// Longest deadman a jog may ask for, s.
const MAX_DEADMAN: f64 = 1.0;
/// Highest state streaming rate, Hz.
const MAX_RATE_HZ: f64 = 1000.0;
/// Lowest state streaming rate, Hz (a state every 1000 s): the period of a slower one would
/// not be a duration (found by fuzzing: 8.3e-149 Hz panicked the subscriber's task).
const MIN_RATE_HZ: f64 = 0.001;
/// States buffered per subscriber; a subscriber that does not read loses the oldest ticks
/// (the stream skips), never the executor's time.
const STREAM_BUFFER: usize = 16;

/// Converts the trajectory message of an Execute request.
pub(crate) fn samples(
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
        RobotStatus::Held => pb::RobotStatus::Held,
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

/// The state message of robot `id` (its TCP pose computed here, off the control loop), with
/// the reason of its last execution's stop from `control`'s stop log.
pub fn state_msg(
    cell: &cella_cell::CellSnapshot,
    control: &CellControl,
    id: &str,
    s: &RobotState,
) -> pb::RobotState {
    let stop_reason = if s.outcome == Outcome::Stopped {
        control
            .events()
            .of_execution(id, s.execution_id)
            .map(|e| e.reason)
            .unwrap_or_default()
    } else {
        String::new()
    };
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
        stop_reason,
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
    /// Execute: checks and starts a trajectory, at most once per `request_id`, never after
    /// the client's `deadline`.
    pub(crate) async fn execute_rpc(
        &self,
        req: pb::ExecuteRequest,
        deadline: Option<Instant>,
    ) -> Result<pb::ExecuteResponse, Status> {
        if req.request_id.len() > MAX_REQUEST_ID {
            return Err(invalid(
                "request_id",
                format!("longer than {MAX_REQUEST_ID} bytes"),
            ));
        }
        let lease = if req.lease == 0.0 {
            None
        } else if req.lease.is_finite() && req.lease >= 0.01 && req.lease <= MAX_LEASE {
            Some(Duration::from_secs_f64(req.lease))
        } else {
            return Err(invalid(
                "lease",
                format!(
                    "{} s is not in [0.01, {MAX_LEASE}] (or 0: no lease)",
                    req.lease
                ),
            ));
        };
        let cell = self.snapshot();
        let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
        let names: Vec<String> = r
            .geometry
            .robot()
            .chain()
            .joint_names()
            .map(str::to_owned)
            .collect();
        if let Some(t) = &req.trajectory
            && !t.joint_names.is_empty()
            && t.joint_names != names
        {
            return Err(invalid(
                "trajectory.joint_names",
                format!(
                    "{:?} are not the joints of robot '{}' ({names:?}, in this order)",
                    t.joint_names, req.robot_id
                ),
            ));
        }
        let dof = names.len();
        let control = self.control.clone();
        let recent = self.executions.clone();
        self.blocking(move || {
            recent.once(&req.request_id, || {
                let s = samples(req.trajectory.as_ref(), dof)?;
                let duration = s.times.last().copied().unwrap_or(0.0);
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Status::deadline_exceeded(
                        "the client's deadline passed before the motion could start: not started",
                    ));
                }
                let options = ExecuteOptions {
                    planned_version: (req.world_version != 0).then_some(req.world_version),
                    lease,
                };
                let admitted = control
                    .admit_execution(&req.robot_id, s, options)
                    .map_err(convert::control_status)?;
                let execution_id = admitted.execution_id;
                tracing::info!(
                    robot = %req.robot_id,
                    execution_id,
                    duration,
                    gates = admitted.assumptions.len(),
                    "executing"
                );
                Ok(pb::ExecuteResponse {
                    execution_id,
                    duration,
                    assumptions: admitted
                        .assumptions
                        .into_iter()
                        .map(convert::assumption_msg)
                        .collect(),
                })
            })
        })
        .await
    }

    /// StreamEvents: the stop log from `after_seq` (0: from now on), polled every
    /// [`EVENT_POLL`].
    /// A subscriber past [`crate::Limits::max_subscribers`] is refused.
    pub(crate) fn stream_events_rpc(&self, after_seq: u64) -> Result<EventStream, Status> {
        let slot = self.limiter.subscriber("StreamEvents")?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let control = self.control.clone();
        let mut seq = if after_seq == 0 {
            control.events().last_seq()
        } else {
            after_seq
        };
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVENT_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                for e in control.events().since(seq) {
                    seq = e.seq;
                    if tx.send(Ok(stop_event_msg(&e))).await.is_err() {
                        return;
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(Box::pin(crate::limits::Held::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            slot,
        )))
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
        let given: String = req.reason.chars().take(256).collect();
        if req.robot_id.is_empty() {
            let control = self.control.clone();
            tracing::warn!(?kind, reason = %given, "stop: every robot");
            tokio::task::spawn_blocking(move || {
                control
                    .stop_all(kind, &given)
                    .map_err(convert::control_status)
            })
            .await
            .map_err(|e| Status::internal(format!("worker failed: {e}")))??;
            return Ok(pb::CommandResponse {});
        }
        tracing::warn!(robot = %req.robot_id, ?kind, "stop");
        let reason = if given.is_empty() {
            "stopped by a client".to_owned()
        } else {
            format!("stopped by a client: {given}")
        };
        let control = self.control.clone();
        tokio::task::spawn_blocking(move || {
            control
                .stop(&req.robot_id, kind, &reason)
                .map_err(convert::control_status)
        })
        .await
        .map_err(|e| Status::internal(format!("worker failed: {e}")))??;
        Ok(pb::CommandResponse {})
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
    /// The task ends as soon as the subscriber is gone, whatever the rate; a subscriber past
    /// [`crate::Limits::max_subscribers`] is refused.
    pub(crate) fn stream_state_rpc(
        &self,
        req: pb::StreamStateRequest,
    ) -> Result<StateStream, Status> {
        let rate = if req.rate_hz == 0.0 {
            50.0
        } else {
            req.rate_hz
        };
        if !(rate.is_finite() && (MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate)) {
            return Err(invalid(
                "rate_hz",
                format!("{rate} Hz is not in [{MIN_RATE_HZ}, {MAX_RATE_HZ}] (or 0: 50 Hz)"),
            ));
        }
        let ids = robot_ids(&self.control, &req.robot_ids)?;
        let slot = self.limiter.subscriber("StreamState")?;
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        let control = self.control.clone();
        let server = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = tx.closed() => return,
                }
                let cell = server.snapshot();
                for id in &ids {
                    let Ok(ex) = control.executor(id) else {
                        continue;
                    };
                    let msg = state_msg(&cell, &control, id, &ex.state());
                    match tx.try_send(Ok(msg)) {
                        Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {}
                        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
            }
        });
        Ok(Box::pin(crate::limits::Held::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            slot,
        )))
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

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    fn server() -> CellServer {
        let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
            .unwrap()
            .build(None)
            .unwrap();
        let control = cella_control::ControlOptions {
            realtime: false,
            ..cella_control::ControlOptions::default()
        };
        CellServer::new(cell, 1, control).unwrap()
    }

    #[tokio::test]
    async fn a_state_stream_too_slow_for_a_period_is_invalid_not_a_panic() {
        let s = server();
        // the fuzzer's input: rate_hz of bits 0x2131111111111111 (8.3e-149 Hz), whose period
        // `Duration::from_secs_f64(1 / rate)` panicked in the subscriber's task
        let found = f64::from_bits(0x2131_1111_1111_1111);
        for rate in [found, 5e-324, f64::MIN_POSITIVE, 1e-20, 0.000_999] {
            let request = pb::StreamStateRequest {
                robot_ids: Vec::new(),
                rate_hz: rate,
            };
            let e = s.stream_state_rpc(request).err().expect("refused");
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{rate}");
            assert!(e.message().starts_with("rate_hz"), "{e:?}");
        }
        for rate in [0.0, MIN_RATE_HZ, 50.0, MAX_RATE_HZ] {
            let request = pb::StreamStateRequest {
                robot_ids: Vec::new(),
                rate_hz: rate,
            };
            assert!(s.stream_state_rpc(request).is_ok(), "{rate}");
        }
    }
}
