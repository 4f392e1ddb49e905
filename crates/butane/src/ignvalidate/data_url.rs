//! The lexer of the dataurl package (`DecodeString`) that Ignition's URL
//! check runs on a `data:` URL: its media type, parameters and data
//! characters, with the package's error texts, and Go's base64 decoder
//! and URL unescaping as validity checks (nothing is decoded here).

/// The error `dataurl.DecodeString` gives for `s`, from its lexer (the
/// data's escapes and base64 are not decoded here).
pub fn decode_error(s: &str) -> Option<String> {
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
    /// The byte at `i`, as a char; `None` past the end.
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
