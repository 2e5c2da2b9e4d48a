//! The smooth isotonic fit of AIPerf's `smooth_isotonic` planner: pool-adjacent-violators (as
//! `scipy.optimize.isotonic_regression`) denoises a monotone series, a tiny ramp keeps it strictly
//! increasing, and a monotone cubic (PCHIP, as `scipy.interpolate.PchipInterpolator`) through it
//! gives a smooth curve whose root is the boundary.

/// Least-squares increasing fit (unit weights), by pooling adjacent violators.
pub fn isotonic_increasing(ys: &[f64]) -> Vec<f64> {
    // Blocks of (mean, size); merging while the last block's mean drops below the one before.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(ys.len());
    for &y in ys {
        blocks.push((y, 1));
        while blocks.len() > 1 && blocks[blocks.len() - 2].0 > blocks[blocks.len() - 1].0 {
            let (m2, n2) = blocks.pop().expect("two blocks");
            let (m1, n1) = blocks.pop().expect("two blocks");
            let n = n1 + n2;
            blocks.push(((m1 * n1 as f64 + m2 * n2 as f64) / n as f64, n));
        }
    }
    blocks
        .into_iter()
        .flat_map(|(m, n)| std::iter::repeat_n(m, n))
        .collect()
}

/// AIPerf's `_strictify`: adds `i * 1e-9 * span` to the i-th value so flat runs stay strictly increasing.
pub fn strictify(ys: &[f64]) -> Vec<f64> {
    let span = match (ys.first(), ys.last()) {
        (Some(a), Some(b)) => b - a,
        _ => return Vec::new(),
    };
    let eps = if span > 0.0 { 1e-9 * span } else { 1e-9 };
    ys.iter().enumerate().map(|(i, y)| y + i as f64 * eps).collect()
}

/// A piecewise cubic Hermite interpolant with scipy's PCHIP derivatives (Fritsch–Carlson).
#[derive(Debug, Clone)]
pub struct Pchip {
    xs: Vec<f64>,
    ys: Vec<f64>,
    ds: Vec<f64>,
}

impl Pchip {
    /// Needs at least two points with strictly increasing `xs`.
    pub fn new(xs: &[f64], ys: &[f64]) -> Option<Pchip> {
        let n = xs.len();
        if n < 2 || ys.len() != n || xs.windows(2).any(|w| w[1] <= w[0]) {
            return None;
        }
        let h: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        let m: Vec<f64> = (0..n - 1).map(|k| (ys[k + 1] - ys[k]) / h[k]).collect();
        let mut ds = vec![0.0; n];
        if n == 2 {
            ds = vec![m[0], m[0]];
        } else {
            for k in 1..n - 1 {
                if m[k - 1] * m[k] <= 0.0 {
                    ds[k] = 0.0;
                } else {
                    let w1 = 2.0 * h[k] + h[k - 1];
                    let w2 = h[k] + 2.0 * h[k - 1];
                    ds[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k]);
                }
            }
            ds[0] = edge(h[0], h[1], m[0], m[1]);
            ds[n - 1] = edge(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
        }
        Some(Pchip {
            xs: xs.to_vec(),
            ys: ys.to_vec(),
            ds,
        })
    }

    /// The curve at `x` (clamped to the data range).
    pub fn eval(&self, x: f64) -> f64 {
        let n = self.xs.len();
        let x = x.clamp(self.xs[0], self.xs[n - 1]);
        let k = match self.xs.iter().rposition(|&xi| xi <= x) {
            Some(k) if k >= n - 1 => n - 2,
            Some(k) => k,
            None => 0,
        };
        let h = self.xs[k + 1] - self.xs[k];
        let t = (x - self.xs[k]) / h;
        let (t2, t3) = (t * t, t * t * t);
        let h00 = 2.0 * t3 - 3.0 * t2 + 1.0;
        let h10 = t3 - 2.0 * t2 + t;
        let h01 = -2.0 * t3 + 3.0 * t2;
        let h11 = t3 - t2;
        h00 * self.ys[k] + h10 * h * self.ds[k] + h01 * self.ys[k + 1] + h11 * h * self.ds[k + 1]
    }

    /// The first `x` in `[lo, hi]` where the curve crosses zero (as `solve(0)` then the first root
    /// in the bracket), or `None` when it does not.
    pub fn first_root(&self, lo: f64, hi: f64) -> Option<f64> {
        let lo = lo.max(self.xs[0]);
        let hi = hi.min(self.xs[self.xs.len() - 1]);
        if lo > hi {
            return None;
        }
        // Knots inside the bracket cut it into pieces on which the cubic is monotone here.
        let mut cuts = vec![lo];
        cuts.extend(self.xs.iter().copied().filter(|&x| x > lo && x < hi));
        cuts.push(hi);
        for w in cuts.windows(2) {
            let (mut a, mut b) = (w[0], w[1]);
            let (fa, fb) = (self.eval(a), self.eval(b));
            if fa == 0.0 {
                return Some(a);
            }
            if fa * fb > 0.0 {
                continue;
            }
            if fb == 0.0 {
                return Some(b);
            }
            for _ in 0..200 {
                let mid = 0.5 * (a + b);
                if (self.eval(mid) > 0.0) == (fa > 0.0) {
                    a = mid;
                } else {
                    b = mid;
                }
            }
            return Some(0.5 * (a + b));
        }
        None
    }
}

/// scipy's one-sided three-point end derivative, kept shape-preserving.
fn edge(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
    let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if d.signum() != m0.signum() || m0 == 0.0 {
        0.0
    } else if m0.signum() != m1.signum() && d.abs() > 3.0 * m0.abs() {
        3.0 * m0
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pava_pools_violators_to_their_mean() {
        assert_eq!(
            isotonic_increasing(&[1.0, 3.0, 2.0, 4.0]),
            vec![1.0, 2.5, 2.5, 4.0]
        );
        assert_eq!(isotonic_increasing(&[3.0, 2.0, 1.0]), vec![2.0, 2.0, 2.0]);
        assert_eq!(isotonic_increasing(&[]), Vec::<f64>::new());
    }

    #[test]
    fn pchip_interpolates_and_matches_scipy() {
        // scipy.interpolate.PchipInterpolator([1,2,4,8],[-40,-39,-35,40])(3) = -37.50780975780976
        let p = Pchip::new(&[1.0, 2.0, 4.0, 8.0], &[-40.0, -39.0, -35.0, 40.0]).unwrap();
        assert!((p.eval(3.0) - -37.50780975780976).abs() < 1e-9, "{}", p.eval(3.0));
        assert_eq!(p.eval(4.0), -35.0);
        let r = p.first_root(4.0, 8.0).unwrap();
        assert!(p.eval(r).abs() < 1e-9 && r > 4.0 && r < 8.0);
        assert_eq!(p.first_root(1.0, 2.0), None);
        // Two points: a straight line.
        let l = Pchip::new(&[0.0, 10.0], &[-1.0, 1.0]).unwrap();
        assert!((l.first_root(0.0, 10.0).unwrap() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn strictify_breaks_ties_only_slightly() {
        let s = strictify(&[1.0, 1.0, 3.0]);
        assert!(s[1] > s[0] && s[1] - s[0] < 1e-8);
    }
}
