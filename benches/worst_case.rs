//! Worst cases, not only means: times every input of a realistic set on its own and states the
//! median, the 99th percentile and the worst (criterion reports means and medians of batches):
//!
//! - IK over 1000 random reachable poses (FK of random joints) per robot: analytic (all
//!   solutions) for the robots with an analytic solver, numerical (from a random seed, no time
//!   budget) for every robot;
//! - the control loop over a long simulated execution: the KUKA's executor at 1 ms following a
//!   7 s trajectory through 12 waypoints (speed override lowered to 0.3 and raised again on
//!   the way: about 10 000 cycles), its own per-cycle work time and wake-up lateness (what the loop records, 1 µs
//!   buckets, on this machine as loaded as it is); and the computation of each of those cycles
//!   (path evaluation and 8 speed-scale sub-steps) timed on its own;
//! - planning over all MotionBenchMaker problems is `cella bench` (p50, p95, p99, max).
//!
//! Each input is timed 5 times and its fastest kept: the cost of the input, without the
//! interruptions of a shared machine (the executor's own numbers keep them). Prints one JSON
//! object a line (`set`, `name`, `inputs`, `count`, `p50_us`, `p99_us`, `max_us`), which
//! `tools/benchmarks-md` turns into tables; percentiles are nearest-rank.
//!
//! `cargo bench --bench worst_case` (`-- --poses N` for another number of poses).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use cella_control::{
    ExecTrajectory, Executor, ExecutorConfig, PathPoint, Ramp, SimDriver, SpeedScale, Status,
};
use cella_kinematics::ik::{IkOptions, IkSolutions, numerical};
use cella_kinematics::robot::IkSolver;
use cella_kinematics::{Rng, library};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{Limits, SegmentedTrajectory};
use nalgebra::Isometry3;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPEATS: usize = 5;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The fastest of [`REPEATS`] runs of `f`, µs.
fn fastest(mut f: impl FnMut()) -> f64 {
    (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
        .as_secs_f64()
        * 1e6
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Prints one line: `[p50, p99, max]` in µs, rounded to the nanosecond.
fn emit(set: &str, name: &str, inputs: &str, count: u64, us: [f64; 3], extra: serde_json::Value) {
    let ns = |v: f64| (v * 1e3).round() / 1e3;
    let mut line = serde_json::json!({
        "set": set, "name": name, "inputs": inputs, "count": count,
        "p50_us": ns(us[0]), "p99_us": ns(us[1]), "max_us": ns(us[2]),
    });
    if let (Some(l), Some(e)) = (line.as_object_mut(), extra.as_object()) {
        l.extend(e.clone());
    }
    println!("{line}");
}

/// [`emit`]s the percentiles of one time per input.
fn report(set: &str, name: &str, inputs: &str, mut times_us: Vec<f64>, extra: serde_json::Value) {
    times_us.sort_by(f64::total_cmp);
    let stats = [
        percentile(&times_us, 0.5),
        percentile(&times_us, 0.99),
        times_us.last().copied().unwrap_or(f64::NAN),
    ];
    emit(set, name, inputs, times_us.len() as u64, stats, extra);
}

/// Random reachable poses (FK of random joints) and independent random seeds.
fn poses(robot: &cella_kinematics::Robot, n: usize) -> (Vec<Isometry3<f64>>, Vec<Vec<f64>>) {
    let chain = robot.chain();
    let mut rng = Rng::new(1);
    let mut q = vec![0.0; chain.dof()];
    let mut targets = Vec::with_capacity(n);
    let mut seeds = Vec::with_capacity(n);
    for _ in 0..n {
        chain.random_configuration(&mut rng, &mut q);
        targets.push(chain.fk(&q).unwrap());
        chain.random_configuration(&mut rng, &mut q);
        seeds.push(q.clone());
    }
    (targets, seeds)
}

fn ik(n: usize) {
    for name in library::names() {
        let robot = library::load(name).unwrap();
        let (targets, seeds) = poses(&robot, n);
        let mut out = IkSolutions::new();
        if !matches!(robot.solver(), IkSolver::Numerical) {
            let options = IkOptions::default();
            let mut solved = 0;
            let times = targets
                .iter()
                .map(|t| {
                    let us = fastest(|| {
                        black_box(robot.ik(t, None, &options, &mut out).is_ok());
                    });
                    solved += usize::from(!out.is_empty());
                    us
                })
                .collect();
            report(
                "ik_analytic",
                &format!("ik_analytic/{name} ({})", robot.solver().name()),
                &format!("{n} random reachable poses, all solutions"),
                times,
                serde_json::json!({ "solved": solved }),
            );
        }
        let options = IkOptions {
            time_budget: None,
            ..IkOptions::default()
        };
        let mut solved = 0;
        let times = targets
            .iter()
            .zip(&seeds)
            .map(|(t, s)| {
                let us = fastest(|| {
                    black_box(numerical::solve(robot.chain(), t, Some(s), &options, &mut out).ok());
                });
                solved += usize::from(!out.is_empty());
                us
            })
            .collect();
        report(
            "ik_numerical",
            &format!("ik_numerical/{name}"),
            &format!("{n} random reachable poses from random seeds, no time budget"),
            times,
            serde_json::json!({ "solved": solved }),
        );
    }
}

/// A long motion of the KUKA: 12 waypoints, jerk-limited, blended, sampled at 4 ms.
fn long_motion() -> (Arc<cella_kinematics::Robot>, Limits, ExecTrajectory) {
    let robot = Arc::new(library::load("kuka_kr6_r700").unwrap());
    let limits = Limits::of_robot(&robot).unwrap();
    let mut waypoints = vec![robot.named_pose("home").unwrap().to_vec()];
    for _ in 0..3 {
        waypoints.extend([
            vec![1.2, -1.1, 1.2, 0.8, 1.0, 1.5],
            vec![0.6, -1.2, 1.4, 0.4, 0.8, 0.6],
            vec![-0.8, -1.4, 1.6, -0.5, 1.2, -1.0],
            vec![-1.5, -0.9, 1.0, 1.0, -0.8, 2.0],
        ]);
    }
    waypoints.truncate(12);
    let options = SegmentOptions {
        jerk_limited: true,
        max_deviation: 0.05,
    };
    let samples = SegmentedTrajectory::new(&waypoints, &limits, &options)
        .unwrap()
        .sample(0.004)
        .unwrap();
    (robot, limits, ExecTrajectory::new(samples).unwrap())
}

fn control() {
    let (robot, limits, traj) = long_motion();
    let duration = traj.duration();
    let period = Duration::from_millis(1);
    // the speed override over the execution: 0.3 from 25 % to 40 % of its nominal duration
    let slow = |t: f64| (0.25 * duration..0.4 * duration).contains(&t);

    // the real loop: its thread, the simulated controller, its own clock
    let mut start = PathPoint::zeros(6);
    traj.evaluate(0.0, 0, &mut start);
    let config = ExecutorConfig {
        period,
        ..ExecutorConfig::default()
    };
    let executor = Executor::spawn(
        "kuka",
        robot.clone(),
        limits.clone(),
        Box::new(SimDriver::new(start.q.as_slice())),
        config,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    executor.reset_stats();
    let began = Instant::now();
    executor.execute(Arc::new(traj.clone())).unwrap();
    let mut lowered = false;
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let s = executor.state();
        if s.status == Status::Idle || s.status == Status::Fault {
            assert_eq!(s.status, Status::Idle, "the simulated execution faulted");
            break;
        }
        if slow(s.trajectory_time) != lowered {
            lowered = !lowered;
            executor
                .set_override(if lowered { 0.3 } else { 1.0 })
                .unwrap();
        }
    }
    let wall = began.elapsed().as_secs_f64();
    let stats = executor.stats();
    drop(executor);
    let inputs = format!(
        "every 1 ms cycle of a {duration:.1} s execution (KUKA, 12 waypoints, override 0.3 on \
         15 % of it; {wall:.1} s wall), the loop's own clock, 1 µs buckets"
    );
    let extra = serde_json::json!({
        "overruns": stats.overruns, "realtime": stats.realtime, "resolution_us": 1,
    });
    let work = [stats.work_p50_us, stats.work_p99_us, stats.work_max_us];
    let late = [
        stats.jitter_p50_us,
        stats.jitter_p99_us,
        stats.jitter_max_us,
    ];
    for (what, us) in [("work", work), ("wake-up lateness", late)] {
        let name = format!("executor loop, {what} per cycle");
        emit("control", &name, &inputs, stats.cycles, us, extra.clone());
    }

    // each cycle's computation on its own: as the gate's control_cycle_moving, along the
    // whole execution with the same override schedule
    let (mut here, mut next) = (PathPoint::zeros(6), PathPoint::zeros(6));
    let h = period.as_secs_f64() / 8.0;
    // full speed from the first cycle, as the executor starts a motion (at rest at τ = 0)
    let (mut tau, mut scale, mut hint) = (0.0, SpeedScale { s: 1.0, rate: 0.0 }, 0);
    let mut times = Vec::new();
    while tau < duration {
        let target = if slow(tau) { 0.3 } else { 1.0 };
        let (mut t, mut sc, mut hi) = (tau, scale, hint);
        let us = fastest(|| {
            (t, sc, hi) = (tau, scale, hint);
            for _ in 0..8 {
                hi = traj.evaluate(t, hi, &mut here);
                traj.evaluate(t + sc.s * h, hi, &mut next);
                t += sc.step(target, &here, &next, &limits, Ramp::COMFORT, h);
            }
            black_box(t);
        });
        (tau, scale, hint) = (t, sc, hi);
        times.push(us);
    }
    report(
        "control",
        "cycle computation (path evaluation + 8 speed-scale sub-steps)",
        &format!(
            "every 1 ms cycle of the same execution ({duration:.1} s nominal), computed alone"
        ),
        times,
        serde_json::json!({}),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse
    let n = arg("--poses", 1000);
    ik(n);
    control();
}
