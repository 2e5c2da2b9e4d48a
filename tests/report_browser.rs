//! The report in a real browser: headless Chromium (Debian's `chromium`) with the network off
//! renders the page `scripts/profile` wrote against mock-llm, and AIPerf's own sweep; a probe run
//! on a copy of the page checks from the rendered DOM that every chart drew its lines and points
//! and that the page fetched nothing; a screenshot is saved.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{cpu_heavy, fixtures_dir, run, MockServer};
use crate::report::{assert_self_contained, charts};

/// Chromium with its own profile, no GPU, and every request (loopback included) sent to a dead
/// proxy, so anything the page tried to fetch would fail and show up in the probe.
fn chromium(args: &[&str], page: &Path) -> Output {
    let _alone = cpu_heavy();
    crate::common::require_tool("chromium", "--version", "chromium");
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new("timeout")
        .arg("180")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs in the rendered page (a test copy; the report itself has no script) once it has loaded:
/// opens every folded block, then reports each chart's marks and how many have a non-empty box, the chart's rendered
/// width, and every resource the page fetched.
const PROBE: &str = r#"<script>
window.addEventListener('load', function () { setTimeout(function () {
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  var charts = [];
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var marks = svg.querySelectorAll('path.series, path.band, circle.point');
    var drawn = 0;
    marks.forEach(function (m) { var b = m.getBBox(); if (b.width > 0 || b.height > 0) drawn++; });
    charts.push({id: svg.id, marks: marks.length, drawn: drawn, declared: Number(svg.dataset.marks),
                 width: svg.getBoundingClientRect().width});
  });
  // Failed loads are listed too, once they have failed: hence after load, and a moment later.
  var fetched = performance.getEntriesByType('resource').map(function (r) { return r.name; });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({charts: charts, fetched: fetched});
  document.body.appendChild(pre);
}, 300); });
</script>"#;

/// Renders `html` with the probe and returns what it found.
fn probe(html: &str, dir: &Path) -> Value {
    let copy = dir.join("probed.html");
    std::fs::write(&copy, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let o = chromium(&["--dump-dom", "--virtual-time-budget=3000"], &copy);
    let dom = String::from_utf8_lossy(&o.stdout);
    let text = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "the probe did not run; DOM starts: {}",
                &dom[..dom.len().min(300)]
            )
        });
    let json = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

/// Every chart the page declares was rendered with every mark, and at least one has a real box.
fn assert_rendered(p: &Value, html: &str) -> Vec<String> {
    let rendered = p["charts"].as_array().unwrap();
    assert_eq!(
        rendered.len(),
        charts(html).len(),
        "every chart of the file is in the DOM"
    );
    for c in rendered {
        assert!(
            c["marks"].as_u64().unwrap() > 0,
            "chart without lines or points: {c}"
        );
        assert_eq!(
            c["marks"], c["declared"],
            "the browser sees every mark the file has: {c}"
        );
        assert!(c["drawn"].as_u64().unwrap() > 0, "nothing of chart drawn: {c}");
        assert!(c["width"].as_f64().unwrap() > 200.0, "chart not laid out: {c}");
    }
    assert_eq!(p["fetched"], serde_json::json!([]), "the page fetched something");
    rendered
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// A full-page screenshot under the target's temp folder (kept for a look after the test).
fn screenshot(page: &Path, name: &str) -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&out);
    chromium(
        &[
            "--hide-scrollbars",
            "--window-size=1280,2400",
            &format!("--screenshot={}", out.display()),
        ],
        page,
    );
    let png = std::fs::read(&out).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} is no screenshot",
        out.display()
    );
    out
}

#[test]
fn profile_on_mock_llm_writes_a_report_that_renders_offline_in_chromium() {
    let mock = MockServer::start(&[
        "--max-batch",
        "4",
        "--ttft-ms",
        "5",
        "--itl-ms",
        "2",
        "--seed",
        "3",
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let url = mock.url();
    let dcgm = format!("{url}/dcgm/metrics");
    let o = crate::common::profile_cmd(tmp.path())
        .args([
            "--model",
            "mock",
            "--url",
            &url,
            "--streaming",
            "--concurrency",
            "1,2,4,8",
        ])
        .args([
            "--request-count",
            "24",
            "--isl",
            "32",
            "--osl",
            "8",
            "--num-profile-runs",
            "2",
        ])
        .args([
            "--ui",
            "none",
            "--scrape-interval",
            "0.05",
            "--gpu-telemetry",
            &dcgm,
        ])
        .args(["--slo", "time_to_first_token_p99:lt:60"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = tmp
        .path()
        .join("artifacts/mock-openai-chat-concurrency_sweep/report.html");
    assert!(
        stdout.contains("report:            ./artifacts/mock-openai-chat-concurrency_sweep/report.html"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    let ids = assert_rendered(&probe(&html, tmp.path()), &html);
    for id in [
        "concurrency-req-throughput",
        "concurrency-ttft",
        "pareto",
        "cdf-request_latency",
        "timeline-3-tokens",
    ] {
        assert!(ids.iter().any(|i| i == id), "no {id}: {ids:?}");
    }
    // The scraped server gauges and GPU telemetry of each value's run, on the run's clock.
    let server = ids.iter().filter(|i| i.starts_with("timeline-0-server-")).count();
    assert_eq!(
        server, 5,
        "KV cache, queue, running, GPU power, GPU utilisation: {ids:?}"
    );
    assert!(
        html.contains("vllm:kv_cache_usage_perc (ratio)") && html.contains("DCGM_FI_DEV_POWER_USAGE (W)")
    );
    assert!(html.contains("class=\"region\""), "the SLO's region");
    screenshot(&page, "report-mock-llm.png");
}

#[test]
fn aiperfs_own_sweep_report_renders_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("aiperf.html");
    let dir = fixtures_dir().join("c2_sweep_c2-4_x3_independent");
    let o = run("report", &[dir.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    let ids = assert_rendered(&probe(&html, tmp.path()), &html);
    assert!(
        ids.iter().any(|i| i == "pareto") && ids.iter().any(|i| i == "concurrency-itl"),
        "{ids:?}"
    );
    screenshot(&page, "report-aiperf.png");
}

#[test]
fn the_probe_sees_a_fetch_when_a_page_makes_one() {
    // The check above is only worth something if a request would show: a page with one does.
    let tmp = tempfile::tempdir().unwrap();
    let html = "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>";
    let p = probe(html, tmp.path());
    assert_eq!(p["fetched"], serde_json::json!(["http://127.0.0.1:9/x.png"]));
}

/// Runs in the rendered page at 1,280 px: whether the body scrolls sideways, every heading's
/// text, and each table's own overflow.
const LAYOUT_PROBE: &str = r#"<script>
window.addEventListener('load', function () { setTimeout(function () {
  var se = document.scrollingElement;
  var heads = [];
  document.querySelectorAll('h1,h2,h3,h4,h5,h6').forEach(function (h) { heads.push(h.textContent.trim()); });
  var tables = [];
  document.querySelectorAll('table').forEach(function (t) {
    tables.push({scroll: t.scrollWidth, client: t.clientWidth, head: t.rows[0].textContent});
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({scroll: se.scrollWidth, client: se.clientWidth,
    heads: heads, tables: tables, text: document.body.innerText});
  document.body.appendChild(pre);
}, 300); });
</script>"#;

fn layout_probe(html: &str, dir: &Path) -> Value {
    let copy = dir.join("layout.html");
    std::fs::write(&copy, html.replace("</body>", &format!("{LAYOUT_PROBE}</body>"))).unwrap();
    let o = chromium(
        &[
            "--window-size=1280,900",
            "--dump-dom",
            "--virtual-time-budget=3000",
        ],
        &copy,
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    let text = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .expect("the probe did not run");
    let json = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

/// A 2-trial concurrency sweep with every key column of the overview (throughput, output tokens,
/// TTFT p50/p99, ITL p50, latency p99, goodput), noisy enough for intervals below zero, and one
/// client-bound run; aggregated with findings. Returns the sweep folder.
fn wide_sweep(root: &Path) -> PathBuf {
    let o = run(
        "sweep-plan",
        &[
            "-m",
            "m",
            "--concurrency",
            "1,2,4,8,16",
            "--num-profile-runs",
            "2",
        ],
    );
    assert!(o.status.success());
    let plan = root.join("plan.jsonl");
    std::fs::write(&plan, &o.stdout).unwrap();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let l: Value = serde_json::from_str(line).unwrap();
        let c = l["parameters"]["concurrency"].as_f64().unwrap();
        let k = l["trial"].as_f64().unwrap() * 2.0 - 3.0;
        let stat = |unit: &str, v: f64| serde_json::json!({"unit": unit, "avg": v, "p50": v, "p99": v * 1.5, "min": v / 2.0, "max": v * 2.0, "std": 1.0});
        let doc = serde_json::json!({
            "schema_version": "1.5",
            "request_throughput": stat("requests/sec", 10.0 * c.min(6.0) + k * 12.0),
            "output_token_throughput": stat("tokens/sec", 320.0 * c.min(6.0) + k * 300.0),
            "goodput": stat("requests/sec", 9.0 * c.min(6.0) + k * 10.0),
            "request_count": {"unit": "requests", "avg": 100.0},
            "time_to_first_token": stat("ms", 50.0 + c * 3.0 + k * 40.0),
            "inter_token_latency": stat("ms", 12.345 + c + k * 9.0),
            "request_latency": stat("ms", 1234.5 + c * 40.0 + k * 300.0),
            "run_info": {"variation_values": {}},
            "error_summary": []
        });
        let dir = root.join(l["artifact_dir"].as_str().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("profile_export_aiperf.json"), doc.to_string()).unwrap();
        if c == 16.0 {
            let info = serde_json::json!({"client": {"client_bound": true,
                "warnings": ["the client's event loop was busy 97% of the time"]}});
            std::fs::write(dir.join("run_info.json"), info.to_string()).unwrap();
        }
    }
    let base = root.join("artifacts/m-openai-chat-concurrency_sweep");
    let o = std::process::Command::new(crate::common::bin("sweep-agg"))
        .current_dir(root)
        .args(["--plan", "plan.jsonl", "--findings"])
        .arg(base.join("findings.md"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    base
}

/// The layout checks: no sideways scroll of the body or of any table, every heading once.
fn assert_fits_1280(p: &Value) {
    assert!(
        p["scroll"].as_f64().unwrap() <= p["client"].as_f64().unwrap(),
        "the page scrolls sideways at 1,280 px: {} > {}",
        p["scroll"],
        p["client"]
    );
    for t in p["tables"].as_array().unwrap() {
        assert!(
            t["scroll"].as_f64().unwrap() <= t["client"].as_f64().unwrap(),
            "a table scrolls sideways at 1,280 px: {t}"
        );
    }
    let heads: Vec<&str> = p["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for h in &heads {
        assert!(seen.insert(*h), "heading {h:?} twice: {heads:?}");
    }
}

#[test]
fn the_report_fits_1280_px_with_every_heading_once_and_the_search_answer_in_the_overview() {
    let tmp = tempfile::tempdir().unwrap();
    let base = wide_sweep(tmp.path());
    let page = tmp.path().join("sweep.html");
    let o = run("report", &[base.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    let p = layout_probe(&html, tmp.path());
    assert_fits_1280(&p);
    let text = p["text"].as_str().unwrap();
    // The overview shows ITL (it was hidden behind a sideways scroll) and marks clamped intervals.
    let overview = &p["tables"][0]["head"];
    assert!(overview.as_str().unwrap().contains("ITL p50 (ms)"), "{overview}");
    assert!(
        text.contains("0*–") && text.contains("Only 2 trials per value"),
        "{text}"
    );
    // The client-bound run comes first, before the sweep's facts.
    let bound = text.find("The client was the bottleneck").expect(text);
    assert!(
        bound < text.find("runs\t").or(text.find("runs")).unwrap(),
        "{text}"
    );
    // Intervals taller than a chart are not drawn as bands that fill it; the Pareto chart has
    // whiskers both ways.
    assert!(
        html.contains("taller than the chart not drawn"),
        "no wide-band note"
    );
    let pareto = html
        .split("<svg class=\"chart\" id=\"pareto\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    assert!(
        pareto.matches("class=\"ci\" d=\"M").count() >= 10,
        "vertical and horizontal whiskers for 5 points"
    );
    screenshot(&page, "report-layout-1280.png");

    // The same folder as a search left it: its findings' table is a table, "Findings" is one
    // heading, and the answer is in the overview.
    std::fs::write(
        base.join("findings.md"),
        "# Findings\n\n## SLA search\n\n- Question: custom search\n- **Answer:** concurrency 8 is the highest that meets the SLA\n\n| iteration | concurrency | feasible | time_to_first_token p99 |\n|---|---|---|---|\n| 0 | 4 | yes | 55.00 |\n| 1 | 8 | yes | 58.00 |\n| 2 | 16 | no | 120.00 |\n",
    )
    .unwrap();
    let o = run("report", &[base.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = layout_probe(&std::fs::read_to_string(&page).unwrap(), tmp.path());
    assert_fits_1280(&p);
    let text = p["text"].as_str().unwrap();
    assert!(!text.contains("| iteration"), "raw table text: {text}");
    assert!(
        p["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["head"].as_str().unwrap().starts_with("iteration")),
        "{p}"
    );
    let answer = text
        .find("concurrency 8 is the highest that meets the SLA")
        .expect(text);
    assert!(
        answer < text.find("SLA search").unwrap(),
        "the answer is in the overview: {text}"
    );
}
