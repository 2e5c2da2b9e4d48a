//! The one checked type of every duration a user gives: a flag (`--request-cancellation-delay`,
//! `--conversation-turn-delay-mean`, …), a plan line's value, or a file's `delay`/`timestamp`.
//! A value is finite, not negative and at most [`MAX_SECONDS`]: a `1e308` is refused with the
//! flag's or the line's name instead of panicking a worker when it becomes a `Duration`. Values a
//! run derives from checked ones (a sampled turn delay, a Poisson gap) go through
//! [`Seconds::clamped`], which never panics either.

use std::time::Duration;

/// The longest wait or schedule sweepkit accepts: 7 days (604,800 s). A benchmark phase, a turn
/// delay, a cancellation delay or a trace's span longer than a week is a typo or a unit mix-up
/// (ms given as s), and would otherwise hang the run silently.
pub const MAX_SECONDS: f64 = 7.0 * 86_400.0;

/// A duration checked on the way in: finite, `>= 0`, at most [`MAX_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Seconds(f64);

impl Seconds {
    /// `x` seconds, or what is wrong with it (`must be a number of seconds from 0 to 604800 (7
    /// days)`), for the caller to put after the flag's or the line's name and the value.
    pub fn new(x: f64) -> Result<Seconds, String> {
        if x.is_finite() && (0.0..=MAX_SECONDS).contains(&x) {
            Ok(Seconds(x))
        } else {
            Err(format!(
                "must be a number of seconds from 0 to {MAX_SECONDS} (7 days)"
            ))
        }
    }

    /// `ms` milliseconds (a file's `delay`, `--conversation-turn-delay-mean`), checked alike.
    pub fn from_ms(ms: f64) -> Result<Seconds, String> {
        let max_ms = MAX_SECONDS * 1e3;
        if ms.is_finite() && (0.0..=max_ms).contains(&ms) {
            Ok(Seconds(ms / 1e3))
        } else {
            Err(format!("must be a number of ms from 0 to {max_ms} (7 days)"))
        }
    }

    /// A value the run derived (a sampled delay, an arrival gap), held to `[0, MAX_SECONDS]`
    /// (NaN is 0): it never panics, and a derived wait never outlasts the longest one accepted.
    pub fn clamped(x: f64) -> Seconds {
        if x.is_nan() {
            Seconds(0.0)
        } else {
            Seconds(x.clamp(0.0, MAX_SECONDS))
        }
    }

    pub fn secs(self) -> f64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs_f64(self.0)
    }
}

/// A number as a user would write it back: `1e308`, not 309 digits.
pub fn show(x: f64) -> String {
    if x.is_finite() && x != 0.0 && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// `flag x`: checked, or `anyhow` error naming the flag (for [`crate::contract::settings::Settings::check`]).
pub fn check_flag(flag: &str, x: f64) -> anyhow::Result<Seconds> {
    Seconds::new(x).map_err(|why| anyhow::anyhow!("{flag} {}: {why}", show(x)))
}

/// `flag x` in ms, likewise.
pub fn check_flag_ms(flag: &str, ms: f64) -> anyhow::Result<Seconds> {
    Seconds::from_ms(ms).map_err(|why| anyhow::anyhow!("{flag} {}: {why}", show(ms)))
}

/// A duration in seconds to a `Duration`, clamped as [`Seconds::clamped`]: for the run's own
/// arithmetic on checked values.
pub fn duration(secs: f64) -> Duration {
    Seconds::clamped(secs).duration()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_negative_and_nan_values_are_refused_and_derived_ones_clamped() {
        assert_eq!(Seconds::new(2.5).unwrap().duration(), Duration::from_millis(2500));
        assert_eq!(Seconds::from_ms(250.0).unwrap().secs(), 0.25);
        for bad in [1e308, 1e20, -1.0, f64::NAN, f64::INFINITY, MAX_SECONDS + 1.0] {
            let e = Seconds::new(bad).unwrap_err();
            assert!(e.contains("from 0 to 604800 (7 days)"), "{e}");
        }
        assert!(Seconds::new(MAX_SECONDS).is_ok());
        assert!(Seconds::from_ms(1e308)
            .unwrap_err()
            .contains("ms from 0 to 604800000"));
        assert_eq!(duration(1e300), Duration::from_secs(604_800));
        assert_eq!(duration(-3.0), Duration::ZERO);
        assert_eq!(duration(f64::NAN), Duration::ZERO);
        let e = check_flag("--request-cancellation-delay", 1e20).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--request-cancellation-delay 1e20: must be a number of seconds from 0 to 604800 (7 days)"
        );
    }
}
