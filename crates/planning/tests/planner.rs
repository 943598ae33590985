#![allow(clippy::unwrap_used)]
//! The planner on a 2-D test world (a point in the unit square with walls), where validity is
//! known exactly: paths avoid the walls, results are deterministic for a seed, and every
//! failure is reported with its reason.

use cella_planning::plan::{PlanOptions, plan_joint};
use cella_planning::{JointSpace, NamedPair, PlanningError, ValidityChecker};
use cella_trajectory::Limits;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Axis-aligned walls `[xmin, xmax, ymin, ymax]`; motions are checked every 1 mm.
struct Walls(Vec<[f64; 4]>);

impl Walls {
    fn inside(&self, q: &[f64]) -> Option<usize> {
        self.0
            .iter()
            .position(|w| q[0] >= w[0] && q[0] <= w[1] && q[1] >= w[2] && q[1] <= w[3])
    }
}

impl ValidityChecker for Walls {
    type Scratch = ();
    fn scratch(&self) {}
    fn dof(&self) -> usize {
        2
    }
    fn state_valid(&self, _: &mut (), q: &[f64]) -> bool {
        self.inside(q).is_none()
    }
    fn motion_valid(&self, s: &mut (), a: &[f64], b: &[f64]) -> bool {
        let d = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        let n = (d / 1e-3).ceil().max(1.0) as usize;
        (0..=n).all(|k| {
            let t = k as f64 / n as f64;
            self.state_valid(s, &[a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])])
        })
    }
    fn colliding_pairs(&self, _: &mut (), q: &[f64]) -> Vec<NamedPair> {
        self.inside(q)
            .map(|i| vec![("point".to_owned(), format!("wall{i}"))])
            .unwrap_or_default()
    }
}

fn space() -> JointSpace {
    JointSpace::new(vec!["x".into(), "y".into()], vec![0.0, 0.0], vec![1.0, 1.0]).unwrap()
}

fn limits() -> Limits {
    Limits {
        names: vec!["x".into(), "y".into()],
        lower: vec![0.0, 0.0],
        upper: vec![1.0, 1.0],
        velocity: vec![1.0, 1.0],
        acceleration: vec![2.0, 2.0],
        jerk: Some(vec![20.0, 20.0]),
    }
}

/// A wall across the middle with a gap at the top.
fn wall_with_gap() -> Walls {
    Walls(vec![[0.45, 0.55, 0.0, 0.85]])
}

fn options(seed: u64) -> PlanOptions {
    PlanOptions {
        range: 0.2,
        seed,
        ..PlanOptions::default()
    }
}

#[test]
fn finds_a_path_through_the_gap_and_every_sample_is_free() {
    let walls = wall_with_gap();
    let (start, goal) = (vec![0.1, 0.1], vec![0.9, 0.1]);
    let m = plan_joint(
        &walls,
        &space(),
        &limits(),
        &start,
        std::slice::from_ref(&goal),
        &options(1),
        None,
    )
    .unwrap();
    assert!(!m.direct);
    assert_eq!(m.path.first().unwrap(), &start);
    assert_eq!(m.path.last().unwrap(), &goal);
    // independent check of the timed samples: every sample and every step between them free
    let s = &m.samples;
    for k in 1..s.len() {
        assert!(
            walls.motion_valid(&mut (), s.q_at(k - 1), s.q_at(k)),
            "sample {k} crosses the wall"
        );
    }
    // it must go over the wall top (y > 0.85)
    assert!((0..s.len()).any(|k| s.q_at(k)[1] > 0.85));
}

#[test]
fn direct_motion_when_free() {
    let walls = Walls(vec![]);
    let m = plan_joint(
        &walls,
        &space(),
        &limits(),
        &[0.1, 0.1],
        &[vec![0.9, 0.7]],
        &options(1),
        None,
    )
    .unwrap();
    assert!(m.direct);
    assert_eq!(m.path.len(), 2);
}

#[test]
fn same_seed_same_path_other_seed_other_path() {
    let walls = wall_with_gap();
    let plan = |seed| {
        plan_joint(
            &walls,
            &space(),
            &limits(),
            &[0.1, 0.1],
            &[vec![0.9, 0.1]],
            &options(seed),
            None,
        )
        .unwrap()
        .path
    };
    assert_eq!(plan(7), plan(7));
    assert_ne!(plan(7), plan(8));
}

#[test]
fn reaches_the_reachable_goal_of_several() {
    // the first goal is walled in, the second is reachable
    let walls = Walls(vec![[0.6, 0.65, 0.0, 1.0]]);
    let goals = vec![vec![0.9, 0.5], vec![0.3, 0.9]];
    let opts = PlanOptions {
        time_budget: Duration::from_millis(300),
        ..options(3)
    };
    let m = plan_joint(
        &walls,
        &space(),
        &limits(),
        &[0.1, 0.1],
        &goals,
        &opts,
        None,
    )
    .unwrap();
    assert_eq!(m.path.last().unwrap(), &goals[1]);
}

#[test]
fn failures_are_answers_with_reasons() {
    let walls = wall_with_gap();
    let (sp, l) = (space(), limits());
    let e = plan_joint(
        &walls,
        &sp,
        &l,
        &[0.5, 0.5],
        &[vec![0.9, 0.1]],
        &options(1),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&e, PlanningError::StartInCollision { pairs } if pairs[0].1 == "wall0"),
        "{e}"
    );
    let e = plan_joint(
        &walls,
        &sp,
        &l,
        &[0.1, 0.1],
        &[vec![0.5, 0.2]],
        &options(1),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, PlanningError::GoalInCollision { .. }), "{e}");
    let e = plan_joint(
        &walls,
        &sp,
        &l,
        &[0.1, 1.5],
        &[vec![0.9, 0.1]],
        &options(1),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&e, PlanningError::OutOfLimits { joint, .. } if joint == "y"),
        "{e}"
    );
    let e = plan_joint(
        &walls,
        &sp,
        &l,
        &[0.1, f64::NAN],
        &[vec![0.9, 0.1]],
        &options(1),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, PlanningError::InvalidInput { .. }), "{e}");
    let e = plan_joint(&walls, &sp, &l, &[0.1, 0.1], &[], &options(1), None).unwrap_err();
    assert!(matches!(e, PlanningError::InvalidInput { .. }), "{e}");
    let bad = PlanOptions {
        velocity_scale: 1.5,
        ..options(1)
    };
    assert!(plan_joint(&walls, &sp, &l, &[0.1, 0.1], &[vec![0.9, 0.1]], &bad, None).is_err());
    // a goal enclosed by walls: the search runs out of time
    let closed = Walls(vec![[0.7, 1.0, 0.7, 0.72], [0.7, 0.72, 0.7, 1.0]]);
    let opts = PlanOptions {
        time_budget: Duration::from_millis(50),
        ..options(1)
    };
    let e = plan_joint(
        &closed,
        &sp,
        &l,
        &[0.1, 0.1],
        &[vec![0.9, 0.9]],
        &opts,
        None,
    )
    .unwrap_err();
    match e {
        // best effort: the start tree gets close to the enclosure but never inside it (the
        // goal is at least 0.18 from any free point the start can reach)
        PlanningError::Timeout { closest, nodes, .. } => {
            assert!((0.18..0.35).contains(&closest), "closest {closest}");
            assert!(nodes > 10);
        }
        other => panic!("expected a timeout, got {other}"),
    }
    // a raised cancel flag stops the search
    let cancel = AtomicBool::new(true);
    let e = plan_joint(
        &closed,
        &sp,
        &l,
        &[0.1, 0.1],
        &[vec![0.9, 0.9]],
        &options(1),
        Some(&cancel),
    )
    .unwrap_err();
    assert!(matches!(e, PlanningError::Cancelled), "{e}");
}

#[test]
fn ptp_moves_straight_or_says_where_it_collides() {
    use cella_planning::plan_ptp;
    let free = Walls(vec![]);
    let m = plan_ptp(
        &free,
        &space(),
        &limits(),
        &[0.1, 0.1],
        &[0.9, 0.5],
        &options(1),
    )
    .unwrap();
    // every sample on the straight line (joint-synchronized)
    let s = &m.samples;
    for k in 0..s.len() {
        let q = s.q_at(k);
        let along = (q[0] - 0.1) / 0.8;
        assert!((q[1] - (0.1 + 0.4 * along)).abs() < 1e-9);
    }
    // the wall crosses the straight line at x = 0.45: fraction (0.45 - 0.1) / 0.8
    let walls = wall_with_gap();
    let e = plan_ptp(
        &walls,
        &space(),
        &limits(),
        &[0.1, 0.1],
        &[0.9, 0.1],
        &options(1),
    )
    .unwrap_err();
    match e {
        PlanningError::MotionInCollision {
            fraction,
            pairs,
            step: None,
        } => {
            assert!((fraction - 0.35 / 0.8).abs() < 2e-3, "{fraction}");
            assert_eq!(pairs[0].1, "wall0");
        }
        other => panic!("{other}"),
    }
}

/// The final check of a planned path whose segments are proven free looks at the blends
/// alone: a blend that cuts the corner of a wall is found and tightened, for either timing
/// (jerk-limited overlap blends and time-optimal circular blends), and every sample of the
/// result is free by an independent dense check.
#[test]
fn a_blend_through_a_wall_corner_is_tightened_when_only_blends_are_checked() {
    use cella_planning::{Sampling, Segments, time_and_validate};
    use cella_trajectory::segmented::SegmentOptions;
    use cella_trajectory::{SegmentedTrajectory, TimeOptimalOptions, TimeOptimalTrajectory};
    // an L around the upper right corner of a block, 2 cm clear of it
    let walls = Walls(vec![[0.3, 0.5, 0.3, 0.5]]);
    let path = vec![vec![0.1, 0.52], vec![0.52, 0.52], vec![0.52, 0.1]];
    assert!(
        path.windows(2)
            .all(|w| walls.motion_valid(&mut (), &w[0], &w[1]))
    );
    let deviation = 0.08;
    for jerk in [true, false] {
        let mut l = limits();
        if !jerk {
            l.jerk = None;
        }
        // the requested blend does cut into the block
        let samples = if jerk {
            let o = SegmentOptions {
                jerk_limited: true,
                max_deviation: deviation,
            };
            SegmentedTrajectory::new(&path, &l, &o)
                .unwrap()
                .sample(0.004)
        } else {
            let o = TimeOptimalOptions {
                max_deviation: deviation,
                ..TimeOptimalOptions::default()
            };
            TimeOptimalTrajectory::new(&path, &l, &o)
                .unwrap()
                .sample(0.004)
        }
        .unwrap();
        assert!(
            (0..samples.len()).any(|k| walls.inside(samples.q_at(k)).is_some()),
            "jerk {jerk}: the untightened blend should hit the block"
        );
        let (timing, s) = time_and_validate(
            &walls,
            &mut (),
            &path,
            &l,
            &Sampling::every(0.004),
            deviation,
            Segments::Checked,
        )
        .unwrap();
        for k in 1..s.len() {
            assert!(
                walls.motion_valid(&mut (), s.q_at(k - 1), s.q_at(k)),
                "jerk {jerk}: sample {k} in the block"
            );
        }
        // still blended (tightened, not dropped): the corner is passed without stopping
        assert!(!timing.blend_windows().is_empty(), "jerk {jerk}");
        assert!((1..s.len() - 1).all(|k| s.qd_at(k).iter().any(|v| v.abs() > 1e-9)));
    }
}
