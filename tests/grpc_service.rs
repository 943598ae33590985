#![allow(clippy::unwrap_used)]
//! The gRPC service end to end: a real server on 127.0.0.1:0 serving the demo cell, called
//! through the generated client. Every RPC, its error paths, and concurrent planning while the
//! world is edited.

use cella_proto::v1 as pb;
use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

mod common;
use common::{cell_info, client, start};

fn pose_of(p: &pb::Pose) -> nalgebra::Isometry3<f64> {
    nalgebra::Isometry3::from_parts(
        nalgebra::Translation3::new(p.position[0], p.position[1], p.position[2]),
        nalgebra::UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(
            p.quaternion_xyzw[3],
            p.quaternion_xyzw[0],
            p.quaternion_xyzw[1],
            p.quaternion_xyzw[2],
        )),
    )
}

fn home(info: &pb::CellInfo, id: &str) -> Vec<f64> {
    info.robots.iter().find(|r| r.id == id).unwrap().named_poses["home"]
        .values
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cell_info_fk_ik_and_check() {
    let s = start().await;
    let mut c = client(&s).await;
    let info = cell_info(&mut c).await;
    assert_eq!(info.world_version, 1);
    let ids: Vec<&str> = info.robots.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["ur5e", "kuka"]);
    assert_eq!(info.robots[1].joints.len(), 6);
    assert!(info.objects.iter().any(|o| o.name == "conveyor"));

    // FK in the world frame = base pose * library FK
    let q = vec![0.3, -1.2, 1.1, -0.4, -1.5, 0.2];
    let fk = c
        .compute_fk(pb::FkRequest {
            robot_id: "ur5e".into(),
            joints: q.clone(),
            frame: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let robot = cella_kinematics::library::load("ur5e").unwrap();
    let expected = nalgebra::Isometry3::translation(-0.6, 0.0, 0.75) * robot.fk(&q).unwrap();
    let got = pose_of(fk.pose.as_ref().unwrap());
    assert!((got.translation.vector - expected.translation.vector).norm() < 1e-12);
    assert!(got.rotation.angle_to(&expected.rotation) < 1e-12);

    // IK back to the same pose, every solution
    let ik = c
        .compute_ik(pb::IkRequest {
            robot_id: "ur5e".into(),
            pose: fk.pose.clone(),
            seed: q.clone(),
            all_solutions: true,
            collision_free: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ik.solutions.len() >= 2);
    assert!(
        ik.solutions[0]
            .values
            .iter()
            .zip(&q)
            .all(|(a, b)| (a - b).abs() < 1e-6),
        "nearest to the seed first"
    );
    for sol in &ik.solutions {
        let p = nalgebra::Isometry3::translation(-0.6, 0.0, 0.75) * robot.fk(&sol.values).unwrap();
        assert!((p.translation.vector - expected.translation.vector).norm() < 1e-6);
    }

    // the robots are free at home; pushing the UR5e's shoulder down into the table is not
    let free = c
        .check_state(pb::CheckStateRequest {
            robot_id: "ur5e".into(),
            joints: home(&info, "ur5e"),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(free.valid, "{:?}", free.collisions);
    assert!(free.min_distance > 0.0);
    let down = vec![0.0, 0.3, 0.0, 0.0, 0.0, 0.0];
    let hit = c
        .check_state(pb::CheckStateRequest {
            robot_id: "ur5e".into(),
            joints: down,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!hit.valid);
    assert!(
        hit.collisions.iter().any(|p| p.b == "table"),
        "{:?}",
        hit.collisions
    );
    assert!(hit.min_distance < 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_proper_codes_and_field_details() {
    let s = start().await;
    let mut c = client(&s).await;
    // NaN joint: INVALID_ARGUMENT with a field violation naming joints[1]
    let e = c
        .compute_fk(pb::FkRequest {
            robot_id: "ur5e".into(),
            joints: vec![0.0, f64::NAN, 0.0, 0.0, 0.0, 0.0],
            frame: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let details = e.get_error_details();
    let bad = details.bad_request().unwrap();
    assert_eq!(bad.field_violations[0].field, "joints[1]");
    // wrong joint count
    let e = c
        .compute_fk(pb::FkRequest {
            robot_id: "ur5e".into(),
            joints: vec![0.0; 3],
            frame: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // oversized lists and messages are refused, and the server keeps serving
    let e = c
        .compute_fk(pb::FkRequest {
            robot_id: "ur5e".into(),
            joints: vec![0.0; 200_000],
            frame: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    let e = c
        .compute_fk(pb::FkRequest {
            robot_id: "ur5e".into(),
            joints: vec![0.0; 2_200_000],
            frame: String::new(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e.code(), Code::OutOfRange | Code::ResourceExhausted),
        "17.6 MB message: {:?} {}",
        e.code(),
        e.message()
    );
    // unknown robot / object
    let e = c
        .check_state(pb::CheckStateRequest {
            robot_id: "nope".into(),
            joints: vec![0.0; 6],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c
        .remove_object(pb::RemoveObjectRequest {
            name: "ghost".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // a non-unit quaternion
    let e = c
        .compute_ik(pb::IkRequest {
            robot_id: "kuka".into(),
            pose: Some(pb::Pose {
                position: vec![0.3, 0.0, 1.2],
                quaternion_xyzw: vec![0.0, 0.0, 0.0, 2.0],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("quaternion"), "{}", e.message());
    // unreachable pose: FAILED_PRECONDITION
    let e = c
        .compute_ik(pb::IkRequest {
            robot_id: "kuka".into(),
            pose: Some(pb::Pose {
                position: vec![5.0, 0.0, 1.2],
                quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    // a bad object leaves the world untouched (still version 1)
    let e = c
        .add_object(pb::AddObjectRequest {
            object: Some(pb::WorldObject {
                name: "bad".into(),
                shape: Some(pb::Shape {
                    kind: Some(pb::shape::Kind::Sphere(pb::Sphere { radius: -1.0 })),
                }),
                pose: Some(pb::Pose {
                    position: vec![0.0; 3],
                    quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
                }),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let info = cell_info(&mut c).await;
    assert_eq!(info.world_version, 1);
    // planning from a start in collision: FAILED_PRECONDITION naming the links
    let e = c
        .plan(pb::PlanRequest {
            robot_id: "ur5e".into(),
            start: vec![0.0, 0.3, 0.0, 0.0, 0.0, 0.0],
            goals: vec![pb::Goal {
                kind: Some(pb::goal::Kind::NamedPose("home".into())),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("table"), "{}", e.message());
    // out-of-limit goal
    let e = c
        .plan(pb::PlanRequest {
            robot_id: "kuka".into(),
            goals: vec![pb::Goal {
                kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                    values: vec![9.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                })),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("joint_a1"), "{}", e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_edit_attach_and_validate() {
    let s = start().await;
    let mut c = client(&s).await;
    let info = cell_info(&mut c).await;
    let start_q = home(&info, "kuka");
    let goal = vec![0.8, -1.2, 1.4, 0.3, 1.0, -0.5];
    let resp = c
        .plan(pb::PlanRequest {
            robot_id: "kuka".into(),
            goals: vec![pb::Goal {
                kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                    values: goal.clone(),
                })),
            }],
            velocity_scale: 0.5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.world_version, 1);
    let traj = resp.trajectory.unwrap();
    let first = &traj.points[0];
    let last = traj.points.last().unwrap();
    assert_eq!(first.q, start_q);
    assert_eq!(last.q, goal);
    assert!(traj.points.windows(2).all(|w| w[1].t > w[0].t));
    // the service's own validator accepts it against the current world
    let v = c
        .validate_trajectory(pb::ValidateTrajectoryRequest {
            robot_id: "kuka".into(),
            trajectory: Some(traj.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.valid, "{}", v.reason);
    // a sphere on the path makes the same trajectory invalid, and names a new version
    let mid = &traj.points[traj.points.len() / 2].q;
    let tcp = c
        .compute_fk(pb::FkRequest {
            robot_id: "kuka".into(),
            joints: mid.clone(),
            frame: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pose
        .unwrap();
    let added = c
        .add_object(pb::AddObjectRequest {
            object: Some(pb::WorldObject {
                name: "intruder".into(),
                shape: Some(pb::Shape {
                    kind: Some(pb::shape::Kind::Sphere(pb::Sphere { radius: 0.05 })),
                }),
                pose: Some(tcp.clone()),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.world_version, 2);
    let v = c
        .validate_trajectory(pb::ValidateTrajectoryRequest {
            robot_id: "kuka".into(),
            trajectory: Some(traj),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!v.valid);
    assert_eq!(v.world_version, 2);
    // duplicate name rejected; move and remove bump the version
    assert!(
        c.add_object(pb::AddObjectRequest {
            object: Some(pb::WorldObject {
                name: "intruder".into(),
                shape: Some(pb::Shape {
                    kind: Some(pb::shape::Kind::Sphere(pb::Sphere { radius: 0.05 }))
                }),
                pose: Some(tcp.clone()),
                ..Default::default()
            })
        })
        .await
        .is_err()
    );
    let moved = c
        .move_object(pb::MoveObjectRequest {
            name: "intruder".into(),
            pose: Some(pb::Pose {
                position: vec![0.0, 0.45, 0.9],
                quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.world_version, 3);
    // attach to the KUKA flange, then detach
    let att = c
        .attach_object(pb::AttachObjectRequest {
            name: "intruder".into(),
            robot_id: "kuka".into(),
            link: "link_6".into(),
            touch_links: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(att.world_version, 4);
    let info = cell_info(&mut c).await;
    assert!(
        info.objects
            .iter()
            .any(|o| o.name == "intruder" && o.attached_to_robot == "kuka")
    );
    let e = c
        .attach_object(pb::AttachObjectRequest {
            name: "conveyor".into(),
            robot_id: "kuka".into(),
            link: "no_link".into(),
            touch_links: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let det = c
        .detach_object(pb::DetachObjectRequest {
            name: "intruder".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(det.world_version, 5);
    let removed = c
        .remove_object(pb::RemoveObjectRequest {
            name: "intruder".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.world_version, 6);
    // PTP: the straight joint motion; through an obstacle it fails saying where
    let ptp = c
        .plan(pb::PlanRequest {
            robot_id: "kuka".into(),
            goals: vec![pb::Goal {
                kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                    values: goal.clone(),
                })),
            }],
            motion: pb::MotionType::Ptp as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let pts = ptp.trajectory.unwrap().points;
    let (q0, q1) = (&pts[0].q, &pts.last().unwrap().q);
    for p in &pts {
        // every joint at the same fraction of its move: joint-synchronized, straight in joints
        let f = (p.q[0] - q0[0]) / (q1[0] - q0[0]);
        for j in 1..6 {
            if (q1[j] - q0[j]).abs() > 1e-6 {
                assert!(((p.q[j] - q0[j]) / (q1[j] - q0[j]) - f).abs() < 1e-9);
            }
        }
    }
    // batch: one good, one bad item
    let batch = c
        .plan_batch(pb::PlanBatchRequest {
            requests: vec![
                pb::PlanRequest {
                    robot_id: "kuka".into(),
                    goals: vec![pb::Goal {
                        kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                            values: goal.clone(),
                        })),
                    }],
                    ..Default::default()
                },
                pb::PlanRequest {
                    robot_id: "ghost".into(),
                    goals: vec![],
                    ..Default::default()
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.items[0].code, 0);
    assert_eq!(batch.items[1].code, Code::NotFound as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_exceeded_when_planning_outlives_the_client() {
    let s = start().await;
    let mut c = client(&s).await;
    // a ball on the TCP's way from home to a goal on the robot's other side: the direct
    // motion is blocked, so the planner must search, far longer than the 1 ms the client allows
    let robot = cella_kinematics::library::load("kuka_kr6_r700").unwrap();
    let base = nalgebra::Isometry3::from_parts(
        nalgebra::Translation3::new(0.6, 0.0, 0.75),
        nalgebra::UnitQuaternion::from_euler_angles(0.0, 0.0, std::f64::consts::PI),
    );
    let midway = vec![1.25, -FRAC_PI_2, FRAC_PI_2, 0.0, FRAC_PI_2, 0.0];
    let ball = (base * robot.fk(&midway).unwrap()).translation.vector;
    c.add_object(pb::AddObjectRequest {
        object: Some(pb::WorldObject {
            name: "ball".into(),
            shape: Some(pb::Shape {
                kind: Some(pb::shape::Kind::Sphere(pb::Sphere { radius: 0.08 })),
            }),
            pose: Some(pb::Pose {
                position: ball.iter().copied().collect(),
                quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
            }),
            ..Default::default()
        }),
    })
    .await
    .unwrap();
    let goal = vec![2.5, -FRAC_PI_2, FRAC_PI_2, 0.0, FRAC_PI_2, 0.0];
    let mid_check = c
        .check_state(pb::CheckStateRequest {
            robot_id: "kuka".into(),
            joints: midway.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !mid_check.valid,
        "the ball must block the midway state: {mid_check:?}"
    );
    let request = |budget: f64| pb::PlanRequest {
        robot_id: "kuka".into(),
        goals: vec![pb::Goal {
            kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                values: goal.clone(),
            })),
        }],
        time_budget: budget,
        ..Default::default()
    };
    // the request's own budget (1 ns) runs out before the search: DEADLINE_EXCEEDED
    let e = c.plan(request(1e-9)).await.map(|_| ()).unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{}", e.message());
    // the client's deadline (grpc-timeout 1 ms) bounds a 30 s budget: the server stops
    // planning at half the deadline and answers DEADLINE_EXCEEDED, unless the transport's own
    // timer cancels the call first
    let mut req = tonic::Request::new(request(30.0));
    req.set_timeout(std::time::Duration::from_millis(1));
    match c.plan(req).await {
        // a fast search may legitimately finish inside the deadline
        Ok(r) => assert!(r.into_inner().trajectory.is_some()),
        Err(e) => assert!(
            e.code() == Code::DeadlineExceeded
                || (e.code() == Code::Cancelled && e.message().contains("Timeout")),
            "{:?}: {}",
            e.code(),
            e.message()
        ),
    }
    // and with time the same request is solved around the wall
    let ok = c
        .plan(pb::PlanRequest {
            robot_id: "kuka".into(),
            goals: vec![pb::Goal {
                kind: Some(pb::goal::Kind::Joints(pb::JointValues { values: goal })),
            }],
            time_budget: 10.0,
            ..Default::default()
        })
        .await;
    assert!(ok.is_ok(), "{:?}", ok.err());
    let ok = ok.unwrap().into_inner();
    eprintln!(
        "planned around the ball in {:.1} ms",
        ok.planning_time * 1e3
    );
    assert!(ok.trajectory.unwrap().points.len() > 10);
}

/// A cell where no path exists: one arm swinging about a vertical axis, its joint limited to
/// [-3, 3] rad, and a post in its way at 0 rad. From -2.5 to 2.5 rad every path crosses the
/// post, so a search always runs for its whole budget.
fn swing_cell(dir: &std::path::Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("swing.urdf"),
        r#"<robot name="swing">
  <link name="base_link"/>
  <link name="arm">
    <collision>
      <origin xyz="0.5 0 0"/>
      <geometry><box size="0.8 0.05 0.05"/></geometry>
    </collision>
  </link>
  <link name="tip"/>
  <joint name="swing" type="revolute">
    <parent link="base_link"/>
    <child link="arm"/>
    <axis xyz="0 0 1"/>
    <limit lower="-3" upper="3" velocity="1" effort="1"/>
  </joint>
  <joint name="tip_joint" type="fixed">
    <parent link="arm"/>
    <child link="tip"/>
    <origin xyz="1 0 0"/>
  </joint>
</robot>
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("robot.toml"),
        "name = \"swing\"\nurdf = \"swing.urdf\"\n[group]\nbase = \"base_link\"\ntip = \"tip\"\n\
         [named_poses]\nhome = [-2.5]\n",
    )
    .unwrap();
    format!(
        "name = \"a swinging arm and a post\"\n\
         [[robots]]\nid = \"swing\"\nmodel = {:?}\nbase = {{ xyz = [0.0, 0.0, 1.0] }}\n\
         [[objects]]\nname = \"post\"\ntype = \"box\"\nhalf_extents = [0.05, 0.05, 0.5]\n\
         pose = {{ xyz = [0.6, 0.0, 1.0] }}\n",
        dir.join("robot.toml").display().to_string()
    )
}

/// The items of a batch share the client's deadline: each searches for at most half of what
/// the ones before it left, so the batch answers within the deadline (each item giving half
/// of the whole deadline made three unsolvable items outlast it, and the transport cut the
/// call). PlanSequence reads the deadline too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_shares_the_client_deadline_between_its_items() {
    let dir = std::env::temp_dir().join(format!("cella-swing-{}", std::process::id()));
    let s = common::start_cell(&swing_cell(&dir)).await;
    let mut c = client(&s).await;
    let blocked = pb::PlanRequest {
        robot_id: "swing".into(),
        goals: vec![pb::Goal {
            kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                values: vec![2.5],
            })),
        }],
        time_budget: 60.0,
        ..Default::default()
    };
    // no deadline: the request's own budget, and still no path
    let e = c
        .plan(pb::PlanRequest {
            time_budget: 0.05,
            ..blocked.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{}", e.message());
    let deadline = std::time::Duration::from_secs(3);
    let mut req = tonic::Request::new(pb::PlanBatchRequest {
        requests: vec![blocked.clone(); 3],
    });
    req.set_timeout(deadline);
    let began = std::time::Instant::now();
    let batch = c.plan_batch(req).await;
    let took = began.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let batch = batch
        .unwrap_or_else(|e| panic!("after {took:?}: {:?} {}", e.code(), e.message()))
        .into_inner();
    assert!(took < deadline, "{took:?}");
    // each item searched for half of what was left: about 1.5, 0.75 and 0.375 s
    let budgets: Vec<f64> = batch
        .items
        .iter()
        .map(|item| {
            assert_eq!(item.code, Code::DeadlineExceeded as i32, "{}", item.message);
            let ms = item
                .message
                .split("time budget of ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or_else(|| panic!("{}", item.message));
            ms.parse::<f64>().unwrap() / 1e3
        })
        .collect();
    assert_eq!(budgets.len(), 3);
    assert!((1.4..=1.5).contains(&budgets[0]), "{budgets:?}");
    for w in budgets.windows(2) {
        assert!(w[1] <= 0.5 * w[0] + 1e-3, "{budgets:?}");
    }
    assert!(
        budgets.iter().sum::<f64>() < deadline.as_secs_f64(),
        "{budgets:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_see_consistent_world_versions() {
    let s = Arc::new(start().await);
    let mut c = client(&s).await;
    let info = cell_info(&mut c).await;
    let q = home(&info, "ur5e");
    let tcp = c
        .compute_fk(pb::FkRequest {
            robot_id: "ur5e".into(),
            joints: q.clone(),
            frame: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pose
        .unwrap();
    // the editor toggles a blocker on the UR5e's TCP; it records which versions have it
    let present = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::from([(
        1u64, false,
    )])));
    let editor = {
        let mut c = client(&s).await;
        let present = present.clone();
        let tcp = tcp.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                let v = c
                    .add_object(pb::AddObjectRequest {
                        object: Some(pb::WorldObject {
                            name: "blocker".into(),
                            shape: Some(pb::Shape {
                                kind: Some(pb::shape::Kind::Sphere(pb::Sphere { radius: 0.03 })),
                            }),
                            pose: Some(tcp.clone()),
                            ..Default::default()
                        }),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .world_version;
                present.lock().unwrap().insert(v, true);
                let v = c
                    .remove_object(pb::RemoveObjectRequest {
                        name: "blocker".into(),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .world_version;
                present.lock().unwrap().insert(v, false);
            }
        })
    };
    let mut readers = Vec::new();
    for k in 0..24 {
        let mut c = client(&s).await;
        let q = q.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..8 {
                let r = c
                    .check_state(pb::CheckStateRequest {
                        robot_id: "ur5e".into(),
                        joints: q.clone(),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                seen.push((r.world_version, r.valid));
                if k % 4 == 0 {
                    // planners run at the same time
                    let _ = c
                        .plan(pb::PlanRequest {
                            robot_id: "kuka".into(),
                            goals: vec![pb::Goal {
                                kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                                    values: vec![0.5, -1.3, 1.3, 0.0, 1.2, 0.0],
                                })),
                            }],
                            ..Default::default()
                        })
                        .await;
                }
            }
            seen
        }));
    }
    editor.await.unwrap();
    let present = present.lock().unwrap().clone();
    let mut checked = 0;
    for r in readers {
        for (version, valid) in r.await.unwrap() {
            let blocked = present[&version];
            assert_eq!(
                valid, !blocked,
                "version {version}: valid {valid} but blocker present {blocked}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 24 * 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_service_reports_serving() {
    let s = start().await;
    let channel = Channel::from_shared(s.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let r = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "cella.v1.CellService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_with_its_own_padding_keeps_robots_further_away() {
    let s = start().await;
    let mut c = client(&s).await;
    let info = cell_info(&mut c).await;
    let q = home(&info, "ur5e");
    let tcp = c
        .compute_fk(pb::FkRequest {
            robot_id: "ur5e".into(),
            joints: q.clone(),
            frame: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let tcp = pose_of(tcp.pose.as_ref().unwrap());
    // a small sphere 25 cm beyond the tool, along its axis
    let at = tcp.translation.vector + tcp.rotation * nalgebra::Vector3::new(0.0, 0.0, 0.25);
    let fixture = |padding: f64| pb::WorldObject {
        name: "fixture".into(),
        shape: Some(pb::Shape {
            kind: Some(pb::shape::Kind::Sphere(pb::Sphere { radius: 0.03 })),
        }),
        pose: Some(pb::Pose {
            position: vec![at.x, at.y, at.z],
            quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
        }),
        padding,
        ..Default::default()
    };
    let check = |c: &mut Client, q: Vec<f64>| {
        let mut c = c.clone();
        async move {
            c.check_state(pb::CheckStateRequest {
                robot_id: "ur5e".into(),
                joints: q,
            })
            .await
            .unwrap()
            .into_inner()
        }
    };
    // with the cell's padding the tool is free of it; with 30 cm of its own it is not
    c.add_object(pb::AddObjectRequest {
        object: Some(fixture(0.0)),
    })
    .await
    .unwrap();
    assert!(check(&mut c, q.clone()).await.valid);
    c.remove_object(pb::RemoveObjectRequest {
        name: "fixture".into(),
    })
    .await
    .unwrap();
    c.add_object(pb::AddObjectRequest {
        object: Some(fixture(0.3)),
    })
    .await
    .unwrap();
    let answer = check(&mut c, q.clone()).await;
    assert!(!answer.valid);
    assert!(
        answer
            .collisions
            .iter()
            .any(|p| p.a == "fixture" || p.b == "fixture"),
        "{:?}",
        answer.collisions
    );
    // the cell reports it as given
    let info = cell_info(&mut c).await;
    let reported = info.objects.iter().find(|o| o.name == "fixture").unwrap();
    assert_eq!(reported.padding, 0.3);
    // out of range: INVALID_ARGUMENT naming object.padding, nothing added
    for bad in [-0.1, 1.5, f64::NAN] {
        let mut o = fixture(bad);
        o.name = "other".into();
        let e = c
            .add_object(pb::AddObjectRequest { object: Some(o) })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        let details = e.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "object.padding"
        );
    }
    assert!(
        !cell_info(&mut c)
            .await
            .objects
            .iter()
            .any(|o| o.name == "other")
    );
}

type Client = cella_proto::v1::cell_service_client::CellServiceClient<Channel>;
