//! Collision checking speed: single-state validity of the Panda among the obstacles of
//! MotionBenchMaker scenes (and a synthetic 30-obstacle cell), one robot near another,
//! distance queries, and motion (edge) checks per metre of robot motion.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use cella::problem::Problem;
use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
use cella_kinematics::Rng;
use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

#[path = "common/near_robot.rs"]
mod near_robot;

/// 30 boxes, cylinders and spheres around the Panda, 0.35-0.9 m from its base.
fn synthetic_world() -> World {
    let mut rng = Rng::new(5);
    let mut w = World::new();
    for i in 0..30 {
        let (r, a) = (rng.uniform(0.45, 0.9), rng.uniform(-3.1, 3.1));
        let pose = Isometry3::from_parts(
            Translation3::new(r * a.cos(), r * a.sin(), rng.uniform(0.0, 1.0)),
            UnitQuaternion::from_euler_angles(rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), 0.0),
        );
        let shape = match i % 3 {
            0 => Shape::Box {
                half_extents: [0.05, 0.04, 0.06],
            },
            1 => Shape::Cylinder {
                radius: 0.03,
                half_length: 0.07,
            },
            _ => Shape::Sphere { radius: 0.05 },
        };
        w.add(WorldObject {
            name: format!("o{i}"),
            shape,
            pose,
            padding: 0.0,
        })
        .unwrap();
    }
    w
}

fn random_states(checker: &Checker, n: usize, valid: Option<bool>) -> Vec<Vec<f64>> {
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

fn bench_checker(c: &mut Criterion, label: &str, checker: &Checker) {
    let mut s = checker.scratch();
    for (kind, filter) in [("valid", Some(true)), ("any", None)] {
        let states = random_states(checker, 256, filter);
        let mut i = 0;
        c.bench_function(&format!("is_valid/{label}/{kind}_state"), |b| {
            b.iter(|| {
                i = (i + 1) % states.len();
                black_box(checker.is_valid(&mut s, &states[i]))
            })
        });
    }
    for (kind, filter) in [("valid", Some(true)), ("any", None)] {
        let states: Vec<f64> = random_states(checker, 256, filter).concat();
        bench_batches(c, label, &format!("{kind}_states_x256"), checker, &states);
    }
    let states = random_states(checker, 256, Some(true));
    let mut i = 0;
    c.bench_function(&format!("distance/{label}"), |b| {
        b.iter(|| {
            i = (i + 1) % states.len();
            black_box(checker.distance(&mut s, &states[i]))
        })
    });
}

/// `is_valid_batch` and the batch filter alone on `states` (joint vectors back to back), per
/// state, in group `is_valid_batch/<label>`; prints how many states the filter clears.
fn bench_batches(c: &mut Criterion, label: &str, name: &str, checker: &Checker, states: &[f64]) {
    let n = states.len() / checker.dof();
    let mut s = checker.scratch();
    let mut out = vec![false; n];
    let mut group = c.benchmark_group(format!("is_valid_batch/{label}"));
    group.throughput(criterion::Throughput::Elements(n as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            checker
                .is_valid_batch(&mut s, black_box(states), &mut out)
                .unwrap();
            black_box(&out);
        })
    });
    group.bench_function(format!("{name}_prefilter_only"), |b| {
        b.iter(|| {
            checker
                .batch_prefilter(&mut s, black_box(states), &mut out)
                .unwrap();
            black_box(&out);
        })
    });
    group.finish();
    checker.batch_prefilter(&mut s, states, &mut out).unwrap();
    let cleared = out.iter().filter(|&&v| v).count();
    println!("is_valid_batch/{label}/{name}: the filter clears {cleared}/{n}");
}

/// The MotionBenchMaker problems; a benchmark run without them fails rather than reporting
/// fewer benchmarks than it names.
fn problems() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/problems/panda-mbm");
    assert!(
        d.is_dir(),
        "{} is missing: the scene benchmarks need ../shared (see README.md)",
        d.display()
    );
    d
}

fn benches(c: &mut Criterion) {
    let g = Arc::new(RobotGeometry::library("panda").unwrap());
    let synthetic =
        Checker::new(g.clone(), Isometry3::identity(), &synthetic_world(), &[]).unwrap();
    bench_checker(c, "panda_30_obstacles", &synthetic);
    // edge check: a free straight motion, per metre of the fastest-moving robot point bound
    let mut s = synthetic.scratch();
    let states = random_states(&synthetic, 2000, Some(true));
    let pairs: Vec<(&Vec<f64>, &Vec<f64>)> = states
        .iter()
        .zip(states.iter().skip(1))
        .filter(|(a, b)| synthetic.motion_valid(&mut s, a, b))
        .take(64)
        .collect();
    let sweep: f64 = pairs
        .iter()
        .map(|(a, b)| synthetic.motion_steps(a, b) as f64 * synthetic.resolution())
        .sum::<f64>()
        / pairs.len().max(1) as f64;
    println!(
        "motion_valid: {} free edges, mean bounded sweep {sweep:.3} m",
        pairs.len()
    );
    // states along those edges at the motion resolution: the coherent batches a motion check
    // hands to the batch path
    let mut along: Vec<f64> = Vec::new();
    for (a, b) in &pairs {
        let n = synthetic.motion_steps(a, b);
        for k in 0..n {
            let t = k as f64 / n as f64;
            along.extend(a.iter().zip(b.iter()).map(|(x, y)| x + t * (y - x)));
        }
    }
    let dof = synthetic.dof();
    let n_along = (along.len() / dof / 8) * 8;
    along.truncate(n_along * dof);
    bench_batches(
        c,
        "panda_30_obstacles",
        &format!("edge_states_x{n_along}"),
        &synthetic,
        &along,
    );
    let mut i = 0;
    c.bench_function("motion_valid/panda_30_obstacles/free_edge", |b| {
        b.iter(|| {
            i = (i + 1) % pairs.len();
            black_box(synthetic.motion_valid(&mut s, pairs[i].0, pairs[i].1))
        })
    });
    // one robot near another (the demo cell's UR5e within 3 cm of the KUKA's padding):
    // robot pairs decided hull to hull
    let (near, near_states) = near_robot::near_robot_states(64);
    let mut s = near.scratch();
    let mut i = 0;
    c.bench_function("is_valid/ur5e_near_kuka/near_state", |b| {
        b.iter(|| {
            i = (i + 1) % near_states.len();
            black_box(near.is_valid(&mut s, &near_states[i]))
        })
    });
    let dir = problems();
    for scene in ["table_pick", "bookshelf_small", "cage"] {
        let p = Problem::from_file(&dir.join(format!("{scene}/{scene}_0001.json"))).unwrap();
        let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
        bench_checker(c, &format!("mbm_{scene}"), &checker);
    }
}

criterion_group!(name = group; config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2)); targets = benches);
criterion_main!(group);
