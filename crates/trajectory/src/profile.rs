//! Rest-to-rest scalar motion profiles: trapezoidal velocity (acceleration-limited) and
//! double-S (jerk-limited, 7 phases; Biagiotti & Melchiorri, "Trajectory Planning for
//! Automatic Machines and Robots", 2008, §3.4). Both are time-optimal for their limits.

use crate::error::{Result, TrajectoryError};

/// One phase of constant jerk: acceleration `a0 + jerk·t` for `duration` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Phase {
    duration: f64,
    a0: f64,
    jerk: f64,
}

/// A rest-to-rest profile of a scalar from 0 to `distance` (units of the scalar, s).
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarProfile {
    distance: f64,
    phases: [Phase; 7],
    count: usize,
    duration: f64,
    peak_velocity: f64,
}

fn positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(TrajectoryError::invalid(
            field,
            format!("{v} is not a positive finite limit"),
        ))
    }
}

const ZERO: Phase = Phase {
    duration: 0.0,
    a0: 0.0,
    jerk: 0.0,
};

impl ScalarProfile {
    /// Time-optimal trapezoidal profile over `distance` (≥ 0) with velocity and acceleration
    /// limits (triangular when the distance is too short to reach `vmax`).
    pub fn trapezoidal(distance: f64, vmax: f64, amax: f64) -> Result<Self> {
        positive("velocity", vmax)?;
        positive("acceleration", amax)?;
        if !(distance.is_finite() && distance >= 0.0) {
            return Err(TrajectoryError::invalid(
                "distance",
                format!("{distance} is not a finite non-negative distance"),
            ));
        }
        let mut p = Self {
            distance,
            phases: [ZERO; 7],
            count: 3,
            duration: 0.0,
            peak_velocity: 0.0,
        };
        if distance == 0.0 {
            p.count = 0;
            return Ok(p);
        }
        let (ta, tv, v) = if distance * amax >= vmax * vmax {
            (vmax / amax, distance / vmax - vmax / amax, vmax)
        } else {
            let ta = (distance / amax).sqrt();
            (ta, 0.0, amax * ta)
        };
        p.phases[0] = Phase {
            duration: ta,
            a0: amax,
            jerk: 0.0,
        };
        p.phases[1] = Phase {
            duration: tv,
            a0: 0.0,
            jerk: 0.0,
        };
        p.phases[2] = Phase {
            duration: ta,
            a0: -amax,
            jerk: 0.0,
        };
        p.duration = 2.0 * ta + tv;
        p.peak_velocity = v;
        Ok(p)
    }

    /// Time-optimal double-S (jerk-limited) profile over `distance` (≥ 0) with velocity,
    /// acceleration and jerk limits.
    pub fn double_s(distance: f64, vmax: f64, amax: f64, jmax: f64) -> Result<Self> {
        positive("jerk", jmax)?;
        let mut p = Self::trapezoidal(distance, vmax, amax)?;
        if distance == 0.0 {
            return Ok(p);
        }
        // acceleration phase reaching vmax (Biagiotti eq. 3.19-3.24 with v0 = v1 = 0)
        let (mut tj, mut ta) = if vmax * jmax >= amax * amax {
            (amax / jmax, amax / jmax + vmax / amax)
        } else {
            let tj = (vmax / jmax).sqrt();
            (tj, 2.0 * tj)
        };
        let mut tv = distance / vmax - ta;
        if tv < 0.0 {
            // vmax not reached
            tv = 0.0;
            tj = amax / jmax;
            ta = 0.5 * (tj + (tj * tj + 4.0 * distance / amax).sqrt());
            if ta < 2.0 * tj {
                // amax not reached either
                tj = (distance / (2.0 * jmax)).cbrt();
                ta = 2.0 * tj;
            }
        }
        let alim = jmax * tj;
        let vlim = alim * (ta - tj);
        p.phases = [
            Phase {
                duration: tj,
                a0: 0.0,
                jerk: jmax,
            },
            Phase {
                duration: ta - 2.0 * tj,
                a0: alim,
                jerk: 0.0,
            },
            Phase {
                duration: tj,
                a0: alim,
                jerk: -jmax,
            },
            Phase {
                duration: tv,
                a0: 0.0,
                jerk: 0.0,
            },
            Phase {
                duration: tj,
                a0: 0.0,
                jerk: -jmax,
            },
            Phase {
                duration: ta - 2.0 * tj,
                a0: -alim,
                jerk: 0.0,
            },
            Phase {
                duration: tj,
                a0: -alim,
                jerk: jmax,
            },
        ];
        p.count = 7;
        p.duration = 2.0 * ta + tv;
        p.peak_velocity = vlim;
        Ok(p)
    }

    /// Total duration, s.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Distance covered, in the scalar's unit.
    pub fn distance(&self) -> f64 {
        self.distance
    }

    /// Duration of the acceleration phase, s; the deceleration phase lasts as long (the
    /// profiles are symmetric). Zero for a zero-distance profile.
    pub fn ramp_duration(&self) -> f64 {
        let cruise = match self.count {
            7 => self.phases[3].duration,
            3 => self.phases[1].duration,
            _ => return 0.0,
        };
        0.5 * (self.duration - cruise)
    }

    /// Times (s) where a phase ends: between them the jerk is constant, the acceleration
    /// linear and the velocity quadratic.
    pub fn phase_ends(&self) -> impl Iterator<Item = f64> + '_ {
        self.phases[..self.count].iter().scan(0.0, |t, ph| {
            *t += ph.duration;
            Some(*t)
        })
    }

    /// Peak velocity reached.
    pub fn peak_velocity(&self) -> f64 {
        self.peak_velocity
    }

    /// Position, velocity and acceleration at time `t` (clamped to [0, duration]). The final
    /// position is exactly `distance`.
    pub fn evaluate(&self, t: f64) -> (f64, f64, f64) {
        if t >= self.duration || self.count == 0 {
            return (self.distance, 0.0, 0.0);
        }
        let mut t = t.max(0.0);
        let (mut s, mut v) = (0.0, 0.0);
        for ph in &self.phases[..self.count] {
            if t <= ph.duration {
                let a = ph.a0 + ph.jerk * t;
                let pos = s + v * t + ph.a0 * t * t / 2.0 + ph.jerk * t * t * t / 6.0;
                let vel = v + ph.a0 * t + ph.jerk * t * t / 2.0;
                return (pos.min(self.distance), vel.max(0.0), a);
            }
            let d = ph.duration;
            s += v * d + ph.a0 * d * d / 2.0 + ph.jerk * d * d * d / 6.0;
            v += ph.a0 * d + ph.jerk * d * d / 2.0;
            t -= d;
        }
        (self.distance, 0.0, 0.0)
    }
}
