//! `--request-cancellation-rate` / `--request-cancellation-delay`: AIPerf's client-side
//! cancellation. Which requests are cut is AIPerf's draw exactly (one `random() < rate/100` per
//! profiling request, in issue order, from the `timing.request.cancellation` stream of the seed;
//! warmup requests are never cut). A chosen request's timer starts when its body has been written
//! to the socket; when it fires the request future is dropped, which closes the connection, so
//! the server sees the client go. The record ([`Exchange::mark_cancelled`]) is AIPerf's (code 499, `RequestCancellationError`,
//! `was_cancelled`, `cancellation_time_ns`), except that `request_start_ns` stays the real start
//! (AIPerf rebuilds the record at the cut and stamps its start there).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::loadgen::options::CancelSpec;
use crate::loadgen::py_random::PyRandom;

/// AIPerf's stream name for the cancellation draws.
const STREAM: &str = "timing.request.cancellation";

/// The run's cancellation draws.
pub struct Cancellation {
    spec: CancelSpec,
    /// The generator and the draws made so far (index = profiling issue order).
    draws: Mutex<(PyRandom, Vec<bool>)>,
}

impl Cancellation {
    pub fn new(spec: CancelSpec, seed: u64) -> Cancellation {
        Cancellation {
            spec,
            draws: Mutex::new((PyRandom::derived(seed, STREAM), Vec::new())),
        }
    }

    /// Whether the profiling request issued `k`-th (from 0) is cut, and how long after it was
    /// written. Draws are made in order up to `k`, so the answer does not depend on call order.
    pub fn chosen(&self, k: u64) -> Option<Duration> {
        // The draws stay consistent even if a holder panicked: a poisoned lock is not a new failure.
        let mut g = self
            .draws
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (rng, drawn) = &mut *g;
        let threshold = self.spec.rate_percent / 100.0;
        while drawn.len() as u64 <= k {
            drawn.push(rng.random() < threshold);
        }
        drawn[k as usize].then(|| crate::contract::seconds::duration(self.spec.delay_s))
    }
}

/// A sender for the instant the request body was fully written, and the cut that waits for it.
pub fn written_signal() -> (oneshot::Sender<Instant>, oneshot::Receiver<Instant>) {
    oneshot::channel()
}

/// Resolves `delay` after the body was written; never, if it never is (the request failed first).
pub async fn cut_after(written: oneshot::Receiver<Instant>, delay: Duration) {
    match written.await {
        Ok(at) => crate::io::timer::sleep_until(at + delay).await,
        Err(_) => std::future::pending().await,
    }
}

/// Runs `request` unless the cut comes first; `None` means it was cut (and dropped, closing its
/// connection).
pub async fn race<F: Future>(request: F, cut: impl Future<Output = ()>) -> Option<F::Output> {
    tokio::select! {
        biased;
        out = request => Some(out),
        _ = cut => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draws_are_aiperfs_and_independent_of_call_order() {
        let c = Cancellation::new(
            CancelSpec {
                rate_percent: 40.0,
                delay_s: 0.02,
            },
            3,
        );
        // Asked out of order (tasks race), the answer per index is the same.
        assert!(c.chosen(18).is_some());
        let chosen: Vec<u64> = (0..20).filter(|&k| c.chosen(k).is_some()).collect();
        assert_eq!(chosen, [0, 4, 6, 8, 10, 14, 15, 18]);
        assert_eq!(c.chosen(0), Some(Duration::from_millis(20)));
    }
}
