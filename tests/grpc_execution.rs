#![allow(clippy::unwrap_used)]
//! Execution over gRPC end to end: plan then execute with the live state streamed, refusals
//! with proper codes, stop, a subscriber that never reads, loop health.

mod common;

use cella_proto::v1 as pb;
use common::{cell_info, client, sphere, start};
use tokio_stream::StreamExt;
use tonic::Code;

const KUKA_GOAL: [f64; 6] = [1.2, -1.1, 1.2, 0.8, 1.0, 1.5];

type Client = cella_proto::v1::cell_service_client::CellServiceClient<tonic::transport::Channel>;

async fn plan_to(c: &mut Client, robot: &str, goal: &[f64]) -> pb::PlanResponse {
    c.plan(pb::PlanRequest {
        robot_id: robot.into(),
        goals: vec![pb::Goal {
            kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                values: goal.to_vec(),
            })),
        }],
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

/// The TCP pose (world frame) of `robot` at `joints`.
async fn tcp(c: &mut Client, robot: &str, joints: Vec<f64>) -> pb::Pose {
    c.compute_fk(pb::FkRequest {
        robot_id: robot.into(),
        joints,
        frame: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
    .pose
    .unwrap()
}

/// The state stream of `robot` at `rate_hz`.
async fn states(c: &mut Client, robot: &str, rate_hz: f64) -> tonic::Streaming<pb::RobotState> {
    c.stream_state(pb::StreamStateRequest {
        robot_ids: vec![robot.into()],
        rate_hz,
    })
    .await
    .unwrap()
    .into_inner()
}

/// Executes `plan` on `robot`; returns the execution id.
async fn execute(c: &mut Client, robot: &str, plan: pb::PlanResponse) -> u64 {
    c.execute(pb::ExecuteRequest {
        robot_id: robot.into(),
        trajectory: plan.trajectory,
        world_version: plan.world_version,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .execution_id
}

/// Reads the stream until execution `id` has an outcome; returns every state seen for it.
async fn follow(stream: &mut tonic::Streaming<pb::RobotState>, id: u64) -> Vec<pb::RobotState> {
    let mut seen = Vec::new();
    while let Some(s) = stream.next().await {
        let s = s.unwrap();
        if s.execution_id != id {
            continue;
        }
        let done = s.outcome != pb::ExecutionOutcome::Running as i32;
        seen.push(s);
        if done {
            break;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_execute_and_stream_until_completed() {
    let s = start().await;
    let mut c = client(&s).await;
    let plan = plan_to(&mut c, "kuka", &KUKA_GOAL).await;
    let mut stream = states(&mut c, "kuka", 200.0).await;
    let started = c
        .execute(pb::ExecuteRequest {
            robot_id: "kuka".into(),
            trajectory: plan.trajectory.clone(),
            world_version: plan.world_version,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(started.duration > 0.1);
    let seen = follow(&mut stream, started.execution_id).await;
    let last = seen.last().unwrap();
    assert_eq!(last.outcome, pb::ExecutionOutcome::Completed as i32);
    assert_eq!(last.status, pb::RobotStatus::Idle as i32);
    for (a, b) in last.positions.iter().zip(KUKA_GOAL) {
        assert!((a - b).abs() < 1e-9);
    }
    // progress only grows and some states were seen while moving
    assert!(seen.windows(2).all(|w| w[1].progress >= w[0].progress));
    assert!(
        seen.iter()
            .any(|s| s.status == pb::RobotStatus::Moving as i32)
    );
    // the TCP pose streamed is the FK of the streamed joints
    let fk = c
        .compute_fk(pb::FkRequest {
            robot_id: "kuka".into(),
            joints: last.positions.clone(),
            frame: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fk.pose, last.tcp_pose);
    // the cell reports the robot where it now is; planning starts there
    let info = cell_info(&mut c).await;
    let kuka = info.robots.iter().find(|r| r.id == "kuka").unwrap();
    assert_eq!(kuka.current.as_ref().unwrap().values, last.positions);
    let back = plan_to(&mut c, "kuka", &kuka.named_poses["home"].values).await;
    assert_eq!(
        back.trajectory.as_ref().unwrap().points[0].q,
        last.positions,
        "the next plan starts where the robot is"
    );
    // the same (already executed) trajectory no longer starts at the robot
    let again = c
        .execute(pb::ExecuteRequest {
            robot_id: "kuka".into(),
            trajectory: plan.trajectory,
            world_version: plan.world_version,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        again.code(),
        Code::FailedPrecondition,
        "{}",
        again.message()
    );
    assert!(
        again.message().contains("does not start"),
        "{}",
        again.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_made_before_a_world_edit_that_now_collides_is_refused() {
    let s = start().await;
    let mut c = client(&s).await;
    let plan = plan_to(&mut c, "kuka", &KUKA_GOAL).await;
    // a fixture placed where the TCP passes halfway
    let pts = &plan.trajectory.as_ref().unwrap().points;
    let mid = tcp(&mut c, "kuka", pts[pts.len() / 2].q.clone()).await;
    let edit = c
        .add_object(pb::AddObjectRequest {
            object: Some(sphere("fixture", 0.06, mid)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(edit.world_version > plan.world_version);
    let e = c
        .execute(pb::ExecuteRequest {
            robot_id: "kuka".into(),
            trajectory: plan.trajectory,
            world_version: plan.world_version,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("fixture"), "{}", e.message());
    assert!(e.message().contains("world version"), "{}", e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_motion_at_rest_and_a_stalled_subscriber_delays_nothing() {
    let s = start().await;
    let mut c = client(&s).await;
    // a subscriber at 1 kHz that never reads
    let mut stalled = client(&s).await;
    let _never_read = stalled
        .stream_state(pb::StreamStateRequest {
            robot_ids: vec![],
            rate_hz: 1000.0,
        })
        .await
        .unwrap()
        .into_inner();
    let before = c
        .get_loop_health(pb::LoopHealthRequest {
            robot_id: "kuka".into(),
            reset: false,
        })
        .await
        .unwrap()
        .into_inner()
        .robots[0]
        .cycles;
    let plan = plan_to(&mut c, "kuka", &KUKA_GOAL).await;
    let mut stream = states(&mut c, "kuka", 100.0).await;
    let id = execute(&mut c, "kuka", plan).await;
    // stop once it is a third of the way
    loop {
        let st = stream.next().await.unwrap().unwrap();
        if st.execution_id == id && st.progress > 0.3 {
            break;
        }
    }
    c.stop(pb::StopRequest {
        robot_id: String::new(),
        immediate: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let seen = follow(&mut stream, id).await;
    let last = seen.last().unwrap();
    assert_eq!(last.outcome, pb::ExecutionOutcome::Stopped as i32);
    assert!(last.progress < 1.0);
    assert!(last.velocities.iter().all(|v| *v == 0.0));
    // the loop kept cycling while the stalled subscriber's buffer was full
    let health = c
        .get_loop_health(pb::LoopHealthRequest {
            robot_id: String::new(),
            reset: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.robots.len(), 2);
    let kuka = health.robots.iter().find(|r| r.robot_id == "kuka").unwrap();
    assert_eq!(kuka.period_us, 4000.0);
    assert!(
        kuka.cycles > before + 50,
        "{} cycles after {before}",
        kuka.cycles
    );
    assert!(kuka.jitter_max_us >= kuka.jitter_p99_us && kuka.jitter_p99_us >= kuka.jitter_p50_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_execution_requests_get_proper_codes() {
    let s = start().await;
    let mut c = client(&s).await;
    let code =
        |r: Result<tonic::Response<pb::CommandResponse>, tonic::Status>| r.unwrap_err().code();
    assert_eq!(
        code(
            c.pause(pb::RobotRequest {
                robot_id: "kuka".into()
            })
            .await
        ),
        Code::FailedPrecondition,
        "nothing to pause"
    );
    assert_eq!(
        code(
            c.pause(pb::RobotRequest {
                robot_id: "nobody".into()
            })
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.set_speed_override(pb::SpeedOverrideRequest {
                robot_id: "kuka".into(),
                speed_override: 1.5
            })
            .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            c.jog(pb::JogRequest {
                robot_id: "kuka".into(),
                joint_velocities: vec![0.1; 6],
                twist: vec![0.0; 6],
                deadman: 0.1
            })
            .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            c.jog(pb::JogRequest {
                robot_id: "kuka".into(),
                joint_velocities: vec![0.1; 6],
                twist: vec![],
                deadman: 5.0
            })
            .await
        ),
        Code::InvalidArgument
    );
    let e = c
        .stream_state(pb::StreamStateRequest {
            robot_ids: vec![],
            rate_hz: 5000.0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .execute(pb::ExecuteRequest {
            robot_id: "kuka".into(),
            trajectory: Some(pb::Trajectory {
                joint_names: vec![],
                points: vec![pb::TrajectoryPoint {
                    t: 0.0,
                    q: vec![0.0, f64::NAN, 0.0, 0.0, 0.0, 0.0],
                    qd: vec![0.0; 6],
                    qdd: vec![0.0; 6],
                }],
            }),
            world_version: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("points[0].q"), "{}", e.message());
    // a joint jog moves the robot's first joint, forward, and it stops by itself after the
    // deadman: 0.2 rad/s for 0.1 s is 0.02 rad (a blocked or ignored jog moves nothing)
    let mut stream = states(&mut c, "kuka", 200.0).await;
    let before = stream.next().await.unwrap().unwrap();
    assert_eq!(before.status, pb::RobotStatus::Idle as i32);
    c.jog(pb::JogRequest {
        robot_id: "kuka".into(),
        joint_velocities: vec![0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
        twist: vec![],
        deadman: 0.1,
    })
    .await
    .unwrap();
    let mut jogged = false;
    let after = loop {
        let st = stream.next().await.unwrap().unwrap();
        jogged |= st.status == pb::RobotStatus::Jogging as i32;
        if jogged && st.status == pb::RobotStatus::Idle as i32 {
            break st;
        }
    };
    assert!(!after.jog_blocked);
    let moved = after.positions[0] - before.positions[0];
    // the executor counts the deadman from when it takes the command; ramps at equal
    // acceleration cancel, so it moves 0.2 rad/s for 0.1 s give or take 3 cycles of 4 ms
    // (fewer when cycles overran on a loaded machine: never more)
    assert!(
        moved > 0.0 && moved <= 0.2 * (0.1 + 3.0 * 0.004),
        "joint 1 moved {moved} rad"
    );
    for i in 1..6 {
        assert_eq!(after.positions[i], before.positions[i], "joint {}", i + 1);
    }
}

#[test]
fn cella_exec_plans_executes_and_reports_the_outcome() {
    // the server binds a free port itself and says which: no port is released and retaken
    struct Serving(std::process::Child);
    impl Drop for Serving {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let (child, url) = common::spawn_serve(["--addr", "127.0.0.1:0"]);
    let server = Serving(child);
    let out = common::cella(&[
        "exec",
        "--server",
        &url,
        "--robot",
        "ur5e",
        "--goal",
        "0.8,-1.2,1.4,-1.8,-1.57,0.3",
        "--speed-override",
        "0.7",
        "--json",
    ]);
    // a LIN planned through the CLI client from where the robot now is
    let lin = common::cella(&[
        "plan",
        "--server",
        &url,
        "--robot",
        "ur5e",
        "--goal",
        "0.6,-1.3,1.5,-1.8,-1.57,0.3",
        "--motion",
        "lin",
        "--json",
    ]);
    drop(server);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lin: serde_json::Value = serde_json::from_slice(&lin.stdout).unwrap_or_default();
    assert_eq!(lin["solved"], true, "{lin}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outcome"], "completed");
    let q: Vec<f64> = v["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    for (a, b) in q.iter().zip([0.8, -1.2, 1.4, -1.8, -1.57, 0.3]) {
        assert!((a - b).abs() < 1e-9, "{q:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_edit_into_a_running_motion_stops_it_on_its_path() {
    let s = start().await;
    let mut c = client(&s).await;
    let plan = plan_to(&mut c, "kuka", &KUKA_GOAL).await;
    let pts = plan.trajectory.as_ref().unwrap().points.clone();
    let ahead = tcp(&mut c, "kuka", pts[pts.len() * 4 / 5].q.clone()).await;
    c.set_speed_override(pb::SpeedOverrideRequest {
        robot_id: "kuka".into(),
        speed_override: 0.2,
    })
    .await
    .unwrap();
    let mut stream = states(&mut c, "kuka", 100.0).await;
    let id = execute(&mut c, "kuka", plan).await;
    c.add_object(pb::AddObjectRequest {
        object: Some(sphere("dropped_box", 0.05, ahead)),
    })
    .await
    .unwrap();
    let seen = follow(&mut stream, id).await;
    let last = seen.last().unwrap();
    assert_eq!(last.outcome, pb::ExecutionOutcome::Stopped as i32);
    assert!(last.progress < 0.8, "stopped at {}", last.progress);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lin_and_circ_plans_keep_the_tcp_on_the_line_and_execute() {
    let s = start().await;
    let mut c = client(&s).await;
    let info = cell_info(&mut c).await;
    let kuka = info.robots.iter().find(|r| r.id == "kuka").unwrap();
    let here = tcp(
        &mut c,
        "kuka",
        kuka.current.as_ref().unwrap().values.clone(),
    )
    .await;
    let p0 = here.position.clone();
    let mut target = here.clone();
    target.position = vec![p0[0] - 0.1, p0[1] + 0.2, p0[2] - 0.15];
    let plan = c
        .plan(pb::PlanRequest {
            robot_id: "kuka".into(),
            goals: vec![pb::Goal {
                kind: Some(pb::goal::Kind::Pose(target.clone())),
            }],
            motion: pb::MotionType::Lin as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let pts = &plan.trajectory.as_ref().unwrap().points;
    let d: Vec<f64> = (0..3).map(|i| target.position[i] - p0[i]).collect();
    let dd: f64 = d.iter().map(|x| x * x).sum();
    for p in pts.iter().step_by(5) {
        let pose = tcp(&mut c, "kuka", p.q.clone()).await;
        let x: Vec<f64> = (0..3).map(|i| pose.position[i] - p0[i]).collect();
        let sigma = (0..3).map(|i| x[i] * d[i]).sum::<f64>() / dd;
        let off: f64 = (0..3)
            .map(|i| (x[i] - sigma * d[i]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(off < 1e-4, "TCP {} mm off the line", off * 1e3);
    }
    let id = execute(&mut c, "kuka", plan).await;
    let mut stream = states(&mut c, "kuka", 100.0).await;
    let seen = follow(&mut stream, id).await;
    assert_eq!(
        seen.last().unwrap().outcome,
        pb::ExecutionOutcome::Completed as i32
    );
    // CIRC back through a via point; a CIRC without via or centre is refused
    let via = pb::Pose {
        position: vec![p0[0] - 0.02, p0[1] + 0.12, p0[2] - 0.05],
        quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
    };
    let circ = pb::PlanRequest {
        robot_id: "kuka".into(),
        goals: vec![pb::Goal {
            kind: Some(pb::goal::Kind::Pose(here.clone())),
        }],
        motion: pb::MotionType::Circ as i32,
        circ_via: Some(via),
        ..Default::default()
    };
    let plan = c.plan(circ.clone()).await.unwrap().into_inner();
    assert!(plan.trajectory.unwrap().points.len() > 10);
    let e = c
        .plan(pb::PlanRequest {
            circ_via: None,
            ..circ
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blended_sequence_is_planned_and_executed() {
    let s = start().await;
    let mut c = client(&s).await;
    let joints = |v: &[f64]| {
        Some(pb::Goal {
            kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                values: v.to_vec(),
            })),
        })
    };
    let g1 = [0.6, -1.3, 1.5, 0.3, 1.2, 0.2];
    let g2 = [0.3, -1.3, 1.6, 0.2, 0.9, 0.1];
    let p2 = tcp(&mut c, "kuka", g2.to_vec()).await;
    let mut lin_goal = p2.clone();
    lin_goal.position[2] -= 0.08;
    let request = pb::PlanSequenceRequest {
        robot_id: "kuka".into(),
        steps: vec![
            pb::SequenceStep {
                goal: joints(&g1),
                motion: pb::MotionType::Ptp as i32,
                blend_deviation: 0.1,
                ..Default::default()
            },
            pb::SequenceStep {
                goal: joints(&g2),
                motion: pb::MotionType::Ptp as i32,
                ..Default::default()
            },
            pb::SequenceStep {
                goal: Some(pb::Goal {
                    kind: Some(pb::goal::Kind::Pose(lin_goal)),
                }),
                motion: pb::MotionType::Lin as i32,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let plan = c.plan_sequence(request.clone()).await.unwrap().into_inner();
    let id = execute(&mut c, "kuka", plan).await;
    let mut stream = states(&mut c, "kuka", 100.0).await;
    let seen = follow(&mut stream, id).await;
    assert_eq!(
        seen.last().unwrap().outcome,
        pb::ExecutionOutcome::Completed as i32
    );
    // a malformed step is named
    let mut bad = request;
    bad.steps[1].goal = joints(&[0.0; 5]);
    bad.start = g1.to_vec();
    let e = c.plan_sequence(bad).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("steps[1]"), "{}", e.message());
}
