//! `--public-dataset sharegpt --input-file FILE`: a local ShareGPT JSON (AIPerf 0.13's
//! `loader/sharegpt.py`; never downloaded). The file is a list of entries
//! `{"conversations": [{"from": "human"|"gpt", "value": "..."}, ...]}`. Every adjacent
//! human→gpt pair is a turn: the human text is sent, the gpt text's token count is its max
//! tokens. Without `from` roles, the first two values are the one pair. AIPerf's length filters
//! (vLLM's): an entry is dropped when any pair has a prompt under 4 or over 1024 tokens, a
//! completion under 4 (unless `--osl` is given) or more than 2048 tokens together. An entry of
//! one pair is one request; more pairs are a session whose turns carry its history.
//!
//! The file is read entry by entry (never whole: the real file is ~650 MB); one entry may be at
//! most the line cap ([`crate::io::capped::MAX_LINE_BYTES`]).

use std::cell::Cell;
use std::fmt;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use anyhow::anyhow;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::io::capped::{MAX_LINE_BYTES, MAX_LINE_TEXT};
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::conversation::TurnSpec;
use crate::loadgen::dataset::trace_sessions::Draft;
use crate::loadgen::options::Options;

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    conversations: Option<Vec<Value>>,
}

/// AIPerf's `is_valid_sequence` bounds (tokens).
const MIN_LEN: u64 = 4;
const MAX_PROMPT: u64 = 1024;
const MAX_TOTAL: u64 = 2048;

/// The kept entries as sessions (one turn each for single pairs), and the filter's count.
pub fn load(path: &Path, opts: &Options, tok: &Tokenizer) -> anyhow::Result<(Vec<Draft>, Vec<String>)> {
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow!("--input-file {}: cannot open: {e}", path.display()))?;
    let since = Rc::new(Cell::new(0u64));
    let reader = Capped {
        inner: BufReader::with_capacity(1 << 16, file),
        since: since.clone(),
    };
    let mut drafts = Vec::new();
    let mut seen = 0u64;
    let mut keep = |e: Entry| {
        seen += 1;
        if let Some(turns) = kept(e, opts, tok) {
            drafts.push(Draft {
                id: format!("session_{:06}", drafts.len()),
                line: 0,
                system: None,
                turns,
            });
        }
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    Entries {
        keep: &mut keep,
        since,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| at_line(path, &e))?;
    if drafts.is_empty() {
        anyhow::bail!(
            "--input-file {}: none of its {seen} ShareGPT entries passes AIPerf's filters (a human/gpt pair, prompt 4-1024 tokens, completion >= 4 tokens unless --osl is given, at most 2048 together)",
            path.display()
        );
    }
    let note = format!(
        "--public-dataset sharegpt: kept {} of {seen} entries of {} (AIPerf's length filters)",
        drafts.len(),
        path.display()
    );
    Ok((drafts, vec![note]))
}

/// `file:line: what is wrong` from a JSON error (its own "at line L column C" dropped).
fn at_line(path: &Path, e: &serde_json::Error) -> anyhow::Error {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    anyhow!(
        "{}:{}: not a ShareGPT JSON file (a list of {{\"conversations\": [...]}}): {msg}",
        path.display(),
        e.line()
    )
}

/// The entry's turns when it passes AIPerf's filters.
fn kept(e: Entry, opts: &Options, tok: &Tokenizer) -> Option<Vec<TurnSpec>> {
    let conversations = e.conversations.unwrap_or_default();
    let pairs = pairs(&conversations);
    if pairs.is_empty() {
        return None;
    }
    let mut turns = Vec::with_capacity(pairs.len());
    for (prompt, completion) in pairs {
        let (p, c) = (tok.count(prompt), tok.count(completion));
        let short_output = opts.osl.is_none() && c < MIN_LEN;
        if !(MIN_LEN..=MAX_PROMPT).contains(&p) || short_output || p + c > MAX_TOTAL {
            return None;
        }
        turns.push(TurnSpec {
            text: prompt.to_string(),
            max_tokens: Some(c.max(1)),
            delay_ms: None,
            extra: Default::default(),
            at_ms: None,
            media: Vec::new(),
        });
    }
    Some(turns)
}

/// AIPerf's `_sharegpt_prompt_completion_pairs`.
fn pairs(conversations: &[Value]) -> Vec<(&str, &str)> {
    type Msg = serde_json::Map<String, Value>;
    fn from(m: &Msg) -> &str {
        m.get("from").and_then(Value::as_str).unwrap_or_default()
    }
    fn value(m: &Msg) -> Option<&str> {
        m.get("value").and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    let roles = |m: &&Msg| matches!(from(m), "human" | "gpt");
    let msgs: Vec<&Msg> = conversations.iter().filter_map(Value::as_object).collect();
    if msgs.len() < 2 {
        return Vec::new();
    }
    if !msgs.iter().any(roles) {
        return match (value(msgs[0]), value(msgs[1])) {
            (Some(p), Some(c)) => vec![(p, c)],
            _ => Vec::new(),
        };
    }
    let role_msgs: Vec<&Msg> = msgs.into_iter().filter(roles).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < role_msgs.len() {
        if from(role_msgs[i]) == "human" && from(role_msgs[i + 1]) == "gpt" {
            if let (Some(p), Some(c)) = (value(role_msgs[i]), value(role_msgs[i + 1])) {
                out.push((p, c));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

/// The top-level list, visited one entry at a time.
struct Entries<'a> {
    keep: &'a mut dyn FnMut(Entry),
    since: Rc<Cell<u64>>,
}

impl<'de> DeserializeSeed<'de> for Entries<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of ShareGPT entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(e) = seq.next_element::<Entry>()? {
            (self.keep)(e);
            self.since.set(0);
        }
        Ok(())
    }
}

/// A reader that refuses more than [`MAX_LINE_BYTES`] since the last entry ended.
struct Capped<R> {
    inner: R,
    since: Rc<Cell<u64>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.since.set(self.since.get() + n as u64);
        if self.since.get() > MAX_LINE_BYTES {
            return Err(std::io::Error::other(format!(
                "an entry longer than {MAX_LINE_TEXT}: not a ShareGPT file"
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_follow_aiperf() {
        let c = json!([
            {"from": "system", "value": "s"},
            {"from": "human", "value": "q1"},
            {"from": "gpt", "value": "a1"},
            {"from": "gpt", "value": "extra"},
            {"from": "human", "value": "q2"},
            {"from": "gpt", "value": "a2"}
        ]);
        assert_eq!(pairs(c.as_array().unwrap()), [("q1", "a1"), ("q2", "a2")]);
        let plain = json!([{"value": "p"}, {"value": "c"}, {"value": "x"}]);
        assert_eq!(pairs(plain.as_array().unwrap()), [("p", "c")]);
        assert!(pairs(json!([{"from": "human", "value": "q"}]).as_array().unwrap()).is_empty());
    }
}
