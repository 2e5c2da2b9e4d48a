//! Makefile campaigns: `sweep-plan --format make` fragments run under real make against two
//! mock-llm instances of different capacity, through `examples/Makefile`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{bin, repo_root, MockServer};

fn make(dir: &Path, mock_a: &str, mock_b: &str, extra: &[&str]) -> Output {
    let tools = format!("{}/", bin("loadgen").parent().unwrap().display());
    Command::new("make")
        .current_dir(dir)
        .arg("-f")
        .arg(repo_root().join("examples/Makefile"))
        .args([
            format!("SWEEPKIT_BIN={tools}"),
            format!("URL_A={mock_a}"),
            format!("URL_B={mock_b}"),
            "MODEL=mock".into(),
            "CONCURRENCY=1,4,8".into(),
            "SWEEP_FLAGS=--streaming --request-count 24 --isl 16 --osl 8 --num-profile-runs 2 --ui none"
                .into(),
            format!(
                "AIPERF_EXPORT={}",
                repo_root()
                    .join("tests/fixtures/aiperf/b_sweep_c2-4-8_n100")
                    .display()
            ),
        ])
        .args(extra)
        .env_remove("MAKEFLAGS")
        .output()
        .expect("make (Debian's make package) is needed")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sweep(dir: &Path, config: &str) -> Value {
    let p = dir.join(format!(
        "campaign/{config}/mock-openai-chat-concurrency_sweep/sweep_aggregate/profile_export_aiperf_sweep.json"
    ));
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn throughput_at(s: &Value, c: u64) -> f64 {
    s["per_combination_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parameters"]["concurrency"] == c)
        .unwrap()["metrics"]["request_throughput_avg"]["mean"]
        .as_f64()
        .unwrap()
}

#[test]
fn a_campaign_runs_under_make_resumes_what_is_missing_and_compares_frontiers() {
    // 10 ms tokens: the mock's slots, not a loaded client, set both configurations' throughput,
    // so two trials a side resolve b's 4-8x lead (the +5 % throughput gate below must fail).
    let slow = MockServer::start(&["--max-batch", "1", "--ttft-ms", "4", "--itl-ms", "10"]);
    let fast = MockServer::start(&["--max-batch", "8", "--ttft-ms", "4", "--itl-ms", "10"]);
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (slow.url(), fast.url());

    let o = make(tmp.path(), &a, &b, &[]);
    assert!(o.status.success(), "{}\n{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(
        text(&o.stderr).matches("sweep.mk: run ").count(),
        12,
        "2 × 3 values × 2 trials"
    );
    let (sa, sb) = (sweep(tmp.path(), "config_a"), sweep(tmp.path(), "config_b"));
    assert_eq!(sa["metadata"]["num_successful_runs"], 6);
    // One slot holds each request at least 4 ms + 7 tokens x 10 ms = 74 ms: config a never passes
    // 13.5 requests a second (the mock's ceiling); config b's 8 slots beat that ceiling (by how
    // much is the machine's business).
    let one_slot = 1000.0 / 74.0;
    assert!(throughput_at(&sa, 8) <= one_slot, "{}", throughput_at(&sa, 8));
    assert!(
        throughput_at(&sb, 8) > one_slot,
        "8 decode slots beat 1 at concurrency 8: {} vs {}",
        throughput_at(&sb, 8),
        throughput_at(&sa, 8)
    );
    let cmp: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("campaign/compare/pareto.json")).unwrap())
            .unwrap();
    let configs: Vec<&str> = cmp["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["parameters"]["config"].as_str().unwrap())
        .collect();
    assert_eq!(configs.iter().filter(|c| **c == "a").count(), 3, "{configs:?}");
    assert_eq!(configs.iter().filter(|c| **c == "b").count(), 3, "{configs:?}");
    check_the_comparison(&cmp, &sa, &sb);
    let svg = std::fs::read_to_string(tmp.path().join("campaign/compare/frontiers.svg")).unwrap();
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{svg:.200}");
    let page = tmp
        .path()
        .join("campaign/config_a/mock-openai-chat-concurrency_sweep/report.html");
    assert!(
        std::fs::read_to_string(&page).unwrap().contains("<svg"),
        "the fragment made the report"
    );
    assert!(tmp
        .path()
        .join("campaign/aiperf_reaggregated/sweep_aggregate/profile_export_aiperf_sweep.json")
        .is_file());

    // The CI gate: b (8 slots) is no worse than a (1 slot), so the default gates pass; a gate that
    // fails on a rise in throughput fails make, naming the gate.
    let o = make(tmp.path(), &a, &b, &["gate"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let md = std::fs::read_to_string(tmp.path().join("campaign/compare/compare.md")).unwrap();
    assert!(
        md.contains("- ✅ gate time_to_first_token:p99:+5% passed"),
        "{md}"
    );
    let o = make(
        tmp.path(),
        &a,
        &b,
        &["gate", "GATES=--gate request_throughput:avg:+5%"],
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains(
            "compare: gate request_throughput:avg:+5% FAILED: b request_throughput_avg at concurrency_"
        ),
        "{}",
        text(&o.stderr)
    );

    // Nothing is missing: make -n shows no run.
    let o = make(tmp.path(), &a, &b, &["-n"]);
    assert!(o.status.success());
    assert!(!text(&o.stdout).contains("--spec -"), "{}", text(&o.stdout));

    // One summary gone: -j4 is refused before anything runs; make -j1 reruns that run alone.
    let lost = tmp.path().join(
        "campaign/config_b/mock-openai-chat-concurrency_sweep/profile_runs/trial_0002/concurrency_4/profile_export_aiperf.json",
    );
    std::fs::remove_file(&lost).unwrap();
    let o = make(tmp.path(), &a, &b, &["-j4"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("benchmark runs must never overlap: run make -j1"),
        "{}",
        text(&o.stderr)
    );
    assert!(!lost.exists());
    let o = make(tmp.path(), &a, &b, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stderr).matches("sweep.mk: run ").count(),
        1,
        "{}",
        text(&o.stderr)
    );
    assert!(lost.is_file());

    // A dead server: with -k the other configuration's missing run still runs; the failed run says why.
    let dead = tmp
        .path()
        .join("campaign/config_a/mock-openai-chat-concurrency_sweep/profile_runs/trial_0001/concurrency_1");
    std::fs::remove_file(dead.join("profile_export_aiperf.json")).unwrap();
    std::fs::remove_file(&lost).unwrap();
    drop(slow);
    let o = make(tmp.path(), &a, &b, &["-k"]);
    assert!(!o.status.success());
    let why = std::fs::read_to_string(dead.join("run_error.txt")).unwrap();
    assert!(why.starts_with("loadgen: cannot reach"), "{why}");
    assert!(lost.is_file(), "make -k went on to config_b's run");
}

/// The comparison holds each sweep's own values, point by point (config a's from config a's
/// sweep, b's from b's), and its frontier is exactly the points no other point dominates.
fn check_the_comparison(cmp: &Value, sa: &Value, sb: &Value) {
    let objectives: Vec<(String, bool)> = cmp["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let goal = o["goal"].as_str().unwrap().to_lowercase();
            (o["key"].as_str().unwrap().to_string(), goal.starts_with("max"))
        })
        .collect();
    assert_eq!(objectives.len(), 2, "{}", cmp["objectives"]);
    let points = cmp["points"].as_array().unwrap();
    let values: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            let sweep = match p["parameters"]["config"].as_str().unwrap() {
                "a" => sa,
                _ => sb,
            };
            let c = &p["parameters"]["concurrency"];
            let combo = sweep["per_combination_metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| &x["parameters"]["concurrency"] == c)
                .unwrap_or_else(|| panic!("{p}: no such value in its sweep"));
            objectives
                .iter()
                .map(|(k, _)| {
                    let want = combo["metrics"][k]["mean"].as_f64().unwrap();
                    assert_eq!(p["values"][k].as_f64(), Some(want), "{k} of {p}");
                    want
                })
                .collect()
        })
        .collect();
    let better = |a: &[f64], b: &[f64]| {
        let (mut ge, mut gt) = (true, false);
        for ((x, y), (_, max)) in a.iter().zip(b).zip(&objectives) {
            let (x, y) = if *max { (*x, *y) } else { (-*x, -*y) };
            ge &= x >= y;
            gt |= x > y;
        }
        ge && gt
    };
    let mut frontier = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let optimal = !values.iter().any(|v| better(v, &values[i]));
        assert_eq!(p["pareto_optimal"], optimal, "{p}");
        if optimal {
            frontier.push(p["parameters"].clone());
        }
    }
    assert!(!frontier.is_empty());
    let mut listed: Vec<String> = cmp["pareto_optimal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    let mut want: Vec<String> = frontier.iter().map(|p| p.to_string()).collect();
    listed.sort();
    want.sort();
    assert_eq!(listed, want);
}
