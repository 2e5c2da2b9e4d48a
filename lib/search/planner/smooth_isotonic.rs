//! `smooth_isotonic` (AIPerf's `smooth_isotonic.py` and its `_smooth_isotonic_*`, `_cliff_detect`,
//! `_replicate_budget`, `_margin_normalize` helpers). Bracket by doubling like `monotonic_sla`
//! (one probe per value, no stability window); at the first failure probe three interior points,
//! then fit each filter's mean margin against the value (isotonic regression, a monotone cubic
//! through it) and take the binding filter's root as the candidate. A fit that misses the last
//! point by more than 3σ is a cliff: plain bisection. Otherwise the candidate is replicated (as
//! many times as the margin's noise asks for) until its bootstrap interval excludes 0.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{midpoint, precision_reached, Observation, Planner};
use crate::stats::bootstrap::mean_ci_bca;
use crate::stats::isotonic::{isotonic_increasing, strictify, Pchip};

const FIT_INTERNAL_PROBES: i64 = 3;
const FIT_MIN_DISTINCT: usize = 3;
const MAX_REFIT_CYCLES: u32 = 3;
const REPLICATE_CEIL: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Bracket,
    Fit,
    Replicate,
    CliffBisect,
}

/// The planner's state; see the module doc.
#[derive(Debug, Clone)]
pub struct SmoothIsotonic {
    hi: i64,
    /// (key, threshold) per filter, in filter order.
    filters: Vec<(String, f64)>,
    feasible_max: Option<i64>,
    infeasible_min: Option<i64>,
    /// Margins of every probe, by value.
    probes: BTreeMap<i64, Vec<BTreeMap<String, f64>>>,
    phase: Phase,
    next: i64,
    queue: Vec<i64>,
    candidate: Option<i64>,
    fit_count: u32,
    reason: Option<&'static str>,
    boundary_type: Option<&'static str>,
    boundary_ci: Option<(f64, f64)>,
    binding: Option<String>,
}

impl SmoothIsotonic {
    pub fn new(lo: i64, hi: i64, filters: Vec<(String, f64)>) -> SmoothIsotonic {
        SmoothIsotonic {
            hi,
            filters,
            feasible_max: None,
            infeasible_min: None,
            probes: BTreeMap::new(),
            phase: Phase::Bracket,
            next: lo,
            queue: Vec::new(),
            candidate: None,
            fit_count: 0,
            reason: None,
            boundary_type: None,
            boundary_ci: None,
            binding: None,
        }
    }

    fn finish(&mut self, reason: &'static str) {
        self.reason.get_or_insert(reason);
        self.boundary_type.get_or_insert("smooth");
    }

    fn absorb(&mut self, value: i64, feasible: bool) -> bool {
        if feasible {
            if self.infeasible_min.is_some_and(|i| value >= i) {
                return true;
            }
            if self.feasible_max.is_none_or(|f| value > f) {
                self.feasible_max = Some(value);
            }
        } else {
            if self.feasible_max.is_some_and(|f| value <= f) {
                return true;
            }
            if self.infeasible_min.is_none_or(|i| value < i) {
                self.infeasible_min = Some(value);
            }
        }
        false
    }

    fn bracket_step(&mut self, value: i64, feasible: bool) {
        if !feasible {
            if self.feasible_max.is_none() {
                self.reason = Some("smooth_isotonic_no_pass_in_range");
                return;
            }
            self.phase = Phase::Fit;
            let fracs: Vec<f64> = (1..=FIT_INTERNAL_PROBES)
                .map(|k| k as f64 / (FIT_INTERNAL_PROBES + 1) as f64)
                .collect();
            self.queue_fractions(&fracs);
            return;
        }
        let next = value * 2;
        if next >= self.hi {
            if value >= self.hi {
                self.feasible_max = Some(self.hi);
                self.reason = Some("smooth_isotonic_no_failure_in_range");
                return;
            }
            self.next = self.hi;
            return;
        }
        self.next = next;
    }

    /// Queues `feasible_max + max(1, round(gap*frac))` for each fraction, inside the bracket, new only.
    fn queue_fractions(&mut self, fracs: &[f64]) {
        let (Some(f), Some(i)) = (self.feasible_max, self.infeasible_min) else {
            return;
        };
        let gap = i - f;
        if gap <= 1 {
            return;
        }
        for frac in fracs {
            let x = (f + 1.max((gap as f64 * frac).round_ties_even() as i64)).clamp(f + 1, i - 1);
            if !self.probes.contains_key(&x) && !self.queue.contains(&x) {
                self.queue.push(x);
            }
        }
    }

    /// Mean margin of `key` per probed value, in value order (values lacking it skipped).
    fn series(&self, key: &str) -> (Vec<f64>, Vec<f64>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for (x, ms) in &self.probes {
            let s: Vec<f64> = ms.iter().filter_map(|m| m.get(key).copied()).collect();
            if !s.is_empty() {
                xs.push(*x as f64);
                ys.push(s.iter().sum::<f64>() / s.len() as f64);
            }
        }
        (xs, ys)
    }

    /// Sample std of `key`'s margins at the largest probed value (0 with fewer than two).
    fn sigma_at_last(&self, key: &str) -> f64 {
        let Some((_, ms)) = self.probes.iter().next_back() else {
            return 0.0;
        };
        sample_std(&ms.iter().filter_map(|m| m.get(key).copied()).collect::<Vec<_>>())
    }

    fn fit(key_series: (Vec<f64>, Vec<f64>)) -> Option<Pchip> {
        let (xs, ys) = key_series;
        Pchip::new(&xs, &strictify(&isotonic_increasing(&ys)))
    }

    /// The binding filter (largest margin, σ-normalised when any σ > 0) and the candidate root.
    fn fit_and_solve(&mut self) -> Option<i64> {
        if self.probes.len() < 2 {
            return None;
        }
        let n = self.probes.len();
        let mut margins = Vec::new();
        for (key, thr) in &self.filters {
            let (xs, ys) = self.series(key);
            let last = if xs.len() == n { *ys.last()? } else { 0.0 };
            margins.push((key.clone(), last, self.sigma_at_last(key), *thr));
        }
        let any_sigma = margins.iter().any(|m| m.2 > 0.0);
        let score = |(_, m, s, t): &(String, f64, f64, f64)| {
            let floored = s.max(0.01 * t.abs());
            if any_sigma && floored > 0.0 {
                m / floored
            } else {
                *m
            }
        };
        // max_by keeps the last of equals; AIPerf's max() keeps the first, so scan in reverse.
        let binding = margins
            .iter()
            .rev()
            .max_by(|a, b| score(a).total_cmp(&score(b)))?
            .0
            .clone();
        self.binding = Some(binding.clone());
        let (f, i) = (self.feasible_max?, self.infeasible_min?);
        let (xs, ys) = self.series(&binding);
        if xs.len() < n {
            return None;
        }
        let root = Self::fit((xs, ys))?.first_root(f as f64, i as f64)?;
        Some(
            (root.round_ties_even() as i64)
                .clamp(f + 1, (i - 1).max(f + 1))
                .min(i - 1),
        )
    }

    fn needs_more_fit_data(&self) -> bool {
        let Some(key) = &self.binding else { return false };
        let (_, ys) = self.series(key);
        if ys.len() < 4 {
            return true;
        }
        let mut distinct: Vec<i64> = isotonic_increasing(&ys)
            .iter()
            .map(|v| (v * 1e9).round() as i64)
            .collect();
        distinct.dedup();
        distinct.len() < FIT_MIN_DISTINCT
    }

    fn fit_step(&mut self) {
        if !self.queue.is_empty() {
            return;
        }
        self.fit_count += 1;
        let candidate = match self.fit_and_solve() {
            Some(c) => c,
            None => match (self.feasible_max, self.infeasible_min) {
                (Some(f), Some(i)) if i - f > 1 => f + (i - f) / 2,
                _ => return self.finish("smooth_isotonic_pchip_fallback_bisection"),
            },
        };
        if self.needs_more_fit_data() && self.fit_count < MAX_REFIT_CYCLES {
            self.queue_fractions(&[0.125, 0.625]);
            return;
        }
        self.candidate = Some(candidate);
        self.replicate_or_finish(candidate);
    }

    fn cliff(&self) -> bool {
        let Some(key) = &self.binding else { return false };
        let (xs, ys) = self.series(key);
        if ys.len() < 3 {
            return false;
        }
        let Some(curve) = Self::fit((xs.clone(), ys.clone())) else {
            return false;
        };
        let recent = &ys[ys.len() - 3..];
        let mean = recent.iter().sum::<f64>() / 3.0;
        let sigma = (recent.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        if sigma == 0.0 {
            return false;
        }
        let residual = (ys[ys.len() - 1] - curve.eval(xs[xs.len() - 1])).abs();
        let gap = match (self.feasible_max, self.infeasible_min) {
            (Some(f), Some(i)) => i - f,
            _ => 0,
        };
        residual > 3.0 * sigma && gap as f64 > super::PRECISION * self.hi as f64
    }

    fn bracket_done(&self) -> bool {
        matches!((self.feasible_max, self.infeasible_min), (Some(f), Some(i)) if precision_reached(f, i))
    }

    fn replicate_or_finish(&mut self, candidate: i64) {
        let cliff = self.cliff();
        self.boundary_type = Some(if cliff { "cliff" } else { "smooth" });
        if cliff {
            return self.cliff_step();
        }
        if self.bracket_done() {
            return self.finish("smooth_isotonic_precision_reached");
        }
        let budget = self.replicate_budget();
        if budget == 0 {
            if !self.probes.contains_key(&candidate) {
                self.queue.push(candidate);
                self.phase = Phase::Fit;
                return;
            }
            return self.finish("smooth_isotonic_precision_reached");
        }
        self.queue.extend(std::iter::repeat_n(candidate, budget));
        self.phase = Phase::Replicate;
    }

    fn cliff_step(&mut self) {
        if !self.queue.is_empty() {
            return;
        }
        self.phase = Phase::CliffBisect;
        let mid = match (self.feasible_max, self.infeasible_min) {
            (Some(f), Some(i)) if !precision_reached(f, i) => midpoint(f, i),
            _ => None,
        };
        match mid {
            Some(m) => self.queue.push(m),
            None => self.finish("smooth_isotonic_cliff_precision_reached"),
        }
    }

    /// `min(20, max(3, ceil(4 (σ/|thr|)²)))` from the binding filter's spread at the largest
    /// value; 0 with fewer than two samples there.
    fn replicate_budget(&self) -> usize {
        let Some(key) = &self.binding else { return 0 };
        let Some((_, ms)) = self.probes.iter().next_back() else {
            return 0;
        };
        let s: Vec<f64> = ms.iter().filter_map(|m| m.get(key).copied()).collect();
        if s.len() < 2 {
            return 0;
        }
        let thr = self.filters.iter().find(|(k, _)| k == key).map_or(0.0, |f| f.1);
        let ratio = sample_std(&s) / thr.abs().max(1e-9);
        ((4.0 * ratio * ratio).ceil() as usize).clamp(3, REPLICATE_CEIL)
    }

    fn replicate_step(&mut self) {
        if !self.queue.is_empty() {
            return;
        }
        let (Some(c), Some(key)) = (self.candidate, self.binding.clone()) else {
            return self.finish("smooth_isotonic_precision_reached");
        };
        let m: Vec<f64> = self
            .probes
            .get(&c)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get(&key).copied())
            .collect();
        let Some((lo, hi)) = mean_ci_bca(&m, 0.95, 10_000, 0).filter(|_| m.len() >= 2) else {
            return self.finish("smooth_isotonic_precision_reached");
        };
        self.boundary_ci = Some((lo, hi));
        if lo <= 0.0 && 0.0 <= hi {
            self.queue_fractions(&[0.125, 0.625]);
            self.phase = Phase::Fit;
            return;
        }
        self.finish("smooth_isotonic_precision_reached");
    }
}

fn sample_std(s: &[f64]) -> f64 {
    if s.len() < 2 {
        return 0.0;
    }
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    (s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (s.len() - 1) as f64).sqrt()
}

impl Planner for SmoothIsotonic {
    fn ask(&mut self) -> Option<i64> {
        if self.reason.is_some() {
            return None;
        }
        if !self.queue.is_empty() {
            self.next = self.queue.remove(0);
        }
        Some(self.next)
    }

    fn tell(&mut self, value: i64, obs: &Observation) -> bool {
        self.probes.entry(value).or_default().push(obs.margins.clone());
        let contradiction = self.absorb(value, obs.feasible);
        match self.phase {
            Phase::Bracket => self.bracket_step(value, obs.feasible),
            Phase::Fit => self.fit_step(),
            Phase::CliffBisect => self.cliff_step(),
            Phase::Replicate => self.replicate_step(),
        }
        contradiction
    }

    fn convergence_reason(&self) -> Option<&str> {
        self.reason
    }

    fn bracket(&self) -> (Option<i64>, Option<i64>) {
        (self.feasible_max, self.infeasible_min)
    }

    fn boundary_extras(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(t) = self.boundary_type {
            m.insert("boundary_type".into(), json!(t));
        }
        if let Some(b) = &self.binding {
            m.insert("binding_constraint".into(), json!(b));
        }
        if let Some((lo, hi)) = self.boundary_ci {
            m.insert("boundary_ci".into(), json!({"lo": lo, "hi": hi}));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::drive;
    use super::*;

    fn planner(hi: i64) -> SmoothIsotonic {
        SmoothIsotonic::new(1, hi, vec![("0:m.p99.le.0.0".into(), 60.0)])
    }

    #[test]
    fn brackets_probes_inside_and_lands_on_a_smooth_boundary() {
        // margin grows linearly, crossing 0 at 23.4: the largest value that holds is 23.
        let mut p = planner(512);
        let asked = drive(&mut p, |x, _| 2.0 * (x as f64 - 23.4), 40);
        assert_eq!(&asked[..6], &[1, 2, 4, 8, 16, 32]);
        assert_eq!(&asked[6..9], &[20, 24, 28], "the three interior fit probes");
        assert_eq!(p.bracket(), (Some(23), Some(24)), "{asked:?}");
        assert!(p.convergence_reason().unwrap().starts_with("smooth_isotonic"));
        assert!(asked.len() <= 12, "{asked:?}");
    }

    #[test]
    fn a_step_boundary_is_found_too() {
        // The mock-llm shape: flat below the knee (8), a jump above it.
        let mut p = planner(64);
        let asked = drive(
            &mut p,
            |x, _| {
                if x <= 8 {
                    -40.0 + x as f64 * 0.1
                } else {
                    40.0 + x as f64
                }
            },
            40,
        );
        assert_eq!(p.bracket(), (Some(8), Some(9)), "{asked:?}");
        assert!(asked.len() < 64 / 2, "{asked:?}");
    }

    #[test]
    fn stops_at_the_range_ends() {
        let mut p = planner(64);
        assert_eq!(drive(&mut p, |_, _| 5.0, 5), vec![1]);
        assert_eq!(p.convergence_reason(), Some("smooth_isotonic_no_pass_in_range"));
        let mut p = planner(10);
        assert_eq!(drive(&mut p, |_, _| -5.0, 10), vec![1, 2, 4, 8, 10]);
        assert_eq!(
            p.convergence_reason(),
            Some("smooth_isotonic_no_failure_in_range")
        );
        assert_eq!(p.bracket(), (Some(10), None));
    }

    #[test]
    fn noisy_margins_still_converge_inside_the_range() {
        // Deterministic "noise" on a linear margin; the planner must end, near the crossing.
        let mut p = planner(256);
        let asked = drive(
            &mut p,
            |x, n| (x as f64 - 100.0) + 15.0 * ((n * 7919 % 13) as f64 / 6.0 - 1.0),
            60,
        );
        let (f, i) = p.bracket();
        assert!(f.unwrap() > 60 && i.unwrap() < 140, "{f:?} {i:?} {asked:?}");
    }
}
