//! Whether a finding survives the run-to-run noise: a "best", a Pareto point, an inflection or a
//! knee is claimed in findings.md only when the confidence intervals across trials separate;
//! otherwise the claim is marked "within noise", with how many trials per value would settle it
//! if the means stayed where they are. The aggregate JSON keeps AIPerf's rules unchanged; only
//! what a person reads is judged here.

use serde_json::{Map, Value};

use crate::artifacts::names::dir_name;
use crate::contract::sweep_aggregate::{CombinationMetrics, SweepAggregate};
use crate::stats::confidence::{t_critical, UnitStats};
use crate::stats::trends::Trend;

/// Beyond this many trials per value the findings say "more than" instead of a number.
pub const MAX_TRIALS: usize = 30;

/// One value's across-trial mean and the half-width of its confidence interval (0 with one trial).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub half: f64,
    /// Trials behind it.
    pub n: usize,
}

impl Estimate {
    pub fn of(m: &UnitStats) -> Estimate {
        let s = &m.stats;
        let half = if s.n >= 2 && s.ci_high.is_finite() {
            s.ci_high - s.mean
        } else {
            0.0
        };
        Estimate {
            mean: s.mean,
            half,
            n: s.n,
        }
    }
}

/// A claim that `high` lies above `low` (a point when `low_half` is 0): it holds when the gap
/// between the means exceeds the two half-widths, i.e. when the intervals separate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    pub gap: f64,
    pub half: f64,
    /// The fewest trials behind either side.
    pub n: usize,
}

impl Gap {
    /// `high` above `low`.
    pub fn above(high: Estimate, low: Estimate) -> Gap {
        Gap {
            gap: high.mean - low.mean,
            half: high.half + low.half,
            n: high.n.min(low.n),
        }
    }

    pub fn holds(&self) -> bool {
        self.gap > self.half
    }
}

/// The verdict on one claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every interval separates.
    Holds,
    /// One trial per value: no interval to judge by.
    Unjudged,
    /// Some interval overlaps; `Some(n)`: n trials per value would separate them if the means and
    /// spreads stayed; `None`: not within [`MAX_TRIALS`] (or the means themselves disagree).
    WithinNoise(Option<usize>),
}

impl Verdict {
    /// Judges claims that must all hold.
    pub fn of(gaps: &[Gap], level: f64) -> Verdict {
        if gaps.iter().any(|g| g.n < 2) {
            return Verdict::Unjudged;
        }
        let open: Vec<&Gap> = gaps.iter().filter(|g| !g.holds()).collect();
        if open.is_empty() {
            return Verdict::Holds;
        }
        let mut most = 0;
        for g in open {
            match trials_to_separate(g, level) {
                Some(n) => most = most.max(n),
                None => return Verdict::WithinNoise(None),
            }
        }
        Verdict::WithinNoise(Some(most))
    }

    /// Whether the claim may be made (it held, or there are no intervals to doubt it with).
    pub fn stands(&self) -> bool {
        !matches!(self, Verdict::WithinNoise(_))
    }

    /// " — within noise (…)" after a claim, empty when it holds.
    pub fn note(&self) -> String {
        match self {
            Verdict::Holds | Verdict::Unjudged => String::new(),
            Verdict::WithinNoise(Some(n)) => format!(
                " — within noise: the confidence intervals overlap; about {n} trials per value would settle it"
            ),
            Verdict::WithinNoise(None) => format!(
                " — within noise: the confidence intervals overlap, and even {MAX_TRIALS} trials per value would likely not settle it"
            ),
        }
    }
}

/// Interval half-width per unit of standard deviation with `n` trials: `t(n−1) / √n`.
fn width(n: usize, level: f64) -> f64 {
    t_critical(level, n as f64 - 1.0) / (n as f64).sqrt()
}

/// The fewest trials (above the current count) at which the gap would exceed the half-widths,
/// assuming the means and standard deviations stay as measured.
pub fn trials_to_separate(g: &Gap, level: f64) -> Option<usize> {
    if g.gap <= 0.0 || g.n < 2 {
        return None;
    }
    let now = width(g.n, level);
    (g.n + 1..=MAX_TRIALS).find(|&m| g.half * width(m, level) / now < g.gap)
}

/// The estimates of `key` at one combination.
pub fn estimate(c: &CombinationMetrics, key: &str) -> Option<Estimate> {
    c.metrics.get(key).map(Estimate::of)
}

/// The combination at point `i` of a trend (its parameter value, plus the values a grid line holds
/// fixed; `variation` trends match by folder name).
pub fn at_trend<'a>(agg: &'a SweepAggregate, t: &Trend, i: usize) -> Option<&'a CombinationMetrics> {
    let v = t.parameter_values.get(i)?;
    agg.per_combination_metrics.iter().find(|c| {
        let on_line = t.fixed.iter().all(|(k, x)| c.parameters.get(k) == Some(x));
        on_line && label(agg, &t.parameter, &c.parameters).as_ref() == Some(v)
    })
}

/// A combination's position along a trend: its value of the swept parameter, or its folder name
/// when several parameters move together (`variation`).
pub fn label(agg: &SweepAggregate, parameter: &str, params: &Map<String, Value>) -> Option<Value> {
    if parameter == "variation" {
        let ordered: Vec<(String, Value)> = agg
            .metadata
            .sweep_parameters
            .iter()
            .filter_map(|p| params.get(&p.name).map(|v| (p.name.clone(), v.clone())))
            .collect();
        Some(Value::from(dir_name(&ordered)))
    } else {
        params.get(parameter).cloned()
    }
}

/// The estimates of `key` at every point of a trend (`None` where a point has none).
fn along(agg: &SweepAggregate, t: &Trend, key: &str) -> Option<Vec<Estimate>> {
    (0..t.parameter_values.len())
        .map(|i| at_trend(agg, t, i).and_then(|c| estimate(c, key)))
        .collect()
}

/// Throughput "scaling slows at" point `i`: the gain into the value before was real (its interval
/// above the one before it), and the value at `i` sits below where that gain would have put it,
/// beyond its interval.
pub fn slows(agg: &SweepAggregate, t: &Trend, key: &str, i: usize) -> Verdict {
    let level = agg.metadata.confidence_level;
    let Some(e) = along(agg, t, key) else {
        return Verdict::Unjudged;
    };
    if i < 2 || i >= e.len() {
        return Verdict::Unjudged;
    }
    let extrapolated = Estimate {
        mean: 2.0 * e[i - 1].mean - e[i - 2].mean,
        half: 0.0,
        n: e[i].n,
    };
    Verdict::of(
        &[Gap::above(e[i - 1], e[i - 2]), Gap::above(extrapolated, e[i])],
        level,
    )
}

/// Latency "degrades sharply at" point `i`: its interval lies above every earlier value's, and
/// above where the previous step's rise would have put it.
pub fn degrades(agg: &SweepAggregate, t: &Trend, key: &str, i: usize) -> Verdict {
    let level = agg.metadata.confidence_level;
    let Some(e) = along(agg, t, key) else {
        return Verdict::Unjudged;
    };
    if i < 2 || i >= e.len() {
        return Verdict::Unjudged;
    }
    let mut gaps: Vec<Gap> = e[..i].iter().map(|&b| Gap::above(e[i], b)).collect();
    let extrapolated = Estimate {
        mean: 2.0 * e[i - 1].mean - e[i - 2].mean,
        half: 0.0,
        n: e[i].n,
    };
    gaps.push(Gap::above(e[i], extrapolated));
    Verdict::of(&gaps, level)
}

/// A knee at `x`: the same test as "scaling slows" at the value after it (throughput rose into
/// `x` beyond noise, and the next value sits below where that rise would have put it).
pub fn knee(agg: &SweepAggregate, t: &Trend, key: &str, x: f64) -> Verdict {
    match t.parameter_values.iter().position(|v| v.as_f64() == Some(x)) {
        Some(i) if i >= 1 => slows(agg, t, key, i + 1),
        _ => Verdict::Unjudged,
    }
}

/// The best of `key` (highest when `higher`) at `best`: its interval separates from every other
/// combination's. Returns the verdict and the combinations still within noise of it.
pub fn best(
    agg: &SweepAggregate,
    best: &Map<String, Value>,
    key: &str,
    higher: bool,
) -> (Verdict, Vec<Map<String, Value>>) {
    let cs = &agg.per_combination_metrics;
    let Some(b) = cs
        .iter()
        .find(|c| &c.parameters == best)
        .and_then(|c| estimate(c, key))
    else {
        return (Verdict::Unjudged, Vec::new());
    };
    let mut gaps = Vec::new();
    let mut close = Vec::new();
    for c in cs.iter().filter(|c| &c.parameters != best) {
        let Some(o) = estimate(c, key) else { continue };
        let g = if higher {
            Gap::above(b, o)
        } else {
            Gap::above(o, b)
        };
        if !g.holds() {
            close.push(c.parameters.clone());
        }
        gaps.push(g);
    }
    (Verdict::of(&gaps, agg.metadata.confidence_level), close)
}

/// A Pareto point `p` (throughput `thr` up, latency `lat` down) is within noise when another
/// combination is at least as good on both axes once overlapping intervals count as ties.
pub fn pareto(
    agg: &SweepAggregate,
    p: &Map<String, Value>,
    thr: &str,
    lat: &str,
) -> (Verdict, Vec<Map<String, Value>>) {
    let cs = &agg.per_combination_metrics;
    let get = |c: &CombinationMetrics| Some((estimate(c, thr)?, estimate(c, lat)?));
    let Some((pt, pl)) = cs.iter().find(|c| &c.parameters == p).and_then(get) else {
        return (Verdict::Unjudged, Vec::new());
    };
    if pt.n < 2 || pl.n < 2 {
        return (Verdict::Unjudged, Vec::new());
    }
    let mut rivals = Vec::new();
    let mut gaps = Vec::new();
    for c in cs.iter().filter(|c| &c.parameters != p) {
        let Some((qt, ql)) = get(c) else { continue };
        let (t_gap, l_gap) = (Gap::above(pt, qt), Gap::above(ql, pl));
        // p beats q on an axis only where its interval separates; elsewhere q ties or wins.
        if !t_gap.holds() && !l_gap.holds() {
            rivals.push(c.parameters.clone());
            // Separating p from q on the axis where p's mean is better would settle it.
            gaps.push(if t_gap.gap > 0.0 { t_gap } else { l_gap });
        }
    }
    if rivals.is_empty() {
        return (Verdict::Holds, rivals);
    }
    let v = match Verdict::of(&gaps, agg.metadata.confidence_level) {
        Verdict::Holds => Verdict::WithinNoise(None),
        v => v,
    };
    (v, rivals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_intervals_hold_and_overlapping_ones_say_how_many_trials() {
        let a = Estimate {
            mean: 100.0,
            half: 5.0,
            n: 3,
        };
        let far = Estimate {
            mean: 120.0,
            half: 5.0,
            n: 3,
        };
        let near = Estimate {
            mean: 106.0,
            half: 5.0,
            n: 3,
        };
        assert_eq!(Verdict::of(&[Gap::above(far, a)], 0.95), Verdict::Holds);
        // Gap 6 vs half-widths 10 at n = 3 (t 4.30/√3 = 2.48): n = 5 gives 2.78/√5 = 1.24 → 5.0 < 6.
        let v = Verdict::of(&[Gap::above(near, a)], 0.95);
        assert_eq!(v, Verdict::WithinNoise(Some(5)));
        assert!(v.note().contains("about 5 trials per value"), "{}", v.note());
        // A mean on the wrong side is not settled by more trials.
        assert_eq!(
            Verdict::of(&[Gap::above(a, near)], 0.95),
            Verdict::WithinNoise(None)
        );
        let one = Estimate { n: 1, half: 0.0, ..a };
        assert_eq!(Verdict::of(&[Gap::above(near, one)], 0.95), Verdict::Unjudged);
    }
}
