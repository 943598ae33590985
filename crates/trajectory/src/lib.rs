//! Trajectory generation: time parameterization, PTP profiles, sampling and validation.
