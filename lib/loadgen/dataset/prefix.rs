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
//! The text is sweepkit's own (random single-token words of the client tokenizer, exactly the
//! asked number of tokens), deterministic per seed: the same `--random-seed` gives the same bytes,
//! another seed other bytes. Byte equality with AIPerf's Shakespeare corpus is not attempted.

use anyhow::bail;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::loadgen::dataset::prompts::{mix, text_of_tokens};
use crate::loadgen::dataset::tokenizer::Tokenizer;
use crate::loadgen::options::Workload;

/// Streams of the seed, one per kind of shared text, so changing one flag never changes another's text.
const SYSTEM_STREAM: u64 = 0x5157_0000;
const POOL_STREAM: u64 = 0x9001_0000;
const CHOICE_STREAM: u64 = 0xC401_0000;
const CONTEXT_STREAM: u64 = 0xC7C7_0000;

/// The run's shared texts.
#[derive(Debug, Clone, Default)]
pub struct SharedText {
    /// The system prompt every request carries, if any.
    pub system: Option<std::sync::Arc<str>>,
    /// The prefix pool (empty: no pool).
    pub pool: Vec<String>,
    seed: u64,
    context_length: u64,
}

impl SharedText {
    /// Builds the system prompt and the pool for `seed`; refuses a shared text longer than the
    /// model's context when the tokenizer knows it (`model_max_length`).
    pub fn new(w: &Workload, seed: u64, tok: &Tokenizer) -> anyhow::Result<SharedText> {
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
            (None, n) => Some(text_of_tokens(tok, &mut rng(seed, SYSTEM_STREAM, 0), n)?.into()),
        };
        let pool = if w.prefix_length == 0 {
            Vec::new()
        } else {
            (0..w.prefix_pool_size)
                .map(|i| text_of_tokens(tok, &mut rng(seed, POOL_STREAM, i), w.prefix_length))
                .collect::<anyhow::Result<_>>()?
        };
        Ok(SharedText {
            system,
            pool,
            seed,
            context_length: w.user_context_length,
        })
    }

    /// The pool prefix conversation `c` starts with (drawn once per conversation), if there is a pool.
    pub fn prefix_for(&self, c: u64) -> Option<&str> {
        if self.pool.is_empty() {
            return None;
        }
        let i = rng(self.seed, CHOICE_STREAM, c).random_range(0..self.pool.len());
        Some(&self.pool[i])
    }

    /// Conversation `c`'s user context, if there is one.
    pub fn user_context(&self, tok: &Tokenizer, c: u64) -> anyhow::Result<Option<String>> {
        match self.context_length {
            0 => Ok(None),
            n => Ok(Some(text_of_tokens(
                tok,
                &mut rng(self.seed, CONTEXT_STREAM, c),
                n,
            )?)),
        }
    }
}

fn rng(seed: u64, stream: u64, k: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed ^ stream.wrapping_mul(0x9E37_79B9), k))
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
        let a = SharedText::new(&workload(), 7, &tok).unwrap();
        let b = SharedText::new(&workload(), 7, &tok).unwrap();
        let c = SharedText::new(&workload(), 8, &tok).unwrap();
        assert_eq!(tok.count(a.system.as_deref().unwrap()), 64);
        assert_eq!(a.system, b.system);
        assert_ne!(a.system, c.system);
        assert_eq!(a.pool, b.pool);
        assert_eq!(a.pool.len(), 3);
        assert!(a.pool.iter().all(|p| tok.count(p) == 40));
        assert_ne!(a.pool[0], a.pool[1]);
        let chosen: std::collections::HashSet<_> = (0..30).map(|k| a.prefix_for(k).unwrap()).collect();
        assert_eq!(chosen.len(), 3, "30 conversations draw from all 3 prefixes");
        assert_eq!(a.prefix_for(5), b.prefix_for(5));
        let ctx = a.user_context(&tok, 0).unwrap().unwrap();
        assert_eq!(tok.count(&ctx), 16);
        assert_ne!(Some(ctx), a.user_context(&tok, 1).unwrap());
        assert!(SharedText::default().prefix_for(0).is_none());
    }
}
