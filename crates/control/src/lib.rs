//! Trajectory execution for cella: a fixed-rate executor per robot on its own OS thread, the
//! [`Driver`] boundary to robot controllers with a simulated controller ([`SimDriver`]) as the
//! default, path-preserving speed override, pause/resume, category-2 and immediate stops along
//! the path, deadman jogging, loop health, and [`CellControl`]: every robot of a cell under
//! control, executions checked against the world and against the other robots' motions.
//!
//! Units: radians (metres for prismatic joints), seconds; TCP velocities in the robot base
//! frame.

pub mod cell_control;
pub mod driver;
pub mod error;
pub mod events;
pub mod executor;
pub mod health;
pub mod jog;
pub mod memory;
pub mod path;
pub mod scaling;
pub mod state;

pub use cell_control::{CellControl, ControlOptions, EditKind, EditOutcome, ExecuteOptions};
pub use driver::{
    Driver, DriverError, JointCommand, JointVector, MAX_DOF, MeasuredState, SimDriver,
};
pub use error::{ControlError, Result};
pub use events::{EventLog, StopCause, StopEvent};
pub use executor::{Executor, ExecutorConfig, JogCommand, PERIODS, StopKind};
pub use health::{LoopHealth, LoopStats};
pub use jog::JogTarget;
pub use path::{ExecTrajectory, PathPoint};
pub use scaling::{Ramp, SpeedScale};
pub use state::{Outcome, RobotState, StateCell, Status};
