//! Reading with a bound on memory. A file that is not what it claims (`/dev/zero`, a binary, a
//! log with no newline) must end in a clear error, not in a process that eats the machine: one
//! line, and one whole JSON document, is at most [`MAX_LINE_BYTES`].

use std::io::{BufRead, Read};
use std::path::Path;

/// The longest line (and the largest whole document) any sweepkit tool reads: 64 MiB. A record,
/// a plan line or a dataset entry is far smaller; a prompt of a million tokens is about 4 MiB.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// The limit as people read it, for messages and the README.
pub const MAX_LINE_TEXT: &str = "64 MiB";

/// Reads one line (with its `\n`, if any) into `buf`, replacing what was there. Returns the bytes
/// read (0 at the end), or an error message when the line is longer than [`MAX_LINE_BYTES`] or
/// not UTF-8.
pub fn read_line(reader: &mut dyn BufRead, buf: &mut String) -> Result<usize, String> {
    buf.clear();
    let mut bytes = std::mem::take(buf).into_bytes();
    let n = reader
        .take(MAX_LINE_BYTES + 1)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| format!("read failed: {e}"))?;
    if n as u64 > MAX_LINE_BYTES {
        return Err(too_long("line"));
    }
    *buf = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at column {})",
            e.utf8_error().valid_up_to() + 1
        )
    })?;
    Ok(n)
}

fn too_long(what: &str) -> String {
    format!("{what} longer than {MAX_LINE_TEXT} (sweepkit's limit; is this the right file?)")
}

/// Reads all of `reader` as text, at most [`MAX_LINE_BYTES`]; errors are messages without a name.
pub fn read_all(reader: impl Read) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_LINE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_LINE_BYTES {
        return Err(too_long("file"));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads the file at `path` as text, at most [`MAX_LINE_BYTES`]. The error names the path and
/// keeps the OS error's kind (a missing file stays `NotFound` for callers that tolerate it).
pub fn read_to_string(path: impl AsRef<Path>) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    read_all(file).map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidData, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_without_end_stops_at_the_limit() {
        let mut zeros = std::io::BufReader::new(std::io::repeat(0));
        let mut buf = String::new();
        let err = read_line(&mut zeros, &mut buf).unwrap_err();
        assert_eq!(
            err,
            "line longer than 64 MiB (sweepkit's limit; is this the right file?)"
        );
        let err = read_all(std::io::repeat(b'x')).unwrap_err();
        assert!(err.starts_with("file longer than 64 MiB"), "{err}");
    }

    #[test]
    fn lines_come_back_whole_and_bad_bytes_are_named() {
        let mut r = std::io::Cursor::new(b"ab\ncd".to_vec());
        let mut buf = String::new();
        assert_eq!(read_line(&mut r, &mut buf), Ok(3));
        assert_eq!(buf, "ab\n");
        assert_eq!(read_line(&mut r, &mut buf), Ok(2));
        assert_eq!(buf, "cd");
        assert_eq!(read_line(&mut r, &mut buf), Ok(0));
        let mut r = std::io::Cursor::new(b"a\xffb\n".to_vec());
        assert_eq!(
            read_line(&mut r, &mut buf).unwrap_err(),
            "not UTF-8 text (invalid byte at column 2)"
        );
    }
}
