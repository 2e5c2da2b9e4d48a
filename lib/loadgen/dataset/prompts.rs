//! Synthetic prompts and `inputs.json`.
//!
//! A synthetic prompt is a window of AIPerf's Shakespeare corpus (see [`super::corpus`]), exactly
//! the ISL asked for under the chosen tokenizer, drawn from AIPerf's seeded streams in dataset
//! order: the same seed gives byte-identical prompts, and the prompts AIPerf 0.13 sends for that
//! seed and tokenizer. Rankings queries and passages (and `--isl-block-size` blocks, shared
//! prefixes) are random single-token vocabulary words, each from its own generator seeded by
//! (seed, k).

use std::path::Path;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde_json::{Map, Value};

use super::content::UserContent;
use super::corpus::Streams;
use super::media::MediaMaker;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::options::Options;
use crate::loadgen::wire::{self, BodySpec};

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
    /// The request body as sent (a large shared text stands in it as [`SHARED_MARK`]).
    pub payload: Map<String, Value>,
    /// `payload` serialized once, shared by every request that sends it.
    pub body: Body,
    /// The large text [`SHARED_MARK`] stands for, JSON-escaped, held once for every entry.
    pub shared: Option<Bytes>,
    /// Seconds of its first audio clip, if it carries audio.
    pub audio_seconds: Option<f64>,
}

/// Where a large text that every entry repeats (a 10 MB `--system-prompt-file`) stands in a
/// payload: the text is held once, and only the bytes sent and `inputs.json` carry it in full.
pub const SHARED_MARK: &str = "\u{1}sweepkit:shared\u{1}";
/// [`SHARED_MARK`] as serde_json writes it inside a JSON string.
const SHARED_MARK_JSON: &str = "\\u0001sweepkit:shared\\u0001";
/// A system prompt of at least this many bytes is shared instead of copied into every entry.
pub const SHARE_BYTES: usize = 64 * 1024;

/// A request body as it goes on the wire: whole, or pieces around a shared text.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Whole(Bytes),
    Pieces(std::sync::Arc<[Bytes]>),
}

impl Body {
    /// The bytes of one request (pieces are joined for it alone, then dropped).
    pub fn bytes(&self) -> Bytes {
        match self {
            Body::Whole(b) => b.clone(),
            Body::Pieces(p) => Bytes::from(p.concat()),
        }
    }
}

/// A text as the inside of a JSON string (escaped, without the quotes).
pub fn json_inner(text: &str) -> Bytes {
    let quoted = serde_json::to_string(text).expect("a string serializes");
    Bytes::from(quoted[1..quoted.len() - 1].to_string())
}

impl Prompt {
    /// The request carrying `content` (a rankings query, ranked against `passages`).
    pub fn new(
        spec: &BodySpec,
        index: usize,
        (content, passages): (&UserContent, &[String]),
        isl: u64,
        max_tokens: Option<u64>,
        timestamp_ms: Option<f64>,
    ) -> Prompt {
        let payload = wire::request_body(spec, content, passages, max_tokens);
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
            body: Body::Whole(body),
            shared: None,
            audio_seconds: None,
        }
    }

    /// The same prompt with `shared` (JSON-escaped) in place of the [`SHARED_MARK`] its payload
    /// holds: the body becomes pieces around the one shared copy.
    pub fn sharing(mut self, shared: Bytes) -> Prompt {
        let whole = self.body.bytes();
        let mark = SHARED_MARK_JSON.as_bytes();
        let mut pieces = Vec::new();
        let mut rest = &whole[..];
        while let Some(i) = rest.windows(mark.len()).position(|w| w == mark) {
            pieces.push(whole.slice_ref(&rest[..i]));
            pieces.push(shared.clone());
            rest = &rest[i + mark.len()..];
        }
        pieces.push(whole.slice_ref(rest));
        self.body = Body::Pieces(pieces.into());
        self.shared = Some(shared);
        self
    }

    /// `payload` pretty-printed as AIPerf's `inputs.json` holds it, the shared text in full.
    pub fn pretty_payload(&self) -> std::io::Result<String> {
        pretty(&self.payload, self.shared.as_ref())
    }
}

/// `value` pretty-printed, with `shared` in place of [`SHARED_MARK`].
pub fn pretty(value: &Map<String, Value>, shared: Option<&Bytes>) -> std::io::Result<String> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::from)?;
    Ok(match shared {
        Some(s) => text.replace(SHARED_MARK_JSON, &String::from_utf8_lossy(s)),
        None => text,
    })
}

pub use crate::loadgen::splitmix::mix;

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

/// The synthetic dataset: `--num-prompts` prompts of `--isl` (± `--isl-stddev`) tokens of
/// AIPerf's corpus, drawn from AIPerf's streams in order: AIPerf's own prompts for the same seed.
pub fn synthetic(opts: &Options, tok: &Tokenizer) -> anyhow::Result<Vec<Prompt>> {
    if opts.endpoint_type.is_rankings() {
        return synthetic_rankings(opts, tok);
    }
    let spec = BodySpec::of(opts);
    let mut streams = Streams::new(opts.random_seed);
    let mut media = MediaMaker::new(&opts.media, opts.random_seed)?;
    let wrap = super::chat::overheads(tok);
    (0..opts.num_prompts as usize)
        .map(|k| {
            let isl = wrap.apply(streams.isl(opts.isl, opts.isl_stddev), true, 1);
            let text = corpus_text(&mut streams, tok, isl, None)?;
            let max_tokens = opts.osl.map(|m| streams.osl(m, opts.osl_stddev));
            if !media.is_on() {
                return Ok(Prompt::new(
                    &spec,
                    k,
                    (&UserContent::text(text), &[]),
                    isl,
                    max_tokens,
                    None,
                ));
            }
            let content = super::media::content(&text, media.parts()?);
            let mut payload = wire::request_body(&spec, &content, &[], max_tokens);
            super::media::put_contents(&mut payload, &[&content]);
            let mut p = Prompt::from_payload(k, payload, isl, max_tokens, None);
            p.audio_seconds = content.audio_seconds();
            Ok(p)
        })
        .collect()
}

/// `n` tokens of corpus text from `streams` (AIPerf's prompt), after `prefix`. A tokenizer that
/// cannot encode the corpus (a WordLevel vocabulary without an unknown token) gets random
/// vocabulary words instead.
pub fn corpus_text(
    streams: &mut Streams,
    tok: &Tokenizer,
    n: u64,
    prefix: Option<&str>,
) -> anyhow::Result<String> {
    streams.text(tok, n, prefix).or_else(|why| {
        let mut words = StdRng::seed_from_u64(streams.seed());
        let body = text_of_tokens(tok, &mut words, n).map_err(|e| e.context(why.to_string()))?;
        Ok(format!("{}{body}", prefix.unwrap_or("")))
    })
}

/// Synthetic rankings requests: a query and passages of random vocabulary words each.
fn synthetic_rankings(opts: &Options, tok: &Tokenizer) -> anyhow::Result<Vec<Prompt>> {
    let spec = BodySpec::of(opts);
    (0..opts.num_prompts as usize)
        .map(|k| {
            let mut rng = StdRng::seed_from_u64(mix(opts.random_seed, k as u64));
            let isl = positive_normal_integer(&mut rng, opts.isl as f64, opts.isl_stddev);
            if let Some(m) = opts.osl {
                // Drawn and unused (rankings have no output), as before: the texts keep their bytes.
                positive_normal_integer(&mut rng, m as f64, opts.osl_stddev);
            }
            let text = text_of_tokens(tok, &mut rng, isl)?;
            rankings_prompt(opts, &spec, tok, &mut rng, k, text)
        })
        .collect()
}

/// A rankings request: the query, and `--rankings-passages-mean` passages of
/// `--rankings-passages-prompt-token-mean` tokens each. Its ISL is the count of all texts joined
/// with spaces, as AIPerf tokenizes a rankings payload.
fn rankings_prompt(
    opts: &Options,
    spec: &BodySpec,
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
    Ok(Prompt::new(
        spec,
        k,
        (&UserContent::text(query), &passages),
        isl,
        None,
        None,
    ))
}

/// Writes AIPerf's `inputs.json`: one entry per prompt.
pub fn write_inputs_json(path: &Path, prompts: &[Prompt]) -> anyhow::Result<()> {
    crate::contract::inputs::write(path, |w| {
        for p in prompts {
            w.entry([p.pretty_payload()], &p.session_id)?;
        }
        Ok(())
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
    fn a_shared_text_is_sent_and_written_in_full() {
        let text = "a \"quoted\" line\nand more ".repeat(10);
        let mut payload = Map::new();
        payload.insert("messages".into(), serde_json::json!([{"role": "system", "content": SHARED_MARK}, {"role": "user", "content": "hi"}]));
        let whole = {
            let mut full = payload.clone();
            full["messages"][0]["content"] = Value::String(text.clone());
            Prompt::from_payload(0, full, 1, None, None)
        };
        let shared = Prompt::from_payload(0, payload, 1, None, None).sharing(json_inner(&text));
        assert!(matches!(shared.body, Body::Pieces(ref p) if p.len() == 3));
        assert_eq!(
            shared.body.bytes(),
            whole.body.bytes(),
            "the bytes sent are the whole body's"
        );
        assert_eq!(shared.pretty_payload().unwrap(), whole.pretty_payload().unwrap());
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
