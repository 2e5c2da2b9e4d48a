//! loadgen: one benchmark (one trial at one setting) against an OpenAI-compatible server.
//!
//! [`benchmark`] drives everything, so tests run the engine in-process: build the dataset, write
//! `inputs.json`, run the warmup and profiling phases on `--workers` event-loop threads, each with
//! its own connections to every `--url` replica ([`workers`], [`replicas`]) (closed loop: N tasks
//! over one shared request counter; open loop: absolute deadlines from the [`arrival_schedule`];
//! trace replay: the trace's timestamps), stream one record per request to the output as each completes (a dedicated
//! writer thread computes the metrics, so the request tasks only stamp and parse), then write the
//! run info. Stops: request count, duration (+ grace, then in-flight requests are cancelled and
//! marked), Ctrl-C (stop dispatching, drain for the grace period, flush, exit 130), or an
//! unreachable server before anything succeeded (fail fast). It prints nothing but its UI (the
//! progress bar or the dashboard, [`progress`]): warnings and the closing line come back in its
//! [`Report`].

pub mod arrival_schedule;
pub mod cancel;
pub mod client;
pub mod conversation;
pub mod corpus;
pub mod dataset;
pub mod h1;
pub mod metrics;
pub mod multi_turn;
pub mod openai;
pub mod options;
pub mod panics;
pub mod prefix;
pub mod progress;
pub mod prompts;
pub mod py_random;
pub mod replay;
pub mod replicas;
pub mod run_info;
pub mod rx_stamp;
pub mod sessions;
pub mod shard;
pub mod splitmix;
pub mod sse;
pub mod stop;
pub mod tokenizer;
pub mod trace_sessions;
pub mod usage_extras;
pub mod user_centric;
pub mod wire;
pub mod workers;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use std::sync::mpsc;

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::contract::records::{ErrorDetails, ErrorKind, Phase};
use crate::contract::run_info::{Client as ClientHealth, EndReason, PhaseWindow, RunEnd};
use crate::io::clock::Clock;
use crate::io::jsonl::JsonlWriter;
use crate::io::outcome::Outcome;

use arrival_schedule::ArrivalSchedule;
use client::{Exchange, Failure};
use prompts::Prompt;
use replicas::Replicas;
use run_info::Health;
use tokenizer::Tokenizer;

pub use options::{Io, Options, Settings};

/// How a run ended, and what its user should be told. The library prints nothing: `bins/loadgen`
/// prints the warnings as `loadgen: warning: …` and, with `--ui simple`, the summary line.
#[derive(Debug)]
pub struct Report {
    /// How the run ended, or why it failed (bad setup, unreachable server, every request failed).
    pub result: anyhow::Result<Outcome>,
    /// In the order they arose: `--realtime` refused, `--input-file` lines skipped, and the
    /// verdicts that the client, not the server, may have set the pace (also in the run info).
    pub warnings: Vec<String>,
    /// The profiling phase in one line, when it ran and the run did not fail on the way.
    pub summary: Option<PhaseSummary>,
}

/// The profiling phase's totals: `200 requests (0 errors) in 4.913 s: 40.7 req/s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseSummary {
    /// Multi-turn runs: sessions started (the requests are their turns).
    pub sessions: Option<u64>,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub interrupted: bool,
}

impl std::fmt::Display for PhaseSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if let Some(s) = self.sessions {
            write!(f, "{s} sessions, ")?;
        }
        write!(
            f,
            "{} requests ({} errors) in {:.3} s: {:.1} req/s{}",
            self.requests,
            self.errors,
            self.seconds,
            self.requests_per_second,
            if self.interrupted { ", interrupted" } else { "" }
        )
    }
}

/// Runs one benchmark on its own tokio runtime.
pub fn benchmark(opts: Options) -> Report {
    let mut report = Report {
        result: Ok(Outcome::Ok),
        warnings: Vec::new(),
        summary: None,
    };
    // One event-loop thread: no cross-thread wake-ups on the hot path (the writer thread does the
    // metrics and JSON, so the loop only sends, stamps and parses).
    let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run_async(opts, &mut report)),
        Err(e) => Err(anyhow!("cannot start the async runtime: {e}")),
    };
    report.result = result;
    report
}

/// Stop/cancel signals shared by the dispatcher, the request tasks and the writer.
struct Control {
    /// No new requests.
    stop: watch::Sender<bool>,
    /// Abandon in-flight requests (they become cancelled records).
    cancel: watch::Sender<bool>,
    /// A reason to fail the run (unreachable server, output write error).
    fatal: Mutex<Option<anyhow::Error>>,
    /// A stop constraint that ended the run early, and what set it off.
    ended: Mutex<Option<(EndReason, String)>>,
}

impl Control {
    fn stop(&self) {
        self.stop.send_replace(true);
    }
    fn cancel(&self) {
        self.stop();
        self.cancel.send_replace(true);
    }
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
    /// A stop constraint was crossed: no new requests; a dead server's in-flight ones are abandoned.
    fn end_early(&self, why: EndReason, detail: String) {
        let mut e = self.ended.lock().unwrap();
        if e.is_none() {
            *e = Some((why, detail));
            drop(e);
            if why == EndReason::ServerUnreachable {
                self.cancel();
            } else {
                self.stop();
            }
        }
    }
    fn fail(&self, e: anyhow::Error) {
        let mut f = self.fatal.lock().unwrap();
        if f.is_none() {
            *f = Some(e);
        }
        drop(f);
        self.cancel();
    }
}

/// What every request task of one worker shares (the `Arc`s are shared by all workers).
struct Shared {
    /// Which worker (event-loop thread) this is.
    worker: u32,
    /// One client per `--url` replica: this worker's own connections.
    replicas: Replicas,
    prompts: Arc<Vec<Prompt>>,
    ids: Arc<Vec<Arc<str>>>,
    nonce: u64,
    tx: mpsc::Sender<Item>,
    ctl: Arc<Control>,
    any_success: Arc<AtomicBool>,
    /// The request path, e.g. `/v1/chat/completions`.
    endpoint: String,
    /// Requests sent so far (the dashboard's in-flight count is this minus the finished ones).
    sent: Arc<AtomicU64>,
    /// `--request-cancellation-rate`: which profiling requests are cut.
    cancellation: Option<Arc<cancel::Cancellation>>,
    /// Profiling requests issued so far, over all workers (the cancellation draws follow this order).
    issued: Arc<AtomicU64>,
    /// Multi-turn runs: the conversations and what the sessions sent (None: one prompt per request).
    sessions: Option<Arc<sessions::SessionSet>>,
}

/// One finished request on its way to the writer.
struct Item {
    ex: Exchange,
    lag: Duration,
    /// The worker that sent it.
    worker: u32,
}

/// Sends dataset prompt `session_num % prompts` and hands its exchange to the writer; true when
/// the server refused the connection.
async fn exchange(
    sh: &Shared,
    session_num: u64,
    phase: Phase,
    scheduled: Option<Instant>,
    ready: Instant,
) -> bool {
    let pi = (session_num % sh.prompts.len() as u64) as usize;
    let p = &sh.prompts[pi];
    let out = Outgoing {
        body: p.body.bytes(),
        isl: p.isl,
        max_tokens: p.max_tokens,
        conversation: sh.ids[pi].clone(),
        turn_index: 0,
        correlation: None,
        isl_text: None,
        want_reply: false,
        replica: session_num,
    };
    send_one(sh, session_num, phase, (scheduled, ready), out)
        .await
        .refused
}

/// What one request sends, and what it belongs to.
struct Outgoing {
    body: bytes::Bytes,
    /// Input tokens, when known up front (a later turn's are counted by the writer from `isl_text`).
    isl: u64,
    max_tokens: Option<u64>,
    conversation: Arc<str>,
    turn_index: u32,
    correlation: Option<Arc<str>>,
    isl_text: Option<String>,
    /// Keep the reply text (a session's history needs it).
    want_reply: bool,
    /// Round-robin key of the `--url` replica: the request number, or a session's number so
    /// that all its turns go to one replica.
    replica: u64,
}

/// How one request went, for its sender.
struct Sent {
    /// The server refused the connection.
    refused: bool,
    /// The reply text, when asked for and the request succeeded.
    reply: Option<String>,
}

/// Sends one request and hands its exchange to the writer.
async fn send_one(
    sh: &Shared,
    session_num: u64,
    phase: Phase,
    (scheduled, ready): (Option<Instant>, Instant),
    out: Outgoing,
) -> Sent {
    let mut ex = Exchange::new(
        session_num,
        client::request_id(sh.nonce, session_num),
        out.conversation,
        phase,
        out.isl,
    );
    ex.turn_index = out.turn_index;
    ex.correlation_id = out.correlation;
    ex.isl_text = out.isl_text;
    if let Some(n) = out.max_tokens {
        // One stamp per token plus slack: no regrowth while streaming.
        ex.content.reserve(n.min(65_536) as usize + 2);
        ex.output.text.reserve((n.min(65_536) as usize) * 8);
    }
    ex.scheduled = scheduled;
    let (ri, client, url) = sh.replicas.pick(out.replica);
    if sh.replicas.several() {
        ex.replica = Some((ri, url.clone()));
    }
    if phase == Phase::Profiling {
        let k = sh.issued.fetch_add(1, Ordering::Relaxed);
        ex.cancel_after = sh.cancellation.as_ref().and_then(|c| c.chosen(k));
    }
    sh.sent.fetch_add(1, Ordering::Relaxed);
    let mut cancel = sh.ctl.cancel.subscribe();
    let failure = if *cancel.borrow() {
        None
    } else {
        tokio::select! {
            biased;
            f = client.send(&mut ex, out.body) => Some(f),
            _ = cancel.wait_for(|c| *c) => None,
        }
    };
    match failure {
        None => {
            ex.cancelled = true;
            ex.end = Instant::now();
            ex.error = Some(ErrorDetails {
                code: Some(499),
                kind: ErrorKind::RequestCancellation,
                message: format!(
                    "request was cancelled after {:.3} seconds (still running when the run stopped)",
                    (ex.end - ex.start).as_secs_f64()
                ),
            });
        }
        Some(Failure::None) => sh.any_success.store(true, Ordering::Relaxed),
        Some(Failure::Unreachable) if !sh.any_success.load(Ordering::Relaxed) => {
            let why = ex.error.as_ref().map(|e| e.message.clone()).unwrap_or_default();
            let hint = if why.contains("certificate") {
                "the server's certificate is not trusted: pass its CA with --ca-cert FILE"
            } else {
                "is the server running? check --url"
            };
            sh.ctl
                .fail(anyhow!("cannot reach {url}{}: {why} ({hint})", sh.endpoint));
        }
        Some(_) => {}
    }
    let lag = ex.start.saturating_duration_since(scheduled.unwrap_or(ready));
    let refused = ex.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Connection);
    // AIPerf keeps the content received; the reasoning only when there is no content.
    let reply = (out.want_reply && ex.error.is_none() && !ex.content.is_empty()).then(|| {
        if ex.output.text.is_empty() {
            ex.output.reasoning.clone()
        } else {
            ex.output.text.clone()
        }
    });
    // Never blocks: the writer drains the queue every 2 ms.
    let _ = sh.tx.send(Item {
        ex,
        lag,
        worker: sh.worker,
    });
    Sent { refused, reply }
}

/// A closed-loop worker whose connection was refused waits this long before its next request, as
/// any client would, so a dead server costs a few records a second rather than thousands.
const REFUSED_BACKOFF: Duration = Duration::from_millis(100);

/// How one phase sends its requests.
#[allow(clippy::large_enum_variant)] // one per phase
enum Load {
    Closed(ClosedLoop),
    Open(OpenLoop),
    /// `--user-centric-rate`: AIPerf's per-user schedule (sessions only).
    Users(user_centric::UserLoad),
}

/// Closed loop: `workers` tasks each send back-to-back until the count, the time limit or a stop.
/// With a ramp, task `g` of `n` starts at `t0 + ramp * g / n`. A worker thread runs the tasks in
/// `tasks`; all of them draw request numbers from `next` ([`workers`]).
#[derive(Clone)]
struct ClosedLoop {
    phase: Phase,
    /// Tasks of the phase over all worker threads (the concurrency).
    workers: u64,
    /// The tasks this worker thread runs (global indices).
    tasks: std::ops::Range<u64>,
    /// The next request number, shared by every task of the phase.
    next: Arc<AtomicU64>,
    /// Multi-turn runs: the next session number (which conversation), shared likewise.
    sessions: Arc<AtomicU64>,
    t0: Instant,
    /// `session_num` of the phase's first request.
    first_session: u64,
    count: Option<u64>,
    until: Option<Instant>,
    /// Seconds over which the workers start.
    ramp: f64,
}

/// Open loop: one request per deadline `t0 + offset`, optionally capped in flight. A worker thread
/// sends schedule entry `i` when `i mod deal.1 == deal.0` ([`workers`]).
struct OpenLoop {
    phase: Phase,
    schedule: ArrivalSchedule,
    /// Requests in flight at most, over all workers (None: no cap).
    cap: Option<Arc<Semaphore>>,
    /// (this worker, workers).
    deal: (u64, u64),
    /// `session_num` of the phase's first request.
    first_session: u64,
    count: Option<u64>,
    /// Seconds after `t0` from which nothing more is sent.
    until: Option<f64>,
    t0: Instant,
    /// Multi-turn runs: the next session number (which conversation), shared by every worker.
    sessions: Arc<AtomicU64>,
    /// A replayed session trace: the next request number (issue order), shared by every worker.
    next: Arc<AtomicU64>,
}

/// Starts the phase's dispatcher; the handle ends when its last request has.
fn dispatch(sh: Arc<Shared>, load: Load) -> JoinHandle<()> {
    match load {
        Load::Closed(l) if sh.sessions.is_some() => tokio::spawn(sessions::closed(sh, l)),
        Load::Open(l) if sh.sessions.as_ref().is_some_and(|s| s.replay) => {
            tokio::spawn(sessions::replay(sh, l))
        }
        Load::Open(l) if sh.sessions.is_some() => tokio::spawn(sessions::open(sh, l)),
        Load::Users(l) => tokio::spawn(user_centric::run(sh, l)),
        Load::Closed(l) => tokio::spawn(closed_loop(sh, l)),
        Load::Open(l) => tokio::spawn(open_loop(sh, l)),
    }
}

async fn closed_loop(sh: Arc<Shared>, l: ClosedLoop) {
    let ClosedLoop {
        phase,
        workers,
        tasks,
        next,
        t0,
        first_session,
        count,
        until,
        ramp,
        sessions: _,
    } = l;
    let mut set = tokio::task::JoinSet::new();
    let n = count.map_or(workers, |c| c.min(workers));
    for w in tasks.filter(|g| *g < n) {
        let sh = sh.clone();
        let next = next.clone();
        set.spawn(async move {
            if ramp_up(&sh, ramp, t0, w, n).await.is_err() {
                return;
            }
            loop {
                if sh.ctl.stopped() || until.is_some_and(|u| Instant::now() >= u) {
                    break;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| k >= c) {
                    break;
                }
                let ready = Instant::now();
                if exchange(&sh, first_session + k, phase, None, ready).await {
                    let mut stop = sh.ctl.stop.subscribe();
                    tokio::select! {
                        _ = tokio::time::sleep(REFUSED_BACKOFF) => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                }
            }
        });
    }
    panics::join_all(&mut set, &sh.ctl).await;
}

/// The run was told to stop while a loop waited (a tick, a ramp).
struct Stopped;

/// A closed loop's ramp: task `g` of `n` starts `ramp * g / n` seconds after `t0`, unless the run
/// stops first.
async fn ramp_up(sh: &Shared, ramp: f64, t0: Instant, g: u64, n: u64) -> Result<(), Stopped> {
    if ramp <= 0.0 || g == 0 {
        return Ok(());
    }
    let at = t0 + crate::contract::seconds::duration(ramp * g as f64 / n as f64);
    let mut stop = sh.ctl.stop.subscribe();
    tokio::select! {
        _ = tokio::time::sleep_until(at.into()) => Ok(()),
        _ = stop.wait_for(|s| *s) => Err(Stopped),
    }
}

/// An open loop's tick: sleep until `deadline`, then wait for a slot under the concurrency cap
/// (none without one), giving up as soon as the run is told to stop.
async fn tick(
    deadline: Instant,
    sem: Option<&Arc<Semaphore>>,
    stop: &mut watch::Receiver<bool>,
) -> Result<Option<OwnedSemaphorePermit>, Stopped> {
    tokio::select! {
        _ = crate::io::timer::sleep_until(deadline) => {}
        _ = stop.wait_for(|s| *s) => return Err(Stopped),
    }
    match sem {
        None => Ok(None),
        Some(s) => tokio::select! {
            p = s.clone().acquire_owned() => Ok(Some(p.expect("semaphore open"))),
            _ = stop.wait_for(|s| *s) => Err(Stopped),
        },
    }
}

async fn open_loop(sh: Arc<Shared>, l: OpenLoop) {
    let OpenLoop {
        phase,
        mut schedule,
        cap: sem,
        deal,
        first_session,
        count,
        until,
        t0,
        sessions: _,
        next: _,
    } = l;
    let mut stop = sh.ctl.stop.subscribe();
    let mut set = tokio::task::JoinSet::new();
    let mut k = 0u64;
    loop {
        if count.is_some_and(|c| k >= c) || *stop.borrow() {
            break;
        }
        let Some(off) = schedule.next_offset() else { break };
        if until.is_some_and(|u| off >= u) {
            break;
        }
        let session = first_session + k;
        k += 1;
        if (k - 1) % deal.1 != deal.0 {
            continue;
        }
        let deadline = t0 + crate::contract::seconds::duration(off);
        let Ok(permit) = tick(deadline, sem.as_ref(), &mut stop).await else {
            break;
        };
        panics::reap(&mut set, &sh.ctl);
        let sh = sh.clone();
        set.spawn(async move {
            exchange(&sh, session, phase, Some(deadline), deadline).await;
            drop(permit);
        });
    }
    panics::join_all(&mut set, &sh.ctl).await;
}

/// The in-flight cap of an open-loop phase: one semaphore for all workers.
fn cap(opts: &Options) -> Option<Arc<Semaphore>> {
    opts.concurrency.map(|c| Arc::new(Semaphore::new(c as usize)))
}

/// Warmup from `t0`: the profiling phase's load shape (closed loop for a trace),
/// `--warmup-request-count` requests, its own arrival seed.
fn warmup_load(opts: &Options, trace: bool, t0: Instant) -> Load {
    let count = Some(opts.warmup_request_count);
    match opts.request_rate {
        Some(rate) if !trace => Load::Open(OpenLoop {
            phase: Phase::Warmup,
            schedule: ArrivalSchedule::rate(
                opts.arrival_pattern,
                rate,
                opts.arrival_smoothness,
                opts.arrival_seed() ^ 0x3A3,
            ),
            cap: cap(opts),
            deal: (0, 1),
            first_session: 0,
            count,
            until: None,
            t0,
            sessions: Arc::new(AtomicU64::new(0)),
            next: Arc::new(AtomicU64::new(0)),
        }),
        _ => Load::Closed(ClosedLoop {
            phase: Phase::Warmup,
            workers: opts
                .concurrency
                .or(opts.workload.user_centric.map(|(_, users)| users))
                .unwrap_or(1),
            tasks: 0..opts
                .concurrency
                .or(opts.workload.user_centric.map(|(_, users)| users))
                .unwrap_or(1),
            next: Arc::new(AtomicU64::new(0)),
            sessions: Arc::new(AtomicU64::new(0)),
            t0,
            first_session: 0,
            count,
            until: None,
            ramp: opts.concurrency_ramp_duration,
        }),
    }
}

/// Profiling from `p0`: a trace's own send times, else a rate, else a closed loop.
fn profiling_load(opts: &Options, prompts: &[Prompt], trace: bool, count: Option<u64>, p0: Instant) -> Load {
    let until = opts.benchmark_duration;
    let first_session = opts.warmup_request_count;
    if let Some((qps, users)) = opts.workload.user_centric {
        return Load::Users(user_centric::UserLoad {
            qps,
            users,
            first_session,
            count,
            until: until.map(|d| after(p0, d)),
            t0: p0,
            next: Arc::new(AtomicU64::new(0)),
            deal: (0, 1),
        });
    }
    if trace {
        // Trace rows are sent in order, each once.
        let offsets = prompts.iter().map(|p| p.timestamp_ms.unwrap_or(0.0));
        Load::Open(OpenLoop {
            phase: Phase::Profiling,
            schedule: ArrivalSchedule::trace(offsets),
            cap: cap(opts),
            deal: (0, 1),
            first_session: 0,
            count,
            until,
            t0: p0,
            sessions: Arc::new(AtomicU64::new(0)),
            next: Arc::new(AtomicU64::new(0)),
        })
    } else if let Some(rate) = opts.request_rate {
        Load::Open(OpenLoop {
            phase: Phase::Profiling,
            schedule: ArrivalSchedule::rate(
                opts.arrival_pattern,
                rate,
                opts.arrival_smoothness,
                opts.arrival_seed(),
            ),
            cap: cap(opts),
            deal: (0, 1),
            first_session,
            count,
            until,
            t0: p0,
            sessions: Arc::new(AtomicU64::new(0)),
            next: Arc::new(AtomicU64::new(0)),
        })
    } else {
        Load::Closed(ClosedLoop {
            phase: Phase::Profiling,
            workers: opts.concurrency.unwrap_or(1),
            tasks: 0..opts.concurrency.unwrap_or(1),
            next: Arc::new(AtomicU64::new(0)),
            sessions: Arc::new(AtomicU64::new(0)),
            t0: p0,
            first_session,
            count,
            until: until.map(|d| after(p0, d)),
            ramp: opts.concurrency_ramp_duration,
        })
    }
}

/// Waits for a phase; on Ctrl-C stops dispatching and allows `grace` for in-flight requests;
/// at `hard_deadline` cancels what is left. Returns whether the user interrupted.
async fn drive(
    ctl: &Control,
    mut handle: JoinHandle<()>,
    mut hard_deadline: Option<Instant>,
    grace: f64,
) -> bool {
    let mut interrupted = crate::io::interrupt::requested();
    if interrupted {
        ctl.stop();
        hard_deadline = Some(after(Instant::now(), grace).min(hard_deadline.unwrap_or(far())));
    }
    loop {
        let sleep = tokio::time::sleep_until(hard_deadline.unwrap_or_else(far).into());
        tokio::select! {
            _ = &mut handle => return interrupted,
            _ = sleep => {
                ctl.cancel();
                let _ = (&mut handle).await;
                return interrupted;
            }
            _ = crate::io::interrupt::wait(), if !interrupted => {
                interrupted = true;
                ctl.stop();
                let d = after(Instant::now(), grace);
                hard_deadline = Some(hard_deadline.map_or(d, |h| h.min(d)));
            }
        }
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

fn after(t: Instant, secs: f64) -> Instant {
    if secs.is_finite() && secs < 86_400.0 * 365.0 {
        t + crate::contract::seconds::duration(secs.max(0.0))
    } else {
        far()
    }
}

/// Per-phase tallies kept by the writer.
#[derive(Default, Clone, Copy)]
struct Tally {
    requests: u64,
    /// Sessions started (first turns sent).
    sessions: u64,
    ok: u64,
    errors: u64,
    last_end: Option<Instant>,
}

/// One worker thread's profiling requests, as the writer saw them.
#[derive(Default)]
struct WorkerTally {
    requests: u64,
    errors: u64,
    /// Sessions started (first turns sent).
    sessions: u64,
    health: Health,
}

#[derive(Default)]
struct SinkReport {
    warmup: Tally,
    profiling: Tally,
    health: Health,
    /// Receive stamps of the profiling phase's content chunks.
    rx: rx_stamp::RxHealth,
    /// The profiling phase per worker thread.
    per_worker: Vec<WorkerTally>,
    chunks: u64,
    first_error: Option<String>,
}

/// The writer thread: metrics, JSONL, progress. Flushes whenever it has nothing else to do, so
/// the file is a valid JSONL prefix at any instant (at most one torn line after `kill -9`).
fn sink(
    rx: mpsc::Receiver<Item>,
    mut out: JsonlWriter,
    cx_parts: (Clock, Arc<Tokenizer>, bool, bool, bool, Option<shard::Placement>),
    mut progress: progress::Progress,
    totals: (u64, Option<u64>),
    limits: options::StopLimits,
    ctl: Arc<Control>,
) -> SinkReport {
    let (warmup_total, profiling_total) = totals;
    let mut dog = stop::Watchdog::new(limits);
    let (clock, tok, server_counts, produces, streaming, placement) = cx_parts;
    let cx =
        metrics::Context::new(&clock, &tok, server_counts, produces, streaming).sharded(placement.as_ref());
    let mut rep = SinkReport::default();
    let mut in_profiling = warmup_total == 0;
    if !in_profiling {
        progress.set_phase("warmup", Some(warmup_total));
    } else {
        progress.set_phase("profiling", profiling_total);
    }
    let mut failed = false;
    let mut dirty = false;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Polling (2 ms) instead of blocking: request tasks never pay for waking this thread.
        let item = match rx.try_recv() {
            Ok(i) => i,
            Err(mpsc::TryRecvError::Empty) => {
                if dirty && !failed {
                    dirty = false;
                    if let Err(e) = out.flush() {
                        failed = true;
                        ctl.fail(anyhow!(e).context("cannot write the records"));
                    }
                }
                progress.tick();
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        let mut item = item;
        if let Some(text) = item.ex.isl_text.take() {
            // A later turn: its ISL is its whole history, counted here, off the event loop.
            item.ex.isl = cx.tokenizer.count(&text);
        }
        let ex = &item.ex;
        let mut record = metrics::compute(ex, &cx);
        let is_err = record.error.is_some();
        if let Some((why, detail)) = dog.observe(record.error.as_ref().map(|e| &e.kind), ex.end) {
            ctl.end_early(why, detail);
        }
        let t = if ex.phase == Phase::Warmup {
            &mut rep.warmup
        } else {
            &mut rep.profiling
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
        if ex.phase == Phase::Profiling {
            if !in_profiling {
                in_profiling = true;
                progress.set_phase("profiling", profiling_total);
            }
            rep.health.record_lag(item.lag);
            let w = item.worker as usize;
            if rep.per_worker.len() <= w {
                rep.per_worker.resize_with(w + 1, Default::default);
            }
            let pw = &mut rep.per_worker[w];
            pw.requests += 1;
            pw.errors += u64::from(is_err);
            pw.sessions += u64::from(first_turn);
            pw.health.record_lag(item.lag);
            rep.chunks += ex.content.len() as u64;
            rep.rx.observe(&ex.content, &ex.rx);
            if is_err && rep.first_error.is_none() {
                let e = record.error.as_ref().unwrap();
                rep.first_error = Some(format!(
                    "{} {}: {}",
                    e.code.map_or("-".into(), |c| c.to_string()),
                    e.kind,
                    e.message
                ));
            }
        }
        progress.record(&record, item.lag);
        if failed {
            continue;
        }
        buf.clear();
        record.write_json(&mut buf);
        dirty = true;
        if let Err(e) = out.write_raw(&buf) {
            failed = true;
            ctl.fail(anyhow!(e).context("cannot write the records"));
        }
    }
    if !failed {
        if let Err(e) = out.flush() {
            ctl.fail(anyhow!(e).context("cannot write the records"));
        }
    }
    progress.finish();
    rep
}

/// What a run is made of before its first request.
struct Setup {
    tok: Arc<Tokenizer>,
    prompts: Vec<Prompt>,
    /// A multi-turn run's conversations (None: one prompt per request).
    conversations: Option<Vec<conversation::Conversation>>,
    /// The dataset is a trace: its timestamps set the send times.
    trace: bool,
    /// One set of clients per worker thread (its own connections).
    pools: Vec<Replicas>,
    out: JsonlWriter,
}

/// Loads the tokenizer and the dataset, writes `inputs.json`, opens the pool and the output.
fn prepare(opts: &Options, warnings: &mut Vec<String>) -> anyhow::Result<Setup> {
    let tok = Arc::new(Tokenizer::load_at(
        &opts.tokenizer,
        opts.tokenizer_revision.as_deref(),
    )?);
    if opts.tokenizer_trust_remote_code {
        warnings.push(format!(
            "--tokenizer-trust-remote-code: accepted as AIPerf does, but sweepkit runs no tokenizer code: {} is read as data",
            tok.path().map_or("builtin".into(), |p| p.display().to_string())
        ));
    }
    let (prompts, trace, conversations) = dataset_of(opts, &tok, warnings)?;
    warnings.extend(large_dataset(&prompts, conversations.as_deref()));
    let (prompts, conversations) = match &opts.placement {
        // A shard sends every N-th prompt (or conversation: their first turns stay aligned).
        Some(p) => (p.deal(prompts)?, conversations.map(|c| p.deal(c)).transpose()?),
        None => (prompts, conversations),
    };
    if let Some(p) = &opts.io.inputs_out {
        match &conversations {
            // Rewritten after the run with the history each turn carried.
            Some(c) => conversation::write_inputs_json(p, c, |_, _| None),
            None => prompts::write_inputs_json(p, &prompts),
        }
        .map_err(|e| anyhow!("--inputs-out: {e}"))?;
    }
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
    let pools = (0..n)
        .map(|w| Replicas::new(opts, workers::share(pool, n, w).max(1) as usize))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out = JsonlWriter::to_path_or_stdout(opts.io.output.as_deref(), opts.io.line_buffered)
        .map_err(|e| anyhow!("--output: {e}"))?;
    Ok(Setup {
        tok,
        prompts,
        conversations,
        trace,
        pools,
        out,
    })
}

/// A warning when the dataset's own text (a shared system prompt counted once) is merely large:
/// under the refusal limit ([`crate::contract::limits::MAX_DATASET_TOKENS`]), but hundreds of MB.
fn large_dataset(prompts: &[Prompt], convs: Option<&[conversation::Conversation]>) -> Option<String> {
    let own = |p: &Prompt| if p.shared.is_some() { 0 } else { p.isl };
    let tokens: u64 = match convs {
        Some(c) => c.iter().flat_map(|c| &c.turns).map(|t| own(&t.alone)).sum(),
        None => prompts.iter().map(own).sum(),
    };
    (tokens > crate::contract::limits::WARN_DATASET_TOKENS).then(|| {
        format!(
            "the dataset holds {tokens} tokens of prompts (~{} MB of text per copy): it takes seconds to build; --num-prompts N builds N distinct entries that the run cycles through",
            tokens * 6 / 1_000_000
        )
    })
}

/// The dataset: prompts (one per request), or conversations when requests carry a session's
/// history. Synthetic prompts with shared prefixes are one-turn conversations flattened back to
/// prompts (their bodies never change), so they keep the single-request path.
#[allow(clippy::type_complexity)]
fn dataset_of(
    opts: &Options,
    tok: &Tokenizer,
    warnings: &mut Vec<String>,
) -> anyhow::Result<(Vec<Prompt>, bool, Option<Vec<conversation::Conversation>>)> {
    let w = &opts.workload;
    let sessions = w.sessions(opts.custom_dataset_type);
    let (convs, trace) = match &opts.input_file {
        Some(p) if opts.custom_dataset_type == options::DatasetType::MultiTurn => {
            let l = multi_turn::load(p, opts, tok)?;
            warnings.extend(l.warnings);
            (l.conversations, l.trace)
        }
        Some(p) => {
            let d = dataset::load(p, opts, tok)?;
            warnings.extend(d.warnings);
            let Some(convs) = d.conversations else {
                return Ok((d.prompts, d.trace, None));
            };
            // A trace of sessions: the first turns carry the sessions' start times.
            let firsts = convs.iter().map(|c| c.turns[0].alone.clone()).collect();
            return Ok((firsts, d.trace, Some(convs)));
        }
        None if sessions
            || w.prefix_length + w.shared_system_length + w.user_context_length > 0
            || w.system_prompt.is_some() =>
        {
            (conversation::synthetic(opts, tok)?, false)
        }
        None => return Ok((prompts::synthetic(opts, tok)?, false, None)),
    };
    let firsts = convs.iter().map(|c| c.turns[0].alone.clone()).collect();
    Ok((firsts, trace, sessions.then_some(convs)))
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
fn session_cap(opts: &Options, conversations: usize) -> Option<u64> {
    opts.workload.conversation_num.or(
        (opts.request_count.is_none() && opts.benchmark_duration.is_none()).then_some(conversations as u64),
    )
}

/// The load phases as they ran.
struct Ran {
    /// When the warmup started, if there was one.
    warmup_start: Option<Instant>,
    profiling_start: Instant,
    interrupted: bool,
    /// CPU seconds of each event-loop (worker) thread during profiling.
    loop_cpu: Vec<f64>,
    /// Event-loop (worker) threads.
    workers: usize,
}

/// Warmup, then profiling, each driven to its end (count, duration + grace, Ctrl-C or a fatal error).
async fn run_phases(
    opts: &Options,
    pool: &workers::Workers,
    ctl: &Control,
    prompts: &[Prompt],
    trace: bool,
    count: Option<u64>,
) -> Ran {
    let grace = opts.benchmark_grace_period;
    crate::io::interrupt::arm();
    let mut interrupted = crate::io::interrupt::requested();

    // Warmup: same load shape, counted, excluded by phase.
    let mut warmup_start = None;
    if opts.warmup_request_count > 0 {
        let t0 = Instant::now();
        let h = pool.run(warmup_load(opts, trace, t0));
        interrupted = drive(ctl, h, None, grace).await;
        warmup_start = Some(t0);
    }

    // Profiling, at --start-at when given (after the warmup, so the shards' windows coincide).
    if let Some(p) = &opts.placement {
        p.wait_for_start().await;
    }
    // A Ctrl-C during the wait ends the run before its first request.
    interrupted |= crate::io::interrupt::requested();
    let p0 = Instant::now();
    let mut loop_cpu = Vec::new();
    if !interrupted && !ctl.stopped() {
        let h = pool.run(profiling_load(opts, prompts, trace, count, p0));
        let hard = opts.benchmark_duration.map(|d| after(after(p0, d), grace));
        interrupted = drive(ctl, h, hard, grace).await;
        loop_cpu = pool.last_cpu();
    }
    interrupted |= crate::io::interrupt::requested();
    Ran {
        warmup_start,
        profiling_start: p0,
        interrupted,
        loop_cpu,
        workers: pool.count(),
    }
}

/// What every worker's [`Shared`] holds in common.
struct Common {
    prompts: Arc<Vec<Prompt>>,
    ids: Arc<Vec<Arc<str>>>,
    nonce: u64,
    tx: mpsc::Sender<Item>,
    ctl: Arc<Control>,
    sent: Arc<AtomicU64>,
    sessions: Option<Arc<sessions::SessionSet>>,
}

/// One [`Shared`] per worker (its own replicas, the rest in common), and the worker threads.
/// Only now, with the setup done and the writer thread started: only the event loops (the worker
/// threads) run at real-time priority.
fn start_workers(
    opts: &Options,
    pools: Vec<Replicas>,
    c: Common,
    warnings: &mut Vec<String>,
) -> anyhow::Result<workers::Workers> {
    let any_success = Arc::new(AtomicBool::new(false));
    // Shared by every worker: one cancellation draw sequence in issue order.
    let cancellation = opts
        .cancellation
        .map(|k| Arc::new(cancel::Cancellation::new(k, opts.random_seed)));
    let issued = Arc::new(AtomicU64::new(0));
    let shared = pools
        .into_iter()
        .enumerate()
        .map(|(w, replicas)| {
            Arc::new(Shared {
                worker: w as u32,
                replicas,
                prompts: c.prompts.clone(),
                ids: c.ids.clone(),
                nonce: c.nonce,
                endpoint: opts.endpoint.clone(),
                tx: c.tx.clone(),
                ctl: c.ctl.clone(),
                any_success: any_success.clone(),
                sent: c.sent.clone(),
                cancellation: cancellation.clone(),
                issued: issued.clone(),
                sessions: c.sessions.clone(),
            })
        })
        .collect();
    let (pool, refused) = workers::Workers::start(shared, opts.io.realtime)?;
    if let Some(e) = refused {
        warnings.push(format!(
            "--realtime: cannot use SCHED_FIFO ({e}; needs root or CAP_SYS_NICE): running at normal priority"
        ));
    }
    Ok(pool)
}

async fn run_async(opts: Options, report: &mut Report) -> anyhow::Result<Outcome> {
    let clock = Clock::new();
    let Setup {
        tok,
        prompts,
        conversations,
        trace,
        pools,
        out,
    } = prepare(&opts, &mut report.warnings)?;
    let n_prompts = prompts.len();
    let ids: Vec<Arc<str>> = prompts.iter().map(|p| Arc::from(p.session_id.as_str())).collect();
    let count = run_size(&opts, trace, n_prompts, conversations.is_some());
    let sessions = conversations.map(|c| {
        let cap = session_cap(&opts, c.len());
        let mut set = sessions::SessionSet::new(c, cap, opts.io.inputs_out.is_some(), opts.endpoint_type);
        set.replay = trace;
        set
    });
    let ctl = Arc::new(Control {
        stop: watch::channel(false).0,
        cancel: watch::channel(false).0,
        fatal: Mutex::new(None),
        ended: Mutex::new(None),
    });
    let (tx, rx) = mpsc::channel::<Item>();
    let sent = Arc::new(AtomicU64::new(0));
    let planned = count.or(sessions.as_ref().and_then(|s| s.planned_turns()));
    let progress = progress::Progress::new(&opts, planned, sent.clone());
    let writer = {
        let parts = (
            clock,
            tok,
            opts.use_server_token_count,
            opts.endpoint_type.produces_tokens(),
            opts.streaming,
            opts.placement.clone(),
        );
        let ctl = ctl.clone();
        let totals = (opts.warmup_request_count, planned);
        let limits = opts.limits;
        std::thread::Builder::new()
            .name("loadgen-writer".into())
            .spawn(move || sink(rx, out, parts, progress, totals, limits, ctl))
            .map_err(|e| anyhow!("cannot start the writer thread: {e}"))?
    };
    let nonce = match &opts.placement {
        Some(p) => p.nonce(),
        None => prompts::mix(std::process::id() as u64, clock.now_ns()),
    };
    let (prompts, sessions) = (Arc::new(prompts), sessions.map(Arc::new));
    let common = Common {
        prompts: prompts.clone(),
        ids: Arc::new(ids),
        nonce,
        tx,
        ctl: ctl.clone(),
        sent,
        sessions: sessions.clone(),
    };
    let pool = start_workers(&opts, pools, common, &mut report.warnings)?;
    if let Some(ago) = opts.placement.as_ref().and_then(|p| p.start_in_past(&clock)) {
        report.warnings.push(format!("--start-at: the start time passed {ago:.3} s ago: starting now (the run info's shard.start_late_ms says how late)"));
    }
    // Client CPU is counted over the load phases, not the setup (tokenizer, prompts).
    let cpu0 = run_info::cpu_seconds();
    let ran = run_phases(&opts, &pool, &ctl, &prompts, trace, count).await;

    // The history each turn carried, into inputs.json (AIPerf writes turns without it).
    if let (Some(p), Some(set)) = (&opts.io.inputs_out, &sessions) {
        set.write_inputs_json(p)
            .map_err(|e| anyhow!("--inputs-out: {e}"))?;
    }
    let multi_turn = sessions.is_some();
    drop(sessions);
    // Let the writer finish: the workers' queues close with them.
    pool.stop();
    let rep = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| anyhow!("writer task failed: {e}"))?
        .map_err(|p| {
            anyhow!(
                "the records writer panicked (a bug: please report it): {}",
                panics::message(p)
            )
        })?;
    let end = Ending {
        opts: &opts,
        clock,
        // Shards of one benchmark share its id.
        benchmark_id: format!(
            "{:016x}",
            opts.placement.as_ref().map_or(nonce, |p| p.shared_nonce())
        ),
        dataset_entries: n_prompts,
        trace,
        open_loop: opts.request_rate.is_some() || trace,
        count,
        multi_turn,
        cpu: run_info::cpu_seconds() - cpu0,
        ran,
        rep,
        ctl: &ctl,
    };
    end.conclude(report)
}

/// Everything known when the writer has finished: the run info, the warnings and the verdict
/// are made from it.
struct Ending<'a> {
    opts: &'a Options,
    clock: Clock,
    benchmark_id: String,
    dataset_entries: usize,
    /// The profiling phase replayed a trace on its timestamps.
    trace: bool,
    /// Requests were sent on a schedule (a rate or a trace), so lateness is meaningful.
    open_loop: bool,
    /// The profiling phase's request count (None: a duration run).
    count: Option<u64>,
    /// Requests were turns of sessions (the run info counts the sessions).
    multi_turn: bool,
    /// Process CPU seconds over the load phases.
    cpu: f64,
    ran: Ran,
    rep: SinkReport,
    ctl: &'a Control,
}

impl Ending<'_> {
    /// Judges the client, writes the run info, fills the report and decides how the run ended.
    fn conclude(self, report: &mut Report) -> anyhow::Result<Outcome> {
        let (opts, rep, p0) = (self.opts, &self.rep, self.ran.profiling_start);
        let p_end = rep.profiling.last_end.unwrap_or(p0).max(p0);
        let wall = (p_end - p0).as_secs_f64();
        let achieved = if wall > 0.0 {
            rep.profiling.requests as f64 / wall
        } else {
            0.0
        };
        // The busiest event loop decides whether the client kept up.
        let loop_cpu = self.ran.loop_cpu.iter().copied().fold(0.0, f64::max);
        let mut warnings =
            run_info::client_bound_warnings(&rep.health, self.open_loop, loop_cpu, wall, rep.rx.lag_p99());
        warnings.extend(rep.rx.window_warning());
        report.warnings.extend(warnings.iter().cloned());
        let fatal = self.ctl.fatal.lock().unwrap().take();
        let ended = self.ctl.ended.lock().unwrap().take();
        let interrupted = self.ran.interrupted;
        let end = self.end(fatal.as_ref(), ended.as_ref());
        if let Some(path) = &opts.io.run_info_out {
            let client = ClientHealth {
                target_request_rate: opts.request_rate,
                achieved_request_rate: achieved,
                dispatch_lag_ms: rep.health.lag(),
                late_requests: rep.health.late(),
                cpu_seconds: self.cpu,
                event_loop_busy: if wall > 0.0 { loop_cpu / wall } else { 0.0 },
                client_bound: !warnings.is_empty(),
                warnings,
                chunks_received: rep.chunks,
                max_rss_bytes: run_info::max_rss_bytes(),
                receive_stamps: rep.rx.summary(),
                workers: Some(self.workers_health(wall)),
            };
            self.run_info(
                p_end,
                interrupted || fatal.is_some() || *self.ctl.cancel.borrow(),
                client,
                end.clone(),
            )
            .document()
            .write(path)
            .map_err(|e| anyhow!("--run-info-out: {e}"))?;
        }
        if let Some(e) = fatal {
            return Err(e);
        }
        report.summary = Some(PhaseSummary {
            sessions: self.multi_turn.then_some(rep.profiling.sessions),
            requests: rep.profiling.requests,
            errors: rep.profiling.errors,
            seconds: wall,
            requests_per_second: achieved,
            interrupted,
        });
        if let Some((_, detail)) = ended {
            anyhow::bail!(
                "stopped early: {detail}; {} succeeded, {} failed, {} never sent (the records are written)",
                rep.profiling.ok,
                rep.profiling.errors,
                end.requests_not_sent.map_or("none".into(), |n| n.to_string())
            );
        }
        if interrupted {
            return Ok(Outcome::Interrupted);
        }
        if rep.profiling.requests > 0 && rep.profiling.ok == 0 {
            anyhow::bail!(
                "all {} requests failed; first error: {} (the records are written)",
                rep.profiling.requests,
                rep.first_error.as_deref().unwrap_or_default()
            );
        }
        Ok(Outcome::Ok)
    }

    /// The worker threads' count and each one's share of the profiling phase.
    fn workers_health(&self, wall: f64) -> crate::contract::run_info::Workers {
        let n = self.ran.workers;
        let per_worker = (0..n)
            .map(|w| {
                let none = WorkerTally::default();
                let t = self.rep.per_worker.get(w).unwrap_or(&none);
                let cpu = self.ran.loop_cpu.get(w).copied().unwrap_or(0.0);
                crate::contract::run_info::WorkerHealth {
                    requests: t.requests,
                    errors: t.errors,
                    sessions: t.sessions,
                    dispatch_lag_ms: t.health.lag(),
                    event_loop_busy: if wall > 0.0 { cpu / wall } else { 0.0 },
                }
            })
            .collect();
        crate::contract::run_info::Workers {
            count: n as u32,
            per_worker,
        }
    }

    /// Why the run ended; a counted run that stopped early says how many requests it never sent.
    fn end(&self, fatal: Option<&anyhow::Error>, ended: Option<&(EndReason, String)>) -> RunEnd {
        let (reason, detail) = match (fatal, ended) {
            (Some(e), _) => (EndReason::Failed, Some(format!("{e:#}"))),
            (None, Some((why, d))) => (*why, Some(d.clone())),
            (None, None) if self.ran.interrupted => (EndReason::Interrupted, None),
            (None, None) => (EndReason::Completed, None),
        };
        let requests_not_sent = self
            .count
            .filter(|_| reason != EndReason::Completed)
            .map(|c| c.saturating_sub(self.rep.profiling.requests));
        RunEnd {
            reason,
            detail,
            requests_not_sent,
        }
    }

    /// What the run info is made of; the profiling phase ended at `p_end`.
    fn run_info(
        &self,
        p_end: Instant,
        was_cancelled: bool,
        client: ClientHealth,
        end: RunEnd,
    ) -> run_info::Facts<'_> {
        let (clock, rep, p0) = (self.clock, &self.rep, self.ran.profiling_start);
        run_info::Facts {
            opts: self.opts,
            benchmark_id: self.benchmark_id.clone(),
            dataset_entries: self.dataset_entries,
            trace: self.trace,
            warmup: self.ran.warmup_start.map(|t0| PhaseWindow {
                start_ns: clock.wall_ns(t0),
                end_ns: clock.wall_ns(rep.warmup.last_end.unwrap_or(t0).max(t0)),
                requests: rep.warmup.requests,
                sessions: self.multi_turn.then_some(rep.warmup.sessions),
            }),
            profiling: PhaseWindow {
                start_ns: clock.wall_ns(p0),
                end_ns: clock.wall_ns(p_end),
                requests: rep.profiling.requests,
                sessions: self.multi_turn.then_some(rep.profiling.sessions),
            },
            was_cancelled,
            client,
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_reads_as_it_always_did() {
        let s = PhaseSummary {
            sessions: None,
            requests: 200,
            errors: 3,
            seconds: 4.91349,
            requests_per_second: 40.7041,
            interrupted: true,
        };
        assert_eq!(
            s.to_string(),
            "200 requests (3 errors) in 4.913 s: 40.7 req/s, interrupted"
        );
    }

    #[test]
    fn warnings_come_back_to_the_caller_even_when_the_run_fails() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("d.jsonl");
        std::fs::write(&input, "{\"text\": \"hello\"}\n{\"text\": \"torn").unwrap();
        let settings: Settings = serde_json::from_value(serde_json::json!({
            "url": "127.0.0.1:1", "model": "m", "input_file": input, "ui": "none"
        }))
        .unwrap();
        let io = Io {
            output: Some(dir.path().join("records.jsonl")),
            ..Io::default()
        };
        let report = benchmark(options::resolve(settings, io, Default::default()).unwrap());
        let err = report.result.unwrap_err().to_string();
        assert!(err.contains("cannot reach http://127.0.0.1:1"), "{err}");
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(report.warnings[0].contains("skipped a torn last line"));
        assert!(report.summary.is_none());
    }
}
