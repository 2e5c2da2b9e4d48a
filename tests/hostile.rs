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
    /// Files written into `{dir}` before the run: (name, content).
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
const ROWS: &[Row] = &[Row {
    name: "loadgen: an unknown flag",
    tool: "loadgen",
    args: &["--url", "{url}", "--concurrency-x", "4"],
    files: &[],
    stdin: None,
    exit: 2,
    message: "--concurrency-x",
    max_rss_mib: 200,
    max_secs: 30,
}];

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
            std::fs::write(dir.path().join(name), content).unwrap();
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
