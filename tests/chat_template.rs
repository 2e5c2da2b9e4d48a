//! `--apply-chat-template` against a recording mock-llm: the records' ISL is the request's
//! messages counted through the tokenizer's chat template (as transformers' apply_chat_template
//! counts them, `tests/fixtures/chat_templates/expected.json`), synthetic prompts shrink by the
//! template's overhead so the templated prompt stays `--isl` tokens, and without the flag nothing
//! changes.

use std::path::Path;

use serde_json::Value;
use sweepkit::io::tokenizer::Tokenizer;

use crate::common::recorded_loadgen;

fn chatml() -> String {
    crate::common::repo_root()
        .join("tests/fixtures/chat_templates/chatml")
        .display()
        .to_string()
}

/// Runs loadgen with `args` against a recording mock: (server records, client records, stderr).
fn run(dir: &Path, tag: &str, args: &[&str]) -> (Vec<Value>, Vec<Value>, String) {
    recorded_loadgen(dir, tag, args)
}

fn isl(r: &Value) -> u64 {
    r["metrics"]["input_sequence_length"]["value"].as_f64().unwrap() as u64
}

/// The ISL transformers gives the single user message "Hello, how are you today?" through the
/// ChatML template (expected.json's first chatml case), and its bare count.
const TEMPLATED: u64 = 54;
const BARE: u64 = 15;

#[test]
fn record_isl_is_the_templated_count_transformers_gives() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, "{\"text\": \"Hello, how are you today?\"}\n").unwrap();
    let want = &crate::common::read_json(
        &crate::common::repo_root().join("tests/fixtures/chat_templates/expected.json"),
    )["templates"]["chatml"]["cases"][0];
    assert_eq!(want["count"].as_u64(), Some(TEMPLATED));
    let tok = chatml();
    let common = [
        "--input-file",
        file.to_str().unwrap(),
        "--request-count",
        "2",
        "--tokenizer",
        &tok,
    ];
    let with: Vec<&str> = common.iter().copied().chain(["--apply-chat-template"]).collect();
    let (server, records, _) = run(dir.path(), "with", &with);
    assert_eq!(server.len(), 2);
    for s in &server {
        assert_eq!(
            s["request_body"]["messages"], want["messages"],
            "the server got the messages counted"
        );
    }
    assert_eq!(
        records.iter().map(isl).collect::<Vec<_>>(),
        [TEMPLATED, TEMPLATED]
    );
    let (_, records, _) = run(dir.path(), "without", &common);
    assert_eq!(
        records.iter().map(isl).collect::<Vec<_>>(),
        [BARE, BARE],
        "without the flag: bare text"
    );
}

#[test]
fn synthetic_prompts_shrink_by_the_overhead_and_stay_isl_tokens_templated() {
    let dir = tempfile::tempdir().unwrap();
    let tok_spec = chatml();
    let common = [
        "--isl",
        "100",
        "--osl",
        "4",
        "--request-count",
        "3",
        "--num-prompts",
        "3",
        "--tokenizer",
        &tok_spec,
    ];
    let with: Vec<&str> = common.iter().copied().chain(["--apply-chat-template"]).collect();
    let (server, records, _) = run(dir.path(), "with", &with);
    let mut tok = Tokenizer::load(&tok_spec).unwrap();
    let bare = |s: &Value| tok_count(&tok, s);
    // AIPerf's overheads of this template: 30 per request + 8 per message (expected.json).
    assert!(
        server.iter().all(|s| bare(s) == 100 - 38),
        "{:?}",
        server.iter().map(bare).collect::<Vec<_>>()
    );
    assert_eq!(tok.apply_chat_template().unwrap(), None);
    for (s, r) in server.iter().zip(&records) {
        let messages = s["request_body"]["messages"].as_array().unwrap();
        assert_eq!(Some(isl(r)), tok.count_chat(messages, true));
        assert!(
            isl(r).abs_diff(100) <= 2,
            "templated ISL {} is about --isl 100",
            isl(r)
        );
    }
    let (server, records, _) = run(dir.path(), "without", &common);
    assert!(server.iter().all(|s| tok_count(&tok, s) == 100));
    assert!(records.iter().all(|r| isl(r) == 100));
}

/// Tokens of the last user message's text, bare.
fn tok_count(tok: &Tokenizer, s: &Value) -> u64 {
    let m = s["request_body"]["messages"].as_array().unwrap();
    tok.count(m.last().unwrap()["content"].as_str().unwrap())
}

#[test]
fn later_turns_count_their_history_through_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let tok_spec = chatml();
    let args = [
        "--isl",
        "40",
        "--osl",
        "3",
        "--conversation-num",
        "2",
        "--conversation-turn-mean",
        "3",
        "--tokenizer",
        &tok_spec,
        "--apply-chat-template",
    ];
    let (mut server, records, _) = run(dir.path(), "turns", &args);
    let mut tok = Tokenizer::load(&tok_spec).unwrap();
    tok.apply_chat_template().unwrap();
    assert_eq!(records.len(), 6);
    let id = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    server.sort_by_key(|s| id(s, "client_request_id"));
    for r in &records {
        let s = server
            .iter()
            .find(|s| id(s, "client_request_id") == r["metadata"]["x_request_id"].as_str().unwrap())
            .unwrap();
        let messages = s["request_body"]["messages"].as_array().unwrap();
        assert_eq!(
            Some(isl(r)),
            tok.count_chat(messages, true),
            "turn {}",
            r["metadata"]["turn_index"]
        );
    }
    assert!(records
        .iter()
        .any(|r| r["metadata"]["turn_index"].as_u64() == Some(2)));
}

#[test]
fn a_tokenizer_without_a_template_warns_once_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, with, err) = run(
        dir.path(),
        "builtin",
        &["--isl", "50", "--request-count", "2", "--apply-chat-template"],
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("--apply-chat-template"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("no chat template"), "{err}");
    assert!(with.iter().all(|r| isl(r) == 50));
}

fn fixture_dir(name: &str) -> String {
    crate::common::repo_root()
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// (record ISL, the server's usage_prompt_tokens) of each request loadgen sends with
/// `--tokenizer TOK --apply-chat-template` to a mock started with `mock_args`.
fn isl_and_usage(dir: &Path, tag: &str, tok: &str, mock_args: &[&str]) -> Vec<(u64, u64)> {
    let mock = crate::common::MockServer::start(mock_args);
    let (url, out) = (mock.url(), dir.join(format!("{tag}.jsonl")));
    let args = [
        "--url",
        &url,
        "-m",
        "mock",
        "--ui",
        "none",
        "--tokenizer",
        tok,
        "--apply-chat-template",
        "--isl",
        "60",
        "--isl-stddev",
        "20",
        "--osl",
        "4",
        "--request-count",
        "6",
        "--concurrency",
        "2",
        "--conversation-turn-mean",
        "2",
        "-o",
        out.to_str().unwrap(),
    ];
    crate::common::ok(crate::common::loadgen(&args), "loadgen --apply-chat-template");
    let value = |r: &Value, tag: &str| r["metrics"][tag]["value"].as_f64().unwrap() as u64;
    crate::common::jsonl(&out)
        .iter()
        .map(|r| (isl(r), value(r, "usage_prompt_tokens")))
        .collect()
}

/// mock-llm --tokenizer counts a chat prompt as vLLM does (the messages through the chat template,
/// generation prompt on): loadgen with --apply-chat-template and the same tokenizer records an ISL
/// equal to the server's usage.prompt_tokens for every request, multi-turn history included, for
/// both fixture templates; the default characters/4 rule does not agree.
#[test]
fn mock_with_the_tokenizer_reports_the_templated_count_loadgen_records() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["chatml", "llama3"] {
        let tok = fixture_dir(&format!("chat_templates/{name}"));
        let fast = ["--ttft-ms", "1", "--itl-ms", "1"];
        let with: Vec<&str> = fast.iter().copied().chain(["--tokenizer", &tok]).collect();
        let pairs = isl_and_usage(dir.path(), &format!("{name}-with"), &tok, &with);
        assert!(pairs.len() >= 6, "{name}: {pairs:?}");
        for (isl, usage) in &pairs {
            assert_eq!(
                isl, usage,
                "{name}: record ISL vs the mock's usage.prompt_tokens: {pairs:?}"
            );
        }
        let pairs = isl_and_usage(dir.path(), &format!("{name}-without"), &tok, &fast);
        assert!(
            pairs.iter().any(|(isl, usage)| isl != usage),
            "{name}: the characters/4 rule agreed by chance: {pairs:?}"
        );
    }
}

/// A --tokenizer without a chat template cannot count a chat prompt as the server would: mock-llm
/// refuses to start, one line naming the flag, exit 2.
#[test]
fn mock_refuses_a_tokenizer_without_a_chat_template() {
    let o = std::process::Command::new(crate::common::bin("mock-llm"))
        .args(["--port", "0", "--tokenizer", &fixture_dir("tokenizers/wordlevel")])
        .output()
        .unwrap();
    let e = crate::common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.starts_with("mock-llm: --tokenizer ")
            && e.contains("has no chat template")
            && e.lines().count() == 1,
        "{e}"
    );
}
