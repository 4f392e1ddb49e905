//! Which parts of a Butane source may be secret, so that the context
//! lines of [`report`](crate::report) never show them.
//!
//! The source is read again with the YAML parser (only when a report is
//! printed): the value of every `password_hash` (or `passwordHash`) and
//! `inline` key, every `source` that is a `data:` URL, and the anchored
//! node behind an alias used as such a value, whatever its style (plain,
//! quoted, block `|`/`>-`, in a flow mapping, on the next line), is
//! secret. Where the parser stops at a syntax error, the rest of the text
//! is judged line by line, erring towards hiding.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

/// Keys whose values are secret, or may be (file contents).
const SECRET_KEYS: &[&str] = &["password_hash", "passwordHash", "inline"];

/// Text that marks a line after a syntax error as possibly secret.
const SECRET_HINTS: &[&str] = &["password_hash", "passwordHash", "inline", "data:"];

/// A secret range of one line: 0-based char columns, end exclusive.
pub type Range = (usize, usize);

/// Per 1-based line, the char ranges to hide, sorted and disjoint.
#[derive(Debug, Default)]
pub struct Secrets {
    lines: HashMap<usize, Vec<Range>>,
}

impl Secrets {
    /// The secret ranges of `source`.
    pub fn find(source: &str) -> Self {
        let lines: Vec<&str> = source.split('\n').collect();
        let mut s = Secrets::default();
        let stopped = s.parse(source, &lines);
        if let Some(line) = stopped {
            s.guess_from(line, &lines);
        }
        for ranges in s.lines.values_mut() {
            ranges.sort_unstable();
            ranges.dedup();
            let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
            for &(a, b) in ranges.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *ranges = merged;
        }
        s
    }

    /// The ranges to hide on 1-based `line`.
    pub fn on(&self, line: usize) -> &[Range] {
        self.lines.get(&line).map_or(&[], Vec::as_slice)
    }

    /// Walk the events, marking secret values; `Some(line)` where a
    /// syntax error stopped the walk.
    fn parse(&mut self, source: &str, lines: &[&str]) -> Option<usize> {
        let mut frames: Vec<Frame> = Vec::new();
        let mut anchors: HashMap<usize, Span> = HashMap::new();
        let mut last_line = 1;
        for item in Parser::new_from_str(source) {
            let (ev, span) = match item {
                Ok(x) => x,
                Err(_) => return Some(last_line),
            };
            last_line = span.start.line();
            let secret = frames.last().is_some_and(|f| f.value_is_secret());
            match ev {
                Event::Scalar(value, _, anchor, _) => {
                    self.scalar(
                        &mut frames,
                        &mut anchors,
                        (&value, anchor, span),
                        secret,
                        lines,
                    );
                }
                Event::Alias(id) => {
                    if secret {
                        if let Some(&target) = anchors.get(&id) {
                            self.mark(target, lines);
                        }
                    }
                    if let Some(f) = frames.last_mut() {
                        f.scalar("");
                    }
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    let map = matches!(ev, Event::MappingStart(..));
                    frames.push(Frame {
                        map,
                        expect_key: true,
                        key: Key::Other,
                        secret,
                        start: span,
                        anchor,
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    self.close(&mut frames, &mut anchors, span, lines);
                }
                _ => {}
            }
        }
        None
    }

    /// A scalar: hidden if it is a secret's value or a data URL source;
    /// remembered if anchored (an alias to it may be a secret's value).
    fn scalar(
        &mut self,
        frames: &mut [Frame],
        anchors: &mut HashMap<usize, Span>,
        (value, anchor, span): (&str, usize, Span),
        secret: bool,
        lines: &[&str],
    ) {
        let data_url = frames
            .last()
            .is_some_and(|f| f.map && !f.expect_key && f.key == Key::Source)
            && value.trim_start().starts_with("data:");
        if secret || data_url {
            self.mark(span, lines);
        }
        if anchor != 0 {
            anchors.insert(anchor, span);
        }
        if let Some(f) = frames.last_mut() {
            f.scalar(value);
        }
    }

    /// The end of a list or mapping: hidden whole if it is a secret's
    /// value; remembered if anchored.
    fn close(
        &mut self,
        frames: &mut Vec<Frame>,
        anchors: &mut HashMap<usize, Span>,
        span: Span,
        lines: &[&str],
    ) {
        let Some(f) = frames.pop() else { return };
        let whole = Span::new(f.start.start, span.end);
        if f.secret {
            self.mark(whole, lines);
        }
        if f.anchor != 0 {
            anchors.insert(f.anchor, whole);
        }
        if let Some(parent) = frames.last_mut() {
            parent.scalar("");
        }
    }

    /// Hide the text of `span`: from its start to the end of its first
    /// line, then each further line's text up to where the span ends.
    fn mark(&mut self, span: Span, lines: &[&str]) {
        let (l1, c1) = (span.start.line(), span.start.col());
        let (l2, c2) = (span.end.line(), span.end.col());
        for line in l1..=l2.max(l1) {
            let Some(text) = lines.get(line.wrapping_sub(1)) else {
                break;
            };
            let len = text.chars().count();
            let indent = text.chars().take_while(|c| c.is_whitespace()).count();
            let from = if line == l1 { c1 } else { indent };
            let to = if line == l2 { c2.min(len) } else { len };
            if from < to {
                self.lines.entry(line).or_default().push((from, to));
            }
        }
    }

    /// After a syntax error at `from`: on every line from there that
    /// names a secret key or a data URL (or looks like a crypt hash),
    /// hide the rest of the line and the lines indented under it.
    fn guess_from(&mut self, from: usize, lines: &[&str]) {
        let mut under: Option<usize> = None;
        for (i, text) in lines.iter().enumerate().skip(from.saturating_sub(1)) {
            let line = i + 1;
            let len = text.chars().count();
            let indent = text.chars().take_while(|c| c.is_whitespace()).count();
            if let Some(key_indent) = under {
                if indent > key_indent || text.trim().is_empty() {
                    if indent < len {
                        self.lines.entry(line).or_default().push((indent, len));
                    }
                    continue;
                }
                under = None;
            }
            let hint = SECRET_HINTS
                .iter()
                .filter_map(|h| text.find(h).map(|at| at + h.len()))
                .chain(crypt_hash_at(text))
                .min();
            if let Some(at) = hint {
                let col = text[..at].chars().count();
                if col < len {
                    self.lines.entry(line).or_default().push((col, len));
                }
                under = Some(indent);
            }
        }
    }
}

/// Where a `$id$` crypt(3) prefix starts, if the line has one.
fn crypt_hash_at(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    (0..b.len()).find(|&i| {
        b[i] == b'$'
            && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
            && b[i + 1..].iter().take(4).any(|&c| c == b'$')
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Secret,
    Source,
    Other,
}

/// An open list or mapping during the walk.
struct Frame {
    map: bool,
    /// In a mapping: whether the next node is a key.
    expect_key: bool,
    /// In a mapping: what the current key is.
    key: Key,
    /// The whole container is a secret value.
    secret: bool,
    start: Span,
    anchor: usize,
}

impl Frame {
    /// Whether the next node is a secret value.
    fn value_is_secret(&self) -> bool {
        self.secret || (self.map && !self.expect_key && self.key == Key::Secret)
    }

    /// A node ended in this container: a key's text is `text`.
    fn scalar(&mut self, text: &str) {
        if !self.map {
            return;
        }
        if self.expect_key {
            self.key = if SECRET_KEYS.contains(&text) {
                Key::Secret
            } else if text == "source" {
                Key::Source
            } else {
                Key::Other
            };
        }
        self.expect_key = !self.expect_key;
    }
}
