//! The comparison as a terminal table: the decision first (what the reader came for), then each
//! pair's metrics at each value with both sides' intervals, the ratio and the verdict, then the gates.

use std::fmt::Write;

use super::gate::short;
use super::verdict;
use crate::contract::comparison::{Capacity, Comparison, Side};

/// `63.10 [62.05, 64.15]`.
pub fn side_text(s: &Side) -> String {
    if s.trials < 2 {
        return format!("{} (1 trial)", short(s.mean));
    }
    format!("{} [{}, {}]", short(s.mean), short(s.ci_low), short(s.ci_high))
}

/// `×1.020 [0.990, 1.050]`, or `-` without one.
pub fn ratio_text(r: Option<&crate::contract::comparison::Interval>) -> String {
    r.map_or("-".into(), |r| {
        format!("×{:.3} [{:.3}, {:.3}]", r.value, r.low, r.high)
    })
}

/// One configuration's capacity line.
pub fn capacity_text(c: &Capacity) -> String {
    let (Some(k), Some(v)) = (&c.parameter, c.value) else {
        return "meets the SLO at no measured load".into();
    };
    let range = match (c.value_low, c.value_high) {
        (Some(lo), Some(hi)) if c.source == "search_answer" => format!(" (95% interval {lo}–{hi})"),
        (_, Some(hi)) => format!(" (fails at {hi})"),
        _ => " (the largest value measured)".into(),
    };
    let thr = c.throughput.as_ref().map_or("no throughput".into(), |t| {
        format!("{} {}", side_text(t), c.throughput_unit)
    });
    let one = c.throughput.as_ref().is_some_and(|t| t.trials < 2);
    let sure = if one {
        "one trial: no interval to judge it on"
    } else if c.holds_on_interval {
        "holds on the interval too"
    } else {
        "holds on the means only"
    };
    format!("largest {k} {v}{range}: {thr}; {sure}")
}

/// The whole comparison as text.
pub fn render(c: &Comparison) -> String {
    let mut o = String::new();
    let cfgs: Vec<String> = c
        .configurations
        .iter()
        .map(|k| {
            format!(
                "{} ({}, {} values, {}–{} trials)",
                k.label, k.kind, k.values, k.min_trials, k.max_trials
            )
        })
        .collect();
    let _ = writeln!(o, "compare: {} (base: {})", cfgs.join(" vs "), c.base);
    if let Some(d) = &c.decision {
        let _ = writeln!(o, "\nDECISION\n  {}", d.sentence);
        let w = d.capacities.iter().map(|k| k.label.len()).max().unwrap_or(0);
        for k in &d.capacities {
            let _ = writeln!(o, "  {:<w$}  {}", k.label, capacity_text(k));
        }
    }
    let pct = c.equivalence_margin;
    for p in &c.pairs {
        for pt in &p.points {
            let _ = writeln!(o, "\n{} vs {} at {}", p.new, p.base, pt.label);
            let rows: Vec<[String; 6]> = pt
                .metrics
                .iter()
                .map(|m| {
                    [
                        m.metric.clone(),
                        m.unit.clone(),
                        side_text(&m.base),
                        side_text(&m.new),
                        ratio_text(m.ratio.as_ref()),
                        verdict::text(m, pct),
                    ]
                })
                .collect();
            let head = [
                "metric",
                "unit",
                "base [95% CI]",
                "new [95% CI]",
                "new/base [95% CI]",
                "verdict",
            ];
            let mut w = head.map(|h| h.chars().count());
            for r in &rows {
                for (i, x) in r.iter().enumerate() {
                    w[i] = w[i].max(x.chars().count());
                }
            }
            for r in std::iter::once(head.map(String::from)).chain(rows) {
                let cells: Vec<String> = r.iter().enumerate().map(|(i, x)| pad(x, w[i])).collect();
                let _ = writeln!(o, "  {}", cells.join("  ").trim_end());
            }
        }
    }
    if !c.gates.is_empty() {
        let _ = writeln!(o, "\nGATES");
        for g in &c.gates {
            let _ = writeln!(o, "  {} {}", if g.passed { "PASS" } else { "FAIL" }, g.sentence);
        }
    }
    for w in &c.warnings {
        let _ = writeln!(o, "\nwarning: {w}");
    }
    o
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}
