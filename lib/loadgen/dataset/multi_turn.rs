//! `--custom-dataset-type multi_turn`: AIPerf's multi-turn file, one conversation per line:
//! `{"session_id": "...", "turns": [{"text": "...", "delay": 500, "output_length": 32}, …]}`.
//!
//! Lines with the same `session_id` are one conversation (turns appended in file order); a line
//! without one is a conversation of its own. A turn has `text` or `texts` (joined with spaces)
//! and/or media (`image`/`images`, `audio`/`audios`, `video`/`videos`: [`media_file`](crate::loadgen::dataset::media_file), chat only),
//! and optionally `delay` (ms after the previous reply, at most `--inter-turn-delay-cap-seconds`;
//! ignored on the first turn, as AIPerf does) or `timestamp` (ms on the file's clock: the sessions
//! are replayed on it as a session trace is, [`trace_sessions::on_clock`]), `output_length` (that
//! turn's max tokens, over `--osl`), `role` and `extra` (merged into that turn's body after
//! `--extra-inputs`). A leading text-only `role: "system"` turn becomes the conversation's system
//! prompt, sent first on every turn (AIPerf's rule).

use std::collections::HashMap;
use std::path::Path;

use anyhow::anyhow;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::limits;
use crate::contract::seconds::{show, Seconds};
use crate::io::jsonl;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::conversation::{Conversation, TurnSpec};
use crate::loadgen::dataset::media_file::{Fields, MediaFiles};
use crate::loadgen::dataset::trace_sessions::{self, Draft};
use crate::loadgen::options::{EndpointType, Options};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    session_id: Option<Value>,
    #[serde(default)]
    turns: Option<Vec<TurnLine>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnLine {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    texts: Option<Vec<String>>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    delay: Option<f64>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    output_length: Option<u64>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    images: Option<Vec<String>>,
    #[serde(default)]
    audio: Option<String>,
    #[serde(default)]
    audios: Option<Vec<String>>,
    #[serde(default)]
    video: Option<String>,
    #[serde(default)]
    videos: Option<Vec<String>>,
}

impl TurnLine {
    /// The turn's media fields, taken out of it.
    fn media_fields(&mut self) -> Fields {
        Fields {
            image: self.image.take(),
            images: self.images.take(),
            audio: self.audio.take(),
            audios: self.audios.take(),
            video: self.video.take(),
            videos: self.videos.take(),
        }
    }
}

/// A loaded multi-turn file: its conversations, whether they replay on the file's clock
/// (turns with `timestamp`), and what was skipped (a torn last line).
pub struct Loaded {
    pub conversations: Vec<Conversation>,
    pub trace: bool,
    pub warnings: Vec<String>,
}

/// Reads the file; every malformed line is `file:line: what is wrong`.
pub fn load(path: &Path, opts: &Options, tok: &Tokenizer) -> anyhow::Result<Loaded> {
    let input = jsonl::Input::open(path).map_err(|e| anyhow!("--input-file: {e}"))?;
    let mut drafts: Vec<Draft> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut files = MediaFiles::default();
    let stats = jsonl::for_each_line(vec![input], |loc, raw| {
        let line: Line = serde_json::from_str(raw).map_err(|e| format!("not a multi_turn line: {e}"))?;
        let turns = line.turns.unwrap_or_default();
        if turns.is_empty() {
            return Err("a multi_turn line needs \"turns\": a list of at least one turn".into());
        }
        let id = match line.session_id {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => return Err(format!("session_id must be a string, got {other}")),
            None => format!("session_{:06}", drafts.len()),
        };
        let at = *by_id.entry(id.clone()).or_insert_with(|| {
            drafts.push(Draft {
                id,
                line: loc.line,
                system: None,
                turns: Vec::new(),
            });
            drafts.len() - 1
        });
        let d = &mut drafts[at];
        let (n, had_system) = (d.turns.len(), d.system.is_some());
        let added = add_turns(d, turns, opts, &mut files);
        if added.is_err() {
            // A torn last line is skipped, not half-added.
            d.turns.truncate(n);
            d.system = d.system.take().filter(|_| had_system);
        }
        added
    })?;
    drafts.retain(|d| !d.turns.is_empty() || d.system.is_some());
    let warnings = stats
        .warnings()
        .into_iter()
        .map(|w| format!("--input-file {w}"))
        .collect();
    if drafts.is_empty() {
        anyhow::bail!("--input-file {}: no conversations in the file", path.display());
    }
    if let Some(d) = drafts.iter().find(|d| d.turns.is_empty()) {
        anyhow::bail!(
            "--input-file {}: session {} has only a system turn: give it at least one user turn",
            path.display(),
            d.id
        );
    }
    let mut warnings: Vec<String> = warnings;
    let trace = trace_sessions::on_clock(&mut drafts, opts, path, &mut warnings)?;
    Ok(Loaded {
        conversations: trace_sessions::conversations(drafts, opts, tok),
        trace,
        warnings,
    })
}

/// Appends one line's turns to its session; errors are the message after `file:line:`.
fn add_turns(
    draft: &mut Draft,
    turns: Vec<TurnLine>,
    opts: &Options,
    files: &mut MediaFiles,
) -> Result<(), String> {
    for (i, mut t) in turns.into_iter().enumerate() {
        let fields = t.media_fields();
        if let Some(field) = fields
            .first_field()
            .filter(|_| opts.endpoint_type != EndpointType::Chat)
        {
            return Err(format!(
                "turn {i}: {field}: the {} endpoint cannot carry images, audio or video; use --endpoint-type chat",
                opts.endpoint_type.name()
            ));
        }
        let has_media = fields.any();
        let media = files.parts(fields).map_err(|e| format!("turn {i}: {e}"))?;
        let text = match (t.text, t.texts) {
            (Some(s), None) => s,
            (None, Some(ts)) if !ts.is_empty() => ts.join(" "),
            (None, None) if has_media => String::new(),
            _ => {
                return Err(format!(
                    "turn {i}: give exactly one of text or texts, or media alone (image/images, audio/audios, video/videos)"
                ))
            }
        };
        if let Some(d) = t.delay {
            Seconds::from_ms(d).map_err(|why| format!("turn {i}: delay {}: {why}", show(d)))?;
        }
        if let Some(ts) = t.timestamp {
            limits::check_timestamp(ts).map_err(|e| format!("turn {i}: {e}"))?;
        }
        if let Some(n) = t.output_length {
            limits::check_tokens("output_length", n, None).map_err(|e| format!("turn {i}: {e}"))?;
        }
        if t.timestamp.is_some() && t.delay.is_some() {
            return Err(format!(
                "turn {i}: give timestamp (when to send it) or delay (after the previous reply), not both"
            ));
        }
        if t.output_length == Some(0) {
            return Err(format!("turn {i}: output_length 0: ask for at least one token"));
        }
        let plain =
            t.delay.is_none() && t.timestamp.is_none() && t.output_length.is_none() && t.extra.is_none();
        let plain = plain && media.is_empty();
        if t.role.as_deref() == Some("system") && plain && draft.turns.is_empty() && draft.system.is_none() {
            draft.system = Some(text);
            continue;
        }
        draft.turns.push(TurnSpec {
            text,
            max_tokens: t.output_length.or(opts.osl),
            delay_ms: opts.workload.capped_delay(t.delay),
            extra: t.extra.unwrap_or_default(),
            at_ms: t.timestamp,
            media,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::options::{resolve, DatasetType, Io, Settings};

    fn load_text(text: &str) -> anyhow::Result<Loaded> {
        load_capped(text, None)
    }

    fn load_capped(text: &str, cap: Option<f64>) -> anyhow::Result<Loaded> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mt.jsonl");
        std::fs::write(&p, text).unwrap();
        let o = resolve(
            Settings {
                model: Some("m".into()),
                input_file: Some(p.clone()),
                custom_dataset_type: Some(DatasetType::MultiTurn),
                osl: Some(7),
                inter_turn_delay_cap_seconds: cap,
                ..Default::default()
            },
            Io::default(),
            Default::default(),
        )
        .unwrap();
        load(&p, &o, &Tokenizer::load("builtin").unwrap())
    }

    #[test]
    fn sessions_concatenate_and_a_leading_system_turn_is_hoisted() {
        let l = load_text(concat!(
            r#"{"session_id":"a","turns":[{"role":"system","text":"be brief"},{"text":"hi","delay":300}]}"#,
            "\n",
            r#"{"turns":[{"texts":["x","y"],"output_length":3}]}"#,
            "\n",
            r#"{"session_id":"a","turns":[{"text":"more","delay":250,"extra":{"temperature":0}}]}"#,
            "\n"
        ))
        .unwrap();
        assert_eq!(l.conversations.len(), 2);
        let a = &l.conversations[0];
        assert_eq!(a.id.as_ref(), "a");
        assert_eq!(a.system.as_deref(), Some("be brief"));
        assert_eq!(a.turns.len(), 2);
        assert_eq!(a.turns[0].delay_ms, None, "a first turn's delay is ignored");
        assert_eq!(a.turns[1].delay_ms, Some(250.0));
        assert_eq!(a.turns[1].alone.payload["temperature"], 0);
        assert_eq!(a.turns[0].alone.payload["messages"][0]["role"], "system");
        assert_eq!(a.turns[0].alone.max_tokens, Some(7));
        let b = &l.conversations[1];
        assert_eq!(b.id.as_ref(), "session_000001");
        assert_eq!(b.turns[0].content.as_text(), "x y");
        assert_eq!(b.turns[0].alone.max_tokens, Some(3));
    }

    #[test]
    fn stamped_turns_replay_on_the_file_clock() {
        let l = load_text(concat!(
            r#"{"session_id":"a","turns":[{"role":"system","text":"s"},{"text":"x","timestamp":900},{"text":"y","timestamp":1500}]}"#,
            "\n",
            r#"{"session_id":"b","turns":[{"text":"z","timestamp":400},{"text":"w","delay":20}]}"#,
            "\n"
        ))
        .unwrap();
        assert!(l.trace);
        let ids: Vec<&str> = l.conversations.iter().map(|c| c.id.as_ref()).collect();
        assert_eq!(ids, ["b", "a"], "sessions in start order");
        let at = |c: usize| {
            l.conversations[c]
                .turns
                .iter()
                .map(|t| (t.at_ms, t.delay_ms))
                .collect::<Vec<_>>()
        };
        assert_eq!(at(0), [(Some(0.0), None), (None, Some(20.0))]);
        assert_eq!(at(1), [(Some(500.0), None), (Some(1100.0), None)]);
        assert_eq!(l.conversations[1].system.as_deref(), Some("s"));
        let e = load_text("{\"turns\":[{\"text\":\"a\",\"timestamp\":5,\"delay\":3}]}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("mt.jsonl:1:") && e.contains("not both"), "{e}");
        let e = load_text("{\"session_id\":\"p\",\"turns\":[{\"text\":\"a\",\"timestamp\":5}]}\n{\"session_id\":\"q\",\"turns\":[{\"text\":\"b\"}]}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("mt.jsonl:2") && e.contains("session q"), "{e}");
    }

    #[test]
    fn the_delay_cap_clamps_long_delays_only() {
        let text = r#"{"turns":[{"text":"a"},{"text":"b","delay":5000},{"text":"c","delay":100}]}"#;
        let l = load_capped(text, Some(0.25)).unwrap();
        let delays: Vec<_> = l.conversations[0].turns.iter().map(|t| t.delay_ms).collect();
        assert_eq!(delays, [None, Some(250.0), Some(100.0)]);
        let l = load_capped(text, None).unwrap();
        assert_eq!(l.conversations[0].turns[1].delay_ms, Some(5000.0));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let e = load_text("{\"turns\":[{\"text\":\"a\"}]}\n{\"session_id\":\"s\",\"turns\":[]}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("mt.jsonl:2:") && e.contains("at least one turn"),
            "{e}"
        );
        let e = load_text("{\"turns\":[{\"text\":\"a\"},{\"text\":\"b\",\"delay\":-5}]}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("mt.jsonl:1:") && e.contains("delay -5"), "{e}");
        let e = load_text("{\"session_id\":\"s\"}\n").err().unwrap().to_string();
        assert!(e.contains("mt.jsonl:1:"), "{e}");
    }
}
