//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every binary of the package, for tests that check them all alike.
pub const TOOLS: [&str; 10] = [
    "mock-llm",
    "loadgen",
    "trial-agg",
    "sweep-plan",
    "sweep-agg",
    "sweep-search",
    "pareto",
    "scrape",
    "report",
    "compare",
];

pub fn bin(tool: &str) -> PathBuf {
    let p = match tool {
        "mock-llm" => env!("CARGO_BIN_EXE_mock-llm"),
        "loadgen" => env!("CARGO_BIN_EXE_loadgen"),
        "trial-agg" => env!("CARGO_BIN_EXE_trial-agg"),
        "sweep-plan" => env!("CARGO_BIN_EXE_sweep-plan"),
        "sweep-agg" => env!("CARGO_BIN_EXE_sweep-agg"),
        "sweep-search" => env!("CARGO_BIN_EXE_sweep-search"),
        "pareto" => env!("CARGO_BIN_EXE_pareto"),
        "scrape" => env!("CARGO_BIN_EXE_scrape"),
        "report" => env!("CARGO_BIN_EXE_report"),
        "compare" => env!("CARGO_BIN_EXE_compare"),
        other => panic!("unknown tool {other}"),
    };
    PathBuf::from(p)
}

pub fn run(tool: &str, args: &[&str]) -> Output {
    Command::new(bin(tool)).args(args).output().expect("run tool")
}

/// Keeps the tests that load the CPU hard (headless Chromium) apart from the ones whose timing
/// assertions a busy CPU distorts (throughput scaling on mock-llm): each holds this while it runs.
pub fn cpu_heavy() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fails the test unless `tool version_flag` runs, naming the Debian package and the install
/// command (make test installs it first; a missing tool is a failure, never a silent skip).
pub fn require_tool(tool: &str, version_flag: &str, package: &str) {
    let have = Command::new(tool)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        have,
        "{tool} is missing (Debian: apt-get install {package}): run scripts/install-test-deps (make test runs it)"
    );
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/aiperf/`: AIPerf 0.13.0's own output artifacts, vendored byte for byte (the
/// files the tests read; see its README.md).
pub fn fixtures_dir() -> PathBuf {
    let p = repo_root().join("tests/fixtures/aiperf");
    assert!(
        p.is_dir(),
        "{} is missing: the tests read AIPerf's artifacts from it",
        p.display()
    );
    p
}

/// The whole HTTP response (head and body) to `GET /metrics` from a server at `addr`.
pub fn metrics_text(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A `mock-llm` started on 127.0.0.1 port 0 for one test; killed when dropped.
pub struct MockServer {
    pub child: std::process::Child,
    /// `127.0.0.1:PORT`, from the server's first stdout line `{"listening":"127.0.0.1:PORT"}`.
    pub addr: String,
}

impl MockServer {
    pub fn start(args: &[&str]) -> MockServer {
        use std::io::BufRead;
        let mut child = Command::new(bin("mock-llm"))
            .args(["--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start mock-llm");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read mock-llm's first line");
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("mock-llm's first line is not JSON ({e}): {line:?}"));
        let addr = v["listening"].as_str().expect("listening address").to_string();
        MockServer { child, addr }
    }

    /// A fast mock (TTFT and ITL 1 ms) that records every request with its body into `truth`,
    /// so a test can check from the server's side what each request carried.
    pub fn recording_bodies(truth: &std::path::Path) -> MockServer {
        MockServer::start(&[
            "--ttft-ms",
            "1",
            "--itl-ms",
            "1",
            "--record",
            truth.to_str().unwrap(),
            "--record-request-bodies",
        ])
    }

    /// A mock with a fixed schedule: `ttft_ms` to the first token, then one token every `itl_ms`;
    /// no prefill cost, no slowdown with the running count, no jitter and 512 decode slots (no
    /// queueing), so every time it sends is known in advance. `extra` adds flags (a
    /// `--max-batch` in it replaces the 512, for a test of queueing).
    pub fn fixed(ttft_ms: &str, itl_ms: &str, extra: &[&str]) -> MockServer {
        let mut args = vec![
            "--ttft-ms",
            ttft_ms,
            "--itl-ms",
            itl_ms,
            "--prefill-ms-per-token",
            "0",
            "--itl-per-running-ms",
            "0",
        ];
        if !extra.contains(&"--max-batch") {
            args.extend(["--max-batch", "512"]);
        }
        args.extend_from_slice(extra);
        MockServer::start(&args)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for MockServer {
    /// SIGTERM, so the mock flushes its `--record` writer (a test reading the truth after the
    /// mock is gone sees every request); SIGKILL only if it has not ended within 10 s.
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A tool's standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A JSON file, panicking with its path when it is missing or malformed.
pub fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `loadgen ARGS` with no `OPENAI_API_KEY` from the caller's environment.
pub fn loadgen(args: &[&str]) -> Output {
    Command::new(bin("loadgen"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("run loadgen")
}

/// `scripts/profile` run in `dir` with this build's binaries (`SWEEPKIT_BIN_DIR`), no
/// `OPENAI_API_KEY` from the caller and stdin closed; the caller adds the flags.
pub fn profile_cmd(dir: &Path) -> Command {
    let mut c = Command::new(repo_root().join("scripts/profile"));
    c.current_dir(dir)
        .env("SWEEPKIT_BIN_DIR", bin("loadgen").parent().unwrap())
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::null());
    c
}

/// Panics with `what` and the tool's standard error unless it exited 0; returns the output (or
/// the reference to it it was given).
pub fn ok<O: std::borrow::Borrow<Output>>(out: O, what: &str) -> O {
    let o = out.borrow();
    assert!(
        o.status.success(),
        "{what} failed ({:?}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// JSON lines (records, plan lines) from a tool's output; blank lines are skipped.
pub fn jsonl_of(text: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// JSON lines from a file, panicking with its path when it is missing.
pub fn jsonl(p: &Path) -> Vec<serde_json::Value> {
    jsonl_of(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// How late an event the operating system schedules (a thread waking, bytes arriving) may be on a
/// loaded 2-core machine before a test calls it wrong, ms: generous, since only lateness beyond
/// any scheduling delay is a bug; being early is always one.
pub const LATE_MS: f64 = 1000.0;

/// numpy's linear percentile `q` (0..=100) of `values`, as AIPerf computes its statistics.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let x = q / 100.0 * (v.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    v[i] + f * (v[(i + 1).min(v.len() - 1)] - v[i])
}

/// `got` (ms) happened no earlier than `due` and at most `late` ms after it: the timing rule for
/// what the operating system controls.
pub fn on_time(got: f64, due: f64, late: f64, what: &str) {
    assert!(
        got >= due && got <= due + late,
        "{what}: {got} ms, due at {due} ms (never early, at most {late} ms late)"
    );
}

/// loadgen with `args` (model `mock`, no UI) against a mock recording request bodies, its files
/// in `dir` named after `tag`: (the server's records in arrival order, the client's records,
/// loadgen's stderr). A failed run fails the test.
pub fn recorded_loadgen(
    dir: &Path,
    tag: &str,
    args: &[&str],
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>, String) {
    let truth = dir.join(format!("{tag}-server.jsonl"));
    let out = dir.join(format!("{tag}-records.jsonl"));
    let mock = MockServer::recording_bodies(&truth);
    let url = mock.url();
    let mut all = vec!["--url", &url, "-m", "mock", "--ui", "none"];
    all.extend(["-o", out.to_str().unwrap()]);
    all.extend_from_slice(args);
    let o = ok(loadgen(&all), "loadgen");
    drop(mock);
    let mut server = jsonl(&truth);
    server.sort_by_key(|r| r["arrival_ns"].as_u64().unwrap());
    (server, jsonl(&out), stderr(&o))
}
