//! Long campaigns: `scripts/profile --resume` after a Ctrl-C reruns only the runs that are not
//! complete, leaves the kept runs' folders untouched, and rebuilds the aggregates over all.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::common::{bin, stderr, MockServer};

const BASE: &str = "artifacts/mock-openai-chat-concurrency_sweep";

fn args<'a>(url: &'a str, osl: &'a str) -> Vec<&'a str> {
    vec![
        "--model",
        "mock",
        "--url",
        url,
        "--streaming",
        "--concurrency",
        "1,2,4",
        "--request-count",
        "60",
        "--isl",
        "16",
        "--osl",
        osl,
        "--num-profile-runs",
        "2",
        "--ui",
        "none",
        "--no-server-metrics",
        "--profile-run-cooldown-seconds",
        "0.2",
    ]
}

fn profile(dir: &Path, args: &[&str]) -> Command {
    let mut c = crate::common::profile_cmd(dir);
    c.args(args);
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    profile(dir, args).output().unwrap()
}

/// Every file below `root` with its bytes and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let m = std::fs::metadata(&p).unwrap().modified().unwrap();
                out.insert(p.clone(), (std::fs::read(&p).unwrap(), m));
            }
        }
    }
    out
}

/// The run folders `sweep-agg --pending` says are still to do (the plan's folders are relative to `cwd`).
fn pending(cwd: &Path, base: &Path) -> Vec<String> {
    let o = Command::new(bin("sweep-agg"))
        .current_dir(cwd)
        .arg("--plan")
        .arg(base.join("plan.jsonl"))
        .arg("--pending")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn an_interrupted_sweep_resumes_with_only_the_missing_runs() {
    let mock = MockServer::start(&["--ttft-ms", "5", "--itl-ms", "3", "--max-batch", "4"]);
    let url = mock.url();
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join(BASE);

    // Ctrl-C (SIGINT to the whole process group, as a terminal sends it) once run 3 of 6 starts.
    let mut cmd = profile(tmp.path(), &args(&url, "8"));
    cmd.stderr(Stdio::piped()).process_group(0);
    // A shell started with SIGINT ignored (the suite run as a background job of a script) cannot
    // trap it, as POSIX says; the profile must see the signal as a terminal's Ctrl-C delivers it.
    // SAFETY: signal(2) between fork and exec touches only the child's dispositions.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        })
    };
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let t0 = Instant::now();
    loop {
        let line = lines.next().expect("profile ended before run 3").unwrap();
        if line.starts_with("profile: run 3/6") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "run 3 never started");
    }
    // SAFETY: kill(2) on the child's own process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    for _ in lines.by_ref() {}
    assert_eq!(child.wait().unwrap().code(), Some(130));

    let todo = pending(tmp.path(), &base);
    // Runs 1-2 are complete; run 3 was cut short, or finished before the signal landed.
    assert!((3..=4).contains(&todo.len()), "{todo:?}");
    let kept: Vec<PathBuf> = (1..=2)
        .flat_map(|t| [1, 2, 4].map(|c| base.join(format!("profile_runs/trial_{t:04}/concurrency_{c}"))))
        .filter(|d| {
            !todo
                .iter()
                .any(|p| Path::new(p).ends_with(d.strip_prefix(tmp.path()).unwrap()))
        })
        .collect();
    assert_eq!(kept.len(), 6 - todo.len());
    let before: Vec<_> = kept.iter().map(|d| snapshot(d)).collect();

    // A changed plan is refused, naming what changed; --resume on a folder with no sweep too.
    let o = run(tmp.path(), &[args(&url, "9"), vec!["--resume"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("loadgen.osl: 8 → 9") && stderr(&o).contains("--resume force"),
        "{}",
        stderr(&o)
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let o = run(elsewhere.path(), &[args(&url, "8"), vec!["--resume"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no plan.jsonl"), "{}", stderr(&o));

    let o = run(tmp.path(), &[args(&url, "8"), vec!["--resume"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "resuming: {} of 6 runs are complete and kept",
            kept.len()
        )),
        "{e}"
    );
    assert_eq!(
        e.matches("profile: run ").count(),
        todo.len(),
        "only the missing runs ran: {e}"
    );
    for (d, snap) in kept.iter().zip(&before) {
        assert_eq!(&snapshot(d), snap, "{} was touched", d.display());
    }
    assert!(pending(tmp.path(), &base).is_empty(), "every run is complete now");
    let agg: Value = serde_json::from_slice(
        &std::fs::read(base.join("sweep_aggregate/profile_export_aiperf_sweep.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(agg["metadata"]["num_profile_runs"], 6);
    assert_eq!(agg["metadata"]["num_successful_runs"], 6);
    assert_eq!(agg["per_combination_metrics"].as_array().unwrap().len(), 3);

    // --resume force keeps the old runs of a changed plan: nothing runs again.
    let o = run(tmp.path(), &[args(&url, "9"), vec!["--resume", "force"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("resuming: 6 of 6 runs are complete and kept"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("profile: run "), "{}", stderr(&o));
}
