//! Open-loop send times ([`ArrivalSchedule`]): absolute offsets `t_i` from the phase start (never accumulated sleeps),
//! with AIPerf's arrival patterns — constant `1/rate`, Poisson (exponential gaps), gamma
//! (shape = smoothness, scale = `1/(rate * shape)`) — from a seeded generator, or a trace's own
//! timestamps. The first request goes at offset 0.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp, Gamma};

use crate::loadgen::options::ArrivalPattern;

#[allow(clippy::large_enum_variant)] // one per phase
pub enum ArrivalSchedule {
    Rate {
        pattern: ArrivalPattern,
        rate: f64,
        /// What it was made from, so that a copy restarts the same sequence.
        smoothness: f64,
        seed: u64,
        gamma: Option<Gamma<f64>>,
        exp: Exp<f64>,
        rng: StdRng,
        index: u64,
        t: f64,
    },
    /// Offsets (seconds) taken from a trace.
    Trace { offsets: Vec<f64>, index: usize },
}

impl ArrivalSchedule {
    pub fn rate(pattern: ArrivalPattern, rate: f64, smoothness: f64, seed: u64) -> ArrivalSchedule {
        let gamma = (pattern == ArrivalPattern::Gamma)
            .then(|| Gamma::new(smoothness, 1.0 / (rate * smoothness)).expect("positive shape and scale"));
        ArrivalSchedule::Rate {
            pattern,
            rate,
            smoothness,
            seed,
            gamma,
            exp: Exp::new(rate).expect("positive rate"),
            rng: StdRng::seed_from_u64(seed ^ 0xA77_1BA1),
            index: 0,
            t: 0.0,
        }
    }

    pub fn trace(offsets_ms: impl IntoIterator<Item = f64>) -> ArrivalSchedule {
        ArrivalSchedule::Trace {
            offsets: offsets_ms.into_iter().map(|ms| ms / 1e3).collect(),
            index: 0,
        }
    }

    /// The same schedule from its first entry (each worker thread walks its own copy of the
    /// phase's schedule: same seed, same offsets).
    pub fn restarted(&self) -> ArrivalSchedule {
        match self {
            ArrivalSchedule::Rate {
                pattern,
                rate,
                smoothness,
                seed,
                ..
            } => ArrivalSchedule::rate(*pattern, *rate, *smoothness, *seed),
            ArrivalSchedule::Trace { offsets, .. } => ArrivalSchedule::Trace {
                offsets: offsets.clone(),
                index: 0,
            },
        }
    }

    /// The next send time, in seconds from the phase start; None when a trace is exhausted.
    pub fn next_offset(&mut self) -> Option<f64> {
        match self {
            ArrivalSchedule::Rate {
                pattern,
                rate,
                gamma,
                exp,
                rng,
                index,
                t,
                ..
            } => {
                let i = *index;
                *index += 1;
                if *pattern == ArrivalPattern::Constant {
                    // i / rate exactly: no accumulated rounding.
                    return Some(i as f64 / *rate);
                }
                if i > 0 {
                    *t += match gamma {
                        Some(g) => g.sample(rng),
                        None => exp.sample(rng),
                    };
                }
                Some(*t)
            }
            ArrivalSchedule::Trace { offsets, index } => {
                let v = offsets.get(*index).copied();
                *index += 1;
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_is_exact_and_random_patterns_have_the_right_mean_and_seed() {
        let mut c = ArrivalSchedule::rate(ArrivalPattern::Constant, 4.0, 1.0, 1);
        let v: Vec<f64> = (0..5).map(|_| c.next_offset().unwrap()).collect();
        assert_eq!(v, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        for pattern in [ArrivalPattern::Poisson, ArrivalPattern::Gamma] {
            let mut p = ArrivalSchedule::rate(pattern, 100.0, 4.0, 7);
            let n = 20_000;
            let mut last = 0.0;
            for _ in 0..n {
                let t = p.next_offset().unwrap();
                assert!(t >= last);
                last = t;
            }
            let mean_gap = last / (n - 1) as f64;
            assert!((mean_gap - 0.01).abs() < 0.0005, "{pattern:?}: {mean_gap}");
            let mut a = ArrivalSchedule::rate(pattern, 100.0, 4.0, 7);
            let mut b = ArrivalSchedule::rate(pattern, 100.0, 4.0, 7);
            for _ in 0..10 {
                assert_eq!(a.next_offset(), b.next_offset());
            }
        }
        let mut p = ArrivalSchedule::rate(ArrivalPattern::Gamma, 100.0, 4.0, 7);
        let first: Vec<_> = (0..5).map(|_| p.next_offset()).collect();
        let mut again = p.restarted();
        assert_eq!((0..5).map(|_| again.next_offset()).collect::<Vec<_>>(), first);
        let mut t = ArrivalSchedule::trace([0.0, 250.0]);
        assert_eq!(
            (t.next_offset(), t.next_offset(), t.next_offset()),
            (Some(0.0), Some(0.25), None)
        );
    }
}
