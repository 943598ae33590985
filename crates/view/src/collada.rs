//! COLLADA (`.dae`) visual meshes: the triangles of every geometry the visual scene
//! instantiates, placed by the node transforms, in metres (`<unit meter>`), grouped by the
//! diffuse colour of their material. `<triangles>`, `<polylist>` and `<polygons>` are read
//! (polygons as fans); textures are not (their material counts as uncoloured). `up_axis` is
//! not applied, as robot description tools (RViz, yourdfpy) do not apply it either.

use nalgebra::{Matrix4, Point3, Vector3};
use quick_xml::events::Event;
use std::collections::HashMap;

/// Triangles of one colour: vertices (metres, in the file's frame) and index triples.
#[derive(Debug, Clone, PartialEq)]
pub struct ColoredMesh {
    /// Diffuse colour (linear 0..1 RGB), when the material has one.
    pub color: Option<[f32; 3]>,
    /// Vertex positions.
    pub vertices: Vec<Point3<f64>>,
    /// Triangles as indices into `vertices`.
    pub triangles: Vec<[u32; 3]>,
}

/// Most elements nested in a file (deeper files are refused, not recursed into).
const MAX_DEPTH: usize = 256;
/// Most `<instance_node>` hops followed from one node.
const MAX_INSTANCE_DEPTH: usize = 16;

/// An element of the document: its name, attributes, text and children (indices).
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<usize>,
}

struct Document {
    elements: Vec<Element>,
    ids: HashMap<String, usize>,
}

impl Document {
    fn parse(text: &str) -> Result<Self, String> {
        let mut reader = quick_xml::Reader::from_str(text);
        let mut elements: Vec<Element> = vec![Element {
            name: "#document".into(),
            ..Element::default()
        }];
        let mut stack = vec![0usize];
        let mut ids = HashMap::new();
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
            match event {
                Event::Start(e) => {
                    let index = push_element(&mut elements, &mut ids, &stack, &e);
                    if stack.len() >= MAX_DEPTH {
                        return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                    }
                    stack.push(index);
                }
                Event::Empty(e) => {
                    push_element(&mut elements, &mut ids, &stack, &e);
                }
                Event::End(_) if stack.len() > 1 => {
                    stack.pop();
                }
                Event::Text(t) => {
                    let s = t.decode().map_err(|e| format!("text: {e}"))?;
                    let top = *stack.last().unwrap_or(&0);
                    elements[top].text.push_str(&s);
                }
                Event::CData(t) => {
                    let top = *stack.last().unwrap_or(&0);
                    elements[top]
                        .text
                        .push_str(&String::from_utf8_lossy(t.as_ref()));
                }
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(Self { elements, ids })
    }

    fn el(&self, i: usize) -> &Element {
        &self.elements[i]
    }

    fn attr(&self, i: usize, key: &str) -> Option<&str> {
        self.el(i)
            .attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn children<'a>(&'a self, i: usize, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.el(i)
            .children
            .iter()
            .copied()
            .filter(move |&c| self.el(c).name == name)
    }

    fn child(&self, i: usize, name: &str) -> Option<usize> {
        self.children(i, name).next()
    }

    /// The element a `#id` (or bare id) reference names.
    fn resolve(&self, reference: &str) -> Option<usize> {
        self.ids
            .get(reference.strip_prefix('#').unwrap_or(reference))
            .copied()
    }

    /// All descendants named `name`, depth first.
    fn descendants(&self, i: usize, name: &str, out: &mut Vec<usize>) {
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            for &c in self.el(n).children.iter().rev() {
                if self.el(c).name == name {
                    out.push(c);
                }
                stack.push(c);
            }
        }
        out.reverse();
    }

    fn floats(&self, i: usize) -> Result<Vec<f64>, String> {
        self.el(i)
            .text
            .split_ascii_whitespace()
            .map(|s| {
                s.parse::<f64>()
                    .map_err(|_| format!("<{}>: '{s}' is not a number", self.el(i).name))
            })
            .collect()
    }

    fn ints(&self, i: usize) -> Result<Vec<usize>, String> {
        self.el(i)
            .text
            .split_ascii_whitespace()
            .map(|s| {
                s.parse::<usize>()
                    .map_err(|_| format!("<{}>: '{s}' is not an index", self.el(i).name))
            })
            .collect()
    }
}

/// Appends an element under the top of `stack`; returns its index.
fn push_element(
    elements: &mut Vec<Element>,
    ids: &mut HashMap<String, usize>,
    stack: &[usize],
    e: &quick_xml::events::BytesStart<'_>,
) -> usize {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes().flatten() {
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map(|v| v.into_owned())
            .unwrap_or_default();
        attrs.push((key, value));
    }
    let index = elements.len();
    if let Some((_, id)) = attrs.iter().find(|(k, _)| k == "id") {
        ids.insert(id.clone(), index);
    }
    elements.push(Element {
        name,
        attrs,
        ..Element::default()
    });
    let parent = stack.last().copied().unwrap_or(0);
    elements[parent].children.push(index);
    index
}

/// Reads a COLLADA document: every instantiated geometry's triangles, placed and in metres,
/// merged by colour. `name` labels errors.
pub fn parse_collada(text: &str, name: &str) -> Result<Vec<ColoredMesh>, String> {
    let doc = Document::parse(text).map_err(|e| format!("{name}: {e}"))?;
    let root = doc
        .el(0)
        .children
        .first()
        .copied()
        .filter(|&r| doc.el(r).name == "COLLADA")
        .ok_or_else(|| format!("{name}: not a COLLADA document"))?;
    let meter = doc
        .child(root, "asset")
        .and_then(|a| doc.child(a, "unit"))
        .and_then(|u| doc.attr(u, "meter"))
        .and_then(|m| m.parse::<f64>().ok())
        .filter(|m| m.is_finite() && *m > 0.0)
        .unwrap_or(1.0);
    let mut out = Collector {
        doc: &doc,
        parts: Vec::new(),
        name,
    };
    let unit = Matrix4::new_scaling(meter);
    // the scene's visual scene, else the first one, else every geometry as it is
    let scene = doc
        .child(root, "scene")
        .and_then(|s| doc.child(s, "instance_visual_scene"))
        .and_then(|i| doc.attr(i, "url"))
        .and_then(|u| doc.resolve(u))
        .or_else(|| {
            let mut v = Vec::new();
            doc.descendants(root, "visual_scene", &mut v);
            v.first().copied()
        });
    match scene {
        Some(scene) => {
            for node in doc.children(scene, "node") {
                out.node(node, &unit, 0)?;
            }
        }
        None => {
            let mut geometries = Vec::new();
            doc.descendants(root, "geometry", &mut geometries);
            for g in geometries {
                out.geometry(g, &unit, &HashMap::new())?;
            }
        }
    }
    let mut merged: Vec<ColoredMesh> = Vec::new();
    for part in out.parts {
        if part.triangles.is_empty() {
            continue;
        }
        match merged.iter_mut().find(|m| m.color == part.color) {
            Some(m) => {
                let base = m.vertices.len() as u32;
                m.vertices.extend(part.vertices);
                m.triangles.extend(
                    part.triangles
                        .iter()
                        .map(|t| [t[0] + base, t[1] + base, t[2] + base]),
                );
            }
            None => merged.push(part),
        }
    }
    if merged.is_empty() {
        return Err(format!("{name}: no triangles in the visual scene"));
    }
    Ok(merged)
}

struct Collector<'d> {
    doc: &'d Document,
    parts: Vec<ColoredMesh>,
    name: &'d str,
}

impl Collector<'_> {
    fn err(&self, what: impl std::fmt::Display) -> String {
        format!("{}: {what}", self.name)
    }

    /// A node's transform elements, in order, composed.
    fn node_transform(&self, node: usize) -> Result<Matrix4<f64>, String> {
        let doc = self.doc;
        let mut m = Matrix4::identity();
        for &c in &doc.el(node).children {
            let el = doc.el(c);
            let v = match el.name.as_str() {
                "matrix" | "translate" | "rotate" | "scale" => doc.floats(c)?,
                _ => continue,
            };
            let t = match (el.name.as_str(), v.len()) {
                // row-major in the file
                ("matrix", 16) => Matrix4::from_row_slice(&v),
                ("translate", 3) => Matrix4::new_translation(&Vector3::new(v[0], v[1], v[2])),
                ("rotate", 4) => {
                    let axis = Vector3::new(v[0], v[1], v[2]);
                    if axis.norm() > 0.0 {
                        Matrix4::from_scaled_axis(axis.normalize() * v[3].to_radians())
                    } else {
                        Matrix4::identity()
                    }
                }
                ("scale", 3) => Matrix4::new_nonuniform_scaling(&Vector3::new(v[0], v[1], v[2])),
                (name, n) => return Err(self.err(format!("<{name}> with {n} values"))),
            };
            m *= t;
        }
        if m.iter().all(|v: &f64| v.is_finite()) {
            Ok(m)
        } else {
            Err(self.err("a node transform is not finite"))
        }
    }

    fn node(&mut self, node: usize, parent: &Matrix4<f64>, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(self.err("nodes nested too deep"));
        }
        let doc = self.doc;
        let m = parent * self.node_transform(node)?;
        for g in doc.children(node, "instance_geometry") {
            let Some(geometry) = doc.attr(g, "url").and_then(|u| doc.resolve(u)) else {
                continue;
            };
            // material symbol -> material element
            let mut bindings = HashMap::new();
            let mut instances = Vec::new();
            doc.descendants(g, "instance_material", &mut instances);
            for im in instances {
                if let (Some(symbol), Some(target)) =
                    (doc.attr(im, "symbol"), doc.attr(im, "target"))
                    && let Some(material) = doc.resolve(target)
                {
                    bindings.insert(symbol.to_owned(), material);
                }
            }
            self.geometry(geometry, &m, &bindings)?;
        }
        for child in doc.children(node, "node") {
            self.node(child, &m, depth + 1)?;
        }
        for inst in doc.children(node, "instance_node") {
            if depth + MAX_INSTANCE_DEPTH < MAX_DEPTH
                && let Some(target) = doc.attr(inst, "url").and_then(|u| doc.resolve(u))
            {
                self.node(target, &m, depth + MAX_DEPTH / MAX_INSTANCE_DEPTH)?;
            }
        }
        Ok(())
    }

    /// The diffuse colour of a material element.
    fn material_color(&self, material: usize) -> Option<[f32; 3]> {
        let doc = self.doc;
        let effect = doc
            .child(material, "instance_effect")
            .and_then(|e| doc.attr(e, "url"))
            .and_then(|u| doc.resolve(u))?;
        let mut diffuse = Vec::new();
        doc.descendants(effect, "diffuse", &mut diffuse);
        let color = diffuse
            .into_iter()
            .find_map(|d| doc.child(d, "color"))
            .and_then(|c| doc.floats(c).ok())
            .filter(|v| v.len() >= 3 && v.iter().all(|x| x.is_finite()))?;
        Some([
            color[0].clamp(0.0, 1.0) as f32,
            color[1].clamp(0.0, 1.0) as f32,
            color[2].clamp(0.0, 1.0) as f32,
        ])
    }

    /// The positions of a `<source>` (x, y, z of each accessor element).
    fn positions(&self, source: usize) -> Result<Vec<Point3<f64>>, String> {
        let doc = self.doc;
        let array = doc
            .child(source, "float_array")
            .ok_or_else(|| self.err("a position source without <float_array>"))?;
        let values = doc.floats(array)?;
        let stride = doc
            .child(source, "technique_common")
            .and_then(|t| doc.child(t, "accessor"))
            .and_then(|a| doc.attr(a, "stride"))
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(3)
            .max(3);
        Ok(values
            .chunks_exact(stride)
            .map(|c| Point3::new(c[0], c[1], c[2]))
            .collect())
    }

    fn geometry(
        &mut self,
        geometry: usize,
        m: &Matrix4<f64>,
        bindings: &HashMap<String, usize>,
    ) -> Result<(), String> {
        let doc = self.doc;
        let Some(mesh) = doc.child(geometry, "mesh") else {
            return Ok(()); // splines, convex meshes: nothing to draw
        };
        for &prim in &doc.el(mesh).children {
            let kind = doc.el(prim).name.as_str();
            if !matches!(kind, "triangles" | "polylist" | "polygons") {
                continue;
            }
            // the position source: through <vertices> (VERTEX) or directly (POSITION)
            let mut position_source = None;
            let mut vertex_offset = 0;
            let mut stride = 1;
            for input in doc.children(prim, "input") {
                let offset = doc
                    .attr(input, "offset")
                    .and_then(|o| o.parse::<usize>().ok())
                    .unwrap_or(0);
                stride = stride.max(offset + 1);
                let target = doc.attr(input, "source").and_then(|s| doc.resolve(s));
                match doc.attr(input, "semantic") {
                    Some("VERTEX") => {
                        vertex_offset = offset;
                        position_source = target.and_then(|v| {
                            doc.children(v, "input")
                                .find(|i| doc.attr(*i, "semantic") == Some("POSITION"))
                                .and_then(|i| doc.attr(i, "source"))
                                .and_then(|s| doc.resolve(s))
                        });
                    }
                    Some("POSITION") if position_source.is_none() => {
                        vertex_offset = offset;
                        position_source = target;
                    }
                    _ => {}
                }
            }
            let Some(source) = position_source else {
                return Err(self.err(format!("<{kind}> without positions")));
            };
            let local = self.positions(source)?;
            let vertices: Vec<Point3<f64>> = local.iter().map(|p| m.transform_point(p)).collect();
            let n = vertices.len();
            // polygons as lists of position indices
            let mut polygons: Vec<Vec<usize>> = Vec::new();
            let corner = |p: &[usize], k: usize| p.get(k * stride + vertex_offset).copied();
            match kind {
                "triangles" => {
                    for p in doc.children(prim, "p") {
                        let idx = doc.ints(p)?;
                        let corners = idx.len() / stride;
                        for t in 0..corners / 3 {
                            let tri: Option<Vec<usize>> =
                                (0..3).map(|k| corner(&idx, 3 * t + k)).collect();
                            polygons.extend(tri);
                        }
                    }
                }
                "polylist" => {
                    let counts = match doc.child(prim, "vcount") {
                        Some(v) => doc.ints(v)?,
                        None => Vec::new(),
                    };
                    let idx = match doc.child(prim, "p") {
                        Some(p) => doc.ints(p)?,
                        None => Vec::new(),
                    };
                    let mut at = 0;
                    for c in counts {
                        let poly: Option<Vec<usize>> =
                            (at..at + c).map(|k| corner(&idx, k)).collect();
                        at += c;
                        match poly {
                            Some(p) => polygons.push(p),
                            None => return Err(self.err("<polylist>: <p> shorter than <vcount>")),
                        }
                    }
                }
                _ => {
                    for p in doc.children(prim, "p") {
                        let idx = doc.ints(p)?;
                        let corners = idx.len() / stride;
                        let poly: Option<Vec<usize>> =
                            (0..corners).map(|k| corner(&idx, k)).collect();
                        polygons.extend(poly);
                    }
                }
            }
            let mut triangles = Vec::new();
            for poly in polygons {
                if poly.iter().any(|&i| i >= n) {
                    return Err(self.err(format!(
                        "<{kind}>: a vertex index is beyond the {n} positions"
                    )));
                }
                for k in 1..poly.len().saturating_sub(1) {
                    triangles.push([poly[0] as u32, poly[k] as u32, poly[k + 1] as u32]);
                }
            }
            let color = doc
                .attr(prim, "material")
                .and_then(|s| bindings.get(s).copied().or_else(|| doc.resolve(s)))
                .and_then(|mat| self.material_color(mat));
            self.parts.push(ColoredMesh {
                color,
                vertices,
                triangles,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DAE: &str = r##"<?xml version="1.0" encoding="utf-8"?>
<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1">
  <asset><unit name="millimetre" meter="0.001"/><up_axis>Z_UP</up_axis></asset>
  <library_effects>
    <effect id="red-fx"><profile_COMMON><technique sid="common"><phong>
      <diffuse><color sid="diffuse">1 0 0 1</color></diffuse>
    </phong></technique></profile_COMMON></effect>
  </library_effects>
  <library_materials>
    <material id="red" name="red"><instance_effect url="#red-fx"/></material>
  </library_materials>
  <library_geometries>
    <geometry id="quad-mesh"><mesh>
      <source id="quad-pos"><float_array id="quad-pos-array" count="12">0 0 0 1000 0 0 1000 1000 0 0 1000 0</float_array>
        <technique_common><accessor source="#quad-pos-array" count="4" stride="3"/></technique_common></source>
      <source id="quad-n"><float_array id="quad-n-array" count="3">0 0 1</float_array></source>
      <vertices id="quad-v"><input semantic="POSITION" source="#quad-pos"/></vertices>
      <polylist material="mat0" count="1">
        <input semantic="VERTEX" source="#quad-v" offset="0"/>
        <input semantic="NORMAL" source="#quad-n" offset="1"/>
        <vcount>4</vcount><p>0 0 1 0 2 0 3 0</p>
      </polylist>
      <triangles count="1">
        <input semantic="VERTEX" source="#quad-v" offset="0"/>
        <p>0 1 3</p>
      </triangles>
    </mesh></geometry>
  </library_geometries>
  <library_visual_scenes>
    <visual_scene id="scene">
      <node id="n"><translate>0 0 500</translate>
        <node id="inner"><rotate>0 0 1 90</rotate>
          <instance_geometry url="#quad-mesh"><bind_material><technique_common>
            <instance_material symbol="mat0" target="#red"/>
          </technique_common></bind_material></instance_geometry>
        </node>
      </node>
    </visual_scene>
  </library_visual_scenes>
  <scene><instance_visual_scene url="#scene"/></scene>
</COLLADA>"##;

    #[test]
    fn polylists_and_triangles_are_placed_scaled_and_coloured() {
        let parts = parse_collada(DAE, "t.dae").unwrap();
        assert_eq!(parts.len(), 2, "red and uncoloured");
        let red = parts
            .iter()
            .find(|p| p.color == Some([1.0, 0.0, 0.0]))
            .unwrap();
        assert_eq!(red.triangles, vec![[0, 1, 2], [0, 2, 3]]);
        // (1000, 0, 0) mm turned 90° about z, lifted 500 mm: (0, 1, 0.5) m
        let p = red.vertices[1];
        assert!((p - Point3::new(0.0, 1.0, 0.5)).norm() < 1e-12, "{p}");
        let plain = parts.iter().find(|p| p.color.is_none()).unwrap();
        assert_eq!(plain.triangles.len(), 1);
    }

    #[test]
    fn broken_documents_are_errors_not_panics() {
        for text in [
            "",
            "<notcollada/>",
            "<COLLADA><library_geometries><geometry id=\"g\"><mesh><triangles><p>0 1 2</p></triangles></mesh></geometry></library_geometries></COLLADA>",
            &DAE.replace("0 1 3", "0 1 9"),
            &DAE.replace("<vcount>4</vcount>", "<vcount>9</vcount>"),
            &DAE.replace(
                "<translate>0 0 500</translate>",
                "<translate>0 x 500</translate>",
            ),
            "<COLLADA><a><b>",
        ] {
            assert!(parse_collada(text, "bad.dae").is_err(), "{text}");
        }
    }
}
