//! Deadlines in seconds after an instant, where "never" is a year away (no overflow).

use std::time::{Duration, Instant};

/// A year from now: a deadline that never comes.
pub fn far() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// `secs` seconds after `t` (a non-finite or huge `secs`: [`far`]).
pub fn after(t: Instant, secs: f64) -> Instant {
    if secs.is_finite() && secs < 86_400.0 * 365.0 {
        t + crate::contract::seconds::duration(secs.max(0.0))
    } else {
        far()
    }
}
