//! `--spec-decode-tokens K`: vLLM's per-request speculative-decoding stats
//! (`metrics.speculative_decoding`, as `--per-request-spec-decode-metrics` sends them), so a
//! client's spec-decode metrics have a truth. The stated rule: the first token comes from prefill;
//! then verify step s (0, 1, 2, ...) accepts `s mod (K + 1)` of its K drafts and emits one bonus
//! token more, the last step only what the answer still needs.

use std::fmt::Write as _;

use bytes::BytesMut;

/// vLLM's per-request stats for an answer of `completion` tokens with `k` drafts per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub histogram: Vec<u64>,
    pub accepted: u64,
    pub drafted: u64,
    pub steps: u64,
}

impl Stats {
    pub fn of(k: u32, completion: u32) -> Stats {
        let k = k as u64;
        let mut left = (completion as u64).saturating_sub(1);
        let mut s = Stats {
            histogram: vec![0; k as usize + 1],
            accepted: 0,
            drafted: 0,
            steps: 0,
        };
        while left > 0 {
            let j = (s.steps % (k + 1)).min(left - 1);
            s.histogram[j as usize] += 1;
            s.accepted += j;
            s.drafted += k;
            s.steps += 1;
            left -= j + 1;
        }
        s
    }

    /// Appends `"metrics":{"speculative_decoding":{...}}` (with a leading comma) to a JSON object
    /// being written.
    pub fn write(&self, buf: &mut BytesMut, k: u32) {
        let (mean, rate) = match (self.steps, self.drafted) {
            (0, _) | (_, 0) => (1.0, 0.0),
            (st, d) => (
                1.0 + self.accepted as f64 / st as f64,
                self.accepted as f64 / d as f64,
            ),
        };
        let hist: Vec<String> = self.histogram.iter().map(u64::to_string).collect();
        let _ = write!(
            buf,
            r#","metrics":{{"speculative_decoding":{{"mean_acceptance_length":{mean:?},"draft_acceptance_rate":{rate:?},"acceptance_histogram":[{}],"num_accepted_draft_tokens":{},"num_draft_tokens":{},"num_spec_steps":{},"num_spec_tokens":{k}}}}}"#,
            hist.join(","),
            self.accepted,
            self.drafted,
            self.steps
        );
    }
}

/// Inserts the stats before the closing `}` of the JSON object that ends `buf`.
pub fn close_with(buf: &mut BytesMut, k: u32, completion: u32) {
    if k == 0 || buf.last() != Some(&b'}') {
        return;
    }
    buf.truncate(buf.len() - 1);
    Stats::of(k, completion).write(buf, k);
    buf.extend_from_slice(b"}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_accept_0_to_k_in_turn_and_cover_the_answer_after_prefill() {
        // K = 3, 12 tokens: 1 from prefill, then steps emit 1, 2, 3, 4 (= 10), then 1 of 1.
        let s = Stats::of(3, 12);
        assert_eq!(s.steps, 5);
        assert_eq!(s.histogram, [2, 1, 1, 1]);
        assert_eq!(s.accepted, 6);
        assert_eq!(s.drafted, 15);
        assert_eq!(1 + s.accepted + s.steps, 12);
        // The last step takes only what is left: 1 + 1 + 2 (of 3 possible) = 4 tokens.
        let t = Stats::of(3, 5);
        assert_eq!(
            (t.steps, t.accepted, t.histogram.clone()),
            (3, 1, vec![2, 1, 0, 0])
        );
        assert_eq!(Stats::of(3, 1).steps, 0);
    }

    #[test]
    fn the_payload_is_vllms_shape_inside_the_object() {
        let mut buf = BytesMut::from(&br#"{"usage":{"completion_tokens":12}}"#[..]);
        close_with(&mut buf, 3, 12);
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let sd = &v["metrics"]["speculative_decoding"];
        assert_eq!(sd["num_spec_steps"], 5);
        assert_eq!(sd["acceptance_histogram"], serde_json::json!([2, 1, 1, 1]));
        assert_eq!(sd["mean_acceptance_length"], 1.0 + 6.0 / 5.0);
        assert_eq!(sd["draft_acceptance_rate"], 6.0 / 15.0);
        assert_eq!(v["usage"]["completion_tokens"], 12);
    }
}
