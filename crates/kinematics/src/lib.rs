//! Kinematics for cella: robot models from URDF, forward kinematics, Jacobians and inverse
//! kinematics (analytic OPW and UR solvers, and a numerical solver for any chain).
//!
//! Units are SI throughout: metres, radians, seconds. Poses are `nalgebra::Isometry3<f64>`; the
//! frame each pose is expressed in is stated on every function.
//!
//! The hot path ([`Chain::fk`], [`Chain::jacobian`], the IK solvers) works on an immutable,
//! flattened chain and caller-owned buffers: no allocation, no locks, `Send + Sync`.

#![warn(missing_docs)]

pub mod chain;
pub mod config;
pub mod error;
pub mod ik;
pub mod library;
pub mod model;
pub mod rng;
pub mod robot;

pub use chain::{Chain, ChainVariable, pose_from_xyz_quat};
pub use config::RobotConfig;
pub use error::{KinematicsError, Result};
pub use ik::{ArmConfiguration, IkOptions, IkSolution, IkSolutions};
pub use model::{Joint, JointKind, JointLimits, Link, RobotModel};
pub use rng::Rng;
pub use robot::Robot;

/// Largest number of chain joints the IK solvers and fixed-size buffers support.
pub const MAX_DOF: usize = 8;
