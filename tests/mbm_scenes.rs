#![allow(clippy::unwrap_used)]
//! The collision checker on the MotionBenchMaker scenes (`../shared/problems/panda-mbm`, read
//! with the benchmark problem format of [`cella::problem`]): every start is free with the real
//! meshes; the batched path (f32 sphere lanes) gives the scalar verdicts; the exact layer's
//! temporal coherence (the last direction that certified a hull pair apart, tried first at the
//! next state) is only a speed-up: a verdict does not depend on what the scratch saw before.
//!
//! The scenes come in the benchmark file format, which the collision crate does not know: so
//! these tests live next to the format, with the benchmarks.

use cella::problem::Problem;
use cella_collision::Checker;
use cella_kinematics::Rng;
use std::path::PathBuf;

mod common;

fn problems_dir() -> PathBuf {
    common::shared("problems/panda-mbm")
}

#[test]
fn motionbenchmaker_starts_are_free() {
    let dir = problems_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flat_map(|scene| std::fs::read_dir(scene.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 700);
    let (mut bad_start, mut bad_goal) = (
        Vec::new(),
        std::collections::BTreeMap::<String, usize>::new(),
    );
    for f in &files {
        let p = Problem::from_file(f).unwrap();
        let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
        let mut s = checker.scratch();
        if !checker.is_valid(&mut s, &p.start) {
            bad_start.push((p.name.clone(), checker.contacts(&mut s, &p.start)));
        }
        if !p.goals.iter().any(|g| checker.is_valid(&mut s, g)) {
            *bad_goal.entry(p.scene.clone()).or_default() += 1;
        }
    }
    eprintln!(
        "MBM: {} starts rejected {bad_start:?}; goals rejected per scene {bad_goal:?}",
        bad_start.len()
    );
    assert!(
        bad_start.is_empty(),
        "starts are free with the real meshes: {bad_start:?}"
    );
}

/// Compares the batch and scalar verdicts on `states` random states; returns how many
/// states the f32 filter alone cleared.
fn compare(checker: &Checker, states: usize, seed: u64, label: &str) -> usize {
    let chain = checker.geometry().robot().chain();
    let dof = chain.dof();
    let mut rng = Rng::new(seed);
    let mut qs = vec![0.0; states * dof];
    for q in qs.chunks_mut(dof) {
        chain.random_configuration(&mut rng, q);
    }
    let mut s = checker.scratch();
    let mut batch = vec![false; states];
    let mut filter = vec![false; states];
    checker.is_valid_batch(&mut s, &qs, &mut batch).unwrap();
    checker.batch_prefilter(&mut s, &qs, &mut filter).unwrap();
    let (mut valid, mut cleared) = (0, 0);
    for (i, q) in qs.chunks(dof).enumerate() {
        let scalar = checker.is_valid(&mut s, q);
        assert_eq!(batch[i], scalar, "{label}: state {q:?} batch/scalar differ");
        if filter[i] {
            // conservative: cleared by the f32 spheres -> the f64 capsules are free too
            assert!(
                checker.capsule_distance(&mut s, q).unwrap().distance >= 0.0,
                "{label}: f32 filter cleared a colliding state {q:?}"
            );
            assert!(scalar);
            cleared += 1;
        }
        valid += usize::from(scalar);
    }
    eprintln!(
        "{label:28} {states} states: {valid} valid, {cleared} cleared by the f32 filter ({:.1} % of valid)",
        100.0 * cleared as f64 / valid.max(1) as f64
    );
    assert!(valid > 0, "{label}: the test exercises nothing");
    cleared
}

#[test]
fn batch_matches_scalar_on_motionbenchmaker_scenes() {
    let dir = problems_dir();
    for scene in ["bookshelf_small", "box", "cage", "table_pick"] {
        let p = Problem::from_file(&dir.join(format!("{scene}/{scene}_0001.json"))).unwrap();
        let checker = Checker::new(p.geometry.clone(), p.base, &p.world, &[]).unwrap();
        let cleared = compare(&checker, 2000, 3, scene);
        assert!(cleared > 0, "{scene}: the f32 filter cleared no state");
        // the problem's own states, including the colliding cage goals
        let mut qs = p.start.clone();
        for g in &p.goals {
            qs.extend_from_slice(g);
        }
        let mut out = vec![false; 1 + p.goals.len()];
        let mut s = checker.scratch();
        checker.is_valid_batch(&mut s, &qs, &mut out).unwrap();
        for (i, q) in qs.chunks(p.start.len()).enumerate() {
            assert_eq!(out[i], checker.is_valid(&mut s, q));
        }
    }
}

/// Checked on dense motions into the goals (near contact, where the exact layer decides), with
/// a scratch that walked the motion against a fresh scratch per state.
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
