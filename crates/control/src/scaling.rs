//! Path-preserving speed scaling. The executor moves along a trajectory `q(τ)` with path time
//! advancing at a scale `s = dτ/dt` in [0, 1]; changing `s` changes the speed but never the
//! path. Joint motion is then
//!
//! ```text
//! q̇ = q'·s,   q̈ = q''·s² + q'·ṡ,   q⃛ = q'''·s³ + 3·q''·s·ṡ + q'·s̈
//! ```
//!
//! [`SpeedScale::step`] drives `s` towards a target (the override, or 0 to pause or stop) as a
//! double integrator (`ṡ`, `s̈`), approaching on the braking curve `ṡ = ±√(2·W·|e|)`, and keeps
//! every joint's acceleration (and, in [`Ramp::Smooth`], jerk) within its limits by bounding
//! `ṡ` and `s̈` with the path derivatives at the current and next path time. At `s = 1` the
//! robot moves exactly as planned; below, every limit holds with the same margins.

use crate::path::PathPoint;
use cella_trajectory::Limits;

/// How `s` may change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ramp {
    /// Joint acceleration and jerk within limits, and `|ṡ| ≤ max_rate` (1/s), `|s̈| ≤
    /// max_rate_change` (1/s²): override changes, pause, resume, and the category-2 stop
    /// (with unbounded rates: as fast as the joint limits allow).
    Smooth {
        /// Largest `|ṡ|`, 1/s.
        max_rate: f64,
        /// Largest `|s̈|`, 1/s².
        max_rate_change: f64,
    },
    /// Joint acceleration within limits, jerk unbounded: the fastest stop along the path.
    Fastest,
}

impl Ramp {
    /// Override and pause changes: from full speed to rest in about half a second.
    pub const COMFORT: Ramp = Ramp::Smooth {
        max_rate: 4.0,
        max_rate_change: 16.0,
    };
    /// A category-2 stop: as fast as the joint acceleration and jerk limits allow.
    pub const STOP: Ramp = Ramp::Smooth {
        max_rate: f64::INFINITY,
        max_rate_change: f64::INFINITY,
    };
}

/// Share of a joint's acceleration limit the scaling may use (the rest absorbs the change of
/// the path derivatives within one period).
const ACCELERATION_MARGIN: f64 = 0.98;
/// A joint moving slower than this per unit path time does not constrain `ṡ` or `s̈`.
const STILL: f64 = 1e-9;
/// Closer to its target than this (with a rate below `W·dt`), `s` snaps to the target.
const SNAP: f64 = 1e-4;

/// The scale state: `s` and `ṡ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeedScale {
    /// Path time per wall time, 0..1.
    pub s: f64,
    /// Its rate, 1/s.
    pub rate: f64,
}

impl SpeedScale {
    /// At rest (`s = 0`).
    pub const REST: SpeedScale = SpeedScale { s: 0.0, rate: 0.0 };

    /// Joint accelerations at path point `p` with this scale: `q''·s² + q'·ṡ`, into `out`.
    pub fn joint_acceleration(&self, p: &PathPoint, out: &mut [f64]) {
        for ((o, d1), d2) in out.iter_mut().zip(p.d1.as_slice()).zip(p.d2.as_slice()) {
            *o = d2 * self.s * self.s + d1 * self.rate;
        }
    }

    /// Advances one period `dt` towards `target` (clamped to [0, 1]). `here` is the path at
    /// the current path time, `next` at the path time predicted for the next cycle. Returns
    /// the path-time increment for this period.
    pub fn step(
        &mut self,
        target: f64,
        here: &PathPoint,
        next: &PathPoint,
        limits: &Limits,
        ramp: Ramp,
        dt: f64,
    ) -> f64 {
        let target = target.clamp(0.0, 1.0);
        let (s, u) = (self.s, self.rate);
        // next rate: joint accelerations at the next point within limits
        let s_next_guess = (s + u * dt).clamp(0.0, 1.0);
        let (mut u_lo, mut u_hi) = (f64::NEG_INFINITY, f64::INFINITY);
        for j in 0..next.d1.dof() {
            let d1 = next.d1.as_slice()[j];
            if d1.abs() < STILL {
                continue;
            }
            let a = ACCELERATION_MARGIN * limits.acceleration[j];
            let base = next.d2.as_slice()[j] * s_next_guess * s_next_guess;
            let (x, y) = ((-a - base) / d1, (a - base) / d1);
            u_lo = u_lo.max(x.min(y));
            u_hi = u_hi.min(x.max(y));
        }
        if u_lo > u_hi {
            // cannot happen for a valid trajectory with s <= 1; hold the middle
            let mid = 0.5 * (u_lo + u_hi);
            (u_lo, u_hi) = (mid, mid);
        }
        let (new_rate, w_cap) = match ramp {
            Ramp::Fastest => {
                let rate = if target < s { u_lo } else { u.clamp(u_lo, u_hi) };
                (rate, f64::INFINITY)
            }
            Ramp::Smooth {
                max_rate,
                max_rate_change,
            } => {
                let (w_lo, w_hi, w_cap) = rate_change_bounds(here, limits, s, u, max_rate_change);
                let error = target - s;
                let desired = (error.signum() * (2.0 * w_cap * error.abs()).sqrt())
                    .clamp(-max_rate, max_rate);
                let w = ((desired - u) / dt).clamp(-w_cap, w_cap).clamp(w_lo, w_hi);
                ((u + w * dt).clamp(-max_rate, max_rate), w_cap)
            }
        };
        let mut rate = new_rate.clamp(u_lo, u_hi);
        let mut s_new = s + 0.5 * (u + rate) * dt;
        if s_new <= 0.0 {
            s_new = 0.0;
            rate = rate.max(0.0);
        }
        if s_new >= 1.0 {
            s_new = 1.0;
            rate = rate.min(0.0);
        }
        if (target - s_new).abs() < SNAP && rate.abs() <= 2.0 * w_cap * dt {
            s_new = target;
            rate = 0.0;
        }
        if target == 0.0 && s_new < SNAP && rate <= 0.0 {
            s_new = 0.0;
            rate = 0.0;
        }
        self.s = s_new;
        self.rate = rate;
        0.5 * (s + s_new) * dt
    }
}

/// Bounds on `s̈` from the joint jerk limits at `p` (`q''' s³ + 3 q'' s ṡ + q' s̈` within
/// `±jerk`), intersected with `±max_rate_change`, and the `|s̈|` the braking curve may plan
/// with (the smallest `jerk / |q'|`, at most `max_rate_change`; 1e6 when nothing moves).
fn rate_change_bounds(
    p: &PathPoint,
    limits: &Limits,
    s: f64,
    u: f64,
    max_rate_change: f64,
) -> (f64, f64, f64) {
    let (mut w_lo, mut w_hi) = (-max_rate_change, max_rate_change);
    let mut w_cap = max_rate_change;
    if let Some(jerk) = &limits.jerk {
        for j in 0..p.d1.dof() {
            let d1 = p.d1.as_slice()[j];
            if d1.abs() < STILL {
                continue;
            }
            let drift = p.d3.as_slice()[j] * s * s * s + 3.0 * p.d2.as_slice()[j] * s * u;
            let (x, y) = ((-jerk[j] - drift) / d1, (jerk[j] - drift) / d1);
            w_lo = w_lo.max(x.min(y));
            w_hi = w_hi.min(x.max(y));
            w_cap = w_cap.min(jerk[j] / d1.abs());
        }
    }
    if w_lo > w_hi {
        // the path's own jerk term exceeds a limit here: change s as little as possible
        let mid = 0.5 * (w_lo + w_hi);
        (w_lo, w_hi) = (mid, mid);
    }
    (w_lo, w_hi, w_cap.min(1e6))
}
