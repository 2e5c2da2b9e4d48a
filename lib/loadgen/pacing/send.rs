//! Sending one request: the sender takes an [`Outgoing`] request, sends it on this worker's
//! connections, and hands the finished exchange to the writer thread. It knows nothing of
//! prompts, sessions or schedules: those decide what and when, and pass it in.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::control::Control;
use crate::contract::records::{ErrorDetails, ErrorKind, Phase};
use crate::loadgen::http::cancel::Cancellation;
use crate::loadgen::http::client::{self, Exchange, Failure};
use crate::loadgen::http::replicas::Replicas;

/// A closed-loop task whose connection was refused waits this long before its next request, as
/// any client would, so a dead server costs a few records a second rather than thousands.
pub const REFUSED_BACKOFF: Duration = Duration::from_millis(100);

/// One worker's sender (the `Arc`s are shared by all workers).
pub struct Sender {
    /// Which worker (event-loop thread) this is.
    pub worker: u32,
    /// One client per `--url` replica: this worker's own connections.
    pub replicas: Replicas,
    /// Seeds the request ids (`x_request_id`, `x_correlation_id`).
    pub nonce: u64,
    pub tx: mpsc::Sender<Finished>,
    pub ctl: Arc<Control>,
    /// Some request succeeded: an unreachable server no longer fails the run.
    pub any_success: Arc<AtomicBool>,
    /// The request path, e.g. `/v1/chat/completions`.
    pub endpoint: String,
    /// Requests sent so far (the dashboard's in-flight count is this minus the finished ones).
    pub sent: Arc<AtomicU64>,
    /// `--request-cancellation-rate`: which profiling requests are cut.
    pub cancellation: Option<Arc<Cancellation>>,
    /// The profiling phase's first request number: request `n` is the `n - first`-th issued,
    /// the index of its cancellation draw (AIPerf draws when it issues the credit, so the
    /// draw follows the request number, not the order in which tasks reach the socket).
    pub profiling_first: u64,
}

/// One finished request on its way to the writer.
pub struct Finished {
    pub ex: Exchange,
    /// How late the request started after it was due (its schedule, else when it was ready).
    pub lag: Duration,
    /// The worker that sent it.
    pub worker: u32,
}

/// What one request sends, and what it belongs to.
pub struct Outgoing {
    pub body: bytes::Bytes,
    /// Input tokens, when known up front (a later turn's are counted by the writer from `isl_payload`).
    pub isl: u64,
    pub max_tokens: Option<u64>,
    pub conversation: Arc<str>,
    pub turn_index: u32,
    pub correlation: Option<Arc<str>>,
    pub isl_payload: Option<serde_json::Map<String, serde_json::Value>>,
    /// Keep the reply text (a session's history needs it).
    pub want_reply: bool,
    /// Seconds of the turn's first audio clip, if it carries audio.
    pub audio_seconds: Option<f64>,
    /// Round-robin key of the `--url` replica: the request number, or a session's number so
    /// that all its turns go to one replica.
    pub replica: u64,
}

/// The `image_url` parts of a chat body (`"type":"image_url"`, which no JSON string can hold
/// unescaped), as AIPerf counts `num_images` from the payload bytes.
fn image_parts(body: &[u8]) -> u32 {
    memchr::memmem::find_iter(body, br#""type":"image_url""#).count() as u32
}

/// When a request is sent: its place on a schedule (open loops), and when it was ready to go.
#[derive(Clone, Copy)]
pub struct Due {
    pub scheduled: Option<Instant>,
    pub ready: Instant,
}

/// How one request went, for its sender.
pub struct Sent {
    /// The server refused the connection.
    pub refused: bool,
    /// The reply text, when asked for and the request succeeded.
    pub reply: Option<String>,
}

impl Sender {
    /// Sends request `request_num` of the phase and hands its exchange to the writer.
    pub async fn send(&self, request_num: u64, phase: Phase, due: Due, mut out: Outgoing) -> Sent {
        super::injected_panic::check(self.sent.load(Ordering::Relaxed));
        let mut ex = self.start_exchange(request_num, phase, &mut out);
        ex.scheduled = due.scheduled;
        let (ri, client, url) = self.replicas.pick(out.replica);
        if self.replicas.several() {
            ex.replica = Some((ri, url.clone()));
        }
        if phase == Phase::Profiling {
            let k = request_num.saturating_sub(self.profiling_first);
            ex.cancel_after = self.cancellation.as_ref().and_then(|c| c.chosen(k));
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut cancel = self.ctl.on_cancel();
        let failure = if *cancel.borrow() {
            None
        } else {
            tokio::select! {
                biased;
                f = client.send(&mut ex, std::mem::take(&mut out.body)) => Some(f),
                _ = cancel.wait_for(|c| *c) => None,
            }
        };
        match failure {
            None => mark_cancelled(&mut ex),
            Some(Failure::None) => self.any_success.store(true, Ordering::Relaxed),
            Some(Failure::Unreachable) if !self.any_success.load(Ordering::Relaxed) => {
                let why = ex.error.as_ref().map(|e| e.message.clone()).unwrap_or_default();
                let hint = if why.contains("certificate") {
                    "the server's certificate is not trusted: pass its CA with --ca-cert FILE"
                } else {
                    "is the server running? check --url"
                };
                self.ctl
                    .fail(anyhow!("cannot reach {url}{}: {why} ({hint})", self.endpoint));
            }
            Some(_) => {}
        }
        let lag = ex
            .start
            .saturating_duration_since(due.scheduled.unwrap_or(due.ready));
        let refused = ex.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Connection);
        // AIPerf keeps the content received; the reasoning only when there is no content.
        let reply = (out.want_reply && ex.error.is_none() && !ex.content.is_empty()).then(|| {
            if ex.output.text.is_empty() {
                ex.output.reasoning.clone()
            } else {
                ex.output.text.clone()
            }
        });
        // Never blocks: the writer drains the queue every 2 ms.
        let _ = self.tx.send(Finished {
            ex,
            lag,
            worker: self.worker,
        });
        Sent { refused, reply }
    }

    /// The exchange record of a request about to be sent.
    fn start_exchange(&self, request_num: u64, phase: Phase, out: &mut Outgoing) -> Exchange {
        let mut ex = Exchange::new(
            request_num,
            client::request_id(self.nonce, request_num),
            out.conversation.clone(),
            phase,
            out.isl,
        );
        ex.turn_index = out.turn_index;
        ex.correlation_id = out.correlation.take();
        ex.isl_payload = out.isl_payload.take();
        ex.num_images = image_parts(&out.body);
        ex.audio_seconds = out.audio_seconds;
        if let Some(n) = out.max_tokens {
            // One stamp per token plus slack: no regrowth while streaming.
            ex.content.reserve(n.min(65_536) as usize + 2);
            ex.output.text.reserve((n.min(65_536) as usize) * 8);
        }
        ex
    }

    /// After a refused connection: waits [`REFUSED_BACKOFF`]; false when the run stops first.
    pub async fn back_off(&self) -> bool {
        let mut stop = self.ctl.on_stop();
        tokio::select! {
            _ = tokio::time::sleep(REFUSED_BACKOFF) => true,
            _ = stop.wait_for(|s| *s) => false,
        }
    }
}

/// A request abandoned in flight (the run stopped): AIPerf's cancelled record.
fn mark_cancelled(ex: &mut Exchange) {
    ex.cancelled = true;
    ex.end = Instant::now();
    ex.error = Some(ErrorDetails {
        code: Some(499),
        kind: ErrorKind::RequestCancellation,
        message: format!(
            "request was cancelled after {:.3} seconds (still running when the run stopped)",
            (ex.end - ex.start).as_secs_f64()
        ),
    });
}
