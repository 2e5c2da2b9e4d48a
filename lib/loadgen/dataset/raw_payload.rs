//! `--custom-dataset-type raw_payload`: AIPerf 0.13's verbatim replay (`loader/raw_payload.py`).
//! Each line is a whole request body (a JSON object with a `messages` array), sent byte for byte
//! as given: no model, no `--extra-inputs`, no `--osl`, no stream flag added (give `--streaming`
//! when the bodies ask for `"stream": true`). A file is one request per line; a folder is one
//! session per `*.jsonl` file (in name order), its lines the turns, sent in order without added
//! history (each body already holds its messages: AIPerf's `message_array_with_responses`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use serde_json::{Map, Value};

use crate::io::jsonl;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::dataset::conversation::{Conversation, Turn};
use crate::loadgen::dataset::prompts::{Body, Prompt};
use crate::loadgen::wire;

/// A loaded raw-payload file or folder.
pub struct Loaded {
    /// A file: one request per line.
    pub prompts: Vec<Prompt>,
    /// A folder: one session per file.
    pub conversations: Option<Vec<Conversation>>,
    pub warnings: Vec<String>,
}

/// Reads the file (requests) or folder (sessions).
pub fn load(path: &Path, tok: &Tokenizer) -> anyhow::Result<Loaded> {
    if !path.is_dir() {
        let (bodies, warnings) = read_bodies(path)?;
        if bodies.is_empty() {
            anyhow::bail!("--input-file {}: no requests in the file", path.display());
        }
        let prompts = bodies
            .into_iter()
            .enumerate()
            .map(|(k, b)| prompt(k, b, tok))
            .collect();
        return Ok(Loaded {
            prompts,
            conversations: None,
            warnings,
        });
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| anyhow!("--input-file {}: cannot read the folder: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut conversations = Vec::new();
    let mut warnings = Vec::new();
    for f in files {
        let (bodies, w) = read_bodies(&f)?;
        warnings.extend(w);
        if bodies.is_empty() {
            continue;
        }
        let index = conversations.len();
        let id: Arc<str> = Arc::from(format!("session_{index:06}"));
        let turns = bodies
            .into_iter()
            .map(|b| {
                let mut alone = prompt(index, b, tok);
                alone.session_id = id.to_string();
                Turn {
                    content: UserContent::text(""),
                    delay_ms: None,
                    at_ms: None,
                    alone,
                }
            })
            .collect();
        conversations.push(Conversation {
            id,
            system: None,
            context: None,
            turns,
            carries_history: false,
        });
    }
    if conversations.is_empty() {
        anyhow::bail!(
            "--input-file {}: a raw_payload folder needs *.jsonl files of request bodies (one session per file)",
            path.display()
        );
    }
    Ok(Loaded {
        prompts: Vec::new(),
        conversations: Some(conversations),
        warnings,
    })
}

/// The request carrying `body` verbatim; its ISL counts the body's texts, its requested output
/// is the body's own `max_completion_tokens`/`max_tokens`.
fn prompt(k: usize, (body, raw): Line, tok: &Tokenizer) -> Prompt {
    let isl = tok.count(&wire::input_texts(&body).join(" "));
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|key| body.get(*key).and_then(Value::as_u64));
    let mut p = Prompt::from_payload(k, body, isl, max_tokens, None);
    p.body = Body::Whole(bytes::Bytes::from(raw));
    p
}

/// A line: the body parsed, and its text as sent.
type Line = (Map<String, Value>, String);

/// Every body of one file; a malformed line is `file:line: what is wrong`.
fn read_bodies(path: &Path) -> anyhow::Result<(Vec<Line>, Vec<String>)> {
    let input = jsonl::Input::open(path).map_err(|e| anyhow!("--input-file: {e}"))?;
    let mut bodies = Vec::new();
    let stats = jsonl::for_each_line(vec![input], |_, raw| {
        bodies.push((body(raw)?, raw.trim().to_string()));
        Ok(())
    })?;
    let warnings = stats
        .warnings()
        .into_iter()
        .map(|w| format!("--input-file {w}"))
        .collect();
    Ok((bodies, warnings))
}

/// One line as a body: a JSON object with a `messages` array (AIPerf's check).
fn body(raw: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(raw)
        .map_err(|e| format!("not a raw_payload line (a JSON request body): {e}"))?
    {
        Value::Object(m) if m.get("messages").is_some_and(Value::is_array) => Ok(m),
        Value::Object(_) => Err(
            "a raw_payload line needs a \"messages\" array (the request body as the server takes it)".into(),
        ),
        other => Err(format!(
            "a raw_payload line must be a JSON object (a request body), got {}",
            kind(&other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_needs_messages() {
        assert!(body(r#"{"messages":[],"model":"x"}"#).is_ok());
        assert!(body(r#"{"model":"x"}"#).unwrap_err().contains("\"messages\""));
        assert!(body("[1]").unwrap_err().contains("an array"));
    }
}
