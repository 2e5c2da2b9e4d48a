//! `--goodput "time_to_first_token:100 inter_token_latency:10"`: per-request SLOs in display units.
//! A request is good iff every SLO passes (`>=` for larger-is-better metrics, else `<=`); a
//! request missing a metric is not good. As in AIPerf (`good_request_count_metric.py`).

use crate::trial::metrics;

/// One SLO, compared against the record's display value.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub tag: String,
    pub threshold: f64,
    pub larger_is_better: bool,
}

impl Slo {
    pub fn passes(&self, value: f64) -> bool {
        if self.larger_is_better {
            value >= self.threshold
        } else {
            value <= self.threshold
        }
    }
}

/// Parses the `--goodput` value. Errors name the offending item and the expected form.
pub fn parse(spec: &str) -> Result<Vec<Slo>, String> {
    let mut out: Vec<Slo> = Vec::new();
    for item in spec.split([' ', ',']).filter(|s| !s.trim().is_empty()) {
        let (tag, value) = item
            .split_once(':')
            .ok_or_else(|| format!("--goodput: '{item}' is not TAG:VALUE (e.g. \"time_to_first_token:100 inter_token_latency:10\")"))?;
        let threshold: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("--goodput: '{item}': '{value}' is not a number (values are in the metric's display unit, e.g. ms)"))?;
        let tag = tag.trim();
        if tag.is_empty() {
            return Err(format!("--goodput: '{item}' has no metric tag"));
        }
        if out.iter().any(|s| s.tag == tag) {
            return Err(format!("--goodput: '{tag}' is given twice"));
        }
        out.push(Slo {
            tag: tag.to_string(),
            threshold,
            larger_is_better: metrics::larger_is_better(tag),
        });
    }
    if out.is_empty() {
        return Err(
            "--goodput: no SLO given (e.g. --goodput \"time_to_first_token:100 inter_token_latency:10\")"
                .into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orients_slos() {
        let s = parse("time_to_first_token:100 output_token_throughput_per_user:600").unwrap();
        assert_eq!(s.len(), 2);
        assert!(s[0].passes(100.0) && !s[0].passes(100.1));
        assert!(s[1].larger_is_better && s[1].passes(600.0) && !s[1].passes(599.9));
    }

    #[test]
    fn rejects_bad_items() {
        assert!(parse("ttft").unwrap_err().contains("is not TAG:VALUE"));
        assert!(parse("time_to_first_token:fast")
            .unwrap_err()
            .contains("is not a number"));
        assert!(parse("a:1 a:2").unwrap_err().contains("given twice"));
        assert!(parse("  ").unwrap_err().contains("no SLO"));
    }
}
