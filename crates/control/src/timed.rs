//! Time-aware admission: a motion may pass through space another robot is leaving.
//!
//! Robot A executes; its reservation is the rest of its path, kept as states `K_0..K_n`
//! (`K_0` where it is now), each with the trajectory time `L_i` by which A has passed it:
//! from then on every state A can occupy is within the sweep margin of one of `K_i..K_n`
//! (A only moves forward along its path, and every stop, pause or override change stays on
//! it).
//!
//! Robot B asks to execute a path that meets A's reservation. It is admitted with a **gate**
//! when:
//! - B's path up to its sample before the first contact (trajectory time `gate_tau`) is free
//!   of all of A's reservation: B may be there whatever A does;
//! - B's whole path is free of `K_m..K_n` for some `m < n`: once A's trajectory time reaches
//!   `clear_at = L_m`, B may go anywhere on its path;
//! - B can brake before `gate_tau`: its executor brakes (the fastest stop along its path)
//!   when its path time reaches `brake_at` and A has not reached `clear_at`; `brake_at` is the
//!   latest point from which that stop, started up to two control periods late at full speed,
//!   ends by `gate_tau`;
//! - at A's current pace (its speed override), A reaches `clear_at` at least the time margin
//!   before B can reach `brake_at` (B moves at most at full speed): in the nominal case B
//!   never brakes.
//!
//! The first three make it safe whatever A does (pause, hold, stop, fault); the last makes it
//! useful. When A has moved on to another execution, that one was admitted against all of
//! B's remaining path, so the gate is cleared too.

use crate::path::ExecTrajectory;
use crate::scaling::fastest_stop_end;
use cella_collision::{CheckScratch, Checker, RobotGeometry, StaticRobot, World};
use cella_trajectory::Limits;
use nalgebra::Isometry3;
use std::sync::Arc;

/// A robot's reservation with, per state, the trajectory time by which it has passed it.
#[derive(Debug, Clone)]
pub(crate) struct Reserved {
    /// The states, as obstacles for the others (`states[0]`: where the robot is).
    pub states: Vec<StaticRobot>,
    /// `leave[i]`: trajectory time (s) from which the robot occupies only states `i..`
    /// (infinite when it is not executing).
    pub leave: Vec<f64>,
    /// Set when the robot executes at a pace others may count on (moving, override above 0).
    pub pace: Option<Pace>,
}

/// How an executing robot progresses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pace {
    /// Its execution id.
    pub execution: u64,
    /// Its trajectory time now, s.
    pub tau: f64,
    /// Its speed override (trajectory seconds per second), (0, 1].
    pub speed: f64,
}

/// A gate found for one pair (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PairGate {
    /// Trajectory time of the waiting path's last sample free of all of the other's
    /// reservation, s.
    pub gate_tau: f64,
    /// Where the waiting path brakes unless cleared, s.
    pub brake_at: f64,
    /// Trajectory time the other robot must reach, s.
    pub clear_at: f64,
    /// When the other robot is expected there at its current pace, s from now.
    pub expected_clear: f64,
}

/// The waiting robot's side: its geometry, placement, a world of only what it carries, its
/// path and its limits.
pub(crate) struct Waiting<'a> {
    pub geometry: &'a Arc<RobotGeometry>,
    pub base: Isometry3<f64>,
    pub bare_world: &'a World,
    pub trajectory: &'a ExecTrajectory,
    pub limits: &'a Limits,
    /// Its control period, s.
    pub dt: f64,
}

/// Why a path cannot pass through a robot's reservation with a gate (in words, for the
/// refusal's message).
pub(crate) type Refusal = String;

/// The first sample of `path` (joint states, row-major) in contact with `obstacles` (checked
/// along the motion), if any.
fn first_contact(
    w: &Waiting<'_>,
    obstacles: &[StaticRobot],
    path: &[f64],
) -> Result<Option<usize>, Refusal> {
    let checker = Checker::new(w.geometry.clone(), w.base, w.bare_world, obstacles)
        .map_err(|e| format!("cannot check against the other robot: {e}"))?;
    let mut scratch: CheckScratch = checker.scratch();
    Ok(checker.path_first_collision(&mut scratch, path))
}

/// The gate for the waiting path against `other` (`name` in messages), `None` when the path
/// never meets its reservation, a refusal when no gate makes it safe and timely.
pub(crate) fn gate_against(
    w: &Waiting<'_>,
    other: &Reserved,
    name: &str,
    time_margin: f64,
) -> Result<Option<PairGate>, Refusal> {
    let s = w.trajectory.samples();
    let Some(k) = first_contact(w, &other.states, &s.q)? else {
        return Ok(None);
    };
    let Some(pace) = other.pace else {
        return Err(format!(
            "robot '{name}' is not moving at a pace to count on"
        ));
    };
    if k == 0 {
        return Err(format!("robot '{name}' will pass where this motion starts"));
    }
    let gate_tau = s.times[k - 1];
    // the smallest m whose suffix K_m.. the whole path is free of (the empty suffix is free)
    let n = other.states.len();
    let (mut lo, mut hi) = (1, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if first_contact(w, &other.states[mid..], &s.q)?.is_none() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo >= n {
        return Err(format!(
            "robot '{name}' ends its motion in the way of this one"
        ));
    }
    let clear_at = other.leave[lo];
    let Some(brake_at) = brake_point(w, gate_tau) else {
        return Err(format!(
            "this motion meets robot '{name}''s path {gate_tau:.3} s after its start: too soon \
             to brake before it"
        ));
    };
    let expected_clear = (clear_at - pace.tau).max(0.0) / pace.speed;
    if expected_clear + time_margin > brake_at {
        return Err(format!(
            "robot '{name}' (execution {}) leaves the space this motion enters at t = \
             {gate_tau:.3} s in {expected_clear:.3} s; this motion could be there at \
             {brake_at:.3} s, and {time_margin:.3} s of margin are kept",
            pace.execution
        ));
    }
    Ok(Some(PairGate {
        gate_tau,
        brake_at,
        clear_at,
        expected_clear,
    }))
}

/// The latest path time from which the waiting path, moving at full speed and braking up to
/// two control periods later, comes to rest by `gate_tau` (`None` when not even from its
/// start).
fn brake_point(w: &Waiting<'_>, gate_tau: f64) -> Option<f64> {
    let dt = w.dt;
    let stops_in_time = |t0: f64| {
        (0..3).all(|i| fastest_stop_end(w.trajectory, w.limits, dt, t0 + i as f64 * dt) <= gate_tau)
    };
    if !stops_in_time(0.0) {
        return None;
    }
    let (mut lo, mut hi) = (0.0, gate_tau);
    while hi - lo > 0.25 * dt {
        let mid = 0.5 * (lo + hi);
        if stops_in_time(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// The suffix of `other` that covers every state it can occupy from its trajectory time
/// `clear_at` on: from the last state it has passed by then.
pub(crate) fn suffix_from(other: &Reserved, clear_at: f64) -> &[StaticRobot] {
    let i = other
        .leave
        .iter()
        .rposition(|l| *l <= clear_at)
        .unwrap_or(0);
    &other.states[i..]
}

/// Checks a gated pair again (after the world or what a robot carries changed): the waiting
/// path `rest` (joint states from where the robot is, with their trajectory times) up to
/// `gate_tau` against all of `other`, and all of it against what `other` occupies from
/// `clear_at` on. Returns the index in `rest` of the first contact.
pub(crate) fn recheck_pair(
    w: &Waiting<'_>,
    rest: &[f64],
    times: &[f64],
    other: &Reserved,
    gate_tau: f64,
    clear_at: f64,
) -> Result<Option<usize>, Refusal> {
    let dof = w.trajectory.dof();
    let before = times.iter().take_while(|t| **t <= gate_tau).count();
    if before > 0
        && let Some(k) = first_contact(w, &other.states, &rest[..before * dof])?
    {
        return Ok(Some(k));
    }
    first_contact(w, suffix_from(other, clear_at), rest)
}
