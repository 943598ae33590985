//! A robot's motion over time, joined from the motions it makes: samples at increasing times
//! (positions, velocities, accelerations), read at any time by linear interpolation between
//! samples, held at the ends.

use cella_trajectory::SampledTrajectory;

/// A robot's samples over time (row-major `q`, `qd`, `qdd`, `dof` values each).
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Joints per sample.
    pub dof: usize,
    /// Sample times, s, increasing.
    pub times: Vec<f64>,
    /// Positions.
    pub q: Vec<f64>,
    /// Velocities.
    pub qd: Vec<f64>,
    /// Accelerations.
    pub qdd: Vec<f64>,
}

impl Timeline {
    /// A robot standing at `q` at time `t`.
    pub fn at_rest(q: &[f64], t: f64) -> Self {
        Self {
            dof: q.len(),
            times: vec![t],
            q: q.to_vec(),
            qd: vec![0.0; q.len()],
            qdd: vec![0.0; q.len()],
        }
    }

    /// The time of the last sample.
    pub fn end(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }

    /// The positions of the last sample.
    pub fn last_q(&self) -> &[f64] {
        let n = self.times.len().saturating_sub(1);
        &self.q[n * self.dof..(n + 1) * self.dof]
    }

    /// Appends a motion that starts where the timeline ends (its first sample is that state
    /// and is dropped), shifted to start at the timeline's end.
    pub fn append(&mut self, s: &SampledTrajectory) {
        let offset = self.end();
        for k in 1..s.len() {
            self.times.push(offset + s.times[k]);
            self.q.extend_from_slice(s.q_at(k));
            self.qd.extend_from_slice(s.qd_at(k));
            self.qdd.extend_from_slice(s.qdd_at(k));
        }
    }

    /// Stands still at the last state until time `t` (nothing when `t` is not later).
    pub fn hold_until(&mut self, t: f64) {
        if t > self.end() {
            let q = self.last_q().to_vec();
            self.times.push(t);
            self.q.extend_from_slice(&q);
            self.qd.extend(std::iter::repeat_n(0.0, self.dof));
            self.qdd.extend(std::iter::repeat_n(0.0, self.dof));
        }
    }

    /// Joins `other` (which starts where this ends, at this one's end time) after this one.
    pub fn extend(&mut self, other: &Timeline) {
        let skip = usize::from(other.times.first().is_some_and(|&t| t <= self.end()));
        self.times.extend_from_slice(&other.times[skip..]);
        self.q.extend_from_slice(&other.q[skip * self.dof..]);
        self.qd.extend_from_slice(&other.qd[skip * self.dof..]);
        self.qdd.extend_from_slice(&other.qdd[skip * self.dof..]);
    }

    /// Positions, velocities and accelerations at time `t` (held before the first and after
    /// the last sample), into the three buffers of `dof` values.
    pub fn sample(&self, t: f64, q: &mut [f64], qd: &mut [f64], qdd: &mut [f64]) {
        let n = self.dof;
        let k = self.times.partition_point(|&s| s <= t);
        let rows = self.times.len();
        let (a, b, w) = if k == 0 {
            (0, 0, 0.0)
        } else if k >= rows {
            (rows - 1, rows - 1, 0.0)
        } else {
            let (t0, t1) = (self.times[k - 1], self.times[k]);
            let w = if t1 > t0 { (t - t0) / (t1 - t0) } else { 0.0 };
            (k - 1, k, w)
        };
        let held = k == 0 || k >= rows;
        for j in 0..n {
            let lerp = |v: &[f64]| v[a * n + j] + w * (v[b * n + j] - v[a * n + j]);
            q[j] = lerp(&self.q);
            qd[j] = if held { 0.0 } else { lerp(&self.qd) };
            qdd[j] = if held { 0.0 } else { lerp(&self.qdd) };
        }
    }

    /// Positions at time `t` into `q`.
    pub fn position(&self, t: f64, q: &mut [f64]) {
        let mut qd = vec![0.0; self.dof];
        let mut qdd = vec![0.0; self.dof];
        self.sample(t, q, &mut qd, &mut qdd);
    }

    /// The timeline resampled every `period` s from its first to its last sample (the last
    /// sample at the end time).
    pub fn resampled(&self, period: f64) -> SampledTrajectory {
        let n = self.dof;
        let start = self.times.first().copied().unwrap_or(0.0);
        let duration = self.end() - start;
        let steps = (duration / period).ceil().max(0.0) as usize;
        let mut out = SampledTrajectory {
            dof: n,
            ..Default::default()
        };
        let (mut q, mut qd, mut qdd) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for k in 0..=steps {
            let t = (k as f64 * period).min(duration);
            if k > 0 && t <= out.times.last().copied().unwrap_or(-1.0) {
                continue;
            }
            self.sample(start + t, &mut q, &mut qd, &mut qdd);
            out.times.push(t);
            out.q.extend_from_slice(&q);
            out.qd.extend_from_slice(&qd);
            out.qdd.extend_from_slice(&qdd);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_motions_and_holds_read_back_by_interpolation() {
        let mut line = Timeline::at_rest(&[0.0], 0.0);
        let motion = SampledTrajectory {
            dof: 1,
            times: vec![0.0, 0.5, 1.0],
            q: vec![0.0, 0.5, 1.0],
            qd: vec![0.0, 1.0, 0.0],
            qdd: vec![0.0, 0.0, 0.0],
        };
        line.append(&motion);
        line.hold_until(2.0);
        line.append(&motion);
        assert_eq!(line.times, vec![0.0, 0.5, 1.0, 2.0, 2.5, 3.0]);
        let mut q = [0.0];
        line.position(0.25, &mut q);
        assert!((q[0] - 0.25).abs() < 1e-12);
        line.position(1.5, &mut q);
        assert_eq!(q[0], 1.0);
        line.position(2.75, &mut q);
        // between the samples at 2.5 s (0.5) and 3.0 s (1.0)
        assert!((q[0] - 0.75).abs() < 1e-12);
        line.position(9.0, &mut q);
        assert_eq!(q[0], 1.0);
        let r = line.resampled(0.4);
        assert_eq!(r.times.len(), 9);
        assert_eq!(*r.times.last().unwrap(), 3.0);
    }
}
