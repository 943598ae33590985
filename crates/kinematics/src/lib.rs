//! Kinematics for cella: robot models from URDF, forward kinematics, Jacobians and inverse
//! kinematics (analytic OPW and UR solvers, and a numerical solver for any chain).
//!
//! Units are SI throughout: metres, radians, seconds. Poses are `nalgebra::Isometry3<f64>`; the
//! frame each pose is expressed in is stated on every function.
//!
//! The hot path ([`Chain::fk`], [`Chain::jacobian`], the IK solvers) works on an immutable,
//! flattened chain and caller-owned buffers: no allocation, no locks, `Send + Sync`.
//!
//! # Example
//!
//! Load a bundled robot ([`library`]), place its TCP with forward kinematics and find the joint
//! values back with inverse kinematics:
//!
//! ```
//! use cella_kinematics::{IkOptions, IkSolutions, library};
//!
//! let robot = library::load("ur5e")?;
//! assert_eq!(robot.chain().dof(), 6);
//! assert_eq!(robot.solver().name(), "ur"); // the analytic UR solver
//!
//! // stretched out (all joints 0), the TCP lies where Universal Robots' published DH table
//! // puts it: x = -(a2 + a3), y = d4 + d6, z = d1 - d5 (base_link faces the other way than
//! // the DH base, hence the signs of x and y)
//! let stretched = robot.fk(&[0.0; 6])?;
//! let p = stretched.translation.vector;
//! assert!((p.x - (0.425 + 0.3922)).abs() < 1e-9);
//! assert!((p.y - (0.1333 + 0.0996)).abs() < 1e-9);
//! assert!((p.z - (0.1625 - 0.0997)).abs() < 1e-9);
//!
//! // IK of an FK pose: every arm configuration reaching it, nearest to the seed first
//! let q = [0.3, -1.2, 1.1, -0.4, -1.5, 0.2];
//! let pose = robot.fk(&q)?;
//! let mut solutions = IkSolutions::new();
//! robot.ik(&pose, Some(&q), &IkOptions::default(), &mut solutions)?;
//! assert!(solutions.len() > 1);
//! let nearest = solutions.as_slice()[0].joints();
//! assert!(nearest.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-9));
//! for s in solutions.as_slice() {
//!     let reached = robot.fk(s.joints())?;
//!     assert!((reached.translation.vector - pose.translation.vector).norm() < 1e-9);
//!     assert!(reached.rotation.angle_to(&pose.rotation) < 1e-9);
//! }
//! # Ok::<(), cella_kinematics::KinematicsError>(())
//! ```

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

/// Largest number of chain joints cella supports, the one limit of the workspace: the IK
/// solvers' and Jacobians' fixed-size buffers here, the control loop's joint vectors and its
/// published state (`cella_control`) hold this many, so neither allocates.
///
/// Every bundled robot has at most 7 joints (the Panda); 8 leaves room for a 7-joint arm on a
/// linear axis. A chain with more joints still loads (FK works), but IK, manipulability and
/// execution refuse it with an error naming this limit.
pub const MAX_DOF: usize = 8;
