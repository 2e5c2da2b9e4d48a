//! `profile_export_aiperf.csv`: AIPerf 0.13's layout (aiperf-formats.md §2.3). Section 1: every
//! metric with percentiles, sorted by tag, `Metric,avg,min,max,sum,p1..p99,std`; an empty row;
//! section 2: `Metric,Value` for the aggregates, sorted by tag; then, as AIPerf writes when no GPU
//! telemetry was collected, two empty rows and the telemetry table's header. `Metric` cells are
//! `"<header> (<unit>)"` (no unit for `count`/`requests`), numbers `%.2f`, missing cells empty,
//! CRLF line ends (Python's csv module).

use std::io::{self, Write};

use super::{Exporter, MetricValue, Summary};

pub struct Csv;

/// The percentile table's columns after `Metric` (AIPerf's STAT_KEYS order).
pub const COLUMNS: [&str; 14] = [
    "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std",
];

const TELEMETRY_HEADER: &str =
    "Endpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std";

/// `"<header> (<unit>)"`, the unit left out for plain counts as AIPerf does.
pub fn metric_cell(header: &str, unit: &str) -> String {
    if unit.is_empty() || unit == "count" || unit == "requests" {
        header.to_string()
    } else {
        format!("{header} ({unit})")
    }
}

/// Python's `"%.2f" % v` (inf → `inf`, nan → `nan`).
pub fn num(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{v:.2}")
    }
}

/// A statistic's cell: empty where it is infinite (AIPerf scrubs non-finite values, so the
/// error-adjusted metrics' `inf` statistics are blank cells in its CSV).
fn finite_cell(v: f64) -> String {
    if v.is_finite() {
        num(v)
    } else {
        String::new()
    }
}

/// One CSV row as Python's csv module writes it (QUOTE_MINIMAL, CRLF).
pub fn write_row(out: &mut dyn Write, fields: &[String]) -> io::Result<()> {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            line.push('"');
            line.push_str(&f.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(f);
        }
    }
    line.push_str("\r\n");
    out.write_all(line.as_bytes())
}

impl Exporter for Csv {
    fn export(&self, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
        let header: Vec<String> = std::iter::once("Metric")
            .chain(COLUMNS)
            .map(String::from)
            .collect();
        write_row(out, &header)?;
        let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
        for e in &summary.entries {
            let mut cells = vec![metric_cell(&e.header, &e.unit)];
            match &e.value {
                MetricValue::Dist(d) => {
                    cells.extend([d.avg, d.min, d.max, d.sum].map(finite_cell));
                    cells.extend(d.pct.map(finite_cell));
                    cells.push(d.std.map(finite_cell).unwrap_or_default());
                }
                MetricValue::Sweep(w) => {
                    let e = String::new;
                    cells.extend([
                        num(w.avg),
                        num(w.min),
                        num(w.max),
                        e(),
                        e(),
                        e(),
                        e(),
                        e(),
                        num(w.p50),
                        e(),
                    ]);
                    cells.extend([num(w.p90), num(w.p95), num(w.p99), num(w.std)]);
                }
                MetricValue::Scalar(_) => continue,
            }
            rows.push((&e.tag, cells));
        }
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for (_, cells) in rows {
            write_row(out, &cells)?;
        }
        out.write_all(b"\r\n")?;
        write_row(out, &["Metric".into(), "Value".into()])?;
        for e in &summary.entries {
            if let MetricValue::Scalar(v) = e.value {
                write_row(out, &[metric_cell(&e.header, &e.unit), num(v)])?;
            }
        }
        out.write_all(b"\r\n\r\n")?;
        match &summary.telemetry {
            Some(t) => out.write_all(t.csv_section.as_bytes()),
            None => {
                out.write_all(TELEMETRY_HEADER.as_bytes())?;
                out.write_all(b"\r\n")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_like_python() {
        assert_eq!(num(40.623787709370404), "40.62");
        assert_eq!(num(0.125), "0.12"); // exact tie: half to even, as '%.2f' % 0.125
        assert_eq!(num(0.375), "0.38");
        assert_eq!(num(2.675), "2.67"); // binary value just below the tie
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(metric_cell("Request Count", "requests"), "Request Count");
        assert_eq!(metric_cell("Request Latency", "ms"), "Request Latency (ms)");
    }
}
