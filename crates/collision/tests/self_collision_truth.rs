//! Independent cross-check of self-collision: the checker must never call a state free while
//! two links of the same arm really interpenetrate.
//!
//! The truth (`truth/mod.rs`, shared with the planning crate's `planned_truth` test) is rebuilt
//! here, at test time, from the manufacturer descriptions in `../shared/robot-data` (never from
//! the checker's precomputed `robots/*/hulls.txt`):
//!
//! - geometry: one convex hull (parry3d) per `<mesh>` or `<box>` collision element of each
//!   link of the manufacturer URDF, placed by the element's `<origin>` (the convention of
//!   pybullet and MoveIt/FCL); primitive self-collision links (`panda_linkN_sc`) are ignored;
//! - placement: forward kinematics of the `k` crate on the manufacturer URDF, not cella's model
//!   (the second test checks that both agree, so a frame mismatch cannot hide);
//! - contact: an exact separating-axis test in `f64` (face normals of both hulls, and the cross
//!   products of the edge pairs that form faces of the Minkowski difference, found on the Gauss
//!   maps). It needs no GJK: every "separated" verdict is confirmed by projecting all vertices
//!   of both hulls on the axis. Bounding spheres and parry's `query::contact` (f32 GJK/EPA) only
//!   pre-filter pairs farther apart than `truth::PREFILTER` and give the depth for the messages.
//!
//! Checked pairs: links that both have hulls and have at least two movable joints between them
//! on the tree (pairs with fewer legitimately touch at their joint). Pairs the checker's
//! allowed-collision matrix skips are verified here before they are excluded: `default` pairs
//! must touch at the `home` pose, `always` pairs in at least 90 % of 1000 random states.
//!
//! The test fails, never skips, when `../shared/robot-data` is missing.
//! `CELLA_SELF_TRUTH_STATES` sets the number of random states per robot (default 10000).
#![allow(clippy::unwrap_used)]

mod truth;

use cella_collision::{Checker, RobotGeometry, World};
use cella_kinematics::Rng;
use nalgebra::Isometry3;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use truth::{
    KModel, SelfPairs, Truth, fmt_q, for_every_robot, hull_links, manufacturer, self_pairs,
};

fn n_states() -> usize {
    std::env::var("CELLA_SELF_TRUTH_STATES")
        .map(|v| v.parse().expect("CELLA_SELF_TRUTH_STATES must be a count"))
        .unwrap_or(10_000)
}

// ---------------------------------------------------------------------------------------------
// The checks

struct Report {
    name: String,
    summary: String,
    /// Allowances the truth does not confirm, batch/scalar disagreements.
    problems: Vec<String>,
    /// States called valid with interpenetrating checked pairs: (q, pair, depth).
    violations: Vec<(Vec<f64>, String, String, f64)>,
    truth_colliding: usize,
}

fn check_robot(index: usize, name: &str) -> Report {
    let t0 = std::time::Instant::now();
    let robot = cella_kinematics::library::load(name).unwrap();
    let geometry = RobotGeometry::library(name).unwrap();
    let mut truth = Truth::new(&robot);

    // checked pairs (>= 2 movable joints apart), the ACM's allowances verified, then excluded
    let SelfPairs {
        pairs,
        link_pairs,
        verified,
        mut problems,
    } = self_pairs(&mut truth, &robot, &geometry, index);

    // random states, the checker's verdicts one by one and in batches
    let n = n_states();
    let dof = robot.chain().dof();
    let mut rng = Rng::new(0x5E1F_0000 + index as u64);
    let mut states = vec![0.0; n * dof];
    for q in states.chunks_mut(dof) {
        robot.chain().random_configuration(&mut rng, q);
    }
    let checker = Checker::new(
        Arc::new(geometry),
        Isometry3::identity(),
        &World::new(),
        &[],
    )
    .unwrap();
    let mut s = checker.scratch();
    let valid: Vec<bool> = states
        .chunks(dof)
        .map(|q| checker.is_valid(&mut s, q))
        .collect();
    let mut batch = vec![false; n];
    for (chunk, out) in states.chunks(100 * dof).zip(batch.chunks_mut(100)) {
        checker.is_valid_batch(&mut s, chunk, out).unwrap();
    }
    let mismatches: Vec<usize> = (0..n).filter(|&i| valid[i] != batch[i]).collect();
    if let Some(&i) = mismatches.first() {
        problems.push(format!(
            "is_valid_batch disagrees with is_valid in {} of {n} states, first q = {} \
             (is_valid {}, batch {})",
            mismatches.len(),
            fmt_q(&states[i * dof..(i + 1) * dof]),
            valid[i],
            batch[i]
        ));
    }

    // the truth on every state
    let mut violations = Vec::new();
    let (mut truth_colliding, mut false_rejects) = (0, 0);
    for (i, q) in states.chunks(dof).enumerate() {
        truth.place(q);
        let mut colliding = false;
        if valid[i] {
            for &(a, b) in &pairs {
                if let Some(d) = truth.contact(a, b) {
                    colliding = true;
                    let (la, lb) = (truth.hulls[a].link.clone(), truth.hulls[b].link.clone());
                    violations.push((q.to_vec(), la, lb, d));
                }
            }
        } else {
            colliding = pairs.iter().any(|&(a, b)| truth.contact(a, b).is_some());
            false_rejects += usize::from(!colliding);
        }
        truth_colliding += usize::from(colliding);
    }
    let n_valid = valid.iter().filter(|v| **v).count();
    let st = truth.stats;
    let summary = format!(
        "{name}: {} hulls, {} checked link pairs ({} hull pairs), verified allowances [{}]; \
         {n} states: valid {n_valid}, rejected {}, truth in self-collision {truth_colliding}, \
         false rejects {false_rejects}, violations {} (states {}); parry calls {}, SAT calls {}, \
         SAT/parry disagreements > 0.1 mm {}; {:.1} s",
        truth.hulls.len(),
        link_pairs,
        pairs.len(),
        verified.join(", "),
        n - n_valid,
        violations.len(),
        {
            let mut qs: Vec<&Vec<f64>> = violations.iter().map(|v| &v.0).collect();
            qs.dedup();
            qs.len()
        },
        st.parry_calls,
        st.sat_calls,
        st.disagreements,
        t0.elapsed().as_secs_f64()
    );
    eprintln!("{summary}");
    Report {
        name: truth.name,
        summary,
        problems,
        violations,
        truth_colliding,
    }
}

#[test]
fn checker_never_calls_a_truly_self_colliding_state_free() {
    let mut reports = for_every_robot(check_robot);
    reports.sort_by(|a, b| a.name.cmp(&b.name));

    let mut msg = String::new();
    for r in &reports {
        for p in &r.problems {
            writeln!(msg, "  {}: {p}", r.name).unwrap();
        }
        if !r.violations.is_empty() {
            let mut per_pair: HashMap<(&str, &str), (usize, f64)> = HashMap::new();
            for (_, a, b, d) in &r.violations {
                let e = per_pair.entry((a, b)).or_insert((0, 0.0));
                e.0 += 1;
                e.1 = e.1.min(*d);
            }
            writeln!(
                msg,
                "  {}: {} interpenetrating pairs in states the checker calls valid:",
                r.name,
                r.violations.len()
            )
            .unwrap();
            for ((a, b), (count, depth)) in &per_pair {
                writeln!(msg, "    {a}-{b}: {count} times, deepest {depth:.5} m").unwrap();
            }
            for (q, a, b, d) in r.violations.iter().take(10) {
                writeln!(msg, "    q = {}: {a}-{b} depth {d:.5} m", fmt_q(q)).unwrap();
            }
        }
    }
    let exercised = reports.iter().filter(|r| r.truth_colliding > 0).count();
    if exercised + 1 < reports.len() {
        writeln!(
            msg,
            "  the truth found self-collisions for only {exercised} of {} robots: the test \
             exercises too little",
            reports.len()
        )
        .unwrap();
    }
    assert!(
        msg.is_empty(),
        "self-collision truth (manufacturer meshes, k FK, exact SAT) disagrees with the \
         checker:\n{msg}\nsummaries:\n{}",
        reports
            .iter()
            .map(|r| r.summary.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The truth's placement (k on the manufacturer URDF) and cella's model agree on every link
/// with hulls, so the truth cannot be looking at differently placed links.
#[test]
fn k_and_cella_place_the_hull_links_alike() {
    for name in cella_kinematics::library::names() {
        let robot = cella_kinematics::library::load(name).unwrap();
        let (_, path) = manufacturer(name);
        let urdf = urdf_rs::read_file(&path).unwrap();
        let km = KModel::new(&robot, &path, &urdf);
        let model = robot.model();
        let mut state = vec![0.0; model.variables().len()];
        let mut poses = vec![Isometry3::identity(); model.links().len()];
        let mut rng = Rng::new(7);
        let mut q = robot.named_pose("home").unwrap().to_vec();
        let links = hull_links(&urdf);
        assert!(!links.is_empty(), "{name}: no links with collision meshes");
        for sample in 0..6 {
            if sample > 0 {
                robot.chain().random_configuration(&mut rng, &mut q);
            }
            km.set(&q);
            robot.model_state(&q, &mut state).unwrap();
            model.link_poses(&state, &mut poses).unwrap();
            for link in &links {
                let ours = poses[model
                    .link_index(link)
                    .unwrap_or_else(|_| panic!("{name}: cella's model lacks link '{link}'"))];
                let theirs = km.link_pose(link);
                let dp = (ours.translation.vector - theirs.translation.vector).norm();
                let dr = ours.rotation.angle_to(&theirs.rotation);
                assert!(
                    dp < 1e-9 && dr < 1e-9,
                    "{name}: link '{link}' at q = {}: k and cella differ by {dp:.3e} m, \
                     {dr:.3e} rad",
                    fmt_q(&q)
                );
            }
        }
    }
}
