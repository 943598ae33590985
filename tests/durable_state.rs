#![allow(clippy::unwrap_used)]
//! `cella serve --state-dir`: the world and its version survive a restart, and a `kill -9` at
//! any moment of a stream of edits loses at most the edit in flight (every acknowledged edit
//! is restored) and never leaves a state directory that does not load.

mod common;

use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tonic::transport::Channel;

type Client = CellServiceClient<Channel>;

/// A `cella serve --state-dir` process, killed (SIGKILL) when dropped.
struct Serving {
    child: Child,
    url: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cella serve` on a free port with `args`; returns once it listens.
fn serve(args: &[&str]) -> Serving {
    let (child, url) = common::spawn_serve(["--addr", "127.0.0.1:0"].iter().chain(args));
    Serving { child, url }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cella-durable-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pose(x: f64, y: f64, z: f64, yaw: f64) -> pb::Pose {
    let (s, c) = (0.5 * yaw).sin_cos();
    pb::Pose {
        position: vec![x, y, z],
        quaternion_xyzw: vec![0.0, 0.0, s, c],
    }
}

fn cuboid(name: &str, at: pb::Pose) -> pb::WorldObject {
    pb::WorldObject {
        name: name.into(),
        shape: Some(pb::Shape {
            kind: Some(pb::shape::Kind::Box(pb::Box {
                half_extents: vec![0.03, 0.02, 0.01],
            })),
        }),
        pose: Some(at),
        ..Default::default()
    }
}

async fn info(c: &mut Client) -> pb::CellInfo {
    common::cell_info(c).await
}

#[test]
fn world_edits_and_the_version_survive_a_restart() {
    let dir = scratch("restart");
    let state = dir.join("state");
    let state_arg = state.to_str().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let before = {
        let s = serve(&["--state-dir", state_arg]);
        rt.block_on(async {
            let mut c = CellServiceClient::connect(s.url.clone()).await.unwrap();
            let first = info(&mut c).await;
            // an object the UR5e's flange may touch, one moved, one removed, a part attached
            // and carried, another attached then put down elsewhere
            let mut fixture = cuboid("fixture", pose(-0.3, 0.3, 0.9, 0.3));
            fixture.allowed_contacts = vec![pb::AllowedContact {
                robot_id: "ur5e".into(),
                link: "flange".into(),
            }];
            for object in [
                fixture,
                cuboid("moved", pose(0.2, -0.4, 0.9, 0.0)),
                cuboid("gone", pose(0.1, 0.4, 0.9, 0.0)),
                cuboid("carried", pose(-0.4, -0.3, 1.4, 1.0 / 3.0)),
            ] {
                let object = Some(object);
                c.add_object(pb::AddObjectRequest { object }).await.unwrap();
            }
            c.move_object(pb::MoveObjectRequest {
                name: "moved".into(),
                pose: Some(pose(0.25, -0.41, 0.91, 0.7)),
            })
            .await
            .unwrap();
            c.remove_object(pb::RemoveObjectRequest {
                name: "gone".into(),
            })
            .await
            .unwrap();
            c.attach_object(pb::AttachObjectRequest {
                name: "carried".into(),
                robot_id: "ur5e".into(),
                link: "flange".into(),
                touch_links: vec![],
            })
            .await
            .unwrap();
            let last = c
                .attach_object(pb::AttachObjectRequest {
                    name: "moved".into(),
                    robot_id: "kuka".into(),
                    link: "flange".into(),
                    touch_links: vec![],
                })
                .await
                .unwrap()
                .into_inner();
            let detached = c
                .detach_object(pb::DetachObjectRequest {
                    name: "moved".into(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(detached.world_version, last.world_version + 1);
            let now = info(&mut c).await;
            assert_eq!(now.world_version, first.world_version + 9);
            now
        })
    };
    // killed (SIGKILL) when `s` dropped above: restarted on the same directory
    let s = serve(&["--state-dir", state_arg]);
    let after = rt.block_on(async {
        let mut c = CellServiceClient::connect(s.url.clone()).await.unwrap();
        info(&mut c).await
    });
    assert_eq!(after.world_version, before.world_version);
    assert_eq!(after.objects, before.objects);
    assert_eq!(after.padding, before.padding);
    let names: Vec<&str> = after.objects.iter().map(|o| o.name.as_str()).collect();
    assert!(
        names.contains(&"carried") && !names.contains(&"gone"),
        "{names:?}"
    );
    let fixture = after.objects.iter().find(|o| o.name == "fixture").unwrap();
    assert_eq!(fixture.allowed_contacts.len(), 1);
    // one server per state directory
    let second = Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(["serve", "--addr", "127.0.0.1:0", "--state-dir", state_arg])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3), "{second:?}");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("in use"),
        "{second:?}"
    );
    drop(s);
    // a state directory written over another cell file is refused, not misapplied
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        cella_cell::DEMO_CELL.replace("radius = 0.08", "radius = 0.09"),
    )
    .unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(["serve", "--addr", "127.0.0.1:0", "--state-dir", state_arg])
        .args(["--cell", other.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("another cell"),
        "{refused:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `n`th edit of the stream (a function of `n` alone, so a lost edit is sent again the
/// same): each group of four adds an object that stays, moves it, adds one and removes it.
fn edit(n: u64) -> Edit {
    let at = pose(
        -0.8 + 0.005 * (n % 300) as f64,
        2.0 + 0.001 * (n % 7) as f64,
        0.3 + 0.002 * (n % 11) as f64,
        0.01 * (n % 300) as f64,
    );
    match n % 4 {
        0 => Edit::Add(format!("o{n}"), at),
        1 => Edit::Move(format!("o{}", n - 1), at),
        2 => Edit::Add(format!("p{n}"), at),
        _ => Edit::Remove(format!("p{}", n - 1)),
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Add(String, pb::Pose),
    Move(String, pb::Pose),
    Remove(String),
}

impl Edit {
    async fn send(&self, c: &mut Client) -> Result<u64, tonic::Status> {
        let r = match self.clone() {
            Edit::Add(name, at) => {
                let object = Some(cuboid(&name, at));
                c.add_object(pb::AddObjectRequest { object }).await
            }
            Edit::Move(name, at) => {
                let pose = Some(at);
                c.move_object(pb::MoveObjectRequest { name, pose }).await
            }
            Edit::Remove(name) => c.remove_object(pb::RemoveObjectRequest { name }).await,
        };
        r.map(|r| r.into_inner().world_version)
    }

    /// Applies it to a model of the objects (name, pose) in their order.
    fn apply(&self, world: &mut Vec<(String, pb::Pose)>) {
        match self {
            Edit::Add(name, at) => world.push((name.clone(), at.clone())),
            Edit::Move(name, at) => {
                let o = world.iter_mut().find(|(n, _)| n == name).unwrap();
                o.1 = at.clone();
            }
            Edit::Remove(name) => world.retain(|(n, _)| n != name),
        }
    }
}

/// The objects the server reports, as the model has them.
fn objects(info: &pb::CellInfo) -> Vec<(String, pb::Pose)> {
    info.objects
        .iter()
        .map(|o| (o.name.clone(), o.pose.clone().unwrap()))
        .collect()
}

/// Whether the server's objects are the model's: the same names in the same order at the
/// same positions, rotations within rounding (the server normalises the quaternions it is
/// sent; the restart test checks that a restart keeps them bit for bit).
fn same(server: &[(String, pb::Pose)], model: &[(String, pb::Pose)]) -> bool {
    server.len() == model.len()
        && server.iter().zip(model).all(|((a, p), (b, q))| {
            a == b
                && p.position == q.position
                && p.quaternion_xyzw
                    .iter()
                    .zip(&q.quaternion_xyzw)
                    .all(|(x, y)| (x - y).abs() < 1e-12)
        })
}

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[test]
fn a_kill_9_during_edits_loses_at_most_the_edit_in_flight() {
    const ITERATIONS: usize = 20;
    const MAX_EDITS: u64 = 40;
    let dir = scratch("kill");
    let state = dir.join("state");
    let state_arg = state.to_str().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // the model: the objects after the acknowledged edits, and the edit that may be in flight
    let mut world: Option<Vec<(String, pb::Pose)>> = None;
    let mut base_version = 0;
    let mut acked: u64 = 0;
    let mut in_flight: Option<Edit> = None;
    let mut lost = 0;
    let mut kept_in_flight = 0;
    let mut at_least = 0;
    for iteration in 0..=ITERATIONS {
        let s = serve(&["--state-dir", state_arg]);
        let url = s.url.clone();
        let restored = rt.block_on(async {
            let mut c = CellServiceClient::connect(url.clone()).await.unwrap();
            info(&mut c).await
        });
        let model = world.get_or_insert_with(|| {
            base_version = restored.world_version;
            objects(&restored)
        });
        // every acknowledged edit is there; the one in flight may be
        let version = restored.world_version;
        if version == base_version + acked + 1 {
            let e = in_flight.take().unwrap_or_else(|| {
                panic!(
                    "iteration {iteration}: version {version} after {acked} edits, none in flight"
                )
            });
            e.apply(model);
            acked += 1;
            kept_in_flight += 1;
        } else {
            assert_eq!(
                version,
                base_version + acked,
                "iteration {iteration}: {acked} edits acknowledged"
            );
            lost += usize::from(in_flight.take().is_some());
        }
        let restored_objects = objects(&restored);
        assert!(
            same(&restored_objects, model),
            "iteration {iteration}: {restored_objects:?} where {model:?}"
        );
        if iteration == ITERATIONS {
            break;
        }
        // a stream of edits, killed at a random moment
        let done = Arc::new(AtomicU64::new(0));
        let sender = {
            let done = done.clone();
            let first = acked;
            rt.spawn(async move {
                let Ok(mut c) = CellServiceClient::connect(url).await else {
                    return None;
                };
                for n in first..first + MAX_EDITS {
                    match edit(n).send(&mut c).await {
                        Ok(v) => {
                            assert_eq!(v, base_version + n + 1);
                            done.store(n + 1 - first, Ordering::SeqCst);
                        }
                        Err(_) => return Some(n),
                    }
                }
                None
            })
        };
        // after at least `wait` acknowledged edits (so the stream makes progress), at a random
        // moment of the next ones
        let wait = rng.below(MAX_EDITS / 2);
        at_least += wait;
        while done.load(Ordering::SeqCst) < wait && !sender.is_finished() {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        std::thread::sleep(std::time::Duration::from_micros(rng.below(8_000)));
        drop(s); // SIGKILL
        let failed = rt.block_on(sender).unwrap();
        let model = world.as_mut().unwrap();
        for n in acked..acked + done.load(Ordering::SeqCst) {
            edit(n).apply(model);
        }
        acked += done.load(Ordering::SeqCst);
        in_flight = failed.map(edit);
        if let Some(n) = failed {
            assert_eq!(
                n, acked,
                "the edit in flight is the one after the acknowledged ones"
            );
        }
    }
    assert!(
        acked >= at_least,
        "{acked} edits acknowledged, {at_least} waited for"
    );
    eprintln!(
        "{ITERATIONS} kills: {acked} edits acknowledged and restored; of the edits in flight, \
         {kept_in_flight} were kept and {lost} lost"
    );
    let journal = state.join(cella_cell::JOURNAL_FILE);
    assert!(Path::new(&journal).is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
