//! Numerical IK for any chain (7 axes included): Levenberg-Marquardt on the 6-D pose error with
//! joint limits, a first attempt from the seed, then random restarts. Deterministic for a given
//! `IkOptions::rng_seed` (and no time budget). No allocation.

use super::{IkOptions, IkSolution, IkSolutions};
use crate::chain::finite_range;
use crate::error::{KinematicsError, Result};
use crate::{Chain, MAX_DOF, Rng};
use nalgebra::{Isometry3, Matrix6, Vector6};
use std::time::Instant;

/// 6-D error `[position; rotation vector]` from `current` to `target`, both in the reference frame.
fn pose_error_vector(current: &Isometry3<f64>, target: &Isometry3<f64>) -> Vector6<f64> {
    let dp = target.translation.vector - current.translation.vector;
    let dr = (target.rotation * current.rotation.inverse()).scaled_axis();
    Vector6::new(dp.x, dp.y, dp.z, dr.x, dr.y, dr.z)
}

fn clamp_to_limits(chain: &Chain, q: &mut [f64]) {
    for (v, x) in chain.variables().iter().zip(q.iter_mut()) {
        *x = x.clamp(v.limits.lower, v.limits.upper);
    }
}

/// Iterations over which a descent must make progress.
const STALL_WINDOW: usize = 4;
/// Required cost reduction over [`STALL_WINDOW`] iterations (cost is the squared error, so
/// 0.25 means the error halves).
const STALL_RATIO: f64 = 0.25;

/// Outcome of one Levenberg-Marquardt descent.
struct Descent {
    converged: bool,
}

/// Runs LM from `q` (modified in place) towards `target`.
fn descend(chain: &Chain, target: &Isometry3<f64>, q: &mut [f64], options: &IkOptions) -> Descent {
    let n = chain.dof();
    let mut jac = [[0.0; 6]; MAX_DOF];
    let mut trial = [0.0; MAX_DOF];
    let mut lambda = 1e-1;
    let Ok(pose) = chain.jacobian(q, &mut jac) else {
        return Descent { converged: false };
    };
    let mut err = pose_error_vector(&pose, target);
    let mut cost = err.norm_squared();
    // Cost a few iterations back: a descent that stops improving fast is stuck in a local
    // minimum (often against a joint limit); a fresh restart is cheaper than grinding on.
    let mut cost_history = [f64::INFINITY; STALL_WINDOW];
    for iteration in 0..options.max_iterations {
        let past = cost_history[iteration % STALL_WINDOW];
        if cost > STALL_RATIO * past {
            return Descent { converged: false };
        }
        cost_history[iteration % STALL_WINDOW] = cost;
        if err.fixed_rows::<3>(0).norm() <= options.position_tolerance
            && err.fixed_rows::<3>(3).norm() <= options.orientation_tolerance
        {
            return Descent { converged: true };
        }
        // (J Jᵀ + λ diag) y = e ; Δq = Jᵀ y   (6×6 system whatever the DOF)
        let mut jjt = Matrix6::<f64>::zeros();
        for col in &jac[..n] {
            let c = Vector6::from_row_slice(col);
            jjt += c * c.transpose();
        }
        let mut improved = false;
        for _ in 0..8 {
            let mut a = jjt;
            for d in 0..6 {
                a[(d, d)] += lambda * (1.0 + jjt[(d, d)]);
            }
            let Some(chol) = a.cholesky() else {
                lambda *= 10.0;
                continue;
            };
            let y = chol.solve(&err);
            for (j, col) in jac[..n].iter().enumerate() {
                let dq: f64 = (0..6).map(|r| col[r] * y[r]).sum();
                trial[j] = q[j] + dq;
            }
            clamp_to_limits(chain, &mut trial[..n]);
            let Ok(p) = chain.fk(&trial[..n]) else { break };
            let e = pose_error_vector(&p, target);
            let c = e.norm_squared();
            if c < cost {
                q.copy_from_slice(&trial[..n]);
                err = e;
                cost = c;
                lambda = (lambda * 0.1).max(1e-12);
                improved = true;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
        if chain.jacobian(q, &mut jac).is_err() {
            break;
        }
    }
    Descent {
        converged: err.fixed_rows::<3>(0).norm() <= options.position_tolerance
            && err.fixed_rows::<3>(3).norm() <= options.orientation_tolerance,
    }
}

/// Solves IK for a TCP pose in the chain's reference frame. The first attempt starts at `seed`
/// (or mid-range), then random restarts follow until `options.max_solutions` distinct
/// solutions are found, the restarts run out, or the time budget is spent. Solutions are
/// within limits, verified by FK, and ordered nearest to the seed first.
pub fn solve(
    chain: &Chain,
    target: &Isometry3<f64>,
    seed: Option<&[f64]>,
    options: &IkOptions,
    out: &mut IkSolutions,
) -> Result<()> {
    out.clear();
    let n = chain.dof();
    if n == 0 || n > MAX_DOF {
        return Err(KinematicsError::SolverMismatch {
            solver: "numerical".into(),
            reason: format!("the chain has {n} joints; 1 to {MAX_DOF} are supported"),
        });
    }
    let started = Instant::now();
    let mut rng = Rng::new(options.rng_seed);
    let mut q = [0.0; MAX_DOF];
    let mut start = [0.0; MAX_DOF];
    match seed {
        Some(s) => start[..n].copy_from_slice(s),
        None => {
            for (v, x) in chain.variables().iter().zip(start.iter_mut()) {
                let (lo, hi) = finite_range(&v.limits);
                *x = 0.5 * (lo + hi);
            }
        }
    }
    clamp_to_limits(chain, &mut start[..n]);
    let wanted = options.max_solutions.max(1);
    for attempt in 0..=options.max_restarts {
        if attempt == 0 {
            q[..n].copy_from_slice(&start[..n]);
        } else {
            chain.random_configuration(&mut rng, &mut q[..n]);
        }
        let result = descend(chain, target, &mut q[..n], options);
        if result.converged && chain.within_limits(&q[..n]) && !out.contains(&q[..n], 1e-6) {
            out.push(IkSolution::new(&q[..n], None));
            if out.len() >= wanted {
                break;
            }
        }
        if options
            .time_budget
            .is_some_and(|budget| started.elapsed() > budget)
        {
            break;
        }
    }
    out.sort_by_distance(&start[..n]);
    Ok(())
}
