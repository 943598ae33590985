//! The cell's safety authority: every robot of a cell under control (one executor each), the
//! cell's world, and every admission decided against what each robot has reserved.
//!
//! A robot's **reservation** is every state it may occupy from now on without a new
//! admission, as obstacles for the others ([`CellControl::reservation`]):
//! - at rest or faulted: where it is;
//! - executing (moving, held, pausing, paused, stopping): the rest of its path (every stop,
//!   pause and override change stays on the path);
//! - jogging: where it is and where it would brake to (a jog brakes along a straight line in
//!   joint space); its guard is updated before anyone else's motion is admitted, so it brakes
//!   rather than enter another robot's new reservation.
//!
//! Path samples are kept every [`ControlOptions::sweep_step`] of robot motion and grown by half
//! of it, so the reservation contains the continuous motion. Every admission (Execute, Jog,
//! attach, detach, world edits) takes one lock, reads the live cell and decides against all
//! reservations at once: no two admissions see the same snapshot. A world edit that puts the
//! rest of a motion in collision stops it along its path as fast as its limits allow; every
//! stop is logged with its reason ([`EventLog`]).

use crate::driver::{Driver, SimDriver};
use crate::error::{ControlError, Result};
use crate::events::{EventLog, StopCause, StopEvent};
use crate::executor::{Executor, ExecutorConfig, Gate, Gates, JogCommand, MAX_GATES, StopKind};
use crate::jog::Jog;
use crate::path::ExecTrajectory;
use crate::state::{Outcome, Status};
use crate::timed::{Pace, PairGate, Reserved, Waiting, gate_against, recheck_pair};
use cella_cell::{CellError, CellSnapshot};
use cella_collision::{Checker, RobotGeometry, StaticRobot};
use cella_trajectory::{Limits, SampledTrajectory};
use nalgebra::Isometry3;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

/// Settings of a cell's executors.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlOptions {
    /// Busy-wait before each deadline (see [`ExecutorConfig::spin`]).
    pub spin: Duration,
    /// First-order lag of the simulated controllers, s (0 = ideal tracking).
    pub sim_lag: f64,
    /// Ask for real-time scheduling of the loop threads (see [`ExecutorConfig::realtime`]).
    pub realtime: bool,
    /// A reserved motion is represented, for the others, by states sampled so that no point
    /// of the robot travels more than this between two of them, each grown by half of it, m.
    pub sweep_step: f64,
    /// A motion admitted through space another robot is leaving ([`crate::timed`]): that
    /// robot must be expected out of the way at least this long before the motion could
    /// reach its brake point, s.
    pub time_margin: f64,
}

impl Default for ControlOptions {
    fn default() -> Self {
        Self {
            spin: ExecutorConfig::default().spin,
            sim_lag: 0.0,
            realtime: true,
            sweep_step: 0.01,
            time_margin: 0.25,
        }
    }
}

/// Options of an execution.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExecuteOptions {
    /// The world version the trajectory was planned against (named in a refusal when the
    /// world changed since).
    pub planned_version: Option<u64>,
    /// Bind the execution to its client: unless [`CellControl::heartbeat`] renews it within
    /// this time, the robot stops (category 2, along its path). `None`: the execution runs to
    /// its end unless stopped.
    pub lease: Option<Duration>,
}

/// What kind of world edit is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    /// Objects added, moved or removed: the world as it is. Motions it puts in collision are
    /// stopped.
    Objects,
    /// A part attached or detached: refused when it would put a reserved motion (the
    /// carrier's or another robot's) in collision.
    Attachment,
}

/// A world edit's result: the new cell and the robots it stopped.
#[derive(Debug, Clone)]
pub struct EditOutcome {
    /// The cell after the edit.
    pub cell: Arc<CellSnapshot>,
    /// The stops the edit caused (empty when nothing was in the way).
    pub stopped: Vec<StopEvent>,
}

struct Controlled {
    id: String,
    geometry: Arc<RobotGeometry>,
    base: Isometry3<f64>,
    limits: Limits,
    executor: Executor,
}

/// A gate found for a path: on which robot (index), its execution, and the gate.
struct PlannedGate {
    on: usize,
    execution: u64,
    gate: PairGate,
}

/// An admitted execution waiting on another robot's progress (until cleared or ended).
#[derive(Debug, Clone)]
struct GateRecord {
    waiting: String,
    waiting_execution: u64,
    on: String,
    on_execution: u64,
    gate: PairGate,
    reported: bool,
}

/// What a plan through space another robot is leaving counts on: that robot's execution
/// reaches trajectory time `clear_at` before this motion reaches `brake_at` (else this motion
/// brakes there and ends stopped). `Execute` checks it again and refuses when it no longer
/// holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption {
    /// The robot counted on.
    pub robot: String,
    /// Its execution.
    pub execution_id: u64,
    /// Its trajectory time after which it is out of this motion's way, s.
    pub clear_at: f64,
    /// This motion's trajectory time at which it brakes unless that robot is out of the way,
    /// s (it stops by `gate_at`).
    pub brake_at: f64,
    /// This motion's trajectory time up to which it is clear of that robot whatever it does,
    /// s.
    pub gate_at: f64,
    /// When that robot is expected out of the way at its current pace, s from the plan.
    pub expected_clear_in: f64,
}

/// An admitted execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    /// Its id.
    pub execution_id: u64,
    /// What it counts on (empty when it is clear of every other robot's reservation).
    pub assumptions: Vec<Assumption>,
}

struct Lease {
    robot: String,
    execution: u64,
    period: Duration,
    expires: Instant,
}

/// Every robot of a cell under control, and the cell's world.
pub struct CellControl {
    robots: Vec<Controlled>,
    options: ControlOptions,
    cell: RwLock<Arc<CellSnapshot>>,
    /// Every admission holds it while it decides and starts.
    admission: Mutex<()>,
    leases: Mutex<Vec<Lease>>,
    gates: Mutex<Vec<GateRecord>>,
    events: EventLog,
}

impl std::fmt::Debug for CellControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellControl")
            .field(
                "robots",
                &self.robots.iter().map(|r| &r.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl CellControl {
    /// Simulated controllers for every robot of `cell`, at rest at its current joints, each
    /// looping at its `control_period_ms`.
    pub fn simulated(cell: &CellSnapshot, options: ControlOptions) -> Result<Self> {
        let drivers = cell
            .robots
            .iter()
            .map(|r| {
                Box::new(SimDriver::new(&r.joints).with_lag(options.sim_lag)) as Box<dyn Driver>
            })
            .collect();
        Self::with_drivers(cell, drivers, options)
    }

    /// `drivers[i]` drives `cell.robots[i]`.
    pub fn with_drivers(
        cell: &CellSnapshot,
        drivers: Vec<Box<dyn Driver>>,
        options: ControlOptions,
    ) -> Result<Self> {
        if drivers.len() != cell.robots.len() {
            return Err(ControlError::invalid(
                "drivers",
                format!("{} drivers for {} robots", drivers.len(), cell.robots.len()),
            ));
        }
        if !(options.sweep_step.is_finite() && options.sweep_step > 0.0) {
            return Err(ControlError::invalid("sweep_step", "must be positive"));
        }
        let mut robots = Vec::with_capacity(drivers.len());
        for (r, driver) in cell.robots.iter().zip(drivers) {
            let robot = r.geometry.robot().clone();
            let limits = Limits::of_robot(&robot).map_err(ControlError::RobotLimits)?;
            let config = ExecutorConfig {
                period: Duration::from_millis(u64::from(r.control_period_ms)),
                spin: options.spin,
                realtime: options.realtime,
                ..ExecutorConfig::default()
            };
            let executor = Executor::spawn(&r.id, robot, limits.clone(), driver, config)?;
            robots.push(Controlled {
                id: r.id.clone(),
                geometry: r.geometry.clone(),
                base: r.base,
                limits,
                executor,
            });
        }
        Ok(Self {
            robots,
            options,
            cell: RwLock::new(Arc::new(cell.clone())),
            admission: Mutex::new(()),
            leases: Mutex::new(Vec::new()),
            gates: Mutex::new(Vec::new()),
            events: EventLog::default(),
        })
    }

    fn controlled(&self, id: &str) -> Result<&Controlled> {
        self.robots
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ControlError::UnknownRobot(id.to_owned()))
    }

    fn admit(&self) -> MutexGuard<'_, ()> {
        self.admission.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The executor of robot `id`.
    pub fn executor(&self, id: &str) -> Result<&Executor> {
        Ok(&self.controlled(id)?.executor)
    }

    /// Robot ids, in cell order.
    pub fn robot_ids(&self) -> impl Iterator<Item = &str> {
        self.robots.iter().map(|r| r.id.as_str())
    }

    /// The stop log.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The current cell (the robots' joints as of its last edit; see
    /// [`CellControl::live_snapshot`]).
    pub fn snapshot(&self) -> Arc<CellSnapshot> {
        self.cell.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current cell with every robot where its executor has it now.
    pub fn live_snapshot(&self) -> Arc<CellSnapshot> {
        Arc::new(self.live(&self.snapshot()))
    }

    /// `cell` with every robot's joints replaced by where its executor has it now.
    pub fn live(&self, cell: &CellSnapshot) -> CellSnapshot {
        let mut out = cell.clone();
        for r in &mut out.robots {
            if let Ok(c) = self.controlled(&r.id) {
                r.joints = c.executor.state().q.as_slice().to_vec();
            }
        }
        out
    }

    /// Robot `id`'s reservation in `cell` (see the module doc): obstacles for the others.
    pub fn reservation(&self, cell: &CellSnapshot, id: &str) -> Result<Vec<StaticRobot>> {
        Ok(self.reserved(cell, id)?.states)
    }

    /// Robot `id`'s reservation with the trajectory time by which it passes each state.
    fn reserved(&self, cell: &CellSnapshot, id: &str) -> Result<Reserved> {
        let c = self.controlled(id)?;
        let state = c.executor.state();
        let q = state.q.as_slice().to_vec();
        let half = 0.5 * self.options.sweep_step;
        let arms = lever_arms(cell, c);
        let mut out = Reserved {
            states: vec![cell.as_obstacle(id, q.clone(), 0.0)?],
            leave: vec![f64::INFINITY],
            pace: None,
        };
        if let Some((execution, traj, tau)) = c.executor.active() {
            let s = traj.samples();
            let first = traj.piece(tau, 0);
            out.leave[0] = tau;
            let rest = (first + 1..s.len()).map(|k| (s.q_at(k), s.times[k]));
            for (qk, tk) in self.thinned(&arms, &q, rest) {
                out.states.push(cell.as_obstacle(id, qk, half)?);
                out.leave.push(tk);
            }
            if state.status == Status::Moving && state.speed_override > 0.0 {
                out.pace = Some(Pace {
                    execution,
                    tau,
                    speed: state.speed_override.min(1.0),
                });
            }
        } else if state.status == Status::Jogging {
            let mut stop = vec![0.0; q.len()];
            let dt = c.executor.period().as_secs_f64();
            Jog::stop_state(&q, &state.qd, &c.limits, dt, &mut stop);
            let sweep = link_sweep(&arms, &q, &stop);
            let n = (sweep / self.options.sweep_step).ceil().max(1.0) as usize;
            for k in 1..=n {
                let t = k as f64 / n as f64;
                let qk = q.iter().zip(&stop).map(|(a, b)| a + t * (b - a)).collect();
                out.states.push(cell.as_obstacle(id, qk, half)?);
                out.leave.push(f64::INFINITY);
            }
        }
        Ok(out)
    }

    /// The states of a path (after `from`) to keep, each with the time of the path sample at
    /// or after it: whenever the robot would travel more than `sweep_step` along the path
    /// since the last kept state, the state before; a step longer than that alone is cut into
    /// equal straight pieces. Every state of the path is then within half a `sweep_step` of a
    /// kept one (or of `from`).
    fn thinned<'a>(
        &self,
        arms: &[f64],
        from: &[f64],
        path: impl Iterator<Item = (&'a [f64], f64)>,
    ) -> Vec<(Vec<f64>, f64)> {
        let limit = self.options.sweep_step;
        let mut kept = Vec::new();
        let mut prev = from.to_vec();
        let mut pending: Option<(Vec<f64>, f64)> = None;
        let mut travelled = 0.0;
        for (qk, tk) in path {
            let step = link_sweep(arms, &prev, qk);
            if travelled + step > limit
                && let Some(p) = pending.take()
            {
                kept.push(p);
                travelled = 0.0;
            }
            if step > limit {
                let n = (step / limit).ceil() as usize;
                for i in 1..n {
                    let t = i as f64 / n as f64;
                    let q = prev.iter().zip(qk).map(|(a, b)| a + t * (b - a)).collect();
                    kept.push((q, tk));
                }
                kept.push((qk.to_vec(), tk));
                travelled = 0.0;
            } else {
                travelled += step;
                pending = Some((qk.to_vec(), tk));
            }
            prev = qk.to_vec();
        }
        kept.extend(pending);
        kept
    }

    /// The reservations of every robot but `except`.
    fn reservations_except(
        &self,
        cell: &CellSnapshot,
        except: &[&str],
    ) -> Result<Vec<StaticRobot>> {
        let mut out = Vec::new();
        for r in self
            .robots
            .iter()
            .filter(|r| !except.contains(&r.id.as_str()))
        {
            out.extend(self.reservation(cell, &r.id)?);
        }
        Ok(out)
    }

    /// A checker for robot `id` in `cell` (its world, what it carries), with the other robots'
    /// reservations as obstacles: what planning and every admission check against.
    pub fn checker(&self, cell: &CellSnapshot, id: &str) -> Result<Checker> {
        let others = self.reservations_except(cell, &[id])?;
        self.checker_with(cell, id, &others)
    }

    fn checker_with(
        &self,
        cell: &CellSnapshot,
        id: &str,
        others: &[StaticRobot],
    ) -> Result<Checker> {
        let robot = self.controlled(id)?;
        let world = cell.world_for(id).map_err(ControlError::Cell)?;
        Checker::new(robot.geometry.clone(), robot.base, &world, others)
            .map_err(|e| ControlError::Geometry(Box::new(e)))
    }

    /// The robots jogging now, but `except`.
    fn jogging(&self, except: &str) -> impl Iterator<Item = &Controlled> {
        self.robots
            .iter()
            .filter(move |r| r.id != except && r.executor.state().status == Status::Jogging)
    }

    /// Gives every jogging robot (but `except`) a guard against `cell` and the others'
    /// reservations plus `extra`, before anything new moves.
    fn update_jog_guards(&self, cell: &CellSnapshot, except: &str, extra: &[StaticRobot]) {
        for j in self.jogging(except) {
            let Ok(mut others) = self.reservations_except(cell, &[j.id.as_str()]) else {
                continue;
            };
            others.extend_from_slice(extra);
            // a robot that stopped jogging meanwhile does not take it (Ok(false)); one that
            // cannot take it brakes along its line, which is already its reservation
            let taken = self
                .checker_with(cell, &j.id, &others)
                .and_then(|checker| j.executor.update_guard(Arc::new(checker)));
            if taken.is_err() {
                let _ = j.executor.stop(StopKind::Immediate);
            }
        }
    }

    /// Checks `samples` for robot `id` and starts it: joint limits (position, velocity,
    /// acceleration, jerk where set), the start at the robot's current state and at rest, and
    /// collision along the whole motion against the current world and every other robot's
    /// reservation (jogging robots are first told to keep out of this motion). Returns the
    /// execution id.
    pub fn execute(
        &self,
        id: &str,
        samples: SampledTrajectory,
        options: ExecuteOptions,
    ) -> Result<u64> {
        Ok(self.admit_execution(id, samples, options)?.execution_id)
    }

    /// [`CellControl::execute`], also saying what the execution counts on when it passes
    /// through space other robots are leaving.
    pub fn admit_execution(
        &self,
        id: &str,
        samples: SampledTrajectory,
        options: ExecuteOptions,
    ) -> Result<Admitted> {
        let robot = self.controlled(id)?;
        let dof = robot.limits.dof();
        if samples.dof != dof {
            return Err(ControlError::invalid(
                "trajectory",
                format!("{} joints for the {dof}-joint robot '{id}'", samples.dof),
            ));
        }
        if let Some(lease) = options.lease
            && !(lease >= Duration::from_millis(10) && lease <= Duration::from_secs(3600))
        {
            return Err(ControlError::invalid(
                "lease",
                format!("{lease:?} is not between 10 ms and 1 h"),
            ));
        }
        let trajectory = ExecTrajectory::new(samples)?;
        cella_trajectory::validate(trajectory.samples(), &robot.limits, 1e-6)
            .map_err(|e| ControlError::Limits(Box::new(e)))?;
        let _admission = self.admit();
        let cell = self.live_snapshot();
        let state = robot.executor.state();
        if state.status != Status::Idle {
            return Err(ControlError::NotReady {
                robot: id.to_owned(),
                reason: format!(
                    "is {} (execution {})",
                    state.status.name(),
                    state.execution_id
                ),
            });
        }
        for (j, (a, b)) in trajectory
            .start()
            .iter()
            .zip(state.q.as_slice())
            .enumerate()
        {
            if (a - b).abs() > robot.executor.start_tolerance() {
                return Err(ControlError::StartMismatch(format!(
                    "joint {j} starts at {a:.6} but the robot is at {b:.6}"
                )));
            }
        }
        let s = trajectory.samples();
        // jogging robots keep out of this motion before it is decided on: what they may still
        // reach is then only their braking
        let mine: Vec<StaticRobot> = self
            .thinned(
                &lever_arms(&cell, robot),
                trajectory.start(),
                (1..s.len()).map(|k| (s.q_at(k), s.times[k])),
            )
            .into_iter()
            .map(|(q, _)| cell.as_obstacle(id, q, 0.5 * self.options.sweep_step))
            .collect::<std::result::Result<_, _>>()
            .map_err(ControlError::Cell)?;
        self.update_jog_guards(&cell, id, &mine);
        let checker = self.checker(&cell, id)?;
        let mut scratch = checker.scratch();
        let mut gates = Vec::new();
        if let Some(k) = checker.path_first_collision(&mut scratch, &s.q) {
            // through space another robot is leaving, with gates; else refused
            match self.timed_gates(&cell, id, &trajectory)? {
                Ok(found) => gates = found,
                Err(why) => {
                    let from = k.saturating_sub(1);
                    let changed = match options.planned_version {
                        Some(v) if v != cell.version => format!(
                            "planned against world version {v}, the world is now version {}; ",
                            cell.version
                        ),
                        _ => String::new(),
                    };
                    let why = if why.is_empty() {
                        String::new()
                    } else {
                        format!(" (not admitted through space being left: {why})")
                    };
                    return Err(ControlError::Collision(format!(
                        "{changed}between t = {:.3} s and {:.3} s: {}{why}",
                        s.times[from],
                        s.times[k],
                        describe_contacts(&checker, &mut scratch, s.q_at(k), s.q_at(from))
                    )));
                }
            }
        }
        let mut slots: Gates = Default::default();
        for (slot, g) in slots.iter_mut().zip(&gates) {
            *slot = Some(Gate {
                brake_at: g.gate.brake_at,
                on: self.robots[g.on].executor.watch(),
                execution: g.execution,
                clear_at: g.gate.clear_at,
            });
        }
        let execution = robot
            .executor
            .execute_gated(Arc::new(trajectory), slots)
            .map_err(|e| name_robot(e, id))?;
        if !gates.is_empty() {
            let mut records = self.gates.lock().unwrap_or_else(|p| p.into_inner());
            records.extend(gates.iter().map(|g| GateRecord {
                waiting: id.to_owned(),
                waiting_execution: execution,
                on: self.robots[g.on].id.clone(),
                on_execution: g.execution,
                gate: g.gate,
                reported: false,
            }));
        }
        if let Some(period) = options.lease {
            let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            leases.retain(|l| l.robot != id);
            leases.push(Lease {
                robot: id.to_owned(),
                execution,
                period,
                expires: Instant::now() + period,
            });
        }
        let assumptions = gates.iter().map(|g| self.assumption(g)).collect();
        Ok(Admitted {
            execution_id: execution,
            assumptions,
        })
    }

    /// The gates that let robot `id` pass along `trajectory` through space other robots are
    /// leaving ([`crate::timed`]), or why not (empty when the path meets the world or a robot
    /// that is not leaving).
    fn timed_gates(
        &self,
        cell: &CellSnapshot,
        id: &str,
        trajectory: &ExecTrajectory,
    ) -> Result<std::result::Result<Vec<PlannedGate>, String>> {
        let robot = self.controlled(id)?;
        let mut fixed = Vec::new();
        let mut stalled = Vec::new();
        let mut leaving = Vec::new();
        for (i, r) in self.robots.iter().enumerate().filter(|(_, r)| r.id != id) {
            let reserved = self.reserved(cell, &r.id)?;
            if reserved.pace.is_some() {
                leaving.push((i, reserved));
            } else if reserved.leave[0].is_finite() {
                // executing, but paused, held or stopping: it may stay where it is
                stalled.push((i, reserved));
            } else {
                fixed.extend(reserved.states);
            }
        }
        let path = &trajectory.samples().q;
        let meets = |obstacles: &[StaticRobot]| -> Result<bool> {
            let checker = self.checker_with(cell, id, obstacles)?;
            let mut scratch = checker.scratch();
            Ok(checker.path_first_collision(&mut scratch, path).is_some())
        };
        if meets(&fixed)? {
            return Ok(Err(String::new()));
        }
        if !stalled.is_empty() {
            let all: Vec<StaticRobot> = fixed
                .into_iter()
                .chain(stalled.iter().flat_map(|(_, r)| r.states.iter().cloned()))
                .collect();
            if meets(&all)? {
                let names: Vec<String> = stalled
                    .iter()
                    .map(|(i, _)| {
                        let r = &self.robots[*i];
                        format!("'{}' ({})", r.id, r.executor.state().status.name())
                    })
                    .collect();
                return Ok(Err(format!(
                    "robot {} is not moving at a pace to count on",
                    names.join(", ")
                )));
            }
        }
        if leaving.is_empty() {
            return Ok(Err(String::new()));
        }
        let bare = cell
            .world_for(id)
            .map_err(ControlError::Cell)?
            .without_objects();
        let waiting = Waiting {
            geometry: &robot.geometry,
            base: robot.base,
            bare_world: &bare,
            trajectory,
            limits: &robot.limits,
            dt: robot.executor.period().as_secs_f64(),
        };
        let mut gates = Vec::new();
        for (i, reserved) in &leaving {
            let name = &self.robots[*i].id;
            match gate_against(&waiting, reserved, name, self.options.time_margin) {
                Ok(None) => {}
                Ok(Some(gate)) => gates.push(PlannedGate {
                    on: *i,
                    execution: reserved.pace.map_or(0, |p| p.execution),
                    gate,
                }),
                Err(why) => return Ok(Err(why)),
            }
        }
        if gates.len() > MAX_GATES {
            return Ok(Err(format!(
                "it would wait on {} robots (at most {MAX_GATES})",
                gates.len()
            )));
        }
        Ok(Ok(gates))
    }

    /// What a motion of robot `id` along `samples` would count on if it were executed now:
    /// empty when it is clear of every other robot's reservation; a refusal (in words) when
    /// it meets one that no gate makes safe and timely. Planning reports it with a plan.
    pub fn assumptions(
        &self,
        cell: &CellSnapshot,
        id: &str,
        samples: &SampledTrajectory,
    ) -> Result<std::result::Result<Vec<Assumption>, String>> {
        let trajectory = ExecTrajectory::new(samples.clone())?;
        let checker = self.checker(cell, id)?;
        let mut scratch = checker.scratch();
        if checker
            .path_first_collision(&mut scratch, &samples.q)
            .is_none()
        {
            return Ok(Ok(Vec::new()));
        }
        Ok(self
            .timed_gates(cell, id, &trajectory)?
            .map(|gates| gates.iter().map(|g| self.assumption(g)).collect()))
    }

    fn assumption(&self, g: &PlannedGate) -> Assumption {
        Assumption {
            robot: self.robots[g.on].id.clone(),
            execution_id: g.execution,
            clear_at: g.gate.clear_at,
            brake_at: g.gate.brake_at,
            gate_at: g.gate.gate_tau,
            expected_clear_in: g.gate.expected_clear,
        }
    }

    /// A checker for planning robot `id` through space other robots are leaving: the world,
    /// the reservations of robots that are not leaving, and where each leaving robot's motion
    /// ends. `None` when no other robot is leaving. A plan made with it must still pass
    /// [`CellControl::assumptions`].
    pub fn leaving_checker(&self, cell: &CellSnapshot, id: &str) -> Result<Option<Checker>> {
        let mut obstacles = Vec::new();
        let mut any = false;
        for r in self.robots.iter().filter(|r| r.id != id) {
            let mut reserved = self.reserved(cell, &r.id)?;
            if reserved.pace.is_some() {
                any = true;
                obstacles.extend(reserved.states.pop());
            } else {
                obstacles.extend(reserved.states);
            }
        }
        if !any {
            return Ok(None);
        }
        self.checker_with(cell, id, &obstacles).map(Some)
    }

    /// The gates still pending (their execution runs and the robot waited on is not out of
    /// the way); logs, once, each execution that braked at a gate.
    fn sweep_gates(&self) -> (Vec<GateRecord>, Vec<StopEvent>) {
        let mut records = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        let mut stops = Vec::new();
        records.retain_mut(|g| {
            let Ok(waiting) = self.controlled(&g.waiting) else {
                return false;
            };
            let w = waiting.executor.state();
            let running = w.execution_id == g.waiting_execution && w.outcome == Outcome::Running;
            let on = self
                .controlled(&g.on)
                .map(|c| c.executor.state())
                .ok();
            let cleared = on.is_none_or(|o| {
                o.execution_id != g.on_execution || o.trajectory_time >= g.gate.clear_at
            });
            if w.execution_id == g.waiting_execution && w.gate_stop && !cleared && !g.reported {
                g.reported = true;
                let at = on.map_or(0.0, |o| o.trajectory_time);
                let status = on.map_or("gone", |o| o.status.name());
                stops.push(self.events.push(
                    &g.waiting,
                    g.waiting_execution,
                    StopCause::ReservationLate,
                    format!(
                        "robot '{}' had not left the space this motion enters at t = {:.3} s:                          its execution {} was at {at:.3} s ({status}) of the {:.3} s it had                          to pass",
                        g.on, g.gate.gate_tau, g.on_execution, g.gate.clear_at
                    ),
                ));
            }
            running && !cleared
        });
        (records.clone(), stops)
    }

    /// Supervision, every few milliseconds: stops executions whose lease lapsed and logs the
    /// executions that braked at a gate. Returns the stops logged.
    pub fn supervise(&self) -> Vec<StopEvent> {
        let mut out = self.enforce_leases();
        out.extend(self.sweep_gates().1);
        out
    }

    /// Renews the lease of execution `execution_id` of robot `id` for another lease period.
    /// Refused when that execution has no lease or it has already lapsed.
    pub fn heartbeat(&self, id: &str, execution_id: u64) -> Result<Duration> {
        self.controlled(id)?;
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let lease = leases
            .iter_mut()
            .find(|l| l.robot == id && l.execution == execution_id && l.expires > now)
            .ok_or_else(|| ControlError::NotReady {
                robot: id.to_owned(),
                reason: format!("has no live lease for execution {execution_id}"),
            })?;
        lease.expires = now + lease.period;
        Ok(lease.period)
    }

    /// Stops every execution whose lease lapsed (category 2, along its path) and forgets
    /// the leases of executions that ended. Call it every few milliseconds.
    pub fn enforce_leases(&self) -> Vec<StopEvent> {
        let now = Instant::now();
        let lapsed: Vec<Lease> = {
            let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            let running = |l: &Lease| {
                self.controlled(&l.robot)
                    .ok()
                    .and_then(|c| c.executor.active())
                    .is_some_and(|(id, _, _)| id == l.execution)
            };
            leases.retain(running);
            let (gone, kept): (Vec<Lease>, Vec<Lease>) =
                leases.drain(..).partition(|l| l.expires <= now);
            *leases = kept;
            gone
        };
        let mut out = Vec::new();
        for l in lapsed {
            if let Ok(c) = self.controlled(&l.robot)
                && c.executor.stop(StopKind::Smooth).is_ok()
            {
                out.push(self.events.push(
                    &l.robot,
                    l.execution,
                    StopCause::LeaseExpired,
                    format!(
                        "its lease of {:.3} s was not renewed: the client is gone",
                        l.period.as_secs_f64()
                    ),
                ));
            }
        }
        out
    }

    /// Jogs robot `id`, guarded against the world and the other robots' reservations. One
    /// robot jogs at a time: a jog's reach is not a reservation the others can plan around.
    pub fn jog(&self, id: &str, command: JogCommand) -> Result<()> {
        let robot = self.controlled(id)?;
        let _admission = self.admit();
        if let Some(other) = self.jogging(id).next() {
            return Err(ControlError::NotReady {
                robot: id.to_owned(),
                reason: format!(
                    "cannot jog while robot '{}' is jogging (one robot jogs at a time)",
                    other.id
                ),
            });
        }
        let cell = self.live_snapshot();
        let checker = Arc::new(self.checker(&cell, id)?);
        robot
            .executor
            .jog(command, checker)
            .map_err(|e| name_robot(e, id))
    }

    /// Applies a world edit atomically with every admission: `edit` makes the next cell from
    /// the live one. An [`EditKind::Attachment`] that would put a reserved motion in collision
    /// is refused (nothing changes); after an [`EditKind::Objects`] edit, every motion whose
    /// rest now collides is stopped along its path as fast as its limits allow, and the
    /// jogging robot's guard sees the new world.
    pub fn edit(
        &self,
        kind: EditKind,
        edit: impl FnOnce(&CellSnapshot) -> std::result::Result<Arc<CellSnapshot>, CellError>,
    ) -> Result<EditOutcome> {
        self.edit_committed(kind, edit, |_| Ok::<(), ControlError>(()))
    }

    /// [`CellControl::edit`] with `commit` called on the next cell once every check has
    /// passed and before anyone can see it, under the admission lock (so commits come in
    /// version order): the edit is made only when `commit` succeeds. A journal writes the
    /// edit to disk there.
    pub fn edit_committed<E: From<ControlError>>(
        &self,
        kind: EditKind,
        edit: impl FnOnce(&CellSnapshot) -> std::result::Result<Arc<CellSnapshot>, CellError>,
        commit: impl FnOnce(&CellSnapshot) -> std::result::Result<(), E>,
    ) -> std::result::Result<EditOutcome, E> {
        let _admission = self.admit();
        let live = self.live_snapshot();
        let next = edit(&live).map_err(ControlError::Cell)?;
        let blocked = self.blocked_motions(&next)?;
        if kind == EditKind::Attachment {
            if let Some((robot, _, reason)) = blocked.first() {
                return Err(ControlError::Collision(format!(
                    "the edit would put the motion of robot '{robot}' in collision: {reason}"
                ))
                .into());
            }
            // a robot at rest may hold a part that touches the surface it was taken from;
            // it must not touch another robot
            for r in &self.robots {
                if r.executor.active().is_none() {
                    let others = self.reservations_except(&next, &[r.id.as_str()])?;
                    let world = next
                        .world_for(&r.id)
                        .map_err(ControlError::Cell)?
                        .without_objects();
                    let checker = Checker::new(r.geometry.clone(), r.base, &world, &others)
                        .map_err(|e| ControlError::Geometry(Box::new(e)))?;
                    let mut scratch = checker.scratch();
                    let q = r.executor.state().q;
                    if !checker.is_valid(&mut scratch, q.as_slice()) {
                        return Err(ControlError::Collision(format!(
                            "robot '{}' would touch another robot where it stands: {}",
                            r.id,
                            describe_contacts(&checker, &mut scratch, q.as_slice(), q.as_slice())
                        ))
                        .into());
                    }
                }
            }
        }
        commit(&next)?;
        *self.cell.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
        let mut stopped = Vec::new();
        for (robot, execution, reason) in blocked {
            if let Ok(c) = self.controlled(&robot)
                && c.executor.stop(StopKind::Immediate).is_ok()
            {
                stopped.push(
                    self.events
                        .push(&robot, execution, StopCause::WorldEdit, reason),
                );
            }
        }
        self.update_jog_guards(&next, "", &[]);
        Ok(EditOutcome {
            cell: next,
            stopped,
        })
    }

    /// The executions whose rest collides in `cell` (with the other robots' reservations):
    /// (robot, execution id, where and with what).
    fn blocked_motions(&self, cell: &CellSnapshot) -> Result<Vec<(String, u64, String)>> {
        let (pending, _) = self.sweep_gates();
        let mut out = Vec::new();
        for r in &self.robots {
            let Some((execution, traj, tau)) = r.executor.active() else {
                continue;
            };
            // a gated pair is checked by its gate's own terms below, not as space-only
            let mut exempt = vec![r.id.as_str()];
            for g in &pending {
                if g.waiting == r.id {
                    exempt.push(&g.on);
                } else if g.on == r.id {
                    exempt.push(&g.waiting);
                }
            }
            let others = self.reservations_except(cell, &exempt)?;
            let checker = self.checker_with(cell, &r.id, &others)?;
            let mut scratch = checker.scratch();
            let s = traj.samples();
            let first = traj.piece(tau, 0);
            let mut rest = r.executor.state().q.as_slice().to_vec();
            rest.extend_from_slice(&s.q[(first + 1).min(s.len()) * s.dof..]);
            let mut times = vec![tau];
            times.extend_from_slice(&s.times[(first + 1).min(s.len())..]);
            if let Some(k) = checker.path_first_collision(&mut scratch, &rest) {
                let q = &rest[k * s.dof..(k + 1) * s.dof];
                out.push((
                    r.id.clone(),
                    execution,
                    format!(
                        "its motion would collide at t = {:.3} s: {}",
                        times[k],
                        describe_contacts(&checker, &mut scratch, q, q)
                    ),
                ));
                continue;
            }
            let bare = cell
                .world_for(&r.id)
                .map_err(ControlError::Cell)?
                .without_objects();
            let waiting = Waiting {
                geometry: &r.geometry,
                base: r.base,
                bare_world: &bare,
                trajectory: &traj,
                limits: &r.limits,
                dt: r.executor.period().as_secs_f64(),
            };
            for g in pending.iter().filter(|g| g.waiting == r.id) {
                let other = self.reserved(cell, &g.on)?;
                let met = recheck_pair(
                    &waiting,
                    &rest,
                    &times,
                    &other,
                    g.gate.gate_tau,
                    g.gate.clear_at,
                );
                if let Ok(None) = met {
                    continue;
                }
                let at = match met {
                    Ok(Some(k)) => format!(" at t = {:.3} s", times[k]),
                    _ => String::new(),
                };
                out.push((
                    r.id.clone(),
                    execution,
                    format!(
                        "its motion would meet robot '{}'{at}, which it was admitted to follow",
                        g.on
                    ),
                ));
                break;
            }
        }
        Ok(out)
    }

    /// Stops robot `id` at a client's request, logged with `reason`.
    pub fn stop(&self, id: &str, kind: StopKind, reason: &str) -> Result<()> {
        let c = self.controlled(id)?;
        let execution = c.executor.active().map_or(0, |(e, _, _)| e);
        c.executor.stop(kind).map_err(|e| name_robot(e, id))?;
        if execution != 0 {
            self.events
                .push(id, execution, StopCause::Client, reason.to_owned());
        }
        Ok(())
    }

    /// Stops every robot at a client's request, each logged with "a client stopped every
    /// robot" and the client's `reason` (when not empty).
    pub fn stop_all(&self, kind: StopKind, reason: &str) -> Result<()> {
        let reason = if reason.is_empty() {
            "a client stopped every robot".to_owned()
        } else {
            format!("a client stopped every robot: {reason}")
        };
        let mut first_error = None;
        for r in &self.robots {
            if let Err(e) = self.stop(&r.id, kind, &reason) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs `f` on robot `id`'s executor, naming the robot in a refusal.
    pub fn with_executor<T>(&self, id: &str, f: impl FnOnce(&Executor) -> Result<T>) -> Result<T> {
        f(self.executor(id)?).map_err(|e| name_robot(e, id))
    }
}

/// Per joint, the farthest any point of robot `c` or of a part it carries in `cell` can be
/// from that joint's axis (m): the robot's lever arms, grown for each carried part by how far
/// the part reaches from its link's frame plus how far the link's own geometry reaches (the
/// link's frame is within that of the geometry the lever arm already covers).
fn lever_arms(cell: &CellSnapshot, c: &Controlled) -> Vec<f64> {
    let mut arms = c.geometry.lever_arms().to_vec();
    let model = c.geometry.robot().model();
    let mut grow = 0.0_f64;
    for att in cell.world.attached_to(&c.id) {
        let Ok(link) = model.link_index(&att.link) else {
            continue;
        };
        let link_reach = c
            .geometry
            .capsules()
            .iter()
            .filter(|k| k.link == link)
            .map(|k| k.a.coords.norm().max(k.b.coords.norm()) + k.radius)
            .fold(0.0, f64::max);
        let part_reach = att.pose_in_link.translation.vector.norm() + att.shape.bounding_radius();
        grow = grow.max(part_reach + link_reach);
    }
    for a in &mut arms {
        *a += grow;
    }
    arms
}

/// Bound (m) on how far any point moves between joint states `a` and `b` (lever arms times
/// joint travel).
fn link_sweep(arms: &[f64], a: &[f64], b: &[f64]) -> f64 {
    arms.iter()
        .zip(a.iter().zip(b))
        .map(|(l, (x, y))| l * (x - y).abs())
        .sum()
}

/// The colliding pairs at `q` (else at `fallback`), in words.
fn describe_contacts(
    checker: &Checker,
    scratch: &mut cella_collision::CheckScratch,
    q: &[f64],
    fallback: &[f64],
) -> String {
    let mut pairs = checker.contacts(scratch, q);
    if pairs.is_empty() {
        pairs = checker.contacts(scratch, fallback);
    }
    if pairs.is_empty() {
        "closer than the padding".to_owned()
    } else {
        pairs
            .iter()
            .map(|(a, b)| format!("{a} with {b}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn name_robot(e: ControlError, id: &str) -> ControlError {
    match e {
        ControlError::NotReady { reason, .. } => ControlError::NotReady {
            robot: id.to_owned(),
            reason,
        },
        other => other,
    }
}
