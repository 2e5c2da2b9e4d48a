//! Contract B: the run info (`--run-info-out`), and the client-health numbers that go in it —
//! dispatch lag (actual − intended send time) p50/p99/max, late requests, client CPU time — and
//! the verdict on whether the client itself was the bottleneck.

use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

use super::options::Options;

/// A request counts as late when it left more than this after its intended time.
pub const LATE_AFTER: Duration = Duration::from_millis(1);
/// Client-bound verdict: dispatch lag p99 above this...
pub const LAG_P99_LIMIT: Duration = Duration::from_millis(5);
/// ...or the event-loop thread busy more than this share of the time (it is one thread: when it
/// is saturated, requests wait for it, not for the server).
pub const CPU_SHARE_LIMIT: f64 = 0.9;

/// Dispatch-lag accounting.
pub struct Health {
    lag: Histogram<u64>,
    late: u64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            lag: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
            late: 0,
        }
    }
}

impl Health {
    pub fn record_lag(&mut self, lag: Duration) {
        let ns = (lag.as_nanos() as u64).clamp(1, 3_600_000_000_000);
        let _ = self.lag.record(ns);
        if lag > LATE_AFTER {
            self.late += 1;
        }
    }

    pub fn late(&self) -> u64 {
        self.late
    }

    fn ms_at(&self, q: f64) -> f64 {
        if self.lag.is_empty() {
            return 0.0;
        }
        self.lag.value_at_quantile(q) as f64 / 1e6
    }

    pub fn p99(&self) -> Duration {
        Duration::from_nanos(if self.lag.is_empty() {
            0
        } else {
            self.lag.value_at_quantile(0.99)
        })
    }

    pub fn lag_json(&self) -> Value {
        json!({"p50": self.ms_at(0.5), "p99": self.ms_at(0.99), "max": if self.lag.is_empty() { 0.0 } else { self.lag.max() as f64 / 1e6 }})
    }
}

/// User + system CPU seconds used by this process so far.
pub fn cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_SELF)
}

/// CPU seconds used by the calling thread (the event loop, when called from it).
pub fn thread_cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_THREAD)
}

fn rusage_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF/RUSAGE_THREAD are valid.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Peak resident set size of this process, in bytes.
pub fn max_rss_bytes() -> u64 {
    // SAFETY: as above.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as u64 * 1024
}

/// One phase's window (epoch ns) and request count.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseWindow {
    pub start_ns: u64,
    pub end_ns: u64,
    pub requests: u64,
}

impl PhaseWindow {
    fn json(&self) -> Value {
        json!({"start_ns": self.start_ns, "end_ns": self.end_ns, "requests": self.requests})
    }
}

/// What the client did, for the `client` block.
pub struct ClientReport {
    pub target_request_rate: Option<f64>,
    pub achieved_request_rate: f64,
    pub health_lag: Value,
    pub late_requests: u64,
    pub cpu_seconds: f64,
    /// Share of the profiling window the event-loop thread was on a CPU.
    pub event_loop_busy: f64,
    pub client_bound: bool,
    pub warnings: Vec<String>,
    pub chunks_received: u64,
    pub max_rss_bytes: u64,
}

/// Decides whether the client was the bottleneck; returns the warnings (empty = it was not).
pub fn client_bound_warnings(health: &Health, open_loop: bool, loop_cpu: f64, wall: f64) -> Vec<String> {
    let mut w = Vec::new();
    if open_loop && health.p99() > LAG_P99_LIMIT {
        w.push(format!(
            "dispatch lag p99 {:.2} ms exceeds {} ms: requests left late, the client could not keep the schedule",
            health.p99().as_secs_f64() * 1e3,
            LAG_P99_LIMIT.as_millis()
        ));
    }
    if wall > 0.5 && loop_cpu / wall > CPU_SHARE_LIMIT {
        w.push(format!(
            "the client's event loop was busy {:.0}% of the time: the client, not the server, may have set the pace",
            loop_cpu / wall * 100.0
        ));
    }
    w
}

/// The resolved configuration, AIPerf-like, with secrets redacted (they are never in `Options`'
/// settings; headers are listed by name only).
pub fn input_config(opts: &Options, dataset_entries: usize) -> Value {
    let mut phases = Vec::new();
    if opts.warmup_request_count > 0 {
        phases.push(json!({"name": "warmup", "kind": "warmup", "requests": opts.warmup_request_count}));
    }
    let mut prof = Map::new();
    prof.insert("name".into(), json!("profiling"));
    prof.insert("kind".into(), json!("profiling"));
    prof.insert(
        "type".into(),
        json!(if opts.request_rate.is_some() {
            "request_rate"
        } else {
            "concurrency"
        }),
    );
    if let Some(n) = opts.request_count {
        prof.insert("requests".into(), json!(n));
    }
    if let Some(d) = opts.benchmark_duration {
        prof.insert("duration".into(), json!(d));
        prof.insert("grace_period".into(), json!(opts.benchmark_grace_period));
    }
    if let Some(c) = opts.concurrency {
        prof.insert("concurrency".into(), json!(c));
        if opts.concurrency_ramp_duration > 0.0 {
            prof.insert(
                "concurrency_ramp_duration".into(),
                json!(opts.concurrency_ramp_duration),
            );
        }
    }
    if let Some(r) = opts.request_rate {
        prof.insert("request_rate".into(), json!(r));
        prof.insert("arrival_pattern".into(), json!(opts.arrival_pattern));
        prof.insert("arrival_smoothness".into(), json!(opts.arrival_smoothness));
    }
    phases.push(Value::Object(prof));
    let mut prompts = Map::new();
    prompts.insert(
        "isl".into(),
        json!({"mean": opts.isl as f64, "stddev": opts.isl_stddev}),
    );
    if let Some(o) = opts.osl {
        prompts.insert("osl".into(), json!({"mean": o as f64, "stddev": opts.osl_stddev}));
    }
    let dataset = match &opts.input_file {
        Some(p) => {
            json!({"name": "main", "type": "file", "path": p, "format": opts.custom_dataset_type, "entries": dataset_entries})
        }
        None => json!({"name": "main", "type": "synthetic", "entries": dataset_entries,
                       "random_seed": opts.random_seed, "prompts": Value::Object(prompts)}),
    };
    json!({
        "models": {"items": [{"name": opts.model}]},
        "endpoint": {
            "urls": [opts.url], "type": opts.endpoint_type.name(), "path": opts.endpoint, "streaming": opts.streaming,
            "timeout_seconds": opts.request_timeout_seconds, "use_legacy_max_tokens": opts.use_legacy_max_tokens,
            "extra_inputs": opts.extra_inputs,
            "headers": opts.io.headers.iter().map(|(k, _)| format!("{k}: <redacted>")).collect::<Vec<_>>(),
            "api_key": if opts.io.api_key.is_some() { json!("<redacted>") } else { Value::Null },
        },
        "datasets": [dataset],
        "phases": phases,
        "tokenizer": {"name": opts.tokenizer, "use_server_token_count": opts.use_server_token_count},
        "runtime": {"ui": opts.ui},
    })
}

/// Everything the run info document is built from.
pub struct RunInfo<'a> {
    pub opts: &'a Options,
    pub benchmark_id: String,
    pub dataset_entries: usize,
    pub warmup: Option<PhaseWindow>,
    pub profiling: PhaseWindow,
    pub was_cancelled: bool,
    pub client: ClientReport,
}

impl RunInfo<'_> {
    pub fn to_json(&self) -> Value {
        let o = self.opts;
        let place = match serde_json::to_value(&o.place) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let place = &place;
        let mut run_info = Map::new();
        run_info.insert("benchmark_id".into(), json!(self.benchmark_id));
        run_info.insert(
            "random_seed".into(),
            if o.seed_given {
                json!(o.random_seed)
            } else {
                Value::Null
            },
        );
        run_info.insert("trial".into(), place.get("trial").cloned().unwrap_or(Value::Null));
        run_info.insert(
            "run_label".into(),
            place.get("trial_label").cloned().unwrap_or(Value::Null),
        );
        run_info.insert(
            "variation_label".into(),
            place
                .get("variation_label")
                .cloned()
                .unwrap_or_else(|| json!("base")),
        );
        run_info.insert(
            "variation_index".into(),
            place.get("variation_index").cloned().unwrap_or(Value::Null),
        );
        run_info.insert(
            "variation_values".into(),
            place
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        );
        run_info.insert("cli_command".into(), json!(o.io.cli_command));
        for (k, v) in place {
            if ![
                "trial",
                "trial_label",
                "variation_label",
                "variation_index",
                "parameters",
            ]
            .contains(&k.as_str())
            {
                run_info.insert(k.clone(), v.clone());
            }
        }
        let mut phases = Map::new();
        if let Some(w) = &self.warmup {
            phases.insert("warmup".into(), w.json());
        }
        phases.insert("profiling".into(), self.profiling.json());
        let c = &self.client;
        json!({
            "schema": "sweepkit.run_info/1",
            "run_info": run_info,
            "input_config": input_config(o, self.dataset_entries),
            "phases": phases,
            "start_time": crate::io::clock::iso_utc(self.profiling.start_ns),
            "end_time": crate::io::clock::iso_utc(self.profiling.end_ns),
            "was_cancelled": self.was_cancelled,
            "client": {
                "target_request_rate": c.target_request_rate,
                "achieved_request_rate": c.achieved_request_rate,
                "dispatch_lag_ms": c.health_lag,
                "late_requests": c.late_requests,
                "cpu_seconds": c.cpu_seconds,
                "event_loop_busy": c.event_loop_busy,
                "client_bound": c.client_bound,
                "warnings": c.warnings,
                "chunks_received": c.chunks_received,
                "max_rss_bytes": c.max_rss_bytes,
            }
        })
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        crate::io::atomic::write_json(path, &self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_percentiles_and_late_count() {
        let mut h = Health::default();
        for us in 1..=100u64 {
            h.record_lag(Duration::from_micros(us * 20));
        }
        assert_eq!(h.late(), 50);
        let j = h.lag_json();
        assert!((j["p50"].as_f64().unwrap() - 1.0).abs() < 0.01, "{j}");
        assert!((j["max"].as_f64().unwrap() - 2.0).abs() < 0.01, "{j}");
        assert!(!client_bound_warnings(&h, true, 0.1, 10.0)
            .iter()
            .any(|w| w.contains("lag")));
        h.record_lag(Duration::from_millis(50));
        h.record_lag(Duration::from_millis(50));
        assert!(client_bound_warnings(&h, true, 0.1, 10.0)[0].contains("dispatch lag"));
        assert!(cpu_seconds() > 0.0);
        assert!(client_bound_warnings(&Health::default(), false, 0.95, 1.0)[0].contains("event loop"));
        assert!(client_bound_warnings(&Health::default(), false, 0.5, 1.0).is_empty());
    }
}
