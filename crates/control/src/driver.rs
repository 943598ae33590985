//! The boundary to a robot controller: a [`Driver`] takes joint commands each control cycle
//! and reports the measured joint state. [`SimDriver`] is the default: a simulated controller
//! with ideal tracking or a first-order servo lag. Real drivers (UR RTDE, ABB EGM, KUKA RSI,
//! Fanuc stream motion) implement the same trait; the executor does not change.

/// Most joints one executor drives: the one limit of the workspace, [`cella_kinematics::MAX_DOF`]
/// (a robot the IK solvers cannot handle is not driven either).
pub use cella_kinematics::MAX_DOF;

/// Joint values of one robot in fixed storage (no allocation in the control loop).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointVector {
    dof: usize,
    values: [f64; MAX_DOF],
}

impl JointVector {
    /// `dof` zeros (`dof` is capped at [`MAX_DOF`]).
    pub fn zeros(dof: usize) -> Self {
        Self {
            dof: dof.min(MAX_DOF),
            values: [0.0; MAX_DOF],
        }
    }

    /// A copy of `values` (at most [`MAX_DOF`] of them).
    pub fn from_slice(values: &[f64]) -> Self {
        let mut out = Self::zeros(values.len());
        let n = out.dof;
        out.values[..n].copy_from_slice(&values[..n]);
        out
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.dof
    }

    /// The values.
    pub fn as_slice(&self) -> &[f64] {
        &self.values[..self.dof]
    }

    /// The values, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.values[..self.dof]
    }
}

/// A joint command for one control cycle: positions (rad or m), velocities (per s) and
/// accelerations (per s²) as feed-forward, all in the robot's joint order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointCommand {
    /// Commanded positions.
    pub q: JointVector,
    /// Commanded velocities (feed-forward).
    pub qd: JointVector,
    /// Commanded accelerations (feed-forward).
    pub qdd: JointVector,
}

/// The measured state of the robot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredState {
    /// Measured positions.
    pub q: JointVector,
    /// Measured velocities.
    pub qd: JointVector,
}

/// A driver failure: the executor faults and stops commanding.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DriverError(pub &'static str);

/// A robot controller interface driven once per control cycle from the executor's thread.
///
/// Implementations must not block for longer than a small part of the period and should not
/// allocate: they run inside the control loop.
pub trait Driver: Send {
    /// Number of joints.
    fn dof(&self) -> usize;
    /// Reads the measured state (called at the start of every cycle).
    fn read(&mut self, out: &mut MeasuredState) -> Result<(), DriverError>;
    /// Sends this cycle's command; `dt` is the control period, s.
    fn command(&mut self, command: &JointCommand, dt: f64) -> Result<(), DriverError>;
}

/// A simulated controller: the digital twin of a robot until a real driver is connected.
///
/// With `lag` = 0 it tracks commands ideally (the measured state is the last command); with a
/// time constant it follows as a first-order servo, `ẏ = (u − y) / lag`, integrated exactly
/// over each period.
#[derive(Debug, Clone)]
pub struct SimDriver {
    state: MeasuredState,
    lag: f64,
    fail_after: Option<u64>,
    cycles: u64,
}

impl SimDriver {
    /// An ideal simulated robot at rest at `q`.
    pub fn new(q: &[f64]) -> Self {
        Self {
            state: MeasuredState {
                q: JointVector::from_slice(q),
                qd: JointVector::zeros(q.len()),
            },
            lag: 0.0,
            fail_after: None,
            cycles: 0,
        }
    }

    /// The same robot following commands with a first-order lag of time constant `lag`, s
    /// (negative or non-finite values mean none).
    pub fn with_lag(mut self, lag: f64) -> Self {
        self.lag = if lag.is_finite() && lag > 0.0 {
            lag
        } else {
            0.0
        };
        self
    }

    /// Fails every call after `cycles` commands (fault injection for tests).
    pub fn failing_after(mut self, cycles: u64) -> Self {
        self.fail_after = Some(cycles);
        self
    }
}

impl Driver for SimDriver {
    fn dof(&self) -> usize {
        self.state.q.dof()
    }

    fn read(&mut self, out: &mut MeasuredState) -> Result<(), DriverError> {
        if self.fail_after.is_some_and(|n| self.cycles >= n) {
            return Err(DriverError("simulated controller: connection lost"));
        }
        *out = self.state;
        Ok(())
    }

    fn command(&mut self, command: &JointCommand, dt: f64) -> Result<(), DriverError> {
        self.cycles += 1;
        if self.lag == 0.0 {
            self.state.q = command.q;
            self.state.qd = command.qd;
            return Ok(());
        }
        let alpha = 1.0 - (-dt / self.lag).exp();
        let dof = self.state.q.dof();
        for i in 0..dof.min(command.q.dof()) {
            let before = self.state.q.as_slice()[i];
            let after = before + alpha * (command.q.as_slice()[i] - before);
            self.state.q.as_mut_slice()[i] = after;
            self.state.qd.as_mut_slice()[i] = (after - before) / dt;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(q: f64) -> JointCommand {
        JointCommand {
            q: JointVector::from_slice(&[q]),
            qd: JointVector::zeros(1),
            qdd: JointVector::zeros(1),
        }
    }

    #[test]
    fn ideal_tracking_reports_the_command() {
        let mut d = SimDriver::new(&[0.2]);
        d.command(&command(0.7), 0.004).unwrap();
        let mut m = MeasuredState {
            q: JointVector::zeros(1),
            qd: JointVector::zeros(1),
        };
        d.read(&mut m).unwrap();
        assert_eq!(m.q.as_slice(), &[0.7]);
    }

    #[test]
    fn first_order_lag_follows_a_step_exponentially() {
        // y(t) = 1 - exp(-t / T) for a unit step, sampled exactly at every period
        let (lag, dt) = (0.05, 0.002);
        let mut d = SimDriver::new(&[0.0]).with_lag(lag);
        let mut m = MeasuredState {
            q: JointVector::zeros(1),
            qd: JointVector::zeros(1),
        };
        for k in 1..=100 {
            d.command(&command(1.0), dt).unwrap();
            d.read(&mut m).unwrap();
            let t = k as f64 * dt;
            assert!((m.q.as_slice()[0] - (1.0 - (-t / lag).exp())).abs() < 1e-12);
        }
        assert!(m.qd.as_slice()[0] > 0.0);
    }

    #[test]
    fn injected_failure_is_reported() {
        let mut d = SimDriver::new(&[0.0]).failing_after(2);
        let mut m = MeasuredState {
            q: JointVector::zeros(1),
            qd: JointVector::zeros(1),
        };
        for _ in 0..2 {
            d.read(&mut m).unwrap();
            d.command(&command(0.1), 0.001).unwrap();
        }
        assert!(d.read(&mut m).is_err());
    }
}
