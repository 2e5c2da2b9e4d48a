//! One benchmark as N loadgen processes (`--shard I/N`, `--start-at`) against one mock-llm on
//! 127.0.0.1, merged by trial-agg, compared with one process running the same total; bad shard
//! input; scripts/profile --shards; the Kubernetes manifest as rendered.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::common::{
    bin, jsonl as records, ok, on_time, read_json, repo_root, require_tool, MockServer, LATE_MS,
};

/// A mock with a fixed schedule (30 ms to the first token, 5 ms per token, no queueing, no jitter).
fn exact_mock() -> MockServer {
    MockServer::fixed("30", "5", &[])
}

fn epoch_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The benchmark every test splits: 8 streams, 160 streamed requests of 8 tokens, seed 5.
fn load_flags(url: &str) -> Vec<String> {
    [
        "--url",
        url,
        "-m",
        "mock-model",
        "--streaming",
        "--concurrency",
        "8",
        "--request-count",
        "160",
        "--osl",
        "8",
        "--extra-inputs",
        "ignore_eos:true",
        "--random-seed",
        "5",
        "--isl",
        "32",
        "--num-prompts",
        "40",
        "--ui",
        "none",
    ]
    .map(String::from)
    .to_vec()
}

/// Starts loadgen writing `records_<tag>.jsonl` and `run_info_<tag>.json` into `dir`.
fn spawn_loadgen(dir: &Path, tag: &str, flags: &[String], extra: &[&str]) -> std::process::Child {
    Command::new(bin("loadgen"))
        .args(flags)
        .args(extra)
        .arg("--output")
        .arg(dir.join(format!("records_{tag}.jsonl")))
        .arg("--run-info-out")
        .arg(dir.join(format!("run_info_{tag}.json")))
        .env_remove("OPENAI_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start loadgen")
}

fn trial_agg(args: &[&Path], run_infos: &[PathBuf], extra: &[&str]) -> Output {
    let mut c = Command::new(bin("trial-agg"));
    for r in run_infos {
        c.arg("--run-info").arg(r);
    }
    c.args(extra)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

fn scalar(summary: &Value, tag: &str) -> f64 {
    summary[tag]["avg"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {tag}.avg in the summary"))
}

#[test]
fn four_shards_at_one_instant_equal_one_process_running_the_total() {
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    let flags = load_flags(&mock.url());

    // One process, the whole benchmark; its set-up time (spawn to first send) sets the shards' lead.
    let spawned = epoch_s();
    let single = spawn_loadgen(dir.path(), "single", &flags, &[]);
    ok(single.wait_with_output().unwrap(), "the single loadgen");
    let first_send = records(&dir.path().join("records_single.jsonl"))
        .iter()
        .map(|r| r["metadata"]["request_start_ns"].as_u64().unwrap())
        .min()
        .unwrap() as f64
        / 1e9;
    let lead = (8.0 * (first_send - spawned) + 4.0).max(8.0);

    // Four processes, one shard each, all starting their profiling phase at one instant.
    let n = 4;
    let start_at = format!("{:.3}", epoch_s() + lead);
    let children: Vec<_> = (1..=n)
        .map(|i| {
            let shard = format!("{i}/{n}");
            spawn_loadgen(
                dir.path(),
                &i.to_string(),
                &flags,
                &["--shard", &shard, "--start-at", &start_at],
            )
        })
        .collect();
    for c in children {
        let out = ok(c.wait_with_output().unwrap(), "a shard");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("start time passed"),
            "a shard was not ready {lead:.1} s ahead: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Records: the same total, tagged, no id twice, the single run's prompts dealt disjointly.
    let single_recs = records(&dir.path().join("records_single.jsonl"));
    let mut all = Vec::new();
    let mut per_shard_prompts: Vec<HashSet<String>> = Vec::new();
    for i in 1..=n {
        let recs = records(&dir.path().join(format!("records_{i}.jsonl")));
        assert_eq!(recs.len(), 40, "shard {i} sends its quarter of 160");
        for r in &recs {
            assert_eq!(r["metadata"]["shard"]["index"], i);
            assert_eq!(r["metadata"]["shard"]["count"], n);
            assert!(r["metadata"]["shard"]["host"]
                .as_str()
                .is_some_and(|h| !h.is_empty()));
            assert!(r["error"].is_null(), "{r}");
        }
        per_shard_prompts.push(
            recs.iter()
                .map(|r| r["metadata"]["conversation_id"].as_str().unwrap().to_string())
                .collect(),
        );
        all.extend(recs);
    }
    assert_eq!(all.len(), single_recs.len());
    let ids: HashSet<&str> = all
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), all.len(), "a request id repeats across shards");
    let sessions: HashSet<u64> = all
        .iter()
        .map(|r| r["metadata"]["session_num"].as_u64().unwrap())
        .collect();
    assert_eq!(sessions.len(), all.len(), "a session_num repeats across shards");
    for (a, pa) in per_shard_prompts.iter().enumerate() {
        for pb in &per_shard_prompts[a + 1..] {
            assert!(pa.is_disjoint(pb), "two shards sent the same prompt");
        }
    }
    let union: HashSet<String> = per_shard_prompts.into_iter().flatten().collect();
    let single_prompts: HashSet<String> = single_recs
        .iter()
        .map(|r| r["metadata"]["conversation_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        union, single_prompts,
        "the shards together send the single run's dataset"
    );
    assert_eq!(union.len(), 40);

    // Start skew, from the run infos and from the records' first sends.
    let infos: Vec<PathBuf> = (1..=n)
        .map(|i| dir.path().join(format!("run_info_{i}.json")))
        .collect();
    let starts: Vec<u64> = infos
        .iter()
        .map(|p| read_json(p)["phases"]["profiling"]["start_ns"].as_u64().unwrap())
        .collect();
    let skew_ms = (starts.iter().max().unwrap() - starts.iter().min().unwrap()) as f64 / 1e6;
    let first_sends: Vec<u64> = (1..=n)
        .map(|i| {
            all.iter()
                .filter(|r| r["metadata"]["shard"]["index"] == i)
                .map(|r| r["metadata"]["request_start_ns"].as_u64().unwrap())
                .min()
                .unwrap()
        })
        .collect();
    let send_skew_ms = (first_sends.iter().max().unwrap() - first_sends.iter().min().unwrap()) as f64 / 1e6;
    eprintln!("shards: profiling start skew {skew_ms:.3} ms, first-send skew {send_skew_ms:.3} ms");
    // The common start is the program's: no shard starts or sends before it; how late each one
    // wakes is the operating system's (a few ms on an idle machine, a generous bound here).
    let (secs, ms) = start_at.split_once('.').unwrap();
    let at_ns = secs.parse::<u64>().unwrap() * 1_000_000_000 + ms.parse::<u64>().unwrap() * 1_000_000;
    for (what, t) in starts
        .iter()
        .map(|t| ("profiling start", t))
        .chain(first_sends.iter().map(|t| ("first send", t)))
    {
        let after_ms = *t as f64 / 1e6 - at_ns as f64 / 1e6;
        on_time(after_ms, 0.0, LATE_MS, &format!("{what} after --start-at"));
    }
    for p in &infos {
        let shard = &read_json(p)["shard"];
        assert_eq!(shard["start_at_ns"].as_u64(), Some(at_ns));
        on_time(
            shard["start_late_ms"].as_f64().unwrap(),
            0.0,
            LATE_MS,
            "start_late_ms",
        );
        assert_eq!(shard["clock"]["source"], "adjtimex");
        assert!(shard["clock"]["synchronized"].is_boolean());
        assert!(shard["clock"]["maximum_error_us"].is_u64());
    }
    let benchmark_ids: HashSet<String> = infos
        .iter()
        .map(|p| {
            read_json(p)["run_info"]["benchmark_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(benchmark_ids.len(), 1, "the shards share one benchmark id");

    // Merged by trial-agg vs the single process.
    let shard_files: Vec<PathBuf> = (1..=n)
        .map(|i| dir.path().join(format!("records_{i}.jsonl")))
        .collect();
    let refs: Vec<&Path> = shard_files.iter().map(PathBuf::as_path).collect();
    let merged: Value =
        serde_json::from_slice(&ok(trial_agg(&refs, &infos, &[]), "trial-agg of the shards").stdout).unwrap();
    let one: Value = serde_json::from_slice(
        &ok(
            trial_agg(
                &[&dir.path().join("records_single.jsonl")],
                &[dir.path().join("run_info_single.json")],
                &[],
            ),
            "trial-agg of the single run",
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(scalar(&merged, "request_count"), 160.0);
    assert_eq!(scalar(&one, "request_count"), 160.0);
    let shards = &merged["sweepkit"]["shards"];
    assert_eq!(shards["count"], n);
    assert_eq!(shards["merged"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(shards["missing"], serde_json::json!([]));
    assert_eq!(shards["clock_error_bound_ms"], 0.0, "one host, one clock");
    // The window is the union of the shards' windows.
    let window = &merged["sweepkit"]["throughput_window"];
    assert_eq!(window["start_ns"].as_u64(), starts.iter().min().copied());
    let ends: Vec<u64> = infos
        .iter()
        .map(|p| read_json(p)["phases"]["profiling"]["end_ns"].as_u64().unwrap())
        .collect();
    assert_eq!(window["end_ns"].as_u64(), ends.iter().max().copied());
    // The input config shows the benchmark's totals.
    let phase = &merged["input_config"]["phases"][0];
    assert_eq!(
        (phase["concurrency"].as_u64(), phase["requests"].as_u64()),
        (Some(8), Some(160))
    );
    // Same load, same server: both match the mock's fixed schedule (30 ms to the first token,
    // 8 tokens in 65 ms, 8 streams), never faster, late by a loaded machine's delays at most.
    for (what, s) in [("merged", &merged), ("one process", &one)] {
        check_the_schedule(s, 8, 65.0, what);
    }
}

/// A summary of a run against [`exact_mock`] (30 ms to the first token, then 5 ms a token) at
/// `concurrency` streams of requests lasting `request_ms`: TTFT and latency never below the
/// schedule, and at most [`LATE_MS`] above it; the throughput never above what the schedule
/// allows (`concurrency / request_ms`), nor below it with every request [`LATE_MS`] late.
fn check_the_schedule(s: &Value, concurrency: u64, request_ms: f64, what: &str) {
    let ttft = s["time_to_first_token"]["p50"].as_f64().unwrap();
    on_time(ttft, 30.0, LATE_MS, &format!("{what}: TTFT p50"));
    let lat = s["request_latency"]["p50"].as_f64().unwrap();
    on_time(lat, request_ms, LATE_MS, &format!("{what}: latency p50"));
    let thr = scalar(s, "request_throughput");
    let ceiling = concurrency as f64 / (request_ms / 1e3);
    let floor = concurrency as f64 / ((request_ms + LATE_MS) / 1e3);
    assert!(
        thr <= ceiling * (1.0 + 1e-9) && thr >= floor,
        "{what}: request throughput {thr}/s outside [{floor}, {ceiling}]"
    );
}

#[test]
fn shard_numbers_outside_one_to_n_are_refused() {
    for (shard, says) in [
        ("0/4", "numbered from 1"),
        ("3/2", "shard 3 of 2 does not exist"),
        ("x", "not I/N"),
    ] {
        let out = Command::new(bin("loadgen"))
            .args(["-m", "m", "--shard", shard])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--shard {shard}: {err}");
        assert!(
            err.contains("--shard") && err.contains(says),
            "--shard {shard}: {err}"
        );
    }
    // A split that leaves a shard without load names the flag.
    let out = Command::new(bin("loadgen"))
        .args([
            "-m",
            "m",
            "--concurrency",
            "2",
            "--shard",
            "1/4",
            "--url",
            "127.0.0.1:9",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--concurrency 2 cannot be split over 4 shards"),
        "{err}"
    );
}

#[test]
fn a_start_time_in_the_past_starts_now_and_says_how_late() {
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    let mut flags = load_flags(&mock.url());
    assert_eq!(flags[7], "--request-count");
    flags[8] = "8".into();
    let past = format!("{:.3}", epoch_s() - 60.0);
    let out = ok(
        spawn_loadgen(dir.path(), "late", &flags, &["--start-at", &past])
            .wait_with_output()
            .unwrap(),
        "loadgen with a past start",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--start-at: the start time passed") && err.contains("starting now"),
        "{err}"
    );
    let info = read_json(&dir.path().join("run_info_late.json"));
    let late = info["shard"]["start_late_ms"].as_f64().unwrap();
    assert!((60_000.0..120_000.0).contains(&late), "late by {late} ms");
    assert_eq!(info["shard"]["count"], 1);
    assert_eq!(records(&dir.path().join("records_late.jsonl")).len(), 8);
}

#[test]
fn trial_agg_refuses_shards_of_different_settings_and_names_a_missing_one() {
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    let mut flags = load_flags(&mock.url());
    assert_eq!(flags[7], "--request-count");
    flags[8] = "8".into();
    let at = format!("{:.3}", epoch_s());
    let mut other = flags.clone();
    assert_eq!(other[9], "--osl");
    other[10] = "9".into();
    let run = |tag: &str, shard: &str, flags: &[String]| {
        let args = ["--shard", shard, "--start-at", &at];
        ok(
            spawn_loadgen(dir.path(), tag, flags, &args)
                .wait_with_output()
                .unwrap(),
            "a shard",
        );
    };
    run("1", "1/2", &flags);
    run("2", "2/2", &flags);
    run("2b", "2/2", &other);
    let p = |name: &str| dir.path().join(name);

    // Different settings: refused, naming the setting and both shards.
    let out = trial_agg(
        &[&p("records_1.jsonl"), &p("records_2b.jsonl")],
        &[p("run_info_1.json"), p("run_info_2b.json")],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--osl is 8 in shard 1/2") && err.contains("9 in shard 2/2"),
        "{err}"
    );

    // A missing shard: named; merged only when allowed, with a warning.
    let out = trial_agg(&[&p("records_1.jsonl")], &[p("run_info_1.json")], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("shard 2/2 is missing") && err.contains("--allow-missing-shards"),
        "{err}"
    );
    let out = ok(
        trial_agg(
            &[&p("records_1.jsonl")],
            &[p("run_info_1.json")],
            &["--allow-missing-shards"],
        ),
        "trial-agg --allow-missing-shards",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("merging 1 of 2 shards"));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["sweepkit"]["shards"]["missing"], serde_json::json!([2]));
    assert_eq!(scalar(&s, "request_count"), 4.0);

    // The same shard twice is refused; both shards merge.
    let out = trial_agg(
        &[&p("records_2.jsonl")],
        &[p("run_info_2.json"), p("run_info_2b.json")],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("are both shard 2/2"));
    let out = ok(
        trial_agg(
            &[&p("records_1.jsonl"), &p("records_2.jsonl")],
            &[p("run_info_1.json"), p("run_info_2.json")],
            &[],
        ),
        "trial-agg of both shards",
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(scalar(&s, "request_count"), 8.0);
    assert_eq!(s["sweepkit"]["shards"]["clock_error_bound_ms"], 0.0);

    // Records checked against the run infos: a shard's records without its run info are refused
    // (naming the record's file:line and the shard) even with --allow-missing-shards...
    let out = trial_agg(
        &[&p("records_1.jsonl"), &p("records_2.jsonl")],
        &[p("run_info_1.json")],
        &["--allow-missing-shards"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("records_2.jsonl:1: a record of shard 2/2")
            && err.contains("whose run info was not given: add --run-info for shard 2/2"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| !l.contains("warning:")).count(),
        1,
        "one error line: {err}"
    );
    // ...and a request id seen twice (a file given twice) names both places.
    let out = trial_agg(
        &[
            &p("records_1.jsonl"),
            &p("records_2.jsonl"),
            &p("records_1.jsonl"),
        ],
        &[p("run_info_1.json"), p("run_info_2.json")],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let first = p("records_1.jsonl").display().to_string();
    assert!(
        err.contains(&format!("{first}:1: request id "))
            && err.contains(&format!("was already seen at {first}:1")),
        "{err}"
    );
    // Records without a shard tag (an unsharded run's, AIPerf's) do not belong to shards.
    let untagged = p("untagged.jsonl");
    let lines: Vec<String> = records(&p("records_1.jsonl"))
        .into_iter()
        .map(|mut r| {
            r["metadata"].as_object_mut().unwrap().remove("shard");
            r.to_string()
        })
        .collect();
    std::fs::write(&untagged, lines.join("\n") + "\n").unwrap();
    let out = trial_agg(
        &[&untagged, &p("records_2.jsonl")],
        &[p("run_info_1.json"), p("run_info_2.json")],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("untagged.jsonl:1: a record without a shard tag"),
        "{err}"
    );
    // The union of both shards' records is the same as the two files.
    let union = p("union.jsonl");
    let both = [p("records_1.jsonl"), p("records_2.jsonl")]
        .map(|f| std::fs::read_to_string(f).unwrap())
        .concat();
    std::fs::write(&union, both).unwrap();
    let out = ok(
        trial_agg(&[&union], &[p("run_info_1.json"), p("run_info_2.json")], &[]),
        "trial-agg of the union",
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(scalar(&s, "request_count"), 8.0);

    // The same shards as if on two hosts whose clocks may each be 20 ms off: a 40 ms bound
    // against a 30 ms TTFT p50 is warned about; unsynchronised, the bound is unknown.
    let on_host = |name: &str, host: &str, synchronized: bool| {
        let mut doc = read_json(&p(name));
        doc["shard"]["host"] = host.into();
        doc["shard"]["clock"]["synchronized"] = synchronized.into();
        doc["shard"]["clock"]["maximum_error_us"] = 20_000.into();
        let out = dir.path().join(format!("{host}_{name}"));
        std::fs::write(&out, doc.to_string()).unwrap();
        out
    };
    let recs = [p("records_1.jsonl"), p("records_2.jsonl")];
    let recs: Vec<&Path> = recs.iter().map(PathBuf::as_path).collect();
    for (synchronized, says) in [
        (true, "clock error bound across the shards' hosts (40.000 ms)"),
        (false, "not synchronised"),
    ] {
        let infos = [
            on_host("run_info_1.json", "node-a", synchronized),
            on_host("run_info_2.json", "node-b", synchronized),
        ];
        let out = ok(trial_agg(&recs, &infos, &[]), "trial-agg of two hosts");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
        let s: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(s["sweepkit"]["warnings"].to_string().contains(says));
    }
}

/// Every `profile_export_aiperf.json` below `root`, by its folder relative to `root`.
fn summaries(root: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "profile_export_aiperf.json") {
                let rel = p.parent().unwrap().strip_prefix(root).unwrap();
                out.push((rel.display().to_string(), read_json(&p)));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn profile(dir: &Path, out: &str, url: &str, extra: &[&str]) -> Output {
    crate::common::profile_cmd(dir)
        .args([
            "--model",
            "mock-model",
            "--url",
            url,
            "--streaming",
            "--concurrency",
            "2,4",
            "--request-count",
            "24",
            "--osl",
            "4",
            "--isl",
            "32",
            "--num-prompts",
            "8",
            "--extra-inputs",
            "ignore_eos:true",
            "--no-server-metrics",
            "--artifact-dir",
            out,
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn profile_runs_every_run_as_shards_and_the_aggregates_see_no_difference() {
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    ok(
        profile(
            dir.path(),
            "sharded",
            &mock.url(),
            &["--shards", "2", "--start-lead", "4"],
        ),
        "scripts/profile --shards 2",
    );
    ok(profile(dir.path(), "plain", &mock.url(), &[]), "scripts/profile");
    let sharded = summaries(&dir.path().join("sharded"));
    let plain = summaries(&dir.path().join("plain"));
    let folders = |v: &[(String, Value)]| v.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>();
    assert_eq!(folders(&sharded), folders(&plain));
    assert_eq!(sharded.len(), 2, "{:?}", folders(&sharded));
    for ((folder, s), (_, p)) in sharded.iter().zip(&plain) {
        // What the program decides is the same to the token: requests, prompts, answers, errors.
        for tag in [
            "request_count",
            "input_sequence_length",
            "output_sequence_length",
            "total_isl",
            "total_osl",
        ] {
            assert_eq!(s[tag]["avg"], p[tag]["avg"], "{folder}: {tag}");
        }
        assert_eq!(scalar(s, "request_count"), 24.0, "{folder}");
        assert_eq!(scalar(s, "output_sequence_length"), 4.0, "{folder}");
        assert_eq!(
            s.get("error_request_count"),
            p.get("error_request_count"),
            "{folder}"
        );
        // The times, against the mock's schedule (4 tokens: 30 + 3 x 5 ms), in both.
        let c = s["input_config"]["phases"][0]["concurrency"].as_u64().unwrap();
        check_the_schedule(s, c, 45.0, &format!("sharded {folder}"));
        check_the_schedule(p, c, 45.0, &format!("plain {folder}"));
        assert_eq!(
            s["sweepkit"]["shards"]["merged"],
            serde_json::json!([1, 2]),
            "{folder}"
        );
        assert_eq!(
            s["input_config"]["phases"][0]["concurrency"],
            p["input_config"]["phases"][0]["concurrency"]
        );
        let run = dir.path().join("sharded").join(folder);
        for i in 1..=2 {
            assert_eq!(
                records(&run.join(format!("shards/shard_{i}/profile_export.jsonl"))).len(),
                12
            );
        }
        assert_eq!(records(&run.join("profile_export.jsonl")).len(), 24);
        // The run's inputs.json: every shard's entries, in shard order, no session id twice.
        let ids = |p: &Path| -> Vec<String> {
            read_json(p)["data"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no data list", p.display()))
                .iter()
                .map(|e| e["session_id"].as_str().unwrap().to_string())
                .collect()
        };
        let shard_ids: Vec<String> = (1..=2)
            .flat_map(|i| ids(&run.join(format!("shards/shard_{i}/inputs.json"))))
            .collect();
        let merged_ids = ids(&run.join("inputs.json"));
        assert_eq!(merged_ids, shard_ids, "{folder}");
        assert_eq!(merged_ids.len(), 8, "{folder}: the 8 prompts dealt over 2 shards");
        assert_eq!(merged_ids.iter().collect::<HashSet<_>>().len(), 8);
    }
    // sweep-agg and pareto read the sharded sweep as any other: same files, same keys, the same
    // counts.
    let agg = |root: &str| {
        let base = std::fs::read_dir(dir.path().join(root))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let sweep = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
        assert!(base.join("sweep_aggregate/pareto.json").is_file());
        let keys: Vec<String> = sweep["per_combination_metrics"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let counts: Vec<(Value, Value)> = sweep["per_combination_metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["parameters"].clone(),
                    c["metrics"]["request_count"]["avg"].clone(),
                )
            })
            .collect();
        (sweep["metadata"]["num_successful_runs"].clone(), keys, counts)
    };
    assert_eq!(agg("sharded"), agg("plain"));
}

/// A stand-in for pdsh: runs the command once per host of `-w`, here, with `hostname` answering
/// that host's name (what each host's shard is found by), and exits with the worst status.
const PDSH_STUB: &str = r#"#!/usr/bin/env bash
set -u
hosts=""
while getopts "Sw:" o; do case $o in w) hosts=$OPTARG ;; *) ;; esac; done
shift $((OPTIND - 1))
IFS=, read -r -a hs <<<"$hosts"
pids=()
for h in "${hs[@]}"; do
  mkdir -p "$STUB_DIR/$h"
  printf '#!/bin/sh\necho %s\n' "$h" >"$STUB_DIR/$h/hostname"
  chmod +x "$STUB_DIR/$h/hostname"
  PATH="$STUB_DIR/$h:$PATH" sh -c "$*" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || { r=$?; [ "$r" -le "$rc" ] || rc=$r; }; done
exit "$rc"
"#;

#[test]
fn the_pdsh_launcher_runs_one_shard_per_host_on_a_shared_folder() {
    use std::os::unix::fs::PermissionsExt;
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("stub");
    std::fs::create_dir(&stub).unwrap();
    std::fs::write(stub.join("pdsh"), PDSH_STUB).unwrap();
    std::fs::set_permissions(stub.join("pdsh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let spec = serde_json::json!({"loadgen": {"url": mock.url(), "model": "mock-model", "streaming": true,
        "concurrency": 4, "request_count": 20, "osl": 4, "isl": 32, "num_prompts": 8,
        "extra_inputs": {"ignore_eos": true}, "ui": "none"}});
    let run = dir.path().join("run");
    let mut child = Command::new(repo_root().join("scripts/run-shards"))
        .args([
            "--launcher",
            "pdsh",
            "--hosts",
            "node[1-2]",
            "--start-lead",
            "4",
            "--remote-loadgen",
        ])
        .arg(bin("loadgen"))
        .arg(&run)
        .env(
            "PATH",
            format!("{}:{}", stub.display(), std::env::var("PATH").unwrap()),
        )
        .env("STUB_DIR", &stub)
        .env("SWEEPKIT_BIN_DIR", bin("trial-agg").parent().unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{spec}").unwrap();
    }
    ok(child.wait_with_output().unwrap(), "run-shards --launcher pdsh");
    let infos: Vec<PathBuf> = (1..=2)
        .map(|i| run.join(format!("shards/shard_{i}/run_info.json")))
        .collect();
    for (i, p) in infos.iter().enumerate() {
        assert_eq!(read_json(p)["shard"]["index"], i + 1);
    }
    assert!(run.join("run_info.json").is_file());
    assert_eq!(
        read_json(&run.join("inputs.json"))["data"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let merged: Value = serde_json::from_slice(
        &ok(
            trial_agg(&[&run.join("profile_export.jsonl")], &infos, &[]),
            "trial-agg",
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(scalar(&merged, "request_count"), 20.0);

    // A host list that does not match the shard count is refused before anything runs.
    let out = Command::new(repo_root().join("scripts/run-shards"))
        .args(["--launcher", "pdsh", "--hosts", "node[1-2]", "--shards", "3"])
        .arg(dir.path().join("other"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one shard per host"));
}

/// `kubectl <verb> --local -f FILE ... -o json`: offline, no cluster (KUBECONFIG points nowhere).
fn kubectl_local(file: &Path, verb: &[&str]) -> Value {
    let out = Command::new("kubectl")
        .args(verb)
        .arg("--local")
        .arg("-f")
        .arg(file)
        .args(["-o", "json"])
        .env("KUBECONFIG", "/dev/null")
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl {verb:?} --local rejects the manifest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_kubernetes_job_renders_decodes_and_its_pod_script_runs_the_shards() {
    require_tool("kubectl", "--help", "kubernetes-client");
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    let loadgen_args = [
        "--url",
        &mock.url(),
        "-m",
        "mock-model",
        "--streaming",
        "--concurrency",
        "4",
        "--request-count",
        "20",
        "--osl",
        "4",
        "--isl",
        "32",
        "--num-prompts",
        "8",
        "--extra-inputs",
        r#"{"ignore_eos": true, "note": "a \"quoted\" & spaced\\value"}"#,
    ];
    let out = ok(
        Command::new(repo_root().join("deploy/kubernetes/run"))
            .args([
                "--shards",
                "2",
                "--image",
                "registry.example/sweepkit:1",
                "--name",
                "bench-a",
            ])
            .args(["--start-lead", "4", "--hold-seconds", "0", "--render-only", "--"])
            .args(loadgen_args)
            .output()
            .unwrap(),
        "deploy/kubernetes/run --render-only",
    );
    let manifest = dir.path().join("job.yaml");
    std::fs::write(&manifest, &out.stdout).unwrap();

    // Typed decode into Kubernetes' own Job type (a wrong type or quantity fails here)...
    let typed = kubectl_local(&manifest, &["set", "env", "SWEEPKIT_CHECK=1"]);
    assert_eq!(typed["kind"], "Job");
    // ...and the document as written, for its structure.
    let job = kubectl_local(&manifest, &["label", "sweepkit-check=1"]);
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["metadata"]["name"], "bench-a");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(
        (spec["completions"].as_u64(), spec["parallelism"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(spec["backoffLimit"], 0);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "registry.example/sweepkit:1");
    assert_eq!(
        typed["spec"]["template"]["spec"]["containers"][0]["args"],
        c["args"]
    );
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, loadgen_args, "the loadgen flags reach the pod verbatim");
    let key = &c["env"][0];
    assert_eq!(key["name"], "OPENAI_API_KEY");
    assert_eq!(key["valueFrom"]["secretKeyRef"]["optional"], true);
    let script = c["command"][2].as_str().unwrap();
    assert_eq!(c["command"][0], "/bin/sh");
    assert!(script.contains("i=$((JOB_COMPLETION_INDEX + 1))"), "{script}");
    assert!(script.contains("--shard \"$i/2\" --start-at "), "{script}");
    assert!(!script.contains("${"), "a placeholder was left: {script}");

    // The pod's script, run as Kubernetes would run it for indices 0 and 1 (its /results here).
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let local = script.replace("/results", &results.display().to_string());
    let path = format!(
        "{}:{}",
        bin("loadgen").parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let pods: Vec<_> = (0..2)
        .map(|index| {
            Command::new("/bin/sh")
                .arg("-c")
                .arg(&local)
                .arg(c["command"][3].as_str().unwrap())
                .args(&args)
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .env("PATH", &path)
                .env_remove("OPENAI_API_KEY")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for p in pods {
        ok(p.wait_with_output().unwrap(), "the pod script");
    }
    let infos: Vec<PathBuf> = (1..=2)
        .map(|i| results.join(format!("shard_{i}/run_info.json")))
        .collect();
    for i in 1..=2 {
        assert_eq!(
            std::fs::read_to_string(results.join(format!("shard_{i}/exit_status"))).unwrap(),
            "0\n"
        );
    }
    let recs: Vec<PathBuf> = (1..=2)
        .map(|i| results.join(format!("shard_{i}/profile_export.jsonl")))
        .collect();
    let refs: Vec<&Path> = recs.iter().map(PathBuf::as_path).collect();
    let merged: Value =
        serde_json::from_slice(&ok(trial_agg(&refs, &infos, &[]), "trial-agg").stdout).unwrap();
    assert_eq!(scalar(&merged, "request_count"), 20.0);
    assert_eq!(merged["sweepkit"]["shards"]["count"], 2);
}

/// A stand-in for ssh: notes its whole command line and the host, then runs the command here
/// under sh with ssh's stdin.
const SSH_STUB: &str = r#"#!/usr/bin/env bash
printf 'ssh %s\n' "$*" >>"$STUB_DIR/argv.txt"
while [ "$1" = -o ]; do shift 2; done
host=$1
shift
echo "$host" >>"$STUB_DIR/hosts.txt"
exec sh -c "$*"
"#;

#[test]
fn the_ssh_launcher_brings_each_shards_files_back_and_keeps_the_key_off_command_lines() {
    use std::os::unix::fs::PermissionsExt;
    let mock = MockServer::start(&["--ttft-ms", "5", "--itl-ms", "1", "--api-key", "sk-shh"]);
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("stub");
    std::fs::create_dir(&stub).unwrap();
    std::fs::write(stub.join("ssh"), SSH_STUB).unwrap();
    std::fs::set_permissions(stub.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let spec = serde_json::json!({"loadgen": {"url": mock.url(), "model": "mock-model", "streaming": true,
        "concurrency": 3, "request_count": 30, "osl": 4, "isl": 32, "num_prompts": 9, "ui": "none"}});
    let run = dir.path().join("run");
    let mut child = Command::new(repo_root().join("scripts/run-shards"))
        .args([
            "--launcher",
            "ssh",
            "--hosts",
            "a,b",
            "--shards",
            "3",
            "--start-lead",
            "4",
        ])
        .arg("--remote-loadgen")
        .arg(bin("loadgen"))
        .arg(&run)
        .env(
            "PATH",
            format!("{}:{}", stub.display(), std::env::var("PATH").unwrap()),
        )
        .env("STUB_DIR", &stub)
        .env("SWEEPKIT_BIN_DIR", bin("trial-agg").parent().unwrap())
        .env("OPENAI_API_KEY", "sk-shh")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{spec}").unwrap();
    }
    ok(child.wait_with_output().unwrap(), "run-shards --launcher ssh");
    let mut hosts: Vec<String> = std::fs::read_to_string(stub.join("hosts.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    hosts.sort();
    assert_eq!(hosts, ["a", "a", "b"], "three shards round robin over two hosts");
    // What a process listing on either machine shows: ssh's command line, with the remote
    // loadgen's, never the key (it travels on ssh's stdin).
    let argv = std::fs::read_to_string(stub.join("argv.txt")).unwrap();
    assert_eq!(argv.lines().count(), 3, "{argv}");
    for l in argv.lines() {
        assert!(l.contains(bin("loadgen").to_str().unwrap()), "{l}");
        assert!(!l.contains("sk-shh"), "the key on a command line: {l}");
    }
    let infos: Vec<PathBuf> = (1..=3)
        .map(|i| run.join(format!("shards/shard_{i}/run_info.json")))
        .collect();
    let merged: Value = serde_json::from_slice(
        &ok(
            trial_agg(&[&run.join("profile_export.jsonl")], &infos, &[]),
            "trial-agg",
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(scalar(&merged, "request_count"), 30.0);
    let recs = records(&run.join("profile_export.jsonl"));
    assert!(
        recs.iter().all(|r| r["error"].is_null()),
        "the key reached every shard"
    );
    for p in infos {
        assert!(!std::fs::read_to_string(p).unwrap().contains("sk-shh"));
    }
}

#[test]
fn records_without_shards_merge_as_before() {
    let aiperf = crate::common::fixtures_dir().join("a_single_c8_n200");
    let records = aiperf.join("profile_export.jsonl");
    // AIPerf's own records (no shard tag) with its own summary as the run info: summarised.
    let out = ok(
        trial_agg(&[&records], &[aiperf.join("profile_export_aiperf.json")], &[]),
        "trial-agg of AIPerf's records",
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(scalar(&s, "request_count"), 200.0);
    assert!(s["sweepkit"]["shards"].is_null());
    // Unsharded records in several files, no run info: merged, even an id given twice (as before).
    let out = ok(
        trial_agg(&[&records, &records], &[], &[]),
        "trial-agg of two files",
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(scalar(&s, "request_count"), 400.0);
}
