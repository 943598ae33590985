#![allow(clippy::unwrap_used)]
//! Analytic durations of the profiles, and property tests: random paths of 2-50 waypoints on
//! 6 and 7 axes never exceed their limits, end exactly at the goal, and contain no NaN.

use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{Limits, ScalarProfile, SegmentedTrajectory, validate};
use common::{off_segments_outside, period_for};
use proptest::prelude::*;

mod common;

#[test]
fn trapezoid_and_triangle_durations_are_analytic() {
    // d = 2, v = 1, a = 2: t = d/v + v/a = 2.5
    let p = ScalarProfile::trapezoidal(2.0, 1.0, 2.0).unwrap();
    assert!((p.duration() - 2.5).abs() < 1e-12);
    // d = 0.5, v = 10, a = 2: triangle, t = 2 sqrt(d/a) = 1
    let p = ScalarProfile::trapezoidal(0.5, 10.0, 2.0).unwrap();
    assert!((p.duration() - 1.0).abs() < 1e-12);
    assert!((p.evaluate(0.5).0 - 0.25).abs() < 1e-12);
    assert_eq!(p.evaluate(1.0).0, 0.5);
}

#[test]
fn double_s_duration_matches_biagiotti() {
    // Biagiotti & Melchiorri example 3.9 (v0 = v1 = 0): h = 10, vmax = 5, amax = 10, jmax = 30:
    // Tj = 1/3, Ta = 0.8333, Tv = 1.1667, T = 2.8333
    let p = ScalarProfile::double_s(10.0, 5.0, 10.0, 30.0).unwrap();
    assert!((p.duration() - (2.0 * (1.0 / 3.0 + 0.5) + (2.0 - (1.0 / 3.0 + 0.5)))).abs() < 1e-9);
    assert!((p.evaluate(p.duration()).0 - 10.0).abs() < 1e-12);
    // the position at the end of the motion is continuous with the last phase
    let (s, v, _) = p.evaluate(p.duration() - 1e-9);
    assert!((s - 10.0).abs() < 1e-6 && v.abs() < 1e-6);
    // short move: neither vmax nor amax reached, Tj = (h / 2j)^(1/3), T = 4 Tj
    let p = ScalarProfile::double_s(0.01, 5.0, 10.0, 30.0).unwrap();
    let tj = (0.01f64 / 60.0).cbrt();
    assert!((p.duration() - 4.0 * tj).abs() < 1e-12);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(ScalarProfile::trapezoidal(1.0, 0.0, 1.0).is_err());
    assert!(ScalarProfile::trapezoidal(f64::NAN, 1.0, 1.0).is_err());
    assert!(ScalarProfile::double_s(1.0, 1.0, 1.0, -1.0).is_err());
    let l = limits(2, 1.0);
    assert!(
        SegmentedTrajectory::new(
            &[],
            &l,
            &SegmentOptions {
                jerk_limited: false,
                ..SegmentOptions::default()
            }
        )
        .is_err()
    );
    assert!(
        SegmentedTrajectory::new(
            &[vec![0.0, f64::NAN]],
            &l,
            &SegmentOptions {
                jerk_limited: false,
                ..SegmentOptions::default()
            }
        )
        .is_err()
    );
    assert!(
        SegmentedTrajectory::new(
            &[vec![0.0]],
            &l,
            &SegmentOptions {
                jerk_limited: false,
                ..SegmentOptions::default()
            }
        )
        .is_err()
    );
    assert!(l.scaled(0.0, 1.0).is_err() && l.scaled(1.0, 1.5).is_err());
}

fn limits(n: usize, scale: f64) -> Limits {
    Limits {
        names: (0..n).map(|i| format!("j{i}")).collect(),
        lower: vec![-3.0; n],
        upper: vec![3.0; n],
        velocity: (0..n).map(|i| scale * (1.0 + 0.3 * i as f64)).collect(),
        acceleration: (0..n).map(|i| scale * (2.0 + 0.5 * i as f64)).collect(),
        jerk: Some((0..n).map(|i| scale * (20.0 + 3.0 * i as f64)).collect()),
    }
}

fn path_strategy() -> impl Strategy<Value = (usize, Vec<Vec<f64>>, f64, bool)> {
    (
        prop_oneof![Just(6usize), Just(7usize)],
        2usize..50,
        0.2f64..3.0,
        any::<bool>(),
    )
        .prop_flat_map(|(n, len, scale, jerk)| {
            (
                Just(n),
                proptest::collection::vec(proptest::collection::vec(-3.0f64..3.0, n), len),
                Just(scale),
                Just(jerk),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_paths_respect_limits_and_end_exactly((n, path, scale, jerk) in path_strategy()) {
        let mut l = limits(n, scale);
        if !jerk {
            l.jerk = None;
        }
        let traj = SegmentedTrajectory::new(&path, &l, &SegmentOptions { jerk_limited: jerk, ..SegmentOptions::default() }).unwrap();
        let s = traj.sample(period_for(traj.duration(), 0.004)).unwrap();
        validate(&s, &l, 1e-6).unwrap();
        prop_assert_eq!(s.q_at(0), &path[0][..]);
        prop_assert_eq!(s.q_at(s.len() - 1), &path[path.len() - 1][..]);
        prop_assert!(s.qd_at(s.len() - 1).iter().all(|v| *v == 0.0));
        prop_assert!((s.duration() - traj.duration()).abs() < 1e-12);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The planners check the straight segments and then only the blend windows: outside
    /// every overlap window the motion must be on the segments.
    #[test]
    fn outside_the_blend_windows_the_motion_is_on_the_segments(
        (n, path, scale, _) in path_strategy(),
        deviation in prop_oneof![Just(0.0), 0.001f64..0.3],
    ) {
        let l = limits(n, scale);
        let options = SegmentOptions { jerk_limited: true, max_deviation: deviation };
        let traj = SegmentedTrajectory::new(&path, &l, &options).unwrap();
        let windows = traj.blend_windows();
        if deviation == 0.0 {
            prop_assert!(windows.is_empty());
        }
        let s = traj.sample(period_for(traj.duration(), 0.004)).unwrap();
        let (_, worst) = off_segments_outside(&s, &windows, &path);
        prop_assert!(worst < 1e-9, "{worst} rad off the segments, windows {windows:?}");
    }
}

#[test]
fn overlap_blending_keeps_jerk_limits_and_never_stops_at_the_corner() {
    let l = limits(2, 1.0);
    let path = vec![
        vec![0.0, 0.0],
        vec![1.0, 0.0],
        vec![1.0, 1.0],
        vec![2.0, 1.0],
    ];
    let stop = SegmentedTrajectory::new(
        &path,
        &l,
        &SegmentOptions {
            jerk_limited: true,
            ..SegmentOptions::default()
        },
    )
    .unwrap();
    let blended = SegmentedTrajectory::new(
        &path,
        &l,
        &SegmentOptions {
            jerk_limited: true,
            max_deviation: 0.1,
        },
    )
    .unwrap();
    assert!(blended.duration() < 0.9 * stop.duration());
    assert_eq!(blended.blend_windows().len(), 2);
    assert!(stop.blend_windows().is_empty());
    let s = blended.sample(0.001).unwrap();
    validate(&s, &l, 1e-6).unwrap();
    assert_eq!(s.q_at(s.len() - 1), &path[3][..]);
    // moving all the way, and never further than 0.1 from the polyline
    for k in 1..s.len() - 1 {
        let q = s.q_at(k);
        assert!(
            s.qd_at(k).iter().any(|v| v.abs() > 1e-9),
            "stopped at sample {k}"
        );
        let off = path
            .windows(2)
            .map(|w| {
                let t = ((q[0] - w[0][0]) * (w[1][0] - w[0][0])
                    + (q[1] - w[0][1]) * (w[1][1] - w[0][1]))
                    .clamp(0.0, 1.0);
                ((q[0] - w[0][0] - t * (w[1][0] - w[0][0])).powi(2)
                    + (q[1] - w[0][1] - t * (w[1][1] - w[0][1])).powi(2))
                .sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        assert!(off <= 0.1 + 1e-9, "sample {k} is {off} off the path");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn overlap_blended_random_paths_respect_every_limit(
        (n, path, scale, _) in path_strategy(),
        deviation in 0.01f64..0.5,
    ) {
        let l = limits(n, scale);
        let options = SegmentOptions { jerk_limited: true, max_deviation: deviation };
        let traj = SegmentedTrajectory::new(&path, &l, &options).unwrap();
        let s = traj.sample(period_for(traj.duration(), 0.002)).unwrap();
        validate(&s, &l, 1e-6).unwrap();
        prop_assert_eq!(s.q_at(0), &path[0][..]);
        prop_assert_eq!(s.q_at(s.len() - 1), &path[path.len() - 1][..]);
        let unblended = SegmentedTrajectory::new(
            &path,
            &l,
            &SegmentOptions { jerk_limited: true, ..SegmentOptions::default() },
        )
        .unwrap();
        prop_assert!(traj.duration() <= unblended.duration() + 1e-12);
    }
}
