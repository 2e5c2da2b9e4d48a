//! The knee of a saturating curve (guidellm's `knee` profile): throughput against the swept load
//! fitted by two segments, a rising line up to the saturation point x₀ and a flat line after it
//! (`y = a + b·min(x, x₀)`, continuous at x₀). x₀ is tried at every measured value but the first,
//! (a, b) by least squares for each; the x₀ with the least squared error wins, and R² says how well
//! the two segments explain the points.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The fitted knee along one swept parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    /// The swept parameter.
    pub parameter: String,
    /// In a grid sweep, the other parameters' values held fixed along this line.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fixed: serde_json::Map<String, Value>,
    /// Where the rising segment meets the flat one (a measured value of the parameter).
    pub saturation_point: f64,
    /// The metric on the flat segment (`a + b·x₀`).
    pub plateau: f64,
    /// Slope of the rising segment, in the metric's unit per unit of the parameter.
    pub slope: f64,
    /// Coefficient of determination of the two-segment fit (1 = perfect).
    pub r_squared: f64,
    /// False when the best fit puts x₀ at the largest value: no flat segment was measured.
    pub saturated: bool,
    pub method: String,
    pub unit: String,
}

/// The best two-segment fit of `(xs, ys)` (xs increasing): `(x₀, a, b, sse)`.
fn best_fit(xs: &[f64], ys: &[f64]) -> Option<(f64, f64, f64, f64)> {
    let mut best: Option<(f64, f64, f64, f64)> = None;
    for &x0 in &xs[1..] {
        let z: Vec<f64> = xs.iter().map(|&x| x.min(x0)).collect();
        let n = z.len() as f64;
        let (mz, my) = (z.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let szz: f64 = z.iter().map(|v| (v - mz).powi(2)).sum();
        let szy: f64 = z.iter().zip(ys).map(|(a, b)| (a - mz) * (b - my)).sum();
        if szz <= 0.0 {
            continue;
        }
        let b = szy / szz;
        let a = my - b * mz;
        let sse: f64 = z.iter().zip(ys).map(|(zi, yi)| (yi - a - b * zi).powi(2)).sum();
        // Ties keep the smaller x₀: the earliest point where the curve is already flat.
        if best.is_none_or(|(_, _, _, s)| sse < s - 1e-12 * s.abs().max(1e-300)) {
            best = Some((x0, a, b, sse));
        }
    }
    best
}

/// Fits the knee; `None` with fewer than 3 points or non-increasing, non-finite parameter values.
pub fn knee(parameter: &str, xs: &[f64], ys: &[f64], unit: &str) -> Option<Knee> {
    if xs.len() < 3 || xs.len() != ys.len() || !xs.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    if !xs.iter().chain(ys).all(|v| v.is_finite()) {
        return None;
    }
    let (x0, a, b, sse) = best_fit(xs, ys)?;
    let my = ys.iter().sum::<f64>() / ys.len() as f64;
    let sst: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    Some(Knee {
        parameter: parameter.into(),
        fixed: Default::default(),
        saturation_point: x0,
        plateau: a + b * x0,
        slope: b,
        r_squared: if sst > 0.0 { 1.0 - sse / sst } else { 1.0 },
        saturated: x0 < xs[xs.len() - 1],
        method: "two_segment".into(),
        unit: unit.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_knee_of_a_saturating_curve() {
        let xs = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        let ys = [10.0, 20.0, 40.0, 41.0, 40.5, 40.8];
        let k = knee("concurrency", &xs, &ys, "requests/sec").unwrap();
        assert_eq!(k.saturation_point, 4.0);
        assert!(k.saturated);
        assert!((k.plateau - 40.6).abs() < 1.0, "{k:?}");
        assert!(k.r_squared > 0.99, "{k:?}");
    }

    #[test]
    fn a_straight_line_has_no_flat_segment() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        let k = knee("c", &xs, &[2.0, 4.0, 6.0, 8.0], "u").unwrap();
        assert_eq!(k.saturation_point, 4.0);
        assert!(!k.saturated);
        assert!((k.r_squared - 1.0).abs() < 1e-12);
        assert!(knee("c", &[1.0, 2.0], &[1.0, 2.0], "u").is_none());
    }
}
