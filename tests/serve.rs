//! `scripts/profile --serve`: one server per configuration, started in its own process group,
//! swept once ready, stopped with nothing left behind; a configuration whose server never gets
//! ready is recorded and the next one runs; `--resume` keeps finished configurations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::common::{bin, read_json, repo_root, stderr};

/// Load flags small enough for a test: one trial per value, few short requests.
const LOAD: [&str; 14] = [
    "--model",
    "mock",
    "--streaming",
    "--request-count",
    "12",
    "--isl",
    "8",
    "--osl",
    "4",
    "--ui",
    "none",
    "--no-server-metrics",
    "--profile-run-cooldown-seconds",
    "0",
];

/// Runs scripts/profile to its exit. Its output goes to files, not pipes: a leftover server
/// process holding a pipe would make the wait outlast profile and hide the leftover.
const FAST: &str = "--ttft-ms 1 --itl-ms 1";

fn profile(dir: &Path, args: &[&str]) -> Output {
    let (out, err) = (dir.join("profile.out"), dir.join("profile.err"));
    let status = Command::new(repo_root().join("scripts/profile"))
        .current_dir(dir)
        .env("SWEEPKIT_BIN_DIR", bin("loadgen").parent().unwrap())
        .args(LOAD)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    Output {
        status,
        stdout: std::fs::read(out).unwrap(),
        stderr: std::fs::read(err).unwrap(),
    }
}

/// A mock-llm command line (fast unless `extra` says otherwise) behind `sh`, which first leaves a `sleep MARKER` in the server's
/// process group: a member that is not the leader, so a stop that only kills the leader shows.
fn mock_cmd(marker: &str, extra: &str) -> String {
    format!(
        "sh -c 'sleep {marker} & exec {} --port {{port}} --served-model-name mock {extra}'",
        bin("mock-llm").display()
    )
}

/// A number no other process's command line holds: this test's sleeps are found by it.
fn marker(salt: u32) -> String {
    format!("{}{salt:03}.25", 700_000 + std::process::id() % 100_000)
}

/// Processes whose command line holds `needle` (other than this test itself).
fn processes_with(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                out.push(format!("{name}: {cmd}"));
            }
        }
    }
    out
}

/// The one sweep folder scripts/profile made inside a configuration's folder.
fn sweep_dir(config: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(config)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("plan.jsonl").is_file())
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one sweep folder in {}: {found:?}",
        config.display()
    );
    found[0].clone()
}

#[test]
fn two_configurations_each_swept_with_their_own_parameters_and_no_process_left() {
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(1);
    let o = profile(
        tmp.path(),
        &[
            "--serve",
            &format!(
                "HF_TOKEN=s3cr3t-hf DB_URL=http://user:s3cr3t-pw@127.0.0.1/db {}",
                mock_cmd(&m, "--max-batch {b} --api-key s3cr3t-k3y --ttft-ms 1 --itl-ms 1")
            ),
            "--serve-params",
            "b=4,16",
            "--api-key",
            "s3cr3t-k3y",
            "--concurrency",
            "{b},2*{b}",
            "--between-cells",
            "echo {url} >> between.txt",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        processes_with(&m),
        Vec::<String>::new(),
        "a server process outlived the sweep"
    );
    let mut between = Vec::new();
    for (b, values) in [("4", ["4", "8"]), ("16", ["16", "32"])] {
        let config = tmp.path().join(format!("artifacts/b-{b}"));
        let log = std::fs::read_to_string(config.join("server.log")).unwrap();
        assert!(
            log.contains(&format!("max batch {b}")),
            "server.log of b={b}: {log}"
        );
        let info = read_json(&config.join("server.json"));
        assert_eq!(info["status"], "complete", "{info}");
        assert_eq!(info["params"]["b"], b);
        assert_eq!(info["models"][0]["id"], "mock");
        assert_eq!(info["models"][0]["max_model_len"], 131072);
        assert_eq!(info["version"]["version"], env!("CARGO_PKG_VERSION"));
        let command = info["command"].as_str().unwrap();
        assert!(
            command.contains(&format!("--max-batch {b} --api-key REDACTED")),
            "{command}"
        );
        assert!(
            command.starts_with("HF_TOKEN=REDACTED DB_URL=http://user:REDACTED@127.0.0.1/db sh -c"),
            "{command}"
        );
        // The load values were computed from the parameter: {b} and 2*{b}.
        let sweep = sweep_dir(&config);
        for c in values {
            let run = sweep.join(format!("concurrency_{c}"));
            let summary = read_json(&run.join("profile_export_aiperf.json"));
            assert_eq!(summary["request_count"]["avg"], 12.0, "{}", run.display());
        }
        assert!(sweep
            .join("sweep_aggregate/profile_export_aiperf_sweep.json")
            .is_file());
        between.push(format!("{}\n", info["url"].as_str().unwrap()));
    }
    // Between the two runs of each configuration, with that configuration's URL.
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("between.txt")).unwrap(),
        between.concat()
    );
    // The key reached the server (its requests succeeded) and no artifact.
    let mut stack = vec![tmp.path().join("artifacts")];
    while let Some(d) = stack.pop() {
        for p in std::fs::read_dir(&d).unwrap().flatten().map(|e| e.path()) {
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                assert!(!text.contains("s3cr3t"), "the API key is in {}", p.display());
            }
        }
    }
}

#[test]
fn a_server_that_exits_or_never_gets_ready_is_recorded_and_the_next_configuration_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let (m_hang, m_good) = (marker(2), marker(3));
    let started = Instant::now();
    let o = profile(
        tmp.path(),
        &[
            "--serve-config",
            "crash=sh -c 'echo boom at start-up >&2; exit 3'",
            "--serve-config",
            &format!("hang=sleep {m_hang}"),
            "--serve-config",
            &format!("good={}", mock_cmd(&m_good, FAST)),
            "--server-ready-timeout",
            "2",
            "--server-stop-grace",
            "1",
            "--concurrency",
            "2",
        ],
    );
    let took = started.elapsed();
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed configuration exits 1: {}",
        stderr(&o)
    );
    let art = tmp.path().join("artifacts");
    let crash = read_json(&art.join("crash/server.json"));
    assert_eq!(crash["status"], "failed");
    assert!(
        crash["error"].as_str().unwrap().contains("exited with status 3"),
        "{crash}"
    );
    assert!(
        crash["log_tail"].as_str().unwrap().contains("boom at start-up"),
        "{crash}"
    );
    assert!(std::fs::read_to_string(art.join("crash/server_error.txt"))
        .unwrap()
        .contains("status 3"));
    let hang = read_json(&art.join("hang/server.json"));
    assert_eq!(hang["status"], "failed");
    assert!(
        hang["error"].as_str().unwrap().contains("not ready after 2s"),
        "{hang}"
    );
    let good = read_json(&art.join("good/server.json"));
    assert_eq!(good["status"], "complete", "{}", stderr(&o));
    assert!(sweep_dir(&art.join("good"))
        .join("profile_export_aiperf.json")
        .is_file());
    assert!(
        stderr(&o).contains("2 configuration(s) failed: crash hang"),
        "{}",
        stderr(&o)
    );
    for m in [&m_hang, &m_good] {
        assert_eq!(
            processes_with(m),
            Vec::<String>::new(),
            "a server process outlived the sweep"
        );
    }
    // The hung server cost its timeout, never early, and the crash none of it.
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
}

/// Every file below `root` with its modification time.
fn mtimes(root: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for p in std::fs::read_dir(&d).unwrap().flatten().map(|e| e.path()) {
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::metadata(&p).unwrap().modified().unwrap());
            }
        }
    }
    out
}

#[test]
fn resume_keeps_a_finished_configuration_and_runs_the_failed_one() {
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(4);
    let good = format!("a={}", mock_cmd(&m, FAST));
    let first = profile(
        tmp.path(),
        &[
            "--serve-config",
            &good,
            "--serve-config",
            "b=false",
            "--concurrency",
            "2",
        ],
    );
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let art = tmp.path().join("artifacts");
    assert_eq!(read_json(&art.join("b/server.json"))["status"], "failed");
    let kept = mtimes(&art.join("a"));
    let again = profile(
        tmp.path(),
        &[
            "--serve-config",
            &good,
            "--serve-config",
            &format!("b={}", mock_cmd(&m, FAST)),
            "--concurrency",
            "2",
            "--resume",
        ],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("configuration a is complete: kept"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        mtimes(&art.join("a")),
        kept,
        "the finished configuration was touched"
    );
    let b: Value = read_json(&art.join("b/server.json"));
    assert_eq!(b["status"], "complete");
    assert!(!art.join("b/server_error.txt").exists());
    assert!(sweep_dir(&art.join("b"))
        .join("profile_export_aiperf.json")
        .is_file());
    assert_eq!(processes_with(&m), Vec::<String>::new());
}

#[test]
fn compare_and_report_run_over_the_configurations_and_a_failed_gate_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(5);
    // The other configuration answers its first token 10x later: a gap the mock sets, far beyond
    // what a loaded machine adds, so the gate fails however busy CI is (a throughput gap between
    // batch sizes is an OS-timed claim that two trials under load could not separate).
    let o = profile(
        tmp.path(),
        &[
            "--serve-config",
            &format!("many={}", mock_cmd(&m, "--ttft-ms 20 --itl-ms 2")),
            "--serve-config",
            &format!("few={}", mock_cmd(&m, "--ttft-ms 200 --itl-ms 2")),
            "--concurrency",
            "8",
            "--request-count",
            "24",
            "--num-profile-runs",
            "2",
            "--gate",
            "time_to_first_token:p50:+50%",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "the gate fails: {}", stderr(&o));
    let art = tmp.path().join("artifacts");
    for c in ["many", "few"] {
        assert_eq!(read_json(&art.join(c).join("server.json"))["status"], "complete");
    }
    let cmp = read_json(&art.join("compare.json"));
    assert_eq!(cmp["base"], "many", "{cmp}");
    let labels: Vec<&str> = cmp["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["many", "few"]);
    assert_eq!(cmp["gates"][0]["passed"], false, "{}", cmp["gates"]);
    let md = std::fs::read_to_string(art.join("compare.md")).unwrap();
    assert!(md.contains("time_to_first_token"), "{md}");
    let page = std::fs::read_to_string(art.join("report.html")).unwrap();
    assert!(page.contains("many") && page.contains("few"));
    assert_eq!(processes_with(&m), Vec::<String>::new());
}
