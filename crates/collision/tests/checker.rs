#![allow(clippy::unwrap_used)]
//! The fast checker against known answers: every shape pair touching, 1 mm apart and 1 mm
//! into each other; bundled robots free at their named poses. (The MotionBenchMaker problems'
//! start states: `tests/mbm_scenes.rs` of the workspace root, next to the problem format.)

use cella_collision::shape::{point_segment_distance, segment_segment_distance};
use cella_collision::{Checker, RobotGeometry, Shape, StaticRobot, World, WorldObject};
use cella_kinematics::library;
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use std::sync::Arc;

mod common;

const MM: f64 = 1e-3;

/// Distance from a capsule (segment a-b, radius r) to each shape, placed with a random-ish
/// rotation, compared with the analytic answer.
#[test]
fn capsule_against_every_shape_touching_apart_and_penetrating() {
    let r = 0.05;
    let rot = UnitQuaternion::from_euler_angles(0.3, -0.7, 1.1);
    let shapes = [
        // (shape, outward direction from its centre along which the surface is at `extent`)
        (
            Shape::Sphere { radius: 0.1 },
            Vector3::new(1.0, 0.0, 0.0),
            0.1,
        ),
        (
            Shape::Box {
                half_extents: [0.2, 0.1, 0.3],
            },
            Vector3::new(0.0, 1.0, 0.0),
            0.1,
        ),
        (
            Shape::Box {
                half_extents: [0.2, 0.1, 0.3],
            },
            Vector3::new(0.0, 0.0, 1.0),
            0.3,
        ),
        (
            Shape::Cylinder {
                radius: 0.08,
                half_length: 0.2,
            },
            Vector3::new(1.0, 0.0, 0.0),
            0.08,
        ),
        (
            Shape::Cylinder {
                radius: 0.08,
                half_length: 0.2,
            },
            Vector3::new(0.0, 0.0, 1.0),
            0.2,
        ),
        (
            Shape::Capsule {
                radius: 0.04,
                half_length: 0.2,
            },
            Vector3::new(0.0, 1.0, 0.0),
            0.04,
        ),
        (
            Shape::Capsule {
                radius: 0.04,
                half_length: 0.2,
            },
            Vector3::new(0.0, 0.0, -1.0),
            0.24,
        ),
    ];
    for (shape, dir, extent) in shapes {
        // the capsule's segment is perpendicular to `dir`, centred on the axis through the
        // surface point, at distance extent + r + gap from the centre
        let dir: Vector3<f64> = dir;
        let perp: Vector3<f64> = if dir.x.abs() < 0.5 {
            Vector3::x()
        } else {
            Vector3::y()
        };
        let perp = (perp - dir * perp.dot(&dir)).normalize();
        for gap in [-MM, 0.0, MM] {
            let c = dir * (extent + r + gap);
            let a = Point3::from(c - perp * 0.01);
            let b = Point3::from(c + perp * 0.01);
            let d = shape.segment_distance(&a, &b, 1e-6) - r;
            let expected = gap.max(-r);
            // penetration is reported as 0 (touching) by the segment distance
            let expected = expected.max(-r).max(if gap < 0.0 { -r } else { 0.0 });
            if gap >= 0.0 {
                assert!((d - expected).abs() < 2e-6, "{shape:?} gap {gap}: {d}");
            } else {
                assert!(d < 0.0, "{shape:?} penetrating by 1 mm: {d}");
            }
            // the same answer through a world object at a rotated pose
            let pose = Isometry3::from_parts(Translation3::new(0.4, -0.2, 0.7), rot);
            let d2 = shape.segment_distance(
                &(pose.inverse() * (pose * a)),
                &(pose.inverse() * (pose * b)),
                1e-6,
            ) - r;
            assert!((d - d2).abs() < 1e-9);
        }
    }
}

#[test]
fn segment_distances_match_analytic_cases() {
    let p = |x: f64, y: f64, z: f64| Point3::new(x, y, z);
    // crossing segments 1 mm apart
    let d = segment_segment_distance(
        &p(-1., 0., 0.),
        &p(1., 0., 0.),
        &p(0., -1., MM),
        &p(0., 1., MM),
    );
    assert!((d - MM).abs() < 1e-12);
    // parallel segments
    let d = segment_segment_distance(
        &p(0., 0., 0.),
        &p(1., 0., 0.),
        &p(0.5, 0.2, 0.),
        &p(2., 0.2, 0.),
    );
    assert!((d - 0.2).abs() < 1e-12);
    // degenerate segments (points)
    let d = segment_segment_distance(
        &p(0., 0., 0.),
        &p(0., 0., 0.),
        &p(0., 3., 4.),
        &p(0., 3., 4.),
    );
    assert!((d - 5.0).abs() < 1e-12);
    assert!(
        (point_segment_distance(&p(2., 1., 0.), &p(0., 0., 0.), &p(1., 0., 0.)) - 2f64.sqrt())
            .abs()
            < 1e-12
    );
}

/// Every robot of the library has its exact layer (`robots/<name>/hulls.txt`, embedded by
/// the build script for each library robot that has one): a robot added without the file
/// fails here instead of being checked on its capsules alone.
#[test]
fn every_bundled_robot_has_its_hulls() {
    let names: Vec<&str> = library::names().collect();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let g = RobotGeometry::library(name).unwrap();
        let exact = g
            .exact()
            .unwrap_or_else(|| panic!("{name}: no robots/{name}/hulls.txt, only capsules"));
        let hulls = format!("{exact:?}");
        assert!(!hulls.starts_with("ExactLinks(0 "), "{name}: {hulls}");
    }
}

#[test]
fn bundled_robots_are_free_at_their_named_poses() {
    for name in library::names() {
        let g = Arc::new(RobotGeometry::library(name).unwrap());
        let checker = Checker::new(g.clone(), Isometry3::identity(), &World::new(), &[]).unwrap();
        let mut s = checker.scratch();
        for (pose, q) in g.robot().named_poses() {
            let contacts = checker.contacts(&mut s, q);
            assert!(
                checker.is_valid(&mut s, q),
                "{name} '{pose}' self-collides: {contacts:?}"
            );
            let clearance = checker.distance(&mut s, q).unwrap();
            eprintln!(
                "{name:18} {pose:8} clearance {:.1} mm ({} - {})",
                clearance.distance / MM,
                clearance.a,
                clearance.b
            );
        }
        let allowed: Vec<_> = g
            .acm()
            .pairs()
            .filter(|(_, _, r)| *r != "adjacent")
            .collect();
        eprintln!("{name:18} ACM beyond adjacency: {allowed:?}");
    }
}

#[test]
fn a_box_on_the_tcp_collides_and_names_the_pair() {
    let g = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
    let home = g.robot().named_pose("home").unwrap().to_vec();
    let tcp = g.robot().fk(&home).unwrap();
    let mut world = World::new();
    world
        .add(WorldObject {
            name: "fixture".into(),
            shape: Shape::Box {
                half_extents: [0.05, 0.05, 0.05],
            },
            pose: Isometry3::from_parts(
                Translation3::from(tcp.translation.vector),
                UnitQuaternion::identity(),
            ),
            padding: 0.0,
        })
        .unwrap();
    let checker = Checker::new(g, Isometry3::identity(), &world, &[]).unwrap();
    let mut s = checker.scratch();
    assert!(!checker.is_valid(&mut s, &home));
    let contacts = checker.contacts(&mut s, &home);
    assert!(contacts.iter().any(|(_, o)| o == "fixture"), "{contacts:?}");
    assert!(checker.distance(&mut s, &home).unwrap().distance < 0.0);
    // allowed contact: the gripper may touch the fixture
    for (link, _) in &contacts {
        world.allow_contact("fixture", link).unwrap();
    }
    let g = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
    let checker = Checker::new(g, Isometry3::identity(), &world, &[]).unwrap();
    let mut s = checker.scratch();
    assert!(checker.is_valid(&mut s, &home));
}

#[test]
fn padding_and_other_robots_count() {
    let g = Arc::new(RobotGeometry::library("ur5e").unwrap());
    let home = g.robot().named_pose("home").unwrap().to_vec();
    let free = Checker::new(g.clone(), Isometry3::identity(), &World::new(), &[]).unwrap();
    let mut s = free.scratch();
    assert!(free.is_valid(&mut s, &home));
    // a twin robot 0.3 m away collides; 3 m away it does not
    for (dx, valid) in [(0.3, false), (3.0, true)] {
        let other = StaticRobot::at(
            "twin",
            g.clone(),
            Isometry3::translation(dx, 0.0, 0.0),
            home.clone(),
        );
        let c = Checker::new(g.clone(), Isometry3::identity(), &World::new(), &[other]).unwrap();
        let mut s = c.scratch();
        assert_eq!(c.is_valid(&mut s, &home), valid, "twin at {dx} m");
        if !valid {
            assert!(
                c.contacts(&mut s, &home)
                    .iter()
                    .any(|(_, b)| b.starts_with("twin/"))
            );
        }
    }
    // a ball approaching the TCP from above: the padding moves the first rejected position
    // outward by exactly the padding (within the 0.1 mm distance tolerance)
    let tcp = g.robot().fk(&home).unwrap().translation.vector;
    let first_rejected = |padding: f64| {
        let (mut lo, mut hi) = (0.0, 1.0); // height above the TCP: lo collides, hi is free
        for _ in 0..40 {
            let h = 0.5 * (lo + hi);
            let mut world = World::new();
            world.set_padding(padding).unwrap();
            world
                .add(WorldObject {
                    name: "ball".into(),
                    shape: Shape::Sphere { radius: 0.02 },
                    pose: Isometry3::translation(tcp.x, tcp.y, tcp.z + h),
                    padding: 0.0,
                })
                .unwrap();
            let c = Checker::new(g.clone(), Isometry3::identity(), &world, &[]).unwrap();
            let mut s = c.scratch();
            if c.is_valid(&mut s, &home) {
                hi = h;
            } else {
                lo = h;
            }
        }
        hi
    };
    // along the surface normal the contact moves by exactly the padding; approached
    // vertically, a slanted face of the exact hull moves it by padding / cos(slope)
    let shift = first_rejected(0.01) - first_rejected(0.0);
    assert!(
        (0.0098..0.0125).contains(&shift),
        "padding 10 mm shifted contact by {shift}"
    );
}

/// The closed-form segment/box distance equals a dense brute-force minimum over the segment.
#[test]
fn segment_box_distance_matches_brute_force() {
    let mut rng = cella_kinematics::Rng::new(9);
    let h = [0.2, 0.1, 0.3];
    let shape = Shape::Box { half_extents: h };
    for _ in 0..2000 {
        let mut p = || {
            Point3::new(
                rng.uniform(-0.8, 0.8),
                rng.uniform(-0.8, 0.8),
                rng.uniform(-0.8, 0.8),
            )
        };
        let (a, b) = (p(), p());
        let exact = cella_collision::shape::segment_box_distance(&a, &b, &h);
        let brute = (0..=4000)
            .map(|k| shape.point_distance(&(a + (b - a) * (k as f64 / 4000.0))))
            .fold(f64::INFINITY, f64::min);
        // brute force samples can only overestimate, by at most half a sample spacing
        assert!(exact <= brute + 1e-12, "{a:?} {b:?}: {exact} > {brute}");
        assert!(
            brute - exact <= (b - a).norm() / 8000.0 + 1e-12,
            "{a:?} {b:?}: {exact} vs {brute}"
        );
    }
}

/// A ball on the TCP's path between two states: the straight motion must be rejected even
/// though both ends are free, whatever the ball's size relative to the step.
#[test]
fn motion_through_a_ball_on_the_tcp_path_is_rejected() {
    let g = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
    let a = vec![
        0.0,
        -std::f64::consts::FRAC_PI_2,
        std::f64::consts::FRAC_PI_2,
        0.0,
        std::f64::consts::FRAC_PI_2,
        0.0,
    ];
    let mut b = a.clone();
    b[0] = 2.5;
    let mut mid = a.clone();
    mid[0] = 1.25;
    let tcp = g.robot().fk(&mid).unwrap().translation.vector;
    for radius in [0.08, 0.02, 0.005] {
        let mut world = World::new();
        world
            .add(WorldObject {
                name: "ball".into(),
                shape: Shape::Sphere { radius },
                pose: Isometry3::translation(tcp.x, tcp.y, tcp.z),
                padding: 0.0,
            })
            .unwrap();
        let c = Checker::new(g.clone(), Isometry3::identity(), &world, &[]).unwrap();
        let mut s = c.scratch();
        assert!(c.is_valid(&mut s, &a) && c.is_valid(&mut s, &b));
        assert!(
            !c.is_valid(&mut s, &mid),
            "radius {radius}: the midway state must collide"
        );
        assert!(
            !c.motion_valid(&mut s, &a, &b),
            "radius {radius}: motion through the ball accepted"
        );
    }
}

/// The allowed-collision matrices stored in the bundled robot.toml files are what sampling
/// finds for the current geometry (regenerate with `cella robot acm NAME`).
#[test]
fn stored_acms_match_sampling() {
    for name in library::names() {
        let g = RobotGeometry::library(name).unwrap();
        assert!(
            !g.robot().allowed_collisions().is_empty(),
            "{name}: no stored ACM"
        );
        let computed = cella_collision::AllowedCollisions::compute(&g, 1000, 1);
        let stored: Vec<_> = g.acm().pairs().collect();
        let fresh: Vec<_> = computed.pairs().collect();
        assert_eq!(stored, fresh, "{name}: stored ACM is stale");
    }
}

/// An unknown link in a stored ACM is an error naming it.
#[test]
fn unknown_link_in_the_acm_is_named() {
    let config = cella_kinematics::library::config("ur5e").unwrap().clone();
    let mut config = config;
    config
        .allowed_collisions
        .push(cella_kinematics::config::AllowedCollision {
            links: ["wrist_3_link".into(), "no_such_link".into()],
            reason: "test".into(),
            default_distance: None,
            contact_fraction: None,
        });
    let urdf = cella_kinematics::library::urdf_text("ur5e").unwrap();
    let robot = cella_kinematics::Robot::from_config(config, urdf, None).unwrap();
    let e = RobotGeometry::from_urdf(
        Arc::new(robot),
        urdf,
        &cella_collision::MeshSource::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no_such_link"), "{e}");
}

/// Pairs of links that never move relative to each other (the Panda's fingers: their joint is
/// outside the planning group) are decided once, when the checker is built: a clear pair is
/// never checked again, but a rigid pair that overlaps must stay and make every state invalid.
#[test]
fn rigid_pairs_that_overlap_make_every_state_invalid() {
    let g = Arc::new(RobotGeometry::library("panda").unwrap());
    let robot = g.robot();
    let ready = robot.named_pose("ready").unwrap().to_vec();
    // a part attached to the left finger reaching into the right one: a rigid pair that
    // overlaps, so every state collides until the part may touch the right finger
    let model = robot.model();
    let mut full = vec![0.0; model.variables().len()];
    robot.model_state(&ready, &mut full).unwrap();
    let mut poses = vec![Isometry3::identity(); model.links().len()];
    model.link_poses(&full, &mut poses).unwrap();
    let left = model.link_index("panda_leftfinger").unwrap();
    let right = model.link_index("panda_rightfinger").unwrap();
    let capsule = g.capsules().iter().find(|c| c.link == right).unwrap();
    let on_right = poses[right] * nalgebra::center(&capsule.a, &capsule.b);
    let held = |touch: Vec<String>| {
        let mut world = World::new();
        world
            .add(WorldObject {
                name: "part".into(),
                shape: Shape::Sphere { radius: 0.01 },
                pose: Isometry3::from_parts(
                    Translation3::from(on_right.coords),
                    UnitQuaternion::identity(),
                ),
                padding: 0.0,
            })
            .unwrap();
        world
            .attach("part", "panda_leftfinger", &poses[left], touch)
            .unwrap();
        Checker::new(g.clone(), Isometry3::identity(), &world, &[]).unwrap()
    };
    let stuck = held(Vec::new());
    let mut s = stuck.scratch();
    let home = robot.named_pose("home").unwrap().to_vec();
    for q in [&ready, &home] {
        assert!(!stuck.is_valid(&mut s, q));
        let contacts = stuck.contacts(&mut s, q);
        assert!(
            contacts.iter().any(
                |(a, b)| [a.as_str(), b.as_str()] == ["part", "panda_rightfinger"]
                    || [a.as_str(), b.as_str()] == ["panda_rightfinger", "part"]
            ),
            "{contacts:?}"
        );
    }
    let allowed = held(vec!["panda_rightfinger".into()]);
    let mut s = allowed.scratch();
    assert!(allowed.is_valid(&mut s, &ready));
}

/// `distance` is the clearance of the geometry the verdict is decided on: on random states of
/// every bundled robot in clutter, with a part attached to the tool, it is negative exactly
/// when `is_valid` is false, its pair is one `contacts` names, and for a free state it is
/// never below what the capsules (which contain the hulls) allow.
#[test]
fn distance_is_negative_exactly_when_the_state_collides() {
    for (k, name) in library::names().enumerate() {
        let g = Arc::new(RobotGeometry::library(name).unwrap());
        let reach = g.lever_arms().iter().copied().fold(0.0, f64::max);
        let base = Isometry3::translation(0.1, -0.2, 0.0);
        let mut world = common::cluttered_world(&base, reach, 300 + k as u64);
        world.set_padding(0.003).unwrap();
        let checker = Checker::new(g.clone(), base, &world, &[]).unwrap();
        let mut s = checker.scratch();
        let mut rng = cella_kinematics::Rng::new(31 + k as u64);
        let mut q = vec![0.0; g.robot().chain().dof()];
        let (mut free, mut colliding, mut self_colliding, mut reconciled) = (0, 0, 0, 0);
        for _ in 0..1500 {
            g.robot().chain().random_configuration(&mut rng, &mut q);
            let valid = checker.is_valid(&mut s, &q);
            let d = checker.distance(&mut s, &q).unwrap();
            assert_eq!(
                d.distance < 0.0,
                !valid,
                "{name} {q:?}: distance {} ({} - {}), valid {valid}",
                d.distance,
                d.a,
                d.b
            );
            // the measurement's sign was overruled by the certified verdict (only within the
            // certification tolerance, so almost never)
            reconciled += usize::from(d.distance == 0.0 || d.distance == -f64::EPSILON);
            let contacts = checker.contacts(&mut s, &q);
            assert_eq!(contacts.is_empty(), valid, "{name} {q:?}: {contacts:?}");
            if valid {
                free += 1;
                // the capsules contain the hulls: the exact clearance is never below theirs
                let capsules = checker.capsule_distance(&mut s, &q).unwrap();
                let margin = cella_collision::EXACT_MARGIN;
                assert!(
                    d.distance >= capsules.distance - 0.003 - margin - 1e-9,
                    "{name} {q:?}: {d:?} capsules {capsules:?}"
                );
            } else {
                colliding += 1;
                let pair = (d.a.clone(), d.b.clone());
                assert!(
                    contacts.contains(&pair),
                    "{name}: {pair:?} not in {contacts:?}"
                );
                let is_link = |n: &str| g.robot().model().link_index(n).is_ok();
                self_colliding += usize::from(is_link(&d.a) && is_link(&d.b));
            }
        }
        eprintln!(
            "{name:18} {free} free, {colliding} colliding ({self_colliding} with itself), \
             {reconciled} signs set by the verdict"
        );
        assert!(free > 100 && colliding > 40, "{name}: exercises too little");
        assert!(
            reconciled <= 3,
            "{name}: {reconciled} measurements disagree with the verdict"
        );
    }
}

/// A robot an object was dropped on may back out of it, never into something else: moving
/// away from a ball on its tool recovers; the same escape into a second object does not,
/// although the smallest clearance grows.
#[test]
fn backing_out_of_a_collision_may_not_touch_anything_new() {
    let g = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
    let home = g.robot().named_pose("home").unwrap().to_vec();
    let at = |q: &[f64]| g.robot().fk(q).unwrap().translation.vector;
    // the second axis lifts the tool out, the first turns it sideways
    let mut up = home.clone();
    up[1] -= 0.25;
    let mut left = home.clone();
    left[0] += 0.25;
    let ball = |name: &str, radius: f64, centre: Vector3<f64>| WorldObject {
        name: name.into(),
        shape: Shape::Sphere { radius },
        pose: Isometry3::from_parts(Translation3::from(centre), UnitQuaternion::identity()),
        padding: 0.0,
    };
    let dropped = ball("dropped", 0.04, at(&home));
    let mut world = World::new();
    world.add(dropped.clone()).unwrap();
    let checker = Checker::new(g.clone(), Isometry3::identity(), &world, &[]).unwrap();
    let mut s = checker.scratch();
    assert!(!checker.is_valid(&mut s, &home));
    assert!(checker.is_valid(&mut s, &up) && checker.is_valid(&mut s, &left));
    assert!(checker.recovers(&mut s, &home, &up));
    assert!(checker.recovers(&mut s, &home, &left));
    // from a free state, moving into the ball is no recovery
    assert!(!checker.recovers(&mut s, &up, &home));
    // a second object where the tool would go
    world.add(ball("above", 0.02, at(&up))).unwrap();
    let checker = Checker::new(g, Isometry3::identity(), &world, &[]).unwrap();
    let mut s = checker.scratch();
    let before = checker.clearance(&mut s, &home).unwrap();
    let after = checker.clearance(&mut s, &up).unwrap();
    assert!(after < 0.0, "the tool does not reach the second ball");
    assert!(
        after > before,
        "the smallest clearance alone would allow it"
    );
    assert!(!checker.recovers(&mut s, &home, &up), "{before} -> {after}");
}

/// A world of one sphere of `radius` at `at` with `padding`, around the world's `world_pad`.
fn sphere_world(at: Vector3<f64>, radius: f64, padding: f64, world_pad: f64) -> World {
    let mut w = World::new();
    w.set_padding(world_pad).unwrap();
    w.add(WorldObject {
        name: "fixture".into(),
        shape: Shape::Sphere { radius },
        pose: Isometry3::translation(at.x, at.y, at.z),
        padding,
    })
    .unwrap();
    w
}

#[test]
fn an_objects_padding_is_that_object_grown_beyond_the_worlds_padding() {
    let g = Arc::new(RobotGeometry::library("ur5e").unwrap());
    let home = g.robot().named_pose("home").unwrap().to_vec();
    // a sphere 20 cm beyond the tool, along its axis
    let tcp = g.robot().fk(&home).unwrap();
    let at = tcp.translation.vector + tcp.rotation * Vector3::new(0.0, 0.0, 0.2);
    let valid = |w: &World| {
        let c = Checker::new(g.clone(), Isometry3::identity(), w, &[]).unwrap();
        c.is_valid(&mut c.scratch(), &home)
    };
    let world_pad = 0.01;
    let radius = 0.03;
    let mut verdicts = Vec::new();
    for k in 0..=40 {
        let padding = 0.005 * k as f64;
        let padded = valid(&sphere_world(at, radius, padding, world_pad));
        // the same verdict as the sphere grown by what its padding adds to the world's
        let grown = radius + (padding - world_pad).max(0.0);
        assert_eq!(
            padded,
            valid(&sphere_world(at, grown, 0.0, world_pad)),
            "padding {padding}"
        );
        verdicts.push(padded);
    }
    // no padding up to the world's changes anything; more keeps the robot further away:
    // free with a little, in collision with a lot, and never free again once not
    assert!(verdicts[0] && verdicts[1] && verdicts[2]);
    assert!(
        !verdicts[40],
        "0.2 m of padding still lets the tool 0.2 m away"
    );
    let first = verdicts.iter().position(|v| !v).unwrap();
    assert!(verdicts[first..].iter().all(|v| !v), "{verdicts:?}");

    // bad paddings are refused naming the object, and the world is unchanged
    for bad in [-0.01, f64::NAN, f64::INFINITY, 1.5] {
        let mut w = World::new();
        let e = w
            .add(WorldObject {
                name: "fixture".into(),
                shape: Shape::Sphere { radius },
                pose: Isometry3::identity(),
                padding: bad,
            })
            .unwrap_err();
        assert!(e.to_string().contains("padding"), "{e}");
        assert!(w.objects().is_empty());
    }
}

#[test]
fn grown_shapes_contain_the_exact_offset_of_the_shape() {
    // every point within d of the shape is inside the grown shape (spheres and capsules
    // exactly, boxes and cylinders with square edges)
    let d = 0.05;
    let shapes = [
        Shape::Sphere { radius: 0.1 },
        Shape::Box {
            half_extents: [0.1, 0.2, 0.05],
        },
        Shape::Cylinder {
            radius: 0.1,
            half_length: 0.2,
        },
        Shape::Capsule {
            radius: 0.05,
            half_length: 0.1,
        },
    ];
    let mut rng = cella_kinematics::Rng::new(7);
    for shape in shapes {
        let grown = shape.inflated(d);
        for _ in 0..20_000 {
            let p = Point3::new(
                rng.uniform(-0.5, 0.5),
                rng.uniform(-0.5, 0.5),
                rng.uniform(-0.5, 0.5),
            );
            let near = shape.point_distance(&p);
            if near <= d - 1e-9 {
                assert!(
                    grown.point_distance(&p) <= 1e-9,
                    "{shape:?}: a point {near} m from it is outside {grown:?}"
                );
            }
        }
    }
}

/// Backing out of the deepest contact may not bring another part of the robot into an object
/// one part already touches (the smallest clearance alone would allow it: it is the other
/// contact's; and the object is one the robot "touches"). The monitor of the chaos test saw
/// this once: a jogging UR5e's upper arm entering a box its wrist was within the padding of.
#[test]
fn backing_out_of_a_collision_may_not_bring_another_part_into_what_it_touches() {
    let g = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
    let home = g.robot().named_pose("home").unwrap().to_vec();
    let at = |q: &[f64]| g.robot().fk(q).unwrap().translation.vector;
    let mut left = home.clone();
    left[0] += 0.25;
    let mut part_way = home.clone();
    part_way[0] += 0.04;
    let ball = |name: &str, radius: f64, centre: Vector3<f64>| WorldObject {
        name: name.into(),
        shape: Shape::Sphere { radius },
        pose: Isometry3::from_parts(Translation3::from(centre), UnitQuaternion::identity()),
        padding: 0.0,
    };
    let checker_of = |balls: &[WorldObject]| {
        let mut w = World::new();
        for b in balls {
            w.add(b.clone()).unwrap();
        }
        Checker::new(g.clone(), Isometry3::identity(), &w, &[]).unwrap()
    };
    // a small ball ahead of the tool, towards the left, touching it 1 mm deep at home
    let centre = at(&home) + (at(&left) - at(&home)) * 0.5;
    let probe = checker_of(&[ball("beside", 0.02, centre)]);
    let gap = probe.clearance(&mut probe.scratch(), &home).unwrap();
    let beside = ball("beside", 0.02 - gap + 0.001, centre);
    let alone = checker_of(std::slice::from_ref(&beside));
    let mut s = alone.scratch();
    let (touch_home, touch_part) = (
        alone.clearance(&mut s, &home).unwrap(),
        alone.clearance(&mut s, &part_way).unwrap(),
    );
    assert!(
        touch_home < 0.0 && touch_part < touch_home,
        "{touch_home} {touch_part}"
    );
    // and a ball dropped deep on the tool
    let both = checker_of(&[ball("dropped", 0.04, at(&home)), beside]);
    let mut s = both.scratch();
    let (before, after) = (
        both.clearance(&mut s, &home).unwrap(),
        both.clearance(&mut s, &part_way).unwrap(),
    );
    assert!(
        after > before,
        "the smallest clearance grows ({before} -> {after}): it would allow the move"
    );
    assert!(
        !both.recovers(&mut s, &home, &part_way),
        "backing out of the dropped ball went {} m deeper into the one beside",
        touch_home - touch_part
    );
}
