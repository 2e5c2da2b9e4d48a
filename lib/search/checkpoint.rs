//! AIPerf's `search_checkpoint.json` (`aiperf/orchestrator/search_planner/recovery.py`): every
//! finished iteration's value and its trials as AIPerf's `RunResult`s, rewritten with the history.
//! AIPerf restores its planner from it after a restart; sweepkit replays its planner from the
//! trial folders instead, so the file is written for AIPerf's readers and never read back.

use serde_json::{json, Map, Value};

use super::evidence::Trial;
use super::Iteration;

/// The fields of AIPerf's `JsonMetricResult`, written as null when a summary's metric lacks them
/// (its `model_dump` writes every field).
const METRIC_FIELDS: [&str; 16] = [
    "unit", "avg", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "min", "max", "std", "count",
    "sum",
];

/// A summary's metrics (every top-level object with a `unit`, as AIPerf's `project_summary_dict`
/// takes them), each with all of `JsonMetricResult`'s fields.
fn summary_metrics(doc: &Value) -> Map<String, Value> {
    doc.as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.get("unit").is_some())
        .map(|(k, v)| {
            let mut m = v.as_object().cloned().unwrap_or_default();
            for f in METRIC_FIELDS {
                m.entry(f).or_insert(Value::Null);
            }
            (k.clone(), Value::Object(m))
        })
        .collect()
}

/// One trial as AIPerf's `RunResult` (`model_dump(mode="json")`: every field, nulls included).
fn run_result(t: &Trial, iteration: usize, trial_index: usize, values: &Value) -> Value {
    let (success, metrics, error, cancelled) = match &t.result {
        Ok(d) => (
            true,
            summary_metrics(&d.summary.doc),
            Value::Null,
            d.summary.doc["was_cancelled"].as_bool().unwrap_or(false),
        ),
        Err(e) => (false, Map::new(), json!(e), false),
    };
    json!({
        "label": t.label,
        "success": success,
        "summary_metrics": metrics,
        "error": error,
        "artifacts_path": t.dir.display().to_string(),
        "variation_label": format!("search_iter_{iteration:04}"),
        "variation_values": values,
        "variation_index": iteration,
        "trial_index": trial_index,
        "was_cancelled": cancelled,
    })
}

/// The whole document: `{"iterations": [{"variation_values", "results"}]}`, values keyed by the
/// searched dimension's path as the history writes them.
pub fn document(path: &str, its: &[Iteration]) -> Value {
    let iterations: Vec<Value> = its
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let values = json!({ path: it.value });
            let results: Vec<Value> = it
                .trials
                .iter()
                .enumerate()
                .map(|(t, trial)| run_result(trial, i, t, &values))
                .collect();
            json!({"variation_values": values, "results": results})
        })
        .collect();
    json!({ "iterations": iterations })
}
