#![allow(clippy::unwrap_used)]
//! The cell's safety authority over gRPC, one test per sequence that once drove two bodies
//! into each other, hid a carried part, stuck or killed the service, or stopped without
//! saying why (issue 22); an independent monitor ([`common::monitor`]) follows the robots
//! where motion is involved.

mod common;

use cella_proto::v1 as pb;
use common::monitor::Monitor;
use common::{cell_info, client, sphere, start};
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::Code;

type Client = pb::cell_service_client::CellServiceClient<tonic::transport::Channel>;

fn joints_goal(q: &[f64]) -> pb::Goal {
    pb::Goal {
        kind: Some(pb::goal::Kind::Joints(pb::JointValues {
            values: q.to_vec(),
        })),
    }
}

fn named(name: &str) -> pb::Goal {
    pb::Goal {
        kind: Some(pb::goal::Kind::NamedPose(name.into())),
    }
}

async fn plan(
    c: &mut Client,
    robot: &str,
    goal: pb::Goal,
) -> Result<pb::PlanResponse, tonic::Status> {
    c.plan(pb::PlanRequest {
        robot_id: robot.into(),
        goals: vec![goal],
        ..Default::default()
    })
    .await
    .map(tonic::Response::into_inner)
}

async fn execute(c: &mut Client, robot: &str, p: &pb::PlanResponse) -> Result<u64, tonic::Status> {
    c.execute(pb::ExecuteRequest {
        robot_id: robot.into(),
        trajectory: p.trajectory.clone(),
        world_version: p.world_version,
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner().execution_id)
}

async fn state(c: &mut Client, robot: &str) -> pb::RobotState {
    let mut s = c
        .stream_state(pb::StreamStateRequest {
            robot_ids: vec![robot.into()],
            rate_hz: 200.0,
        })
        .await
        .unwrap()
        .into_inner();
    s.next().await.unwrap().unwrap()
}

/// Waits until `robot` is idle (or faulted); returns its state.
async fn settle(c: &mut Client, robot: &str) -> pb::RobotState {
    for _ in 0..3000 {
        let s = state(c, robot).await;
        if s.status == pb::RobotStatus::Idle as i32 || s.status == pb::RobotStatus::Fault as i32 {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("robot '{robot}' did not come to rest");
}

async fn check(c: &mut Client, robot: &str, joints: &[f64]) -> pb::CheckStateResponse {
    c.check_state(pb::CheckStateRequest {
        robot_id: robot.into(),
        joints: joints.to_vec(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn tcp(c: &mut Client, robot: &str, joints: &[f64], frame: &str) -> pb::Pose {
    c.compute_fk(pb::FkRequest {
        robot_id: robot.into(),
        joints: joints.to_vec(),
        frame: frame.into(),
    })
    .await
    .unwrap()
    .into_inner()
    .pose
    .unwrap()
}

fn at(p: [f64; 3]) -> pb::Pose {
    pb::Pose {
        position: p.to_vec(),
        quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
    }
}

/// The next stop on the event stream (within 5 s).
async fn next_event(events: &mut tonic::Streaming<pb::StopEvent>) -> pb::StopEvent {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// Every robot can plan home and get there.
async fn all_go_home(c: &mut Client) {
    for robot in ["ur5e", "kuka"] {
        settle(c, robot).await;
        let p = plan(c, robot, named("home"))
            .await
            .unwrap_or_else(|e| panic!("{robot} cannot plan home: {e:?}"));
        let id = execute(c, robot, &p).await.unwrap();
        let end = settle(c, robot).await;
        assert_eq!(end.execution_id, id);
        assert_eq!(
            end.outcome,
            pb::ExecutionOutcome::Completed as i32,
            "{robot}"
        );
    }
}

async fn finish(monitor: Monitor) {
    let f = monitor.finish().await;
    assert!(f.instants > 20, "the monitor saw {} instants", f.instants);
    assert!(
        f.violations.is_empty(),
        "{:#?}",
        &f.violations[..f.violations.len().min(5)]
    );
}

/// Item 1: a jog into the shared space, then a plan and execution of the other robot into the
/// same spot: never in contact, never stuck.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jog_and_an_execution_into_one_spot_never_meet_and_nothing_sticks() {
    let s = start().await;
    let mut c = client(&s).await;
    let monitor = Monitor::start(&s.url, cella_cell::DEMO_CELL, 500.0).await;
    // the KUKA jogs its first axis round towards the UR5e's side (it faces the UR5e)
    let kuka_jog = async {
        let mut c = client(&s).await;
        let mut accepted = 0;
        for _ in 0..40 {
            if c.jog(pb::JogRequest {
                robot_id: "kuka".into(),
                joint_velocities: vec![0.0, 0.4, 0.0, 0.0, 0.0, 0.0],
                twist: vec![],
                deadman: 0.2,
            })
            .await
            .is_ok()
            {
                accepted += 1;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        accepted
    };
    // meanwhile the UR5e reaches to the middle of the table, over the conveyor
    let ur = async {
        let mut c = client(&s).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let goal = vec![0.0, -0.9, 1.0, -1.6, -1.57, 0.0];
        let mut started = 0;
        for _ in 0..5 {
            if let Ok(p) = plan(&mut c, "ur5e", joints_goal(&goal)).await
                && execute(&mut c, "ur5e", &p).await.is_ok()
            {
                started += 1;
                settle(&mut c, "ur5e").await;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        started
    };
    let (jogs, _) = tokio::join!(kuka_jog, ur);
    assert!(jogs > 0, "the jog was never accepted");
    settle(&mut c, "kuka").await;
    let k = state(&mut c, "kuka").await;
    assert!(
        check(&mut c, "kuka", &k.positions).await.valid,
        "the KUKA ended where it collides"
    );
    all_go_home(&mut c).await;
    finish(monitor).await;
}

/// Items 2 and 3: a part attached to the KUKA is the KUKA's (not the robot with a link of
/// the same name), every other robot's check and plan sees it, and it is dropped where the
/// KUKA holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_carried_by_one_robot_is_seen_by_the_other_and_stays_its_carriers() {
    let s = start().await;
    let mut c = client(&s).await;
    let ur_home = state(&mut c, "ur5e").await.positions;
    let ur_tcp = tcp(&mut c, "ur5e", &ur_home, "").await;
    let tool = ur_tcp.position.clone();
    // a ball 12 cm below the UR5e's tool, carried by the KUKA's tool0 (both robots have one)
    let centre = [tool[0], tool[1], tool[2] - 0.12];
    c.add_object(pb::AddObjectRequest {
        object: Some(sphere("ball", 0.03, at(centre))),
    })
    .await
    .unwrap();
    c.attach_object(pb::AttachObjectRequest {
        name: "ball".into(),
        robot_id: "kuka".into(),
        link: "tool0".into(),
        touch_links: vec![],
    })
    .await
    .unwrap();
    let info = cell_info(&mut c).await;
    let ball = info.objects.iter().find(|o| o.name == "ball").unwrap();
    assert_eq!(ball.attached_to_robot, "kuka");
    assert_eq!(ball.attached_to_link, "tool0");
    // the UR5e's tool moved into the ball: its check says so, its plan there is refused
    let ik = c
        .compute_ik(pb::IkRequest {
            robot_id: "ur5e".into(),
            pose: Some(pb::Pose {
                position: centre.to_vec(),
                quaternion_xyzw: ur_tcp.quaternion_xyzw.clone(),
            }),
            seed: ur_home.clone(),
            all_solutions: false,
            collision_free: false,
        })
        .await
        .unwrap()
        .into_inner();
    let into = ik.solutions[0].values.clone();
    let verdict = check(&mut c, "ur5e", &into).await;
    assert!(
        !verdict.valid,
        "the UR5e's check does not see the KUKA's part"
    );
    assert!(
        verdict.collisions.iter().any(|p| p.b == "kuka/ball"),
        "{:?}",
        verdict.collisions
    );
    let e = plan(&mut c, "ur5e", joints_goal(&into)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    // the UR5e's own state is unaffected: it carries nothing
    assert!(check(&mut c, "ur5e", &ur_home).await.valid);
    // the KUKA moves; the ball goes with its tool0 and is dropped there
    let kuka_home = state(&mut c, "kuka").await.positions;
    let before = tcp(&mut c, "kuka", &kuka_home, "tool0").await;
    let goal = vec![0.3, -1.3, 1.4, 0.0, 0.6, 0.0];
    let p = plan(&mut c, "kuka", joints_goal(&goal)).await.unwrap();
    execute(&mut c, "kuka", &p).await.unwrap();
    let end = settle(&mut c, "kuka").await;
    let after = tcp(&mut c, "kuka", &end.positions, "tool0").await;
    c.detach_object(pb::DetachObjectRequest {
        name: "ball".into(),
    })
    .await
    .unwrap();
    let info = cell_info(&mut c).await;
    let ball = info.objects.iter().find(|o| o.name == "ball").unwrap();
    assert!(ball.attached_to_robot.is_empty());
    let iso = |p: &pb::Pose| {
        let q = &p.quaternion_xyzw;
        nalgebra::Isometry3::from_parts(
            nalgebra::Translation3::new(p.position[0], p.position[1], p.position[2]),
            nalgebra::UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(
                q[3], q[0], q[1], q[2],
            )),
        )
    };
    let expected = iso(&after) * iso(&before).inverse() * iso(&at(centre));
    let dropped = iso(ball.pose.as_ref().unwrap());
    assert!(
        (expected.translation.vector - dropped.translation.vector).norm() < 1e-6,
        "dropped at {:?}, the KUKA holds it at {:?}",
        dropped.translation.vector,
        expected.translation.vector
    );
    // a part put where it would touch the other robot is refused, naming it
    c.add_object(pb::AddObjectRequest {
        object: Some(sphere(
            "touching",
            0.05,
            at([tool[0], tool[1], tool[2] - 0.02]),
        )),
    })
    .await
    .unwrap();
    let e = c
        .attach_object(pb::AttachObjectRequest {
            name: "touching".into(),
            robot_id: "kuka".into(),
            link: "tool0".into(),
            touch_links: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("ur5e"), "{}", e.message());
    let e = c
        .attach_object(pb::AttachObjectRequest {
            name: "ball".into(),
            robot_id: String::new(),
            link: "tool0".into(),
            touch_links: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

/// Item 4: an object added ahead of a moving robot stops it as fast as its limits allow; the
/// execution ends STOPPED with the reason, the edit's response and the event stream name it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intrusion_stops_the_motion_and_every_channel_says_why() {
    let s = start().await;
    let mut c = client(&s).await;
    let mut events = c
        .stream_events(pb::StreamEventsRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let goal = [1.2, -1.1, 1.2, 0.8, 1.0, 1.5];
    let p = plan(&mut c, "kuka", joints_goal(&goal)).await.unwrap();
    let points = &p.trajectory.as_ref().unwrap().points;
    let late = &points[points.len() * 3 / 4];
    let ahead = tcp(&mut c, "kuka", &late.q, "").await;
    let id = execute(&mut c, "kuka", &p).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let edit = c
        .add_object(pb::AddObjectRequest {
            object: Some(sphere("intruder", 0.06, ahead)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(edit.stopped.len(), 1, "{:?}", edit.stopped);
    let stop = &edit.stopped[0];
    assert_eq!(stop.robot_id, "kuka");
    assert_eq!(stop.execution_id, id);
    assert_eq!(stop.cause, pb::StopCause::WorldEdit as i32);
    assert!(stop.reason.contains("intruder"), "{}", stop.reason);
    let end = settle(&mut c, "kuka").await;
    assert_eq!(end.execution_id, id);
    assert_eq!(end.outcome, pb::ExecutionOutcome::Stopped as i32);
    assert!(end.progress < 1.0);
    assert!(end.stop_reason.contains("intruder"), "{}", end.stop_reason);
    let event = next_event(&mut events).await;
    assert_eq!(event, *stop);
    // a client's stop is logged with its reason too
    let p = plan(
        &mut c,
        "ur5e",
        joints_goal(&[0.8, -1.2, 1.2, -1.6, -1.57, 0.0]),
    )
    .await
    .unwrap();
    let id = execute(&mut c, "ur5e", &p).await.unwrap();
    c.stop(pb::StopRequest {
        robot_id: "ur5e".into(),
        immediate: false,
        reason: "operator".into(),
    })
    .await
    .unwrap();
    let end = settle(&mut c, "ur5e").await;
    assert_eq!(end.execution_id, id);
    assert!(end.stop_reason.contains("operator"), "{}", end.stop_reason);
    let event = next_event(&mut events).await;
    assert_eq!(event.cause, pb::StopCause::Client as i32);
    assert_eq!(event.robot_id, "ur5e");
    // and so is a stop of every robot (an empty robot id)
    let back = plan(
        &mut c,
        "ur5e",
        joints_goal(&[-0.8, -1.2, 1.2, -1.6, -1.57, 0.0]),
    )
    .await
    .unwrap();
    let id = execute(&mut c, "ur5e", &back).await.unwrap();
    c.stop(pb::StopRequest {
        robot_id: String::new(),
        immediate: false,
        reason: "light curtain".into(),
    })
    .await
    .unwrap();
    let end = settle(&mut c, "ur5e").await;
    assert_eq!(end.execution_id, id);
    assert_eq!(end.outcome, pb::ExecutionOutcome::Stopped as i32);
    assert!(
        end.stop_reason.contains("every robot") && end.stop_reason.contains("light curtain"),
        "{}",
        end.stop_reason
    );
    let event = next_event(&mut events).await;
    assert_eq!(event.execution_id, id);
    assert!(event.reason.contains("light curtain"), "{}", event.reason);
}

/// Item 5: a table removed and added again keeps the robots' mounting; an object's own
/// allowed contacts are data the API sets and reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_added_table_keeps_the_mounting_and_objects_declare_their_contacts() {
    let s = start().await;
    let mut c = client(&s).await;
    let table = cell_info(&mut c)
        .await
        .objects
        .into_iter()
        .find(|o| o.name == "table")
        .unwrap();
    c.remove_object(pb::RemoveObjectRequest {
        name: "table".into(),
    })
    .await
    .unwrap();
    c.add_object(pb::AddObjectRequest {
        object: Some(pb::WorldObject {
            allowed_contacts: vec![],
            ..table.clone()
        }),
    })
    .await
    .unwrap();
    let goal = [0.8, -1.2, 1.2, -1.6, -1.57, 0.0];
    let p = plan(&mut c, "ur5e", joints_goal(&goal)).await.unwrap();
    execute(&mut c, "ur5e", &p).await.unwrap();
    assert_eq!(
        settle(&mut c, "ur5e").await.outcome,
        pb::ExecutionOutcome::Completed as i32
    );
    // a fixture touching the UR5e's tool is a collision unless it allows that link
    let q = state(&mut c, "ur5e").await.positions;
    let tool = tcp(&mut c, "ur5e", &q, "").await;
    let mut fixture = sphere("rest", 0.02, tool.clone());
    c.add_object(pb::AddObjectRequest {
        object: Some(fixture.clone()),
    })
    .await
    .unwrap();
    let hit = check(&mut c, "ur5e", &q).await;
    assert!(!hit.valid);
    let links: Vec<String> = hit.collisions.iter().map(|p| p.a.clone()).collect();
    c.remove_object(pb::RemoveObjectRequest {
        name: "rest".into(),
    })
    .await
    .unwrap();
    fixture.allowed_contacts = links
        .iter()
        .map(|l| pb::AllowedContact {
            robot_id: "ur5e".into(),
            link: l.clone(),
        })
        .collect();
    c.add_object(pb::AddObjectRequest {
        object: Some(fixture.clone()),
    })
    .await
    .unwrap();
    assert!(check(&mut c, "ur5e", &q).await.valid, "allowed {links:?}");
    let info = cell_info(&mut c).await;
    let rest = info.objects.iter().find(|o| o.name == "rest").unwrap();
    assert_eq!(rest.allowed_contacts, fixture.allowed_contacts);
    // the KUKA has links of the same names: it is not allowed to touch the fixture
    let e = c
        .add_object(pb::AddObjectRequest {
            object: Some(pb::WorldObject {
                name: "bad".into(),
                allowed_contacts: vec![pb::AllowedContact {
                    robot_id: "ur5e".into(),
                    link: "no_such_link".into(),
                }],
                ..fixture.clone()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("allowed_contacts[0].link"),
        "{}",
        e.message()
    );
}

/// Items 7 and 8: Execute checks the joint names, refuses once the client's deadline has
/// passed, and a retry with the same request id never starts a second motion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_checks_joint_names_deadlines_and_retries() {
    let s = start().await;
    let mut c = client(&s).await;
    let p = plan(
        &mut c,
        "ur5e",
        joints_goal(&[0.8, -1.2, 1.2, -1.6, -1.57, 0.0]),
    )
    .await
    .unwrap();
    // a UR5e trajectory does not run on the KUKA (both have six joints)
    let e = execute(&mut c, "kuka", &p).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("trajectory.joint_names"),
        "{}",
        e.message()
    );
    // a deadline that has passed: nothing starts
    let mut late = tonic::Request::new(pb::ExecuteRequest {
        robot_id: "ur5e".into(),
        trajectory: p.trajectory.clone(),
        ..Default::default()
    });
    // the deadline as the server receives it (a client timer could fire before sending)
    late.metadata_mut()
        .insert("grpc-timeout", "1n".parse().unwrap());
    let e = c.execute(late).await.unwrap_err();
    // refused by the service, or cut by the transport's own timer: either way not started
    assert!(
        matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{e:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let st = state(&mut c, "ur5e").await;
    assert_eq!(
        st.execution_id, 0,
        "an execution started after its deadline"
    );
    // the same request id twice: one motion, one answer
    let request = pb::ExecuteRequest {
        robot_id: "ur5e".into(),
        trajectory: p.trajectory.clone(),
        request_id: "move-42".into(),
        ..Default::default()
    };
    let first = c.execute(request.clone()).await.unwrap().into_inner();
    let again = c.execute(request.clone()).await.unwrap().into_inner();
    assert_eq!(first, again);
    let end = settle(&mut c, "ur5e").await;
    assert_eq!(end.execution_id, first.execution_id);
    let third = c.execute(request).await.unwrap().into_inner();
    assert_eq!(
        third, first,
        "a retry after the motion ended started it again"
    );
    assert_eq!(state(&mut c, "ur5e").await.execution_id, first.execution_id);
}

/// Item 9: an execution bound to its client by a lease stops when the client stops renewing
/// it, and runs to its end while renewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_stops_the_robot_and_a_renewed_one_does_not() {
    let s = start().await;
    let mut c = client(&s).await;
    let goal = [1.2, -1.1, 1.2, 0.8, 1.0, 1.5];
    let p = plan(&mut c, "kuka", joints_goal(&goal)).await.unwrap();
    let leased = |p: &pb::PlanResponse, lease: f64| pb::ExecuteRequest {
        robot_id: "kuka".into(),
        trajectory: p.trajectory.clone(),
        lease,
        ..Default::default()
    };
    // the client goes away: no heartbeat
    let id = {
        let mut gone = client(&s).await;
        gone.execute(leased(&p, 0.2))
            .await
            .unwrap()
            .into_inner()
            .execution_id
    };
    let end = settle(&mut c, "kuka").await;
    assert_eq!(end.execution_id, id);
    assert_eq!(end.outcome, pb::ExecutionOutcome::Stopped as i32);
    assert!(end.stop_reason.contains("lease"), "{}", end.stop_reason);
    // renewed every 50 ms: it completes
    let p = plan(&mut c, "kuka", named("home")).await.unwrap();
    let id = c
        // renewed every 50 ms against a 1 s lease: a busy machine does not make it lapse
        .execute(leased(&p, 1.0))
        .await
        .unwrap()
        .into_inner()
        .execution_id;
    loop {
        let st = state(&mut c, "kuka").await;
        if st.outcome != pb::ExecutionOutcome::Running as i32 {
            assert_eq!(
                st.outcome,
                pb::ExecutionOutcome::Completed as i32,
                "{}",
                st.stop_reason
            );
            break;
        }
        let _ = c
            .heartbeat(pb::HeartbeatRequest {
                robot_id: "kuka".into(),
                execution_id: id,
            })
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let e = c
        .heartbeat(pb::HeartbeatRequest {
            robot_id: "kuka".into(),
            execution_id: id,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
}

/// Item 10: override 0 holds an execution at its start (status HELD, not MOVING forever);
/// raising it lets the motion complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_zero_holds_the_next_execution_until_raised() {
    let s = start().await;
    let mut c = client(&s).await;
    c.set_speed_override(pb::SpeedOverrideRequest {
        robot_id: "kuka".into(),
        speed_override: 0.0,
    })
    .await
    .unwrap();
    let p = plan(
        &mut c,
        "kuka",
        joints_goal(&[1.2, -1.1, 1.2, 0.8, 1.0, 1.5]),
    )
    .await
    .unwrap();
    let id = execute(&mut c, "kuka", &p).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = state(&mut c, "kuka").await;
    assert_eq!(held.execution_id, id);
    assert_eq!(held.status, pb::RobotStatus::Held as i32);
    assert_eq!(held.trajectory_time, 0.0);
    c.set_speed_override(pb::SpeedOverrideRequest {
        robot_id: "kuka".into(),
        speed_override: 1.0,
    })
    .await
    .unwrap();
    let end = settle(&mut c, "kuka").await;
    assert_eq!(end.outcome, pb::ExecutionOutcome::Completed as i32);
}

/// Recovery: a robot an object was dropped on is told how to recover, may jog where its
/// clearance grows, and plans again once free; nothing needs a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_in_collision_jogs_out_and_plans_again() {
    let s = start().await;
    let mut c = client(&s).await;
    let kuka = state(&mut c, "kuka").await;
    let tool = tcp(&mut c, "kuka", &kuka.positions, "").await;
    c.add_object(pb::AddObjectRequest {
        object: Some(sphere("dropped", 0.03, tool.clone())),
    })
    .await
    .unwrap();
    let before = check(&mut c, "kuka", &kuka.positions).await;
    assert!(!before.valid);
    let e = plan(&mut c, "kuka", named("home")).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("jog"), "{}", e.message());
    // up, away from the sphere's centre: the clearance grows, so the jog is allowed
    let mut free = false;
    for _ in 0..60 {
        c.jog(pb::JogRequest {
            robot_id: "kuka".into(),
            joint_velocities: vec![],
            twist: vec![0.0, 0.0, 0.1, 0.0, 0.0, 0.0],
            deadman: 0.2,
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = state(&mut c, "kuka").await;
        if check(&mut c, "kuka", &now.positions).await.valid {
            free = true;
            break;
        }
    }
    assert!(free, "the jog did not get the KUKA out of the sphere");
    let out = settle(&mut c, "kuka").await;
    let after = check(&mut c, "kuka", &out.positions).await;
    assert!(after.valid && after.min_distance > before.min_distance);
    let p = plan(
        &mut c,
        "kuka",
        joints_goal(&[1.2, -1.1, 1.2, 0.8, 1.0, 1.5]),
    )
    .await
    .unwrap();
    execute(&mut c, "kuka", &p).await.unwrap();
    assert_eq!(
        settle(&mut c, "kuka").await.outcome,
        pb::ExecutionOutcome::Completed as i32
    );
}

async fn override_to(c: &mut Client, robot: &str, value: f64) {
    c.set_speed_override(pb::SpeedOverrideRequest {
        robot_id: robot.into(),
        speed_override: value,
    })
    .await
    .unwrap();
}

/// One round of [`a_motion_through_space_being_left_counts_on_it_and_brakes_when_it_fails`]:
/// the UR5e plans into the shared space while the KUKA, there now, goes home; `pause` pauses
/// the KUKA as soon as the UR5e is on its way. Returns the UR5e's end state and its plan.
async fn leaving_round(c: &mut Client, pause: bool) -> (pb::RobotState, pb::PlanResponse) {
    let over = vec![0.3, -0.9, 1.2, 0.0, 1.0, 0.0];
    let into = vec![0.0, -1.2, 1.2, -1.6, -1.57, 0.0];
    // the UR5e turned away (its way in is then long), the KUKA over the conveyor
    let h = std::f64::consts::FRAC_PI_2;
    let away = vec![-2.0, -h, h, -h, -h, 0.0];
    let p = plan(c, "ur5e", joints_goal(&away)).await.unwrap();
    execute(c, "ur5e", &p).await.unwrap();
    let p = plan(c, "kuka", joints_goal(&over)).await.unwrap();
    execute(c, "kuka", &p).await.unwrap();
    settle(c, "ur5e").await;
    settle(c, "kuka").await;
    // the KUKA leaves at 30 % speed: it counts as that pace
    override_to(c, "kuka", 0.3).await;
    let home = plan(c, "kuka", named("home")).await.unwrap();
    assert!(home.assumptions.is_empty());
    let kuka_id = execute(c, "kuka", &home).await.unwrap();
    let p = c
        .plan(pb::PlanRequest {
            robot_id: "ur5e".into(),
            goals: vec![joints_goal(&into)],
            velocity_scale: 0.2,
            acceleration_scale: 0.2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.assumptions.len(), 1, "{:?}", p.assumptions);
    let a = &p.assumptions[0];
    assert_eq!((a.robot_id.as_str(), a.execution_id), ("kuka", kuka_id));
    assert!(a.brake_at < a.gate_at, "{a:?}");
    let started = c
        .execute(pb::ExecuteRequest {
            robot_id: "ur5e".into(),
            trajectory: p.trajectory.clone(),
            world_version: p.world_version,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.assumptions.len(), 1);
    assert_eq!(started.assumptions[0].robot_id, "kuka");
    if pause {
        c.pause(pb::RobotRequest {
            robot_id: "kuka".into(),
        })
        .await
        .unwrap();
    }
    let end = settle(c, "ur5e").await;
    assert_eq!(end.execution_id, started.execution_id);
    override_to(c, "kuka", 1.0).await;
    (end, p)
}

/// Time-aware reservations: while the KUKA leaves the shared space, the UR5e plans into it.
/// The plan says what it counts on, Execute says it again; when the KUKA then falls behind
/// (paused in the shared space), the UR5e brakes before it and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_motion_through_space_being_left_counts_on_it_and_brakes_when_it_fails() {
    let s = start().await;
    let mut c = client(&s).await;
    let monitor = Monitor::start(&s.url, cella_cell::DEMO_CELL, 500.0).await;
    let mut events = c
        .stream_events(pb::StreamEventsRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    // on time: both complete
    let (end, _) = leaving_round(&mut c, false).await;
    assert_eq!(end.outcome, pb::ExecutionOutcome::Completed as i32);
    settle(&mut c, "kuka").await;
    let p = plan(&mut c, "ur5e", named("home")).await.unwrap();
    execute(&mut c, "ur5e", &p).await.unwrap();
    settle(&mut c, "ur5e").await;
    // late: the KUKA pauses in the shared space, the UR5e brakes before it
    let (end, stale) = leaving_round(&mut c, true).await;
    assert_eq!(end.outcome, pb::ExecutionOutcome::Stopped as i32);
    assert!(end.stop_reason.contains("kuka"), "{}", end.stop_reason);
    let e = next_event(&mut events).await;
    assert_eq!(e.robot_id, "ur5e");
    assert_eq!(e.cause, pb::StopCause::ReservationLate as i32);
    // what the plan counted on no longer holds: executing it again is refused
    let here = state(&mut c, "ur5e").await.positions;
    assert!(check(&mut c, "ur5e", &here).await.valid);
    let again = c
        .execute(pb::ExecuteRequest {
            robot_id: "ur5e".into(),
            trajectory: stale.trajectory,
            world_version: stale.world_version,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    c.resume(pb::RobotRequest {
        robot_id: "kuka".into(),
    })
    .await
    .unwrap();
    all_go_home(&mut c).await;
    finish(monitor).await;
}
