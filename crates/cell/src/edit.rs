//! World edits as values: what an edit did, resolved against the cell it was made in, so that
//! applying it again to the same cell gives the same world, bit for bit (the [`crate::Journal`]
//! replays them after a restart).
//!
//! Attaching and detaching depend on where the robot's link is when it happens (the part keeps
//! its place relative to the link): [`CellSnapshot::attach_edit`] and
//! [`CellSnapshot::detach_edit`] record that link pose in the edit, so replaying it does not
//! depend on where the robots are at replay time.

use crate::{CellError, CellSnapshot, Result};
use cella_collision::WorldObject;
use nalgebra::Isometry3;
use std::sync::Arc;

/// A world edit, resolved: applying it to the snapshot it was resolved against (or to an equal
/// one) gives the same world.
#[derive(Debug, Clone, PartialEq)]
pub enum WorldEdit {
    /// An object added, allowed to touch the links `allowed` names as (robot id, link).
    AddObject {
        /// The object.
        object: WorldObject,
        /// The (robot id, link) pairs it may touch.
        allowed: Vec<(String, String)>,
    },
    /// A static object moved.
    MoveObject {
        /// The object's name.
        name: String,
        /// Its new pose, world frame.
        pose: Isometry3<f64>,
    },
    /// An object (static or attached) removed.
    RemoveObject {
        /// The object's name.
        name: String,
    },
    /// A static object attached to a robot link.
    AttachObject {
        /// The object's name.
        name: String,
        /// The robot carrying it.
        robot: String,
        /// The link it is attached to.
        link: String,
        /// Links it may touch besides `link`.
        touch_links: Vec<String>,
        /// The link's world pose when it was attached.
        link_pose: Isometry3<f64>,
    },
    /// An attached object detached and left where it is.
    DetachObject {
        /// The object's name.
        name: String,
        /// The world pose of the link carrying it when it was detached.
        link_pose: Isometry3<f64>,
    },
}

impl WorldEdit {
    /// The name of the object the edit is about.
    pub fn object(&self) -> &str {
        match self {
            WorldEdit::AddObject { object, .. } => &object.name,
            WorldEdit::MoveObject { name, .. }
            | WorldEdit::RemoveObject { name }
            | WorldEdit::AttachObject { name, .. }
            | WorldEdit::DetachObject { name, .. } => name,
        }
    }
}

impl CellSnapshot {
    /// The edit attaching object `name` to `link` of robot `robot_id` where that link is now
    /// (unknown robot or link: [`CellError::NotFound`]).
    pub fn attach_edit(
        &self,
        name: &str,
        robot_id: &str,
        link: &str,
        touch_links: Vec<String>,
    ) -> Result<WorldEdit> {
        Ok(WorldEdit::AttachObject {
            name: name.to_owned(),
            robot: robot_id.to_owned(),
            link: link.to_owned(),
            touch_links,
            link_pose: self.link_pose(robot_id, link)?,
        })
    }

    /// The edit detaching object `name` where the link carrying it is now (not attached:
    /// [`CellError::NotFound`]).
    pub fn detach_edit(&self, name: &str) -> Result<WorldEdit> {
        let att = self
            .world
            .attached()
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| CellError::NotFound {
                kind: "object",
                name: name.to_owned(),
            })?;
        let owner = self.owner(att)?;
        Ok(WorldEdit::DetachObject {
            name: name.to_owned(),
            link_pose: self.link_pose(&owner.id, &att.link)?,
        })
    }

    /// A new snapshot (the next version) with `edit` applied; nothing changes when it fails.
    pub fn apply(&self, edit: &WorldEdit) -> Result<Arc<Self>> {
        match edit {
            WorldEdit::AddObject { object, allowed } => {
                self.with_object_allowing(object.clone(), allowed)
            }
            WorldEdit::MoveObject { name, pose } => self.with_moved_object(name, *pose),
            WorldEdit::RemoveObject { name } => self.without_object(name),
            WorldEdit::AttachObject {
                name,
                robot,
                link,
                touch_links,
                link_pose,
            } => {
                let model = self.robot(robot)?.geometry.robot().model().clone();
                for l in std::iter::once(link).chain(touch_links) {
                    model.link_index(l).map_err(|_| CellError::NotFound {
                        kind: "link",
                        name: l.clone(),
                    })?;
                }
                let mut world = self.world.clone();
                world.attach_to_robot(name, robot, link, link_pose, touch_links.clone())?;
                Ok(self.next(world))
            }
            WorldEdit::DetachObject { name, link_pose } => {
                let mut world = self.world.clone();
                world.detach(name, link_pose)?;
                Ok(self.next(world))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{CellFile, DEMO_CELL};
    use cella_collision::Shape;

    fn part(name: &str, x: f64) -> WorldObject {
        WorldObject {
            name: name.into(),
            shape: Shape::Box {
                half_extents: [0.02, 0.02, 0.02],
            },
            pose: Isometry3::translation(x, 0.1, 1.5),
            padding: 0.0,
        }
    }

    #[test]
    fn an_edit_applied_again_gives_the_same_world_wherever_the_robots_are() {
        let cell = CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap();
        let id = cell.robots[0].id.clone();
        let link = cell.robots[0].geometry.robot().chain().tip().to_owned();
        let mut edits = vec![WorldEdit::AddObject {
            object: part("p", 0.4),
            allowed: vec![(id.clone(), link.clone())],
        }];
        let mut live = cell.apply(&edits[0]).unwrap();
        edits.push(live.attach_edit("p", &id, &link, vec![]).unwrap());
        live = live.apply(&edits[1]).unwrap();
        // the robot moves before the part is put down
        let mut moved = (*live).clone();
        moved.robots[0].joints[0] += 0.5;
        edits.push(moved.detach_edit("p").unwrap());
        live = moved.apply(&edits[2]).unwrap();
        assert_eq!(live.version, cell.version + 3);
        // replayed on the cell as loaded, the robots at their initial joints
        let mut replay = cell.clone();
        for e in &edits {
            replay = replay.apply(e).unwrap();
        }
        assert_eq!(replay.world, live.world);
        assert_eq!(replay.version, live.version);
    }

    #[test]
    fn a_failed_edit_names_what_is_missing() {
        let cell = CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap();
        let e = cell.detach_edit("nothing").unwrap_err();
        assert!(
            matches!(e, CellError::NotFound { kind: "object", .. }),
            "{e}"
        );
        let id = cell.robots[0].id.clone();
        let add = WorldEdit::AddObject {
            object: part("p", 0.4),
            allowed: vec![],
        };
        let with = cell.apply(&add).unwrap();
        let attach = WorldEdit::AttachObject {
            name: "p".into(),
            robot: id,
            link: "no_such_link".into(),
            touch_links: vec![],
            link_pose: Isometry3::identity(),
        };
        assert!(matches!(
            with.apply(&attach).unwrap_err(),
            CellError::NotFound { kind: "link", .. }
        ));
        assert_eq!(add.object(), "p");
    }
}
