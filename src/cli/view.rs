//! `cella view`: one self-contained HTML page of a problem or a cell, with a trajectory
//! animated (its clearance measured along it, its joint series against the limits); and the
//! pages `cella plan --html`, `cella bench --html` and `cella serve --http` show.

use super::error::{CliError, CliResult};
use super::output::line;
use cella::problem::Problem;
use cella::trajectory_file::TrajectoryFile;
use cella_cell::{CellFile, CellSnapshot};
use cella_collision::{Checker, MeshSource};
use cella_planning::PlanningError;
use cella_view::motion::{self, Samples};
use cella_view::page::{self, LiveData, Mode, PageData};
use cella_view::scene::{self, SceneBuilder};
use std::path::{Path, PathBuf};

/// Arguments of `cella view`.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Problem file (`peer-bench-problem/v1` JSON): its robot, obstacles, start and goals.
    #[arg(long, conflicts_with = "cell", required_unless_present = "cell")]
    pub problem: Option<PathBuf>,
    /// Cell file (TOML): its robots and objects.
    #[arg(long)]
    pub cell: Option<PathBuf>,
    /// With --cell: the id of the robot the trajectory moves (needed when the cell has
    /// several); the others are shown at their joints.
    #[arg(long, requires = "cell")]
    pub robot: Option<String>,
    /// Trajectory file (as `cella plan --out` writes it). Without it the scene is shown at
    /// rest.
    #[arg(long)]
    pub trajectory: Option<PathBuf>,
    /// The HTML file to write (one file: it opens offline and makes no request).
    #[arg(long)]
    pub out: PathBuf,
}

/// A trajectory file's samples for the page.
pub fn samples_of(file: &TrajectoryFile) -> Samples {
    let all = |f: fn(&cella::trajectory_file::TrajectoryPoint) -> Option<&Vec<f64>>| {
        file.points
            .iter()
            .map(|p| f(p).cloned())
            .collect::<Option<Vec<_>>>()
    };
    Samples {
        t: file.points.iter().map(|p| p.t).collect(),
        q: file.points.iter().map(|p| p.q.clone()).collect(),
        qd: all(|p| p.qd.as_ref()),
        qdd: all(|p| p.qdd.as_ref()),
    }
}

/// The URDF a problem file names (`"urdf"`), with where its meshes resolve.
fn problem_urdf(path: &Path) -> Option<(String, MeshSource)> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let urdf = value.get("urdf")?.as_str()?;
    let urdf_path = path.parent().unwrap_or(Path::new(".")).join(urdf);
    let text = std::fs::read_to_string(&urdf_path).ok()?;
    Some((
        text,
        MeshSource {
            urdf_dir: urdf_path.parent().map(Path::to_path_buf),
            package_path: Vec::new(),
        },
    ))
}

/// What a problem's page shows.
pub enum ProblemContent<'a> {
    /// The problem's robot at its start.
    Scene,
    /// A trajectory (named in the subtitle).
    Motion(&'a Samples, &'a str),
    /// A refused plan.
    Refused(&'a PlanningError),
}

fn input(e: impl std::fmt::Display) -> CliError {
    CliError::Input(e.to_string())
}

/// The page of a problem (`path`: its file, for a robot given by URDF).
pub fn problem_page(
    problem: &Problem,
    path: Option<&Path>,
    content: ProblemContent<'_>,
) -> Result<PageData, CliError> {
    let geometry = &problem.geometry;
    let model = geometry.robot().name().to_owned();
    let urdf = path.and_then(problem_urdf);
    let visuals = scene::visuals_of(
        &model,
        geometry,
        urdf.as_ref().map(|(t, m)| (t.as_str(), m)),
    );
    let mut builder = SceneBuilder::new();
    builder
        .add_robot(
            &model,
            &model,
            geometry,
            &problem.base,
            &problem.start,
            &visuals,
        )
        .map_err(input)?;
    let scene = builder.finish(&problem.world);
    let checker =
        Checker::new(geometry.clone(), problem.base, &problem.world, &[]).map_err(input)?;
    let title = problem.name.clone();
    let scene_note = if problem.scene.is_empty() {
        String::new()
    } else {
        format!(", scene {}", problem.scene)
    };
    let page = match content {
        ProblemContent::Scene => {
            let mut p = PageData::new(Mode::Scene, &title, scene);
            p.subtitle = format!("{model}{scene_note}: the start state");
            p
        }
        ProblemContent::Motion(samples, label) => {
            samples
                .validate(geometry.robot().chain().dof())
                .map_err(input)?;
            let mut p = PageData::new(Mode::Motion, &title, scene);
            p.subtitle = format!("{model}{scene_note}: {label}");
            p.trajectory = Some(motion::trajectory_data(0, samples).map_err(input)?);
            p.clearance = Some(motion::clearance_data(
                &checker,
                samples,
                problem.world.padding(),
            ));
            p
        }
        ProblemContent::Refused(error) => {
            let (kind, state) = offending_state(problem, error);
            let mut p = PageData::new(Mode::Refused, &title, scene);
            p.subtitle = format!("{model}{scene_note}: no plan");
            p.refusal = Some(motion::refusal_data(
                &checker,
                0,
                &error.to_string(),
                kind,
                &state,
                &problem.goals,
            ));
            p
        }
    };
    Ok(page)
}

/// Which state a refusal is about: the start, the (first) goal in collision or outside the
/// limits, or the start when no path was found.
fn offending_state(problem: &Problem, error: &PlanningError) -> (&'static str, Vec<f64>) {
    let chain = problem.geometry.robot().chain();
    let first_goal = problem
        .goals
        .first()
        .cloned()
        .unwrap_or_else(|| problem.start.clone());
    match error {
        PlanningError::StartInCollision { .. } => ("start", problem.start.clone()),
        PlanningError::GoalInCollision { .. } => ("goal", first_goal),
        PlanningError::OutOfLimits { field, .. } if field.starts_with("start") => {
            ("limits", problem.start.clone())
        }
        PlanningError::OutOfLimits { .. } => (
            "limits",
            problem
                .goals
                .iter()
                .find(|g| !chain.within_limits(g))
                .cloned()
                .unwrap_or(first_goal),
        ),
        _ => ("no_path", problem.start.clone()),
    }
}

/// Writes a page (`what` names the flag in errors); returns its size in bytes.
pub fn write_page(path: &Path, html: &str, what: &str) -> Result<usize, CliError> {
    std::fs::write(path, html)
        .map_err(|e| CliError::Input(format!("{what} {}: {e}", path.display())))?;
    Ok(html.len())
}

fn kb(bytes: usize) -> String {
    format!("{:.0} kB", bytes as f64 / 1000.0)
}

/// One line saying what a page shows.
fn summary(page: &PageData) -> String {
    let mut s = format!("{} ({})", page.title, page.subtitle);
    if let Some(t) = &page.trajectory {
        s.push_str(&format!(", {:.3} s", t.duration));
    }
    if let Some(c) = &page.clearance
        && let Some(k) = c.min
        && let (Some(Some(d)), Some(&pair)) = (c.d.get(k), c.pair.get(k))
        && let Some([a, b]) = c.pairs.get(pair as usize)
    {
        s.push_str(&format!(
            ", closest {:.1} mm ({a} \u{2194} {b}) at {:.3} s",
            d * 1000.0,
            c.t[k]
        ));
    }
    if let Some(r) = &page.refusal {
        s.push_str(&format!(": {}", r.reason));
    }
    s
}

fn read_cell(
    path: &Path,
) -> Result<(CellFile, std::sync::Arc<CellSnapshot>, Option<PathBuf>), CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--cell {}: {e}", path.display()))?;
    let label = path.display().to_string();
    let file = CellFile::parse(&text).map_err(|e| format!("{label}: {e}"))?;
    let dir = path.parent().map(Path::to_path_buf);
    let cell = file
        .build(dir.as_deref())
        .map_err(|e| format!("{label}: {e}"))?;
    Ok((file, cell, dir))
}

/// Runs `cella view`.
pub fn run(a: &ViewArgs) -> CliResult {
    let trajectory = match &a.trajectory {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--trajectory {}: {e}", path.display()))?;
            let file = TrajectoryFile::from_json(&text)
                .map_err(|e| format!("--trajectory {}: {e}", path.display()))?;
            Some((file, path.display().to_string()))
        }
        None => None,
    };
    let page = if let Some(problem_path) = &a.problem {
        let problem = Problem::from_file(problem_path).map_err(|e| e.to_string())?;
        match &trajectory {
            Some((file, label)) => {
                check_joint_names(&file.joint_names, &problem.joint_names, label)?;
                let samples = samples_of(file);
                problem_page(
                    &problem,
                    Some(problem_path),
                    ProblemContent::Motion(&samples, label),
                )?
            }
            None => problem_page(&problem, Some(problem_path), ProblemContent::Scene)?,
        }
    } else {
        let cell_path = a.cell.as_ref().ok_or("--problem or --cell is required")?;
        let (file, cell, dir) = read_cell(cell_path)?;
        match &trajectory {
            Some((traj, label)) => {
                let id = match (&a.robot, cell.robots.as_slice()) {
                    (Some(id), _) => id.clone(),
                    (None, [only]) => only.id.clone(),
                    (None, robots) => {
                        return Err(format!(
                            "--robot: the cell has several robots ({}); name the one the trajectory moves",
                            robots.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
                        )
                        .into());
                    }
                };
                let robot = cell.robot(&id).map_err(|e| format!("--robot {id}: {e}"))?;
                let names: Vec<String> = robot
                    .geometry
                    .robot()
                    .chain()
                    .joint_names()
                    .map(str::to_owned)
                    .collect();
                check_joint_names(&traj.joint_names, &names, label)?;
                let samples = samples_of(traj);
                cella_view::cell_page(
                    &file.name,
                    &cell,
                    dir.as_deref(),
                    Some(cella_view::RobotMotion {
                        robot: &id,
                        samples: &samples,
                        label,
                    }),
                )
                .map_err(input)?
            }
            None => {
                cella_view::cell_page(&file.name, &cell, dir.as_deref(), None).map_err(input)?
            }
        }
    };
    let html = page::render(&page);
    let size = write_page(&a.out, &html, "--out")?;
    line(format!(
        "{}: {}, {}",
        a.out.display(),
        kb(size),
        summary(&page)
    ));
    Ok(())
}

fn check_joint_names(got: &[String], want: &[String], label: &str) -> CliResult {
    if got == want {
        Ok(())
    } else {
        Err(CliError::Input(format!(
            "{label}: joint_names {got:?} are not the robot's group joints {want:?}"
        )))
    }
}

/// `cella plan --html`: the page of a solved plan, or of a refused one.
pub fn plan_page(
    path: &Path,
    problem: &Problem,
    trajectory: Option<&TrajectoryFile>,
    error: Option<&PlanningError>,
    html: &Path,
) -> CliResult {
    let page = match (trajectory, error) {
        (Some(file), _) => {
            let samples = samples_of(file);
            problem_page(
                problem,
                Some(path),
                ProblemContent::Motion(&samples, "planned by cella"),
            )?
        }
        (None, Some(e)) => problem_page(problem, Some(path), ProblemContent::Refused(e))?,
        (None, None) => problem_page(problem, Some(path), ProblemContent::Scene)?,
    };
    write_page(html, &page::render(&page), "--html")?;
    Ok(())
}

/// `cella bench --html`: the report page of `report` (the JSON `--out` writes).
pub fn bench_page(dir: &Path, report: &serde_json::Value, html: &Path) -> CliResult {
    let title = format!("cella bench {}", dir.display());
    write_page(html, &page::render_bench(&title, report), "--html")?;
    Ok(())
}

/// The live page of a cell served by `cella serve --http`: the cell as it is now, reading the
/// robots' states from `events` and the world from `world` (paths on the same server).
pub fn live_page(name: &str, cell: &CellSnapshot, dir: Option<&Path>) -> Result<String, CliError> {
    let scene = scene::cell_scene(cell, dir).map_err(input)?;
    let mut p = PageData::new(Mode::Live, name, scene);
    p.subtitle = format!("{} robots, live from cella serve", cell.robots.len());
    p.live = Some(LiveData {
        events: "events".into(),
        world: "world".into(),
        version: cell.version,
    });
    Ok(page::render(&p))
}
