//! When to send: each phase's load (closed loop, open loop on an arrival schedule, sessions,
//! user-centric users), dealt over the worker threads, each request handed to the [`send`]er.
//!
//! What a worker sends comes in from the dataset ([`Source`]); the sender knows nothing of it.

pub mod arrival_schedule;
pub mod closed;
pub mod control;
pub mod deadline;
pub mod deal;
pub mod injected_panic;
pub mod load;
pub mod open;
pub mod panics;
pub mod send;
pub mod sessions;
pub mod single_turn;
pub mod user_centric;

use std::sync::Arc;

use tokio::task::JoinHandle;

use load::Load;
use send::Sender;
use sessions::SessionSet;
use single_turn::Prompts;

/// What the run's requests carry.
#[derive(Clone)]
pub enum Source {
    /// One prompt per request.
    Prompts(Arc<Prompts>),
    /// Turns of sessions, each carrying its history.
    Sessions(Arc<SessionSet>),
}

/// One worker thread's context: its sender (its own connections) and what it sends.
pub struct Worker {
    pub sender: Arc<Sender>,
    pub source: Source,
}

/// Starts one worker's share of a phase; the handle ends when its last request has.
pub fn dispatch(w: &Worker, load: Load) -> JoinHandle<()> {
    let sh = w.sender.clone();
    match (&w.source, load) {
        (Source::Prompts(p), Load::Closed(l)) => tokio::spawn(closed::run(sh, p.clone(), l)),
        (Source::Prompts(p), Load::Open(l)) => tokio::spawn(open::run(sh, p.clone(), l)),
        (Source::Sessions(s), Load::Closed(l)) => tokio::spawn(sessions::closed(sh, s.clone(), l)),
        (Source::Sessions(s), Load::Open(l)) if s.replay => tokio::spawn(sessions::replay(sh, s.clone(), l)),
        (Source::Sessions(s), Load::Open(l)) => tokio::spawn(sessions::open(sh, s.clone(), l)),
        (Source::Sessions(s), Load::Users(l)) => tokio::spawn(user_centric::run(sh, s.clone(), l)),
        (Source::Prompts(_), Load::Users(_)) => {
            // A single-turn --input-file gives no conversations to run per user.
            sh.ctl.fail(anyhow::anyhow!(
                "--user-centric-rate: the dataset has no sessions (use a multi_turn --input-file)"
            ));
            tokio::spawn(async {})
        }
    }
}
