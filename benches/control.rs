//! Control loop hot paths (one cycle's work, no allocation): evaluating the executed
//! trajectory with three derivatives, one speed-scale step (sub-stepped ×8 per cycle in the
//! executor), one Cartesian jog cycle (Jacobian, damped least squares, collision check of the
//! stop state), and publishing / reading the state cell.
#![allow(missing_docs, clippy::unwrap_used)]

use cella_control::jog::Jog;
use cella_control::{
    ExecTrajectory, JogTarget, JointVector, PathPoint, Ramp, RobotState, SpeedScale, StateCell,
};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{Limits, SegmentedTrajectory};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let kuka = cell.robot("kuka").unwrap();
    let robot = kuka.geometry.robot();
    let limits = Limits::of_robot(robot).unwrap();
    let start = kuka.joints.clone();
    let goal = vec![1.2, -1.1, 1.2, 0.8, 1.0, 1.5];
    let options = SegmentOptions {
        jerk_limited: true,
        max_deviation: 0.0,
    };
    let samples = SegmentedTrajectory::new(&[start.clone(), goal], &limits, &options)
        .unwrap()
        .sample(0.004)
        .unwrap();
    let traj = ExecTrajectory::new(samples).unwrap();
    let mut here = PathPoint::zeros(6);
    let mut next = PathPoint::zeros(6);
    let mut hint = 0;
    let mid = 0.4 * traj.duration();
    c.bench_function("control/evaluate_path_point_6dof", |b| {
        b.iter(|| {
            hint = traj.evaluate(black_box(mid), hint, &mut here);
        })
    });
    traj.evaluate(mid, 0, &mut here);
    traj.evaluate(mid + 0.0005, 0, &mut next);
    c.bench_function("control/speed_scale_step_stop", |b| {
        b.iter(|| {
            let mut s = SpeedScale { s: 0.8, rate: -1.0 };
            s.step(0.0, &here, &next, &limits, Ramp::STOP, 0.0005)
        })
    });
    let checker = cell.checker("kuka").unwrap();
    let mut scratch = checker.scratch();
    let mut jog = Jog::new(6);
    let mut target = JointVector::zeros(6);
    let mut stop = vec![0.0; 6];
    c.bench_function("control/cartesian_jog_cycle", |b| {
        b.iter(|| {
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
            checker.is_valid(&mut scratch, &stop)
                && checker.motion_valid(&mut scratch, &start, &stop)
        })
    });
    let cell_state = StateCell::new(&RobotState::at_rest(&start));
    let state = RobotState::at_rest(&start);
    c.bench_function("control/state_publish", |b| {
        b.iter(|| cell_state.write(black_box(&state)))
    });
    c.bench_function("control/state_read", |b| b.iter(|| cell_state.read()));
}

criterion_group!(control, benches);
criterion_main!(control);
