//! A minimal HTTP/1.1 keep-alive client for plain `http://` servers: the hot path of a benchmark.
//!
//! Compared with a general client it does only what a benchmark needs — one POST with a
//! preformatted head, the response head, and a body that is content-length, chunked or
//! close-delimited — and hands each `read()`'s bytes to the caller with the instant they arrived
//! (the kernel's receive stamp, [`crate::loadgen::http::rx_stamp`]), with no intermediate tasks, channels or
//! per-chunk allocations. Connections are kept in one
//! shared idle pool (at most the concurrency are ever open); a connection the server closed while
//! idle is retried once on a fresh one, as long as no byte of the response was received.
//! https URLs use reqwest instead (see `client.rs`).

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::loadgen::http::rx_stamp::{self, RxStamp};

const READ_BUF: usize = 16 * 1024;

pub struct Conn {
    stream: TcpStream,
    rbuf: Box<[u8]>,
    /// The kernel stamps this socket's reads.
    stamped: bool,
}

impl Conn {
    async fn read(&mut self) -> std::io::Result<(usize, RxStamp)> {
        rx_stamp::read(&self.stream, &mut self.rbuf, self.stamped).await
    }
}

/// Where the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    Close,
}

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub reason: String,
    framing: Framing,
    close: bool,
}

/// Body bytes that arrived together with the response head.
pub enum Rest {
    /// Still in the connection's read buffer: `rbuf[start..end]` (no copy).
    InBuf(usize, usize),
    /// The head spanned several reads: the leftover, copied.
    Owned(Vec<u8>),
}

/// What went wrong at the transport level.
#[derive(Debug)]
pub enum H1Error {
    /// Could not connect.
    Connect(std::io::Error),
    /// The connection failed or closed before the response was complete.
    Cut(String),
    /// The server sent something that is not HTTP/1.1.
    Protocol(String),
}

pub struct Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
}

impl Pool {
    pub fn new(addr: SocketAddr, max_idle: usize) -> Pool {
        Pool {
            addr,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    async fn connect(&self) -> Result<Conn, H1Error> {
        let stream = TcpStream::connect(self.addr).await.map_err(H1Error::Connect)?;
        let _ = stream.set_nodelay(true);
        let stamped = rx_stamp::enable(&stream);
        Ok(Conn {
            stream,
            rbuf: vec![0u8; READ_BUF].into_boxed_slice(),
            stamped,
        })
    }

    fn put(&self, c: Conn) {
        let mut idle = self.idle.lock().unwrap();
        if idle.len() < self.max_idle {
            idle.push(c);
        }
    }

    /// Sends `request` (head and body, already formatted) and reads the response head.
    /// Returns the connection, the head, its arrival stamp and any body bytes read with it.
    pub async fn send(&self, request: &[u8]) -> Result<(Conn, Head, RxStamp, Rest), H1Error> {
        self.send_signalled(request, None).await
    }

    /// [`Pool::send`], also telling `written` the instant the request was fully written (the
    /// start of a `--request-cancellation-delay`).
    pub async fn send_signalled(
        &self,
        request: &[u8],
        mut written: Option<tokio::sync::oneshot::Sender<Instant>>,
    ) -> Result<(Conn, Head, RxStamp, Rest), H1Error> {
        let pooled = self.idle.lock().unwrap().pop();
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().await?,
        };
        match exchange_head(&mut conn, request, &mut written).await {
            Ok((head, at, rest)) => Ok((conn, head, at, rest)),
            Err((_, got_bytes)) if reused && !got_bytes => {
                // The server closed an idle keep-alive connection: retry once on a new one.
                let mut fresh = self.connect().await?;
                match exchange_head(&mut fresh, request, &mut written).await {
                    Ok((head, at, rest)) => Ok((fresh, head, at, rest)),
                    Err((e, _)) => Err(e),
                }
            }
            Err((e, _)) => Err(e),
        }
    }

    /// Reads the body, calling `on_bytes(stamp, bytes)` for every piece of payload as it arrives.
    /// The connection goes back to the pool when the response ended cleanly.
    pub async fn read_body<E>(
        &self,
        mut conn: Conn,
        head: &Head,
        first: Rest,
        first_at: RxStamp,
        mut on_bytes: impl FnMut(RxStamp, &[u8]) -> Result<(), E>,
    ) -> Result<Result<(), E>, H1Error> {
        let mut dec = Decoder::new(head.framing);
        let mut user_err: Option<E> = None;
        let mut feed = |dec: &mut Decoder,
                        at: RxStamp,
                        bytes: &[u8],
                        user_err: &mut Option<E>|
         -> Result<bool, H1Error> {
            dec.feed(bytes, |data| {
                if user_err.is_none() {
                    if let Err(e) = on_bytes(at, data) {
                        *user_err = Some(e);
                    }
                }
            })
        };
        let mut done = head.framing == Framing::Length(0);
        if !done {
            match &first {
                Rest::InBuf(a, b) if a < b => {
                    done = feed(&mut dec, first_at, &conn.rbuf[*a..*b], &mut user_err)?
                }
                Rest::Owned(v) if !v.is_empty() => done = feed(&mut dec, first_at, v, &mut user_err)?,
                _ => {}
            }
        }
        while !done {
            if user_err.is_some() {
                break;
            }
            let (n, at) = conn.read().await.map_err(|e| H1Error::Cut(e.to_string()))?;
            if n == 0 {
                if head.framing == Framing::Close {
                    done = true;
                    break;
                }
                return Err(H1Error::Cut(format!(
                    "connection closed by the server mid-body ({})",
                    dec.progress()
                )));
            }
            done = feed(&mut dec, at, &conn.rbuf[..n], &mut user_err)?;
        }
        if let Some(e) = user_err {
            return Ok(Err(e));
        }
        if done && !head.close && head.framing != Framing::Close {
            self.put(conn);
        }
        Ok(Ok(()))
    }
}

/// Writes the request and reads until the response head is complete. The error carries whether
/// any response byte had arrived (a retry is only safe when none had).
async fn exchange_head(
    conn: &mut Conn,
    request: &[u8],
    written: &mut Option<tokio::sync::oneshot::Sender<Instant>>,
) -> Result<(Head, RxStamp, Rest), (H1Error, bool)> {
    conn.stream
        .write_all(request)
        .await
        .map_err(|e| (H1Error::Cut(e.to_string()), false))?;
    if let Some(tx) = written.take() {
        let _ = tx.send(Instant::now());
    }
    let mut acc: Vec<u8> = Vec::new();
    loop {
        let (n, at) = conn
            .read()
            .await
            .map_err(|e| (H1Error::Cut(e.to_string()), !acc.is_empty()))?;
        if n == 0 {
            let got = !acc.is_empty();
            return Err((
                H1Error::Cut("connection closed by the server before the response head".into()),
                got,
            ));
        }
        let new = &conn.rbuf[..n];
        let end = if acc.is_empty() {
            find_head_end(new, 0)
        } else {
            let from = acc.len().saturating_sub(3);
            acc.extend_from_slice(new);
            find_head_end(&acc, from)
        };
        match end {
            Some(end) if acc.is_empty() => {
                let head = parse_head(&new[..end]).map_err(|e| (e, true))?;
                return Ok((head, at, Rest::InBuf(end, n)));
            }
            Some(end) => {
                let head = parse_head(&acc[..end]).map_err(|e| (e, true))?;
                return Ok((head, at, Rest::Owned(acc[end..].to_vec())));
            }
            None => {
                if acc.is_empty() {
                    acc.extend_from_slice(new);
                }
                if acc.len() > 64 * 1024 {
                    return Err((H1Error::Protocol("response head larger than 64 KiB".into()), true));
                }
            }
        }
    }
}

/// Index just past `\r\n\r\n`.
fn find_head_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 4 <= b.len() {
        let off = b[i..b.len() - 3].iter().position(|&c| c == b'\r')?;
        let p = i + off;
        if b[p + 1] == b'\n' && b[p + 2] == b'\r' && b[p + 3] == b'\n' {
            return Some(p + 4);
        }
        i = p + 1;
    }
    None
}

fn parse_head(h: &[u8]) -> Result<Head, H1Error> {
    let text = std::str::from_utf8(h).map_err(|_| H1Error::Protocol("response head is not text".into()))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(H1Error::Protocol(format!(
            "not an HTTP/1.x response: {:?}",
            &status_line[..status_line.len().min(60)]
        )));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| H1Error::Protocol(format!("bad status line {status_line:?}")))?;
    // The reason phrase is only kept for errors (it becomes the error record's type).
    let reason = if (200..300).contains(&status) {
        String::new()
    } else {
        parts.next().unwrap_or("").to_string()
    };
    let mut framing = Framing::Close;
    let mut close = version == "HTTP/1.0";
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            if framing != Framing::Chunked {
                framing = Framing::Length(
                    value
                        .parse()
                        .map_err(|_| H1Error::Protocol(format!("bad content-length {value:?}")))?,
                );
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if contains_ignore_case(value, "chunked") {
                framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if contains_ignore_case(value, "close") {
                close = true;
            } else if contains_ignore_case(value, "keep-alive") {
                close = false;
            }
        }
    }
    if status == 204 || status == 304 {
        framing = Framing::Length(0);
    }
    Ok(Head {
        status,
        reason,
        framing,
        close,
    })
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Body decoder: content-length, chunked or close-delimited.
struct Decoder {
    framing: Framing,
    /// Length: bytes still expected. Chunked: bytes left in the current chunk.
    left: u64,
    state: ChunkState,
    line: Vec<u8>,
    total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data,
    DataEnd,
    Trailer,
    Done,
}

impl Decoder {
    fn new(framing: Framing) -> Decoder {
        let left = if let Framing::Length(n) = framing { n } else { 0 };
        Decoder {
            framing,
            left,
            state: ChunkState::Size,
            line: Vec::new(),
            total: 0,
        }
    }

    fn progress(&self) -> String {
        format!("{} body bytes received", self.total)
    }

    /// Feeds raw bytes; calls `out` with payload slices. Returns true when the body is complete.
    fn feed(&mut self, mut input: &[u8], mut out: impl FnMut(&[u8])) -> Result<bool, H1Error> {
        match self.framing {
            Framing::Close => {
                self.total += input.len() as u64;
                if !input.is_empty() {
                    out(input);
                }
                Ok(false)
            }
            Framing::Length(_) => {
                let take = (input.len() as u64).min(self.left) as usize;
                if take > 0 {
                    out(&input[..take]);
                }
                self.left -= take as u64;
                self.total += take as u64;
                Ok(self.left == 0)
            }
            Framing::Chunked => {
                while !input.is_empty() {
                    match self.state {
                        ChunkState::Size | ChunkState::DataEnd | ChunkState::Trailer => {
                            let Some(nl) = input.iter().position(|&b| b == b'\n') else {
                                self.line.extend_from_slice(input);
                                if self.line.len() > 4096 {
                                    return Err(H1Error::Protocol("chunk-size line too long".into()));
                                }
                                return Ok(false);
                            };
                            self.line.extend_from_slice(&input[..nl]);
                            input = &input[nl + 1..];
                            let line = std::mem::take(&mut self.line);
                            let line = line.strip_suffix(b"\r").unwrap_or(&line);
                            match self.state {
                                ChunkState::Size => {
                                    let hex = line.split(|&b| b == b';').next().unwrap_or(b"");
                                    let hex = std::str::from_utf8(hex).unwrap_or("").trim();
                                    let n = u64::from_str_radix(hex, 16)
                                        .map_err(|_| H1Error::Protocol(format!("bad chunk size {hex:?}")))?;
                                    if n == 0 {
                                        self.state = ChunkState::Trailer;
                                    } else {
                                        self.left = n;
                                        self.state = ChunkState::Data;
                                    }
                                }
                                ChunkState::DataEnd => {
                                    if !line.is_empty() {
                                        return Err(H1Error::Protocol(
                                            "chunk data longer than its size".into(),
                                        ));
                                    }
                                    self.state = ChunkState::Size;
                                }
                                _ => {
                                    if line.is_empty() {
                                        self.state = ChunkState::Done;
                                        return Ok(true);
                                    }
                                }
                            }
                        }
                        ChunkState::Data => {
                            let take = (input.len() as u64).min(self.left) as usize;
                            out(&input[..take]);
                            self.total += take as u64;
                            self.left -= take as u64;
                            input = &input[take..];
                            if self.left == 0 {
                                self.state = ChunkState::DataEnd;
                            }
                        }
                        ChunkState::Done => return Ok(true),
                    }
                }
                Ok(self.state == ChunkState::Done)
            }
        }
    }
}

/// Reads a whole non-streaming body (or an error body), up to `limit` bytes kept.
pub async fn collect_body(
    pool: &Pool,
    conn: Conn,
    head: &Head,
    first: Rest,
    at: RxStamp,
    limit: usize,
) -> Result<(Vec<u8>, RxStamp), H1Error> {
    let mut body = Vec::new();
    let mut last = at;
    pool.read_body::<()>(conn, head, first, at, |t, b| {
        last = t;
        if body.len() < limit {
            body.extend_from_slice(&b[..b.len().min(limit - body.len())]);
        }
        Ok(())
    })
    .await?
    .ok();
    Ok((body, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(framing: Framing, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut d = Decoder::new(framing);
        let mut out = Vec::new();
        let mut done = false;
        for p in pieces {
            done = d.feed(p, |b| out.extend_from_slice(b)).unwrap();
        }
        (out, done)
    }

    #[test]
    fn chunked_bodies_split_anywhere() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        for cut in 0..body.len() {
            let (out, done) = decode(Framing::Chunked, &[&body[..cut], &body[cut..]]);
            assert_eq!(out, b"hello, world", "cut at {cut}");
            assert!(done);
        }
        let (out, done) = decode(Framing::Chunked, &[b"5\r\nhel"]);
        assert_eq!((out.as_slice(), done), (&b"hel"[..], false));
        assert!(Decoder::new(Framing::Chunked).feed(b"zz\r\n", |_| {}).is_err());
    }

    #[test]
    fn heads_and_lengths() {
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
        assert_eq!((h.status, h.framing, h.close), (200, Framing::Chunked, false));
        let h = parse_head(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 12\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (h.status, h.reason.as_str(), h.framing, h.close),
            (500, "Internal Server Error", Framing::Length(12), true)
        );
        assert!(parse_head(b"SSH-2.0\r\n\r\n").is_err());
        let h = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nConnection: Close\r\n\r\n")
            .unwrap();
        assert_eq!((h.framing, h.close), (Framing::Chunked, true));
        let (out, done) = decode(Framing::Length(4), &[b"ab", b"cdef"]);
        assert_eq!((out.as_slice(), done), (&b"abcd"[..], true));
        assert_eq!(find_head_end(b"x\r\n\r\nbody", 0), Some(5));
        assert_eq!(find_head_end(b"a\r\nb\r\n\r\n", 0), Some(8));
        assert_eq!(find_head_end(b"a\r\nb\r\n\r", 0), None);
        assert_eq!(find_head_end(b"\r\n\r\n", 0), Some(4));
    }
}
