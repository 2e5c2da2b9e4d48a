//! How a run goes: set-up, the writer thread, the worker threads, the phases, the ending.
//!
//! Rooms below this one: [`crate::loadgen::pacing`] (when to send), [`crate::loadgen::http`]
//! (how), [`crate::loadgen::dataset`] (what), [`crate::loadgen::record`] (what to write).

pub mod conclude;
pub mod network_probe;
pub mod phases;
pub mod setup;
pub mod stop;
pub mod workers;
pub mod writer;

use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};

use anyhow::anyhow;

use crate::io::clock::Clock;
use crate::io::outcome::Outcome;
use crate::loadgen::dataset::sampling::Sampler;
use crate::loadgen::options::Options;
use crate::loadgen::pacing::control::Control;
use crate::loadgen::pacing::sessions::SessionSet;
use crate::loadgen::pacing::single_turn::Prompts;
use crate::loadgen::pacing::Source;
use crate::loadgen::record::progress::Progress;
use crate::loadgen::record::run_info;
use conclude::{Ending, PhaseSummary};
use setup::{Common, Plan, Setup};
use writer::Writer;

/// Runs the benchmark on the current (tokio) thread: warnings in the order they arose, the
/// profiling phase's summary when it ran.
pub async fn run(
    opts: Options,
    warnings: &mut Vec<String>,
    summary: &mut Option<PhaseSummary>,
) -> anyhow::Result<Outcome> {
    let clock = Clock::new();
    let Setup {
        tok,
        dataset,
        pools,
        out,
    } = setup::prepare(&opts, warnings)?;
    let plan = Plan::of(&opts, &dataset);
    let probe = network_probe::Probe::prepare(&opts, clock)?;
    let sessions = dataset.conversations.map(|c| {
        let cap = setup::session_cap(&opts, c.len());
        let mut set = SessionSet::new(c, cap, opts.io.inputs_out.is_some(), opts.endpoint_type);
        set.replay = plan.trace;
        set.sampler = Sampler::new(opts.sampling(), set.conversations.len(), opts.random_seed);
        Arc::new(set)
    });
    let ctl = Arc::new(Control::default());
    let (tx, rx) = mpsc::channel();
    let sent = Arc::new(AtomicU64::new(0));
    let planned = plan.count.or(sessions.as_ref().and_then(|s| s.planned_turns()));
    let progress = Progress::new(&opts, planned, sent.clone());
    let writer = Writer::new(&opts, tok, clock, progress, planned, ctl.clone()).start(rx, out)?;
    let nonce = match &opts.placement {
        Some(p) => p.nonce(),
        None => crate::loadgen::splitmix::mix(std::process::id() as u64, clock.now_ns()),
    };
    let sampler = Sampler::new(opts.sampling(), dataset.prompts.len(), opts.random_seed);
    let prompts = Arc::new(Prompts::new(Arc::new(dataset.prompts), sampler));
    let source = match &sessions {
        Some(s) => Source::Sessions(s.clone()),
        None => Source::Prompts(prompts.clone()),
    };
    let common = Common {
        source,
        nonce,
        tx,
        ctl: ctl.clone(),
        sent,
    };
    let pool = setup::start_workers(&opts, plan.trace, pools, common, warnings)?;
    if let Some(ago) = opts.placement.as_ref().and_then(|p| p.start_in_past(&clock)) {
        warnings.push(format!("--start-at: the start time passed {ago:.3} s ago: starting now (the run info's shard.start_late_ms says how late)"));
    }
    // Client CPU is counted over the load phases, not the setup (tokenizer, prompts).
    let cpu0 = run_info::cpu_seconds();
    let ran = phases::run_phases(&opts, &pool, &ctl, plan, &prompts.prompts, probe).await;
    warnings.extend(ran.network.as_ref().and_then(network_probe::Tally::warning));

    // The history each turn carried, into inputs.json (AIPerf writes turns without it).
    if let (Some(p), Some(set)) = (&opts.io.inputs_out, &sessions) {
        set.write_inputs_json(p)
            .map_err(|e| anyhow!("--inputs-out: {e}"))?;
    }
    drop(sessions);
    // Let the writer finish: the workers' queues close with them.
    pool.stop();
    let rep = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| anyhow!("writer task failed: {e}"))?
        .map_err(|p| {
            anyhow!(
                "the records writer panicked (a bug: please report it): {}",
                crate::loadgen::pacing::panics::message(p)
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
        plan,
        cpu: run_info::cpu_seconds() - cpu0,
        ran,
        rep,
        ctl: &ctl,
    };
    end.conclude(warnings, summary)
}
