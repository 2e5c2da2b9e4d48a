//! Response bodies: a whole buffer, or an SSE stream that waits for a decode slot and then sends
//! each token when it is due. Tokens already due when the connection asks for more go out together
//! in one write; the rest wait for the timer thread (sub-millisecond) at absolute deadlines.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use rand::rngs::SmallRng;

use super::engine::{Engine, Slot, Waiting};
use super::faults::{Fault, FaultKind};
use super::protocol::Endpoint;
use super::record::RequestRecord;
use super::tokens::{self, OutputPlan};
use super::wire::Template;
use crate::io::timer::timer_thread;

pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body the server sends.
pub enum MockBody {
    Full(Option<Bytes>),
    Sse(Box<SseStream>),
}

impl MockBody {
    pub fn full(b: impl Into<Bytes>) -> MockBody {
        MockBody::Full(Some(b.into()))
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            MockBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Sse(s) => s.poll(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            MockBody::Full(None) => SizeHint::with_exact(0),
            MockBody::Sse(_) => SizeHint::default(),
        }
    }
}

enum Phase {
    Queued(Waiting),
    Running(Slot),
    Stalled(#[allow(dead_code)] Slot),
    Done,
}

/// What a stream needs to know about its request.
pub struct StreamSpec {
    pub endpoint: Endpoint,
    pub id: String,
    pub template: Template,
    pub plan: OutputPlan,
    pub include_usage: bool,
    pub prompt_tokens: u32,
    pub answer_seed: u64,
    pub fault: Fault,
    pub rng: SmallRng,
    pub arrival: Instant,
    pub client_request_id: Option<String>,
    /// Prompt tokens the prefix cache served (None: no cache): they skip the prefill cost.
    pub cached_tokens: Option<u32>,
    /// The body as received, kept only with `--record-request-bodies`.
    pub request_body: Option<Bytes>,
    /// The images and audio the request carried (for `--record`).
    pub media: Option<super::media::MediaSeen>,
    /// `--slow-requests`: extra first-token delay, ns.
    pub slow_ns: u64,
}

/// One streaming response.
pub struct SseStream {
    eng: Arc<Engine>,
    s: StreamSpec,
    phase: Phase,
    /// The deadline the timer thread will wake this stream at.
    armed: Option<Instant>,
    due: Instant,
    sent: u32,
    last_sent: Option<Instant>,
    admitted: Option<Instant>,
    first: Option<Instant>,
    buf: BytesMut,
    /// (due, sent) per token, kept only with `--record`.
    trace: Option<(Vec<Instant>, Vec<Instant>)>,
    outcome: &'static str,
    finished: bool,
    flushed_before_fault: bool,
}

impl SseStream {
    pub fn new(eng: Arc<Engine>, s: StreamSpec, waiting: super::engine::Admission) -> SseStream {
        let trace = eng.recorder.as_ref().map(|_| {
            (
                Vec::with_capacity(s.plan.tokens as usize),
                Vec::with_capacity(s.plan.tokens as usize),
            )
        });
        let arrival = s.arrival;
        let mut me = SseStream {
            eng,
            s,
            phase: Phase::Done,
            armed: None,
            due: arrival,
            sent: 0,
            last_sent: None,
            admitted: None,
            first: None,
            buf: BytesMut::with_capacity(4096),
            trace,
            outcome: "ok",
            finished: false,
            flushed_before_fault: false,
        };
        match waiting {
            super::engine::Admission::Now(slot) => me.admit(slot),
            super::engine::Admission::Wait(w) => me.phase = Phase::Queued(w),
        }
        me
    }

    fn admit(&mut self, mut slot: Slot) {
        let now = Instant::now();
        self.admitted = Some(now);
        slot.add_kv(self.s.prompt_tokens as u64);
        self.eng
            .metrics
            .prompt_tokens
            .fetch_add(self.s.prompt_tokens as u64, Relaxed);
        self.due = now
            + Duration::from_nanos(
                self.eng.model.first_token_ns(
                    self.s.prompt_tokens - self.s.cached_tokens.unwrap_or(0).min(self.s.prompt_tokens),
                    &mut self.s.rng,
                ) + self.s.slow_ns,
            );
        self.phase = Phase::Running(slot);
        // Flavours that open with metadata events send them now, before prefill.
        self.s.template.preamble(&mut self.buf);
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.phase {
            Phase::Done => return Poll::Ready(None),
            Phase::Stalled(_) => return Poll::Pending,
            Phase::Queued(w) => {
                let slot = ready!(Pin::new(w).poll(cx));
                self.admit(slot);
            }
            Phase::Running(_) => {}
        }
        let now = Instant::now();
        if self.due > now && !self.buf.is_empty() && self.sent == 0 {
            return Poll::Ready(Some(Ok(Frame::data(self.buf.split().freeze()))));
        }
        if self.due > now {
            // Woken by the timer thread at (never before) the deadline; re-arm only for a new one.
            if self.armed != Some(self.due) {
                self.armed = Some(self.due);
                timer_thread().wake_at(self.due, cx.waker().clone());
            }
            return Poll::Pending;
        }
        self.emit(now, cx)
    }

    /// Writes every token due by `now` (and the end of the stream once all are out).
    fn emit(&mut self, now: Instant, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let n = self.s.plan.tokens;
        let mut count = 0u64;
        while self.sent < n && self.due <= now {
            match self.s.fault {
                Fault::Disconnect(k) | Fault::Stall(k) if k == self.sent => {
                    if !self.buf.is_empty() {
                        break; // send what is due first; the fault hits on a later poll
                    }
                    if !self.flushed_before_fault {
                        // Yield once so the connection flushes what it holds (headers, tokens)
                        // before the cut: a real server dies mid-stream, not before it.
                        self.flushed_before_fault = true;
                        self.account(count);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    self.account(count);
                    return self.fault_now(now);
                }
                Fault::Malformed(k) if k == self.sent => {
                    self.s.template.malformed(&mut self.buf);
                    self.eng.metrics.fault(FaultKind::Malformed);
                    self.outcome = "malformed";
                    self.s.fault = Fault::None;
                }
                _ => {}
            }
            if self.sent == 0 {
                self.s.template.role(&mut self.buf);
                self.first = Some(now);
                self.eng
                    .metrics
                    .ttft
                    .observe_ns((now - self.s.arrival).as_nanos() as u64);
            }
            self.sent += 1;
            self.s.template.token(
                &mut self.buf,
                tokens::word(self.s.answer_seed, self.sent - 1),
                self.sent,
                self.sent == n,
            );
            if let Some((due, sent)) = &mut self.trace {
                due.push(self.due);
                sent.push(now);
            }
            if let Some(last) = self.last_sent {
                self.eng.metrics.itl.observe_ns((now - last).as_nanos() as u64);
            }
            self.last_sent = Some(now);
            count += 1;
            if self.sent < n {
                let running = self.eng.running();
                self.due += Duration::from_nanos(self.eng.model.itl_ns(running, &mut self.s.rng));
            }
        }
        self.account(count);
        if self.sent == n {
            self.s
                .template
                .finish(&mut self.buf, self.s.plan.finish_reason, n, self.s.include_usage);
            let m = &self.eng.metrics;
            match self.s.plan.finish_reason {
                "length" => m.success_length.fetch_add(1, Relaxed),
                _ => m.success_stop.fetch_add(1, Relaxed),
            };
            m.e2e.observe_ns((now - self.s.arrival).as_nanos() as u64);
            self.phase = Phase::Done; // frees the slot
            self.finished = true;
            self.record(now, 200);
        }
        Poll::Ready(Some(Ok(Frame::data(self.buf.split().freeze()))))
    }

    fn account(&mut self, count: u64) {
        if count > 0 {
            self.eng.metrics.generation_tokens.fetch_add(count, Relaxed);
            if let Phase::Running(slot) = &mut self.phase {
                slot.add_kv(count);
            }
        }
    }

    fn fault_now(&mut self, now: Instant) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.finished = true;
        match self.s.fault {
            Fault::Stall(_) => {
                self.eng.metrics.fault(FaultKind::Stall);
                self.outcome = "stall";
                self.record(now, 200);
                if let Phase::Running(slot) = phase {
                    self.phase = Phase::Stalled(slot);
                }
                // Never woken again: the connection is held until the client or the server ends it.
                Poll::Pending
            }
            _ => {
                self.eng.metrics.fault(FaultKind::Disconnect);
                self.outcome = "disconnect";
                self.record(now, 200);
                Poll::Ready(Some(Err("mock-llm: injected disconnect".into())))
            }
        }
    }

    fn record(&mut self, end: Instant, status: u16) {
        let Some(rec) = &self.eng.recorder else { return };
        let c = &self.eng.clock;
        let (due, sent) = self.trace.take().unwrap_or_default();
        rec.write(&RequestRecord {
            request_id: std::mem::take(&mut self.s.id),
            client_request_id: self.s.client_request_id.take(),
            endpoint: super::wire::route_of(self.s.endpoint).name,
            stream: true,
            status,
            outcome: self.outcome,
            prompt_tokens: self.s.prompt_tokens,
            completion_tokens: self.sent,
            arrival_ns: c.wall_ns(self.s.arrival),
            admitted_ns: self.admitted.map(|t| c.wall_ns(t)),
            first_token_ns: self.first.map(|t| c.wall_ns(t)),
            token_due_ns: due.into_iter().map(|t| c.wall_ns(t)).collect(),
            token_sent_ns: sent.into_iter().map(|t| c.wall_ns(t)).collect(),
            end_ns: c.wall_ns(end),
            cached_tokens: self.s.cached_tokens,
            disconnected_ns: (self.outcome == "client_disconnect").then(|| c.wall_ns(end)),
            request_body: super::record::body_value(self.s.request_body.take().as_ref()),
            media: self.s.media.take(),
        });
    }
}

impl Drop for SseStream {
    fn drop(&mut self) {
        if !self.finished {
            self.eng.metrics.aborted.fetch_add(1, Relaxed);
            self.outcome = "client_disconnect";
            self.record(Instant::now(), 200);
        }
    }
}
