//! Inputs a fuzzer (`fuzz/`, `cargo fuzz run urdf`) crashed the collision model with, kept
//! exactly as found; each now gets a typed error.
#![allow(clippy::unwrap_used)]

use cella_collision::robot_geometry::MAX_EXTENT;
use cella_collision::{CollisionError, MeshSource, RobotGeometry};
use cella_kinematics::Robot;
use std::sync::Arc;

/// `fuzz/regressions/urdf/crash-cc921bf7e73bf666c34e6ab3c0405f91a2f41266`: a box 1e110 m
/// long. Its capsule was finite in f64, but the survey of link contacts asked parry (f32) for
/// the contact of an infinite box and its EPA indexed out of bounds: a panic building the
/// allowed-collision matrix.
const HUGE_BOX: &str = r#"<?xml version="1.0"?>
<robot name="two">
  <link name="base"><collision><geometry><box size="0.2 0.2 99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999990.5"/></geometry></collision></link>
  <link name="upper">
    <collision>
      <origin xyz="0 0 0.2" rpy="0 0 0"/>
      <geometry><cylinder radius="0.05" length="0.4"/></geometry>
    </collision>
  </link>
  <link name="tip"><collision><geometry><sphere radius="0.04"/></geometry></collision></link>
  <joint name="j1" type="revolute">
    <parent link="base"/><child link="upper"/>
    <origin xyz="0 0 0.1" rpy="0 0 0"/><axis xyz="0 0 1"/>
    <limit lower="-3.14" upper="3.14" effort="10" velocity="2"/>
  </joint>
  <joint name="j2" type="prismatic">
    <parent link="upper"/><child link="tip"/>
    <origin xyz="0 0 0.4" rpy="0 1.5708 0"/><axis xyz="1 0 0"/>
    <limit lower="0" upper="0.3" effort="10" velocity="0.5"/>
  </joint>
</robot>
"#;

/// The seed the crash was mutated from, with the base box `box_z` m high and the tip joint
/// `tip_x` m out along x.
fn two_links(box_z: &str, tip_x: &str) -> String {
    format!(
        r#"<robot name="two">
  <link name="base"><collision><geometry><box size="0.2 0.2 {box_z}"/></geometry></collision></link>
  <link name="upper"><collision><origin xyz="0 0 0.2" rpy="0 0 0"/><geometry><cylinder radius="0.05" length="0.4"/></geometry></collision></link>
  <link name="tip"><collision><geometry><sphere radius="0.04"/></geometry></collision></link>
  <joint name="j1" type="revolute"><parent link="base"/><child link="upper"/><origin xyz="0 0 0.1" rpy="0 0 0"/><axis xyz="0 0 1"/><limit lower="-3.14" upper="3.14" effort="10" velocity="2"/></joint>
  <joint name="j2" type="prismatic"><parent link="upper"/><child link="tip"/><origin xyz="{tip_x} 0 0.4" rpy="0 1.5708 0"/><axis xyz="1 0 0"/><limit lower="0" upper="0.3" effort="10" velocity="0.5"/></joint>
</robot>"#
    )
}

fn geometry(urdf: &str) -> Result<RobotGeometry, CollisionError> {
    let robot = Robot::from_urdf_str(urdf, None, None).unwrap();
    RobotGeometry::from_urdf(Arc::new(robot), urdf, &MeshSource::default())
}

#[test]
fn a_link_larger_than_the_largest_extent_is_refused_not_a_panic() {
    let Err(e) = geometry(HUGE_BOX) else {
        panic!("refused")
    };
    assert!(
        matches!(&e, CollisionError::BadGeometry { what, reason }
            if what.contains("'base'") && reason.contains("larger than")),
        "{e}"
    );
    geometry(&two_links("0.1", "0")).unwrap();
    assert!(geometry(&two_links(&format!("{}", 2.5 * MAX_EXTENT), "0")).is_err());
}

#[test]
fn a_joint_tree_reaching_past_the_largest_extent_is_refused() {
    let Err(e) = geometry(&two_links("0.1", &format!("{}", 2.0 * MAX_EXTENT))) else {
        panic!("refused")
    };
    assert!(e.to_string().contains("reach"), "{e}");
}
