//! Collision checking for cella: robot collision geometry (URDF primitives and meshes, STL/OBJ,
//! `package://` resolution), the world (objects, attached objects, padding), the
//! allowed-collision matrix, the fast conservative checker (capsule robot models against exact
//! primitives) and the benchmark problem format.
//!
//! Units: metres and radians; object poses are in the world (cell) frame, robot capsules in
//! their link frames, robot bases are placed in the world frame.

pub mod acm;
pub mod batch;
pub mod checker;
pub mod composite;
pub mod error;
pub mod exact;
mod frames;
pub mod isa;
pub mod link_contacts;
pub mod mesh;
pub mod problem;
pub mod robot_geometry;
pub mod shape;
pub mod world;

pub use acm::AllowedCollisions;
pub use checker::{CheckScratch, Checker, Proximity, StaticRobot};
pub use composite::{CompositeChecker, CompositeScratch};
pub use error::{CollisionError, Result};
pub use robot_geometry::{LinkCapsule, MeshSource, RobotGeometry};
pub use shape::Shape;
pub use world::{AllowedContact, AttachedObject, World, WorldObject};
