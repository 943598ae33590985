//! The page of a cell: its robots and objects, and optionally one robot's trajectory with the
//! clearance along it (the other robots stand where the cell puts them).

use crate::motion::{self, MotionError, Samples};
use crate::page::{Mode, PageData};
use crate::scene::{self, SceneError};
use cella_cell::{CellError, CellSnapshot};
use std::path::Path;

/// Why a cell page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CellPageError {
    /// The cell's robots or objects could not be drawn.
    #[error(transparent)]
    Scene(#[from] SceneError),
    /// The trajectory does not fit the robot.
    #[error(transparent)]
    Motion(#[from] MotionError),
    /// The robot is not in the cell, or its collision model cannot be built.
    #[error("robot '{robot}': {source}")]
    Robot {
        /// The robot id asked for.
        robot: String,
        /// What the cell said.
        #[source]
        source: Box<CellError>,
    },
}

/// One robot's motion on a cell page: its id, the samples and a label (the trajectory's
/// file name, shown as the subtitle).
#[derive(Debug, Clone, Copy)]
pub struct RobotMotion<'a> {
    /// The robot's id in the cell.
    pub robot: &'a str,
    /// Its trajectory (joint values in the robot's group order, rad; times in s).
    pub samples: &'a Samples,
    /// Where the trajectory came from.
    pub label: &'a str,
}

/// The page data of cell `cell` titled `name`: the scene (robot meshes from `dir`, the cell
/// file's directory, for robots given by URDF), and with `motion` that robot's trajectory and
/// its clearance against the rest of the cell (padding as the cell sets it).
pub fn cell_page(
    name: &str,
    cell: &CellSnapshot,
    dir: Option<&Path>,
    motion: Option<RobotMotion<'_>>,
) -> Result<PageData, CellPageError> {
    let scene = scene::cell_scene(cell, dir)?;
    let Some(m) = motion else {
        let mut p = PageData::new(Mode::Scene, name, scene);
        p.subtitle = format!(
            "{} robots, {} objects",
            cell.robots.len(),
            cell.world.objects().len()
        );
        return Ok(p);
    };
    let robot_error = |source| CellPageError::Robot {
        robot: m.robot.to_owned(),
        source: Box::new(source),
    };
    let robot = cell.robot(m.robot).map_err(robot_error)?;
    let index = cell
        .robots
        .iter()
        .position(|r| r.id == m.robot)
        .unwrap_or_default();
    m.samples.validate(robot.geometry.robot().chain().dof())?;
    let checker = cell.checker(m.robot).map_err(robot_error)?;
    let mut p = PageData::new(Mode::Motion, name, scene);
    p.subtitle = format!("{} ({}): {}", m.robot, robot.model, m.label);
    p.trajectory = Some(motion::trajectory_data(index, m.samples)?);
    p.clearance = Some(motion::clearance_data(
        &checker,
        m.samples,
        cell.world.padding(),
    ));
    Ok(p)
}
