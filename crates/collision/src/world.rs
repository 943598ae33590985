//! The static world of a cell: named objects (primitives with world poses), objects attached to
//! robot links, which objects may touch which links, and the safety padding.

use crate::error::{CollisionError, Result};
use crate::shape::Shape;
use nalgebra::Isometry3;

/// A named object of the world.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldObject {
    /// Unique name.
    pub name: String,
    /// Geometry in the object frame.
    pub shape: Shape,
    /// Pose of the object frame in the world frame.
    pub pose: Isometry3<f64>,
}

/// An object carried by a robot link (a tool, a grasped part): it moves with the link.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedObject {
    /// Unique name (shared namespace with world objects).
    pub name: String,
    /// Geometry in the object frame.
    pub shape: Shape,
    /// Link it is attached to.
    pub link: String,
    /// Pose of the object frame in the link frame.
    pub pose_in_link: Isometry3<f64>,
    /// Links it may touch (the gripper fingers holding it); the attach link always may.
    pub touch_links: Vec<String>,
}

/// The world: objects, attachments, allowed object/link contacts and padding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct World {
    objects: Vec<WorldObject>,
    attached: Vec<AttachedObject>,
    allowed: Vec<(String, String)>,
    padding: f64,
}

fn check_pose(what: &str, pose: &Isometry3<f64>) -> Result<()> {
    let finite = pose
        .translation
        .vector
        .iter()
        .chain(pose.rotation.coords.iter())
        .all(|v| v.is_finite());
    if finite {
        Ok(())
    } else {
        Err(CollisionError::BadGeometry {
            what: what.to_owned(),
            reason: "pose is not finite".into(),
        })
    }
}

impl World {
    /// An empty world with no padding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Safety padding (m) kept between robots and objects.
    pub fn padding(&self) -> f64 {
        self.padding
    }

    /// Sets the safety padding (m, finite, ≥ 0).
    pub fn set_padding(&mut self, padding: f64) -> Result<()> {
        if !(padding.is_finite() && padding >= 0.0) {
            return Err(CollisionError::BadGeometry {
                what: "padding".into(),
                reason: format!("{padding} is not a finite non-negative distance"),
            });
        }
        self.padding = padding;
        Ok(())
    }

    /// Static objects.
    pub fn objects(&self) -> &[WorldObject] {
        &self.objects
    }

    /// Attached objects.
    pub fn attached(&self) -> &[AttachedObject] {
        &self.attached
    }

    /// (object, link) pairs allowed to touch.
    pub fn allowed_contacts(&self) -> &[(String, String)] {
        &self.allowed
    }

    fn name_taken(&self, name: &str) -> bool {
        self.objects.iter().any(|o| o.name == name) || self.attached.iter().any(|o| o.name == name)
    }

    /// Adds an object; rejects empty or duplicate names, bad shapes and non-finite poses.
    pub fn add(&mut self, object: WorldObject) -> Result<()> {
        if object.name.trim().is_empty() {
            return Err(CollisionError::BadGeometry {
                what: "object".into(),
                reason: "name is empty".into(),
            });
        }
        if self.name_taken(&object.name) {
            return Err(CollisionError::Duplicate {
                kind: "object",
                name: object.name,
            });
        }
        object
            .shape
            .validate()
            .map_err(|reason| CollisionError::BadGeometry {
                what: format!("object '{}'", object.name),
                reason,
            })?;
        check_pose(&format!("object '{}'", object.name), &object.pose)?;
        self.objects.push(object);
        Ok(())
    }

    fn unknown(&self, name: &str) -> CollisionError {
        CollisionError::Unknown {
            kind: "object",
            name: name.to_owned(),
            hint: String::new(),
        }
    }

    /// Removes an object (static or attached) by name.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let before = self.objects.len() + self.attached.len();
        self.objects.retain(|o| o.name != name);
        self.attached.retain(|o| o.name != name);
        self.allowed.retain(|(o, _)| o != name);
        if self.objects.len() + self.attached.len() == before {
            return Err(self.unknown(name));
        }
        Ok(())
    }

    /// Moves a static object to a new world pose.
    pub fn move_object(&mut self, name: &str, pose: Isometry3<f64>) -> Result<()> {
        check_pose(&format!("object '{name}'"), &pose)?;
        let Some(o) = self.objects.iter_mut().find(|o| o.name == name) else {
            return Err(self.unknown(name));
        };
        o.pose = pose;
        Ok(())
    }

    /// Attaches a static object to a robot link: `link_pose` is the link's current world pose,
    /// so the object keeps its place relative to the link from now on.
    pub fn attach(
        &mut self,
        name: &str,
        link: &str,
        link_pose: &Isometry3<f64>,
        touch_links: Vec<String>,
    ) -> Result<()> {
        check_pose("link pose", link_pose)?;
        let Some(i) = self.objects.iter().position(|o| o.name == name) else {
            return Err(self.unknown(name));
        };
        let o = self.objects.remove(i);
        self.attached.push(AttachedObject {
            name: o.name,
            shape: o.shape,
            link: link.to_owned(),
            pose_in_link: link_pose.inverse() * o.pose,
            touch_links,
        });
        Ok(())
    }

    /// Detaches an object, leaving it in the world at `link_pose * pose_in_link`.
    pub fn detach(&mut self, name: &str, link_pose: &Isometry3<f64>) -> Result<()> {
        check_pose("link pose", link_pose)?;
        let Some(i) = self.attached.iter().position(|o| o.name == name) else {
            return Err(self.unknown(name));
        };
        let a = self.attached.remove(i);
        self.objects.push(WorldObject {
            name: a.name,
            shape: a.shape,
            pose: link_pose * a.pose_in_link,
        });
        Ok(())
    }

    /// Allows a world object to touch a robot link (a part resting in an open gripper).
    pub fn allow_contact(&mut self, object: &str, link: &str) -> Result<()> {
        if !self.name_taken(object) {
            return Err(self.unknown(object));
        }
        self.allowed.push((object.to_owned(), link.to_owned()));
        Ok(())
    }
}
