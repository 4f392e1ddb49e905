//! Warnings and errors with their key path and source position.
//!
//! Every finding of every step (YAML, schema, Butane checks, Ignition
//! checks of the output) becomes an [`Entry`] naming the Butane key path
//! (`$.storage.files.0.mode`) and line:column. Two renderings match the real
//! Butane's: the raw one-liner (`--raw-errors`) and the default with the
//! source line and a caret.

use std::collections::HashMap;
use std::fmt;

use crate::redact::Secrets;

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
    /// under the offending token, as the real Butane prints it. Secrets
    /// in those lines (password hashes, inline contents: see
    /// [`redact`](crate::redact)) show as `<redacted>`, and lines longer
    /// than [`LONG_LINE`] characters show only around the caret.
    pub fn pretty(&self, file_name: &str, source: &str, color: bool) -> String {
        let mut lines = Lines::new(source, self.entries.iter().any(|e| e.mark.is_some()));
        let blocks: Vec<String> = self
            .entries
            .iter()
            .map(|e| pretty_entry(e, file_name, &mut lines, color))
            .collect();
        blocks.join("\n")
    }
}

/// Lines longer than this many characters are shown clipped.
pub const LONG_LINE: usize = 512;

/// How many characters of a long line are shown before the caret.
const BEFORE_CARET: usize = 120;

/// What replaces a secret.
const REDACTED: &str = "<redacted>";

/// The source lines as shown: secrets replaced, each line prepared once
/// (an error-rich file costs linear time, not lines x entries).
struct Lines<'a> {
    raw: Vec<&'a str>,
    secrets: Secrets,
    shown: HashMap<usize, Shown>,
}

/// One line as shown.
struct Shown {
    chars: Vec<char>,
    /// Secret ranges of the original line (char columns, 0-based).
    ranges: Vec<crate::redact::Range>,
}

impl<'a> Lines<'a> {
    fn new(source: &'a str, any_marks: bool) -> Self {
        let secrets = if any_marks {
            Secrets::find(source)
        } else {
            Secrets::default()
        };
        Lines {
            raw: source.split('\n').collect(),
            secrets,
            shown: HashMap::new(),
        }
    }

    /// 1-based line `n`, with its secrets replaced.
    fn get(&mut self, n: usize) -> &Shown {
        let (raw, secrets) = (&self.raw, &self.secrets);
        self.shown.entry(n).or_insert_with(|| {
            let text = raw[n - 1];
            let ranges = secrets.on(n).to_vec();
            let mut chars = Vec::with_capacity(text.len());
            let mut next = ranges.iter().peekable();
            for (i, c) in text.chars().enumerate() {
                match next.peek() {
                    Some(&&(a, b)) if i >= a && i < b => {
                        if i == a {
                            chars.extend(REDACTED.chars());
                        }
                        if i + 1 == b {
                            next.next();
                        }
                    }
                    _ => chars.push(c),
                }
            }
            Shown { chars, ranges }
        })
    }
}

impl Shown {
    /// Where 0-based column `col` of the original line is in the shown
    /// one (the start of `<redacted>` when it falls inside a secret).
    fn col(&self, col: usize) -> usize {
        let mut shift: isize = 0;
        for &(a, b) in &self.ranges {
            if col < a {
                break;
            }
            if col < b {
                return a.saturating_add_signed(shift);
            }
            shift += REDACTED.len() as isize - (b - a) as isize;
        }
        col.saturating_add_signed(shift)
    }

    /// The shown text, clipped around `col` when the line is long; and
    /// where `col` is in what is returned.
    fn text(&self, col: usize) -> (String, usize) {
        if self.chars.len() <= LONG_LINE {
            return (self.chars.iter().collect(), col);
        }
        let from = col.saturating_sub(BEFORE_CARET);
        let to = (from + LONG_LINE - BEFORE_CARET).min(self.chars.len());
        let mut out = String::new();
        let mut at = col - from;
        if from > 0 {
            out.push_str("...");
            at += 3;
        }
        out.extend(&self.chars[from..to]);
        if to < self.chars.len() {
            out.push_str("...");
        }
        (out, at)
    }
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

fn pretty_entry(e: &Entry, file_name: &str, lines: &mut Lines<'_>, color: bool) -> String {
    let Some(mark) = e.mark else {
        return format!("{e}\n");
    };
    let (line, col) = (mark.line, mark.col);
    let count = lines.raw.len();
    let char_len = lines
        .raw
        .get(line.wrapping_sub(1))
        .map(|l| l.chars().count());
    if line < 1 || line > count || col < 1 || char_len.is_none_or(|n| col > n) {
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
    let last = (line + 2).min(count);
    let gutter = last.to_string().len();
    let blank = " ".repeat(gutter);
    out.push_str(&format!(" {blank} |\n"));
    for n in first..=last {
        let num = paint(&format!("{n:>gutter$}"), BLUE, color);
        let shown = lines.get(n);
        let at = if n == line { shown.col(col - 1) } else { 0 };
        let (text, at) = shown.text(at);
        out.push_str(&format!(" {num} | {text}\n"));
        if n == line {
            let len = text
                .chars()
                .skip(at)
                .take_while(|c| !c.is_whitespace())
                .count();
            let pad = " ".repeat(at);
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

    /// Every YAML form of a secret: (what, Butane source, a line the
    /// report must show). None may show `s3cr3t`.
    #[test]
    fn secrets_never_show_in_context_lines() {
        let head = "variant: fcos\nversion: 1.4.0\n";
        let users = format!("{head}passwd:\n  users:\n");
        let files = format!("{head}storage:\n  files:\n");
        let cases: Vec<(&str, String, &str)> = vec![
            ("plain", format!("{users}    - name: core\n      password_hash: $6$s3cr3t\n      bogus: 1\n"), "password_hash: <redacted>"),
            ("flow mapping", format!("{users}    - {{name: core, password_hash: \"$6$s3cr3t\", bogus1: 1}}\n"), "^^^^^^^ unused key bogus1"),
            ("quoted key", format!("{users}    - name: core\n      \"password_hash\": '$6$s3cr3t'\n      bogus: 1\n"), "<redacted>"),
            ("folded block", format!("{users}    - name: core\n      password_hash: >-\n        $6$s3cr3t\n      bogus: 1\n"), "<redacted>"),
            ("literal block", format!("{users}    - name: core\n      password_hash: |\n        $6$s3cr3t\n        more\n      bogus: 1\n"), "<redacted>"),
            ("next line", format!("{users}    - name: core\n      password_hash:\n        $6$s3cr3t\n      bogus: 1\n"), "<redacted>"),
            ("alias", format!("x: &h $6$s3cr3t\n{users}    - name: core\n      password_hash: *h\n      bogus: 1\n"), "x: <redacted>"),
            ("inline contents", format!("{files}    - path: /a\n      contents:\n        inline: |\n          s3cr3t\n      bogus: 1\n"), "<redacted>"),
            ("data url", format!("{files}    - path: /a\n      contents: {{source: \"data:,s3cr3t\"}}\n      bogus: 1\n"), "<redacted>"),
            ("syntax error after", format!("{users}    - name: core\n      password_hash: $6$s3cr3t\n      bad: ]\n      more: 1\n"), "<redacted>"),
            ("syntax error in it", format!("{users}    - name: core\n      password_hash: \"$6$s3cr3t\n"), "<redacted>"),
            ("syntax error before", format!("{users}  bad: : :\n    - password_hash:\n        $6$s3cr3t\n"), "<redacted>"),
        ];
        let mut failures = Vec::new();
        for (what, src, want) in &cases {
            let report = match crate::translate(src.as_bytes(), &Default::default()) {
                Ok(t) => t.report,
                Err(e) => e.report,
            };
            let text = report.pretty("x.bu", src, false);
            if text.contains("s3cr3t") || !text.contains(want) || report.entries.is_empty() {
                failures.push(format!("{what}:\n{text}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn long_lines_are_shown_around_the_caret() {
        let keys: Vec<String> = (0..20_000).map(|i| format!("k{i}: 1")).collect();
        let src = format!(
            "variant: fcos\nversion: 1.4.0\nstorage: {{{}}}\n",
            keys.join(", ")
        );
        let t = std::time::Instant::now();
        let report = crate::translate(src.as_bytes(), &Default::default())
            .expect("warnings only")
            .report;
        assert_eq!(report.entries.len(), 20_000);
        let text = report.pretty("x.bu", &src, false);
        assert!(text.len() < 20_000 * 2_000, "{}", text.len());
        assert!(
            text.contains(" 3 | ...19988: 1, k19989"),
            "{}",
            &text[text.len() - 2000..]
        );
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    }
}
