//! Warnings and errors with their key path and source position.
//!
//! Every finding of every step (YAML, schema, Butane checks, Ignition
//! checks of the output) becomes an [`Entry`] naming the Butane key path
//! (`$.storage.files.0.mode`) and line:column. Two renderings match the real
//! Butane's: the raw one-liner (`--raw-errors`) and the default with the
//! source line and a caret.

use std::fmt;

use crate::yaml::Mark;

/// One step of a key path: a mapping key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A key path from the document root, printed as `$.a.0.b`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Step>);

impl KeyPath {
    /// The root path `$`.
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path with a key appended.
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Step::Key(k.to_string()));
        KeyPath(v)
    }

    /// This path with an index appended.
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Step::Index(i));
        KeyPath(v)
    }

    /// Whether the path starts with these keys.
    pub fn starts_with_keys(&self, keys: &[&str]) -> bool {
        keys.len() <= self.0.len()
            && keys
                .iter()
                .zip(&self.0)
                .all(|(k, s)| matches!(s, Step::Key(x) if x == k))
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for step in &self.0 {
            match step {
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(i) => write!(f, ".{i}")?,
            }
        }
        Ok(())
    }
}

/// How serious an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Translation fails.
    Error,
    /// Translation succeeds; `--strict` makes it fail.
    Warning,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Error => "error",
            Kind::Warning => "warning",
        })
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Error or warning.
    pub kind: Kind,
    /// Butane key path it is about.
    pub path: KeyPath,
    /// Where in the source, when known.
    pub mark: Option<Mark>,
    /// What is wrong and, where useful, what to do.
    pub message: String,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.kind, self.path)?;
        if let Some(m) = self.mark {
            write!(f, ", line {} col {}", m.line, m.col)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All findings of one translation, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The entries.
    pub entries: Vec<Entry>,
}

impl Report {
    /// Add an error.
    pub fn error(&mut self, path: KeyPath, mark: Option<Mark>, message: impl Into<String>) {
        self.push(Kind::Error, path, mark, message.into());
    }

    /// Add a warning.
    pub fn warn(&mut self, path: KeyPath, mark: Option<Mark>, message: impl Into<String>) {
        self.push(Kind::Warning, path, mark, message.into());
    }

    fn push(&mut self, kind: Kind, path: KeyPath, mark: Option<Mark>, message: String) {
        self.entries.push(Entry {
            kind,
            path,
            mark,
            message,
        });
    }

    /// Whether any entry is an error.
    pub fn is_fatal(&self) -> bool {
        self.entries.iter().any(|e| e.kind == Kind::Error)
    }

    /// Append another report's entries.
    pub fn merge(&mut self, other: Report) {
        self.entries.extend(other.entries);
    }

    /// The raw rendering: one `kind at path, line L col C: message` a line.
    pub fn raw(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&e.to_string());
            out.push('\n');
        }
        out
    }

    /// The default rendering: each entry with its source lines and a caret
    /// under the offending token, as the real Butane prints it.
    pub fn pretty(&self, file_name: &str, source: &str, color: bool) -> String {
        let redacted: Vec<String> = source.split('\n').map(redact).collect();
        let lines: Vec<&str> = redacted.iter().map(String::as_str).collect();
        let blocks: Vec<String> = self
            .entries
            .iter()
            .map(|e| pretty_entry(e, file_name, &lines, color))
            .collect();
        blocks.join("\n")
    }
}

/// Secrets never reach a terminal or a CI log: a quoted source line that
/// sets a password hash shows `<redacted>` in place of the value.
fn redact(line: &str) -> String {
    let body = line.trim_start().trim_start_matches("- ").trim_start();
    for key in ["password_hash:", "passwordHash\":"] {
        if let Some(rest) = body.strip_prefix(key) {
            if !rest.trim().is_empty() {
                let keep = line.len() - rest.len();
                return format!("{} <redacted>", &line[..keep]);
            }
        }
    }
    line.to_string()
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const RESET: &str = "\x1b[0m";

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn pretty_entry(e: &Entry, file_name: &str, lines: &[&str], color: bool) -> String {
    let Some(mark) = e.mark else {
        return format!("{e}\n");
    };
    let (line, col) = (mark.line, mark.col);
    let char_len = lines.get(line.wrapping_sub(1)).map(|l| l.chars().count());
    if line < 1 || line > lines.len() || col < 1 || char_len.is_none_or(|n| col > n) {
        return format!("{e}\n");
    }
    let kind_color = if e.kind == Kind::Error { RED } else { YELLOW };
    let mut out = format!(
        "{}[{}]:\n",
        paint(&e.kind.to_string(), kind_color, color),
        e.path
    );
    out.push_str(&format!(
        "  {} {file_name}:{line}:{col}\n",
        paint("-->", BLUE, color)
    ));
    let first = line.saturating_sub(2).max(1);
    let last = (line + 2).min(lines.len());
    let gutter = last.to_string().len();
    let blank = " ".repeat(gutter);
    out.push_str(&format!(" {blank} |\n"));
    for n in first..=last {
        let num = paint(&format!("{n:>gutter$}"), BLUE, color);
        out.push_str(&format!(" {num} | {}\n", lines[n - 1]));
        if n == line {
            let text: Vec<char> = lines[n - 1].chars().collect();
            let rest = &text[col - 1..];
            let len = rest
                .iter()
                .position(|c| c.is_whitespace())
                .unwrap_or(rest.len());
            let pad = " ".repeat(col - 1);
            let carets = paint(&"^".repeat(len), BLUE, color);
            out.push_str(&format!(" {blank} | {pad}{carets} {}\n", e.message));
        }
    }
    out.push_str(&format!(" {blank} |\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_redacted_in_context_lines() {
        let src =
            "passwd:\n  users:\n    - name: core\n      password_hash: $6$secret\n      bogus: 1\n";
        let mut r = Report::default();
        r.warn(
            KeyPath::root(),
            Some(Mark { line: 5, col: 7 }),
            "unused key bogus",
        );
        let text = r.pretty("x.bu", src, false);
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("password_hash: <redacted>"), "{text}");
    }

    #[test]
    fn pretty_matches_butane_layout() {
        let src = "variant: fcos\nversion: 1.4.0\ngrub:\n  users: []\nstorage:\n";
        let mut r = Report::default();
        r.warn(
            KeyPath::root().key("grub"),
            Some(Mark { line: 3, col: 1 }),
            "unused key grub",
        );
        let want = "warning[$.grub]:\n  --> t1.bu:3:1\n   |\n 1 | variant: fcos\n 2 | version: 1.4.0\n 3 | grub:\n   | ^^^^^ unused key grub\n 4 |   users: []\n 5 | storage:\n   |\n";
        assert_eq!(r.pretty("t1.bu", src, false), want);
        assert_eq!(
            r.raw(),
            "warning at $.grub, line 3 col 1: unused key grub\n"
        );
    }
}
