#![allow(clippy::unwrap_used)]
//! A plan to where the robot already is (issue item 12) returns the start held for one period:
//! two samples at rest, at 0 and at the period, so that an executor (which needs two samples
//! and increasing time) runs it. For PTP, free, LIN, CIRC (by a via point or a centre) and
//! sequences, also when the goal pose went through a frame change and back (rounding).

use cella_collision::{Checker, RobotGeometry, World};
use cella_planning::{
    CartesianOptions, CartesianPath, JointSpace, PlanOptions, SequenceStep, plan_cartesian,
    plan_joint, plan_ptp, plan_sequence,
};
use cella_trajectory::{Limits, SampledTrajectory, validate};
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use std::sync::Arc;

struct Arm {
    geometry: Arc<RobotGeometry>,
    checker: Checker,
    limits: Limits,
    space: JointSpace,
}

fn arm(name: &str) -> Arm {
    let geometry = Arc::new(RobotGeometry::library(name).unwrap());
    let checker =
        Checker::new(geometry.clone(), Isometry3::identity(), &World::new(), &[]).unwrap();
    let limits = Limits::of_robot(geometry.robot()).unwrap();
    let space = JointSpace::of_chain(geometry.robot().chain()).unwrap();
    Arm {
        geometry,
        checker,
        limits,
        space,
    }
}

const KUKA_START: [f64; 6] = [0.3, -1.3, 1.6, 0.2, 0.9, 0.1];
const UR_START: [f64; 6] = [0.4, -1.4, 1.6, -1.6, -1.5, 0.3];

/// Two samples one `period` apart, at rest, both at `start` (the last within `tolerance`
/// rad: a Cartesian goal comes back through IK), within every limit.
fn check_hold(s: &SampledTrajectory, start: &[f64], period: f64, limits: &Limits, tolerance: f64) {
    assert_eq!(s.times, [0.0, period]);
    assert_eq!(s.q_at(0), start);
    for (a, b) in s.q_at(1).iter().zip(start) {
        assert!((a - b).abs() <= tolerance, "{a} vs {b}");
    }
    assert!(s.qd.iter().chain(&s.qdd).all(|v| *v == 0.0));
    validate(s, limits, 1e-6).unwrap();
}

#[test]
fn ptp_and_free_plans_to_the_start_hold_it_for_one_period() {
    for (name, start) in [("kuka_kr6_r700", KUKA_START), ("ur5e", UR_START)] {
        let a = arm(name);
        for period in [0.004, 0.002, 0.1] {
            let options = PlanOptions {
                period,
                ..PlanOptions::default()
            };
            let m = plan_ptp(&a.checker, &a.space, &a.limits, &start, &start, &options).unwrap();
            check_hold(&m.samples, &start, period, &a.limits, 0.0);
            let m = plan_joint(
                &a.checker,
                &a.space,
                &a.limits,
                &start,
                &[start.to_vec()],
                &options,
                None,
            )
            .unwrap();
            check_hold(&m.samples, &start, period, &a.limits, 0.0);
            assert!(m.direct);
        }
    }
}

#[test]
fn lin_and_circ_plans_to_the_start_pose_hold_it_for_one_period() {
    // a base turned like the demo cell's KUKA: the goal goes to the world frame and back
    let base = Isometry3::from_parts(
        Translation3::new(0.6, 0.0, 0.75),
        UnitQuaternion::from_euler_angles(0.0, 0.0, std::f64::consts::PI),
    );
    for (name, start) in [("kuka_kr6_r700", KUKA_START), ("ur5e", UR_START)] {
        let a = arm(name);
        let robot = a.geometry.robot();
        let here = robot.fk(&start).unwrap();
        let rounded = base.inverse() * (base * here);
        for goal in [here, rounded] {
            let p = here.translation.vector;
            let paths = [
                CartesianPath::Line { goal },
                CartesianPath::ArcVia {
                    via: Point3::from(p + Vector3::new(0.05, 0.05, 0.0)),
                    goal,
                },
                CartesianPath::ArcCentre {
                    centre: Point3::from(p + Vector3::new(0.05, 0.0, 0.0)),
                    goal,
                },
            ];
            for path in paths {
                let options = CartesianOptions::default();
                let m = plan_cartesian(&a.checker, robot, &a.limits, &start, &path, &options)
                    .unwrap_or_else(|e| panic!("{name} {path:?}: {e}"));
                check_hold(&m.samples, &start, options.period, &a.limits, 1e-9);
                assert!(m.length < 1e-9 && m.rotation < 1e-9);
            }
        }
        // a goal a little off the start is still a motion, not a hold: CIRC refuses a circle
        // it cannot construct, LIN moves
        let off = Isometry3::from_parts(
            Translation3::from(here.translation.vector + Vector3::new(1e-6, 0.0, 0.0)),
            here.rotation,
        );
        let circ = CartesianPath::ArcCentre {
            centre: Point3::from(here.translation.vector + Vector3::new(0.05, 0.0, 0.0)),
            goal: off,
        };
        let options = CartesianOptions::default();
        assert!(plan_cartesian(&a.checker, robot, &a.limits, &start, &circ, &options).is_err());
        let lin = CartesianPath::Line { goal: off };
        let m = plan_cartesian(&a.checker, robot, &a.limits, &start, &lin, &options).unwrap();
        assert!(m.samples.len() >= 2 && m.samples.times[1] > 1e-9);
        validate(&m.samples, &a.limits, 1e-6).unwrap();
    }
}

#[test]
fn sequences_to_the_start_and_through_repeated_goals_are_executable() {
    let a = arm("kuka_kr6_r700");
    let robot = a.geometry.robot();
    let here = robot.fk(&KUKA_START).unwrap();
    let options = PlanOptions::default();
    let plan = |steps: &[SequenceStep]| {
        plan_sequence(
            &a.checker,
            robot,
            &a.space,
            &a.limits,
            &KUKA_START,
            steps,
            &options,
        )
        .unwrap()
    };
    let ptp_here = SequenceStep::Ptp {
        goal: KUKA_START.to_vec(),
        blend: 0.1,
    };
    let lin_here = SequenceStep::Cartesian {
        path: CartesianPath::Line { goal: here },
        options: CartesianOptions::default(),
    };
    for steps in [
        vec![ptp_here.clone()],
        vec![lin_here.clone()],
        vec![ptp_here.clone(), ptp_here.clone(), lin_here.clone()],
        vec![lin_here.clone(), ptp_here.clone(), lin_here.clone()],
    ] {
        let m = plan(&steps);
        let s = &m.samples;
        validate(s, &a.limits, 1e-6).unwrap();
        assert!(s.len() >= 2, "{steps:?}");
        assert_eq!(s.times[0], 0.0);
        assert!(s.times.windows(2).all(|w| w[1] - w[0] > 1e-9));
        for k in 0..s.len() {
            for (x, y) in s.q_at(k).iter().zip(&KUKA_START) {
                assert!((x - y).abs() < 1e-9);
            }
        }
        assert_eq!(m.step_ends.len(), steps.len());
    }
    // a real motion around a step that goes nowhere
    let g1 = [0.6, -1.3, 1.5, 0.3, 1.2, 0.2];
    let steps = [
        SequenceStep::Ptp {
            goal: g1.to_vec(),
            blend: 0.0,
        },
        SequenceStep::Cartesian {
            path: CartesianPath::Line {
                goal: robot.fk(&g1).unwrap(),
            },
            options: CartesianOptions::default(),
        },
        ptp_here,
    ];
    let m = plan(&steps);
    validate(&m.samples, &a.limits, 1e-6).unwrap();
    let last = m.samples.len() - 1;
    assert_eq!(m.samples.q_at(last), KUKA_START);
}
