#![allow(clippy::unwrap_used)]
//! Planning two robots jointly: two UR5e facing each other across a shared workspace swap
//! sides at the same time. Their straight joint motions would hit each other mid-way (each
//! robot's own motion is free of the world), so the composite plan must avoid the other robot
//! while it moves. The result is checked independently: at every sample, each robot against
//! the other placed as a static obstacle at that sample (the single-robot checker's
//! robot-as-obstacle path, with exact primitive distances), and against the world.

use cella_collision::{
    Checker, CompositeChecker, RobotGeometry, Shape, StaticRobot, World, WorldObject,
};
use cella_kinematics::Rng;
use cella_planning::{GroupMember, JointSpace, PlanOptions, PlanningError, plan_group};
use cella_trajectory::{Limits, validate};
use nalgebra::{Isometry3, Vector3};
use std::f64::consts::{FRAC_PI_2, PI};
use std::sync::Arc;

struct Setup {
    geometry: Arc<RobotGeometry>,
    bases: [Isometry3<f64>; 2],
    world: World,
    space: JointSpace,
    limits: Limits,
}

fn setup() -> Setup {
    let geometry = Arc::new(RobotGeometry::library("ur5e").unwrap());
    let robot = geometry.robot().clone();
    let mut world = World::new();
    world
        .add(WorldObject {
            name: "floor".into(),
            shape: Shape::Box {
                half_extents: [1.5, 1.5, 0.05],
            },
            pose: Isometry3::translation(0.0, 0.0, -0.06),
            padding: 0.0,
        })
        .unwrap();
    world.set_padding(0.005).unwrap();
    Setup {
        space: JointSpace::of_chain(robot.chain()).unwrap(),
        limits: Limits::of_robot(&robot).unwrap(),
        geometry,
        bases: [
            Isometry3::translation(-0.5, 0.0, 0.0),
            Isometry3::new(Vector3::new(0.5, 0.0, 0.0), Vector3::new(0.0, 0.0, PI)),
        ],
        world,
    }
}

fn composite(s: &Setup) -> CompositeChecker {
    let member = |i: usize| Checker::new(s.geometry.clone(), s.bases[i], &s.world, &[]).unwrap();
    CompositeChecker::new(vec![
        ("left".into(), member(0)),
        ("right".into(), member(1)),
    ])
    .unwrap()
}

/// The two robots of the group, the right one with `right_limits`.
fn members<'a>(s: &'a Setup, right_limits: &'a Limits) -> [GroupMember<'a>; 2] {
    [
        GroupMember {
            name: "left",
            space: &s.space,
            limits: &s.limits,
        },
        GroupMember {
            name: "right",
            space: &s.space,
            limits: right_limits,
        },
    ]
}

/// Plans the group from `start` to `goal` with default options.
fn plan(
    checker: &CompositeChecker,
    members: &[GroupMember<'_>],
    start: &[f64],
    goal: &[f64],
) -> Result<cella_planning::PlannedMotion, PlanningError> {
    plan_group(
        checker,
        members,
        start,
        &[goal.to_vec()],
        &PlanOptions::default(),
        None,
    )
}

/// Robot `i` at `q`, the other robot static at `other`: the independent reference.
fn reference_valid(s: &Setup, i: usize, q: &[f64], other: &[f64]) -> bool {
    let static_other = StaticRobot::at("other", s.geometry.clone(), s.bases[1 - i], other.to_vec());
    let checker = Checker::new(s.geometry.clone(), s.bases[i], &s.world, &[static_other]).unwrap();
    let mut scratch = checker.scratch();
    checker.is_valid(&mut scratch, q)
}

/// Arm stretched horizontally at shoulder height, pan angle `pan` (robot frame).
fn reach_out(pan: f64) -> Vec<f64> {
    vec![pan, -0.35, 0.5, -0.15, -FRAC_PI_2, 0.0]
}

#[test]
fn two_robots_swapping_sides_avoid_each_other() {
    let s = setup();
    let checker = composite(&s);
    assert_eq!(checker.dof(), 12);
    // both arms sweep from one side to the other through the shared middle
    let start = [reach_out(1.2), reach_out(-1.2)].concat();
    let goal = [reach_out(-1.2), reach_out(1.2)].concat();
    let mut scratch = checker.scratch();
    assert!(checker.is_valid(&mut scratch, &start));
    assert!(checker.is_valid(&mut scratch, &goal));
    // premise: alone, each robot's sweep is free; together, they collide
    for i in 0..2 {
        let alone = Checker::new(s.geometry.clone(), s.bases[i], &s.world, &[]).unwrap();
        let mut sc = alone.scratch();
        let r = i * 6..i * 6 + 6;
        assert!(
            alone.motion_valid(&mut sc, &start[r.clone()], &goal[r]),
            "robot {i} alone"
        );
    }
    assert!(
        !checker.motion_valid(&mut scratch, &start, &goal),
        "the straight composite motion should collide (test premise)"
    );
    let members = members(&s, &s.limits);
    let motion = plan(&checker, &members, &start, &goal).unwrap();
    assert!(!motion.direct);
    let samples = &motion.samples;
    assert_eq!(samples.dof, 12);
    // ends exactly at start and goal, within the concatenated limits
    let last = samples.len() - 1;
    for j in 0..12 {
        assert!((samples.q_at(0)[j] - start[j]).abs() < 1e-9);
        assert!((samples.q_at(last)[j] - goal[j]).abs() < 1e-6);
    }
    let (_, limits) = cella_planning::group_space(&members).unwrap();
    validate(samples, &limits, 1e-6).unwrap();
    // independent check at every sample: each robot against the other as a static obstacle
    for k in 0..samples.len() {
        let q = samples.q_at(k);
        let (l, r) = (&q[..6], &q[6..]);
        assert!(
            reference_valid(&s, 0, l, r) && reference_valid(&s, 1, r, l),
            "sample {k} collides: {q:?}"
        );
    }
    // deterministic for a seed
    let again = plan(&checker, &members, &start, &goal).unwrap();
    assert_eq!(again.path, motion.path);
}

#[test]
fn composite_verdicts_are_never_more_permissive_than_the_reference() {
    let s = setup();
    let checker = composite(&s);
    let chain = s.geometry.robot().chain();
    let mut rng = Rng::new(21);
    let mut scratch = checker.scratch();
    let (mut l, mut r) = (vec![0.0; 6], vec![0.0; 6]);
    let (mut valid, mut inter_blocked) = (0, 0);
    for _ in 0..1500 {
        chain.random_configuration(&mut rng, &mut l);
        chain.random_configuration(&mut rng, &mut r);
        let q = [l.clone(), r.clone()].concat();
        let composite_ok = checker.is_valid(&mut scratch, &q);
        let reference_ok = reference_valid(&s, 0, &l, &r) && reference_valid(&s, 1, &r, &l);
        if composite_ok {
            assert!(
                reference_ok,
                "composite calls {q:?} free, the reference does not"
            );
            valid += 1;
        }
        let contacts = checker.contacts(&mut scratch, &q);
        if contacts
            .iter()
            .any(|(a, b)| a.starts_with("left/") && b.starts_with("right/"))
        {
            inter_blocked += 1;
            assert!(!composite_ok);
        }
    }
    assert!(
        valid > 50 && inter_blocked > 8,
        "{valid} valid, {inter_blocked} robot-robot"
    );
}

#[test]
fn group_errors_name_the_problem() {
    let s = setup();
    let checker = composite(&s);
    let mut no_jerk = s.limits.clone();
    no_jerk.jerk = None;
    let mixed = members(&s, &no_jerk);
    let start = [reach_out(1.2), reach_out(-1.2)].concat();
    let e = plan(&checker, &mixed, &start, &start).unwrap_err();
    assert!(e.to_string().contains("jerk"), "{e}");
    // a start where the two robots overlap: refused, naming robot-robot pairs
    let members = members(&s, &s.limits);
    let clash = [reach_out(0.0), reach_out(0.0)].concat();
    match plan(&checker, &members, &clash, &start) {
        Err(PlanningError::StartInCollision { pairs }) => {
            assert!(
                pairs
                    .iter()
                    .any(|(a, b)| a.starts_with("left/") && b.starts_with("right/")),
                "{pairs:?}"
            );
        }
        other => panic!("expected StartInCollision, got {other:?}"),
    }
    // wrong state length
    assert!(plan(&checker, &members, &start[..6], &start).is_err());
    // a repeated member name
    let c = Checker::new(s.geometry.clone(), s.bases[0], &s.world, &[]).unwrap();
    assert!(CompositeChecker::new(vec![("a".into(), c.clone()), ("a".into(), c)]).is_err());
}
