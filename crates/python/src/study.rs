//! `cella.Study`: the study engine of `cella study` (the `cella-study` crate) from Python:
//! variants, their evaluation (any subset, on local threads, the GIL released: what a Ray
//! task runs), ranking, the table and the report. Results cross as JSON text, so a Ray task
//! returns plain strings; `cella.study` wraps them.

use crate::errors::Error;
use cella_study::{
    Progress, Results, Study, Variant, VariantResult, evaluate_all, variants, write_report,
};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// A study read and checked, with its variants drawn.
#[pyclass(module = "cella", name = "Study", frozen)]
pub struct PyStudy {
    study: Arc<Study>,
    variants: Arc<Vec<Variant>>,
}

impl PyStudy {
    fn of(study: Study) -> Result<Self, Error> {
        let variants = variants(&study)?;
        Ok(Self {
            study: Arc::new(study),
            variants: Arc::new(variants),
        })
    }

    fn results(&self, json: &str) -> Result<Results, Error> {
        Ok(Results::from_json(&self.study, json, self.variants.len())?)
    }
}

#[pymethods]
impl PyStudy {
    /// Reads a study file (`STUDY.toml`).
    #[new]
    fn py_new(path: PathBuf) -> PyResult<Self> {
        Ok(Self::of(Study::from_file(&path).map_err(Error::from)?)?)
    }

    /// Study text; `base_dir` resolves its relative paths (what a remote worker gets:
    /// `portable_text` and `base_dir` of a study read elsewhere).
    #[staticmethod]
    #[pyo3(signature = (text, base_dir=None))]
    fn from_text(text: &str, base_dir: Option<PathBuf>) -> PyResult<Self> {
        Ok(Self::of(
            Study::parse(text, base_dir.as_deref()).map_err(Error::from)?,
        )?)
    }

    /// The study's name.
    #[getter]
    fn name(&self) -> String {
        self.study.name.clone()
    }

    /// The study's seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.study.seed
    }

    /// The sampling method: `grid`, `random` or `lhs`.
    #[getter]
    fn method(&self) -> &'static str {
        self.study.method.name()
    }

    /// What ranks first: `cycle_time`, `min_clearance` or `joint_margin`.
    #[getter]
    fn objective(&self) -> &'static str {
        self.study.objective.name()
    }

    /// The study as self-contained text (a `cell_file` inlined).
    #[getter]
    fn portable_text(&self) -> String {
        self.study.portable_text().to_owned()
    }

    /// The directory its relative paths resolve against.
    #[getter]
    fn base_dir(&self) -> Option<PathBuf> {
        self.study.base_dir().map(PathBuf::from)
    }

    /// Number of variants.
    #[getter]
    fn variant_count(&self) -> usize {
        self.variants.len()
    }

    fn __len__(&self) -> usize {
        self.variants.len()
    }

    /// The variants as JSON: `[{"index", "seed", "values": {name: value}}]`.
    fn variants_json(&self) -> String {
        serde_json::to_string(&*self.variants).unwrap_or_default()
    }

    /// Evaluates the variants `indices` (default: all) on `threads` threads (0: one per
    /// core), the GIL released; their results as JSON text (a list, in the order given).
    /// Each result depends on the study and the variant's index alone.
    #[pyo3(signature = (indices=None, threads=0))]
    fn evaluate_json(
        &self,
        py: Python<'_>,
        indices: Option<Vec<usize>>,
        threads: usize,
    ) -> PyResult<String> {
        let chosen: Vec<Variant> = match indices {
            None => self.variants.to_vec(),
            Some(ix) => ix
                .iter()
                .map(|&i| {
                    self.variants.get(i).cloned().ok_or_else(|| {
                        Error::invalid(
                            "indices",
                            format!(
                                "variant {i} does not exist ({} variants)",
                                self.variants.len()
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let study = self.study.clone();
        let results: Vec<VariantResult> =
            py.detach(move || evaluate_all(&study, &chosen, threads, |_| {}));
        Ok(serde_json::to_string(&results).unwrap_or_default())
    }

    /// Ranks the results of every variant (JSON text of a list, in any order, as
    /// `evaluate_json` returns them, concatenated): the results document (JSON text),
    /// refused when a variant is missing, repeated or from another study.
    fn rank_json(&self, results: &str) -> PyResult<String> {
        let list: Vec<VariantResult> =
            serde_json::from_str(results).map_err(|e| Error::invalid("results", e.to_string()))?;
        let ranked = Results::new(&self.study, list, self.variants.len()).map_err(Error::from)?;
        Ok(ranked.to_json())
    }

    /// Evaluates every variant on `threads` local threads (0: one per core) and ranks them:
    /// the results document (JSON text). `progress(done, total, feasible)` is called after
    /// each variant.
    #[pyo3(signature = (threads=0, progress=None))]
    fn run_json(
        &self,
        py: Python<'_>,
        threads: usize,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        let study = self.study.clone();
        let all = self.variants.clone();
        let results = py.detach(move || {
            evaluate_all(&study, &all, threads, |p: Progress| {
                if let Some(f) = &progress {
                    Python::attach(|py| {
                        // a failing callback does not stop the study
                        let _ = f.call1(py, (p.done, p.total, p.feasible));
                    });
                }
            })
        });
        let ranked =
            Results::new(&self.study, results, self.variants.len()).map_err(Error::from)?;
        Ok(ranked.to_json())
    }

    /// The ranked table of a results document, as text lines (the first `top`; 0: all).
    #[pyo3(signature = (results, top=10))]
    fn table(&self, results: &str, top: usize) -> PyResult<Vec<String>> {
        Ok(self.results(results)?.table(top))
    }

    /// Writes the HTML report of a results document to `html` (the first-ranked variant
    /// evaluated again for its cycle) and its data to `<NAME>_best/`; the files written.
    fn report(&self, py: Python<'_>, results: &str, html: PathBuf) -> PyResult<Vec<PathBuf>> {
        let results = self.results(results)?;
        let study = self.study.clone();
        Ok(py
            .detach(move || write_report(&study, &results, &html))
            .map_err(Error::from)?)
    }

    fn __repr__(&self) -> String {
        format!(
            "Study('{}', {} variants, {} sampling, seed {})",
            self.study.name,
            self.variants.len(),
            self.study.method.name(),
            self.study.seed
        )
    }
}
