//! One metric at one value, base against new: both sides with their intervals, the difference and
//! the ratio with Welch intervals, and a verdict that knows which way is better. Equivalence (two
//! one-sided tests at the margin) is checked first, so a real but negligible difference reads as
//! "equivalent"; then significance; else "no difference detected", with the trials that would
//! resolve a difference of the margin's size. Below 2 trials a side there is no verdict: a single
//! run's per-request spread says nothing about how much the next run will differ.

use crate::contract::comparison::{Interval, MetricComparison, Side, Verdict};
use crate::stats::welch::{self, Estimate, Sample};

/// How the verdicts are reached.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Two-sided interval level (0.95).
    pub level: f64,
    /// Relative equivalence margin (0.02).
    pub margin: f64,
}

pub fn side(s: &Sample, level: f64) -> Side {
    let (ci_low, ci_high) = s.interval(level);
    Side {
        trials: s.n,
        mean: s.mean,
        std: s.sd,
        ci_low,
        ci_high,
    }
}

fn interval(e: Estimate) -> Interval {
    Interval {
        value: e.value,
        low: e.low,
        high: e.high,
    }
}

/// The verdict alone: `None` below 2 trials a side.
pub fn verdict(base: &Sample, new: &Sample, higher_better: bool, rules: Rules) -> Option<Verdict> {
    if base.n < 2 || new.n < 2 {
        return None;
    }
    if welch::equivalent(base, new, rules.margin, (1.0 - rules.level) / 2.0) {
        return Some(Verdict::Equivalent);
    }
    // The ratio's interval when it exists (the scale gates use), else the difference's.
    let (low, high) = match welch::log_ratio(base, new, rules.level) {
        Some(e) => (e.low, e.high),
        None => {
            let e = welch::difference(base, new, rules.level)?;
            (e.low, e.high)
        }
    };
    let (up, down) = (low > 0.0, high < 0.0);
    Some(match (up, down) {
        (true, _) if higher_better => Verdict::Better,
        (true, _) => Verdict::Worse,
        (_, true) if higher_better => Verdict::Worse,
        (_, true) => Verdict::Better,
        _ => Verdict::NoDifferenceDetected,
    })
}

/// The full comparison of one metric.
pub fn compare(
    metric: &str,
    unit: &str,
    base: &Sample,
    new: &Sample,
    higher_better: bool,
    rules: Rules,
) -> MetricComparison {
    let v = verdict(base, new, higher_better, rules);
    let no_verdict = v.is_none().then(|| {
        format!(
            "{} trial(s) for base, {} for new: a verdict needs at least 2 a side (run-to-run variance; per-request spread does not measure it)",
            base.n, new.n
        )
    });
    MetricComparison {
        metric: metric.to_string(),
        unit: unit.to_string(),
        better: if higher_better { "higher" } else { "lower" }.into(),
        base: side(base, rules.level),
        new: side(new, rules.level),
        difference: welch::difference(base, new, rules.level).map(interval),
        ratio: welch::ratio(base, new, rules.level).map(interval),
        trials_needed: (v == Some(Verdict::NoDifferenceDetected))
            .then(|| welch::trials_needed(base, new, rules.margin, rules.level))
            .flatten(),
        verdict: v,
        no_verdict,
    }
}

/// The verdict in words: `better`, `worse`, `equivalent within ±2%`, `no difference detected (…)`,
/// or why there is none.
pub fn text(m: &MetricComparison, margin: f64) -> String {
    let pct = margin * 100.0;
    match m.verdict {
        Some(Verdict::Better) => "better".into(),
        Some(Verdict::Worse) => "worse".into(),
        Some(Verdict::Equivalent) => format!("equivalent within ±{pct}%"),
        Some(Verdict::NoDifferenceDetected) => match m.trials_needed {
            Some(n) => format!("no difference detected (~{n} trials a side would resolve ±{pct}%)"),
            None => "no difference detected".into(),
        },
        None => format!(
            "no verdict: {} vs {} trial(s), needs 2+ a side",
            m.base.trials, m.new.trials
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        level: 0.95,
        margin: 0.02,
    };

    fn s(xs: &[f64]) -> Sample {
        Sample::of(xs).unwrap()
    }

    #[test]
    fn direction_decides_better_or_worse() {
        let (lo, hi) = (s(&[10.0, 10.2, 9.8]), s(&[20.0, 20.4, 19.6]));
        assert_eq!(verdict(&lo, &hi, true, RULES), Some(Verdict::Better));
        assert_eq!(verdict(&lo, &hi, false, RULES), Some(Verdict::Worse));
        assert_eq!(verdict(&hi, &lo, false, RULES), Some(Verdict::Better));
    }

    #[test]
    fn noisy_overlap_is_no_difference_with_trials_needed() {
        let (a, b) = (s(&[90.0, 110.0, 100.0]), s(&[95.0, 115.0, 104.0]));
        let m = compare("x_avg", "ms", &a, &b, false, RULES);
        assert_eq!(m.verdict, Some(Verdict::NoDifferenceDetected));
        assert!(m.trials_needed.unwrap() > 3, "{m:?}");
        assert!(m.ratio.unwrap().low < 1.0 && m.ratio.unwrap().high > 1.0);
    }

    #[test]
    fn one_trial_says_so_and_gives_no_verdict() {
        let m = compare("x_avg", "ms", &s(&[10.0]), &s(&[20.0, 21.0]), false, RULES);
        assert_eq!(m.verdict, None);
        assert!(m.no_verdict.unwrap().contains("at least 2"));
        assert!(m.difference.is_none() && m.ratio.is_none());
        assert_eq!(m.base.ci_low, 10.0);
    }

    /// Share of simulated pairs (3–5 trials a side, 5% trial noise, `shift` between them) whose
    /// verdict is better or worse.
    fn detection_rate(shift: f64, pairs: usize, seed: u64) -> f64 {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut hits = 0;
        for i in 0..pairs {
            let n = 3 + i % 3;
            let mut draw = |mean: f64| {
                let d = Normal::new(mean, mean * 0.05).unwrap();
                Sample::of(&(0..n).map(|_| d.sample(&mut rng)).collect::<Vec<_>>()).unwrap()
            };
            let (a, b) = (draw(100.0), draw(100.0 * (1.0 + shift)));
            if matches!(
                verdict(&a, &b, true, RULES),
                Some(Verdict::Better | Verdict::Worse)
            ) {
                hits += 1;
            }
        }
        hits as f64 / pairs as f64
    }

    #[test]
    fn a_a_pairs_are_called_different_at_most_at_the_stated_level() {
        // 5% two-sided, plus three binomial standard errors over 2,000 pairs.
        let rate = detection_rate(0.0, 2000, 11);
        assert!(
            rate <= 0.05 + 3.0 * (0.05f64 * 0.95 / 2000.0).sqrt(),
            "A/A false alarms {rate}"
        );
    }

    #[test]
    fn a_known_difference_is_detected() {
        let rate = detection_rate(0.25, 500, 12);
        assert!(rate >= 0.95, "power at +25%: {rate}");
    }

    #[test]
    fn a_tiny_real_difference_reads_as_equivalent() {
        let a = s(&[100.0, 100.01, 99.99, 100.0]);
        let b = s(&[100.5, 100.51, 100.49, 100.5]);
        assert_eq!(verdict(&a, &b, true, RULES), Some(Verdict::Equivalent));
    }
}
