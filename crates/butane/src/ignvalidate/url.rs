//! The parts of Go's `net/url.Parse` that Ignition's URL checks depend on:
//! whether a string parses at all, its scheme, its opaque part and its
//! query. Every parse failure maps to one Ignition message, so only the
//! accept/reject decision has to match Go, not Go's error texts.

/// A parsed URL: what Ignition's checks look at.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Url {
    /// Lower-cased scheme, empty when there is none.
    pub scheme: String,
    /// The opaque part (`aws:s3:::b/k` of `arn:aws:s3:::b/k`).
    pub opaque: String,
    /// The raw query, without `?`.
    pub query: String,
}

impl Url {
    /// The values of query parameter `key`, `None` when it is absent
    /// (Go's `u.Query()[key]`).
    pub fn query_values(&self, key: &str) -> Option<Vec<String>> {
        let mut found: Option<Vec<String>> = None;
        for part in self.query.split('&') {
            if part.is_empty() || part.contains(';') {
                continue;
            }
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let (Some(k), Some(v)) = (query_unescape(k), query_unescape(v)) else {
                continue;
            };
            if k == key {
                found.get_or_insert_with(Vec::new).push(v);
            }
        }
        found
    }
}

fn unhex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn query_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(unhex)?;
                let lo = b.get(i + 2).copied().and_then(unhex)?;
                out.push(hi * 16 + lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    Userinfo,
    Fragment,
}

/// Go's `shouldEscape`, for the modes `unescape` consults.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && (is_sub_delim(c) || matches!(c, b':' | b'[' | b']' | b'<' | b'>' | b'"'))
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::Userinfo => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => false,
            _ => true,
        },
        _ => {
            if mode == Mode::Fragment {
                return !matches!(c, b'!' | b'(' | b')' | b'*');
            }
            true
        }
    }
}

/// Go's `unescape` as a validity check.
fn unescape_ok(s: &str, mode: Mode) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(unhex),
                    b.get(i + 2).copied().and_then(unhex),
                ) else {
                    return false;
                };
                if mode == Mode::Host && h * 16 + l < 0x80 {
                    return false;
                }
                if mode == Mode::Zone {
                    let v = h * 16 + l;
                    if v != b' ' && should_escape(v, Mode::Host) && &s[i..i + 3] != "%25" {
                        return false;
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return false;
                }
                i += 1;
            }
        }
    }
    true
}

fn valid_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit()))
}

fn valid_userinfo(s: &str) -> bool {
    s.bytes().all(|c| {
        c.is_ascii_alphanumeric()
            || is_sub_delim(c)
            || matches!(c, b'-' | b'.' | b'_' | b':' | b'~' | b'%' | b'@')
    })
}

/// RFC 3986 sub-delims: `!$&'()*+,;=`.
fn is_sub_delim(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

fn host_ok(host: &str) -> bool {
    if host.starts_with('[') {
        let Some(end) = host.rfind(']') else {
            return false;
        };
        let colon_port = &host[end + 1..];
        if !valid_port(colon_port) {
            return false;
        }
        let inner = &host[..=end];
        if let Some(zone) = inner.find("%25") {
            return unescape_ok(&inner[..zone], Mode::Host)
                && unescape_ok(&inner[zone..end], Mode::Zone);
        }
        return unescape_ok(inner, Mode::Host);
    }
    if let Some(i) = host.rfind(':') {
        if !valid_port(&host[i..]) {
            return false;
        }
    }
    unescape_ok(host, Mode::Host)
}

fn authority_ok(auth: &str) -> bool {
    let (userinfo, host) = match auth.rfind('@') {
        Some(i) => (Some(&auth[..i]), &auth[i + 1..]),
        None => (None, auth),
    };
    if !host_ok(host) {
        return false;
    }
    match userinfo {
        None => true,
        Some(u) => {
            if !valid_userinfo(u) {
                return false;
            }
            match u.split_once(':') {
                None => unescape_ok(u, Mode::Userinfo),
                Some((n, p)) => unescape_ok(n, Mode::Userinfo) && unescape_ok(p, Mode::Userinfo),
            }
        }
    }
}

/// Go's `url.Parse`: `None` where Go returns an error.
pub fn parse(raw: &str) -> Option<Url> {
    let (rest, frag) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    if rest.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return None;
    }
    if let Some(f) = frag {
        if !unescape_ok(f, Mode::Fragment) {
            return None;
        }
    }
    if rest == "*" {
        return Some(Url::default());
    }
    parse_reference(rest)
}

/// Go's `parse` of a URL without its fragment: the scheme, the query,
/// then an opaque part, or an authority and a path.
fn parse_reference(rest: &str) -> Option<Url> {
    let (scheme, mut rest) = get_scheme(rest)?;
    let mut url = Url {
        scheme,
        ..Url::default()
    };
    if let Some((r, q)) = rest.split_once('?') {
        url.query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Some(url);
        }
        let seg = rest.split('/').next().unwrap_or_default();
        if seg.contains(':') {
            return None;
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        rest = authority_path(&rest[2..])?;
    }
    if !unescape_ok(rest, Mode::Path) {
        return None;
    }
    Some(url)
}

/// Go's `getScheme`: the lower-cased scheme (empty when there is none)
/// and what follows its colon; `None` when the URL starts with a colon.
fn get_scheme(rest: &str) -> Option<(String, &str)> {
    for (i, c) in rest.bytes().enumerate() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.') {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == b':' {
            if i == 0 {
                return None;
            }
            return Some((rest[..i].to_ascii_lowercase(), &rest[i + 1..]));
        }
        break;
    }
    Some((String::new(), rest))
}

/// `authority/path` (after `//`): the path, when the authority is valid.
fn authority_path(after: &str) -> Option<&str> {
    let (auth, path) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    authority_ok(auth).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_parse_decisions() {
        assert_eq!(
            parse("https://example.com/x").map(|u| u.scheme),
            Some("https".into())
        );
        assert_eq!(parse("HTTP://a").map(|u| u.scheme), Some("http".into()));
        assert!(parse("://x").is_none());
        assert!(parse("http://a:b/").is_none());
        assert!(parse("http://a/%zz").is_none());
        assert!(parse("a:b/c").is_some_and(|u| u.scheme == "a"));
        assert!(parse("foo/a:b").is_some());
        assert!(parse("1a:b").is_none());
        assert!(parse("http://a b/").is_none());
        let u = parse("arn:aws:s3:::b/k?versionId=").expect("parses");
        assert_eq!(u.opaque, "aws:s3:::b/k");
        assert_eq!(u.query_values("versionId"), Some(vec![String::new()]));
    }
}
