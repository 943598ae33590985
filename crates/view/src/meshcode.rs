//! The compact mesh encoding the page decodes (`viewer.js`, `decodeMesh`), little endian:
//!
//! | bytes | content |
//! |---|---|
//! | 4 + 4 | vertex count `n`, triangle count `m` (u32) |
//! | 12 + 12 | bounding box minimum, and step per unit (f32 × 3 each) |
//! | 6 n | positions quantised to u16 over the box (≤ 1/65535 of its size: 5 µm on 0.3 m) |
//! | 6 m or 12 m | triangle indices, u16 when `n` ≤ 65536, else u32 |
//! | 0-2 | zero padding to a multiple of 4 |
//!
//! and the bundle format of `robots/<name>/visual.bin` (a robot's decimated visual meshes,
//! made by `cargo run -p cella-view --example make_visuals`): `CELLAVIS`, version 1 (u32),
//! the part count (u32), then per part the link name (u16 length + UTF-8), the colour (3 bytes
//! sRGB and a zero byte), and the encoded mesh (u32 length + bytes).

use crate::decimate::IndexedMesh;

/// Encodes a mesh (see the module documentation).
pub fn encode(mesh: &IndexedMesh) -> Vec<u8> {
    let n = mesh.vertices.len();
    let m = mesh.triangles.len();
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for v in &mesh.vertices {
        for k in 0..3 {
            lo[k] = lo[k].min(v[k]);
            hi[k] = hi[k].max(v[k]);
        }
    }
    if n == 0 {
        lo = [0.0; 3];
        hi = [0.0; 3];
    }
    let step: Vec<f32> = (0..3)
        .map(|k| ((hi[k] - lo[k]) / 65535.0).max(0.0) as f32)
        .collect();
    let mut out = Vec::with_capacity(32 + 6 * n + 12 * m);
    out.extend((n as u32).to_le_bytes());
    out.extend((m as u32).to_le_bytes());
    for &v in &lo {
        out.extend((v as f32).to_le_bytes());
    }
    for &s in &step {
        out.extend(s.to_le_bytes());
    }
    for v in &mesh.vertices {
        for k in 0..3 {
            let q = if step[k] > 0.0 {
                ((v[k] - lo[k]) / f64::from(step[k]))
                    .round()
                    .clamp(0.0, 65535.0) as u16
            } else {
                0
            };
            out.extend(q.to_le_bytes());
        }
    }
    let wide = n > 65536;
    for t in &mesh.triangles {
        for &i in t {
            if wide {
                out.extend(i.to_le_bytes());
            } else {
                out.extend((i as u16).to_le_bytes());
            }
        }
    }
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

/// Decodes a mesh [`encode`] wrote (positions dequantised); `None` when malformed.
pub fn decode(bytes: &[u8]) -> Option<IndexedMesh> {
    let u32_at = |o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?))
    };
    let f32_at = |o: usize| -> Option<f32> {
        Some(f32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?))
    };
    let n = u32_at(0)? as usize;
    let m = u32_at(4)? as usize;
    let lo = [f32_at(8)?, f32_at(12)?, f32_at(16)?];
    let step = [f32_at(20)?, f32_at(24)?, f32_at(28)?];
    let mut o = 32;
    let mut vertices = Vec::with_capacity(n.min(bytes.len() / 6));
    for _ in 0..n {
        let mut v = [0.0; 3];
        for k in 0..3 {
            let q = u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?);
            v[k] = f64::from(lo[k]) + f64::from(step[k]) * f64::from(q);
            o += 2;
        }
        vertices.push(v);
    }
    let wide = n > 65536;
    let mut triangles = Vec::with_capacity(m.min(bytes.len() / 6));
    for _ in 0..m {
        let mut t = [0u32; 3];
        for slot in &mut t {
            *slot = if wide {
                let v = u32_at(o)?;
                o += 4;
                v
            } else {
                let v = u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?);
                o += 2;
                u32::from(v)
            };
            if *slot as usize >= n {
                return None;
            }
        }
        triangles.push(t);
    }
    Some(IndexedMesh {
        vertices,
        triangles,
    })
}

/// One part of a bundle: a link's mesh of one colour.
#[derive(Debug, Clone, PartialEq)]
pub struct BundlePart {
    /// Link name.
    pub link: String,
    /// sRGB colour.
    pub rgb: [u8; 3],
    /// The encoded mesh ([`encode`]).
    pub mesh: Vec<u8>,
}

const MAGIC: &[u8; 8] = b"CELLAVIS";

/// Writes a bundle (see the module documentation).
pub fn write_bundle(parts: &[BundlePart]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(MAGIC);
    out.extend(1u32.to_le_bytes());
    out.extend((parts.len() as u32).to_le_bytes());
    for p in parts {
        let name = p.link.as_bytes();
        out.extend((name.len().min(u16::MAX as usize) as u16).to_le_bytes());
        out.extend(&name[..name.len().min(u16::MAX as usize)]);
        out.extend(p.rgb);
        out.push(0);
        out.extend((p.mesh.len() as u32).to_le_bytes());
        out.extend(&p.mesh);
    }
    out
}

/// Reads a bundle; `None` when malformed.
pub fn read_bundle(bytes: &[u8]) -> Option<Vec<BundlePart>> {
    if bytes.get(..8)? != MAGIC {
        return None;
    }
    let u32_at = |o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?))
    };
    if u32_at(8)? != 1 {
        return None;
    }
    let count = u32_at(12)? as usize;
    let mut o = 16;
    let mut parts = Vec::new();
    for _ in 0..count {
        let len = u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?) as usize;
        o += 2;
        let link = String::from_utf8(bytes.get(o..o + len)?.to_vec()).ok()?;
        o += len;
        let rgb = [*bytes.get(o)?, *bytes.get(o + 1)?, *bytes.get(o + 2)?];
        o += 4;
        let mlen = u32_at(o)? as usize;
        o += 4;
        let mesh = bytes.get(o..o.checked_add(mlen)?)?.to_vec();
        o += mlen;
        parts.push(BundlePart { link, rgb, mesh });
    }
    Some(parts)
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn meshes_round_trip_within_the_quantisation_step() {
        let mesh = IndexedMesh {
            vertices: vec![[0.0, 0.0, 0.0], [0.3, 0.0, -0.1], [0.1, 0.2, 0.05]],
            triangles: vec![[0, 1, 2]],
        };
        let bytes = encode(&mesh);
        assert_eq!(bytes.len() % 4, 0);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.triangles, mesh.triangles);
        for (a, b) in back.vertices.iter().zip(&mesh.vertices) {
            for k in 0..3 {
                assert!((a[k] - b[k]).abs() < 5e-6, "{a:?} {b:?}");
            }
        }
        assert!(decode(&bytes[..bytes.len() - 8]).is_none());
        assert!(decode(&[]).is_none());
    }

    #[test]
    fn bundles_round_trip_and_bad_ones_are_refused() {
        let parts = vec![
            BundlePart {
                link: "link_1".into(),
                rgb: [255, 128, 0],
                mesh: vec![1, 2, 3, 4],
            },
            BundlePart {
                link: "tool0".into(),
                rgb: [0, 0, 0],
                mesh: Vec::new(),
            },
        ];
        let bytes = write_bundle(&parts);
        assert_eq!(read_bundle(&bytes).unwrap(), parts);
        assert!(read_bundle(&bytes[..bytes.len() - 1]).is_none());
        assert!(read_bundle(b"CELLAVIS").is_none());
    }

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
