//! Collision checking for cella: robot collision geometry (URDF primitives and meshes, STL/OBJ,
//! `package://` resolution), the world (objects, attached objects, padding), the
//! allowed-collision matrix and the fast conservative checker (capsule robot models against
//! exact primitives). File formats of benchmarks are not its business: the `cella` package
//! reads them.
//!
//! Units: metres and radians; object poses are in the world (cell) frame, robot capsules in
//! their link frames, robot bases are placed in the world frame.
//!
//! # Example
//!
//! Check states of a bundled robot against a world holding one ball:
//!
//! ```
//! use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
//! use nalgebra::{Isometry3, Translation3};
//! use std::sync::Arc;
//!
//! let robot = Arc::new(RobotGeometry::library("ur5e")?);
//! let home = robot.robot().named_pose("home")?.to_vec();
//! // a ball of 10 cm radius centred on the TCP of the home pose (the base at the origin)
//! let tcp = robot.robot().fk(&home)?;
//! let mut world = World::new();
//! world.add(WorldObject {
//!     name: "ball".into(),
//!     shape: Shape::Sphere { radius: 0.1 },
//!     pose: Translation3::from(tcp.translation.vector).into(),
//!     padding: 0.0, // the world's padding
//! })?;
//! let checker = Checker::new(robot.clone(), Isometry3::identity(), &world, &[])?;
//! let mut scratch = checker.scratch();
//!
//! // at home the wrist is inside the ball: invalid, the pairs named, a negative clearance
//! assert!(!checker.is_valid(&mut scratch, &home));
//! let contacts = checker.contacts(&mut scratch, &home);
//! assert!(contacts.iter().any(|(_link, object)| object == "ball"));
//! assert!(checker.distance(&mut scratch, &home).unwrap().distance < 0.0);
//!
//! // turned half a turn about the base axis, the arm is on the other side: free
//! let mut turned = home.clone();
//! turned[0] += std::f64::consts::PI;
//! assert!(checker.is_valid(&mut scratch, &turned));
//! assert!(checker.distance(&mut scratch, &turned).unwrap().distance > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod acm;
mod batch;
pub mod checker;
pub mod composite;
pub mod error;
mod exact;
mod frames;
mod isa;
pub mod link_contacts;
pub mod mesh;
pub mod robot_geometry;
pub mod shape;
pub mod world;

pub use acm::AllowedCollisions;
pub use checker::{CheckScratch, Checker, Proximity, StaticRobot};
pub use composite::{CompositeChecker, CompositeScratch};
pub use error::{CollisionError, Result};
pub use exact::EXACT_MARGIN;
pub use robot_geometry::{LinkCapsule, MeshSource, RobotGeometry};
pub use shape::Shape;
pub use world::{AllowedContact, AttachedObject, MAX_OBJECT_PADDING, World, WorldObject};
