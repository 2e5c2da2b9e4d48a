//! The two-sample Kolmogorov–Smirnov test (two-sided), as `scipy.stats.ks_2samp` computes it: the
//! statistic D = max |F₁ − F₂|, and its p-value exactly (the share of lattice paths that leave the
//! band |i/m − j/n| < D) while m·n is at most [`EXACT_LIMIT`], else by Kolmogorov's limit
//! distribution at √(mn/(m+n))·D. Used by convergence's `distribution` mode.

/// Above this m·n the p-value comes from the limit distribution (the exact walk costs m·n steps).
pub const EXACT_LIMIT: usize = 20_000_000;

/// `(D, p)`; `None` when either sample is empty.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    let mut a: Vec<f64> = a.iter().copied().filter(|v| v.is_finite()).collect();
    let mut b: Vec<f64> = b.iter().copied().filter(|v| v.is_finite()).collect();
    if a.is_empty() || b.is_empty() {
        return None;
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (m, n) = (a.len(), b.len());
    // D·m·n as an integer: max |i·n − j·m| over the distinct values (ties advance together).
    let (mut i, mut j, mut dmn) = (0usize, 0usize, 0u128);
    while i < m || j < n {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < m && a[i] <= x {
            i += 1;
        }
        while j < n && b[j] <= x {
            j += 1;
        }
        dmn = dmn.max((i as i128 * n as i128 - j as i128 * m as i128).unsigned_abs());
    }
    let d = dmn as f64 / (m as f64 * n as f64);
    let p = if m.saturating_mul(n) <= EXACT_LIMIT {
        exact_p(m, n, dmn)
    } else {
        kolmogorov_sf((m as f64 * n as f64 / (m + n) as f64).sqrt() * d)
    };
    Some((d, p.clamp(0.0, 1.0)))
}

/// P(max |i/m − j/n| ≥ D) for a uniformly random lattice path (m right steps, n up steps): the walk
/// carries the probability of each cell (drawing without replacement), cells outside the band drop.
fn exact_p(m: usize, n: usize, dmn: u128) -> f64 {
    if dmn == 0 {
        return 1.0;
    }
    let inside = |i: usize, j: usize| (i as i128 * n as i128 - j as i128 * m as i128).unsigned_abs() < dmn;
    // row[j] = P(the path passes (i, j) inside the band), for the row i being filled.
    let mut row = vec![0.0f64; n + 1];
    for i in 0..=m {
        for j in 0..=n {
            let mut p = if i == 0 && j == 0 { 1.0 } else { 0.0 };
            if i > 0 {
                // A right step from (i−1, j): (m − i + 1) of the (m − i + 1 + n − j) draws left.
                p += row[j] * (m - i + 1) as f64 / ((m - i + 1) + (n - j)) as f64;
            }
            if j > 0 {
                // An up step from (i, j−1), already filled in this row.
                p += row[j - 1] * (n - j + 1) as f64 / ((m - i) + (n - j + 1)) as f64;
            }
            row[j] = if inside(i, j) { p } else { 0.0 };
        }
    }
    // (m, n) itself has |i·n − j·m| = 0, always inside.
    1.0 - row[n]
}

/// Kolmogorov's survival function Q(λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²).
pub fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..=100 {
        let kf = k as f64;
        let term = (-2.0 * kf * kf * lambda * lambda).exp();
        s += if k % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * s).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_have_p_one() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let (d, p) = ks_2samp(&a, &a).unwrap();
        assert_eq!(d, 0.0);
        assert_eq!(p, 1.0);
    }

    #[test]
    fn matches_scipy_exact() {
        // scipy.stats.ks_2samp([1,2,3,4,5], [6,7,8,9,10]) → D 1.0, p 0.007936507936507936 (2/C(10,5))
        let (d, p) = ks_2samp(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert_eq!(d, 1.0);
        assert!((p - 2.0 / 252.0).abs() < 1e-12, "{p}");
        // ks_2samp([1,2,3,4,5,6], [3.5,4.5,5.5,6.5,7.5,8.5]) → D 0.5, p 0.474025974025974
        let (d, p) = ks_2samp(&[1., 2., 3., 4., 5., 6.], &[3.5, 4.5, 5.5, 6.5, 7.5, 8.5]).unwrap();
        assert_eq!(d, 0.5);
        assert!((p - 0.474025974025974).abs() < 1e-9, "{p}");
    }

    #[test]
    fn shifted_large_samples_are_told_apart() {
        let a: Vec<f64> = (0..500).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..500).map(|i| i as f64 + 100.0).collect();
        let (_, p) = ks_2samp(&a, &b).unwrap();
        assert!(p < 1e-6, "{p}");
        assert!((kolmogorov_sf(1.3581) - 0.05).abs() < 1e-3);
    }
}
