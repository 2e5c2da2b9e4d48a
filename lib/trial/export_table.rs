//! The console summary (`--format table`, the default on a terminal): like AIPerf's console
//! export, one row per metric with avg, min, max, p99, p90, p50, std; units in the metric names;
//! numbers with thousands separators and two decimals; `N/A` where a metric has no such stat.
//! Rows follow AIPerf's display order; per-gap and transport details (`inter_chunk_latency`,
//! `http_req_*`, `*_diff_pct`) stay in the JSON/CSV.

use std::io::{self, Write};

use super::{metrics, Exporter, MetricValue, Summary};

pub struct Table;

const COLS: [&str; 7] = ["avg", "min", "max", "p99", "p90", "p50", "std"];

/// `1234567.891` → `1,234,567.89`.
pub fn group(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}.{frac}", if v < 0.0 && s != "0.00" { "-" } else { "" })
}

fn shown(tag: &str) -> bool {
    !(tag == "inter_chunk_latency" || tag.starts_with("http_req_") || tag.ends_with("_diff_pct"))
}

/// The output token count repeats the output sequence length unless reasoning tokens were counted
/// apart: then it is shown, else left to the JSON/CSV.
fn repeats_osl(summary: &Summary, tag: &str) -> bool {
    let reasoning = summary
        .get("reasoning_token_count")
        .is_some_and(|e| match &e.value {
            MetricValue::Dist(d) => d.max > 0.0,
            MetricValue::Sweep(w) => w.max > 0.0,
            MetricValue::Scalar(v) => *v > 0.0,
        });
    tag == "output_token_count" && summary.get("output_sequence_length").is_some() && !reasoning
}

/// Which run the table is about, from the run info (`--run-info`): its folder, else its label
/// and trial, and its benchmark id.
pub fn run_name(summary: &Summary) -> String {
    let Some(r) = &summary.run_info else {
        return "records only (give --run-info to name the run)".into();
    };
    let text = |k: &str| r.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = text("artifact_dir") {
        parts.push(d.to_string());
    } else if let Some(l) = text("run_label").or_else(|| text("variation_label")) {
        parts.push(l.to_string());
    }
    if let Some(t) = r.get("trial").and_then(|v| v.as_u64()) {
        parts.push(format!("trial {t}"));
    }
    if let Some(b) = text("benchmark_id") {
        parts.push(format!("benchmark {b}"));
    }
    if parts.is_empty() {
        "unnamed run".into()
    } else {
        parts.join(", ")
    }
}

/// The minimum of a gap metric (ms), when it is a distribution.
fn min_of(summary: &Summary, tag: &str) -> Option<f64> {
    match &summary.get(tag)?.value {
        MetricValue::Dist(d) => Some(d.min),
        MetricValue::Sweep(w) => Some(w.min),
        MetricValue::Scalar(_) => None,
    }
}

/// A note for TTST or ITL minimums of 0.00 ms: two chunks stamped at the same instant means the
/// client read them in one go, so the gap measures the client's reads, not the server.
pub fn zero_gap_note(summary: &Summary) -> Option<String> {
    let zero: Vec<&str> = [
        ("time_to_second_token", "Time to Second Token"),
        ("inter_token_latency", "Inter Token Latency"),
    ]
    .into_iter()
    .filter(|(t, _)| min_of(summary, t).is_some_and(|m| m < 0.005))
    .map(|(_, h)| h)
    .collect();
    (!zero.is_empty()).then(|| {
        format!(
            "Note: {} min 0.00 ms: the client read several chunks at once (same timestamp), so these minimums measure the client's reads, not the server's token gaps; a busy or loaded client makes them, and the averages are less affected.",
            zero.join(" and ")
        )
    })
}

impl Exporter for Table {
    fn export(&self, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
        let mut rows: Vec<(u32, String, Vec<String>)> = Vec::new();
        for e in summary
            .entries
            .iter()
            .filter(|e| shown(&e.tag) && !repeats_osl(summary, &e.tag))
        {
            let base = e.tag.strip_prefix("adj_").unwrap_or(&e.tag);
            let order = metrics::lookup(base).and_then(|i| i.console).unwrap_or(5000) * 2
                + e.tag.starts_with("adj_") as u32;
            let cells = match &e.value {
                MetricValue::Dist(d) => vec![d.avg, d.min, d.max, d.pct[8], d.pct[6], d.pct[4]]
                    .into_iter()
                    .map(group)
                    .chain(std::iter::once(d.std.map(group).unwrap_or_else(|| "N/A".into())))
                    .collect(),
                MetricValue::Sweep(w) => [w.avg, w.min, w.max, w.p99, w.p90, w.p50, w.std]
                    .into_iter()
                    .map(group)
                    .collect(),
                MetricValue::Scalar(v) => std::iter::once(group(*v))
                    .chain(std::iter::repeat_n("N/A".to_string(), 6))
                    .collect(),
            };
            // A header that already ends with its unit ("… Cache Read %") does not repeat it.
            let name = if e.unit.is_empty() || e.header.ends_with(e.unit.as_str()) {
                e.header.clone()
            } else {
                format!("{} ({})", e.header, e.unit)
            };
            rows.push((order, name, cells));
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let mut widths = [0usize; 8];
        widths[0] = "Metric".len();
        for (i, c) in COLS.iter().enumerate() {
            widths[i + 1] = c.len();
        }
        for (_, name, cells) in &rows {
            widths[0] = widths[0].max(name.chars().count());
            for (i, c) in cells.iter().enumerate() {
                widths[i + 1] = widths[i + 1].max(c.len());
            }
        }
        let title = format!("sweepkit trial-agg | LLM Metrics | {}", run_name(summary));
        writeln!(out, "{title}")?;
        let mut line = format!("{:>w$}", "Metric", w = widths[0]);
        for (i, c) in COLS.iter().enumerate() {
            line.push_str(&format!("  {:>w$}", c, w = widths[i + 1]));
        }
        writeln!(out, "{line}")?;
        writeln!(out, "{}", "-".repeat(line.chars().count()))?;
        for (_, name, cells) in &rows {
            let mut line = format!("{:>w$}", name, w = widths[0]);
            for (i, c) in cells.iter().enumerate() {
                line.push_str(&format!("  {:>w$}", c, w = widths[i + 1]));
            }
            writeln!(out, "{line}")?;
        }
        if let Some(n) = zero_gap_note(summary) {
            writeln!(out, "{n}")?;
        }
        if !summary.error_summary.is_empty() {
            writeln!(out)?;
            writeln!(out, "Errors:")?;
            for (d, n) in &summary.error_summary {
                let code = d.code.map(|c| c.to_string()).unwrap_or_else(|| "-".into());
                writeln!(out, "  {n:>6} × {code} {}: {}", d.kind, d.message)?;
            }
        }
        for (url, s) in &summary.by_url {
            writeln!(out)?;
            writeln!(out, "url: {url}")?;
            self.export(s, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(22343.083240153723), "22,343.08");
        assert_eq!(group(1234567.0), "1,234,567.00");
        assert_eq!(group(5.0), "5.00");
        assert_eq!(group(-1234.5), "-1,234.50");
    }
}
