//! Per-joint kinematic limits of a trajectory.

use crate::error::{Result, TrajectoryError};

/// Per-joint limits (group joint order). Positions rad (m), velocity rad/s, acceleration
/// rad/s², jerk rad/s³ (optional).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Joint names, for error messages.
    pub names: Vec<String>,
    /// Lower position limits.
    pub lower: Vec<f64>,
    /// Upper position limits.
    pub upper: Vec<f64>,
    /// Velocity limits (> 0).
    pub velocity: Vec<f64>,
    /// Acceleration limits (> 0).
    pub acceleration: Vec<f64>,
    /// Jerk limits (> 0) where set.
    pub jerk: Option<Vec<f64>>,
}

impl Limits {
    /// Limits of a robot's planning group: URDF position and velocity limits, robot.toml
    /// acceleration and jerk limits. A joint without an acceleration limit gets 2 × its
    /// velocity limit (full speed in 0.5 s); jerk limits are used only if every joint has one.
    pub fn of_robot(robot: &cella_kinematics::Robot) -> Result<Self> {
        let chain = robot.chain();
        let dynamic = robot.dynamic_limits();
        let mut l = Self {
            names: Vec::new(),
            lower: Vec::new(),
            upper: Vec::new(),
            velocity: Vec::new(),
            acceleration: Vec::new(),
            jerk: Some(Vec::new()),
        };
        for (i, v) in chain.variables().iter().enumerate() {
            l.names.push(v.name.clone());
            l.lower.push(v.limits.lower);
            l.upper.push(v.limits.upper);
            l.velocity.push(v.limits.velocity);
            let acc = dynamic
                .get(i)
                .and_then(|d| d.acceleration)
                .unwrap_or(2.0 * v.limits.velocity);
            l.acceleration.push(acc);
            match (dynamic.get(i).and_then(|d| d.jerk), l.jerk.as_mut()) {
                (Some(j), Some(js)) => js.push(j),
                _ => l.jerk = None,
            }
        }
        l.validate()?;
        Ok(l)
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.names.len()
    }

    /// Checks dimensions and that every limit is finite and positive (positions may be
    /// infinite for continuous joints, but lower < upper).
    pub fn validate(&self) -> Result<()> {
        let n = self.names.len();
        if n == 0 {
            return Err(TrajectoryError::invalid("limits", "no joints"));
        }
        let lens = [
            ("lower", self.lower.len()),
            ("upper", self.upper.len()),
            ("velocity", self.velocity.len()),
            ("acceleration", self.acceleration.len()),
        ];
        for (f, len) in lens {
            if len != n {
                return Err(TrajectoryError::invalid(
                    format!("limits.{f}"),
                    format!("{len} values for {n} joints"),
                ));
            }
        }
        if let Some(j) = &self.jerk
            && j.len() != n
        {
            return Err(TrajectoryError::invalid(
                "limits.jerk",
                format!("{} values for {n} joints", j.len()),
            ));
        }
        for i in 0..n {
            let positive = |f: &str, v: f64| {
                if v.is_finite() && v > 0.0 {
                    Ok(())
                } else {
                    Err(TrajectoryError::invalid(
                        format!("limits.{f}"),
                        format!(
                            "joint '{}': {v} is not a positive finite limit",
                            self.names[i]
                        ),
                    ))
                }
            };
            positive("velocity", self.velocity[i])?;
            positive("acceleration", self.acceleration[i])?;
            if let Some(j) = &self.jerk {
                positive("jerk", j[i])?;
            }
            if self.lower[i].is_nan() || self.upper[i].is_nan() || self.lower[i] >= self.upper[i] {
                return Err(TrajectoryError::invalid(
                    "limits.position",
                    format!(
                        "joint '{}': [{}, {}] is not a range",
                        self.names[i], self.lower[i], self.upper[i]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The limits of several robots moved as one (their joints back to back), joint names
    /// prefixed `<robot>/`. Jerk limits are kept when every part has them; parts that mix
    /// robots with and without jerk limits are refused (the motion would otherwise leave one
    /// robot's jerk unlimited).
    pub fn concatenate(parts: &[(&str, &Limits)]) -> Result<Self> {
        let with_jerk = parts.iter().filter(|(_, l)| l.jerk.is_some()).count();
        if with_jerk != 0 && with_jerk != parts.len() {
            return Err(TrajectoryError::invalid(
                "limits.jerk",
                "some robots have jerk limits and some do not: set jerk limits for all (robot.toml)",
            ));
        }
        let mut out = Self {
            names: Vec::new(),
            lower: Vec::new(),
            upper: Vec::new(),
            velocity: Vec::new(),
            acceleration: Vec::new(),
            jerk: (with_jerk > 0).then(Vec::new),
        };
        for (robot, l) in parts {
            l.validate()?;
            out.names
                .extend(l.names.iter().map(|n| format!("{robot}/{n}")));
            out.lower.extend_from_slice(&l.lower);
            out.upper.extend_from_slice(&l.upper);
            out.velocity.extend_from_slice(&l.velocity);
            out.acceleration.extend_from_slice(&l.acceleration);
            if let (Some(all), Some(own)) = (out.jerk.as_mut(), l.jerk.as_ref()) {
                all.extend_from_slice(own);
            }
        }
        out.validate()?;
        Ok(out)
    }

    /// A copy with velocity and acceleration limits scaled by factors in (0, 1] (jerk scales
    /// with the acceleration factor), as the scaling sliders of MoveIt and teach pendants do.
    pub fn scaled(&self, velocity_scale: f64, acceleration_scale: f64) -> Result<Self> {
        check_scales(velocity_scale, acceleration_scale)?;
        let mut l = self.clone();
        l.velocity.iter_mut().for_each(|v| *v *= velocity_scale);
        l.acceleration
            .iter_mut()
            .for_each(|a| *a *= acceleration_scale);
        if let Some(j) = l.jerk.as_mut() {
            j.iter_mut().for_each(|x| *x *= acceleration_scale);
        }
        // a scale so small that a limit leaves the normal floating-point range would turn
        // every later division into infinities or a zero limit
        let scaled = [
            ("velocity_scale", velocity_scale, &l.velocity),
            ("acceleration_scale", acceleration_scale, &l.acceleration),
        ];
        for (field, scale, values) in scaled {
            if let Some(i) = values.iter().position(|v| !v.is_normal()) {
                return Err(TrajectoryError::invalid(
                    field,
                    format!(
                        "{scale:e} scales joint '{}' to {:e}: too small to compute with",
                        l.names[i], values[i]
                    ),
                ));
            }
        }
        Ok(l)
    }
}

/// Checks velocity and acceleration scaling factors: each in (0, 1], naming the one that is
/// not.
pub(crate) fn check_scales(velocity_scale: f64, acceleration_scale: f64) -> Result<()> {
    for (f, s) in [
        ("velocity_scale", velocity_scale),
        ("acceleration_scale", acceleration_scale),
    ] {
        if !(s.is_finite() && s > 0.0 && s <= 1.0) {
            return Err(TrajectoryError::invalid(f, format!("{s} is not in (0, 1]")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(n: usize, scale: f64, jerk: bool) -> Limits {
        Limits {
            names: (0..n).map(|i| format!("j{i}")).collect(),
            lower: vec![-scale; n],
            upper: vec![scale; n],
            velocity: (0..n).map(|i| scale + i as f64).collect(),
            acceleration: vec![2.0 * scale; n],
            jerk: jerk.then(|| vec![20.0 * scale; n]),
        }
    }

    #[test]
    fn concatenation_keeps_each_robots_limits_in_order() {
        let (a, b) = (arm(2, 1.0, true), arm(3, 2.0, true));
        let both = Limits::concatenate(&[("a", &a), ("b", &b)]).unwrap();
        assert_eq!(both.names, ["a/j0", "a/j1", "b/j0", "b/j1", "b/j2"]);
        assert_eq!(both.velocity, [1.0, 2.0, 2.0, 3.0, 4.0]);
        assert_eq!(both.upper[1..3], [1.0, 2.0]);
        assert_eq!(both.jerk.unwrap(), [20.0, 20.0, 40.0, 40.0, 40.0]);
        let none =
            Limits::concatenate(&[("a", &arm(1, 1.0, false)), ("b", &arm(1, 1.0, false))]).unwrap();
        assert!(none.jerk.is_none());
    }

    #[test]
    fn scales_that_underflow_a_limit_are_refused_naming_the_scale() {
        let l = arm(2, 1.0, true);
        let e = l.scaled(1e-320, 1.0).unwrap_err();
        assert!(
            matches!(&e, TrajectoryError::Invalid { field, .. } if field == "velocity_scale"),
            "{e}"
        );
        let e = l.scaled(1.0, 1e-320).unwrap_err();
        assert!(e.to_string().contains("acceleration_scale"), "{e}");
        // tiny but representable scales are the duration bound's business, not this one's
        assert!(l.scaled(1e-12, 1e-12).is_ok());
        assert!(l.scaled(0.0, 1.0).is_err());
    }

    #[test]
    fn concatenation_refuses_mixed_jerk_and_bad_parts() {
        let e = Limits::concatenate(&[("a", &arm(2, 1.0, true)), ("b", &arm(2, 1.0, false))])
            .unwrap_err();
        assert!(e.to_string().contains("jerk"), "{e}");
        let mut bad = arm(2, 1.0, true);
        bad.velocity[1] = f64::NAN;
        assert!(Limits::concatenate(&[("a", &arm(2, 1.0, true)), ("b", &bad)]).is_err());
        assert!(Limits::concatenate(&[]).is_err());
    }
}
