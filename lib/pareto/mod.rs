//! Pareto optimality over parameter combinations, exactly as AIPerf's `identify_pareto_optimal`:
//! `a` dominates `b` when it is at least as good on every objective (exact float comparison,
//! direction-aware) and strictly better on one; equal points are both optimal. Plus sweepkit's
//! SLO filters and a significance check of each dominance from the trials' confidence intervals.

pub mod input;
pub mod plot;

use std::cmp::Ordering;

use anyhow::bail;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::contract::sweep_aggregate::{latency_key, LATENCY_KEYS, THROUGHPUT_KEY};
use crate::pareto::input::{metric_unit, metric_value, InputPoint};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    Maximize,
    Minimize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Objective {
    /// A per-combination metric key such as `request_throughput_avg` or `time_to_first_token_p99`.
    pub key: String,
    pub goal: Goal,
    /// Its unit as the input states it (`ms`, `requests/sec`), for axis labels; absent for bare
    /// JSONL numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One combination's objective values (across-trial means) and their confidence intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub parameters: Map<String, Value>,
    pub values: Vec<f64>,
    /// `(ci_low, ci_high)` per objective when trials exist.
    pub ci: Vec<Option<(f64, f64)>>,
}

fn better_or_equal(a: f64, b: f64, g: Goal) -> bool {
    match g {
        Goal::Maximize => a >= b,
        Goal::Minimize => a <= b,
    }
}

fn strictly_better(a: f64, b: f64, g: Goal) -> bool {
    match g {
        Goal::Maximize => a > b,
        Goal::Minimize => a < b,
    }
}

/// True when `a` dominates `b`.
pub fn dominates(a: &[f64], b: &[f64], goals: &[Goal]) -> bool {
    let all = a
        .iter()
        .zip(b)
        .zip(goals)
        .all(|((x, y), g)| better_or_equal(*x, *y, *g));
    let one = a
        .iter()
        .zip(b)
        .zip(goals)
        .any(|((x, y), g)| strictly_better(*x, *y, *g));
    all && one
}

/// For each point, whether no other point dominates it.
pub fn optimal_mask(values: &[Vec<f64>], goals: &[Goal]) -> Vec<bool> {
    (0..values.len())
        .map(|i| !(0..values.len()).any(|j| j != i && dominates(&values[j], &values[i], goals)))
        .collect()
}

fn cmp_value(a: &Value, b: &Value) -> Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// AIPerf's order for the optimal list: `tuple(sorted(params.items()))`.
pub fn cmp_params(a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
    // serde_json's Map (without preserve_order) iterates sorted by key already.
    let mut ia = a.iter();
    let mut ib = b.iter();
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((ka, va)), Some((kb, vb))) => {
                let o = ka.cmp(kb).then_with(|| cmp_value(va, vb));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// The parameter sets of the optimal points, sorted as AIPerf sorts them.
pub fn optimal_parameters(points: &[Point], goals: &[Goal]) -> Vec<Map<String, Value>> {
    let values: Vec<Vec<f64>> = points.iter().map(|p| p.values.clone()).collect();
    let mask = optimal_mask(&values, goals);
    let mut out: Vec<Map<String, Value>> = points
        .iter()
        .zip(mask)
        .filter(|(_, m)| *m)
        .map(|(p, _)| p.parameters.clone())
        .collect();
    out.sort_by(cmp_params);
    out
}

/// `lt`, `le`, `gt`, `ge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A service-level objective: `key op threshold`, e.g. `time_to_first_token_p99:lt:200`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slo {
    pub key: String,
    pub op: Op,
    pub threshold: f64,
}

impl Slo {
    /// Parses `key:op:threshold` or AIPerf's `tag:stat:op:threshold`.
    pub fn parse(text: &str) -> anyhow::Result<Slo> {
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let (key, op, thr) = match parts.as_slice() {
            [k, op, t] => (k.to_string(), *op, *t),
            [tag, stat, op, t] => (format!("{tag}_{stat}"), *op, *t),
            _ => bail!("--slo '{text}': expected key:op:threshold, e.g. time_to_first_token_p99:lt:200"),
        };
        let op = match op {
            "lt" => Op::Lt,
            "le" => Op::Le,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            other => bail!("--slo '{text}': unknown operator '{other}': use lt, le, gt or ge"),
        };
        let threshold: f64 = thr
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| anyhow::anyhow!("--slo '{text}': threshold '{thr}' is not a number"))?;
        if key.is_empty() {
            bail!("--slo '{text}': empty metric key");
        }
        Ok(Slo { key, op, threshold })
    }

    pub fn passes(&self, v: f64) -> bool {
        match self.op {
            Op::Lt => v < self.threshold,
            Op::Le => v <= self.threshold,
            Op::Gt => v > self.threshold,
            Op::Ge => v >= self.threshold,
        }
    }
}

/// One point in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportPoint {
    pub parameters: Map<String, Value>,
    /// Objective values by key (across-trial means).
    pub values: Map<String, Value>,
    /// `[ci_low, ci_high]` by objective key, when the input has trials.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub ci: Map<String, Value>,
    pub feasible: bool,
    pub pareto_optimal: bool,
    /// Parameter sets of the points that dominate this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dominated_by: Vec<Map<String, Value>>,
    /// With `--ci`: optimal points whose dominance over these is within the confidence intervals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_significant_over: Option<Vec<Map<String, Value>>>,
    /// With `--ci`: optimal and every dominance it has is significant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub significant: Option<bool>,
    /// With `--ci`: dominated, but not significantly, so it may be optimal too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possibly_optimal: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SloSummary {
    pub active_filters: Vec<Slo>,
    pub feasible_count: usize,
    pub infeasible_count: usize,
}

/// The frontier and every point's place relative to it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub objectives: Vec<Objective>,
    /// Optimal parameter sets among the feasible points, sorted as AIPerf sorts them.
    pub pareto_optimal: Vec<Map<String, Value>>,
    pub points: Vec<ReportPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloSummary>,
}

fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// Computes the report. `slo_values[i][k]` is point i's value of `slos[k].key` (None = missing,
/// which makes the point infeasible, as in AIPerf).
pub fn analyze(
    points: &[Point],
    objectives: &[Objective],
    slos: &[Slo],
    slo_values: &[Vec<Option<f64>>],
    with_ci: bool,
) -> Report {
    let goals: Vec<Goal> = objectives.iter().map(|o| o.goal).collect();
    let feasible: Vec<bool> = (0..points.len())
        .map(|i| {
            slos.iter()
                .enumerate()
                .all(|(k, s)| slo_values.get(i).and_then(|v| v[k]).is_some_and(|v| s.passes(v)))
        })
        .collect();
    let idx: Vec<usize> = (0..points.len()).filter(|&i| feasible[i]).collect();
    let mut optimal = vec![false; points.len()];
    let mut dominated_by: Vec<Vec<usize>> = vec![Vec::new(); points.len()];
    for &i in &idx {
        for &j in &idx {
            if i != j && dominates(&points[j].values, &points[i].values, &goals) {
                dominated_by[i].push(j);
            }
        }
        optimal[i] = dominated_by[i].is_empty();
    }
    let interval = |p: &Point, k: usize| p.ci[k].unwrap_or((p.values[k], p.values[k]));
    let mut not_sig: Vec<Vec<usize>> = vec![Vec::new(); points.len()];
    let mut possibly = vec![false; points.len()];
    if with_ci {
        for &q in &idx {
            for &p in &dominated_by[q] {
                let insignificant = (0..goals.len())
                    .filter(|&k| strictly_better(points[p].values[k], points[q].values[k], goals[k]))
                    .all(|k| overlap(interval(&points[p], k), interval(&points[q], k)));
                if insignificant {
                    not_sig[p].push(q);
                    possibly[q] = true;
                }
            }
        }
    }
    let report_points = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut values = Map::new();
            let mut ci = Map::new();
            for (k, o) in objectives.iter().enumerate() {
                values.insert(o.key.clone(), crate::stats::confidence::json_num(p.values[k]));
                if let Some((lo, hi)) = p.ci[k] {
                    ci.insert(
                        o.key.clone(),
                        Value::Array(vec![
                            crate::stats::confidence::json_num(lo),
                            crate::stats::confidence::json_num(hi),
                        ]),
                    );
                }
            }
            ReportPoint {
                parameters: p.parameters.clone(),
                values,
                ci,
                feasible: feasible[i],
                pareto_optimal: optimal[i],
                dominated_by: dominated_by[i]
                    .iter()
                    .map(|&j| points[j].parameters.clone())
                    .collect(),
                not_significant_over: (with_ci && optimal[i])
                    .then(|| not_sig[i].iter().map(|&j| points[j].parameters.clone()).collect()),
                significant: (with_ci && optimal[i]).then(|| not_sig[i].is_empty()),
                possibly_optimal: (with_ci && feasible[i] && !optimal[i]).then_some(possibly[i]),
            }
        })
        .collect();
    let mut pareto: Vec<Map<String, Value>> = (0..points.len())
        .filter(|&i| optimal[i])
        .map(|i| points[i].parameters.clone())
        .collect();
    pareto.sort_by(cmp_params);
    let slo = (!slos.is_empty()).then(|| SloSummary {
        active_filters: slos.to_vec(),
        feasible_count: idx.len(),
        infeasible_count: points.len() - idx.len(),
    });
    Report {
        objectives: objectives.to_vec(),
        pareto_optimal: pareto,
        points: report_points,
        slo,
    }
}

/// What `pareto` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ParetoOptions {
    /// Metrics to maximise (default `request_throughput_avg`).
    pub maximize: Vec<String>,
    /// Metrics to minimise (default p99 TTFT, or p99 request latency when not streaming).
    pub minimize: Vec<String>,
    pub slos: Vec<Slo>,
    pub ci: bool,
}

/// Computes the report for parsed points.
pub fn run(points: &[InputPoint], opts: &ParetoOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(!points.is_empty(), "no points to compare (empty input)");
    let has_all = |k: &str| points.iter().all(|p| metric_value(&p.metrics, k).is_some());
    let mut objectives: Vec<Objective> = Vec::new();
    if opts.maximize.is_empty() {
        objectives.push(Objective {
            key: THROUGHPUT_KEY.into(),
            goal: Goal::Maximize,
            unit: None,
        });
    }
    objectives.extend(opts.maximize.iter().map(|k| Objective {
        key: k.clone(),
        goal: Goal::Maximize,
        unit: None,
    }));
    if opts.minimize.is_empty() {
        // Neither latency present: name the last, so the error says which objective is missing.
        let lat = latency_key(has_all).unwrap_or(LATENCY_KEYS[1]);
        objectives.push(Objective {
            key: lat.into(),
            goal: Goal::Minimize,
            unit: None,
        });
    }
    objectives.extend(opts.minimize.iter().map(|k| Objective {
        key: k.clone(),
        goal: Goal::Minimize,
        unit: None,
    }));
    for o in &mut objectives {
        o.unit = points.iter().find_map(|p| metric_unit(&p.metrics, &o.key));
    }
    let mut pts = Vec::with_capacity(points.len());
    for p in points {
        let mut values = Vec::new();
        let mut ci = Vec::new();
        for o in &objectives {
            let (v, c) = metric_value(&p.metrics, &o.key).ok_or_else(|| {
                let mut keys: Vec<&String> = p.metrics.keys().filter(|k| k.contains("throughput") || k.contains("latency") || k.contains("first_token")).collect();
                keys.truncate(8);
                anyhow::anyhow!(
                    "objective '{}' is missing for {} (give --maximize/--minimize with a key present in every point, e.g. {})",
                    o.key,
                    crate::artifacts::names::describe(&p.parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()),
                    keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                )
            })?;
            values.push(v);
            ci.push(c);
        }
        pts.push(Point {
            parameters: p.parameters.clone(),
            values,
            ci,
        });
    }
    let slo_values: Vec<Vec<Option<f64>>> = points
        .iter()
        .map(|p| {
            opts.slos
                .iter()
                .map(|s| metric_value(&p.metrics, &s.key).map(|v| v.0))
                .collect()
        })
        .collect();
    Ok(analyze(&pts, &objectives, &opts.slos, &slo_values, opts.ci))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pts(rows: &[(Value, &[f64])]) -> Vec<Point> {
        rows.iter()
            .map(|(p, v)| Point {
                parameters: p.as_object().unwrap().clone(),
                values: v.to_vec(),
                ci: vec![None; v.len()],
            })
            .collect()
    }

    fn c(n: u64) -> Value {
        json!({ "concurrency": n })
    }

    fn optimal_c(rows: &[(u64, &[f64])], goals: &[Goal]) -> Vec<u64> {
        let points = pts(&rows.iter().map(|(n, v)| (c(*n), *v)).collect::<Vec<_>>());
        optimal_parameters(&points, goals)
            .iter()
            .map(|p| p["concurrency"].as_u64().unwrap())
            .collect()
    }

    /// TV3 of test-vectors.md.
    #[test]
    fn tv3_pareto_vectors() {
        use Goal::*;
        let tl = [Maximize, Minimize];
        assert_eq!(
            optimal_c(&[(10, &[100., 50.]), (20, &[150., 40.]), (30, &[80., 60.])], &tl),
            [20]
        );
        assert_eq!(
            optimal_c(&[(10, &[50., 30.]), (20, &[100., 50.]), (30, &[150., 80.])], &tl),
            [10, 20, 30]
        );
        assert_eq!(
            optimal_c(&[(10, &[100., 50.]), (20, &[100., 50.])], &tl),
            [10, 20]
        );
        assert_eq!(optimal_c(&[(10, &[100., 50.]), (20, &[150., 50.])], &tl), [20]);
        assert_eq!(
            optimal_c(&[(10, &[100.0000001, 50.]), (20, &[100.0000002, 50.])], &tl),
            [20]
        );
        assert_eq!(
            optimal_c(
                &[
                    (10, &[50., 30.]),
                    (20, &[80., 45.]),
                    (30, &[100., 50.]),
                    (40, &[120., 70.]),
                    (50, &[110., 80.])
                ],
                &tl
            ),
            [10, 20, 30, 40]
        );
        let three = [Maximize, Minimize, Minimize];
        assert_eq!(
            optimal_c(
                &[
                    (10, &[150., 80., 10.]),
                    (20, &[100., 40., 20.]),
                    (30, &[50., 60., 30.])
                ],
                &three
            ),
            [10, 20]
        );
        assert_eq!(
            optimal_c(
                &[
                    (5, &[80., 40., 45.]),
                    (10, &[120., 60., 70.]),
                    (20, &[200., 50., 55.])
                ],
                &three
            ),
            [5, 20]
        );
        assert_eq!(
            optimal_c(&[(10, &[-50., 10.]), (20, &[-30., 20.]), (30, &[-40., 15.])], &tl),
            [10, 20, 30]
        );
        let multi = pts(&[
            (json!({"concurrency": 20, "request_rate": 5}), &[100., 50.]),
            (json!({"concurrency": 10, "request_rate": 10}), &[120., 60.]),
            (json!({"concurrency": 10, "request_rate": 5}), &[90., 40.]),
        ]);
        assert_eq!(
            Value::from(
                optimal_parameters(&multi, &tl)
                    .into_iter()
                    .map(Value::Object)
                    .collect::<Vec<_>>()
            ),
            json!([{"concurrency": 10, "request_rate": 5}, {"concurrency": 10, "request_rate": 10}, {"concurrency": 20, "request_rate": 5}])
        );
        assert!(optimal_parameters(&[], &tl).is_empty());
    }

    #[test]
    fn slo_filters_and_ci_significance() {
        use Goal::*;
        let objectives = vec![
            Objective {
                key: "thr".into(),
                goal: Maximize,
                unit: None,
            },
            Objective {
                key: "lat".into(),
                goal: Minimize,
                unit: None,
            },
        ];
        let mut points = pts(&[(c(1), &[100., 50.]), (c(2), &[101., 49.]), (c(4), &[200., 300.])]);
        // c2 dominates c1, but the intervals overlap: not significant.
        points[0].ci = vec![Some((95., 105.)), Some((45., 55.))];
        points[1].ci = vec![Some((96., 106.)), Some((44., 54.))];
        let r = analyze(&points, &objectives, &[], &[], true);
        assert_eq!(r.pareto_optimal.len(), 2);
        assert_eq!(r.points[1].significant, Some(false));
        assert_eq!(r.points[0].possibly_optimal, Some(true));
        assert_eq!(r.points[2].significant, Some(true));
        let slo = Slo::parse("lat:lt:200").unwrap();
        let vals: Vec<Vec<Option<f64>>> = points.iter().map(|p| vec![Some(p.values[1])]).collect();
        let r = analyze(&points, &objectives, std::slice::from_ref(&slo), &vals, false);
        assert_eq!(r.pareto_optimal, vec![c(2).as_object().unwrap().clone()]);
        assert_eq!(r.slo.as_ref().unwrap().infeasible_count, 1);
        assert!(!r.points[2].feasible);
        let four = Slo::parse("time_to_first_token:p99:le:200").unwrap();
        assert_eq!((four.key.as_str(), four.op), ("time_to_first_token_p99", Op::Le));
        assert!(Slo::parse("x:eq:1")
            .unwrap_err()
            .to_string()
            .contains("unknown operator 'eq'"));
    }
}
