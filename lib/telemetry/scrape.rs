//! The `scrape` stage: polls Prometheus text endpoints (a server's `/metrics`, a DCGM exporter) at a
//! fixed interval and streams every sample as a JSONL line (`telemetry::SampleLine`). Ticks are
//! absolute (`start + k * interval`); a scrape that overruns makes the next tick wait for it, so scrapes
//! never overlap. An endpoint that is down or returns garbage becomes a gap line with the error; the
//! stage never stops for it.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::io::clock::Clock;
use crate::io::jsonl::JsonlWriter;
use crate::io::outcome::Outcome;
use crate::telemetry::prometheus;
use crate::telemetry::SampleLine;

#[derive(Debug, Clone)]
pub struct ScrapeOptions {
    pub endpoints: Vec<String>,
    pub interval: Duration,
    /// Stop after this long (None: until signalled or stdin closes).
    pub duration: Option<Duration>,
    /// Stop when stdin reaches end of file (for `producer | scrape --stdin-eof`-style use).
    pub stop_on_stdin_eof: bool,
    /// Per-scrape timeout.
    pub timeout: Duration,
    pub output: Option<PathBuf>,
}

/// What one scrape of one endpoint produced.
pub async fn scrape_once(client: &reqwest::Client, clock: &Clock, url: &str) -> Vec<SampleLine> {
    let fetched = async {
        let resp = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("request failed: {}", error_chain(&e)))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| format!("reading the body failed: {}", error_chain(&e)))?;
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        Ok(body)
    }
    .await;
    let now = clock.now_ns();
    match fetched
        .and_then(|body| prometheus::parse(&body).map_err(|e| format!("malformed exposition text: {e}")))
    {
        Ok(samples) => samples
            .into_iter()
            .map(|s| SampleLine::from_sample(url, now, s))
            .collect(),
        Err(e) => vec![SampleLine::gap(url, now, e)],
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Validates the URLs: scraping is for local endpoints given explicitly.
fn check_endpoint(url: &str) -> anyhow::Result<()> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!("endpoint '{url}': give a full URL such as http://127.0.0.1:8000/metrics");
    }
    Ok(())
}

/// Scrapes until the duration, a signal or stdin's end. An endpoint going down or answering again
/// is told to `notify` (once per change, while it runs); `bins/scrape` prints it as
/// `scrape: <message>` on stderr.
pub fn run(opts: ScrapeOptions, notify: &dyn Fn(&str)) -> anyhow::Result<Outcome> {
    if opts.endpoints.is_empty() {
        anyhow::bail!(
            "no endpoint to scrape: give one or more URLs, e.g. scrape http://127.0.0.1:8000/metrics"
        );
    }
    for e in &opts.endpoints {
        check_endpoint(e)?;
    }
    if opts.interval.is_zero() {
        anyhow::bail!("--interval must be greater than zero");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(opts, notify))
}

async fn run_async(opts: ScrapeOptions, notify: &dyn Fn(&str)) -> anyhow::Result<Outcome> {
    let notify = |m: &str| notify(&crate::io::redact::text(m));
    let clock = Clock::new();
    crate::io::tls::install_provider();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(opts.timeout)
        .build()?;
    let mut out = JsonlWriter::to_path_or_stdout(opts.output.as_deref(), false)?;
    let stdin_closed = Arc::new(AtomicBool::new(false));
    if opts.stop_on_stdin_eof {
        let flag = stdin_closed.clone();
        std::thread::spawn(move || {
            let mut sink = [0u8; 4096];
            let mut stdin = io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            flag.store(true, Ordering::SeqCst);
        });
    }
    let start = Instant::now();
    let stop_at = opts.duration.map(|d| start + d);
    let mut failing = vec![false; opts.endpoints.len()];
    let mut tick = 0u64;
    let mut scrape_all = async || -> anyhow::Result<()> {
        let lines = futures_join(&client, &clock, &opts.endpoints).await;
        for (i, batch) in lines.into_iter().enumerate() {
            let gap = batch.first().and_then(|l| l.error.clone());
            match (&gap, failing[i]) {
                (Some(e), false) => notify(&format!(
                    "{}: {e} (recorded as a gap; still polling)",
                    opts.endpoints[i]
                )),
                (None, true) => notify(&format!("{}: answering again", opts.endpoints[i])),
                _ => {}
            }
            failing[i] = gap.is_some();
            for l in batch {
                out.write(&l)?;
            }
        }
        out.flush()?;
        Ok(())
    };
    loop {
        scrape_all().await?;
        // Next absolute tick that is still in the future (an overrun skips ticks, never overlaps).
        let now = Instant::now();
        tick += 1;
        let mut next = start + opts.interval * tick as u32;
        while next <= now {
            tick += 1;
            next = start + opts.interval * tick as u32;
        }
        // --duration ends the polling at its last tick; a stop (signal, stdin EOF) ends it with
        // one final scrape, as AIPerf's: counters read at the stop, not up to an interval before it
        // (a run shorter than the interval otherwise has no sample of its own).
        let last = stop_at.filter(|&s| next > s);
        if !wait_or_stop(last.unwrap_or(next), &stdin_closed).await {
            scrape_all().await?;
            break;
        }
        if last.is_some() {
            break;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

/// Sleeps until `at`; false when a stop (signal or stdin EOF) came first.
async fn wait_or_stop(at: Instant, stdin_closed: &AtomicBool) -> bool {
    loop {
        if crate::io::interrupt::requested() || stdin_closed.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        tokio::time::sleep((at - now).min(Duration::from_millis(20))).await;
    }
}

async fn futures_join(client: &reqwest::Client, clock: &Clock, endpoints: &[String]) -> Vec<Vec<SampleLine>> {
    let handles: Vec<_> = endpoints
        .iter()
        .map(|url| {
            let (client, clock, url) = (client.clone(), *clock, url.clone());
            tokio::spawn(async move { scrape_once(&client, &clock, &url).await })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or_default());
    }
    out
}
