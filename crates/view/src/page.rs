//! The page: `viewer/template.html` with the style sheet, three.js (`viewer/vendor`, bundled
//! from npm by `viewer/update-vendor.sh`, with its licence), the page code and the data
//! embedded, so that one file opens offline and makes no request.

use crate::motion::{ClearanceData, RefusalData, TrajectoryData};
use crate::scene::Scene;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../viewer/template.html");
const CSS: &str = include_str!("../../../viewer/viewer.css");
const PLOT_JS: &str = include_str!("../../../viewer/plot.js");
const VIEWER_JS: &str = include_str!("../../../viewer/viewer.js");
const BENCH_JS: &str = include_str!("../../../viewer/bench.js");
const THREE_JS: &str = include_str!("../../../viewer/vendor/three.min.js");
const THREE_LICENSE: &str = include_str!("../../../viewer/vendor/three.LICENSE");

/// What the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A trajectory, animated, with its clearance and joint plots.
    Motion,
    /// A refused plan: the offending state and its colliding pairs.
    Refused,
    /// The scene at rest.
    Scene,
    /// The cell live from a server (`cella serve --http`).
    Live,
}

/// Where a live page reads the cell from (paths relative to the page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveData {
    /// Server-sent events of the robots' states.
    pub events: String,
    /// The world's objects, as JSON (re-read when the world version changes).
    pub world: String,
    /// The world version the embedded scene shows.
    pub version: u64,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageData {
    /// Format of this JSON.
    pub format: &'static str,
    /// Title (problem or cell name).
    pub title: String,
    /// One line under the title.
    pub subtitle: String,
    /// What is shown.
    pub mode: Mode,
    /// Robots, world and meshes.
    pub scene: Scene,
    /// The trajectory ([`Mode::Motion`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trajectory: Option<TrajectoryData>,
    /// The clearance along it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearance: Option<ClearanceData>,
    /// The refusal ([`Mode::Refused`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalData>,
    /// The live feed ([`Mode::Live`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveData>,
    /// The program that wrote the page.
    pub generator: String,
}

impl PageData {
    /// A page of `scene` in `mode`, with nothing else yet.
    pub fn new(mode: Mode, title: &str, scene: Scene) -> Self {
        Self {
            format: "cella-view/v1",
            title: title.to_owned(),
            subtitle: String::new(),
            mode,
            scene,
            trajectory: None,
            clearance: None,
            refusal: None,
            live: None,
            generator: format!("cella {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// JSON text safe inside `<script type="application/json">`: every `<` escaped (it only occurs
/// in strings), so no `</script>` or `<!--` can end the element.
pub fn json_for_script(value: &impl Serialize) -> String {
    // serializing plain data (strings, finite numbers, vectors) cannot fail; non-finite
    // numbers become null
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

/// Script text safe inside `<script>`: `</script` (any case) broken as `<\/script`, which reads
/// the same in JavaScript strings and regular expressions.
fn script_text(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let lower = js.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find("</script") {
        out.push_str(&js[at..at + i]);
        out.push_str("<\\/");
        at += i + 2;
    }
    out.push_str(&js[at..]);
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Fills the template's `{{NAME}}` slots in one pass (a value containing `{{` stays as it is).
fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + slots.iter().map(|s| s.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) => {
                let name = &after[..j];
                match slots.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push_str("{{");
                        out.push_str(name);
                        out.push_str("}}");
                    }
                }
                rest = &after[j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn licence_comment() -> String {
    format!(
        "<!-- three.js (https://threejs.org), embedded below:\n{}-->",
        THREE_LICENSE.replace("--", "- -")
    )
}

/// The viewer page of `data`: one HTML file.
pub fn render(data: &PageData) -> String {
    let scripts = format!(
        "{}\n<script>{}</script>\n<script>{}</script>\n<script>{}</script>",
        licence_comment(),
        script_text(THREE_JS),
        script_text(PLOT_JS),
        script_text(VIEWER_JS)
    );
    fill(
        TEMPLATE,
        &[
            ("TITLE", &escape_html(&data.title)),
            ("CSS", &CSS.replace("</", "<\\/")),
            ("DATA", &json_for_script(data)),
            ("SCRIPTS", &scripts),
        ],
    )
}

/// A benchmark report page: `report` is the JSON `cella bench --out` writes (per problem and per
/// scene); tables and distributions are drawn by the page (no three.js in it).
pub fn render_bench(title: &str, report: &serde_json::Value) -> String {
    let data = serde_json::json!({
        "format": "cella-bench-report/v1",
        "mode": "bench",
        "title": title,
        "report": report,
        "generator": format!("cella {}", env!("CARGO_PKG_VERSION")),
    });
    let scripts = format!(
        "<script>{}</script>\n<script>{}</script>",
        script_text(PLOT_JS),
        script_text(BENCH_JS)
    );
    fill(
        TEMPLATE,
        &[
            ("TITLE", &escape_html(title)),
            ("CSS", &CSS.replace("</", "<\\/")),
            ("DATA", &json_for_script(&data)),
            ("SCRIPTS", &scripts),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_text_cannot_end_its_element() {
        assert_eq!(
            json_for_script(&serde_json::json!({"name": "</script><!--"})),
            r#"{"name":"\u003c/script>\u003c!--"}"#
        );
        assert_eq!(script_text("a='</SCRIPT>'"), "a='<\\/SCRIPT>'");
        assert_eq!(
            fill("{{A}}-{{B}}-{{C", &[("A", "{{B}}"), ("B", "b")]),
            "{{B}}-b-{{C"
        );
        assert_eq!(escape_html("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn the_vendored_library_is_three_with_its_licence() {
        assert!(
            THREE_JS.starts_with("/* three.js "),
            "viewer/vendor/three.min.js"
        );
        assert!(THREE_JS.contains("var THREE="));
        assert!(THREE_LICENSE.contains("MIT License"));
        assert!(!THREE_JS.to_ascii_lowercase().contains("</script"));
    }
}
