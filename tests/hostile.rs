//! Hostile inputs, one row each: what a user (or a broken file) can hand a tool, the exit code it
//! must get, a fragment of its one-line message, and a bound on the tool's peak memory (its own
//! `VmHWM`, sampled from /proc while it runs: `wait4`'s `ru_maxrss` also counts the test process's
//! memory, which the child's mm inherits until it execs) and on its run time. No row may end in
//! a panic. The table only grows: a new finding is a new row.

use crate::common::{bin, MockServer};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One hostile input.
struct Row {
    /// What is fed in, for the failure message.
    name: &'static str,
    tool: &'static str,
    /// `{url}` becomes a mock-llm's URL (started for the row), `{dir}` the row's temp folder,
    /// `{fixtures}` the tests/fixtures folder.
    args: &'static [&'static str],
    /// Files written into `{dir}` before the run: (name, content); a name may hold folders.
    files: &'static [(&'static str, &'static str)],
    /// Standard input, if any.
    stdin: Option<&'static str>,
    /// The exit code it must get (2: an error; 1: a negative verdict; 0: a bounded, correct run).
    exit: i32,
    /// A fragment of stderr (the one-line error, or a warning) it must print.
    message: &'static str,
    /// Peak resident memory allowed, in MiB.
    max_rss_mib: u64,
    /// Wall time allowed before the row counts as a hang (a generous bound: CI is loaded).
    max_secs: u64,
}

/// The rows. Group them by what they attack; keep each `name` unique.
const ROWS: &[Row] = &[
    Row {
        name: "loadgen: an unknown flag",
        tool: "loadgen",
        args: &["--url", "{url}", "--concurrency-x", "4"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--concurrency-x",
        max_rss_mib: 200,
        max_secs: 30,
    },
    // --- run inputs (loadgen, sweep-plan, dataset values) ---
    // Media flags (--image-*, --audio-*).
    Row {
        name: "loadgen: --audio-format mp3 at a rate MP3 lacks",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--audio-length-mean", "1", "--audio-format", "mp3", "--audio-sample-rates", "44"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--audio-sample-rates 44: MP3 has no such rate",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --audio-depths 12",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--audio-length-mean", "1", "--audio-depths", "16,12"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--audio-depths 12: unsupported bit depth; give 8, 16, 24 or 32",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --audio-num-channels 3",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--audio-length-mean", "1", "--audio-num-channels", "3"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--audio-num-channels 3: give 1 (mono) or 2 (stereo)",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --audio-sample-rates 0",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--audio-length-mean", "1", "--audio-sample-rates", "16,0"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "'--audio-sample-rates <KHZ[,...]>...': must be a positive number",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --audio-length-mean 1e300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--audio-length-mean", "1e300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "s sweepkit makes per clip; give a shorter length",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --image-width-mean -5",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--image-width-mean", "-5"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "'--image-width-mean <PIXELS>': must be a number >= 0",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --image-height-mean 1e9",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--image-height-mean", "1e9"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--image-height-mean: 1000000000 pixels is more than the 8192 sweepkit makes",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --image-batch-size on completions",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--endpoint-type", "completions", "--image-batch-size", "2"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--image-batch-size: the completions endpoint cannot carry images, audio or video; use --endpoint-type chat",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --image-format gif",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--image-batch-size", "1", "--image-format", "gif"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "invalid value 'gif' for '--image-format",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: --audio-depths 12 refused at plan time",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--audio-length-mean", "1", "--audio-depths", "12"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--audio-depths 12: unsupported bit depth",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --request-cancellation-delay 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--request-cancellation-rate", "50", "--request-cancellation-delay", "1e308"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "'--request-cancellation-delay <SECONDS[,...]>': must be a number of seconds from 0 to 604800 (7 days)",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --request-cancellation-delay 1e20 under a rate",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--request-rate", "10", "--request-cancellation-rate", "50", "--request-cancellation-delay", "1e20"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "must be a number of seconds from 0 to 604800",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --conversation-turn-delay-ratio 1e300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--conversation-turn-mean", "2", "--conversation-turn-delay-mean", "10", "--conversation-turn-delay-ratio", "1e300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--conversation-turn-delay-mean 10 x --conversation-turn-delay-ratio 1e300 = 1e301 ms per turn: must be a number of ms from 0 to 604800000",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --conversation-turn-delay-mean 1e15",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--conversation-turn-mean", "2", "--conversation-turn-delay-mean", "1e15"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "'--conversation-turn-delay-mean <MS[,MS...]>': must be a number of ms from 0 to 604800000",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --inter-turn-delay-cap-seconds 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "mt.jsonl", "--custom-dataset-type", "multi_turn", "--inter-turn-delay-cap-seconds", "1e308"],
        files: &[("mt.jsonl", "{\"turns\":[{\"text\":\"a\"},{\"text\":\"b\",\"delay\":5}]}\n")],
        stdin: None,
        exit: 2,
        message: "'--inter-turn-delay-cap-seconds <SECONDS[,...]>': must be a number of seconds from 0",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: single_turn delay 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "d.jsonl"],
        files: &[("d.jsonl", "{\"text\":\"a\",\"delay\":0}\n{\"text\":\"b\",\"delay\":1e308}\n")],
        stdin: None,
        exit: 2,
        message: "d.jsonl:2: delay 1e308: must be a number of ms from 0 to 604800000",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: single_turn timestamp 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "d.jsonl"],
        files: &[("d.jsonl", "{\"text\":\"a\",\"timestamp\":1e308}\n")],
        stdin: None,
        exit: 2,
        message: "d.jsonl:1: timestamp 1e308: must be a number of ms from 0 to 9007199254740992",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: random_pool entry with an image",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "p.jsonl", "--custom-dataset-type", "random_pool"],
        files: &[("p.jsonl", "{\"text\":\"a\"}\n{\"image\":\"x.png\"}\n")],
        stdin: None,
        exit: 2,
        message: "p.jsonl:2: image/audio/video entries are not supported",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: random_pool folder with an empty pool",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "pools", "--custom-dataset-type", "random_pool"],
        files: &[("pools/empty.jsonl", "\n")],
        stdin: None,
        exit: 2,
        message: "pools/empty.jsonl: no entries in this random_pool file",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: raw_payload line without messages",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "r.jsonl", "--custom-dataset-type", "raw_payload"],
        files: &[("r.jsonl", "{\"model\":\"x\",\"messages\":[]}\n{\"model\":\"x\"}\n")],
        stdin: None,
        exit: 2,
        message: "r.jsonl:2: a raw_payload line needs a \"messages\" array",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: raw_payload line not an object",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "r.jsonl", "--custom-dataset-type", "raw_payload"],
        files: &[("r.jsonl", "[1,2]\n")],
        stdin: None,
        exit: 2,
        message: "r.jsonl:1: a raw_payload line must be a JSON object",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: sharegpt file cut mid-entry",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--public-dataset", "sharegpt", "--input-file", "s.json"],
        files: &[("s.json", "[\n{\"conversations\": [\n{\"from\": \"human\", \"value\": }]}]\n")],
        stdin: None,
        exit: 2,
        message: "s.json:3: not a ShareGPT JSON file",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: sharegpt file not a list",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--public-dataset", "sharegpt", "--input-file", "s.json"],
        files: &[("s.json", "{\"conversations\": []}\n")],
        stdin: None,
        exit: 2,
        message: "s.json:1: not a ShareGPT JSON file",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: spec_bench line not JSON",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--public-dataset", "spec_bench", "--input-file", "q.jsonl"],
        files: &[("q.jsonl", "{\"turns\":[\"a\"]}\nturns: b\n")],
        stdin: None,
        exit: 2,
        message: "q.jsonl:2: not a Spec-Bench line",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: spec_al_mtbench rows without prompt",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--public-dataset", "spec_al_mtbench", "--input-file", "m.jsonl"],
        files: &[("m.jsonl", "{\"turns\":[\"a\"]}\n")],
        stdin: None,
        exit: 2,
        message: "m.jsonl:1: column 'prompt' not found",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: burst_gpt_trace header without Response tokens",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--custom-dataset-type", "burst_gpt_trace", "--input-file", "b.csv"],
        files: &[("b.csv", "Timestamp,Model,Request tokens\n1,m,3\n")],
        stdin: None,
        exit: 2,
        message: "b.csv:1: a BurstGPT CSV header names Timestamp, Request tokens and Response tokens; missing: Response tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: burst_gpt_trace timestamp 1e300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--custom-dataset-type", "burst_gpt_trace", "--input-file", "b.csv"],
        files: &[("b.csv", "Timestamp,Request tokens,Response tokens\n1e300,3,2\n")],
        stdin: None,
        exit: 2,
        message: "b.csv:2: timestamp",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --public-dataset without --input-file",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--public-dataset", "sharegpt"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--public-dataset sharegpt: give the dataset's local file with --input-file",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --dataset-sampling-strategy random on a trace",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--custom-dataset-type", "burst_gpt_trace", "--input-file", "b.csv", "--dataset-sampling-strategy", "random"],
        files: &[("b.csv", "Timestamp,Request tokens,Response tokens\n1,3,2\n")],
        stdin: None,
        exit: 2,
        message: "--dataset-sampling-strategy: the --input-file is a timestamped trace",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: mooncake_trace delay 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"delay\":1e308,\"input_length\":8,\"output_length\":2}\n")],
        stdin: None,
        exit: 2,
        message: "t.jsonl:1: delay 1e308: must be",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: mooncake_trace session turn delay 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"session_id\":\"s\",\"timestamp\":0,\"input_length\":8}\n{\"session_id\":\"s\",\"delay\":1e308,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "t.jsonl:2: delay 1e308: must be",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: multi_turn delay 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "mt.jsonl", "--custom-dataset-type", "multi_turn"],
        files: &[("mt.jsonl", "{\"turns\":[{\"text\":\"a\"},{\"text\":\"b\",\"delay\":1e308}]}\n")],
        stdin: None,
        exit: 2,
        message: "mt.jsonl:1: turn 1: delay 1e308: must be a number of ms",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: multi_turn timestamp 1e308",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "mt.jsonl", "--custom-dataset-type", "multi_turn"],
        files: &[("mt.jsonl", "{\"turns\":[{\"text\":\"a\",\"timestamp\":1e308}]}\n")],
        stdin: None,
        exit: 2,
        message: "mt.jsonl:1: turn 0: timestamp 1e308: must be",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: trace timestamps spanning 1e12 ms",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8}\n{\"timestamp\":1e12,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "t.jsonl: the timestamps span 1000000000000 ms from the schedule's zero: the replay would take 32 years",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: epoch-ms timestamps without auto offset",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace", "--fixed-schedule", "--fixed-schedule-start-offset", "0"],
        files: &[("t.jsonl", "{\"timestamp\":1796600000000,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "the longest schedule accepted is 604800 s (7 days)",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: a negative timestamp",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8}\n{\"timestamp\":-5,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "t.jsonl:2: timestamp -5: must be a number of ms from 0",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: an i64::MAX timestamp",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":9223372036854775807,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "t.jsonl:1: timestamp 9.223372036854776e18: must be",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: mooncake input_length 1e12",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":1000000000000}\n")],
        stdin: None,
        exit: 2,
        message: "t.jsonl:1: input_length 1000000000000: more than the 10000000 tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: mooncake output_length 1e15",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8,\"output_length\":1000000000000000}\n")],
        stdin: None,
        exit: 2,
        message: "t.jsonl:1: output_length 1000000000000000: more than the 10000000 tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --conversation-num 1e12",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--conversation-num", "1000000000000", "--conversation-turn-mean", "2"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--conversation-num 1000000000000: the dataset would hold 2000000000000 requests",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --conversation-num 1e6 for 4 requests",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--conversation-num", "1000000", "--conversation-turn-mean", "2", "--isl", "64", "--request-count", "4"],
        files: &[],
        stdin: None,
        exit: 0,
        message: "",
        max_rss_mib: 150,
        max_secs: 60,
    },
    Row {
        name: "loadgen: --conversation-turn-mean 1e6",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--conversation-turn-mean", "1000000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--conversation-turn-mean 1000000: more than the 10000 turns",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --conversation-turn-mean 1e9",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--conversation-turn-mean", "1000000000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--conversation-turn-mean 1000000000: more than the 10000 turns",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: a session history beyond any context",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--conversation-turn-mean", "5000", "--isl", "4000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--conversation-turn-mean 5000 x (--isl 4000 + --osl 2) = 20010000 tokens in a session's last turn",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --prefix-prompt-length 1e9",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--prefix-prompt-pool-size", "1", "--prefix-prompt-length", "1000000000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--prefix-prompt-length 1000000000: more than the 10000000 tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --shared-system-prompt-length 1e9",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--shared-system-prompt-length", "1000000000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--shared-system-prompt-length 1000000000: more than the 10000000 tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --prefix-prompt-pool-size 1e12",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--prefix-prompt-pool-size", "1000000000000", "--prefix-prompt-length", "10"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--prefix-prompt-pool-size 1000000000000 x --prefix-prompt-length 10 = 10000000000000 tokens of prefixes",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --num-prompts beyond the dataset budget",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--num-prompts", "1000000", "--isl", "1000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--num-prompts 1000000: the dataset would hold 1000000000 tokens of text",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --request-rate 1e-300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--request-rate", "1e-300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--request-rate 1e-300: one request every",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --request-cancellation-rate -1",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--request-cancellation-rate", "-1"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "invalid value '-1' for '--request-cancellation-rate <PERCENT[,...]>': must be a percentage from 0 to 100",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --concurrency -4",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--concurrency", "-4"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "invalid value '-4' for '--concurrency <N[,N...]>': must not be negative",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --tokenizer /dev/null",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--tokenizer", "/dev/null"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "is not a tokenizer.json",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --start-at 9999-12-31T23:59:59Z",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--start-at", "9999-12-31T23:59:59Z"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "'9999-12-31T23:59:59Z' is 2912",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --benchmark-duration 1e300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--benchmark-duration", "1e300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "'--benchmark-duration <SECONDS[,...]>': must be a number of seconds from 0 to 604800",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --request-timeout-seconds 1e300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--request-timeout-seconds", "1e300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "must be a number of seconds from 0 to 604800",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --concurrency-ramp-duration 1e300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--concurrency-ramp-duration", "1e300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "must be a number of seconds from 0 to 604800",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --max-unreachable-seconds 1e300",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--max-unreachable-seconds", "1e300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "must be a number of seconds from 0 to 604800",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: --request-cancellation-delay 1e308",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--request-cancellation-rate", "10", "--request-cancellation-delay", "1e308"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "sweep-plan: invalid value '1e308' for '--request-cancellation-delay <SECONDS[,...]>': must be a number of seconds",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: --conversation-turn-delay-ratio 1e300",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--conversation-turn-mean", "2", "--conversation-turn-delay-mean", "10", "--conversation-turn-delay-ratio", "1e300"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "sweep-plan: --conversation-turn-delay-mean 10 x --conversation-turn-delay-ratio 1e300",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: --inter-turn-delay-cap-seconds 1e308",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "mt.jsonl", "--inter-turn-delay-cap-seconds", "1e308"],
        files: &[("mt.jsonl", "{\"text\":\"a\"}\n")],
        stdin: None,
        exit: 2,
        message: "must be a number of seconds from 0 to 604800",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: --conversation-num 1e12",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--conversation-num", "1000000000000", "--conversation-turn-mean", "2"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--conversation-num 1000000000000: the dataset would hold",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --isl beyond the tokenizer's context",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "-o", "{dir}/r.jsonl", "--tokenizer", "{fixtures}/tokenizers/bpe_bytelevel", "--num-prompts", "1", "--request-count", "1", "--isl", "2000000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "loadgen: --isl 2000000: more than the model's context of 1000000 tokens (model_max_length in ",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --isl + --osl beyond the tokenizer's context",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "-o", "{dir}/r.jsonl", "--tokenizer", "{fixtures}/tokenizers/bpe_bytelevel", "--num-prompts", "1", "--request-count", "1", "--isl", "999000", "--osl", "2000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "loadgen: --isl 999000 + --osl 2000 = 1001000 tokens: more than the model's context of 1000000 tokens (model_max_length in ",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: an --isl list crossing the tokenizer's context",
        tool: "sweep-plan",
        args: &["-m", "m", "--tokenizer", "{fixtures}/tokenizers/bpe_bytelevel", "--num-prompts", "1", "--isl", "1000,2000000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "sweep-plan: --isl 2000000: more than the model's context of 1000000 tokens (model_max_length in ",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: --isl + --osl crossing the tokenizer's context",
        tool: "sweep-plan",
        args: &["-m", "m", "--tokenizer", "{fixtures}/tokenizers/bpe_bytelevel", "--num-prompts", "1", "--isl", "999000", "--osl", "100,2000"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "sweep-plan: --isl 999000 + --osl 2000 = 1001000 tokens: more than the model's context",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: an --isl spread crossing the tokenizer's context warns",
        tool: "sweep-plan",
        args: &["-m", "m", "--tokenizer", "{fixtures}/tokenizers/bpe_bytelevel", "--num-prompts", "1", "--isl", "990000", "--isl-stddev", "5000", "--concurrency", "1,2"],
        files: &[],
        stdin: None,
        exit: 0,
        message: "sweep-plan: warning: --isl 990000 (stddev 5000): mean + 3 stddev = 1005000 tokens, more than the model's context of 1000000 tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: a good trace file plans (the check refuses only what loadgen refuses)",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace", "-o", "{dir}/plan.jsonl"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8,\"output_length\":4}\n{\"timestamp\":500,\"input_length\":9000}\n")],
        stdin: None,
        exit: 0,
        message: "",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: single_turn delay 1e308",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "d.jsonl"],
        files: &[("d.jsonl", "{\"text\":\"a\",\"delay\":0}\n{\"text\":\"b\",\"delay\":1e308}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: d.jsonl:2: delay 1e308: must be a number of ms from 0 to 604800000",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: single_turn timestamp 1e308",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "d.jsonl"],
        files: &[("d.jsonl", "{\"text\":\"a\",\"timestamp\":1e308}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: d.jsonl:1: timestamp 1e308: must be a number of ms from 0 to 9007199254740992",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: multi_turn timestamp 1e308",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "mt.jsonl", "--custom-dataset-type", "multi_turn"],
        files: &[("mt.jsonl", "{\"turns\":[{\"text\":\"a\",\"timestamp\":1e308}]}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: mt.jsonl:1: turn 0: timestamp 1e308: must be",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: a negative timestamp",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8}\n{\"timestamp\":-5,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: t.jsonl:2: timestamp -5: must be a number of ms from 0",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: trace timestamps spanning 1e12 ms",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8}\n{\"timestamp\":1e12,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: --input-file t.jsonl: the timestamps span 1000000000000 ms from the schedule's zero: the replay would take 32 years",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: mooncake input_length 1e12",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":1000000000000}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: t.jsonl:1: input_length 1000000000000: more than the 10000000 tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: mooncake output_length 1e15",
        tool: "sweep-plan",
        args: &["-m", "m", "--concurrency", "1,2", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8,\"output_length\":1000000000000000}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: t.jsonl:1: output_length 1000000000000000: more than the 10000000 tokens",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "sweep-plan: a swept --request-rate over a timestamped trace",
        tool: "sweep-plan",
        args: &["-m", "m", "--request-rate", "1,2", "--input-file", "t.jsonl", "--custom-dataset-type", "mooncake_trace"],
        files: &[("t.jsonl", "{\"timestamp\":0,\"input_length\":8}\n")],
        stdin: None,
        exit: 2,
        message: "sweep-plan: --request-rate: t.jsonl is a timestamped trace, replayed on its own schedule",
        max_rss_mib: 200,
        max_secs: 30,
    },
    // --- files and outputs (readers, redaction, atomic writes, search folders) ---
    Row {
        name: "trial-agg: /dev/zero as records",
        tool: "trial-agg",
        args: &["/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero:1: line longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --input-file /dev/zero",
        tool: "loadgen",
        args: &[
            "--url",
            "{url}",
            "-m",
            "m",
            "--input-file",
            "/dev/zero",
            "--custom-dataset-type",
            "single_turn",
        ],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero:1: line longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --spec /dev/zero",
        tool: "loadgen",
        args: &["--spec", "/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--spec /dev/zero: cannot read: file longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --run-info /dev/zero",
        tool: "trial-agg",
        args: &["--run-info", "/dev/zero", "{dir}/ok.jsonl"],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "file longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-agg: --plan /dev/zero",
        tool: "sweep-agg",
        args: &["--plan", "/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero:1: line longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "pareto: /dev/zero",
        tool: "pareto",
        args: &["/dev/zero"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/dev/zero: cannot read: file longer than 64 MiB",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration 1e-9 on a 1 s run",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "1e-9",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "into 1000000001 slices, more than the 10000 allowed: give --slice-duration 0.00011 or more",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration 1e-12 (under 1 ns)",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "1e-12",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "endless slices, more than the 10000 allowed: give --slice-duration 0.00011 or more",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration 0",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "0",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'0' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration -1",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "-1",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'-1' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration nan",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "nan",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'nan' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --slice-duration inf",
        tool: "trial-agg",
        args: &[
            "--slice-duration",
            "inf",
            "--output-dir",
            "{dir}/out",
            "{dir}/ok.jsonl",
        ],
        files: &[("ok.jsonl", OK_RECORDS)],
        stdin: None,
        exit: 2,
        message: "'inf' must be a positive number of seconds",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: every request failed",
        tool: "trial-agg",
        args: &["{dir}/failed.jsonl"],
        files: &[("failed.jsonl", FAILED_RECORDS)],
        stdin: None,
        exit: 1,
        message: "trial-agg: all 2 requests failed (most common error, 2 of them: 500 ServerError: boom)",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a torn summary in the search folder",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", "{\"request_count\": {\"avg\": 3")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json: not valid JSON: EOF while parsing",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a NaN in a summary",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", "{\"request_count\": {\"avg\": NaN}}")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json: not valid JSON: expected value",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a null summary",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", "null")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json: a summary must be a JSON object",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a garbage line in a trial's records",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_iter_0000/profile_runs/run_0001/profile_export_aiperf.json", SEARCH_SUMMARY), ("search_iter_0000/profile_runs/run_0001/profile_export.jsonl", "garbage\n")],
        stdin: None,
        exit: 2,
        message: "search_iter_0000/profile_runs/run_0001/profile_export.jsonl:1: not valid JSON here",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: a torn search_history.json",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[("search_history.json", "{\"iterations\": [")],
        stdin: None,
        exit: 2,
        message: "search_history.json: not valid JSON",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: --search-dir that does not exist, nothing to read",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}/typo", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "/typo: no such folder: nothing to read",
        max_rss_mib: 300,
        max_secs: 30,
    },
    Row {
        name: "sweep-search: --search-dir that does not exist starts a new search, said so",
        tool: "sweep-search",
        args: &["--search-dir", "{dir}/new", "--search-space", "concurrency:1,8:int", "--search-sla", "time_to_first_token:p99:le:60", "--model", "m"],
        files: &[],
        stdin: None,
        exit: 0,
        message: "/new does not exist: starting a new search there",
        max_rss_mib: 300,
        max_secs: 30,
    },    // --- network latency (--network-latency-*: loadgen's probe, trial-agg's adjusted metrics) ---
    Row {
        name: "loadgen: --network-latency-automatic with --network-latency-mean",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--network-latency-automatic", "--network-latency-mean", "5"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--network-latency-automatic and --network-latency-mean are mutually exclusive",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --network-latency-ping-interval without automatic",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--network-latency-ping-interval", "0.5"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--network-latency-ping-interval only applies with --network-latency-automatic",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --network-latency-ping-interval 0",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--network-latency-automatic", "--network-latency-ping-interval", "0"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--network-latency-ping-interval",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --network-latency-ping-interval below 1 ms",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--network-latency-automatic", "--network-latency-ping-interval", "0.00001"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--network-latency-ping-interval 0.00001: must be at least 0.001 s",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --network-latency-mean -1",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--network-latency-mean", "-1"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--network-latency-mean",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --network-latency-mean nan",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "-o", "{dir}/r.jsonl", "--request-count", "2", "--network-latency-mean", "nan"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--network-latency-mean",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "loadgen: --network-latency-automatic with records on stdout",
        tool: "loadgen",
        args: &["--url", "{url}", "-m", "m", "--ui", "none", "--osl", "2", "--request-count", "2", "--network-latency-automatic"],
        files: &[],
        stdin: None,
        exit: 2,
        message: "--network-latency-automatic: the probe's samples need a file",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --network-latency file missing",
        tool: "trial-agg",
        args: &["--network-latency", "{dir}/nope.jsonl", "{dir}/r.jsonl"],
        files: &[("r.jsonl", "")],
        stdin: None,
        exit: 2,
        message: "trial-agg: --network-latency: ",
        max_rss_mib: 200,
        max_secs: 30,
    },
    Row {
        name: "trial-agg: --network-latency malformed line",
        tool: "trial-agg",
        args: &["--network-latency", "{dir}/s.jsonl", "{dir}/r.jsonl"],
        files: &[("s.jsonl", "{\"timestamp_ns\":1,\"target_url\":\"http://h:1\",\"target_host\":\"h\",\"target_port\":1,\"rtt_ns\":5,\"success\":true}\n{\"rtt_ns\": \"fast\"}\n"), ("r.jsonl", "")],
        stdin: None,
        exit: 2,
        message: "s.jsonl:2: not valid JSON here",
        max_rss_mib: 200,
        max_secs: 30,
    },
];

/// Two successful records 1 s apart (a 1 s run for the slicing rows).
const OK_RECORDS: &str = concat!(
    r#"{"metadata":{"request_start_ns":1000000000,"request_end_ns":1100000000,"benchmark_phase":"profiling"},"metrics":{"request_latency":{"value":100.0,"unit":"ms"}}}"#,
    "\n",
    r#"{"metadata":{"request_start_ns":1900000000,"request_end_ns":2000000000,"benchmark_phase":"profiling"},"metrics":{"request_latency":{"value":100.0,"unit":"ms"}}}"#,
    "\n"
);

/// A trial summary that holds at concurrency 1 (TTFT p99 10 ms).
const SEARCH_SUMMARY: &str = r#"{"request_count":{"unit":"requests","avg":2.0},"time_to_first_token":{"unit":"ms","avg":10.0,"p99":10.0}}"#;

/// Two records whose requests both failed with a 500.
const FAILED_RECORDS: &str = concat!(
    r#"{"metadata":{"request_start_ns":1000000000,"request_end_ns":1100000000,"benchmark_phase":"profiling"},"metrics":{},"error":{"code":500,"type":"ServerError","message":"boom"}}"#,
    "\n",
    r#"{"metadata":{"request_start_ns":1900000000,"request_end_ns":2000000000,"benchmark_phase":"profiling"},"metrics":{},"error":{"code":500,"type":"ServerError","message":"boom"}}"#,
    "\n"
);

/// The result of one row's run.
struct Ran {
    code: Option<i32>,
    stderr: String,
    max_rss_mib: u64,
    elapsed: Duration,
}

/// Runs `cmd` to its end (killing it after `limit`), returning its exit code, stderr and peak RSS.
fn run_measured(mut cmd: Command, stdin: Option<&str>, limit: Duration) -> Ran {
    use std::io::{Read, Write};
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the tool");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    let mut err_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut peak_kib = 0u64;
    loop {
        peak_kib = peak_kib.max(high_water_kib(pid));
        // SAFETY: wait4 on our own child with valid out-pointers; it reaps the child (so `child`
        // must not be waited on again).
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if start.elapsed() > limit {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::mem::forget(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ran {
        code,
        stderr: reader.join().unwrap_or_default(),
        max_rss_mib: peak_kib / 1024,
        elapsed: start.elapsed(),
    }
}

/// The peak resident memory of `pid`'s own address space so far (`VmHWM`, KiB; 0 once it is gone).
fn high_water_kib(pid: libc::pid_t) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn fill(arg: &str, url: &str, dir: &Path) -> String {
    let fixtures = crate::common::repo_root().join("tests/fixtures");
    arg.replace("{url}", url)
        .replace("{dir}", dir.to_str().unwrap())
        .replace("{fixtures}", fixtures.to_str().unwrap())
}

#[test]
fn every_hostile_input_gets_its_clear_error_or_a_bounded_run() {
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for row in ROWS {
        assert!(names.insert(row.name), "two rows are named {:?}", row.name);
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in row.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let mock = row
            .args
            .iter()
            .any(|a| a.contains("{url}"))
            .then(|| MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]));
        let url = mock.as_ref().map(MockServer::url).unwrap_or_default();
        let mut cmd = Command::new(bin(row.tool));
        cmd.args(row.args.iter().map(|a| fill(a, &url, dir.path())))
            .current_dir(dir.path());
        let ran = run_measured(cmd, row.stdin, Duration::from_secs(row.max_secs));
        let mut why = Vec::new();
        if ran.code != Some(row.exit) {
            why.push(format!("exit {:?}, wanted {}", ran.code, row.exit));
        }
        if !ran.stderr.contains(row.message) {
            why.push(format!("stderr lacks {:?}", row.message));
        }
        if ran.stderr.contains("panicked") || ran.stderr.contains("RUST_BACKTRACE") {
            why.push("a panic".to_string());
        }
        if ran.max_rss_mib > row.max_rss_mib {
            why.push(format!(
                "peak RSS {} MiB > {} MiB",
                ran.max_rss_mib, row.max_rss_mib
            ));
        }
        if ran.elapsed > Duration::from_secs(row.max_secs) {
            why.push(format!(
                "ran {:.1} s > {} s",
                ran.elapsed.as_secs_f64(),
                row.max_secs
            ));
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                row.name,
                why.join("; "),
                ran.stderr
                    .trim()
                    .lines()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n          ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "hostile inputs mishandled:\n{}",
        failures.join("\n")
    );
}

/// Whether process `pid` has a handler installed for signal `sig` (its `SigCgt` mask in /proc).
fn catches(pid: u32, sig: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (sig - 1)) != 0)
}

/// Waits for `child` to exit, at most `limit`; its exit code (None: killed by a signal or hung).
fn exit_within(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_while_a_large_dataset_is_built_ends_the_run_at_once() {
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("r.jsonl");
    // 90M tokens of prompts: minutes to build, so the signal lands while it is built.
    let mut child = Command::new(bin("loadgen"))
        .args([
            "--url",
            &mock.url(),
            "-m",
            "m",
            "--ui",
            "none",
            "--request-count",
            "4",
        ])
        .args([
            "--num-prompts",
            "100000",
            "--isl",
            "900",
            "-o",
            records.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    while !catches(pid, libc::SIGTERM) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "loadgen never installed its handler"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let code = exit_within(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    use std::io::Read;
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(code, Some(130), "one SIGTERM must end the setup: {stderr}");
    assert!(
        stderr.contains("loadgen: interrupted while preparing the run: nothing was sent"),
        "{stderr}"
    );
    let sent = std::fs::read_to_string(&records).unwrap_or_default();
    assert_eq!(sent.lines().count(), 0, "nothing was sent: {sent}");
}

#[test]
fn ctrl_c_during_the_start_at_wait_ends_the_run_with_nothing_sent() {
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let (records, info) = (dir.path().join("r.jsonl"), dir.path().join("run_info.json"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = (now + 60).to_string();
    // One warmup request, then the wait: its record on disk says the wait has begun.
    let mut child = Command::new(bin("loadgen"))
        .args(["--url", &mock.url(), "-m", "m", "--ui", "none", "--osl", "2"])
        .args([
            "--request-count",
            "4",
            "--warmup-request-count",
            "1",
            "--start-at",
            &at,
        ])
        .args([
            "-o",
            records.to_str().unwrap(),
            "--run-info-out",
            info.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(&records)
        .unwrap_or_default()
        .lines()
        .count()
        < 1
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the warmup request never ended"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let code = exit_within(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    use std::io::Read;
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(code, Some(130), "{stderr}");
    let until = sweepkit::io::clock::iso_utc((now + 60) * 1_000_000_000);
    assert!(
        stderr.contains(&format!("--start-at: the profiling phase waits until {until}Z")),
        "one line says until when: {stderr}"
    );
    let lines: Vec<String> = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 1, "only the warmup request was sent: {lines:?}");
    assert!(
        lines[0].contains("\"benchmark_phase\":\"warmup\""),
        "{}",
        lines[0]
    );
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    assert_eq!(info["end"]["reason"], "interrupted", "{info}");
    assert_eq!(info["end"]["requests_not_sent"], 4, "{info}");
}

#[test]
fn a_large_system_prompt_is_held_once_not_once_per_dataset_entry() {
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0", "--max-model-len", "10000000"]);
    let dir = tempfile::tempdir().unwrap();
    // 4 MB of words: the default dataset's 100 entries used to hold 3 copies each (1.2 GB).
    let words = ["alpha ", "beta ", "gamma ", "delta ", "omega "];
    let text: String = (0..700_000).map(|i| words[i * 7 % 5]).collect();
    let prompt = dir.path().join("system.txt");
    std::fs::write(&prompt, &text).unwrap();
    let records = dir.path().join("r.jsonl");
    let mut cmd = Command::new(bin("loadgen"));
    cmd.args(["--url", &mock.url(), "-m", "m", "--ui", "none", "--osl", "2"])
        .args(["--concurrency", "4", "--request-count", "8"])
        .args(["--system-prompt-file", prompt.to_str().unwrap()])
        .args(["-o", records.to_str().unwrap()]);
    let ran = run_measured(cmd, None, Duration::from_secs(60));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.max_rss_mib < 250, "peak RSS {} MiB", ran.max_rss_mib);
    let system_tokens = sweepkit::io::tokenizer::Tokenizer::load("builtin")
        .unwrap()
        .count(&text);
    let lines = std::fs::read_to_string(&records).unwrap();
    assert_eq!(lines.lines().count(), 8);
    for l in lines.lines() {
        let r: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(r["error"].is_null(), "{l}");
        // The server was sent the whole prompt: its count is in the request's ISL.
        let isl = r["metrics"]["input_sequence_length"]["value"].as_u64().unwrap();
        assert!(
            isl > system_tokens,
            "ISL {isl} <= the system prompt's {system_tokens}"
        );
        assert!(r["metrics"]["usage_prompt_tokens"]["value"].as_u64().unwrap() > system_tokens);
    }
}

// --- files and outputs (readers, redaction, atomic writes, search folders): dedicated tests ---

/// Every file under `root` (recursively), with its text (lossy).
fn every_file(root: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                todo.push(p);
            } else if meta.is_file() {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                out.push((p, text));
            }
        }
    }
    out
}

/// A whole scripts/profile sweep with a password in the URL, an API key and a `?token=` in the
/// server-metrics URL: the mock answers only requests that carry the password (Basic) and the key
/// (x-api-key), so every run succeeding proves they were sent; then no file under the output
/// folder, nor stdout or stderr, holds any of the three.
#[test]
fn a_profile_sweep_sends_the_url_password_and_key_but_writes_them_nowhere() {
    const PW: &str = "PwSecret7391";
    const KEY: &str = "KeySecret5120";
    const TOKEN: &str = "TokSecret8842";
    let tmp = tempfile::tempdir().unwrap();
    let truth = tmp.path().join("truth.jsonl");
    let mock = MockServer::start(&[
        "--ttft-ms",
        "0",
        "--itl-ms",
        "0",
        "--basic-auth",
        &format!("alice:{PW}"),
        "--api-key",
        KEY,
        "--record",
        truth.to_str().unwrap(),
    ]);
    let url = format!("http://alice:{PW}@{}", mock.addr);
    let metrics = format!("{}/metrics?token={TOKEN}", mock.url());
    let out_dir = tmp.path().join("out");
    let tools = bin("loadgen").parent().unwrap().to_path_buf();
    let o = Command::new(crate::common::repo_root().join("scripts/profile"))
        .current_dir(tmp.path())
        .env("SWEEPKIT_BIN_DIR", &tools)
        .args([
            "--model",
            "m",
            "--url",
            &url,
            "--endpoint-type",
            "messages",
            "--api-key",
            KEY,
        ])
        .args(["--server-metrics", &metrics, "--scrape-interval", "0.2"])
        .args(["--concurrency", "1,2", "--request-count", "4", "--ui", "none"])
        .args(["--artifact-dir", out_dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "{stdout}\n{stderr}");
    drop(mock);
    let served = std::fs::read_to_string(&truth).unwrap();
    assert_eq!(served.lines().count(), 8, "2 runs of 4 requests reached the mock");
    let files = every_file(&out_dir);
    let base = out_dir.join("m-openai-messages-concurrency_sweep");
    for c in [1, 2] {
        let summary = base.join(format!("concurrency_{c}/profile_export_aiperf.json"));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(
            doc["request_count"]["avg"],
            4.0,
            "{}: every request authenticated",
            summary.display()
        );
    }
    for must in [
        "benchmark_command.txt",
        "plan.jsonl",
        "report.html",
        "server_metrics_export.jsonl",
        "run_info.json",
    ] {
        assert!(
            files.iter().any(|(p, _)| p.ends_with(must)),
            "{must} is written (and so checked); files: {:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
    }
    let mut leaks = Vec::new();
    for secret in [PW, KEY, TOKEN] {
        leaks.extend(
            files
                .iter()
                .filter(|(_, t)| t.contains(secret))
                .map(|(p, _)| p.display().to_string()),
        );
        for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            if text.contains(secret) {
                leaks.push(name.to_string());
            }
        }
    }
    assert!(leaks.is_empty(), "secrets written to: {leaks:?}");
    let command = std::fs::read_to_string(base.join("benchmark_command.txt")).unwrap();
    assert!(command.contains("alice:"), "the user name stays: {command}");
}

/// `report DIR -o link.html`: the symlink stays and its target holds the report; a path that is
/// no regular file (a pipe here; a device such as /dev/full the same) is refused, untouched.
#[test]
fn report_writes_through_a_symlink_and_refuses_a_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("real.html");
    std::fs::write(&target, "old").unwrap();
    let link = tmp.path().join("link.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let folder = crate::common::fixtures_dir().join("a_single_c8_n200");
    let o = Command::new(bin("report"))
        .arg(&folder)
        .arg("-o")
        .arg(&link)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    let fifo = tmp.path().join("pipe.html");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let o = Command::new(bin("report"))
        .arg(&folder)
        .arg("-o")
        .arg(&fifo)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "report: {}: not a regular file: give the path of a file to write",
            fifo.display()
        )
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}
