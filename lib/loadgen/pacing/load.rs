//! Each phase's load: how its requests are paced (closed loop, open loop, users), built from the
//! options, and dealt over the worker threads.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use super::arrival_schedule::ArrivalSchedule;
use super::closed::ClosedLoop;
use super::deal::Deal;
use super::open::OpenLoop;
use super::user_centric::UserLoad;
use crate::contract::records::Phase;
use crate::loadgen::dataset::prompts::Prompt;
use crate::loadgen::options::Options;

/// How one phase sends its requests.
#[allow(clippy::large_enum_variant)] // one per phase
pub enum Load {
    Closed(ClosedLoop),
    Open(OpenLoop),
    /// `--user-centric-rate`: AIPerf's per-user schedule (sessions only).
    Users(UserLoad),
}

/// What paces the run besides the options.
#[derive(Clone, Copy)]
pub enum Pacing<'a> {
    /// The options' rate or concurrency.
    Options,
    /// A trace replayed on its own timestamps, in row order (each row once); its warmup is a
    /// closed loop.
    Trace(&'a [Prompt]),
}

/// The in-flight cap of an open-loop phase: one semaphore for all workers.
fn cap(opts: &Options) -> Option<Arc<Semaphore>> {
    opts.concurrency.map(|c| Arc::new(Semaphore::new(c as usize)))
}

fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

/// Warmup from `t0`: the profiling phase's load shape (closed loop for a trace),
/// `--warmup-request-count` requests, its own arrival seed.
pub fn warmup(opts: &Options, pace: Pacing, t0: Instant) -> Load {
    let count = Some(opts.warmup_request_count);
    let concurrency = opts
        .concurrency
        .or(opts.workload.user_centric.map(|(_, users)| users))
        .unwrap_or(1);
    match opts.request_rate {
        Some(rate) if matches!(pace, Pacing::Options) => Load::Open(OpenLoop {
            phase: Phase::Warmup,
            schedule: ArrivalSchedule::rate(
                opts.arrival_pattern,
                rate,
                opts.arrival_smoothness,
                opts.arrival_seed() ^ 0x3A3,
            ),
            cap: cap(opts),
            deal: Deal::ALL,
            first_request: 0,
            count,
            until: None,
            t0,
            sessions: counter(),
            next: counter(),
        }),
        _ => Load::Closed(ClosedLoop {
            phase: Phase::Warmup,
            concurrency,
            tasks: 0..concurrency,
            next: counter(),
            sessions: counter(),
            t0,
            first_request: 0,
            count,
            until: None,
            ramp: opts.concurrency_ramp_duration,
        }),
    }
}

/// Profiling from `p0`: a trace's own send times, else a rate, else a closed loop; `count`
/// requests (None: until the duration ends).
pub fn profiling(opts: &Options, pace: Pacing, count: Option<u64>, p0: Instant) -> Load {
    let until = opts.benchmark_duration;
    let first_request = profiling_first_request(opts, matches!(pace, Pacing::Trace(_)));
    if let Some((qps, users)) = opts.workload.user_centric {
        return Load::Users(UserLoad {
            qps,
            users,
            first_request,
            count,
            until: until.map(|d| super::deadline::after(p0, d)),
            t0: p0,
            next: counter(),
            deal: Deal::ALL,
        });
    }
    let open = |schedule, first_request| {
        Load::Open(OpenLoop {
            phase: Phase::Profiling,
            schedule,
            cap: cap(opts),
            deal: Deal::ALL,
            first_request,
            count,
            until,
            t0: p0,
            sessions: counter(),
            next: counter(),
        })
    };
    match (pace, opts.request_rate) {
        (Pacing::Trace(rows), _) => {
            let offsets = rows.iter().map(|p| p.timestamp_ms.unwrap_or(0.0));
            open(ArrivalSchedule::trace(offsets), first_request)
        }
        (Pacing::Options, Some(rate)) => open(
            ArrivalSchedule::rate(
                opts.arrival_pattern,
                rate,
                opts.arrival_smoothness,
                opts.arrival_seed(),
            ),
            first_request,
        ),
        (Pacing::Options, None) => Load::Closed(ClosedLoop {
            phase: Phase::Profiling,
            concurrency: opts.concurrency.unwrap_or(1),
            tasks: 0..opts.concurrency.unwrap_or(1),
            next: counter(),
            sessions: counter(),
            t0: p0,
            first_request,
            count,
            until: until.map(|d| super::deadline::after(p0, d)),
            ramp: opts.concurrency_ramp_duration,
        }),
    }
}

/// The request number (`session_num`) of the profiling phase's first request: after the
/// warmup's, except on a trace's schedule, whose rows are numbered from 0.
pub fn profiling_first_request(opts: &Options, trace: bool) -> u64 {
    if trace {
        0
    } else {
        opts.warmup_request_count
    }
}

/// `c` tasks over `n` workers: worker `w`'s share (the shares add up to `c`).
pub fn share(c: u64, n: u64, w: u64) -> u64 {
    c / n + u64::from(w < c % n)
}

impl Load {
    /// Splits one phase's load into `n` shares, one per worker thread: a closed loop's tasks are
    /// split, an open loop's arrivals and a user-centric run's users dealt ([`Deal`]); the
    /// counters stay shared.
    pub fn split(self, n: usize) -> Vec<Load> {
        let n64 = n as u64;
        match self {
            Load::Closed(l) => (0..n64)
                .map(|w| {
                    let first = (0..w).map(|v| share(l.concurrency, n64, v)).sum::<u64>();
                    Load::Closed(ClosedLoop {
                        tasks: first..first + share(l.concurrency, n64, w),
                        ..l.clone()
                    })
                })
                .collect(),
            Load::Open(l) => (0..n64)
                .map(|w| {
                    Load::Open(OpenLoop {
                        phase: l.phase,
                        schedule: l.schedule.restarted(),
                        cap: l.cap.clone(),
                        deal: Deal {
                            worker: w,
                            workers: n64,
                        },
                        first_request: l.first_request,
                        count: l.count,
                        until: l.until,
                        t0: l.t0,
                        sessions: l.sessions.clone(),
                        next: l.next.clone(),
                    })
                })
                .collect(),
            Load::Users(l) => (0..n64)
                .map(|w| {
                    Load::Users(UserLoad {
                        deal: Deal {
                            worker: w,
                            workers: n64,
                        },
                        ..l.clone()
                    })
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        for c in [1u64, 2, 7, 8, 1000, 1001] {
            for n in 1..=16u64 {
                let s: Vec<u64> = (0..n).map(|w| share(c, n, w)).collect();
                assert_eq!(s.iter().sum::<u64>(), c, "c={c} n={n}");
                assert!(s.iter().max().unwrap() - s.iter().min().unwrap() <= 1);
            }
        }
    }
}
