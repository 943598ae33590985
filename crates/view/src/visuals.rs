//! A robot's visual meshes for the page: the URDF's `<visual>` elements (STL, OBJ and COLLADA
//! meshes, primitives) in their link frames, coloured, decimated to a triangle budget and
//! encoded ([`crate::meshcode`]). The bundled robots' URDFs carry only kinematics and
//! collision primitives: their visuals, decimated from the manufacturers' meshes by
//! `cargo run -p cella-view --example make_visuals`, are embedded (`robots/<name>/visual.bin`).

use crate::collada;
use crate::decimate::{self, IndexedMesh};
use crate::meshcode::{self, BundlePart};
use cella_collision::MeshSource;
use cella_kinematics::RobotModel;
use nalgebra::{Isometry3, Matrix4, Point3, Translation3, UnitQuaternion, Vector3};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/bundled_visuals.rs"));

/// How visual meshes are reduced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisualOptions {
    /// Most triangles for a whole robot (shared among its parts by surface area).
    pub triangle_budget: usize,
    /// Fewest triangles a part is reduced to.
    pub part_minimum: usize,
    /// Largest surface deviation a collapse may cause, m (root mean square).
    pub tolerance: f64,
}

impl Default for VisualOptions {
    fn default() -> Self {
        Self {
            triangle_budget: 12_000,
            part_minimum: 60,
            tolerance: 0.0015,
        }
    }
}

/// A robot's visual meshes, one part per link and colour, and what could not be shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RobotVisuals {
    /// The parts (link frame meshes, encoded).
    pub parts: Vec<BundlePart>,
    /// Meshes that could not be read or placed, and what was drawn instead.
    pub notes: Vec<String>,
}

impl RobotVisuals {
    /// Triangles of every part.
    pub fn triangles(&self) -> usize {
        self.parts
            .iter()
            .filter_map(|p| meshcode::decode(&p.mesh))
            .map(|m| m.triangles.len())
            .sum()
    }
}

/// The embedded visual meshes of a bundled robot, when it has them.
pub fn bundled(name: &str) -> Option<RobotVisuals> {
    let bytes = BUNDLED_VISUALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)?;
    Some(RobotVisuals {
        parts: meshcode::read_bundle(bytes)?,
        notes: Vec::new(),
    })
}

/// A mesh of one colour attached to a link, before decimation.
struct RawPart {
    link: String,
    rgb: [u8; 3],
    mesh: IndexedMesh,
}

fn rgb_of(c: [f64; 3]) -> [u8; 3] {
    c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// Default colour of a part without one.
const GREY: [u8; 3] = [178, 180, 184];

fn isometry_of(pose: &urdf_rs::Pose) -> Isometry3<f64> {
    let [x, y, z] = pose.xyz.0;
    let [r, p, yw] = pose.rpy.0;
    Isometry3::from_parts(
        Translation3::new(x, y, z),
        UnitQuaternion::from_euler_angles(r, p, yw),
    )
}

/// Where the geometry of `link` (of the description's own tree) sits in `target`: the nearest
/// link at or above it through fixed joints that `target` has, and the pose in that link.
fn placement(
    source: &RobotModel,
    target: &RobotModel,
    link: &str,
) -> Option<(String, Isometry3<f64>)> {
    let mut current = source.link_index(link).ok()?;
    let mut pose = Isometry3::identity();
    loop {
        let name = &source.links()[current].name;
        if target.link_index(name).is_ok() {
            return Some((name.clone(), pose));
        }
        let joint = &source.joints()[source.links()[current].parent_joint?];
        if joint.kind.is_movable() {
            return None;
        }
        pose = joint.origin * pose;
        current = joint.parent;
    }
}

/// The visual meshes of a URDF description, in the frames of `target`'s links (the same
/// robot's model; for a bundled robot generated from the manufacturer's description, links the
/// library lacks are moved to the nearest one above them through fixed joints). Meshes resolve
/// like collision meshes ([`MeshSource`]); a visual that cannot be read is replaced by the
/// link's collision meshes, and said in [`RobotVisuals::notes`].
pub fn from_urdf(
    urdf_text: &str,
    meshes: &MeshSource,
    target: &RobotModel,
    options: &VisualOptions,
) -> Result<RobotVisuals, String> {
    let urdf = urdf_rs::read_from_string(urdf_text).map_err(|e| format!("URDF: {e}"))?;
    let source = RobotModel::from_urdf(&urdf).map_err(|e| format!("URDF: {e}"))?;
    let materials: Vec<(String, [f64; 3])> = urdf
        .materials
        .iter()
        .filter_map(|m| {
            let c = m.color.as_ref()?;
            Some((m.name.clone(), [c.rgba.0[0], c.rgba.0[1], c.rgba.0[2]]))
        })
        .collect();
    let material_rgb = |m: &Option<urdf_rs::Material>| -> Option<[u8; 3]> {
        let m = m.as_ref()?;
        if let Some(c) = &m.color {
            return Some(rgb_of([c.rgba.0[0], c.rgba.0[1], c.rgba.0[2]]));
        }
        materials
            .iter()
            .find(|(n, _)| !m.name.is_empty() && *n == m.name)
            .map(|(_, c)| rgb_of(*c))
    };
    let dir = meshes
        .urdf_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let mut search = meshes.package_path.clone();
    search.extend(cella_collision::mesh::package_path_from_env());
    let mut raw: Vec<RawPart> = Vec::new();
    let mut notes = Vec::new();
    for link in &urdf.links {
        if link.visual.is_empty() {
            continue;
        }
        let Some((target_link, in_target)) = placement(&source, target, &link.name) else {
            notes.push(format!(
                "link '{}': not in the robot's model, its visual is not drawn",
                link.name
            ));
            continue;
        };
        let mut failed = Vec::new();
        let mut parts = Vec::new();
        for v in &link.visual {
            let frame = in_target * isometry_of(&v.origin);
            let rgb = material_rgb(&v.material);
            match geometry_parts(&v.geometry, &frame, &dir, &search) {
                Ok(ps) => parts.extend(ps.into_iter().map(|(c, mesh)| (c.or(rgb), mesh))),
                Err(e) => failed.push(e),
            }
        }
        if !failed.is_empty() {
            // the link's real collision meshes stand in for a visual that cannot be read
            let mut stand_in = Vec::new();
            for c in &link.collision {
                let frame = in_target * isometry_of(&c.origin);
                if let Ok(ps) = geometry_parts(&c.geometry, &frame, &dir, &search) {
                    stand_in.extend(ps.into_iter().map(|(_, m)| (None, m)));
                }
            }
            let instead = if stand_in.is_empty() {
                "not drawn"
            } else {
                "drawn with its collision mesh"
            };
            notes.push(format!(
                "link '{}': {}; {instead}",
                link.name,
                failed.join("; ")
            ));
            if parts.is_empty() {
                parts = stand_in;
            }
        }
        for (rgb, mesh) in parts {
            let rgb = rgb.unwrap_or(GREY);
            match raw
                .iter_mut()
                .find(|p| p.link == target_link && p.rgb == rgb)
            {
                Some(p) => p.mesh.extend(&mesh),
                None => raw.push(RawPart {
                    link: target_link.clone(),
                    rgb,
                    mesh,
                }),
            }
        }
    }
    Ok(RobotVisuals {
        parts: reduce(raw, options),
        notes,
    })
}

/// Welds, then decimates every part to its share of the budget (by surface area), and encodes.
fn reduce(raw: Vec<RawPart>, options: &VisualOptions) -> Vec<BundlePart> {
    let welded: Vec<(RawPart, f64)> = raw
        .into_iter()
        .map(|p| {
            let mesh = decimate::weld(&p.mesh.vertices, &p.mesh.triangles, 1e-6);
            let area = mesh.area();
            (RawPart { mesh, ..p }, area)
        })
        .filter(|(p, _)| !p.mesh.triangles.is_empty())
        .collect();
    let total: f64 = welded.iter().map(|(_, a)| a).sum();
    welded
        .into_iter()
        .map(|(p, area)| {
            let share = if total > 0.0 { area / total } else { 0.0 };
            let target =
                ((options.triangle_budget as f64 * share) as usize).max(options.part_minimum);
            let mesh = decimate::decimate(&p.mesh, target, options.tolerance);
            BundlePart {
                link: p.link,
                rgb: p.rgb,
                mesh: meshcode::encode(&mesh),
            }
        })
        .collect()
}

/// A mesh with the colour its file gives, if any.
type ColouredPart = (Option<[u8; 3]>, IndexedMesh);

/// The meshes of one `<visual>` or `<collision>` geometry in the target link frame, with the
/// colour the mesh file gives (COLLADA materials).
fn geometry_parts(
    geometry: &urdf_rs::Geometry,
    frame: &Isometry3<f64>,
    dir: &Path,
    search: &[PathBuf],
) -> Result<Vec<ColouredPart>, String> {
    let place = |m: &Matrix4<f64>, points: &[Point3<f64>]| -> Vec<[f64; 3]> {
        points
            .iter()
            .map(|p| {
                let q = m.transform_point(p);
                [q.x, q.y, q.z]
            })
            .collect()
    };
    let frame_m = frame.to_homogeneous();
    match geometry {
        urdf_rs::Geometry::Mesh { filename, scale } => {
            let s = scale.as_ref().map_or([1.0; 3], |v| v.0);
            let m = frame_m * Matrix4::new_nonuniform_scaling(&Vector3::new(s[0], s[1], s[2]));
            let path = cella_collision::mesh::resolve_mesh_uri(filename, dir, search)
                .map_err(|e| e.to_string())?;
            let is_dae = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("dae"));
            if is_dae {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("mesh file '{}': {e}", path.display()))?;
                let parts = collada::parse_collada(&text, &path.display().to_string())?;
                Ok(parts
                    .into_iter()
                    .map(|p| {
                        let rgb = p.color.map(|c| rgb_of(c.map(f64::from)));
                        (
                            rgb,
                            IndexedMesh {
                                vertices: place(&m, &p.vertices),
                                triangles: p.triangles,
                            },
                        )
                    })
                    .collect())
            } else {
                let mesh = cella_collision::mesh::load_mesh(&path).map_err(|e| e.to_string())?;
                Ok(vec![(
                    None,
                    IndexedMesh {
                        vertices: place(&m, &mesh.vertices),
                        triangles: mesh.triangles,
                    },
                )])
            }
        }
        urdf_rs::Geometry::Box { size } => {
            let h = size.0.map(|v| v / 2.0);
            Ok(vec![(None, transformed(&primitive_box(h), &frame_m))])
        }
        urdf_rs::Geometry::Cylinder { radius, length } => Ok(vec![(
            None,
            transformed(&primitive_round(*radius, length / 2.0, false), &frame_m),
        )]),
        urdf_rs::Geometry::Capsule { radius, length } => Ok(vec![(
            None,
            transformed(&primitive_round(*radius, length / 2.0, true), &frame_m),
        )]),
        urdf_rs::Geometry::Sphere { radius } => Ok(vec![(
            None,
            transformed(&primitive_round(*radius, 0.0, true), &frame_m),
        )]),
    }
}

fn transformed(mesh: &IndexedMesh, m: &Matrix4<f64>) -> IndexedMesh {
    IndexedMesh {
        vertices: mesh
            .vertices
            .iter()
            .map(|v| {
                let p = m.transform_point(&Point3::new(v[0], v[1], v[2]));
                [p.x, p.y, p.z]
            })
            .collect(),
        triangles: mesh.triangles.clone(),
    }
}

/// A box of half extents `h`, centred.
pub fn primitive_box(h: [f64; 3]) -> IndexedMesh {
    let vertices = (0..8)
        .map(|k| {
            [
                if k & 1 != 0 { h[0] } else { -h[0] },
                if k & 2 != 0 { h[1] } else { -h[1] },
                if k & 4 != 0 { h[2] } else { -h[2] },
            ]
        })
        .collect();
    let triangles = vec![
        [0, 2, 1],
        [1, 2, 3],
        [4, 5, 6],
        [5, 7, 6],
        [0, 1, 4],
        [1, 5, 4],
        [2, 6, 3],
        [3, 6, 7],
        [0, 4, 2],
        [2, 4, 6],
        [1, 3, 5],
        [3, 7, 5],
    ];
    IndexedMesh {
        vertices,
        triangles,
    }
}

/// A cylinder (flat caps) or a capsule (round caps; a sphere when `half_length` is 0) along z.
pub fn primitive_round(radius: f64, half_length: f64, round: bool) -> IndexedMesh {
    const SEG: usize = 24;
    const CAP_RINGS: usize = 6;
    let mut rings: Vec<(f64, f64)> = Vec::new(); // (z, ring radius)
    if round {
        for i in 0..=CAP_RINGS {
            let a = std::f64::consts::FRAC_PI_2 * i as f64 / CAP_RINGS as f64;
            rings.push((half_length + radius * a.cos(), radius * a.sin()));
        }
        for i in (0..=CAP_RINGS).rev() {
            let a = std::f64::consts::FRAC_PI_2 * i as f64 / CAP_RINGS as f64;
            rings.push((-half_length - radius * a.cos(), radius * a.sin()));
        }
    } else {
        rings.extend([
            (half_length, 0.0),
            (half_length, radius),
            (-half_length, radius),
            (-half_length, 0.0),
        ]);
    }
    let mut vertices = Vec::new();
    for &(z, r) in &rings {
        for j in 0..SEG {
            let a = 2.0 * std::f64::consts::PI * j as f64 / SEG as f64;
            vertices.push([r * a.cos(), r * a.sin(), z]);
        }
    }
    let mut triangles = Vec::new();
    for i in 0..rings.len() - 1 {
        for j in 0..SEG {
            let a = (i * SEG + j) as u32;
            let b = (i * SEG + (j + 1) % SEG) as u32;
            let c = a + SEG as u32;
            let d = b + SEG as u32;
            triangles.push([a, c, b]);
            triangles.push([b, c, d]);
        }
    }
    // rings of radius 0 make degenerate triangles: welding drops them
    decimate::weld(&vertices, &triangles, 1e-9)
}
