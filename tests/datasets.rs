//! Datasets from local files in AIPerf 0.13's formats (`tests/fixtures/datasets/`): each run sends
//! its file to a recording mock-llm, and the test reads what the server received (its `--record`
//! with request bodies). Malformed files are rows of the hostile-input table (`hostile.rs`).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sweepkit::io::tokenizer::Tokenizer;
use sweepkit::loadgen::py_random::PyRandom;

use crate::common::recorded_loadgen;

fn fixture(name: &str) -> PathBuf {
    crate::common::repo_root()
        .join("tests/fixtures/datasets")
        .join(name)
}

/// A run of `args` against a recording mock: (the server's records in arrival order, the
/// client's records, loadgen's stderr).
fn run(args: &[&str]) -> (Vec<Value>, Vec<Value>, String) {
    recorded_loadgen(tempfile::tempdir().unwrap().path(), "run", args)
}

fn body(r: &Value) -> &Value {
    &r["request_body"]
}

/// The text of a body's last message.
fn last_user(r: &Value) -> String {
    let m = body(r)["messages"].as_array().unwrap();
    m.last().unwrap()["content"].as_str().unwrap().to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn random_pool_file_sends_aiperfs_draws_shuffled() {
    let f = fixture("random_pool.jsonl");
    let (server, _, _) = run(&[
        "--input-file",
        path(&f),
        "--custom-dataset-type",
        "random_pool",
        "--num-prompts",
        "12",
        "--concurrency",
        "1",
        "--random-seed",
        "3",
    ]);
    assert_eq!(server.len(), 12, "each of the 12 requests drawn once");
    let entries = ["pool alpha", "pool beta", "pool gamma pool delta"];
    // AIPerf's choices(pool, k=12) on its dataset.loader.random_pool stream.
    let mut rng = PyRandom::derived(3, "dataset.loader.random_pool");
    let drawn: Vec<&str> = (0..12).map(|_| entries[(rng.random() * 3.0) as usize]).collect();
    let got: Vec<String> = server.iter().map(last_user).collect();
    let (mut a, mut b) = (drawn.clone(), got.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same draws as AIPerf");
    assert_ne!(
        got, drawn,
        "AIPerf's default for random_pool is shuffle: not the draw order"
    );
}

#[test]
fn random_pool_folder_merges_one_entry_of_each_pool_in_name_order() {
    let d = fixture("random_pool_dir");
    let (server, _, _) = run(&[
        "--input-file",
        path(&d),
        "--custom-dataset-type",
        "random_pool",
        "--num-prompts",
        "10",
        "--concurrency",
        "1",
        "--dataset-sampling-strategy",
        "sequential",
    ]);
    let passages = ["I am a cat.", "I am a dog.", "I am a bird."];
    let queries = ["Who are you?", "What is the meaning of life?"];
    let mut rng = PyRandom::derived(0, "dataset.loader.random_pool");
    let p: Vec<&str> = (0..10).map(|_| passages[(rng.random() * 3.0) as usize]).collect();
    let q: Vec<&str> = (0..10).map(|_| queries[(rng.random() * 2.0) as usize]).collect();
    let want: Vec<String> = p.iter().zip(&q).map(|(p, q)| format!("{p} {q}")).collect();
    let got: Vec<String> = server.iter().map(last_user).collect();
    assert_eq!(got, want, "passages.jsonl before queries.jsonl, sequential order");
}

#[test]
fn raw_payload_lines_reach_the_server_verbatim() {
    let f = fixture("raw_payload.jsonl");
    let (server, _, _) = run(&[
        "--input-file",
        path(&f),
        "--custom-dataset-type",
        "raw_payload",
        "--concurrency",
        "1",
        "--osl",
        "50",
        "--extra-inputs",
        "temperature:0",
    ]);
    let lines: Vec<Value> = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(server.len(), 2);
    for (r, line) in server.iter().zip(&lines) {
        assert_eq!(body(r), line, "no model, --osl or --extra-inputs added");
    }
}

#[test]
fn raw_payload_folder_is_one_session_per_jsonl_file() {
    let d = fixture("raw_payload_dir");
    let (server, records, _) = run(&[
        "--input-file",
        path(&d),
        "--custom-dataset-type",
        "raw_payload",
        "--concurrency",
        "1",
    ]);
    let got: Vec<String> = server.iter().map(last_user).collect();
    assert_eq!(
        got,
        ["a first", "a second", "b only"],
        "README.txt is not a session"
    );
    let second = &body(&server[1])["messages"];
    assert_eq!(
        second[1]["content"], "recorded reply",
        "the file's history, not the live reply"
    );
    let mut convs: Vec<&str> = records
        .iter()
        .map(|r| r["metadata"]["conversation_id"].as_str().unwrap())
        .collect();
    convs.sort();
    convs.dedup();
    assert_eq!(convs.len(), 2, "two files, two sessions");
}

#[test]
fn sharegpt_keeps_aiperfs_length_filtered_pairs() {
    let f = fixture("sharegpt.json");
    let tok = Tokenizer::load("builtin").unwrap();
    let (server, _, err) = run(&[
        "--public-dataset",
        "sharegpt",
        "--input-file",
        path(&f),
        "--concurrency",
        "1",
    ]);
    assert!(err.contains("kept 2 of 5 entries"), "{err}");
    let got: Vec<String> = server.iter().map(last_user).collect();
    assert_eq!(
        got,
        [
            "What is the capital city of France?",
            "Tell me a short story about a cat.",
            "Now make it about a dog instead."
        ]
    );
    // Each turn asks for its recorded completion's token count.
    for (r, completion) in server.iter().zip([
        "The capital city of France is Paris, on the Seine.",
        "Once upon a time, a cat sat on a warm mat all day.",
        "Once upon a time, a dog slept on a log by the river.",
    ]) {
        assert_eq!(body(r)["max_completion_tokens"], tok.count(completion));
    }
    let history = body(&server[2])["messages"].as_array().unwrap();
    assert_eq!(
        history.len(),
        3,
        "the second pair carries the first and the live reply"
    );
    assert_eq!(history[1]["role"], "assistant");
    // With --osl, AIPerf skips the minimum-completion check: "Red." passes.
    let (server, _, err) = run(&[
        "--public-dataset",
        "sharegpt",
        "--input-file",
        path(&f),
        "--concurrency",
        "1",
        "--osl",
        "7",
    ]);
    assert!(err.contains("kept 3 of 5 entries"), "{err}");
    let red = server
        .iter()
        .find(|r| last_user(r).starts_with("Name one color"))
        .unwrap();
    assert_eq!(
        body(red)["max_completion_tokens"],
        tok.count("Red."),
        "the file's count beats --osl"
    );
}

#[test]
fn spec_bench_sends_each_questions_first_turn() {
    let f = fixture("spec_bench.jsonl");
    let (server, _, _) = run(&[
        "--public-dataset",
        "spec_bench",
        "--input-file",
        path(&f),
        "--concurrency",
        "1",
        "--osl",
        "5",
    ]);
    let got: Vec<String> = server.iter().map(last_user).collect();
    assert_eq!(
        got,
        ["Compose a travel blog post about Hawaii.", "What is 12 times 12?"]
    );
    assert!(server.iter().all(|r| body(r)["max_completion_tokens"] == 5));
}

#[test]
fn mt_bench_rows_are_sessions_with_live_history() {
    let f = fixture("mt_bench.jsonl");
    let (server, _, _) = run(&[
        "--public-dataset",
        "spec_al_mtbench",
        "--input-file",
        path(&f),
        "--concurrency",
        "1",
        "--osl",
        "4",
    ]);
    let got: Vec<String> = server.iter().map(last_user).collect();
    assert_eq!(
        got,
        [
            "Compose an engaging travel blog post about Hawaii.",
            "Rewrite your previous response, starting every sentence with A.",
            "What is 12 times 12?"
        ],
        "the null row is skipped, the blank turn dropped"
    );
    let second = body(&server[1])["messages"].as_array().unwrap();
    assert_eq!(second.len(), 3);
    assert_eq!(second[0]["content"], got[0]);
    assert_eq!(second[1]["role"], "assistant");
}

#[test]
fn burst_gpt_csv_replays_its_token_counts_on_its_timestamps() {
    let f = fixture("burst_gpt.csv");
    let (server, records, err) = run(&[
        "--custom-dataset-type",
        "burst_gpt_trace",
        "--input-file",
        path(&f),
        "--random-seed",
        "1",
    ]);
    assert!(err.contains("skipped 1 rows") && err.contains("line 4"), "{err}");
    let max: Vec<u64> = server
        .iter()
        .map(|r| body(r)["max_completion_tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(max, [6, 1, 4], "Response tokens, 0 clamped to 1");
    let isl: Vec<u64> = records
        .iter()
        .map(|r| r["metrics"]["input_sequence_length"]["value"].as_u64().unwrap())
        .collect();
    let mut isl_sorted = isl.clone();
    isl_sorted.sort();
    assert_eq!(isl_sorted, [12, 20, 30], "Request tokens of synthesized text");
    // The schedule is the program's: 0, 250 and 500 ms after the first row (auto offset).
    let mut due: Vec<u64> = records
        .iter()
        .map(|r| r["metadata"]["scheduled_ns"].as_u64().unwrap())
        .collect();
    due.sort();
    assert_eq!([due[1] - due[0], due[2] - due[0]], [250_000_000, 500_000_000]);
}

#[test]
fn sampling_strategies_are_aiperfs_and_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.jsonl");
    std::fs::write(
        &f,
        (0..4)
            .map(|i| format!("{{\"text\":\"entry {i}\"}}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let order = |strategy: &str, seed: &str| -> Vec<usize> {
        let (server, _, _) = run(&[
            "--input-file",
            path(&f),
            "--request-count",
            "8",
            "--concurrency",
            "1",
            "--random-seed",
            seed,
            "--dataset-sampling-strategy",
            strategy,
        ]);
        server
            .iter()
            .map(|r| last_user(r).trim_start_matches("entry ").parse().unwrap())
            .collect()
    };
    assert_eq!(order("sequential", "5"), [0, 1, 2, 3, 0, 1, 2, 3]);
    let mut rng = PyRandom::derived(5, "dataset.sampler.random");
    let want: Vec<usize> = (0..8).map(|_| rng.randbelow(4) as usize).collect();
    assert_eq!(order("random", "5"), want, "AIPerf's choice() draws");
    let shuffled = order("shuffle", "5");
    for pass in shuffled.chunks(4) {
        let mut p = pass.to_vec();
        p.sort();
        assert_eq!(p, [0, 1, 2, 3], "every entry once per pass: {shuffled:?}");
    }
    assert_ne!(shuffled, [0, 1, 2, 3, 0, 1, 2, 3]);
    assert_eq!(order("shuffle", "5"), shuffled, "the same seed, the same order");
}
