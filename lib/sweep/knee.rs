//! The knee of each throughput trend (guidellm's two-segment fit, [`crate::stats::knee`]), beside
//! the inflection rule of the trends: keyed like the trends (`request_throughput_avg`, or
//! `request_throughput_avg@concurrency[isl=128]` along each line of a grid).

use std::collections::BTreeMap;

use crate::stats::knee::{knee, Knee};
use crate::stats::trends::Trend;

/// The metrics whose knee is reported.
pub const KNEE_METRICS: [&str; 2] = ["request_throughput_avg", "output_token_throughput_avg"];

/// A knee for every throughput trend along a numeric parameter with at least 3 values.
pub fn knees(trends: &BTreeMap<String, Trend>) -> BTreeMap<String, Knee> {
    let mut out = BTreeMap::new();
    for (key, t) in trends {
        let metric = key.split('@').next().unwrap_or(key);
        if !KNEE_METRICS.contains(&metric) {
            continue;
        }
        let xs: Option<Vec<f64>> = t.parameter_values.iter().map(|v| v.as_f64()).collect();
        let Some(xs) = xs else { continue };
        if let Some(mut k) = knee(&t.parameter, &xs, &t.values, &t.unit) {
            k.fixed = t.fixed.clone();
            out.insert(key.clone(), k);
        }
    }
    out
}
