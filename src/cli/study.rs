//! `cella study`: sample a study's variants, evaluate them on every core with a progress bar
//! on stderr, rank them, print the ranked table and write the results and the report.

use super::error::{CliError, CliResult};
use super::output::line;
use cella_study::{Progress, Results, Study, evaluate_all, thread_count, variants, write_report};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `cella study`.
#[derive(Debug, clap::Args)]
pub struct StudyArgs {
    /// The study file (TOML: a cell template with parameters, sampling, targets, task,
    /// requirements, ranking).
    pub study: PathBuf,
    /// Write every variant's result and the ranking to this JSON file
    /// (`cella-study-results/v1`; the same bytes for the same study and seed, wherever the
    /// variants ran).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the report (one self-contained HTML file) here, and the best variant's cell file
    /// and per-robot trajectory files to `<NAME>_best/` beside it.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Threads evaluating variants (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Rows of the ranked table to print (0: all).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// Runs `cella study`. Exit code 1 when no variant is feasible (the files are written).
pub fn run(a: &StudyArgs) -> CliResult {
    let study = Study::from_file(&a.study).map_err(|e| e.to_string())?;
    let all = variants(&study).map_err(|e| e.to_string())?;
    let threads = thread_count(a.threads).min(all.len().max(1));
    eprintln!(
        "{}: {} variants ({} sampling, seed {}) on {threads} threads",
        study.name,
        all.len(),
        study.method.name(),
        study.seed
    );
    let began = Instant::now();
    let results = evaluate_all(&study, &all, a.threads, |p| progress(&p, &began));
    eprintln!();
    let results = Results::new(&study, results, all.len()).map_err(|e| e.to_string())?;
    if let Some(path) = &a.out {
        std::fs::write(path, results.to_json())
            .map_err(|e| format!("--out {}: {e}", path.display()))?;
    }
    if let Some(path) = &a.html {
        write_report(&study, &results, path).map_err(|e| format!("--html: {e}"))?;
    }
    for row in results.table(a.top) {
        line(row);
    }
    line(format!(
        "{} of {} variants feasible; {:.1} s on {threads} threads",
        results.feasible(),
        results.results.len(),
        began.elapsed().as_secs_f64()
    ));
    match results.best() {
        Some(_) => Ok(()),
        None => Err(CliError::Refused(format!(
            "{}: no variant is feasible",
            study.name
        ))),
    }
}

fn progress(p: &Progress, began: &Instant) {
    const WIDTH: usize = 30;
    let filled = p.done * WIDTH / p.total.max(1);
    eprint!(
        "\r[{}{}] {}/{} variants, {} feasible, {:.0} s",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled),
        p.done,
        p.total,
        p.feasible,
        began.elapsed().as_secs_f64()
    );
}
