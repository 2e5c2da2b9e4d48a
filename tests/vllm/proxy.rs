//! A recording HTTP/1.1 proxy in front of vLLM: what mock-llm's `--record` gives for the mock, for
//! the real server. Each request is forwarded on its own upstream connection; the whole answer is
//! read, kept (request body, status, response body with chunking undone) and relayed to the client
//! with a Content-Length, so the client's keep-alive connection carries on. Timing through it is
//! meaningless; what crossed the wire is exact.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use super::server::parse_response;

/// One request and vLLM's answer to it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub path: String,
    pub request: serde_json::Value,
    pub status: u16,
    /// The response body (an SSE stream's text for a streamed request).
    pub response: String,
}

pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub log: Arc<Mutex<Vec<Exchange>>>,
}

impl Proxy {
    /// A proxy on 127.0.0.1 port 0 to `upstream` (`127.0.0.1:PORT`); its threads end with the process.
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (up, l) = (upstream.to_string(), log.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (up, l) = (up.clone(), l.clone());
                std::thread::spawn(move || serve(conn, &up, &l));
            }
        });
        Proxy { url, log }
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }
}

/// Relays requests of one client connection until the client closes it.
fn serve(conn: TcpStream, upstream: &str, log: &Mutex<Vec<Exchange>>) {
    let mut out = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head.push(line.trim_end().to_string()),
            }
        }
        let Some(request_line) = head.first().cloned() else {
            return;
        };
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
        let header = |name: &str| {
            head.iter().skip(1).find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, content_type, response) = forward(upstream, method, path, &header, &body);
        log.lock().unwrap().push(Exchange {
            path: path.to_string(),
            request: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            status,
            response: response.clone(),
        });
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            response.len()
        );
        if out.write_all(reply.as_bytes()).is_err() || out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// The request on a fresh upstream connection: (status, content type, whole body).
fn forward(
    upstream: &str,
    method: &str,
    path: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> (u16, String, String) {
    let mut s = TcpStream::connect(upstream).expect("connect to vLLM");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {upstream}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for name in [
        "content-type",
        "accept",
        "authorization",
        "x-api-key",
        "anthropic-version",
    ] {
        if let Some(v) = header(name) {
            head.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let (status, head, body) = parse_response(&raw).unwrap_or((502, String::new(), String::new()));
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type:"))
        .map_or("application/json".to_string(), |v| v.trim().to_string());
    (status, content_type, body)
}
