//! Every robot of a cell under control: one executor per robot, executions checked against
//! the current world and the other robots' motions, and the checkers the planner uses so that
//! a new plan for one robot avoids where the others are and where they are still going.

use crate::driver::{Driver, SimDriver};
use crate::error::{ControlError, Result};
use crate::executor::{Executor, ExecutorConfig, JogCommand, StopKind};
use crate::path::ExecTrajectory;
use cella_cell::CellSnapshot;
use cella_collision::{Checker, RobotGeometry, StaticRobot};
use cella_trajectory::{Limits, SampledTrajectory};
use nalgebra::Isometry3;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings of a cell's executors.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlOptions {
    /// Busy-wait before each deadline (see [`ExecutorConfig::spin`]).
    pub spin: Duration,
    /// First-order lag of the simulated controllers, s (0 = ideal tracking).
    pub sim_lag: f64,
    /// Ask for real-time scheduling of the loop threads (see [`ExecutorConfig::realtime`]).
    pub realtime: bool,
    /// A moving robot is represented, for the others, by its remaining path sampled so that
    /// no point of it moves more than this between two samples, m.
    pub sweep_step: f64,
}

impl Default for ControlOptions {
    fn default() -> Self {
        Self {
            spin: ExecutorConfig::default().spin,
            sim_lag: 0.0,
            realtime: true,
            sweep_step: 0.01,
        }
    }
}

struct Controlled {
    id: String,
    geometry: Arc<RobotGeometry>,
    base: Isometry3<f64>,
    limits: Limits,
    executor: Executor,
}

/// The executors of a cell's robots.
pub struct CellControl {
    robots: Vec<Controlled>,
    options: ControlOptions,
    /// Executions start one at a time, so each is checked against the others' motions.
    starting: Mutex<()>,
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
            let limits = Limits::of_robot(&robot)
                .map_err(|e| ControlError::invalid("limits", e.to_string()))?;
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
            starting: Mutex::new(()),
        })
    }

    fn controlled(&self, id: &str) -> Result<&Controlled> {
        self.robots
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ControlError::UnknownRobot(id.to_owned()))
    }

    /// The executor of robot `id`.
    pub fn executor(&self, id: &str) -> Result<&Executor> {
        Ok(&self.controlled(id)?.executor)
    }

    /// Robot ids, in cell order.
    pub fn robot_ids(&self) -> impl Iterator<Item = &str> {
        self.robots.iter().map(|r| r.id.as_str())
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

    /// The other robots of `id` as obstacles: each at its current joints, plus, while it
    /// executes, its remaining path sampled every [`ControlOptions::sweep_step`] of motion.
    pub fn obstacles_for(&self, id: &str) -> Result<Vec<StaticRobot>> {
        self.controlled(id)?;
        let mut out = Vec::new();
        for other in self.robots.iter().filter(|r| r.id != id) {
            let state = other.executor.state();
            let q = state.q.as_slice().to_vec();
            out.push(StaticRobot {
                name: other.id.clone(),
                geometry: other.geometry.clone(),
                base: other.base,
                joints: q.clone(),
            });
            let Some((_, traj, tau)) = other.executor.active() else {
                continue;
            };
            let samples = traj.samples();
            let first = traj.piece(tau, 0);
            let arms = other.geometry.lever_arms();
            let mut last = q;
            let n = samples.len();
            for k in first + 1..n {
                let qk = samples.q_at(k);
                let sweep: f64 = arms
                    .iter()
                    .zip(qk.iter().zip(&last))
                    .map(|(l, (a, b))| l * (a - b).abs())
                    .sum();
                if sweep >= self.options.sweep_step || k == n - 1 {
                    out.push(StaticRobot {
                        name: format!("{} (moving)", other.id),
                        geometry: other.geometry.clone(),
                        base: other.base,
                        joints: qk.to_vec(),
                    });
                    last = qk.to_vec();
                }
            }
        }
        Ok(out)
    }

    /// A checker for robot `id` in `cell`'s world with the other robots as
    /// [`CellControl::obstacles_for`] gives them.
    pub fn checker(&self, cell: &CellSnapshot, id: &str) -> Result<Checker> {
        let robot = self.controlled(id)?;
        let others = self.obstacles_for(id)?;
        Checker::new(robot.geometry.clone(), robot.base, &cell.world, &others)
            .map_err(|e| ControlError::invalid("cell", e.to_string()))
    }

    /// Checks `samples` for robot `id` and starts it: joint limits (position, velocity,
    /// acceleration, jerk where set), the start at the robot's current state and at rest, and
    /// collision along the whole motion against `cell` (the current world) and the other
    /// robots where they are and where they are going. `planned_version` is the world version
    /// the trajectory was planned against (named in the refusal when the world changed since).
    /// Returns the execution id.
    pub fn execute(
        &self,
        cell: &CellSnapshot,
        id: &str,
        samples: SampledTrajectory,
        planned_version: Option<u64>,
    ) -> Result<u64> {
        let robot = self.controlled(id)?;
        let dof = robot.limits.dof();
        if samples.dof != dof {
            return Err(ControlError::invalid(
                "trajectory",
                format!("{} joints for the {dof}-joint robot '{id}'", samples.dof),
            ));
        }
        let trajectory = ExecTrajectory::new(samples)?;
        cella_trajectory::validate(trajectory.samples(), &robot.limits, 1e-6)
            .map_err(|e| ControlError::Limits(e.to_string()))?;
        let _one_at_a_time = self
            .starting
            .lock()
            .map_err(|_| ControlError::Executor("start lock poisoned".into()))?;
        let state = robot.executor.state();
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
        let checker = self.checker(cell, id)?;
        let mut scratch = checker.scratch();
        let s = trajectory.samples();
        if let Some(k) = checker.path_first_collision(&mut scratch, &s.q) {
            let from = k.saturating_sub(1);
            let mut pairs = checker.contacts(&mut scratch, s.q_at(k));
            if pairs.is_empty() {
                pairs = checker.contacts(&mut scratch, s.q_at(from));
            }
            let changed = match planned_version {
                Some(v) if v != cell.version => format!(
                    "planned against world version {v}, the world is now version {}; ",
                    cell.version
                ),
                _ => String::new(),
            };
            return Err(ControlError::Collision(format!(
                "{changed}between t = {:.3} s and {:.3} s: {}",
                s.times[from],
                s.times[k],
                if pairs.is_empty() {
                    "closer than the padding".to_owned()
                } else {
                    pairs
                        .iter()
                        .map(|(a, b)| format!("{a} with {b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
        robot
            .executor
            .execute(Arc::new(trajectory))
            .map_err(|e| name_robot(e, id))
    }

    /// Jogs robot `id`, collision-guarded against `cell`'s world and the other robots.
    pub fn jog(&self, cell: &CellSnapshot, id: &str, command: JogCommand) -> Result<()> {
        let robot = self.controlled(id)?;
        let checker = Arc::new(self.checker(cell, id)?);
        robot
            .executor
            .jog(command, checker)
            .map_err(|e| name_robot(e, id))
    }

    /// After a world edit: checks the rest of every running execution against `cell` (the
    /// new world) and the other robots, and stops (category 2, along the path) each one that
    /// would now collide. Returns the robots stopped, with where their motion collides.
    pub fn recheck(&self, cell: &CellSnapshot) -> Vec<(String, String)> {
        let mut stopped = Vec::new();
        for r in &self.robots {
            let Some((_, traj, tau)) = r.executor.active() else {
                continue;
            };
            let Ok(checker) = self.checker(cell, &r.id) else {
                continue;
            };
            let mut scratch = checker.scratch();
            let s = traj.samples();
            let first = traj.piece(tau, 0);
            let hit = checker.path_first_collision(&mut scratch, &s.q[first * s.dof..]);
            if let Some(k) = hit.map(|k| first + k) {
                let pairs = checker.contacts(&mut scratch, s.q_at(k));
                // best effort: a robot that cannot take the stop is faulted or already idle
                let _ = r.executor.stop(StopKind::Smooth);
                stopped.push((
                    r.id.clone(),
                    format!(
                        "its motion would collide at t = {:.3} s: {pairs:?}",
                        s.times[k]
                    ),
                ));
            }
        }
        stopped
    }

    /// Stops every robot.
    pub fn stop_all(&self, kind: StopKind) -> Result<()> {
        let mut first_error = None;
        for r in &self.robots {
            if let Err(e) = r.executor.stop(kind) {
                first_error.get_or_insert(name_robot(e, &r.id));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs `f` on robot `id`'s executor, naming the robot in a refusal.
    pub fn with_executor<T>(&self, id: &str, f: impl FnOnce(&Executor) -> Result<T>) -> Result<T> {
        f(self.executor(id)?).map_err(|e| name_robot(e, id))
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
