//! Open loop: one request per deadline `t0 + offset` of an arrival schedule, optionally capped
//! in flight.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::arrival_schedule::ArrivalSchedule;
use super::control::Stopped;
use super::deal::Deal;
use super::panics;
use super::send::{Due, Sender};
use super::single_turn::Prompts;
use crate::contract::records::Phase;

/// An open-loop phase, or one worker thread's share of it ([`Deal`]).
pub struct OpenLoop {
    pub phase: Phase,
    pub schedule: ArrivalSchedule,
    /// Requests in flight at most, over all workers (None: no cap).
    pub cap: Option<Arc<Semaphore>>,
    /// Which schedule entries this worker thread sends.
    pub deal: Deal,
    /// The request number (`session_num` in the records) of the phase's first request.
    pub first_request: u64,
    pub count: Option<u64>,
    /// Seconds after `t0` from which nothing more is sent.
    pub until: Option<f64>,
    pub t0: Instant,
    /// Multi-turn runs: the next session number (which conversation), shared by every worker.
    pub sessions: Arc<AtomicU64>,
    /// A replayed session trace: the next request number (issue order), shared by every worker.
    pub next: Arc<AtomicU64>,
}

/// Single-turn requests on an open loop: entry `k` of the schedule sends request
/// `first_request + k`.
pub async fn run(sh: Arc<Sender>, prompts: Arc<Prompts>, l: OpenLoop) {
    let OpenLoop {
        phase,
        mut schedule,
        cap: sem,
        deal,
        first_request,
        count,
        until,
        t0,
        ..
    } = l;
    let mut stop = sh.ctl.on_stop();
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
        let request_num = first_request + k;
        k += 1;
        if !deal.takes(k - 1) {
            continue;
        }
        let deadline = t0 + crate::contract::seconds::duration(off);
        let Ok(permit) = tick(deadline, sem.as_ref(), &mut stop).await else {
            break;
        };
        panics::reap(&mut set, &sh.ctl);
        let (sh, prompts) = (sh.clone(), prompts.clone());
        set.spawn(async move {
            let due = Due {
                scheduled: Some(deadline),
                ready: deadline,
            };
            prompts.send(&sh, request_num, phase, due).await;
            drop(permit);
        });
    }
    panics::join_all(&mut set, &sh.ctl).await;
}

/// An open loop's tick: sleep until `deadline`, then wait for a slot under the concurrency cap
/// (none without one), giving up as soon as the run is told to stop.
pub async fn tick(
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
