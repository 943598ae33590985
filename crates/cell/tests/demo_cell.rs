#![allow(clippy::unwrap_used)]
//! The demo cell loads, its robots are free at home, and edits build new versions.

use cella_cell::{CellFile, DEMO_CELL};
use cella_collision::{Shape, WorldObject};
use nalgebra::Isometry3;

#[test]
fn demo_cell_robots_are_free_at_home() {
    let cell = CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap();
    assert_eq!(cell.version, 1);
    for r in &cell.robots {
        let checker = cell.checker(&r.id).unwrap();
        let mut s = checker.scratch();
        assert!(
            checker.is_valid(&mut s, &r.joints),
            "{}: {:?}",
            r.id,
            checker.contacts(&mut s, &r.joints)
        );
    }
}

#[test]
fn a_ball_on_the_way_blocks_the_direct_motion_in_the_cell() {
    let cell = CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap();
    let kuka = cell.robot("kuka").unwrap();
    let home = kuka.joints.clone();
    let mut mid = home.clone();
    mid[0] = 1.25;
    let mut goal = home.clone();
    goal[0] = 2.5;
    let tcp = kuka.base * kuka.geometry.robot().fk(&mid).unwrap();
    let cell = cell
        .with_object(WorldObject {
            name: "ball".into(),
            shape: Shape::Sphere { radius: 0.08 },
            pose: Isometry3::translation(tcp.translation.x, tcp.translation.y, tcp.translation.z),
        })
        .unwrap();
    assert_eq!(cell.version, 2);
    let checker = cell.checker("kuka").unwrap();
    let mut s = checker.scratch();
    assert!(!checker.is_valid(&mut s, &mid));
    assert!(
        checker.is_valid(&mut s, &goal),
        "{:?}",
        checker.contacts(&mut s, &goal)
    );
    assert!(!checker.motion_valid(&mut s, &home, &goal));
}

#[test]
fn bad_cell_files_name_the_field() {
    let bad = DEMO_CELL.replace("model = \"ur5e\"", "model = \"no_such_robot\"");
    let e = CellFile::parse(&bad)
        .unwrap()
        .build(None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("robots[0]") && e.contains("no_such_robot"),
        "{e}"
    );
    let bad = DEMO_CELL.replace(
        "half_extents = [1.0, 0.5, 0.375]",
        "half_extents = [1.0, -0.5, 0.375]",
    );
    let e = CellFile::parse(&bad)
        .unwrap()
        .build(None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("table"), "{e}");
    let e = CellFile::parse("name = 3").unwrap_err().to_string();
    assert!(e.contains("name"), "{e}");
}
