//! `loadgen --ui dashboard` in a real terminal: driven in tmux against mock-llm, its numbers move
//! while the run runs, it ends with every record (as many as a `--ui none` run), `q` and Ctrl-C
//! stop it as Ctrl-C does, and where it cannot draw it falls back to the simple bar.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{bin, MockServer};

/// A tmux server of its own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        crate::common::require_tool("tmux", "-V", "tmux");
        Tmux {
            socket: format!("sweepkit-{}-{name}", std::process::id()),
        }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs `cmd` (a shell command line) in a 120×40 terminal; its exit code lands in `rc_file`.
    fn start(&self, cmd: &str, rc_file: &Path) {
        let line = format!("{cmd}; echo $? > '{}'; sleep 60", rc_file.display());
        self.tmux(&["new-session", "-d", "-s", "t", "-x", "120", "-y", "40", &line]);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// The screen once `pred` holds, or a panic showing the last screen.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no {what} on screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// The exit code the session wrote, waiting for it.
fn exit_code(rc_file: &Path) -> i32 {
    let t0 = Instant::now();
    loop {
        if let Ok(t) = std::fs::read_to_string(rc_file) {
            if let Ok(c) = t.trim().parse() {
                return c;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "the run did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `N` of the gauge's `profiling: N / TOTAL requests`.
fn done(screen: &str) -> Option<u64> {
    let rest = screen.split("profiling: ").nth(1)?;
    rest.split(" / ").next()?.trim().parse().ok()
}

/// Every line of a records file parses as JSON (a record); how many there are.
fn records(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    for l in text.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("bad record ({e}): {l}"));
    }
    text.lines().count()
}

/// A loadgen command line against `mock` writing its records to `out`.
fn loadgen_cmd(mock: &MockServer, n: u64, ui: &str, out: &Path) -> String {
    format!(
        "'{}' --url {} -m mock --streaming --concurrency 4 --request-count {n} --osl 24 --ui {ui} --output '{}' --run-info-out '{}.info'",
        bin("loadgen").display(),
        mock.url(),
        out.display(),
        out.display()
    )
}

fn slow_mock() -> MockServer {
    // About 0.15 s a request: 4 in flight make ~25 requests a second.
    MockServer::start(&["--ttft-ms", "30", "--itl-ms", "5", "--max-batch", "64"])
}

#[test]
fn the_dashboard_moves_while_the_run_runs_and_ends_with_every_record() {
    let mock = slow_mock();
    let tmp = tempfile::tempdir().unwrap();
    let (out, rc) = (tmp.path().join("dash.jsonl"), tmp.path().join("rc"));
    let t = Tmux::new("moves");
    t.start(&loadgen_cmd(&mock, 120, "dashboard", &out), &rc);
    let first = t.wait_for("dashboard with progress", |s| done(s).is_some_and(|n| n > 0));
    for panel in [
        "latency (ms)",
        "TTFT",
        "request latency",
        "in flight",
        "tokens/s",
        "errors by type",
        "client health",
        "dispatch lag",
        "q or Ctrl-C",
    ] {
        assert!(first.contains(panel), "no {panel} on the dashboard:\n{first}");
    }
    let n1 = done(&first).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let second = t.screen();
    let n2 = done(&second).unwrap_or_else(|| panic!("no progress on the second screen:\n{second}"));
    assert!(n2 > n1, "the numbers did not move: {n1} then {n2}\n{second}");
    assert!(first != second);
    assert_eq!(exit_code(&rc), 0);
    // The screen is given back and the summary line stays, as after the simple bar.
    let last = t.wait_for("summary", |s| s.contains("loadgen: 120 requests"));
    assert!(
        !last.contains("client health"),
        "the dashboard is gone after the run:\n{last}"
    );
    // As many records as the same run without a UI.
    let plain = tmp.path().join("plain.jsonl");
    let o = Command::new("sh")
        .arg("-c")
        .arg(loadgen_cmd(&mock, 120, "none", &plain))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(records(&out), records(&plain));
    assert_eq!(records(&out), 120);
}

#[test]
fn q_and_ctrl_c_stop_the_dashboard_as_ctrl_c_does() {
    let mock = slow_mock();
    for (name, key) in [("q", "q"), ("ctrl-c", "C-c")] {
        let tmp = tempfile::tempdir().unwrap();
        let (out, rc) = (tmp.path().join("r.jsonl"), tmp.path().join("rc"));
        let t = Tmux::new(name);
        t.start(&loadgen_cmd(&mock, 2000, "dashboard", &out), &rc);
        t.wait_for("progress", |s| done(s).is_some_and(|n| n >= 10));
        t.tmux(&["send-keys", "-t", "t", key]);
        assert_eq!(exit_code(&rc), 130, "{name}: interrupted");
        let n = records(&out);
        assert!(
            (10..2000).contains(&n),
            "{name}: the records so far are flushed: {n}"
        );
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join("r.jsonl.info")).unwrap()).unwrap();
        assert_eq!(
            info["was_cancelled"], true,
            "{name}: the run info says it stopped early"
        );
        let last = t.wait_for("summary", |s| s.contains("interrupted"));
        assert!(
            last.contains(&format!("loadgen: {n} requests")),
            "{name}:\n{last}"
        );
    }
}

#[test]
fn the_dashboard_falls_back_to_simple_where_it_cannot_draw() {
    let mock = slow_mock();
    let tmp = tempfile::tempdir().unwrap();
    // Not a terminal: no escape codes at all, the summary line only.
    let out = tmp.path().join("pipe.jsonl");
    let o = Command::new("sh")
        .arg("-c")
        .arg(loadgen_cmd(&mock, 8, "dashboard", &out))
        .output()
        .unwrap();
    assert!(o.status.success());
    let all = String::from_utf8_lossy(&o.stderr);
    // A loaded machine may add loadgen's client-health warning; the rest is the summary line only.
    let err: String = all
        .lines()
        .filter(|l| !l.starts_with("loadgen: warning: the client read chunks"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        !err.contains('\u{1b}') && err.starts_with("loadgen: 8 requests"),
        "{err:?}"
    );
    assert_eq!(records(&out), 8);
    // A terminal that refuses colour: the simple bar instead; a dumb one: the simple UI, which
    // indicatif does not draw there. Never the full screen, and the run ends as usual.
    for (name, env, bar) in [("nocolor", "NO_COLOR=1", true), ("dumb", "TERM=dumb", false)] {
        let out = tmp.path().join(format!("{name}.jsonl"));
        let rc = tmp.path().join(format!("{name}.rc"));
        let t = Tmux::new(name);
        t.start(
            &format!("env {env} {}", loadgen_cmd(&mock, 60, "dashboard", &out)),
            &rc,
        );
        let (mut saw_bar, t0) = (false, Instant::now());
        while !rc.exists() {
            let s = t.screen();
            assert!(!s.contains("client health"), "{name}: no dashboard:\n{s}");
            saw_bar |= s.contains("loadgen profiling") && s.contains(" req ");
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{name}: the run did not end"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(exit_code(&rc), 0);
        assert_eq!(saw_bar, bar, "{name}: the simple bar shown: {saw_bar}");
        assert_eq!(records(&out), 60);
        t.wait_for("summary", |s| s.contains("loadgen: 60 requests"));
    }
}
