//! Two configurations' trial values compared the way run-to-run noise allows: Welch's unequal-variance
//! t interval for the difference of means, the same on the log scale for the ratio (delta method),
//! two one-sided tests for equivalence, and how many trials would resolve a difference of a given
//! size. The unit of replication is the trial: per-request spread never enters here, because it
//! hides the run-to-run variance that decides whether a difference will repeat.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::confidence::t_critical;

/// One side's trials, summarised: count, mean and sample standard deviation (ddof 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: usize,
    pub mean: f64,
    /// 0 for a single trial.
    pub sd: f64,
}

impl Sample {
    /// The finite values' summary; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Sample> {
        let xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = if n < 2 {
            0.0
        } else {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Some(Sample { n, mean, sd })
    }

    /// The mean's Student-t interval at `level` (collapsed for one trial).
    pub fn interval(&self, level: f64) -> (f64, f64) {
        if self.n < 2 || self.sd == 0.0 {
            return (self.mean, self.mean);
        }
        let h = t_critical(level, (self.n - 1) as f64) * self.sd / (self.n as f64).sqrt();
        (self.mean - h, self.mean + h)
    }
}

/// An estimate with its interval, and the t statistic and degrees of freedom behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Standard error on the scale the interval was built (log scale for a ratio).
    pub se: f64,
    /// Welch–Satterthwaite degrees of freedom (+inf when both sides have no spread).
    pub df: f64,
}

/// Welch–Satterthwaite degrees of freedom of two variance components `va = sa²/na`, `vb = sb²/nb`.
fn welch_df(va: f64, na: usize, vb: f64, nb: usize) -> f64 {
    let den = va * va / (na as f64 - 1.0) + vb * vb / (nb as f64 - 1.0);
    if den <= 0.0 {
        f64::INFINITY
    } else {
        (va + vb).powi(2) / den
    }
}

/// `center ± t(level, df)·se`, collapsed when there is no spread.
fn around(center: f64, se: f64, df: f64, level: f64) -> (f64, f64) {
    if se == 0.0 || !se.is_finite() {
        return (center, center);
    }
    let t = if df.is_finite() {
        t_critical(level, df)
    } else {
        normal_quantile(1.0 - (1.0 - level) / 2.0)
    };
    (center - t * se, center + t * se)
}

fn normal_quantile(p: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.inverse_cdf(p))
}

/// `new − base` with Welch's interval; `None` unless both sides have at least 2 trials.
pub fn difference(base: &Sample, new: &Sample, level: f64) -> Option<Estimate> {
    if base.n < 2 || new.n < 2 {
        return None;
    }
    let (va, vb) = (base.sd.powi(2) / base.n as f64, new.sd.powi(2) / new.n as f64);
    let (se, df) = ((va + vb).sqrt(), welch_df(va, base.n, vb, new.n));
    let d = new.mean - base.mean;
    let (low, high) = around(d, se, df, level);
    Some(Estimate {
        value: d,
        low,
        high,
        se,
        df,
    })
}

/// Interval of `ln(new/base)` (delta method: the variance of ln(mean) is sd²/(n·mean²)); needs
/// positive means and at least 2 trials a side. The returned estimate stays on the log scale.
pub fn log_ratio(base: &Sample, new: &Sample, level: f64) -> Option<Estimate> {
    if base.n < 2 || new.n < 2 || base.mean <= 0.0 || new.mean <= 0.0 {
        return None;
    }
    let va = (base.sd / base.mean).powi(2) / base.n as f64;
    let vb = (new.sd / new.mean).powi(2) / new.n as f64;
    let (se, df) = ((va + vb).sqrt(), welch_df(va, base.n, vb, new.n));
    let d = new.mean.ln() - base.mean.ln();
    let (low, high) = around(d, se, df, level);
    Some(Estimate {
        value: d,
        low,
        high,
        se,
        df,
    })
}

/// `new / base` with its interval: the log-scale interval exponentiated.
pub fn ratio(base: &Sample, new: &Sample, level: f64) -> Option<Estimate> {
    log_ratio(base, new, level).map(|e| Estimate {
        value: e.value.exp(),
        low: e.low.exp(),
        high: e.high.exp(),
        ..e
    })
}

/// Two one-sided tests at level `alpha` each: true when the ratio is shown to lie within
/// `[1 − margin, 1 + margin]` (the `1 − 2·alpha` interval of ln ratio inside the log bounds). With a
/// non-positive mean, the difference is tested against `±margin·|base mean|` instead.
pub fn equivalent(base: &Sample, new: &Sample, margin: f64, alpha: f64) -> bool {
    let level = 1.0 - 2.0 * alpha;
    if let Some(e) = log_ratio(base, new, level) {
        return e.low >= (1.0 - margin).ln() && e.high <= (1.0 + margin).ln();
    }
    match difference(base, new, level) {
        Some(e) => {
            let m = margin * base.mean.abs();
            e.low >= -m && e.high <= m
        }
        None => false,
    }
}

/// One-sided confidence that `new`'s mean exceeds `base`'s (the Welch t statistic's CDF on the log
/// scale when the means are positive, else on the difference); `None` below 2 trials a side.
pub fn confidence_new_higher(base: &Sample, new: &Sample) -> Option<f64> {
    let e = log_ratio(base, new, 0.95).or_else(|| difference(base, new, 0.95))?;
    if e.se == 0.0 {
        return Some(match e.value.partial_cmp(&0.0) {
            Some(std::cmp::Ordering::Greater) => 1.0,
            Some(std::cmp::Ordering::Less) => 0.0,
            _ => 0.5,
        });
    }
    let t = e.value / e.se;
    Some(if e.df.is_finite() {
        StudentsT::new(0.0, 1.0, e.df).map_or(f64::NAN, |d| d.cdf(t))
    } else {
        Normal::new(0.0, 1.0).map_or(f64::NAN, |d| d.cdf(t))
    })
}

/// Trials per side that would detect a relative difference of `margin` with 80% power at a
/// two-sided `1 − level` (normal approximation on the log scale, from the pooled coefficient of
/// variation); `None` when it cannot be estimated (no spread measured, or a non-positive mean).
pub fn trials_needed(base: &Sample, new: &Sample, margin: f64, level: f64) -> Option<usize> {
    if base.n < 2 || new.n < 2 || base.mean <= 0.0 || new.mean <= 0.0 || margin <= 0.0 {
        return None;
    }
    let s2 = ((base.sd / base.mean).powi(2) + (new.sd / new.mean).powi(2)) / 2.0;
    if s2 == 0.0 {
        return None;
    }
    let delta = (1.0 + margin).ln();
    let z = normal_quantile(1.0 - (1.0 - level) / 2.0) + normal_quantile(0.8);
    let n = (2.0 * z * z * s2 / (delta * delta)).ceil();
    n.is_finite().then(|| (n as usize).max(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(xs: &[f64]) -> Sample {
        Sample::of(xs).unwrap()
    }

    #[test]
    fn welch_matches_a_hand_computed_interval() {
        // scipy.stats.ttest_ind(b, a, equal_var=False): t = 3.4641, df = 4.0 → 95% CI 2 ± 2.776·0.5774.
        let (a, b) = (s(&[9.0, 10.0, 11.0]), s(&[11.0, 12.0, 13.0]));
        let d = difference(&a, &b, 0.95).unwrap();
        assert!((d.value - 2.0).abs() < 1e-12);
        assert!((d.df - 4.0).abs() < 1e-9, "{}", d.df);
        let h = 2.7764451051977987 * (2.0f64 / 3.0).sqrt();
        assert!(
            (d.low - (2.0 - h)).abs() < 1e-6 && (d.high - (2.0 + h)).abs() < 1e-6,
            "{d:?}"
        );
    }

    #[test]
    fn a_single_trial_gives_no_interval() {
        let (a, b) = (s(&[10.0]), s(&[11.0, 12.0]));
        assert!(difference(&a, &b, 0.95).is_none());
        assert!(ratio(&a, &b, 0.95).is_none());
        assert!(!equivalent(&a, &b, 0.02, 0.05));
        assert!(trials_needed(&a, &b, 0.02, 0.95).is_none());
    }

    #[test]
    fn ratio_is_symmetric_on_the_log_scale_and_contains_the_point() {
        let (a, b) = (s(&[100.0, 104.0, 96.0]), s(&[200.0, 208.0, 192.0]));
        let r = ratio(&a, &b, 0.95).unwrap();
        assert!((r.value - 2.0).abs() < 1e-12);
        assert!(r.low < 2.0 && r.high > 2.0);
        assert!(((r.low * r.high).sqrt() - 2.0).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn equivalence_needs_a_tight_interval_inside_the_margin() {
        let tight = s(&[100.0, 100.1, 99.9, 100.05, 99.95]);
        let also = s(&[100.2, 100.1, 99.9, 100.15, 99.95]);
        assert!(equivalent(&tight, &also, 0.02, 0.05));
        let loose = s(&[90.0, 110.0, 100.0]);
        assert!(!equivalent(&tight, &loose, 0.02, 0.05));
        // All zero on both sides (an error rate of 0%): identical, so equivalent.
        assert!(equivalent(&s(&[0.0, 0.0]), &s(&[0.0, 0.0, 0.0]), 0.02, 0.05));
    }

    #[test]
    fn trials_needed_grows_with_the_noise() {
        let quiet = trials_needed(&s(&[100.0, 101.0, 99.0]), &s(&[100.0, 101.0, 99.0]), 0.02, 0.95).unwrap();
        let noisy = trials_needed(&s(&[100.0, 110.0, 90.0]), &s(&[100.0, 110.0, 90.0]), 0.02, 0.95).unwrap();
        assert!(quiet < noisy, "{quiet} {noisy}");
        // cv 10%, margin 2%: 2·(1.96+0.84)²·0.01/ln(1.02)² ≈ 398.
        assert!((380..420).contains(&noisy), "{noisy}");
    }

    #[test]
    fn confidence_that_new_is_higher_follows_the_t_statistic() {
        let (a, b) = (s(&[9.0, 10.0, 11.0]), s(&[11.0, 12.0, 13.0]));
        let c = confidence_new_higher(&a, &b).unwrap();
        assert!(c > 0.95 && c < 1.0, "{c}");
        let c = confidence_new_higher(&b, &a).unwrap();
        assert!(c < 0.05, "{c}");
    }
}
