//! `loadgen --workers N`: several event-loop threads give the same records as one — the same
//! request numbers and conversations, the same intended send times, the same token counts — and
//! the run info says how many ran and how each fared.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{bin, MockServer};

fn mock() -> MockServer {
    MockServer::start(&[
        "--ttft-ms",
        "5",
        "--itl-ms",
        "1",
        "--prefill-ms-per-token",
        "0",
        "--itl-per-running-ms",
        "0",
        "--max-batch",
        "512",
    ])
}

/// Runs loadgen with `--workers n`; returns the records and the run info.
fn run(dir: &Path, url: &str, n: &str, load: &[&str]) -> (Vec<Value>, Value) {
    let records = dir.join(format!("r{n}.jsonl"));
    let ri = dir.join(format!("ri{n}.json"));
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            url,
            "-m",
            "m",
            "--streaming",
            "--osl",
            "6",
            "--isl",
            "16",
        ])
        .args([
            "--random-seed",
            "7",
            "--num-prompts",
            "12",
            "--ui",
            "none",
            "--workers",
            n,
        ])
        .args([
            "--output",
            records.to_str().unwrap(),
            "--run-info-out",
            ri.to_str().unwrap(),
        ])
        .args(load)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        recs,
        serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap(),
    )
}

/// Per request number: conversation, output tokens, and (open loop) the intended send time
/// relative to the profiling start, in ns.
fn by_session(recs: &[Value], info: &Value) -> BTreeMap<u64, (String, f64, Option<u64>)> {
    let p0 = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
    let mut m = BTreeMap::new();
    let mut ids = std::collections::HashSet::new();
    for r in recs {
        assert!(r["error"].is_null(), "{r}");
        let md = &r["metadata"];
        assert!(
            ids.insert(md["x_request_id"].as_str().unwrap().to_string()),
            "duplicate id"
        );
        let prev = m.insert(
            md["session_num"].as_u64().unwrap(),
            (
                md["conversation_id"].as_str().unwrap().to_string(),
                r["metrics"]["output_sequence_length"]["value"].as_f64().unwrap(),
                md["scheduled_ns"].as_u64().map(|s| s - p0),
            ),
        );
        assert!(prev.is_none(), "request number twice: {md}");
    }
    m
}

fn per_worker_requests(info: &Value) -> Vec<u64> {
    let w = &info["client"]["workers"];
    let per: Vec<u64> = w["per_worker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["requests"].as_u64().unwrap())
        .collect();
    assert_eq!(w["count"].as_u64().unwrap() as usize, per.len());
    per
}

#[test]
fn two_workers_give_the_records_of_one_closed_loop() {
    let m = mock();
    let tmp = tempfile::tempdir().unwrap();
    let load = ["--concurrency", "5", "--request-count", "40"];
    let (r1, i1) = run(tmp.path(), &m.url(), "1", &load);
    let (r2, i2) = run(tmp.path(), &m.url(), "2", &load);
    assert_eq!(r1.len(), 40);
    assert_eq!(by_session(&r1, &i1), by_session(&r2, &i2));
    assert_eq!(per_worker_requests(&i1), vec![40]);
    let per = per_worker_requests(&i2);
    // Concurrency 5 over 2 threads: 3 + 2 tasks; both threads sent.
    assert_eq!((per.len(), per.iter().sum::<u64>()), (2, 40), "{per:?}");
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
}

#[test]
fn two_workers_keep_one_schedule_open_loop() {
    let m = mock();
    let tmp = tempfile::tempdir().unwrap();
    let load = [
        "--request-rate",
        "400",
        "--arrival-pattern",
        "poisson",
        "--request-count",
        "60",
    ];
    let (r1, i1) = run(tmp.path(), &m.url(), "1", &load);
    let (r2, i2) = run(tmp.path(), &m.url(), "2", &load);
    let (a, b) = (by_session(&r1, &i1), by_session(&r2, &i2));
    assert_eq!(a.len(), 60);
    // Identical intended send times, to the nanosecond, request by request.
    assert_eq!(a, b);
    assert!(a.values().all(|v| v.2.is_some()));
    // The schedule is dealt round-robin: 30 each.
    assert_eq!(per_worker_requests(&i2), vec![30, 30]);
    for p in i2["client"]["workers"]["per_worker"].as_array().unwrap() {
        assert!(p["dispatch_lag_ms"]["p50"].as_f64().unwrap() >= 0.0);
        assert!(p["event_loop_busy"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn the_default_is_capped_by_the_concurrency() {
    let m = mock();
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("r.jsonl");
    let ri = tmp.path().join("ri.json");
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            &m.url(),
            "-m",
            "m",
            "--concurrency",
            "1",
            "--request-count",
            "3",
        ])
        .args(["--ui", "none", "--output", records.to_str().unwrap()])
        .args(["--run-info-out", ri.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap();
    assert_eq!(per_worker_requests(&info), vec![3]);
    let bad = Command::new(bin("loadgen"))
        .args(["--url", &m.url(), "-m", "m", "--workers", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--workers"));
}
