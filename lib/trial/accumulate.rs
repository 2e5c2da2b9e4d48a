//! Records → compact per-tag value columns, in one pass, without building JSON trees.
//!
//! A line is deserialized by hand-written serde seeds straight into a reusable scratch (borrowed
//! keys, numbers, one shared buffer for list values); the scratch is then committed to the
//! columns. What is kept is exactly what exact percentiles need: one `f64` per value, per tag, in
//! record order (AIPerf's sums are taken in that order), with list metrics (`inter_chunk_latency`)
//! pooled into one column. Values are kept in the unit AIPerf aggregates in (ns for `ms` metrics).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::contract::records::{ErrorDetails, ShardTag};
use crate::trial::goodput::Slo;
use crate::trial::metrics;
use crate::trial::per_shard_rtt::PerShard;
use crate::trial::sweepline::Timeline;

/// One metric tag's column.
#[derive(Debug, Default, Clone)]
pub struct Column {
    pub tag: String,
    /// Display unit as the records wrote it (`ms`, `tokens`, ...); empty until first seen.
    pub unit: String,
    /// `Some(true)` for list metrics, `Some(false)` for scalars, `None` until first seen.
    pub list: Option<bool>,
    /// Values in base units (ns for `ms`), record order, lists flattened.
    pub values: Vec<f64>,
}

/// Tag names ↔ column ids. Lines usually list their metrics in the same order, so each key is
/// first compared with the tag at the same position in the previous line before hashing.
#[derive(Debug, Default, Clone)]
pub struct Columns {
    pub cols: Vec<Column>,
    index: HashMap<String, usize>,
    hint: Vec<usize>,
}

impl Columns {
    pub fn id(&mut self, tag: &str) -> usize {
        if let Some(&id) = self.index.get(tag) {
            return id;
        }
        let id = self.cols.len();
        self.cols.push(Column {
            tag: tag.to_string(),
            ..Column::default()
        });
        self.index.insert(tag.to_string(), id);
        id
    }

    #[inline]
    fn id_at(&mut self, pos: usize, tag: &str) -> usize {
        if let Some(&id) = self.hint.get(pos) {
            if self.cols[id].tag == tag {
                return id;
            }
        }
        let id = self.id(tag);
        if pos < self.hint.len() {
            self.hint[pos] = id;
        } else if pos == self.hint.len() {
            self.hint.push(id);
        }
        id
    }

    pub fn get(&self, tag: &str) -> Option<&Column> {
        self.index.get(tag).map(|&id| &self.cols[id])
    }
}

/// One line, parsed. Reused from line to line so nothing is allocated per record.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    start_ns: Option<u64>,
    end_ns: Option<u64>,
    credit_ns: Option<u64>,
    scheduled_ns: Option<u64>,
    turn_index: u64,
    warmup: bool,
    error: Option<ErrorDetails>,
    /// (column id, display value).
    scalars: Vec<(usize, f64)>,
    /// (column id, range in `list_buf`).
    lists: Vec<(usize, usize, usize)>,
    list_buf: Vec<f64>,
    /// Read `metadata.shard` and `x_request_id` too (a sharded merge checks them).
    shard_ids: bool,
    shard: Option<ShardTag>,
    request_id: Option<String>,
}

impl Scratch {
    fn clear(&mut self) {
        self.start_ns = None;
        self.end_ns = None;
        self.credit_ns = None;
        self.scheduled_ns = None;
        self.turn_index = 0;
        self.warmup = false;
        self.error = None;
        self.scalars.clear();
        self.lists.clear();
        self.list_buf.clear();
        self.shard = None;
        self.request_id = None;
    }

    fn scalar(&self, id: usize) -> Option<f64> {
        self.scalars.iter().find(|(i, _)| *i == id).map(|(_, v)| *v)
    }
}

/// Well-known column ids, registered up front.
#[derive(Debug, Clone, Copy)]
struct Ids {
    request_latency: usize,
    ttft: usize,
    osl: usize,
    osl_diff: usize,
    prompt_diff: usize,
    completion_diff: usize,
    reasoning_diff: usize,
    isl: usize,
    icl: usize,
}

/// Everything trial-agg keeps about a trial while reading it.
#[derive(Debug, Clone)]
pub struct Accumulator {
    pub columns: Columns,
    scratch: Scratch,
    ids: Ids,
    slos: Vec<(usize, Slo)>,
    /// Non-blank lines read (all phases).
    pub lines: u64,
    pub successes: u64,
    pub errors: u64,
    pub warmup_excluded: u64,
    /// First request start / last response end over successful profiling records (epoch ns).
    pub min_start_ns: Option<u64>,
    pub max_end_ns: Option<u64>,
    /// The same over every profiling record (used when no request succeeded).
    pub min_start_all_ns: Option<u64>,
    pub max_end_all_ns: Option<u64>,
    /// `float(request_start_ns) - float(credit_issued_ns)` and `float(end) - float(credit)`, as
    /// AIPerf's column store computes them (epoch ns as float64).
    pub credit_to_start_ns: Vec<f64>,
    pub effective_ns: Vec<f64>,
    /// Coordinated-omission view (sweepkit): `request_start_ns - scheduled_ns`, and TTFT/latency
    /// measured from the intended send time, in ns.
    pub dispatch_lag_ns: Vec<f64>,
    pub sched_ttft_ns: Vec<f64>,
    pub sched_latency_ns: Vec<f64>,
    /// Error kinds in order of first appearance, with counts.
    pub error_kinds: Vec<(ErrorDetails, u64)>,
    error_index: HashMap<ErrorDetails, usize>,
    pub good: u64,
    /// Successful records that lacked a metric some SLO needs (counted as not good).
    pub goodput_missing: u64,
    pub osl_mismatch: Option<u64>,
    pub usage_discrepancy: Option<u64>,
    /// Successful records without `request_latency` / without timestamps.
    pub missing_latency: u64,
    pub missing_timestamps: u64,
    /// Records carrying `credit_issued_ns` / `scheduled_ns`, to warn when only some do.
    pub with_credit: u64,
    pub with_schedule: u64,
    /// Profiling records that were a conversation's first turn / a later turn (multi-turn runs).
    pub first_turns: u64,
    pub later_turns: u64,
    /// Per profiling record, for the sweep-line metrics; dropped (and no longer filled) once
    /// records + inter-chunk gaps exceed `sweep_limit`.
    pub timeline: Timeline,
    pub sweep_limit: Option<u64>,
    pub timeline_dropped: bool,
    /// Inter-chunk gaps of successful profiling records seen so far.
    pub icl_values: u64,
    /// The warmup phase's records, summarised separately.
    pub warmup: Option<Box<Accumulator>>,
    /// A sharded merge's network-adjusted latencies, each record shifted by its shard's round trip.
    pub per_shard_rtt: Option<Box<PerShard>>,
}

impl Accumulator {
    pub fn new(slos: &[Slo]) -> Accumulator {
        let mut columns = Columns::default();
        let ids = Ids {
            request_latency: columns.id("request_latency"),
            ttft: columns.id("time_to_first_token"),
            osl: columns.id("output_sequence_length"),
            osl_diff: columns.id("osl_mismatch_diff_pct"),
            prompt_diff: columns.id("usage_prompt_tokens_diff_pct"),
            completion_diff: columns.id("usage_completion_tokens_diff_pct"),
            reasoning_diff: columns.id("usage_reasoning_tokens_diff_pct"),
            isl: columns.id("input_sequence_length"),
            icl: columns.id("inter_chunk_latency"),
        };
        let slos = slos.iter().map(|s| (columns.id(&s.tag), s.clone())).collect();
        Accumulator {
            columns,
            scratch: Scratch::default(),
            ids,
            slos,
            lines: 0,
            successes: 0,
            errors: 0,
            warmup_excluded: 0,
            min_start_ns: None,
            max_end_ns: None,
            min_start_all_ns: None,
            max_end_all_ns: None,
            credit_to_start_ns: Vec::new(),
            effective_ns: Vec::new(),
            dispatch_lag_ns: Vec::new(),
            sched_ttft_ns: Vec::new(),
            sched_latency_ns: Vec::new(),
            error_kinds: Vec::new(),
            error_index: HashMap::new(),
            good: 0,
            goodput_missing: 0,
            osl_mismatch: None,
            usage_discrepancy: None,
            missing_latency: 0,
            missing_timestamps: 0,
            with_credit: 0,
            with_schedule: 0,
            first_turns: 0,
            later_turns: 0,
            timeline: Timeline::default(),
            sweep_limit: None,
            timeline_dropped: false,
            icl_values: 0,
            warmup: None,
            per_shard_rtt: None,
        }
    }

    /// From now on also read each record's `metadata.shard` and `x_request_id` ([`Self::shard_ids`]).
    pub fn keep_shard_ids(&mut self) {
        self.scratch.shard_ids = true;
    }

    /// From now on subtract each shard's round trip (ns by shard index) from its own successful
    /// profiling records' latencies ([`PerShard`]); reads the shard tags.
    pub fn adjust_per_shard(&mut self, rtt_ns: std::collections::BTreeMap<u32, f64>) {
        self.scratch.shard_ids = true;
        self.per_shard_rtt = Some(Box::new(PerShard::new(rtt_ns)));
    }

    /// The last line's shard tag and request id (with [`Self::keep_shard_ids`]; else `None`s).
    pub fn shard_ids(&self) -> (Option<&ShardTag>, Option<&str>) {
        (self.scratch.shard.as_ref(), self.scratch.request_id.as_deref())
    }

    /// Parses one JSONL line and adds it to the trial. `Err` is the message for `file:line: ...`.
    pub fn add_line(&mut self, line: &str) -> Result<(), String> {
        self.scratch.clear();
        let mut de = serde_json::Deserializer::from_str(line);
        RecordSeed {
            scratch: &mut self.scratch,
            columns: &mut self.columns,
        }
        .deserialize(&mut de)
        .map_err(|e| describe(&e))?;
        de.end()
            .map_err(|e| format!("trailing characters after the record: {e}"))?;
        self.commit()
    }

    /// Warmup records are kept out of the trial's metrics but summarised on their own
    /// (`warmup_metrics`), in a second accumulator with its own columns.
    fn commit_warmup(&mut self) -> Result<(), String> {
        let slos: Vec<Slo> = self.slos.iter().map(|(_, s)| s.clone()).collect();
        let limit = self.sweep_limit;
        let warm = self.warmup.get_or_insert_with(|| {
            let mut w = Accumulator::new(&slos);
            w.sweep_limit = limit;
            Box::new(w)
        });
        let s = &self.scratch;
        let mut map = |id: usize| {
            let col = &self.columns.cols[id];
            let wid = warm.columns.id(&col.tag);
            if warm.columns.cols[wid].unit.is_empty() {
                warm.columns.cols[wid].unit = col.unit.clone();
            }
            wid
        };
        let mut t = Scratch {
            start_ns: s.start_ns,
            end_ns: s.end_ns,
            credit_ns: s.credit_ns,
            scheduled_ns: s.scheduled_ns,
            turn_index: s.turn_index,
            warmup: false,
            error: s.error.clone(),
            scalars: s.scalars.iter().map(|&(id, v)| (map(id), v)).collect(),
            lists: Vec::new(),
            list_buf: s.list_buf.clone(),
            ..Default::default()
        };
        t.lists = s.lists.iter().map(|&(id, a, b)| (map(id), a, b)).collect();
        warm.scratch = t;
        warm.commit()
    }

    /// Adds the parsed line (`self.scratch`) to the trial.
    fn commit(&mut self) -> Result<(), String> {
        self.lines += 1;
        if self.scratch.warmup {
            self.warmup_excluded += 1;
            return self.commit_warmup();
        }
        // Each step reads the line from `self.scratch` and writes other fields.
        let is_error = self.scratch.error.is_some();
        if self.scratch.turn_index == 0 {
            self.first_turns += 1;
        } else {
            self.later_turns += 1;
        }
        self.add_to_columns(is_error)?;
        let (start, end) = self.add_times(is_error);
        self.add_timeline_row(is_error, start, end);
        if is_error {
            self.count_error();
            return Ok(());
        }
        self.successes += 1;
        self.add_per_shard_rtt();
        self.add_scheduled(start);
        if !self.slos.is_empty() {
            self.judge_goodput();
        }
        self.count_mismatches();
        Ok(())
    }

    /// The record's network-adjusted latencies, by its shard's round trip (sharded merges only).
    fn add_per_shard_rtt(&mut self) {
        let (Some(p), Some(tag)) = (self.per_shard_rtt.as_mut(), self.scratch.shard.as_ref()) else {
            return;
        };
        let (s, cols) = (&self.scratch, &self.columns);
        p.add(tag.index, |source| {
            let id = *cols.index.get(source)?;
            (cols.cols[id].unit == "ms").then_some(())?;
            s.scalar(id).map(metrics::ms_to_ns)
        });
    }

    /// The record's metric values into their columns (a failed record's `error_*` metrics only).
    fn add_to_columns(&mut self, is_error: bool) -> Result<(), String> {
        let s = &self.scratch;
        for &(id, v) in &s.scalars {
            let col = &mut self.columns.cols[id];
            if is_error && !col.tag.starts_with("error_") {
                continue; // AIPerf computes only ERROR_ONLY metrics on failed records.
            }
            match col.list {
                Some(true) => {
                    return Err(format!(
                        "metric '{}' is a number here but a list in earlier records",
                        col.tag
                    ))
                }
                None => col.list = Some(false),
                _ => {}
            }
            col.values
                .push(if col.unit == "ms" { metrics::ms_to_ns(v) } else { v });
        }
        if is_error {
            return Ok(());
        }
        for &(id, a, b) in &s.lists {
            let col = &mut self.columns.cols[id];
            match col.list {
                Some(false) => {
                    return Err(format!(
                        "metric '{}' is a list here but a number in earlier records",
                        col.tag
                    ))
                }
                None => col.list = Some(true),
                _ => {}
            }
            if col.unit == "ms" {
                col.values
                    .extend(s.list_buf[a..b].iter().map(|&v| metrics::ms_to_ns(v)));
            } else {
                col.values.extend_from_slice(&s.list_buf[a..b]);
            }
        }
        Ok(())
    }

    /// The record's start and end into the trial's span, and its credit-derived latencies;
    /// returns its (non-zero) start and end.
    fn add_times(&mut self, is_error: bool) -> (Option<u64>, Option<u64>) {
        let s = &self.scratch;
        let (start, end) = (s.start_ns.filter(|&v| v > 0), s.end_ns.filter(|&v| v > 0));
        match (start, end) {
            (Some(a), Some(b)) => {
                self.min_start_all_ns = Some(self.min_start_all_ns.map_or(a, |m| m.min(a)));
                self.max_end_all_ns = Some(self.max_end_all_ns.map_or(b, |m| m.max(b)));
                if !is_error {
                    self.min_start_ns = Some(self.min_start_ns.map_or(a, |m| m.min(a)));
                    self.max_end_ns = Some(self.max_end_ns.map_or(b, |m| m.max(b)));
                }
            }
            _ => self.missing_timestamps += 1,
        }
        if let Some(credit) = s.credit_ns {
            self.with_credit += 1;
            if let Some(a) = start {
                self.credit_to_start_ns.push(a as f64 - credit as f64);
            }
            if let Some(b) = end {
                self.effective_ns.push(b as f64 - credit as f64);
            }
        }
        (start, end)
    }

    /// The record's row in AIPerf's column store, for the sweep-line metrics (failed records too:
    /// they count in concurrency), unless the timeline went over `--sweep-limit`.
    fn add_timeline_row(&mut self, is_error: bool, start: Option<u64>, end: Option<u64>) {
        let s = &self.scratch;
        let icl = if !is_error {
            s.lists
                .iter()
                .find(|l| l.0 == self.ids.icl)
                .map_or(0, |l| (l.2 - l.1) as u32)
        } else {
            0
        };
        self.icl_values += icl as u64;
        if !self.timeline_dropped
            && self
                .sweep_limit
                .is_some_and(|limit| self.successes + self.errors + 1 + self.icl_values > limit)
        {
            self.timeline = Timeline::default();
            self.timeline_dropped = true;
        }
        if self.timeline_dropped {
            return;
        }
        let tl = &mut self.timeline;
        let ok = !is_error;
        let scalar = |id: usize| {
            if ok {
                s.scalar(id).unwrap_or(f64::NAN)
            } else {
                f64::NAN
            }
        };
        tl.start.push(start.map_or(f64::NAN, |v| v as f64));
        tl.end.push(end.map_or(f64::NAN, |v| v as f64));
        let ttft = if ok { s.scalar(self.ids.ttft) } else { None };
        tl.gen.push(match (start, ttft) {
            (Some(a), Some(t)) => (a as i128 + metrics::ms_to_ns(t) as i128) as f64,
            _ => f64::NAN,
        });
        tl.isl.push(scalar(self.ids.isl));
        tl.osl.push(scalar(self.ids.osl));
        tl.icl_count.push(icl);
    }

    /// A failed record: counted, and its error kind tallied in order of first appearance.
    fn count_error(&mut self) {
        let Some(err) = &self.scratch.error else { return };
        self.errors += 1;
        match self.error_index.get(err) {
            Some(&i) => self.error_kinds[i].1 += 1,
            None => {
                self.error_index.insert(err.clone(), self.error_kinds.len());
                self.error_kinds.push((err.clone(), 1));
            }
        }
    }

    /// A successful record's latency coverage and, when it was scheduled, its coordinated-omission
    /// view: dispatch lag, and TTFT and latency measured from the intended send time.
    fn add_scheduled(&mut self, start: Option<u64>) {
        let s = &self.scratch;
        let latency_ns = s.scalar(self.ids.request_latency).map(metrics::ms_to_ns);
        if latency_ns.is_none() {
            self.missing_latency += 1;
        }
        if let (Some(sched), Some(a)) = (s.scheduled_ns, start) {
            self.with_schedule += 1;
            let lag = a as i128 - sched as i128;
            self.dispatch_lag_ns.push(lag as f64);
            if let Some(ttft) = s.scalar(self.ids.ttft) {
                self.sched_ttft_ns.push(lag as f64 + metrics::ms_to_ns(ttft));
            }
            if let Some(rl) = latency_ns {
                self.sched_latency_ns.push(lag as f64 + rl);
            }
        }
    }

    /// Goodput: the record is good when it meets every `--goodput` SLO; one lacking a named metric
    /// is not.
    fn judge_goodput(&mut self) {
        let s = &self.scratch;
        let mut good = true;
        for (id, slo) in &self.slos {
            match s.scalar(*id) {
                Some(v) => good &= slo.passes(v),
                None => {
                    good = false;
                    self.goodput_missing += 1;
                    break;
                }
            }
        }
        self.good += good as u64;
    }

    /// AIPerf's osl_mismatch_count and usage_discrepancy_count.
    fn count_mismatches(&mut self) {
        let s = &self.scratch;
        // osl_mismatch_count needs the requested OSL, which records do not carry; it is recovered
        // from the signed diff: requested = actual / (1 + diff/100).
        if let (Some(diff), Some(actual)) = (s.scalar(self.ids.osl_diff), s.scalar(self.ids.osl)) {
            let requested = (actual / (1.0 + diff / 100.0)).round();
            let threshold = (requested * (5.0 / 100.0)).min(50.0);
            let bad = (actual - requested).abs() > threshold;
            *self.osl_mismatch.get_or_insert(0) += bad as u64;
        }
        // usage_discrepancy_count: prompt or completion (or reasoning) diff above 10 %.
        if let Some(p) = s.scalar(self.ids.prompt_diff) {
            let c = s.scalar(self.ids.completion_diff);
            let r = s.scalar(self.ids.reasoning_diff);
            if p > 10.0 || c.is_some_and(|c| c > 10.0) || (c.is_some() && r.is_some_and(|r| r > 10.0)) {
                *self.usage_discrepancy.get_or_insert(0) += 1;
            } else if c.is_some() {
                self.usage_discrepancy.get_or_insert(0);
            }
        }
    }
}

/// serde_json's messages end with "at line 1 column N"; the caller adds `file:line`, so keep the
/// column only.
fn describe(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => format!("{} (column {})", &msg[..i], e.column()),
        None => msg,
    };
    if e.is_syntax() || e.is_eof() {
        format!("not valid JSON: {msg}")
    } else {
        format!("not a record: {msg}")
    }
}

/// A map key or string that borrows from the line when it can.
struct Str<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

struct RecordSeed<'a> {
    scratch: &'a mut Scratch,
    columns: &'a mut Columns,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object {\"metadata\": {...}, \"metrics\": {...}, \"error\": ...}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut saw_metadata = false;
        while let Some(key) = map.next_key::<Str>()? {
            match key.0.as_ref() {
                "metadata" => {
                    saw_metadata = true;
                    map.next_value_seed(MetaSeed(self.scratch))?
                }
                "metrics" => map.next_value_seed(MetricsSeed {
                    scratch: self.scratch,
                    columns: self.columns,
                })?,
                "error" => self.scratch.error = map.next_value::<Option<ErrorDetails>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !saw_metadata {
            return Err(de::Error::custom("missing field `metadata`"));
        }
        Ok(())
    }
}

struct MetaSeed<'a>(&'a mut Scratch);

impl<'de> DeserializeSeed<'de> for MetaSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetaSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a metadata object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let s = self.0;
        while let Some(key) = map.next_key::<Str>()? {
            match key.0.as_ref() {
                "request_start_ns" => s.start_ns = map.next_value()?,
                "request_end_ns" => s.end_ns = map.next_value()?,
                "credit_issued_ns" => s.credit_ns = map.next_value()?,
                "scheduled_ns" => s.scheduled_ns = map.next_value()?,
                "turn_index" => s.turn_index = map.next_value::<Option<u64>>()?.unwrap_or(0),
                "benchmark_phase" => {
                    let phase: Option<Str> = map.next_value()?;
                    s.warmup = phase.is_some_and(|p| p.0 == "warmup");
                }
                "shard" if s.shard_ids => s.shard = map.next_value()?,
                "x_request_id" if s.shard_ids => s.request_id = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct MetricsSeed<'a> {
    scratch: &'a mut Scratch,
    columns: &'a mut Columns,
}

impl<'de> DeserializeSeed<'de> for MetricsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetricsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a metrics object {tag: {\"value\": v, \"unit\": u}}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut pos = 0;
        while let Some(key) = map.next_key::<Str>()? {
            let id = self.columns.id_at(pos, &key.0);
            pos += 1;
            map.next_value_seed(MetricSeed {
                scratch: self.scratch,
                columns: self.columns,
                id,
            })?;
        }
        Ok(())
    }
}

struct MetricSeed<'a> {
    scratch: &'a mut Scratch,
    columns: &'a mut Columns,
    id: usize,
}

impl<'de> DeserializeSeed<'de> for MetricSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetricSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a metric object {\"value\": number or list, \"unit\": string}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut unit: Option<Str> = None;
        while let Some(key) = map.next_key::<Str>()? {
            match key.0.as_ref() {
                "value" => map.next_value_seed(ValueSeed {
                    scratch: self.scratch,
                    id: self.id,
                })?,
                "unit" => unit = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let col = &mut self.columns.cols[self.id];
        let unit = unit.map(|u| u.0).unwrap_or(Cow::Borrowed(""));
        if col.unit.is_empty() {
            col.unit = unit.into_owned();
        } else if !unit.is_empty() && col.unit != unit {
            return Err(de::Error::custom(format!(
                "metric '{}' is in '{}' here but in '{}' in earlier records",
                col.tag, unit, col.unit
            )));
        }
        Ok(())
    }
}

struct ValueSeed<'a> {
    scratch: &'a mut Scratch,
    id: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a list of numbers")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scratch.scalars.push((self.id, v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.visit_f64(if v { 1.0 } else { 0.0 })
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(()) // `"value": null`: no value for this record.
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let s = self.scratch;
        let a = s.list_buf.len();
        while let Some(x) = seq.next_element::<f64>()? {
            s.list_buf.push(x);
        }
        s.lists.push((self.id, a, s.list_buf.len()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"metadata":{"session_num":0,"credit_issued_ns":100,"request_start_ns":1000,"request_end_ns":5000,"benchmark_phase":"profiling"},"metrics":{"request_latency":{"value":0.003,"unit":"ms"},"input_sequence_length":{"value":550,"unit":"tokens"},"inter_chunk_latency":{"value":[0.001,0.002],"unit":"ms"}},"error":null}"#;

    #[test]
    fn columns_hold_base_units_and_pool_lists() {
        let mut acc = Accumulator::new(&[]);
        acc.add_line(OK).unwrap();
        acc.add_line(OK).unwrap();
        assert_eq!(
            acc.columns.get("request_latency").unwrap().values,
            vec![3000.0, 3000.0]
        );
        assert_eq!(
            acc.columns.get("inter_chunk_latency").unwrap().values,
            vec![1000.0, 2000.0, 1000.0, 2000.0]
        );
        assert_eq!(
            acc.columns.get("input_sequence_length").unwrap().values,
            vec![550.0, 550.0]
        );
        assert_eq!(acc.credit_to_start_ns, vec![900.0, 900.0]);
        assert_eq!(
            (acc.successes, acc.min_start_ns, acc.max_end_ns),
            (2, Some(1000), Some(5000))
        );
    }

    #[test]
    fn warmup_and_errors() {
        let mut acc = Accumulator::new(&[]);
        acc.add_line(&OK.replace("profiling", "warmup")).unwrap();
        acc.add_line(r#"{"metadata":{"request_start_ns":1,"request_end_ns":2},"metrics":{"error_isl":{"value":550,"unit":"tokens"}},"error":{"code":500,"type":"Internal Server Error","message":"boom"}}"#).unwrap();
        assert_eq!((acc.warmup_excluded, acc.errors, acc.successes), (1, 1, 0));
        assert_eq!(acc.error_kinds[0].1, 1);
        assert_eq!(acc.columns.get("error_isl").unwrap().values, vec![550.0]);
        assert!(acc.columns.get("request_latency").unwrap().values.is_empty());
    }

    #[test]
    fn bad_lines_are_described() {
        let mut acc = Accumulator::new(&[]);
        let e = acc.add_line("{oops").unwrap_err();
        assert!(e.starts_with("not valid JSON"), "{e}");
        let e = acc.add_line(r#"{"metrics":{}}"#).unwrap_err();
        assert!(e.contains("missing field `metadata`"), "{e}");
        let e = acc
            .add_line(r#"{"metadata":{},"metrics":{"request_latency":{"value":"fast","unit":"ms"}}}"#)
            .unwrap_err();
        assert!(e.contains("a number or a list of numbers"), "{e}");
        acc.add_line(OK).unwrap();
        let e = acc
            .add_line(&OK.replace(r#""value":0.003,"unit":"ms""#, r#""value":3,"unit":"us""#))
            .unwrap_err();
        assert!(e.contains("is in 'us' here but in 'ms'"), "{e}");
    }
}
