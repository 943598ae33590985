//! Trajectory execution for cella: a fixed-rate executor per robot on its own OS thread, the
//! [`Driver`] boundary to robot controllers with a simulated controller ([`SimDriver`]) as the
//! default, path-preserving speed override, pause/resume, category-2 and immediate stops along
//! the path, deadman jogging, loop health, and [`CellControl`]: every robot of a cell under
//! control, executions checked against the world and against the other robots' motions.
//!
//! Units: radians (metres for prismatic joints), seconds; TCP velocities in the robot base
//! frame.
//!
//! # Example
//!
//! Put the demo cell under control with simulated controllers and execute a joint motion of
//! its KUKA:
//!
//! ```
//! use cella_cell::{CellFile, DEMO_CELL};
//! use cella_control::{CellControl, ControlOptions, ExecuteOptions, Outcome, Status};
//! use cella_trajectory::segmented::SegmentOptions;
//! use cella_trajectory::{Limits, SegmentedTrajectory};
//! use std::time::Duration;
//!
//! let cell = CellFile::parse(DEMO_CELL)?.build(None)?;
//! let options = ControlOptions { spin: Duration::ZERO, ..ControlOptions::default() };
//! let control = CellControl::simulated(&cell, options)?;
//!
//! // from where the KUKA stands, its first axis 0.3 rad round: a jerk-limited motion at 4 ms
//! let kuka = cell.robot("kuka")?;
//! let start = kuka.joints.clone();
//! let mut goal = start.clone();
//! goal[0] += 0.3;
//! let limits = Limits::of_robot(kuka.geometry.robot())?;
//! let segment = SegmentOptions { jerk_limited: true, max_deviation: 0.0 };
//! let motion = SegmentedTrajectory::new(&[start, goal.clone()], &limits, &segment)?;
//! let samples = motion.sample(0.004)?;
//! let id = control.execute("kuka", samples, ExecuteOptions::default())?;
//!
//! // the executor runs it on its own thread; wait until the robot is at rest again
//! let executor = control.executor("kuka")?;
//! let mut state = executor.state();
//! for _ in 0..2000 {
//!     state = executor.state();
//!     if state.execution_id == id && state.status == Status::Idle {
//!         break;
//!     }
//!     std::thread::sleep(Duration::from_millis(5));
//! }
//! assert_eq!(state.outcome, Outcome::Completed);
//! assert_eq!(state.q.as_slice(), &goal[..]);
//! assert!(state.qd.as_slice().iter().all(|v| *v == 0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
pub mod timed;

pub use cell_control::{
    Admitted, Assumption, CellControl, ControlOptions, EditKind, EditOutcome, ExecuteOptions,
};
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
