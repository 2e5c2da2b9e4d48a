//! AIPerf's time-sliced "sweep-line" metrics: step functions over the trial's timeline
//! (concurrency, prefill/decode concurrency, throughput, tokens in flight) and their time-weighted
//! statistics over the profiling window (`effective_*`), or over the time a phase is active
//! (`active_*`). Reproduces AIPerf 0.13's `analysis/sweepline*.py` operation for operation (event
//! order, sequential cumulative sums, numpy pairwise sums), so that with the same window the
//! numbers are the same bits.
//!
//! Per record (every profiling record, failed ones too): `start`, `end` (epoch ns as float64),
//! `gen` = `start + ttft_ns` (first token), ISL, OSL, and its inter-chunk gaps (ns).

use crate::stats::distribution::pairwise_sum_by;

/// The per-record inputs, NaN where a record lacks the value.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    pub start: Vec<f64>,
    pub end: Vec<f64>,
    pub gen: Vec<f64>,
    pub isl: Vec<f64>,
    pub osl: Vec<f64>,
    /// How many ICL values each record contributed to the pooled ICL column.
    pub icl_count: Vec<u32>,
}

/// Time-weighted statistics of one step function (AIPerf's `SweepLineStats`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SweepStats {
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub std: f64,
}

impl SweepStats {
    fn scaled(self, k: f64) -> SweepStats {
        SweepStats {
            avg: self.avg * k,
            min: self.min * k,
            max: self.max * k,
            p50: self.p50 * k,
            p90: self.p90 * k,
            p95: self.p95 * k,
            p99: self.p99 * k,
            std: self.std * k,
        }
    }
}

/// A step function: value `vals[i]` holds from `ts[i]` to `ts[i+1]`; 0 before `ts[0]`.
#[derive(Debug, Default, Clone)]
struct Curve {
    ts: Vec<f64>,
    vals: Vec<f64>,
}

/// `_sweep_line_cumsum`: stable sort by (timestamp, ends before starts), sequential cumsum, and
/// snap residuals below `1e-9 * max|v|` to zero.
fn sweep(events: Vec<(f64, f64)>) -> Curve {
    // Sort keys: (timestamp in total order, ends before starts, original position) — the same
    // order as numpy's stable lexsort — as plain integers, so an unstable sort is exact and fast.
    let ordered = |t: f64| {
        let b = t.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | (1 << 63)
        }
    };
    let mut keys: Vec<(u64, u64)> = events
        .iter()
        .enumerate()
        .map(|(i, &(t, d))| (ordered(t), (((d > 0.0) as u64) << 40) | i as u64))
        .collect();
    keys.sort_unstable();
    let mut ts = Vec::with_capacity(events.len());
    let mut vals = Vec::with_capacity(events.len());
    let mut acc = 0.0;
    for (_, aux) in keys {
        let (t, d) = events[(aux & ((1 << 40) - 1)) as usize];
        acc += d;
        ts.push(t);
        vals.push(acc);
    }
    drop(events);
    let max_abs = vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if max_abs > 0.0 {
        for v in vals.iter_mut() {
            if v.abs() < 1e-9 * max_abs {
                *v = 0.0;
            }
        }
    }
    Curve { ts, vals }
}

/// `_step_lookup` for ascending queries: a cursor that only moves forward (O(n) over a grid).
struct Walk<'a> {
    c: &'a Curve,
    i: usize,
}

impl<'a> Walk<'a> {
    fn new(c: &'a Curve) -> Walk<'a> {
        Walk { c, i: 0 }
    }
    /// The value at `q`; queries must not decrease.
    fn at(&mut self, q: f64) -> f64 {
        while self.i < self.c.ts.len() && self.c.ts[self.i] <= q {
            self.i += 1;
        }
        if self.i == 0 {
            0.0
        } else {
            self.c.vals[self.i - 1]
        }
    }
}

/// The sorted union of two sorted timestamp lists, without duplicates (`np.unique(concat)`).
fn merged_grid(a: &[f64], b: &[f64], extra: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() + b.len() + extra.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && a[i] <= b[j]);
        let v = if take_a {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    if !extra.is_empty() {
        out.extend_from_slice(extra);
        out.sort_by(f64::total_cmp);
        out.dedup();
    }
    out
}

/// `divide_step_functions`: num/den on the merged grid, 0 where den is 0.
fn divide(num: &Curve, den: &Curve) -> Curve {
    if num.ts.is_empty() || den.ts.is_empty() {
        return Curve::default();
    }
    let grid = merged_grid(&num.ts, &den.ts, &[]);
    let (mut wn, mut wd) = (Walk::new(num), Walk::new(den));
    let vals = grid
        .iter()
        .map(|&t| {
            let (n, d) = (wn.at(t), wd.at(t));
            if d > 0.0 {
                n / d
            } else {
                0.0
            }
        })
        .collect();
    Curve { ts: grid, vals }
}

fn concurrency(start: &[f64], end: &[f64]) -> Curve {
    let valid: Vec<usize> = (0..start.len())
        .filter(|&i| !start[i].is_nan() && !end[i].is_nan())
        .collect();
    let mut ev = Vec::with_capacity(valid.len() * 2);
    ev.extend(valid.iter().map(|&i| (start[i], 1.0)));
    ev.extend(valid.iter().map(|&i| (end[i], -1.0)));
    sweep(ev)
}

fn prefill_throughput(t: &Timeline) -> Curve {
    let valid: Vec<usize> = (0..t.start.len())
        .filter(|&i| {
            !t.start[i].is_nan() && !t.gen[i].is_nan() && !t.isl[i].is_nan() && t.gen[i] - t.start[i] > 0.0
        })
        .collect();
    let rate = |i: usize| t.isl[i] / (t.gen[i] - t.start[i]);
    let mut ev = Vec::with_capacity(valid.len() * 2);
    ev.extend(valid.iter().map(|&i| (t.start[i], rate(i))));
    ev.extend(valid.iter().map(|&i| (t.gen[i], -rate(i))));
    sweep(ev)
}

fn total_throughput(t: &Timeline) -> Curve {
    let n = t.start.len();
    let pv: Vec<usize> = (0..n)
        .filter(|&i| {
            !t.start[i].is_nan() && !t.gen[i].is_nan() && !t.isl[i].is_nan() && t.gen[i] - t.start[i] > 0.0
        })
        .collect();
    let gv: Vec<usize> = (0..n)
        .filter(|&i| !t.gen[i].is_nan() && !t.osl[i].is_nan() && t.end[i] - t.gen[i] > 0.0)
        .collect();
    let pr = |i: usize| t.isl[i] / (t.gen[i] - t.start[i]);
    let gr = |i: usize| (t.osl[i] - 1.0) / (t.end[i] - t.gen[i]);
    let mut ev = Vec::with_capacity(2 * (pv.len() + gv.len()));
    ev.extend(pv.iter().map(|&i| (t.start[i], pr(i))));
    ev.extend(pv.iter().map(|&i| (t.gen[i], -pr(i))));
    ev.extend(gv.iter().map(|&i| (t.gen[i], gr(i))));
    ev.extend(gv.iter().map(|&i| (t.end[i], -gr(i))));
    sweep(ev)
}

/// Per ICL value: its record, and its chunk's arrival time.
struct IclLayout {
    rec: Vec<u32>,
    interval_end: Vec<f64>,
}

fn icl_layout(t: &Timeline, icl: &[f64]) -> IclLayout {
    // numpy: global_cs = cumsum(icl) (sequential); start_cs = global_cs[offset - 1] (0 at offset 0);
    // interval_end = gen + (global_cs - start_cs).
    let mut rec = Vec::with_capacity(icl.len());
    let mut interval_end = Vec::with_capacity(icl.len());
    let mut global = 0.0;
    let mut k = 0usize;
    for (r, &count) in t.icl_count.iter().enumerate() {
        let start_cs = global;
        for _ in 0..count {
            global += icl[k];
            rec.push(r as u32);
            interval_end.push(t.gen[r] + (global - start_cs));
            k += 1;
        }
    }
    IclLayout { rec, interval_end }
}

/// `throughput_sweep_line_icl`: each non-zero gap carries `(osl-1)/nonzero_gaps` tokens.
fn decode_throughput_icl(t: &Timeline, icl: &[f64], lay: &IclLayout) -> Curve {
    let mut nonzero = vec![0u32; t.start.len()];
    for (k, &v) in icl.iter().enumerate() {
        if v > 0.0 {
            nonzero[lay.rec[k] as usize] += 1;
        }
    }
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for (k, &v) in icl.iter().enumerate() {
        let r = lay.rec[k] as usize;
        let tokens = t.osl[r];
        if t.gen[r].is_nan() || v <= 0.0 || tokens.is_nan() || tokens < 1.0 {
            continue;
        }
        let c = nonzero[r] as f64;
        let per_msg = if c > 0.0 { (tokens - 1.0) / c } else { 0.0 };
        let rate = per_msg / v;
        let end = lay.interval_end[k];
        starts.push((end - v, rate));
        ends.push((end, -rate));
    }
    starts.extend(ends);
    sweep(starts)
}

/// `throughput_sweep_line` (no ICL): `(osl-1)/(end-gen)` during generation.
fn decode_throughput_plain(t: &Timeline) -> Curve {
    let gv: Vec<usize> = (0..t.start.len())
        .filter(|&i| !t.gen[i].is_nan() && !t.osl[i].is_nan() && t.end[i] - t.gen[i] > 0.0)
        .collect();
    let gr = |i: usize| (t.osl[i] - 1.0) / (t.end[i] - t.gen[i]);
    let mut ev = Vec::with_capacity(gv.len() * 2);
    ev.extend(gv.iter().map(|&i| (t.gen[i], gr(i))));
    ev.extend(gv.iter().map(|&i| (t.end[i], -gr(i))));
    sweep(ev)
}

/// `tokens_in_flight_sweep_line_icl` (or the plain variant without ICL): input tokens from the
/// request start, output tokens arriving chunk by chunk, all freed at the end.
fn tokens_in_flight(t: &Timeline, icl: &[f64], lay: Option<&IclLayout>) -> Curve {
    let n = t.start.len();
    let pf_valid =
        |i: usize| !t.start[i].is_nan() && !t.isl[i].is_nan() && !t.gen[i].is_nan() && t.gen[i] > t.start[i];
    let has_end = |i: usize| !t.end[i].is_nan();
    let mut ev: Vec<(f64, f64)> = Vec::new();
    match lay {
        Some(lay) => {
            let has_icl = |i: usize| t.icl_count[i] > 0;
            // TTFT chunk: +1 token at gen.
            for i in 0..n {
                if !t.gen[i].is_nan() && has_icl(i) && !t.osl[i].is_nan() && t.osl[i] >= 1.0 {
                    ev.push((t.gen[i], 1.0));
                }
            }
            for (k, &v) in icl.iter().enumerate() {
                let r = lay.rec[k] as usize;
                let tokens = t.osl[r];
                if t.gen[r].is_nan() || v < 0.0 || tokens.is_nan() {
                    continue;
                }
                let c = t.icl_count[r] as f64;
                let per_chunk = if c > 0.0 { (tokens - 1.0) / c } else { 0.0 };
                let mut at = lay.interval_end[k];
                let rec_end = t.end[r];
                if !rec_end.is_nan() && at >= rec_end {
                    at = rec_end.next_down();
                }
                ev.push((at, per_chunk));
            }
            for i in (0..n).filter(|&i| pf_valid(i)) {
                ev.push((t.start[i], t.isl[i]));
            }
            for i in (0..n).filter(|&i| pf_valid(i) && has_end(i) && has_icl(i)) {
                ev.push((t.end[i], -(t.isl[i] + t.osl[i])));
            }
            for i in (0..n).filter(|&i| pf_valid(i) && has_end(i) && !has_icl(i)) {
                ev.push((t.end[i], -t.isl[i]));
            }
            for i in (0..n).filter(|&i| !pf_valid(i) && has_end(i) && has_icl(i)) {
                ev.push((t.end[i], -t.osl[i]));
            }
        }
        None => {
            let has_gen = |i: usize| !t.gen[i].is_nan() && !t.osl[i].is_nan() && t.end[i] - t.gen[i] > 0.0;
            for i in (0..n).filter(|&i| pf_valid(i)) {
                ev.push((t.start[i], t.isl[i]));
            }
            for i in (0..n).filter(|&i| has_gen(i)) {
                ev.push((t.gen[i], t.osl[i]));
            }
            let (ewi, ewg) = (
                |i: usize| pf_valid(i) && has_end(i),
                |i: usize| has_gen(i) && has_end(i),
            );
            for i in (0..n).filter(|&i| ewi(i) && ewg(i)) {
                ev.push((t.end[i], -(t.isl[i] + t.osl[i])));
            }
            for i in (0..n).filter(|&i| ewi(i) && !ewg(i)) {
                ev.push((t.end[i], -t.isl[i]));
            }
            for i in (0..n).filter(|&i| !ewi(i) && ewg(i)) {
                ev.push((t.end[i], -t.osl[i]));
            }
        }
    }
    sweep(ev)
}

/// Time-weighted stats of segments `(value, duration)` (in timeline order), normalized by `total`:
/// `avg = sum(val*dur)/total`, `std = sqrt(sum(dur*(val-avg)^2)/total)` (numpy pairwise sums),
/// percentiles = first value (ascending) whose cumulative duration fraction reaches q.
/// Sorts `segs` in place.
fn weighted_stats(segs: &mut [(f64, f64)], total: f64) -> SweepStats {
    let n = segs.len();
    let avg = {
        let s: &[(f64, f64)] = segs;
        pairwise_sum_by(n, &|i| s[i].0 * s[i].1) / total
    };
    let std = {
        let s: &[(f64, f64)] = segs;
        (pairwise_sum_by(n, &|i| {
            let x = s[i].0 - avg;
            s[i].1 * (x * x)
        }) / total)
            .sqrt()
    };
    segs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let (mn, mx) = (segs[0].0, segs[n - 1].0);
    // cum_frac = cumsum(sorted dur) / cumsum[-1], searchsorted(left) for each q, in one pass.
    let mut last = 0.0;
    for p in segs.iter() {
        last += p.1;
    }
    let qs = [0.50, 0.90, 0.95, 0.99];
    let mut picks = [segs[n - 1].0; 4];
    let mut next = 0;
    let mut acc = 0.0;
    for p in segs.iter() {
        acc += p.1;
        while next < 4 && acc / last >= qs[next] {
            picks[next] = p.0;
            next += 1;
        }
        if next == 4 {
            break;
        }
    }
    SweepStats {
        avg,
        min: mn,
        max: mx,
        p50: picks[0],
        p90: picks[1],
        p95: picks[2],
        p99: picks[3],
        std,
    }
}

/// `compute_time_weighted_stats` over `[ws, we]`.
fn time_weighted(c: &Curve, ws: f64, we: f64) -> SweepStats {
    let total = we - ws;
    if c.ts.is_empty() || total <= 0.0 {
        return SweepStats::default();
    }
    let lo = c.ts.partition_point(|&t| t <= ws).saturating_sub(1);
    let hi = (c.ts.partition_point(|&t| t < we) + 1).min(c.ts.len());
    // Segments: [ws, ts[lo]) at the value before `lo`, then [ts[i], ts[i+1]) for i in lo..hi,
    // the last one ending at `we`; each clipped to the window, empty ones dropped.
    let n = hi - lo + 1;
    let seg_start = |k: usize| if k == 0 { ws } else { c.ts[lo + k - 1] };
    let seg_val = |k: usize| {
        if k == 0 {
            if lo > 0 {
                c.vals[lo - 1]
            } else {
                0.0
            }
        } else {
            c.vals[lo + k - 1]
        }
    };
    let mut segs = Vec::with_capacity(n);
    for k in 0..n {
        let end = if k + 1 < n { seg_start(k + 1) } else { we };
        let d = (end.min(we) - seg_start(k).max(ws)).max(0.0);
        if d > 0.0 {
            segs.push((seg_val(k), d));
        }
    }
    if segs.is_empty() {
        return SweepStats::default();
    }
    weighted_stats(&mut segs, total)
}

/// `compute_active_weighted_stats`: the rate curve over the segments where `mask > 0`.
fn active_weighted(rate: &Curve, mask: &Curve, ws: f64, we: f64) -> SweepStats {
    if we - ws <= 0.0 || rate.ts.is_empty() {
        return SweepStats::default();
    }
    let grid: Vec<f64> = merged_grid(&rate.ts, &mask.ts, &[ws, we])
        .into_iter()
        .filter(|&g| g >= ws && g <= we)
        .collect();
    if grid.len() < 2 {
        return SweepStats::default();
    }
    let mut segs = Vec::new();
    let (mut wr, mut wm) = (Walk::new(rate), Walk::new(mask));
    for w in grid.windows(2) {
        let d = w[1] - w[0];
        let (r, m) = (wr.at(w[0]), wm.at(w[0]));
        if m > 0.0 && d > 0.0 {
            segs.push((r, d));
        }
    }
    drop(grid);
    if segs.is_empty() {
        return SweepStats::default();
    }
    let active = {
        let s: &[(f64, f64)] = &segs;
        pairwise_sum_by(s.len(), &|i| s[i].1)
    };
    if active <= 0.0 {
        return SweepStats::default();
    }
    weighted_stats(&mut segs, active)
}

/// One sweep-line metric: tag, header, unit, stats.
type SweepMetric = (&'static str, &'static str, &'static str, SweepStats);

/// Nanoseconds per second: the rate curves are per ns, the metrics per second.
const NS: f64 = 1_000_000_000.0;

/// The 14 sweep-line metrics (tag, header, unit, stats), or none when no record has timestamps.
/// `window`: the profiling window in epoch ns; `None` = first event → last event.
pub fn metrics(t: &Timeline, icl: &[f64], window: Option<(u64, u64)>) -> Vec<SweepMetric> {
    let Some(c) = Curves::new(t, icl) else {
        return Vec::new();
    };
    let (ws, we) = match window {
        Some((a, b)) => (a as f64, b as f64),
        None => (c.conc.ts[0], *c.conc.ts.last().unwrap()),
    };
    let mut out = effective_metrics(&c, ws, we);
    out.extend(active_metrics(&c, ws, we));
    out
}

/// The step curves the metrics are read from, built once: concurrency per phase and the
/// token rates (per ns), whole and per user.
struct Curves {
    conc: Curve,
    gen_conc: Curve,
    prefill_conc: Curve,
    decode: Curve,
    prefill: Curve,
    total: Curve,
    decode_per_user: Curve,
    prefill_per_user: Curve,
    tif: Curve,
}

impl Curves {
    /// `None` when no record has timestamps (the concurrency curve is empty).
    fn new(t: &Timeline, icl: &[f64]) -> Option<Curves> {
        let conc = concurrency(&t.start, &t.end);
        if conc.ts.is_empty() {
            return None;
        }
        let gen_conc = concurrency(&t.gen, &t.end);
        let prefill_conc = concurrency(&t.start, &t.gen);
        let lay = if icl.is_empty() {
            None
        } else {
            Some(icl_layout(t, icl))
        };
        let decode = match &lay {
            Some(l) => decode_throughput_icl(t, icl, l),
            None => decode_throughput_plain(t),
        };
        let prefill = prefill_throughput(t);
        let total = total_throughput(t);
        let decode_per_user = divide(&decode, &gen_conc);
        let prefill_per_user = divide(&prefill, &prefill_conc);
        let tif = tokens_in_flight(t, icl, lay.as_ref());
        Some(Curves {
            conc,
            gen_conc,
            prefill_conc,
            decode,
            prefill,
            total,
            decode_per_user,
            prefill_per_user,
            tif,
        })
    }
}

/// The 8 `effective_*` metrics and tokens in flight: time-weighted over the whole window.
fn effective_metrics(c: &Curves, ws: f64, we: f64) -> Vec<SweepMetric> {
    let tw = |x: &Curve| time_weighted(x, ws, we);
    vec![
        (
            "effective_concurrency",
            "Effective Concurrency",
            "requests",
            tw(&c.conc),
        ),
        (
            "effective_decode_concurrency",
            "Effective Decode Concurrency",
            "requests",
            tw(&c.gen_conc),
        ),
        (
            "effective_prefill_concurrency",
            "Effective Prefill Concurrency",
            "requests",
            tw(&c.prefill_conc),
        ),
        (
            "effective_decode_throughput",
            "Effective Decode Throughput",
            "tokens/sec",
            tw(&c.decode).scaled(NS),
        ),
        (
            "effective_prefill_throughput",
            "Effective Prefill Throughput",
            "tokens/sec",
            tw(&c.prefill).scaled(NS),
        ),
        (
            "effective_total_throughput",
            "Effective Total Throughput",
            "tokens/sec",
            tw(&c.total).scaled(NS),
        ),
        (
            "effective_decode_throughput_per_user",
            "Effective Decode Throughput Per User",
            "tokens/sec/user",
            tw(&c.decode_per_user).scaled(NS),
        ),
        (
            "effective_prefill_throughput_per_user",
            "Effective Prefill Throughput Per User",
            "tokens/sec/user",
            tw(&c.prefill_per_user).scaled(NS),
        ),
        ("tokens_in_flight", "Tokens In Flight", "tokens", tw(&c.tif)),
    ]
}

/// The 5 `active_*` metrics: weighted by time only while the phase has requests in it.
fn active_metrics(c: &Curves, ws: f64, we: f64) -> Vec<SweepMetric> {
    let aw = |r: &Curve, m: &Curve| active_weighted(r, m, ws, we);
    vec![
        (
            "active_decode_throughput",
            "Active Decode Throughput",
            "tokens/sec",
            aw(&c.decode, &c.gen_conc).scaled(NS),
        ),
        (
            "active_prefill_throughput",
            "Active Prefill Throughput",
            "tokens/sec",
            aw(&c.prefill, &c.prefill_conc).scaled(NS),
        ),
        (
            "active_decode_throughput_per_user",
            "Active Decode Throughput Per User",
            "tokens/sec/user",
            aw(&c.decode_per_user, &c.gen_conc).scaled(NS),
        ),
        (
            "active_prefill_throughput_per_user",
            "Active Prefill Throughput Per User",
            "tokens/sec/user",
            aw(&c.prefill_per_user, &c.prefill_conc).scaled(NS),
        ),
        (
            "active_total_throughput",
            "Active Total Throughput",
            "tokens/sec",
            aw(&c.total, &c.conc).scaled(NS),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_of_two_overlapping_requests() {
        let c = concurrency(&[0.0, 10.0], &[20.0, 30.0]);
        assert_eq!(c.ts, vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(c.vals, vec![1.0, 2.0, 1.0, 0.0]);
        let s = time_weighted(&c, 0.0, 40.0);
        // 1 for 10, 2 for 10, 1 for 10, 0 for 10 → avg 1.0; p50 = 1, p90 = 2.
        assert_eq!(s.avg, 1.0);
        assert_eq!((s.min, s.max, s.p50, s.p90), (0.0, 2.0, 1.0, 2.0));
        let a = active_weighted(&c, &c, 0.0, 40.0);
        assert_eq!(a.avg, 4.0 / 3.0);
        assert_eq!(a.min, 1.0);
    }

    #[test]
    fn ends_sort_before_starts_at_equal_times() {
        let c = concurrency(&[0.0, 10.0], &[10.0, 20.0]);
        assert_eq!(c.vals, vec![1.0, 0.0, 1.0, 0.0]);
        assert_eq!(time_weighted(&c, 0.0, 20.0).max, 1.0);
    }
}
