//! Convex primitive shapes in their local frame, and exact distances from a point and from a
//! segment to them. These are the narrow phase of the fast checker: a capsule (segment + radius)
//! is at distance `d - r` from a shape whose distance to its segment is `d`.

use nalgebra::{Point3, Vector3};

/// A convex primitive in its local frame (metres). Boxes are centred; cylinders and capsules
/// are centred with their axis along local z.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Sphere of the given radius.
    Sphere {
        /// Radius, m.
        radius: f64,
    },
    /// Box with the given half extents along local x, y, z.
    Box {
        /// Half extents, m.
        half_extents: [f64; 3],
    },
    /// Cylinder along local z.
    Cylinder {
        /// Radius, m.
        radius: f64,
        /// Half the length, m.
        half_length: f64,
    },
    /// Capsule along local z: the segment from (0,0,-h) to (0,0,h) swept by a sphere.
    Capsule {
        /// Radius, m.
        radius: f64,
        /// Half the segment length, m.
        half_length: f64,
    },
}

impl Shape {
    /// A shape from the fields file formats use (`type` = box, sphere, cylinder or capsule;
    /// box half extents; radius; full length along local z), validated. The error names the
    /// missing or bad field.
    pub fn from_fields(
        kind: &str,
        half_extents: Option<[f64; 3]>,
        radius: Option<f64>,
        length: Option<f64>,
    ) -> Result<Self, String> {
        let need = |v: Option<f64>, f: &str| v.ok_or_else(|| format!("{f}: missing for a {kind}"));
        let shape = match kind {
            "box" => Shape::Box {
                half_extents: half_extents.ok_or("half_extents: missing for a box")?,
            },
            "sphere" => Shape::Sphere {
                radius: need(radius, "radius")?,
            },
            "cylinder" => Shape::Cylinder {
                radius: need(radius, "radius")?,
                half_length: need(length, "length")? / 2.0,
            },
            "capsule" => Shape::Capsule {
                radius: need(radius, "radius")?,
                half_length: need(length, "length")? / 2.0,
            },
            other => {
                return Err(format!(
                    "type: '{other}' is not box, sphere, cylinder or capsule"
                ));
            }
        };
        shape.validate()?;
        Ok(shape)
    }

    /// This shape grown by `d` m (≥ 0) on every side: a sphere or capsule by its radius (the
    /// exact offset shape), a box by its half extents and a cylinder by its radius and half
    /// length (a superset of the exact offset: its edges and corners are square, not round).
    pub fn inflated(&self, d: f64) -> Shape {
        match *self {
            Shape::Sphere { radius } => Shape::Sphere { radius: radius + d },
            Shape::Box {
                half_extents: [x, y, z],
            } => Shape::Box {
                half_extents: [x + d, y + d, z + d],
            },
            Shape::Cylinder {
                radius,
                half_length,
            } => Shape::Cylinder {
                radius: radius + d,
                half_length: half_length + d,
            },
            Shape::Capsule {
                radius,
                half_length,
            } => Shape::Capsule {
                radius: radius + d,
                half_length,
            },
        }
    }

    /// Checks that every dimension is finite and positive (capsule/cylinder length may be 0).
    pub fn validate(&self) -> Result<(), String> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        let ok0 = |v: f64| v.is_finite() && v >= 0.0;
        match *self {
            Shape::Sphere { radius } if ok(radius) => Ok(()),
            Shape::Box { half_extents } if half_extents.iter().all(|&v| ok(v)) => Ok(()),
            Shape::Cylinder {
                radius,
                half_length,
            } if ok(radius) && ok(half_length) => Ok(()),
            Shape::Capsule {
                radius,
                half_length,
            } if ok(radius) && ok0(half_length) => Ok(()),
            other => Err(format!("{other:?}: dimensions must be finite and positive")),
        }
    }

    /// Radius of the smallest sphere about the local origin that contains the shape.
    pub fn bounding_radius(&self) -> f64 {
        match *self {
            Shape::Sphere { radius } => radius,
            Shape::Box { half_extents: h } => (h[0] * h[0] + h[1] * h[1] + h[2] * h[2]).sqrt(),
            Shape::Cylinder {
                radius,
                half_length,
            } => (radius * radius + half_length * half_length).sqrt(),
            Shape::Capsule {
                radius,
                half_length,
            } => radius + half_length,
        }
    }

    /// Euclidean distance from a point (local frame) to the shape; 0 inside.
    pub fn point_distance(&self, p: &Point3<f64>) -> f64 {
        match *self {
            Shape::Sphere { radius } => (p.coords.norm() - radius).max(0.0),
            Shape::Box { half_extents: h } => {
                let dx = (p.x.abs() - h[0]).max(0.0);
                let dy = (p.y.abs() - h[1]).max(0.0);
                let dz = (p.z.abs() - h[2]).max(0.0);
                (dx * dx + dy * dy + dz * dz).sqrt()
            }
            Shape::Cylinder {
                radius,
                half_length,
            } => {
                let dr = ((p.x * p.x + p.y * p.y).sqrt() - radius).max(0.0);
                let dz = (p.z.abs() - half_length).max(0.0);
                (dr * dr + dz * dz).sqrt()
            }
            Shape::Capsule {
                radius,
                half_length,
            } => {
                let z = p.z.clamp(-half_length, half_length);
                ((p.coords - Vector3::new(0.0, 0.0, z)).norm() - radius).max(0.0)
            }
        }
    }

    /// A lower bound on the distance from the segment `a → b` (local frame) to the shape, exact
    /// to within `tolerance` metres; 0 when the segment touches or enters the shape.
    ///
    /// Spheres and capsules use the closed form. For boxes and cylinders the distance along the
    /// segment is convex in the segment parameter, so a golden-section search brackets its
    /// minimum; the returned value subtracts the worst-case error of the bracket (the distance
    /// is 1-Lipschitz in the point, the point moves `|b - a|` per unit parameter), so it never
    /// overestimates.
    pub fn segment_distance(&self, a: &Point3<f64>, b: &Point3<f64>, tolerance: f64) -> f64 {
        match *self {
            Shape::Sphere { radius } => {
                (point_segment_distance(&Point3::origin(), a, b) - radius).max(0.0)
            }
            Shape::Capsule {
                radius,
                half_length,
            } => {
                let c = Point3::new(0.0, 0.0, -half_length);
                let d = Point3::new(0.0, 0.0, half_length);
                (segment_segment_distance(a, b, &c, &d) - radius).max(0.0)
            }
            Shape::Box { half_extents } => segment_box_distance(a, b, &half_extents),
            Shape::Cylinder { .. } => self.convex_segment_distance(a, b, tolerance),
        }
    }

    fn convex_segment_distance(&self, a: &Point3<f64>, b: &Point3<f64>, tolerance: f64) -> f64 {
        let ab = b - a;
        let length = ab.norm();
        let f = |t: f64| self.point_distance(&(a + ab * t));
        if length <= tolerance {
            return (f(0.0) - length).max(0.0);
        }
        const INV_PHI: f64 = 0.618_033_988_749_894_8;
        let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
        let mut x1 = hi - INV_PHI * (hi - lo);
        let mut x2 = lo + INV_PHI * (hi - lo);
        let (mut f1, mut f2) = (f(x1), f(x2));
        let mut best = f(0.0).min(f(1.0)).min(f1).min(f2);
        // stop when the bracket is short enough or the shape is touched
        while (hi - lo) * length > tolerance && best > 0.0 {
            if f1 <= f2 {
                hi = x2;
                x2 = x1;
                f2 = f1;
                x1 = hi - INV_PHI * (hi - lo);
                f1 = f(x1);
                best = best.min(f1);
            } else {
                lo = x1;
                x1 = x2;
                f1 = f2;
                x2 = lo + INV_PHI * (hi - lo);
                f2 = f(x2);
                best = best.min(f2);
            }
        }
        // The minimiser lies in [lo, hi]: the true minimum is at least f(any point of the
        // bracket) minus the bracket's length in metres.
        let bracket = (hi - lo) * length;
        (f1.min(f2) - bracket).max(0.0).min(best)
    }
}

/// Exact distance from segment `a → b` to the centred box with half extents `h` (box frame).
///
/// The squared distance along the segment is a convex piecewise quadratic in the segment
/// parameter, whose pieces change where a coordinate crosses a box face plane: the minimum is
/// at a breakpoint, an end, or the vertex of one piece's quadratic.
pub fn segment_box_distance(a: &Point3<f64>, b: &Point3<f64>, h: &[f64; 3]) -> f64 {
    let d = b - a;
    let sq = |t: f64| -> f64 {
        let mut acc = 0.0;
        for k in 0..3 {
            let x = (a[k] + d[k] * t).abs() - h[k];
            if x > 0.0 {
                acc += x * x;
            }
        }
        acc
    };
    // breakpoints where a coordinate crosses ±h
    let mut ts = [0.0f64; 8];
    let mut n = 0;
    ts[n] = 0.0;
    n += 1;
    ts[n] = 1.0;
    n += 1;
    for k in 0..3 {
        if d[k] != 0.0 {
            for plane in [-h[k], h[k]] {
                let t = (plane - a[k]) / d[k];
                if t > 0.0 && t < 1.0 {
                    ts[n] = t;
                    n += 1;
                }
            }
        }
    }
    let ts = &mut ts[..n];
    ts.sort_unstable_by(f64::total_cmp);
    let mut best = f64::INFINITY;
    for w in ts.windows(2) {
        let (t0, t1) = (w[0], w[1]);
        best = best.min(sq(t0));
        // the quadratic of this piece: sum over coordinates outside the slab at the middle
        let tm = 0.5 * (t0 + t1);
        let (mut qa, mut qb) = (0.0, 0.0);
        for k in 0..3 {
            let x = a[k] + d[k] * tm;
            if x > h[k] {
                // (a + d t - h)^2
                qa += d[k] * d[k];
                qb += 2.0 * d[k] * (a[k] - h[k]);
            } else if x < -h[k] {
                qa += d[k] * d[k];
                qb += 2.0 * d[k] * (a[k] + h[k]);
            }
        }
        if qa > 0.0 {
            let tv = (-qb / (2.0 * qa)).clamp(t0, t1);
            best = best.min(sq(tv));
        }
    }
    best = best.min(sq(1.0));
    best.max(0.0).sqrt()
}

/// Distance from point `p` to segment `a → b`.
pub fn point_segment_distance(p: &Point3<f64>, a: &Point3<f64>, b: &Point3<f64>) -> f64 {
    let ab = b - a;
    let len2 = ab.norm_squared();
    let t = if len2 > 0.0 {
        ((p - a).dot(&ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p - (a + ab * t)).norm()
}

/// Distance between segments `p1 → q1` and `p2 → q2` (Ericson, Real-Time Collision Detection,
/// 5.1.9), robust to degenerate (zero-length) segments.
pub fn segment_segment_distance(
    p1: &Point3<f64>,
    q1: &Point3<f64>,
    p2: &Point3<f64>,
    q2: &Point3<f64>,
) -> f64 {
    let d1 = q1 - p1;
    let d2 = q2 - p2;
    let r = p1 - p2;
    let a = d1.norm_squared();
    let e = d2.norm_squared();
    let f = d2.dot(&r);
    const EPS: f64 = 1e-18;
    let (s, t);
    if a <= EPS && e <= EPS {
        return r.norm();
    }
    if a <= EPS {
        s = 0.0;
        t = (f / e).clamp(0.0, 1.0);
    } else {
        let c = d1.dot(&r);
        if e <= EPS {
            t = 0.0;
            s = (-c / a).clamp(0.0, 1.0);
        } else {
            let b = d1.dot(&d2);
            let denom = a * e - b * b;
            let mut s0 = if denom > EPS {
                ((b * f - c * e) / denom).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let mut t0 = (b * s0 + f) / e;
            if t0 < 0.0 {
                t0 = 0.0;
                s0 = (-c / a).clamp(0.0, 1.0);
            } else if t0 > 1.0 {
                t0 = 1.0;
                s0 = ((b - c) / a).clamp(0.0, 1.0);
            }
            s = s0;
            t = t0;
        }
    }
    ((p1 + d1 * s) - (p2 + d2 * t)).norm()
}
