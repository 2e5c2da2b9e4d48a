//! Closed loop: `concurrency` tasks each send back-to-back until the count, the time limit or a
//! stop. With a ramp, task `g` of `n` starts at `t0 + ramp * g / n`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::control::{Control, Stopped};
use super::panics;
use super::send::{Due, Sender};
use super::single_turn::Prompts;
use crate::contract::records::Phase;

/// A closed-loop phase, or one worker thread's share of it: the thread runs the tasks in
/// `tasks`; every task of the phase draws request numbers from `next`.
#[derive(Clone)]
pub struct ClosedLoop {
    pub phase: Phase,
    /// Tasks of the phase over all worker threads (the concurrency: requests, or sessions, in flight).
    pub concurrency: u64,
    /// The tasks this worker thread runs (global indices).
    pub tasks: std::ops::Range<u64>,
    /// The next request number, shared by every task of the phase.
    pub next: Arc<AtomicU64>,
    /// Multi-turn runs: the next session number (which conversation), shared likewise.
    pub sessions: Arc<AtomicU64>,
    pub t0: Instant,
    /// The request number (`session_num` in the records) of the phase's first request.
    pub first_request: u64,
    pub count: Option<u64>,
    pub until: Option<Instant>,
    /// Seconds over which the tasks start.
    pub ramp: f64,
}

/// Single-turn requests on a closed loop.
pub async fn run(sh: Arc<Sender>, prompts: Arc<Prompts>, l: ClosedLoop) {
    let mut set = tokio::task::JoinSet::new();
    let n = l.count.map_or(l.concurrency, |c| c.min(l.concurrency));
    for g in l.tasks.clone().filter(|g| *g < n) {
        let (sh, prompts, l) = (sh.clone(), prompts.clone(), l.clone());
        set.spawn(async move {
            if ramp_up(&sh.ctl, l.ramp, l.t0, g, n).await.is_err() {
                return;
            }
            loop {
                if sh.ctl.stopped() || l.until.is_some_and(|u| Instant::now() >= u) {
                    break;
                }
                let k = l.next.fetch_add(1, Ordering::Relaxed);
                if l.count.is_some_and(|c| k >= c) {
                    break;
                }
                let due = Due {
                    scheduled: None,
                    ready: Instant::now(),
                };
                if prompts.send(&sh, l.first_request + k, l.phase, due).await && !sh.back_off().await {
                    break;
                }
            }
        });
    }
    panics::join_all(&mut set, &sh.ctl).await;
}

/// A closed loop's ramp: task `g` of `n` starts `ramp * g / n` seconds after `t0`, unless the run
/// stops first.
pub async fn ramp_up(ctl: &Control, ramp: f64, t0: Instant, g: u64, n: u64) -> Result<(), Stopped> {
    if ramp <= 0.0 || g == 0 {
        return Ok(());
    }
    let at = t0 + crate::contract::seconds::duration(ramp * g as f64 / n as f64);
    let mut stop = ctl.on_stop();
    tokio::select! {
        _ = tokio::time::sleep_until(at.into()) => Ok(()),
        _ = stop.wait_for(|s| *s) => Err(Stopped),
    }
}
