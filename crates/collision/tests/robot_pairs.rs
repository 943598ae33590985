//! Two robots near each other: the clearance between them is one quantity, whichever robot's
//! checker measures it. Each robot's checker sees the other as a static robot; a motion one
//! robot is admitted to must never leave the other "in collision" by its own checker (it could
//! then neither plan nor move), so both must decide a pair of their links on the same geometry.
#![allow(clippy::unwrap_used)]

use cella_collision::{
    AllowedCollisions, Checker, RobotGeometry, Shape, StaticRobot, World, WorldObject,
};
use cella_kinematics::{Rng, library};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use std::sync::Arc;

/// Robot `name`'s largest reach from its base (m): its largest lever arm.
fn reach(g: &RobotGeometry) -> f64 {
    g.lever_arms().iter().copied().fold(0.0, f64::max)
}

/// Bundled robot `name` with every pair of its own links allowed to touch, so the closest pair
/// a checker reports is one between the robots (random states are often nearer to
/// self-collision than to the other robot).
fn between_robots_only(name: &str) -> Arc<RobotGeometry> {
    let mut g = RobotGeometry::library(name).unwrap();
    let model = g.robot().model().clone();
    let mut acm = AllowedCollisions::default();
    for x in model.links() {
        for y in model.links() {
            acm.allow(&x.name, &y.name, "test: robot pairs only");
        }
    }
    g.set_acm(acm).unwrap();
    Arc::new(g)
}

/// One robot's view: its checker with the other robot (at `other_q`, grown by `margin`) as a
/// static obstacle, on an empty world with a 1 cm padding. `carried` is attached to the
/// checked robot's tool, `other_carried` to the other's.
#[allow(clippy::too_many_arguments)]
fn view(
    g: &Arc<RobotGeometry>,
    base: Isometry3<f64>,
    other_name: &str,
    other: &Arc<RobotGeometry>,
    other_base: Isometry3<f64>,
    other_q: &[f64],
    margin: f64,
    carried: Option<&WorldObject>,
    other_carried: Option<&WorldObject>,
) -> Checker {
    let mut world = World::new();
    world.set_padding(0.01).unwrap();
    if let Some(part) = carried {
        world.add(part.clone()).unwrap();
        world
            .attach(
                &part.name,
                g.robot().chain().tip(),
                &Isometry3::identity(),
                Vec::new(),
            )
            .unwrap();
    }
    let mut static_robot = StaticRobot::at(other_name, other.clone(), other_base, other_q.to_vec());
    static_robot.margin = margin;
    if let Some(part) = other_carried {
        let mut w = World::new();
        w.add(part.clone()).unwrap();
        w.attach(
            &part.name,
            other.robot().chain().tip(),
            &Isometry3::identity(),
            Vec::new(),
        )
        .unwrap();
        static_robot.attached = w.attached().to_vec();
    }
    Checker::new(g.clone(), base, &world, &[static_robot]).unwrap()
}

/// Every bundled robot with the next one of the library, bases facing 1.1 reach apart (their
/// arms meet in the middle), on random state pairs near contact, with and without a margin
/// and a carried box on one side: the two checkers measure the same clearance near contact
/// (within 10 µm: both measure the hulls of the real meshes, or a carried part's capsule, to
/// micrometres) and give the same verdict wherever the clearance is not within that of
/// zero. Before, each robot measured its own hulls against the other's capsules, and
/// the two views of one state differed by up to 4.5 cm (25 of 67 verdicts, UR5e and KR6).
#[test]
fn both_robots_measure_the_same_clearance_between_them() {
    let names: Vec<&str> = library::names().collect();
    let part = |name: &str| WorldObject {
        name: name.into(),
        shape: Shape::Box {
            half_extents: [0.03, 0.04, 0.05],
        },
        pose: Isometry3::translation(0.0, 0.0, 0.06),
        padding: 0.0,
    };
    let (mut compared, mut colliding, mut free) = (0, 0, 0);
    for (k, a_name) in names.iter().enumerate() {
        let b_name = names[(k + 1) % names.len()];
        let (a, b) = (between_robots_only(a_name), between_robots_only(b_name));
        let apart = 0.4 * (reach(&a) + reach(&b));
        let a_base = Isometry3::identity();
        let b_base = Isometry3::from_parts(
            Translation3::new(apart, 0.05, 0.0),
            UnitQuaternion::from_euler_angles(0.0, 0.0, std::f64::consts::PI),
        );
        let mut rng = Rng::new(11 + k as u64);
        let (mut qa, mut qb) = (
            vec![0.0; a.robot().chain().dof()],
            vec![0.0; b.robot().chain().dof()],
        );
        let mut near = 0;
        let mut tries = 0;
        while near < 40 && tries < 20000 {
            tries += 1;
            a.robot().chain().random_configuration(&mut rng, &mut qa);
            b.robot().chain().random_configuration(&mut rng, &mut qb);
            let case = near % 4;
            let margin = if case == 1 { 0.004 } else { 0.0 };
            let carried_a = (case == 2).then(|| part("part_a"));
            let carried_b = (case == 3).then(|| part("part_b"));
            let from_a = view(
                &a,
                a_base,
                "b",
                &b,
                b_base,
                &qb,
                margin,
                carried_a.as_ref(),
                carried_b.as_ref(),
            );
            let mut sa = from_a.scratch();
            let Some(da) = from_a.distance(&mut sa, &qa) else {
                continue;
            };
            // a pair between the robots, near contact (not self-collision, not the far field)
            if !da.b.starts_with("b/") || da.distance.abs() > 0.05 {
                continue;
            }
            let from_b = view(
                &b,
                b_base,
                "a",
                &a,
                a_base,
                &qa,
                margin,
                carried_b.as_ref(),
                carried_a.as_ref(),
            );
            let mut sb = from_b.scratch();
            let db = from_b.distance(&mut sb, &qb).unwrap();
            if !db.b.starts_with("a/") {
                continue; // its own closest pair is a self pair: nothing to compare
            }
            near += 1;
            compared += 1;
            let context = format!(
                "{a_name} at {qa:?} / {b_name} at {qb:?}, margin {margin}, case {case}: \
                 {a_name} sees {da:?}, {b_name} sees {db:?}"
            );
            // (penetration depths of overlapping hulls are parry's estimates: compared near
            // contact, where verdicts are decided)
            if da.distance > -0.005 {
                assert!((da.distance - db.distance).abs() < 1e-5, "{context}");
            }
            if da.distance.abs() > 1e-5 {
                let (va, vb) = (from_a.is_valid(&mut sa, &qa), from_b.is_valid(&mut sb, &qb));
                assert_eq!(va, vb, "verdicts differ: {context}");
                assert_eq!(va, da.distance >= 0.0, "{context}");
                if va {
                    free += 1;
                } else {
                    colliding += 1;
                }
            }
        }
        eprintln!("{a_name} with {b_name}: {near} near pairs in {tries} tries");
        assert!(
            near >= 20,
            "{a_name} with {b_name}: only {near} near pairs in {tries} tries"
        );
    }
    assert!(
        free > 20 && colliding > 20,
        "{compared} compared: {free} free, {colliding} colliding"
    );
}
