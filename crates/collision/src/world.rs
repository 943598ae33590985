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
    /// Clearance robots keep from this object, m, when it is more than the world's padding
    /// (a fragile fixture, a zone people reach into); 0: the world's padding. Checked as the
    /// object grown by the difference ([`Shape::inflated`]: exact for spheres and capsules,
    /// conservative at the edges and corners of boxes and cylinders).
    pub padding: f64,
}

/// Largest padding of one object, m.
pub const MAX_OBJECT_PADDING: f64 = 1.0;

/// An object carried by a robot link (a tool, a grasped part): it moves with the link.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedObject {
    /// Unique name (shared namespace with world objects).
    pub name: String,
    /// Geometry in the object frame.
    pub shape: Shape,
    /// Id of the robot carrying it in a cell of several robots (empty: the robot that has
    /// `link`, for a world with one robot).
    pub robot: String,
    /// Link it is attached to.
    pub link: String,
    /// Pose of the object frame in the link frame.
    pub pose_in_link: Isometry3<f64>,
    /// Links it may touch (the gripper fingers holding it); the attach link always may.
    pub touch_links: Vec<String>,
}

/// An object allowed to touch a robot link (a robot's base on the table it stands on, a part
/// resting in an open gripper).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedContact {
    /// Object name.
    pub object: String,
    /// Robot id (empty: any robot with a link of that name, for a world with one robot).
    pub robot: String,
    /// Link name.
    pub link: String,
}

/// The world: objects, attachments, allowed object/link contacts and padding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct World {
    objects: Vec<WorldObject>,
    attached: Vec<AttachedObject>,
    allowed: Vec<AllowedContact>,
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

    /// Objects allowed to touch links.
    pub fn allowed_contacts(&self) -> &[AllowedContact] {
        &self.allowed
    }

    /// The world as robot `robot` sees its own body: every object, only the attachments it
    /// carries and the contacts allowed to its links (entries without a robot apply to every
    /// robot). Another robot's attachments belong to that robot (see
    /// [`crate::StaticRobot::attached`]).
    pub fn view_for(&self, robot: &str) -> World {
        let mine = |r: &str| r.is_empty() || r == robot;
        World {
            objects: self.objects.clone(),
            attached: self
                .attached
                .iter()
                .filter(|a| mine(&a.robot))
                .cloned()
                .collect(),
            allowed: self
                .allowed
                .iter()
                .filter(|a| mine(&a.robot))
                .cloned()
                .collect(),
            padding: self.padding,
        }
    }

    /// This world without its static objects (attachments, padding kept).
    pub fn without_objects(&self) -> World {
        World {
            objects: Vec::new(),
            attached: self.attached.clone(),
            allowed: Vec::new(),
            padding: self.padding,
        }
    }

    /// The attachments carried by robot `robot` (entries without a robot excluded).
    pub fn attached_to(&self, robot: &str) -> impl Iterator<Item = &AttachedObject> {
        self.attached.iter().filter(move |a| a.robot == robot)
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
        if !(object.padding.is_finite() && (0.0..=MAX_OBJECT_PADDING).contains(&object.padding)) {
            return Err(CollisionError::BadGeometry {
                what: format!("object '{}'", object.name),
                reason: format!(
                    "padding {} m is not in [0, {MAX_OBJECT_PADDING}]",
                    object.padding
                ),
            });
        }
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
        self.allowed.retain(|a| a.object != name);
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
        self.attach_to_robot(name, "", link, link_pose, touch_links)
    }

    /// [`World::attach`] to `link` of robot `robot` in a cell of several robots.
    pub fn attach_to_robot(
        &mut self,
        name: &str,
        robot: &str,
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
            robot: robot.to_owned(),
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
            padding: 0.0,
        });
        Ok(())
    }

    /// Allows a world object to touch a robot link (a part resting in an open gripper).
    pub fn allow_contact(&mut self, object: &str, link: &str) -> Result<()> {
        self.allow_contact_for(object, "", link)
    }

    /// Allows a world object to touch `link` of robot `robot` (empty: any robot).
    pub fn allow_contact_for(&mut self, object: &str, robot: &str, link: &str) -> Result<()> {
        if !self.name_taken(object) {
            return Err(self.unknown(object));
        }
        let contact = AllowedContact {
            object: object.to_owned(),
            robot: robot.to_owned(),
            link: link.to_owned(),
        };
        if !self.allowed.contains(&contact) {
            self.allowed.push(contact);
        }
        Ok(())
    }
}
