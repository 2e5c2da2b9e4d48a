//! One benchmark run by several loadgen processes (`--shard I/N`), on one host or many, and the
//! shared start instant (`--start-at`) that makes their profiling windows coincide.
//!
//! Shards are numbered 1..=N (so `--shard 0/4` is refused; Kubernetes' 0-based
//! `JOB_COMPLETION_INDEX` is turned into `I = index + 1` by `deploy/kubernetes/job.yaml`). Shard
//! I takes the I-th share of every total — `--concurrency`, `--request-rate`, `--request-count`,
//! `--warmup-request-count`, `--conversation-num`, `--num-users`, `--user-centric-rate` — with
//! the integer remainder going to the lowest indices, so the shares sum exactly to the total (a
//! rate is divided evenly). The dataset is built whole from the base seed and dealt: entry k
//! belongs to shard `k mod N + 1`, so shards send disjoint prompts (conversations, trace rows)
//! whose union is the single-process dataset. The arrival schedule is seeded from the base seed
//! and I, so N Poisson streams are independent rather than N copies of one.
//! Records carry `metadata.shard` and an interleaved `session_num` (`local * N + I - 1`); request
//! ids come from one nonce shared by every shard, offset per shard, so they are distinct by
//! construction (see [`Placement::nonce`]).

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Map, Value};

use super::splitmix::{mix, STEP};
use crate::contract::records::ShardTag;
use crate::contract::run_info::ShardBlock;
use crate::contract::seconds::MAX_SECONDS;
use crate::contract::settings::Settings;
use crate::io::clock::Clock;
use crate::io::clock_sync::ClockSync;

/// `--shard I/N`: shard I (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

impl ShardSpec {
    /// Parses `I/N`; the message says what is wrong and how shards are numbered.
    pub fn parse(s: &str) -> Result<ShardSpec, String> {
        let (i, n) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not I/N (e.g. 2/4: the second of four shards)"))?;
        let (Ok(index), Ok(count)) = (i.trim().parse::<u32>(), n.trim().parse::<u32>()) else {
            return Err(format!("'{s}' is not I/N with whole numbers (e.g. 2/4)"));
        };
        if count == 0 {
            return Err(format!("'{s}': the shard count must be at least 1"));
        }
        if index == 0 {
            return Err(format!(
                "'{s}': shards are numbered from 1 (1/{count} .. {count}/{count}); from a 0-based index such as Kubernetes' JOB_COMPLETION_INDEX pass $((JOB_COMPLETION_INDEX + 1))/{count}"
            ));
        }
        if index > count {
            return Err(format!(
                "'{s}': shard {index} of {count} does not exist (1..{count})"
            ));
        }
        Ok(ShardSpec { index, count })
    }

    /// This shard's part of `total`: ⌊total/N⌋, plus one for the first `total mod N` shards.
    pub fn share(self, total: u64) -> u64 {
        let n = self.count as u64;
        total / n + u64::from(((self.index - 1) as u64) < total % n)
    }

    /// Whether dataset entry `k` (0-based) is this shard's.
    pub fn takes(self, k: usize) -> bool {
        k % self.count as usize == (self.index - 1) as usize
    }
}

/// `--start-at`: RFC 3339 with a zone (`2026-11-28T23:40:00Z`) or epoch seconds (`1795909200.5`).
pub fn parse_start_at(s: &str) -> Result<u64, String> {
    let t = s.trim();
    // Epoch seconds, read exactly (an f64 would round away nanoseconds).
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 9
        && frac.bytes().all(|b| b.is_ascii_digit())
    {
        let too_far = || {
            format!("'{s}' is more than 7 days from now: --start-at waits at most {MAX_SECONDS} s; give a nearer time")
        };
        let secs: u64 = whole.parse().map_err(|_| too_far())?;
        let ns: u64 = format!("{frac:0<9}").parse().unwrap_or(0);
        let at = secs
            .checked_mul(1_000_000_000)
            .and_then(|x| x.checked_add(ns))
            .ok_or_else(too_far)?;
        if at as f64 / 1e9 - crate::io::clock::Clock::new().now_ns() as f64 / 1e9 > MAX_SECONDS {
            return Err(too_far());
        }
        return Ok(at);
    }
    let Some((secs, frac_ns)) = crate::io::clock::rfc3339_seconds(t) else {
        return Err(format!("'{s}' is neither RFC 3339 with a zone (2026-11-28T23:40:00Z, or +01:00) nor epoch seconds (e.g. $(date -d '+30 sec' +%s))"));
    };
    let ahead = secs as f64 - crate::io::clock::Clock::new().now_ns() as f64 / 1e9;
    if ahead > MAX_SECONDS {
        return Err(format!(
            "'{s}' is {:.1} days from now: --start-at waits at most {MAX_SECONDS} s (7 days); give a nearer time",
            ahead / 86_400.0
        ));
    }
    Ok(secs.max(0) as u64 * 1_000_000_000 + frac_ns)
}

/// What a run carries when it is one of several processes of a benchmark, or waits for a start time.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// 1/1 for a run that only waits for `--start-at`.
    pub shard: ShardSpec,
    pub host: String,
    /// The benchmark's settings before the split (plus `start_at_ns`), as every shard must give them.
    pub settings: Map<String, Value>,
    pub start_at_ns: Option<u64>,
    /// The base seed (the dataset's); the arrival schedule's is derived from it and the index.
    pub base_seed: u64,
}

impl Placement {
    /// Splits the benchmark's `total` settings into this shard's, refusing a split that would
    /// leave a shard without load. `spec` None with a start time: one process waiting for it.
    pub fn split(
        total: Settings,
        spec: Option<ShardSpec>,
        start_at_ns: Option<u64>,
    ) -> anyhow::Result<(Settings, Option<Placement>)> {
        if spec.is_none() && start_at_ns.is_none() {
            return Ok((total, None));
        }
        let shard = spec.unwrap_or(ShardSpec { index: 1, count: 1 });
        let mut settings = match serde_json::to_value(&total)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        settings.remove("ui");
        if let Some(at) = start_at_ns {
            settings.insert("start_at_ns".into(), at.into());
        }
        let placement = Placement {
            shard,
            host: host_name(),
            settings,
            start_at_ns,
            base_seed: total.random_seed.unwrap_or(0),
        };
        if shard.count == 1 {
            return Ok((total, Some(placement)));
        }
        let mut mine = total.clone();
        let n = shard.count;
        // A rate or a trace sets the send times; otherwise workers send back to back.
        let open = total.request_rate.is_some()
            || total.user_centric_rate.is_some()
            || total.custom_dataset_type == Some(crate::contract::settings::DatasetType::MooncakeTrace);
        // Closed loop without --concurrency is one worker: one worker cannot be split.
        let concurrency = total.concurrency.or((!open).then_some(1));
        for (flag, value, slot) in [
            ("--concurrency", concurrency, &mut mine.concurrency),
            ("--request-count", total.request_count, &mut mine.request_count),
            (
                "--conversation-num",
                total.conversation_num,
                &mut mine.conversation_num,
            ),
            ("--num-users", total.num_users, &mut mine.num_users),
        ] {
            if let Some(v) = value {
                let part = shard.share(v);
                if v < n as u64 {
                    bail!(
                        "--shard {}/{n}: {flag} {v} cannot be split over {n} shards (shard {n} would get none): give at least {n}, or fewer shards",
                        shard.index
                    );
                }
                *slot = Some(part);
            }
        }
        if total.concurrency.is_none() && open {
            mine.concurrency = None;
        }
        mine.request_rate = total.request_rate.map(|r| r / n as f64);
        mine.user_centric_rate = total.user_centric_rate.map(|r| r / n as f64);
        mine.warmup_request_count = total.warmup_request_count.map(|w| shard.share(w));
        Ok((mine, Some(placement)))
    }

    /// This shard's entries of the whole dataset (every N-th, from entry I-1).
    pub fn deal<T>(&self, prompts: Vec<T>) -> anyhow::Result<Vec<T>> {
        let total = prompts.len();
        let mine: Vec<T> = prompts
            .into_iter()
            .enumerate()
            .filter(|(k, _)| self.shard.takes(*k))
            .map(|(_, p)| p)
            .collect();
        if mine.is_empty() {
            bail!(
                "--shard {}/{}: the dataset has {total} entries, too few for {} shards (each needs one): give --num-prompts {} or more, or fewer shards",
                self.shard.index,
                self.shard.count,
                self.shard.count,
                self.shard.count
            );
        }
        Ok(mine)
    }

    /// The arrival schedule's seed: the base seed alone for one shard, else mixed with the index.
    pub fn arrival_seed(&self) -> u64 {
        if self.shard.count == 1 {
            self.base_seed
        } else {
            mix(self.base_seed, self.shard.index as u64)
        }
    }

    /// The nonce shared by every shard of the benchmark (base seed, start time, shard count): its
    /// hex is the benchmark id they all report.
    pub fn shared_nonce(&self) -> u64 {
        mix(
            mix(self.base_seed, self.start_at_ns.unwrap_or(0)),
            self.shard.count as u64,
        )
    }

    /// This shard's request-id nonce: the shared one plus `(I-1)·2⁴⁰` steps, so request k of shard
    /// I hashes `shared + ((I-1)·2⁴⁰ + k + 1)·C` — distinct for every (I, k) below 2⁴⁰ requests
    /// per shard, because C is odd and the hash a bijection.
    pub fn nonce(&self) -> u64 {
        let offset = ((self.shard.index - 1) as u64) << 40;
        self.shared_nonce().wrapping_add(offset.wrapping_mul(STEP))
    }

    /// The benchmark-wide `session_num` of this shard's `local` one.
    pub fn session_num(&self, local: u64) -> u64 {
        local * self.shard.count as u64 + (self.shard.index - 1) as u64
    }

    pub fn tag(&self) -> ShardTag {
        ShardTag {
            index: self.shard.index,
            count: self.shard.count,
            host: self.host.clone(),
        }
    }

    /// The run info's `shard` block; the profiling phase started at `profiling_start_ns`.
    pub fn block(&self, profiling_start_ns: u64, clock: ClockSync) -> ShardBlock {
        ShardBlock {
            index: self.shard.index,
            count: self.shard.count,
            host: self.host.clone(),
            settings: self.settings.clone(),
            start_at_ns: self.start_at_ns,
            start_late_ms: self
                .start_at_ns
                .map(|at| profiling_start_ns.saturating_sub(at) as f64 / 1e6),
            clock,
        }
    }

    /// Seconds by which the start time is already past (None when it is ahead, or not given).
    pub fn start_in_past(&self, clock: &Clock) -> Option<f64> {
        let at = self.start_at_ns?;
        let now = clock.now_ns();
        (now > at).then(|| (now - at) as f64 / 1e9)
    }

    /// Waits until `--start-at` on the sub-millisecond timer (at once when it is past); a
    /// Ctrl-C ends the wait.
    pub async fn wait_for_start(&self) {
        let Some(at) = self.start_at_ns else { return };
        let now_ns = Clock::new().now_ns();
        if at <= now_ns {
            return;
        }
        let deadline = Instant::now() + Duration::from_nanos(at - now_ns);
        tokio::select! {
            _ = crate::io::timer::sleep_until(deadline) => {}
            _ = crate::io::interrupt::wait() => {}
        }
    }
}

/// This machine's host name (`gethostname`), or `unknown`.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(i: u32, n: u32) -> ShardSpec {
        ShardSpec { index: i, count: n }
    }

    #[test]
    fn shards_are_one_based_and_bad_ones_say_why() {
        assert_eq!(ShardSpec::parse("2/4"), Ok(spec(2, 4)));
        assert_eq!(ShardSpec::parse(" 1/1 "), Ok(spec(1, 1)));
        let zero = ShardSpec::parse("0/4").unwrap_err();
        assert!(
            zero.contains("numbered from 1") && zero.contains("JOB_COMPLETION_INDEX + 1"),
            "{zero}"
        );
        assert!(ShardSpec::parse("3/2")
            .unwrap_err()
            .contains("shard 3 of 2 does not exist"));
        assert!(ShardSpec::parse("1/0").unwrap_err().contains("at least 1"));
        assert!(ShardSpec::parse("2").unwrap_err().contains("not I/N"));
        assert!(ShardSpec::parse("a/b").unwrap_err().contains("whole numbers"));
    }

    #[test]
    fn shares_sum_exactly_to_the_total() {
        for total in [1u64, 7, 10, 64, 1001] {
            for n in 1..=7u32 {
                let parts: Vec<u64> = (1..=n).map(|i| spec(i, n).share(total)).collect();
                assert_eq!(parts.iter().sum::<u64>(), total, "{total} over {n}");
                assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
            }
        }
        let dealt: Vec<usize> = (0..10).filter(|k| spec(2, 3).takes(*k)).collect();
        assert_eq!(dealt, [1, 4, 7]);
    }

    #[test]
    fn the_split_takes_a_share_of_every_total() {
        let total = Settings {
            model: Some("m".into()),
            concurrency: Some(10),
            request_rate: Some(30.0),
            request_count: Some(101),
            warmup_request_count: Some(2),
            random_seed: Some(7),
            ..Default::default()
        };
        let mut sum = (0, 0.0, 0, 0);
        let mut seeds = std::collections::HashSet::new();
        for i in 1..=3 {
            let (s, p) = Placement::split(total.clone(), Some(spec(i, 3)), Some(5)).unwrap();
            let p = p.unwrap();
            sum.0 += s.concurrency.unwrap();
            sum.1 += s.request_rate.unwrap();
            sum.2 += s.request_count.unwrap();
            sum.3 += s.warmup_request_count.unwrap();
            assert_eq!(s.random_seed, Some(7), "the dataset keeps the base seed");
            assert_eq!(p.settings["concurrency"], 10);
            assert_eq!(p.settings["start_at_ns"], 5);
            seeds.insert(p.arrival_seed());
        }
        assert_eq!(sum.0, 10);
        assert!((sum.1 - 30.0).abs() < 1e-9);
        assert_eq!((sum.2, sum.3), (101, 2));
        assert_eq!(seeds.len(), 3, "every shard has its own arrival seed");
        let err = Placement::split(
            Settings {
                concurrency: Some(2),
                ..total.clone()
            },
            Some(spec(1, 4)),
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("--concurrency 2 cannot be split over 4 shards"),
            "{err}"
        );
        let closed = Settings {
            model: Some("m".into()),
            ..Default::default()
        };
        let err = Placement::split(closed.clone(), Some(spec(1, 2)), None).unwrap_err();
        assert!(err.to_string().contains("--concurrency 1"), "{err}");
        let (s, p) = Placement::split(closed.clone(), None, None).unwrap();
        assert_eq!((s, p), (closed, None));
    }

    #[test]
    fn request_ids_of_different_shards_never_meet() {
        let total = Settings {
            concurrency: Some(8),
            ..Default::default()
        };
        let mut ids = std::collections::HashSet::new();
        let mut benchmark = std::collections::HashSet::new();
        for i in 1..=4 {
            let (_, p) = Placement::split(total.clone(), Some(spec(i, 4)), Some(1)).unwrap();
            let p = p.unwrap();
            benchmark.insert(p.shared_nonce());
            for k in 0..2000 {
                assert!(ids.insert(crate::loadgen::http::client::request_id(p.nonce(), k)));
                assert_eq!(p.session_num(k) % 4, (i - 1) as u64);
            }
        }
        assert_eq!(benchmark.len(), 1, "one benchmark id for all shards");
    }

    #[test]
    fn start_times_in_both_forms() {
        assert_eq!(parse_start_at("1700000000.25"), Ok(1_700_000_000_250_000_000));
        assert_eq!(
            parse_start_at("2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000_000_000)
        );
        assert!(parse_start_at("2023-11-14T22:13:20")
            .unwrap_err()
            .contains("RFC 3339"));
        assert!(parse_start_at("-3").is_err());
    }
}
