//! The cell's safety authority: what deciding an admission costs while another robot holds a
//! reservation (the KUKA executing a 2 s motion, held at its start by a speed override of 0 so
//! every iteration sees the same reservation): building that reservation, the UR5e's checker
//! against it (what planning and every admission use), and a whole Execute admission of a
//! UR5e motion into the KUKA's reserved path (limits, reservations, jog guards, continuous
//! collision check; refused, so it can be repeated). Then the time-aware analysis of a path
//! through space a robot is leaving (the KUKA moving at 1 % speed: where the UR5e's path first
//! meets its reservation, which suffix of it the path is clear of, where the UR5e must brake,
//! and the timing; refused on the timing, so every iteration does the whole analysis).
#![allow(missing_docs, clippy::unwrap_used)]

use cella_control::{CellControl, ControlOptions, ExecuteOptions};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{Limits, SampledTrajectory, SegmentedTrajectory};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn motion(cell: &cella_cell::CellSnapshot, id: &str, goal: Vec<f64>) -> SampledTrajectory {
    let r = cell.robot(id).unwrap();
    let limits = Limits::of_robot(r.geometry.robot()).unwrap();
    let options = SegmentOptions {
        jerk_limited: true,
        max_deviation: 0.0,
    };
    SegmentedTrajectory::new(&[r.joints.clone(), goal], &limits, &options)
        .unwrap()
        .sample(0.004)
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let control = CellControl::simulated(
        &cell,
        ControlOptions {
            realtime: false,
            ..ControlOptions::default()
        },
    )
    .unwrap();
    // the KUKA reaches over the conveyor towards the UR5e, held at its start
    control.executor("kuka").unwrap().set_override(0.0).unwrap();
    control
        .execute(
            "kuka",
            motion(&cell, "kuka", vec![0.3, -0.9, 1.2, 0.0, 1.0, 0.0]),
            ExecuteOptions::default(),
        )
        .unwrap();
    let into = motion(&cell, "ur5e", vec![0.0, -1.0, 1.2, -1.6, -1.57, 0.0]);
    let live = control.live_snapshot();
    c.bench_function("admission/reservation_of_an_executing_robot", |b| {
        b.iter(|| black_box(control.reservation(&live, "kuka").unwrap().len()))
    });
    c.bench_function("admission/checker_against_the_reservations", |b| {
        b.iter(|| black_box(control.checker(&live, "ur5e").unwrap()))
    });
    c.bench_function("admission/execute_into_a_reserved_path_refused", |b| {
        b.iter(|| {
            let refused = control.execute("ur5e", into.clone(), ExecuteOptions::default());
            assert!(refused.is_err());
        })
    });
    // the KUKA starts over the conveyor and leaves for its home at 1 % speed
    let over = vec![0.3, -0.9, 1.2, 0.0, 1.0, 0.0];
    let mut there = (*cell).clone();
    let kuka_home = cell.robot("kuka").unwrap().joints.clone();
    there.robots[1].joints = over;
    let moving = CellControl::simulated(
        &there,
        ControlOptions {
            realtime: false,
            ..ControlOptions::default()
        },
    )
    .unwrap();
    moving.executor("kuka").unwrap().set_override(0.01).unwrap();
    moving
        .execute(
            "kuka",
            motion(&there, "kuka", kuka_home),
            ExecuteOptions::default(),
        )
        .unwrap();
    let slow = moving.live_snapshot();
    c.bench_function("admission/timed_analysis_through_a_leaving_robot", |b| {
        b.iter(|| {
            let why = moving.assumptions(&slow, "ur5e", &into).unwrap();
            assert!(why.is_err_and(|w| w.contains("leaves the space")));
        })
    });
}

criterion_group!(admission, benches);
criterion_main!(admission);
