//! The study report: one self-contained HTML file (no script, no request: inline SVG and
//! CSS) with the ranking and the best variant's cycle (a top view of the cell with the TCP
//! paths, a timeline of every motion, each robot's joint positions), and the best variant's
//! data next to it for a viewer: its cell file and one trajectory file per robot (the format
//! of `cella plan --out`), over the whole cycle.

use crate::error::{Result, StudyError};
use crate::evaluate::{Cycle, VariantResult, evaluate_cycle, shape_text};
use crate::rank::{Results, short};
use crate::sample::variants;
use crate::spec::Study;
use cella_collision::{Shape, WorldObject};
use nalgebra::{Point3, Vector3};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const ROBOT_COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
const JOINT_COLORS: [&str; 8] = [
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d", "#79706e",
];

fn kind_color(kind: &str) -> &'static str {
    match kind {
        "ptp" => "#4c78a8",
        "lin" => "#f58518",
        "free" => "#54a24b",
        _ => "#bab0ac",
    }
}

/// `text` safe inside HTML text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The directory of the best variant's data next to `html`: `report.html` →
/// `report_best/`.
pub fn data_dir(html: &Path) -> PathBuf {
    let stem = html
        .file_stem()
        .map_or_else(|| "report".to_owned(), |s| s.to_string_lossy().into_owned());
    html.with_file_name(format!("{stem}_best"))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| StudyError::Write {
        file: path.display().to_string(),
        source,
    })
}

/// A trajectory file (`{"joint_names": [...], "points": [{"t", "q", "qd", "qdd"}]}`).
fn trajectory_json(names: &[String], s: &cella_trajectory::SampledTrajectory) -> String {
    let points: Vec<serde_json::Value> = (0..s.len())
        .map(|k| {
            serde_json::json!({
                "t": s.times[k], "q": s.q_at(k), "qd": s.qd_at(k), "qdd": s.qdd_at(k)
            })
        })
        .collect();
    serde_json::json!({ "joint_names": names, "points": points }).to_string()
}

/// A sampled trajectory as the viewer takes it.
fn samples(s: &cella_trajectory::SampledTrajectory) -> cella_view::Samples {
    let rows = |f: &dyn Fn(usize) -> Vec<f64>| (0..s.len()).map(f).collect::<Vec<_>>();
    cella_view::Samples {
        t: s.times.clone(),
        q: rows(&|k| s.q_at(k).to_vec()),
        qd: Some(rows(&|k| s.qd_at(k).to_vec())),
        qdd: Some(rows(&|k| s.qdd_at(k).to_vec())),
    }
}

/// Writes the report to `html` and the shown variant's data to [`data_dir`]`(html)`: the
/// first-ranked variant is evaluated again (results are deterministic) to get its cycle.
/// Returns the files written.
pub fn write_report(study: &Study, results: &Results, html: &Path) -> Result<Vec<PathBuf>> {
    let shown = results.ranking.first().copied();
    let cycle = match shown {
        Some(i) => {
            let all = variants(study)?;
            let v = all.get(i).ok_or_else(|| StudyError::Results {
                reason: format!("variant {i} is not a variant of the study"),
            })?;
            evaluate_cycle(study, v).1
        }
        None => None,
    };
    let mut files = Vec::new();
    let mut links = Vec::new();
    if let Some(c) = &cycle {
        let dir = data_dir(html);
        std::fs::create_dir_all(&dir).map_err(|source| StudyError::Write {
            file: dir.display().to_string(),
            source,
        })?;
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cell = dir.join("cell.toml");
        write(&cell, &c.cell_text)?;
        links.push((format!("{dir_name}/cell.toml"), "cell file".to_owned()));
        files.push(cell);
        for r in &c.robots {
            let path = dir.join(format!("{}.trajectory.json", r.id));
            write(&path, &trajectory_json(&r.joint_names, &r.trajectory))?;
            links.push((
                format!("{dir_name}/{}.trajectory.json", r.id),
                format!("trajectory of '{}' over the whole cycle", r.id),
            ));
            files.push(path);
        }
        // the viewer's page of each robot's cycle, with the cell's objects: the other robots
        // move too and the page animates one robot, so they are left out of it (the clearance
        // between the robots over the cycle is the report's)
        for r in &c.robots {
            let path = dir.join(format!("{}.html", r.id));
            let label = format!(
                "variant {}, the whole cycle; clearance to the cell's objects",
                shown.unwrap_or_default()
            );
            let alone = cella_cell::CellSnapshot {
                robots: c
                    .cell
                    .robots
                    .iter()
                    .filter(|o| o.id == r.id)
                    .cloned()
                    .collect(),
                ..(*c.cell).clone()
            };
            let page = cella_view::cell_page(
                &study.name,
                &alone,
                study.base_dir(),
                Some(cella_view::RobotMotion {
                    robot: &r.id,
                    samples: &samples(&r.trajectory),
                    label: &label,
                }),
            )
            .map_err(|source| StudyError::View {
                robot: r.id.clone(),
                source,
            })?;
            write(&path, &cella_view::page::render(&page))?;
            links.push((
                format!("{dir_name}/{}.html", r.id),
                format!("3D view of '{}' moving", r.id),
            ));
            files.push(path);
        }
    }
    write(html, &page(study, results, shown, cycle.as_ref(), &links))?;
    files.insert(0, html.to_path_buf());
    Ok(files)
}

fn metric(v: Option<f64>, scale: f64, digits: usize, unit: &str) -> String {
    v.map_or("-".to_owned(), |v| {
        format!("{:.*} {unit}", digits, v * scale)
    })
}

fn page(
    study: &Study,
    results: &Results,
    shown: Option<usize>,
    cycle: Option<&Cycle>,
    links: &[(String, String)],
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{} - cella study</title><style>{CSS}</style></head><body>\n",
        esc(&study.name)
    );
    let _ = write!(
        h,
        "<h1>{}</h1>\n<p class=\"meta\">{} variants ({} sampling, seed {}), {} feasible; ranked by \
         {}.</p>\n",
        esc(&study.name),
        results.results.len(),
        study.method.name(),
        study.seed,
        results.feasible(),
        study.objective.name()
    );
    if let Some((i, r)) = shown.and_then(|i| Some((i, results.results.get(i)?))) {
        let title = if r.feasible {
            format!("Best variant: {i}")
        } else {
            format!("No variant is feasible; the first ranked: {i}")
        };
        let _ = writeln!(h, "<h2>{}</h2>", esc(&title));
        h.push_str(&variant_summary(r));
        if !links.is_empty() {
            h.push_str("<p>Its data: ");
            let items: Vec<String> = links
                .iter()
                .map(|(href, what)| format!("<a href=\"{}\">{}</a>", esc(href), esc(what)))
                .collect();
            h.push_str(&items.join(", "));
            h.push_str(".</p>\n");
            h.push_str(&viewer_hint(links));
        }
        if let Some(c) = cycle {
            h.push_str("<h3>Top view of the cell</h3>\n");
            h.push_str(&top_view(c));
            h.push_str("<h3>Motions</h3>\n");
            h.push_str(&timeline(c, r));
            h.push_str("<h3>Joint positions</h3>\n");
            for (k, robot) in c.robots.iter().enumerate() {
                h.push_str(&joint_plot(c, k, robot));
            }
            h.push_str(&objects_table(&c.objects));
        }
    }
    h.push_str("<h2>Ranking</h2>\n");
    h.push_str(&ranking_table(results));
    h.push_str("</body></html>\n");
    h
}

/// How to open the data: `cella view` writes one page per robot's trajectory, the other
/// robots shown at their start; `cella serve --cell` serves the cell.
fn viewer_hint(links: &[(String, String)]) -> String {
    let Some((cell, _)) = links.first() else {
        return String::new();
    };
    let mut h = String::from("<pre>");
    for (href, _) in &links[1..] {
        let Some(robot) = href
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".trajectory.json"))
        else {
            continue;
        };
        let _ = writeln!(
            h,
            "cella view --cell {} --robot {} --trajectory {} --out {}.html",
            esc(cell),
            esc(robot),
            esc(href),
            esc(robot)
        );
    }
    let _ = writeln!(h, "cella serve --cell {}", esc(cell));
    h.push_str("</pre>\n");
    h
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;\
text-align:right}th{background:#f0f0f0}td.l,th.l{text-align:left;max-width:40em}tr.best{background:#e8f5e9}\
tr.no{color:#888}.meta{color:#555}svg{border:1px solid #ddd;background:#fff;margin:4px 0}\
.legend span{display:inline-block;margin-right:12px}.sw{display:inline-block;width:12px;\
height:12px;margin-right:4px;vertical-align:middle}";

fn variant_summary(r: &VariantResult) -> String {
    let mut h = String::from("<table><tr><th class=\"l\">parameter</th><th>value</th></tr>\n");
    for (k, v) in &r.parameters {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td></tr>",
            esc(k),
            esc(&v.to_string())
        );
    }
    let rows = [
        ("cycle time", metric(r.cycle_time, 1.0, 3, "s")),
        ("min clearance", metric(r.min_clearance, 1e3, 1, "mm")),
        ("joint-limit margin", metric(r.joint_margin, 1.0, 3, "rad")),
        (
            "every target reachable",
            if r.reachable { "yes" } else { "no" }.into(),
        ),
        (
            "every motion collision-free",
            r.collision_free
                .map_or("not all planned", |b| if b { "yes" } else { "no" })
                .into(),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><td class=\"l\">{k}</td><td>{}</td></tr>", esc(&v));
    }
    h.push_str("</table>\n");
    if let Some(f) = &r.failure {
        let _ = writeln!(h, "<p>Stopped: {}</p>", esc(&f.reason));
    }
    for u in &r.unmet {
        let _ = writeln!(h, "<p>Requirement missed: {}</p>", esc(u));
    }
    h
}

/// Convex hull of 2-D points (monotone chain), counter-clockwise.
fn hull(mut p: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut out: Vec<[f64; 2]> = Vec::new();
    for pass in 0..2 {
        let start = out.len();
        let points: Vec<[f64; 2]> = if pass == 0 {
            p.clone()
        } else {
            p.iter().rev().copied().collect()
        };
        for q in points {
            while out.len() >= start + 2 && cross(out[out.len() - 2], out[out.len() - 1], q) <= 0.0
            {
                out.pop();
            }
            out.push(q);
        }
        out.pop();
    }
    out
}

/// An object's outline seen from above: a circle (centre, radius) or a polygon.
enum Outline {
    Circle([f64; 2], f64),
    Polygon(Vec<[f64; 2]>),
}

fn outline(o: &WorldObject) -> Outline {
    let centre = o.pose.translation.vector;
    let axis = o.pose.rotation * Vector3::z();
    let (half, radius) = match o.shape {
        Shape::Sphere { radius } => return Outline::Circle([centre.x, centre.y], radius),
        Shape::Cylinder {
            radius,
            half_length,
        }
        | Shape::Capsule {
            radius,
            half_length,
        } => {
            if axis.z.abs() > 0.999 {
                return Outline::Circle([centre.x, centre.y], radius);
            }
            ([radius, radius, half_length], radius)
        }
        Shape::Box { half_extents } => (half_extents, 0.0),
    };
    let _ = radius;
    let mut points = Vec::with_capacity(8);
    for sx in [-1.0, 1.0] {
        for sy in [-1.0, 1.0] {
            for sz in [-1.0, 1.0] {
                let p = o.pose * Point3::new(sx * half[0], sy * half[1], sz * half[2]);
                points.push([p.x, p.y]);
            }
        }
    }
    Outline::Polygon(hull(points))
}

/// Maps cell coordinates to the SVG's pixels.
struct Frame {
    x0: f64,
    y1: f64,
    scale: f64,
}

impl Frame {
    fn x(&self, x: f64) -> f64 {
        (x - self.x0) * self.scale + 20.0
    }
    fn y(&self, y: f64) -> f64 {
        (self.y1 - y) * self.scale + 20.0
    }
}

fn top_view(c: &Cycle) -> String {
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    let outlines: Vec<(String, Outline, f64)> = c
        .objects
        .iter()
        .map(|o| {
            let top = o.pose.translation.vector.z + o.shape.bounding_radius();
            (o.name.clone(), outline(o), top)
        })
        .collect();
    for (_, o, _) in &outlines {
        match o {
            Outline::Circle(p, r) => {
                xs.extend([p[0] - r, p[0] + r]);
                ys.extend([p[1] - r, p[1] + r]);
            }
            Outline::Polygon(points) => {
                xs.extend(points.iter().map(|p| p[0]));
                ys.extend(points.iter().map(|p| p[1]));
            }
        }
    }
    for r in &c.robots {
        xs.extend(r.tcp.iter().map(|p| p[0]));
        ys.extend(r.tcp.iter().map(|p| p[1]));
        xs.push(r.base.translation.vector.x);
        ys.push(r.base.translation.vector.y);
    }
    let finite = |v: &[f64], f: fn(f64, f64) -> f64, init: f64| {
        v.iter().copied().filter(|x| x.is_finite()).fold(init, f)
    };
    let (x0, x1) = (
        finite(&xs, f64::min, f64::INFINITY),
        finite(&xs, f64::max, f64::NEG_INFINITY),
    );
    let (y0, y1) = (
        finite(&ys, f64::min, f64::INFINITY),
        finite(&ys, f64::max, f64::NEG_INFINITY),
    );
    if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite()) {
        return String::new();
    }
    let span = (x1 - x0).max(y1 - y0).max(0.1);
    let scale = 760.0 / span;
    let f = Frame { x0, y1, scale };
    let (w, hgt) = ((x1 - x0) * scale + 40.0, (y1 - y0) * scale + 40.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{hgt:.0}\" \
         viewBox=\"0 0 {w:.0} {hgt:.0}\">\n"
    );
    // lower objects first, so what stands on a table is drawn over it
    let mut order: Vec<usize> = (0..outlines.len()).collect();
    order.sort_by(|&a, &b| outlines[a].2.total_cmp(&outlines[b].2));
    for i in order {
        let (name, o, _) = &outlines[i];
        match o {
            Outline::Circle(p, r) => {
                let _ = writeln!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" fill=\"#e6e6e6\" \
                     stroke=\"#888\"><title>{}</title></circle>",
                    f.x(p[0]),
                    f.y(p[1]),
                    r * scale,
                    esc(name)
                );
            }
            Outline::Polygon(points) => {
                let pts: Vec<String> = points
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", f.x(p[0]), f.y(p[1])))
                    .collect();
                let _ = writeln!(
                    s,
                    "<polygon points=\"{}\" fill=\"#f2f2f2\" fill-opacity=\"0.8\" \
                     stroke=\"#888\"><title>{}</title></polygon>",
                    pts.join(" "),
                    esc(name)
                );
            }
        }
    }
    for (k, r) in c.robots.iter().enumerate() {
        let color = ROBOT_COLORS[k % ROBOT_COLORS.len()];
        let pts: Vec<String> = r
            .tcp
            .iter()
            .map(|p| format!("{:.1},{:.1}", f.x(p[0]), f.y(p[1])))
            .collect();
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>",
            pts.join(" ")
        );
        let b = r.base.translation.vector;
        let yaw = r.base.rotation.euler_angles().2;
        let (bx, by) = (f.x(b.x), f.y(b.y));
        let _ = writeln!(
            s,
            "<circle cx=\"{bx:.1}\" cy=\"{by:.1}\" r=\"7\" fill=\"{color}\"/>\
             <line x1=\"{bx:.1}\" y1=\"{by:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\" \
             stroke-width=\"3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" \
             fill=\"{color}\">{}</text>",
            bx + 18.0 * yaw.cos(),
            by - 18.0 * yaw.sin(),
            bx + 9.0,
            by + 18.0,
            esc(&r.id)
        );
    }
    s.push_str(
        "</svg>\n<p class=\"meta\">Seen from above (x to the right, y up): objects in \
                grey, each robot's base (a dot, the line its x axis) and TCP path in its colour.\
                </p>\n",
    );
    s
}

fn timeline(c: &Cycle, r: &VariantResult) -> String {
    let end = c.stages.last().map_or(0.0, |s| s.1).max(1e-3);
    let (left, width, row) = (90.0, 800.0, 30.0);
    let x = |t: f64| left + width * t / end;
    let height = 30.0 + row * c.robots.len() as f64 + 20.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\">\n",
        left + width + 20.0
    );
    let mut previous = 0.0;
    for (name, t) in &c.stages {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"16\" x2=\"{0:.1}\" y2=\"{1:.0}\" stroke=\"#999\" \
             stroke-dasharray=\"3,3\"/><text x=\"{2:.1}\" y=\"12\" font-size=\"11\" \
             text-anchor=\"middle\">{3}</text>",
            x(*t),
            height - 20.0,
            0.5 * (x(previous) + x(*t)),
            esc(&short(name, 24))
        );
        previous = *t;
    }
    for (k, robot) in c.robots.iter().enumerate() {
        let y = 22.0 + row * k as f64;
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\" fill=\"{}\">{}</text>",
            y + 17.0,
            ROBOT_COLORS[k % ROBOT_COLORS.len()],
            esc(&robot.id)
        );
        for m in r.motions.iter().filter(|m| m.robot == robot.id) {
            let (x0, x1) = (x(m.start), x(m.start + m.duration));
            let label = match &m.target {
                Some(t) => format!("{} {t}", m.kind),
                None => m.kind.clone(),
            };
            let _ = writeln!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.0}\" fill=\"{}\" \
                 stroke=\"#fff\"><title>{} ({:.3} s from {:.3} s)</title></rect>",
                (x1 - x0).max(0.5),
                row - 6.0,
                kind_color(&m.kind),
                esc(&label),
                m.duration,
                m.start
            );
            if x1 - x0 > 7.0 * label.len() as f64 {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#fff\">{}</text>",
                    x0 + 3.0,
                    y + 16.0,
                    esc(&label)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{:.0}\" font-size=\"11\">0 s</text><text x=\"{:.0}\" \
         y=\"{:.0}\" font-size=\"11\" text-anchor=\"end\">{end:.3} s</text></svg>",
        height - 4.0,
        left + width,
        height - 4.0
    );
    s.push_str("<p class=\"legend\">");
    for kind in ["ptp", "lin", "free", "dwell"] {
        let _ = write!(
            s,
            "<span><span class=\"sw\" style=\"background:{}\"></span>{kind}</span>",
            kind_color(kind)
        );
    }
    s.push_str("</p>\n");
    s
}

fn joint_plot(c: &Cycle, k: usize, robot: &crate::evaluate::RobotCycle) -> String {
    let t = &robot.trajectory;
    let n = t.dof;
    if t.is_empty() || n == 0 {
        return String::new();
    }
    let end = t.duration().max(1e-3);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in &t.q {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let pad = ((hi - lo) * 0.05).max(0.05);
    let (lo, hi) = (lo - pad, hi + pad);
    let (left, width, height) = (50.0, 820.0, 180.0);
    let x = |s: f64| left + width * s / end;
    let y = |v: f64| 10.0 + height * (hi - v) / (hi - lo);
    let mut s = format!(
        "<p><b style=\"color:{}\">{}</b></p><svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{:.0}\" height=\"{:.0}\">\n",
        ROBOT_COLORS[k % ROBOT_COLORS.len()],
        esc(&robot.id),
        left + width + 20.0,
        height + 30.0
    );
    for (_, st) in &c.stages {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"10\" x2=\"{0:.1}\" y2=\"{1:.0}\" stroke=\"#ccc\" \
             stroke-dasharray=\"3,3\"/>",
            x(*st),
            10.0 + height
        );
    }
    for v in [lo + pad, hi - pad] {
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"10\">{v:.2}</text>",
            y(v) + 3.0
        );
    }
    // at most ~1000 points a line
    let stride = (t.len() / 1000).max(1);
    for j in 0..n {
        let pts: Vec<String> = (0..t.len())
            .step_by(stride)
            .chain(std::iter::once(t.len() - 1))
            .map(|i| format!("{:.1},{:.1}", x(t.times[i]), y(t.q_at(i)[j])))
            .collect();
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\"/>",
            pts.join(" "),
            JOINT_COLORS[j % JOINT_COLORS.len()]
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{:.0}\" font-size=\"10\">0 s</text><text x=\"{:.0}\" \
         y=\"{:.0}\" font-size=\"10\" text-anchor=\"end\">{end:.3} s</text></svg>",
        height + 26.0,
        left + width,
        height + 26.0
    );
    s.push_str("<p class=\"legend\">");
    for (j, name) in robot.joint_names.iter().enumerate() {
        let (lower, upper) = robot.limits.get(j).copied().unwrap_or((f64::NAN, f64::NAN));
        let _ = write!(
            s,
            "<span><span class=\"sw\" style=\"background:{}\"></span>{} [{lower:.2}, \
             {upper:.2}] rad</span>",
            JOINT_COLORS[j % JOINT_COLORS.len()],
            esc(name)
        );
    }
    s.push_str("</p>\n");
    s
}

fn objects_table(objects: &[WorldObject]) -> String {
    let mut h = String::from(
        "<h3>Objects</h3><table><tr><th class=\"l\">name</th><th class=\"l\">shape</th>\
         <th>x</th><th>y</th><th>z</th></tr>\n",
    );
    for o in objects {
        let p = o.pose.translation.vector;
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{:.3}</td><td>{:.3}</td>\
             <td>{:.3}</td></tr>",
            esc(&o.name),
            esc(&shape_text(&o.shape)),
            p.x,
            p.y,
            p.z
        );
    }
    h.push_str("</table>\n");
    h
}

fn ranking_table(results: &Results) -> String {
    let names: Vec<&String> = results
        .results
        .first()
        .map(|r| r.parameters.keys().collect())
        .unwrap_or_default();
    let mut h = String::from(
        "<table><tr><th>rank</th><th>variant</th><th>feasible</th><th>reachable</th>\
         <th>collision-free</th><th>cycle time s</th><th>min clearance mm</th>\
         <th>joint margin rad</th>",
    );
    for n in &names {
        let _ = write!(h, "<th>{}</th>", esc(n));
    }
    h.push_str("<th class=\"l\">why not</th></tr>\n");
    for (rank, &i) in results.ranking.iter().enumerate() {
        let Some(r) = results.results.get(i) else {
            continue;
        };
        let class = if rank == 0 && r.feasible {
            " class=\"best\""
        } else if !r.feasible {
            " class=\"no\""
        } else {
            ""
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let num = |v: Option<f64>, scale: f64, d: usize| {
            v.map_or("-".to_owned(), |v| format!("{:.*}", d, v * scale))
        };
        let _ = write!(
            h,
            "<tr{class}><td>{}</td><td>{i}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td>",
            rank + 1,
            yes(r.feasible),
            yes(r.reachable),
            r.collision_free.map_or("-", yes),
            num(r.cycle_time, 1.0, 3),
            num(r.min_clearance, 1e3, 1),
            num(r.joint_margin, 1.0, 3)
        );
        for n in &names {
            let v = r
                .parameters
                .get(*n)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let _ = write!(h, "<td>{}</td>", esc(&v));
        }
        let mut why = Vec::new();
        if !r.unreachable.is_empty() {
            why.push(format!("out of reach: {}", r.unreachable.join(", ")));
        }
        if let Some(f) = &r.failure {
            why.push(short(&f.reason, 160));
        }
        why.extend(r.unmet.iter().cloned());
        let _ = writeln!(h, "<td class=\"l\">{}</td></tr>", esc(&why.join("; ")));
    }
    h.push_str("</table>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_hulls_are_convex() {
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        let h = hull(vec![
            [0.0, 0.0],
            [1.0, 0.0],
            [1.0, 1.0],
            [0.0, 1.0],
            [0.5, 0.5],
        ]);
        assert_eq!(h.len(), 4);
        assert!(!h.contains(&[0.5, 0.5]));
        assert_eq!(
            data_dir(Path::new("out/report.html")),
            PathBuf::from("out/report_best")
        );
    }
}
