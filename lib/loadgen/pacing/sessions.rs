//! Multi-turn sessions at run time, scheduled as AIPerf 0.13 schedules them.
//!
//! A session runs one conversation template turn by turn, keeping its history (the user messages
//! sent and the replies received), so turn k carries everything before it. Concurrency counts
//! sessions: `--concurrency N` keeps N sessions in flight, a session holding its slot from its
//! first turn to its last reply, think time included. A turn's delay is waited after the previous
//! reply ends. Under a rate, every turn takes one arrival tick, and a session's next turn, once
//! its delay is over, takes the next tick before any new session does. Stops: `--request-count`
//! counts turns (and may cut a session short), `--conversation-num` counts sessions started (each
//! finishes its turns), `--benchmark-duration` stops new turns. A trace of sessions on its fixed
//! schedule ([`replay`]) starts each session at its first turn's time and sends a later turn at
//! its own time if stamped, else its delay after the previous reply (AIPerf's rule).
//!
//! On several workers ([`crate::loadgen::run::workers`]) a session lives on the event loop that started it
//! (its history and delays never cross threads); what the workers share is the phase's request
//! counter and session counter, so the session numbers (conversations) and request numbers are
//! those of one worker. Closed loop: the session slots are split over the workers. Under a rate:
//! worker `w` of `n` takes arrival tick `i` when `i mod n == w`, and gives it to one of its own
//! sessions waiting for its next turn before it starts a new one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::closed::{ramp_up, ClosedLoop};
use super::open::{tick, OpenLoop};
use super::panics;
use super::send::{Due, Outgoing, Sender};
use crate::contract::records::Phase;
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::dataset::conversation::{self, Conversation, Role};
use crate::loadgen::dataset::sampling::Sampler;
use crate::loadgen::http::client;
use crate::loadgen::options::EndpointType;
use crate::loadgen::options::SamplingStrategy;

/// `[conversation][turn]`: the history a turn carried when it was sent, once known. Its messages
/// are the session's own `Arc`s, so a 1,000-turn session keeps pointers, not 1,000 growing bodies.
type SentBodies = Vec<Vec<Option<Vec<(Role, UserContent)>>>>;

/// The conversations of a run, and the bodies their first sessions sent (for `inputs.json`).
pub struct SessionSet {
    pub conversations: Vec<Conversation>,
    /// Sessions the profiling phase starts at most (None: only the request count or time stops it).
    pub cap: Option<u64>,
    /// `[conversation][turn]`: the body turn k carried the first time the conversation ran.
    sent: Option<Mutex<SentBodies>>,
    /// A session trace on a fixed schedule: the profiling phase runs [`replay`].
    pub replay: bool,
    /// The API flavour the bodies are rebuilt in for `inputs.json`.
    kind: EndpointType,
    /// Which conversation session `s` runs (`--dataset-sampling-strategy`).
    pub sampler: Sampler,
}

impl SessionSet {
    pub fn new(
        conversations: Vec<Conversation>,
        cap: Option<u64>,
        keep_bodies: bool,
        kind: EndpointType,
    ) -> SessionSet {
        let sent = keep_bodies
            .then(|| Mutex::new(conversations.iter().map(|c| vec![None; c.turns.len()]).collect()));
        let n = conversations.len();
        SessionSet {
            conversations,
            cap,
            sent,
            replay: false,
            kind,
            sampler: Sampler::new(SamplingStrategy::Sequential, n, 0),
        }
    }

    /// Turns the profiling phase sends when every capped session runs to its end (the progress total).
    pub fn planned_turns(&self) -> Option<u64> {
        self.cap.map(|cap| {
            (0..cap)
                .map(|s| self.conversations[self.sampler.pick(s)].turns.len() as u64)
                .sum()
        })
    }

    /// Rewrites `inputs.json` with every turn as it was sent (history included).
    pub fn write_inputs_json(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let sent = self.sent.as_ref().map(|m| m.lock().unwrap());
        conversation::write_inputs_json(path, &self.conversations, |c, k| {
            let conv = &self.conversations[c];
            let history = sent.as_ref().and_then(|s| s[c][k].as_ref())?;
            (k > 0 && conv.carries_history).then(|| conv.payload(self.kind, k, history))
        })
    }

    /// Notes the history turn `k` of conversation `c` carried, the first time it is sent.
    fn keep(&self, c: usize, k: usize, history: &[(Role, UserContent)]) {
        if let Some(m) = &self.sent {
            let mut s = m.lock().unwrap();
            if s[c][k].is_none() {
                s[c][k] = Some(history.to_vec());
            }
        }
    }
}

/// Where a session's turns after the first get their send slot.
pub enum Pace<'a> {
    /// Closed loop: the next request number from the phase's counter, at once.
    Counter(&'a Counter),
    /// Under a rate: the dispatcher's next tick (None: the phase is over).
    Ticks(mpsc::UnboundedSender<Waiter>),
    /// User-centric: the next turn at `max(now, previous planned + gap)`; dataset delays ignored.
    User { counter: &'a Counter, gap: Duration },
    /// Trace replay: a stamped turn at `t0 + at_ms` (at once if that has passed), else its delay.
    Trace { counter: &'a Counter, t0: Instant },
}

/// A phase's request numbers: the next one (shared by every worker), where they start, and the
/// count that ends the phase.
pub struct Counter {
    pub next: Arc<AtomicU64>,
    pub first: u64,
    pub count: Option<u64>,
    pub until: Option<Instant>,
}

impl Counter {
    /// Counts on `next` (the phase's request counter, one for all workers).
    pub fn new(next: Arc<AtomicU64>, first: u64, count: Option<u64>, until: Option<Instant>) -> Counter {
        Counter {
            next,
            first,
            count,
            until,
        }
    }

    /// The next request's `session_num`, or None when the phase has sent its count or its time is up.
    pub fn take(&self) -> Option<u64> {
        if self.until.is_some_and(|u| Instant::now() >= u) {
            return None;
        }
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        if self.count.is_some_and(|c| k >= c) {
            return None;
        }
        Some(self.first + k)
    }

    pub fn exhausted(&self) -> bool {
        self.count.is_some_and(|c| self.next.load(Ordering::Relaxed) >= c)
            || self.until.is_some_and(|u| Instant::now() >= u)
    }
}

/// One session to run: which execution it is, its id and how many turns it may send.
pub struct SessionRun {
    /// Phase-local session number: conversation `index % conversations` runs.
    pub index: u64,
    pub correlation: Arc<str>,
    /// At most this many turns (user-centric users that start "part way" send fewer).
    pub max_turns: usize,
    /// The first turn's request number and scheduled time, when the dispatcher already gave them.
    pub first: Option<(u64, Option<Instant>)>,
    /// User-centric: when the first turn is planned.
    pub planned: Option<Instant>,
}

/// Runs one session's turns; false when the phase is over (count, time or stop).
pub async fn run_session(
    sh: &Sender,
    set: &SessionSet,
    phase: Phase,
    run: SessionRun,
    pace: &Pace<'_>,
) -> bool {
    let c = set.sampler.pick(run.index);
    let conv = &set.conversations[c];
    let kind = sh.replicas.kind();
    let mut history: Vec<(Role, UserContent)> = Vec::new();
    let mut first = run.first;
    let mut planned = run.planned;
    let mut stop = sh.ctl.on_stop();
    for (k, turn) in conv.turns.iter().enumerate().take(run.max_turns) {
        let after_delay = || {
            turn.delay_ms
                .map(|d| Instant::now() + crate::contract::seconds::duration(d / 1000.0))
        };
        // A replayed turn's place on the trace's clock (its record's `scheduled_ns`).
        let stamped = match (pace, k) {
            (Pace::Trace { t0, .. }, 1..) => turn
                .at_ms
                .map(|ms| *t0 + crate::contract::seconds::duration(ms / 1000.0)),
            _ => None,
        };
        let wait_until = match (pace, k) {
            (_, 0) => None,
            (Pace::User { gap, .. }, _) => planned.map(|p| (p + *gap).max(Instant::now())),
            _ => stamped.or_else(after_delay),
        };
        if let Some(at) = wait_until {
            tokio::select! {
                _ = crate::io::timer::sleep_until(at) => {}
                _ = stop.wait_for(|s| *s) => return false,
            }
            if matches!(pace, Pace::User { .. }) {
                planned = Some(at);
            }
        }
        if sh.ctl.stopped() {
            return false;
        }
        let (request_num, scheduled) = match first.take() {
            Some(f) => f,
            None => match next_slot(pace, planned, stamped).await {
                Some(slot) => slot,
                None => return false,
            },
        };
        let payload = (k > 0 && conv.carries_history).then(|| conv.payload(kind, k, &history));
        let body = match &payload {
            Some(p) => bytes::Bytes::from(serde_json::to_vec(p).expect("a JSON map serializes")),
            None => turn.alone.body.bytes(),
        };
        set.keep(c, k, &history);
        let out = Outgoing {
            body,
            isl: turn.alone.isl,
            max_tokens: turn.alone.max_tokens,
            conversation: conv.id.clone(),
            turn_index: k as u32,
            correlation: Some(run.correlation.clone()),
            isl_payload: payload,
            want_reply: conv.carries_history && k + 1 < conv.turns.len().min(run.max_turns),
            audio_seconds: turn.content.audio_seconds(),
            // Every turn of a session goes to the replica its first turn went to.
            replica: run.index,
        };
        let due = Due {
            scheduled,
            ready: Instant::now(),
        };
        let sent = sh.send(request_num, phase, due, out).await;
        history.push((Role::User, turn.content.clone()));
        if let Some(r) = sent.reply {
            history.push((Role::Assistant, UserContent::text(r)));
        }
        if sent.refused && !sh.back_off().await {
            return false;
        }
    }
    true
}

/// The request number and scheduled time of a session's next turn (None: the phase is over):
/// from the phase's counter (scheduled when `planned` by a user, or `stamped` by a trace), or
/// the dispatcher's next tick.
async fn next_slot(
    pace: &Pace<'_>,
    planned: Option<Instant>,
    stamped: Option<Instant>,
) -> Option<(u64, Option<Instant>)> {
    match pace {
        Pace::Counter(n) | Pace::User { counter: n, .. } | Pace::Trace { counter: n, .. } => {
            let s = n.take()?;
            Some(if matches!(pace, Pace::User { .. }) {
                (s, planned)
            } else {
                (s, stamped)
            })
        }
        Pace::Ticks(ready) => {
            let (tx, rx) = oneshot::channel();
            ready.send(tx).ok()?;
            rx.await.ok().map(|(s, at)| (s, Some(at)))
        }
    }
}

/// A session's id (AIPerf's `x_correlation_id`): a UUID per execution, distinct per phase.
fn correlation(sh: &Sender, phase: Phase, index: u64) -> Arc<str> {
    let salt = if phase == Phase::Warmup {
        0x5E55_0001
    } else {
        0x5E55_0002
    };
    Arc::from(client::request_id(sh.nonce ^ salt, index))
}

/// The phase's session cap: the profiling phase's `--conversation-num` (or each conversation
/// once); warmup is bounded by its request count alone.
fn cap(set: &SessionSet, phase: Phase) -> Option<u64> {
    match phase {
        Phase::Warmup => None,
        _ => set.cap,
    }
}

/// Closed loop: each of this worker's session slots (tasks) runs sessions one after another; the
/// session numbers come from the phase's shared session counter.
pub async fn closed(sh: Arc<Sender>, set: Arc<SessionSet>, l: ClosedLoop) {
    let counter = Arc::new(Counter::new(l.next.clone(), l.first_request, l.count, l.until));
    let cap = cap(&set, l.phase);
    let n = cap.map_or(l.concurrency, |c| c.min(l.concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for g in l.tasks.clone().filter(|g| *g < n) {
        let (sh, set, counter, next_session) = (sh.clone(), set.clone(), counter.clone(), l.sessions.clone());
        let (phase, ramp, t0) = (l.phase, l.ramp, l.t0);
        tasks.spawn(async move {
            if ramp_up(&sh.ctl, ramp, t0, g, n).await.is_err() {
                return;
            }
            loop {
                if sh.ctl.stopped() || counter.exhausted() {
                    break;
                }
                let index = next_session.fetch_add(1, Ordering::Relaxed);
                if cap.is_some_and(|c| index >= c) {
                    break;
                }
                let run = SessionRun {
                    index,
                    correlation: correlation(&sh, phase, index),
                    max_turns: usize::MAX,
                    first: None,
                    planned: None,
                };
                if !run_session(&sh, &set, phase, run, &Pace::Counter(&counter)).await {
                    break;
                }
            }
        });
    }
    panics::join_all(&mut tasks, &sh.ctl).await;
}

/// A session waiting for its next turn's tick.
type Waiter = oneshot::Sender<(u64, Instant)>;

/// Gives `credit` to the first waiting session (one whose waiter is gone is skipped).
fn hand_over(ready: &mut mpsc::UnboundedReceiver<Waiter>, credit: (u64, Instant)) -> bool {
    while let Ok(w) = ready.try_recv() {
        if w.send(credit).is_ok() {
            return true;
        }
    }
    false
}

/// Under a rate: at each of this worker's ticks, one of its sessions waiting for its next turn
/// goes first; else a new session starts, when the concurrency cap (sessions in flight, over all
/// workers) and the session cap allow.
pub async fn open(sh: Arc<Sender>, sessions: Arc<SessionSet>, l: OpenLoop) {
    let OpenLoop {
        phase,
        mut schedule,
        cap: sem,
        deal,
        first_request,
        count,
        until,
        t0,
        sessions: next_session,
        next: _,
    } = l;
    let session_cap = cap(&sessions, phase);
    let capped = || session_cap.is_some_and(|c| next_session.load(Ordering::Relaxed) >= c);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Waiter>();
    let mut ready_tx = Some(ready_tx);
    let mut stop = sh.ctl.on_stop();
    let mut set = tokio::task::JoinSet::new();
    let mut i = 0u64;
    'ticks: loop {
        if count.is_some_and(|c| i >= c) || *stop.borrow() {
            break;
        }
        let Some(off) = schedule.next_offset() else { break };
        if until.is_some_and(|u| off >= u) {
            break;
        }
        let tick = i;
        i += 1;
        if !deal.takes(tick) {
            continue;
        }
        let deadline = t0 + crate::contract::seconds::duration(off);
        tokio::select! {
            _ = crate::io::timer::sleep_until(deadline) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let credit = (first_request + tick, deadline);
        panics::reap(&mut set, &sh.ctl);
        loop {
            if hand_over(&mut ready_rx, credit) {
                continue 'ticks;
            }
            if capped() {
                ready_tx = None;
            }
            let Some(tx) = ready_tx.clone() else {
                // No new sessions: the tick waits for a continuation; none left ends the phase.
                tokio::select! {
                    w = ready_rx.recv() => match w {
                        Some(w) => if w.send(credit).is_ok() { continue 'ticks } else { continue },
                        None => break 'ticks,
                    },
                    _ = stop.wait_for(|s| *s) => break 'ticks,
                }
            };
            let permit = match &sem {
                None => None,
                Some(s) => match s.clone().try_acquire_owned() {
                    Ok(p) => Some(p),
                    Err(_) => tokio::select! {
                        p = s.clone().acquire_owned() => Some(p.expect("semaphore open")),
                        w = ready_rx.recv() => {
                            if w.is_some_and(|w| w.send(credit).is_ok()) {
                                continue 'ticks;
                            }
                            continue;
                        }
                        _ = stop.wait_for(|s| *s) => break 'ticks,
                    },
                },
            };
            // Another worker may have started the last session while this one waited.
            let index = next_session.fetch_add(1, Ordering::Relaxed);
            if session_cap.is_some_and(|c| index >= c) {
                continue;
            }
            let (sh, sessions) = (sh.clone(), sessions.clone());
            set.spawn(async move {
                let run = SessionRun {
                    index,
                    correlation: correlation(&sh, phase, index),
                    max_turns: usize::MAX,
                    first: Some((credit.0, Some(credit.1))),
                    planned: None,
                };
                run_session(&sh, &sessions, phase, run, &Pace::Ticks(tx)).await;
                drop(permit);
            });
            continue 'ticks;
        }
    }
    // Sessions still waiting for a tick end here; those in flight finish their turn.
    drop(ready_tx);
    drop(ready_rx);
    panics::join_all(&mut set, &sh.ctl).await;
}

/// A session trace on its fixed schedule: each conversation's session starts at its first turn's
/// time (the schedule's entries, in conversation order), its later turns as [`Pace::Trace`] says.
/// Request numbers go in issue order (one counter for all workers); `--concurrency` caps the
/// sessions in flight. On `n` workers, worker `w` runs conversation `k` when `k mod n == w`.
pub async fn replay(sh: Arc<Sender>, sessions: Arc<SessionSet>, l: OpenLoop) {
    let OpenLoop {
        phase,
        mut schedule,
        cap: sem,
        deal,
        first_request,
        count,
        until,
        t0,
        sessions: _,
        next,
    } = l;
    let until = until.map(|u| t0 + crate::contract::seconds::duration(u));
    let counter = Arc::new(Counter::new(next, first_request, count, until));
    let session_cap = cap(&sessions, phase);
    let conversations = sessions.conversations.len() as u64;
    let mut stop = sh.ctl.on_stop();
    let mut set = tokio::task::JoinSet::new();
    let mut index = 0u64;
    while let Some(off) = schedule.next_offset() {
        let k = index;
        index += 1;
        if k >= conversations || session_cap.is_some_and(|c| k >= c) || counter.exhausted() {
            break;
        }
        if !deal.takes(k) {
            continue;
        }
        let deadline = t0 + crate::contract::seconds::duration(off);
        let Ok(permit) = tick(deadline, sem.as_ref(), &mut stop).await else {
            break;
        };
        let Some(num) = counter.take() else { break };
        panics::reap(&mut set, &sh.ctl);
        let (sh, sessions, counter) = (sh.clone(), sessions.clone(), counter.clone());
        set.spawn(async move {
            let id = &sessions.conversations[k as usize].id;
            let run = SessionRun {
                index: k,
                // AIPerf's id for a replayed session.
                correlation: Arc::from(format!("fixed-schedule-{id}")),
                max_turns: usize::MAX,
                first: Some((num, Some(deadline))),
                planned: None,
            };
            run_session(
                &sh,
                &sessions,
                phase,
                run,
                &Pace::Trace {
                    counter: &counter,
                    t0,
                },
            )
            .await;
            drop(permit);
        });
    }
    panics::join_all(&mut set, &sh.ctl).await;
}
