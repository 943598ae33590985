//! Cartesian limits for Cartesian motions (LIN, CIRC): the tool centre point's linear speed and
//! acceleration (m/s, m/s²) and angular speed and acceleration (rad/s, rad/s²), as robot
//! programs set them (KUKA `$VEL.CP`/`$ACC.CP`, `$VEL.ORI1`; Pilz `max_trans_vel`,
//! `max_rot_vel`). A Cartesian motion covers a path length and a rotation angle together: the
//! time-optimal synchronized profile of the path parameter, and the check of a sampled TCP
//! motion against the limits.

use crate::error::{Result, TrajectoryError};
use crate::profile::ScalarProfile;

/// TCP limits. Linear values in metres, angular values in radians, both per second (squared).
#[derive(Debug, Clone, PartialEq)]
pub struct CartesianLimits {
    /// Largest TCP speed, m/s.
    pub linear_velocity: f64,
    /// Largest TCP acceleration along the path, m/s².
    pub linear_acceleration: f64,
    /// Largest TCP angular speed, rad/s.
    pub angular_velocity: f64,
    /// Largest TCP angular acceleration, rad/s².
    pub angular_acceleration: f64,
}

impl Default for CartesianLimits {
    /// Conservative collaborative-cell values: 0.25 m/s (ISO/TS 15066 reduced speed),
    /// 1 m/s², 1.5 rad/s, 5 rad/s².
    fn default() -> Self {
        Self {
            linear_velocity: 0.25,
            linear_acceleration: 1.0,
            angular_velocity: 1.5,
            angular_acceleration: 5.0,
        }
    }
}

impl CartesianLimits {
    /// Every limit finite and positive, naming the first that is not.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("linear_velocity", self.linear_velocity),
            ("linear_acceleration", self.linear_acceleration),
            ("angular_velocity", self.angular_velocity),
            ("angular_acceleration", self.angular_acceleration),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(TrajectoryError::invalid(
                    format!("cartesian_limits.{field}"),
                    format!("{v} is not a positive finite limit"),
                ));
            }
        }
        Ok(())
    }

    /// A copy with velocities scaled by `velocity_scale` and accelerations by
    /// `acceleration_scale`, both in (0, 1].
    pub fn scaled(&self, velocity_scale: f64, acceleration_scale: f64) -> Result<Self> {
        crate::limits::check_scales(velocity_scale, acceleration_scale)?;
        Ok(Self {
            linear_velocity: self.linear_velocity * velocity_scale,
            linear_acceleration: self.linear_acceleration * acceleration_scale,
            angular_velocity: self.angular_velocity * velocity_scale,
            angular_acceleration: self.angular_acceleration * acceleration_scale,
        })
    }

    /// The time-optimal rest-to-rest profile of a path parameter `s ∈ [0, 1]` for a motion of
    /// `length` metres and `angle` radians of TCP rotation, both progressing with `s` (the
    /// orientation interpolated in proportion to the distance, as LIN and CIRC do): the
    /// position moves `length·ṡ` and the orientation `angle·ṡ`, so the tighter of the two
    /// limits sets each of the profile's velocity and acceleration.
    pub fn profile(&self, length: f64, angle: f64) -> Result<ScalarProfile> {
        self.validate()?;
        for (field, v) in [("length", length), ("angle", angle)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(TrajectoryError::invalid(
                    field,
                    format!("{v} is not a finite non-negative amount"),
                ));
            }
        }
        if length == 0.0 && angle == 0.0 {
            return ScalarProfile::trapezoidal(0.0, 1.0, 1.0);
        }
        let (v, a) = self.parameter_rates(length, angle);
        ScalarProfile::trapezoidal(1.0, v, a)
    }

    /// A lower bound on the duration (s) of any rest-to-rest motion covering `length` metres
    /// and `angle` radians under these limits: neither amount faster than its velocity
    /// limit, and an amount `d` at acceleration `a` takes at least `2·sqrt(d / a)`. Cheap
    /// enough to refuse a motion that would last for ages before its profile is computed;
    /// infinite when a limit is too small to divide by.
    pub fn min_duration(&self, length: f64, angle: f64) -> f64 {
        let mut t: f64 = 0.0;
        for (amount, v, a) in [
            (length, self.linear_velocity, self.linear_acceleration),
            (angle, self.angular_velocity, self.angular_acceleration),
        ] {
            if amount > 0.0 {
                t = t.max(amount / v).max(2.0 * (amount / a).sqrt());
            }
        }
        t
    }

    /// The largest velocity and acceleration of a path parameter `s ∈ [0, 1]` covering
    /// `length` metres and `angle` radians in proportion: the tighter of the linear and the
    /// angular limit for each (infinite when both amounts are zero).
    pub fn parameter_rates(&self, length: f64, angle: f64) -> (f64, f64) {
        let per_unit = |limit: f64, amount: f64| {
            if amount > 0.0 {
                limit / amount
            } else {
                f64::INFINITY
            }
        };
        (
            per_unit(self.linear_velocity, length).min(per_unit(self.angular_velocity, angle)),
            per_unit(self.linear_acceleration, length)
                .min(per_unit(self.angular_acceleration, angle)),
        )
    }

    /// Checks a sampled TCP motion: `times` (s, increasing), `positions` (m, one `[x, y, z]`
    /// per sample, any fixed frame) and `orientations` (unit quaternions `[w, x, y, z]` in the
    /// same frame). The mean linear and angular speeds between consecutive samples must stay
    /// within the velocity limits (relative tolerance `tolerance`). Returns the first
    /// violation as an error naming the sample.
    pub fn check_tcp(
        &self,
        times: &[f64],
        positions: &[[f64; 3]],
        orientations: &[[f64; 4]],
        tolerance: f64,
    ) -> Result<()> {
        self.validate()?;
        if positions.len() != times.len() || orientations.len() != times.len() {
            return Err(TrajectoryError::invalid(
                "tcp",
                format!(
                    "{} times, {} positions, {} orientations",
                    times.len(),
                    positions.len(),
                    orientations.len()
                ),
            ));
        }
        for k in 1..times.len() {
            let dt = times[k] - times[k - 1];
            if !dt.is_finite() || dt <= 0.0 {
                return Err(TrajectoryError::invalid(
                    format!("tcp[{k}]"),
                    "time does not increase",
                ));
            }
            let (p0, p1) = (positions[k - 1], positions[k]);
            let travel =
                ((p1[0] - p0[0]).powi(2) + (p1[1] - p0[1]).powi(2) + (p1[2] - p0[2]).powi(2))
                    .sqrt();
            let speed = travel / dt;
            if speed.is_nan() || speed > self.linear_velocity * (1.0 + tolerance) {
                return Err(TrajectoryError::invalid(
                    format!("tcp[{k}]"),
                    format!(
                        "linear speed {speed:.6} m/s exceeds {:.6} m/s",
                        self.linear_velocity
                    ),
                ));
            }
            let (q0, q1) = (orientations[k - 1], orientations[k]);
            let dot = (q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3]).abs();
            let turn = 2.0 * dot.min(1.0).acos();
            let spin = turn / dt;
            if spin.is_nan() || spin > self.angular_velocity * (1.0 + tolerance) {
                return Err(TrajectoryError::invalid(
                    format!("tcp[{k}]"),
                    format!(
                        "angular speed {spin:.6} rad/s exceeds {:.6} rad/s",
                        self.angular_velocity
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn limits() -> CartesianLimits {
        CartesianLimits {
            linear_velocity: 0.25,
            linear_acceleration: 0.5,
            angular_velocity: 1.0,
            angular_acceleration: 2.0,
        }
    }

    #[test]
    fn translation_bound_line_is_the_analytic_trapezoid() {
        // 0.5 m at 0.25 m/s, 0.5 m/s²: t = L/v + v/a = 2 + 0.5 s; a small rotation does not bind
        let p = limits().profile(0.5, 0.1).unwrap();
        assert!((p.duration() - 2.5).abs() < 1e-12, "{}", p.duration());
    }

    #[test]
    fn rotation_bound_motion_is_set_by_the_angular_limits() {
        // 0.01 m but π/2 rad: t = θ/ω + ω/α = 1.5708 + 0.5 s
        let p = limits().profile(0.01, std::f64::consts::FRAC_PI_2).unwrap();
        assert!((p.duration() - (std::f64::consts::FRAC_PI_2 + 0.5)).abs() < 1e-12);
    }

    #[test]
    fn sampled_line_at_the_limit_passes_and_faster_fails() {
        let l = limits();
        let p = l.profile(0.5, 0.0).unwrap();
        let mut times = Vec::new();
        let mut positions = Vec::new();
        let mut orientations = Vec::new();
        let mut t = 0.0;
        while t <= p.duration() {
            let (s, _, _) = p.evaluate(t);
            times.push(t);
            positions.push([0.3 + 0.5 * s, 0.1, 0.4]);
            orientations.push([1.0, 0.0, 0.0, 0.0]);
            t += 0.004;
        }
        l.check_tcp(&times, &positions, &orientations, 1e-9)
            .unwrap();
        let slower = l.scaled(0.5, 1.0).unwrap();
        let e = slower
            .check_tcp(&times, &positions, &orientations, 1e-9)
            .unwrap_err();
        assert!(e.to_string().contains("linear speed"), "{e}");
    }

    #[test]
    fn the_duration_bound_is_below_the_profile_and_infinite_for_underflowing_limits() {
        let l = limits();
        for (length, angle) in [
            (0.5, 0.1),
            (0.01, 1.5),
            (1e-6, 0.0),
            (0.0, 1e-4),
            (0.0, 0.0),
        ] {
            let p = l.profile(length, angle).unwrap();
            let bound = l.min_duration(length, angle);
            assert!(bound <= p.duration() + 1e-12, "{length} m {angle} rad");
            assert!(bound >= 0.5 * p.duration(), "{length} m {angle} rad");
        }
        // the 1e-9 m/s over 0.12 m: 1.2e8 s
        let slow = CartesianLimits {
            linear_velocity: 1e-9,
            ..limits()
        };
        assert!((slow.min_duration(0.12, 0.0) - 1.2e8).abs() < 1.0);
        let underflow = CartesianLimits {
            linear_velocity: 5e-324,
            ..limits()
        };
        assert_eq!(underflow.min_duration(10.0, 0.0), f64::INFINITY);
    }

    #[test]
    fn bad_limits_and_amounts_are_errors() {
        let mut l = limits();
        l.angular_acceleration = 0.0;
        let e = l.profile(0.1, 0.1).unwrap_err();
        assert!(e.to_string().contains("angular_acceleration"));
        assert!(limits().profile(f64::NAN, 0.0).is_err());
        assert!(limits().profile(-1.0, 0.0).is_err());
        assert!(limits().scaled(0.0, 1.0).is_err());
        assert_eq!(limits().profile(0.0, 0.0).unwrap().duration(), 0.0);
    }
}
