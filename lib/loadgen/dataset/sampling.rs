//! `--dataset-sampling-strategy`: which dataset entry request (or session) `k` takes, AIPerf 0.13's
//! samplers (`dataset_samplers.py`). `sequential` is `k mod n`; `random` is AIPerf's
//! `choice(ids)` on its `dataset.sampler.random` stream, draw by draw (the same entries as AIPerf
//! for the same seed); `shuffle` is a Python `random.shuffle` of the ids on the
//! `dataset.sampler.shuffle` stream, reshuffled after each pass (AIPerf shuffles with NumPy, so
//! its order differs; every pass still sends every entry once). The draws are kept in order of
//! `k`, so workers that claim request numbers concurrently get the same entries as one would.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::contract::settings::SamplingStrategy;
use crate::loadgen::py_random::PyRandom;

/// Draws kept before the oldest half is dropped (requests are claimed in about increasing order).
const WINDOW: usize = 1 << 20;

/// Maps a request (or session) number to a dataset entry.
pub struct Sampler {
    n: u64,
    draws: Option<Mutex<Draws>>,
}

/// The draws made so far: `kept[i]` is the entry of number `start + i`.
struct Draws {
    strategy: SamplingStrategy,
    seed: u64,
    rng: PyRandom,
    start: u64,
    kept: VecDeque<u32>,
    /// Shuffle: the current permutation and the next position in it.
    order: Vec<u32>,
    at: usize,
}

impl Sampler {
    /// A sampler over `n` (>= 1) entries, seeded by `--random-seed`.
    pub fn new(strategy: SamplingStrategy, n: usize, seed: u64) -> Sampler {
        let draws = (strategy != SamplingStrategy::Sequential && n > 1)
            .then(|| Mutex::new(Draws::fresh(strategy, n, seed)));
        Sampler {
            n: n.max(1) as u64,
            draws,
        }
    }

    /// The entry request (or session) `k` takes.
    pub fn pick(&self, k: u64) -> usize {
        match &self.draws {
            None => (k % self.n) as usize,
            Some(m) => m
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(k, self.n as usize),
        }
    }
}

impl Draws {
    fn fresh(strategy: SamplingStrategy, n: usize, seed: u64) -> Draws {
        let stream = match strategy {
            SamplingStrategy::Shuffle => "dataset.sampler.shuffle",
            _ => "dataset.sampler.random",
        };
        Draws {
            strategy,
            seed,
            rng: PyRandom::derived(seed, stream),
            start: 0,
            kept: VecDeque::new(),
            order: (0..n as u32).collect(),
            at: n,
        }
    }

    fn get(&mut self, k: u64, n: usize) -> usize {
        if k < self.start {
            // Older than the window (never in practice): replay the stream from the start.
            *self = Draws::fresh(self.strategy, n, self.seed);
        }
        while self.start + self.kept.len() as u64 <= k {
            let next = self.next(n);
            self.kept.push_back(next);
            if self.kept.len() > WINDOW && k - self.start > (WINDOW / 2) as u64 {
                self.kept.drain(..WINDOW / 2);
                self.start += (WINDOW / 2) as u64;
            }
        }
        self.kept[(k - self.start) as usize] as usize
    }

    fn next(&mut self, n: usize) -> u32 {
        match self.strategy {
            SamplingStrategy::Shuffle => {
                if self.at >= n {
                    python_shuffle(&mut self.rng, &mut self.order);
                    self.at = 0;
                }
                self.at += 1;
                self.order[self.at - 1]
            }
            _ => self.rng.randbelow(n as u32),
        }
    }
}

/// Python's `random.shuffle`: for `i` from the end, swap with `randbelow(i + 1)`.
pub fn python_shuffle<T>(rng: &mut PyRandom, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.randbelow(i as u32 + 1) as usize;
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_wraps_in_order() {
        let s = Sampler::new(SamplingStrategy::Sequential, 3, 9);
        assert_eq!(
            (0..7).map(|k| s.pick(k)).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1, 2, 0]
        );
    }

    #[test]
    fn shuffle_sends_every_entry_once_per_pass_and_is_seeded() {
        let s = Sampler::new(SamplingStrategy::Shuffle, 5, 7);
        let picks: Vec<usize> = (0..10).map(|k| s.pick(k)).collect();
        for pass in picks.chunks(5) {
            let mut p = pass.to_vec();
            p.sort();
            assert_eq!(p, [0, 1, 2, 3, 4], "{picks:?}");
        }
        assert_ne!(picks[..5], [0, 1, 2, 3, 4], "shuffled");
        let again = Sampler::new(SamplingStrategy::Shuffle, 5, 7);
        // Asked out of order (as concurrent workers may), the same entries.
        assert_eq!(
            (0..10).rev().map(|k| again.pick(k)).rev().collect::<Vec<_>>(),
            picks
        );
        let other = Sampler::new(SamplingStrategy::Shuffle, 5, 8);
        assert_ne!((0..10).map(|k| other.pick(k)).collect::<Vec<_>>(), picks);
    }

    #[test]
    fn random_is_aiperf_choice_on_its_stream() {
        // AIPerf: Random(child_seed(seed, "dataset.sampler.random")).choice(ids), draw by draw.
        let s = Sampler::new(SamplingStrategy::Random, 10, 42);
        let mut rng = PyRandom::derived(42, "dataset.sampler.random");
        for k in 0..50 {
            assert_eq!(s.pick(k), rng.randbelow(10) as usize);
        }
        // With replacement: 50 draws of 10 entries repeat one within some pass of 10.
        let picks: Vec<usize> = (0..50).map(|k| s.pick(k)).collect();
        assert!(picks.chunks(10).any(|w| {
            let mut x = w.to_vec();
            x.sort();
            x.dedup();
            x.len() < 10
        }));
    }
}
