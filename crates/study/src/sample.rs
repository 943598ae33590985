//! Variants drawn from a study's parameters: a grid, random draws or a Latin hypercube, all
//! from the study's seed, so the same study gives the same variants everywhere. Each variant
//! has its own seed, derived from the study's seed and its index alone: its result does not
//! depend on which worker evaluates it, or in which order.

use crate::error::{Result, StudyError};
use crate::spec::{Domain, MAX_VARIANTS, Method, Parameter, Study, Value};
use cella_kinematics::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One variant of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Its index, 0-based, in the order the sampling drew it.
    pub index: usize,
    /// The seed of its plans: [`variant_seed`] of the study's seed and the index.
    pub seed: u64,
    /// Its parameter values, by name.
    pub values: BTreeMap<String, Value>,
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of variant `index` of a study seeded `study_seed`: the same on every machine and
/// worker.
pub fn variant_seed(study_seed: u64, index: usize) -> u64 {
    mix(mix(study_seed) ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// The seed of the `k`-th planned motion of a variant seeded `seed`.
pub fn motion_seed(seed: u64, k: usize) -> u64 {
    mix(seed ^ mix(k as u64 + 1))
}

/// Stream of the sampling's random draws (distinct from every variant's seed).
const SAMPLING_STREAM: u64 = 0x5354_5544_5953_414D;

fn grid_points(p: &Parameter) -> usize {
    match &p.domain {
        Domain::Range { steps, .. } => *steps,
        Domain::Values(v) => v.len(),
    }
}

fn grid_value(p: &Parameter, k: usize) -> Value {
    match &p.domain {
        Domain::Range { low, high, steps } => {
            if *steps == 1 {
                Value::Float(0.5 * (low + high))
            } else {
                Value::Float(low + (high - low) * k as f64 / (*steps - 1) as f64)
            }
        }
        Domain::Values(v) => v[k].clone(),
    }
}

/// The value of `p` at `u` ∈ [0, 1): a point of its range, or the item of its list.
fn value_at(p: &Parameter, u: f64) -> Value {
    match &p.domain {
        Domain::Range { low, high, .. } => Value::Float(low + (high - low) * u),
        Domain::Values(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
    }
}

/// How many variants the study has.
pub fn variant_count(study: &Study) -> Result<usize> {
    match study.method {
        Method::Grid => {
            let mut n: usize = 1;
            for p in &study.parameters {
                n = n
                    .checked_mul(grid_points(p))
                    .filter(|&n| n <= MAX_VARIANTS)
                    .ok_or_else(|| {
                        StudyError::invalid(
                            "parameters",
                            format!("the grid has more than {MAX_VARIANTS} variants"),
                        )
                    })?;
            }
            if let Some(cap) = study.variants
                && n > cap
            {
                return Err(StudyError::invalid(
                    "sampling.variants",
                    format!("the grid has {n} variants, more than the {cap} allowed"),
                ));
            }
            Ok(n)
        }
        Method::Random | Method::Lhs => Ok(study.variants.unwrap_or(1)),
    }
}

/// Every variant of the study, in index order.
pub fn variants(study: &Study) -> Result<Vec<Variant>> {
    let n = variant_count(study)?;
    let params = &study.parameters;
    let mut rng = Rng::new(mix(study.seed ^ SAMPLING_STREAM));
    let mut out: Vec<Variant> = (0..n)
        .map(|index| Variant {
            index,
            seed: variant_seed(study.seed, index),
            values: BTreeMap::new(),
        })
        .collect();
    match study.method {
        Method::Grid => {
            for v in &mut out {
                // mixed radix, the last parameter (by name) fastest
                let mut rest = v.index;
                for p in params.iter().rev() {
                    let points = grid_points(p);
                    v.values
                        .insert(p.name.clone(), grid_value(p, rest % points));
                    rest /= points;
                }
            }
        }
        Method::Random => {
            for v in &mut out {
                for p in params {
                    v.values.insert(p.name.clone(), value_at(p, rng.next_f64()));
                }
            }
        }
        Method::Lhs => {
            for p in params {
                // stratum of each variant: a random permutation (Fisher-Yates)
                let mut strata: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    strata.swap(i, j);
                }
                for (v, s) in out.iter_mut().zip(&strata) {
                    let u = (*s as f64 + rng.next_f64()) / n as f64;
                    v.values.insert(p.name.clone(), value_at(p, u.min(1.0)));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(method: &str, variants: &str) -> Study {
        let text = format!(
            r#"
name = "s"
seed = 3
[sampling]
method = "{method}"
{variants}
[parameters]
a = {{ range = [0.0, 1.0], steps = 3 }}
b = ["p", "q"]
[cell]
name = "c"
[[cell.robots]]
id = "arm"
model = "ur5e"
base = {{ xyz = [0.0, 0.0, 0.0] }}
[task]
[[task.stages]]
name = "s"
arm = [{{ ptp = "home" }}]
"#
        );
        Study::parse(&text, None).unwrap()
    }

    fn float(v: &Value) -> f64 {
        match v {
            Value::Float(f) => *f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_grid_is_every_combination() {
        let v = variants(&study("grid", "")).unwrap();
        assert_eq!(v.len(), 6);
        let pairs: Vec<(f64, Value)> = v
            .iter()
            .map(|v| (float(&v.values["a"]), v.values["b"].clone()))
            .collect();
        assert_eq!(pairs[0], (0.0, Value::Text("p".into())));
        assert_eq!(pairs[1], (0.0, Value::Text("q".into())));
        assert_eq!(pairs[2], (0.5, Value::Text("p".into())));
        assert_eq!(pairs[5], (1.0, Value::Text("q".into())));
        assert!(variants(&study("grid", "variants = 5")).is_err());
    }

    #[test]
    fn a_latin_hypercube_uses_every_stratum_once() {
        let s = study("lhs", "variants = 10");
        let v = variants(&s).unwrap();
        let mut strata: Vec<usize> = v
            .iter()
            .map(|v| (float(&v.values["a"]) * 10.0) as usize)
            .collect();
        strata.sort();
        assert_eq!(strata, (0..10).collect::<Vec<_>>());
        // lists: each item in half of the variants
        let p = v
            .iter()
            .filter(|v| v.values["b"] == Value::Text("p".into()))
            .count();
        assert_eq!(p, 5);
        // same seed, same variants; the seeds of the variants differ
        assert_eq!(variants(&s).unwrap(), v);
        let mut seeds: Vec<u64> = v.iter().map(|v| v.seed).collect();
        seeds.dedup();
        assert_eq!(seeds.len(), 10);
    }

    #[test]
    fn random_draws_stay_in_their_domain_and_follow_the_seed() {
        let s = study("random", "variants = 50");
        let v = variants(&s).unwrap();
        assert!(
            v.iter()
                .all(|v| (0.0..1.0).contains(&float(&v.values["a"])))
        );
        let mut other = s.clone();
        other.seed = 4;
        assert_ne!(variants(&other).unwrap(), v);
        assert_eq!(v[7].seed, variant_seed(3, 7));
    }
}
