#![allow(clippy::unwrap_used)]
//! The exact layer remembers, per hull pair, the last direction that certified it apart and
//! tries it first at the next state (temporal coherence). That is only a speed-up: a verdict
//! must not depend on what the scratch saw before. Checked on the MotionBenchMaker scenes, on
//! dense motions into the goals (near contact, where the exact layer decides), with a scratch
//! that walked the motion against a fresh scratch per state.

use cella_collision::Checker;
use cella_collision::problem::Problem;

mod common;
use common::problems_dir;

#[test]
fn exact_verdicts_do_not_depend_on_the_scratch_history() {
    let dir = problems_dir();
    let mut decided_by_hulls = 0;
    let mut states = 0;
    for scene in [
        "bookshelf_thin",
        "bookshelf_small",
        "box",
        "cage",
        "table_under_pick",
    ] {
        for k in [1, 17, 42, 77] {
            let file = dir.join(format!("{scene}/{scene}_{k:04}.json"));
            let p = Problem::from_file(&file).unwrap();
            let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
            let mut warm = checker.scratch();
            let dof = p.start.len();
            let mut q = vec![0.0; dof];
            for goal in &p.goals {
                // the last 40 % of the straight motion into the goal, every 2 mm of joint travel
                let steps = 400;
                for i in 0..=steps {
                    let t = 0.6 + 0.4 * f64::from(i) / f64::from(steps);
                    for j in 0..dof {
                        q[j] = p.start[j] + t * (goal[j] - p.start[j]);
                    }
                    let walked = checker.is_valid(&mut warm, &q);
                    let fresh = checker.is_valid(&mut checker.scratch(), &q);
                    assert_eq!(walked, fresh, "{scene} {k}: state {q:?}");
                    let capsules_collide = checker
                        .capsule_distance(&mut checker.scratch(), &q)
                        .is_some_and(|d| d.distance < 0.0);
                    decided_by_hulls += usize::from(capsules_collide && fresh);
                    states += 1;
                }
            }
        }
    }
    eprintln!("{states} states, {decided_by_hulls} freed by the hulls where capsules collide");
    assert!(
        decided_by_hulls > 100,
        "the exact layer was hardly exercised"
    );
}
