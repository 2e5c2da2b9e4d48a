//! The largest inputs loadgen accepts (README: "Input limits"), beside [`super::seconds`] for
//! durations. Each limit is far above any real benchmark and far below what would exhaust the
//! machine: a typo (`1e12` for `1e3`) gets a one-line error naming the flag or `file:line`
//! instead of a run that allocates without bound, hangs, or sends a silently truncated value.

/// Tokens in one prompt, one reply (`output_length`, `--osl`) or one session's history: 10M, ten
/// times the largest context windows served today; the text of one such prompt is ~60 MB.
/// With a tokenizer that states its model's context (`model_max_length`), that context is the limit.
pub const MAX_TOKENS: u64 = 10_000_000;

/// Tokens of synthetic text in the whole dataset (every entry, turn and shared text as built):
/// 100M, about 0.6 GB of text per copy. Beyond that, building the dataset alone takes minutes and
/// gigabytes; `--num-prompts` builds fewer distinct entries that the run cycles through.
pub const MAX_DATASET_TOKENS: u64 = 100_000_000;

/// Above this many dataset tokens loadgen warns (it takes seconds and hundreds of MB).
pub const WARN_DATASET_TOKENS: u64 = 20_000_000;

/// Requests (turns) in the dataset: 1M. Each costs about 1 KB before its text.
pub const MAX_DATASET_TURNS: u64 = 1_000_000;

/// Turns of one synthetic conversation (`--conversation-turn-mean`): 10,000.
pub const MAX_TURNS: u64 = 10_000;

/// Dataset entries always built whole, as AIPerf builds them; a larger dataset is built only as
/// far as the run can reach it (its request count, or its sessions), so `--conversation-num
/// 1000000 --request-count 4` builds 4 conversations, not a million.
pub const EAGER_ENTRIES: u64 = 1000;

/// Entries to build of a synthetic dataset of `size` when the run reaches at most `reach` of them
/// (None: no bound known, e.g. a duration run).
pub fn built_entries(size: u64, reach: Option<u64>) -> u64 {
    match reach {
        Some(r) if size > EAGER_ENTRIES => size.min(r.max(EAGER_ENTRIES)),
        _ => size,
    }
}

/// The largest trace `timestamp`, ms: 2^53, where whole milliseconds stop being exact in the
/// f64 a JSON number is read into (epoch milliseconds today are ~1.8e12).
pub const MAX_TIMESTAMP_MS: f64 = 9_007_199_254_740_992.0;

/// A trace `timestamp` (ms) as read from a file: a number from 0 to [`MAX_TIMESTAMP_MS`], or the
/// message after `file:line:`.
pub fn check_timestamp(ms: f64) -> Result<f64, String> {
    if ms.is_finite() && (0.0..=MAX_TIMESTAMP_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(format!(
            "timestamp {}: must be a number of ms from 0 to {MAX_TIMESTAMP_MS} (2^53, where whole ms stop being exact)",
            super::seconds::show(ms)
        ))
    }
}

/// A token count `what` from a file or a flag, at most [`MAX_TOKENS`] (or the model's context
/// when known): the message after its `file:line:` or before its flag.
pub fn check_tokens(what: &str, n: u64, context: Option<u64>) -> Result<u64, String> {
    match context {
        Some(max) if n > max => Err(format!(
            "{what} {n}: longer than the model's context of {max} tokens (model_max_length in the tokenizer's config)"
        )),
        _ if n > MAX_TOKENS => Err(format!(
            "{what} {n}: more than the {MAX_TOKENS} tokens loadgen accepts (10x the largest context served today)"
        )),
        _ => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_refuse_with_the_value_and_the_limit() {
        assert_eq!(check_timestamp(1.8e12), Ok(1.8e12));
        for bad in [-1.0, 9.223372036854776e18, f64::NAN, 1e308] {
            let e = check_timestamp(bad).unwrap_err();
            assert!(e.contains("from 0 to 9007199254740992"), "{e}");
        }
        assert_eq!(check_tokens("output_length", 512, None), Ok(512));
        let e = check_tokens("output_length", 1_000_000_000_000_000, None).unwrap_err();
        assert!(
            e.starts_with("output_length 1000000000000000: more than the 10000000"),
            "{e}"
        );
        let e = check_tokens("input_length", 9000, Some(8192)).unwrap_err();
        assert!(e.contains("model's context of 8192"), "{e}");
    }
}
