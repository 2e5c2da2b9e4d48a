//! The Prometheus text exposition format (version 0.0.4), parsed by hand: the maintained crates either
//! drop every metric whose name has a `:` (all of vLLM's `vllm:*`) or carry an incompatible licence.
//!
//! Grammar kept: `# HELP name text`, `# TYPE name counter|gauge|histogram|summary|untyped`, other
//! comments ignored, and sample lines `name{label="value",...} value [timestamp_ms]` with label-value
//! escapes `\\`, `\"`, `\n`, values `NaN`, `+Inf`, `-Inf`. A histogram's `_bucket`/`_sum`/`_count`
//! samples (and a summary's `_sum`/`_count`) take their family's type.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    #[default]
    Untyped,
}

impl MetricType {
    fn parse(s: &str) -> Option<MetricType> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" | "unknown" => MetricType::Untyped,
            _ => return None,
        })
    }
}

/// A sample's labels, in exposition order.
pub type Labels = Vec<(String, String)>;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's own name (`vllm:e2e_request_latency_seconds_bucket`).
    pub name: String,
    /// The family it belongs to (`vllm:e2e_request_latency_seconds`), for `_bucket`/`_sum`/`_count`.
    pub family: String,
    pub labels: Labels,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
    pub kind: MetricType,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A parse failure: the 1-based line, what is wrong, and the offending text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub what: String,
    pub text: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: String = self.text.chars().take(120).collect();
        write!(f, "line {}: {}: {:?}", self.line, self.what, text)
    }
}

impl std::error::Error for ParseError {}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Parses a whole exposition.
pub fn parse(text: &str) -> Result<Vec<Sample>, ParseError> {
    let mut types: HashMap<String, MetricType> = HashMap::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |what: &str| ParseError {
            line: i + 1,
            what: what.to_string(),
            text: raw.to_string(),
        };
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut parts = rest.trim_start().splitn(3, char::is_whitespace);
            if parts.next() == Some("TYPE") {
                let name = parts.next().ok_or_else(|| err("TYPE without a metric name"))?;
                let kind = parts.next().map(str::trim).unwrap_or("");
                let kind = MetricType::parse(kind).ok_or_else(|| err("unknown metric type in TYPE"))?;
                types.insert(name.to_string(), kind);
            }
            continue;
        }
        let (name, after_name) =
            take_name(line).ok_or_else(|| err("a sample line must start with a metric name"))?;
        let (labels, rest) = if let Some(body) = after_name.strip_prefix('{') {
            parse_labels(body).map_err(|w| err(&w))?
        } else {
            (Vec::new(), after_name)
        };
        let mut fields = rest.split_whitespace();
        let value_text = fields.next().ok_or_else(|| err("sample without a value"))?;
        let value = parse_value(value_text).ok_or_else(|| err("sample value is not a number"))?;
        let timestamp_ms = match fields.next() {
            None => None,
            Some(t) => Some(
                t.parse::<i64>()
                    .map_err(|_| err("timestamp is not an integer (ms)"))?,
            ),
        };
        if fields.next().is_some() {
            return Err(err("unexpected text after the timestamp"));
        }
        let (family, kind) = family_of(name, &types);
        out.push(Sample {
            name: name.to_string(),
            family,
            labels,
            value,
            timestamp_ms,
            kind,
        });
    }
    Ok(out)
}

fn family_of(name: &str, types: &HashMap<String, MetricType>) -> (String, MetricType) {
    if let Some(k) = types.get(name) {
        return (name.to_string(), *k);
    }
    for suffix in ["_bucket", "_sum", "_count", "_total", "_created"] {
        if let Some(base) = name.strip_suffix(suffix) {
            match types.get(base) {
                Some(k @ (MetricType::Histogram | MetricType::Summary)) => return (base.to_string(), *k),
                Some(k @ MetricType::Counter) if suffix == "_total" => return (name.to_string(), *k),
                _ => {}
            }
        }
    }
    (name.to_string(), MetricType::Untyped)
}

fn take_name(s: &str) -> Option<(&str, &str)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    if !is_name_start(first) {
        return None;
    }
    let end = chars
        .find(|(_, c)| !is_name_char(*c))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// Parses `a="x",b="y"}` (after the `{`); returns the labels and the text after `}`.
fn parse_labels(body: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = body.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (key, after_key) = take_name(rest).ok_or("expected a label name")?;
        let after_eq = after_key
            .trim_start()
            .strip_prefix('=')
            .ok_or("expected '=' after a label name")?;
        let quoted = after_eq
            .trim_start()
            .strip_prefix('"')
            .ok_or("label value must be in double quotes")?;
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => return Err("unterminated label value".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((key.to_string(), value));
        rest = quoted[end + 1..].trim_start();
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma.trim_start();
        } else if !rest.starts_with('}') {
            return Err("expected ',' or '}' after a label".into());
        }
    }
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VLLM: &str = r#"# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="mock"} 3.0
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{model_name="mock"} 1024
# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le="0.1",model_name="mock"} 2
vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="mock"} 5
vllm:e2e_request_latency_seconds_sum{model_name="mock"} 1.25
vllm:e2e_request_latency_seconds_count{model_name="mock"} 5
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_count 2693 1395066363000
weird{path="a\\b\"c\nd", empty=""} NaN
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1",modelName="NVIDIA H100"} -Inf
"#;

    #[test]
    fn parses_vllm_names_types_labels_and_escapes() {
        let s = parse(VLLM).unwrap();
        assert_eq!(s.len(), 10);
        assert_eq!(s[0].name, "vllm:num_requests_running");
        assert_eq!(s[0].kind, MetricType::Gauge);
        assert_eq!(s[0].label("model_name"), Some("mock"));
        assert_eq!(s[1].kind, MetricType::Counter);
        assert_eq!(s[2].family, "vllm:e2e_request_latency_seconds");
        assert_eq!(s[2].kind, MetricType::Histogram);
        assert_eq!(s[3].label("le"), Some("+Inf"));
        assert_eq!(s[5].name, "vllm:e2e_request_latency_seconds_count");
        assert_eq!(s[5].kind, MetricType::Histogram);
        assert_eq!(s[7].kind, MetricType::Summary);
        assert_eq!(s[7].timestamp_ms, Some(1395066363000));
        assert_eq!(s[8].label("path"), Some("a\\b\"c\nd"));
        assert_eq!(s[8].label("empty"), Some(""));
        assert!(s[8].value.is_nan());
        assert_eq!(s[9].value, f64::NEG_INFINITY);
        assert_eq!(s[9].kind, MetricType::Untyped);
    }

    #[test]
    fn malformed_text_names_line_and_offending_text() {
        for (text, what) in [
            (
                "ok 1\n{bad} 2\n",
                "line 2: a sample line must start with a metric name",
            ),
            ("m{a=\"x} 1\n", "line 1: unterminated label value"),
            ("m{a=x} 1\n", "line 1: label value must be in double quotes"),
            ("m 12abc\n", "line 1: sample value is not a number"),
            ("m 1 2 3\n", "line 1: unexpected text after the timestamp"),
            ("# TYPE m sometimes\n", "line 1: unknown metric type in TYPE"),
            (
                "<html>oops</html>\n",
                "line 1: a sample line must start with a metric name",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(what), "{e}");
            assert!(
                e.contains(text.lines().last().unwrap()) || e.contains("\\\""),
                "{e} shows the text"
            );
        }
    }
}
