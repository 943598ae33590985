//! Jogging (deadman, collision guard) and several robots moving at once.
#![allow(clippy::unwrap_used)]

mod common;

use cella_collision::StaticRobot;
use cella_control::{
    ControlError, ExecuteOptions, JogCommand, JogTarget, JointVector, Outcome, Status,
};
use common::*;
use std::time::Duration;

const KUKA: usize = 1;

#[test]
fn a_jog_without_fresh_commands_stops_within_the_deadman_time_plus_braking() {
    let cell = demo_cell();
    let (control, logs) = controlled(&cell);
    let limits = limits(&cell, "kuka");
    let ex = control.executor("kuka").unwrap();
    let deadman = Duration::from_millis(200);
    let mut v = JointVector::zeros(6);
    v.as_mut_slice()[0] = 0.5;
    let start = ex.state().q;
    ex.reset_stats();
    let before = logs[KUKA].lock().unwrap().len();
    control
        .jog(
            "kuka",
            JogCommand {
                target: JogTarget::Joints(v),
                deadman,
            },
        )
        .unwrap();
    let end = wait_for(ex, |s| s.status == Status::Idle && s.cycle > 10);
    assert!(end.qd.as_slice().iter().all(|x| *x == 0.0));
    assert!(!end.jog_blocked);
    // the motion named: joint 1 forward by 0.5 rad/s for the 0.2 s deadman (the ramps up and
    // down at equal acceleration cancel), give or take 3 cycles of 4 ms and the cycles the loop
    // missed on a loaded machine; no other joint moves
    let dt = 0.004;
    let missed = ex.stats().overruns as f64;
    let moved = end.q.as_slice()[0] - start.as_slice()[0];
    let (least, most) = (
        0.5 * (deadman.as_secs_f64() - (3.0 + missed) * dt),
        0.5 * (deadman.as_secs_f64() + 3.0 * dt),
    );
    assert!(
        (least..=most).contains(&moved),
        "joint 1 moved {moved} rad, expected [{least}, {most}] ({missed} missed cycles)"
    );
    for i in 1..6 {
        assert_eq!(end.q.as_slice()[i], start.as_slice()[i], "joint {}", i + 1);
    }
    let log = logs[KUKA].lock().unwrap().clone();
    let moving: Vec<_> = log[before..]
        .iter()
        .skip_while(|c| c.qd.iter().all(|x| *x == 0.0))
        .take_while(|c| c.qd.iter().any(|x| *x != 0.0))
        .collect();
    assert!(!moving.is_empty(), "the jog moved the robot");
    // it moved for at most the deadman time plus the braking from the jog speed (+ a cycle)
    let peak = moving.iter().map(|c| c.qd[0].abs()).fold(0.0, f64::max);
    assert!(
        peak > 0.1 && peak <= 0.5 * (1.0 + 1e-9),
        "peak jog speed {peak}"
    );
    let moved_for = moving.len() as f64 * 0.004;
    let bound = deadman.as_secs_f64() + peak / limits.acceleration[0] + 0.008;
    assert!(
        moved_for <= bound,
        "moved {moved_for} s after the last command (bound {bound} s)"
    );
    let (v, a, _) = limit_ratios(&log, &limits, 0.004);
    assert!(v <= 1.0 && a <= 1.0 + 1e-9, "v {v}, a {a}");
}

#[test]
fn a_jog_towards_an_obstacle_stops_before_touching_it() {
    let cell = demo_cell();
    let (control, _) = controlled(&cell);
    let ex = control.executor("kuka").unwrap();
    // straight down towards the table, commanded again and again (a held jog button)
    let twist = JogTarget::Twist([0.0, 0.0, -0.25, 0.0, 0.0, 0.0]);
    let mut blocked = false;
    for _ in 0..400 {
        control
            .jog(
                "kuka",
                JogCommand {
                    target: twist,
                    deadman: Duration::from_millis(100),
                },
            )
            .unwrap_or(());
        std::thread::sleep(Duration::from_millis(10));
        let s = ex.state();
        if s.jog_blocked {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "the jog was never stopped by the collision guard");
    let end = wait_for(ex, |s| s.status == Status::Idle);
    let checker = control.checker(&cell, "kuka").unwrap();
    let mut scratch = checker.scratch();
    assert!(
        checker.is_valid(&mut scratch, end.q.as_slice()),
        "stopped in collision: {:?} at {:?}, {:?}",
        checker.contacts(&mut scratch, end.q.as_slice()),
        end.q.as_slice(),
        checker.distance(&mut scratch, end.q.as_slice())
    );
    let tcp = cell.robot("kuka").unwrap().base
        * cell
            .robot("kuka")
            .unwrap()
            .geometry
            .robot()
            .fk(end.q.as_slice())
            .unwrap();
    assert!(
        tcp.translation.z > 0.75,
        "the TCP went through the table top"
    );
    // jogging back up is allowed: held until the TCP has risen 2 cm, it rises straight up
    let kuka = cell.robot("kuka").unwrap();
    let tcp_at = |q: &JointVector| kuka.base * kuka.geometry.robot().fk(q.as_slice()).unwrap();
    let low = tcp_at(&end.q);
    let up = JogTarget::Twist([0.0, 0.0, 0.1, 0.0, 0.0, 0.0]);
    let mut held = 0;
    while tcp_at(&ex.state().q).translation.z - low.translation.z < 0.02 {
        assert!(held < 3000, "the jog up never rose 2 cm: {:?}", ex.state());
        control
            .jog(
                "kuka",
                JogCommand {
                    target: up,
                    deadman: Duration::from_millis(100),
                },
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
        held += 1;
    }
    let top = wait_for(ex, |s| s.status == Status::Idle);
    assert!(!top.jog_blocked);
    let rise = tcp_at(&top.q).translation.vector - low.translation.vector;
    // after the last command it runs out its 0.1 s deadman at 0.1 m/s and brakes: ~1 cm more
    assert!(rise.z >= 0.02 && rise.z <= 0.04, "rose {} m", rise.z);
    assert!(
        rise.xy().norm() < 0.02 * rise.z,
        "drifted {:?} sideways while rising {} m",
        rise.xy(),
        rise.z
    );
    let turned = tcp_at(&top.q).rotation.angle_to(&low.rotation);
    assert!(turned < 1e-4, "the TCP turned {turned} rad");
}

#[test]
fn a_moving_robot_refuses_a_jog_and_a_second_trajectory() {
    let cell = demo_cell();
    let (control, _) = controlled(&cell);
    let limits = limits(&cell, "kuka");
    let start = cell.robot("kuka").unwrap().joints.clone();
    let (_, samples) = motion(&limits, &[start, vec![1.2, -1.1, 1.2, 0.8, 1.0, 1.5]]);
    control
        .execute("kuka", samples.clone(), ExecuteOptions::default())
        .unwrap();
    let v = JointVector::zeros(6);
    assert!(matches!(
        control.jog("kuka", JogCommand { target: JogTarget::Joints(v), deadman: Duration::from_millis(50) }),
        Err(ControlError::NotReady { robot, .. }) if robot == "kuka"
    ));
    assert!(
        control
            .execute("kuka", samples, ExecuteOptions::default())
            .is_err()
    );
}

/// Closest distance between the two robots' capsule models at the given joints.
fn clearance(cell: &cella_cell::CellSnapshot, ur: &[f64], kuka: &[f64]) -> f64 {
    let r = cell.robot("ur5e").unwrap();
    let k = cell.robot("kuka").unwrap();
    let empty = cella_collision::World::new();
    let checker = cella_collision::Checker::new(
        r.geometry.clone(),
        r.base,
        &empty,
        &[StaticRobot::at(
            "kuka",
            k.geometry.clone(),
            k.base,
            kuka.to_vec(),
        )],
    )
    .unwrap();
    let mut s = checker.scratch();
    checker
        .capsule_distance(&mut s, ur)
        .map_or(f64::INFINITY, |p| p.distance)
}

#[test]
fn two_robots_moving_at_once_never_come_closer_than_the_padding() {
    let cell = demo_cell();
    let (control, logs) = controlled(&cell);
    let padding = cell.world.padding();
    // the KUKA reaches over the conveyor towards the UR5e's side
    let k_limits = limits(&cell, "kuka");
    let k_start = cell.robot("kuka").unwrap().joints.clone();
    let k_goal = vec![0.3, -0.9, 1.2, 0.0, 1.0, 0.0];
    let (_, k_samples) = motion(&k_limits, &[k_start, k_goal.clone()]);
    control
        .execute("kuka", k_samples, ExecuteOptions::default())
        .unwrap();
    // the UR5e asked to reach into the same space is refused while the KUKA goes there
    let u_limits = limits(&cell, "ur5e");
    let u_start = cell.robot("ur5e").unwrap().joints.clone();
    let u_into = vec![0.0, -1.0, 1.2, -1.6, -1.57, 0.0];
    let (_, into) = motion(&u_limits, &[u_start.clone(), u_into]);
    match control.execute("ur5e", into, ExecuteOptions::default()) {
        Err(ControlError::Collision(m)) => assert!(m.contains("kuka"), "{m}"),
        other => panic!("expected a refusal naming the moving KUKA, got {other:?}"),
    }
    // a plan made now avoids the KUKA's remaining motion; it runs at the same time
    let checker = control.checker(&cell, "ur5e").unwrap();
    let space =
        cella_planning::JointSpace::of_chain(cell.robot("ur5e").unwrap().geometry.robot().chain())
            .unwrap();
    let u_goal = vec![1.2, -1.2, 1.3, -1.6, -1.57, 0.0];
    let planned = cella_planning::plan_joint(
        &checker,
        &space,
        &u_limits,
        &u_start,
        &[u_goal],
        &cella_planning::PlanOptions::default(),
        None,
    )
    .unwrap();
    let id = control
        .execute("ur5e", planned.samples, ExecuteOptions::default())
        .unwrap();
    let ur = control.executor("ur5e").unwrap();
    let kuka = control.executor("kuka").unwrap();
    wait_for(ur, |s| s.execution_id == id && s.status == Status::Idle);
    wait_for(kuka, |s| s.status == Status::Idle);
    assert_eq!(ur.state().outcome, Outcome::Completed);
    // replay both logs on a common clock (UR5e at 2 ms, KUKA at 4 ms, started together)
    let ur_log = logs[0].lock().unwrap().clone();
    let k_log = logs[1].lock().unwrap().clone();
    let mut worst = f64::INFINITY;
    for (i, c) in ur_log.iter().enumerate().step_by(5) {
        let k = (i / 2).min(k_log.len() - 1);
        worst = worst.min(clearance(&cell, &c.q, &k_log[k].q));
    }
    assert!(
        worst >= padding,
        "the robots came {worst} m close (padding {padding} m)"
    );
}

/// A part the robot carries reaches farther than its links: its reserved path is kept at
/// more states, so the part too moves at most one sweep step between two of them.
#[test]
fn a_carried_part_makes_the_reserved_path_denser() {
    let goal = vec![1.2, -1.1, 1.2, 0.8, 1.0, 1.5];
    let kept = |carry: bool| {
        let mut cell = demo_cell();
        if carry {
            // a ball 40 cm out from the KUKA's flange, carried by it
            let flange = cell.link_pose("kuka", "tool0").unwrap();
            let at = flange * nalgebra::Point3::new(0.0, 0.0, 0.4);
            cell = cell
                .with_object(cella_collision::WorldObject {
                    name: "bar_end".into(),
                    shape: cella_collision::Shape::Sphere { radius: 0.03 },
                    pose: nalgebra::Isometry3::translation(at.x, at.y, at.z),
                    padding: 0.0,
                })
                .unwrap()
                .with_attached("bar_end", "kuka", "tool0", Vec::new())
                .unwrap();
        }
        let (control, _) = controlled(&cell);
        let ex = control.executor("kuka").unwrap();
        ex.set_override(0.0).unwrap();
        let start = cell.robot("kuka").unwrap().joints.clone();
        let (_, samples) = motion(&limits(&cell, "kuka"), &[start, goal.clone()]);
        control
            .execute("kuka", samples, ExecuteOptions::default())
            .unwrap();
        let n = control
            .reservation(&control.live_snapshot(), "kuka")
            .unwrap()
            .len();
        ex.stop(cella_control::StopKind::Immediate).unwrap();
        n
    };
    let (bare, carrying) = (kept(false), kept(true));
    assert!(
        carrying as f64 > 1.2 * bare as f64,
        "{bare} states kept without the part, {carrying} with it"
    );
}
