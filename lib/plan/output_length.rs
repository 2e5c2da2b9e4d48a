//! Whether the server, not the benchmark, picks each reply's length: without `--osl` (or a dataset
//! file, or `max_tokens` in `--extra-inputs`) requests carry no output budget, so the server's
//! default decides (mock-llm: 1–16 tokens; vLLM: up to the context) and throughput and latency
//! then measure whatever it chose. Said once, where a run is planned or started.

use crate::contract::settings::{EndpointType, Settings};

/// The one-line note, when the server picks the output length for these settings.
pub fn server_decides(s: &Settings) -> Option<String> {
    let generates = !matches!(
        s.endpoint_type.unwrap_or_default(),
        EndpointType::Embeddings | EndpointType::CohereRankings | EndpointType::HfTeiRankings
    );
    let budgeted = s.extra_inputs.as_ref().is_some_and(|m| {
        [
            "max_tokens",
            "max_completion_tokens",
            "max_output_tokens",
            "max_new_tokens",
        ]
        .iter()
        .any(|k| m.contains_key(*k))
    });
    (generates && s.osl.is_none() && s.input_file.is_none() && !budgeted).then(|| {
        "no --osl: the server picks each reply's length (its default max tokens), so the output \
         length is not controlled; give --osl N to fix it"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn said_only_when_nothing_bounds_the_reply() {
        let mut s = Settings::default();
        assert!(server_decides(&s)
            .unwrap()
            .starts_with("no --osl: the server picks"));
        s.osl = Some(16);
        assert_eq!(server_decides(&s), None);
        let mut s = Settings {
            endpoint_type: Some(EndpointType::Embeddings),
            ..Settings::default()
        };
        assert_eq!(server_decides(&s), None, "embeddings have no reply length");
        s.endpoint_type = None;
        s.extra_inputs = Some([("max_tokens".to_string(), 8.into())].into_iter().collect());
        assert_eq!(server_decides(&s), None);
    }
}
