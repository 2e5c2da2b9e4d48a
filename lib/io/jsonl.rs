//! JSONL in and out, the way every sweepkit stage reads and writes its streams.
//!
//! Inputs are files or stdin (`-`, or no path at all), read one after another as one stream.
//! Blank lines are skipped. A malformed line is fatal and named `<file>:<line>: <what is wrong>`,
//! except a final line with no newline: that is what a crashed writer leaves behind, so it is
//! reported as a warning and skipped. A line longer than [`super::capped::MAX_LINE_BYTES`] is
//! fatal too: `/dev/zero` must not fill the memory.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Where a line came from, for error messages: `records.jsonl:17`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub source: String,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// One input: a named byte stream.
pub struct Input {
    pub name: String,
    reader: Box<dyn BufRead + Send>,
}

impl Input {
    pub fn stdin() -> Input {
        Input {
            name: "<stdin>".into(),
            reader: Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
        }
    }

    pub fn open(path: &Path) -> anyhow::Result<Input> {
        if path == Path::new("-") {
            return Ok(Input::stdin());
        }
        let file = File::open(path).map_err(|e| anyhow::anyhow!("{}: cannot open: {e}", path.display()))?;
        Ok(Input {
            name: path.display().to_string(),
            reader: Box::new(BufReader::with_capacity(1 << 16, file)),
        })
    }

    /// An in-memory input, for tests and for callers that already hold the bytes.
    pub fn from_reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Input {
        Input {
            name: name.into(),
            reader: Box::new(BufReader::new(reader)),
        }
    }
}

/// Opens every path in order; no path at all means stdin.
pub fn open_inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    if paths.is_empty() {
        return Ok(vec![Input::stdin()]);
    }
    if paths.iter().filter(|p| p.as_path() == Path::new("-")).count() > 1 {
        anyhow::bail!("stdin ('-') given more than once as an input");
    }
    paths.iter().map(|p| Input::open(p)).collect()
}

/// What a read saw besides the values it delivered.
#[derive(Debug, Default, Clone)]
pub struct ReadStats {
    /// Non-blank lines delivered to the caller.
    pub lines: u64,
    /// Torn final lines that were skipped, with what was wrong with them.
    pub torn: Vec<(Location, String)>,
}

impl ReadStats {
    /// Human warnings about what was skipped, one line each.
    pub fn warnings(&self) -> Vec<String> {
        self.torn
            .iter()
            .map(|(loc, why)| format!("{loc}: skipped a torn last line (crashed writer?): {why}"))
            .collect()
    }
}

/// Calls `visit` with every non-blank line of every input, in order.
///
/// `visit` returns `Err(message)` when a line is not what it expects; that becomes the fatal error
/// `<file>:<line>: <message>`, unless the line is the unterminated last line of its input (torn).
pub fn for_each_line(
    inputs: Vec<Input>,
    mut visit: impl FnMut(&Location, &str) -> Result<(), String>,
) -> anyhow::Result<ReadStats> {
    let mut stats = ReadStats::default();
    let mut buf = String::new();
    for mut input in inputs {
        let mut line_no = 0u64;
        loop {
            let n = super::capped::read_line(&mut input.reader, &mut buf)
                .map_err(|why| anyhow::anyhow!("{}:{}: {why}", input.name, line_no + 1))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let terminated = buf.ends_with('\n');
            let text = buf.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let loc = Location {
                source: input.name.clone(),
                line: line_no,
            };
            match visit(&loc, text) {
                Ok(()) => stats.lines += 1,
                Err(why) if !terminated => stats.torn.push((loc, why)),
                Err(why) => anyhow::bail!("{loc}: {why}"),
            }
        }
    }
    Ok(stats)
}

/// Parses every line as a `T` and hands it to `visit` (which may itself fail with a message).
pub fn for_each<T: DeserializeOwned>(
    inputs: Vec<Input>,
    mut visit: impl FnMut(&Location, T) -> Result<(), String>,
) -> anyhow::Result<ReadStats> {
    for_each_line(inputs, |loc, line| {
        let value: T = serde_json::from_str(line).map_err(|e| format!("not valid JSON here: {e}"))?;
        visit(loc, value)
    })
}

/// Reads every line of the inputs as a `T`.
pub fn read_all<T: DeserializeOwned>(inputs: Vec<Input>) -> anyhow::Result<(Vec<T>, ReadStats)> {
    let mut out = Vec::new();
    let stats = for_each(inputs, |_, v: T| {
        out.push(v);
        Ok(())
    })?;
    Ok((out, stats))
}

/// Writes one JSON value per line. Buffered by default; line-buffered for live pipelines
/// (`--line-buffered`), where each record must reach the next stage as soon as it exists.
pub struct JsonlWriter {
    out: BufWriter<Box<dyn Write + Send>>,
    line_buffered: bool,
}

impl JsonlWriter {
    pub fn new(out: Box<dyn Write + Send>, line_buffered: bool) -> JsonlWriter {
        JsonlWriter {
            out: BufWriter::with_capacity(1 << 16, out),
            line_buffered,
        }
    }

    /// stdout, or a file created (truncated) at `path`; `-` also means stdout.
    pub fn to_path_or_stdout(path: Option<&Path>, line_buffered: bool) -> anyhow::Result<JsonlWriter> {
        let out: Box<dyn Write + Send> = match path {
            None => Box::new(io::stdout()),
            Some(p) if p == Path::new("-") => Box::new(io::stdout()),
            Some(p) => {
                Box::new(File::create(p).map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", p.display()))?)
            }
        };
        Ok(JsonlWriter::new(out, line_buffered))
    }

    pub fn write<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value).map_err(io::Error::from)?;
        self.out.write_all(b"\n")?;
        if self.line_buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Writes an already-serialized line (without its newline).
    pub fn write_raw(&mut self, line: &[u8]) -> io::Result<()> {
        self.out.write_all(line)?;
        self.out.write_all(b"\n")?;
        if self.line_buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for JsonlWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, text: &str) -> Input {
        Input::from_reader(name, io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn concatenates_inputs_and_skips_blank_lines() {
        let (vals, stats) = read_all::<serde_json::Value>(vec![
            input("a", "{\"x\":1}\n\n  \n{\"x\":2}\n"),
            input("b", "{\"x\":3}\n"),
        ])
        .unwrap();
        assert_eq!(
            vals.iter().map(|v| v["x"].as_i64().unwrap()).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(stats.lines, 3);
        assert!(stats.torn.is_empty());
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let err = read_all::<serde_json::Value>(vec![input("r.jsonl", "{\"x\":1}\n{oops\n{\"x\":2}\n")])
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("r.jsonl:2: "), "{msg}");
    }

    #[test]
    fn torn_last_line_is_a_warning() {
        let (vals, stats) =
            read_all::<serde_json::Value>(vec![input("r.jsonl", "{\"x\":1}\n{\"x\":2,\"y\":[1,")]).unwrap();
        assert_eq!(vals.len(), 1);
        assert_eq!(stats.torn.len(), 1);
        assert_eq!(stats.torn[0].0.line, 2);
        assert!(stats.warnings()[0].contains("r.jsonl:2: skipped a torn last line"));
    }

    #[test]
    fn unterminated_but_valid_last_line_is_kept() {
        let (vals, stats) = read_all::<serde_json::Value>(vec![input("r", "{\"x\":1}\n{\"x\":2}")]).unwrap();
        assert_eq!(vals.len(), 2);
        assert!(stats.torn.is_empty());
    }

    #[test]
    fn an_endless_line_is_an_error_naming_file_and_line() {
        let zeros = Input::from_reader("zero", io::Cursor::new(b"{}\n".to_vec()).chain(io::repeat(0)));
        let err = read_all::<serde_json::Value>(vec![zeros])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("zero:2: line longer than 64 MiB"), "{err}");
    }

    #[test]
    fn writer_writes_one_value_per_line() {
        let path = tempfile::NamedTempFile::new().unwrap();
        {
            let mut w = JsonlWriter::to_path_or_stdout(Some(path.path()), true).unwrap();
            w.write(&serde_json::json!({"a": 1})).unwrap();
            w.write(&serde_json::json!({"a": 2})).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(path.path()).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }
}
