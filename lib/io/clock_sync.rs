//! The wall clock's own error estimate, as the kernel's NTP discipline keeps it (`adjtimex` with
//! `modes = 0`: a read, never a change; allowed without privileges and inside containers).
//! Shards of one benchmark on different hosts compare wall-clock stamps, so each shard's run info
//! says how far its clock may be off; trial-agg turns that into a bound on cross-host skew.

use serde::{Deserialize, Serialize};

/// One reading of the kernel's clock discipline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockSync {
    /// Where the numbers come from: `adjtimex`, or `unavailable` (then every number is null).
    pub source: String,
    /// The kernel considers the clock synchronised (state not TIME_ERROR and STA_UNSYNC clear).
    pub synchronized: bool,
    /// Estimated error of the clock, µs (the daemon's estimate; 16 s when unsynchronised).
    pub estimated_error_us: Option<u64>,
    /// Maximum error of the clock, µs: the bound, growing by 500 ppm between daemon updates.
    pub maximum_error_us: Option<u64>,
}

impl ClockSync {
    /// The bound on this clock's offset from true time, µs; None when it is unknown or unsynchronised.
    pub fn bound_us(&self) -> Option<u64> {
        self.maximum_error_us.filter(|_| self.synchronized)
    }
}

/// Reads the clock's status now.
pub fn read() -> ClockSync {
    // SAFETY: adjtimex with modes = 0 only fills the struct we pass (a zeroed timex is valid).
    let mut t: libc::timex = unsafe { std::mem::zeroed() };
    t.modes = 0;
    let state = unsafe { libc::adjtimex(&mut t) };
    if state < 0 {
        return ClockSync {
            source: "unavailable".into(),
            synchronized: false,
            estimated_error_us: None,
            maximum_error_us: None,
        };
    }
    ClockSync {
        source: "adjtimex".into(),
        synchronized: state != libc::TIME_ERROR && t.status & libc::STA_UNSYNC == 0,
        estimated_error_us: u64::try_from(t.esterror).ok(),
        maximum_error_us: u64::try_from(t.maxerror).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_answers_and_unsynchronised_has_no_bound() {
        let c = read();
        assert_eq!(c.source, "adjtimex");
        assert!(c.maximum_error_us.is_some());
        let unsynced = ClockSync {
            synchronized: false,
            ..c.clone()
        };
        assert_eq!(unsynced.bound_us(), None);
        let synced = ClockSync {
            synchronized: true,
            maximum_error_us: Some(1500),
            ..c
        };
        assert_eq!(synced.bound_us(), Some(1500));
    }
}
