//! The 1-D SLA planners, as AIPerf 0.13 defines them (`orchestrator/search_planner/`): each asks
//! for the next value of the searched dimension and is told what that iteration measured. They
//! are pure state machines over (value, outcome) pairs, so sweep-search can rebuild one from the
//! folder's iterations on every call and the loop stays a pipeline.

pub mod monotonic;
pub mod smooth_isotonic;
pub mod verify;

use std::collections::BTreeMap;

/// AIPerf's default SLA precision: bisection stops once the bracket is under 5% of its top
/// (`AIPERF_SEARCH_PLANNER_SLA_PRECISION_DEFAULT`).
pub const PRECISION: f64 = 0.05;

/// What one iteration measured, as a planner sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// At least one successful trial met every filter (AIPerf's rule).
    pub feasible: bool,
    /// Signed margin per filter key (negative = room left), mean over successful trials; a filter
    /// nobody measured is absent.
    pub margins: BTreeMap<String, f64>,
}

/// Which planner runs the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannerKind {
    MonotonicSla,
    SmoothIsotonic,
}

impl PlannerKind {
    /// AIPerf's name in `search_history.json` (`config.planner`).
    pub fn name(self) -> &'static str {
        match self {
            PlannerKind::MonotonicSla => "monotonic_sla",
            PlannerKind::SmoothIsotonic => "smooth_isotonic",
        }
    }
}

/// A planner's interface: ask, run, tell, until it names a reason to stop.
pub trait Planner {
    /// The next value to run, or `None` once converged.
    fn ask(&mut self) -> Option<i64>;
    /// What the value asked for measured. Returns true when this verdict contradicts the bracket
    /// (a non-monotonic SLA boundary).
    fn tell(&mut self, value: i64, obs: &Observation) -> bool;
    fn convergence_reason(&self) -> Option<&str>;
    /// The largest value that held and the smallest that failed, as latched.
    fn bracket(&self) -> (Option<i64>, Option<i64>);
    /// Planner-specific boundary fields for `search_history.json` (`boundary_type`, ...).
    fn boundary_extras(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// The boundary's re-measurement (see `verify`): its checks, runs spent, and budget.
    fn verification(&self) -> Option<(&[verify::Check], u32, u32)> {
        None
    }
}

/// Builds a planner over the whole-number range `[lo, hi]` whose boundary is re-measured with at
/// most `verify_runs` extra runs before it answers (see `verify`). `stability` is the monotonic
/// planner's agreeing-verdict count (AIPerf's `monotonic_stability_trials`); `thresholds` the
/// filters' by key.
pub fn new(
    kind: PlannerKind,
    lo: i64,
    hi: i64,
    stability: u32,
    thresholds: Vec<(String, f64)>,
    verify_runs: u32,
) -> Box<dyn Planner> {
    let recipe = verify::Recipe {
        kind,
        lo,
        hi,
        stability,
        thresholds,
    };
    Box::new(verify::Verified::new(recipe, verify_runs))
}

/// The planner as AIPerf defines it, without the re-measurement.
pub fn new_inner(
    kind: PlannerKind,
    lo: i64,
    hi: i64,
    stability: u32,
    thresholds: Vec<(String, f64)>,
) -> Box<dyn Planner> {
    match kind {
        PlannerKind::MonotonicSla => Box::new(monotonic::Monotonic::new(lo, hi, stability)),
        PlannerKind::SmoothIsotonic => Box::new(smooth_isotonic::SmoothIsotonic::new(lo, hi, thresholds)),
    }
}

/// True once `[feasible_max, infeasible_min]` is one step wide or narrower than the precision.
pub fn precision_reached(feasible_max: i64, infeasible_min: i64) -> bool {
    let gap = infeasible_min - feasible_max;
    gap <= 1 || (gap as f64) / (infeasible_min.max(1) as f64) < PRECISION
}

/// The midpoint of an open bracket, nudged inside it; `None` when nothing lies between.
pub fn midpoint(feasible_max: i64, infeasible_min: i64) -> Option<i64> {
    let gap = infeasible_min - feasible_max;
    if gap <= 1 {
        return None;
    }
    Some((feasible_max + gap / 2).clamp(feasible_max + 1, infeasible_min - 1))
}

#[cfg(test)]
pub(crate) mod synthetic {
    //! Drives a planner against a synthetic margin function (no server): the unit tests' harness.
    use super::*;

    /// Runs the planner to the end against `margin(x)` (feasible iff ≤ 0); returns the values asked.
    pub fn drive(p: &mut dyn Planner, margin: impl Fn(i64, usize) -> f64, limit: usize) -> Vec<i64> {
        let mut asked = Vec::new();
        while let Some(v) = p.ask() {
            let m = margin(v, asked.len());
            asked.push(v);
            let obs = Observation {
                feasible: m <= 0.0,
                margins: [("0:m.p99.le.0.0".to_string(), m)].into_iter().collect(),
            };
            p.tell(v, &obs);
            assert!(asked.len() < limit, "no convergence after {limit}: {asked:?}");
        }
        asked
    }
}
