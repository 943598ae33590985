//! The bundled library has the robots the product promises, each loadable, with its analytic
//! solver where one applies, named poses within limits, and dynamic limits for every joint.
#![allow(clippy::unwrap_used)] // a panic in a test is a failure with a message

use cella_kinematics::library;

const EXPECTED: &[(&str, usize, &str)] = &[
    ("ur5e", 6, "ur"),
    ("kuka_kr6_r700", 6, "opw"),
    ("abb_irb2400", 6, "opw"),
    ("fanuc_lrmate200id", 6, "opw"),
    ("staubli_tx2_60", 6, "opw"),
    ("panda", 7, "numerical"),
];

/// The robots the product promises are there, with their axes and solver.
#[test]
fn library_has_the_promised_robots() {
    let names: Vec<&str> = library::names().collect();
    for (name, dof, solver) in EXPECTED {
        assert!(
            names.contains(name),
            "robot '{name}' missing from the library ({names:?})"
        );
        let robot = library::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(robot.chain().dof(), *dof, "{name} dof");
        assert_eq!(robot.solver().name(), *solver, "{name} solver");
    }
}

/// Every bundled robot (the promised ones and any added since) loads and is usable for
/// planning and execution.
#[test]
fn every_bundled_robot_is_complete() {
    let names: Vec<&str> = library::names().collect();
    assert!(names.len() >= EXPECTED.len(), "{names:?}");
    assert!(names.is_sorted(), "{names:?}");
    for name in names {
        let robot = library::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(robot.name(), name);
        assert!(
            robot.named_poses().contains_key("home"),
            "{name} has a home pose"
        );
        for (pose, q) in robot.named_poses() {
            robot
                .chain()
                .check_limits(q)
                .unwrap_or_else(|e| panic!("{name} pose '{pose}': {e}"));
        }
        for (i, d) in robot.dynamic_limits().iter().enumerate() {
            assert!(
                d.acceleration.is_some_and(|a| a > 0.0),
                "{name} joint {i} needs an acceleration limit"
            );
        }
        for v in robot.chain().variables() {
            assert!(
                v.limits.velocity > 0.0,
                "{name} {} needs a velocity limit",
                v.name
            );
        }
        for frame in ["base_link", "flange", "tool0"] {
            robot
                .model()
                .link_index(frame)
                .unwrap_or_else(|_| panic!("{name} lacks frame {frame}"));
        }
    }
}

#[test]
fn unknown_robot_lists_the_known_ones() {
    let e = library::load("r2d2").unwrap_err().to_string();
    assert!(e.contains("unknown robot 'r2d2'"), "{e}");
}
