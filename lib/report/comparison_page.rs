//! `report base=DIR new=DIR …`: one page for a decision between configurations. The decision panel
//! comes first (compare's verdict: who serves more within the SLO, by how much, how sure, the
//! gates), then the configurations drawn together ([`super::configurations`]), then every matched
//! value's metrics side by side.

use std::fmt::Write;
use std::path::PathBuf;

use super::configurations;
use super::load::{self, Status};
use super::page::{esc, table, Section};
use super::ReportSummary;
use crate::compare::table::{capacity_text, ratio_text, side_text};
use crate::compare::{self, verdict, CompareOptions};
use crate::contract::comparison::Comparison;
use crate::contract::sla_filter::{self, SlaFilter};
use crate::pareto::input::InputPoint;
use crate::pareto::{self, Op, ParetoOptions, Slo};

/// What `report LABEL=DIR LABEL=DIR …` is asked to do.
#[derive(Debug, Clone)]
pub struct ComparisonOptions {
    /// `(label, folder)`, the base first.
    pub inputs: Vec<(String, PathBuf)>,
    pub output: PathBuf,
    pub slos: Vec<Slo>,
    pub title: Option<String>,
    /// compare's JSON to show instead of comparing here (e.g. one judged with gates).
    pub comparison: Option<PathBuf>,
}

/// pareto's `time_to_first_token_p99:le:200` as compare's filter.
fn sla_of(s: &Slo) -> Option<SlaFilter> {
    let (tag, stat) = s.key.rsplit_once('_')?;
    let op = match s.op {
        Op::Lt => sla_filter::Op::Lt,
        Op::Le => sla_filter::Op::Le,
        Op::Gt => sla_filter::Op::Gt,
        Op::Ge => sla_filter::Op::Ge,
    };
    Some(SlaFilter {
        metric_tag: tag.into(),
        stat: stat.into(),
        op,
        threshold: s.threshold,
    })
}

fn comparison(opts: &ComparisonOptions) -> anyhow::Result<Comparison> {
    if let Some(p) = &opts.comparison {
        let text =
            std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
        return serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not compare's JSON: {e}", p.display()));
    }
    compare::run(&CompareOptions {
        inputs: opts.inputs.clone(),
        slo: opts.slos.iter().filter_map(sla_of).collect(),
        gates: Vec::new(),
        equivalence: 0.02,
        allow_different: Vec::new(),
        level: 0.95,
    })
}

/// The decision panel: the sentence, each configuration's capacity, the gates.
fn panel(c: &Comparison) -> String {
    let mut h = String::new();
    match &c.decision {
        Some(d) => {
            let cls = if d.significant { "decision" } else { "decision warn" };
            let _ = write!(h, "<p class=\"{cls}\" id=\"verdict\"><strong>{}</strong></p>", esc(&d.sentence));
            let rows: Vec<Vec<String>> = d
                .capacities
                .iter()
                .map(|k| vec![esc(&k.label), esc(&capacity_text(k))])
                .collect();
            h.push_str(&table(&["configuration", "capacity within the SLO"], &rows));
        }
        None => h.push_str("<p class=\"note\">No SLO given (--slo): no load decision; the metrics below compare each matched value.</p>"),
    }
    if !c.gates.is_empty() {
        h.push_str("<ul class=\"gates\">");
        for g in &c.gates {
            let (cls, word) = if g.passed {
                ("", "passed")
            } else {
                ("bad", "FAILED")
            };
            let _ = write!(h, "<li class=\"{cls}\">{word}: {}</li>", esc(&g.sentence));
        }
        h.push_str("</ul>");
    }
    for w in &c.warnings {
        let _ = write!(h, "<p class=\"warn\">{}</p>", esc(w));
    }
    h
}

/// Every matched value's metrics, one folded table each.
fn details(c: &Comparison) -> String {
    let mut h = String::new();
    for p in &c.pairs {
        for pt in &p.points {
            let rows: Vec<Vec<String>> = pt
                .metrics
                .iter()
                .map(|m| {
                    vec![
                        esc(&m.metric),
                        esc(&m.unit),
                        esc(&side_text(&m.base)),
                        esc(&side_text(&m.new)),
                        esc(&ratio_text(m.ratio.as_ref())),
                        esc(&verdict::text(m, c.equivalence_margin)),
                    ]
                })
                .collect();
            let _ = write!(
                h,
                "<details><summary>{} vs {} at {}</summary>{}</details>",
                esc(&p.new),
                esc(&p.base),
                esc(&pt.label),
                table(
                    &[
                        "metric",
                        "unit",
                        &format!("{} [95% CI]", p.base),
                        &format!("{} [95% CI]", p.new),
                        "ratio [95% CI]",
                        "verdict"
                    ],
                    &rows
                )
            );
        }
    }
    h
}

/// Loads every folder, compares, draws and writes the page.
pub fn run(opts: &ComparisonOptions) -> anyhow::Result<ReportSummary> {
    let mut points = Vec::new();
    let mut summary = ReportSummary {
        report: opts.output.clone(),
        bytes: 0,
        charts: 0,
        runs_ok: 0,
        runs_failed: 0,
        runs_unfinished: 0,
        runs_not_run: 0,
        warnings: Vec::new(),
    };
    for (label, dir) in &opts.inputs {
        let f = load::load(dir).map_err(|e| anyhow::anyhow!("{label}: {e:#}"))?;
        summary.runs_ok += f.runs.iter().filter(|r| r.ok()).count();
        summary.runs_failed += f
            .runs
            .iter()
            .filter(|r| matches!(r.status, Status::Failed(_)))
            .count();
        summary.runs_unfinished += f
            .runs
            .iter()
            .filter(|r| matches!(r.status, Status::Unfinished(_)))
            .count();
        summary.runs_not_run += f.missing.len();
        summary
            .warnings
            .extend(f.warnings.iter().map(|w| format!("{label}: {w}")));
        for v in f.values.iter().filter(|v| !v.metrics.is_empty()) {
            let mut parameters = v.params_map();
            parameters.insert(configurations::CONFIG_KEY.into(), label.clone().into());
            points.push(InputPoint {
                parameters,
                metrics: v.metrics.clone(),
            });
        }
    }
    let mut sections = Vec::new();
    let cmp = comparison(opts);
    sections.push(Section::new(
        "decision",
        "Decision",
        match &cmp {
            Ok(c) => panel(c),
            Err(e) => format!("<p class=\"bad\">No comparison: {}</p>", esc(&format!("{e:#}"))),
        },
    ));
    let chart = pareto::run(
        &points,
        &ParetoOptions {
            slos: opts.slos.clone(),
            ..ParetoOptions::default()
        },
    )
    .and_then(|r| configurations::chart(&r, "Configurations: throughput against latency"));
    sections.push(Section::new(
        "configurations",
        "Configurations together",
        match chart {
            Ok((svg, _)) => format!(
                "<p class=\"note\">One colour and marker per configuration; filled points are on their configuration's frontier; whiskers are 95% intervals across trials; hover a point for its numbers.</p><div class=\"charts\">{svg}</div>"
            ),
            Err(e) => format!("<p class=\"warn\">No chart: {}</p>", esc(&format!("{e:#}"))),
        },
    ));
    if let Ok(c) = &cmp {
        sections.push(Section::new(
            "metrics",
            "Metrics at each matched value",
            details(c),
        ));
    }
    let labels: Vec<&str> = opts.inputs.iter().map(|(l, _)| l.as_str()).collect();
    let title = opts
        .title
        .clone()
        .unwrap_or_else(|| format!("Configurations compared: {}", labels.join(" vs ")));
    let subtitle = opts
        .inputs
        .iter()
        .map(|(l, d)| format!("{l} = {}", d.display()))
        .collect::<Vec<_>>()
        .join(" · ");
    let html = super::page::render(&title, &format!("{subtitle} · sweepkit report"), &sections);
    crate::io::atomic::write(&opts.output, html.as_bytes())?;
    if let Err(e) = cmp {
        summary.warnings.push(format!("no decision panel: {e:#}"));
    }
    summary.bytes = html.len();
    summary.charts = html.matches("<svg class=\"chart\"").count();
    Ok(summary)
}
