#![allow(clippy::unwrap_used)]
//! Time-optimal blended trajectories: analytic cases (a straight motion is the time-optimal
//! trapezoid; without blending every corner is a stop and the duration equals the
//! stop-at-every-waypoint trajectory), the blend geometry bound, and property tests on random
//! 6- and 7-axis paths of 2-50 waypoints: limits never exceeded, endpoints exact, no NaN,
//! never more than 5 % slower than stopping at every waypoint (hairpin corners).

use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{
    Limits, ScalarProfile, SegmentedTrajectory, TimeOptimalOptions, TimeOptimalTrajectory, validate,
};
use common::{off_segments_outside, period_for, point_segment_distance};
use proptest::prelude::*;

mod common;

fn limits(n: usize, scale: f64) -> Limits {
    Limits {
        names: (0..n).map(|i| format!("j{i}")).collect(),
        lower: vec![-3.0; n],
        upper: vec![3.0; n],
        velocity: (0..n).map(|i| scale * (1.0 + 0.3 * i as f64)).collect(),
        acceleration: (0..n).map(|i| scale * (2.0 + 0.5 * i as f64)).collect(),
        jerk: None,
    }
}

fn stop_at_every_waypoint(path: &[Vec<f64>], l: &Limits) -> f64 {
    SegmentedTrajectory::new(path, l, &SegmentOptions::default())
        .unwrap()
        .duration()
}

#[test]
fn straight_motion_is_the_time_optimal_trapezoid() {
    let l = limits(2, 1.0);
    // joint 0 moves 2 rad, joint 1 moves 1 rad: along the unit direction d = (2,1)/√5 the path
    // speed limit is min(v_i/|d_i|) and the acceleration min(a_i/|d_i|)
    let path = vec![vec![0.0, 0.0], vec![2.0, 1.0]];
    let traj = TimeOptimalTrajectory::new(&path, &l, &TimeOptimalOptions::default()).unwrap();
    let length = 5f64.sqrt();
    let d = [2.0 / length, 1.0 / length];
    let v = (l.velocity[0] / d[0]).min(l.velocity[1] / d[1]);
    let a = (l.acceleration[0] / d[0]).min(l.acceleration[1] / d[1]);
    let expected = ScalarProfile::trapezoidal(length, v, a).unwrap().duration();
    assert!(
        (traj.duration() - expected).abs() < 1e-9,
        "{} vs {expected}",
        traj.duration()
    );
    let s = traj.sample(0.001).unwrap();
    validate(&s, &l, 1e-6).unwrap();
    assert_eq!(s.q_at(s.len() - 1), &path[1][..]);
}

#[test]
fn without_blending_every_corner_is_a_stop() {
    let l = limits(3, 1.0);
    let path = vec![
        vec![0.0, 0.0, 0.0],
        vec![1.0, 0.5, 0.0],
        vec![1.0, -0.5, 1.0],
        vec![-1.0, 0.0, 0.5],
    ];
    let options = TimeOptimalOptions {
        max_deviation: 0.0,
        ..TimeOptimalOptions::default()
    };
    let traj = TimeOptimalTrajectory::new(&path, &l, &options).unwrap();
    let stops = stop_at_every_waypoint(&path, &l);
    assert!(
        (traj.duration() - stops).abs() < 1e-9,
        "{} vs {stops}",
        traj.duration()
    );
    // at rest at each corner
    let corners = traj.path().stops().len();
    assert_eq!(corners, 2);
}

#[test]
fn blending_passes_within_the_deviation_and_is_faster() {
    let l = limits(2, 1.0);
    let path = vec![
        vec![0.0, 0.0],
        vec![1.0, 0.0],
        vec![1.0, 1.0],
        vec![2.0, 1.0],
    ];
    let options = TimeOptimalOptions {
        max_deviation: 0.05,
        ..TimeOptimalOptions::default()
    };
    let traj = TimeOptimalTrajectory::new(&path, &l, &options).unwrap();
    assert!(traj.duration() < 0.95 * stop_at_every_waypoint(&path, &l));
    let s = traj.sample(0.001).unwrap();
    validate(&s, &l, 1e-6).unwrap();
    // every sample within max_deviation of the polyline, and the corners approached that close
    let mut closest = [f64::INFINITY; 2];
    for k in 0..s.len() {
        let q = s.q_at(k);
        let to_polyline = path
            .windows(2)
            .map(|w| point_segment_distance(q, &w[0], &w[1]))
            .fold(f64::INFINITY, f64::min);
        assert!(
            to_polyline <= 0.05 + 1e-9,
            "sample {k} is {to_polyline} from the path"
        );
        for (c, corner) in closest.iter_mut().zip(&path[1..3]) {
            let d = ((q[0] - corner[0]).powi(2) + (q[1] - corner[1]).powi(2)).sqrt();
            *c = c.min(d);
        }
    }
    for c in closest {
        assert!(c < 0.05 + 0.002 && c > 0.05 - 0.002, "closest approach {c}");
    }
    // the motion does not stop between start and end
    let mid = (1..s.len() - 1).all(|k| s.qd_at(k).iter().any(|v| v.abs() > 1e-6));
    assert!(mid);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let l = limits(2, 1.0);
    let o = TimeOptimalOptions::default();
    assert!(TimeOptimalTrajectory::new(&[vec![0.0, 0.0]], &l, &o).is_err());
    assert!(TimeOptimalTrajectory::new(&[vec![0.0, 0.0], vec![0.0, 0.0]], &l, &o).is_err());
    assert!(TimeOptimalTrajectory::new(&[vec![0.0, 0.0], vec![5.0, 0.0]], &l, &o).is_err());
    assert!(TimeOptimalTrajectory::new(&[vec![0.0, 0.0], vec![f64::NAN, 0.0]], &l, &o).is_err());
    assert!(TimeOptimalTrajectory::new(&[vec![0.0], vec![1.0]], &l, &o).is_err());
    let bad = TimeOptimalOptions {
        max_deviation: -0.1,
        ..o.clone()
    };
    assert!(TimeOptimalTrajectory::new(&[vec![0.0, 0.0], vec![1.0, 0.0]], &l, &bad).is_err());
    let mut zero = l.clone();
    zero.acceleration[1] = 0.0;
    assert!(TimeOptimalTrajectory::new(&[vec![0.0, 0.0], vec![1.0, 0.0]], &zero, &o).is_err());
}

/// No two consecutive waypoints (nearly) equal: the time-optimal path refuses them.
fn distinct_waypoints(path: &[Vec<f64>]) -> bool {
    path.windows(2)
        .all(|w| w[0].iter().zip(&w[1]).any(|(a, b)| (a - b).abs() > 1e-6))
}

/// The limits of `n` joints at `scale` and the time-optimal trajectory along `path` with
/// blends of `deviation` rad.
fn blended(
    n: usize,
    path: &[Vec<f64>],
    scale: f64,
    deviation: f64,
) -> (Limits, TimeOptimalTrajectory) {
    let l = limits(n, scale);
    let options = TimeOptimalOptions {
        max_deviation: deviation,
        ..TimeOptimalOptions::default()
    };
    let traj = TimeOptimalTrajectory::new(path, &l, &options).unwrap();
    (l, traj)
}

fn path_strategy() -> impl Strategy<Value = (usize, Vec<Vec<f64>>, f64, f64)> {
    (
        prop_oneof![Just(6usize), Just(7usize)],
        2usize..50,
        0.2f64..3.0,
        prop_oneof![Just(0.0), 0.001f64..0.3],
    )
        .prop_flat_map(|(n, len, scale, deviation)| {
            (
                Just(n),
                proptest::collection::vec(proptest::collection::vec(-3.0f64..3.0, n), len),
                Just(scale),
                Just(deviation),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_paths_respect_limits_and_end_exactly((n, path, scale, deviation) in path_strategy()) {
        prop_assume!(distinct_waypoints(&path));
        let (l, traj) = blended(n, &path, scale, deviation);
        let s = traj.sample(period_for(traj.duration(), 0.004)).unwrap();
        validate(&s, &l, 1e-6).unwrap();
        prop_assert_eq!(s.q_at(0), &path[0][..]);
        let end = s.q_at(s.len() - 1);
        for (a, b) in end.iter().zip(&path[path.len() - 1]) {
            prop_assert!((a - b).abs() < 1e-12);
        }
        prop_assert!(s.qd_at(s.len() - 1).iter().all(|v| *v == 0.0));
        // a blended path is a different curve: round a hairpin corner the small blend circle
        // must be crawled at the centripetal limit, which can cost a little more than
        // stopping and turning on the spot (up to 2.1 % seen, on a 141° corner with 0.07 rad
        // deviation; 2 % faster on average over these random paths)
        let stops = stop_at_every_waypoint(&path, &l);
        prop_assert!(traj.duration() <= stops * 1.05, "{} > {}", traj.duration(), stops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The planners check the straight segments and then only the blend windows: outside
    /// every window the motion must be on the segments.
    #[test]
    fn outside_the_blend_windows_the_motion_is_on_the_segments((n, path, scale, deviation) in path_strategy()) {
        prop_assume!(distinct_waypoints(&path));
        let (_, traj) = blended(n, &path, scale, deviation);
        let windows = traj.blend_windows();
        if deviation == 0.0 {
            prop_assert!(windows.is_empty());
        }
        let s = traj.sample(period_for(traj.duration(), 0.004)).unwrap();
        let (outside, worst) = off_segments_outside(&s, &windows, &path);
        prop_assert!(worst < 1e-9, "{worst} rad off the segments, windows {windows:?}");
        prop_assert!(outside > 0);
    }
}

/// Durations against TOPP-RA (`tools/toppra_reference.py`, toppra 0.6.10) on the same blended
/// geometry, built independently in the script: the path lengths agree to 1e-9 and every
/// duration is within 2 % of TOPP-RA's.
#[test]
fn durations_match_toppra_within_two_percent() {
    let text = include_str!("data/toppra_reference.json");
    let reference: serde_json::Value = serde_json::from_str(text).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let numbers = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let mut worst: (f64, String) = (0.0, String::new());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let waypoints: Vec<Vec<f64>> = case["waypoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(numbers)
            .collect();
        let n = waypoints[0].len();
        let l = Limits {
            names: (0..n).map(|i| format!("j{i}")).collect(),
            lower: vec![-3.0; n],
            upper: vec![3.0; n],
            velocity: numbers(&case["velocity"]),
            acceleration: numbers(&case["acceleration"]),
            jerk: None,
        };
        let options = TimeOptimalOptions {
            max_deviation: case["max_deviation"].as_f64().unwrap(),
            ..TimeOptimalOptions::default()
        };
        let traj = TimeOptimalTrajectory::new(&waypoints, &l, &options).unwrap();
        let length = case["length"].as_f64().unwrap();
        assert!(
            (traj.path().length() - length).abs() < 1e-9,
            "{name}: path length {} vs {length}",
            traj.path().length()
        );
        validate(&traj.sample(0.002).unwrap(), &l, 1e-6).unwrap();
        let expected = case["duration"].as_f64().unwrap();
        let relative = (traj.duration() - expected) / expected;
        eprintln!(
            "{name}: {:.4} s, TOPP-RA {expected:.4} s ({:+.3} %)",
            traj.duration(),
            100.0 * relative
        );
        if relative.abs() > worst.0 {
            worst = (relative.abs(), name.to_string());
        }
    }
    assert!(
        worst.0 <= 0.02,
        "worst case {}: {:.3} %",
        worst.1,
        100.0 * worst.0
    );
}
