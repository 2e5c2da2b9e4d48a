//! Writers for the across-trial files, in AIPerf 0.13's shapes: the per-combination confidence
//! aggregate (`profile_export_aiperf_aggregate.json` / `.csv`) and the sweep aggregate
//! (`profile_export_aiperf_sweep.json` / `.csv`). Every file is written atomically.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::artifacts::names::value_text;
use crate::artifacts::{AGGREGATE_CSV, AGGREGATE_JSON, SWEEP_CSV, SWEEP_JSON};
use crate::contract::sweep_aggregate::SweepAggregate;
use crate::contract::value_aggregate::ValueAggregate;
use crate::io::atomic;
use crate::stats::confidence::json_num;

fn cell(v: Option<&Value>, decimals: usize, inf_text: bool) -> String {
    match v {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() => format!("{x:.decimals$}"),
            _ => String::new(),
        },
        // Non-finite values are null in JSON; for the cv of a zero mean AIPerf writes inf.
        Some(Value::Null) if inf_text => "inf".into(),
        _ => String::new(),
    }
}

/// Python's `str()` of a JSON value, as AIPerf's CSV metadata rows print lists and dicts.
pub fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(_) => value_text(v),
        Value::String(s) => format!("'{s}'"),
        Value::Array(a) => format!("[{}]", a.iter().map(python_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => {
            format!(
                "{{{}}}",
                o.iter()
                    .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

fn top_level(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

fn title(key: &str) -> String {
    key.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn csv_bytes(rows: Vec<Vec<String>>) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for r in rows {
        // An empty row is a bare newline (the csv crate would write `""`).
        if r.is_empty() {
            out.push(b'\n');
            continue;
        }
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        w.write_record(&r)?;
        out.extend(w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?);
    }
    Ok(out)
}

/// The aggregate CSV of AIPerf §3.4 from an aggregate JSON document.
pub fn aggregate_csv(doc: &Value) -> anyhow::Result<Vec<u8>> {
    let mut rows = vec![[
        "metric",
        "mean",
        "std",
        "min",
        "max",
        "cv",
        "se",
        "ci_low",
        "ci_high",
        "t_critical",
        "unit",
    ]
    .map(String::from)
    .to_vec()];
    if let Some(metrics) = doc["metrics"].as_object() {
        for (k, m) in metrics {
            let mut r = vec![k.clone()];
            for (f, d) in [
                ("mean", 2),
                ("std", 2),
                ("min", 2),
                ("max", 2),
                ("cv", 4),
                ("se", 4),
                ("ci_low", 2),
                ("ci_high", 2),
                ("t_critical", 4),
            ] {
                // Only cv turns null into inf (mean 0); a null t_critical is NaN (one trial).
                r.push(cell(m.get(f), d, f == "cv"));
            }
            r.push(m["unit"].as_str().unwrap_or("").to_string());
            rows.push(r);
        }
    }
    rows.push(vec![]);
    let meta = &doc["metadata"];
    rows.push(vec!["Aggregation Type".into(), "confidence".into()]);
    rows.push(vec!["Total Runs".into(), top_level(&meta["num_profile_runs"])]);
    rows.push(vec![
        "Successful Runs".into(),
        top_level(&meta["num_successful_runs"]),
    ]);
    if let Some(m) = meta.as_object() {
        for (k, v) in m {
            if matches!(
                k.as_str(),
                "aggregation_type" | "num_profile_runs" | "num_successful_runs"
            ) {
                continue;
            }
            rows.push(vec![title(k), top_level(v)]);
        }
    }
    csv_bytes(rows)
}

/// The sweep CSV of AIPerf §4.6 (flat `<tag>_<stat>` keys; the guide's alias keys are left out).
pub fn sweep_csv(agg: &SweepAggregate) -> anyhow::Result<Vec<u8>> {
    let names: Vec<String> = agg
        .metadata
        .sweep_parameters
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let mut rows = combination_rows(agg, &names);
    best_configuration_rows(agg, &names, &mut rows);
    pareto_rows(agg, &names, &mut rows);
    metadata_rows(agg, &names, &mut rows);
    csv_bytes(rows)
}

/// The header and one row per combination: its parameter values, then mean, std, min, max (2
/// decimals) and cv (4) of each metric; a metric a combination lacks is 5 empty cells.
fn combination_rows(agg: &SweepAggregate, names: &[String]) -> Vec<Vec<String>> {
    let keys: BTreeSet<&String> = agg
        .per_combination_metrics
        .iter()
        .flat_map(|c| c.metrics.keys())
        .filter(|k| !(k.starts_with("ttft_") || k.starts_with("itl_")) || !k.ends_with("_ms"))
        .collect();
    let mut rows = Vec::new();
    let mut header = names.to_vec();
    for k in &keys {
        for s in ["mean", "std", "min", "max", "cv"] {
            header.push(format!("{k}_{s}"));
        }
    }
    rows.push(header);
    for c in &agg.per_combination_metrics {
        let mut r: Vec<String> = names
            .iter()
            .map(|n| c.parameters.get(n).map(value_text).unwrap_or_default())
            .collect();
        for k in &keys {
            match c.metrics.get(*k) {
                Some(m) => {
                    let s = &m.stats;
                    for (v, d) in [(s.mean, 2), (s.std, 2), (s.min, 2), (s.max, 2), (s.cv, 4)] {
                        r.push(if v.is_finite() {
                            format!("{v:.d$}")
                        } else {
                            String::new()
                        });
                    }
                }
                None => r.extend(std::iter::repeat_n(String::new(), 5)),
            }
        }
        rows.push(r);
    }
    rows
}

/// The "Best Configurations" section: best throughput and best p99 latency, when known.
fn best_configuration_rows(agg: &SweepAggregate, names: &[String], rows: &mut Vec<Vec<String>>) {
    rows.push(vec![]);
    rows.push(vec!["Best Configurations".into()]);
    if !agg.best_configurations.is_empty() {
        let mut h = vec!["Configuration".to_string()];
        h.extend(names.iter().cloned());
        h.extend(["Metric".to_string(), "Unit".to_string()]);
        rows.push(h);
        let best = &agg.best_configurations;
        for (k, b) in [
            ("best_throughput", &best.best_throughput),
            ("best_latency_p99", &best.best_latency_p99),
        ] {
            let Some(b) = b else { continue };
            let mut r = vec![title(k)];
            r.extend(
                names
                    .iter()
                    .map(|n| b.parameters.get(n).map(value_text).unwrap_or_default()),
            );
            r.push(cell(Some(&json_num(b.metric)), 2, false));
            r.push(b.unit.clone());
            rows.push(r);
        }
    }
}

/// The "Pareto Optimal Points" section: the parameter values of each point, or `None`.
fn pareto_rows(agg: &SweepAggregate, names: &[String], rows: &mut Vec<Vec<String>>) {
    rows.push(vec![]);
    rows.push(vec!["Pareto Optimal Points".into()]);
    if agg.pareto_optimal.is_empty() {
        rows.push(vec!["None".into()]);
    } else {
        rows.push(names.to_vec());
        for p in &agg.pareto_optimal {
            rows.push(
                names
                    .iter()
                    .map(|n| p.get(n).map(value_text).unwrap_or_default())
                    .collect(),
            );
        }
    }
}

/// The "Metadata" section: how the sweep was run, one field a row.
fn metadata_rows(agg: &SweepAggregate, names: &[String], rows: &mut Vec<Vec<String>>) {
    rows.push(vec![]);
    rows.push(vec!["Metadata".into()]);
    rows.push(vec!["Field".into(), "Value".into()]);
    let m = &agg.metadata;
    for (k, v) in [
        ("Aggregation Type", "sweep".to_string()),
        ("Sweep Parameters", names.join(",")),
        ("Number of Combinations", m.num_combinations.to_string()),
        ("Number of Profile Runs", m.num_profile_runs.to_string()),
        ("Number of Successful Runs", m.num_successful_runs.to_string()),
        ("Number of Failed Runs", m.failed_runs.len().to_string()),
        ("Sweep Mode", m.sweep_mode.to_string()),
        ("Confidence Level", value_text(&Value::from(m.confidence_level))),
        ("Trials per Value", m.num_trials_per_value.to_string()),
    ] {
        rows.push(vec![k.to_string(), v]);
    }
}

/// The across-trial statistics a long CSV row can hold, in AIPerf's key order.
const LONG_STATS: [&str; 9] = [
    "mean",
    "std",
    "min",
    "max",
    "cv",
    "se",
    "ci_low",
    "ci_high",
    "t_critical",
];

/// The sweep aggregate as a long ("tidy") CSV: one row per value, metric and across-trial
/// statistic, `value,metric,stat,number,unit` (value: the swept value, or `name=v, …` when several
/// parameters move; metric: `<tag>_<stat>`, e.g. `time_to_first_token_p99`; number in `unit`,
/// empty when undefined, e.g. `t_critical` of one trial). The guide's alias keys are left out.
pub fn long_csv<M: serde::Serialize>(agg: &SweepAggregate<M>) -> anyhow::Result<Vec<u8>> {
    let names: Vec<&str> = agg
        .metadata
        .sweep_parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut rows = vec![["value", "metric", "stat", "number", "unit"]
        .map(String::from)
        .to_vec()];
    for c in &agg.per_combination_metrics {
        let value = match names.as_slice() {
            [one] => c.parameters.get(*one).map(value_text).unwrap_or_default(),
            _ => crate::artifacts::names::describe_map(&c.parameters),
        };
        for (key, m) in &c.metrics {
            if (key.starts_with("ttft_") || key.starts_with("itl_")) && key.ends_with("_ms") {
                continue;
            }
            let m = serde_json::to_value(m)?;
            let unit = m
                .get("unit")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            for st in LONG_STATS {
                let number = match m.get(st).and_then(Value::as_f64) {
                    Some(v) => format!("{v}"),
                    None => String::new(),
                };
                rows.push(vec![
                    value.clone(),
                    key.clone(),
                    st.to_string(),
                    number,
                    unit.clone(),
                ]);
            }
        }
    }
    csv_bytes(rows)
}

/// Writes one combination's aggregate JSON and CSV into `dir`; returns the JSON path. Both go
/// through `serde_json::Value`: the JSON's keys are sorted at every level, as AIPerf's readers
/// have always seen them.
pub fn write_aggregate(dir: &Path, agg: &ValueAggregate) -> anyhow::Result<PathBuf> {
    let doc = serde_json::to_value(agg)?;
    let json = dir.join(AGGREGATE_JSON);
    atomic::write_json(&json, &doc)?;
    atomic::write(&dir.join(AGGREGATE_CSV), &aggregate_csv(&doc)?)?;
    Ok(json)
}

/// Writes the sweep aggregate JSON and CSV into `dir`; returns the JSON path.
pub fn write_sweep(dir: &Path, agg: &SweepAggregate) -> anyhow::Result<PathBuf> {
    let json = dir.join(SWEEP_JSON);
    atomic::write_json(&json, agg)?;
    atomic::write(&dir.join(SWEEP_CSV), &sweep_csv(agg)?)?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_long_csv_has_one_row_per_value_metric_and_stat() {
        let agg: SweepAggregate<Value> = serde_json::from_value(json!({
            "aggregation_type": "sweep", "num_profile_runs": 2, "num_successful_runs": 2, "failed_runs": [],
            "metadata": {"aggregation_type": "sweep", "sweep_parameters": [{"name": "concurrency", "values": [8]}],
                "num_combinations": 1, "num_trials_per_value": 2, "sweep_mode": "repeated", "confidence_level": 0.95,
                "num_profile_runs": 2, "num_successful_runs": 2, "failed_runs": [], "high_variance": [],
                "cv_threshold": 0.2, "generator": "t"},
            "per_combination_metrics": [{"parameters": {"concurrency": 8}, "num_trials": 2, "num_successful_trials": 2,
                "metrics": {"time_to_first_token_p99": {"mean": 50.5, "std": 1.0, "min": 50.0, "max": 51.0, "cv": 0.02,
                    "se": 0.7, "ci_low": -3.0, "ci_high": 104.0, "t_critical": null, "unit": "ms"},
                    "ttft_p99_ms": {"mean": 50.5, "unit": "ms"}}}],
            "best_configurations": {}, "pareto_optimal": [], "trends": {}
        }))
        .unwrap();
        let text = String::from_utf8(long_csv(&agg).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "value,metric,stat,number,unit");
        assert_eq!(lines.len(), 1 + LONG_STATS.len(), "{text}");
        assert_eq!(lines[1], "8,time_to_first_token_p99,mean,50.5,ms");
        assert!(
            lines.contains(&"8,time_to_first_token_p99,ci_low,-3,ms"),
            "{text}"
        );
        assert!(
            lines.contains(&"8,time_to_first_token_p99,t_critical,,ms"),
            "{text}"
        );
        assert!(!text.contains("ttft_p99_ms"), "aliases left out");
    }

    #[test]
    fn aggregate_csv_matches_aiperf_formatting() {
        let doc = json!({"metadata": {"aggregation_type": "confidence", "num_profile_runs": 3, "num_successful_runs": 3,
            "confidence_level": 0.95, "run_labels": ["run_0001", "run_0002", "run_0003"], "cooldown_seconds": 0.0},
            "metrics": {"request_throughput_avg": {"mean": 105.0, "std": 5.0, "min": 100.0, "max": 110.0, "cv": 0.047619047619047616,
              "se": 2.886751345948129, "ci_low": 92.57931144124835, "ci_high": 117.42068855875165, "t_critical": 4.302652729749462, "unit": "requests/sec"},
              "x_avg": {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0, "cv": null, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0, "t_critical": null, "unit": "ms"}}});
        let text = String::from_utf8(aggregate_csv(&doc).unwrap()).unwrap();
        let want = "metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\n\
request_throughput_avg,105.00,5.00,100.00,110.00,0.0476,2.8868,92.58,117.42,4.3027,requests/sec\n\
x_avg,0.00,0.00,0.00,0.00,inf,0.0000,0.00,0.00,,ms\n\
\n\
Aggregation Type,confidence\n\
Total Runs,3\n\
Successful Runs,3\n\
Confidence Level,0.95\n\
Cooldown Seconds,0.0\n\
Run Labels,\"['run_0001', 'run_0002', 'run_0003']\"\n";
        assert_eq!(text, want);
    }
}
