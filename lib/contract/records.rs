//! The per-request record: AIPerf 0.13's `profile_export.jsonl` line, the one record type that flows
//! from `loadgen` to `trial-agg` (and that `trial-agg` also reads from AIPerf's own exports).
//!
//! Shape: `{"metadata": {...}, "metrics": {tag: {"value": v, "unit": u}}, "error": null | {...}}`.
//! Metric values are in display units (ms, tokens, tokens/sec/user) as AIPerf writes them; a list
//! metric (`inter_chunk_latency`) holds one value per gap. Timestamps in `metadata` are wall-clock
//! epoch nanoseconds; durations in `metrics` come from a monotonic clock.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which phase a request belonged to. Warmup records are kept in the file but excluded from metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Warmup,
    #[default]
    Profiling,
}

/// AIPerf's `MetricRecordMetadata`, with the fields sweepkit writes and reads. Unknown fields in
/// AIPerf's files (worker ids, DAG fields, ...) are ignored on read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Request index within the run (single-turn: one per request).
    #[serde(default)]
    pub session_num: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_correlation_id: Option<String>,
    /// Joins the record to `inputs.json` (`data[].session_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(default)]
    pub turn_index: u32,
    /// sweepkit addition: wall-clock epoch ns at which the schedule intended to send this request
    /// (open-loop and rate-capped runs). `request_start_ns - scheduled_ns` is the dispatch lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_ns: Option<u64>,
    /// Wall-clock epoch ns when the request was sent.
    #[serde(default)]
    pub request_start_ns: u64,
    /// Wall-clock epoch ns when the response headers arrived (absent if none did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_ack_ns: Option<u64>,
    /// Wall-clock epoch ns when the response ended (last byte, error, or cancellation).
    #[serde(default)]
    pub request_end_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    #[serde(default)]
    pub benchmark_phase: Phase,
    #[serde(default)]
    pub was_cancelled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_time_ns: Option<u64>,
    /// Which `--url` replica served the request, when loadgen was given several: its index in
    /// the `--url` list (AIPerf's `url_index`, which AIPerf keeps internal)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_index: Option<u32>,
    /// ...and its base URL (sweepkit addition; `trial-agg --by url` groups on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// sweepkit addition: the shard that sent this request (`loadgen --shard`), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardTag>,
}

/// Which shard of a benchmark a record came from: `{"index":2,"count":4,"host":"node-2"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTag {
    /// 1-based (1..=count).
    pub index: u32,
    pub count: u32,
    pub host: String,
}

/// A metric's value: one number, or a list (one value per inter-chunk gap).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    List(Vec<f64>),
}

impl Value {
    pub fn as_scalar(&self) -> Option<f64> {
        match self {
            Value::Scalar(v) => Some(*v),
            Value::List(_) => None,
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Scalar(v) => integral_or_float(*v, s),
            Value::List(vs) => vs.serialize(s),
        }
    }
}

/// Token counts are integers in AIPerf's files (`"value":550`); keep them that way.
fn integral_or_float<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(v as i64)
    } else {
        s.serialize_f64(v)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a list of numbers")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Scalar(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Scalar(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Scalar(v as f64))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Scalar(if v { 1.0 } else { 0.0 }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(x) = seq.next_element::<f64>()? {
                    out.push(x);
                }
                Ok(Value::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `{"value": v, "unit": "ms"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub value: Value,
    #[serde(default)]
    pub unit: String,
}

/// `{"code": 500, "type": "Internal Server Error", "message": "..."}`; code is null when there was
/// no HTTP status (connection refused, timeout, stream cut).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ErrorDetails {
    pub code: Option<i64>,
    #[serde(rename = "type")]
    pub kind: ErrorKind,
    pub message: String,
}

/// What went wrong with a request: the record's `error.type`, spelled as AIPerf spells it.
///
/// The named kinds are the ones loadgen decides itself; anything else — a server's own error
/// `type` (`exceed_context_size_error`), an HTTP reason phrase (`Too Many Requests`), whatever an
/// AIPerf record carries — is [`ErrorKind::Other`], kept verbatim. A known name always reads back
/// as its variant, never as `Other`, so equal strings are equal kinds. Kinds order by their names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A non-2xx status without a reason phrase or an error type of the server's.
    Http,
    /// No complete response within the request timeout.
    Timeout,
    /// The response started and then stopped: the connection closed part-way, or the stream ended
    /// without a finish reason or `[DONE]`.
    StreamCut,
    /// The server could not be reached (refused, no route, TLS refused).
    Connection,
    /// The connection closed before a response started.
    ConnectionReset,
    /// The response broke HTTP/1.1 (bad status line, bad chunk framing).
    Protocol,
    /// Any other transport failure.
    Request,
    /// Still in flight when the run stopped; cancelled and recorded (code 499).
    RequestCancellation,
    /// A well-formed response without what the endpoint returns (embeddings without `data`).
    InvalidResponse,
    /// A body or SSE event that is not valid JSON.
    MalformedResponse,
    /// The server reported an error inside a 200 stream or body (`{"error": ...}`).
    ServerStream,
    /// A 2xx response that carried no output.
    EmptyResponse,
    /// Any other name, verbatim.
    Other(String),
}

impl ErrorKind {
    const NAMED: [(ErrorKind, &'static str); 12] = [
        (ErrorKind::Http, "HTTPError"),
        (ErrorKind::Timeout, "TimeoutError"),
        (ErrorKind::StreamCut, "StreamCutError"),
        (ErrorKind::Connection, "ConnectionError"),
        (ErrorKind::ConnectionReset, "ConnectionResetError"),
        (ErrorKind::Protocol, "ProtocolError"),
        (ErrorKind::Request, "RequestError"),
        (ErrorKind::RequestCancellation, "RequestCancellationError"),
        (ErrorKind::InvalidResponse, "InvalidResponseError"),
        (ErrorKind::MalformedResponse, "MalformedResponseError"),
        (ErrorKind::ServerStream, "ServerStreamError"),
        (ErrorKind::EmptyResponse, "EmptyResponseError"),
    ];

    /// The name in records (`"TimeoutError"`).
    pub fn as_str(&self) -> &str {
        match self {
            ErrorKind::Other(name) => name,
            known => {
                let (_, name) = Self::NAMED
                    .iter()
                    .find(|(k, _)| k == known)
                    .expect("every named kind is in NAMED");
                name
            }
        }
    }

    /// The kind a record's `error.type` names.
    pub fn from_name(name: &str) -> ErrorKind {
        Self::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| ErrorKind::Other(name.to_string()), |(k, _)| k.clone())
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialOrd for ErrorKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ErrorKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ErrorKind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an error type name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ErrorKind, E> {
                Ok(ErrorKind::from_name(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// One request's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub metadata: Metadata,
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricValue>,
    #[serde(default)]
    pub error: Option<ErrorDetails>,
}

impl Record {
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }

    pub fn scalar(&self, tag: &str) -> Option<f64> {
        self.metrics.get(tag).and_then(|m| m.value.as_scalar())
    }

    pub fn set(&mut self, tag: &str, value: Value, unit: &str) {
        self.metrics.insert(
            tag.to_string(),
            MetricValue {
                value,
                unit: unit.to_string(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aiperf_record_and_ignores_unknown_fields() {
        let line = r#"{"metadata":{"session_num":45,"x_request_id":"7609","x_correlation_id":"32ee","conversation_id":"77aa","turn_index":0,"request_start_ns":1759813207532900363,"request_ack_ns":1759813207650730976,"request_end_ns":1759813207838764604,"worker_id":"worker_359d423a","record_processor_id":"rp","benchmark_phase":"profiling","was_cancelled":false,"cancellation_time_ns":null},
 "metrics":{"input_sequence_length":{"value":550,"unit":"tokens"},"time_to_first_token":{"value":255.88656799999998,"unit":"ms"},"inter_chunk_latency":{"value":[4.898437,5.316006],"unit":"ms"}},"error":null}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(r.metadata.session_num, 45);
        assert_eq!(r.metadata.request_start_ns, 1759813207532900363);
        assert_eq!(r.scalar("time_to_first_token"), Some(255.88656799999998));
        assert_eq!(
            r.metrics["inter_chunk_latency"].value,
            Value::List(vec![4.898437, 5.316006])
        );
        assert!(!r.is_error());
    }

    #[test]
    fn error_record_round_trips() {
        let line = r#"{"metadata":{"request_start_ns":1,"request_end_ns":2,"benchmark_phase":"warmup"},"metrics":{"error_isl":{"value":550,"unit":"tokens"}},"error":{"code":499,"type":"RequestCancellationError","message":"cancelled"}}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(r.metadata.benchmark_phase, Phase::Warmup);
        assert_eq!(r.error.as_ref().unwrap().code, Some(499));
        assert_eq!(r.error.as_ref().unwrap().kind, ErrorKind::RequestCancellation);
        let back = serde_json::to_string(&r).unwrap();
        assert!(
            back.contains(r#""error_isl":{"value":550,"unit":"tokens"}"#),
            "{back}"
        );
        assert_eq!(serde_json::from_str::<Record>(&back).unwrap(), r);
    }

    #[test]
    fn error_kinds_are_aiperfs_names_and_anything_else_verbatim() {
        for (kind, name) in ErrorKind::NAMED {
            assert_eq!(kind.to_string(), name);
            assert_eq!(ErrorKind::from_name(name), kind);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<ErrorKind>(&format!("\"{name}\"")).unwrap(),
                kind
            );
        }
        let other: ErrorKind = serde_json::from_str(r#""Too Many Requests""#).unwrap();
        assert_eq!(other, ErrorKind::Other("Too Many Requests".into()));
        assert_eq!(serde_json::to_string(&other).unwrap(), r#""Too Many Requests""#);
        // Ordered by name, as the strings were.
        let mut kinds = vec![
            ErrorKind::Timeout,
            other.clone(),
            ErrorKind::Http,
            ErrorKind::Connection,
        ];
        kinds.sort();
        assert_eq!(
            kinds,
            [ErrorKind::Connection, ErrorKind::Http, ErrorKind::Timeout, other]
        );
    }
}
