//! An independent safety monitor for end-to-end tests: it follows every robot's streamed state
//! (up to one message per control cycle) and the cell's objects and attachments, rebuilds the
//! cell locally at each observed instant and measures, with robots and carried parts at their
//! observed joints only (no reservations, no padding), whether two bodies interpenetrate.
//!
//! What it flags:
//! - two robots, or a robot and a part another robot carries, interpenetrating (always a
//!   failure of the service: objects never move robots). Each robot is checked on the hulls
//!   of its real meshes against the other robots' capsules (which contain their hulls); a
//!   contact counts when both robots' views show it, as every real contact of the hulls does;
//! - a robot entering an object (free at the instant checked before, in contact now) that was
//!   last edited more than [`EDIT_GRACE`] before: a robot stopped by an intrusion may overrun
//!   into the new object within its stopping distance, and an object dropped on a robot is not
//!   the robot entering it.

use cella_cell::{CellFile, CellSnapshot};
use cella_collision::{Checker, World, WorldObject};
use cella_proto::v1 as pb;
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An object edited this recently may be entered by a robot braking for it.
pub const EDIT_GRACE: Duration = Duration::from_millis(1500);

/// A violation seen by the monitor.
#[derive(Debug, Clone)]
pub struct Violation {
    /// What touched what, and how deep.
    pub what: String,
    /// The robots' joints then.
    pub joints: Vec<(String, Vec<f64>)>,
    /// What each robot was doing (status, execution, jog blocked).
    pub doing: String,
}

/// The monitor's findings.
#[derive(Debug, Default)]
pub struct Findings {
    /// Instants checked.
    pub instants: usize,
    /// Violations (the first few hundred).
    pub violations: Vec<Violation>,
    /// (robot, object) pairs in contact at the last instant checked.
    touching: std::collections::HashSet<(String, String)>,
}

fn pose(p: &pb::Pose) -> Isometry3<f64> {
    let q = &p.quaternion_xyzw;
    Isometry3::from_parts(
        Translation3::new(p.position[0], p.position[1], p.position[2]),
        UnitQuaternion::from_quaternion(Quaternion::new(q[3], q[0], q[1], q[2])),
    )
}

fn shape(s: &pb::Shape) -> cella_collision::Shape {
    use cella_collision::Shape;
    match s.kind.as_ref().unwrap() {
        pb::shape::Kind::Box(b) => Shape::Box {
            half_extents: [b.half_extents[0], b.half_extents[1], b.half_extents[2]],
        },
        pb::shape::Kind::Sphere(b) => Shape::Sphere { radius: b.radius },
        pb::shape::Kind::Cylinder(c) => Shape::Cylinder {
            radius: c.radius,
            half_length: 0.5 * c.length,
        },
        pb::shape::Kind::Capsule(c) => Shape::Capsule {
            radius: c.radius,
            half_length: 0.5 * c.length,
        },
    }
}

/// `base` (the cell file's cell) with `info`'s objects and attachments, padding 0, robots at
/// `joints`.
pub fn rebuild(
    base: &CellSnapshot,
    info: &pb::CellInfo,
    joints: &HashMap<String, Vec<f64>>,
) -> CellSnapshot {
    let mut cell = base.clone();
    for r in &mut cell.robots {
        if let Some(q) = joints.get(&r.id) {
            r.joints = q.clone();
        }
    }
    let mut world = World::new();
    for o in info
        .objects
        .iter()
        .filter(|o| o.attached_to_robot.is_empty())
    {
        world
            .add(WorldObject {
                name: o.name.clone(),
                shape: shape(o.shape.as_ref().unwrap()),
                pose: pose(o.pose.as_ref().unwrap()),
                padding: 0.0,
            })
            .unwrap();
        for c in &o.allowed_contacts {
            world
                .allow_contact_for(&o.name, &c.robot_id, &c.link)
                .unwrap();
        }
    }
    let snapshot = CellSnapshot {
        version: info.world_version,
        robots: cell.robots.clone(),
        world: world.clone(),
    };
    for o in info
        .objects
        .iter()
        .filter(|o| !o.attached_to_robot.is_empty())
    {
        let link = snapshot
            .link_pose(&o.attached_to_robot, &o.attached_to_link)
            .unwrap();
        world
            .add(WorldObject {
                name: o.name.clone(),
                shape: shape(o.shape.as_ref().unwrap()),
                pose: link * pose(o.pose.as_ref().unwrap()),
                padding: 0.0,
            })
            .unwrap();
        world
            .attach_to_robot(
                &o.name,
                &o.attached_to_robot,
                &o.attached_to_link,
                &link,
                Vec::new(),
            )
            .unwrap();
    }
    CellSnapshot {
        version: info.world_version,
        robots: cell.robots,
        world,
    }
}

/// Checks one instant: every robot against the objects, the other robots and their parts.
/// `edited` says when each object was last edited.
pub fn check_instant(
    cell: &CellSnapshot,
    edited: &HashMap<String, Instant>,
    now: Instant,
    doing: &str,
    out: &mut Findings,
) {
    out.instants += 1;
    // every robot's contacts, each seen from that robot: its links on the hulls of the real
    // meshes (capsules for parts it carries) against the other robots' capsules and parts
    let mut seen: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for r in &cell.robots {
        let checker: Checker = cell.checker(&r.id).unwrap();
        let mut s = checker.scratch();
        let contacts = if checker.is_valid(&mut s, &r.joints) {
            Vec::new()
        } else {
            checker.contacts(&mut s, &r.joints)
        };
        seen.push((r.id.clone(), contacts));
    }
    // two robots really touch only where each one's view of the other says so (each view is
    // conservative on the other robot's side: its capsules contain its hulls)
    let confirmed = |x: &str, a: &str, b: &str| {
        let Some((y, part)) = b.split_once('/') else {
            return false;
        };
        seen.iter().any(|(id, contacts)| {
            id == y
                && contacts
                    .iter()
                    .any(|(a2, b2)| a2 == part && *b2 == format!("{x}/{a}"))
        })
    };
    let mut touching = std::collections::HashSet::new();
    for (r, contacts) in &seen {
        for (a, b) in contacts {
            let other_robot = cell
                .robots
                .iter()
                .any(|o| b.starts_with(&format!("{}/", o.id)));
            // an object just added or moved, or a part just attached, is not entered by
            // the robot
            let recent = |name: &str| {
                edited
                    .get(name)
                    .is_some_and(|t| now.duration_since(*t) < EDIT_GRACE)
            };
            let object_recent = recent(b) || recent(a);
            let is_object = cell.world.objects().iter().any(|o| o.name == *b);
            let entered = is_object && {
                let pair = (r.clone(), b.clone());
                let new = !out.touching.contains(&pair);
                touching.insert(pair);
                new && !object_recent
            };
            if ((other_robot && confirmed(r, a, b)) || entered) && out.violations.len() < 300 {
                out.violations.push(Violation {
                    what: format!("{r}: {a} with {b}"),
                    joints: cell
                        .robots
                        .iter()
                        .map(|r| (r.id.clone(), r.joints.clone()))
                        .collect(),
                    doing: doing.to_owned(),
                });
            }
        }
    }
    out.touching = touching;
}

/// A running monitor over a server: a task reading every robot's state at `rate_hz` and the
/// cell info whenever the world version may have changed.
pub struct Monitor {
    findings: Arc<Mutex<Findings>>,
    edits: Arc<Mutex<HashMap<String, Instant>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Monitor {
    /// Starts monitoring the server at `url` serving the cell of `toml`.
    pub async fn start(url: &str, toml: &'static str, rate_hz: f64) -> Self {
        let findings = Arc::new(Mutex::new(Findings::default()));
        let edits: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let mut c = pb::cell_service_client::CellServiceClient::connect(url.to_owned())
            .await
            .unwrap();
        let mut stream = c
            .stream_state(pb::StreamStateRequest {
                robot_ids: vec![],
                rate_hz,
            })
            .await
            .unwrap()
            .into_inner();
        let (f, e) = (findings.clone(), edits.clone());
        let base = (*CellFile::parse(toml).unwrap().build(None).unwrap()).clone();
        // the checks run on their own thread (they would hold up the server's runtime); an
        // instant it has no time for is dropped (the next one is checked). Each instant carries
        // when it was observed: edits are judged recent against that, not against when a
        // thread starved of CPU gets to check it
        let (tx, rx) = std::sync::mpsc::sync_channel::<(
            Arc<pb::CellInfo>,
            HashMap<String, Vec<f64>>,
            String,
            Instant,
        )>(4);
        let checker_thread = std::thread::spawn(move || {
            while let Ok((info, joints, doing, observed)) = rx.recv() {
                let cell = rebuild(&base, &info, &joints);
                let edited = e.lock().unwrap().clone();
                let mut findings = f.lock().unwrap();
                check_instant(&cell, &edited, observed, &doing, &mut findings);
            }
        });
        let task = tokio::spawn(async move {
            use tokio_stream::StreamExt;
            let mut joints: HashMap<String, Vec<f64>> = HashMap::new();
            let mut doing: HashMap<String, String> = HashMap::new();
            let mut info = Arc::new(
                c.get_cell_info(pb::GetCellInfoRequest {})
                    .await
                    .unwrap()
                    .into_inner(),
            );
            let mut last_info = Instant::now();
            let robots = info.robots.len();
            let mut fresh = 0;
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    next = stream.next() => {
                        let Some(Ok(s)) = next else { break };
                        joints.insert(s.robot_id.clone(), s.positions.clone());
                        doing.insert(
                            s.robot_id.clone(),
                            format!(
                                "{}: status {} execution {} outcome {} jog_blocked {} v {:?}",
                                s.robot_id, s.status, s.execution_id, s.outcome, s.jog_blocked,
                                s.velocities
                            ),
                        );
                        fresh += 1;
                        if fresh < robots || joints.len() < robots {
                            continue;
                        }
                        fresh = 0;
                        if last_info.elapsed() > Duration::from_millis(20) {
                            info = Arc::new(
                                c.get_cell_info(pb::GetCellInfoRequest {})
                                    .await
                                    .unwrap()
                                    .into_inner(),
                            );
                            last_info = Instant::now();
                        }
                        let mut d: Vec<&String> = doing.values().collect();
                        d.sort();
                        let d = d.into_iter().cloned().collect::<Vec<_>>().join("; ");
                        let _ = tx.try_send((info.clone(), joints.clone(), d, Instant::now()));
                    }
                }
            }
            drop(tx);
            let _ = tokio::task::spawn_blocking(move || checker_thread.join()).await;
        });
        Self {
            findings,
            edits,
            stop,
            task,
        }
    }

    /// Notes that object `name` was (or is about to be) added, moved or detached now.
    pub fn edited(&self, name: &str) {
        self.edits
            .lock()
            .unwrap()
            .insert(name.to_owned(), Instant::now());
    }

    /// A shared handle for clients to note edits.
    pub fn edit_log(&self) -> Arc<Mutex<HashMap<String, Instant>>> {
        self.edits.clone()
    }

    /// Stops and returns what it found.
    pub async fn finish(self) -> Findings {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        std::mem::take(&mut *self.findings.lock().unwrap())
    }
}
