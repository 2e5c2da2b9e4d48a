//! Contract A: one line of a sweep plan. sweep-plan writes it, loadgen `--spec` runs it, sweep-agg
//! `--plan` labels the runs by it. Its place in the sweep ([`Place`]) and the complete loadgen
//! [`Settings`] of the run.

use std::path::Path;

use anyhow::{anyhow, bail};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::settings::Settings;

/// Where a run sits in its sweep. sweep-plan fills every field; a hand-written spec may give
/// none, and then the run info says null (AIPerf's value for a run outside a sweep).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Position in execution order, 0-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_index: Option<usize>,
    /// Trial number, 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<u32>,
    /// `trial_0001` in sweeps, `run_0001` otherwise (AIPerf's labels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_label: Option<String>,
    /// Position of the parameter combination in the expanded sweep, 0-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_index: Option<usize>,
    /// The combination's folder name (`concurrency_10`, `concurrency_10__isl_512`), `base` without a sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_label: Option<String>,
    /// Swept parameters and their values (empty without a sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// The run's random seed (base + variation_index unless same-seed); null when none was set.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Where this run's files go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_dir: Option<String>,
    /// Seconds to wait before starting this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_seconds: Option<f64>,
    /// True when this run has a warmup phase (first trial of each value, if a warmup was asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<bool>,
}

/// One run of the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    #[serde(flatten)]
    pub place: Place,
    /// The complete loadgen spec (keys sorted, as in every plan sweepkit has written).
    #[serde(default, serialize_with = "sorted")]
    pub loadgen: Settings,
}

/// The settings with keys sorted and URL secrets redacted: a plan line is written to files and
/// pipes, so the real URL reaches loadgen only as its `--url` flag (which overrides the line's).
fn sorted<S: Serializer>(s: &Settings, ser: S) -> Result<S::Ok, S::Error> {
    crate::io::redact::json(serde_json::to_value(s).map_err(serde::ser::Error::custom)?).serialize(ser)
}

/// A [`Place`] with every field a sweep needs present (what sweep-plan writes).
#[derive(Debug, Clone, PartialEq)]
pub struct FullPlace {
    pub run_index: usize,
    pub trial: u32,
    pub trial_label: String,
    pub variation_index: usize,
    pub variation_label: String,
    pub parameters: Map<String, Value>,
    pub artifact_dir: String,
    pub cooldown_seconds: f64,
}

impl Place {
    /// The place as a sweep needs it, or the first missing field (a hand-written spec is no sweep run).
    pub fn full(&self) -> Result<FullPlace, String> {
        fn need<T: Clone>(v: &Option<T>, k: &str) -> Result<T, String> {
            v.clone()
                .ok_or_else(|| format!("\"{k}\" is missing: a sweep's plan line comes from sweep-plan"))
        }
        Ok(FullPlace {
            run_index: need(&self.run_index, "run_index")?,
            trial: need(&self.trial, "trial")?,
            trial_label: need(&self.trial_label, "trial_label")?,
            variation_index: need(&self.variation_index, "variation_index")?,
            variation_label: need(&self.variation_label, "variation_label")?,
            parameters: self.parameters.clone().unwrap_or_default(),
            artifact_dir: need(&self.artifact_dir, "artifact_dir")?,
            cooldown_seconds: self.cooldown_seconds.unwrap_or(0.0),
        })
    }
}

impl PlanLine {
    /// The settings loadgen runs: the line's seed when the settings have none, and no warmup where
    /// the plan says this run has none.
    pub fn effective_settings(&self) -> Settings {
        let mut s = self.loadgen.clone();
        if s.random_seed.is_none() {
            s.random_seed = self.place.seed;
        }
        if self.place.warmup == Some(false) {
            s.warmup_request_count = None;
        }
        s
    }

    /// The line as one tab-separated row for shell loops: run_index, cooldown, artifact dir, JSON line.
    pub fn tsv_row(&self) -> anyhow::Result<String> {
        Ok(format!(
            "{}\t{}\t{}\t{}",
            self.place.run_index.unwrap_or(0),
            self.place.cooldown_seconds.unwrap_or(0.0),
            self.place.artifact_dir.as_deref().unwrap_or(""),
            serde_json::to_string(self)?
        ))
    }
}

/// Parses one plan line; the error says what is wrong (the caller adds where).
pub fn parse(line: &str) -> Result<PlanLine, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(mut top) = v else {
        return Err("a plan line must be a JSON object".into());
    };
    let lg = top.remove("loadgen").unwrap_or(Value::Object(Map::new()));
    if !lg.is_object() {
        return Err("\"loadgen\" must be a JSON object of loadgen options".into());
    }
    let loadgen: Settings = serde_json::from_value(lg)
        .map_err(|e| format!("\"loadgen\": {e} (keys are loadgen's long flag names in snake_case)"))?;
    let place: Place = serde_json::from_value(Value::Object(top)).map_err(|e| format!("{e}"))?;
    Ok(PlanLine { place, loadgen })
}

/// Reads `--spec FILE|-`: exactly one non-blank JSON line.
pub fn read_one(path: &Path) -> anyhow::Result<PlanLine> {
    let (name, text) = if path == Path::new("-") {
        let s = crate::io::capped::read_all(std::io::stdin()).map_err(|e| anyhow!("--spec -: {e}"))?;
        ("<stdin>".to_string(), s)
    } else {
        let s = crate::io::capped::read_to_string(path)
            .map_err(|e| anyhow!("--spec {}: cannot read: {e}", path.display()))?;
        (path.display().to_string(), s)
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    match lines.len() {
        0 => bail!("--spec {name}: no plan line (expected one JSON object from sweep-plan)"),
        1 => {}
        n => {
            bail!("--spec {name}: {n} plan lines; give one (e.g. `sed -n 3p plan.jsonl | loadgen --spec -`)")
        }
    }
    let (line_no, line) = lines[0];
    parse(line).map_err(|e| anyhow!("--spec {name}:{line_no}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"run_index":0,"trial":1,"trial_label":"trial_0001","variation_index":0,"variation_label":"concurrency_10","parameters":{"concurrency":10},"seed":42,"artifact_dir":"a/concurrency_10","cooldown_seconds":0.0,"warmup":true,"loadgen":{"concurrency":10,"model":"m","osl":32,"streaming":true,"url":"127.0.0.1:9"}}"#;

    #[test]
    fn a_line_round_trips_byte_for_byte() {
        let l = parse(LINE).unwrap();
        assert_eq!(serde_json::to_string(&l).unwrap(), LINE);
        assert_eq!(l.effective_settings().random_seed, Some(42));
        assert_eq!(l.place.trial_label.as_deref(), Some("trial_0001"));
    }

    #[test]
    fn unknown_spec_key_is_named() {
        let err = parse(r#"{"loadgen":{"model":"m","concurency":3}}"#)
            .err()
            .unwrap();
        assert!(err.contains("concurency"), "{err}");
        let err = parse("{oops").err().unwrap();
        assert!(err.contains("not valid JSON"), "{err}");
        // A hand-written spec needs no place.
        let l = parse(r#"{"loadgen":{"model":"m"}}"#).unwrap();
        assert_eq!(l.place, Place::default());
    }

    #[test]
    fn no_warmup_where_the_plan_says_none() {
        let l = parse(r#"{"warmup":false,"loadgen":{"model":"m","warmup_request_count":5}}"#).unwrap();
        assert_eq!(l.effective_settings().warmup_request_count, None);
    }
}
