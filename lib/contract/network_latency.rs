//! AIPerf 0.13's network-latency calibration (`aiperf/network_latency/`), as a hand-off: loadgen's
//! probe writes one [`Sample`] per TCP-handshake probe to `profile_export_network_latency.jsonl`
//! (AIPerf's file name and line shape), trial-agg reads the file back ([`read_samples`]) and
//! subtracts the mean round trip from the request-start-anchored latencies. The run info's
//! `input_config.network_latency` block ([`Config`]) says which mode ran.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::io::jsonl;
use crate::stats::distribution::pairwise_sum;

/// AIPerf's file name for the samples (no `--profile-export-prefix`).
pub const SAMPLES_FILE: &str = "profile_export_network_latency.jsonl";
/// Seconds between probes when `--network-latency-ping-interval` is not given (AIPerf's default).
pub const DEFAULT_PING_INTERVAL: f64 = 1.0;
/// The smallest ping interval accepted, s: AIPerf's floor for its default interval.
pub const MIN_PING_INTERVAL: f64 = 0.001;
/// Successful samples the probe tops up to when the profiling phase ends (AIPerf's `MIN_SAMPLES`).
pub const MIN_SAMPLES: u64 = 5;
/// One probe's TCP-handshake timeout (AIPerf's `CONNECT_TIMEOUT`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Wall-clock budget of the final top-up (AIPerf's `COMPLETE_TOPUP_TIMEOUT`).
pub const TOPUP_BUDGET: Duration = Duration::from_secs(3);

/// Which network-latency mode a run used.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Mode {
    /// Neither flag: no probe, no adjusted metrics.
    #[default]
    Off,
    /// `--network-latency-automatic`: probe every `interval_s` seconds during profiling.
    Probe { interval_s: f64 },
    /// `--network-latency-mean MS`: subtract this fixed round trip, probe nothing.
    Mean { ms: f64 },
}

impl Mode {
    /// The run info's `input_config.network_latency` block; `None` when off (the block is left out).
    pub fn config(self) -> Option<Config> {
        match self {
            Mode::Off => None,
            Mode::Probe { interval_s } => Some(Config {
                enabled: true,
                ping_interval: interval_s,
                mean_ms: None,
            }),
            Mode::Mean { ms } => Some(Config {
                enabled: true,
                ping_interval: DEFAULT_PING_INTERVAL,
                mean_ms: Some(ms),
            }),
        }
    }
}

/// AIPerf's `input_config.network_latency` (`NetworkLatencyConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Adjusted metrics were asked for (either flag).
    pub enabled: bool,
    /// Seconds between probes.
    pub ping_interval: f64,
    /// The fixed round trip to subtract, ms; absent when probing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<f64>,
}

/// One probe, as AIPerf's `NetworkLatencySample` (a JSONL line; absent fields are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Wall clock when the probe was issued, epoch ns.
    pub timestamp_ns: u64,
    /// The endpoint URL the target came from, without credentials.
    pub target_url: String,
    /// The host as the URL names it.
    pub target_host: String,
    pub target_port: u16,
    /// Always `tcp_connect`: a fresh, unpooled TCP handshake (no TLS, no HTTP).
    #[serde(default = "tcp_connect")]
    pub probe_type: String,
    /// The handshake's round trip, ns; absent when the probe failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ns: Option<u64>,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
}

fn tcp_connect() -> String {
    "tcp_connect".into()
}

/// Why a probe failed (AIPerf's `ErrorDetails`: the Python exception's type name and message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeError {
    /// `ConnectionRefusedError`, `TimeoutError` or `OSError`.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

/// Where the samples go beside a records file: AIPerf's prefix rule (`X.jsonl` →
/// `X_network_latency.jsonl`, so `profile_export.jsonl` → [`SAMPLES_FILE`]).
pub fn samples_path_beside(records: &Path) -> PathBuf {
    let name = records
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("profile_export.jsonl");
    let base = name.strip_suffix(".jsonl").unwrap_or(name);
    records.with_file_name(format!("{base}_network_latency.jsonl"))
}

/// A samples file, summarised as AIPerf's `NetworkLatencyAccumulator` does.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// Probes issued (success or failure).
    pub count: u64,
    pub successes: u64,
    /// numpy's mean of the successful round trips, ns; `None` without one.
    pub mean_ns: Option<f64>,
}

impl Samples {
    /// Summarises samples in file order (numpy's pairwise sum over that order).
    pub fn of(samples: &[Sample]) -> Samples {
        let rtts: Vec<f64> = samples
            .iter()
            .filter(|s| s.success)
            .filter_map(|s| s.rtt_ns.map(|r| r as f64))
            .collect();
        Samples {
            count: samples.len() as u64,
            successes: rtts.len() as u64,
            mean_ns: (!rtts.is_empty()).then(|| pairwise_sum(&rtts) / rtts.len() as f64),
        }
    }
}

/// Reads a samples file (loadgen's or AIPerf's); a malformed line is an error naming `file:line`.
pub fn read_samples(path: &Path) -> anyhow::Result<Samples> {
    let input = jsonl::Input::open(path)?;
    let (samples, _) = jsonl::read_all::<Sample>(vec![input])?;
    Ok(Samples::of(&samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_samples_file_follows_aiperfs_prefix_rule() {
        assert_eq!(
            samples_path_beside(Path::new("run/profile_export.jsonl")),
            Path::new("run").join(SAMPLES_FILE)
        );
        assert_eq!(
            samples_path_beside(Path::new("shard_2.jsonl")),
            Path::new("shard_2_network_latency.jsonl")
        );
    }

    #[test]
    fn lines_read_and_write_in_aiperfs_shape() {
        let ok = r#"{"timestamp_ns":1700000000000000000,"target_url":"http://127.0.0.1:8000","target_host":"127.0.0.1","target_port":8000,"probe_type":"tcp_connect","rtt_ns":81234,"success":true}"#;
        let failed = r#"{"timestamp_ns":1700000001000000000,"target_url":"http://127.0.0.1:8000","target_host":"127.0.0.1","target_port":8000,"probe_type":"tcp_connect","success":false,"error":{"type":"ConnectionRefusedError","message":"Connection refused (os error 111)"}}"#;
        for line in [ok, failed] {
            let s: Sample = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&s).unwrap(), line);
        }
    }

    #[test]
    fn the_mean_is_over_successful_probes_only() {
        let sample = |rtt: Option<u64>| Sample {
            timestamp_ns: 0,
            target_url: "http://h:1".into(),
            target_host: "h".into(),
            target_port: 1,
            probe_type: tcp_connect(),
            rtt_ns: rtt,
            success: rtt.is_some(),
            error: None,
        };
        let s = Samples::of(&[sample(Some(100)), sample(None), sample(Some(301))]);
        assert_eq!(
            s,
            Samples {
                count: 3,
                successes: 2,
                mean_ns: Some(200.5)
            }
        );
        assert_eq!(Samples::of(&[sample(None)]).mean_ns, None);
    }
}
