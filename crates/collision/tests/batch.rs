#![allow(clippy::unwrap_used)]
//! The batched path (f32 sphere lanes) against the scalar checker: on random states of every
//! bundled robot in a cluttered cell, the batch verdicts are the scalar verdicts, and every
//! state the f32 filter clears is valid for the scalar f64 capsule checker (the filter is
//! conservative). The same on the MotionBenchMaker scenes: `tests/mbm_scenes.rs` of the
//! workspace root, next to the benchmark problem format.

use cella_collision::{Checker, RobotGeometry, StaticRobot, World};
use cella_kinematics::{Rng, library};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use std::sync::Arc;

mod common;
use common::cluttered_world;

fn reach(g: &RobotGeometry) -> f64 {
    g.lever_arms().iter().copied().fold(0.0, f64::max)
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
fn batch_matches_scalar_in_clutter_for_every_bundled_robot() {
    let n: usize = std::env::var("CELLA_BATCH_STATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let mut cleared_by_filter = 0;
    for (k, name) in library::names().enumerate() {
        let g = Arc::new(RobotGeometry::library(name).unwrap());
        let base = Isometry3::from_parts(
            Translation3::new(0.1, -0.2, 0.05),
            UnitQuaternion::from_euler_angles(0.0, 0.0, 0.7),
        );
        let mut world = cluttered_world(&base, reach(&g), 40 + k as u64);
        world.set_padding(0.01).unwrap();
        // a second robot of the same kind, 1.5 reach away, as static geometry
        let home = g.robot().named_pose("home").unwrap().to_vec();
        let other = StaticRobot::at(
            "twin",
            g.clone(),
            Isometry3::translation(1.5 * reach(&g), 0.0, 0.0),
            home,
        );
        let checker = Checker::new(g, base, &world, &[other]).unwrap();
        // (the KUKA KR6's capsules of link pairs checked on the real hulls overlap in every
        // state: its filter clears none, the scalar path decides all)
        cleared_by_filter += compare(&checker, n, 7 + k as u64, name);
    }
    assert!(cleared_by_filter > 0, "the f32 filter cleared no state");
}

#[test]
fn batch_rejects_mismatched_lengths_and_bad_values() {
    let g = Arc::new(RobotGeometry::library("panda").unwrap());
    let checker = Checker::new(g, Isometry3::identity(), &World::new(), &[]).unwrap();
    let mut s = checker.scratch();
    let mut out = vec![true; 3];
    assert!(
        checker
            .is_valid_batch(&mut s, &[0.0; 20], &mut out)
            .is_err()
    );
    let mut qs = vec![0.0; 21];
    qs[9] = f64::NAN;
    checker.is_valid_batch(&mut s, &qs, &mut out).unwrap();
    assert!(!out[1], "a NaN state is invalid");
}

/// `path_first_collision` (states through the batch path, long segments as motions) finds the
/// first collision that checking every segment with `motion_valid` finds, on dense random
/// polylines in clutter that both pass and collide. (`path_valid` advances along the whole
/// polyline instead; its soundness is `accepted_polylines_are_free_at_every_state`.)
#[test]
fn path_checks_equal_segment_by_segment_motion_checks() {
    for (k, name) in library::names().enumerate() {
        let g = Arc::new(RobotGeometry::library(name).unwrap());
        let base = Isometry3::identity();
        let world = cluttered_world(&base, reach(&g), 90 + k as u64);
        let checker = Checker::new(g.clone(), base, &world, &[]).unwrap();
        let chain = g.robot().chain();
        let dof = chain.dof();
        let mut rng = Rng::new(5 + k as u64);
        let mut s = checker.scratch();
        let (mut free, mut blocked) = (0, 0);
        let (mut a, mut b) = (vec![0.0; dof], vec![0.0; dof]);
        for _ in 0..120 {
            chain.random_configuration(&mut rng, &mut a);
            chain.random_configuration(&mut rng, &mut b);
            // a short polyline from a towards b: vertices mostly closer than the resolution,
            // some steps longer (checked as motions), with a wobble so it is not a line
            let n = 2 + (rng.next_u64() % 40) as usize;
            let span = rng.uniform(0.02, 0.6);
            let mut path = Vec::with_capacity(n * dof);
            for i in 0..n {
                let t = span * i as f64 / (n - 1) as f64;
                for j in 0..dof {
                    let wobble = 0.002 * ((i * (j + 1)) as f64).sin();
                    path.push(a[j] + t * (b[j] - a[j]) + wobble);
                }
            }
            // segment by segment: the first state, then each motion to the next state
            let states: Vec<&[f64]> = path.chunks(dof).collect();
            let first_bad = if checker.is_valid(&mut s, states[0]) {
                (1..n).find(|&k| !checker.motion_valid(&mut s, states[k - 1], states[k]))
            } else {
                Some(0)
            };
            assert_eq!(
                checker.path_first_collision(&mut s, &path),
                first_bad,
                "{name}: path_first_collision differs from segment checks"
            );
            let by_segments = first_bad.is_none();
            if by_segments {
                free += 1;
            } else {
                blocked += 1;
            }
        }
        assert!(
            free > 5 && blocked > 5,
            "{name}: {free} free, {blocked} blocked: exercise both"
        );
        assert_eq!(
            checker.path_first_collision(&mut s, &[f64::NAN; 14][..dof.min(14)]),
            Some(0)
        );
        assert!(!checker.path_valid(&mut s, &vec![0.0; dof + 1]));
    }
}

/// The robot `name` in a cluttered cell (seed `seed`) twice: without padding, and with a
/// padding of half the motion resolution.
fn plain_and_padded(name: &str, seed: u64) -> (Arc<RobotGeometry>, Checker, Checker) {
    let g = Arc::new(RobotGeometry::library(name).unwrap());
    let base = Isometry3::identity();
    let plain_world = cluttered_world(&base, reach(&g), seed);
    let plain = Checker::new(g.clone(), base, &plain_world, &[]).unwrap();
    let mut padded_world = plain_world.clone();
    padded_world.set_padding(0.5 * plain.resolution()).unwrap();
    let padded = Checker::new(g.clone(), base, &padded_world, &[]).unwrap();
    (g, plain, padded)
}

/// Samples the straight motion `a → b` so that no robot point moves more than 1/8 of the
/// resolution between samples (`n + 1` states into `dense`) and writes each sample's verdict
/// into `verdicts`; returns `n`.
fn dense_samples(
    checker: &Checker,
    s: &mut cella_collision::CheckScratch,
    a: &[f64],
    b: &[f64],
    dense: &mut Vec<f64>,
    verdicts: &mut Vec<bool>,
) -> usize {
    let n = ((checker.sweep(a, b) / (checker.resolution() / 8.0)).ceil() as usize).max(1);
    dense.clear();
    for i in 0..=n {
        let t = i as f64 / n as f64;
        dense.extend(a.iter().zip(b).map(|(x, y)| x + t * (y - x)));
    }
    verdicts.resize(n + 1, false);
    checker.is_valid_batch(s, dense, verdicts).unwrap();
    n
}

/// Soundness of the batched conservative advancement behind `motion_valid`: with a padding of
/// half the resolution, a motion it accepts has no colliding state at all. Checked on short
/// random motions in clutter for every bundled robot, each accepted motion sampled densely
/// (no robot point moving more than 1/8 of the resolution between samples) and every sample
/// checked without padding. Both accepted and refused motions must occur.
#[test]
fn accepted_motions_are_free_at_every_state() {
    for (k, name) in library::names().enumerate() {
        let (g, plain, padded) = plain_and_padded(name, 300 + k as u64);
        let chain = g.robot().chain();
        let dof = chain.dof();
        let mut rng = Rng::new(17 + k as u64);
        let (mut ps, mut s) = (plain.scratch(), padded.scratch());
        let (mut accepted, mut refused, mut samples) = (0, 0, 0usize);
        let (mut a, mut b) = (vec![0.0; dof], vec![0.0; dof]);
        let mut dense = Vec::new();
        let mut verdicts = Vec::new();
        let mut tries = 0;
        while (accepted < 60 || refused < 30) && tries < 5000 {
            tries += 1;
            chain.random_configuration(&mut rng, &mut a);
            chain.random_configuration(&mut rng, &mut b);
            let span = rng.uniform(0.05, 1.0);
            for j in 0..dof {
                b[j] = a[j] + span * (b[j] - a[j]);
            }
            if !padded.is_valid(&mut s, &a) || !padded.is_valid(&mut s, &b) {
                continue;
            }
            if !padded.motion_valid(&mut s, &a, &b) {
                refused += 1;
                continue;
            }
            accepted += 1;
            let n = dense_samples(&plain, &mut ps, &a, &b, &mut dense, &mut verdicts);
            if let Some(i) = verdicts.iter().position(|v| !v) {
                panic!(
                    "{name}: accepted motion {a:?} -> {b:?} collides at t = {}",
                    i as f64 / n as f64
                );
            }
            samples += n + 1;
        }
        eprintln!("{name:18} {accepted} accepted ({samples} dense states free), {refused} refused");
        assert!(
            accepted >= 60 && refused >= 30,
            "{name}: {accepted} accepted, {refused} refused: exercise both"
        );
    }
}

/// Soundness of `path_valid`, which advances along a whole polyline as one motion: with a
/// padding of half the resolution, a polyline it accepts has no colliding state. Random curved
/// polylines (2 to 60 states, segments of very different lengths, some repeated states) in
/// clutter for every bundled robot; every segment of an accepted one is sampled densely (no
/// robot point moving more than 1/8 of the resolution between samples) and every sample is
/// checked without padding. Both accepted and refused polylines must occur.
#[test]
fn accepted_polylines_are_free_at_every_state() {
    for (k, name) in library::names().enumerate() {
        let (g, plain, padded) = plain_and_padded(name, 500 + k as u64);
        let chain = g.robot().chain();
        let dof = chain.dof();
        let mut rng = Rng::new(31 + k as u64);
        let (mut ps, mut s) = (plain.scratch(), padded.scratch());
        let (mut accepted, mut refused) = (0, 0);
        let (mut a, mut b) = (vec![0.0; dof], vec![0.0; dof]);
        let (mut path, mut dense, mut verdicts) = (Vec::new(), Vec::new(), Vec::new());
        let mut tries = 0;
        while (accepted < 40 || refused < 20) && tries < 5000 {
            tries += 1;
            chain.random_configuration(&mut rng, &mut a);
            chain.random_configuration(&mut rng, &mut b);
            let n = 2 + (rng.next_u64() % 59) as usize;
            let span = rng.uniform(0.05, 0.8);
            let bend = rng.uniform(0.0, 0.3);
            path.clear();
            let mut t = 0.0;
            for i in 0..n {
                // uneven steps along a bent curve; now and then a repeated state
                if i > 0 && rng.next_f64() > 0.1 {
                    t += rng.uniform(0.1, 2.0);
                }
                path.push(t);
            }
            let t_end = path.last().copied().unwrap().max(1e-9);
            let params: Vec<f64> = path.drain(..).map(|t| t / t_end).collect();
            for &u in &params {
                for j in 0..dof {
                    let wave = bend * (std::f64::consts::PI * u * (j + 2) as f64).sin();
                    path.push(a[j] + span * u * (b[j] - a[j]) + wave * u * (1.0 - u));
                }
            }
            if !padded.path_valid(&mut s, &path) {
                refused += 1;
                continue;
            }
            accepted += 1;
            let states: Vec<&[f64]> = path.chunks(dof).collect();
            for w in states.windows(2) {
                dense_samples(&plain, &mut ps, w[0], w[1], &mut dense, &mut verdicts);
                assert!(
                    verdicts.iter().all(|&v| v),
                    "{name}: accepted polyline collides between {:?} and {:?}",
                    w[0],
                    w[1]
                );
            }
        }
        eprintln!("{name:18} {accepted} polylines accepted, {refused} refused");
        assert!(
            accepted >= 40 && refused >= 20,
            "{name}: {accepted} accepted, {refused} refused: exercise both"
        );
    }
}

/// Bad input to the motion checks is refused, never read: a NaN or infinite joint value in
/// either end of a motion or in any state of a polyline, a length mismatch, an empty polyline.
#[test]
fn motion_checks_refuse_bad_input() {
    let g = Arc::new(RobotGeometry::library("panda").unwrap());
    let checker = Checker::new(g.clone(), Isometry3::identity(), &World::new(), &[]).unwrap();
    let mut s = checker.scratch();
    let free = [0.0, -0.5, 0.0, -2.0, 0.0, 1.6, 0.8];
    assert!(checker.motion_valid(&mut s, &free, &free));
    assert!(checker.path_valid(&mut s, &free));
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for k in 0..7 {
            let mut b = free;
            b[k] = bad;
            assert!(!checker.motion_valid(&mut s, &free, &b), "end {b:?}");
            assert!(!checker.motion_valid(&mut s, &b, &free), "start {b:?}");
            let polyline: Vec<f64> = free.iter().chain(&b).chain(&free).copied().collect();
            assert!(!checker.path_valid(&mut s, &polyline), "middle {b:?}");
        }
    }
    assert!(!checker.motion_valid(&mut s, &free, &free[..6]));
    assert!(!checker.path_valid(&mut s, &[]));
    assert!(!checker.path_valid(&mut s, &free[..5]));
}

/// A motion that moves only the last joint out of (or into) a colliding state is refused:
/// the links that do not move in it are checked all the same. Every bundled robot, random
/// colliding states in clutter.
#[test]
fn motions_moving_one_joint_keep_the_other_links_checked() {
    for (k, name) in library::names().enumerate() {
        let g = Arc::new(RobotGeometry::library(name).unwrap());
        let base = Isometry3::identity();
        let world = cluttered_world(&base, reach(&g), 700 + k as u64);
        let checker = Checker::new(g.clone(), base, &world, &[]).unwrap();
        let chain = g.robot().chain();
        let dof = chain.dof();
        let mut rng = Rng::new(71 + k as u64);
        let mut s = checker.scratch();
        let mut q = vec![0.0; dof];
        let mut tested = 0;
        while tested < 50 {
            chain.random_configuration(&mut rng, &mut q);
            if checker.is_valid(&mut s, &q) {
                continue;
            }
            let mut b = q.clone();
            b[dof - 1] += if q[dof - 1] > 0.0 { -0.05 } else { 0.05 };
            assert!(!checker.motion_valid(&mut s, &q, &b), "{name}: from {q:?}");
            assert!(!checker.motion_valid(&mut s, &b, &q), "{name}: into {q:?}");
            let polyline: Vec<f64> = b.iter().chain(&b).chain(&q).copied().collect();
            assert!(!checker.path_valid(&mut s, &polyline), "{name}: polyline");
            tested += 1;
        }
    }
}
