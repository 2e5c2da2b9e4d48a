//! `report`: one self-contained HTML page from a sweep's, a run's or AIPerf's folder, and what it
//! does with a half-finished sweep or a folder with nothing in it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{fixtures_dir, run, stderr};

/// Runs `report DIR -o OUT` and returns the page and the JSON line it printed.
fn report(dir: &Path, out: &Path, extra: &[&str]) -> (String, Value) {
    let mut args = vec![dir.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend(extra);
    let o = run("report", &args);
    assert!(o.status.success(), "report failed: {}", stderr(&o));
    let line: Value = serde_json::from_slice(&o.stdout).expect("one JSON line on stdout");
    assert_eq!(line["report"], out.to_str().unwrap());
    (std::fs::read_to_string(out).unwrap(), line)
}

/// The `<svg class="chart" …>` elements of a page: (id, data-marks).
pub fn charts(html: &str) -> Vec<(String, usize)> {
    html.split("<svg class=\"chart\" id=\"")
        .skip(1)
        .map(|rest| {
            let id = rest.split('"').next().unwrap().to_string();
            let marks = rest
                .split("data-marks=\"")
                .nth(1)
                .and_then(|m| m.split('"').next())
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            (id, marks)
        })
        .collect()
}

/// No attribute of the page points anywhere else: no http(s) `src`/`href`, no `url(http…)`.
pub fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
        "@import",
        "<script src",
        "<link",
    ] {
        assert!(
            !lower.contains(bad),
            "the page loads something from elsewhere ({bad})"
        );
    }
}

#[test]
fn aiperfs_three_value_sweep_gets_every_chart_with_labelled_axes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b.html");
    let (html, line) = report(&fixtures_dir().join("b_sweep_c2-4-8_n100"), &out, &[]);
    assert_eq!(line["runs_ok"], 3);
    assert_self_contained(&html);
    let charts = charts(&html);
    assert_eq!(line["charts"], charts.len());
    for id in [
        "concurrency-req-throughput",
        "concurrency-tok-throughput",
        "concurrency-ttft",
        "concurrency-itl",
        "concurrency-latency",
        "pareto",
        "cdf-time_to_first_token",
        "cdf-inter_token_latency",
        "cdf-request_latency",
        "timeline-0-inflight",
        "timeline-2-tokens",
    ] {
        assert!(charts.iter().any(|(c, _)| c == id), "no chart {id}: {charts:?}");
    }
    // Three values, one trial each (so no bands): a line and a point per value for each statistic,
    // one CDF curve per value, one timeline line per run.
    for (id, marks) in &charts {
        let want = match id.as_str() {
            "concurrency-req-throughput" | "concurrency-tok-throughput" | "pareto" => 1 + 3,
            "concurrency-ttft" | "concurrency-itl" | "concurrency-latency" => 3 * (1 + 3),
            c if c.starts_with("cdf-") => 3,
            c if c.starts_with("timeline-") => 1,
            other => panic!("unexpected chart {other}"),
        };
        assert_eq!(*marks, want, "{id}: {charts:?}");
        let svg = chart_svg(&html, id);
        let drawn: usize = ["series", "band", "point"]
            .iter()
            .map(|c| svg.matches(&format!("class=\"{c}\"")).count())
            .sum();
        assert_eq!(
            drawn, want,
            "{id}: data-marks says {marks}, the SVG draws {drawn}"
        );
    }
    assert_eq!(charts.len(), 5 + 1 + 3 + 9, "{charts:?}");
    // 2, 4, 8 is geometric: a log axis; every axis names its metric and unit.
    assert!(html.contains("concurrency, log scale"));
    assert!(html.contains("request_throughput (requests/sec)") && html.contains("time_to_first_token (ms)"));
    assert!(
        html.contains("time_to_first_token_p99 (ms)"),
        "the Pareto chart's x axis"
    );
    assert!(
        html.contains(">concurrency=8</text>"),
        "points are named by their parameter"
    );
    assert!(
        html.contains("aiperf profile --url"),
        "the command, from the summaries' run_info"
    );
    assert!(html.contains("model mock-model at http://127.0.0.1:"));
}

#[test]
fn a_single_run_gets_distributions_and_timeline_but_no_sweep_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a.html");
    let (html, line) = report(&fixtures_dir().join("a_single_c8_n200"), &out, &[]);
    assert_eq!(line["runs_ok"], 1);
    let ids: Vec<String> = charts(&html).into_iter().map(|c| c.0).collect();
    assert!(
        ids.iter()
            .all(|i| i.starts_with("cdf-") || i.starts_with("timeline-")),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 6, "three CDFs and three timeline charts: {ids:?}");
    assert!(html.contains("single run") && !html.contains("id=\"pareto\""));
}

#[test]
fn trials_draw_confidence_bands_and_the_slo_is_shaded() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c.html");
    let slo = "time_to_first_token_p99:lt:30";
    let (html, line) = report(
        &fixtures_dir().join("c2_sweep_c2-4_x3_independent"),
        &out,
        &["--slo", slo],
    );
    assert_eq!(line["runs_ok"], 6);
    // Three trials per value give confidence bands: each TTFT band runs from the value's CI low
    // to its CI high (AIPerf's sweep aggregate) at concurrency 2 and 4, in the chart's own scale.
    let sweep = crate::common::read_json(
        &fixtures_dir().join("c2_sweep_c2-4_x3_independent/sweep_aggregate/profile_export_aiperf_sweep.json"),
    );
    let ci = |c: u64, key: &str| {
        let combo = sweep["per_combination_metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["parameters"]["concurrency"] == c)
            .unwrap();
        let m = &combo["metrics"][key];
        (m["ci_low"].as_f64().unwrap(), m["ci_high"].as_f64().unwrap())
    };
    let chart = chart_svg(&html, "concurrency-ttft");
    let (x_of, y_of) = (tick_map(chart, "middle"), tick_map(chart, "end"));
    let bands = band_paths(chart);
    assert_eq!(bands.len(), 3, "p50, p90 and p99 each get a band");
    for (band, stat) in bands.iter().zip(["p50", "p90", "p99"]) {
        let key = format!("time_to_first_token_{stat}");
        let ((lo2, hi2), (lo4, hi4)) = (ci(2, &key), ci(4, &key));
        // Upper edge left to right, then the lower edge back.
        let want = [(2.0, hi2), (4.0, hi4), (4.0, lo4), (2.0, lo2)];
        assert_eq!(band.len(), 4, "{key}: {band:?}");
        for ((x, y), (c, v)) in band.iter().zip(want) {
            assert!(
                // Coordinates and ticks are written to 0.1 px: 0.2 px is 0.03 ms here.
                (x - x_of(c)).abs() < 0.2 && (y - y_of(v)).abs() < 0.2,
                "{key}: band corner ({x}, {y}), want ({}, {}) for concurrency {c}, {v} ms",
                x_of(c),
                y_of(v)
            );
        }
    }
    assert!(html.contains("class=\"region\""), "the SLO's region is shaded");
    assert!(html.contains("SLO: time_to_first_token_p99 &lt; 30"));
    assert!(html.contains("3/3"), "runs ok per value");
}

/// The `<svg>` element of the chart `id`.
fn chart_svg<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg class=\"chart\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let len = html[start..].find("</svg>").unwrap();
    &html[start..start + len]
}

/// The linear map from data to pixels of one axis, from its first two tick labels (`anchor`
/// `middle`: the x axis, whose label sits at the tick; `end`: the y axis, label 4 px below).
fn tick_map(svg: &str, anchor: &str) -> impl Fn(f64) -> f64 {
    let ticks: Vec<(f64, f64)> = svg
        .split("<text class=\"tick\" ")
        .skip(1)
        .filter(|t| t.contains(&format!("text-anchor=\"{anchor}\"")))
        .map(|t| {
            let attr = |name: &str| -> f64 {
                t.split(&format!("{name}=\""))
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            let label: f64 = t
                .split('>')
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let px = if anchor == "middle" {
                attr("x")
            } else {
                attr("y") - 4.0
            };
            (label, px)
        })
        .collect();
    let ((v0, p0), (v1, p1)) = (ticks[0], ticks[1]);
    move |v| p0 + (v - v0) * (p1 - p0) / (v1 - v0)
}

/// The corners of every confidence band of a chart, in drawing order.
fn band_paths(svg: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<path class=\"band\" d=\"")
        .skip(1)
        .map(|p| {
            p.split('"')
                .next()
                .unwrap()
                .split(['M', 'L', 'Z'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// A copy of one of AIPerf's run folders holding only `files`.
fn copy_run(src: &Path, dst: &Path, files: &[&str]) {
    std::fs::create_dir_all(dst).unwrap();
    for f in files {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
}

fn plan_line(i: usize, c: u64) -> String {
    format!(
        "{{\"run_index\":{i},\"trial\":1,\"trial_label\":\"trial_0001\",\"variation_index\":{i},\"variation_label\":\"concurrency_{c}\",\"parameters\":{{\"concurrency\":{c}}},\"artifact_dir\":\"a/concurrency_{c}\",\"loadgen\":{{\"model\":\"m\",\"concurrency\":{c}}}}}\n"
    )
}

#[test]
fn a_half_finished_sweep_shows_what_is_there_and_lists_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("sweep");
    let src: PathBuf = fixtures_dir().join("b_sweep_c2-4-8_n100");
    copy_run(
        &src.join("concurrency_2"),
        &root.join("concurrency_2"),
        &["profile_export_aiperf.json", "profile_export.jsonl"],
    );
    copy_run(
        &src.join("concurrency_4"),
        &root.join("concurrency_4"),
        &["profile_export_aiperf.json", "profile_export.jsonl"],
    );
    // Ctrl-C during concurrency 8: records flushed, no summary; 16 failed; 32 never ran.
    copy_run(
        &src.join("concurrency_8"),
        &root.join("concurrency_8"),
        &["profile_export.jsonl"],
    );
    std::fs::create_dir_all(root.join("concurrency_16")).unwrap();
    std::fs::write(
        root.join("concurrency_16/run_error.txt"),
        "loadgen: error sending request: connection refused\n",
    )
    .unwrap();
    let plan: String = [2, 4, 8, 16, 32]
        .iter()
        .enumerate()
        .map(|(i, c)| plan_line(i, *c))
        .collect();
    std::fs::write(root.join("plan.jsonl"), plan).unwrap();
    // A torn last line in one records file (a crashed writer): a warning, not a failure.
    let mut recs = std::fs::read_to_string(root.join("concurrency_4/profile_export.jsonl")).unwrap();
    recs.push_str("{\"metadata\":{\"session_n");
    std::fs::write(root.join("concurrency_4/profile_export.jsonl"), recs).unwrap();

    let out = root.join("report.html");
    let o = run("report", &[root.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("report: warning: ") && stderr(&o).contains("torn last line"),
        "{}",
        stderr(&o)
    );
    let line: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            &line["runs_ok"],
            &line["runs_failed"],
            &line["runs_unfinished"],
            &line["runs_not_run"]
        ),
        (&Value::from(2), &Value::from(1), &Value::from(1), &Value::from(1))
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("2 ok, 1 failed, 1 unfinished, 1 not run"));
    assert!(html.contains("connection refused") && html.contains("not run") && html.contains("unfinished"));
    assert!(html.contains("concurrency=32"), "the run that never ran is named");
    // The unfinished run's records still show in the distributions (three lines: 2, 4 and 8).
    let cdf = html
        .split("id=\"cdf-time_to_first_token\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    assert_eq!(cdf.matches("class=\"series\"").count(), 3);
    assert!(charts(&html).iter().all(|(_, m)| *m > 0));
}

#[test]
fn nothing_to_report_is_one_line_naming_the_folder_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run("report", &[tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with(&format!("report: {}: no runs", tmp.path().display()))
            && e.contains("give a sweep's folder"),
        "{e}"
    );
    let o = run("report", &["/no/such/folder"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/folder: not a folder"));
    let o = run("report", &[tmp.path().to_str().unwrap(), "--slo", "x:zz:1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown operator 'zz'"));
}

#[test]
fn a_single_runs_timeline_names_its_folder_not_an_empty_path() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a.html");
    let dir = fixtures_dir().join("a_single_c8_n200");
    let (html, _) = report(&dir, &out, &[]);
    assert!(!html.contains("Run <code></code>"), "empty run path");
    assert!(
        html.contains(&format!("Run <code>{}</code>, ", dir.display())),
        "the run's folder is named"
    );
}
