//! Motions too long or too large to plan: every size that follows from a request (how long the
//! motion lasts, how many samples and IK steps it takes) is bounded before anything is
//! searched, walked or allocated, and a refusal names the request field to change: the scale,
//! the Cartesian limit or the period that made the motion that long.

use crate::error::PlanningError;
use cella_trajectory::{CartesianLimits, Limits, MAX_DURATION, TrajectoryError};

/// What a size refusal names: the field to change, its value as given and what to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Culprit {
    /// Request field (`velocity_scale`, `cartesian_limits.linear_velocity`, `period`, ...).
    pub field: String,
    /// Its value with its unit, as the refusal quotes it.
    pub value: String,
    /// What to do about it.
    pub advice: &'static str,
}

/// A value in a refusal: plain for ordinary magnitudes, scientific for tiny or huge ones.
pub(crate) fn number(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e5).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A duration in a refusal, s: three significant digits.
fn seconds(t: f64) -> String {
    if t.is_finite() && t < 1e5 {
        format!("{t:.3}")
    } else {
        format!("{t:.2e}")
    }
}

/// The planning error of trajectory error `e`: a size refusal ([`TrajectoryError::TooLong`],
/// [`TrajectoryError::TooManySamples`]) naming `culprit`, anything else a trajectory error.
pub(crate) fn size_error(e: TrajectoryError, culprit: &Culprit) -> PlanningError {
    let Culprit {
        field,
        value,
        advice,
    } = culprit;
    match e {
        TrajectoryError::TooLong { duration, max } => PlanningError::TooLong {
            field: field.clone(),
            reason: format!(
                "{value} would make a {} s motion, longer than the {max} s allowed; {advice}",
                seconds(duration)
            ),
        },
        TrajectoryError::TooManySamples {
            duration,
            period,
            samples,
            max,
        } => PlanningError::TooLarge {
            field: field.clone(),
            reason: format!(
                "{value} would make a {} s motion: {samples:.0} samples at {period} s, more than the {max} allowed; {advice}",
                seconds(duration)
            ),
        },
        other @ TrajectoryError::Invalid { .. } => PlanningError::timing(other),
    }
}

/// What makes a joint-space motion long: the scale that slows it most (velocity scaling
/// stretches a motion by its inverse, acceleration scaling by the inverse square root), or,
/// at full speed, the period (too many samples) or the motion itself (`motion`, e.g. `goals`).
pub(crate) fn joint_culprit(
    velocity_scale: f64,
    acceleration_scale: f64,
    period: f64,
    too_many_samples: bool,
    motion: &str,
) -> Culprit {
    let (by_velocity, by_acceleration) = (1.0 / velocity_scale, 1.0 / acceleration_scale.sqrt());
    if by_velocity > 1.0 || by_acceleration > 1.0 {
        let (field, scale) = if by_velocity >= by_acceleration {
            ("velocity_scale", velocity_scale)
        } else {
            ("acceleration_scale", acceleration_scale)
        };
        return Culprit {
            field: field.into(),
            value: number(scale),
            advice: if too_many_samples {
                "raise it, or the period"
            } else {
                "raise it"
            },
        };
    }
    if too_many_samples {
        Culprit {
            field: "period".into(),
            value: format!("{period} s"),
            advice: "raise it",
        }
    } else {
        Culprit {
            field: motion.into(),
            value: "the motion at full speed".into(),
            advice: "split it",
        }
    }
}

/// What makes a Cartesian motion of `length` m and `rotation` rad long under `limits` (before
/// scaling) and the scales: the limit that binds (linear or angular, velocity when cruising
/// takes longer than the ramps, acceleration otherwise), or its scale when the scale is the
/// further below its usual value (1 for a scale, the default for a limit).
pub(crate) fn cartesian_culprit(
    limits: &CartesianLimits,
    velocity_scale: f64,
    acceleration_scale: f64,
    length: f64,
    rotation: f64,
    too_many_samples: bool,
) -> Culprit {
    let defaults = CartesianLimits::default();
    let per = |limit: f64, amount: f64| {
        if amount > 0.0 {
            limit / amount
        } else {
            f64::INFINITY
        }
    };
    let v_linear = per(limits.linear_velocity * velocity_scale, length);
    let v_angular = per(limits.angular_velocity * velocity_scale, rotation);
    let a_linear = per(limits.linear_acceleration * acceleration_scale, length);
    let a_angular = per(limits.angular_acceleration * acceleration_scale, rotation);
    let (v, a) = (v_linear.min(v_angular), a_linear.min(a_angular));
    // a trapezoid of the path parameter cruises 1/v and ramps v/a
    let cruising = 1.0 / v >= v / a;
    let (name, limit, default, unit, scale_field, scale) =
        match (cruising, v_linear <= v_angular, a_linear <= a_angular) {
            (true, true, _) => (
                "linear_velocity",
                limits.linear_velocity,
                defaults.linear_velocity,
                "m/s",
                "velocity_scale",
                velocity_scale,
            ),
            (true, false, _) => (
                "angular_velocity",
                limits.angular_velocity,
                defaults.angular_velocity,
                "rad/s",
                "velocity_scale",
                velocity_scale,
            ),
            (false, _, true) => (
                "linear_acceleration",
                limits.linear_acceleration,
                defaults.linear_acceleration,
                "m/s²",
                "acceleration_scale",
                acceleration_scale,
            ),
            (false, _, false) => (
                "angular_acceleration",
                limits.angular_acceleration,
                defaults.angular_acceleration,
                "rad/s²",
                "acceleration_scale",
                acceleration_scale,
            ),
        };
    let advice = if too_many_samples {
        "raise it, or the period"
    } else {
        "raise it"
    };
    if scale < limit / default {
        Culprit {
            field: scale_field.into(),
            value: number(scale),
            advice,
        }
    } else {
        Culprit {
            field: format!("cartesian_limits.{name}"),
            value: format!("{} {unit}", number(limit)),
            advice,
        }
    }
}

/// A lower bound on the duration of any rest-to-rest motion along `path` (joint waypoints)
/// under `limits`, however it is blended: every joint covers at least its travel along the
/// path, no faster than its velocity limit, and a travel `d` at rest at both ends takes at
/// least `2·sqrt(d / a)` at acceleration `a` (with reversals, more). Infinite when a limit
/// underflowed.
pub(crate) fn min_duration(path: &[Vec<f64>], limits: &Limits) -> f64 {
    let mut longest: f64 = 0.0;
    for i in 0..limits.dof() {
        let travel: f64 = path
            .windows(2)
            .map(|w| {
                (w[1].get(i).copied().unwrap_or(0.0) - w[0].get(i).copied().unwrap_or(0.0)).abs()
            })
            .sum();
        if travel > 0.0 {
            longest = longest
                .max(travel / limits.velocity[i])
                .max(2.0 * (travel / limits.acceleration[i]).sqrt());
        }
    }
    longest
}

/// `Err(TooLong)` naming `culprit` when a motion lasting at least `duration` s would be longer
/// than [`MAX_DURATION`].
pub(crate) fn check_min_duration(duration: f64, culprit: &Culprit) -> Result<(), PlanningError> {
    if duration > MAX_DURATION || duration.is_nan() {
        let mut e = size_error(
            TrajectoryError::TooLong {
                duration,
                max: MAX_DURATION,
            },
            culprit,
        );
        if let PlanningError::TooLong { reason, .. } = &mut e {
            *reason = reason.replacen("would make a", "would make at least a", 1);
        }
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_that_stretches_the_motion_most_is_named() {
        let c = joint_culprit(1e-9, 1.0, 0.004, false, "goals");
        assert_eq!(c.field, "velocity_scale");
        assert_eq!(c.value, "1e-9");
        // acceleration scaling stretches by the inverse square root: 1e-4 is like 1e-2
        assert_eq!(
            joint_culprit(0.005, 1e-4, 0.004, false, "goals").field,
            "velocity_scale"
        );
        assert_eq!(
            joint_culprit(0.5, 1e-4, 0.004, false, "goals").field,
            "acceleration_scale"
        );
        assert_eq!(
            joint_culprit(1.0, 1.0, 0.0005, true, "goals").field,
            "period"
        );
        assert_eq!(
            joint_culprit(1.0, 1.0, 0.004, false, "steps[3]").field,
            "steps[3]"
        );
    }

    #[test]
    fn the_binding_cartesian_limit_or_its_scale_is_named() {
        let slow = CartesianLimits {
            linear_velocity: 1e-9,
            ..CartesianLimits::default()
        };
        let c = cartesian_culprit(&slow, 1.0, 1.0, 0.3, 0.0, false);
        assert_eq!(c.field, "cartesian_limits.linear_velocity");
        assert_eq!(c.value, "1e-9 m/s");
        let d = CartesianLimits::default();
        assert_eq!(
            cartesian_culprit(&d, 1e-9, 1.0, 0.3, 0.0, false).field,
            "velocity_scale"
        );
        // a pure rotation is bound by the angular limits
        let c = cartesian_culprit(&d, 1.0, 1.0, 0.0, 1.0, false);
        assert_eq!(c.field, "cartesian_limits.angular_velocity");
        // a crawl of acceleration: the ramps take longer than the cruise
        let creeping = CartesianLimits {
            linear_acceleration: 1e-9,
            ..CartesianLimits::default()
        };
        let c = cartesian_culprit(&creeping, 1.0, 1.0, 0.3, 0.0, false);
        assert_eq!(c.field, "cartesian_limits.linear_acceleration");
    }

    #[test]
    fn refusals_quote_the_value_the_duration_and_the_bound() {
        let c = cartesian_culprit(
            &CartesianLimits {
                linear_velocity: 1e-9,
                ..CartesianLimits::default()
            },
            1.0,
            1.0,
            0.12,
            0.0,
            false,
        );
        let e = size_error(
            TrajectoryError::TooLong {
                duration: 1.2e8,
                max: MAX_DURATION,
            },
            &c,
        );
        assert_eq!(
            e.to_string(),
            "cartesian_limits.linear_velocity: 1e-9 m/s would make a 1.20e8 s motion, longer than the 3600 s allowed; raise it"
        );
        let e = size_error(
            TrajectoryError::TooManySamples {
                duration: 1000.0,
                period: 0.0005,
                samples: 2_000_001.0,
                max: 100_000,
            },
            &joint_culprit(1e-3, 1.0, 0.0005, true, "goals"),
        );
        assert!(matches!(&e, PlanningError::TooLarge { field, .. } if field == "velocity_scale"));
        assert!(
            e.to_string()
                .contains("2000001 samples at 0.0005 s, more than the 100000 allowed"),
            "{e}"
        );
    }

    #[test]
    fn the_duration_bound_holds_for_any_path_and_blend() {
        let l = Limits {
            names: vec!["a".into(), "b".into()],
            lower: vec![-5.0; 2],
            upper: vec![5.0; 2],
            velocity: vec![1.0, 2.0],
            acceleration: vec![4.0, 4.0],
            jerk: None,
        };
        // a: 3 rad of travel there and back at 1 rad/s: at least 3 s
        let path = [vec![0.0, 0.0], vec![2.0, 0.1], vec![1.0, 0.1]];
        assert!((min_duration(&path, &l) - 3.0).abs() < 1e-12);
        // short: the ramps bound it, 2 sqrt(0.01 / 4) = 0.1 s
        let path = [vec![0.0, 0.0], vec![0.01, 0.0]];
        assert!((min_duration(&path, &l) - 0.1).abs() < 1e-12);
        assert_eq!(min_duration(&[vec![0.0, 0.0], vec![0.0, 0.0]], &l), 0.0);
        let c = joint_culprit(1e-9, 1.0, 0.004, false, "goals");
        assert!(check_min_duration(3600.0, &c).is_ok());
        let e = check_min_duration(f64::INFINITY, &c).unwrap_err();
        assert!(e.to_string().contains("at least"), "{e}");
    }
}
