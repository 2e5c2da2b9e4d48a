//! A worker's panic, end to end: the real `loadgen` against mock-llm, with a panic injected
//! through the test-only `SWEEPKIT_INJECT_PANIC` (no user input reaches a panic any more).

use crate::common::{bin, jsonl, read_json, MockServer};
use std::process::Command;
use std::time::{Duration, Instant};

/// The mock's `--record` lines, once `n` are on disk (its writer thread flushes when its queue
/// drains, a moment after the response; 10 s is a generous bound on a loaded machine).
fn served(truth: &std::path::Path, n: usize) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let lines = std::fs::read_to_string(truth).unwrap_or_default();
        if lines.lines().count() >= n || start.elapsed() > Duration::from_secs(10) {
            return crate::common::jsonl_of(lines.as_bytes());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Closed loop at concurrency 1, 10 requests, a panic instead of the 5th: the run fails (exit 2,
/// `end.reason: failed`, the panic's message in the run info and on stderr), and the 4 requests
/// the server answered before it are the 4 records on disk, each joined to the server's truth.
#[test]
fn a_worker_panic_fails_the_run_and_keeps_every_record_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.jsonl");
    let mock = MockServer::start(&[
        "--ttft-ms",
        "0",
        "--itl-ms",
        "0",
        "--record",
        truth.to_str().unwrap(),
    ]);
    let (records, info) = (dir.path().join("r.jsonl"), dir.path().join("run_info.json"));
    let o = Command::new(bin("loadgen"))
        .env("SWEEPKIT_INJECT_PANIC", "after:4")
        .env_remove("OPENAI_API_KEY")
        .args(["--url", &mock.url(), "-m", "m", "--ui", "none", "--osl", "2"])
        .args(["--concurrency", "1", "--request-count", "10"])
        .args(["-o", records.to_str().unwrap()])
        .args(["--run-info-out", info.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let message = "SWEEPKIT_INJECT_PANIC=after:4: a panic injected by a test";
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with("loadgen: ")
            && l.contains("a loadgen worker panicked")
            && l.contains(message)),
        "{err}"
    );
    let info = read_json(&info);
    assert_eq!(info["end"]["reason"], "failed", "{}", info["end"]);
    let detail = info["end"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(message), "{detail}");
    assert_eq!(info["end"]["requests_not_sent"], 6, "{}", info["end"]);
    let recs = jsonl(&records);
    assert_eq!(recs.len(), 4, "the 4 requests before the panic are on disk");
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
    }
    let mut ours: Vec<String> = recs
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap().to_string())
        .collect();
    let truth = served(&truth, 4);
    drop(mock);
    let mut theirs: Vec<String> = truth
        .iter()
        .map(|t| t["client_request_id"].as_str().unwrap().to_string())
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(
        ours, theirs,
        "every request the server answered has its record, and no other"
    );
}
