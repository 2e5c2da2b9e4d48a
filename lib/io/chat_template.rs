//! A Hugging Face tokenizer's chat template, rendered as `transformers`' `apply_chat_template`
//! renders it (`tokenize=False`): the Jinja source from `tokenizer_config.json`'s `chat_template`
//! (a string, or a list of named templates of which `default` is taken) or from a
//! `chat_template.jinja` beside it, run by `minijinja` with Jinja2's `trim_blocks`/`lstrip_blocks`
//! and loop controls, Python's string methods (`minijinja-contrib`'s pycompat: `.strip()`,
//! `.startswith()` …), `raise_exception`, `strftime_now`, a `tojson` that writes what Python's
//! `json.dumps(ensure_ascii=False)` writes, and the special tokens (`bos_token`, `eos_token` …) the
//! config names. Token counting stays with the caller's tokenizer (encode the text without adding
//! special tokens, as `apply_chat_template(tokenize=True)` does).

use std::path::{Path, PathBuf};

use minijinja::{Environment, Error, ErrorKind, Value};

/// A loaded, compiled chat template and the variables it is rendered with.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// `bos_token`, `eos_token`, … as the config names them.
    tokens: Vec<(String, String)>,
    /// Where the template was read (for messages).
    pub source: PathBuf,
}

/// The special-token fields of a tokenizer_config.json (transformers hands them to a template too).
pub const TOKEN_FIELDS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

impl ChatTemplate {
    /// The template of the tokenizer whose `tokenizer.json` is `tokenizer_json` (and whose
    /// `tokenizer_config.json` is `config`, if any): `chat_template.jinja` beside either file wins,
    /// as in transformers; `Ok(None)` when neither states a template.
    pub fn find(tokenizer_json: &Path, config: Option<&Path>) -> anyhow::Result<Option<ChatTemplate>> {
        let cfg: serde_json::Value = match config {
            Some(c) => {
                let text = std::fs::read_to_string(c)
                    .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", c.display()))?;
                serde_json::from_str(&text).map_err(|e| {
                    anyhow::anyhow!("{} is not valid JSON ({e}); fix or remove it", c.display())
                })?
            }
            None => serde_json::Value::Null,
        };
        let dirs = [config.and_then(Path::parent), tokenizer_json.parent()];
        let jinja = dirs
            .into_iter()
            .flatten()
            .map(|d| d.join("chat_template.jinja"))
            .find(|p| p.is_file());
        let (source, path) = match (jinja, config) {
            (Some(p), _) => {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
                (text, p)
            }
            (None, Some(c)) => match template_in_config(&cfg) {
                Some(t) => (t, c.to_path_buf()),
                None => return Ok(None),
            },
            (None, None) => return Ok(None),
        };
        let tokens = TOKEN_FIELDS
            .iter()
            .filter_map(|k| Some((k.to_string(), token_text(cfg.get(*k)?)?)))
            .collect();
        ChatTemplate::new(source, tokens, path).map(Some)
    }

    /// Compiles `source`; an error names `path` and minijinja's reason.
    pub fn new(source: String, tokens: Vec<(String, String)>, path: PathBuf) -> anyhow::Result<ChatTemplate> {
        let mut env = Environment::new();
        // transformers' environment: trim_blocks and lstrip_blocks on, trailing newline dropped.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| anyhow::anyhow!("chat template syntax: {e}"))?;
        env.set_syntax(syntax);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_template_owned("chat_template", source)
            .map_err(|e| anyhow::anyhow!("{}: the chat template does not compile: {e}", path.display()))?;
        Ok(ChatTemplate {
            env,
            tokens,
            source: path,
        })
    }

    /// The text of `messages` (OpenAI-style `{role, content, …}` objects), with the assistant
    /// turn's opening when `add_generation_prompt`.
    pub fn render(
        &self,
        messages: &[serde_json::Value],
        add_generation_prompt: bool,
    ) -> anyhow::Result<String> {
        let mut ctx: Vec<(String, Value)> = vec![
            ("messages".into(), Value::from(minijinja::value::Serde(messages))),
            ("add_generation_prompt".into(), Value::from(add_generation_prompt)),
            ("tools".into(), Value::from(())),
            ("documents".into(), Value::from(())),
        ];
        ctx.extend(
            self.tokens
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str()))),
        );
        let ctx = Value::from(
            ctx.into_iter()
                .collect::<std::collections::BTreeMap<String, Value>>(),
        );
        self.env
            .get_template("chat_template")
            .and_then(|t| t.render(ctx))
            .map_err(|e| anyhow::anyhow!("{}: the chat template failed: {e}", self.source.display()))
    }
}

/// `chat_template` of a config: a string, or `[{name, template}]` (the `default` one).
fn template_in_config(cfg: &serde_json::Value) -> Option<String> {
    match cfg.get("chat_template")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(list) => list
            .iter()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
            .and_then(|t| t.get("template")?.as_str().map(str::to_string)),
        _ => None,
    }
}

/// A special token as configs write it: a string or `{"content": …}`.
fn token_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// transformers' `raise_exception(message)`: the template refuses the messages.
fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// transformers' `strftime_now(format)` (UTC; `%d %b %Y %m %B %H %M %S %y %j`-style fields).
fn strftime_now(format: String) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    strftime(&format, secs)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `format` at `secs` after the epoch, UTC (days to civil date: Howard Hinnant's algorithm).
fn strftime(format: &str, secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let month = MONTHS[(m - 1) as usize];
        match chars.next() {
            Some('d') => out += &format!("{d:02}"),
            Some('m') => out += &format!("{m:02}"),
            Some('Y') => out += &y.to_string(),
            Some('y') => out += &format!("{:02}", y % 100),
            Some('B') => out += month,
            Some('b') => out += &month[..3],
            Some('H') => out += &format!("{:02}", rem / 3600),
            Some('M') => out += &format!("{:02}", rem / 60 % 60),
            Some('S') => out += &format!("{:02}", rem % 60),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// transformers' `tojson`: `json.dumps(value, ensure_ascii=False)` with its `", "`/`": "`
/// separators (or `indent`), not HTML-escaped as minijinja's own filter is.
fn tojson(value: Value, indent: Option<usize>) -> Result<Value, Error> {
    let v = serde_json::to_value(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    let mut out = String::new();
    dump(&v, indent, 0, &mut out);
    Ok(Value::from_safe_string(out))
}

/// Python's `json.dumps` layout of `v`.
fn dump(v: &serde_json::Value, indent: Option<usize>, depth: usize, out: &mut String) {
    use serde_json::Value as J;
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let sep = if indent.is_some() { "," } else { ", " };
    match v {
        J::Array(a) if !a.is_empty() => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                dump(x, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        J::Object(o) if !o.is_empty() => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                out.push_str(&serde_json::to_string(k).expect("a string serializes"));
                out.push_str(": ");
                dump(x, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).expect("a value serializes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_formats_a_known_day() {
        // 2024-02-29 13:05:09 UTC.
        assert_eq!(
            strftime("%d %b %Y %H:%M:%S %B %m %y %%x", 1_709_211_909),
            "29 Feb 2024 13:05:09 February 02 24 %x"
        );
    }

    #[test]
    fn tojson_writes_what_python_json_dumps_writes() {
        let v = Value::from(minijinja::value::Serde(
            serde_json::json!({"a": [1, "é<"], "b": {}}),
        ));
        assert_eq!(
            tojson(v.clone(), None).unwrap().to_string(),
            r#"{"a": [1, "é<"], "b": {}}"#
        );
        assert_eq!(
            tojson(v, Some(2)).unwrap().to_string(),
            "{\n  \"a\": [\n    1,\n    \"é<\"\n  ],\n  \"b\": {}\n}"
        );
    }

    #[test]
    fn raise_exception_refuses_the_messages_with_its_text() {
        let t = ChatTemplate::new(
            "{{ raise_exception('only user turns, got ' + messages[0].role) }}".into(),
            vec![],
            PathBuf::from("t.jinja"),
        )
        .unwrap();
        let e = t
            .render(&[serde_json::json!({"role": "tool", "content": ""})], true)
            .unwrap_err();
        assert!(e.to_string().contains("only user turns, got tool"), "{e}");
    }
}
