//! Production-shaped traffic (issue 10): client-side cancellation checked from the server's side
//! (mock-llm's `--record` and `/metrics`) and from the records, trace replay on a fixed schedule
//! with shared `hash_ids` prefixes, session traces (history, trace clock, delay cap), the verbatim
//! system prompt, and trial-agg's timeslices.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{bin, jsonl as lines_of, loadgen, metrics_text, ok, on_time, MockServer, LATE_MS};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Runs a cancellation workload on one HTTP client and checks it from both sides.
/// Which requests are cut, and that each is cut no earlier than its delay after it was sent, are
/// the program's (checked exactly); when the server sees the disconnect is the operating
/// system's: never before the client's start + delay (to the two processes' clocks, 0.5 ms), the
/// median not before `arrival + delay` on the server's clock (to 1 ms: its read of the body may
/// come late), and at most [`LATE_MS`] after it. The built-in client starts the timer when the body is
/// written; reqwest has no such hook, its timer starts when the request is handed to it.
fn cancellation_seen_by_both_sides(http_client: &str) {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("server.jsonl");
    let records = dir.path().join("r.jsonl");
    let mock = MockServer::start(&[
        "--ttft-ms",
        "20",
        "--itl-ms",
        "5",
        "--record",
        truth.to_str().unwrap(),
    ]);
    let (rate, delay_ms, n, seed) = (30.0, 60.0, 60u64, 7u64);
    let out = loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "mock-model",
        "--streaming",
        "--osl",
        "40",
        "--extra-inputs",
        "ignore_eos:true",
        "--concurrency",
        "4",
        "--request-count",
        &n.to_string(),
        "--warmup-request-count",
        "3",
        "--random-seed",
        &seed.to_string(),
        "--request-cancellation-rate",
        &rate.to_string(),
        "--request-cancellation-delay",
        &(delay_ms / 1000.0).to_string(),
        "--http-client",
        http_client,
        "--ui",
        "none",
        "--output",
        records.to_str().unwrap(),
    ]);
    ok(&out, "loadgen");
    let recs = lines_of(&records);
    let profiling: Vec<&Value> = recs
        .iter()
        .filter(|r| r["metadata"]["benchmark_phase"] == "profiling")
        .collect();
    assert_eq!(profiling.len() as u64, n);
    assert!(recs
        .iter()
        .filter(|r| r["metadata"]["benchmark_phase"] == "warmup")
        .all(|r| r["metadata"]["was_cancelled"] == false));

    // Which requests: AIPerf's draw, one per profiling request in issue order (session_num - warmup).
    let mut draw = sweepkit::loadgen::py_random::PyRandom::derived(seed, "timing.request.cancellation");
    let expected: Vec<u64> = (0..n).filter(|_| draw.random() < rate / 100.0).collect();
    let mut cancelled: Vec<u64> = profiling
        .iter()
        .filter(|r| r["metadata"]["was_cancelled"] == true)
        .map(|r| r["metadata"]["session_num"].as_u64().unwrap() - 3)
        .collect();
    cancelled.sort();
    assert_eq!(cancelled, expected);
    // The seeded count is within 3 sigma of the binomial expectation (a sanity bound on the draw).
    let (mean, sd) = (n as f64 * 0.3, (n as f64 * 0.3 * 0.7).sqrt());
    assert!(
        (cancelled.len() as f64 - mean).abs() < 3.0 * sd,
        "{}",
        cancelled.len()
    );

    // The records: AIPerf's shape, with the real start.
    for r in profiling
        .iter()
        .filter(|r| r["metadata"]["was_cancelled"] == true)
    {
        let md = &r["metadata"];
        assert_eq!(r["error"]["code"], 499, "{r}");
        assert_eq!(r["error"]["type"], "RequestCancellationError");
        assert_eq!(r["error"]["message"], "Request cancelled 0.060s after being sent");
        assert_eq!(md["cancellation_time_ns"], md["request_end_ns"]);
        assert!(md["request_ack_ns"].is_null());
        let lived =
            (md["request_end_ns"].as_u64().unwrap() - md["request_start_ns"].as_u64().unwrap()) as f64 / 1e6;
        crate::common::on_time(lived, delay_ms, LATE_MS, &format!("cut after the start: {r}"));
        let metrics: Vec<&String> = r["metrics"].as_object().unwrap().keys().collect();
        assert_eq!(metrics, ["error_isl"]);
    }
    assert!(profiling
        .iter()
        .filter(|r| r["metadata"]["was_cancelled"] == false)
        .all(|r| r["error"].is_null()));

    // The server's side: every cut request was seen to disconnect, `delay` after it arrived.
    let metrics = metrics_text(&mock.addr);
    drop(mock);
    let server: HashMap<String, Value> = lines_of(&truth)
        .into_iter()
        .map(|s| (s["client_request_id"].as_str().unwrap().to_string(), s))
        .collect();
    let mut offsets_ms = Vec::new();
    for r in profiling
        .iter()
        .filter(|r| r["metadata"]["was_cancelled"] == true)
    {
        let s = &server[r["metadata"]["x_request_id"].as_str().unwrap()];
        assert_eq!(s["outcome"], "client_disconnect", "{s}");
        let gone = s["disconnected_ns"].as_u64().expect("disconnected_ns") as f64 / 1e6;
        let arrived = s["arrival_ns"].as_u64().unwrap() as f64 / 1e6;
        // Never before the client could cut it (its start + delay: the program's deadline).
        let started = r["metadata"]["request_start_ns"].as_u64().unwrap() as f64 / 1e6;
        assert!(gone >= started + delay_ms - 0.5, "seen gone before the cut: {s}");
        offsets_ms.push(gone - arrived - delay_ms);
    }
    let mid = median(offsets_ms.clone());
    eprintln!(
        "{http_client}: {} of {n} cut; server-side disconnect - (arrival + delay): median {mid:.3} ms, max {:.3} ms",
        offsets_ms.len(),
        offsets_ms.iter().cloned().fold(f64::MIN, f64::max)
    );
    assert!(
        (-1.0..LATE_MS).contains(&mid),
        "median disconnect {mid:.3} ms off the delay: {offsets_ms:?}"
    );
    assert!(
        offsets_ms.iter().all(|o| *o < LATE_MS),
        "a disconnect far from the delay: {offsets_ms:?}"
    );
    let aborted = metrics
        .lines()
        .find(|l| l.starts_with("mock_llm:requests_aborted_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .expect("mock_llm:requests_aborted_total");
    assert_eq!(aborted as usize, cancelled.len(), "{metrics}");
    assert!(server.values().filter(|s| s["outcome"] == "ok").count() >= n as usize - cancelled.len());

    // trial-agg counts them as AIPerf does: errors, outside the latency metrics.
    let out = Command::new(bin("trial-agg"))
        .args(["--format", "json", records.to_str().unwrap()])
        .output()
        .unwrap();
    ok(&out, "trial-agg");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ok_count = n as f64 - cancelled.len() as f64;
    assert_eq!(s["request_count"]["avg"], ok_count, "{}", s["request_count"]);
    assert_eq!(s["error_request_count"]["avg"], cancelled.len() as f64);
    assert_eq!(s["request_latency"]["count"], ok_count);
}

#[test]
fn cancelled_requests_disconnect_at_the_delay_on_the_builtin_client() {
    cancellation_seen_by_both_sides("builtin");
}

#[test]
fn cancelled_requests_disconnect_at_the_delay_on_reqwest() {
    cancellation_seen_by_both_sides("reqwest");
}

#[test]
fn bad_cancellation_and_replay_flags_name_the_flag() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--request-cancellation-rate", "150"],
            "--request-cancellation-rate",
        ),
        (
            &[
                "--request-cancellation-rate",
                "10",
                "--request-cancellation-delay=-1",
            ],
            "--request-cancellation-delay",
        ),
        (
            &["--request-cancellation-delay", "1"],
            "requires --request-cancellation-rate",
        ),
        (
            &["--fixed-schedule-start-offset", "10"],
            "requires --fixed-schedule",
        ),
        (&["--fixed-schedule"], "--fixed-schedule needs --input-file"),
    ];
    for (args, want) in cases {
        let mut all = vec!["--url", "127.0.0.1:9", "-m", "m", "--ui", "none"];
        all.extend_from_slice(args);
        let out = loadgen(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.starts_with("loadgen: "),
            "{args:?}: {err}"
        );
    }
}

/// A mooncake trace whose rows share leading `hash_ids` blocks (16 tokens each here).
const TRACE: &str = r#"{"timestamp": 1000, "input_length": 40, "output_length": 2, "hash_ids": [1, 2, 3]}
{"timestamp": 1100, "input_length": 32, "output_length": 2, "hash_ids": [1, 2]}
{"timestamp": 1250, "input_length": 40, "output_length": 2, "hash_ids": [1, 5, 6]}
{"timestamp": 1400, "input_length": 20, "output_length": 2, "hash_ids": [9, 10]}
{"timestamp": 2000, "input_length": 40, "output_length": 2, "hash_ids": [1, 2, 7]}
"#;

/// Replays TRACE with `extra` flags; returns (records, profiling start ns, server records).
fn replay(extra: &[&str], seed: &str) -> (Vec<Value>, u64, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let (trace, records, info, truth) = (
        dir.path().join("trace.jsonl"),
        dir.path().join("r.jsonl"),
        dir.path().join("ri.json"),
        dir.path().join("server.jsonl"),
    );
    std::fs::write(&trace, TRACE).unwrap();
    let mock = MockServer::recording_bodies(&truth);
    let mut args = vec![
        "--url",
        &mock.addr,
        "-m",
        "mock-model",
        "--streaming",
        "--input-file",
        trace.to_str().unwrap(),
        "--custom-dataset-type",
        "mooncake_trace",
        "--isl-block-size",
        "16",
        "--random-seed",
        seed,
        "--ui",
        "none",
        "--output",
        records.to_str().unwrap(),
        "--run-info-out",
        info.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&loadgen(&args), "loadgen");
    drop(mock);
    let ri: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let p0 = ri["phases"]["profiling"]["start_ns"]
        .as_u64()
        .unwrap_or_else(|| panic!("no profiling start in {ri}"));
    // trial-agg adds AIPerf's schedule-fidelity metrics for a fixed-schedule run.
    let out = trial_agg(&[
        "--run-info",
        info.to_str().unwrap(),
        "--format",
        "json",
        records.to_str().unwrap(),
    ]);
    ok(&out, "trial-agg");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        ri["input_config"]["phases"][0]["type"], "fixed_schedule",
        "{}",
        ri["input_config"]
    );
    // AIPerf's schedule-fidelity metrics are the records' send lags behind the schedule, anchored
    // at the least late one: recomputed here from the records (how late each send was is the
    // operating system's business; what trial-agg makes of it is not).
    let recs = lines_of(&records);
    let lag = |r: &Value| {
        let md = &r["metadata"];
        (md["request_start_ns"].as_u64().unwrap() - md["scheduled_ns"].as_u64().unwrap()) as f64
    };
    let least = recs.iter().map(lag).fold(f64::MAX, f64::min);
    let anchored: Vec<f64> = recs.iter().map(|r| (lag(r) - least) / 1e6).collect();
    let pct = |q: f64| crate::common::percentile(&anchored, q);
    for (tag, q) in [
        ("replay_sched_lag_p50", 50.0),
        ("replay_sched_lag_p90", 90.0),
        ("replay_sched_lag_p99", 99.0),
    ] {
        let got = summary[tag]["avg"].as_f64().unwrap_or_else(|| panic!("no {tag}"));
        assert!(
            (got - pct(q)).abs() <= 1e-9 * pct(q).max(1.0),
            "{tag} {got} vs {anchored:?}"
        );
        assert_eq!(summary[tag]["unit"], "ms");
    }
    let degraded = if pct(99.0) > 500.0 { 1.0 } else { 0.0 };
    assert_eq!(summary["replay_sched_degraded"]["avg"], degraded);
    (recs, p0, lines_of(&truth))
}

/// Send offsets (ms after the profiling start) as scheduled and as sent, in send order.
fn offsets(recs: &[Value], p0: u64) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = recs
        .iter()
        .map(|r| {
            let md = &r["metadata"];
            let at = |k: &str| (md[k].as_u64().unwrap() - p0) as f64 / 1e6;
            (at("scheduled_ns"), at("request_start_ns"))
        })
        .collect();
    v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    v
}

#[test]
fn fixed_schedule_follows_the_trace_with_its_offsets() {
    // Auto offset (the default): zero at the first timestamp, every row.
    let (recs, p0, _) = replay(&["--fixed-schedule"], "1");
    let got = offsets(&recs, p0);
    let want = [0.0, 100.0, 250.0, 400.0, 1000.0];
    assert_eq!(got.len(), want.len());
    for ((sched, sent), w) in got.iter().zip(want) {
        assert!(
            (sched - w).abs() < 0.01,
            "scheduled {sched} ms, trace says {w}: {got:?}"
        );
        // Never before its time; how late, the operating system decides (a generous bound).
        crate::common::on_time(*sent, *sched, crate::common::LATE_MS, &format!("{got:?}"));
    }
    // A window [1100, 1400] ms: rows outside are dropped, zero at the start offset.
    let (recs, p0, _) = replay(
        &[
            "--fixed-schedule",
            "--fixed-schedule-start-offset",
            "1100",
            "--fixed-schedule-end-offset",
            "1400",
        ],
        "1",
    );
    let got = offsets(&recs, p0);
    let isl: Vec<f64> = recs
        .iter()
        .map(|r| r["metrics"]["input_sequence_length"]["value"].as_f64().unwrap())
        .collect();
    assert_eq!(isl.len(), 3, "{got:?}");
    for ((sched, _), w) in got.iter().zip([0.0, 150.0, 300.0]) {
        assert!((sched - w).abs() < 0.01, "{got:?}");
    }
    // The start offset with auto offset asked for too: zero at the first kept row (1100).
    let (recs, p0, _) = replay(
        &[
            "--fixed-schedule",
            "--fixed-schedule-auto-offset",
            "--fixed-schedule-start-offset",
            "1200",
        ],
        "1",
    );
    let got = offsets(&recs, p0);
    for ((sched, _), w) in got.iter().zip([0.0, 150.0, 750.0]) {
        assert!((sched - w).abs() < 0.01, "{got:?}");
    }
    assert_eq!(got.len(), 3);
}

/// The user prompt each request sent, as the server received it, by trace row (sent order).
/// The prompts the server received, in trace-row order: each server record joined to loadgen's
/// by request id, ordered by its request number (arrival order is the OS's: rows due close
/// together may arrive swapped on a loaded machine).
fn prompts_seen(records: &[Value], server: &[Value]) -> Vec<String> {
    let num: HashMap<&str, u64> = records
        .iter()
        .map(|r| {
            (
                r["metadata"]["x_request_id"].as_str().unwrap(),
                r["metadata"]["session_num"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut v: Vec<(u64, String)> = server
        .iter()
        .map(|s| {
            let c = s["request_body"]["messages"][0]["content"]
                .as_str()
                .unwrap()
                .to_string();
            (num[s["client_request_id"].as_str().unwrap()], c)
        })
        .collect();
    v.sort();
    v.into_iter().map(|x| x.1).collect()
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

#[test]
fn hash_ids_share_prompt_prefixes_as_the_trace_says() {
    let (records, _, server) = replay(&[], "5");
    let p = prompts_seen(&records, &server);
    assert_eq!(p.len(), 5);
    // Row 1 is blocks 1, 2 (32 tokens); rows 0 and 4 start with it and go on with blocks 3 and 7.
    assert!(p[0].starts_with(&p[1]) && p[4].starts_with(&p[1]), "{p:?}");
    let shared04 = common_prefix(&p[0], &p[4]);
    assert!(
        shared04 >= p[1].len() && shared04 < p[0].len().min(p[4].len()),
        "{p:?}"
    );
    // Row 2 shares block 1 only: the same boundary with rows 0 and 1, about half of row 1.
    let one = common_prefix(&p[1], &p[2]);
    assert_eq!(common_prefix(&p[0], &p[2]), one);
    assert!(
        one >= p[1].len() / 3 && one < p[1].len() * 2 / 3,
        "{one} of {}: {p:?}",
        p[1].len()
    );
    // Row 3 shares nothing.
    assert!(common_prefix(&p[0], &p[3]) < 8, "{:?} / {:?}", p[0], p[3]);
    // The same seed sends the same bytes; another seed other text for the same ids.
    let (again_records, _, again) = replay(&[], "5");
    assert_eq!(prompts_seen(&again_records, &again), p);
    let (other_records, _, other) = replay(&[], "6");
    assert!(common_prefix(&prompts_seen(&other_records, &other)[0], &p[0]) < 8);
}

#[test]
fn a_trace_too_short_for_its_hash_ids_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    std::fs::write(&trace, "{\"timestamp\": 0, \"input_length\": 40, \"hash_ids\": [1]}\n{\"timestamp\": 5, \"input_length\": 16, \"hash_ids\": [1, 2]}\n").unwrap();
    let out = loadgen(&[
        "--url",
        "127.0.0.1:9",
        "-m",
        "m",
        "--ui",
        "none",
        "--input-file",
        trace.to_str().unwrap(),
        "--custom-dataset-type",
        "mooncake_trace",
        "--isl-block-size",
        "16",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("t.jsonl:2") && err.contains("--isl-block-size"),
        "{err}"
    );
    // Without timestamps, --fixed-schedule names the file.
    std::fs::write(&trace, "{\"input_length\": 40}\n").unwrap();
    let out = loadgen(&[
        "--url",
        "127.0.0.1:9",
        "-m",
        "m",
        "--ui",
        "none",
        "--input-file",
        trace.to_str().unwrap(),
        "--custom-dataset-type",
        "mooncake_trace",
        "--fixed-schedule",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--fixed-schedule") && err.contains("t.jsonl:1"),
        "{err}"
    );
}

#[test]
fn the_new_numeric_flags_sweep_as_comma_lists() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    std::fs::write(&trace, "{\"timestamp\": 0, \"input_length\": 8}\n").unwrap();
    let t = trace.to_str().unwrap();
    let cases: [(&[&str], &str, Value); 6] = [
        (
            &["--request-cancellation-rate", "0,10,20"],
            "request_cancellation_rate",
            20.0.into(),
        ),
        (
            &[
                "--request-cancellation-rate",
                "5",
                "--request-cancellation-delay",
                "0,0.5,1",
            ],
            "request_cancellation_delay",
            1.0.into(),
        ),
        (
            &[
                "--fixed-schedule",
                "--input-file",
                t,
                "--fixed-schedule-start-offset",
                "0,100,200",
            ],
            "fixed_schedule_start_offset",
            200.into(),
        ),
        (
            &[
                "--fixed-schedule",
                "--input-file",
                t,
                "--fixed-schedule-end-offset",
                "0,100,200",
            ],
            "fixed_schedule_end_offset",
            200.into(),
        ),
        (
            &["--input-file", t, "--isl-block-size", "16,32,64"],
            "isl_block_size",
            64.into(),
        ),
        (
            &["--input-file", t, "--inter-turn-delay-cap-seconds", "0,0.5,2"],
            "inter_turn_delay_cap_seconds",
            2.0.into(),
        ),
    ];
    for (args, key, last) in cases {
        let mut all = vec!["--url", "127.0.0.1:9", "-m", "m", "--ui", "none"];
        all.extend_from_slice(args);
        // The trace is read as loadgen reads it: its input_length lines are a mooncake trace.
        if args.contains(&"--input-file") {
            all.extend(["--custom-dataset-type", "mooncake_trace"]);
        }
        let out = Command::new(bin("sweep-plan")).args(&all).output().unwrap();
        ok(&out, "sweep-plan");
        let plan: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(plan.len(), 3, "{args:?}");
        assert_eq!(plan[2]["parameters"][key], last, "{}", plan[2]);
        assert_eq!(plan[2]["loadgen"][key], last);
    }
    let out = Command::new(bin("sweep-plan"))
        .args([
            "--url",
            "127.0.0.1:9",
            "-m",
            "m",
            "--request-cancellation-rate",
            "10,150",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--request-cancellation-rate"));
}

fn trial_agg(args: &[&str]) -> Output {
    Command::new(bin("trial-agg"))
        .args(args)
        .output()
        .expect("run trial-agg")
}

#[test]
fn timeslices_are_aiperfs_own_files() {
    // AIPerf 0.13's run with --slice-duration 0.2 (and 20 % cancelled requests): its timeslice CSV
    // and its summary CSV come out byte for byte, its timeslice JSON key for key.
    let f = crate::common::fixtures_dir().join("d_timeslices_c3_n24");
    let dir = tempfile::tempdir().unwrap();
    let out = trial_agg(&[
        "--run-info",
        f.join("profile_export_aiperf.json").to_str().unwrap(),
        "--slice-duration",
        "0.2",
        "--output-dir",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
        f.join("profile_export.jsonl").to_str().unwrap(),
    ]);
    ok(&out, "trial-agg");
    for name in [
        "profile_export_aiperf_timeslices.csv",
        "profile_export_aiperf.csv",
    ] {
        let (ours, theirs) = (
            std::fs::read_to_string(dir.path().join(name)).unwrap(),
            std::fs::read_to_string(f.join(name)).unwrap(),
        );
        assert!(ours == theirs, "{name} differs from AIPerf's");
    }
    let read = |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let ours = read(&dir.path().join("profile_export_aiperf_timeslices.json"));
    let theirs = read(&f.join("profile_export_aiperf_timeslices.json"));
    assert_eq!(ours["input_config"], theirs["input_config"]);
    let (a, b) = (
        ours["timeslices"].as_array().unwrap(),
        theirs["timeslices"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let (mut kx, mut ky) = (keys(x), keys(y));
        kx.sort();
        ky.sort();
        assert_eq!(kx, ky);
        for k in kx {
            match (&x[&k], &y[&k]) {
                (Value::Object(m), Value::Object(n)) => {
                    assert_eq!(m.keys().collect::<Vec<_>>().len(), n.len(), "{k}");
                    for (stat, v) in n {
                        match (m[stat].as_f64(), v.as_f64()) {
                            (Some(p), Some(q)) => {
                                assert!(
                                    (p - q).abs() <= 1e-9 * q.abs().max(1e-9),
                                    "{k}.{stat}: {p} vs {q}"
                                )
                            }
                            _ => assert_eq!(&m[stat], v, "{k}.{stat}"),
                        }
                    }
                }
                (p, q) => assert_eq!(p, q, "{k}"),
            }
        }
    }
    // The run's summary counts the cancelled requests as AIPerf does.
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let aiperf = read(&f.join("profile_export_aiperf.json"));
    for tag in [
        "request_count",
        "error_request_count",
        "completed_request_count",
        "request_error_rate",
        "context_overflow_count",
    ] {
        assert_eq!(summary[tag]["avg"], aiperf[tag]["avg"], "{tag}");
    }
    assert_eq!(summary["error_summary"], aiperf["error_summary"]);
}

#[test]
fn timeslices_cut_as_aiperf_cuts_them() {
    // Five records 0.1 s apart in their starts (tests/fixtures/timeslices/records.jsonl):
    // [0.0, 0.5] and [0.2, 1.4] s, [1.5, 1.9], [3.1, 3.6], and a request cancelled in [4.0, 4.2].
    let f = crate::common::repo_root().join("tests/fixtures/timeslices/records.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let out = trial_agg(&[
        "--slice-duration",
        "1",
        "--output-dir",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
        f.to_str().unwrap(),
    ]);
    ok(&out, "trial-agg");
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("profile_export_aiperf_timeslices.json")).unwrap(),
    )
    .unwrap();
    let s = doc["timeslices"].as_array().unwrap();
    const T0: u64 = 1_700_000_000_000_000_000;
    const SEC: u64 = 1_000_000_000;
    // The grid starts at the first start; slice 2 ([2, 3) s) is empty and skipped; the last one
    // is clipped to the last end and marked incomplete.
    let windows: Vec<(u64, u64, bool)> = s
        .iter()
        .map(|t| {
            (
                t["start_ns"].as_u64().unwrap() - T0,
                t["end_ns"].as_u64().unwrap() - T0,
                t.get("is_complete").is_none(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [
            (0, SEC, true),
            (SEC, 2 * SEC, true),
            (3 * SEC, 4 * SEC, true),
            (4 * SEC, 4_200_000_000, false)
        ]
    );
    let avg = |i: usize, tag: &str| {
        s[i][tag]["avg"]
            .as_f64()
            .unwrap_or_else(|| panic!("slice {i} {tag}"))
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // By request start: r1 and r2 in slice 0 although r2 ends in slice 1.
    assert_eq!([0, 1, 2].map(|i| avg(i, "request_count")), [2.0, 1.0, 1.0]);
    assert_eq!(avg(0, "request_latency"), 850.0);
    assert!(
        close(avg(0, "benchmark_duration"), 1.4),
        "first start to last end"
    );
    assert_eq!(avg(0, "request_throughput"), 2.0, "count / window");
    // Time-weighted over the slice, with r2 still in flight in slice 1: 0.4 + 0.4.
    assert!(close(avg(0, "effective_concurrency"), 1.3));
    assert!(close(avg(1, "effective_concurrency"), 0.8));
    // The cancelled request: an error in its slice, a throughput over the clipped 0.2 s window.
    assert_eq!(avg(3, "request_count"), 0.0);
    assert_eq!(avg(3, "error_request_count"), 1.0);
    assert_eq!(avg(3, "request_error_rate"), 100.0);
    assert!(s[3].get("request_latency").is_none());
    let csv = std::fs::read_to_string(dir.path().join("profile_export_aiperf_timeslices.csv")).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value");
    assert!(csv.contains("\r\n0,1700000000000000000,1700000001000000000,Request Count,requests,avg,2.00\r\n"));
    assert!(csv.contains("\r\n0,1700000000000000000,1700000001000000000,Request Latency,ms,p50,850.00\r\n"));
    assert!(csv
        .contains("\r\n3,1700000004000000000,1700000004200000000,Error Request Count,requests,avg,1.00\r\n"));
    // Every row: 7 fields, slice indexes dense and in order.
    let idx: Vec<usize> = lines[1..]
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            assert_eq!(l.split(',').count(), 7, "{l}");
            l.split(',').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(idx.windows(2).all(|w| w[0] <= w[1]) && idx.last() == Some(&3));
    // Bad values name the flag.
    for (args, want) in [
        (vec!["--slice-duration", "0"], "--slice-duration"),
        (vec!["--slice-duration", "1"], "--output-dir"),
    ] {
        let mut all = args.clone();
        all.push(f.to_str().unwrap());
        let out = trial_agg(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
    }
}

/// A session trace (tests/fixtures/traces/sessions.jsonl) replayed on its schedule against
/// mock-llm; returns the records, the profiling start and the server's records by request id.
fn session_trace(extra: &[&str]) -> (Vec<Value>, u64, HashMap<String, Value>) {
    let (recs, p0, server, summary) = replay_sessions("sessions.jsonl", "mooncake_trace", extra);
    assert_eq!(summary["session_count"]["avg"], 4.0, "{summary}");
    assert_eq!(summary["turn_count"]["avg"], 8.0);
    (recs, p0, server)
}

/// Replays tests/fixtures/traces/FILE (a dataset of KIND) against mock-llm; returns the records,
/// the profiling start, the server's records by request id and trial-agg's summary.
fn replay_sessions(
    file: &str,
    kind: &str,
    extra: &[&str],
) -> (Vec<Value>, u64, HashMap<String, Value>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let (records, info, truth) = (
        dir.path().join("r.jsonl"),
        dir.path().join("ri.json"),
        dir.path().join("server.jsonl"),
    );
    let trace = crate::common::repo_root()
        .join("tests/fixtures/traces")
        .join(file);
    let mock = MockServer::recording_bodies(&truth);
    let mut args = vec![
        "--url",
        &mock.addr,
        "-m",
        "mock-model",
        "--streaming",
        "--input-file",
        trace.to_str().unwrap(),
        "--custom-dataset-type",
        kind,
        "--isl-block-size",
        "16",
        "--ui",
        "none",
        "--output",
        records.to_str().unwrap(),
        "--run-info-out",
        info.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&loadgen(&args), "loadgen");
    drop(mock);
    let ri: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let p0 = ri["phases"]["profiling"]["start_ns"].as_u64().unwrap();
    // trial-agg: sessions and turns counted; on the clock, AIPerf's schedule lag from the stamped
    // turns, with no warning about the delayed turns that have no intended send time.
    let out = trial_agg(&[
        "--run-info",
        info.to_str().unwrap(),
        "--format",
        "json",
        records.to_str().unwrap(),
    ]);
    ok(&out, "trial-agg");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("scheduled_ns"), "{err}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    if let Some(i) = extra.iter().position(|a| *a == "--inter-turn-delay-cap-seconds") {
        let cap: f64 = extra[i + 1].parse().unwrap();
        assert_eq!(
            ri["input_config"]["datasets"][0]["inter_turn_delay_cap_seconds"],
            cap
        );
    }
    let replayed = !extra.contains(&"--no-fixed-schedule");
    assert_eq!(
        ri["input_config"]["phases"][0]["type"] == "fixed_schedule",
        replayed
    );
    assert_eq!(
        summary.get("replay_sched_lag_p99").is_some(),
        replayed,
        "{summary}"
    );
    let server = lines_of(&truth)
        .into_iter()
        .map(|r| (r["client_request_id"].as_str().unwrap().to_string(), r))
        .collect();
    (lines_of(&records), p0, server, summary)
}

/// The messages a record's request carried, as the server received them: (role, content).
fn messages_seen(server: &HashMap<String, Value>, r: &Value) -> Vec<(String, String)> {
    let id = r["metadata"]["x_request_id"].as_str().unwrap();
    server[id]["request_body"]["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no body recorded for {id}"))
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn session_traces_carry_history_and_keep_the_trace_clock() {
    // On two event-loop workers: sessions are dealt to them, request numbers stay one sequence.
    let (recs, p0, server) = session_trace(&[
        "--fixed-schedule",
        "--inter-turn-delay-cap-seconds",
        "0.4",
        "--workers",
        "2",
    ]);
    assert_eq!(recs.len(), 8, "every line is one request");
    let mut nums: Vec<u64> = recs
        .iter()
        .map(|r| r["metadata"]["session_num"].as_u64().unwrap())
        .collect();
    nums.sort();
    assert_eq!(
        nums,
        (0..8).collect::<Vec<u64>>(),
        "AIPerf's credit index, in issue order"
    );
    let mut by: HashMap<String, Vec<&Value>> = HashMap::new();
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        let c = r["metadata"]["conversation_id"].as_str().unwrap().to_string();
        by.entry(c).or_default().push(r);
    }
    for turns in by.values_mut() {
        turns.sort_by_key(|r| r["metadata"]["turn_index"].as_u64().unwrap());
    }
    let turns = |c: &str| by[c].clone();
    let lens: Vec<(String, usize)> = ["a", "b", "c", "session_000003"]
        .iter()
        .map(|c| (c.to_string(), turns(c).len()))
        .collect();
    assert_eq!(
        lens.iter().map(|x| x.1).collect::<Vec<_>>(),
        [3, 2, 2, 1],
        "{lens:?}"
    );
    let meta = |r: &Value, k: &str| r["metadata"][k].as_u64().unwrap_or_else(|| panic!("no {k}: {r}"));
    let srv = |r: &Value, k: &str| {
        server[r["metadata"]["x_request_id"].as_str().unwrap()][k]
            .as_u64()
            .unwrap()
    };
    let ms = |ns: u64| ns as f64 / 1e6;
    for (c, ts) in &by {
        for (k, r) in ts.iter().enumerate() {
            assert_eq!(meta(r, "turn_index"), k as u64);
            assert_eq!(r["metadata"]["x_correlation_id"], format!("fixed-schedule-{c}"));
            // Turn k carries turns < k and the mock's replies, then its own message.
            let m = messages_seen(&server, r);
            assert_eq!(m.len(), 2 * k + 1, "{c}/{k}: {m:?}");
            if k > 0 {
                let prev = messages_seen(&server, ts[k - 1]);
                assert_eq!(&m[..prev.len()], &prev[..], "{c}/{k} resends turn {}", k - 1);
                let (role, reply) = &m[prev.len()];
                assert_eq!(role, "assistant");
                let words: Vec<&str> = reply.split_whitespace().collect();
                let asked = server[ts[k - 1]["metadata"]["x_request_id"].as_str().unwrap()]
                    ["completion_tokens"]
                    .as_u64()
                    .unwrap();
                assert_eq!(words.len() as u64, asked, "the reply the mock sent: {reply:?}");
                assert!(words
                    .iter()
                    .all(|w| sweepkit::mock::tokens::WORDS.contains(&&*format!(" {w}"))));
                let isl = |r: &Value| r["metrics"]["input_sequence_length"]["value"].as_f64().unwrap();
                assert!(isl(r) > isl(ts[k - 1]), "the ISL counts the history");
            }
        }
    }
    // First turns at their timestamps (zero = 1000 ms, the earliest), `delay` ignored on c's first line.
    for (c, want) in [("a", 0.0), ("session_000003", 50.0), ("b", 100.0), ("c", 200.0)] {
        let r = turns(c)[0];
        let (sched, sent) = (
            ms(meta(r, "scheduled_ns") - p0),
            ms(meta(r, "request_start_ns") - p0),
        );
        assert!(
            (sched - want).abs() < 0.01,
            "{c}: scheduled at {sched} ms, trace says {want}"
        );
        on_time(sent, sched, LATE_MS, &format!("{c}: sent"));
    }
    // b's turn 1 is stamped 1600 ms: absolute, 600 ms after the zero.
    let b1 = turns("b")[1];
    let sched = ms(meta(b1, "scheduled_ns") - p0);
    assert!((sched - 600.0).abs() < 0.01, "{sched}");
    on_time(ms(meta(b1, "request_start_ns") - p0), sched, LATE_MS, "b/1 sent");
    // On the server's clock: a's turn 1 arrives 300 ms after turn 0 ended, turn 2 at once, and
    // c's 5 s delay is clamped to the 0.4 s cap. Late side generous (a loaded machine).
    let gap = |r: &Value, prev: &Value| ms(srv(r, "arrival_ns")) - ms(srv(prev, "end_ns"));
    let (a, c) = (turns("a"), turns("c"));
    on_time(gap(a[1], a[0]), 300.0, LATE_MS, "a/1 after a/0 ended (delay 300)");
    on_time(gap(a[2], a[1]), 0.0, LATE_MS, "a/2 (no delay)");
    on_time(
        gap(c[1], c[0]),
        400.0,
        LATE_MS,
        "c/1 (its 5000 ms delay capped at 400)",
    );
    assert!(b1["metadata"].get("scheduled_ns").is_some() && a[1]["metadata"].get("scheduled_ns").is_none());
    // hash_ids: a/0 and b/0 share block 1 (16 tokens), then differ.
    let (ua, ub) = (
        &messages_seen(&server, a[0])[0].1,
        &messages_seen(&server, turns("b")[0])[0].1,
    );
    let shared = common_prefix(ua, ub);
    assert!(shared >= 16 && shared < ua.len().min(ub.len()), "{ua:?} / {ub:?}");
}

#[test]
fn session_traces_run_as_sessions_without_their_clock() {
    // --no-fixed-schedule: the timestamps are ignored, the sessions run closed-loop with history.
    let (recs, _, server) = session_trace(&[
        "--no-fixed-schedule",
        "--concurrency",
        "2",
        "--inter-turn-delay-cap-seconds",
        "0.05",
    ]);
    assert_eq!(recs.len(), 8);
    for r in &recs {
        assert!(r["metadata"].get("scheduled_ns").is_none(), "{r}");
        let k = r["metadata"]["turn_index"].as_u64().unwrap() as usize;
        assert_eq!(messages_seen(&server, r).len(), 2 * k + 1);
    }
}

#[test]
fn bad_session_traces_and_prompt_flags_name_the_line_or_flag() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("s.jsonl");
    let t = trace.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["--url", "127.0.0.1:9", "-m", "m", "--ui", "none"];
        a.extend_from_slice(extra);
        let out = loadgen(&a);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        // One line (clap adds its "For more information" hint to a bad value).
        let said = err
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"));
        assert_eq!(said.count(), 1, "one line: {err}");
        err
    };
    let trace_args = ["--input-file", t, "--custom-dataset-type", "mooncake_trace"];
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "{\"session_id\": \"s\", \"timestamp\": 0, \"input_length\": 8}\n{\"session_id\": \"s\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n",
            &[],
            &["s.jsonl:2:", "session_id"],
        ),
        (
            "{\"session_id\": \"s\", \"timestamp\": 0, \"input_length\": 8}\n{\"session_id\": \"t\", \"input_length\": 8}\n",
            &["--fixed-schedule"],
            &["s.jsonl:2", "session t", "timestamp"],
        ),
        (
            "{\"session_id\": \"s\", \"input_length\": 8}\n{\"session_id\": \"s\", \"delay\": -5, \"input_length\": 8}\n",
            &[],
            &["s.jsonl:2:", "delay -5"],
        ),
        (
            "{\"session_id\": [1], \"input_length\": 8}\n",
            &[],
            &["s.jsonl:1:", "session_id"],
        ),
    ];
    for (text, extra, want) in cases {
        std::fs::write(&trace, text).unwrap();
        let mut a = trace_args.to_vec();
        a.extend_from_slice(extra);
        let err = run(&a);
        assert!(want.iter().all(|w| err.contains(w)), "{want:?}: {err}");
    }
    std::fs::write(&trace, "{\"session_id\": \"s\", \"input_length\": 8}\n").unwrap();
    let mut a = trace_args.to_vec();
    a.extend_from_slice(&["--endpoint-type", "completions"]);
    let err = run(&a);
    assert!(
        err.contains("s.jsonl:1") && err.contains("--endpoint-type"),
        "{err}"
    );
    // The cap: a number of seconds >= 0, for a file's delays.
    let err = run(&["--input-file", t, "--inter-turn-delay-cap-seconds=-1"]);
    assert!(err.contains("--inter-turn-delay-cap-seconds"), "{err}");
    let err = run(&["--inter-turn-delay-cap-seconds", "2"]);
    assert!(
        err.contains("--inter-turn-delay-cap-seconds") && err.contains("--input-file"),
        "{err}"
    );
    // The system prompt: a readable file, not with the pool or the shared system prompt.
    let missing = dir.path().join("nope.txt");
    let err = run(&["--system-prompt-file", missing.to_str().unwrap()]);
    assert!(
        err.contains("--system-prompt-file") && err.contains("nope.txt"),
        "{err}"
    );
    for (extra, other) in [
        (
            &["--prefix-prompt-pool-size", "2", "--prefix-prompt-length", "8"][..],
            "--prefix-prompt-pool-size",
        ),
        (
            &["--shared-system-prompt-length", "8"][..],
            "--shared-system-prompt-length",
        ),
        (&["--system-prompt-file", t][..], "--system-prompt-file"),
        (&["--input-file", t][..], "--input-file"),
        (&["--endpoint-type", "completions"][..], "completions"),
    ] {
        let mut a = vec!["--system-prompt", "Be brief."];
        a.extend_from_slice(extra);
        let err = run(&a);
        assert!(
            err.contains("--system-prompt") && err.contains(other),
            "{extra:?}: {err}"
        );
    }
    let err = run(&["--system-prompt", "  "]);
    assert!(err.contains("--system-prompt") && err.contains("empty"), "{err}");
}

#[test]
fn multi_turn_files_with_timestamps_replay_on_their_clock() {
    // Replayed without --fixed-schedule: a file whose turns carry timestamps is a trace.
    let (recs, p0, server, summary) = replay_sessions("multi_turn_stamped.jsonl", "multi_turn", &[]);
    assert_eq!(summary["session_count"]["avg"], 2.0, "{summary}");
    let find = |c: &str, k: u64| {
        recs.iter()
            .find(|r| r["metadata"]["conversation_id"] == c && r["metadata"]["turn_index"] == k)
            .unwrap_or_else(|| panic!("no {c}/{k}"))
    };
    let ms = |r: &Value, k: &str| (r["metadata"][k].as_u64().unwrap() - p0) as f64 / 1e6;
    // Zero at 500 ms: x at 0, y at 100, x's turn 1 stamped 800 -> 300.
    for (c, k, want) in [("x", 0, 0.0), ("y", 0, 100.0), ("x", 1, 300.0)] {
        let r = find(c, k);
        assert!((ms(r, "scheduled_ns") - want).abs() < 0.01, "{c}/{k}: {r}");
        on_time(
            ms(r, "request_start_ns"),
            want,
            LATE_MS,
            &format!("{c}/{k} sent: {r}"),
        );
    }
    // y's turn 1: 100 ms after y's first reply, on the server's clock; no intended time.
    let (y0, y1) = (find("y", 0), find("y", 1));
    assert!(y1["metadata"].get("scheduled_ns").is_none());
    let srv = |r: &Value, k: &str| {
        server[r["metadata"]["x_request_id"].as_str().unwrap()][k]
            .as_u64()
            .unwrap() as f64
            / 1e6
    };
    let gap = srv(y1, "arrival_ns") - srv(y0, "end_ns");
    on_time(gap, 100.0, LATE_MS, "y/1 after y/0 ended (delay 100)");
    // The hoisted system turn opens every turn of x; turn 1 carries turn 0 and the reply.
    let m = messages_seen(&server, find("x", 1));
    let roles: Vec<&str> = m.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(m[0].1, "Be brief.");
    assert_eq!(m[1].1, "What is a KV cache?");
}

/// A synthetic run with `extra` flags; returns the records and the server's records by id.
fn synthetic_run(extra: &[&str]) -> (Vec<Value>, HashMap<String, Value>) {
    let dir = tempfile::tempdir().unwrap();
    let (records, truth) = (dir.path().join("r.jsonl"), dir.path().join("server.jsonl"));
    let mock = MockServer::recording_bodies(&truth);
    let mut args = vec![
        "--url",
        &mock.addr,
        "-m",
        "mock-model",
        "--isl",
        "20",
        "--osl",
        "3",
        "--random-seed",
        "4",
        "--request-count",
        "4",
        "--ui",
        "none",
        "--output",
        records.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&loadgen(&args), "loadgen");
    drop(mock);
    let server = lines_of(&truth)
        .into_iter()
        .map(|r| (r["client_request_id"].as_str().unwrap().to_string(), r))
        .collect();
    (lines_of(&records), server)
}

#[test]
fn a_verbatim_system_prompt_opens_every_request_and_adds_its_tokens() {
    let text = "You are a terse assistant.\nAnswer in one line — no preamble.\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("system.txt");
    std::fs::write(&file, text).unwrap();
    let tok = sweepkit::io::tokenizer::Tokenizer::load("builtin").unwrap();
    let isl = |r: &Value| r["metrics"]["input_sequence_length"]["value"].as_u64().unwrap();
    let (plain, _) = synthetic_run(&[]);
    for flags in [
        vec!["--system-prompt", text],
        vec!["--system-prompt-file", file.to_str().unwrap()],
    ] {
        let (recs, server) = synthetic_run(&flags);
        assert_eq!(recs.len(), 4);
        for (r, p) in recs.iter().zip(&plain) {
            let m = messages_seen(&server, r);
            assert_eq!(m[0], ("system".to_string(), text.to_string()), "verbatim, first");
            assert_eq!(m.len(), 2);
            // The ISL counts the system prompt and the user prompt joined by a space.
            let user = &m[1].1;
            assert_eq!(isl(r), tok.count(&format!("{text} {user}")));
            let grown = isl(r) - isl(p);
            let n = tok.count(text);
            assert!(
                (n..=n + 1).contains(&grown),
                "ISL grew by {grown}, the prompt is {n} tokens"
            );
        }
    }
    // Multi-turn: the system prompt opens every turn, before the history.
    let (recs, server) = synthetic_run(&["--system-prompt", text, "--conversation-turn-mean", "2"]);
    for r in &recs {
        let m = messages_seen(&server, r);
        let k = r["metadata"]["turn_index"].as_u64().unwrap() as usize;
        assert_eq!(m.len(), 2 * k + 2);
        assert_eq!(m[0], ("system".to_string(), text.to_string()));
    }
}

#[test]
fn single_turn_rows_sharing_a_session_go_in_order_without_history() {
    let dir = tempfile::tempdir().unwrap();
    let (file, records, truth) = (
        dir.path().join("st.jsonl"),
        dir.path().join("r.jsonl"),
        dir.path().join("server.jsonl"),
    );
    std::fs::write(
        &file,
        concat!(
            "{\"session_id\": \"u\", \"text\": \"first question\", \"output_length\": 2}\n",
            "{\"text\": \"a row of its own\", \"output_length\": 2}\n",
            "{\"session_id\": \"u\", \"text\": \"second question\", \"delay\": 150, \"output_length\": 2}\n",
        ),
    )
    .unwrap();
    let mock = MockServer::recording_bodies(&truth);
    let out = loadgen(&[
        "--url",
        &mock.addr,
        "-m",
        "mock-model",
        "--input-file",
        file.to_str().unwrap(),
        "--ui",
        "none",
        "--output",
        records.to_str().unwrap(),
    ]);
    ok(&out, "loadgen");
    drop(mock);
    let server: HashMap<String, Value> = lines_of(&truth)
        .into_iter()
        .map(|r| (r["client_request_id"].as_str().unwrap().to_string(), r))
        .collect();
    let recs = lines_of(&records);
    assert_eq!(recs.len(), 3);
    let find = |c: &str, k: u64| {
        recs.iter()
            .find(|r| r["metadata"]["conversation_id"] == c && r["metadata"]["turn_index"] == k)
            .unwrap_or_else(|| panic!("no {c}/{k}: {recs:?}"))
    };
    let (u0, u1) = (find("u", 0), find("u", 1));
    find("session_000001", 0);
    // Each row as it is: no history, no reply carried.
    assert_eq!(
        messages_seen(&server, u1),
        [("user".to_string(), "second question".to_string())]
    );
    let srv = |r: &Value, k: &str| {
        server[r["metadata"]["x_request_id"].as_str().unwrap()][k]
            .as_u64()
            .unwrap() as f64
            / 1e6
    };
    let gap = srv(u1, "arrival_ns") - srv(u0, "end_ns");
    assert!(
        (150.0..600.0).contains(&gap),
        "the second row waits its delay after the first reply: {gap} ms"
    );
}
