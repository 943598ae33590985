//! Shared scenes of the collision tests (each test crate uses a part of them).
#![allow(dead_code)]

use cella_collision::{Shape, World, WorldObject};
use cella_kinematics::Rng;
use nalgebra::{Isometry3, Translation3, UnitQuaternion};

/// 30 objects of every primitive kind within the robot's reach (scaled to `reach` metres),
/// placed around the robot base `base` (world frame), none touching the base itself.
pub fn cluttered_world(base: &Isometry3<f64>, reach: f64, seed: u64) -> World {
    let mut rng = Rng::new(seed);
    let mut w = World::new();
    for i in 0..30 {
        let (r, a) = (rng.uniform(0.4, 1.0) * reach, rng.uniform(-3.1, 3.1));
        let pose = base
            * Isometry3::from_parts(
                Translation3::new(r * a.cos(), r * a.sin(), rng.uniform(0.0, 1.0) * reach),
                UnitQuaternion::from_euler_angles(
                    rng.uniform(-3.0, 3.0),
                    rng.uniform(-3.0, 3.0),
                    rng.uniform(-3.0, 3.0),
                ),
            );
        let s = 0.1 * reach;
        let shape = match i % 4 {
            0 => Shape::Box {
                half_extents: [0.5 * s, 0.3 * s, 0.8 * s],
            },
            1 => Shape::Cylinder {
                radius: 0.3 * s,
                half_length: 0.7 * s,
            },
            2 => Shape::Sphere { radius: 0.5 * s },
            _ => Shape::Capsule {
                radius: 0.25 * s,
                half_length: 0.6 * s,
            },
        };
        w.add(WorldObject {
            name: format!("o{i}"),
            shape,
            pose,
            padding: 0.0,
        })
        .unwrap();
    }
    w
}
