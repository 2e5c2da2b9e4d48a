//! One labelled folder read as points keyed by swept value, each metric as its trials' sample. The
//! folder may be a sweep, a single run, a search (sweepkit's or AIPerf's trees), or a sweep whose
//! trial summaries are gone (per-value aggregates only): sweep-agg's loaders read all of them, so
//! compare labels trials exactly as the aggregates do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::artifacts::names::dir_name;
use crate::contract::sla_filter::SlaFilter;
use crate::contract::summary::{stat_values, SummaryDoc};
use crate::search::ANSWER_JSON;
use crate::stats::welch::Sample;
use crate::sweep::load::{collect_run_dirs, from_aggregates, from_dir, SweepInput};
use crate::sweep::search_folder::{from_search, is_search_folder};

/// One metric's trials at one value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub unit: String,
    pub sample: Sample,
}

/// One swept value of one configuration.
#[derive(Debug, Clone)]
pub struct Point {
    /// Swept parameters in sweep order (a single run: its load, from its configuration).
    pub parameters: Vec<(String, Value)>,
    pub key: String,
    pub trials: usize,
    pub failed: usize,
    /// `<tag>_<stat>` → its trials.
    pub metrics: BTreeMap<String, Metric>,
}

/// A search's answer (`search_answer.json`): the largest value meeting its SLA, with its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchAnswer {
    pub parameter: String,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// One configuration as compare sees it.
#[derive(Debug, Clone)]
pub struct Configuration {
    pub label: String,
    pub dir: PathBuf,
    /// `sweep`, `run`, `search` or `aggregates`.
    pub kind: &'static str,
    pub parameters: Vec<String>,
    pub points: Vec<Point>,
    /// The first successful trial's `input_config` (absent with aggregates only).
    pub input_config: Option<Value>,
    pub search_answer: Option<SearchAnswer>,
    /// A search's SLA filters.
    pub sla: Vec<SlaFilter>,
}

impl Configuration {
    pub fn point(&self, key: &str) -> Option<&Point> {
        self.points.iter().find(|p| p.key == key)
    }
}

/// The load a single run ran at, from its profiling phase (`concurrency` or `request_rate`).
fn load_of_run(input_config: Option<&Value>) -> Vec<(String, Value)> {
    let phases = input_config.and_then(|c| c["phases"].as_array());
    let profiling = phases.and_then(|ps| {
        ps.iter()
            .find(|p| p["kind"] == "profiling" || p["name"] == "profiling")
    });
    let Some(p) = profiling else {
        return Vec::new();
    };
    ["concurrency", "request_rate"]
        .iter()
        .find_map(|k| {
            p.get(*k)
                .filter(|v| v.is_number())
                .map(|v| vec![(k.to_string(), v.clone())])
        })
        .unwrap_or_default()
}

/// Groups the trials by value: each metric's sample over the successful trials.
fn points_of(input: &SweepInput) -> Vec<Point> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, (Vec<(String, Value)>, Vec<&SummaryDoc>, usize)> = BTreeMap::new();
    for t in &input.trials {
        let key = dir_name(&t.parameters);
        if !order.contains(&key) {
            order.push(key.clone());
        }
        let g = groups
            .entry(key)
            .or_insert_with(|| (t.parameters.clone(), Vec::new(), 0));
        match &t.result {
            Ok(doc) => g.1.push(doc),
            Err(_) => g.2 += 1,
        }
    }
    order
        .into_iter()
        .filter_map(|key| {
            let (parameters, docs, failed) = groups.remove(&key)?;
            let metrics = stat_values(docs.iter().copied())
                .into_iter()
                .filter_map(|(k, (unit, vs))| {
                    Some((
                        k,
                        Metric {
                            unit,
                            sample: Sample::of(&vs)?,
                        },
                    ))
                })
                .collect();
            Some(Point {
                parameters,
                key,
                trials: docs.len(),
                failed,
                metrics,
            })
        })
        .collect()
}

/// A sweep with only per-value aggregates: each metric's sample rebuilt from its mean, std and count.
fn points_of_aggregates(dir: &Path) -> anyhow::Result<Vec<Point>> {
    let (_, combos, _) = from_aggregates(dir)?;
    Ok(combos
        .into_iter()
        .map(|c| Point {
            key: c.dir_name.clone(),
            trials: c.num_successful,
            failed: c.failed.len(),
            metrics: c
                .metrics
                .into_iter()
                .filter(|(_, m)| m.stats.mean.is_finite())
                .map(|(k, m)| {
                    let sample = Sample {
                        n: m.stats.n,
                        mean: m.stats.mean,
                        sd: if m.stats.std.is_finite() { m.stats.std } else { 0.0 },
                    };
                    (k, Metric { unit: m.unit, sample })
                })
                .collect(),
            parameters: c.parameters,
        })
        .collect())
}

/// `search_answer.json` in a search folder, when there is one.
fn read_answer(dir: &Path) -> Option<SearchAnswer> {
    let text = std::fs::read_to_string(dir.join(ANSWER_JSON)).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    Some(SearchAnswer {
        parameter: doc["parameter"].as_str()?.to_string(),
        value: doc["value"].as_f64(),
        low: doc.pointer("/interval/lo").and_then(Value::as_f64),
        high: doc.pointer("/interval/hi").and_then(Value::as_f64),
    })
}

/// Reads one labelled folder.
pub fn load(label: &str, dir: &Path) -> anyhow::Result<Configuration> {
    anyhow::ensure!(
        dir.is_dir(),
        "{label}={}: not a folder: give a sweep's, a run's or a search's output folder",
        dir.display()
    );
    let mut runs = Vec::new();
    collect_run_dirs(dir, &mut runs)?;
    let (kind, input) = if is_search_folder(dir) {
        ("search", Some(from_search(dir)?))
    } else if runs.is_empty() {
        ("aggregates", None)
    } else {
        ("sweep", Some(from_dir(dir)?))
    };
    let (mut points, input_config, sla) = match &input {
        Some(inp) => {
            let first_ok = inp.trials.iter().find_map(|t| t.result.as_ref().ok());
            let cfg = first_ok.and_then(|d| d.doc.get("input_config")).cloned();
            (points_of(inp), cfg, inp.sla_filters.clone())
        }
        None => (points_of_aggregates(dir)?, None, Vec::new()),
    };
    let kind = if kind == "sweep" && points.len() == 1 && points[0].parameters.is_empty() {
        let load = load_of_run(input_config.as_ref());
        points[0].key = if load.is_empty() {
            "run".into()
        } else {
            dir_name(&load)
        };
        points[0].parameters = load;
        "run"
    } else {
        kind
    };
    let parameters = points
        .iter()
        .find(|p| !p.parameters.is_empty())
        .map(|p| p.parameters.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    Ok(Configuration {
        label: label.to_string(),
        dir: dir.to_path_buf(),
        kind,
        parameters,
        points,
        input_config,
        search_answer: read_answer(dir),
        sla,
    })
}

/// The parameters of a point as a JSON object.
pub fn parameters_map(p: &Point) -> Map<String, Value> {
    p.parameters.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/aiperf")
            .join(name)
    }

    #[test]
    fn reads_aiperfs_sweep_with_trials_as_samples() {
        let c = load("a", &fixture("c2_sweep_c2-4_x3_independent")).unwrap();
        assert_eq!(c.kind, "sweep");
        assert_eq!(c.parameters, vec!["concurrency".to_string()]);
        let keys: Vec<&str> = c.points.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["concurrency_2", "concurrency_4"]);
        let thr = &c.points[0].metrics["request_throughput_avg"];
        assert_eq!((thr.sample.n, thr.unit.as_str()), (3, "requests/sec"));
        assert!(thr.sample.sd > 0.0);
        assert!(c.input_config.is_some());
    }

    #[test]
    fn a_single_run_is_keyed_by_its_load() {
        let c = load("a", &fixture("a_single_c8_n200")).unwrap();
        assert_eq!(c.kind, "run");
        assert_eq!(c.points.len(), 1);
        assert_eq!(c.points[0].key, "concurrency_8");
        assert_eq!(c.points[0].metrics["request_throughput_avg"].sample.n, 1);
    }
}
