//! Motion planning for robot cells: goals (joint, named, TCP pose through every IK solution),
//! industrial motions (PTP, LIN, CIRC and blended sequences), collision-free sampling-based
//! planning (RRT-Connect, shortcutting), time parameterization and final validation.
//!
//! Joint values are radians (metres for prismatic joints), poses are in the robot's reference
//! frame (base link, or the cell frame when the robot has a mount), times in seconds.

mod bounds;
pub mod cartesian;
pub mod checker;
mod collision_adapter;
pub mod error;
pub mod group;
mod kd_index;
pub mod plan;
pub mod rrt_connect;
pub mod sequence;
pub mod simplify;
pub mod space;
pub mod timing;

pub use cartesian::{
    CartesianMotion, CartesianOptions, CartesianPath, MAX_PATH_STEPS, plan_cartesian,
};
pub use checker::{NamedPair, ValidityChecker};
pub use error::{PlanningError, Result};
pub use group::{GroupMember, group_space, plan_group};
pub use plan::{PlanOptions, PlannedMotion, plan_joint, plan_ptp};
pub use sequence::{SequenceMotion, SequenceStep, plan_sequence};
pub use space::JointSpace;
pub use timing::{Sampling, Segments, Timing, time_and_validate};
