//! Mesh decimation for the viewer: coincident vertices are welded, then edges are collapsed in
//! order of the quadric error (Garland and Heckbert 1997: the squared distance of the new
//! vertex to the planes of the triangles it replaces, area-weighted and normalised, so the
//! error is a mean squared distance in m²) until the mesh has the target triangle count or the
//! next collapse would move the surface by more than the tolerance. A collapse that would fold
//! a triangle over (its normal turning by more than ~70°) or pinch the surface (the link
//! condition) is skipped; open borders are held by perpendicular planes.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// An indexed triangle mesh (metres).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexedMesh {
    /// Vertex positions.
    pub vertices: Vec<[f64; 3]>,
    /// Triangles as indices into `vertices`.
    pub triangles: Vec<[u32; 3]>,
}

impl IndexedMesh {
    /// The total area of the triangles, m².
    pub fn area(&self) -> f64 {
        self.triangles
            .iter()
            .filter_map(|t| {
                let [a, b, c] = corners(&self.vertices, t)?;
                Some(0.5 * norm(cross(sub(b, a), sub(c, a))))
            })
            .sum()
    }

    /// Appends another mesh.
    pub fn extend(&mut self, other: &IndexedMesh) {
        let base = self.vertices.len() as u32;
        self.vertices.extend_from_slice(&other.vertices);
        self.triangles.extend(
            other
                .triangles
                .iter()
                .map(|t| [t[0] + base, t[1] + base, t[2] + base]),
        );
    }
}

type V3 = [f64; 3];

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

fn corners(v: &[V3], t: &[u32; 3]) -> Option<[V3; 3]> {
    Some([
        *v.get(t[0] as usize)?,
        *v.get(t[1] as usize)?,
        *v.get(t[2] as usize)?,
    ])
}

/// Welds vertices closer than `tolerance` (m, on a grid) and drops triangles that become
/// degenerate, repeated, or index a vertex that does not exist, and non-finite vertices.
pub fn weld(vertices: &[V3], triangles: &[[u32; 3]], tolerance: f64) -> IndexedMesh {
    let cell = if tolerance.is_finite() && tolerance > 0.0 {
        tolerance
    } else {
        1e-7
    };
    let mut map: HashMap<[i64; 3], u32> = HashMap::new();
    let mut out = IndexedMesh::default();
    let mut remap = vec![u32::MAX; vertices.len()];
    for (i, v) in vertices.iter().enumerate() {
        if !v.iter().all(|c| c.is_finite()) {
            continue;
        }
        let key = [
            (v[0] / cell).round() as i64,
            (v[1] / cell).round() as i64,
            (v[2] / cell).round() as i64,
        ];
        let id = *map.entry(key).or_insert_with(|| {
            out.vertices.push(*v);
            (out.vertices.len() - 1) as u32
        });
        remap[i] = id;
    }
    let mut seen = std::collections::HashSet::new();
    for t in triangles {
        let Some(m) = t
            .iter()
            .map(|&i| remap.get(i as usize).copied().filter(|&r| r != u32::MAX))
            .collect::<Option<Vec<u32>>>()
        else {
            continue;
        };
        let tri = [m[0], m[1], m[2]];
        if tri[0] == tri[1] || tri[1] == tri[2] || tri[0] == tri[2] {
            continue;
        }
        let mut key = tri;
        key.sort_unstable();
        if seen.insert(key) {
            out.triangles.push(tri);
        }
    }
    compact(&out.vertices, &out.triangles)
}

/// Keeps only the vertices the triangles use, renumbered in order of first use.
fn compact(vertices: &[V3], triangles: &[[u32; 3]]) -> IndexedMesh {
    let mut remap = vec![u32::MAX; vertices.len()];
    let mut out = IndexedMesh::default();
    for t in triangles {
        let mut tri = [0u32; 3];
        for (k, &i) in t.iter().enumerate() {
            let r = &mut remap[i as usize];
            if *r == u32::MAX {
                *r = out.vertices.len() as u32;
                out.vertices.push(vertices[i as usize]);
            }
            tri[k] = *r;
        }
        out.triangles.push(tri);
    }
    out
}

/// A quadric: the symmetric 4×4 matrix (upper triangle, 10 values) of a sum of squared plane
/// distances, and the weight summed into it.
#[derive(Debug, Clone, Copy, Default)]
struct Quadric {
    m: [f64; 10],
    weight: f64,
}

impl Quadric {
    /// `weight` × the squared distance to the plane `n·x + d = 0` (`n` unit).
    fn plane(n: V3, d: f64, weight: f64) -> Self {
        let [a, b, c] = n;
        let w = weight;
        Self {
            m: [
                w * a * a,
                w * a * b,
                w * a * c,
                w * a * d,
                w * b * b,
                w * b * c,
                w * b * d,
                w * c * c,
                w * c * d,
                w * d * d,
            ],
            weight,
        }
    }

    fn add(&mut self, o: &Quadric) {
        for (a, b) in self.m.iter_mut().zip(o.m.iter()) {
            *a += b;
        }
        self.weight += o.weight;
    }

    fn sum(a: &Quadric, b: &Quadric) -> Quadric {
        let mut q = *a;
        q.add(b);
        q
    }

    /// Weighted mean squared distance of `p` to the planes.
    fn error(&self, p: V3) -> f64 {
        let [x, y, z] = p;
        let m = &self.m;
        let e = m[0] * x * x
            + 2.0 * m[1] * x * y
            + 2.0 * m[2] * x * z
            + 2.0 * m[3] * x
            + m[4] * y * y
            + 2.0 * m[5] * y * z
            + 2.0 * m[6] * y
            + m[7] * z * z
            + 2.0 * m[8] * z
            + m[9];
        if self.weight > 0.0 {
            (e / self.weight).max(0.0)
        } else {
            0.0
        }
    }

    /// The point of least error, when the system is well conditioned.
    fn optimum(&self) -> Option<V3> {
        let m = &self.m;
        let a = [[m[0], m[1], m[2]], [m[1], m[4], m[5]], [m[2], m[5], m[7]]];
        let b = [-m[3], -m[6], -m[8]];
        let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
        let scale = a[0][0].abs() + a[1][1].abs() + a[2][2].abs();
        if !(det.is_finite() && scale > 0.0 && det.abs() > 1e-9 * scale * scale * scale) {
            return None;
        }
        let col = |k: usize| {
            let mut m = a;
            for r in 0..3 {
                m[r][k] = b[r];
            }
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        let p = [col(0) / det, col(1) / det, col(2) / det];
        p.iter().all(|v| v.is_finite()).then_some(p)
    }
}

/// A candidate collapse in the heap, smallest error first.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    error: f64,
    a: u32,
    b: u32,
    stamp_a: u32,
    stamp_b: u32,
    target: V3,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // reversed: BinaryHeap is a max-heap
        other
            .error
            .total_cmp(&self.error)
            .then_with(|| other.a.cmp(&self.a))
            .then_with(|| other.b.cmp(&self.b))
    }
}

/// Weight of the planes that hold open borders, relative to the faces'.
const BORDER_WEIGHT: f64 = 10.0;
/// Smallest cosine between a triangle's normal before and after a collapse.
const MIN_NORMAL_COS: f64 = 0.35;

struct Decimator {
    pos: Vec<V3>,
    quadric: Vec<Quadric>,
    stamp: Vec<u32>,
    alive: Vec<bool>,
    tris: Vec<[u32; 3]>,
    tri_alive: Vec<bool>,
    /// Triangles around each vertex (may list dead ones; filtered when read).
    around: Vec<Vec<u32>>,
    heap: BinaryHeap<Candidate>,
    live_triangles: usize,
}

impl Decimator {
    fn new(mesh: &IndexedMesh) -> Self {
        let n = mesh.vertices.len();
        let mut quadric = vec![Quadric::default(); n];
        let mut around = vec![Vec::new(); n];
        let mut edge_use: HashMap<(u32, u32), (u32, usize)> = HashMap::new();
        for (ti, t) in mesh.triangles.iter().enumerate() {
            let Some([a, b, c]) = corners(&mesh.vertices, t) else {
                continue;
            };
            let nrm = cross(sub(b, a), sub(c, a));
            let len = norm(nrm);
            if len > 0.0 {
                let n = scale(nrm, 1.0 / len);
                let q = Quadric::plane(n, -dot(n, a), 0.5 * len);
                for &v in t {
                    quadric[v as usize].add(&q);
                }
            }
            for &v in t {
                around[v as usize].push(ti as u32);
            }
            for k in 0..3 {
                let (u, v) = (t[k], t[(k + 1) % 3]);
                let key = (u.min(v), u.max(v));
                let e = edge_use.entry(key).or_insert((ti as u32, 0));
                e.1 += 1;
            }
        }
        // open borders: a plane through the edge, perpendicular to its triangle
        for (&(u, v), &(ti, uses)) in &edge_use {
            if uses != 1 {
                continue;
            }
            let Some([a, b, c]) = corners(&mesh.vertices, &mesh.triangles[ti as usize]) else {
                continue;
            };
            let face = cross(sub(b, a), sub(c, a));
            let (pu, pv) = (mesh.vertices[u as usize], mesh.vertices[v as usize]);
            let edge = sub(pv, pu);
            let perp = cross(edge, face);
            let len = norm(perp);
            if len > 0.0 {
                let n = scale(perp, 1.0 / len);
                let q = Quadric::plane(n, -dot(n, pu), BORDER_WEIGHT * dot(edge, edge));
                quadric[u as usize].add(&q);
                quadric[v as usize].add(&q);
            }
        }
        let mut d = Self {
            pos: mesh.vertices.clone(),
            quadric,
            stamp: vec![0; n],
            alive: vec![true; n],
            tris: mesh.triangles.clone(),
            tri_alive: vec![true; mesh.triangles.len()],
            around,
            heap: BinaryHeap::new(),
            live_triangles: mesh.triangles.len(),
        };
        for &(u, v) in edge_use.keys() {
            d.push(u, v);
        }
        d
    }

    fn push(&mut self, a: u32, b: u32) {
        let (pa, pb) = (self.pos[a as usize], self.pos[b as usize]);
        let q = Quadric::sum(&self.quadric[a as usize], &self.quadric[b as usize]);
        let mid = scale(add(pa, pb), 0.5);
        let edge = norm(sub(pb, pa));
        let mut best = (q.error(mid), mid);
        for p in [pa, pb] {
            let e = q.error(p);
            if e < best.0 {
                best = (e, p);
            }
        }
        // the optimum, unless it lies far from the edge (a nearly flat region's quadric)
        if let Some(p) = q.optimum()
            && norm(sub(p, mid)) <= edge
        {
            let e = q.error(p);
            if e < best.0 {
                best = (e, p);
            }
        }
        self.heap.push(Candidate {
            error: best.0,
            a,
            b,
            stamp_a: self.stamp[a as usize],
            stamp_b: self.stamp[b as usize],
            target: best.1,
        });
    }

    fn live_around(&self, v: u32) -> impl Iterator<Item = u32> + '_ {
        self.around[v as usize]
            .iter()
            .copied()
            .filter(|&t| self.tri_alive[t as usize])
    }

    fn neighbours(&self, v: u32) -> Vec<u32> {
        let mut n: Vec<u32> = self
            .live_around(v)
            .flat_map(|t| self.tris[t as usize])
            .filter(|&u| u != v)
            .collect();
        n.sort_unstable();
        n.dedup();
        n
    }

    /// Whether collapsing `b` into `a` at `p` keeps the surface a surface and no triangle
    /// folds over.
    fn can_collapse(&self, a: u32, b: u32, p: V3) -> bool {
        let shared = self
            .live_around(a)
            .filter(|&t| self.tris[t as usize].contains(&b))
            .count();
        if shared == 0 {
            return false;
        }
        let na = self.neighbours(a);
        let nb = self.neighbours(b);
        let common = na.iter().filter(|v| nb.binary_search(v).is_ok()).count();
        if common != shared {
            return false;
        }
        for v in [a, b] {
            for t in self.live_around(v) {
                let tri = self.tris[t as usize];
                if tri.contains(&a) && tri.contains(&b) {
                    continue;
                }
                let Some(before) = corners(&self.pos, &tri) else {
                    return false;
                };
                let mut after = before;
                for k in 0..3 {
                    if tri[k] == a || tri[k] == b {
                        after[k] = p;
                    }
                }
                let n0 = cross(sub(before[1], before[0]), sub(before[2], before[0]));
                let n1 = cross(sub(after[1], after[0]), sub(after[2], after[0]));
                let (l0, l1) = (norm(n0), norm(n1));
                if l1 <= 1e-12 * (1.0 + l0) || dot(n0, n1) < MIN_NORMAL_COS * l0 * l1 {
                    return false;
                }
            }
        }
        true
    }

    fn collapse(&mut self, a: u32, b: u32, p: V3) {
        let moved: Vec<u32> = self.live_around(b).collect();
        for t in moved {
            let tri = &mut self.tris[t as usize];
            if tri.contains(&a) {
                self.tri_alive[t as usize] = false;
                self.live_triangles -= 1;
            } else {
                for v in tri.iter_mut() {
                    if *v == b {
                        *v = a;
                    }
                }
                self.around[a as usize].push(t);
            }
        }
        let qb = self.quadric[b as usize];
        self.quadric[a as usize].add(&qb);
        self.pos[a as usize] = p;
        self.alive[b as usize] = false;
        self.around[b as usize].clear();
        self.stamp[a as usize] = self.stamp[a as usize].wrapping_add(1);
        self.stamp[b as usize] = self.stamp[b as usize].wrapping_add(1);
        let tri_alive = &self.tri_alive;
        self.around[a as usize].retain(|&t| tri_alive[t as usize]);
        for n in self.neighbours(a) {
            self.push(a, n);
        }
    }

    fn run(&mut self, target: usize, max_error2: f64) {
        while self.live_triangles > target {
            let Some(c) = self.heap.pop() else { break };
            if c.error > max_error2 {
                break;
            }
            let (a, b) = (c.a as usize, c.b as usize);
            if !(self.alive[a] && self.alive[b])
                || self.stamp[a] != c.stamp_a
                || self.stamp[b] != c.stamp_b
            {
                continue;
            }
            if self.can_collapse(c.a, c.b, c.target) {
                self.collapse(c.a, c.b, c.target);
            }
        }
    }

    fn result(&self) -> IndexedMesh {
        let tris: Vec<[u32; 3]> = self
            .tris
            .iter()
            .zip(&self.tri_alive)
            .filter(|(_, alive)| **alive)
            .map(|(t, _)| *t)
            .collect();
        compact(&self.pos, &tris)
    }
}

/// Decimates a welded mesh (see [`weld`]) to at most `target` triangles, stopping earlier when
/// the next collapse would move the surface by more than `tolerance` (m, root mean square over
/// the planes it replaces). A mesh already small enough is returned as it is.
pub fn decimate(mesh: &IndexedMesh, target: usize, tolerance: f64) -> IndexedMesh {
    if mesh.triangles.len() <= target {
        return mesh.clone();
    }
    let n = mesh.vertices.len();
    if mesh.triangles.iter().flatten().any(|&i| i as usize >= n) {
        // not welded: drop what does not index a vertex first
        return decimate(
            &weld(&mesh.vertices, &mesh.triangles, 1e-12),
            target,
            tolerance,
        );
    }
    let mut d = Decimator::new(mesh);
    let tol = if tolerance.is_finite() {
        tolerance
    } else {
        f64::MAX.sqrt()
    };
    d.run(target, tol * tol);
    d.result()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A UV sphere of radius `r` as a triangle soup (every triangle with its own vertices).
    fn sphere_soup(r: f64, rings: usize, segments: usize) -> (Vec<V3>, Vec<[u32; 3]>) {
        let point = |i: usize, j: usize| {
            let th = std::f64::consts::PI * i as f64 / rings as f64;
            let ph = 2.0 * std::f64::consts::PI * (j % segments) as f64 / segments as f64;
            [
                r * th.sin() * ph.cos(),
                r * th.sin() * ph.sin(),
                r * th.cos(),
            ]
        };
        let (mut v, mut t) = (Vec::new(), Vec::new());
        let mut tri = |a: V3, b: V3, c: V3| {
            let n = v.len() as u32;
            v.extend([a, b, c]);
            t.push([n, n + 1, n + 2]);
        };
        for i in 0..rings {
            for j in 0..segments {
                let (p00, p01, p10, p11) = (
                    point(i, j),
                    point(i, j + 1),
                    point(i + 1, j),
                    point(i + 1, j + 1),
                );
                if i > 0 {
                    tri(p00, p10, p01);
                }
                if i + 1 < rings {
                    tri(p01, p10, p11);
                }
            }
        }
        (v, t)
    }

    #[test]
    fn a_sphere_keeps_its_shape_with_a_tenth_of_its_triangles() {
        let (v, t) = sphere_soup(0.1, 40, 80);
        let welded = weld(&v, &t, 1e-9);
        assert_eq!(welded.triangles.len(), t.len());
        assert!(
            welded.vertices.len() < v.len() / 5,
            "welded: {}",
            welded.vertices.len()
        );
        let small = decimate(&welded, welded.triangles.len() / 10, f64::INFINITY);
        assert!(small.triangles.len() <= welded.triangles.len() / 10);
        assert!(small.triangles.len() > welded.triangles.len() / 12);
        // every vertex stays near the sphere, the area near 4πr²
        for p in &small.vertices {
            assert!((norm(*p) - 0.1).abs() < 0.004, "{}", norm(*p));
        }
        let area = small.area();
        let exact = 4.0 * std::f64::consts::PI * 0.01;
        assert!((area - exact).abs() < 0.05 * exact, "{area} vs {exact}");
        // a closed surface stays closed: every edge has two triangles
        let mut uses: HashMap<(u32, u32), usize> = HashMap::new();
        for t in &small.triangles {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                *uses.entry((a.min(b), a.max(b))).or_default() += 1;
            }
        }
        assert!(uses.values().all(|&u| u == 2));
    }

    #[test]
    fn the_tolerance_stops_decimation_and_flat_parts_go_first() {
        let (v, t) = sphere_soup(0.1, 20, 40);
        let welded = weld(&v, &t, 1e-9);
        let tight = decimate(&welded, 0, 1e-5);
        let loose = decimate(&welded, 0, 1e-3);
        assert!(tight.triangles.len() > loose.triangles.len());
        assert!(loose.triangles.len() >= 4);
    }

    #[test]
    fn bad_input_is_dropped_not_a_panic() {
        let v = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [f64::NAN, 0.0, 0.0],
            [0.0, 1.0, 0.0],
        ];
        let t = vec![[0, 1, 3], [0, 1, 2], [0, 0, 1], [0, 1, 99], [3, 1, 0]];
        let m = weld(&v, &t, 1e-9);
        assert_eq!(m.triangles.len(), 1);
        assert_eq!(m.vertices.len(), 3);
        assert!(decimate(&m, 0, f64::INFINITY).triangles.len() <= 1);
        assert_eq!(
            decimate(&IndexedMesh::default(), 0, 1.0),
            IndexedMesh::default()
        );
    }
}
