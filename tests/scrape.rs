//! `scrape`: samples streamed from real endpoints, gaps for endpoints that are down or answer garbage.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::common::{run, MockServer};

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// A one-route HTTP server whose n-th answer is `bodies(n)`; answers `max` requests then stops.
fn flaky_server(max: usize, bodies: fn(usize) -> &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let n = count.fetch_add(1, Ordering::SeqCst);
            let body = bodies(n);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.read(&mut [0u8; 1]);
        }
    });
    (addr, served)
}

#[test]
fn an_endpoint_that_refuses_connections_becomes_gaps_not_a_crash() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let out = run("scrape", &["--interval", "0.1", "--duration", "0.35", &url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ls = lines(&out.stdout);
    assert!(ls.len() >= 3, "one gap per tick: {ls:?}");
    for l in &ls {
        assert_eq!(l["endpoint"], Value::from(url.as_str()));
        assert!(l["error"].as_str().unwrap().starts_with("request failed"), "{l}");
        assert!(l.get("metric").is_none());
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("recorded as a gap; still polling"));
}

#[test]
fn garbage_mid_run_is_a_gap_with_the_offending_text_and_polling_goes_on() {
    let (addr, served) = flaky_server(6, |n| match n {
        2 => "<html>502 Bad Gateway</html>\n",
        _ => "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"m\"} 4\n",
    });
    let url = format!("http://{addr}/metrics");
    let out = run("scrape", &["--interval", "0.05", "--duration", "0.27", &url]);
    assert_eq!(out.status.code(), Some(0));
    let ls = lines(&out.stdout);
    assert!(
        served.load(Ordering::SeqCst) >= 5,
        "kept polling after the garbage"
    );
    let gap = ls.iter().find(|l| l.get("error").is_some()).expect("a gap line");
    let err = gap["error"].as_str().unwrap();
    assert!(err.starts_with("malformed exposition text: line 1:"), "{err}");
    assert!(err.contains("<html>502 Bad Gateway</html>"), "{err}");
    let samples: Vec<_> = ls.iter().filter(|l| l.get("metric").is_some()).collect();
    assert!(samples.len() >= 4, "{ls:?}");
    for s in samples {
        assert_eq!(s["metric"], "vllm:num_requests_waiting");
        assert_eq!(s["type"], "gauge");
        assert_eq!(s["labels"]["model_name"], "m");
        assert_eq!(s["value"], 4.0);
    }
}

#[test]
fn bad_invocations_name_the_problem() {
    let out = run("scrape", &["localhost:8000/metrics", "--duration", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("give a full URL such as http://127.0.0.1:8000/metrics"));
    let out = run("scrape", &["--interval", "-1", "http://127.0.0.1:1/metrics"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interval -1"));
}

#[test]
fn samples_stream_from_mock_llm_metrics_and_dcgm_endpoints() {
    let mock = MockServer::start(&["--ttft-ms", "5", "--itl-ms", "5"]);
    let url = format!("{}/metrics", mock.url());
    let dcgm = format!("{}/dcgm/metrics", mock.url());
    let out = run(
        "scrape",
        &["--interval", "0.1", "--duration", "0.25", &url, &dcgm],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ls = lines(&out.stdout);
    let names: std::collections::BTreeSet<_> = ls.iter().filter_map(|l| l["metric"].as_str()).collect();
    for want in [
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
    ] {
        assert!(names.contains(want), "{want} in {names:?}");
    }
    assert!(names
        .iter()
        .any(|n| n.starts_with("vllm:e2e_request_latency_seconds_bucket")));
    assert!(names.iter().any(|n| n.starts_with("DCGM_FI_DEV_GPU_UTIL")));
    assert!(
        ls.iter().all(|l| l.get("error").is_none()),
        "no gaps from a healthy mock"
    );
}

#[test]
fn a_sweep_on_mock_llm_shows_kv_cache_usage_and_queue_length_rising() {
    // Two decode slots: at concurrency 1 nothing waits; at 6, four requests queue behind the batch.
    let mock = MockServer::start(&["--max-batch", "2", "--ttft-ms", "5", "--itl-ms", "3"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::common::profile_cmd(tmp.path())
        .args([
            "--model",
            "mock",
            "--url",
            &mock.url(),
            "--streaming",
            "--concurrency",
            "1,6",
            "--request-count",
            "24",
        ])
        .args([
            "--isl",
            "64",
            "--osl",
            "20",
            "--ui",
            "none",
            "--scrape-interval",
            "0.05",
        ])
        .args(["--gpu-telemetry", &format!("{}/dcgm/metrics", mock.url())])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let base = tmp.path().join("artifacts/mock-openai-chat-concurrency_sweep");
    for c in ["1", "6"] {
        for f in [
            "server_metrics_export.jsonl",
            "gpu_telemetry_export.jsonl",
            "server_metrics_export.json",
            "server_metrics_export.csv",
        ] {
            assert!(
                base.join(format!("concurrency_{c}/{f}")).is_file(),
                "concurrency_{c}/{f}"
            );
        }
    }
    let sweep: Value = serde_json::from_str(
        &std::fs::read_to_string(base.join("sweep_aggregate/profile_export_aiperf_sweep.json")).unwrap(),
    )
    .unwrap();
    let per = sweep["per_combination_metrics"].as_array().unwrap();
    let mean = |i: usize, key: &str| -> f64 {
        per[i]["metrics"][key]["mean"]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in combination {i}: {:#}", per[i]))
    };
    assert_eq!(per[0]["parameters"]["concurrency"], 1);
    let (w1, w6) = (
        mean(0, "vllm:num_requests_waiting_avg"),
        mean(1, "vllm:num_requests_waiting_avg"),
    );
    assert!(
        w1 < 0.5 && w6 > 1.5,
        "queue length rises with concurrency: {w1} → {w6}"
    );
    let (k1, k6) = (
        mean(0, "vllm:kv_cache_usage_perc_avg"),
        mean(1, "vllm:kv_cache_usage_perc_avg"),
    );
    assert!(
        k6 > 1.3 * k1 && k1 > 0.0,
        "KV-cache usage rises with concurrency: {k1} → {k6}"
    );
    let (r1, r6) = (
        mean(0, "vllm:num_requests_running_avg"),
        mean(1, "vllm:num_requests_running_avg"),
    );
    assert!(r1 <= 1.01 && r6 > 1.5, "running requests: {r1} → {r6}");
    // GPU figures ride along too, so pareto can use them as objectives.
    assert!(mean(1, "DCGM_FI_DEV_GPU_UTIL_avg") >= mean(0, "DCGM_FI_DEV_GPU_UTIL_avg"));
}

/// `vllm:request_success_total` at each scrape in the file, in order.
fn successes(path: &std::path::Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["metric"] == "vllm:request_success_total")
        .map(|l| l["value"].as_f64().unwrap())
        .collect()
}

#[test]
fn a_stop_takes_a_final_scrape_so_a_run_shorter_than_the_interval_is_counted() {
    let mock = MockServer::start(&["--ttft-ms", "1", "--itl-ms", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server_metrics_export.jsonl");
    let url = format!("{}/metrics", mock.url());
    let mut scrape = std::process::Command::new(crate::common::bin("scrape"))
        .args(["--interval", "3600", "--output"])
        .arg(&file)
        .arg(&url)
        .spawn()
        .unwrap();
    // The first tick's sample, before any request (bounded wait: the scrape is local).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while successes(&file).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no first sample in 60 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = crate::common::loadgen(&[
        "--url",
        &mock.url(),
        "-m",
        "m",
        "--request-count",
        "5",
        "--concurrency",
        "5",
        "--ui",
        "none",
        "--output",
        dir.path().join("profile_export.jsonl").to_str().unwrap(),
    ]);
    crate::common::ok(out, "loadgen");
    // SIGTERM an hour before the next tick: the stop itself reads the counters once more.
    unsafe { libc::kill(scrape.id() as i32, libc::SIGTERM) };
    assert!(scrape.wait().unwrap().success());
    let seen = successes(&file);
    let summed = |v: &[f64]| v.iter().sum::<f64>();
    assert_eq!(seen.first().copied(), Some(0.0), "{seen:?}");
    // One series per finish reason; the final scrape's lines sum to the 5 requests sent.
    let per_scrape = seen.len() / 2;
    assert_eq!(seen.len(), per_scrape * 2, "two scrapes: {seen:?}");
    assert_eq!(summed(&seen[per_scrape..]), 5.0, "{seen:?}");
}
