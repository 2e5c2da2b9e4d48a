//! Whether the client's token counts are the server's: a run whose server-reported prompt tokens
//! differ from the ISL the client counted by more than [`TOLERANCE`] was counted with another
//! tokenizer than the model's, so its ISL (and input throughput) is not the server's prefill work.

/// The share of the client's ISL by which the server's prompt tokens may differ before the
/// summary warns. A chat template adds a few tokens per request; a foreign tokenizer 2x or more.
pub const TOLERANCE: f64 = 0.20;

/// A warning when the run's server prompt tokens (`usage_prompt_tokens`, summed) and its client ISL
/// (`input_sequence_length`, summed) differ by more than [`TOLERANCE`] of the ISL.
pub fn warning(total_isl: Option<f64>, total_usage_prompt: Option<f64>) -> Option<String> {
    let (isl, server) = (
        total_isl.filter(|v| *v > 0.0)?,
        total_usage_prompt.filter(|v| *v > 0.0)?,
    );
    let ratio = server / isl;
    ((ratio - 1.0).abs() > TOLERANCE).then(|| {
        format!(
            "usage_prompt_tokens: the server counted {server:.0} prompt tokens where the client counted {isl:.0} (ISL), {ratio:.2}x: \
             the client tokenizer is not the model's, so ISL is not the server's prefill work; pass the model's tokenizer with --tokenizer"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_beyond_twenty_percent_either_way_and_only_with_both_counts() {
        assert_eq!(
            warning(Some(1000.0), Some(1199.0)),
            None,
            "a chat template's few tokens"
        );
        assert_eq!(warning(Some(1000.0), Some(801.0)), None);
        let w = warning(Some(1280.0), Some(3909.0)).unwrap();
        assert!(
            w.contains("3909") && w.contains("1280") && w.contains("3.05x") && w.contains("--tokenizer"),
            "{w}"
        );
        assert!(
            warning(Some(1000.0), Some(790.0)).is_some(),
            "fewer server tokens too"
        );
        assert_eq!(warning(None, Some(5000.0)), None, "no ISL counted");
        assert_eq!(warning(Some(1000.0), None), None, "no usage from the server");
    }
}
