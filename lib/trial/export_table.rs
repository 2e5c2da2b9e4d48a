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

impl Exporter for Table {
    fn export(&self, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
        let mut rows: Vec<(u32, String, Vec<String>)> = Vec::new();
        for e in summary.entries.iter().filter(|e| shown(&e.tag)) {
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
        let title = "sweepkit trial-agg | LLM Metrics";
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
