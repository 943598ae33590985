//! Time-optimal parameterization of a blended path under per-joint velocity and acceleration
//! limits (the problem TOTG and TOPP-RA solve), so the arm sweeps through blended corners
//! instead of stopping at every waypoint.
//!
//! Method: the phase plane `x = ṡ²` over arc length `s`. On a straight piece the constraints
//! are constant, so the optimum is solved exactly (accelerate, cruise, decelerate). Arcs are
//! cut into cells of at most [`TimeOptimalOptions::arc_step`] radians of turning, each with a
//! constant path acceleration `s̈`, and the constraints `|q'ᵢ s̈ + q''ᵢ ṡ²| ≤ aᵢ`,
//! `|q'ᵢ| ṡ ≤ vᵢ` become linear in `(x, s̈)` at every cell (as in TOPP-RA's reachability
//! analysis): a backward pass finds the largest `x` from which the rest of the path can
//! still stop in time (controllable set), a forward pass takes the largest `s̈` that stays in
//! it. Velocities on arcs are bounded over the whole cell; accelerations on arcs are planned
//! against limits reduced by a small margin, and the result is checked at the start, middle
//! and end of every arc cell, retrying with a larger margin if any check fails.

use crate::blend_path::{BlendedPath, PieceKind};
use crate::error::{Result, TrajectoryError};
use crate::limits::Limits;
use crate::sampled::SampledTrajectory;

/// Options of [`TimeOptimalTrajectory::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct TimeOptimalOptions {
    /// How far a blend may pass from its waypoint, rad (Euclidean in joint space); 0 stops at
    /// every corner.
    pub max_deviation: f64,
    /// Largest turning angle of one arc cell, rad.
    pub arc_step: f64,
}

impl Default for TimeOptimalOptions {
    fn default() -> Self {
        Self {
            max_deviation: 0.1,
            arc_step: 0.01,
        }
    }
}

/// A stretch of constant path acceleration: from time `t0`, arc length `s0`, path speed
/// `sd0`, with path acceleration `sdd`, on piece `piece`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    t0: f64,
    s0: f64,
    sd0: f64,
    sdd: f64,
    piece: usize,
}

/// A time-optimal trajectory along a [`BlendedPath`] starting and ending at rest.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeOptimalTrajectory {
    path: BlendedPath,
    cells: Vec<Cell>,
    duration: f64,
}

/// Acceleration margins tried on arcs, in order (fraction of the limit held back).
const MARGINS: [f64; 4] = [0.001, 0.01, 0.05, 0.2];

impl TimeOptimalTrajectory {
    /// Parameterizes the blended path through `waypoints` (at least two, distinct
    /// consecutive, within `limits`' positions) under `limits`' velocity and acceleration
    /// limits (jerk limits are not enforced: see the segmented trajectories for the jerk-limited
    /// variant).
    pub fn new(
        waypoints: &[Vec<f64>],
        limits: &Limits,
        options: &TimeOptimalOptions,
    ) -> Result<Self> {
        limits.validate()?;
        crate::segmented::check_waypoints(waypoints, limits)?;
        if !(options.arc_step.is_finite() && options.arc_step > 0.0 && options.arc_step <= 0.5) {
            return Err(TrajectoryError::invalid(
                "arc_step",
                format!("{} rad is not in (0, 0.5]", options.arc_step),
            ));
        }
        let path = BlendedPath::new(waypoints, options.max_deviation)?;
        for margin in MARGINS {
            let traj = Self::solve(path.clone(), limits, options.arc_step, margin);
            if traj.arcs_within(limits) {
                return Ok(traj);
            }
        }
        Err(TrajectoryError::invalid(
            "path",
            "no parameterization within the limits on the blends (reduce max_deviation)",
        ))
    }

    /// One solve with acceleration limits on arcs reduced by `margin`.
    fn solve(path: BlendedPath, limits: &Limits, arc_step: f64, margin: f64) -> Self {
        let grid = Grid::new(&path, limits, arc_step, margin);
        let (cells, duration) = grid.integrate(&path);
        Self {
            path,
            cells,
            duration,
        }
    }

    /// Checks velocities and accelerations at the start, middle and end of every arc cell.
    fn arcs_within(&self, limits: &Limits) -> bool {
        let n = self.path.dof();
        let (mut q, mut qd, mut qdd) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for (k, c) in self.cells.iter().enumerate() {
            if !matches!(self.path.pieces()[c.piece].kind, PieceKind::Arc { .. }) {
                continue;
            }
            let end = self.cells.get(k + 1).map_or(self.duration, |n| n.t0);
            for t in [c.t0, 0.5 * (c.t0 + end), end] {
                self.evaluate_in(k, t, &mut q, &mut qd, &mut qdd);
                for i in 0..n {
                    // 1e-9 relative: rounding, far inside the validator's 1e-6
                    if qd[i].abs() > limits.velocity[i] * (1.0 + 1e-9)
                        || qdd[i].abs() > limits.acceleration[i] * (1.0 + 1e-9)
                    {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Total duration, s.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.path.dof()
    }

    /// The geometric path followed.
    pub fn path(&self) -> &BlendedPath {
        &self.path
    }

    /// Position, velocity and acceleration at time `t` (clamped to [0, duration]) into the
    /// caller's buffers (each at least `dof` long; shorter buffers are left untouched).
    /// No allocation.
    pub fn evaluate(&self, t: f64, q: &mut [f64], qd: &mut [f64], qdd: &mut [f64]) {
        let n = self.dof();
        if q.len() < n || qd.len() < n || qdd.len() < n {
            return;
        }
        if self.cells.is_empty() || t >= self.duration {
            let end = self.path.length();
            let piece = self.path.pieces().len() - 1;
            self.path.evaluate_on(piece, end, q, qd, qdd);
            qd[..n].fill(0.0);
            qdd[..n].fill(0.0);
            return;
        }
        let k = self.cells.partition_point(|c| c.t0 <= t).saturating_sub(1);
        self.evaluate_in(k, t, q, qd, qdd);
    }

    fn evaluate_in(&self, k: usize, t: f64, q: &mut [f64], qd: &mut [f64], qdd: &mut [f64]) {
        let c = &self.cells[k];
        let tau = (t - c.t0).max(0.0);
        let s_end = self
            .cells
            .get(k + 1)
            .map_or(self.path.length(), |next| next.s0);
        let s = (c.s0 + c.sd0 * tau + 0.5 * c.sdd * tau * tau).min(s_end);
        let sd = (c.sd0 + c.sdd * tau).max(0.0);
        self.path.evaluate_on(c.piece, s, q, qd, qdd);
        for i in 0..self.dof() {
            let (tangent, curvature) = (qd[i], qdd[i]);
            qd[i] = tangent * sd;
            qdd[i] = tangent * c.sdd + curvature * sd * sd;
        }
    }

    /// Samples every `period` seconds from 0, plus the exact final point.
    pub fn sample(&self, period: f64) -> Result<SampledTrajectory> {
        SampledTrajectory::from_fn(self.dof(), self.duration, period, |t, q, qd, qdd| {
            self.evaluate(t, q, qd, qdd)
        })
    }
}

/// A bound `s̈ ≥ offset + slope·x` (lower) or `s̈ ≤ offset + slope·x` (upper).
#[derive(Debug, Clone, Copy)]
struct Bound {
    offset: f64,
    slope: f64,
}

impl Bound {
    fn at(&self, x: f64) -> f64 {
        self.offset + self.slope * x
    }
}

/// The discretized phase plane: nodes along the path with their speed caps and
/// controllable-set bounds.
struct Grid<'a> {
    limits: &'a Limits,
    margin: f64,
    /// Arc length of every node.
    s: Vec<f64>,
    /// Piece of the interval starting at every node.
    piece: Vec<usize>,
    /// Largest `x = ṡ²` at every node: speed caps, then the controllable set.
    hi: Vec<f64>,
    /// Scratch: the linear bounds on `s̈` of the current arc cell.
    lower: Vec<Bound>,
    upper: Vec<Bound>,
    /// Scratch: `q`, `q'`, `q''` at the two ends of a cell.
    start: [Vec<f64>; 3],
    end: [Vec<f64>; 3],
}

impl<'a> Grid<'a> {
    fn new(path: &BlendedPath, limits: &'a Limits, arc_step: f64, margin: f64) -> Self {
        let n = path.dof();
        let mut s = Vec::new();
        let mut piece = Vec::new();
        for (k, p) in path.pieces().iter().enumerate() {
            let cells = match p.kind {
                PieceKind::Line => 1,
                PieceKind::Arc { angle, .. } => ((angle / arc_step).ceil() as usize).max(1),
            };
            for j in 0..cells {
                s.push(p.start + p.length * j as f64 / cells as f64);
                piece.push(k);
            }
        }
        s.push(path.length());
        piece.push(path.pieces().len() - 1);
        let nodes = s.len();
        let mut grid = Self {
            limits,
            margin,
            s,
            piece,
            hi: vec![f64::INFINITY; nodes],
            lower: Vec::with_capacity(2 * n + 1),
            upper: Vec::with_capacity(2 * n + 1),
            start: [vec![0.0; n], vec![0.0; n], vec![0.0; n]],
            end: [vec![0.0; n], vec![0.0; n], vec![0.0; n]],
        };
        grid.speed_caps(path);
        grid.controllable(path);
        grid
    }

    /// Velocity caps on `x` at every node (from the cells on both sides), rest at the ends
    /// and at every stop point.
    fn speed_caps(&mut self, path: &BlendedPath) {
        let nodes = self.s.len();
        for j in 0..nodes - 1 {
            let k = self.piece[j];
            let cap = self.velocity_cap_over(path, k, self.s[j], self.s[j + 1]);
            self.hi[j] = self.hi[j].min(cap);
            self.hi[j + 1] = self.hi[j + 1].min(cap);
        }
        self.hi[0] = 0.0;
        self.hi[nodes - 1] = 0.0;
        for &stop in path.stops() {
            let j = self.s.partition_point(|&s| s < stop - 1e-12);
            if j < nodes {
                self.hi[j] = 0.0;
            }
        }
    }

    /// Cap on `x` from the velocity limits over the stretch `[sa, sb]` of piece `k`: the
    /// largest `|q'ᵢ|` on it is exact (on an arc `q'ᵢ` is a sinusoid of the turning angle,
    /// whose extremum `±amplitude` lies inside the stretch exactly when `q''ᵢ` changes sign).
    fn velocity_cap_over(&mut self, path: &BlendedPath, k: usize, sa: f64, sb: f64) -> f64 {
        let [q, ta, ca] = &mut self.start;
        path.evaluate_on(k, sa, q, ta, ca);
        let [q, tb, cb] = &mut self.end;
        path.evaluate_on(k, sb, q, tb, cb);
        let mut cap = f64::INFINITY;
        for i in 0..path.dof() {
            let mut tangent = ta[i].abs().max(tb[i].abs());
            if ca[i] * cb[i] < 0.0 {
                tangent = path.arc_amplitude(k, i);
            }
            if tangent > 0.0 {
                cap = cap.min((self.limits.velocity[i] / tangent).powi(2));
            }
        }
        cap
    }

    /// Collects the bounds on `s̈` of arc cell `j` as lines in `x = ṡ²` at its start: every
    /// joint's acceleration limit at both ends of the cell (the end at `x + 2·ds·s̈`), and
    /// `0 ≤ x_end ≤ hi[j+1]`. Returns the cap on `x` of joints whose tangent vanishes (they see
    /// only the centripetal term).
    fn arc_cell_bounds(&mut self, path: &BlendedPath, j: usize) -> f64 {
        let k = self.piece[j];
        let ds = self.s[j + 1] - self.s[j];
        let [q, ta, ca] = &mut self.start;
        path.evaluate_on(k, self.s[j], q, ta, ca);
        let [q, tb, cb] = &mut self.end;
        path.evaluate_on(k, self.s[j + 1], q, tb, cb);
        self.lower.clear();
        self.upper.clear();
        let factor = 1.0 - self.margin;
        let mut cap = f64::INFINITY;
        for i in 0..path.dof() {
            let a = self.limits.acceleration[i] * factor;
            // start: |t s̈ + c x| ≤ a; end: |(t' + 2 ds c') s̈ + c' x| ≤ a
            for (tangent, curvature) in [(ta[i], ca[i]), (tb[i] + 2.0 * ds * cb[i], cb[i])] {
                if tangent.abs() < 1e-12 {
                    if curvature != 0.0 {
                        cap = cap.min(a / curvature.abs());
                    }
                    continue;
                }
                let slope = -curvature / tangent;
                let width = a / tangent.abs();
                self.lower.push(Bound {
                    offset: -width,
                    slope,
                });
                self.upper.push(Bound {
                    offset: width,
                    slope,
                });
            }
        }
        self.lower.push(Bound {
            offset: 0.0,
            slope: -1.0 / (2.0 * ds),
        });
        self.upper.push(Bound {
            offset: self.hi[j + 1] / (2.0 * ds),
            slope: -1.0 / (2.0 * ds),
        });
        cap
    }

    /// The largest `x ≥ 0` where every lower bound stays below every upper bound (the
    /// feasible set always contains `x = 0`, so it is an interval `[0, x_max]`).
    fn largest_feasible(&self) -> f64 {
        let mut most = f64::INFINITY;
        for l in &self.lower {
            for u in &self.upper {
                let gap = l.slope - u.slope;
                if gap > 0.0 {
                    most = most.min((u.offset - l.offset) / gap);
                }
            }
        }
        most.max(0.0)
    }

    /// Backward pass: the largest `x` at every node from which the path can still be
    /// followed to its end within the limits.
    fn controllable(&mut self, path: &BlendedPath) {
        let nodes = self.s.len();
        for j in (0..nodes - 1).rev() {
            let ds = self.s[j + 1] - self.s[j];
            let k = self.piece[j];
            let reach = match path.pieces()[k].kind {
                PieceKind::Line => {
                    let (_, decel) = self.line_limits(path, k);
                    self.hi[j + 1] + 2.0 * decel * ds
                }
                PieceKind::Arc { .. } => {
                    let cap = self.arc_cell_bounds(path, j);
                    cap.min(self.largest_feasible())
                }
            };
            self.hi[j] = self.hi[j].min(reach).max(0.0);
        }
    }

    /// Velocity cap on `x` and acceleration bound on `s̈` of a line piece.
    fn line_limits(&mut self, path: &BlendedPath, k: usize) -> (f64, f64) {
        let [q, t, c] = &mut self.start;
        path.evaluate_on(k, path.pieces()[k].start, q, t, c);
        let (mut cap, mut acc) = (f64::INFINITY, f64::INFINITY);
        let l = self.limits;
        for ((tangent, v), a) in t.iter().zip(&l.velocity).zip(&l.acceleration) {
            let d = tangent.abs();
            if d > 0.0 {
                cap = cap.min((v / d).powi(2));
                acc = acc.min(a / d);
            }
        }
        (cap, acc)
    }

    /// Forward pass: the fastest motion inside the controllable set, as cells of constant
    /// path acceleration. Returns the cells and the total duration.
    fn integrate(mut self, path: &BlendedPath) -> (Vec<Cell>, f64) {
        let nodes = self.s.len();
        let mut cells = Vec::with_capacity(nodes + 2 * path.pieces().len());
        let mut x = 0.0f64;
        let mut t = 0.0;
        for j in 0..nodes - 1 {
            let (s0, s1) = (self.s[j], self.s[j + 1]);
            let ds = s1 - s0;
            let k = self.piece[j];
            let target = self.hi[j + 1];
            match path.pieces()[k].kind {
                PieceKind::Line => {
                    let (cap, acc) = self.line_limits(path, k);
                    let end = target.min(x + 2.0 * acc * ds).min(cap);
                    // accelerate from x, decelerate into `end`, cruise at `cap` between
                    let peak_at = ((end - x + 2.0 * acc * ds) / (4.0 * acc)).clamp(0.0, ds);
                    let peak = x + 2.0 * acc * peak_at;
                    let mut stretches = [(0.0, 0.0, 0.0); 3];
                    if peak <= cap {
                        stretches[0] = (peak_at, x, peak);
                        stretches[2] = (ds - peak_at, peak, end);
                    } else {
                        let up = ((cap - x) / (2.0 * acc)).max(0.0);
                        let down = ((cap - end) / (2.0 * acc)).max(0.0);
                        stretches[0] = (up, x, cap);
                        stretches[1] = ((ds - up - down).max(0.0), cap, cap);
                        stretches[2] = (down, cap, end);
                    }
                    let mut s = s0;
                    for (length, xa, xb) in stretches {
                        if length <= 0.0 {
                            continue;
                        }
                        t += push_cell(&mut cells, t, s, length, xa, xb, k);
                        s += length;
                    }
                    x = end;
                }
                PieceKind::Arc { .. } => {
                    self.arc_cell_bounds(path, j);
                    let most = self
                        .upper
                        .iter()
                        .map(|u| u.at(x))
                        .fold(f64::INFINITY, f64::min);
                    let end = (x + 2.0 * ds * most).clamp(0.0, target);
                    t += push_cell(&mut cells, t, s0, ds, x, end, k);
                    x = end;
                }
            }
        }
        (cells, t)
    }
}

/// Appends the cell covering `length` of path from `x = xa` to `x = xb` at constant path
/// acceleration; returns its duration.
fn push_cell(
    cells: &mut Vec<Cell>,
    t0: f64,
    s0: f64,
    length: f64,
    xa: f64,
    xb: f64,
    piece: usize,
) -> f64 {
    let (va, vb) = (xa.max(0.0).sqrt(), xb.max(0.0).sqrt());
    let dt = 2.0 * length / (va + vb);
    cells.push(Cell {
        t0,
        s0,
        sd0: va,
        sdd: (vb - va) / dt,
        piece,
    });
    dt
}
