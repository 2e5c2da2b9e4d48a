//! `--record FILE`: the server-side ground truth, one JSON line per request, written by a
//! background thread as requests complete (flushed whenever the queue drains, so a crash loses at
//! most the lines in flight). Times are wall-clock epoch ns derived from one monotonic anchor
//! (`clock::Clock`), so differences between them are exact monotonic durations.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;

use serde::Serialize;

/// One request as the server saw it.
#[derive(Debug, Serialize)]
pub struct RequestRecord {
    pub request_id: String,
    /// The client's `X-Request-Id` header, if it sent one (joins client and server records).
    pub client_request_id: Option<String>,
    /// `chat`, `completions` or `embeddings`.
    pub endpoint: &'static str,
    pub stream: bool,
    /// HTTP status sent (0 when the connection was cut before any response).
    pub status: u16,
    /// `ok`, `error` (injected error status), `disconnect`, `stall`, `malformed`,
    /// `client_disconnect` (the client went away first).
    pub outcome: &'static str,
    pub prompt_tokens: u32,
    /// Tokens sent (streaming) or returned (non-streaming).
    pub completion_tokens: u32,
    /// Request fully read, epoch ns.
    pub arrival_ns: u64,
    /// Decode slot granted, epoch ns (null if it never was).
    pub admitted_ns: Option<u64>,
    /// First content token handed to the connection, epoch ns (streaming only).
    pub first_token_ns: Option<u64>,
    /// When each token was due by the latency model, epoch ns (streaming only).
    pub token_due_ns: Vec<u64>,
    /// When each token was handed to the connection, epoch ns (streaming only).
    pub token_sent_ns: Vec<u64>,
    /// Last byte of the response handed to the connection (or the cut), epoch ns.
    pub end_ns: u64,
    /// Prompt tokens served by the prefix cache (only with `--prefix-cache-tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u32>,
    /// When the server saw the client close the connection before the response ended, epoch ns
    /// (null unless `outcome` is `client_disconnect`; then equal to `end_ns`).
    pub disconnected_ns: Option<u64>,
    /// The request's JSON body as received (only with `--record-request-bodies`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<serde_json::Value>,
    /// The images (`[width, height]` px) and audio (seconds) the request carried, and the prompt
    /// tokens they cost (absent when it carried none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<super::media::MediaSeen>,
}

/// The body as a JSON value for `request_body` (the raw text if it is not JSON).
pub fn body_value(body: Option<&bytes::Bytes>) -> Option<serde_json::Value> {
    body.map(|b| {
        serde_json::from_slice(b)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(b).into_owned()))
    })
}

enum Msg {
    Line(Vec<u8>),
    Close,
}

pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    thread: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl Recorder {
    pub fn create(path: &Path) -> anyhow::Result<Recorder> {
        use anyhow::Context as _;
        let file = File::create(path)
            .with_context(|| format!("--record {}: cannot create the file", path.display()))?;
        let (tx, rx) = mpsc::channel::<Msg>();
        let thread = std::thread::Builder::new().name("record".into()).spawn(move || {
            let mut w = BufWriter::with_capacity(1 << 16, file);
            while let Ok(msg) = rx.recv() {
                let mut next = Some(msg);
                while let Some(m) = next.take() {
                    match m {
                        Msg::Line(l) => w.write_all(&l)?,
                        Msg::Close => return w.flush(),
                    }
                    next = rx.try_recv().ok();
                }
                w.flush()?;
            }
            w.flush()
        })?;
        Ok(Recorder {
            tx,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn write(&self, rec: &RequestRecord) {
        let mut line = serde_json::to_vec(rec).expect("records serialize");
        line.push(b'\n');
        let _ = self.tx.send(Msg::Line(line));
    }

    /// Flushes and closes the file; later records are dropped.
    pub fn close(&self) -> anyhow::Result<()> {
        let _ = self.tx.send(Msg::Close);
        if let Some(t) = self.thread.lock().unwrap().take() {
            t.join()
                .map_err(|_| anyhow::anyhow!("--record writer panicked"))??;
        }
        Ok(())
    }
}
