#![allow(clippy::unwrap_used)]
//! Sizes that follow from a request are bounded before anything is allocated (issue item 6):
//! a motion longer than `MAX_DURATION` is `TooLong`, one needing more samples than allowed or
//! a Cartesian path needing more IK steps than `MAX_PATH_STEPS` is `TooLarge`, each naming
//! the field to change. The inputs of the report: a LIN at 1e-9 m/s aborted the server
//! allocating 40 GB, `velocity_scale = 1e-9` was an internal error, `1e-5` took 3.8 s and
//! 515 MB before failing.

use cella_collision::{Checker, RobotGeometry, World};
use cella_planning::{
    CartesianOptions, CartesianPath, JointSpace, MAX_PATH_STEPS, PlanOptions, PlanningError,
    SequenceStep, plan_cartesian, plan_joint, plan_ptp, plan_sequence,
};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{CartesianLimits, Limits, MAX_DURATION, SegmentedTrajectory, validate};
use nalgebra::{Isometry3, Translation3, Vector3};
use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;

struct Kuka {
    geometry: Arc<RobotGeometry>,
    checker: Checker,
    limits: Limits,
    space: JointSpace,
}

fn kuka() -> Kuka {
    let geometry = Arc::new(RobotGeometry::library("kuka_kr6_r700").unwrap());
    let checker =
        Checker::new(geometry.clone(), Isometry3::identity(), &World::new(), &[]).unwrap();
    let limits = Limits::of_robot(geometry.robot()).unwrap();
    let space = JointSpace::of_chain(geometry.robot().chain()).unwrap();
    Kuka {
        geometry,
        checker,
        limits,
        space,
    }
}

const HOME: [f64; 6] = [0.0, -FRAC_PI_2, FRAC_PI_2, 0.0, FRAC_PI_2, 0.0];
const G1: [f64; 6] = [0.6, -1.3, 1.5, 0.3, 1.2, 0.2];

/// `(field, reason)` of a `TooLong` refusal, or a panic naming what came instead.
fn too_long(e: PlanningError) -> (String, String) {
    match e {
        PlanningError::TooLong { field, reason } => (field, reason),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

/// `(field, reason)` of a `TooLarge` refusal.
fn too_large(e: PlanningError) -> (String, String) {
    match e {
        PlanningError::TooLarge { field, reason } => (field, reason),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn ptp_and_free_motions_at_a_vanishing_speed_scale_name_the_scale() {
    let k = kuka();
    for scale in [1e-9, 1e-5, 1e-300] {
        let options = PlanOptions {
            velocity_scale: scale,
            ..PlanOptions::default()
        };
        let e = plan_ptp(&k.checker, &k.space, &k.limits, &HOME, &G1, &options).unwrap_err();
        let (field, reason) = too_long(e);
        assert_eq!(field, "velocity_scale");
        assert!(reason.contains(&format!("{scale:e}")), "{reason}");
        assert!(
            reason.contains(&format!("{MAX_DURATION} s allowed")),
            "{reason}"
        );
        // refused before the search: a zero time budget would otherwise be a timeout
        let options = PlanOptions {
            time_budget: std::time::Duration::ZERO,
            ..options
        };
        let e = plan_joint(
            &k.checker,
            &k.space,
            &k.limits,
            &HOME,
            &[G1.to_vec()],
            &options,
            None,
        )
        .unwrap_err();
        assert_eq!(too_long(e).0, "velocity_scale");
    }
    let options = PlanOptions {
        acceleration_scale: 1e-12,
        ..PlanOptions::default()
    };
    let e = plan_ptp(&k.checker, &k.space, &k.limits, &HOME, &G1, &options).unwrap_err();
    assert_eq!(too_long(e).0, "acceleration_scale");
    // a scale so small the limits underflow is a bad value too, never an internal error
    let options = PlanOptions {
        velocity_scale: 1e-320,
        ..PlanOptions::default()
    };
    let e = plan_ptp(&k.checker, &k.space, &k.limits, &HOME, &G1, &options).unwrap_err();
    assert!(
        matches!(&e, PlanningError::InvalidLimits { source, .. } if source.to_string().contains("velocity_scale")),
        "{e:?}"
    );
}

#[test]
fn too_many_samples_are_refused_naming_the_scale_or_the_period() {
    let k = kuka();
    // within the hour, but millions of samples at half a millisecond
    let options = PlanOptions {
        velocity_scale: 1e-3,
        period: 0.0005,
        ..PlanOptions::default()
    };
    let e = plan_ptp(&k.checker, &k.space, &k.limits, &HOME, &G1, &options).unwrap_err();
    let (field, reason) = too_large(e);
    assert_eq!(field, "velocity_scale");
    assert!(reason.contains("or the period"), "{reason}");
    // at full speed it is the period; the caller's bound is exact
    let full = plan_ptp(
        &k.checker,
        &k.space,
        &k.limits,
        &HOME,
        &G1,
        &PlanOptions::default(),
    )
    .unwrap();
    let n = full.samples.len();
    let bounded = |max_samples| PlanOptions {
        max_samples,
        ..PlanOptions::default()
    };
    assert!(plan_ptp(&k.checker, &k.space, &k.limits, &HOME, &G1, &bounded(n)).is_ok());
    let e = plan_ptp(&k.checker, &k.space, &k.limits, &HOME, &G1, &bounded(n - 1)).unwrap_err();
    let (field, reason) = too_large(e);
    assert_eq!(field, "period");
    assert!(
        reason.contains(&format!("more than the {} allowed", n - 1)),
        "{reason}"
    );
}

/// The Cartesian options of a LIN with `limits`, otherwise the defaults.
fn lin_options(limits: CartesianLimits) -> CartesianOptions {
    CartesianOptions {
        limits,
        ..CartesianOptions::default()
    }
}

/// A LIN of `shift` from `G1`.
fn lin(k: &Kuka, shift: Vector3<f64>, options: &CartesianOptions) -> Result<usize, PlanningError> {
    let p0 = k.geometry.robot().fk(&G1).unwrap();
    let goal = Isometry3::from_parts(
        Translation3::from(p0.translation.vector + shift),
        p0.rotation,
    );
    plan_cartesian(
        &k.checker,
        k.geometry.robot(),
        &k.limits,
        &G1,
        &CartesianPath::Line { goal },
        options,
    )
    .map(|m| m.samples.len())
}

#[test]
fn a_lin_at_a_vanishing_cartesian_speed_names_the_limit() {
    let k = kuka();
    let shift = Vector3::new(0.0, 0.12, 0.0);
    // the report: 1e-9 m/s over 12 cm, 1.2e8 s
    let slow = lin_options(CartesianLimits {
        linear_velocity: 1e-9,
        ..CartesianLimits::default()
    });
    let (field, reason) = too_long(lin(&k, shift, &slow).unwrap_err());
    assert_eq!(field, "cartesian_limits.linear_velocity");
    assert!(
        reason.starts_with(
            "1e-9 m/s would make at least a 1.20e8 s motion, longer than the 3600 s allowed"
        ),
        "{reason}"
    );
    // the scale, the acceleration, the angular limits: whichever sets the duration
    let scaled = CartesianOptions {
        velocity_scale: 1e-9,
        ..CartesianOptions::default()
    };
    assert_eq!(
        too_long(lin(&k, shift, &scaled).unwrap_err()).0,
        "velocity_scale"
    );
    let creeping = lin_options(CartesianLimits {
        linear_acceleration: 1e-12,
        ..CartesianLimits::default()
    });
    assert_eq!(
        too_long(lin(&k, shift, &creeping).unwrap_err()).0,
        "cartesian_limits.linear_acceleration"
    );
    let p0 = k.geometry.robot().fk(&G1).unwrap();
    let turned = Isometry3::from_parts(
        p0.translation,
        nalgebra::UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 0.3) * p0.rotation,
    );
    let spinning = lin_options(CartesianLimits {
        angular_velocity: 1e-9,
        ..CartesianLimits::default()
    });
    let e = plan_cartesian(
        &k.checker,
        k.geometry.robot(),
        &k.limits,
        &G1,
        &CartesianPath::Line { goal: turned },
        &spinning,
    )
    .unwrap_err();
    assert_eq!(too_long(e).0, "cartesian_limits.angular_velocity");
    // underflowing limits: too long, not a malformed profile
    let underflow = lin_options(CartesianLimits {
        linear_velocity: 5e-324,
        ..CartesianLimits::default()
    });
    assert_eq!(
        too_long(lin(&k, shift, &underflow).unwrap_err()).0,
        "cartesian_limits.linear_velocity"
    );
    // within the hour but too many samples: 1200 s at half a millisecond
    let crawl = CartesianOptions {
        period: 0.0005,
        ..lin_options(CartesianLimits {
            linear_velocity: 1e-4,
            ..CartesianLimits::default()
        })
    };
    let (field, reason) = too_large(lin(&k, shift, &crawl).unwrap_err());
    assert_eq!(field, "cartesian_limits.linear_velocity");
    assert!(reason.contains("or the period"), "{reason}");
    // the caller's sample bound is exact
    let n = lin(&k, shift, &CartesianOptions::default()).unwrap();
    let bounded = |max_samples| CartesianOptions {
        max_samples,
        ..CartesianOptions::default()
    };
    assert_eq!(lin(&k, shift, &bounded(n)).unwrap(), n);
    assert!(matches!(
        lin(&k, shift, &bounded(n - 1)),
        Err(PlanningError::TooLarge { .. })
    ));
}

#[test]
fn a_path_of_more_ik_steps_than_allowed_is_refused_before_it_is_walked() {
    let k = kuka();
    // 150 m away at 10 m/s: 15 s, but 150 000 steps of 1 mm
    let fast = lin_options(CartesianLimits {
        linear_velocity: 10.0,
        ..CartesianLimits::default()
    });
    let (field, reason) = too_large(lin(&k, Vector3::new(150.0, 0.0, 0.0), &fast).unwrap_err());
    assert_eq!(field, "goal");
    assert!(
        reason.contains(&format!("more than the {MAX_PATH_STEPS} allowed")),
        "{reason}"
    );
    // or a step too fine for an ordinary path
    let fine = CartesianOptions {
        step: 1e-7,
        ..CartesianOptions::default()
    };
    assert_eq!(
        too_large(lin(&k, Vector3::new(0.0, 0.12, 0.0), &fine).unwrap_err()).0,
        "goal"
    );
}

fn sequence(
    k: &Kuka,
    steps: &[SequenceStep],
    options: &PlanOptions,
) -> Result<usize, PlanningError> {
    plan_sequence(
        &k.checker,
        k.geometry.robot(),
        &k.space,
        &k.limits,
        &HOME,
        steps,
        options,
    )
    .map(|m| {
        validate(&m.samples, &k.limits, 1e-6).unwrap();
        m.samples.len()
    })
}

#[test]
fn a_sequence_is_bounded_as_a_whole() {
    let k = kuka();
    let p1 = k.geometry.robot().fk(&G1).unwrap();
    let lin_goal = Isometry3::from_parts(
        Translation3::from(p1.translation.vector + Vector3::new(0.0, 0.1, -0.05)),
        p1.rotation,
    );
    let steps = [
        SequenceStep::Ptp {
            goal: G1.to_vec(),
            blend: 0.0,
        },
        SequenceStep::Cartesian {
            path: CartesianPath::Line { goal: lin_goal },
            options: CartesianOptions::default(),
        },
        SequenceStep::Ptp {
            goal: HOME.to_vec(),
            blend: 0.0,
        },
    ];
    // every sample counted once: the bound is exact
    let n = sequence(&k, &steps, &PlanOptions::default()).unwrap();
    let bounded = |max_samples| PlanOptions {
        max_samples,
        ..PlanOptions::default()
    };
    assert_eq!(sequence(&k, &steps, &bounded(n)).unwrap(), n);
    let (field, reason) = too_large(sequence(&k, &steps, &bounded(n - 1)).unwrap_err());
    assert_eq!(field, "period");
    assert!(reason.contains("(steps[2])"), "{reason}");
    assert!(
        reason.contains(&format!("the whole sequence may take {}", n - 1)),
        "{reason}"
    );
    // a vanishing scale names the scale and the step
    let slow = PlanOptions {
        velocity_scale: 1e-9,
        ..PlanOptions::default()
    };
    let (field, reason) = too_long(sequence(&k, &steps, &slow).unwrap_err());
    assert_eq!(field, "velocity_scale");
    assert!(reason.ends_with("(steps[0])"), "{reason}");
}

#[test]
fn a_sequence_of_pieces_each_within_the_hour_may_not_exceed_it_in_all() {
    let k = kuka();
    // the velocity scale that makes HOME -> G1 last about 1500 s
    let options = SegmentOptions {
        jerk_limited: true,
        max_deviation: 0.0,
    };
    let duration = |scale: f64| {
        let l = k.limits.scaled(scale, 1.0).unwrap();
        SegmentedTrajectory::new(&[HOME.to_vec(), G1.to_vec()], &l, &options)
            .unwrap()
            .duration()
    };
    let (mut lo, mut hi): (f64, f64) = (1e-8, 1.0);
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if duration(mid) > 1500.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let scale = hi;
    assert!((1400.0..=1500.0).contains(&duration(scale)));
    // PTP runs kept apart by LINs to where the arm already is (holds)
    let hold_at = |q: &[f64; 6]| SequenceStep::Cartesian {
        path: CartesianPath::Line {
            goal: k.geometry.robot().fk(q).unwrap(),
        },
        options: CartesianOptions::default(),
    };
    let ptp = |q: &[f64; 6]| SequenceStep::Ptp {
        goal: q.to_vec(),
        blend: 0.0,
    };
    let steps = [ptp(&G1), hold_at(&G1), ptp(&HOME), hold_at(&HOME), ptp(&G1)];
    let options = PlanOptions {
        velocity_scale: scale,
        period: 1.0,
        ..PlanOptions::default()
    };
    assert!(sequence(&k, &steps[..3], &options).is_ok());
    let (field, reason) = too_long(sequence(&k, &steps, &options).unwrap_err());
    assert_eq!(field, "steps");
    assert!(reason.contains("steps[4]"), "{reason}");
}
