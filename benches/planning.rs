//! Planning speed on fixed MotionBenchMaker problems (one per scene, planned end to end:
//! checker construction, search, shortcutting, timing, validation).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use cella_collision::Checker;
use cella_collision::problem::Problem;
use cella_planning::{JointSpace, PlanOptions, plan_joint};
use cella_trajectory::Limits;
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;

fn benches(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/problems/panda-mbm");
    if !dir.is_dir() {
        println!("MBM problems absent (../shared): planning benchmarks skipped");
        return;
    }
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

criterion_group!(name = group; config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3)); targets = benches);
criterion_main!(group);
