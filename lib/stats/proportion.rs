//! A share of successes with its Wilson score interval (guidellm's goodput rule reports the share
//! of requests meeting every SLO this way; it stays inside [0, 1] and is honest at 0% and 100%).

use statrs::distribution::{ContinuousCDF, Normal};

/// Wilson score interval of `successes / total` at `level` (e.g. 0.95); `None` when `total` is 0.
pub fn wilson(successes: u64, total: u64, level: f64) -> Option<(f64, f64)> {
    if total == 0 {
        return None;
    }
    let n = total as f64;
    let p = successes as f64 / n;
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    let z2 = z * z;
    let center = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // statsmodels proportion_confint(95, 100, method="wilson") = (0.88825, 0.97846)
        let (lo, hi) = wilson(95, 100, 0.95).unwrap();
        assert!(
            (lo - 0.888_25).abs() < 1e-4 && (hi - 0.978_46).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(40, 40, 0.95).unwrap();
        assert!(hi == 1.0 && (lo - 0.912_4).abs() < 1e-3, "{lo}");
        assert_eq!(wilson(0, 0, 0.95), None);
    }
}
