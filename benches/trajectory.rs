//! Trajectory generation speed: timing a 10-waypoint 7-axis path (joint-synchronized
//! segments, trapezoidal and jerk-limited; time-optimal with blends), one PTP profile, and sampling a 5 s trajectory at
//! 1 ms.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use cella_kinematics::Rng;
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{
    Limits, ScalarProfile, SegmentedTrajectory, TimeOptimalOptions, TimeOptimalTrajectory,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let robot = cella_kinematics::library::load("panda").unwrap();
    let limits = Limits::of_robot(&robot).unwrap();
    let mut rng = Rng::new(3);
    let mut path = Vec::new();
    for _ in 0..10 {
        let mut q = vec![0.0; 7];
        robot.chain().random_configuration(&mut rng, &mut q);
        path.push(q);
    }
    for (label, jerk, deviation) in [
        ("trapezoidal", false, 0.0),
        ("double_s", true, 0.0),
        ("double_s_overlap_blend_0.05", true, 0.05),
    ] {
        let options = SegmentOptions {
            jerk_limited: jerk,
            max_deviation: deviation,
        };
        println!(
            "{label}: {:.3} s",
            SegmentedTrajectory::new(&path, &limits, &options)
                .unwrap()
                .duration()
        );
        c.bench_function(&format!("time_path/panda_10_waypoints/{label}"), |b| {
            b.iter(|| SegmentedTrajectory::new(black_box(&path), &limits, &options).unwrap())
        });
    }
    for deviation in [0.05, 0.1] {
        let options = TimeOptimalOptions {
            max_deviation: deviation,
            ..TimeOptimalOptions::default()
        };
        let traj = TimeOptimalTrajectory::new(&path, &limits, &options).unwrap();
        println!(
            "time-optimal blended (deviation {deviation}): {:.3} s, stopping at every waypoint {:.3} s",
            traj.duration(),
            SegmentedTrajectory::new(
                &path,
                &limits,
                &SegmentOptions {
                    jerk_limited: false,
                    ..SegmentOptions::default()
                }
            )
            .unwrap()
            .duration()
        );
        c.bench_function(
            &format!("time_path/panda_10_waypoints/time_optimal_blend_{deviation}"),
            |b| b.iter(|| TimeOptimalTrajectory::new(black_box(&path), &limits, &options).unwrap()),
        );
    }
    c.bench_function("ptp_profile/double_s", |b| {
        b.iter(|| ScalarProfile::double_s(black_box(1.3), 2.1, 10.0, 5000.0).unwrap())
    });
    let options = SegmentOptions {
        jerk_limited: true,
        ..SegmentOptions::default()
    };
    let slow = limits.scaled(0.2, 0.2).unwrap();
    let traj = SegmentedTrajectory::new(&path[..3], &slow, &options).unwrap();
    let (mut q, mut qd, mut qdd) = (vec![0.0; 7], vec![0.0; 7], vec![0.0; 7]);
    let mut t = 0.0;
    c.bench_function("evaluate/panda", |b| {
        b.iter(|| {
            t = (t + 0.001) % traj.duration();
            traj.evaluate(black_box(t), &mut q, &mut qd, &mut qdd);
        })
    });
    // a 5 s trajectory sampled at 1 ms
    let five = limits.scaled(5.0f64.recip().min(1.0), 0.2).unwrap();
    let traj5 = SegmentedTrajectory::new(&path[..2], &five, &options).unwrap();
    println!("sampling benchmark trajectory: {:.2} s", traj5.duration());
    c.bench_function("sample/1ms", |b| {
        b.iter(|| traj5.sample(black_box(0.001)).unwrap())
    });
}

criterion_group!(name = group; config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2)); targets = benches);
criterion_main!(group);
