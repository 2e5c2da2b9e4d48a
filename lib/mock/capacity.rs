//! The latency and capacity model, as plain functions of time so it runs the same on the real
//! clock (the server) and on a simulated one (the tests and [`simulate`]).
//!
//! A request takes one of `max_batch` decode slots; beyond that it waits in FIFO order (that wait
//! is `vllm:num_requests_waiting`). Once admitted:
//! - first token at `admitted + (ttft + prefill_per_token * prompt_tokens) * J`,
//! - token `i+1` at `due(i) + (itl + itl_per_running * (running - 1)) * J`, where `running` is the
//!   number of requests holding a slot when token `i` is due and `J` is a lognormal factor with mean 1
//!   and coefficient of variation `jitter_cv` (`J = 1` when the cv is 0), drawn per request for the
//!   first token and per token after that, from a generator seeded by `--seed` and the request's
//!   arrival number.
//!
//! Every deadline is absolute (computed from the previous deadline, never from when a sleep
//! ended), so late wake-ups never accumulate. With `max_batch = B` and output length `n` the
//! server's ceiling is `B / (ttft + prefill*isl + (n-1) * (itl + itl_per_running*(B-1)))` requests
//! per second: throughput grows with concurrency up to `B`, then flattens while TTFT climbs by the
//! queueing delay (the knee).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// Latency parameters, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct LatencyModel {
    pub ttft_ns: f64,
    pub itl_ns: f64,
    pub prefill_ns_per_token: f64,
    pub itl_per_running_ns: f64,
    /// `sigma` of the underlying normal, from the cv: `sqrt(ln(1 + cv^2))`; 0 = no jitter.
    sigma: f64,
}

impl LatencyModel {
    /// From the CLI's millisecond values.
    pub fn from_ms(
        ttft_ms: f64,
        itl_ms: f64,
        prefill_ms_per_token: f64,
        itl_per_running_ms: f64,
        jitter_cv: f64,
    ) -> Self {
        LatencyModel {
            ttft_ns: ttft_ms * 1e6,
            itl_ns: itl_ms * 1e6,
            prefill_ns_per_token: prefill_ms_per_token * 1e6,
            itl_per_running_ns: itl_per_running_ms * 1e6,
            sigma: (1.0 + jitter_cv * jitter_cv).ln().sqrt(),
        }
    }

    /// True when every delay is zero: the server then never sleeps.
    pub fn is_zero(&self) -> bool {
        self.ttft_ns == 0.0
            && self.itl_ns == 0.0
            && self.prefill_ns_per_token == 0.0
            && self.itl_per_running_ns == 0.0
    }

    /// Lognormal factor with mean 1: `exp(sigma*Z - sigma^2/2)`.
    pub fn jitter(&self, rng: &mut SmallRng) -> f64 {
        if self.sigma == 0.0 {
            return 1.0;
        }
        let z: f64 = StandardNormal.sample(rng);
        (self.sigma * z - self.sigma * self.sigma / 2.0).exp()
    }

    /// Admission to first token, ns.
    pub fn first_token_ns(&self, prompt_tokens: u32, rng: &mut SmallRng) -> u64 {
        let base = self.ttft_ns + self.prefill_ns_per_token * prompt_tokens as f64;
        if base == 0.0 {
            return 0;
        }
        (base * self.jitter(rng)).round() as u64
    }

    /// Gap to the next token while `running` requests hold slots, ns.
    pub fn itl_ns(&self, running: usize, rng: &mut SmallRng) -> u64 {
        let base = self.itl_ns + self.itl_per_running_ns * running.saturating_sub(1) as f64;
        if base == 0.0 {
            return 0;
        }
        (base * self.jitter(rng)).round() as u64
    }
}

/// The per-request random stream: seeded by `--seed` and the arrival number.
pub fn request_rng(seed: u64, arrival: u64) -> SmallRng {
    SmallRng::seed_from_u64(super::tokens::mix64(seed ^ super::tokens::mix64(arrival)))
}

/// Uniform draw in [0, 1) (for fault decisions).
pub fn uniform(rng: &mut SmallRng) -> f64 {
    rng.random::<f64>()
}

/// Decode slots and the FIFO queue of waiters (`T` is whatever wakes a waiter).
#[derive(Debug)]
pub struct Slots<T> {
    max: usize,
    running: usize,
    waiting: VecDeque<T>,
}

impl<T> Slots<T> {
    /// `max = 0` means unlimited.
    pub fn new(max: usize) -> Self {
        Slots {
            max: if max == 0 { usize::MAX } else { max },
            running: 0,
            waiting: VecDeque::new(),
        }
    }

    /// Takes a slot if one is free.
    pub fn try_admit(&mut self) -> bool {
        if self.running < self.max && self.waiting.is_empty() {
            self.running += 1;
            true
        } else {
            false
        }
    }

    pub fn enqueue(&mut self, waiter: T) {
        self.waiting.push_back(waiter);
    }

    /// Frees a slot. If someone waits, the slot passes straight to them (returned, still counted
    /// as running); if waking them fails, call `release` again.
    pub fn release(&mut self) -> Option<T> {
        match self.waiting.pop_front() {
            Some(w) => Some(w),
            None => {
                self.running = self.running.saturating_sub(1);
                None
            }
        }
    }

    pub fn running(&self) -> usize {
        self.running
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

/// A closed-loop load on the simulated clock: `concurrency` clients, each sending its next
/// request the instant the previous one finishes.
#[derive(Debug, Clone, Copy)]
pub struct SimLoad {
    pub max_batch: usize,
    pub concurrency: usize,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    /// Requests completing at or before this simulated time count.
    pub horizon_ns: u64,
    pub seed: u64,
}

/// What the simulated clients saw.
#[derive(Debug, Clone, Default)]
pub struct SimReport {
    pub completed: u64,
    pub requests_per_s: f64,
    pub output_tokens_per_s: f64,
    /// Arrival to first token (queueing included), mean over completed requests.
    pub mean_ttft_ns: f64,
    pub max_ttft_ns: u64,
    /// Mean gap between consecutive tokens of a request.
    pub mean_itl_ns: f64,
    pub max_running: usize,
    pub max_waiting: usize,
    /// Waiting count observed at every arrival (the queue a new request joins).
    pub waiting_at_arrival: Vec<usize>,
}

struct SimReq {
    client: usize,
    arrival: u64,
    first: Option<u64>,
    last: u64,
    sent: u32,
    rng: SmallRng,
}

/// Runs the model on a simulated clock with the same [`Slots`] and [`LatencyModel`] the server uses.
pub fn simulate(model: &LatencyModel, load: &SimLoad) -> SimReport {
    #[derive(Clone, Copy)]
    enum Ev {
        Arrive(usize),
        Token(usize),
    }
    let mut events: BinaryHeap<Reverse<(u64, u64, usize, bool)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |events: &mut BinaryHeap<_>, t: u64, ev: Ev| {
        seq += 1;
        let (i, tok) = match ev {
            Ev::Arrive(c) => (c, false),
            Ev::Token(r) => (r, true),
        };
        events.push(Reverse((t, seq, i, tok)));
    };
    let mut slots: Slots<usize> = Slots::new(load.max_batch);
    let mut reqs: Vec<SimReq> = Vec::new();
    let mut rep = SimReport::default();
    let (mut ttft_sum, mut itl_sum, mut itl_n) = (0f64, 0f64, 0u64);
    for c in 0..load.concurrency {
        push(&mut events, 0, Ev::Arrive(c));
    }
    while let Some(Reverse((t, _, i, is_token))) = events.pop() {
        if t > load.horizon_ns {
            break;
        }
        if !is_token {
            let r = reqs.len();
            reqs.push(SimReq {
                client: i,
                arrival: t,
                first: None,
                last: t,
                sent: 0,
                rng: request_rng(load.seed, r as u64),
            });
            rep.waiting_at_arrival.push(slots.waiting());
            if slots.try_admit() {
                let d = model.first_token_ns(load.prompt_tokens, &mut reqs[r].rng);
                push(&mut events, t + d, Ev::Token(r));
            } else {
                slots.enqueue(r);
            }
        } else {
            let req = &mut reqs[i];
            req.sent += 1;
            if req.first.is_none() {
                req.first = Some(t);
            } else {
                itl_sum += (t - req.last) as f64;
                itl_n += 1;
            }
            req.last = t;
            if req.sent >= load.output_tokens.max(1) {
                rep.completed += 1;
                let ttft = req.first.unwrap() - req.arrival;
                ttft_sum += ttft as f64;
                rep.max_ttft_ns = rep.max_ttft_ns.max(ttft);
                let client = req.client;
                if let Some(w) = slots.release() {
                    let d = model.first_token_ns(load.prompt_tokens, &mut reqs[w].rng);
                    push(&mut events, t + d, Ev::Token(w));
                }
                push(&mut events, t, Ev::Arrive(client));
            } else {
                let running = slots.running();
                let d = model.itl_ns(running, &mut reqs[i].rng);
                push(&mut events, t + d, Ev::Token(i));
            }
        }
        rep.max_running = rep.max_running.max(slots.running());
        rep.max_waiting = rep.max_waiting.max(slots.waiting());
    }
    let secs = load.horizon_ns as f64 / 1e9;
    rep.requests_per_s = rep.completed as f64 / secs;
    rep.output_tokens_per_s = rep.completed as f64 * load.output_tokens.max(1) as f64 / secs;
    rep.mean_ttft_ns = if rep.completed > 0 {
        ttft_sum / rep.completed as f64
    } else {
        0.0
    };
    rep.mean_itl_ns = if itl_n > 0 { itl_sum / itl_n as f64 } else { 0.0 };
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    // ttft 20 ms, itl 5 ms, prefill 0.01 ms/token, +0.25 ms of ITL per extra running request.
    fn model() -> LatencyModel {
        LatencyModel::from_ms(20.0, 5.0, 0.01, 0.25, 0.0)
    }

    fn load(max_batch: usize, concurrency: usize) -> SimLoad {
        SimLoad {
            max_batch,
            concurrency,
            prompt_tokens: 100,
            output_tokens: 11,
            horizon_ns: 0,
            seed: 7,
        }
    }

    /// e2e of one request while `r` requests run: prefill + (n-1) * itl(r), in ns.
    fn e2e_ns(r: u64) -> u64 {
        (20_000_000 + 100 * 10_000) + 10 * (5_000_000 + 250_000 * (r - 1))
    }

    #[test]
    fn below_the_knee_throughput_grows_with_concurrency_exactly() {
        for c in [1u64, 2, 4, 8] {
            let e2e = e2e_ns(c);
            let mut l = load(8, c as usize);
            l.horizon_ns = 50 * e2e; // exactly 50 cycles
            let r = simulate(&model(), &l);
            assert_eq!(r.completed, 50 * c, "concurrency {c}");
            assert_eq!(r.max_waiting, 0);
            assert_eq!(r.max_running, c as usize);
            assert_eq!(r.mean_ttft_ns, 21_000_000.0);
            assert_eq!(r.mean_itl_ns, (5_000_000 + 250_000 * (c - 1)) as f64);
        }
    }

    #[test]
    fn past_the_knee_throughput_is_the_ceiling_and_the_rest_queue() {
        let b = 8u64;
        let e2e = e2e_ns(b);
        let ceiling = b as f64 / (e2e as f64 / 1e9);
        for c in [16u64, 24, 64] {
            let mut l = load(b as usize, c as usize);
            l.horizon_ns = 60 * e2e;
            let r = simulate(&model(), &l);
            // The first cycle admits B, then B finish every e2e: 60 cycles -> 60*B completions.
            assert_eq!(r.completed, 60 * b, "concurrency {c}");
            assert!((r.requests_per_s - ceiling).abs() < 1e-9 * ceiling);
            assert_eq!(r.max_running, b as usize);
            assert_eq!(r.max_waiting, (c - b) as usize);
            // In steady state the B finishers leave (the queue shrinks to c - 2B) and re-arrive one by
            // one behind it, so arrivals see c - 2B ..= c - B - 1 requests ahead of them.
            let steady = &r.waiting_at_arrival[c as usize..];
            assert_eq!(*steady.iter().min().unwrap(), (c - 2 * b) as usize);
            assert_eq!(*steady.iter().max().unwrap(), (c - b - 1) as usize);
            // ITL stays at the full-batch value; TTFT grows by whole cycles of queueing.
            assert_eq!(r.mean_itl_ns, (5_000_000 + 250_000 * (b - 1)) as f64);
            let waits = c / b - 1; // cycles a request spends queued in steady state
            assert_eq!(r.max_ttft_ns, waits * e2e + 21_000_000, "concurrency {c}");
        }
    }

    #[test]
    fn the_default_model_bends_at_sixteen() {
        // mock-llm's defaults at AIPerf's default ISL 550 / OSL 150 (numbers quoted in --help).
        let o = crate::mock::Options::default();
        let m = LatencyModel::from_ms(
            o.ttft_ms,
            o.itl_ms,
            o.prefill_ms_per_token,
            o.itl_per_running_ms,
            0.0,
        );
        let full_ns = 31_000_000 + 149 * 8_750_000; // 1.33475 s per request in a full batch
        let run = |c: usize| {
            let l = SimLoad {
                max_batch: o.max_batch,
                concurrency: c,
                prompt_tokens: 550,
                output_tokens: 150,
                horizon_ns: 30 * full_ns,
                seed: 0,
            };
            simulate(&m, &l)
        };
        let rps: Vec<f64> = [1, 2, 4, 8, 16, 32, 64]
            .iter()
            .map(|&c| run(c).requests_per_s)
            .collect();
        assert!(rps.windows(2).take(4).all(|w| w[1] > 1.5 * w[0]), "{rps:?}");
        let ceiling = 16.0 / (full_ns as f64 / 1e9);
        assert!((rps[4] - ceiling).abs() < 1e-9, "{} vs {ceiling}", rps[4]);
        assert_eq!(rps[4], rps[5]);
        assert_eq!(rps[5], rps[6]);
        // Alone: 31 ms + 149 × 5 ms = 0.776 s per request (1.29/s), counted over the horizon.
        let h = 30 * full_ns;
        assert_eq!(rps[0], (h / 776_000_000) as f64 / (h as f64 / 1e9));
        // Past the knee TTFT grows by one full-batch request time per 16 extra clients.
        let (t32, t64) = (run(32).max_ttft_ns, run(64).max_ttft_ns);
        assert_eq!(t64 - t32, 2 * full_ns);
    }

    #[test]
    fn unlimited_batch_never_queues() {
        let mut l = load(0, 100);
        l.horizon_ns = 10 * e2e_ns(100);
        let r = simulate(&model(), &l);
        assert_eq!(r.completed, 1000);
        assert_eq!(r.max_waiting, 0);
    }

    #[test]
    fn jitter_has_mean_one_and_is_seeded() {
        let m = LatencyModel::from_ms(0.0, 1.0, 0.0, 0.0, 0.5);
        let mut a = request_rng(3, 1);
        let mut b = request_rng(3, 1);
        let xs: Vec<u64> = (0..20_000).map(|_| m.itl_ns(1, &mut a)).collect();
        let ys: Vec<u64> = (0..20_000).map(|_| m.itl_ns(1, &mut b)).collect();
        assert_eq!(xs, ys);
        let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
        assert!((mean / 1e6 - 1.0).abs() < 0.02, "mean {mean}");
        let var = xs.iter().map(|&x| (x as f64 / 1e6 - 1.0).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((var.sqrt() - 0.5).abs() < 0.03, "cv {}", var.sqrt());
    }

    #[test]
    fn slots_hand_over_in_fifo_order() {
        let mut s: Slots<u32> = Slots::new(1);
        assert!(s.try_admit());
        assert!(!s.try_admit());
        s.enqueue(1);
        s.enqueue(2);
        assert_eq!((s.running(), s.waiting()), (1, 2));
        assert_eq!(s.release(), Some(1));
        assert_eq!(s.release(), Some(2));
        assert_eq!(s.release(), None);
        assert_eq!((s.running(), s.waiting()), (0, 0));
    }
}
