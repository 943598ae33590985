//! Motion planning for robot cells: goals (joint, named, TCP pose through every IK solution),
//! industrial motions (PTP, LIN, CIRC and blended sequences), collision-free sampling-based
//! planning (RRT-Connect, shortcutting), time parameterization and final validation.
//!
//! Joint values are radians (metres for prismatic joints), poses are in the robot's reference
//! frame (base link, or the cell frame when the robot has a mount), times in seconds.
//!
//! # Example
//!
//! Plan a collision-free motion of a bundled robot around a pillar that blocks the straight
//! joint motion, and check the result independently:
//!
//! ```
//! use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
//! use cella_planning::{JointSpace, PlanOptions, plan_joint};
//! use cella_trajectory::{Limits, validate};
//! use nalgebra::Isometry3;
//! use std::sync::Arc;
//!
//! let geometry = Arc::new(RobotGeometry::library("ur5e")?);
//! let robot = geometry.robot();
//! let start = robot.named_pose("home")?.to_vec();
//! let mut goal = start.clone();
//! goal[0] += 2.0; // the base turns 2 rad
//!
//! // a pillar 1 rad round from the start, as far from the base axis as the TCP
//! let tcp = robot.fk(&start)?.translation.vector;
//! let (r, azimuth) = (tcp.x.hypot(tcp.y), tcp.y.atan2(tcp.x) + 1.0);
//! let mut world = World::new();
//! world.add(WorldObject {
//!     name: "pillar".into(),
//!     shape: Shape::Box { half_extents: [0.05, 0.05, 1.0] },
//!     pose: Isometry3::translation(r * azimuth.cos(), r * azimuth.sin(), 0.0),
//!     padding: 0.0,
//! })?;
//! let checker = Checker::new(geometry.clone(), Isometry3::identity(), &world, &[])?;
//! let mut scratch = checker.scratch();
//! assert!(!checker.motion_valid(&mut scratch, &start, &goal)); // straight through the pillar
//!
//! let space = JointSpace::of_chain(robot.chain())?;
//! let limits = Limits::of_robot(robot)?;
//! let options = PlanOptions { seed: 7, ..PlanOptions::default() };
//! let motion = plan_joint(&checker, &space, &limits, &start, &[goal.clone()], &options, None)?;
//! assert!(!motion.direct);
//!
//! // the trajectory starts at the start, ends at the goal, keeps the robot's limits and every
//! // step between two samples is free
//! let samples = &motion.samples;
//! assert_eq!(samples.q_at(0), &start[..]);
//! assert_eq!(samples.q_at(samples.len() - 1), &goal[..]);
//! validate(samples, &limits, 1e-6)?;
//! for k in 1..samples.len() {
//!     assert!(checker.motion_valid(&mut scratch, samples.q_at(k - 1), samples.q_at(k)));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bounds;
pub mod cartesian;
pub mod checker;
mod collision_adapter;
pub mod error;
pub mod goals;
pub mod group;
mod kd_index;
pub mod plan;
mod rrt_connect;
pub mod sequence;
mod simplify;
pub mod space;
pub mod timing;

pub use cartesian::{
    CartesianMotion, CartesianOptions, CartesianPath, MAX_PATH_STEPS, plan_cartesian,
};
pub use checker::{NamedPair, ValidityChecker};
pub use error::{PlanningError, Result, TimingError};
pub use goals::{
    Goal, ResolvedGoals, nearest_goal, nearest_goal_index, resolve_goals, resolve_goals_indexed,
    time_budget,
};
pub use group::{GroupMember, group_space, plan_group};
pub use plan::{PlanOptions, PlannedMotion, plan_joint, plan_ptp};
pub use sequence::{SequenceMotion, SequenceStep, plan_sequence, plan_sequence_within};
pub use space::JointSpace;
pub use timing::{Sampling, Segments, Timing, time_and_validate};
