//! The bundled robot library (`robots/` at the workspace root, embedded at build time).

use crate::config::RobotConfig;
use crate::error::{KinematicsError, Result};
use crate::robot::Robot;

include!(concat!(env!("OUT_DIR"), "/bundled_robots.rs"));

/// Names of the bundled robots, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUNDLED.iter().map(|(n, _, _)| *n)
}

/// The URDF text of a bundled robot.
pub fn urdf_text(name: &str) -> Result<&'static str> {
    find(name).map(|(_, _, u)| *u)
}

/// The parsed `robot.toml` of a bundled robot.
pub fn config(name: &str) -> Result<RobotConfig> {
    let (n, c, _) = find(name)?;
    RobotConfig::from_toml_str(c, Some(&format!("robots/{n}/robot.toml")))
}

/// Loads a bundled robot by name.
pub fn load(name: &str) -> Result<Robot> {
    let (n, _, u) = find(name)?;
    Robot::from_config(config(name)?, u, Some(&format!("robots/{n}/robot.toml")))
}

fn find(name: &str) -> Result<&'static (&'static str, &'static str, &'static str)> {
    BUNDLED
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| KinematicsError::UnknownRobot {
            name: name.to_owned(),
            known: names().collect::<Vec<_>>().join(", "),
        })
}
