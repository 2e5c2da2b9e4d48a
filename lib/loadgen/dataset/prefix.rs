//! Shared prompt text, placed as AIPerf 0.13 places it (`--prefix-prompt-*`,
//! `--shared-system-prompt-length`, `--user-context-prompt-length`):
//!
//! - a **prefix pool** of `--prefix-prompt-pool-size` texts of `--prefix-prompt-length` tokens;
//!   each conversation draws one (once, when the dataset is built) and its first turn's user
//!   message starts with it, in the same message (the ISL grows by the prefix length);
//! - one **shared system prompt** for every request of the run, the first (`system`) message of
//!   every turn: synthetic text of `--shared-system-prompt-length` tokens, or `--system-prompt`'s
//!   verbatim text (its tokens add to the ISL, as in AIPerf);
//! - one **user context** per conversation, a separate user message after the system prompt, on
//!   every turn of that conversation.
//!
//! The texts are AIPerf's: windows of its corpus drawn from its `dataset.prompt.corpus` stream
//! ([`Streams`]) in AIPerf's order — the shared system prompt first (AIPerf makes it when its
//! prompt generator starts), then the pool's prefixes, then every conversation's turns, then the
//! user contexts in conversation order (AIPerf adds them once the conversations are made) — and
//! each conversation's prefix is AIPerf's `choice()` on its `dataset.prompt.prefix` stream. So
//! the same seed and tokenizer give AIPerf's bytes.

use std::sync::Arc;

use anyhow::bail;

use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::corpus::Streams;
use crate::loadgen::dataset::prompts::corpus_text;
use crate::loadgen::options::Workload;
use crate::loadgen::py_random::PyRandom;

/// The run's shared texts.
pub struct SharedText {
    /// The system prompt every request carries, if any.
    pub system: Option<Arc<str>>,
    /// The prefix pool (empty: no pool).
    pub pool: Vec<String>,
    /// AIPerf's `dataset.prompt.prefix` stream: which prefix each conversation takes.
    choice: PyRandom,
    context_length: u64,
}

impl SharedText {
    /// Builds the system prompt and the pool from `streams` (the run's, before any prompt is
    /// drawn); refuses a shared text longer than the model's context when the tokenizer knows it
    /// (`model_max_length`).
    pub fn new(
        w: &Workload,
        seed: u64,
        tok: &Tokenizer,
        streams: &mut Streams,
    ) -> anyhow::Result<SharedText> {
        if let Some(max) = tok.model_max_length() {
            for (flag, n) in [
                ("--shared-system-prompt-length", w.shared_system_length),
                ("--prefix-prompt-length", w.prefix_length),
                ("--user-context-prompt-length", w.user_context_length),
            ] {
                if n > max {
                    bail!("{flag} {n}: longer than the model's context of {max} tokens (model_max_length in {}'s tokenizer_config.json); give a shorter prefix", tok.name());
                }
            }
            let together = w.shared_system_length + w.user_context_length;
            if together > max {
                bail!("--shared-system-prompt-length + --user-context-prompt-length = {together} tokens: longer than the model's context of {max} tokens (model_max_length in {}'s tokenizer_config.json)", tok.name());
            }
        }
        let system = match (&w.system_prompt, w.shared_system_length) {
            (Some(verbatim), _) => Some(verbatim.clone()),
            (None, 0) => None,
            (None, n) => Some(corpus_text(streams, tok, n, None)?.into()),
        };
        let pool = if w.prefix_length == 0 {
            Vec::new()
        } else {
            (0..w.prefix_pool_size)
                .map(|_| corpus_text(streams, tok, w.prefix_length, None))
                .collect::<anyhow::Result<_>>()?
        };
        Ok(SharedText {
            system,
            pool,
            choice: PyRandom::derived(seed, "dataset.prompt.prefix"),
            context_length: w.user_context_length,
        })
    }

    /// The pool prefix the next conversation starts with (AIPerf draws one per conversation, in
    /// order, when it makes its first turn), if there is a pool.
    pub fn next_prefix(&mut self) -> Option<&str> {
        if self.pool.is_empty() {
            return None;
        }
        let i = self.choice.randbelow(self.pool.len() as u32) as usize;
        Some(&self.pool[i])
    }

    /// The next conversation's user context, if there is one: drawn from `streams` after every
    /// conversation's turns, one per conversation in order (AIPerf's `_finalize_conversations`).
    pub fn user_context(&self, tok: &Tokenizer, streams: &mut Streams) -> anyhow::Result<Option<String>> {
        match self.context_length {
            0 => Ok(None),
            n => corpus_text(streams, tok, n, None).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> Workload {
        Workload {
            prefix_pool_size: 3,
            prefix_length: 40,
            shared_system_length: 64,
            user_context_length: 16,
            ..Default::default()
        }
    }

    #[test]
    fn shared_text_is_exact_deterministic_per_seed_and_chosen_per_conversation() {
        let tok = Tokenizer::load("builtin").unwrap();
        let new = |seed| SharedText::new(&workload(), seed, &tok, &mut Streams::new(seed)).unwrap();
        let (mut a, b, c) = (new(7), new(7), new(8));
        assert_eq!(tok.count(a.system.as_deref().unwrap()), 64);
        assert_eq!(a.system, b.system);
        assert_ne!(a.system, c.system);
        assert_eq!(a.pool, b.pool);
        assert_eq!(a.pool.len(), 3);
        assert!(a.pool.iter().all(|p| tok.count(p) == 40));
        assert_ne!(a.pool[0], a.pool[1]);
        // AIPerf's order on the corpus stream: the system prompt, then the pool.
        let mut s = Streams::new(7);
        assert_eq!(
            a.system.as_deref(),
            Some(corpus_text(&mut s, &tok, 64, None).unwrap().as_str())
        );
        assert_eq!(a.pool[0], corpus_text(&mut s, &tok, 40, None).unwrap());
        // Prefixes: choice() on dataset.prompt.prefix, one per conversation.
        let mut pick = PyRandom::derived(7, "dataset.prompt.prefix");
        let pool = a.pool.clone();
        let chosen: Vec<String> = (0..30).map(|_| a.next_prefix().unwrap().to_string()).collect();
        let want: Vec<String> = (0..30)
            .map(|_| pool[pick.randbelow(3) as usize].clone())
            .collect();
        assert_eq!(chosen, want);
        assert_eq!(chosen.iter().collect::<std::collections::HashSet<_>>().len(), 3);
        let mut s = Streams::new(7);
        let ctx = a.user_context(&tok, &mut s).unwrap().unwrap();
        assert_eq!(tok.count(&ctx), 16);
        assert_ne!(
            Some(ctx),
            a.user_context(&tok, &mut s).unwrap(),
            "each draw is the next window"
        );
    }
}
