//! The server's shared state: options, the latency model, decode slots and their queue, metrics
//! and the recorder. Slots are handed out as guards so a dropped request (client gone) can never
//! leak one.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::capacity::{LatencyModel, Slots};
use super::energy::EnergyMeter;
use super::metrics::{Load, Metrics};
use super::prefix_cache::PrefixCache;
use super::record::Recorder;
use super::Options;
use crate::io::clock::Clock;
use crate::io::tokenizer::Tokenizer;

/// Notional KV-cache tokens per decode slot (for `vllm:kv_cache_usage_perc`).
pub const KV_TOKENS_PER_SLOT: u64 = 4096;

pub struct Engine {
    pub opts: Options,
    pub model: LatencyModel,
    slots: Mutex<Slots<oneshot::Sender<()>>>,
    running: AtomicUsize,
    waiting: AtomicUsize,
    kv_tokens: AtomicU64,
    pub metrics: Metrics,
    pub recorder: Option<Recorder>,
    /// `--prefix-cache-tokens`: the prefix cache (None: off).
    pub prefix_cache: Option<PrefixCache>,
    pub clock: Clock,
    seq: AtomicU64,
    /// Distinguishes ids across server runs.
    run_tag: u32,
    pub served_model_json: String,
    /// The simulated GPU's energy counter (`/dcgm/metrics`).
    energy: EnergyMeter,
    /// `--tokenizer`: the model's tokenizer with its chat template (chat prompts are counted
    /// through it, [`Engine::chat_prompt_tokens`]).
    pub tokenizer: Option<Tokenizer>,
}

/// `--tokenizer SPEC` with its chat template: one without a template cannot count a chat prompt as
/// the server would (vLLM refuses chat requests then), so it is refused.
fn load_tokenizer(spec: &str) -> anyhow::Result<Tokenizer> {
    let mut tok = Tokenizer::load(spec)?;
    if tok.apply_chat_template()?.is_some() {
        anyhow::bail!("--tokenizer {spec}: it has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja): give the folder of a model that has one");
    }
    Ok(tok)
}

impl Engine {
    /// A chat request's prompt tokens as vLLM counts them: its `messages` through
    /// the `--tokenizer`'s chat template with the generation prompt, encoded without added special
    /// tokens. None without `--tokenizer`, for a body without messages, or when the template
    /// refuses them (the characters/4 rule stands).
    pub fn chat_prompt_tokens(&self, body: &[u8]) -> Option<u32> {
        let tok = self.tokenizer.as_ref()?;
        let payload: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
        let n = crate::io::chat_payload::templated_isl(tok, &payload)?;
        Some(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub fn new(opts: Options) -> anyhow::Result<Engine> {
        let recorder = match &opts.record {
            Some(p) => Some(Recorder::create(p)?),
            None => None,
        };
        let tokenizer = opts.tokenizer.as_deref().map(load_tokenizer).transpose()?;
        let clock = Clock::new();
        Ok(Engine {
            tokenizer,
            model: LatencyModel::from_ms(
                opts.ttft_ms,
                opts.itl_ms,
                opts.prefill_ms_per_token,
                opts.itl_per_running_ms,
                opts.jitter_cv,
            ),
            slots: Mutex::new(Slots::new(opts.max_batch)),
            running: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            kv_tokens: AtomicU64::new(0),
            metrics: Metrics::default(),
            recorder,
            prefix_cache: PrefixCache::new(opts.prefix_cache_block_size, opts.prefix_cache_tokens),
            run_tag: (super::tokens::mix64(clock.now_ns()) >> 32) as u32,
            energy: EnergyMeter::new(clock.now_ns()),
            clock,
            seq: AtomicU64::new(0),
            served_model_json: super::protocol::json_str(&opts.served_model_name),
            opts,
        })
    }

    /// The prompt's tokens served by the prefix cache (None when it is off), counted in vLLM's
    /// `prefix_cache_queries` / `prefix_cache_hits`.
    pub fn prefix_cached(&self, token_hashes: &[u64]) -> Option<u32> {
        let cache = self.prefix_cache.as_ref()?;
        let hit = cache.admit(token_hashes);
        self.metrics
            .prefix_cache_queries
            .fetch_add(token_hashes.len() as u64, Relaxed);
        self.metrics.prefix_cache_hits.fetch_add(hit as u64, Relaxed);
        Some(hit)
    }

    /// Arrival number of the next request (seeds its random stream).
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Relaxed)
    }

    /// `chatcmpl-…`/`cmpl-…` id for arrival `seq`.
    pub fn request_id(&self, prefix: &str, seq: u64) -> String {
        format!("{prefix}-{:08x}{seq:024x}", self.run_tag)
    }

    pub fn running(&self) -> usize {
        self.running.load(Relaxed)
    }

    pub fn load(&self) -> Load {
        Load {
            running: self.running.load(Relaxed),
            waiting: self.waiting.load(Relaxed),
            kv_tokens: self.kv_tokens.load(Relaxed),
            kv_capacity: KV_TOKENS_PER_SLOT
                * if self.opts.max_batch == 0 {
                    256
                } else {
                    self.opts.max_batch as u64
                },
            max_batch: self.opts.max_batch,
        }
    }

    /// Energy used since start, mJ (the integral of the simulated power up to now).
    pub fn energy_mj(&self) -> f64 {
        let _s = self.slots.lock().unwrap();
        self.energy.advance(
            self.clock.now_ns(),
            super::energy::power_w(self.load().utilization()),
        )
    }

    /// Integrates the power drawn so far; called under the slots lock before the batch changes.
    fn meter_energy(&self) {
        self.energy.advance(
            self.clock.now_ns(),
            super::energy::power_w(self.load().utilization()),
        );
    }

    /// Takes a decode slot now, or joins the queue.
    pub fn acquire(self: &Arc<Self>) -> Admission {
        let mut s = self.slots.lock().unwrap();
        if s.try_admit() {
            self.meter_energy();
            self.running.store(s.running(), Relaxed);
            Admission::Now(Slot {
                eng: self.clone(),
                kv: 0,
            })
        } else {
            let (tx, rx) = oneshot::channel();
            s.enqueue(tx);
            self.waiting.store(s.waiting(), Relaxed);
            Admission::Wait(Waiting {
                rx,
                eng: Some(self.clone()),
            })
        }
    }

    fn release(&self) {
        let mut s = self.slots.lock().unwrap();
        self.meter_energy();
        while let Some(w) = s.release() {
            if w.send(()).is_ok() {
                break;
            }
        }
        self.running.store(s.running(), Relaxed);
        self.waiting.store(s.waiting(), Relaxed);
    }
}

pub enum Admission {
    Now(Slot),
    Wait(Waiting),
}

impl Admission {
    pub async fn slot(self) -> Slot {
        match self {
            Admission::Now(s) => s,
            Admission::Wait(w) => w.await,
        }
    }
}

/// A held decode slot; released (to the next waiter, if any) when dropped.
pub struct Slot {
    eng: Arc<Engine>,
    kv: u64,
}

impl Slot {
    /// Counts `n` more tokens in the KV cache while this slot is held.
    pub fn add_kv(&mut self, n: u64) {
        self.kv += n;
        self.eng.kv_tokens.fetch_add(n, Relaxed);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.eng.kv_tokens.fetch_sub(self.kv, Relaxed);
        self.eng.release();
    }
}

/// A place in the queue; resolves to a [`Slot`]. Dropping it after the slot was handed over
/// passes the slot on.
pub struct Waiting {
    rx: oneshot::Receiver<()>,
    eng: Option<Arc<Engine>>,
}

impl Future for Waiting {
    type Output = Slot;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Slot> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Pending => Poll::Pending,
            // The sender is only dropped when the engine is gone; treat it as admitted.
            Poll::Ready(_) => Poll::Ready(Slot {
                eng: self.eng.take().expect("polled after completion"),
                kv: 0,
            }),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(eng) = self.eng.take() {
            self.rx.close();
            if self.rx.try_recv().is_ok() {
                drop(Slot { eng, kv: 0 });
            }
        }
    }
}
