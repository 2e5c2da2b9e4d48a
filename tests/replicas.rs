//! Several server replicas without a load balancer: `--url` given several times spreads requests
//! round-robin, records say which replica served them, `trial-agg --by url` breaks the summary
//! down per replica, and `scripts/profile` scrapes every replica's `/metrics`.

use std::process::Command;

use serde_json::Value;

use crate::common::{bin, MockServer};

/// A replica with `slots` decode slots, 20 ms to the first token, 5 ms per token.
fn replica(slots: &str) -> MockServer {
    MockServer::fixed("20", "5", &["--max-batch", slots])
}

#[test]
fn requests_alternate_over_replicas_and_the_breakdown_shows_the_slow_one() {
    // The same server, one with a single decode slot (requests queue), one with eight.
    let (small, big) = (replica("1"), replica("8"));
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("records.jsonl");
    let ri = tmp.path().join("run_info.json");
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            &small.url(),
            "--url",
            &big.addr,
            "-m",
            "m",
            "--streaming",
        ])
        .args([
            "--concurrency",
            "8",
            "--request-count",
            "32",
            "--osl",
            "8",
            "--isl",
            "16",
        ])
        .args(["--ui", "none", "--output", records.to_str().unwrap()])
        .args(["--run-info-out", ri.to_str().unwrap()])
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs: Vec<Value> = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 32);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        let md = &r["metadata"];
        // Round-robin in issue order: even request numbers on the first --url.
        let want = md["session_num"].as_u64().unwrap() % 2;
        assert_eq!(md["url_index"].as_u64(), Some(want), "{md}");
        let url = if want == 0 { small.url() } else { big.url() };
        assert_eq!(md["url"].as_str(), Some(url.as_str()), "{md}");
    }
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap();
    assert_eq!(
        info["input_config"]["endpoint"]["urls"],
        serde_json::json!([small.url(), big.url()])
    );

    let out = Command::new(bin("trial-agg"))
        .args([
            "--by",
            "url",
            "--format",
            "json",
            "--run-info",
            ri.to_str().unwrap(),
        ])
        .arg(&records)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by = doc["by_url"].as_object().expect("by_url");
    assert_eq!(by.len(), 2, "{by:?}");
    let (s, b) = (&by[&small.url()], &by[&big.url()]);
    assert_eq!(s["request_count"]["avg"], 16.0);
    assert_eq!(b["request_count"]["avg"], 16.0);
    // Four requests in flight on one slot wait for each other: most of the small replica's first
    // tokens wait at least a whole request (55 ms) besides their 20 ms, the big one's come at 20 ms (never
    // earlier; how much later is the machine's business).
    let ttft = |v: &Value| v["time_to_first_token"]["p50"].as_f64().unwrap();
    assert!(ttft(s) > 60.0, "small {} vs big {}", ttft(s), ttft(b));
    crate::common::on_time(
        ttft(b),
        20.0,
        crate::common::LATE_MS,
        "the big replica's TTFT p50",
    );
    // Same window: the replicas' throughputs add up to the trial's.
    let thr = |v: &Value| v["request_throughput"]["avg"].as_f64().unwrap();
    assert!((thr(s) + thr(b) - thr(&doc)).abs() < 1e-6 * thr(&doc));

    // The table shows one section per replica; CSV has no place for it.
    let table = Command::new(bin("trial-agg"))
        .args(["--by", "url", "--format", "table"])
        .arg(&records)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(&format!("url: {}", small.url())) && text.contains(&format!("url: {}", big.url())));
    let csv = Command::new(bin("trial-agg"))
        .args(["--by", "url", "--format", "csv"])
        .arg(&records)
        .output()
        .unwrap();
    assert_eq!(csv.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&csv.stderr).contains("--by url"));
}

#[test]
fn a_url_given_twice_is_refused() {
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            "127.0.0.1:9",
            "--url",
            "http://127.0.0.1:9/",
            "-m",
            "m",
            "--ui",
            "none",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--url http://127.0.0.1:9: given twice"), "{err}");
}

/// scripts/profile with two replicas: one run, each replica's /metrics scraped into the run's
/// server metrics.
#[test]
fn profile_scrapes_every_replica() {
    let (a, b) = (replica("4"), replica("4"));
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::common::profile_cmd(tmp.path())
        .args(["-m", "mock", "--url", &a.url(), "--url", &b.url(), "--streaming"])
        .args([
            "--concurrency",
            "4",
            "--request-count",
            "40",
            "--osl",
            "16",
            "--ui",
            "none",
        ])
        .args(["--scrape-interval", "0.1", "--workers", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let samples = walk(tmp.path(), "server_metrics_export.jsonl");
    let text = std::fs::read_to_string(samples.expect("server_metrics_export.jsonl")).unwrap();
    for m in [&a, &b] {
        let ep = format!("{}/metrics", m.url());
        assert!(text.contains(&format!("\"{ep}\"")), "no samples of {ep}");
    }
    // --workers goes straight to loadgen.
    let ri = walk(tmp.path(), "run_info.json").expect("run_info.json");
    let info: Value = serde_json::from_str(&std::fs::read_to_string(ri).unwrap()).unwrap();
    assert_eq!(info["client"]["workers"]["count"], 1);
}

fn walk(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
        if p.is_dir() {
            if let Some(f) = walk(&p, name) {
                return Some(f);
            }
        }
    }
    None
}

/// A multi-turn session's turns all go to the replica its first turn went to, and sessions
/// alternate over the replicas, whichever of the two workers runs the session.
#[test]
fn a_session_stays_on_one_replica() {
    let (a, b) = (replica("8"), replica("8"));
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("records.jsonl");
    let ri = tmp.path().join("run_info.json");
    let out = Command::new(bin("loadgen"))
        .args(["--url", &a.url(), "--url", &b.url(), "-m", "m", "--streaming"])
        .args([
            "--conversation-num",
            "6",
            "--conversation-turn-mean",
            "3",
            "--concurrency",
            "3",
        ])
        .args(["--osl", "4", "--isl", "16", "--ui", "none", "--workers", "2"])
        .args([
            "--output",
            records.to_str().unwrap(),
            "--run-info-out",
            ri.to_str().unwrap(),
        ])
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut replica_of = std::collections::HashMap::new();
    let mut per_url = [0, 0];
    for l in std::fs::read_to_string(&records).unwrap().lines() {
        let r: Value = serde_json::from_str(l).unwrap();
        let md = &r["metadata"];
        let session = md["x_correlation_id"].as_str().unwrap().to_string();
        let u = md["url_index"].as_u64().unwrap();
        per_url[u as usize] += 1;
        assert_eq!(
            *replica_of.entry(session).or_insert(u),
            u,
            "a session changed replica: {md}"
        );
    }
    assert_eq!(replica_of.len(), 6);
    assert_eq!(per_url, [9, 9]);
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap();
    assert_eq!(info["client"]["workers"]["count"], 2);
    let sessions: Vec<u64> = info["client"]["workers"]["per_worker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["sessions"].as_u64().unwrap())
        .collect();
    assert_eq!(sessions.iter().sum::<u64>(), 6);
    assert!(sessions.iter().all(|&n| n > 0), "{sessions:?}");
}
