//! Motion checks by batched conservative advancement: a straight joint-space motion
//! ([`Checker::motion_valid`]) and a polyline of states ([`Checker::path_valid`], made for
//! densely sampled trajectories), both decided [`LANES`] states at a time.
//!
//! A polyline through states `x_0 … x_{n-1}` is one motion with parameter `t ∈ [0, 1]`: each
//! segment gets the share of `t` that a bound on its sweep (`Σ L_k·|Δq_k|`, `L_k` the largest
//! lever of joint `k` over the links) has of the total, and a state at `t` is placed by
//! straight interpolation inside its segment. Joint `k` then moves at most `r_k` per unit of
//! `t` on every segment (the largest over the segments of `|Δq_k|` divided by the segment's
//! share), so a link moves at most `Σ lever_k·r_k` and two links relative to each other at
//! most the same sum over the joints above exactly one of them. A straight motion is the
//! polyline of two states: `r_k = |Δq_k|` (up to rounding upwards).

use super::{CheckScratch, Checker, link_sweep};
use crate::batch::LANES;

/// Longest conservative-advancement step, in motion resolutions.
const LOOKAHEAD: f64 = 8.0;

/// Relative inflation of the joint rates: the division by a segment's share may round down by
/// an ulp; a larger rate only shortens steps.
const RATE_ROUNDING: f64 = 1.0 + 8.0 * f64::EPSILON;

impl Checker {
    /// True when the whole straight joint-space motion `a → b` is free.
    ///
    /// Conservative advancement with a resolution floor, 8 states at a time. At a state
    /// of the motion, every pair's clearance bounds how far the motion may go, in either
    /// direction, before that pair could touch: a link moves at most `Σ lever_k·|Δq_k|`
    /// (joints above it) per unit of the motion parameter, two links relative to each other at
    /// most the same sum over the joints between them. Each checked state thus proves an
    /// interval around it free. The first batch spreads its states over the whole motion (a
    /// motion through an obstacle usually fails there at once); each later batch puts its
    /// states in the middle of the stretches not yet proven, until none is left. Clearances
    /// come from the `f32` sphere lanes of the batch path (lower bounds); a state whose
    /// capsules may touch is decided by the scalar check with the exact geometry, and when free covers what
    /// the exact clearances of its touching pairs and the lanes' clearances of the others
    /// allow, and at least half the resolution floor around it (no robot point moves more than the resolution between
    /// two such states: the motion cannot pass through an obstacle thicker than the resolution
    /// nor penetrate any obstacle deeper than half of it; a padding of half the resolution
    /// makes the entire motion provably collision-free). Bad input (length, NaN) answers
    /// `false`.
    pub fn motion_valid(&self, s: &mut CheckScratch, a: &[f64], b: &[f64]) -> bool {
        if a.len() != b.len() || a.len() != s.dof || a.iter().chain(b).any(|v| !v.is_finite()) {
            return false;
        }
        if s.dof == 0 {
            // nothing can move: the one state decides
            return self.is_valid(s, a);
        }
        let mut polyline = std::mem::take(&mut s.polyline);
        polyline.clear();
        polyline.extend_from_slice(a);
        polyline.extend_from_slice(b);
        let valid = self.advance(s, &polyline);
        s.polyline = polyline;
        valid
    }

    /// True when the whole polyline through `states` (group joint vectors back to back,
    /// `states[i * dof .. (i + 1) * dof]`) is free, with the guarantee of
    /// [`Checker::motion_valid`]: the polyline is advanced along as one motion (see the module
    /// documentation), so a densely sampled trajectory costs about what its few long straight
    /// stretches would, not one check per sample. Bad input (length, NaN, no state) answers
    /// `false`.
    ///
    /// Near contact the verdict may differ from checking each segment on its own with
    /// [`Checker::motion_valid`] (different states fall on the resolution floor); both carry
    /// the same guarantee. [`Checker::path_first_collision`] finds the first colliding state.
    pub fn path_valid(&self, s: &mut CheckScratch, states: &[f64]) -> bool {
        let dof = s.dof;
        if dof == 0
            || states.is_empty()
            || !states.len().is_multiple_of(dof)
            || states.iter().any(|v| !v.is_finite())
        {
            return false;
        }
        if states.len() == dof {
            return self.is_valid(s, states);
        }
        self.advance(s, states)
    }

    /// The advancement along the polyline through `states` (at least two finite states of
    /// `s.dof` joints, back to back).
    fn advance(&self, s: &mut CheckScratch, states: &[f64]) -> bool {
        let dof = s.dof;
        let n = states.len() / dof;
        let state = |k: usize| &states[k * dof..(k + 1) * dof];
        // knots: where each state lies along the polyline, in metres of a sweep bound that
        // weighs each joint by its largest lever over the links
        let mut knots = std::mem::take(&mut s.knots);
        knots.clear();
        knots.push(0.0);
        let mut total = 0.0;
        for k in 1..n {
            let (x, y) = (state(k - 1), state(k));
            total += link_sweep(&self.largest_levers, x, y);
            knots.push(total);
        }
        if !(total.is_finite() && total > 0.0) {
            s.knots = knots;
            // nothing moves: one state to check (or a sweep overflowed)
            return total.is_finite() && self.is_valid(s, state(n - 1));
        }
        // how fast each joint moves per unit of the motion parameter, on the segment where it
        // moves fastest (a segment spans total / share of it)
        let mut joint_rate = std::mem::take(&mut s.joint_rate);
        joint_rate.iter_mut().for_each(|r| *r = 0.0);
        for k in 1..n {
            let share = knots[k] - knots[k - 1];
            if share <= 0.0 {
                continue; // a repeated state: nothing moves there
            }
            let scale = total / share * RATE_ROUNDING;
            let (x, y) = (state(k - 1), state(k));
            for ((r, a), b) in joint_rate.iter_mut().zip(x).zip(y) {
                *r = r.max((b - a).abs() * scale);
            }
        }
        // how far each link (pair) can move per unit of the motion parameter, rounded up into
        // f32 (a larger rate only shortens steps)
        let sums = &mut s.rate_sums;
        let fastest = lever_rates(&self.group_levers, &joint_rate, sums, &mut s.group_rate32);
        // two links move relative to each other by the joints above exactly one of them
        lever_rates(&self.pair_levers, &joint_rate, sums, &mut s.pair_rate32);
        s.joint_rate = joint_rate;
        let floor = self.resolution / fastest;
        let cap = (LOOKAHEAD * floor).min(1.0) as f32;
        let mut gaps = std::mem::take(&mut s.gaps);
        let mut next = std::mem::take(&mut s.next_gaps);
        let mut lane_q = std::mem::take(&mut s.lane_q);
        gaps.clear();
        gaps.push((0.0, 1.0));
        let mut ok = true;
        let mut steps = [0.0f32; LANES];
        // (motion parameter, gap index) of the states of a batch
        let mut samples = [(0.0f64, 0usize); LANES];
        let mut first = true;
        'batches: while !gaps.is_empty() {
            // the first batch: states evenly over the whole motion, both ends included
            let count = if first {
                for (i, sample) in samples.iter_mut().enumerate() {
                    *sample = (i as f64 / (LANES - 1) as f64, 0);
                }
                LANES
            } else {
                place_samples(&gaps, floor, &mut samples)
            };
            first = false;
            for (lane, &(t, _)) in samples[..count].iter().enumerate() {
                place_on_polyline(states, &knots, t, &mut lane_q[lane * dof..(lane + 1) * dof]);
            }
            self.batch.free_steps(
                &mut s.batch,
                &lane_q[..count * dof],
                count,
                &crate::batch::MotionRates {
                    group: &s.group_rate32,
                    pair: &s.pair_rate32,
                    cap,
                },
                &mut steps,
            );

            // states whose capsules may touch: the exact check decides, deepest first (a motion
            // into an obstacle is then refused after one check)
            let mut order = [0usize; LANES];
            let mut touching = 0;
            for (lane, &step) in steps[..count].iter().enumerate() {
                if step <= 0.0 {
                    order[touching] = lane;
                    touching += 1;
                }
            }
            order[..touching].sort_unstable_by(|&x, &y| steps[x].total_cmp(&steps[y]));
            // what each state proves free around it
            let mut covers = [0.0f64; LANES];
            for (c, &step) in covers.iter_mut().zip(&steps[..count]) {
                *c = f64::from(step);
            }
            for &lane in &order[..touching] {
                let q = &lane_q[lane * dof..(lane + 1) * dof];
                let Some(exact) = self.near_contact_step(s, q, lane) else {
                    ok = false;
                    break 'batches;
                };
                // free: its listed pairs' exact clearances bound the step with the others'
                covers[lane] = exact.min(f64::from(s.batch.rest_steps[lane]));
            }
            // a state found free covers at least half the floor
            for c in &mut covers[..count] {
                *c = c.max(0.5 * floor);
            }
            uncovered(&gaps, &samples[..count], &covers[..count], &mut next);
            std::mem::swap(&mut gaps, &mut next);
        }
        s.gaps = gaps;
        s.next_gaps = next;
        s.lane_q = lane_q;
        s.knots = knots;
        ok
    }
}

/// Writes to `q` the state at parameter `t ∈ [0, 1]` of the polyline through `states`
/// (`knots[k]`: where state `k` lies, increasing, last = the whole length).
fn place_on_polyline(states: &[f64], knots: &[f64], t: f64, q: &mut [f64]) {
    let dof = q.len();
    let n = knots.len();
    let total = knots[n - 1];
    let at = t * total;
    // the segment k-1 → k holding `at`
    let k = knots.partition_point(|&x| x <= at).clamp(1, n - 1);
    let share = knots[k] - knots[k - 1];
    let f = if share > 0.0 {
        ((at - knots[k - 1]) / share).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (
        &states[(k - 1) * dof..k * dof],
        &states[k * dof..(k + 1) * dof],
    );
    for ((o, a), b) in q.iter_mut().zip(x).zip(y) {
        *o = a + f * (b - a);
    }
}

/// Rates from levers: `out[i] = Σ_k levers[k * n + i] · joint_rate[k]` (`n = out.len()`, one
/// row of levers per joint), summed in `f64` in `sums` and rounded up into `f32`, every `i`
/// at once (the loop over `i` vectorises). Returns the largest sum.
fn lever_rates(levers: &[f64], joint_rate: &[f64], sums: &mut [f64], out: &mut [f32]) -> f64 {
    let n = out.len();
    if n == 0 {
        return 0.0;
    }
    let sums = &mut sums[..n];
    sums.fill(0.0);
    for (row, rate) in levers.chunks_exact(n).zip(joint_rate) {
        for (sum, lever) in sums.iter_mut().zip(row) {
            *sum += lever * rate;
        }
    }
    for (o, &sum) in out.iter_mut().zip(sums.iter()) {
        *o = round_up_f32(sum);
    }
    sums.iter().fold(0.0, |m, &x| m.max(x))
}

/// The smallest `f32` not below `x` (x ≥ 0): rates must not shrink in the conversion.
/// Branch-free (the comparison goes either way about half the time).
fn round_up_f32(x: f64) -> f32 {
    let y = x as f32;
    let up = f32::from_bits(y.to_bits().wrapping_add(1));
    if f64::from(y) < x { up } else { y }
}

/// Writes to `next` what of `gaps` (stretches of the motion parameter not yet proven free)
/// stays unproven once each sample `(t, gap index)` proves `[t − c, t + c]`, `c = covers[i]`:
/// the uncovered pieces of the gaps that got samples (samples ascending, grouped by gap, the
/// leading gaps first, as [`place_samples`] places them), then the gaps that got none.
fn uncovered(
    gaps: &[(f64, f64)],
    samples: &[(f64, usize)],
    covers: &[f64],
    next: &mut Vec<(f64, f64)>,
) {
    next.clear();
    let mut i = 0;
    while i < samples.len() {
        let gap = samples[i].1;
        let (mut cursor, end) = gaps[gap];
        while i < samples.len() && samples[i].1 == gap {
            let (t, c) = (samples[i].0, covers[i]);
            if t - c > cursor {
                next.push((cursor, t - c));
            }
            cursor = cursor.max(t + c);
            i += 1;
        }
        if cursor < end {
            next.push((cursor, end));
        }
    }
    let served = samples.last().map_or(0, |&(_, gap)| gap + 1);
    next.extend_from_slice(&gaps[served..]);
}

/// Places up to [`crate::batch::LANES`] states in the leading gaps of `gaps` (stretches of
/// the motion parameter not yet proven free), in order: one in the middle of each gap, and
/// when there are fewer gaps than lanes, each spare lane to the gap whose states would then
/// be farthest apart (never more states in a gap than floor-wide pieces it has), its states
/// evenly spread.
/// Returns how many states were placed; `samples[i] = (t, gap index)`, ascending.
fn place_samples(
    gaps: &[(f64, f64)],
    floor: f64,
    samples: &mut [(f64, usize); crate::batch::LANES],
) -> usize {
    use crate::batch::LANES;
    let used = gaps.len().min(LANES);
    let mut per_gap = [1usize; LANES];
    if used < LANES {
        let mut spare = LANES - used;
        while spare > 0 {
            // the gap whose states would be farthest apart with one more
            let mut best = None;
            let mut widest = 0.0;
            for (i, (lo, hi)) in gaps[..used].iter().enumerate() {
                let len = hi - lo;
                let room = (len / floor).ceil() as usize;
                let spacing = len / (per_gap[i] + 1) as f64;
                if per_gap[i] < room && spacing > widest {
                    widest = spacing;
                    best = Some(i);
                }
            }
            let Some(i) = best else { break };
            per_gap[i] += 1;
            spare -= 1;
        }
    }
    let mut count = 0;
    for (i, (lo, hi)) in gaps[..used].iter().enumerate() {
        let n = per_gap[i];
        for j in 0..n {
            samples[count] = (lo + (hi - lo) * (j as f64 + 0.5) / n as f64, i);
            count += 1;
        }
    }
    count
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_up_to_the_nearest_f32_above() {
        let mut rng = cella_kinematics::Rng::new(11);
        for _ in 0..10_000 {
            let x = rng.uniform(0.0, 10.0) * 10f64.powi((rng.next_u64() % 9) as i32 - 6);
            let y = round_up_f32(x);
            assert!(f64::from(y) >= x, "{y} below {x}");
            // the next f32 down is below x: y is the smallest one not below it
            assert!(
                f64::from(y.next_down()) < x,
                "{y} not the nearest above {x}"
            );
        }
        assert_eq!(round_up_f32(0.0), 0.0);
        assert_eq!(round_up_f32(1.0), 1.0);
    }

    #[test]
    fn lever_rates_sum_lever_times_joint_rate() {
        // 3 joints, 2 outputs: levers in one row per joint
        let levers = [0.5, 0.0, 1.0, 2.0, 0.25, 0.75];
        let joint_rate = [2.0, 1.0, 4.0];
        let mut sums = [9.0; 4];
        let mut out = [0.0f32; 2];
        let largest = lever_rates(&levers, &joint_rate, &mut sums, &mut out);
        // output 0: 0.5·2 + 1·1 + 0.25·4 = 3; output 1: 0 + 2·1 + 0.75·4 = 5
        assert_eq!(out, [3.0, 5.0]);
        assert_eq!(largest, 5.0);
        // nothing to rate
        assert_eq!(lever_rates(&[], &joint_rate, &mut sums, &mut []), 0.0);
    }

    #[test]
    fn uncovered_keeps_what_no_interval_proves() {
        let gaps = [(0.0, 1.0), (2.0, 3.0), (4.0, 5.0)];
        let mut next = Vec::new();
        // two samples in the first gap, one in the second, none in the third
        uncovered(
            &gaps,
            &[(0.25, 0), (0.75, 0), (2.5, 1)],
            &[0.1, 0.3, 0.6],
            &mut next,
        );
        assert_eq!(next, vec![(0.0, 0.15), (0.35, 0.45), (4.0, 5.0)]);
        // overlapping intervals leave nothing between them; a covered end leaves nothing after
        uncovered(&gaps[..1], &[(0.3, 0), (0.6, 0)], &[0.3, 0.4], &mut next);
        assert!(next.is_empty(), "{next:?}");
    }

    #[test]
    fn samples_fill_the_lanes_inside_the_gaps() {
        use crate::batch::LANES;
        let mut samples = [(0.0, 0); LANES];
        // one long and one short gap: the spare lanes go to the long one, all inside
        let gaps = [(0.0, 0.8), (0.9, 0.95)];
        let n = place_samples(&gaps, 0.01, &mut samples);
        assert_eq!(n, LANES);
        let in_short = samples.iter().filter(|&&(_, g)| g == 1).count();
        assert_eq!(in_short, 1);
        for &(t, g) in &samples[..n] {
            assert!(gaps[g].0 < t && t < gaps[g].1, "{t} outside gap {g}");
        }
        assert!(samples[..n].windows(2).all(|w| w[0].0 < w[1].0));
        // a gap narrower than the floor gets one state, not eight
        assert_eq!(place_samples(&[(0.5, 0.505)], 0.01, &mut samples), 1);
    }

    #[test]
    fn states_are_placed_on_their_segment_by_sweep_share() {
        // three states in 1 joint: segment lengths 1 and 3 (knots 0, 1, 4)
        let states = [0.0, 1.0, -2.0];
        let knots = [0.0, 1.0, 4.0];
        let mut q = [0.0];
        for (t, want) in [
            (0.0, 0.0),
            (0.125, 0.5),
            (0.25, 1.0),
            (0.5, 0.0),
            (1.0, -2.0),
        ] {
            place_on_polyline(&states, &knots, t, &mut q);
            assert!((q[0] - want).abs() < 1e-12, "t = {t}: {} != {want}", q[0]);
        }
        // a repeated state (zero-length segment) is skipped, not divided by
        let states = [0.0, 0.0, 2.0];
        let knots = [0.0, 0.0, 2.0];
        place_on_polyline(&states, &knots, 0.5, &mut q);
        assert!((q[0] - 1.0).abs() < 1e-12);
    }
}
