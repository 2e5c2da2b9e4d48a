//! loadgen against mock-llm on port 0: metric values versus the mock's known schedule, load shapes,
//! stops, faults as data, signals, secrets, and clear errors.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{bin, jsonl_of as records_of, loadgen, MockServer, LATE_MS};

fn run_ok(args: &[&str]) -> Vec<Value> {
    let out = loadgen(args);
    assert!(
        out.status.success(),
        "loadgen {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    records_of(&out.stdout)
}

fn m(r: &Value, tag: &str) -> f64 {
    r["metrics"][tag]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {tag} in {r}"))
}

fn unit(r: &Value, tag: &str) -> String {
    r["metrics"][tag]["unit"].as_str().unwrap_or_default().to_string()
}

/// Within [want - below, want + above]: timing can only be late on a busy machine, never early
/// (`below` is at most half a millisecond: the client's and the mock's clocks and stamps), and
/// `above` is generous ([`LATE_MS`]) where the operating system decides when bytes arrive.
fn near(got: f64, want: f64, below: f64, above: f64, what: &str) {
    assert!(
        got >= want - below && got <= want + above,
        "{what}: {got} not within [{}, {}]",
        want - below,
        want + above
    );
}

#[test]
fn streaming_chat_metrics_match_the_mock_schedule() {
    let mock = MockServer::fixed("50", "10", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let ri = tmp.path().join("run_info.json");
    let recs = run_ok(&[
        "--run-info-out",
        ri.to_str().unwrap(),
        "--url",
        &mock.url(),
        "-m",
        "mock-model",
        "--streaming",
        "--concurrency",
        "4",
        "--request-count",
        "8",
        "--isl",
        "20",
        "--osl",
        "8",
        "--ui",
        "none",
    ]);
    assert_eq!(recs.len(), 8);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        let md = &r["metadata"];
        assert_eq!(md["benchmark_phase"], "profiling");
        assert_eq!(md["was_cancelled"], false);
        assert!(md["x_request_id"].as_str().unwrap().len() == 36);
        assert!(md["conversation_id"].as_str().unwrap().starts_with("session_"));
        let start = md["request_start_ns"].as_u64().unwrap();
        let ack = md["request_ack_ns"].as_u64().unwrap();
        let end = md["request_end_ns"].as_u64().unwrap();
        assert!(start < ack && ack <= end, "{md}");
        let ttft = m(r, "time_to_first_token");
        near(ttft, 50.0, 0.5, LATE_MS, "TTFT");
        // The mock keeps an absolute schedule: a late token shortens the next gap, so check
        // arrival times against the schedule (never early, late by at most a noisy-machine margin).
        near(
            ttft + m(r, "time_to_second_token"),
            60.0,
            0.5,
            LATE_MS,
            "second token arrival",
        );
        // ITL = (latency - TTFT) / 7: a late first token shortens it, a late last token lengthens it.
        near(
            m(r, "inter_token_latency"),
            10.0,
            0.5 + (ttft - 50.0).max(0.0) / 7.0,
            LATE_MS / 7.0,
            "ITL",
        );
        let lat = m(r, "request_latency");
        near(lat, 120.0, 0.5, LATE_MS, "request latency");
        assert_eq!(m(r, "output_sequence_length"), 8.0);
        assert_eq!(m(r, "output_token_count"), 8.0);
        assert_eq!(m(r, "input_sequence_length"), 20.0);
        assert_eq!(m(r, "usage_completion_tokens"), 8.0);
        assert!(m(r, "usage_prompt_tokens") > 0.0);
        // The record's own arithmetic is AIPerf's.
        let itl = m(r, "inter_token_latency");
        assert!((itl - (lat - ttft) / 7.0).abs() < 1e-9);
        assert!((m(r, "output_token_throughput_per_user") - 1000.0 / itl).abs() < 1e-6);
        let icl: Vec<f64> = r["metrics"]["inter_chunk_latency"]["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(icl.len(), 7);
        let mut arrival = ttft;
        for (k, g) in icl.iter().enumerate() {
            arrival += g;
            near(
                arrival,
                50.0 + 10.0 * (k + 1) as f64,
                0.5,
                LATE_MS,
                "token arrival",
            );
        }
        assert!((icl.iter().sum::<f64>() - (lat - ttft)).abs() < 1e-6);
        assert_eq!(unit(r, "time_to_first_token"), "ms");
        assert_eq!(unit(r, "output_token_throughput_per_user"), "tokens/sec/user");
        assert!(md.get("scheduled_ns").is_none(), "closed loop has no schedule");
    }
    let mut sessions: Vec<u64> = recs
        .iter()
        .map(|r| r["metadata"]["session_num"].as_u64().unwrap())
        .collect();
    sessions.sort();
    assert_eq!(sessions, (0..8).collect::<Vec<_>>());
    // Plain http: every chunk's arrival time is the kernel's receive stamp (8 tokens x 8
    // requests), and the client's own lag behind it is reported.
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap();
    let rs = &info["client"]["receive_stamps"];
    assert_eq!(rs["source"], "kernel", "{rs}");
    assert_eq!(rs["kernel_stamped_chunks"], 64, "{rs}");
    assert_eq!(rs["user_stamped_chunks"], 0, "{rs}");
    // The client reads a chunk after the kernel stamped it: a lag of zero means none was measured,
    // one of hours a clock mixed up (how long it is, is the operating system's business).
    let lag = &rs["client_lag_ms"];
    let (p50, max) = (lag["p50"].as_f64().unwrap(), lag["max"].as_f64().unwrap());
    assert!(p50 > 0.0 && max < LATE_MS, "{rs}");
    // Each shared read holds two chunks or more, all of them among the 64.
    let (shared, in_shared) = (
        rs["shared_reads"].as_u64().unwrap(),
        rs["chunks_in_shared_reads"].as_u64().unwrap(),
    );
    assert!(2 * shared <= in_shared && in_shared <= 64, "{rs}");
}

#[test]
fn non_streaming_completions_and_embeddings() {
    let mock = MockServer::fixed("30", "5", &[]);
    let url = mock.url();
    let recs = run_ok(&[
        "--url",
        &url,
        "-m",
        "m",
        "--request-count",
        "3",
        "--osl",
        "6",
        "--isl",
        "10",
        "--ui",
        "none",
    ]);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        assert!(
            r["metrics"].get("time_to_first_token").is_none(),
            "no TTFT without streaming"
        );
        assert_eq!(m(r, "output_sequence_length"), 6.0);
        // The whole answer leaves at its last token: 30 ms + 5 tokens x 5 ms.
        near(
            m(r, "request_latency"),
            55.0,
            0.5,
            LATE_MS,
            "non-streaming latency",
        );
    }
    let recs = run_ok(&[
        "--url",
        &url,
        "-m",
        "m",
        "--endpoint-type",
        "completions",
        "--streaming",
        "--request-count",
        "2",
        "--osl",
        "5",
        "--ui",
        "none",
    ]);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        assert_eq!(m(r, "output_sequence_length"), 5.0);
        near(
            m(r, "time_to_first_token"),
            30.0,
            0.5,
            LATE_MS,
            "completions TTFT",
        );
    }
    let recs = run_ok(&[
        "--url",
        &url,
        "-m",
        "m",
        "--endpoint-type",
        "embeddings",
        "--request-count",
        "2",
        "--isl",
        "12",
        "--ui",
        "none",
    ]);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        assert_eq!(m(r, "input_sequence_length"), 12.0);
        assert!(m(r, "request_latency") > 0.0);
        assert!(r["metrics"].get("output_sequence_length").is_none());
    }
}

#[test]
fn warmup_is_marked_and_counted_apart() {
    let mock = MockServer::fixed("5", "1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("run_info.json");
    let recs = run_ok(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--osl",
        "4",
        "--concurrency",
        "2",
        "--warmup-request-count",
        "3",
        "--request-count",
        "5",
        "--run-info-out",
        info.to_str().unwrap(),
        "--ui",
        "none",
    ]);
    let phases: Vec<&str> = recs
        .iter()
        .map(|r| r["metadata"]["benchmark_phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.iter().filter(|p| **p == "warmup").count(), 3);
    assert_eq!(phases.iter().filter(|p| **p == "profiling").count(), 5);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    assert_eq!(v["schema"], "sweepkit.run_info/1");
    assert_eq!(v["phases"]["warmup"]["requests"], 3);
    assert_eq!(v["phases"]["profiling"]["requests"], 5);
    let (ws, we) = (
        v["phases"]["warmup"]["start_ns"].as_u64().unwrap(),
        v["phases"]["warmup"]["end_ns"].as_u64().unwrap(),
    );
    let (ps, pe) = (
        v["phases"]["profiling"]["start_ns"].as_u64().unwrap(),
        v["phases"]["profiling"]["end_ns"].as_u64().unwrap(),
    );
    assert!(ws < we && we <= ps && ps < pe);
    for r in &recs {
        let s = r["metadata"]["request_start_ns"].as_u64().unwrap();
        let e = r["metadata"]["request_end_ns"].as_u64().unwrap();
        if r["metadata"]["benchmark_phase"] == "profiling" {
            assert!(
                s >= ps && e <= pe + 1_000_000,
                "profiling record outside its window"
            );
        } else {
            assert!(s >= ws && e <= ps);
        }
    }
    assert_eq!(v["was_cancelled"], false);
    assert!(v["client"]["cpu_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn request_rate_keeps_an_exact_schedule() {
    let mock = MockServer::fixed("2", "1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("ri.json");
    let t = Instant::now();
    let recs = run_ok(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--osl",
        "2",
        "--request-rate",
        "50",
        "--arrival-pattern",
        "constant",
        "--request-count",
        "20",
        "--run-info-out",
        info.to_str().unwrap(),
        "--ui",
        "none",
    ]);
    let took = t.elapsed();
    assert_eq!(recs.len(), 20);
    let mut sched: Vec<(u64, u64)> = recs
        .iter()
        .map(|r| {
            (
                r["metadata"]["scheduled_ns"].as_u64().unwrap(),
                r["metadata"]["request_start_ns"].as_u64().unwrap(),
            )
        })
        .collect();
    sched.sort();
    for w in sched.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!(
            (19_999_999..=20_000_001).contains(&gap),
            "intended gap {gap} ns, want 20 ms"
        );
    }
    // Never sent before its time; how late is the operating system's business (a generous bound).
    for (due, sent) in &sched {
        assert!(sent >= due, "sent {sent} ns before its time {due} ns");
    }
    let mut lags: Vec<f64> = sched.iter().map(|(s, a)| (a - s) as f64 / 1e6).collect();
    lags.sort_by(f64::total_cmp);
    assert!(lags[lags.len() - 1] < LATE_MS, "dispatch lags {lags:?} ms");
    assert!(
        took >= Duration::from_millis(380),
        "20 requests at 50/s take at least 380 ms, took {took:?}"
    );
    for r in &recs {
        assert!(m(r, "effective_latency") >= m(r, "request_latency"));
    }
    let v = crate::common::read_json(&info);
    assert_eq!(v["client"]["target_request_rate"], 50.0);
    // The achieved rate is the requests over the profiling window, which ends with the last
    // answer: sent at 380 ms at the earliest, answered 3 ms later at the earliest (2 ms + 1 token).
    let ph = &v["phases"]["profiling"];
    let window_ms = (ph["end_ns"].as_u64().unwrap() - ph["start_ns"].as_u64().unwrap()) as f64 / 1e6;
    crate::common::on_time(window_ms, 383.0, LATE_MS, "profiling window");
    let achieved = v["client"]["achieved_request_rate"].as_f64().unwrap();
    let want = 20.0 / (window_ms / 1e3);
    assert!((achieved - want).abs() <= 1e-6 * want, "{achieved} vs {want}");
    // The reported median dispatch lag is one of the records' (to the histogram's 0.1 %).
    let p50 = v["client"]["dispatch_lag_ms"]["p50"].as_f64().unwrap();
    assert!(
        p50 >= lags[0] * 0.99 - 0.001 && p50 <= lags[lags.len() - 1] * 1.01 + 0.001,
        "p50 {p50} ms outside the records' lags {lags:?}"
    );
}

#[test]
fn rate_with_concurrency_caps_in_flight() {
    // 100/s wanted, but each request takes >= 100 ms and only 2 may be in flight: ~20/s.
    let mock = MockServer::fixed("100", "1", &[]);
    let recs = run_ok(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--osl",
        "1",
        "--request-rate",
        "100",
        "--arrival-pattern",
        "constant",
        "--concurrency",
        "2",
        "--request-count",
        "6",
        "--ui",
        "none",
    ]);
    let mut spans: Vec<(u64, u64)> = recs
        .iter()
        .map(|r| {
            (
                r["metadata"]["request_start_ns"].as_u64().unwrap(),
                r["metadata"]["request_end_ns"].as_u64().unwrap(),
            )
        })
        .collect();
    spans.sort();
    for (i, (s, _)) in spans.iter().enumerate() {
        let in_flight = spans.iter().filter(|(s2, e2)| s2 <= s && *e2 > *s).count();
        assert!(in_flight <= 2, "request {i} started with {in_flight} in flight");
    }
    let late = recs
        .iter()
        .filter(|r| {
            r["metadata"]["request_start_ns"].as_u64().unwrap()
                > r["metadata"]["scheduled_ns"].as_u64().unwrap() + 50_000_000
        })
        .count();
    assert!(
        late >= 2,
        "capped requests leave late and say so through scheduled_ns"
    );
}

#[test]
fn duration_stop_and_grace_cancellation() {
    // Each request takes ~1 s; the run dispatches for 0.3 s and waits 0.2 s more: all cancelled.
    let mock = MockServer::fixed("50", "10", &[]);
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("ri.json");
    let t = Instant::now();
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--osl",
        "100",
        "--concurrency",
        "3",
        "--benchmark-duration",
        "0.3",
        "--benchmark-grace-period",
        "0.2",
        "--run-info-out",
        info.to_str().unwrap(),
        "--ui",
        "none",
    ]);
    let took = t.elapsed();
    // Requests of ~1 s cut at 0.5 s; the bound only leaves room for a loaded machine's process start-up.
    assert!(took < Duration::from_secs(5), "stopped late: {took:?}");
    let recs = records_of(&out.stdout);
    assert_eq!(recs.len(), 3, "{}", String::from_utf8_lossy(&out.stderr));
    for r in &recs {
        assert_eq!(r["metadata"]["was_cancelled"], true);
        assert_eq!(r["error"]["code"], 499);
        assert_eq!(r["error"]["type"], "RequestCancellationError");
        assert!(r["metrics"]["error_isl"]["value"].as_u64().unwrap() > 0);
    }
    // Every request failed (cancelled): a clear error, exit 2, records kept.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("all 3 requests failed"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    assert_eq!(v["was_cancelled"], true);

    // Short requests: dispatch stops at the duration, nothing is cancelled.
    let mock = MockServer::fixed("5", "1", &[]);
    let t = Instant::now();
    let recs = run_ok(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--osl",
        "2",
        "--concurrency",
        "2",
        "--benchmark-duration",
        "0.5",
        "--ui",
        "none",
    ]);
    // Never absurdly late (OS time): without the duration stop the run would never end.
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(recs.len() >= 10, "{} requests in 0.5 s", recs.len());
    let first = recs
        .iter()
        .map(|r| r["metadata"]["request_start_ns"].as_u64().unwrap())
        .min()
        .unwrap();
    for r in &recs {
        assert!(r["error"].is_null());
        assert!(
            r["metadata"]["request_start_ns"].as_u64().unwrap() - first < 600_000_000,
            "sent after the duration"
        );
    }
}

#[test]
fn num_prompts_is_the_run_size_and_inputs_json_is_seed_deterministic() {
    let mock = MockServer::fixed("1", "1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, name: &str| {
        let p = dir.path().join(name);
        let recs = run_ok(&[
            "--url",
            &mock.url(),
            "-m",
            "m",
            "--streaming",
            "--osl",
            "2",
            "--isl",
            "64",
            "--isl-stddev",
            "8",
            "--num-prompts",
            "7",
            "--random-seed",
            seed,
            "--inputs-out",
            p.to_str().unwrap(),
            "--concurrency",
            "3",
            "--ui",
            "none",
        ]);
        (recs, std::fs::read(&p).unwrap())
    };
    let (recs, a) = run("42", "a.json");
    let (_, b) = run("42", "b.json");
    let (_, c) = run("43", "c.json");
    assert_eq!(recs.len(), 7, "no count, no duration: each prompt once");
    assert_eq!(a, b, "same seed, byte-identical inputs.json");
    assert_ne!(a, c);
    let v: Value = serde_json::from_slice(&a).unwrap();
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 7);
    let texts: std::collections::HashSet<&str> = data
        .iter()
        .map(|d| d["payloads"][0]["messages"][0]["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 7, "prompts differ");
    // Records join to inputs.json, and their ISL is the prompt's token count (builtin tokenizer).
    let tok = sweepkit::io::tokenizer::Tokenizer::load("builtin").unwrap();
    for r in &recs {
        let conv = r["metadata"]["conversation_id"].as_str().unwrap();
        let d = data
            .iter()
            .find(|d| d["session_id"] == conv)
            .expect("joins to inputs.json");
        assert_eq!(d["payloads"][0]["stream"], true);
        let text = d["payloads"][0]["messages"][0]["content"].as_str().unwrap();
        assert_eq!(m(r, "input_sequence_length"), tok.count(text) as f64, "{conv}");
    }
    // --isl-stddev 8 spreads the lengths around 64.
    let isl: std::collections::BTreeSet<u64> = recs
        .iter()
        .map(|r| m(r, "input_sequence_length") as u64)
        .collect();
    assert!(
        isl.len() > 1 && isl.iter().all(|n| (32..=96).contains(n)),
        "{isl:?}"
    );
}

#[test]
fn each_fault_kind_becomes_an_error_record_and_nothing_is_lost() {
    let mock = MockServer::fixed(
        "2",
        "1",
        &[
            "--seed",
            "3",
            "--error-rate",
            "0.2",
            "--disconnect-rate",
            "0.2",
            "--stall-rate",
            "0.15",
            "--malformed-rate",
            "0.2",
        ],
    );
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--osl",
        "6",
        "--concurrency",
        "8",
        "--request-count",
        "60",
        "--request-timeout-seconds",
        "0.5",
        "--ui",
        "none",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = records_of(&out.stdout);
    assert_eq!(recs.len(), 60, "sent = ok + errors");
    let ok = recs.iter().filter(|r| r["error"].is_null()).count();
    let kinds: Vec<(Option<i64>, String)> = recs
        .iter()
        .filter(|r| !r["error"].is_null())
        .map(|r| {
            (
                r["error"]["code"].as_i64(),
                r["error"]["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ok + kinds.len(), 60);
    assert!(ok > 5, "{ok} ok");
    type Kind = (Option<i64>, String);
    let has = |f: &dyn Fn(&Kind) -> bool| kinds.iter().any(f);
    assert!(has(&|(c, _)| *c == Some(500)), "HTTP 500 errors: {kinds:?}");
    assert!(
        has(&|(_, t)| t == "StreamCutError" || t == "ConnectionResetError"),
        "disconnects: {kinds:?}"
    );
    assert!(has(&|(_, t)| t == "TimeoutError"), "stalls time out: {kinds:?}");
    assert!(
        has(&|(_, t)| t == "MalformedResponseError"),
        "malformed SSE: {kinds:?}"
    );
    for r in recs.iter().filter(|r| !r["error"].is_null()) {
        let keys: Vec<&String> = r["metrics"].as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["error_isl"], "error records hold only error_isl");
        assert!(!r["error"]["message"].as_str().unwrap().is_empty());
    }
}

#[test]
fn unreachable_server_fails_fast_with_one_line() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let t = Instant::now();
    let out = loadgen(&[
        "--url",
        &format!("127.0.0.1:{port}"),
        "-m",
        "m",
        "--request-count",
        "50",
        "--concurrency",
        "4",
        "--ui",
        "none",
    ]);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("loadgen: cannot reach http://127.0.0.1:"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn bad_flags_and_bad_spec_are_clear_errors() {
    let cases: [(&[&str], &str); 5] = [
        (&["-m", "m", "--concurrency", "0"], "--concurrency"),
        (&["--concurrency", "2"], "--model"),
        (
            &["-m", "m", "--request-count", "3", "--benchmark-duration", "1"],
            "mutually exclusive",
        ),
        (&["-m", "m", "--extra-inputs", "novalue"], "--extra-inputs"),
        (&["-m", "m", "--tokenizer", "/no/such.json"], "--tokenizer"),
    ];
    for (args, want) in cases {
        let out = loadgen(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("loadgen: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("plan.jsonl");
    std::fs::write(&spec, "{\"loadgen\":{\"model\":\"m\",\"concurency\":4}}\n").unwrap();
    let out = loadgen(&["--spec", spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plan.jsonl:1") && err.contains("concurency"),
        "{err}"
    );
    std::fs::write(&spec, "not json\n").unwrap();
    let err = String::from_utf8_lossy(&loadgen(&["--spec", spec.to_str().unwrap()]).stderr).to_string();
    assert!(err.contains("--spec") && err.contains("not valid JSON"), "{err}");
}

#[test]
fn spec_line_drives_the_run_and_flags_override_it() {
    let mock = MockServer::fixed("1", "1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("ri.json");
    let line = format!(
        "{{\"run_index\":0,\"trial\":2,\"trial_label\":\"trial_0002\",\"variation_index\":1,\"variation_label\":\"concurrency_2\",\"parameters\":{{\"concurrency\":2}},\"seed\":42,\"artifact_dir\":\"a/b\",\"cooldown_seconds\":0.0,\"warmup\":false,\"loadgen\":{{\"url\":\"{}\",\"model\":\"m\",\"streaming\":true,\"concurrency\":2,\"request_count\":9,\"osl\":3,\"warmup_request_count\":5,\"ui\":\"none\"}}}}",
        mock.url()
    );
    let mut child = Command::new(bin("loadgen"))
        .args([
            "--spec",
            "-",
            "--request-count",
            "4",
            "--run-info-out",
            info.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = records_of(&out.stdout);
    assert_eq!(
        recs.len(),
        4,
        "flag overrides the plan's request_count; warmup off in the plan"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    assert_eq!(v["run_info"]["trial"], 2);
    assert_eq!(v["run_info"]["run_label"], "trial_0002");
    assert_eq!(v["run_info"]["variation_label"], "concurrency_2");
    assert_eq!(v["run_info"]["variation_values"]["concurrency"], 2);
    assert_eq!(v["run_info"]["random_seed"], 42);
    assert_eq!(v["run_info"]["artifact_dir"], "a/b");
    assert_eq!(v["input_config"]["endpoint"]["streaming"], true);
}

#[test]
fn secrets_never_reach_any_output() {
    let mock = MockServer::fixed("1", "1", &["--api-key", "sk-TOPSECRET-123"]);
    let dir = tempfile::tempdir().unwrap();
    let (inputs, info, recs) = (
        dir.path().join("inputs.json"),
        dir.path().join("ri.json"),
        dir.path().join("r.jsonl"),
    );
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "m",
            "--streaming",
            "--osl",
            "2",
            "--request-count",
            "3",
            "-H",
            "X-Custom: hdr-SECRET-456",
            "--inputs-out",
            inputs.to_str().unwrap(),
            "--run-info-out",
            info.to_str().unwrap(),
            "--output",
            recs.to_str().unwrap(),
        ])
        .env("OPENAI_API_KEY", "sk-TOPSECRET-123")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = std::fs::read_to_string(&recs).unwrap();
    assert_eq!(
        records.lines().filter(|l| l.contains("\"error\":null")).count(),
        3,
        "the key was sent: the mock accepted it"
    );
    let everything = [
        records,
        std::fs::read_to_string(&inputs).unwrap(),
        std::fs::read_to_string(&info).unwrap(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    ];
    for text in &everything {
        assert!(
            !text.contains("TOPSECRET") && !text.contains("hdr-SECRET"),
            "secret leaked: {text}"
        );
    }
    assert!(everything[2].contains("<redacted>"));
    // Without the key the mock refuses: error records with the 401, still no secret.
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--request-count",
        "2",
        "--api-key",
        "wrong-SECRET-789",
        "--ui",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let recs = records_of(&out.stdout);
    assert_eq!(recs[0]["error"]["code"], 401);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("wrong-SECRET")
            && !String::from_utf8_lossy(&out.stderr).contains("wrong-SECRET")
    );
}

fn wait_for_lines(path: &Path, n: usize, limit: Duration) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if std::fs::read_to_string(path)
            .map(|s| s.lines().count() >= n)
            .unwrap_or(false)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never reached {n} lines", path.display());
}

#[test]
fn ctrl_c_drains_flushes_and_exits_130() {
    let mock = MockServer::fixed("20", "5", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (recs, info) = (dir.path().join("r.jsonl"), dir.path().join("ri.json"));
    let mut child = Command::new(bin("loadgen"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "m",
            "--streaming",
            "--osl",
            "10",
            "--concurrency",
            "4",
            "--request-count",
            "100000",
            "--output",
            recs.to_str().unwrap(),
            "--run-info-out",
            info.to_str().unwrap(),
            "--ui",
            "none",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_lines(&recs, 8, Duration::from_secs(10));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    let status = child.wait().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(status.code(), Some(130));
    let text = std::fs::read_to_string(&recs).unwrap();
    assert!(text.ends_with('\n'));
    let records = records_of(text.as_bytes());
    assert!(records.len() >= 8);
    // In-flight requests were drained (not cut): they finished normally.
    assert!(
        records.iter().all(|r| r["error"].is_null()),
        "drained requests complete"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    assert_eq!(v["was_cancelled"], true);
    assert_eq!(
        v["phases"]["profiling"]["requests"].as_u64().unwrap() as usize,
        records.len()
    );
}

#[test]
fn kill_9_leaves_a_valid_jsonl_prefix() {
    let mock = MockServer::fixed("0", "0", &[]);
    let dir = tempfile::tempdir().unwrap();
    let recs = dir.path().join("r.jsonl");
    let mut child = Command::new(bin("loadgen"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "m",
            "--streaming",
            "--osl",
            "4",
            "--concurrency",
            "16",
            "--request-count",
            "10000000",
            "--output",
            recs.to_str().unwrap(),
            "--ui",
            "none",
        ])
        .spawn()
        .unwrap();
    wait_for_lines(&recs, 200, Duration::from_secs(10));
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&recs).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert!(lines.len() >= 200);
    for (i, l) in lines.iter().enumerate() {
        let parsed = serde_json::from_str::<Value>(l.trim_end());
        if i + 1 == lines.len() && !l.ends_with('\n') {
            continue; // at most one torn last line
        }
        assert!(parsed.is_ok(), "line {} is not a whole record: {l}", i + 1);
    }
}

#[test]
fn trace_replay_follows_its_timestamps() {
    let mock = MockServer::fixed("1", "1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    std::fs::write(
        &trace,
        "{\"timestamp\": 5000, \"input_length\": 40, \"output_length\": 3, \"hash_ids\": [7]}\n{\"timestamp\": 5100, \"input_length\": 20, \"output_length\": 2}\n{\"timestamp\": 5300, \"input_length\": 30, \"output_length\": 4}\n",
    )
    .unwrap();
    let recs = run_ok(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--input-file",
        trace.to_str().unwrap(),
        "--custom-dataset-type",
        "mooncake_trace",
        "--ui",
        "none",
    ]);
    assert_eq!(recs.len(), 3);
    let mut by: Vec<(u64, f64, f64)> = recs
        .iter()
        .map(|r| {
            (
                r["metadata"]["scheduled_ns"].as_u64().unwrap(),
                m(r, "input_sequence_length"),
                m(r, "output_sequence_length"),
            )
        })
        .collect();
    by.sort_by_key(|x| x.0);
    assert_eq!(
        by.iter().map(|x| (x.1, x.2)).collect::<Vec<_>>(),
        vec![(40.0, 3.0), (20.0, 2.0), (30.0, 4.0)]
    );
    assert_eq!(by[1].0 - by[0].0, 100_000_000);
    assert_eq!(by[2].0 - by[0].0, 300_000_000);
}

#[test]
fn the_engine_runs_in_process() {
    use sweepkit::loadgen::{Io, Settings};
    let mock = MockServer::fixed("5", "2", &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.jsonl");
    let settings = Settings {
        url: Some(sweepkit::contract::settings::Urls::One(mock.url())),
        model: Some("m".into()),
        streaming: Some(true),
        concurrency: Some(2),
        request_count: Some(4),
        osl: Some(3),
        ui: Some(sweepkit::loadgen::options::Ui::None),
        ..Default::default()
    };
    let opts = sweepkit::loadgen::options::resolve(
        settings,
        Io {
            output: Some(out.clone()),
            ..Default::default()
        },
        Default::default(),
    )
    .unwrap();
    let outcome = sweepkit::loadgen::benchmark(opts).result.unwrap();
    assert_eq!(outcome, sweepkit::io::outcome::Outcome::Ok);
    let recs = records_of(&std::fs::read(&out).unwrap());
    assert_eq!(recs.len(), 4);
    for r in &recs {
        near(m(r, "time_to_first_token"), 5.0, 0.5, LATE_MS, "TTFT");
        let rec: sweepkit::contract::records::Record = serde_json::from_value(r.clone()).unwrap();
        assert_eq!(rec.scalar("output_sequence_length"), Some(3.0));
    }
}

#[test]
fn concurrency_ramp_spreads_the_worker_starts() {
    // Requests outlast the ramp, so each worker sends exactly one: worker k of 4 waits until
    // k x 75 ms after the profiling start (the program's own deadline, so never earlier), and
    // then starts as soon as the operating system lets it (a generous late bound).
    let mock = MockServer::fixed("400", "1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let ri = dir.path().join("ri.json");
    let recs = run_ok(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--streaming",
        "--osl",
        "2",
        "--concurrency",
        "4",
        "--concurrency-ramp-duration",
        "0.3",
        "--request-count",
        "4",
        "--run-info-out",
        ri.to_str().unwrap(),
        "--ui",
        "none",
    ]);
    let info = crate::common::read_json(&ri);
    let p0 = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
    let mut starts: Vec<f64> = recs
        .iter()
        .map(|r| (r["metadata"]["request_start_ns"].as_u64().unwrap() - p0) as f64 / 1e6)
        .collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts.len(), 4);
    for (k, start) in starts.iter().enumerate() {
        // The k-th start is no earlier than the k-th deadline (the ns rounding of 0.3 x k / 4 s).
        let due = 75.0 * k as f64 - 1e-6;
        crate::common::on_time(*start, due, LATE_MS, &format!("worker {k}'s start"));
    }
}

/// A TLS-terminating TCP proxy: `python3 -c PROXY cert key upstream_host:port` prints its port.
const TLS_PROXY: &str = r#"
import asyncio, ssl, sys
cert, key, up = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = up.rsplit(":", 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
async def pipe(r, w):
    try:
        while True:
            d = await r.read(65536)
            if not d:
                break
            w.write(d)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(cr, cw):
    ur, uw = await asyncio.open_connection(host, int(port))
    await asyncio.gather(pipe(cr, uw), pipe(ur, cw))
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
"#;

struct KillOnDrop(std::process::Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_endpoints_work_with_a_private_ca() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("openssl (Debian package) is needed");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=sweepkit test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);

    let mock = MockServer::fixed("5", "2", &[]);
    let mut proxy = Command::new("python3")
        .args(["-c", TLS_PROXY, "leaf.pem", "leaf.key", &mock.addr])
        .current_dir(d)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let _proxy = KillOnDrop(proxy);
    let url = format!("https://127.0.0.1:{}", port.trim());
    let ca = d.join("ca.pem");
    let args = [
        "--url",
        &url,
        "-m",
        "m",
        "--streaming",
        "--concurrency",
        "2",
        "--request-count",
        "6",
        "--osl",
        "5",
        "--ui",
        "none",
    ];

    let ri = d.join("run_info.json");
    let recs = run_ok(
        &[
            &args[..],
            &[
                "--ca-cert",
                ca.to_str().unwrap(),
                "--run-info-out",
                ri.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert_eq!(recs.len(), 6);
    // https: the kernel's stamps are not reachable through TLS; the run info says so.
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap();
    assert_eq!(info["client"]["receive_stamps"]["source"], "user");
    assert_eq!(info["client"]["receive_stamps"]["kernel_stamped_chunks"], 0);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        assert_eq!(m(r, "output_sequence_length"), 5.0);
        assert!(m(r, "time_to_first_token") >= 4.5, "{r}");
        assert_eq!(
            r["metrics"]["inter_chunk_latency"]["value"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
    }

    // Without the private CA the server's certificate is not trusted: nothing can succeed.
    let out = loadgen(&args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("certificate") && err.contains("pass its ca with --ca-cert file"),
        "{err}"
    );

    let out = loadgen(&[&args[..], &["--ca-cert", "/no/such/ca.pem"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca-cert /no/such/ca.pem: cannot read"));
}

/// A server killed mid-run: loadgen stops within seconds (every connection refused for the
/// default 3 s), says why in the run info and on stderr, exits 2, and counts the requests it never
/// sent apart from the errors; closed-loop workers back off after a refusal, so the dead server
/// costs a few records, not thousands.
#[test]
fn a_server_that_dies_mid_run_stops_the_run_with_its_reason() {
    let mut mock = MockServer::start(&["--ttft-ms", "2", "--itl-ms", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let (records, info) = (dir.path().join("r.jsonl"), dir.path().join("ri.json"));
    let total = 1_000_000u64;
    let mut child = Command::new(bin("loadgen"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "m",
            "--streaming",
            "--concurrency",
            "4",
            "--osl",
            "4",
        ])
        .args([
            "--request-count",
            &total.to_string(),
            "--ui",
            "none",
            "--line-buffered",
        ])
        .arg("--output")
        .arg(&records)
        .arg("--run-info-out")
        .arg(&info)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it measure something first (bounded: 20 s at most).
    let t0 = Instant::now();
    while std::fs::read(&records).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count()) < 20 {
        assert!(t0.elapsed() < Duration::from_secs(20), "loadgen wrote no records");
        std::thread::sleep(Duration::from_millis(20));
    }
    mock.child.kill().unwrap();
    mock.child.wait().unwrap();
    let killed = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if killed.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("loadgen kept running 30 s after its server died");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stopped_after = killed.elapsed();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    // A loaded machine may add the client-health warning before it; the reason is its own line.
    assert!(
        err.lines()
            .any(|l| l.starts_with("loadgen: stopped early: the server refused every connection for 3.")),
        "{err}"
    );
    assert!(err.contains("never sent (the records are written)"), "{err}");
    // 3 s of refusals plus what the kill takes to show: well under 10 s.
    assert!(
        stopped_after < Duration::from_secs(10),
        "stopped {stopped_after:?} after the kill"
    );
    let recs = records_of(&std::fs::read(&records).unwrap());
    let v: Value = serde_json::from_slice(&std::fs::read(&info).unwrap()).unwrap();
    assert_eq!(v["end"]["reason"], "server_unreachable", "{}", v["end"]);
    let not_sent = v["end"]["requests_not_sent"].as_u64().unwrap();
    assert_eq!(
        recs.len() as u64 + not_sent,
        total,
        "every request is a record or never sent"
    );
    let refused = recs
        .iter()
        .filter(|r| r["error"]["type"] == "ConnectionError")
        .count();
    assert!(refused >= 4, "the refusals are recorded: {refused}");
    assert!(
        refused < 1_000,
        "4 workers backing off 100 ms for ~3 s: {refused} refusals"
    );
    assert!(
        recs.iter().any(|r| r["error"].is_null()),
        "what was measured is kept"
    );
}

/// --max-errors and --max-error-rate end a run against a failing server; a healthy run records
/// that it completed.
#[test]
fn error_limits_stop_the_run_and_a_healthy_run_completes() {
    let mock = MockServer::start(&["--ttft-ms", "1", "--itl-ms", "1", "--error-rate", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("ri.json");
    let info_s = info.to_str().unwrap();
    let records = dir.path().join("r.jsonl");
    let url = mock.url();
    // Every request fails: the run stops at the 7th error, or once the last 50 (the error-rate
    // window) are 90 % errors; the requests in flight meanwhile are recorded, the rest never sent.
    for (limit, reason, stop_at, detail) in [
        (
            ["--max-errors", "7"],
            "max_errors",
            7,
            "7 requests failed (--max-errors 7)",
        ),
        (
            ["--max-error-rate", "0.9"],
            "max_error_rate",
            50,
            "50 of the last 50 requests failed (--max-error-rate 0.9)",
        ),
    ] {
        let out = loadgen(&[
            "--url",
            &url,
            "-m",
            "m",
            "--concurrency",
            "2",
            "--request-count",
            "100000",
            "--osl",
            "2",
            "--ui",
            "none",
            "--output",
            records.to_str().unwrap(),
            "--run-info-out",
            info_s,
            limit[0],
            limit[1],
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.starts_with("loadgen: stopped early: "), "{err}");
        let v: Value = serde_json::from_slice(&std::fs::read(&info).unwrap()).unwrap();
        assert_eq!(v["end"]["reason"], reason, "{}", v["end"]);
        assert!(err.contains(detail), "{err}");
        let recs = records_of(&std::fs::read(&records).unwrap());
        let sent = recs.len() as u64;
        assert!(recs.iter().all(|r| r["error"]["code"] == 500), "only failures");
        assert_eq!(sent + v["end"]["requests_not_sent"].as_u64().unwrap(), 100_000);
        // The stop reaches the two workers within the late bound; each failure takes a ms or so.
        assert!(
            (stop_at..stop_at + LATE_MS as u64).contains(&sent),
            "{sent} sent, the limit stops at {stop_at}"
        );
    }
    drop(mock);
    let ok = MockServer::start(&["--ttft-ms", "1", "--itl-ms", "1"]);
    let out = loadgen(&[
        "--url",
        &ok.url(),
        "-m",
        "m",
        "--concurrency",
        "2",
        "--request-count",
        "10",
        "--osl",
        "2",
        "--ui",
        "none",
        "--output",
        "/dev/null",
        "--run-info-out",
        info_s,
        "--max-errors",
        "1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&info).unwrap()).unwrap();
    assert_eq!(v["end"], serde_json::json!({"reason": "completed"}));
}
