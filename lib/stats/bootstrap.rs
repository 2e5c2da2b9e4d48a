//! Resampling: the bootstrap confidence interval of a mean (BCa, as `scipy.stats.bootstrap`'s
//! default, which AIPerf's `smooth_isotonic` planner uses at its boundary candidate) and a seeded
//! index resampler for bootstrapping over requests. Seeded, so a rerun gives the same interval.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use statrs::distribution::{ContinuousCDF, Normal};

/// A seeded generator for resampling (the same seed gives the same resamples).
pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

/// `n` indices drawn with replacement from `0..n`.
pub fn resample_indices(rng: &mut SmallRng, n: usize) -> Vec<usize> {
    (0..n).map(|_| rng.random_range(0..n)).collect()
}

/// Bias-corrected and accelerated bootstrap interval of the mean of `xs` at `level` (e.g. 0.95),
/// from `resamples` resamples. One value gives a point interval; none gives `None`.
pub fn mean_ci_bca(xs: &[f64], level: f64, resamples: usize, seed: u64) -> Option<(f64, f64)> {
    let n = xs.len();
    match n {
        0 => return None,
        1 => return Some((xs[0], xs[0])),
        _ => {}
    }
    let mean = |v: &mut dyn Iterator<Item = f64>, k: usize| v.sum::<f64>() / k as f64;
    let observed = mean(&mut xs.iter().copied(), n);
    let mut r = rng(seed);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| mean(&mut resample_indices(&mut r, n).into_iter().map(|i| xs[i]), n))
        .collect();
    stats.sort_by(f64::total_cmp);
    let normal = Normal::standard();
    let below = stats.iter().filter(|&&s| s < observed).count() as f64 / resamples as f64;
    if below <= 0.0 || below >= 1.0 || stats[0] == stats[resamples - 1] {
        // Degenerate (all resamples equal, or the observed mean outside them): percentile interval.
        return Some((
            quantile(&stats, (1.0 - level) / 2.0),
            quantile(&stats, (1.0 + level) / 2.0),
        ));
    }
    let z0 = normal.inverse_cdf(below);
    // Acceleration from the jackknife means.
    let total: f64 = xs.iter().sum();
    let jack: Vec<f64> = xs.iter().map(|x| (total - x) / (n - 1) as f64).collect();
    let jm = jack.iter().sum::<f64>() / n as f64;
    let num: f64 = jack.iter().map(|j| (jm - j).powi(3)).sum();
    let den: f64 = jack.iter().map(|j| (jm - j).powi(2)).sum::<f64>().powf(1.5);
    let a = if den > 0.0 { num / (6.0 * den) } else { 0.0 };
    let adjust = |alpha: f64| {
        let z = normal.inverse_cdf(alpha);
        normal.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
    };
    Some((
        quantile(&stats, adjust((1.0 - level) / 2.0)),
        quantile(&stats, adjust((1.0 + level) / 2.0)),
    ))
}

/// Linear-interpolated quantile of sorted values, `q` in [0, 1].
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let q = if q.is_finite() { q.clamp(0.0, 1.0) } else { 0.5 };
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bca_interval_covers_the_mean_and_narrows_with_less_spread() {
        let wide = [1.0, 5.0, 9.0, 2.0, 8.0, 4.0];
        let narrow = [4.9, 5.1, 5.0, 4.95, 5.05, 5.0];
        let (a, b) = mean_ci_bca(&wide, 0.95, 2000, 1).unwrap();
        let (c, d) = mean_ci_bca(&narrow, 0.95, 2000, 1).unwrap();
        assert!(a < 4.83 && 4.83 < b, "{a} {b}");
        assert!(d - c < (b - a) / 10.0, "{c} {d} vs {a} {b}");
        assert_eq!(mean_ci_bca(&[3.0], 0.95, 100, 1), Some((3.0, 3.0)));
        assert_eq!(mean_ci_bca(&[2.0, 2.0], 0.95, 100, 1), Some((2.0, 2.0)));
        // Seeded: the same call gives the same interval.
        assert_eq!(mean_ci_bca(&wide, 0.95, 500, 7), mean_ci_bca(&wide, 0.95, 500, 7));
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), 2.0);
        assert_eq!(quantile(&[1.0, 3.0], 0.25), 1.5);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
    }
}
