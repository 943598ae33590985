#![allow(clippy::unwrap_used)]
//! The audit trail (`cella serve --audit FILE`): the intent of a command is on disk before the
//! command takes effect, refused commands get outcome lines with their status, the caller's
//! identity is recorded and its credentials never are; `cella audit` filters and prints it.

mod common;

use cella_control::{ControlOptions, Driver, DriverError, JointCommand, MeasuredState, SimDriver};
use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use cella_proto::v1::cell_service_server::CellServiceServer;
use cella_server::CellServer;
use cella_server::audit::AuditLog;
use cella_server::identity::{Identity, Role};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::{Code, Request, Status};

const TOKEN: &str = "s3cret-operator-token-do-not-log";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cella-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The lines of an audit file, parsed.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The lines of RPC `rpc` in `phase`.
fn of<'a>(lines: &'a [Value], rpc: &str, phase: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["rpc"] == rpc && l["phase"] == phase)
        .collect()
}

/// Stands in for the authentication layer: the bearer token `TOKEN` is the operator
/// "cell-hmi"; anything else is refused.
#[allow(clippy::result_large_err)]
fn authenticate(mut r: Request<()>) -> Result<Request<()>, Status> {
    let bearer = format!("Bearer {TOKEN}");
    match r
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        Some(t) if t == bearer => {
            r.extensions_mut().insert(Identity {
                name: "cell-hmi".into(),
                role: Role::Operator,
            });
            Ok(r)
        }
        _ => Err(Status::unauthenticated("no token")),
    }
}

/// Serves `service` on 127.0.0.1:0 behind [`authenticate`]; returns its URL and the sender
/// that stops it.
async fn serve(service: CellServer) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(CellServiceServer::with_interceptor(service, authenticate))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (url, stop)
}

type AuthClient = CellServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        fn(Request<()>) -> Result<Request<()>, Status>,
    >,
>;

#[allow(clippy::result_large_err)]
fn with_token(mut r: Request<()>) -> Result<Request<()>, Status> {
    let value = format!("Bearer {TOKEN}").parse().unwrap();
    r.metadata_mut().insert("authorization", value);
    Ok(r)
}

async fn client(url: &str) -> AuthClient {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    CellServiceClient::with_interceptor(channel, with_token as fn(_) -> _)
}

/// A simulated controller that, the first time it is commanded away from where it started,
/// reads the audit file and hands its text over: what was on disk when the robot started to
/// move.
struct Watching {
    inner: SimDriver,
    start: Vec<f64>,
    audit: PathBuf,
    seen: Option<mpsc::Sender<String>>,
}

impl Driver for Watching {
    fn dof(&self) -> usize {
        self.inner.dof()
    }

    fn read(&mut self, out: &mut MeasuredState) -> Result<(), DriverError> {
        self.inner.read(out)
    }

    fn command(&mut self, command: &JointCommand, dt: f64) -> Result<(), DriverError> {
        let moved = command
            .q
            .as_slice()
            .iter()
            .zip(&self.start)
            .any(|(q, s)| (q - s).abs() > 1e-9);
        if moved && let Some(tx) = self.seen.take() {
            let _ = tx.send(std::fs::read_to_string(&self.audit).unwrap_or_default());
        }
        self.inner.command(command, dt)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intent_of_an_execute_is_on_disk_before_the_robot_moves() {
    let dir = scratch("order");
    let path = dir.join("audit.jsonl");
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let mut tx = Some(tx);
    let drivers = cell
        .robots
        .iter()
        .map(|r| {
            Box::new(Watching {
                inner: SimDriver::new(&r.joints),
                start: r.joints.clone(),
                audit: path.clone(),
                seen: if r.id == "ur5e" { tx.take() } else { None },
            }) as Box<dyn Driver>
        })
        .collect();
    let options = ControlOptions {
        realtime: false,
        ..ControlOptions::default()
    };
    let service = CellServer::with_drivers(cell, 1, drivers, options)
        .unwrap()
        .with_audit(AuditLog::open(&path).unwrap());
    let (url, _stop) = serve(service).await;
    let mut c = client(&url).await;
    let plan = c
        .plan(pb::PlanRequest {
            robot_id: "ur5e".into(),
            goals: vec![pb::Goal {
                kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                    values: vec![0.8, -1.2, 1.4, -1.8, -1.57, 0.3],
                })),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let started = c
        .execute(pb::ExecuteRequest {
            robot_id: "ur5e".into(),
            trajectory: plan.trajectory,
            world_version: plan.world_version,
            request_id: "job-42".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let on_disk = tokio::task::spawn_blocking(move || {
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("the robot never moved")
    })
    .await
    .unwrap();
    let at_start: Vec<Value> = on_disk
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let intent = of(&at_start, "Execute", "intent");
    assert_eq!(intent.len(), 1, "{on_disk}");
    assert_eq!(intent[0]["robot"], "ur5e");
    assert_eq!(intent[0]["request_id"], "job-42");
    assert_eq!(intent[0]["planned_version"], plan.world_version);
    // the outcome names the execution, with the same sequence number
    let all = lines(&path);
    let outcome = of(&all, "Execute", "outcome");
    assert_eq!(outcome.len(), 1, "{all:?}");
    assert_eq!(outcome[0]["seq"], intent[0]["seq"]);
    assert_eq!(outcome[0]["outcome"], "ok");
    assert_eq!(outcome[0]["execution_id"], started.execution_id);
    assert_eq!(outcome[0]["world_version"], plan.world_version);
    let _ = c
        .stop(pb::StopRequest {
            robot_id: "ur5e".into(),
            immediate: true,
            reason: String::new(),
        })
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_commands_have_outcomes_and_no_credential_is_written() {
    let dir = scratch("refused");
    let path = dir.join("audit.jsonl");
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let options = ControlOptions {
        realtime: false,
        ..ControlOptions::default()
    };
    let service = CellServer::new(cell, 1, options)
        .unwrap()
        .with_audit(AuditLog::open(&path).unwrap());
    let (url, _stop) = serve(service).await;
    let mut c = client(&url).await;
    let code = |r: Result<tonic::Response<pb::CommandResponse>, Status>| r.unwrap_err().code();
    assert_eq!(
        code(
            c.pause(pb::RobotRequest {
                robot_id: "nope".into()
            })
            .await
        ),
        Code::NotFound
    );
    let moved = c
        .move_object(pb::MoveObjectRequest {
            name: "ghost".into(),
            pose: Some(pb::Pose {
                position: vec![0.0, 0.0, 1.0],
                quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
            }),
        })
        .await;
    assert_eq!(moved.unwrap_err().code(), Code::NotFound);
    let added = c
        .add_object(pb::AddObjectRequest {
            object: Some(pb::WorldObject {
                name: "shapeless".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_eq!(added.unwrap_err().code(), Code::InvalidArgument);
    let executed = c
        .execute(pb::ExecuteRequest {
            robot_id: "ur5e".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(executed.unwrap_err().code(), Code::InvalidArgument);
    c.set_speed_override(pb::SpeedOverrideRequest {
        robot_id: "kuka".into(),
        speed_override: 0.5,
    })
    .await
    .unwrap();
    // not audited: a lease renewal
    let _ = c
        .heartbeat(pb::HeartbeatRequest {
            robot_id: "ur5e".into(),
            execution_id: 999,
        })
        .await;
    // a jog sequence: its first command is audited, not the ones that keep it going
    let mut states = c
        .stream_state(pb::StreamStateRequest {
            robot_ids: vec!["ur5e".into()],
            rate_hz: 200.0,
        })
        .await
        .unwrap()
        .into_inner();
    let jog = pb::JogRequest {
        robot_id: "ur5e".into(),
        joint_velocities: vec![0.05, 0.0, 0.0, 0.0, 0.0, 0.0],
        twist: vec![],
        deadman: 1.0,
    };
    c.jog(jog.clone()).await.unwrap();
    while let Some(s) = states.next().await {
        if s.unwrap().status == pb::RobotStatus::Jogging as i32 {
            break;
        }
    }
    c.jog(jog.clone()).await.unwrap();
    c.jog(jog).await.unwrap();
    c.stop(pb::StopRequest {
        robot_id: String::new(),
        immediate: false,
        reason: "end of test".into(),
    })
    .await
    .unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(TOKEN) && !text.contains("s3cret"), "{text}");
    assert!(!text.to_lowercase().contains("bearer"), "{text}");
    let all = lines(&path);
    assert!(of(&all, "Heartbeat", "intent").is_empty(), "{text}");
    assert_eq!(of(&all, "Jog", "intent").len(), 1, "{text}");
    for l in &all {
        assert_eq!(l["who"], "cell-hmi", "{l}");
        assert_eq!(l["role"], "operator", "{l}");
        assert!(l["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{l}");
        assert!(l["time"].as_str().unwrap().ends_with('Z'), "{l}");
        assert!(l["unix"].as_f64().unwrap() > 1.6e9, "{l}");
    }
    // every intent has its outcome, in order
    let intents: Vec<&Value> = all.iter().filter(|l| l["phase"] == "intent").collect();
    let outcomes: Vec<&Value> = all.iter().filter(|l| l["phase"] == "outcome").collect();
    assert_eq!(intents.len(), 7, "{text}");
    assert_eq!(
        intents.iter().map(|l| &l["seq"]).collect::<Vec<_>>(),
        outcomes.iter().map(|l| &l["seq"]).collect::<Vec<_>>()
    );
    for o in &outcomes {
        assert!(o["world_version"].as_u64().is_some(), "{o}");
    }
    let refused = |rpc: &str| of(&all, rpc, "outcome")[0].clone();
    for (rpc, code) in [
        ("Pause", "NOT_FOUND"),
        ("MoveObject", "NOT_FOUND"),
        ("AddObject", "INVALID_ARGUMENT"),
        ("Execute", "INVALID_ARGUMENT"),
    ] {
        let o = refused(rpc);
        assert_eq!(o["outcome"], "error", "{o}");
        assert_eq!(o["code"], code, "{o}");
        assert!(!o["message"].as_str().unwrap().is_empty(), "{o}");
    }
    assert_eq!(refused("Pause")["robot"], "nope");
    assert_eq!(refused("MoveObject")["object"], "ghost");
    assert_eq!(refused("SetSpeedOverride")["outcome"], "ok");
    assert_eq!(refused("SetSpeedOverride")["speed_override"], 0.5);
    let stop = refused("Stop");
    assert_eq!(
        (&stop["robot"], &stop["outcome"]),
        (&"*".into(), &"ok".into())
    );
    assert_eq!(stop["reason"], "end of test");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `cella audit FILE ARGS --json`; the sequence numbers of its lines.
fn audit_seqs(file: &Path, args: &[&str]) -> Vec<u64> {
    let out = common::cella(&[&["audit", file.to_str().unwrap(), "--json"], args].concat());
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn cella_audit_filters_and_prints_the_trail() {
    let dir = scratch("cli");
    let file = dir.join("audit.jsonl");
    let day = |d: u32| format!("2025-01-0{d}T08:00:00.000Z");
    let unix = |d: u32| 1_735_718_400.0 + f64::from(d - 1) * 86_400.0;
    let line = |seq: u32, d: u32, phase: &str, who: &str, rest: &str| {
        format!(
            r#"{{"seq":{seq},"phase":"{phase}","time":"{}","unix":{},"who":"{who}","role":"operator","rpc":{rest}}}"#,
            day(d),
            unix(d)
        )
    };
    let text = [
        line(1, 1, "intent", "alice", r#""Execute","robot":"ur5e","request_id":"job-1""#),
        line(1, 1, "outcome", "alice", r#""Execute","robot":"ur5e","execution_id":1,"outcome":"ok","world_version":3"#),
        line(2, 2, "intent", "bob", r#""Stop","robot":"*""#),
        line(2, 2, "outcome", "bob", r#""Stop","robot":"*","outcome":"ok","world_version":3"#),
        line(3, 3, "intent", "alice", r#""AddObject","object":"box""#),
        line(3, 3, "outcome", "alice", r#""AddObject","object":"box","outcome":"error","code":"FAILED_PRECONDITION","message":"in the way","world_version":3"#),
        line(4, 4, "intent", "bob", r#""Pause","robot":"kuka""#),
        r#"{"seq":5,"pha"#.to_owned(),
    ]
    .join("\n");
    std::fs::write(&file, text).unwrap();
    assert_eq!(audit_seqs(&file, &[]), [1, 1, 2, 2, 3, 3, 4]);
    assert_eq!(audit_seqs(&file, &["--robot", "ur5e"]), [1, 1, 2, 2]);
    assert_eq!(audit_seqs(&file, &["--who", "alice"]), [1, 1, 3, 3]);
    assert_eq!(audit_seqs(&file, &["--rpc", "stop"]), [2, 2]);
    assert_eq!(audit_seqs(&file, &["--since", "2025-01-03"]), [3, 3, 4]);
    assert_eq!(
        audit_seqs(&file, &["--since", &format!("{}", unix(2)), "--who", "bob"]),
        [2, 2, 4]
    );
    assert_eq!(
        audit_seqs(
            &file,
            &["--since", "2025-01-04T09:00:00+01:00", "--rpc", "PAUSE"]
        ),
        [4]
    );
    // the table: one row per command, a header, what happened
    let out = common::cella(&["audit", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 5, "{table}");
    assert!(
        rows[0].starts_with("SEQ") && rows[0].contains("OUTCOME"),
        "{table}"
    );
    assert!(rows[1].contains("alice (operator)") && rows[1].contains("ok (execution 1)"));
    assert!(rows[2].contains("every robot"), "{table}");
    assert!(
        rows[3].contains("FAILED_PRECONDITION: in the way"),
        "{table}"
    );
    assert!(rows[4].contains("no outcome"), "{table}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 line(s)"));
    // bad input
    let bad = common::cella(&["audit", file.to_str().unwrap(), "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let missing = common::cella(&["audit", dir.join("none").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cella_serve_audit_writes_what_cella_audit_reads() {
    let dir = scratch("serve");
    let file = dir.join("audit.jsonl");
    let (mut child, url) = common::spawn_serve([
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--audit".as_ref(),
        file.as_os_str(),
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = CellServiceClient::connect(url).await.unwrap();
        c.remove_object(pb::RemoveObjectRequest {
            name: "part_bin".into(),
        })
        .await
        .unwrap();
        c.stop(pb::StopRequest {
            robot_id: "kuka".into(),
            immediate: false,
            reason: String::new(),
        })
        .await
        .unwrap();
    });
    let _ = child.kill();
    let _ = child.wait();
    let out = common::cella(&["audit", file.to_str().unwrap(), "--who", "local"]);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        table.contains("RemoveObject") && table.contains("object part_bin"),
        "{table}"
    );
    assert!(
        table.contains("local (admin)") && table.contains("Stop"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn after_a_rotation_and_sighup_the_trail_goes_on_in_a_new_file() {
    let dir = scratch("rotate");
    let file = dir.join("audit.jsonl");
    let rotated = dir.join("audit.jsonl.1");
    let (mut child, url) = common::spawn_serve([
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--audit".as_ref(),
        file.as_os_str(),
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stop = pb::StopRequest {
        robot_id: "kuka".into(),
        immediate: false,
        reason: "rotation test".into(),
    };
    rt.block_on(async {
        let mut c = CellServiceClient::connect(url).await.unwrap();
        c.remove_object(pb::RemoveObjectRequest {
            name: "part_bin".into(),
        })
        .await
        .unwrap();
        // the rotator moves the file away and tells the server
        std::fs::rename(&file, &rotated).unwrap();
        let hup = std::process::Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(hup.success());
        // commands go on; once the server has reopened, they land in the new file
        let bound = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !file.exists() {
            assert!(std::time::Instant::now() < bound, "no new audit file");
            c.stop(stop.clone()).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        c.stop(stop.clone()).await.unwrap();
    });
    // the server lived through the SIGHUP
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP ended the server"
    );
    let _ = child.kill();
    let _ = child.wait();
    let (old, new) = (lines(&rotated), lines(&file));
    assert_eq!(old[0]["rpc"], "RemoveObject");
    assert!(!new.is_empty());
    // one trail across the two files: the sequence goes on where the old file ended
    let seqs: Vec<u64> = old
        .iter()
        .chain(&new)
        .filter(|l| l["phase"] == "intent")
        .map(|l| l["seq"].as_u64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "sequence across the rotation: {seqs:?}"
    );
    // `cella audit` reads the rotated file and the new one as one trail, nothing unpaired
    let out = common::cella(&[
        "audit",
        rotated.to_str().unwrap(),
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.lines().count(), old.len() + new.len(), "{printed}");
    let _ = std::fs::remove_dir_all(&dir);
}
