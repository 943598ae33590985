//! The results document (`results.json`) and the ranking: feasible variants first, by the
//! study's objective, then the variants that completed the task but miss a requirement, then
//! the rest; ties by variant index. Everything in the document follows from the study and its
//! seed (no time of day, no wall time), so a local run and a cluster run write the same bytes.

use crate::error::{Result, StudyError};
use crate::evaluate::VariantResult;
use crate::sample::variant_seed;
use crate::spec::{Method, Objective, Requirements, Study};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The format name of a results document.
pub const RESULTS_FORMAT: &str = "cella-study-results/v1";

/// A study's results, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`RESULTS_FORMAT`].
    pub format: String,
    /// The study's name.
    pub study: String,
    /// The study's seed.
    pub seed: u64,
    /// The sampling method.
    pub method: Method,
    /// What ranks first among the feasible variants.
    pub objective: Objective,
    /// What a feasible variant keeps.
    pub requirements: Requirements,
    /// Variant indices, best first.
    pub ranking: Vec<usize>,
    /// Every variant's result, in index order.
    pub results: Vec<VariantResult>,
}

impl Results {
    /// Ranks `results` (every variant of `study` once, in any order, as [`crate::evaluate()`]
    /// gives them); refused when a variant is missing, repeated or has another seed (results
    /// of another study or seed).
    pub fn new(study: &Study, mut results: Vec<VariantResult>, variants: usize) -> Result<Self> {
        results.sort_by_key(|r| r.index);
        if results.len() != variants {
            return Err(StudyError::Results {
                reason: format!(
                    "{} results for the study's {variants} variants",
                    results.len()
                ),
            });
        }
        for (i, r) in results.iter().enumerate() {
            if r.index != i {
                return Err(StudyError::Results {
                    reason: format!("variant {i} is missing or repeated"),
                });
            }
            if r.seed != variant_seed(study.seed, i) {
                return Err(StudyError::Results {
                    reason: format!("variant {i} has the seed of another study"),
                });
            }
        }
        Ok(Self {
            format: RESULTS_FORMAT.to_owned(),
            study: study.name.clone(),
            seed: study.seed,
            method: study.method,
            objective: study.objective,
            requirements: study.requirements.clone(),
            ranking: ranking(study.objective, &results),
            results,
        })
    }

    /// Reads a results document of `study` (as [`Results::to_json`] writes it), checking
    /// that it is one: its format, every variant once in index order, the ranking a
    /// permutation of them, the seeds of the study.
    pub fn from_json(study: &Study, text: &str, variants: usize) -> Result<Self> {
        let doc: Self = serde_json::from_str(text).map_err(|e| StudyError::Results {
            reason: e.to_string(),
        })?;
        if doc.format != RESULTS_FORMAT {
            return Err(StudyError::Results {
                reason: format!("format '{}' is not {RESULTS_FORMAT}", doc.format),
            });
        }
        let checked = Self::new(study, doc.results.clone(), variants)?;
        let mut ranking = doc.ranking.clone();
        ranking.sort_unstable();
        if ranking != (0..variants).collect::<Vec<_>>() {
            return Err(StudyError::Results {
                reason: "the ranking is not every variant once".into(),
            });
        }
        Ok(Self {
            ranking: doc.ranking,
            ..checked
        })
    }

    /// The document as JSON text (pretty, stable).
    pub fn to_json(&self) -> String {
        // plain data: serialization cannot fail (non-finite numbers become null)
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The best variant, if any is feasible.
    pub fn best(&self) -> Option<&VariantResult> {
        self.ranking
            .first()
            .and_then(|&i| self.results.get(i))
            .filter(|r| r.feasible)
    }

    /// How many variants are feasible.
    pub fn feasible(&self) -> usize {
        self.results.iter().filter(|r| r.feasible).count()
    }

    /// The ranked table as text lines: the first `top` variants (all for 0).
    pub fn table(&self, top: usize) -> Vec<String> {
        let top = if top == 0 { self.ranking.len() } else { top };
        let mut out = vec![format!(
            "{:>4} {:>7} {:>8} {:>5} {:>5} {:>8} {:>10} {:>9}  {}",
            "rank",
            "variant",
            "feasible",
            "reach",
            "free",
            "cycle s",
            "clear mm",
            "margin",
            "parameters / why not"
        )];
        for (rank, &i) in self.ranking.iter().take(top).enumerate() {
            let Some(r) = self.results.get(i) else {
                continue;
            };
            let yes = |b: bool| if b { "yes" } else { "no" };
            let num = |v: Option<f64>, scale: f64, digits: usize| {
                v.map_or("-".to_owned(), |v| format!("{:.*}", digits, v * scale))
            };
            let params: Vec<String> = r
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let mut why = params.join(" ");
            if !r.unreachable.is_empty() {
                why.push_str(&format!("  [out of reach: {}]", r.unreachable.join(", ")));
            } else if let Some(f) = &r.failure {
                why.push_str(&format!("  [{}]", short(&f.reason, 90)));
            } else if !r.unmet.is_empty() {
                why.push_str(&format!("  [{}]", r.unmet.join("; ")));
            }
            out.push(format!(
                "{:>4} {:>7} {:>8} {:>5} {:>5} {:>8} {:>10} {:>9}  {}",
                rank + 1,
                i,
                yes(r.feasible),
                yes(r.reachable),
                r.collision_free.map_or("-", yes),
                num(r.cycle_time, 1.0, 3),
                num(r.min_clearance, 1e3, 1),
                num(r.joint_margin, 1.0, 3),
                why
            ));
        }
        out
    }
}

/// `text` cut to `n` characters.
pub(crate) fn short(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_owned()
    } else {
        text.chars().take(n).collect::<String>() + "..."
    }
}

/// The objective's value of a result, smaller is better (`None`: not measured).
fn key(objective: Objective, r: &VariantResult) -> Option<f64> {
    match objective {
        Objective::CycleTime => r.cycle_time,
        Objective::MinClearance => r.min_clearance.map(|c| -c),
        Objective::JointMargin => r.joint_margin.map(|m| -m),
    }
}

/// Variant indices, best first: feasible by the objective (then cycle time), then complete
/// but missing a requirement, then the rest; ties by index.
pub fn ranking(objective: Objective, results: &[VariantResult]) -> Vec<usize> {
    let class = |r: &VariantResult| {
        if r.feasible {
            0
        } else if r.complete {
            1
        } else {
            2
        }
    };
    let by_value = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&results[a], &results[b]);
        class(ra)
            .cmp(&class(rb))
            .then_with(|| by_value(key(objective, ra), key(objective, rb)))
            .then_with(|| by_value(ra.cycle_time, rb.cycle_time))
            .then_with(|| ra.index.cmp(&rb.index))
    });
    order.into_iter().map(|i| results[i].index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn result(index: usize, feasible: bool, complete: bool, cycle: Option<f64>) -> VariantResult {
        VariantResult {
            index,
            seed: 0,
            parameters: BTreeMap::new(),
            feasible,
            reachable: true,
            collision_free: complete.then_some(true),
            complete,
            cycle_time: cycle,
            min_clearance: cycle.map(|c| 1.0 / c),
            joint_margin: None,
            unreachable: Vec::new(),
            unmet: Vec::new(),
            failure: None,
            motions: Vec::new(),
        }
    }

    #[test]
    fn feasible_first_by_the_objective_then_the_rest() {
        let r = vec![
            result(0, false, false, None),
            result(1, true, true, Some(5.0)),
            result(2, false, true, Some(1.0)),
            result(3, true, true, Some(4.0)),
            result(4, true, true, Some(4.0)),
        ];
        assert_eq!(ranking(Objective::CycleTime, &r), vec![3, 4, 1, 2, 0]);
        // the largest clearance (1/cycle here) first
        assert_eq!(ranking(Objective::MinClearance, &r), vec![3, 4, 1, 2, 0]);
        let mut slow = r.clone();
        slow[1].min_clearance = Some(9.0);
        assert_eq!(ranking(Objective::MinClearance, &slow), vec![1, 3, 4, 2, 0]);
    }
}
