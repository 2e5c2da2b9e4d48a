//! `--slice-duration`: AIPerf's timeslices (`profile_export_aiperf_timeslices.json`/`.csv`), so a
//! long run shows warm-up, drift and saturation over time.
//!
//! Cut as AIPerf cuts them (`MetricsAccumulator._compute_timeslices`), in its float64 arithmetic:
//! `t0` = the earliest profiling `request_start_ns`, `tmax` = the latest start or end; `n =
//! int((tmax − t0)/d) + 1` slices with edges `t0 + k·d` (`d` = `int(seconds·1e9)` ns); a record
//! belongs to the slice its **start** falls in; empty slices are skipped (the index stays dense);
//! the last slice's end is clipped to `tmax` and marked `is_complete: false`. Each slice is a full
//! summary of its records ([`summarize()`]) whose throughputs divide by the slice's window, plus
//! the sweep-line metrics of the whole run's timeline over that window (requests still in flight
//! from an earlier slice count in its concurrency, as in AIPerf).

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::accumulate::Accumulator;
use super::export_csv::{num, write_row, COLUMNS};
use super::export_json::metric_stats;
use super::goodput::Slo;
use super::run_info::RunContext;
use super::{summarize, sweepline, Entry, MetricValue};

/// One slice of the run.
#[derive(Debug, Clone)]
pub struct Slice {
    pub start_ns: u64,
    pub end_ns: u64,
    /// False for a last slice clipped to the run's end.
    pub is_complete: bool,
    /// The slice's metrics in display units, sorted by tag.
    pub entries: Vec<Entry>,
}

/// The part of a record the slicing needs.
#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    metadata: Meta,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    request_start_ns: Option<u64>,
    #[serde(default)]
    request_end_ns: Option<u64>,
    #[serde(default)]
    benchmark_phase: Option<String>,
}

/// A slice's float64 edges as AIPerf computes them: `(start, end, complete)`.
pub type Edges = (f64, f64, bool);

/// The most slices one run is cut into: each is a whole summary, and a slice width far below
/// the run's length would only ask for memory (1 ns slices of a 1 s run: 8.7 GB).
pub const MAX_SLICES: usize = 10_000;

/// AIPerf's grid over the records' `(start, end)` (ns): for each record its slice (None: no
/// start), and the slices' edges. A width under 1 ns, or one that cuts the run into more than
/// [`MAX_SLICES`] slices, is refused with the smallest width this run allows.
pub fn grid(
    spans: &[(Option<u64>, Option<u64>)],
    seconds: f64,
) -> anyhow::Result<(Vec<Option<usize>>, Vec<Edges>)> {
    let d = (seconds * 1e9) as u64;
    let starts = spans.iter().filter_map(|s| s.0.map(|v| v as f64));
    let Some(t0) = starts.clone().reduce(f64::min) else {
        return Ok((vec![None; spans.len()], Vec::new()));
    };
    let max_start = starts.reduce(f64::max).unwrap_or(t0);
    let max_end = spans
        .iter()
        .filter_map(|s| s.1.map(|v| v as f64))
        .reduce(f64::max);
    let tmax = max_end.map_or(max_start, |e| e.max(max_start));
    let n = if d == 0 {
        f64::INFINITY
    } else {
        ((tmax - t0) / d as f64).floor() + 1.0
    };
    if n > MAX_SLICES as f64 {
        anyhow::bail!(
            "--slice-duration {seconds}: cuts this run ({:.3} s of records) into {} slices, more than the {MAX_SLICES} allowed: give --slice-duration {} or more",
            (tmax - t0) / 1e9,
            if n.is_finite() { format!("{n}") } else { "endless".into() },
            smallest_width(tmax - t0)
        );
    }
    let n = n as usize;
    let edges: Vec<f64> = (0..=n).map(|k| t0 + (k as u64 * d) as f64).collect();
    // numpy.digitize (right=False): the last edge <= x.
    let bin = |x: f64| {
        edges
            .partition_point(|e| *e <= x)
            .checked_sub(1)
            .filter(|b| *b < n)
    };
    let bins = spans.iter().map(|s| s.0.and_then(|v| bin(v as f64))).collect();
    let slices = (0..n)
        .map(|k| {
            let end = edges[k + 1];
            (edges[k], end.min(tmax), end <= tmax)
        })
        .collect();
    Ok((bins, slices))
}

/// The smallest `--slice-duration` (seconds, rounded up to two significant digits) that cuts a
/// span of `span_ns` into at most [`MAX_SLICES`] slices.
fn smallest_width(span_ns: f64) -> String {
    let ns = (span_ns / (MAX_SLICES - 1) as f64).ceil().max(1.0);
    let magnitude = 10f64.powi(ns.log10().floor() as i32 - 1).max(1.0);
    let ns = (ns / magnitude).ceil() * magnitude;
    let digits = (9 - (ns.log10().floor() as i32 - 1)).max(0) as usize;
    let text = format!("{:.*}", digits, ns / 1e9);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// Every non-empty slice of the profiling records among `lines`, each summarised; `whole` is the
/// run's accumulator (its timeline gives the sweep-line metrics), read before it is summarised.
pub fn compute(
    lines: &[String],
    seconds: f64,
    whole: &Accumulator,
    slos: &[Slo],
    info: &RunContext,
) -> anyhow::Result<Vec<Slice>> {
    let mut profiling: Vec<&str> = Vec::new();
    let mut spans = Vec::new();
    for l in lines {
        let Ok(Line { metadata: m }) = serde_json::from_str::<Line>(l) else {
            continue; // the accumulator has already refused or skipped it
        };
        if m.benchmark_phase.as_deref() == Some("warmup") {
            continue;
        }
        profiling.push(l);
        spans.push((m.request_start_ns, m.request_end_ns));
    }
    let (bins, edges) = grid(&spans, seconds)?;
    let mut members: Vec<Vec<&str>> = vec![Vec::new(); edges.len()];
    for (i, b) in bins.iter().enumerate() {
        if let Some(k) = b {
            members[*k].push(profiling[i]);
        }
    }
    let icl: &[f64] = match whole.columns.get("inter_chunk_latency") {
        Some(c) if c.list == Some(true) && c.unit == "ms" => &c.values,
        _ => &[],
    };
    let mut out = Vec::new();
    for (k, ((start, end, is_complete), members)) in edges.into_iter().zip(members).enumerate() {
        if members.is_empty() {
            continue;
        }
        let mut acc = Accumulator::new(slos);
        if let Some(rtt) = &info.network_rtt_by_shard {
            acc.adjust_per_shard(rtt.clone()); // a sharded merge: each shard's own round trip
        }
        for l in members {
            acc.add_line(l)
                .map_err(|e| anyhow::anyhow!("timeslice {k}: {e}"))?;
        }
        let window = (start as u64, end as u64);
        let slice_info = RunContext {
            window: Some(window),
            // AIPerf shifts each slice's latencies by the run's one round trip.
            network_rtt_ns: info.network_rtt_ns,
            ..RunContext::default()
        };
        // The slice's own records make no timeline of their own: the run's is windowed below.
        let mut summary = summarize(&mut acc, &slice_info, slos, true, Vec::new(), Some(0))?;
        summary.entries.extend(
            sweepline::metrics(&whole.timeline, icl, Some(window))
                .into_iter()
                .map(|(tag, header, unit, st)| Entry {
                    tag: tag.into(),
                    header: header.into(),
                    unit: unit.into(),
                    value: MetricValue::Sweep(st),
                }),
        );
        // AIPerf injects these two into the run's summary only, never into a slice.
        summary
            .entries
            .retain(|e| !matches!(e.tag.as_str(), "credit_to_start_latency" | "effective_latency"));
        summary.entries.sort_by(|a, b| a.tag.cmp(&b.tag));
        out.push(Slice {
            start_ns: window.0,
            end_ns: window.1,
            is_complete,
            entries: summary.entries,
        });
    }
    Ok(out)
}

/// `profile_export_aiperf_timeslices.json`: `{"timeslices": [{start_ns, end_ns, [is_complete],
/// <tag>: {...}}...], "input_config": {...}}`.
pub fn write_json(
    slices: &[Slice],
    input_config: Option<&serde_json::Value>,
    out: &mut dyn Write,
) -> io::Result<()> {
    struct One<'a>(&'a Slice);
    impl Serialize for One<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("start_ns", &self.0.start_ns)?;
            m.serialize_entry("end_ns", &self.0.end_ns)?;
            if !self.0.is_complete {
                m.serialize_entry("is_complete", &false)?;
            }
            for e in &self.0.entries {
                m.serialize_entry(&e.tag, &metric_stats(&e.unit, &e.value))?;
            }
            m.end()
        }
    }
    let doc = serde_json::json!({
        "timeslices": slices.iter().map(|s| serde_json::to_value(One(s))).collect::<Result<Vec<_>, _>>()?,
        "input_config": input_config.cloned().unwrap_or_else(|| serde_json::json!({})),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

/// `profile_export_aiperf_timeslices.csv`, tidy: `Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value`,
/// metrics by tag, stats in AIPerf's order (`avg, min, max, sum, p1 … p99, std`), values `%.2f`.
pub fn write_csv(slices: &[Slice], out: &mut dyn Write) -> io::Result<()> {
    let header = [
        "Timeslice",
        "Start_NS",
        "End_NS",
        "Metric",
        "Unit",
        "Stat",
        "Value",
    ];
    write_row(out, &header.map(String::from))?;
    for (i, s) in slices.iter().enumerate() {
        for e in &s.entries {
            let stats = serde_json::to_value(metric_stats(&e.unit, &e.value)).unwrap_or_default();
            for stat in COLUMNS {
                let Some(v) = stats.get(stat).and_then(|v| v.as_f64()) else {
                    continue;
                };
                let row = [
                    i.to_string(),
                    s.start_ns.to_string(),
                    s.end_ns.to_string(),
                    e.header.clone(),
                    e.unit.clone(),
                    stat.to_string(),
                    num(v),
                ];
                write_row(out, &row)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_bins_by_start_and_clips_the_last_slice() {
        const S: u64 = 1_000_000_000;
        let t0 = 1_700_000_000_000_000_000u64;
        let spans = [
            (Some(t0), Some(t0 + S / 2)),
            (Some(t0 + S), Some(t0 + 3 * S / 2)), // on an edge: the later slice
            (None, Some(t0 + S)),                 // no start: in no slice
            (Some(t0 + 2 * S + 1024), Some(t0 + 5 * S / 2)),
        ];
        let (bins, slices) = grid(&spans, 1.0).unwrap();
        assert_eq!(bins, [Some(0), Some(1), None, Some(2)]);
        assert_eq!(slices.len(), 3);
        let last = slices[2];
        assert_eq!(
            (last.0, last.1, last.2),
            ((t0 + 2 * S) as f64, (t0 + 5 * S / 2) as f64, false)
        );
        assert!(slices[0].2 && slices[1].2);
        // AIPerf's int(seconds * 1e9): 0.2 s is 200000000 ns, not 200000000.00000003.
        let (_, s) = grid(&[(Some(0), Some(399_999_999))], 0.2).unwrap();
        assert_eq!(
            s.iter().map(|x| x.1).collect::<Vec<_>>(),
            [200_000_000.0, 399_999_999.0]
        );
        assert_eq!(grid(&[(None, None)], 1.0).unwrap().1.len(), 0);
    }

    #[test]
    fn too_many_slices_are_refused_with_the_smallest_width_this_run_allows() {
        let run = [(Some(0), Some(1_000_000_000))];
        let err = grid(&run, 1e-9).unwrap_err().to_string();
        assert_eq!(
            err,
            "--slice-duration 0.000000001: cuts this run (1.000 s of records) into 1000000001 slices, more than the 10000 allowed: give --slice-duration 0.00011 or more"
        );
        assert!(grid(&run, 1e-12)
            .unwrap_err()
            .to_string()
            .contains("endless slices"));
        assert_eq!(grid(&run, 0.00011).unwrap().1.len(), 9091);
        assert!(grid(&run, 0.0001).is_err(), "10001 slices");
    }
}
