//! AIPerf's `inputs.json`: `{"data": [{"payloads": [body, …], "session_id": id}, …]}`, pretty
//! with a 2-space indent and sorted keys, as AIPerf writes it. The one writer of the file: it
//! streams entry by entry and payload by payload, so a long session's bodies (each carrying its
//! whole history) never sit in memory together, and the file is written atomically.

use std::io::{self, Write};
use std::path::Path;

use serde_json::Value;

/// An `inputs.json` being written.
pub struct InputsWriter<'a> {
    w: &'a mut dyn Write,
    entries: usize,
}

/// Writes `path` atomically: the `data` list holds what `fill` adds.
pub fn write(path: &Path, fill: impl FnOnce(&mut InputsWriter) -> io::Result<()>) -> anyhow::Result<()> {
    crate::io::atomic::write_with(path, |w| {
        w.write_all(b"{\n  \"data\": [")?;
        let mut data = InputsWriter { w, entries: 0 };
        fill(&mut data)?;
        data.w.write_all(b"\n  ]\n}\n")
    })
}

impl InputsWriter<'_> {
    /// One entry: its request bodies, each already pretty-printed (`serde_json::to_string_pretty`),
    /// and its session id.
    pub fn entry<I>(&mut self, payloads: I, session_id: &str) -> io::Result<()>
    where
        I: IntoIterator<Item = io::Result<String>>,
    {
        self.open()?;
        // AIPerf's order: "session_id", then "payloads".
        let id = serde_json::to_string(session_id).map_err(io::Error::from)?;
        write!(
            self.w,
            "    {{\n      \"session_id\": {id},\n      \"payloads\": ["
        )?;
        for (k, p) in payloads.into_iter().enumerate() {
            self.w.write_all(if k == 0 { b"\n" } else { b",\n" })?;
            write_lines(self.w, &p?, "        ")?;
        }
        self.w.write_all(b"\n      ]\n    }")
    }

    /// One entry as read from another `inputs.json` (its keys kept as they are).
    pub fn entry_value(&mut self, entry: &Value) -> io::Result<()> {
        self.open()?;
        let text = serde_json::to_string_pretty(entry).map_err(io::Error::from)?;
        write_lines(self.w, &text, "    ")
    }

    fn open(&mut self) -> io::Result<()> {
        self.w.write_all(if self.entries == 0 { b"\n" } else { b",\n" })?;
        self.entries += 1;
        Ok(())
    }
}

/// `text`'s lines, each after `indent`, joined by newlines.
fn write_lines(w: &mut dyn Write, text: &str, indent: &str) -> io::Result<()> {
    for (j, line) in text.lines().enumerate() {
        if j > 0 {
            w.write_all(b"\n")?;
        }
        w.write_all(indent.as_bytes())?;
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// AIPerf's layout (`json.dumps(…, indent=2)`, "session_id" before "payloads"), streamed entry
    /// by entry; a merged entry keeps the keys it was read with.
    #[test]
    fn entries_written_one_by_one_are_the_whole_document_pretty_printed() {
        let a = json!({"messages": [{"role": "user", "content": "hi \"there\""}], "model": "m"});
        let b = json!({"max_tokens": 5, "model": "m", "prompt": "x"});
        let doc = json!({"data": [
            {"payloads": [a, b], "session_id": "session_000000"},
            {"payloads": [b], "session_id": "s\u{e9}1"},
        ]});
        let dir = tempfile::tempdir().unwrap();
        let (streamed, merged) = (dir.path().join("a.json"), dir.path().join("b.json"));
        let pretty = |v: &Value| Ok(serde_json::to_string_pretty(v).unwrap());
        write(&streamed, |w| {
            w.entry([pretty(&a), pretty(&b)], "session_000000")?;
            w.entry([pretty(&b)], "s\u{e9}1")
        })
        .unwrap();
        write(&merged, |w| {
            for e in doc["data"].as_array().unwrap() {
                w.entry_value(e)?;
            }
            Ok(())
        })
        .unwrap();
        let sorted = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        // Streamed: the same document, each entry's two keys in AIPerf's order.
        let want = sorted
            .replace(
                "    {\n      \"payloads\"",
                "    {\n      \"session_id\": SID,\n      \"payloads\"",
            )
            .replace(
                "\n      ],\n      \"session_id\": \"session_000000\"\n",
                "\n      ]\n",
            )
            .replacen("SID", "\"session_000000\"", 1)
            .replace("\n      ],\n      \"session_id\": \"s\u{e9}1\"\n", "\n      ]\n")
            .replacen("SID", "\"s\u{e9}1\"", 1);
        assert_eq!(std::fs::read_to_string(&streamed).unwrap(), want);
        let back: Value = serde_json::from_str(&want).unwrap();
        assert_eq!(back, doc);
        assert_eq!(std::fs::read_to_string(&merged).unwrap(), sorted);
    }
}
