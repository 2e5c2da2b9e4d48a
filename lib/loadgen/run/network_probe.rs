//! AIPerf 0.13's network-latency probe (`network_latency/probe.py`, `manager.py`), run with
//! `--network-latency-automatic`: during the profiling phase, every ping interval, a fresh
//! unpooled TCP connection to each distinct (host, port) of the `--url`s, its handshake timed
//! (a pooled HTTP request would reuse a connection and time nothing; TLS is left out so http
//! and https measure the same round trip). The host is resolved once, before the run, so a probe
//! times the handshake, not DNS. A probe is fired and forgotten, so a slow handshake never delays
//! the next one. Each probe, success or failure, is one line of the samples file, flushed as it
//! is written. When profiling ends the probe tops each target up to [`MIN_SAMPLES`] successful
//! probes (at most twice that many attempts, within [`TOPUP_BUDGET`]), so a short run still has a
//! mean; a Ctrl-C stops it without the top-up, as AIPerf's cancel does.
//!
//! The probes run on the run's own event loop (the main thread, idle while the workers send), so
//! they never share a worker's loop with the requests.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::contract::network_latency::{
    Mode, ProbeError, Sample, CONNECT_TIMEOUT, MIN_SAMPLES, TOPUP_BUDGET,
};
use crate::io::clock::Clock;
use crate::io::jsonl::JsonlWriter;
use crate::loadgen::options::Options;

/// One (host, port) probed.
struct Target {
    /// The `--url` it came from, without credentials.
    url: String,
    host: String,
    port: u16,
    /// Resolved once (IPv4 first, as the requests connect); `None`: resolved on every probe.
    addr: Option<SocketAddr>,
}

/// What the probes wrote: lines, and successes per target.
struct Log {
    out: JsonlWriter,
    path: PathBuf,
    count: u64,
    successes: Vec<u64>,
    first_error: Option<String>,
    write_error: Option<String>,
}

/// A probe ready to start (its file created, its targets resolved).
pub struct Probe {
    targets: Vec<Arc<Target>>,
    interval: Duration,
    clock: Clock,
    log: Arc<Mutex<Log>>,
}

/// A probe running beside the profiling phase.
pub struct Running {
    probe: Probe,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// What the probe did, for the run's warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub path: PathBuf,
    /// Probes written (success or failure).
    pub count: u64,
    pub successes: u64,
    pub first_error: Option<String>,
    /// The samples file could not be written to (the run goes on; the file is incomplete).
    pub write_error: Option<String>,
}

impl Probe {
    /// The probe `opts` asks for (`None` unless `--network-latency-automatic`): its samples file
    /// created, its targets resolved.
    pub fn prepare(opts: &Options, clock: Clock) -> anyhow::Result<Option<Probe>> {
        let (Mode::Probe { interval_s }, Some(path)) = (opts.network_latency, &opts.network_samples) else {
            return Ok(None);
        };
        let mut targets: Vec<Arc<Target>> = Vec::new();
        for u in &opts.urls {
            let t = target(u)?;
            if !targets.iter().any(|o| o.host == t.host && o.port == t.port) {
                targets.push(Arc::new(t));
            }
        }
        let out = JsonlWriter::to_path_or_stdout(Some(path), true)
            .map_err(|e| anyhow!("--network-latency-out: {e}"))?;
        Ok(Some(Probe {
            interval: Duration::from_secs_f64(interval_s),
            clock,
            log: Arc::new(Mutex::new(Log {
                out,
                path: path.clone(),
                count: 0,
                successes: vec![0; targets.len()],
                first_error: None,
                write_error: None,
            })),
            targets,
        }))
    }

    /// Starts probing every target (the first probe at once), on the current event loop.
    pub fn start(self) -> Running {
        let (stop, rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            tasks.spawn(every(
                (i, t.clone()),
                self.interval,
                self.clock,
                self.log.clone(),
                rx.clone(),
            ));
        }
        Running {
            probe: self,
            stop,
            tasks,
        }
    }
}

impl Running {
    /// Stops the probing (probes still in flight are dropped, as AIPerf's stop cancels them),
    /// then, unless the run was interrupted, tops every target up to [`MIN_SAMPLES`] successes.
    pub async fn finish(mut self, interrupted: bool) -> Tally {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        let p = &self.probe;
        if !interrupted {
            let deadline = Instant::now() + TOPUP_BUDGET;
            for (i, t) in p.targets.iter().enumerate() {
                let mut attempts = 0;
                while successes(&p.log, i) < MIN_SAMPLES
                    && attempts < 2 * MIN_SAMPLES
                    && Instant::now() < deadline
                {
                    attempts += 1;
                    probe_once((i, t), p.clock, &p.log).await;
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
        let mut log = p.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = log.out.flush() {
            log.write_error.get_or_insert(e.to_string());
        }
        Tally {
            path: log.path.clone(),
            count: log.count,
            successes: log.successes.iter().sum(),
            first_error: log.first_error.clone(),
            write_error: log.write_error.clone(),
        }
    }
}

impl Tally {
    /// What the user should be told: the file could not be written, or no probe succeeded.
    pub fn warning(&self) -> Option<String> {
        let file = self.path.display();
        if let Some(e) = &self.write_error {
            return Some(format!(
                "--network-latency-out {file}: cannot write ({e}): the samples are incomplete"
            ));
        }
        (self.successes == 0).then(|| {
            format!(
                "network latency probe: none of {} probes succeeded ({}); trial-agg adds no network_adjusted_* metrics",
                self.count,
                self.first_error.as_deref().unwrap_or("none sent")
            )
        })
    }
}

fn successes(log: &Mutex<Log>, i: usize) -> u64 {
    log.lock().unwrap_or_else(|e| e.into_inner()).successes[i]
}

/// The (host, port) of a `--url` (scheme default ports, as AIPerf's `_derive_target`).
fn target(base: &str) -> anyhow::Result<Target> {
    let url = reqwest::Url::parse(base).map_err(|e| anyhow!("--url {base}: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| anyhow!("--url {base}: no host to probe"))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default();
    let addr = addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied();
    Ok(Target {
        url: crate::io::redact::url(base),
        host,
        port,
        addr,
    })
}

/// One target's probe loop: a probe at once, then one per interval (fired, not awaited), until
/// stopped; probes in flight are dropped with the loop.
async fn every(
    (i, t): (usize, Arc<Target>),
    interval: Duration,
    clock: Clock,
    log: Arc<Mutex<Log>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = tick.tick() => {
                let (t, log) = (t.clone(), log.clone());
                in_flight.spawn(async move { probe_once((i, &t), clock, &log).await });
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
}

/// One probe: a TCP handshake timed, written as one sample line.
async fn probe_once((i, t): (usize, &Target), clock: Clock, log: &Mutex<Log>) {
    let timestamp_ns = clock.now_ns();
    let t0 = Instant::now();
    let connect = async {
        match t.addr {
            Some(a) => TcpStream::connect(a).await,
            None => TcpStream::connect((t.host.as_str(), t.port)).await,
        }
    };
    let (rtt_ns, error) = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(stream)) => {
            let rtt = t0.elapsed().as_nanos() as u64;
            drop(stream);
            (Some(rtt), None)
        }
        Ok(Err(e)) => (None, Some(probe_error(&e))),
        Err(_) => (
            None,
            Some(ProbeError {
                kind: "TimeoutError".into(),
                message: format!("no TCP handshake within {} s", CONNECT_TIMEOUT.as_secs()),
            }),
        ),
    };
    let sample = Sample {
        timestamp_ns,
        target_url: t.url.clone(),
        target_host: t.host.clone(),
        target_port: t.port,
        probe_type: "tcp_connect".into(),
        success: rtt_ns.is_some(),
        rtt_ns,
        error,
    };
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    log.count += 1;
    match &sample.error {
        None => log.successes[i] += 1,
        Some(e) => {
            let what = format!("{}:{}: {}", t.host, t.port, e.message);
            log.first_error.get_or_insert(what);
        }
    }
    if let Err(e) = log.out.write(&sample) {
        log.write_error.get_or_insert(e.to_string());
    }
}

/// An OS error as AIPerf's `ErrorDetails` names it (the Python exception type).
fn probe_error(e: &std::io::Error) -> ProbeError {
    let kind = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "ConnectionRefusedError",
        std::io::ErrorKind::TimedOut => "TimeoutError",
        _ => "OSError",
    };
    ProbeError {
        kind: kind.into(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_take_the_schemes_default_ports_and_no_credentials() {
        let t = target("https://alice:pw@127.0.0.1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 443));
        assert!(!t.url.contains("pw"), "{}", t.url);
        assert_eq!(t.addr, Some("127.0.0.1:443".parse().unwrap()));
        let t = target("http://localhost:8000").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("localhost", 8000));
        assert!(t.addr.is_some_and(|a| a.is_ipv4()), "IPv4 first: {:?}", t.addr);
    }
}
