#![allow(clippy::unwrap_used)]
//! A seeded chaos test of the cell's safety authority: several concurrent clients issue random
//! sequences of Plan, Execute, Jog, Pause, Resume, Stop, override changes, attach, detach and
//! world edits, on the demo cell and on a three-robot cell, while an independent monitor
//! ([`common::monitor`]) follows every robot's streamed state and asserts that no two robots
//! (or a robot and a part another carries) interpenetrate, and that no robot enters an object
//! that was not just put in its way. The service must never die or stick: at the end every
//! robot comes to rest and plans home.
//!
//! `CELLA_CHAOS_STEPS` sets the requests per client (default 500; three clients per cell);
//! `CELLA_CHAOS_SEED` the seed.

mod common;

use cella_proto::v1 as pb;
use common::monitor::Monitor;
use common::{client, start_cell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_stream::StreamExt;

type Client = pb::cell_service_client::CellServiceClient<tonic::transport::Channel>;

/// A UR5e, a KUKA KR6 and a FANUC LR Mate around one table.
const THREE_ROBOTS: &str = r#"
name = "three arms, one table"
padding = 0.005
[[robots]]
id = "ur5e"
model = "ur5e"
base = { xyz = [-0.6, 0.0, 0.75] }
mounted_on = "table"
control_period_ms = 2
[[robots]]
id = "kuka"
model = "kuka_kr6_r700"
base = { xyz = [0.6, 0.0, 0.75], rpy = [0.0, 0.0, 3.141592653589793] }
mounted_on = "table"
[[robots]]
id = "fanuc"
model = "fanuc_lrmate200id"
base = { xyz = [0.0, -0.42, 0.75], rpy = [0.0, 0.0, 1.5707963267948966] }
mounted_on = "table"
control_period_ms = 8
[[objects]]
name = "table"
type = "box"
half_extents = [1.0, 0.5, 0.375]
pose = { xyz = [0.0, 0.0, 0.375] }
[[objects]]
name = "post"
type = "cylinder"
radius = 0.04
length = 0.3
pose = { xyz = [0.0, 0.25, 0.9] }
"#;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default, Debug)]
struct Tally {
    calls: usize,
    ok: HashMap<&'static str, usize>,
    refused: HashMap<&'static str, usize>,
}

impl Tally {
    fn note<T>(&mut self, what: &'static str, r: &Result<T, tonic::Status>) {
        self.calls += 1;
        match r {
            Ok(_) => *self.ok.entry(what).or_default() += 1,
            Err(s) => {
                assert!(
                    !matches!(s.code(), tonic::Code::Internal | tonic::Code::Unknown),
                    "{what}: {s:?}"
                );
                *self.refused.entry(what).or_default() += 1;
            }
        }
    }
}

struct Robot {
    id: String,
    lower: Vec<f64>,
    upper: Vec<f64>,
    links: Vec<String>,
    /// Joint states that put its tool over the middle of the table, where the robots meet.
    shared: Vec<Vec<f64>>,
}

fn random_state(rng: &mut Rng, r: &Robot) -> Vec<f64> {
    r.lower
        .iter()
        .zip(&r.upper)
        .map(|(lo, hi)| rng.uniform(lo.max(-3.0), hi.min(3.0)))
        .collect()
}

fn random_pose(rng: &mut Rng) -> pb::Pose {
    pb::Pose {
        position: vec![
            rng.uniform(-0.9, 0.9),
            rng.uniform(-0.5, 0.5),
            rng.uniform(0.8, 1.5),
        ],
        quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
    }
}

/// The latest state of robot `id`.
async fn robot_state(c: &mut Client, id: &str) -> pb::RobotState {
    c.stream_state(pb::StreamStateRequest {
        robot_ids: vec![id.to_owned()],
        rate_hz: 100.0,
    })
    .await
    .unwrap()
    .into_inner()
    .next()
    .await
    .unwrap()
    .unwrap()
}

/// One client's random session.
async fn session(
    mut c: Client,
    robots: Arc<Vec<Robot>>,
    seed: u64,
    steps: u64,
    edits: Arc<Mutex<HashMap<String, Instant>>>,
    me: usize,
) -> Tally {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut tally = Tally::default();
    let mut plans: Vec<(String, pb::PlanResponse)> = Vec::new();
    for _ in 0..steps {
        let r = &robots[rng.below(robots.len())];
        let id = r.id.clone();
        let note_edit = |name: &str| {
            edits
                .lock()
                .unwrap()
                .insert(name.to_owned(), Instant::now());
        };
        match rng.below(24) {
            0..=7 => {
                let pick = rng.below(4);
                let goal = if pick == 0 {
                    pb::Goal {
                        kind: Some(pb::goal::Kind::NamedPose("home".into())),
                    }
                } else if pick <= 2 && !r.shared.is_empty() {
                    pb::Goal {
                        kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                            values: r.shared[rng.below(r.shared.len())].clone(),
                        })),
                    }
                } else {
                    pb::Goal {
                        kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                            values: random_state(&mut rng, r),
                        })),
                    }
                };
                let motion = if rng.below(4) == 0 {
                    pb::MotionType::Ptp
                } else {
                    pb::MotionType::Free
                };
                let res = c
                    .plan(pb::PlanRequest {
                        robot_id: id.clone(),
                        goals: vec![goal],
                        motion: motion as i32,
                        time_budget: 0.2,
                        seed: rng.next(),
                        velocity_scale: rng.uniform(0.1, 1.0),
                        ..Default::default()
                    })
                    .await
                    .map(tonic::Response::into_inner);
                tally.note("plan", &res);
                if let Ok(p) = res {
                    if !p.assumptions.is_empty() {
                        // planned through space another robot is leaving
                        *tally.ok.entry("plan_through_space_being_left").or_default() += 1;
                    }
                    if rng.below(4) != 0 {
                        // straight away, while its start still holds
                        let res = c
                            .execute(pb::ExecuteRequest {
                                robot_id: id.clone(),
                                trajectory: p.trajectory.clone(),
                                world_version: p.world_version,
                                lease: if rng.below(4) == 0 { 0.3 } else { 0.0 },
                                request_id: format!("c{me}-{}", rng.next()),
                            })
                            .await;
                        tally.note("execute", &res);
                    }
                    plans.push((id, p));
                    if plans.len() > 4 {
                        plans.remove(0);
                    }
                }
            }
            8 | 9 => {
                if plans.is_empty() {
                    continue;
                }
                let (robot, p) = plans.swap_remove(rng.below(plans.len()));
                let res = c
                    .execute(pb::ExecuteRequest {
                        robot_id: robot,
                        trajectory: p.trajectory,
                        world_version: p.world_version,
                        lease: if rng.below(4) == 0 { 0.3 } else { 0.0 },
                        request_id: format!("c{me}-{}", rng.next()),
                    })
                    .await;
                tally.note("execute", &res);
            }
            10 | 11 => {
                let v: Vec<f64> = (0..r.lower.len()).map(|_| rng.uniform(-0.6, 0.6)).collect();
                let res = if rng.below(2) == 0 {
                    c.jog(pb::JogRequest {
                        robot_id: id,
                        joint_velocities: v,
                        twist: vec![],
                        deadman: rng.uniform(0.05, 0.5),
                    })
                    .await
                } else {
                    c.jog(pb::JogRequest {
                        robot_id: id,
                        joint_velocities: vec![],
                        twist: v[..6].iter().map(|x| x * 0.3).collect(),
                        deadman: rng.uniform(0.05, 0.5),
                    })
                    .await
                };
                tally.note("jog", &res);
            }
            12 => {
                let res = c.pause(pb::RobotRequest { robot_id: id }).await;
                tally.note("pause", &res);
            }
            13 => {
                let res = c.resume(pb::RobotRequest { robot_id: id }).await;
                tally.note("resume", &res);
            }
            14 => {
                let res = c
                    .stop(pb::StopRequest {
                        robot_id: if rng.below(8) == 0 { String::new() } else { id },
                        immediate: rng.below(2) == 0,
                        reason: "chaos".into(),
                    })
                    .await;
                tally.note("stop", &res);
            }
            15 => {
                let value = [0.0, 0.3, 0.6, 1.0, 1.0, 1.0][rng.below(6)];
                let res = c
                    .set_speed_override(pb::SpeedOverrideRequest {
                        robot_id: id,
                        speed_override: value,
                    })
                    .await;
                tally.note("override", &res);
            }
            18 | 19 => {
                // a race: two robots sent to the middle of the table, back to back
                let other = &robots[rng.below(robots.len())];
                if other.id == id {
                    continue;
                }
                let mut planned = Vec::new();
                for x in [r, other] {
                    let res = c
                        .plan(pb::PlanRequest {
                            robot_id: x.id.clone(),
                            goals: vec![pb::Goal {
                                kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                                    values: x.shared[rng.below(x.shared.len())].clone(),
                                })),
                            }],
                            time_budget: 0.2,
                            seed: rng.next(),
                            ..Default::default()
                        })
                        .await
                        .map(tonic::Response::into_inner);
                    tally.note("plan", &res);
                    if let Ok(p) = res {
                        planned.push((x.id.clone(), p));
                    }
                }
                for (robot, p) in planned {
                    let res = c
                        .execute(pb::ExecuteRequest {
                            robot_id: robot,
                            trajectory: p.trajectory,
                            world_version: p.world_version,
                            ..Default::default()
                        })
                        .await;
                    tally.note("execute", &res);
                }
            }
            16 | 17 => {
                let name = format!("box{}", rng.below(4));
                let pose = random_pose(&mut rng);
                note_edit(&name);
                let res = if rng.below(2) == 0 {
                    c.move_object(pb::MoveObjectRequest {
                        name: name.clone(),
                        pose: Some(pose),
                    })
                    .await
                } else {
                    let _ = c
                        .remove_object(pb::RemoveObjectRequest { name: name.clone() })
                        .await;
                    c.add_object(pb::AddObjectRequest {
                        object: Some(common::sphere(&name, rng.uniform(0.02, 0.08), pose)),
                    })
                    .await
                };
                note_edit(&name);
                tally.note("edit", &res);
            }
            _ => {
                let name = format!("part{}", rng.below(3));
                if rng.below(2) == 0 {
                    let link = r.links[r.links.len() - 1].clone();
                    let res = c
                        .attach_object(pb::AttachObjectRequest {
                            name: name.clone(),
                            robot_id: id,
                            link,
                            touch_links: vec![],
                        })
                        .await;
                    if res.is_ok() {
                        note_edit(&name);
                    } else {
                        note_edit(&name);
                        let pose = random_pose(&mut rng);
                        let _ = c
                            .add_object(pb::AddObjectRequest {
                                object: Some(common::sphere(&name, 0.03, pose)),
                            })
                            .await;
                        note_edit(&name);
                    }
                    tally.note("attach", &res);
                } else {
                    note_edit(&name);
                    let res = c
                        .detach_object(pb::DetachObjectRequest { name: name.clone() })
                        .await;
                    note_edit(&name);
                    tally.note("detach", &res);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.below(80) as u64)).await;
    }
    tally
}

async fn chaos(toml: &'static str, seed: u64) {
    let steps = env_or("CELLA_CHAOS_STEPS", 500);
    let s = start_cell(toml).await;
    let mut c = client(&s).await;
    let info = common::cell_info(&mut c).await;
    let mut list = Vec::new();
    for r in &info.robots {
        // tool pointing down over the middle of the table, at a few heights and offsets
        let mut shared = Vec::new();
        for (x, y, z) in [
            (0.0, 0.0, 1.05),
            (0.1, 0.1, 1.15),
            (-0.1, -0.1, 1.1),
            (0.0, 0.2, 1.2),
        ] {
            let ik = c
                .compute_ik(pb::IkRequest {
                    robot_id: r.id.clone(),
                    pose: Some(pb::Pose {
                        position: vec![x, y, z],
                        quaternion_xyzw: vec![1.0, 0.0, 0.0, 0.0],
                    }),
                    seed: r.current.clone().unwrap().values,
                    all_solutions: false,
                    collision_free: true,
                })
                .await;
            if let Ok(ik) = ik {
                shared.extend(ik.into_inner().solutions.into_iter().map(|s| s.values));
            }
        }
        list.push(Robot {
            id: r.id.clone(),
            lower: r.joints.iter().map(|j| j.lower).collect(),
            upper: r.joints.iter().map(|j| j.upper).collect(),
            links: r.links.clone(),
            shared,
        });
    }
    assert!(
        list.iter().all(|r| !r.shared.is_empty()),
        "a robot cannot reach the middle of the table"
    );
    let robots: Arc<Vec<Robot>> = Arc::new(list);
    let monitor = Monitor::start(&s.url, toml, 500.0).await;
    let mut sessions = Vec::new();
    for k in 0..3 {
        let cl = client(&s).await;
        sessions.push(tokio::spawn(session(
            cl,
            robots.clone(),
            seed + k,
            steps,
            monitor.edit_log(),
            k as usize,
        )));
    }
    let mut total = Tally::default();
    for t in sessions {
        let t = t.await.unwrap();
        total.calls += t.calls;
        for (k, v) in t.ok {
            *total.ok.entry(k).or_default() += v;
        }
        for (k, v) in t.refused {
            *total.refused.entry(k).or_default() += v;
        }
    }
    // the end: every robot stops, is released, comes to rest; the random objects go; every
    // robot plans home and gets there
    c.stop(pb::StopRequest::default()).await.unwrap();
    for name in (0..4)
        .map(|k| format!("box{k}"))
        .chain((0..3).map(|k| format!("part{k}")))
    {
        let _ = c
            .detach_object(pb::DetachObjectRequest { name: name.clone() })
            .await;
        let _ = c.remove_object(pb::RemoveObjectRequest { name }).await;
    }
    for r in robots.iter() {
        c.set_speed_override(pb::SpeedOverrideRequest {
            robot_id: r.id.clone(),
            speed_override: 1.0,
        })
        .await
        .unwrap();
    }
    // every robot at rest
    for r in robots.iter() {
        let mut rest = false;
        for _ in 0..2000 {
            if robot_state(&mut c, &r.id).await.status == pb::RobotStatus::Idle as i32 {
                rest = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(rest, "robot '{}' never came to rest", r.id);
    }
    // home, one at a time; a robot whose home another robot stands in goes after it
    let mut left: Vec<&Robot> = robots.iter().collect();
    let mut refusals = Vec::new();
    for _round in 0..robots.len() {
        let mut next = Vec::new();
        for r in left {
            let home = c
                .plan(pb::PlanRequest {
                    robot_id: r.id.clone(),
                    goals: vec![pb::Goal {
                        kind: Some(pb::goal::Kind::NamedPose("home".into())),
                    }],
                    time_budget: 2.0,
                    ..Default::default()
                })
                .await;
            let p = match home {
                Ok(p) => p.into_inner(),
                Err(e) => {
                    refusals.push(format!("{}: {}", r.id, e.message()));
                    next.push(r);
                    continue;
                }
            };
            c.execute(pb::ExecuteRequest {
                robot_id: r.id.clone(),
                trajectory: p.trajectory,
                ..Default::default()
            })
            .await
            .unwrap();
            loop {
                let st = robot_state(&mut c, &r.id).await;
                if st.status == pb::RobotStatus::Idle as i32 {
                    assert_eq!(
                        st.outcome,
                        pb::ExecutionOutcome::Completed as i32,
                        "{}",
                        r.id
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        left = next;
    }
    let homes = robots.len() - left.len();
    // (the monitor's findings first: a robot that could not get home may be the trace of a
    // violation it saw)
    let findings = monitor.finish().await;
    eprintln!(
        "chaos seed {seed}: {} requests {:?} accepted, {:?} refused; monitor checked {} instants; {homes} of {} robots planned home",
        total.calls,
        total.ok,
        total.refused,
        findings.instants,
        robots.len()
    );
    assert!(
        findings.violations.is_empty(),
        "{} violations, first: {:#?}",
        findings.violations.len(),
        &findings.violations[..findings.violations.len().min(3)]
    );
    assert!(left.is_empty(), "not every robot got home: {refusals:#?}");
    assert!(findings.instants > 100, "the monitor saw too little");
    assert!(
        total.ok.get("execute").copied().unwrap_or(0) > 5,
        "{total:?}"
    );
    assert!(total.ok.get("jog").copied().unwrap_or(0) > 5, "{total:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_on_the_demo_cell() {
    chaos(cella_cell::DEMO_CELL, env_or("CELLA_CHAOS_SEED", 7)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_on_three_robots() {
    chaos(THREE_ROBOTS, env_or("CELLA_CHAOS_SEED", 7) + 100).await;
}
