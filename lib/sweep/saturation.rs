//! Stopping past the knee: an increasing sweep has saturated once throughput stopped growing
//! (relative gain under a threshold for two consecutive values) while latency kept climbing. The
//! verdict `scripts/profile --stop-on-saturation` loops on (`sweep-agg --saturated`).

use crate::artifacts::names::describe;
use crate::contract::sweep_aggregate::{latency_key, Combination, THROUGHPUT_KEY};

/// Why the sweep saturated (naming the value it saturated at), or `None` while it still scales.
/// Combinations are taken in sweep order; only those with a successful trial count.
pub fn saturated(combos: &[Combination], threshold: f64) -> Option<String> {
    let ok: Vec<&Combination> = combos.iter().filter(|c| c.num_successful > 0).collect();
    if ok.len() < 3 {
        return None;
    }
    let lat = latency_key(|k| ok.iter().all(|c| c.mean(k).is_some()))?;
    let thr: Vec<f64> = ok.iter().map(|c| c.mean(THROUGHPUT_KEY)).collect::<Option<_>>()?;
    let latv: Vec<f64> = ok.iter().map(|c| c.mean(lat)).collect::<Option<_>>()?;
    let n = ok.len();
    let gain = |i: usize| (thr[i] - thr[i - 1]) / thr[i - 1].abs();
    let rise = |i: usize| (latv[i] - latv[i - 1]) / latv[i - 1].abs();
    let flat = (n - 2..n).all(|i| gain(i) < threshold);
    let climbing = (n - 2..n).all(|i| rise(i) > 0.0);
    if !(flat && climbing) {
        return None;
    }
    let pct = |v: f64| format!("{:+.1}%", v * 100.0);
    let at = describe(&ok[n - 3].parameters);
    Some(format!(
        "saturated at {at}: {THROUGHPUT_KEY} changed {} then {} (under {} per step) while {lat} rose {} then {}",
        pct(gain(n - 2)),
        pct(gain(n - 1)),
        pct(threshold),
        pct(rise(n - 2)),
        pct(rise(n - 1))
    ))
}
