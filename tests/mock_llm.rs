//! mock-llm end to end: a real server on port 0, raw HTTP/1.1 over std TcpStream, real SSE parsed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

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

const FAST: &[&str] = &[
    "--ttft-ms",
    "0",
    "--itl-ms",
    "0",
    "--prefill-ms-per-token",
    "0",
    "--itl-per-running-ms",
    "0",
];

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
    let m = MockServer::start(&["--served-model-name", "tiny"]);
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
