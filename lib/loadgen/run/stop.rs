//! Stop constraints, guidellm style: a run against a dead or failing server ends within seconds,
//! with its reason, instead of recording thousands of instant errors and counting them in the
//! throughput. The writer thread sees every request end in order, so it is the one that watches.

use std::collections::VecDeque;
use std::time::Instant;

use crate::contract::records::ErrorKind;
use crate::contract::run_info::EndReason;
use crate::contract::settings::ERROR_RATE_WINDOW;

use crate::loadgen::options::StopLimits;

/// Watches request outcomes against the limits.
pub struct Watchdog {
    limits: StopLimits,
    errors: u64,
    /// The latest outcomes (true: failed), at most [`ERROR_RATE_WINDOW`].
    window: VecDeque<bool>,
    window_errors: usize,
    /// When the current run of refused connections began (None: the last request got through).
    refused_since: Option<Instant>,
    refused: u64,
}

impl Watchdog {
    pub fn new(limits: StopLimits) -> Watchdog {
        Watchdog {
            limits,
            errors: 0,
            window: VecDeque::with_capacity(ERROR_RATE_WINDOW),
            window_errors: 0,
            refused_since: None,
            refused: 0,
        }
    }

    /// One request ended at `at` (with `error` when it failed): the reason to stop, if a limit is crossed.
    pub fn observe(&mut self, error: Option<&ErrorKind>, at: Instant) -> Option<(EndReason, String)> {
        let failed = error.is_some_and(|k| *k != ErrorKind::RequestCancellation);
        if failed {
            self.errors += 1;
        }
        if self.window.len() == ERROR_RATE_WINDOW && self.window.pop_front() == Some(true) {
            self.window_errors -= 1;
        }
        self.window.push_back(failed);
        self.window_errors += failed as usize;
        if error == Some(&ErrorKind::Connection) {
            let since = *self.refused_since.get_or_insert(at);
            self.refused += 1;
            let down = at.saturating_duration_since(since);
            if !self.limits.max_unreachable.is_zero() && down >= self.limits.max_unreachable {
                return Some((
                    EndReason::ServerUnreachable,
                    format!(
                        "the server refused every connection for {:.1} s ({} requests)",
                        down.as_secs_f64(),
                        self.refused
                    ),
                ));
            }
        } else {
            self.refused_since = None;
            self.refused = 0;
        }
        if let Some(n) = self.limits.max_errors.filter(|n| self.errors >= *n) {
            return Some((
                EndReason::MaxErrors,
                format!("{n} requests failed (--max-errors {n})"),
            ));
        }
        if let Some(r) = self.limits.max_error_rate {
            let share = self.window_errors as f64 / ERROR_RATE_WINDOW as f64;
            if self.window.len() == ERROR_RATE_WINDOW && share >= r {
                return Some((
                    EndReason::MaxErrorRate,
                    format!(
                        "{} of the last {ERROR_RATE_WINDOW} requests failed (--max-error-rate {r})",
                        self.window_errors
                    ),
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> StopLimits {
        StopLimits {
            max_errors: None,
            max_error_rate: None,
            max_unreachable: Duration::from_secs(3),
        }
    }

    #[test]
    fn refused_connections_stop_the_run_after_the_limit_and_a_success_resets_it() {
        let mut w = Watchdog::new(limits());
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let refused = Some(&ErrorKind::Connection);
        assert!(w.observe(refused, at(0)).is_none());
        assert!(w.observe(refused, at(2_000)).is_none());
        assert!(w.observe(None, at(2_500)).is_none(), "a success resets the clock");
        assert!(w.observe(refused, at(3_000)).is_none());
        assert!(
            w.observe(Some(&ErrorKind::Timeout), at(4_000)).is_none(),
            "a timeout is not a refusal"
        );
        assert!(w.observe(refused, at(4_100)).is_none());
        let (why, text) = w.observe(refused, at(7_100)).unwrap();
        assert_eq!(why, EndReason::ServerUnreachable);
        assert!(text.contains("3.0 s (2 requests)"), "{text}");
        let mut off = Watchdog::new(StopLimits {
            max_unreachable: Duration::ZERO,
            ..limits()
        });
        assert!(off.observe(refused, at(0)).is_none());
        assert!(off.observe(refused, at(60_000)).is_none());
    }

    #[test]
    fn error_count_and_rate_limits() {
        let mut w = Watchdog::new(StopLimits {
            max_errors: Some(3),
            ..limits()
        });
        let now = Instant::now();
        let e = Some(&ErrorKind::Http);
        assert!(w.observe(e, now).is_none());
        assert!(
            w.observe(Some(&ErrorKind::RequestCancellation), now).is_none(),
            "cancelled is no error"
        );
        assert!(w.observe(e, now).is_none());
        assert_eq!(w.observe(e, now).unwrap().0, EndReason::MaxErrors);

        let mut w = Watchdog::new(StopLimits {
            max_error_rate: Some(0.5),
            ..limits()
        });
        // 24 errors in the first 49: the window is not full yet.
        for i in 0..49 {
            assert!(w.observe((i % 2 == 0).then_some(&ErrorKind::Http), now).is_none());
        }
        // The 50th: 25 of 50 failed = 0.5.
        let (why, text) = w.observe(e, now).unwrap();
        assert_eq!(why, EndReason::MaxErrorRate);
        assert!(text.starts_with("26 of the last 50"), "{text}");
    }
}
