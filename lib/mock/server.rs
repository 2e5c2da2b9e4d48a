//! The HTTP side: a hyper 1 HTTP/1.1 server (TCP_NODELAY on every socket, one runtime worker per
//! core), routing, authentication and the non-streaming handlers.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::SmallRng;

use super::capacity::request_rng;
use super::engine::Engine;
use super::faults::{Fault, FaultKind};
use super::metrics::render_dcgm;
use super::protocol::{self, error_body, json_str, Endpoint, Generate};
use super::record::RequestRecord;
use super::stream::{MockBody, SseStream, StreamSpec};
use super::tokens::{self, plan_output, OutputPlan};
use super::wire::{self, rankings, Head};
use super::AuthHeader;
use super::Options;
use crate::io::outcome::Outcome;

/// Largest request body accepted (413 beyond).
const MAX_BODY: usize = 64 << 20;
/// How long in-flight responses may take to finish after SIGTERM/Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves until SIGTERM/Ctrl-C. Prints `{"listening":"HOST:PORT"}` on stdout once bound (the
/// address is the server's output, for scripts). What its user should read while it serves
/// (serving on…, accept errors, stopped, `--realtime` refused) goes to `notify`, one message at a
/// time; `bins/mock-llm` prints each as `mock-llm: <message>` on stderr.
pub fn run(opts: Options, notify: &dyn Fn(&str)) -> anyhow::Result<Outcome> {
    opts.validate().map_err(anyhow::Error::msg)?;
    raise_fd_limit();
    crate::io::interrupt::install();
    let workers = if opts.workers == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
    } else {
        opts.workers
    };
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(workers).enable_all();
    if opts.realtime {
        match crate::io::timer::make_thread_realtime() {
            Ok(()) => {
                crate::io::timer::set_realtime(true);
                b.on_thread_start(|| {
                    let _ = crate::io::timer::make_thread_realtime();
                });
            }
            Err(e) => notify(&format!(
                "--realtime: cannot use SCHED_FIFO ({e}; needs root or CAP_SYS_NICE): running at normal priority"
            )),
        }
    }
    let rt = b.build()?;
    let eng = Arc::new(Engine::new(opts)?);
    let res = rt.block_on(serve(eng.clone(), notify));
    rt.shutdown_timeout(Duration::from_millis(100));
    if let Some(r) = &eng.recorder {
        r.close()?;
    }
    res.map(|_| Outcome::Ok)
}

async fn serve(eng: Arc<Engine>, notify: &dyn Fn(&str)) -> anyhow::Result<()> {
    let o = &eng.opts;
    let addr = format!("{}:{}", o.host, o.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: pick another --port or --host"))?;
    let local: SocketAddr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{{\"listening\":\"{local}\"}}")?;
        out.flush()?;
    }
    notify(&format!(
        "serving {} on http://{local} (ttft {} ms, itl {} ms, max batch {})",
        o.served_model_name,
        o.ttft_ms,
        o.itl_ms,
        if o.max_batch == 0 {
            "unlimited".to_string()
        } else {
            o.max_batch.to_string()
        }
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        crate::io::interrupt::wait().await;
        let _ = stop_tx.send(true);
    });
    let conns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut stop = stop_rx.clone();
    loop {
        let (sock, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly, keep serving.
                    notify(&format!("accept: {e}"));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = sock.set_nodelay(true);
        let eng = eng.clone();
        let mut stop = stop_rx.clone();
        let conns = conns.clone();
        conns.fetch_add(1, Relaxed);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(eng.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(sock), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
                }
            }
            conns.fetch_sub(1, Relaxed);
        });
    }
    drop(listener);
    let deadline = Instant::now() + SHUTDOWN_GRACE + Duration::from_millis(100);
    while conns.load(Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    notify("stopped");
    Ok(())
}

type Resp = Response<MockBody>;

fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(MockBody::full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Why a request is refused for its API key under `mode`, or None when it carries the key in an
/// accepted header.
fn unauthorized(h: &hyper::HeaderMap, key: &str, mode: AuthHeader) -> Option<&'static str> {
    let bearer = || {
        h.get(AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    };
    let x_api_key = || h.get("x-api-key").map(|v| v.as_bytes());
    let (sent, refusal) = match mode {
        AuthHeader::Any => (
            bearer().or_else(x_api_key),
            "missing or wrong API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>') with the key given to --api-key",
        ),
        AuthHeader::Bearer => (
            bearer(),
            "missing or wrong API key: send 'Authorization: Bearer <key>' (this server takes no other header: --auth-header bearer)",
        ),
        AuthHeader::XApiKey => (
            x_api_key(),
            "missing or wrong API key: send 'x-api-key: <key>' (this server takes no other header: --auth-header x-api-key)",
        ),
    };
    (sent != Some(key.as_bytes())).then_some(refusal)
}

fn error_response(eng: &Engine, status: StatusCode, message: &str, kind: &str) -> Resp {
    if status.is_client_error() {
        eng.metrics.rejected.fetch_add(1, Relaxed);
    }
    json_response(status, error_body(message, kind, status.as_u16()))
}

fn text_response(body: String, content_type: &'static str) -> Resp {
    let mut r = Response::new(MockBody::full(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// The paths mock-llm serves besides the generation flavours' routes (`wire::paths`).
const OTHER_PATHS: [&str; 8] = [
    "/v1/embeddings",
    "/v2/rerank",
    "/rerank",
    "/v1/models",
    "/version",
    "/health",
    "/metrics",
    "/dcgm/metrics",
];

/// The route of a POST path.
fn post_route(path: &str) -> Option<Route> {
    if let Some((r, _)) = wire::route(path) {
        return Some(Route::Generate(r.endpoint));
    }
    Some(match path {
        "/v1/embeddings" => Route::Embeddings,
        "/v2/rerank" => Route::Rerank(rankings::Api::Cohere),
        "/rerank" => Route::Rerank(rankings::Api::Tei),
        _ => return None,
    })
}

/// `--basic-auth USER:PASSWORD`: the 401 for a request without exactly those Basic credentials.
fn basic_auth_refusal(eng: &Engine, headers: &hyper::HeaderMap) -> Option<Resp> {
    let pair = eng.opts.basic_auth.as_ref()?;
    let (user, pass) = pair.split_once(':').unwrap_or((pair, ""));
    let want = crate::io::basic_auth::for_pair(user.as_bytes(), pass.as_bytes());
    if headers
        .get(AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == want.as_bytes())
    {
        return None;
    }
    Some(error_response(
        eng,
        StatusCode::UNAUTHORIZED,
        "missing or wrong Basic credentials: send the --basic-auth USER:PASSWORD (e.g. in the URL, http://USER:PASSWORD@host)",
        "authentication_error",
    ))
}

async fn handle(eng: Arc<Engine>, req: Request<Incoming>) -> Result<Resp, super::stream::BodyError> {
    let route = match resolve_route(&eng, req.method(), req.uri().path()) {
        Ok(r) => r,
        Err(answer) => return Ok(*answer),
    };
    if let Some(refused) = auth_refusal(&eng, req.headers()) {
        return Ok(refused);
    }
    if let Route::Models = route {
        return Ok(models(&eng));
    }
    let client_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect::<String>());
    let body = match read_body(&eng, req.into_body()).await? {
        Ok(b) => b,
        Err(too_large) => return Ok(too_large),
    };
    let arr = Arrival {
        at: Instant::now(),
        client_id,
        body: eng.opts.record_request_bodies.then(|| body.clone()),
        media: None,
    };
    dispatch(eng, route, body, arr).await
}

/// Which route serves the request; `Err` is the whole answer when it needs no auth check or
/// body (health, version, the metrics pages, 405 on a known path, 404 otherwise).
fn resolve_route(eng: &Engine, method: &Method, path: &str) -> Result<Route, Box<Resp>> {
    let post = (method == Method::POST).then(|| post_route(path)).flatten();
    let answer = match (post, method, path) {
        (Some(r), _, _) => return Ok(r),
        (None, &Method::GET, "/v1/models") => return Ok(Route::Models),
        (None, &Method::GET, "/health") => Response::new(MockBody::full(Bytes::new())),
        (None, &Method::GET, "/version") => version(),
        (None, &Method::GET, "/metrics") => text_response(
            eng.metrics.render(eng.load(), &eng.opts.served_model_name),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        (None, &Method::GET, "/dcgm/metrics") => text_response(
            render_dcgm(eng.load(), eng.energy_mj()),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        (None, _, p) if wire::paths().chain(OTHER_PATHS).any(|q| q == p) => {
            let msg = format!("method {method} is not allowed on {path}");
            error_response(eng, StatusCode::METHOD_NOT_ALLOWED, &msg, "invalid_request_error")
        }
        _ => {
            let all: Vec<&str> = wire::paths().chain(OTHER_PATHS).collect();
            let msg = format!("no route {path}: mock-llm serves {}", all.join(", "));
            error_response(eng, StatusCode::NOT_FOUND, &msg, "not_found_error")
        }
    };
    Err(Box::new(answer))
}

/// The 401 for a request without the `--api-key` or `--basic-auth` credentials, if any.
fn auth_refusal(eng: &Engine, headers: &hyper::HeaderMap) -> Option<Resp> {
    if let Some(key) = &eng.opts.api_key {
        if let Some(refusal) = unauthorized(headers, key, eng.opts.auth_header) {
            return Some(error_response(
                eng,
                StatusCode::UNAUTHORIZED,
                refusal,
                "authentication_error",
            ));
        }
    }
    basic_auth_refusal(eng, headers)
}

/// The whole body, up to `MAX_BODY`; over it, `Ok(Err(413))`: an answer, not a broken connection.
async fn read_body(eng: &Engine, body: Incoming) -> Result<Result<Bytes, Resp>, super::stream::BodyError> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => Ok(Ok(b.to_bytes())),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                return Ok(Err(error_response(
                    eng,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body over 64 MiB",
                    "invalid_request_error",
                )));
            }
            Err(e)
        }
    }
}

/// Parses the body for its route and serves it; a body that does not parse gets a 400.
async fn dispatch(
    eng: Arc<Engine>,
    route: Route,
    body: Bytes,
    arr: Arrival,
) -> Result<Resp, super::stream::BodyError> {
    match route {
        Route::Generate(ep) => match wire::flavour(ep).parse(ep, &body) {
            Ok(mut g) => {
                if ep == Endpoint::Chat {
                    if let Some(n) = eng.chat_prompt_tokens(&body) {
                        g.prompt.tokens = n; // the media's tokens stay on top
                    }
                }
                generate(eng, g, arr).await
            }
            Err(e) => Ok(error_response(
                &eng,
                StatusCode::BAD_REQUEST,
                &e.0,
                "BadRequestError",
            )),
        },
        Route::Embeddings => match protocol::parse_embeddings(&body) {
            Ok((model, items)) => Ok(embeddings(eng, model, items, arr).await),
            Err(e) => Ok(error_response(
                &eng,
                StatusCode::BAD_REQUEST,
                &e.0,
                "BadRequestError",
            )),
        },
        Route::Rerank(api) => match rankings::parse(api, &body) {
            Ok(r) => Ok(rerank(eng, api, r, arr).await),
            Err(e) => Ok(error_response(
                &eng,
                StatusCode::BAD_REQUEST,
                &e.0,
                "BadRequestError",
            )),
        },
        Route::Models => unreachable!(),
    }
}

enum Route {
    Generate(Endpoint),
    Embeddings,
    Rerank(rankings::Api),
    Models,
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `/version` in vLLM's shape: `{"version":"0.32.0"}`.
fn version() -> Resp {
    let body = format!(r#"{{"version":"{}"}}"#, env!("CARGO_PKG_VERSION"));
    json_response(StatusCode::OK, body)
}

fn models(eng: &Engine) -> Resp {
    let name = &eng.served_model_json;
    let body = format!(
        r#"{{"object":"list","data":[{{"id":{name},"object":"model","created":{},"owned_by":"sweepkit","root":{name},"parent":null,"max_model_len":{}}}]}}"#,
        unix_secs(),
        eng.opts.max_model_len
    );
    json_response(StatusCode::OK, body)
}

/// When a request's body was fully read, and the client's `X-Request-Id` (kept for `--record`).
struct Arrival {
    at: Instant,
    client_id: Option<String>,
    /// The body, kept only with `--record-request-bodies`.
    body: Option<Bytes>,
    /// The images and audio the request carried.
    media: Option<super::media::MediaSeen>,
}

/// One generation, decided before its first token: its id, how long its answer is, which fault it
/// gets, and its own random stream (all from the seed and the request's arrival number).
struct Planned {
    id: String,
    model_json: String,
    prompt_tokens: u32,
    /// Prompt tokens the prefix cache served (None: no cache).
    cached_tokens: Option<u32>,
    plan: OutputPlan,
    fault: Fault,
    answer_seed: u64,
    rng: SmallRng,
    /// `--slow-requests`: extra first-token delay, ns.
    slow_ns: u64,
}

impl Planned {
    fn new(eng: &Engine, g: &Generate) -> Planned {
        let seq = eng.next_seq();
        let mut rng = request_rng(eng.opts.seed, seq);
        let plan = plan_output(
            g.max_tokens,
            g.min_tokens,
            g.ignore_eos,
            eng.opts.default_max_tokens,
            g.prompt.hash ^ eng.opts.seed,
        );
        let fault = eng.opts.faults.draw(&mut rng, plan.tokens);
        Planned {
            id: eng.request_id(wire::route_of(g.endpoint).id_prefix, seq),
            model_json: match &g.model {
                Some(m) => json_str(m),
                None => eng.served_model_json.clone(),
            },
            prompt_tokens: g.prompt.prompt_tokens(),
            cached_tokens: eng.prefix_cached(&g.prompt.token_hashes),
            plan,
            fault,
            answer_seed: tokens::answer_seed(eng.opts.seed, g.prompt.hash),
            rng,
            slow_ns: slow_ns(eng, seq),
        }
    }
}

/// `--slow-requests`' extra first-token delay of arrival `seq` (counted as a `slow` fault).
fn slow_ns(eng: &Engine, seq: u64) -> u64 {
    let ns = eng.opts.slow.extra_ns(seq);
    if ns > 0 {
        eng.metrics.fault(FaultKind::Slow);
    }
    ns
}

async fn generate(
    eng: Arc<Engine>,
    mut g: Generate,
    mut arr: Arrival,
) -> Result<Resp, super::stream::BodyError> {
    arr.media = g.media.take();
    if let Some(msg) = context_overflow(eng.opts.max_model_len, g.prompt.prompt_tokens(), g.max_tokens) {
        return Ok(error_response(
            &eng,
            StatusCode::BAD_REQUEST,
            &msg,
            "BadRequestError",
        ));
    }
    let p = Planned::new(&eng, &g);
    if p.fault == Fault::Error {
        return Ok(injected_error(&eng, &g, p, &arr));
    }
    if g.stream {
        return Ok(stream_response(eng, &g, p, arr));
    }
    whole_response(eng, &g, p, arr).await
}

/// `--error-rate`: answer `--error-status` at once, with an OpenAI-style error body.
fn injected_error(eng: &Engine, g: &Generate, p: Planned, arr: &Arrival) -> Resp {
    eng.metrics.fault(FaultKind::Error);
    let status =
        StatusCode::from_u16(eng.opts.faults.error_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    record_simple(
        eng,
        p.id,
        wire::route_of(g.endpoint).name,
        g.stream,
        status.as_u16(),
        "error",
        p.prompt_tokens,
        0,
        arr,
        None,
    );
    json_response(
        status,
        error_body(
            "injected fault (--error-rate)",
            error_type(status),
            status.as_u16(),
        ),
    )
}

/// Streaming: the SSE body waits for a slot and paces its own tokens.
fn stream_response(eng: Arc<Engine>, g: &Generate, p: Planned, arr: Arrival) -> Resp {
    let mut h = head(g, &p);
    h.reasoning_tokens = eng.opts.reasoning_tokens;
    h.spec_decode_tokens = eng.opts.spec_decode_tokens;
    let template = wire::flavour(g.endpoint).template(&h);
    let admission = eng.acquire();
    let spec = StreamSpec {
        endpoint: g.endpoint,
        id: p.id,
        template,
        plan: p.plan,
        include_usage: g.include_usage,
        prompt_tokens: p.prompt_tokens,
        answer_seed: p.answer_seed,
        fault: p.fault,
        rng: p.rng,
        arrival: arr.at,
        client_request_id: arr.client_id,
        cached_tokens: p.cached_tokens,
        request_body: arr.body,
        media: arr.media,
        slow_ns: p.slow_ns,
    };
    let mut r = Response::new(MockBody::Sse(Box::new(SseStream::new(eng, spec, admission))));
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// How a response of `g`, planned as `p`, renders.
fn head<'a>(g: &Generate, p: &'a Planned) -> Head<'a> {
    Head {
        endpoint: g.endpoint,
        id: &p.id,
        created: unix_secs(),
        model_json: &p.model_json,
        continuous_usage: g.continuous_usage,
        prompt_tokens: p.prompt_tokens,
        cached_tokens: p.cached_tokens,
        finish_reason: p.plan.finish_reason,
        reasoning_tokens: 0,
        spec_decode_tokens: 0,
    }
}

/// Non-streaming: hold a slot for the whole generation, answer at the end.
async fn whole_response(
    eng: Arc<Engine>,
    g: &Generate,
    mut p: Planned,
    arr: Arrival,
) -> Result<Resp, super::stream::BodyError> {
    let (arrival, prompt_tokens, plan) = (arr.at, p.prompt_tokens, p.plan);
    let mut slot = eng.acquire().slot().await;
    let admitted = Instant::now();
    slot.add_kv(prompt_tokens as u64);
    eng.metrics.prompt_tokens.fetch_add(prompt_tokens as u64, Relaxed);
    let computed = prompt_tokens - p.cached_tokens.unwrap_or(0).min(prompt_tokens);
    let mut end = admitted + Duration::from_nanos(eng.model.first_token_ns(computed, &mut p.rng) + p.slow_ns);
    let first = end;
    let running = eng.running();
    for _ in 1..plan.tokens {
        end += Duration::from_nanos(eng.model.itl_ns(running, &mut p.rng));
    }
    let record = |id: String, status: u16, outcome: &'static str, completion_tokens: u32| {
        record_simple(
            &eng,
            id,
            wire::route_of(g.endpoint).name,
            false,
            status,
            outcome,
            prompt_tokens,
            completion_tokens,
            &arr,
            Some(admitted),
        )
    };
    // Dropped with the handler when hyper sees the client close the connection first.
    let mut left = ClientLeft {
        eng: &eng,
        id: Some(p.id.clone()),
        endpoint: wire::route_of(g.endpoint).name,
        prompt_tokens,
        arr: &arr,
        admitted,
    };
    match p.fault {
        Fault::Disconnect(_) => {
            left.id = None;
            crate::io::timer::sleep_until(first).await;
            eng.metrics.fault(FaultKind::Disconnect);
            record(p.id, 0, "disconnect", 0);
            return Err("mock-llm: injected disconnect".into());
        }
        Fault::Stall(_) => {
            left.id = None;
            eng.metrics.fault(FaultKind::Stall);
            record(p.id.clone(), 0, "stall", 0);
            std::future::pending::<()>().await;
        }
        _ => {}
    }
    crate::io::timer::sleep_until(end).await;
    left.id = None;
    let mut text = String::with_capacity(plan.tokens as usize * 7);
    for i in 0..plan.tokens {
        text.push_str(tokens::word(p.answer_seed, i));
    }
    let mut h = head(g, &p);
    h.spec_decode_tokens = eng.opts.spec_decode_tokens;
    let mut body = wire::flavour(g.endpoint).render_full(&h, &text, plan.tokens, g.include_usage);
    let mut outcome = "ok";
    if let Fault::Malformed(_) = p.fault {
        eng.metrics.fault(FaultKind::Malformed);
        body.truncate(body.len() / 2);
        outcome = "malformed";
    }
    let now = Instant::now();
    let m = &eng.metrics;
    m.generation_tokens.fetch_add(plan.tokens as u64, Relaxed);
    m.ttft
        .observe_ns((first.max(admitted) - arrival).as_nanos() as u64);
    match plan.finish_reason {
        "length" => m.success_length.fetch_add(1, Relaxed),
        _ => m.success_stop.fetch_add(1, Relaxed),
    };
    m.e2e.observe_ns((now - arrival).as_nanos() as u64);
    drop(slot);
    record(p.id, 200, outcome, plan.tokens);
    Ok(json_response(StatusCode::OK, body.freeze()))
}

/// A non-streaming request whose client may leave before the answer: if the handler is dropped
/// while `id` is set, the request is counted as aborted and recorded as `client_disconnect`.
struct ClientLeft<'a> {
    eng: &'a Engine,
    id: Option<String>,
    endpoint: &'static str,
    prompt_tokens: u32,
    arr: &'a Arrival,
    admitted: Instant,
}

impl Drop for ClientLeft<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        self.eng.metrics.aborted.fetch_add(1, Relaxed);
        if let Some(r) = &self.eng.recorder {
            let c = &self.eng.clock;
            let now = c.now_ns();
            r.write(&RequestRecord {
                request_id: id,
                client_request_id: self.arr.client_id.clone(),
                endpoint: self.endpoint,
                stream: false,
                status: 0,
                outcome: "client_disconnect",
                prompt_tokens: self.prompt_tokens,
                completion_tokens: 0,
                arrival_ns: c.wall_ns(self.arr.at),
                admitted_ns: Some(c.wall_ns(self.admitted)),
                first_token_ns: None,
                token_due_ns: Vec::new(),
                token_sent_ns: Vec::new(),
                end_ns: now,
                cached_tokens: None,
                disconnected_ns: Some(now),
                request_body: super::record::body_value(self.arr.body.as_ref()),
                media: self.arr.media.clone(),
            });
        }
    }
}

/// vLLM's context-length check: the prompt plus the requested budget must fit `--max-model-len`.
fn context_overflow(max_model_len: u32, prompt: u32, max_tokens: Option<u32>) -> Option<String> {
    let asked = prompt as u64 + max_tokens.unwrap_or(0) as u64;
    (asked > max_model_len as u64).then(|| {
        format!(
            "This model's maximum context length is {max_model_len} tokens. However, you requested {asked} tokens \
             ({prompt} in the messages, {} in the completion). Please reduce the length of the messages or completion.",
            max_tokens.unwrap_or(0)
        )
    })
}

/// OpenAI-style error type for an injected status.
fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "AuthenticationError",
        404 => "NotFoundError",
        429 => "RateLimitError",
        503 => "ServiceUnavailableError",
        400..=499 => "BadRequestError",
        _ => "InternalServerError",
    }
}

#[allow(clippy::too_many_arguments)]
fn record_simple(
    eng: &Engine,
    id: String,
    endpoint: &'static str,
    stream: bool,
    status: u16,
    outcome: &'static str,
    prompt_tokens: u32,
    completion_tokens: u32,
    arr: &Arrival,
    admitted: Option<Instant>,
) {
    if let Some(r) = &eng.recorder {
        let c = &eng.clock;
        r.write(&RequestRecord {
            request_id: id,
            client_request_id: arr.client_id.clone(),
            endpoint,
            stream,
            status,
            outcome,
            prompt_tokens,
            completion_tokens,
            arrival_ns: c.wall_ns(arr.at),
            admitted_ns: admitted.map(|t| c.wall_ns(t)),
            first_token_ns: None,
            token_due_ns: Vec::new(),
            token_sent_ns: Vec::new(),
            end_ns: c.now_ns(),
            cached_tokens: None,
            disconnected_ns: None,
            request_body: super::record::body_value(arr.body.as_ref()),
            media: arr.media.clone(),
        });
    }
}

/// Deterministic unit-length embeddings; each input costs one prefill (`--ttft-ms` +
/// `--prefill-ms-per-token` × tokens) in a decode slot.
async fn embeddings(
    eng: Arc<Engine>,
    model: Option<String>,
    items: Vec<tokens::PromptStats>,
    arr: Arrival,
) -> Resp {
    let arrival = arr.at;
    let total: u32 = items.iter().map(|p| p.prompt_tokens()).sum();
    let (seq, admitted) = prefill(&eng, total).await;
    let dim = eng.opts.embedding_dim;
    let model_json = model
        .map(|m| json_str(&m))
        .unwrap_or_else(|| eng.served_model_json.clone());
    let mut buf = BytesMut::with_capacity(64 + items.len() * dim * 11);
    buf.put_slice(br#"{"object":"list","data":["#);
    let mut v = vec![0f64; dim];
    for (i, p) in items.iter().enumerate() {
        let seed = tokens::answer_seed(eng.opts.seed, p.hash);
        let mut norm = 0.0;
        for (j, x) in v.iter_mut().enumerate() {
            *x = (tokens::mix64(seed.wrapping_add(j as u64)) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            norm += *x * *x;
        }
        let norm = norm.sqrt().max(1e-12);
        if i > 0 {
            buf.put_u8(b',');
        }
        let _ = std::fmt::Write::write_fmt(
            &mut buf,
            format_args!(r#"{{"object":"embedding","index":{i},"embedding":["#),
        );
        for (j, x) in v.iter().enumerate() {
            if j > 0 {
                buf.put_u8(b',');
            }
            let _ = std::fmt::Write::write_fmt(&mut buf, format_args!("{:.6}", x / norm));
        }
        buf.put_slice(b"]}");
    }
    let id = eng.request_id("embd", seq);
    let _ = std::fmt::Write::write_fmt(
        &mut buf,
        format_args!(
            r#"],"id":"{id}","model":{model_json},"usage":{{"prompt_tokens":{total},"total_tokens":{total}}}}}"#
        ),
    );
    record_simple(
        &eng,
        id,
        "embeddings",
        false,
        200,
        "ok",
        total,
        0,
        &arr,
        Some(admitted),
    );
    eng.metrics.e2e.observe_ns(arrival.elapsed().as_nanos() as u64);
    json_response(StatusCode::OK, buf.freeze())
}

/// One prefill of `total` tokens in a decode slot (embeddings, rankings), waiting for a slot as
/// generations do: returns when it is done, with the request's number and admission time.
async fn prefill(eng: &Arc<Engine>, total: u32) -> (u64, Instant) {
    let seq = eng.next_seq();
    let mut rng = request_rng(eng.opts.seed, seq);
    let mut slot = eng.acquire().slot().await;
    let admitted = Instant::now();
    slot.add_kv(total as u64);
    eng.metrics.prompt_tokens.fetch_add(total as u64, Relaxed);
    let extra = slow_ns(eng, seq);
    crate::io::timer::sleep_until(
        admitted + Duration::from_nanos(eng.model.first_token_ns(total, &mut rng) + extra),
    )
    .await;
    drop(slot);
    (seq, admitted)
}

/// Rankings (`/v2/rerank`, `/rerank`): the query and documents cost one prefill, then the scores.
async fn rerank(eng: Arc<Engine>, api: rankings::Api, r: rankings::Rerank, arr: Arrival) -> Resp {
    let total = r.tokens();
    let (seq, admitted) = prefill(&eng, total).await;
    let id = eng.request_id("rerank", seq);
    let model_json = r
        .model
        .as_deref()
        .map(json_str)
        .unwrap_or_else(|| eng.served_model_json.clone());
    let body = rankings::render(api, &r, eng.opts.seed, &id, &model_json);
    record_simple(
        &eng,
        id,
        "rankings",
        false,
        200,
        "ok",
        total,
        0,
        &arr,
        Some(admitted),
    );
    eng.metrics.e2e.observe_ns(arr.at.elapsed().as_nanos() as u64);
    json_response(StatusCode::OK, body.freeze())
}

/// Lifts the soft open-files limit to the hard one: 10,000 idle streams need the descriptors.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}
