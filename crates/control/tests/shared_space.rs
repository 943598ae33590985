//! Time-aware admission: a robot may pass through space another robot is leaving, gated on
//! that robot's progress (it brakes before the shared space when the other is late).
#![allow(clippy::unwrap_used)]

mod common;

use cella_cell::CellSnapshot;
use cella_collision::StaticRobot;
use cella_control::{
    CellControl, ControlError, ExecuteOptions, Outcome, Status, StopCause, StopKind,
};
use cella_trajectory::{Limits, SampledTrajectory};
use common::*;

const UR: usize = 0;
const KUKA: usize = 1;

/// The KUKA reaches over the conveyor towards the UR5e's side and comes back.
fn kuka_visit(cell: &CellSnapshot) -> SampledTrajectory {
    let start = cell.robot("kuka").unwrap().joints.clone();
    let over = vec![0.3, -0.9, 1.2, 0.0, 1.0, 0.0];
    motion(&limits(cell, "kuka"), &[start.clone(), over, start]).1
}

/// `limits` with velocity, acceleration and jerk scaled by `f`.
fn scaled(limits: &Limits, f: f64) -> Limits {
    let mut l = limits.clone();
    l.velocity.iter_mut().for_each(|v| *v *= f);
    l.acceleration.iter_mut().for_each(|v| *v *= f);
    if let Some(j) = &mut l.jerk {
        j.iter_mut().for_each(|v| *v *= f);
    }
    l
}

/// The UR5e turning away and back first, then reaching into the space the KUKA visits, at `speed` of
/// its limits.
fn ur_into(cell: &CellSnapshot, speed: f64) -> SampledTrajectory {
    let start = cell.robot("ur5e").unwrap().joints.clone();
    let mut away = start.clone();
    away[0] -= 1.5;
    let into = vec![0.0, -1.0, 1.2, -1.6, -1.57, 0.0];
    motion(
        &scaled(&limits(cell, "ur5e"), speed),
        &[start.clone(), away, start, into],
    )
    .1
}

/// True when `path` meets another robot's reservation as space only (what admission without
/// time would refuse).
fn meets_reservation(control: &CellControl, id: &str, path: &SampledTrajectory) -> bool {
    let checker = control.checker(&control.live_snapshot(), id).unwrap();
    let mut s = checker.scratch();
    checker.path_first_collision(&mut s, &path.q).is_some()
}

/// Clearance between the two robots at the given joints beyond the cell's padding, on the
/// geometry collisions are decided on (negative when they are closer than the padding).
fn clearance(cell: &CellSnapshot, ur: &[f64], kuka: &[f64]) -> f64 {
    let r = cell.robot("ur5e").unwrap();
    let k = cell.robot("kuka").unwrap();
    let robots_only = cell.world_for("ur5e").unwrap().without_objects();
    let checker = cella_collision::Checker::new(
        r.geometry.clone(),
        r.base,
        &robots_only,
        &[StaticRobot::at(
            "kuka",
            k.geometry.clone(),
            k.base,
            kuka.to_vec(),
        )],
    )
    .unwrap();
    let mut s = checker.scratch();
    checker.clearance(&mut s, ur).unwrap()
}

/// The closest the two robots came, replaying both command logs on their recorded times:
/// every UR5e command against the KUKA commands just before and after it.
fn closest_approach(cell: &CellSnapshot, logs: &[Log]) -> f64 {
    let ur_log = logs[UR].lock().unwrap().clone();
    let k_log = logs[KUKA].lock().unwrap().clone();
    let mut worst = f64::INFINITY;
    let mut k = 0;
    for c in &ur_log {
        while k + 1 < k_log.len() && k_log[k + 1].at <= c.at {
            k += 1;
        }
        for other in &k_log[k..(k + 2).min(k_log.len())] {
            worst = worst.min(clearance(cell, &c.q, &other.q));
        }
    }
    worst
}

/// How far (joint space, max norm) the UR5e got from its start.
fn ur_travel(cell: &CellSnapshot, logs: &[Log]) -> f64 {
    let start = cell.robot("ur5e").unwrap().joints.clone();
    let log = logs[UR].lock().unwrap().clone();
    log.iter()
        .map(|c| {
            c.q.iter()
                .zip(&start)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

#[test]
fn a_robot_passes_through_space_another_is_leaving_and_they_never_meet() {
    let cell = demo_cell();
    let (control, logs) = controlled(&cell);
    control
        .execute("kuka", kuka_visit(&cell), ExecuteOptions::default())
        .unwrap();
    let ur = ur_into(&cell, 0.3);
    assert!(
        meets_reservation(&control, "ur5e", &ur),
        "the UR5e's path must cross the KUKA's reserved path for this test to mean anything"
    );
    let plan = control
        .assumptions(&control.live_snapshot(), "ur5e", &ur)
        .unwrap()
        .unwrap();
    assert_eq!(plan.len(), 1, "{plan:?}");
    let a = &plan[0];
    assert_eq!(a.robot, "kuka");
    assert!(
        a.brake_at < a.gate_at && a.expected_clear_in + 0.25 <= a.brake_at,
        "{a:?}"
    );
    let id = control
        .execute("ur5e", ur, ExecuteOptions::default())
        .unwrap();
    let u = control.executor("ur5e").unwrap();
    let k = control.executor("kuka").unwrap();
    let end = wait_for(u, |s| s.execution_id == id && s.status == Status::Idle);
    wait_for(k, |s| s.status == Status::Idle);
    assert_eq!(end.outcome, Outcome::Completed);
    assert!(!end.gate_stop);
    let worst = closest_approach(&cell, &logs);
    assert!(
        worst >= 0.0,
        "the robots came {worst} m closer than the padding"
    );
}

#[test]
fn a_robot_that_falls_behind_makes_the_follower_brake_before_the_shared_space() {
    let cell = demo_cell();
    let (control, logs) = controlled(&cell);
    let visit = kuka_visit(&cell);
    let kuka_duration = *visit.times.last().unwrap();
    control
        .execute("kuka", visit, ExecuteOptions::default())
        .unwrap();
    let ur = ur_into(&cell, 0.3);
    let id = control
        .execute("ur5e", ur, ExecuteOptions::default())
        .unwrap();
    let u = control.executor("ur5e").unwrap();
    let k = control.executor("kuka").unwrap();
    // the KUKA pauses half way, in the shared space
    wait_for(k, |s| s.trajectory_time >= 0.5 * kuka_duration);
    k.pause().unwrap();
    let end = wait_for(u, |s| s.execution_id == id && s.status == Status::Idle);
    assert_eq!(end.outcome, Outcome::Stopped);
    assert!(end.gate_stop, "the UR5e stopped at its gate");
    assert_eq!(k.state().status, Status::Paused);
    // the stop is logged with its cause
    let events = control.supervise();
    let logged = control.events().of_execution("ur5e", id).unwrap();
    assert_eq!(logged.cause, StopCause::ReservationLate);
    assert!(logged.reason.contains("kuka"), "{}", logged.reason);
    assert!(events.iter().all(|e| e.robot == "ur5e"));
    // it moved towards the space, but the two never met
    assert!(ur_travel(&cell, &logs) > 0.05);
    let worst = closest_approach(&cell, &logs);
    assert!(
        worst >= 0.0,
        "the robots came {worst} m closer than the padding"
    );
    // the KUKA resumes and completes; the UR5e then goes on from where it stopped
    k.resume().unwrap();
    wait_for(k, |s| s.status == Status::Idle);
    assert_eq!(k.state().outcome, Outcome::Completed);
    let here = u.state().q.as_slice().to_vec();
    let into = vec![0.0, -1.0, 1.2, -1.6, -1.57, 0.0];
    let (_, rest) = motion(&limits(&cell, "ur5e"), &[here, into]);
    let id = control
        .execute("ur5e", rest, ExecuteOptions::default())
        .unwrap();
    let end = wait_for(u, |s| s.execution_id == id && s.status == Status::Idle);
    assert_eq!(end.outcome, Outcome::Completed);
}

#[test]
fn a_motion_through_space_being_left_is_refused_when_the_other_robot_cannot_be_counted_on() {
    let cell = demo_cell();
    let (control, _logs) = controlled(&cell);
    control
        .execute("kuka", kuka_visit(&cell), ExecuteOptions::default())
        .unwrap();
    let k = control.executor("kuka").unwrap();
    // straight in at full speed: the UR5e would reach the space before the KUKA has left it
    let start = cell.robot("ur5e").unwrap().joints.clone();
    let into = vec![0.0, -1.0, 1.2, -1.6, -1.57, 0.0];
    let (_, direct) = motion(&limits(&cell, "ur5e"), &[start, into]);
    match control.execute("ur5e", direct, ExecuteOptions::default()) {
        Err(ControlError::Collision(m)) => {
            assert!(m.contains("kuka") && m.contains("leaves the space"), "{m}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // slow enough, but the KUKA is paused: its pace cannot be counted on
    let slow = ur_into(&cell, 0.3);
    k.pause().unwrap();
    wait_for(k, |s| s.status == Status::Paused);
    match control.execute("ur5e", slow.clone(), ExecuteOptions::default()) {
        Err(ControlError::Collision(m)) => {
            assert!(m.contains("not moving at a pace"), "{m}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let why = control
        .assumptions(&control.live_snapshot(), "ur5e", &slow)
        .unwrap()
        .unwrap_err();
    assert!(why.contains("kuka"), "{why}");
    k.stop(StopKind::Immediate).unwrap();
}

/// A small deterministic generator (xorshift) for the randomized scenarios.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Randomized: the KUKA visits a random spot over the conveyor and comes back; the UR5e,
/// turned away, reaches at a random speed into a random spot of the same space; the KUKA is
/// then disturbed at a random time (paused and resumed, slowed, stopped either way, or left
/// alone). Whatever happens, the two never come closer than the padding, and every UR5e
/// motion admitted through the KUKA's space either completes or brakes at its gate.
#[test]
fn whatever_the_leader_does_a_gated_follower_never_meets_it() {
    let mut rng = Rng(0x5eed_cafe);
    let (mut gated, mut braked) = (0, 0);
    for scenario in 0..10 {
        let mut cell = (*demo_cell()).clone();
        let h = std::f64::consts::FRAC_PI_2;
        let away = vec![-2.0, -h, h, -h, -h, 0.0];
        cell.robots[UR].joints = away.clone();
        let cell = std::sync::Arc::new(cell);
        let (control, logs) = controlled(&cell);
        let k_home = cell.robot("kuka").unwrap().joints.clone();
        let over = vec![
            rng.uniform(0.0, 0.5),
            rng.uniform(-1.0, -0.7),
            rng.uniform(1.0, 1.4),
            rng.uniform(-0.3, 0.3),
            rng.uniform(0.8, 1.2),
            0.0,
        ];
        let (_, visit) = motion(&limits(&cell, "kuka"), &[k_home.clone(), over, k_home]);
        let visit_duration = *visit.times.last().unwrap();
        if control
            .execute("kuka", visit, ExecuteOptions::default())
            .is_err()
        {
            continue;
        }
        let into = vec![
            rng.uniform(-0.2, 0.2),
            rng.uniform(-1.3, -0.9),
            rng.uniform(0.8, 1.3),
            -1.6,
            -1.57,
            0.0,
        ];
        let speed = rng.uniform(0.15, 0.6);
        let (_, ur) = motion(&scaled(&limits(&cell, "ur5e"), speed), &[away, into]);
        let Ok(admitted) = control.admit_execution("ur5e", ur, ExecuteOptions::default()) else {
            control
                .executor("kuka")
                .unwrap()
                .stop(StopKind::Immediate)
                .unwrap();
            continue;
        };
        if !admitted.assumptions.is_empty() {
            gated += 1;
        }
        let k = control.executor("kuka").unwrap();
        let u = control.executor("ur5e").unwrap();
        let at = rng.uniform(0.0, 0.8) * visit_duration;
        let disturbance = scenario % 5;
        wait_for(k, |s| s.trajectory_time >= at || s.status == Status::Idle);
        match disturbance {
            0 => {}
            1 => {
                let _ = k.pause();
                std::thread::sleep(std::time::Duration::from_millis(800));
                let _ = k.resume();
            }
            2 => {
                let _ = k.set_override(rng.uniform(0.05, 0.5));
            }
            3 => {
                let _ = control.stop("kuka", StopKind::Immediate, "test");
            }
            _ => {
                let _ = control.stop("kuka", StopKind::Smooth, "test");
            }
        }
        let end = wait_for(u, |s| {
            s.execution_id == admitted.execution_id && s.status == Status::Idle
        });
        wait_for(k, |s| s.status == Status::Idle);
        assert!(
            end.outcome == Outcome::Completed || (end.outcome == Outcome::Stopped && end.gate_stop),
            "scenario {scenario}: {end:?}"
        );
        if end.gate_stop {
            braked += 1;
        }
        let worst = closest_approach(&cell, &logs);
        assert!(
            worst >= 0.0,
            "scenario {scenario} (disturbance {disturbance}, gates {:?}): the robots came {worst} m \
             closer than the padding",
            admitted.assumptions
        );
    }
    eprintln!("{gated} of 10 through the KUKA's space, {braked} braked at their gate");
    assert!(
        gated >= 3,
        "only {gated} scenarios passed through the KUKA's space"
    );
    assert!(
        braked >= 1,
        "no follower had to brake: the gate was never put to the test"
    );
}
