//! Hostile inputs, one row each: what a user (or a broken file) can hand a tool, the exit code it
//! must get, a fragment of its one-line message, and a bound on the tool's peak memory (the
//! kernel's `ru_maxrss` of the finished child, from `wait4`) and on its run time. No row may end in
//! a panic. The table only grows: a new finding is a new row.

use crate::common::{bin, MockServer};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One hostile input.
struct Row {
    /// What is fed in, for the failure message.
    name: &'static str,
    tool: &'static str,
    /// `{url}` becomes a mock-llm's URL (started for the row), `{dir}` the row's temp folder.
    args: &'static [&'static str],
    /// Files written into `{dir}` before the run: (name, content); a name may hold folders.
    files: &'static [(&'static str, &'static str)],
    /// Standard input, if any.
    stdin: Option<&'static str>,
    /// The exit code it must get (2: an error; 1: a negative verdict; 0: a bounded, correct run).
    exit: i32,
    /// A fragment of stderr (the one-line error, or a warning) it must print.
    message: &'static str,
    /// Peak resident memory allowed, in MiB.
    max_rss_mib: u64,
    /// Wall time allowed before the row counts as a hang (a generous bound: CI is loaded).
    max_secs: u64,
}

/// The rows. Group them by what they attack; keep each `name` unique.
const ROWS: &[Row] = &[
    Row {
        name: "loadgen: an unknown flag",
        tool: "loadgen",
        args: &["--url", "{url}", "--concurrency-x", "4"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--concurrency-x",
        max_rss_mib: 200,
        max_secs: 30,
    },
    // --- files and outputs (readers, redaction, atomic writes, search folders) ---
    Row {
        name: "trial-agg: /dev/zero as records",
        tool: "trial-agg",
        args: &["/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero:1: line longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --input-file /dev/zero",
        tool: "loadgen",
        args: &[
            "--url",
            "{url}",
            "-m",
            "m",
            "--input-file",
            "/dev/zero",
            "--custom-dataset-type",
            "single_turn",
        ],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero:1: line longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --spec /dev/zero",
        tool: "loadgen",
        args: &["--spec", "/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--spec /dev/zero: cannot read: file longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --run-info /dev/zero",
        tool: "trial-agg",
        args: &["--run-info", "/dev/zero", "{dir}/ok.jsonl"],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "file longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-agg: --plan /dev/zero",
        tool: "sweep-agg",
        args: &["--plan", "/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero:1: line longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "pareto: /dev/zero",
        tool: "pareto",
        args: &["/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero: cannot read: file longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration 1e-9 on a 1 s run",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "1e-9",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "into 1000000001 slices, more than the 10000 allowed: give --slice-duration 0.00011 or more",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration 1e-12 (under 1 ns)",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "1e-12",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "endless slices, more than the 10000 allowed: give --slice-duration 0.00011 or more",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration 0",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "0",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'0' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration -1",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "-1",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'-1' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration nan",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "nan",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'nan' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration inf",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "inf",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'inf' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: every request failed",
        tool: "trial-agg",
        args: &["{dir}/failed.jsonl"],
        files: &[("failed.jsonl", FAILED_RECORDS)],
        stdin: None,
        exit: 1,
        message: "trial-agg: all 2 requests failed (most common error, 2 of them: 500 ServerError: boom)",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a torn summary in the search folder",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", "{\"request_count\": {\"avg\": 3")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json: not valid JSON: EOF while parsing",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a NaN in a summary",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", "{\"request_count\": {\"avg\": NaN}}")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json: not valid JSON: expected value",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a null summary",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", "null")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json: a summary must be a JSON object",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a garbage line in a trial's records",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", SEARCH_SUMMARY), ("search_iter_0000/profile_runs/run_0001/profile_export.jsonl", "garbage\n")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export.jsonl:1: not valid JSON here",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a torn search_history.json",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_history.json", "{\"iterations\": [")],
        stdin: None,
        exit: 2,
        message: "search_history.json: not valid JSON",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: --search-dir that does not exist, nothing to read",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}/typo", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/typo: no such folder: nothing to read",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: --search-dir that does not exist starts a new search, said so",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}/new", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[],
        stdin: None,
        exit: 0,
        message: "/new does not exist: starting a new search there",
        max_rss_mib: 300,
        max_secs: 30,
    },
];

/// Two successful records 1 s apart (a 1 s run for the slicing rows).
const OK_RECORDS: &str = concat!(
    r#"{"metadata":{"request_start_ns":1000000000,"request_end_ns":1100000000,"benchmark_phase":"profiling"},"metrics":{"request_latency":{"value":100.0,"unit":"ms"}}}"#,
    "\n",
    r#"{"metadata":{"request_start_ns":1900000000,"request_end_ns":2000000000,"benchmark_phase":"profiling"},"metrics":{"request_latency":{"value":100.0,"unit":"ms"}}}"#,
    "\n"
);

/// A trial summary that holds at concurrency 1 (TTFT p99 10 ms).
const SEARCH_SUMMARY: &str = r#"{"request_count":{"unit":"requests","avg":2.0},"time_to_first_token":{"unit":"ms","avg":10.0,"p99":10.0}}"#;

/// Two records whose requests both failed with a 500.
const FAILED_RECORDS: &str = concat!(
    r#"{"metadata":{"request_start_ns":1000000000,"request_end_ns":1100000000,"benchmark_phase":"profiling"},"metrics":{},"error":{"code":500,"type":"ServerError","message":"boom"}}"#,
    "\n",
    r#"{"metadata":{"request_start_ns":1900000000,"request_end_ns":2000000000,"benchmark_phase":"profiling"},"metrics":{},"error":{"code":500,"type":"ServerError","message":"boom"}}"#,
    "\n"
);

/// The result of one row's run.
struct Ran {
    code: Option<i32>,
    stderr: String,
    max_rss_mib: u64,
    elapsed: Duration,
}

/// Runs `cmd` to its end (killing it after `limit`), returning its exit code, stderr and peak RSS.
fn run_measured(mut cmd: Command, stdin: Option<&str>, limit: Duration) -> Ran {
    use std::io::{Read, Write};
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the tool");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    let mut err_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 on our own child with valid out-pointers; it reaps the child (so `child`
        // must not be waited on again) and fills its resource usage, whose ru_maxrss is in KiB.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if start.elapsed() > limit {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::mem::forget(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ran {
        code,
        stderr: reader.join().unwrap_or_default(),
        max_rss_mib: usage.ru_maxrss as u64 / 1024,
        elapsed: start.elapsed(),
    }
}

fn fill(arg: &str, url: &str, dir: &Path) -> String {
    arg.replace("{url}", url).replace("{dir}", dir.to_str().unwrap())
}

#[test]
fn every_hostile_input_gets_its_clear_error_or_a_bounded_run() {
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for row in ROWS {
        assert!(names.insert(row.name), "two rows are named {:?}", row.name);
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in row.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let mock = row
            .args
            .iter()
            .any(|a| a.contains("{url}"))
            .then(|| MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]));
        let url = mock.as_ref().map(MockServer::url).unwrap_or_default();
        let mut cmd = Command::new(bin(row.tool));
        cmd.args(row.args.iter().map(|a| fill(a, &url, dir.path())))
            .current_dir(dir.path());
        let ran = run_measured(cmd, row.stdin, Duration::from_secs(row.max_secs));
        let mut why = Vec::new();
        if ran.code != Some(row.exit) {
            why.push(format!("exit {:?}, wanted {}", ran.code, row.exit));
        }
        if !ran.stderr.contains(row.message) {
            why.push(format!("stderr lacks {:?}", row.message));
        }
        if ran.stderr.contains("panicked") || ran.stderr.contains("RUST_BACKTRACE") {
            why.push("a panic".to_string());
        }
        if ran.max_rss_mib > row.max_rss_mib {
            why.push(format!(
                "peak RSS {} MiB > {} MiB",
                ran.max_rss_mib, row.max_rss_mib
            ));
        }
        if ran.elapsed > Duration::from_secs(row.max_secs) {
            why.push(format!(
                "ran {:.1} s > {} s",
                ran.elapsed.as_secs_f64(),
                row.max_secs
            ));
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                row.name,
                why.join("; "),
                ran.stderr
                    .trim()
                    .lines()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n          ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "hostile inputs mishandled:\n{}",
        failures.join("\n")
    );
}

// --- files and outputs (readers, redaction, atomic writes, search folders): dedicated tests ---

/// Every file under `root` (recursively), with its text (lossy).
fn every_file(root: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                todo.push(p);
            } else if meta.is_file() {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                out.push((p, text));
            }
        }
    }
    out
}

/// A whole scripts/profile sweep with a password in the URL, an API key and a `?token=` in the
/// server-metrics URL: the mock answers only requests that carry the password (Basic) and the key
/// (x-api-key), so every run succeeding proves they were sent; then no file under the output
/// folder, nor stdout or stderr, holds any of the three.
#[test]
fn a_profile_sweep_sends_the_url_password_and_key_but_writes_them_nowhere() {
    const PW: &str = "PwSecret7391";
    const KEY: &str = "KeySecret5120";
    const TOKEN: &str = "TokSecret8842";
    let tmp = tempfile::tempdir().unwrap();
    let truth = tmp.path().join("truth.jsonl");
    let mock = MockServer::start(&[
        "--ttft-ms",
        "0",
        "--itl-ms",
        "0",
        "--basic-auth",
        &format!("alice:{PW}"),
        "--api-key",
        KEY,
        "--record",
        truth.to_str().unwrap(),
    ]);
    let url = format!("http://alice:{PW}@{}", mock.addr);
    let metrics = format!("{}/metrics?token={TOKEN}", mock.url());
    let out_dir = tmp.path().join("out");
    let tools = bin("loadgen").parent().unwrap().to_path_buf();
    let o = Command::new(crate::common::repo_root().join("scripts/profile"))
        .current_dir(tmp.path())
        .env("SWEEPKIT_BIN_DIR", &tools)
        .args([
            "--model",
            "m",
            "--url",
            &url,
            "--endpoint-type",
            "messages",
            "--api-key",
            KEY,
        ])
        .args(["--server-metrics", &metrics, "--scrape-interval", "0.2"])
        .args(["--concurrency", "1,2", "--request-count", "4", "--ui", "none"])
        .args(["--artifact-dir", out_dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "{stdout}\n{stderr}");
    drop(mock);
    let served = std::fs::read_to_string(&truth).unwrap();
    assert_eq!(served.lines().count(), 8, "2 runs of 4 requests reached the mock");
    let files = every_file(&out_dir);
    let base = out_dir.join("m-openai-messages-concurrency_sweep");
    for c in [1, 2] {
        let summary = base.join(format!("concurrency_{c}/profile_export_aiperf.json"));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(
            doc["request_count"]["avg"],
            4.0,
            "{}: every request authenticated",
            summary.display()
        );
    }
    for must in [
        "benchmark_command.txt",
        "plan.jsonl",
        "report.html",
        "server_metrics_export.jsonl",
        "run_info.json",
    ] {
        assert!(
            files.iter().any(|(p, _)| p.ends_with(must)),
            "{must} is written (and so checked); files: {:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
    }
    let mut leaks = Vec::new();
    for secret in [PW, KEY, TOKEN] {
        leaks.extend(
            files
                .iter()
                .filter(|(_, t)| t.contains(secret))
                .map(|(p, _)| p.display().to_string()),
        );
        for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            if text.contains(secret) {
                leaks.push(name.to_string());
            }
        }
    }
    assert!(leaks.is_empty(), "secrets written to: {leaks:?}");
    let command = std::fs::read_to_string(base.join("benchmark_command.txt")).unwrap();
    assert!(command.contains("alice:"), "the user name stays: {command}");
}

/// `report DIR -o link.html`: the symlink stays and its target holds the report; a path that is
/// no regular file (a pipe here; a device such as /dev/full the same) is refused, untouched.
#[test]
fn report_writes_through_a_symlink_and_refuses_a_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("real.html");
    std::fs::write(&target, "old").unwrap();
    let link = tmp.path().join("link.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let folder = crate::common::fixtures_dir().join("a_single_c8_n200");
    let o = Command::new(bin("report"))
        .arg(&folder)
        .arg("-o")
        .arg(&link)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    let fifo = tmp.path().join("pipe.html");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let o = Command::new(bin("report"))
        .arg(&folder)
        .arg("-o")
        .arg(&fifo)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "report: {}: not a regular file: give the path of a file to write",
            fifo.display()
        )
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}
