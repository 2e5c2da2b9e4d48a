//! `--public-dataset spec_al_mtbench --input-file FILE`: MT-Bench prompts read locally (AIPerf
//! 0.13's `loader/mt_bench.py` over `HuggingFaceH4/mt_bench_prompts`; never downloaded), as JSON
//! lines `{"prompt": ["turn 1", "turn 2"], ...}`. Each row is a session of its non-empty
//! (stripped) prompts, every turn carrying the history with the live replies (AIPerf's default
//! context mode, the FastChat protocol). The first row must have `prompt` (AIPerf's column check);
//! a later row whose `prompt` is not a list, or holds no text, is skipped.

use std::path::Path;

use anyhow::anyhow;
use serde_json::Value;

use crate::io::jsonl;
use crate::loadgen::dataset::spec_bench::{text_of, turn};
use crate::loadgen::dataset::trace_sessions::Draft;
use crate::loadgen::options::Options;

/// One draft per kept row, and what was skipped.
pub fn load(path: &Path, opts: &Options) -> anyhow::Result<(Vec<Draft>, Vec<String>)> {
    let input = jsonl::Input::open(path).map_err(|e| anyhow!("--input-file: {e}"))?;
    let mut drafts = Vec::new();
    let (mut rows, mut skipped) = (0u64, 0u64);
    let stats = jsonl::for_each_line(vec![input], |loc, raw| {
        let row: serde_json::Map<String, Value> = serde_json::from_str(raw)
            .map_err(|e| format!("not an MT-Bench line (a JSON object with \"prompt\"): {e}"))?;
        rows += 1;
        if rows == 1 && !row.contains_key("prompt") {
            let cols: Vec<&str> = row.keys().map(String::as_str).collect();
            return Err(format!(
                "column 'prompt' not found (MT-Bench rows hold their turns in \"prompt\"); the row has: {}",
                cols.join(", ")
            ));
        }
        let turns: Vec<_> = match row.get("prompt") {
            Some(Value::Array(t)) => t
                .iter()
                .map(text_of)
                .filter(|t| !t.is_empty())
                .map(|t| turn(t, opts))
                .collect(),
            _ => Vec::new(),
        };
        if turns.is_empty() {
            skipped += 1;
            return Ok(());
        }
        drafts.push(Draft {
            id: format!("session_{:06}", drafts.len()),
            line: loc.line,
            system: None,
            turns,
        });
        Ok(())
    })?;
    let mut warnings: Vec<String> = stats
        .warnings()
        .into_iter()
        .map(|w| format!("--input-file {w}"))
        .collect();
    if drafts.is_empty() {
        anyhow::bail!("--input-file {}: no MT-Bench row with a prompt", path.display());
    }
    if skipped > 0 {
        warnings.push(format!(
            "--public-dataset spec_al_mtbench: skipped {skipped} rows without prompts, as AIPerf does"
        ));
    }
    Ok((drafts, warnings))
}
