//! `trial-agg --by url`: the trial's summary broken down per server replica.
//!
//! A loadgen run given several `--url` values tags each record with the replica that served it
//! (`metadata.url`). Every record still goes into the trial's summary; it also goes into its
//! replica's own accumulator, and each replica is summarised with the same arithmetic and the
//! same profiling window, so its throughputs are its share of the trial's (they add up) and its
//! latencies show what that replica did. Records without a `url` (a single-URL run, AIPerf's
//! files) fall in one group named [`NO_URL`].

use serde::Deserialize;

use super::accumulate::Accumulator;
use super::goodput::Slo;
use super::run_info::RunContext;
use super::{summarize, Summary};

/// The group of records that carry no `metadata.url`.
pub const NO_URL: &str = "(no url)";

/// One accumulator per replica, in the order replicas first appear.
pub struct ByUrl {
    groups: Vec<(String, Accumulator)>,
    slos: Vec<Slo>,
    sweep_limit: Option<u64>,
    /// A sharded merge's round trips by shard (each replica's records adjusted by their own shard's).
    pub rtt_by_shard: Option<std::collections::BTreeMap<u32, f64>>,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    metadata: ProbeMeta,
}

#[derive(Deserialize, Default)]
struct ProbeMeta {
    #[serde(default)]
    url: Option<String>,
}

impl ByUrl {
    pub fn new(slos: &[Slo], sweep_limit: Option<u64>) -> ByUrl {
        ByUrl {
            groups: Vec::new(),
            slos: slos.to_vec(),
            sweep_limit,
            rtt_by_shard: None,
        }
    }

    /// Adds one record line to its replica's group (the caller has already added it to the trial,
    /// which reports malformed lines).
    pub fn add_line(&mut self, line: &str) -> Result<(), String> {
        let url = serde_json::from_str::<Probe>(line)
            .map_err(|e| e.to_string())?
            .metadata
            .url
            .unwrap_or_else(|| NO_URL.to_string());
        let i = match self.groups.iter().position(|(u, _)| *u == url) {
            Some(i) => i,
            None => {
                let mut acc = Accumulator::new(&self.slos);
                acc.sweep_limit = self.sweep_limit;
                if let Some(rtt) = &self.rtt_by_shard {
                    acc.adjust_per_shard(rtt.clone());
                }
                self.groups.push((url, acc));
                self.groups.len() - 1
            }
        };
        self.groups[i].1.add_line(line)
    }

    /// Each replica's summary, in first-seen order; a replica that saw only warmup records is
    /// left out.
    pub fn summaries(self, info: &RunContext) -> anyhow::Result<Vec<(String, Summary)>> {
        let mut out = Vec::new();
        for (url, mut acc) in self.groups {
            if acc.successes + acc.errors == 0 {
                continue;
            }
            let s = summarize(&mut acc, info, &self.slos, true, Vec::new(), self.sweep_limit)
                .map_err(|e| anyhow::anyhow!("--by url: {url}: {e}"))?;
            out.push((url, s));
        }
        Ok(out)
    }
}
