//! AIPerf 0.13's network-adjusted metrics (`metrics/network_adjusted_analyzer.py`): one run-level
//! mean round trip, subtracted from each request-start-anchored latency per record (clamped at 0)
//! to give `network_adjusted_*` beside the raw metrics, plus the `network_rtt` scalar. The
//! inter-token and inter-chunk latencies are left alone: the round trip cancels in them.
//!
//! Where the round trip comes from is AIPerf's `_deliver_network_rtt_to_accumulators`: a fixed
//! `--network-latency-mean` in the run info's `input_config.network_latency`, else the mean of
//! the probe's successful samples (`--network-latency FILE`); none, or 0, adds nothing.
//!
//! A sharded merge (several `--run-info`) is several AIPerf runs, each on its own host with its own
//! round trip: each shard's samples file ([`rtt_by_shard`]) gives that shard's mean, subtracted
//! from that shard's records only ([`super::per_shard_rtt::PerShard`]), as AIPerf on that host would have; `network_rtt`
//! is then the mean of the round trips applied over the successful records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::accumulate::Accumulator;
use super::merge::ShardsSummary;
use super::per_shard_rtt::{entry, scalar_dist, SOURCES};
use super::run_info::RunContext;
use super::Entry;
use crate::contract::network_latency::{self, Config};
use crate::stats::distribution as stats;

/// The run info's fixed round trip (`--network-latency-mean`), ms, when adjusted metrics are on.
fn fixed_mean_ms(info: &RunContext) -> Option<f64> {
    config(info).filter(|c| c.enabled).and_then(|c| c.mean_ms)
}

fn config(info: &RunContext) -> Option<Config> {
    info.input_config
        .as_ref()
        .and_then(|c| c.get("network_latency"))
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(Value::clone(v)).ok())
}

/// The run-level round trip to subtract, ns, from the run info's `input_config.network_latency`
/// and the `--network-latency` samples file; warnings say why there is none when one was asked for.
pub fn rtt_ns(
    info: &RunContext,
    samples: Option<&Path>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Option<f64>> {
    let enabled = config(info).is_some_and(|c| c.enabled);
    if let Some(ms) = fixed_mean_ms(info) {
        if samples.is_some() {
            warnings.push(format!("--network-latency: ignored, the run info sets a fixed round trip of {ms} ms (--network-latency-mean)"));
        }
        return Ok(Some(ms * 1e6).filter(|r| *r != 0.0));
    }
    let Some(path) = samples else {
        if enabled {
            warnings.push("the run probed the network round trip (input_config.network_latency) but no --network-latency FILE was given (loadgen wrote profile_export_network_latency.jsonl beside the records): no network_adjusted_* metrics".into());
        }
        return Ok(None);
    };
    let s = network_latency::read_samples(path).map_err(|e| anyhow::anyhow!("--network-latency: {e:#}"))?;
    if s.mean_ns.is_none() {
        warnings.push(format!(
            "--network-latency {}: none of its {} probes succeeded: no network_adjusted_* metrics",
            path.display(),
            s.count
        ));
    }
    Ok(s.mean_ns.filter(|r| *r != 0.0))
}

/// Sets the run's round trip from the run info and the `--network-latency` files: one file for one
/// run ([`rtt_ns`]); for a sharded merge without a fixed mean, one file per `--run-info`, in the
/// same order, each shard's own ([`rtt_by_shard`]).
pub fn resolve(
    info: &mut RunContext,
    shards: Option<&mut ShardsSummary>,
    (run_infos, samples): (&[PathBuf], &[PathBuf]),
    warnings: &mut Vec<String>,
) -> anyhow::Result<()> {
    match shards {
        Some(s) if !samples.is_empty() && fixed_mean_ms(info).is_none() => {
            info.network_rtt_by_shard = rtt_by_shard(s, run_infos, samples, warnings)?;
        }
        _ if samples.len() > 1 => anyhow::bail!(
            "--network-latency given {} times: one run takes one samples file (several are for a sharded merge: one per shard's --run-info, in the same order)",
            samples.len()
        ),
        _ => info.network_rtt_ns = rtt_ns(info, samples.first().map(PathBuf::as_path), warnings)?,
    }
    Ok(())
}

/// Each merged shard's round trip, ns, from its own samples file: the k-th `--network-latency`
/// belongs to the k-th `--run-info`. A shard without a successful probe leaves the whole merge
/// unadjusted (a warning names it): its records have no round trip of their own to subtract.
fn rtt_by_shard(
    shards: &mut ShardsSummary,
    run_infos: &[PathBuf],
    samples: &[PathBuf],
    warnings: &mut Vec<String>,
) -> anyhow::Result<Option<BTreeMap<u32, f64>>> {
    if samples.len() != run_infos.len() {
        anyhow::bail!(
            "--network-latency given {} times for {} --run-info files: a sharded merge takes each shard's own samples file, one per --run-info in the same order (run-shards leaves them in shards/shard_I/profile_export_network_latency.jsonl)",
            samples.len(),
            run_infos.len()
        );
    }
    let mut by_shard = BTreeMap::new();
    for (info_path, path) in run_infos.iter().zip(samples) {
        let Some(pos) = shards.run_infos.iter().position(|p| p == info_path) else {
            continue;
        };
        let index = shards.merged[pos];
        let s =
            network_latency::read_samples(path).map_err(|e| anyhow::anyhow!("--network-latency: {e:#}"))?;
        match s.mean_ns.filter(|r| *r != 0.0) {
            Some(rtt) => {
                by_shard.insert(index, rtt);
            }
            None => {
                warnings.push(format!(
                    "--network-latency {} (shard {index}/{}): none of its {} probes measured a round trip: no network_adjusted_* metrics (each shard's records need their own)",
                    path.display(),
                    shards.count,
                    s.count
                ));
                return Ok(None);
            }
        }
    }
    shards.network_rtt_ms = Some(shards.merged.iter().map(|i| by_shard[i] / 1e6).collect());
    Ok(Some(by_shard))
}

/// The adjusted distributions of the columns present (display ms, numpy's statistics over
/// `max(ns − rtt, 0) / 1e6` in record order) and `network_rtt`. Reads the columns before the
/// summary consumes them.
pub fn entries(acc: &Accumulator, rtt_ns: f64) -> Vec<Entry> {
    let mut out = vec![entry("network_rtt", scalar_dist(rtt_ns / 1e6))];
    for (tag, source) in SOURCES {
        let Some(col) = acc.columns.get(source).filter(|c| c.unit == "ms") else {
            continue;
        };
        let mut ms: Vec<f64> = col
            .values
            .iter()
            .map(|&ns| (ns - rtt_ns).max(0.0) / 1e6)
            .collect();
        if let Some(d) = stats::numpy_dist(&mut ms) {
            out.push(entry(tag, d));
        }
    }
    out
}
