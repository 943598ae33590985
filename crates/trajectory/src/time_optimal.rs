//! Time-optimal parameterization of a blended path under per-joint velocity and acceleration
//! limits (the problem TOTG and TOPP-RA solve), so the arm sweeps through blended corners
//! instead of stopping at every waypoint.
//!
//! Method: the phase plane `x = ṡ²` over arc length `s`. On a straight piece the constraints
//! are constant, so the optimum is solved exactly (accelerate, cruise, decelerate). Arcs are
//! cut into cells of at most [`TimeOptimalOptions::arc_step`] radians of turning, each with a
//! constant path acceleration `s̈`; the constraints `|q'ᵢ s̈ + q''ᵢ ṡ²| ≤ aᵢ` at *both* ends of
//! a cell are linear in `(x, s̈)` at its start (as in TOPP-RA's reachability analysis), so a
//! backward pass finds the largest `x` at every node from which the rest of the path can still
//! be followed (the controllable set), and a forward pass takes the largest `s̈` that stays in
//! it. Velocity caps use the exact largest tangent over each cell. Between the ends of an arc
//! cell a joint acceleration can bulge by a bounded amount; every cell is then proved within
//! the limits (ends plus that bound), and cells that are not get more of their acceleration
//! held back and the path is solved again.
//!
//! Against TOPP-RA (toppra 0.6.10, 4000-point grid) on the same geometry the durations agree
//! to within 0.2 % (`tests/time_optimal.rs`, `tools/toppra_reference.py`).

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
    /// Largest turning angle of one arc cell, rad, from [`MIN_ARC_STEP`] to 0.5.
    pub arc_step: f64,
}

impl Default for TimeOptimalOptions {
    fn default() -> Self {
        Self {
            max_deviation: 0.1,
            arc_step: 0.05,
        }
    }
}

/// A stretch of constant path acceleration: from time `t0`, arc length `s0`, path speed
/// `sd0`, with path acceleration `sdd`, on piece `piece`, within grid cell `node`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    t0: f64,
    s0: f64,
    sd0: f64,
    sdd: f64,
    piece: usize,
    /// The grid cell it comes from.
    node: usize,
}

/// A time-optimal trajectory along a [`BlendedPath`] starting and ending at rest.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeOptimalTrajectory {
    path: BlendedPath,
    cells: Vec<Cell>,
    duration: f64,
}

/// Smallest [`TimeOptimalOptions::arc_step`], rad: bounds the grid at 3142 cells per blend
/// (a half turn), so its size follows from the number of waypoints alone.
pub const MIN_ARC_STEP: f64 = 1e-3;

/// Fraction of the acceleration limits held back on arc cells at first.
const FIRST_MARGIN: f64 = 0.003;
/// Solves before giving up (each tightens only the cells that broke a limit).
const ROUNDS: usize = 8;

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
        if !(options.arc_step.is_finite()
            && options.arc_step >= MIN_ARC_STEP
            && options.arc_step <= 0.5)
        {
            return Err(TrajectoryError::invalid(
                "arc_step",
                format!("{} rad is not in [{MIN_ARC_STEP}, 0.5]", options.arc_step),
            ));
        }
        let path = BlendedPath::new(waypoints, options.max_deviation)?;
        let mut grid = Grid::new(&path, options.arc_step);
        let mut margins = vec![FIRST_MARGIN; grid.cell_count()];
        let mut traj = Self {
            path,
            cells: Vec::new(),
            duration: 0.0,
        };
        let mut violations = Vec::new();
        for _ in 0..ROUNDS {
            grid.prepare(&traj.path, limits, &margins);
            (traj.cells, traj.duration) = grid.integrate();
            traj.arc_violations(limits, &mut violations);
            if violations.is_empty() {
                return Ok(traj);
            }
            // hold back more on exactly the cells that bulged past a limit
            for &(cell, overshoot) in &violations {
                let kept = (1.0 - margins[cell]) / overshoot * (1.0 - FIRST_MARGIN);
                margins[cell] = (1.0 - kept).max(margins[cell] + FIRST_MARGIN);
            }
        }
        Err(TrajectoryError::invalid(
            "path",
            "no parameterization within the limits on the blends (reduce max_deviation)",
        ))
    }

    /// Proves every arc cell within the limits: velocities and accelerations at both ends
    /// of the cell (with the cell's own path acceleration), plus a bound on how far a joint
    /// acceleration can bulge between them. Over a cell of turning angle `h`, joint `i`'s
    /// acceleration `q'ᵢ s̈ + q''ᵢ ṡ²` is `amplitudeᵢ·(s̈ cos φ − (ṡ²/r) sin φ)` for a shifted
    /// angle `φ` with `ṡ²` linear in `φ` (slope `2 r s̈`); its second derivative in `φ` is
    /// at most `amplitudeᵢ·(5|s̈| + max ṡ²/r)`, so it exceeds the straight line between the
    /// ends by at most `h²/8` times that. Velocities need no such term: the velocity caps
    /// already use the exact largest tangent over each cell.
    fn arc_violations(&self, limits: &Limits, violations: &mut Vec<(usize, f64)>) {
        violations.clear();
        let n = self.path.dof();
        let [mut q, mut ta, mut ca, mut tb, mut cb] = [(); 5].map(|_| vec![0.0f64; n]);
        for (k, c) in self.cells.iter().enumerate() {
            let PieceKind::Arc { radius, .. } = self.path.pieces()[c.piece].kind else {
                continue;
            };
            let end = self.cells.get(k + 1).map_or(self.duration, |n| n.t0);
            let sd1 = (c.sd0 + c.sdd * (end - c.t0)).max(0.0);
            let s1 = self.cells.get(k + 1).map_or(self.path.length(), |n| n.s0);
            if k > 0 && self.cells[k - 1].piece == c.piece {
                // the previous cell of this arc ended here: same geometry
                std::mem::swap(&mut ta, &mut tb);
                std::mem::swap(&mut ca, &mut cb);
            } else {
                self.path
                    .evaluate_on(c.piece, c.s0, &mut q, &mut ta, &mut ca);
            }
            self.path.evaluate_on(c.piece, s1, &mut q, &mut tb, &mut cb);
            let x_max = (c.sd0 * c.sd0).max(sd1 * sd1);
            let h = (s1 - c.s0) / radius;
            let bulge = h * h / 8.0 * (5.0 * c.sdd.abs() + x_max / radius);
            let mut overshoot = 1.0f64;
            for i in 0..n {
                // 1e-9 relative below: rounding, far inside the validator's 1e-6
                let velocity = (ta[i] * c.sd0).abs().max((tb[i] * sd1).abs());
                if velocity > limits.velocity[i] * (1.0 + 1e-9) {
                    violations.push((c.node, velocity / limits.velocity[i]));
                }
                let at_start = (ta[i] * c.sdd + ca[i] * c.sd0 * c.sd0).abs();
                let at_end = (tb[i] * c.sdd + cb[i] * sd1 * sd1).abs();
                let worst = at_start.max(at_end) + self.path.arc_amplitude(c.piece, i) * bulge;
                overshoot = overshoot.max(worst / limits.acceleration[i]);
            }
            if overshoot > 1.0 + 1e-9 {
                violations.push((c.node, overshoot));
            }
        }
    }

    /// Total duration, s.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Time windows `(start, end)` in seconds where the trajectory is on a blend (leaves the
    /// straight segments between the waypoints).
    pub fn blend_windows(&self) -> Vec<(f64, f64)> {
        let mut windows: Vec<(f64, f64)> = Vec::new();
        for (k, c) in self.cells.iter().enumerate() {
            if !matches!(self.path.pieces()[c.piece].kind, PieceKind::Arc { .. }) {
                continue;
            }
            let end = self.cells.get(k + 1).map_or(self.duration, |n| n.t0);
            match windows.last_mut() {
                Some(last) if (last.1 - c.t0).abs() < 1e-12 => last.1 = end,
                _ => windows.push((c.t0, end)),
            }
        }
        windows
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
            q[..n].copy_from_slice(self.path.end_point());
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

    /// Samples every `period` seconds from 0, plus the exact final point, at most
    /// [`MAX_SAMPLES`](crate::MAX_SAMPLES) samples.
    pub fn sample(&self, period: f64) -> Result<SampledTrajectory> {
        self.sample_at_most(period, crate::MAX_SAMPLES)
    }

    /// [`TimeOptimalTrajectory::sample`] into at most `max_samples` samples (refused with
    /// [`TrajectoryError::TooManySamples`] before anything is allocated).
    pub fn sample_at_most(&self, period: f64, max_samples: usize) -> Result<SampledTrajectory> {
        SampledTrajectory::from_fn_at_most(
            self.dof(),
            self.duration,
            period,
            max_samples,
            |t, q, qd, qdd| self.evaluate(t, q, qd, qdd),
        )
    }
}

/// One joint's acceleration limit at one end of an arc cell as an interval of admissible
/// path accelerations, linear in `x = ṡ²` at the cell's start:
/// `slope·x − width ≤ s̈ ≤ slope·x + width`.
#[derive(Debug, Clone, Copy, Default)]
struct Band {
    slope: f64,
    width: f64,
}

/// What the passes need of one cell: a line's constant limits, or an arc cell's bands.
#[derive(Debug, Clone, Copy)]
enum CellLimits {
    /// Straight piece: cap on `x`, bound on `|s̈|`.
    Line { cap: f64, acceleration: f64 },
    /// Arc cell: its bands are `bands[first..first + count]`; `cap` bounds `x` for joints
    /// that only see the centripetal term.
    Arc {
        first: usize,
        count: usize,
        cap: f64,
    },
}

/// The discretized phase plane: nodes along the path with their speed caps and
/// controllable-set bounds.
struct Grid {
    /// Arc length of every node.
    s: Vec<f64>,
    /// Piece of the interval starting at every node.
    piece: Vec<usize>,
    /// Largest `x = ṡ²` at every node: speed caps, then the controllable set.
    hi: Vec<f64>,
    /// Limits of the cell starting at every node (all but the last).
    cells: Vec<CellLimits>,
    bands: Vec<Band>,
}

impl Grid {
    /// The nodes: both ends of every line, arcs cut into cells of at most `arc_step` rad.
    fn new(path: &BlendedPath, arc_step: f64) -> Self {
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
        Self {
            hi: vec![f64::INFINITY; nodes],
            cells: Vec::with_capacity(nodes - 1),
            bands: Vec::with_capacity((nodes - 1) * 2 * path.dof()),
            s,
            piece,
        }
    }

    /// Number of cells.
    fn cell_count(&self) -> usize {
        self.s.len() - 1
    }

    /// Caps, limits and the controllable set with each arc cell's accelerations held back
    /// by its `margins` entry.
    fn prepare(&mut self, path: &BlendedPath, limits: &Limits, margins: &[f64]) {
        let nodes = self.s.len();
        self.hi.fill(f64::INFINITY);
        self.cells.clear();
        self.bands.clear();
        self.limits_and_caps(path, limits, margins);
        for &stop in path.stops() {
            let j = self.s.partition_point(|&s| s < stop - 1e-12);
            if j < nodes {
                self.hi[j] = 0.0;
            }
        }
        self.hi[0] = 0.0;
        self.hi[nodes - 1] = 0.0;
        self.controllable();
    }

    /// Every cell's limits, and the velocity caps on `x` at its two nodes.
    fn limits_and_caps(&mut self, path: &BlendedPath, limits: &Limits, margins: &[f64]) {
        let n = path.dof();
        let [mut q, mut ta, mut ca, mut tb, mut cb] = [(); 5].map(|_| vec![0.0; n]);
        for (j, margin) in margins.iter().enumerate().take(self.s.len() - 1) {
            let k = self.piece[j];
            let (sa, sb) = (self.s[j], self.s[j + 1]);
            if j > 0 && self.piece[j - 1] == k {
                // same piece: this cell starts where the last one ended
                std::mem::swap(&mut ta, &mut tb);
                std::mem::swap(&mut ca, &mut cb);
            } else {
                path.evaluate_on(k, sa, &mut q, &mut ta, &mut ca);
            }
            path.evaluate_on(k, sb, &mut q, &mut tb, &mut cb);
            // velocity: the largest |q'ᵢ| over the cell is exact (on an arc q'ᵢ is a
            // sinusoid of the turning angle, whose extremum ±amplitude lies inside the cell
            // exactly when q''ᵢ changes sign)
            let mut cap = f64::INFINITY;
            for i in 0..n {
                let mut tangent = ta[i].abs().max(tb[i].abs());
                if ca[i] * cb[i] < 0.0 {
                    tangent = path.arc_amplitude(k, i);
                }
                if tangent > 0.0 {
                    cap = cap.min((limits.velocity[i] / tangent).powi(2));
                }
            }
            self.hi[j] = self.hi[j].min(cap);
            self.hi[j + 1] = self.hi[j + 1].min(cap);
            let cell = match path.pieces()[k].kind {
                PieceKind::Line => {
                    let mut acceleration = f64::INFINITY;
                    for (t, a) in ta.iter().zip(&limits.acceleration) {
                        if *t != 0.0 {
                            acceleration = acceleration.min(a / t.abs());
                        }
                    }
                    CellLimits::Line { cap, acceleration }
                }
                PieceKind::Arc { .. } => {
                    // start: |t s̈ + c x| ≤ a; end, where x_end = x + 2 ds s̈:
                    // |(t' + 2 ds c') s̈ + c' x| ≤ a
                    let ds = sb - sa;
                    let first = self.bands.len();
                    let mut cap = f64::INFINITY;
                    for i in 0..n {
                        let a = limits.acceleration[i] * (1.0 - margin);
                        for (t, c) in [(ta[i], ca[i]), (tb[i] + 2.0 * ds * cb[i], cb[i])] {
                            if t.abs() < 1e-12 {
                                if c != 0.0 {
                                    cap = cap.min(a / c.abs());
                                }
                                continue;
                            }
                            self.bands.push(Band {
                                slope: -c / t,
                                width: a / t.abs(),
                            });
                        }
                    }
                    CellLimits::Arc {
                        first,
                        count: self.bands.len() - first,
                        cap,
                    }
                }
            };
            self.cells.push(cell);
        }
    }

    /// The largest `x` in `[0, start]` from which cell `j` can be crossed within its bands
    /// and end at or below `hi[j+1]` (and not below 0). The margin between the tightest
    /// upper and lower bound on `s̈` is concave and piecewise linear in `x` and positive at
    /// `x = 0`, so the feasible set is `[0, x_max]`; Newton steps on the active pair of
    /// bounds approach `x_max` from above and stop on it after a few steps.
    fn largest_feasible(&self, j: usize, bands: &[Band], start: f64) -> f64 {
        let ds = self.s[j + 1] - self.s[j];
        let reach = 1.0 / (2.0 * ds);
        // bounds as (offset, slope): the bands, s̈ ≤ (hi[j+1] − x)/(2 ds), s̈ ≥ −x/(2 ds)
        let target = (self.hi[j + 1] * reach, -reach);
        let floor = (0.0, -reach);
        let mut x = start;
        for _ in 0..64 {
            let (mut low, mut low_at) = (floor, -x * reach);
            let (mut up, mut up_at) = (target, target.0 + target.1 * x);
            for b in bands {
                let centre = b.slope * x;
                if centre - b.width > low_at {
                    (low, low_at) = ((-b.width, b.slope), centre - b.width);
                }
                if centre + b.width < up_at {
                    (up, up_at) = ((b.width, b.slope), centre + b.width);
                }
            }
            if up_at - low_at >= -1e-12 * (1.0 + up_at.abs().max(low_at.abs())) {
                return x.max(0.0);
            }
            let gap = low.1 - up.1;
            if gap <= 0.0 {
                // cannot happen for a concave margin positive at 0; stay safe
                return 0.0;
            }
            let next = (up.0 - low.0) / gap;
            if next.is_nan() || next >= x {
                return next.clamp(0.0, x);
            }
            x = next.max(0.0);
        }
        x.max(0.0)
    }

    /// Backward pass: the largest `x` at every node from which the path can still be
    /// followed to its end within the limits.
    fn controllable(&mut self) {
        for j in (0..self.s.len() - 1).rev() {
            let ds = self.s[j + 1] - self.s[j];
            let reach = match self.cells[j] {
                CellLimits::Line { acceleration, .. } => self.hi[j + 1] + 2.0 * acceleration * ds,
                CellLimits::Arc { first, count, cap } => {
                    let bands = &self.bands[first..first + count];
                    self.largest_feasible(j, bands, cap.min(self.hi[j]))
                }
            };
            self.hi[j] = self.hi[j].min(reach).max(0.0);
        }
    }

    /// Forward pass: the fastest motion inside the controllable set, as cells of constant
    /// path acceleration. Returns the cells and the total duration.
    fn integrate(&self) -> (Vec<Cell>, f64) {
        let nodes = self.s.len();
        let mut cells = Vec::with_capacity(nodes + 2 * self.cells.len());
        let mut x = 0.0f64;
        let mut t = 0.0;
        for j in 0..nodes - 1 {
            let (s0, s1) = (self.s[j], self.s[j + 1]);
            let ds = s1 - s0;
            let k = self.piece[j];
            let target = self.hi[j + 1];
            match self.cells[j] {
                CellLimits::Line {
                    cap,
                    acceleration: acc,
                } => {
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
                        t += push_cell(&mut cells, t, s, length, xa, xb, (k, j));
                        s += length;
                    }
                    x = end;
                }
                CellLimits::Arc { first, count, .. } => {
                    let most = self.bands[first..first + count]
                        .iter()
                        .map(|b| b.slope * x + b.width)
                        .fold((target - x) / (2.0 * ds), f64::min);
                    let end = (x + 2.0 * ds * most).clamp(0.0, target);
                    t += push_cell(&mut cells, t, s0, ds, x, end, (k, j));
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
    (piece, node): (usize, usize),
) -> f64 {
    let (va, vb) = (xa.max(0.0).sqrt(), xb.max(0.0).sqrt());
    let dt = 2.0 * length / (va + vb);
    cells.push(Cell {
        t0,
        s0,
        sd0: va,
        sdd: (vb - va) / dt,
        piece,
        node,
    });
    dt
}
