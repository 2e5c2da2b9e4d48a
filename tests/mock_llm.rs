//! mock-llm end to end: a real server on port 0, raw HTTP/1.1 over std TcpStream, real SSE parsed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::MockServer;

/// A response: status, lower-cased headers, de-chunked body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// SSE `data:` payloads in order.
    fn events(&self) -> Vec<String> {
        let text = std::str::from_utf8(&self.body).unwrap();
        assert!(text.ends_with("\n\n"), "SSE stream ends with a blank line");
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("event without data: {e:?}"))
                    .to_string()
            })
            .collect()
    }
}

fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("head not utf8"))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let nl = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("cut chunk size"))?;
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .map_err(|_| bad("chunk size"))?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            if rest.len() < size + 2 {
                return Err(bad("cut chunk"));
            }
            body.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body
    } else {
        rest.to_vec()
    };
    Ok(Resp {
        status,
        headers,
        body,
    })
}

fn post(addr: &str, path: &str, body: &str) -> Resp {
    request(addr, "POST", path, body, &[]).unwrap()
}

fn get(addr: &str, path: &str) -> Resp {
    request(addr, "GET", path, "", &[]).unwrap()
}

const FAST: &[&str] = &["--ttft-ms", "0", "--itl-ms", "0"];

#[test]
fn streaming_chat_has_the_vllm_shape() {
    let m = MockServer::start(FAST);
    let r = post(
        &m.addr,
        "/v1/chat/completions",
        r#"{"model":"my-model","messages":[{"role":"user","content":"hi there friend"}],"max_tokens":5,"stream":true,"stream_options":{"include_usage":true}}"#,
    );
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/event-stream"));
    let ev = r.events();
    // role chunk + 5 tokens + finish + usage + [DONE]
    assert_eq!(ev.len(), 9, "{ev:#?}");
    assert_eq!(ev[8], "[DONE]");
    let chunks: Vec<Value> = ev[..8].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-"));
    for c in &chunks {
        assert_eq!(c["id"], id);
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], "my-model");
        assert!(c["created"].as_u64().unwrap() > 1_700_000_000);
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        serde_json::json!({"role":"assistant","content":""})
    );
    assert_eq!(chunks[0]["choices"][0]["finish_reason"], Value::Null);
    let mut text = String::new();
    for c in &chunks[1..6] {
        let d = &c["choices"][0]["delta"];
        let t = d["content"].as_str().unwrap();
        assert!(t.starts_with(' ') && t.len() > 1, "one word per chunk: {t:?}");
        assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
        assert!(c.get("usage").is_none());
        text.push_str(t);
    }
    assert_eq!(chunks[6]["choices"][0]["delta"], serde_json::json!({}));
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[7]["choices"], serde_json::json!([]));
    // "hi there friend": 1 + 2 + 2 prompt tokens under the ceil(chars/4) rule.
    assert_eq!(chunks[7]["usage"]["prompt_tokens"], 5);
    assert_eq!(chunks[7]["usage"]["completion_tokens"], 5);
    assert_eq!(chunks[7]["usage"]["total_tokens"], 10);
    // Deterministic text for the same prompt and seed.
    let again = post(
        &m.addr,
        "/v1/chat/completions",
        r#"{"model":"my-model","messages":[{"role":"user","content":"hi there friend"}],"max_tokens":5}"#,
    );
    assert_eq!(again.json()["choices"][0]["message"]["content"], text);
}

#[test]
fn non_streaming_bodies_carry_usage() {
    let m = MockServer::start(FAST);
    let r = post(
        &m.addr,
        "/v1/chat/completions",
        r#"{"messages":[{"role":"user","content":"abcdefgh"}],"max_completion_tokens":7,"max_tokens":99}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "mock-llm");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        content.split(' ').filter(|w| !w.is_empty()).count(),
        7,
        "max_completion_tokens wins over max_tokens"
    );
    assert_eq!(
        v["usage"],
        serde_json::json!({"prompt_tokens":2,"total_tokens":9,"completion_tokens":7,"prompt_tokens_details":null})
    );

    let r = post(
        &m.addr,
        "/v1/completions",
        r#"{"model":"x","prompt":"one two three","max_tokens":3}"#,
    );
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(
        v["choices"][0]["text"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        3
    );
    assert_eq!(v["usage"]["prompt_tokens"], 4); // 1 + 1 + ceil(5/4)
    assert_eq!(v["usage"]["completion_tokens"], 3);
}

#[test]
fn health_and_models() {
    let m = MockServer::start(&["--served-model-name", "tiny", "--realtime"]);
    let h = get(&m.addr, "/health");
    assert_eq!(h.status, 200);
    let v = get(&m.addr, "/v1/models").json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "tiny");
    assert_eq!(v["data"][0]["object"], "model");
    let nf = get(&m.addr, "/nope");
    assert_eq!(nf.status, 404);
    assert_eq!(nf.json()["error"]["code"], 404);
}

/// Raw bytes of one response, read until EOF, error or `timeout`; `true` when it timed out.
fn request_raw(addr: &str, path: &str, body: &str, timeout: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (raw, false),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (raw, true)
            }
            Err(_) => return (raw, false),
        }
    }
}

/// `name{labels} value` lines of a Prometheus text body → value of the first line starting with `prefix`.
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no metric {prefix} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn chat_body(max_tokens: u32, stream: bool) -> String {
    format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"count the words here"}}],"max_tokens":{max_tokens},"stream":{stream}}}"#
    )
}

#[test]
fn streaming_completions_with_continuous_usage() {
    let m = MockServer::start(FAST);
    let r = post(
        &m.addr,
        "/v1/completions",
        r#"{"model":"m","prompt":"abcd efgh","max_tokens":4,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}"#,
    );
    assert_eq!(r.status, 200);
    let ev = r.events();
    // 4 tokens + finish + usage + [DONE]; completions have no role chunk
    assert_eq!(ev.len(), 7, "{ev:#?}");
    let chunks: Vec<Value> = ev[..6].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    for (i, c) in chunks[..4].iter().enumerate() {
        assert_eq!(c["object"], "text_completion");
        assert!(c["id"].as_str().unwrap().starts_with("cmpl-"));
        assert!(c["choices"][0]["text"].as_str().unwrap().starts_with(' '));
        assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(c["usage"]["prompt_tokens"], 2);
        assert_eq!(
            c["usage"]["completion_tokens"],
            i as u64 + 1,
            "continuous usage counts tokens so far"
        );
        assert_eq!(c["usage"]["total_tokens"], i as u64 + 3);
    }
    assert_eq!(chunks[4]["choices"][0]["text"], "");
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[4]["usage"]["completion_tokens"], 4);
    assert_eq!(chunks[5]["choices"], serde_json::json!([]));
    assert_eq!(chunks[5]["usage"]["completion_tokens"], 4);
    assert_eq!(ev[6], "[DONE]");

    // Without include_usage a chat stream carries no usage at all.
    let r = post(&m.addr, "/v1/chat/completions", &chat_body(3, true));
    let ev = r.events();
    assert_eq!(ev.len(), 6); // role + 3 + finish + [DONE]
    assert!(ev.iter().all(|e| !e.contains("usage")));
}

#[test]
fn output_length_follows_max_min_tokens_and_ignore_eos() {
    let m = MockServer::start(FAST);
    let count = |body: &str| -> (u64, String, usize) {
        let r = post(&m.addr, "/v1/chat/completions", body);
        let ev = r.events();
        let tokens = ev.iter().filter(|e| e.contains(r#""delta":{"content""#)).count();
        let finish: Value = serde_json::from_str(&ev[ev.len() - 3]).unwrap();
        let usage: Value = serde_json::from_str(&ev[ev.len() - 2]).unwrap();
        (
            usage["usage"]["completion_tokens"].as_u64().unwrap(),
            finish["choices"][0]["finish_reason"]
                .as_str()
                .unwrap()
                .to_string(),
            tokens,
        )
    };
    let su = r#""stream":true,"stream_options":{"include_usage":true}"#;
    let mk = |i: usize, extra: &str| {
        format!(r#"{{"messages":[{{"role":"user","content":"prompt {i}"}}],{su},{extra}}}"#)
    };
    // A budget is honoured exactly by default and with ignore_eos: true.
    assert_eq!(count(&mk(0, r#""max_tokens":33"#)), (33, "length".into(), 33));
    assert_eq!(
        count(&mk(0, r#""max_completion_tokens":12,"ignore_eos":true"#)),
        (12, "length".into(), 12)
    );
    // ignore_eos: false stops naturally between min_tokens and the budget.
    let mut stopped_early = 0;
    for i in 0..20 {
        let (n, reason, chunks) = count(&mk(i, r#""max_tokens":40,"min_tokens":10,"ignore_eos":false"#));
        assert!((10..=40).contains(&n), "{n}");
        assert_eq!(n as usize, chunks, "usage matches the chunks sent");
        assert_eq!(reason == "length", n == 40);
        stopped_early += (reason == "stop") as usize;
    }
    assert!(stopped_early > 10);
    // No budget: a natural stop within --default-max-tokens (16).
    for i in 0..10 {
        let (n, _, _) = count(&mk(i, r#""min_tokens":2"#));
        assert!((2..=16).contains(&n), "{n}");
    }
}

#[test]
fn malformed_requests_get_400_with_a_clear_json_error() {
    let m = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0", "--max-model-len", "100"]);
    for (path, body, needle) in [
        ("/v1/chat/completions", "{not json", "invalid JSON request body"),
        (
            "/v1/chat/completions",
            r#"{"model":"m"}"#,
            "'messages' is required",
        ),
        (
            "/v1/chat/completions",
            r#"{"messages":"hi","stream":true}"#,
            "invalid JSON request body",
        ),
        (
            "/v1/chat/completions",
            r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":0,"stream":true}"#,
            "'max_tokens' must be at least 1",
        ),
        (
            "/v1/completions",
            r#"{"prompt":"x","max_tokens":3,"min_tokens":5}"#,
            "'min_tokens'",
        ),
        ("/v1/completions", r#"{"max_tokens":3}"#, "'prompt' is required"),
        (
            "/v1/completions",
            r#"{"prompt":"x","stream_options":{"include_usage":true}}"#,
            "'stream_options'",
        ),
        ("/v1/embeddings", r#"{"input":[]}"#, "'input'"),
    ] {
        let r = post(&m.addr, path, body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "plain JSON even when streaming was asked"
        );
        let v = r.json();
        assert_eq!(v["error"]["code"], 400);
        assert_eq!(v["error"]["type"], "BadRequestError");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let r = request(&m.addr, "GET", "/v1/chat/completions", "", &[]).unwrap();
    assert_eq!(r.status, 405);
    // Context overflow, as vLLM words it (--max-model-len 100 here).
    let r = post(
        &m.addr,
        "/v1/completions",
        r#"{"prompt":"a b c","max_tokens":98,"stream":true}"#,
    );
    assert_eq!(r.status, 400);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("maximum context length is 100 tokens") && msg.contains("requested 101 tokens"),
        "{msg}"
    );
    assert_eq!(
        post(
            &m.addr,
            "/v1/completions",
            r#"{"prompt":"a b c","max_tokens":97}"#
        )
        .status,
        200
    );
    let metrics = String::from_utf8(get(&m.addr, "/metrics").body).unwrap();
    assert_eq!(metric(&metrics, "mock_llm:requests_rejected_total"), 10.0);
}

/// Starts mock-llm with stderr captured to a file; returns (child, addr, stdout, stderr path).
fn spawn_captured(
    args: &[&str],
    dir: &std::path::Path,
) -> (
    std::process::Child,
    String,
    std::process::ChildStdout,
    std::path::PathBuf,
) {
    use std::io::BufRead;
    let err_path = dir.join("stderr.txt");
    let mut child = std::process::Command::new(crate::common::bin("mock-llm"))
        .args(["--port", "0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Read the first line byte by byte so nothing after it is buffered away.
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while stdout.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    let v: Value = serde_json::from_slice(&line).unwrap();
    let _ = std::io::BufReader::new(&[][..]).lines();
    (
        child,
        v["listening"].as_str().unwrap().to_string(),
        stdout,
        err_path,
    )
}

fn sigterm_and_wait(child: &mut std::process::Child) -> std::process::ExitStatus {
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    for _ in 0..400 {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("mock-llm did not stop within 4 s of SIGTERM");
}

#[test]
fn api_key_is_required_and_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _out, err_path) = spawn_captured(
        &["--ttft-ms", "0", "--itl-ms", "0", "--api-key", "s3cret-key"],
        dir.path(),
    );
    let body = chat_body(2, false);
    let none = request(&addr, "POST", "/v1/chat/completions", &body, &[]).unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"]["code"], 401);
    assert!(none.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    let wrong = request(
        &addr,
        "POST",
        "/v1/chat/completions",
        &body,
        &[("Authorization", "Bearer nope")],
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    let models = request(&addr, "GET", "/v1/models", "", &[]).unwrap();
    assert_eq!(models.status, 401);
    let ok = request(
        &addr,
        "POST",
        "/v1/chat/completions",
        &body,
        &[("Authorization", "Bearer s3cret-key")],
    )
    .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(get(&addr, "/health").status, 200);
    assert_eq!(get(&addr, "/metrics").status, 200);
    assert!(sigterm_and_wait(&mut child).success());
    let log = std::fs::read_to_string(err_path).unwrap();
    assert!(!log.contains("s3cret-key"), "the key leaked into the log: {log}");
    let help = crate::common::run("mock-llm", &["--help"]);
    assert!(!String::from_utf8_lossy(&help.stdout).contains("s3cret"));
}

#[test]
fn sigterm_stops_cleanly_and_stdout_holds_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("truth.jsonl");
    let (mut child, addr, mut out, err_path) = spawn_captured(
        &[
            "--ttft-ms",
            "0",
            "--itl-ms",
            "0",
            "--record",
            rec.to_str().unwrap(),
        ],
        dir.path(),
    );
    for _ in 0..5 {
        assert_eq!(
            post(&addr, "/v1/chat/completions", &chat_body(3, true)).status,
            200
        );
    }
    let st = sigterm_and_wait(&mut child);
    assert_eq!(st.code(), Some(0));
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "nothing but the listening line on stdout");
    // The server's own lines reach stderr through the bin, as they always read.
    let log = std::fs::read_to_string(err_path).unwrap();
    assert!(
        log.starts_with(&format!(
            "mock-llm: serving mock-llm on http://{addr} (ttft 0 ms, itl 0 ms, "
        )),
        "{log}"
    );
    assert!(log.ends_with("mock-llm: stopped\n"), "{log}");
    assert_eq!(
        std::fs::read_to_string(&rec).unwrap().lines().count(),
        5,
        "--record flushed on shutdown"
    );
}

#[test]
fn record_is_the_ground_truth_of_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("truth.jsonl");
    // ttft 3 ms + 0.1 ms/token prefill, ITL 2 ms + 0.5 ms per extra running request.
    let args = [
        "--ttft-ms",
        "3",
        "--itl-ms",
        "2",
        "--prefill-ms-per-token",
        "0.1",
        "--itl-per-running-ms",
        "0.5",
        "--record",
        rec.to_str().unwrap(),
    ];
    let (mut child, addr, _out, _) = spawn_captured(&args, dir.path());
    let received: Vec<usize> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    post(&addr, "/v1/chat/completions", &chat_body(6, true))
                        .events()
                        .len()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(received.iter().all(|&n| n == 9)); // role + 6 + finish + [DONE]
    let plain = request(
        &addr,
        "POST",
        "/v1/completions",
        r#"{"prompt":"abc","max_tokens":5}"#,
        &[("X-Request-Id", "client-42")],
    )
    .unwrap();
    assert_eq!(plain.status, 200);
    assert!(sigterm_and_wait(&mut child).success());
    let lines: Vec<Value> = std::fs::read_to_string(&rec)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let mut ids = std::collections::HashSet::new();
    for r in &lines {
        assert!(ids.insert(r["request_id"].as_str().unwrap().to_string()));
        assert_eq!(r["status"], 200);
        assert_eq!(r["outcome"], "ok");
        let arrival = r["arrival_ns"].as_u64().unwrap();
        let admitted = r["admitted_ns"].as_u64().unwrap();
        let end = r["end_ns"].as_u64().unwrap();
        assert!(arrival <= admitted && admitted <= end);
        if r["stream"] == false {
            assert_eq!(
                r["client_request_id"], "client-42",
                "the client's X-Request-Id joins the records"
            );
            assert_eq!(r["endpoint"], "completions");
            assert_eq!(r["completion_tokens"], 5);
            assert_eq!(r["prompt_tokens"], 1);
            // 3 ms + 0.1 ms prefill + 4 gaps of 2 ms (it ran alone): answered no earlier than 11.1 ms.
            assert!(end - admitted >= 11_100_000, "{}", end - admitted);
            continue;
        }
        assert_eq!(r["endpoint"], "chat");
        assert_eq!(r["client_request_id"], Value::Null);
        assert_eq!(r["completion_tokens"], 6);
        assert_eq!(r["prompt_tokens"], 6); // "count the words here" = 2 + 1 + 2 + 1
        let due: Vec<u64> = r["token_due_ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let sent: Vec<u64> = r["token_sent_ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!((due.len(), sent.len()), (6, 6));
        assert_eq!(r["first_token_ns"].as_u64().unwrap(), sent[0]);
        // First token due exactly ttft + prefill after admission.
        assert_eq!(due[0] - admitted, 3_000_000 + 6 * 100_000);
        for i in 0..6 {
            assert!(sent[i] >= due[i], "token {i} sent before it was due");
            if i > 0 {
                // Each gap is the model's: 2 ms + 0.5 ms × (running − 1), running ∈ 1..=4.
                let gap = due[i] - due[i - 1];
                assert!((0..4).any(|k| gap == 2_000_000 + k * 500_000), "gap {gap}");
            }
        }
        assert!(*sent.last().unwrap() <= end);
    }
}

#[test]
fn queueing_beyond_max_batch_shows_in_metrics() {
    let m = MockServer::start(&[
        "--max-batch",
        "1",
        "--ttft-ms",
        "0",
        "--itl-ms",
        "100",
        "--itl-per-running-ms",
        "0",
    ]);
    std::thread::scope(|s| {
        let a = s.spawn(|| post(&m.addr, "/v1/chat/completions", &chat_body(5, true)));
        std::thread::sleep(Duration::from_millis(50));
        let b = s.spawn(|| post(&m.addr, "/v1/chat/completions", &chat_body(5, true)));
        // Poll until the second request is counted (it arrives within ms; the first runs 400 ms).
        let mut seen = (0.0, 0.0);
        for _ in 0..100 {
            let t = String::from_utf8(get(&m.addr, "/metrics").body).unwrap();
            seen = (
                metric(&t, "vllm:num_requests_running"),
                metric(&t, "vllm:num_requests_waiting"),
            );
            if seen == (1.0, 1.0) {
                let kv = metric(&t, "vllm:kv_cache_usage_perc");
                assert!(kv > 0.0 && kv < 1.0);
                let d = String::from_utf8(get(&m.addr, "/dcgm/metrics").body).unwrap();
                assert_eq!(metric(&d, "DCGM_FI_DEV_GPU_UTIL"), 100.0);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            seen,
            (1.0, 1.0),
            "running/waiting while the second request queues"
        );
        assert_eq!(a.join().unwrap().events().len(), 8);
        assert_eq!(b.join().unwrap().events().len(), 8);
    });
    let t = String::from_utf8(get(&m.addr, "/metrics").body).unwrap();
    assert_eq!(metric(&t, "vllm:num_requests_running"), 0.0);
    assert_eq!(metric(&t, "vllm:num_requests_waiting"), 0.0);
    // The queued request's TTFT includes the first one's 400 ms.
    assert_eq!(metric(&t, "vllm:time_to_first_token_seconds_count"), 2.0);
    assert!(metric(&t, "vllm:time_to_first_token_seconds_sum") >= 0.3);
    let d = String::from_utf8(get(&m.addr, "/dcgm/metrics").body).unwrap();
    assert_eq!(metric(&d, "DCGM_FI_DEV_GPU_UTIL"), 0.0);
}

#[test]
fn metrics_use_vllm_names_and_count_exactly() {
    let m = MockServer::start(FAST);
    for i in 0..3 {
        assert_eq!(
            post(&m.addr, "/v1/chat/completions", &chat_body(4 + i, true)).status,
            200
        );
    }
    assert_eq!(
        post(
            &m.addr,
            "/v1/completions",
            r#"{"prompt":"a b c","max_tokens":10}"#
        )
        .status,
        200
    );
    let r = get(&m.addr, "/metrics");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let t = String::from_utf8(r.body).unwrap();
    for name in [
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:inter_token_latency_seconds_bucket",
        "vllm:e2e_request_latency_seconds_bucket",
        "vllm:request_success_total",
    ] {
        assert!(t.contains(&format!("\n{name}{{")), "{name} missing");
    }
    assert!(t.contains("# TYPE vllm:e2e_request_latency_seconds histogram"));
    assert_eq!(metric(&t, "vllm:prompt_tokens_total"), (3 * 6 + 3) as f64);
    assert_eq!(
        metric(&t, "vllm:generation_tokens_total"),
        (4 + 5 + 6 + 10) as f64
    );
    assert_eq!(
        metric(
            &t,
            "vllm:request_success_total{engine=\"0\",model_name=\"mock-llm\",finished_reason=\"length\"}"
        ),
        4.0
    );
    assert_eq!(metric(&t, "vllm:e2e_request_latency_seconds_count"), 4.0);
    assert_eq!(
        metric(
            &t,
            "vllm:e2e_request_latency_seconds_bucket{engine=\"0\",model_name=\"mock-llm\",le=\"+Inf\"}"
        ),
        4.0
    );
    // Streams: one ITL observation per token after the first.
    assert_eq!(
        metric(&t, "vllm:inter_token_latency_seconds_count"),
        (3 + 4 + 5) as f64
    );
    let d = String::from_utf8(get(&m.addr, "/dcgm/metrics").body).unwrap();
    for name in [
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_FB_FREE",
    ] {
        assert!(
            d.contains(&format!("\n{name}{{")) || d.starts_with(&format!("# HELP {name}")),
            "{name} missing"
        );
    }
}

#[test]
fn embeddings_are_deterministic_unit_vectors() {
    let m = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0", "--embedding-dim", "32"]);
    let v = post(
        &m.addr,
        "/v1/embeddings",
        r#"{"model":"e","input":["hello world","hello world","other"]}"#,
    )
    .json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "e");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    let vecs: Vec<Vec<f64>> = data
        .iter()
        .map(|d| {
            d["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(data[2]["index"], 2);
    assert_eq!(vecs[0].len(), 32);
    assert_eq!(vecs[0], vecs[1]);
    assert_ne!(vecs[0], vecs[2]);
    let norm: f64 = vecs[0].iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    assert_eq!(v["usage"]["prompt_tokens"], 2 * 4 + 2);
    assert_eq!(v["usage"]["total_tokens"], 10);
}

#[test]
fn injected_errors_use_the_status_and_a_json_body() {
    let m = MockServer::start(&[
        "--ttft-ms",
        "0",
        "--itl-ms",
        "0",
        "--error-rate",
        "1",
        "--error-status",
        "503",
    ]);
    for stream in [false, true] {
        let r = post(&m.addr, "/v1/chat/completions", &chat_body(4, stream));
        assert_eq!(r.status, 503);
        assert_eq!(r.json()["error"]["code"], 503);
        assert_eq!(r.json()["error"]["type"], "ServiceUnavailableError");
    }
    let t = String::from_utf8(get(&m.addr, "/metrics").body).unwrap();
    assert_eq!(
        metric(
            &t,
            "mock_llm:faults_injected_total{engine=\"0\",model_name=\"mock-llm\",kind=\"error\"}"
        ),
        2.0
    );
    assert_eq!(metric(&t, "vllm:request_success_total"), 0.0);
}

#[test]
fn injected_disconnects_cut_the_stream() {
    let m = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0", "--disconnect-rate", "1"]);
    let mut cut_with_tokens = 0;
    for _ in 0..5 {
        let (raw, timed_out) = request_raw(
            &m.addr,
            "/v1/chat/completions",
            &chat_body(20, true),
            Duration::from_secs(5),
        );
        assert!(!timed_out);
        let text = String::from_utf8_lossy(&raw);
        // Cut before token 0 means before the headers went out: nothing at all.
        assert!(text.is_empty() || text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(
            !text.contains("[DONE]") && !text.ends_with("0\r\n\r\n"),
            "the stream was cut: {text}"
        );
        assert!(text.matches(r#""delta":{"content""#).count() < 20);
        assert!(parse_response(&raw).is_err(), "no terminating chunk");
        cut_with_tokens += text.contains(r#""delta":{"content""#) as usize;
    }
    assert!(cut_with_tokens > 0, "some streams were cut after some tokens");
    let (raw, _) = request_raw(
        &m.addr,
        "/v1/chat/completions",
        &chat_body(20, false),
        Duration::from_secs(5),
    );
    assert!(raw.is_empty(), "non-streaming: closed without a response");
    let t = String::from_utf8(get(&m.addr, "/metrics").body).unwrap();
    assert_eq!(
        metric(
            &t,
            "mock_llm:faults_injected_total{engine=\"0\",model_name=\"mock-llm\",kind=\"disconnect\"}"
        ),
        6.0
    );
}

#[test]
fn injected_stalls_hold_the_connection() {
    let m = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0", "--stall-rate", "1"]);
    let (raw, timed_out) = request_raw(
        &m.addr,
        "/v1/chat/completions",
        &chat_body(20, true),
        Duration::from_millis(300),
    );
    assert!(timed_out, "the server kept the connection open without finishing");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"));
    assert!(!text.contains("[DONE]"));
    assert!(text.matches(r#""delta":{"content""#).count() < 20);
    let t = String::from_utf8(get(&m.addr, "/metrics").body).unwrap();
    assert_eq!(
        metric(
            &t,
            "mock_llm:faults_injected_total{engine=\"0\",model_name=\"mock-llm\",kind=\"stall\"}"
        ),
        1.0
    );
}

#[test]
fn injected_malformed_events_are_not_json() {
    let m = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0", "--malformed-rate", "1"]);
    let r = post(&m.addr, "/v1/chat/completions", &chat_body(5, true));
    let ev = r.events();
    let bad: Vec<&String> = ev
        .iter()
        .filter(|e| *e != "[DONE]" && serde_json::from_str::<Value>(e).is_err())
        .collect();
    assert_eq!(bad.len(), 1, "{ev:#?}");
    assert_eq!(
        ev.iter()
            .filter(|e| e.contains(r#""delta":{"content""#) && serde_json::from_str::<Value>(e).is_ok())
            .count(),
        5
    );
    let plain = post(&m.addr, "/v1/chat/completions", &chat_body(5, false));
    assert_eq!(plain.status, 200);
    assert!(serde_json::from_slice::<Value>(&plain.body).is_err());
    let t = String::from_utf8(get(&m.addr, "/metrics").body).unwrap();
    assert_eq!(
        metric(
            &t,
            "mock_llm:faults_injected_total{engine=\"0\",model_name=\"mock-llm\",kind=\"malformed\"}"
        ),
        2.0
    );
}

#[test]
fn bad_flags_name_the_flag() {
    let out = crate::common::run("mock-llm", &["--error-rate", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("mock-llm: --error-rate 1.5"), "{err}");
    let out = crate::common::run("mock-llm", &["--itl-ms", "-1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn jitter_is_seeded() {
    // The due-time gaps of one request, from --record, for a server with the given seed.
    let gaps = |seed: &str| -> Vec<u64> {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("truth.jsonl");
        let args = [
            "--ttft-ms",
            "1",
            "--itl-ms",
            "1",
            "--jitter-cv",
            "0.5",
            "--seed",
            seed,
            "--record",
            rec.to_str().unwrap(),
        ];
        let (mut child, addr, _out, _) = spawn_captured(&args, dir.path());
        assert_eq!(
            post(&addr, "/v1/chat/completions", &chat_body(12, true))
                .events()
                .len(),
            15
        );
        assert!(sigterm_and_wait(&mut child).success());
        let r: Value =
            serde_json::from_str(std::fs::read_to_string(&rec).unwrap().lines().next().unwrap()).unwrap();
        let due: Vec<u64> = r["token_due_ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let admitted = r["admitted_ns"].as_u64().unwrap();
        std::iter::once(due[0] - admitted)
            .chain(due.windows(2).map(|w| w[1] - w[0]))
            .collect()
    };
    let a = gaps("7");
    assert_eq!(a, gaps("7"), "same seed, same latencies");
    assert_ne!(a, gaps("8"));
    assert!(
        a.iter().collect::<std::collections::HashSet<_>>().len() > 6,
        "jitter varies per token: {a:?}"
    );
}

/// `/version` answers in vLLM's shape, and the DCGM energy counter is the integral of the
/// simulated power: 70 W idle, 650 W with the single decode slot busy.
#[test]
fn version_and_an_energy_counter_consistent_with_the_simulated_power() {
    let m = MockServer::start(&[
        "--max-batch",
        "1",
        "--ttft-ms",
        "0",
        "--itl-ms",
        "100",
        "--itl-per-running-ms",
        "0",
    ]);
    let v = get(&m.addr, "/version").json();
    assert_eq!(v, serde_json::json!({"version": env!("CARGO_PKG_VERSION")}));
    let energy = || {
        let t0 = Instant::now();
        let d = String::from_utf8(get(&m.addr, "/dcgm/metrics").body).unwrap();
        (
            t0,
            metric(&d, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"),
            Instant::now(),
        )
    };
    // Idle: exactly 70 W between the two readings, which the server took between our send and
    // our receipt of each (the counter is rounded to 1 mJ).
    let (a0, e0, a1) = energy();
    std::thread::sleep(Duration::from_millis(300));
    let (b0, e1, b1) = energy();
    let (shortest, longest) = ((b0 - a1).as_secs_f64(), (b1 - a0).as_secs_f64());
    assert!(
        e1 - e0 >= 70e3 * shortest - 1.0,
        "{} mJ in ≥ {shortest} s",
        e1 - e0
    );
    assert!(e1 - e0 <= 70e3 * longest + 1.0, "{} mJ in ≤ {longest} s", e1 - e0);
    // One request holding the only slot for 4 × 100 ms: 580 W more while it runs.
    let (c0, e2, c1) = energy();
    assert_eq!(
        post(&m.addr, "/v1/chat/completions", &chat_body(5, true)).status,
        200
    );
    let (d0, e3, d1) = energy();
    let (shortest, longest) = ((d0 - c1).as_secs_f64(), (d1 - c0).as_secs_f64());
    let busy = 0.4;
    assert!(e3 - e2 >= 70e3 * shortest + 580e3 * busy - 1.0, "{} mJ", e3 - e2);
    assert!(
        e3 - e2 <= 650e3 * longest + 1.0,
        "{} mJ in ≤ {longest} s",
        e3 - e2
    );
    assert!(
        metric(
            &String::from_utf8(get(&m.addr, "/dcgm/metrics").body).unwrap(),
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
        ) >= e3
    );
}
