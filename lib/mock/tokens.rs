//! The mock's deterministic token rules: how many tokens a prompt is, how long an answer is, and
//! which words it says.
//!
//! Prompt tokens: every maximal run of non-whitespace characters ("word") counts
//! `ceil(chars / 4)` tokens; a prompt counts at least 1. So "hi there" is 1 + 2 = 3 tokens and
//! "internationalization" (20 chars) is 5. Chat prompts are the sum over every message's text
//! (string content or `text` parts), with no template overhead.
//!
//! Output words come from a fixed list of common English words, each one token long in the
//! tiktoken encodings (a leading space and 1–7 letters), chosen by a hash of `--seed`, the prompt
//! text and the token's index: the same request gives the same text for the same seed.

/// FNV-1a over bytes, continuing from `h` (start with [`FNV_OFFSET`]).
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// SplitMix64 finaliser: a cheap, well-mixed hash of one integer.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Accumulates a prompt's token count and content hash over one or more texts (messages).
#[derive(Debug, Clone)]
pub struct PromptStats {
    pub tokens: u32,
    pub hash: u64,
    /// One hash per token, in order (a word's 4-character pieces; the first token of each text
    /// and of each word marked as such): what the prefix cache cuts into blocks.
    pub token_hashes: Vec<u64>,
    /// Prompt tokens of the request's images and audio (`super::media`'s rule).
    pub media_tokens: u32,
}

impl Default for PromptStats {
    fn default() -> Self {
        PromptStats {
            media_tokens: 0,
            tokens: 0,
            hash: FNV_OFFSET,
            token_hashes: Vec::new(),
        }
    }
}

/// Marks the first token of a message and of a word in [`PromptStats::token_hashes`].
const MESSAGE_START: u64 = 0x4D53_4721;
const WORD_START: u64 = 0x5752_4421;

impl PromptStats {
    pub fn add_text(&mut self, text: &str) {
        self.tokens = self.tokens.saturating_add(count_tokens(text));
        self.hash = fnv1a(self.hash, text.as_bytes());
        self.hash = fnv1a(self.hash, &[0]);
        let mut first = true;
        for word in text.split_whitespace() {
            let mut piece_start = 0;
            for (n, (i, _)) in word.char_indices().enumerate() {
                if n > 0 && n % 4 == 0 {
                    self.push_piece(&word[piece_start..i], piece_start == 0, &mut first);
                    piece_start = i;
                }
            }
            self.push_piece(&word[piece_start..], piece_start == 0, &mut first);
        }
    }

    fn push_piece(&mut self, piece: &str, word_start: bool, first: &mut bool) {
        let mut h = fnv1a(FNV_OFFSET, piece.as_bytes());
        if word_start {
            h ^= WORD_START;
        }
        if std::mem::take(first) {
            h ^= MESSAGE_START;
        }
        self.token_hashes.push(mix64(h));
    }

    /// Token-id prompts (completions `prompt: [1,2,3]`) count one token per id.
    pub fn add_ids(&mut self, ids: &[i64]) {
        self.tokens = self.tokens.saturating_add(ids.len() as u32);
        for id in ids {
            self.hash = fnv1a(self.hash, &id.to_le_bytes());
            self.token_hashes.push(mix64(*id as u64));
        }
    }

    /// The prompt's token count under the documented rule (at least 1).
    pub fn prompt_tokens(&self) -> u32 {
        self.tokens.saturating_add(self.media_tokens).max(1)
    }
}

/// `Σ ceil(chars/4)` over whitespace-separated words.
pub fn count_tokens(text: &str) -> u32 {
    let mut tokens = 0u32;
    let mut run = 0u32;
    if text.is_ascii() {
        for &b in text.as_bytes() {
            if b.is_ascii_whitespace() {
                tokens += run.div_ceil(4);
                run = 0;
            } else {
                run += 1;
            }
        }
    } else {
        for c in text.chars() {
            if c.is_whitespace() {
                tokens += run.div_ceil(4);
                run = 0;
            } else {
                run += 1;
            }
        }
    }
    tokens + run.div_ceil(4)
}

/// How many tokens to generate and why the generation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputPlan {
    pub tokens: u32,
    /// `"length"` when the token budget was reached, `"stop"` on a natural end.
    pub finish_reason: &'static str,
}

/// The output length rule. With a token budget (`max_completion_tokens` or `max_tokens`) the answer
/// is exactly that long unless the request says `ignore_eos: false`, so benchmarks get the OSL they
/// asked for. Otherwise (no budget, or `ignore_eos: false`) it stops "naturally" at a deterministic
/// length between `max(min_tokens, 1)` and the budget (`default_max` without one).
pub fn plan_output(
    max: Option<u32>,
    min_tokens: u32,
    ignore_eos: Option<bool>,
    default_max: u32,
    hash: u64,
) -> OutputPlan {
    let budget = max.unwrap_or(default_max).max(1);
    let exact = ignore_eos == Some(true) || (max.is_some() && ignore_eos != Some(false));
    if exact {
        return OutputPlan {
            tokens: budget,
            finish_reason: "length",
        };
    }
    let lo = min_tokens.clamp(1, budget);
    let n = lo + (mix64(hash) % (budget - lo + 1) as u64) as u32;
    OutputPlan {
        tokens: n,
        finish_reason: if n == budget { "length" } else { "stop" },
    }
}

/// The seed of one answer's word sequence.
pub fn answer_seed(seed: u64, prompt_hash: u64) -> u64 {
    mix64(seed ^ mix64(prompt_hash))
}

/// Token `i` of the answer with seed `answer_seed` (JSON-safe, no escaping needed).
pub fn word(answer_seed: u64, i: u32) -> &'static str {
    WORDS[(mix64(answer_seed.wrapping_add(i as u64)) & 0xff) as usize]
}

/// 256 common words, each a single token with its leading space.
pub const WORDS: [&str; 256] = [
    " the", " of", " and", " to", " in", " is", " that", " for", " it", " as", " was", " with", " be", " by",
    " on", " not", " he", " this", " are", " or", " his", " from", " at", " which", " but", " have", " an",
    " had", " they", " you", " were", " their", " one", " all", " we", " can", " her", " has", " there",
    " been", " if", " more", " when", " will", " would", " who", " so", " no", " she", " other", " its",
    " may", " these", " what", " them", " than", " some", " him", " time", " into", " only", " do", " out",
    " any", " then", " about", " two", " also", " many", " up", " first", " could", " new", " our", " made",
    " over", " such", " like", " after", " most", " between", " used", " where", " must", " each", " well",
    " should", " people", " part", " because", " even", " through", " work", " very", " same", " how",
    " those", " both", " year", " state", " life", " world", " being", " under", " long", " use", " make",
    " before", " good", " day", " system", " number", " great", " might", " here", " own", " while", " last",
    " much", " way", " still", " water", " small", " found", " place", " high", " light", " data", " model",
    " power", " form", " case", " point", " group", " line", " end", " order", " area", " field", " house",
    " city", " right", " left", " hand", " eye", " word", " name", " school", " family", " home", " book",
    " music", " story", " study", " level", " energy", " market", " table", " paper", " river", " road",
    " tree", " stone", " fire", " sun", " moon", " star", " sea", " rain", " wind", " snow", " cloud",
    " earth", " plant", " animal", " bird", " fish", " horse", " dog", " cat", " food", " bread", " milk",
    " door", " window", " room", " wall", " floor", " glass", " metal", " gold", " silver", " iron", " wood",
    " color", " red", " blue", " green", " black", " white", " dark", " bright", " warm", " cold", " hot",
    " quick", " slow", " early", " late", " young", " old", " strong", " simple", " clear", " real", " true",
    " free", " full", " open", " close", " near", " far", " deep", " short", " large", " big", " little",
    " next", " best", " better", " few", " every", " never", " always", " often", " again", " today",
    " night", " morning", " week", " month", " history", " science", " art", " law", " war", " peace",
    " health", " money", " office", " team", " game", " test", " result", " change", " value",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_rule_is_ceil_chars_over_four_per_word() {
        assert_eq!(count_tokens("hello there"), 4); // 5 chars -> 2, 5 chars -> 2
        assert_eq!(count_tokens("a bb ccc dddd"), 4);
        assert_eq!(count_tokens("internationalization"), 5);
        assert_eq!(count_tokens("  \n\t "), 0);
        assert_eq!(count_tokens("héllo wörld"), 4);
        let mut p = PromptStats::default();
        p.add_text("");
        assert_eq!(p.prompt_tokens(), 1);
        for text in [
            "hello there",
            "a bb ccc dddd",
            "internationalization",
            "héllo wörld x",
        ] {
            let mut p = PromptStats::default();
            p.add_text(text);
            assert_eq!(p.token_hashes.len() as u32, count_tokens(text), "{text}");
        }
    }

    #[test]
    fn output_length_rule() {
        assert_eq!(
            plan_output(Some(7), 0, None, 16, 1),
            OutputPlan {
                tokens: 7,
                finish_reason: "length"
            }
        );
        assert_eq!(plan_output(Some(7), 0, Some(true), 16, 1).tokens, 7);
        assert_eq!(plan_output(None, 0, Some(true), 16, 1).tokens, 16);
        for h in 0..200 {
            let p = plan_output(Some(10), 4, Some(false), 16, h);
            assert!((4..=10).contains(&p.tokens));
            assert_eq!(p.finish_reason == "length", p.tokens == 10);
            let q = plan_output(None, 0, None, 16, h);
            assert!((1..=16).contains(&q.tokens));
        }
    }

    #[test]
    fn words_are_json_safe_and_seeded() {
        assert!(WORDS
            .iter()
            .all(|w| w.starts_with(' ') && w[1..].bytes().all(|b| b.is_ascii_lowercase())));
        let a: Vec<_> = (0..20).map(|i| word(answer_seed(1, 99), i)).collect();
        let b: Vec<_> = (0..20).map(|i| word(answer_seed(1, 99), i)).collect();
        let c: Vec<_> = (0..20).map(|i| word(answer_seed(2, 99), i)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
