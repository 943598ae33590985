//! A fixture shared by the criterion benches and the latency gate's workloads: one robot's
//! checker near another robot, where the exact layer decides robot pairs hull to hull.

use cella_collision::Checker;
use cella_kinematics::Rng;
use cella_kinematics::ik::{IkOptions, IkSolutions};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};

/// The demo cell's UR5e with the KUKA reaching over the middle of the table (a fixed state,
/// as another robot's reservation is), and `n` UR5e states whose closest pair is with the
/// KUKA, within 3 cm of the padding either way: where the exact layer decides robot pairs
/// hull to hull. The table and fixtures are left out, so the states are near the KUKA, not the
/// table.
pub fn near_robot_states(n: usize) -> (Checker, Vec<Vec<f64>>) {
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let (ur, kuka) = (cell.robot("ur5e").unwrap(), cell.robot("kuka").unwrap());
    // the KUKA's tool pointing down 10 cm into the UR5e's half of the table, 30 cm above it
    let target = Isometry3::from_parts(
        Translation3::new(-0.1, 0.0, 1.05),
        UnitQuaternion::from_euler_angles(std::f64::consts::PI, 0.0, 0.0),
    );
    let mut solutions = IkSolutions::new();
    kuka.geometry
        .robot()
        .ik(
            &(kuka.base.inverse() * target),
            None,
            &IkOptions::default(),
            &mut solutions,
        )
        .unwrap();
    let kuka_q = solutions.as_slice()[0].joints().to_vec();
    let tcp = kuka.base * kuka.geometry.robot().fk(&kuka_q).unwrap();
    assert!((tcp.translation.vector - target.translation.vector).norm() < 1e-6);
    let other = cell.as_obstacle("kuka", kuka_q, 0.0).unwrap();
    let world = cell.world.without_objects();
    let checker = Checker::new(ur.geometry.clone(), ur.base, &world, &[other]).unwrap();
    let chain = ur.geometry.robot().chain();
    let mut rng = Rng::new(5);
    let mut s = checker.scratch();
    let (mut q, mut out) = (vec![0.0; 6], Vec::new());
    let mut far = [false; 1];
    for _ in 0..100_000 {
        if out.len() == n {
            break;
        }
        chain.random_configuration(&mut rng, &mut q);
        // the f32 sphere filter drops the states far from everything cheaply
        checker.batch_prefilter(&mut s, &q, &mut far).unwrap();
        if far[0] {
            continue;
        }
        if let Some(p) = checker.distance(&mut s, &q)
            && p.b.starts_with("kuka/")
            && p.distance.abs() < 0.03
        {
            out.push(q.clone());
        }
    }
    assert_eq!(out.len(), n, "too few UR5e states near the KUKA");
    (checker, out)
}
