//! Secrets out of everything sweepkit writes or prints. A URL keeps its scheme, host, port, path
//! and harmless query values; its password (or a user-only userinfo, often a token) and the value
//! of every secret-looking query or fragment parameter (`token`, `key`, `api_key`, `secret`,
//! `password`, `auth`, `sig`, …) become [`MARK`]. Requests still carry them: only what is written
//! or printed goes through here.

use serde_json::Value;

/// What stands where a secret was.
pub const MARK: &str = "<redacted>";

/// Parameter names whose values are secrets (matched case-insensitively, anywhere in the name).
const SECRET_NAMES: &[&str] = &[
    "token",
    "key",
    "secret",
    "pass",
    "pwd",
    "auth",
    "sig",
    "credential",
    "session",
    "jwt",
    "cookie",
];

fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| name.contains(s))
}

/// `a=1&token=x` → `a=1&token=<redacted>`.
fn params(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if secret_name(name) && !value.is_empty() => format!("{name}={MARK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// One URL (with or without a scheme) without its secrets.
pub fn url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((user, _)) => format!("{user}:{MARK}@{host}"),
            None => format!("{MARK}@{host}"),
        },
        None => authority.to_string(),
    };
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    let mut out = format!("{scheme}{authority}");
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            out.push_str(&params(query));
        }
        None => out.push_str(before_fragment),
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&params(f));
    }
    out
}

/// Free text (a command line, an error message) with every `scheme://…` URL in it redacted. A
/// URL ends at whitespace or a quote.
pub fn text(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let len = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
            .unwrap_or(rest.len() - at);
        out.push_str(&rest[..start]);
        out.push_str(&url(&rest[start..at + len]));
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out
}

/// A JSON document with [`text`] applied to every string in it (keys stay), and [`url`] to the
/// strings under a `url` or `urls` key (a URL given without a scheme is still a URL there).
pub fn json(value: Value) -> Value {
    walk(value, false)
}

fn walk(value: Value, is_url: bool) -> Value {
    match value {
        Value::String(s) if is_url => Value::String(url(&s)),
        Value::String(s) => Value::String(text(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| walk(v, is_url)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let is_url = k == "url" || k == "urls";
                    (k, walk(v, is_url))
                })
                .collect(),
        ),
        other => other,
    }
}

/// A command line's words without secrets: the value of `--api-key`, `--header`/`-H` hidden,
/// the URL after `--url`/`-u` (or in `--url=`) redacted even without a scheme, every URL in
/// another word redacted.
pub fn args(words: impl IntoIterator<Item = String>) -> Vec<String> {
    const HIDDEN: &[&str] = &["--api-key", "--header", "-H"];
    let mut out = Vec::new();
    let mut hide_next = false;
    let mut url_next = false;
    for w in words {
        if std::mem::take(&mut hide_next) {
            out.push(MARK.to_string());
            continue;
        }
        if std::mem::take(&mut url_next) {
            out.push(url(&w));
            continue;
        }
        hide_next = HIDDEN.contains(&w.as_str());
        url_next = w == "--url" || w == "-u";
        let flag = w.split_once('=').map(|(f, _)| f);
        out.push(match flag {
            Some(f @ ("--api-key" | "--header")) => format!("{f}={MARK}"),
            Some("--url") => format!("--url={}", url(&w["--url=".len()..])),
            _ if w.starts_with("-H") && w.len() > 2 => format!("-H{MARK}"),
            _ => text(&w),
        });
    }
    out
}

/// True when `url` went through [`url`] and lost a secret: it can no longer be sent.
pub fn lost_a_secret(url: &str) -> bool {
    url.contains(MARK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_secret_query_values_go_the_rest_stays() {
        assert_eq!(
            url("http://alice:PW@host:8000/v1?model=m&token=T&api_key=K#access_token=F"),
            "http://alice:<redacted>@host:8000/v1?model=m&token=<redacted>&api_key=<redacted>#access_token=<redacted>"
        );
        assert_eq!(url("https://TOKEN@h/x"), "https://<redacted>@h/x");
        assert_eq!(url("alice:pw@127.0.0.1:8000"), "alice:<redacted>@127.0.0.1:8000");
        assert_eq!(url("http://h:1/p?Key=1&x=y"), "http://h:1/p?Key=<redacted>&x=y");
        assert_eq!(url("127.0.0.1:8000"), "127.0.0.1:8000");
        assert_eq!(
            url("http://h/a@b"),
            "http://h/a@b",
            "an @ in the path is no userinfo"
        );
        assert_eq!(url(&url("http://a:b@h?sig=1")), url("http://a:b@h?sig=1"));
        assert!(lost_a_secret(&url("http://a:b@h")));
        assert!(!lost_a_secret(&url("http://a@h:1/v1?x=1").replace(MARK, "")));
    }

    #[test]
    fn every_url_in_a_text_or_a_document() {
        let words = [
            "x",
            "--url",
            "a:PW@h",
            "--url=b:PW@h",
            "--api-key",
            "K",
            "-Hx: K",
            "--header=x: K",
            "-H",
            "y: K",
            "http://h?key=K",
        ];
        assert_eq!(
            args(words.map(String::from)).join(" "),
            "x --url a:<redacted>@h --url=b:<redacted>@h --api-key <redacted> -H<redacted> --header=<redacted> -H <redacted> http://h?key=<redacted>"
        );
        assert_eq!(
            text("loadgen --url=http://a:PW@h:1 -u 'https://h/?password=P' cannot reach http://a:PW@h:1/v1/chat: refused"),
            "loadgen --url=http://a:<redacted>@h:1 -u 'https://h/?password=<redacted>' cannot reach http://a:<redacted>@h:1/v1/chat: refused"
        );
        let doc = serde_json::json!({"urls": ["http://a:PW@h"], "n": 1, "cmd": "x http://h?token=T y", "s": {"url": "a:PW@h"}});
        assert_eq!(
            json(doc),
            serde_json::json!({"urls": ["http://a:<redacted>@h"], "n": 1, "cmd": "x http://h?token=<redacted> y", "s": {"url": "a:<redacted>@h"}})
        );
    }
}
