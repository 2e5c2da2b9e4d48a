//! The decision a comparison exists for: for each configuration, the largest load that meets the
//! SLO (a search's answer, else the largest swept value whose trial means meet every filter), the
//! throughput it serves there, and which configuration serves more within the SLO, with the
//! ratio's interval and the one-sided confidence that the winner really is ahead.

use super::gate::short;
use super::input::{Configuration, Point};
use crate::contract::comparison::{Capacity, Decision, Interval};
use crate::contract::sla_filter::SlaFilter;
use crate::contract::sweep_aggregate::THROUGHPUT_KEY;
use crate::stats::welch::{self, Sample};

/// The value a filter judges at a point: its metric's trial mean, and its pessimistic interval end.
fn judged(f: &SlaFilter, p: &Point, level: f64) -> Option<(f64, f64)> {
    let m = p.metrics.get(&format!("{}_{}", f.metric_tag, f.stat))?;
    let (lo, hi) = m.sample.interval(level);
    Some((m.sample.mean, if f.op.is_upper_bound() { hi } else { lo }))
}

/// The point's load: the first swept parameter's numeric value.
fn load(p: &Point) -> Option<(String, f64)> {
    p.parameters
        .iter()
        .find_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)))
}

/// Whether every filter holds at `p` on the means, and on the intervals' pessimistic ends.
fn feasible(slo: &[SlaFilter], p: &Point, level: f64) -> (bool, bool) {
    let mut on_mean = p.trials > 0;
    let mut on_interval = on_mean;
    for f in slo {
        match judged(f, p, level) {
            Some((mean, worst)) => {
                on_mean &= f.holds(mean);
                on_interval &= f.holds(worst);
            }
            None => (on_mean, on_interval) = (false, false),
        }
    }
    (on_mean, on_interval)
}

/// One configuration's largest load within the SLO.
fn capacity(c: &Configuration, slo: &[SlaFilter], level: f64) -> Capacity {
    let mut points: Vec<(&Point, String, f64)> = c
        .points
        .iter()
        .filter_map(|p| load(p).map(|(k, x)| (p, k, x)))
        .collect();
    points.sort_by(|a, b| a.2.total_cmp(&b.2));
    let answer = c.search_answer.as_ref().filter(|a| a.value.is_some());
    let best = match answer {
        Some(a) => points
            .iter()
            .find(|(_, k, x)| *k == a.parameter && Some(*x) == a.value),
        None => points.iter().rev().find(|(p, _, _)| feasible(slo, p, level).0),
    };
    let mut cap = Capacity {
        label: c.label.clone(),
        parameter: None,
        value: None,
        value_low: None,
        value_high: None,
        source: if answer.is_some() {
            "search_answer"
        } else {
            "sweep"
        }
        .into(),
        holds_on_interval: false,
        throughput_metric: THROUGHPUT_KEY.into(),
        throughput_unit: "requests/sec".into(),
        throughput: None,
    };
    let Some((p, k, x)) = best else {
        return cap;
    };
    cap.parameter = Some(k.clone());
    cap.value = Some(*x);
    // One trial has no interval to hold on.
    cap.holds_on_interval = p.trials >= 2 && feasible(slo, p, level).1;
    match answer {
        Some(a) => (cap.value_low, cap.value_high) = (a.low, a.high),
        None => {
            cap.value_low = Some(*x);
            cap.value_high = points
                .iter()
                .find(|(q, _, y)| y > x && !feasible(slo, q, level).0)
                .map(|(_, _, y)| *y);
        }
    }
    if let Some(m) = p.metrics.get(THROUGHPUT_KEY) {
        cap.throughput_unit = m.unit.clone();
        cap.throughput = Some(super::verdict::side(&m.sample, level));
    }
    cap
}

fn sample_of(c: &Capacity) -> Option<Sample> {
    let t = c.throughput?;
    Some(Sample {
        n: t.trials,
        mean: t.mean,
        sd: t.std,
    })
}

fn at(c: &Capacity) -> String {
    match (&c.parameter, c.value) {
        (Some(k), Some(v)) if v.fract() == 0.0 => format!("{k} {v:.0}"),
        (Some(k), Some(v)) => format!("{k} {v}"),
        _ => "no load".into(),
    }
}

/// Which configuration serves the most within the SLO.
pub fn decide(configs: &[Configuration], slo: &[SlaFilter], level: f64) -> Decision {
    let capacities: Vec<Capacity> = configs.iter().map(|c| capacity(c, slo, level)).collect();
    let mut ranked: Vec<&Capacity> = capacities.iter().filter(|c| c.throughput.is_some()).collect();
    ranked.sort_by(|a, b| {
        let m = |c: &Capacity| c.throughput.map_or(f64::NEG_INFINITY, |t| t.mean);
        m(b).total_cmp(&m(a))
    });
    let slo_text = slo
        .iter()
        .map(SlaFilter::describe)
        .collect::<Vec<_>>()
        .join(" and ");
    let mut d = Decision {
        capacities: capacities.clone(),
        leader: ranked.first().map(|c| c.label.clone()),
        runner_up: ranked.get(1).map(|c| c.label.clone()),
        ratio: None,
        confidence: None,
        significant: false,
        sentence: String::new(),
    };
    let unit = |c: &Capacity| c.throughput_unit.clone();
    d.sentence = match ranked.as_slice() {
        [] => format!("no configuration meets the SLO ({slo_text}) at any measured load"),
        [only] => format!(
            "{} serves {} {} at {} within the SLO ({slo_text}); {} meet(s) it at no measured load",
            only.label,
            short(only.throughput.map_or(f64::NAN, |t| t.mean)),
            unit(only),
            at(only),
            capacities
                .iter()
                .filter(|c| c.label != only.label)
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [w, r, ..] => {
            let (sw, sr) = (sample_of(w), sample_of(r));
            let (Some(sw), Some(sr)) = (sw, sr) else {
                unreachable!("ranked capacities have a throughput")
            };
            let ratio = welch::ratio(&sr, &sw, level);
            d.ratio = ratio.map(|e| Interval {
                value: e.value,
                low: e.low,
                high: e.high,
            });
            d.confidence = welch::confidence_new_higher(&sr, &sw);
            d.significant = ratio.is_some_and(|e| e.low > 1.0);
            let how = match (ratio, d.confidence) {
                (Some(e), Some(c)) => format!(
                    "×{:.2} ({:.0}% CI ×{:.2}–×{:.2}); {}, confidence {}",
                    e.value,
                    level * 100.0,
                    e.low,
                    e.high,
                    if d.significant {
                        "significant"
                    } else {
                        "NOT significant"
                    },
                    confidence_text(c)
                ),
                _ => "how sure is unknown: fewer than 2 trials a side".into(),
            };
            let lead = if d.significant {
                format!("{} serves more within the SLO ({slo_text})", w.label)
            } else {
                format!("no configuration serves significantly more within the SLO ({slo_text})")
            };
            format!(
                "{lead}: {} {} {} at {} vs {} {} {} at {}, {how}",
                w.label,
                short(sw.mean),
                unit(w),
                at(w),
                r.label,
                short(sr.mean),
                unit(r),
                at(r)
            )
        }
    };
    d
}

/// `99.9%`, or `> 99.9%` when it rounds to 100.
fn confidence_text(c: f64) -> String {
    if c > 0.999 {
        "> 99.9%".into()
    } else {
        format!("{:.1}%", c * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::input::Metric;
    use serde_json::Value;
    use std::collections::BTreeMap;

    fn point(c: u64, thr: &[f64], ttft: &[f64]) -> Point {
        let m = |unit: &str, xs: &[f64]| Metric {
            unit: unit.into(),
            sample: Sample::of(xs).unwrap(),
        };
        let metrics = BTreeMap::from([
            ("request_throughput_avg".to_string(), m("requests/sec", thr)),
            ("time_to_first_token_p99".to_string(), m("ms", ttft)),
        ]);
        Point {
            parameters: vec![("concurrency".into(), Value::from(c))],
            key: format!("concurrency_{c}"),
            trials: thr.len(),
            failed: 0,
            metrics,
        }
    }

    fn config(label: &str, points: Vec<Point>) -> Configuration {
        Configuration {
            label: label.into(),
            dir: "x".into(),
            kind: "sweep",
            parameters: vec!["concurrency".into()],
            points,
            input_config: None,
            search_answer: None,
            sla: Vec::new(),
        }
    }

    #[test]
    fn the_configuration_with_more_throughput_within_the_slo_wins() {
        let slo = vec![SlaFilter::parse("time_to_first_token:p99:le:60").unwrap()];
        let base = config(
            "base",
            vec![
                point(4, &[60.0, 61.0, 59.0], &[30.0, 31.0, 29.0]),
                point(16, &[64.0, 65.0, 63.0], &[200.0, 210.0, 190.0]),
            ],
        );
        let new = config(
            "new",
            vec![
                point(4, &[60.0, 61.0, 59.0], &[30.0, 31.0, 29.0]),
                point(16, &[190.0, 195.0, 200.0], &[40.0, 42.0, 41.0]),
            ],
        );
        let d = decide(&[base, new], &slo, 0.95);
        assert_eq!(d.capacities[0].value, Some(4.0));
        assert_eq!(d.capacities[0].value_high, Some(16.0));
        assert_eq!(d.capacities[1].value, Some(16.0));
        assert_eq!(d.leader.as_deref(), Some("new"));
        assert!(d.significant, "{d:?}");
        assert!(d.confidence.unwrap() > 0.99);
        assert!(
            d.sentence
                .starts_with("new serves more within the SLO (time_to_first_token p99 ≤ 60)"),
            "{}",
            d.sentence
        );
    }

    #[test]
    fn nothing_within_the_slo_is_said() {
        let slo = vec![SlaFilter::parse("time_to_first_token:p99:le:1").unwrap()];
        let a = config("a", vec![point(4, &[60.0, 61.0], &[30.0, 31.0])]);
        let d = decide(&[a], &slo, 0.95);
        assert_eq!(d.leader, None);
        assert!(d.sentence.starts_with("no configuration meets the SLO"));
    }
}
