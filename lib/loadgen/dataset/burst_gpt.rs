//! `--custom-dataset-type burst_gpt_trace`: a BurstGPT CSV (AIPerf 0.13's
//! `loader/burst_gpt.py`), a trace. Its header must name `Timestamp` (seconds from the trace's
//! start), `Request tokens` and `Response tokens` (other columns, e.g. `Model`, `Log Type`, are
//! ignored). Each row is one request of `Request tokens` synthesized tokens (as a
//! `mooncake_trace` row without `hash_ids`) asking for `Response tokens` (0, a failed request in
//! BurstGPT, asks for 1, AIPerf's clamp), sent at its timestamp: the trace replays on its
//! schedule with the fixed-schedule offsets, like a `mooncake_trace`. A row whose three values
//! are not numbers is skipped, as AIPerf skips it, and counted in a warning.

use std::path::Path;

use anyhow::anyhow;

use crate::io::jsonl;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::input_file::{self, TraceRow};
use crate::loadgen::options::Options;

const COLUMNS: [&str; 3] = ["Timestamp", "Request tokens", "Response tokens"];

/// Reads the CSV and builds the trace.
pub fn load(path: &Path, opts: &Options, tok: &Tokenizer) -> anyhow::Result<input_file::Dataset> {
    let input = jsonl::Input::open(path).map_err(|e| anyhow!("--input-file: {e}"))?;
    let mut at: Option<[usize; 3]> = None;
    let mut rows = Vec::new();
    let mut skipped: Vec<u64> = Vec::new();
    let stats = jsonl::for_each_line(vec![input], |loc, raw| {
        let fields = split(raw)?;
        let Some(cols) = at else {
            at = Some(header(&fields)?);
            return Ok(());
        };
        match row(&fields, cols) {
            Some((t, i, o)) => rows.push(TraceRow {
                timestamp_ms: crate::contract::limits::check_timestamp(t * 1000.0)?,
                line: loc.line,
                input_length: i,
                output_length: o.max(1),
            }),
            None => skipped.push(loc.line),
        }
        Ok(())
    })?;
    let mut d = input_file::trace_rows(path, rows, opts, tok)?;
    d.warnings
        .extend(stats.warnings().into_iter().map(|w| format!("--input-file {w}")));
    if let Some(first) = skipped.first() {
        d.warnings.push(format!(
            "--input-file {}: skipped {} rows whose Timestamp/Request tokens/Response tokens are not numbers (first at line {first}), as AIPerf skips them",
            path.display(),
            skipped.len()
        ));
    }
    Ok(d)
}

/// One CSV line's fields (quoted fields allowed; a field may not span lines).
fn split(raw: &str) -> Result<Vec<String>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(raw.as_bytes());
    match r.records().next() {
        Some(Ok(rec)) => Ok(rec.iter().map(|f| f.trim().to_string()).collect()),
        Some(Err(e)) => Err(format!("not a CSV line: {e}")),
        None => Ok(Vec::new()),
    }
}

/// Where the three columns are; the header must name them all.
fn header(fields: &[String]) -> Result<[usize; 3], String> {
    let find = |c: &str| fields.iter().position(|f| f == c);
    match COLUMNS.map(find) {
        [Some(t), Some(i), Some(o)] => Ok([t, i, o]),
        found => {
            let missing: Vec<&str> = COLUMNS
                .iter()
                .zip(found)
                .filter(|(_, f)| f.is_none())
                .map(|(c, _)| *c)
                .collect();
            Err(format!(
                "a BurstGPT CSV header names Timestamp, Request tokens and Response tokens; missing: {}",
                missing.join(", ")
            ))
        }
    }
}

/// (seconds, request tokens, response tokens), or None when a value is not a number (AIPerf
/// skips such a row).
fn row(fields: &[String], [t, i, o]: [usize; 3]) -> Option<(f64, u64, u64)> {
    let t: f64 = fields
        .get(t)?
        .parse()
        .ok()
        .filter(|t: &f64| t.is_finite() && *t >= 0.0)?;
    let i: u64 = fields.get(i)?.parse().ok()?;
    let o: u64 = fields.get(o)?.parse().ok()?;
    Some((t, i, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_rows() {
        let h = split("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type").unwrap();
        let cols = header(&h).unwrap();
        assert_eq!(cols, [0, 2, 3]);
        let r = split("5.5,ChatGPT,472,18,490,Conversation log").unwrap();
        assert_eq!(row(&r, cols), Some((5.5, 472, 18)));
        assert_eq!(row(&split("x,ChatGPT,1,2").unwrap(), cols), None);
        let e = header(&split("Timestamp,Request tokens").unwrap()).unwrap_err();
        assert!(e.ends_with("missing: Response tokens"), "{e}");
    }
}
