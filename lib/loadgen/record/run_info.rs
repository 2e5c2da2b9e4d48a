//! The run info loadgen writes (`--run-info-out`, [`crate::contract::run_info`]): built from the
//! resolved options and what the run measured, including the client-health numbers — dispatch lag
//! (actual − intended send time) p50/p99/max, late requests, client CPU time — and the verdict on
//! whether the client itself was the bottleneck.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::contract::run_info::{
    self as contract, CancellationConfig, Client, Dataset, DispatchLag, Endpoint, InputConfig, Length,
    ModelName, Models, PhaseConfig, PhaseWindow, Phases, PrefixPrompts, Prompts, RunBlock, RunEnd, RunInfo,
    Runtime, TokenizerConfig,
};
use crate::io::hf_cache::{self, Located};
use crate::loadgen::options::Options;

/// A request counts as late when it left more than this after its intended time.
pub const LATE_AFTER: Duration = Duration::from_millis(1);
/// Client-bound verdict: dispatch lag p99 above this...
pub const LAG_P99_LIMIT: Duration = Duration::from_millis(5);
/// ...or the client reading what the kernel had already received later than this (p99)...
pub const CLIENT_LAG_P99_LIMIT: Duration = Duration::from_millis(5);
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

    /// Dispatch lag p50/p99/max, ms.
    pub fn lag(&self) -> DispatchLag {
        DispatchLag {
            p50: self.ms_at(0.5),
            p99: self.ms_at(0.99),
            max: if self.lag.is_empty() {
                0.0
            } else {
                self.lag.max() as f64 / 1e6
            },
        }
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

/// Decides whether the client was the bottleneck; returns the warnings (empty = it was not).
/// `client_lag_p99` is the kernel-vs-user receive stamp gap ([`crate::loadgen::http::rx_stamp`], zero without
/// kernel stamps).
pub fn client_bound_warnings(
    health: &Health,
    open_loop: bool,
    loop_cpu: f64,
    wall: f64,
    client_lag_p99: Duration,
) -> Vec<String> {
    let mut w = Vec::new();
    if client_lag_p99 > CLIENT_LAG_P99_LIMIT {
        w.push(format!(
            "the client read chunks {:.2} ms (p99) after the kernel received them (limit {} ms): chunk times are the kernel's, but the client was too busy to keep up, so requests may have left late",
            client_lag_p99.as_secs_f64() * 1e3,
            CLIENT_LAG_P99_LIMIT.as_millis()
        ));
    }
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
/// AIPerf's `prefix_prompts` block, when some prefix is shared.
fn prefix_prompts(w: &crate::loadgen::options::Workload) -> Option<PrefixPrompts> {
    let some = |n: u64| (n > 0).then_some(n);
    let p = PrefixPrompts {
        pool_size: some(w.prefix_length).and(some(w.prefix_pool_size)),
        length: some(w.prefix_length),
        shared_system_length: some(w.shared_system_length),
        user_context_length: some(w.user_context_length),
    };
    (p != PrefixPrompts::default()).then_some(p)
}

/// AIPerf's `datasets[0]`: the file, or the synthetic prompts and workload.
fn dataset_config(opts: &Options, dataset_entries: usize) -> Dataset {
    let w = &opts.workload;
    match &opts.input_file {
        Some(p) => Dataset {
            name: "main".into(),
            kind: "file".into(),
            entries: dataset_entries,
            path: Some(p.clone()),
            format: Some(opts.custom_dataset_type),
            inter_turn_delay_cap_seconds: w.delay_cap_ms.map(|ms| ms / 1000.0),
            ..Dataset::default()
        },
        None => Dataset {
            name: "main".into(),
            kind: "synthetic".into(),
            entries: dataset_entries,
            path: None,
            format: None,
            random_seed: Some(opts.random_seed),
            prompts: Some(Prompts {
                isl: Length {
                    mean: opts.isl as f64,
                    stddev: opts.isl_stddev,
                },
                osl: opts.osl.map(|o| Length {
                    mean: o as f64,
                    stddev: opts.osl_stddev,
                }),
            }),
            prefix_prompts: prefix_prompts(w),
            turns: (w.turn_mean > 1 || w.turn_stddev > 0).then_some(Length {
                mean: w.turn_mean as f64,
                stddev: w.turn_stddev as f64,
            }),
            turn_delay: (w.turn_delay_mean_ms > 0.0).then_some(Length {
                mean: w.turn_delay_mean_ms,
                stddev: w.turn_delay_stddev_ms as f64,
            }),
            turn_delay_ratio: (w.turn_delay_mean_ms > 0.0 && w.turn_delay_ratio != 1.0)
                .then_some(w.turn_delay_ratio),
            inter_turn_delay_cap_seconds: None,
        },
    }
}

/// `trace`: the profiling phase replayed a timestamped `--input-file` (AIPerf's `fixed_schedule`).
pub fn input_config(opts: &Options, dataset_entries: usize, trace: bool) -> InputConfig {
    let mut phases = Vec::new();
    if opts.warmup_request_count > 0 {
        phases.push(PhaseConfig {
            name: "warmup".into(),
            kind: "warmup".into(),
            requests: Some(opts.warmup_request_count),
            ..PhaseConfig::default()
        });
    }
    let duration = opts.benchmark_duration;
    let w = &opts.workload;
    let rate = opts.request_rate.or(w.user_centric.map(|(qps, _)| qps));
    phases.push(PhaseConfig {
        name: "profiling".into(),
        kind: "profiling".into(),
        load: Some(
            if trace {
                "fixed_schedule"
            } else if w.user_centric.is_some() {
                "user_centric"
            } else if rate.is_some() {
                "request_rate"
            } else {
                "concurrency"
            }
            .into(),
        ),
        sessions: w.conversation_num,
        users: w.user_centric.map(|(_, users)| users),
        requests: opts.request_count,
        duration,
        grace_period: duration.map(|_| opts.benchmark_grace_period),
        concurrency: opts.concurrency,
        concurrency_ramp_duration: (opts.concurrency.is_some() && opts.concurrency_ramp_duration > 0.0)
            .then_some(opts.concurrency_ramp_duration),
        request_rate: rate,
        arrival_pattern: rate.map(|_| opts.arrival_pattern),
        arrival_smoothness: rate.map(|_| opts.arrival_smoothness),
        cancellation: opts.cancellation.map(|c| CancellationConfig {
            rate: c.rate_percent,
            delay: c.delay_s,
        }),
        auto_offset: opts.replay.required.then_some(opts.replay.auto_offset),
        start_offset: opts.replay.start_offset_ms,
        end_offset: opts.replay.end_offset_ms,
    });
    let dataset = dataset_config(opts, dataset_entries);
    InputConfig {
        models: Models {
            items: vec![ModelName {
                name: opts.model.clone(),
            }],
        },
        endpoint: Endpoint {
            urls: opts.urls.clone(),
            kind: opts.endpoint_type.name().into(),
            path: opts.endpoint.clone(),
            streaming: opts.streaming,
            timeout_seconds: opts.request_timeout_seconds,
            use_legacy_max_tokens: opts.use_legacy_max_tokens,
            extra_inputs: opts.extra_inputs.clone(),
            headers: opts
                .io
                .headers
                .iter()
                .map(|(k, _)| format!("{k}: <redacted>"))
                .collect(),
            api_key: opts.io.api_key.as_ref().map(|_| "<redacted>".into()),
        },
        datasets: vec![dataset],
        phases,
        tokenizer: TokenizerConfig {
            name: opts.tokenizer.clone(),
            revision: opts.tokenizer_revision.clone(),
            trust_remote_code: opts.tokenizer_trust_remote_code,
            // Resolved again (a few stats): the run already loaded it from there.
            path: match hf_cache::locate(&opts.tokenizer, opts.tokenizer_revision.as_deref()) {
                Ok(Located::Files { tokenizer_json, .. }) => Some(tokenizer_json),
                _ => None,
            },
            use_server_token_count: opts.use_server_token_count,
        },
        runtime: Runtime { ui: opts.ui },
        network_latency: opts.network_latency.config(),
    }
}

/// What the run info is built from: the options and what the run measured.
pub struct Facts<'a> {
    pub opts: &'a Options,
    pub benchmark_id: String,
    pub dataset_entries: usize,
    /// The profiling phase replayed a trace on its timestamps.
    pub trace: bool,
    pub warmup: Option<PhaseWindow>,
    pub profiling: PhaseWindow,
    pub was_cancelled: bool,
    pub client: Client,
    pub end: RunEnd,
}

impl Facts<'_> {
    /// The run info document.
    pub fn document(&self) -> RunInfo {
        let o = self.opts;
        RunInfo {
            schema: Some(contract::SCHEMA.into()),
            benchmark_id: None,
            run_info: Some(RunBlock::new(
                self.benchmark_id.clone(),
                o.seed_given.then_some(o.random_seed),
                o.io.cli_command.clone(),
                &o.place,
            )),
            input_config: Some(input_config(o, self.dataset_entries, self.trace)),
            phases: Some(Phases {
                warmup: self.warmup,
                profiling: Some(self.profiling),
            }),
            start_time: Some(crate::io::clock::iso_utc(self.profiling.start_ns)),
            end_time: Some(crate::io::clock::iso_utc(self.profiling.end_ns)),
            was_cancelled: Some(self.was_cancelled),
            client: Some(self.client.clone()),
            end: Some(self.end.clone()),
            shard: o
                .placement
                .as_ref()
                .map(|p| p.block(self.profiling.start_ns, crate::io::clock_sync::read())),
        }
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
        let j = h.lag();
        assert!((j.p50 - 1.0).abs() < 0.01, "{j:?}");
        assert!((j.max - 2.0).abs() < 0.01, "{j:?}");
        let z = Duration::ZERO;
        assert!(!client_bound_warnings(&h, true, 0.1, 10.0, z)
            .iter()
            .any(|w| w.contains("lag")));
        h.record_lag(Duration::from_millis(50));
        h.record_lag(Duration::from_millis(50));
        assert!(client_bound_warnings(&h, true, 0.1, 10.0, z)[0].contains("dispatch lag"));
        assert!(cpu_seconds() > 0.0);
        assert!(client_bound_warnings(&Health::default(), false, 0.95, 1.0, z)[0].contains("event loop"));
        assert!(client_bound_warnings(&Health::default(), false, 0.5, 1.0, z).is_empty());
        let late = client_bound_warnings(&Health::default(), false, 0.5, 1.0, Duration::from_millis(6));
        assert!(late[0].contains("after the kernel received them"), "{late:?}");
    }

    use crate::contract::plan_line::{self, Place};
    use crate::contract::run_info::EndReason;
    use crate::loadgen::options::{resolve, Io, Settings};
    use serde_json::Value;

    fn facts(opts: &Options, warmup: bool) -> Facts<'_> {
        Facts {
            opts,
            benchmark_id: "00c0ffee00c0ffee".into(),
            dataset_entries: 100,
            trace: false,
            warmup: warmup.then_some(PhaseWindow {
                sessions: None,
                start_ns: 1_700_000_000_000_000_000,
                end_ns: 1_700_000_000_250_000_000,
                requests: 5,
            }),
            profiling: PhaseWindow {
                sessions: None,
                start_ns: 1_700_000_000_250_000_123,
                end_ns: 1_700_000_010_250_000_456,
                requests: 200,
            },
            was_cancelled: !warmup,
            client: Client {
                target_request_rate: opts.request_rate,
                achieved_request_rate: 19.990000000000002,
                dispatch_lag_ms: DispatchLag {
                    p50: 0.051,
                    p99: 0.25,
                    max: 0.0,
                },
                late_requests: 1,
                cpu_seconds: 0.75,
                event_loop_busy: 1.0 / 3.0,
                client_bound: warmup,
                warnings: if warmup {
                    vec!["slow \"client\"".into()]
                } else {
                    Vec::new()
                },
                chunks_received: 6400,
                max_rss_bytes: 12_345_678,
                receive_stamps: None,
                workers: None,
            },
            end: if warmup {
                RunEnd {
                    reason: EndReason::Completed,
                    detail: None,
                    requests_not_sent: None,
                }
            } else {
                RunEnd {
                    reason: EndReason::ServerUnreachable,
                    detail: Some("the server refused every connection for 3.0 s (30 requests)".into()),
                    requests_not_sent: None,
                }
            },
        }
    }

    fn settings(json: &str) -> Settings {
        serde_json::from_str(json).unwrap()
    }

    /// Runs as different as the options allow: a sweep line at a rate with a warmup, a hand-written
    /// closed-loop duration run, a trace file, one with headers and a key.
    fn variants() -> Vec<Options> {
        let line = plan_line::parse(r#"{"run_index":3,"trial":2,"trial_label":"trial_0002","variation_index":1,"variation_label":"request_rate_20","parameters":{"request_rate":20},"seed":43,"artifact_dir":"a/request_rate_20","cooldown_seconds":0.0,"warmup":true,"loadgen":{"url":"127.0.0.1:9","model":"m","request_rate":20,"concurrency":64,"arrival_pattern":"gamma","arrival_smoothness":1.5,"streaming":true,"osl":32,"osl_stddev":4.5,"warmup_request_count":5,"request_count":200,"extra_inputs":{"temperature":0.5,"ignore_eos":true}}}"#).unwrap();
        let io = Io {
            cli_command: "loadgen --spec - --api-key <redacted>".into(),
            api_key: Some("k".into()),
            headers: vec![("X-Team".into(), "infra".into())],
            ..Io::default()
        };
        vec![
            resolve(line.effective_settings(), io.clone(), line.place.clone()).unwrap(),
            resolve(
                settings(r#"{"model":"m","concurrency":8,"benchmark_duration":30,"concurrency_ramp_duration":2,"ui":"none"}"#),
                Io::default(),
                Place::default(),
            )
            .unwrap(),
            resolve(
                settings(r#"{"model":"m","input_file":"/tmp/trace.jsonl","custom_dataset_type":"mooncake_trace","endpoint_type":"completions","endpoint":"v2/x","random_seed":7}"#),
                io,
                Place { seed: Some(7), ..Place::default() },
            )
            .unwrap(),
        ]
    }

    /// The fixtures below are run info files as loadgen writes them: readers (trial-agg, sweep-agg,
    /// the shard merge) depend on these exact bytes, so a change to the type must not move them.
    #[test]
    fn the_file_is_byte_identical_to_the_one_loadgen_always_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let runs = variants();
        for (opts, warmup, expected) in [
            (
                &runs[0],
                true,
                include_str!("../../../tests/fixtures/run_info/sweep_run_at_a_rate.json"),
            ),
            (
                &runs[1],
                false,
                include_str!("../../../tests/fixtures/run_info/hand_written_duration_run.json"),
            ),
        ] {
            let path = dir.path().join("run_info.json");
            facts(opts, warmup).document().write(&path).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        }
    }

    #[test]
    fn a_trace_run_names_its_file_and_no_prompt_shape() {
        let runs = variants();
        let doc = facts(&runs[2], false).document().to_value().unwrap();
        assert_eq!(
            doc["input_config"]["datasets"][0].to_string(),
            r#"{"entries":100,"format":"mooncake_trace","name":"main","path":"/tmp/trace.jsonl","type":"file"}"#
        );
        assert_eq!(doc["input_config"]["endpoint"]["path"], "/v2/x");
        assert_eq!(doc["run_info"]["random_seed"], 7);
        assert_eq!(doc["run_info"]["seed"], 7);
        assert_eq!(doc["run_info"]["trial"], Value::Null);
    }
}
