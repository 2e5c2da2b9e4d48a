//! All cores: `--workers N` event-loop threads, each a current-thread tokio runtime with its own
//! connections (its own [`crate::loadgen::http::replicas::Replicas`]), fed the same phases.
//!
//! One event loop per thread keeps the hot path free of cross-thread wake-ups; the threads share
//! only what has to be one for the whole run: the request counter (closed loop), the schedule
//! (open loop), the in-flight cap, the stop/cancel signals and the writer's queue, so records keep
//! streaming from the one writer thread in completion order.
//!
//! How a phase is dealt ([`Load::split`]):
//! - closed loop: the concurrency is split (worker `w` of `n` runs `c/n` tasks, one more for the
//!   first `c mod n`; the sum is exact); every task draws the next request number from one shared
//!   counter, so request numbers, ids and the run size are what one worker would give. The ramp
//!   keeps the global task index: task `g` of `c` starts at `t0 + ramp·g/c`, whichever worker runs it.
//! - open loop and trace replay: every worker walks the same schedule (same seed, same offsets
//!   from the same `t0`) and sends entry `i` when `i mod n == w`: the union of intended send times
//!   is exactly one worker's, and each request keeps its own `scheduled_ns` and dispatch lag. The
//!   in-flight cap is one semaphore shared by all.
//!
//! - sessions (multi-turn, [`crate::loadgen::pacing::sessions`]): a session stays on the worker that started it,
//!   its history and turn delays on that event loop. Closed loop: the session slots are split as
//!   above and every slot takes the next session from one shared counter, so the conversations run
//!   and their turns are one worker's. Under a rate: the arrival ticks are dealt as above (same
//!   request numbers and `scheduled_ns`), and a worker gives its tick to one of its own sessions
//!   waiting for its next turn before it starts a new one.
//! - user-centric ([`crate::loadgen::pacing::user_centric`]): every worker computes AIPerf's per-user schedule
//!   and runs user `u` when `u mod n == w`; request numbers come from one shared counter.
//!
//! The main thread only waits: for the phase to end, a Ctrl-C or the hard deadline.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::loadgen::pacing::load::Load;
use crate::loadgen::pacing::{dispatch, panics, Worker};
use crate::loadgen::record::run_info::thread_cpu_seconds;

/// The default `--workers`: the CPUs this process may run on (affinity and cgroup quota), never
/// more than the requests that can be in flight.
pub fn default_count(concurrency: Option<u64>) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    concurrency.map_or(cpus, |c| cpus.min(c.max(1) as usize))
}

/// One phase's work for one worker; `done` gets the worker thread's CPU seconds for the phase.
struct Job {
    load: Load,
    done: oneshot::Sender<f64>,
}

/// The running worker threads.
pub struct Workers {
    jobs: Vec<mpsc::UnboundedSender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Each worker's CPU seconds in the last phase that ended.
    cpu: Arc<Mutex<Vec<f64>>>,
}

impl Workers {
    /// Starts one thread per [`Worker`] (each with its own clients). With `realtime`, each event
    /// loop asks for SCHED_FIFO; the error of the first refusal comes back.
    pub fn start(shared: Vec<Worker>, realtime: bool) -> anyhow::Result<(Workers, Option<String>)> {
        let mut jobs = Vec::new();
        let mut threads = Vec::new();
        let (rt_tx, rt_rx) = std::sync::mpsc::channel::<Option<String>>();
        for (w, sh) in shared.into_iter().enumerate() {
            let (tx, rx) = mpsc::unbounded_channel::<Job>();
            let rt_tx = rt_tx.clone();
            let t = std::thread::Builder::new()
                .name(format!("loadgen-w{w}"))
                .spawn(move || worker_main(sh, rx, realtime, rt_tx))
                .map_err(|e| anyhow!("cannot start worker thread {w}: {e}"))?;
            jobs.push(tx);
            threads.push(t);
        }
        drop(rt_tx);
        let refused = rt_rx.iter().flatten().next();
        let cpu = Arc::new(Mutex::new(Vec::new()));
        Ok((Workers { jobs, threads, cpu }, refused))
    }

    pub fn count(&self) -> usize {
        self.jobs.len()
    }

    /// Deals `load` to the workers; the handle ends when every worker's share has ended (then
    /// [`Workers::last_cpu`] has each worker's CPU seconds for it).
    pub fn run(&self, load: Load) -> JoinHandle<()> {
        let mut dones = Vec::new();
        for (tx, load) in self.jobs.iter().zip(load.split(self.count())) {
            let (done, rx) = oneshot::channel();
            // A worker that is gone (it panicked) simply reports nothing.
            let _ = tx.send(Job { load, done });
            dones.push(rx);
        }
        let slot = self.cpu.clone();
        tokio::spawn(async move {
            let mut cpu = Vec::with_capacity(dones.len());
            for d in dones {
                cpu.push(d.await.unwrap_or(0.0));
            }
            *slot.lock().unwrap() = cpu;
        })
    }

    /// Each worker thread's CPU seconds in the last phase that ran to its end.
    pub fn last_cpu(&self) -> Vec<f64> {
        self.cpu.lock().unwrap().clone()
    }

    /// Ends the threads (their connections close with their runtimes).
    pub fn stop(self) {
        drop(self.jobs);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn worker_main(
    sh: Worker,
    mut rx: mpsc::UnboundedReceiver<Job>,
    realtime: bool,
    rt_err: std::sync::mpsc::Sender<Option<String>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            sh.sender
                .ctl
                .fail(anyhow!("cannot start a worker's async runtime: {e}"));
            let _ = rt_err.send(None);
            return;
        }
    };
    let refused = if realtime {
        crate::io::timer::make_thread_realtime()
            .err()
            .map(|e| e.to_string())
    } else {
        None
    };
    let _ = rt_err.send(refused);
    drop(rt_err);
    rt.block_on(async move {
        while let Some(job) = rx.recv().await {
            let c0 = thread_cpu_seconds();
            panics::check(dispatch(&sh, job.load).await, &sh.sender.ctl);
            let _ = job.done.send(thread_cpu_seconds() - c0);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_count_never_exceeds_the_requests_in_flight() {
        assert_eq!(default_count(Some(1)), 1);
        assert_eq!(default_count(Some(0)), 1);
        assert!(default_count(None) >= 1);
    }
}
