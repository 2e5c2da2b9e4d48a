//! Every `--endpoint-type` end to end: loadgen against mock-llm, which serves each flavour through
//! the same capacity model. Same metrics from each: TTFT on the first content token (the mock sends
//! `message_start` / `response.created` before prefill, so a TTFT taken from them would be ~0),
//! ITL from the mock's schedule, OSL under the client tokenizer, usage mapped to `usage_*`.

use std::process::Command;

use serde_json::Value;

use crate::common::{bin, MockServer};

const GENERATION: [&str; 5] = [
    "chat",
    "completions",
    "responses",
    "messages",
    "huggingface_generate",
];

/// TTFT 40 ms and 4 ms per token, no queueing (everything fits in the batch).
fn mock(extra: &[&str]) -> MockServer {
    MockServer::fixed("40", "4", extra)
}

fn run(mock: &MockServer, args: &[&str]) -> Vec<Value> {
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "m",
            "--ui",
            "none",
            "--concurrency",
            "2",
        ])
        .args(["--request-count", "4", "--isl", "32"])
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loadgen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 4, "{args:?}");
    for r in &recs {
        assert!(r["error"].is_null(), "{args:?}: {r}");
    }
    recs
}

fn m(r: &Value, tag: &str) -> Option<f64> {
    r["metrics"][tag]["value"].as_f64()
}

#[test]
fn every_generation_flavour_streams_with_the_same_metrics() {
    let mock = mock(&[]);
    for kind in GENERATION {
        let recs = run(&mock, &["--endpoint-type", kind, "--streaming", "--osl", "6"]);
        for r in &recs {
            let what = format!("{kind}: {r}");
            let ttft = m(r, "time_to_first_token").unwrap();
            // Timing can only be late on a busy machine, never early.
            assert!(
                (39.0..400.0).contains(&ttft),
                "TTFT from the first content token: {what}"
            );
            // The mock's tokens keep its absolute schedule, so a late first token makes the next
            // gap short: the early bound is on the last token (TTFT + 5 ITL = 60 ms), and ITL is
            // AIPerf's (latency - TTFT) / (OSL - 1).
            let latency = m(r, "request_latency").unwrap();
            assert!((59.5..600.0).contains(&latency), "{what}");
            let itl = m(r, "inter_token_latency").unwrap();
            assert!((itl - (latency - ttft) / 5.0).abs() < 1e-6, "{what}");
            assert!((0.0..200.0).contains(&itl), "{what}");
            assert_eq!(m(r, "output_sequence_length"), Some(6.0), "{what}");
            assert_eq!(m(r, "input_sequence_length"), Some(32.0), "{what}");
            // AIPerf counts the Responses API's output_text.done (it repeats the text) as one more
            // content response, so its stream has 7 content responses for 6 tokens.
            let gaps = if kind == "responses" { 6 } else { 5 };
            assert_eq!(
                r["metrics"]["inter_chunk_latency"]["value"]
                    .as_array()
                    .unwrap()
                    .len(),
                gaps,
                "{what}"
            );
            // Every flavour's server usage lands in the same metrics.
            assert_eq!(m(r, "usage_completion_tokens"), Some(6.0), "{what}");
            assert!(m(r, "usage_prompt_tokens").unwrap() > 0.0, "{what}");
        }
    }
}

#[test]
fn every_generation_flavour_answers_whole_bodies() {
    let mock = mock(&[]);
    for kind in GENERATION {
        let recs = run(&mock, &["--endpoint-type", kind, "--osl", "5"]);
        for r in &recs {
            let what = format!("{kind}: {r}");
            assert_eq!(m(r, "output_sequence_length"), Some(5.0), "{what}");
            assert!(
                m(r, "request_latency").unwrap() >= 40.0 + 4.0 * 4.0 - 1.0,
                "{what}"
            );
            assert!(m(r, "time_to_first_token").is_none(), "{what}");
            // TGI's /generate sends usage-like details only when asked (AIPerf does not ask).
            let usage = m(r, "usage_completion_tokens");
            assert_eq!(usage, (kind != "huggingface_generate").then_some(5.0), "{what}");
        }
    }
}

#[test]
fn server_token_counts_come_from_each_flavours_usage() {
    let mock = mock(&[]);
    for kind in ["responses", "messages", "huggingface_generate"] {
        let recs = run(
            &mock,
            &[
                "--endpoint-type",
                kind,
                "--streaming",
                "--osl",
                "7",
                "--use-server-token-count",
            ],
        );
        for r in &recs {
            assert_eq!(m(r, "output_sequence_length"), Some(7.0), "{kind}: {r}");
            // The mock's own prompt rule (ceil(chars/4) per word), not the client tokenizer's 32.
            assert_eq!(
                m(r, "input_sequence_length"),
                m(r, "usage_prompt_tokens"),
                "{kind}: {r}"
            );
            assert_ne!(m(r, "input_sequence_length"), Some(32.0), "{kind}: {r}");
        }
    }
}

#[test]
fn rankings_flavours_run_end_to_end() {
    let mock = mock(&[]);
    for kind in ["cohere_rankings", "hf_tei_rankings"] {
        let recs = run(
            &mock,
            &[
                "--endpoint-type",
                kind,
                "--rankings-passages-mean",
                "3",
                "--rankings-passages-prompt-token-mean",
                "20",
            ],
        );
        for r in &recs {
            let what = format!("{kind}: {r}");
            assert!(m(r, "request_latency").unwrap() >= 39.0, "{what}");
            // The query and three passages, joined as AIPerf tokenizes them.
            let isl = m(r, "input_sequence_length").unwrap();
            assert!((90.0..=95.0).contains(&isl), "{what}");
            assert!(m(r, "output_sequence_length").is_none() && m(r, "time_to_first_token").is_none());
        }
        if kind == "cohere_rankings" {
            assert!(m(&recs[0], "usage_total_tokens").unwrap() > 0.0);
        }
    }
    // Rankings do not stream: refused before anything is sent.
    let out = Command::new(bin("loadgen"))
        .args(["-m", "m", "--endpoint-type", "hf_tei_rankings", "--streaming"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the hf_tei_rankings endpoint does not stream"));
}

#[test]
fn messages_authenticate_with_x_api_key() {
    // This mock takes the key only as `x-api-key`, as Anthropic's API does: a Bearer header fails.
    let mock = mock(&["--api-key", "s3cret", "--auth-header", "x-api-key"]);
    let messages = [
        "--endpoint-type",
        "messages",
        "--streaming",
        "--osl",
        "3",
        "--api-key",
        "s3cret",
    ];
    let recs = run(&mock, &messages);
    for r in &recs {
        assert_eq!(m(r, "output_sequence_length"), Some(3.0), "{r}");
    }
    // The same key sent the OpenAI way (chat: Bearer) is refused by this mock, and messages'
    // x-api-key by a mock that takes only Bearer: the header, not the key, made the difference.
    let bearer_only =
        crate::common::MockServer::fixed("40", "4", &["--api-key", "s3cret", "--auth-header", "bearer"]);
    for (server, args) in [
        (&mock, &["--endpoint-type", "chat", "--api-key", "s3cret"][..]),
        (&bearer_only, &messages[..]),
    ] {
        let out = crate::common::loadgen(
            &[
                &["--url", &server.url(), "-m", "m", "--ui", "none"][..],
                &["--request-count", "2"][..],
                args,
            ]
            .concat(),
        );
        let recs = crate::common::jsonl_of(&out.stdout);
        assert_eq!(recs.len(), 2, "{args:?}: {}", crate::common::stderr(&out));
        for r in &recs {
            assert_eq!(r["error"]["code"], 401, "{args:?}: {r}");
        }
    }
}
