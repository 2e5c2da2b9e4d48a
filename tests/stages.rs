//! Swapping a stage for a real peer: `scripts/profile --loadgen CMD` runs CMD instead of loadgen for
//! each plan line (the line on stdin, the run folder as its argument), and the rest of the pipeline
//! aggregates what it measured. Shown with a stand-in around sweepkit's loadgen (always), and with
//! AIPerf 0.13 itself through scripts/aiperf-loadgen (where AIPerf is installed).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{bin, repo_root, MockServer};

fn profile(dir: &Path, path_prefix: Option<&Path>, args: &[&str]) -> Output {
    let mut c = crate::common::profile_cmd(dir);
    c.args(args);
    if let Some(p) = path_prefix {
        c.env(
            "PATH",
            format!("{}:{}", p.display(), std::env::var("PATH").unwrap_or_default()),
        );
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sweep_json(dir: &Path) -> Value {
    let p = dir.join(
        "artifacts/mock-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json",
    );
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn sweep_args(url: &str) -> Vec<&str> {
    vec![
        "-m",
        "mock",
        "--url",
        url,
        "--streaming",
        "--concurrency",
        "1,2",
        "--request-count",
        "10",
        "--isl",
        "32",
        "--osl",
        "8",
        "--ui",
        "none",
        "--no-server-metrics",
    ]
}

#[test]
fn profile_runs_another_load_generator_for_each_plan_line() {
    let mock = MockServer::start(&["--ttft-ms", "2", "--itl-ms", "1"]);
    let tmp = tempfile::tempdir().unwrap();
    // A stand-in stage: checks what it is given, then lets sweepkit's loadgen measure.
    let stage = tmp.path().join("my-stage");
    std::fs::write(
        &stage,
        format!(
            "#!/bin/sh\nset -e\n[ -d \"$1\" ] || {{ echo \"my-stage: no run folder\" >&2; exit 3; }}\n\
             [ \"$OPENAI_API_KEY\" = sk-stage ] || {{ echo \"my-stage: no key\" >&2; exit 4; }}\n\
             echo called >>\"$1/stage.txt\"\n\
             exec {} --spec - --api-key \"$OPENAI_API_KEY\" --output \"$1/profile_export.jsonl\" --run-info-out \"$1/run_info.json\"\n",
            bin("loadgen").display()
        ),
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&stage).unwrap().permissions(), 0o755);
    std::fs::set_permissions(&stage, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let stage_s = stage.to_str().unwrap();
    let url = mock.url();
    let o = profile(
        tmp.path(),
        None,
        &[
            vec!["--loadgen", stage_s, "--api-key", "sk-stage"],
            sweep_args(&url),
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}\n{}", text(&o.stdout), text(&o.stderr));
    let s = sweep_json(tmp.path());
    assert_eq!(s["metadata"]["num_successful_runs"], 2);
    for c in [1, 2] {
        let d = tmp.path().join(format!(
            "artifacts/mock-openai-chat-concurrency_sweep/concurrency_{c}"
        ));
        assert_eq!(std::fs::read_to_string(d.join("stage.txt")).unwrap(), "called\n");
    }
    assert!(!text(&o.stdout).contains("sk-stage") && !text(&o.stderr).contains("sk-stage"));

    // A command that is not there, and one that writes no records: one clear line each.
    let o = profile(
        tmp.path(),
        None,
        &[vec!["--loadgen", "/no/such/stage"], sweep_args(&url)].concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--loadgen /no/such/stage: no such command"),
        "{}",
        text(&o.stderr)
    );
    let o = profile(
        tmp.path(),
        None,
        &[vec!["--loadgen", "true"], sweep_args(&url)].concat(),
    );
    let why = std::fs::read_to_string(
        tmp.path()
            .join("artifacts/mock-openai-chat-concurrency_sweep/concurrency_1/run_error.txt"),
    )
    .unwrap();
    assert!(
        why.starts_with("true wrote no records in"),
        "{why}\n{}",
        text(&o.stderr)
    );
}

/// AIPerf on PATH, else where scripts/install-test-deps puts it.
fn aiperf_dir() -> Option<PathBuf> {
    let on_path = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(PathBuf::from)
        .find(|d| d.join("aiperf").is_file());
    let venv = std::env::var("SWEEPKIT_AIPERF_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"));
            cache.join("sweepkit/aiperf-0.13.0")
        });
    on_path.or_else(|| Some(venv.join("bin")).filter(|d| d.join("aiperf").is_file()))
}

/// Whether `SWEEPKIT_ALLOW_SKIP` (a comma-separated list) names `what`: the one way a test that
/// needs a missing peer may pass without it.
fn skip_allowed(what: &str) -> bool {
    std::env::var("SWEEPKIT_ALLOW_SKIP").is_ok_and(|v| v.split(',').any(|w| w.trim() == what))
}

#[test]
fn a_sweep_runs_end_to_end_with_aiperf_as_the_load_generator() {
    let Some(aiperf) = aiperf_dir() else {
        let why = "AIPerf 0.13 is not installed (scripts/install-test-deps installs it into \
                   ~/.cache/sweepkit/aiperf-0.13.0)";
        assert!(
            skip_allowed("aiperf"),
            "{why}: install it, or set SWEEPKIT_ALLOW_SKIP=aiperf to skip this test on purpose"
        );
        // Straight to the process's stderr: the test harness captures eprintln!, and a skip must show.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED a_sweep_runs_end_to_end_with_aiperf_as_the_load_generator (SWEEPKIT_ALLOW_SKIP=aiperf): {why}\n")
                .as_bytes(),
        );
        return;
    };
    let mock = MockServer::start(&["--ttft-ms", "3", "--itl-ms", "1"]);
    let tmp = tempfile::tempdir().unwrap();
    let adapter = repo_root().join("scripts/aiperf-loadgen");
    let url = mock.url();
    let o = profile(
        tmp.path(),
        Some(&aiperf),
        &[vec!["--loadgen", adapter.to_str().unwrap()], sweep_args(&url)].concat(),
    );
    assert!(o.status.success(), "{}\n{}", text(&o.stdout), text(&o.stderr));
    let s = sweep_json(tmp.path());
    assert_eq!(s["metadata"]["num_successful_runs"], 2, "{}", text(&o.stderr));
    let run = tmp
        .path()
        .join("artifacts/mock-openai-chat-concurrency_sweep/concurrency_2");
    // AIPerf measured it: its own artifacts sit in aiperf/, its records were summarised by trial-agg.
    let theirs: Vec<Value> = std::fs::read_to_string(run.join("profile_export.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(theirs.len(), 10);
    assert!(theirs[0]["metadata"]["worker_id"]
        .as_str()
        .is_some_and(|w| w.starts_with("worker_")));
    let ours: Value =
        serde_json::from_slice(&std::fs::read(run.join("profile_export_aiperf.json")).unwrap()).unwrap();
    assert_eq!(ours["request_count"]["avg"], 10.0);
}
