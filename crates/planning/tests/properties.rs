#![allow(clippy::unwrap_used)]
//! Properties of the joint planner ([`plan_joint`]) over random problems: every bundled robot
//! (from the library, so a new robot is covered), random boxes within its reach, free random
//! start and goal states, random velocity and acceleration scaling, sampling period and seed.
//!
//! - Any plan returned passes the trajectory validator against the scaled limits, starts at
//!   the start, ends at the goal, is sampled at the period, and is free at and between its
//!   samples; any refusal is an answer the problem warrants (no path within the budget).
//! - The same request with the same seed gives the same path and the same trajectory.
//!
//! Case counts are small (each case is a real planning problem); proptest picks new ones on
//! every run and prints the smallest failing problem it finds.

use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
use cella_kinematics::{Rng, library};
use cella_planning::{JointSpace, PlanOptions, PlannedMotion, PlanningError, plan_joint};
use cella_trajectory::{Limits, validate};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// One random planning problem.
#[derive(Debug, Clone)]
struct Case {
    robot: usize,
    scene_seed: u64,
    velocity_scale: f64,
    acceleration_scale: f64,
    period: f64,
    seed: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    let robots = library::names().count();
    (
        0..robots,
        any::<u64>(),
        0.1f64..=1.0,
        0.1f64..=1.0,
        prop::sample::select(vec![0.002, 0.004, 0.008]),
        any::<u64>(),
    )
        .prop_map(
            |(robot, scene_seed, velocity_scale, acceleration_scale, period, seed)| Case {
                robot,
                scene_seed,
                velocity_scale,
                acceleration_scale,
                period,
                seed,
            },
        )
}

/// A problem ready to plan: the robot among boxes, free start and goal.
struct Problem {
    name: &'static str,
    checker: Checker,
    space: JointSpace,
    limits: Limits,
    start: Vec<f64>,
    goal: Vec<f64>,
    options: PlanOptions,
}

/// Three boxes within the robot's reach (none at its base), and free start and goal states
/// drawn from `scene_seed`; `None` when no free state was found.
fn problem(robots: &[Arc<RobotGeometry>], case: &Case) -> Option<Problem> {
    let geometry = robots[case.robot].clone();
    let robot = geometry.robot();
    let name = library::names().nth(case.robot).unwrap();
    let reach = geometry.lever_arms().iter().copied().fold(0.0, f64::max);
    let mut rng = Rng::new(case.scene_seed);
    let mut world = World::new();
    for i in 0..3 {
        let (r, a) = (rng.uniform(0.45, 0.9) * reach, rng.uniform(-3.1, 3.1));
        let s = 0.08 * reach;
        world
            .add(WorldObject {
                name: format!("box{i}"),
                shape: Shape::Box {
                    half_extents: [s, 0.6 * s, 1.5 * s],
                },
                pose: Isometry3::from_parts(
                    Translation3::new(r * a.cos(), r * a.sin(), rng.uniform(0.0, 0.8) * reach),
                    UnitQuaternion::from_euler_angles(0.0, 0.0, rng.uniform(-1.5, 1.5)),
                ),
                padding: 0.0,
            })
            .unwrap();
    }
    let checker = Checker::new(geometry.clone(), Isometry3::identity(), &world, &[]).unwrap();
    let mut scratch = checker.scratch();
    // start anywhere; the goal anywhere too, or (about every other problem) within 1 rad per
    // joint of the start: a far goal of an arm whose joints turn ±2π may lie in another
    // component of the free space, which only the budget ends (the UR5e's often do)
    let chain = robot.chain();
    let limits = Limits::of_robot(robot).unwrap();
    let near = rng.uniform(0.0, 1.0) < 0.5;
    let mut q = vec![0.0; chain.dof()];
    let mut start: Option<Vec<f64>> = None;
    let mut goal = None;
    for _ in 0..400 {
        chain.random_configuration(&mut rng, &mut q);
        if let Some(s) = &start
            && near
        {
            for (j, (x, s)) in q.iter_mut().zip(s).enumerate() {
                *x = (s + (*x - s).clamp(-1.0, 1.0)).clamp(limits.lower[j], limits.upper[j]);
            }
        }
        if !checker.is_valid(&mut scratch, &q) {
            continue;
        }
        if start.is_none() {
            start = Some(q.clone());
        } else {
            goal = Some(q.clone());
            break;
        }
    }
    let (start, goal) = (start?, goal?);
    Some(Problem {
        name,
        space: JointSpace::of_chain(chain).unwrap(),
        limits,
        checker,
        start,
        goal,
        options: PlanOptions {
            seed: case.seed,
            velocity_scale: case.velocity_scale,
            acceleration_scale: case.acceleration_scale,
            period: case.period,
            time_budget: Duration::from_millis(500),
            ..PlanOptions::default()
        },
    })
}

fn plan(p: &Problem) -> Result<PlannedMotion, PlanningError> {
    plan_joint(
        &p.checker,
        &p.space,
        &p.limits,
        &p.start,
        std::slice::from_ref(&p.goal),
        &p.options,
        None,
    )
}

fn library_robots() -> Vec<Arc<RobotGeometry>> {
    library::names()
        .map(|n| Arc::new(RobotGeometry::library(n).unwrap()))
        .collect()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Fails the case with `message` unless `ok`.
fn check(ok: bool, message: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(message()))
    }
}

#[test]
fn any_plan_returned_passes_the_validator_from_start_to_goal() {
    let robots = library_robots();
    let (tried, planned) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let result = runner(24).run(&cases(), |case| {
        let Some(p) = problem(&robots, &case) else {
            return Err(TestCaseError::reject("no free start or goal"));
        };
        tried.fetch_add(1, Ordering::Relaxed);
        let m = match plan(&p) {
            Ok(m) => m,
            // the one refusal a free start and a free goal allow
            Err(PlanningError::Timeout { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{}: {e}", p.name))),
        };
        planned.fetch_add(1, Ordering::Relaxed);
        let s = &m.samples;
        let scaled = p
            .limits
            .scaled(case.velocity_scale, case.acceleration_scale)
            .unwrap();
        validate(s, &scaled, 1e-6).map_err(|e| TestCaseError::fail(format!("{}: {e}", p.name)))?;
        check(s.q_at(0) == &p.start[..], || {
            format!("{}: starts at {:?}", p.name, s.q_at(0))
        })?;
        check(s.q_at(s.len() - 1) == &p.goal[..], || {
            format!("{}: ends at {:?}", p.name, s.q_at(s.len() - 1))
        })?;
        check(
            m.path.first() == Some(&p.start) && m.path.last() == Some(&p.goal),
            || {
                format!(
                    "{}: path from {:?} to {:?}",
                    p.name,
                    m.path.first(),
                    m.path.last()
                )
            },
        )?;
        let mut scratch = p.checker.scratch();
        for k in 1..s.len() {
            let step = s.times[k] - s.times[k - 1];
            check(step > 0.0 && step <= case.period * (1.0 + 1e-9), || {
                format!("{}: sample {k} {step} s after the one before", p.name)
            })?;
            check(
                p.checker
                    .motion_valid(&mut scratch, s.q_at(k - 1), s.q_at(k)),
                || format!("{}: collides between samples {} and {k}", p.name, k - 1),
            )?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (tried, planned) = (tried.into_inner(), planned.into_inner());
    assert!(
        2 * planned >= tried,
        "only {planned} of {tried} problems planned: the property was hardly exercised"
    );
}

#[test]
fn the_same_seed_gives_the_same_path() {
    let robots = library_robots();
    let compared = AtomicUsize::new(0);
    let result = runner(12).run(&cases(), |case| {
        let Some(p) = problem(&robots, &case) else {
            return Err(TestCaseError::reject("no free start or goal"));
        };
        match (plan(&p), plan(&p)) {
            (Ok(a), Ok(b)) => {
                compared.fetch_add(1, Ordering::Relaxed);
                check(a.path == b.path, || {
                    format!("{}: paths differ:\n{:?}\n{:?}", p.name, a.path, b.path)
                })?;
                check(
                    a.samples.times == b.samples.times && a.samples.q == b.samples.q,
                    || format!("{}: trajectories differ", p.name),
                )?;
                check(
                    (a.goal_index, a.direct, a.iterations)
                        == (b.goal_index, b.direct, b.iterations),
                    || format!("{}: searches differ", p.name),
                )
            }
            // a budget ran out: wall-clock time decided, not the seed
            (Err(PlanningError::Timeout { .. }), _) | (_, Err(PlanningError::Timeout { .. })) => {
                Ok(())
            }
            (a, b) => Err(TestCaseError::fail(format!(
                "{}: {:?} / {:?}",
                p.name,
                a.err().map(|e| e.to_string()),
                b.err().map(|e| e.to_string())
            ))),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        compared.into_inner() >= 6,
        "too few problems planned to compare"
    );
}
