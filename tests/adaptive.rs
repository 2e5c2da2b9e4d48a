//! Adaptive campaigns: convergence (a value stops getting trials once they agree) and the knee
//! of a sweep (reported, and `--stop-on-saturation` ends an increasing sweep past it), run
//! through scripts/profile against mock-llm.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{bin, profile_cmd, read_json as read, stderr, MockServer};

fn profile(dir: &Path, args: &[&str]) -> Output {
    profile_cmd(dir)
        .args([
            "--model",
            "mock",
            "--streaming",
            "--ui",
            "none",
            "--no-server-metrics",
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_steady_server_converges_early_in_a_plain_multi_run() {
    let mock = MockServer::start(&["--ttft-ms", "20", "--itl-ms", "1"]);
    let tmp = tempfile::tempdir().unwrap();
    let url = mock.url();
    let args = [
        "--url",
        &url,
        "--concurrency",
        "2",
        "--request-count",
        "30",
        "--isl",
        "16",
        "--osl",
        "4",
        "--num-profile-runs",
        "5",
        "--convergence-metric",
        // Steady by construction (the program's own --osl), not by the OS's timing: the verdict
        // is then exact on any machine, however loaded.
        "output_sequence_length",
        "--convergence-stat",
        "p50",
    ];
    let o = profile(tmp.path(), &args);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    // Converged at AIPerf's minimum of 2 trials (zero spread): the other 3 are skipped, not failed.
    let ran = e.matches("profile: run ").count() - e.matches(" skipped: ").count();
    assert_eq!(ran, 2, "{e}");
    let why = format!("skipped: base converged after {ran} trials");
    assert_eq!(e.matches(&why).count(), 5 - ran, "{e}");
    let base = tmp.path().join("artifacts/mock-openai-chat-concurrency2");
    for t in 1..=5 {
        let d = base.join(format!("profile_runs/run_{t:04}"));
        assert_eq!(d.join("run_skipped.txt").exists(), t > ran, "{}", d.display());
        assert!(!d.join("run_error.txt").exists());
    }
    let agg = read(&base.join("aggregate/profile_export_aiperf_aggregate.json"));
    let c = &agg["metadata"]["convergence"];
    assert_eq!(c["converged"], true, "{agg}");
    assert_eq!(c["trials"], ran);
    assert_eq!(c["mode"], "ci_width");
    assert!(c["criterion"].as_f64().unwrap() < 0.10);
    assert_eq!(agg["metadata"]["num_profile_runs"], ran);
    let col = read(&base.join("aggregate/profile_export_aiperf_collated.json"));
    assert_eq!(col["metadata"]["aggregation_type"], "detailed");
    assert_eq!(
        col["metrics"]["time_to_first_token"]["combined"]["count"],
        30 * ran
    );
    assert_eq!(
        col["metrics"]["time_to_first_token"]["per_run"]
            .as_array()
            .unwrap()
            .len(),
        ran
    );
    // --resume keeps the converged value's skipped trials skipped, and says so.
    let again = profile(tmp.path(), &[&args[..], &["--resume"]].concat());
    let e = stderr(&again);
    assert!(again.status.success(), "{e}");
    let said = format!(
        "resuming: 5 of 5 runs are complete and kept ({} of them skipped on purpose",
        5 - ran
    );
    assert!(e.contains(&said), "{e}");
    assert!(!e.contains("profile: run "), "a resumed run redid a run: {e}");
    for t in 1..=5 {
        let d = base.join(format!("profile_runs/run_{t:04}"));
        assert_eq!(d.join("run_skipped.txt").exists(), t > ran, "{}", d.display());
    }
}

#[test]
fn a_noisy_server_runs_every_trial_and_says_it_did_not_converge() {
    let mock = MockServer::start(&["--ttft-ms", "20", "--itl-ms", "1", "--jitter-cv", "1.0"]);
    let tmp = tempfile::tempdir().unwrap();
    let url = mock.url();
    let o = profile(
        tmp.path(),
        &[
            "--url",
            &url,
            "--concurrency",
            "1,2",
            "--request-count",
            "20",
            "--isl",
            "16",
            "--osl",
            "4",
            "--num-profile-runs",
            "4",
            "--convergence-metric",
            "time_to_first_token",
            "--convergence-stat",
            "p99",
            "--convergence-threshold",
            "0.02",
        ],
    );
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(!e.contains("skipped"), "{e}");
    assert_eq!(e.matches("profile: run ").count(), 8, "{e}");
    let base = tmp.path().join("artifacts/mock-openai-chat-concurrency_sweep");
    let sweep = read(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let conv = sweep["metadata"]["convergence"].as_array().unwrap();
    assert_eq!(conv.len(), 2);
    for v in conv {
        assert_eq!(v["converged"], false, "{v}");
        assert_eq!(v["trials"], 4);
    }
    assert!(sweep["metadata"].get("skipped_runs").is_none());
    let findings = std::fs::read_to_string(base.join("findings.md")).unwrap();
    assert!(
        findings.contains("concurrency_1: did not converge after 4 trials"),
        "{findings}"
    );
    // The decision stage alone: exit 1 while a value still needs trials.
    let plan = base.join("plan.jsonl");
    let decide = |extra: &[&str]| {
        Command::new(bin("sweep-agg"))
            .current_dir(tmp.path())
            .args(["--plan", plan.to_str().unwrap(), "--converged"])
            .args(["--convergence-metric", "time_to_first_token"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = decide(&["--convergence-stat", "p99", "--convergence-threshold", "0.02"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.starts_with("concurrency_1\tnot_converged\t4\t"), "{out}");
    // distribution: per value, the KS p-value of the last trial's per-request TTFTs against the
    // earlier trials' (recomputed here from the records), converged when above 0.05.
    let o = decide(&["--convergence-mode", "distribution"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(out.lines().count(), 2, "{out}");
    let ttfts = |label: &str, trials: std::ops::RangeInclusive<u32>| -> Vec<f64> {
        trials
            .flat_map(|t| {
                let run = base.join(format!("profile_runs/trial_{t:04}/{label}/profile_export.jsonl"));
                crate::common::jsonl(&run)
            })
            .filter(|r| r["error"].is_null())
            .map(|r| r["metrics"]["time_to_first_token"]["value"].as_f64().unwrap())
            .collect()
    };
    let mut all_converged = true;
    for (l, label) in out.lines().zip(["concurrency_1", "concurrency_2"]) {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[0], label, "{out}");
        let (earlier, last) = (ttfts(label, 1..=3), ttfts(label, 4..=4));
        assert_eq!((earlier.len(), last.len()), (60, 20), "{label}");
        let (_, p) = sweepkit::stats::ks::ks_2samp(&earlier, &last).unwrap();
        assert_eq!(f[3], format!("{p:.6}"), "{l}");
        let converged = p > 0.05;
        all_converged &= converged;
        let state = if converged { "converged" } else { "not_converged" };
        assert_eq!(&f[1..3], [state, "4"], "{l}");
    }
    assert_eq!(o.status.code(), Some(if all_converged { 0 } else { 1 }));
}

#[test]
fn a_sweep_stops_past_the_knee_and_reports_it() {
    let mock = MockServer::start(&["--max-batch", "4", "--ttft-ms", "10", "--itl-ms", "2"]);
    let tmp = tempfile::tempdir().unwrap();
    let url = mock.url();
    let args = [
        "--url",
        &url,
        "--concurrency",
        "1,2,4,8,16,32,64",
        "--request-count",
        "64",
        "--isl",
        "16",
        "--osl",
        "8",
        "--stop-on-saturation",
        // Past the knee the gain is ~0 %, before it ~100 % per doubling: a 25 % threshold sits far
        // from both, so a loaded client (whose turnaround idles a slot at concurrency 4 but not at
        // 8, worth several per cent) cannot move where the sweep stops; 5 % could.
        "--saturation-threshold",
        "0.25",
    ];
    let o = profile(tmp.path(), &args);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("profile: stopping the sweep: saturated at concurrency="),
        "{e}"
    );
    let base = tmp.path().join("artifacts/mock-openai-chat-concurrency_sweep");
    // 32 and 64 lie past the knee: skipped with the reason, not failed.
    for c in [32, 64] {
        let why = std::fs::read_to_string(base.join(format!("concurrency_{c}/run_skipped.txt"))).unwrap();
        assert!(why.contains("saturated at"), "{why}");
    }
    let sweep = read(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(
        sweep["metadata"]["skipped_runs"].as_array().unwrap().len(),
        2,
        "{sweep}"
    );
    assert!(sweep["metadata"]["failed_runs"].as_array().unwrap().is_empty());
    let knee = &sweep["knee"]["request_throughput_avg"];
    assert_eq!(knee["saturation_point"], 4.0, "{knee}");
    assert_eq!(knee["saturated"], true);
    assert!(knee["r_squared"].as_f64().unwrap() > 0.9, "{knee}");
    let findings = std::fs::read_to_string(base.join("findings.md")).unwrap();
    assert!(
        findings.contains("Knee of request_throughput_avg: saturates at concurrency = 4"),
        "{findings}"
    );
    assert!(findings.contains("## Skipped runs (not failures)"), "{findings}");
    // --resume does not run the values past the knee, and says they stay skipped.
    let again = profile(tmp.path(), &[&args[..], &["--resume"]].concat());
    let e = stderr(&again);
    assert!(again.status.success(), "{e}");
    assert!(
        e.contains("resuming: 7 of 7 runs are complete and kept (2 of them skipped on purpose"),
        "{e}"
    );
    assert!(!e.contains("profile: run "), "a resumed run redid a run: {e}");
    for c in [32, 64] {
        assert!(base.join(format!("concurrency_{c}/run_skipped.txt")).exists());
        assert!(!base
            .join(format!("concurrency_{c}/profile_export_aiperf.json"))
            .exists());
    }
}
