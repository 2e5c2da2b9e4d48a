//! loadgen: one benchmark (one trial at one setting) against an OpenAI-compatible server.
//!
//! [`run`] drives everything, so tests run the engine in-process: build the dataset, write
//! `inputs.json`, run the warmup and profiling phases (closed loop: N workers on one shared
//! connection pool; open loop: absolute deadlines from the [`arrival_schedule`]; trace replay: the trace's
//! timestamps), stream one record per request to the output as each completes (a dedicated writer
//! thread computes the metrics, so the request tasks only stamp and parse), then write the run info.
//! Stops: request count, duration (+ grace, then in-flight requests are cancelled and marked),
//! Ctrl-C (stop dispatching, drain for the grace period, flush, exit 130), or an unreachable server
//! before anything succeeded (fail fast).

pub mod arrival_schedule;
pub mod client;
pub mod dataset;
pub mod h1;
pub mod metrics;
pub mod openai;
pub mod options;
pub mod progress;
pub mod prompts;
pub mod run_info;
pub mod sse;
pub mod tokenizer;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use std::sync::mpsc;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::contract::records::{ErrorDetails, ErrorKind, Phase};
use crate::io::clock::Clock;
use crate::io::jsonl::JsonlWriter;
use crate::io::outcome::Outcome;

use crate::contract::run_info::{Client as ClientHealth, PhaseWindow};
use arrival_schedule::ArrivalSchedule;
use client::{Client, Exchange, Failure};
use prompts::Prompt;
use run_info::Health;
use tokenizer::Tokenizer;

pub use options::{Io, Options, Settings};

/// Runs one benchmark on its own tokio runtime.
pub fn run(opts: Options) -> anyhow::Result<Outcome> {
    // Keep freed memory in the process: per-request buffers come and go at a high rate, and
    // returning pages to the kernel only to fault them back in costs CPU on the hot path.
    // SAFETY: mallopt only tunes glibc's allocator.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
    // One event-loop thread: no cross-thread wake-ups on the hot path (the writer thread does the
    // metrics and JSON, so the loop only sends, stamps and parses).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
    rt.block_on(run_async(opts))
}

/// Stop/cancel signals shared by the dispatcher, the request tasks and the writer.
struct Control {
    /// No new requests.
    stop: watch::Sender<bool>,
    /// Abandon in-flight requests (they become cancelled records).
    cancel: watch::Sender<bool>,
    /// A reason to fail the run (unreachable server, output write error).
    fatal: Mutex<Option<anyhow::Error>>,
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
    fn fail(&self, e: anyhow::Error) {
        let mut f = self.fatal.lock().unwrap();
        if f.is_none() {
            *f = Some(e);
        }
        drop(f);
        self.cancel();
    }
}

/// What every request task shares.
struct Shared {
    client: Client,
    prompts: Vec<Prompt>,
    ids: Vec<Arc<str>>,
    nonce: u64,
    url: String,
    tx: mpsc::Sender<Item>,
    ctl: Arc<Control>,
    any_success: AtomicBool,
}

/// One finished request on its way to the writer.
struct Item {
    ex: Exchange,
    lag: Duration,
}

async fn exchange(sh: &Shared, session_num: u64, phase: Phase, scheduled: Option<Instant>, ready: Instant) {
    let pi = (session_num % sh.prompts.len() as u64) as usize;
    let p = &sh.prompts[pi];
    let mut ex = Exchange::new(
        session_num,
        client::request_id(sh.nonce, session_num),
        sh.ids[pi].clone(),
        phase,
        p.isl,
    );
    if let Some(n) = p.max_tokens {
        // One stamp per token plus slack: no regrowth while streaming.
        ex.content.reserve(n.min(65_536) as usize + 2);
        ex.output.text.reserve((n.min(65_536) as usize) * 8);
    }
    ex.scheduled = scheduled;
    let mut cancel = sh.ctl.cancel.subscribe();
    let failure = if *cancel.borrow() {
        None
    } else {
        tokio::select! {
            biased;
            f = sh.client.send(&mut ex, p.body.clone()) => Some(f),
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
            sh.ctl.fail(anyhow!("cannot reach {}: {why} ({hint})", sh.url));
        }
        Some(_) => {}
    }
    let lag = ex.start.saturating_duration_since(scheduled.unwrap_or(ready));
    // Never blocks: the writer drains the queue every 2 ms.
    let _ = sh.tx.send(Item { ex, lag });
}

/// Closed loop: `workers` tasks each send back-to-back until the count, the time limit or a stop.
/// With a ramp, worker `w` of `n` starts at `t0 + ramp * w / n`.
fn closed_loop(
    sh: Arc<Shared>,
    phase: Phase,
    workers: u64,
    base: u64,
    count: Option<u64>,
    until: Option<Instant>,
    ramp: f64,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let t0 = Instant::now();
        let next = Arc::new(AtomicU64::new(0));
        let mut set = tokio::task::JoinSet::new();
        let n = count.map_or(workers, |c| c.min(workers));
        for w in 0..n {
            let sh = sh.clone();
            let next = next.clone();
            set.spawn(async move {
                if ramp > 0.0 && w > 0 {
                    let at = t0 + Duration::from_secs_f64(ramp * w as f64 / n as f64);
                    let mut stop = sh.ctl.stop.subscribe();
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
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
                    exchange(&sh, base + k, phase, None, ready).await;
                }
            });
        }
        while set.join_next().await.is_some() {}
    })
}

/// Open loop: one request per deadline `t0 + offset`, optionally capped in flight.
#[allow(clippy::too_many_arguments)]
fn open_loop(
    sh: Arc<Shared>,
    phase: Phase,
    mut schedule: ArrivalSchedule,
    cap: Option<u64>,
    base: u64,
    count: Option<u64>,
    until: Option<f64>,
    t0: Instant,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let sem = cap.map(|c| Arc::new(Semaphore::new(c as usize)));
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
            let deadline = t0 + Duration::from_secs_f64(off);
            tokio::select! {
                _ = crate::io::timer::sleep_until(deadline) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let permit = match &sem {
                Some(s) => tokio::select! {
                    p = s.clone().acquire_owned() => Some(p.expect("semaphore open")),
                    _ = stop.wait_for(|s| *s) => break,
                },
                None => None,
            };
            while set.try_join_next().is_some() {}
            let sh = sh.clone();
            let session = base + k;
            set.spawn(async move {
                exchange(&sh, session, phase, Some(deadline), deadline).await;
                drop(permit);
            });
            k += 1;
        }
        while set.join_next().await.is_some() {}
    })
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
        t + Duration::from_secs_f64(secs.max(0.0))
    } else {
        far()
    }
}

/// Per-phase tallies kept by the writer.
#[derive(Default, Clone, Copy)]
struct Tally {
    requests: u64,
    ok: u64,
    errors: u64,
    last_end: Option<Instant>,
}

#[derive(Default)]
struct SinkReport {
    warmup: Tally,
    profiling: Tally,
    health: Health,
    chunks: u64,
    first_error: Option<String>,
}

/// The writer thread: metrics, JSONL, progress. Flushes whenever it has nothing else to do, so
/// the file is a valid JSONL prefix at any instant (at most one torn line after `kill -9`).
fn sink(
    rx: mpsc::Receiver<Item>,
    mut out: JsonlWriter,
    cx_parts: (Clock, Arc<Tokenizer>, bool, bool, bool),
    mut progress: progress::Progress,
    warmup_total: u64,
    profiling_total: Option<u64>,
    ctl: Arc<Control>,
) -> SinkReport {
    let (clock, tok, server_counts, produces, streaming) = cx_parts;
    let cx = metrics::Context::new(&clock, &tok, server_counts, produces, streaming);
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
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        let ex = &item.ex;
        let mut record = metrics::compute(ex, &cx);
        let is_err = record.error.is_some();
        let t = if ex.phase == Phase::Warmup {
            &mut rep.warmup
        } else {
            &mut rep.profiling
        };
        t.requests += 1;
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
            rep.chunks += ex.content.len() as u64;
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
        progress.record(is_err);
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

async fn run_async(opts: Options) -> anyhow::Result<Outcome> {
    let clock = Clock::new();
    let tok = Arc::new(Tokenizer::load(&opts.tokenizer)?);
    let (prompts, trace) = match &opts.input_file {
        Some(p) => dataset::load(p, &opts, &tok)?,
        None => (prompts::synthetic(&opts, &tok), false),
    };
    if let Some(p) = &opts.io.inputs_out {
        prompts::write_inputs_json(p, &prompts).map_err(|e| anyhow!("--inputs-out: {e}"))?;
    }
    let n_prompts = prompts.len();
    let ids: Vec<Arc<str>> = prompts.iter().map(|p| Arc::from(p.session_id.as_str())).collect();
    let open = opts.request_rate.is_some() || trace;
    let pool = opts.concurrency.unwrap_or(if open { 256 } else { 1 }) as usize;
    let client = Client::new(&opts, pool)?;
    let out = JsonlWriter::to_path_or_stdout(opts.io.output.as_deref(), opts.io.line_buffered)
        .map_err(|e| anyhow!("--output: {e}"))?;

    // Run size: --request-count, else a duration run, else each prompt once (a trace: each row).
    let count: Option<u64> = match (opts.request_count, opts.benchmark_duration) {
        (Some(n), _) => Some(if trace { n.min(prompts.len() as u64) } else { n }),
        (None, Some(_)) => None,
        (None, None) => Some(prompts.len() as u64),
    };
    let ctl = Arc::new(Control {
        stop: watch::channel(false).0,
        cancel: watch::channel(false).0,
        fatal: Mutex::new(None),
    });
    let (tx, rx) = mpsc::channel::<Item>();
    let progress = progress::Progress::new(opts.ui, count, opts.benchmark_duration);
    let sink_handle = {
        let parts = (
            clock,
            tok.clone(),
            opts.use_server_token_count,
            opts.endpoint_type.produces_tokens(),
            opts.streaming,
        );
        let ctl = ctl.clone();
        let warm = opts.warmup_request_count;
        std::thread::Builder::new()
            .name("loadgen-writer".into())
            .spawn(move || sink(rx, out, parts, progress, warm, count, ctl))
            .map_err(|e| anyhow!("cannot start the writer thread: {e}"))?
    };
    let nonce = prompts::mix(std::process::id() as u64, clock.now_ns());
    let sh = Arc::new(Shared {
        client,
        prompts,
        ids,
        nonce,
        url: opts.request_url(),
        tx,
        ctl: ctl.clone(),
        any_success: AtomicBool::new(false),
    });
    let workers = opts.concurrency.unwrap_or(1);
    // Only now, with the setup done and the writer thread started: only the event loop (this
    // thread, under the current-thread runtime) runs at real-time priority.
    if opts.io.realtime {
        if let Err(e) = crate::io::timer::make_thread_realtime() {
            eprintln!("loadgen: warning: --realtime: cannot use SCHED_FIFO ({e}; needs root or CAP_SYS_NICE): running at normal priority");
        }
    }
    // Client CPU is counted over the load phases, not the setup (tokenizer, prompts).
    let cpu0 = run_info::cpu_seconds();
    let grace = opts.benchmark_grace_period;
    let mut interrupted = false;

    // Warmup: same load shape, counted, excluded by phase.
    let mut warm_window = None;
    if opts.warmup_request_count > 0 {
        let t0 = Instant::now();
        let n = opts.warmup_request_count;
        let h = match opts.request_rate {
            Some(rate) if !trace => open_loop(
                sh.clone(),
                Phase::Warmup,
                ArrivalSchedule::rate(
                    opts.arrival_pattern,
                    rate,
                    opts.arrival_smoothness,
                    opts.random_seed ^ 0x3A3,
                ),
                opts.concurrency,
                0,
                Some(n),
                None,
                t0,
            ),
            _ => closed_loop(
                sh.clone(),
                Phase::Warmup,
                workers,
                0,
                Some(n),
                None,
                opts.concurrency_ramp_duration,
            ),
        };
        interrupted = drive(&ctl, h, None, grace).await;
        warm_window = Some((t0, n));
    }

    // Profiling.
    let base = opts.warmup_request_count;
    let p0 = Instant::now();
    let loop_cpu0 = run_info::thread_cpu_seconds();
    if !interrupted && !ctl.stopped() {
        let until = opts.benchmark_duration;
        let h = if trace {
            let offsets: Vec<f64> = sh.prompts.iter().map(|p| p.timestamp_ms.unwrap_or(0.0)).collect();
            // Trace rows are sent in order, each once.
            open_loop(
                sh.clone(),
                Phase::Profiling,
                ArrivalSchedule::trace(offsets),
                opts.concurrency,
                0,
                count,
                until,
                p0,
            )
        } else if let Some(rate) = opts.request_rate {
            let schedule = ArrivalSchedule::rate(
                opts.arrival_pattern,
                rate,
                opts.arrival_smoothness,
                opts.random_seed,
            );
            open_loop(
                sh.clone(),
                Phase::Profiling,
                schedule,
                opts.concurrency,
                base,
                count,
                until,
                p0,
            )
        } else {
            closed_loop(
                sh.clone(),
                Phase::Profiling,
                workers,
                base,
                count,
                until.map(|d| after(p0, d)),
                opts.concurrency_ramp_duration,
            )
        };
        let hard = until.map(|d| after(after(p0, d), grace));
        interrupted = drive(&ctl, h, hard, grace).await;
    }
    interrupted |= crate::io::interrupt::requested();
    let loop_cpu = run_info::thread_cpu_seconds() - loop_cpu0;

    // Let the writer finish.
    drop(sh);
    let rep = tokio::task::spawn_blocking(move || sink_handle.join())
        .await
        .map_err(|e| anyhow!("writer task failed: {e}"))?
        .map_err(|_| anyhow!("the writer thread panicked"))?;

    let cpu = run_info::cpu_seconds() - cpu0;
    let p_end = rep.profiling.last_end.unwrap_or(p0).max(p0);
    let wall = (p_end - p0).as_secs_f64();
    let achieved = if wall > 0.0 {
        rep.profiling.requests as f64 / wall
    } else {
        0.0
    };
    let open_loop_run = opts.request_rate.is_some() || trace;
    let warnings = run_info::client_bound_warnings(&rep.health, open_loop_run, loop_cpu, wall);
    for w in &warnings {
        eprintln!("loadgen: warning: {w}");
    }
    let fatal = ctl.fatal.lock().unwrap().take();
    let cancelled = interrupted || fatal.is_some() || *ctl.cancel.borrow();
    if let Some(path) = &opts.io.run_info_out {
        let info = run_info::Facts {
            opts: &opts,
            benchmark_id: format!("{nonce:016x}"),
            dataset_entries: n_prompts,
            warmup: warm_window.map(|(t0, _)| PhaseWindow {
                start_ns: clock.wall_ns(t0),
                end_ns: clock.wall_ns(rep.warmup.last_end.unwrap_or(t0).max(t0)),
                requests: rep.warmup.requests,
            }),
            profiling: PhaseWindow {
                start_ns: clock.wall_ns(p0),
                end_ns: clock.wall_ns(p_end),
                requests: rep.profiling.requests,
            },
            was_cancelled: cancelled,
            client: ClientHealth {
                target_request_rate: opts.request_rate,
                achieved_request_rate: achieved,
                dispatch_lag_ms: rep.health.lag(),
                late_requests: rep.health.late(),
                cpu_seconds: cpu,
                event_loop_busy: if wall > 0.0 { loop_cpu / wall } else { 0.0 },
                client_bound: !warnings.is_empty(),
                warnings: warnings.clone(),
                chunks_received: rep.chunks,
                max_rss_bytes: run_info::max_rss_bytes(),
            },
        };
        info.document()
            .write(path)
            .map_err(|e| anyhow!("--run-info-out: {e}"))?;
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    if opts.ui == options::Ui::Simple {
        eprintln!(
            "loadgen: {} requests ({} errors) in {:.3} s: {:.1} req/s{}",
            rep.profiling.requests,
            rep.profiling.errors,
            wall,
            achieved,
            if interrupted { ", interrupted" } else { "" }
        );
    }
    if interrupted {
        return Ok(Outcome::Interrupted);
    }
    if rep.profiling.requests > 0 && rep.profiling.ok == 0 {
        anyhow::bail!(
            "all {} requests failed; first error: {} (the records are written)",
            rep.profiling.requests,
            rep.first_error.unwrap_or_default()
        );
    }
    Ok(Outcome::Ok)
}
