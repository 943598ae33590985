//! Variants evaluated end to end: the metrics against independent computations (the cell's own
//! checker for clearance, the joint limits for the margin, the motions for the cycle time),
//! robots that collide only while moving together, a robot model as a parameter, and results
//! that do not depend on the number of threads or on evaluating a variant alone.

use cella_cell::CellFile;
use cella_collision::{Checker, StaticRobot};
use cella_study::{FailureKind, Results, Study, evaluate, evaluate_all, variants};
use std::sync::Arc;

/// Two UR5e on the floor 1 m apart, facing each other (`$gap` moves the second one), and a
/// ball above the first one's home TCP.
fn two_arms(stages: &str, extra: &str) -> String {
    format!(
        r#"
name = "two arms"
seed = 5
[sampling]
method = "grid"
[parameters]
gap = [0.5]
{extra}
[cell]
name = "floor"
[[cell.robots]]
id = "a"
model = "ur5e"
base = {{ xyz = [-0.5, 0.0, 0.0] }}
[[cell.robots]]
id = "b"
model = "ur5e"
base = {{ xyz = ["$gap", 0.0, 0.0], rpy = [0.0, 0.0, 3.141592653589793] }}
[[cell.objects]]
name = "ball"
type = "sphere"
radius = 0.05
pose = {{ xyz = [0.0, 0.3, 0.7] }}
[targets]
middle_a = {{ xyz = [0.0, 0.0, 0.4], rpy = [3.141592653589793, 0.0, 0.0] }}
middle_b = {{ xyz = [0.02, 0.0, 0.4], rpy = [3.141592653589793, 0.0, 0.0] }}
[task]
{stages}
"#
    )
}

#[test]
fn clearance_margin_and_cycle_time_are_what_the_cell_says() {
    let text = two_arms(
        r#"
[[task.stages]]
name = "wait"
a = [{ dwell = 0.5 }]
[[task.stages]]
name = "b waits longer"
b = [{ dwell = 0.25 }, { dwell = 0.5 }]
"#,
        "",
    );
    let study = Study::parse(&text, None).unwrap();
    let all = variants(&study).unwrap();
    let r = evaluate(&study, &all[0]);
    assert!(r.feasible, "{r:?}");
    assert_eq!(r.cycle_time, Some(1.25));
    assert_eq!(r.motions.len(), 3);
    assert_eq!(r.motions[2].start, 0.75);
    // nothing moves: the clearance is each robot's at the start against the ball and the
    // other robot (its own link pairs all allowed: not part of the clearance to the cell)
    let instance = study.instance(&all[0].values).unwrap();
    let cell = CellFile::parse(&instance.cell_text)
        .unwrap()
        .build(None)
        .unwrap();
    let clearance = |id: &str, other: &str| {
        let r = cell.robot(id).unwrap();
        let mut geometry = (*r.geometry).clone();
        let mut acm = geometry.acm().clone();
        let model = geometry.robot().model().clone();
        for a in model.links() {
            for b in model.links() {
                if a.name < b.name {
                    acm.allow(&a.name, &b.name, "test");
                }
            }
        }
        geometry.set_acm(acm).unwrap();
        let o = cell.robot(other).unwrap();
        let others = [StaticRobot::at(
            other,
            o.geometry.clone(),
            o.base,
            o.joints.clone(),
        )];
        let checker = Checker::new(
            Arc::new(geometry),
            r.base,
            &cell.world_for(id).unwrap(),
            &others,
        )
        .unwrap();
        let mut s = checker.scratch();
        checker.clearance(&mut s, &r.joints).unwrap()
    };
    let expected = clearance("a", "b").min(clearance("b", "a"));
    assert_eq!(r.min_clearance, Some(expected));
    // and it is not the robots' own closeness at home (17 mm between the UR5e's base and
    // upper arm): the ball, 5 cm round, is nearer than that to neither
    assert!(expected > 0.017, "{expected}");
    // the margin of the home pose: wrist 1 and 2 at -pi/2 of [-2pi, 2pi], the elbow at pi/2
    // of [-pi, pi]: pi/2
    let margin = r.joint_margin.unwrap();
    assert!(
        (margin - std::f64::consts::FRAC_PI_2).abs() < 1e-12,
        "{margin}"
    );
}

#[test]
fn robots_that_only_meet_while_moving_together_are_found() {
    let together = two_arms(
        r#"
[[task.stages]]
name = "both to the middle"
a = [{ ptp = "middle_a" }]
b = [{ ptp = "middle_b" }]
"#,
        "",
    );
    let study = Study::parse(&together, None).unwrap();
    let r = evaluate(&study, &variants(&study).unwrap()[0]);
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.collision_free, Some(false));
    let f = r.failure.as_ref().unwrap();
    assert_eq!(f.kind, FailureKind::Collision);
    assert_eq!(f.stage, Some(0));
    assert!(f.reason.contains("moving together"), "{}", f.reason);
    assert!(!r.feasible && r.cycle_time.is_none());
    // one after the other: the second finds the first standing in the middle
    let apart = two_arms(
        r#"
[[task.stages]]
name = "a to the middle"
a = [{ ptp = "middle_a" }]
[[task.stages]]
name = "b to the middle"
b = [{ ptp = "middle_b" }]
"#,
        "",
    );
    let study = Study::parse(&apart, None).unwrap();
    let r = evaluate(&study, &variants(&study).unwrap()[0]);
    let f = r.failure.as_ref().unwrap();
    assert_eq!(
        (f.kind, f.stage, f.robot.as_deref()),
        (FailureKind::Collision, Some(1), Some("b"))
    );
    assert!(
        f.reason.contains("a/"),
        "names the other robot's link: {}",
        f.reason
    );
}

#[test]
fn a_robot_model_is_a_parameter_and_threads_do_not_change_results() {
    let text = two_arms(
        r#"
[[task.stages]]
name = "a reaches over"
a = [{ free = "middle_a" }, { dwell = 0.1 }, { ptp = "home" }]
"#,
        r#"speed = { range = [0.5, 1.0], steps = 2 }
model = ["ur5e", "kuka_kr6_r700"]"#,
    )
    .replace(
        r#"model = "ur5e"
base = { xyz = [-0.5"#,
        r#"model = "$model"
base = { xyz = [-0.5"#,
    )
    .replace("[task]\n", "[task]\nvelocity_scale = \"$speed\"\n");
    let study = Study::parse(&text, None).unwrap();
    let all = variants(&study).unwrap();
    assert_eq!(all.len(), 4);
    let one = evaluate_all(&study, &all, 1, |_| {});
    let two = evaluate_all(&study, &all, 2, |_| {});
    assert_eq!(one, two);
    assert_eq!(evaluate(&study, &all[3]), one[3]);
    for r in &one {
        assert!(r.feasible, "{r:?}");
    }
    // half the speed, a longer cycle, for either model
    let cycle = |i: usize| one[i].cycle_time.unwrap();
    let (kuka_slow, kuka_fast, ur_slow, ur_fast) = (cycle(0), cycle(1), cycle(2), cycle(3));
    assert!(kuka_slow > kuka_fast && ur_slow > ur_fast, "{one:?}");
    assert_ne!(kuka_fast, ur_fast);
    let ranked = Results::new(&study, one, 4).unwrap();
    assert!(ranked.ranking[0] == 1 || ranked.ranking[0] == 3);
    assert!(Results::new(&study, Vec::new(), 4).is_err());
}

#[test]
fn a_cycle_longer_than_an_hour_is_refused_before_it_is_sampled() {
    let text = two_arms(
        r#"
clearance_period = 10.0
[[task.stages]]
name = "a long wait"
a = [{ dwell = 2000.0 }]
[[task.stages]]
name = "a longer wait"
b = [{ dwell = 2000.0 }]
"#,
        "",
    );
    let study = Study::parse(&text, None).unwrap();
    let r = evaluate(&study, &variants(&study).unwrap()[0]);
    let f = r.failure.unwrap();
    assert_eq!((f.kind, f.stage), (FailureKind::Input, Some(1)));
    assert!(f.reason.contains("3600"), "{}", f.reason);
    assert!(!r.complete && r.cycle_time.is_none());
}
