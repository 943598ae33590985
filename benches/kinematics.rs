//! Kinematics hot paths: FK to the tip, all-link FK, Jacobian, analytic IK (all solutions) and
//! numerical IK. Run: `cargo bench --bench kinematics`.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stderr)]

use cella_kinematics::ik::{IkOptions, IkSolutions, numerical};
use cella_kinematics::{Rng, library};
use criterion::{BatchSize, Criterion, criterion_group};
use nalgebra::Isometry3;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Joint vectors, their TCP poses, and independent random seeds.
type Samples = (Vec<Vec<f64>>, Vec<Isometry3<f64>>, Vec<Vec<f64>>);

/// Random reachable poses (FK of random joints) and random seeds for a robot's group.
fn poses(name: &str, n: usize) -> Samples {
    let robot = library::load(name).unwrap();
    let chain = robot.chain();
    let mut rng = Rng::new(1);
    let mut qs = Vec::new();
    let mut seeds = Vec::new();
    for _ in 0..n {
        let mut q = vec![0.0; chain.dof()];
        chain.random_configuration(&mut rng, &mut q);
        qs.push(q.clone());
        chain.random_configuration(&mut rng, &mut q);
        seeds.push(q);
    }
    let targets = qs.iter().map(|q| chain.fk(q).unwrap()).collect();
    (qs, targets, seeds)
}

fn fk(c: &mut Criterion) {
    for name in ["panda", "ur5e", "kuka_kr6_r700"] {
        let robot = library::load(name).unwrap();
        let (qs, _, _) = poses(name, 64);
        let mut i = 0;
        c.bench_function(&format!("fk_tip/{name}"), |b| {
            b.iter(|| {
                i = (i + 1) & 63;
                black_box(robot.chain().fk(black_box(&qs[i])).unwrap())
            })
        });
    }
    let robot = library::load("panda").unwrap();
    let (qs, _, _) = poses("panda", 64);
    let model = robot.model();
    let mut full = vec![0.0; model.variables().len()];
    let mut out = vec![Isometry3::identity(); model.links().len()];
    let mut i = 0;
    c.bench_function("fk_all_links/panda", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            robot.model_state(&qs[i], &mut full).unwrap();
            model.link_poses(black_box(&full), &mut out).unwrap();
            black_box(&out);
        })
    });
    let mut jac = [[0.0; 6]; 7];
    c.bench_function("jacobian/panda", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(robot.chain().jacobian(black_box(&qs[i]), &mut jac).unwrap())
        })
    });
}

fn analytic_ik(c: &mut Criterion) {
    for name in ["kuka_kr6_r700", "abb_irb2400", "ur5e"] {
        let robot = library::load(name).unwrap();
        let (_, targets, _) = poses(name, 64);
        let options = IkOptions::default();
        let mut out = IkSolutions::new();
        let mut i = 0;
        c.bench_function(&format!("ik_analytic_all/{name}"), |b| {
            b.iter(|| {
                i = (i + 1) & 63;
                robot
                    .ik(black_box(&targets[i]), None, &options, &mut out)
                    .unwrap();
                black_box(out.len())
            })
        });
        let single = IkOptions {
            all_turns: false,
            ..IkOptions::default()
        };
        c.bench_function(&format!("ik_analytic_configs/{name}"), |b| {
            b.iter(|| {
                i = (i + 1) & 63;
                robot
                    .ik(black_box(&targets[i]), None, &single, &mut out)
                    .unwrap();
                black_box(out.len())
            })
        });
    }
}

fn numerical_ik(c: &mut Criterion) {
    let robot = library::load("panda").unwrap();
    let (_, targets, seeds) = poses("panda", 256);
    let options = IkOptions {
        time_budget: None,
        ..IkOptions::default()
    };
    let mut out = IkSolutions::new();
    let mut i = 0;
    c.bench_function("ik_numerical/panda_random_seed", |b| {
        b.iter_batched(
            || {
                i = (i + 1) & 255;
                i
            },
            |k| {
                let _ = numerical::solve(
                    robot.chain(),
                    &targets[k],
                    Some(&seeds[k]),
                    &options,
                    &mut out,
                );
                black_box(out.len())
            },
            BatchSize::SmallInput,
        )
    });
}

/// Median / p99 / worst of numerical IK per pose (criterion reports means and medians of
/// batches; the worst single solve matters for a planner's budget).
fn numerical_ik_distribution() {
    for name in ["panda", "ur5e"] {
        let robot = library::load(name).unwrap();
        let (_, targets, seeds) = poses(name, 1000);
        let options = IkOptions {
            time_budget: None,
            ..IkOptions::default()
        };
        let mut out = IkSolutions::new();
        let mut times: Vec<Duration> = targets
            .iter()
            .zip(&seeds)
            .map(|(t, s)| {
                let start = Instant::now();
                let _ = numerical::solve(robot.chain(), t, Some(s), &options, &mut out);
                start.elapsed()
            })
            .collect();
        times.sort();
        eprintln!(
            "ik_numerical/{name} over 1000 random poses from random seeds: median {:?}, p99 {:?}, worst {:?}",
            times[500], times[990], times[999]
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = fk, analytic_ik, numerical_ik
}

fn main() {
    benches();
    numerical_ik_distribution();
    Criterion::default().configure_from_args().final_summary();
}
