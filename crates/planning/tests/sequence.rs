#![allow(clippy::unwrap_used)]
//! Sequences of PTP and LIN steps as one trajectory: blends pass near intermediate goals and
//! save time, LIN pieces stay on their line, every limit holds, failures name the step.

use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
use cella_planning::{
    CartesianOptions, CartesianPath, JointSpace, PlanOptions, PlanningError, SequenceStep,
    plan_sequence, plan_sequence_within,
};
use cella_trajectory::{Limits, validate};
use nalgebra::{Isometry3, Translation3, Vector3};
use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;
use std::time::Duration;

fn kuka(objects: Vec<WorldObject>) -> (Arc<RobotGeometry>, Checker, Limits, JointSpace) {
    let g = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
    let mut world = World::new();
    for o in objects {
        world.add(o).unwrap();
    }
    let checker = Checker::new(g.clone(), Isometry3::identity(), &world, &[]).unwrap();
    let limits = Limits::of_robot(g.robot()).unwrap();
    let space = JointSpace::of_chain(g.robot().chain()).unwrap();
    (g, checker, limits, space)
}

const HOME: [f64; 6] = [0.0, -FRAC_PI_2, FRAC_PI_2, 0.0, FRAC_PI_2, 0.0];
const G1: [f64; 6] = [0.6, -1.3, 1.5, 0.3, 1.2, 0.2];
const G2: [f64; 6] = [1.1, -1.1, 1.3, 0.2, 1.0, 0.5];
const G3: [f64; 6] = [0.3, -1.3, 1.6, 0.2, 0.9, 0.1];

fn steps(blend: f64) -> Vec<SequenceStep> {
    let (g, ..) = kuka(vec![]);
    let p3 = g.robot().fk(&G3).unwrap();
    let lin_goal = Isometry3::from_parts(
        Translation3::from(p3.translation.vector + Vector3::new(0.0, 0.15, -0.1)),
        p3.rotation,
    );
    vec![
        SequenceStep::Ptp {
            goal: G1.to_vec(),
            blend,
        },
        SequenceStep::Ptp {
            goal: G2.to_vec(),
            blend,
        },
        SequenceStep::Ptp {
            goal: G3.to_vec(),
            blend,
        },
        SequenceStep::Cartesian {
            path: CartesianPath::Line { goal: lin_goal },
            options: CartesianOptions::default(),
        },
        SequenceStep::Ptp {
            goal: HOME.to_vec(),
            blend: 0.0,
        },
    ]
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn a_blended_sequence_passes_its_goals_keeps_the_line_and_the_limits() {
    let (g, checker, limits, space) = kuka(vec![]);
    let options = PlanOptions::default();
    let blended = plan_sequence(
        &checker,
        g.robot(),
        &space,
        &limits,
        &HOME,
        &steps(0.1),
        &options,
    )
    .unwrap();
    let stopped = plan_sequence(
        &checker,
        g.robot(),
        &space,
        &limits,
        &HOME,
        &steps(0.0),
        &options,
    )
    .unwrap();
    let s = &blended.samples;
    validate(s, &limits, 1e-6).unwrap();
    validate(&stopped.samples, &limits, 1e-6).unwrap();
    assert!(
        s.duration() < stopped.samples.duration() - 0.05,
        "blends save time: {} vs {}",
        s.duration(),
        stopped.samples.duration()
    );
    // G1 and G2 are passed within the blend, without stopping there
    for goal in [G1, G2] {
        let (k, d) = (0..s.len())
            .map(|k| (k, distance(s.q_at(k), &goal)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!(d <= 0.1 + 1e-6, "passes {d} rad from a goal");
        assert!(
            s.qd_at(k).iter().any(|v| v.abs() > 1e-3),
            "stopped at a blended goal"
        );
    }
    // G3 ends the PTP run: reached exactly, at rest; the LIN follows from there on its line
    let k3 = (0..s.len())
        .find(|&k| distance(s.q_at(k), &G3) < 1e-9)
        .expect("G3 reached");
    assert!(s.qd_at(k3).iter().all(|v| v.abs() < 1e-9));
    let p3 = g.robot().fk(&G3).unwrap().translation.vector;
    let d = Vector3::new(0.0, 0.15, -0.1);
    let lin_end = blended.step_ends[3];
    for k in (k3..s.len()).take_while(|&k| s.times[k] <= lin_end + 1e-9) {
        let x = g.robot().fk(s.q_at(k)).unwrap().translation.vector - p3;
        let t = (x.dot(&d) / d.norm_squared()).clamp(0.0, 1.0);
        assert!((x - d * t).norm() < 1e-4, "LIN left its line");
    }
    assert!(distance(s.q_at(s.len() - 1), &HOME) < 1e-12, "ends at home");
    assert_eq!(blended.step_ends.len(), 5);
    assert!(blended.step_ends.windows(2).all(|w| w[1] > w[0]));
}

#[test]
fn a_step_that_collides_or_is_malformed_is_named() {
    // a post between G1 and G2
    let (g0, ..) = kuka(vec![]);
    let mid: Vec<f64> = G1.iter().zip(&G2).map(|(a, b)| 0.5 * (a + b)).collect();
    let p = g0.robot().fk(&mid).unwrap().translation.vector;
    let post = WorldObject {
        name: "post".into(),
        shape: Shape::Sphere { radius: 0.05 },
        pose: Isometry3::translation(p.x, p.y, p.z),
        padding: 0.0,
    };
    let (g, checker, limits, space) = kuka(vec![post]);
    let e = plan_sequence(
        &checker,
        g.robot(),
        &space,
        &limits,
        &HOME,
        &steps(0.1),
        &PlanOptions::default(),
    )
    .unwrap_err();
    // the answer is no (a collision), not a malformed request: named by its step
    match e {
        PlanningError::MotionInCollision {
            ref pairs,
            step: Some(1),
            ..
        } => {
            assert!(
                pairs.iter().any(|(a, b)| a == "post" || b == "post"),
                "{pairs:?}"
            );
            assert!(e.to_string().starts_with("steps[1]: "), "{e}");
        }
        other => panic!("expected steps[1] to be named, got {other}"),
    }
    let (g, checker, limits, space) = kuka(vec![]);
    let mut bad = steps(0.1);
    bad[2] = SequenceStep::Ptp {
        goal: vec![0.0; 5],
        blend: 0.1,
    };
    let e = plan_sequence(
        &checker,
        g.robot(),
        &space,
        &limits,
        &HOME,
        &bad,
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, PlanningError::InvalidInput { ref field, .. } if field == "steps[2].goal"),
        "{e}"
    );
    assert!(
        plan_sequence(
            &checker,
            g.robot(),
            &space,
            &limits,
            &HOME,
            &[],
            &PlanOptions::default()
        )
        .is_err()
    );
}

#[test]
fn a_sequence_stops_between_steps_once_its_time_budget_is_spent() {
    let (g, checker, limits, space) = kuka(vec![]);
    let plan = |budget| {
        plan_sequence_within(
            &checker,
            g.robot(),
            &space,
            &limits,
            &HOME,
            &steps(0.1),
            &PlanOptions::default(),
            budget,
        )
    };
    // no time at all: not even the first step is begun
    match plan(Some(Duration::ZERO)).unwrap_err() {
        PlanningError::NoPath { reason } => assert!(reason.starts_with("steps[0]"), "{reason}"),
        other => panic!("{other}"),
    }
    // time enough: the same answer as without a bound
    let bounded = plan(Some(Duration::from_secs(600))).unwrap();
    let free = plan(None).unwrap();
    assert_eq!(bounded.samples.q, free.samples.q);
    assert_eq!(bounded.step_ends, free.step_ends);
}
