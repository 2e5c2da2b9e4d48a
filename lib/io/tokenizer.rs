//! Client-side token counting, as AIPerf does it (`--tokenizer`).
//!
//! `builtin` is tiktoken's o200k_base, embedded in the binary and built once; like AIPerf's tiktoken
//! adapter it matches special tokens written in the text (`allowed_special="all"`). Anything else is
//! a Hugging Face `tokenizer.json` — given as a file, a model folder or a cached model id (see
//! `io::hf_cache`) — run by the `tokenizers` crate, so every model type (BPE, Unigram, WordPiece,
//! WordLevel) with its normalizer, pre-tokenizer and added tokens counts exactly as `transformers`
//! counts: `encode(text, add_special_tokens=False)`, no truncation, no padding, plus the special
//! tokens `tokenizer_config.json` names that the tokenizer.json lacks (transformers adds those too).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::anyhow;
use serde_json::Value;
use tiktoken_rs::CoreBPE;
use tokenizers::{AddedToken, PostProcessor as _};

use crate::io::chat_template::ChatTemplate;
use crate::io::hf_cache::{self, Located};

pub struct Tokenizer {
    name: String,
    engine: Engine,
    /// The tokenizer.json in use (None: builtin).
    path: Option<PathBuf>,
    /// Built on first use; the error says why no prompt can be made.
    vocabulary: OnceLock<Result<Vocabulary, String>>,
    /// The model's context in tokens, when the model's files state it, and where it was read
    /// (`model_max_length in DIR/tokenizer_config.json`).
    max_length: Option<(u64, String)>,
    /// The tokenizer_config.json beside the tokenizer.json, if any.
    config: Option<PathBuf>,
    /// `--apply-chat-template` with a template found: chat prompts are counted through it.
    chat: Option<ChatTemplate>,
}

enum Engine {
    Builtin(&'static CoreBPE),
    Hf(Box<tokenizers::Tokenizer>),
}

/// The synthetic prompt vocabulary: words (" word", space-led) that are one token each where a
/// prompt puts them, so a prompt of N words is N tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    pub words: Vec<String>,
    /// Whether a prompt keeps its first word's leading space. SentencePiece-style tokenizers that
    /// prepend `▁` themselves would count it as one more token, so their prompts drop it.
    pub leading_space: bool,
}

impl Tokenizer {
    /// `builtin`, a tokenizer.json, a model folder or a cached model id at revision `main`.
    pub fn load(spec: &str) -> anyhow::Result<Tokenizer> {
        Tokenizer::load_at(spec, None)
    }

    /// As [`Tokenizer::load`], at `--tokenizer-revision` `revision` for a model id.
    pub fn load_at(spec: &str, revision: Option<&str>) -> anyhow::Result<Tokenizer> {
        let (engine, path, max_length, config) = match hf_cache::locate(spec, revision)? {
            Located::Builtin => (Engine::Builtin(builtin()), None, None, None),
            Located::Files {
                tokenizer_json,
                config,
            } => {
                let tok = from_files(&tokenizer_json, config.as_deref())
                    .map_err(|e| anyhow!("--tokenizer {spec}: {e}"))?;
                let max = stated_context(&tokenizer_json, config.as_deref());
                (Engine::Hf(Box::new(tok)), Some(tokenizer_json), max, config)
            }
        };
        Ok(Tokenizer {
            name: spec.to_string(),
            engine,
            path,
            vocabulary: OnceLock::new(),
            max_length,
            config,
            chat: None,
        })
    }

    /// `--apply-chat-template`: counts chat prompts through the tokenizer's chat template from now
    /// on. A tokenizer without one (builtin included) is left as it is, as AIPerf leaves it; the
    /// answer is then the one-line warning saying so. A template that does not compile is an error.
    pub fn apply_chat_template(&mut self) -> anyhow::Result<Option<String>> {
        let found = match &self.path {
            Some(json) => ChatTemplate::find(json, self.config.as_deref())
                .map_err(|e| anyhow!("--apply-chat-template: {e}"))?,
            None => None,
        };
        let warning = found.is_none().then(|| {
            format!(
                "--apply-chat-template: --tokenizer {} has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja), so prompts are counted as bare text, as AIPerf does",
                self.name
            )
        });
        self.chat = found;
        Ok(warning)
    }

    /// Whether chat prompts are counted through a chat template.
    pub fn has_chat_template(&self) -> bool {
        self.chat.is_some()
    }

    /// Tokens of `messages` through the chat template, as transformers'
    /// `apply_chat_template(messages, tokenize=True, add_generation_prompt)` counts them (the
    /// rendered text encoded without added special tokens). None without a template, or when the
    /// template refuses the messages (AIPerf then counts the bare text).
    pub fn count_chat(&self, messages: &[Value], add_generation_prompt: bool) -> Option<u64> {
        let text = self.render_chat(messages, add_generation_prompt)?;
        Some(self.count(&text))
    }

    /// The chat template's text of `messages` (None: no template, or it refused them).
    pub fn render_chat(&self, messages: &[Value], add_generation_prompt: bool) -> Option<String> {
        self.chat.as_ref()?.render(messages, add_generation_prompt).ok()
    }

    /// Special tokens the post-processor adds to one sequence (BOS for Llama, 0 for GPT-2 and
    /// builtin): transformers' `num_special_tokens_to_add(pair=False)`, AIPerf's
    /// `num_prompt_special_tokens`.
    pub fn num_special_tokens(&self) -> u64 {
        match &self.engine {
            Engine::Builtin(_) => 0,
            Engine::Hf(tok) => tok
                .get_post_processor()
                .map_or(0, |p| p.added_tokens(false) as u64),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's context length in tokens, when its files state one (see [`Tokenizer::context`]).
    pub fn model_max_length(&self) -> Option<u64> {
        self.max_length.as_ref().map(|m| m.0)
    }

    /// The model's context and where it was read: `(8192, "model_max_length in DIR/tokenizer_config.json")`.
    pub fn context(&self) -> Option<(u64, String)> {
        self.max_length.clone()
    }

    /// Whether this is `builtin` (tiktoken's o200k_base).
    pub fn is_builtin(&self) -> bool {
        matches!(self.engine, Engine::Builtin(_))
    }

    /// The tokenizer.json counting the tokens (None for builtin).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Number of tokens in `text` without the special tokens a post-processor adds (AIPerf's
    /// `add_special_tokens=False`). A text the tokenizer cannot encode at all (a WordLevel model
    /// without an unknown token, say) counts 0.
    pub fn count(&self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        match &self.engine {
            Engine::Builtin(bpe) => bpe.encode_with_special_tokens(text).len() as u64,
            Engine::Hf(tok) => tok.encode_fast(text, false).map_or(0, |e| e.len() as u64),
        }
    }

    /// Token ids of `text` as AIPerf encodes it (`add_special_tokens=False`; builtin: special
    /// tokens written in the text allowed). A text the tokenizer cannot encode gives no ids.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        match &self.engine {
            Engine::Builtin(bpe) => bpe.encode_with_special_tokens(text),
            Engine::Hf(tok) => tok
                .encode_fast(text, false)
                .map_or_else(|_| Vec::new(), |e| e.get_ids().to_vec()),
        }
    }

    /// The text of `ids` as AIPerf decodes it: builtin as tiktoken (bytes read as UTF-8, invalid
    /// sequences replaced), others as transformers with `skip_special_tokens=False`.
    pub fn decode(&self, ids: &[u32]) -> String {
        match &self.engine {
            Engine::Builtin(bpe) => bpe
                .decode_bytes(ids)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
            Engine::Hf(tok) => tok.decode(ids, false).unwrap_or_default(),
        }
    }

    /// The synthetic prompt vocabulary, or why this tokenizer cannot make exact prompts.
    pub fn vocabulary(&self) -> anyhow::Result<&Vocabulary> {
        self.vocabulary
            .get_or_init(|| match &self.engine {
                Engine::Builtin(bpe) => Ok(builtin_vocabulary(bpe)),
                Engine::Hf(tok) => hf_vocabulary(self, tok),
            })
            .as_ref()
            .map_err(|e| anyhow!("--tokenizer {}: {e}", self.name))
    }
}

/// The model's context: `model_max_length` of its tokenizer_config.json (the limit transformers
/// applies), else `max_position_embeddings` of the config.json beside its tokenizer.json (what a
/// server such as vLLM derives its default `--max-model-len` from), with where it was read.
fn stated_context(tokenizer_json: &Path, tokenizer_config: Option<&Path>) -> Option<(u64, String)> {
    let read = |file: &Path, key: &str| Some((number_in(file, key)?, format!("{key} in {}", file.display())));
    tokenizer_config
        .and_then(|c| read(c, "model_max_length"))
        .or_else(|| {
            read(
                &tokenizer_json.parent()?.join("config.json"),
                "max_position_embeddings",
            )
        })
}

/// A whole number `key` of a JSON file; transformers writes a huge sentinel (1e30) for
/// `model_max_length` when the model's context is unknown, which counts as unknown.
fn number_in(file: &Path, key: &str) -> Option<u64> {
    let v: Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    v.get(key)?
        .as_f64()
        .filter(|n| *n >= 1.0 && *n < 1e12)
        .map(|n| n as u64)
}

/// o200k_base, built once per process.
pub fn builtin() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

/// Loads a tokenizer.json the way transformers' fast tokenizers use it.
fn from_files(json: &Path, config: Option<&Path>) -> anyhow::Result<tokenizers::Tokenizer> {
    if std::fs::metadata(json).is_ok_and(|m| m.len() == 0) {
        anyhow::bail!(
            "{} is not a tokenizer.json: the file is empty; give a model's tokenizer.json or use --tokenizer builtin",
            json.display()
        );
    }
    let mut tok = tokenizers::Tokenizer::from_file(json).map_err(|e| {
        anyhow!(
            "{} is not a valid tokenizer.json ({e}); fetch it again or use --tokenizer builtin",
            json.display()
        )
    })?;
    // transformers' encode() turns both off unless asked for.
    tok.with_truncation(None)
        .map_err(|e| anyhow!("{}: cannot disable truncation: {e}", json.display()))?;
    tok.with_padding(None);
    if let Some(c) = config {
        let text = std::fs::read_to_string(c).map_err(|e| anyhow!("{}: cannot read: {e}", c.display()))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow!("{} is not valid JSON ({e}); fix or remove it", c.display()))?;
        let missing: Vec<AddedToken> = config_special_tokens(&v)
            .into_iter()
            .filter(|t| tok.token_to_id(&t.content).is_none())
            .collect();
        tok.add_special_tokens(&missing);
    }
    Ok(tok)
}

/// The special tokens a tokenizer_config.json names: `added_tokens_decoder` entries (with their
/// strip/normalize flags) and the `*_token` / `additional_special_tokens` fields.
fn config_special_tokens(v: &Value) -> Vec<AddedToken> {
    let mut out = Vec::new();
    if let Some(m) = v.get("added_tokens_decoder").and_then(Value::as_object) {
        for t in m.values() {
            let Some(content) = t.get("content").and_then(Value::as_str) else {
                continue;
            };
            let flag = |k: &str| t.get(k).and_then(Value::as_bool);
            let special = flag("special").unwrap_or(true);
            out.push(
                AddedToken::from(content.to_string(), special)
                    .lstrip(flag("lstrip").unwrap_or(false))
                    .rstrip(flag("rstrip").unwrap_or(false))
                    .single_word(flag("single_word").unwrap_or(false))
                    .normalized(flag("normalized").unwrap_or(!special)),
            );
        }
    }
    let content = |t: &Value| match t {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    let mut texts: Vec<String> = crate::io::chat_template::TOKEN_FIELDS
        .iter()
        .filter_map(|k| v.get(*k).and_then(content))
        .collect();
    for k in ["additional_special_tokens", "extra_special_tokens"] {
        match v.get(k) {
            Some(Value::Array(a)) => texts.extend(a.iter().filter_map(content)),
            Some(Value::Object(o)) => texts.extend(o.values().filter_map(content)),
            _ => {}
        }
    }
    out.extend(texts.into_iter().map(|t| AddedToken::from(t, true)));
    out
}

/// o200k_base's single-token " word"s (2–12 lowercase letters), found by decoding every id.
fn builtin_vocabulary(bpe: &CoreBPE) -> Vocabulary {
    let mut words = Vec::new();
    for id in 0..200_019u32 {
        let Ok(bytes) = bpe.decode_bytes(&[id]) else {
            continue;
        };
        if bytes.len() >= 3
            && bytes.len() <= 13
            && bytes[0] == b' '
            && bytes[1..].iter().all(|b| b.is_ascii_lowercase())
        {
            words.push(String::from_utf8(bytes).expect("ascii"));
        }
    }
    words.sort();
    words.dedup();
    Vocabulary {
        words,
        leading_space: true,
    }
}

/// Most candidate words checked (spread evenly over the sorted candidates): enough variety for
/// prompts, and a bounded set-up time on 100k+ vocabularies.
const MAX_CANDIDATES: usize = 6000;

/// A tokenizer.json's words that stay one token each between spaces. Candidates are the
/// vocabulary entries that decode to 2–12 lowercase ASCII letters; each is checked by encoding it
/// alone and twice in a row, both space-led (" a b", GPT-2 and BERT style) and not (`a b`, for
/// tokenizers that prepend `▁` themselves); the layout keeping more words wins.
fn hf_vocabulary(me: &Tokenizer, tok: &tokenizers::Tokenizer) -> Result<Vocabulary, String> {
    let mut candidates: Vec<String> = tok
        .get_vocab(false)
        .into_values()
        .filter_map(|id| tok.decode(&[id], false).ok())
        .filter_map(|s| {
            let w = s.strip_prefix(' ').unwrap_or(&s);
            (w.len() >= 2 && w.len() <= 12 && w.bytes().all(|b| b.is_ascii_lowercase()))
                .then(|| w.to_string())
        })
        .collect();
    candidates.sort();
    candidates.dedup();
    let step = candidates.len().div_ceil(MAX_CANDIDATES).max(1);
    let (mut spaced, mut joined) = (Vec::new(), Vec::new());
    for w in candidates.iter().step_by(step) {
        if me.count(&format!(" {w}")) == 1 && me.count(&format!(" {w} {w}")) == 2 {
            spaced.push(format!(" {w}"));
        }
        if me.count(w) == 1 && me.count(&format!("{w} {w}")) == 2 {
            joined.push(format!(" {w}"));
        }
    }
    let v = if spaced.len() >= joined.len() {
        Vocabulary {
            words: spaced,
            leading_space: true,
        }
    } else {
        Vocabulary {
            words: joined,
            leading_space: false,
        }
    };
    if v.words.is_empty() {
        return Err(format!(
            "no word of its vocabulary stays one token between spaces ({} candidates checked), so no synthetic prompt of exactly --isl tokens can be made; give texts with --input-file or use --tokenizer builtin",
            candidates.len().min(MAX_CANDIDATES)
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        format!("{}/tests/fixtures/tokenizers/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn builtin_counts_like_tiktoken_with_special_tokens_allowed() {
        let t = Tokenizer::load("builtin").unwrap();
        assert_eq!(t.count("hello world"), 2);
        assert_eq!(t.count(""), 0);
        // AIPerf's tiktoken adapter encodes with allowed_special="all".
        assert_eq!(t.count("<|endoftext|>"), 1);
        let v = t.vocabulary().unwrap();
        assert!(v.words.len() > 5000 && v.leading_space, "{}", v.words.len());
        let text: String = v.words.iter().take(50).cloned().collect();
        assert_eq!(t.count(&text), 50);
    }

    /// Every text of expected.json counts what transformers counted, for each model type.
    #[test]
    fn counts_equal_transformers_on_every_model_type() {
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
        let counts = expected["counts"].as_object().unwrap();
        assert_eq!(counts.len(), 5);
        for (name, cases) in counts {
            let t = Tokenizer::load(&fixture(name)).unwrap();
            let Engine::Hf(hf) = &t.engine else { panic!() };
            for case in cases.as_array().unwrap() {
                let text = case["text"].as_str().unwrap();
                let want = case["count"].as_u64().unwrap();
                assert_eq!(t.count(text), want, "{name}: {text:?}");
                // The same as the crate's own encode, and the special tokens are really left out.
                assert_eq!(
                    hf.encode(text, false).unwrap().len() as u64,
                    want,
                    "{name}: {text:?}"
                );
                let with = case["with_special_tokens"].as_u64().unwrap();
                assert_eq!(
                    hf.encode(text, true).unwrap().len() as u64,
                    with,
                    "{name}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn every_model_type_makes_exact_prompts() {
        for name in [
            "bpe_bytelevel",
            "bpe_metaspace",
            "unigram",
            "wordpiece",
            "wordlevel",
        ] {
            let t = Tokenizer::load(&fixture(name)).unwrap();
            let v = t.vocabulary().unwrap();
            assert!(v.words.len() >= 20, "{name}: {} words", v.words.len());
            for n in [1usize, 2, 7, 64] {
                let mut text: String = v.words.iter().cycle().take(n).cloned().collect();
                if !v.leading_space {
                    text.remove(0);
                }
                assert_eq!(t.count(&text), n as u64, "{name}: {text:?}");
            }
        }
        // Llama 2 style prepends `▁` itself: its prompts start without a space.
        let t = Tokenizer::load(&fixture("bpe_metaspace")).unwrap();
        assert!(!t.vocabulary().unwrap().leading_space);
    }

    #[test]
    fn bad_files_are_one_line_errors_naming_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("tokenizer.json");
        std::fs::write(&bad, r#"{"model":{"type":"Unigram"}"#).unwrap();
        let e = Tokenizer::load(bad.to_str().unwrap()).err().unwrap().to_string();
        assert!(
            e.starts_with("--tokenizer ") && e.contains("not a valid tokenizer.json"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        // A vocabulary without plain lowercase words cannot make synthetic prompts.
        let upper = serde_json::json!({
            "version": "1.0", "added_tokens": [], "normalizer": null, "post_processor": null,
            "decoder": null, "truncation": null, "padding": null,
            "pre_tokenizer": {"type": "Whitespace"},
            "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "HELLO": 1, "WORLD": 2}, "unk_token": "[UNK]"}
        });
        std::fs::write(&bad, upper.to_string()).unwrap();
        let t = Tokenizer::load(bad.to_str().unwrap()).unwrap();
        assert_eq!(t.count("HELLO WORLD hello"), 3);
        let e = t.vocabulary().unwrap_err().to_string();
        assert!(e.starts_with("--tokenizer ") && e.contains("--isl"), "{e}");
    }
}
