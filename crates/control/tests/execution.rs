//! Execution on the simulated controller: completion along the plan, stops, pause/resume,
//! override, refusals, faults. Every check is on the commands the executor actually sent.
#![allow(clippy::unwrap_used)]

mod common;

use cella_control::{ControlError, EditKind, ExecuteOptions, Outcome, Status, StopKind};
use common::*;

const KUKA: usize = 1;

fn kuka_goal() -> Vec<f64> {
    vec![1.2, -1.1, 1.2, 0.8, 1.0, 1.5]
}

/// A long swing (the base turns 2.5 rad away from the UR5e): long enough to stop mid-way.
fn long_goal() -> Vec<f64> {
    vec![-2.5, -1.3, 1.4, 0.8, 1.0, 1.5]
}

#[test]
fn executes_to_the_end_exactly_along_the_plan_within_limits() {
    let cell = demo_cell();
    let (control, logs) = controlled(&cell);
    let limits = limits(&cell, "kuka");
    let start = cell.robot("kuka").unwrap().joints.clone();
    let (traj, samples) = motion(&limits, &[start, kuka_goal()]);
    let ex = control.executor("kuka").unwrap();
    let id = control
        .execute(
            "kuka",
            samples,
            ExecuteOptions {
                planned_version: Some(cell.version),
                ..ExecuteOptions::default()
            },
        )
        .unwrap();
    let end = wait_for(ex, |s| s.execution_id == id && s.status == Status::Idle);
    assert_eq!(end.outcome, Outcome::Completed);
    for (a, b) in end.q.as_slice().iter().zip(kuka_goal()) {
        assert!((a - b).abs() < 1e-12, "ends at the goal");
    }
    assert!(end.qd.as_slice().iter().all(|v| *v == 0.0));
    let log = logs[KUKA].lock().unwrap().clone();
    let moving: Vec<_> = log
        .iter()
        .skip_while(|c| c.qd.iter().all(|v| *v == 0.0))
        .cloned()
        .collect();
    let (deviation, _) = path_times(&moving, &traj);
    assert!(deviation < 1e-6, "left the planned path by {deviation} rad");
    // at full override the executed motion is the plan, on the executor's 4 ms clock
    let duration_cycles = moving
        .iter()
        .position(|c| c.qd.iter().all(|v| *v == 0.0))
        .unwrap() as f64;
    assert!((duration_cycles * 0.004 - traj.duration()).abs() <= 0.008);
    let (v, a, _) = limit_ratios(&log, &limits, 0.004);
    assert!(v <= 1.0 + 1e-6 && a <= 1.0 + 1e-6, "limits: v {v}, a {a}");
}

/// Runs the kuka motion, stops it with `kind` once `fraction` of the path is done; returns
/// (log, trajectory, path time when the stop was asked, final state).
fn stop_at(
    fraction: f64,
    kind: StopKind,
) -> (
    Vec<Cycle>,
    cella_trajectory::SegmentedTrajectory,
    usize,
    cella_control::RobotState,
) {
    let Run {
        control,
        logs,
        traj,
        id,
        ..
    } = run_kuka(&long_goal());
    let ex = control.executor("kuka").unwrap();
    let duration = traj.duration();
    wait_for(ex, |s| s.trajectory_time >= fraction * duration);
    let asked_at = logs[KUKA].lock().unwrap().len();
    ex.stop(kind).unwrap();
    let end = wait_for(ex, |s| s.execution_id == id && s.status == Status::Idle);
    let log = logs[KUKA].lock().unwrap().clone();
    (log, traj, asked_at, end)
}

#[test]
fn smooth_stop_ends_at_rest_on_the_path_within_acceleration_and_jerk_limits() {
    let cell = demo_cell();
    let limits = limits(&cell, "kuka");
    let (log, traj, asked_at, end) = stop_at(0.4, StopKind::Smooth);
    assert_eq!(end.outcome, Outcome::Stopped);
    // (a time-optimal stop from full speed takes about as long as the plan's own braking: the
    // path left must not be used up)
    assert!(
        end.trajectory_time < traj.duration() - 0.005,
        "stopped at {} of {} s",
        end.trajectory_time,
        traj.duration()
    );
    assert!(end.qd.as_slice().iter().all(|v| *v == 0.0), "at rest");
    let (deviation, _) = path_times(&log, &traj);
    assert!(deviation < 1e-6, "left the path by {deviation} rad");
    let (v, a, j) = limit_ratios(&log, &limits, 0.004);
    assert!(v <= 1.0 + 1e-6, "velocity {v}");
    assert!(a <= 1.0 + 1e-3, "acceleration at {a} of the limit");
    assert!(j <= 1.05, "jerk at {j} of the limit");
    // stop time: no longer than a double-S stop of the most loaded joint from full speed
    let stop_cycles = log[asked_at..]
        .iter()
        .position(|c| c.qd.iter().all(|v| *v == 0.0))
        .unwrap();
    let worst_1d = (0..6)
        .map(|i| {
            let jerk = limits.jerk.as_ref().unwrap()[i];
            // reverse a full acceleration, then brake from full speed
            2.0 * limits.acceleration[i] / jerk + limits.velocity[i] / limits.acceleration[i]
        })
        .fold(0.0, f64::max);
    let stop_time = stop_cycles as f64 * 0.004;
    assert!(
        stop_time <= 1.1 * worst_1d,
        "stop took {stop_time} s (bound {worst_1d} s)"
    );
}

#[test]
fn immediate_stop_is_shorter_and_keeps_acceleration_limits() {
    let cell = demo_cell();
    let limits = limits(&cell, "kuka");
    let (smooth_log, _, smooth_at, _) = stop_at(0.4, StopKind::Smooth);
    let (log, traj, asked_at, end) = stop_at(0.4, StopKind::Immediate);
    assert_eq!(end.outcome, Outcome::Stopped);
    let (deviation, _) = path_times(&log, &traj);
    assert!(deviation < 1e-6, "left the path by {deviation} rad");
    let (v, a, _) = limit_ratios(&log, &limits, 0.004);
    assert!(v <= 1.0 + 1e-6 && a <= 1.0 + 1e-3, "v {v}, a {a}");
    let rest = |l: &[Cycle], from: usize| {
        l[from..]
            .iter()
            .position(|c| c.qd.iter().all(|v| *v == 0.0))
            .unwrap()
    };
    assert!(rest(&log, asked_at) <= rest(&smooth_log, smooth_at));
}

#[test]
fn pause_holds_on_the_path_and_resume_continues_exactly_along_it() {
    let Run {
        cell: _,
        control,
        logs,
        limits,
        traj,
        id,
    } = run_kuka(&kuka_goal());
    let ex = control.executor("kuka").unwrap();
    wait_for(ex, |s| s.trajectory_time >= 0.3 * traj.duration());
    ex.pause().unwrap();
    let paused = wait_for(ex, |s| s.status == Status::Paused);
    assert!(paused.qd.as_slice().iter().all(|v| *v == 0.0));
    // held: later cycles command the same point
    let held = wait_for(ex, |s| s.cycle >= paused.cycle + 20);
    assert_eq!(held.q, paused.q);
    assert_eq!(held.trajectory_time, paused.trajectory_time);
    assert!(
        matches!(
            control.execute(
                "kuka",
                motion(&limits, &[paused.q.as_slice().to_vec(), kuka_goal()]).1,
                ExecuteOptions::default()
            ),
            Err(ControlError::NotReady { .. })
        ),
        "a paused robot takes no new trajectory"
    );
    ex.resume().unwrap();
    let end = wait_for(ex, |s| s.execution_id == id && s.status == Status::Idle);
    assert_eq!(end.outcome, Outcome::Completed);
    let log = logs[KUKA].lock().unwrap().clone();
    let (deviation, times) = path_times(&log, &traj);
    assert!(deviation < 1e-6, "left the path by {deviation} rad");
    assert!(
        times.windows(2).all(|w| w[1] >= w[0] - 1e-9),
        "path time went back"
    );
    let (v, a, j) = limit_ratios(&log, &limits, 0.004);
    assert!(
        v <= 1.0 + 1e-6 && a <= 1.0 + 1e-3 && j <= 1.05,
        "v {v}, a {a}, j {j}"
    );
    for (a, b) in end.q.as_slice().iter().zip(kuka_goal()) {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn refuses_a_trajectory_that_does_not_start_at_the_robot() {
    let cell = demo_cell();
    let (control, _) = controlled(&cell);
    let limits = limits(&cell, "kuka");
    let mut elsewhere = cell.robot("kuka").unwrap().joints.clone();
    elsewhere[0] += 0.1;
    let (_, samples) = motion(&limits, &[elsewhere, kuka_goal()]);
    match control.execute("kuka", samples, ExecuteOptions::default()) {
        Err(ControlError::StartMismatch(m)) => assert!(m.contains("joint 0"), "{m}"),
        other => panic!("expected a start mismatch, got {other:?}"),
    }
    assert_eq!(
        control.executor("kuka").unwrap().state().status,
        Status::Idle
    );
}

#[test]
fn refuses_a_trajectory_breaking_a_limit_or_malformed() {
    let cell = demo_cell();
    let (control, _) = controlled(&cell);
    let limits = limits(&cell, "kuka");
    let start = cell.robot("kuka").unwrap().joints.clone();
    let (_, mut samples) = motion(&limits, &[start.clone(), kuka_goal()]);
    // twice as fast: the same path in half the time breaks velocity limits
    for t in &mut samples.times {
        *t *= 0.5;
    }
    for v in &mut samples.qd {
        *v *= 2.0;
    }
    for a in &mut samples.qdd {
        *a *= 4.0;
    }
    assert!(matches!(
        control.execute("kuka", samples, ExecuteOptions::default()),
        Err(ControlError::Limits(_))
    ));
    let (_, mut samples) = motion(&limits, &[start, kuka_goal()]);
    samples.q[9] = f64::NAN;
    assert!(matches!(
        control.execute("kuka", samples, ExecuteOptions::default()),
        Err(ControlError::Invalid { .. })
    ));
    assert!(matches!(
        control.execute(
            "nobody",
            cella_trajectory::SampledTrajectory::default(),
            ExecuteOptions::default()
        ),
        Err(ControlError::UnknownRobot(_))
    ));
}

#[test]
fn a_trajectory_planned_before_a_world_edit_that_now_collides_is_refused() {
    let cell = demo_cell();
    let (control, _) = controlled(&cell);
    let limits = limits(&cell, "kuka");
    let start = cell.robot("kuka").unwrap().joints.clone();
    let (_, samples) = motion(&limits, &[start.clone(), kuka_goal()]);
    // a box where the arm will be halfway
    let mid = samples.len() / 2;
    let robot = cell.robot("kuka").unwrap();
    let tcp = robot.base * robot.geometry.robot().fk(samples.q_at(mid)).unwrap();
    control
        .edit(EditKind::Objects, |c| {
            c.with_object(cella_collision::WorldObject {
                name: "new_fixture".into(),
                shape: cella_collision::Shape::Sphere { radius: 0.05 },
                pose: nalgebra::Isometry3::translation(
                    tcp.translation.x,
                    tcp.translation.y,
                    tcp.translation.z,
                ),
                padding: 0.0,
            })
        })
        .unwrap();
    match control.execute(
        "kuka",
        samples.clone(),
        ExecuteOptions {
            planned_version: Some(cell.version),
            ..ExecuteOptions::default()
        },
    ) {
        Err(ControlError::Collision(m)) => {
            assert!(m.contains("planned against world version 1"), "{m}");
            assert!(m.contains("new_fixture"), "{m}");
        }
        other => panic!("expected a collision refusal, got {other:?}"),
    }
    assert_eq!(
        control.executor("kuka").unwrap().state().status,
        Status::Idle
    );
    // the same trajectory in the world it was planned for runs
    control
        .edit(EditKind::Objects, |c| c.without_object("new_fixture"))
        .unwrap();
    control
        .execute(
            "kuka",
            samples,
            ExecuteOptions {
                planned_version: Some(cell.version),
                ..ExecuteOptions::default()
            },
        )
        .unwrap();
}

#[test]
fn override_changes_keep_the_tcp_on_the_path_and_the_limits() {
    let Run {
        cell,
        control,
        logs,
        limits,
        traj,
        id,
    } = run_kuka(&kuka_goal());
    let ex = control.executor("kuka").unwrap();
    let d = traj.duration();
    wait_for(ex, |s| s.trajectory_time >= 0.1 * d);
    ex.set_override(0.3).unwrap();
    wait_for(ex, |s| s.trajectory_time >= 0.3 * d);
    ex.set_override(1.0).unwrap();
    wait_for(ex, |s| s.trajectory_time >= 0.5 * d);
    ex.set_override(0.6).unwrap();
    wait_for(ex, |s| s.trajectory_time >= 0.6 * d);
    ex.set_override(0.05).unwrap();
    wait_for(ex, |s| s.trajectory_time >= 0.62 * d);
    ex.set_override(0.8).unwrap();
    let end = wait_for(ex, |s| s.execution_id == id && s.status == Status::Idle);
    assert_eq!(end.outcome, Outcome::Completed);
    assert!(matches!(
        ex.set_override(1.5),
        Err(ControlError::Invalid { .. })
    ));
    let log = logs[KUKA].lock().unwrap().clone();
    let slow = log
        .iter()
        .filter(|c| c.qd.iter().any(|v| *v != 0.0))
        .count() as f64
        * 0.004;
    assert!(
        slow > d * 1.2,
        "the override slowed the motion ({slow} s vs {d} s)"
    );
    let (_, times) = path_times(&log, &traj);
    let robot = cell.robot("kuka").unwrap().geometry.robot();
    let mut q = vec![0.0; 6];
    let (mut qd, mut qdd) = (vec![0.0; 6], vec![0.0; 6]);
    let mut worst = 0.0_f64;
    for (c, t) in log.iter().zip(&times) {
        traj.evaluate(*t, &mut q, &mut qd, &mut qdd);
        let on_path = robot.fk(&q).unwrap().translation.vector;
        let executed = robot.fk(&c.q).unwrap().translation.vector;
        worst = worst.max((on_path - executed).norm());
    }
    assert!(worst < 1e-4, "TCP left the path by {} mm", worst * 1e3);
    let (v, a, j) = limit_ratios(&log, &limits, 0.004);
    assert!(
        v <= 1.0 + 1e-6 && a <= 1.0 + 1e-3 && j <= 1.05,
        "v {v}, a {a}, j {j}"
    );
}

#[test]
fn a_driver_fault_stops_commanding_and_refuses_work_until_reset() {
    use cella_control::{CellControl, ControlOptions, Driver, SimDriver};
    let cell = demo_cell();
    let drivers: Vec<Box<dyn Driver>> = cell
        .robots
        .iter()
        .map(|r| Box::new(SimDriver::new(&r.joints).failing_after(50)) as Box<dyn Driver>)
        .collect();
    let control = CellControl::with_drivers(&cell, drivers, ControlOptions::default()).unwrap();
    let ex = control.executor("kuka").unwrap();
    let limits = limits(&cell, "kuka");
    let start = cell.robot("kuka").unwrap().joints.clone();
    let (_, samples) = motion(&limits, &[start, kuka_goal()]);
    let id = control
        .execute("kuka", samples.clone(), ExecuteOptions::default())
        .unwrap();
    let s = wait_for(ex, |s| s.status == Status::Fault);
    assert_eq!(s.execution_id, id);
    assert_eq!(s.outcome, Outcome::Faulted);
    let again = control.execute("kuka", samples, ExecuteOptions::default());
    assert!(again.is_err(), "a faulted robot takes no trajectory");
    // the simulated connection stays down: reset is refused too
    assert!(ex.reset().is_err());
}
