//! Set-up: everything a run is made of before its first request (tokenizer, dataset,
//! `inputs.json`, connections, output), its size, and the worker threads.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{mpsc, Arc};

use anyhow::anyhow;

use super::workers::{self, Workers};
use crate::io::jsonl::JsonlWriter;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::{self, Dataset};
use crate::loadgen::http::cancel::Cancellation;
use crate::loadgen::http::replicas::Replicas;
use crate::loadgen::options::Options;
use crate::loadgen::pacing::control::Control;
use crate::loadgen::pacing::load::share;
use crate::loadgen::pacing::send::{Finished, Sender};
use crate::loadgen::pacing::{Source, Worker};

/// What a run is made of before its first request.
pub struct Setup {
    pub tok: Arc<Tokenizer>,
    pub dataset: Dataset,
    /// One set of clients per worker thread (its own connections).
    pub pools: Vec<Replicas>,
    pub out: JsonlWriter,
}

/// The run's shape, decided once at set-up.
#[derive(Clone, Copy)]
pub struct Plan {
    /// The profiling phase replays the dataset's timestamps (a trace).
    pub trace: bool,
    /// The profiling phase's request count (None: a duration run, or sessions counted in sessions).
    pub count: Option<u64>,
    /// Dataset entries (prompts or conversations) after sharding.
    pub dataset_entries: usize,
    /// Requests are turns of sessions.
    pub multi_turn: bool,
}

impl Plan {
    pub fn of(opts: &Options, d: &Dataset) -> Plan {
        let multi_turn = d.conversations.is_some();
        Plan {
            trace: d.trace,
            count: run_size(opts, d.trace, d.prompts.len(), multi_turn),
            dataset_entries: d.prompts.len(),
            multi_turn,
        }
    }

    /// Requests are sent on a schedule (a rate or a trace), so lateness is meaningful.
    pub fn open_loop(&self, opts: &Options) -> bool {
        opts.request_rate.is_some() || self.trace
    }
}

/// Loads the tokenizer and the dataset, writes `inputs.json`, opens the pool and the output.
pub fn prepare(opts: &Options, warnings: &mut Vec<String>) -> anyhow::Result<Setup> {
    let mut tok = Tokenizer::load_at(&opts.tokenizer, opts.tokenizer_revision.as_deref())?;
    if opts.apply_chat_template {
        warnings.extend(tok.apply_chat_template()?);
    }
    let tok = Arc::new(tok);
    if opts.tokenizer_trust_remote_code {
        warnings.push(format!(
            "--tokenizer-trust-remote-code: accepted as AIPerf does, but sweepkit runs no tokenizer code: {} is read as data",
            tok.path().map_or("builtin".into(), |p| p.display().to_string())
        ));
    }
    warnings.extend(dataset::context::check(opts, &tok)?);
    let mut d = dataset::load(opts, &tok, warnings)?;
    dataset::chat::count_dataset(&tok, &mut d);
    if d.trace && opts.sampling() != crate::loadgen::options::SamplingStrategy::Sequential {
        anyhow::bail!(
            "--dataset-sampling-strategy: the --input-file is a timestamped trace, replayed in its own order; drop the flag, or give --no-fixed-schedule to send its rows as ordinary load"
        );
    }
    warnings.extend(dataset::large(&d));
    if let Some(p) = &opts.placement {
        // A shard sends every N-th prompt (or conversation: their first turns stay aligned).
        d.prompts = p.deal(std::mem::take(&mut d.prompts))?;
        d.conversations = d.conversations.map(|c| p.deal(c)).transpose()?;
    }
    if let Some(p) = &opts.io.inputs_out {
        match &d.conversations {
            // Rewritten after the run with the history each turn carried.
            Some(c) => dataset::conversation::write_inputs_json(p, c, |_, _| None),
            None => dataset::prompts::write_inputs_json(p, &d.prompts),
        }
        .map_err(|e| anyhow!("--inputs-out: {e}"))?;
    }
    let pools = connections(opts, d.trace)?;
    let out = JsonlWriter::to_path_or_stdout(opts.io.output.as_deref(), opts.io.line_buffered)
        .map_err(|e| anyhow!("--output: {e}"))?;
    Ok(Setup {
        tok,
        dataset: d,
        pools,
        out,
    })
}

/// One set of connections per worker thread, the pool split over them.
fn connections(opts: &Options, trace: bool) -> anyhow::Result<Vec<Replicas>> {
    let open = opts.request_rate.is_some() || trace;
    // In flight at most: the concurrency, else the users of a user-centric run.
    let in_flight = opts
        .concurrency
        .or(opts.workload.user_centric.map(|(_, users)| users));
    let pool = in_flight.unwrap_or(if open { 256 } else { 1 });
    // Never more event loops than requests (sessions) that can be in flight.
    let n = opts
        .io
        .workers
        .unwrap_or_else(|| workers::default_count(in_flight))
        .min(in_flight.map_or(usize::MAX, |c| c.max(1) as usize)) as u64;
    (0..n)
        .map(|w| Replicas::new(opts, share(pool, n, w).max(1) as usize))
        .collect()
}

/// Run size: `--request-count`, else a duration run (None), else each prompt once (a trace: each
/// row; sessions: each conversation once, counted in sessions, see [`session_cap`]).
fn run_size(opts: &Options, trace: bool, prompts: usize, sessions: bool) -> Option<u64> {
    match (opts.request_count, opts.benchmark_duration) {
        (Some(n), _) => Some(if trace && !sessions {
            n.min(prompts as u64)
        } else {
            n
        }),
        (None, Some(_)) => None,
        (None, None) if sessions => None,
        (None, None) => Some(prompts as u64),
    }
}

/// Sessions the profiling phase starts at most: `--conversation-num`, else (no count, no
/// duration) each conversation once.
pub fn session_cap(opts: &Options, conversations: usize) -> Option<u64> {
    opts.workload.conversation_num.or(
        (opts.request_count.is_none() && opts.benchmark_duration.is_none()).then_some(conversations as u64),
    )
}

/// What every worker shares.
pub struct Common {
    pub source: Source,
    pub nonce: u64,
    pub tx: mpsc::Sender<Finished>,
    pub ctl: Arc<Control>,
    pub sent: Arc<AtomicU64>,
}

/// One [`Worker`] per set of connections (the rest in common), and the worker threads.
/// Only now, with the setup done and the writer thread started: only the event loops (the worker
/// threads) run at real-time priority.
pub fn start_workers(
    opts: &Options,
    trace: bool,
    pools: Vec<Replicas>,
    c: Common,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Workers> {
    let any_success = Arc::new(AtomicBool::new(false));
    // Shared by every worker: one cancellation draw sequence in issue order.
    let cancellation = opts
        .cancellation
        .map(|k| Arc::new(Cancellation::new(k, opts.random_seed)));
    let profiling_first = crate::loadgen::pacing::load::profiling_first_request(opts, trace);
    let workers = pools
        .into_iter()
        .enumerate()
        .map(|(w, replicas)| Worker {
            sender: Arc::new(Sender {
                worker: w as u32,
                replicas,
                nonce: c.nonce,
                endpoint: opts.endpoint.clone(),
                tx: c.tx.clone(),
                ctl: c.ctl.clone(),
                any_success: any_success.clone(),
                sent: c.sent.clone(),
                cancellation: cancellation.clone(),
                profiling_first,
            }),
            source: c.source.clone(),
        })
        .collect();
    let (pool, refused) = Workers::start(workers, opts.io.realtime)?;
    if let Some(e) = refused {
        warnings.push(format!(
            "--realtime: cannot use SCHED_FIFO ({e}; needs root or CAP_SYS_NICE): running at normal priority"
        ));
    }
    Ok(pool)
}
