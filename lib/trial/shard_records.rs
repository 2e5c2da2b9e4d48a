//! The records of a sharded merge checked against its run infos: the window and totals come from
//! the run infos, so a record of a shard whose run info was not given (or of another benchmark's
//! shard count, or untagged) would be counted outside the window it is divided by, and a request
//! id seen twice means a record file was given twice (a shard's own file plus the run folder's
//! union). Either is refused, naming the record's file:line. Only sharded merges are checked: an
//! unsharded run's records, and AIPerf's, carry no shard tag.

use std::collections::HashMap;

use super::merge::ShardsSummary;
use crate::contract::records::ShardTag;
use crate::io::jsonl::Location;

/// Checks each record of a sharded merge as it is read.
#[derive(Debug, Default)]
pub struct ShardRecords {
    count: u32,
    merged: Vec<u32>,
    /// Request id → where it was first seen (source index into `sources`, line).
    seen: HashMap<String, (usize, u64)>,
    sources: Vec<String>,
}

impl ShardRecords {
    /// A checker for the shards the run infos merged.
    pub fn new(shards: &ShardsSummary) -> Self {
        ShardRecords {
            count: shards.count,
            merged: shards.merged.clone(),
            ..Default::default()
        }
    }

    /// Checks one record's shard tag and request id (as the accumulator read them:
    /// [`Accumulator::shard_ids`](super::accumulate::Accumulator::shard_ids)); the error (without
    /// the location, which the reader prefixes) says what is wrong and how to fix it.
    pub fn check(
        &mut self,
        loc: &Location,
        (shard, id): (Option<&ShardTag>, Option<&str>),
    ) -> Result<(), String> {
        let n = self.count;
        match shard {
            None => {
                return Err(format!(
                    "a record without a shard tag (metadata.shard), but the --run-info files are the shards of a {n}-shard benchmark: give the shards' own records (loadgen --shard I/{n} writes the tag), or the run info of the run these records come from"
                ))
            }
            Some(t) if t.count != n => {
                return Err(format!(
                    "a record of shard {}/{}, but the --run-info files are the shards of a {n}-shard benchmark: these records are another benchmark's; give the records of the run infos' shards",
                    t.index, t.count
                ))
            }
            Some(t) if !self.merged.contains(&t.index) => {
                return Err(format!(
                    "a record of shard {i}/{n} ({host}), whose run info was not given: add --run-info for shard {i}/{n} (its loadgen --run-info-out file){also}",
                    i = t.index,
                    host = t.host,
                    also = if t.index >= 1 && t.index <= n {
                        ", or leave its records out (--allow-missing-shards merges only the shards whose run infos are given)"
                    } else {
                        ""
                    }
                ))
            }
            Some(_) => {}
        }
        if let Some(id) = id {
            if self.sources.last() != Some(&loc.source) {
                self.sources.push(loc.source.clone());
            }
            let here = (self.sources.len() - 1, loc.line);
            if let Some(&(s, l)) = self.seen.get(id) {
                return Err(format!(
                    "request id {id} was already seen at {}:{l}: a record given twice (the same file twice, or a shard's own records and the run folder's union); give each record once",
                    self.sources[s]
                ));
            }
            self.seen.insert(id.to_string(), here);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::accumulate::Accumulator;

    fn loc(source: &str, line: u64) -> Location {
        Location {
            source: source.into(),
            line,
        }
    }

    /// A record line as the accumulator reads it.
    fn rec(index: u32, count: u32, id: &str) -> Accumulator {
        let mut acc = Accumulator::new(&[]);
        acc.keep_shard_ids();
        acc.add_line(&format!(
            r#"{{"metadata":{{"x_request_id":"{id}","shard":{{"index":{index},"count":{count},"host":"h"}},"request_start_ns":1,"request_end_ns":2}},"metrics":{{"request_latency":{{"value":1.0,"unit":"ms"}}}}}}"#
        ))
        .unwrap();
        acc
    }

    fn checker() -> ShardRecords {
        ShardRecords::new(&ShardsSummary {
            count: 3,
            merged: vec![1, 3],
            missing: vec![2],
            hosts: vec!["h".into(), "h".into()],
            start_skew_ms: 0.0,
            max_start_late_ms: None,
            clock_error_bound_ms: Some(0.0),
            network_rtt_ms: None,
            run_infos: Vec::new(),
        })
    }

    #[test]
    fn records_of_the_merged_shards_pass_and_others_are_named() {
        let mut c = checker();
        assert_eq!(c.check(&loc("a", 1), rec(1, 3, "x1").shard_ids()), Ok(()));
        assert_eq!(c.check(&loc("b", 1), rec(3, 3, "x3").shard_ids()), Ok(()));
        let e = c.check(&loc("a", 2), rec(2, 3, "x2").shard_ids()).unwrap_err();
        assert!(
            e.contains("shard 2/3 (h), whose run info was not given") && e.contains("--run-info"),
            "{e}"
        );
        let e = c.check(&loc("a", 3), rec(1, 4, "x4").shard_ids()).unwrap_err();
        assert!(e.contains("shard 1/4") && e.contains("3-shard benchmark"), "{e}");
        let e = c.check(&loc("a", 4), (None, Some("y"))).unwrap_err();
        assert!(e.contains("without a shard tag"), "{e}");
    }

    #[test]
    fn a_request_id_seen_twice_names_where_it_was_first() {
        let mut c = checker();
        c.check(&loc("a.jsonl", 1), rec(1, 3, "x1").shard_ids()).unwrap();
        c.check(&loc("a.jsonl", 2), rec(1, 3, "x2").shard_ids()).unwrap();
        let e = c
            .check(&loc("b.jsonl", 7), rec(3, 3, "x2").shard_ids())
            .unwrap_err();
        assert!(e.contains("request id x2 was already seen at a.jsonl:2"), "{e}");
    }
}
