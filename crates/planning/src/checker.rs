//! What the planner needs from a collision checker, as a trait: the planner stays independent
//! of how validity is decided (sphere models, meshes, several robots, a test double).

/// A colliding pair, by name: two links, or a link and a world object.
pub type NamedPair = (String, String);

/// Validity of joint states and straight joint-space motions for one planning group.
///
/// Implementations are immutable and shared between threads; per-thread mutable state lives in
/// a [`ValidityChecker::Scratch`], created once per planning call and reused for every query
/// (no allocation per query).
pub trait ValidityChecker: Sync {
    /// Per-thread scratch memory.
    type Scratch: Send;

    /// Creates scratch memory for one thread.
    fn scratch(&self) -> Self::Scratch;

    /// Number of joints of a state.
    fn dof(&self) -> usize;

    /// Conservative validity of a state: may answer `false` for a free state, never `true` for
    /// a colliding one.
    fn state_valid(&self, scratch: &mut Self::Scratch, q: &[f64]) -> bool;

    /// Validity of every state on the straight joint-space segment `a → b` (endpoints
    /// included), with the implementation's guaranteed resolution.
    fn motion_valid(&self, scratch: &mut Self::Scratch, a: &[f64], b: &[f64]) -> bool;

    /// Where the polyline through `states` (joint vectors back to back) first collides: the
    /// smallest `k` such that state `k`, or the motion from state `k − 1` to it (with the
    /// guarantee of [`ValidityChecker::motion_valid`]), is not free; `None` when the whole
    /// path is free; `Some(0)` for malformed input. The default checks state by state and
    /// segment by segment; implementations may check densely sampled paths faster.
    fn path_first_collision(&self, scratch: &mut Self::Scratch, states: &[f64]) -> Option<usize> {
        let dof = self.dof();
        if dof == 0 || !states.len().is_multiple_of(dof) {
            return Some(0);
        }
        let state = |k: usize| &states[k * dof..(k + 1) * dof];
        (0..states.len() / dof).find(|&k| {
            !self.state_valid(scratch, state(k))
                || (k > 0 && !self.motion_valid(scratch, state(k - 1), state(k)))
        })
    }

    /// True when the whole polyline through `states` is free, with the guarantee of
    /// [`ValidityChecker::motion_valid`]. The default is
    /// [`ValidityChecker::path_first_collision`] finding nothing; implementations may decide
    /// the polyline as one motion (near contact the verdict may then differ from the
    /// segment-by-segment one; both carry the guarantee).
    fn path_valid(&self, scratch: &mut Self::Scratch, states: &[f64]) -> bool {
        self.path_first_collision(scratch, states).is_none()
    }

    /// Exact verdict for a state the fast path rejects (the exact geometry may overturn a
    /// conservative "colliding"); defaults to the fast verdict.
    fn state_valid_exact(&self, scratch: &mut Self::Scratch, q: &[f64]) -> bool {
        self.state_valid(scratch, q)
    }

    /// The colliding pairs of a state, by name (empty when valid), for failure reports.
    fn colliding_pairs(&self, scratch: &mut Self::Scratch, q: &[f64]) -> Vec<NamedPair>;
}
