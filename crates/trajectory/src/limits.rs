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
