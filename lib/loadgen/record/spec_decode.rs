//! AIPerf 0.13's speculative-decoding record metrics, from vLLM's per-request
//! `metrics.speculative_decoding` (a server run with `--per-request-spec-decode-metrics`), read as
//! AIPerf's `spec_decode/vllm_adapter.py` reads it. A payload of another shape, or with a broken
//! value, gives no metrics (AIPerf logs and drops it): one odd response never fails a request.

use serde_json::Value as Json;

use crate::contract::records::Value;

/// The per-request spec-decode metrics of `payload`: (tag, value, unit), or none when it is not
/// vLLM's shape or a value is broken.
pub fn metrics(payload: &Json) -> Vec<(&'static str, Value, &'static str)> {
    let Some(s) = Stats::of(payload) else {
        return Vec::new();
    };
    let mut out = vec![
        (
            "spec_decode_acceptance_length",
            Value::Scalar(s.mean_acceptance_length),
            "ratio",
        ),
        (
            "spec_decode_draft_acceptance_rate",
            Value::Scalar(s.draft_acceptance_rate * 100.0),
            "%",
        ),
        ("spec_decode_steps", Value::Scalar(s.steps as f64), "count"),
        (
            "spec_decode_accepted_draft_tokens",
            Value::Scalar(s.accepted as f64),
            "tokens",
        ),
        (
            "spec_decode_draft_tokens",
            Value::Scalar(s.drafted as f64),
            "tokens",
        ),
    ];
    // (accepted + one bonus per step) / (drafted + one bonus per step); undefined at 0 / 0.
    let verified = s.drafted + s.steps;
    if verified > 0 {
        out.push((
            "spec_decode_accepted_per_verified",
            Value::Scalar((s.accepted + s.steps) as f64 / verified as f64),
            "ratio",
        ));
    }
    out
}

/// The fields AIPerf's engine-neutral record keeps, validated as its vLLM adapter does.
struct Stats {
    mean_acceptance_length: f64,
    draft_acceptance_rate: f64,
    accepted: u64,
    drafted: u64,
    steps: u64,
}

impl Stats {
    fn of(p: &Json) -> Option<Stats> {
        let o = p.as_object()?;
        // vLLM's signature: both keys always present, even with zero steps.
        let histogram = o.get("acceptance_histogram")?.as_array()?;
        let steps = o.get("num_spec_steps")?.as_u64()?;
        // Every bucket a non-negative integer (not a bool, not a float).
        let buckets: Vec<u64> = histogram.iter().map(|c| c.as_u64()).collect::<Option<_>>()?;
        // One bucket per accepted count 0..=k: an index past the draft budget is impossible.
        if let Some(k) = o.get("num_spec_tokens").filter(|v| !v.is_null()) {
            if buckets.len() as u64 != k.as_u64()? + 1 {
                return None;
            }
        }
        let finite = |key: &str| o.get(key)?.as_f64().filter(|x| x.is_finite());
        Some(Stats {
            mean_acceptance_length: finite("mean_acceptance_length")?,
            draft_acceptance_rate: finite("draft_acceptance_rate")?,
            accepted: o.get("num_accepted_draft_tokens")?.as_u64()?,
            drafted: o.get("num_draft_tokens")?.as_u64()?,
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(json: &str) -> Vec<(&'static str, f64)> {
        metrics(&serde_json::from_str(json).unwrap())
            .into_iter()
            .map(|(t, v, _)| match v {
                Value::Scalar(x) => (t, x),
                other => panic!("{t}: {other:?}"),
            })
            .collect()
    }

    const VLLM: &str = r#"{"mean_acceptance_length": 2.5, "draft_acceptance_rate": 0.5,
        "acceptance_histogram": [1, 0, 2, 1], "num_accepted_draft_tokens": 6,
        "num_draft_tokens": 12, "num_spec_steps": 4, "num_spec_tokens": 3}"#;

    #[test]
    fn vllms_payload_becomes_aiperfs_six_record_metrics() {
        assert_eq!(
            tags(VLLM),
            [
                ("spec_decode_acceptance_length", 2.5),
                ("spec_decode_draft_acceptance_rate", 50.0),
                ("spec_decode_steps", 4.0),
                ("spec_decode_accepted_draft_tokens", 6.0),
                ("spec_decode_draft_tokens", 12.0),
                // (6 + 4) / (12 + 4)
                ("spec_decode_accepted_per_verified", 0.625),
            ]
        );
    }

    #[test]
    fn a_payload_aiperf_would_drop_gives_no_metrics() {
        let broken = [
            // not vLLM's shape
            r#"{"mean_acceptance_length": 2.5}"#,
            r#"[1, 2]"#,
            // a histogram that is a string, holds a bool or a float, or is longer than k + 1
            &VLLM.replace("[1, 0, 2, 1]", r#""1021""#),
            &VLLM.replace("[1, 0, 2, 1]", "[1, 0, true, 1]"),
            &VLLM.replace("[1, 0, 2, 1]", "[1, 0, 2.5, 1]"),
            &VLLM.replace("[1, 0, 2, 1]", "[1, 0, 2, 1, 0]"),
            // a required count missing or negative
            &VLLM.replace(r#""num_draft_tokens": 12,"#, ""),
            &VLLM.replace(
                r#""num_accepted_draft_tokens": 6"#,
                r#""num_accepted_draft_tokens": -6"#,
            ),
        ];
        for b in broken {
            assert_eq!(tags(b), [], "{b}");
        }
    }

    #[test]
    fn zero_steps_leave_accepted_per_verified_undefined() {
        let zero = r#"{"mean_acceptance_length": 1.0, "draft_acceptance_rate": 0.0,
            "acceptance_histogram": [0, 0, 0], "num_accepted_draft_tokens": 0,
            "num_draft_tokens": 0, "num_spec_steps": 0}"#;
        let t = tags(zero);
        assert_eq!(t.len(), 5);
        assert!(t
            .iter()
            .all(|(tag, _)| *tag != "spec_decode_accepted_per_verified"));
    }
}
