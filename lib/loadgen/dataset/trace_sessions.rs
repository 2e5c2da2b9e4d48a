//! `mooncake_trace` lines with `session_id`: AIPerf's multi-turn traces (and `single_turn` rows
//! sharing one: sent in order, each without the turns before it, as AIPerf sends them).
//!
//! Lines sharing a `session_id` are one conversation, its turns in file order; a line without one
//! is a conversation of its own. A turn's user message is its line's text (`text_input`, or
//! `input_length` tokens built from its `hash_ids` blocks), and the session sends it after its
//! history with the replies actually received, as every multi-turn session does
//! ([`crate::loadgen::pacing::sessions`]). On a fixed schedule (the lines carry `timestamp`), a session starts at
//! its first line's timestamp; a later turn goes at its own `timestamp`, else `delay` ms after the
//! previous reply, else at once (AIPerf's `FixedScheduleStrategy`). The offsets drop stamped lines
//! outside `[start, end]` before the lines are grouped, as AIPerf's loader does.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use serde_json::{Map, Value};

use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::conversation::{Conversation, TurnSpec};
use crate::loadgen::dataset::replay;
use crate::loadgen::options::{DatasetType, Options};
use crate::loadgen::wire::BodySpec;

/// One line of a session trace, read and checked.
pub struct Line {
    /// Its line number in the file.
    pub line: u64,
    pub session: Option<String>,
    /// The turn's user message.
    pub text: String,
    pub max_tokens: Option<u64>,
    /// The line's `extra` body keys (merged after `--extra-inputs`).
    pub extra: Map<String, Value>,
    /// Trace time, ms.
    pub timestamp: Option<f64>,
    /// Ms after the previous reply (already capped by `--inter-turn-delay-cap-seconds`).
    pub delay: Option<f64>,
    /// The images, audio and videos after the text (a `single_turn` line's media fields).
    pub media: Vec<crate::loadgen::dataset::content::Part>,
}

/// The trace's conversations, in the order their sessions start, and whether they are replayed
/// on the trace's clock.
pub struct Sessions {
    pub conversations: Vec<Conversation>,
    pub trace: bool,
}

/// A `session_id` as the conversation's id: a string, or a number written out.
pub fn session_name(id: Value) -> Result<String, String> {
    match id {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("session_id must be a string, got {other}")),
    }
}

/// Groups the lines into conversations and places them on the trace's schedule. `single_turn`
/// rows sharing a `session_id` are sent in order but each as it is, without the turns before it
/// (AIPerf's rule for that format).
pub fn build(
    lines: Vec<Line>,
    opts: &Options,
    tok: &Tokenizer,
    path: &Path,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Sessions> {
    let history = opts.custom_dataset_type != DatasetType::SingleTurn;
    if history && !opts.endpoint_type.has_message_list() {
        let first = lines
            .iter()
            .find(|l| l.session.is_some())
            .expect("a session line");
        bail!("--input-file {}:{}: session_id: a session's history needs --endpoint-type chat, responses or messages (the {} endpoint has no message list)", path.display(), first.line, opts.endpoint_type.name());
    }
    let mut drafts = group(lines);
    let trace = on_clock(&mut drafts, opts, path, warnings)?;
    let mut conversations = conversations(drafts, opts, tok);
    for c in &mut conversations {
        c.carries_history = history;
    }
    Ok(Sessions { conversations, trace })
}

/// A session as read from a file, before it is formatted: `at_ms` of its turns holds the trace
/// time (ms) until [`on_clock`] places it.
pub struct Draft {
    pub id: String,
    /// The file line the session starts on.
    pub line: u64,
    /// Its own system prompt (a `multi_turn` file's leading system turn).
    pub system: Option<String>,
    pub turns: Vec<TurnSpec>,
}

/// Puts the sessions on the trace's clock, AIPerf's fixed schedule; false when the run does not
/// replay them (no timestamps, or `--no-fixed-schedule`: their stamps are dropped). Stamped turns
/// outside the offsets' window are dropped; each session must then start stamped; the zero is
/// AIPerf's; sessions are sorted by their start (stably), each turn's `at_ms` made relative.
pub fn on_clock(
    drafts: &mut Vec<Draft>,
    opts: &Options,
    path: &Path,
    warnings: &mut Vec<String>,
) -> anyhow::Result<bool> {
    let r = &opts.replay;
    let stamped = drafts.iter().flat_map(|d| &d.turns).any(|t| t.at_ms.is_some());
    if !stamped && r.required {
        bail!(
            "--fixed-schedule: {}:1: the trace has no `timestamp` (ms) on its lines; add them or drop --fixed-schedule",
            path.display()
        );
    }
    if !stamped || r.disabled {
        drafts
            .iter_mut()
            .flat_map(|d| &mut d.turns)
            .for_each(|t| t.at_ms = None);
        return Ok(false);
    }
    if opts.request_rate.is_some() {
        bail!("--request-rate: {} is a timestamped trace, replayed on its own schedule; drop --request-rate, or give --no-fixed-schedule to send its sessions at the rate", path.display());
    }
    let total = drafts.iter().map(|d| d.turns.len()).sum();
    for d in drafts.iter_mut() {
        d.turns.retain(|t| t.at_ms.is_none_or(|ms| replay::within(r, ms)));
    }
    drafts.retain(|d| !d.turns.is_empty());
    if drafts.is_empty() {
        bail!("{}", replay::nothing_within(r, total, path));
    }
    if let Some(d) = drafts.iter().find(|d| d.turns[0].at_ms.is_none()) {
        bail!("--fixed-schedule: {}:{}: session {} starts without a `timestamp`: on a fixed schedule a session starts at its first turn's timestamp (ms); add one, or give --no-fixed-schedule", path.display(), d.line, d.id);
    }
    let first = |d: &Draft| d.turns[0].at_ms.unwrap_or(0.0);
    let zero = replay::zero(r, drafts.iter().map(first));
    // A stable sort: sessions starting alike keep their file order.
    drafts.sort_by(|a, b| first(a).total_cmp(&first(b)));
    let mut last = 0.0f64;
    for t in drafts.iter_mut().flat_map(|d| &mut d.turns) {
        t.at_ms = t.at_ms.map(|ms| ms - zero);
        last = last.max(t.at_ms.unwrap_or(0.0));
    }
    warnings.extend(replay::check_span(last, path)?);
    Ok(true)
}

/// The drafts formatted as conversations (a first turn's `delay` dropped: nothing comes before it,
/// AIPerf ignores it too).
pub fn conversations(drafts: Vec<Draft>, opts: &Options, tok: &Tokenizer) -> Vec<Conversation> {
    let spec = BodySpec::of(opts);
    drafts
        .into_iter()
        .enumerate()
        .map(|(i, mut d)| {
            if let Some(first) = d.turns.first_mut() {
                first.delay_ms = None;
            }
            let system = d.system.map(Arc::from);
            Conversation::new(&spec, tok, (i, Arc::from(d.id)), (system, None), d.turns)
        })
        .collect()
}

/// The lines by session in order of first appearance; a line without a session is its own.
fn group(lines: Vec<Line>) -> Vec<Draft> {
    let mut drafts: Vec<Draft> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for l in lines {
        let turn = TurnSpec {
            text: l.text,
            max_tokens: l.max_tokens,
            delay_ms: l.delay,
            extra: l.extra,
            at_ms: l.timestamp,
            media: l.media,
        };
        let known = l.session.as_ref().and_then(|id| by_id.get(id).copied());
        if let Some(i) = known {
            drafts[i].turns.push(turn);
            continue;
        }
        let id = match l.session {
            Some(id) => {
                by_id.insert(id.clone(), drafts.len());
                id
            }
            None => format!("session_{:06}", drafts.len()),
        };
        drafts.push(Draft {
            id,
            line: l.line,
            system: None,
            turns: vec![turn],
        });
    }
    drafts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::options::{resolve, DatasetType, Io, Settings};

    fn opts(extra: Settings) -> Options {
        resolve(
            Settings {
                model: Some("m".into()),
                input_file: Some("t.jsonl".into()),
                custom_dataset_type: Some(DatasetType::MooncakeTrace),
                ..extra
            },
            Io::default(),
            Default::default(),
        )
        .unwrap()
    }

    fn line(n: u64, session: Option<&str>, timestamp: Option<f64>, delay: Option<f64>) -> Line {
        Line {
            line: n,
            session: session.map(String::from),
            text: format!("turn from line {n}"),
            max_tokens: Some(4),
            extra: Map::new(),
            timestamp,
            delay,
            media: Vec::new(),
        }
    }

    fn trace() -> Vec<Line> {
        vec![
            line(1, Some("a"), Some(1000.0), Some(70.0)),
            line(2, Some("b"), Some(900.0), None),
            line(3, Some("a"), None, Some(300.0)),
            line(4, None, Some(1500.0), None),
            line(5, Some("a"), Some(2000.0), None),
        ]
    }

    #[test]
    fn sessions_group_in_file_order_and_start_on_the_trace_clock() {
        let tok = Tokenizer::load("builtin").unwrap();
        let s = build(
            trace(),
            &opts(Settings::default()),
            &tok,
            Path::new("t.jsonl"),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(s.trace);
        let ids: Vec<&str> = s.conversations.iter().map(|c| c.id.as_ref()).collect();
        // Sorted by first timestamp; the line without a session is a conversation of its own.
        assert_eq!(ids, ["b", "a", "session_000002"]);
        let a = &s.conversations[1];
        assert_eq!(a.turns.len(), 3);
        assert_eq!(a.turns[0].content.as_text(), "turn from line 1");
        // Zero at the earliest first turn (900): a starts at 100; its first delay is ignored.
        assert_eq!(
            a.turns.iter().map(|t| (t.at_ms, t.delay_ms)).collect::<Vec<_>>(),
            [(Some(100.0), None), (None, Some(300.0)), (Some(1100.0), None)]
        );
        assert_eq!(
            a.turns[0].alone.timestamp_ms,
            Some(100.0),
            "the first turn carries its start"
        );
        assert_eq!(s.conversations[2].turns[0].at_ms, Some(600.0));
    }

    #[test]
    fn offsets_drop_stamped_lines_and_a_session_must_start_stamped() {
        let tok = Tokenizer::load("builtin").unwrap();
        let windowed = opts(Settings {
            fixed_schedule: Some(true),
            fixed_schedule_start_offset: Some(950),
            fixed_schedule_end_offset: Some(1600),
            ..Default::default()
        });
        let s = build(trace(), &windowed, &tok, Path::new("t.jsonl"), &mut Vec::new()).unwrap();
        // b (900) and a's line 5 (2000) are outside; a's unstamped line 3 stays; zero = 950.
        let a = &s.conversations[0];
        assert_eq!(a.id.as_ref(), "a");
        assert_eq!(a.turns.len(), 2);
        assert_eq!(a.turns[0].at_ms, Some(50.0));
        let mut unstamped = trace();
        unstamped[1].timestamp = None;
        let e = build(
            unstamped,
            &opts(Settings::default()),
            &tok,
            Path::new("t.jsonl"),
            &mut Vec::new(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("t.jsonl:2") && e.contains("session b"), "{e}");
        // Without the clock (--no-fixed-schedule) the same lines are plain sessions.
        let off = opts(Settings {
            no_fixed_schedule: Some(true),
            ..Default::default()
        });
        let mut lines = trace();
        lines[1].timestamp = None;
        let s = build(lines, &off, &tok, Path::new("t.jsonl"), &mut Vec::new()).unwrap();
        assert!(!s.trace);
        assert_eq!(s.conversations[0].id.as_ref(), "a", "file order");
        assert!(s
            .conversations
            .iter()
            .all(|c| c.turns.iter().all(|t| t.at_ms.is_none())));
    }
}
