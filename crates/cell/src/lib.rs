//! A robot cell: robots from the library (or a robot.toml / URDF) placed in the world, static
//! objects, and the world version. The cell is an immutable [`CellSnapshot`]; every edit builds
//! a new snapshot with the next version after validating the whole edit, so readers always see
//! a consistent world and an edit is never half-applied.
//!
//! Poses are in the cell (world) frame, metres and radians.
//!
//! # Example
//!
//! Load a cell file (the format of `cells/demo.toml`): a UR5e standing on a table.
//!
//! ```
//! use cella_cell::CellFile;
//!
//! let cell = CellFile::parse(
//!     r#"
//!     name = "one arm on a table"
//!     [[robots]]
//!     id = "arm"
//!     model = "ur5e"
//!     base = { xyz = [0.0, 0.0, 0.75] }
//!     mounted_on = "table"
//!     [[objects]]
//!     name = "table"
//!     type = "box"
//!     half_extents = [0.5, 0.5, 0.375]
//!     pose = { xyz = [0.3, 0.0, 0.375] }
//!     "#,
//! )?
//! .build(None)?;
//! let arm = cell.robot("arm")?;
//! assert_eq!(arm.base.translation.z, 0.75);
//! // without `joints` in the file, the robot starts at its home pose
//! let home = cella_kinematics::library::load("ur5e")?.named_pose("home")?.to_vec();
//! assert_eq!(arm.joints, home);
//!
//! // the cell's checker: free at home; with the shoulder lowered 0.3 rad below the horizontal
//! // the TCP is under the table top (the base plane), in the table
//! let checker = cell.checker("arm")?;
//! let mut scratch = checker.scratch();
//! assert!(checker.is_valid(&mut scratch, &home));
//! let down = [0.0, 0.3, 0.0, 0.0, 0.0, 0.0];
//! assert!((arm.base * arm.geometry.robot().fk(&down)?).translation.z < 0.75);
//! assert!(!checker.is_valid(&mut scratch, &down));
//! assert!(checker.contacts(&mut scratch, &down).iter().any(|(_, o)| o == "table"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod edit;
mod file;
mod journal;

pub use edit::WorldEdit;
pub use file::{CellFile, DEMO_CELL};
pub use journal::{
    COMPACT_AFTER, FORMAT, JOURNAL_FILE, Journal, JournalError, LOCK_FILE, Restored,
};

use cella_collision::{
    AttachedObject, Checker, CompositeChecker, RobotGeometry, Shape, StaticRobot, World,
    WorldObject,
};
use cella_kinematics::error::Shared;
use nalgebra::Isometry3;
use std::sync::Arc;
use std::time::Duration;

/// Errors of cell loading and editing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CellError {
    /// The cell file is malformed (the message names the field).
    #[error("cell file: {0}")]
    File(String),
    /// The cell file is not TOML of the cell format.
    #[error("cell file: {0}")]
    FileSyntax(#[source] Shared<toml::de::Error>),
    /// A file the cell file names could not be read.
    #[error("cell file: {field}: {source}")]
    FileRead {
        /// The field naming the file, and the file.
        field: String,
        /// The operating-system error.
        #[source]
        source: Shared<std::io::Error>,
    },
    /// A robot of the cell file could not be loaded (robot config, URDF, joints).
    #[error("cell file: {field}: {source}")]
    FileRobot {
        /// The offending field.
        field: String,
        /// The kinematics crate's error.
        #[source]
        source: cella_kinematics::KinematicsError,
    },
    /// Geometry of the cell file that the collision crate refuses (robot meshes, objects,
    /// padding, allowed contacts).
    #[error("cell file: {field}: {source}")]
    FileGeometry {
        /// The offending field.
        field: String,
        /// The collision crate's error (boxed: it is large, and every cell result carries it).
        #[source]
        source: Box<cella_collision::CollisionError>,
    },
    /// An unknown robot, object or link.
    #[error("unknown {kind} '{name}'")]
    NotFound {
        /// "robot", "object", "link".
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// An edit or value is invalid (the message names the field).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Offending field.
        field: String,
        /// Why.
        reason: String,
    },
    /// An edit the world refuses (a duplicate name, bad dimensions, an attachment that does
    /// not fit).
    #[error("invalid {field}: {source}")]
    Rejected {
        /// Offending field.
        field: String,
        /// The collision crate's error (boxed: it is large, and every cell result carries it).
        #[source]
        source: Box<cella_collision::CollisionError>,
    },
    /// A robot state the kinematics refuses.
    #[error("invalid {field}: {source}")]
    Kinematics {
        /// Offending field.
        field: String,
        /// The kinematics crate's error.
        #[source]
        source: cella_kinematics::KinematicsError,
    },
    /// The world would exceed its size limit.
    #[error("the world is full: at most {max} objects")]
    WorldFull {
        /// Object limit.
        max: usize,
    },
}

impl From<cella_collision::CollisionError> for CellError {
    fn from(e: cella_collision::CollisionError) -> Self {
        match e {
            cella_collision::CollisionError::Unknown { kind, name, .. } => {
                CellError::NotFound { kind, name }
            }
            other => CellError::Rejected {
                field: "object".into(),
                source: Box::new(other),
            },
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, CellError>;

/// Most objects a world may hold.
pub const MAX_OBJECTS: usize = 1000;

/// Control loop periods a robot's executor may run at, ms: the one list of the workspace. The
/// cell file is checked against it, and the executors (`cella_control`) run at one of
/// [`CONTROL_PERIODS`], the same list as durations.
pub const CONTROL_PERIODS_MS: [u32; 4] = [1, 2, 4, 8];
/// Control loop period when the cell file sets none, ms.
pub const DEFAULT_CONTROL_PERIOD_MS: u32 = 4;

/// [`CONTROL_PERIODS_MS`] as durations.
pub const CONTROL_PERIODS: [Duration; CONTROL_PERIODS_MS.len()] = {
    let mut out = [Duration::ZERO; CONTROL_PERIODS_MS.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = Duration::from_millis(CONTROL_PERIODS_MS[i] as u64);
        i += 1;
    }
    out
};
/// [`DEFAULT_CONTROL_PERIOD_MS`] as a duration.
pub const DEFAULT_CONTROL_PERIOD: Duration =
    Duration::from_millis(DEFAULT_CONTROL_PERIOD_MS as u64);

/// [`CONTROL_PERIODS_MS`] for messages: `"1, 2, 4, 8"`.
pub fn control_periods_text() -> String {
    CONTROL_PERIODS_MS
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A robot placed in the cell.
#[derive(Debug, Clone)]
pub struct CellRobot {
    /// Unique id in the cell.
    pub id: String,
    /// Library or file name of the model.
    pub model: String,
    /// Kinematics and collision geometry.
    pub geometry: Arc<RobotGeometry>,
    /// Base pose in the world frame.
    pub base: Isometry3<f64>,
    /// Current joint values (group order).
    pub joints: Vec<f64>,
    /// Control loop period of its executor, ms (one of [`CONTROL_PERIODS_MS`]).
    pub control_period_ms: u32,
    /// The object it stands on: its links that no joint moves ([`CellRobot::static_links`])
    /// may touch an object of this name whenever the world has one (removing and re-adding
    /// the table keeps the mounting).
    pub mounted_on: Option<String>,
}

impl CellRobot {
    /// Its links with collision geometry that no joint of its group moves (the base).
    pub fn static_links(&self) -> Vec<String> {
        file::static_links(&self.geometry)
    }
}

/// An immutable, versioned state of the cell.
#[derive(Debug, Clone)]
pub struct CellSnapshot {
    /// World version, incremented by every edit.
    pub version: u64,
    /// The robots.
    pub robots: Vec<CellRobot>,
    /// Objects, attachments, padding.
    pub world: World,
}

impl CellSnapshot {
    /// The robot with this id.
    pub fn robot(&self, id: &str) -> Result<&CellRobot> {
        self.robots
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| CellError::NotFound {
                kind: "robot",
                name: id.to_owned(),
            })
    }

    /// The world as robot `id` sees its own body: every object, the parts it carries (not the
    /// other robots'), the contacts allowed to its links, and its mounting.
    pub fn world_for(&self, id: &str) -> Result<World> {
        let robot = self.robot(id)?;
        let mut world = self.world.view_for(id);
        if let Some(object) = &robot.mounted_on
            && world.objects().iter().any(|o| &o.name == object)
        {
            for link in robot.static_links() {
                world.allow_contact_for(object, id, &link)?;
            }
        }
        Ok(world)
    }

    /// A collision checker for robot `id`, the other robots (with what they carry) held at
    /// their current joints.
    pub fn checker(&self, id: &str) -> Result<Checker> {
        let robot = self.robot(id)?;
        let others = self.robots_except(&[id]);
        Ok(Checker::new(
            robot.geometry.clone(),
            robot.base,
            &self.world_for(id)?,
            &others,
        )?)
    }

    /// Robot `id` as an obstacle for the others: at `joints`, grown by `margin` (m), with the
    /// parts it carries.
    pub fn as_obstacle(&self, id: &str, joints: Vec<f64>, margin: f64) -> Result<StaticRobot> {
        let r = self.robot(id)?;
        Ok(StaticRobot {
            name: r.id.clone(),
            geometry: r.geometry.clone(),
            base: r.base,
            joints,
            margin,
            attached: self.world.attached_to(id).cloned().collect(),
        })
    }

    /// The robots not in `ids`, as static obstacles at their current joints.
    fn robots_except(&self, ids: &[&str]) -> Vec<StaticRobot> {
        self.robots
            .iter()
            .filter(|r| !ids.contains(&r.id.as_str()))
            .filter_map(|r| self.as_obstacle(&r.id, r.joints.clone(), 0.0).ok())
            .collect()
    }

    /// A checker for robots `ids` planned together (composite state: their joint vectors back
    /// to back, in this order): each checked against the world and the robots outside the
    /// group (held at their current joints), and against each other, all moving.
    pub fn composite_checker(&self, ids: &[&str]) -> Result<CompositeChecker> {
        let others = self.robots_except(ids);
        let mut members = Vec::with_capacity(ids.len());
        for id in ids {
            let robot = self.robot(id)?;
            let checker = Checker::new(
                robot.geometry.clone(),
                robot.base,
                &self.world_for(id)?,
                &others,
            )?;
            members.push(((*id).to_owned(), checker));
        }
        Ok(CompositeChecker::new(members)?)
    }

    /// World pose of a robot link at the robot's current joints.
    pub fn link_pose(&self, robot_id: &str, link: &str) -> Result<Isometry3<f64>> {
        let r = self.robot(robot_id)?;
        let robot = r.geometry.robot();
        let model = robot.model();
        let index = model.link_index(link).map_err(|_| CellError::NotFound {
            kind: "link",
            name: link.to_owned(),
        })?;
        let mut full = vec![0.0; model.variables().len()];
        let mut poses = vec![Isometry3::identity(); model.links().len()];
        robot
            .model_state(&r.joints, &mut full)
            .and_then(|()| model.link_poses(&full, &mut poses))
            .map_err(|source| CellError::Kinematics {
                field: "joints".into(),
                source,
            })?;
        Ok(r.base * poses[index])
    }

    fn next(&self, world: World) -> Arc<Self> {
        Arc::new(Self {
            version: self.version + 1,
            robots: self.robots.clone(),
            world,
        })
    }

    /// A new snapshot with `object` added.
    pub fn with_object(&self, object: WorldObject) -> Result<Arc<Self>> {
        self.with_object_allowing(object, &[])
    }

    /// A new snapshot with `object` added, allowed to touch the links `allowed` names as
    /// (robot id, link) (a fixture a robot's base stands on, a part resting in a gripper).
    /// Every robot and link must exist; nothing changes otherwise.
    pub fn with_object_allowing(
        &self,
        object: WorldObject,
        allowed: &[(String, String)],
    ) -> Result<Arc<Self>> {
        if self.world.objects().len() + self.world.attached().len() >= MAX_OBJECTS {
            return Err(CellError::WorldFull { max: MAX_OBJECTS });
        }
        for (i, (robot, link)) in allowed.iter().enumerate() {
            let r = self.robot(robot).map_err(|_| CellError::Invalid {
                field: format!("allowed_contacts[{i}].robot_id"),
                reason: format!("no robot '{robot}' in the cell"),
            })?;
            r.geometry
                .robot()
                .model()
                .link_index(link)
                .map_err(|_| CellError::Invalid {
                    field: format!("allowed_contacts[{i}].link"),
                    reason: format!("robot '{robot}' has no link '{link}'"),
                })?;
        }
        let name = object.name.clone();
        let mut world = self.world.clone();
        world.add(object)?;
        for (robot, link) in allowed {
            world.allow_contact_for(&name, robot, link)?;
        }
        Ok(self.next(world))
    }

    /// A new snapshot with object `name` moved to `pose` (world frame).
    pub fn with_moved_object(&self, name: &str, pose: Isometry3<f64>) -> Result<Arc<Self>> {
        let mut world = self.world.clone();
        world.move_object(name, pose)?;
        Ok(self.next(world))
    }

    /// A new snapshot without object `name`.
    pub fn without_object(&self, name: &str) -> Result<Arc<Self>> {
        let mut world = self.world.clone();
        world.remove(name)?;
        Ok(self.next(world))
    }

    /// A new snapshot with object `name` attached to `link` of robot `robot_id` (where the
    /// link is now: [`CellSnapshot::attach_edit`]).
    pub fn with_attached(
        &self,
        name: &str,
        robot_id: &str,
        link: &str,
        touch_links: Vec<String>,
    ) -> Result<Arc<Self>> {
        self.apply(&self.attach_edit(name, robot_id, link, touch_links)?)
    }

    /// A new snapshot with object `name` detached and left where it is.
    pub fn with_detached(&self, name: &str) -> Result<Arc<Self>> {
        self.apply(&self.detach_edit(name)?)
    }
}

impl CellSnapshot {
    /// The robot carrying `att`.
    pub fn owner(&self, att: &AttachedObject) -> Result<&CellRobot> {
        if !att.robot.is_empty() {
            return self.robot(&att.robot);
        }
        self.robots
            .iter()
            .find(|r| r.geometry.robot().model().link_index(&att.link).is_ok())
            .ok_or_else(|| CellError::NotFound {
                kind: "link",
                name: att.link.clone(),
            })
    }
}

/// Checks that a shape is usable (finite, positive) and names the field otherwise.
pub fn check_shape(field: &str, shape: &Shape) -> Result<()> {
    shape.validate().map_err(|reason| CellError::Invalid {
        field: field.to_owned(),
        reason,
    })
}
