//! One run's records reduced to what the report draws: the per-request latencies behind the CDFs,
//! the errors by type, and the request timeline (in flight, completions/s, tokens/s). One streaming
//! pass over `profile_export.jsonl` through the contract's record type, so a million records cost
//! a few vectors of numbers, not the records.

use std::collections::BTreeMap;
use std::path::Path;

use crate::contract::records::{Phase, Record};
use crate::io::jsonl;

/// One profiling request on the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub start_ns: u64,
    pub end_ns: u64,
    /// When its first token arrived (start + TTFT), when it had one.
    pub first_token_ns: Option<u64>,
    pub output_tokens: f64,
    pub error: bool,
}

/// What the charts need from one run's records.
#[derive(Debug, Clone, Default)]
pub struct Digest {
    /// Successful requests' TTFT, ITL and request latency, ms.
    pub ttft: Vec<f64>,
    pub itl: Vec<f64>,
    pub latency: Vec<f64>,
    /// `TimeoutError`, `HTTPError 500`, … → count.
    pub errors: BTreeMap<String, u64>,
    pub events: Vec<Event>,
    /// A torn last line, for the page's notes.
    pub warnings: Vec<String>,
}

/// `TimeoutError`, or `Internal Server Error (500)`: the type as the record spells it, with the
/// HTTP status when there was one.
pub fn error_label(kind: &str, code: Option<i64>) -> String {
    match code {
        Some(c) => format!("{kind} ({c})"),
        None => kind.to_string(),
    }
}

/// Reads a records file; a malformed line is an error naming the file and line (the caller shows
/// it and carries on without this run's distributions).
pub fn digest(path: &Path) -> anyhow::Result<Digest> {
    let mut d = Digest::default();
    let stats = jsonl::for_each::<Record>(vec![jsonl::Input::open(path)?], |_, r| {
        if r.metadata.benchmark_phase == Phase::Warmup {
            return Ok(());
        }
        let ttft = r.scalar("time_to_first_token");
        d.events.push(Event {
            start_ns: r.metadata.request_start_ns,
            end_ns: r.metadata.request_end_ns.max(r.metadata.request_start_ns),
            first_token_ns: ttft.map(|t| r.metadata.request_start_ns + (t * 1e6) as u64),
            output_tokens: r
                .scalar("output_token_count")
                .or_else(|| r.scalar("output_sequence_length"))
                .unwrap_or(0.0),
            error: r.is_error(),
        });
        if let Some(e) = &r.error {
            *d.errors.entry(error_label(e.kind.as_str(), e.code)).or_insert(0) += 1;
            return Ok(());
        }
        d.ttft.extend(ttft);
        d.itl.extend(r.scalar("inter_token_latency"));
        d.latency.extend(r.scalar("request_latency"));
        Ok(())
    })?;
    d.warnings = stats.warnings();
    Ok(d)
}

/// The empirical CDF of `values` as at most `max_points` (value, percent) points.
pub fn cdf(values: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n <= max_points {
        return v
            .iter()
            .enumerate()
            .map(|(i, x)| (*x, 100.0 * (i + 1) as f64 / n as f64))
            .collect();
    }
    let k = max_points.max(2);
    (0..k)
        .map(|j| {
            let i = ((j as f64 / (k - 1) as f64) * (n - 1) as f64).round() as usize;
            (v[i], 100.0 * (i + 1) as f64 / n as f64)
        })
        .collect()
}

/// A run's load over time, in bins of `bin_s` seconds from `origin_ns`.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub origin_ns: u64,
    pub bin_s: f64,
    /// Bin centres, seconds since the origin.
    pub t: Vec<f64>,
    /// Time-averaged requests in flight.
    pub in_flight: Vec<f64>,
    /// Requests completed per second (errors included).
    pub completions: Vec<f64>,
    /// Output tokens per second, each request's tokens spread over its decode time.
    pub tokens: Vec<f64>,
}

/// Adds `amount` spread evenly over `[a, b)` (seconds) to `bins`.
fn spread(bins: &mut [f64], bin_s: f64, a: f64, b: f64, amount: f64) {
    if bins.is_empty() {
        return;
    }
    let last = bins.len() - 1;
    if b <= a {
        let i = ((a / bin_s) as usize).min(last);
        bins[i] += amount;
        return;
    }
    let rate = amount / (b - a);
    let mut i = ((a / bin_s) as usize).min(last);
    let mut t = a;
    while t < b && i <= last {
        let end = (((i + 1) as f64) * bin_s).min(b);
        bins[i] += rate * (end - t);
        t = end;
        i += 1;
    }
}

/// Bins the events into about `target_bins` bins of a round width.
pub fn timeline(events: &[Event], target_bins: usize) -> Option<Timeline> {
    let origin = events.iter().map(|e| e.start_ns).min()?;
    let end = events.iter().map(|e| e.end_ns).max()?;
    let span = (end - origin) as f64 / 1e9;
    let raw = (span / target_bins.max(1) as f64).max(0.01);
    let mag = 10f64.powf(raw.log10().floor());
    let bin_s = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let n = ((span / bin_s).ceil() as usize).max(1);
    let secs = |ns: u64| (ns - origin) as f64 / 1e9;
    let (mut busy, mut done, mut toks) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for e in events {
        let (a, b) = (secs(e.start_ns), secs(e.end_ns));
        spread(&mut busy, bin_s, a, b, b - a);
        spread(&mut done, bin_s, b, b, 1.0);
        if !e.error && e.output_tokens > 0.0 {
            let ft = e.first_token_ns.map(secs).unwrap_or(a).clamp(a, b);
            spread(&mut toks, bin_s, ft, b, e.output_tokens);
        }
    }
    // The last bin is partly empty: scale it by the time it covers.
    let width = |i: usize| {
        if i + 1 == n {
            (span - i as f64 * bin_s).max(bin_s * 0.05)
        } else {
            bin_s
        }
    };
    Some(Timeline {
        origin_ns: origin,
        bin_s,
        t: (0..n).map(|i| (i as f64 + 0.5) * bin_s).collect(),
        in_flight: busy.iter().enumerate().map(|(i, v)| v / width(i)).collect(),
        completions: done.iter().enumerate().map(|(i, v)| v / width(i)).collect(),
        tokens: toks.iter().enumerate().map(|(i, v)| v / width(i)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_is_monotone_and_capped() {
        let v: Vec<f64> = (0..1000).rev().map(f64::from).collect();
        let c = cdf(&v, 100);
        assert_eq!(c.len(), 100);
        assert_eq!(c[0], (0.0, 0.1));
        assert_eq!(c[99], (999.0, 100.0));
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(cdf(&[3.0, 1.0], 100), vec![(1.0, 50.0), (3.0, 100.0)]);
    }

    #[test]
    fn timeline_counts_what_is_in_flight() {
        // Two requests side by side for 1 s each, then one for 1 s: 2 in flight, then 1.
        let s = 1_000_000_000u64;
        let ev = |a: u64, b: u64| Event {
            start_ns: a,
            end_ns: b,
            first_token_ns: Some(a),
            output_tokens: 10.0,
            error: false,
        };
        let t = timeline(&[ev(0, s), ev(0, s), ev(s, 2 * s)], 2).unwrap();
        assert_eq!(t.bin_s, 1.0);
        assert_eq!(t.in_flight, vec![2.0, 1.0]);
        assert_eq!(t.tokens, vec![20.0, 10.0]);
        assert_eq!(t.completions.iter().sum::<f64>(), 3.0);
    }

    #[test]
    fn digest_reads_aiperfs_records() {
        let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/aiperf/a_single_c8_n200/profile_export.jsonl");
        let d = digest(&p).unwrap();
        assert_eq!(d.ttft.len(), 200);
        assert_eq!(d.itl.len(), 200);
        assert_eq!(d.events.len(), 200);
        assert!(d.errors.is_empty());
        let t = timeline(&d.events, 60).unwrap();
        let peak = t.in_flight.iter().copied().fold(0.0, f64::max);
        assert!(peak > 6.0 && peak <= 8.01, "concurrency 8: {peak}");
    }
}
