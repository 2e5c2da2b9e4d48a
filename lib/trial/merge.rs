//! Several `--run-info` files: the shards of one benchmark (`loadgen --shard I/N`), merged into one
//! trial. The shards must be of one benchmark — same shard count, every benchmark setting equal
//! (the first difference is named) — and all present unless `--allow-missing-shards`. The merged
//! profiling window is the union of the shards' windows (earliest start → latest end), so
//! throughputs divide the whole benchmark's requests by the time the shards were running
//! together; the `input_config` shows the totals (the shards' concurrency, rate, request and
//! dataset counts summed). Cross-host timestamps are only as good as the hosts' clocks: the bound
//! is the sum of the two largest maximum errors of shards on different hosts (shards on one host
//! share one clock), and [`clock_warning`] compares it with TTFT p50.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use serde::Serialize;
use serde_json::Value;

use super::run_info::{self, RunContext};
use crate::contract::run_info::{AnyRunInfo, ShardBlock};
use crate::io::clock;

/// What the merged summary says about its shards (`sweepkit.shards`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardsSummary {
    /// The benchmark's shard count.
    pub count: u32,
    /// The indices merged (1-based).
    pub merged: Vec<u32>,
    /// The indices missing (merged anyway with `--allow-missing-shards`).
    pub missing: Vec<u32>,
    /// Host of each merged shard, in index order.
    pub hosts: Vec<String>,
    /// Latest minus earliest profiling start among the shards, ms.
    pub start_skew_ms: f64,
    /// The latest shard's lateness after `--start-at`, ms (absent without it).
    pub max_start_late_ms: Option<f64>,
    /// Bound on the clock offset between shards, ms: 0 on one host; null when a clock on another
    /// host is unsynchronised (unknown).
    pub clock_error_bound_ms: Option<f64>,
    /// Each merged shard's network round trip, ms, in index order, when each shard's own samples
    /// file was given (`--network-latency`, one per `--run-info`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_rtt_ms: Option<Vec<f64>>,
    /// The `--run-info` file of each merged shard, in index order (pairs each with its samples).
    #[serde(skip)]
    pub run_infos: Vec<PathBuf>,
}

/// One shard's run info as read.
struct Part {
    path: PathBuf,
    ctx: RunContext,
    block: ShardBlock,
}

/// Reads the `--run-info` files: one plain run info as before; several (or one shard's of
/// several) merged into one context.
pub fn read(paths: &[PathBuf], allow_missing: bool) -> anyhow::Result<(RunContext, Option<ShardsSummary>)> {
    let mut parts = Vec::new();
    for path in paths {
        let doc = read_json(path)?;
        let block = AnyRunInfo::from_json(doc.clone())
            .ok()
            .and_then(|d| d.shard)
            .filter(|b| b.count > 1 || paths.len() > 1);
        let ctx = run_info::from_json(doc).map_err(|e| anyhow!("--run-info {}: {e}", path.display()))?;
        match block {
            Some(block) => parts.push(Part {
                path: path.clone(),
                ctx,
                block,
            }),
            None if paths.len() == 1 => return Ok((ctx, None)),
            None => bail!(
                "--run-info {}: not a shard's run info (no shard block): several --run-info files merge the shards of one benchmark, as loadgen --shard I/N writes them",
                path.display()
            ),
        }
    }
    let (parts, missing) = check(parts, allow_missing)?;
    Ok(merge(&parts, missing))
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = crate::io::capped::read_to_string(path)
        .map_err(|e| anyhow!("--run-info {}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("--run-info {}: not valid JSON: {e}", path.display()))
}

fn name(p: &Part) -> String {
    format!("shard {}/{} ({})", p.block.index, p.block.count, p.path.display())
}

/// Refuses shards that are not of one benchmark; returns them in index order and the missing indices.
fn check(mut parts: Vec<Part>, allow_missing: bool) -> anyhow::Result<(Vec<Part>, Vec<u32>)> {
    parts.sort_by_key(|p| p.block.index);
    let first = &parts[0];
    for p in &parts[1..] {
        if p.block.count != first.block.count {
            bail!(
                "{} and {} are not shards of one benchmark: their shard counts differ",
                name(first),
                name(p)
            );
        }
    }
    for w in parts.windows(2) {
        if w[0].block.index == w[1].block.index {
            bail!(
                "--run-info {} and {} are both shard {}/{}: give each shard's run info once",
                w[0].path.display(),
                w[1].path.display(),
                w[0].block.index,
                w[0].block.count
            );
        }
    }
    for p in &parts[1..] {
        if let Some((key, a, b)) = first_difference(&first.block.settings, &p.block.settings) {
            bail!(
                "shards of one trial must share every benchmark setting, but {key} is {a} in {} and {b} in {}: rerun them with the same flags",
                name(first),
                name(p)
            );
        }
    }
    let count = first.block.count;
    let present: Vec<u32> = parts.iter().map(|p| p.block.index).collect();
    let missing: Vec<u32> = (1..=count).filter(|i| !present.contains(i)).collect();
    if !missing.is_empty() && !allow_missing {
        let list: Vec<String> = missing.iter().map(|i| format!("{i}/{count}")).collect();
        bail!(
            "shard {} missing (run infos given for {} of {count}): give every shard's run info and records, or --allow-missing-shards to merge the shards present (their throughput is then only their share)",
            if missing.len() == 1 {
                format!("{} is", list[0])
            } else {
                format!("{} are", list.join(", "))
            },
            present.len()
        );
    }
    Ok((parts, missing))
}

/// The first setting (in key order) two shards give differently: `(key, value in a, value in b)`.
fn first_difference(
    a: &serde_json::Map<String, Value>,
    b: &serde_json::Map<String, Value>,
) -> Option<(String, String, String)> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let show = |v: Option<&Value>| v.map_or("not set".to_string(), |v| v.to_string());
    keys.into_iter().find(|k| a.get(*k) != b.get(*k)).map(|k| {
        let flag = match k.as_str() {
            "start_at_ns" => "--start-at".to_string(),
            k => format!("--{}", k.replace('_', "-")),
        };
        (flag, show(a.get(k)), show(b.get(k)))
    })
}

fn merge(parts: &[Part], missing: Vec<u32>) -> (RunContext, Option<ShardsSummary>) {
    let windows: Vec<(u64, u64)> = parts.iter().filter_map(|p| p.ctx.window).collect();
    let window = (!windows.is_empty()).then(|| {
        (
            windows.iter().map(|w| w.0).min().unwrap(),
            windows.iter().map(|w| w.1).max().unwrap(),
        )
    });
    let warm: Vec<(u64, u64)> = parts.iter().filter_map(|p| p.ctx.warmup_window).collect();
    let first = &parts[0].ctx;
    let ctx = RunContext {
        window,
        warmup_window: (!warm.is_empty()).then(|| {
            (
                warm.iter().map(|w| w.0).min().unwrap(),
                warm.iter().map(|w| w.1).max().unwrap(),
            )
        }),
        source: first.source,
        start_time: window.map(|w| clock::iso_utc(w.0)),
        end_time: window.map(|w| clock::iso_utc(w.1)),
        benchmark_id: first.benchmark_id.clone(),
        was_cancelled: Some(parts.iter().any(|p| p.ctx.was_cancelled == Some(true))),
        run_info: first.run_info.clone(),
        input_config: first.input_config.clone().map(|c| totals(c, parts)),
        network_rtt_ns: None,
        network_rtt_by_shard: None,
    };
    let starts: Vec<u64> = windows.iter().map(|w| w.0).collect();
    let late: Vec<f64> = parts.iter().filter_map(|p| p.block.start_late_ms).collect();
    let summary = ShardsSummary {
        count: parts[0].block.count,
        merged: parts.iter().map(|p| p.block.index).collect(),
        missing,
        hosts: parts.iter().map(|p| p.block.host.clone()).collect(),
        start_skew_ms: match (starts.iter().min(), starts.iter().max()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e6,
            _ => 0.0,
        },
        max_start_late_ms: late.iter().copied().reduce(f64::max),
        clock_error_bound_ms: clock_bound_ms(parts.iter().map(|p| &p.block)),
        network_rtt_ms: None,
        run_infos: parts.iter().map(|p| p.path.clone()).collect(),
    };
    (ctx, Some(summary))
}

/// The input config with the shards' load summed (each shard's shows only its share).
fn totals(mut config: Value, parts: &[Part]) -> Value {
    let configs: Vec<&Value> = parts.iter().filter_map(|p| p.ctx.input_config.as_ref()).collect();
    let sum = |path: &[&str], i: usize, key: &str| -> Option<Value> {
        let mut total = 0.0;
        let mut all_int = true;
        for c in &configs {
            let v = path.iter().try_fold(*c, |v, k| v.get(*k))?.get(i)?.get(key)?;
            all_int &= v.is_u64();
            total += v.as_f64()?;
        }
        Some(if all_int {
            Value::from(total as u64)
        } else {
            Value::from(total)
        })
    };
    for (list, keys) in [
        ("phases", &["requests", "concurrency", "request_rate"][..]),
        ("datasets", &["entries"][..]),
    ] {
        let n = config.get(list).and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..n {
            for key in keys {
                if let Some(v) = sum(&[list], i, key) {
                    config[list][i][*key] = v;
                }
            }
        }
    }
    config
}

/// The largest possible offset between two shards' clocks, ms: for shards on different hosts the
/// sum of their maximum errors (one host has one clock); None when such a clock is unsynchronised.
pub fn clock_bound_ms<'a>(blocks: impl Iterator<Item = &'a ShardBlock>) -> Option<f64> {
    let mut by_host: BTreeMap<&str, Option<u64>> = BTreeMap::new();
    for b in blocks {
        let e = b.clock.bound_us();
        by_host
            .entry(b.host.as_str())
            .and_modify(|x| *x = x.zip(e).map(|(a, b)| a.max(b)))
            .or_insert(e);
    }
    if by_host.len() < 2 {
        return Some(0.0);
    }
    let mut errors = by_host.into_values().collect::<Option<Vec<u64>>>()?;
    errors.sort_unstable_by(|a, b| b.cmp(a));
    Some((errors[0] + errors[1]) as f64 / 1e3)
}

/// A warning when cross-host clock error could matter against the latencies measured: the bound
/// is unknown, or more than `fraction` of `ttft_p50_ms` (TTFT p50, or request latency p50 when not
/// streaming).
pub fn clock_warning(s: &ShardsSummary, ttft_p50_ms: Option<f64>, fraction: f64) -> Option<String> {
    let hosts = s.hosts.iter().collect::<std::collections::BTreeSet<_>>().len();
    match (s.clock_error_bound_ms, ttft_p50_ms) {
        (None, _) => Some(format!(
            "the shards ran on {hosts} hosts and at least one clock is not synchronised (adjtimex): their wall-clock stamps may be off by any amount; synchronise the hosts (chrony or NTP) before comparing windows"
        )),
        (Some(bound), Some(p50)) if bound > fraction * p50 => Some(format!(
            "the clock error bound across the shards' hosts ({bound:.3} ms) is more than {fraction} of TTFT p50 ({p50:.3} ms): the merged window and the over-time metrics may be off by that much"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::clock_sync::ClockSync;

    fn block(index: u32, host: &str, err_us: Option<u64>) -> ShardBlock {
        ShardBlock {
            index,
            count: 2,
            host: host.into(),
            settings: serde_json::from_str(r#"{"concurrency":8,"model":"m"}"#).unwrap(),
            start_at_ns: Some(1_000),
            start_late_ms: Some(index as f64),
            clock: ClockSync {
                source: "adjtimex".into(),
                synchronized: err_us.is_some(),
                estimated_error_us: err_us,
                maximum_error_us: Some(err_us.unwrap_or(16_000_000)),
            },
        }
    }

    #[test]
    fn one_host_has_one_clock_and_hosts_add_their_errors() {
        let one = [block(1, "a", None), block(2, "a", None)];
        assert_eq!(clock_bound_ms(one.iter()), Some(0.0));
        let two = [block(1, "a", Some(500)), block(2, "b", Some(1500))];
        assert_eq!(clock_bound_ms(two.iter()), Some(2.0));
        let unsynced = [block(1, "a", Some(500)), block(2, "b", None)];
        assert_eq!(clock_bound_ms(unsynced.iter()), None);
    }

    #[test]
    fn the_warning_weighs_the_bound_against_ttft() {
        let mut s = ShardsSummary {
            count: 2,
            merged: vec![1, 2],
            missing: vec![],
            hosts: vec!["a".into(), "b".into()],
            start_skew_ms: 0.1,
            max_start_late_ms: Some(0.2),
            clock_error_bound_ms: Some(2.0),
            network_rtt_ms: None,
            run_infos: Vec::new(),
        };
        assert_eq!(clock_warning(&s, Some(100.0), 0.05), None);
        let w = clock_warning(&s, Some(10.0), 0.05).unwrap();
        assert!(
            w.contains("2.000 ms") && w.contains("0.05 of TTFT p50 (10.000 ms)"),
            "{w}"
        );
        s.clock_error_bound_ms = None;
        assert!(clock_warning(&s, Some(100.0), 0.05)
            .unwrap()
            .contains("not synchronised"));
    }

    #[test]
    fn the_first_differing_setting_is_named_as_a_flag() {
        let a = serde_json::from_str(r#"{"concurrency":8,"model":"m","osl":4}"#).unwrap();
        let b = serde_json::from_str(r#"{"concurrency":16,"model":"m"}"#).unwrap();
        assert_eq!(
            first_difference(&a, &b),
            Some(("--concurrency".into(), "8".into(), "16".into()))
        );
        let c = serde_json::from_str(r#"{"concurrency":8,"model":"m"}"#).unwrap();
        assert_eq!(
            first_difference(&a, &c),
            Some(("--osl".into(), "4".into(), "not set".into()))
        );
        assert_eq!(first_difference(&a, &a), None);
    }
}
