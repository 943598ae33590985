//! Cell studies: which robot, where, how fast? A study is a cell template with parameters
//! (robot models, base poses, fixture poses, speed scaling: lists or ranges), a task (each
//! robot's TCP targets and named poses with their motion types, in stages, as a cell program
//! runs them) and the metrics every variant is judged on: every target reachable, every motion
//! collision-free, the cycle time, the smallest clearance and the smallest joint-limit margin.
//!
//! Variants are drawn by a grid, at random or by a Latin hypercube ([`variants`]), evaluated
//! ([`evaluate()`]) on every local core ([`evaluate_all`]) or anywhere else (each variant's
//! result depends on the study and its index alone: the Python package runs chunks of them as
//! Ray tasks), ranked ([`Results`]) and reported ([`write_report`]).
//!
//! The format is in [`spec`]; `examples/study_two_robots/STUDY.toml` is a worked example.
//!
//! # Example
//!
//! ```
//! use cella_study::{Results, Study, evaluate_all, variants};
//!
//! let study = Study::parse(
//!     r#"
//!     name = "UR5e on a table: how far from the bin?"
//!     seed = 1
//!     [sampling]
//!     method = "grid"
//!     [parameters]
//!     bin_x = { range = [0.3, 1.5], steps = 2 }
//!     [cell]
//!     name = "table"
//!     [[cell.robots]]
//!     id = "ur5e"
//!     model = "ur5e"
//!     base = { xyz = [0.0, 0.0, 0.0] }
//!     [targets]
//!     bin = { xyz = ["$bin_x", 0.2, 0.2], rpy = [3.141592653589793, 0.0, 0.0] }
//!     [task]
//!     [[task.stages]]
//!     name = "to the bin and back"
//!     ur5e = [{ ptp = "bin" }, { dwell = 0.5 }, { ptp = "home" }]
//!     "#,
//!     None,
//! )?;
//! let all = variants(&study)?;
//! let results = Results::new(&study, evaluate_all(&study, &all, 0, |_| {}), all.len())?;
//! // 0.3 m from the base is reached; 1.5 m is beyond the UR5e's 0.85 m reach
//! let near = &results.results[0];
//! assert!(near.feasible && near.cycle_time.unwrap() > 0.5);
//! assert!(!results.results[1].reachable);
//! assert_eq!(results.ranking, vec![0, 1]);
//! # Ok::<(), cella_study::StudyError>(())
//! ```

#![warn(missing_docs)]

mod error;
pub mod evaluate;
pub mod rank;
pub mod report;
pub mod run;
pub mod sample;
pub mod spec;
pub mod timeline;

pub use error::{Result, StudyError};
pub use evaluate::{Failure, FailureKind, MotionSummary, VariantResult, evaluate};
pub use rank::{RESULTS_FORMAT, Results};
pub use report::write_report;
pub use run::{Progress, evaluate_all, thread_count};
pub use sample::{Variant, variant_count, variant_seed, variants};
pub use spec::{Study, Value};
