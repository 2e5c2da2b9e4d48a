//! Trend analysis across sweep values: the rate of change between consecutive values and the
//! inflection points where it changes character. The rule is AIPerf's legacy `analyze_trends`
//! (aiperf-formats.md §4.7, checked by the TV5 vectors): a point is an inflection when the rate of
//! change flips sign or moves by more than half of the previous rate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Rate of change between consecutive values and the indices (into `values`) of inflection points.
pub fn analyze(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
    if values.len() < 2 {
        return (Vec::new(), Vec::new());
    }
    let roc: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    let mut points = Vec::new();
    for i in 1..roc.len() {
        let (p, c) = (roc[i - 1], roc[i]);
        let sign_flip = p * c < 0.0;
        let magnitude = p != 0.0 && (c - p).abs() > 0.5 * p.abs();
        if sign_flip || magnitude {
            points.push(i + 1);
        }
    }
    (roc, points)
}

/// Whether larger values of a metric are good (throughput) or bad (latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// One key metric's trend along the swept parameter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trend {
    /// The swept parameter (or `variation` when several parameters move together).
    pub parameter: String,
    /// In a grid sweep, the other parameters' values held fixed along this trend.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fixed: serde_json::Map<String, Value>,
    /// The parameter values, in sweep order.
    pub parameter_values: Vec<Value>,
    /// The metric's across-trial mean at each value.
    pub values: Vec<f64>,
    /// `values[i+1] - values[i]`, in the metric's unit per step.
    pub rate_of_change: Vec<f64>,
    /// Parameter values where the rate of change flips sign or changes by more than 50%.
    pub inflection_points: Vec<Value>,
    /// Throughput metrics: inflections where the gain per step shrinks (scaling slows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_slows_at: Option<Vec<Value>>,
    /// Latency metrics: inflections where the rise per step grows (latency degrades).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_degrades_at: Option<Vec<Value>>,
    pub unit: String,
}

/// Builds a trend for one metric; `labels[i]` is the parameter value of `values[i]`.
pub fn trend(parameter: &str, labels: &[Value], values: &[f64], direction: Direction, unit: &str) -> Trend {
    let (roc, idx) = analyze(values);
    let at = |i: usize| labels[i].clone();
    let inflection_points: Vec<Value> = idx.iter().map(|&i| at(i)).collect();
    // idx i means roc[i-1] (into value i) differs from roc[i-2].
    let slows: Vec<Value> = idx
        .iter()
        .filter(|&&i| {
            let (p, c) = (roc[i - 2], roc[i - 1]);
            p * c < 0.0 || c.abs() < p.abs()
        })
        .map(|&i| at(i))
        .collect();
    // A latency rise counts as degradation when it also outgrows the previous step and moves the
    // metric by at least 5% (a sign flip of measurement noise around a flat line does not).
    let degrades: Vec<Value> = idx
        .iter()
        .filter(|&&i| {
            let (p, c) = (roc[i - 2], roc[i - 1]);
            c > 0.0 && c > p && c >= 0.05 * values[i - 1].abs()
        })
        .map(|&i| at(i))
        .collect();
    Trend {
        parameter: parameter.to_string(),
        fixed: serde_json::Map::new(),
        parameter_values: labels.to_vec(),
        values: values.to_vec(),
        rate_of_change: roc,
        inflection_points,
        scaling_slows_at: (direction == Direction::HigherIsBetter).then_some(slows),
        latency_degrades_at: (direction == Direction::LowerIsBetter).then_some(degrades),
        unit: unit.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TV5 of test-vectors.md: (values at 10,20,30,...), rate of change, inflection values.
    #[test]
    fn tv5_legacy_trend_vectors() {
        let cases: Vec<(Vec<f64>, Vec<f64>, Vec<u64>)> = vec![
            (vec![100., 180., 270., 285.], vec![80., 90., 15.], vec![40]),
            (vec![100., 200., 240., 280.], vec![100., 40., 40.], vec![30]),
            (vec![100., 200., 250.], vec![100., 50.], vec![]),
            (vec![100., 200., 249.], vec![100., 49.], vec![30]),
            (vec![100., 150., 250.], vec![50., 100.], vec![30]),
            (vec![100., 100., 150., 200.], vec![0., 50., 50.], vec![]),
            (
                vec![100., 180., 270., 285., 290.],
                vec![80., 90., 15., 5.],
                vec![40, 50],
            ),
            (vec![100.], vec![], vec![]),
            (vec![], vec![], vec![]),
        ];
        for (values, roc, points) in cases {
            let labels: Vec<Value> = (1..=values.len()).map(|i| Value::from(i as u64 * 10)).collect();
            let t = trend(
                "concurrency",
                &labels,
                &values,
                Direction::HigherIsBetter,
                "requests/sec",
            );
            assert_eq!(t.rate_of_change, roc, "{values:?}");
            let want: Vec<Value> = points.into_iter().map(Value::from).collect();
            assert_eq!(t.inflection_points, want, "{values:?}");
        }
    }

    #[test]
    fn slowing_and_degrading_are_told_apart() {
        let labels: Vec<Value> = [10, 20, 30, 40].map(Value::from).to_vec();
        let thr = trend(
            "concurrency",
            &labels,
            &[100., 200., 300., 320.],
            Direction::HigherIsBetter,
            "requests/sec",
        );
        assert_eq!(thr.scaling_slows_at, Some(vec![Value::from(40)]));
        let lat = trend(
            "concurrency",
            &labels,
            &[50., 52., 54., 90.],
            Direction::LowerIsBetter,
            "ms",
        );
        assert_eq!(lat.latency_degrades_at, Some(vec![Value::from(40)]));
        // Noise around a flat line flips the sign (an inflection by the rule) but is no degradation.
        let flat = trend(
            "concurrency",
            &labels,
            &[15.26, 13.75, 14.24, 42.65],
            Direction::LowerIsBetter,
            "ms",
        );
        assert_eq!(flat.inflection_points, vec![Value::from(30), Value::from(40)]);
        assert_eq!(flat.latency_degrades_at, Some(vec![Value::from(40)]));
        assert_eq!(lat.scaling_slows_at, None);
    }
}
