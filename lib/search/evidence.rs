//! What the search has measured so far, read back from its folder as AIPerf lays out an adaptive
//! search: `search_iter_NNNN/profile_runs/run_NNNN/` per trial, each with its summary
//! (`profile_export_aiperf.json`, sweepkit's or AIPerf's) and, when present, its per-request
//! records (`profile_export.jsonl`), which the goodput rule and the bootstrap need.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::artifacts::layout::{search_iteration_dir as iteration_dir, search_trial_dir as trial_dir};

use crate::artifacts::{RECORDS_JSONL, RUN_ERROR_FILE, SUMMARY_JSON};
use crate::contract::records::{Phase, Record};
use crate::contract::summary::SummaryDoc;
use crate::stats::distribution::aiperf_dist;
use crate::sweep::load::load_run;

/// One request as the search sees it: failed or not, and its scalar metrics (display units).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub ok: bool,
    pub values: BTreeMap<String, f64>,
}

/// A finished trial's measurements.
#[derive(Debug, Clone)]
pub struct TrialData {
    pub summary: SummaryDoc,
    /// The profiling-phase records, when the run folder kept them.
    pub requests: Option<Vec<Request>>,
}

/// One trial: its label (`run_0001`), folder, and data or why it failed.
#[derive(Debug, Clone)]
pub struct Trial {
    pub label: String,
    pub dir: PathBuf,
    pub result: Result<TrialData, String>,
}

/// The state of a planned trial's folder.
pub enum TrialState {
    /// Not run yet (or interrupted before its summary): run it (again).
    Missing,
    Done(Trial),
    /// A summary or records file that cannot be read (torn, NaN, null, a garbage line): the
    /// message names the file (and line). Neither a failed trial nor a missing one: the search
    /// stops rather than steer by it.
    Broken(String),
}

/// Reads one trial folder. A folder without a summary or run error has not run.
pub fn read_trial(dir: &Path, label: &str) -> TrialState {
    let summary = dir.join(SUMMARY_JSON);
    if !summary.exists() && !dir.join(RUN_ERROR_FILE).exists() {
        return TrialState::Missing;
    }
    let fix = "delete the trial's folder to run it again";
    if !dir.join(RUN_ERROR_FILE).exists() {
        if let Err(e) = SummaryDoc::read(&summary) {
            return TrialState::Broken(format!("{e:#}: {fix}"));
        }
    }
    let requests = match read_requests(&dir.join(RECORDS_JSONL)) {
        Ok(r) => r,
        Err(e) => return TrialState::Broken(format!("{e}: {fix}")),
    };
    let result = load_run(dir).map(|summary| TrialData { summary, requests });
    TrialState::Done(Trial {
        label: label.to_string(),
        dir: dir.to_path_buf(),
        result,
    })
}

/// The profiling records of a run, or `None` when the file is absent or holds none. A line that
/// is not a record is an error naming `file:line`; a torn last line (a crashed writer) is skipped,
/// as every reader here does.
fn read_requests(path: &Path) -> Result<Option<Vec<Request>>, String> {
    let input = match crate::io::jsonl::Input::open(path) {
        Ok(i) => i,
        Err(_) if !path.exists() => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut records = Vec::new();
    crate::io::jsonl::for_each::<Record>(vec![input], |_, r| {
        records.push(r);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in records {
        if r.metadata.benchmark_phase != Phase::Profiling {
            continue;
        }
        let values = r
            .metrics
            .iter()
            .filter_map(|(k, m)| m.value.as_scalar().map(|v| (k.clone(), v)))
            .collect();
        out.push(Request {
            ok: !r.is_error(),
            values,
        });
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Per-request SLOs (upper bounds, display units) that make a request "good" (AIPerf's goodput).
pub type Slos = Vec<(String, f64)>;

/// True when the request succeeded and meets every SLO (a missing metric fails).
pub fn is_good(r: &Request, slos: &Slos) -> bool {
    r.ok && slos
        .iter()
        .all(|(tag, thr)| r.values.get(tag).is_some_and(|v| *v <= *thr))
}

/// The stat of a metric over a set of requests, as the summary would compute it. Derived rates
/// are computed from the records too: `good_request_fraction` (good / attempted, a fraction) and
/// `request_error_rate` (%). `None` when the records cannot give it (e.g. a throughput).
pub fn stat_from_requests(requests: &[&Request], tag: &str, stat: &str, slos: &Slos) -> Option<f64> {
    let n = requests.len() as f64;
    match tag {
        "good_request_fraction" if !slos.is_empty() && n > 0.0 => {
            Some(requests.iter().filter(|r| is_good(r, slos)).count() as f64 / n)
        }
        "request_error_rate" if n > 0.0 => Some(100.0 * requests.iter().filter(|r| !r.ok).count() as f64 / n),
        _ => {
            let mut v: Vec<f64> = requests
                .iter()
                .filter(|r| r.ok)
                .filter_map(|r| r.values.get(tag).copied())
                .collect();
            let d = aiperf_dist(&mut v)?;
            let qs = ["p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"];
            match stat {
                "avg" => Some(d.avg),
                "min" => Some(d.min),
                "max" => Some(d.max),
                s => qs.iter().position(|q| *q == s).map(|i| d.pct[i]),
            }
        }
    }
}

impl TrialData {
    /// The stat of a metric in this trial: from the summary, or for `good_request_fraction`
    /// under per-request SLOs, from the records.
    pub fn stat(&self, tag: &str, stat: &str, slos: &Slos) -> Option<f64> {
        if tag == "good_request_fraction" && !slos.is_empty() {
            let reqs: Vec<&Request> = self.requests.as_ref()?.iter().collect();
            return stat_from_requests(&reqs, tag, stat, slos);
        }
        if tag == "goodput" && !slos.is_empty() && !self.summary.metrics.contains_key(tag) {
            // Good requests per second: the good share of the measured request throughput.
            let rate = self.summary.metrics.get("request_throughput")?.avg?;
            return Some(rate * self.stat("good_request_fraction", "avg", slos)?);
        }
        self.summary.metrics.get(tag)?.get(stat).filter(|v| v.is_finite())
    }

    /// True when the summary has the metric at all (what a misnamed SLA is told by).
    pub fn has_metric(&self, tag: &str, slos: &Slos) -> bool {
        (tag == "good_request_fraction" && !slos.is_empty() && self.requests.is_some())
            || self.summary.metrics.contains_key(tag)
    }
}
