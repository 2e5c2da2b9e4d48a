//! `/metrics` (Prometheus text with vLLM's metric names) and `/dcgm/metrics` (DCGM-exporter-style
//! GPU gauges derived from the simulated load). Counters are relaxed atomics: cheap on the hot path.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::faults::FaultKind;

/// A Prometheus histogram over seconds, observed in ns.
pub struct Histogram {
    bounds_s: &'static [f64],
    bounds_ns: Vec<u64>,
    buckets: Vec<AtomicU64>, // per bucket (not cumulative); last = +Inf
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds_s: &'static [f64]) -> Self {
        Histogram {
            bounds_s,
            bounds_ns: bounds_s.iter().map(|b| (b * 1e9).round() as u64).collect(),
            buckets: (0..=bounds_s.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe_ns(&self, ns: u64) {
        let i = self
            .bounds_ns
            .iter()
            .position(|&b| ns <= b)
            .unwrap_or(self.bounds_ns.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str, labels: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cum = 0u64;
        for (i, b) in self.bounds_s.iter().enumerate() {
            cum += self.buckets[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b:?}\"}} {cum}");
        }
        cum += self.buckets[self.bounds_s.len()].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cum}");
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {:?}",
            self.sum_ns.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count.load(Relaxed));
    }
}

const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
    80.0,
];
const ITL_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];
const E2E_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
];

pub struct Metrics {
    pub prompt_tokens: AtomicU64,
    pub generation_tokens: AtomicU64,
    /// Finished requests by reason: [length, stop].
    pub success_length: AtomicU64,
    pub success_stop: AtomicU64,
    /// Requests answered 4xx (bad body, auth) — not counted as success.
    pub rejected: AtomicU64,
    /// Streams the client abandoned before the end.
    pub aborted: AtomicU64,
    /// Prefix cache: prompt tokens looked up, and those found (vLLM's counters, in tokens).
    pub prefix_cache_queries: AtomicU64,
    pub prefix_cache_hits: AtomicU64,
    pub faults: [AtomicU64; 5],
    pub ttft: Histogram,
    pub itl: Histogram,
    pub e2e: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            prompt_tokens: AtomicU64::new(0),
            generation_tokens: AtomicU64::new(0),
            success_length: AtomicU64::new(0),
            success_stop: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            prefix_cache_queries: AtomicU64::new(0),
            prefix_cache_hits: AtomicU64::new(0),
            faults: Default::default(),
            ttft: Histogram::new(TTFT_BUCKETS),
            itl: Histogram::new(ITL_BUCKETS),
            e2e: Histogram::new(E2E_BUCKETS),
        }
    }
}

/// The load at the moment of a scrape.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub running: usize,
    pub waiting: usize,
    /// Tokens held by running requests (prompt + generated so far).
    pub kv_tokens: u64,
    /// Notional KV-cache capacity in tokens.
    pub kv_capacity: u64,
    /// Decode slots (0 = unlimited).
    pub max_batch: usize,
}

impl Load {
    pub fn kv_usage(&self) -> f64 {
        (self.kv_tokens as f64 / self.kv_capacity.max(1) as f64).min(1.0)
    }

    /// Simulated GPU busy share, 0..1: the decode batch fill.
    pub fn utilization(&self) -> f64 {
        if self.running == 0 {
            0.0
        } else if self.max_batch == 0 {
            1.0
        } else {
            (self.running as f64 / self.max_batch as f64).min(1.0)
        }
    }
}

impl Metrics {
    pub fn fault(&self, k: FaultKind) {
        self.faults[k as usize].fetch_add(1, Relaxed);
    }

    /// Prometheus text exposition (vLLM names, `model_name` label).
    pub fn render(&self, load: Load, model: &str) -> String {
        let l = format!("engine=\"0\",model_name={}", prom_label(model));
        let mut o = String::with_capacity(8192);
        render_load(&mut o, &l, load);
        self.render_tokens(&mut o, &l);
        self.render_latencies(&mut o, &l);
        self.render_mock_only(&mut o, &l);
        o
    }

    /// vLLM's token and request counters: what a client-side count is checked against.
    fn render_tokens(&self, o: &mut String, l: &str) {
        counter(
            o,
            l,
            "vllm:prompt_tokens_total",
            "Number of prefill tokens processed.",
            self.prompt_tokens.load(Relaxed),
        );
        counter(
            o,
            l,
            "vllm:generation_tokens_total",
            "Number of generation tokens processed.",
            self.generation_tokens.load(Relaxed),
        );
        counter(
            o,
            l,
            "vllm:prefix_cache_queries_total",
            "Prefix cache queries, in terms of number of queried tokens.",
            self.prefix_cache_queries.load(Relaxed),
        );
        counter(
            o,
            l,
            "vllm:prefix_cache_hits_total",
            "Prefix cache hits, in terms of number of cached tokens.",
            self.prefix_cache_hits.load(Relaxed),
        );
        let name = "vllm:request_success_total";
        let _ = writeln!(
            o,
            "# HELP {name} Count of successfully processed requests.\n# TYPE {name} counter"
        );
        let _ = writeln!(
            o,
            "{name}{{{l},finished_reason=\"length\"}} {:?}",
            self.success_length.load(Relaxed) as f64
        );
        let _ = writeln!(
            o,
            "{name}{{{l},finished_reason=\"stop\"}} {:?}",
            self.success_stop.load(Relaxed) as f64
        );
    }

    /// vLLM's latency histograms (seconds), the server-side view of TTFT, ITL and latency.
    fn render_latencies(&self, o: &mut String, l: &str) {
        self.ttft.render(
            o,
            "vllm:time_to_first_token_seconds",
            "Histogram of time to first token in seconds.",
            l,
        );
        self.itl.render(
            o,
            "vllm:inter_token_latency_seconds",
            "Histogram of inter-token latency in seconds.",
            l,
        );
        self.e2e.render(
            o,
            "vllm:e2e_request_latency_seconds",
            "Histogram of e2e request latency in seconds.",
            l,
        );
    }

    /// mock-llm's own counters (not vLLM's): faults injected, requests rejected or aborted,
    /// so a test can check the client saw exactly what the server did.
    fn render_mock_only(&self, o: &mut String, l: &str) {
        let name = "mock_llm:faults_injected_total";
        let _ = writeln!(o, "# HELP {name} Faults injected by --error-rate, --disconnect-rate, --stall-rate, --malformed-rate.\n# TYPE {name} counter");
        for k in FaultKind::ALL {
            let _ = writeln!(
                o,
                "{name}{{{l},kind=\"{}\"}} {:?}",
                k.name(),
                self.faults[k as usize].load(Relaxed) as f64
            );
        }
        counter(
            o,
            l,
            "mock_llm:requests_rejected_total",
            "Requests answered 4xx (malformed body, bad parameters, missing API key).",
            self.rejected.load(Relaxed),
        );
        counter(
            o,
            l,
            "mock_llm:requests_aborted_total",
            "Requests the client abandoned before the end.",
            self.aborted.load(Relaxed),
        );
    }
}

/// vLLM's scheduler gauges: the engine's load at the moment of the scrape.
fn render_load(o: &mut String, l: &str, load: Load) {
    gauge(
        o,
        l,
        "vllm:num_requests_running",
        "Number of requests in model execution batches.",
        load.running as f64,
    );
    gauge(
        o,
        l,
        "vllm:num_requests_waiting",
        "Number of requests waiting to be processed.",
        load.waiting as f64,
    );
    gauge(
        o,
        l,
        "vllm:kv_cache_usage_perc",
        "KV-cache usage. 1 means 100 percent usage.",
        load.kv_usage(),
    );
}

/// One gauge with its HELP and TYPE lines, labelled `l`.
fn gauge(o: &mut String, l: &str, name: &str, help: &str, v: f64) {
    let _ = writeln!(
        o,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{l}}} {v:?}"
    );
}

/// One counter with its HELP and TYPE lines, labelled `l`; the value printed as a float
/// (`3.0`), as vLLM's exposition does.
fn counter(o: &mut String, l: &str, name: &str, help: &str, v: u64) {
    let _ = writeln!(
        o,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{l}}} {v:?}",
        v = v as f64
    );
}

/// DCGM-exporter text: one simulated GPU whose utilisation follows the decode batch fill;
/// `energy_mj` is its energy counter (the integral of the power shown).
pub fn render_dcgm(load: Load, energy_mj: f64) -> String {
    const FB_TOTAL_MIB: f64 = 81_559.0;
    const WEIGHTS_MIB: f64 = 16_384.0;
    let util = load.utilization();
    let fb_used = (WEIGHTS_MIB + load.kv_usage() * (FB_TOTAL_MIB * 0.9 - WEIGHTS_MIB)).round();
    let labels = r#"gpu="0",UUID="GPU-00000000-0000-0000-0000-00000000m0c1",device="nvidia0",modelName="NVIDIA H100 80GB HBM3 (simulated)",Hostname="mock-llm""#;
    let mut o = String::with_capacity(2048);
    let mut g = |name: &str, help: &str, kind: &str, v: f64| {
        let _ = writeln!(
            o,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{{labels}}} {v}"
        );
    };
    g(
        "DCGM_FI_DEV_GPU_UTIL",
        "GPU utilization (in %).",
        "gauge",
        (util * 100.0).round(),
    );
    g(
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "Memory utilization (in %).",
        "gauge",
        (util * 60.0).round(),
    );
    g(
        "DCGM_FI_DEV_FB_USED",
        "Framebuffer memory used (in MiB).",
        "gauge",
        fb_used,
    );
    g(
        "DCGM_FI_DEV_FB_FREE",
        "Framebuffer memory free (in MiB).",
        "gauge",
        FB_TOTAL_MIB - fb_used,
    );
    g(
        "DCGM_FI_DEV_POWER_USAGE",
        "Power draw (in W).",
        "gauge",
        (super::energy::power_w(util) * 1000.0).round() / 1000.0,
    );
    g(
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "Total energy consumption since boot (in mJ).",
        "counter",
        energy_mj.round(),
    );
    g(
        "DCGM_FI_DEV_GPU_TEMP",
        "GPU temperature (in C).",
        "gauge",
        (34.0 + util * 40.0).round(),
    );
    g(
        "DCGM_FI_DEV_SM_CLOCK",
        "SM clock frequency (in MHz).",
        "gauge",
        if util > 0.0 { 1980.0 } else { 345.0 },
    );
    g(
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "Ratio of time the graphics engine is active.",
        "gauge",
        (util * 1e4).round() / 1e4,
    );
    o
}

/// A Prometheus label value, quoted and escaped.
fn prom_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}
