//! Synthetic prompt text as AIPerf 0.13 makes it: windows of its public-domain Shakespeare corpus
//! (`assets/shakespeare.txt`, AIPerf's `dataset/generator/assets/shakespeare.txt` byte for byte),
//! tokenized with the run's tokenizer and cut at a random token offset, then decoded and corrected
//! to exactly the ISL asked for.
//!
//! Natural text costs a real server about what the client tokenizer counts (the random vocabulary
//! words sweepkit used before cost a byte-level BPE model 2.5x), and with AIPerf's seeded streams
//! (`dataset.prompt.length`, `dataset.prompt.corpus`, `composer.turn.max_tokens`, see
//! [`crate::loadgen::py_random`]) a run's prompts are the ones AIPerf sends for the same seed and tokenizer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::tokenizer::Tokenizer;
use crate::loadgen::py_random::PyRandom;

/// AIPerf's corpus (4.8 MiB, ASCII, one stripped line per line, no blank lines).
const SHAKESPEARE: &str = include_str!("../assets/shakespeare.txt");
/// AIPerf's `MAX_CHARS_PER_CHUNK`: lines are joined with spaces into chunks of at least this many
/// characters, each tokenized alone, so token boundaries never depend on the machine.
const CHUNK_CHARS: usize = 10_000;
/// Rounds of the decode/re-encode correction. AIPerf stops after 10 and accepts a length
/// mismatch; sweepkit goes on (the same text whenever AIPerf's is exact) to keep ISL exact.
const MAX_RETRIES: usize = 50;

/// The corpus as token ids of one tokenizer.
pub struct Corpus {
    tokens: Vec<u32>,
}

/// Tokenized corpora by tokenizer (name and file), built once per process.
static CORPORA: OnceLock<Mutex<HashMap<String, Arc<Corpus>>>> = OnceLock::new();

impl Corpus {
    /// The corpus under `tok`, tokenized once per process.
    pub fn of(tok: &Tokenizer) -> Arc<Corpus> {
        let key = format!("{}\u{0}{:?}", tok.name(), tok.path());
        let cache = CORPORA.get_or_init(Default::default);
        if let Some(c) = cache.lock().expect("corpus cache").get(&key) {
            return c.clone();
        }
        let c = Arc::new(Corpus::tokenize(tok));
        cache.lock().expect("corpus cache").insert(key, c.clone());
        c
    }

    /// AIPerf's `_initialize_corpus`: non-empty stripped lines, joined by spaces into chunks of
    /// at least [`CHUNK_CHARS`] characters, each encoded alone (two threads), ids concatenated.
    fn tokenize(tok: &Tokenizer) -> Corpus {
        let mut chunks: Vec<String> = Vec::new();
        let (mut buf, mut chars): (Vec<&str>, usize) = (Vec::new(), 0);
        for line in SHAKESPEARE.lines().map(str::trim).filter(|l| !l.is_empty()) {
            buf.push(line);
            chars += line.chars().count();
            if chars >= CHUNK_CHARS {
                chunks.push(buf.join(" "));
                buf.clear();
                chars = 0;
            }
        }
        if !buf.is_empty() {
            chunks.push(buf.join(" "));
        }
        let half = chunks.len() / 2;
        let (a, b) = chunks.split_at(half);
        let encode = |part: &[String]| -> Vec<u32> { part.iter().flat_map(|c| tok.encode(c)).collect() };
        let (mut tokens, rest) = std::thread::scope(|s| {
            let h = s.spawn(|| encode(b));
            (encode(a), h.join().expect("corpus tokenizer thread"))
        });
        tokens.extend(rest);
        Corpus { tokens }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// `n` tokens from offset `start`, wrapping at the end (as often as a window longer than
    /// the corpus needs; AIPerf wraps once and returns a shorter window).
    pub fn window(&self, start: usize, n: usize) -> Vec<u32> {
        self.tokens.iter().cycle().skip(start).take(n).copied().collect()
    }
}

/// Draws the start of a corpus window: a uniform offset below the corpus length.
pub type Offset<'a> = dyn FnMut(usize) -> usize + 'a;

/// AIPerf's `_decode_to_exact_len`: decode `tokens`, re-encode, and trim the re-encoded ids or top
/// them up with a fresh window until the text is exactly `target` tokens.
pub fn exact_text(
    tok: &Tokenizer,
    corpus: &Corpus,
    mut tokens: Vec<u32>,
    target: usize,
    offset: &mut Offset,
) -> anyhow::Result<String> {
    let mut got = 0;
    for _ in 0..MAX_RETRIES {
        let text = tok.decode(&tokens);
        tokens = tok.encode(&text);
        got = tokens.len();
        if got == target {
            return Ok(text);
        }
        if got > target {
            tokens.truncate(target);
        } else {
            let more = target - got;
            tokens.extend(corpus.window(offset(corpus.len()), more));
        }
    }
    anyhow::bail!(
        "--tokenizer {}: no text of exactly {target} tokens (--isl) could be cut from the prompt corpus (closest: {got}); give texts with --input-file or use --tokenizer builtin",
        tok.name()
    )
}

/// `n` tokens of corpus text at a random offset, exactly `n` under `tok` (AIPerf's
/// `generate_prompt`; with `prefix`, the prefix's ids go in front and the whole is corrected to
/// `prefix + n`, as AIPerf joins a pool prefix at the token level).
pub fn text(tok: &Tokenizer, offset: &mut Offset, n: u64, prefix: Option<&str>) -> anyhow::Result<String> {
    let corpus = Corpus::of(tok);
    anyhow::ensure!(
        !corpus.is_empty(),
        "--tokenizer {}: it encodes none of the prompt corpus; give texts with --input-file or use --tokenizer builtin",
        tok.name()
    );
    let mut tokens = prefix.map(|p| tok.encode(p)).unwrap_or_default();
    let target = tokens.len() + n as usize;
    let mut start = offset(corpus.len());
    if prefix.is_some() {
        // The body starts on a word, so the prefix stays whole words (AIPerf joins mid-word too).
        for _ in 0..64 {
            if tok.decode(&corpus.window(start, 1)).starts_with(' ') {
                break;
            }
            start = (start + 1) % corpus.len();
        }
    }
    tokens.extend(corpus.window(start, n as usize));
    exact_text(tok, &corpus, tokens, target, offset)
}

/// AIPerf's synthetic streams for `--random-seed`: prompt lengths, corpus offsets and output
/// lengths each come from their own Python `random.Random`, drawn in dataset order.
pub struct Streams {
    length: PyRandom,
    corpus: PyRandom,
    max_tokens: PyRandom,
}

impl Streams {
    pub fn new(seed: u64) -> Streams {
        Streams {
            length: PyRandom::derived(seed, "dataset.prompt.length"),
            corpus: PyRandom::derived(seed, "dataset.prompt.corpus"),
            max_tokens: PyRandom::derived(seed, "composer.turn.max_tokens"),
        }
    }

    /// A prompt length: `--isl` ± `--isl-stddev` (AIPerf passes the stddev as an integer).
    pub fn isl(&mut self, mean: u64, sd: f64) -> u64 {
        self.length.positive_normal_integer(mean as f64, sd.trunc())
    }

    /// An output length: `--osl` ± `--osl-stddev` (an integer, as AIPerf takes it).
    pub fn osl(&mut self, mean: u64, sd: f64) -> u64 {
        self.max_tokens.positive_normal_integer(mean as f64, sd.trunc())
    }

    /// A prompt of exactly `n` tokens from the corpus stream.
    pub fn text(&mut self, tok: &Tokenizer, n: u64, prefix: Option<&str>) -> anyhow::Result<String> {
        let rng = &mut self.corpus;
        text(tok, &mut |len| rng.randbelow(len as u32) as usize, n, prefix)
    }

    /// A seed from the corpus stream, for text made another way when the corpus cannot serve.
    pub fn seed(&mut self) -> u64 {
        self.corpus.random().to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_corpus_is_aiperfs() {
        // sha256 of AIPerf 0.13's dataset/generator/assets/shakespeare.txt.
        let d = ring::digest::digest(&ring::digest::SHA256, SHAKESPEARE.as_bytes());
        let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "e0e13a826912a4a81bb3a582aa73c4af0675bdeee6ddf6d505efb63d562d496f"
        );
    }

    #[test]
    fn windows_wrap_and_texts_are_exact() {
        let tok = Tokenizer::load("builtin").unwrap();
        let c = Corpus::of(&tok);
        assert!(c.len() > 1_000_000, "{}", c.len());
        let w = c.window(c.len() - 2, 5);
        assert_eq!(w[2..], c.window(0, 3)[..]);
        let mut at = [c.len() - 3, 17, 99].into_iter();
        for n in [1u64, 7, 300] {
            let t = text(&tok, &mut |_| at.next().unwrap_or(5), n, None).unwrap();
            assert_eq!(tok.count(&t), n, "{t:?}");
        }
        let t = text(&tok, &mut |_| 1234, 20, Some(" To be or not to be")).unwrap();
        assert!(t.starts_with(" To be or not to be"), "{t}");
        assert_eq!(tok.count(&t), 6 + 20);
    }
}
