//! Path-preserving speed scaling. The executor moves along a trajectory `q(τ)` with path time
//! advancing at a scale `s = dτ/dt` in [0, 1]; changing `s` changes the speed but never the
//! path. Joint motion is then
//!
//! ```text
//! q̇ = q'·s,   q̈ = q''·s² + q'·ṡ,   q⃛ = q'''·s³ + 3·q''·s·ṡ + q'·s̈
//! ```
//!
//! [`SpeedScale::step`] drives `s` towards a target (the override, or 0 to pause or stop).
//! The decision is made on the joint that limits the path speed here (largest `|q'|` relative
//! to its acceleration limit): its velocity is brought to the target speed with its
//! acceleration and jerk limits by a jerk-limited velocity controller (the acceleration is
//! relaxed to zero exactly as the target speed is reached), and the jerk it asks for is turned
//! back into `s̈` including the path's own terms (`q'''·s³ + 3·q''·s·ṡ`). Every joint's
//! acceleration at the next path point is then kept within its limit by bounding `ṡ`. On a
//! joint-synchronized segment (every joint moves in proportion) this is exact for all joints.

use crate::path::{ExecTrajectory, PathPoint};
use cella_trajectory::Limits;

/// How `s` may change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ramp {
    /// Joint acceleration and jerk within `share` of their limits (the path's own motion
    /// included): override changes, pause, resume, and the category-2 stop (share 1: as fast
    /// as the joint limits allow).
    Smooth {
        /// Share of the acceleration and jerk limits, (0, 1].
        share: f64,
    },
    /// Joint acceleration within limits, jerk unbounded: the fastest stop along the path.
    Fastest,
}

impl Ramp {
    /// Override changes, pause and resume: half the joint acceleration and jerk limits.
    pub const COMFORT: Ramp = Ramp::Smooth { share: 0.5 };
    /// A category-2 stop: as fast as the joint acceleration and jerk limits allow.
    pub const STOP: Ramp = Ramp::Smooth { share: 1.0 };
}

/// Share of a joint's acceleration limit the scaling may use (the rest absorbs the change of
/// the path derivatives within one period).
const ACCELERATION_MARGIN: f64 = 0.98;
/// A path moving slower than this (per unit path time, relative to the acceleration limit)
/// is at rest: `s` may change freely there.
const STILL: f64 = 1e-9;
/// Closer to its target than this, with a rate one step can cancel, `s` lands on the target.
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
        let (u_lo, u_hi) = rate_bounds(next, limits, (s + u * dt).clamp(0.0, 1.0));
        let Some(k) = limiting_joint(here, limits) else {
            // the path is at rest here: s moves no joint
            self.s = target;
            self.rate = 0.0;
            return 0.5 * (s + target) * dt;
        };
        let (mut rate, jerk_step) = match ramp {
            Ramp::Fastest => {
                let rate = if target < s {
                    u_lo
                } else {
                    u.clamp(u_lo, u_hi)
                };
                (rate, f64::INFINITY)
            }
            Ramp::Smooth { share } => {
                // the limiting joint, signed along its direction of travel; its velocity
                // error from the path at the target scale is driven to zero:
                //   e_v = q'(s - s*),  e_a = q''s(s - s*) + q'ṡ,
                //   e_j = q'''s²(s - s*) + q''ṡ(3s - s*) + q's̈
                // while its actual acceleration (e_a + q''s s*) and jerk
                // (e_j + q'''s²s* + q''ṡs*) stay within the limits
                let sign = here.d1.as_slice()[k].signum();
                let d1 = here.d1.as_slice()[k].abs();
                let d2 = sign * here.d2.as_slice()[k];
                let d3 = sign * here.d3.as_slice()[k];
                let e = s - target;
                let e_v = d1 * e;
                let e_a = d2 * s * e + d1 * u;
                let a_full = ACCELERATION_MARGIN * limits.acceleration[k];
                let j_full = joint_jerk_bound(here, limits, k);
                let (a_max, j_max) = (share * a_full, share * j_full);
                let a_offset = d2 * s * target;
                let j_offset = d3 * s * s * target + d2 * u * target;
                // the joint's actual acceleration and jerk within the limits, and what the
                // scale adds to them (q'ṡ and q's̈) within `share` of the limits; holding the
                // scale (ṡ = 0) is always allowed
                let natural_a = d2 * s * e;
                let natural_j = d3 * s * s * e + d2 * u * (3.0 * s - target);
                let (mut j_lo, mut j_hi) = (
                    (-j_full - j_offset).max(natural_j - j_max),
                    (j_full - j_offset).min(natural_j + j_max),
                );
                if j_lo > j_hi {
                    let mid = 0.5 * (j_lo + j_hi);
                    (j_lo, j_hi) = (mid, mid);
                }
                let bounds = ErrorBounds {
                    a_lo: (-a_full - a_offset).max(natural_a - a_max).min(natural_a),
                    a_hi: (a_full - a_offset).min(natural_a + a_max).max(natural_a),
                    j_lo,
                    j_hi,
                    j_floor: 0.25 * j_max,
                };
                let e_j = error_jerk(e_v, e_a, &bounds, dt);
                let w = (e_j - d3 * s * s * e - d2 * u * (3.0 * s - target)) / d1;
                (u + w * dt, j_max * dt / d1)
            }
        };
        rate = rate.clamp(u_lo, u_hi);
        let mut s_new = s + 0.5 * (u + rate) * dt;
        let toward = target - s;
        let passed = toward * (target - s_new) <= 0.0;
        if (passed || (target - s_new).abs() < SNAP) && u.abs() <= jerk_step * 1.0001 {
            s_new = target;
            rate = 0.0;
        }
        if s_new <= 0.0 {
            s_new = 0.0;
            rate = rate.max(0.0);
        }
        if s_new >= 1.0 {
            s_new = 1.0;
            rate = rate.min(0.0);
        }
        self.s = s_new;
        self.rate = rate;
        0.5 * (s + s_new) * dt
    }
}

/// Speed-scale integration steps per control cycle.
pub(crate) const SCALE_SUBSTEPS: usize = 8;

/// One control period `dt` of motion along `trajectory`: integrates `scale` towards `target`
/// in [`SCALE_SUBSTEPS`] sub-steps (the path derivatives it uses change along the step) and
/// advances the path time `tau` (s). `here` must hold the path at `tau` on entry; `hint` is
/// the piece cursor. What the executor's loop does every cycle, and what a stop is predicted
/// with.
#[allow(clippy::too_many_arguments)]
pub(crate) fn advance(
    trajectory: &ExecTrajectory,
    limits: &Limits,
    dt: f64,
    target: f64,
    ramp: Ramp,
    motion: &mut PathMotion,
    here: &mut PathPoint,
    next: &mut PathPoint,
) {
    let duration = trajectory.duration();
    let h = dt / SCALE_SUBSTEPS as f64;
    for i in 0..SCALE_SUBSTEPS {
        if i > 0 {
            motion.hint = trajectory.evaluate(motion.tau, motion.hint, here);
        }
        let predicted = (motion.tau + motion.scale.s * h).min(duration);
        trajectory.evaluate(predicted, motion.hint, next);
        let dtau = motion.scale.step(target, here, next, limits, ramp, h);
        motion.tau = (motion.tau + dtau).min(duration);
    }
}

/// Where a motion is along its path: path time, piece cursor and speed scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PathMotion {
    /// Path time, s.
    pub tau: f64,
    /// Piece cursor for [`ExecTrajectory::evaluate`].
    pub hint: usize,
    /// Speed scale.
    pub scale: SpeedScale,
}

/// The path time (s) at which a robot moving along `trajectory` at full speed (`s = 1`) comes
/// to rest when it starts the fastest stop ([`Ramp::Fastest`], as the executor brakes) at
/// path time `from`, with control period `dt`. Slower motion (a lower override, a ramp) stops
/// sooner: the fastest stop's deceleration does not depend on the rate it starts from.
pub(crate) fn fastest_stop_end(
    trajectory: &ExecTrajectory,
    limits: &Limits,
    dt: f64,
    from: f64,
) -> f64 {
    let duration = trajectory.duration();
    let dof = trajectory.dof();
    let (mut here, mut next) = (PathPoint::zeros(dof), PathPoint::zeros(dof));
    let mut motion = PathMotion {
        tau: from.clamp(0.0, duration),
        hint: 0,
        scale: SpeedScale { s: 1.0, rate: 0.0 },
    };
    motion.hint = trajectory.evaluate(motion.tau, 0, &mut here);
    // a stop at the acceleration limits ends within seconds; the cap only bounds the loop
    let cycles = (600.0 / dt) as usize;
    for _ in 0..cycles {
        if motion.tau >= duration {
            return duration;
        }
        advance(
            trajectory,
            limits,
            dt,
            0.0,
            Ramp::Fastest,
            &mut motion,
            &mut here,
            &mut next,
        );
        if motion.scale.s == 0.0 {
            return motion.tau;
        }
        motion.hint = trajectory.evaluate(motion.tau, motion.hint, &mut here);
    }
    duration
}

/// The joint with the largest `|q'| / a_max` at `p`, if any moves.
fn limiting_joint(p: &PathPoint, limits: &Limits) -> Option<usize> {
    let mut best = (STILL, None);
    for (j, d1) in p.d1.as_slice().iter().enumerate() {
        let r = d1.abs() / limits.acceleration[j];
        if r > best.0 {
            best = (r, Some(j));
        }
    }
    best.1
}

/// The largest jerk of joint `k` such that every joint, moving in proportion to `q'`, stays
/// within its jerk limit (unbounded when no jerk limits are set).
fn joint_jerk_bound(p: &PathPoint, limits: &Limits, k: usize) -> f64 {
    let Some(jerk) = &limits.jerk else {
        return f64::INFINITY;
    };
    let dk = p.d1.as_slice()[k].abs();
    p.d1.as_slice()
        .iter()
        .zip(jerk)
        .filter(|(d1, _)| d1.abs() > 0.0)
        .map(|(d1, j)| j * dk / d1.abs())
        .fold(f64::INFINITY, f64::min)
}

/// Bounds on `ṡ` keeping every joint's acceleration `q''·s² + q'·ṡ` within its limit at path
/// point `p` with scale `s` (never excluding `ṡ = 0`).
fn rate_bounds(p: &PathPoint, limits: &Limits, s: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    for j in 0..p.d1.dof() {
        let d1 = p.d1.as_slice()[j];
        if d1.abs() < STILL {
            continue;
        }
        let base = p.d2.as_slice()[j] * s * s;
        let a = (ACCELERATION_MARGIN * limits.acceleration[j]).max(base.abs());
        let (x, y) = ((-a - base) / d1, (a - base) / d1);
        lo = lo.max(x.min(y));
        hi = hi.min(x.max(y));
    }
    if lo > hi {
        // joints disagree (not for a valid trajectory): hold the rate nearest zero
        let mid = 0.5 * (lo + hi);
        (mid, mid)
    } else {
        (lo, hi)
    }
}

/// Bounds of the error controller: acceleration and jerk intervals, and the smallest jerk
/// the landing is planned with.
struct ErrorBounds {
    a_lo: f64,
    a_hi: f64,
    j_lo: f64,
    j_hi: f64,
    j_floor: f64,
}

/// The jerk for one period of a jerk-limited controller bringing a velocity error `v` with
/// its rate `a` to zero together: picks the jerk after which relaxing the rate to zero with
/// the jerk available lands on zero error (the most progress without overshoot), with the
/// rate kept within `[a_lo, a_hi]` (or brought back there as fast as allowed).
fn error_jerk(v: f64, a: f64, b: &ErrorBounds, dt: f64) -> f64 {
    if !(b.j_hi - b.j_lo).is_finite() {
        // no jerk limit: the rate may jump; head for zero error within the rate bounds
        let a_next = (-v / dt).clamp(b.a_lo.min(0.0), b.a_hi.max(0.0));
        return (a_next - a) / dt;
    }
    // jerk available to relax a positive rate (negative jerk) and a negative one
    // (planned with half of it: the path derivatives change while the rate relaxes)
    let relax_down = 0.5 * (-b.j_lo).max(b.j_floor);
    let relax_up = 0.5 * b.j_hi.max(b.j_floor);
    let landing = |j: f64| {
        let a1 = a + j * dt;
        let v1 = v + 0.5 * (a + a1) * dt;
        let relax = if a1 > 0.0 { relax_down } else { relax_up };
        v1 + a1 * a1.abs() / (2.0 * relax) + 0.5 * a1 * dt
    };
    let j_lo = b.j_lo.min(b.j_hi);
    let j_hi = b.j_hi.max(b.j_lo);
    let lo = ((b.a_lo.min(0.0) - a) / dt).clamp(j_lo, j_hi);
    let hi = ((b.a_hi.max(0.0) - a) / dt).clamp(j_lo, j_hi);
    let (lo, hi) = (lo.min(hi), hi.max(lo));
    if landing(hi) <= 0.0 {
        return hi;
    }
    if landing(lo) >= 0.0 {
        return lo;
    }
    let (mut x, mut y) = (lo, hi);
    for _ in 0..50 {
        let m = 0.5 * (x + y);
        if landing(m) <= 0.0 {
            x = m;
        } else {
            y = m;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::JointVector;

    fn limits(a: f64, j: Option<f64>) -> Limits {
        Limits {
            names: vec!["j".into()],
            lower: vec![-10.0],
            upper: vec![10.0],
            velocity: vec![10.0],
            acceleration: vec![a],
            jerk: j.map(|j| vec![j]),
        }
    }

    fn straight(d1: f64) -> PathPoint {
        let mut p = PathPoint::zeros(1);
        p.d1 = JointVector::from_slice(&[d1]);
        p
    }

    /// Runs the scale from (s, 0) to `target` on a straight path of slope `d1`; returns the
    /// joint accelerations per cycle.
    fn run(
        s0: f64,
        target: f64,
        d1: f64,
        limits: &Limits,
        ramp: Ramp,
        dt: f64,
    ) -> (SpeedScale, Vec<f64>) {
        let p = straight(d1);
        let mut scale = SpeedScale { s: s0, rate: 0.0 };
        let mut acc = vec![0.0];
        for _ in 0..100_000 {
            scale.step(target, &p, &p, limits, ramp, dt);
            acc.push(d1 * scale.rate);
            if scale.s == target && scale.rate == 0.0 {
                break;
            }
        }
        (scale, acc)
    }

    #[test]
    fn smooth_stop_on_a_straight_path_keeps_acceleration_and_jerk_and_ends_at_rest() {
        for (d1, a, j) in [(2.0, 10.0, 100.0), (0.5, 4.0, 30.0), (3.0, 12.0, 400.0)] {
            let l = limits(a, Some(j));
            let dt = 0.004;
            let (end, acc) = run(1.0, 0.0, d1, &l, Ramp::STOP, dt);
            assert_eq!(end, SpeedScale::REST);
            let amax = acc.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
            let jmax = acc
                .windows(2)
                .fold(0.0_f64, |m, w| m.max((w[1] - w[0]).abs() / dt));
            assert!(amax <= a * (1.0 + 1e-9), "acceleration {amax} > {a}");
            assert!(jmax <= j * 1.02, "jerk {jmax} > {j} (d1 {d1})");
            // near time-optimal: no slower than 1.3x the double-S stop from speed d1
            let v = d1;
            let t_opt = if v * j > a * a {
                v / a + a / j
            } else {
                2.0 * (v / j).sqrt()
            };
            let t = acc.len() as f64 * dt;
            assert!(
                t <= 1.3 * t_opt + 2.0 * dt,
                "stop took {t} s, optimum {t_opt} s"
            );
        }
    }

    #[test]
    fn override_changes_reach_the_target_within_limits_both_ways() {
        let dt = 0.001;
        for (s0, target) in [(1.0, 0.3), (0.3, 1.0), (0.05, 0.8), (1.0, 0.0), (0.0, 1.0)] {
            for (l, d1) in [(limits(10.0, Some(100.0)), 2.0), (limits(5.0, None), 1.0)] {
                let (end, acc) = run(s0, target, d1, &l, Ramp::COMFORT, dt);
                assert_eq!(
                    end,
                    SpeedScale {
                        s: target,
                        rate: 0.0
                    }
                );
                let a = l.acceleration[0];
                let amax = acc.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
                assert!(amax <= a * (1.0 + 1e-9), "acceleration {amax} > {a}");
                let jmax = acc
                    .windows(2)
                    .fold(0.0_f64, |m, w| m.max((w[1] - w[0]).abs() / dt));
                // the comfort ramp uses half the jerk limit
                if let Some(j) = &l.jerk {
                    let bound = 0.5 * j[0];
                    assert!(
                        jmax <= bound * 1.02,
                        "jerk {jmax} > {bound} ({s0} -> {target})"
                    );
                }
            }
        }
    }

    #[test]
    fn fastest_stop_is_at_least_as_fast_as_the_smooth_one() {
        let l = limits(10.0, Some(100.0));
        let dt = 0.002;
        let (end, fast) = run(1.0, 0.0, 2.0, &l, Ramp::Fastest, dt);
        assert_eq!(end, SpeedScale::REST);
        let (_, smooth) = run(1.0, 0.0, 2.0, &l, Ramp::STOP, dt);
        assert!(fast.len() < smooth.len());
        let amax = fast.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        assert!(amax <= 10.0 * (1.0 + 1e-9));
        // braking at the acceleration limit: about d1 / a
        assert!((fast.len() as f64 * dt) <= 2.0 / 10.0 / 0.98 + 3.0 * dt);
    }
}
