//! The workloads of the instruction-count latency gate (`tools/latency-gate`): each case sets
//! up its inputs, then runs its hot path a fixed number of times inside [`gate_measure`], the
//! only function the gate's callgrind run collects. Prints `<case> <iterations> <allocations>`:
//! a counting allocator sees every allocation the measured region makes (the control loop and
//! the collision checks must make none).
//!
//! `plan_service_mbm` plans through the gRPC service in process: the service runs the planning
//! on tokio's blocking pool (another thread), so the gate also collects inside every
//! `BlockingTask::poll` (tokio's wrapper around a `spawn_blocking` closure), on whatever thread
//! runs it; that case is the only one with a runtime.
//!
//! `cargo run --example latency_gate -- <case>`; `list` prints every case.
// unsafe: only the counting allocator below (a tool, not the service), which forwards to the
// system allocator
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout, unsafe_code)]

use cella::problem::Problem;
use cella_cell::{CellRobot, CellSnapshot};
use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
use cella_control::jog::Jog;
use cella_control::{
    ControlOptions, ExecTrajectory, JogTarget, JointVector, PathPoint, Ramp, SpeedScale,
};
use cella_kinematics::ik::{IkOptions, IkSolutions, numerical};
use cella_kinematics::{Rng, library};
use cella_planning::{JointSpace, PlanOptions, plan_joint};
use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_server::CellService;
use cella_server::CellServer;
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{Limits, SegmentedTrajectory};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counter is a relaxed atomic with no other effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's, passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[path = "../benches/common/near_robot.rs"]
mod near_robot;

#[global_allocator]
static GLOBAL: Counting = Counting;

const CASES: &[&str] = &[
    "fk_tip_panda",
    "jacobian_panda",
    "ik_analytic_ur5e",
    "ik_numerical_panda",
    "is_valid_free_panda_mbm",
    "is_valid_any_panda_mbm",
    "motion_valid_panda_mbm",
    "is_valid_near_robot_demo",
    "plan_mbm_five_problems",
    "plan_service_mbm",
    "retime_three_waypoints_kuka",
    "control_cycle_moving",
    "control_cycle_stopping",
    "control_cycle_jog",
];

/// Runs `work` `n` times: the region the gate measures.
#[inline(never)]
fn gate_measure(n: usize, work: &mut dyn FnMut(usize)) {
    for i in 0..n {
        work(i);
    }
}

fn run(case: &str, n: usize, mut work: impl FnMut(usize)) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    gate_measure(n, &mut work);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    println!("{case} {n} {allocations}");
}

fn random_states(name: &str, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let robot = library::load(name).unwrap();
    let chain = robot.chain();
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let mut q = vec![0.0; chain.dof()];
            chain.random_configuration(&mut rng, &mut q);
            q
        })
        .collect()
}

fn mbm(scene: &str, k: usize) -> Problem {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/problems/panda-mbm");
    Problem::from_file(&dir.join(format!("{scene}/{scene}_{k:04}.json"))).unwrap()
}

fn checker_states(checker: &Checker, n: usize, valid: Option<bool>) -> Vec<Vec<f64>> {
    let chain = checker.geometry().robot().chain();
    let mut rng = Rng::new(11);
    let mut s = checker.scratch();
    let mut out = Vec::new();
    let mut q = vec![0.0; chain.dof()];
    while out.len() < n {
        chain.random_configuration(&mut rng, &mut q);
        if valid.is_none_or(|v| checker.is_valid(&mut s, &q) == v) {
            out.push(q.clone());
        }
    }
    out
}

fn kuka_motion() -> (Limits, ExecTrajectory, Vec<f64>) {
    let robot = library::load("kuka_kr6_r700").unwrap();
    let limits = Limits::of_robot(&robot).unwrap();
    let start = robot.named_pose("home").unwrap().to_vec();
    let options = SegmentOptions {
        jerk_limited: true,
        max_deviation: 0.0,
    };
    let samples = SegmentedTrajectory::new(
        &[start.clone(), vec![1.2, -1.1, 1.2, 0.8, 1.0, 1.5]],
        &limits,
        &options,
    )
    .unwrap()
    .sample(0.004)
    .unwrap();
    (limits, ExecTrajectory::new(samples).unwrap(), start)
}

/// One control cycle of an execution: the path point and eight speed-scale sub-steps towards
/// `target` (1: moving on, 0 with [`Ramp::STOP`]: a category-2 stop).
fn control_cycle(case: &str, target: f64, ramp: Ramp) {
    let (limits, traj, _) = kuka_motion();
    let (mut here, mut next) = (PathPoint::zeros(6), PathPoint::zeros(6));
    let mut hint = 0;
    let h = 0.004 / 8.0;
    run(case, 500, |i| {
        let mut tau = 0.2 * traj.duration() + 0.001 * i as f64;
        let mut scale = SpeedScale { s: 0.8, rate: 0.0 };
        for _ in 0..8 {
            hint = traj.evaluate(tau, hint, &mut here);
            traj.evaluate(tau + scale.s * h, hint, &mut next);
            tau += scale.step(target, &here, &next, &limits, ramp, h);
        }
        black_box(tau);
    });
}

/// One `Plan` through the service layer in process: the `CellService` implementation called
/// with a `tonic::Request` on a tokio runtime (no transport), for a cell made of one
/// MotionBenchMaker problem (bookshelf_small 3, also planned by `plan_mbm_five_problems`), so
/// the count is that planning (same options, same seed) plus what the service adds: request
/// checks, the live snapshot, the checker against the cell, the blocking pool hand-off and
/// the response message.
fn plan_service(case: &str) {
    let p = mbm("bookshelf_small", 3);
    let cell = Arc::new(CellSnapshot {
        version: 1,
        robots: vec![CellRobot {
            id: "panda".into(),
            model: "panda".into(),
            geometry: p.geometry.clone(),
            base: p.base,
            joints: p.start.clone(),
            control_period_ms: 8,
            mounted_on: None,
        }],
        world: p.world.clone(),
    });
    // the executor's loop runs on its own thread, outside the collected region (no busy wait,
    // no real-time request: it only slows valgrind down)
    let control = ControlOptions {
        spin: Duration::ZERO,
        realtime: false,
        ..ControlOptions::default()
    };
    let service = CellServer::new(cell, 1, control).unwrap();
    // one blocking thread, kept alive: starting it is not the service's work per request
    let rt = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(3600))
        .build()
        .unwrap();
    let request = pb::PlanRequest {
        robot_id: "panda".into(),
        start: p.start.clone(),
        goals: p
            .goals
            .iter()
            .map(|g| pb::Goal {
                kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                    values: g.clone(),
                })),
            })
            .collect(),
        motion: pb::MotionType::Free.into(),
        // the longest budget a request may ask for: no run reaches it, so the result never
        // depends on the clock
        time_budget: 60.0,
        seed: 1,
        ..Default::default()
    };
    let plan = |r: pb::PlanRequest| {
        let answer = rt.block_on(service.plan(tonic::Request::new(r))).unwrap();
        answer.into_inner().trajectory.unwrap().points.len()
    };
    // starts the blocking pool's thread, which is not the service's work per request; with a
    // closure that does nothing, as the gate collects in every blocking task, measured or not
    rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    let n = 3;
    let mut requests: Vec<Option<pb::PlanRequest>> = vec![Some(request); n];
    run(case, n, |i| {
        black_box(plan(requests[i].take().unwrap()));
    });
}

fn main() {
    let case = std::env::args().nth(1).unwrap_or_default();
    match case.as_str() {
        "list" => {
            for c in CASES {
                println!("{c}");
            }
        }
        "fk_tip_panda" => {
            let robot = library::load("panda").unwrap();
            let qs = random_states("panda", 64, 1);
            run(&case, 2000, |i| {
                black_box(robot.chain().fk(&qs[i & 63]).unwrap());
            });
        }
        "jacobian_panda" => {
            let robot = library::load("panda").unwrap();
            let qs = random_states("panda", 64, 1);
            let mut jac = [[0.0; 6]; 7];
            run(&case, 2000, |i| {
                black_box(robot.chain().jacobian(&qs[i & 63], &mut jac).unwrap());
            });
        }
        "ik_analytic_ur5e" => {
            let robot = library::load("ur5e").unwrap();
            let targets: Vec<Isometry3<f64>> = random_states("ur5e", 64, 1)
                .iter()
                .map(|q| robot.chain().fk(q).unwrap())
                .collect();
            let (options, mut out) = (IkOptions::default(), IkSolutions::new());
            run(&case, 500, |i| {
                robot
                    .ik(&targets[i & 63], None, &options, &mut out)
                    .unwrap();
            });
        }
        "ik_numerical_panda" => {
            let robot = library::load("panda").unwrap();
            let targets: Vec<Isometry3<f64>> = random_states("panda", 64, 1)
                .iter()
                .map(|q| robot.chain().fk(q).unwrap())
                .collect();
            let seeds = random_states("panda", 64, 2);
            // no clock: the result never depends on how fast the machine (or valgrind) is
            let options = IkOptions {
                time_budget: None,
                ..IkOptions::default()
            };
            let mut out = IkSolutions::new();
            run(&case, 64, |i| {
                let seed = Some(seeds[i].as_slice());
                black_box(
                    numerical::solve(robot.chain(), &targets[i], seed, &options, &mut out).ok(),
                );
            });
        }
        "is_valid_free_panda_mbm" | "is_valid_any_panda_mbm" => {
            let p = mbm("table_pick", 1);
            let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
            let filter = (case == "is_valid_free_panda_mbm").then_some(true);
            let states = checker_states(&checker, 256, filter);
            let mut s = checker.scratch();
            run(&case, 2000, |i| {
                black_box(checker.is_valid(&mut s, &states[i & 255]));
            });
        }
        "is_valid_near_robot_demo" => {
            let (checker, states) = near_robot::near_robot_states(32);
            let mut s = checker.scratch();
            run(&case, 500, |i| {
                black_box(checker.is_valid(&mut s, &states[i % states.len()]));
            });
        }
        "motion_valid_panda_mbm" => {
            let p = mbm("bookshelf_small", 1);
            let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
            let states = checker_states(&checker, 64, Some(true));
            let mut s = checker.scratch();
            run(&case, 200, |i| {
                let (a, b) = (&states[i & 63], &states[(i * 7 + 3) & 63]);
                black_box(checker.motion_valid(&mut s, a, b));
            });
        }
        "plan_mbm_five_problems" => {
            let problems: Vec<Problem> = [
                ("table_pick", 1),
                ("table_under_pick", 2),
                ("bookshelf_small", 3),
                ("bookshelf_tall", 4),
                ("box", 5),
            ]
            .iter()
            .map(|(scene, k)| mbm(scene, *k))
            .collect();
            let options = PlanOptions {
                // a budget no run reaches, so the result never depends on the clock
                time_budget: Duration::from_secs(600),
                seed: 1,
                ..PlanOptions::default()
            };
            run(&case, problems.len(), |i| {
                let p = &problems[i];
                let robot = p.geometry.robot();
                let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
                let space = JointSpace::of_chain(robot.chain()).unwrap();
                let limits = Limits::of_robot(robot).unwrap();
                let m = plan_joint(
                    &checker, &space, &limits, &p.start, &p.goals, &options, None,
                );
                black_box(m.unwrap().samples.len());
            });
        }
        "plan_service_mbm" => plan_service(&case),
        "retime_three_waypoints_kuka" => {
            let robot = library::load("kuka_kr6_r700").unwrap();
            let limits = Limits::of_robot(&robot).unwrap();
            let waypoints = vec![
                robot.named_pose("home").unwrap().to_vec(),
                vec![0.6, -1.2, 1.4, 0.4, 0.8, 0.6],
                vec![1.2, -1.1, 1.2, 0.8, 1.0, 1.5],
            ];
            let options = SegmentOptions {
                jerk_limited: true,
                max_deviation: 0.05,
            };
            run(&case, 20, |_| {
                let t = SegmentedTrajectory::new(&waypoints, &limits, &options).unwrap();
                black_box(t.sample(0.004).unwrap().len());
            });
        }
        "control_cycle_moving" => control_cycle(&case, 1.0, Ramp::COMFORT),
        "control_cycle_stopping" => control_cycle(&case, 0.0, Ramp::STOP),
        "control_cycle_jog" => {
            let geometry = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
            let mut world = World::new();
            world
                .add(WorldObject {
                    name: "table".into(),
                    shape: Shape::Box {
                        half_extents: [0.5, 0.5, 0.05],
                    },
                    pose: Isometry3::from_parts(
                        Translation3::new(0.4, 0.0, -0.06),
                        UnitQuaternion::identity(),
                    ),
                    padding: 0.0,
                })
                .unwrap();
            let checker = Checker::new(geometry, Isometry3::identity(), &world, &[]).unwrap();
            let mut scratch = checker.scratch();
            let (limits, _, start) = kuka_motion();
            let robot = library::load("kuka_kr6_r700").unwrap();
            let mut jog = Jog::new(6);
            let mut target = JointVector::zeros(6);
            let mut stop = vec![0.0; 6];
            run(&case, 500, |_| {
                jog.target_velocity(
                    &JogTarget::Twist([0.0, 0.1, -0.1, 0.0, 0.0, 0.2]),
                    robot.chain(),
                    &start,
                    &limits,
                    0.25,
                    &mut target,
                );
                let v = jog.next_velocity(&target, &limits, 0.004);
                Jog::stop_state(&start, &v, &limits, 0.004, &mut stop);
                black_box(
                    checker.is_valid(&mut scratch, &stop)
                        && checker.motion_valid(&mut scratch, &start, &stop),
                );
            });
        }
        other => {
            eprintln!("unknown case '{other}'; `list` prints them");
            std::process::exit(2);
        }
    }
}
