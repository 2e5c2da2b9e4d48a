//! A small Server-Sent Events parser over network chunks.
//!
//! The caller stamps each chunk with `Instant::now()` as its bytes arrive, before calling
//! [`SseParser::feed`]; every event completed by that chunk carries that stamp (AIPerf's rule).
//! Events are separated by a blank line (`\n\n`, `\r\n\r\n` or `\r\r`); only `data:` fields are
//! kept (several `data:` lines join with `\n`); `:` comment lines (keep-alive pings), `event:`,
//! `id:` and `retry:` are ignored. No allocation per event unless it has several `data:` lines.

use std::time::Instant;

#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// How far `buf` has been searched for an event end without finding one.
    scanned: usize,
    joined: Vec<u8>,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds one network chunk; calls `on_data(stamp, data)` for each complete event that has data.
    /// Stops early and returns the error if `on_data` fails.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        stamp: Instant,
        mut on_data: impl FnMut(Instant, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        let mut from = self.scanned.max(start);
        while let Some((end, next)) = find_event_end(&self.buf, from) {
            let event = &self.buf[start..end];
            if let Some(data) = event_data(event, &mut self.joined) {
                on_data(stamp, data)?;
            }
            start = next;
            from = next;
        }
        self.buf.drain(..start);
        // Resume the search a few bytes back: a separator may straddle two chunks.
        self.scanned = self.buf.len().saturating_sub(3);
        Ok(())
    }

    /// At the end of the stream: a trailing event without its blank line, stamped `stamp`.
    pub fn finish<E>(&mut self, stamp: Instant, mut on_data: impl FnMut(Instant, &[u8]) -> Result<(), E>) -> Result<(), E> {
        let rest = std::mem::take(&mut self.buf);
        self.scanned = 0;
        if rest.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        if let Some(data) = event_data(&rest, &mut self.joined) {
            on_data(stamp, data)?;
        }
        Ok(())
    }

    /// Bytes received but not yet part of a complete event.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Finds the first blank-line separator at or after `from`: returns (event end, next event start).
fn find_event_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < buf.len() {
        let pos = memchr_nl(&buf[i..])? + i;
        let b = buf[pos];
        // `pos` is a '\n' or '\r'. Look at what follows for a second line end.
        if b == b'\n' {
            if pos + 1 < buf.len() && buf[pos + 1] == b'\n' {
                return Some((pos, pos + 2));
            }
            if pos + 2 < buf.len() && buf[pos + 1] == b'\r' && buf[pos + 2] == b'\n' {
                return Some((pos, pos + 3));
            }
        } else if pos + 1 < buf.len() {
            // '\r'
            if buf[pos + 1] == b'\r' {
                return Some((pos, pos + 2));
            }
            if buf[pos + 1] == b'\n' && pos + 3 < buf.len() && buf[pos + 2] == b'\r' && buf[pos + 3] == b'\n' {
                return Some((pos, pos + 4));
            }
        }
        i = pos + 1;
    }
    None
}

fn memchr_nl(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n' || b == b'\r')
}

/// The data of one event (its `data:` lines), or None if it has none.
fn event_data<'a>(event: &'a [u8], joined: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let mut first: Option<&'a [u8]> = None;
    let mut count = 0;
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"data") else { continue };
        let value = match rest.first() {
            None => &rest[..],
            Some(b':') => {
                let v = &rest[1..];
                v.strip_prefix(b" ").unwrap_or(v)
            }
            Some(_) => continue, // a field named e.g. "dataset": not data
        };
        count += 1;
        if count == 1 {
            first = Some(value);
        } else {
            if count == 2 {
                joined.clear();
                joined.extend_from_slice(first.unwrap());
            }
            joined.push(b'\n');
            joined.extend_from_slice(value);
        }
    }
    match count {
        0 => None,
        1 => first,
        _ => Some(&joined[..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(chunks: &[&str]) -> Vec<(usize, String)> {
        let t0 = Instant::now();
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let stamp = t0 + Duration::from_millis(i as u64);
            p.feed::<()>(c.as_bytes(), stamp, |s, d| {
                out.push(((s - t0).as_millis() as usize, String::from_utf8(d.to_vec()).unwrap()));
                Ok(())
            })
            .unwrap();
        }
        let end = t0 + Duration::from_millis(99);
        p.finish::<()>(end, |s, d| {
            out.push(((s - t0).as_millis() as usize, String::from_utf8(d.to_vec()).unwrap()));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn events_get_the_stamp_of_the_chunk_that_completes_them() {
        let out = run(&["data: {\"a\":1}\n\ndata: {\"b\"", ":2}\n", "\ndata: [DONE]\n\n"]);
        assert_eq!(out, vec![(0, "{\"a\":1}".into()), (2, "{\"b\":2}".into()), (2, "[DONE]".into())]);
    }

    #[test]
    fn comments_fields_crlf_and_multiline_data() {
        let out = run(&[":\n\n", "event: x\r\nid: 3\r\ndata: one\r\ndata:two\r\n\r\n", ": ping\ndata: z\n\n"]);
        assert_eq!(out, vec![(1, "one\ntwo".into()), (2, "z".into())]);
    }

    #[test]
    fn separator_split_across_chunks_and_trailing_event() {
        let out = run(&["data: a\n", "\n", "data: b\r", "\r", "data: tail"]);
        assert_eq!(out, vec![(1, "a".into()), (3, "b".into()), (99, "tail".into())]);
    }

    #[test]
    fn many_events_in_one_chunk_share_its_stamp() {
        let text: String = (0..5).map(|i| format!("data: {i}\n\n")).collect();
        let out = run(&[&text]);
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|(t, _)| *t == 0));
    }
}
