//! Triangle meshes from files: binary and ASCII STL, Wavefront OBJ; COLLADA is refused with a
//! message saying how to convert. Vertices are in the file's units (URDF meshes: metres).

use cella_kinematics::error::Shared;
use nalgebra::Point3;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A triangle mesh: vertices (metres, in the mesh file's frame) and vertex-index triples.
#[derive(Debug, Clone, PartialEq)]
pub struct TriMesh {
    /// Vertex positions.
    pub vertices: Vec<Point3<f64>>,
    /// Triangles as indices into `vertices`.
    pub triangles: Vec<[u32; 3]>,
}

/// Why a mesh could not be found or read. Every variant names the file or URI.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MeshError {
    /// A `package://` URI whose package is on no search path.
    #[error(
        "mesh '{uri}': package '{package}' not found (searched: {searched}); set CELLA_PACKAGE_PATH or pass --package-path"
    )]
    PackageNotFound {
        /// The URI.
        uri: String,
        /// The package name.
        package: String,
        /// The directories searched.
        searched: String,
    },
    /// The file does not exist.
    #[error("mesh file '{0}' does not exist")]
    Missing(String),
    /// The file could not be read.
    #[error("mesh file '{path}' cannot be read: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// The operating-system error.
        #[source]
        source: Shared<std::io::Error>,
    },
    /// The file's format is not supported.
    #[error("mesh file '{path}': {reason}")]
    Unsupported {
        /// The file.
        path: String,
        /// What to do instead.
        reason: String,
    },
    /// The content is malformed.
    #[error("mesh file '{path}' is malformed: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong (line or triangle number where known).
        reason: String,
    },
}

/// Directories listed in `CELLA_PACKAGE_PATH` then `ROS_PACKAGE_PATH` (colon-separated).
pub fn package_path_from_env() -> Vec<PathBuf> {
    ["CELLA_PACKAGE_PATH", "ROS_PACKAGE_PATH"]
        .iter()
        .filter_map(std::env::var_os)
        .flat_map(|v| std::env::split_paths(&v).collect::<Vec<_>>())
        .filter(|p| !p.as_os_str().is_empty())
        .collect()
}

/// Resolves a URDF mesh `filename` to a file path.
///
/// - `package://pkg/rest`: `<dir>/pkg/rest` for each `dir` in `search` then in `urdf_dir`
///   (first existing wins), or `<dir>/rest` when `dir` itself is the package directory `pkg`;
/// - `file:///abs/path`: the absolute path;
/// - anything else: relative to `urdf_dir`.
pub fn resolve_mesh_uri(
    uri: &str,
    urdf_dir: &Path,
    search: &[PathBuf],
) -> Result<PathBuf, MeshError> {
    if let Some(rest) = uri.strip_prefix("package://") {
        let (package, inner) = rest.split_once('/').unwrap_or((rest, ""));
        let dirs: Vec<&Path> = search
            .iter()
            .map(PathBuf::as_path)
            .chain(std::iter::once(urdf_dir))
            .collect();
        for dir in &dirs {
            let candidate = dir.join(package).join(inner);
            if candidate.is_file() {
                return Ok(candidate);
            }
            if dir.file_name().is_some_and(|n| n == package) && dir.join(inner).is_file() {
                return Ok(dir.join(inner));
            }
        }
        return Err(MeshError::PackageNotFound {
            uri: uri.to_owned(),
            package: package.to_owned(),
            searched: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        });
    }
    let path = match uri.strip_prefix("file://") {
        Some(abs) => PathBuf::from(abs),
        None => urdf_dir.join(uri),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(MeshError::Missing(path.display().to_string()))
    }
}

/// Loads a mesh file, choosing the format by extension (case-insensitive).
pub fn load_mesh(path: &Path) -> Result<TriMesh, MeshError> {
    let name = path.display().to_string();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "dae" {
        return Err(MeshError::Unsupported {
            path: name,
            reason: "COLLADA (.dae) is not supported for collision geometry; convert it to STL, e.g. `assimp export in.dae out.stl` or with MeshLab, and point the URDF <collision> at the STL".into(),
        });
    }
    if !path.exists() {
        return Err(MeshError::Missing(name));
    }
    let bytes = std::fs::read(path).map_err(|e| MeshError::Unreadable {
        path: name.clone(),
        source: e.into(),
    })?;
    let mesh = match ext.as_str() {
        "stl" => parse_stl(&bytes, &name)?,
        "obj" => parse_obj(&bytes, &name)?,
        other => {
            return Err(MeshError::Unsupported {
                path: name,
                reason: format!("unknown mesh format '.{other}' (use STL or OBJ)"),
            });
        }
    };
    if mesh.triangles.is_empty() {
        return Err(MeshError::Malformed {
            path: name,
            reason: "no triangles".into(),
        });
    }
    if let Some(i) = mesh
        .vertices
        .iter()
        .position(|v| !v.coords.iter().all(|c| c.is_finite()))
    {
        return Err(MeshError::Malformed {
            path: name,
            reason: format!("vertex {i} is not finite"),
        });
    }
    Ok(mesh)
}

/// Parses STL bytes: binary when the size matches the triangle count in the header (some binary
/// files start with "solid" too), ASCII otherwise.
pub fn parse_stl(bytes: &[u8], name: &str) -> Result<TriMesh, MeshError> {
    if bytes.len() >= 84 {
        let n = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]) as usize;
        if n.checked_mul(50).and_then(|b| b.checked_add(84)) == Some(bytes.len()) {
            let mut vertices = Vec::with_capacity(3 * n);
            let mut triangles = Vec::with_capacity(n);
            for t in 0..n {
                let base = 84 + 50 * t + 12;
                for k in 0..3 {
                    let f = |o: usize| {
                        let i = base + 12 * k + 4 * o;
                        f64::from(f32::from_le_bytes([
                            bytes[i],
                            bytes[i + 1],
                            bytes[i + 2],
                            bytes[i + 3],
                        ]))
                    };
                    vertices.push(Point3::new(f(0), f(1), f(2)));
                }
                let i = (3 * t) as u32;
                triangles.push([i, i + 1, i + 2]);
            }
            return Ok(TriMesh {
                vertices,
                triangles,
            });
        }
    }
    let text = std::str::from_utf8(bytes).map_err(|_| MeshError::Malformed {
        path: name.to_owned(),
        reason: "neither a binary STL (size does not match its triangle count) nor ASCII text"
            .into(),
    })?;
    if !text.trim_start().starts_with("solid") {
        return Err(MeshError::Malformed {
            path: name.to_owned(),
            reason: "truncated binary STL or not an STL file".into(),
        });
    }
    let mut vertices = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let mut it = line.split_whitespace();
        if it.next() != Some("vertex") {
            continue;
        }
        let mut c = [0.0; 3];
        for v in &mut c {
            *v = it
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| MeshError::Malformed {
                    path: name.to_owned(),
                    reason: format!("line {}: bad vertex", line_no + 1),
                })?;
        }
        vertices.push(Point3::new(c[0], c[1], c[2]));
    }
    if vertices.len() % 3 != 0 {
        return Err(MeshError::Malformed {
            path: name.to_owned(),
            reason: "vertex count is not a multiple of 3".into(),
        });
    }
    let triangles = (0..vertices.len() as u32 / 3)
        .map(|t| [3 * t, 3 * t + 1, 3 * t + 2])
        .collect();
    Ok(TriMesh {
        vertices,
        triangles,
    })
}

/// Parses Wavefront OBJ bytes: `v` and `f` lines (polygons as fans, negative indices allowed).
pub fn parse_obj(bytes: &[u8], name: &str) -> Result<TriMesh, MeshError> {
    let bad = |line: usize, what: &str| MeshError::Malformed {
        path: name.to_owned(),
        reason: format!("line {line}: {what}"),
    };
    let text = String::from_utf8_lossy(bytes);
    let mut vertices = Vec::new();
    let mut triangles = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut it = line.split_whitespace();
        match it.next() {
            Some("v") => {
                let mut c = [0.0; 3];
                for v in &mut c {
                    *v = it
                        .next()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| bad(line_no, "bad vertex"))?;
                }
                vertices.push(Point3::new(c[0], c[1], c[2]));
            }
            Some("f") => {
                let mut idx = Vec::new();
                for tok in it {
                    let first = tok.split('/').next().unwrap_or("");
                    let k: i64 = first.parse().map_err(|_| bad(line_no, "bad face index"))?;
                    let n = vertices.len() as i64;
                    let abs = if k < 0 { n + k } else { k - 1 };
                    if abs < 0 || abs >= n {
                        return Err(bad(
                            line_no,
                            &format!("face index {k} out of range (1..={n})"),
                        ));
                    }
                    idx.push(abs as u32);
                }
                if idx.len() < 3 {
                    return Err(bad(line_no, "face with fewer than 3 vertices"));
                }
                for k in 1..idx.len() - 1 {
                    triangles.push([idx[0], idx[k], idx[k + 1]]);
                }
            }
            _ => {}
        }
    }
    Ok(TriMesh {
        vertices,
        triangles,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cella_mesh_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn binary_stl(tris: &[[[f32; 3]; 3]], header: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 80];
        b[..header.len()].copy_from_slice(header);
        b.extend((tris.len() as u32).to_le_bytes());
        for t in tris {
            b.extend([0u8; 12]);
            for v in t {
                for c in v {
                    b.extend(c.to_le_bytes());
                }
            }
            b.extend([0u8; 2]);
        }
        b
    }

    const TRI: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.5]];

    #[test]
    fn binary_stl_even_with_solid_header() {
        let p = tmp("a.stl", &binary_stl(&[TRI, TRI], b"solid but binary"));
        let m = load_mesh(&p).unwrap();
        assert_eq!(m.triangles.len(), 2);
        assert_eq!(m.vertices[2], Point3::new(0.0, 1.0, 0.5));
    }

    #[test]
    fn ascii_stl() {
        let text = "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0.25\nendloop\nendfacet\nendsolid t\n";
        let m = load_mesh(&tmp("b.STL", text.as_bytes())).unwrap();
        assert_eq!(m.vertices.len(), 3);
        assert_eq!(m.vertices[2].z, 0.25);
    }

    #[test]
    fn obj_with_quads_and_negative_indices() {
        let text = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\nf -4/1 -3/2 -2/3\n";
        let m = load_mesh(&tmp("c.obj", text.as_bytes())).unwrap();
        assert_eq!(m.triangles, vec![[0, 1, 2], [0, 2, 3], [0, 1, 2]]);
        let e = load_mesh(&tmp("d.obj", b"v 0 0 0\nf 1 2 3\n")).unwrap_err();
        assert!(
            e.to_string().contains("line 2: face index 2 out of range"),
            "{e}"
        );
    }

    #[test]
    fn broken_files_are_named_errors() {
        let mut truncated = binary_stl(&[TRI, TRI], b"bin");
        truncated.truncate(120);
        let e = load_mesh(&tmp("t.stl", &truncated)).unwrap_err();
        assert!(
            matches!(e, MeshError::Malformed { .. }) && e.to_string().contains("t.stl"),
            "{e}"
        );
        let nan = binary_stl(
            &[[[f32::NAN, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]],
            b"x",
        );
        let e = load_mesh(&tmp("n.stl", &nan)).unwrap_err();
        assert!(e.to_string().contains("vertex 0 is not finite"), "{e}");
        let e = load_mesh(&tmp("v.dae", b"<COLLADA/>")).unwrap_err();
        assert!(e.to_string().contains("assimp export"), "{e}");
        let e = load_mesh(Path::new("/nonexistent/x.stl")).unwrap_err();
        assert_eq!(e, MeshError::Missing("/nonexistent/x.stl".into()));
    }

    #[test]
    fn package_uris_resolve_through_the_search_path() {
        let dir = std::env::temp_dir().join(format!("cella_mesh_{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkgroot/my_pkg/meshes")).unwrap();
        std::fs::write(
            dir.join("pkgroot/my_pkg/meshes/m.stl"),
            binary_stl(&[TRI], b"x"),
        )
        .unwrap();
        let found = resolve_mesh_uri(
            "package://my_pkg/meshes/m.stl",
            Path::new("/nowhere"),
            &[dir.join("pkgroot")],
        )
        .unwrap();
        assert!(found.ends_with("my_pkg/meshes/m.stl"));
        // The package directory itself on the path.
        let found = resolve_mesh_uri(
            "package://my_pkg/meshes/m.stl",
            Path::new("/nowhere"),
            &[dir.join("pkgroot/my_pkg")],
        )
        .unwrap();
        assert!(found.is_file());
        let e = resolve_mesh_uri(
            "package://other_pkg/m.stl",
            Path::new("/nowhere"),
            std::slice::from_ref(&dir),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("package 'other_pkg' not found"),
            "{e}"
        );
        assert!(resolve_mesh_uri("meshes/m.stl", &dir.join("pkgroot/my_pkg"), &[]).is_ok());
    }
}
