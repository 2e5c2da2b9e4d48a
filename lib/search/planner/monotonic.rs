//! `monotonic_sla` (AIPerf's `monotonic.py`): exponential probe from `lo` (double while the SLA
//! holds), then bisection of `[feasible_max, infeasible_min]` until the gap is 1 or under 5% of
//! `infeasible_min`. A verdict latches only once `stability` iterations at a value agree, so each
//! value is asked again until it does: the stability trials at the boundary.

use std::collections::BTreeMap;

use super::{midpoint, precision_reached, Observation, Planner};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Probe,
    Bisect,
}

/// The planner's state; see the module doc.
#[derive(Debug, Clone)]
pub struct Monotonic {
    hi: i64,
    stability: u32,
    feasible_max: Option<i64>,
    infeasible_min: Option<i64>,
    /// (passes, fails) per value.
    logs: BTreeMap<i64, (u32, u32)>,
    phase: Phase,
    next: i64,
    reason: Option<&'static str>,
}

impl Monotonic {
    pub fn new(lo: i64, hi: i64, stability: u32) -> Monotonic {
        Monotonic {
            hi,
            stability: stability.max(1),
            feasible_max: None,
            infeasible_min: None,
            logs: BTreeMap::new(),
            phase: Phase::Probe,
            next: lo,
            reason: None,
        }
    }

    fn absorb(&mut self, value: i64, pass: bool) -> bool {
        let mut contradiction = false;
        if pass {
            contradiction = self.infeasible_min.is_some_and(|i| value >= i);
            if self.feasible_max.is_none_or(|f| value > f) && self.infeasible_min.is_none_or(|i| value < i) {
                self.feasible_max = Some(value);
            }
        } else {
            contradiction = contradiction || self.feasible_max.is_some_and(|f| value <= f);
            if self.infeasible_min.is_none_or(|i| value < i) && self.feasible_max.is_none_or(|f| value > f) {
                self.infeasible_min = Some(value);
            }
        }
        contradiction
    }

    fn probe_step(&mut self, value: i64, pass: bool) {
        if !pass {
            if self.feasible_max.is_none() {
                self.reason = Some("monotonic_no_pass_in_range");
                return;
            }
            self.phase = Phase::Bisect;
            self.bisect_step();
            return;
        }
        let next = value * 2;
        if next >= self.hi {
            if value >= self.hi {
                self.feasible_max = Some(self.hi);
                self.reason = Some("monotonic_no_failure_in_range");
                return;
            }
            self.next = self.hi;
            return;
        }
        self.next = next;
    }

    fn bisect_step(&mut self) {
        let (Some(f), Some(i)) = (self.feasible_max, self.infeasible_min) else {
            self.reason = Some(if self.feasible_max.is_none() {
                "monotonic_no_pass_in_range"
            } else {
                "monotonic_no_failure_in_range"
            });
            return;
        };
        if precision_reached(f, i) {
            self.reason = Some("monotonic_precision_reached");
            return;
        }
        self.next = midpoint(f, i).expect("an open bracket has a midpoint");
    }
}

impl Planner for Monotonic {
    fn ask(&mut self) -> Option<i64> {
        self.reason.is_none().then_some(self.next)
    }

    fn tell(&mut self, value: i64, obs: &Observation) -> bool {
        let log = self.logs.entry(value).or_insert((0, 0));
        if obs.feasible {
            log.0 += 1;
        } else {
            log.1 += 1;
        }
        let verdict = if log.0 >= self.stability {
            Some(true)
        } else if log.1 >= self.stability {
            Some(false)
        } else {
            None
        };
        let Some(pass) = verdict else {
            self.next = value; // provisional: ask the same value again
            return false;
        };
        let contradiction = self.absorb(value, pass);
        match self.phase {
            Phase::Probe => self.probe_step(value, pass),
            Phase::Bisect => self.bisect_step(),
        }
        contradiction
    }

    fn convergence_reason(&self) -> Option<&str> {
        self.reason
    }

    fn bracket(&self) -> (Option<i64>, Option<i64>) {
        (self.feasible_max, self.infeasible_min)
    }
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::drive;
    use super::*;

    #[test]
    fn probes_doubling_then_bisects_to_the_boundary() {
        // Holds up to 23: 1,2,4,8,16 pass, 32 fails, then 24, 20, 22, 23.
        let mut p = Monotonic::new(1, 512, 1);
        let asked = drive(&mut p, |x, _| x as f64 - 23.5, 40);
        assert_eq!(asked, vec![1, 2, 4, 8, 16, 32, 24, 20, 22, 23]);
        assert_eq!(p.bracket(), (Some(23), Some(24)));
        assert_eq!(p.convergence_reason(), Some("monotonic_precision_reached"));
    }

    #[test]
    fn stability_trials_ask_each_value_twice_as_aiperf_ran_it() {
        // AIPerf's run (e2e p50 < 250 ms on a 2-slot server): 1,1,2,2,4,4 → 3,3 → precision reached.
        let mut p = Monotonic::new(1, 16, 2);
        let asked = drive(&mut p, |x, _| if x <= 3 { -1.0 } else { 1.0 }, 40);
        assert_eq!(asked, vec![1, 1, 2, 2, 4, 4, 3, 3]);
        assert_eq!(p.bracket(), (Some(3), Some(4)));
    }

    #[test]
    fn a_disagreeing_value_is_asked_until_two_agree() {
        let mut p = Monotonic::new(1, 4, 2);
        // 1 passes, fails, passes: latched as a pass on the third ask.
        let asked = drive(
            &mut p,
            |x, n| {
                if x == 1 && n == 1 {
                    1.0
                } else if x <= 2 {
                    -1.0
                } else {
                    1.0
                }
            },
            40,
        );
        assert_eq!(&asked[..3], &[1, 1, 1]);
        assert_eq!(p.bracket(), (Some(2), Some(3)));
    }

    #[test]
    fn stops_when_nothing_or_everything_passes() {
        let mut p = Monotonic::new(1, 64, 1);
        assert_eq!(drive(&mut p, |_, _| 1.0, 10), vec![1]);
        assert_eq!(p.convergence_reason(), Some("monotonic_no_pass_in_range"));
        assert_eq!(p.bracket(), (None, Some(1)));
        let mut p = Monotonic::new(1, 20, 1);
        assert_eq!(drive(&mut p, |_, _| -1.0, 10), vec![1, 2, 4, 8, 16, 20]);
        assert_eq!(p.convergence_reason(), Some("monotonic_no_failure_in_range"));
        assert_eq!(p.bracket(), (Some(20), None));
    }

    #[test]
    fn precision_stops_bisection_within_five_percent() {
        let mut p = Monotonic::new(1, 1000, 1);
        let asked = drive(&mut p, |x, _| x as f64 - 700.0, 40);
        let (f, i) = p.bracket();
        let (f, i) = (f.unwrap(), i.unwrap());
        assert!(
            f <= 700 && i > 700 && ((i - f) as f64) / (i as f64) < 0.05,
            "{f} {i}"
        );
        assert!(asked.len() < 20, "{asked:?}");
    }
}
