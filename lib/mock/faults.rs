//! Seeded fault injection: each request draws at most one fault from `--error-rate`,
//! `--disconnect-rate`, `--stall-rate` and `--malformed-rate` (the rates are exclusive shares of
//! requests and must sum to at most 1), plus a deterministic slow patch (`--slow-requests`).

use rand::rngs::SmallRng;
use rand::RngExt;

#[derive(Debug, Clone, Copy, Default)]
pub struct FaultRates {
    pub error_rate: f64,
    pub error_status: u16,
    pub disconnect_rate: f64,
    pub stall_rate: f64,
    pub malformed_rate: f64,
}

impl FaultRates {
    pub fn validate(&self) -> Result<(), String> {
        for (flag, r) in [
            ("--error-rate", self.error_rate),
            ("--disconnect-rate", self.disconnect_rate),
            ("--stall-rate", self.stall_rate),
            ("--malformed-rate", self.malformed_rate),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!(
                    "{flag} {r} is not a fraction: give a value between 0 and 1"
                ));
            }
        }
        if self.error_rate + self.disconnect_rate + self.stall_rate + self.malformed_rate > 1.0 + 1e-12 {
            return Err("the fault rates sum to more than 1: lower --error-rate/--disconnect-rate/--stall-rate/--malformed-rate".into());
        }
        if !(400..=599).contains(&self.error_status) {
            return Err(format!(
                "--error-status {} is not an HTTP error status: give 400-599",
                self.error_status
            ));
        }
        Ok(())
    }

    fn any(&self) -> bool {
        self.error_rate + self.disconnect_rate + self.stall_rate + self.malformed_rate > 0.0
    }

    /// Draws this request's fault. `tokens` is its output length: disconnects, stalls and
    /// malformed events happen before token `at` (uniform in `0..tokens`).
    pub fn draw(&self, rng: &mut SmallRng, tokens: u32) -> Fault {
        if !self.any() {
            return Fault::None;
        }
        let u: f64 = rng.random();
        let at = rng.random_range(0..tokens.max(1));
        let mut edge = self.error_rate;
        if u < edge {
            return Fault::Error;
        }
        edge += self.disconnect_rate;
        if u < edge {
            return Fault::Disconnect(at);
        }
        edge += self.stall_rate;
        if u < edge {
            return Fault::Stall(at);
        }
        edge += self.malformed_rate;
        if u < edge {
            return Fault::Malformed(at);
        }
        Fault::None
    }
}

/// `--slow-requests FROM-TO,...` with `--slow-ms`: requests whose arrival number (0-based, every
/// generation, embedding or ranking in arrival order) falls in a range wait `--slow-ms` more for their
/// first token, holding their slot — one benchmark run slowed as by a compile beside the server, at
/// a place a test chooses (a run of N requests after K others is `K-(K+N-1)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlowPatch {
    /// Inclusive arrival-number ranges.
    pub ranges: Vec<(u64, u64)>,
    /// Extra first-token delay, ns.
    pub extra_ns: u64,
}

impl SlowPatch {
    /// Parses `--slow-requests` (`64-127,256-319`; a single number is a one-request range) with
    /// `--slow-ms` milliseconds of extra delay.
    pub fn parse(raw: &str, slow_ms: f64) -> Result<SlowPatch, String> {
        if !(slow_ms.is_finite() && (0.0..=3_600_000.0).contains(&slow_ms)) {
            return Err(format!(
                "--slow-ms {slow_ms}: give milliseconds between 0 and 3600000"
            ));
        }
        let mut ranges = Vec::new();
        for part in raw.split(',').filter(|p| !p.trim().is_empty()) {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let num = |x: &str| x.trim().parse::<u64>().ok();
            match (num(a), num(b)) {
                (Some(a), Some(b)) if a <= b => ranges.push((a, b)),
                _ => {
                    return Err(format!(
                        "--slow-requests '{raw}': '{part}' is not FROM-TO (arrival numbers from 0, FROM <= TO), e.g. 64-127"
                    ))
                }
            }
        }
        Ok(SlowPatch {
            ranges,
            extra_ns: (slow_ms * 1e6).round() as u64,
        })
    }

    /// The extra first-token delay of arrival `seq`, ns (0 outside the ranges).
    pub fn extra_ns(&self, seq: u64) -> u64 {
        if self.ranges.iter().any(|&(a, b)| (a..=b).contains(&seq)) {
            self.extra_ns
        } else {
            0
        }
    }
}

/// One request's injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Answer `--error-status` with an OpenAI-style JSON error.
    Error,
    /// Cut the connection before sending token `n` (non-streaming: before any response).
    Disconnect(u32),
    /// Stop sending before token `n` and hold the connection open.
    Stall(u32),
    /// A corrupt SSE event before token `n` (non-streaming: a truncated JSON body).
    Malformed(u32),
}

impl Fault {
    pub fn kind(self) -> Option<FaultKind> {
        match self {
            Fault::None => None,
            Fault::Error => Some(FaultKind::Error),
            Fault::Disconnect(_) => Some(FaultKind::Disconnect),
            Fault::Stall(_) => Some(FaultKind::Stall),
            Fault::Malformed(_) => Some(FaultKind::Malformed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Error = 0,
    Disconnect = 1,
    Stall = 2,
    Malformed = 3,
    /// A request slowed by `--slow-requests`.
    Slow = 4,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Error,
        FaultKind::Disconnect,
        FaultKind::Stall,
        FaultKind::Malformed,
        FaultKind::Slow,
    ];
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Error => "error",
            FaultKind::Disconnect => "disconnect",
            FaultKind::Stall => "stall",
            FaultKind::Malformed => "malformed",
            FaultKind::Slow => "slow",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_patch_delays_exactly_its_arrivals() {
        let p = SlowPatch::parse("64-127,200", 100.0).unwrap();
        let slowed: Vec<u64> = (0..300).filter(|&s| p.extra_ns(s) > 0).collect();
        assert_eq!(slowed.len(), 65);
        assert_eq!((slowed[0], slowed[63], slowed[64]), (64, 127, 200));
        assert_eq!(p.extra_ns(64), 100_000_000);
        for bad in ["9-3", "a-b", "5-"] {
            let e = SlowPatch::parse(bad, 100.0).unwrap_err();
            assert!(e.starts_with("--slow-requests"), "{e}");
        }
        assert!(SlowPatch::parse("1", f64::NAN)
            .unwrap_err()
            .starts_with("--slow-ms"));
    }
    use crate::mock::capacity::request_rng;

    #[test]
    fn draws_match_the_rates_and_are_seeded() {
        let f = FaultRates {
            error_rate: 0.1,
            error_status: 500,
            disconnect_rate: 0.2,
            stall_rate: 0.05,
            malformed_rate: 0.15,
        };
        f.validate().unwrap();
        let mut counts = [0usize; 5];
        for i in 0..20_000 {
            let a = f.draw(&mut request_rng(9, i), 10);
            assert_eq!(a, f.draw(&mut request_rng(9, i), 10));
            counts[a.kind().map(|k| k as usize + 1).unwrap_or(0)] += 1;
            if let Fault::Disconnect(n) | Fault::Stall(n) | Fault::Malformed(n) = a {
                assert!(n < 10);
            }
        }
        for (i, want) in [0.5, 0.1, 0.2, 0.05, 0.15].iter().enumerate() {
            let got = counts[i] as f64 / 20_000.0;
            assert!((got - want).abs() < 0.015, "kind {i}: {got} vs {want}");
        }
        assert!(FaultRates {
            error_rate: 0.6,
            stall_rate: 0.6,
            error_status: 500,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(FaultRates {
            error_status: 200,
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
