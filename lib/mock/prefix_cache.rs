//! `--prefix-cache-tokens`: vLLM-style automatic prefix caching, so shared prompt prefixes
//! (system prompts, a session's history) cost less prefill and show up as `cached_tokens`.
//!
//! A prompt is cut into blocks of `--prefix-cache-block-size` tokens (mock tokens: each word's
//! 4-character pieces, see `tokens`, with message boundaries marked). Block `j` is identified by a
//! chained hash `h_j = H(h_{j-1}, tokens of block j)`, so a block matches only when everything
//! before it matches too — vLLM's rule. A prompt's cached tokens are its longest run of leading
//! blocks already in the cache, in whole blocks, never the whole prompt (as vLLM, the last token
//! is always computed). Then every full block of the prompt is cached, the least recently used
//! blocks evicted beyond the capacity. Blocks count as cached from the moment a prompt carrying
//! them arrives (vLLM: once its prefill computed them), which lets concurrent requests with the
//! same new prefix hit a little earlier than on a real server.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::tokens::mix64;

/// The cache: block size, capacity, and the blocks in LRU order.
pub struct PrefixCache {
    block: usize,
    capacity_blocks: usize,
    lru: Mutex<Lru>,
}

#[derive(Default)]
struct Lru {
    /// Block hash → last use.
    stamp: HashMap<u64, u64>,
    /// Last use → block hash (oldest first).
    order: BTreeMap<u64, u64>,
    clock: u64,
}

impl Lru {
    fn touch(&mut self, h: u64) {
        self.clock += 1;
        if let Some(old) = self.stamp.insert(h, self.clock) {
            self.order.remove(&old);
        }
        self.order.insert(self.clock, h);
    }
}

impl PrefixCache {
    /// `capacity_tokens` 0 disables the cache (None). The capacity is rounded down to whole blocks.
    pub fn new(block_tokens: usize, capacity_tokens: u64) -> Option<PrefixCache> {
        if capacity_tokens == 0 || block_tokens == 0 {
            return None;
        }
        Some(PrefixCache {
            block: block_tokens,
            capacity_blocks: (capacity_tokens / block_tokens as u64).max(1) as usize,
            lru: Mutex::new(Lru::default()),
        })
    }

    pub fn block_tokens(&self) -> usize {
        self.block
    }

    /// The chained hashes of the prompt's full blocks.
    pub fn block_hashes(&self, token_hashes: &[u64]) -> Vec<u64> {
        let mut prev = 0x9E37_79B9_7F4A_7C15u64;
        token_hashes
            .chunks_exact(self.block)
            .map(|b| {
                let mut h = prev;
                for t in b {
                    h = mix64(h ^ t);
                }
                prev = h;
                h
            })
            .collect()
    }

    /// The prompt's cached tokens (leading blocks already cached, never the last token), then
    /// caches all its full blocks.
    pub fn admit(&self, token_hashes: &[u64]) -> u32 {
        let hashes = self.block_hashes(token_hashes);
        let usable = token_hashes.len().saturating_sub(1) / self.block;
        let mut lru = self.lru.lock().unwrap();
        let hit = hashes
            .iter()
            .take(usable)
            .take_while(|h| lru.stamp.contains_key(h))
            .count();
        for h in &hashes {
            lru.touch(*h);
        }
        while lru.stamp.len() > self.capacity_blocks {
            let Some((_, h)) = lru.order.pop_first() else {
                break;
            };
            lru.stamp.remove(&h);
        }
        (hit * self.block) as u32
    }

    /// Blocks held now.
    pub fn len(&self) -> usize {
        self.lru.lock().unwrap().stamp.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::tokens::PromptStats;

    fn hashes(texts: &[&str]) -> Vec<u64> {
        let mut p = PromptStats::default();
        for t in texts {
            p.add_text(t);
        }
        p.token_hashes
    }

    /// `n` distinct one-token words.
    fn words(tag: &str, n: usize) -> String {
        (0..n).map(|i| format!(" {tag}{i:02}")).collect()
    }

    #[test]
    fn a_shared_prefix_hits_in_whole_blocks_and_never_the_last_token() {
        let c = PrefixCache::new(4, 1000).unwrap();
        let system = words("s", 10); // 10 tokens: two full blocks of 4
        let a = hashes(&[&system, &words("a", 6)]);
        let b = hashes(&[&system, &words("b", 6)]);
        assert_eq!(a.len(), 16);
        assert_eq!(c.admit(&a), 0, "a cold cache");
        assert_eq!(c.admit(&b), 8, "the two blocks inside the system prompt");
        // The same prompt again: every block but the one holding the last token.
        assert_eq!(c.admit(&a), 12);
        // A different first message changes every block after it (chained hashes).
        let d = hashes(&[&words("x", 10), &words("a", 6)]);
        assert_eq!(c.admit(&d), 0);
        // Message boundaries count: the same words split differently are another prompt.
        let joined = hashes(&[&format!("{system}{}", words("a", 6))]);
        assert_eq!(joined.len(), 16);
        assert_ne!(c.block_hashes(&joined)[2], c.block_hashes(&a)[2]);
    }

    #[test]
    fn least_recently_used_blocks_go_first() {
        let c = PrefixCache::new(4, 8).unwrap(); // two blocks
        let a = hashes(&[&words("a", 9)]);
        let b = hashes(&[&words("b", 9)]);
        assert_eq!(c.admit(&a), 0);
        assert_eq!(c.len(), 2);
        assert_eq!(c.admit(&b), 0, "b evicts a");
        assert_eq!(c.len(), 2);
        assert_eq!(c.admit(&a), 0, "a was evicted");
        assert_eq!(c.admit(&a), 8);
        assert!(PrefixCache::new(16, 0).is_none(), "capacity 0: no cache");
    }
}
