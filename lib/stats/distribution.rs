//! Distribution statistics exactly as AIPerf 0.13 computes them, down to the last ulp.
//!
//! AIPerf's per-run numbers come from numpy, so the order of float operations matters:
//! * `sum` is numpy's pairwise summation (`np.sum`) over the values in record order;
//! * `avg = sum / n`;
//! * percentiles (`metric_result_from_array`) are linear interpolation between closest ranks,
//!   `x[lo] + (h - lo) * (x[hi] - x[lo])` with `h = q/100 * (n-1)` on the sorted values;
//! * `std` is the population std (`np.std`, ddof=0) of the *sorted* array: pairwise mean, then the
//!   pairwise sum of squared deviations divided by `n`;
//! * the error-adjusted companions (`adj_<tag>`) use `np.percentile(..., method="nearest")`;
//! * the timestamp-derived latencies (`credit_to_start_latency`, `effective_latency`) use plain
//!   `np.percentile` (numpy's `_lerp`) and `np.std` on unsorted values.
//!
//! The test vectors are TV2 of `test-vectors.md`.

/// The percentiles AIPerf reports (`p1 .. p99`).
pub const QS: [f64; 9] = [1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0];

/// numpy's pairwise summation (`np.add.reduce` on a contiguous float64 array): blocks of up to
/// 128 values are summed with 8 interleaved accumulators, larger arrays are split in two at a
/// multiple of 8. Matching it is what makes `sum`/`avg` equal AIPerf's bit for bit.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `np.std(a)` (ddof=0): pairwise mean, squared deviations, pairwise sum, divided by n.
pub fn np_std(a: &[f64]) -> f64 {
    let n = a.len() as f64;
    if a.is_empty() {
        return f64::NAN;
    }
    let mean = pairwise_sum(a) / n;
    // Pairwise sum of squared deviations without allocating a second array: walk the same
    // block structure as `pairwise_sum` with the transform applied on the fly.
    (pairwise_sum_map(a, |x| {
        let d = x - mean;
        d * d
    }) / n)
        .sqrt()
}

/// `pairwise_sum` over `f(0), f(1), .., f(n-1)` without materializing them (numpy's order for
/// `np.sum(<elementwise expression>)`).
pub fn pairwise_sum_by(n: usize, f: &impl Fn(usize) -> f64) -> f64 {
    pairwise_by(0, n, f)
}

fn pairwise_by(off: usize, n: usize, f: &impl Fn(usize) -> f64) -> f64 {
    if n < 8 {
        let mut res = 0.0;
        for i in 0..n {
            res += f(off + i);
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        for (j, x) in r.iter_mut().enumerate() {
            *x = f(off + j);
        }
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, x) in r.iter_mut().enumerate() {
                *x += f(off + i + j);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += f(off + i);
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_by(off, n2, f) + pairwise_by(off + n2, n - n2, f)
    }
}

fn pairwise_sum_map(a: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += f(x);
        }
        res
    } else if n <= 128 {
        let mut r = [
            f(a[0]),
            f(a[1]),
            f(a[2]),
            f(a[3]),
            f(a[4]),
            f(a[5]),
            f(a[6]),
            f(a[7]),
        ];
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += f(a[i + j]);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += f(a[i]);
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum_map(&a[..n2], f) + pairwise_sum_map(&a[n2..], f)
    }
}

/// One metric's statistics in one unit. `std` is `None` for the error-adjusted companions
/// (undefined with +inf samples).
#[derive(Debug, Clone, PartialEq)]
pub struct Dist {
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    /// p1, p5, p10, p25, p50, p75, p90, p95, p99.
    pub pct: [f64; 9],
    pub std: Option<f64>,
    pub count: u64,
}

impl Dist {
    /// Every stat multiplied by `factor` (a unit conversion, e.g. ns → ms is `* 1e-6`, exactly
    /// as AIPerf's `convert_to`); non-finite values are left alone, as AIPerf does.
    pub fn scaled(&self, factor: f64) -> Dist {
        if factor == 1.0 {
            return self.clone();
        }
        let s = |x: f64| if x.is_finite() { x * factor } else { x };
        Dist {
            avg: s(self.avg),
            min: s(self.min),
            max: s(self.max),
            sum: s(self.sum),
            pct: self.pct.map(s),
            std: self.std.map(s),
            count: self.count,
        }
    }
}

/// The linear percentile AIPerf uses in `metric_result_from_array` (on sorted values).
pub fn percentile_linear_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let h = q / 100.0 * (n - 1) as f64;
    let lo = h as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// `np.percentile(a, q)` (method "linear"), on sorted values: numpy's `_lerp`, which switches
/// to `b - (b-a)*(1-t)` for `t >= 0.5`.
pub fn np_percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virt = (n - 1) as f64 * (q / 100.0);
    let lo = virt.floor();
    let t = virt - lo;
    let lo = (lo as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// `np.percentile(a, q, method="nearest")` on sorted values: index `around((n-1) * q/100)`,
/// rounding half to even.
pub fn np_percentile_nearest_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virt = (n - 1) as f64 * (q / 100.0);
    let idx = virt.round_ties_even() as usize;
    sorted[idx.min(n - 1)]
}

/// AIPerf's `metric_result_from_array`: `values` in record order (the sum is taken in that order),
/// sorted in place for the percentiles and the std. Empty input gives `None`.
pub fn aiperf_dist(values: &mut [f64]) -> Option<Dist> {
    if values.is_empty() {
        return None;
    }
    let sum = pairwise_sum(values);
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    Some(Dist {
        avg: sum / n as f64,
        min: values[0],
        max: values[n - 1],
        sum,
        pct: QS.map(|q| percentile_linear_sorted(values, q)),
        std: Some(np_std(values)),
        count: n as u64,
    })
}

/// The numpy-built distribution AIPerf uses for timestamp-derived latencies
/// (`derived_latency._array_to_metric_result`): `np.percentile`, `arr.mean()`, `arr.std()` on the
/// unsorted values. `values` is sorted in place afterwards.
pub fn numpy_dist(values: &mut [f64]) -> Option<Dist> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let sum = pairwise_sum(values);
    let std = np_std(values);
    values.sort_unstable_by(f64::total_cmp);
    Some(Dist {
        avg: sum / n as f64,
        min: values[0],
        max: values[n - 1],
        sum,
        pct: QS.map(|q| np_percentile_sorted(values, q)),
        std: Some(std),
        count: n as u64,
    })
}

/// The error-adjusted distribution (`adj_<tag>`): the sorted success values plus one `+inf` per
/// failed request; nearest-rank percentiles; `avg`/`sum`/`max` become `+inf`, `std` is undefined.
pub fn adjusted_dist(sorted_successes: &[f64], failures: u64) -> Dist {
    let n = sorted_successes.len() + failures as usize;
    let pct = QS.map(|q| {
        let virt = (n - 1) as f64 * (q / 100.0);
        let idx = virt.round_ties_even() as usize;
        sorted_successes.get(idx).copied().unwrap_or(f64::INFINITY)
    });
    let finite_sum = pairwise_sum(sorted_successes);
    let (sum, avg, max) = if failures > 0 {
        (f64::INFINITY, f64::INFINITY, f64::INFINITY)
    } else {
        (
            finite_sum,
            finite_sum / n as f64,
            sorted_successes.last().copied().unwrap_or(f64::NAN),
        )
    };
    Dist {
        avg,
        min: sorted_successes.first().copied().unwrap_or(f64::INFINITY),
        max,
        sum,
        pct,
        std: None,
        count: n as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        a == b || ((a - b).abs() / b.abs().max(1e-300)) <= 1e-12
    }

    #[test]
    fn tv2_ten_values() {
        let mut x: Vec<f64> = (1..=10).map(|i| (i * 10) as f64).collect();
        let d = aiperf_dist(&mut x).unwrap();
        assert_eq!(d.avg, 55.0);
        assert_eq!(d.sum, 550.0);
        assert_eq!((d.min, d.max, d.count), (10.0, 100.0, 10));
        let want = [10.9, 14.5, 19.0, 32.5, 55.0, 77.5, 91.0, 95.49999999999999, 99.1];
        for (got, want) in d.pct.iter().zip(want) {
            assert!(close(*got, want), "{got} vs {want}");
        }
        // The reference's own last-ulp remark: p95 is 95.49999999999999, not 95.5.
        assert_eq!(d.pct[7], 95.49999999999999);
        assert!(close(d.std.unwrap(), 28.722813232690143));
    }

    #[test]
    fn tv2_skewed_values() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0, 100.0];
        let d = aiperf_dist(&mut x).unwrap();
        assert_eq!(d.avg, 22.0);
        let want = [
            1.04,
            1.2,
            1.4,
            2.0,
            3.0,
            4.0,
            61.60000000000001,
            80.79999999999998,
            96.16,
        ];
        for (got, want) in d.pct.iter().zip(want) {
            assert!(close(*got, want), "{got} vs {want}");
        }
        assert!(close(d.std.unwrap(), 39.01281840626232));
    }

    #[test]
    fn tv2_adjusted_nine_successes_one_failure() {
        let ok = vec![100.0; 9];
        let d = adjusted_dist(&ok, 1);
        assert_eq!(d.count, 10);
        assert_eq!(&d.pct[..7], &[100.0; 7]);
        assert_eq!(d.pct[7], f64::INFINITY);
        assert_eq!(d.pct[8], f64::INFINITY);
        assert_eq!(
            (d.avg, d.sum, d.max),
            (f64::INFINITY, f64::INFINITY, f64::INFINITY)
        );
        assert_eq!(d.std, None);
    }

    #[test]
    fn tv2_adjusted_hundred_successes_two_failures() {
        let mut ok: Vec<f64> = (1..=10)
            .flat_map(|i| std::iter::repeat_n((i * 10) as f64, 10))
            .collect();
        ok.sort_by(f64::total_cmp);
        let d = adjusted_dist(&ok, 2);
        assert_eq!(d.count, 102);
        assert_eq!(
            d.pct,
            [10.0, 10.0, 20.0, 30.0, 60.0, 80.0, 100.0, 100.0, f64::INFINITY]
        );
    }

    #[test]
    fn pairwise_sum_differs_from_naive_and_matches_numpy_blocks() {
        // 0.1 summed 1000 times: numpy's pairwise result, not the naive running sum.
        let a = vec![0.1; 1000];
        let naive: f64 = a.iter().fold(0.0, |s, x| s + x);
        assert_eq!(pairwise_sum(&a), 100.00000000000001); // np.sum([0.1]*1000)
        assert_ne!(pairwise_sum(&a), naive);
        assert_eq!(pairwise_sum(&a[..5]), a[..5].iter().fold(0.0, |s, x| s + x));
    }

    #[test]
    fn np_percentile_lerp_switches_side_above_half() {
        let s = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(np_percentile_sorted(&s, 50.0), 1.5);
        assert_eq!(np_percentile_sorted(&s, 100.0), 3.0);
        assert_eq!(np_percentile_nearest_sorted(&s, 50.0), 2.0); // 1.5 rounds half to even
    }

    #[test]
    fn scaling_leaves_infinities() {
        let d = adjusted_dist(&[1e6, 2e6], 1).scaled(1e-6);
        assert_eq!(d.min, 1.0);
        assert_eq!(d.max, f64::INFINITY);
    }
}
