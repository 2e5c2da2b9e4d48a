//! A `--sweep-config` file: AIPerf 0.13's YAML config (`.yaml`/`.yml`, read with serde_yaml_ng) or
//! its JSON form, read for what a plan takes from it: the `sweep:` block, `random_seed` and
//! `multi_run`. The rest of an AIPerf config is refused by name rather than ignored: the workload
//! (`benchmark:`) comes from sweep-plan's flags, so a file that silently dropped it would plan
//! another experiment than the one the user wrote.

use anyhow::{anyhow, bail};
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;

use super::refused_key::{refuse, Refuse};
use super::sobol::SobolSweep;
use super::PlanOptions;

/// What a plan takes from a sweep file.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepFile {
    pub sweep: SobolSweep,
    /// The envelope's `random_seed`: the sweep's base seed.
    pub random_seed: Option<u64>,
    pub multi_run: MultiRun,
}

/// AIPerf's `multi_run:` (trials per variation), the parts sweep-plan has.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiRun {
    #[serde(alias = "numRuns")]
    pub num_runs: Option<u32>,
    #[serde(alias = "cooldownSeconds")]
    pub cooldown_seconds: Option<f64>,
    #[serde(alias = "confidenceLevel")]
    pub confidence_level: Option<f64>,
    /// sweep-plan always seeds trials (42 by default): only `true` is accepted.
    #[serde(default, alias = "setConsistentSeed", deserialize_with = "only_true")]
    set_consistent_seed: Option<bool>,
    /// sweep-plan runs a warmup before a variation's first trial only: only `true` is accepted.
    #[serde(default, alias = "disableWarmupAfterFirst", deserialize_with = "only_true")]
    disable_warmup_after_first: Option<bool>,
    /// Trials of a variation share its seed in sweep-plan: only `false` is accepted.
    #[serde(default, alias = "varySeedPerTrial", deserialize_with = "only_false")]
    vary_seed_per_trial: Option<bool>,
    #[serde(default, deserialize_with = "refuse_convergence")]
    convergence: Option<bool>,
}

/// The refused keys are read only to be refused.
/// AIPerf's envelope (`schema_version`, `benchmark`, `sweep`, ...), camelCase spellings included.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Envelope {
    sweep: SobolSweep,
    #[serde(default, alias = "schemaVersion", deserialize_with = "schema_version")]
    #[allow(dead_code)]
    schema_version: Option<String>,
    #[serde(alias = "randomSeed")]
    random_seed: Option<u64>,
    #[serde(default, alias = "multiRun")]
    multi_run: MultiRun,
    #[serde(default, deserialize_with = "refuse_benchmark")]
    benchmark: Option<bool>,
    #[serde(default, deserialize_with = "refuse_variables")]
    variables: Option<bool>,
    #[serde(default, deserialize_with = "refuse_plot")]
    plot: Option<bool>,
    /// sweep-plan prints no sweep table: accepted and without effect.
    #[serde(default, alias = "noSweepTable")]
    #[allow(dead_code)]
    no_sweep_table: Option<bool>,
}

fn schema_version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = String::deserialize(d)?;
    match v.as_str() {
        "2.0" => Ok(Some(v)),
        _ => Err(D::Error::custom(format!(
            "schema_version '{v}': AIPerf 0.13's config schema is \"2.0\""
        ))),
    }
}

fn refuse_benchmark<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    refuse(d, "benchmark: sweep-plan takes the workload from its flags (-m, --url, --isl, --concurrency ...), not from the file: keep only sweep: (and random_seed:, multi_run:) in it")
}

fn refuse_variables<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    refuse(d, "variables: sweep-plan does not render AIPerf's Jinja templates: write the values into the sweep block")
}

fn refuse_plot<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    refuse(
        d,
        "plot: sweep-plan does not plot; run pareto or report on the sweep's aggregate instead",
    )
}

fn refuse_convergence<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    refuse(d, "multi_run.convergence: sweep-plan plans a fixed number of trials: give num_runs and let sweep-agg judge convergence")
}

fn only_true<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(Refuse {
        msg: "false is not supported: sweep-plan seeds every trial and warms up before a variation's first trial only (AIPerf's defaults, true)",
        accept: Some(true),
    })
}

fn only_false<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(Refuse {
        msg: "vary_seed_per_trial: true is not supported: a variation's trials share its seed in sweep-plan (AIPerf's default, false)",
        accept: Some(false),
    })
}

/// The file's syntax, from its name: `.json` is JSON, anything else YAML (YAML also reads JSON).
#[derive(Clone, Copy)]
enum Syntax {
    Json,
    Yaml,
}

impl SweepFile {
    /// Reads a sweep file's text; an error is `file:line:column: why`.
    pub fn parse(text: &str, file: &str) -> anyhow::Result<SweepFile> {
        let syntax = match file.to_ascii_lowercase().ends_with(".json") {
            true => Syntax::Json,
            false => Syntax::Yaml,
        };
        let wrapped = match syntax {
            Syntax::Json => serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| json_located(file, &e))?
                .get("sweep")
                .is_some(),
            Syntax::Yaml => serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
                .map_err(|e| yaml_located(file, &e))?
                .get("sweep")
                .is_some(),
        };
        if !wrapped {
            return Ok(SweepFile {
                sweep: from_text(syntax, text, file)?,
                random_seed: None,
                multi_run: MultiRun::default(),
            });
        }
        let e: Envelope = from_text(syntax, text, file)?;
        Ok(SweepFile {
            sweep: e.sweep,
            random_seed: e.random_seed,
            multi_run: e.multi_run,
        })
    }

    /// Sets what the file declares over the command line's options. A flag given a value other than
    /// its default that disagrees with the file is refused: one of them would be silently lost.
    pub fn apply(&self, file: &str, opts: &mut PlanOptions) -> anyhow::Result<()> {
        let d = PlanOptions::default();
        let s = &self.sweep;
        let m = &self.multi_run;
        if let Some(seed) = self.random_seed {
            set(
                file,
                "random_seed",
                "--random-seed",
                &mut opts.base.random_seed,
                None,
                Some(seed),
            )?;
        }
        if let Some(n) = m.num_runs {
            set(
                file,
                "multi_run.num_runs",
                "--num-profile-runs",
                &mut opts.num_profile_runs,
                d.num_profile_runs,
                n,
            )?;
        }
        if let Some(c) = m.cooldown_seconds {
            let flag = "--profile-run-cooldown-seconds";
            set(
                file,
                "multi_run.cooldown_seconds",
                flag,
                &mut opts.run_cooldown_seconds,
                d.run_cooldown_seconds,
                c,
            )?;
        }
        if let Some(c) = m.confidence_level {
            let flag = "--confidence-level";
            set(
                file,
                "multi_run.confidence_level",
                flag,
                &mut opts.confidence_level,
                d.confidence_level,
                c,
            )?;
        }
        if let Some(o) = s.iteration_order {
            set(
                file,
                "sweep.iteration_order",
                "--parameter-sweep-mode",
                &mut opts.mode,
                d.mode,
                o,
            )?;
        }
        if let Some(b) = s.same_seed {
            let flag = "--parameter-sweep-same-seed";
            set(file, "sweep.same_seed", flag, &mut opts.same_seed, d.same_seed, b)?;
        }
        if let Some(c) = s.cooldown_seconds {
            let flag = "--parameter-sweep-cooldown-seconds";
            set(
                file,
                "sweep.cooldown_seconds",
                flag,
                &mut opts.sweep_cooldown_seconds,
                d.sweep_cooldown_seconds,
                c,
            )?;
        }
        Ok(())
    }
}

/// `slot` takes `value` unless its flag set it to something else than `default` and `value`.
fn set<T: PartialEq + std::fmt::Debug>(
    file: &str,
    key: &str,
    flag: &str,
    slot: &mut T,
    default: T,
    value: T,
) -> anyhow::Result<()> {
    if *slot != default && *slot != value {
        bail!("{file}: {key} ({value:?}) and {flag} ({slot:?}) disagree: give it once");
    }
    *slot = value;
    Ok(())
}

fn from_text<T: DeserializeOwned>(syntax: Syntax, text: &str, file: &str) -> anyhow::Result<T> {
    match syntax {
        Syntax::Json => serde_json::from_str(text).map_err(|e| json_located(file, &e)),
        Syntax::Yaml => serde_yaml_ng::from_str(text).map_err(|e| yaml_located(file, &e)),
    }
}

/// `file:line:column: message` from serde_json's `message at line L column C`.
fn json_located(file: &str, e: &serde_json::Error) -> anyhow::Error {
    let text = e.to_string();
    let msg = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
    anyhow!("{file}:{}:{}: {msg}", e.line(), e.column())
}

/// `file:line:column: message` from serde_yaml_ng's `[path: ]message at line L column C`.
fn yaml_located(file: &str, e: &serde_yaml_ng::Error) -> anyhow::Error {
    let text = e.to_string();
    let msg = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
    let mut msg = msg.replace('\n', " ");
    // serde_yaml_ng names the value's path; a refusal names its key itself.
    if let Some((path, rest)) = msg.split_once(": ") {
        let leaf = path.rsplit('.').next().unwrap_or(path);
        if rest.starts_with(&format!("{path}:")) || rest.starts_with(&format!("{leaf}:")) {
            msg = rest.to_string();
        }
    }
    match e.location() {
        Some(l) => anyhow!("{file}:{}:{}: {msg}", l.line(), l.column()),
        None => anyhow!("{file}: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::layout::SweepMode;

    fn err(text: &str, file: &str) -> String {
        SweepFile::parse(text, file).unwrap_err().to_string()
    }

    const YAML: &str = "schemaVersion: \"2.0\"\nrandom_seed: 9\nmultiRun:\n  numRuns: 3\n  cooldownSeconds: 1.5\nsweep:\n  type: sobol\n  samples: 4\n  iteration_order: independent\n  dimensions:\n    - {path: phases.profiling.concurrency, lo: 1, hi: 8, kind: int}\n";

    #[test]
    fn a_yaml_envelope_gives_its_sweep_seed_and_trials() {
        let f = SweepFile::parse(YAML, "s.yaml").unwrap();
        let json = SweepFile::parse(
            r#"{"sweep": {"type": "sobol", "samples": 4, "iteration_order": "independent", "dimensions": [{"path": "phases.profiling.concurrency", "lo": 1, "hi": 8, "kind": "int"}]}, "random_seed": 9, "multi_run": {"num_runs": 3, "cooldown_seconds": 1.5}}"#,
            "s.json",
        )
        .unwrap();
        assert_eq!(f, json);
        assert_eq!((f.random_seed, f.multi_run.num_runs), (Some(9), Some(3)));
        let mut opts = PlanOptions::default();
        f.apply("s.yaml", &mut opts).unwrap();
        assert_eq!(opts.base.random_seed, Some(9));
        assert_eq!((opts.num_profile_runs, opts.run_cooldown_seconds), (3, 1.5));
        assert_eq!(opts.mode, SweepMode::Independent);
        // A flag set to another value than the file's is refused, the same value is not.
        let mut opts = PlanOptions {
            num_profile_runs: 5,
            ..PlanOptions::default()
        };
        let e = f.apply("s.yaml", &mut opts).unwrap_err().to_string();
        assert!(
            e.contains("multi_run.num_runs (3) and --num-profile-runs (5) disagree"),
            "{e}"
        );
        let mut opts = PlanOptions {
            num_profile_runs: 3,
            ..PlanOptions::default()
        };
        f.apply("s.yaml", &mut opts).unwrap();
    }

    #[test]
    fn bad_yaml_says_file_line_and_why() {
        // Malformed YAML: the line of the bad token.
        let e = err("sweep:\n  type: sobol\n  samples: [4\n", "s.yaml");
        assert!(e.starts_with("s.yaml:4:") || e.starts_with("s.yaml:3:"), "{e}");
        // An unknown key, on its line.
        let e = err("type: sobol\nsamples: 4\nsampels: 4\n", "s.yml");
        assert!(
            e.starts_with("s.yml:3:") && e.contains("unknown field `sampels`"),
            "{e}"
        );
        // Wrong bounds, on the dimension's line.
        let e = err(
            "type: sobol\nsamples: 4\ndimensions:\n  - {path: concurrency, lo: 8, hi: 2, kind: int}\n",
            "s.yaml",
        );
        assert!(
            e.starts_with("s.yaml:4:") && e.contains("hi (2) must be > lo (8)"),
            "{e}"
        );
        let e = err("type: sobol\nsamples: 0\ndimensions: []\n", "s.yaml");
        assert!(e.contains("samples must be 2"), "{e}");
        let e = err("type: bayes\n", "s.yaml");
        assert!(e.starts_with("s.yaml:") && e.contains("type \"bayes\""), "{e}");
        // The parts of an AIPerf config sweep-plan does not take are refused by name, on their line.
        let e = err(
            "schema_version: '2.0'\n\nbenchmark:\n  model: m\nsweep:\n  type: sobol\n",
            "s.yaml",
        );
        // (A block mapping starts at its first key.)
        assert!(
            e.starts_with("s.yaml:4:")
                && e.contains("benchmark: sweep-plan takes the workload from its flags"),
            "{e}"
        );
        let e = err(
            "random_seed: 1\nvariables: {a: 1}\nsweep: {type: sobol}\n",
            "s.yaml",
        );
        assert!(e.starts_with("s.yaml:2:") && e.contains("variables:"), "{e}");
        let e = err(
            "random_seed: 1\nmulti_run:\n  vary_seed_per_trial: true\nsweep: {type: sobol}\n",
            "s.yaml",
        );
        assert!(
            e.starts_with("s.yaml:3:") && e.contains("vary_seed_per_trial: true is not supported"),
            "{e}"
        );
        let e = err("schema_version: '1.0'\nsweep: {type: sobol}\n", "s.yaml");
        assert!(e.contains("schema_version '1.0'"), "{e}");
        let e = err("sweeps: {type: sobol}\nsweep: {type: sobol}\n", "s.yaml");
        assert!(
            e.starts_with("s.yaml:1:") && e.contains("unknown field `sweeps`"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}
