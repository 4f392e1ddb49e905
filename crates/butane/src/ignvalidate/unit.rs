//! The systemd unit-file reader Ignition checks unit contents with
//! (go-systemd's `unit.Deserialize`), re-implemented: the same lexer states,
//! the same error texts, and the same 2048-byte line limit as seen through
//! Go's 4096-byte `bufio.Reader`.

const LINE_MAX: usize = 2048;
const BUF_SIZE: usize = 4096;

/// Reader state mirroring `bufio.Reader` over a string: the read position
/// and the end of the buffered window.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    buf_end: usize,
}

impl Reader<'_> {
    fn fill(&mut self) {
        self.buf_end = (self.pos + BUF_SIZE).min(self.data.len());
    }

    fn buffered(&self) -> usize {
        self.buf_end - self.pos
    }

    /// `ReadRune`: `None` at EOF.
    fn read_rune(&mut self) -> Option<char> {
        if self.buffered() < 4 {
            let window = &self.data[self.pos..self.buf_end];
            let full =
                !window.is_empty() && rune_at(window).is_some_and(|(_, w)| w <= window.len());
            if !full {
                self.fill();
            }
        }
        if self.pos >= self.data.len() {
            return None;
        }
        let (c, w) = rune_at(&self.data[self.pos..]).unwrap_or(('\u{fffd}', 1));
        self.pos += w;
        Some(c)
    }

    fn unread(&mut self, c: char) {
        let w = if c == '\u{fffd}' { 1 } else { c.len_utf8() };
        self.pos -= w;
    }

    /// `ReadBytes(delim)`: the bytes through `delim`, and whether it was
    /// found (not found means EOF).
    fn read_bytes(&mut self, delim: u8) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        loop {
            let window = &self.data[self.pos..self.buf_end];
            if let Some(i) = window.iter().position(|&b| b == delim) {
                out.extend_from_slice(&window[..=i]);
                self.pos += i + 1;
                return (out, true);
            }
            if self.buf_end >= self.data.len() {
                out.extend_from_slice(window);
                self.pos = self.buf_end;
                return (out, false);
            }
            if self.buffered() >= BUF_SIZE {
                out.extend_from_slice(window);
                self.pos = self.buf_end;
            }
            self.fill();
        }
    }

    /// `toEOL`: the line without its `\n` (then `\r`), and whether EOF.
    fn read_line(&mut self) -> (Vec<u8>, bool) {
        let (mut line, found) = self.read_bytes(b'\n');
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        (line, !found)
    }
}

fn rune_at(b: &[u8]) -> Option<(char, usize)> {
    let first = *b.first()?;
    let w = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return Some(('\u{fffd}', 1)),
    };
    if b.len() < w {
        return Some(('\u{fffd}', w));
    }
    match std::str::from_utf8(&b[..w]) {
        Ok(s) => s.chars().next().map(|c| (c, w)),
        Err(_) => Some(('\u{fffd}', 1)),
    }
}

fn trim_space(b: &[u8]) -> &[u8] {
    let s = String::from_utf8_lossy(b);
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if lead + trail >= b.len() {
        return &[];
    }
    &b[lead.min(b.len())..b.len() - trail]
}

/// Go's `%q` of a byte string.
fn go_quote(b: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut i = 0;
    while i < b.len() {
        let (c, w) = rune_at(&b[i..]).unwrap_or(('\u{fffd}', 1));
        let valid = !(c == '\u{fffd}' && std::str::from_utf8(&b[i..(i + w).min(b.len())]).is_err());
        if !valid {
            out.push_str(&format!("\\x{:02x}", b[i]));
            i += 1;
            continue;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
        i += w;
    }
    out.push('"');
    out
}

/// The lexer's states (go-systemd's `lexStep`s), each holding what it
/// carries over: the current section, an option value read so far, the
/// state after a comment.
enum Step {
    NextSection,
    SectionName,
    SectionSuffix(String),
    NextSectionOrOption(String),
    OptionName(String),
    OptionValue(String, Vec<u8>),
    IgnoreLine(Box<Step>),
    /// End of input without an error.
    Done,
}

/// Parse unit `contents` as Ignition does: the section of every option, or
/// the error message (`invalid unit content: ...`).
pub fn parse(contents: &str) -> Result<Vec<String>, String> {
    lex(contents.as_bytes()).map_err(|e| format!("invalid unit content: {e}"))
}

/// go-systemd's lexer over `data`, one state at a time: the section of
/// every option, or the bare error.
fn lex(data: &[u8]) -> Result<Vec<String>, String> {
    let mut lx = Lexer {
        r: Reader {
            data,
            pos: 0,
            buf_end: 0,
        },
        opts: Vec::new(),
    };
    let mut step = Step::NextSection;
    while !matches!(step, Step::Done) {
        if lx.r.line_too_long() {
            return Err(format!("line too long (max {LINE_MAX} bytes)"));
        }
        step = lx.step(step)?;
    }
    Ok(lx.opts)
}

/// The lexer: its reader and the section of every option read so far.
struct Lexer<'a> {
    r: Reader<'a>,
    opts: Vec<String>,
}

impl Reader<'_> {
    /// go-systemd's check before each step: a full `LINE_MAX` window
    /// ahead with no line end in it.
    fn line_too_long(&self) -> bool {
        self.buffered() >= LINE_MAX
            && !self.data[self.pos..self.pos + LINE_MAX]
                .iter()
                .any(|&b| b == b'\r' || b == b'\n')
    }
}

impl Lexer<'_> {
    /// Runs one state; returns the next.
    fn step(&mut self, step: Step) -> Result<Step, String> {
        Ok(match step {
            Step::NextSection => self.next_section(),
            Step::SectionName => self.section_name()?,
            Step::SectionSuffix(section) => self.section_suffix(section)?,
            Step::NextSectionOrOption(section) => self.next_section_or_option(section),
            Step::OptionName(section) => self.option_name(section)?,
            Step::OptionValue(section, partial) => self.option_value(section, partial),
            Step::IgnoreLine(next) => self.ignore_line(*next),
            Step::Done => Step::Done,
        })
    }

    /// Before the first section: up to a `[`, skipping comments.
    fn next_section(&mut self) -> Step {
        match self.r.read_rune() {
            None => Step::Done,
            Some('[') => Step::SectionName,
            Some('#' | ';') => Step::IgnoreLine(Box::new(Step::NextSection)),
            Some(_) => Step::NextSection,
        }
    }

    /// A section's name, up to its `]`.
    fn section_name(&mut self) -> Result<Step, String> {
        let (sec, found) = self.r.read_bytes(b']');
        if !found {
            return Err("unable to find end of section".to_string());
        }
        Ok(Step::SectionSuffix(
            String::from_utf8_lossy(&sec[..sec.len() - 1]).into_owned(),
        ))
    }

    /// The rest of a section's line: nothing but spaces.
    fn section_suffix(&mut self, section: String) -> Result<Step, String> {
        let (garbage, _) = self.r.read_line();
        let garbage = trim_space(&garbage);
        if !garbage.is_empty() {
            return Err(format!(
                "found garbage after section name : {}",
                go_quote(garbage)
            ));
        }
        Ok(Step::NextSectionOrOption(section))
    }

    /// In a section: blank space, a new section, a comment or an option.
    fn next_section_or_option(&mut self, section: String) -> Step {
        match self.r.read_rune() {
            None => Step::Done,
            Some(c) if c.is_whitespace() => Step::NextSectionOrOption(section),
            Some('[') => Step::SectionName,
            Some('#' | ';') => Step::IgnoreLine(Box::new(Step::NextSectionOrOption(section))),
            Some(c) => {
                self.r.unread(c);
                Step::OptionName(section)
            }
        }
    }

    /// An option's name, up to its `=` on the same line.
    fn option_name(&mut self, section: String) -> Result<Step, String> {
        loop {
            match self.r.read_rune() {
                None => return Err("EOF".to_string()),
                Some('\n' | '\r') => {
                    return Err(
                        "unexpected newline encountered while parsing option name".to_string()
                    )
                }
                Some('=') => return Ok(Step::OptionValue(section, Vec::new())),
                Some(_) => {}
            }
        }
    }

    /// An option's value: one line, continued while it ends with `\`; a
    /// whole value records its section.
    fn option_value(&mut self, section: String, mut partial: Vec<u8>) -> Step {
        let (line, eof) = self.r.read_line();
        if !trim_space(&line).is_empty() {
            partial.extend_from_slice(&line);
            if line.ends_with(b"\\") {
                if !eof {
                    partial.push(b'\n');
                }
                return Step::OptionValue(section, partial);
            }
        }
        self.opts.push(section.clone());
        Step::NextSectionOrOption(section)
    }

    /// A comment: its line and every line a trailing `\` continues it on.
    fn ignore_line(&mut self, next: Step) -> Step {
        loop {
            let (mut line, _) = self.r.read_line();
            if line.last() == Some(&b' ') {
                line.pop();
            }
            if !line.ends_with(b"\\") {
                break;
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexer_matches_go_systemd() {
        assert_eq!(
            parse("[Unit]\nA=b\n[Install]\nWantedBy=x\n"),
            Ok(vec!["Unit".into(), "Install".into()])
        );
        assert_eq!(
            parse("[Unit"),
            Err("invalid unit content: unable to find end of section".into())
        );
        assert_eq!(
            parse("[Unit]\nfoo\n"),
            Err(
                "invalid unit content: unexpected newline encountered while parsing option name"
                    .into()
            )
        );
        assert_eq!(
            parse("[Unit]\nfoo"),
            Err("invalid unit content: EOF".into())
        );
        assert_eq!(
            parse("[Unit] x\n"),
            Err("invalid unit content: found garbage after section name : \"x\"".into())
        );
        let long = format!("[Unit]\nA={}\n", "x".repeat(3000));
        assert_eq!(
            parse(&long),
            Err("invalid unit content: line too long (max 2048 bytes)".into())
        );
    }
}
