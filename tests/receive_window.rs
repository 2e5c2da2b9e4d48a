//! The client starved on purpose: loadgen stopped (SIGSTOP) mid-stream while mock-llm keeps
//! sending, so its TCP receive window fills; the run info must say so (and by how much), and must
//! not when the client kept up.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{bin, metrics_text, read_json, MockServer};

/// One streamed request of `osl` tokens, `itl_ms` apart, into `dir`; returns the running loadgen.
fn one_stream(mock: &MockServer, dir: &Path, osl: &str) -> Child {
    Command::new(bin("loadgen"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "mock-model",
            "--streaming",
            "--concurrency",
            "1",
        ])
        .args([
            "--request-count",
            "1",
            "--osl",
            osl,
            "--isl",
            "16",
            "--ui",
            "none",
        ])
        .args(["--extra-inputs", "ignore_eos:true"])
        .arg("--output")
        .arg(dir.join("records.jsonl"))
        .arg("--run-info-out")
        .arg(dir.join("run_info.json"))
        .env_remove("OPENAI_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start loadgen")
}

fn mock(itl_ms: &str) -> MockServer {
    MockServer::start(&[
        "--ttft-ms",
        "5",
        "--itl-ms",
        itl_ms,
        "--prefill-ms-per-token",
        "0",
        "--itl-per-running-ms",
        "0",
    ])
}

/// Waits (bounded) until mock-llm has the request in a decode slot: the stream is flowing.
fn wait_streaming(mock: &MockServer, child: &mut Child) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let running = metrics_text(&mock.addr).lines().any(|l| {
            l.starts_with("vllm:num_requests_running")
                && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) == Some(1.0)
        });
        if running {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "loadgen ended before streaming"
        );
        assert!(Instant::now() < until, "the request did not start within 30 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn finish(child: Child, dir: &Path) -> Value {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    read_json(&dir.join("run_info.json"))["client"].clone()
}

#[test]
fn a_client_stopped_mid_stream_reports_its_closed_receive_window() {
    // 1 ms apart, ~220 bytes a chunk: 2 s stopped leaves ~440 KB unread, over any default
    // receive buffer (128 KiB here), so the window closes.
    let mock = mock("1");
    let dir = tempfile::tempdir().unwrap();
    let mut child = one_stream(&mock, dir.path(), "6000");
    wait_streaming(&mock, &mut child);
    let pid = child.id() as i32;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let client = finish(child, dir.path());
    let rs = &client["receive_stamps"];
    assert!(rs["window_full_reads"].as_u64().unwrap() >= 1, "{rs}");
    assert_eq!(rs["window_full_requests"], 1, "{rs}");
    // At least half a 128 KiB buffer waited (Linux's default tcp_rmem); at most what 2 s sent.
    let backlog = rs["max_backlog_bytes"].as_u64().unwrap();
    assert!((64 * 1024..=4 * 1024 * 1024).contains(&backlog), "{rs}");
    assert_eq!(client["client_bound"], true);
    let warned = client["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("receive window was closed"));
    assert!(warned, "{}", client["warnings"]);
}

#[test]
fn a_client_that_keeps_up_reports_no_closed_window() {
    // 5 ms apart (~44 bytes/ms): filling half a 128 KiB buffer would take a 1.5 s stall.
    let mock = mock("5");
    let dir = tempfile::tempdir().unwrap();
    let child = one_stream(&mock, dir.path(), "300");
    let client = finish(child, dir.path());
    let rs = &client["receive_stamps"];
    assert_eq!(rs["window_full_reads"], 0, "{rs}");
    assert_eq!(rs["max_backlog_bytes"], 0, "{rs}");
    let warned = client["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("receive window"));
    assert!(!warned, "{}", client["warnings"]);
}
