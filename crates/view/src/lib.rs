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
//!
//! The page of the demo cell with its UR5e moving its first joint by 0.5 rad in 1 s:
//!
//! ```
//! use cella_cell::{CellFile, DEMO_CELL};
//! use cella_view::{RobotMotion, Samples, cell_page, page};
//!
//! let cell = CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap();
//! let start = cell.robot("ur5e").unwrap().joints.clone();
//! let moved = |s: f64| {
//!     let mut q = start.clone();
//!     q[0] += 0.5 * s;
//!     q
//! };
//! let samples = Samples {
//!     t: (0..=10).map(|k| 0.1 * k as f64).collect(),
//!     q: (0..=10).map(|k| moved(0.1 * k as f64)).collect(),
//!     qd: None, // differentiated by the page
//!     qdd: None,
//! };
//! let motion = RobotMotion { robot: "ur5e", samples: &samples, label: "a turn" };
//! let data = cell_page("demo", &cell, None, Some(motion)).unwrap();
//! assert_eq!(data.trajectory.as_ref().unwrap().duration, 1.0);
//! let html = page::render(&data); // one self-contained file
//! assert!(html.starts_with("<!DOCTYPE html>") && html.len() > 100_000);
//! ```

pub mod cellpage;
pub mod collada;
pub mod decimate;
pub mod meshcode;
pub mod motion;
pub mod page;
pub mod scene;
pub mod visuals;

pub use cellpage::{CellPageError, RobotMotion, cell_page};
pub use motion::Samples;
pub use page::{Mode, PageData};
pub use scene::{Scene, SceneBuilder};
