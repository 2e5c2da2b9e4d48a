//! pareto's input, as it comes: a sweep aggregate (sweepkit's or AIPerf 0.13's
//! `profile_export_aiperf_sweep.json`, read with the contract's type) or JSONL points; and a
//! metric's value in either shape, flat `<tag>_<stat>` or AIPerf's single-trial bare tag.

use anyhow::bail;
use serde_json::{Map, Value};

use super::Slo;
use crate::contract::summary::STAT_KEYS;
use crate::contract::sweep_aggregate::SweepAggregate;
use crate::io::jsonl;

/// A combination as read from a sweep aggregate or a JSONL line: its parameters and metrics.
#[derive(Debug, Clone)]
pub struct InputPoint {
    pub parameters: Map<String, Value>,
    pub metrics: Map<String, Value>,
}

/// The points of an input, and what was skipped on the way (a torn last line), for the caller to
/// print.
#[derive(Debug, Clone)]
pub struct Points {
    pub points: Vec<InputPoint>,
    pub warnings: Vec<String>,
    /// An SLA search's filters (the sweep aggregate's `metadata.sla_constraints`): SLOs the
    /// frontier keeps to, as AIPerf's `pareto_optimal` of a search keeps to the feasible values.
    pub slos: Vec<Slo>,
}

/// One JSONL point: `{"parameters": {...}, "metrics": {key: {"mean": ..}}}` or flat
/// `{"parameters": {...}, "request_throughput_avg": 95.2, ...}`.
fn jsonl_point(v: &Value) -> Result<InputPoint, String> {
    let o = v.as_object().ok_or("a point must be a JSON object")?;
    let parameters = match o.get("parameters") {
        Some(Value::Object(p)) => p.clone(),
        None => Map::new(),
        Some(_) => return Err("'parameters' must be an object".into()),
    };
    let metrics = match o.get("metrics") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("'metrics' must be an object".into()),
        None => o
            .iter()
            .filter(|(k, _)| *k != "parameters")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    Ok(InputPoint { parameters, metrics })
}

/// Parses pareto's input: a sweep aggregate (a JSON document with `per_combination_metrics`) or
/// JSONL points (see [`jsonl_point`]).
pub fn parse_points(name: &str, text: &str) -> anyhow::Result<Points> {
    if let Ok(doc) = serde_json::from_str::<Value>(text) {
        if doc.get("per_combination_metrics").is_some_and(Value::is_array) {
            // The metrics stay plain JSON: AIPerf's single-trial files write bare tags.
            let agg: SweepAggregate<Value> = serde_json::from_value(doc)
                .map_err(|e| anyhow::anyhow!("{name}: not a sweep aggregate: {e}"))?;
            let slos = agg
                .metadata
                .sla_constraints
                .iter()
                .flat_map(|c| &c.active_filters)
                .map(|f| {
                    Slo::parse(&format!(
                        "{}:{}:{}:{}",
                        f.metric_tag,
                        f.stat,
                        f.op.as_str(),
                        f.threshold
                    ))
                })
                .collect::<anyhow::Result<Vec<Slo>>>()
                .map_err(|e| anyhow::anyhow!("{name}: metadata.sla_constraints: {e:#}"))?;
            let points = agg
                .per_combination_metrics
                .into_iter()
                .map(|c| InputPoint {
                    parameters: c.parameters,
                    metrics: c.metrics.into_iter().collect(),
                })
                .collect();
            return Ok(Points {
                points,
                warnings: Vec::new(),
                slos,
            });
        }
        if doc.get("pareto_optimal").is_some() && doc.get("points").is_some() {
            bail!("{name}: this is pareto's own output; give it the sweep aggregate instead");
        }
    }
    // Otherwise JSONL points, read like every other JSONL input (file:line errors, torn last line).
    let mut points = Vec::new();
    let input = jsonl::Input::from_reader(name, std::io::Cursor::new(text.as_bytes().to_vec()));
    let stats = jsonl::for_each::<Value>(vec![input], |_, v| {
        points.push(jsonl_point(&v)?);
        Ok(())
    })?;
    Ok(Points {
        points,
        warnings: stats.warnings(),
        slos: Vec::new(),
    })
}

/// `request_latency_p99` → (`request_latency`, `p99`) when the suffix is a summary stat.
fn split_stat(key: &str) -> Option<(&str, &str)> {
    let (tag, stat) = key.rsplit_once('_')?;
    STAT_KEYS.contains(&stat).then_some((tag, stat))
}

/// A metric's value (and CI) from a combination: the flat key's `mean`, else AIPerf's single-trial
/// bare tag (`request_throughput` → its `avg`/`p99`, then its `mean`), as AIPerf's readers do.
pub fn metric_value(metrics: &Map<String, Value>, key: &str) -> Option<(f64, Option<(f64, f64)>)> {
    let num_ci = |o: &Map<String, Value>, field: &str| -> Option<(f64, Option<(f64, f64)>)> {
        let v = o.get(field)?.as_f64()?;
        let ci = match (
            o.get("ci_low").and_then(Value::as_f64),
            o.get("ci_high").and_then(Value::as_f64),
        ) {
            (Some(lo), Some(hi))
                if field == "mean"
                    && (lo != hi || o.get("std").and_then(Value::as_f64).unwrap_or(0.0) > 0.0) =>
            {
                Some((lo, hi))
            }
            _ => None,
        };
        Some((v, ci))
    };
    match metrics.get(key) {
        Some(Value::Number(n)) => return n.as_f64().map(|v| (v, None)),
        Some(Value::Object(o)) => {
            if let Some(r) = num_ci(o, "mean").or_else(|| num_ci(o, "value")) {
                return Some(r);
            }
        }
        _ => {}
    }
    let (tag, stat) = split_stat(key)?;
    let o = metrics.get(tag)?.as_object()?;
    o.get(stat)
        .and_then(Value::as_f64)
        .map(|v| (v, None))
        .or_else(|| num_ci(o, "mean"))
}

/// A metric's unit as the combination states it: `unit` under the flat key, else under AIPerf's
/// bare tag (`request_latency_p99` → `request_latency.unit`).
pub fn metric_unit(metrics: &Map<String, Value>, key: &str) -> Option<String> {
    let unit = |v: &Value| {
        v.get("unit")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
    };
    metrics.get(key).and_then(unit).or_else(|| {
        let (tag, _) = split_stat(key)?;
        metrics.get(tag).and_then(unit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aiperfs_sweep_file_and_returns_a_torn_line_as_a_warning() {
        // AIPerf 0.13's single-trial shape: no sweepkit counters, bare-tag metrics, empty blocks.
        let aiperf = r#"{"aggregation_type": "sweep", "metadata": {"sweep_parameters": [{"name": "concurrency", "values": [2]}]},
            "per_combination_metrics": [{"parameters": {"concurrency": 2},
              "metrics": {"request_latency": {"mean": 179.5, "avg": 179.5, "p99": 189.4, "unit": "ms"}}}],
            "best_configurations": {}, "pareto_optimal": []}"#;
        let p = parse_points("sweep.json", aiperf).unwrap();
        assert!(p.warnings.is_empty());
        assert_eq!(
            metric_value(&p.points[0].metrics, "request_latency_p99"),
            Some((189.4, None))
        );
        assert_eq!(
            metric_unit(&p.points[0].metrics, "request_latency_p99").as_deref(),
            Some("ms")
        );
        let p = parse_points("<stdin>", "{\"parameters\":{\"c\":1},\"thr\":10}\n{\"thr\"").unwrap();
        assert_eq!(p.points.len(), 1);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].starts_with("<stdin>:2: skipped a torn last line"));
    }
}
