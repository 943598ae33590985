//! Trajectory generation: joint limits, industrial point-to-point (PTP) profiles, time
//! parameterization of waypoint paths, sampling at a control period and the validator every
//! emitted trajectory passes.
//!
//! Units: radians (metres for prismatic joints), seconds; velocities rad/s, accelerations
//! rad/s², jerks rad/s³.
//!
//! # Example
//!
//! Retime a joint path under velocity and acceleration limits, sample it at a control period
//! and validate the samples:
//!
//! ```
//! use cella_trajectory::{Limits, TimeOptimalOptions, TimeOptimalTrajectory, validate};
//!
//! let limits = Limits {
//!     names: vec!["a".into(), "b".into()],
//!     lower: vec![-3.0, -3.0],
//!     upper: vec![3.0, 3.0],
//!     velocity: vec![1.0, 1.0],     // rad/s
//!     acceleration: vec![2.0, 2.0], // rad/s²
//!     jerk: None,
//! };
//! // joint a travels 2 rad and sets the pace: 0.5 s up to 1 rad/s, 1.5 s at 1 rad/s and 0.5 s
//! // down, 2.5 s in all; joint b travels 1 rad alongside at half the rates
//! let path = vec![vec![0.0, 0.0], vec![2.0, 1.0]];
//! let trajectory = TimeOptimalTrajectory::new(&path, &limits, &TimeOptimalOptions::default())?;
//! assert!((trajectory.duration() - 2.5).abs() < 1e-3);
//!
//! // sampled every 4 ms from the start to the end, within every limit
//! let samples = trajectory.sample(0.004)?;
//! validate(&samples, &limits, 1e-6)?;
//! assert_eq!(samples.q_at(0), &[0.0, 0.0]);
//! assert_eq!(samples.q_at(samples.len() - 1), &[2.0, 1.0]);
//! let peak = (0..samples.len()).map(|k| samples.qd_at(k)[0]).fold(0.0, f64::max);
//! assert!((peak - 1.0).abs() < 1e-6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod blend_path;
pub mod cartesian;
pub mod error;
pub mod limits;
pub mod profile;
pub mod sampled;
pub mod segmented;
pub mod time_optimal;
pub mod validate;

pub use cartesian::CartesianLimits;
pub use error::{Result, TrajectoryError};
pub use limits::Limits;
pub use profile::ScalarProfile;
pub use sampled::{DEFAULT_PERIOD, MAX_DURATION, MAX_SAMPLES, SampledTrajectory, check_size};
pub use segmented::SegmentedTrajectory;
pub use time_optimal::{TimeOptimalOptions, TimeOptimalTrajectory};
pub use validate::{ValidationError, validate};
