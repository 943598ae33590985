//! The cella viewer: one self-contained HTML page (three.js, the page code and the data
//! embedded; it opens offline and makes no request) that shows robots with their real visual
//! meshes, decimated here so the file stays small, and the collision geometry cella checks,
//! the obstacles, a trajectory animated with its TCP path, the clearance along it and the
//! joint positions, velocities, accelerations and jerks against their limits; or a refused
//! plan's offending state with its colliding pair; or, served by `cella serve --http`, the
//! cell live.
//!
//! The robotics is computed in Rust (forward kinematics for the reference TCP path, clearance
//! with [`cella_collision::Checker::distance`] per sample); the page only draws.
//! **Architecture Invariant:** this crate knows no file format of the command line and no
//! transport: it turns robots, worlds and trajectories into a page.

pub mod collada;
pub mod decimate;
pub mod meshcode;
pub mod motion;
pub mod page;
pub mod scene;
pub mod visuals;

pub use motion::Samples;
pub use page::{Mode, PageData};
pub use scene::{Scene, SceneBuilder};
