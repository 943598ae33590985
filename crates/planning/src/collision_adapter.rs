//! [`ValidityChecker`] for the collision crate's [`Checker`].

use crate::checker::{NamedPair, ValidityChecker};
use cella_collision::{CheckScratch, Checker, CompositeChecker, CompositeScratch};

impl ValidityChecker for Checker {
    type Scratch = CheckScratch;

    fn scratch(&self) -> CheckScratch {
        Checker::scratch(self)
    }

    fn dof(&self) -> usize {
        Checker::dof(self)
    }

    fn state_valid(&self, scratch: &mut CheckScratch, q: &[f64]) -> bool {
        self.is_valid(scratch, q)
    }

    fn motion_valid(&self, scratch: &mut CheckScratch, a: &[f64], b: &[f64]) -> bool {
        Checker::motion_valid(self, scratch, a, b)
    }

    fn path_first_collision(&self, scratch: &mut CheckScratch, states: &[f64]) -> Option<usize> {
        Checker::path_first_collision(self, scratch, states)
    }

    fn path_valid(&self, scratch: &mut CheckScratch, states: &[f64]) -> bool {
        Checker::path_valid(self, scratch, states)
    }

    fn colliding_pairs(&self, scratch: &mut CheckScratch, q: &[f64]) -> Vec<NamedPair> {
        self.contacts(scratch, q)
    }
}

impl ValidityChecker for CompositeChecker {
    type Scratch = CompositeScratch;

    fn scratch(&self) -> CompositeScratch {
        CompositeChecker::scratch(self)
    }

    fn dof(&self) -> usize {
        CompositeChecker::dof(self)
    }

    fn state_valid(&self, scratch: &mut CompositeScratch, q: &[f64]) -> bool {
        self.is_valid(scratch, q)
    }

    fn motion_valid(&self, scratch: &mut CompositeScratch, a: &[f64], b: &[f64]) -> bool {
        CompositeChecker::motion_valid(self, scratch, a, b)
    }

    fn colliding_pairs(&self, scratch: &mut CompositeScratch, q: &[f64]) -> Vec<NamedPair> {
        self.contacts(scratch, q)
    }
}
