//! The HTTP client: one shared keep-alive pool for the whole run (sized to the concurrency), and
//! one request's exchange with the server, stamped as it happens.
//!
//! Every network chunk is stamped with `Instant::now()` the moment `chunk()` hands it over, before
//! any parsing. Failures never escape as errors: they are written into the [`Exchange`] (HTTP
//! status, timeout, refused/reset connection, a stream cut short, malformed SSE or JSON) and
//! become error records.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use crate::contract::records::{ErrorDetails, ErrorKind, Phase};

use tokio::sync::oneshot;

use crate::loadgen::http::cancel;
use crate::loadgen::http::h1::{self, H1Error};
use crate::loadgen::http::rx_stamp::{RxLog, RxStamp};
use crate::loadgen::http::sse::SseParser;
use crate::loadgen::openai::{server_error_type, BodyError, Output};
use crate::loadgen::options::{EndpointType, HttpClient, Options};
use crate::loadgen::wire;

/// Everything observed about one request.
#[derive(Debug)]
pub struct Exchange {
    /// The request's number in the run (AIPerf's `session_num` in the record's metadata).
    pub request_num: u64,
    pub x_request_id: String,
    pub conversation_id: Arc<str>,
    pub phase: Phase,
    /// Input tokens of the prompt (client tokenizer).
    pub isl: u64,
    /// When the schedule meant to send it (open-loop and capped runs).
    pub scheduled: Option<Instant>,
    /// Just before the request was handed to the connection pool.
    pub start: Instant,
    /// Response headers received.
    pub ack: Option<Instant>,
    /// Last byte, error or cancellation.
    pub end: Instant,
    /// Arrival stamps of the responses that carried output (AIPerf's content responses): the
    /// kernel's receive stamps on plain http where it gives them ([`crate::loadgen::http::rx_stamp`]).
    pub content: Vec<Instant>,
    /// The user-space stamps beside `content` (plain http only).
    pub rx: RxLog,
    /// Which `--url` replica served it (index and base URL), when there are several.
    pub replica: Option<(u32, Arc<str>)>,
    pub output: Output,
    pub status: Option<u16>,
    pub error: Option<ErrorDetails>,
    pub cancelled: bool,
    /// `--request-cancellation-delay` for a request chosen to be cut (None: runs to its end).
    pub cancel_after: Option<Duration>,
    /// 0-based turn of its conversation (AIPerf's `turn_index`).
    pub turn_index: u32,
    /// The session it belongs to (AIPerf's `x_correlation_id`; sent as `X-Correlation-ID` and
    /// `X-Session-Affinity`); None for a single request, whose correlation id is its request id.
    pub correlation_id: Option<Arc<str>>,
    /// A later turn's body (its whole history): the writer thread counts its ISL, off the event
    /// loop (its input texts joined with spaces, or its messages through the chat template).
    pub isl_payload: Option<serde_json::Map<String, serde_json::Value>>,
    /// Images in the request body (its history's included), as AIPerf counts them from the payload.
    pub num_images: u32,
    /// Seconds of the sent turn's first audio clip (AIPerf's `audio_duration_seconds`).
    pub audio_seconds: Option<f64>,
}

impl Exchange {
    pub fn new(
        request_num: u64,
        x_request_id: String,
        conversation_id: Arc<str>,
        phase: Phase,
        isl: u64,
    ) -> Exchange {
        let now = Instant::now();
        Exchange {
            request_num,
            x_request_id,
            conversation_id,
            phase,
            isl,
            scheduled: None,
            start: now,
            ack: None,
            end: now,
            content: Vec::new(),
            rx: RxLog::default(),
            replica: None,
            output: Output::default(),
            status: None,
            error: None,
            cancelled: false,
            cancel_after: None,
            turn_index: 0,
            correlation_id: None,
            isl_payload: None,
            num_images: 0,
            audio_seconds: None,
        }
    }

    /// `--request-cancellation-rate`: turns a request cut `delay` after it was written (at `at`)
    /// into AIPerf's cancelled record; partial output is discarded.
    pub fn mark_cancelled(&mut self, delay: Duration, at: Instant) {
        self.cancelled = true;
        self.end = at;
        self.ack = None;
        self.status = None;
        self.content.clear();
        self.output = Output::default();
        self.error = Some(ErrorDetails {
            code: Some(499),
            kind: ErrorKind::RequestCancellation,
            message: format!("Request cancelled {:.3}s after being sent", delay.as_secs_f64()),
        });
    }

    fn fail(&mut self, code: Option<i64>, kind: ErrorKind, message: String) {
        if self.error.is_none() {
            let message = crate::io::redact::text(&message); // a record is an artifact: no URL secrets
            self.error = Some(ErrorDetails { code, kind, message });
        }
    }
}

/// How a request went wrong at the transport level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    None,
    /// Could not connect at all (refused, no route): the server is unreachable.
    Unreachable,
    Other,
}

enum Transport {
    /// Plain http: the minimal keep-alive client, with the request head preformatted.
    H1 {
        pool: h1::Pool,
        prefix: Vec<u8>,
        addr: String,
    },
    /// https: reqwest with rustls (ring).
    Reqwest(reqwest::Client),
}

pub struct Client {
    transport: Transport,
    url: reqwest::Url,
    kind: EndpointType,
    streaming: bool,
    timeout: Duration,
}

impl Client {
    /// One pool for the run; `pool` = the most connections kept alive (the concurrency).
    pub fn new(opts: &Options, pool: usize) -> anyhow::Result<Client> {
        Client::at(opts, &opts.url, pool)
    }

    /// A client of the server at `base` (one of the `--url` replicas).
    pub fn at(opts: &Options, base: &str, pool: usize) -> anyhow::Result<Client> {
        let url_text = format!("{base}{}", opts.endpoint);
        let url =
            reqwest::Url::parse(&url_text).map_err(|e| anyhow!("--url {base}: not a valid URL: {e}"))?;
        // reqwest builds its TLS config even for plain http: the provider must exist first.
        crate::io::tls::install_provider();
        let headers = Client::request_headers(opts, &url)?;
        let transport = if url.scheme() == "http" && opts.io.http_client == HttpClient::Builtin {
            Client::builtin_transport(base, &url, &headers, pool)?
        } else {
            Client::reqwest_transport(opts, headers, pool)?
        };
        Ok(Client {
            transport,
            url,
            kind: opts.endpoint_type,
            streaming: opts.streaming,
            timeout: crate::contract::seconds::duration(opts.request_timeout_seconds),
        })
    }

    /// The headers every request carries: content type, the flavour's own, the API key, the
    /// URL's Basic credentials and `--header`s; secrets are marked sensitive so they never print.
    fn request_headers(opts: &Options, url: &reqwest::Url) -> anyhow::Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let flavour = wire::flavour(opts.endpoint_type);
        for (name, value) in flavour.headers() {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        if let Some(key) = &opts.io.api_key {
            let (name, value) = flavour.auth_header(key);
            let name = HeaderName::from_static(name);
            let mut v = HeaderValue::from_str(&value)
                .map_err(|_| anyhow!("--api-key: contains characters not allowed in an HTTP header"))?;
            v.set_sensitive(true);
            headers.insert(name, v);
        }
        if let Some(mut v) =
            crate::io::basic_auth::header_value(url).and_then(|v| HeaderValue::from_str(&v).ok())
        {
            v.set_sensitive(true); // the URL's user:password, as reqwest sends it
            headers.insert(AUTHORIZATION, v);
        }
        for (k, v) in &opts.io.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| anyhow!("--header {k}: not a valid header name"))?;
            let mut value = HeaderValue::from_str(v)
                .map_err(|_| anyhow!("--header {k}: value has characters not allowed in a header"))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        Ok(headers)
    }

    /// Plain http with the built-in client: resolves the address once (IPv4 first) and
    /// preformats the request head with `headers`.
    fn builtin_transport(
        base: &str,
        url: &reqwest::Url,
        headers: &HeaderMap,
        pool: usize,
    ) -> anyhow::Result<Transport> {
        crate::loadgen::http::rx_stamp::keep_on();
        let host = url.host_str().ok_or_else(|| anyhow!("--url {base}: no host"))?;
        let addrs = url
            .socket_addrs(|| Some(80))
            .map_err(|e| anyhow!("--url {base}: cannot resolve {host}: {e}"))?;
        let addr = *addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .ok_or_else(|| anyhow!("--url {base}: {host} resolves to no address"))?;
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let mut prefix =
            format!("POST {path} HTTP/1.1\r\nhost: {host_header}\r\naccept: */*\r\n").into_bytes();
        for (name, value) in headers.iter() {
            prefix.extend_from_slice(name.as_str().as_bytes());
            prefix.extend_from_slice(b": ");
            prefix.extend_from_slice(value.as_bytes());
            prefix.extend_from_slice(b"\r\n");
        }
        Ok(Transport::H1 {
            pool: h1::Pool::new(addr, pool.max(1)),
            prefix,
            addr: addr.to_string(),
        })
    }

    /// https (or `--http-client reqwest`): reqwest with `--ca-cert`'s roots, `headers` as defaults
    /// and a connect timeout no longer than the request timeout.
    fn reqwest_transport(opts: &Options, headers: HeaderMap, pool: usize) -> anyhow::Result<Transport> {
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &opts.io.ca_cert {
            let pem =
                std::fs::read(path).map_err(|e| anyhow!("--ca-cert {}: cannot read: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| anyhow!("--ca-cert {}: not a PEM certificate bundle: {e}", path.display()))?;
            if certs.is_empty() {
                anyhow::bail!(
                    "--ca-cert {}: no certificate in the file (expected PEM)",
                    path.display()
                );
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .no_proxy()
            .default_headers(headers)
            .pool_max_idle_per_host(pool.max(1))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .connect_timeout(
                Duration::from_secs(10).min(crate::contract::seconds::duration(opts.request_timeout_seconds)),
            )
            .build()
            .map_err(|e| anyhow!("cannot build the HTTP client: {e}"))?;
        Ok(Transport::Reqwest(http))
    }

    /// The API flavour it speaks.
    pub fn kind(&self) -> EndpointType {
        self.kind
    }

    /// Sends one request and records what happened into `ex` (also when the future is dropped
    /// half-way: what was seen so far stays in `ex`). A request with `cancel_after` is cut that
    /// long after it was written, closing its connection.
    pub async fn send(&self, ex: &mut Exchange, body: Bytes) -> Failure {
        let Some(delay) = ex.cancel_after else {
            return self.send_once(ex, body, None).await;
        };
        let (tx, rx) = cancel::written_signal();
        let out = cancel::race(self.send_once(ex, body, Some(tx)), cancel::cut_after(rx, delay)).await;
        match out {
            Some(f) => f,
            None => {
                ex.mark_cancelled(delay, Instant::now());
                Failure::Other
            }
        }
    }

    /// One request; `written` learns when its body was handed to the socket (reqwest: when it
    /// is handed to reqwest, which has no later hook).
    async fn send_once(
        &self,
        ex: &mut Exchange,
        body: Bytes,
        written: Option<oneshot::Sender<Instant>>,
    ) -> Failure {
        let http = match &self.transport {
            Transport::H1 { pool, prefix, addr } => {
                return self.send_h1(ex, &body, pool, prefix, addr, written).await
            }
            Transport::Reqwest(http) => http,
        };
        let mut req = http
            .post(self.url.clone())
            .header("x-request-id", ex.x_request_id.as_str());
        if let Some(c) = &ex.correlation_id {
            req = req
                .header("x-correlation-id", c.as_ref())
                .header("x-session-affinity", c.as_ref());
        }
        let req = req.timeout(self.timeout).body(body);
        ex.start = Instant::now();
        if let Some(tx) = written {
            let _ = tx.send(ex.start);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                ex.end = Instant::now();
                let unreachable = e.is_connect();
                let (kind, msg) = classify(&e, self.timeout);
                ex.fail(None, kind, msg);
                return if unreachable {
                    Failure::Unreachable
                } else {
                    Failure::Other
                };
            }
        };
        let mut resp = resp;
        ex.ack = Some(Instant::now());
        let status = resp.status();
        ex.status = Some(status.as_u16());
        if !status.is_success() {
            let mut body = Vec::new();
            while let Ok(Some(c)) = resp.chunk().await {
                if body.len() < 4096 {
                    body.extend_from_slice(&c);
                }
            }
            ex.end = Instant::now();
            let kind = server_error_type(&body)
                .or_else(|| status.canonical_reason().map(str::to_string))
                .map_or(ErrorKind::Http, |name| ErrorKind::from_name(&name));
            let text = String::from_utf8_lossy(&body[..body.len().min(1000)])
                .trim()
                .to_string();
            ex.fail(
                Some(status.as_u16() as i64),
                kind,
                if text.is_empty() {
                    format!("HTTP {status}")
                } else {
                    text
                },
            );
            return Failure::Other;
        }
        if self.streaming {
            self.read_stream(ex, &mut resp).await
        } else {
            self.read_whole(ex, &mut resp).await
        }
    }

    async fn read_stream(&self, ex: &mut Exchange, resp: &mut reqwest::Response) -> Failure {
        let mut parser = SseParser::new();
        let mut last = ex.ack.unwrap_or(ex.start);
        loop {
            match resp.chunk().await {
                Ok(Some(bytes)) => {
                    last = Instant::now();
                    let (content, output) = (&mut ex.content, &mut ex.output);
                    if let Err(e) =
                        parser.feed(&bytes, last, |t, d| take_event(self.kind, content, output, t, d))
                    {
                        ex.end = Instant::now();
                        ex.fail(ex.status.map(i64::from), e.kind, e.message);
                        return Failure::Other;
                    }
                }
                Ok(None) => return finish_stream(ex, &mut parser, last, self.kind),
                Err(e) => {
                    let after = format!("after {} content chunks", ex.content.len());
                    return body_cut(ex, &e, self.timeout, after);
                }
            }
        }
    }

    async fn read_whole(&self, ex: &mut Exchange, resp: &mut reqwest::Response) -> Failure {
        let mut body: Vec<u8> = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    let after = format!("body cut after {} bytes", body.len());
                    return body_cut(ex, &e, self.timeout, after);
                }
            }
        }
        finish_whole(ex, &body, Instant::now(), self.kind)
    }
}

/// Takes one SSE event into the exchange: output text, and a content stamp if it carried output.
fn take_event(
    kind: EndpointType,
    content: &mut Vec<Instant>,
    output: &mut Output,
    at: Instant,
    data: &[u8],
) -> Result<(), BodyError> {
    let p = wire::flavour(kind).stream_event(output, data)?;
    if p.content || p.reasoning {
        content.push(at);
    }
    Ok(())
}

/// The response body failed part-way (https path): a timeout, else a cut stream.
fn body_cut(ex: &mut Exchange, e: &reqwest::Error, timeout: Duration, after: String) -> Failure {
    ex.end = Instant::now();
    let (kind, msg) = classify(e, timeout);
    let kind = if kind == ErrorKind::Timeout {
        kind
    } else {
        ErrorKind::StreamCut
    };
    ex.fail(ex.status.map(i64::from), kind, format!("{msg} ({after})"));
    Failure::Other
}

/// A non-streaming body arrived whole at `end`: parse it (its content counts as one response).
fn finish_whole(ex: &mut Exchange, body: &[u8], end: Instant, kind: EndpointType) -> Failure {
    ex.end = end;
    match wire::flavour(kind).whole_body(&mut ex.output, body) {
        Ok(p) => {
            if p.content || p.reasoning {
                ex.content.push(end);
            }
            Failure::None
        }
        Err(e) => {
            ex.fail(ex.status.map(i64::from), e.kind, e.message);
            Failure::Other
        }
    }
}

/// The stream ended cleanly: flush a trailing event and check it really finished.
fn finish_stream(ex: &mut Exchange, parser: &mut SseParser, at: Instant, kind: EndpointType) -> Failure {
    ex.end = at;
    let (content, output) = (&mut ex.content, &mut ex.output);
    if let Err(e) = parser.finish(at, |t, d| take_event(kind, content, output, t, d)) {
        ex.fail(ex.status.map(i64::from), e.kind, e.message);
        return Failure::Other;
    }
    if !ex.output.done && !ex.output.finished {
        ex.fail(
            ex.status.map(i64::from),
            ErrorKind::StreamCut,
            format!(
                "the stream ended after {} content chunks without {}",
                ex.content.len(),
                wire::flavour(kind).stream_end()
            ),
        );
        return Failure::Other;
    }
    Failure::None
}

fn h1_fail(ex: &mut Exchange, e: H1Error, addr: &str) -> Failure {
    ex.end = Instant::now();
    let code = ex.status.map(i64::from);
    match e {
        H1Error::Connect(e) => {
            ex.fail(
                None,
                ErrorKind::Connection,
                format!("cannot connect to {addr}: {e}"),
            );
            return Failure::Unreachable;
        }
        H1Error::Cut(m) if ex.status.is_some() => ex.fail(
            code,
            ErrorKind::StreamCut,
            format!("{m} (after {} content chunks)", ex.content.len()),
        ),
        H1Error::Cut(m) => ex.fail(None, ErrorKind::ConnectionReset, m),
        H1Error::Protocol(m) => ex.fail(code, ErrorKind::Protocol, m),
    }
    Failure::Other
}

impl Client {
    async fn send_h1(
        &self,
        ex: &mut Exchange,
        body: &[u8],
        pool: &h1::Pool,
        prefix: &[u8],
        addr: &str,
        written: Option<oneshot::Sender<Instant>>,
    ) -> Failure {
        let mut req = Vec::with_capacity(prefix.len() + 96 + body.len());
        req.extend_from_slice(prefix);
        req.extend_from_slice(b"x-request-id: ");
        req.extend_from_slice(ex.x_request_id.as_bytes());
        if let Some(c) = &ex.correlation_id {
            // AIPerf's session headers: the session id, and the affinity hint routers use.
            for name in [&b"\r\nx-correlation-id: "[..], b"\r\nx-session-affinity: "] {
                req.extend_from_slice(name);
                req.extend_from_slice(c.as_bytes());
            }
        }
        req.extend_from_slice(b"\r\ncontent-length: ");
        push_decimal(&mut req, body.len());
        req.extend_from_slice(b"\r\n\r\n");
        req.extend_from_slice(body);
        ex.start = Instant::now();
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.h1_exchange(ex, &req, pool, addr, written)).await {
            Ok(f) => f,
            Err(_) => {
                ex.end = Instant::now();
                ex.fail(
                    ex.status.map(i64::from),
                    ErrorKind::Timeout,
                    format!(
                        "no complete response within --request-timeout-seconds {} (after {} content chunks)",
                        timeout.as_secs_f64(),
                        ex.content.len()
                    ),
                );
                Failure::Other
            }
        }
    }

    async fn h1_exchange(
        &self,
        ex: &mut Exchange,
        req: &[u8],
        pool: &h1::Pool,
        addr: &str,
        written: Option<oneshot::Sender<Instant>>,
    ) -> Failure {
        let (conn, head, at, first) = match pool.send_signalled(req, written).await {
            Ok(x) => x,
            Err(e) => return h1_fail(ex, e, addr),
        };
        ex.ack = Some(at.at);
        ex.status = Some(head.status);
        if !(200..300).contains(&head.status) {
            let (body, end) = match h1::collect_body(pool, conn, &head, first, at, 4096).await {
                Ok(x) => x,
                Err(_) => (Vec::new(), RxStamp::now()),
            };
            ex.end = end.at.max(at.at);
            let kind = server_error_type(&body)
                .or_else(|| (!head.reason.is_empty()).then(|| head.reason.clone()))
                .map_or(ErrorKind::Http, |name| ErrorKind::from_name(&name));
            let text = String::from_utf8_lossy(&body[..body.len().min(1000)])
                .trim()
                .to_string();
            ex.fail(
                Some(head.status as i64),
                kind,
                if text.is_empty() {
                    format!("HTTP {}", head.status)
                } else {
                    text
                },
            );
            return Failure::Other;
        }
        if self.streaming {
            let kind = self.kind;
            let mut parser = SseParser::new();
            let mut last = at.at;
            let (content, output, rx) = (&mut ex.content, &mut ex.output, &mut ex.rx);
            let r = pool
                .read_body(conn, &head, first, at, |t, bytes| {
                    last = t.at;
                    let before = content.len();
                    let r = parser.feed(bytes, t.at, |t2, d| take_event(kind, content, output, t2, d));
                    rx.note(t, content.len() - before);
                    r
                })
                .await;
            match r {
                Err(e) => h1_fail(ex, e, addr),
                Ok(Err(e)) => {
                    ex.end = Instant::now();
                    ex.fail(ex.status.map(i64::from), e.kind, e.message);
                    Failure::Other
                }
                Ok(Ok(())) => finish_stream(ex, &mut parser, last, kind),
            }
        } else {
            let (body, end) = match h1::collect_body(pool, conn, &head, first, at, usize::MAX).await {
                Ok(x) => x,
                Err(e) => return h1_fail(ex, e, addr),
            };
            let f = finish_whole(ex, &body, end.at, self.kind);
            ex.rx.note(end, ex.content.len());
            f
        }
    }
}

/// Appends `n` in decimal, without a temporary String.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Error type and message of a transport error, with its cause chain.
fn classify(e: &reqwest::Error, timeout: Duration) -> (ErrorKind, String) {
    let mut msg = String::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if e.is_timeout() {
        return (
            ErrorKind::Timeout,
            format!(
                "no complete response within --request-timeout-seconds {}",
                timeout.as_secs_f64()
            ),
        );
    }
    if msg.is_empty() {
        msg = e.to_string();
    }
    let kind = if e.is_connect() {
        ErrorKind::Connection
    } else if msg.contains("reset")
        || msg.contains("closed")
        || msg.contains("incomplete")
        || msg.contains("EOF")
    {
        ErrorKind::ConnectionReset
    } else {
        ErrorKind::Request
    };
    (kind, msg)
}

/// A unique request id in UUID form (version 4 layout), from the run's nonce and the request index.
pub fn request_id(nonce: u64, index: u64) -> String {
    let a = crate::loadgen::splitmix::mix(nonce, index);
    let b = crate::loadgen::splitmix::mix(a, 0xA5A5);
    // 128 bits: a, then b with the version and variant nibbles set.
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0xc000 << 48)) | (0x8000 << 48);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut k = 0;
    for (i, nib) in (0..32)
        .map(|i| {
            if i < 16 {
                (a >> (60 - 4 * i)) & 0xf
            } else {
                (b >> (60 - 4 * (i - 16))) & 0xf
            }
        })
        .enumerate()
    {
        if matches!(i, 8 | 12 | 16 | 20) {
            out[k] = b'-';
            k += 1;
        }
        out[k] = HEX[nib as usize];
        k += 1;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0usize, 7, 10, 65_536, usize::MAX] {
            let mut v = Vec::new();
            push_decimal(&mut v, n);
            assert_eq!(String::from_utf8(v).unwrap(), n.to_string());
        }
    }

    #[test]
    fn request_ids_are_unique_uuids() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|i| request_id(42, i)).collect();
        assert_eq!(ids.len(), 10_000);
        let id = request_id(1, 2);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!([8, 13, 18, 23].map(|i| &id[i..i + 1]), ["-"; 4]);
    }

    #[test]
    fn a_cut_record_reads_as_aiperfs() {
        let mut ex = Exchange::new(
            0,
            "id".into(),
            "c".into(),
            crate::contract::records::Phase::Profiling,
            5,
        );
        ex.content.push(Instant::now());
        ex.ack = Some(Instant::now());
        let start = ex.start;
        let at = start + Duration::from_millis(250);
        ex.mark_cancelled(Duration::from_millis(250), at);
        let e = ex.error.as_ref().unwrap();
        assert_eq!(
            (e.code, e.kind.clone()),
            (Some(499), ErrorKind::RequestCancellation)
        );
        assert_eq!(e.message, "Request cancelled 0.250s after being sent");
        assert!(ex.cancelled && ex.content.is_empty() && ex.ack.is_none());
        assert_eq!((ex.start, ex.end), (start, at));
    }
}
