//! AIPerf's `latin_hypercube` sweep draws its points with scipy's `qmc.LatinHypercube(d,
//! optimization=…, seed=seed).random(n)` (scrambled, strength 1), optionally improved by scipy's
//! `random-cd` swaps that lower the centered discrepancy. Reproduced draw for draw from NumPy's
//! `default_rng(seed)` and float operation for float operation, so the accepted swaps, and so the
//! plan, are AIPerf's.

use crate::stats::numpy_random::Pcg64;

/// scipy's `random-cd` stopping rules: at most this many tries ...
const CD_ITERS: usize = 10_000;
/// ... ending after this many in a row that lower nothing.
const CD_NO_CHANGE: usize = 100;

/// `n` points of a `d`-dimensional Latin hypercube in [0, 1), rows of `d` coordinates.
pub fn points(d: usize, n: usize, seed: u64, random_cd: bool) -> Vec<Vec<f64>> {
    let mut g = Pcg64::new(seed);
    // rng.uniform(size=(n, d)), row-major.
    let u: Vec<f64> = (0..n * d).map(|_| g.next_f64()).collect();
    // A shuffled 1..=n per dimension, in dimension order.
    let perms: Vec<Vec<u64>> = (0..d)
        .map(|_| {
            let mut p: Vec<u64> = (1..=n as u64).collect();
            g.shuffle(&mut p);
            p
        })
        .collect();
    let mut s: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..d)
                .map(|k| (perms[k][i] as f64 - u[i * d + k]) / n as f64)
                .collect()
        })
        .collect();
    if random_cd && d > 1 && n > 1 {
        optimize_cd(&mut s, &mut g);
    }
    s
}

/// scipy's `_random_cd`: swap one coordinate between two random rows when that lowers the
/// centered discrepancy.
fn optimize_cd(s: &mut [Vec<f64>], g: &mut Pcg64) {
    let (n, d) = (s.len(), s[0].len());
    let mut best = centered_discrepancy(s);
    let (mut no_change, mut iters) = (0, 0);
    while no_change < CD_NO_CHANGE && iters < CD_ITERS {
        iters += 1;
        let col = g.below_or_equal(d as u32 - 1) as usize;
        let r1 = g.below_or_equal(n as u32 - 1) as usize;
        let r2 = g.below_or_equal(n as u32 - 1) as usize;
        let disc = perturbed_discrepancy(s, r1, r2, col, best);
        if disc < best {
            let t = s[r1][col];
            s[r1][col] = s[r2][col];
            s[r2][col] = t;
            best = disc;
            no_change = 0;
        } else {
            no_change += 1;
        }
    }
}

/// scipy's `discrepancy(sample, method="CD")` (its Cython loops, in their order).
fn centered_discrepancy(s: &[Vec<f64>]) -> f64 {
    let (n, d) = (s.len(), s[0].len());
    let mut disc1 = 0.0;
    for row in s {
        let mut prod = 1.0;
        for &x in row {
            let a = (x - 0.5).abs();
            prod *= 1.0 + 0.5 * a - 0.5 * (a * a);
        }
        disc1 += prod;
    }
    let mut disc2 = 0.0;
    for ri in s {
        for rj in s {
            let mut prod = 1.0;
            for k in 0..d {
                prod *=
                    1.0 + 0.5 * (ri[k] - 0.5).abs() + 0.5 * (rj[k] - 0.5).abs() - 0.5 * (ri[k] - rj[k]).abs();
            }
            disc2 += prod;
        }
    }
    let n = n as f64;
    (13.0f64 / 12.0).powf(d as f64) - 2.0 / n * disc1 + 1.0 / (n * n) * disc2
}

/// scipy's `_perturb_discrepancy`: the discrepancy after swapping column `k` of rows `i1` and
/// `i2`, from `disc` before it (Jin et al. 2005), in NumPy's order of operations.
fn perturbed_discrepancy(s: &[Vec<f64>], i1: usize, i2: usize, k: usize, disc: f64) -> f64 {
    let n = s.len();
    let nf = n as f64;
    let z: Vec<Vec<f64>> = s.iter().map(|r| r.iter().map(|x| x - 0.5).collect()).collect();
    let inv_n2 = 1.0 / (nf * nf);
    let c_row = |i: usize| -> Vec<f64> {
        z.iter()
            .map(|zj| {
                let p = z[i]
                    .iter()
                    .zip(zj)
                    .map(|(a, b)| 0.5 * (2.0 + a.abs() + b.abs() - (a - b).abs()))
                    .fold(1.0, |acc, x| acc * x);
                inv_n2 * p
            })
            .collect()
    };
    let g = |i: usize| z[i].iter().fold(1.0, |acc, a| acc * (1.0 + a.abs()));
    let h = |i: usize| {
        z[i].iter()
            .fold(1.0, |acc, a| acc * (1.0 + 0.5 * a.abs() - 0.5 * (a * a)))
    };
    let (c_i1j, c_i2j) = (c_row(i1), c_row(i2));
    let c_i1i1 = inv_n2 * g(i1) - 2.0 / nf * h(i1);
    let c_i2i2 = inv_n2 * g(i2) - 2.0 / nf * h(i2);
    let (z1, z2) = (z[i1][k], z[i2][k]);
    let alpha = (1.0 + z2.abs()) / (1.0 + z1.abs());
    let beta = (2.0 - z2.abs()) / (2.0 - z1.abs());
    let c_p_i1i1 = (g(i1) * alpha) / (nf * nf) - 2.0 * alpha * beta * h(i1) / nf;
    let c_p_i2i2 = (g(i2) / ((nf * nf) * alpha)) - (2.0 * h(i2) / (nf * alpha * beta));
    let mut sum = 0.0;
    for j in (0..n).filter(|&j| j != i1 && j != i2) {
        let zj = z[j][k];
        let num = 2.0 + z2.abs() + zj.abs() - (z2 - zj).abs();
        let denum = 2.0 + z1.abs() + zj.abs() - (z1 - zj).abs();
        let gamma = num / denum;
        sum += gamma * c_i1j[j] - c_i1j[j] + c_i2j[j] / gamma - c_i2j[j];
    }
    disc + c_p_i1i1 - c_i1i1 + c_p_i2i2 - c_i2i2 + 2.0 * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dimension_has_one_point_per_stratum() {
        for random_cd in [false, true] {
            let p = points(3, 8, 1, random_cd);
            for k in 0..3 {
                let mut strata: Vec<usize> = p.iter().map(|r| (r[k] * 8.0).floor() as usize).collect();
                strata.sort();
                assert_eq!(strata, (0..8).collect::<Vec<_>>(), "dimension {k}");
            }
        }
    }

    #[test]
    fn random_cd_lowers_the_discrepancy_and_its_update_is_exact_enough() {
        let plain = points(2, 16, 3, false);
        let opt = points(2, 16, 3, true);
        assert!(centered_discrepancy(&opt) < centered_discrepancy(&plain));
        // The incremental formula equals the discrepancy recomputed after the swap.
        let mut s = plain.clone();
        let before = centered_discrepancy(&s);
        let fast = perturbed_discrepancy(&s, 2, 9, 1, before);
        let t = s[2][1];
        s[2][1] = s[9][1];
        s[9][1] = t;
        assert!((fast - centered_discrepancy(&s)).abs() < 1e-12);
    }
}
