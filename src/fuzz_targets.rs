//! The bodies of the fuzz targets: each takes arbitrary bytes, reads them as one input format
//! of the service and goes on with what it read as far as the program would, and must not
//! panic, hang or allocate without bound whatever the bytes.
//!
//! Two drivers share them: the cargo-fuzz targets in `fuzz/` (libFuzzer, nightly) and the
//! seeded stable smoke test `tests/fuzz_smoke.rs` that runs in CI. A crash either finds
//! becomes a regression test next to the code it was in.
//!
//! | target | input | goes on to |
//! | --- | --- | --- |
//! | [`urdf`] | URDF text | the model, a chain, FK and the collision geometry |
//! | [`robot_toml`] | a `robot.toml` | the robot on its bundled URDF, FK and IK |
//! | [`cell_toml`] | a cell file | the cell snapshot (library robots only) |
//! | [`problem_json`] | a planning problem | the validated problem (library robots only) |
//! | [`stl`], [`obj`] | mesh bytes | the checks of a loaded mesh and its bounding capsule |
//! | [`service`] | an RPC and its protobuf request | the `cella.v1` service in process |
//!
//! Inputs that name files (a cell's robot model path, a problem's `urdf`) stop after
//! parsing: reading files the input names is not what is fuzzed, and `/dev/zero` would hang it.

use cella_cell::{CellFile, DEMO_CELL};
use cella_collision::mesh::{TriMesh, parse_obj, parse_stl};
use cella_collision::robot_geometry::bounding_capsule;
use cella_collision::{MeshSource, RobotGeometry};
use cella_kinematics::{IkOptions, IkSolutions, Rng, Robot, RobotConfig, RobotModel, library};
use cella_proto::prost::Message;
use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_server::CellService;
use cella_server::{CellServer, Limits};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::Request;

/// A target's body: one input, any bytes.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/` names them.
pub const TARGETS: &[(&str, Target)] = &[
    ("urdf", urdf),
    ("robot_toml", robot_toml),
    ("cell_toml", cell_toml),
    ("problem_json", problem_json),
    ("stl", stl),
    ("obj", obj),
    ("service", service),
];

/// Joint values to look at a chain with: zeros, then a few seeded random configurations.
fn configurations(robot: &Robot, seed: u64) -> Vec<Vec<f64>> {
    let chain = robot.chain();
    let mut rng = Rng::new(seed);
    let mut out = vec![vec![0.0; chain.dof()]];
    for _ in 0..2 {
        let mut q = vec![0.0; chain.dof()];
        chain.random_configuration(&mut rng, &mut q);
        out.push(q);
    }
    out
}

/// A cheap seed from the input, so that different inputs look at different configurations.
fn seed_of(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// URDF text: the kinematic model, the chain the loader picks, FK and Jacobian at a few
/// configurations, and the collision geometry (meshes are not found: no directory).
pub fn urdf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = RobotModel::from_urdf_str(text);
    let Ok(robot) = Robot::from_urdf_str(text, None, None) else {
        return;
    };
    for q in configurations(&robot, seed_of(data)) {
        let _ = robot.fk(&q);
        let mut jac = vec![[0.0; 6]; q.len()];
        let _ = robot.chain().jacobian(&q, &mut jac);
        let _ = robot.chain().manipulability(&q);
    }
    let _ = RobotGeometry::from_urdf(Arc::new(robot), text, &MeshSource::default());
}

/// A `robot.toml`: the config, the robot it makes on the bundled URDF of the robot it names
/// (the UR5e's for any other name), FK and IK (the config chooses the solver and its
/// parameters) round trips at a few configurations.
pub fn robot_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = RobotConfig::from_toml_str(text, Some("fuzz/robot.toml")) else {
        return;
    };
    let urdf = library::urdf_text(&config.name)
        .or_else(|_| library::urdf_text("ur5e"))
        .unwrap_or_default();
    let Ok(robot) = Robot::from_config(config, urdf, Some("fuzz/robot.toml")) else {
        return;
    };
    let options = IkOptions {
        max_restarts: 2,
        max_iterations: 20,
        max_solutions: 8,
        time_budget: Some(Duration::from_millis(5)),
        ..IkOptions::default()
    };
    let mut solutions = IkSolutions::default();
    for q in configurations(&robot, seed_of(data)) {
        if let Ok(pose) = robot.fk(&q) {
            let _ = robot.ik(&pose, Some(&q), &options, &mut solutions);
        }
    }
    for name in robot.named_poses().keys() {
        let _ = robot.named_pose(name);
    }
}

/// A cell file: parsed, and built into a snapshot when its robots are all library robots.
pub fn cell_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = CellFile::parse(text) else {
        return;
    };
    if file
        .robots
        .iter()
        .all(|r| library::names().any(|n| n == r.model))
    {
        let _ = file.build(None);
    }
}

/// A planning problem (`peer-bench-problem/v1` JSON): parsed and validated against its
/// library robot; a problem naming a `"urdf"` file stops after parsing.
pub fn problem_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    if value.get("urdf").is_some_and(|u| !u.is_null()) {
        return;
    }
    let _ = crate::problem::Problem::from_json(text, "fuzz", None, "fuzz", None);
}

/// What a loaded mesh goes through ([`cella_collision::mesh::load_mesh`]'s checks, then the
/// link's bounding capsule).
fn mesh_onwards(mesh: &TriMesh) {
    if mesh.triangles.is_empty()
        || mesh
            .vertices
            .iter()
            .any(|v| !v.coords.iter().all(|c| c.is_finite()))
    {
        return;
    }
    let _ = bounding_capsule(&mesh.vertices);
}

/// STL bytes, binary or ASCII.
pub fn stl(data: &[u8]) {
    if let Ok(mesh) = parse_stl(data, "fuzz.stl") {
        mesh_onwards(&mesh);
    }
}

/// Wavefront OBJ bytes.
pub fn obj(data: &[u8]) {
    if let Ok(mesh) = parse_obj(data, "fuzz.obj") {
        mesh_onwards(&mesh);
    }
}

/// The RPCs of `cella.v1.CellService`, in the order the [`service`] target numbers them.
pub const RPCS: &[&str] = &[
    "GetCellInfo",
    "ComputeFk",
    "ComputeIk",
    "CheckState",
    "AddObject",
    "MoveObject",
    "RemoveObject",
    "AttachObject",
    "DetachObject",
    "Plan",
    "PlanBatch",
    "ValidateTrajectory",
    "PlanSequence",
    "Execute",
    "Pause",
    "Resume",
    "Stop",
    "SetSpeedOverride",
    "Jog",
    "Reset",
    "StreamState",
    "GetLoopHealth",
    "Heartbeat",
    "StreamEvents",
];

/// The service the [`service`] target calls, on the demo cell, and its runtime: one for the
/// whole process, as a server is (its world changes from call to call).
struct Harness {
    runtime: tokio::runtime::Runtime,
    server: CellServer,
}

fn harness() -> Option<&'static Harness> {
    static HARNESS: OnceLock<Option<Harness>> = OnceLock::new();
    HARNESS
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let cell = CellFile::parse(DEMO_CELL).ok()?.build(None).ok()?;
            let control = cella_control::ControlOptions {
                realtime: false,
                spin: Duration::ZERO,
                ..cella_control::ControlOptions::default()
            };
            // the service is made inside the runtime: it may spawn on it
            let server = runtime
                .block_on(async { CellServer::new(cell, 1, control) })
                .ok()?
                .with_limits(Limits {
                    max_subscribers: 4,
                    ..Limits::default()
                });
            Some(Harness { runtime, server })
        })
        .as_ref()
}

/// Longest planning budget a fuzzed request gets, s: planning is not what this target
/// measures, and a minute per input would starve it.
const FUZZ_BUDGET: f64 = 0.02;

fn short_budget(budget: &mut f64) {
    if *budget == 0.0 || *budget > FUZZ_BUDGET {
        *budget = FUZZ_BUDGET;
    }
}

/// A request as the transport hands it to the service, with its `grpc-timeout` header.
fn request<T>(msg: T, timeout: Option<&tonic::metadata::AsciiMetadataValue>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(t) = timeout {
        r.metadata_mut().insert("grpc-timeout", t.clone());
    }
    r
}

/// One RPC of `cella.v1.CellService` called in process, as the server would after decoding it.
///
/// The input is `[selector, (length, grpc-timeout bytes)?, protobuf bytes...]`: `selector %
/// RPCS.len()` picks the RPC ([`RPCS`]); its high bit says a `grpc-timeout` header of `length %
/// 16` bytes follows; the rest is the request message. Planning budgets are cut to 20 ms.
/// Streams are read for their first message (or what is ready) and dropped.
pub fn service(data: &[u8]) {
    let Some(h) = harness() else {
        return;
    };
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let mut timeout = None;
    if selector & 0x80 != 0 {
        let Some((&len, tail)) = rest.split_first() else {
            return;
        };
        let len = usize::from(len % 16).min(tail.len());
        timeout = tonic::metadata::AsciiMetadataValue::try_from(&tail[..len]).ok();
        rest = &tail[len..];
    }
    let s = &h.server;
    macro_rules! unary {
        ($msg:ty, $method:ident) => {
            unary!($msg, $method, |_m: &mut $msg| {})
        };
        ($msg:ty, $method:ident, $adjust:expr) => {{
            let Ok(mut msg) = <$msg>::decode(rest) else {
                return;
            };
            $adjust(&mut msg);
            let _ = h
                .runtime
                .block_on(s.$method(request(msg, timeout.as_ref())));
        }};
    }
    macro_rules! stream {
        ($msg:ty, $method:ident) => {{
            let Ok(msg) = <$msg>::decode(rest) else {
                return;
            };
            h.runtime.block_on(async {
                if let Ok(response) = s.$method(request(msg, timeout.as_ref())).await {
                    let mut stream = response.into_inner();
                    let _ = tokio::time::timeout(Duration::from_millis(2), stream.next()).await;
                }
            });
        }};
    }
    match usize::from(selector & 0x7f) % RPCS.len() {
        0 => unary!(pb::GetCellInfoRequest, get_cell_info),
        1 => unary!(pb::FkRequest, compute_fk),
        2 => unary!(pb::IkRequest, compute_ik),
        3 => unary!(pb::CheckStateRequest, check_state),
        4 => unary!(pb::AddObjectRequest, add_object),
        5 => unary!(pb::MoveObjectRequest, move_object),
        6 => unary!(pb::RemoveObjectRequest, remove_object),
        7 => unary!(pb::AttachObjectRequest, attach_object),
        8 => unary!(pb::DetachObjectRequest, detach_object),
        9 => unary!(pb::PlanRequest, plan, |m: &mut pb::PlanRequest| {
            short_budget(&mut m.time_budget)
        }),
        10 => unary!(
            pb::PlanBatchRequest,
            plan_batch,
            |m: &mut pb::PlanBatchRequest| {
                m.requests.truncate(4);
                for r in &mut m.requests {
                    short_budget(&mut r.time_budget);
                }
            }
        ),
        11 => unary!(pb::ValidateTrajectoryRequest, validate_trajectory),
        12 => unary!(pb::PlanSequenceRequest, plan_sequence),
        13 => unary!(pb::ExecuteRequest, execute),
        14 => unary!(pb::RobotRequest, pause),
        15 => unary!(pb::RobotRequest, resume),
        16 => unary!(pb::StopRequest, stop),
        17 => unary!(pb::SpeedOverrideRequest, set_speed_override),
        18 => unary!(pb::JogRequest, jog),
        19 => unary!(pb::RobotRequest, reset),
        20 => stream!(pb::StreamStateRequest, stream_state),
        21 => unary!(pb::LoopHealthRequest, get_loop_health),
        22 => unary!(pb::HeartbeatRequest, heartbeat),
        _ => stream!(pb::StreamEventsRequest, stream_events),
    }
}

/// Seeds of the [`service`] target: a valid request of every RPC on the demo cell, each
/// also with a `grpc-timeout` header.
pub fn service_seeds() -> Vec<Vec<u8>> {
    let ur = "ur5e".to_owned();
    let home = vec![0.0, -1.57, 1.57, -1.57, -1.57, 0.0];
    let pose = pb::Pose {
        position: vec![0.4, 0.1, 0.4],
        quaternion_xyzw: vec![0.0, 1.0, 0.0, 0.0],
    };
    let object = pb::WorldObject {
        name: "fuzz_box".into(),
        shape: Some(pb::Shape {
            kind: Some(pb::shape::Kind::Box(pb::Box {
                half_extents: vec![0.05, 0.05, 0.05],
            })),
        }),
        pose: Some(pb::Pose {
            position: vec![1.5, 1.5, 0.5],
            quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
        }),
        ..pb::WorldObject::default()
    };
    let goal = pb::Goal {
        kind: Some(pb::goal::Kind::Joints(pb::JointValues {
            values: vec![0.3, -1.4, 1.4, -1.5, -1.57, 0.0],
        })),
    };
    let plan = pb::PlanRequest {
        robot_id: ur.clone(),
        goals: vec![goal.clone()],
        time_budget: 0.02,
        ..pb::PlanRequest::default()
    };
    let trajectory = pb::Trajectory {
        joint_names: Vec::new(),
        points: vec![
            pb::TrajectoryPoint {
                t: 0.0,
                q: home.clone(),
                qd: vec![0.0; 6],
                qdd: vec![0.0; 6],
            },
            pb::TrajectoryPoint {
                t: 0.1,
                q: home.clone(),
                qd: vec![0.0; 6],
                qdd: vec![0.0; 6],
            },
        ],
    };
    let robot = pb::RobotRequest {
        robot_id: ur.clone(),
    };
    let messages: Vec<Vec<u8>> = vec![
        pb::GetCellInfoRequest {}.encode_to_vec(),
        pb::FkRequest {
            robot_id: ur.clone(),
            joints: home.clone(),
            frame: String::new(),
        }
        .encode_to_vec(),
        pb::IkRequest {
            robot_id: ur.clone(),
            pose: Some(pose.clone()),
            seed: home.clone(),
            all_solutions: true,
            collision_free: true,
        }
        .encode_to_vec(),
        pb::CheckStateRequest {
            robot_id: ur.clone(),
            joints: home.clone(),
        }
        .encode_to_vec(),
        pb::AddObjectRequest {
            object: Some(object.clone()),
        }
        .encode_to_vec(),
        pb::MoveObjectRequest {
            name: "fuzz_box".into(),
            pose: object.pose.clone(),
        }
        .encode_to_vec(),
        pb::RemoveObjectRequest {
            name: "fuzz_box".into(),
        }
        .encode_to_vec(),
        pb::AttachObjectRequest {
            name: "fuzz_box".into(),
            robot_id: ur.clone(),
            link: "tool0".into(),
            touch_links: vec!["wrist_3_link".into()],
        }
        .encode_to_vec(),
        pb::DetachObjectRequest {
            name: "fuzz_box".into(),
        }
        .encode_to_vec(),
        plan.encode_to_vec(),
        pb::PlanBatchRequest {
            requests: vec![plan.clone(), plan.clone()],
        }
        .encode_to_vec(),
        pb::ValidateTrajectoryRequest {
            robot_id: ur.clone(),
            trajectory: Some(trajectory.clone()),
        }
        .encode_to_vec(),
        pb::PlanSequenceRequest {
            robot_id: ur.clone(),
            steps: vec![pb::SequenceStep {
                goal: Some(goal),
                motion: pb::MotionType::Ptp as i32,
                ..pb::SequenceStep::default()
            }],
            ..pb::PlanSequenceRequest::default()
        }
        .encode_to_vec(),
        pb::ExecuteRequest {
            robot_id: ur.clone(),
            trajectory: Some(trajectory),
            world_version: 0,
            request_id: "fuzz".into(),
            lease: 0.5,
        }
        .encode_to_vec(),
        robot.encode_to_vec(),
        robot.encode_to_vec(),
        pb::StopRequest {
            robot_id: ur.clone(),
            immediate: false,
            reason: "fuzz".into(),
        }
        .encode_to_vec(),
        pb::SpeedOverrideRequest {
            robot_id: ur.clone(),
            speed_override: 0.5,
        }
        .encode_to_vec(),
        pb::JogRequest {
            robot_id: ur.clone(),
            joint_velocities: vec![0.01, 0.0, 0.0, 0.0, 0.0, 0.0],
            twist: Vec::new(),
            deadman: 0.05,
        }
        .encode_to_vec(),
        robot.encode_to_vec(),
        pb::StreamStateRequest {
            robot_ids: vec![ur.clone()],
            rate_hz: 100.0,
        }
        .encode_to_vec(),
        pb::LoopHealthRequest {
            robot_id: ur.clone(),
            reset: false,
        }
        .encode_to_vec(),
        pb::HeartbeatRequest {
            robot_id: ur,
            execution_id: 1,
        }
        .encode_to_vec(),
        pb::StreamEventsRequest { after_seq: 0 }.encode_to_vec(),
    ];
    let mut seeds = Vec::with_capacity(2 * messages.len());
    for (i, body) in messages.into_iter().enumerate() {
        let Ok(selector) = u8::try_from(i) else {
            continue;
        };
        let mut plain = vec![selector];
        plain.extend_from_slice(&body);
        let mut timed = vec![selector | 0x80, 4];
        timed.extend_from_slice(b"500m");
        timed.extend_from_slice(&body);
        seeds.push(plain);
        seeds.push(timed);
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_a_seed_and_a_number_for_every_rpc_of_the_service() {
        let proto = include_str!("../proto/cella/v1/cella.proto");
        let declared: Vec<&str> = proto
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("rpc "))
            .filter_map(|l| l.split('(').next())
            .collect();
        let mut numbered = RPCS.to_vec();
        numbered.sort_unstable();
        let mut declared_sorted = declared.clone();
        declared_sorted.sort_unstable();
        assert_eq!(numbered, declared_sorted, "RPCS must number every RPC once");
        assert_eq!(service_seeds().len(), 2 * RPCS.len());
    }
}
