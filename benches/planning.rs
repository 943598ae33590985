//! Planning speed on fixed MotionBenchMaker problems (one per scene, planned end to end:
//! checker construction, search, shortcutting, timing, validation).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use cella::problem::Problem;
use cella_collision::Checker;
use cella_planning::{JointSpace, PlanOptions, plan_joint};
use cella_trajectory::Limits;
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;

/// LIN of 0.5 m and a CIRC quarter circle of 0.1 m radius on the KUKA of the demo cell
/// (dense IK tracking, collision checks, timing, validation).
fn cartesian(c: &mut Criterion) {
    use cella_planning::{CartesianOptions, CartesianPath, plan_cartesian};
    use nalgebra::{Isometry3, Point3, Translation3, Vector3};
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let kuka = cell.robot("kuka").unwrap();
    let robot = kuka.geometry.robot();
    let limits = Limits::of_robot(robot).unwrap();
    let checker = cell.checker("kuka").unwrap();
    let start = [0.3, -1.3, 1.6, 0.2, 0.9, 0.1];
    let p0 = robot.fk(&start).unwrap();
    let a = p0.translation.vector;
    let lin = CartesianPath::Line {
        goal: Isometry3::from_parts(
            Translation3::from(a + Vector3::new(0.0, 0.4, -0.3)),
            p0.rotation,
        ),
    };
    let circ = CartesianPath::ArcCentre {
        centre: Point3::from(a + Vector3::new(0.1, 0.0, 0.0)),
        goal: Isometry3::from_parts(
            Translation3::from(a + Vector3::new(0.1, 0.1, 0.0)),
            p0.rotation,
        ),
    };
    let options = CartesianOptions::default();
    for (name, path) in [
        ("lin_0.5m", lin.clone()),
        ("circ_quarter_r0.1m", circ.clone()),
    ] {
        let m = plan_cartesian(&checker, robot, &limits, &start, &path, &options).unwrap();
        println!("{name}: {:.3} m, {:.3} s", m.length, m.samples.duration());
        c.bench_function(&format!("plan/kuka/{name}"), |b| {
            b.iter(|| plan_cartesian(&checker, robot, &limits, &start, &path, &options).unwrap())
        });
    }
    // sequences: five PTP goals blended into one motion (0.1 rad blends), and a mixed
    // PTP, LIN, PTP, CIRC, PTP program (Cartesian steps at rest)
    use cella_planning::{JointSpace, SequenceStep, plan_sequence};
    let space = JointSpace::of_chain(robot.chain()).unwrap();
    let ptp = |goal: [f64; 6]| SequenceStep::Ptp {
        goal: goal.to_vec(),
        blend: 0.1,
    };
    let blended = vec![
        ptp([0.8, -1.2, 1.4, 0.0, 0.9, 0.0]),
        ptp([0.4, -1.0, 1.2, 0.3, 1.1, 0.4]),
        ptp([-0.2, -1.3, 1.5, -0.2, 0.8, -0.3]),
        ptp([-0.6, -1.1, 1.3, 0.1, 1.0, 0.2]),
        ptp([0.3, -1.3, 1.6, 0.2, 0.9, 0.1]),
    ];
    let mixed = vec![
        ptp([0.3, -1.3, 1.6, 0.2, 0.9, 0.1]),
        SequenceStep::Cartesian {
            path: lin,
            options: options.clone(),
        },
        ptp([0.3, -1.3, 1.6, 0.2, 0.9, 0.1]),
        SequenceStep::Cartesian {
            path: circ,
            options: options.clone(),
        },
        ptp([0.0, -1.2, 1.4, 0.0, 0.9, 0.0]),
    ];
    let plan_options = PlanOptions::default();
    for (name, steps) in [
        ("sequence_5_ptp_blended", blended),
        ("sequence_ptp_lin_ptp_circ_ptp", mixed),
    ] {
        let run = || {
            plan_sequence(
                &checker,
                robot,
                &space,
                &limits,
                &start,
                &steps,
                &plan_options,
            )
            .unwrap()
        };
        println!("{name}: {:.3} s", run().samples.duration());
        c.bench_function(&format!("plan/kuka/{name}"), |b| b.iter(run));
    }
}

fn benches(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/problems/panda-mbm");
    assert!(
        dir.is_dir(),
        "{} is missing: the planning benchmarks need ../shared (see README.md)",
        dir.display()
    );
    for (scene, index) in [
        ("table_pick", 1),
        ("bookshelf_small", 1),
        ("box", 3),
        ("table_under_pick", 1),
    ] {
        let p = Problem::from_file(&dir.join(format!("{scene}/{scene}_{index:04}.json"))).unwrap();
        let robot = p.geometry.robot().clone();
        let space = JointSpace::of_chain(robot.chain()).unwrap();
        let limits = Limits::of_robot(&robot).unwrap();
        let options = PlanOptions::default();
        c.bench_function(&format!("plan/mbm/{scene}_{index:04}"), |b| {
            b.iter(|| {
                let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
                plan_joint(
                    &checker, &space, &limits, &p.start, &p.goals, &options, None,
                )
                .unwrap()
            })
        });
    }
}

criterion_group!(name = group; config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3)); targets = cartesian, benches);
criterion_main!(group);
