//! The page's text sections: what ran (command, when, server, runs ok/failed), the key numbers per
//! value, the findings, and what went wrong (failed, unfinished and missing runs, errors by type
//! and value, values whose trials disagree by more than 20%).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::load::{Folder, Status};
use super::page::{esc, markdown, table, Section};
use super::svg::fmt_num;
use super::Ctx;
use crate::artifacts::names::{describe, describe_map, value_text};
use crate::contract::records::ErrorDetails;
use crate::contract::summary::SummaryDoc;
use crate::contract::sweep_aggregate::{latency_key, THROUGHPUT_KEY};
use crate::pareto::input::{metric_unit, metric_value};

fn first_summary(f: &Folder) -> Option<&SummaryDoc> {
    f.runs
        .iter()
        .filter(|r| r.ok())
        .find_map(|r| r.summary.as_ref())
        .or_else(|| f.runs.iter().find_map(|r| r.summary.as_ref()))
}

fn text_at<'a>(doc: &'a Value, ptr: &str) -> Option<&'a str> {
    doc.pointer(ptr).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// When the runs ran: the earliest start and latest end the summaries give (ISO text sorts).
fn when(f: &Folder) -> Option<String> {
    let times = |k: &str| {
        f.runs
            .iter()
            .filter_map(|r| r.summary.as_ref())
            .filter_map(|s| text_at(&s.doc, k))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let start = times("/start_time").into_iter().min()?;
    let end = times("/end_time").into_iter().max();
    Some(match end {
        Some(e) => format!("{start} — {e} (UTC)"),
        None => format!("{start} (UTC)"),
    })
}

fn server(doc: &Value) -> Option<String> {
    let model = text_at(doc, "/input_config/models/items/0/name");
    let url = text_at(doc, "/input_config/endpoint/urls/0").map(crate::io::redact::url);
    let kind = text_at(doc, "/input_config/endpoint/type");
    let streaming = doc
        .pointer("/input_config/endpoint/streaming")
        .and_then(Value::as_bool);
    if model.is_none() && url.is_none() {
        return None;
    }
    let mut s = format!("model {}", model.unwrap_or("?"));
    if let Some(u) = url {
        s.push_str(&format!(" at {u}"));
    }
    if let Some(k) = kind {
        s.push_str(&format!(", {k} endpoint"));
    }
    if streaming == Some(true) {
        s.push_str(", streaming");
    }
    Some(s)
}

fn run_counts(f: &Folder) -> String {
    let ok = f.runs.iter().filter(|r| r.ok()).count();
    let failed = f
        .runs
        .iter()
        .filter(|r| matches!(r.status, Status::Failed(_)))
        .count()
        + f.failed_elsewhere.len();
    let unfinished = f
        .runs
        .iter()
        .filter(|r| matches!(r.status, Status::Unfinished(_)))
        .count();
    let mut s = format!("{ok} ok, {failed} failed");
    if unfinished > 0 {
        s.push_str(&format!(", {unfinished} unfinished"));
    }
    if !f.missing.is_empty() {
        s.push_str(&format!(", {} not run", f.missing.len()));
    }
    s
}

/// `12.3 ± 0.4` (mean and half the confidence interval), or `12.3 (0*–40.1)` when the interval
/// reaches below zero, which these metrics cannot (clamped and marked), or just the mean.
fn cell(metrics: &Map<String, Value>, key: &str) -> String {
    match metric_value(metrics, key) {
        Some((v, Some((lo, hi)))) if lo < 0.0 && v >= 0.0 => {
            format!("{} (0*–{})", fmt_num(v), fmt_num(hi))
        }
        Some((v, Some((lo, hi)))) => format!("{} ± {}", fmt_num(v), fmt_num((hi - lo) / 2.0)),
        Some((v, None)) => fmt_num(v),
        None => String::new(),
    }
}

/// A short column heading for a key metric (the full key is in the note under the table), so
/// the table fits a 1,280 px window.
fn short_name(key: &str) -> String {
    let (tag, stat) = key.rsplit_once('_').unwrap_or((key, ""));
    let tag = match tag {
        "request_throughput" => "requests/s",
        "output_token_throughput" => "output tokens/s",
        "time_to_first_token" => "TTFT",
        "inter_token_latency" => "ITL",
        "request_latency" => "latency",
        "goodput" => "goodput",
        t => t,
    };
    if stat == "avg" {
        tag.to_string()
    } else {
        format!("{tag} {stat}")
    }
}

/// The warning under a table of intervals drawn from fewer than 3 trials.
fn few_trials_note(f: &Folder) -> String {
    let n = f
        .sweep
        .as_ref()
        .map(|s| s.metadata.num_trials_per_value)
        .unwrap_or(0);
    if n != 2 {
        return String::new();
    }
    format!(
        "<p class=\"warn\">Only 2 trials per value: the {:.0}% intervals use t = {:.1} and are very wide. Use <code>--num-profile-runs 3</code> or more.</p>",
        f.confidence_level * 100.0,
        crate::stats::confidence::t_critical(f.confidence_level, 1.0)
    )
}

/// The key numbers of every value, one row each.
fn key_numbers(ctx: &Ctx) -> String {
    let f = ctx.folder;
    let lat = latency_key(|k| f.values.iter().any(|v| metric_value(&v.metrics, k).is_some()))
        .unwrap_or("request_latency_p99");
    let mut cols: Vec<(&str, String)> = vec![
        (THROUGHPUT_KEY, String::new()),
        ("output_token_throughput_avg", String::new()),
        ("time_to_first_token_p50", String::new()),
        ("time_to_first_token_p99", String::new()),
        ("inter_token_latency_p50", String::new()),
        ("request_latency_p99", String::new()),
        ("goodput_avg", String::new()),
    ];
    cols.retain(|(k, _)| f.values.iter().any(|v| metric_value(&v.metrics, k).is_some()));
    for (k, label) in cols.iter_mut() {
        let unit = f
            .values
            .iter()
            .find_map(|v| metric_unit(&v.metrics, k))
            .unwrap_or_default();
        let name = short_name(k);
        *label = if unit.is_empty() || name.ends_with("/s") {
            name
        } else {
            format!("{name} ({unit})")
        };
    }
    let mut head: Vec<&str> = vec!["value", "runs ok"];
    head.extend(cols.iter().map(|(_, l)| l.as_str()));
    head.push("errors");
    let rows: Vec<Vec<String>> = f
        .values
        .iter()
        .map(|v| {
            let ok = v.runs.iter().filter(|&&i| f.runs[i].ok()).count();
            let name = if f.is_sweep() {
                describe(&v.parameters)
            } else {
                "this run".into()
            };
            let mut r = vec![esc(&name), format!("{ok}/{}", v.runs.len())];
            r.extend(cols.iter().map(|(k, _)| cell(&v.metrics, k)));
            let errs: u64 = v
                .runs
                .iter()
                .map(|&i| ctx.errors_of(i).values().sum::<u64>())
                .sum();
            r.push(if errs > 0 {
                format!("<span class=\"bad\">{errs}</span>")
            } else {
                "0".into()
            });
            r
        })
        .collect();
    let keys: Vec<&str> = cols.iter().map(|(k, _)| *k).collect();
    let clamped = rows.iter().flatten().any(|c| c.contains("(0*–"));
    let note = if f.is_sweep() {
        format!(
            "Across-trial means; ± is half the {:.0}% confidence interval when a value has several trials{}. Columns: {}. The sweep's latency objective is {lat}.",
            f.confidence_level * 100.0,
            if clamped {
                "; 0* marks an interval clamped at zero (the Student-t interval reached below it, which these metrics cannot)"
            } else {
                ""
            },
            keys.join(", ")
        )
    } else {
        format!(
            "The run's summary (trial-agg's numbers). Columns: {}.",
            keys.join(", ")
        )
    };
    format!(
        "{}<p class=\"note\">{}</p>{}",
        table(&head, &rows),
        esc(&note),
        few_trials_note(f)
    )
}

/// What ran: command, when, server, runs, and the key numbers.
pub fn overview(ctx: &Ctx) -> Section {
    let f = ctx.folder;
    let doc = first_summary(f).map(|s| &s.doc);
    let command = f.command.clone().or_else(|| {
        doc.and_then(|d| text_at(d, "/run_info/cli_command"))
            .map(str::to_string)
    });
    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(c) = command {
        facts.push((
            "command",
            format!("<code>{}</code>", esc(&crate::io::redact::text(&c))),
        ));
    }
    if let Some(w) = when(f) {
        facts.push(("when", esc(&w)));
    }
    if let Some(s) = doc.and_then(server) {
        facts.push(("server", esc(&s)));
    }
    if let Some(s) = &f.sweep {
        let what: Vec<String> = s
            .metadata
            .sweep_parameters
            .iter()
            .map(|p| {
                format!(
                    "{} = {}",
                    p.name,
                    p.values.iter().map(value_text).collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        if !what.is_empty() {
            facts.push((
                "sweep",
                esc(&format!(
                    "{}; {} trial(s) per value",
                    what.join("; "),
                    s.metadata.num_trials_per_value.max(1)
                )),
            ));
        }
    }
    facts.push(("runs", esc(&run_counts(f))));
    facts.push((
        "folder",
        format!("<code>{}</code>", esc(&f.root.display().to_string())),
    ));
    if let Some(a) = search_answer(f) {
        facts.insert(0, ("answer", a));
    }
    let mut html = client_bound(f);
    html.push_str("<dl class=\"facts\">");
    for (k, v) in facts {
        html.push_str(&format!("<dt>{k}</dt><dd>{v}</dd>"));
    }
    html.push_str("</dl>");
    if f.values.iter().any(|v| !v.metrics.is_empty()) {
        html.push_str(&key_numbers(ctx));
    } else {
        html.push_str("<p class=\"bad\">No run finished with a summary, so there are no numbers yet; the runs and what is missing are listed below.</p>");
    }
    Section::new("overview", "Overview", html)
}

/// A search's answer, from its findings (`- **Answer:** …`), as HTML.
fn search_answer(f: &Folder) -> Option<String> {
    let md = f.findings.as_ref()?;
    let line = md.lines().find_map(|l| l.trim().strip_prefix("- **Answer:**"))?;
    Some(format!("<strong>{}</strong>", esc(line.trim())))
}

/// First of all, the runs whose run info says the client may have set the pace.
fn client_bound(f: &Folder) -> String {
    let bound: Vec<String> = f
        .runs
        .iter()
        .filter_map(|r| {
            let why = crate::sweep::client_bound_reason(&r.dir)?;
            let name = if r.parameters.is_empty() {
                r.label.clone()
            } else {
                format!("{} ({})", r.label, describe(&r.parameters))
            };
            Some(format!("<li>{}: {}</li>", esc(&name), esc(&why)))
        })
        .collect();
    if bound.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"bad\"><strong>The client was the bottleneck</strong> in {} run(s): their numbers measure the load generator as much as the server.</p><ul>{}</ul>",
        bound.len(),
        bound.join("")
    )
}

/// findings.md as HTML (the optimal configuration, Pareto points, inflections, recommendation).
pub fn findings(f: &Folder) -> Option<Section> {
    let md = f.findings.as_ref()?;
    Some(Section::new(
        "findings",
        "Findings",
        format!("<div class=\"findings\">{}</div>", markdown(md)),
    ))
}

/// A summary's `error_summary` (AIPerf's shape: `[{error_details, count}]`) by label.
pub fn summary_errors(doc: &Value) -> BTreeMap<String, u64> {
    #[derive(serde::Deserialize)]
    struct Entry {
        error_details: ErrorDetails,
        count: u64,
    }
    let entries: Vec<Entry> = doc
        .get("error_summary")
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for e in entries {
        *out.entry(super::digest::error_label(
            e.error_details.kind.as_str(),
            e.error_details.code,
        ))
        .or_insert(0) += e.count;
    }
    out
}

fn run_problems(f: &Folder) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in &f.runs {
        let (what, why) = match &r.status {
            Status::Ok => continue,
            Status::Failed(w) => ("<span class=\"bad\">failed</span>", w),
            Status::Unfinished(w) => ("<span class=\"warn\">unfinished</span>", w),
        };
        rows.push(vec![
            esc(&describe(&r.parameters)),
            esc(&r.label),
            what.into(),
            esc(why),
        ]);
    }
    for fr in &f.failed_elsewhere {
        rows.push(vec![
            esc(&describe_map(&fr.parameters)),
            esc(&fr.label),
            "<span class=\"bad\">failed</span>".into(),
            esc(&fr.error),
        ]);
    }
    for m in &f.missing {
        rows.push(vec![
            esc(&describe(&m.parameters)),
            esc(&m.label),
            "<span class=\"warn\">not run</span>".into(),
            "in the plan, but no folder: the sweep stopped before it".into(),
        ]);
    }
    rows
}

/// Errors by type (rows) and value (columns), summed over the value's runs.
fn errors_table(ctx: &Ctx) -> Option<String> {
    let f = ctx.folder;
    let mut by: BTreeMap<String, BTreeMap<usize, u64>> = BTreeMap::new();
    for (vi, v) in f.values.iter().enumerate() {
        for &i in &v.runs {
            for (label, n) in ctx.errors_of(i) {
                *by.entry(label).or_default().entry(vi).or_insert(0) += n;
            }
        }
    }
    if by.is_empty() {
        return None;
    }
    let names: Vec<String> = f.values.iter().map(|v| describe(&v.parameters)).collect();
    let mut head: Vec<&str> = vec!["error"];
    head.extend(names.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = by
        .iter()
        .map(|(label, counts)| {
            let mut r = vec![esc(label)];
            r.extend((0..f.values.len()).map(|vi| counts.get(&vi).map(u64::to_string).unwrap_or_default()));
            r
        })
        .collect();
    Some(table(&head, &rows))
}

/// Values whose key metrics vary by more than the threshold across trials (the sweep aggregate's
/// flags when there is one, else computed from the values' own statistics).
fn cv_flags(f: &Folder) -> Vec<(String, String, f64)> {
    if let Some(s) = &f.sweep {
        if !s.metadata.high_variance.is_empty() {
            return s
                .metadata
                .high_variance
                .iter()
                .map(|c| (describe_map(&c.parameters), c.metric.clone(), c.cv))
                .collect();
        }
    }
    let threshold = f
        .sweep
        .as_ref()
        .map(|s| s.metadata.cv_threshold)
        .filter(|t| *t > 0.0)
        .unwrap_or(0.2);
    let mut out = Vec::new();
    for v in &f.values {
        for key in [THROUGHPUT_KEY, "time_to_first_token_p99", "request_latency_p99"] {
            let cv = v
                .metrics
                .get(key)
                .and_then(|m| m.get("cv"))
                .and_then(Value::as_f64);
            if let Some(cv) = cv.filter(|c| c.is_finite() && *c > threshold) {
                out.push((describe(&v.parameters), key.to_string(), cv));
            }
        }
    }
    out
}

/// Failed, unfinished and missing runs; errors by type and value; CV flags.
pub fn problems(ctx: &Ctx) -> Section {
    let f = ctx.folder;
    let mut html = String::new();
    let rows = run_problems(f);
    html.push_str("<h3>Runs that did not complete</h3>");
    if rows.is_empty() {
        html.push_str("<p>None: every run finished with a summary.</p>");
    } else {
        html.push_str(&table(&["value", "run", "state", "why"], &rows));
    }
    html.push_str("<h3>Errors by type and value</h3>");
    html.push_str(&errors_table(ctx).unwrap_or_else(|| "<p>No request failed.</p>".into()));
    html.push_str("<h3>Variance across trials (CV &gt; 20%)</h3>");
    let flags = cv_flags(f);
    let multi = f
        .values
        .iter()
        .any(|v| v.runs.iter().filter(|&&i| f.runs[i].ok()).count() > 1);
    if !flags.is_empty() {
        let rows: Vec<Vec<String>> = flags
            .iter()
            .map(|(v, m, cv)| vec![esc(v), esc(m), format!("{:.1}%", cv * 100.0)])
            .collect();
        html.push_str(&table(&["value", "metric", "CV"], &rows));
        html.push_str("<p class=\"warn\">These values need more trials (--num-profile-runs) or a look at what disturbed them.</p>");
    } else if multi {
        html.push_str("<p>None: every key metric varies by 20% or less across trials.</p>");
    } else {
        html.push_str("<p class=\"note\">One trial per value: no variance estimate (use --num-profile-runs 3 or more).</p>");
    }
    Section::new("problems", "Failures, errors and variance", html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_summaries_read_both_shapes_of_error() {
        let doc = serde_json::json!({"error_summary": [
            {"error_details": {"code": 500, "type": "Internal Server Error", "message": "x"}, "count": 3},
            {"error_details": {"code": null, "type": "TimeoutError", "message": "y"}, "count": 1}]});
        let e = summary_errors(&doc);
        assert_eq!(e["Internal Server Error (500)"], 3);
        assert_eq!(e["TimeoutError"], 1);
    }
}
