//! The state an executor publishes every cycle, and the wait-free single-writer cell it is
//! published through (a sequence lock on atomics: the control loop never waits for a reader,
//! readers retry in the rare case they overlap a write).

use crate::driver::{JointVector, MAX_DOF};
use std::sync::atomic::{AtomicU64, Ordering, fence};

/// What the executor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// At rest, ready for a trajectory or a jog.
    Idle,
    /// Executing a trajectory.
    Moving,
    /// Executing, held at rest on the path by a speed override of 0 (moves on when the
    /// override is raised).
    Held,
    /// Slowing down along the path to pause.
    Pausing,
    /// Paused on the path, at rest; resume continues.
    Paused,
    /// Slowing down along the path to end the execution.
    Stopping,
    /// Following jog commands.
    Jogging,
    /// The driver failed: nothing is commanded until a reset.
    Fault,
}

impl Status {
    fn code(self) -> u64 {
        match self {
            Status::Idle => 0,
            Status::Moving => 1,
            Status::Pausing => 2,
            Status::Paused => 3,
            Status::Stopping => 4,
            Status::Jogging => 5,
            Status::Fault => 6,
            Status::Held => 7,
        }
    }

    fn from_code(c: u64) -> Self {
        match c {
            1 => Status::Moving,
            2 => Status::Pausing,
            3 => Status::Paused,
            4 => Status::Stopping,
            5 => Status::Jogging,
            6 => Status::Fault,
            7 => Status::Held,
            _ => Status::Idle,
        }
    }

    /// Lower-case name ("idle", "moving", ...).
    pub fn name(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Moving => "moving",
            Status::Pausing => "pausing",
            Status::Paused => "paused",
            Status::Stopping => "stopping",
            Status::Jogging => "jogging",
            Status::Fault => "fault",
            Status::Held => "held",
        }
    }
}

/// How the last execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still running, or nothing executed yet.
    Running,
    /// Reached the end of the trajectory.
    Completed,
    /// Ended by a stop, at rest on the path.
    Stopped,
    /// Ended by a driver fault.
    Faulted,
}

impl Outcome {
    fn code(self) -> u64 {
        match self {
            Outcome::Running => 0,
            Outcome::Completed => 1,
            Outcome::Stopped => 2,
            Outcome::Faulted => 3,
        }
    }

    fn from_code(c: u64) -> Self {
        match c {
            1 => Outcome::Completed,
            2 => Outcome::Stopped,
            3 => Outcome::Faulted,
            _ => Outcome::Running,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Completed => "completed",
            Outcome::Stopped => "stopped",
            Outcome::Faulted => "faulted",
        }
    }
}

/// What the loop answered to the last command it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Accepted.
    Accepted,
    /// Refused: the robot is not idle.
    Busy,
    /// Refused: the trajectory does not start where the robot is.
    StartMismatch,
    /// Refused: no execution to act on.
    NotExecuting,
    /// Refused: the executor is faulted.
    Faulted,
}

impl Ack {
    fn code(self) -> u64 {
        match self {
            Ack::Accepted => 0,
            Ack::Busy => 1,
            Ack::StartMismatch => 2,
            Ack::NotExecuting => 3,
            Ack::Faulted => 4,
        }
    }

    fn from_code(c: u64) -> Self {
        match c {
            1 => Ack::Busy,
            2 => Ack::StartMismatch,
            3 => Ack::NotExecuting,
            4 => Ack::Faulted,
            _ => Ack::Accepted,
        }
    }
}

/// One cycle's published state of a robot. Joint values in the robot's joint order (rad or
/// m, per s, per s²).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobotState {
    /// Control cycles run since the executor started.
    pub cycle: u64,
    /// Time of the cycle since the executor started, s (cycle × period: no drift).
    pub time: f64,
    /// Commanded positions.
    pub q: JointVector,
    /// Commanded velocities.
    pub qd: JointVector,
    /// Commanded accelerations.
    pub qdd: JointVector,
    /// Measured positions (from the driver).
    pub measured_q: JointVector,
    /// What the executor is doing.
    pub status: Status,
    /// The current (or last) execution, 0 before the first.
    pub execution_id: u64,
    /// How the execution `execution_id` ended (`Running` while it runs).
    pub outcome: Outcome,
    /// Trajectory time reached, s.
    pub trajectory_time: f64,
    /// Trajectory duration, s.
    pub trajectory_duration: f64,
    /// Speed override asked for, 0..1.
    pub speed_override: f64,
    /// Speed scale applied this cycle (path time per wall time), 0..1.
    pub speed_scale: f64,
    /// The last command the loop took, and its answer.
    pub acked_command: u64,
    /// Answer to `acked_command`.
    pub ack: Ack,
    /// A jog command was refused or cut short this jog (collision ahead or a joint limit).
    pub jog_blocked: bool,
    /// The execution `execution_id` braked at a gate: another robot had not left the space
    /// ahead of it in time (see [`crate::executor::Gate`]).
    pub gate_stop: bool,
}

impl RobotState {
    /// Fraction of the trajectory done, 0..1 (1 when idle after a completed execution).
    pub fn progress(&self) -> f64 {
        if self.trajectory_duration > 0.0 {
            (self.trajectory_time / self.trajectory_duration).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// An idle state at rest at `q`.
    pub fn at_rest(q: &[f64]) -> Self {
        Self {
            cycle: 0,
            time: 0.0,
            q: JointVector::from_slice(q),
            qd: JointVector::zeros(q.len()),
            qdd: JointVector::zeros(q.len()),
            measured_q: JointVector::from_slice(q),
            status: Status::Idle,
            execution_id: 0,
            outcome: Outcome::Running,
            trajectory_time: 0.0,
            trajectory_duration: 0.0,
            speed_override: 1.0,
            speed_scale: 0.0,
            acked_command: 0,
            ack: Ack::Accepted,
            jog_blocked: false,
            gate_stop: false,
        }
    }
}

const HEADER: usize = 14;
const WORDS: usize = HEADER + 4 * MAX_DOF;

fn encode(s: &RobotState, w: &mut [u64; WORDS]) {
    w[0] = s.cycle;
    w[1] = s.time.to_bits();
    w[2] = s.q.dof() as u64;
    w[3] = s.status.code();
    w[4] = s.execution_id;
    w[5] = s.outcome.code();
    w[6] = s.trajectory_time.to_bits();
    w[7] = s.trajectory_duration.to_bits();
    w[8] = s.speed_override.to_bits();
    w[9] = s.speed_scale.to_bits();
    w[10] = s.acked_command;
    w[11] = s.ack.code();
    w[12] = u64::from(s.jog_blocked);
    w[13] = u64::from(s.gate_stop);
    for (block, v) in [s.q, s.qd, s.qdd, s.measured_q].iter().enumerate() {
        for (i, x) in v.as_slice().iter().enumerate() {
            w[HEADER + block * MAX_DOF + i] = x.to_bits();
        }
    }
}

fn decode(w: &[u64; WORDS]) -> RobotState {
    let dof = (w[2] as usize).min(MAX_DOF);
    let vector = |block: usize| {
        let mut v = JointVector::zeros(dof);
        for (i, x) in v.as_mut_slice().iter_mut().enumerate() {
            *x = f64::from_bits(w[HEADER + block * MAX_DOF + i]);
        }
        v
    };
    RobotState {
        cycle: w[0],
        time: f64::from_bits(w[1]),
        q: vector(0),
        qd: vector(1),
        qdd: vector(2),
        measured_q: vector(3),
        status: Status::from_code(w[3]),
        execution_id: w[4],
        outcome: Outcome::from_code(w[5]),
        trajectory_time: f64::from_bits(w[6]),
        trajectory_duration: f64::from_bits(w[7]),
        speed_override: f64::from_bits(w[8]),
        speed_scale: f64::from_bits(w[9]),
        acked_command: w[10],
        ack: Ack::from_code(w[11]),
        jog_blocked: w[12] != 0,
        gate_stop: w[13] != 0,
    }
}

/// A single-writer, many-reader cell holding the latest [`RobotState`].
///
/// Writing is wait-free (a few dozen atomic stores, no allocation); reading copies the state
/// and retries if a write overlapped.
#[derive(Debug)]
pub struct StateCell {
    sequence: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl StateCell {
    /// A cell holding `initial`.
    pub fn new(initial: &RobotState) -> Self {
        let cell = Self {
            sequence: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        };
        cell.write(initial);
        cell
    }

    /// Publishes `state`. Only one thread may write (the executor's loop).
    pub fn write(&self, state: &RobotState) {
        let mut w = [0u64; WORDS];
        encode(state, &mut w);
        let seq = self.sequence.load(Ordering::Relaxed);
        self.sequence.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (slot, v) in self.words.iter().zip(w) {
            slot.store(v, Ordering::Relaxed);
        }
        self.sequence.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The latest published state.
    pub fn read(&self) -> RobotState {
        let mut w = [0u64; WORDS];
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            for (v, slot) in w.iter_mut().zip(&self.words) {
                *v = slot.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                return decode(&w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn round_trips_every_field() {
        let mut s = RobotState::at_rest(&[0.1, -0.2, 0.3]);
        s.cycle = 42;
        s.status = Status::Pausing;
        s.outcome = Outcome::Stopped;
        s.ack = Ack::StartMismatch;
        s.qd.as_mut_slice()[2] = -1.5;
        s.jog_blocked = true;
        let cell = StateCell::new(&s);
        assert_eq!(cell.read(), s);
    }

    #[test]
    fn readers_never_see_a_torn_state() {
        // the writer keeps every value of a state equal to its cycle: a torn read would mix
        let cell = Arc::new(StateCell::new(&RobotState::at_rest(&[0.0; 6])));
        let writer = {
            let cell = cell.clone();
            std::thread::spawn(move || {
                for k in 1..200_000u64 {
                    let mut s = RobotState::at_rest(&[k as f64; 6]);
                    s.cycle = k;
                    s.trajectory_time = k as f64;
                    cell.write(&s);
                }
            })
        };
        let mut last = 0;
        for _ in 0..200_000 {
            let s = cell.read();
            assert!(s.q.as_slice().iter().all(|&x| x == s.cycle as f64));
            assert_eq!(s.trajectory_time, s.cycle as f64);
            assert!(s.cycle >= last, "cycles went back");
            last = s.cycle;
        }
        writer.join().expect("writer");
    }
}
