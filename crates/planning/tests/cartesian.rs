#![allow(clippy::unwrap_used)]
//! LIN and CIRC on the bundled industrial arms: the TCP stays on the line or arc (0.1 mm),
//! the orientation follows the slerp, the goal is reached exactly, Cartesian and joint limits
//! hold; singularities, unreachable goals, collisions and bad circles are refused with where
//! and why.

use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
use cella_planning::{CartesianOptions, CartesianPath, PlanningError, plan_cartesian};
use cella_trajectory::{Limits, validate};
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use std::sync::Arc;

fn setup(name: &str, objects: Vec<WorldObject>) -> (Arc<RobotGeometry>, Checker, Limits) {
    let geometry = Arc::new(RobotGeometry::library(name).unwrap());
    let mut world = World::new();
    for o in objects {
        world.add(o).unwrap();
    }
    let checker = Checker::new(geometry.clone(), Isometry3::identity(), &world, &[]).unwrap();
    let limits = Limits::of_robot(geometry.robot()).unwrap();
    (geometry, checker, limits)
}

const KUKA_START: [f64; 6] = [0.3, -1.3, 1.6, 0.2, 0.9, 0.1];
const UR_START: [f64; 6] = [0.4, -1.4, 1.6, -1.6, -1.5, 0.3];

/// TCP positions and orientations of every sample.
fn tcp(geometry: &RobotGeometry, s: &cella_trajectory::SampledTrajectory) -> Vec<Isometry3<f64>> {
    (0..s.len())
        .map(|k| geometry.robot().fk(s.q_at(k)).unwrap())
        .collect()
}

fn check_reaches(goal: &Isometry3<f64>, last: &Isometry3<f64>) {
    assert!((goal.translation.vector - last.translation.vector).norm() < 1e-6);
    assert!(goal.rotation.angle_to(&last.rotation) < 1e-6);
}

fn lin_case(name: &str, start: [f64; 6], shift: Vector3<f64>, turn: f64) {
    let (geometry, checker, limits) = setup(name, vec![]);
    let robot = geometry.robot();
    let p0 = robot.fk(&start).unwrap();
    let goal = Isometry3::from_parts(
        Translation3::from(p0.translation.vector + shift),
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), turn) * p0.rotation,
    );
    let options = CartesianOptions::default();
    let m = plan_cartesian(
        &checker,
        robot,
        &limits,
        &start,
        &CartesianPath::Line { goal },
        &options,
    )
    .unwrap();
    let poses = tcp(&geometry, &m.samples);
    check_reaches(&goal, poses.last().unwrap());
    let (a, b) = (p0.translation.vector, goal.translation.vector);
    let d = b - a;
    let mut last_sigma = 0.0;
    for p in &poses {
        let x = p.translation.vector;
        let sigma = ((x - a).dot(&d) / d.norm_squared()).clamp(0.0, 1.0);
        let off_line = (x - (a + d * sigma)).norm();
        assert!(
            off_line < 1e-4,
            "{name}: TCP {:.3} mm off the line",
            off_line * 1e3
        );
        let expected = p0.rotation.slerp(&goal.rotation, sigma);
        assert!(
            expected.angle_to(&p.rotation) < 1e-3,
            "{name}: orientation off the slerp by {} rad",
            expected.angle_to(&p.rotation)
        );
        assert!(
            sigma >= last_sigma - 1e-9,
            "the TCP went back along the line"
        );
        last_sigma = sigma;
    }
    // the Cartesian limits hold on the samples, and every joint limit
    let positions: Vec<[f64; 3]> = poses
        .iter()
        .map(|p| [p.translation.x, p.translation.y, p.translation.z])
        .collect();
    let orientations: Vec<[f64; 4]> = poses
        .iter()
        .map(|p| [p.rotation.w, p.rotation.i, p.rotation.j, p.rotation.k])
        .collect();
    options
        .limits
        .check_tcp(&m.samples.times, &positions, &orientations, 0.01)
        .unwrap();
    validate(&m.samples, &limits, 1e-6).unwrap();
    assert!((m.length - shift.norm()).abs() < 1e-9);
}

#[test]
fn lin_keeps_the_tcp_on_the_line_kuka_opw() {
    lin_case(
        "kuka_kr6_r700",
        KUKA_START,
        Vector3::new(0.0, 0.25, -0.15),
        0.3,
    );
}

#[test]
fn lin_keeps_the_tcp_on_the_line_ur5e() {
    lin_case("ur5e", UR_START, Vector3::new(0.1, -0.15, 0.1), -0.4);
}

#[test]
fn lin_of_half_a_metre_is_timed_by_the_cartesian_speed() {
    let (geometry, checker, limits) = setup("kuka_kr6_r700", vec![]);
    let robot = geometry.robot();
    let p0 = robot.fk(&KUKA_START).unwrap();
    let goal = Isometry3::from_parts(
        Translation3::from(p0.translation.vector + Vector3::new(0.0, 0.4, -0.3)),
        p0.rotation,
    );
    let options = CartesianOptions::default();
    let m = plan_cartesian(
        &checker,
        robot,
        &limits,
        &KUKA_START,
        &CartesianPath::Line { goal },
        &options,
    )
    .unwrap();
    // 0.5 m at 0.25 m/s: at least 2 s, not much more (ramps of 1 m/s^2 with 10 m/s^3 jerk)
    let duration = *m.samples.times.last().unwrap();
    assert!((m.length - 0.5).abs() < 0.01);
    assert!(
        duration >= m.length / 0.25 && duration < m.length / 0.25 + 0.5,
        "{duration} s"
    );
}

fn circ_case(path_of: impl Fn(&Isometry3<f64>, Vector3<f64>) -> CartesianPath) {
    let (geometry, checker, limits) = setup("kuka_kr6_r700", vec![]);
    let robot = geometry.robot();
    let p0 = robot.fk(&KUKA_START).unwrap();
    let a = p0.translation.vector;
    // a half circle of radius 0.1 m in the horizontal plane: centre a + (0.1, 0, 0)
    let centre = a + Vector3::new(0.1, 0.0, 0.0);
    let goal = Isometry3::from_parts(
        Translation3::from(a + Vector3::new(0.1, 0.1, 0.0)),
        p0.rotation,
    );
    let path = path_of(&goal, centre);
    let m = plan_cartesian(
        &checker,
        robot,
        &limits,
        &KUKA_START,
        &path,
        &CartesianOptions::default(),
    )
    .unwrap();
    let poses = tcp(&geometry, &m.samples);
    check_reaches(&goal, poses.last().unwrap());
    for p in &poses {
        let x = p.translation.vector;
        let radial = ((x - centre).norm() - 0.1).abs();
        let off_plane = (x.z - a.z).abs();
        assert!(
            radial < 1e-4 && off_plane < 1e-4,
            "TCP {:.3} mm off the arc",
            radial.max(off_plane) * 1e3
        );
    }
    validate(&m.samples, &limits, 1e-6).unwrap();
    // a quarter circle: arc length pi/2 * r
    assert!(
        (m.length - std::f64::consts::FRAC_PI_2 * 0.1).abs() < 1e-6,
        "{}",
        m.length
    );
}

#[test]
fn circ_by_a_via_point_stays_on_the_circle() {
    circ_case(|goal, centre| CartesianPath::ArcVia {
        // the point at 45 degrees on the quarter arc from the start to the goal
        via: Point3::from(centre + Vector3::new(-0.1 * 0.5f64.sqrt(), 0.1 * 0.5f64.sqrt(), 0.0)),
        goal: *goal,
    });
}

#[test]
fn circ_by_its_centre_stays_on_the_circle() {
    circ_case(|goal, centre| CartesianPath::ArcCentre {
        centre: Point3::from(centre),
        goal: *goal,
    });
}

#[test]
fn lin_through_the_shoulder_singularity_is_refused_with_where() {
    // (the FANUC: the KUKA KR6's forearm hull meets its link 2 hull on this line before the
    // singularity, the Staubli's wrist hulls meet each other)
    let (geometry, checker, limits) = setup("fanuc_lrmate200id", vec![]);
    let robot = geometry.robot();
    // the tool as at home (flange pointing down), TCP in front of the base; the line passes
    // over the base axis, where the wrist centre (straight above the TCP) crosses axis 1
    let home = robot.fk(robot.named_pose("home").unwrap()).unwrap();
    let z = home.translation.z;
    let from = Isometry3::from_parts(Translation3::new(0.25, 0.0, z), home.rotation);
    let to = Isometry3::from_parts(Translation3::new(-0.25, 0.0, z), home.rotation);
    let mut sols = cella_kinematics::IkSolutions::new();
    robot
        .ik(
            &from,
            None,
            &cella_kinematics::IkOptions::default(),
            &mut sols,
        )
        .unwrap();
    let start = sols.as_slice()[0].joints().to_vec();
    let e = plan_cartesian(
        &checker,
        robot,
        &limits,
        &start,
        &CartesianPath::Line { goal: to },
        &CartesianOptions::default(),
    )
    .unwrap_err();
    match e {
        PlanningError::CartesianPathFailed {
            motion,
            fraction,
            position,
            reason,
        } => {
            assert_eq!(motion, "LIN");
            assert!(
                reason.contains("singularity") || reason.contains("configuration flip"),
                "{reason} at {fraction} {position:?}"
            );
            // it fails around the base axis (x = 0), not at the start
            assert!(fraction > 0.3 && fraction < 0.7, "at {fraction}");
            assert!(position[0].abs() < 0.12, "at {position:?}");
        }
        other => panic!("expected a Cartesian failure, got {other:?}"),
    }
}

#[test]
fn lin_out_of_reach_or_through_an_obstacle_is_refused() {
    let robot_name = "kuka_kr6_r700";
    let (geometry, checker, limits) = setup(robot_name, vec![]);
    let robot = geometry.robot();
    let p0 = robot.fk(&KUKA_START).unwrap();
    let far = Isometry3::from_parts(
        Translation3::from(p0.translation.vector + Vector3::new(2.0, 0.0, 0.0)),
        p0.rotation,
    );
    match plan_cartesian(
        &checker,
        robot,
        &limits,
        &KUKA_START,
        &CartesianPath::Line { goal: far },
        &CartesianOptions::default(),
    ) {
        Err(PlanningError::CartesianPathFailed {
            fraction, reason, ..
        }) => {
            // the arm stretches out: the elbow singularity at the workspace boundary, or no
            // solution beyond it
            assert!(
                reason.contains("unreachable") || reason.contains("singularity"),
                "{reason}"
            );
            assert!(fraction > 0.0 && fraction < 1.0);
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
    // a post standing in the middle of the line
    let goal = Isometry3::from_parts(
        Translation3::from(p0.translation.vector + Vector3::new(0.0, 0.3, 0.0)),
        p0.rotation,
    );
    let mid = p0.translation.vector + Vector3::new(0.0, 0.15, 0.0);
    let post = WorldObject {
        name: "post".into(),
        shape: Shape::Cylinder {
            radius: 0.02,
            half_length: 0.2,
        },
        pose: Isometry3::translation(mid.x, mid.y, mid.z),
    };
    let (_, blocked, _) = setup(robot_name, vec![post]);
    match plan_cartesian(
        &blocked,
        robot,
        &limits,
        &KUKA_START,
        &CartesianPath::Line { goal },
        &CartesianOptions::default(),
    ) {
        Err(PlanningError::CartesianPathFailed {
            reason, fraction, ..
        }) => {
            assert!(reason.contains("post"), "{reason}");
            assert!(fraction < 0.6, "at {fraction}");
        }
        other => panic!("expected a collision, got {other:?}"),
    }
}

#[test]
fn bad_circles_are_refused_naming_the_field() {
    let (geometry, checker, limits) = setup("kuka_kr6_r700", vec![]);
    let robot = geometry.robot();
    let p0 = robot.fk(&KUKA_START).unwrap();
    let a = p0.translation.vector;
    let goal = Isometry3::from_parts(
        Translation3::from(a + Vector3::new(0.2, 0.0, 0.0)),
        p0.rotation,
    );
    let collinear = CartesianPath::ArcVia {
        via: Point3::from(a + Vector3::new(0.1, 0.0, 0.0)),
        goal,
    };
    let off = CartesianPath::ArcCentre {
        centre: Point3::from(a + Vector3::new(0.05, 0.05, 0.0)),
        goal,
    };
    for (path, field) in [(collinear, "via"), (off, "centre")] {
        let e = plan_cartesian(
            &checker,
            robot,
            &limits,
            &KUKA_START,
            &path,
            &CartesianOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(e, PlanningError::InvalidInput { field: ref f, .. } if f == field),
            "{e}"
        );
    }
}

#[test]
fn lin_works_for_every_arm_of_the_library() {
    for name in cella_kinematics::library::names() {
        let (geometry, checker, limits) = setup(name, vec![]);
        let robot = geometry.robot();
        // a generic start: between home (or zero) and the middle of each joint's range
        let home = robot
            .named_pose("home")
            .map(<[f64]>::to_vec)
            .unwrap_or_else(|_| vec![0.0; robot.chain().dof()]);
        let start: Vec<f64> = robot
            .chain()
            .variables()
            .iter()
            .zip(&home)
            .map(|(v, h)| {
                let (lo, hi) = cella_kinematics::chain::finite_range(&v.limits);
                (0.7 * h + 0.3 * (0.5 * (lo + hi)) + 0.2).clamp(lo, hi)
            })
            .collect();
        let p0 = robot.fk(&start).unwrap();
        let goal = Isometry3::from_parts(
            Translation3::from(p0.translation.vector + Vector3::new(0.03, -0.04, -0.05)),
            p0.rotation,
        );
        match plan_cartesian(
            &checker,
            robot,
            &limits,
            &start,
            &CartesianPath::Line { goal },
            &CartesianOptions::default(),
        ) {
            Ok(m) => {
                let last = robot.fk(m.samples.q_at(m.samples.len() - 1)).unwrap();
                assert!(
                    (last.translation.vector - goal.translation.vector).norm() < 1e-5,
                    "{name}"
                );
                validate(&m.samples, &limits, 1e-6).unwrap();
            }
            Err(e) => panic!("{name}: LIN of 7 cm from a generic pose failed: {e}"),
        }
    }
}
