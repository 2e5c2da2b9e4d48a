//! Real traffic against mock-llm: multi-turn sessions (history, delays, session concurrency),
//! shared prefixes, prefix-cache accounting, user-centric load — checked from the server's side
//! (`--record --record-request-bodies`) and from the records, plus a prefix-length sweep.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{bin, jsonl as lines, loadgen, ok, MockServer};

fn m(r: &Value, tag: &str) -> f64 {
    r["metrics"][tag]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {tag} in {r}"))
}

fn meta_u64(r: &Value, key: &str) -> u64 {
    r["metadata"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {r}"))
}

/// One multi-turn run with a shared system prompt against a recording mock with a prefix cache:
/// (client records, server records by client request id, inputs.json, run info).
fn session_run(dir: &Path, seed: &str) -> (Vec<Value>, HashMap<String, Value>, Value, Value) {
    let truth = dir.join(format!("truth{seed}.jsonl"));
    let mock = MockServer::start(&[
        "--ttft-ms",
        "2",
        "--itl-ms",
        "1",
        "--prefix-cache-tokens",
        "100000",
        "--prefix-cache-block-size",
        "4",
        "--record",
        truth.to_str().unwrap(),
        "--record-request-bodies",
    ]);
    let rec = dir.join(format!("records{seed}.jsonl"));
    let inputs = dir.join(format!("inputs{seed}.json"));
    let info = dir.join(format!("run_info{seed}.json"));
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "mock",
        "--streaming",
        "--concurrency",
        "2",
        "--conversation-num",
        "3",
        "--conversation-turn-mean",
        "3",
        "--conversation-turn-delay-mean",
        "30",
        "--shared-system-prompt-length",
        "64",
        "--isl",
        "24",
        "--osl",
        "5",
        "--random-seed",
        seed,
        "--output",
        rec.to_str().unwrap(),
        "--inputs-out",
        inputs.to_str().unwrap(),
        "--run-info-out",
        info.to_str().unwrap(),
    ]);
    ok(&out, "loadgen");
    drop(mock); // flushes --record
    let server: HashMap<String, Value> = lines(&truth)
        .into_iter()
        .map(|r| (r["client_request_id"].as_str().unwrap().to_string(), r))
        .collect();
    let read = |p: &Path| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap();
    (lines(&rec), server, read(&inputs), read(&info))
}

fn prompt_of(server: &HashMap<String, Value>, r: &Value) -> Vec<String> {
    let id = r["metadata"]["x_request_id"].as_str().unwrap();
    server[id]["request_body"]["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("the server recorded no body for {id}"))
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sessions_carry_their_history_share_the_system_prompt_and_honour_delays() {
    let dir = tempfile::tempdir().unwrap();
    let (records, server, inputs, info) = session_run(dir.path(), "5");
    assert_eq!(records.len(), 9, "3 sessions x 3 turns");
    assert_eq!(server.len(), 9);
    // Sessions: turns in order per x_correlation_id, one conversation each.
    let mut sessions: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &records {
        let c = r["metadata"]["x_correlation_id"].as_str().unwrap().to_string();
        sessions.entry(c).or_default().push(r);
    }
    assert_eq!(sessions.len(), 3);
    let system: HashSet<String> = records.iter().map(|r| prompt_of(&server, r)[0].clone()).collect();
    assert_eq!(
        system.len(),
        1,
        "one system prompt, byte-identical on every request"
    );
    for turns in sessions.values_mut() {
        turns.sort_by_key(|r| meta_u64(r, "turn_index"));
        let conv: HashSet<&str> = turns
            .iter()
            .map(|r| r["metadata"]["conversation_id"].as_str().unwrap())
            .collect();
        assert_eq!(conv.len(), 1);
        assert_eq!(
            turns
                .iter()
                .map(|r| meta_u64(r, "turn_index"))
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        for k in 1..3 {
            let (prev, this) = (prompt_of(&server, turns[k - 1]), prompt_of(&server, turns[k]));
            // system + user_0, assistant_0, …, user_k
            assert_eq!(this.len(), 2 + 2 * k, "{this:?}");
            assert_eq!(
                &this[..prev.len()],
                &prev[..],
                "turn {k} resends turn {}'s prompt",
                k - 1
            );
            let reply = &this[prev.len()];
            assert!(!reply.trim().is_empty(), "the reply received is in the history");
            assert!(
                reply
                    .split_whitespace()
                    .all(|w| sweepkit::mock::tokens::WORDS.contains(&&*format!(" {w}"))),
                "the history holds the mock's answer: {reply:?}"
            );
            // The delay is waited after the previous reply.
            let gap = meta_u64(turns[k], "request_start_ns") as i64
                - meta_u64(turns[k - 1], "request_end_ns") as i64;
            assert!(
                gap >= 30_000_000,
                "turn {k} left {gap} ns after the previous reply (delay 30 ms)"
            );
            // ISL counts the whole history.
            assert!(m(turns[k], "input_sequence_length") > m(turns[k - 1], "input_sequence_length"));
            // The prefix cache served the previous turn's prompt.
            assert!(
                m(turns[k], "usage_prompt_cache_read_tokens") > 0.0,
                "{}",
                turns[k]
            );
        }
    }
    // Concurrency counts sessions: the third session starts only after one of the first two ended.
    let mut by_start: Vec<(&String, u64, u64)> = sessions
        .iter()
        .map(|(c, t)| {
            let start = t.iter().map(|r| meta_u64(r, "request_start_ns")).min().unwrap();
            let end = t.iter().map(|r| meta_u64(r, "request_end_ns")).max().unwrap();
            (c, start, end)
        })
        .collect();
    by_start.sort_by_key(|s| s.1);
    let first_end = by_start[0].2.min(by_start[1].2);
    assert!(
        by_start[2].1 >= first_end,
        "a third session started while two were in flight"
    );
    // inputs.json: every turn, with the history it carried (the server's texts).
    let data = inputs["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for entry in data {
        let payloads = entry["payloads"].as_array().unwrap();
        assert_eq!(payloads.len(), 3);
        for (k, p) in payloads.iter().enumerate() {
            let msgs = p["messages"].as_array().unwrap();
            assert_eq!(msgs.len(), 2 + 2 * k);
            assert_eq!(msgs[0]["role"], "system");
            let texts: Vec<String> = msgs
                .iter()
                .map(|m| m["content"].as_str().unwrap().to_string())
                .collect();
            let sent = records
                .iter()
                .find(|r| {
                    r["metadata"]["conversation_id"] == entry["session_id"]
                        && meta_u64(r, "turn_index") == k as u64
                })
                .unwrap();
            assert_eq!(texts, prompt_of(&server, sent), "inputs.json holds what was sent");
        }
    }
    let p = &info["phases"]["profiling"];
    assert_eq!(
        (p["requests"].as_u64(), p["sessions"].as_u64()),
        (Some(9), Some(3))
    );
    // trial-agg: sessions, turns, cache share.
    let rec = dir.path().join("records5.jsonl");
    let out = Command::new(bin("trial-agg")).arg(&rec).output().unwrap();
    ok(&out, "trial-agg");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["session_count"]["avg"], 3.0);
    assert_eq!(s["turn_count"]["avg"], 9.0);
    let pct = s["overall_usage_prompt_cache_read_pct"]["avg"].as_f64().unwrap();
    assert!(pct > 10.0 && pct < 100.0, "cache read share {pct} %");
    assert_eq!(s["overall_usage_prompt_cache_read_pct"]["unit"], "%");
    assert!(s["total_usage_prompt_cache_read_tokens"]["avg"].as_f64().unwrap() > 0.0);
    // Another seed: another system prompt.
    let (records2, server2, _, _) = session_run(dir.path(), "6");
    assert_ne!(
        prompt_of(&server2, &records2[0])[0],
        *system.iter().next().unwrap()
    );
    let (records3, server3, _, _) = session_run(dir.path(), "5");
    assert_eq!(
        prompt_of(&server3, &records3[0])[0],
        *system.iter().next().unwrap(),
        "same seed, same bytes"
    );
}

#[test]
fn the_prefix_pool_starts_each_first_turn_and_adds_to_the_isl() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.jsonl");
    let mock = MockServer::recording_bodies(&truth);
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "mock",
        "--concurrency",
        "3",
        "--num-prompts",
        "8",
        "--prefix-prompt-pool-size",
        "2",
        "--prefix-prompt-length",
        "40",
        "--isl",
        "10",
        "--osl",
        "2",
        "--random-seed",
        "9",
    ]);
    ok(&out, "loadgen");
    drop(mock);
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 8);
    for r in &records {
        assert_eq!(
            m(r, "input_sequence_length"),
            50.0,
            "ISL = --isl + --prefix-prompt-length"
        );
    }
    let heads: HashSet<String> = lines(&truth)
        .iter()
        .map(|r| {
            r["request_body"]["messages"][0]["content"]
                .as_str()
                .unwrap()
                .split_whitespace()
                // The first 15 words lie inside the 40-token prefix (a corpus word is one to three
                // tokens), whatever the prompt after it.
                .take(15)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        heads.len(),
        2,
        "8 prompts start with one of 2 prefixes: {heads:?}"
    );
}

#[test]
fn multi_turn_files_run_as_sessions_and_bad_lines_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockServer::start(&["--ttft-ms", "1", "--itl-ms", "1"]);
    let file = dir.path().join("mt.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"session_id":"a","turns":[{"role":"system","text":"be brief"},{"text":"hello there"},{"text":"and again","delay":20}]}"#,
            "\n",
            r#"{"session_id":"b","turns":[{"text":"one","output_length":3},{"text":"two"}]}"#,
            "\n"
        ),
    )
    .unwrap();
    let run = |f: &Path| {
        loadgen(&[
            "--url",
            &mock.url(),
            "-m",
            "mock",
            "--input-file",
            f.to_str().unwrap(),
            "--custom-dataset-type",
            "multi_turn",
            "--osl",
            "4",
        ])
    };
    let out = run(&file);
    ok(&out, "loadgen multi_turn");
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4, "each conversation once, every turn");
    let mut turns: Vec<(String, u64)> = records
        .iter()
        .map(|r| {
            (
                r["metadata"]["conversation_id"].as_str().unwrap().to_string(),
                meta_u64(r, "turn_index"),
            )
        })
        .collect();
    turns.sort();
    assert_eq!(
        turns,
        [("a".into(), 0), ("a".into(), 1), ("b".into(), 0), ("b".into(), 1)]
    );
    let b0 = records
        .iter()
        .find(|r| r["metadata"]["conversation_id"] == "b" && meta_u64(r, "turn_index") == 0)
        .unwrap();
    assert_eq!(m(b0, "output_sequence_length"), 3.0, "output_length beats --osl");
    for (text, want) in [
        (
            "{\"turns\":[{\"text\":\"a\"}]}\n{\"session_id\":\"x\",\"turns\":[]}\n",
            ":2: a multi_turn line needs \"turns\"",
        ),
        (
            "{\"turns\":[{\"text\":\"a\"},{\"text\":\"b\",\"delay\":-1}]}\n",
            ":1: turn 1: delay -1",
        ),
    ] {
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, text).unwrap();
        let out = run(&bad);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.jsonl") && err.contains(want), "{err}");
    }
    let out = loadgen(&["-m", "m", "--conversation-turn-delay-mean=-5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--conversation-turn-delay-mean"));
    // A shared prefix longer than the model's context (its tokenizer_config.json says 1,000,000).
    let tok = crate::common::repo_root().join("tests/fixtures/tokenizers/bpe_bytelevel");
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--tokenizer",
        tok.to_str().unwrap(),
        "--shared-system-prompt-length",
        "1000001",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--shared-system-prompt-length 1000001") && err.contains("1000000 tokens"),
        "{err}"
    );
}

#[test]
fn user_centric_users_space_their_turns_and_rate_runs_count_turns() {
    let mock = MockServer::start(&["--ttft-ms", "1", "--itl-ms", "1"]);
    // 3 users at 30 req/s: each user's turns are 100 ms apart.
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "mock",
        "--streaming",
        "--user-centric-rate",
        "30",
        "--num-users",
        "3",
        "--conversation-turn-mean",
        "3",
        "--request-count",
        "12",
        "--isl",
        "8",
        "--osl",
        "2",
    ]);
    ok(&out, "loadgen user-centric");
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 12);
    let mut users: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for r in &records {
        let id = r["metadata"]["x_correlation_id"].as_str().unwrap().to_string();
        assert!(
            id.parse::<u64>().is_ok(),
            "user-centric session ids are user numbers: {id}"
        );
        users
            .entry(id)
            .or_default()
            .push((meta_u64(r, "turn_index"), meta_u64(r, "scheduled_ns")));
        assert!(
            meta_u64(r, "request_start_ns") >= meta_u64(r, "scheduled_ns"),
            "no turn is sent before its time: {r}"
        );
    }
    assert!(users.len() >= 4, "new users replace finished ones: {users:?}");
    // The schedule itself (not the send times, which a loaded machine delays): a user's turns are
    // exactly one turn gap, users / rate = 100 ms, apart.
    for turns in users.values_mut() {
        turns.sort();
        for w in turns.windows(2) {
            let gap = w[1].1 as i64 - w[0].1 as i64;
            assert!(
                (gap - 100_000_000).abs() <= 1_000,
                "a user's turns are a turn gap (100 ms) apart: {gap} ns"
            );
        }
    }
    // Under a rate, every turn takes a tick: the count is in turns.
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "mock",
        "--request-rate",
        "200",
        "--concurrency",
        "2",
        "--conversation-turn-mean",
        "4",
        "--request-count",
        "10",
        "--isl",
        "8",
        "--osl",
        "2",
    ]);
    ok(&out, "loadgen rate sessions");
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 10);
    let sessions: HashSet<&str> = records
        .iter()
        .map(|r| r["metadata"]["x_correlation_id"].as_str().unwrap())
        .collect();
    assert!(sessions.len() >= 3, "10 turns of 4-turn sessions: {sessions:?}");
    let out = loadgen(&["-m", "m", "--num-users", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--user-centric-rate"));
}

/// sweep-plan → loadgen → trial-agg → sweep-agg over the shared system prompt's length with the
/// total ISL fixed: against a mock whose prefix cache skips cached prefill, TTFT falls as the
/// shared share grows.
#[test]
fn a_sweep_over_the_shared_system_prompt_shows_the_prefix_cache() {
    let _quiet = crate::common::cpu_heavy();
    let dir = tempfile::tempdir().unwrap();
    let mock = MockServer::start(&[
        "--ttft-ms",
        "5",
        "--itl-ms",
        "1",
        "--prefill-ms-per-token",
        "0.05",
        "--prefix-cache-tokens",
        "1000000",
    ]);
    let art = dir.path().join("art");
    let plan = Command::new(bin("sweep-plan"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "mock",
            "--streaming",
            "--concurrency",
            "1",
            "--request-count",
            "8",
        ])
        .args([
            "--osl",
            "4",
            "--shared-system-prompt-length",
            "0,512,2048",
            "--isl",
            "2560,2048,512",
        ])
        .args(["--sweep-type", "zip", "--artifact-dir", art.to_str().unwrap()])
        .output()
        .unwrap();
    ok(&plan, "sweep-plan");
    let plan_path = dir.path().join("plan.jsonl");
    std::fs::write(&plan_path, &plan.stdout).unwrap();
    let mut ttft = Vec::new();
    let mut isl = Vec::new();
    for line in String::from_utf8_lossy(&plan.stdout).lines() {
        let spec: Value = serde_json::from_str(line).unwrap();
        let run_dir = Path::new(spec["artifact_dir"].as_str().unwrap()).to_path_buf();
        std::fs::create_dir_all(&run_dir).unwrap();
        let mut child = Command::new(bin("loadgen"))
            .args(["--spec", "-", "--ui", "none", "--output"])
            .arg(run_dir.join("profile_export.jsonl"))
            .arg("--run-info-out")
            .arg(run_dir.join("run_info.json"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
        ok(&child.wait_with_output().unwrap(), "loadgen --spec");
        let agg = Command::new(bin("trial-agg"))
            .arg("--run-info")
            .arg(run_dir.join("run_info.json"))
            .arg("--output-dir")
            .arg(&run_dir)
            .arg(run_dir.join("profile_export.jsonl"))
            .output()
            .unwrap();
        ok(&agg, "trial-agg");
        let s: Value = serde_json::from_slice(&agg.stdout).unwrap();
        ttft.push(s["time_to_first_token"]["p50"].as_f64().unwrap());
        isl.push(s["input_sequence_length"]["avg"].as_f64().unwrap());
    }
    // vLLM's counters, in tokens: every prompt token queried, the shared ones hit.
    let metrics = crate::common::metrics_text(&mock.addr);
    let counter = |name: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .unwrap_or_else(|| panic!("no {name} in /metrics"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let (queries, hits) = (
        counter("vllm:prefix_cache_queries_total"),
        counter("vllm:prefix_cache_hits_total"),
    );
    assert!(
        hits > 0.0 && hits < queries,
        "prefix cache hits {hits} of {queries} queried tokens"
    );
    let sweep = Command::new(bin("sweep-agg"))
        .arg("--plan")
        .arg(&plan_path)
        .output()
        .unwrap();
    ok(&sweep, "sweep-agg");
    assert_eq!(ttft.len(), 3);
    for i in &isl {
        assert!((i / isl[0] - 1.0).abs() < 0.01, "the ISL stays fixed: {isl:?}");
    }
    // Shared 0, 512, 2048 of ~2560 tokens: the uncached prefill shrinks by about 20 % and then 80 %.
    assert!(ttft[1] < ttft[0] * 0.97, "TTFT p50 by shared length: {ttft:?}");
    assert!(ttft[2] < ttft[1] * 0.6, "TTFT p50 by shared length: {ttft:?}");
}

fn fixture(name: &str) -> std::path::PathBuf {
    crate::common::repo_root()
        .join("tests/fixtures/aiperf_multi_turn")
        .join(name)
}

/// The roles of a payload's messages.
fn roles(p: &Value) -> Vec<String> {
    p["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_string())
        .collect()
}

/// Our inputs.json for AIPerf's flags (tests/fixtures/aiperf_multi_turn) has AIPerf's structure:
/// keys, conversations and turns in order, the system prompt shared by all, the user context
/// shared within a conversation, each turn's own message last — plus the history AIPerf leaves out.
#[test]
fn inputs_json_has_aiperfs_structure_with_the_history_added() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockServer::start(&[
        "--ttft-ms",
        "2",
        "--itl-ms",
        "1",
        "--prefix-cache-tokens",
        "100000",
    ]);
    let inputs = dir.path().join("inputs.json");
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "mock",
        "--endpoint-type",
        "chat",
        "--streaming",
        "--concurrency",
        "2",
        "--conversation-num",
        "3",
        "--conversation-turn-mean",
        "3",
        "--conversation-turn-delay-mean",
        "20",
        "--shared-system-prompt-length",
        "20",
        "--user-context-prompt-length",
        "10",
        "--synthetic-input-tokens-mean",
        "12",
        "--output-tokens-mean",
        "4",
        "--random-seed",
        "7",
        "--inputs-out",
        inputs.to_str().unwrap(),
        "--run-info-out",
        dir.path().join("run_info.json").to_str().unwrap(),
    ]);
    ok(&out, "loadgen");
    // The run info describes the workload in AIPerf's input_config terms.
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run_info.json")).unwrap()).unwrap();
    let aiperf: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("profile_export_aiperf.json")).unwrap())
            .unwrap();
    for key in ["prefix_prompts", "turns", "turn_delay"] {
        assert_eq!(
            info["input_config"]["datasets"][0][key], aiperf["input_config"]["datasets"][0][key],
            "input_config.datasets[0].{key}"
        );
    }
    let profiling = |v: &Value| {
        v["input_config"]["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "profiling")
            .unwrap()["sessions"]
            .clone()
    };
    assert_eq!(profiling(&info), profiling(&aiperf));
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&inputs).unwrap()).unwrap();
    let theirs: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("inputs.json")).unwrap()).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(&theirs));
    let (od, td) = (
        ours["data"].as_array().unwrap(),
        theirs["data"].as_array().unwrap(),
    );
    assert_eq!(od.len(), td.len());
    let tok = sweepkit::io::tokenizer::Tokenizer::load("builtin").unwrap();
    let text = |p: &Value, i: usize| p["messages"][i]["content"].as_str().unwrap().to_string();
    for (o, t) in od.iter().zip(td) {
        assert_eq!(keys(o), keys(t));
        assert_eq!(
            o["session_id"], t["session_id"],
            "conversations in AIPerf's order and names"
        );
        let (op, tp) = (
            o["payloads"].as_array().unwrap(),
            t["payloads"].as_array().unwrap(),
        );
        assert_eq!(op.len(), tp.len(), "every turn");
        for (k, (o, t)) in op.iter().zip(tp).enumerate() {
            assert_eq!(keys(o), keys(t), "the same body keys");
            let (or, tr) = (roles(o), roles(t));
            assert_eq!(
                tr,
                ["system", "user", "user"],
                "AIPerf: system, context, the turn alone"
            );
            assert_eq!(or[..2], tr[..2], "system prompt, then the user context");
            assert_eq!(or.last(), tr.last(), "the turn's own message last");
            let history: Vec<&str> = (0..k).flat_map(|_| ["user", "assistant"]).collect();
            assert_eq!(
                or[2..or.len() - 1],
                history[..],
                "ours adds the history that was sent"
            );
            for i in 0..2 {
                assert_eq!(
                    tok.count(&text(o, i)),
                    tok.count(&text(t, i)),
                    "same prefix lengths"
                );
            }
        }
    }
    // Which text is shared by whom: the system prompt by everything, the context within a
    // conversation, a turn's message by nothing else — in both files.
    for data in [od, td] {
        let all: Vec<&Value> = data
            .iter()
            .flat_map(|e| e["payloads"].as_array().unwrap())
            .collect();
        assert_eq!(all.iter().map(|p| text(p, 0)).collect::<HashSet<_>>().len(), 1);
        let contexts: HashSet<String> = data.iter().map(|e| text(&e["payloads"][0], 1)).collect();
        assert_eq!(contexts.len(), data.len(), "one context per conversation");
        for e in data {
            let ps = e["payloads"].as_array().unwrap();
            assert!(ps.iter().all(|p| text(p, 1) == text(&ps[0], 1)));
            let own: HashSet<String> = ps
                .iter()
                .map(|p| p["messages"].as_array().unwrap().last().unwrap()["content"].to_string())
                .collect();
            assert_eq!(own.len(), ps.len(), "each turn its own message");
        }
    }
}

/// trial-agg on AIPerf's own multi-turn records gives AIPerf's cache figures, and counts sessions.
#[test]
fn trial_agg_reproduces_aiperfs_cache_share_on_its_multi_turn_records() {
    let out = Command::new(bin("trial-agg"))
        .arg("--run-info")
        .arg(fixture("profile_export_aiperf.json"))
        .arg(fixture("profile_export.jsonl"))
        .output()
        .unwrap();
    ok(&out, "trial-agg");
    let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("profile_export_aiperf.json")).unwrap())
            .unwrap();
    for tag in [
        "overall_usage_prompt_cache_read_pct",
        "total_usage_prompt_cache_read_tokens",
        "total_usage_prompt_tokens",
        "usage_prompt_cache_read_tokens",
    ] {
        assert_eq!(ours[tag], theirs[tag], "{tag}");
    }
    assert_eq!(ours["session_count"]["avg"], 3.0);
    assert_eq!(ours["turn_count"]["avg"], 9.0);
}
