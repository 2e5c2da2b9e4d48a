//! Prompts as AIPerf 0.13 makes them: loadgen's synthetic text is AIPerf's (its Shakespeare corpus,
//! its seeded streams), checked against inputs.json files AIPerf wrote, and against AIPerf itself
//! on the same mock-llm (server-side token counts, where AIPerf is installed); and trial-agg's
//! warning when the server counts other prompt tokens than the client's ISL.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{jsonl, loadgen, ok, read_json, repo_root, run, stderr, MockServer};

fn fixture(name: &str) -> Value {
    read_json(&repo_root().join("tests/fixtures/aiperf_inputs").join(name))
}

/// loadgen against a fast mock with `args`, writing inputs.json into `dir`; returns it.
fn loadgen_inputs(dir: &Path, args: &[&str]) -> Value {
    let mock = MockServer::fixed("0", "0", &[]);
    let inputs = dir.join("inputs.json");
    let url = mock.url();
    let mut all = vec!["--url", &url, "-m", "m", "--streaming", "--ui", "none"];
    all.extend_from_slice(args);
    let recs = dir.join("records.jsonl");
    all.extend([
        "--inputs-out",
        inputs.to_str().unwrap(),
        "--output",
        recs.to_str().unwrap(),
    ]);
    ok(loadgen(&all), "loadgen");
    read_json(&inputs)
}

#[test]
fn single_turn_prompts_are_aiperfs_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let ours = loadgen_inputs(
        dir.path(),
        &[
            "--random-seed",
            "42",
            "--isl",
            "100",
            "--isl-stddev",
            "10",
            "--osl",
            "16",
            "--num-prompts",
            "6",
            "--request-count",
            "6",
            "--concurrency",
            "2",
        ],
    );
    // The same session ids, texts, lengths and fields (serde_json writes the keys sorted).
    assert_eq!(ours, fixture("inputs_seed42_isl100.json"));
    // And another seed gives other texts.
    let other = loadgen_inputs(
        dir.path(),
        &[
            "--random-seed",
            "43",
            "--isl",
            "100",
            "--isl-stddev",
            "10",
            "--osl",
            "16",
            "--num-prompts",
            "6",
        ],
    );
    assert_ne!(other["data"][0], ours["data"][0]);
}

/// Per conversation: its id, and per turn the last user text and max_completion_tokens.
fn turns(inputs: &Value) -> Vec<(String, Vec<(String, u64)>)> {
    inputs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let turns = e["payloads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let last = p["messages"].as_array().unwrap().last().unwrap();
                    assert_eq!(last["role"], "user");
                    (
                        last["content"].as_str().unwrap().to_string(),
                        p["max_completion_tokens"].as_u64().unwrap(),
                    )
                })
                .collect();
            (e["session_id"].as_str().unwrap().to_string(), turns)
        })
        .collect()
}

#[test]
fn multi_turn_prompts_are_aiperfs_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let ours = loadgen_inputs(
        dir.path(),
        &[
            "--random-seed",
            "7",
            "--isl",
            "60",
            "--isl-stddev",
            "15",
            "--osl",
            "12",
            "--osl-stddev",
            "4",
            "--num-prompts",
            "4",
            "--conversation-num",
            "4",
            "--conversation-turn-mean",
            "3",
            "--conversation-turn-stddev",
            "1",
            "--concurrency",
            "2",
        ],
    );
    let theirs = turns(&fixture("inputs_seed7_multi_turn.json"));
    // AIPerf drew 4, 3, 5 and 4 turns: the turn-count stream is AIPerf's too.
    assert_eq!(
        theirs.iter().map(|(_, t)| t.len()).collect::<Vec<_>>(),
        [4, 3, 5, 4]
    );
    assert_eq!(turns(&ours), theirs);
}

#[test]
fn prefix_pool_prompts_are_aiperfs_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let ours = loadgen_inputs(
        dir.path(),
        &[
            "--random-seed",
            "42",
            "--isl",
            "50",
            "--osl",
            "8",
            "--num-prompts",
            "6",
            "--request-count",
            "6",
            "--concurrency",
            "2",
            "--prefix-prompt-length",
            "20",
            "--prefix-prompt-pool-size",
            "3",
        ],
    );
    // The pool is drawn from AIPerf's corpus stream and each prompt's prefix is AIPerf's choice:
    // its 6 prompts start with 3 distinct prefixes, in AIPerf's order.
    assert_eq!(ours, fixture("inputs_seed42_prefix_pool.json"));
}

/// Per conversation, per turn: the system prompt, the user context and the turn's own text.
fn shared_texts(inputs: &Value) -> Vec<Vec<[String; 3]>> {
    inputs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["payloads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let m = p["messages"].as_array().unwrap();
                    let text = |v: &Value| v["content"].as_str().unwrap().to_string();
                    assert_eq!((&m[0]["role"], &m[1]["role"]), (&"system".into(), &"user".into()));
                    [text(&m[0]), text(&m[1]), text(m.last().unwrap())]
                })
                .collect()
        })
        .collect()
}

#[test]
fn shared_system_prompt_and_user_contexts_are_aiperfs_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let ours = loadgen_inputs(
        dir.path(),
        &[
            "--random-seed",
            "7",
            "--isl",
            "40",
            "--isl-stddev",
            "5",
            "--osl",
            "6",
            "--conversation-num",
            "3",
            "--num-prompts",
            "3",
            "--conversation-turn-mean",
            "2",
            "--conversation-turn-stddev",
            "1",
            "--concurrency",
            "2",
            "--shared-system-prompt-length",
            "30",
            "--user-context-prompt-length",
            "15",
        ],
    );
    // The system prompt comes first on AIPerf's corpus stream, then every turn, then each
    // conversation's user context. (AIPerf's inputs.json writes each turn without its history,
    // sweepkit's the body as sent: the texts are compared, not the message lists.)
    let theirs = shared_texts(&fixture("inputs_seed7_system_and_context.json"));
    assert_eq!(theirs.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2, 4]);
    assert_eq!(shared_texts(&ours), theirs);
    let contexts: std::collections::HashSet<_> = theirs.iter().map(|c| &c[0][1]).collect();
    assert_eq!(contexts.len(), 3, "one user context per conversation");
}

/// AIPerf on PATH, else where scripts/install-test-deps puts it (as tests/stages.rs finds it).
fn aiperf_dir() -> Option<PathBuf> {
    let on_path = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(PathBuf::from)
        .find(|d| d.join("aiperf").is_file());
    let venv = std::env::var("SWEEPKIT_AIPERF_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"));
            cache.join("sweepkit/aiperf-0.13.0")
        });
    on_path.or_else(|| Some(venv.join("bin")).filter(|d| d.join("aiperf").is_file()))
}

/// The prompt token counts mock-llm recorded, sorted.
fn server_prompt_tokens(record: &Path) -> Vec<u64> {
    let mut v: Vec<u64> = jsonl(record)
        .iter()
        .map(|r| r["prompt_tokens"].as_u64().unwrap())
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn aiperf_and_loadgen_cost_the_same_server_the_same_prompt_tokens() {
    let Some(aiperf) = aiperf_dir() else {
        let why = "AIPerf 0.13 is not installed (scripts/install-test-deps installs it into ~/.cache/sweepkit/aiperf-0.13.0)";
        assert!(
            std::env::var("SWEEPKIT_ALLOW_SKIP").is_ok_and(|v| v.split(',').any(|w| w.trim() == "aiperf")),
            "{why}: install it, or set SWEEPKIT_ALLOW_SKIP=aiperf to skip this test on purpose"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED aiperf_and_loadgen_cost_the_same_server_the_same_prompt_tokens: {why}\n")
                .as_bytes(),
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (theirs, ours) = (dir.path().join("aiperf.jsonl"), dir.path().join("loadgen.jsonl"));
    let settings = r#""model":"m","endpoint_type":"chat","streaming":true,"isl":300,"isl_stddev":40,"osl":4,"num_prompts":16,"request_count":16,"concurrency":2,"random_seed":11"#;
    {
        let mock = MockServer::fixed("0", "0", &["--record", theirs.to_str().unwrap()]);
        let run_dir = dir.path().join("aiperf");
        std::fs::create_dir(&run_dir).unwrap();
        let mut child = Command::new(repo_root().join("scripts/aiperf-loadgen"))
            .arg(&run_dir)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    aiperf.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let line = format!(r#"{{"loadgen":{{"url":"{}",{settings}}}}}"#, mock.addr);
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), line.as_bytes()).unwrap();
        drop(child.stdin.take());
        ok(child.wait_with_output().unwrap(), "scripts/aiperf-loadgen");
    }
    {
        let mock = MockServer::fixed("0", "0", &["--record", ours.to_str().unwrap()]);
        let spec = dir.path().join("spec.json");
        std::fs::write(
            &spec,
            format!(r#"{{"loadgen":{{"url":"{}",{settings}}}}}"#, mock.url()),
        )
        .unwrap();
        let recs = dir.path().join("records.jsonl");
        ok(
            loadgen(&[
                "--spec",
                spec.to_str().unwrap(),
                "--output",
                recs.to_str().unwrap(),
            ]),
            "loadgen",
        );
    }
    let (a, b) = (server_prompt_tokens(&theirs), server_prompt_tokens(&ours));
    assert_eq!((a.len(), b.len()), (16, 16));
    let (sa, sb) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
    assert!(
        (sb / sa - 1.0).abs() <= 0.02,
        "server prompt tokens: AIPerf {sa}, loadgen {sb} (more than 2 % apart)"
    );
    // The same seed and tokenizer send the same prompts, so each request costs what AIPerf's did.
    assert_eq!(a, b, "per-request server prompt tokens");
}

/// trial-agg's stderr for loadgen's records of a run against mock-llm with `args`.
fn trial_agg_stderr(dir: &Path, args: &[&str]) -> String {
    let mock = MockServer::fixed("0", "0", &[]);
    let recs = dir.join("records.jsonl");
    let url = mock.url();
    let mut all = vec![
        "--url",
        &url,
        "-m",
        "m",
        "--streaming",
        "--osl",
        "2",
        "--ui",
        "none",
    ];
    all.extend_from_slice(args);
    all.extend(["--output", recs.to_str().unwrap()]);
    ok(loadgen(&all), "loadgen");
    let out = ok(run("trial-agg", &[recs.to_str().unwrap()]), "trial-agg");
    stderr(&out)
}

#[test]
fn trial_agg_warns_when_the_server_counts_other_prompt_tokens_than_the_isl() {
    let dir = tempfile::tempdir().unwrap();
    // Corpus prompts: mock-llm's count (a token per 4 characters of each word) is near o200k's.
    let quiet = trial_agg_stderr(
        dir.path(),
        &["--isl", "200", "--num-prompts", "4", "--random-seed", "5"],
    );
    assert!(!quiet.contains("usage_prompt_tokens"), "{quiet}");
    // " international" is one o200k token and four of mock-llm's: the server counts 4x the ISL.
    let file = dir.path().join("long-words.jsonl");
    let text = " international".repeat(50);
    std::fs::write(&file, format!("{{\"text\": \"{text}\"}}\n").repeat(3)).unwrap();
    let loud = trial_agg_stderr(dir.path(), &["--input-file", file.to_str().unwrap()]);
    let line = loud
        .lines()
        .find(|l| l.contains("usage_prompt_tokens"))
        .unwrap_or_else(|| panic!("no tokenizer warning:\n{loud}"));
    assert!(line.starts_with("trial-agg: warning: "), "{line}");
    assert!(
        line.contains("600")
            && line.contains("150")
            && line.contains("4.00x")
            && line.contains("--tokenizer"),
        "{line}"
    );
}

#[test]
fn a_reasoning_models_tokens_feed_aiperfs_reasoning_metrics() {
    // mock-llm --reasoning-tokens 3: of each 8-token answer, 3 are reasoning_content.
    let mock = MockServer::fixed("0", "0", &["--reasoning-tokens", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let recs = dir.path().join("records.jsonl");
    let url = mock.url();
    ok(
        loadgen(&[
            "--url",
            &url,
            "-m",
            "m",
            "--streaming",
            "--osl",
            "8",
            "--isl",
            "20",
            "--request-count",
            "4",
            "--use-server-token-count",
            "--ui",
            "none",
            "--output",
            recs.to_str().unwrap(),
        ]),
        "loadgen",
    );
    for r in jsonl(&recs) {
        let m = |t: &str| {
            r["metrics"][t]["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{t}: {r}"))
        };
        assert_eq!(m("reasoning_token_count"), 3.0);
        assert_eq!(m("output_token_count"), 5.0);
        assert_eq!(m("output_sequence_length"), 8.0);
        assert_eq!(m("usage_reasoning_tokens"), 3.0);
        assert_eq!(m("thinking_efficiency"), 0.6);
        assert_eq!(r["metrics"]["thinking_efficiency"]["unit"], "ratio");
    }
    let out = dir.path().join("summary");
    ok(
        run(
            "trial-agg",
            &[recs.to_str().unwrap(), "--output-dir", out.to_str().unwrap()],
        ),
        "trial-agg",
    );
    let s = read_json(&out.join("profile_export_aiperf.json"));
    assert_eq!(s["total_reasoning_tokens"]["avg"], 12.0);
    assert_eq!(s["total_usage_reasoning_tokens"]["avg"], 12.0);
    assert_eq!(s["overall_thinking_efficiency"]["avg"], 0.6);
    assert_eq!(s["overall_thinking_efficiency"]["unit"], "ratio");
    assert_eq!(s["thinking_efficiency"]["p50"], 0.6);
    let csv = std::fs::read_to_string(out.join("profile_export_aiperf.csv")).unwrap();
    assert!(
        csv.contains("Thinking Efficiency") && csv.contains("Overall Thinking Efficiency"),
        "{csv}"
    );
}

#[test]
fn vllms_spec_decode_stats_feed_aiperfs_spec_decode_metrics() {
    // mock-llm --spec-decode-tokens 3: verify step s accepts s mod 4 drafts after the prefill
    // token, so a 12-token answer takes 5 steps accepting 0,1,2,3,0 (6 of 15 drafts) and a
    // 5-token answer 3 steps accepting 0,1,0 (1 of 9).
    let mock = MockServer::fixed("0", "0", &["--spec-decode-tokens", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let mut all = String::new();
    // Non-streaming completions (stats on the body) and streamed chat (on the usage chunk).
    for (osl, extra) in [("12", "--endpoint-type=completions"), ("5", "--streaming")] {
        let recs = dir.path().join(format!("records-{osl}.jsonl"));
        let args = [
            "--url",
            &url,
            "-m",
            "m",
            "--osl",
            osl,
            "--isl",
            "16",
            "--request-count",
            "4",
            extra,
            "--ui",
            "none",
            "--output",
            recs.to_str().unwrap(),
        ];
        ok(loadgen(&args), "loadgen");
        let (steps, accepted, drafted, per_verified) = if osl == "12" {
            (5.0, 6.0, 15.0, 11.0 / 20.0)
        } else {
            (3.0, 1.0, 9.0, 4.0 / 12.0)
        };
        for r in jsonl(&recs) {
            let m = |t: &str| {
                r["metrics"][t]["value"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{t}: {r}"))
            };
            assert_eq!(m("spec_decode_steps"), steps, "{r}");
            assert_eq!(m("spec_decode_accepted_draft_tokens"), accepted);
            assert_eq!(m("spec_decode_draft_tokens"), drafted);
            assert_eq!(m("spec_decode_acceptance_length"), 1.0 + accepted / steps);
            assert_eq!(m("spec_decode_draft_acceptance_rate"), accepted / drafted * 100.0);
            assert_eq!(m("spec_decode_accepted_per_verified"), per_verified);
            assert_eq!(r["metrics"]["spec_decode_draft_acceptance_rate"]["unit"], "%");
        }
        all.push_str(&std::fs::read_to_string(&recs).unwrap());
    }
    let both = dir.path().join("records.jsonl");
    std::fs::write(&both, all).unwrap();
    let out = dir.path().join("summary");
    ok(
        run(
            "trial-agg",
            &[both.to_str().unwrap(), "--output-dir", out.to_str().unwrap()],
        ),
        "trial-agg",
    );
    let s = read_json(&out.join("profile_export_aiperf.json"));
    assert_eq!(s["total_spec_decode_steps"]["avg"], 32.0);
    assert_eq!(s["total_accepted_draft_tokens"]["avg"], 28.0);
    assert_eq!(s["total_draft_tokens"]["avg"], 96.0);
    // Every verify step weighs the same (1 + 28/32), unlike the per-request mean.
    assert_eq!(s["spec_decode_token_weighted_acceptance_length"]["avg"], 1.875);
    let per_request = (1.0 + 6.0 / 5.0 + 1.0 + 1.0 / 3.0) / 2.0;
    let avg = s["spec_decode_acceptance_length"]["avg"].as_f64().unwrap();
    assert!((avg - per_request).abs() < 1e-12, "{avg}");
    assert_eq!(
        s["spec_decode_overall_draft_acceptance_rate"]["avg"],
        28.0 / 96.0 * 100.0
    );
    assert_eq!(s["spec_decode_overall_draft_acceptance_rate"]["unit"], "%");
    let csv = std::fs::read_to_string(out.join("profile_export_aiperf.csv")).unwrap();
    assert!(
        csv.contains("Token-Weighted Acceptance Length") && csv.contains("Accepted per Verified"),
        "{csv}"
    );
}
