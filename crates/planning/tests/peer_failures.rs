#![allow(clippy::unwrap_used)]
//! Failures other motion systems shipped, as regression cases for cella (see
//! `../shared/docs/motion-notes.md`). Each motion is checked here by its own arithmetic, not
//! by the library's validator: joint velocities and accelerations are finite differences of
//! the sampled positions, which bound what a controller following the samples is asked for.
//!
//! - MoveIt 2 #2600: TOTG commanded 200 rad/s² against a 0.2 rad/s² limit at the turn of a
//!   U-shaped single-joint path of 10 waypoints (its exact waypoints are in a fork; these are
//!   a U of the same kind).
//! - Universal_Robots_ROS2_Driver #931: a Pilz LIN near a wrist singularity commanded 33 rad/s
//!   on a 3.14 rad/s joint. Here LINs on the UR5e that pass close to its wrist singularity
//!   (wrist 2 near 0) are either refused, saying where and why, or stay within every joint
//!   limit with the TCP on the line.
//! - MoveIt 2 #2741: blending produced repeated time stamps; sample times here must strictly
//!   increase.

use cella_collision::{Checker, RobotGeometry, World};
use cella_kinematics::Rng;
use cella_planning::{CartesianOptions, CartesianPath, PlanningError, plan_cartesian};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{
    Limits, SampledTrajectory, SegmentedTrajectory, TimeOptimalOptions, TimeOptimalTrajectory,
};
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
use std::sync::Arc;

/// Largest |Δq/Δt| over the samples and joints, as a fraction of each joint's velocity
/// limit; and the same for the change of those velocities (accelerations) against the
/// acceleration limits.
fn finite_difference_use(s: &SampledTrajectory, limits: &Limits) -> (f64, f64) {
    let (mut v_use, mut a_use) = (0.0f64, 0.0f64);
    let mut last_v: Option<(f64, Vec<f64>)> = None;
    for k in 1..s.len() {
        let dt = s.times[k] - s.times[k - 1];
        assert!(dt > 0.0, "sample times must increase: {dt} at sample {k}");
        let v: Vec<f64> = s
            .q_at(k)
            .iter()
            .zip(s.q_at(k - 1))
            .map(|(b, a)| (b - a) / dt)
            .collect();
        for (j, vj) in v.iter().enumerate() {
            v_use = v_use.max(vj.abs() / limits.velocity[j]);
        }
        let mid = 0.5 * (s.times[k] + s.times[k - 1]);
        if let Some((t0, v0)) = &last_v {
            for (j, (a, b)) in v0.iter().zip(&v).enumerate() {
                a_use = a_use.max(((b - a) / (mid - t0)).abs() / limits.acceleration[j]);
            }
        }
        last_v = Some((mid, v));
    }
    (v_use, a_use)
}

/// One joint, 10 waypoints down into a U and back up; velocity 1 rad/s, acceleration
/// 0.2 rad/s² (the limit MoveIt 2 #2600 broke by a factor of 1000).
fn u_path() -> (Vec<Vec<f64>>, Limits) {
    let u = [1.0, 0.6, 0.3, 0.12, 0.02, 0.0, 0.03, 0.15, 0.45, 0.9];
    let limits = Limits {
        names: vec!["j0".into()],
        lower: vec![-3.0],
        upper: vec![3.0],
        velocity: vec![1.0],
        acceleration: vec![0.2],
        jerk: Some(vec![2.0]),
    };
    (u.iter().map(|&q| vec![q]).collect(), limits)
}

#[test]
fn a_u_shaped_single_joint_path_keeps_its_acceleration_limit_at_the_turn() {
    let (path, limits) = u_path();
    let no_jerk = Limits {
        jerk: None,
        ..limits.clone()
    };
    let mut timed = Vec::new();
    for deviation in [0.0, 0.01, 0.1] {
        let t = TimeOptimalTrajectory::new(
            &path,
            &no_jerk,
            &TimeOptimalOptions {
                max_deviation: deviation,
                ..TimeOptimalOptions::default()
            },
        )
        .unwrap();
        timed.push((
            format!("time-optimal, deviation {deviation}"),
            t.sample(0.004).unwrap(),
        ));
    }
    for jerk_limited in [false, true] {
        let options = SegmentOptions {
            jerk_limited,
            ..SegmentOptions::default()
        };
        let l = if jerk_limited { &limits } else { &no_jerk };
        let t = SegmentedTrajectory::new(&path, l, &options).unwrap();
        timed.push((
            format!("segmented, jerk-limited {jerk_limited}"),
            t.sample(0.004).unwrap(),
        ));
    }
    for (name, s) in &timed {
        let (v_use, a_use) = finite_difference_use(s, &limits);
        // finite differences of samples of a motion within its limits stay within them
        assert!(v_use <= 1.0 + 1e-9, "{name}: {v_use} of the velocity limit");
        assert!(
            a_use <= 1.0 + 1e-6,
            "{name}: {a_use} of the acceleration limit"
        );
        // and it does reach the bottom of the U and come back up
        let bottom = (0..s.len())
            .map(|k| s.q_at(k)[0])
            .fold(f64::INFINITY, f64::min);
        assert!(bottom < 0.05, "{name}: lowest {bottom}");
        assert!((s.q_at(s.len() - 1)[0] - 0.9).abs() < 1e-12, "{name}");
    }
}

/// The UR5e's wrist singularity: wrist 2 (joint 5) at 0, wrist 1 and wrist 3 aligned.
const WRIST_2: usize = 4;

#[test]
fn lins_near_the_ur5e_wrist_singularity_are_refused_or_keep_every_joint_limit() {
    let geometry = Arc::new(RobotGeometry::library("ur5e").unwrap());
    let robot = geometry.robot();
    let checker =
        Checker::new(geometry.clone(), Isometry3::identity(), &World::new(), &[]).unwrap();
    let limits = Limits::of_robot(robot).unwrap();
    let options = CartesianOptions::default();
    let mut rng = Rng::new(931);
    let (mut planned, mut refused, mut closest) = (0, 0, f64::INFINITY);
    for case in 0..60 {
        // a start with wrist 2 a little off the singularity, and a short line that moves the
        // wrist: towards or along the singular set
        let mut start = [0.3, -1.4, 1.5, -1.7, 0.0, 0.4];
        for (k, q) in start.iter_mut().enumerate() {
            *q += if k == WRIST_2 {
                0.0
            } else {
                rng.uniform(-0.4, 0.4)
            };
        }
        start[WRIST_2] = rng.uniform(0.01, 0.25) * if case % 2 == 0 { 1.0 } else { -1.0 };
        let p0 = robot.fk(&start).unwrap();
        let shift = Vector3::new(
            rng.uniform(-0.15, 0.15),
            rng.uniform(-0.15, 0.15),
            rng.uniform(-0.1, 0.1),
        );
        let turn = UnitQuaternion::from_axis_angle(&Vector3::x_axis(), rng.uniform(-0.3, 0.3));
        let goal = Isometry3::from_parts(
            Translation3::from(p0.translation.vector + shift),
            turn * p0.rotation,
        );
        match plan_cartesian(
            &checker,
            robot,
            &limits,
            &start,
            &CartesianPath::Line { goal },
            &options,
        ) {
            Ok(m) => {
                planned += 1;
                let s = &m.samples;
                let (v_use, a_use) = finite_difference_use(s, &limits);
                assert!(
                    v_use <= 1.0 + 1e-9,
                    "case {case}: {v_use} of a velocity limit"
                );
                assert!(
                    a_use <= 1.0 + 1e-6,
                    "case {case}: {a_use} of an acceleration limit"
                );
                for k in 0..s.len() {
                    closest = closest.min(s.q_at(k)[WRIST_2].abs());
                    // the TCP on the line (0.1 mm)
                    let x = robot.fk(s.q_at(k)).unwrap().translation.vector;
                    let (a, d) = (p0.translation.vector, shift);
                    let sigma = ((x - a).dot(&d) / d.norm_squared()).clamp(0.0, 1.0);
                    let off = (x - (a + d * sigma)).norm();
                    assert!(
                        off < 1e-4,
                        "case {case}: TCP {:.3} mm off the line",
                        off * 1e3
                    );
                }
            }
            Err(PlanningError::CartesianPathFailed {
                motion,
                fraction,
                reason,
                ..
            }) => {
                refused += 1;
                assert_eq!(motion, "LIN");
                assert!(
                    (0.0..=1.0).contains(&fraction),
                    "case {case}: at {fraction}"
                );
                assert!(!reason.is_empty(), "case {case}: a refusal says why");
            }
            Err(e) => panic!("case {case}: {e}"),
        }
    }
    eprintln!(
        "LINs near the UR5e wrist singularity: {planned} planned (wrist 2 came within \
         {closest:.4} rad of 0), {refused} refused"
    );
    // the cases do reach the neighbourhood of the singularity, both ways
    assert!(
        planned >= 10 && refused >= 1,
        "{planned} planned, {refused} refused"
    );
    assert!(closest < 0.05, "wrist 2 came no closer than {closest} rad");
}
