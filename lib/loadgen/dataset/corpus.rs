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

use crate::io::tokenizer::Tokenizer;
use crate::loadgen::py_random::PyRandom;

/// AIPerf's corpus (4.8 MiB, ASCII, one stripped line per line, no blank lines).
const SHAKESPEARE: &str = include_str!("../assets/shakespeare.txt");
/// AIPerf's `MAX_CHARS_PER_CHUNK`: lines are joined with spaces into chunks of at least this many
/// characters, each tokenized alone, so token boundaries never depend on the machine.
const CHUNK_CHARS: usize = 10_000;
/// Rounds of the decode/re-encode correction. AIPerf stops after 10 and accepts a length
/// mismatch; sweepkit goes on (the same text whenever AIPerf's is exact) to keep ISL exact.
const MAX_RETRIES: usize = 50;

/// The corpus chunks' token counts under `builtin` (o200k_base), in order, so that set-up cuts
/// windows without tokenizing the whole corpus (0.2 s): a chunk is encoded when a window first
/// touches it. `builtin_chunk_counts_are_current` recomputes them and fails when they are stale.
const BUILTIN_CHUNK_TOKENS: &[u32] = &include!("../assets/shakespeare-builtin-chunk-tokens.in");

/// The corpus as token ids of one tokenizer: AIPerf's chunks, each encoded alone.
pub struct Corpus {
    chunks: Vec<String>,
    /// Where each chunk's ids start in the whole corpus, then the total.
    starts: Vec<usize>,
    /// Each chunk's ids, encoded on first use (all at once for a tokenizer without counts).
    ids: Vec<OnceLock<Vec<u32>>>,
}

/// Tokenized corpora by tokenizer (name and file), built once per process.
static CORPORA: OnceLock<Mutex<HashMap<String, Arc<Corpus>>>> = OnceLock::new();

impl Corpus {
    /// The corpus under `tok`, built once per process.
    pub fn of(tok: &Tokenizer) -> Arc<Corpus> {
        let key = format!("{}\u{0}{:?}", tok.name(), tok.path());
        let cache = CORPORA.get_or_init(Default::default);
        if let Some(c) = cache.lock().expect("corpus cache").get(&key) {
            return c.clone();
        }
        let c = Arc::new(Corpus::new(tok));
        cache.lock().expect("corpus cache").insert(key, c.clone());
        c
    }

    /// The chunks with their ids' offsets: from the stored counts for `builtin`, else by
    /// encoding every chunk (two threads).
    fn new(tok: &Tokenizer) -> Corpus {
        let chunks = chunks();
        let ids: Vec<OnceLock<Vec<u32>>> = chunks.iter().map(|_| OnceLock::new()).collect();
        let counts: Vec<usize> = if tok.is_builtin() && BUILTIN_CHUNK_TOKENS.len() == chunks.len() {
            BUILTIN_CHUNK_TOKENS.iter().map(|&n| n as usize).collect()
        } else {
            let half = chunks.len() / 2;
            let encode = |from: usize, to: usize| {
                for (c, slot) in chunks[from..to].iter().zip(&ids[from..to]) {
                    let _ = slot.set(tok.encode(c));
                }
            };
            std::thread::scope(|s| {
                let h = s.spawn(|| encode(half, chunks.len()));
                encode(0, half);
                h.join().expect("corpus tokenizer thread");
            });
            ids.iter().map(|i| i.get().map_or(0, Vec::len)).collect()
        };
        let mut starts = Vec::with_capacity(counts.len() + 1);
        let mut at = 0;
        for n in counts {
            starts.push(at);
            at += n;
        }
        starts.push(at);
        Corpus { chunks, starts, ids }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of chunk `c`, encoded with `tok` (the corpus's tokenizer) on first use.
    fn chunk(&self, tok: &Tokenizer, c: usize) -> &[u32] {
        self.ids[c].get_or_init(|| tok.encode(&self.chunks[c]))
    }

    /// `n` tokens from offset `start`, wrapping at the end (as often as a window longer than
    /// the corpus needs; AIPerf wraps once and returns a shorter window).
    pub fn window(&self, tok: &Tokenizer, start: usize, n: usize) -> Vec<u32> {
        let total = self.len();
        let mut out = Vec::with_capacity(n);
        if total == 0 {
            return out;
        }
        let mut at = start % total;
        while out.len() < n {
            // The last chunk starting at or before `at` holds it (empty chunks share a start).
            let c = self.starts[..self.chunks.len()].partition_point(|&s| s <= at) - 1;
            let ids = self.chunk(tok, c);
            let from = at - self.starts[c];
            let take = (n - out.len()).min(ids.len() - from);
            out.extend_from_slice(&ids[from..from + take]);
            at = (at + take) % total;
        }
        out
    }
}

/// AIPerf's `_initialize_corpus` chunks: non-empty stripped lines, joined by spaces into chunks
/// of at least [`CHUNK_CHARS`] characters (each encoded alone, ids concatenated).
fn chunks() -> Vec<String> {
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
    chunks
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
            tokens.extend(corpus.window(tok, offset(corpus.len()), more));
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
            if tok.decode(&corpus.window(tok, start, 1)).starts_with(' ') {
                break;
            }
            start = (start + 1) % corpus.len();
        }
    }
    tokens.extend(corpus.window(tok, start, n as usize));
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
        let w = c.window(&tok, c.len() - 2, 5);
        assert_eq!(w[2..], c.window(&tok, 0, 3)[..]);
        let mut at = [c.len() - 3, 17, 99].into_iter();
        for n in [1u64, 7, 300] {
            let t = text(&tok, &mut |_| at.next().unwrap_or(5), n, None).unwrap();
            assert_eq!(tok.count(&t), n, "{t:?}");
        }
        let t = text(&tok, &mut |_| 1234, 20, Some(" To be or not to be")).unwrap();
        assert!(t.starts_with(" To be or not to be"), "{t}");
        assert_eq!(tok.count(&t), 6 + 20);
    }

    /// The stored `builtin` counts are the chunks' counts now (a changed corpus, chunking or
    /// tokenizer fails here; `SWEEPKIT_WRITE_CHUNK_TOKENS=1` rewrites the table instead), and a
    /// corpus cut from them (chunks encoded as windows touch them) gives the ids of the corpus
    /// encoded whole, wherever a window starts or wraps.
    #[test]
    fn builtin_chunk_counts_are_current_and_lazy_windows_match_the_whole() {
        let tok = Tokenizer::load("builtin").unwrap();
        let encoded: Vec<Vec<u32>> = chunks().iter().map(|c| tok.encode(c)).collect();
        let counts: Vec<usize> = encoded.iter().map(Vec::len).collect();
        if std::env::var_os("SWEEPKIT_WRITE_CHUNK_TOKENS").is_some() {
            let list: Vec<String> = counts.iter().map(usize::to_string).collect();
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/lib/loadgen/assets/shakespeare-builtin-chunk-tokens.in"
            );
            std::fs::write(path, format!("[{}]\n", list.join(", "))).unwrap();
            return;
        }
        let stored: Vec<usize> = BUILTIN_CHUNK_TOKENS.iter().map(|&n| n as usize).collect();
        assert_eq!(
            stored, counts,
            "lib/loadgen/assets/shakespeare-builtin-chunk-tokens.in is stale: rerun this test with SWEEPKIT_WRITE_CHUNK_TOKENS=1"
        );
        let lazy = Corpus::new(&tok);
        assert!(
            lazy.ids.iter().all(|i| i.get().is_none()),
            "nothing encoded up front"
        );
        let whole: Vec<u32> = encoded.concat();
        assert_eq!(lazy.len(), whole.len());
        let n = whole.len();
        for (start, len) in [
            (0, 10),
            (n / 2, 5000),
            (n - 3, 7),
            (lazy.starts[1] - 2, 4),
            (n + 5, 3),
        ] {
            let want: Vec<u32> = whole.iter().cycle().skip(start).take(len).copied().collect();
            assert_eq!(lazy.window(&tok, start, len), want, "window at {start}");
        }
        assert!(
            lazy.ids.iter().filter(|i| i.get().is_some()).count() < 10,
            "only the touched chunks"
        );
    }
}
