//! Synthetic prompts and `inputs.json`.
//!
//! A synthetic prompt is a run of random single-token words (" word"), so its length under the
//! chosen tokenizer is exactly the ISL asked for (checked, and corrected if a tokenizer merges
//! across words). Prompt k is drawn from its own generator seeded by (seed, k): the same seed gives
//! byte-identical prompts and `inputs.json`, and prompts differ from their first word on, so a
//! server cannot prefix-cache one request with another.

use std::path::Path;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde_json::{Map, Value};

use super::options::Options;
use super::tokenizer::Tokenizer;
use super::wire;

/// One entry of the dataset: a prompt and the exact request body that carries it.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// `inputs.json`'s `session_id`, and the records' `conversation_id`.
    pub session_id: String,
    /// Input tokens under the client tokenizer (AIPerf's ISL).
    pub isl: u64,
    /// Requested output tokens, if any.
    pub max_tokens: Option<u64>,
    /// Trace replay: ms from the start of the run at which to send it.
    pub timestamp_ms: Option<f64>,
    /// The request body as sent.
    pub payload: Map<String, Value>,
    /// `payload` serialized once, shared by every request that sends it.
    pub body: Bytes,
}

impl Prompt {
    /// The request carrying `text` (a rankings query, ranked against `passages`).
    pub fn new(
        opts: &Options,
        index: usize,
        (text, passages): (&str, &[String]),
        isl: u64,
        max_tokens: Option<u64>,
        timestamp_ms: Option<f64>,
    ) -> Prompt {
        let payload = wire::request_body(opts, text, passages, max_tokens);
        Prompt::from_payload(index, payload, isl, max_tokens, timestamp_ms)
    }

    pub fn from_payload(
        index: usize,
        payload: Map<String, Value>,
        isl: u64,
        max_tokens: Option<u64>,
        timestamp_ms: Option<f64>,
    ) -> Prompt {
        let body = Bytes::from(serde_json::to_vec(&payload).expect("a JSON map serializes"));
        Prompt {
            session_id: format!("session_{index:06}"),
            isl,
            max_tokens,
            timestamp_ms,
            payload,
            body,
        }
    }
}

pub use super::splitmix::mix;

/// AIPerf's `sample_positive_normal_integer`: `max(1, ceil(N(mean, sd)))` from a normal truncated
/// to positive values; `sd <= 0` gives `max(1, round(mean))`.
pub fn positive_normal_integer(rng: &mut StdRng, mean: f64, sd: f64) -> u64 {
    if sd <= 0.0 {
        return (mean.round() as u64).max(1);
    }
    let n = Normal::new(mean, sd).expect("finite mean and positive sd");
    for _ in 0..1000 {
        let x: f64 = n.sample(rng);
        if x > 0.0 {
            return (x.ceil() as u64).max(1);
        }
    }
    1
}

/// `n` random words of the tokenizer's prompt vocabulary, each with its leading space.
pub fn random_words(tok: &Tokenizer, rng: &mut StdRng, n: u64) -> anyhow::Result<String> {
    let words = &tok.vocabulary()?.words;
    Ok((0..n)
        .map(|_| words[rng.random_range(0..words.len())].as_str())
        .collect())
}

/// Exactly `n` tokens of random words, deterministic for `rng`: checked by counting, and
/// corrected (words dropped or added) if the tokenizer merges across words.
pub fn text_of_tokens(tok: &Tokenizer, rng: &mut StdRng, n: u64) -> anyhow::Result<String> {
    let vocab = tok.vocabulary()?;
    let words = &vocab.words;
    let mut picked: Vec<&str> = (0..n)
        .map(|_| words[rng.random_range(0..words.len())].as_str())
        .collect();
    let mut got = 0;
    for _ in 0..50 {
        let mut text: String = picked.concat();
        if !vocab.leading_space {
            text.remove(0);
        }
        got = tok.count(&text);
        if got == n {
            return Ok(text);
        }
        if got > n {
            let drop = ((got - n) as usize).min(picked.len().saturating_sub(1)).max(1);
            picked.truncate(picked.len() - drop.min(picked.len()));
        } else {
            for _ in 0..(n - got) {
                picked.push(words[rng.random_range(0..words.len())].as_str());
            }
        }
    }
    anyhow::bail!(
        "--tokenizer {}: its words merge so that no prompt of exactly {n} tokens (--isl) could be made (closest: {got}); give texts with --input-file or use --tokenizer builtin",
        tok.name()
    )
}

/// The synthetic dataset: `--num-prompts` prompts of `--isl` (± `--isl-stddev`) tokens.
pub fn synthetic(opts: &Options, tok: &Tokenizer) -> anyhow::Result<Vec<Prompt>> {
    (0..opts.num_prompts as usize)
        .map(|k| {
            let mut rng = StdRng::seed_from_u64(mix(opts.random_seed, k as u64));
            let isl = positive_normal_integer(&mut rng, opts.isl as f64, opts.isl_stddev);
            let max_tokens = opts
                .osl
                .map(|m| positive_normal_integer(&mut rng, m as f64, opts.osl_stddev));
            let text = text_of_tokens(tok, &mut rng, isl)?;
            if opts.endpoint_type.is_rankings() {
                return rankings_prompt(opts, tok, &mut rng, k, text);
            }
            Ok(Prompt::new(opts, k, (&text, &[]), isl, max_tokens, None))
        })
        .collect()
}

/// A rankings request: the query, and `--rankings-passages-mean` passages of
/// `--rankings-passages-prompt-token-mean` tokens each. Its ISL is the count of all texts joined
/// with spaces, as AIPerf tokenizes a rankings payload.
fn rankings_prompt(
    opts: &Options,
    tok: &Tokenizer,
    rng: &mut StdRng,
    k: usize,
    query: String,
) -> anyhow::Result<Prompt> {
    let passages = (0..opts.rankings_passages)
        .map(|_| text_of_tokens(tok, rng, opts.rankings_passage_tokens))
        .collect::<anyhow::Result<Vec<String>>>()?;
    let mut all = vec![query.clone()];
    all.extend(passages.iter().cloned());
    let isl = tok.count(&all.join(" "));
    Ok(Prompt::new(opts, k, (&query, &passages), isl, None, None))
}

/// Writes AIPerf's `inputs.json` (pretty, 2-space indent) atomically.
pub fn write_inputs_json(path: &Path, prompts: &[Prompt]) -> anyhow::Result<()> {
    write_inputs_entries(
        path,
        prompts
            .iter()
            .map(|p| serde_json::json!({"session_id": p.session_id, "payloads": [p.payload]})),
    )
}

/// Writes `inputs.json` from its `data` entries (`{"session_id", "payloads"}`), pretty as AIPerf
/// writes it, atomically.
pub fn write_inputs_entries(path: &Path, entries: impl Iterator<Item = Value>) -> anyhow::Result<()> {
    crate::io::atomic::write_with(path, |w| {
        w.write_all(b"{\n  \"data\": [")?;
        for (i, entry) in entries.enumerate() {
            w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            let text = serde_json::to_string_pretty(&entry).map_err(std::io::Error::from)?;
            for (j, line) in text.lines().enumerate() {
                if j > 0 {
                    w.write_all(b"\n")?;
                }
                w.write_all(b"    ")?;
                w.write_all(line.as_bytes())?;
            }
        }
        w.write_all(b"\n  ]\n}\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::options::{Io, Settings};

    fn opts(seed: u64) -> Options {
        crate::loadgen::options::resolve(
            Settings {
                model: Some("m".into()),
                isl: Some(100),
                isl_stddev: Some(10.0),
                osl: Some(16),
                num_prompts: Some(5),
                random_seed: Some(seed),
                streaming: Some(true),
                ..Default::default()
            },
            Io::default(),
            Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn prompts_have_exact_isl_are_deterministic_and_differ() {
        let tok = Tokenizer::load("builtin").unwrap();
        let a = synthetic(&opts(7), &tok).unwrap();
        let b = synthetic(&opts(7), &tok).unwrap();
        let c = synthetic(&opts(8), &tok).unwrap();
        for p in &a {
            let text = p.payload["messages"][0]["content"].as_str().unwrap();
            assert_eq!(tok.count(text), p.isl);
        }
        assert_eq!(
            a.iter().map(|p| &p.body).collect::<Vec<_>>(),
            b.iter().map(|p| &p.body).collect::<Vec<_>>()
        );
        assert_ne!(a[0].body, c[0].body);
        let firsts: std::collections::HashSet<_> = a
            .iter()
            .map(|p| {
                p.payload["messages"][0]["content"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .nth(1)
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(
            firsts.len() >= 4,
            "prompts should differ from the first word: {firsts:?}"
        );
    }

    #[test]
    fn inputs_json_is_aiperf_shaped() {
        let tok = Tokenizer::load("builtin").unwrap();
        let a = synthetic(&opts(7), &tok).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inputs.json");
        write_inputs_json(&p, &a).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["data"].as_array().unwrap().len(), 5);
        assert_eq!(v["data"][0]["session_id"], "session_000000");
        assert!(
            v["data"][0]["payloads"][0]["max_completion_tokens"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert_eq!(v["data"][1]["payloads"][0], Value::Object(a[1].payload.clone()));
    }
}
