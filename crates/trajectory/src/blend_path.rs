//! A joint-space path through waypoints with circular blends at the corners (Kunz & Stilman,
//! "Time-Optimal Trajectory Generation for Path Following with Bounded Acceleration and
//! Velocity", RSS 2012, §IV): straight segments joined by arcs of circles tangent to both
//! segments, each arc staying within `max_deviation` (rad, Euclidean in joint space) of the
//! waypoint it replaces. The path is parameterized by its arc length `s` (rad), so the tangent
//! `dq/ds` is a unit vector.
//!
//! A corner that cannot be blended (no deviation allowed, or the path reverses) is a *stop
//! point*: the tangent jumps there, so a trajectory must pass it at rest.

use crate::error::{Result, TrajectoryError};

/// What a piece of the path is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PieceKind {
    /// A straight segment.
    Line,
    /// An arc of a circle of `radius` (rad) turning through `angle` (rad).
    Arc {
        /// Radius in joint space, rad.
        radius: f64,
        /// Turning angle, rad.
        angle: f64,
    },
}

/// One piece: where it starts on the path, its length and its shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Arc length at the start of the piece, rad.
    pub start: f64,
    /// Arc length of the piece, rad.
    pub length: f64,
    /// Line or arc.
    pub kind: PieceKind,
    /// Offset of the piece's vectors in the path's flat storage: a line stores its start
    /// point and unit direction; an arc stores its centre, `x` and `y` unit axes.
    offset: usize,
}

/// A blended joint-space path (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct BlendedPath {
    dof: usize,
    pieces: Vec<Piece>,
    data: Vec<f64>,
    length: f64,
    /// Arc lengths of the corners passed at rest (tangent discontinuities).
    stops: Vec<f64>,
    /// The last waypoint, exactly.
    last: Vec<f64>,
}

/// Turning angles below this are straight continuations (no blend, no stop), rad.
const STRAIGHT: f64 = 1e-9;
/// Turning angles closer than this to π are reversals, passed at rest, rad.
const REVERSAL: f64 = 1e-6;

impl BlendedPath {
    /// Builds the path through `waypoints` (each `dof` long, finite, no two consecutive
    /// equal, at least two). `max_deviation` (rad, ≥ 0) bounds how far a blend may pass from
    /// its waypoint; 0 gives the straight segments with a stop at every corner.
    pub fn new(waypoints: &[Vec<f64>], max_deviation: f64) -> Result<Self> {
        if !(max_deviation.is_finite() && max_deviation >= 0.0) {
            return Err(TrajectoryError::invalid(
                "max_deviation",
                format!("{max_deviation} rad is not a finite non-negative deviation"),
            ));
        }
        if waypoints.len() < 2 {
            return Err(TrajectoryError::invalid(
                "path",
                format!("{} waypoint(s): a path needs at least 2", waypoints.len()),
            ));
        }
        let dof = waypoints[0].len();
        if dof == 0 {
            return Err(TrajectoryError::invalid("path[0]", "no joint values"));
        }
        for (k, w) in waypoints.iter().enumerate() {
            if w.len() != dof {
                return Err(TrajectoryError::invalid(
                    format!("path[{k}]"),
                    format!("{} values, path[0] has {dof}", w.len()),
                ));
            }
            if let Some(i) = w.iter().position(|v| !v.is_finite()) {
                return Err(TrajectoryError::invalid(
                    format!("path[{k}]"),
                    format!("joint {i} = {} is not finite", w[i]),
                ));
            }
            if k > 0 && distance(&waypoints[k - 1], w) < 1e-12 {
                return Err(TrajectoryError::invalid(
                    format!("path[{k}]"),
                    "repeats the previous waypoint (a path needs distinct consecutive points)",
                ));
            }
        }
        let segments = waypoints.len() - 1;
        // unit direction and length of every segment
        let mut dirs = vec![0.0; segments * dof];
        let mut lengths = vec![0.0; segments];
        for k in 0..segments {
            let l = distance(&waypoints[k], &waypoints[k + 1]);
            lengths[k] = l;
            for i in 0..dof {
                dirs[k * dof + i] = (waypoints[k + 1][i] - waypoints[k][i]) / l;
            }
        }
        // blend length ℓ at every interior waypoint (0: none), and whether it is a stop
        let mut blend = vec![0.0; waypoints.len()];
        let mut angle = vec![0.0; waypoints.len()];
        let mut stop = vec![false; waypoints.len()];
        for k in 1..segments {
            let u1 = &dirs[(k - 1) * dof..k * dof];
            let u2 = &dirs[k * dof..(k + 1) * dof];
            // 2 asin(|u2 - u1| / 2): well conditioned near 0, unlike acos(u1 · u2)
            let chord = distance(u1, u2);
            let a = 2.0 * (0.5 * chord).min(1.0).asin();
            angle[k] = a;
            if a < STRAIGHT {
                continue;
            }
            let half = 0.5 * a;
            let by_deviation = max_deviation * half.sin() / (1.0 - half.cos());
            let l = (0.5 * lengths[k - 1])
                .min(0.5 * lengths[k])
                .min(by_deviation);
            if a > std::f64::consts::PI - REVERSAL || l < 1e-9 {
                stop[k] = true;
            } else {
                blend[k] = l;
            }
        }
        let mut path = Self {
            dof,
            pieces: Vec::with_capacity(2 * segments),
            data: Vec::with_capacity(2 * segments * 3 * dof),
            length: 0.0,
            stops: Vec::new(),
            last: waypoints[waypoints.len() - 1].clone(),
        };
        let mut current = waypoints[0].clone();
        let mut point = vec![0.0; dof];
        for k in 0..segments {
            let u = &dirs[k * dof..(k + 1) * dof];
            let next = &waypoints[k + 1];
            let back = blend[k + 1];
            for i in 0..dof {
                point[i] = next[i] - back * u[i];
            }
            let line = distance(&current, &point);
            if line > 1e-12 {
                let offset = path.data.len();
                path.data.extend_from_slice(&current);
                path.data.extend_from_slice(u);
                path.push(line, PieceKind::Line, offset);
            }
            if back > 0.0 {
                let u2 = &dirs[(k + 1) * dof..(k + 2) * dof];
                let a = angle[k + 1];
                let radius = back / (0.5 * a).tan();
                // centre: from the waypoint along the bisector (u2 - u1) at r / cos(a/2)
                let mut bisector: Vec<f64> = u2.iter().zip(u).map(|(b, a)| b - a).collect();
                let norm = bisector.iter().map(|v| v * v).sum::<f64>().sqrt();
                bisector.iter_mut().for_each(|v| *v /= norm);
                let reach = radius / (0.5 * a).cos();
                let offset = path.data.len();
                for i in 0..dof {
                    path.data.push(next[i] + reach * bisector[i]);
                }
                for i in 0..dof {
                    let centre = next[i] + reach * bisector[i];
                    path.data.push((point[i] - centre) / radius);
                }
                path.data.extend_from_slice(u);
                path.push(radius * a, PieceKind::Arc { radius, angle: a }, offset);
                for i in 0..dof {
                    current[i] = next[i] + back * u2[i];
                }
            } else {
                current.copy_from_slice(next);
                if stop[k + 1] {
                    path.stops.push(path.length);
                }
            }
        }
        Ok(path)
    }

    fn push(&mut self, length: f64, kind: PieceKind, offset: usize) {
        self.pieces.push(Piece {
            start: self.length,
            length,
            kind,
            offset,
        });
        self.length += length;
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.dof
    }

    /// The last waypoint, exactly (where the path ends).
    pub fn end_point(&self) -> &[f64] {
        &self.last
    }

    /// Total arc length, rad.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// The pieces in path order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Arc lengths of the corners the trajectory must pass at rest.
    pub fn stops(&self) -> &[f64] {
        &self.stops
    }

    /// Index of the piece containing arc length `s` (clamped to the path).
    pub fn piece_at(&self, s: f64) -> usize {
        let k = self.pieces.partition_point(|p| p.start <= s);
        k.saturating_sub(1).min(self.pieces.len().saturating_sub(1))
    }

    /// Configuration `q(s)`, tangent `q'(s)` and curvature vector `q''(s)` at arc length `s`
    /// on piece `piece` (as given by [`BlendedPath::piece_at`]), into buffers of `dof` values.
    pub fn evaluate_on(
        &self,
        piece: usize,
        s: f64,
        q: &mut [f64],
        dq: &mut [f64],
        ddq: &mut [f64],
    ) {
        let p = &self.pieces[piece];
        let n = self.dof;
        let local = (s - p.start).clamp(0.0, p.length);
        let d = &self.data[p.offset..];
        match p.kind {
            PieceKind::Line => {
                for i in 0..n {
                    q[i] = d[i] + local * d[n + i];
                    dq[i] = d[n + i];
                    ddq[i] = 0.0;
                }
            }
            PieceKind::Arc { radius, .. } => {
                let (sin, cos) = (local / radius).sin_cos();
                for i in 0..n {
                    let (c, x, y) = (d[i], d[n + i], d[2 * n + i]);
                    q[i] = c + radius * (x * cos + y * sin);
                    dq[i] = -x * sin + y * cos;
                    ddq[i] = -(x * cos + y * sin) / radius;
                }
            }
        }
    }

    /// `q(s)`, `q'(s)`, `q''(s)` at arc length `s` (clamped to the path).
    pub fn evaluate(&self, s: f64, q: &mut [f64], dq: &mut [f64], ddq: &mut [f64]) {
        self.evaluate_on(self.piece_at(s), s, q, dq, ddq);
    }

    /// For an arc piece: per joint, the amplitude `sqrt(x_i² + y_i²)` of its tangent
    /// component (bounds how fast that component changes with the arc angle). Zero for lines.
    pub(crate) fn arc_amplitude(&self, piece: usize, joint: usize) -> f64 {
        let p = &self.pieces[piece];
        match p.kind {
            PieceKind::Line => 0.0,
            PieceKind::Arc { .. } => {
                let d = &self.data[p.offset..];
                let (x, y) = (d[self.dof + joint], d[2 * self.dof + joint]);
                (x * x + y * y).sqrt()
            }
        }
    }
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(path: &BlendedPath, s: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = path.dof();
        let (mut q, mut d, mut dd) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        path.evaluate(s, &mut q, &mut d, &mut dd);
        (q, d, dd)
    }

    #[test]
    fn right_angle_corner_blend_is_tangent_and_within_deviation() {
        // (0,0) → (1,0) → (1,1), deviation 0.1: ℓ = δ sin45/(1-cos45) = 0.2414
        let path =
            BlendedPath::new(&[vec![0.0, 0.0], vec![1.0, 0.0], vec![1.0, 1.0]], 0.1).unwrap();
        assert_eq!(path.pieces().len(), 3);
        let l =
            0.1 * (std::f64::consts::FRAC_PI_4.sin()) / (1.0 - std::f64::consts::FRAC_PI_4.cos());
        let arc = path.pieces()[1];
        assert!((arc.start - (1.0 - l)).abs() < 1e-12);
        match arc.kind {
            PieceKind::Arc { radius, angle } => {
                assert!((radius - l).abs() < 1e-12, "r = ℓ / tan 45° = ℓ");
                assert!((angle - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
            }
            PieceKind::Line => panic!("expected an arc"),
        }
        // tangent continuous at both ends, curvature 1/r inside
        let (q0, t0, _) = at(&path, arc.start);
        assert!((q0[0] - (1.0 - l)).abs() < 1e-12 && q0[1].abs() < 1e-12);
        assert!((t0[0] - 1.0).abs() < 1e-12 && t0[1].abs() < 1e-12);
        let (q1, t1, _) = at(&path, arc.start + arc.length);
        assert!((q1[0] - 1.0).abs() < 1e-12 && (q1[1] - l).abs() < 1e-12);
        assert!(t1[0].abs() < 1e-12 && (t1[1] - 1.0).abs() < 1e-12);
        let (qm, _, c) = at(&path, arc.start + 0.5 * arc.length);
        let curvature = (c[0] * c[0] + c[1] * c[1]).sqrt();
        assert!((curvature - 1.0 / l).abs() < 1e-9);
        // the midpoint passes exactly max_deviation from the corner
        let dev = ((qm[0] - 1.0).powi(2) + qm[1].powi(2)).sqrt();
        assert!((dev - 0.1).abs() < 1e-12, "deviation {dev}");
        // total length: two shortened lines plus the quarter circle
        let expected = 2.0 * (1.0 - l) + std::f64::consts::FRAC_PI_2 * l;
        assert!((path.length() - expected).abs() < 1e-12);
        assert!(path.stops().is_empty());
    }

    #[test]
    fn no_deviation_and_reversals_are_stops() {
        let w = [vec![0.0, 0.0], vec![1.0, 0.0], vec![1.0, 1.0]];
        let path = BlendedPath::new(&w, 0.0).unwrap();
        assert_eq!(path.stops(), &[1.0]);
        let back = [vec![0.0], vec![1.0], vec![0.5]];
        let path = BlendedPath::new(&back, 0.1).unwrap();
        assert_eq!(path.stops(), &[1.0]);
        assert!((path.length() - 1.5).abs() < 1e-12);
        // collinear waypoints: neither blend nor stop
        let straight = [vec![0.0, 0.0], vec![1.0, 1.0], vec![2.0, 2.0]];
        let path = BlendedPath::new(&straight, 0.1).unwrap();
        assert!(path.stops().is_empty());
        assert!(path.pieces().iter().all(|p| p.kind == PieceKind::Line));
    }

    #[test]
    fn blends_never_take_more_than_half_a_segment() {
        // short segments: the blend is limited by the segment, not the deviation
        let w = [
            vec![0.0, 0.0],
            vec![0.1, 0.0],
            vec![0.1, 0.1],
            vec![0.2, 0.1],
        ];
        let path = BlendedPath::new(&w, 10.0).unwrap();
        for p in path.pieces() {
            assert!(p.length > 0.0);
        }
        let (end, _, _) = at(&path, path.length());
        assert!((end[0] - 0.2).abs() < 1e-12 && (end[1] - 0.1).abs() < 1e-12);
    }

    #[test]
    fn bad_paths_are_errors() {
        assert!(BlendedPath::new(&[vec![0.0]], 0.1).is_err());
        assert!(BlendedPath::new(&[vec![0.0], vec![0.0]], 0.1).is_err());
        assert!(BlendedPath::new(&[vec![0.0], vec![1.0, 2.0]], 0.1).is_err());
        assert!(BlendedPath::new(&[vec![0.0], vec![f64::NAN]], 0.1).is_err());
        assert!(BlendedPath::new(&[vec![0.0], vec![1.0]], -1.0).is_err());
    }
}
