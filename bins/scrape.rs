//! scrape: poll Prometheus endpoints during a run and stream their samples as JSONL.

#[path = "shared/mod.rs"]
mod shared;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sweepkit::telemetry::scrape::{self, ScrapeOptions};

const EXAMPLES: &str = "EXAMPLES:
  # vLLM's metrics and a DCGM exporter, every second, for the length of a run:
  scrape --interval 1 http://127.0.0.1:8000/metrics http://127.0.0.1:9400/metrics \\
      --output run/server_metrics_export.jsonl & pid=$!
  loadgen --url http://127.0.0.1:8000 --model m --concurrency 8 \\
      --output run/profile_export.jsonl
  kill -TERM \"$pid\"
  # ten seconds of samples, then the queue length only:
  scrape --duration 10 http://127.0.0.1:8000/metrics | grep num_requests_waiting";

/// Poll Prometheus text endpoints at a fixed interval and stream every sample as one JSONL line.
///
/// Writes `{endpoint, timestamp_ns, metric, family?, labels, value, type}` per sample (timestamp_ns:
/// wall-clock epoch ns of the scrape), or `{endpoint, timestamp_ns, error}` when a scrape failed (a gap).
/// Stops on SIGTERM/Ctrl-C or at stdin EOF with --stdin-eof (one final scrape, as AIPerf takes at the
/// end of profiling, then exit 0 after flushing), or after --duration.
#[derive(Parser)]
#[command(name = "scrape", version, after_help = EXAMPLES, allow_negative_numbers = true)]
struct Cli {
    /// Prometheus text endpoints to poll (full URLs).
    #[arg(required = true, value_name = "URL")]
    endpoints: Vec<String>,
    /// Seconds between scrapes (absolute ticks; a slow scrape skips ticks, never overlaps).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    interval: f64,
    /// Stop after this many seconds (default: run until signalled).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Also stop when stdin reaches end of file.
    #[arg(long)]
    stdin_eof: bool,
    /// Per-scrape timeout in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    timeout: f64,
    /// Write samples here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn seconds(flag: &str, v: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| anyhow::anyhow!("{flag} {v}: give a non-negative number of seconds"))
}

fn main() -> ExitCode {
    shared::main::<Cli>("scrape", |cli| {
        sweepkit::io::interrupt::install();
        scrape::run(
            ScrapeOptions {
                endpoints: cli.endpoints,
                interval: seconds("--interval", cli.interval)?,
                duration: cli.duration.map(|d| seconds("--duration", d)).transpose()?,
                stop_on_stdin_eof: cli.stdin_eof,
                timeout: seconds("--timeout", cli.timeout)?,
                output: cli.output,
            },
            &|message| eprintln!("scrape: {message}"),
        )
    })
}
