//! Driving the load phases: warmup, then profiling, each to its end (count, duration + grace,
//! Ctrl-C or a fatal error).

use std::time::Instant;

use tokio::task::JoinHandle;

use super::network_probe::{Probe, Tally};
use super::setup::Plan;
use super::workers::Workers;
use crate::loadgen::dataset::prompts::Prompt;
use crate::loadgen::options::Options;
use crate::loadgen::pacing::control::Control;
use crate::loadgen::pacing::deadline::{after, far};
use crate::loadgen::pacing::load::{self, Pacing};

/// The load phases as they ran.
pub struct Ran {
    /// When the warmup started, if there was one.
    pub warmup_start: Option<Instant>,
    pub profiling_start: Instant,
    pub interrupted: bool,
    /// CPU seconds of each event-loop (worker) thread during profiling.
    pub loop_cpu: Vec<f64>,
    /// Event-loop (worker) threads.
    pub workers: usize,
    /// The network-latency probe's tally, when it ran (`--network-latency-automatic`).
    pub network: Option<Tally>,
}

/// Warmup, then profiling, each driven to its end (count, duration + grace, Ctrl-C or a fatal
/// error); the network probe, when given, spans the profiling phase as AIPerf's does.
pub async fn run_phases(
    opts: &Options,
    pool: &Workers,
    ctl: &Control,
    plan: Plan,
    prompts: &[Prompt],
    probe: Option<Probe>,
) -> Ran {
    let grace = opts.benchmark_grace_period;
    let pace = if plan.trace {
        Pacing::Trace(prompts)
    } else {
        Pacing::Options
    };
    crate::io::interrupt::arm();
    let mut interrupted = crate::io::interrupt::requested();

    // Warmup: same load shape, counted, excluded by phase.
    let mut warmup_start = None;
    if opts.warmup_request_count > 0 {
        let t0 = Instant::now();
        let h = pool.run(load::warmup(opts, pace, t0));
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
    let mut network = None;
    if !interrupted && !ctl.stopped() {
        let probing = probe.map(Probe::start);
        let h = pool.run(load::profiling(opts, pace, plan.count, p0));
        let hard = opts.benchmark_duration.map(|d| after(after(p0, d), grace));
        interrupted = drive(ctl, h, hard, grace).await;
        loop_cpu = pool.last_cpu();
        interrupted |= crate::io::interrupt::requested();
        if let Some(p) = probing {
            network = Some(p.finish(interrupted).await);
        }
    }
    interrupted |= crate::io::interrupt::requested();
    Ran {
        warmup_start,
        profiling_start: p0,
        interrupted,
        loop_cpu,
        workers: pool.count(),
        network,
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
