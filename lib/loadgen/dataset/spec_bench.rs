//! `--public-dataset spec_bench --input-file FILE`: Spec-Bench's `question.jsonl`, read locally
//! (AIPerf 0.13's `loader/spec_bench.py`; never downloaded). One question per line,
//! `{"question_id", "category", "turns": ["...", ...]}`; AIPerf sends each question's first turn
//! (stripped) as one request, and skips a line whose `turns` is not a non-empty list or whose
//! first turn is empty.

use std::path::Path;

use anyhow::anyhow;
use serde_json::Value;

use crate::io::jsonl;
use crate::loadgen::dataset::conversation::TurnSpec;
use crate::loadgen::dataset::trace_sessions::Draft;
use crate::loadgen::options::Options;

/// One draft (a single turn) per kept question, and what was skipped.
pub fn load(path: &Path, opts: &Options) -> anyhow::Result<(Vec<Draft>, Vec<String>)> {
    let input = jsonl::Input::open(path).map_err(|e| anyhow!("--input-file: {e}"))?;
    let mut drafts = Vec::new();
    let mut skipped = 0u64;
    let stats = jsonl::for_each_line(vec![input], |loc, raw| {
        let row: serde_json::Map<String, Value> = serde_json::from_str(raw)
            .map_err(|e| format!("not a Spec-Bench line (a JSON object with \"turns\"): {e}"))?;
        let first = match row.get("turns") {
            Some(Value::Array(t)) => t.first().map(text_of).unwrap_or_default(),
            _ => String::new(),
        };
        if first.is_empty() {
            skipped += 1;
            return Ok(());
        }
        drafts.push(Draft {
            id: format!("session_{:06}", drafts.len()),
            line: loc.line,
            system: None,
            turns: vec![turn(first, opts)],
        });
        Ok(())
    })?;
    let mut warnings: Vec<String> = stats
        .warnings()
        .into_iter()
        .map(|w| format!("--input-file {w}"))
        .collect();
    if drafts.is_empty() {
        anyhow::bail!(
            "--input-file {}: no Spec-Bench question with a non-empty first turn",
            path.display()
        );
    }
    if skipped > 0 {
        warnings.push(format!(
            "--public-dataset spec_bench: skipped {skipped} lines without a first turn, as AIPerf does"
        ));
    }
    Ok((drafts, warnings))
}

/// AIPerf's `str(t).strip() if t else ""`: a string stripped, another value as its JSON text.
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Null | Value::Bool(false) => String::new(),
        other => other.to_string(),
    }
}

/// A turn of public-dataset text: `--osl` as its max tokens (AIPerf's composer fallback).
pub fn turn(text: String, opts: &Options) -> TurnSpec {
    TurnSpec {
        text,
        max_tokens: opts.osl,
        delay_ms: None,
        extra: Default::default(),
        at_ms: None,
        media: Vec::new(),
    }
}
