//! The accumulated columns → one trial's [`Summary`], in the order the summary is built: checks,
//! sweep-line metrics, per-column distributions, timestamp-derived latencies, the
//! coordinated-omission view, aggregates and derived scalars, warnings about what could not be
//! used, and the warmup phase on its own.

use super::accumulate::{self, Accumulator};
use super::goodput::Slo;
use super::run_info::{RunContext, WindowSource};
use super::{metrics, sweepline, Entry, MetricValue, Provenance, Summary};
use crate::io::clock;
use crate::stats::distribution as stats;

/// Turns the accumulated columns into the trial's summary. With `consume`, columns are sorted in
/// place (the final summary); otherwise they are copied (live snapshots keep record order).
pub fn summarize(
    acc: &mut Accumulator,
    info: &RunContext,
    slos: &[Slo],
    consume: bool,
    mut warnings: Vec<String>,
    sweep_limit: Option<u64>,
) -> anyhow::Result<Summary> {
    check_input(acc, slos)?;
    // Sweep-line metrics first: they need the pooled ICL column in record order.
    let mut dists = sweep_line_entries(acc, info, sweep_limit, &mut warnings);
    // Before the columns are consumed: the adjusted latencies shift their values.
    if let Some(p) = acc.per_shard_rtt.as_deref() {
        dists.extend(p.entries());
    } else if let Some(rtt) = info.network_rtt_ns {
        dists.extend(super::network_adjusted::entries(acc, rtt));
    }
    let sums = column_entries(acc, consume, &mut dists);
    dists.extend(timestamp_latencies(acc));
    let mut additions = scheduled_view(acc, &mut dists);
    if acc.later_turns > 0 {
        additions.extend(["session_count".to_string(), "turn_count".to_string()]);
    }
    dists.sort_by(|a, b| a.tag.cmp(&b.tag));

    let span = if acc.successes > 0 {
        (acc.min_start_ns, acc.max_end_ns)
    } else {
        (acc.min_start_all_ns, acc.max_end_all_ns)
    };
    let scalars = scalar_entries(acc, info, slos, &sums, span, &mut warnings);
    coverage_warnings(acc, info, &mut warnings);
    let warmup = warmup_entries(acc, info, slos, consume, sweep_limit, &mut warnings);
    let (start_time, end_time) = match (&info.start_time, &info.end_time) {
        (Some(a), Some(b)) => (Some(a.clone()), Some(b.clone())),
        _ => (
            acc.min_start_all_ns.map(clock::iso_utc),
            acc.max_end_all_ns.map(clock::iso_utc),
        ),
    };
    let mut entries = dists;
    entries.extend(scalars);
    Ok(Summary {
        entries,
        benchmark_id: info.benchmark_id.clone(),
        start_time,
        end_time,
        was_cancelled: info.was_cancelled.unwrap_or(false),
        error_summary: acc.error_kinds.clone(),
        // Copied into every export: without the URL secrets an AIPerf run info may still hold.
        run_info: info.run_info.clone().map(crate::io::redact::json),
        input_config: info.input_config.clone().map(crate::io::redact::json),
        telemetry: None,
        server: None,
        efficiency: Vec::new(),
        warmup,
        by_url: Vec::new(),
        sweepkit: Provenance {
            records_read: acc.lines,
            warmup_excluded: acc.warmup_excluded,
            window_source: Some(info.source.unwrap_or(WindowSource::Records)),
            window_ns: info.window.or(match span {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            }),
            warnings,
            additions,
            shards: None,
        },
    })
}

/// Refuses an input with nothing to summarize, and a `--goodput` tag no record carries.
fn check_input(acc: &Accumulator, slos: &[Slo]) -> anyhow::Result<()> {
    if acc.successes + acc.errors == 0 {
        if acc.warmup_excluded > 0 {
            anyhow::bail!(
                "no profiling records: all {} records are warmup (benchmark_phase \"warmup\" is excluded from metrics)",
                acc.warmup_excluded
            );
        }
        anyhow::bail!("no records to aggregate: the input is empty (give record files, or pipe loadgen's records on stdin)");
    }
    for slo in slos {
        if acc.columns.get(&slo.tag).is_none_or(|c| c.list.is_none()) {
            anyhow::bail!(
                "--goodput: no record carries metric '{}' (check the tag, e.g. time_to_first_token)",
                slo.tag
            );
        }
    }
    Ok(())
}

/// The time-weighted sweep-line metrics (effective_*, active_*, tokens_in_flight), unless the
/// timeline is over the limit (then a warning says so).
fn sweep_line_entries(
    acc: &Accumulator,
    info: &RunContext,
    sweep_limit: Option<u64>,
    warnings: &mut Vec<String>,
) -> Vec<Entry> {
    let icl: &[f64] = match acc.columns.get("inter_chunk_latency") {
        Some(c) if c.list == Some(true) && c.unit == "ms" => &c.values,
        _ => &[],
    };
    let events = acc.successes + acc.errors + icl.len() as u64;
    match sweep_limit {
        Some(limit) if events > limit || acc.timeline_dropped => {
            warnings.push(format!(
                "sweep-line metrics (effective_*, active_*, tokens_in_flight) skipped: {events} timeline events exceed --sweep-limit {limit} (pass --sweep-limit 0 to compute them; they cost about 1 µs and 120 B per event)"
            ));
            Vec::new()
        }
        _ => sweepline::metrics(&acc.timeline, icl, info.window)
            .into_iter()
            .map(|(tag, header, unit, st)| Entry {
                tag: tag.into(),
                header: header.into(),
                unit: unit.into(),
                value: MetricValue::Sweep(st),
            })
            .collect(),
    }
}

/// Every column's distribution (and its `adj_` companion) into `dists`; returns each column's sum
/// in base units, for the totals and throughputs. The biggest column (usually the pooled
/// inter_chunk_latency) is sorted on a second thread while the others are done here.
fn column_entries(acc: &mut Accumulator, consume: bool, dists: &mut Vec<Entry>) -> Vec<(String, f64)> {
    let errors = acc.errors;
    let one_column = |col: &mut accumulate::Column| column_distribution(col, consume, errors);
    let mut cols: Vec<&mut accumulate::Column> = acc
        .columns
        .cols
        .iter_mut()
        .filter(|c| !c.values.is_empty())
        .collect();
    cols.sort_by_key(|c| std::cmp::Reverse(c.values.len()));
    let mut results: Vec<(Entry, Option<f64>)> = Vec::new();
    if let Some((big, rest)) = cols.split_first_mut() {
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| one_column(big));
            for col in rest.iter_mut() {
                results.extend(one_column(col));
            }
            results.extend(handle.join().expect("column statistics thread"));
        });
    }
    let mut sums = Vec::new();
    for (entry, sum) in results {
        if let Some(sum) = sum {
            sums.push((entry.tag.clone(), sum));
        }
        dists.push(entry);
    }
    sums
}

/// One column's entries: its `adj_` distribution first when errors adjust it, then its own (with
/// its sum).
fn column_distribution(
    col: &mut accumulate::Column,
    consume: bool,
    errors: u64,
) -> Vec<(Entry, Option<f64>)> {
    let mut copy;
    let values: &mut [f64] = if consume {
        &mut col.values
    } else {
        copy = col.values.clone();
        &mut copy
    };
    let Some(dist) = stats::aiperf_dist(values) else {
        return Vec::new();
    };
    let factor = if col.unit == "ms" { metrics::NS_TO_MS } else { 1.0 };
    let mut out = Vec::new();
    if errors > 0 && metrics::adjusted(&col.tag) && col.list == Some(false) {
        let adj = stats::adjusted_dist(values, errors).scaled(factor);
        let tag = format!("adj_{}", col.tag);
        out.push((
            Entry {
                header: metrics::header(&tag),
                tag,
                unit: col.unit.clone(),
                value: MetricValue::Dist(adj),
            },
            None,
        ));
    }
    out.push((
        Entry {
            tag: col.tag.clone(),
            header: metrics::header(&col.tag),
            unit: col.unit.clone(),
            value: MetricValue::Dist(dist.scaled(factor)),
        },
        Some(dist.sum),
    ));
    if consume {
        col.values = Vec::new();
    }
    out
}

/// Timestamp-derived latencies, as AIPerf's derived_latency.py: max(delta, 0) / 1e6, numpy stats.
fn timestamp_latencies(acc: &Accumulator) -> Vec<Entry> {
    let mut out = Vec::new();
    for (tag, deltas) in [
        ("credit_to_start_latency", &acc.credit_to_start_ns),
        ("effective_latency", &acc.effective_ns),
    ] {
        let mut ms: Vec<f64> = deltas.iter().map(|&d| d.max(0.0) / 1_000_000.0).collect();
        if let Some(d) = stats::numpy_dist(&mut ms) {
            out.push(Entry {
                tag: tag.into(),
                header: metrics::header(tag),
                unit: "ms".into(),
                value: MetricValue::Dist(d),
            });
        }
    }
    out
}

/// The coordinated-omission view (sweepkit additions) into `dists`; returns the tags added.
fn scheduled_view(acc: &Accumulator, dists: &mut Vec<Entry>) -> Vec<String> {
    let mut additions = Vec::new();
    for (tag, ns) in [
        ("dispatch_lag", &acc.dispatch_lag_ns),
        ("scheduled_time_to_first_token", &acc.sched_ttft_ns),
        ("scheduled_request_latency", &acc.sched_latency_ns),
    ] {
        let mut v = ns.clone();
        if let Some(d) = stats::aiperf_dist(&mut v) {
            additions.push(tag.to_string());
            dists.push(Entry {
                tag: tag.into(),
                header: metrics::header(tag),
                unit: "ms".into(),
                value: MetricValue::Dist(d.scaled(metrics::NS_TO_MS)),
            });
        }
    }
    additions
}

/// Aggregates and derived scalars, sorted by tag: counts, duration, throughputs over the window
/// (the run info's, else the records' `span`), goodput, token totals, mismatch counts.
fn scalar_entries(
    acc: &Accumulator,
    info: &RunContext,
    slos: &[Slo],
    sums: &[(String, f64)],
    span: (Option<u64>, Option<u64>),
    warnings: &mut Vec<String>,
) -> Vec<Entry> {
    let sum_of = |tag: &str| sums.iter().find(|(t, _)| t == tag).map(|(_, s)| *s);
    let mut scalars: Vec<(&str, f64)> = Vec::new();
    let (successes, errors) = (acc.successes as f64, acc.errors as f64);
    scalars.push(("request_count", successes));
    if acc.errors > 0 {
        scalars.push(("error_request_count", errors));
        scalars.push(("context_overflow_count", context_overflows(acc) as f64));
    }
    scalars.push(("completed_request_count", successes + errors));
    scalars.push(("request_error_rate", 100.0 * errors / (successes + errors)));
    let duration_ns = match span {
        // AIPerf keeps epoch ns in float64 columns and subtracts those.
        (Some(a), Some(b)) if b > a => Some(b as f64 - a as f64),
        _ => None,
    };
    if let Some(ns) = duration_ns {
        scalars.push(("benchmark_duration", ns * metrics::NS_TO_SEC));
    } else {
        warnings.push(
            "benchmark_duration: records lack request_start_ns/request_end_ns; no duration or throughputs"
                .into(),
        );
    }
    let window_s = match info.window {
        Some((a, b)) => Some((b - a) as f64 * metrics::NS_TO_SEC),
        None => duration_ns.map(|ns| ns * metrics::NS_TO_SEC),
    };
    let total_isl = sum_of("input_sequence_length");
    warnings.extend(super::isl_check::warning(
        total_isl,
        sum_of("usage_prompt_tokens"),
    ));
    scalars.extend(overall_thinking_efficiency(&sum_of));
    scalars.extend(spec_decode_overall(&sum_of));
    let total_osl = sum_of("output_sequence_length");
    scalars.extend(rates(acc, !slos.is_empty(), window_s, (total_isl, total_osl)));
    if info.fixed_schedule() {
        scalars.extend(replay_lag(&acc.dispatch_lag_ns));
    }
    if let Some(n) = acc.osl_mismatch {
        scalars.push(("osl_mismatch_count", n as f64));
    }
    // AIPerf's token-weighted cache share: cached prompt tokens / prompt tokens, in %.
    if let (Some(read), Some(prompt)) = (
        sum_of("usage_prompt_cache_read_tokens"),
        sum_of("usage_prompt_tokens").filter(|p| *p > 0.0),
    ) {
        scalars.push(("overall_usage_prompt_cache_read_pct", read / prompt * 100.0));
    }
    if acc.later_turns > 0 {
        // A multi-turn run: how many sessions ran (first turns) and how many turns in all.
        scalars.push(("session_count", acc.first_turns as f64));
        scalars.push(("turn_count", (acc.first_turns + acc.later_turns) as f64));
    }
    if let Some(n) = acc.usage_discrepancy {
        scalars.push(("usage_discrepancy_count", n as f64));
    }
    let mut entries: Vec<Entry> = scalars
        .into_iter()
        .map(|(t, v)| (t.to_string(), v))
        .chain(token_totals(sums))
        .map(|(tag, v)| Entry {
            header: metrics::header(&tag),
            unit: scalar_unit(&tag, &acc.columns),
            tag,
            value: MetricValue::Scalar(v),
        })
        .collect();
    entries.sort_by(|a, b| a.tag.cmp(&b.tag));
    entries
}

/// The per-second rates over the window (s): requests, tokens (input, output, both) and, with SLOs,
/// goodput; with SLOs also the good requests and their share of those attempted.
fn rates(
    acc: &Accumulator,
    has_slos: bool,
    window_s: Option<f64>,
    (total_isl, total_osl): (Option<f64>, Option<f64>),
) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    if let Some(d) = window_s.filter(|d| *d > 0.0) {
        out.push(("request_throughput", acc.successes as f64 / d));
        if let Some(osl) = total_osl {
            out.push(("output_token_throughput", osl / d));
        }
        if let Some(isl) = total_isl {
            out.push(("input_token_throughput", isl / d));
        }
        if let (Some(isl), Some(osl)) = (total_isl, total_osl) {
            out.push(("total_token_throughput", (isl + osl) / d));
        }
        if has_slos {
            out.push(("goodput", acc.good as f64 / d));
        }
    }
    if has_slos {
        out.push(("good_request_count", acc.good as f64));
        let attempted = (acc.successes + acc.errors) as f64;
        out.push((
            "good_request_fraction",
            if attempted == 0.0 {
                0.0
            } else {
                acc.good as f64 / attempted
            },
        ));
    }
    out
}

/// AIPerf's threshold on the anchored p99 send lag beyond which a replay no longer follows its
/// trace (ms).
const REPLAY_DEGRADED_MS: f64 = 500.0;

/// AIPerf's `replay_sched_lag_p50/p90/p99` (ms) and `replay_sched_degraded` (0/1) of a fixed-schedule
/// run: the send lag behind the schedule (`request_start_ns − scheduled_ns`, ns) of each successful
/// request, anchored at the least-late one.
fn replay_lag(lag_ns: &[f64]) -> Vec<(&'static str, f64)> {
    let Some(min) = lag_ns.iter().copied().reduce(f64::min) else {
        return Vec::new();
    };
    let mut anchored: Vec<f64> = lag_ns.iter().map(|l| (l - min) / 1e6).collect();
    let Some(d) = stats::aiperf_dist(&mut anchored) else {
        return Vec::new();
    };
    let (p50, p90, p99) = (d.pct[4], d.pct[6], d.pct[8]);
    vec![
        ("replay_sched_lag_p50", p50),
        ("replay_sched_lag_p90", p90),
        ("replay_sched_lag_p99", p99),
        (
            "replay_sched_degraded",
            f64::from(u8::from(p99 > REPLAY_DEGRADED_MS)),
        ),
    ]
}

/// AIPerf's `context_overflow_count`: failed requests whose error text names a context overflow
/// (its default case-insensitive allowlist, matched against the error message, which holds the
/// server's error body).
fn context_overflows(acc: &Accumulator) -> u64 {
    const NEEDLES: [&str; 4] = [
        "context length",
        "maximum context",
        "context_length_exceeded",
        "prompt is too long",
    ];
    acc.error_kinds
        .iter()
        .filter(|(e, _)| {
            let m = e.message.to_lowercase();
            NEEDLES.iter().any(|n| m.contains(n))
        })
        .map(|(_, n)| n)
        .sum()
}

/// AIPerf's `overall_thinking_efficiency`: total reasoning tokens per total output token.
fn overall_thinking_efficiency(sum_of: &dyn Fn(&str) -> Option<f64>) -> Option<(&'static str, f64)> {
    let out = sum_of("output_token_count").filter(|o| *o > 0.0)?;
    Some((
        "overall_thinking_efficiency",
        sum_of("reasoning_token_count")? / out,
    ))
}

/// AIPerf's run-level spec-decode ratios: `1 + Σ accepted / Σ steps` (every verify step weighs
/// the same) and `Σ accepted / Σ drafted` in %, each undefined when its denominator is 0.
fn spec_decode_overall(sum_of: &dyn Fn(&str) -> Option<f64>) -> Vec<(&'static str, f64)> {
    let accepted = sum_of("spec_decode_accepted_draft_tokens");
    let mut out = Vec::new();
    if let (Some(a), Some(steps)) = (accepted, sum_of("spec_decode_steps").filter(|s| *s > 0.0)) {
        out.push(("spec_decode_token_weighted_acceptance_length", 1.0 + a / steps));
    }
    if let (Some(a), Some(d)) = (accepted, sum_of("spec_decode_draft_tokens").filter(|d| *d > 0.0)) {
        out.push(("spec_decode_overall_draft_acceptance_rate", 100.0 * a / d));
    }
    out
}

/// `total_isl`, `total_osl`, ... and `total_usage_*`, from the columns' sums.
fn token_totals(sums: &[(String, f64)]) -> Vec<(String, f64)> {
    let sum_of = |tag: &str| sums.iter().find(|(t, _)| t == tag).map(|(_, s)| *s);
    let mut totals: Vec<(String, f64)> = Vec::new();
    for (tag, total) in [
        ("total_isl", sum_of("input_sequence_length")),
        ("total_osl", sum_of("output_sequence_length")),
        ("total_output_tokens", sum_of("output_token_count")),
        ("total_reasoning_tokens", sum_of("reasoning_token_count")),
        ("total_error_isl", sum_of("error_isl")),
        ("total_spec_decode_steps", sum_of("spec_decode_steps")),
        (
            "total_accepted_draft_tokens",
            sum_of("spec_decode_accepted_draft_tokens"),
        ),
        ("total_draft_tokens", sum_of("spec_decode_draft_tokens")),
    ] {
        if let Some(t) = total {
            totals.push((tag.to_string(), t));
        }
    }
    for (tag, s) in sums {
        if tag.starts_with("usage_") && !tag.ends_with("_diff_pct") {
            totals.push((format!("total_{tag}"), *s));
        }
    }
    totals
}

/// Units of the aggregate/derived scalars; `total_<tag>` takes its tag's unit.
fn scalar_unit(tag: &str, columns: &accumulate::Columns) -> String {
    if let Some(i) = metrics::lookup(tag) {
        return i.unit.to_string();
    }
    if let Some(base) = tag.strip_prefix("total_") {
        if let Some(c) = columns.get(base) {
            return c.unit.clone();
        }
    }
    String::new()
}

/// Warnings about what could not be used.
fn coverage_warnings(acc: &Accumulator, info: &RunContext, warnings: &mut Vec<String>) {
    let profiling = acc.successes + acc.errors;
    if acc.missing_latency > 0 {
        warnings.push(format!(
            "{} of {} successful records have no request_latency; skipped for that metric",
            acc.missing_latency, acc.successes
        ));
    }
    if acc.missing_timestamps > 0 {
        warnings.push(format!(
            "{} of {profiling} records lack request_start_ns/request_end_ns; skipped for benchmark_duration and timestamp metrics",
            acc.missing_timestamps
        ));
    }
    if acc.with_credit > 0 && acc.with_credit < profiling {
        warnings.push(format!(
            "{} of {profiling} records lack metadata.credit_issued_ns; skipped for credit_to_start_latency/effective_latency",
            profiling - acc.with_credit
        ));
    }
    // A session's later turns go after a delay or at once, not at an intended time (a replayed
    // trace stamps only some of them, as AIPerf does): no warning for multi-turn records.
    if acc.with_schedule > 0 && acc.with_schedule < acc.successes && acc.later_turns == 0 {
        warnings.push(format!(
            "{} of {} successful records lack metadata.scheduled_ns; skipped for the scheduled_* metrics",
            acc.successes - acc.with_schedule,
            acc.successes
        ));
    }
    if acc.goodput_missing > 0 {
        warnings.push(format!(
            "{} successful records lack a metric named in --goodput; counted as not good",
            acc.goodput_missing
        ));
    }
    if info.source == Some(WindowSource::AiperfSummary) {
        warnings.push(
            "throughputs use the AIPerf summary's start_time/end_time, which have microsecond resolution (≈1e-7 relative)"
                .into(),
        );
    }
}

/// The warmup phase on its own (its records never enter the profiling metrics), over the run
/// info's warmup window.
fn warmup_entries(
    acc: &mut Accumulator,
    info: &RunContext,
    slos: &[Slo],
    consume: bool,
    sweep_limit: Option<u64>,
    warnings: &mut Vec<String>,
) -> Option<Vec<Entry>> {
    let w = acc.warmup.as_mut().filter(|w| w.successes + w.errors > 0)?;
    let winfo = RunContext {
        window: info.warmup_window,
        ..RunContext::default()
    };
    match summarize(w, &winfo, slos, consume, Vec::new(), sweep_limit) {
        Ok(ws) => Some(ws.entries),
        Err(e) => {
            warnings.push(format!("warmup_metrics: {e:#}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_lag_is_anchored_at_the_least_late_request() {
        // Lags 5 ms, 7 ms and 1005 ms behind the schedule → 0, 2, 1000 ms after the least late
        // (np.percentile of those, bit for bit).
        let got = replay_lag(&[5e6, 7e6, 1_005e6]);
        assert_eq!(
            got,
            [
                ("replay_sched_lag_p50", 2.0),
                ("replay_sched_lag_p90", 800.4000000000001), // numpy.percentile gives the same
                ("replay_sched_lag_p99", 980.04),
                ("replay_sched_degraded", 1.0),
            ]
        );
        assert!(replay_lag(&[]).is_empty());
        assert_eq!(replay_lag(&[3.0, 3.0])[3], ("replay_sched_degraded", 0.0));
    }
}
