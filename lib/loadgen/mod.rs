//! loadgen: one benchmark (one trial at one setting) against an OpenAI-compatible server.
//!
//! [`benchmark`] drives everything, so tests run the engine in-process: build the dataset, write
//! `inputs.json`, run the warmup and profiling phases on `--workers` event-loop threads, each with
//! its own connections to every `--url` replica ([`run::workers`], [`http::replicas`]) (closed loop: N tasks
//! over one shared request counter; open loop: absolute deadlines from the [`pacing::arrival_schedule`];
//! trace replay: the trace's timestamps), stream one record per request to the output as each completes (a dedicated
//! writer thread computes the metrics, so the request tasks only stamp and parse), then write the
//! run info. Stops: request count, duration (+ grace, then in-flight requests are cancelled and
//! marked), Ctrl-C (stop dispatching, drain for the grace period, flush, exit 130), or an
//! unreachable server before anything succeeded (fail fast). It prints nothing but its UI (the
//! progress bar or the dashboard, [`progress`]): warnings and the closing line come back in its
//! [`Report`].

//!
//! Its rooms stack one way (each imports only those after it): [`run`] (set-up, phases, workers,
//! the writer, the ending) → [`pacing`] (when to send: loops, sessions, the sender) → [`record`]
//! (metrics, run info, progress UI) → [`http`] (how to send) → [`dataset`] (what to send) →
//! [`wire`] / [`openai`] (the API flavours) → [`options`], [`shard`] and the random streams.

pub mod dataset;
pub mod http;
pub mod openai;
pub mod options;
pub mod pacing;
pub mod py_random;
pub mod record;
pub mod run;
pub mod shard;
pub mod splitmix;
pub mod wire;

use anyhow::anyhow;

use crate::io::outcome::Outcome;

pub use options::{Io, Options, Settings};
pub use run::conclude::PhaseSummary;

/// How a run ended, and what its user should be told. The library prints nothing: `bins/loadgen`
/// prints the warnings as `loadgen: warning: …` and, with `--ui simple`, the summary line.
#[derive(Debug)]
pub struct Report {
    /// How the run ended, or why it failed (bad setup, unreachable server, every request failed).
    pub result: anyhow::Result<Outcome>,
    /// In the order they arose: `--realtime` refused, `--input-file` lines skipped, and the
    /// verdicts that the client, not the server, may have set the pace (also in the run info).
    pub warnings: Vec<String>,
    /// The profiling phase in one line, when it ran and the run did not fail on the way.
    pub summary: Option<PhaseSummary>,
}

/// Runs one benchmark on its own tokio runtime.
pub fn benchmark(opts: Options) -> Report {
    let mut report = Report {
        result: Ok(Outcome::Ok),
        warnings: Vec::new(),
        summary: None,
    };
    // One event-loop thread: no cross-thread wake-ups on the hot path (the writer thread does the
    // metrics and JSON, so the loop only sends, stamps and parses).
    let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run::run(opts, &mut report.warnings, &mut report.summary)),
        Err(e) => Err(anyhow!("cannot start the async runtime: {e}")),
    };
    report.result = result;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_come_back_to_the_caller_even_when_the_run_fails() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("d.jsonl");
        std::fs::write(&input, "{\"text\": \"hello\"}\n{\"text\": \"torn").unwrap();
        let settings: Settings = serde_json::from_value(serde_json::json!({
            "url": "127.0.0.1:1", "model": "m", "input_file": input, "ui": "none"
        }))
        .unwrap();
        let io = Io {
            output: Some(dir.path().join("records.jsonl")),
            ..Io::default()
        };
        let report = benchmark(options::resolve(settings, io, Default::default()).unwrap());
        let err = report.result.unwrap_err().to_string();
        assert!(err.contains("cannot reach http://127.0.0.1:1"), "{err}");
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(report.warnings[0].contains("skipped a torn last line"));
        assert!(report.summary.is_none());
    }
}
