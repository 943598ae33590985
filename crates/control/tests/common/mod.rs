//! Shared helpers: the demo cell under simulated control with recording drivers.
#![allow(dead_code, clippy::unwrap_used)]

use cella_cell::{CellFile, CellSnapshot, DEMO_CELL};
use cella_control::{
    CellControl, ControlOptions, Driver, DriverError, ExecuteOptions, Executor, JointCommand,
    MeasuredState, RobotState, SimDriver,
};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{Limits, SampledTrajectory, SegmentedTrajectory};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One commanded cycle: when, positions, velocities, accelerations.
#[derive(Debug, Clone)]
pub struct Cycle {
    pub at: Instant,
    pub q: Vec<f64>,
    pub qd: Vec<f64>,
    pub qdd: Vec<f64>,
}

/// Every command the executor sent, in order.
pub type Log = Arc<Mutex<Vec<Cycle>>>;

/// A simulated controller that also records every command (test only: it allocates).
pub struct Recording {
    inner: SimDriver,
    log: Log,
}

impl Driver for Recording {
    fn dof(&self) -> usize {
        self.inner.dof()
    }
    fn read(&mut self, out: &mut MeasuredState) -> Result<(), DriverError> {
        self.inner.read(out)
    }
    fn command(&mut self, c: &JointCommand, dt: f64) -> Result<(), DriverError> {
        self.log.lock().unwrap().push(Cycle {
            at: Instant::now(),
            q: c.q.as_slice().to_vec(),
            qd: c.qd.as_slice().to_vec(),
            qdd: c.qdd.as_slice().to_vec(),
        });
        self.inner.command(c, dt)
    }
}

pub fn demo_cell() -> Arc<CellSnapshot> {
    CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap()
}

/// The demo cell under control, every robot recorded; logs in cell robot order. The process
/// keeps its heap resident, as under `cella serve` (the library leaves that to the program).
pub fn controlled(cell: &CellSnapshot) -> (CellControl, Vec<Log>) {
    cella_control::memory::keep_heap_resident();
    let logs: Vec<Log> = cell.robots.iter().map(|_| Log::default()).collect();
    let drivers = cell
        .robots
        .iter()
        .zip(&logs)
        .map(|(r, log)| {
            Box::new(Recording {
                inner: SimDriver::new(&r.joints),
                log: log.clone(),
            }) as Box<dyn Driver>
        })
        .collect();
    let options = ControlOptions {
        spin: Duration::ZERO,
        ..ControlOptions::default()
    };
    (
        CellControl::with_drivers(cell, drivers, options).unwrap(),
        logs,
    )
}

pub fn limits(cell: &CellSnapshot, id: &str) -> Limits {
    Limits::of_robot(cell.robot(id).unwrap().geometry.robot()).unwrap()
}

/// A jerk-limited, joint-synchronized motion through `waypoints`, sampled every 4 ms.
pub fn motion(limits: &Limits, waypoints: &[Vec<f64>]) -> (SegmentedTrajectory, SampledTrajectory) {
    let options = SegmentOptions {
        jerk_limited: limits.jerk.is_some(),
        max_deviation: 0.0,
    };
    let t = SegmentedTrajectory::new(waypoints, limits, &options).unwrap();
    let s = t.sample(0.004).unwrap();
    (t, s)
}

/// Waits (polling) until `done` holds for the executor's state; panics after 30 s.
pub fn wait_for(executor: &Executor, done: impl Fn(&RobotState) -> bool) -> RobotState {
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        let s = executor.state();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < give_up, "gave up waiting: {s:?}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Largest |x| / limit over the log's finite differences and commanded values, per kind:
/// (velocity, acceleration, jerk) ratios to the limits. Commanded velocities and
/// accelerations are used directly; jerk is the difference of commanded accelerations.
pub fn limit_ratios(log: &[Cycle], limits: &Limits, dt: f64) -> (f64, f64, f64) {
    let (mut v, mut a, mut j) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (k, c) in log.iter().enumerate() {
        for i in 0..c.q.len() {
            v = v.max(c.qd[i].abs() / limits.velocity[i]);
            a = a.max(c.qdd[i].abs() / limits.acceleration[i]);
            if k > 0
                && let Some(jerk) = &limits.jerk
            {
                j = j.max(((c.qdd[i] - log[k - 1].qdd[i]) / dt).abs() / jerk[i]);
            }
        }
    }
    (v, a, j)
}

/// For each logged position, the path time of the trajectory nearest to it (searched forward
/// from the previous one: path time never goes back) and the distance (joint space, max
/// norm). Returns the worst distance and the path times.
pub fn path_times(log: &[Cycle], traj: &SegmentedTrajectory) -> (f64, Vec<f64>) {
    let dof = traj.dof();
    let (mut q, mut qd, mut qdd) = (vec![0.0; dof], vec![0.0; dof], vec![0.0; dof]);
    let mut dist = |t: f64, target: &[f64]| {
        traj.evaluate(t.clamp(0.0, traj.duration()), &mut q, &mut qd, &mut qdd);
        (0..dof)
            .map(|j| (q[j] - target[j]).abs())
            .fold(0.0, f64::max)
    };
    let mut worst = 0.0_f64;
    let mut times = Vec::with_capacity(log.len());
    let mut last = 0.0_f64;
    for c in log {
        // coarse forward scan, then golden-section refinement around the best grid point
        let step = 2e-4;
        let (mut best, mut best_t) = (f64::INFINITY, last);
        let mut t = (last - 2.0 * step).max(0.0);
        while t <= (last + 0.02).min(traj.duration()) + step {
            let d = dist(t, &c.q);
            if d < best {
                (best, best_t) = (d, t);
            }
            t += step;
        }
        let (mut lo, mut hi) = (
            (best_t - step).max(0.0),
            (best_t + step).min(traj.duration()),
        );
        let g = 0.5 * (5f64.sqrt() - 1.0);
        for _ in 0..60 {
            let (a, b) = (hi - g * (hi - lo), lo + g * (hi - lo));
            if dist(a, &c.q) < dist(b, &c.q) {
                hi = b;
            } else {
                lo = a;
            }
        }
        let t_star = 0.5 * (lo + hi);
        let d = dist(t_star, &c.q).min(best);
        worst = worst.max(d);
        last = last.max(t_star);
        times.push(t_star);
    }
    (worst, times)
}

/// A KUKA motion from its current joints to `goal`, started on the demo cell.
pub struct Run {
    pub cell: Arc<CellSnapshot>,
    pub control: CellControl,
    pub logs: Vec<Log>,
    pub limits: Limits,
    pub traj: SegmentedTrajectory,
    pub id: u64,
}

/// Starts the KUKA of a fresh demo cell on a jerk-limited motion to `goal`.
pub fn run_kuka(goal: &[f64]) -> Run {
    let cell = demo_cell();
    let (control, logs) = controlled(&cell);
    let limits = limits(&cell, "kuka");
    let start = cell.robot("kuka").unwrap().joints.clone();
    let (traj, samples) = motion(&limits, &[start, goal.to_vec()]);
    let id = control
        .execute("kuka", samples, ExecuteOptions::default())
        .unwrap();
    Run {
        cell,
        control,
        logs,
        limits,
        traj,
        id,
    }
}
