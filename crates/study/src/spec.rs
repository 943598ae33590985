//! The study file (`STUDY.toml`): a cell template with parameters, a task, requirements and
//! the ranking objective. Any value of the cell template, the targets and the task may be
//! `"$name"`, a parameter of the study; each variant substitutes its values and reads the
//! result as a cell file (the format of `cells/demo.toml`), targets and a task.
//!
//! ```toml
//! name = "one arm"
//! seed = 7
//! [sampling]
//! method = "lhs"            # grid | random | lhs
//! variants = 8              # random and lhs (grid: the product of the parameters' points)
//! [parameters]
//! x = { range = [-0.1, 0.1] }          # a range (grid: `steps` points, default 3)
//! speed = { values = [0.5, 1.0] }      # a list (numbers, strings, booleans)
//! [cell]                               # the cell file format; "$x" is parameter x
//! name = "table"
//! [[cell.robots]]
//! id = "arm"
//! model = "ur5e"
//! base = { xyz = ["$x", 0.0, 0.0] }
//! [targets]                            # TCP poses in the cell frame, or joint values
//! above = { xyz = [0.4, 0.1, 0.3], rpy = [3.141592653589793, 0.0, 0.0] }
//! [task]
//! velocity_scale = "$speed"
//! [[task.stages]]                      # robots of a stage move at the same time
//! name = "reach"
//! arm = [{ ptp = "above" }, { dwell = 0.2 }, { ptp = "home" }]
//! ```

use crate::error::{Result, StudyError};
use cella_cell::CellFile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Most variants one study may have.
pub const MAX_VARIANTS: usize = 100_000;
/// Most parameters of one study.
pub const MAX_PARAMETERS: usize = 64;
/// Most values of one parameter list, and most grid points of one range.
pub const MAX_VALUES: usize = 10_000;
/// Most stages of a task.
pub const MAX_STAGES: usize = 256;
/// Most moves of one robot in one stage.
pub const MAX_MOVES: usize = 256;

/// A parameter value: what `"$name"` becomes in the templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer (a list of TOML integers keeps them integers: a control period, a count).
    Integer(i64),
    /// A number.
    Float(f64),
    /// A string (a robot model, an object name).
    Text(String),
    /// A boolean.
    Bool(bool),
}

impl Value {
    fn from_toml(field: &str, v: &toml::Value) -> Result<Self> {
        match v {
            toml::Value::Integer(i) => Ok(Self::Integer(*i)),
            toml::Value::Float(f) if f.is_finite() => Ok(Self::Float(*f)),
            toml::Value::String(s) => Ok(Self::Text(s.clone())),
            toml::Value::Boolean(b) => Ok(Self::Bool(*b)),
            other => Err(StudyError::invalid(
                field,
                format!("{other} is not a finite number, a string or a boolean"),
            )),
        }
    }

    fn to_toml(&self) -> toml::Value {
        match self {
            Self::Integer(i) => toml::Value::Integer(*i),
            Self::Float(f) => toml::Value::Float(*f),
            Self::Text(s) => toml::Value::String(s.clone()),
            Self::Bool(b) => toml::Value::Boolean(*b),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Integer(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x:.4}"),
            Self::Text(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// The values a parameter may take.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// Every number in `[low, high]`; a grid takes `steps` evenly spaced points, ends
    /// included (one point: the middle).
    Range {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Grid points.
        steps: usize,
    },
    /// One of these values.
    Values(Vec<Value>),
}

/// A parameter of the study.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Its name: `"$name"` in the templates.
    pub name: String,
    /// Its values.
    pub domain: Domain,
}

/// How variants are drawn from the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every combination: ranges at their grid points, lists at every value.
    Grid,
    /// Each parameter drawn uniformly and independently, `variants` times.
    Random,
    /// Latin hypercube: each parameter's range (or list) cut into `variants` strata, each
    /// stratum used once, strata paired at random between parameters.
    Lhs,
}

impl Method {
    /// Its name in the study file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Grid => "grid",
            Self::Random => "random",
            Self::Lhs => "lhs",
        }
    }
}

/// What the ranking puts first among the variants that meet every requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// The shortest cycle time.
    CycleTime,
    /// The largest smallest clearance.
    MinClearance,
    /// The largest smallest joint-limit margin.
    JointMargin,
}

impl Objective {
    /// Its name in the study file and the results.
    pub fn name(self) -> &'static str {
        match self {
            Self::CycleTime => "cycle_time",
            Self::MinClearance => "min_clearance",
            Self::JointMargin => "joint_margin",
        }
    }
}

/// Bounds a feasible variant keeps (besides every target reachable and every motion
/// collision-free).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Smallest clearance along the whole cycle, m.
    pub min_clearance: Option<f64>,
    /// Smallest distance of any joint to its position limits, rad (m for prismatic joints).
    pub joint_margin: Option<f64>,
    /// Longest cycle time, s.
    pub cycle_time: Option<f64>,
}

/// A target of the task, after substitution: a TCP pose in the cell frame, or joint values.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// TCP position in the cell frame, m.
    pub xyz: Option<[f64; 3]>,
    /// TCP orientation, fixed-axis roll, pitch, yaw, rad (URDF convention).
    #[serde(default)]
    pub rpy: [f64; 3],
    /// Joint values of the robot that goes there (instead of a pose).
    pub joints: Option<Vec<f64>>,
}

/// One instruction of a robot's program.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Move {
    /// Point to point (joint interpolated) to a target or named pose: a TCP pose goes to its
    /// IK solution nearest the robot's state.
    Ptp(String),
    /// The TCP on a straight line to a target (orientation interpolated).
    Lin(String),
    /// A collision-free planned motion to a target (any IK solution of a pose).
    Free(String),
    /// Standing still, s (a gripper closing, a part settling).
    Dwell(f64),
}

impl Move {
    /// `ptp`, `lin`, `free` or `dwell`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ptp(_) => "ptp",
            Self::Lin(_) => "lin",
            Self::Free(_) => "free",
            Self::Dwell(_) => "dwell",
        }
    }

    /// The target it goes to (none for a dwell).
    pub fn target(&self) -> Option<&str> {
        match self {
            Self::Ptp(t) | Self::Lin(t) | Self::Free(t) => Some(t),
            Self::Dwell(_) => None,
        }
    }
}

/// A stage of the task: the robots named move at the same time, each through its moves; the
/// next stage starts when all have ended (a synchronisation point of the cell program).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Stage {
    /// Its name, for reports.
    pub name: String,
    /// Each robot's moves, by robot id.
    #[serde(flatten)]
    pub moves: BTreeMap<String, Vec<Move>>,
}

fn one() -> f64 {
    1.0
}
fn default_period() -> f64 {
    cella_trajectory::DEFAULT_PERIOD
}
fn default_budget() -> f64 {
    10.0
}
fn default_clearance_period() -> f64 {
    0.02
}

/// The task after substitution: how fast, how finely, and the stages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Joint and TCP velocity scaling, (0, 1].
    #[serde(default = "one")]
    pub velocity_scale: f64,
    /// Acceleration scaling, (0, 1] (default: `velocity_scale`).
    pub acceleration_scale: Option<f64>,
    /// Sampling period of the motions, s.
    #[serde(default = "default_period")]
    pub period: f64,
    /// Planning time budget of each free motion, s. Generous on purpose: a search that ends
    /// on the budget would make the result depend on the machine's load.
    #[serde(default = "default_budget")]
    pub time_budget: f64,
    /// Clearance is measured every this many seconds of the cycle (and at every stage end).
    #[serde(default = "default_clearance_period")]
    pub clearance_period: f64,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

/// A variant's concrete inputs: the templates with its values substituted.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The cell file text of the variant (a cell file `cella serve --cell` reads).
    pub cell_text: String,
    /// The cell file.
    pub cell: CellFile,
    /// The targets by name.
    pub targets: BTreeMap<String, Target>,
    /// The task.
    pub task: Task,
}

/// A study, read and checked.
#[derive(Debug, Clone)]
pub struct Study {
    /// Its name.
    pub name: String,
    /// The seed every draw and every plan derives from.
    pub seed: u64,
    /// How variants are drawn.
    pub method: Method,
    /// How many variants random and Latin hypercube sampling draw (grid: the cap).
    pub variants: Option<usize>,
    /// The parameters, by name.
    pub parameters: Vec<Parameter>,
    /// What ranks first.
    pub objective: Objective,
    /// What a feasible variant keeps.
    pub requirements: Requirements,
    cell: toml::Value,
    targets: toml::Value,
    task: toml::Value,
    base_dir: Option<PathBuf>,
    portable: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSampling {
    method: Method,
    variants: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRanking {
    by: Objective,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStudy {
    name: String,
    #[serde(default)]
    seed: u64,
    sampling: RawSampling,
    #[serde(default)]
    parameters: toml::Table,
    cell: Option<toml::Value>,
    cell_file: Option<String>,
    #[serde(default)]
    targets: toml::Table,
    task: toml::Value,
    ranking: Option<RawRanking>,
    #[serde(default)]
    requirements: Requirements,
}

impl Study {
    /// Reads a study file; relative paths in it (`cell_file`, robot models) are relative to
    /// its directory.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| StudyError::Read {
            file: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, path.parent())
    }

    /// Parses study text; `base_dir` resolves relative paths (`cell_file`, robot models).
    /// Every field is checked, and the templates are instantiated for the first variant, so
    /// a malformed cell, target or task is refused here, naming the field.
    pub fn parse(text: &str, base_dir: Option<&Path>) -> Result<Self> {
        let mut table: toml::Table = toml::from_str(text).map_err(StudyError::Syntax)?;
        let raw: RawStudy = table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| StudyError::invalid("study", e.message().to_owned()))?;
        if raw.name.trim().is_empty() {
            return Err(StudyError::invalid("name", "empty"));
        }
        let cell = match (raw.cell, &raw.cell_file) {
            (Some(c), None) => c,
            (None, Some(file)) => {
                let path = base_dir.map_or_else(|| PathBuf::from(file), |d| d.join(file));
                let text = std::fs::read_to_string(&path).map_err(|source| StudyError::Read {
                    file: path.display().to_string(),
                    source,
                })?;
                let value: toml::Table = toml::from_str(&text).map_err(|e| {
                    StudyError::invalid("cell_file", format!("{}: {}", path.display(), e.message()))
                })?;
                // the portable text carries the template itself
                table.remove("cell_file");
                table.insert("cell".into(), toml::Value::Table(value.clone()));
                toml::Value::Table(value)
            }
            _ => {
                return Err(StudyError::invalid(
                    "cell",
                    "give exactly one of [cell] (the template) and cell_file",
                ));
            }
        };
        if raw.parameters.len() > MAX_PARAMETERS {
            return Err(StudyError::invalid(
                "parameters",
                format!(
                    "{} parameters is too many ({MAX_PARAMETERS})",
                    raw.parameters.len()
                ),
            ));
        }
        let mut parameters = Vec::with_capacity(raw.parameters.len());
        for (name, v) in &raw.parameters {
            parameters.push(parameter(name, v)?);
        }
        match (raw.sampling.method, raw.sampling.variants) {
            (Method::Random | Method::Lhs, None) => {
                return Err(StudyError::invalid(
                    "sampling.variants",
                    "random and lhs sampling need the number of variants",
                ));
            }
            (_, Some(n)) if n == 0 || n > MAX_VARIANTS => {
                return Err(StudyError::invalid(
                    "sampling.variants",
                    format!("{n} is not in 1..={MAX_VARIANTS}"),
                ));
            }
            _ => {}
        }
        let requirements = raw.requirements;
        for (field, v) in [
            ("requirements.min_clearance", requirements.min_clearance),
            ("requirements.joint_margin", requirements.joint_margin),
            ("requirements.cycle_time", requirements.cycle_time),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(StudyError::invalid(field, "not a finite number"));
            }
        }
        let portable = toml::to_string(&table)
            .map_err(|e| StudyError::invalid("study", format!("cannot be written back: {e}")))?;
        let study = Self {
            name: raw.name,
            seed: raw.seed,
            method: raw.sampling.method,
            variants: raw.sampling.variants,
            parameters,
            objective: raw.ranking.map_or(Objective::CycleTime, |r| r.by),
            requirements,
            cell,
            targets: toml::Value::Table(raw.targets),
            task: raw.task,
            base_dir: base_dir.map(Path::to_path_buf),
            portable,
        };
        // every template instantiates: the first value of every parameter
        let first: BTreeMap<String, Value> = study
            .parameters
            .iter()
            .map(|p| {
                let v = match &p.domain {
                    Domain::Range { low, .. } => Value::Float(*low),
                    Domain::Values(values) => values[0].clone(),
                };
                (p.name.clone(), v)
            })
            .collect();
        study.instance(&first)?;
        Ok(study)
    }

    /// The study as one self-contained text (a `cell_file` inlined as `[cell]`), which
    /// [`Study::parse`] reads back with the same base directory: what a remote worker gets.
    pub fn portable_text(&self) -> &str {
        &self.portable
    }

    /// The directory relative paths are resolved against.
    pub fn base_dir(&self) -> Option<&Path> {
        self.base_dir.as_deref()
    }

    /// The templates with `values` substituted, read as a cell file, targets and a task.
    /// Errors name the field (`cell.robots[0].base.xyz[1]`, `task.stages[2]`).
    pub fn instance(&self, values: &BTreeMap<String, Value>) -> Result<Instance> {
        let cell_value = substitute("cell", &self.cell, values)?;
        let cell_text = toml::to_string(&cell_value)
            .map_err(|e| StudyError::invalid("cell", format!("cannot be written: {e}")))?;
        let cell: CellFile = cell_value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| StudyError::invalid("cell", e.message().to_owned()))?;
        let targets_value = substitute("targets", &self.targets, values)?;
        let targets: BTreeMap<String, Target> = targets_value
            .try_into()
            .map_err(|e: toml::de::Error| StudyError::invalid("targets", e.message().to_owned()))?;
        for (name, t) in &targets {
            let field = format!("targets.{name}");
            match (&t.xyz, &t.joints) {
                (Some(xyz), None) => finite(&field, xyz.iter().chain(&t.rpy))?,
                (None, Some(q)) => finite(&format!("{field}.joints"), q.iter())?,
                _ => {
                    return Err(StudyError::invalid(
                        field,
                        "give either xyz (and rpy) or joints",
                    ));
                }
            }
        }
        let task: Task = substitute("task", &self.task, values)?
            .try_into()
            .map_err(|e: toml::de::Error| StudyError::invalid("task", e.message().to_owned()))?;
        check_task(&task, &cell)?;
        Ok(Instance {
            cell_text,
            cell,
            targets,
            task,
        })
    }
}

fn finite<'a>(field: &str, values: impl Iterator<Item = &'a f64>) -> Result<()> {
    for (i, v) in values.enumerate() {
        if !v.is_finite() {
            return Err(StudyError::invalid(
                format!("{field}[{i}]"),
                format!("{v} is not finite"),
            ));
        }
    }
    Ok(())
}

fn scale(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(StudyError::invalid(field, format!("{v} is not in (0, 1]")))
    }
}

fn check_task(task: &Task, cell: &CellFile) -> Result<()> {
    scale("task.velocity_scale", task.velocity_scale)?;
    if let Some(a) = task.acceleration_scale {
        scale("task.acceleration_scale", a)?;
    }
    if !(task.period.is_finite() && (0.0005..=1.0).contains(&task.period)) {
        return Err(StudyError::invalid(
            "task.period",
            format!("{} s is not in [0.0005, 1]", task.period),
        ));
    }
    if !(task.time_budget.is_finite() && task.time_budget > 0.0 && task.time_budget <= 600.0) {
        return Err(StudyError::invalid(
            "task.time_budget",
            format!("{} s is not in (0, 600]", task.time_budget),
        ));
    }
    if !(task.clearance_period.is_finite() && task.clearance_period >= task.period) {
        return Err(StudyError::invalid(
            "task.clearance_period",
            format!(
                "{} s is not a finite period of at least task.period",
                task.clearance_period
            ),
        ));
    }
    if task.stages.is_empty() || task.stages.len() > MAX_STAGES {
        return Err(StudyError::invalid(
            "task.stages",
            format!("{} stages (1..={MAX_STAGES})", task.stages.len()),
        ));
    }
    for (i, stage) in task.stages.iter().enumerate() {
        for (robot, moves) in &stage.moves {
            let field = format!("task.stages[{i}].{robot}");
            if !cell.robots.iter().any(|r| &r.id == robot) {
                return Err(StudyError::invalid(
                    field,
                    "no robot of this id in the cell",
                ));
            }
            if moves.len() > MAX_MOVES {
                return Err(StudyError::invalid(
                    field,
                    format!("{} moves is too many ({MAX_MOVES})", moves.len()),
                ));
            }
            for (k, m) in moves.iter().enumerate() {
                if let Move::Dwell(t) = m
                    && !(t.is_finite() && *t >= 0.0 && *t <= cella_trajectory::MAX_DURATION)
                {
                    return Err(StudyError::invalid(
                        format!("{field}[{k}].dwell"),
                        format!("{t} s is not a finite non-negative time"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn parameter(name: &str, v: &toml::Value) -> Result<Parameter> {
    let field = format!("parameters.{name}");
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StudyError::invalid(
            field,
            "a parameter name is letters, digits and _",
        ));
    }
    let values = |field: &str, list: &[toml::Value]| -> Result<Domain> {
        if list.is_empty() || list.len() > MAX_VALUES {
            return Err(StudyError::invalid(
                field,
                format!("{} values (1..={MAX_VALUES})", list.len()),
            ));
        }
        let values = list
            .iter()
            .enumerate()
            .map(|(i, v)| Value::from_toml(&format!("{field}[{i}]"), v))
            .collect::<Result<Vec<_>>>()?;
        Ok(Domain::Values(values))
    };
    let domain = match v {
        toml::Value::Array(list) => values(&field, list)?,
        toml::Value::Table(t) => match (t.get("range"), t.get("values")) {
            (Some(range), None) => {
                for key in t.keys() {
                    if key != "range" && key != "steps" {
                        return Err(StudyError::invalid(
                            format!("{field}.{key}"),
                            "unknown key (range, steps)",
                        ));
                    }
                }
                let number = |v: Option<&toml::Value>| match v {
                    Some(toml::Value::Float(f)) => Some(*f),
                    Some(toml::Value::Integer(i)) => Some(*i as f64),
                    _ => None,
                };
                let (low, high) = match range.as_array().map(Vec::as_slice) {
                    Some([a, b]) => (number(Some(a)), number(Some(b))),
                    _ => (None, None),
                };
                let (Some(low), Some(high)) = (low, high) else {
                    return Err(StudyError::invalid(
                        format!("{field}.range"),
                        "two numbers: [low, high]",
                    ));
                };
                if !(low.is_finite() && high.is_finite() && low <= high) {
                    return Err(StudyError::invalid(
                        format!("{field}.range"),
                        format!("[{low}, {high}] is not a finite range with low <= high"),
                    ));
                }
                let steps = match t.get("steps") {
                    None => 3,
                    Some(toml::Value::Integer(n)) if *n >= 1 && *n as usize <= MAX_VALUES => {
                        *n as usize
                    }
                    Some(other) => {
                        return Err(StudyError::invalid(
                            format!("{field}.steps"),
                            format!("{other} is not an integer in 1..={MAX_VALUES}"),
                        ));
                    }
                };
                Domain::Range { low, high, steps }
            }
            (None, Some(toml::Value::Array(list))) if t.len() == 1 => {
                values(&format!("{field}.values"), list)?
            }
            _ => {
                return Err(StudyError::invalid(
                    field,
                    "{ range = [low, high], steps = n } or { values = [...] }",
                ));
            }
        },
        scalar => Domain::Values(vec![Value::from_toml(&field, scalar)?]),
    };
    Ok(Parameter {
        name: name.to_owned(),
        domain,
    })
}

/// `template` with every string `"$name"` replaced by the value of parameter `name`; a
/// `"$..."` naming no parameter is an error naming the field (`"$$..."` is a literal `$...`).
fn substitute(
    field: &str,
    template: &toml::Value,
    values: &BTreeMap<String, Value>,
) -> Result<toml::Value> {
    Ok(match template {
        toml::Value::String(s) => match s.strip_prefix('$') {
            Some(rest) if rest.starts_with('$') => toml::Value::String(rest.to_owned()),
            Some(name) => values
                .get(name)
                .ok_or_else(|| StudyError::invalid(field, format!("no parameter '{name}'")))?
                .to_toml(),
            None => template.clone(),
        },
        toml::Value::Array(items) => toml::Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| substitute(&format!("{field}[{i}]"), v, values))
                .collect::<Result<_>>()?,
        ),
        toml::Value::Table(t) => toml::Value::Table(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(&format!("{field}.{k}"), v, values)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SMALL: &str = r#"
name = "one arm"
seed = 7
[sampling]
method = "lhs"
variants = 4
[parameters]
x = { range = [-0.1, 0.1] }
speed = [0.5, 1.0]
[cell]
name = "floor"
[[cell.robots]]
id = "arm"
model = "ur5e"
base = { xyz = ["$x", 0.0, 0.0] }
[targets]
above = { xyz = [0.4, 0.1, 0.3], rpy = [3.141592653589793, 0.0, 0.0] }
[task]
velocity_scale = "$speed"
[[task.stages]]
name = "reach"
arm = [{ ptp = "above" }, { dwell = 0.2 }, { ptp = "home" }]
"#;

    #[test]
    fn a_study_reads_and_instantiates_with_its_values() {
        let s = Study::parse(SMALL, None).unwrap();
        assert_eq!(s.parameters.len(), 2);
        let values = BTreeMap::from([
            ("x".to_owned(), Value::Float(0.05)),
            ("speed".to_owned(), Value::Float(0.5)),
        ]);
        let i = s.instance(&values).unwrap();
        assert_eq!(i.cell.robots[0].base.xyz[0], 0.05);
        assert_eq!(i.task.velocity_scale, 0.5);
        assert_eq!(i.task.stages[0].moves["arm"][1], Move::Dwell(0.2));
        assert_eq!(i.targets["above"].xyz, Some([0.4, 0.1, 0.3]));
        // the portable text reads back to the same study
        let back = Study::parse(s.portable_text(), None).unwrap();
        assert_eq!(back.parameters, s.parameters);
        assert_eq!(back.instance(&values).unwrap().cell_text, i.cell_text);
    }

    #[test]
    fn mistakes_name_their_field() {
        let cases = [
            (
                SMALL.replace("\"$x\"", "\"$y\""),
                "cell.robots[0].base.xyz[0]",
            ),
            (
                SMALL.replace("variants = 4", "variants = 0"),
                "sampling.variants",
            ),
            (
                SMALL.replace("[-0.1, 0.1]", "[0.1, -0.1]"),
                "parameters.x.range",
            ),
            (
                SMALL.replace("arm = [", "robot9 = ["),
                "task.stages[0].robot9",
            ),
            (
                SMALL.replace("dwell = 0.2", "dwell = -1.0"),
                "task.stages[0].arm[1].dwell",
            ),
            (SMALL.replace("[0.5, 1.0]", "[2.0]"), "task.velocity_scale"),
            (
                SMALL.replace("rpy = [3.1", "joints = [1.0], rpy = [3.1"),
                "targets.above",
            ),
        ];
        for (text, field) in cases {
            match Study::parse(&text, None) {
                Err(StudyError::Invalid { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            Study::parse("name = ", None),
            Err(StudyError::Syntax(_))
        ));
    }
}
