#![allow(clippy::unwrap_used)]
//! Bounds and degenerate motions over gRPC on the demo cell (UR5e and KUKA KR6 on one table),
//! one test per item of the user's report:
//! - item 6: sizes that follow from client input are refused before anything is allocated,
//!   INVALID_ARGUMENT for a value that would make the motion last for ages, RESOURCE_EXHAUSTED
//!   for a result larger than allowed, naming the field;
//! - item 11: LIN and CIRC goals turned by tiny angles (1e-4 rad was "a configuration flip");
//! - item 12: a plan to where the robot already is executes and completes;
//! - and names: the goal a plan reaches and its refusals name the request's goal (not one of
//!   the IK solutions a TCP pose goal stands for), sequence refusals the step and the field as
//!   the proto spells it.

use cella_proto::v1 as pb;
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion, Vector3};
use std::f64::consts::FRAC_PI_2;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;

mod common;
use common::{cell_info, client, sphere, start};

type Client = pb::cell_service_client::CellServiceClient<tonic::transport::Channel>;

fn joints(q: &[f64]) -> pb::Goal {
    pb::Goal {
        kind: Some(pb::goal::Kind::Joints(pb::JointValues {
            values: q.to_vec(),
        })),
    }
}

fn pose_goal(p: &Isometry3<f64>) -> pb::Goal {
    pb::Goal {
        kind: Some(pb::goal::Kind::Pose(pose_msg(p))),
    }
}

fn pose_msg(p: &Isometry3<f64>) -> pb::Pose {
    let q = p.rotation.quaternion();
    pb::Pose {
        position: p.translation.vector.iter().copied().collect(),
        quaternion_xyzw: vec![q.i, q.j, q.k, q.w],
    }
}

fn pose_of(p: &pb::Pose) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(p.position[0], p.position[1], p.position[2]),
        UnitQuaternion::from_quaternion(Quaternion::new(
            p.quaternion_xyzw[3],
            p.quaternion_xyzw[0],
            p.quaternion_xyzw[1],
            p.quaternion_xyzw[2],
        )),
    )
}

/// The robot's current joints.
async fn current(c: &mut Client, robot: &str) -> Vec<f64> {
    let info = cell_info(c).await;
    let r = info.robots.iter().find(|r| r.id == robot).unwrap();
    r.current.as_ref().unwrap().values.clone()
}

/// The TCP pose (world frame) of `robot` at `q`.
async fn tcp(c: &mut Client, robot: &str, q: &[f64]) -> Isometry3<f64> {
    let fk = c
        .compute_fk(pb::FkRequest {
            robot_id: robot.into(),
            joints: q.to_vec(),
            frame: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    pose_of(fk.pose.as_ref().unwrap())
}

/// The field of the first BadRequest violation of `e`.
fn field(e: &tonic::Status) -> String {
    e.get_error_details()
        .bad_request()
        .unwrap_or_else(|| panic!("no field violation: {e:?}"))
        .field_violations[0]
        .field
        .clone()
}

/// Checks that `e` has `code` and names `expected` (message prefix and field violation).
fn names(e: &tonic::Status, code: Code, expected: &str) {
    assert_eq!(e.code(), code, "{}", e.message());
    assert!(
        e.message().starts_with(&format!("{expected}: ")),
        "{}",
        e.message()
    );
    assert_eq!(field(e), expected);
}

const KUKA_G1: [f64; 6] = [0.6, -1.3, 1.5, 0.3, 1.2, 0.2];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_from_client_input_are_bounded_and_name_the_field() {
    let s = start().await;
    let mut c = client(&s).await;
    let home = current(&mut c, "kuka").await;
    let here = tcp(&mut c, "kuka", &home).await;
    let lin_goal = Isometry3::from_parts(
        Translation3::from(here.translation.vector + Vector3::new(0.0, 0.12, 0.0)),
        here.rotation,
    );
    let lin = |limits: pb::CartesianLimits, period: f64| pb::PlanRequest {
        robot_id: "kuka".into(),
        goals: vec![pose_goal(&lin_goal)],
        motion: pb::MotionType::Lin as i32,
        cartesian_limits: Some(limits),
        period,
        ..Default::default()
    };
    // the report: 1e-9 m/s aborted the server allocating 40 GB
    let e = c
        .plan(lin(
            pb::CartesianLimits {
                linear_velocity: 1e-9,
                ..Default::default()
            },
            0.0,
        ))
        .await
        .unwrap_err();
    names(
        &e,
        Code::InvalidArgument,
        "cartesian_limits.linear_velocity",
    );
    assert!(
        e.message()
            .contains("1e-9 m/s would make at least a 1.20e8 s motion, longer than the 3600 s allowed; raise it"),
        "{}",
        e.message()
    );
    // within the hour but 2.4 million samples at half a millisecond
    let e = c
        .plan(lin(
            pb::CartesianLimits {
                linear_velocity: 1e-4,
                ..Default::default()
            },
            0.0005,
        ))
        .await
        .unwrap_err();
    names(
        &e,
        Code::ResourceExhausted,
        "cartesian_limits.linear_velocity",
    );
    // the report: velocity_scale 1e-9 was INTERNAL, 1e-5 burned seconds and half a gigabyte
    let ptp = |motion: pb::MotionType, velocity_scale: f64, period: f64| pb::PlanRequest {
        robot_id: "kuka".into(),
        goals: vec![joints(&KUKA_G1)],
        motion: motion as i32,
        velocity_scale,
        period,
        ..Default::default()
    };
    for motion in [pb::MotionType::Ptp, pb::MotionType::Free] {
        for scale in [1e-9, 1e-5] {
            let e = c.plan(ptp(motion, scale, 0.0)).await.unwrap_err();
            names(&e, Code::InvalidArgument, "velocity_scale");
        }
        let e = c.plan(ptp(motion, 1e-3, 0.0005)).await.unwrap_err();
        names(&e, Code::ResourceExhausted, "velocity_scale");
        assert!(e.message().contains("or the period"), "{}", e.message());
    }
    // LIN with the scale: the scale is named
    let e = c
        .plan(pb::PlanRequest {
            velocity_scale: 1e-9,
            ..lin(pb::CartesianLimits::default(), 0.0)
        })
        .await
        .unwrap_err();
    names(&e, Code::InvalidArgument, "velocity_scale");
    // a LIN step 150 m away at 10 m/s: 15 s, but 150 000 IK steps (a Plan request resolves
    // its pose goals by IK first and refuses it as unreachable; a sequence step does not)
    let far = Isometry3::from_parts(
        Translation3::from(here.translation.vector + Vector3::new(150.0, 0.0, 0.0)),
        here.rotation,
    );
    let e = c
        .plan_sequence(pb::PlanSequenceRequest {
            robot_id: "kuka".into(),
            steps: vec![pb::SequenceStep {
                goal: Some(pose_goal(&far)),
                motion: pb::MotionType::Lin as i32,
                ..Default::default()
            }],
            cartesian_limits: Some(pb::CartesianLimits {
                linear_velocity: 10.0,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    names(&e, Code::ResourceExhausted, "steps[0].goal");
    assert!(e.message().contains("IK steps"), "{}", e.message());

    // sequences: the scale, and the samples of the whole sequence
    let hold = || pb::SequenceStep {
        goal: Some(pose_goal(&here)),
        motion: pb::MotionType::Lin as i32,
        ..Default::default()
    };
    let ptp_step = |q: &[f64]| pb::SequenceStep {
        goal: Some(joints(q)),
        motion: pb::MotionType::Ptp as i32,
        ..Default::default()
    };
    let e = c
        .plan_sequence(pb::PlanSequenceRequest {
            robot_id: "kuka".into(),
            steps: vec![ptp_step(&KUKA_G1), ptp_step(&home)],
            velocity_scale: 1e-9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    names(&e, Code::InvalidArgument, "velocity_scale");
    // 64 steps each within the bounds, far more samples in all: there and back 32 times at a
    // twentieth of the speed and half a millisecond, the runs kept apart by LINs to where the
    // arm is
    let mut steps = Vec::new();
    for _ in 0..16 {
        steps.extend([ptp_step(&KUKA_G1), ptp_step(&home), hold()]);
    }
    steps.truncate(63);
    steps.push(ptp_step(&KUKA_G1));
    let e = c
        .plan_sequence(pb::PlanSequenceRequest {
            robot_id: "kuka".into(),
            steps,
            period: 0.0005,
            velocity_scale: 0.05,
            acceleration_scale: 0.05,
            ..Default::default()
        })
        .await
        .unwrap_err();
    names(&e, Code::ResourceExhausted, "velocity_scale");
    assert!(
        e.message()
            .contains("the whole sequence may take 100000 samples"),
        "{}",
        e.message()
    );

    // a batch answers each item with its own code
    let batch = c
        .plan_batch(pb::PlanBatchRequest {
            requests: vec![
                lin(
                    pb::CartesianLimits {
                        linear_velocity: 1e-9,
                        ..Default::default()
                    },
                    0.0,
                ),
                ptp(pb::MotionType::Ptp, 1e-3, 0.0005),
                ptp(pb::MotionType::Ptp, 1.0, 0.0),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<i32> = batch.items.iter().map(|i| i.code).collect();
    assert_eq!(
        codes,
        [
            Code::InvalidArgument as i32,
            Code::ResourceExhausted as i32,
            Code::Ok as i32
        ]
    );
    assert!(
        batch.items[0]
            .message
            .starts_with("cartesian_limits.linear_velocity: ")
    );
    // and the server still serves
    let ok = c
        .plan(ptp(pb::MotionType::Ptp, 1.0, 0.0))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.trajectory.unwrap().points.len() > 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lin_and_circ_goals_turned_by_tiny_angles_are_planned() {
    let s = start().await;
    let mut c = client(&s).await;
    let angles = [0.0, 1e-6, 1e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3];
    let axes = [
        Vector3::x_axis(),
        Vector3::y_axis(),
        Vector3::z_axis(),
        nalgebra::Unit::new_normalize(Vector3::new(1.0, -2.0, 0.5)),
    ];
    for robot in ["kuka", "ur5e"] {
        let q = current(&mut c, robot).await;
        let here = tcp(&mut c, robot, &q).await;
        let p = here.translation.vector;
        // a quarter circle of 5 cm in the horizontal plane, about its centre
        let centre = p + Vector3::new(0.0, 0.05, 0.0);
        let arc_end = centre + Vector3::new(0.05, 0.0, 0.0);
        for axis in axes {
            for angle in angles {
                let turn = UnitQuaternion::from_axis_angle(&axis, angle);
                // turned about the world's axes, and about the tool's
                for rotation in [turn * here.rotation, here.rotation * turn] {
                    let what = format!("{robot} turned {angle:e} rad about {:?}", axis.as_slice());
                    let lin = pb::PlanRequest {
                        robot_id: robot.into(),
                        goals: vec![pose_goal(&Isometry3::from_parts(
                            here.translation,
                            rotation,
                        ))],
                        motion: pb::MotionType::Lin as i32,
                        ..Default::default()
                    };
                    let plan = c
                        .plan(lin)
                        .await
                        .unwrap_or_else(|e| panic!("LIN {what}: {}", e.message()))
                        .into_inner();
                    assert!(plan.trajectory.unwrap().points.len() >= 2, "LIN {what}");
                    let circ = pb::PlanRequest {
                        robot_id: robot.into(),
                        goals: vec![pose_goal(&Isometry3::from_parts(
                            Translation3::from(arc_end),
                            rotation,
                        ))],
                        motion: pb::MotionType::Circ as i32,
                        circ_centre: Some(pose_msg(&Isometry3::translation(
                            centre.x, centre.y, centre.z,
                        ))),
                        ..Default::default()
                    };
                    let plan = c
                        .plan(circ)
                        .await
                        .unwrap_or_else(|e| panic!("CIRC {what}: {}", e.message()))
                        .into_inner();
                    let points = plan.trajectory.unwrap().points;
                    let last = tcp(&mut c, robot, &points[points.len() - 1].q).await;
                    assert!(
                        (last.translation.vector - arc_end).norm() < 1e-6,
                        "CIRC {what}"
                    );
                    assert!(last.rotation.angle_to(&rotation) < 1e-6, "CIRC {what}");
                }
            }
        }
        // tiny translations, with and without a tiny turn
        for distance in [1e-9, 1e-6, 1e-4] {
            for angle in [0.0, 1e-4, 3e-4] {
                let goal = Isometry3::from_parts(
                    Translation3::from(p + Vector3::new(0.6, -0.8, 0.0) * distance),
                    UnitQuaternion::from_axis_angle(&Vector3::z_axis(), angle) * here.rotation,
                );
                let plan = c
                    .plan(pb::PlanRequest {
                        robot_id: robot.into(),
                        goals: vec![pose_goal(&goal)],
                        motion: pb::MotionType::Lin as i32,
                        ..Default::default()
                    })
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{robot} LIN {distance:e} m, {angle:e} rad: {}", e.message())
                    })
                    .into_inner();
                assert!(plan.trajectory.unwrap().points.len() >= 2);
            }
        }
    }
}

/// Executes `plan` on `robot` and follows its state until the execution ends; returns the
/// last state seen.
async fn execute_to_the_end(c: &mut Client, robot: &str, plan: pb::PlanResponse) -> pb::RobotState {
    let points = &plan.trajectory.as_ref().unwrap().points;
    assert!(points.len() >= 2, "{} points", points.len());
    let id = c
        .execute(pb::ExecuteRequest {
            robot_id: robot.into(),
            trajectory: plan.trajectory,
            world_version: plan.world_version,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{robot}: Execute refused: {}", e.message()))
        .into_inner()
        .execution_id;
    let mut stream = c
        .stream_state(pb::StreamStateRequest {
            robot_ids: vec![robot.into()],
            rate_hz: 100.0,
        })
        .await
        .unwrap()
        .into_inner();
    while let Some(state) = stream.next().await {
        let state = state.unwrap();
        if state.execution_id == id && state.outcome != pb::ExecutionOutcome::Running as i32 {
            return state;
        }
    }
    panic!("the state stream ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_to_where_the_robot_is_executes_and_completes() {
    let s = start().await;
    let mut c = client(&s).await;
    for robot in ["kuka", "ur5e"] {
        let q = current(&mut c, robot).await;
        let here = tcp(&mut c, robot, &q).await;
        let p = here.translation.vector;
        let via = p + Vector3::new(0.03, 0.03, 0.0);
        let plan_to = |goal: pb::Goal, motion: pb::MotionType| pb::PlanRequest {
            robot_id: robot.into(),
            goals: vec![goal],
            motion: motion as i32,
            ..Default::default()
        };
        let requests = [
            ("PTP", plan_to(joints(&q), pb::MotionType::Ptp)),
            ("FREE", plan_to(joints(&q), pb::MotionType::Free)),
            ("LIN", plan_to(pose_goal(&here), pb::MotionType::Lin)),
            (
                "CIRC",
                pb::PlanRequest {
                    circ_via: Some(pose_msg(&Isometry3::translation(via.x, via.y, via.z))),
                    ..plan_to(pose_goal(&here), pb::MotionType::Circ)
                },
            ),
        ];
        for (what, request) in requests {
            let plan = c
                .plan(request)
                .await
                .unwrap_or_else(|e| panic!("{robot} {what}: {}", e.message()))
                .into_inner();
            let points = &plan.trajectory.as_ref().unwrap().points;
            assert_eq!(points.len(), 2, "{robot} {what}: held for one period");
            assert!(points[1].t > 0.0);
            let last = execute_to_the_end(&mut c, robot, plan).await;
            assert_eq!(
                last.outcome,
                pb::ExecutionOutcome::Completed as i32,
                "{robot} {what}"
            );
            for (a, b) in last.positions.iter().zip(&q) {
                assert!((a - b).abs() < 1e-6, "{robot} {what}: moved");
            }
        }
        // a sequence of steps to where it is
        let plan = c
            .plan_sequence(pb::PlanSequenceRequest {
                robot_id: robot.into(),
                steps: vec![
                    pb::SequenceStep {
                        goal: Some(joints(&q)),
                        motion: pb::MotionType::Ptp as i32,
                        ..Default::default()
                    },
                    pb::SequenceStep {
                        goal: Some(pose_goal(&here)),
                        motion: pb::MotionType::Lin as i32,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{robot} sequence: {}", e.message()))
            .into_inner();
        let last = execute_to_the_end(&mut c, robot, plan).await;
        assert_eq!(
            last.outcome,
            pb::ExecutionOutcome::Completed as i32,
            "{robot}"
        );
    }
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// A TCP pose goal stands for every IK solution of it: the answer names the request's goal
/// it reached (`goal_index`), and a refusal names the request's goal, not the place of a
/// state in the list of solutions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_goal_reached_and_refusals_name_the_request_goal() {
    let s = start().await;
    let mut c = client(&s).await;
    let home = current(&mut c, "kuka").await;
    let far = [2.5, -FRAC_PI_2, FRAC_PI_2, 0.0, FRAC_PI_2, 0.0];
    // the pose goal's solutions include KUKA_G1, far nearer home than `far`
    let pose = pose_goal(&tcp(&mut c, "kuka", &KUKA_G1).await);
    let request = |goals: Vec<pb::Goal>, motion: pb::MotionType| pb::PlanRequest {
        robot_id: "kuka".into(),
        goals,
        motion: motion as i32,
        ..Default::default()
    };
    for motion in [pb::MotionType::Free, pb::MotionType::Ptp] {
        let r = c
            .plan(request(vec![joints(&far), pose.clone()], motion))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.goal_index, 1, "{motion:?}");
        let end = r.trajectory.unwrap().points.last().unwrap().q.clone();
        assert!(distance(&end, &KUKA_G1) < 1e-6, "{motion:?}: {end:?}");
        let r = c
            .plan(request(vec![pose.clone(), joints(&far)], motion))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.goal_index, 0, "{motion:?}");
    }
    // a malformed goal after the pose goal is goals[1], however many solutions come before it
    let out_of_limits = [9.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    for bad in [&out_of_limits[..], &[0.0; 5]] {
        let e = c
            .plan(request(
                vec![pose.clone(), joints(bad)],
                pb::MotionType::Free,
            ))
            .await
            .unwrap_err();
        names(&e, Code::InvalidArgument, "goals[1]");
    }
    // the state PTP goes to (the nearest) is named as the request's goal too
    let mut start = home.clone();
    start[0] = 2.9;
    let mut beyond = home.clone();
    beyond[0] = 3.0;
    let e = c
        .plan(pb::PlanRequest {
            start,
            ..request(vec![pose.clone(), joints(&beyond)], pb::MotionType::Ptp)
        })
        .await
        .unwrap_err();
    names(&e, Code::InvalidArgument, "goals[1]");
    assert!(e.message().contains("joint_a1"), "{}", e.message());
}

/// PlanSequence refusals name the step, with the field as the proto spells it; a step that
/// collides is an answer (FAILED_PRECONDITION), not a malformed request; the client's deadline
/// is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_refusals_name_the_step_and_its_proto_field() {
    let s = start().await;
    let mut c = client(&s).await;
    let home = current(&mut c, "kuka").await;
    let here = tcp(&mut c, "kuka", &home).await.translation.vector;
    let there = tcp(&mut c, "kuka", &KUKA_G1).await;
    let sequence = |steps: Vec<pb::SequenceStep>| pb::PlanSequenceRequest {
        robot_id: "kuka".into(),
        steps,
        ..Default::default()
    };
    let ptp = |q: &[f64], blend: f64| pb::SequenceStep {
        goal: Some(joints(q)),
        motion: pb::MotionType::Ptp as i32,
        blend_deviation: blend,
        ..Default::default()
    };
    let circ = |via: Option<pb::Pose>, centre: Option<pb::Pose>| pb::SequenceStep {
        goal: Some(pose_goal(&there)),
        motion: pb::MotionType::Circ as i32,
        circ_via: via,
        circ_centre: centre,
        ..Default::default()
    };
    let point = |p: Vector3<f64>| pb::Pose {
        position: p.iter().copied().collect(),
        quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
    };
    let e = c
        .plan_sequence(sequence(vec![ptp(&KUKA_G1, -1.0), ptp(&home, 0.0)]))
        .await
        .unwrap_err();
    names(&e, Code::InvalidArgument, "steps[0].blend_deviation");
    // a via point on the line from the start to the goal, a centre at the start: no circle
    let on_the_line = (here + there.translation.vector) / 2.0;
    let cases = [
        (Some(point(on_the_line)), None, "steps[1].circ_via"),
        (None, Some(point(here)), "steps[1].circ_centre"),
        (None, None, "steps[1].circ_via"),
        (
            Some(pb::Pose {
                position: vec![0.0, 0.0],
                quaternion_xyzw: Vec::new(),
            }),
            None,
            "steps[1].circ_via.position",
        ),
    ];
    for (via, centre, field) in cases {
        let e = c
            .plan_sequence(sequence(vec![ptp(&home, 0.0), circ(via, centre)]))
            .await
            .unwrap_err();
        names(&e, Code::InvalidArgument, field);
    }
    // a malformed deadline is refused, not ignored
    let mut late = tonic::Request::new(sequence(vec![ptp(&KUKA_G1, 0.0)]));
    late.metadata_mut()
        .insert("grpc-timeout", "5s".parse().unwrap());
    let e = c.plan_sequence(late).await.unwrap_err();
    names(&e, Code::InvalidArgument, "grpc-timeout");
    // a ball halfway from home to G1: the second PTP step collides
    let halfway: Vec<f64> = home
        .iter()
        .zip(&KUKA_G1)
        .map(|(a, b)| 0.5 * (a + b))
        .collect();
    let ball = tcp(&mut c, "kuka", &halfway).await;
    c.add_object(pb::AddObjectRequest {
        object: Some(sphere("ball", 0.05, pose_msg(&ball))),
    })
    .await
    .unwrap();
    let e = c
        .plan_sequence(sequence(vec![ptp(&home, 0.0), ptp(&KUKA_G1, 0.0)]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{}", e.message());
    assert!(
        e.message().starts_with("steps[1]: motion collides") && e.message().contains("ball"),
        "{}",
        e.message()
    );
}
