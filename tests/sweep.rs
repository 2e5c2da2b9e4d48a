//! Sweeps: sweep-plan's golden plans and artifact trees, sweep-agg's aggregates (TV1, TV5, the
//! guide's schema and Python snippet, failed runs, CV flags, AIPerf's own artifacts) and pareto (TV3,
//! SLOs, pictures). Summaries are written by the tests; no server is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::{bin, fixtures_dir, read_json, run, stderr, stdout};

fn run_in(dir: &Path, tool: &str, args: &[&str]) -> Output {
    Command::new(bin(tool))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run tool")
}

fn plan_in(dir: &Path, args: &[&str]) -> Vec<Value> {
    let o = run_in(dir, "sweep-plan", args);
    assert!(o.status.success(), "sweep-plan {args:?}: {}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (run_index, trial, variation_label, seed, cooldown, warmup, artifact_dir) of each line.
fn shape(lines: &[Value]) -> Vec<(u64, u64, String, u64, f64, bool, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l["run_index"].as_u64().unwrap(),
                l["trial"].as_u64().unwrap(),
                l["variation_label"].as_str().unwrap().to_string(),
                l["seed"].as_u64().unwrap(),
                l["cooldown_seconds"].as_f64().unwrap(),
                l["warmup"].as_bool().unwrap(),
                l["artifact_dir"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(
    i: u64,
    t: u64,
    v: &str,
    seed: u64,
    cd: f64,
    warm: bool,
    dir: &str,
) -> (u64, u64, String, u64, f64, bool, String) {
    (i, t, v.into(), seed, cd, warm, dir.into())
}

const GUIDE_ARGS: [&str; 14] = [
    "--model",
    "llama-3-8b",
    "--url",
    "http://localhost:8000",
    "--concurrency",
    "10,20,30",
    "--num-profile-runs",
    "2",
    "--profile-run-cooldown-seconds",
    "10",
    "--parameter-sweep-cooldown-seconds",
    "30",
    "--warmup-request-count",
    "5",
];

#[test]
fn golden_plan_repeated_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = plan_in(tmp.path(), &GUIDE_ARGS);
    let b = "artifacts/llama-3-8b-openai-chat-concurrency_sweep/profile_runs";
    assert_eq!(
        shape(&lines),
        vec![
            row(
                0,
                1,
                "concurrency_10",
                42,
                0.0,
                true,
                &format!("{b}/trial_0001/concurrency_10")
            ),
            row(
                1,
                1,
                "concurrency_20",
                43,
                30.0,
                true,
                &format!("{b}/trial_0001/concurrency_20")
            ),
            row(
                2,
                1,
                "concurrency_30",
                44,
                30.0,
                true,
                &format!("{b}/trial_0001/concurrency_30")
            ),
            row(
                3,
                2,
                "concurrency_10",
                42,
                10.0,
                false,
                &format!("{b}/trial_0002/concurrency_10")
            ),
            row(
                4,
                2,
                "concurrency_20",
                43,
                30.0,
                false,
                &format!("{b}/trial_0002/concurrency_20")
            ),
            row(
                5,
                2,
                "concurrency_30",
                44,
                30.0,
                false,
                &format!("{b}/trial_0002/concurrency_30")
            ),
        ]
    );
    // Each line is a complete loadgen spec with its own value and seed; warmup only where due.
    assert_eq!(
        lines[0]["loadgen"],
        json!({"model": "llama-3-8b", "endpoint_type": "chat", "url": "http://localhost:8000", "concurrency": 10,
               "random_seed": 42, "warmup_request_count": 5, "ui": "simple"})
    );
    assert_eq!(lines[4]["loadgen"]["concurrency"], 20);
    assert_eq!(lines[4]["loadgen"]["random_seed"], 43);
    assert!(lines[4]["loadgen"].get("warmup_request_count").is_none());
    assert_eq!(lines[4]["trial_label"], "trial_0002");
    assert_eq!(lines[4]["parameters"], json!({"concurrency": 20}));
}

#[test]
fn golden_plan_independent_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = GUIDE_ARGS.to_vec();
    args.extend(["--parameter-sweep-mode", "independent", "--random-seed", "123"]);
    let lines = plan_in(tmp.path(), &args);
    let b = "artifacts/llama-3-8b-openai-chat-concurrency_sweep";
    assert_eq!(
        shape(&lines),
        vec![
            row(
                0,
                1,
                "concurrency_10",
                123,
                0.0,
                true,
                &format!("{b}/concurrency_10/profile_runs/trial_0001")
            ),
            row(
                1,
                2,
                "concurrency_10",
                123,
                10.0,
                false,
                &format!("{b}/concurrency_10/profile_runs/trial_0002")
            ),
            row(
                2,
                1,
                "concurrency_20",
                124,
                30.0,
                true,
                &format!("{b}/concurrency_20/profile_runs/trial_0001")
            ),
            row(
                3,
                2,
                "concurrency_20",
                124,
                10.0,
                false,
                &format!("{b}/concurrency_20/profile_runs/trial_0002")
            ),
            row(
                4,
                1,
                "concurrency_30",
                125,
                30.0,
                true,
                &format!("{b}/concurrency_30/profile_runs/trial_0001")
            ),
            row(
                5,
                2,
                "concurrency_30",
                125,
                10.0,
                false,
                &format!("{b}/concurrency_30/profile_runs/trial_0002")
            ),
        ]
    );
}

#[test]
fn tv6_seeds_same_seed_and_grid_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds = |lines: &[Value]| {
        lines
            .iter()
            .map(|l| l["seed"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        seeds(&plan_in(tmp.path(), &["-m", "m", "--concurrency", "10,20,40"])),
        [42, 43, 44]
    );
    assert_eq!(
        seeds(&plan_in(
            tmp.path(),
            &[
                "-m",
                "m",
                "--concurrency",
                "10,20,40",
                "--random-seed",
                "42",
                "--parameter-sweep-same-seed"
            ]
        )),
        [42, 42, 42]
    );
    let grid = plan_in(
        tmp.path(),
        &["-m", "m", "--concurrency", "10,20", "--isl", "512,1024"],
    );
    let labels: Vec<&str> = grid
        .iter()
        .map(|l| l["variation_label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "concurrency_10__isl_512",
            "concurrency_10__isl_1024",
            "concurrency_20__isl_512",
            "concurrency_20__isl_1024"
        ]
    );
    assert_eq!(seeds(&grid), [42, 43, 44, 45]);
    assert_eq!(grid[3]["loadgen"]["isl"], 1024);
    let zip = plan_in(
        tmp.path(),
        &[
            "-m",
            "m",
            "--concurrency",
            "10,20",
            "--isl",
            "512,1024",
            "--sweep-type",
            "zip",
        ],
    );
    let labels: Vec<&str> = zip
        .iter()
        .map(|l| l["variation_label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["concurrency_10__isl_512", "concurrency_20__isl_1024"]);
}

#[test]
fn ui_rules_and_messages_of_the_guide() {
    let o = run(
        "sweep-plan",
        &["-m", "m", "--concurrency", "10,20,30,40", "--osl", "16"],
    );
    assert!(o.status.success());
    assert_eq!(
        stderr(&o).trim(),
        "Parameter sweep mode: UI automatically set to 'simple' (use '--ui none' to disable UI output)"
    );
    assert!(stdout(&o).lines().all(|l| l.contains(r#""ui":"simple""#)));
    let o = run(
        "sweep-plan",
        &["-m", "m", "--concurrency", "10,20,30,40", "--ui", "dashboard"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "sweep-plan: Dashboard UI is not supported with parameter sweeps due to terminal control limitations. Please use '--ui simple' or '--ui none' instead."
    );
    assert!(stdout(&o).is_empty());
    let o = run(
        "sweep-plan",
        &["-m", "m", "--concurrency", "10,20", "--ui", "none", "--osl", "16"],
    );
    assert!(o.status.success() && stderr(&o).is_empty());
    assert!(stdout(&o).contains(r#""ui":"none""#));
    // No sweep: no message, no UI forced, and dashboard is allowed and reaches loadgen.
    let o = run(
        "sweep-plan",
        &[
            "-m",
            "m",
            "--concurrency",
            "10",
            "--ui",
            "dashboard",
            "--osl",
            "16",
        ],
    );
    assert!(o.status.success() && stderr(&o).is_empty(), "{}", stderr(&o));
    assert!(stdout(&o).contains(r#""ui":"dashboard""#), "{}", stdout(&o));
}

#[test]
fn invalid_combinations_name_the_flag() {
    for (args, want) in [
        (
            vec!["--concurrency", "10,,20"],
            "invalid value '' for '--concurrency <N[,N...]>': empty value",
        ),
        (
            vec!["--concurrency", "10,abc"],
            "invalid value 'abc' for '--concurrency <N[,N...]>': not a whole number",
        ),
        (
            vec!["--concurrency", "0,10"],
            "invalid value '0' for '--concurrency <N[,N...]>': must be at least 1",
        ),
        (
            vec!["--request-rate", "5,-1"],
            "invalid value '-1' for '--request-rate <RPS[,RPS...]>': must be a positive number",
        ),
        (
            vec!["--concurrency", "10,10"],
            "--concurrency: value 10 is listed twice",
        ),
        (
            vec!["--concurrency", "10,20", "--parameter-sweep-same-seed"],
            "--parameter-sweep-same-seed requires --random-seed",
        ),
        (
            vec!["--concurrency", "10,20", "--num-profile-runs", "0"],
            "--num-profile-runs must be at least 1",
        ),
        (
            vec!["--concurrency", "10,20", "--num-profile-runs", "11"],
            "--num-profile-runs: at most 10",
        ),
        (
            vec!["--concurrency", "10,20", "--isl", "1,2,3", "--sweep-type", "zip"],
            "--sweep-type zip: --concurrency has 2 values but --isl has 3",
        ),
        (
            vec!["--concurrency", "10,20", "--confidence-level", "1.5"],
            "--confidence-level must be between 0 and 1",
        ),
        (
            vec!["--concurrency", "1", "--profile-run-cooldown-seconds=-3"],
            "--profile-run-cooldown-seconds must be",
        ),
        (
            vec!["--request-count", "10", "--benchmark-duration", "5,10"],
            "--request-count and --benchmark-duration are mutually exclusive",
        ),
        (
            vec!["--concurrency", "1,2", "--api-key", "sk-secret"],
            "secrets never go into a plan",
        ),
    ] {
        let mut a = vec!["-m", "m"];
        a.extend(args.iter().copied());
        let o = run("sweep-plan", &a);
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        let e = stderr(&o);
        assert!(e.starts_with("sweep-plan: ") && e.contains(want), "{a:?}: {e}");
        assert!(!e.contains("sk-secret"), "the secret is not echoed");
        assert!(stdout(&o).is_empty());
    }
}

/// A minimal trial summary in AIPerf's shape.
fn summary(thr: f64, ttft_p99: f64, lat_p99: f64) -> Value {
    json!({
        "schema_version": "1.5",
        "request_throughput": {"unit": "requests/sec", "avg": thr},
        "output_token_throughput": {"unit": "tokens/sec", "avg": thr * 32.0},
        "request_count": {"unit": "requests", "avg": 100.0},
        "time_to_first_token": {"unit": "ms", "avg": ttft_p99 / 2.0, "p50": ttft_p99 / 2.0, "p99": ttft_p99, "min": 1.0, "max": ttft_p99 + 1.0, "std": 1.0, "count": 100, "sum": ttft_p99 * 50.0},
        "request_latency": {"unit": "ms", "avg": lat_p99 / 2.0, "p99": lat_p99, "min": 1.0, "max": lat_p99 + 1.0, "std": 2.0, "count": 100, "sum": lat_p99 * 50.0},
        "run_info": {"variation_values": {}},
        "error_summary": []
    })
}

fn write_summary(dir: &Path, doc: &Value) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("profile_export_aiperf.json"),
        serde_json::to_vec_pretty(doc).unwrap(),
    )
    .unwrap();
}

/// Writes a plan into `root`, fills every run folder via `fill(line)`, and returns the plan path.
fn plan_with_runs(root: &Path, args: &[&str], mut fill: impl FnMut(&Value) -> Option<Value>) -> PathBuf {
    let lines = plan_in(root, args);
    let plan = root.join("plan.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&plan, text).unwrap();
    for l in &lines {
        let dir = root.join(l["artifact_dir"].as_str().unwrap());
        match fill(l) {
            Some(doc) => write_summary(&dir, &doc),
            None => {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("run_error.txt"), "Connection timeout after 60s\n").unwrap();
            }
        }
    }
    plan
}

fn files_under(root: &Path) -> Vec<String> {
    fn walk(d: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn agg(root: &Path, args: &[&str]) -> Output {
    run_in(root, "sweep-agg", args)
}

fn thr_for(c: u64) -> f64 {
    // Throughput scales, then saturates; latency rises.
    match c {
        10 => 95.0,
        20 => 175.0,
        30 => 245.0,
        _ => 255.0,
    }
}

#[test]
fn artifact_tree_single_trial_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let plan = plan_with_runs(root, &["-m", "llama-3-8b", "--concurrency", "10,20,30,40"], |l| {
        let c = l["parameters"]["concurrency"].as_u64().unwrap();
        Some(summary(thr_for(c), 100.0 + c as f64, 500.0 + c as f64))
    });
    let o = agg(root, &["--plan", plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let base = root.join("artifacts/llama-3-8b-openai-chat-concurrency_sweep");
    assert_eq!(
        files_under(&base),
        [
            "concurrency_10/profile_export_aiperf.json",
            "concurrency_20/profile_export_aiperf.json",
            "concurrency_30/profile_export_aiperf.json",
            "concurrency_40/profile_export_aiperf.json",
            "sweep_aggregate/profile_export_aiperf_sweep.csv",
            "sweep_aggregate/profile_export_aiperf_sweep.json",
        ]
    );
    let report: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        report["sweep_aggregate"],
        "artifacts/llama-3-8b-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json"
    );
    // A single-trial sweep still gets best configurations and a Pareto set (AIPerf 0.13 leaves them empty).
    let s = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(
        s["best_configurations"]["best_throughput"],
        json!({"parameters": {"concurrency": 40}, "metric": 255.0, "unit": "requests/sec"})
    );
    assert_eq!(
        s["best_configurations"]["best_latency_p99"],
        json!({"parameters": {"concurrency": 10}, "metric": 110.0, "unit": "ms"})
    );
    assert_eq!(
        s["pareto_optimal"],
        json!([{"concurrency": 10}, {"concurrency": 20}, {"concurrency": 30}, {"concurrency": 40}])
    );
    let m = &s["per_combination_metrics"][0]["metrics"]["request_throughput_avg"];
    assert_eq!(m["mean"], 95.0);
    assert_eq!(
        (
            m["std"].as_f64(),
            m["cv"].as_f64(),
            m["ci_low"].as_f64(),
            m["ci_high"].as_f64()
        ),
        (Some(0.0), Some(0.0), Some(95.0), Some(95.0))
    );
    assert_eq!(m["t_critical"], Value::Null);
    // TV5 on the sweep: throughput 95,175,245,255 → rate 80,70,10 → inflection at 40 (scaling slows).
    let t = &s["trends"]["request_throughput_avg"];
    assert_eq!(t["rate_of_change"], json!([80.0, 70.0, 10.0]));
    assert_eq!(t["inflection_points"], json!([40]));
    assert_eq!(t["scaling_slows_at"], json!([40]));
}

#[test]
fn artifact_tree_trials_repeated_and_tv1_aggregates() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let vals = [100.0, 110.0, 105.0];
    let plan = plan_with_runs(
        root,
        &[
            "-m",
            "llama-3-8b",
            "--concurrency",
            "10,20",
            "--num-profile-runs",
            "3",
        ],
        |l| {
            let c = l["parameters"]["concurrency"].as_u64().unwrap() as f64;
            let t = l["trial"].as_u64().unwrap() as usize;
            Some(summary(vals[t - 1] * c / 10.0, 50.0 + c, 400.0))
        },
    );
    let o = agg(root, &["--plan", plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let base = root.join("artifacts/llama-3-8b-openai-chat-concurrency_sweep");
    let files = files_under(&base);
    for want in [
        "profile_runs/trial_0001/concurrency_10/profile_export_aiperf.json",
        "profile_runs/trial_0003/concurrency_20/profile_export_aiperf.json",
        "aggregate/concurrency_10/profile_export_aiperf_aggregate.json",
        "aggregate/concurrency_10/profile_export_aiperf_aggregate.csv",
        "aggregate/concurrency_20/profile_export_aiperf_aggregate.json",
        "sweep_aggregate/profile_export_aiperf_sweep.json",
        "sweep_aggregate/profile_export_aiperf_sweep.csv",
    ] {
        assert!(files.contains(&want.to_string()), "{want} missing from {files:?}");
    }
    assert_eq!(files.len(), 6 + 4 + 2);
    // TV1 row 1: [100, 110, 105] at CL 0.95.
    let a = read_json(&base.join("aggregate/concurrency_10/profile_export_aiperf_aggregate.json"));
    let m = &a["metrics"]["request_throughput_avg"];
    let close = |k: &str, want: f64| {
        let got = m[k].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-12 * want.abs(), "{k}: {got} vs {want}");
    };
    close("mean", 105.0);
    close("std", 5.0);
    close("cv", 0.047619047619047616);
    close("se", 2.886751345948129);
    close("t_critical", 4.302652729749462);
    close("ci_low", 92.57931144124835);
    close("ci_high", 117.42068855875165);
    assert_eq!(
        (m["min"].as_f64(), m["max"].as_f64(), m["unit"].as_str()),
        (Some(100.0), Some(110.0), Some("requests/sec"))
    );
    assert_eq!(
        a["metadata"]["run_labels"],
        json!(["trial_0001", "trial_0002", "trial_0003"])
    );
    assert_eq!(a["metadata"]["sweep_mode"], "repeated");
    assert_eq!(a["metadata"]["variation_values"], json!({"concurrency": 10}));
    let csv =
        std::fs::read_to_string(base.join("aggregate/concurrency_10/profile_export_aiperf_aggregate.csv"))
            .unwrap();
    assert!(
        csv.starts_with("metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\n"),
        "{csv}"
    );
    assert!(csv.contains("\nrequest_throughput_avg,105.00,5.00,100.00,110.00,0.0476,2.8868,92.58,117.42,4.3027,requests/sec\n"), "{csv}");
    assert!(
        csv.contains("\n\nAggregation Type,confidence\nTotal Runs,3\nSuccessful Runs,3\n"),
        "{csv}"
    );
}

#[test]
fn artifact_tree_trials_independent_and_without_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let plan = plan_with_runs(
        root,
        &[
            "-m",
            "m",
            "--concurrency",
            "2,4",
            "--num-profile-runs",
            "2",
            "--parameter-sweep-mode",
            "independent",
        ],
        |_| Some(summary(10.0, 20.0, 30.0)),
    );
    let o = agg(root, &["--plan", plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        files_under(&root.join("artifacts/m-openai-chat-concurrency_sweep")),
        [
            "concurrency_2/aggregate/profile_export_aiperf_aggregate.csv",
            "concurrency_2/aggregate/profile_export_aiperf_aggregate.json",
            "concurrency_2/profile_runs/trial_0001/profile_export_aiperf.json",
            "concurrency_2/profile_runs/trial_0002/profile_export_aiperf.json",
            "concurrency_4/aggregate/profile_export_aiperf_aggregate.csv",
            "concurrency_4/aggregate/profile_export_aiperf_aggregate.json",
            "concurrency_4/profile_runs/trial_0001/profile_export_aiperf.json",
            "concurrency_4/profile_runs/trial_0002/profile_export_aiperf.json",
            "sweep_aggregate/profile_export_aiperf_sweep.csv",
            "sweep_aggregate/profile_export_aiperf_sweep.json",
        ]
    );
    let s =
        read_json(&root.join(
            "artifacts/m-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json",
        ));
    assert_eq!(s["metadata"]["sweep_mode"], "independent");

    // No sweep, three trials: AIPerf's profile_runs/run_NNNN/ + aggregate/, no sweep aggregate.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let plan = plan_with_runs(
        root,
        &["-m", "m", "--concurrency", "8", "--num-profile-runs", "3"],
        |_| Some(summary(10.0, 20.0, 30.0)),
    );
    let o = agg(root, &["--plan", plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        files_under(&root.join("artifacts/m-openai-chat-concurrency8")),
        [
            "aggregate/profile_export_aiperf_aggregate.csv",
            "aggregate/profile_export_aiperf_aggregate.json",
            "profile_runs/run_0001/profile_export_aiperf.json",
            "profile_runs/run_0002/profile_export_aiperf.json",
            "profile_runs/run_0003/profile_export_aiperf.json",
        ]
    );
    // One run, no sweep: the run's folder is the base itself.
    let one = plan_in(root, &["-m", "m", "--concurrency", "8"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["artifact_dir"], "artifacts/m-openai-chat-concurrency8");
    assert_eq!(one[0]["trial_label"], "run_0001");
    assert_eq!(one[0]["variation_label"], "base");
}

/// The guide's example schema, checked key by key on our sweep aggregate.
fn check_guide_schema(s: &Value) {
    let md = &s["metadata"];
    assert_eq!(md["aggregation_type"], "sweep");
    for p in md["sweep_parameters"].as_array().unwrap() {
        assert!(p["name"].is_string() && p["values"].is_array(), "{p}");
    }
    for k in ["num_combinations", "num_trials_per_value", "num_successful_runs"] {
        assert!(md[k].is_u64(), "metadata.{k}");
    }
    assert!(md["sweep_mode"] == "repeated" || md["sweep_mode"] == "independent");
    assert!(md["confidence_level"].is_f64());
    for f in md["failed_runs"].as_array().unwrap() {
        assert!(f["run_index"].is_u64() && f["error"].is_string(), "{f}");
    }
    for c in s["per_combination_metrics"].as_array().unwrap() {
        assert!(c["parameters"].is_object());
        for key in ["request_throughput_avg", "ttft_p99_ms"] {
            let m = &c["metrics"][key];
            for f in ["mean", "std", "min", "max", "cv", "ci_low", "ci_high"] {
                assert!(m[f].is_number(), "{key}.{f} in {m}");
            }
            assert!(m["unit"].is_string());
        }
    }
    for k in ["best_throughput", "best_latency_p99"] {
        let b = &s["best_configurations"][k];
        assert!(
            b["parameters"].is_object() && b["metric"].is_number() && b["unit"].is_string(),
            "{k}: {b}"
        );
    }
    for p in s["pareto_optimal"].as_array().unwrap() {
        assert!(p.is_object());
    }
}

#[test]
fn failed_value_in_the_middle_and_cv_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // Concurrency 20 fails in both trials (a loadgen failure, then every request failed); 30 is noisy.
    let plan = plan_with_runs(
        root,
        &["-m", "m", "--concurrency", "10,20,30", "--num-profile-runs", "2"],
        |l| {
            let c = l["parameters"]["concurrency"].as_u64().unwrap();
            let t = l["trial"].as_u64().unwrap();
            match (c, t) {
                (20, 1) => None,
                (20, _) => {
                    let mut s = summary(0.0, 0.0, 0.0);
                    s["request_count"]["avg"] = json!(0.0);
                    s["error_summary"] = json!([{"error_details": {"code": 500, "type": "HTTPError", "message": "boom"}, "count": 100}]);
                    Some(s)
                }
                (30, 1) => Some(summary(100.0, 80.0, 400.0)),
                (30, _) => Some(summary(200.0, 82.0, 410.0)),
                _ => Some(summary(50.0, 40.0, 300.0 + t as f64)),
            }
        },
    );
    let base = root.join("artifacts/m-openai-chat-concurrency_sweep");
    let findings = base.join("findings.md");
    let o = agg(
        root,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--findings",
            findings.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    check_guide_schema(&s);
    let md = &s["metadata"];
    assert_eq!(md["num_combinations"], 3);
    assert_eq!(md["num_profile_runs"], 6);
    assert_eq!(md["num_successful_runs"], 4);
    assert_eq!(
        md["failed_runs"],
        json!([
            {"run_index": 1, "label": "trial_0001", "parameters": {"concurrency": 20}, "error": "Connection timeout after 60s"},
            {"run_index": 4, "label": "trial_0002", "parameters": {"concurrency": 20}, "error": "All 100 requests failed"}
        ])
    );
    let params: Vec<&Value> = s["per_combination_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["parameters"])
        .collect();
    assert_eq!(params, [&json!({"concurrency": 10}), &json!({"concurrency": 30})]);
    assert_eq!(
        s["pareto_optimal"],
        json!([{"concurrency": 10}, {"concurrency": 30}])
    );
    assert_eq!(
        md["sweep_parameters"],
        json!([{"name": "concurrency", "values": [10, 20, 30]}])
    );
    // Throughput at 30 is 100 vs 200: CV 47% > 20% → flagged and warned about.
    let flags = md["high_variance"].as_array().unwrap();
    assert!(flags.iter().any(|f| f["parameters"] == json!({"concurrency": 30}) && f["metric"] == "request_throughput_avg"), "{flags:?}");
    assert!(
        !flags
            .iter()
            .any(|f| f["parameters"] == json!({"concurrency": 10})),
        "{flags:?}"
    );
    let e = stderr(&o);
    assert!(
        e.contains("sweep-agg: warning: concurrency=30: request_throughput_avg varies by CV 47.1% (> 20%)"),
        "{e}"
    );
    assert!(
        e.contains("failed and is excluded: Connection timeout after 60s"),
        "{e}"
    );
    let f = std::fs::read_to_string(&findings).unwrap();
    for want in [
        "## Optimal configuration per objective",
        "Highest throughput (request_throughput_avg): **concurrency=30**",
        "## Pareto optimal points",
        "## Inflection points",
        "**concurrency=30**: request_throughput_avg CV 47.1% — needs more trials",
        "trial_0001 (run 1) (concurrency=20): Connection timeout after 60s",
        "\nRecommendation: ",
    ] {
        assert!(f.contains(want), "findings.md lacks {want:?}:\n{f}");
    }
    // The CSV has AIPerf's sections.
    let csv = std::fs::read_to_string(base.join("sweep_aggregate/profile_export_aiperf_sweep.csv")).unwrap();
    assert!(csv.starts_with("concurrency,"), "{csv}");
    assert!(csv.contains("\n\nBest Configurations\nConfiguration,concurrency,Metric,Unit\nBest Throughput,30,150.00,requests/sec\n"), "{csv}");
    assert!(
        csv.contains("\n\nPareto Optimal Points\nconcurrency\n10\n30\n"),
        "{csv}"
    );
    assert!(csv.contains("Number of Successful Runs,4\n"), "{csv}");
}

#[test]
fn the_guides_python_snippet_runs_on_our_output() {
    let ok = Command::new("python3")
        .args(["-c", "import pandas"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 with pandas is missing (the guide's snippet needs it): run scripts/install-test-deps \
         (make test runs it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let plan = plan_with_runs(
        root,
        &[
            "-m",
            "llama-3-8b",
            "--concurrency",
            "10,20,30,40",
            "--num-profile-runs",
            "2",
        ],
        |l| {
            let c = l["parameters"]["concurrency"].as_u64().unwrap();
            Some(summary(
                thr_for(c) + l["trial"].as_f64().unwrap(),
                100.0 + c as f64,
                500.0,
            ))
        },
    );
    let o = agg(root, &["--plan", plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let path =
        "artifacts/llama-3-8b-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json";
    check_guide_schema(&read_json(&root.join(path)));
    // The guide's "Analyzing Results Programmatically" snippet, verbatim but for the path.
    let snippet = r#"import json
import pandas as pd

# Load sweep aggregate
with open('PATH') as f:
    sweep = json.load(f)

# Extract throughput and latency for each combination
data = []
for combo in sweep['per_combination_metrics']:
    params = combo['parameters']
    metrics = combo['metrics']
    data.append({
        'concurrency': params['concurrency'],
        'throughput': metrics['request_throughput_avg']['mean'],
        'latency_p99': metrics['ttft_p99_ms']['mean'],
        'throughput_cv': metrics['request_throughput_avg'].get('cv', 0),
        'latency_cv': metrics['ttft_p99_ms'].get('cv', 0),
    })

df = pd.DataFrame(data).sort_values('concurrency')
print(df)

# Identify Pareto optimal points
pareto_optimal = sweep['pareto_optimal']
pareto_concurrency_values = [p['concurrency'] for p in pareto_optimal]
print(f"Pareto optimal concurrency values: {pareto_concurrency_values}")

# Get best configurations
best_configs = sweep['best_configurations']
print(f"Best throughput: {best_configs['best_throughput']['parameters']}")
print(f"Best latency: {best_configs['best_latency_p99']['parameters']}")
"#
    .replace("PATH", path);
    let o = Command::new("python3")
        .current_dir(root)
        .args(["-c", &snippet])
        .output()
        .unwrap();
    assert!(o.status.success(), "the guide's snippet failed: {}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Pareto optimal concurrency values: [10, 20, 30, 40]"),
        "{out}"
    );
    assert!(out.contains("Best throughput: {'concurrency': 40}"), "{out}");
    assert!(out.contains("Best latency: {'concurrency': 10}"), "{out}");
}

fn close_rel(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

#[test]
fn reaggregates_aiperfs_own_independent_sweep() {
    let src = fixtures_dir().join("c2_sweep_c2-4_x3_independent");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("re");
    let o = agg(
        tmp.path(),
        &[src.to_str().unwrap(), "--output-dir", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for c in ["concurrency_2", "concurrency_4"] {
        let theirs = read_json(&src.join(c).join("aggregate/profile_export_aiperf_aggregate.json"));
        let ours = read_json(&out.join(c).join("aggregate/profile_export_aiperf_aggregate.json"));
        let (tm, om) = (
            theirs["metrics"].as_object().unwrap(),
            ours["metrics"].as_object().unwrap(),
        );
        assert_eq!(tm.len(), om.len(), "{c}: same metric keys");
        for (k, v) in tm {
            for (f, x) in v.as_object().unwrap() {
                assert!(
                    close_rel(x, &om[k][f]),
                    "{c} {k}.{f}: AIPerf {x} vs ours {}",
                    om[k][f]
                );
            }
        }
        assert_eq!(ours["metadata"]["num_successful_runs"], 3);
        assert_eq!(ours["metadata"]["sweep_mode"], "independent");
    }
    let theirs = read_json(&src.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let ours = read_json(&out.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(ours["best_configurations"], theirs["best_configurations"]);
    assert_eq!(ours["pareto_optimal"], theirs["pareto_optimal"]);
    assert_eq!(
        ours["metadata"]["sweep_parameters"],
        theirs["metadata"]["sweep_parameters"]
    );
    assert_eq!(ours["metadata"]["num_trials_per_value"], 3);
    let (tp, op) = (
        &theirs["per_combination_metrics"][1],
        &ours["per_combination_metrics"][1],
    );
    assert_eq!(tp["parameters"], op["parameters"]);
    for (k, v) in tp["metrics"].as_object().unwrap() {
        for (f, x) in v.as_object().unwrap() {
            assert!(
                close_rel(x, &op["metrics"][k][f]),
                "sweep {k}.{f}: AIPerf {x} vs ours {}",
                op["metrics"][k][f]
            );
        }
    }
    // The source tree is left alone.
    assert!(!src.join("findings.md").exists());
}

#[test]
fn reaggregates_aiperfs_single_trial_sweep_with_best_and_pareto() {
    let src = fixtures_dir().join("b_sweep_c2-4-8_n100");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("re");
    let o = agg(tmp.path(), &[src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let theirs = read_json(&src.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let ours = read_json(&out.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    // AIPerf 0.13 leaves these empty for one trial (its bare-tag keys); we do not copy that bug.
    assert_eq!(theirs["pareto_optimal"], json!([]));
    assert_eq!(
        ours["pareto_optimal"],
        json!([{"concurrency": 2}, {"concurrency": 4}, {"concurrency": 8}])
    );
    assert_eq!(
        ours["best_configurations"]["best_throughput"]["parameters"],
        json!({"concurrency": 8})
    );
    assert_eq!(
        ours["best_configurations"]["best_latency_p99"]["parameters"],
        json!({"concurrency": 2})
    );
    // Same numbers as AIPerf's bare-tag blocks: mean = the run's avg / p99.
    for i in 0..3 {
        let (t, o) = (
            &theirs["per_combination_metrics"][i]["metrics"],
            &ours["per_combination_metrics"][i]["metrics"],
        );
        assert_eq!(
            o["request_throughput_avg"]["mean"],
            t["request_throughput"]["avg"]
        );
        assert_eq!(
            o["time_to_first_token_p99"]["mean"],
            t["time_to_first_token"]["p99"]
        );
        assert_eq!(o["ttft_p99_ms"]["mean"], t["time_to_first_token"]["p99"]);
    }
    // pareto reads AIPerf's own file (bare tags) and finds the same frontier.
    let o = run(
        "pareto",
        &[src
            .join("sweep_aggregate/profile_export_aiperf_sweep.json")
            .to_str()
            .unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["pareto_optimal"], ours["pareto_optimal"]);
}

fn pareto_jsonl(rows: &[(u64, f64, f64)]) -> String {
    rows.iter()
        .map(|(c, t, l)| {
            format!(
                "{}\n",
                json!({"parameters": {"concurrency": c}, "thr": t, "lat": l})
            )
        })
        .collect()
}

fn pareto_stdin(input: &str, args: &[&str]) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin("pareto"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn pareto_tv3_from_jsonl_points() {
    let optimal = |rows: &[(u64, f64, f64)]| -> Value {
        let o = pareto_stdin(&pareto_jsonl(rows), &["--maximize", "thr", "--minimize", "lat"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
        Value::from(
            r["pareto_optimal"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["concurrency"].clone())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        optimal(&[(10, 100., 50.), (20, 150., 40.), (30, 80., 60.)]),
        json!([20])
    );
    assert_eq!(
        optimal(&[(10, 50., 30.), (20, 100., 50.), (30, 150., 80.)]),
        json!([10, 20, 30])
    );
    assert_eq!(optimal(&[(10, 100., 50.), (20, 100., 50.)]), json!([10, 20]));
    assert_eq!(optimal(&[(10, 100., 50.), (20, 150., 50.)]), json!([20]));
    assert_eq!(
        optimal(&[(10, 100.0000001, 50.), (20, 100.0000002, 50.)]),
        json!([20])
    );
    assert_eq!(
        optimal(&[
            (10, 50., 30.),
            (20, 80., 45.),
            (30, 100., 50.),
            (40, 120., 70.),
            (50, 110., 80.)
        ]),
        json!([10, 20, 30, 40])
    );
    assert_eq!(
        optimal(&[(10, -50., 10.), (20, -30., 20.), (30, -40., 15.)]),
        json!([10, 20, 30])
    );
    // A missing objective is an error naming it.
    let o = pareto_stdin(
        &pareto_jsonl(&[(1, 1., 1.)]),
        &["--maximize", "nope", "--minimize", "lat"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("objective 'nope' is missing for concurrency=1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pareto_slo_exit_codes_and_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("points.jsonl");
    std::fs::write(
        &input,
        pareto_jsonl(&[
            (10, 95.2, 125.4),
            (20, 175.8, 145.2),
            (30, 245.3, 180.5),
            (40, 255.1, 285.7),
            (50, 200.0, 300.0),
        ]),
    )
    .unwrap();
    let p = input.to_str().unwrap();
    let o = run(
        "pareto",
        &[p, "--maximize", "thr", "--minimize", "lat", "--slo", "lat:lt:200"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        r["pareto_optimal"],
        json!([{"concurrency": 10}, {"concurrency": 20}, {"concurrency": 30}])
    );
    assert_eq!(r["slo"]["feasible_count"], 3);
    assert_eq!(r["points"][4]["feasible"], false);
    assert!(
        r["points"][4]["dominated_by"].is_null(),
        "infeasible points are outside the comparison"
    );
    let o = run(
        "pareto",
        &[p, "--maximize", "thr", "--minimize", "lat", "--slo", "lat:lt:100"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "no feasible point is a negative verdict"
    );
    assert!(stderr(&o).contains("no point meets the SLO"));
    let o = run("pareto", &[p, "--slo", "lat:eq:100"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--slo 'lat:eq:100': unknown operator 'eq'"));

    let svg = tmp.path().join("frontier.svg");
    let o = run(
        "pareto",
        &[
            p,
            "--maximize",
            "thr",
            "--minimize",
            "lat",
            "--plot",
            svg.to_str().unwrap(),
            "--ascii",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let pic = stdout(&o);
    assert!(
        pic.contains("● 40 (Pareto optimal)") && pic.contains("○ 50"),
        "{pic}"
    );
    assert!(pic.contains("> lat"), "{pic}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("concurrency=40 (Pareto)") && text.contains("<polyline"),
        "svg has labels naming the parameter and the frontier line"
    );
    // PNG goes through rsvg-convert: with it on PATH a PNG, without it a clear error naming the way out.
    let png = tmp.path().join("frontier.png");
    let png_args = [
        p,
        "--maximize",
        "thr",
        "--minimize",
        "lat",
        "--plot",
        png.to_str().unwrap(),
    ];
    crate::common::require_tool("rsvg-convert", "--version", "librsvg2-bin");
    let o = run("pareto", &png_args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let empty_path = tmp.path().join("empty-path");
    std::fs::create_dir(&empty_path).unwrap();
    let o = Command::new(bin("pareto"))
        .args(png_args)
        .env("PATH", &empty_path)
        .output()
        .expect("run pareto");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("PNG needs rsvg-convert") && stderr(&o).contains("frontier.svg"),
        "{}",
        stderr(&o)
    );
    let o = run(
        "pareto",
        &[
            p,
            "--maximize",
            "thr",
            "--minimize",
            "lat",
            "--plot",
            tmp.path().join("x.jpg").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--plot") && stderr(&o).contains(".svg"));
}

#[test]
fn pareto_plot_labels_axes_with_metric_and_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("f.svg");
    let sweep = crate::common::fixtures_dir()
        .join("b_sweep_c2-4-8_n100/sweep_aggregate/profile_export_aiperf_sweep.json");
    let o = run(
        "pareto",
        &[sweep.to_str().unwrap(), "--plot", svg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["objectives"][0]["unit"], "requests/sec");
    assert_eq!(json["objectives"][1]["unit"], "ms");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("request_throughput_avg (requests/sec)"),
        "y axis names metric and unit"
    );
    assert!(
        text.contains("time_to_first_token_p99 (ms)"),
        "x axis names metric and unit"
    );
    assert!(
        text.contains("concurrency=8") && text.contains("concurrency=2"),
        "points are named by parameter"
    );
}

#[test]
fn pareto_ci_marks_insignificant_dominance() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // 10 and 20 overlap within their trial CIs; 40 is clearly ahead in throughput.
    let plan = plan_with_runs(
        root,
        &["-m", "m", "--concurrency", "10,20,40", "--num-profile-runs", "3"],
        |l| {
            let c = l["parameters"]["concurrency"].as_u64().unwrap();
            let t = l["trial"].as_f64().unwrap();
            Some(match c {
                10 => summary(100.0 + 10.0 * t, 50.0 + t, 300.0),
                20 => summary(101.0 + 10.0 * t, 49.0 + t, 300.0),
                _ => summary(400.0 + t, 200.0 + t, 300.0),
            })
        },
    );
    let o = agg(root, &["--plan", plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sweep = root
        .join("artifacts/m-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json");
    let o = run("pareto", &[sweep.to_str().unwrap(), "--ci"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        r["pareto_optimal"],
        json!([{"concurrency": 20}, {"concurrency": 40}])
    );
    let pts = r["points"].as_array().unwrap();
    assert_eq!(pts[0]["possibly_optimal"], true, "{}", pts[0]);
    assert_eq!(pts[1]["significant"], false);
    assert_eq!(pts[1]["not_significant_over"], json!([{"concurrency": 10}]));
    assert_eq!(pts[2]["significant"], true);
    assert!(pts[1]["ci"]["request_throughput_avg"].is_array());
    let o = run("pareto", &[sweep.to_str().unwrap(), "--ci", "--ascii"]);
    assert!(
        stdout(&o).contains("● 20 (Pareto optimal, not significant)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn sweep_agg_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let o = agg(tmp.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("sweep-agg: nothing to aggregate"),
        "{}",
        stderr(&o)
    );
    let o = agg(tmp.path(), &[tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no run folders"), "{}", stderr(&o));
    std::fs::write(tmp.path().join("plan.jsonl"), "{\"run_index\":0}\n").unwrap();
    let o = agg(tmp.path(), &["--plan", "plan.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("plan.jsonl:1:"), "{}", stderr(&o));
    // Every run failed: the aggregate still records why, and the verdict is negative.
    let plan = plan_with_runs(tmp.path(), &["-m", "m", "--concurrency", "1,2"], |_| None);
    let o = agg(tmp.path(), &["--plan", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let s =
        read_json(&tmp.path().join(
            "artifacts/m-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json",
        ));
    assert_eq!(s["metadata"]["failed_runs"].as_array().unwrap().len(), 2);
    assert_eq!(s["per_combination_metrics"], json!([]));
}

/// A folder with the real sweep-plan, sweep-agg and pareto, and stand-ins for loadgen and
/// trial-agg that do what their contracts say with canned numbers (concurrency c: throughput
/// 10·min(c,8)+c, p99 TTFT 10+c²), failing or interrupting at chosen values. This checks the
/// script's composition alone; the end-to-end test with the real stages is `profile_end_to_end_on_mock_llm`.
fn stub_tools(dir: &Path) {
    for tool in ["sweep-plan", "sweep-agg", "pareto", "report"] {
        std::os::unix::fs::symlink(bin(tool), dir.join(tool)).unwrap();
    }
    let loadgen = r#"#!/usr/bin/env bash
set -euo pipefail
spec=$(cat)
out=; ri=
while (($#)); do case $1 in --output) out=$2; shift 2;; --run-info-out) ri=$2; shift 2;; --inputs-out) shift 2;; --api-key) shift 2;; *) shift;; esac; done
c=$(printf '%s' "$spec" | sed -n 's/.*"concurrency":\([0-9]*\).*/\1/p')
if [ "$c" = "${STUB_FAIL_AT:-}" ]; then echo "loadgen: error sending request: connection refused" >&2; exit 2; fi
echo "{\"c\":$c}" > "$out"
echo "{\"concurrency\":$c}" > "$ri"
if [ "$c" = "${STUB_INTERRUPT_AT:-}" ]; then kill -INT "$PPID"; exit 130; fi
if [ "$c" = "${STUB_ALL_FAIL_AT:-}" ]; then echo "loadgen: all 16 requests failed; first error: 500" >&2; exit 1; fi
"#;
    let trial_agg = r#"#!/usr/bin/env bash
set -euo pipefail
ri=; od=
while (($#)); do case $1 in --run-info) ri=$2; shift 2;; --output-dir) od=$2; shift 2;; *) shift;; esac; done
c=$(sed -n 's/.*"concurrency":\([0-9]*\).*/\1/p' "$ri")
m=$c; [ "$m" -le 8 ] || m=8
cat > "$od/profile_export_aiperf.json" <<JSON
{"request_throughput":{"unit":"requests/sec","avg":$((10 * m + c))},
 "request_count":{"unit":"requests","avg":100},
 "time_to_first_token":{"unit":"ms","avg":$((5 + c)),"p99":$((10 + c * c)),"min":1,"max":$((11 + c * c))},
 "request_latency":{"unit":"ms","avg":100,"p99":200,"min":1,"max":300}}
JSON
echo '{}'
"#;
    for (name, body) in [("loadgen", loadgen), ("trial-agg", trial_agg)] {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn profile(dir: &Path, tools: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(crate::common::repo_root().join("scripts/profile"))
        .current_dir(dir)
        .env("SWEEPKIT_BIN_DIR", tools)
        .envs(env.iter().copied())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn grep_tree(root: &Path, needle: &str) -> Vec<String> {
    files_under(root)
        .into_iter()
        .filter(|f| {
            std::fs::read(root.join(f))
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn profile_script_records_a_failed_value_and_carries_on() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tmp.path().join("bin");
    std::fs::create_dir(&tools).unwrap();
    stub_tools(&tools);
    let o = profile(
        tmp.path(),
        &tools,
        &[("STUB_FAIL_AT", "4")],
        &[
            "--model",
            "m",
            "--url",
            "http://127.0.0.1:9",
            "--concurrency",
            "1,2,4,8,16",
            "--api-key",
            "sk-very-secret",
            "--artifact-dir",
            "out",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let base = tmp.path().join("out/m-openai-chat-concurrency_sweep");
    let err = stderr(&o);
    assert!(
        err.contains("Parameter sweep mode: UI automatically set to 'simple'"),
        "{err}"
    );
    assert!(err.contains("profile: run failed, continuing with the rest: loadgen: error sending request: connection refused"), "{err}");
    assert_eq!(
        std::fs::read_to_string(base.join("concurrency_4/run_error.txt"))
            .unwrap()
            .trim(),
        "loadgen: error sending request: connection refused"
    );
    let s = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(s["metadata"]["failed_runs"][0]["run_index"], 2);
    assert_eq!(s["metadata"]["num_successful_runs"], 4);
    assert_eq!(s["per_combination_metrics"].as_array().unwrap().len(), 4);
    // Throughput 11, 22, 88, 96 (16 saturates): the knee is found and recommended against.
    assert_eq!(
        s["trends"]["request_throughput_avg"]["scaling_slows_at"],
        json!([16])
    );
    let cmd = std::fs::read_to_string(base.join("benchmark_command.txt")).unwrap();
    assert!(
        cmd.starts_with("scripts/profile --model m --url")
            && cmd.contains("--concurrency 1,2,4,8,16")
            && cmd.contains("--api-key '<redacted>'"),
        "{cmd}"
    );
    assert!(
        grep_tree(tmp.path().join("out").as_path(), "sk-very-secret").is_empty(),
        "the API key reached an artifact"
    );
    for f in [
        "plan.jsonl",
        "findings.md",
        "sweep_aggregate/pareto.json",
        "sweep_aggregate/pareto_frontier.svg",
        "sweep_aggregate/profile_export_aiperf_sweep.csv",
    ] {
        assert!(base.join(f).is_file(), "{f} missing");
    }
    let findings = std::fs::read_to_string(base.join("findings.md")).unwrap();
    assert!(
        findings.contains("Recommendation: operate at concurrency=8"),
        "{findings}"
    );
    // The guide's best-practice-5 summary.
    assert!(findings.contains("## Benchmark Results\n\n- Optimal concurrency: 8 (best balance)\n- Pareto optimal points: 1, 2, 8, 16\n- Throughput inflection: 16 (scaling slows)\n"), "{findings}");
    let out = stdout(&o);
    assert!(
        out.contains("● 8 (Pareto optimal)") && out.contains("Results: out/m-openai-chat-concurrency_sweep"),
        "{out}"
    );
}

#[test]
fn profile_script_ctrl_c_keeps_what_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tmp.path().join("bin");
    std::fs::create_dir(&tools).unwrap();
    stub_tools(&tools);
    let o = profile(
        tmp.path(),
        &tools,
        &[("STUB_INTERRUPT_AT", "4")],
        &["-m", "m", "--concurrency", "1,2,4,8,16", "--ui", "none"],
    );
    assert_eq!(o.status.code(), Some(130), "{}\n{}", stdout(&o), stderr(&o));
    let base = tmp.path().join("artifacts/m-openai-chat-concurrency_sweep");
    let s = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let values: Vec<&Value> = s["per_combination_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["parameters"]["concurrency"])
        .collect();
    assert_eq!(
        values,
        [&json!(1), &json!(2), &json!(4)],
        "the interrupted run was flushed and summarised; later ones never ran"
    );
    assert_eq!(s["metadata"]["failed_runs"], json!([]));
    assert!(!base.join("concurrency_8").exists());
    assert!(stderr(&o).contains("interrupted: aggregated the runs that finished"));
}

#[test]
fn folder_layout_labels_match_the_plan_in_both_modes() {
    for mode in ["repeated", "independent"] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let plan = plan_with_runs(
            root,
            &[
                "-m",
                "m",
                "--concurrency",
                "4,16,8",
                "--num-profile-runs",
                "2",
                "--parameter-sweep-mode",
                mode,
            ],
            |l| {
                let c = l["parameters"]["concurrency"].as_f64().unwrap();
                Some(summary(10.0 * c + l["trial"].as_f64().unwrap(), c, 100.0))
            },
        );
        let o = agg(root, &["--plan", plan.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let base = root.join("artifacts/m-openai-chat-concurrency_sweep");
        let by_plan = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
        let o = agg(root, &[base.to_str().unwrap(), "-o", "re"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let by_dir = read_json(&root.join("re/sweep_aggregate/profile_export_aiperf_sweep.json"));
        assert_eq!(by_dir["metadata"]["sweep_mode"], mode);
        assert_eq!(by_dir["pareto_optimal"], by_plan["pareto_optimal"]);
        assert_eq!(by_dir["best_configurations"], by_plan["best_configurations"]);
        assert_eq!(
            by_plan["metadata"]["sweep_parameters"],
            json!([{"name": "concurrency", "values": [4, 16, 8]}]),
            "plan order"
        );
        // The folder layout has no order of its own: values are taken in numeric order.
        assert_eq!(
            by_dir["metadata"]["sweep_parameters"],
            json!([{"name": "concurrency", "values": [4, 8, 16]}])
        );
        let mean = |s: &Value, i: usize| {
            s["per_combination_metrics"][i]["metrics"]["request_throughput_avg"]["mean"].clone()
        };
        assert_eq!(mean(&by_dir, 1), mean(&by_plan, 2));
        assert_eq!(mean(&by_plan, 0), json!(41.5));
    }
}

/// The real stages end to end: scripts/profile against mock-llm (2 decode slots, so throughput
/// stops scaling past concurrency 2).
#[test]
fn profile_end_to_end_on_mock_llm() {
    let _alone = crate::common::cpu_heavy();
    let mock = crate::common::MockServer::start(&["--max-batch", "2", "--ttft-ms", "5", "--itl-ms", "2"]);
    let tmp = tempfile::tempdir().unwrap();
    let tools = bin("loadgen").parent().unwrap().to_path_buf();
    let url = mock.url();
    let o = profile(
        tmp.path(),
        &tools,
        &[],
        &[
            "--model",
            "mock",
            "--url",
            &url,
            "--streaming",
            "--concurrency",
            "1,2,4",
            "--request-count",
            "16",
            "--isl",
            "32",
            "--osl",
            "6",
            "--num-profile-runs",
            "2",
            "--api-key",
            "sk-e2e-secret",
            "--ui",
            "none",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let base = tmp.path().join("artifacts/mock-openai-chat-concurrency_sweep");
    for t in ["trial_0001", "trial_0002"] {
        for c in ["1", "2", "4"] {
            let d = base.join(format!("profile_runs/{t}/concurrency_{c}"));
            for f in [
                "profile_export.jsonl",
                "inputs.json",
                "run_info.json",
                "profile_export_aiperf.json",
                "profile_export_aiperf.csv",
            ] {
                assert!(d.join(f).is_file(), "{}/{f} missing", d.display());
            }
        }
    }
    for c in ["1", "2", "4"] {
        assert!(base
            .join(format!(
                "aggregate/concurrency_{c}/profile_export_aiperf_aggregate.json"
            ))
            .is_file());
    }
    let s = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    check_guide_schema(&s);
    assert_eq!(s["metadata"]["num_successful_runs"], 6, "{}", stderr(&o));
    let thr: Vec<f64> = s["per_combination_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metrics"]["request_throughput_avg"]["mean"].as_f64().unwrap())
        .collect();
    // A request holds its slot at least 5 ms + 5 tokens x 2 ms = 15 ms, so a slot completes at
    // most 66.7 requests a second: that ceiling is the mock's, never passed; how close a run gets
    // to it is the machine's. Two slots beat what one could ever do; four streams on two slots
    // stay under two slots' ceiling.
    let slot = 1000.0 / 15.0;
    assert!(thr[0] <= slot, "one stream beat its slot: {thr:?}");
    assert!(thr[1] > slot, "two slots double throughput: {thr:?}");
    assert!(
        thr[2] <= 2.0 * slot,
        "beyond two slots throughput stays flat: {thr:?}"
    );
    // Each trial's seed is its value's (42 + index), recorded by loadgen in the summary's run_info.
    let ri = read_json(&base.join("profile_runs/trial_0002/concurrency_4/profile_export_aiperf.json"));
    assert_eq!(ri["run_info"]["random_seed"], 44);
    assert!(
        grep_tree(tmp.path(), "sk-e2e-secret").is_empty(),
        "the API key reached an artifact"
    );
    assert!(base.join("findings.md").is_file() && base.join("sweep_aggregate/pareto.json").is_file());
    assert!(
        stdout(&o).contains("Results: ./artifacts/mock-openai-chat-concurrency_sweep"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o)
            .contains("  report:            ./artifacts/mock-openai-chat-concurrency_sweep/report.html"),
        "{}",
        stdout(&o)
    );
    let html = std::fs::read_to_string(base.join("report.html")).unwrap();
    assert!(
        html.contains("2/2") && html.contains("id=\"pareto\""),
        "every value's two trials, and the frontier"
    );
}

#[test]
fn profile_script_keeps_the_records_of_a_run_whose_requests_all_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tmp.path().join("bin");
    std::fs::create_dir(&tools).unwrap();
    stub_tools(&tools);
    let o = profile(
        tmp.path(),
        &tools,
        &[("STUB_ALL_FAIL_AT", "2")],
        &["-m", "m", "--concurrency", "1,2,4", "--ui", "none"],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let run = tmp
        .path()
        .join("artifacts/m-openai-chat-concurrency_sweep/concurrency_2");
    assert!(
        run.join("profile_export.jsonl").is_file() && run.join("profile_export_aiperf.json").is_file(),
        "what was measured is kept"
    );
    assert_eq!(
        std::fs::read_to_string(run.join("run_error.txt")).unwrap().trim(),
        "loadgen: all 16 requests failed; first error: 500"
    );
    let s =
        read_json(&tmp.path().join(
            "artifacts/m-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json",
        ));
    assert_eq!(s["metadata"]["failed_runs"][0]["run_index"], 1);
    assert_eq!(
        s["metadata"]["failed_runs"][0]["error"],
        "loadgen: all 16 requests failed; first error: 500"
    );
    assert_eq!(
        s["pareto_optimal"],
        json!([{"concurrency": 1}, {"concurrency": 4}])
    );
}

#[test]
fn rebuilds_a_sweep_aggregate_from_aiperfs_per_value_aggregates_alone() {
    let src = fixtures_dir().join("c2_sweep_c2-4_x3_independent");
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("only_aggregates");
    for c in ["concurrency_2", "concurrency_4"] {
        let d = tree.join(c).join("aggregate");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(
            src.join(c).join("aggregate/profile_export_aiperf_aggregate.json"),
            d.join("profile_export_aiperf_aggregate.json"),
        )
        .unwrap();
    }
    let o = agg(tmp.path(), &["only_aggregates"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no trial summaries here, only per-value aggregates"),
        "{}",
        stderr(&o)
    );
    let theirs = read_json(&src.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let ours = read_json(&tree.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(ours["best_configurations"], theirs["best_configurations"]);
    assert_eq!(ours["pareto_optimal"], theirs["pareto_optimal"]);
    assert_eq!(ours["metadata"]["sweep_mode"], "independent");
    assert_eq!(ours["metadata"]["num_profile_runs"], 6);
    assert_eq!(
        ours["metadata"]["sweep_parameters"],
        theirs["metadata"]["sweep_parameters"]
    );
    let (t, u) = (
        &theirs["per_combination_metrics"][0]["metrics"],
        &ours["per_combination_metrics"][0]["metrics"],
    );
    assert_eq!(
        u["request_throughput_avg"]["mean"],
        t["request_throughput_avg"]["mean"]
    );
    assert_eq!(
        u["request_throughput_avg"]["ci_high"],
        t["request_throughput_avg"]["ci_high"]
    );
    assert_eq!(u["ttft_p99_ms"]["mean"], t["time_to_first_token_p99"]["mean"]);
}

#[test]
fn a_grid_sweep_gets_trends_along_each_parameter_with_the_others_fixed() {
    // concurrency 1,2,4,8 × isl 128,1024: throughput doubles up to 4 then flattens (short prompts),
    // or scales linearly (long prompts); TTFT p99 jumps at 8 with short prompts only.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let plan = plan_with_runs(
        root,
        &["-m", "m", "--concurrency", "1,2,4,8", "--isl", "128,1024"],
        |l| {
            let c = l["parameters"]["concurrency"].as_f64().unwrap();
            let long = l["parameters"]["isl"] == 1024;
            let thr = if long {
                10.0 * c
            } else {
                10.0 * c.min(4.0) + (c - c.min(4.0))
            };
            let ttft = if long {
                40.0
            } else if c == 8.0 {
                400.0
            } else {
                40.0 + c
            };
            Some(summary(thr, ttft, 300.0))
        },
    );
    let findings = root.join("findings.md");
    let o = agg(
        root,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--findings",
            findings.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(&findings).unwrap();
    assert!(
        md.contains("- Throughput along concurrency (isl=128): scaling slows at 8."),
        "{md}"
    );
    assert!(
        md.contains("- Throughput along concurrency (isl=1024): keeps scaling (no slowdown in range)."),
        "{md}"
    );
    assert!(
        md.contains("- time_to_first_token_p99 along concurrency (isl=128): degrades sharply at 8."),
        "{md}"
    );
    let s = read_json(&root.join(
        "artifacts/m-openai-chat-concurrency_isl_sweep/sweep_aggregate/profile_export_aiperf_sweep.json",
    ));
    let t = &s["trends"];
    let short = &t["request_throughput_avg@concurrency[isl=128]"];
    assert_eq!(short["parameter_values"], json!([1, 2, 4, 8]), "{t:#}");
    assert_eq!(short["fixed"], json!({"isl": 128}));
    assert_eq!(short["rate_of_change"], json!([10.0, 20.0, 4.0]));
    assert_eq!(
        short["inflection_points"],
        json!([4, 8]),
        "TV5 rule: a step that changes by more than 50%"
    );
    assert_eq!(short["scaling_slows_at"], json!([8]));
    let long = &t["request_throughput_avg@concurrency[isl=1024]"];
    assert_eq!(long["rate_of_change"], json!([10.0, 20.0, 40.0]));
    assert_eq!(
        long["inflection_points"],
        json!([4, 8]),
        "doubling steps grow by more than 50%"
    );
    assert_eq!(
        t["time_to_first_token_p99@concurrency[isl=128]"]["latency_degrades_at"],
        json!([8])
    );
    assert_eq!(
        t["time_to_first_token_p99@concurrency[isl=1024]"]["latency_degrades_at"],
        json!([])
    );
    // Along the other axis: two points per line, a rate of change and no inflection.
    let across = &t["request_throughput_avg@isl[concurrency=8]"];
    assert_eq!(across["parameter_values"], json!([128, 1024]));
    assert_eq!(across["rate_of_change"], json!([36.0]));
}

#[test]
fn pareto_jsonl_errors_name_the_line_and_a_torn_last_line_is_a_warning() {
    let good =
        "{\"parameters\":{\"c\":1},\"thr\":10,\"lat\":5}\n{\"parameters\":{\"c\":2},\"thr\":20,\"lat\":9}\n";
    let o = pareto_stdin(
        &format!("{good}{{oops\n{good}"),
        &["--maximize", "thr", "--minimize", "lat"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("pareto: <stdin>:3: not valid JSON here"),
        "{}",
        stderr(&o)
    );
    // A crashed writer's half line at the end is skipped: the two whole points remain.
    let o = pareto_stdin(
        &format!("{good}{{\"parameters\":{{\"c\":3}},\"thr\""),
        &["--maximize", "thr", "--minimize", "lat"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["pareto_optimal"], json!([{"c": 1}, {"c": 2}]));
    assert!(
        stderr(&o).contains("<stdin>:3: skipped a torn last line"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn extra_inputs_in_a_plan_are_parsed_as_loadgen_parses_them() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = plan_in(
        tmp.path(),
        &[
            "-m",
            "m",
            "--concurrency",
            "1,2",
            "--extra-inputs",
            "ignore_eos:true",
            "--extra-inputs",
            "{\"min_tokens\":4}",
            "--extra-inputs",
            "note:hi there",
        ],
    );
    assert_eq!(
        lines[0]["loadgen"]["extra_inputs"],
        json!({"ignore_eos": true, "min_tokens": 4, "note": "hi there"})
    );
    let o = run_in(
        tmp.path(),
        "sweep-plan",
        &[
            "-m",
            "m",
            "--concurrency",
            "1,2",
            "--ui",
            "none",
            "--extra-inputs",
            "nocolon",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "sweep-plan: --extra-inputs nocolon: expected key:value (e.g. ignore_eos:true) or a JSON object"
    );
}
