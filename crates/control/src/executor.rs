//! A per-robot executor: a fixed-rate control loop on its own OS thread.
//!
//! The loop wakes at absolute deadlines (`start + k·period`: no drift; a late cycle does not
//! shift the ones after it, a missed one is counted as an overrun and skipped), reads the
//! driver, takes pending commands from a bounded lock-free channel, computes the joint command
//! and publishes the state through a wait-free [`StateCell`]. Nothing inside the loop
//! allocates, frees or takes a lock: trajectories and checkers it is done with are handed
//! back through a second channel and freed by the caller's thread.

use crate::driver::{Driver, JointCommand, JointVector, MeasuredState};
use crate::error::{ControlError, Result};
use crate::health::{LoopHealth, LoopStats};
use crate::jog::{Jog, JogTarget};
use crate::path::{ExecTrajectory, PathPoint};
use crate::scaling::{PathMotion, Ramp, SpeedScale, advance};
use crate::state::{Ack, Outcome, RobotState, StateCell, Status};
use cella_collision::{CheckScratch, Checker};
use cella_kinematics::Robot;
use cella_trajectory::Limits;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Control loop periods an executor may run at (the cell's list).
pub use cella_cell::CONTROL_PERIODS as PERIODS;

/// Executor settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorConfig {
    /// Loop period (one of [`PERIODS`]).
    pub period: Duration,
    /// The loop sleeps until this long before each deadline, then busy-waits (trades CPU for
    /// wake-up jitter: the OS timer slack is about 50 µs).
    pub spin: Duration,
    /// Largest distance between the robot and a trajectory's first point, per joint (rad or
    /// m), and largest start velocity.
    pub start_tolerance: f64,
    /// Jog speed as a fraction of each joint's velocity limit.
    pub jog_speed_fraction: f64,
    /// Longest time a jog command may ask to stay valid.
    pub max_deadman: Duration,
    /// Ask the OS for real-time scheduling (SCHED_FIFO) of the loop thread; without the
    /// privilege the loop runs at normal priority and [`LoopStats::realtime`] says so. A
    /// program running loops should also keep its heap resident
    /// ([`crate::memory::keep_heap_resident`], as `cella serve` does): memory handed back to
    /// the kernel by other threads delayed the loop by milliseconds.
    pub realtime: bool,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            period: cella_cell::DEFAULT_CONTROL_PERIOD,
            spin: Duration::ZERO,
            start_tolerance: 1e-3,
            jog_speed_fraction: 0.25,
            max_deadman: Duration::from_secs(1),
            realtime: true,
        }
    }
}

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// Category-2 style: decelerate along the path within acceleration and jerk limits.
    Smooth,
    /// Decelerate along the path at the fastest the acceleration limits allow (jerk not
    /// limited).
    Immediate,
}

/// A jog command: a velocity target valid until `deadman` has passed without a fresh one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JogCommand {
    /// The velocity asked for.
    pub target: JogTarget,
    /// How long it stays valid, s.
    pub deadman: Duration,
}

enum Command {
    Execute {
        id: u64,
        execution: u64,
        trajectory: Arc<ExecTrajectory>,
        gates: Gates,
    },
    Pause(u64),
    Resume(u64),
    Stop(u64, StopKind),
    Override(u64, f64),
    Jog(u64, JogCommand, Guard),
    Guard(u64, Guard),
    Reset(u64),
}

/// A jog's collision guard with its scratch memory (made off the loop's thread).
struct Guard {
    checker: Arc<Checker>,
    scratch: Box<CheckScratch>,
}

impl Guard {
    fn new(checker: Arc<Checker>) -> Self {
        let scratch = Box::new(checker.scratch());
        Self { checker, scratch }
    }
}

/// Most gates one execution can wait on.
pub const MAX_GATES: usize = 4;

/// A read-only view of another executor's published state (wait-free to read).
#[derive(Clone)]
pub struct Watch(Arc<Shared>);

impl Watch {
    /// The watched robot's latest state.
    pub fn state(&self) -> RobotState {
        self.0.state.read()
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watch")
    }
}

/// A point of an execution's path it may pass only once another robot has left the space
/// beyond it: unless execution `execution` of the watched robot has reached its trajectory
/// time `clear_at` (or the watched robot has moved on to another execution, admitted against
/// this one's path), this execution brakes (the fastest stop along its path) when its path
/// time reaches `brake_at`, and ends `Stopped` with [`RobotState::gate_stop`] set.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Path time of this execution at which it brakes unless cleared, s.
    pub brake_at: f64,
    /// The robot waited for.
    pub on: Watch,
    /// Its execution that must have left.
    pub execution: u64,
    /// Trajectory time of that execution after which it is out of the way, s.
    pub clear_at: f64,
}

impl Gate {
    /// True once the watched robot is out of the way.
    pub fn cleared(&self) -> bool {
        let s = self.on.state();
        s.execution_id != self.execution || s.trajectory_time >= self.clear_at
    }
}

/// The gates of one execution (a fixed array: the loop never allocates for them).
pub type Gates = [Option<Gate>; MAX_GATES];

enum Garbage {
    Trajectory(#[allow(dead_code)] Arc<ExecTrajectory>),
    Guard(#[allow(dead_code)] Guard),
    Gates(#[allow(dead_code)] Gates),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Run,
    Pausing,
    Paused,
    Stopping(StopKind),
}

struct Execution {
    trajectory: Arc<ExecTrajectory>,
    motion: PathMotion,
    phase: Phase,
    gates: Gates,
}

struct Jogging {
    jog: Jog,
    command: JogCommand,
    expires: Instant,
    guard: Guard,
}

enum Mode {
    Idle,
    Executing(Box<Execution>),
    Jogging(Box<Jogging>),
    Fault,
}

/// The thread side: everything the loop owns.
struct Loop {
    driver: Box<dyn Driver>,
    robot: Arc<Robot>,
    limits: Limits,
    config: ExecutorConfig,
    dt: f64,
    mode: Mode,
    speed_override: f64,
    state: RobotState,
    measured: MeasuredState,
    command: JointCommand,
    here: PathPoint,
    next: PathPoint,
    scratch_q: JointVector,
    stop_from: JointVector,
    target_velocity: JointVector,
    commands: Receiver<Command>,
    trash: SyncSender<Garbage>,
    shared: Arc<Shared>,
}

struct Shared {
    state: StateCell,
    health: LoopHealth,
    shutdown: AtomicBool,
}

/// A running executor; dropping it stops its thread (the robot is left where it is).
pub struct Executor {
    shared: Arc<Shared>,
    commands: SyncSender<Command>,
    trash: Mutex<Receiver<Garbage>>,
    thread: Option<JoinHandle<()>>,
    next_command: AtomicU64,
    next_execution: AtomicU64,
    active: Mutex<Option<(u64, Arc<ExecTrajectory>)>>,
    period: Duration,
    dof: usize,
    start_tolerance: f64,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("period", &self.period)
            .field("dof", &self.dof)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// Starts the loop of robot `name` on its own thread, commanding `driver`. `limits` are
    /// the joint limits the executor keeps while scaling speed, stopping and jogging.
    pub fn spawn(
        name: &str,
        robot: Arc<Robot>,
        limits: Limits,
        mut driver: Box<dyn Driver>,
        config: ExecutorConfig,
    ) -> Result<Self> {
        if !PERIODS.contains(&config.period) {
            return Err(ControlError::invalid(
                "period",
                format!(
                    "{:?} is not one of {}",
                    config.period,
                    cella_cell::control_periods_text()
                ),
            ));
        }
        let dof = robot.chain().dof();
        if driver.dof() != dof || limits.dof() != dof || dof > crate::driver::MAX_DOF {
            return Err(ControlError::invalid(
                "driver",
                format!(
                    "driver has {} joints, limits {}, robot {dof} (at most {})",
                    driver.dof(),
                    limits.dof(),
                    crate::driver::MAX_DOF
                ),
            ));
        }
        if !(config.jog_speed_fraction > 0.0 && config.jog_speed_fraction <= 1.0) {
            return Err(ControlError::invalid(
                "jog_speed_fraction",
                "must be in (0, 1]",
            ));
        }
        let mut measured = MeasuredState {
            q: JointVector::zeros(dof),
            qd: JointVector::zeros(dof),
        };
        driver.read(&mut measured).map_err(ControlError::Driver)?;
        let state = RobotState::at_rest(measured.q.as_slice());
        let shared = Arc::new(Shared {
            state: StateCell::new(&state),
            health: LoopHealth::new(config.period),
            shutdown: AtomicBool::new(false),
        });
        let (command_tx, command_rx) = sync_channel(64);
        let (trash_tx, trash_rx) = sync_channel(64);
        let period = config.period;
        let start_tolerance = config.start_tolerance;
        let mut control = Loop {
            driver,
            robot,
            dt: period.as_secs_f64(),
            limits,
            config,
            mode: Mode::Idle,
            speed_override: 1.0,
            state,
            command: JointCommand {
                q: measured.q,
                qd: JointVector::zeros(dof),
                qdd: JointVector::zeros(dof),
            },
            measured,
            here: PathPoint::zeros(dof),
            next: PathPoint::zeros(dof),
            scratch_q: JointVector::zeros(dof),
            stop_from: JointVector::zeros(dof),
            target_velocity: JointVector::zeros(dof),
            commands: command_rx,
            trash: trash_tx,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("cella-exec-{name}"))
            .spawn(move || control.run())
            .map_err(|e| ControlError::Executor(format!("cannot start the loop thread: {e}")))?;
        Ok(Self {
            shared,
            commands: command_tx,
            trash: Mutex::new(trash_rx),
            thread: Some(thread),
            next_command: AtomicU64::new(1),
            next_execution: AtomicU64::new(1),
            active: Mutex::new(None),
            period,
            dof,
            start_tolerance,
        })
    }

    /// Largest distance per joint between the robot and a trajectory's first point it
    /// accepts (rad or m).
    pub fn start_tolerance(&self) -> f64 {
        self.start_tolerance
    }

    /// Loop period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The latest published state.
    pub fn state(&self) -> RobotState {
        self.shared.state.read()
    }

    /// Loop health.
    pub fn stats(&self) -> LoopStats {
        self.shared.health.stats()
    }

    /// Clears the loop health counters.
    pub fn reset_stats(&self) {
        self.shared.health.reset();
    }

    /// The execution in progress (id, trajectory) with its path time, if any.
    pub fn active(&self) -> Option<(u64, Arc<ExecTrajectory>, f64)> {
        let state = self.state();
        let guard = self.active.lock().ok()?;
        let (id, traj) = guard.as_ref()?;
        let running = matches!(
            state.status,
            Status::Moving | Status::Held | Status::Pausing | Status::Paused | Status::Stopping
        );
        (running && state.execution_id == *id).then(|| (*id, traj.clone(), state.trajectory_time))
    }

    fn free_garbage(&self) {
        if let Ok(rx) = self.trash.lock() {
            while rx.try_recv().is_ok() {}
        }
    }

    /// Sends a command and waits for the loop to take it; returns its answer.
    fn send(&self, make: impl FnOnce(u64) -> Command) -> Result<Ack> {
        self.free_garbage();
        let id = self.next_command.fetch_add(1, Ordering::Relaxed);
        match self.commands.try_send(make(id)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(ControlError::Executor("command queue full".into()));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(ControlError::Executor("loop thread has stopped".into()));
            }
        }
        let deadline = Instant::now() + 20 * self.period + Duration::from_millis(500);
        loop {
            let s = self.state();
            if s.acked_command >= id {
                return Ok(s.ack);
            }
            if Instant::now() > deadline {
                return Err(ControlError::Executor(
                    "the loop did not take the command in time".into(),
                ));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    fn refused(&self, ack: Ack) -> ControlError {
        let s = self.state();
        let reason = match ack {
            Ack::Busy => format!("is {} (execution {})", s.status.name(), s.execution_id),
            Ack::NotExecuting => format!("is {}: nothing to act on", s.status.name()),
            Ack::Faulted => "is faulted: reset it first".into(),
            Ack::StartMismatch => "is not where the trajectory starts".into(),
            Ack::Accepted => "accepted".into(),
        };
        ControlError::NotReady {
            robot: String::new(),
            reason,
        }
    }

    /// Executes `trajectory` (checked by the caller against limits and collisions). Refused
    /// unless the robot is idle and at rest where the trajectory starts. Returns the
    /// execution id.
    pub fn execute(&self, trajectory: Arc<ExecTrajectory>) -> Result<u64> {
        self.execute_gated(trajectory, Default::default())
    }

    /// A view of this executor's published state, for another executor's [`Gate`].
    pub fn watch(&self) -> Watch {
        Watch(self.shared.clone())
    }

    /// Executes `trajectory` like [`Executor::execute`], braking at each of `gates` unless
    /// its robot is out of the way by then.
    pub fn execute_gated(&self, trajectory: Arc<ExecTrajectory>, gates: Gates) -> Result<u64> {
        if trajectory.dof() != self.dof {
            return Err(ControlError::invalid(
                "trajectory",
                format!("{} joints for a {}-joint robot", trajectory.dof(), self.dof),
            ));
        }
        let execution = self.next_execution.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut g) = self.active.lock() {
            *g = Some((execution, trajectory.clone()));
        }
        match self.send(|id| Command::Execute {
            id,
            execution,
            trajectory,
            gates,
        })? {
            Ack::Accepted => Ok(execution),
            Ack::StartMismatch => {
                let s = self.state();
                Err(ControlError::StartMismatch(format!(
                    "the robot is at {:?}",
                    s.q.as_slice()
                )))
            }
            other => Err(self.refused(other)),
        }
    }

    fn expect_accepted(&self, ack: Ack) -> Result<()> {
        match ack {
            Ack::Accepted => Ok(()),
            other => Err(self.refused(other)),
        }
    }

    /// Slows down along the path to rest and holds there.
    pub fn pause(&self) -> Result<()> {
        let ack = self.send(Command::Pause)?;
        self.expect_accepted(ack)
    }

    /// Continues a paused (or pausing) execution along the path.
    pub fn resume(&self) -> Result<()> {
        let ack = self.send(Command::Resume)?;
        self.expect_accepted(ack)
    }

    /// Stops the execution or jog (accepted, and without effect, when idle).
    pub fn stop(&self, kind: StopKind) -> Result<()> {
        let ack = self.send(|id| Command::Stop(id, kind))?;
        self.expect_accepted(ack)
    }

    /// Sets the speed override, 0..1 (path-preserving, applied smoothly while moving, kept
    /// for later executions).
    pub fn set_override(&self, value: f64) -> Result<()> {
        if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
            return Err(ControlError::invalid(
                "speed_override",
                format!("{value} is not in [0, 1]"),
            ));
        }
        let ack = self.send(|id| Command::Override(id, value))?;
        self.expect_accepted(ack)
    }

    /// Jogs (or refreshes the jog) with `checker` guarding collisions.
    pub fn jog(&self, command: JogCommand, checker: Arc<Checker>) -> Result<()> {
        if let JogTarget::Joints(v) = &command.target
            && (v.dof() != self.dof || v.as_slice().iter().any(|x| !x.is_finite()))
        {
            return Err(ControlError::invalid(
                "joint_velocities",
                format!("{} finite values needed", self.dof),
            ));
        }
        if let JogTarget::Twist(t) = &command.target
            && t.iter().any(|x| !x.is_finite())
        {
            return Err(ControlError::invalid("twist", "values must be finite"));
        }
        if checker.dof() != self.dof {
            return Err(ControlError::invalid("checker", "wrong robot"));
        }
        let guard = Guard::new(checker);
        let ack = self.send(|id| Command::Jog(id, command, guard))?;
        self.expect_accepted(ack)
    }

    /// Replaces the collision guard of a jog in progress (the world or another robot's
    /// reservation changed), effective from the cycle that takes it. Returns false, without
    /// effect, when the robot is not jogging.
    pub fn update_guard(&self, checker: Arc<Checker>) -> Result<bool> {
        if checker.dof() != self.dof {
            return Err(ControlError::invalid("checker", "wrong robot"));
        }
        let guard = Guard::new(checker);
        Ok(self.send(|id| Command::Guard(id, guard))? == Ack::Accepted)
    }

    /// Clears a fault (the robot is taken where the driver says it is).
    pub fn reset(&self) -> Result<()> {
        let ack = self.send(Command::Reset)?;
        self.expect_accepted(ack)
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Puts the calling thread on SCHED_FIFO at a high priority; false when not permitted.
fn request_realtime() -> bool {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let Ok(value) = ThreadPriorityValue::try_from(80u8) else {
        return false;
    };
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .is_ok()
}

impl Loop {
    fn run(&mut self) {
        if self.config.realtime {
            self.shared.health.set_realtime(request_realtime());
        }
        let start = Instant::now();
        let period = self.config.period;
        let mut cycle: u64 = 0;
        while !self.shared.shutdown.load(Ordering::Relaxed) {
            cycle += 1;
            let deadline = start + period * u32::try_from(cycle).unwrap_or(u32::MAX);
            let now = Instant::now();
            if deadline > now + self.config.spin {
                std::thread::sleep(deadline - now - self.config.spin);
            }
            let mut woke = Instant::now();
            while woke < deadline {
                std::hint::spin_loop();
                woke = Instant::now();
            }
            self.cycle(cycle);
            let done = Instant::now();
            self.shared
                .health
                .record(woke - deadline, done.saturating_duration_since(woke));
            // a cycle that ends after the next deadline misses it: skip to the next one ahead
            let next = deadline + period;
            if done >= next {
                let missed = ((done - next).as_nanos() / period.as_nanos()) as u64 + 1;
                self.shared.health.record_overruns(missed);
                cycle += missed;
            }
        }
    }

    fn cycle(&mut self, cycle: u64) {
        self.state.cycle = cycle;
        self.state.time = cycle as f64 * self.dt;
        if !matches!(self.mode, Mode::Fault) && self.driver.read(&mut self.measured).is_err() {
            self.fault();
        }
        for _ in 0..16 {
            match self.commands.try_recv() {
                Ok(c) => self.take(c),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        match &mut self.mode {
            Mode::Idle | Mode::Fault => {
                self.command.qd.as_mut_slice().fill(0.0);
                self.command.qdd.as_mut_slice().fill(0.0);
            }
            Mode::Executing(_) => self.step_execution(),
            Mode::Jogging(_) => self.step_jog(),
        }
        if !matches!(self.mode, Mode::Fault) && self.driver.command(&self.command, self.dt).is_err()
        {
            self.fault();
        }
        self.publish();
    }

    fn publish(&mut self) {
        self.state.q = self.command.q;
        self.state.qd = self.command.qd;
        self.state.qdd = self.command.qdd;
        self.state.measured_q = self.measured.q;
        self.state.speed_override = self.speed_override;
        self.state.status = match &self.mode {
            Mode::Idle => Status::Idle,
            Mode::Fault => Status::Fault,
            Mode::Jogging(_) => Status::Jogging,
            Mode::Executing(e) => match e.phase {
                // override 0 holds the motion on its path, at rest, until it is raised
                Phase::Run if self.speed_override == 0.0 && e.motion.scale.s == 0.0 => Status::Held,
                Phase::Run => Status::Moving,
                Phase::Pausing => Status::Pausing,
                Phase::Paused => Status::Paused,
                Phase::Stopping(_) => Status::Stopping,
            },
        };
        if let Mode::Executing(e) = &self.mode {
            self.state.trajectory_time = e.motion.tau;
            self.state.speed_scale = e.motion.scale.s;
        } else {
            self.state.speed_scale = 0.0;
        }
        self.shared.state.write(&self.state);
    }

    fn discard(&self, g: Garbage) {
        // the caller's thread frees it; if its queue is full, it is freed here (rare)
        let _ = self.trash.try_send(g);
    }

    fn fault(&mut self) {
        if let Mode::Executing(_) = self.mode {
            self.state.outcome = Outcome::Faulted;
        }
        self.end_mode(Mode::Fault);
    }

    fn end_mode(&mut self, next: Mode) {
        match std::mem::replace(&mut self.mode, next) {
            Mode::Executing(e) => {
                let Execution {
                    trajectory, gates, ..
                } = *e;
                self.discard(Garbage::Trajectory(trajectory));
                self.discard(Garbage::Gates(gates));
            }
            Mode::Jogging(j) => {
                let Jogging { guard, .. } = *j;
                self.discard(Garbage::Guard(guard));
            }
            Mode::Idle | Mode::Fault => {}
        }
    }

    fn ack(&mut self, id: u64, ack: Ack) {
        self.state.acked_command = id;
        self.state.ack = ack;
    }

    fn at_rest(&self) -> bool {
        self.command.qd.as_slice().iter().all(|v| *v == 0.0)
    }

    fn take(&mut self, command: Command) {
        let faulted = matches!(self.mode, Mode::Fault);
        match command {
            Command::Execute {
                id,
                execution,
                trajectory,
                gates,
            } => {
                let ack = if faulted {
                    Ack::Faulted
                } else if !matches!(self.mode, Mode::Idle) || !self.at_rest() {
                    Ack::Busy
                } else if !self.starts_here(&trajectory) {
                    Ack::StartMismatch
                } else {
                    Ack::Accepted
                };
                self.ack(id, ack);
                if ack != Ack::Accepted {
                    self.discard(Garbage::Trajectory(trajectory));
                    self.discard(Garbage::Gates(gates));
                    return;
                }
                self.state.execution_id = execution;
                self.state.outcome = Outcome::Running;
                self.state.trajectory_duration = trajectory.duration();
                self.state.trajectory_time = 0.0;
                self.state.gate_stop = false;
                self.mode = Mode::Executing(Box::new(Execution {
                    trajectory,
                    motion: PathMotion {
                        tau: 0.0,
                        hint: 0,
                        // full speed from the first cycle: at τ = 0 the path is at rest; a
                        // lower override ramps down smoothly as the motion begins; override 0
                        // holds it at its start
                        scale: SpeedScale {
                            s: if self.speed_override == 0.0 { 0.0 } else { 1.0 },
                            rate: 0.0,
                        },
                    },
                    phase: Phase::Run,
                    gates,
                }));
            }
            Command::Pause(id) => {
                let ack = match &mut self.mode {
                    Mode::Executing(e) if e.phase == Phase::Run => {
                        e.phase = Phase::Pausing;
                        Ack::Accepted
                    }
                    Mode::Executing(e) if matches!(e.phase, Phase::Pausing | Phase::Paused) => {
                        Ack::Accepted
                    }
                    _ => Ack::NotExecuting,
                };
                self.ack(id, ack);
            }
            Command::Resume(id) => {
                let ack = match &mut self.mode {
                    Mode::Executing(e) if matches!(e.phase, Phase::Pausing | Phase::Paused) => {
                        e.phase = Phase::Run;
                        Ack::Accepted
                    }
                    Mode::Executing(e) if e.phase == Phase::Run => Ack::Accepted,
                    _ => Ack::NotExecuting,
                };
                self.ack(id, ack);
            }
            Command::Stop(id, kind) => {
                match &mut self.mode {
                    Mode::Executing(e) => {
                        // an immediate stop overrides a smooth one, never the reverse
                        e.phase = match (e.phase, kind) {
                            (Phase::Stopping(StopKind::Immediate), _) => {
                                Phase::Stopping(StopKind::Immediate)
                            }
                            _ => Phase::Stopping(kind),
                        };
                    }
                    Mode::Jogging(j) => j.expires = Instant::now(),
                    Mode::Idle | Mode::Fault => {}
                }
                self.ack(id, Ack::Accepted);
            }
            Command::Override(id, value) => {
                self.speed_override = value;
                self.ack(id, Ack::Accepted);
            }
            Command::Jog(id, command, guard) => {
                let expires = Instant::now() + command.deadman.min(self.config.max_deadman);
                let at_rest = self.at_rest();
                match &mut self.mode {
                    Mode::Jogging(j) => {
                        j.command = command;
                        j.expires = expires;
                        let old = std::mem::replace(&mut j.guard, guard);
                        self.discard(Garbage::Guard(old));
                        self.ack(id, Ack::Accepted);
                    }
                    Mode::Idle if at_rest => {
                        let dof = self.command.q.dof();
                        self.mode = Mode::Jogging(Box::new(Jogging {
                            jog: Jog::new(dof),
                            command,
                            expires,
                            guard,
                        }));
                        self.state.jog_blocked = false;
                        self.ack(id, Ack::Accepted);
                    }
                    Mode::Fault => {
                        self.discard(Garbage::Guard(guard));
                        self.ack(id, Ack::Faulted);
                    }
                    _ => {
                        self.discard(Garbage::Guard(guard));
                        self.ack(id, Ack::Busy);
                    }
                }
            }
            Command::Guard(id, guard) => {
                if let Mode::Jogging(j) = &mut self.mode {
                    let old = std::mem::replace(&mut j.guard, guard);
                    self.discard(Garbage::Guard(old));
                    self.ack(id, Ack::Accepted);
                } else {
                    self.discard(Garbage::Guard(guard));
                    self.ack(id, Ack::NotExecuting);
                }
            }
            Command::Reset(id) => {
                if faulted && self.driver.read(&mut self.measured).is_ok() {
                    self.command.q = self.measured.q;
                    self.command.qd.as_mut_slice().fill(0.0);
                    self.command.qdd.as_mut_slice().fill(0.0);
                    self.mode = Mode::Idle;
                }
                let ack = if matches!(self.mode, Mode::Fault) {
                    Ack::Faulted
                } else {
                    Ack::Accepted
                };
                self.ack(id, ack);
            }
        }
    }

    fn starts_here(&self, trajectory: &ExecTrajectory) -> bool {
        let tol = self.config.start_tolerance;
        trajectory
            .start()
            .iter()
            .zip(self.command.q.as_slice())
            .all(|(a, b)| (a - b).abs() <= tol)
            && trajectory.start_velocity().iter().all(|v| v.abs() <= tol)
    }

    fn step_execution(&mut self) {
        let Mode::Executing(e) = &mut self.mode else {
            return;
        };
        // a gate not yet cleared when the path reaches its brake point: brake now (also
        // out of a slower stop, which could otherwise run past the gate)
        if e.phase != Phase::Stopping(StopKind::Immediate) {
            for slot in &mut e.gates {
                let Some(gate) = slot else { continue };
                if gate.cleared() {
                    // the robot moved on: this gate is done (an Arc count, nothing freed)
                    *slot = None;
                } else if e.motion.tau >= gate.brake_at {
                    e.phase = Phase::Stopping(StopKind::Immediate);
                    self.state.gate_stop = true;
                }
            }
        }
        let traj = &e.trajectory;
        let duration = traj.duration();
        e.motion.hint = traj.evaluate(e.motion.tau, e.motion.hint, &mut self.here);
        // command this cycle's point
        self.command.q = self.here.q;
        for j in 0..self.command.q.dof() {
            let d1 = self.here.d1.as_slice()[j];
            let d2 = self.here.d2.as_slice()[j];
            self.command.qd.as_mut_slice()[j] = d1 * e.motion.scale.s;
            self.command.qdd.as_mut_slice()[j] =
                d2 * e.motion.scale.s * e.motion.scale.s + d1 * e.motion.scale.rate;
        }
        if e.motion.tau >= duration {
            // the end of the path is at rest
            self.command.qd.as_mut_slice().fill(0.0);
            self.command.qdd.as_mut_slice().fill(0.0);
            self.state.trajectory_time = duration;
            // a stop asked for is a stop, even when the path ended before the robot was at rest
            self.state.outcome = if matches!(e.phase, Phase::Stopping(_)) {
                Outcome::Stopped
            } else {
                Outcome::Completed
            };
            self.end_mode(Mode::Idle);
            return;
        }
        let (target, ramp) = match e.phase {
            Phase::Run => (self.speed_override, Ramp::COMFORT),
            Phase::Pausing | Phase::Paused => (0.0, Ramp::COMFORT),
            Phase::Stopping(StopKind::Smooth) => (0.0, Ramp::STOP),
            Phase::Stopping(StopKind::Immediate) => (0.0, Ramp::Fastest),
        };
        advance(
            traj,
            &self.limits,
            self.dt,
            target,
            ramp,
            &mut e.motion,
            &mut self.here,
            &mut self.next,
        );
        // at rest once the scale is at rest and this cycle already commanded no motion
        let at_rest = e.motion.scale.s == 0.0
            && e.motion.scale.rate == 0.0
            && self.command.qd.as_slice().iter().all(|v| *v == 0.0);
        match e.phase {
            Phase::Pausing if at_rest => e.phase = Phase::Paused,
            Phase::Stopping(_) if at_rest => {
                self.state.outcome = Outcome::Stopped;
                self.end_mode(Mode::Idle);
            }
            _ => {}
        }
    }

    fn step_jog(&mut self) {
        let Mode::Jogging(j) = &mut self.mode else {
            return;
        };
        let dof = self.command.q.dof();
        let q = self.command.q;
        let expired = Instant::now() >= j.expires;
        if expired {
            self.target_velocity.as_mut_slice().fill(0.0);
        } else {
            j.jog.target_velocity(
                &j.command.target,
                self.robot.chain(),
                q.as_slice(),
                &self.limits,
                self.config.jog_speed_fraction,
                &mut self.target_velocity,
            );
        }
        let mut next = j
            .jog
            .next_velocity(&self.target_velocity, &self.limits, self.dt);
        // the state the robot would brake to after this cycle's step must be free; else brake
        // (braking now ends where last cycle's check said it would, which was free)
        for i in 0..dof {
            let step = 0.5 * (j.jog.velocity.as_slice()[i] + next.as_slice()[i]) * self.dt;
            self.stop_from.as_mut_slice()[i] = q.as_slice()[i] + step;
        }
        Jog::stop_state(
            self.stop_from.as_slice(),
            &next,
            &self.limits,
            self.dt,
            self.scratch_q.as_mut_slice(),
        );
        let moving = next.as_slice().iter().any(|v| *v != 0.0);
        if moving && !expired {
            let (checker, scratch) = (&j.guard.checker, &mut *j.guard.scratch);
            let mut free = checker.is_valid(scratch, self.scratch_q.as_slice())
                && checker.motion_valid(scratch, q.as_slice(), self.scratch_q.as_slice());
            if !free && !checker.is_valid(scratch, q.as_slice()) {
                // recovery: a robot in collision (an object put on it, a stop that overran
                // an intrusion) may move where its clearance strictly grows, no contact gets
                // deeper and nothing new is touched
                free = checker.recovers(scratch, q.as_slice(), self.scratch_q.as_slice());
            }
            if !free {
                self.state.jog_blocked = true;
                j.expires = Instant::now();
                self.target_velocity.as_mut_slice().fill(0.0);
                next = j
                    .jog
                    .next_velocity(&self.target_velocity, &self.limits, self.dt);
            }
        }
        for i in 0..dof {
            let v0 = j.jog.velocity.as_slice()[i];
            let v1 = next.as_slice()[i];
            let qi = q.as_slice()[i] + 0.5 * (v0 + v1) * self.dt;
            self.command.q.as_mut_slice()[i] = qi.clamp(self.limits.lower[i], self.limits.upper[i]);
            self.command.qd.as_mut_slice()[i] = v1;
            self.command.qdd.as_mut_slice()[i] = (v1 - v0) / self.dt;
        }
        j.jog.velocity = next;
        if expired && !next.as_slice().iter().any(|v| *v != 0.0) {
            self.end_mode(Mode::Idle);
        }
    }
}
