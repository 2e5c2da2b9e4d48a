//! AIPerf's `search_history.json` (`aiperf/exporters/search_history.py`): the search's config,
//! every iteration, the best feasible trial and the SLA boundary, rewritten after each call so a
//! partial trajectory survives. Same keys as AIPerf 0.13; non-finite numbers are written as null.

use serde_json::{json, Map, Value};

use super::feasibility::Breach;
use super::recipes::SearchConfig;

/// One iteration as the history lists it.
#[derive(Debug, Clone)]
pub struct IterationEntry {
    pub iteration_idx: usize,
    pub value: i64,
    /// Mean objective over successful trials.
    pub objective: Option<f64>,
    pub feasible: bool,
    pub non_monotonic_warning: bool,
}

fn finite(x: Option<f64>) -> Value {
    x.filter(|v| v.is_finite()).map_or(Value::Null, |v| json!(v))
}

fn variation(cfg: &SearchConfig, v: i64) -> Value {
    json!({ cfg.dim.path.clone(): v })
}

/// The `config` block.
fn config(cfg: &SearchConfig) -> Value {
    json!({
        "planner": cfg.planner.name(),
        "objectives": [{
            "metric": cfg.objective.metric,
            "stat": cfg.objective.stat,
            "direction": if cfg.objective.maximize { "MAXIMIZE" } else { "MINIMIZE" },
            "threshold": null
        }],
        "outcome_constraints": [],
        "max_iterations": cfg.max_iterations,
        "n_initial_points": 5,
        "random_seed": null,
        "improvement_patience": 10,
        "plateau_window": 8,
        "plateau_threshold": 0.01,
        "search_space": [cfg.dim],
        "sla_filters": cfg.filters,
        "monotonic_stability_trials": cfg.stability_trials,
    })
}

/// `best_trials`: the best objective among feasible iterations (all when none is feasible).
fn best_trials(cfg: &SearchConfig, its: &[IterationEntry]) -> Value {
    let scored: Vec<&IterationEntry> = its
        .iter()
        .filter(|i| i.objective.is_some_and(f64::is_finite))
        .collect();
    let feasible: Vec<&IterationEntry> = scored.iter().copied().filter(|i| i.feasible).collect();
    let pool = if feasible.is_empty() { &scored } else { &feasible };
    let key = |i: &&IterationEntry| i.objective.unwrap_or(f64::NAN);
    // Python's max()/min() keep the first of equals.
    let best = pool.iter().copied().reduce(|a, b| {
        let better = if cfg.objective.maximize {
            key(&b) > key(&a)
        } else {
            key(&b) < key(&a)
        };
        if better {
            b
        } else {
            a
        }
    });
    match best {
        None => Value::Null,
        Some(b) => json!([{
            "iteration_idx": b.iteration_idx,
            "objective_values": [finite(b.objective)],
            "variation_values": variation(cfg, b.value),
            "feasible": b.feasible,
            "feasible_count": feasible.len(),
            "pareto_rank": 0
        }]),
    }
}

/// The boundary block, from the planner's latched bracket and the latest matching iterations.
pub fn boundary_summary(
    cfg: &SearchConfig,
    its: &[IterationEntry],
    bracket: (Option<i64>, Option<i64>),
    breach_at: impl Fn(usize) -> Option<Breach>,
    extras: Map<String, Value>,
) -> Value {
    if bracket.0.is_none() && bracket.1.is_none() {
        return Value::Null;
    }
    let latest = |v: i64, feasible: bool| its.iter().rev().find(|i| i.value == v && i.feasible == feasible);
    let fmax = bracket.0.and_then(|v| {
        // no_failure_in_range latches the range's top, which may not be an iteration's value.
        let it = latest(v, true)?;
        Some(json!({"value": v, "iteration_idx": it.iteration_idx, "objective_value": finite(it.objective)}))
    });
    let imin = bracket.1.and_then(|v| {
        let it = latest(v, false)?;
        Some(json!({"value": v, "iteration_idx": it.iteration_idx, "first_breach": breach_at(it.iteration_idx)}))
    });
    let mut m = Map::new();
    m.insert("swept_dim_path".into(), json!(cfg.dim.path));
    m.insert("feasible_max".into(), fmax.unwrap_or(Value::Null));
    m.insert("infeasible_min".into(), imin.unwrap_or(Value::Null));
    m.extend(extras);
    Value::Object(m)
}

/// The whole document.
pub fn document(cfg: &SearchConfig, its: &[IterationEntry], boundary: Value, reason: Option<&str>) -> Value {
    let iterations: Vec<Value> = its
        .iter()
        .map(|i| {
            json!({
                "iteration_idx": i.iteration_idx,
                "variation_values": variation(cfg, i.value),
                "objective_values": i.objective.filter(|v| v.is_finite()).map(|v| json!([v])).unwrap_or(Value::Null),
                "feasible": i.feasible,
                "non_monotonic_warning": i.non_monotonic_warning
            })
        })
        .collect();
    json!({
        "config": config(cfg),
        "iterations": iterations,
        "best_trials": best_trials(cfg, its),
        "boundary_summary": boundary,
        "recipe": cfg.recipe,
        "convergence_reason": reason,
    })
}

/// The values of an earlier history's iterations (to check a rerun asks the same values).
pub fn recorded_values(doc: &Value, path: &str) -> Vec<Option<i64>> {
    doc.get("iterations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|i| {
                    i.get("variation_values")
                        .and_then(|v| v.get(path))
                        .and_then(Value::as_i64)
                })
                .collect()
        })
        .unwrap_or_default()
}
