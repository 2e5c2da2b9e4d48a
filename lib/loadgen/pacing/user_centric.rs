//! `--user-centric-rate QPS --num-users N`: AIPerf 0.13's per-user schedule
//! (`aiperf/timing/strategies/user_centric_rate.py`).
//!
//! Each user runs one session; its turns are `N / QPS` seconds apart (the gap, measured between
//! planned sends: a late reply pushes the next turn to when it returns; dataset delays are
//! ignored). Users start staggered `1 / QPS` apart, and at t = 0 the schedule already looks like
//! steady state: with `T` the dataset's average turns and `L = max(1, T − 1)`, user `i` of the
//! first `N` is "`(N − i)·L` turn gaps old", has `L − age/N` turns left (none: its id is used up
//! and it is skipped) and starts at slot `order`; a fresh user with a whole conversation starts at
//! once. When a user's planned turns are over (`first send + turns · gap`), a new user takes its
//! place. Session ids (`x_correlation_id`) are the user numbers `"1"`, `"2"`, ….
//!
//! On `n` workers each computes the whole schedule and runs user `u` when `u mod n` is its own
//! index; the request numbers come from one counter shared by all.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use super::deal::Deal;
use super::panics;
use super::send::Sender;
use super::sessions::{run_session, Counter, Pace, SessionRun, SessionSet};
use crate::contract::records::Phase;

/// The profiling phase of a user-centric run.
#[derive(Clone)]
pub struct UserLoad {
    pub qps: f64,
    pub users: u64,
    /// The request number (`session_num` in the records) of the phase's first request.
    pub first_request: u64,
    pub count: Option<u64>,
    pub until: Option<Instant>,
    pub t0: Instant,
    /// The next request number, shared by every worker.
    pub next: Arc<AtomicU64>,
    /// This worker runs the users [`Deal::takes`].
    pub deal: Deal,
}

/// One user of the opening schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub id: u64,
    pub max_turns: usize,
    /// First send at `t0 + order / qps`.
    pub order: u64,
}

/// The users present at t = 0, in AIPerf's order (the fresh user last), and the next free id.
/// `fresh_turns` is the first fresh user's conversation length.
pub fn opening(n: u64, average_turns: f64, fresh_turns: usize) -> (Vec<User>, u64) {
    let l = (average_turns.round() as u64).saturating_sub(1).max(1);
    let alt = gcd(n, l) > 1;
    let step = (2..n).find(|&s| gcd(n, s) == 1).unwrap_or(1);
    let mut next_id = 1;
    let mut users = Vec::new();
    for i in 0..n {
        let age = (n - i) * l;
        let left = l as i64 - (age / n) as i64;
        if left <= 0 {
            next_id += 1;
            continue;
        }
        let slot = if alt { (i * step) % n } else { age % n };
        users.push(User {
            id: next_id,
            max_turns: left as usize,
            order: n - slot,
        });
        next_id += 1;
    }
    users.push(User {
        id: next_id,
        max_turns: fresh_turns,
        order: 0,
    });
    (users, next_id + 1)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Runs the phase: the opening users, then a new user each time one's planned turns are over.
pub async fn run(sh: Arc<Sender>, set: Arc<SessionSet>, l: UserLoad) {
    let convs = &set.conversations;
    let average = convs.iter().map(|c| c.turns.len()).sum::<usize>() as f64 / convs.len() as f64;
    let gap = crate::contract::seconds::duration(l.users as f64 / l.qps);
    let stagger = 1.0 / l.qps;
    let cap = set.cap;
    let counter = Arc::new(Counter::new(l.next.clone(), l.first_request, l.count, l.until));
    let mut sessions = 0u64;
    // The fresh user at t = 0 runs the conversation after the opening users'.
    let (mut users, mut next_id) = opening(l.users, average, 0);
    let fresh_conv = (users.len() as u64 - 1) % convs.len() as u64;
    users.last_mut().unwrap().max_turns = convs[fresh_conv as usize].turns.len();
    let mut heap = BinaryHeap::new();
    let mut tasks = tokio::task::JoinSet::new();
    let deal = l.deal;
    // Every worker walks the whole schedule (so its stops fall where one worker's would) and
    // runs its own users.
    let start = |user: User, at: Instant, index: u64, tasks: &mut tokio::task::JoinSet<()>| {
        let end = at + gap.saturating_mul(user.max_turns.min(u32::MAX as usize) as u32);
        if !deal.takes(user.id) {
            return end;
        }
        let (sh, set, counter) = (sh.clone(), set.clone(), counter.clone());
        tasks.spawn(async move {
            let mut stop = sh.ctl.on_stop();
            tokio::select! {
                _ = crate::io::timer::sleep_until(at) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let Some(first) = counter.take() else { return };
            let run = SessionRun {
                index,
                correlation: Arc::from(user.id.to_string()),
                max_turns: user.max_turns,
                first: Some((first, Some(at))),
                planned: Some(at),
            };
            run_session(
                &sh,
                &set,
                Phase::Profiling,
                run,
                &Pace::User {
                    counter: &counter,
                    gap,
                },
            )
            .await;
        });
        end
    };
    for u in users {
        if cap.is_some_and(|c| sessions >= c) {
            break;
        }
        let at = l.t0 + crate::contract::seconds::duration(stagger * u.order as f64);
        heap.push(Reverse(start(u, at, sessions, &mut tasks)));
        sessions += 1;
    }
    let mut stop = sh.ctl.on_stop();
    while let Some(Reverse(at)) = heap.pop() {
        if cap.is_some_and(|c| sessions >= c) || counter.exhausted() || *stop.borrow() {
            break;
        }
        if l.until.is_some_and(|u| at >= u) {
            break;
        }
        tokio::select! {
            _ = crate::io::timer::sleep_until(at) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        panics::reap(&mut tasks, &sh.ctl);
        let turns = convs[(sessions % convs.len() as u64) as usize].turns.len();
        let u = User {
            id: next_id,
            max_turns: turns,
            order: 0,
        };
        next_id += 1;
        heap.push(Reverse(start(u, at, sessions, &mut tasks)));
        sessions += 1;
    }
    panics::join_all(&mut tasks, &sh.ctl).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_schedule_is_aiperfs() {
        // AIPerf's observed run: qps 10, 4 users, 3 turns: user 1 is "virtually done", users 2, 3
        // have one turn left, user 4 two, and fresh user 5 starts at once with all three.
        let (users, next) = opening(4, 3.0, 3);
        assert_eq!(
            users,
            vec![
                User {
                    id: 2,
                    max_turns: 1,
                    order: 1
                },
                User {
                    id: 3,
                    max_turns: 1,
                    order: 2
                },
                User {
                    id: 4,
                    max_turns: 2,
                    order: 3
                },
                User {
                    id: 5,
                    max_turns: 3,
                    order: 0
                },
            ]
        );
        assert_eq!(next, 6);
        // Replacement times (first send + turns * gap, gap 400 ms): 500, 600, 1100, 1200 ms —
        // the new users 6, 7, 8, 9 of AIPerf's run.
        let ends: Vec<u64> = users
            .iter()
            .map(|u| u.order * 100 + u.max_turns as u64 * 400)
            .collect();
        assert_eq!(ends, [500, 600, 1100, 1200]);
    }

    #[test]
    fn two_turn_conversations_and_coprime_slots() {
        let (users, _) = opening(3, 2.0, 2);
        assert_eq!(users.len(), 3, "user 1 is virtually done: {users:?}");
        let orders: std::collections::HashSet<u64> = users.iter().map(|u| u.order).collect();
        assert_eq!(orders.len(), 3, "every user has its own slot: {users:?}");
        assert!(users.iter().all(|u| u.max_turns >= 1));
    }
}
