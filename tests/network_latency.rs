//! AIPerf's network-latency calibration: loadgen's TCP-handshake probe
//! (`--network-latency-automatic`, its samples file) and trial-agg's `network_adjusted_*` and
//! `network_rtt` metrics, from a hand-made fixture and end to end against mock-llm.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{bin, jsonl, loadgen, ok, read_json, stderr, MockServer};

/// The fixture's first record's start: the hand-made records sit 100 ms apart from here.
const T0: u64 = 1_700_000_000_000_000_000;

fn fixture(name: &str) -> PathBuf {
    crate::common::repo_root()
        .join("tests/fixtures/network_latency")
        .join(name)
}

/// A sweepkit run info over the fixture's profiling records, with `network_latency` as given.
fn run_info(dir: &Path, network_latency: Value) -> PathBuf {
    let p = dir.join("run_info.json");
    let doc = json!({"schema": "sweepkit.run_info/1",
        "input_config": {"network_latency": network_latency},
        "phases": {"profiling": {"start_ns": T0 + 100_000_000, "end_ns": T0 + 500_000_000, "requests": 5}}});
    std::fs::write(&p, doc.to_string()).unwrap();
    p
}

fn trial_agg(args: &[&str]) -> std::process::Output {
    Command::new(bin("trial-agg")).args(args).output().unwrap()
}

fn summary(out: &std::process::Output) -> Value {
    ok(out, "trial-agg");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Checks the fixture's adjusted metrics: each latency minus the 2.5 ms round trip, clamped at 0,
/// worked out by hand (request latency 1, 2.5, 22.5, 22.5 ms → 0, 0, 20, 20; TTFT 0.5, 2, 5, 12.5
/// → 0, 0, 2.5, 10; TTFO 1.5, 3, 6, 13.5 → 0, 0.5, 3.5, 11); the warmup record (1 s) and the error
/// record are in none of them, and the raw metrics are untouched.
fn assert_fixture_metrics(doc: &Value) {
    let rl = &doc["network_adjusted_request_latency"];
    for (stat, want) in [
        ("avg", 10.0),
        ("min", 0.0),
        ("max", 20.0),
        ("sum", 40.0),
        ("std", 10.0),
        ("p1", 0.0),
        ("p25", 0.0),
        ("p50", 10.0),
        ("p75", 20.0),
        ("p99", 20.0),
    ] {
        assert_eq!(
            rl[stat],
            json!(want),
            "network_adjusted_request_latency.{stat}: {rl}"
        );
    }
    assert_eq!(rl["count"], 4);
    assert_eq!(rl["unit"], "ms");
    let ttft = &doc["network_adjusted_time_to_first_token"];
    for (stat, want) in [
        ("avg", 3.125),
        ("min", 0.0),
        ("max", 10.0),
        ("sum", 12.5),
        ("p50", 1.25),
    ] {
        assert_eq!(
            ttft[stat],
            json!(want),
            "network_adjusted_time_to_first_token.{stat}: {ttft}"
        );
    }
    let ttfo = &doc["network_adjusted_time_to_first_output_token"];
    for (stat, want) in [
        ("avg", 3.75),
        ("min", 0.0),
        ("max", 11.0),
        ("sum", 15.0),
        ("p50", 2.0),
    ] {
        assert_eq!(
            ttfo[stat],
            json!(want),
            "network_adjusted_time_to_first_output_token.{stat}: {ttfo}"
        );
    }
    let rtt = &doc["network_rtt"];
    for stat in ["avg", "min", "max", "sum", "p1", "p50", "p99"] {
        assert_eq!(rtt[stat], json!(2.5), "network_rtt.{stat}: {rtt}");
    }
    assert_eq!(
        (rtt["std"].clone(), rtt["count"].clone(), rtt["unit"].clone()),
        (json!(0.0), json!(1), json!("ms"))
    );
    assert_eq!(
        doc["request_latency"]["max"],
        json!(22.5),
        "the raw metric stays raw"
    );
    assert!(doc.get("network_adjusted_inter_token_latency").is_none());
}

#[test]
fn probe_samples_give_exact_adjusted_metrics_from_a_hand_made_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let info = run_info(tmp.path(), json!({"enabled": true, "ping_interval": 1.0}));
    let samples = fixture("profile_export_network_latency.jsonl");
    let out_dir = tmp.path().join("out");
    let o = trial_agg(&[
        "--format",
        "json",
        "--run-info",
        info.to_str().unwrap(),
        "--network-latency",
        samples.to_str().unwrap(),
        "--output-dir",
        out_dir.to_str().unwrap(),
        fixture("profile_export.jsonl").to_str().unwrap(),
    ]);
    let doc = summary(&o);
    assert_fixture_metrics(&doc);
    assert_eq!(
        read_json(&out_dir.join("profile_export_aiperf.json"))["network_rtt"]["avg"],
        json!(2.5)
    );
    let csv = std::fs::read_to_string(out_dir.join("profile_export_aiperf.csv")).unwrap();
    for header in [
        "Network-Adjusted Request Latency (ms),10.00,",
        "Network-Adjusted Time to First Token (ms),3.1",
        "Network-Adjusted Time to First Output Token (ms),3.75,",
        "Network RTT (ms),2.50,",
    ] {
        assert!(
            csv.lines().any(|l| l.starts_with(header)),
            "{header} in the CSV:\n{csv}"
        );
    }
}

#[test]
fn a_fixed_mean_in_the_run_info_is_subtracted_without_samples_and_wins_over_them() {
    let tmp = tempfile::tempdir().unwrap();
    let info = run_info(
        tmp.path(),
        json!({"enabled": true, "ping_interval": 1.0, "mean_ms": 2.5}),
    );
    let records = fixture("profile_export.jsonl");
    let doc = summary(&trial_agg(&[
        "--format",
        "json",
        "--run-info",
        info.to_str().unwrap(),
        records.to_str().unwrap(),
    ]));
    assert_fixture_metrics(&doc);
    // A samples file with another mean (a 40 ms probe) is ignored, with a warning, as in AIPerf.
    let other = tmp.path().join("samples.jsonl");
    std::fs::write(&other, r#"{"timestamp_ns":1,"target_url":"http://h:1","target_host":"h","target_port":1,"probe_type":"tcp_connect","rtt_ns":40000000,"success":true}"#.to_owned() + "\n").unwrap();
    let o = trial_agg(&[
        "--format",
        "json",
        "--run-info",
        info.to_str().unwrap(),
        "--network-latency",
        other.to_str().unwrap(),
        records.to_str().unwrap(),
    ]);
    assert_fixture_metrics(&summary(&o));
    assert!(
        stderr(&o).contains("--network-latency: ignored, the run info sets a fixed round trip of 2.5 ms"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn no_round_trip_means_no_adjusted_metrics_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let records = fixture("profile_export.jsonl");
    // Probing ran, but the samples were not given.
    let info = run_info(tmp.path(), json!({"enabled": true, "ping_interval": 1.0}));
    let o = trial_agg(&[
        "--format",
        "json",
        "--run-info",
        info.to_str().unwrap(),
        records.to_str().unwrap(),
    ]);
    let doc = summary(&o);
    assert!(doc.get("network_rtt").is_none() && doc.get("network_adjusted_request_latency").is_none());
    assert!(
        stderr(&o).contains("no --network-latency FILE was given"),
        "{}",
        stderr(&o)
    );
    // Every probe failed.
    let failed = tmp.path().join("failed.jsonl");
    let line = std::fs::read_to_string(fixture("profile_export_network_latency.jsonl")).unwrap();
    std::fs::write(&failed, line.lines().nth(1).unwrap().to_owned() + "\n").unwrap();
    let o = trial_agg(&[
        "--format",
        "json",
        "--network-latency",
        failed.to_str().unwrap(),
        records.to_str().unwrap(),
    ]);
    assert!(summary(&o).get("network_rtt").is_none());
    assert!(
        stderr(&o).contains("none of its 1 probes succeeded"),
        "{}",
        stderr(&o)
    );
    // Not asked for: nothing, silently.
    let o = trial_agg(&["--format", "json", records.to_str().unwrap()]);
    assert!(summary(&o).get("network_rtt").is_none());
    assert!(!stderr(&o).contains("network"), "{}", stderr(&o));
}

/// The samples file's lines, and the run info, of one loadgen run against `mock`.
fn probed_run(mock: &MockServer, dir: &Path, extra: &[&str]) -> (Vec<Value>, Value) {
    let records = dir.join("profile_export.jsonl");
    let info = dir.join("run_info.json");
    let url = mock.url();
    let mut args = vec![
        "--url",
        &url,
        "-m",
        "mock-model",
        "--streaming",
        "--ui",
        "none",
        "--osl",
        "4",
        "--isl",
        "16",
        "--extra-inputs",
        "ignore_eos:true",
        "--concurrency",
        "2",
        "--network-latency-automatic",
        "-o",
        records.to_str().unwrap(),
        "--run-info-out",
        info.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(loadgen(&args), "loadgen --network-latency-automatic");
    (
        jsonl(&dir.join("profile_export_network_latency.jsonl")),
        read_json(&info),
    )
}

/// With a ping interval longer than the run only the probe at the start fires; the top-up then
/// brings the successful samples to exactly AIPerf's 5, after the profiling phase. trial-agg
/// subtracts their mean from every request's latencies.
#[test]
fn a_short_run_is_topped_up_to_five_probes_and_trial_agg_adjusts_by_their_mean() {
    let mock = MockServer::fixed("20", "2", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let (samples, info) = probed_run(
        &mock,
        tmp.path(),
        &["--request-count", "6", "--network-latency-ping-interval", "600"],
    );
    assert_eq!(
        samples.len(),
        5,
        "one probe at the start, four to top up: {samples:?}"
    );
    let port: u64 = mock.addr.rsplit(':').next().unwrap().parse().unwrap();
    let (start, end) = (
        info["phases"]["profiling"]["start_ns"].as_u64().unwrap(),
        info["phases"]["profiling"]["end_ns"].as_u64().unwrap(),
    );
    for (i, s) in samples.iter().enumerate() {
        assert_eq!(s["success"], true, "{s}");
        assert_eq!(s["probe_type"], "tcp_connect");
        assert_eq!(
            (s["target_host"].as_str(), s["target_port"].as_u64()),
            (Some("127.0.0.1"), Some(port))
        );
        assert_eq!(s["target_url"], json!(mock.url()));
        let rtt = s["rtt_ns"].as_u64().unwrap();
        assert!(rtt > 0 && rtt < 5_000_000_000, "within the connect timeout: {s}");
        let ts = s["timestamp_ns"].as_u64().unwrap();
        // The first during profiling; the top-up once the profiling phase has ended.
        let after = if i == 0 { start } else { end };
        assert!(ts >= after, "probe {i} at {ts}, not before {after}");
    }
    assert_eq!(
        info["input_config"]["network_latency"],
        json!({"enabled": true, "ping_interval": 600.0})
    );

    let rtts: Vec<f64> = samples.iter().map(|s| s["rtt_ns"].as_f64().unwrap()).collect();
    let mean_ms = rtts.iter().sum::<f64>() / rtts.len() as f64 / 1e6;
    let o = trial_agg(&[
        "--format",
        "json",
        "--run-info",
        tmp.path().join("run_info.json").to_str().unwrap(),
        "--network-latency",
        tmp.path()
            .join("profile_export_network_latency.jsonl")
            .to_str()
            .unwrap(),
        tmp.path().join("profile_export.jsonl").to_str().unwrap(),
    ]);
    let doc = summary(&o);
    let rtt = doc["network_rtt"]["avg"].as_f64().unwrap();
    assert!(
        (rtt - mean_ms).abs() <= 1e-12 * mean_ms.max(1.0),
        "network_rtt {rtt} ms = the samples' mean {mean_ms} ms"
    );
    for (adjusted, raw) in [
        ("network_adjusted_request_latency", "request_latency"),
        ("network_adjusted_time_to_first_token", "time_to_first_token"),
        (
            "network_adjusted_time_to_first_output_token",
            "time_to_first_output_token",
        ),
    ] {
        if doc[raw].is_null() {
            // loadgen writes no TTFO without reasoning tokens: nothing to shift.
            assert!(doc[adjusted].is_null(), "{adjusted} without {raw}");
            continue;
        }
        assert_eq!(
            doc[adjusted]["count"], doc[raw]["count"],
            "{adjusted}: every request"
        );
        // The mock's 20 ms TTFT is far above a loopback round trip: a pure shift, no clamping.
        for stat in ["avg", "min", "max", "p50", "p99"] {
            let (a, r) = (
                doc[adjusted][stat].as_f64().unwrap(),
                doc[raw][stat].as_f64().unwrap(),
            );
            assert!(
                (a - (r - rtt)).abs() < 1e-9,
                "{adjusted}.{stat} {a} = {raw} {r} − {rtt}"
            );
        }
    }
}

/// At a 50 ms interval over a 1 s run the probe fires about every 50 ms while profiling: never
/// more often than asked (the probes stamped before the phase ended, at most one per interval
/// since it started, plus the first), and not far fewer (a generous late bound: a quarter of the
/// 20 due, which the top-up after the phase cannot supply).
#[test]
fn probes_follow_the_ping_interval_during_profiling() {
    let mock = MockServer::fixed("5", "1", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let (samples, info) = probed_run(
        &mock,
        tmp.path(),
        &[
            "--benchmark-duration",
            "1",
            "--network-latency-ping-interval",
            "0.05",
        ],
    );
    let start = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
    let end = info["phases"]["profiling"]["end_ns"].as_u64().unwrap();
    let during: Vec<u64> = samples
        .iter()
        .map(|s| s["timestamp_ns"].as_u64().unwrap())
        .filter(|&ts| ts <= end)
        .collect();
    assert!(
        during.iter().all(|&ts| ts >= start),
        "no probe before profiling: {during:?}"
    );
    let due = ((end - start) as f64 / 50e6).floor() as usize + 1;
    assert!(
        during.len() <= due,
        "{} probes in {} ms at 50 ms: never early",
        during.len(),
        (end - start) / 1_000_000
    );
    assert!(
        during.len() >= 5,
        "a quarter of the 20 due, at least: {}",
        during.len()
    );
    assert!(samples.iter().all(|s| s["success"] == true), "{samples:?}");
}

/// Ctrl-C stops the probe with the run, without the top-up: a run interrupted after the first
/// probe (a 600 s interval) keeps exactly that one sample, and loadgen exits 130 at once.
#[test]
fn ctrl_c_stops_the_probe_without_topping_up() {
    let mock = MockServer::fixed("5", "1", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let samples = tmp.path().join("profile_export_network_latency.jsonl");
    let url = mock.url();
    let mut child = Command::new(bin("loadgen"))
        .args([
            "--url",
            &url,
            "-m",
            "mock-model",
            "--streaming",
            "--ui",
            "none",
            "--osl",
            "4",
            "--isl",
            "16",
            "--concurrency",
            "1",
            "--benchmark-duration",
            "60",
            "--benchmark-grace-period",
            "5",
            "--network-latency-automatic",
            "--network-latency-ping-interval",
            "600",
            "-o",
            tmp.path().join("profile_export.jsonl").to_str().unwrap(),
        ])
        .env_remove("OPENAI_API_KEY")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while std::fs::read_to_string(&samples).map_or(true, |t| t.lines().count() < 1) {
        assert!(t0.elapsed() < Duration::from_secs(30), "no probe within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t1 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(20),
            "loadgen still running 20 s after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let lines = jsonl(&samples);
    assert_eq!(lines.len(), 1, "no top-up after Ctrl-C: {lines:?}");
    assert_eq!(lines[0]["success"], true);
}

/// `scripts/profile --network-latency-automatic`: each run's probe writes its samples into the
/// run's folder, trial-agg takes them, and the adjusted metrics reach the sweep aggregate.
#[test]
fn a_sweep_probes_every_run_and_aggregates_the_adjusted_metrics() {
    let mock = MockServer::fixed("10", "1", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::common::profile_cmd(tmp.path())
        .args([
            "--model",
            "mock",
            "--url",
            &mock.url(),
            "--streaming",
            "--concurrency",
            "1,2",
        ])
        .args([
            "--request-count",
            "4",
            "--isl",
            "16",
            "--osl",
            "4",
            "--ui",
            "none",
        ])
        .args([
            "--network-latency-automatic",
            "--network-latency-ping-interval",
            "600",
        ])
        .output()
        .unwrap();
    ok(&out, "scripts/profile --network-latency-automatic");
    let base = tmp.path().join("artifacts/mock-openai-chat-concurrency_sweep");
    let sweep = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let per = sweep["per_combination_metrics"].as_array().unwrap();
    for (i, c) in ["1", "2"].iter().enumerate() {
        let run = base.join(format!("concurrency_{c}"));
        let samples = jsonl(&run.join("profile_export_network_latency.jsonl"));
        assert_eq!(
            samples.len(),
            5,
            "concurrency {c}: the start probe and the top-up"
        );
        let mean_ms = samples.iter().map(|s| s["rtt_ns"].as_f64().unwrap()).sum::<f64>() / 5.0 / 1e6;
        let summary = read_json(&run.join("profile_export_aiperf.json"));
        let rtt = summary["network_rtt"]["avg"].as_f64().unwrap();
        assert!(
            (rtt - mean_ms).abs() <= 1e-12 * mean_ms.max(1.0),
            "concurrency {c}: {rtt} ms vs {mean_ms} ms"
        );
        assert_eq!(
            per[i]["parameters"]["concurrency"],
            json!(c.parse::<u64>().unwrap())
        );
        for key in [
            "network_rtt_avg",
            "network_adjusted_time_to_first_token_p99",
            "network_adjusted_request_latency_avg",
        ] {
            let (tag, stat) = key.rsplit_once('_').unwrap();
            assert_eq!(
                per[i]["metrics"][key]["mean"], summary[tag][stat],
                "concurrency {c}: {key}: {:#}",
                per[i]["metrics"]
            );
        }
    }
}

/// A samples file of successful probes, each `rtt_ms`.
fn samples_file(path: &Path, rtt_ms: &[f64]) {
    let lines: Vec<String> = rtt_ms
        .iter()
        .enumerate()
        .map(|(i, ms)| {
            json!({"timestamp_ns": T0 + i as u64, "target_url": "http://127.0.0.1:1",
                "target_host": "127.0.0.1", "target_port": 1, "probe_type": "tcp_connect",
                "rtt_ns": (ms * 1e6) as u64, "success": true})
            .to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Two loadgen shards (one after the other) of one benchmark against `mock`, in `dir`/shard_I;
/// returns each shard's run info and records paths.
fn two_shards(mock: &MockServer, dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let url = mock.url();
    (1..=2)
        .map(|i| {
            let d = dir.join(format!("shard_{i}"));
            std::fs::create_dir_all(&d).unwrap();
            let (records, info) = (d.join("profile_export.jsonl"), d.join("run_info.json"));
            let shard = format!("{i}/2");
            ok(
                loadgen(&[
                    "--url",
                    &url,
                    "-m",
                    "mock-model",
                    "--streaming",
                    "--ui",
                    "none",
                    "--osl",
                    "4",
                    "--isl",
                    "16",
                    "--extra-inputs",
                    "ignore_eos:true",
                    "--concurrency",
                    "2",
                    "--request-count",
                    "12",
                    "--random-seed",
                    "3",
                    "--shard",
                    &shard,
                    "-o",
                    records.to_str().unwrap(),
                    "--run-info-out",
                    info.to_str().unwrap(),
                ]),
                "loadgen --shard",
            );
            (info, records)
        })
        .collect()
}

/// trial-agg over the shards' run infos and records with `extra` flags between them.
fn merge_shards(shards: &[(PathBuf, PathBuf)], extra: &[&Path]) -> std::process::Output {
    let mut c = Command::new(bin("trial-agg"));
    for (info, _) in shards {
        c.arg("--run-info").arg(info);
    }
    for f in extra {
        c.arg("--network-latency").arg(f);
    }
    c.args(["--format", "json"]);
    c.args(shards.iter().map(|(_, r)| r));
    c.output().unwrap()
}

/// numpy's avg, min, max and p50 (linear) of `v`, ms.
fn stats_of(mut v: Vec<f64>) -> [f64; 4] {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let pos = 0.5 * (n - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let p50 = v[lo] + (v[hi] - v[lo]) * (pos - lo as f64);
    [v.iter().sum::<f64>() / n as f64, v[0], v[n - 1], p50]
}

fn assert_stats(doc: &Value, tag: &str, want: [f64; 4], what: &str) {
    for (stat, w) in ["avg", "min", "max", "p50"].iter().zip(want) {
        let got = doc[tag][stat]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}: no {tag}.{stat}: {doc:#}"));
        assert!(
            (got - w).abs() < 1e-6,
            "{what}: {tag}.{stat} {got} ms, want {w} ms"
        );
    }
}

/// A sharded merge is AIPerf runs on different hosts: shard 1's records lose shard 1's round trip
/// (2 ms), shard 2's lose shard 2's (10 ms), not a pooled mean; the k-th --network-latency is the
/// k-th --run-info's, so swapping the files swaps the round trips; the merged `network_rtt` is the
/// mean of the round trips applied, per record, and the shards block names each shard's.
#[test]
fn each_shards_records_are_adjusted_by_its_own_round_trip() {
    let mock = MockServer::fixed("30", "5", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let shards = two_shards(&mock, tmp.path());
    let (near, far) = (tmp.path().join("near.jsonl"), tmp.path().join("far.jsonl"));
    samples_file(&near, &[1.0, 3.0]);
    samples_file(&far, &[10.0, 9.0, 11.0]);
    for (files, rtts) in [([&near, &far], [2.0, 10.0]), ([&far, &near], [10.0, 2.0])] {
        let doc = summary(&merge_shards(&shards, &[files[0], files[1]]));
        let what = format!("round trips {rtts:?}");
        let mut adjusted = (Vec::new(), Vec::new());
        let mut applied = Vec::new();
        for ((_, recs), rtt) in shards.iter().zip(rtts) {
            for r in jsonl(recs) {
                let ms = |t: &str| r["metrics"][t]["value"].as_f64().unwrap();
                adjusted.0.push((ms("time_to_first_token") - rtt).max(0.0));
                adjusted.1.push((ms("request_latency") - rtt).max(0.0));
                applied.push(rtt);
            }
        }
        assert_eq!(applied.len(), 12, "{what}: every request adjusted once");
        assert_stats(
            &doc,
            "network_adjusted_time_to_first_token",
            stats_of(adjusted.0),
            &what,
        );
        assert_stats(
            &doc,
            "network_adjusted_request_latency",
            stats_of(adjusted.1),
            &what,
        );
        let mean = applied.iter().sum::<f64>() / applied.len() as f64;
        assert_stats(&doc, "network_rtt", [mean; 4], &what);
        assert_eq!(doc["network_rtt"]["count"], 1, "{what}");
        assert_eq!(doc["sweepkit"]["shards"]["network_rtt_ms"], json!(rtts), "{what}");
    }
}

/// Each shard needs its own samples: a count that does not pair with the run infos is a one-line
/// error (exit 2); a shard whose probes all failed leaves the merge unadjusted, saying which; one
/// file for one unsharded run still works, and several for it are refused.
#[test]
fn a_sharded_merge_refuses_unpaired_samples_and_names_a_shard_without_a_round_trip() {
    let mock = MockServer::fixed("30", "5", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let shards = two_shards(&mock, tmp.path());
    let good = tmp.path().join("good.jsonl");
    samples_file(&good, &[2.0]);
    let o = merge_shards(&shards, &[&good]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with("trial-agg: --network-latency given 1 times for 2 --run-info files")
            && e.contains("one per --run-info in the same order")
            && e.lines().count() == 1,
        "{e}"
    );
    let failed = tmp.path().join("failed.jsonl");
    std::fs::write(&failed, r#"{"timestamp_ns":1,"target_url":"http://127.0.0.1:1","target_host":"127.0.0.1","target_port":1,"probe_type":"tcp_connect","success":false,"error":{"type":"ConnectionRefusedError","message":"refused"}}"#.to_string() + "\n").unwrap();
    let o = merge_shards(&shards, &[&good, &failed]);
    let doc = summary(&o);
    assert!(doc.get("network_rtt").is_none() && doc.get("network_adjusted_request_latency").is_none());
    assert!(
        stderr(&o).contains("failed.jsonl (shard 2/2): none of its 1 probes measured a round trip"),
        "{}",
        stderr(&o)
    );
    // One unsharded run: one file, as before; two are refused.
    let info = run_info(tmp.path(), json!({"enabled": true, "ping_interval": 1.0}));
    let one = |files: &[&Path]| {
        let mut c = Command::new(bin("trial-agg"));
        c.arg("--run-info").arg(&info).args(["--format", "json"]);
        c.arg(fixture("profile_export.jsonl"));
        for f in files {
            c.arg("--network-latency").arg(f);
        }
        c.output().unwrap()
    };
    let o = one(&[&good, &good]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--network-latency given 2 times: one run takes one samples file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(summary(&one(&[&good]))["network_rtt"]["avg"], json!(2.0));
}

/// End to end: scripts/profile --shards 2 --network-latency-automatic: each shard probes, its
/// samples stay in its shard folder, and profile hands each to trial-agg beside its run info, so
/// the run's summary carries each shard's mean round trip and the records adjusted by their own.
#[test]
fn profile_with_shards_hands_each_shards_samples_to_trial_agg() {
    let mock = MockServer::fixed("20", "2", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::common::profile_cmd(tmp.path())
        .args([
            "--model",
            "mock",
            "--url",
            &mock.url(),
            "--streaming",
            "--concurrency",
            "2",
        ])
        .args([
            "--request-count",
            "8",
            "--isl",
            "16",
            "--osl",
            "4",
            "--ui",
            "none",
        ])
        .args(["--shards", "2", "--start-lead", "4"])
        .args([
            "--network-latency-automatic",
            "--network-latency-ping-interval",
            "600",
        ])
        .output()
        .unwrap();
    ok(&out, "scripts/profile --shards 2 --network-latency-automatic");
    // One run: its folder is the artifact folder itself.
    let run = tmp.path().join("artifacts/mock-openai-chat-concurrency2");
    let doc = read_json(&run.join("profile_export_aiperf.json"));
    let mut means = Vec::new();
    let mut adjusted = Vec::new();
    for i in 1..=2 {
        let shard = run.join(format!("shards/shard_{i}"));
        let samples = jsonl(&shard.join("profile_export_network_latency.jsonl"));
        assert_eq!(samples.len(), 5, "shard {i}: the start probe and the top-up");
        let mean = samples.iter().map(|s| s["rtt_ns"].as_f64().unwrap()).sum::<f64>() / 5.0 / 1e6;
        for r in jsonl(&shard.join("profile_export.jsonl")) {
            adjusted.push((r["metrics"]["request_latency"]["value"].as_f64().unwrap() - mean).max(0.0));
        }
        means.push(mean);
    }
    let got: Vec<f64> = doc["sweepkit"]["shards"]["network_rtt_ms"]
        .as_array()
        .unwrap_or_else(|| panic!("no per-shard round trips: {:#}", doc["sweepkit"]))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (g, m) in got.iter().zip(&means) {
        assert!(
            (g - m).abs() <= 1e-9,
            "shard round trip {g} ms vs its samples' {m} ms"
        );
    }
    assert_eq!(adjusted.len(), 8);
    assert_stats(
        &doc,
        "network_adjusted_request_latency",
        stats_of(adjusted),
        "profile --shards",
    );
}
