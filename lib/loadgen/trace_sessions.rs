//! `mooncake_trace` lines with `session_id`: AIPerf's multi-turn traces.
//!
//! Lines sharing a `session_id` are one conversation, its turns in file order; a line without one
//! is a conversation of its own. A turn's user message is its line's text (`text_input`, or
//! `input_length` tokens built from its `hash_ids` blocks), and the session sends it after its
//! history with the replies actually received, as every multi-turn session does
//! ([`super::sessions`]). On a fixed schedule (the lines carry `timestamp`), a session starts at
//! its first line's timestamp; a later turn goes at its own `timestamp`, else `delay` ms after the
//! previous reply, else at once (AIPerf's `FixedScheduleStrategy`). The offsets drop stamped lines
//! outside `[start, end]` before the lines are grouped, as AIPerf's loader does.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use serde_json::{Map, Value};

use super::conversation::{Conversation, TurnSpec};
use super::options::{EndpointType, Options};
use super::tokenizer::Tokenizer;

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

/// Groups the lines into conversations and places them on the trace's schedule.
pub fn build(lines: Vec<Line>, opts: &Options, tok: &Tokenizer, path: &Path) -> anyhow::Result<Sessions> {
    let at = |l: &Line| format!("{}:{}", path.display(), l.line);
    if !matches!(
        opts.endpoint_type,
        EndpointType::Chat | EndpointType::Responses | EndpointType::Messages
    ) {
        let first = lines
            .iter()
            .find(|l| l.session.is_some())
            .expect("a session line");
        bail!("--input-file {}: session_id: a session's history needs --endpoint-type chat, responses or messages (the {} endpoint has no message list)", at(first), opts.endpoint_type.name());
    }
    let r = &opts.replay;
    let stamped = lines.iter().any(|l| l.timestamp.is_some());
    if !stamped && r.required {
        bail!(
            "--fixed-schedule: {}:1: the trace has no `timestamp` (ms) on its lines; add them or drop --fixed-schedule",
            path.display()
        );
    }
    let trace = stamped && !r.disabled;
    if trace && opts.request_rate.is_some() {
        bail!("--request-rate: {} is a timestamped trace, replayed on its own schedule; drop --request-rate, or give --no-fixed-schedule to send its sessions at the rate", path.display());
    }
    let total = lines.len();
    let within = |t: f64| {
        r.start_offset_ms.is_none_or(|s| t >= s as f64) && r.end_offset_ms.is_none_or(|e| t <= e as f64)
    };
    let lines: Vec<Line> = lines
        .into_iter()
        .filter(|l| !trace || l.timestamp.is_none_or(within))
        .collect();
    if lines.is_empty() {
        bail!(
            "--fixed-schedule-start-offset/--fixed-schedule-end-offset: none of the {total} lines of {} is stamped within [{}, {}] ms",
            path.display(),
            r.start_offset_ms.unwrap_or(0),
            r.end_offset_ms.map_or("end".into(), |e| e.to_string())
        );
    }
    let mut groups = group(lines);
    let mut zero = 0.0;
    if trace {
        for (id, g) in &groups {
            if g[0].timestamp.is_none() {
                bail!("--fixed-schedule: {}: session {id} starts without a `timestamp`: on a fixed schedule a session starts at its first line's timestamp (ms); add one, or give --no-fixed-schedule", at(&g[0]));
            }
        }
        let first = |g: &Vec<Line>| g[0].timestamp.unwrap_or(0.0);
        zero = if r.auto_offset {
            groups.iter().map(|(_, g)| first(g)).fold(f64::INFINITY, f64::min)
        } else {
            r.start_offset_ms.unwrap_or(0) as f64
        };
        // A stable sort: sessions starting alike keep their file order.
        groups.sort_by(|a, b| first(&a.1).total_cmp(&first(&b.1)));
    }
    let conversations = groups
        .into_iter()
        .enumerate()
        .map(|(i, (id, g))| {
            let turns = g
                .into_iter()
                .enumerate()
                .map(|(k, l)| TurnSpec {
                    text: l.text,
                    max_tokens: l.max_tokens,
                    // AIPerf ignores a first turn's delay: nothing comes before it.
                    delay_ms: l.delay.filter(|_| k > 0),
                    extra: l.extra,
                    at_ms: l.timestamp.filter(|_| trace).map(|t| t - zero),
                })
                .collect();
            Conversation::new(opts, tok, (i, Arc::from(id)), (None, None), turns)
        })
        .collect();
    Ok(Sessions { conversations, trace })
}

/// The lines by session in order of first appearance; a line without a session is its own.
fn group(lines: Vec<Line>) -> Vec<(String, Vec<Line>)> {
    let mut groups: Vec<(String, Vec<Line>)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for l in lines {
        let Some(id) = l.session.clone() else {
            groups.push((format!("session_{:06}", groups.len()), vec![l]));
            continue;
        };
        match by_id.get(&id) {
            Some(&i) => groups[i].1.push(l),
            None => {
                by_id.insert(id.clone(), groups.len());
                groups.push((id, vec![l]));
            }
        }
    }
    groups
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
        let s = build(trace(), &opts(Settings::default()), &tok, Path::new("t.jsonl")).unwrap();
        assert!(s.trace);
        let ids: Vec<&str> = s.conversations.iter().map(|c| c.id.as_ref()).collect();
        // Sorted by first timestamp; the line without a session is a conversation of its own.
        assert_eq!(ids, ["b", "a", "session_000002"]);
        let a = &s.conversations[1];
        assert_eq!(a.turns.len(), 3);
        assert_eq!(a.turns[0].text.as_ref(), "turn from line 1");
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
        let s = build(trace(), &windowed, &tok, Path::new("t.jsonl")).unwrap();
        // b (900) and a's line 5 (2000) are outside; a's unstamped line 3 stays; zero = 950.
        let a = &s.conversations[0];
        assert_eq!(a.id.as_ref(), "a");
        assert_eq!(a.turns.len(), 2);
        assert_eq!(a.turns[0].at_ms, Some(50.0));
        let mut unstamped = trace();
        unstamped[1].timestamp = None;
        let e = build(unstamped, &opts(Settings::default()), &tok, Path::new("t.jsonl"))
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
        let s = build(lines, &off, &tok, Path::new("t.jsonl")).unwrap();
        assert!(!s.trace);
        assert_eq!(s.conversations[0].id.as_ref(), "a", "file order");
        assert!(s
            .conversations
            .iter()
            .all(|c| c.turns.iter().all(|t| t.at_ms.is_none())));
    }
}
