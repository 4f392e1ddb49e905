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

/// The error `dataurl.DecodeString` gives for `s`, from its lexer (the
/// data's escapes and base64 are not decoded here).
pub fn data_url_error(s: &str) -> Option<String> {
    let Some(rest) = s.strip_prefix("data:") else {
        return Some("missing data prefix".into());
    };
    DataLexer { rest, i: 0 }.lex().err()
}

/// The dataurl lexer over what follows `data:`, at byte `i`.
///
/// Bytes, not chars: every rule below accepts ASCII only, and a byte of a
/// multi-byte character (read as U+0080..U+00FF) is refused exactly where
/// its character would be, with the same message.
struct DataLexer<'a> {
    rest: &'a str,
    i: usize,
}

/// A dataurl lexer error message.
fn fail<T>(message: &str) -> Result<T, String> {
    Err(message.to_string())
}

/// The lexer's token characters: ASCII, neither control nor space nor
/// one of RFC 2045's tspecials.
fn is_token(c: char) -> bool {
    c.is_ascii() && !c.is_ascii_control() && !c.is_whitespace() && !"()<>@,;:\\\"/[]?=".contains(c)
}

/// The media types the lexer knows (anything else needs an `x-` prefix).
const MEDIA_TYPES: [&str; 7] = [
    "text",
    "image",
    "audio",
    "video",
    "application",
    "message",
    "multipart",
];

impl DataLexer<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.rest.as_bytes().get(i).map(|&b| char::from(b))
    }

    /// The whole URL: media type, parameters, then the data.
    fn lex(&mut self) -> Result<(), String> {
        self.media_type()?;
        let base64 = self.parameters()?;
        self.data(base64)
    }

    /// After the prefix: a media type, or straight to parameters or the
    /// comma.
    fn media_type(&mut self) -> Result<(), String> {
        match self.at(self.i) {
            Some(';') | Some(',') => Ok(()),
            None => fail("missing comma before data"),
            Some(c) if is_token(c) => self.type_and_subtype(c),
            Some(_) => fail("invalid character after data prefix"),
        }
    }

    /// `type/subtype`, starting at the type's first character `c`.
    fn type_and_subtype(&mut self, c: char) -> Result<(), String> {
        let start = self.i;
        let x_token = (c == 'x' || c == 'X') && self.at(self.i + 1) == Some('-');
        self.i += if x_token { 2 } else { 1 };
        loop {
            match self.at(self.i) {
                Some('/') => break,
                None => return fail("missing media type slash"),
                Some(c) if is_token(c) => self.i += 1,
                Some(_) => return fail("invalid character for media type"),
            }
        }
        if !x_token {
            let t = &self.rest[start..self.i];
            if !MEDIA_TYPES.iter().any(|k| t.starts_with(k)) {
                return fail("invalid media type");
            }
        }
        self.i += 1;
        loop {
            match self.at(self.i) {
                Some(';') | Some(',') => return Ok(()),
                None => return fail("incomplete media type"),
                Some(c) if is_token(c) => self.i += 1,
                Some(_) => return fail("invalid character for media subtype"),
            }
        }
    }

    /// `;attribute=value` parameters, up to the comma or a final
    /// `;base64`: whether the data is base64.
    fn parameters(&mut self) -> Result<bool, String> {
        while self.at(self.i) == Some(';') {
            self.i += 1;
            if self.attribute()? {
                return Ok(true);
            }
            self.i += 1;
            self.value()?;
            match self.at(self.i) {
                Some(';') | Some(',') => {}
                None => return fail("missing comma before data"),
                Some(_) => return fail("expected semicolon or comma"),
            }
        }
        Ok(false)
    }

    /// A parameter's attribute, up to its `=`; or `base64` before the
    /// comma (then true).
    fn attribute(&mut self) -> Result<bool, String> {
        let start = self.i;
        match self.at(self.i) {
            None | Some('=') | Some(',') => return fail("unterminated parameter sequence"),
            Some(c) if is_token(c) => {}
            Some(_) => return fail("invalid character for parameter attribute"),
        }
        loop {
            match self.at(self.i) {
                Some('=') => return Ok(false),
                Some(',') => {
                    let v = &self.rest[start..self.i];
                    if v != "base64" {
                        return Err(format!("expected base64, got {v}"));
                    }
                    return Ok(true);
                }
                None => return fail("unterminated parameter sequence"),
                Some(c) if is_token(c) => self.i += 1,
                Some(_) => return fail("invalid character for parameter attribute"),
            }
        }
    }

    /// A parameter's value after its `=`: a quoted string or a token.
    fn value(&mut self) -> Result<(), String> {
        match self.at(self.i) {
            Some('"') => self.quoted_value(),
            None => fail("missing comma before data"),
            Some(c) if is_token(c) => self.token_value(),
            Some(_) => fail("invalid character for parameter value"),
        }
    }

    /// A `"..."` value with `\` escapes, through its closing quote.
    fn quoted_value(&mut self) -> Result<(), String> {
        self.i += 1;
        loop {
            match self.at(self.i) {
                None => return fail("unclosed quoted string"),
                Some('\\') => match self.at(self.i + 1) {
                    None => return fail("unclosed quoted string"),
                    Some(c) if c.is_ascii() => self.i += 2,
                    Some(_) => return fail("invalid escaped character"),
                },
                Some('"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) if c.is_ascii() => self.i += 1,
                Some(_) => return fail("invalid character for parameter value"),
            }
        }
    }

    /// A token value, up to `;` or `,`; its `%` escapes must be whole.
    fn token_value(&mut self) -> Result<(), String> {
        let start = self.i;
        loop {
            self.i += 1;
            match self.at(self.i) {
                Some(';') | Some(',') => break,
                None => return fail("missing comma before data"),
                Some(c) if is_token(c) => {}
                Some(_) => return fail("invalid character for parameter value"),
            }
        }
        rfc2396_error(&self.rest[start..self.i]).map_or(Ok(()), Err)
    }

    /// The comma, then the data: base64, or URL-escaped text.
    fn data(&self, base64: bool) -> Result<(), String> {
        match self.at(self.i) {
            Some(',') => {}
            None => return fail("missing comma before data"),
            Some(_) => return fail("expected semicolon or comma"),
        }
        let data_ok = |b: &u8| {
            let c = char::from(*b);
            if base64 {
                c.is_ascii_alphanumeric() || "+/=\n".contains(c)
            } else {
                c.is_ascii() && !c.is_ascii_control() && !" <>#\"{}|\\^[]`".contains(c)
            }
        };
        if !self.rest.as_bytes()[self.i + 1..].iter().all(data_ok) {
            return fail("invalid data character");
        }
        let data = &self.rest[self.i + 1..];
        let e = if base64 {
            base64_error(data.as_bytes())
        } else {
            rfc2396_error(data)
        };
        e.map_or(Ok(()), Err)
    }
}

/// The dataurl package's `Unescape` errors.
fn rfc2396_error(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            for k in 1..=2 {
                match b.get(i + k) {
                    None => return Some("rfc2396: unexpected end of unescape sequence".into()),
                    Some(c) if !c.is_ascii_hexdigit() => {
                        return Some("rfc2396: invalid char 0x25 in unescape sequence".into())
                    }
                    Some(_) => {}
                }
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

/// Go's `base64.StdEncoding.DecodeString` error, if any.
fn base64_error(src: &[u8]) -> Option<String> {
    let corrupt = |at: usize| Some(format!("illegal base64 data at input byte {at}"));
    let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let nl = |c: u8| c == b'\n' || c == b'\r';
    let mut si = 0;
    loop {
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                return match j {
                    0 => None,
                    _ => corrupt(si - j),
                };
            }
            let c = src[si];
            si += 1;
            if valid(c) {
                j += 1;
                continue;
            }
            if nl(c) {
                continue;
            }
            if c != b'=' {
                return corrupt(si - 1);
            }
            match j {
                0 | 1 => return corrupt(si - 1),
                2 => {
                    while si < src.len() && nl(src[si]) {
                        si += 1;
                    }
                    if si == src.len() {
                        return corrupt(src.len());
                    }
                    if src[si] != b'=' {
                        return corrupt(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && nl(src[si]) {
                si += 1;
            }
            return if si < src.len() { corrupt(si) } else { None };
        }
    }
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
