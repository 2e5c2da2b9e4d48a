//! The search's answer and how sure it is. The point is the planner's latched `feasible_max` (a
//! value that was measured to hold, its verdict re-measured until stable: `planner::verify`). The
//! interval comes from a bootstrap over trials and requests: each replicate resamples the trials
//! of every probed value (run-to-run noise: a slow run, a busy neighbour), then each chosen
//! trial's requests, recomputes each filter's stat, takes its median over the chosen trials (one
//! slow run among several does not move it), and places the boundary where the worst
//! (threshold-scaled) margin crosses zero, interpolating between the last value that holds and the
//! first that does not. The 2.5% and 97.5% quantiles of the replicates' largest whole value below
//! that crossing, widened to contain the point, are the 95% interval. Trials without records enter
//! at their summary values. Goodput recipes add the Wilson interval of the share of good requests
//! at the answer.

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::RngExt;
use serde::Serialize;

use super::evidence::{stat_from_requests, Request, Trial};
use super::planner::verify::Check;
use super::recipes::SearchConfig;
use crate::contract::settings::Sweepable;
use crate::stats::bootstrap::{quantile, resample_indices, rng};
use crate::stats::proportion::wilson;

/// Bootstrap replicates behind the interval.
pub const REPLICATES: usize = 1000;

/// The trials measured at one value of the dimension (over all its iterations).
pub struct ValueTrials<'a> {
    pub value: i64,
    pub trials: Vec<&'a Trial>,
}

/// The interval and the method that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// Whole values, 95%.
    pub lo: i64,
    pub hi: i64,
    /// The interpolated crossing (a real number) and its 95% bootstrap interval.
    pub crossing: Option<f64>,
    pub crossing_lo: Option<f64>,
    pub crossing_hi: Option<f64>,
    /// `bootstrap over trials and requests`, `bootstrap over requests` (one trial per value),
    /// `bootstrap over trials` (no records) or `none`.
    pub method: String,
    /// The intervals' level (0.95).
    pub level: f64,
}

/// Share of good requests at the answer, with its Wilson interval (fractions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attainment {
    pub good: u64,
    pub total: u64,
    pub fraction: f64,
    pub wilson_lo: f64,
    pub wilson_hi: f64,
}

/// The best feasible iteration by the objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Best {
    /// The searched parameter's value.
    pub value: i64,
    /// The objective (e.g. output_token_throughput avg, tokens/sec), mean over successful trials.
    pub objective: f64,
}

/// The boundary's re-measurement: the values the answer rests on and their runs' verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Boundary {
    /// The last value that held, the first that failed, and any value out of monotonic order.
    pub checks: Vec<Check>,
    /// Runs spent re-measuring them (beyond the planner's own).
    pub extra_runs: u32,
    /// `--search-verify-runs`: the most such runs allowed.
    pub budget: u32,
}

impl From<(&[Check], u32, u32)> for Boundary {
    /// From the planner's `verification()`: checks, runs spent, budget.
    fn from((checks, extra_runs, budget): (&[Check], u32, u32)) -> Boundary {
        Boundary {
            checks: checks.to_vec(),
            extra_runs,
            budget,
        }
    }
}

/// What `search_answer.json` holds and the sentence says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The searched parameter (`concurrency`, `request_rate`).
    pub parameter: String,
    /// The largest value measured to meet every filter; null when none did.
    pub value: Option<i64>,
    pub interval: Option<Interval>,
    pub attainment: Option<Attainment>,
    /// The objective's best feasible iteration — what the throughput recipes answer.
    pub best: Option<Best>,
    /// How the boundary was re-measured (null for a folder read without the load flags' budget).
    pub boundary: Option<Boundary>,
    /// False when a verdict the answer rests on did not settle within the budget, or the search
    /// stopped at `--search-max-iterations`: the value is then the best guess, not a finding.
    pub sure: bool,
    /// Trials run (every iteration's, failed ones too).
    pub runs: usize,
    pub convergence_reason: String,
    /// The one-line answer.
    pub text: String,
}

/// Worst threshold-scaled margin at one value (≤ 0: every filter holds), from per-trial stats.
fn scaled_margin(cfg: &SearchConfig, stats: &[Vec<Option<f64>>]) -> f64 {
    cfg.filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let v: Vec<f64> = stats.iter().filter_map(|s| s[i]).collect();
            if v.is_empty() {
                return f64::INFINITY;
            }
            let m = f.margin(median(v));
            m / if f.threshold != 0.0 {
                f.threshold.abs()
            } else {
                1.0
            }
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The median (one slow trial among three does not move it; two average).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Per trial, per filter: the stat from resampled requests (or the summary when no records).
fn replicate_stats(cfg: &SearchConfig, trials: &[&Trial], r: Option<&mut SmallRng>) -> Vec<Vec<Option<f64>>> {
    let mut r = r;
    trials
        .iter()
        .filter_map(|t| t.result.as_ref().ok())
        .map(|d| {
            let picked: Option<Vec<&Request>> = d.requests.as_ref().map(|reqs| match r.as_deref_mut() {
                Some(g) => resample_indices(g, reqs.len())
                    .into_iter()
                    .map(|i| &reqs[i])
                    .collect(),
                None => reqs.iter().collect(),
            });
            cfg.filters
                .iter()
                .map(|f| {
                    let from_records = picked
                        .as_ref()
                        .and_then(|p| stat_from_requests(p, &f.metric_tag, &f.stat, &cfg.slos));
                    match r.is_some() {
                        true => from_records.or_else(|| d.stat(&f.metric_tag, &f.stat, &cfg.slos)),
                        false => d.stat(&f.metric_tag, &f.stat, &cfg.slos),
                    }
                })
                .collect()
        })
        .collect()
}

/// The crossing of the margin curve: interpolated between the last value that holds and the
/// first that fails (scanning up); `hi` when none fails, `lo - 1` when the lowest fails.
fn crossing(points: &[(i64, f64)], hi: f64) -> f64 {
    match points.iter().position(|(_, m)| *m > 0.0) {
        None => hi,
        Some(0) => points[0].0 as f64 - 1.0,
        Some(k) => {
            let ((x0, m0), (x1, m1)) = (points[k - 1], points[k]);
            let t = if m1 - m0 > 0.0 && m0.is_finite() {
                (-m0 / (m1 - m0)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            x0 as f64 + t * (x1 - x0) as f64
        }
    }
}

/// The largest whole value below a crossing, kept between the probes that bracket it.
fn whole_below(points: &[(i64, f64)], c: f64) -> i64 {
    let above = points.iter().find(|(x, _)| *x as f64 > c).map(|(x, _)| *x);
    let v = c.floor() as i64;
    match above {
        Some(a) if v >= a => a - 1,
        _ => v,
    }
}

/// The bootstrap interval of the answer over the values probed.
pub fn interval(cfg: &SearchConfig, values: &[ValueTrials], point: i64, level: f64) -> Interval {
    let with_records = values
        .iter()
        .flat_map(|v| &v.trials)
        .any(|t| t.result.as_ref().is_ok_and(|d| d.requests.is_some()));
    let many_trials = values.iter().any(|v| v.trials.len() > 1);
    let method = match (with_records, many_trials) {
        (true, true) => "bootstrap over trials and requests",
        (true, false) => "bootstrap over requests",
        (false, true) => "bootstrap over trials",
        (false, false) => "none",
    };
    let observed: Vec<(i64, f64)> = values
        .iter()
        .map(|v| {
            (
                v.value,
                scaled_margin(cfg, &replicate_stats(cfg, &v.trials, None)),
            )
        })
        .collect();
    let c0 = crossing(&observed, cfg.dim.hi);
    let mut g = rng(0);
    let mut crossings = Vec::with_capacity(REPLICATES);
    let mut wholes = Vec::with_capacity(REPLICATES);
    let reps = if method == "none" { 0 } else { REPLICATES };
    for _ in 0..reps {
        let pts: Vec<(i64, f64)> = values
            .iter()
            .map(|v| {
                let n = v.trials.len();
                let picked: Vec<&Trial> = if n > 1 {
                    (0..n).map(|_| v.trials[g.random_range(0..n)]).collect()
                } else {
                    v.trials.clone()
                };
                let stats = replicate_stats(cfg, &picked, with_records.then_some(&mut g));
                (v.value, scaled_margin(cfg, &stats))
            })
            .collect();
        let c = crossing(&pts, cfg.dim.hi);
        crossings.push(c);
        wholes.push(whole_below(&pts, c) as f64);
    }
    crossings.sort_by(f64::total_cmp);
    wholes.sort_by(f64::total_cmp);
    let (lo, hi) = if wholes.is_empty() {
        (point, point.max(whole_below(&observed, c0)))
    } else {
        (
            quantile(&wholes, (1.0 - level) / 2.0) as i64,
            quantile(&wholes, (1.0 + level) / 2.0).ceil() as i64,
        )
    };
    Interval {
        lo: lo.min(point),
        hi: hi.max(point),
        crossing: c0.is_finite().then_some(c0),
        crossing_lo: crossings
            .first()
            .map(|_| quantile(&crossings, (1.0 - level) / 2.0)),
        crossing_hi: crossings
            .first()
            .map(|_| quantile(&crossings, (1.0 + level) / 2.0)),
        level,
        method: method.to_string(),
    }
}

/// Good and attempted requests at one value (goodput recipes), with the Wilson interval.
pub fn attainment(cfg: &SearchConfig, v: &ValueTrials, level: f64) -> Option<Attainment> {
    let reqs: Vec<&Request> = v
        .trials
        .iter()
        .filter_map(|t| t.result.as_ref().ok())
        .filter_map(|d| d.requests.as_ref())
        .flatten()
        .collect();
    let total = reqs.len() as u64;
    let good = reqs
        .iter()
        .filter(|r| super::evidence::is_good(r, &cfg.slos))
        .count() as u64;
    let (lo, hi) = wilson(good, total, level)?;
    Some(Attainment {
        good,
        total,
        fraction: good as f64 / total as f64,
        wilson_lo: lo,
        wilson_hi: hi,
    })
}

/// The answer's one line, e.g. `max concurrency under SLA: 23 (95% interval 21–25), 9 runs`.
pub fn sentence(cfg: &SearchConfig, a: &Answer, breach: Option<&str>) -> String {
    let what = match cfg.dim.param {
        Sweepable::RequestRate => "request rate",
        _ => "concurrency",
    };
    let unit = if cfg.dim.param == Sweepable::RequestRate {
        " requests/sec"
    } else {
        ""
    };
    let runs = format!("{} run{}", a.runs, if a.runs == 1 { "" } else { "s" });
    let unsure = a
        .boundary
        .as_ref()
        .and_then(unsure_note)
        .map(|n| format!(" — {n}"))
        .unwrap_or_default();
    let Some(v) = a.value else {
        let why = breach
            .map(|b| format!(": even {} breaks {b}", cfg.dim.lo))
            .unwrap_or_default();
        return format!(
            "no {what} in [{}, {}] meets the SLA{why}{unsure}, {runs}",
            cfg.dim.lo, cfg.dim.hi
        );
    };
    let head = match cfg.attainment {
        Some(f) if cfg.recipe.as_deref() == Some("max-goodput-attainment") => {
            format!(
                "max {what} with ≥{}% of requests meeting every SLO",
                (f * 1e4).round() / 100.0
            )
        }
        Some(f) => format!(
            "max {what} with goodput attainment ≥{}%",
            (f * 1e4).round() / 100.0
        ),
        None => format!("max {what} under SLA"),
    };
    let mut detail = Vec::new();
    if let Some(i) = &a.interval {
        detail.push(if i.method == "none" {
            format!(
                "interval {}–{}: one trial per value and no records, so no spread",
                i.lo, i.hi
            )
        } else {
            format!("{}% interval {}–{}", pct(i.level), i.lo, i.hi)
        });
    }
    if let Some(t) = &a.attainment {
        detail.push(format!(
            "attainment {:.1}%, Wilson {}% {:.1}–{:.1}%",
            t.fraction * 100.0,
            a.interval.as_ref().map_or(95.0, |i| pct(i.level)),
            t.wilson_lo * 100.0,
            t.wilson_hi * 100.0
        ));
    }
    let mut s = format!("{head}: {v}{unit} ({})", detail.join("; "));
    if a.convergence_reason.ends_with("no_failure_in_range") {
        s = format!("{head}: at least {v}{unit} (the SLA held up to the top of the range){unsure}, ");
        return s + &runs;
    }
    if let (
        Some(Best {
            value: bv,
            objective: obj,
        }),
        false,
    ) = (
        &a.best,
        cfg.objective.metric == "goodput" && cfg.attainment.is_some(),
    ) {
        if cfg
            .recipe
            .as_deref()
            .is_some_and(|r| r.starts_with("max-throughput"))
        {
            s.push_str(&format!(
                "; best {} {obj:.2} at {what} {bv}",
                cfg.objective.metric
            ));
        }
    }
    if a.convergence_reason == "max_iterations" {
        s.push_str(" — stopped at --search-max-iterations before the bracket closed");
    }
    format!("{s}{unsure}, {runs}")
}

/// Why the answer is unsure: the verdicts the boundary rests on that did not settle.
pub fn unsure_note(b: &Boundary) -> Option<String> {
    let open: Vec<String> = b
        .checks
        .iter()
        .filter(|c| !c.stable)
        .map(|c| format!("{} ({} held, {} failed)", c.value, c.passes, c.fails))
        .collect();
    if open.is_empty() {
        return None;
    }
    let (s, list) = (if open.len() == 1 { "" } else { "s" }, open.join(", "));
    Some(if b.budget == 0 {
        format!(
            "unsure: the verdict{s} at {list} not re-measured (give the load flags and --search-verify-runs)"
        )
    } else {
        format!(
            "unsure: the verdict{s} at {list} did not settle in {} re-measuring runs (--search-verify-runs)",
            b.extra_runs
        )
    })
}

/// A level as a percentage (0.95 → 95).
fn pct(level: f64) -> f64 {
    (level * 1e4).round() / 100.0
}

/// Groups the iterations' trials by value, ascending.
pub fn by_value<'a>(iterations: impl IntoIterator<Item = (i64, &'a [Trial])>) -> Vec<ValueTrials<'a>> {
    let mut m: BTreeMap<i64, Vec<&Trial>> = BTreeMap::new();
    for (v, trials) in iterations {
        m.entry(v).or_default().extend(trials.iter());
    }
    m.into_iter()
        .map(|(value, trials)| ValueTrials { value, trials })
        .collect()
}
