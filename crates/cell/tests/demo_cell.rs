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
            padding: 0.0,
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

/// A group checker of the demo cell: the members in the given order; a robot left out of the
/// group is an obstacle at its current joints (the same verdicts as the single-robot checker
/// on states where the UR5e reaches into the KUKA); unknown or repeated ids are errors.
#[test]
fn composite_checker_of_the_demo_cell() {
    let cell = CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap();
    let both = cell.composite_checker(&["ur5e", "kuka"]).unwrap();
    assert_eq!(both.dof(), 12);
    assert_eq!(both.names().collect::<Vec<_>>(), ["ur5e", "kuka"]);
    assert_eq!(both.member_joints(1), Some(6..12));
    let (ur, kuka) = (cell.robot("ur5e").unwrap(), cell.robot("kuka").unwrap());
    let home = [ur.joints.clone(), kuka.joints.clone()].concat();
    let mut s = both.scratch();
    assert!(
        both.is_valid(&mut s, &home),
        "{:?}",
        both.contacts(&mut s, &home)
    );

    // the KUKA held at random joints (sometimes reaching over the table towards the UR5e)
    let mut rng = cella_kinematics::Rng::new(4);
    let (mut qu, mut qk) = (vec![0.0; 6], vec![0.0; 6]);
    let mut hits_kuka = 0;
    for _ in 0..1500 {
        kuka.geometry
            .robot()
            .chain()
            .random_configuration(&mut rng, &mut qk);
        let mut held = (*cell).clone();
        held.robots[1].joints = qk.clone();
        let alone = held.composite_checker(&["ur5e"]).unwrap();
        let single = held.checker("ur5e").unwrap();
        let (mut sa, mut ss) = (alone.scratch(), single.scratch());
        for _ in 0..10 {
            ur.geometry
                .robot()
                .chain()
                .random_configuration(&mut rng, &mut qu);
            let verdict = single.is_valid(&mut ss, &qu);
            assert_eq!(alone.is_valid(&mut sa, &qu), verdict, "{qu:?} {qk:?}");
            if single
                .contacts(&mut ss, &qu)
                .iter()
                .any(|(_, b)| b.starts_with("kuka/"))
            {
                hits_kuka += 1;
                // with the KUKA in the group at the same joints: still a collision
                assert!(!both.is_valid(&mut s, &[qu.clone(), qk.clone()].concat()));
            }
        }
    }
    assert!(hits_kuka > 5, "{hits_kuka} sampled states reach the KUKA");
    assert!(cell.composite_checker(&["ur5e", "abb"]).is_err());
    assert!(cell.composite_checker(&["ur5e", "ur5e"]).is_err());
    assert!(cell.composite_checker(&[]).is_err());
}

#[test]
fn an_object_may_ask_for_more_clearance_than_the_cell() {
    let text = cella_cell::DEMO_CELL.replacen(
        "[[objects]]",
        "[[objects]]\nname = \"light_curtain\"\ntype = \"box\"\nhalf_extents = [0.3, 0.01, 0.4]\npose = { xyz = [0.0, 0.6, 1.2] }\npadding = 0.1\n\n[[objects]]",
        1,
    );
    let cell = cella_cell::CellFile::parse(&text)
        .unwrap()
        .build(None)
        .unwrap();
    let curtain = cell
        .world
        .objects()
        .iter()
        .find(|o| o.name == "light_curtain")
        .unwrap();
    assert_eq!(curtain.padding, 0.1);
    // the others keep the cell's padding
    assert!(
        cell.world
            .objects()
            .iter()
            .filter(|o| o.name != "light_curtain")
            .all(|o| o.padding == 0.0)
    );
    // a padding out of range names the object
    let bad = text.replace("padding = 0.1\n", "padding = -0.1\n");
    let e = cella_cell::CellFile::parse(&bad)
        .unwrap()
        .build(None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("light_curtain") && e.contains("padding"), "{e}");
}
