//! Planned trajectories of every bundled arm, in seeded random cluttered cells, pass the
//! independent collision truth along their whole length (issue 21).
//!
//! The truth is the one of the collision crate's `self_collision_truth` test
//! (`crates/collision/tests/truth/mod.rs`): convex hulls of the manufacturer meshes in
//! `../shared/robot-data`, placed by the `k` crate's forward kinematics, an exact `f64`
//! separating-axis test; here it also has the cell's boxes (8-corner hulls in the world frame)
//! and the robot's base pose.
//!
//! Per robot and cell (seeded): a random base pose (translation, yaw, and roll and pitch up to
//! 0.3 rad); a random start free of self-collision; 6 to 12 boxes of 5 to 25 cm (random
//! orientation) centred on TCP positions of random configurations, each kept only if the start
//! stays [`ROOM`] clear of it. World padding 0: the checker gets no margin beyond its own
//! conservatism, so the truth is the whole safety. Three problems: free planning
//! (`plan_joint`) to a random goal, PTP (`plan_ptp`) to a goal within ±0.6 rad per joint of the
//! start, and LIN (`plan_cartesian`) to the TCP pose of a state within ±0.3 rad per joint of
//! the start; goals are [`ROOM`] clear of the boxes. States are drawn within π of the `home`
//! pose per joint (see [`Window`]).
//!
//! Every returned trajectory is checked at each sample and at states interpolated (straight in
//! joint space) between consecutive samples so that no point of the robot moves more than
//! [`STEP`] between checked states (the larger of the checker's lever arms and the truth's own
//! bound from the hull vertices). A violation is a checked state where the truth finds two hulls
//! interpenetrating: a checked self pair (as in `self_collision_truth`: at least two movable
//! joints apart, minus the ACM allowances the truth confirms) or a link and a box.
//!
//! Asserted: no violation; per robot, at least [`MIN_PLANNED`] of the free-planning problems
//! and of all problems together are planned (refusals of PTP and LIN through clutter are
//! correct answers, but must not be the majority), and each kind at least once.
//!
//! The test fails, never skips, when `../shared/robot-data` is missing.
//! `CELLA_PLANNED_TRUTH_CELLS` sets the number of cells per robot (default [`DEFAULT_CELLS`]).
#![allow(clippy::unwrap_used)]

#[path = "../../collision/tests/truth/mod.rs"]
mod truth;

use cella_collision::{Checker, RobotGeometry, Shape, World, WorldObject};
use cella_kinematics::Rng;
use cella_planning::{
    CartesianOptions, CartesianPath, JointSpace, PlanOptions, PlanningError, plan_cartesian,
    plan_joint, plan_ptp,
};
use cella_trajectory::{Limits, SampledTrajectory};
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;
use truth::{SelfPairs, Truth, fmt_q, for_every_robot, self_pairs};

/// Largest displacement (m) of any robot point between two checked states.
const STEP: f64 = 1e-3;
/// Cells per robot unless `CELLA_PLANNED_TRUTH_CELLS` says otherwise.
const DEFAULT_CELLS: usize = 12;
/// Clearance (m) from the boxes of the start (when placing them) and of the goals (when
/// drawing them), so that problems are rarely walled in; planning itself has padding 0.
const ROOM: f64 = 0.05;
/// Least fraction of problems that must be planned.
const MIN_PLANNED: f64 = 0.5;

fn n_cells() -> usize {
    std::env::var("CELLA_PLANNED_TRUTH_CELLS")
        .map(|v| {
            v.parse()
                .expect("CELLA_PLANNED_TRUTH_CELLS must be a count")
        })
        .unwrap_or(DEFAULT_CELLS)
}

/// The kinds of planned motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Joint,
    Ptp,
    Lin,
}

/// A checked state where the truth finds two bodies interpenetrating.
struct Violation {
    cell: usize,
    kind: Kind,
    /// Time of the sample at or after the state, s.
    time: f64,
    q: Vec<f64>,
    a: String,
    b: String,
    depth: f64,
}

/// How the problems of one kind went on one robot.
#[derive(Default)]
struct Tally {
    attempted: usize,
    planned: usize,
    /// Failure reason -> count.
    failures: BTreeMap<&'static str, usize>,
}

struct Report {
    name: String,
    summary: String,
    problems: Vec<String>,
    violations: Vec<Violation>,
    tallies: BTreeMap<Kind, Tally>,
}

fn reason(e: &PlanningError) -> &'static str {
    match e {
        PlanningError::Timeout { .. } => "timeout",
        PlanningError::NoPath { .. } => "no path",
        PlanningError::MotionInCollision { .. } => "motion collides",
        PlanningError::CartesianPathFailed { .. } => "cartesian path fails",
        PlanningError::GoalUnreachable { .. } => "goal unreachable",
        PlanningError::Trajectory { .. } => "trajectory",
        PlanningError::StartInCollision { .. } => "start in collision",
        PlanningError::GoalInCollision { .. } => "goal in collision",
        PlanningError::Kinematics(_) => "kinematics",
        _ => "other",
    }
}

/// A random rotation: yaw anywhere, roll and pitch up to `tilt` rad.
fn random_rotation(rng: &mut Rng, tilt: f64) -> UnitQuaternion<f64> {
    UnitQuaternion::from_euler_angles(
        rng.uniform(-tilt, tilt),
        rng.uniform(-tilt, tilt),
        rng.uniform(-std::f64::consts::PI, std::f64::consts::PI),
    )
}

/// A random unit vector.
fn random_direction(rng: &mut Rng) -> Vector3<f64> {
    loop {
        let v = Vector3::new(
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
        );
        let n = v.norm();
        if n > 0.1 && n <= 1.0 {
            return v / n;
        }
    }
}

/// Where states are drawn: the joint limits, cut to within π of the `home` pose (the UR5e's
/// ±2π joints would otherwise give start and goal on either side of a full turn of the upper
/// arm through the base, which no path connects).
struct Window {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl Window {
    fn new(robot: &cella_kinematics::Robot, space: &JointSpace) -> Self {
        let home = robot.named_pose("home").unwrap();
        let pi = std::f64::consts::PI;
        Self {
            lower: (0..space.dof())
                .map(|i| space.lower()[i].max(home[i] - pi))
                .collect(),
            upper: (0..space.dof())
                .map(|i| space.upper()[i].min(home[i] + pi))
                .collect(),
        }
    }

    fn sample(&self, rng: &mut Rng, q: &mut [f64]) {
        for (i, v) in q.iter_mut().enumerate() {
            *v = rng.uniform(self.lower[i], self.upper[i]);
        }
    }
}

/// A random state of `window` `checker` calls free (`near`: within `spread` rad of it per
/// joint), or `None` after `attempts` tries.
fn free_state(
    rng: &mut Rng,
    checker: &Checker,
    window: &Window,
    near: Option<(&[f64], f64)>,
    attempts: usize,
) -> Option<Vec<f64>> {
    let mut s = checker.scratch();
    let mut q = vec![0.0; window.lower.len()];
    for _ in 0..attempts {
        match near {
            None => window.sample(rng, &mut q),
            Some((c, spread)) => {
                for (i, v) in q.iter_mut().enumerate() {
                    *v = (c[i] + rng.uniform(-spread, spread))
                        .clamp(window.lower[i], window.upper[i]);
                }
            }
        }
        if checker.is_valid(&mut s, &q) {
            return Some(q);
        }
    }
    None
}

/// Checks `q` with the truth: every checked self pair and every hull against every box.
fn truth_state(
    truth: &mut Truth,
    pairs: &[(usize, usize)],
    q: &[f64],
) -> Vec<(String, String, f64)> {
    truth.place(q);
    let mut hits = Vec::new();
    for &(a, b) in pairs {
        if let Some(d) = truth.contact(a, b) {
            hits.push((truth.hulls[a].link.clone(), truth.hulls[b].link.clone(), d));
        }
    }
    for i in 0..truth.hulls.len() {
        for o in 0..truth.obstacles.len() {
            if let Some(d) = truth.obstacle_contact(i, o) {
                hits.push((
                    truth.hulls[i].link.clone(),
                    truth.obstacles[o].0.link.clone(),
                    d,
                ));
            }
        }
    }
    hits
}

/// Checks a trajectory along its whole length: each sample, and states interpolated between
/// consecutive samples so that no robot point moves more than [`STEP`] between checked
/// states (bounded by `levers`, m per rad). Returns the number of states checked.
fn check_trajectory(
    truth: &mut Truth,
    pairs: &[(usize, usize)],
    levers: &[f64],
    s: &SampledTrajectory,
    (cell, kind): (usize, Kind),
    violations: &mut Vec<Violation>,
) -> usize {
    let mut q = vec![0.0; s.dof];
    let mut checked = 0;
    for k in 0..s.len() {
        let b = s.q_at(k);
        let (a, n) = if k == 0 {
            (b, 1)
        } else {
            let a = s.q_at(k - 1);
            let sweep: f64 = levers
                .iter()
                .zip(a.iter().zip(b))
                .map(|(l, (x, y))| l * (y - x).abs())
                .sum();
            (a, ((sweep / STEP).ceil() as usize).max(1))
        };
        for i in 1..=n {
            let t = i as f64 / n as f64;
            for (j, v) in q.iter_mut().enumerate() {
                *v = a[j] + t * (b[j] - a[j]);
            }
            checked += 1;
            for (la, lb, depth) in truth_state(truth, pairs, &q) {
                violations.push(Violation {
                    cell,
                    kind,
                    time: s.times[k],
                    q: q.clone(),
                    a: la,
                    b: lb,
                    depth,
                });
            }
        }
    }
    checked
}

/// A seeded random cluttered cell: base pose, start, boxes (the world, and the same boxes in
/// the truth).
fn cell(
    rng: &mut Rng,
    geometry: &Arc<RobotGeometry>,
    window: &Window,
    truth: &mut Truth,
) -> (Isometry3<f64>, Vec<f64>, World) {
    let robot = geometry.robot();
    let base = Isometry3::from_parts(
        Translation3::new(
            rng.uniform(-0.5, 0.5),
            rng.uniform(-0.5, 0.5),
            rng.uniform(0.0, 0.3),
        ),
        random_rotation(rng, 0.3),
    );
    let bare = Checker::new(geometry.clone(), base, &World::new(), &[]).unwrap();
    let start = free_state(rng, &bare, window, None, 10_000).expect("no self-collision-free start");
    let mut world = World::new();
    world.set_padding(0.0).unwrap();
    truth.clear_obstacles();
    truth.set_base(base);
    let boxes = 6 + (rng.next_u64() % 7) as usize;
    let mut q = vec![0.0; window.lower.len()];
    let mut tries = 0;
    while world.objects().len() < boxes && tries < 1000 {
        tries += 1;
        window.sample(rng, &mut q);
        let centre = base * robot.fk(&q).unwrap().translation.vector;
        let half = [0.0; 3].map(|_: f64| rng.uniform(0.025, 0.125));
        let pose = Isometry3::from_parts(
            Translation3::from(centre),
            random_rotation(rng, std::f64::consts::PI),
        );
        let name = format!("box{}", world.objects().len());
        world
            .add(WorldObject {
                name: name.clone(),
                shape: Shape::Box { half_extents: half },
                pose,
                padding: 0.0,
            })
            .unwrap();
        let checker = Checker::new(geometry.clone(), base, &roomy(&world), &[]).unwrap();
        if checker.is_valid(&mut checker.scratch(), &start) {
            truth.add_box(&name, half, pose);
        } else {
            world.remove(&name).unwrap();
        }
    }
    assert!(
        world.objects().len() == boxes,
        "{}: could not place {boxes} boxes clear of the start",
        robot.name()
    );
    (base, start, world)
}

/// `world` with padding [`ROOM`].
fn roomy(world: &World) -> World {
    let mut w = world.clone();
    w.set_padding(ROOM).unwrap();
    w
}

fn check_robot(index: usize, name: &str) -> Report {
    let t0 = std::time::Instant::now();
    let geometry = Arc::new(RobotGeometry::library(name).unwrap());
    let robot = geometry.robot().clone();
    let mut truth = Truth::new(&robot);
    let SelfPairs {
        pairs,
        link_pairs,
        verified,
        problems,
    } = self_pairs(&mut truth, &robot, &geometry, index);
    let truth_levers = truth.lever_arms(&robot);
    let levers: Vec<f64> = geometry
        .lever_arms()
        .iter()
        .zip(&truth_levers)
        .map(|(a, b)| a.max(*b))
        .collect();
    let space = JointSpace::of_chain(robot.chain()).unwrap();
    let limits = Limits::of_robot(&robot).unwrap();
    let window = Window::new(&robot, &space);

    let mut tallies: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut violations = Vec::new();
    let (mut trajectories, mut states, mut boxes) = (0, 0, 0);
    let mut record = |kind: Kind,
                      result: Result<SampledTrajectory, PlanningError>,
                      truth: &mut Truth,
                      cell: usize,
                      violations: &mut Vec<Violation>| {
        let tally = tallies.entry(kind).or_default();
        tally.attempted += 1;
        match result {
            Ok(samples) => {
                tally.planned += 1;
                trajectories += 1;
                states +=
                    check_trajectory(truth, &pairs, &levers, &samples, (cell, kind), violations);
            }
            Err(e) => {
                eprintln!("{name}: cell {cell}, {kind:?} not planned: {e}");
                *tally.failures.entry(reason(&e)).or_default() += 1
            }
        }
    };
    for c in 0..n_cells() {
        let mut rng = Rng::new(0x0021_0000 + 0x100 * index as u64 + c as u64);
        let (base, start, world) = cell(&mut rng, &geometry, &window, &mut truth);
        boxes += world.objects().len();
        let checker = Checker::new(geometry.clone(), base, &world, &[]).unwrap();
        let roomy = Checker::new(geometry.clone(), base, &roomy(&world), &[]).unwrap();
        let options = PlanOptions {
            seed: c as u64 + 1,
            time_budget: Duration::from_secs(4),
            ..PlanOptions::default()
        };

        // free planning to a random free goal
        let goal = free_state(&mut rng, &roomy, &window, None, 10_000).expect("no free goal");
        let result = plan_joint(
            &checker,
            &space,
            &limits,
            &start,
            std::slice::from_ref(&goal),
            &options,
            None,
        );
        record(
            Kind::Joint,
            result.map(|m| m.samples),
            &mut truth,
            c,
            &mut violations,
        );

        // PTP to a free goal nearby
        let goal = free_state(&mut rng, &roomy, &window, Some((&start, 0.6)), 10_000)
            .expect("no free PTP goal");
        let result = plan_ptp(&checker, &space, &limits, &start, &goal, &options);
        record(
            Kind::Ptp,
            result.map(|m| m.samples),
            &mut truth,
            c,
            &mut violations,
        );

        // LIN to the TCP pose of a free state nearby (same arm configuration, most likely)
        let near = free_state(&mut rng, &roomy, &window, Some((&start, 0.3)), 10_000)
            .expect("no free LIN goal");
        let goal = robot.fk(&near).unwrap();
        let result = plan_cartesian(
            &checker,
            &robot,
            &limits,
            &start,
            &CartesianPath::Line { goal },
            &CartesianOptions::default(),
        );
        record(
            Kind::Lin,
            result.map(|m| m.samples),
            &mut truth,
            c,
            &mut violations,
        );
    }

    let kinds: Vec<String> = tallies
        .iter()
        .map(|(k, t)| {
            let failures: Vec<String> =
                t.failures.iter().map(|(r, n)| format!("{r} {n}")).collect();
            format!(
                "{k:?} {}/{} planned{}",
                t.planned,
                t.attempted,
                if failures.is_empty() {
                    String::new()
                } else {
                    format!(" (failed: {})", failures.join(", "))
                }
            )
        })
        .collect();
    let st = truth.stats;
    let summary = format!(
        "{name}: {} cells ({boxes} boxes), {link_pairs} checked self link pairs ({} hull pairs), \
         verified allowances [{}]; {}; {trajectories} trajectories, {states} states checked, \
         {} violations; levers (m/rad) [{}]; SAT calls {}, parry calls {}; {:.1} s",
        n_cells(),
        pairs.len(),
        verified.join(", "),
        kinds.join("; "),
        violations.len(),
        levers
            .iter()
            .map(|l| format!("{l:.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        st.sat_calls,
        st.parry_calls,
        t0.elapsed().as_secs_f64()
    );
    eprintln!("{summary}");
    Report {
        name: name.to_owned(),
        summary,
        problems,
        violations,
        tallies,
    }
}

#[test]
fn planned_trajectories_pass_the_mesh_truth_in_cluttered_cells() {
    let mut reports = for_every_robot(check_robot);
    reports.sort_by(|a, b| a.name.cmp(&b.name));

    let mut msg = String::new();
    for r in &reports {
        for p in &r.problems {
            writeln!(msg, "  {}: {p}", r.name).unwrap();
        }
        if !r.violations.is_empty() {
            let mut per_pair: BTreeMap<(Kind, &str, &str), (usize, f64)> = BTreeMap::new();
            for v in &r.violations {
                let e = per_pair.entry((v.kind, &v.a, &v.b)).or_insert((0, 0.0));
                e.0 += 1;
                e.1 = e.1.min(v.depth);
            }
            writeln!(
                msg,
                "  {}: {} interpenetrating pairs in states of planned trajectories:",
                r.name,
                r.violations.len()
            )
            .unwrap();
            for ((kind, a, b), (count, depth)) in &per_pair {
                writeln!(
                    msg,
                    "    {kind:?}: {a}-{b}: {count} times, deepest {depth:.5} m"
                )
                .unwrap();
            }
            // the first violation of each trajectory, at most 10
            let mut seen = Vec::new();
            for v in &r.violations {
                if seen.contains(&(v.cell, v.kind)) {
                    continue;
                }
                seen.push((v.cell, v.kind));
                if seen.len() > 10 {
                    break;
                }
                writeln!(
                    msg,
                    "    first in cell {} {:?}: t = {:.3} s, q = {}: {}-{} depth {:.5} m",
                    v.cell,
                    v.kind,
                    v.time,
                    fmt_q(&v.q),
                    v.a,
                    v.b,
                    v.depth
                )
                .unwrap();
            }
        }
        let joint = &r.tallies[&Kind::Joint];
        let (planned, attempted) = r
            .tallies
            .values()
            .fold((0, 0), |(p, a), t| (p + t.planned, a + t.attempted));
        for (what, p, a) in [
            ("free-planning", joint.planned, joint.attempted),
            ("all", planned, attempted),
        ] {
            if (p as f64) < MIN_PLANNED * a as f64 {
                writeln!(
                    msg,
                    "  {}: only {p} of {a} {what} problems planned (< {:.0} %)",
                    r.name,
                    100.0 * MIN_PLANNED
                )
                .unwrap();
            }
        }
        for (kind, t) in &r.tallies {
            if t.planned == 0 {
                writeln!(msg, "  {}: no {kind:?} problem planned", r.name).unwrap();
            }
        }
    }
    assert!(
        msg.is_empty(),
        "planned trajectories against the collision truth (manufacturer meshes, k FK, exact \
         SAT):\n{msg}\nsummaries:\n{}",
        reports
            .iter()
            .map(|r| r.summary.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The truth's boxes are where the checker's are: with a tilted, moved base, a box just past a
/// hull's farthest vertex in some direction is apart from it, the same box 2 mm nearer
/// touches it.
#[test]
fn the_truth_sees_boxes_where_they_are() {
    let robot = cella_kinematics::library::load("ur5e").unwrap();
    let mut truth = Truth::new(&robot);
    let mut rng = Rng::new(21);
    let base = Isometry3::from_parts(
        Translation3::new(0.4, -0.3, 0.2),
        random_rotation(&mut rng, 0.3),
    );
    truth.set_base(base);
    truth.place(robot.named_pose("home").unwrap());
    for i in 0..truth.hulls.len() {
        let x = base * truth.link_poses[truth.hull_link[i]];
        for _ in 0..20 {
            let u = random_direction(&mut rng);
            let far = truth.hulls[i]
                .verts
                .iter()
                .map(|v| x * nalgebra::Point3::from(*v))
                .max_by(|a, b| u.dot(&a.coords).total_cmp(&u.dot(&b.coords)))
                .unwrap();
            let rotation =
                UnitQuaternion::rotation_between(&Vector3::z(), &u).unwrap_or_else(|| {
                    UnitQuaternion::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI)
                });
            let half = [0.02, 0.03, 0.04];
            for (gap, touching) in [(1e-3, false), (-1e-3, true)] {
                let centre = far.coords + u * (half[2] + gap);
                truth.clear_obstacles();
                truth.add_box(
                    "probe",
                    half,
                    Isometry3::from_parts(centre.into(), rotation),
                );
                assert_eq!(
                    truth.obstacle_contact(i, 0).is_some(),
                    touching,
                    "hull {i} of '{}', direction {u:?}, gap {gap} m",
                    truth.hulls[i].link
                );
            }
        }
    }
}
