//! The broad phase of the scalar check: the obstacles' bounding spheres in rows of
//! [`ROW`], structure of arrays, so that one link's bounding sphere is compared with a whole
//! row at once (LLVM vectorises the row) and only the obstacles it may reach are visited.
//!
//! The test is the `f64` arithmetic of [`super::spheres_beyond`], lane by lane, so the
//! obstacles it keeps are exactly those the one-by-one test keeps.

use nalgebra::Point3;

/// Obstacles per row.
pub(super) const ROW: usize = 4;

/// Bounding spheres (world frame, m) of the obstacles, [`ROW`] to a row; the rows are padded
/// with spheres that no reach touches.
#[derive(Debug, Clone, Default)]
pub(super) struct BoundRows {
    x: Vec<[f64; ROW]>,
    y: Vec<[f64; ROW]>,
    z: Vec<[f64; ROW]>,
    radius: Vec<[f64; ROW]>,
}

impl BoundRows {
    /// Rows of the bounding spheres `(centre, radius)`, in order.
    pub(super) fn new(bounds: impl IntoIterator<Item = (Point3<f64>, f64)>) -> Self {
        let mut rows = Self::default();
        for (i, (c, radius)) in bounds.into_iter().enumerate() {
            let l = i % ROW;
            if l == 0 {
                // padding: infinitely far, never within any finite reach
                rows.x.push([f64::INFINITY; ROW]);
                rows.y.push([0.0; ROW]);
                rows.z.push([0.0; ROW]);
                rows.radius.push([0.0; ROW]);
            }
            let row = rows.x.len() - 1;
            rows.x[row][l] = c.x;
            rows.y[row][l] = c.y;
            rows.z[row][l] = c.z;
            rows.radius[row][l] = radius;
        }
        rows
    }

    /// Number of rows.
    #[inline(always)]
    pub(super) fn rows(&self) -> usize {
        self.x.len()
    }

    /// Bit `l` set when obstacle `row * ROW + l` has its bounding sphere closer than its
    /// radius + `radius` + `extra` (m) to `center` (world frame): the complement of
    /// [`super::spheres_beyond`] with that reach, summed in that order.
    #[inline(always)]
    pub(super) fn near_mask(
        &self,
        row: usize,
        center: &Point3<f64>,
        radius: f64,
        extra: f64,
    ) -> u32 {
        let (x, y, z, r) = (&self.x[row], &self.y[row], &self.z[row], &self.radius[row]);
        let mut near = [false; ROW];
        for l in 0..ROW {
            let (dx, dy, dz) = (center.x - x[l], center.y - y[l], center.z - z[l]);
            let within = r[l] + radius + extra;
            near[l] = (within > 0.0) & (dx * dx + dy * dy + dz * dz < within * within);
        }
        near.iter()
            .enumerate()
            .fold(0, |m, (l, &n)| m | (u32::from(n) << l))
    }

    /// The obstacles (indices, increasing) whose bounding spheres come closer than their
    /// radius + `radius` + `extra` (m) to `center`: [`BoundRows::near_mask`] row by row.
    #[inline(always)]
    pub(super) fn near<'a>(&'a self, center: &'a Point3<f64>, radius: f64, extra: f64) -> Near<'a> {
        Near {
            rows: self,
            center,
            radius,
            extra,
            next_row: 0,
            base: 0,
            mask: 0,
        }
    }
}

/// Iterator of [`BoundRows::near`].
pub(super) struct Near<'a> {
    rows: &'a BoundRows,
    center: &'a Point3<f64>,
    radius: f64,
    extra: f64,
    /// The row whose mask is computed next.
    next_row: usize,
    /// First obstacle of the row `mask` belongs to.
    base: usize,
    /// Obstacles of the current row not yet returned.
    mask: u32,
}

impl Iterator for Near<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.next_row == self.rows.rows() {
                return None;
            }
            self.mask = self
                .rows
                .near_mask(self.next_row, self.center, self.radius, self.extra);
            self.base = self.next_row * ROW;
            self.next_row += 1;
        }
        let l = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.base + l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows keep exactly the obstacles the one-by-one test keeps, padding never.
    #[test]
    fn rows_keep_what_the_pairwise_test_keeps() {
        let mut rng = cella_kinematics::Rng::new(4);
        for n in [0usize, 1, 3, 4, 5, 9, 30] {
            let bounds: Vec<(Point3<f64>, f64)> = (0..n)
                .map(|_| {
                    let c = Point3::new(
                        rng.uniform(-1.0, 1.0),
                        rng.uniform(-1.0, 1.0),
                        rng.uniform(0.0, 1.0),
                    );
                    (c, rng.uniform(0.01, 0.3))
                })
                .collect();
            let rows = BoundRows::new(bounds.iter().copied());
            assert_eq!(rows.rows(), n.div_ceil(ROW));
            for _ in 0..200 {
                let c = Point3::new(
                    rng.uniform(-1.5, 1.5),
                    rng.uniform(-1.5, 1.5),
                    rng.uniform(-0.5, 1.5),
                );
                let (radius, extra) = (rng.uniform(0.0, 0.3), rng.uniform(-0.4, 0.3));
                let kept: Vec<usize> = rows.near(&c, radius, extra).collect();
                let want: Vec<usize> = (0..n)
                    .filter(|&i| {
                        !super::super::spheres_beyond(
                            &c,
                            &bounds[i].0,
                            bounds[i].1 + radius + extra,
                        )
                    })
                    .collect();
                assert_eq!(kept, want, "centre {c:?} reach {radius} + {extra}");
            }
        }
    }
}
