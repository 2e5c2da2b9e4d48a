//! compare: known answers on mock-llm (4 against 16 decode slots, a TTFT regression and an A/A
//! pair against a gate), AIPerf's own artifacts, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{bin, cpu_heavy, fixtures_dir, read_json, repo_root, run, stderr, stdout, MockServer};

/// `scripts/profile` into `dir/artifacts`, returning the sweep's folder.
fn profile(dir: &Path, url: &str, args: &[&str]) -> PathBuf {
    let o = Command::new(repo_root().join("scripts/profile"))
        .current_dir(dir)
        .env("SWEEPKIT_BIN_DIR", bin("loadgen").parent().unwrap())
        .args([
            "--model",
            "mock",
            "--streaming",
            "--ui",
            "none",
            "--no-server-metrics",
        ])
        .args(["--url", url, "--isl", "16", "--osl", "8"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("artifacts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

fn compare(args: &[&str]) -> Output {
    run("compare", args)
}

fn labelled(label: &str, p: &Path) -> String {
    format!("{label}={}", p.display())
}

#[test]
fn sixteen_decode_slots_serve_more_within_the_slo_than_four_and_compare_says_so() {
    let (four, sixteen) = (
        MockServer::start(&[
            "--max-batch",
            "4",
            "--ttft-ms",
            "20",
            "--itl-ms",
            "20",
            "--itl-per-running-ms",
            "0.5",
        ]),
        MockServer::start(&[
            "--max-batch",
            "16",
            "--ttft-ms",
            "20",
            "--itl-ms",
            "20",
            "--itl-per-running-ms",
            "0.5",
        ]),
    );
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sweep = [
        "--concurrency",
        "4,16",
        "--request-count",
        "32",
        "--num-profile-runs",
        "3",
    ];
    let base = profile(a.path(), &four.url(), &sweep);
    let new = profile(b.path(), &sixteen.url(), &sweep);
    let (lb, ln) = (labelled("base", &base), labelled("new", &new));
    // The mock's queue decides the verdicts, not the machine: a request holds a slot ~170 ms, so
    // 16 clients on 4 slots wait ~3 of those (p90 TTFT ~500 ms) while an admitted request's TTFT
    // is 20 ms; a full batch of 16 decodes 28 % slower (27.5 against 21.5 ms). The SLO sits
    // 280 ms above an admitted request's TTFT, so a loaded machine's stalls (what the OS
    // controls) cannot flip it, and p90 is robust to a single stall.
    let slo = ["--slo", "time_to_first_token:p90:le:300"];
    let out = a.path().join("compare.json");
    let o = compare(
        &[
            &[lb.as_str(), &ln, "--format", "json", "-o", out.to_str().unwrap()],
            &slo[..],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let c = read_json(&out);
    assert_eq!(c["schema"], "sweepkit.compare/1");
    let d = &c["decision"];
    // Four slots queue 16 clients: only concurrency 4 meets the SLO; sixteen slots meet it at 16
    // and serve ~3× the requests.
    assert_eq!(d["capacities"][0]["value"], 4.0, "{d}");
    assert_eq!(d["capacities"][0]["value_high"], 16.0, "{d}");
    assert_eq!(d["capacities"][1]["value"], 16.0, "{d}");
    assert_eq!(d["leader"], "new", "{d}");
    assert_eq!(d["significant"], true, "{d}");
    let r = d["ratio"]["low"].as_f64().unwrap();
    assert!(r > 2.0, "new/base throughput's lower bound {r}");
    assert!(d["confidence"].as_f64().unwrap() > 0.99);
    // At concurrency 16 the metrics' verdicts know their direction.
    let p16 = &c["pairs"][0]["points"][1];
    assert_eq!(p16["label"], "concurrency_16");
    let verdict = |m: &str| {
        p16["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["metric"] == m)
            .map(|x| x["verdict"].clone())
            .unwrap()
    };
    assert_eq!(verdict("request_throughput_avg"), "better");
    assert_eq!(verdict("time_to_first_token_p99"), "better");
    assert_eq!(
        verdict("inter_token_latency_p50"),
        "worse",
        "a fuller batch decodes slower"
    );
    // The terminal table leads with the decision.
    let o = compare(&[&[lb.as_str(), &ln], &slo[..]].concat());
    let text = stdout(&o);
    eprintln!("{text}");
    assert!(
        text.contains("DECISION\n  new serves more within the SLO (time_to_first_token p90 ≤ 300): "),
        "{text}"
    );
    assert!(text.contains("significant, confidence"), "{text}");
    decision_page_draws_both_configurations(a.path(), &lb, &ln);
}

/// `report base=… new=…`: the decision first, two colours and markers, a legend, and (rendered in
/// headless Chromium) labels inside the chart that do not overlap.
fn decision_page_draws_both_configurations(dir: &Path, lb: &str, ln: &str) {
    let page = dir.join("decision.html");
    let o = run(
        "report",
        &[
            lb,
            ln,
            "--slo",
            "time_to_first_token_p90:le:300",
            "-o",
            page.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    let (d, chart) = (
        html.find("id=\"decision\"").unwrap(),
        html.find("id=\"configurations\"").unwrap(),
    );
    assert!(d < chart, "the decision panel comes first");
    assert!(html.contains("<strong>new serves more within the SLO (time_to_first_token p90 ≤ 300)"));
    assert!(
        html.contains("fill=\"#0072B2\" stroke=\"#0072B2\"")
            && html.contains("fill=\"#E69F00\" stroke=\"#E69F00\"")
    );
    assert!(
        html.contains(">base</text>") && html.contains(">new</text>"),
        "a legend names both"
    );
    let probe = dir.join("probed.html");
    std::fs::write(&probe, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let _alone = cpu_heavy();
    crate::common::require_tool("chromium", "--version", "chromium");
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new("timeout")
        .args([
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args(["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", "--virtual-time-budget=3000"])
        .arg(format!("file://{}", probe.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let found = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next());
    let v: serde_json::Value =
        serde_json::from_str(found.unwrap_or_else(|| panic!("no probe output: {dom}"))).unwrap();
    let fills: Vec<&str> = v["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(fills.len() >= 2, "two distinct point colours drawn: {v}");
    let boxes = v["labels"].as_array().unwrap();
    assert!(!boxes.is_empty(), "{v}");
    let b = |x: &serde_json::Value| [0, 1, 2, 3].map(|i| x[i].as_f64().unwrap());
    for (i, x) in boxes.iter().enumerate() {
        let [l, t, r, bt] = b(x);
        assert!(
            l >= 0.0 && t >= 0.0 && r <= 640.0 && bt <= 400.0,
            "label {i} outside the viewBox: {v}"
        );
        for y in &boxes[..i] {
            let [l2, t2, r2, b2] = b(y);
            assert!(!(l < r2 && l2 < r && t < b2 && t2 < bt), "labels overlap: {v}");
        }
    }
}

/// Runs in a copy of the decision page: the distinct fill colours of the drawn points, and every
/// point label's rendered box in viewBox units.
const PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  var svg = document.querySelector('#configurations svg.chart');
  var fills = {};
  svg.querySelectorAll('.point').forEach(function (p) {
    var b = p.getBBox(); if (b.width > 0) fills[p.getAttribute('stroke')] = 1; });
  var labels = [];
  svg.querySelectorAll('text.plabel').forEach(function (t) {
    var b = t.getBBox(); labels.push([b.x, b.y, b.x + b.width, b.y + b.height]); });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({fills: Object.keys(fills), labels: labels});
  document.body.appendChild(pre);
});
</script>"#;

/// Copies trials `picks` (1-based) of a one-value sweep into `to/profile_runs/run_000N`, renumbered.
fn split(sweep: &Path, picks: &[u32], to: &Path) {
    for (i, t) in picks.iter().enumerate() {
        let from = sweep.join(format!("profile_runs/run_{t:04}"));
        let dest = to.join(format!("profile_runs/run_{:04}", i + 1));
        std::fs::create_dir_all(&dest).unwrap();
        for f in ["profile_export_aiperf.json", "profile_export.jsonl"] {
            std::fs::copy(from.join(f), dest.join(f)).unwrap();
        }
    }
}

#[test]
fn a_ttft_regression_fails_the_gate_and_an_a_a_pair_passes() {
    let (fast, slow) = (
        MockServer::start(&["--ttft-ms", "20", "--itl-ms", "2"]),
        MockServer::start(&["--ttft-ms", "40", "--itl-ms", "2"]),
    );
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run_args = ["--concurrency", "2", "--request-count", "16"];
    // The A/A pair: one six-trial run of one server, split into alternate trials, so both halves
    // share whatever else the machine was doing.
    let six = profile(
        a.path(),
        &fast.url(),
        &[&run_args[..], &["--num-profile-runs", "6"]].concat(),
    );
    let slow = profile(
        b.path(),
        &slow.url(),
        &[&run_args[..], &["--num-profile-runs", "3"]].concat(),
    );
    let (odd, even) = (a.path().join("odd"), a.path().join("even"));
    split(&six, &[1, 3, 5], &odd);
    split(&six, &[2, 4, 6], &even);
    // p50: a p99 of 16 requests is one request, which a loaded machine can delay alone.
    let gate = ["--gate", "time_to_first_token:p50:+5%"];
    let o = compare(
        &[
            &[labelled("base", &odd).as_str(), &labelled("new", &slow)],
            &gate[..],
        ]
        .concat(),
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}\n{}", stdout(&o));
    assert!(
        e.contains("compare: gate time_to_first_token:p50:+5% FAILED: new time_to_first_token_p50 at concurrency_2: base "),
        "{e}"
    );
    assert!(e.contains("95% CI ×"), "the interval is named: {e}");
    assert!(stdout(&o).contains("FAIL gate time_to_first_token:p50:+5%"));
    let o = compare(
        &[
            &[labelled("base", &odd).as_str(), &labelled("new", &even)],
            &gate[..],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stderr(&o), stdout(&o));
    assert!(stdout(&o).contains("PASS gate time_to_first_token:p50:+5% passed"));
    // The gate's lower throughput side too, in Markdown for a pull request.
    let o = compare(&[
        labelled("base", &odd).as_str(),
        &labelled("new", &even),
        "--gate",
        "request_throughput:avg:-50%",
        "--format",
        "md",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(
        md.starts_with("## Comparison: `base` vs `new` (base `base`)"),
        "{md}"
    );
    assert!(
        md.contains("- ✅ gate request_throughput:avg:-50% passed"),
        "{md}"
    );
    assert!(md.contains("| metric | unit | base [95% CI] | new [95% CI] | ratio [95% CI] | verdict |"));
}

#[test]
fn a_search_folder_gives_its_answer_as_the_capacity_and_its_sla_as_the_slo() {
    let mock = MockServer::start(&["--max-batch", "4", "--ttft-ms", "20", "--itl-ms", "5"]);
    let tmp = tempfile::tempdir().unwrap();
    let search = profile(
        tmp.path(),
        &mock.url(),
        &[
            "--request-count",
            "16",
            "--search-recipe",
            "max-concurrency-under-sla",
            "--search-sla",
            "time_to_first_token:p99:le:100",
            "--search-space",
            "concurrency:1,32:int",
        ],
    );
    let answer = read_json(&search.join("search_answer.json"));
    let l = labelled("a", &search);
    let o = compare(&[l.as_str(), &labelled("b", &search), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(c["configurations"][0]["kind"], "search");
    assert_eq!(
        c["slo"][0]["metric_tag"], "time_to_first_token",
        "the search's SLA: {c}"
    );
    let cap = &c["decision"]["capacities"][0];
    assert_eq!(cap["source"], "search_answer");
    assert_eq!(cap["value"].as_f64(), answer["value"].as_f64(), "{cap}");
    assert_eq!(
        cap["value_low"].as_f64(),
        answer["interval"]["lo"].as_f64(),
        "{cap}"
    );
}

#[test]
fn reads_aiperfs_own_artifacts_and_matches_by_swept_value() {
    let f = fixtures_dir();
    let c2 = f.join("c2_sweep_c2-4_x3_independent");
    let one = f.join("b_sweep_c2-4-8_n100");
    let o = compare(&[&labelled("base", &c2), &labelled("new", &c2), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(c["configurations"][0]["kind"], "sweep");
    assert_eq!(c["configurations"][0]["min_trials"], 3);
    let pts = c["pairs"][0]["points"].as_array().unwrap();
    assert_eq!(pts.len(), 2);
    let thr = &pts[0]["metrics"][0];
    assert_eq!(thr["metric"], "request_throughput_avg");
    assert_eq!(thr["verdict"], "equivalent", "the same folder twice: {thr}");
    assert_eq!(thr["ratio"]["value"], 1.0);
    // A single-trial sweep: matched at 2 and 4 (8 only on one side), no verdict, and it says why.
    let o = compare(&[
        &labelled("one", &one),
        &labelled("three", &c2),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let m = &c["pairs"][0]["points"][0]["metrics"][0];
    assert_eq!(m["verdict"], serde_json::Value::Null);
    assert!(
        m["no_verdict"]
            .as_str()
            .unwrap()
            .contains("1 trial(s) for base, 3 for new"),
        "{m}"
    );
    assert_eq!(c["pairs"][0]["unmatched"][0], "concurrency_8 (only one)");
    assert!(c["warnings"][0].as_str().unwrap().contains("concurrency_8"));
}

#[test]
fn a_different_workload_is_refused_naming_the_setting_unless_allowed() {
    let f = fixtures_dir();
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("isl100");
    // AIPerf's single run with a different prompt length (the summary rewritten in a copy).
    std::fs::create_dir_all(&other).unwrap();
    let mut doc = read_json(&f.join("a_single_c8_n200/profile_export_aiperf.json"));
    doc["input_config"]["datasets"][0]["prompts"]["isl"]["mean"] = 100.0.into();
    std::fs::write(other.join("profile_export_aiperf.json"), doc.to_string()).unwrap();
    let base = f.join("a_single_c8_n200");
    let o = compare(&[&labelled("base", &base), &labelled("new", &other)]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.starts_with("compare: new (")
            && e.contains("ran a different workload from base")
            && e.contains("isl.mean: 550.0 → 100.0"),
        "{e}"
    );
    assert!(e.contains("--allow-different isl"), "{e}");
    let o = compare(&[
        &labelled("base", &base),
        &labelled("new", &other),
        "--allow-different",
        "isl",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("new vs base at concurrency_8"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    let c2 = fixtures_dir().join("c2_sweep_c2-4_x3_independent");
    let (a, b) = (labelled("base", &c2), labelled("new", &c2));
    for (args, want) in [
        (vec![a.as_str()], "compare: 2 values required"),
        (vec![a.as_str(), "new"], "'new': expected LABEL=DIR"),
        (
            vec![a.as_str(), "new=/no/such/dir"],
            "new=/no/such/dir: not a folder",
        ),
        (vec![a.as_str(), a.as_str()], "label 'base' is given twice"),
        (
            vec![a.as_str(), &b, "--gate", "ttft:p99:5%"],
            "--gate 'ttft:p99:5%': threshold '5%' must be a signed percentage",
        ),
        (
            vec![a.as_str(), &b, "--gate", "no_such_metric:p99:+5%"],
            "--gate 'no_such_metric:p99:+5%': no_such_metric_p99 is not measured",
        ),
        (
            vec![a.as_str(), &b, "--slo", "ttft:p99:le"],
            "--slo 'ttft:p99:le': expected 4 colon-separated parts",
        ),
        (
            vec![a.as_str(), &b, "--allow-different", "colour"],
            "--allow-different 'colour': unknown setting",
        ),
        (
            vec![a.as_str(), &b, "--equivalence", "x"],
            "--equivalence 'x': expected a percentage",
        ),
    ] {
        let o = compare(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert!(e.lines().next().unwrap_or("").contains(want), "{args:?}: {e}");
    }
}
