//! A targeted parse of the common streamed chunk: one pass over the bytes that walks the JSON
//! structure, skips every value it does not need without building or validating it, and pulls out
//! `choices[].delta.content` / `choices[].text` and `finish_reason`. Anything less common — an
//! escaped string, usage, an error, vLLM's `metrics`, reasoning or tool calls, logprobs — returns
//! `None`, and the caller falls back to the full serde parse, so the fast path can only be faster,
//! never different.

/// What the fast path found in one chunk.
#[derive(Debug, Default, PartialEq)]
pub struct Fast<'a> {
    /// Output text pieces (content or completions text), in order.
    pub text: Option<&'a str>,
    pub finished: bool,
    pub usage: Option<Usage>,
}

use super::{CompletionDetails, PromptDetails, Usage};

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> P<'a> {
    #[inline]
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
    /// A string without escapes, borrowed (None if it has escapes).
    fn plain_str(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = &self.b[start..];
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] == b'\\' {
            return None;
        }
        self.i = start + end + 1;
        Some(&rest[..end])
    }
    /// An object key: short, so a plain byte loop beats the word-at-a-time search.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let b = self.b;
        let mut j = start;
        while j < b.len() {
            match b[j] {
                b'"' => {
                    self.i = j + 1;
                    return Some(&b[start..j]);
                }
                b'\\' => return None,
                _ => j += 1,
            }
        }
        None
    }
    /// Skips any string (escapes allowed).
    fn skip_str(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let off = memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            let c = self.b[self.i + off];
            self.i += off + 1;
            if c == b'"' {
                return Some(());
            }
            self.i += 1; // the escaped character
        }
    }
    /// Skips any value.
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.skip_str(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    let c = *self.b.get(self.i)?;
                    match c {
                        b'"' => {
                            self.skip_str()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while self.i < self.b.len()
                    && !matches!(self.b[self.i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
    /// A non-negative integer.
    fn uint(&mut self) -> Option<u64> {
        self.ws();
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i == start || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i]).ok()?.parse().ok()
    }
    /// `null` or an integer.
    fn opt_uint(&mut self) -> Option<Option<u64>> {
        if self.is_null() {
            Some(None)
        } else {
            self.uint().map(Some)
        }
    }
    /// OpenAI's usage object (unknown keys skipped; anything odd: slow path).
    fn usage(&mut self) -> Option<Usage> {
        let mut u = Usage::default();
        self.object(|p, k| match k {
            b"prompt_tokens" => p.opt_uint().map(|v| u.prompt_tokens = v),
            b"completion_tokens" => p.opt_uint().map(|v| u.completion_tokens = v),
            b"total_tokens" => p.opt_uint().map(|v| u.total_tokens = v),
            b"prompt_tokens_details" => {
                if p.is_null() {
                    return Some(());
                }
                let mut d = PromptDetails::default();
                p.object(|p, k| match k {
                    b"cached_tokens" => p.opt_uint().map(|v| d.cached_tokens = v),
                    b"audio_tokens" => p.opt_uint().map(|v| d.audio_tokens = v),
                    _ => p.skip(),
                })?;
                u.prompt_tokens_details = Some(d);
                Some(())
            }
            b"completion_tokens_details" => {
                if p.is_null() {
                    return Some(());
                }
                let mut d = CompletionDetails::default();
                p.object(|p, k| match k {
                    b"reasoning_tokens" => p.opt_uint().map(|v| d.reasoning_tokens = v),
                    b"audio_tokens" => p.opt_uint().map(|v| d.audio_tokens = v),
                    b"accepted_prediction_tokens" => p.opt_uint().map(|v| d.accepted_prediction_tokens = v),
                    b"rejected_prediction_tokens" => p.opt_uint().map(|v| d.rejected_prediction_tokens = v),
                    _ => p.skip(),
                })?;
                u.completion_tokens_details = Some(d);
                Some(())
            }
            b"prompt_cache_miss_tokens" => p.opt_uint().map(|v| u.extras.prompt_cache_miss_tokens = v),
            b"toolUsePromptTokenCount" => p.opt_uint().map(|v| u.extras.tool_use_prompt_tokens = v),
            // Other vendors' names for the same counts, and audio seconds (a number or `{}`): the
            // full parse resolves them.
            b"prompt_audio_seconds"
            | b"input_tokens"
            | b"output_tokens"
            | b"input_tokens_details"
            | b"output_tokens_details"
            | b"cache_read_input_tokens"
            | b"cache_creation_input_tokens" => None,
            _ => p.skip(),
        })?;
        Some(u)
    }
    fn is_empty_list(&mut self) -> bool {
        let save = self.i;
        if self.eat(b'[').is_some() && self.eat(b']').is_some() {
            return true;
        }
        self.i = save;
        false
    }
    fn is_null(&mut self) -> bool {
        self.ws();
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }
    /// Iterates an object's keys: calls `f(self, key)` positioned at each value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.key()?;
            self.eat(b':')?;
            f(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// Parses one chunk on the fast path, or None (use the full parser).
pub fn fast(data: &[u8]) -> Option<Fast<'_>> {
    let mut p = P { b: data, i: 0 };
    let mut out = Fast::default();
    let mut text: Option<&[u8]> = None;
    p.object(|p, key| match key {
        b"choices" => {
            p.eat(b'[')?;
            p.ws();
            if p.peek()? == b']' {
                p.i += 1;
                return Some(());
            }
            // One choice only (n > 1 goes the slow way).
            p.object(|p, k| match k {
                b"delta" | b"message" => p.object(|p, k| match k {
                    b"content" => {
                        if !p.is_null() {
                            if text.is_some() {
                                return None;
                            }
                            text = Some(p.plain_str()?);
                        }
                        Some(())
                    }
                    b"role" => p.skip(),
                    _ => {
                        // reasoning, tool calls, anything else with a value: slow path
                        // (null or an empty list, e.g. `"tool_calls":[]`, carry nothing).
                        if p.is_null() || p.is_empty_list() {
                            Some(())
                        } else {
                            None
                        }
                    }
                }),
                b"text" => {
                    if text.is_some() {
                        return None;
                    }
                    text = Some(p.plain_str()?);
                    Some(())
                }
                b"finish_reason" => {
                    if !p.is_null() {
                        p.skip()?;
                        out.finished = true;
                    }
                    Some(())
                }
                b"logprobs" => {
                    if p.is_null() {
                        Some(())
                    } else {
                        None
                    }
                }
                _ => p.skip(),
            })?;
            p.eat(b']')
        }
        b"usage" => {
            if !p.is_null() {
                out.usage = Some(p.usage()?);
            }
            Some(())
        }
        // An error, or vLLM's per-request metrics (speculative decoding): the full parse.
        b"error" | b"metrics" => {
            if p.is_null() {
                Some(())
            } else {
                None
            }
        }
        _ => p.skip(),
    })?;
    p.ws();
    if p.i != data.len() {
        return None;
    }
    if let Some(t) = text {
        if !t.is_empty() {
            out.text = Some(std::str::from_utf8(t).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_chunks_take_the_fast_path() {
        let f = fast(br#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":17,"model":"m","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}]}"#).unwrap();
        assert_eq!(
            f,
            Fast {
                text: Some(" word"),
                finished: false,
                usage: None
            }
        );
        let f = fast(br#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1,"id":"x","model":"tiny","system_fingerprint":"b1","object":"chat.completion.chunk"}"#).unwrap();
        assert_eq!(
            f,
            Fast {
                text: None,
                finished: false,
                usage: None
            }
        );
        let f = fast(br#"{"choices":[{"finish_reason":"length","index":0,"delta":{}}],"id":"x"}"#).unwrap();
        assert_eq!(
            f,
            Fast {
                text: None,
                finished: true,
                usage: None
            }
        );
        let f = fast(br#"{"choices":[],"usage":{"completion_tokens":4,"prompt_tokens":15,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":null},"timings":{"x":1.5}}"#).unwrap();
        let u = f.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (Some(15), Some(4), Some(19))
        );
        assert_eq!(u.prompt_tokens_details.unwrap().cached_tokens, Some(3));
        let f = fast(br#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello there"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#).unwrap();
        assert_eq!(
            (f.text, f.finished, f.usage.unwrap().completion_tokens),
            (Some("hello there"), true, Some(2))
        );
        let f = fast(br#"{"choices":[{"index":0,"message":{"role":"assistant","content":" one","tool_calls":[ ]},"logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":3,"total_tokens":7,"completion_tokens":4,"prompt_tokens_details":null}}"#).unwrap();
        assert_eq!(f.text, Some(" one"));
        let f = fast(br#"{"choices":[{"text":"ig","index":0,"logprobs":null,"finish_reason":null}],"object":"text_completion","id":"c"}"#).unwrap();
        assert_eq!(f.text, Some("ig"));
        let f = fast(br#" { "choices" : [ { "delta" : { "content" : "a b" } } ] , "x" : [1, {"y": "}"}] } "#)
            .unwrap();
        assert_eq!(f.text, Some("a b"));
    }

    #[test]
    fn anything_unusual_falls_back() {
        for s in [
            &br#"{"choices":[{"delta":{"content":"a\nb"}}]}"#[..],
            br#"{"choices":[],"usage":{"completion_tokens":4.5}}"#,
            br#"{"choices":[],"usage":{"input_tokens":4}}"#,
            br#"{"error":{"message":"x"}}"#,
            br#"{"choices":[{"delta":{"reasoning_content":"hm"}}]}"#,
            br#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"f"}}]}}]}"#,
            br#"{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}"#,
            br#"{"choices":[{"delta":{"content":"a"},"logprobs":{"content":[]}}]}"#,
            br#"{"choices":[{"delta":{"content":"a"}}]"#,
            b"{not json",
        ] {
            assert!(fast(s).is_none(), "{}", String::from_utf8_lossy(s));
        }
    }
}
