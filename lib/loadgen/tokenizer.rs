//! Client-side token counting, as AIPerf does it (`--tokenizer`).
//!
//! `builtin` is tiktoken's o200k_base, embedded in the binary and built once. A local Hugging Face
//! `tokenizer.json` is supported when it is a byte-level BPE (GPT-2, Llama 3, Qwen 2 and the like):
//! its vocabulary is loaded into the same BPE engine, ranked by token id, with the file's split
//! regex. That is exact for tiktoken-derived vocabularies (Llama 3) and close for the others, whose
//! merge order can differ from id order. SentencePiece-style files (Metaspace) are refused with a
//! clear message.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, bail};
use serde_json::Value;
use tiktoken_rs::CoreBPE;

pub struct Tokenizer {
    name: String,
    bpe: BpeRef,
    /// Single tokens of the form " word" (space + 2–12 lowercase ASCII letters): the synthetic
    /// prompt vocabulary, so a prompt of N such words is exactly N tokens.
    words: OnceLock<Vec<String>>,
    vocab_size: u32,
}

enum BpeRef {
    Builtin(&'static CoreBPE),
    Owned(Box<CoreBPE>),
}

impl Tokenizer {
    /// `builtin` or a path to a `tokenizer.json`.
    pub fn load(spec: &str) -> anyhow::Result<Tokenizer> {
        if spec == "builtin" || spec == "o200k_base" {
            return Ok(Tokenizer {
                name: "builtin".into(),
                bpe: BpeRef::Builtin(builtin()),
                words: OnceLock::new(),
                vocab_size: 200_019,
            });
        }
        let path = Path::new(spec);
        if !path.exists() {
            bail!("--tokenizer {spec}: no such file; use `builtin` (o200k_base, offline) or a local tokenizer.json (models are not downloaded)");
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| anyhow!("--tokenizer {spec}: cannot read: {e}"))?;
        let (bpe, vocab_size) = from_hf_json(&text).map_err(|e| anyhow!("--tokenizer {spec}: {e}"))?;
        Ok(Tokenizer {
            name: spec.to_string(),
            bpe: BpeRef::Owned(Box::new(bpe)),
            words: OnceLock::new(),
            vocab_size,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn bpe(&self) -> &CoreBPE {
        match &self.bpe {
            BpeRef::Builtin(b) => b,
            BpeRef::Owned(b) => b,
        }
    }

    /// Number of tokens in `text` (no special tokens, as AIPerf's `add_special_tokens=False`).
    pub fn count(&self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        self.bpe().encode_ordinary(text).len() as u64
    }

    /// The synthetic prompt vocabulary (built on first use).
    pub fn words(&self) -> &[String] {
        self.words.get_or_init(|| {
            let bpe = self.bpe();
            let mut out = Vec::new();
            for id in 0..self.vocab_size {
                let Ok(bytes) = bpe.decode_bytes(&[id]) else {
                    continue;
                };
                if bytes.len() >= 3
                    && bytes.len() <= 13
                    && bytes[0] == b' '
                    && bytes[1..].iter().all(|b| b.is_ascii_lowercase())
                {
                    out.push(String::from_utf8(bytes).unwrap());
                }
            }
            out.sort();
            out.dedup();
            out
        })
    }
}

/// o200k_base, built once per process.
pub fn builtin() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

fn filled<M: Default + Extend<(K, u32)>, K>(items: Vec<(K, u32)>) -> M {
    let mut m = M::default();
    m.extend(items);
    m
}

/// GPT-2's byte-level alphabet: the printable stand-in char for each byte.
fn byte_level_decoder() -> HashMap<char, u8> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .map(|(b, c)| (char::from_u32(c).unwrap(), b as u8))
        .collect()
}

const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

fn from_hf_json(text: &str) -> anyhow::Result<(CoreBPE, u32)> {
    let v: Value = serde_json::from_str(text).map_err(|e| anyhow!("not a tokenizer.json: {e}"))?;
    let model = v
        .get("model")
        .ok_or_else(|| anyhow!("no \"model\" section: not a Hugging Face tokenizer.json"))?;
    if model.get("type").and_then(Value::as_str) != Some("BPE") {
        bail!(
            "only BPE tokenizers are supported (this one is {}); use --tokenizer builtin",
            model.get("type").unwrap_or(&Value::Null)
        );
    }
    let pre = v.get("pre_tokenizer").cloned().unwrap_or(Value::Null);
    let pre_text = pre.to_string();
    if !pre_text.contains("ByteLevel") {
        bail!("only byte-level BPE (GPT-2/Llama 3/Qwen style) is supported; this file's pre-tokenizer is not ByteLevel (SentencePiece-style); use --tokenizer builtin");
    }
    let pattern = find_split_regex(&pre).unwrap_or_else(|| GPT2_PATTERN.to_string());
    let dec = byte_level_decoder();
    let vocab = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("model.vocab is missing"))?;
    let mut seen_ids = std::collections::HashSet::new();
    let mut items: Vec<(Vec<u8>, u32)> = Vec::with_capacity(vocab.len());
    let mut max_id = 0u32;
    for (tok, id) in vocab {
        let id = id
            .as_u64()
            .ok_or_else(|| anyhow!("model.vocab[{tok:?}] is not an id"))? as u32;
        let bytes: Option<Vec<u8>> = tok.chars().map(|c| dec.get(&c).copied()).collect();
        let Some(bytes) = bytes else { continue };
        if seen_ids.insert(id) {
            max_id = max_id.max(id);
            items.push((bytes, id));
        }
    }
    let mut specials: Vec<(String, u32)> = Vec::new();
    for t in v
        .get("added_tokens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(c), Some(id)) = (
            t.get("content").and_then(Value::as_str),
            t.get("id").and_then(Value::as_u64),
        ) {
            if seen_ids.insert(id as u32) {
                specials.push((c.to_string(), id as u32));
            }
        }
    }
    let bpe = CoreBPE::new(filled(items), filled(specials), &pattern)
        .map_err(|e| anyhow!("cannot build the BPE from this file: {e}"))?;
    Ok((bpe, max_id + 1))
}

fn find_split_regex(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("Split") {
                if let Some(r) = m
                    .get("pattern")
                    .and_then(|p| p.get("Regex"))
                    .and_then(Value::as_str)
                {
                    return Some(r.to_string());
                }
            }
            m.values().find_map(find_split_regex)
        }
        Value::Array(a) => a.iter().find_map(find_split_regex),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_counts_like_tiktoken() {
        let t = Tokenizer::load("builtin").unwrap();
        assert_eq!(t.count("hello world"), 2);
        assert_eq!(t.count(""), 0);
        let w = t.words();
        assert!(w.len() > 5000, "{}", w.len());
        let text: String = w.iter().take(50).cloned().collect();
        assert_eq!(t.count(&text), 50);
    }

    #[test]
    fn byte_level_tokenizer_json_loads() {
        // A tiny GPT-2-style file: bytes as base tokens plus one merged word.
        let mut vocab = serde_json::Map::new();
        let dec = byte_level_decoder();
        let mut enc: Vec<(char, u8)> = dec.into_iter().collect();
        enc.sort_by_key(|(_, b)| *b);
        for (c, b) in &enc {
            vocab.insert(c.to_string(), Value::from(*b as u64));
        }
        vocab.insert("Ġhi".into(), Value::from(256));
        vocab.insert("Ġh".into(), Value::from(257));
        let j = serde_json::json!({"model":{"type":"BPE","vocab":vocab,"merges":[]},
            "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},
            "added_tokens":[{"id":258,"content":"<|end|>"}]});
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokenizer.json");
        std::fs::write(&p, j.to_string()).unwrap();
        let t = Tokenizer::load(p.to_str().unwrap()).unwrap();
        assert_eq!(t.count(" hi hi"), 2);
        assert_eq!(t.count("ab"), 2);
        assert_eq!(t.words(), &[" hi".to_string()]);
        let bad = dir.path().join("sp.json");
        std::fs::write(&bad, r#"{"model":{"type":"Unigram"}}"#).unwrap();
        assert!(Tokenizer::load(bad.to_str().unwrap())
            .err()
            .unwrap()
            .to_string()
            .contains("only BPE"));
        assert!(Tokenizer::load("/no/such/tokenizer.json")
            .err()
            .unwrap()
            .to_string()
            .contains("builtin"));
    }
}
