//! A motion for the page: the trajectory's samples (positions, velocities, accelerations and
//! jerks, the last three differentiated where the trajectory lacks them), the clearance along
//! it (measured with [`Checker::distance`] at each sample, with the pair that has it), and the
//! closest state; or a refused plan's offending state with its colliding pairs.

use cella_collision::Checker;
use serde::Serialize;

/// Most samples embedded: longer trajectories are thinned evenly (the page interpolates
/// linearly between samples).
pub const MAX_SAMPLES: usize = 6000;
/// Most states the clearance is measured at.
pub const MAX_CLEARANCE_SAMPLES: usize = 1500;

/// A joint trajectory: times (s, increasing) and per sample the group joint values; velocities
/// and accelerations when the trajectory has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// Times, s, strictly increasing.
    pub t: Vec<f64>,
    /// Positions per sample.
    pub q: Vec<Vec<f64>>,
    /// Velocities per sample, when known.
    pub qd: Option<Vec<Vec<f64>>>,
    /// Accelerations per sample, when known.
    pub qdd: Option<Vec<Vec<f64>>>,
}

/// Why a motion cannot be shown.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MotionError {
    /// The trajectory is empty, its times do not increase, or its rows do not fit the robot.
    #[error("trajectory: {0}")]
    Invalid(String),
}

impl Samples {
    /// Checks the shape against a robot of `dof` joints: at least one sample, finite values,
    /// strictly increasing times, every row of `dof` values.
    pub fn validate(&self, dof: usize) -> Result<(), MotionError> {
        let bad = |m: String| Err(MotionError::Invalid(m));
        if self.t.is_empty() || self.t.len() != self.q.len() {
            return bad(format!(
                "{} times for {} positions (need at least one sample)",
                self.t.len(),
                self.q.len()
            ));
        }
        if let Some(k) = self
            .t
            .windows(2)
            .position(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
        {
            return bad(format!("points[{}].t does not increase", k + 1));
        }
        if self.t.iter().any(|t| !t.is_finite()) {
            return bad("a time is not finite".into());
        }
        for (name, rows) in [
            ("q", Some(&self.q)),
            ("qd", self.qd.as_ref()),
            ("qdd", self.qdd.as_ref()),
        ] {
            let Some(rows) = rows else { continue };
            if rows.len() != self.t.len() {
                return bad(format!(
                    "{} {name} rows for {} times",
                    rows.len(),
                    self.t.len()
                ));
            }
            if let Some(k) = rows
                .iter()
                .position(|r| r.len() != dof || r.iter().any(|v| !v.is_finite()))
            {
                return bad(format!(
                    "points[{k}].{name}: need {dof} finite values, got {:?}",
                    rows[k]
                ));
            }
        }
        Ok(())
    }
}

/// The central difference of `rows` over `t` (one-sided at the ends).
fn derivative(t: &[f64], rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = t.len();
    (0..n)
        .map(|k| {
            let (a, b) = match (k.checked_sub(1), k + 1 < n) {
                (Some(a), true) => (a, k + 1),
                (None, true) => (k, k + 1),
                (Some(a), false) => (a, k),
                (None, false) => return vec![0.0; rows[k].len()],
            };
            let dt = t[b] - t[a];
            rows[a]
                .iter()
                .zip(&rows[b])
                .map(|(x, y)| (y - x) / dt)
                .collect()
        })
        .collect()
}

/// Joint series for the page: each series is the samples' rows back to back (`dof` values per
/// sample) as little-endian `f32`, base64 (a `Float32Array` in the page: half the size of
/// JSON numbers, exact to 10⁻⁷ rad).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrajectoryData {
    /// Index of the moving robot in the scene.
    pub robot: usize,
    /// Sample times, s.
    pub t: Vec<f64>,
    /// Positions.
    pub q: String,
    /// Velocities.
    pub qd: String,
    /// Accelerations.
    pub qdd: String,
    /// Jerks (differentiated accelerations).
    pub jerk: String,
    /// Joints per sample.
    pub dof: usize,
    /// Which series were differentiated by the viewer (the file did not have them).
    pub derived: Vec<&'static str>,
    /// Duration, s.
    pub duration: f64,
}

/// The clearance along a motion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClearanceData {
    /// Times it was measured at, s.
    pub t: Vec<f64>,
    /// Clearance, m (negative: in collision), `null` where nothing is checked.
    pub d: Vec<Option<f64>>,
    /// Per time, the index of its closest pair in `pairs`.
    pub pair: Vec<u32>,
    /// Closest pairs: (link or attached object, link, object or `<robot>/<link>`).
    pub pairs: Vec<[String; 2]>,
    /// The closest state: index into `t`.
    pub min: Option<usize>,
    /// Padding kept from objects and other robots, m.
    pub padding: f64,
}

/// A refused plan: what was refused and the state to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefusalData {
    /// The planner's message.
    pub reason: String,
    /// `start`, `goal`, `limits` or `no_path`.
    pub kind: String,
    /// Index of the robot in the scene.
    pub robot: usize,
    /// The offending state (start or goal), or the start when no path was found.
    pub state: Vec<f64>,
    /// The goals, shown as ghosts.
    pub goals: Vec<Vec<f64>>,
    /// The colliding pairs at `state`.
    pub pairs: Vec<[String; 2]>,
    /// The clearance at `state`, m.
    pub clearance: Option<f64>,
}

/// Thins `n` sample indices to at most `max`, keeping the first and the last.
fn thin(n: usize, max: usize) -> Vec<usize> {
    if n <= max || max < 2 {
        return (0..n).collect();
    }
    let step = (n - 1).div_ceil(max - 1);
    let mut idx: Vec<usize> = (0..n).step_by(step).collect();
    if idx.last() != Some(&(n - 1)) {
        idx.push(n - 1);
    }
    idx
}

/// The joint series of a trajectory for robot `robot` (checked with [`Samples::validate`]).
pub fn trajectory_data(robot: usize, s: &Samples) -> Result<TrajectoryData, MotionError> {
    s.validate(s.q.first().map_or(0, Vec::len))?;
    let mut derived = Vec::new();
    let qd = match &s.qd {
        Some(v) => v.clone(),
        None => {
            derived.push("qd");
            derivative(&s.t, &s.q)
        }
    };
    let qdd = match &s.qdd {
        Some(v) => v.clone(),
        None => {
            derived.push("qdd");
            derivative(&s.t, &qd)
        }
    };
    let jerk = derivative(&s.t, &qdd);
    derived.push("jerk");
    let keep = thin(s.t.len(), MAX_SAMPLES);
    let flat = |rows: &[Vec<f64>]| -> String {
        let bytes: Vec<u8> = keep
            .iter()
            .flat_map(|&k| rows[k].iter().flat_map(|&v| (v as f32).to_le_bytes()))
            .collect();
        crate::meshcode::base64(&bytes)
    };
    Ok(TrajectoryData {
        robot,
        t: keep.iter().map(|&k| s.t[k]).collect(),
        q: flat(&s.q),
        qd: flat(&qd),
        qdd: flat(&qdd),
        jerk: flat(&jerk),
        dof: s.q.first().map_or(0, Vec::len),
        derived,
        duration: s.t.last().copied().unwrap_or(0.0) - s.t.first().copied().unwrap_or(0.0),
    })
}

/// The clearance at (at most [`MAX_CLEARANCE_SAMPLES`] evenly spread) samples of a trajectory,
/// with the closest pair at each, and the closest state. A state that does not fit the checker
/// has no clearance (`null`).
pub fn clearance_data(checker: &Checker, s: &Samples, padding: f64) -> ClearanceData {
    let mut scratch = checker.scratch();
    let mut out = ClearanceData {
        t: Vec::new(),
        d: Vec::new(),
        pair: Vec::new(),
        pairs: Vec::new(),
        min: None,
        padding,
    };
    let mut best = f64::INFINITY;
    for k in thin(s.t.len().min(s.q.len()), MAX_CLEARANCE_SAMPLES) {
        let proximity = checker.distance(&mut scratch, &s.q[k]);
        out.t.push(s.t[k]);
        match proximity {
            Some(p) => {
                let names = [p.a, p.b];
                let index = match out.pairs.iter().position(|x| *x == names) {
                    Some(i) => i,
                    None => {
                        out.pairs.push(names);
                        out.pairs.len() - 1
                    }
                };
                if p.distance < best {
                    best = p.distance;
                    out.min = Some(out.d.len());
                }
                out.d.push(Some(p.distance));
                out.pair.push(index as u32);
            }
            None => {
                out.d.push(None);
                out.pair.push(u32::MAX);
            }
        }
    }
    out
}

/// A refusal: the offending state's colliding pairs and clearance, measured by `checker`.
pub fn refusal_data(
    checker: &Checker,
    robot: usize,
    reason: &str,
    kind: &str,
    state: &[f64],
    goals: &[Vec<f64>],
) -> RefusalData {
    let mut scratch = checker.scratch();
    let pairs = checker
        .contacts(&mut scratch, state)
        .into_iter()
        .map(|(a, b)| [a, b])
        .collect();
    let clearance = checker.distance(&mut scratch, state).map(|p| p.distance);
    RefusalData {
        reason: reason.to_owned(),
        kind: kind.to_owned(),
        robot,
        state: state.to_vec(),
        goals: goals.to_vec(),
        pairs,
        clearance,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn missing_series_are_differentiated_and_jerk_always_is() {
        // q = t³ on 0..1: qd = 3t², qdd = 6t, jerk = 6
        let t: Vec<f64> = (0..=100).map(|k| k as f64 / 100.0).collect();
        let s = Samples {
            q: t.iter().map(|x| vec![x * x * x]).collect(),
            qd: Some(t.iter().map(|x| vec![3.0 * x * x]).collect()),
            qdd: None,
            t,
        };
        s.validate(1).unwrap();
        let d = trajectory_data(0, &s).unwrap();
        assert_eq!(d.derived, vec!["qdd", "jerk"]);
        let qdd = derivative(&s.t, s.qd.as_ref().unwrap());
        let jerk = derivative(&s.t, &qdd);
        assert!((qdd[50][0] - 3.0).abs() < 1e-3, "{}", qdd[50][0]);
        assert!((jerk[50][0] - 6.0).abs() < 1e-2, "{}", jerk[50][0]);
        // 101 samples of one f32: 404 bytes, 540 base64 characters
        assert_eq!(d.q.len(), 404_usize.div_ceil(3) * 4);
        assert!((d.duration - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_trajectories_are_named() {
        let s = Samples {
            t: vec![0.0, 0.0],
            q: vec![vec![0.0], vec![1.0]],
            ..Samples::default()
        };
        assert!(
            s.validate(1)
                .unwrap_err()
                .to_string()
                .contains("points[1].t")
        );
        let s = Samples {
            t: vec![0.0, 1.0],
            q: vec![vec![0.0], vec![1.0, 2.0]],
            ..Samples::default()
        };
        assert!(
            s.validate(1)
                .unwrap_err()
                .to_string()
                .contains("points[1].q")
        );
        assert!(Samples::default().validate(1).is_err());
    }

    #[test]
    fn thinning_keeps_both_ends() {
        assert_eq!(thin(5, 10), vec![0, 1, 2, 3, 4]);
        let t = thin(10_001, 1000);
        assert!(t.len() <= 1001);
        assert_eq!((t[0], *t.last().unwrap()), (0, 10_000));
    }
}
