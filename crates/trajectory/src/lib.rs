//! Trajectory generation: joint limits, industrial point-to-point (PTP) profiles, time
//! parameterization of waypoint paths, sampling at a control period and the validator every
//! emitted trajectory passes.
//!
//! Units: radians (metres for prismatic joints), seconds; velocities rad/s, accelerations
//! rad/s², jerks rad/s³.

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
pub use sampled::{MAX_DURATION, MAX_SAMPLES, SampledTrajectory, check_size};
pub use segmented::SegmentedTrajectory;
pub use time_optimal::{TimeOptimalOptions, TimeOptimalTrajectory};
pub use validate::{ValidationError, validate};
