//! HTTP Basic credentials (RFC 7617) from a URL's userinfo: `http://alice:pw@host` sends
//! `Authorization: Basic YWxpY2U6cHc=`, as reqwest and AIPerf's client do. The builtin HTTP/1.1
//! client needs it spelled out; mock-llm's `--basic-auth` checks it.

/// The `Authorization` value for `url`'s userinfo (percent-decoded), or `None` without one.
pub fn header_value(url: &reqwest::Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let user = percent_decode(url.username());
    let pass = percent_decode(url.password().unwrap_or(""));
    Some(for_pair(&user, &pass))
}

/// `Basic base64(user:password)`.
pub fn for_pair(user: &[u8], password: &[u8]) -> String {
    let mut raw = user.to_vec();
    raw.push(b':');
    raw.extend_from_slice(password);
    format!("Basic {}", base64(&raw))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_becomes_a_basic_header() {
        // RFC 7617's example.
        assert_eq!(
            for_pair(b"Aladdin", b"open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        let url = reqwest::Url::parse("http://alice:p%40ss@h:1/v1").unwrap();
        assert_eq!(header_value(&url).unwrap(), for_pair(b"alice", b"p@ss"));
        assert_eq!(header_value(&reqwest::Url::parse("http://h/").unwrap()), None);
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
