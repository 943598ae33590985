//! A trajectory sampled at a control period: times and, per sample, positions, velocities and
//! accelerations (flat row-major storage).

use crate::error::{Result, TrajectoryError};

/// Samples of a trajectory: `times[k]` (s) with `q`, `qd`, `qdd` rows of `dof` values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SampledTrajectory {
    /// Number of joints.
    pub dof: usize,
    /// Sample times, s, strictly increasing from 0.
    pub times: Vec<f64>,
    /// Positions, row-major (`times.len() × dof`).
    pub q: Vec<f64>,
    /// Velocities, row-major.
    pub qd: Vec<f64>,
    /// Accelerations, row-major.
    pub qdd: Vec<f64>,
}

/// Sampling period of planned trajectories when the caller sets none, s: the default control
/// period (`cella_cell::DEFAULT_CONTROL_PERIOD_MS`), so a plan has one sample per control
/// cycle.
pub const DEFAULT_PERIOD: f64 = 0.004;

/// Most samples in one sampled trajectory: 400 s at the default 4 ms period. Every sample
/// count that follows from a request (a duration divided by a period) is checked against
/// this, or a caller's tighter bound, before a sample is allocated ([`check_size`]): 100 000
/// samples of a 6-joint arm hold 15 MB of positions, velocities and accelerations.
pub const MAX_SAMPLES: usize = 100_000;

/// Longest trajectory, s (one hour). A motion that would last longer comes from a value out
/// of proportion (a speed or a speed scale near zero), not from a motion anyone means to run;
/// it is refused before anything is sampled.
pub const MAX_DURATION: f64 = 3600.0;

/// Checks that a trajectory of `duration` s sampled every `period` s lasts at most
/// [`MAX_DURATION`] and takes at most `max_samples` samples, before anything is allocated.
/// Returns the number of samples it takes at most, `ceil(duration / period) + 1` (both ends
/// counted; [`SampledTrajectory::from_fn`] takes no more). An infinite duration (a limit
/// that underflowed) is [`TrajectoryError::TooLong`]; a NaN or negative one, or a period that
/// is not positive, is [`TrajectoryError::Invalid`].
pub fn check_size(duration: f64, period: f64, max_samples: usize) -> Result<usize> {
    if !(period.is_finite() && period > 0.0) {
        return Err(TrajectoryError::invalid(
            "period",
            format!("{period} s is not a positive period"),
        ));
    }
    if duration.is_nan() || duration < 0.0 {
        return Err(TrajectoryError::invalid(
            "duration",
            format!("{duration} s is not a duration"),
        ));
    }
    if duration > MAX_DURATION {
        return Err(TrajectoryError::TooLong {
            duration,
            max: MAX_DURATION,
        });
    }
    // in f64 first: the count of a long motion at a tiny period does not fit a usize cast
    let samples = (duration / period).ceil() + 1.0;
    if samples > max_samples as f64 {
        return Err(TrajectoryError::TooManySamples {
            duration,
            period,
            samples,
            max: max_samples,
        });
    }
    Ok(samples as usize)
}

impl SampledTrajectory {
    /// Samples `f(t, q, qd, qdd)` at `0, period, 2·period, ...` and exactly at `duration`
    /// (a last tick closer than 1e-9 s to the end is replaced by the end), at most
    /// [`MAX_SAMPLES`] samples and [`MAX_DURATION`] s ([`check_size`]).
    pub fn from_fn(
        dof: usize,
        duration: f64,
        period: f64,
        f: impl FnMut(f64, &mut [f64], &mut [f64], &mut [f64]),
    ) -> Result<Self> {
        Self::from_fn_at_most(dof, duration, period, MAX_SAMPLES, f)
    }

    /// [`SampledTrajectory::from_fn`] with at most `max_samples` samples (checked before
    /// anything is allocated; a bound above [`MAX_SAMPLES`] is lowered to it).
    pub fn from_fn_at_most(
        dof: usize,
        duration: f64,
        period: f64,
        max_samples: usize,
        mut f: impl FnMut(f64, &mut [f64], &mut [f64], &mut [f64]),
    ) -> Result<Self> {
        let samples = check_size(duration, period, max_samples.min(MAX_SAMPLES))?;
        let ticks = samples - 1;
        let mut out = Self {
            dof,
            times: Vec::with_capacity(samples),
            q: Vec::with_capacity(samples * dof),
            qd: Vec::with_capacity(samples * dof),
            qdd: Vec::with_capacity(samples * dof),
        };
        let (mut q, mut qd, mut qdd) = (vec![0.0; dof], vec![0.0; dof], vec![0.0; dof]);
        for k in 0..=ticks {
            let mut t = k as f64 * period;
            if t > duration - 1e-9 {
                t = duration;
            }
            if out.times.last().is_some_and(|&last| t <= last) {
                break;
            }
            f(t, &mut q, &mut qd, &mut qdd);
            out.times.push(t);
            out.q.extend_from_slice(&q);
            out.qd.extend_from_slice(&qd);
            out.qdd.extend_from_slice(&qdd);
            if t >= duration {
                break;
            }
        }
        Ok(out)
    }

    /// The trajectory that stays at `q` for one `period`: two samples at rest, at 0 and at
    /// `period`. It is what a motion to where the robot already is samples to: an executor
    /// needs two samples and time that increases.
    pub fn hold(q: &[f64], period: f64) -> Result<Self> {
        check_size(period, period, 2)?;
        if let Some(i) = q.iter().position(|v| !v.is_finite()) {
            return Err(TrajectoryError::invalid(
                "q",
                format!("joint {i} = {} is not finite", q[i]),
            ));
        }
        Ok(Self {
            dof: q.len(),
            times: vec![0.0, period],
            q: [q, q].concat(),
            qd: vec![0.0; 2 * q.len()],
            qdd: vec![0.0; 2 * q.len()],
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Positions of sample `k`.
    pub fn q_at(&self, k: usize) -> &[f64] {
        &self.q[k * self.dof..(k + 1) * self.dof]
    }

    /// Velocities of sample `k`.
    pub fn qd_at(&self, k: usize) -> &[f64] {
        &self.qd[k * self.dof..(k + 1) * self.dof]
    }

    /// Accelerations of sample `k`.
    pub fn qdd_at(&self, k: usize) -> &[f64] {
        &self.qdd[k * self.dof..(k + 1) * self.dof]
    }

    /// Duration, s.
    pub fn duration(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_bounded_before_anything_is_allocated() {
        // the LIN at 1e-9 m/s: 1.2e8 s, far past an hour
        let e = check_size(1.2e8, 0.004, MAX_SAMPLES).unwrap_err();
        assert!(matches!(e, TrajectoryError::TooLong { max, .. } if max == MAX_DURATION));
        // a limit that underflowed makes an infinite duration: too long, not malformed
        let e = check_size(f64::INFINITY, 0.004, MAX_SAMPLES).unwrap_err();
        assert!(matches!(e, TrajectoryError::TooLong { .. }), "{e}");
        // an hour at half a millisecond: 7.2e6 samples, counted without a usize overflow
        let e = check_size(MAX_DURATION, 0.0005, MAX_SAMPLES).unwrap_err();
        match e {
            TrajectoryError::TooManySamples { samples, max, .. } => {
                assert_eq!(samples, 7_200_001.0);
                assert_eq!(max, MAX_SAMPLES);
            }
            other => panic!("{other}"),
        }
        let e = check_size(1.0, 1e-300, usize::MAX).unwrap_err();
        assert!(matches!(e, TrajectoryError::TooManySamples { .. }), "{e}");
        assert!(matches!(
            check_size(f64::NAN, 0.004, 10),
            Err(TrajectoryError::Invalid { .. })
        ));
        assert!(check_size(1.0, 0.0, 10).is_err());
        // the count is exact at the bound: 1 s at 4 ms is 251 samples
        assert_eq!(check_size(1.0, 0.004, 251).unwrap(), 251);
        assert!(check_size(1.0, 0.004, 250).is_err());
        assert_eq!(check_size(0.0, 0.004, 1).unwrap(), 1);
    }

    #[test]
    fn sampling_takes_no_more_samples_than_checked() {
        for (duration, period) in [(1.0, 0.004), (1.0001, 0.004), (0.0123, 0.004), (0.5, 0.1)] {
            let bound = check_size(duration, period, MAX_SAMPLES).unwrap();
            let s = SampledTrajectory::from_fn_at_most(1, duration, period, bound, |t, q, _, _| {
                q[0] = t;
            })
            .unwrap();
            assert!(s.len() <= bound, "{duration} s / {period} s");
            assert_eq!(s.duration(), duration);
            assert!(
                SampledTrajectory::from_fn_at_most(1, duration, period, bound - 1, |_, _, _, _| {})
                    .is_err()
            );
        }
        // the library bound holds whatever a caller asks for
        let e = SampledTrajectory::from_fn_at_most(1, 500.0, 0.004, usize::MAX, |_, _, _, _| {})
            .unwrap_err();
        assert!(matches!(e, TrajectoryError::TooManySamples { max, .. } if max == MAX_SAMPLES));
    }

    #[test]
    fn a_hold_is_two_samples_at_rest_one_period_apart() {
        let h = SampledTrajectory::hold(&[0.1, -0.2], 0.004).unwrap();
        assert_eq!(h.times, [0.0, 0.004]);
        assert_eq!(h.q_at(0), h.q_at(1));
        assert_eq!(h.q_at(1), [0.1, -0.2]);
        assert!(h.qd.iter().chain(&h.qdd).all(|v| *v == 0.0));
        assert!(SampledTrajectory::hold(&[f64::NAN], 0.004).is_err());
        assert!(SampledTrajectory::hold(&[0.0], 0.0).is_err());
    }
}
