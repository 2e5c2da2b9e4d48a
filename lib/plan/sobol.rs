//! AIPerf's `sobol` sweep: `samples` quasi-random points over the dimensions' ranges, drawn as
//! scipy's `qmc.Sobol(d, scramble, seed)` draws them (Joe–Kuo direction numbers, 30 bits, LMS +
//! digital-shift scrambling from NumPy's PCG64) and mapped to values as AIPerf's `_map_dim` maps
//! them. The sweep is read from a JSON file holding AIPerf's `sweep:` block.

use anyhow::bail;
use serde::de::Deserializer;
use serde::Deserialize;
use serde_json::Value;

use super::refused_key::refuse;
use crate::artifacts::layout::SweepMode;
use crate::contract::settings::Sweepable;
use crate::stats::numpy_random::Pcg64;

/// Bits of each coordinate (scipy's default): at most 2^30 points.
const BITS: usize = 30;

/// Primitive polynomials of the first dimensions (scipy's `_sobol_direction_numbers.npz`, `poly`).
const POLY: [u32; MAX_DIMENSIONS] = [
    1, 3, 7, 11, 13, 19, 25, 37, 41, 47, 55, 59, 61, 67, 91, 97, 103, 109, 115, 131, 137, 143, 145, 157,
];

/// Their initial direction numbers (the same file's `vinit`, first 7 columns; the rest are 0).
const VINIT: [[u32; 7]; MAX_DIMENSIONS] = [
    [1, 0, 0, 0, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0],
    [1, 3, 0, 0, 0, 0, 0],
    [1, 3, 1, 0, 0, 0, 0],
    [1, 1, 1, 0, 0, 0, 0],
    [1, 1, 3, 3, 0, 0, 0],
    [1, 3, 5, 13, 0, 0, 0],
    [1, 1, 5, 5, 17, 0, 0],
    [1, 1, 5, 5, 5, 0, 0],
    [1, 1, 7, 11, 19, 0, 0],
    [1, 1, 5, 1, 1, 0, 0],
    [1, 1, 1, 3, 11, 0, 0],
    [1, 3, 5, 5, 31, 0, 0],
    [1, 3, 3, 9, 7, 49, 0],
    [1, 1, 1, 15, 21, 21, 0],
    [1, 3, 1, 13, 27, 49, 0],
    [1, 1, 1, 15, 7, 5, 0],
    [1, 3, 1, 15, 13, 25, 0],
    [1, 1, 5, 5, 19, 61, 0],
    [1, 3, 7, 11, 23, 15, 103],
    [1, 3, 7, 13, 13, 15, 69],
    [1, 1, 3, 13, 7, 35, 63],
    [1, 3, 5, 9, 1, 25, 53],
    [1, 3, 1, 13, 9, 35, 107],
];

/// More dimensions than sweep-plan has list flags to vary.
pub const MAX_DIMENSIONS: usize = 24;

/// AIPerf's bound on `samples`.
pub const MAX_SAMPLES: u32 = 1 << 20;

/// The direction numbers of `d` dimensions, scaled to `BITS` bits (scipy's `_initialize_v`).
fn direction_numbers(d: usize) -> Vec<[u32; BITS]> {
    let mut v = vec![[0u32; BITS]; d];
    v[0] = [1; BITS];
    for (k, row) in v.iter_mut().enumerate().skip(1) {
        let p = POLY[k];
        let m = (32 - p.leading_zeros() - 1) as usize;
        row[..m].copy_from_slice(&VINIT[k][..m]);
        for j in m..BITS {
            let mut new = row[j - m];
            for q in 0..m {
                if (p >> (m - 1 - q)) & 1 == 1 {
                    new ^= row[j - q - 1] << (q + 1);
                }
            }
            row[j] = new;
        }
    }
    for row in &mut v {
        for (j, x) in row.iter_mut().enumerate() {
            *x <<= BITS - 1 - j;
        }
    }
    v
}

/// scipy's `_scramble`: a random digital shift per dimension, then the direction numbers times a
/// random lower-triangular bit matrix (LMS), all bits drawn from `default_rng(seed)` in that order.
fn scramble(v: &mut [[u32; BITS]], seed: u64) -> Vec<u32> {
    let mut g = Pcg64::new(seed);
    let shift: Vec<u32> = v
        .iter()
        .map(|_| (0..BITS).fold(0u32, |acc, i| acc | g.bit() << i))
        .collect();
    // Row p of each matrix as a number whose bit (BITS-1-q) is column q; the diagonal is set.
    let mut ltm = vec![[0u32; BITS]; v.len()];
    for m in &mut ltm {
        for (p, row) in m.iter_mut().enumerate() {
            for q in 0..BITS {
                let b = g.bit();
                if q < p {
                    *row |= b << (BITS - 1 - q);
                }
            }
            *row |= 1 << (BITS - 1 - p);
        }
    }
    for (row, m) in v.iter_mut().zip(&ltm) {
        for x in row.iter_mut() {
            let mut t = 0u32;
            for (bit, p) in (0..BITS).rev().enumerate() {
                t |= ((m[p] & *x).count_ones() & 1) << bit;
            }
            *x = t;
        }
    }
    shift
}

/// The first `n` points of the `d`-dimensional sequence in [0, 1): scipy's `Sobol(d, scramble=…,
/// seed=…).random(n)` (equal to `random_base2(m)` when n = 2^m).
pub fn points(d: usize, n: usize, scrambled: bool, seed: u64) -> Vec<Vec<f64>> {
    assert!((1..=MAX_DIMENSIONS).contains(&d), "checked when read");
    let mut v = direction_numbers(d);
    let mut quasi = if scrambled {
        scramble(&mut v, seed)
    } else {
        vec![0; d]
    };
    let scale = 1.0 / (1u64 << BITS) as f64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            // Gray-code order: flip the direction number of the lowest zero bit of i - 1.
            let c = (i - 1).trailing_ones() as usize;
            for (q, row) in quasi.iter_mut().zip(&v) {
                *q ^= row[c];
            }
        }
        out.push(quasi.iter().map(|&q| q as f64 * scale).collect());
    }
    out
}

/// Where a dimension's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// `lo`..`hi`, linear or log scale, whole numbers (`kind: int`) or not.
    Range { lo: f64, hi: f64, log: bool, int: bool },
    /// A list to pick from.
    Choices(Vec<Value>),
}

/// One dimension: the setting it varies and its values.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawDimension")]
pub struct Dimension {
    pub param: Sweepable,
    pub values: Values,
}

impl Dimension {
    /// A unit-cube coordinate as this dimension's value (AIPerf's `_map_dim`).
    pub fn value(&self, u: f64) -> Value {
        match &self.values {
            Values::Choices(c) => c[((u * c.len() as f64).floor() as usize).min(c.len() - 1)].clone(),
            &Values::Range { lo, hi, log, int } => {
                let v = if log {
                    (lo.ln() + u * (hi.ln() - lo.ln())).exp()
                } else {
                    lo + u * (hi - lo)
                };
                match int {
                    // Python's round (half to even), kept within [ceil(lo), floor(hi)].
                    true => Value::from(v.round_ties_even().min(hi.floor()).max(lo.ceil()) as u64),
                    false => Value::from(v),
                }
            }
        }
    }
}

/// A dimension as the file gives it (AIPerf's `SamplingDimension`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDimension {
    path: String,
    lo: Option<f64>,
    hi: Option<f64>,
    #[serde(default)]
    scale: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    choices: Option<Vec<Value>>,
}

/// The setting a dimension path names: sweep-plan's keys (`request_rate`, `isl`), or AIPerf's
/// (`concurrency`, `rate`, `requests`, `duration`, alone or under `phases.profiling.`).
fn param_of(path: &str) -> Option<Sweepable> {
    let leaf = path.strip_prefix("phases.profiling.").unwrap_or(path);
    let key = match leaf {
        "rate" => "request_rate",
        "requests" => "request_count",
        "duration" => "benchmark_duration",
        other => other,
    }
    .replace('-', "_");
    Sweepable::ALL.iter().copied().find(|p| p.key() == key)
}

impl TryFrom<RawDimension> for Dimension {
    type Error = String;

    fn try_from(r: RawDimension) -> Result<Dimension, String> {
        let path = &r.path;
        let param = param_of(path).ok_or_else(|| {
            let names: Vec<&str> = Sweepable::ALL.iter().map(|p| p.key()).collect();
            format!(
                "dimension path '{path}' is not a setting sweep-plan can vary: use one of {}",
                names.join(", ")
            )
        })?;
        let log = match r.scale.as_deref() {
            None | Some("linear") => false,
            Some("log") => true,
            Some(o) => {
                return Err(format!(
                    "dimension '{path}': scale '{o}' is neither \"linear\" nor \"log\""
                ))
            }
        };
        let int = match r.kind.as_deref() {
            None | Some("real") => false,
            Some("int") => true,
            Some(o) => {
                return Err(format!(
                    "dimension '{path}': kind '{o}' is neither \"int\" nor \"real\""
                ))
            }
        };
        let values = match (r.lo, r.hi, r.choices) {
            (None, None, Some(c)) if c.is_empty() => {
                return Err(format!("dimension '{path}': choices is empty"))
            }
            (None, None, Some(c)) => Values::Choices(check_choices(path, param, c)?),
            (Some(lo), Some(hi), None) => {
                if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                    return Err(format!("dimension '{path}': hi ({hi}) must be > lo ({lo})"));
                }
                if log && lo <= 0.0 {
                    return Err(format!("dimension '{path}': a log scale needs lo > 0 (got {lo})"));
                }
                if param.is_integer() && !int {
                    return Err(format!(
                        "dimension '{path}': {} takes whole numbers: add \"kind\": \"int\"",
                        param.flag()
                    ));
                }
                if int && lo.ceil() < 0.0 {
                    return Err(format!("dimension '{path}': lo ({lo}) must be ≥ 0"));
                }
                Values::Range { lo, hi, log, int }
            }
            _ => {
                return Err(format!(
                    "dimension '{path}': give either lo and hi, or choices (not both, not neither)"
                ))
            }
        };
        Ok(Dimension { param, values })
    }
}

/// Choices are numbers the setting takes (whole numbers for a whole-number setting).
fn check_choices(path: &str, param: Sweepable, c: Vec<Value>) -> Result<Vec<Value>, String> {
    for v in &c {
        let ok = match param.is_integer() {
            true => v.as_u64().is_some(),
            false => v.as_f64().is_some_and(f64::is_finite),
        };
        if !ok {
            let what = if param.is_integer() {
                "a whole number"
            } else {
                "a number"
            };
            return Err(format!("dimension '{path}': choice {v} is not {what}"));
        }
    }
    Ok(c)
}

/// How a sampling sweep draws its unit-cube points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampler {
    /// scipy's `qmc.Sobol` (`scramble`, default true).
    Sobol { scramble: bool },
    /// scipy's `qmc.LatinHypercube`, with `optimization: random-cd` or without optimization.
    LatinHypercube { random_cd: bool },
}

/// A sampling sweep block: AIPerf's `SobolSweep` or `LatinHypercubeSweep`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawSweep")]
pub struct SobolSweep {
    pub samples: u32,
    /// `None`: AIPerf draws a fresh seed each time; sweep-plan uses the plan's seed instead.
    pub seed: Option<u64>,
    pub sampler: Sampler,
    pub dimensions: Vec<Dimension>,
    /// The trial order, `same_seed` and the cooldown between variations, when the block sets them.
    pub iteration_order: Option<SweepMode>,
    pub same_seed: Option<bool>,
    pub cooldown_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(rename = "type")]
    kind: String,
    samples: Option<u32>,
    seed: Option<u64>,
    #[serde(default)]
    scramble: Option<bool>,
    optimization: Option<String>,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    /// Accepted for AIPerf's files; sweep-plan names runs by their folders either way.
    #[serde(default, alias = "labelFormat")]
    #[allow(dead_code)]
    label_format: Option<String>,
    #[serde(alias = "iterationOrder")]
    iteration_order: Option<SweepMode>,
    #[serde(alias = "sameSeed")]
    same_seed: Option<bool>,
    #[serde(alias = "cooldownSeconds")]
    cooldown_seconds: Option<f64>,
    #[serde(default, alias = "slaFilters", deserialize_with = "refuse_sla_filters")]
    #[allow(dead_code)]
    sla_filters: Option<bool>,
    #[serde(default, alias = "postProcess", deserialize_with = "refuse_post_process")]
    #[allow(dead_code)]
    post_process: Option<bool>,
    /// Another sweep type's keys: read so that the type is what the message names.
    #[allow(dead_code)]
    parameters: Option<serde::de::IgnoredAny>,
    #[allow(dead_code)]
    runs: Option<serde::de::IgnoredAny>,
    /// An audit trail AIPerf's search recipes leave: accepted, without effect.
    #[serde(default, alias = "recipeName")]
    #[allow(dead_code)]
    recipe_name: Option<String>,
}

fn refuse_sla_filters<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    refuse(
        d,
        "sla_filters: sweep-plan only plans; give the SLOs to pareto (--slo time_to_first_token_p99:lt:200)",
    )
}

fn refuse_post_process<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    refuse(
        d,
        "post_process: AIPerf's search-recipe handlers are not part of sweepkit; drop the key",
    )
}

impl TryFrom<RawSweep> for SobolSweep {
    type Error = String;

    fn try_from(r: RawSweep) -> Result<SobolSweep, String> {
        let sampler = match r.kind.as_str() {
            "sobol" => {
                if r.optimization.is_some() {
                    return Err("optimization is a latin_hypercube key (a sobol sweep has scramble)".into());
                }
                Sampler::Sobol {
                    scramble: r.scramble.unwrap_or(true),
                }
            }
            "latin_hypercube" => {
                if r.scramble.is_some() {
                    return Err("scramble is a sobol key (AIPerf always scrambles a latin_hypercube)".into());
                }
                // Absent: none, as AIPerf expands a config file's raw sweep block.
                let random_cd = match r.optimization.as_deref() {
                    None => false,
                    Some("random-cd") => true,
                    Some("lloyd") => return Err("optimization \"lloyd\" is not supported: use \"random-cd\" or none".into()),
                    Some(o) => return Err(format!("optimization \"{o}\" is neither \"random-cd\" nor \"lloyd\"")),
                };
                Sampler::LatinHypercube { random_cd }
            }
            "scenarios" => {
                return Err(
                    "type \"scenarios\": give the runs with --variant '[name:] key=value, ...'".into(),
                )
            }
            "grid" | "zip" => {
                return Err(format!(
                "type \"{}\": give a grid or zip sweep as comma lists (--concurrency 1,2,4, --sweep-type)",
                r.kind
            ))
            }
            "adaptive_search" => {
                return Err("type \"adaptive_search\": sweep-plan plans static sweeps; search adaptively with sweep-search".into())
            }
            o => {
                return Err(format!(
                    "type \"{o}\" is not a sweep sweep-plan reads from a file (\"sobol\" or \"latin_hypercube\")"
                ))
            }
        };
        if r.parameters.is_some() || r.runs.is_some() {
            return Err("a sampling sweep has dimensions, not parameters or runs (those are grid/zip and scenarios keys)".into());
        }
        let samples = r
            .samples
            .ok_or("a sampling sweep needs \"samples\" (the number of runs, e.g. 8)")?;
        if !(2..=MAX_SAMPLES).contains(&samples) {
            return Err(format!(
                "samples must be 2 to {MAX_SAMPLES} (AIPerf's bounds), got {samples}"
            ));
        }
        if r.dimensions.is_empty() {
            return Err(
                "a sampling sweep needs \"dimensions\": [{\"path\": ..., \"lo\": ..., \"hi\": ...}]".into(),
            );
        }
        if r.dimensions.len() > MAX_DIMENSIONS {
            return Err(format!(
                "at most {MAX_DIMENSIONS} dimensions, got {}",
                r.dimensions.len()
            ));
        }
        for (i, d) in r.dimensions.iter().enumerate() {
            if r.dimensions[..i].iter().any(|e| e.param == d.param) {
                return Err(format!("two dimensions set {}: each path once", d.param.key()));
            }
        }
        if r.cooldown_seconds.is_some_and(|c| !(c.is_finite() && c >= 0.0)) {
            return Err("cooldown_seconds must be a number of seconds ≥ 0".into());
        }
        Ok(SobolSweep {
            samples,
            seed: r.seed,
            sampler,
            dimensions: r.dimensions,
            iteration_order: r.iteration_order,
            same_seed: r.same_seed,
            cooldown_seconds: r.cooldown_seconds,
        })
    }
}

impl SobolSweep {
    /// The sweep's type, as AIPerf names it (`sobol`, `latin_hypercube`).
    pub fn kind(&self) -> &'static str {
        match self.sampler {
            Sampler::Sobol { .. } => "sobol",
            Sampler::LatinHypercube { .. } => "latin_hypercube",
        }
    }

    /// The sweep's runs: each point's values, in dimension order.
    pub fn runs(&self, default_seed: u64) -> Vec<Vec<(Sweepable, Value)>> {
        let seed = self.seed.unwrap_or(default_seed);
        let (d, n) = (self.dimensions.len(), self.samples as usize);
        let unit = match self.sampler {
            Sampler::Sobol { scramble } => points(d, n, scramble, seed),
            Sampler::LatinHypercube { random_cd } => super::latin_hypercube::points(d, n, seed, random_cd),
        };
        unit.iter()
            .map(|row| {
                self.dimensions
                    .iter()
                    .zip(row)
                    .map(|(d, &u)| (d.param, d.value(u)))
                    .collect()
            })
            .collect()
    }

    /// AIPerf's warnings for a weak design.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let Sampler::Sobol { scramble } = self.sampler else {
            return w;
        };
        if !self.samples.is_power_of_two() {
            w.push(format!(
                "Sobol balance is best at powers of 2 (8, 16, 32, ...); got samples={}. Consider {}.",
                self.samples,
                self.samples.next_power_of_two()
            ));
        }
        if !scramble {
            w.push("Sobol with scramble=false starts at the origin: the first run is (lo, lo, ...) in every dimension, and few samples cover only corners. Prefer scramble=true.".into());
        }
        w
    }
}

/// The runs' folder names must differ: two points that map to the same values would share a folder
/// (AIPerf writes both there; sweep-plan refuses).
pub fn check_distinct(dirs: &[String], file: &str) -> anyhow::Result<()> {
    for (i, d) in dirs.iter().enumerate() {
        if let Some(j) = dirs[..i].iter().position(|e| e == d) {
            bail!(
                "{file}: sweep points {j} and {i} are the same run ({d}): they would share a folder; widen the ranges, add a real-valued dimension or draw fewer samples"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        super::super::sweep_file::SweepFile::parse(text, "s.json")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unscrambled_points_are_the_raw_sequence() {
        // qmc.Sobol(d=2, scramble=False).random(4): the Joe–Kuo points, exact in binary.
        let p = points(2, 4, false, 0);
        assert_eq!(p, [[0.0, 0.0], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]);
    }

    #[test]
    fn integer_values_round_half_to_even_within_the_range() {
        let d = |lo: f64, hi: f64, log: bool| Dimension {
            param: Sweepable::Concurrency,
            values: Values::Range {
                lo,
                hi,
                log,
                int: true,
            },
        };
        // 1 + 0.5 * 4 = 3 exactly; 0.125 * 4 = 0.5 → 0 (half to even), clamped up to ceil(0.5) = 1.
        assert_eq!(d(1.0, 5.0, false).value(0.5), Value::from(3u64));
        assert_eq!(d(0.0, 4.0, false).value(0.625), Value::from(2u64)); // 2.5 → 2
        assert_eq!(d(0.5, 4.0, false).value(0.0), Value::from(1u64));
        assert_eq!(d(1.0, 64.0, true).value(0.5), Value::from(8u64));
        let c = Dimension {
            param: Sweepable::Isl,
            values: Values::Choices(vec![1.into(), 2.into()]),
        };
        assert_eq!(c.value(0.4999), Value::from(1));
        assert_eq!(c.value(0.5), Value::from(2));
    }

    #[test]
    fn bad_files_say_file_line_and_why() {
        let e = err("{\"type\": \"sobol\", \"samples\": 4,\n \"dimensions\": [\n {\"path\": \"concurrency\", \"lo\": 4, \"hi\": 2, \"kind\": \"int\"}]}");
        assert!(
            e.starts_with("s.json:3:") && e.contains("hi (2) must be > lo (4)"),
            "{e}"
        );
        let e = err("{\"type\": \"sobol\", \"samples\": 4,\n \"dimensions\": [{\"path\": \"concurrency\", \"lo\": 1, \"hi\": 9}]}");
        assert!(
            e.starts_with("s.json:2:") && e.contains("add \"kind\": \"int\""),
            "{e}"
        );
        let e = err("{\"type\": \"sobol\", \"samples\": 4, \"dimensions\": [{\"path\": \"model\", \"choices\": [1]}]}");
        assert!(e.contains("'model' is not a setting"), "{e}");
        let e = err("{\"type\": \"sobol\",\n \"sample\": 4}");
        assert!(
            e.starts_with("s.json:2:") && e.contains("unknown field `sample`"),
            "{e}"
        );
        assert!(err("{\"sweep\": {\"type\": \"grid\"}}").contains("comma lists"));
        assert!(
            err("{\"type\": \"sobol\", \"samples\": 1, \"dimensions\": []}").contains("samples must be 2")
        );
        assert!(err("{\"type\": \"sobol\",").starts_with("s.json:1:"));
        let e = err("{\"type\": \"sobol\", \"samples\": 4, \"dimensions\": [{\"path\": \"rate\", \"lo\": 1, \"hi\": 2}, {\"path\": \"request_rate\", \"lo\": 1, \"hi\": 2}]}");
        assert!(e.contains("two dimensions set request_rate"), "{e}");
    }
}
