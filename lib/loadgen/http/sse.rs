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
    /// Bytes of an event not yet complete.
    buf: Vec<u8>,
    joined: Vec<u8>,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds one network chunk; calls `on_data(stamp, data)` for each complete event that has data.
    /// Stops early and returns the error if `on_data` fails. Complete events are parsed straight
    /// from `chunk`; only an unfinished tail is copied.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        stamp: Instant,
        mut on_data: impl FnMut(Instant, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.buf.is_empty() {
            let used = scan(chunk, 0, &mut self.joined, &mut |d| on_data(stamp, d))?;
            self.buf.extend_from_slice(&chunk[used..]);
        } else {
            // Resume the search a few bytes back: a separator may straddle two chunks.
            let from = self.buf.len().saturating_sub(3);
            self.buf.extend_from_slice(chunk);
            let used = scan(&self.buf, from, &mut self.joined, &mut |d| on_data(stamp, d))?;
            self.buf.drain(..used);
        }
        Ok(())
    }

    /// At the end of the stream: a trailing event without its blank line, stamped `stamp`.
    pub fn finish<E>(
        &mut self,
        stamp: Instant,
        mut on_data: impl FnMut(Instant, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let rest = std::mem::take(&mut self.buf);
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

/// Delivers every complete event in `buf` (searching for separators from `from`); returns how
/// many bytes were consumed.
fn scan<E>(
    buf: &[u8],
    from: usize,
    joined: &mut Vec<u8>,
    on_data: &mut impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<usize, E> {
    let mut start = 0;
    let mut i = from;
    // Whether the current event has a line break before its separator (several lines).
    let mut multi = from > 0 && buf[..from].iter().any(|&b| b == b'\n' || b == b'\r');
    while let Some(off) = memchr::memchr2(b'\n', b'\r', &buf[i..]) {
        let pos = i + off;
        match separator_at(buf, pos) {
            Some(next) => {
                let event = &buf[start..pos];
                if !multi {
                    if let Some(d) = single_line_data(event) {
                        on_data(d)?;
                    }
                } else if let Some(d) = event_data(event, joined) {
                    on_data(d)?;
                }
                start = next;
                i = next;
                multi = false;
            }
            None => {
                if pos + 1 >= buf.len()
                    || (buf[pos] == b'\r' && pos + 2 >= buf.len() && buf[pos + 1] == b'\n')
                {
                    // Cannot tell yet: wait for more bytes.
                    break;
                }
                multi = true;
                i = pos + 1;
            }
        }
    }
    Ok(start)
}

/// If a blank line (event separator) starts at `pos` (a `\n` or `\r`), the index after it.
#[inline]
fn separator_at(buf: &[u8], pos: usize) -> Option<usize> {
    let at = |k: usize| buf.get(pos + k).copied();
    match buf[pos] {
        b'\n' => match at(1) {
            Some(b'\n') => Some(pos + 2),
            Some(b'\r') if at(2) == Some(b'\n') => Some(pos + 3),
            _ => None,
        },
        _ => match at(1) {
            Some(b'\r') => Some(pos + 2),
            Some(b'\n') if at(2) == Some(b'\r') && at(3) == Some(b'\n') => Some(pos + 4),
            _ => None,
        },
    }
}

/// The data of a one-line event (`data: x`), or None (a comment or another field).
#[inline]
fn single_line_data(event: &[u8]) -> Option<&[u8]> {
    let rest = event.strip_prefix(b"data")?;
    match rest.first() {
        None => Some(rest),
        Some(b':') => Some(rest[1..].strip_prefix(b" ").unwrap_or(&rest[1..])),
        Some(_) => None,
    }
}

/// The data of one event (its `data:` lines), or None if it has none.
fn event_data<'a>(event: &'a [u8], joined: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let mut first: Option<&'a [u8]> = None;
    let mut count = 0;
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"data") else {
            continue;
        };
        let value = match rest.first() {
            None => rest,
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
                out.push((
                    (s - t0).as_millis() as usize,
                    String::from_utf8(d.to_vec()).unwrap(),
                ));
                Ok(())
            })
            .unwrap();
        }
        let end = t0 + Duration::from_millis(99);
        p.finish::<()>(end, |s, d| {
            out.push((
                (s - t0).as_millis() as usize,
                String::from_utf8(d.to_vec()).unwrap(),
            ));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn events_get_the_stamp_of_the_chunk_that_completes_them() {
        let out = run(&["data: {\"a\":1}\n\ndata: {\"b\"", ":2}\n", "\ndata: [DONE]\n\n"]);
        assert_eq!(
            out,
            vec![
                (0, "{\"a\":1}".into()),
                (2, "{\"b\":2}".into()),
                (2, "[DONE]".into())
            ]
        );
    }

    #[test]
    fn comments_fields_crlf_and_multiline_data() {
        let out = run(&[
            ":\n\n",
            "event: x\r\nid: 3\r\ndata: one\r\ndata:two\r\n\r\n",
            ": ping\ndata: z\n\n",
        ]);
        assert_eq!(out, vec![(1, "one\ntwo".into()), (2, "z".into())]);
        // Every split point of a multi-event stream gives the same events.
        let text = "data: {\"a\":1}\n\n: ping\n\nevent: e\ndata: b\n\ndata: c\r\n\r\ndata: [DONE]\n\n";
        for cut in 0..text.len() {
            let got: Vec<String> = run(&[&text[..cut], &text[cut..]])
                .into_iter()
                .map(|(_, d)| d)
                .collect();
            assert_eq!(got, vec!["{\"a\":1}", "b", "c", "[DONE]"], "cut at {cut}");
        }
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
