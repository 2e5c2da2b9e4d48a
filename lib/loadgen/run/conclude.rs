//! The ending: judges the client, writes the run info, and decides how the run ended and what
//! its user is told.

use std::time::Instant;

use anyhow::anyhow;

use super::phases::Ran;
use super::setup::Plan;
use super::writer::{Tallies, WorkerTally};
use crate::contract::run_info::{Client as ClientHealth, EndReason, PhaseWindow, RunEnd};
use crate::io::clock::Clock;
use crate::io::outcome::Outcome;
use crate::loadgen::options::Options;
use crate::loadgen::pacing::control::Control;
use crate::loadgen::record::run_info;

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

/// Everything known when the writer has finished: the run info, the warnings and the verdict
/// are made from it.
pub struct Ending<'a> {
    pub opts: &'a Options,
    pub clock: Clock,
    pub benchmark_id: String,
    pub plan: Plan,
    /// Process CPU seconds over the load phases.
    pub cpu: f64,
    pub ran: Ran,
    pub rep: Tallies,
    pub ctl: &'a Control,
}

impl Ending<'_> {
    /// Judges the client, writes the run info, fills the report and decides how the run ended.
    pub fn conclude(
        self,
        warnings_out: &mut Vec<String>,
        summary: &mut Option<PhaseSummary>,
    ) -> anyhow::Result<Outcome> {
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
        let mut warnings = run_info::client_bound_warnings(
            &rep.health,
            self.plan.open_loop(opts),
            loop_cpu,
            wall,
            rep.rx.lag_p99(),
        );
        warnings.extend(rep.rx.window_warning());
        warnings_out.extend(warnings.iter().cloned());
        let fatal = self.ctl.take_fatal();
        let ended = self.ctl.take_ended();
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
                interrupted || fatal.is_some() || self.ctl.cancelled(),
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
        *summary = Some(PhaseSummary {
            sessions: self.plan.multi_turn.then_some(rep.profiling.sessions),
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
            .plan
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
            dataset_entries: self.plan.dataset_entries,
            trace: self.plan.trace,
            warmup: self.ran.warmup_start.map(|t0| PhaseWindow {
                start_ns: clock.wall_ns(t0),
                end_ns: clock.wall_ns(rep.warmup.last_end.unwrap_or(t0).max(t0)),
                requests: rep.warmup.requests,
                sessions: self.plan.multi_turn.then_some(rep.warmup.sessions),
            }),
            profiling: PhaseWindow {
                start_ns: clock.wall_ns(p0),
                end_ns: clock.wall_ns(p_end),
                requests: rep.profiling.requests,
                sessions: self.plan.multi_turn.then_some(rep.profiling.sessions),
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
}
