//! findings.md under noise (issue 23): the same means, measured over 3 trials with a tight or a
//! wide spread, get the inflection / knee / best / Pareto claims only when the confidence
//! intervals separate; a run whose run info says the client was the bottleneck is named first.
//! Trial summaries are written by the test; no server is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::common::{bin, read_json, stderr};

/// Means per concurrency: throughput scales then flattens (rule: scaling slows at 8 and 16),
/// TTFT p99 rises sharply at 8 and 16 (rule: latency degrades at 8 and 16).
const MEANS: [(u64, f64, f64); 5] = [
    (1, 10.0, 50.0),
    (2, 20.0, 51.0),
    (4, 40.0, 52.0),
    (8, 45.0, 80.0),
    (16, 46.0, 200.0),
];

fn summary(thr: f64, ttft_p99: f64) -> Value {
    json!({
        "schema_version": "1.5",
        "request_throughput": {"unit": "requests/sec", "avg": thr},
        "output_token_throughput": {"unit": "tokens/sec", "avg": thr * 32.0},
        "request_count": {"unit": "requests", "avg": 100.0},
        "time_to_first_token": {"unit": "ms", "avg": ttft_p99 / 2.0, "p50": ttft_p99 / 2.0, "p99": ttft_p99, "min": 1.0, "max": ttft_p99 + 1.0, "std": 1.0, "count": 100, "sum": ttft_p99 * 50.0},
        "run_info": {"variation_values": {}},
        "error_summary": []
    })
}

/// A 3-trial concurrency sweep whose trial `t` (1..=3) measures `mean + (t−2)·spread(mean)`;
/// returns (root, the sweep folder, findings.md's text, the sweep aggregate).
fn sweep(
    root: &Path,
    thr_spread: impl Fn(f64) -> f64,
    lat_spread: impl Fn(f64) -> f64,
    tweak: impl Fn(&Path, u64, u64),
) -> (PathBuf, String, Value) {
    let o = Command::new(bin("sweep-plan"))
        .current_dir(root)
        .args([
            "-m",
            "m",
            "--concurrency",
            "1,2,4,8,16",
            "--num-profile-runs",
            "3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = root.join("plan.jsonl");
    std::fs::write(&plan, &o.stdout).unwrap();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let l: Value = serde_json::from_str(line).unwrap();
        let c = l["parameters"]["concurrency"].as_u64().unwrap();
        let t = l["trial"].as_u64().unwrap();
        let (_, thr, lat) = MEANS.iter().find(|m| m.0 == c).copied().unwrap();
        let k = t as f64 - 2.0;
        let dir = root.join(l["artifact_dir"].as_str().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        let doc = summary(thr + k * thr_spread(thr), lat + k * lat_spread(lat));
        std::fs::write(dir.join("profile_export_aiperf.json"), doc.to_string()).unwrap();
        tweak(&dir, c, t);
    }
    let base = root.join("artifacts/m-openai-chat-concurrency_sweep");
    let findings = base.join("findings.md");
    let o = Command::new(bin("sweep-agg"))
        .current_dir(root)
        .args(["--plan", "plan.jsonl", "--findings", findings.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let agg = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    (base, std::fs::read_to_string(findings).unwrap(), agg)
}

/// The aggregate's own (AIPerf) rules fire on these means whatever the noise: the findings judge.
fn assert_rules_fired(agg: &Value) {
    let t = &agg["trends"];
    assert_eq!(t["request_throughput_avg"]["scaling_slows_at"], json!([8, 16]));
    assert_eq!(
        t["time_to_first_token_p99"]["latency_degrades_at"],
        json!([8, 16])
    );
    assert_eq!(
        agg["knee"]["request_throughput_avg"]["saturated"], true,
        "{}",
        agg["knee"]
    );
}

fn line<'a>(md: &'a str, start: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?}:\n{md}"))
}

#[test]
fn values_that_differ_less_than_their_intervals_get_no_inflection_knee_or_best_claim() {
    let tmp = tempfile::tempdir().unwrap();
    // Spread ±12 req/s and ±40 ms: every 95% interval (t = 4.30) is ±30 req/s, ±99 ms wide.
    let (_, md, agg) = sweep(tmp.path(), |_| 12.0, |_| 40.0, |_, _, _| {});
    assert_rules_fired(&agg);
    assert!(
        md.contains(
            "- Throughput inflection: none beyond noise (the rule's 8 is within noise) (scaling slows)"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "- Latency inflection: none beyond noise (the rule's 8 is within noise) (sharp degradation)"
        ),
        "{md}"
    );
    for start in [
        "- Optimal concurrency:",
        "- Highest throughput",
        "- Lowest p99 latency",
        "- Knee of request_throughput_avg:",
        "- Throughput inflection: concurrency",
        "- Latency inflection (time_to_first_token_p99): concurrency",
        "Recommendation:",
    ] {
        assert!(line(&md, start).contains("within noise"), "{start}: {md}");
    }
    // Every Pareto point ties with another once intervals count.
    assert!(
        line(&md, "- Pareto optimal points:").contains("16 (within noise)"),
        "{md}"
    );
    assert!(line(&md, "- concurrency=16:").contains("within noise"), "{md}");
    // How many trials would settle the best throughput: 46 vs 45 req/s at this spread, never.
    assert!(
        line(&md, "- Highest throughput").contains("even 30 trials per value would likely not settle it"),
        "{md}"
    );
    // Intervals are shown, and below zero they are clamped and marked.
    assert!(
        line(&md, "- concurrency=1:").contains("(95% CI 0.00 (clamped at 0)–"),
        "{md}"
    );
}

#[test]
fn values_whose_intervals_separate_keep_their_inflection_knee_and_best_claims() {
    let tmp = tempfile::tempdir().unwrap();
    // Spread 0.1% of the mean: intervals of ±0.25%, far narrower than any step.
    let (_, md, agg) = sweep(tmp.path(), |m| m * 0.001, |m| m * 0.001, |_, _, _| {});
    assert_rules_fired(&agg);
    assert!(!md.contains("within noise"), "{md}");
    assert!(
        md.contains("- Throughput inflection: 8 (scaling slows)\n"),
        "{md}"
    );
    assert!(
        md.contains("- Latency inflection: 8 (sharp degradation)\n"),
        "{md}"
    );
    assert!(md.contains("- Pareto optimal points: 1, 2, 4, 8, 16\n"), "{md}");
    assert!(
        line(&md, "- Highest throughput").contains("**concurrency=16**"),
        "{md}"
    );
    assert!(
        line(&md, "- Knee of request_throughput_avg:").contains("saturates at"),
        "{md}"
    );
    assert!(md.contains("Recommendation: operate at concurrency=4"), "{md}");
    assert!(
        !md.contains("Warning: 2 trials") && !md.contains("bottleneck"),
        "{md}"
    );
}

#[test]
fn a_client_bound_run_is_named_before_anything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, md, _) = sweep(
        tmp.path(),
        |m| m * 0.001,
        |m| m * 0.001,
        |dir, c, t| {
            let bound = c == 16 && t == 2;
            let info = json!({"client": {"client_bound": bound, "warnings": if bound {
                json!(["the client's event loop was busy 97% of the time"]) } else { json!([]) }}});
            std::fs::write(dir.join("run_info.json"), info.to_string()).unwrap();
        },
    );
    let bound = md
        .find("**The client was the bottleneck** in 1 run(s)")
        .expect(&md);
    let sweep = md.find("Sweep: concurrency").unwrap();
    assert!(bound < sweep, "{md}");
    assert!(
        md.contains("- trial_0002 (concurrency=16): the client's event loop was busy 97% of the time\n"),
        "{md}"
    );
}

#[test]
fn sweep_agg_prints_the_long_csv_one_row_per_value_metric_and_stat() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(tmp.path(), |_| 1.0, |_| 2.0, |_, _, _| {});
    let o = Command::new(bin("sweep-agg"))
        .current_dir(tmp.path())
        .args(["--plan", "plan.jsonl", "--format", "long-csv"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "value,metric,stat,number,unit");
    // Trials 44, 45, 46 req/s at concurrency 8; TTFT p99 98, 100, 102... at 16: 198, 200, 202.
    assert!(
        rows.contains(&"8,request_throughput_avg,mean,45,requests/sec"),
        "{text}"
    );
    assert!(
        rows.contains(&"8,request_throughput_avg,min,44,requests/sec"),
        "{text}"
    );
    assert!(rows.contains(&"16,time_to_first_token_p99,max,202,ms"), "{text}");
    // Every row has the five cells; nothing else is printed.
    assert!(rows.iter().all(|r| r.split(',').count() == 5), "{text}");
    assert!(
        !text.contains("ttft_p99_ms") && !text.contains("base_dir"),
        "{text}"
    );
}
