//! Re-measuring the boundary before answering. One noisy run (a compile beside the server, a
//! slow disk) can fail a value that holds, and AIPerf's planners then latch a wrong bracket and
//! answer it confidently. This wrapper lets the planner run as AIPerf defines it; once it
//! converges, the values its answer rests on — the last feasible and the first infeasible, and
//! every value whose verdict contradicts its measured neighbours' monotonic order — are measured
//! again until each verdict is stable (one side leads by [`LEAD`]) or the budget of extra runs is
//! spent. A value's stable verdict then overrides the runs that disagree with it and the planner is
//! replayed from the start, so a boundary that moved is searched again from where it truly is.
//! A verdict still unstable when the budget is spent makes the answer unsure, never silently wrong.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Observation, Planner, PlannerKind};

/// A verdict is stable when its side has this many more runs than the other (2-0, 3-1, 4-2...).
pub const LEAD: u32 = 2;

/// Default extra runs the boundary may take (`--search-verify-runs`).
pub const DEFAULT_BUDGET: u32 = 8;

/// How the planner is rebuilt for each replay.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub kind: PlannerKind,
    pub lo: i64,
    pub hi: i64,
    pub stability: u32,
    pub thresholds: Vec<(String, f64)>,
}

/// One re-measured value: its runs' verdicts and whether they settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The searched parameter's value.
    pub value: i64,
    /// Runs at this value that met every filter.
    pub passes: u32,
    /// Runs at this value that did not.
    pub fails: u32,
    /// One side leads by [`LEAD`] runs.
    pub stable: bool,
}

/// The wrapper; see the module doc.
pub struct Verified {
    recipe: Recipe,
    budget: u32,
    /// Every run's observation, by value, in the order measured.
    log: BTreeMap<i64, Vec<Observation>>,
    /// The planner replayed over the log (with stable verdicts applied).
    inner: Box<dyn Planner>,
    /// The next value to run; `None` once the answer stands.
    next: Option<i64>,
    /// Runs outside the planner's own (re-measurements).
    spent: u32,
    /// The values the answer rests on, as last judged.
    checks: Vec<Check>,
}

impl Verified {
    pub fn new(recipe: Recipe, budget: u32) -> Verified {
        let inner = build(&recipe);
        let mut v = Verified {
            recipe,
            budget,
            log: BTreeMap::new(),
            inner,
            next: None,
            spent: 0,
            checks: Vec::new(),
        };
        v.replan();
        v
    }

    /// The boundary's checks: the values the answer rests on and whether each settled.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Runs spent re-measuring (beyond what the planner itself asked for).
    pub fn spent(&self) -> u32 {
        self.spent
    }

    /// True when the planner has converged and the next run (if any) re-measures the boundary.
    pub fn verifying(&self) -> bool {
        self.inner.convergence_reason().is_some()
    }

    fn tally(&self, value: i64) -> (u32, u32) {
        self.log.get(&value).map_or((0, 0), |obs| {
            let p = obs.iter().filter(|o| o.feasible).count() as u32;
            (p, obs.len() as u32 - p)
        })
    }

    /// The value's stable verdict, if it has one.
    fn settled(&self, value: i64) -> Option<bool> {
        let (p, f) = self.tally(value);
        if p >= f + LEAD {
            Some(true)
        } else if f >= p + LEAD {
            Some(false)
        } else {
            None
        }
    }

    /// The observations at `value` as the planner is fed them: when the value has settled, the
    /// runs that agree come first and every run carries the settled verdict.
    fn fed(&self, value: i64) -> Vec<Observation> {
        let mut obs = self.log.get(&value).cloned().unwrap_or_default();
        if let Some(verdict) = self.settled(value) {
            obs.sort_by_key(|o| o.feasible != verdict);
            for o in &mut obs {
                o.feasible = verdict;
            }
        }
        obs
    }

    /// Replays the planner over the log; sets the next value to run and the checks.
    fn replan(&mut self) {
        let mut inner = build(&self.recipe);
        let mut used: BTreeMap<i64, usize> = BTreeMap::new();
        let mut fed: BTreeMap<i64, Vec<Observation>> = BTreeMap::new();
        while let Some(v) = inner.ask() {
            let k = *used.get(&v).unwrap_or(&0);
            let at = fed.entry(v).or_insert_with(|| self.fed(v));
            let Some(o) = at.get(k) else {
                self.next = Some(v);
                self.inner = inner;
                self.spent = self.extra_runs(&used);
                self.checks = Vec::new();
                return;
            };
            inner.tell(v, o);
            used.insert(v, k + 1);
        }
        self.inner = inner;
        self.spent = self.extra_runs(&used);
        self.checks = self
            .targets()
            .into_iter()
            .map(|value| {
                let (passes, fails) = self.tally(value);
                Check {
                    value,
                    passes,
                    fails,
                    stable: self.settled(value).is_some(),
                }
            })
            .collect();
        self.next = if self.spent < self.budget {
            self.checks.iter().find(|c| !c.stable).map(|c| c.value)
        } else {
            None
        };
    }

    fn extra_runs(&self, used: &BTreeMap<i64, usize>) -> u32 {
        let total: usize = self.log.values().map(Vec::len).sum();
        (total - used.values().sum::<usize>()) as u32
    }

    /// The bracket's ends, every value in an inversion of the majority verdicts (a value that
    /// fails just below one that holds), and every value whose runs disagree (a tie has no
    /// majority, but is no verdict either; a settled one stays listed), ascending, each once.
    fn targets(&self) -> Vec<i64> {
        let (f, i) = self.inner.bracket();
        let mut t: Vec<i64> = [f, i].into_iter().flatten().collect();
        t.extend(self.log.keys().copied().filter(|&v| {
            let (p, f) = self.tally(v);
            p > 0 && f > 0
        }));
        let majority: Vec<(i64, bool)> = self
            .log
            .keys()
            .filter_map(|&v| {
                let (p, f) = self.tally(v);
                (p != f).then_some((v, p > f))
            })
            .collect();
        for w in majority.windows(2) {
            if !w[0].1 && w[1].1 {
                t.extend([w[0].0, w[1].0]);
            }
        }
        t.sort_unstable();
        t.dedup();
        t
    }

    /// True when `obs` at `value` contradicts the majority verdicts of the other values measured.
    fn contradicts(&self, value: i64, feasible: bool) -> bool {
        self.log.keys().filter(|&&v| v != value).any(|&v| {
            let (p, f) = self.tally(v);
            if feasible {
                v < value && f > p
            } else {
                v > value && p > f
            }
        })
    }
}

fn build(r: &Recipe) -> Box<dyn Planner> {
    super::new_inner(r.kind, r.lo, r.hi, r.stability, r.thresholds.clone())
}

impl Planner for Verified {
    fn ask(&mut self) -> Option<i64> {
        self.next
    }

    fn tell(&mut self, value: i64, obs: &Observation) -> bool {
        let contradiction = self.contradicts(value, obs.feasible);
        self.log.entry(value).or_default().push(obs.clone());
        self.replan();
        contradiction
    }

    fn convergence_reason(&self) -> Option<&str> {
        self.next
            .is_none()
            .then(|| self.inner.convergence_reason())
            .flatten()
    }

    fn bracket(&self) -> (Option<i64>, Option<i64>) {
        self.inner.bracket()
    }

    fn boundary_extras(&self) -> serde_json::Map<String, serde_json::Value> {
        self.inner.boundary_extras()
    }

    fn verification(&self) -> Option<(&[Check], u32, u32)> {
        Some((self.checks.as_slice(), self.spent, self.budget))
    }
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::drive;
    use super::*;

    fn planner(kind: PlannerKind, lo: i64, hi: i64, budget: u32) -> Verified {
        let recipe = Recipe {
            kind,
            lo,
            hi,
            stability: 2,
            thresholds: vec![("0:m.p99.le.0.0".into(), 60.0)],
        };
        Verified::new(recipe, budget)
    }

    /// The mock-llm shape (holds up to 8), with the `n`-th run failing whatever its value: a slow run.
    fn knee_with_slow_run(slow: usize) -> impl Fn(i64, usize) -> f64 {
        move |x, n| {
            if n == slow {
                100.0
            } else if x <= 8 {
                -40.0 + x as f64 * 0.1
            } else {
                40.0 + x as f64
            }
        }
    }

    #[test]
    fn without_re_measuring_one_slow_run_at_4_ends_the_search_wrongly() {
        // The run: 1, 2 hold, the slow run fails 4, and the bracket closes at 3.
        let mut p = planner(PlannerKind::SmoothIsotonic, 1, 32, 0);
        drive(&mut p, knee_with_slow_run(2), 60);
        assert_eq!(p.bracket(), (Some(3), Some(4)));
    }

    #[test]
    fn a_slow_run_at_4_is_re_measured_and_the_search_goes_on_to_the_knee() {
        let mut p = planner(PlannerKind::SmoothIsotonic, 1, 32, DEFAULT_BUDGET);
        let asked = drive(&mut p, knee_with_slow_run(2), 60);
        assert_eq!(p.bracket(), (Some(8), Some(9)), "{asked:?}");
        assert!(p.convergence_reason().is_some());
        assert!(p.checks().iter().all(|c| c.stable), "{:?}", p.checks());
        let at_4 = asked.iter().filter(|&&v| v == 4).count();
        assert!(at_4 >= 3, "4 was measured until its verdict settled: {asked:?}");
    }

    #[test]
    fn a_quiet_boundary_costs_one_run_at_each_end() {
        let mut quiet = planner(PlannerKind::SmoothIsotonic, 4, 20, DEFAULT_BUDGET);
        let asked = drive(&mut quiet, knee_with_slow_run(usize::MAX), 60);
        let mut plain = planner(PlannerKind::SmoothIsotonic, 4, 20, 0);
        let plain_asked = drive(&mut plain, knee_with_slow_run(usize::MAX), 60);
        assert_eq!(quiet.bracket(), (Some(8), Some(9)));
        assert_eq!(asked.len(), plain_asked.len() + 2, "{asked:?} vs {plain_asked:?}");
        assert_eq!(&asked[plain_asked.len()..], &[8, 9]);
        assert_eq!(quiet.spent(), 2);
    }

    #[test]
    fn monotonic_stability_trials_already_settle_the_boundary() {
        let mut verified = planner(PlannerKind::MonotonicSla, 4, 20, DEFAULT_BUDGET);
        let asked = drive(&mut verified, knee_with_slow_run(usize::MAX), 60);
        let mut plain = planner(PlannerKind::MonotonicSla, 4, 20, 0);
        assert_eq!(asked, drive(&mut plain, knee_with_slow_run(usize::MAX), 60));
        assert_eq!(verified.spent(), 0);
    }

    #[test]
    fn a_verdict_that_never_settles_spends_the_budget_and_is_reported_unstable() {
        // 9 fails, holds, fails, holds...: it can never lead by two.
        let mut p = planner(PlannerKind::SmoothIsotonic, 4, 20, 5);
        let at_9 = std::cell::Cell::new(0);
        let asked = drive(
            &mut p,
            |x, _| {
                if x == 9 {
                    at_9.set(at_9.get() + 1);
                }
                if x <= 8 || (x == 9 && at_9.get() % 2 == 0) {
                    -10.0
                } else {
                    10.0
                }
            },
            80,
        );
        assert_eq!(p.spent(), 5, "{asked:?}");
        assert!(p.convergence_reason().is_some());
        assert!(p.checks().iter().any(|c| !c.stable), "{:?}", p.checks());
    }

    #[test]
    fn a_pass_above_a_failure_is_re_measured() {
        // Runs 4, 8, 16, then the fit probes 10, 12, 14: the run at 12 (the fifth) holds by luck
        // above a failing 10. The planner's bracket ignores it; the re-measurement settles it.
        let mut p = planner(PlannerKind::SmoothIsotonic, 4, 20, DEFAULT_BUDGET);
        let lucky = |x: i64, n: usize| {
            if n == 4 {
                -10.0
            } else {
                knee_with_slow_run(usize::MAX)(x, n)
            }
        };
        let asked = drive(&mut p, lucky, 60);
        assert_eq!(&asked[..6], &[4, 8, 16, 10, 12, 14]);
        assert_eq!(p.bracket(), (Some(8), Some(9)), "{asked:?}");
        let twelve = p.checks().iter().find(|c| c.value == 12).expect("12 re-measured");
        assert_eq!((twelve.passes, twelve.stable), (1, true), "{:?}", p.checks());
        assert!(twelve.fails >= 3);
    }
}
