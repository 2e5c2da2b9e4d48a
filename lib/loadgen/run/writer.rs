//! The writer thread: turns each finished request into its record (metrics, JSONL), keeps the
//! tallies the run info and the verdict are made of, feeds the progress UI and watches the stop
//! constraints. The request tasks only stamp and parse; everything costly happens here.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::stop::Watchdog;
use crate::contract::records::Phase;
use crate::io::clock::Clock;
use crate::io::jsonl::JsonlWriter;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::http::rx_stamp::RxHealth;
use crate::loadgen::options::{Options, StopLimits};
use crate::loadgen::pacing::control::Control;
use crate::loadgen::pacing::send::Finished;
use crate::loadgen::record::metrics::{self, Computed};
use crate::loadgen::record::progress::Progress;
use crate::loadgen::record::run_info::Health;
use crate::loadgen::shard::Placement;

/// Per-phase tallies kept by the writer.
#[derive(Default, Clone, Copy)]
pub struct Tally {
    pub requests: u64,
    /// Sessions started (first turns sent).
    pub sessions: u64,
    pub ok: u64,
    pub errors: u64,
    pub last_end: Option<Instant>,
}

/// One worker thread's profiling requests, as the writer saw them.
#[derive(Default)]
pub struct WorkerTally {
    pub requests: u64,
    pub errors: u64,
    /// Sessions started (first turns sent).
    pub sessions: u64,
    pub health: Health,
}

/// Everything the writer counted, handed back when it ends.
#[derive(Default)]
pub struct Tallies {
    pub warmup: Tally,
    pub profiling: Tally,
    pub health: Health,
    /// Receive stamps of the profiling phase's content chunks.
    pub rx: RxHealth,
    /// The profiling phase per worker thread.
    pub per_worker: Vec<WorkerTally>,
    pub chunks: u64,
    pub first_error: Option<String>,
}

/// What the writer thread needs, named.
pub struct Writer {
    pub clock: Clock,
    pub tokenizer: Arc<Tokenizer>,
    /// `--use-server-token-count`: the server's usage counts, not the tokenizer's.
    pub use_server_token_count: bool,
    /// The endpoint produces tokens (not embeddings or rankings).
    pub produces_tokens: bool,
    pub streaming: bool,
    pub placement: Option<Placement>,
    pub progress: Progress,
    pub warmup_total: u64,
    /// The profiling phase's planned requests (None: unknown, a duration run).
    pub profiling_total: Option<u64>,
    pub limits: StopLimits,
    pub ctl: Arc<Control>,
}

impl Writer {
    /// The writer of a run with these options; `planned` profiling requests (None: unknown).
    pub fn new(
        opts: &Options,
        tokenizer: Arc<Tokenizer>,
        clock: Clock,
        progress: Progress,
        planned: Option<u64>,
        ctl: Arc<Control>,
    ) -> Writer {
        Writer {
            clock,
            tokenizer,
            use_server_token_count: opts.use_server_token_count,
            produces_tokens: opts.endpoint_type.produces_tokens(),
            streaming: opts.streaming,
            placement: opts.placement.clone(),
            progress,
            warmup_total: opts.warmup_request_count,
            profiling_total: planned,
            limits: opts.limits,
            ctl,
        }
    }

    /// Starts the thread; it ends when every sender of `rx` is gone.
    pub fn start(
        self,
        rx: mpsc::Receiver<Finished>,
        out: JsonlWriter,
    ) -> anyhow::Result<std::thread::JoinHandle<Tallies>> {
        std::thread::Builder::new()
            .name("loadgen-writer".into())
            .spawn(move || self.run(rx, out))
            .map_err(|e| anyhow!("cannot start the writer thread: {e}"))
    }

    /// Writes records until the queue closes. Flushes whenever it has nothing else to do, so the
    /// file is a valid JSONL prefix at any instant (at most one torn line after `kill -9`).
    fn run(mut self, rx: mpsc::Receiver<Finished>, mut out: JsonlWriter) -> Tallies {
        let mut dog = Watchdog::new(self.limits);
        let cx = metrics::Context::new(
            &self.clock,
            &self.tokenizer,
            self.use_server_token_count,
            self.produces_tokens,
            self.streaming,
        )
        .sharded(self.placement.as_ref());
        let mut rep = Tallies::default();
        let mut in_profiling = self.warmup_total == 0;
        if !in_profiling {
            self.progress.set_phase("warmup", Some(self.warmup_total));
        } else {
            self.progress.set_phase("profiling", self.profiling_total);
        }
        let (mut failed, mut dirty) = (false, false);
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        loop {
            // Polling (2 ms) instead of blocking: request tasks never pay for waking this thread.
            let mut item = match rx.try_recv() {
                Ok(i) => i,
                Err(mpsc::TryRecvError::Empty) => {
                    if dirty && !failed {
                        dirty = false;
                        failed = self.flush(&mut out);
                    }
                    self.progress.tick();
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
            };
            if let Some(payload) = item.ex.isl_payload.take() {
                // A later turn: its ISL is its whole history, counted here, off the event loop.
                item.ex.isl = crate::loadgen::dataset::chat::payload_isl(cx.tokenizer, &payload);
            }
            let mut record = metrics::compute(&item.ex, &cx);
            if let Some((why, detail)) = dog.observe(record.error.as_ref().map(|e| &e.kind), item.ex.end) {
                self.ctl.end_early(why, detail);
            }
            if item.ex.phase == Phase::Profiling && !in_profiling {
                in_profiling = true;
                self.progress.set_phase("profiling", self.profiling_total);
            }
            rep.add(&item, &record);
            self.progress.record(&record, item.lag);
            if failed {
                continue;
            }
            buf.clear();
            record.write_json(&mut buf);
            dirty = true;
            if let Err(e) = out.write_raw(&buf) {
                failed = true;
                self.ctl.fail(anyhow!(e).context("cannot write the records"));
            }
        }
        if !failed {
            self.flush(&mut out);
        }
        self.progress.finish();
        rep
    }

    /// Flushes the records; true when that failed (the run fails with it).
    fn flush(&self, out: &mut JsonlWriter) -> bool {
        let e = out.flush().err();
        if let Some(e) = e {
            self.ctl.fail(anyhow!(e).context("cannot write the records"));
            return true;
        }
        false
    }
}

impl Tallies {
    /// Counts one finished request and its record.
    fn add(&mut self, item: &Finished, record: &Computed) {
        let ex = &item.ex;
        let is_err = record.error.is_some();
        let t = if ex.phase == Phase::Warmup {
            &mut self.warmup
        } else {
            &mut self.profiling
        };
        t.requests += 1;
        let first_turn = ex.turn_index == 0 && ex.correlation_id.is_some();
        t.sessions += u64::from(first_turn);
        if is_err {
            t.errors += 1;
        } else {
            t.ok += 1;
        }
        t.last_end = Some(t.last_end.map_or(ex.end, |e| e.max(ex.end)));
        if ex.phase != Phase::Profiling {
            return;
        }
        self.health.record_lag(item.lag);
        let w = item.worker as usize;
        if self.per_worker.len() <= w {
            self.per_worker.resize_with(w + 1, Default::default);
        }
        let pw = &mut self.per_worker[w];
        pw.requests += 1;
        pw.errors += u64::from(is_err);
        pw.sessions += u64::from(first_turn);
        pw.health.record_lag(item.lag);
        self.chunks += ex.content.len() as u64;
        self.rx.observe(&ex.content, &ex.rx);
        if let Some(e) = record.error.as_ref().filter(|_| self.first_error.is_none()) {
            self.first_error = Some(format!(
                "{} {}: {}",
                e.code.map_or("-".into(), |c| c.to_string()),
                e.kind,
                e.message
            ));
        }
    }
}
