//! The messages of a chat-shaped request body, and their tokens through the model's chat
//! template: one reading shared by the client (a record's ISL) and mock-llm (`usage.prompt_tokens`
//! with `--tokenizer`), so both count the same text the same way.

use serde_json::{Map, Value};

use super::tokenizer::Tokenizer;

/// A payload's chat view, as AIPerf's `extract_payload_inputs` builds it: each `messages` (or
/// Responses `input`) item with a string `role` becomes `{role, content}` with its text parts
/// joined (media parts dropped) and its `tool_calls` kept. None when the payload has no such array.
pub fn chat_messages(payload: &Map<String, Value>) -> Option<Vec<Value>> {
    for key in ["messages", "input"] {
        let Some(Value::Array(items)) = payload.get(key) else {
            continue;
        };
        let shaped = |i: &Value| i.get("role").is_some() || i.get("type").is_some();
        if !items.iter().any(|i| i.is_object() && shaped(i)) {
            continue;
        }
        let messages = items
            .iter()
            .filter_map(|item| {
                let role = item.get("role")?.as_str()?;
                let mut m = Map::new();
                m.insert("role".into(), role.into());
                m.insert("content".into(), text_of(item.get("content")).into());
                if let Some(Value::Array(calls)) = item.get("tool_calls") {
                    if !calls.is_empty() {
                        m.insert("tool_calls".into(), Value::Array(calls.clone()));
                    }
                }
                Some(Value::Object(m))
            })
            .collect();
        return Some(messages);
    }
    None
}

/// A message's text: a string, or its `text` parts joined with nothing between them.
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// The ISL of a request with this payload through the chat template (generation prompt on), or
/// None when it is not chat-shaped or has no messages, there is no template, or the template refuses
/// it: the caller then counts the bare text, as AIPerf does.
pub fn templated_isl(tok: &Tokenizer, payload: &Map<String, Value>) -> Option<u64> {
    if !tok.has_chat_template() {
        return None;
    }
    let messages = chat_messages(payload).filter(|m| !m.is_empty())?;
    tok.count_chat(&messages, true)
}
